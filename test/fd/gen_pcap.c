/* Writes the sample GAR/GAA/GNR/GNA (typical and maximal content) to a classic
 * pcap file, one message per TCP segment, so that an independent decoder
 * (tshark) can check the encoding. Frames are synthetic Ethernet/IPv4/TCP on
 * 127.0.0.1: requests 40000 -> 3868, answers 3868 -> 40000, sequence numbers
 * continuous per direction, valid IPv4 and TCP checksums.
 *
 * Frames: GAR typ, GAA typ, GAR max, GAA max, GNR typ, GNA, GNR max, GNA.
 * Each answer is built from its request (same hop-by-hop / end-to-end ids).
 *
 * usage: gen_pcap FDXDIR OUT.pcap */
#include "fdtest.h"
#include "samples.h"

#include <mb2c/msg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PORT_CLIENT 40000
#define PORT_SERVER 3868
#define ETH_LEN     14
#define IP_LEN      20
#define TCP_LEN     20
#define HDRS_LEN    (ETH_LEN + IP_LEN + TCP_LEN)

/* ---- minimal classic pcap writer (little-endian file, LINKTYPE_ETHERNET) ---- */

struct pcapw {
	FILE *f;
	uint32_t seq[2]; /* next sequence number: [0] client, [1] server */
	uint16_t ip_id;
	unsigned frames;
};

static void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32be(uint8_t *p, uint32_t v)
{
	put16be(p, (uint16_t)(v >> 16));
	put16be(p + 2, (uint16_t)v);
}

static void put32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Internet checksum accumulation (RFC 1071) over n bytes. */
static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int pcapw_open(struct pcapw *w, const char *path)
{
	uint8_t h[24];
	memset(w, 0, sizeof(*w));
	w->f = fopen(path, "wb");
	if (!w->f)
		return -1;
	w->seq[0] = 1000;
	w->seq[1] = 500000;
	w->ip_id = 1;
	put32le(h, 0xa1b2c3d4u); /* microsecond timestamps */
	h[4] = 2, h[5] = 0;      /* version 2.4 */
	h[6] = 4, h[7] = 0;
	put32le(h + 8, 0);       /* thiszone */
	put32le(h + 12, 0);      /* sigfigs */
	put32le(h + 16, 262144); /* snaplen */
	put32le(h + 20, 1);      /* LINKTYPE_ETHERNET */
	return fwrite(h, sizeof(h), 1, w->f) == 1 ? 0 : -1;
}

/* One frame carrying data in a single TCP segment; dir 0 = client to
 * server (request), 1 = server to client (answer). */
static int pcapw_segment(struct pcapw *w, int dir, const uint8_t *data, size_t len)
{
	size_t flen = HDRS_LEN + len;
	if (len > 65535 - IP_LEN - TCP_LEN)
		return -1;
	uint8_t *fr = calloc(1, 16 + flen);
	if (!fr)
		return -1;
	uint8_t *rec = fr, *eth = fr + 16, *ip = eth + ETH_LEN, *tcp = ip + IP_LEN;

	/* record header: fixed base time, 1 ms apart */
	put32le(rec, 1700000000u);
	put32le(rec + 4, 1000u * w->frames);
	put32le(rec + 8, (uint32_t)flen);
	put32le(rec + 12, (uint32_t)flen);

	/* Ethernet dst, src: 02:00:00:00:00:01 (client) / 02:00:00:00:00:02 */
	eth[0] = 0x02;
	eth[5] = (uint8_t)(dir ? 1 : 2);
	eth[6] = 0x02;
	eth[11] = (uint8_t)(dir ? 2 : 1);
	put16be(eth + 12, 0x0800); /* IPv4 */

	/* IPv4 127.0.0.1 -> 127.0.0.1 */
	ip[0] = 0x45;
	put16be(ip + 2, (uint16_t)(IP_LEN + TCP_LEN + len));
	put16be(ip + 4, w->ip_id++);
	put16be(ip + 6, 0x4000); /* DF */
	ip[8] = 64;              /* TTL */
	ip[9] = 6;               /* TCP */
	put32be(ip + 12, 0x7f000001u);
	put32be(ip + 16, 0x7f000001u);
	put16be(ip + 10, fold(sum16(0, ip, IP_LEN)));

	/* TCP, PSH|ACK, acknowledging everything the peer sent so far */
	put16be(tcp, dir ? PORT_SERVER : PORT_CLIENT);
	put16be(tcp + 2, dir ? PORT_CLIENT : PORT_SERVER);
	put32be(tcp + 4, w->seq[dir]);
	put32be(tcp + 8, w->seq[!dir]);
	tcp[12] = (TCP_LEN / 4) << 4;
	tcp[13] = 0x18;
	put16be(tcp + 14, 65535);
	memcpy(tcp + TCP_LEN, data, len);
	uint8_t pseudo[12];
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put16be(pseudo + 10, (uint16_t)(TCP_LEN + len));
	put16be(tcp + 16, fold(sum16(sum16(0, pseudo, sizeof(pseudo)), tcp, TCP_LEN + len)));

	w->seq[dir] += (uint32_t)len;
	w->frames++;
	int ret = fwrite(fr, 16 + flen, 1, w->f) == 1 ? 0 : -1;
	free(fr);
	return ret;
}

/* ---- messages ---- */

static void die(const char *what, int ret)
{
	fprintf(stderr, "gen_pcap: %s failed (%d)\n", what, ret);
	exit(1);
}

static void emit(void *ctx, const char *name, int is_answer, const uint8_t *buf, size_t len)
{
	(void)name;
	if (pcapw_segment(ctx, is_answer, buf, len))
		die("writing the pcap", -1);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s FDXDIR OUT.pcap\n", argv[0]);
		return 2;
	}
	fdtest_init(argv[1], "alone", NULL);
	struct pcapw w;
	if (pcapw_open(&w, argv[2])) {
		perror(argv[2]);
		return 1;
	}
	int ret = samples_encode(0, emit, &w);
	if (ret)
		die("encoding the samples", ret);

	if (fclose(w.f)) {
		perror(argv[2]);
		return 1;
	}
	printf("gen_pcap: %u frames written to %s\n", w.frames, argv[2]);
	return 0;
}
