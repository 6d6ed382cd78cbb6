/* mb2c/fdcompat.h: the one place that reaches into freeDiameter's core
 * beyond its public headers (lib/src/fdcompat.c).
 *
 * libfdcore exports, but declares only in its private headers, the symbols
 * listed in MB2C_FD_PRIVATE_SYMBOLS; CMake checks at configure time that the
 * libfdcore found exports each of them (cmake/FdCompat.cmake) and stops with
 * a message naming the missing one. The formats of the core's description
 * strings this project reads (connection ids, protocol info) are parsed
 * here too, and nowhere else. Verified with freeDiameter 1.2.1 (Debian 12)
 * and 1.5.0 (Debian 13). */
#ifndef MB2C_FDCOMPAT_H
#define MB2C_FDCOMPAT_H

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

/* Keep in sync with cmake/FdCompat.cmake (the configure-time check). */
#define MB2C_FD_PRIVATE_SYMBOLS "fd_tls_verify_credentials_2 fd_cnx_getid fd_psm_terminate"

/* The core's own certificate checks of a TLS session it runs (chain, CRL,
 * host name): 0 when they pass, a GnuTLS error otherwise. */
int mb2c_fd_tls_verify(gnutls_session_t s);

/* The core's id of the connection a TLS session belongs to ("... from [addr]"
 * for an accepted one), or NULL. Valid while the connection lives. */
const char *mb2c_fd_tls_cnx_id(gnutls_session_t s);

/* 1 when a connection id names an accepted (inbound) connection. */
int mb2c_fd_cnx_id_inbound(const char *cid);

/* The socket of a peer's current connection, read from the core's protocol
 * description ("TCP,TLS,soc#6"), or -1. */
int mb2c_fd_peer_socket(struct peer_info *info);

/* Ends a peer's connection through the core's state machine. */
int mb2c_fd_peer_terminate(struct peer_hdr *peer, const char *reason);

#endif
