#!/bin/sh
# freeDiameterd (Debian's, not instrumented) loading the extensions of an
# -DMB2C_SANITIZE=ON build: the ASan + UBSan runtimes must come first, so
# they are preloaded. NODLCLOSE=path/to/nodlclose.so (built in test-fdx/)
# also keeps the extensions mapped at exit so that leak reports can name
# their functions -- but with it the lab test hung at shutdown (not
# investigated yet, see test/robust/README.md). Used as FDD by
# test/robust/test_asan_daemon.sh.
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)${NODLCLOSE:+ $NODLCLOSE}"
export LD_PRELOAD
exec freeDiameterd "$@"
