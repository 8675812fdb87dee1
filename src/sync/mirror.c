/*
 * mirror.c — mirror mode and the key index of a synced table (see
 * mirror.h and src/sync/README.md "Mirror mode").
 *
 * State of one table between two of its Delta commits (the open commit):
 *
 *   t->batch rows ──── bmap: key bytes → batch row (live rows only)
 *     dead[r]          a row of the batch deleted again before the flush
 *     origin[r]        lineage: the committed row this one replaces
 *     fixups           'u' values to read from (file, row) before the flush
 *   open files         data files written by earlier flushes of the open
 *                      commit (their adds held back): del bitmap, origins
 *   touched files      committed files with rows deleted in the open commit:
 *                      del, cont (deleted by an update: the lineage goes
 *                      on), ended (...whose descendant was deleted later)
 *   key index          key → (file, row) of committed rows and rows of
 *                      open files (sy_pkindex; through sy_mindex for keyed
 *                      tables, whose saved index is caught up from the log)
 *
 * Lineage (Change Data Feed of one commit is its net change): a committed
 * row X deleted by an UPDATE gets `cont`; the new row carries origin X
 * (packed: touched-file number << 40 | row) through further updates; a
 * DELETE of X or of a descendant marks X `ended`.  At the commit, deleted
 * committed rows are update_preimage when cont and not ended, else delete;
 * live new rows are update_postimage when they have an origin, else
 * insert.  Rows inserted and deleted within the commit leave no trace.
 *
 * Invariants:
 *  M1 a key is in at most one place: bmap (pending batch) or the index.
 *  M2 every index entry names a committed file of the table or an open
 *     file; entries of removed files are removed with them.
 *  M3 the index (and the committed-file map) reflect the last Delta
 *     version plus the open commit; when the open commit is dropped
 *     (discard, failed commit) the index is closed unsaved and reopened
 *     from the Delta log when next needed.
 *  M4 no placeholder: a 'u' value comes from the old tuple, the last-image
 *     cache, the pending batch, or is read from the row's data file before
 *     the batch is written; a value found nowhere stops the table.
 */
#include "sync/mirror.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "delta/dv.h"
#include "delta/writer.h"
#include "sync/maint.h"
#include "sync/mindex.h"
#include "sync/pkindex.h"

#define NO_ORIGIN UINT64_MAX
#define ORIGIN_ROW_BITS 40
#define FULL_KEY_MAX 1024       /* longer whole-row keys are hashed */

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
fnv1a(const void *p, size_t n, uint64_t h)
{
	const uint8_t *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

/* ---- key → batch row ----------------------------------------------------- */

typedef struct bment {
	uint64_t hash;
	int64_t row;
	uint32_t off, len;
	uint8_t state;              /* 0 empty, 1 live, 2 deleted */
} bment;

typedef struct bmap {
	bment *e;
	size_t cap, used;           /* used: live + deleted slots */
	size_t live;
	lk_buf keys;
} bmap;

static void
bm_clear(bmap *m)
{
	if (m->e)
		memset(m->e, 0, m->cap * sizeof(bment));
	m->used = m->live = 0;
	lk_buf_reset(&m->keys);
}

static void
bm_free(bmap *m)
{
	free(m->e);
	lk_buf_free(&m->keys);
	memset(m, 0, sizeof(*m));
}

static bment *
bm_slot(bmap *m, const void *k, size_t n, uint64_t h, bool *found)
{
	size_t i = h & (m->cap - 1);
	bment *tomb = NULL;
	for (;;) {
		bment *e = &m->e[i];
		if (e->state == 0) {
			*found = false;
			return tomb ? tomb : e;
		}
		if (e->state == 2) {
			if (!tomb)
				tomb = e;
		} else if (e->hash == h && e->len == n && memcmp(m->keys.data + e->off, k, n) == 0) {
			*found = true;
			return e;
		}
		i = (i + 1) & (m->cap - 1);
	}
}

static void
bm_grow(bmap *m)
{
	size_t oc = m->cap;
	bment *old = m->e;
	m->cap = oc ? oc * 2 : 1024;
	while (m->live * 2 >= m->cap)
		m->cap *= 2;
	m->e = lk_xcalloc(m->cap, sizeof(bment));
	m->used = m->live;
	for (size_t i = 0; i < oc; i++) {
		if (old[i].state != 1)
			continue;
		size_t j = old[i].hash & (m->cap - 1);
		while (m->e[j].state)
			j = (j + 1) & (m->cap - 1);
		m->e[j] = old[i];
	}
	free(old);
}

static int64_t
bm_get(bmap *m, const void *k, size_t n)
{
	if (!m->live)
		return -1;
	bool found;
	bment *e = bm_slot(m, k, n, sy_pkindex_hash(k, n), &found);
	return found ? e->row : -1;
}

static void
bm_put(bmap *m, const void *k, size_t n, int64_t row)
{
	if ((m->used + 1) * 4 >= m->cap * 3)
		bm_grow(m);
	uint64_t h = sy_pkindex_hash(k, n);
	bool found;
	bment *e = bm_slot(m, k, n, h, &found);
	if (found) {
		e->row = row;
		return;
	}
	if (e->state == 0)
		m->used++;
	e->state = 1;
	e->hash = h;
	e->row = row;
	e->off = (uint32_t) m->keys.len;
	e->len = (uint32_t) n;
	lk_buf_append(&m->keys, k, n);
	m->live++;
}

static void
bm_del(bmap *m, const void *k, size_t n)
{
	if (!m->live)
		return;
	bool found;
	bment *e = bm_slot(m, k, n, sy_pkindex_hash(k, n), &found);
	if (found) {
		e->state = 2;
		m->live--;
	}
}

/* ---- committed files: add path → add ------------------------------------- */

typedef struct fent {
	struct fent *next;
	uint64_t hash;
	lk_arena a;                 /* the add's strings */
	dl_add add;                 /* add.path is the key */
	char *dpath;                /* decoded store path */
	size_t tf;                  /* 1 + its touched-file number in the open
								 * commit, 0 when untouched */
} fent;

static uint64_t
str_hash(const char *s)
{
	return fnv1a(s, strlen(s), 1469598103934665603ull);
}


/* ---- per-table state ------------------------------------------------------- */

typedef struct ofile {
	dl_add add;                 /* strings in the commit arena */
	char *dpath;
	uint32_t fid;
	int64_t nrows;
	dl_bitmap del;
	uint64_t *origin;           /* per row, NULL when none has one */
} ofile;

typedef struct tfile {
	fent *fe;
	dl_bitmap del, cont, ended;
} tfile;

typedef struct fixup {
	int64_t row;                /* batch row */
	int col;                    /* Delta column */
	const char *path;           /* add path of the file to read */
	uint64_t srcrow;
	/* resolution (compose) */
	int fetched;
	int64_t frow;
} fixup;

struct sy_mirror {
	sy_table *t;
	/* key */
	char replident;
	int nkey;
	int *key_src;               /* source column of key column k */
	const char **key_names;
	bool full;                  /* REPLICA IDENTITY FULL without a key */
	bool checked;
	lk_arena arena;             /* key types, names */
	lk_type *key_type;
	lk_batch *keyb;
	lk_column *kcols;
	lk_buf key, key2;
	lk_buf pre;                 /* history batch scan: preimage key */
	bool has_pre;
	/* key index */
	sy_mindex *mi;
	sy_pkindex *own;
	bool idx_open;
	bool idx_dirty;             /* changed by the open commit */
	bool hist_failed;           /* history: could not be built this run */
	int64_t saved_ms;
	/* committed files (mirror) */
	fent **fmap;
	size_t fcap, fn;
	bool files_loaded;
	/* the pending batch */
	bmap bm;
	uint8_t *dead;
	uint64_t *origin;
	size_t rcap;
	fixup *fx;
	size_t nfx, capfx;
	lk_arena fxa;               /* the fixups' paths (an index may close
								 * before they are read) */
	/* the open commit (mirror) */
	ofile *of;
	size_t nof, capof;
	tfile *tf;
	size_t ntf, captf;
	bool truncated;
	dl_commit *scratch;
	lk_batch *last_nb;          /* rows of the commit's last file, kept for
								 * its change rows (no read back) */
	size_t last_of;
	lk_arena carena;
	lk_type *cdc_schema;
	int64_t missing;            /* changes of rows the table did not have */
};

static sy_pkindex *
idx_of(sy_mirror *m)
{
	return m->mi ? sy_mindex_pkindex(m->mi) : m->own;
}

static const char *
col_name(const sy_mirror *m, int k)
{
	return m->t->cols[m->key_src[k]].name;
}

/* ---- committed-file map ---------------------------------------------------- */

static fent *
fmap_get(sy_mirror *m, const char *path)
{
	if (!m->fcap)
		return NULL;
	uint64_t h = str_hash(path);
	for (fent *e = m->fmap[h & (m->fcap - 1)]; e; e = e->next)
		if (e->hash == h && strcmp(e->add.path, path) == 0)
			return e;
	return NULL;
}

static void
fent_free(fent *e)
{
	lk_arena_free(&e->a);
	free(e);
}

static void
fmap_del(sy_mirror *m, const char *path)
{
	if (!m->fcap)
		return;
	uint64_t h = str_hash(path);
	fent **pp = &m->fmap[h & (m->fcap - 1)];
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->add.path, path) == 0) {
			fent *e = *pp;
			*pp = e->next;
			fent_free(e);
			m->fn--;
			return;
		}
}

static bool
fmap_put(sy_mirror *m, const dl_add *add, lk_error *err)
{
	if ((m->fn + 1) * 2 > m->fcap) {
		size_t nc = m->fcap ? m->fcap * 2 : 256;
		fent **nt = lk_xcalloc(nc, sizeof(fent *));
		for (size_t i = 0; i < m->fcap; i++)
			for (fent *e = m->fmap[i], *nx; e; e = nx) {
				nx = e->next;
				e->next = nt[e->hash & (nc - 1)];
				nt[e->hash & (nc - 1)] = e;
			}
		free(m->fmap);
		m->fmap = nt;
		m->fcap = nc;
	}
	fmap_del(m, add->path);
	fent *e = lk_xcalloc(1, sizeof(*e));
	lk_arena_init(&e->a, 1024);
	dl_add_copy(&e->a, &e->add, add);
	if (!st_path_decode(add->path, &e->a, &e->dpath, err)) {
		fent_free(e);
		return false;
	}
	e->hash = str_hash(add->path);
	e->next = m->fmap[e->hash & (m->fcap - 1)];
	m->fmap[e->hash & (m->fcap - 1)] = e;
	m->fn++;
	return true;
}

static void
fmap_clear(sy_mirror *m)
{
	for (size_t i = 0; i < m->fcap; i++)
		for (fent *e = m->fmap[i], *nx; e; e = nx) {
			nx = e->next;
			fent_free(e);
		}
	free(m->fmap);
	m->fmap = NULL;
	m->fcap = m->fn = 0;
	m->files_loaded = false;
}

static bool
fmap_load(sy_mirror *m, const dl_snapshot *snap, lk_error *err)
{
	fmap_clear(m);
	for (size_t i = 0; i < snap->nfiles; i++)
		LK_FORWARD(fmap_put(m, &snap->files[i].add, err));
	m->files_loaded = true;
	return true;
}

/* ---- init / check ------------------------------------------------------------ */

static int
source_column(const sy_table *t, const char *name)
{
	for (int i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return i;
	return -1;
}

bool
sy_mirror_init(sy_table *t, const pgc_table_info *info, const pgc_table_def *def,
			   lk_error *err)
{
	sy_mirror *m = lk_xcalloc(1, sizeof(*m));
	t->mirror = m;
	m->t = t;
	lk_arena_init(&m->arena, 0);
	lk_arena_init(&m->carena, 0);
	lk_arena_init(&m->fxa, 0);
	m->replident = info ? info->replident : t->replident;
	int npk = 0;
	for (int i = 0; i < def->ncols; i++)
		if (def->cols[i].is_pk)
			npk++;
	if (npk > 0) {
		m->key_src = lk_arena_alloc(&m->arena, sizeof(int) * (size_t) npk);
		for (int i = 0; i < def->ncols; i++) {
			const pgc_column *pc = &def->cols[i];
			if (!pc->is_pk)
				continue;
			int pos = pc->pk_pos > 0 && pc->pk_pos <= npk ? pc->pk_pos - 1 : m->nkey;
			int c = source_column(t, pc->name);
			if (c < 0) {
				lk_error_set(err, LK_ERR_UNSUPPORTED, "primary key column \"%s\" is a "
							 "generated column, which logical replication does not send",
							 pc->name);
				return lk_error_where(err, "table \"%s\"", t->qualname);
			}
			m->key_src[pos] = c;
			m->nkey++;
		}
		if (m->nkey != npk) {
			lk_error_set(err, LK_ERR_INTERNAL, "primary key positions do not add up");
			return lk_error_where(err, "table \"%s\"", t->qualname);
		}
	}
	return true;
}

bool
sy_mirror_set_identity(sy_table *t, const char *const *cols, int n, lk_error *err)
{
	sy_mirror *m = t->mirror;
	int *src = lk_arena_alloc(&m->arena, sizeof(int) * (size_t) (n + 1));
	for (int i = 0; i < n; i++) {
		src[i] = source_column(t, cols[i]);
		if (src[i] < 0) {
			lk_error_set(err, LK_ERR_UNSUPPORTED, "replica identity column \"%s\" is not "
						 "a replicated column", cols[i]);
			return lk_error_where(err, "table \"%s\"", t->qualname);
		}
	}
	m->key_src = src;
	m->nkey = n;
	m->replident = 'i';
	return true;
}

int
sy_mirror_key_columns(const sy_table *t, const char *const **names)
{
	const sy_mirror *m = t->mirror;
	*names = m ? m->key_names : NULL;
	return m && m->checked ? m->nkey : 0;
}

bool
sy_mirror_check(sy_table *t, lk_error *err)
{
	sy_mirror *m = t->mirror;
	bool mirror = t->mode == SY_TABLE_MIRROR;
	m->checked = false;
	if (m->nkey == 0 && m->replident == 'f' && mirror) {
		/* REPLICA IDENTITY FULL without a key: the whole row */
		m->full = true;
		m->key_src = lk_arena_alloc(&m->arena, sizeof(int) * (size_t) t->ncols);
		for (int i = 0; i < t->ncols; i++)
			m->key_src[i] = i;
		m->nkey = t->ncols;
	}
	if (m->nkey == 0) {
		if (!mirror)
			return true;        /* history: no index of latest images */
		lk_error_set(err, LK_ERR_UNSUPPORTED,
					 "table has no primary key and no replica identity, so mirror mode "
					 "cannot apply its updates and deletes: add a primary key, or run ALTER "
					 "TABLE %s REPLICA IDENTITY FULL (rows are then matched by their whole "
					 "value), or sync it in history mode", t->qualname);
		return lk_error_where(err, "table \"%s\"", t->qualname);
	}
	m->key_type = lk_type_struct(&m->arena, m->nkey);
	m->key_names = lk_arena_alloc(&m->arena, sizeof(char *) * (size_t) m->nkey);
	for (int k = 0; k < m->nkey; k++) {
		const sy_column *c = &t->cols[m->key_src[k]];
		if (lk_type_is_nested(c->conv->type)) {
			if (!mirror) {
				m->nkey = 0;    /* history: no index, as before */
				return true;
			}
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "column \"%s\" (%s) cannot be part of the key that matches rows: "
						 "mirror mode needs a primary key or replica identity of scalar "
						 "columns", c->name, m->full ? "REPLICA IDENTITY FULL" : "key");
			return lk_error_where(err, "table \"%s\"", t->qualname);
		}
		m->key_type->children[k].name = c->name;
		m->key_type->children[k].type = (lk_type *) c->conv->type;
		m->key_type->children[k].nullable = true;
		m->key_type->children[k].field_id = -1;
		m->key_names[k] = c->name;
	}
	if (m->keyb)
		lk_batch_free(m->keyb);
	m->keyb = lk_batch_new(m->key_type);
	free(m->kcols);
	m->kcols = lk_xcalloc((size_t) m->nkey, sizeof(lk_column));
	if (mirror && !t->index_dir) {
		lk_error_set(err, LK_ERR_UNSUPPORTED, "mirror mode needs a target on the local "
					 "file system (its key index lives under <target>/_lakesync)");
		return lk_error_where(err, "table \"%s\"", t->qualname);
	}
	m->checked = true;
	return true;
}

/* ---- keys ------------------------------------------------------------------ */

/* Whole-row keys longer than FULL_KEY_MAX become a tag byte and a 128-bit
 * digest (two independent 64-bit hashes). */
static void
key_finish(sy_mirror *m, lk_buf *out)
{
	if (!m->full || out->len <= FULL_KEY_MAX)
		return;
	uint64_t h1 = sy_pkindex_hash(out->data, out->len);
	uint64_t h2 = fnv1a(out->data, out->len, 0x9e3779b97f4a7c15ull);
	uint64_t n = out->len;
	lk_buf_reset(out);
	lk_buf_append_byte(out, 0xFF);
	lk_buf_append_u64le(out, h1);
	lk_buf_append_u64le(out, h2);
	lk_buf_append_u64le(out, n);
}

/* Key of a decoded tuple (text values). */
static bool
key_from_vals(sy_mirror *m, const sy_rowvals *r, lk_buf *out, lk_error *err)
{
	sy_table *t = m->t;
	lk_batch_reset(m->keyb);
	for (int k = 0; k < m->nkey; k++) {
		int c = m->key_src[k];
		lk_column *col = &m->keyb->cols[k];
		if (!r->present[c] || r->unchanged[c]) {
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "the change does not carry key column \"%s\" (the replica identity "
						 "of the table changed?)", t->cols[c].name);
			return false;
		}
		if (r->v[c].null)
			lk_column_append_null(col);
		else if (!pgt_append_text(t->cols[c].conv, col, t->cols[c].name, r->v[c].p,
								  r->v[c].n, err))
			return false;
	}
	m->keyb->nrows = 1;
	LK_FORWARD(sy_pkindex_key_from_row(m->keyb->cols, m->nkey, 0, out, err));
	key_finish(m, out);
	return true;
}

/* Key of row `row` of a batch in the table's Delta schema. */
static bool
key_from_batch(sy_mirror *m, const lk_batch *b, int64_t row, lk_buf *out, lk_error *err)
{
	for (int k = 0; k < m->nkey; k++)
		m->kcols[k] = b->cols[m->t->cols[m->key_src[k]].delta_index];
	LK_FORWARD(sy_pkindex_key_from_row(m->kcols, m->nkey, row, out, err));
	key_finish(m, out);
	return true;
}

/* ---- locating the current row ---------------------------------------------------- */

enum { LOC_NONE, LOC_BATCH, LOC_OPEN, LOC_COMMITTED, LOC_FILE };

typedef struct loc {
	int kind;
	int64_t row;
	size_t of;                  /* LOC_OPEN */
	fent *fe;                   /* LOC_COMMITTED */
	const char *path;           /* add path (LOC_OPEN, LOC_COMMITTED, LOC_FILE) */
} loc;

static bool ensure_index(sy_mirror *m, lk_error *err);

static bool
locate(sy_mirror *m, const lk_buf *k, loc *out, lk_error *err)
{
	memset(out, 0, sizeof(*out));
	int64_t r = bm_get(&m->bm, k->data, k->len);
	if (r >= 0) {
		out->kind = LOC_BATCH;
		out->row = r;
		return true;
	}
	LK_FORWARD(ensure_index(m, err));
	bool found;
	sy_pkindex_loc pl;
	LK_FORWARD(sy_pkindex_get(idx_of(m), k->data, k->len, &found, &pl, err));
	if (!found) {
		out->kind = LOC_NONE;
		return true;
	}
	out->row = (int64_t) pl.row;
	out->path = pl.path;
	if (m->t->mode != SY_TABLE_MIRROR) {
		out->kind = LOC_FILE;
		return true;
	}
	for (size_t i = 0; i < m->nof; i++)
		if (m->of[i].fid == pl.file_id) {
			out->kind = LOC_OPEN;
			out->of = i;
			out->path = m->of[i].add.path;
			return true;
		}
	out->fe = fmap_get(m, pl.path);
	if (!out->fe) {
		lk_error_set(err, LK_ERR_INTERNAL, "the key index names data file \"%s\", which "
					 "is not in the table (the index under %s is out of date: remove it "
					 "to rebuild it)", pl.path, m->t->index_dir);
		return false;
	}
	out->kind = LOC_COMMITTED;
	out->path = out->fe->add.path;
	return true;
}

/* ---- the pending batch's side arrays ---------------------------------------------- */

static void
rows_reserve(sy_mirror *m, int64_t n)
{
	if ((size_t) n <= m->rcap)
		return;
	size_t nc = m->rcap ? m->rcap : 1024;
	while (nc < (size_t) n)
		nc *= 2;
	m->dead = lk_xrealloc(m->dead, nc);
	m->origin = lk_xrealloc(m->origin, nc * sizeof(uint64_t));
	m->rcap = nc;
}

void
sy_mirror_add_fixup(const sy_table *t, int64_t row, int col, const char *path,
					uint64_t srcrow)
{
	sy_mirror *m = t->mirror;
	if (m->nfx == m->capfx) {
		m->capfx = m->capfx ? m->capfx * 2 : 64;
		m->fx = lk_xrealloc(m->fx, m->capfx * sizeof(fixup));
	}
	/* consecutive fixups mostly name the same file: one copy */
	const char *p = m->nfx && strcmp(m->fx[m->nfx - 1].path, path) == 0
						? m->fx[m->nfx - 1].path
						: lk_arena_strdup(&m->fxa, path);
	m->fx[m->nfx++] = (fixup){.row = row, .col = col, .path = p, .srcrow = srcrow};
}

bool
sy_mirror_find_fixup(const sy_table *t, int64_t row, int col, const char **path,
					 uint64_t *srcrow)
{
	const sy_mirror *m = t->mirror;
	if (!m || !m->nfx)
		return false;
	/* fixups are in (row, col) order: binary search the row */
	size_t lo = 0, hi = m->nfx;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->fx[mid].row < row)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < m->nfx && m->fx[i].row == row; i++)
		if (m->fx[i].col == col) {
			*path = m->fx[i].path;
			*srcrow = m->fx[i].srcrow;
			return true;
		}
	return false;
}

/* ---- reading rows of data files ----------------------------------------------------- */

static bool
layout_get(sy_mirror *m, const dl_layout **l, lk_error *err)
{
	sy_table *t = m->t;
	dl_commit *c;
	if (t->mode == SY_TABLE_MIRROR) {
		if (!m->scratch)
			m->scratch = sy_table_begin_commit(t);
		c = m->scratch;
	} else {
		if (!t->commit)
			t->commit = sy_table_begin_commit(t);
		c = t->commit;
	}
	LK_FORWARD(dl_commit_layout(c, l, err));
	if ((*l)->npart > 0)
		return lk_error_set(err, LK_ERR_UNSUPPORTED, "partitioned Delta tables are not "
							"supported by lakesync sync");
	return true;
}

typedef struct fetch_ctx {
	const dl_layout *l;
	lk_batch *out;
} fetch_ctx;

static bool
fetch_cb(void *ctx, const lk_batch *b, lk_error *err)
{
	(void) err;
	fetch_ctx *f = ctx;
	for (int i = 0; i < f->l->ndata; i++) {
		int li = f->l->data_index[i];
		if (li < f->out->ncols)
			lk_column_append_range(&f->out->cols[li], &b->cols[i], 0, b->nrows);
	}
	f->out->nrows += b->nrows;
	return true;
}

/* Rows of a data file (add path) in the table's Delta schema: only the rows
 * of `only` (NULL: all), minus `deleted` (NULL: none).  Caller frees. */
static lk_batch *
fetch(sy_mirror *m, const char *add_path, const dl_bitmap *only, const dl_bitmap *deleted,
	  lk_error *err)
{
	sy_table *t = m->t;
	const dl_layout *l;
	if (!layout_get(m, &l, err))
		return NULL;
	if (l->logical->nchildren != t->schema->nchildren) {
		lk_error_set(err, LK_ERR_INTERNAL, "the table's schema changed under the open commit");
		return NULL;
	}
	lk_arena a;
	lk_arena_init(&a, 0);
	char *dpath;
	if (!st_path_decode(add_path, &a, &dpath, err)) {
		lk_arena_free(&a);
		return NULL;
	}
	fetch_ctx f = {l, lk_batch_new(t->schema)};
	bool ok = dl_data_file_read(&t->store, l, dpath, deleted, only, fetch_cb, &f, err);
	lk_arena_free(&a);
	if (!ok) {
		lk_batch_free(f.out);
		return NULL;
	}
	/* columns of the table the file does not have come back as nulls from
	 * the reader; make every column as long as the batch */
	for (int j = 0; j < f.out->ncols; j++)
		while (f.out->cols[j].length < f.out->nrows)
			lk_column_append_null(&f.out->cols[j]);
	return f.out;
}

/* ---- composing the batch before it is written ----------------------------------------- */

static const sy_mirror *sort_m;

static int
cmp_fx_src(const void *a, const void *b)
{
	const fixup *x = &sort_m->fx[*(const size_t *) a], *y = &sort_m->fx[*(const size_t *) b];
	int c = strcmp(x->path, y->path);
	if (c)
		return c;
	return x->srcrow < y->srcrow ? -1 : x->srcrow > y->srcrow;
}

/* Read the fixups' values (one read per source file) and build the batch
 * that gets written: rows with pos[r] < 0 dropped (pos NULL: none),
 * fixups filled.  *out: a new batch (caller frees), or NULL when t->batch
 * can be written as it is. */
static bool
compose(sy_mirror *m, const int64_t *pos, int64_t live, lk_batch **out, lk_error *err)
{
	sy_table *t = m->t;
	lk_batch *b = t->batch;
	*out = NULL;
	if (m->nfx == 0 && (!pos || live == b->nrows))
		return true;
	lk_batch **fetched = NULL;
	int nfetched = 0;
	bool ok = true;
	if (m->nfx) {
		size_t *ord = lk_xmalloc(m->nfx * sizeof(size_t));
		size_t n = 0;
		for (size_t i = 0; i < m->nfx; i++)
			if (!pos || pos[m->fx[i].row] >= 0)
				ord[n++] = i;
		sort_m = m;
		qsort(ord, n, sizeof(size_t), cmp_fx_src);
		fetched = lk_xcalloc(n + 1, sizeof(lk_batch *));
		for (size_t g = 0; ok && g < n;) {
			size_t e = g;
			dl_bitmap only;
			dl_bitmap_init(&only);
			while (e < n && strcmp(m->fx[ord[e]].path, m->fx[ord[g]].path) == 0)
				dl_bitmap_add(&only, m->fx[ord[e++]].srcrow);
			lk_batch *f = fetch(m, m->fx[ord[g]].path, &only, NULL, err);
			uint64_t want = dl_bitmap_cardinality(&only);
			dl_bitmap_free(&only);
			if (!f) {
				ok = false;
				break;
			}
			fetched[nfetched++] = f;
			if ((uint64_t) f->nrows != want) {
				lk_error_set(err, LK_ERR_CORRUPT, "data file \"%s\" has %" PRId64 " of the "
							 "%" PRIu64 " rows an unchanged TOAST value is read from",
							 m->fx[ord[g]].path, f->nrows, want);
				ok = false;
				break;
			}
			/* the k-th distinct source row of the group is fetched row k */
			int64_t k = -1;
			uint64_t prev = UINT64_MAX;
			for (size_t i = g; i < e; i++) {
				fixup *x = &m->fx[ord[i]];
				if (x->srcrow != prev) {
					k++;
					prev = x->srcrow;
				}
				x->fetched = nfetched - 1;
				x->frow = k;
			}
			g = e;
		}
		free(ord);
	}
	if (ok) {
		lk_batch *nb = lk_batch_new(t->schema);
		for (int j = 0; j < b->ncols; j++) {
			lk_column *dst = &nb->cols[j];
			const lk_column *src = &b->cols[j];
			size_t fi = 0;
			int64_t run = -1;     /* start of a run of rows copied as they are */
			for (int64_t r = 0; r <= b->nrows; r++) {
				bool end = r == b->nrows;
				bool skip = !end && pos && pos[r] < 0;
				while (fi < m->nfx && m->fx[fi].row < r)
					fi++;
				const fixup *x = NULL;
				for (size_t q = fi; !end && q < m->nfx && m->fx[q].row == r; q++)
					if (m->fx[q].col == j)
						x = &m->fx[q];
				if (end || skip || x) {
					if (run >= 0)
						lk_column_append_range(dst, src, run, r - run);
					run = -1;
					if (x && !skip)
						lk_column_append_range(dst, &fetched[x->fetched]->cols[j], x->frow, 1);
				} else if (run < 0) {
					run = r;
				}
			}
		}
		nb->nrows = live;
		*out = nb;
	}
	for (int i = 0; i < nfetched; i++)
		lk_batch_free(fetched[i]);
	free(fetched);
	return ok;
}

/* ---- the key index: open, rebuild, save -------------------------------------------------- */

static int64_t
table_version(const sy_table *t)
{
	return t->prev ? dl_commit_version(t->prev) : t->snap ? t->snap->version : -1;
}

static bool
mkdirs(const char *path, lk_error *err)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n >= sizeof(buf))
		return lk_error_set(err, LK_ERR_INVALID, "path too long: \"%s\"", path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char ch = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return lk_error_set(err, LK_ERR_IO, "could not create directory \"%s\": %s", buf,
								strerror(errno));
		buf[i] = ch;
	}
	return true;
}

/* The identity of an index this module built: table id, mode, key. */
static char *
index_signature(sy_mirror *m, const dl_snapshot *snap, lk_arena *a)
{
	lk_buf b = LK_BUF_INIT;
	lk_buf_printf(&b, "%s|%s|%s", snap->metadata.id ? snap->metadata.id : "",
				  sy_table_mode_name(m->t->mode), m->full ? "full" : "key");
	for (int k = 0; k < m->nkey; k++)
		lk_buf_printf(&b, "|%s", col_name(m, k));
	char *r = lk_arena_strdup(a, lk_buf_cstr(&b));
	lk_buf_free(&b);
	return r;
}

/* A layout that reads only the named columns (and the history change type). */
static bool
key_layout(sy_mirror *m, const dl_snapshot *snap, bool with_change_type, lk_arena *a,
		   dl_layout *out, int *ct_index, lk_error *err)
{
	LK_FORWARD(dl_layout_make(&snap->schema, snap->column_mapping,
							  &snap->metadata.partition_columns, a, out, err));
	if (out->npart > 0)
		return lk_error_set(err, LK_ERR_UNSUPPORTED, "partitioned Delta tables are not "
							"supported by lakesync sync");
	int n = m->nkey + (with_change_type ? 1 : 0);
	lk_type *d = lk_type_struct(a, n);
	for (int k = 0; k < n; k++) {
		const char *name = k < m->nkey ? col_name(m, k) : "_change_type";
		int li = lk_type_field_index(out->logical, name);
		int di = -1;
		for (int i = 0; i < out->ndata; i++)
			if (out->data_index[i] == li)
				di = i;
		if (li < 0 || di < 0)
			return lk_error_set(err, LK_ERR_UNSUPPORTED, "column \"%s\" is not in the Delta "
								"table", name);
		d->children[k] = out->data->children[di];
	}
	out->data = d;
	out->ndata = n;
	if (ct_index)
		*ct_index = m->nkey;
	return true;
}

typedef struct scan_ctx {
	sy_mirror *m;
	sy_pkindex *idx;
	uint32_t fid;
	const char *path;
	const dl_bitmap *dv;
	uint64_t pos;               /* physical row of the next delivered row */
	bool history;
	int ct;                     /* history: column of _change_type */
	uint32_t *seen;             /* history: file ids fed so far */
	size_t nseen, capseen;
	lk_buf key;
	lk_buf pre;                 /* history: key of the update_preimage row */
	bool has_pre;               /* just before */
} scan_ctx;

/* First free whole-row ordinal of key (base bytes in k): appended to k. */
static bool
free_ordinal(sy_mirror *m, sy_pkindex *idx, lk_buf *k, bool with_batch, lk_error *err)
{
	size_t base = k->len;
	for (uint64_t o = 0;; o++) {
		k->len = base;
		lk_buf_append_uvarint(k, o);
		if (with_batch && bm_get(&m->bm, k->data, k->len) >= 0)
			continue;
		bool found;
		sy_pkindex_loc pl;
		LK_FORWARD(sy_pkindex_get(idx, k->data, k->len, &found, &pl, err));
		if (!found)
			return true;
	}
}

static bool
scan_cb(void *ctx, const lk_batch *b, lk_error *err)
{
	scan_ctx *s = ctx;
	sy_mirror *m = s->m;
	for (int64_t r = 0; r < b->nrows; r++) {
		while (s->dv && dl_bitmap_contains(s->dv, s->pos))
			s->pos++;
		uint64_t row = s->pos++;
		if (s->history) {
			int64_t tl;
			const uint8_t *tp = lk_column_bytes(&b->cols[s->ct], r, &tl);
			if (lk_column_is_null(&b->cols[s->ct], r))
				continue;
			bool is_post = tl == 16 && !memcmp(tp, "update_postimage", 16);
			bool is_image = (tl == 6 && !memcmp(tp, "insert", 6)) || is_post;
			bool is_delete = tl == 6 && !memcmp(tp, "delete", 6);
			bool had_pre = s->has_pre;
			s->has_pre = false;
			if (tl == 15 && !memcmp(tp, "update_preimage", 15)) {
				/* its key goes away if the post-image's differs */
				s->has_pre = sy_pkindex_key_from_row(b->cols, m->nkey, r, &s->pre, err);
				continue;
			}
			if (tl == 8 && !memcmp(tp, "truncate", 8)) {
				/* everything before is gone; the rest of this file under a
				 * new id */
				for (size_t i = 0; i < s->nseen; i++)
					LK_FORWARD(sy_pkindex_remove_file(s->idx, s->seen[i], err));
				s->nseen = 0;
				LK_FORWARD(sy_pkindex_file_id(s->idx, s->path, &s->fid, err));
				if (s->nseen == s->capseen) {
					s->capseen = s->capseen ? s->capseen * 2 : 64;
					s->seen = lk_xrealloc(s->seen, s->capseen * sizeof(uint32_t));
				}
				s->seen[s->nseen++] = s->fid;
				continue;
			}
			if (!is_image && !is_delete)
				continue;
			LK_FORWARD(sy_pkindex_key_from_row(b->cols, m->nkey, r, &s->key, err));
			if (is_post && had_pre &&
				(s->pre.len != s->key.len || memcmp(s->pre.data, s->key.data, s->key.len)))
				LK_FORWARD(sy_pkindex_delete(s->idx, s->pre.data, s->pre.len, err));
			if (is_delete)
				LK_FORWARD(sy_pkindex_delete(s->idx, s->key.data, s->key.len, err));
			else
				LK_FORWARD(sy_pkindex_put(s->idx, s->key.data, s->key.len, s->fid, row, err));
			continue;
		}
		LK_FORWARD(sy_pkindex_key_from_row(b->cols, m->nkey, r, &s->key, err));
		key_finish(m, &s->key);
		if (m->full)
			LK_FORWARD(free_ordinal(m, s->idx, &s->key, false, err));
		LK_FORWARD(sy_pkindex_put(s->idx, s->key.data, s->key.len, s->fid, row, err));
	}
	return true;
}

static bool
scan_file(scan_ctx *s, const dl_layout *l, const dl_add *add, lk_error *err)
{
	sy_table *t = s->m->t;
	lk_arena a;
	lk_arena_init(&a, 0);
	char *dpath;
	dl_bitmap dv;
	dl_bitmap_init(&dv);
	bool ok = st_path_decode(add->path, &a, &dpath, err);
	if (ok && add->has_dv)
		ok = dl_dv_load(&t->store, &add->dv, &dv, err);
	if (ok)
		ok = sy_pkindex_file_id(s->idx, add->path, &s->fid, err);
	if (ok && s->history) {
		if (s->nseen == s->capseen) {
			s->capseen = s->capseen ? s->capseen * 2 : 64;
			s->seen = lk_xrealloc(s->seen, s->capseen * sizeof(uint32_t));
		}
		s->seen[s->nseen++] = s->fid;
	}
	s->path = add->path;
	s->dv = add->has_dv ? &dv : NULL;
	s->pos = 0;
	if (ok)
		ok = dl_data_file_read(&t->store, l, dpath, s->dv, NULL, scan_cb, s, err);
	dl_bitmap_free(&dv);
	lk_arena_free(&a);
	return ok;
}

/* History files in the order their rows were written: by the smallest
 * (_commit_lsn, _change_seq) of their statistics. */
typedef struct hfile {
	const dl_add *add;
	int64_t lsn, seq;           /* smallest (_commit_lsn, _change_seq) */
	int64_t max_lsn, max_seq;   /* largest */
} hfile;

static int
cmp_hfile(const void *a, const void *b)
{
	const hfile *x = a, *y = b;
	if (x->lsn != y->lsn)
		return x->lsn < y->lsn ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->add->path, y->add->path);
}

static bool
history_order(const dl_add *add, hfile *out, lk_error *err)
{
	out->add = add;
	json_t *j = add->stats ? json_loads(add->stats, 0, NULL) : NULL;
	json_t *mn = j ? json_object_get(j, "minValues") : NULL;
	json_t *mx = j ? json_object_get(j, "maxValues") : NULL;
	json_t *l = mn ? json_object_get(mn, "_commit_lsn") : NULL;
	json_t *s = mn ? json_object_get(mn, "_change_seq") : NULL;
	json_t *xl = mx ? json_object_get(mx, "_commit_lsn") : NULL;
	json_t *xs = mx ? json_object_get(mx, "_change_seq") : NULL;
	bool ok = l && s && json_is_integer(l) && json_is_integer(s) && xl && xs &&
			  json_is_integer(xl) && json_is_integer(xs);
	if (ok) {
		out->lsn = json_integer_value(l);
		out->seq = json_integer_value(s);
		out->max_lsn = json_integer_value(xl);
		out->max_seq = json_integer_value(xs);
	}
	json_decref(j);
	if (!ok)
		lk_error_set(err, LK_ERR_UNSUPPORTED, "history data file \"%s\" has no statistics "
					 "of _commit_lsn and _change_seq, so the latest image of a row cannot "
					 "be found", add->path);
	return ok;
}

static void
scan_init(scan_ctx *s, sy_mirror *m, sy_pkindex *idx, bool history)
{
	memset(s, 0, sizeof(*s));
	s->m = m;
	s->idx = idx;
	s->history = history;
}

static void
scan_free(scan_ctx *s)
{
	free(s->seen);
	lk_buf_free(&s->key);
	lk_buf_free(&s->pre);
}

/* Feed the files of the table's open commit, in the order they were
 * written (none when no commit is open). */
static bool
scan_open_commit(scan_ctx *s, const dl_layout *l, lk_error *err)
{
	dl_commit *c = s->m->t->commit;
	bool ok = true;
	for (size_t i = 0; ok && c && i < dl_commit_nactions(c); i++) {
		const dl_action *act = dl_commit_action(c, i, NULL);
		if (act->type == DL_ACT_ADD)
			ok = scan_file(s, l, &act->u.add, err);
	}
	return ok;
}

/* Build the index from scratch: the live rows of the table (mirror), or
 * the latest image of every key (history: committed files in write order,
 * then the files of the open commit). */
static bool
rebuild(sy_mirror *m, sy_pkindex *idx, const dl_snapshot *snap, lk_error *err)
{
	sy_table *t = m->t;
	bool history = t->mode != SY_TABLE_MIRROR;
	int64_t t0 = mono_ms();
	lk_arena a;
	lk_arena_init(&a, 0);
	dl_layout l;
	scan_ctx s;
	scan_init(&s, m, idx, history);
	bool ok = key_layout(m, snap, history, &a, &l, &s.ct, err);
	if (ok && !history) {
		for (size_t i = 0; ok && i < snap->nfiles; i++)
			ok = scan_file(&s, &l, &snap->files[i].add, err);
	} else if (ok) {
		hfile *hf = lk_xcalloc(snap->nfiles + 1, sizeof(hfile));
		for (size_t i = 0; ok && i < snap->nfiles; i++)
			ok = history_order(&snap->files[i].add, &hf[i], err);
		if (ok)
			qsort(hf, snap->nfiles, sizeof(hfile), cmp_hfile);
		/* files must not interleave in (_commit_lsn, _change_seq), except
		 * the snapshot's (one LSN, inserts of distinct keys) */
		int64_t ml = INT64_MIN, ms = INT64_MIN;
		for (size_t i = 0; ok && i < snap->nfiles; i++) {
			const hfile *h = &hf[i];
			bool one_lsn = h->lsn == h->max_lsn && h->lsn == ml;
			if (!one_lsn && (h->lsn < ml || (h->lsn == ml && h->seq <= ms))) {
				lk_error_set(err, LK_ERR_UNSUPPORTED, "history data files \"%s\" and "
							 "earlier ones overlap in (_commit_lsn, _change_seq), so the "
							 "latest image of a row cannot be told", h->add->path);
				ok = false;
			}
			if (h->max_lsn > ml || (h->max_lsn == ml && h->max_seq > ms)) {
				ml = h->max_lsn;
				ms = h->max_seq;
			}
		}
		for (size_t i = 0; ok && i < snap->nfiles; i++)
			ok = scan_file(&s, &l, hf[i].add, err);
		free(hf);
		if (ok)
			ok = scan_open_commit(&s, &l, err);
	}
	scan_free(&s);
	lk_arena_free(&a);
	if (ok)
		lk_info("%s: key index rebuilt from %zu data files in %" PRId64 " ms", t->qualname,
				snap->nfiles, mono_ms() - t0);
	return ok;
}

typedef struct rebuild_arg {
	sy_mirror *m;
	const dl_snapshot *snap;
} rebuild_arg;

static bool
rebuild_scan(void *ctx, sy_pkindex *idx, lk_error *err)
{
	rebuild_arg *r = ctx;
	return rebuild(r->m, idx, r->snap, err);
}

/* An index managed here (whole-row keys, history images, or a keyed table
 * while sy_mindex cannot open one): the saved one when it is exactly at
 * the snapshot's version, else rebuilt. */
static sy_pkindex *
own_open(sy_mirror *m, const dl_snapshot *snap, lk_error *err)
{
	sy_table *t = m->t;
	sy_pkindex_opts o = {.memory_budget = t->cfg.index_bytes};
	lk_arena a;
	lk_arena_init(&a, 0);
	char *sig = index_signature(m, snap, &a);
	int64_t v = -1;
	lk_error e;
	sy_pkindex *idx = sy_pkindex_open(t->index_dir, &o, &v, &e);
	if (idx && v == snap->version && strcmp(sy_pkindex_table_id(idx), sig) == 0) {
		lk_arena_free(&a);
		lk_debug("%s: key index loaded (Delta version %" PRId64 ")", t->qualname, v);
		/* history: the open commit's files are not in it yet */
		bool ok = true;
		if (t->mode != SY_TABLE_MIRROR && t->commit) {
			lk_arena la;
			lk_arena_init(&la, 0);
			dl_layout l;
			scan_ctx s;
			scan_init(&s, m, idx, true);
			ok = key_layout(m, snap, true, &la, &l, &s.ct, err) &&
				 scan_open_commit(&s, &l, err);
			scan_free(&s);
			lk_arena_free(&la);
		}
		if (ok)
			return idx;
		sy_pkindex_close(idx);
		return NULL;
	}
	sy_pkindex_close(idx);
	idx = sy_pkindex_create(t->index_dir, sig, &o, err);
	lk_arena_free(&a);
	if (!idx)
		return NULL;
	rebuild_arg ra = {m, snap};
	if (!sy_pkindex_bulk_load(idx, rebuild_scan, &ra, err)) {
		sy_pkindex_close(idx);
		return NULL;
	}
	/* a rebuild is expensive: keep it (not with the open commit's files) */
	if (t->cfg.index_save_ms >= 0 && !(t->mode != SY_TABLE_MIRROR && t->commit)) {
		lk_error e2;
		if (!sy_pkindex_save(idx, NULL, snap->version, &e2))
			lk_warn("%s: could not save the key index: %s", t->qualname, e2.msg);
	}
	return idx;
}

static bool
ensure_index(sy_mirror *m, lk_error *err)
{
	if (m->idx_open)
		return true;
	sy_table *t = m->t;
	if (!m->checked || m->nkey == 0)
		return lk_error_set(err, LK_ERR_UNSUPPORTED, "the table has no key to index");
	if (t->mode != SY_TABLE_MIRROR && m->hist_failed)
		return lk_error_set(err, LK_ERR_UNSUPPORTED, "the index of latest images could not "
							"be built earlier in this run");
	LK_FORWARD(mkdirs(t->index_dir, err));
	dl_snapshot *snap;
	LK_FORWARD(dl_snapshot_open(&t->store, NULL, &snap, err));
	bool ok = true;
	if (t->mode == SY_TABLE_MIRROR)
		ok = fmap_load(m, snap, err);
	if (ok && t->mode == SY_TABLE_MIRROR && !m->full) {
		sy_mindex_stats st;
		lk_error e;
		lk_error_clear(&e);
		m->mi = sy_mindex_open(&t->store, snap, t->index_dir, m->key_names, m->nkey,
							   t->cfg.index_bytes, &st, &e);
		if (m->mi) {
			if (st.rebuilt)
				lk_info("%s: key index rebuilt (%s): %" PRId64 " rows in %" PRId64 " ms",
						t->qualname, st.reason ? st.reason : "no saved index",
						st.rows_scanned, st.ms);
		} else if (e.code == LK_ERR_UNSUPPORTED && strstr(e.msg, "not implemented")) {
			m->own = own_open(m, snap, err);     /* until mindex.c is complete */
			ok = m->own != NULL;
		} else {
			*err = e;
			ok = false;
		}
	} else if (ok) {
		if (t->mode != SY_TABLE_MIRROR && t->writer) {
			/* rows written before the index existed go into a closed file
			 * that the rebuild can read */
			dl_data_writer *w = t->writer;
			t->writer = NULL;
			ok = dl_data_writer_close(w, err);
		}
		if (ok) {
			m->own = own_open(m, snap, err);
			ok = m->own != NULL;
		}
	}
	dl_snapshot_free(snap);
	if (!ok) {
		if (t->mode != SY_TABLE_MIRROR)
			m->hist_failed = true;
		return lk_error_add_where(err, "key index of \"%s\"", t->qualname);
	}
	m->idx_open = true;
	m->idx_dirty = false;
	m->saved_ms = mono_ms();
	return true;
}

bool
sy_mirror_open_index(sy_table *t, lk_error *err)
{
	sy_mirror *m = t->mirror;
	if (t->mode != SY_TABLE_MIRROR || !m)
		return true;
	return ensure_index(m, err);
}

static void
index_close(sy_mirror *m, bool save)
{
	sy_table *t = m->t;
	if (!m->idx_open)
		return;
	int64_t v = table_version(t);
	if (save && !m->idx_dirty && v >= 0 && t->cfg.index_save_ms >= 0) {
		lk_error e;
		bool ok = m->mi ? sy_mindex_save(m->mi, v, &e)
						: sy_pkindex_save(m->own, NULL, v, &e);
		if (!ok)
			lk_warn("%s: could not save the key index: %s", t->qualname, e.msg);
	}
	sy_mindex_close(m->mi);
	sy_pkindex_close(m->own);
	m->mi = NULL;
	m->own = NULL;
	m->idx_open = false;
	m->idx_dirty = false;
}

static void
maybe_save(sy_mirror *m, int64_t version)
{
	sy_table *t = m->t;
	if (!m->idx_open || m->idx_dirty || t->cfg.index_save_ms < 0)
		return;
	int64_t now = mono_ms();
	if (now - m->saved_ms < t->cfg.index_save_ms)
		return;
	m->saved_ms = now;
	lk_error e;
	bool ok = m->mi ? sy_mindex_save(m->mi, version, &e)
					: sy_pkindex_save(m->own, NULL, version, &e);
	if (!ok)
		lk_warn("%s: could not save the key index: %s", t->qualname, e.msg);
}

/* ---- the open commit ------------------------------------------------------------- */

static void
reset_batch_state(sy_mirror *m)
{
	bm_clear(&m->bm);
	m->nfx = 0;
	lk_arena_reset(&m->fxa);
}

static void
open_commit_clear(sy_mirror *m)
{
	for (size_t i = 0; i < m->nof; i++) {
		dl_bitmap_free(&m->of[i].del);
		free(m->of[i].origin);
	}
	m->nof = 0;
	for (size_t i = 0; i < m->ntf; i++) {
		if (m->tf[i].fe)
			m->tf[i].fe->tf = 0;
		dl_bitmap_free(&m->tf[i].del);
		dl_bitmap_free(&m->tf[i].cont);
		dl_bitmap_free(&m->tf[i].ended);
	}
	m->ntf = 0;
	m->truncated = false;
	dl_commit_free(m->scratch);
	m->scratch = NULL;
	if (m->last_nb)
		lk_batch_free(m->last_nb);
	m->last_nb = NULL;
	lk_arena_reset(&m->carena);
	reset_batch_state(m);
}

void
sy_mirror_free(sy_table *t, bool save)
{
	sy_mirror *m = t->mirror;
	if (!m)
		return;
	open_commit_clear(m);
	index_close(m, save);
	fmap_clear(m);
	bm_free(&m->bm);
	free(m->dead);
	free(m->origin);
	free(m->fx);
	free(m->of);
	free(m->tf);
	free(m->kcols);
	if (m->keyb)
		lk_batch_free(m->keyb);
	lk_buf_free(&m->key);
	lk_buf_free(&m->key2);
	lk_buf_free(&m->pre);
	lk_arena_free(&m->carena);
	lk_arena_free(&m->fxa);
	lk_arena_free(&m->arena);
	free(m);
	t->mirror = NULL;
}

static tfile *
touch(sy_mirror *m, fent *fe)
{
	if (fe->tf)
		return &m->tf[fe->tf - 1];
	if (m->ntf == m->captf) {
		m->captf = m->captf ? m->captf * 2 : 16;
		m->tf = lk_xrealloc(m->tf, m->captf * sizeof(tfile));
	}
	tfile *f = &m->tf[m->ntf++];
	memset(f, 0, sizeof(*f));
	f->fe = fe;
	dl_bitmap_init(&f->del);
	dl_bitmap_init(&f->cont);
	dl_bitmap_init(&f->ended);
	fe->tf = m->ntf;
	return f;
}

static void
end_lineage(sy_mirror *m, uint64_t origin)
{
	if (origin == NO_ORIGIN)
		return;
	size_t f = (size_t) (origin >> ORIGIN_ROW_BITS);
	if (f < m->ntf)
		dl_bitmap_add(&m->tf[f].ended, origin & ((UINT64_C(1) << ORIGIN_ROW_BITS) - 1));
}

/* Delete the row at l (key k).  update: the row is replaced by a new image
 * whose lineage goes on (*origin gets it); else a delete. */
static bool
kill_row(sy_mirror *m, const loc *l, const lk_buf *k, bool update, uint64_t *origin,
		 lk_error *err)
{
	uint64_t o = NO_ORIGIN;
	switch (l->kind) {
	case LOC_BATCH:
		bm_del(&m->bm, k->data, k->len);
		m->dead[l->row] = 1;
		o = m->origin[l->row];
		break;
	case LOC_OPEN: {
		ofile *f = &m->of[l->of];
		LK_FORWARD(sy_pkindex_delete(idx_of(m), k->data, k->len, err));
		m->idx_dirty = true;
		dl_bitmap_add(&f->del, (uint64_t) l->row);
		o = f->origin ? f->origin[l->row] : NO_ORIGIN;
		break;
	}
	case LOC_COMMITTED: {
		LK_FORWARD(sy_pkindex_delete(idx_of(m), k->data, k->len, err));
		m->idx_dirty = true;
		tfile *f = touch(m, l->fe);
		if ((uint64_t) l->row >= (UINT64_C(1) << ORIGIN_ROW_BITS) ||
			m->ntf >= (UINT64_C(1) << (64 - ORIGIN_ROW_BITS)))
			return lk_error_set(err, LK_ERR_UNSUPPORTED, "row %" PRId64 " of a data file "
								"is beyond what one commit can track", l->row);
		dl_bitmap_add(&f->del, (uint64_t) l->row);
		if (update) {
			dl_bitmap_add(&f->cont, (uint64_t) l->row);
			o = ((uint64_t) (f - m->tf) << ORIGIN_ROW_BITS) | (uint64_t) l->row;
		}
		break;
	}
	default:
		return lk_error_set(err, LK_ERR_INTERNAL, "no row to delete");
	}
	if (update)
		*origin = o;
	else
		end_lineage(m, o);
	m->t->rows_deleted++;
	return true;
}

static void
note_missing(sy_mirror *m, const char *what)
{
	if (m->missing++ == 0)
		lk_warn("%s: %s a row the mirror table does not have (applied as if it had; "
				"further cases are only counted)", m->t->qualname, what);
}

/* Append the new image (vals, srcs) with origin; k receives its key (and
 * ordinal), which now names it in the batch map.  A different row with the
 * same key is deleted first (it cannot exist in the source). */
static bool
append_image(sy_mirror *m, sy_txn *tx, const sy_value *vals, const sy_src *srcs,
			 uint64_t origin, const lk_buf *gone, lk_buf *k, lk_error *err)
{
	sy_table *t = m->t;
	int64_t row = t->batch->nrows;
	rows_reserve(m, row + 1);
	LK_FORWARD(sy_table_emit(t, tx, "insert", vals, srcs, err));
	m->dead[row] = 0;
	m->origin[row] = origin;
	LK_FORWARD(key_from_batch(m, t->batch, row, k, err));
	if (m->full) {
		LK_FORWARD(ensure_index(m, err));
		LK_FORWARD(free_ordinal(m, idx_of(m), k, true, err));
	} else if (!gone || gone->len != k->len || memcmp(gone->data, k->data, k->len) != 0) {
		/* (not when the key is the one just deleted: it is free) */
		loc l;
		LK_FORWARD(locate(m, k, &l, err));
		if (l.kind != LOC_NONE) {
			note_missing(m, "a new row replaces");
			LK_FORWARD(kill_row(m, &l, k, false, NULL, err));
		}
	}
	bm_put(&m->bm, k->data, k->len, row);
	return true;
}

/* The key of the old row (full: with the highest ordinal present). */
static bool
old_key(sy_mirror *m, const sy_rowvals *r, lk_buf *k, loc *l, lk_error *err)
{
	LK_FORWARD(key_from_vals(m, r, k, err));
	if (!m->full)
		return locate(m, k, l, err);
	size_t base = k->len;
	uint64_t hit = UINT64_MAX;
	for (uint64_t o = 0;; o++) {
		k->len = base;
		lk_buf_append_uvarint(k, o);
		loc x;
		LK_FORWARD(locate(m, k, &x, err));
		if (x.kind == LOC_NONE)
			break;
		hit = o;
		*l = x;
	}
	k->len = base;
	if (hit == UINT64_MAX) {
		memset(l, 0, sizeof(*l));
		l->kind = LOC_NONE;
		return true;
	}
	lk_buf_append_uvarint(k, hit);
	return true;
}

bool
sy_mirror_insert(sy_table *t, sy_txn *tx, sy_rowvals *n, lk_error *err)
{
	sy_mirror *m = t->mirror;
	return append_image(m, tx, n->v, NULL, NO_ORIGIN, NULL, &m->key, err);
}

/* Sources of n's 'u' values: the current row at l. */
static bool
current_sources(sy_mirror *m, const sy_rowvals *n, const loc *l, sy_src *srcs,
				lk_error *err)
{
	sy_table *t = m->t;
	for (int c = 0; c < t->ncols; c++) {
		if (!n->unchanged[c])
			continue;
		if (l->kind == LOC_NONE) {
			lk_error_set(err, LK_ERR_CORRUPT,
						 "unchanged TOAST value cannot be filled: the row is not in the "
						 "table (and the change does not carry the value)");
			return lk_error_where(err, "column \"%s\"", t->cols[c].name);
		}
		if (l->kind == LOC_BATCH)
			srcs[c] = (sy_src){.kind = SY_SRC_BATCH, .row = l->row};
		else
			srcs[c] = (sy_src){.kind = SY_SRC_FILE, .row = l->row, .path = l->path};
		t->toast_filled++;
	}
	return true;
}

bool
sy_mirror_update(sy_table *t, sy_txn *tx, sy_rowvals *n, const sy_rowvals *o,
				 char old_kind, lk_error *err)
{
	sy_mirror *m = t->mirror;
	(void) old_kind;
	loc l;
	if (m->full && !o)
		return lk_error_set(err, LK_ERR_CORRUPT, "update of a REPLICA IDENTITY FULL table "
							"without its old row");
	LK_FORWARD(old_key(m, o ? o : n, &m->key2, &l, err));
	sy_src *srcs = lk_xcalloc((size_t) t->ncols + 1, sizeof(sy_src));
	bool ok = current_sources(m, n, &l, srcs, err);
	uint64_t origin = NO_ORIGIN;
	if (ok && l.kind != LOC_NONE)
		ok = kill_row(m, &l, &m->key2, true, &origin, err);
	else if (ok)
		note_missing(m, "an update of");
	if (ok)
		ok = append_image(m, tx, n->v, srcs, origin, l.kind != LOC_NONE ? &m->key2 : NULL,
						  &m->key, err);
	free(srcs);
	return ok;
}

bool
sy_mirror_delete(sy_table *t, sy_txn *tx, const sy_rowvals *o, lk_error *err)
{
	sy_mirror *m = t->mirror;
	loc l;
	LK_FORWARD(old_key(m, o, &m->key2, &l, err));
	if (l.kind == LOC_NONE)
		note_missing(m, "a delete of");
	else
		LK_FORWARD(kill_row(m, &l, &m->key2, false, NULL, err));
	tx->seq++;
	sy_table_note_change(t, tx, 16 + (int64_t) m->key2.len);
	return true;
}

bool
sy_mirror_truncate(sy_table *t, sy_txn *tx, lk_error *err)
{
	sy_mirror *m = t->mirror;
	LK_FORWARD(ensure_index(m, err));
	sy_pkindex *idx = idx_of(m);
	/* every row of the table and of the open commit goes */
	for (size_t i = 0; i < m->fcap; i++)
		for (fent *e = m->fmap[i]; e; e = e->next) {
			uint32_t fid;
			LK_FORWARD(sy_pkindex_file_id(idx, e->add.path, &fid, err));
			LK_FORWARD(sy_pkindex_remove_file(idx, fid, err));
		}
	for (size_t i = 0; i < m->nof; i++)
		LK_FORWARD(sy_pkindex_remove_file(idx, m->of[i].fid, err));
	m->idx_dirty = true;
	/* the open files are dropped (never added), the batch emptied */
	for (size_t i = 0; i < m->nof; i++) {
		dl_bitmap_free(&m->of[i].del);
		free(m->of[i].origin);
	}
	m->nof = 0;
	for (size_t i = 0; i < m->ntf; i++) {
		m->tf[i].fe->tf = 0;
		dl_bitmap_free(&m->tf[i].del);
		dl_bitmap_free(&m->tf[i].cont);
		dl_bitmap_free(&m->tf[i].ended);
	}
	m->ntf = 0;
	m->truncated = true;
	lk_batch_reset(t->batch);
	t->batch->nrows = 0;
	t->batch_bytes = 0;
	reset_batch_state(m);
	t->rows_deleted++;
	tx->seq++;
	sy_table_note_change(t, tx, 16);
	return true;
}

/* ---- flush and commit ------------------------------------------------------------ */

/* keep: the file is the open commit's last: its rows stay in m->last_nb. */
static bool
flush(sy_table *t, bool keep, lk_error *err)
{
	sy_mirror *m = t->mirror;
	lk_batch *b = t->batch;
	if (b->nrows == 0)
		return true;
	LK_FORWARD(ensure_index(m, err));
	int64_t n = b->nrows, live = 0;
	int64_t *pos = lk_xmalloc(sizeof(int64_t) * (size_t) n);
	bool any_origin = false;
	for (int64_t r = 0; r < n; r++) {
		pos[r] = m->dead[r] ? -1 : live++;
		if (!m->dead[r] && m->origin[r] != NO_ORIGIN)
			any_origin = true;
	}
	bool ok = true;
	lk_batch *nb = NULL;
	if (live > 0)
		ok = compose(m, pos, live, &nb, err);
	if (ok && live > 0) {
		if (!m->scratch)
			m->scratch = sy_table_begin_commit(t);
		size_t na = dl_commit_nactions(m->scratch);
		dl_write_options wo;
		sy_table_write_options(t, &wo);
		/* the open commit's files are compacted later: compress them
		 * fast (zstd 1, as the change data) unless a level was set */
		if (wo.compression_level == 0 && wo.codec == PQ_CODEC_ZSTD)
			wo.compression_level = 1;
		ok = dl_write_batch(m->scratch, nb ? nb : b, &wo, err);
		const dl_add *add = NULL;
		for (size_t i = na; ok && i < dl_commit_nactions(m->scratch); i++) {
			const dl_action *a = dl_commit_action(m->scratch, i, NULL);
			if (a->type == DL_ACT_ADD)
				add = &a->u.add;
		}
		if (ok && !add)
			ok = lk_error_set(err, LK_ERR_INTERNAL, "the data writer added no file");
		if (ok) {
			if (m->nof == m->capof) {
				m->capof = m->capof ? m->capof * 2 : 8;
				m->of = lk_xrealloc(m->of, m->capof * sizeof(ofile));
			}
			ofile *f = &m->of[m->nof];
			memset(f, 0, sizeof(*f));
			dl_add_copy(&m->carena, &f->add, add);
			dl_bitmap_init(&f->del);
			f->nrows = live;
			ok = st_path_decode(f->add.path, &m->carena, &f->dpath, err) &&
				 sy_pkindex_file_id(idx_of(m), f->add.path, &f->fid, err);
			if (ok) {
				m->nof++;
				if (any_origin) {
					f->origin = lk_xmalloc(sizeof(uint64_t) * (size_t) live);
					for (int64_t r = 0; r < n; r++)
						if (pos[r] >= 0)
							f->origin[pos[r]] = m->origin[r];
				}
			} else {
				dl_bitmap_free(&f->del);
			}
		}
		/* the batch's keys now name rows of the file */
		for (size_t i = 0; ok && i < m->bm.cap; i++) {
			const bment *e = &m->bm.e[i];
			if (e->state != 1)
				continue;
			if (pos[e->row] < 0) {
				ok = lk_error_set(err, LK_ERR_INTERNAL, "a deleted row is still keyed");
				break;
			}
			ok = sy_pkindex_put(idx_of(m), m->bm.keys.data + e->off, e->len,
								m->of[m->nof - 1].fid, (uint64_t) pos[e->row], err);
			m->idx_dirty = true;
		}
	}
	if (ok && keep && live > 0) {
		if (m->last_nb)
			lk_batch_free(m->last_nb);
		if (nb) {
			m->last_nb = nb;
		} else {
			m->last_nb = t->batch;
			t->batch = lk_batch_new(t->schema);
		}
		nb = NULL;
		m->last_of = m->nof - 1;
	}
	if (nb)
		lk_batch_free(nb);
	free(pos);
	if (!ok)
		return false;
	lk_batch_reset(t->batch);
	t->batch->nrows = 0;
	t->batch_bytes = 0;
	reset_batch_state(m);
	return true;
}

bool
sy_mirror_flush(sy_table *t, lk_error *err)
{
	return flush(t, false, err);
}

static const lk_type *
cdc_schema(sy_mirror *m)
{
	sy_table *t = m->t;
	if (m->cdc_schema && m->cdc_schema->nchildren == t->schema->nchildren + 1)
		return m->cdc_schema;
	lk_type *s = lk_type_struct(&m->arena, t->schema->nchildren + 1);
	for (int i = 0; i < t->schema->nchildren; i++)
		s->children[i] = t->schema->children[i];
	s->children[t->schema->nchildren].name = "_change_type";
	s->children[t->schema->nchildren].type = lk_type_new(&m->arena, LK_T_STRING);
	s->children[t->schema->nchildren].nullable = true;
	s->children[t->schema->nchildren].field_id = -1;
	m->cdc_schema = s;
	return s;
}

/* Change rows: rows of f (Delta schema) with labels[i] as _change_type. */
static bool
write_changes(sy_mirror *m, dl_commit *c, const lk_batch *f, const char **labels,
			  lk_error *err)
{
	if (f->nrows == 0)
		return true;
	lk_batch *cb = lk_batch_new(cdc_schema(m));
	for (int j = 0; j < f->ncols; j++)
		lk_column_append_range(&cb->cols[j], &f->cols[j], 0, f->nrows);
	for (int64_t r = 0; r < f->nrows; r++)
		lk_column_append_bytes(&cb->cols[f->ncols], labels[r], (int64_t) strlen(labels[r]));
	cb->nrows = f->nrows;
	/* as dl_cdc_write, compressed faster: change data is written on every
	 * commit that updates, read rarely */
	dl_write_options o;
	dl_write_options_init(&o);
	o.cdc_batch = true;
	o.data_change = false;
	o.compression_level = 1;
	bool ok = dl_write_batch(c, cb, &o, err);
	lk_batch_free(cb);
	return ok;
}

/* The actions of the open commit into c (see the top of the file). */
static bool
build_commit(sy_mirror *m, dl_commit *c, lk_error *err)
{
	sy_table *t = m->t;
	lk_arena *ca = dl_commit_arena(c);
	bool cdf = dl_commit_config_true(c, "delta.enableChangeDataFeed");
	bool any_del = m->truncated;
	for (size_t i = 0; i < m->ntf; i++)
		if (dl_bitmap_cardinality(&m->tf[i].del) > 0)
			any_del = true;
	/* with change data files in the commit, readers use only them: every
	 * change of the commit is written as change rows then */
	bool covered = cdf && any_del;

	/* 1. committed files: everything (TRUNCATE), or rows */
	if (m->truncated)
		for (size_t i = 0; i < m->fcap; i++)
			for (fent *e = m->fmap[i]; e; e = e->next)
				LK_FORWARD(dl_remove_file(c, &e->add, true, err));
	for (size_t i = 0; i < m->ntf; i++) {
		tfile *f = &m->tf[i];
		uint64_t *rows;
		size_t nrows;
		LK_FORWARD(dl_bitmap_to_array(&f->del, UINT64_MAX, &rows, &nrows, err));
		if (!nrows)
			continue;
		bool ok = covered ? dl_delete_rows_covered(c, &f->fe->add, rows, nrows, err)
						  : dl_delete_rows(c, &f->fe->add, rows, nrows, err);
		if (ok && covered) {
			/* pre-images and deleted rows, read before anything changes */
			lk_batch *rb = fetch(m, f->fe->add.path, &f->del, NULL, err);
			ok = rb != NULL;
			if (ok && (size_t) rb->nrows != nrows)
				ok = lk_error_set(err, LK_ERR_CORRUPT, "data file \"%s\" lacks rows the "
								  "key index names", f->fe->add.path);
			const char **labels = NULL;
			if (ok) {
				labels = lk_xmalloc(sizeof(char *) * (nrows + 1));
				for (size_t k = 0; k < nrows; k++)
					labels[k] = dl_bitmap_contains(&f->cont, rows[k]) &&
										!dl_bitmap_contains(&f->ended, rows[k])
									? "update_preimage"
									: "delete";
				ok = write_changes(m, c, rb, labels, err);
			}
			free(labels);
			if (rb)
				lk_batch_free(rb);
		}
		free(rows);
		if (!ok)
			return false;
	}

	/* 2. the files of the open commit, with deletion vectors where later
	 * changes deleted some of their rows */
	const dl_bitmap **bms = lk_xcalloc(m->nof + 1, sizeof(dl_bitmap *));
	size_t nb = 0;
	for (size_t i = 0; i < m->nof; i++) {
		uint64_t nd = dl_bitmap_cardinality(&m->of[i].del);
		if (nd > 0 && nd < (uint64_t) m->of[i].nrows)
			bms[nb++] = &m->of[i].del;
	}
	dl_dv *descs = lk_arena_zalloc(ca, sizeof(dl_dv) * (nb + 1));
	bool ok = nb == 0 || dl_dv_write_file(&t->store, NULL, bms, (int) nb, ca, descs, err);
	free(bms);
	for (size_t i = 0, k = 0; ok && i < m->nof; i++) {
		ofile *f = &m->of[i];
		uint64_t nd = dl_bitmap_cardinality(&f->del);
		if (nd >= (uint64_t) f->nrows)
			continue;           /* every row deleted again: never added */
		dl_action a;
		memset(&a, 0, sizeof(a));
		a.type = DL_ACT_ADD;
		a.u.add = f->add;
		if (nd > 0) {
			a.u.add.has_dv = true;
			a.u.add.dv = descs[k++];
			a.u.add.stats = dl_stats_loosen(f->add.stats, ca);
		}
		ok = dl_commit_add_action_flags(c, &a, DL_CF_NEW_DATA |
										(covered ? DL_CF_CDC_COVERED : 0), err);
		if (ok && covered) {
			/* the last file's rows are still in memory */
			bool mem = i == m->last_of && m->last_nb && nd == 0 &&
					   m->last_nb->nrows == f->nrows;
			lk_batch *rb = mem ? m->last_nb : fetch(m, f->add.path, NULL, nd ? &f->del : NULL,
													err);
			ok = rb != NULL;
			const char **labels = NULL;
			if (ok) {
				labels = lk_xmalloc(sizeof(char *) * (size_t) (rb->nrows + 1));
				int64_t r = 0;
				for (int64_t k2 = 0; k2 < rb->nrows; k2++, r++) {
					while (dl_bitmap_contains(&f->del, (uint64_t) r))
						r++;
					labels[k2] = f->origin && f->origin[r] != NO_ORIGIN ? "update_postimage"
																	   : "insert";
				}
				ok = write_changes(m, c, rb, labels, err);
			}
			free(labels);
			if (rb && !mem)
				lk_batch_free(rb);
		}
	}
	return ok;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* c committed: the committed-file map and the index follow it. */
static bool
after_commit(sy_mirror *m, dl_commit *c, lk_error *err)
{
	size_t n = dl_commit_nactions(c);
	sy_pkindex *idx = idx_of(m);
	const char **adds = lk_xmalloc(sizeof(char *) * (n + 1));
	size_t nadds = 0;
	for (size_t i = 0; i < n; i++) {
		const dl_action *a = dl_commit_action(c, i, NULL);
		if (a->type == DL_ACT_ADD)
			adds[nadds++] = a->u.add.path;
	}
	qsort(adds, nadds, sizeof(char *), cmp_str);
	/* removes first (a deletion vector is a remove and an add of a path) */
	for (size_t i = 0; i < n; i++) {
		const dl_action *a = dl_commit_action(c, i, NULL);
		if (a->type != DL_ACT_REMOVE)
			continue;
		bool readded = bsearch(&a->u.remove.path, adds, nadds, sizeof(char *), cmp_str) != NULL;
		fmap_del(m, a->u.remove.path);
		if (!readded && idx) {
			uint32_t fid;
			if (!sy_pkindex_file_id(idx, a->u.remove.path, &fid, err) ||
				!sy_pkindex_remove_file(idx, fid, err)) {
				free(adds);
				return false;
			}
		}
	}
	free(adds);
	for (size_t i = 0; i < n; i++) {
		const dl_action *a = dl_commit_action(c, i, NULL);
		if (a->type == DL_ACT_ADD)
			LK_FORWARD(fmap_put(m, &a->u.add, err));
	}
	/* files whose rows were all deleted again were never added */
	for (size_t i = 0; idx && i < m->nof; i++)
		if (dl_bitmap_cardinality(&m->of[i].del) >= (uint64_t) m->of[i].nrows)
			LK_FORWARD(sy_pkindex_remove_file(idx, m->of[i].fid, err));
	return true;
}

bool
sy_mirror_commit(sy_table *t, uint64_t lsn, lk_error *err)
{
	sy_mirror *m = t->mirror;
	LK_FORWARD(flush(t, true, err));
	if (!m->files_loaded)
		LK_FORWARD(ensure_index(m, err));
	dl_commit *c = sy_table_begin_commit(t);
	if (!build_commit(m, c, err)) {
		dl_commit_free(c);
		return false;
	}
	LK_FORWARD(sy_table_finish_commit(t, c, (int64_t) lsn, err));
	/* c is t->prev now; the touched files' entries may go */
	for (size_t i = 0; i < m->ntf; i++) {
		m->tf[i].fe->tf = 0;
		m->tf[i].fe = NULL;
	}
	if (!after_commit(m, t->prev, err)) {
		/* the commit is durable; only our view of it is not: reopen */
		lk_warn("%s: %s; the key index is reopened", t->qualname, err->msg);
		index_close(m, false);
		fmap_clear(m);
	}
	open_commit_clear(m);
	m->idx_dirty = false;
	maybe_save(m, dl_commit_version(t->prev));
	return true;
}

void
sy_mirror_discard(sy_table *t)
{
	sy_mirror *m = t->mirror;
	if (!m)
		return;
	bool dirty = m->idx_dirty || m->nof > 0 || m->truncated;
	open_commit_clear(m);
	if (dirty) {
		/* the index holds changes that were never committed (M3) */
		index_close(m, false);
		fmap_clear(m);
	}
}

bool
sy_mirror_snapshot_prepare(sy_table *t, dl_commit *c, lk_error *err)
{
	/* the snapshot is the whole table: whatever the Delta table held (a
	 * resync under a new slot, a table another pipeline wrote) goes */
	dl_snapshot *snap = t->snap;
	dl_snapshot *own = NULL;
	if (!snap || t->prev) {
		LK_FORWARD(dl_snapshot_open(&t->store, NULL, &own, err));
		snap = own;
	}
	bool ok = true;
	for (size_t i = 0; ok && i < snap->nfiles; i++)
		ok = dl_remove_file(c, &snap->files[i].add, true, err);
	dl_snapshot_free(own);
	return ok;
}

void
sy_mirror_snapshot_done(sy_table *t)
{
	sy_mirror *m = t->mirror;
	t->mirror_resync = false;
	open_commit_clear(m);
	index_close(m, false);
	fmap_clear(m);
}

/* ---- history mode: unchanged TOAST values from the latest image ------------------- */

bool
sy_mirror_history_indexed(const sy_table *t)
{
	return t->mirror && t->mode != SY_TABLE_MIRROR && t->mirror->idx_open;
}

bool
sy_mirror_history_sources(sy_table *t, const sy_rowvals *keyrow, const sy_rowvals *n,
						  sy_src *srcs, lk_error *err)
{
	sy_mirror *m = t->mirror;
	int first = -1;
	for (int c = 0; c < t->ncols && first < 0; c++)
		if (n->unchanged[c])
			first = c;
	if (first < 0)
		return true;
	loc l;
	lk_error e;
	lk_error_clear(&e);
	bool ok = m && m->checked && m->nkey > 0 && key_from_vals(m, keyrow, &m->key2, &e);
	if (ok && !m->idx_open) {
		/* first use: the index of latest images, and the pending batch's
		 * rows keyed */
		ok = ensure_index(m, &e);
		for (int64_t r = 0; ok && r < t->batch->nrows; r++)
			ok = sy_mirror_history_note(t, NULL, r, NULL, &e);
	}
	if (ok)
		ok = locate(m, &m->key2, &l, &e);
	if (ok && l.kind == LOC_NONE) {
		ok = false;
		lk_error_set(&e, LK_ERR_UNSUPPORTED, "the row is not in the history table");
	}
	if (!ok) {
		lk_error_set(err, LK_ERR_UNSUPPORTED,
					 "unchanged TOAST value cannot be filled: the old tuple does not carry "
					 "it and the row's latest image was not found (%s); set REPLICA "
					 "IDENTITY FULL on the table, or resync it", e.msg);
		return lk_error_where(err, "column \"%s\"", t->cols[first].name);
	}
	return current_sources(m, n, &l, srcs, err);
}

bool
sy_mirror_history_note(sy_table *t, const char *change_type, int64_t row,
					   const sy_rowvals *old, lk_error *err)
{
	sy_mirror *m = t->mirror;
	if (!sy_mirror_history_indexed(t))
		return true;
	const char *ct = change_type;
	int64_t tl = 0;
	if (!ct) {
		/* the row's own _change_type */
		const lk_column *c = &t->batch->cols[t->hist[SY_H_CHANGE_TYPE]];
		ct = (const char *) lk_column_bytes(c, row, &tl);
	} else {
		tl = (int64_t) strlen(ct);
	}
#define IS(s) (tl == (int64_t) strlen(s) && memcmp(ct, s, (size_t) tl) == 0)
	if (IS("truncate")) {
		/* no image is left: a new empty index (the saved one is gone too,
		 * so a failed commit rebuilds) */
		bm_clear(&m->bm);
		char *sig = lk_xstrdup(sy_pkindex_table_id(m->own));
		sy_pkindex_opts o = {.memory_budget = t->cfg.index_bytes};
		sy_pkindex_close(m->own);
		m->own = sy_pkindex_create(t->index_dir, sig, &o, err);
		free(sig);
		m->idx_dirty = true;
		if (!m->own) {
			m->idx_open = false;
			m->hist_failed = true;
			return false;
		}
		return true;
	}
	bool post = IS("update_postimage");
	bool image = IS("insert") || post;
	bool del = IS("delete");
	bool pre = IS("update_preimage");
#undef IS
	bool had_pre = m->has_pre;
	m->has_pre = false;
	if (pre && !change_type) {
		/* scanning the batch: the next post-image tells whether the key
		 * changed */
		m->has_pre = key_from_batch(m, t->batch, row, &m->pre, err);
		return true;
	}
	if (!image && !del)
		return true;
	LK_FORWARD(key_from_batch(m, t->batch, row, &m->key, err));
	if (post && had_pre &&
		(m->pre.len != m->key.len || memcmp(m->pre.data, m->key.data, m->key.len))) {
		bm_del(&m->bm, m->pre.data, m->pre.len);
		LK_FORWARD(sy_pkindex_delete(idx_of(m), m->pre.data, m->pre.len, err));
	}
	if (old) {
		/* a key-changing update: the old key has no image any more */
		lk_error e;
		if (key_from_vals(m, old, &m->key2, &e) &&
			(m->key2.len != m->key.len || memcmp(m->key2.data, m->key.data, m->key.len))) {
			bm_del(&m->bm, m->key2.data, m->key2.len);
			LK_FORWARD(sy_pkindex_delete(idx_of(m), m->key2.data, m->key2.len, err));
			m->idx_dirty = true;
		}
	}
	if (image) {
		bm_put(&m->bm, m->key.data, m->key.len, row);
	} else {
		bm_del(&m->bm, m->key.data, m->key.len);
		LK_FORWARD(sy_pkindex_delete(idx_of(m), m->key.data, m->key.len, err));
		m->idx_dirty = true;
	}
	return true;
}

bool
sy_mirror_history_before_write(sy_table *t, lk_error *err)
{
	sy_mirror *m = t->mirror;
	if (!m || !m->nfx)
		return true;
	lk_batch *nb;
	LK_FORWARD(compose(m, NULL, t->batch->nrows, &nb, err));
	if (nb) {
		lk_batch_free(t->batch);
		t->batch = nb;
	}
	m->nfx = 0;
	lk_arena_reset(&m->fxa);
	return true;
}

bool
sy_mirror_history_after_write(sy_table *t, const char *add_path, lk_error *err)
{
	sy_mirror *m = t->mirror;
	if (!sy_mirror_history_indexed(t))
		return true;
	if (!add_path)
		return lk_error_set(err, LK_ERR_INTERNAL, "the data writer added no file");
	uint32_t fid;
	LK_FORWARD(sy_pkindex_file_id(idx_of(m), add_path, &fid, err));
	for (size_t i = 0; i < m->bm.cap; i++) {
		const bment *e = &m->bm.e[i];
		if (e->state == 1)
			LK_FORWARD(sy_pkindex_put(idx_of(m), m->bm.keys.data + e->off, e->len, fid,
									  (uint64_t) e->row, err));
	}
	m->idx_dirty = true;
	bm_clear(&m->bm);
	return true;
}

void
sy_mirror_history_committed(sy_table *t, int64_t version)
{
	sy_mirror *m = t->mirror;
	if (!sy_mirror_history_indexed(t))
		return;
	m->idx_dirty = false;
	maybe_save(m, version);
}

void
sy_mirror_history_discard(sy_table *t)
{
	sy_mirror *m = t->mirror;
	if (!m)
		return;
	m->nfx = 0;
	lk_arena_reset(&m->fxa);
	bm_clear(&m->bm);
	if (m->idx_open && m->idx_dirty)
		index_close(m, false);
}

/* ---- maintenance --------------------------------------------------------------- */

int
sy_mirror_key_indexes(const sy_table *t, int *out)
{
	const sy_mirror *m = t->mirror;
	if (!m || !m->checked || m->nkey == 0)
		return 0;
	for (int k = 0; k < m->nkey; k++)
		out[k] = t->cols[m->key_src[k]].delta_index;
	return m->nkey;
}

static const dl_add *
hook_current_file(void *ctx, const char *path)
{
	sy_table *t = ctx;
	fent *e = fmap_get(t->mirror, path);
	return e ? &e->add : NULL;
}

static bool
hook_file_added(void *ctx, const dl_add *add, lk_error *err)
{
	sy_table *t = ctx;
	sy_mirror *m = t->mirror;
	if (t->mode == SY_TABLE_MIRROR && m->files_loaded)
		return fmap_put(m, add, err);
	return true;
}

/* The entry of key (bytes as sy_pkindex_key_from_row gives them) moves
 * from (src_path, src_row) to (out_path, out_row) when it is still there
 * (whole-row keys: the ordinal that points there). */
static bool
hook_row_moved(void *ctx, const void *key, size_t len, const char *src_path,
			   uint64_t src_row, const char *out_path, uint64_t out_row, lk_error *err)
{
	sy_table *t = ctx;
	sy_mirror *m = t->mirror;
	if (!m->idx_open)
		return true;
	sy_pkindex *idx = idx_of(m);
	lk_buf_reset(&m->key);
	lk_buf_append(&m->key, key, len);
	key_finish(m, &m->key);
	size_t base = m->key.len;
	for (uint64_t o = 0;; o++) {
		if (m->full) {
			m->key.len = base;
			lk_buf_append_uvarint(&m->key, o);
		}
		bool found;
		sy_pkindex_loc pl;
		LK_FORWARD(sy_pkindex_get(idx, m->key.data, m->key.len, &found, &pl, err));
		if (!found)
			return true;
		if (pl.row == src_row && pl.path && strcmp(pl.path, src_path) == 0) {
			uint32_t fid;
			LK_FORWARD(sy_pkindex_file_id(idx, out_path, &fid, err));
			return sy_pkindex_put(idx, m->key.data, m->key.len, fid, out_row, err);
		}
		if (!m->full)
			return true;
	}
}

static bool
hook_file_removed(void *ctx, const dl_add *removed, lk_error *err)
{
	sy_table *t = ctx;
	sy_mirror *m = t->mirror;
	if (t->mode == SY_TABLE_MIRROR && m->files_loaded)
		fmap_del(m, removed->path);
	if (m->idx_open) {
		uint32_t fid;
		sy_pkindex *idx = idx_of(m);
		LK_FORWARD(sy_pkindex_file_id(idx, removed->path, &fid, err));
		LK_FORWARD(sy_pkindex_remove_file(idx, fid, err));
	}
	return true;
}

void
sy_mirror_maint_hooks(sy_table *t, sy_maint_hooks *h)
{
	memset(h, 0, sizeof(*h));
	h->ctx = t;
	sy_mirror *m = t->mirror;
	h->current_file = t->mode == SY_TABLE_MIRROR && m && m->files_loaded ? hook_current_file
																		  : NULL;
	h->file_added = hook_file_added;
	h->row_moved = hook_row_moved;
	h->file_removed = hook_file_removed;
}

void
sy_mirror_index_lost(sy_table *t)
{
	sy_mirror *m = t->mirror;
	if (!m)
		return;
	index_close(m, false);
	fmap_clear(m);
}
