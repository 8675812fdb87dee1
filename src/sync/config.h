/*
 * config.h — the configuration file of `lakesync run` and `lakesync
 * status` (DESIGN §7; documented for operators in docs/config.md), prefix
 * `sy_config_`.
 *
 * An INI file with TOML-style values, parsed here (no dependency):
 *
 *   [lakesync]                          optional: settings of the run
 *   status_file = "/var/lib/lakesync/status.json"
 *
 *   [pipeline.orders]                   Postgres → Delta (sync/capture.h)
 *   source = "postgresql://app@db/app"  or source_env = "PG_DSN"
 *   target = "/lakehouse"
 *   mode = history
 *   tables = public.orders, public.customers     or ["public.orders", ...]
 *   flush_bytes = 128M
 *   flush_interval_ms = 1000
 *   jobs = 4
 *   index_memory = 256M                 key index per mirror table
 *   maintenance = on                    compaction, checkpoints, vacuum
 *
 *   [pipeline.orders.table.public.orders]        per-table settings
 *   mode = history
 *   location = "/lakehouse/public/orders_history"
 *
 *   [synced.daily_stats]                Delta → Postgres (sync/synced_table.h)
 *   source = "/lakehouse/gold/daily_stats"
 *   target = "dbname=app"               or target_env = "APP_DSN"
 *   table = public.daily_stats
 *   mode = continuous
 *   primary_key = day, store_id
 *
 * Lexical rules: '#' or ';' starts a comment (outside quotes); a value is
 * a "double-quoted string" (escapes \" \\ \n \t), a [list, of, "values"],
 * or bare text up to the end of the line (trimmed).  Every key `K_env =
 * NAME` reads K from environment variable NAME (unset: an error).  Unknown
 * sections and keys, repeated keys and sections are errors; every error's
 * `where` names the file and line.  DSNs are kept as given (they may hold
 * passwords): show them only through pgc_dsn_redact().
 */
#ifndef SY_CONFIG_H
#define SY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "sync/synced_table.h"

/* A table of a pipeline. */
typedef struct sy_config_table {
	const char *name;           /* SQL spelling, as written ("public.orders") */
	const char *mode;           /* "history" or "mirror" (pipeline's default) */
	const char *location;       /* Delta table location; NULL = default
								 * (<target>/<schema>/<table>_history, mirror:
								 * <target>/<schema>/<table>) */
	int line;                   /* its [pipeline.P.table.T] section, else
								 * the `tables` line */
} sy_config_table;

/* [pipeline.NAME] */
typedef struct sy_config_pipeline {
	const char *name;           /* names the slot/publication lakesync_NAME */
	const char *source;         /* libpq DSN (may hold a password) */
	const char *target;         /* lakehouse root (path or file:// URI) */
	const char *mode;           /* default mode of its tables */
	sy_config_table *tables;
	int ntables;
	int64_t flush_bytes;        /* 0 = engine default */
	int flush_interval_ms;      /* 0 = engine default */
	int jobs;                   /* snapshot connections, 0 = number of cores */
	int64_t index_memory;       /* per table key index, 0 = engine default */
	bool maintenance;           /* compaction/checkpoints/vacuum (default on) */
	int line;                   /* of the section header */
} sy_config_pipeline;

/* [synced.NAME] */
typedef struct sy_config_synced {
	const char *name;
	const char *source;         /* Delta table URI or path */
	const char *target;         /* libpq DSN of the target database */
	const char *table;          /* target table, SQL spelling */
	sy_mode mode;
	const char **primary_key;
	int npk;
	const char *dedup_by;       /* NULL: duplicate keys are an error */
	sy_column_type *column_types;
	int ncolumn_types;
	int jobs;                   /* 0 = engine default (2) */
	int64_t interval_ms;        /* 0 = engine default (1000) */
	int line;
} sy_config_synced;

typedef struct sy_config_file {
	lk_arena arena;             /* owns everything below */
	const char *path;           /* as given to sy_config_load */
	const char *status_file;    /* where `run` writes its status: the
								 * [lakesync] status_file, else
								 * "<path>.status.json" */
	sy_config_pipeline *pipelines;
	int npipelines;
	sy_config_synced *synced;
	int nsynced;
} sy_config_file;

/* Read and check the file at `path`.  Returns NULL with err filled (where
 * = `file "PATH", line N`) on any error.  Caller frees with
 * sy_config_free(). */
sy_config_file *sy_config_load(const char *path, lk_error *err);

/* The same from text in memory (`path` only names it in messages and
 * derives the default status file).  Caller frees with sy_config_free(). */
sy_config_file *sy_config_parse(const char *text, size_t len, const char *path,
								lk_error *err);

void sy_config_free(sy_config_file *cf);

/* Look up a pipeline / synced table by name; NULL when absent. */
const sy_config_pipeline *sy_config_find_pipeline(const sy_config_file *cf,
												   const char *name);
const sy_config_synced *sy_config_find_synced(const sy_config_file *cf,
											   const char *name);

/* The Delta table location of table t of pipeline pl: t->location, or
 * the engine's default <target>/<schema>/<table>_history (mirror mode:
 * <target>/<schema>/<table>).  NULL when the table name does not parse.
 * malloc'd; caller frees. */
char *sy_config_location(const sy_config_file *cf, const sy_config_pipeline *pl,
						 const sy_config_table *t);

/* "128M", "64k", "1G", "1000" (optionally followed by B or iB) → bytes;
 * false when malformed, ≤ 0 or too large.  Pure. */
bool sy_config_parse_size(const char *s, int64_t *out);

#endif
