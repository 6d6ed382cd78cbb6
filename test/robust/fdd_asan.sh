#!/bin/sh
# freeDiameterd (Debian's, not instrumented) loading the extensions of an
# -DMB2C_SANITIZE=ON build: the ASan + UBSan runtimes must come first, so
# they are preloaded, with nodlclose.so (NODLCLOSE, built in test-fdx/) so
# that leak reports can name the extensions' functions. Used as FDD by
# test/robust/test_asan_daemon.sh.
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so) ${NODLCLOSE:?}"
export LD_PRELOAD
exec freeDiameterd "$@"
