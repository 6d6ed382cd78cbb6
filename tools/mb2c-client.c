/* mb2c-client: the GCS AS lab client command.
 *
 * Runs a GCS AS as a real freeDiameterd process (the node's own conf, TLS
 * included) with the app_gcs_client extension, gives it one operation or a
 * scenario, prints the transcript and exits 0 only when every step got the
 * expected outcome. See `mb2c-client -h`. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MB2C_FDX_DEFAULT
#define MB2C_FDX_DEFAULT "/usr/lib/freeDiameter"
#endif

static volatile pid_t child;

static void forward_signal(int sig)
{
	if (child > 0)
		kill(child, sig == SIGINT ? SIGTERM : sig);
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
	        "exit status: 0 all steps as expected, 1 a step did not match, 2 usage or "
	        "start-up error\n",
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

int main(int argc, char **argv)
{
	const char *conf = NULL, *peer = NULL, *realm = NULL, *logpath = NULL, *via = NULL;
	const char *fdx = getenv("MB2C_FDX_DIR");
	unsigned timeout = 10, wait = 30, rc = 1;
	int c;
	while ((c = getopt(argc, argv, "c:p:r:v:x:t:w:R:l:h")) != -1) {
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
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!fdx || !*fdx)
		fdx = MB2C_FDX_DEFAULT;
	if (!conf || !peer || optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind];
	int nargs = argc - optind - 1;
	char **args = argv + optind + 1;
	char step[4096] = "";
	char *scenario_text = NULL;
	if (!strcmp(cmd, "scenario")) {
		if (nargs != 1 || !(scenario_text = slurp(args[0]))) {
			fprintf(stderr, "mb2c-client: scenario needs a readable FILE\n");
			return 2;
		}
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
		usage(stderr);
		return 2;
	}
	if (!scenario_text && join_args(step, sizeof(step), nargs, args)) {
		fprintf(stderr, "mb2c-client: arguments too long\n");
		return 2;
	}
	char *user_conf = slurp(conf);
	if (!user_conf) {
		fprintf(stderr, "mb2c-client: cannot read %s: %s\n", conf, strerror(errno));
		return 2;
	}
	char dir[] = "/tmp/mb2c-client.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mb2c-client: mkdtemp");
		return 2;
	}
	char scn[64], cnf[64], lg[64];
	snprintf(scn, sizeof(scn), "%s/steps.scn", dir);
	snprintf(cnf, sizeof(cnf), "%s/gcs.conf", dir);
	snprintf(lg, sizeof(lg), "%s/daemon.log", dir);
	int pfd[2];
	if (pipe(pfd)) {
		perror("mb2c-client: pipe");
		return 2;
	}
	FILE *f = fopen(scn, "w");
	if (!f)
		return 2;
	fputs(scenario_text ? scenario_text : step, f);
	fputc('\n', f);
	fclose(f);
	f = fopen(cnf, "w");
	if (!f)
		return 2;
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
	pid_t pid = fork();
	if (pid < 0) {
		perror("mb2c-client: fork");
		return 2;
	}
	if (!pid) {
		close(pfd[0]);
		int lfd = open(daemon_log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (lfd >= 0) {
			dup2(lfd, 1);
			dup2(lfd, 2);
			close(lfd);
		}
		const char *fdd = getenv("FDD") ? getenv("FDD") : "freeDiameterd";
		execlp(fdd, fdd, "-c", cnf, (char *)NULL);
		perror("exec freeDiameterd");
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
	/* forward the transcript; remember the summary line */
	char buf[4096], last[256] = "";
	size_t have = 0;
	for (;;) {
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
			if (strstr(buf, " passed, ") && strstr(buf, " failed") &&
			    strncmp(buf, "Summary", 7))
				snprintf(last, sizeof(last), "%.255s", buf);
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
	int ok = summary && !failed && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!summary) {
		fprintf(stderr, "mb2c-client: the GCS AS daemon ended without a result (exit %d)",
		        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		char *log = slurp(daemon_log);
		if (log) {
			size_t l = strlen(log);
			fprintf(stderr, "; its log ends with:\n%s",
			        l > 3000 ? log + l - 3000 : log);
			free(log);
		}
		fputc('\n', stderr);
	}
	unlink(scn);
	unlink(cnf);
	if (!logpath)
		unlink(lg);
	rmdir(dir);
	free(user_conf);
	free(scenario_text);
	return ok ? 0 : summary ? 1 : 2;
}
