/*
 * nodlclose.so: preloaded into freeDiameterd by test/robust/fdd_asan.sh so
 * that the extensions stay mapped at exit. freeDiameter dlclose()s every
 * extension during shutdown, before LeakSanitizer runs; the leak reports
 * would then show "<unknown module>" frames and could not tell project code
 * from freeDiameter's or GnuTLS's. Test-only, never installed.
 */
#include <dlfcn.h>

int dlclose(void *handle)
{
	(void)handle;
	return 0;
}
