/* Answers held while their peer's connection re-opens.
 *
 * freeDiameter (1.2.1 and 1.5.0) puts a peer whose previous connection
 * broke (no DPR: a crash, a reset, a TLS error) into STATE_REOPEN when it
 * connects again, and keeps it there for three DWR/DWA exchanges (RFC 3539).
 * The core accepts and routes the peer's requests in that state, but its
 * routing-out refuses to send an answer to a peer that is not OPEN: the
 * answer is freed with "Unable to forward answer to deleted / closed peer".
 * A GCS AS that sends its GAR right after the CEA (as every client does)
 * loses the GAA although the BM-SC acted on the GAR (a TMGI allocated, a
 * bearer activated).
 *
 * The hold takes such an answer in HOOK_MESSAGE_DROPPED, keeps a copy (with
 * a copy of its request, so the core can route it) and sends it as soon as
 * the peer is OPEN; it drops it, with one log line, when the peer leaves
 * REOPEN for any other state or after 2 Tw + 5 s. Each of the project's
 * extensions enables it at load (mb2c_answer_hold_enable) and disables it at
 * unload; the first enable starts it for the whole process, the last disable
 * stops it. MB2C_ANSWER_HOLD=0 in the environment leaves it off (the core's
 * behaviour, for tests and comparisons). */
#ifndef MB2C_ANSWER_HOLD_H
#define MB2C_ANSWER_HOLD_H

#include <stddef.h>

/* ---- pure decisions (hold_rules.c; no libfdcore) ---- */

/* a peer's state as the hold sees it */
enum mb2c_hold_peer {
	MB2C_HOLD_PEER_GONE,
	MB2C_HOLD_PEER_OPEN,
	MB2C_HOLD_PEER_REOPEN,
	MB2C_HOLD_PEER_OTHER
};
enum mb2c_hold_act { MB2C_HOLD_KEEP, MB2C_HOLD_SEND, MB2C_HOLD_DROP };

/* the reason string of the core's routing-out for an answer it cannot send */
#define MB2C_HOLD_REASON "Unable to forward answer to "

/* 1: hold this dropped message: an answer the routing-out dropped for a
 * peer now in REOPEN (or OPEN: it opened since the core looked), with room
 * left (held < max) */
int mb2c_hold_wanted(int is_answer, const char *reason, enum mb2c_hold_peer st, size_t held,
                     size_t max);
/* what to do with a held answer now */
enum mb2c_hold_act mb2c_hold_next(enum mb2c_hold_peer st, long long now_ms, long long deadline_ms);

/* ---- the hold (answer_hold.c, libmb2c) ---- */
struct msg;

/* starts the hold for the process (first call) and counts the users;
 * 0 or an errno value */
int mb2c_answer_hold_enable(void);
/* the last user's call stops it: held answers are freed (logged) */
void mb2c_answer_hold_disable(void);

/* Called (in the dropping thread, before the originals are freed) when an
 * answer and its request were copied: extensions that remember messages by
 * pointer move their entries to the copies. */
typedef void (*mb2c_hold_copied_cb)(struct msg *old_ans, struct msg *old_req, struct msg *new_ans,
                                    struct msg *new_req, void *arg);
int mb2c_answer_hold_on_copy(mb2c_hold_copied_cb cb, void *arg);
void mb2c_answer_hold_off_copy(mb2c_hold_copied_cb cb, void *arg);

/* counters since start: held, sent after the hold, dropped */
void mb2c_answer_hold_counts(unsigned long long *held, unsigned long long *sent,
                             unsigned long long *dropped);

#endif
