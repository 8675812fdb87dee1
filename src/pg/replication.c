/*
 * replication.c — replication commands and the CopyBoth stream (see
 * replication.h).
 *
 * Conversation on a replication=database connection:
 *
 *   client                                   walsender
 *   IDENTIFY_SYSTEM                    ──▶
 *                                      ◀──   systemid | timeline | xlogpos | dbname
 *   CREATE_REPLICATION_SLOT "s" LOGICAL pgoutput (SNAPSHOT 'export')      (15+)
 *   CREATE_REPLICATION_SLOT "s" LOGICAL pgoutput EXPORT_SNAPSHOT          (14)
 *                                      ◀──   slot_name | consistent_point |
 *                                            snapshot_name | output_plugin
 *        (snapshot valid until the next command on this connection)
 *   START_REPLICATION SLOT "s" LOGICAL X/X (proto_version '2',
 *       publication_names '"p"', streaming 'on', messages 'true')
 *                                      ◀──   CopyBothResponse
 *                                      ◀──   CopyData 'w' XLogData (one pgoutput message)
 *                                      ◀──   CopyData 'k' keepalive (reply_requested?)
 *   CopyData 'r' standby status  ──▶                (write/flush/apply LSN, clock)
 *   CopyDone                     ──▶
 *                                      ◀──   CopyDone, CommandComplete, ReadyForQuery
 *
 * CopyData payloads (big-endian; decoded/encoded by pg/pgoutput.c):
 *
 *   'w'  Int64 wal_start  Int64 wal_end  Int64 send_time  Byte[n] pgoutput message
 *   'k'  Int64 wal_end    Int64 send_time  Int8 reply_requested
 *   'r'  Int64 write  Int64 flush  Int64 apply  Int64 client_time  Int8 reply_requested
 *
 * Times are microseconds since 2000-01-01 00:00 UTC.  The walsender ends the
 * connection when it hears nothing for wal_sender_timeout (60 s by
 * default) and asks for a reply (keepalive with reply_requested) after half
 * of it: pgr_next() answers such keepalives at once and sends a status
 * update every status_interval_ms by itself, always with the positions the
 * caller last reported, never further.
 */
#include "pg/replication.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg/pgoutput.h"

struct pgr_stream {
	pgc_conn *c;
	char *copybuf;           /* last PQgetCopyData buffer (PQfreemem) */
	uint64_t received;       /* highest WAL position seen */
	uint64_t write, flush, apply; /* last reported */
	int64_t last_status_ms;  /* monotonic ms of the last status update */
	int status_interval_ms;
	bool server_ended;       /* the server sent CopyDone */
	bool stopped;            /* pgr_stop() done */
};

int64_t
pgr_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000 -
		   PGO_EPOCH_OFFSET_MICROS;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
need_replication(pgc_conn *c, const char *what, lk_error *err)
{
	if (c->replication)
		return true;
	return lk_error_set(err, LK_ERR_INVALID,
						"%s needs a replication connection", what);
}

/* ---- commands --------------------------------------------------------- */

bool
pgr_identify_system(pgc_conn *c, pgr_system *out, lk_error *err)
{
	memset(out, 0, sizeof(*out));
	LK_FORWARD(need_replication(c, "IDENTIFY_SYSTEM", err));
	PGresult *r = pgc_query(c, "IDENTIFY_SYSTEM", err);
	if (!r)
		return false;
	if (PQntuples(r) != 1 || PQnfields(r) < 4) {
		PQclear(r);
		return lk_error_set(err, LK_ERR_CORRUPT,
							"unexpected IDENTIFY_SYSTEM result shape");
	}
	snprintf(out->systemid, sizeof(out->systemid), "%s", PQgetvalue(r, 0, 0));
	out->timeline = atoi(PQgetvalue(r, 0, 1));
	bool ok = pgo_lsn_parse(PQgetvalue(r, 0, 2), &out->xlogpos);
	if (!ok)
		lk_error_set(err, LK_ERR_CORRUPT, "bad xlogpos \"%s\" from IDENTIFY_SYSTEM",
					 PQgetvalue(r, 0, 2));
	snprintf(out->dbname, sizeof(out->dbname), "%s", PQgetvalue(r, 0, 3));
	PQclear(r);
	return ok;
}

bool
pgr_slot_name_check(const char *name, lk_error *err)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 63)
		return lk_error_set(err, LK_ERR_INVALID,
							"replication slot name must have 1 to 63 characters");
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
			return lk_error_set(err, LK_ERR_INVALID,
								"invalid replication slot name \"%s\": only lower "
								"case letters, digits and underscores are allowed",
								name);
	}
	return true;
}

bool
pgr_create_slot(pgc_conn *c, const char *slot, pgr_slot *out, lk_error *err)
{
	char sql[160];

	memset(out, 0, sizeof(*out));
	LK_FORWARD(need_replication(c, "CREATE_REPLICATION_SLOT", err));
	LK_FORWARD(pgr_slot_name_check(slot, err));
	/* the name is [a-z0-9_]{1,63}: quoting it needs no escaping */
	snprintf(sql, sizeof(sql),
			 c->server_version >= 150000
				 ? "CREATE_REPLICATION_SLOT \"%s\" LOGICAL pgoutput (SNAPSHOT 'export')"
				 : "CREATE_REPLICATION_SLOT \"%s\" LOGICAL pgoutput EXPORT_SNAPSHOT",
			 slot);
	PGresult *r = PQexec(c->pg, sql);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		char ctx[128];
		snprintf(ctx, sizeof(ctx), "could not create replication slot \"%s\"", slot);
		pgc_error_from_result(c, r, ctx, err);
		PQclear(r);
		return false;
	}
	if (PQntuples(r) != 1 || PQnfields(r) < 4) {
		PQclear(r);
		return lk_error_set(err, LK_ERR_CORRUPT,
							"unexpected CREATE_REPLICATION_SLOT result shape");
	}
	snprintf(out->slot_name, sizeof(out->slot_name), "%s", PQgetvalue(r, 0, 0));
	bool ok = pgo_lsn_parse(PQgetvalue(r, 0, 1), &out->consistent_point);
	if (!ok)
		lk_error_set(err, LK_ERR_CORRUPT, "bad consistent_point \"%s\"",
					 PQgetvalue(r, 0, 1));
	snprintf(out->snapshot_name, sizeof(out->snapshot_name), "%s",
			 PQgetisnull(r, 0, 2) ? "" : PQgetvalue(r, 0, 2));
	snprintf(out->output_plugin, sizeof(out->output_plugin), "%s",
			 PQgetisnull(r, 0, 3) ? "" : PQgetvalue(r, 0, 3));
	PQclear(r);
	c->sqlstate[0] = '\0';
	return ok;
}

/* "name" with " doubled */
static void
append_ident(lk_buf *b, const char *s)
{
	lk_buf_append_byte(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			lk_buf_append_byte(b, '"');
		lk_buf_append_byte(b, (uint8_t) *s);
	}
	lk_buf_append_byte(b, '"');
}

/* 'text' with ' doubled (the replication grammar has no backslash escapes) */
static void
append_literal(lk_buf *b, const char *s, size_t n)
{
	lk_buf_append_byte(b, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			lk_buf_append_byte(b, '\'');
		lk_buf_append_byte(b, (uint8_t) s[i]);
	}
	lk_buf_append_byte(b, '\'');
}

bool
pgr_build_start_command(lk_buf *out, const char *slot, uint64_t start_lsn,
						const pgr_start_opts *opts, int server_version,
						lk_error *err)
{
	char lsn[18];
	int proto = opts->proto_version;
	int max_proto = server_version >= 160000 ? 4 : server_version >= 150000 ? 3 : 2;

	LK_FORWARD(pgr_slot_name_check(slot, err));
	if (opts->npublications < 1 || !opts->publications)
		return lk_error_set(err, LK_ERR_INVALID,
							"START_REPLICATION needs at least one publication");
	if (proto == 0)
		proto = server_version >= 160000 ? 4 : 2;
	if (proto < 1 || proto > max_proto)
		return lk_error_set(err, LK_ERR_UNSUPPORTED,
							"pgoutput proto_version %d is not supported by "
							"this server (at most %d)", proto, max_proto);
	if (opts->streaming && proto < 2)
		return lk_error_set(err, LK_ERR_INVALID,
							"streaming needs pgoutput proto_version 2 or later");

	lk_buf names = LK_BUF_INIT;
	for (int i = 0; i < opts->npublications; i++) {
		const char *p = opts->publications[i];
		if (!p || !*p) {
			lk_buf_free(&names);
			return lk_error_set(err, LK_ERR_INVALID, "empty publication name");
		}
		if (i)
			lk_buf_append_byte(&names, ',');
		append_ident(&names, p);
	}
	lk_buf_printf(out, "START_REPLICATION SLOT ");
	append_ident(out, slot);
	lk_buf_printf(out, " LOGICAL %s (proto_version '%d', publication_names ",
				  pgo_lsn_format(start_lsn, lsn), proto);
	append_literal(out, (const char *) names.data, names.len);
	lk_buf_free(&names);
	if (opts->streaming)
		lk_buf_append_str(out, ", streaming 'on'");
	if (opts->messages)
		lk_buf_append_str(out, ", messages 'true'");
	lk_buf_append_byte(out, ')');
	lk_buf_cstr(out);
	return true;
}

/* ---- the stream ------------------------------------------------------- */

static bool
conn_lost(pgr_stream *s, const char *what, lk_error *err)
{
	char ctx[128];
	snprintf(ctx, sizeof(ctx), "replication connection lost while %s", what);
	pgc_error_from_result(s->c, NULL, ctx, err);
	err->code = LK_ERR_IO;
	s->c->broken = true;
	return false;
}

static bool
send_status(pgr_stream *s, bool reply_requested, lk_error *err)
{
	lk_buf b = LK_BUF_INIT;
	pgo_standby_status st = {
		.write_lsn = s->write,
		.flush_lsn = s->flush,
		.apply_lsn = s->apply,
		.send_time = pgr_now(),
		.reply_requested = reply_requested ? 1 : 0,
	};
	pgo_write_standby_status(&b, &st);
	int rc = PQputCopyData(s->c->pg, (const char *) b.data, (int) b.len);
	lk_buf_free(&b);
	if (rc != 1 || PQflush(s->c->pg) != 0)
		return conn_lost(s, "sending a status update", err);
	s->last_status_ms = mono_ms();
	return true;
}

pgr_stream *
pgr_start(pgc_conn *c, const char *slot, uint64_t start_lsn,
		  const pgr_start_opts *opts, lk_error *err)
{
	lk_buf cmd = LK_BUF_INIT;

	LK_FORWARD_NULL(need_replication(c, "START_REPLICATION", err));
	if (c->streamed) {
		lk_error_set(err, LK_ERR_INVALID, "this connection already streamed: "
					 "open a new replication connection to stream again");
		return NULL;
	}
	if (!pgr_build_start_command(&cmd, slot, start_lsn, opts, c->server_version,
								 err)) {
		lk_buf_free(&cmd);
		return NULL;
	}
	PGresult *r = PQexec(c->pg, (const char *) cmd.data);
	lk_buf_free(&cmd);
	if (!r || PQresultStatus(r) != PGRES_COPY_BOTH) {
		char ctx[128];
		snprintf(ctx, sizeof(ctx), "could not start replication from slot \"%s\"",
				 slot);
		pgc_error_from_result(c, r, ctx, err);
		PQclear(r);
		return NULL;
	}
	PQclear(r);
	c->sqlstate[0] = '\0';
	c->streamed = true;

	pgr_stream *s = lk_xcalloc(1, sizeof(*s));
	s->c = c;
	s->received = start_lsn;
	s->status_interval_ms = opts->status_interval_ms > 0 ? opts->status_interval_ms
														 : 10000;
	s->last_status_ms = mono_ms();
	return s;
}

/* Read the server's final result after its CopyDone: PGR_END, or an error
 * (the server's, or connection loss). */
static pgr_result
server_ended(pgr_stream *s, lk_error *err)
{
	s->server_ended = true;
	PGresult *r = PQgetResult(s->c->pg);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_COMMAND_OK;
	if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR ||
		st == PGRES_BAD_RESPONSE) {
		pgc_error_from_result(s->c, r, "replication stream ended with an error", err);
		PQclear(r);
		return PGR_ERROR;
	}
	PQclear(r);
	if (PQstatus(s->c->pg) == CONNECTION_BAD) {
		conn_lost(s, "receiving", err);
		return PGR_ERROR;
	}
	return PGR_END;
}

pgr_result
pgr_next(pgr_stream *s, int timeout_ms, pgr_msg *msg, lk_error *err)
{
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	memset(msg, 0, sizeof(*msg));
	if (s->copybuf) {
		PQfreemem(s->copybuf);
		s->copybuf = NULL;
	}
	if (s->stopped || s->server_ended) {
		lk_error_set(err, LK_ERR_INVALID, "replication stream already ended");
		return PGR_ERROR;
	}
	for (;;) {
		int64_t now = mono_ms();
		if (now - s->last_status_ms >= s->status_interval_ms &&
			!send_status(s, false, err))
			return PGR_ERROR;

		char *buf = NULL;
		int n = PQgetCopyData(s->c->pg, &buf, 1);
		if (n > 0) {
			pgo_copy_msg cm;
			s->copybuf = buf;
			if (!pgo_decode_copy((const uint8_t *) buf, (size_t) n, &cm, err)) {
				char lsn[18];
				lk_error_add_where(err, "after WAL position %s",
								   pgo_lsn_format(s->received, lsn));
				return PGR_ERROR;
			}
			if (cm.type == PGO_COPY_XLOGDATA) {
				msg->kind = PGR_XLOGDATA;
				msg->wal_start = cm.xlogdata.start_lsn;
				msg->wal_end = cm.xlogdata.end_lsn;
				msg->send_time = cm.xlogdata.send_time;
				msg->data = cm.xlogdata.data;
				msg->len = cm.xlogdata.len;
				if (msg->wal_start > s->received)
					s->received = msg->wal_start;
				if (msg->wal_end > s->received)
					s->received = msg->wal_end;
				return PGR_MESSAGE;
			}
			if (cm.type == PGO_COPY_KEEPALIVE) {
				msg->kind = PGR_KEEPALIVE;
				msg->wal_end = cm.keepalive.wal_end;
				msg->send_time = cm.keepalive.send_time;
				msg->reply_requested = cm.keepalive.reply_requested != 0;
				if (msg->wal_end > s->received)
					s->received = msg->wal_end;
				if (msg->reply_requested && !send_status(s, false, err))
					return PGR_ERROR;
				return PGR_MESSAGE;
			}
			lk_error_set(err, LK_ERR_CORRUPT,
						 "unexpected replication message '%c' from the server",
						 cm.type);
			return PGR_ERROR;
		}
		if (n == -1)
			return server_ended(s, err);
		if (n < -1) {
			/* libpq could not read the stream: treat as lost */
			conn_lost(s, "receiving", err);
			return PGR_ERROR;
		}

		/* nothing complete buffered: wait for the socket (a zero wait still
		 * reads what has arrived) */
		now = mono_ms();
		int64_t wait = deadline - now;
		if (wait < 0)
			wait = 0;
		int64_t to_status = s->last_status_ms + s->status_interval_ms - now;
		if (to_status < wait)
			wait = to_status < 0 ? 0 : to_status;
		struct pollfd pfd = {.fd = PQsocket(s->c->pg), .events = POLLIN};
		if (pfd.fd < 0) {
			conn_lost(s, "waiting", err);
			return PGR_ERROR;
		}
		int pr = poll(&pfd, 1, (int) wait);
		if (pr < 0 && errno != EINTR) {
			lk_error_set(err, LK_ERR_IO, "could not wait for the replication "
						 "socket: %s", strerror(errno));
			return PGR_ERROR;
		}
		if (pr > 0) {
			if (!PQconsumeInput(s->c->pg)) {
				conn_lost(s, "receiving", err);
				return PGR_ERROR;
			}
			continue;
		}
		if (pr == 0 && mono_ms() >= deadline)
			return PGR_TIMEOUT;
	}
}

bool
pgr_send_feedback(pgr_stream *s, uint64_t write, uint64_t flush,
				  uint64_t apply, bool reply_requested, lk_error *err)
{
	if (s->stopped || s->server_ended)
		return lk_error_set(err, LK_ERR_INVALID, "replication stream already ended");
	if (write > s->write)
		s->write = write;
	if (flush > s->flush)
		s->flush = flush;
	if (apply > s->apply)
		s->apply = apply;
	return send_status(s, reply_requested, err);
}

uint64_t
pgr_stream_received(const pgr_stream *s)
{
	return s->received;
}

uint64_t
pgr_stream_flushed(const pgr_stream *s)
{
	return s->flush;
}

/* Wait until PQgetResult() will not block, at most until deadline. */
static bool
wait_result(pgr_stream *s, int64_t deadline, lk_error *err)
{
	while (PQisBusy(s->c->pg)) {
		int64_t wait = deadline - mono_ms();
		if (wait <= 0)
			return lk_error_set(err, LK_ERR_IO,
								"timed out ending the replication stream");
		struct pollfd pfd = {.fd = PQsocket(s->c->pg), .events = POLLIN};
		int pr = poll(&pfd, 1, (int) wait);
		if (pr < 0 && errno != EINTR)
			return lk_error_set(err, LK_ERR_IO, "could not wait for the "
								"replication socket: %s", strerror(errno));
		if (pr > 0 && !PQconsumeInput(s->c->pg))
			return conn_lost(s, "ending the stream", err);
	}
	return true;
}

bool
pgr_stop(pgr_stream *s, int timeout_ms, lk_error *err)
{
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	bool ok = true;

	if (s->copybuf) {
		PQfreemem(s->copybuf);
		s->copybuf = NULL;
	}
	if (s->stopped)
		return true;
	s->stopped = true;
	if (!s->server_ended) {
		if (PQputCopyEnd(s->c->pg, NULL) != 1 || PQflush(s->c->pg) != 0)
			return conn_lost(s, "ending the stream", err);
		/* drain what the server sent before it saw our CopyDone */
		for (;;) {
			char *buf = NULL;
			int n = PQgetCopyData(s->c->pg, &buf, 1);
			if (n > 0) {
				PQfreemem(buf);
				continue;
			}
			if (n == -1)
				break;
			if (n < -1)
				return conn_lost(s, "ending the stream", err);
			int64_t wait = deadline - mono_ms();
			if (wait <= 0)
				return lk_error_set(err, LK_ERR_IO,
									"timed out ending the replication stream");
			struct pollfd pfd = {.fd = PQsocket(s->c->pg), .events = POLLIN};
			int pr = poll(&pfd, 1, (int) wait);
			if (pr < 0 && errno != EINTR)
				return lk_error_set(err, LK_ERR_IO, "could not wait for the "
									"replication socket: %s", strerror(errno));
			if (pr > 0 && !PQconsumeInput(s->c->pg))
				return conn_lost(s, "ending the stream", err);
		}
	}
	/* results until NULL; a server that ended first waits for our CopyDone */
	for (int guard = 0; guard < 16; guard++) {
		if (!wait_result(s, deadline, err))
			return false;
		PGresult *r = PQgetResult(s->c->pg);
		if (!r)
			return ok;
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COPY_IN || st == PGRES_COPY_BOTH) {
			PQclear(r);
			if (PQputCopyEnd(s->c->pg, NULL) != 1 || PQflush(s->c->pg) != 0)
				return conn_lost(s, "ending the stream", err);
			continue;
		}
		if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE) {
			ok = pgc_error_from_result(s->c, r, "replication stream ended with "
									   "an error", err);
		}
		PQclear(r);
	}
	return lk_error_set(err, LK_ERR_INTERNAL,
						"too many results after the replication stream");
}

void
pgr_stream_free(pgr_stream *s)
{
	if (!s)
		return;
	if (s->copybuf)
		PQfreemem(s->copybuf);
	free(s);
}
