/*
 * asan_early_init.so: preloaded into Debian's (non-instrumented)
 * freeDiameterd next to libasan by test/robust/fdd_asan.sh.
 *
 * In a non-instrumented program ASan initializes itself lazily, at the first
 * malloc(). In freeDiameterd that first malloc() is inside newlocale(),
 * called by libp11-kit's constructor (pulled in by GnuTLS) while newlocale()
 * holds glibc's __libc_setlocale_lock for writing. ASan's start-up calls
 * dlerror(), whose gettext() takes and releases the same lock as a reader:
 * the release drops the writer's hold, newlocale()'s own release then
 * leaves the reader count at -1, and the next writer (freelocale() in
 * p11-kit's destructor at exit) waits forever. That was the "hang at
 * shutdown" of the ASan daemon tests.
 *
 * Wrapping newlocale() so that the first call allocates once *before*
 * taking the lock lets ASan initialize outside it. Test-only, never
 * installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <locale.h>
#include <stdlib.h>

typedef locale_t (*newlocale_fn)(int, const char *, locale_t);

locale_t newlocale(int mask, const char *name, locale_t base)
{
	static newlocale_fn real;

	if (!real) {
		free(malloc(1)); /* ASan's lazy start-up, outside the locale lock */
		real = (newlocale_fn)dlsym(RTLD_NEXT, "newlocale");
	}
	return real(mask, name, base);
}
