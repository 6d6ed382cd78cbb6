/* libmb2c's DTLS/SCTP hand-over registry (mb2c/peerauth.h), through which
 * dtls_sctp.fdx vouches for a loopback connection and sec_mb2c reads it:
 * exact port pair only, replace, revoke, full table refused, bad arguments
 * refused (never fail open). */
#include <stdio.h>
#include <string.h>

#include <mb2c/peerauth.h>

#include "tcheck.h"

int main(void)
{
	char id[256];
	CHECK_EQ(mb2c_handover_get(3868, 40000, id, sizeof(id)), -1);
	CHECK_EQ(mb2c_handover_vouch(3868, 40000, "gcs1.mb2c.lab"), 0);
	CHECK_EQ(mb2c_handover_get(3868, 40000, id, sizeof(id)), 0);
	CHECK(!strcmp(id, "gcs1.mb2c.lab"));
	/* only that connection: neither swapped ports nor a neighbour */
	CHECK_EQ(mb2c_handover_get(40000, 3868, id, sizeof(id)), -1);
	CHECK_EQ(mb2c_handover_get(3868, 40001, id, sizeof(id)), -1);
	/* replaced for the same ports */
	CHECK_EQ(mb2c_handover_vouch(3868, 40000, "gcs2.mb2c.lab"), 0);
	CHECK_EQ(mb2c_handover_get(3868, 40000, id, sizeof(id)), 0);
	CHECK(!strcmp(id, "gcs2.mb2c.lab"));
	mb2c_handover_revoke(3868, 40000);
	CHECK_EQ(mb2c_handover_get(3868, 40000, id, sizeof(id)), -1);
	/* bad arguments */
	CHECK_EQ(mb2c_handover_vouch(0, 40000, "x"), -1);
	CHECK_EQ(mb2c_handover_vouch(3868, 0, "x"), -1);
	CHECK_EQ(mb2c_handover_vouch(3868, 70000, "x"), -1);
	CHECK_EQ(mb2c_handover_vouch(3868, 40000, ""), -1);
	CHECK_EQ(mb2c_handover_vouch(3868, 40000, NULL), -1);
	char longid[300];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	CHECK_EQ(mb2c_handover_vouch(3868, 40000, longid), -1);
	CHECK_EQ(mb2c_handover_get(3868, 40000, NULL, 0), -1);
	/* a full table refuses the next one; a revoke frees a slot */
	for (unsigned i = 0; i < MB2C_HANDOVER_MAX; i++)
		CHECK_EQ(mb2c_handover_vouch(3868, 41000 + i, "gcs1.mb2c.lab"), 0);
	CHECK_EQ(mb2c_handover_vouch(3868, 42000, "gcs1.mb2c.lab"), -1);
	mb2c_handover_revoke(3868, 41005);
	CHECK_EQ(mb2c_handover_vouch(3868, 42000, "gcs1.mb2c.lab"), 0);
	/* a truncating buffer still gets a terminated string */
	char small[5];
	CHECK_EQ(mb2c_handover_get(3868, 42000, small, sizeof(small)), 0);
	CHECK(!strcmp(small, "gcs1"));
	return tc_finish("test_handover");
}
