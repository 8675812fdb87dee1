/*
 * storage.h — the object-store interface (prefix `st_`) and its local file
 * system implementation.  Depends on src/common only.
 *
 * A store is rooted at a table URI (`file:///abs/dir` or a plain path).
 * Every object path given to a store is a *decoded* path (no %XX escapes:
 * see st_path_decode) relative to that root, using '/' separators, e.g.
 * "_delta_log/00000000000000000000.json".  A relative path may not contain
 * a ".." segment: nothing outside the root is reachable through it.
 * Absolute paths ("/x/y" or "file:/x/y", "file:///x/y") are refused with
 * LK_ERR_INVALID unless the caller opened the store with
 * ST_ALLOW_ABSOLUTE (Delta add paths and 'p' deletion vectors may be
 * absolute URIs; the caller decides whether to trust them).
 *
 * Operations (all return bool and fill lk_error; `where` names the path):
 *   stat            size and modification time
 *   read_all        whole object into an lk_buf, refusing objects > cap
 *   read_range      n bytes at an offset (a short object is an error)
 *   open_read       a random-access handle (for the Parquet reader)
 *   list            the direct children of a "directory", sorted by
 *                   byte-wise name (what Delta's _delta_log replay needs),
 *                   optionally only names > start_after
 *   put_if_absent   atomic create: LK_ERR_CONFLICT when the object exists
 *                   (the Delta commit primitive)
 *   put             atomic create-or-replace
 *   open_write      streaming write, made visible atomically on commit
 *   remove          delete; LK_ERR_NOT_FOUND when absent
 *
 * Local durability protocol (put_if_absent):
 *   write "<dir>/.<name>.<pid>.<n>.tmp" → fsync(tmp) → link(tmp, name)
 *   (EEXIST → LK_ERR_CONFLICT) → unlink(tmp) → fsync(dir)
 * put replaces link() with rename().  Parent directories are created as
 * needed (inside the root only).
 */
#ifndef ST_STORAGE_H
#define ST_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"

/* st_store_open flags */
#define ST_ALLOW_ABSOLUTE 0x1   /* accept absolute paths / file: URIs */

typedef struct st_stat {
	uint64_t size;
	int64_t mtime_ms;           /* modification time, ms since the epoch */
	bool is_dir;
} st_stat;

typedef struct st_entry {
	const char *name;           /* child name only (no directory part) */
	uint64_t size;
	int64_t mtime_ms;
	bool is_dir;
} st_entry;

/* A random-access handle; same shape as pq_input so the Delta layer can
 * hand it to the Parquet reader.  Close with st_file_close(). */
typedef struct st_file {
	void *ctx;
	uint64_t size;
	int64_t mtime_ms;
	const char *name;           /* the resolved path, for messages */
	bool (*read_at)(void *ctx, uint64_t off, void *buf, size_t n, lk_error *err);
	void (*close)(void *ctx);
} st_file;

/* A streaming writer; st_writer_commit() makes the object visible
 * atomically (if_absent: LK_ERR_CONFLICT when it exists), st_writer_abort()
 * discards it.  Exactly one of the two must be called. */
typedef struct st_writer {
	void *ctx;
	const char *name;
	bool (*write)(void *ctx, const void *buf, size_t n, lk_error *err);
	bool (*commit)(void *ctx, bool if_absent, lk_error *err);
	void (*abort)(void *ctx);
} st_writer;

typedef struct st_ops {
	bool (*stat)(void *ctx, const char *path, st_stat *out, lk_error *err);
	bool (*read_all)(void *ctx, const char *path, uint64_t cap, lk_buf *out,
					 lk_error *err);
	bool (*read_range)(void *ctx, const char *path, uint64_t off, size_t n,
					   void *buf, lk_error *err);
	bool (*open_read)(void *ctx, const char *path, st_file *out, lk_error *err);
	bool (*list)(void *ctx, const char *dir, const char *start_after,
				 lk_arena *a, st_entry **out, size_t *n, lk_error *err);
	bool (*put)(void *ctx, const char *path, const void *data, size_t n,
				bool if_absent, lk_error *err);
	bool (*open_write)(void *ctx, const char *path, st_writer *out,
					   lk_error *err);
	bool (*remove)(void *ctx, const char *path, lk_error *err);
	void (*close)(void *ctx);
} st_ops;

typedef struct st_store {
	const st_ops *ops;
	void *ctx;
	const char *root;           /* canonical root: "/abs/dir" for local */
	int flags;
} st_store;

/* Open a store for `uri`: "file:///abs/dir", "file:/abs/dir", "/abs/dir"
 * or a relative directory path (made absolute against the current
 * directory).  The root need not exist yet (writers create it).  Other
 * schemes ("s3://...") fail with LK_ERR_UNSUPPORTED naming the scheme.
 * Caller releases with st_store_close(). */
bool st_store_open(st_store *st, const char *uri, int flags, lk_error *err);
void st_store_close(st_store *st);

/* Thin dispatchers over st->ops (see the list at the top). */
bool st_stat_object(st_store *st, const char *path, st_stat *out, lk_error *err);
/* out is reset first; on success it holds the whole object. */
bool st_read_all(st_store *st, const char *path, uint64_t cap, lk_buf *out,
				 lk_error *err);
bool st_read_range(st_store *st, const char *path, uint64_t off, size_t n,
				   void *buf, lk_error *err);
bool st_open_read(st_store *st, const char *path, st_file *out, lk_error *err);
void st_file_close(st_file *f);
/* Entries (array and names) are allocated in arena a. A missing directory
 * is LK_ERR_NOT_FOUND. start_after may be NULL. */
bool st_list(st_store *st, const char *dir, const char *start_after,
			 lk_arena *a, st_entry **out, size_t *n, lk_error *err);
bool st_put_if_absent(st_store *st, const char *path, const void *data,
					  size_t n, lk_error *err);
bool st_put(st_store *st, const char *path, const void *data, size_t n,
			lk_error *err);
bool st_open_write(st_store *st, const char *path, st_writer *out,
				   lk_error *err);
bool st_writer_write(st_writer *w, const void *buf, size_t n, lk_error *err);
bool st_writer_commit(st_writer *w, bool if_absent, lk_error *err);
void st_writer_abort(st_writer *w);
bool st_remove(st_store *st, const char *path, lk_error *err);

/* ---- paths ------------------------------------------------------------ */

/* Percent-decode a URI path (RFC 2396 escapes, "%41" → "A"); '+' is kept.
 * A '%' not followed by two hex digits, or an escape decoding to NUL, is
 * LK_ERR_CORRUPT. Result in arena a. */
bool st_path_decode(const char *in, lk_arena *a, char **out, lk_error *err);
/* Percent-encode for a Delta path: every byte except unreserved
 * characters (A-Z a-z 0-9 - _ . ~), '/', and the sub-delimiters
 * ! $ & ' ( ) * + , ; = : @ is written as %XX (upper-case hex).
 * Result in arena a. */
char *st_path_encode(const char *in, lk_arena *a);

/* True when the (decoded) path is absolute: starts with '/' or with a URI
 * scheme ("file:", "s3:"...). */
bool st_path_is_absolute(const char *path);

/* Canonical key of a decoded path for comparisons (Delta log replay):
 * a "file:" URI or "/abs" path under the root becomes the relative path;
 * one outside the root becomes "/abs/path" (authority "//" or
 * "//localhost" dropped); repeated '/' and "./" segments are collapsed in
 * relative paths. Other schemes are returned unchanged. Result in arena a. */
char *st_path_canonical(const st_store *st, const char *path, lk_arena *a);

/* Join dir and name with exactly one '/' between them. Result in arena a. */
char *st_path_join(lk_arena *a, const char *dir, const char *name);

#endif
