/* app_noop.fdx: benchmark baseline. Answers every GAR with Result-Code 2001
 * and the mandatory answer AVPs, with no logic and no state: the lab BM-SC's
 * throughput is reported as a ratio of this one, measured in the same run. */
#include <mb2c/dict.h>
#include <mb2c/fdext.h>
#include <mb2c/mb2c.h>
#include <mb2c/msg.h>

static struct disp_hdl *hdl;

static int noop_gar(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                    enum disp_action *act)
{
	(void)avp, (void)sess, (void)opaque;
	struct mb2c_gaa a = {0};
	mb2c_common_init(&a.c);
	int ret = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0);
	if (!ret)
		ret = mb2c_gaa_fill(*msg, &a);
	if (!ret)
		*act = DISP_ACT_SEND;
	return ret;
}

static int noop_entry(char *conf)
{
	(void)conf;
	char err[256];
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
	fd_log_notice("app_noop: ready (no-op responder)");
	return fd_disp_app_support(mb2c_dict_app(), mb2c_dict_vendor(), 1, 0);
}

void fd_ext_fini(void)
{
	if (hdl)
		fd_disp_unregister(&hdl, NULL);
}

MB2C_EXTENSION_ENTRY("app_noop", noop_entry, "dict_mb2c")
