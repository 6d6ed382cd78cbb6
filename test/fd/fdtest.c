#include "fdtest.h"

#include <mb2c/dict.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *fdtest_stock_dir(void)
{
	const char *d = getenv("FD_STOCK_EXT_DIR");
	return d && *d ? d : DEFAULT_EXTENSIONS_PATH;
}

void fdtest_init(const char *fdxdir, const char *order, const char *options)
{
	char path[] = "/tmp/mb2c-fdtest-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		exit(2);
	}
	FILE *f = fdopen(fd, "w");
	fprintf(f, "Identity = \"test.mb2c.lab\";\nRealm = \"mb2c.lab\";\n"
	           "Port = 0;\nSecPort = 0;\nNo_SCTP;\nNo_IPv6;\nNoRelay;\n");
	const char *stock = fdtest_stock_dir();
	char own[1200];
	if (options)
		snprintf(own, sizeof(own), "LoadExtension = \"%s/dict_mb2c.fdx\" : \"%s\";\n",
		         fdxdir, options);
	else
		snprintf(own, sizeof(own), "LoadExtension = \"%s/dict_mb2c.fdx\";\n", fdxdir);
	int with_stock = !strcmp(order, "before") || !strcmp(order, "after");
	if (!strcmp(order, "alone") || !strcmp(order, "before"))
		fputs(own, f);
	if (with_stock)
		fprintf(f,
		        "LoadExtension = \"%s/dict_nasreq.fdx\";\nLoadExtension = "
		        "\"%s/dict_dcca.fdx\";\nLoadExtension = \"%s/dict_dcca_3gpp.fdx\";\n",
		        stock, stock, stock);
	if (!strcmp(order, "after"))
		fputs(own, f);
	fclose(f);
	fd_g_debug_lvl = FD_LOG_ERROR;
	int ret = fd_core_initialize();
	fd_g_debug_lvl = getenv("FDTEST_VERBOSE") ? FD_LOG_DEBUG : FD_LOG_ERROR;
	if (ret || fd_core_parseconf(path)) {
		fprintf(stderr, "fdtest: core initialization with %s failed\n", path);
		unlink(path);
		exit(2);
	}
	unlink(path);
	if (!strcmp(order, "none"))
		return;
	char err[256];
	if (mb2c_dict_resolve(fd_g_config->cnf_dict, err, sizeof(err))) {
		fprintf(stderr, "fdtest: %s\n", err);
		exit(2);
	}
}
