/* Seed corpus of fuzz_msg: the encoded sample exchanges of test/fd/samples.c
 * (GAR/GAA and GNR/GNA with typical and maximal content, and a GAR with 4
 * bearer requests), one file per message. Run once; its output is committed
 * in fuzz/corpus/fuzz_msg/.
 *
 * usage: gen_seeds FDXDIR OUTDIR */
#include <stdio.h>
#include <stdlib.h>

#include "fdtest.h"
#include "samples.h"

static void write_file(void *ctx, const char *name, int is_answer, const uint8_t *buf, size_t len)
{
	char path[4096];
	(void)is_answer;
	snprintf(path, sizeof(path), "%s/%s.bin", (const char *)ctx, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
	printf("gen_seeds: %s (%zu bytes)\n", path, len);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s FDXDIR OUTDIR\n", argv[0]);
		return 2;
	}
	fdtest_init(argv[1], "alone", NULL);
	int ret = samples_encode(1, write_file, argv[2]);
	if (ret)
		fprintf(stderr, "gen_seeds: encoding the samples failed (%d)\n", ret);
	return ret ? 1 : 0;
}
