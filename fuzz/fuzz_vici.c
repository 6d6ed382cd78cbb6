/* libFuzzer target: strongSwan VICI input as charon (or anything on its
 * socket) could send it -> libmb2c's packet splitter, message decoder, SA
 * extraction, traffic-selector parser and the IPsec binding decision. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <mb2c/vici.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int type;
	char name[256];
	const uint8_t *msg;
	size_t ml;
	/* the input is one packet body (after the 4-byte length) */
	if (vici_parse_packet(data, size, &type, name, &msg, &ml)) {
		msg = data;
		ml = size;
	}
	struct vici_node *root = NULL;
	if (!vici_decode(msg, ml, &root)) {
		struct vici_sa_list l = {0};
		vici_sa_list_add(&l, root);
		struct vici_endpoint loc = {AF_INET, {192, 0, 2, 10}, 3868};
		struct vici_endpoint rem = {AF_INET, {192, 0, 2, 21}, 40000};
		struct vici_binding b;
		const char *skip[] = {"1", NULL};
		vici_ipsec_bound(&l, "gcs1.mb2c.lab", 6, &loc, &rem, NULL, NULL, &b);
		vici_ipsec_bound(&l, "gcs1.mb2c.lab", 132, &loc, &rem, skip, skip, &b);
		for (size_t i = 0; i < l.n; i++)
			for (size_t k = 0; k < l.sas[i].n_children; k++)
				for (size_t j = 0; j < l.sas[i].children[k].n_local_ts; j++) {
					struct vici_ts ts;
					if (!vici_ts_parse(l.sas[i].children[k].local_ts[j], &ts))
						vici_ts_covers(&ts, 6, &loc);
				}
		vici_sa_list_free(&l);
		vici_node_free(root);
	}
	/* the bytes as a traffic selector string */
	char ts_s[200];
	size_t n = size < sizeof(ts_s) - 1 ? size : sizeof(ts_s) - 1;
	memcpy(ts_s, data, n);
	ts_s[n] = 0;
	struct vici_ts ts;
	vici_ts_parse(ts_s, &ts);
	return 0;
}
