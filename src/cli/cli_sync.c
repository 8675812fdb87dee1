/*
 * cli_sync.c — `lakesync sync`: Lakehouse Sync, Postgres → Delta (DESIGN §3,
 * §7), history or mirror mode.  The work is sync/capture.c; this file
 * parses the command line, installs the signal handlers and maps the
 * outcome to the named exit codes of cli.h.
 *
 *   lakesync sync --source DSN --target URI --table SCHEMA.TABLE [--table …]
 *                 [--mode history|mirror] [--pipeline NAME] [--until-caught-up]
 *                 [--jobs N] [--flush-bytes N] [--flush-interval-ms N]
 *   lakesync sync --source DSN [--pipeline NAME] --drop
 *
 * Exit: 0 done (caught up, or stopped by SIGTERM after a clean flush),
 * 130 stopped by SIGINT after a clean flush, 1 runtime error, 2 usage,
 * 3 bad data / 4 unsupported (a table stopped by an unrepresentable value
 * or a schema change), 5 conflict (another run holds the pipeline).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"
#include "sync/capture.h"

static const char sync_help[] =
	"usage: lakesync sync --source DSN --target URI --table SCHEMA.TABLE [--table ...]\n"
	"                     [--mode history|mirror] [--pipeline NAME] [--until-caught-up]\n"
	"                     [--jobs N] [--flush-bytes N] [--flush-interval-ms N]\n"
	"                     [--index-memory N] [--no-maintenance]\n"
	"       lakesync sync --source DSN [--pipeline NAME] --drop\n"
	"\n"
	"Lakehouse Sync: keeps Delta tables of PostgreSQL tables, from logical\n"
	"replication (pgoutput).  In history mode (the default) each table becomes\n"
	"<target>/<schema>/<table>_history: the source columns plus _change_type,\n"
	"_commit_lsn, _change_seq, _commit_timestamp and _xid.  In mirror mode it\n"
	"becomes <target>/<schema>/<table>, equal to the source table: updates and\n"
	"deletes mark old rows with deletion vectors (found through a key index under\n"
	"<target>/_lakesync/<pipeline>/index), and Change Data Feed is on.  The first\n"
	"run takes a snapshot of every table, then streams its changes; a later run\n"
	"resumes where the Delta tables are (exactly once).\n"
	"\n"
	"options:\n"
	"  --source DSN            libpq connection string (URI or key=value; PG*\n"
	"                          variables and .pgpass apply)\n"
	"  --target URI            the lakehouse root: a directory or file:///path\n"
	"  --table SCHEMA.TABLE    a table to sync (repeat for more); SQL spelling\n"
	"  --mode history|mirror   history: an append-only change log (default);\n"
	"                          mirror: a copy of the table (it needs a primary key,\n"
	"                          a replica identity index, or REPLICA IDENTITY FULL)\n"
	"  --pipeline NAME         names the slot and publication lakesync_NAME\n"
	"                          (default: lakesync)\n"
	"  --until-caught-up       stream up to the WAL position at start, commit,\n"
	"                          exit 0 (run it again to resume)\n"
	"  --jobs N                snapshot connections (default: number of cores)\n"
	"  --flush-bytes N         commit a table past N pending bytes (default 128 MiB;\n"
	"                          suffixes k, M, G)\n"
	"  --flush-interval-ms N   ... or when its oldest pending row is N ms old\n"
	"                          (default 1000)\n"
	"  --index-memory N        memory of each table's key index before it spills\n"
	"                          to disk (default 64M)\n"
	"  --no-maintenance        no background compaction of small files,\n"
	"                          checkpoints or vacuum (on by default)\n"
	"  --drop                  drop the pipeline's slot and publication, exit\n"
	"\n"
	"SIGINT/SIGTERM finish the current flush, commit what is complete and exit\n"
	"(130 after SIGINT, 0 after SIGTERM).\n"
	"exit codes: 0 ok, 1 error, 2 usage, 3 bad data, 4 unsupported, 5 conflict,\n"
	"130 interrupted\n";

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "lakesync sync: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry `lakesync sync --help`.\n");
	return LK_EXIT_USAGE;
}

/* "128M", "64k", "1G", "1000" → bytes; false if malformed or ≤ 0. */
static bool
parse_size(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return false;
	int64_t mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1024;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024;
	else if (*end == 'g' || *end == 'G')
		mul = INT64_C(1024) * 1024 * 1024;
	else if (*end)
		return false;
	if (mul > 1 && end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB"))
		return false;
	if (v > INT64_MAX / mul)
		return false;
	*out = v * mul;
	return true;
}

static bool
parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = (int) v;
	return true;
}

static void
on_signal(int sig)
{
	sy_capture_request_stop(sig);
}

int
cli_sync_main(int argc, char **argv)
{
	sy_capture_options o;
	sy_capture_options_init(&o);
	const char **tables = calloc((size_t) argc + 1, sizeof(char *));
	int ntables = 0;
	bool drop = false;
	const char *mode = "history";
	int rc = LK_EXIT_OK;

	if (!tables)
		return LK_EXIT_ERROR;
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		int m;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(sync_help, stdout);
			free(tables);
			return LK_EXIT_OK;
		}
		if (!strcmp(argv[i], "--until-caught-up")) {
			o.until_caught_up = true;
			continue;
		}
		if (!strcmp(argv[i], "--drop")) {
			drop = true;
			continue;
		}
		if (!strcmp(argv[i], "--no-maintenance")) {
			o.no_maintenance = true;
			continue;
		}
#define OPT(name)                                                       \
	((m = cli_opt_value(argc, argv, &i, name, &v)) < 0                      \
		 ? (rc = usage_error("%s needs a value", name), true)           \
		 : m == 1)
		if (OPT("--source")) {
			o.source = v;
		} else if (OPT("--target")) {
			o.target = v;
		} else if (OPT("--table")) {
			tables[ntables++] = v;
		} else if (OPT("--mode")) {
			mode = v;
		} else if (OPT("--pipeline")) {
			o.pipeline = v;
		} else if (OPT("--jobs")) {
			if (v && !parse_int(v, 1, 64, &o.jobs))
				rc = usage_error("invalid --jobs \"%s\" (1 to 64)", v);
		} else if (OPT("--flush-bytes")) {
			if (v && !parse_size(v, &o.cfg.flush_bytes))
				rc = usage_error("invalid --flush-bytes \"%s\"", v);
		} else if (OPT("--flush-interval-ms")) {
			if (v && !parse_int(v, 1, 86400000, &o.cfg.flush_interval_ms))
				rc = usage_error("invalid --flush-interval-ms \"%s\"", v);
		} else if (OPT("--index-memory")) {
			int64_t im;
			if (v && (!parse_size(v, &im) || im < (1 << 20)))
				rc = usage_error("invalid --index-memory \"%s\" (at least 1M)", v);
			else if (v)
				o.cfg.index_bytes = (size_t) im;
		} else if (argv[i][0] == '-') {
			rc = usage_error("unknown option \"%s\"", argv[i]);
		} else {
			rc = usage_error("unexpected argument \"%s\"", argv[i]);
		}
#undef OPT
		if (rc != LK_EXIT_OK) {
			free(tables);
			return rc;
		}
	}
	if (!o.source)
		rc = usage_error("%s", "missing --source DSN");
	else if (drop && (ntables || o.until_caught_up))
		rc = usage_error("%s", "--drop takes only --source and --pipeline");
	else if (!drop && !o.target)
		rc = usage_error("%s", "missing --target URI");
	else if (!drop && ntables == 0)
		rc = usage_error("%s", "missing --table SCHEMA.TABLE");
	else if (strcmp(mode, "history") != 0 && strcmp(mode, "mirror") != 0)
		rc = usage_error("unknown --mode \"%s\" (history or mirror)", mode);
	if (rc != LK_EXIT_OK) {
		free(tables);
		return rc;
	}
	if (!sy_table_mode_parse(mode, &o.cfg.mode))
		o.cfg.mode = SY_TABLE_HISTORY;

	lk_error err;
	lk_error_clear(&err);
	if (drop) {
		rc = sy_capture_drop(o.source, o.pipeline, &err) ? LK_EXIT_OK
														 : (cli_print_error(&err), cli_exit_for(&err));
		free(tables);
		return rc;
	}
	if (o.jobs == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.jobs = n > 0 ? (int) (n > 64 ? 64 : n) : 1;
	}
	/* tuning knob (tests): bytes of streamed transactions kept in memory */
	const char *sm = getenv("LAKESYNC_SPILL_MEM");
	int64_t smv;
	if (sm && parse_size(sm, &smv))
		o.spill_mem = (size_t) smv;
	/* tuning knobs (tests): how soon the maintenance worker compacts */
	sy_maint_options mo;
	sy_maint_options_init(&mo);
	const char *ci = getenv("LAKESYNC_COMPACT_INTERVAL_MS");
	const char *cm = getenv("LAKESYNC_COMPACT_MIN_FILES");
	int civ, cmv;
	if (ci && parse_int(ci, 1, 86400000, &civ))
		mo.compact_interval_ms = civ;
	if (cm && parse_int(cm, 2, 1000000, &cmv))
		mo.min_files = cmv;
	o.maint = &mo;
	o.tables = tables;
	o.ntables = ntables;
	o.progress_tty = isatty(STDERR_FILENO) == 1;
	cli_on_stop_signals(on_signal);

	sy_capture_result res;
	bool ok = sy_capture_run(&o, &res, &err);
	free(tables);
	if (!ok) {
		if (err.code == LK_OK)
			err.code = LK_ERR_INTERNAL;
		cli_print_error(&err);
		return cli_exit_for(&err);
	}
	if (res.tables_failed) {
		fprintf(stderr, "lakesync: %d table%s stopped by an error\n", res.tables_failed,
				res.tables_failed > 1 ? "s" : "");
		cli_print_error(&res.table_error);
		rc = cli_exit_for(&res.table_error);
		return rc == LK_EXIT_OK ? LK_EXIT_ERROR : rc;
	}
	if (res.interrupted)
		return res.signal == SIGINT ? LK_EXIT_INTERRUPTED : LK_EXIT_OK;
	return LK_EXIT_OK;
}
