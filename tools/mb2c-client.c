/* mb2c-client: the GCS AS lab client command.
 *
 * Runs a GCS AS as a real freeDiameterd process (the node's own conf, TLS
 * included) with the app_gcs_client extension, gives it one operation or a
 * scenario, prints the transcript and exits 0 only when every step got the
 * expected outcome. See `mb2c-client -h`. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#ifndef MB2C_FDX_DEFAULT
#define MB2C_FDX_DEFAULT "/usr/lib/freeDiameter"
#endif

static volatile pid_t child;
static volatile sig_atomic_t stop_signal; /* the signal that asked us to stop */

static void forward_signal(int sig)
{
	stop_signal = sig;
	if (child > 0)
		kill(child, sig == SIGINT ? SIGTERM : sig);
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mb2c-client -c GCS.conf -p BMSC-IDENTITY [options] COMMAND [ARGS] "
	        "[key=value...]\n"
	        "\n"
	        "Runs a GCS AS (freeDiameterd with app_gcs_client.fdx) that connects to the "
	        "BM-SC\nwith its own freeDiameter conf (TLS, certificates, ConnectPeer) and "
	        "performs:\n"
	        "  allocate N                 allocate N new TMGIs (refresh=TMGI,... adds "
	        "refreshes)\n"
	        "  refresh TMGI[,TMGI...]     refresh the expiry of TMGIs\n"
	        "  deallocate TMGI[,TMGI...]  deallocate TMGIs\n"
	        "  activate k=v...            bearer activation: tmgi=A[,B...] qci= mbr= gbr= arp= "
	        "pec= pev=\n"
	        "                             sai=1,2 start=+SECONDS mb2u=0|1\n"
	        "  modify TMGI FLOW k=v...    bearer modification (sai=, arp=, pec=, pev=)\n"
	        "  deactivate TMGI FLOW       bearer deactivation\n"
	        "  heartbeat                  GAR without action AVPs (shows Restart-Counter)\n"
	        "  scenario FILE              run a scenario file (see scenarios/standard.scn)\n"
	        "  bench N WINDOW [heartbeat|alloc]  N requests, at most WINDOW in flight: "
	        "req/s, p50, p99\n"
	        "Extra key=value arguments go to the step, e.g. expect=too-many "
	        "(default: expect=ok);\n"
	        "with several TMGIs in one step, expect-each=ok,auth,... gives one outcome per "
	        "item.\n"
	        "TMGIs are written MCC-MNC-SERVICEID, e.g. 001-01-000100.\n"
	        "\noptions:\n"
	        "  -c FILE   freeDiameter conf of the GCS AS (required)\n"
	        "  -p ID     Diameter identity of the BM-SC (required); \"*\": GARs without\n"
	        "            Destination-Host, routed by realm (through the agent of -v)\n"
	        "  -r REALM  Destination-Realm (default: the GCS AS realm)\n"
	        "  -v ID     the BM-SC is reached through this Diameter agent (a relay in "
	        "ConnectPeer):\n"
	        "            wait for it instead of the BM-SC; GARs still name the BM-SC\n"
	        "  -x DIR    folder with dict_mb2c.fdx and app_gcs_client.fdx (default "
	        "$MB2C_FDX_DIR or %s)\n"
	        "  -t SEC    answer timeout per request (10)\n"
	        "  -w SEC    connection timeout (30)\n"
	        "  -R N      our Restart-Counter (1)\n"
	        "  -l FILE   keep the daemon log in FILE (default: shown only on failure)\n"
	        "  -S SEC    the daemon's stop, once the scenario ended or a signal came,\n"
	        "            may take SEC seconds (8; 0: no limit), then it is killed\n"
	        "            (freeDiameter waits up to 16 s for a peer whose\n"
	        "            disconnection did not complete)\n"
	        "\nmb2c-client COMMAND --help (or help COMMAND): what a command takes, with "
	        "an example.\n"
	        "exit status: 0 all steps as expected, 1 a step did not match, 2 could not run "
	        "(usage,\nconf, certificate, no connection to the BM-SC, a signal before the "
	        "end): one line\non stderr says why\n",
	        MB2C_FDX_DEFAULT);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	if (b)
		b[n] = 0;
	fclose(f);
	return b;
}

static int join_args(char *dst, size_t len, int argc, char **argv)
{
	size_t u = strlen(dst);
	for (int i = 0; i < argc; i++) {
		int n = snprintf(dst + u, len - u, " %s", argv[i]);
		if (n < 0 || (size_t)n >= len - u)
			return -1;
		u += (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------ per-command help */
static const struct cmd_help {
	const char *name, *synopsis, *text;
} cmds[] = {
        {"allocate", "allocate N [refresh=TMGI,...] [expect=...]",
         "TMGI allocation (TS 29.468 5.2.1): asks the BM-SC for N new TMGIs; refresh= adds\n"
         "TMGIs to refresh in the same GAR. Prints each TMGI with its expiry.\n"
         "expect= ok (default) | auth | too-many | resources | unknown-tmgi | system | rc:NNNN\n"
         "example: mb2c-client -c gcs1.conf -p bmsc.mb2c.lab allocate 2\n"},
        {"refresh", "refresh TMGI[,TMGI...] [expect=...]",
         "Refreshes the expiry of TMGIs the GCS AS holds (TMGI-Allocation-Request without new\n"
         "TMGIs). TMGIs are written MCC-MNC-SERVICEID, e.g. 001-01-000100.\n"
         "example: mb2c-client -c gcs1.conf -p bmsc.mb2c.lab refresh 001-01-000100\n"},
        {"deallocate", "deallocate TMGI[,TMGI...] [expect=...] [expect-each=ok,auth,...]",
         "TMGI deallocation (5.2.2); expect-each= gives one outcome per TMGI.\n"
         "expect= ok | auth | unknown-tmgi | system | rc:NNNN\n"
         "example: mb2c-client -c gcs1.conf -p bmsc.mb2c.lab deallocate 001-01-000100\n"},
        {"activate",
         "activate tmgi=A[,B...] qci= mbr= gbr= arp= [pec=0|1 pev=0|1 sai=1,2 "
         "cells=... start=+SECONDS mb2u=0|1] [expect=...]",
         "MBMS bearer activation (5.3.2): one MBMS-Bearer-Request per TMGI; mbr/gbr in bit/s\n"
         "(downlink), arp = priority level 1..15, sai = MBMS service areas, start = delayed\n"
         "start (the BM-SC answers Success|Activation ongoing, then a GNR Bearer Activated).\n"
         "expect= ok | ok+ongoing | auth | qos | sa-auth | unknown-sa | start-time | resources\n"
         "        | unknown-tmgi | invalid | system | rc:NNNN\n"
         "example: mb2c-client -c gcs1.conf -p bmsc.mb2c.lab activate tmgi=001-01-000100 "
         "qci=65\n         mbr=512000 gbr=256000 arp=5 sai=1,2\n"},
        {"modify", "modify TMGI FLOW [sai= qci= mbr= gbr= arp= pec= pev=] [expect=...]",
         "MBMS bearer modification (5.3.4) of the bearer FLOW (the flow identifier the\n"
         "activation returned) on TMGI.\n"
         "example: mb2c-client -c gcs1.conf -p bmsc.mb2c.lab modify 001-01-000100 1 sai=1,2,3\n"},
        {"deactivate", "deactivate TMGI FLOW [expect=...]",
         "MBMS bearer deactivation (5.3.3) of the bearer FLOW on TMGI.\n"
         "example: mb2c-client -c gcs1.conf -p bmsc.mb2c.lab deactivate 001-01-000100 1\n"},
        {"heartbeat", "heartbeat [expect-restart=N] [expect=...]",
         "A GAR without action AVPs (5.6.3): shows the BM-SC's Restart-Counter.\n"
         "example: mb2c-client -c gcs1.conf -p bmsc.mb2c.lab heartbeat\n"},
        {"scenario", "scenario FILE",
         "Runs a scenario file: one step per line (the operations above and wait-gnr, sleep,\n"
         "set, raw-gar, ...), $NAME for values saved by earlier steps; the language is\n"
         "described at the top of extensions/app_gcs_client/scenarios/standard.scn.\n"
         "example: mb2c-client -c gcs1.conf -p bmsc.mb2c.lab scenario standard.scn\n"},
        {"bench", "bench N WINDOW [heartbeat|alloc]",
         "N requests with at most WINDOW in flight; prints req/s, latency p50 and p99.\n"
         "example: mb2c-client -c gcs1.conf -p bmsc.mb2c.lab bench 20000 100 alloc\n"},
};
#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct cmd_help *find_cmd(const char *name)
{
	for (size_t i = 0; i < N_CMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static void cmd_usage(FILE *f, const struct cmd_help *c)
{
	fprintf(f, "usage: mb2c-client -c GCS.conf -p BMSC-IDENTITY [options] %s\n\n%s",
	        c->synopsis, c->text);
	fprintf(f,
	        "\nOptions (-c, -p, -v, -x, -t, -w, -R, -l, -S): mb2c-client -h. Exit status: 0\n"
	        "as expected, 1 a step did not match, 2 could not run (usage, conf,\n"
	        "certificate, no connection to the BM-SC, a signal before the end: one line on\n"
	        "stderr says why).\n");
}

static int is_help(const char *a)
{
	return !strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help");
}

/* one line saying why, and the exit status 2 */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fputs("mb2c-client: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

/* ------------------------------------------------- the GCS AS conf, checked */
struct conf_info {
	char identity[256];
	char cert[1024], key[1024];
	int cred_line;
	char ca[4][1024];
	int ca_line[4], n_ca;
	char peer_host[256];
	unsigned peer_port;
	int has_peer;
};

static int line_of(const char *text, const char *at)
{
	int n = 1;
	for (const char *p = text; p < at; p++)
		n += *p == '\n';
	return n;
}

/* the quoted string after KEY = at p (advances), 0 when none */
static const char *quoted(const char *p, char *out, size_t len)
{
	const char *q = strchr(p, '"'), *e;
	if (!q || !(e = strchr(q + 1, '"')) || (size_t)(e - q - 1) >= len)
		return NULL;
	memcpy(out, q + 1, (size_t)(e - q - 1));
	out[e - q - 1] = 0;
	return e + 1;
}

/* the next occurrence of KEY as a word at the start of a statement (not in a comment) */
static const char *find_key(const char *text, const char *from, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = strstr(from, key); p; p = strstr(p + 1, key)) {
		const char *b = p;
		while (b > text && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		int stmt = b == text || b[-1] == '\n' || b[-1] == ';' || b[-1] == '{';
		const char *a = p + kl;
		while (*a == ' ' || *a == '\t')
			a++;
		if (stmt && *a == '=')
			return a + 1;
	}
	return NULL;
}

/* strips comments (# to end of line, outside strings) so keys in them are not read */
static char *strip_comments(const char *text)
{
	char *o = strdup(text);
	if (!o)
		return NULL;
	int in_str = 0;
	for (char *p = o; *p; p++) {
		if (*p == '"')
			in_str = !in_str;
		else if (*p == '\n')
			in_str = 0;
		else if (*p == '#' && !in_str)
			while (*p && *p != '\n')
				*p++ = ' ';
		if (!*p)
			break;
	}
	return o;
}

static void conf_read(const char *text, const char *peer, struct conf_info *ci)
{
	memset(ci, 0, sizeof(*ci));
	const char *p;
	if ((p = find_key(text, text, "Identity")))
		quoted(p, ci->identity, sizeof(ci->identity));
	if ((p = find_key(text, text, "TLS_Cred"))) {
		ci->cred_line = line_of(text, p);
		if ((p = quoted(p, ci->cert, sizeof(ci->cert))))
			quoted(p, ci->key, sizeof(ci->key));
	}
	for (p = text; ci->n_ca < 4 && (p = find_key(text, p, "TLS_CA"));) {
		ci->ca_line[ci->n_ca] = line_of(text, p);
		if (!(p = quoted(p, ci->ca[ci->n_ca], sizeof(ci->ca[0]))))
			break;
		ci->n_ca++;
	}
	/* ConnectPeer = "PEER" { ConnectTo = "HOST"; Port = N; ... }; */
	char id[256];
	for (p = text; (p = find_key(text, p, "ConnectPeer"));) {
		const char *q = quoted(p, id, sizeof(id));
		if (!q || strcasecmp(id, peer))
			continue;
		const char *end = strchr(q, '}');
		const char *h = strstr(q, "ConnectTo"), *pt = strstr(q, "Port");
		ci->has_peer = 1;
		ci->peer_port = 3868;
		if (h && (!end || h < end))
			quoted(h, ci->peer_host, sizeof(ci->peer_host));
		if (pt && (!end || pt < end) && (pt = strchr(pt, '=')))
			ci->peer_port = (unsigned)strtoul(pt + 1, NULL, 10);
		break;
	}
}

/* our own certificate: readable, valid now, naming the Identity in a dNSName SAN */
static int check_own_cert(const char *conf, const struct conf_info *ci)
{
	gnutls_datum_t d = {NULL, 0};
	gnutls_x509_crt_t crt = NULL;
	int ret = gnutls_load_file(ci->cert, &d);
	if (ret < 0)
		return fail("%s:%d: TLS_Cred certificate %s cannot be read: %s", conf,
		            ci->cred_line, ci->cert, strerror(errno ? errno : EIO));
	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0) {
		gnutls_free(d.data);
		gnutls_x509_crt_deinit(crt);
		return fail("%s:%d: TLS_Cred certificate %s is not a PEM X.509 certificate", conf,
		            ci->cred_line, ci->cert);
	}
	gnutls_free(d.data);
	int rc = 0;
	time_t now = time(NULL), nb = gnutls_x509_crt_get_activation_time(crt),
	       na = gnutls_x509_crt_get_expiration_time(crt);
	char when[64];
	if (na != (time_t)-1 && na < now) {
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&na));
		rc = fail("certificate %s (TLS_Cred in %s) expired on %s: issue a new one",
		          ci->cert, conf, when);
	} else if (nb != (time_t)-1 && nb > now) {
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&nb));
		rc = fail("certificate %s (TLS_Cred in %s) is valid only from %s: check the clock "
		          "or the certificate",
		          ci->cert, conf, when);
	} else if (ci->identity[0]) {
		char names[512] = "", san[256];
		int found = 0;
		for (unsigned i = 0;; i++) {
			size_t sl = sizeof(san);
			int t = gnutls_x509_crt_get_subject_alt_name(crt, i, san, &sl, NULL);
			if (t < 0)
				break;
			if (t != GNUTLS_SAN_DNSNAME)
				continue;
			found |= !strcasecmp(san, ci->identity);
			size_t u = strlen(names);
			snprintf(names + u, sizeof(names) - u, "%s%s", u ? ", " : "", san);
		}
		if (!found)
			rc = fail(
			        "certificate %s (TLS_Cred in %s) does not name the Identity \"%s\" "
			        "in a dNSName SAN (%s%s): the BM-SC will refuse it; use a "
			        "certificate issued for %s",
			        ci->cert, conf, ci->identity,
			        names[0] ? "it names " : "it has none", names, ci->identity);
	}
	gnutls_x509_crt_deinit(crt);
	return rc;
}

static int preflight(const char *conf, const char *fdx, const struct conf_info *ci)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/app_gcs_client.fdx", fdx);
	if (access(path, R_OK))
		return fail("%s not found: give -x DIR (the folder with dict_mb2c.fdx and "
		            "app_gcs_client.fdx, e.g. build/fdx) or set MB2C_FDX_DIR",
		            path);
	if (ci->key[0] && access(ci->key, R_OK))
		return fail("%s:%d: TLS_Cred key %s cannot be read: %s", conf, ci->cred_line,
		            ci->key, strerror(errno));
	for (int i = 0; i < ci->n_ca; i++)
		if (access(ci->ca[i], R_OK))
			return fail("%s:%d: TLS_CA %s cannot be read: %s", conf, ci->ca_line[i],
			            ci->ca[i], strerror(errno));
	if (ci->cert[0])
		return check_own_cert(conf, ci);
	return 0;
}

/* ------------------------------------------------ why it did not connect */
/* TCP connect to host:port within 3 s: 0 connected, else errno */
static int tcp_probe(const char *host, unsigned port)
{
	struct addrinfo hints, *ai = NULL;
	char ps[16];
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(host, ps, &hints, &ai) || !ai)
		return EHOSTUNREACH;
	int err = ETIMEDOUT;
	int s = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s >= 0) {
		if (!connect(s, ai->ai_addr, ai->ai_addrlen)) {
			err = 0;
		} else if (errno == EINPROGRESS) {
			struct pollfd pf = {s, POLLOUT, 0};
			if (poll(&pf, 1, 3000) == 1) {
				socklen_t l = sizeof(err);
				getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l);
			}
		} else {
			err = errno;
		}
		close(s);
	}
	freeaddrinfo(ai);
	return err;
}

/* the text after MARK on the first log line holding MARK (trimmed), or NULL */
static const char *log_find(const char *log, const char *mark, char *out, size_t len)
{
	const char *p = strstr(log, mark);
	if (!p)
		return NULL;
	p += strlen(mark);
	const char *e = strchr(p, '\n');
	size_t n = e ? (size_t)(e - p) : strlen(p);
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = 0;
	for (char *t = out; *t; t++)
		if (*t == '\t')
			*t = ' ';
	return out;
}

/* one line: why the GCS AS did not reach PEER (daemon log LOG, copy of CONF at
 * TMPCONF, the steps at TMPSCN from SCN); 1 when the line names the daemon log */
static int diagnose(const char *log, const char *conf, const char *tmpconf, const char *tmpscn,
                    const char *scn, const char *peer, const struct conf_info *ci, unsigned wait,
                    const char *logpath)
{
	char w[600], m[700];
	const char *id = ci->identity[0] ? ci->identity : "our identity";
	char at[300] = "";
	if (ci->has_peer && ci->peer_host[0])
		snprintf(at, sizeof(at), " at %s:%u", ci->peer_host, ci->peer_port);
	/* start-up: conf syntax (the copy's name is the user's file), own certificate, audit */
	char mk[300];
	snprintf(mk, sizeof(mk), "%s:", tmpconf);
	if (log && log_find(log, mk, w, sizeof(w))) {
		int l = atoi(w);
		const char *msg = strstr(w, " : ");
		fail("%s:%d: %s", conf, l, msg ? msg + 3 : w);
	} else if (log && strstr(log, "hasn't got a known issuer")) {
		fail("certificate %s (TLS_Cred in %s) is not issued by a CA of TLS_CA (%s): check "
		     "both",
		     ci->cert, conf, ci->n_ca ? ci->ca[0] : "none set");
	} else if (log && log_find(log, "sec_mb2c: start-up audit FAILED ", w, sizeof(w))) {
		fail("our sec_mb2c refuses to start (%s): %s", conf, w);
	} else if (log && log_find(log, "ERROR  app_gcs_client: ", w, sizeof(w))) {
		size_t tl = strlen(tmpscn);
		if (!strncmp(w, tmpscn, tl))
			fail("%s%s", scn, w + tl); /* the user's scenario, not the copy */
		else
			fail("%s", w);
	} else if (log && log_find(log, "sec_mb2c: REJECT handshake ", w, sizeof(w))) {
		fail("our sec_mb2c refused the certificate of %s%s: %s", peer, at, w);
	} else if (log && log_find(log, "sec_mb2c: DENY outbound ", w, sizeof(w))) {
		fail("our sec_mb2c refused %s%s: %s", peer, at, w);
	} else if (log && (strstr(log, "CEA with unexpected error code") ||
	                   strstr(log, "DIAMETER_UNKNOWN_PEER"))) {
		fail("%s%s refused our capabilities exchange (CER): it does not admit %s with "
		     "certificate %s — ask its operator to admit %s (lab: scripts/lab.sh serve "
		     "--gcs NAME or cert NAME) and check the certificate names it",
		     peer, at, id, ci->cert[0] ? ci->cert : "(none)", id);
	} else if (log && log_find(log, "TLS ERROR: in 'ret = gnutls_handshake", w, sizeof(w))) {
		const char *msg = strstr(w, ":");
		fail("TLS handshake with %s%s failed:%s — check that TLS_CA of %s holds the "
		     "BM-SC's CA and that both sides allow TLS 1.2/1.3 with the 3GPP ciphers",
		     peer, at, msg ? msg + 1 : w, conf);
	} else if (log && (strstr(log, "The connection was broken") ||
	                   strstr(log, "non-properly terminated"))) {
		fail("%s%s closed the TLS connection before the CER/CEA: it does not accept our "
		     "certificate %s (is our CA in its trust list? is %s admitted?)",
		     peer, at, ci->cert[0] ? ci->cert : "(none)", id);
	} else if (ci->has_peer && ci->peer_host[0]) {
		int e = tcp_probe(ci->peer_host, ci->peer_port);
		if (e == ECONNREFUSED)
			fail("nothing listens%s (ConnectPeer \"%s\" in %s): is the BM-SC running, "
			     "on that address and port?",
			     at, peer, conf);
		else if (e)
			fail("cannot reach%s (ConnectPeer \"%s\" in %s): %s — check the address, "
			     "routing and firewalls",
			     at, peer, conf, strerror(e));
		else {
			fail("%s accepts TCP but no Diameter connection to %s came up in %us: is "
			     "it "
			     "the BM-SC's TLS port (SecPort, TLS first) and does it admit %s? "
			     "(daemon "
			     "log: %s)",
			     at + 4, peer, wait, id, logpath);
			return 1;
		}
	} else {
		snprintf(m, sizeof(m),
		         "no connection to %s within %us and %s has no ConnectPeer for it (give -v "
		         "AGENT when the BM-SC is reached through an agent); daemon log: %s",
		         peer, wait, conf, logpath);
		fail("%s", m);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *peer = NULL, *realm = NULL, *logpath = NULL, *via = NULL;
	const char *fdx = getenv("MB2C_FDX_DIR");
	unsigned timeout = 10, wait = 30, rc = 1, stop_wait = 8;
	int c;
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
	/* "+": options end at the command, whose own words (and --help) follow it */
	while ((c = getopt_long(argc, argv, "+c:p:r:v:x:t:w:R:l:S:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'p':
			peer = optarg;
			break;
		case 'r':
			realm = optarg;
			break;
		case 'v':
			via = optarg;
			break;
		case 'x':
			fdx = optarg;
			break;
		case 't':
			timeout = (unsigned)atoi(optarg);
			break;
		case 'w':
			wait = (unsigned)atoi(optarg);
			break;
		case 'R':
			rc = (unsigned)atoi(optarg);
			break;
		case 'l':
			logpath = optarg;
			break;
		case 'S':
			stop_wait = (unsigned)atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return fail("unknown option or missing value (see mb2c-client -h)");
		}
	}
	if (!fdx || !*fdx)
		fdx = MB2C_FDX_DEFAULT;
	if (optind >= argc) {
		return fail("no COMMAND given (allocate, refresh, deallocate, activate, modify, "
		            "deactivate, heartbeat, scenario, bench)");
	}
	const char *cmd = argv[optind];
	int nargs = argc - optind - 1;
	char **args = argv + optind + 1;
	/* help: mb2c-client help [COMMAND], mb2c-client COMMAND --help */
	if (is_help(cmd)) {
		const struct cmd_help *h = nargs ? find_cmd(args[0]) : NULL;
		if (nargs && !h)
			return fail("no command '%s' (see mb2c-client -h)", args[0]);
		if (h)
			cmd_usage(stdout, h);
		else
			usage(stdout);
		return 0;
	}
	const struct cmd_help *ch = find_cmd(cmd);
	if (!ch)
		return fail("unknown command '%s' (commands: allocate, refresh, deallocate, "
		            "activate, modify, deactivate, heartbeat, scenario, bench; see "
		            "mb2c-client -h)",
		            cmd);
	for (int i = 0; i < nargs; i++)
		if (!strcmp(args[i], "-h") || !strcmp(args[i], "--help")) {
			cmd_usage(stdout, ch);
			return 0;
		}
	if (!conf)
		return fail("-c GCS.conf is required: the GCS AS's freeDiameter conf (Identity, "
		            "TLS_Cred, TLS_CA, ConnectPeer to the BM-SC)");
	if (!peer)
		return fail("-p BMSC-IDENTITY is required: the Diameter identity of the BM-SC "
		            "(e.g. -p bmsc.mb2c.lab)");
	char step[4096] = "";
	char *scenario_text = NULL;
	if (!strcmp(cmd, "scenario")) {
		if (nargs != 1)
			return fail("scenario needs one FILE (mb2c-client scenario --help)");
		if (!(scenario_text = slurp(args[0])))
			return fail("cannot read the scenario %s: %s", args[0], strerror(errno));
	} else if (!strcmp(cmd, "allocate") && nargs >= 1) {
		snprintf(step, sizeof(step), "allocate n=%s", args[0]);
		args++, nargs--;
	} else if ((!strcmp(cmd, "refresh") || !strcmp(cmd, "deallocate")) && nargs >= 1) {
		snprintf(step, sizeof(step), "%s tmgi=%s", cmd, args[0]);
		args++, nargs--;
	} else if ((!strcmp(cmd, "modify") || !strcmp(cmd, "deactivate")) && nargs >= 2) {
		snprintf(step, sizeof(step), "%s tmgi=%s flow=%s", cmd, args[0], args[1]);
		args += 2, nargs -= 2;
	} else if (!strcmp(cmd, "activate") || !strcmp(cmd, "heartbeat")) {
		snprintf(step, sizeof(step), "%s", cmd);
	} else if (!strcmp(cmd, "bench") && nargs >= 2) {
		snprintf(step, sizeof(step), "bench n=%s window=%s op=%s", args[0], args[1],
		         nargs >= 3 ? args[2] : "heartbeat");
		args += nargs >= 3 ? 3 : 2;
		nargs -= nargs >= 3 ? 3 : 2;
	} else {
		return fail("%s: missing arguments; usage: %s (mb2c-client %s --help)", cmd,
		            ch->synopsis, cmd);
	}
	if (!scenario_text && join_args(step, sizeof(step), nargs, args))
		return fail("arguments too long");
	char *user_conf = slurp(conf);
	if (!user_conf)
		return fail("cannot read the GCS AS conf %s: %s", conf, strerror(errno));
	struct conf_info ci;
	char *plain = strip_comments(user_conf);
	conf_read(plain ? plain : user_conf, via ? via : peer, &ci);
	free(plain);
	int pre = preflight(conf, fdx, &ci);
	if (pre) {
		free(user_conf);
		free(scenario_text);
		return pre;
	}
	char dir[] = "/tmp/mb2c-client.XXXXXX";
	if (!mkdtemp(dir))
		return fail("cannot create a folder in /tmp: %s", strerror(errno));
	char scn[64], cnf[64], lg[64];
	snprintf(scn, sizeof(scn), "%s/steps.scn", dir);
	snprintf(cnf, sizeof(cnf), "%s/gcs.conf", dir);
	snprintf(lg, sizeof(lg), "%s/daemon.log", dir);
	int pfd[2];
	if (pipe(pfd))
		return fail("pipe: %s", strerror(errno));
	FILE *f = fopen(scn, "w");
	if (!f)
		return fail("cannot write %s: %s", scn, strerror(errno));
	fputs(scenario_text ? scenario_text : step, f);
	fputc('\n', f);
	fclose(f);
	f = fopen(cnf, "w");
	if (!f)
		return fail("cannot write %s: %s", cnf, strerror(errno));
	fputs(user_conf, f);
	fputc('\n', f);
	if (!strstr(user_conf, "dict_mb2c"))
		fprintf(f, "LoadExtension = \"%s/dict_mb2c.fdx\";\n", fdx);
	fprintf(f,
	        "LoadExtension = \"%s/app_gcs_client.fdx\" : "
	        "\"peer=%s;%s%s%s%s%s%sscenario=%s;out=%d;timeout=%u;connect-timeout=%u;rc=%u\";\n",
	        fdx, peer, realm ? "realm=" : "", realm ? realm : "", realm ? ";" : "",
	        via ? "via=" : "", via ? via : "", via ? ";" : "", scn, pfd[1], timeout, wait, rc);
	fclose(f);
	const char *daemon_log = logpath ? logpath : lg;
	const char *fdd = getenv("FDD") ? getenv("FDD") : "freeDiameterd";
	pid_t pid = fork();
	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	if (!pid) {
		close(pfd[0]);
		int lfd = open(daemon_log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (lfd >= 0) {
			dup2(lfd, 1);
			dup2(lfd, 2);
			close(lfd);
		}
		execlp(fdd, fdd, "-c", cnf, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	/* SIGTERM / SIGINT / SIGHUP to mb2c-client stop its daemon too (it would
	 * otherwise be left running) */
	child = pid;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* forward the transcript; remember the summary line and a failed
	 * connection. Once the scenario has ended (its summary line) or a signal
	 * came, the daemon stops; its stop is bounded: freeDiameter's shutdown
	 * waits up to 16 s (DPR_TIMEOUT + 1) for a peer whose DPR/DPA exchange
	 * did not complete (the connection broke first, the core then even
	 * re-connects), which says nothing about the scenario */
	char buf[4096], last[256] = "";
	int no_link = 0, killed = 0;
	double stop_from = 0;
	size_t have = 0;
	for (;;) {
		if (!stop_from && stop_signal)
			stop_from = mono_now();
		if (stop_from && stop_wait && !killed && mono_now() - stop_from >= stop_wait) {
			kill(pid, SIGKILL);
			killed = 1;
		}
		struct pollfd pl = {.fd = pfd[0], .events = POLLIN};
		int pr = poll(&pl, 1, 200);
		if (pr <= 0)
			continue; /* a timeout, or a forwarded signal (EINTR) */
		ssize_t n = read(pfd[0], buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue; /* a forwarded signal: the daemon stops, the pipe closes */
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
		char *nl;
		while ((nl = strchr(buf, '\n'))) {
			*nl = 0;
			printf("%s\n", buf);
			unsigned np, nf;
			if (strstr(buf, " passed, ") && strstr(buf, " failed") &&
			    strncmp(buf, "Summary", 7)) {
				snprintf(last, sizeof(last), "%.255s", buf);
				/* the summary: the engine stops the daemon now */
				if (!stop_from &&
				    sscanf(buf, "%u passed, %u failed", &np, &nf) == 2)
					stop_from = mono_now();
			}
			if (!strncmp(buf, "BM-SC ", 6) && strstr(buf, " not connected after "))
				no_link = 1;
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have + 1);
		}
		if (have == sizeof(buf) - 1) { /* overlong line */
			printf("%s\n", buf);
			have = 0;
		}
		fflush(stdout); /* a live transcript also into a file or pipe */
	}
	fflush(stdout);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	unsigned passed = 0, failed = 1;
	int summary = sscanf(last, "%u passed, %u failed", &passed, &failed) == 2;
	int clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	int keep_log = 0;
	char after[64];
	if (stop_signal)
		snprintf(after, sizeof(after), "signal %d", (int)stop_signal);
	else
		snprintf(after, sizeof(after), "the scenario ended");
	if (killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		/* the bounded stop above: a stop that had begun is a clean one */
		char *log = slurp(daemon_log);
		if (log && strstr(log, "Initiating freeDiameter shutdown sequence")) {
			fprintf(stderr,
			        "mb2c-client: note: freeDiameterd was still stopping %u s after %s "
			        "(it waits up to 16 s for a peer whose disconnection did not "
			        "complete); killed\n",
			        stop_wait, after);
			clean_exit = 1;
		} else {
			fprintf(stderr,
			        "mb2c-client: freeDiameterd had not begun to stop %u s after %s; "
			        "killed; its log: %s\n",
			        stop_wait, after, daemon_log);
			keep_log = 1;
		}
		free(log);
	}
	if (summary && !failed && !clean_exit) {
		/* every step passed, then the daemon did not stop cleanly: said in
		 * one line, except freeDiameter 1.2.1's own shutdown assertion in
		 * fd_fifo_del (fifo.c:192), a race of its threads under load that
		 * says nothing about the scenario */
		char *log = slurp(daemon_log);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && log &&
		    strstr(log, "Initiating freeDiameter shutdown sequence") &&
		    strstr(log, "fd_fifo_del: Assertion")) {
			fprintf(stderr,
			        "mb2c-client: note: freeDiameterd hit its shutdown assertion "
			        "fd_fifo_del (fifo.c:192) after the scenario passed\n");
			clean_exit = 1;
		} else {
			if (WIFSIGNALED(status))
				fprintf(stderr,
				        "mb2c-client: every step passed, but freeDiameterd was "
				        "killed by "
				        "signal %d; its log: %s\n",
				        WTERMSIG(status), daemon_log);
			else
				fprintf(stderr,
				        "mb2c-client: every step passed, but freeDiameterd exited "
				        "with %d; "
				        "its log: %s\n",
				        WIFEXITED(status) ? WEXITSTATUS(status) : -1, daemon_log);
			keep_log = 1;
		}
		free(log);
	}
	int ok = summary && !failed && clean_exit;
	if (stop_signal && !summary) {
		fprintf(stderr, "mb2c-client: stopped by signal %d before the scenario ended\n",
		        (int)stop_signal);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !summary) {
		fail("cannot run %s (set FDD=PATH, or apt-get install freediameterd)", fdd);
	} else if (!summary || no_link) {
		/* one line saying why; the daemon log stays for the details */
		char *log = slurp(daemon_log);
		keep_log = diagnose(log, conf, cnf, scn, scenario_text ? args[0] : "command line",
		                    via ? via : peer, &ci, wait, daemon_log);
		free(log);
	}
	unlink(scn);
	unlink(cnf);
	if (!logpath && !keep_log)
		unlink(lg);
	if (!keep_log || logpath)
		rmdir(dir);
	free(user_conf);
	free(scenario_text);
	return ok ? 0 : (summary && !no_link) ? 1 : 2;
}
