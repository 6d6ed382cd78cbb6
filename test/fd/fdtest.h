/* In-process freeDiameter core for tests and benchmarks: writes a minimal
 * conf (no TLS, No_SCTP, no listener) that loads the requested extensions,
 * initializes libfdcore and parses it (which loads the extensions). The core
 * is not started: no socket is opened. */
#ifndef FDTEST_H
#define FDTEST_H

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

/* fdxdir: folder holding dict_mb2c.fdx; order: "alone", "before" (dict_mb2c
 * then the stock Debian chain), "after" (stock chain then dict_mb2c), or
 * "none"; options: the dict_mb2c conf string or NULL. Exits on failure. */
void fdtest_init(const char *fdxdir, const char *order, const char *options);
/* Directory of stock extensions (Debian: /usr/lib/freeDiameter). */
const char *fdtest_stock_dir(void);

#endif
