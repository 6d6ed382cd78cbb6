/* Sample MB2-C messages (typical and maximal content) shared by the
 * round-trip test, the pcap/tshark oracle and the benchmarks. */
#ifndef SAMPLES_H
#define SAMPLES_H

#include <mb2c/msg.h>

/* Fill *g (static storage: valid until the next call of the same function). */
void sample_gar_typical(struct mb2c_gar *g);
void sample_gar_maximal(struct mb2c_gar *g);
/* A GAR with n bearer requests (START, QoS, 4 SAIs), n <= 16. */
void sample_gar_bearers(struct mb2c_gar *g, size_t n);
void sample_gaa_typical(struct mb2c_gaa *a);
void sample_gaa_maximal(struct mb2c_gaa *a);
void sample_gnr_typical(struct mb2c_gnr *g);
void sample_gnr_maximal(struct mb2c_gnr *g);
void sample_gna_typical(struct mb2c_gna *a);

#include <stddef.h>
#include <stdint.h>

/* The sample exchanges, encoded to wire bytes, in order: GAR/GAA typical
 * (hop-by-hop 0x1001), maximal (0x1002), GNR/GNA typical (0x1003), GNR
 * maximal with a typical GNA (0x1004); with extras, also a GAR with 4 bearer
 * requests alone (0x1005). emit() gets each message's name ("gar_typical",
 * "gaa_typical", ..., "gna_maximal", "gar_bearers4"), whether it is an answer,
 * and its bytes. Needs an initialized core (fdtest_init). 0 or an errno. */
typedef void (*sample_emit_fn)(void *ctx, const char *name, int is_answer, const uint8_t *buf,
                               size_t len);
int samples_encode(int extras, sample_emit_fn emit, void *ctx);

#endif
