/*
 * replication.h — the streaming replication protocol over a
 * replication=database connection (DESIGN §3), prefix `pgr_`.
 *
 *   pgr_identify_system   IDENTIFY_SYSTEM
 *   pgr_create_slot       CREATE_REPLICATION_SLOT "s" LOGICAL pgoutput
 *                         (SNAPSHOT 'export'): consistent point + snapshot
 *   pgr_start             START_REPLICATION SLOT "s" LOGICAL X/X (options)
 *   pgr_next              next XLogData / keepalive, bounded wait
 *   pgr_send_feedback     Standby status update ('r')
 *   pgr_stop              CopyDone; the connection can be reused
 *
 * One stream per connection; nothing here is thread-safe.
 *
 * Errors: LK_ERR_IO means the connection is lost (socket closed, server
 * shut down or terminated the walsender): the caller drops the connection
 * and reconnects with backoff, restarting from its last flushed LSN.
 * LK_ERR_PG is an error the server reported on a live connection (the
 * SQLSTATE is in conn->sqlstate; 55006 = slot in use by another process,
 * also worth a retry).  LK_ERR_CORRUPT is a malformed CopyData message.
 */
#ifndef LK_PG_REPLICATION_H
#define LK_PG_REPLICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "pg/conn.h"

/* LSN text (X/X) is parsed and formatted by pgo_lsn_parse() /
 * pgo_lsn_format() of pg/pgoutput.h, and the CopyData framing ('w', 'k',
 * 'r') is pgo_decode_copy() / pgo_write_standby_status(): this module only
 * drives the connection. */

/* Microseconds since 2000-01-01 00:00 UTC (the Postgres epoch) now. */
int64_t pgr_now(void);

/* ---- commands --------------------------------------------------------- */

typedef struct pgr_system {
	char systemid[32];       /* decimal, as the server prints it */
	int timeline;
	uint64_t xlogpos;        /* current WAL flush position */
	char dbname[64];
} pgr_system;

/* IDENTIFY_SYSTEM on a replication connection. */
bool pgr_identify_system(pgc_conn *c, pgr_system *out, lk_error *err);

typedef struct pgr_slot {
	char slot_name[64];
	uint64_t consistent_point;
	char snapshot_name[64];  /* "" when no snapshot was exported */
	char output_plugin[64];
} pgr_slot;

/* True for a valid slot name: 1..63 of [a-z0-9_] (PostgreSQL's rule).
 * Pure. */
bool pgr_slot_name_check(const char *name, lk_error *err);

/* CREATE_REPLICATION_SLOT "slot" LOGICAL pgoutput with an exported
 * snapshot (SNAPSHOT 'export' on 15+, EXPORT_SNAPSHOT on 14).
 *
 * The snapshot in out->snapshot_name is usable by other connections
 * (`SET TRANSACTION SNAPSHOT 'name'` as the first statement of a
 * REPEATABLE READ transaction, see pgcopy_begin_snapshot) only while
 * this connection stays open and runs no other command: the next
 * command on it (START_REPLICATION included) or closing it destroys the
 * snapshot.  So: create the slot, open the copy transactions on other
 * connections (once they have imported it, they keep it), and only then
 * start streaming here. */
bool pgr_create_slot(pgc_conn *c, const char *slot, pgr_slot *out,
					 lk_error *err);

typedef struct pgr_start_opts {
	/* publication names (at least one), identifiers as stored */
	const char *const *publications;
	int npublications;
	/* pgoutput proto_version; 0 = 2 on PostgreSQL 14/15, 4 on 16+ */
	int proto_version;
	bool streaming;          /* streaming 'on' (large transactions in chunks) */
	bool messages;           /* messages 'true' (pg_logical_emit_message) */
	/* Send a status update at least this often even when nothing was
	 * asked (wal_sender_timeout defaults to 60 s); 0 = 10000. */
	int status_interval_ms;
} pgr_start_opts;

/* Append to out the START_REPLICATION command for slot at start_lsn:
 *   START_REPLICATION SLOT "s" LOGICAL 0/0 (proto_version '2',
 *     publication_names '"a","b"', streaming 'on', messages 'true')
 * Identifiers are double-quoted ("" for a quote) and each option value is a
 * single-quoted literal ('' for a quote), as the replication grammar and
 * pgoutput's identifier-list parser expect.  Pure. */
bool pgr_build_start_command(lk_buf *out, const char *slot, uint64_t start_lsn,
							 const pgr_start_opts *opts, int server_version,
							 lk_error *err);

/* ---- the stream ------------------------------------------------------- */

typedef struct pgr_stream pgr_stream;

typedef enum pgr_msg_kind {
	PGR_XLOGDATA = 'w',
	PGR_KEEPALIVE = 'k',
} pgr_msg_kind;

typedef struct pgr_msg {
	pgr_msg_kind kind;
	/* XLogData: the WAL start of this message, and the server's WAL end
	 * when it was sent.  Keepalive: wal_start 0, wal_end the server's WAL
	 * end. */
	uint64_t wal_start;
	uint64_t wal_end;
	int64_t send_time;       /* server clock, Postgres-epoch microseconds */
	bool reply_requested;    /* keepalive asked for a reply (already sent) */
	/* XLogData payload: one pgoutput message.  Points into the stream's
	 * receive buffer, valid until the next pgr_next()/pgr_stop()/
	 * pgr_stream_free(); not a copy. */
	const uint8_t *data;
	size_t len;
} pgr_msg;

typedef enum pgr_result {
	PGR_ERROR = -1,          /* err filled; LK_ERR_IO = connection lost */
	PGR_TIMEOUT = 0,         /* nothing arrived within timeout_ms */
	PGR_MESSAGE = 1,         /* *msg filled */
	PGR_END = 2,             /* the server ended the stream (CopyDone) */
} pgr_result;

/* START_REPLICATION from start_lsn (0/0 = the slot's confirmed position).
 * The connection stays owned by the caller and must outlive the stream;
 * it is in COPY BOTH mode until pgr_stop().  One stream per connection:
 * after a logical stream ended, the walsender (PostgreSQL 14-17) answers
 * another START_REPLICATION with an immediate end, so this refuses a
 * connection that already streamed (LK_ERR_INVALID): reconnect instead.
 * Returns NULL on failure; caller frees with pgr_stream_free(). */
pgr_stream *pgr_start(pgc_conn *c, const char *slot, uint64_t start_lsn,
					  const pgr_start_opts *opts, lk_error *err);

/* Wait at most timeout_ms (0 = only what is already buffered) for the next
 * message.  A keepalive that asks for a reply is answered here at once
 * with the positions of the last pgr_send_feedback() (never beyond them),
 * and a status update is also sent every status_interval_ms; the
 * keepalive is still returned so the caller sees wal_end. */
pgr_result pgr_next(pgr_stream *s, int timeout_ms, pgr_msg *msg,
					lk_error *err);

/* Report positions: write = received, flush = durable (the slot's
 * confirmed_flush_lsn follows it; never report data that is not durable),
 * apply = applied.  A position lower than the last one reported is raised
 * to it (positions never go back).  Sends now, with the current time. */
bool pgr_send_feedback(pgr_stream *s, uint64_t write, uint64_t flush,
					   uint64_t apply, bool reply_requested, lk_error *err);

/* Highest WAL position seen in the stream (XLogData end or keepalive). */
uint64_t pgr_stream_received(const pgr_stream *s);

/* The last flush position reported to the server. */
uint64_t pgr_stream_flushed(const pgr_stream *s);

/* End the stream: send CopyDone, drain what the server still sends (at
 * most timeout_ms), read the command result.  The connection can then run
 * other commands (SQL, IDENTIFY_SYSTEM, ...) but not stream again (see
 * pgr_start).  The stream stays allocated (free it). */
bool pgr_stop(pgr_stream *s, int timeout_ms, lk_error *err);

/* Free the stream (NULL is fine); does not close the connection. */
void pgr_stream_free(pgr_stream *s);

#endif
