#!/bin/sh
# freeDiameterd (Debian's, not instrumented) loading the extensions of an
# -DMB2C_SANITIZE=ON build: the ASan + UBSan runtimes must come first, so
# they are preloaded, with asan_early_init.so (built in BUILD-ASAN/test-fdx,
# path in MB2C_ASAN_EARLY_INIT) so that ASan starts outside glibc's locale
# lock -- without it every daemon hung at exit (see test/tools/asan_early_init.c).
# The extensions and libmb2c of that build are linked with -z nodelete:
# freeDiameter's dlclose() at shutdown leaves them mapped, so LeakSanitizer
# can name their functions. Used as FDD by test/robust/test_asan_daemon.sh.
: "${MB2C_ASAN_EARLY_INIT:?set it to BUILD-ASAN/test-fdx/asan_early_init.so}"
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so) $MB2C_ASAN_EARLY_INIT"
export LD_PRELOAD
exec freeDiameterd "$@"
