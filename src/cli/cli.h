/*
 * cli.h — subcommands of the lakesync binary and its named exit codes.
 * Each subcommand lives in cli_<name>.c as `int cli_<name>_main(argc, argv)`
 * where argv[0] is the subcommand's name.
 */
#ifndef LK_CLI_H
#define LK_CLI_H

#include <stdbool.h>

#include "common/error.h"

enum lk_exit {
	LK_EXIT_OK = 0,
	LK_EXIT_ERROR = 1,        /* runtime failure (I/O, Postgres, ...) */
	LK_EXIT_USAGE = 2,        /* bad command line or configuration */
	LK_EXIT_DATA = 3,         /* malformed or unrepresentable data */
	LK_EXIT_UNSUPPORTED = 4,  /* valid input using a feature we refuse */
	LK_EXIT_CONFLICT = 5,     /* lost a concurrent commit race for good */
	LK_EXIT_INTERRUPTED = 130,
};

#define LAKESYNC_VERSION "0.1.0"

/* "lakesync: <msg>" and "  where: <where>" on stderr. */
void cli_print_error(const lk_error *err);
/* "--help" or "-h". */
bool cli_is_help(const char *arg);
/* handler for SIGINT and SIGTERM, without SA_RESTART (so blocking waits
 * wake up to see the stop), and SIGPIPE ignored. */
void cli_on_stop_signals(void (*handler)(int));
/* `--name value` or `--name=value`: if argv[*i] is option `name`, set *val
 * (pointing into argv) and advance *i past its value. Returns 1 matched,
 * 0 not this option, -1 value missing. */
int cli_opt_value(int argc, char **argv, int *i, const char *name,
				  const char **val);

/* Exit code for an error code (corrupt → DATA, unsupported → UNSUPPORTED…). */
int cli_exit_for(const lk_error *err);

int cli_parquet_main(int argc, char **argv);
int cli_synced_table_main(int argc, char **argv);
int cli_sync_main(int argc, char **argv);
int cli_delta_main(int argc, char **argv);
int cli_run_main(int argc, char **argv);
int cli_status_main(int argc, char **argv);
int cli_demo_main(int argc, char **argv);

#endif
