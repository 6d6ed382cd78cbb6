/* Pure decisions of the answer hold (answer_hold.h): which dropped message
 * is held, and what becomes of a held one. */
#include <string.h>

#include "mb2c/answer_hold.h"

int mb2c_hold_wanted(int is_answer, const char *reason, enum mb2c_hold_peer st, size_t held,
                     size_t max)
{
	return is_answer && reason &&
	       !strncmp(reason, MB2C_HOLD_REASON, strlen(MB2C_HOLD_REASON)) &&
	       (st == MB2C_HOLD_PEER_REOPEN || st == MB2C_HOLD_PEER_OPEN) && held < max;
}

enum mb2c_hold_act mb2c_hold_next(enum mb2c_hold_peer st, long long now_ms, long long deadline_ms)
{
	switch (st) {
	case MB2C_HOLD_PEER_OPEN:
		return MB2C_HOLD_SEND;
	case MB2C_HOLD_PEER_REOPEN:
		return now_ms < deadline_ms ? MB2C_HOLD_KEEP : MB2C_HOLD_DROP;
	default:
		return MB2C_HOLD_DROP;
	}
}
