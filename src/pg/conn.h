/*
 * conn.h — libpq connections for Lakehouse Sync (DESIGN §3, §7), prefix `pgc_`.
 *
 * Opens a connection from a libpq DSN (URI or key=value; PG* environment
 * variables and .pgpass work through libpq), optionally in
 * replication=database mode, and pins the session settings every text value
 * is parsed with.  Also: SQL helpers that report the server's message,
 * SQLSTATE and detail through lk_error (never a password), the prerequisite
 * checks of a pipeline, publication and slot management, and the catalog
 * description of a table's columns.
 *
 * Every SQL helper here uses the simple query protocol with literals quoted
 * by libpq, so it also works on a replication=database connection (whose
 * walsender refuses the extended protocol).
 *
 * Errors: LK_ERR_IO when the connection is broken or could not be opened
 * (the caller may reconnect with backoff), LK_ERR_PG for an error the
 * server reported (conn->sqlstate holds its SQLSTATE), LK_ERR_NOT_FOUND for
 * a missing table, LK_ERR_UNSUPPORTED for a server that is too old or
 * misconfigured, LK_ERR_INVALID for bad arguments.
 */
#ifndef LK_PG_CONN_H
#define LK_PG_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "common/arena.h"
#include "common/error.h"

/* Oldest server lakesync supports: TID range scans and pgoutput streaming
 * (proto_version 2) need PostgreSQL 14. */
#define PGC_MIN_SERVER_VERSION 140000

typedef struct pgc_conn {
	PGconn *pg;              /* owned; closed by pgc_close() */
	int server_version;      /* PQserverVersion(), e.g. 150004 */
	bool replication;        /* opened with replication=database */
	char sqlstate[6];        /* SQLSTATE of the last server error, "" if none */
	char *dsn_redacted;      /* owned; the DSN with its password masked */
	bool streamed;           /* START_REPLICATION ran on it (pgr_start):
							    the walsender will not stream again */
	bool broken;             /* an error said the connection is lost */
} pgc_conn;

/* Open a connection.  With `replication`, the connection is opened with
 * replication=database (walsender that also accepts SQL).  After
 * connecting, the session settings are pinned: DateStyle=ISO,
 * TimeZone=UTC, IntervalStyle=iso_8601, extra_float_digits=3,
 * bytea_output=hex, client_encoding=UTF8, application_name=lakesync.
 * Fails with LK_ERR_UNSUPPORTED on a server older than 14.
 * Returns NULL on failure; caller frees with pgc_close(). */
pgc_conn *pgc_connect(const char *dsn, bool replication, lk_error *err);

/* Close the connection and free c (NULL is fine). */
void pgc_close(pgc_conn *c);

/* True when the connection is broken: libpq says so, or the server ended
 * the session (SQLSTATE 08xxx, 57P01-57P03).  The caller should close it
 * and reconnect. */
bool pgc_is_broken(const pgc_conn *c);

/* Fails with LK_ERR_UNSUPPORTED (naming the version and the minimum) when
 * version_num (PQserverVersion form, 150004) is older than 14.  Pure. */
bool pgc_check_server_version(int version_num, lk_error *err);

/* Copy of dsn with any password masked as "********": the `password`
 * keyword of a key=value string (quoted or not) and, in a URI, the
 * password of the user info and a `password=` query parameter.  Never
 * fails; returns a malloc'd string the caller frees with free(). */
char *pgc_dsn_redact(const char *dsn);

/* Run a command (any statement; rows, if any, are discarded). */
bool pgc_exec(pgc_conn *c, const char *sql, lk_error *err);

/* Run a query that returns rows.  Returns NULL on failure; caller frees the
 * result with PQclear(). */
PGresult *pgc_query(pgc_conn *c, const char *sql, lk_error *err);

/* Fill err from a failed result (the server's message, SQLSTATE, detail and
 * hint) with `context` ("could not create publication \"p\"") in front, and
 * remember the SQLSTATE in c->sqlstate.  res may be NULL (then the
 * connection's error message is used).  Returns false. */
bool pgc_error_from_result(pgc_conn *c, const PGresult *res,
						   const char *context, lk_error *err);

/* "quoted" identifier / 'quoted' literal of s (PQescapeIdentifier /
 * PQescapeLiteral, so E'' is used when s has a backslash).  Returns NULL on
 * failure (invalid encoding); the result is owned by arena a. */
char *pgc_quote_ident(pgc_conn *c, lk_arena *a, const char *s, lk_error *err);
char *pgc_quote_literal(pgc_conn *c, lk_arena *a, const char *s, lk_error *err);

/* ---- table names ------------------------------------------------------ */

typedef struct pgc_table_name {
	const char *schema;      /* catalog spelling (case as stored) */
	const char *name;
} pgc_table_name;

/* Parse "schema.table" as SQL does: each part is either "double quoted"
 * (kept as is, "" for a quote) or unquoted (ASCII-downcased); without a
 * schema, "public".  Pure; strings are owned by arena a. */
bool pgc_table_name_parse(const char *text, lk_arena *a, pgc_table_name *out,
						  lk_error *err);

/* ---- prerequisites ---------------------------------------------------- */

/* Checks the server can serve a logical replication pipeline: wal_level
 * is logical, `new_slots` more replication slots are free
 * (max_replication_slots minus existing slots), a WAL sender is free
 * (max_wal_senders minus the running ones), and the role has REPLICATION
 * or is superuser.  On failure, err->msg lists every failed check with the
 * setting to change (LK_ERR_UNSUPPORTED). */
bool pgc_check_replication(pgc_conn *c, int new_slots, lk_error *err);

typedef struct pgc_table_info {
	uint32_t relid;          /* pg_class oid */
	char relkind;            /* 'r' table, 'p' partitioned table */
	char replident;          /* relreplident: 'd' default, 'n' nothing,
							    'f' full, 'i' index */
	bool has_pk;
	/* True when updates and deletes carry an old key: a PK under
	 * REPLICA IDENTITY DEFAULT, or FULL, or USING INDEX.  False means
	 * updates and deletes fail on the source while the table is
	 * published; history mode may still accept it (inserts only). */
	bool has_identity;
} pgc_table_info;

/* For each of the n tables, check it exists and is an ordinary or
 * partitioned table, and fill infos[i].  A missing table fails with
 * LK_ERR_NOT_FOUND naming every missing table; a table without primary key
 * or replica identity is not an error (see has_pk / has_identity). */
bool pgc_check_tables(pgc_conn *c, const pgc_table_name *tables, size_t n,
					  pgc_table_info *infos, lk_error *err);

/* ---- publications and slots ------------------------------------------- */

/* Create publication `pub` FOR TABLE <tables> when it does not exist;
 * otherwise ALTER PUBLICATION ... ADD TABLE for the tables it lacks (a
 * FOR ALL TABLES publication already has them).  *created (may be NULL)
 * tells which happened. */
bool pgc_publication_ensure(pgc_conn *c, const char *pub,
							const pgc_table_name *tables, size_t n,
							bool *created, lk_error *err);

/* DROP PUBLICATION IF EXISTS. */
bool pgc_publication_drop(pgc_conn *c, const char *pub, lk_error *err);

typedef struct pgc_slot_info {
	bool exists;
	bool logical;
	bool active;             /* a walsender is streaming from it */
	int active_pid;          /* 0 when inactive */
	char plugin[64];         /* "pgoutput" */
	char database[64];
	uint64_t restart_lsn;    /* 0 when null */
	uint64_t confirmed_flush_lsn; /* 0 when null */
} pgc_slot_info;

/* Look slot `name` up in pg_replication_slots.  A missing slot is not an
 * error: info->exists is false. */
bool pgc_slot_info_get(pgc_conn *c, const char *name, pgc_slot_info *info,
					   lk_error *err);

/* pg_drop_replication_slot(name).  A missing slot is fine when
 * if_exists.  An active slot fails (LK_ERR_PG, SQLSTATE 55006). */
bool pgc_slot_drop(pgc_conn *c, const char *name, bool if_exists,
				   lk_error *err);

/* ---- columns ---------------------------------------------------------- */

typedef struct pgc_column {
	int attnum;              /* pg_attribute.attnum (1-based, gaps for dropped) */
	const char *name;
	uint32_t type_oid;       /* declared type (may be a domain) */
	int32_t typmod;          /* declared typmod, -1 when none */
	const char *type_name;   /* pg_type.typname of type_oid */
	char typtype;            /* of type_oid: b base, c composite, d domain,
							    e enum, p pseudo, r range, m multirange */
	bool not_null;
	bool is_pk;
	int pk_pos;              /* 1-based position in the PK, 0 if not in it */
	char generated;          /* attgenerated: '\0' or 's' (stored); pgoutput
							    does not send generated columns */
	/* The declared type with domains removed (recursively); equal to the
	 * declared type when it is not a domain.  base_typmod is the domain's
	 * typtypmod when the column's own typmod is -1. */
	uint32_t base_oid;
	int32_t base_typmod;
	const char *base_name;
	char base_typtype;
	char base_category;      /* pg_type.typcategory: 'A' array, 'N' numeric... */
	/* When the base type is an array: its element type (with domains
	 * removed again) and the declared number of dimensions.  attndims is
	 * what CREATE TABLE said; PostgreSQL does not enforce it, so values
	 * may have any number of dimensions (0 when unknown). */
	uint32_t elem_oid;       /* 0 when not an array */
	const char *elem_name;
	char elem_typtype;
	int ndims;
} pgc_column;

typedef struct pgc_table_def {
	uint32_t relid;
	int ncols;
	pgc_column *cols;        /* in attnum order, dropped columns left out */
	int npk;                 /* number of PK columns (0 without PK) */
} pgc_table_def;

/* Describe the live columns of a table.  Everything is owned by arena a.
 * A missing table fails with LK_ERR_NOT_FOUND. */
bool pgc_table_columns(pgc_conn *c, const pgc_table_name *t, lk_arena *a,
					   pgc_table_def *out, lk_error *err);

#endif
