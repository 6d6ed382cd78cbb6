/* Seed corpus of fuzz_msg: the sample messages of test/fd/samples.c (GAR, GAA,
 * GNR with typical and maximal content, a GNA, and a GAR with 4 bearer requests),
 * built with the typed builders in an in-process freeDiameter core and written
 * encoded, one file per message. Run once; its output is committed in
 * fuzz/corpus/fuzz_msg/.
 *
 * usage: gen_seeds FDXDIR OUTDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mb2c/msg.h>

#include "fdtest.h"
#include "samples.h"

static const char *outdir;

static void die(const char *what, int ret)
{
	fprintf(stderr, "gen_seeds: %s failed (%d)\n", what, ret);
	exit(1);
}

static void write_msg(struct msg *m, const char *name)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char path[4096];
	int ret = fd_msg_bufferize(m, &buf, &len);
	if (ret)
		die("fd_msg_bufferize", ret);
	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
	printf("gen_seeds: %s (%zu bytes)\n", path, len);
	free(buf);
}

/* The builders leave the hop-by-hop id to the routing layer: set one. */
static void set_hbh(struct msg *m, uint32_t hbh)
{
	struct msg_hdr *h = NULL;
	int ret = fd_msg_hdr(m, &h);
	if (ret)
		die("fd_msg_hdr", ret);
	h->msg_hbhid = hbh;
}

/* Answer of the request *m; the request stays attached until free_pair. */
static struct msg *answer_of(struct msg *req)
{
	struct msg *m = req;
	int ret = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, &m, 0);
	if (ret)
		die("fd_msg_new_answer_from_req", ret);
	return m;
}

static void free_pair(struct msg *ans)
{
	struct msg *q = NULL;
	fd_msg_answ_getq(ans, &q);
	fd_msg_answ_detach(ans);
	fd_msg_free(q);
	fd_msg_free(ans);
}

static void ga(const struct mb2c_gar *g, const struct mb2c_gaa *a, uint32_t hbh, const char *qname,
               const char *aname)
{
	struct msg *m = NULL;
	int ret = mb2c_gar_new(g, &m);
	if (ret)
		die("mb2c_gar_new", ret);
	set_hbh(m, hbh);
	write_msg(m, qname);
	if (!a || !aname) {
		fd_msg_free(m);
		return;
	}
	m = answer_of(m);
	if ((ret = mb2c_gaa_fill(m, a)))
		die("mb2c_gaa_fill", ret);
	write_msg(m, aname);
	free_pair(m);
}

static void gn(const struct mb2c_gnr *g, const struct mb2c_gna *a, uint32_t hbh, const char *qname,
               const char *aname)
{
	struct msg *m = NULL;
	int ret = mb2c_gnr_new(g, &m);
	if (ret)
		die("mb2c_gnr_new", ret);
	set_hbh(m, hbh);
	write_msg(m, qname);
	if (!a || !aname) {
		fd_msg_free(m);
		return;
	}
	m = answer_of(m);
	if ((ret = mb2c_gna_fill(m, a)))
		die("mb2c_gna_fill", ret);
	write_msg(m, aname);
	free_pair(m);
}

int main(int argc, char **argv)
{
	struct mb2c_gar gar;
	struct mb2c_gaa gaa;
	struct mb2c_gnr gnr;
	struct mb2c_gna gna;

	if (argc != 3) {
		fprintf(stderr, "usage: %s FDXDIR OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[2];
	fdtest_init(argv[1], "alone", NULL);

	sample_gar_typical(&gar);
	sample_gaa_typical(&gaa);
	ga(&gar, &gaa, 0x1001, "gar_typical.bin", "gaa_typical.bin");
	sample_gar_maximal(&gar);
	sample_gaa_maximal(&gaa);
	ga(&gar, &gaa, 0x1002, "gar_maximal.bin", "gaa_maximal.bin");
	sample_gar_bearers(&gar, 4);
	ga(&gar, NULL, 0x1003, "gar_bearers4.bin", NULL);
	sample_gnr_typical(&gnr);
	sample_gna_typical(&gna);
	gn(&gnr, &gna, 0x1004, "gnr_typical.bin", "gna_typical.bin");
	sample_gnr_maximal(&gnr);
	gn(&gnr, NULL, 0x1005, "gnr_maximal.bin", NULL);
	return 0;
}
