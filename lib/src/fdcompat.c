/* fdcompat.c: every use of libfdcore's private (exported, undeclared)
 * symbols and every parsing of the core's description strings. See
 * mb2c/fdcompat.h; the symbols are checked at configure time by
 * cmake/FdCompat.cmake. */
#include <mb2c/fdcompat.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* libfdcore's private declarations (libfdcore/fdcore-internal.h, cnxctx.h):
 * same signatures in 1.2.1 and 1.5.0 */
int fd_tls_verify_credentials_2(gnutls_session_t session);
char *fd_cnx_getid(void *conn);
int fd_psm_terminate(void *peer, char *reason);

int mb2c_fd_tls_verify(gnutls_session_t s)
{
	return fd_tls_verify_credentials_2(s);
}

/* the core stores its connection context as the session's user pointer */
const char *mb2c_fd_tls_cnx_id(gnutls_session_t s)
{
	void *cnx = gnutls_session_get_ptr(s);
	return cnx ? fd_cnx_getid(cnx) : NULL;
}

/* the core names an accepted connection "... from [ADDR]:PORT ..." and one
 * it initiated "...->ADDR..." (cnxctx.c, 1.2.1 and 1.5.0 alike) */
int mb2c_fd_cnx_id_inbound(const char *cid)
{
	return cid && strstr(cid, " from [") != NULL;
}

static int parse_proto_socket(const char *desc)
{
	const char *soc = desc ? strstr(desc, "soc#") : NULL;
	return soc ? atoi(soc + 4) : -1;
}

int mb2c_fd_peer_socket(struct peer_info *info)
{
	struct peer_hdr *p = (struct peer_hdr *)((char *)info - offsetof(struct peer_hdr, info));
	char desc[128] = "";
	if (fd_peer_cnx_proto_info(p, desc, sizeof(desc)))
		return -1;
	return parse_proto_socket(desc);
}

int mb2c_fd_peer_terminate(struct peer_hdr *peer, const char *reason)
{
	return fd_psm_terminate(peer, (char *)reason);
}
