/*
 * pgoutput.h — decoder and encoder of the pgoutput logical replication
 * messages (protocol versions 1–4) and of the CopyBoth replication-stream
 * framing around them (XLogData, primary keepalive, standby status update).
 *
 * Wire layouts: see the comment at the top of pgoutput.c.
 *
 * Ownership.  pgo_decode() and pgo_decode_copy() never copy message bytes:
 * every string (names, prefixes, GIDs) and every tuple value points into the
 * buffer that was decoded, so the decoded struct is valid only while that
 * buffer is.  Strings are NUL-terminated in the buffer itself (the wire
 * format terminates them); tuple values are NOT NUL-terminated (use
 * pgo_value.len).  The few arrays a message needs (relation columns, tuple
 * columns, truncated relation oids) are allocated in the lk_arena the caller
 * passes; they live until that arena is reset.
 *
 * The encoders (pgo_write_*) append the exact bytes PostgreSQL sends to an
 * lk_buf the caller owns; they exist for tests, fuzz seeds and (for the
 * standby status update) the replication client.
 *
 * Timestamps are microseconds since the PostgreSQL epoch (2000-01-01 UTC),
 * as on the wire; pgo_time_to_unix_micros() converts.  LSNs are uint64.
 */
#ifndef LK_PG_PGOUTPUT_H
#define LK_PG_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"

/* Message type bytes (the first byte of every pgoutput message). */
enum {
	PGO_BEGIN = 'B',
	PGO_COMMIT = 'C',
	PGO_ORIGIN = 'O',
	PGO_RELATION = 'R',
	PGO_TYPE = 'Y',
	PGO_INSERT = 'I',
	PGO_UPDATE = 'U',
	PGO_DELETE = 'D',
	PGO_TRUNCATE = 'T',
	PGO_MESSAGE = 'M',
	PGO_STREAM_START = 'S',
	PGO_STREAM_STOP = 'E',
	PGO_STREAM_COMMIT = 'c',
	PGO_STREAM_ABORT = 'A',
	PGO_BEGIN_PREPARE = 'b',
	PGO_PREPARE = 'P',
	PGO_COMMIT_PREPARED = 'K',
	PGO_ROLLBACK_PREPARED = 'r',
	PGO_STREAM_PREPARE = 'p',
};

/* CopyData message types of the replication stream. */
enum {
	PGO_COPY_XLOGDATA = 'w',        /* server → client */
	PGO_COPY_KEEPALIVE = 'k',       /* server → client */
	PGO_COPY_STANDBY_STATUS = 'r',  /* client → server */
};

/* Seconds between 1970-01-01 and 2000-01-01, in microseconds. */
#define PGO_EPOCH_OFFSET_MICROS INT64_C(946684800000000)

/* Relation column flag: the column is part of the replica identity key. */
#define PGO_COLUMN_KEY 1
/* Message 'M' flag: transactional. */
#define PGO_MESSAGE_TRANSACTIONAL 1
/* Truncate option bits. */
#define PGO_TRUNCATE_CASCADE 1
#define PGO_TRUNCATE_RESTART_IDENTITY 2

/* One column of a TupleData part. */
typedef struct pgo_value {
	char kind;               /* 'n' null, 'u' unchanged TOAST, 't' text, 'b' binary */
	uint32_t len;            /* 't'/'b': byte length; 0 otherwise */
	const uint8_t *data;     /* 't'/'b': points into the message; NULL otherwise */
} pgo_value;

typedef struct pgo_tuple {
	int ncols;
	pgo_value *cols;         /* ncols entries, in the caller's arena */
} pgo_tuple;

typedef struct pgo_begin {
	uint64_t final_lsn;
	int64_t commit_time;
	uint32_t xid;
} pgo_begin;

typedef struct pgo_commit {
	uint8_t flags;           /* currently unused (0) */
	uint64_t commit_lsn;
	uint64_t end_lsn;
	int64_t commit_time;
} pgo_commit;

typedef struct pgo_origin {
	uint64_t origin_lsn;
	const char *name;        /* points into the message */
} pgo_origin;

typedef struct pgo_column {
	uint8_t flags;           /* PGO_COLUMN_KEY */
	const char *name;        /* points into the message */
	uint32_t type_oid;
	int32_t typmod;
} pgo_column;

/* The first three fields of every data message: inside a stream (between
 * Stream Start and Stream Stop) the wire carries the (sub)transaction xid
 * right after the type byte. */
typedef struct pgo_relation {
	bool has_xid;
	uint32_t xid;
	uint32_t relid;
	const char *nspname;     /* "" for pg_catalog; points into the message */
	const char *relname;     /* points into the message */
	char replident;          /* 'd' default, 'n' nothing, 'f' full, 'i' index */
	int ncols;
	pgo_column *cols;        /* ncols entries, in the caller's arena */
} pgo_relation;

typedef struct pgo_typemsg {
	bool has_xid;
	uint32_t xid;
	uint32_t type_oid;
	const char *nspname;     /* points into the message */
	const char *typname;     /* points into the message */
} pgo_typemsg;

typedef struct pgo_insert {
	bool has_xid;
	uint32_t xid;
	uint32_t relid;
	pgo_tuple newtup;
} pgo_insert;

typedef struct pgo_update {
	bool has_xid;
	uint32_t xid;
	uint32_t relid;
	char old_kind;           /* 0 (no old tuple), 'K' key or 'O' old tuple */
	pgo_tuple oldtup;        /* valid when old_kind != 0 */
	pgo_tuple newtup;
} pgo_update;

typedef struct pgo_delete {
	bool has_xid;
	uint32_t xid;
	uint32_t relid;
	char old_kind;           /* 'K' key or 'O' old tuple */
	pgo_tuple oldtup;
} pgo_delete;

typedef struct pgo_truncate {
	bool has_xid;
	uint32_t xid;
	uint8_t options;         /* PGO_TRUNCATE_CASCADE | PGO_TRUNCATE_RESTART_IDENTITY */
	int nrelids;
	uint32_t *relids;        /* nrelids entries, in the caller's arena */
} pgo_truncate;

typedef struct pgo_message {
	bool has_xid;
	uint32_t xid;
	uint8_t flags;           /* PGO_MESSAGE_TRANSACTIONAL */
	uint64_t lsn;
	const char *prefix;      /* points into the message */
	uint32_t content_len;
	const uint8_t *content;  /* points into the message */
} pgo_message;

typedef struct pgo_stream_start {
	uint32_t xid;
	uint8_t first_segment;   /* 1 for the first segment of this xid, else 0 */
} pgo_stream_start;

typedef struct pgo_stream_commit {
	uint32_t xid;
	uint8_t flags;
	uint64_t commit_lsn;
	uint64_t end_lsn;
	int64_t commit_time;
} pgo_stream_commit;

typedef struct pgo_stream_abort {
	uint32_t xid;
	uint32_t subxid;
	/* Protocol 4 with parallel streaming only. */
	bool has_abort_info;
	uint64_t abort_lsn;
	int64_t abort_time;
} pgo_stream_abort;

/* Begin Prepare 'b', Prepare 'P', Stream Prepare 'p' and Commit Prepared
 * 'K' share this layout ('b' has no flags byte; for 'K' lsn/end_lsn/time are
 * those of the commit). */
typedef struct pgo_prepare {
	uint8_t flags;
	uint64_t lsn;
	uint64_t end_lsn;
	int64_t time;
	uint32_t xid;
	const char *gid;         /* points into the message */
} pgo_prepare;

typedef struct pgo_rollback_prepared {
	uint8_t flags;
	uint64_t prepare_end_lsn;
	uint64_t rollback_end_lsn;
	int64_t prepare_time;
	int64_t rollback_time;
	uint32_t xid;
	const char *gid;         /* points into the message */
} pgo_rollback_prepared;

/* One decoded pgoutput message; `type` selects the union member. */
typedef struct pgo_msg {
	char type;
	union {
		pgo_begin begin;                     /* 'B' */
		pgo_commit commit;                   /* 'C' */
		pgo_origin origin;                   /* 'O' */
		pgo_relation relation;               /* 'R' */
		pgo_typemsg typ;                     /* 'Y' */
		pgo_insert insert;                   /* 'I' */
		pgo_update update;                   /* 'U' */
		pgo_delete del;                      /* 'D' */
		pgo_truncate truncate;               /* 'T' */
		pgo_message message;                 /* 'M' */
		pgo_stream_start stream_start;       /* 'S' */
		                                     /* 'E' has no body */
		pgo_stream_commit stream_commit;     /* 'c' */
		pgo_stream_abort stream_abort;       /* 'A' */
		pgo_prepare prepare;                 /* 'b', 'P', 'K', 'p' */
		pgo_rollback_prepared rollback;      /* 'r' */
	};
} pgo_msg;

/* Name of a message type for errors ("insert", "stream start", ...);
 * static string, "unknown" for other bytes. */
const char *pgo_msg_name(char type);

/*
 * Decode one pgoutput message (stateless).  `in_stream` says whether the
 * message arrived between Stream Start and Stream Stop (data messages then
 * carry an xid).  Messages newer than `proto_version` (1–4) are refused.
 * Arrays go to `arena`; strings and values point into `data` (see top).
 * On failure returns false and fills err: msg names the problem, where
 * names the message type and the byte offset inside the message (the
 * caller adds the LSN with lk_error_add_where()).
 */
bool pgo_decode_message(const uint8_t *data, size_t len, int proto_version,
						bool in_stream, lk_arena *arena, pgo_msg *out,
						lk_error *err);

/* A decoder that keeps the streaming state itself: Stream Start enters a
 * stream, Stream Stop leaves it, and transaction-control messages are
 * refused inside a stream, as are nested starts and stray stops. */
typedef struct pgo_decoder {
	int proto_version;       /* 1–4, as given to START_REPLICATION */
	bool in_stream;
	uint32_t stream_xid;     /* xid of the open stream */
} pgo_decoder;

void pgo_decoder_init(pgo_decoder *d, int proto_version);
/* Same contract as pgo_decode_message(); updates d on success only. */
bool pgo_decode(pgo_decoder *d, const uint8_t *data, size_t len,
				lk_arena *arena, pgo_msg *out, lk_error *err);

/* Encoders: append the whole message (type byte included) to b.  Data
 * messages write their xid when has_xid is set. */
void pgo_write_begin(lk_buf *b, const pgo_begin *m);
void pgo_write_commit(lk_buf *b, const pgo_commit *m);
void pgo_write_origin(lk_buf *b, const pgo_origin *m);
void pgo_write_relation(lk_buf *b, const pgo_relation *m);
void pgo_write_type(lk_buf *b, const pgo_typemsg *m);
void pgo_write_insert(lk_buf *b, const pgo_insert *m);
void pgo_write_update(lk_buf *b, const pgo_update *m);
void pgo_write_delete(lk_buf *b, const pgo_delete *m);
void pgo_write_truncate(lk_buf *b, const pgo_truncate *m);
void pgo_write_message(lk_buf *b, const pgo_message *m);
void pgo_write_stream_start(lk_buf *b, const pgo_stream_start *m);
void pgo_write_stream_stop(lk_buf *b);
void pgo_write_stream_commit(lk_buf *b, const pgo_stream_commit *m);
void pgo_write_stream_abort(lk_buf *b, const pgo_stream_abort *m);
/* type is one of 'b', 'P', 'K', 'p'. */
void pgo_write_prepare(lk_buf *b, char type, const pgo_prepare *m);
void pgo_write_rollback_prepared(lk_buf *b, const pgo_rollback_prepared *m);
void pgo_write_tuple(lk_buf *b, const pgo_tuple *t);
/* Any message, by m->type (false for an unknown type, nothing written). */
bool pgo_write_msg(lk_buf *b, const pgo_msg *m);

/* ---- replication stream framing (CopyData payloads) ---- */

typedef struct pgo_xlogdata {
	uint64_t start_lsn;      /* WAL position of the start of data */
	uint64_t end_lsn;        /* current end of WAL on the server */
	int64_t send_time;
	size_t len;
	const uint8_t *data;     /* the pgoutput message; points into the input */
} pgo_xlogdata;

typedef struct pgo_keepalive {
	uint64_t wal_end;
	int64_t send_time;
	uint8_t reply_requested; /* 1: reply as soon as possible */
} pgo_keepalive;

typedef struct pgo_standby_status {
	uint64_t write_lsn;      /* last WAL byte + 1 received and written */
	uint64_t flush_lsn;      /* ... flushed */
	uint64_t apply_lsn;      /* ... applied */
	int64_t send_time;
	uint8_t reply_requested;
} pgo_standby_status;

typedef struct pgo_copy_msg {
	char type;               /* 'w', 'k' or 'r' */
	union {
		pgo_xlogdata xlogdata;
		pgo_keepalive keepalive;
		pgo_standby_status status;
	};
} pgo_copy_msg;

/* Decode one CopyData payload of the replication stream.  XLogData's data
 * points into `data`.  Errors name the message and byte offset. */
bool pgo_decode_copy(const uint8_t *data, size_t len, pgo_copy_msg *out,
					 lk_error *err);
/* Header then m->len bytes of m->data. */
void pgo_write_xlogdata(lk_buf *b, const pgo_xlogdata *m);
void pgo_write_keepalive(lk_buf *b, const pgo_keepalive *m);
void pgo_write_standby_status(lk_buf *b, const pgo_standby_status *m);

/* Helpers. */
static inline int64_t
pgo_time_to_unix_micros(int64_t pg_time)
{
	return pg_time + PGO_EPOCH_OFFSET_MICROS;
}
static inline int64_t
pgo_time_from_unix_micros(int64_t unix_micros)
{
	return unix_micros - PGO_EPOCH_OFFSET_MICROS;
}
/* "16/B374D848" into buf (≥ 18 bytes); returns buf. */
char *pgo_lsn_format(uint64_t lsn, char *buf);
/* Parse "X/X" hex; false if malformed. */
bool pgo_lsn_parse(const char *s, uint64_t *lsn);

#endif
