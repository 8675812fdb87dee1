/*
 * cli_delta_maint.c — `lakesync delta checkpoint|optimize|vacuum TABLE …`.
 *
 *   checkpoint TABLE [--version V]
 *   optimize   TABLE [--target-size SIZE] [--min-files N] [--dry-run]
 *   vacuum     TABLE [--retention-hours H] [--dry-run] [--force]
 *
 * TABLE is a directory or a file:// URI.  Results go to standard output;
 * errors print "lakesync: <msg>\n  where: <where>" on stderr and exit with
 * cli_exit_for(): 1 I/O, 2 usage, 3 corrupt table, 4 unsupported feature,
 * 5 lost a concurrent commit race.
 */
#include "cli/cli_delta_maint.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "delta/maintenance.h"
#include "storage/storage.h"

static int
fail(lk_error *err)
{
	if (err->code == LK_OK)
		err->code = LK_ERR_INTERNAL;
	cli_print_error(err);
	return cli_exit_for(err);
}

static int
usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "lakesync delta %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry `lakesync delta %s --help`.\n", cmd);
	return LK_EXIT_USAGE;
}

/* `--name value` or `--name=value`: 1 matched (value set), 0 not this
 * option, -1 value missing. */
static bool
parse_int(const char *s, int64_t min, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return false;
	*out = v;
	return true;
}

/* "134217728", "128MiB", "128M", "1g", "512KB" (binary units). */
static bool
parse_size(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v <= 0)
		return false;
	while (*end == ' ')
		end++;
	double mul = 1;
	if (*end) {
		char u = (char) (*end | 0x20);
		if (u == 'k')
			mul = 1024.0;
		else if (u == 'm')
			mul = 1024.0 * 1024;
		else if (u == 'g')
			mul = 1024.0 * 1024 * 1024;
		else if (u == 't')
			mul = 1024.0 * 1024 * 1024 * 1024;
		else if (u != 'b')
			return false;
		const char *rest = end + (u == 'b' ? 0 : 1);
		if (*rest && strcasecmp(rest, "b") != 0 && strcasecmp(rest, "ib") != 0)
			return false;
	}
	v *= mul;
	if (v < 1 || v > 9.0e18)
		return false;
	*out = (int64_t) llround(v);
	return true;
}

static bool
open_store(const char *table, st_store *st, lk_error *err)
{
	return st_store_open(st, table, ST_ALLOW_ABSOLUTE, err);
}

/* ---- checkpoint ------------------------------------------------------------ */

static const char checkpoint_help[] =
	"usage: lakesync delta checkpoint TABLE [--version V]\n"
	"\n"
	"Write the checkpoint of the latest version (or of version V) as\n"
	"_delta_log/<version>.checkpoint.parquet and point _delta_log/_last_checkpoint\n"
	"at it (never back to an older version). An existing checkpoint of that\n"
	"version is kept. Tombstones older than delta.deletedFileRetentionDuration\n"
	"(default one week) are left out.\n"
	"\n"
	"options:\n"
	"  --version V   checkpoint version V instead of the latest\n"
	"  --help        this text\n";

static int
cmd_checkpoint(int argc, char **argv)
{
	const char *table = NULL;
	int64_t version = -1;
	for (int i = 1; i < argc; i++) {
		const char *v;
		int r;
		if (cli_is_help(argv[i])) {
			fputs(checkpoint_help, stdout);
			return LK_EXIT_OK;
		} else if ((r = cli_opt_value(argc, argv, &i, "--version", &v)) != 0) {
			if (r < 0 || !parse_int(v, 0, &version))
				return usage_error("checkpoint", "--version needs a version number, not \"%s\"",
								   r < 0 ? "" : v);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("checkpoint", "unknown option \"%s\"", argv[i]);
		} else if (!table) {
			table = argv[i];
		} else {
			return usage_error("checkpoint", "unexpected argument \"%s\"", argv[i]);
		}
	}
	if (!table)
		return usage_error("checkpoint", "%sa TABLE is required", "");
	st_store st;
	lk_error err;
	lk_error_clear(&err);
	if (!open_store(table, &st, &err))
		return fail(&err);
	dl_checkpoint_result r;
	bool ok = dl_checkpoint_write(&st, version, &r, &err);
	st_store_close(&st);
	if (!ok)
		return fail(&err);
	printf("checkpoint of version %" PRId64 " %s: _delta_log/%020" PRId64
		   ".checkpoint.parquet (%" PRId64 " actions, %" PRId64 " files, %" PRId64 " bytes)\n",
		   r.version, r.existed ? "already existed" : "written", r.version, r.size,
		   r.num_add_files, r.size_in_bytes);
	return LK_EXIT_OK;
}

/* ---- optimize --------------------------------------------------------------- */

static const char optimize_help[] =
	"usage: lakesync delta optimize TABLE [--target-size SIZE] [--min-files N] [--dry-run]\n"
	"\n"
	"Compact small files: in each partition, files smaller than the target size\n"
	"are packed into bins of about the target size and each bin is rewritten as\n"
	"one file; files with deletion vectors are rewritten too, without their\n"
	"deleted rows. One commit (operation OPTIMIZE) removes and adds the files\n"
	"with dataChange=false, so readers of the change feed see no change.\n"
	"\n"
	"options:\n"
	"  --target-size SIZE  bytes, or with a unit: 128MiB, 512K, 1G (default 128MiB)\n"
	"  --min-files N       smallest bin worth rewriting (default 2)\n"
	"  --dry-run           print what would be compacted, change nothing\n"
	"  --help              this text\n";

static int
cmd_optimize(int argc, char **argv)
{
	const char *table = NULL;
	dl_optimize_options o;
	dl_optimize_options_init(&o);
	for (int i = 1; i < argc; i++) {
		const char *v;
		int r;
		if (cli_is_help(argv[i])) {
			fputs(optimize_help, stdout);
			return LK_EXIT_OK;
		} else if ((r = cli_opt_value(argc, argv, &i, "--target-size", &v)) != 0) {
			if (r < 0 || !parse_size(v, &o.target_size))
				return usage_error("optimize", "--target-size needs a size such as 128MiB, "
											   "not \"%s\"", r < 0 ? "" : v);
		} else if ((r = cli_opt_value(argc, argv, &i, "--min-files", &v)) != 0) {
			if (r < 0 || !parse_int(v, 1, &o.min_files))
				return usage_error("optimize", "--min-files needs a positive number, not \"%s\"",
								   r < 0 ? "" : v);
		} else if (!strcmp(argv[i], "--dry-run")) {
			o.dry_run = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("optimize", "unknown option \"%s\"", argv[i]);
		} else if (!table) {
			table = argv[i];
		} else {
			return usage_error("optimize", "unexpected argument \"%s\"", argv[i]);
		}
	}
	if (!table)
		return usage_error("optimize", "%sa TABLE is required", "");
	st_store st;
	lk_error err;
	lk_error_clear(&err);
	if (!open_store(table, &st, &err))
		return fail(&err);
	dl_optimize_result r;
	bool ok = dl_optimize(&st, &o, &r, &err);
	st_store_close(&st);
	if (!ok)
		return fail(&err);
	if (r.files_removed == 0)
		printf("nothing to optimize\n");
	else if (o.dry_run)
		printf("would compact %" PRId64 " files (%" PRId64 " bytes) in %" PRId64
			   " partition%s\n", r.files_removed, r.bytes_removed, r.partitions,
			   r.partitions == 1 ? "" : "s");
	else
		printf("version %" PRId64 ": compacted %" PRId64 " files (%" PRId64 " bytes) into %"
			   PRId64 " (%" PRId64 " bytes) in %" PRId64 " partition%s, %" PRId64
			   " deleted rows purged\n",
			   r.version, r.files_removed, r.bytes_removed, r.files_added, r.bytes_added,
			   r.partitions, r.partitions == 1 ? "" : "s", r.rows_dropped);
	return LK_EXIT_OK;
}

/* ---- vacuum ------------------------------------------------------------------ */

static const char vacuum_help[] =
	"usage: lakesync delta vacuum TABLE [--retention-hours H] [--dry-run] [--force]\n"
	"\n"
	"Delete the files of the table directory that the current version does not\n"
	"reference, nor any version of the retention period (files removed less\n"
	"than the retention period ago are kept), and that are older than the\n"
	"retention period. _delta_log and other hidden files and directories\n"
	"(names starting with _ or .) are never touched, except _change_data and\n"
	"lakesync's own abandoned temporary files. Deleted paths are printed, one\n"
	"a line.\n"
	"\n"
	"options:\n"
	"  --retention-hours H  retention period (default: the table's\n"
	"                       delta.deletedFileRetentionDuration, else 168 = 7 days)\n"
	"  --force              allow a retention shorter than the table's: files that\n"
	"                       running readers or writers still use may be deleted\n"
	"  --dry-run            print what would be deleted, delete nothing\n"
	"  --help               this text\n";

static void
print_path(void *ctx, const char *path, uint64_t size)
{
	(void) ctx, (void) size;
	printf("%s\n", path);
}

static int
cmd_vacuum(int argc, char **argv)
{
	const char *table = NULL;
	dl_vacuum_options o;
	dl_vacuum_options_init(&o);
	for (int i = 1; i < argc; i++) {
		const char *v;
		int r;
		if (cli_is_help(argv[i])) {
			fputs(vacuum_help, stdout);
			return LK_EXIT_OK;
		} else if ((r = cli_opt_value(argc, argv, &i, "--retention-hours", &v)) != 0) {
			char *end;
			errno = 0;
			double h = r < 0 ? -1 : strtod(v, &end);
			if (r < 0 || errno || end == v || *end || !(h >= 0) || h > 1e9)
				return usage_error("vacuum", "--retention-hours needs a number of hours, not \"%s\"",
								   r < 0 ? "" : v);
			o.retention_ms = (int64_t) llround(h * 3600000.0);
		} else if (!strcmp(argv[i], "--dry-run")) {
			o.dry_run = true;
		} else if (!strcmp(argv[i], "--force")) {
			o.force = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("vacuum", "unknown option \"%s\"", argv[i]);
		} else if (!table) {
			table = argv[i];
		} else {
			return usage_error("vacuum", "unexpected argument \"%s\"", argv[i]);
		}
	}
	if (!table)
		return usage_error("vacuum", "%sa TABLE is required", "");
	st_store st;
	lk_error err;
	lk_error_clear(&err);
	if (!open_store(table, &st, &err))
		return fail(&err);
	o.on_file = print_path;
	dl_vacuum_result r;
	bool ok = dl_vacuum(&st, &o, &r, &err);
	st_store_close(&st);
	if (!ok)
		return fail(&err);
	fprintf(stderr, "vacuum%s: %s %" PRId64 " files (%" PRId64 " bytes)%s; kept %" PRId64
			" unreferenced files younger than the retention period\n",
			o.dry_run ? " (dry run)" : "", o.dry_run ? "would delete" : "deleted",
			r.files_deleted, r.bytes_deleted,
			r.dirs_deleted ? " and empty directories" : "", r.files_kept);
	return LK_EXIT_OK;
}

int
cli_delta_maint_main(int argc, char **argv)
{
	if (argc < 1)
		return LK_EXIT_USAGE;
	if (!strcmp(argv[0], "checkpoint"))
		return cmd_checkpoint(argc, argv);
	if (!strcmp(argv[0], "optimize"))
		return cmd_optimize(argc, argv);
	if (!strcmp(argv[0], "vacuum"))
		return cmd_vacuum(argc, argv);
	fprintf(stderr, "lakesync delta: unknown maintenance command \"%s\"\n", argv[0]);
	return LK_EXIT_USAGE;
}
