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

#endif
