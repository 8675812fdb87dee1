/*
 * cli_demo.c — `lakesync demo`: a private PostgreSQL, the canonical use
 * case, and Lakehouse Sync into ./lakehouse, end to end (DESIGN §7).
 *
 * The use case: customers sign up for restock / new-arrival notifications
 * by category and brand.  Tables customers, products and
 * notification_subscriptions are seeded, captured (history mode) into
 * <lakehouse>/public/<table>_history, and a workload thread keeps signing
 * customers up, cancelling, changing and deleting subscriptions and
 * restocking products while the demo measures freshness (PostgreSQL
 * commit → Delta version visible).
 *
 * Phases and threads:
 *
 *   main      1 find the server binaries, initdb a cluster in a temporary
 *               directory (as the `postgres` user when run as root), start
 *               `postgres` as a child in its own session (Ctrl-C reaches
 *               only us; PR_SET_PDEATHSIG stops it if we are killed)
 *             2 schema and seed data
 *             3 start the capture thread; wait for the three snapshots
 *             4 start the workload thread; every 50 ms read the new
 *               commits of each Delta table (sy_delta_watch): a workload
 *               transaction T is visible once the table's txn version
 *               ≥ the WAL insert position read just before T's COMMIT
 *               (one writer: every later transaction commits after it)
 *             5 stop the workload, wait until every table holds the last
 *               transaction, stop the capture, check rows in Delta =
 *               snapshot + inserts + updates + deletes counted by the
 *               workload, print a few rows, stop PostgreSQL, remove the
 *               temporary directory (the lakehouse stays)
 *   capture   sy_capture_run (continuous) until sy_capture_request_stop
 *   workload  one connection, ~rate transactions per second
 *
 * Ctrl-C once: stop the workload, catch up, report, clean up (as at the
 * end of --seconds).  Twice: stop the capture at once too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "common/buf.h"
#include "common/log.h"
#include "delta/commit.h"
#include "delta/log.h"
#include "delta/scan.h"
#include "pg/pgoutput.h"
#include "storage/storage.h"
#include "sync/capture.h"
#include "sync/status.h"
#include "sync/table.h"

static const char demo_help[] =
	"usage: lakesync demo [--seconds N] [--lakehouse DIR] [--rate N]\n"
	"\n"
	"Starts a private PostgreSQL (initdb in a temporary directory, unix socket\n"
	"only, wal_level=logical; as the `postgres` user when run as root), creates\n"
	"the canonical use case — customers signing up for restock and new-arrival\n"
	"notifications by category and brand (customers, products,\n"
	"notification_subscriptions) — and syncs it into Delta history tables with\n"
	"Lakehouse Sync while a workload signs up, cancels, updates and restocks.\n"
	"Prints the phases, rows, Delta versions and freshness (PostgreSQL commit →\n"
	"Delta version visible), and a few rows of the Delta table.  At the end (or\n"
	"on Ctrl-C) PostgreSQL is stopped and its directory removed; the Delta tables\n"
	"stay in the lakehouse directory (a previous demo's tables there are\n"
	"replaced).\n"
	"\n"
	"options:\n"
	"  --seconds N        how long the workload runs (default 20; 0 = until Ctrl-C)\n"
	"  --lakehouse DIR    where the Delta tables go (default ./lakehouse)\n"
	"  --rate N           workload transactions per second (default 25)\n"
	"environment: PG_BIN = the directory of initdb and postgres (default: the\n"
	"newest /usr/lib/postgresql/*/bin, else `pg_config --bindir`)\n"
	"exit codes: 0 ok, 1 error (the Delta row counts are checked against the\n"
	"workload's own counts), 2 usage, 130 interrupted before the end\n";

enum { T_CUSTOMERS, T_PRODUCTS, T_SUBS, NT };
static const char *const table_names[NT] = {"customers", "products",
											"notification_subscriptions"};

static volatile sig_atomic_t g_demo_signals;

static void
on_signal(int sig)
{
	g_demo_signals++;
	if (g_demo_signals >= 2)
		sy_capture_request_stop(sig);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A workload transaction waiting to become visible in one table. */
typedef struct pending {
	uint64_t lsn;               /* WAL insert position just before COMMIT */
	int64_t commit_ms;          /* when COMMIT returned */
} pending;

typedef struct table_state {
	char *location;
	char *app_id;
	sy_delta_watch watch;
	int64_t snapshot_rows;
	/* counted by the workload after each COMMIT (under mu) */
	int64_t inserts, updates, deletes;
	uint64_t last_lsn;          /* of the last transaction that changed it */
	pending *pend;              /* FIFO: [head, n) */
	size_t head, n, cap;
} table_state;

typedef struct demo {
	/* options */
	int seconds;
	const char *lakehouse;
	char *lake_abs;
	int rate;

	/* cluster */
	char pg_bin[PATH_MAX];
	char *dir;                  /* temporary directory (mkdtemp) */
	char *datadir, *sockdir;
	int port;
	pid_t pg_pid;
	bool drop_privs;
	uid_t uid;
	gid_t gid;
	char user[64];
	char *dsn;

	/* run */
	table_state t[NT];
	pthread_mutex_t mu;
	atomic_bool workload_stop;
	bool workload_failed;
	char workload_error[600];
	int64_t txns;
	double *samples;            /* freshness in ms (main thread only) */
	size_t nsamples, capsamples;

	pthread_t capture_thread;
	bool capture_started;
	atomic_bool capture_done;
	bool capture_ok;
	sy_capture_result capture_res;
	lk_error capture_err;
} demo;

/* ---- output ------------------------------------------------------------------------ */

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static const char *
digits(int64_t v, char *buf)
{
	return sy_status_group_digits(v, buf);
}

/* ---- files ------------------------------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	remove(path);
	return 0;
}

static void
rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static bool
is_exec(const char *dir, const char *name)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, X_OK) == 0;
}

/* PG_BIN, the newest /usr/lib/postgresql/N/bin (N ≥ 14), or pg_config. */
static bool
find_pg_bin(demo *d)
{
	const char *env = getenv("PG_BIN");
	if (env && *env) {
		snprintf(d->pg_bin, sizeof(d->pg_bin), "%s", env);
		return is_exec(d->pg_bin, "initdb") && is_exec(d->pg_bin, "postgres");
	}
	int best = 0;
	DIR *dh = opendir("/usr/lib/postgresql");
	if (dh) {
		struct dirent *de;
		while ((de = readdir(dh)) != NULL) {
			int v = atoi(de->d_name);
			char p[PATH_MAX];
			snprintf(p, sizeof(p), "/usr/lib/postgresql/%s/bin", de->d_name);
			if (v >= 14 && v > best && is_exec(p, "initdb") && is_exec(p, "postgres")) {
				best = v;
				snprintf(d->pg_bin, sizeof(d->pg_bin), "%s", p);
			}
		}
		closedir(dh);
	}
	if (best)
		return true;
	FILE *f = popen("pg_config --bindir 2>/dev/null", "r");
	if (f) {
		char line[PATH_MAX];
		if (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(d->pg_bin, sizeof(d->pg_bin), "%s", line);
		}
		pclose(f);
		if (d->pg_bin[0] && is_exec(d->pg_bin, "initdb") && is_exec(d->pg_bin, "postgres"))
			return true;
	}
	return false;
}

static int
free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return 54329;
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	socklen_t len = sizeof(a);
	int port = 54329;
	if (bind(s, (struct sockaddr *) &a, sizeof(a)) == 0 &&
		getsockname(s, (struct sockaddr *) &a, &len) == 0)
		port = ntohs(a.sin_port);
	close(s);
	return port;
}

/* fork/exec argv (argv[0] = full path) as the cluster owner, output to
 * log.  `daemon`: its own session (Ctrl-C does not reach it) and stopped
 * with SIGINT (fast shutdown) should this process die. */
static pid_t
spawn(demo *d, char *const argv[], const char *log, bool daemon)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (d->drop_privs && fchown(fd, d->uid, d->gid) != 0) {
		/* not fatal: root writes it anyway */
	}
	pid_t parent = getpid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(fd);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (daemon)
			setsid();
		if (d->drop_privs) {
			if (initgroups(d->user, d->gid) != 0 || setgid(d->gid) != 0 ||
				setuid(d->uid) != 0) {
				fprintf(stderr, "could not switch to user %s: %s\n", d->user, strerror(errno));
				_exit(126);
			}
		}
		if (daemon) {
			prctl(PR_SET_PDEATHSIG, SIGINT);
			if (getppid() != parent)
				_exit(1);
		}
		if (chdir(d->dir) != 0)
			_exit(126);
		execv(argv[0], argv);
		fprintf(stderr, "could not run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	return pid;
}

static void
print_log_tail(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[1024];
	char ring[20][1024];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		snprintf(ring[n++ % 20], sizeof(ring[0]), "%s", line);
	fclose(f);
	for (int i = n > 20 ? n - 20 : 0; i < n; i++)
		fprintf(stderr, "    %s", ring[i % 20]);
}

/* Run a program to completion; true on exit status 0. */
static bool
run_wait(demo *d, char *const argv[], const char *log)
{
	pid_t pid = spawn(d, argv, log, false);
	if (pid < 0)
		return false;
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- the cluster ------------------------------------------------------------------- */

static bool
pg_start(demo *d)
{
	if (!find_pg_bin(d)) {
		fprintf(stderr, "lakesync demo: no PostgreSQL server binaries (initdb, postgres) "
				"found: install postgresql (`make deps`), or set PG_BIN\n");
		return false;
	}
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("postgres");
		if (!pw) {
			fprintf(stderr, "lakesync demo: run as root, PostgreSQL must run as another user "
					"and there is no `postgres` user (the postgresql package creates it)\n");
			return false;
		}
		d->drop_privs = true;
		d->uid = pw->pw_uid;
		d->gid = pw->pw_gid;
		snprintf(d->user, sizeof(d->user), "%s", pw->pw_name);
	} else {
		struct passwd *pw = getpwuid(geteuid());
		snprintf(d->user, sizeof(d->user), "%s", pw ? pw->pw_name : "postgres");
	}
	const char *tmp = getenv("TMPDIR");
	char tmpl[PATH_MAX];
	snprintf(tmpl, sizeof(tmpl), "%s/lakesync-demo.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "lakesync demo: could not create a temporary directory in %s: %s\n",
				tmp && *tmp ? tmp : "/tmp", strerror(errno));
		return false;
	}
	d->dir = lk_xstrdup(tmpl);
	size_t n = strlen(d->dir) + 16;
	d->datadir = lk_xmalloc(n);
	d->sockdir = lk_xmalloc(n);
	snprintf(d->datadir, n, "%s/data", d->dir);
	snprintf(d->sockdir, n, "%s/sock", d->dir);
	if (chmod(d->dir, 0755) != 0 || mkdir(d->sockdir, 0755) != 0) {
		fprintf(stderr, "lakesync demo: could not prepare %s: %s\n", d->dir, strerror(errno));
		return false;
	}
	if (d->drop_privs && (chown(d->dir, d->uid, d->gid) != 0 ||
						  chown(d->sockdir, d->uid, d->gid) != 0)) {
		fprintf(stderr, "lakesync demo: could not give %s to %s: %s\n", d->dir, d->user,
				strerror(errno));
		return false;
	}
	d->port = free_port();

	char initdb[PATH_MAX + 16], postgres[PATH_MAX + 16], log[PATH_MAX], slog[PATH_MAX];
	snprintf(initdb, sizeof(initdb), "%s/initdb", d->pg_bin);
	snprintf(postgres, sizeof(postgres), "%s/postgres", d->pg_bin);
	snprintf(log, sizeof(log), "%s/initdb.log", d->dir);
	snprintf(slog, sizeof(slog), "%s/server.log", d->dir);
	int64_t t0 = dl_now_ms();
	{
		char *a1[] = {initdb, "-D", d->datadir, "-U", d->user, "-A", "trust", "-E", "UTF8",
					  "--locale=C.UTF-8", "--no-sync", NULL};
		char *a2[] = {initdb, "-D", d->datadir, "-U", d->user, "-A", "trust", "-E", "UTF8",
					  "--locale=C", "--no-sync", NULL};
		if (!run_wait(d, a1, log)) {
			rm_tree(d->datadir);
			if (!run_wait(d, a2, log)) {
				fprintf(stderr, "lakesync demo: initdb failed:\n");
				print_log_tail(log);
				return false;
			}
		}
	}
	char port[16], sockopt[PATH_MAX + 40];
	snprintf(port, sizeof(port), "%d", d->port);
	snprintf(sockopt, sizeof(sockopt), "unix_socket_directories=%s", d->sockdir);
	char *args[] = {postgres, "-D", d->datadir, "-p", port,
					"-c", "listen_addresses=", "-c", sockopt,
					"-c", "wal_level=logical", "-c", "max_replication_slots=10",
					"-c", "max_wal_senders=10", "-c", "fsync=off",
					"-c", "full_page_writes=off", "-c", "shared_buffers=64MB",
					"-c", "max_connections=30", "-c", "logging_collector=off", NULL};
	d->pg_pid = spawn(d, args, slog, true);
	if (d->pg_pid < 0) {
		fprintf(stderr, "lakesync demo: could not start postgres: %s\n", strerror(errno));
		return false;
	}
	size_t dn = strlen(d->sockdir) + strlen(d->user) + 64;
	d->dsn = lk_xmalloc(dn);
	snprintf(d->dsn, dn, "host=%s port=%d user=%s dbname=postgres", d->sockdir, d->port,
			 d->user);
	for (int i = 0;; i++) {
		if (PQping(d->dsn) == PQPING_OK)
			break;
		int st;
		if (waitpid(d->pg_pid, &st, WNOHANG) == d->pg_pid || i > 600 || g_demo_signals) {
			if (waitpid(d->pg_pid, &st, WNOHANG) == d->pg_pid)
				d->pg_pid = 0;
			fprintf(stderr, "lakesync demo: the server did not start:\n");
			print_log_tail(slog);
			return false;
		}
		sleep_ms(100);
	}
	PGconn *c = PQconnectdb(d->dsn);
	PGresult *r = PQexec(c, "SHOW server_version");
	say("[1/5] PostgreSQL %s: private cluster in %s (socket only, port %d%s), ready in "
		"%.1f s\n", PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?", d->dir,
		d->port, d->drop_privs ? ", running as postgres" : "",
		(double) (dl_now_ms() - t0) / 1000.0);
	PQclear(r);
	PQfinish(c);
	return true;
}

static void
pg_stop(demo *d)
{
	if (d->pg_pid > 0) {
		kill(d->pg_pid, SIGINT);       /* fast shutdown */
		int st;
		int64_t t0 = dl_now_ms();
		bool gone = false;
		while (!gone) {
			pid_t w = waitpid(d->pg_pid, &st, WNOHANG);
			if (w == d->pg_pid || (w < 0 && errno != EINTR)) {
				gone = true;
				break;
			}
			int64_t el = dl_now_ms() - t0;
			if (el > 30000) {
				kill(d->pg_pid, SIGKILL);
			} else if (el > 15000) {
				kill(d->pg_pid, SIGQUIT);  /* immediate shutdown */
			}
			sleep_ms(50);
		}
		d->pg_pid = 0;
	}
	if (d->dir) {
		rm_tree(d->dir);
		say("stopped PostgreSQL and removed %s\n", d->dir);
	}
}

/* ---- SQL helpers -------------------------------------------------------------------- */

static bool
exec_ok(PGconn *c, const char *sql, char *errbuf, size_t n)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok && errbuf)
		snprintf(errbuf, n, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

/* Rows a statement changed (PQcmdTuples), -1 on error. */
static int64_t
exec_count(PGconn *c, const char *sql, char *errbuf, size_t n)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int64_t v = -1;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		v = strtoll(PQcmdTuples(r), NULL, 10);
	else if (errbuf)
		snprintf(errbuf, n, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return v;
}

static int64_t
query_int(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int64_t v = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

static const char schema_sql[] =
	"CREATE TABLE customers (\n"
	"  id bigserial PRIMARY KEY,\n"
	"  email text NOT NULL UNIQUE,\n"
	"  name text NOT NULL,\n"
	"  country text NOT NULL,\n"
	"  created_at timestamptz NOT NULL DEFAULT now());\n"
	"CREATE TABLE products (\n"
	"  id bigserial PRIMARY KEY,\n"
	"  sku text NOT NULL UNIQUE,\n"
	"  name text NOT NULL,\n"
	"  category text NOT NULL,\n"
	"  brand text NOT NULL,\n"
	"  price numeric(10,2) NOT NULL,\n"
	"  in_stock boolean NOT NULL,\n"
	"  updated_at timestamptz NOT NULL DEFAULT now());\n"
	"CREATE TABLE notification_subscriptions (\n"
	"  id bigserial PRIMARY KEY,\n"
	"  customer_id bigint NOT NULL REFERENCES customers,\n"
	"  category text NOT NULL,\n"
	"  brand text,                           -- NULL: every brand of the category\n"
	"  kind text NOT NULL CHECK (kind IN ('restock', 'new_arrival')),\n"
	"  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
	"  active boolean NOT NULL DEFAULT true);\n"
	"CREATE INDEX ON notification_subscriptions (category, brand) WHERE active;\n";

#define CATEGORIES "(ARRAY['shoes','jackets','backpacks','watches','headphones','sunglasses'])"
#define BRANDS "(ARRAY['Northwind','Acme','Contoso','Globex','Initech','Umbrella','Stark','Wayne'])"

static const char seed_sql[] =
	"INSERT INTO customers (email, name, country, created_at)\n"
	"SELECT 'customer' || g || '@example.com',\n"
	"       (ARRAY['Ada','Grace','Linus','Barbara','Ken','Margaret','Dennis','Frances'])[1 + g % 8]\n"
	"       || ' ' || (ARRAY['Lovelace','Hopper','Torvalds','Liskov','Thompson','Hamilton',"
	"'Ritchie'])[1 + g % 7],\n"
	"       (ARRAY['FR','DE','US','JP','BR','IN'])[1 + g % 6],\n"
	"       now() - make_interval(hours => g)\n"
	"FROM generate_series(1, 500) g;\n"
	"INSERT INTO products (sku, name, category, brand, price, in_stock)\n"
	"SELECT 'SKU-' || lpad(g::text, 5, '0'),\n"
	"       " BRANDS "[1 + (g * 7) % 8] || ' ' || initcap(" CATEGORIES "[1 + g % 6]) || ' ' || g,\n"
	"       " CATEGORIES "[1 + g % 6], " BRANDS "[1 + (g * 7) % 8],\n"
	"       (5 + (g * 7919) % 20000 / 100.0)::numeric(10,2), g % 4 <> 0\n"
	"FROM generate_series(1, 200) g;\n"
	"INSERT INTO notification_subscriptions (customer_id, category, brand, kind, created_at)\n"
	"SELECT 1 + (g * 37) % 500, " CATEGORIES "[1 + g % 6],\n"
	"       CASE WHEN g % 3 = 0 THEN NULL ELSE " BRANDS "[1 + g % 8] END,\n"
	"       CASE WHEN g % 2 = 0 THEN 'restock' ELSE 'new_arrival' END,\n"
	"       now() - make_interval(mins => g)\n"
	"FROM generate_series(1, 1000) g;\n"
	"UPDATE notification_subscriptions SET active = false WHERE id % 10 = 0;\n";

/* ---- workload ----------------------------------------------------------------------- */

static uint64_t
rnd(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static const char *const categories[] = {"shoes", "jackets", "backpacks", "watches",
										 "headphones", "sunglasses"};
static const char *const brands[] = {"Northwind", "Acme", "Contoso", "Globex", "Initech",
									 "Umbrella", "Stark", "Wayne"};

static void
pend_push(table_state *t, uint64_t lsn, int64_t ms)
{
	if (t->n == t->cap) {
		/* compact, then grow */
		if (t->head > 0) {
			memmove(t->pend, t->pend + t->head, (t->n - t->head) * sizeof(pending));
			t->n -= t->head;
			t->head = 0;
		}
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 256;
			t->pend = lk_xrealloc(t->pend, t->cap * sizeof(pending));
		}
	}
	t->pend[t->n++] = (pending){lsn, ms};
}

static void *
workload_main(void *arg)
{
	demo *d = arg;
	PGconn *c = PQconnectdb(d->dsn);
	char err[512] = "";
	uint64_t seed = 20240501;
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, sizeof(err), "%s", PQerrorMessage(c));
		goto fail;
	}
	int64_t max_customer = query_int(c, "SELECT max(id) FROM customers");
	int64_t max_sub = query_int(c, "SELECT max(id) FROM notification_subscriptions");
	int64_t max_product = query_int(c, "SELECT max(id) FROM products");
	int64_t next_ms = dl_now_ms();
	int64_t period_us = 1000000 / (d->rate > 0 ? d->rate : 1);
	int64_t tick = 0;
	while (!atomic_load(&d->workload_stop)) {
		int64_t ch[NT] = {0}, ins[NT] = {0}, upd[NT] = {0}, del[NT] = {0};
		char sql[1024];
		if (!exec_ok(c, "BEGIN", err, sizeof(err)))
			goto fail;
		uint64_t r = rnd(&seed) % 100;
		int64_t k;
		if (r < 35) {
			/* a customer subscribes to a category (and maybe a brand) */
			const char *brand = rnd(&seed) % 3 ? brands[rnd(&seed) % 8] : NULL;
			char bq[32];
			if (brand)
				snprintf(bq, sizeof(bq), "'%s'", brand);
			else
				snprintf(bq, sizeof(bq), "NULL");
			snprintf(sql, sizeof(sql),
					 "INSERT INTO notification_subscriptions (customer_id, category, brand, "
					 "kind) VALUES (%" PRId64 ", '%s', %s, '%s')",
					 1 + (int64_t) (rnd(&seed) % (uint64_t) max_customer),
					 categories[rnd(&seed) % 6], bq, rnd(&seed) % 2 ? "restock" : "new_arrival");
			if ((k = exec_count(c, sql, err, sizeof(err))) < 0)
				goto fail;
			ins[T_SUBS] += k;
			max_sub++;
		} else if (r < 45) {
			/* a new customer signs up with one to three subscriptions */
			int64_t id = ++max_customer;
			snprintf(sql, sizeof(sql),
					 "INSERT INTO customers (id, email, name, country) VALUES (%" PRId64
					 ", 'new%" PRId64 "@example.com', 'New Customer %" PRId64 "', '%s')",
					 id, id, id, rnd(&seed) % 2 ? "FR" : "US");
			if ((k = exec_count(c, sql, err, sizeof(err))) < 0)
				goto fail;
			ins[T_CUSTOMERS] += k;
			int nsub = 1 + (int) (rnd(&seed) % 3);
			for (int i = 0; i < nsub; i++) {
				snprintf(sql, sizeof(sql),
						 "INSERT INTO notification_subscriptions (customer_id, category, brand, "
						 "kind) VALUES (%" PRId64 ", '%s', '%s', '%s')",
						 id, categories[rnd(&seed) % 6], brands[rnd(&seed) % 8],
						 rnd(&seed) % 2 ? "restock" : "new_arrival");
				if ((k = exec_count(c, sql, err, sizeof(err))) < 0)
					goto fail;
				ins[T_SUBS] += k;
				max_sub++;
			}
		} else if (r < 60) {
			/* a customer cancels a subscription */
			snprintf(sql, sizeof(sql),
					 "UPDATE notification_subscriptions SET active = false WHERE id = %" PRId64
					 " AND active", 1 + (int64_t) (rnd(&seed) % (uint64_t) max_sub));
			if ((k = exec_count(c, sql, err, sizeof(err))) < 0)
				goto fail;
			upd[T_SUBS] += k;
		} else if (r < 70) {
			/* a customer changes what to be told about */
			snprintf(sql, sizeof(sql),
					 "UPDATE notification_subscriptions SET kind = CASE kind WHEN 'restock' "
					 "THEN 'new_arrival' ELSE 'restock' END, brand = '%s', active = true "
					 "WHERE id = %" PRId64, brands[rnd(&seed) % 8],
					 1 + (int64_t) (rnd(&seed) % (uint64_t) max_sub));
			if ((k = exec_count(c, sql, err, sizeof(err))) < 0)
				goto fail;
			upd[T_SUBS] += k;
		} else if (r < 75) {
			/* cancelled subscriptions are purged */
			snprintf(sql, sizeof(sql),
					 "DELETE FROM notification_subscriptions WHERE id = (SELECT id FROM "
					 "notification_subscriptions WHERE NOT active AND id >= %" PRId64
					 " ORDER BY id LIMIT 1)", 1 + (int64_t) (rnd(&seed) % (uint64_t) max_sub));
			if ((k = exec_count(c, sql, err, sizeof(err))) < 0)
				goto fail;
			del[T_SUBS] += k;
		} else if (r < 90) {
			/* a product is restocked (the notifications this triggers are
			 * the lakehouse's job) */
			snprintf(sql, sizeof(sql),
					 "UPDATE products SET in_stock = true, updated_at = now() WHERE id = %" PRId64,
					 1 + (int64_t) (rnd(&seed) % (uint64_t) max_product));
			if ((k = exec_count(c, sql, err, sizeof(err))) < 0)
				goto fail;
			upd[T_PRODUCTS] += k;
		} else {
			/* a product sells out, or its price changes */
			snprintf(sql, sizeof(sql),
					 rnd(&seed) % 2
						 ? "UPDATE products SET in_stock = false, updated_at = now() WHERE id = "
						   "%" PRId64
						 : "UPDATE products SET price = round(price * 1.05, 2), updated_at = "
						   "now() WHERE id = %" PRId64,
					 1 + (int64_t) (rnd(&seed) % (uint64_t) max_product));
			if ((k = exec_count(c, sql, err, sizeof(err))) < 0)
				goto fail;
			upd[T_PRODUCTS] += k;
		}
		PGresult *lr = PQexec(c, "SELECT pg_current_wal_insert_lsn()");
		uint64_t lsn = 0;
		bool lok = PQresultStatus(lr) == PGRES_TUPLES_OK && PQntuples(lr) == 1 &&
				   pgo_lsn_parse(PQgetvalue(lr, 0, 0), &lsn);
		if (!lok)
			snprintf(err, sizeof(err), "%s", PQresultErrorMessage(lr));
		PQclear(lr);
		if (!lok || !exec_ok(c, "COMMIT", err, sizeof(err)))
			goto fail;
		int64_t now = dl_now_ms();
		pthread_mutex_lock(&d->mu);
		for (int i = 0; i < NT; i++) {
			ch[i] = ins[i] + upd[i] + del[i];
			if (!ch[i])
				continue;
			table_state *t = &d->t[i];
			t->inserts += ins[i];
			t->updates += upd[i];
			t->deletes += del[i];
			t->last_lsn = lsn;
			pend_push(t, lsn, now);
		}
		d->txns++;
		pthread_mutex_unlock(&d->mu);
		/* pace: `rate` transactions per second */
		tick++;
		int64_t due = next_ms + tick * period_us / 1000;
		int64_t wait = due - dl_now_ms();
		if (wait > 0)
			sleep_ms((int) wait);
	}
	PQfinish(c);
	return NULL;
fail:
	pthread_mutex_lock(&d->mu);
	d->workload_failed = true;
	snprintf(d->workload_error, sizeof(d->workload_error), "%s", err);
	d->workload_error[strcspn(d->workload_error, "\n")] = '\0';
	pthread_mutex_unlock(&d->mu);
	PQfinish(c);
	return NULL;
}

/* ---- capture ------------------------------------------------------------------------ */

static void *
capture_main(void *arg)
{
	demo *d = arg;
	static const char *const tables[NT] = {"public.customers", "public.products",
										   "public.notification_subscriptions"};
	sy_capture_options o;
	sy_capture_options_init(&o);
	o.source = d->dsn;
	o.target = d->lake_abs;
	o.tables = tables;
	o.ntables = NT;
	o.pipeline = "demo";
	o.jobs = 2;
	o.cfg.flush_interval_ms = 250;
	o.progress_tty = false;
	lk_error_clear(&d->capture_err);
	d->capture_ok = sy_capture_run(&o, &d->capture_res, &d->capture_err);
	atomic_store(&d->capture_done, true);
	return NULL;
}

/* Read new commits of every table; move visible workload transactions
 * into the freshness samples. */
static bool
poll_tables(demo *d, lk_error *err)
{
	for (int i = 0; i < NT; i++) {
		table_state *t = &d->t[i];
		if (!sy_delta_watch_poll(&t->watch, NULL, err))
			return false;
		int64_t tv = t->watch.txn_version;
		pthread_mutex_lock(&d->mu);
		while (t->head < t->n && tv >= 0 && (uint64_t) tv >= t->pend[t->head].lsn) {
			double ms = (double) (t->watch.seen_ms - t->pend[t->head].commit_ms);
			if (d->nsamples == d->capsamples) {
				d->capsamples = d->capsamples ? d->capsamples * 2 : 1024;
				d->samples = lk_xrealloc(d->samples, d->capsamples * sizeof(double));
			}
			d->samples[d->nsamples++] = ms < 0 ? 0 : ms;
			t->head++;
		}
		pthread_mutex_unlock(&d->mu);
	}
	return true;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

static double
quantile(double *v, size_t n, double q)
{
	if (n == 0)
		return 0;
	size_t i = (size_t) (q * (double) (n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static void
freshness_line(demo *d, char *buf, size_t n)
{
	if (d->nsamples == 0) {
		snprintf(buf, n, "freshness: no sample yet");
		return;
	}
	double *s = lk_xmalloc(d->nsamples * sizeof(double));
	memcpy(s, d->samples, d->nsamples * sizeof(double));
	qsort(s, d->nsamples, sizeof(double), cmp_double);
	snprintf(buf, n, "freshness p50 %.2f s, p90 %.2f s, p99 %.2f s, max %.2f s (%zu transactions)",
			 quantile(s, d->nsamples, 0.5) / 1000, quantile(s, d->nsamples, 0.9) / 1000,
			 quantile(s, d->nsamples, 0.99) / 1000, s[d->nsamples - 1] / 1000, d->nsamples);
	free(s);
}

/* ---- showing rows ------------------------------------------------------------------- */

/* A value of row i of column c as display text (JSON without quotes). */
static void
cell(lk_buf *out, const lk_column *c, int64_t i, bool lsn)
{
	if (lk_column_is_null(c, i)) {
		lk_buf_append_str(out, "null");
		return;
	}
	if (lsn) {
		char b[24];
		lk_buf_append_str(out, pgo_lsn_format((uint64_t) LK_COL_VALUES(c, int64_t)[i], b));
		return;
	}
	lk_buf tmp = LK_BUF_INIT;
	fmt_json_value(&tmp, c, i);
	const char *s = lk_buf_cstr(&tmp);
	size_t n = tmp.len;
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
		lk_buf_append(out, s + 1, n - 2);
	else
		lk_buf_append(out, s, n);
	lk_buf_free(&tmp);
}

/* Two rows of each change type from the streaming (not the snapshot) of
 * the subscriptions' history. */
static void
show_rows(demo *d)
{
	static const char *const cols[] = {"id", "customer_id", "category", "brand", "kind",
									   "active", "_change_type", "_commit_lsn",
									   "_commit_timestamp"};
	enum { NC = sizeof(cols) / sizeof(cols[0]) };
	static const char *const kinds[] = {"insert", "update_postimage", "delete"};
	int shown[3] = {0};
	lk_buf lines[3][2];
	memset(lines, 0, sizeof(lines));
	st_store st;
	dl_snapshot *s = NULL;
	dl_scan *sc = NULL;
	lk_error err;
	lk_error_clear(&err);
	if (!st_store_open(&st, d->t[T_SUBS].location, 0, &err))
		return;
	if (!dl_snapshot_open(&st, NULL, &s, &err) || !dl_scan_open(s, &sc, &err)) {
		fprintf(stderr, "lakesync demo: could not read %s: %s\n", d->t[T_SUBS].location,
				err.msg);
		dl_snapshot_free(s);
		st_store_close(&st);
		return;
	}
	lk_batch *b;
	while (dl_scan_next(sc, &b, &err) && b) {
		int idx[NC];
		for (int j = 0; j < NC; j++)
			idx[j] = lk_type_field_index(b->schema, cols[j]);
		int ict = lk_type_field_index(b->schema, "_change_type");
		int ixid = lk_type_field_index(b->schema, "_xid");
		if (ict < 0 || ixid < 0)
			break;
		for (int64_t r = 0; r < b->nrows; r++) {
			if (lk_column_is_null(&b->cols[ixid], r))
				continue;       /* a snapshot row */
			int64_t len;
			const uint8_t *ct = lk_column_bytes(&b->cols[ict], r, &len);
			for (int k = 0; k < 3; k++) {
				if ((size_t) len != strlen(kinds[k]) || memcmp(ct, kinds[k], (size_t) len) ||
					shown[k] >= 2)
					continue;
				lk_buf *o = &lines[k][shown[k]++];
				for (int j = 0; j < NC; j++) {
					if (idx[j] < 0)
						continue;
					lk_buf_printf(o, "%s%s=", j ? " " : "", cols[j]);
					cell(o, &b->cols[idx[j]], r, !strcmp(cols[j], "_commit_lsn"));
				}
			}
		}
	}
	say("\na few rows of %s (history: every change is a row):\n", d->t[T_SUBS].location);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < shown[k]; i++) {
			say("  %s\n", lk_buf_cstr(&lines[k][i]));
			lk_buf_free(&lines[k][i]);
		}
	dl_scan_free(sc);
	dl_snapshot_free(s);
	st_store_close(&st);
}

/* ---- main --------------------------------------------------------------------------- */

static void
stop_capture(demo *d)
{
	if (!d->capture_started)
		return;
	sy_capture_request_stop(SIGTERM);
	pthread_join(d->capture_thread, NULL);
	d->capture_started = false;
}

/* Phases 2–5; returns the exit code.  The caller stops the cluster. */
static int
demo_run(demo *d)
{
	char nb[4][32];
	lk_error err;
	char ebuf[1200];
	PGconn *c = PQconnectdb(d->dsn);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "lakesync demo: %s", PQerrorMessage(c));
		PQfinish(c);
		return LK_EXIT_ERROR;
	}
	char e[512];
	if (!exec_ok(c, schema_sql, e, sizeof(e)) || !exec_ok(c, seed_sql, e, sizeof(e)) ||
		!exec_ok(c, "ANALYZE", e, sizeof(e))) {
		fprintf(stderr, "lakesync demo: could not create the schema: %s", e);
		PQfinish(c);
		return LK_EXIT_ERROR;
	}
	for (int i = 0; i < NT; i++) {
		char q[128];
		snprintf(q, sizeof(q), "SELECT count(*) FROM %s", table_names[i]);
		d->t[i].snapshot_rows = query_int(c, q);
	}
	PQfinish(c);
	say("[2/5] schema: customers (%s), products (%s), notification_subscriptions (%s): "
		"customers subscribe to restock / new-arrival notifications by category and brand\n",
		digits(d->t[T_CUSTOMERS].snapshot_rows, nb[0]),
		digits(d->t[T_PRODUCTS].snapshot_rows, nb[1]),
		digits(d->t[T_SUBS].snapshot_rows, nb[2]));

	/* the lakehouse: a previous demo's tables are replaced */
	bool replaced = false;
	for (int i = 0; i < NT; i++) {
		table_state *t = &d->t[i];
		t->location = sy_table_location(d->lake_abs, "public", table_names[i]);
		size_t n = strlen(table_names[i]) + 32;
		t->app_id = lk_xmalloc(n);
		snprintf(t->app_id, n, "lakesync/demo/public.%s", table_names[i]);
		struct stat stt;
		if (stat(t->location, &stt) == 0) {
			rm_tree(t->location);
			replaced = true;
		}
		if (!sy_delta_watch_open(&t->watch, t->location, t->app_id, &err)) {
			fprintf(stderr, "lakesync demo: %s\n", lk_error_str(&err, ebuf, sizeof(ebuf)));
			return LK_EXIT_ERROR;
		}
	}
	{
		char wd[PATH_MAX];
		snprintf(wd, sizeof(wd), "%s/_lakesync/demo", d->lake_abs);
		rm_tree(wd);
	}
	say("[3/5] Lakehouse Sync: pipeline \"demo\" (slot and publication lakesync_demo) → %s, "
		"history mode%s\n", d->lake_abs, replaced ? " (the previous demo's tables replaced)" : "");
	int64_t t0 = dl_now_ms();
	if (pthread_create(&d->capture_thread, NULL, capture_main, d) != 0) {
		fprintf(stderr, "lakesync demo: could not start the capture thread\n");
		return LK_EXIT_ERROR;
	}
	d->capture_started = true;
	/* wait for the snapshots */
	for (;;) {
		if (!poll_tables(d, &err)) {
			fprintf(stderr, "lakesync demo: %s\n", lk_error_str(&err, ebuf, sizeof(ebuf)));
			return LK_EXIT_ERROR;
		}
		bool all = true;
		for (int i = 0; i < NT; i++)
			all = all && d->t[i].watch.txn_version >= 0;
		if (all)
			break;
		if (atomic_load(&d->capture_done) || g_demo_signals)
			goto capture_ended;
		sleep_ms(50);
	}
	say("      snapshot in %.1f s:", (double) (dl_now_ms() - t0) / 1000.0);
	for (int i = 0; i < NT; i++)
		say(" %s %s rows at lsn %s%s", table_names[i], digits(d->t[i].snapshot_rows, nb[0]),
			pgo_lsn_format((uint64_t) d->t[i].watch.txn_version, nb[1]), i < NT - 1 ? "," : "");
	say("; now streaming\n");

	/* the workload */
	pthread_t wl;
	if (pthread_create(&wl, NULL, workload_main, d) != 0) {
		fprintf(stderr, "lakesync demo: could not start the workload thread\n");
		return LK_EXIT_ERROR;
	}
	if (d->seconds > 0)
		say("[4/5] workload for %d s (~%d transactions/s: sign-ups, cancellations, changes, "
			"purges, restocks); Ctrl-C ends it early\n", d->seconds, d->rate);
	else
		say("[4/5] workload (~%d transactions/s: sign-ups, cancellations, changes, purges, "
			"restocks) until Ctrl-C\n", d->rate);
	int64_t start = dl_now_ms(), last_print = start;
	bool failed = false;
	for (;;) {
		sleep_ms(50);
		if (!poll_tables(d, &err)) {
			fprintf(stderr, "lakesync demo: %s\n", lk_error_str(&err, ebuf, sizeof(ebuf)));
			failed = true;
			break;
		}
		int64_t now = dl_now_ms();
		if (now - last_print >= 2000) {
			last_print = now;
			char fl[200];
			pthread_mutex_lock(&d->mu);
			int64_t txns = d->txns;
			freshness_line(d, fl, sizeof(fl));
			pthread_mutex_unlock(&d->mu);
			say("      %4.0f s  %s transactions, Delta versions %" PRId64 "/%" PRId64 "/%" PRId64
				"  %s\n", (double) (now - start) / 1000.0, digits(txns, nb[0]),
				d->t[0].watch.version, d->t[1].watch.version, d->t[2].watch.version, fl);
		}
		if (d->workload_failed || atomic_load(&d->capture_done) || g_demo_signals ||
			(d->seconds > 0 && now - start >= (int64_t) d->seconds * 1000))
			break;
	}
	atomic_store(&d->workload_stop, true);
	pthread_join(wl, NULL);
	if (d->workload_failed) {
		fprintf(stderr, "lakesync demo: the workload failed: %s\n", d->workload_error);
		failed = true;
	}
	if (atomic_load(&d->capture_done))
		goto capture_ended;

	/* catch up: every table holds the last transaction that changed it */
	say("[5/5] workload stopped after %s transactions; waiting for the lakehouse to catch up\n",
		digits(d->txns, nb[0]));
	int64_t cu0 = dl_now_ms();
	bool caught = false;
	while (!atomic_load(&d->capture_done) && g_demo_signals < 2 && dl_now_ms() - cu0 < 60000) {
		if (!poll_tables(d, &err))
			break;
		caught = true;
		for (int i = 0; i < NT; i++)
			if (d->t[i].last_lsn &&
				(d->t[i].watch.txn_version < 0 ||
				 (uint64_t) d->t[i].watch.txn_version < d->t[i].last_lsn))
				caught = false;
		if (caught)
			break;
		sleep_ms(20);
	}
	stop_capture(d);
	if (!d->capture_ok) {
		fprintf(stderr, "lakesync demo: the capture failed: %s\n",
				lk_error_str(&d->capture_err, ebuf, sizeof(ebuf)));
		return LK_EXIT_ERROR;
	}
	if (!caught) {
		fprintf(stderr, "lakesync demo: the lakehouse did not catch up within 60 s\n");
		failed = true;
	} else {
		say("      caught up in %.2f s after the last transaction\n",
			(double) (dl_now_ms() - cu0) / 1000.0);
	}

	/* report and check */
	say("\n  %-44s %9s %9s %8s %8s %8s %9s\n", "DELTA TABLE (history)", "ROWS", "SNAPSHOT",
		"INSERTS", "UPDATES", "DELETES", "VERSIONS");
	lk_buf machine = LK_BUF_INIT;
	for (int i = 0; i < NT; i++) {
		table_state *t = &d->t[i];
		sy_status_table st;
		memset(&st, 0, sizeof(st));
		lk_arena a;
		lk_arena_init(&a, 0);
		bool ok = sy_status_read_delta(t->location, t->app_id, &st, &a, &err);
		lk_arena_free(&a);
		int64_t expected = t->snapshot_rows + t->inserts + t->updates + t->deletes;
		char nm[80];
		snprintf(nm, sizeof(nm), "public/%s_history", table_names[i]);
		say("  %-44s %9s %9s %8" PRId64 " %8" PRId64 " %8" PRId64 " %9" PRId64 "\n", nm,
			ok ? digits(st.rows, nb[0]) : "?", digits(t->snapshot_rows, nb[1]), t->inserts,
			t->updates, t->deletes, st.delta_version + 1);
		/* the machine-readable lines tests/integration/demo.sh reads */
		lk_buf_printf(&machine, "delta-table %s rows=%" PRId64 " expected=%" PRId64
					  " versions=%" PRId64 " txn_version=%" PRId64 "\n", t->location,
					  ok ? st.rows : -1, expected, st.delta_version + 1, st.txn_version);
		if (!ok || st.rows != expected) {
			fprintf(stderr, "lakesync demo: %s holds %" PRId64 " rows, the workload expects %"
					PRId64 "\n", t->location, ok ? st.rows : -1, expected);
			if (caught)
				failed = true;
		}
	}
	say("  (rows in Delta = snapshot + inserts + updates + deletes counted by the workload:%s)\n",
		failed ? " MISMATCH" : " checked");
	say("\n%s", lk_buf_cstr(&machine));
	lk_buf_free(&machine);
	char fl[200];
	freshness_line(d, fl, sizeof(fl));
	say("\n  %s\n  (PostgreSQL COMMIT returned → the Delta version holding the transaction "
		"was visible; flush interval 250 ms)\n", fl);
	show_rows(d);
	say("\nquery it:\n"
		"  lakesync delta scan %s --limit 5\n"
		"  lakesync delta history %s --limit 5\n"
		"  DuckDB (delta extension): SELECT _change_type, count(*) FROM delta_scan('%s') "
		"GROUP BY 1\n",
		d->t[T_SUBS].location, d->t[T_SUBS].location, d->t[T_SUBS].location);
	if (failed)
		return LK_EXIT_ERROR;
	return g_demo_signals && d->seconds > 0 ? LK_EXIT_INTERRUPTED : LK_EXIT_OK;

capture_ended:
	stop_capture(d);
	if (g_demo_signals && d->capture_ok) {
		say("interrupted\n");
		return LK_EXIT_INTERRUPTED;
	}
	fprintf(stderr, "lakesync demo: the capture stopped: %s\n",
			d->capture_ok ? (d->capture_res.tables_failed
								 ? lk_error_str(&d->capture_res.table_error, ebuf, sizeof(ebuf))
								 : "without an error")
						  : lk_error_str(&d->capture_err, ebuf, sizeof(ebuf)));
	return LK_EXIT_ERROR;
}

int
cli_demo_main(int argc, char **argv)
{
	demo dd;
	demo *d = &dd;
	memset(d, 0, sizeof(*d));
	d->seconds = 20;
	d->lakehouse = "lakehouse";
	d->rate = 25;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(demo_help, stdout);
			return LK_EXIT_OK;
		}
		if (!strcmp(a, "--seconds") && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 0 || v > 86400 * 365) {
				fprintf(stderr, "lakesync demo: invalid --seconds \"%s\"\n", argv[i]);
				return LK_EXIT_USAGE;
			}
			d->seconds = (int) v;
		} else if (!strcmp(a, "--lakehouse") && i + 1 < argc) {
			d->lakehouse = argv[++i];
		} else if (!strcmp(a, "--rate") && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > 100000) {
				fprintf(stderr, "lakesync demo: invalid --rate \"%s\" (1 to 100000)\n", argv[i]);
				return LK_EXIT_USAGE;
			}
			d->rate = (int) v;
		} else {
			fprintf(stderr, "lakesync demo: unexpected argument \"%s\"\nTry `lakesync demo "
					"--help`.\n", a);
			return LK_EXIT_USAGE;
		}
	}
	if (mkdir(d->lakehouse, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "lakesync demo: could not create \"%s\": %s\n", d->lakehouse,
				strerror(errno));
		return LK_EXIT_ERROR;
	}
	char abs[PATH_MAX];
	if (!realpath(d->lakehouse, abs)) {
		fprintf(stderr, "lakesync demo: \"%s\": %s\n", d->lakehouse, strerror(errno));
		return LK_EXIT_ERROR;
	}
	d->lake_abs = lk_xstrdup(abs);
	pthread_mutex_init(&d->mu, NULL);
	atomic_init(&d->workload_stop, false);
	atomic_init(&d->capture_done, false);
	cli_on_stop_signals(on_signal);
	/* the engine's own log lines (warnings and errors) stay on stderr */
	if (!getenv("LAKESYNC_LOG"))
		lk_log_set_level(LK_LOG_WARN);

	say("lakesync demo — PostgreSQL → Delta Lake (Lakehouse Sync), end to end\n");
	int rc = LK_EXIT_ERROR;
	if (pg_start(d))
		rc = demo_run(d);
	stop_capture(d);
	pg_stop(d);
	for (int i = 0; i < NT; i++) {
		sy_delta_watch_close(&d->t[i].watch);
		free(d->t[i].location);
		free(d->t[i].app_id);
		free(d->t[i].pend);
	}
	free(d->samples);
	free(d->dir);
	free(d->datadir);
	free(d->sockdir);
	free(d->dsn);
	free(d->lake_abs);
	pthread_mutex_destroy(&d->mu);
	if (rc == LK_EXIT_OK)
		say("done: the Delta tables stay in %s\n", abs);
	return rc;
}
