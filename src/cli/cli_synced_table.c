/*
 * cli_synced_table.c — `lakesync synced-table`: a Delta table kept as a
 * read-only PostgreSQL table (DESIGN §4, §7; src/sync/synced_table.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/arena.h"
#include "common/log.h"
#include "sync/synced_table.h"

static const char usage_text[] =
	"usage: lakesync synced-table --source URI --target DSN --table SCHEMA.TABLE\n"
	"                             --mode snapshot|triggered|continuous [options]\n\n"
	"Keeps a Delta table as a read-only PostgreSQL table.\n\n"
	"  --source URI            the Delta table (path or file:// URI)\n"
	"  --target DSN            libpq connection string of the target database\n"
	"  --table SCHEMA.TABLE    the target table (SQL spelling; \"Quoted\" keeps case)\n"
	"  --mode MODE             snapshot: load the whole table into a shadow table and\n"
	"                            swap it in atomically (full refresh)\n"
	"                          triggered: apply the Delta versions since the last sync,\n"
	"                            one transaction per version (first run: a snapshot)\n"
	"                          continuous: triggered, then poll the log\n"
	"  --as-of V|TIMESTAMP     snapshot of a past version, or of the version current at\n"
	"                          a time (2024-05-01T12:00:00Z, 2024-05-01 12:00:00+02)\n"
	"  --primary-key a,b       key columns (required by triggered and continuous)\n"
	"  --dedup-by COLUMN       duplicate keys in the source: keep the row with the\n"
	"                          greatest COLUMN (default: duplicates are an error)\n"
	"  --column-type NAME=TYPE PostgreSQL type of a column (repeatable), e.g.\n"
	"                          id=uuid, payload=json\n"
	"  --jobs N                COPY connections of a snapshot (default 2)\n"
	"  --interval-ms N         continuous: poll interval (default 1000)\n"
	"  --until-version N       continuous: stop once version N is applied\n"
	"  -v, --verbose           progress on stderr\n\n"
	"The last applied version is stored in lakesync.synced_tables in the same\n"
	"transaction as the rows. SIGINT/SIGTERM stop continuous mode between versions.\n"
	"exit codes: 0 ok, 1 error, 2 usage, 3 bad data (e.g. duplicate keys),\n"
	"4 unsupported (e.g. a schema change that needs --mode snapshot), 5 conflict\n";

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void) sig;
	stop_flag = 1;
}

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "lakesync synced-table: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry `lakesync synced-table --help`.\n");
	return LK_EXIT_USAGE;
}

static bool
parse_i64(const char *s, int64_t *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char) (*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* "YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z|±HH[:MM]]" → ms since the epoch
 * (no zone: UTC). */
static bool
parse_time_ms(const char *s, int64_t *ms)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
		!digits(&p, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return false;
	if (*p == ' ' || *p == 'T') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return false;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return false;
			if (*p == '.') {
				p++;
				int n = 0;
				while (isdigit((unsigned char) *p)) {
					if (n < 3)
						frac = frac * 10 + (*p - '0');
					n++;
					p++;
				}
				if (n == 0)
					return false;
				for (; n < 3; n++)
					frac *= 10;
			}
		}
	}
	int64_t off = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
		if (!digits(&p, 2, &oh))
			return false;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char) *p) && !digits(&p, 2, &om))
			return false;
		off = sign * (oh * 3600 + om * 60);
	}
	if (*p || h > 23 || mi > 59 || sec > 60)
		return false;
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - off) * 1000 + frac;
	return true;
}

/* Split "a,b,c" into arena strings. */
static const char **
split_list(lk_arena *a, const char *s, int *n)
{
	int cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	const char **out = lk_arena_zalloc(a, sizeof(char *) * (size_t) (cap + 1));
	*n = 0;
	const char *start = s;
	for (const char *p = s;; p++) {
		if (*p == ',' || *p == '\0') {
			if (p > start)
				out[(*n)++] = lk_arena_strndup(a, start, (size_t) (p - start));
			if (!*p)
				break;
			start = p + 1;
		}
	}
	return out;
}

int
cli_synced_table_main(int argc, char **argv)
{
	sy_options o;
	sy_options_init(&o);
	lk_arena a;
	lk_arena_init(&a, 0);
	sy_column_type *cts = lk_arena_zalloc(&a, sizeof(sy_column_type) * (size_t) (argc + 1));
	int ncts = 0;
	const char *mode = NULL;
	int rc = LK_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			fputs(usage_text, stdout);
			lk_arena_free(&a);
			return LK_EXIT_OK;
		}
		if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
			lk_log_set_level(LK_LOG_INFO);
			continue;
		}
		if (!strcmp(arg, "--debug")) {
			lk_log_set_level(LK_LOG_DEBUG);
			continue;
		}
		bool known = !strcmp(arg, "--source") || !strcmp(arg, "--target") ||
					 !strcmp(arg, "--table") || !strcmp(arg, "--mode") ||
					 !strcmp(arg, "--as-of") || !strcmp(arg, "--primary-key") ||
					 !strcmp(arg, "--dedup-by") || !strcmp(arg, "--column-type") ||
					 !strcmp(arg, "--jobs") || !strcmp(arg, "--interval-ms") ||
					 !strcmp(arg, "--until-version");
		if (!known) {
			rc = usage_error(arg[0] == '-' ? "unknown option \"%s\"" : "unexpected argument \"%s\"",
							 arg);
			goto out;
		}
		if (!val) {
			rc = usage_error("%s needs a value", arg);
			goto out;
		}
		i++;
		if (!strcmp(arg, "--source")) {
			o.source = val;
		} else if (!strcmp(arg, "--target")) {
			o.target_dsn = val;
		} else if (!strcmp(arg, "--table")) {
			o.table = val;
		} else if (!strcmp(arg, "--mode")) {
			mode = val;
			if (!sy_mode_parse(val, &o.mode)) {
				rc = usage_error("unknown --mode \"%s\" (snapshot, triggered or continuous)", val);
				goto out;
			}
		} else if (!strcmp(arg, "--as-of")) {
			int64_t v;
			if (parse_i64(val, &v) && v >= 0) {
				o.as_of_version = v;
			} else if (parse_time_ms(val, &o.as_of_ms)) {
				o.has_as_of_ms = true;
			} else {
				rc = usage_error("invalid --as-of \"%s\" (a version or a timestamp)", val);
				goto out;
			}
		} else if (!strcmp(arg, "--primary-key")) {
			o.primary_key = split_list(&a, val, &o.npk);
			if (o.npk == 0) {
				rc = usage_error("empty --primary-key \"%s\"", val);
				goto out;
			}
		} else if (!strcmp(arg, "--dedup-by")) {
			o.dedup_by = val;
		} else if (!strcmp(arg, "--column-type")) {
			const char *eq = strchr(val, '=');
			if (!eq || eq == val || !eq[1]) {
				rc = usage_error("invalid --column-type \"%s\" (NAME=TYPE)", val);
				goto out;
			}
			cts[ncts].name = lk_arena_strndup(&a, val, (size_t) (eq - val));
			cts[ncts].sql_type = eq + 1;
			ncts++;
		} else if (!strcmp(arg, "--jobs")) {
			int64_t v;
			if (!parse_i64(val, &v) || v < 1 || v > 64) {
				rc = usage_error("invalid --jobs \"%s\" (1 to 64)", val);
				goto out;
			}
			o.jobs = (int) v;
		} else if (!strcmp(arg, "--interval-ms")) {
			if (!parse_i64(val, &o.interval_ms) || o.interval_ms < 1) {
				rc = usage_error("invalid --interval-ms \"%s\"", val);
				goto out;
			}
		} else if (!strcmp(arg, "--until-version")) {
			if (!parse_i64(val, &o.until_version) || o.until_version < 0) {
				rc = usage_error("invalid --until-version \"%s\"", val);
				goto out;
			}
		}
	}
	if (!o.source || !o.target_dsn || !o.table || !mode) {
		rc = usage_error("%s", "--source, --target, --table and --mode are required");
		goto out;
	}
	o.column_types = cts;
	o.ncolumn_types = ncts;
	o.stop = &stop_flag;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	sy_result res;
	lk_error err;
	if (!sy_synced_table_run(&o, &res, &err)) {
		lk_log_error(&err);
		rc = cli_exit_for(&err);
		goto out;
	}
	printf("synced %s to version %" PRId64, o.table, res.version);
	if (res.snapshot_loaded)
		printf(" (snapshot: %" PRId64 " rows)", res.rows_loaded);
	if (o.mode != SY_MODE_SNAPSHOT)
		printf(" (%" PRId64 " versions applied, %" PRId64 " rows changed)", res.versions_applied,
			   res.rows_changed);
	printf("\n");
out:
	lk_arena_free(&a);
	return rc;
}
