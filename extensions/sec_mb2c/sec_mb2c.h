/* sec_mb2c: the MB2-C security policy (TS 33.210 / TS 33.310 for Diameter).
 *
 *   lib/src/sec_check.c   certificate and TLS-priority profile checks (GnuTLS only)
 *   lib/src/sec_policy.c  conf file (libconfig) and pure policy decisions
 *   sec_mb2c.c    freeDiameter glue: start-up audit, handshake verify
 *                 wrapper, peer validator, connection hooks, per-message
 *                 checks, routing exclusion, SIGUSR1 reload
 */
#ifndef SEC_MB2C_H
#define SEC_MB2C_H

#include <mb2c/sec_policy.h>

#endif
