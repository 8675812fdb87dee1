/*
 * cli_status.c — `lakesync status -c FILE [--format text|json]`: per table
 * of every pipeline and synced table of the configuration file, its state,
 * rows, Delta version, last LSN, lag and the replication slot (the figures
 * and their sources are described in sync/status.h).  Works whether or not
 * `lakesync run` is running; never changes anything.
 *
 * Exit: 0 the status was printed (problems reaching a source are part of
 * it), 2 usage or configuration error, 1 another failure (a corrupt status
 * file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "sync/config.h"
#include "sync/status.h"

static const char status_help[] =
	"usage: lakesync status -c FILE [--format text|json]\n"
	"\n"
	"Reports every pipeline and synced table of the configuration file:\n"
	"  per table   state (snapshot, streaming, stopped, error, not started),\n"
	"              rows (numRecords of the Delta snapshot), Delta version, last\n"
	"              LSN (the table's txn version), lag in bytes (current WAL minus\n"
	"              what is durable in the table) and seconds (since the last Delta\n"
	"              version)\n"
	"  per slot    active, confirmed_flush_lsn, restart_lsn, retained WAL\n"
	"  synced      version synced / latest Delta version, rows, lag\n"
	"  run         what `lakesync run -c FILE` reports in its status file\n"
	"Works whether or not `lakesync run` is running.  Passwords in connection\n"
	"strings are masked.  PGCONNECT_TIMEOUT defaults to 5 seconds here.\n"
	"\n"
	"options:\n"
	"  -c, --config FILE      the configuration file (docs/config.md)\n"
	"  --format text|json     output format (default text)\n"
	"exit codes: 0 ok, 1 error, 2 usage or configuration error\n";

int
cli_status_main(int argc, char **argv)
{
	const char *path = NULL, *format = "text";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(status_help, stdout);
			return LK_EXIT_OK;
		}
		if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && i + 1 < argc)
			path = argv[++i];
		else if (!strncmp(a, "--config=", 9))
			path = a + 9;
		else if (!strcmp(a, "--format") && i + 1 < argc)
			format = argv[++i];
		else if (!strncmp(a, "--format=", 9))
			format = a + 9;
		else {
			fprintf(stderr, "lakesync status: unexpected argument \"%s\"\nTry `lakesync "
					"status --help`.\n", a);
			return LK_EXIT_USAGE;
		}
	}
	if (!path) {
		fprintf(stderr, "lakesync status: missing -c FILE\nTry `lakesync status --help`.\n");
		return LK_EXIT_USAGE;
	}
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
		fprintf(stderr, "lakesync status: unknown --format \"%s\" (text or json)\n", format);
		return LK_EXIT_USAGE;
	}
	/* an unreachable source must not hang the report */
	setenv("PGCONNECT_TIMEOUT", "5", 0);

	lk_error err;
	lk_error_clear(&err);
	sy_config_file *cf = sy_config_load(path, &err);
	if (!cf) {
		fprintf(stderr, "lakesync status: %s\n", err.msg);
		if (err.where[0])
			fprintf(stderr, "  where: %s\n", err.where);
		return err.code == LK_ERR_INVALID ? LK_EXIT_USAGE : cli_exit_for(&err);
	}
	sy_status_report *r = NULL;
	if (!sy_status_collect(cf, &r, &err)) {
		fprintf(stderr, "lakesync status: %s\n", err.msg);
		if (err.where[0])
			fprintf(stderr, "  where: %s\n", err.where);
		sy_config_free(cf);
		return LK_EXIT_ERROR;
	}
	lk_buf out = LK_BUF_INIT;
	if (!strcmp(format, "json"))
		sy_status_format_json(r, &out);
	else
		sy_status_format_text(r, &out);
	fwrite(out.data, 1, out.len, stdout);
	lk_buf_free(&out);
	sy_status_free(r);
	sy_config_free(cf);
	return LK_EXIT_OK;
}
