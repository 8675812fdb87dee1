/*
 * main.c — `lakesync <command> …`: dispatch to the subcommands of cli.h.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
} command;

static const command commands[] = {
	{"parquet", cli_parquet_main, "schema|cat|copy FILE …   inspect and rewrite Parquet files"},
	{"synced-table", cli_synced_table_main, "--source URI --target DSN --table S.T --mode M …\n"
	 "            keep a Delta table as a read-only PostgreSQL table"},
	{"sync", cli_sync_main, "--source DSN --target URI --table S.T …   Postgres → Delta history"},
	{"run", cli_run_main, "-c FILE   every pipeline and synced table of a configuration file"},
	{"status", cli_status_main, "-c FILE [--format text|json]   state, rows, LSN, lag per table"},
	{"demo", cli_demo_main, "[--seconds N] [--lakehouse DIR]   a private Postgres + lakehouse, end to end"},
	{"delta", cli_delta_main, "scan|history|changes|checkpoint|optimize|vacuum TABLE …\n"
	 "            read, time-travel, change feed and maintain Delta tables"},
};

static void
usage(FILE *f)
{
	fprintf(f,
			"lakesync %s — keeps PostgreSQL and a Delta Lake lakehouse in sync\n\n"
			"usage: lakesync COMMAND [options]\n\ncommands:\n",
			LAKESYNC_VERSION);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`lakesync COMMAND --help` describes each command.\n"
			   "exit codes: 0 ok, 1 error, 2 usage, 3 bad data, 4 unsupported, 5 conflict\n");
}

int
cli_exit_for(const lk_error *err)
{
	switch (err->code) {
	case LK_OK: return LK_EXIT_OK;
	case LK_ERR_CORRUPT: return LK_EXIT_DATA;
	case LK_ERR_UNSUPPORTED: return LK_EXIT_UNSUPPORTED;
	case LK_ERR_INVALID: return LK_EXIT_USAGE;
	case LK_ERR_CONFLICT: return LK_EXIT_CONFLICT;
	default: return LK_EXIT_ERROR;
	}
}

void
cli_print_error(const lk_error *err)
{
	fprintf(stderr, "lakesync: %s\n", err->msg[0] ? err->msg : "unknown error");
	if (err->where[0])
		fprintf(stderr, "  where: %s\n", err->where);
}

void
cli_on_stop_signals(void (*handler)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;                 /* no SA_RESTART: waits wake up */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool
cli_is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

int
cli_opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return LK_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
		!strcmp(argv[1], "help")) {
		usage(stdout);
		return LK_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("lakesync %s\n", LAKESYNC_VERSION);
		return LK_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "lakesync: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return LK_EXIT_USAGE;
}
