/* app_noop.fdx: benchmark baseline. Answers every GAR with Result-Code 2001
 * and the answer AVPs the GAA's ABNF makes mandatory (Auth-Application-Id,
 * Auth-Session-State, Origin-Host/-Realm and one Supported-Features), with no
 * logic and no state: the lab BM-SC's throughput is reported as a ratio of
 * this one, measured in the same run.
 *
 *   LoadExtension = "app_noop.fdx";                 minimal answer
 *   LoadExtension = "app_noop.fdx" : "heartbeat-shape"; the same answer plus
 *       a Restart-Counter: the AVPs of the lab BM-SC's answer to a heartbeat;
 *   LoadExtension = "app_noop.fdx" : "alloc-shape"; also a canned
 *       TMGI-Allocation-Response (one fixed TMGI, a fixed
 *       MBMS-Session-Duration): the AVPs of the lab BM-SC's answer to a
 *       one-TMGI allocation.
 *
 * The shaped answers still have no logic and no state: measured next to the
 * minimal one and the lab BM-SC, they separate what the answer's protocol
 * content costs freeDiameter (building, encoding, parsing and freeing its
 * AVPs, at both ends) from what the lab BM-SC's decisions and durable
 * commits cost. */
#include <errno.h>
#include <string.h>

#include <mb2c/dict.h>
#include <mb2c/fdext.h>
#include <mb2c/mb2c.h>
#include <mb2c/msg.h>

static struct disp_hdl *hdl;
static int shape; /* 0 minimal, 1 heartbeat-shaped, 2 allocation-shaped */

static const struct mb2c_sf sf = {MB2C_VENDOR_3GPP, 1, 0};
static const struct mb2c_tmgi canned = {0x000001, {1, 1, 2}};

static int noop_gar(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                    enum disp_action *act)
{
	(void)avp, (void)sess, (void)opaque;
	struct mb2c_gaa a = {0};
	mb2c_common_init(&a.c);
	a.sf = &sf;
	a.n_sf = 1;
	if (shape) {
		a.c.has_restart_counter = 1;
		a.c.restart_counter = 1;
	}
	if (shape == 2) {
		a.has_alloc = 1;
		a.alloc_tmgi = &canned;
		a.n_alloc_tmgi = 1;
		a.alloc_has_duration = 1;
		a.alloc_duration.seconds = 86400;
	}
	int ret = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0);
	if (!ret)
		ret = mb2c_gaa_fill(*msg, &a);
	if (!ret)
		*act = DISP_ACT_SEND;
	return ret;
}

static int noop_entry(char *conf)
{
	char err[256];
	if (conf && !strcmp(conf, "heartbeat-shape")) {
		shape = 1;
	} else if (conf && !strcmp(conf, "alloc-shape")) {
		shape = 2;
	} else if (conf) {
		fd_log_error("app_noop: unknown argument '%s' (none, \"heartbeat-shape\" or "
		             "\"alloc-shape\")",
		             conf);
		return EINVAL;
	}
	int ret = mb2c_dict_resolve(fd_g_config->cnf_dict, err, sizeof(err));
	if (ret) {
		fd_log_error("app_noop: %s", err);
		return ret;
	}
	struct disp_when when = {0};
	when.app = mb2c_dict_app();
	when.command = mb2c_dict_cmd(MB2C_CMD_GCS_ACTION, 1);
	if ((ret = fd_disp_register(noop_gar, DISP_HOW_CC, &when, NULL, &hdl)))
		return ret;
	static const char *const what[] = {"minimal", "heartbeat-shaped", "allocation-shaped"};
	fd_log_notice("app_noop: ready (no-op responder, %s answer)", what[shape]);
	return fd_disp_app_support(mb2c_dict_app(), mb2c_dict_vendor(), 1, 0);
}

void fd_ext_fini(void)
{
	if (hdl)
		fd_disp_unregister(&hdl, NULL);
}

MB2C_EXTENSION_ENTRY("app_noop", noop_entry, "dict_mb2c")
