/*
 * mindex.c — lifecycle of the mirror-mode primary-key index. See mindex.h.
 *
 * The saved sy_pkindex carries, as its "table id", a signature of what its
 * keys mean (written atomically with its manifest):
 *
 *   "<metaData.id>\n" then per key column "<d|p>:<physical name>:<type>\n"
 *   (d = read from data files, p = a partition column)
 *
 * A different signature at open means another table or other key bytes:
 * rebuild.
 *
 * Catch-up (saved version s < V): commits s+1 .. V are read from
 * _delta_log and reduced to a net change per data file (canonical decoded
 * path), compared with snapshot V:
 *
 *   before (first commit touching the path)   after (snapshot V)
 *   ---------------------------------------   ------------------
 *   remove in it   → live at s, DV of remove  file in V → live, its DV
 *   only an add    → not live at s            else      → not live
 *
 *   live → gone          sy_pkindex_remove_file
 *   gone → live          read its key columns, put every row not in its DV
 *   live → live, DV b→v  read its key columns at rows (v \ b): delete the
 *                        key if it still points at (file, row); rows
 *                        (b \ v): put
 *   gone → gone          nothing (a file added and removed in the window)
 *
 *   live → live under another spelling of the path: remove, then as new
 *
 * Removed and new files are applied first, DV changes second, so the
 * conditional deletes come after every put.  The result equals a rebuild
 * at V as long as keys are unique among the live rows of V (true for a
 * primary key; with REPLICA IDENTITY FULL duplicates, the index holds one
 * of the equal rows, which one may differ from a rebuild).
 *
 * An add without a remove of a path live at s (a re-add with the same DV,
 * e.g. new stats) reads the file again: same keys, same rows.  The same
 * replay serves sy_mindex_catch_up, from the version the live index
 * reflects.
 *
 * Row positions: data files are read without a deletion filter so batches
 * (one per row group) arrive with every row in file order; the position of
 * a row is the running count, and deleted rows are skipped here.
 */
#include "sync/mindex.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/arena.h"
#include "delta/dv.h"
#include "delta/scan.h"
#include "delta/writer.h"

struct sy_mindex {
	sy_pkindex *idx;            /* owned */
	char *dir;
	size_t budget;
	int64_t version;
	int nkey;
	char **key_names;           /* logical names as given to open */
	int *key_index;             /* logical index in the schema at open */
	lk_type *key_type;          /* their logical types (primitive copies) */
	bool broken;                /* a replay failed half way: rebuild only */
};

/* ---------- key layout ---------- */

typedef struct keylayout {
	dl_layout full;
	dl_layout proj;             /* data = the key columns read from files */
	int nkey;
	int *logical;               /* logical index of key column i */
	int *src;                   /* >= 0: column of proj.data; -1: partition */
	const char **part_key;      /* partitionValues key (physical) or NULL */
	const lk_type **type;       /* logical type of key column i */
	bool simple;                /* no partition key: proj columns in key order */
	char *sig;
} keylayout;

static bool
keylayout_make(const dl_snapshot *snap, char *const *names, int nkey,
			   lk_arena *a, keylayout *kl, lk_error *err)
{
	memset(kl, 0, sizeof(*kl));
	if (!snap->has_schema)
		return lk_error_set(err, LK_ERR_CORRUPT, "the table has no schema");
	if (nkey <= 0)
		return lk_error_set(err, LK_ERR_INVALID, "a mirror index needs at least "
							"one key column");
	LK_FORWARD(dl_layout_make(&snap->schema, snap->column_mapping,
							  &snap->metadata.partition_columns, a, &kl->full,
							  err));
	const lk_type *lt = snap->schema.type;
	kl->nkey = nkey;
	kl->logical = lk_arena_alloc(a, sizeof(int) * (size_t) nkey);
	kl->src = lk_arena_alloc(a, sizeof(int) * (size_t) nkey);
	kl->part_key = lk_arena_zalloc(a, sizeof(char *) * (size_t) nkey);
	kl->type = lk_arena_alloc(a, sizeof(lk_type *) * (size_t) nkey);
	lk_buf sig = LK_BUF_INIT;
	lk_buf_printf(&sig, "%s\n", snap->metadata.id ? snap->metadata.id : "");
	int ndata = 0;
	kl->simple = true;
	for (int i = 0; i < nkey; i++) {
		int li = dl_schema_field_index(lt, names[i]);
		if (li < 0) {
			lk_buf_free(&sig);
			lk_error_set(err, LK_ERR_INVALID, "key column \"%s\" is not in the "
						 "table schema", names[i]);
			return lk_error_where(err, "mirror index");
		}
		const lk_type *t = lt->children[li].type;
		if (lk_type_is_nested(t)) {
			lk_buf_free(&sig);
			lk_error_set(err, LK_ERR_UNSUPPORTED, "nested key column \"%s\" (%s)",
						 names[i], lk_type_id_name(t->id));
			return lk_error_where(err, "mirror index");
		}
		kl->logical[i] = li;
		kl->type[i] = t;
		int p = -1;
		for (int k = 0; k < kl->full.npart; k++)
			if (kl->full.part_index[k] == li)
				p = k;
		const char *phys = kl->full.physical->children[li].name;
		if (p >= 0) {
			kl->src[i] = -1;
			kl->part_key[i] = kl->full.part_key[p];
			kl->simple = false;
		} else {
			kl->src[i] = ndata++;
		}
		char *tn = lk_type_name(a, t);
		lk_buf_printf(&sig, "%c:%s:%s\n", p >= 0 ? 'p' : 'd', phys, tn);
	}
	if (ndata == 0) {
		lk_buf_free(&sig);
		return lk_error_set(err, LK_ERR_UNSUPPORTED, "every key column is a "
							"partition column: rows of a file cannot be told apart");
	}
	kl->sig = lk_arena_strdup(a, lk_buf_cstr(&sig));
	lk_buf_free(&sig);
	/* projection: the key data columns, in key order */
	lk_type *dt = lk_type_struct(a, ndata);
	for (int i = 0; i < nkey; i++)
		if (kl->src[i] >= 0)
			dt->children[kl->src[i]] = kl->full.physical->children[kl->logical[i]];
	kl->proj = kl->full;
	kl->proj.data = dt;
	kl->proj.ndata = ndata;
	kl->proj.npart = 0;
	return true;
}

/* ---------- reading the keys of a data file ---------- */

typedef enum rmode {
	RM_BULK,                    /* bulk_add rows not in `skip` */
	RM_PUT,                     /* put rows not in `skip` */
	RM_DIFF,                    /* rows in `del`: conditional delete;
								 * rows in `res`: put */
} rmode;

typedef struct reader {
	sy_pkindex *idx;
	const keylayout *kl;
	rmode mode;
	const char *raw;            /* add path as in the log (index form) */
	uint32_t fid;
	const dl_bitmap *skip, *del, *res;
	lk_column *pcols;           /* per key column: 1-row partition value */
	int64_t row0;
	lk_buf key, tmp;
	int64_t rows;               /* rows fed to the index */
} reader;

static bool
key_of(reader *r, const lk_batch *b, int64_t i, lk_error *err)
{
	const keylayout *kl = r->kl;
	if (kl->simple)
		return sy_pkindex_key_from_row(b->cols, b->ncols, i, &r->key, err);
	lk_buf_reset(&r->key);
	for (int k = 0; k < kl->nkey; k++) {
		bool ok = kl->src[k] >= 0
			? sy_pkindex_key_from_row(&b->cols[kl->src[k]], 1, i, &r->tmp, err)
			: sy_pkindex_key_from_row(&r->pcols[k], 1, 0, &r->tmp, err);
		if (!ok)
			return false;
		lk_buf_append(&r->key, r->tmp.data, r->tmp.len);
	}
	return true;
}

static bool
rows_cb(void *ctx, const lk_batch *b, lk_error *err)
{
	reader *r = ctx;
	for (int64_t i = 0; i < b->nrows; i++) {
		uint64_t pos = (uint64_t) (r->row0 + i);
		if (r->mode == RM_DIFF) {
			bool del = dl_bitmap_contains(r->del, pos);
			if (!del && !dl_bitmap_contains(r->res, pos))
				continue;
			LK_FORWARD(key_of(r, b, i, err));
			if (del) {
				bool found;
				sy_pkindex_loc loc;
				LK_FORWARD(sy_pkindex_get(r->idx, r->key.data, r->key.len,
										  &found, &loc, err));
				if (found && loc.file_id == r->fid && loc.row == pos)
					LK_FORWARD(sy_pkindex_delete(r->idx, r->key.data,
												 r->key.len, err));
			} else {
				LK_FORWARD(sy_pkindex_put(r->idx, r->key.data, r->key.len,
										  r->fid, pos, err));
				r->rows++;
			}
			continue;
		}
		if (r->skip && dl_bitmap_contains(r->skip, pos))
			continue;
		LK_FORWARD(key_of(r, b, i, err));
		if (r->mode == RM_BULK)
			LK_FORWARD(sy_pkindex_bulk_add(r->idx, r->key.data, r->key.len,
										   r->raw, pos, err));
		else
			LK_FORWARD(sy_pkindex_put(r->idx, r->key.data, r->key.len, r->fid,
									  pos, err));
		r->rows++;
	}
	r->row0 += b->nrows;
	return true;
}

/* Read the key columns of one data file (decoded store path `path`,
 * partition values pv) and feed the index as r->mode says. */
static bool
read_file(st_store *st, reader *r, const char *path, const dl_map *pv,
		  lk_error *err)
{
	const keylayout *kl = r->kl;
	r->row0 = 0;
	bool ok = true;
	if (!kl->simple) {
		for (int k = 0; ok && k < kl->nkey; k++) {
			if (kl->src[k] >= 0)
				continue;
			lk_column_reset(&r->pcols[k]);
			ok = dl_partition_value_append(&r->pcols[k],
										   dl_map_get(pv, kl->part_key[k], NULL),
										   err);
		}
		if (!ok)
			return lk_error_add_where(err, "data file \"%s\"", path);
	}
	return dl_data_file_read(st, &kl->proj, path, NULL, NULL, rows_cb, r, err);
}

static void
reader_init(reader *r, sy_pkindex *idx, const keylayout *kl)
{
	memset(r, 0, sizeof(*r));
	r->idx = idx;
	r->kl = kl;
	lk_buf_init(&r->key);
	lk_buf_init(&r->tmp);
	if (!kl->simple) {
		r->pcols = lk_xcalloc((size_t) kl->nkey, sizeof(lk_column));
		for (int k = 0; k < kl->nkey; k++)
			if (kl->src[k] < 0)
				lk_column_init(&r->pcols[k], kl->type[k]);
	}
}

static void
reader_free(reader *r)
{
	if (r->pcols) {
		for (int k = 0; k < r->kl->nkey; k++)
			if (r->kl->src[k] < 0)
				lk_column_destroy(&r->pcols[k]);
		free(r->pcols);
	}
	lk_buf_free(&r->key);
	lk_buf_free(&r->tmp);
}

/* Deletion vector of a file into bm (initialised by the caller); no DV:
 * empty. */
static bool
load_dv(st_store *st, bool has_dv, const dl_dv *dv, dl_bitmap *bm,
		const char *path, lk_error *err)
{
	if (!has_dv)
		return true;
	if (!dl_dv_load(st, dv, bm, err))
		return lk_error_add_where(err, "deletion vector of \"%s\"", path);
	return true;
}

/* ---------- rebuild ---------- */

typedef struct scanctx {
	st_store *st;
	const dl_snapshot *snap;
	const keylayout *kl;
	int64_t files, rows;
} scanctx;

static bool
scan_all(void *ctx, sy_pkindex *idx, lk_error *err)
{
	scanctx *sc = ctx;
	reader r;
	reader_init(&r, idx, sc->kl);
	r.mode = RM_BULK;
	bool ok = true;
	for (size_t i = 0; ok && i < sc->snap->nfiles; i++) {
		const dl_file *f = &sc->snap->files[i];
		dl_bitmap dv;
		dl_bitmap_init(&dv);
		ok = load_dv(sc->st, f->add.has_dv, &f->add.dv, &dv, f->path, err);
		r.raw = f->add.path;
		r.skip = f->add.has_dv ? &dv : NULL;
		if (ok)
			ok = read_file(sc->st, &r, f->path, &f->add.partition_values, err);
		dl_bitmap_free(&dv);
		sc->files++;
	}
	sc->rows = r.rows;
	reader_free(&r);
	return ok;
}

static bool
mkdirs(const char *dir, lk_error *err)
{
	char *p = lk_xstrdup(dir);
	bool ok = true;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			ok = lk_error_set(err, LK_ERR_IO, "could not create directory "
							  "\"%s\": %s", p, strerror(errno));
		*s = c;
		if (!ok || c == '\0')
			break;
	}
	free(p);
	return ok;
}

static sy_pkindex_opts
opts_of(const sy_mindex *m)
{
	sy_pkindex_opts o;
	memset(&o, 0, sizeof(o));
	o.memory_budget = m->budget;
	return o;
}

/* New index at the snapshot's version from a scan of every live row; the
 * previous one (if any) is closed first. Saves at V. */
static bool
rebuild(sy_mindex *m, st_store *st, const dl_snapshot *snap,
		const keylayout *kl, sy_mindex_stats *stats, lk_error *err)
{
	sy_pkindex_close(m->idx);
	m->idx = NULL;
	m->version = -1;
	m->broken = true;           /* until the rebuild is complete */
	sy_pkindex_opts o = opts_of(m);
	m->idx = sy_pkindex_create(m->dir, kl->sig, &o, err);
	if (!m->idx)
		return false;
	scanctx sc = {st, snap, kl, 0, 0};
	if (!sy_pkindex_bulk_load(m->idx, scan_all, &sc, err))
		return false;
	stats->rebuilt = true;
	stats->files_read += sc.files;
	stats->rows_scanned += sc.rows;
	LK_FORWARD(sy_pkindex_save(m->idx, NULL, snap->version, err));
	m->version = snap->version;
	m->broken = false;
	return true;
}

/* ---------- catch-up ---------- */

typedef struct touch {
	const char *canon;          /* canonical decoded path */
	const char *raw;            /* as in the action */
	int64_t seq;                /* commit order */
	bool is_remove;
	bool has_dv;
	dl_dv dv;
} touch;

static int
cmp_touch(const void *x, const void *y)
{
	const touch *a = x, *b = y;
	int c = strcmp(a->canon, b->canon);
	if (c)
		return c;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return (int) b->is_remove - (int) a->is_remove;   /* removes first */
}

/* The file of snapshot V with canonical path p, or NULL. */
static const dl_file *
find_file(const dl_snapshot *snap, const char *p)
{
	size_t lo = 0, hi = snap->nfiles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(snap->files[mid].path, p) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < snap->nfiles && strcmp(snap->files[lo].path, p) == 0)
		return &snap->files[lo];
	return NULL;
}

static bool
same_dv(bool ha, const dl_dv *a, bool hb, const dl_dv *b, lk_arena *ar)
{
	if (ha != hb)
		return false;
	if (!ha)
		return true;
	return strcmp(dl_dv_unique_id(a, ar), dl_dv_unique_id(b, ar)) == 0;
}

/* Read commits from+1 .. to into touches (arena a). Any failure (a commit
 * missing, unreadable or malformed) is reported in err; the caller
 * rebuilds. */
static bool
collect(st_store *st, int64_t from, int64_t to, lk_arena *a, touch **out,
		size_t *n, lk_error *err)
{
	size_t cap = 64, nt = 0;
	touch *t = lk_xmalloc(cap * sizeof(touch));
	lk_buf b = LK_BUF_INIT;
	bool ok = true;
	for (int64_t v = from + 1; ok && v <= to; v++) {
		char path[64];
		snprintf(path, sizeof(path), "_delta_log/%020" PRId64 ".json", v);
		if (!st_read_all(st, path, (uint64_t) 1 << 30, &b, err)) {
			ok = false;
			break;
		}
		dl_action *acts;
		size_t na;
		if (!dl_actions_parse((const char *) b.data, b.len, path, a, &acts,
							  &na, err)) {
			ok = false;
			break;
		}
		for (size_t i = 0; ok && i < na; i++) {
			const char *raw;
			bool is_remove, has_dv;
			const dl_dv *dv;
			if (acts[i].type == DL_ACT_ADD) {
				raw = acts[i].u.add.path;
				is_remove = false;
				has_dv = acts[i].u.add.has_dv;
				dv = &acts[i].u.add.dv;
			} else if (acts[i].type == DL_ACT_REMOVE) {
				raw = acts[i].u.remove.path;
				is_remove = true;
				has_dv = acts[i].u.remove.has_dv;
				dv = &acts[i].u.remove.dv;
			} else {
				continue;
			}
			char *dec;
			if (!st_path_decode(raw, a, &dec, err)) {
				ok = lk_error_add_where(err, "file \"%s\"", path);
				break;
			}
			if (nt == cap) {
				cap *= 2;
				t = lk_xrealloc(t, cap * sizeof(touch));
			}
			t[nt].canon = st_path_canonical(st, dec, a);
			t[nt].raw = raw;
			t[nt].seq = v;
			t[nt].is_remove = is_remove;
			t[nt].has_dv = has_dv;
			t[nt].dv = *dv;
			nt++;
		}
	}
	lk_buf_free(&b);
	if (!ok) {
		free(t);
		return false;
	}
	qsort(t, nt, sizeof(touch), cmp_touch);
	*out = t;
	*n = nt;
	return true;
}

/* rows in a but not in b → out (initialised by the caller) */
static bool
bitmap_minus(const dl_bitmap *a, const dl_bitmap *b, dl_bitmap *out,
			 lk_error *err)
{
	uint64_t *rows;
	size_t n;
	LK_FORWARD(dl_bitmap_to_array(a, (uint64_t) 1 << 40, &rows, &n, err));
	for (size_t i = 0; i < n; i++)
		if (!dl_bitmap_contains(b, rows[i]))
			dl_bitmap_add(out, rows[i]);
	free(rows);
	return true;
}

/* Net change of one data file (first = its first touch in the window,
 * after = its file in V or NULL). Pass 0 handles removed and new files,
 * pass 1 changed deletion vectors, so the conditional deletes come after
 * every put: a key that moved to another file is never lost, whatever
 * the order of the paths. */
static bool
apply_file(sy_mindex *m, st_store *st, const touch *first, const dl_file *after,
		   int pass, reader *r, lk_arena *a, sy_mindex_stats *stats,
		   lk_error *err)
{
	sy_pkindex *idx = m->idx;
	bool before = first->is_remove;
	if (!before && !after)
		return true;            /* added and removed inside the window */
	bool same_raw = before && after && strcmp(first->raw, after->add.path) == 0;
	bool dv_change = same_raw;
	if (same_raw && same_dv(first->has_dv, &first->dv, after->add.has_dv,
							&after->add.dv, a))
		return true;            /* removed and re-added as it was */
	if ((pass == 1) != dv_change)
		return true;
	if (before && !same_raw) {
		/* gone, or back under another spelling of its path: start over */
		uint32_t id;
		LK_FORWARD(sy_pkindex_file_id(idx, first->raw, &id, err));
		LK_FORWARD(sy_pkindex_remove_file(idx, id, err));
	}
	if (!after)
		return true;
	dl_bitmap dv_after, dv_before, del, res;
	dl_bitmap_init(&dv_after);
	dl_bitmap_init(&dv_before);
	dl_bitmap_init(&del);
	dl_bitmap_init(&res);
	bool ok = load_dv(st, after->add.has_dv, &after->add.dv, &dv_after,
					  after->path, err) &&
			  sy_pkindex_file_id(idx, after->add.path, &r->fid, err);
	r->raw = after->add.path;
	if (ok && dv_change) {
		ok = load_dv(st, first->has_dv, &first->dv, &dv_before, after->path,
					 err) &&
			 bitmap_minus(&dv_after, &dv_before, &del, err) &&
			 bitmap_minus(&dv_before, &dv_after, &res, err);
		r->mode = RM_DIFF;
		r->del = &del;
		r->res = &res;
		if (ok && (del.nbuckets || res.nbuckets)) {
			ok = read_file(st, r, after->path, &after->add.partition_values, err);
			stats->files_read++;
		}
	} else if (ok) {
		r->mode = RM_PUT;
		r->skip = after->add.has_dv ? &dv_after : NULL;
		ok = read_file(st, r, after->path, &after->add.partition_values, err);
		stats->files_read++;
	}
	dl_bitmap_free(&dv_after);
	dl_bitmap_free(&dv_before);
	dl_bitmap_free(&del);
	dl_bitmap_free(&res);
	return ok;
}

/* Apply the net change of commits saved+1 .. V (touches sorted) to the
 * index. Errors here are real (data files unreadable). */
static bool
apply_touches(sy_mindex *m, st_store *st, const dl_snapshot *snap,
			  const keylayout *kl, const touch *t, size_t nt, lk_arena *a,
			  sy_mindex_stats *stats, lk_error *err)
{
	reader r;
	reader_init(&r, m->idx, kl);
	bool ok = true;
	for (int pass = 0; ok && pass < 2; pass++) {
		for (size_t i = 0; ok && i < nt;) {
			size_t j = i + 1;
			while (j < nt && strcmp(t[j].canon, t[i].canon) == 0)
				j++;
			ok = apply_file(m, st, &t[i], find_file(snap, t[i].canon), pass,
							&r, a, stats, err);
			i = j;
		}
	}
	stats->rows_scanned += r.rows;
	reader_free(&r);
	return ok;
}

/* ---------- public ---------- */

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Bring the open index, which reflects m->version, to snap's version:
 * replay, or rebuild when it cannot be trusted. Saves at the end when
 * `save` (always after a rebuild). */
static bool
catch_up(sy_mindex *m, st_store *st, const dl_snapshot *snap,
		 const keylayout *kl, bool save, sy_mindex_stats *stats, lk_error *err)
{
	int64_t from = m->version;
	if (m->broken) {
		stats->reason = "index broken by an earlier failure";
		return rebuild(m, st, snap, kl, stats, err);
	}
	if (strcmp(sy_pkindex_table_id(m->idx), kl->sig) != 0) {
		/* which part differs: the table id is the first line */
		const char *a = sy_pkindex_table_id(m->idx), *b = kl->sig;
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
		stats->reason = la != lb || memcmp(a, b, la) != 0
			? "saved index is of another table (table id differs)"
			: "key columns changed (name, type or partitioning)";
		return rebuild(m, st, snap, kl, stats, err);
	}
	if (from > snap->version) {
		stats->reason = "saved index is newer than the table version";
		return rebuild(m, st, snap, kl, stats, err);
	}
	if (from < 0) {
		stats->reason = "saved index has no version";
		return rebuild(m, st, snap, kl, stats, err);
	}
	if (from == snap->version)
		return true;
	lk_arena a;
	lk_arena_init(&a, 0);
	touch *t = NULL;
	size_t nt = 0;
	lk_error lerr;
	lk_error_clear(&lerr);
	if (!collect(st, from, snap->version, &a, &t, &nt, &lerr)) {
		lk_arena_free(&a);
		stats->reason = lerr.code == LK_ERR_NOT_FOUND
			? "commits since the saved version are no longer in the log"
			: "commits since the saved version could not be read";
		return rebuild(m, st, snap, kl, stats, err);
	}
	bool ok = apply_touches(m, st, snap, kl, t, nt, &a, stats, err);
	free(t);
	lk_arena_free(&a);
	if (!ok) {
		m->broken = true;       /* half applied: only a rebuild helps */
		return false;
	}
	stats->replayed_commits = snap->version - from;
	if (save)
		LK_FORWARD(sy_pkindex_save(m->idx, NULL, snap->version, err));
	m->version = snap->version;
	return true;
}

/* Load / catch up / rebuild m->idx for snap (keylayout kl). */
static bool
bring_up(sy_mindex *m, st_store *st, const dl_snapshot *snap,
		 const keylayout *kl, sy_mindex_stats *stats, lk_error *err)
{
	sy_pkindex_opts o = opts_of(m);
	int64_t saved = -1;
	lk_error oerr;
	lk_error_clear(&oerr);
	m->idx = sy_pkindex_open(m->dir, &o, &saved, &oerr);
	if (!m->idx) {
		stats->reason = oerr.code == LK_ERR_NOT_FOUND ? "no saved index"
					  : oerr.code == LK_ERR_CORRUPT   ? "saved index is corrupt"
													  : "saved index unreadable";
		return rebuild(m, st, snap, kl, stats, err);
	}
	stats->saved_version = saved;
	m->version = saved;
	return catch_up(m, st, snap, kl, true, stats, err);
}

/* The caller's stats (local when it passed none), cleared for snap. */
static sy_mindex_stats *
stats_init(sy_mindex_stats *s, sy_mindex_stats *local, const dl_snapshot *snap)
{
	if (!s)
		s = local;
	memset(s, 0, sizeof(*s));
	s->saved_version = -1;
	s->version = snap->version;
	return s;
}

static bool
set_keys(sy_mindex *m, const keylayout *kl)
{
	for (int i = 0; i < kl->nkey; i++) {
		m->key_index[i] = kl->logical[i];
		m->key_type[i] = *kl->type[i];      /* shallow: id, precision, scale */
		m->key_type[i].nchildren = 0;
		m->key_type[i].children = NULL;
	}
	return true;
}

/* What sy_mindex_open, sy_mindex_rebuild and sy_mindex_catch_up do once the
 * key columns are resolved in snap's schema. */
typedef enum keyed_step { STEP_BRING_UP, STEP_REBUILD, STEP_CATCH_UP } keyed_step;

static bool
with_keys(sy_mindex *m, st_store *st, const dl_snapshot *snap, keyed_step step,
		  sy_mindex_stats *stats, lk_error *err)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	keylayout kl;
	bool ok = keylayout_make(snap, m->key_names, m->nkey, &a, &kl, err) && set_keys(m, &kl);
	if (ok) {
		switch (step) {
		case STEP_BRING_UP:
			ok = bring_up(m, st, snap, &kl, stats, err);
			break;
		case STEP_REBUILD:
			ok = rebuild(m, st, snap, &kl, stats, err);
			break;
		case STEP_CATCH_UP:
			ok = catch_up(m, st, snap, &kl, false, stats, err);
			break;
		}
	}
	lk_arena_free(&a);
	return ok;
}

sy_mindex *
sy_mindex_open(st_store *st, const dl_snapshot *snap, const char *dir,
			   const char *const *key_cols, int nkey, size_t memory_budget,
			   sy_mindex_stats *stats, lk_error *err)
{
	int64_t t0 = now_ms();
	sy_mindex_stats local;
	stats = stats_init(stats, &local, snap);
	if (nkey <= 0 || !key_cols) {
		lk_error_set(err, LK_ERR_INVALID, "a mirror index needs at least one "
					 "key column");
		return NULL;
	}
	if (!mkdirs(dir, err))
		return NULL;
	sy_mindex *m = lk_xcalloc(1, sizeof(*m));
	m->dir = lk_xstrdup(dir);
	m->budget = memory_budget;
	m->version = -1;
	m->nkey = nkey;
	m->key_names = lk_xcalloc((size_t) nkey, sizeof(char *));
	m->key_index = lk_xcalloc((size_t) nkey, sizeof(int));
	m->key_type = lk_xcalloc((size_t) nkey, sizeof(lk_type));
	for (int i = 0; i < nkey; i++)
		m->key_names[i] = lk_xstrdup(key_cols[i]);
	bool ok = with_keys(m, st, snap, STEP_BRING_UP, stats, err);
	stats->ms = now_ms() - t0;
	if (!ok) {
		sy_mindex_close(m);
		return NULL;
	}
	return m;
}

/* sy_mindex_rebuild and sy_mindex_catch_up of an open index. */
static bool
refresh(sy_mindex *m, st_store *st, const dl_snapshot *snap, keyed_step step,
		sy_mindex_stats *stats, lk_error *err)
{
	int64_t t0 = now_ms();
	sy_mindex_stats local;
	stats = stats_init(stats, &local, snap);
	stats->saved_version = m->version;
	if (step == STEP_REBUILD)
		stats->reason = "rebuild requested";
	bool ok = with_keys(m, st, snap, step, stats, err);
	stats->ms = now_ms() - t0;
	return ok;
}

bool
sy_mindex_rebuild(sy_mindex *m, st_store *st, const dl_snapshot *snap,
				  sy_mindex_stats *stats, lk_error *err)
{
	return refresh(m, st, snap, STEP_REBUILD, stats, err);
}

bool
sy_mindex_set_version(sy_mindex *m, int64_t version, lk_error *err)
{
	if (m->broken)
		return lk_error_set(err, LK_ERR_INVALID, "mirror index is broken by an "
							"earlier failure: rebuild it");
	if (version < m->version)
		return lk_error_set(err, LK_ERR_INVALID, "mirror index at version %" PRId64
							" cannot go back to version %" PRId64, m->version,
							version);
	m->version = version;
	return true;
}

bool
sy_mindex_catch_up(sy_mindex *m, st_store *st, const dl_snapshot *snap,
				   sy_mindex_stats *stats, lk_error *err)
{
	return refresh(m, st, snap, STEP_CATCH_UP, stats, err);
}

sy_pkindex *
sy_mindex_pkindex(sy_mindex *m)
{
	return m->idx;
}

int64_t
sy_mindex_version(const sy_mindex *m)
{
	return m->version;
}

int
sy_mindex_key_column(const sy_mindex *m, int i)
{
	return i >= 0 && i < m->nkey ? m->key_index[i] : -1;
}

int
sy_mindex_nkey(const sy_mindex *m)
{
	return m->nkey;
}

bool
sy_mindex_key_from_batch(const sy_mindex *m, const lk_batch *b, int64_t row,
						 lk_buf *out, lk_error *err)
{
	lk_column stackcols[16];
	lk_column *cols = m->nkey <= 16 ? stackcols
									: lk_xmalloc(sizeof(lk_column) * (size_t) m->nkey);
	bool ok = true;
	for (int i = 0; i < m->nkey; i++) {
		if (m->key_index[i] >= b->ncols) {
			ok = lk_error_set(err, LK_ERR_INVALID, "batch has %d columns, key "
							  "column \"%s\" is column %d", b->ncols,
							  m->key_names[i], m->key_index[i]);
			break;
		}
		const lk_type *t = b->cols[m->key_index[i]].type;
		const lk_type *k = &m->key_type[i];
		if (t->id != k->id || t->scale != k->scale || t->unit != k->unit) {
			lk_arena ta;
			lk_arena_init(&ta, 0);
			ok = lk_error_set(err, LK_ERR_INVALID, "key column \"%s\" is %s in the "
							  "batch but %s in the table", m->key_names[i],
							  lk_type_name(&ta, t), lk_type_name(&ta, k));
			lk_arena_free(&ta);
			break;
		}
		cols[i] = b->cols[m->key_index[i]];   /* shallow: read only */
	}
	if (ok)
		ok = sy_pkindex_key_from_row(cols, m->nkey, row, out, err);
	if (cols != stackcols)
		free(cols);
	return ok;
}

bool
sy_mindex_save(sy_mindex *m, int64_t version, lk_error *err)
{
	if (!m->idx || m->broken)
		return lk_error_set(err, LK_ERR_INVALID, "mirror index is broken by an "
							"earlier failure: rebuild it");
	if (version < m->version)
		return lk_error_set(err, LK_ERR_INVALID, "mirror index at version %" PRId64
							" cannot be saved as of the older version %" PRId64,
							m->version, version);
	LK_FORWARD(sy_pkindex_save(m->idx, NULL, version, err));
	m->version = version;
	return true;
}

void
sy_mindex_close(sy_mindex *m)
{
	if (!m)
		return;
	sy_pkindex_close(m->idx);
	for (int i = 0; m->key_names && i < m->nkey; i++)
		free(m->key_names[i]);
	free(m->key_names);
	free(m->key_index);
	free(m->key_type);
	free(m->dir);
	free(m);
}
