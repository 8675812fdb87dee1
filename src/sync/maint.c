/*
 * maint.c — compaction, checkpoints and vacuum in the capture daemon (see
 * maint.h for the threads, the invariants and the vacuum rule).
 *
 * Row mapping of one bin (sources s0, s1, ... in plan order):
 *
 *   output row   0 .. n0-1          n0 .. n0+n1-1        ...
 *   source row   live rows of s0    live rows of s1
 *                (plan DV skipped)
 *
 *   out_row(s, r) = s.out_start + r − |{d ∈ s.plan_dv : d < r}|
 *
 * so a row r of s deleted after the plan (in s's current DV, not in its
 * plan DV) is output row out_row(s, r): apply puts those in the output's
 * DV.  The key of output row i is keys[koff[i] .. koff[i+1]).
 *
 * Result lifecycle (one per table at a time):
 *
 *   sy_maint_plan_make ─▶ sy_maint_compact ─▶ sy_maint_refresh ─▶ published
 *        (worker)            (worker)            (worker)            │
 *                                                                    ▼
 *   sy_maint_done ◀── sy_maint_apply (capture) ◀── sy_maint_poll (capture)
 *   (busy cleared; outputs never committed are deleted)
 */
#include "sync/maint.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/log.h"
#include "delta/dv.h"
#include "delta/writer.h"
#include "sync/pkindex.h"

#define DEFAULT_RETENTION_MS (7LL * 24 * 3600 * 1000)

/* ---- options ----------------------------------------------------------------- */

void
sy_maint_options_init(sy_maint_options *o)
{
	memset(o, 0, sizeof(*o));
	o->compaction = true;
	o->target_size = 128LL << 20;
	o->small_file_size = 32LL << 20;
	o->max_deleted_ratio = 0.25;
	o->min_files = 8;
	o->max_rows_per_run = 100000;
	o->max_bytes_per_run = 1LL << 30;
	o->compact_interval_ms = 60000;
	o->compact_commits = 100;
	o->checkpoints = true;
	o->checkpoint_interval = 0;
	o->vacuum = true;
	o->vacuum_interval_ms = 6LL * 3600 * 1000;
	o->retention_ms = -1;
}

bool
sy_maint_options_check(const sy_maint_options *o, lk_error *err)
{
	if (o->target_size <= 0 || o->small_file_size <= 0 || o->max_bytes_per_run <= 0)
		return lk_error_set(err, LK_ERR_INVALID, "maintenance sizes must be positive");
	if (!(o->max_deleted_ratio > 0 && o->max_deleted_ratio <= 1))
		return lk_error_set(err, LK_ERR_INVALID,
							"maintenance deleted-row ratio must be in (0, 1], not %g",
							o->max_deleted_ratio);
	if (o->min_files < 2)
		return lk_error_set(err, LK_ERR_INVALID,
							"maintenance needs at least 2 small files per compaction, not %d",
							o->min_files);
	if (o->max_rows_per_run < 0 || o->compact_interval_ms <= 0 || o->compact_commits <= 0 ||
		o->vacuum_interval_ms <= 0 || o->checkpoint_interval < 0)
		return lk_error_set(err, LK_ERR_INVALID, "maintenance intervals must be positive");
	if (o->retention_ms >= 0 && o->retention_ms < SY_MAINT_MIN_RETENTION_MS &&
		!o->force_retention)
		return lk_error_set(err, LK_ERR_INVALID,
							"vacuum retention of %" PRId64 " ms is shorter than 1 hour: files "
							"of commits not yet published could be deleted; force it to use "
							"it anyway",
							o->retention_ms);
	return true;
}

/* ---- small helpers ------------------------------------------------------------- */

static double
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

/* stats.numRecords, -1 when absent. */
static int64_t
stats_num_records(const char *stats)
{
	const char *s = stats ? strstr(stats, "\"numRecords\":") : NULL;
	if (!s)
		return -1;
	char *end;
	long long v = strtoll(s + 13, &end, 10);
	return end != s + 13 && v >= 0 ? v : -1;
}

static const char *
astr(lk_arena *a, const char *s)
{
	return s ? lk_arena_strdup(a, s) : NULL;
}

/* Same deletion vector (both none, or the same unique id). */
static bool
same_dv(const dl_add *a, const dl_add *b)
{
	if (a->has_dv != b->has_dv)
		return false;
	if (!a->has_dv)
		return true;
	return a->dv.storage_type == b->dv.storage_type &&
		   a->dv.has_offset == b->dv.has_offset &&
		   (!a->dv.has_offset || a->dv.offset == b->dv.offset) &&
		   strcmp(a->dv.path_or_inline, b->dv.path_or_inline) == 0;
}

static bool
has_feature(const dl_protocol *p, const char *f)
{
	for (int i = 0; p && i < p->writer_features.n; i++)
		if (strcmp(p->writer_features.items[i], f) == 0)
			return true;
	return false;
}

/* ---- plan ---------------------------------------------------------------------- */

typedef struct cand {
	const dl_file *f;
	const char *pkey;           /* partition key text */
	int64_t nrec, deleted;
	int64_t live_bytes, live_rows;
	bool heavy;                 /* DV-heavy */
} cand;

static int
cmp_cand(const void *x, const void *y)
{
	const cand *a = x, *b = y;
	int c = strcmp(a->pkey, b->pkey);
	if (c)
		return c;
	if (a->f->add.modification_time != b->f->add.modification_time)
		return a->f->add.modification_time < b->f->add.modification_time ? -1 : 1;
	return strcmp(a->f->path, b->f->path);
}

void
sy_maint_plan_free(sy_maint_plan *p)
{
	if (!p)
		return;
	lk_arena_free(&p->arena);
	free(p);
}

bool
sy_maint_plan_make(const dl_snapshot *s, const sy_maint_options *opt, bool indexed,
				   sy_maint_plan **out, lk_error *err)
{
	sy_maint_options o;
	if (opt)
		o = *opt;
	else
		sy_maint_options_init(&o);
	*out = NULL;
	LK_FORWARD(sy_maint_options_check(&o, err));
	int64_t max_rows = indexed && o.max_rows_per_run > 0 ? o.max_rows_per_run : INT64_MAX;

	sy_maint_plan *p = lk_xcalloc(1, sizeof(*p));
	lk_arena_init(&p->arena, 0);
	p->version = s->version;
	p->schema_string = astr(&p->arena, s->metadata.schema_string);

	cand *cs = lk_xmalloc(sizeof(cand) * (s->nfiles + 1));
	size_t nc = 0, nsmall = 0, nheavy = 0;
	lk_buf k = LK_BUF_INIT;
	for (size_t i = 0; i < s->nfiles; i++) {
		const dl_file *f = &s->files[i];
		cand c = {f, "", stats_num_records(f->add.stats), f->add.has_dv ? f->add.dv.cardinality : 0,
				  f->add.size, -1, false};
		if (c.nrec >= 0) {
			c.live_rows = c.nrec - c.deleted;
			if (c.nrec > 0)
				c.live_bytes = (int64_t) ((double) f->add.size * (double) c.live_rows /
										  (double) c.nrec);
			c.heavy = c.deleted > 0 && (c.nrec == 0 || (double) c.deleted >=
										o.max_deleted_ratio * (double) c.nrec);
		}
		/* an indexed table needs the row counts (the cost of the apply) */
		if (indexed && c.nrec < 0)
			continue;
		bool rows_ok = c.nrec < 0 || c.nrec <= max_rows;
		bool small = f->add.size < o.small_file_size &&
					 (max_rows == INT64_MAX || c.nrec < max_rows / 2);
		if (!(small || (c.heavy && rows_ok)))
			continue;
		if (small)
			nsmall++;
		if (c.heavy)
			nheavy++;
		/* the partition: every (key, value) of partitionValues (writers
		 * give them in one order for one table) */
		lk_buf_reset(&k);
		for (int j = 0; j < f->add.partition_values.n; j++) {
			const dl_kv *kv = &f->add.partition_values.items[j];
			lk_buf_append_str(&k, kv->key);
			lk_buf_append_byte(&k, 0x1d);
			lk_buf_append_str(&k, kv->value ? kv->value : "\x1e");
			lk_buf_append_byte(&k, 0x1f);
		}
		c.pkey = lk_arena_strndup(&p->arena, k.data ? (const char *) k.data : "", k.len);
		cs[nc++] = c;
	}
	lk_buf_free(&k);
	if (nsmall < (size_t) o.min_files && nheavy == 0) {
		free(cs);
		*out = p;
		return true;
	}
	qsort(cs, nc, sizeof(cand), cmp_cand);

	p->bins = lk_arena_zalloc(&p->arena, sizeof(sy_maint_bin) * (nc + 1));
	int64_t tot_bytes = 0, tot_rows = 0;
	for (size_t i = 0; i < nc;) {
		size_t j = i;
		int64_t lb = 0, lr = 0;
		bool heavy = false;
		while (j < nc && strcmp(cs[j].pkey, cs[i].pkey) == 0 &&
			   (j == i || (lb + cs[j].live_bytes <= o.target_size &&
						   (cs[j].live_rows < 0 || lr + cs[j].live_rows <= max_rows)))) {
			lb += cs[j].live_bytes;
			if (cs[j].live_rows >= 0 && lr >= 0)
				lr += cs[j].live_rows;
			else
				lr = -1;
			heavy |= cs[j].heavy;
			j++;
		}
		if (j - i >= 2 || heavy) {
			if (p->nbins > 0 && (tot_bytes + lb > o.max_bytes_per_run ||
								 (lr >= 0 && tot_rows + lr > max_rows))) {
				p->more = true;
				break;
			}
			sy_maint_bin *b = &p->bins[p->nbins++];
			b->nsrc = (int) (j - i);
			b->src = lk_arena_zalloc(&p->arena, sizeof(sy_maint_source) * (size_t) b->nsrc);
			b->live_rows = lr;
			for (size_t q = i; q < j; q++) {
				sy_maint_source *src = &b->src[q - i];
				dl_add_copy(&p->arena, &src->add, &cs[q].f->add);
				src->path = astr(&p->arena, cs[q].f->path);
				src->num_records = cs[q].nrec;
				src->deleted = cs[q].deleted;
				b->bytes += cs[q].f->add.size;
			}
			p->files += b->nsrc;
			p->bytes += b->bytes;
			tot_bytes += lb;
			if (lr >= 0)
				tot_rows += lr;
		}
		i = j;
	}
	free(cs);
	*out = p;
	return true;
}

/* ---- result -------------------------------------------------------------------- */

typedef struct rsrc {
	size_t idx;                 /* position among all sources of the result */
	dl_add add;                 /* at plan time */
	const char *path;           /* decoded store path */
	const char *canon;          /* canonical store path */
	int64_t out_start;          /* its first output row */
	int64_t nlive;              /* rows it contributed */
	dl_bitmap plan_dv;          /* rows deleted at plan time */
	/* state at the last refresh (known_version) */
	bool gone;                  /* no longer in the table */
	bool has_known;             /* known/known_dv differ from the plan's */
	dl_add known;
	dl_bitmap known_dv;
} rsrc;

typedef struct rbin {
	rsrc *src;
	int nsrc;
	bool has_out;               /* a file was written */
	dl_add out;                 /* its add (no DV) */
	const char *out_path;       /* decoded */
	int64_t out_rows;
	bool dead;                  /* dropped, output deleted */
	bool committed;             /* referenced by a published commit */
	bool out_deleted;           /* output deleted (every row gone) */
	lk_buf keys;
	int64_t *koff;              /* out_rows + 1 offsets, or NULL */
	int64_t nkoff, capkoff;
} rbin;

struct sy_maint_result {
	lk_arena arena;
	int64_t plan_version;
	int64_t known_version;
	const char *schema_string;
	rbin *bins;
	int nbins;
	size_t nsrc;                /* sources of all bins */
	bool keyed;
	int64_t bytes_in, bytes_out, rows;
	double worker_ms;
	int table_id;               /* worker bookkeeping, -1 */
};

void
sy_maint_result_summary(const sy_maint_result *r, sy_maint_summary *o)
{
	memset(o, 0, sizeof(*o));
	o->plan_version = r->plan_version;
	o->known_version = r->known_version;
	o->nbins = r->nbins;
	for (int i = 0; i < r->nbins; i++) {
		const rbin *b = &r->bins[i];
		if (!b->dead)
			o->nlive_bins++;
		o->sources += b->nsrc;
		if (b->has_out)
			o->outputs++;
		o->key_bytes += (int64_t) b->keys.cap + b->capkoff * (int64_t) sizeof(int64_t);
	}
	o->rows = r->rows;
	o->bytes_in = r->bytes_in;
	o->bytes_out = r->bytes_out;
	o->worker_ms = r->worker_ms;
}

const char *
sy_maint_result_output(const sy_maint_result *r, int bin)
{
	if (bin < 0 || bin >= r->nbins || !r->bins[bin].has_out || r->bins[bin].dead)
		return NULL;
	return r->bins[bin].out_path;
}

static void
drop_bin(rbin *b, st_store *st)
{
	if (b->dead || b->committed)
		return;
	if (b->has_out && !b->out_deleted && st) {
		lk_error e;
		if (!st_remove(st, b->out_path, &e) && e.code != LK_ERR_NOT_FOUND) {
			char buf[600];
			lk_warn("could not delete compaction output \"%s\" (vacuum removes it): %s",
					b->out_path, lk_error_str(&e, buf, sizeof(buf)));
		}
	}
	b->dead = true;
}

void
sy_maint_result_discard(sy_maint_result *r, st_store *st)
{
	if (!r)
		return;
	for (int i = 0; i < r->nbins; i++)
		drop_bin(&r->bins[i], st);
}

void
sy_maint_result_free(sy_maint_result *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nbins; i++) {
		rbin *b = &r->bins[i];
		for (int j = 0; j < b->nsrc; j++) {
			dl_bitmap_free(&b->src[j].plan_dv);
			dl_bitmap_free(&b->src[j].known_dv);
		}
		lk_buf_free(&b->keys);
		free(b->koff);
	}
	free(r->bins);
	lk_arena_free(&r->arena);
	free(r);
}

/* ---- compaction ---------------------------------------------------------------- */

typedef struct cctx {
	dl_data_writer *w;
	rbin *bin;
	int nk;
	const int *kidx;            /* data-column index of each key column */
	lk_column *kc;              /* scratch views, nk */
	lk_buf key;
	int64_t rows;               /* rows of the current source */
	const atomic_bool *cancel;
} cctx;

static bool
compact_cb(void *ctx, const lk_batch *b, lk_error *err)
{
	cctx *x = ctx;
	if (x->cancel && atomic_load(x->cancel))
		return lk_error_set(err, LK_ERR_INVALID, "cancelled");
	LK_FORWARD(dl_data_writer_write(x->w, b, err));
	if (x->nk) {
		rbin *bn = x->bin;
		for (int j = 0; j < x->nk; j++)
			x->kc[j] = b->cols[x->kidx[j]];
		if (bn->nkoff + b->nrows + 1 > bn->capkoff) {
			int64_t nc = bn->capkoff ? bn->capkoff : 1024;
			while (nc < bn->nkoff + b->nrows + 1)
				nc *= 2;
			bn->koff = lk_xrealloc(bn->koff, sizeof(int64_t) * (size_t) nc);
			bn->capkoff = nc;
		}
		if (bn->nkoff == 0)
			bn->koff[bn->nkoff++] = 0;
		for (int64_t i = 0; i < b->nrows; i++) {
			LK_FORWARD(sy_pkindex_key_from_row(x->kc, x->nk, i, &x->key, err));
			lk_buf_append(&bn->keys, x->key.data, x->key.len);
			bn->koff[bn->nkoff++] = (int64_t) bn->keys.len;
		}
	}
	x->rows += b->nrows;
	return true;
}

/* Rewrite one bin; its output add is taken from the scratch commit. */
static bool
compact_bin(sy_maint_result *r, st_store *st, dl_commit *scratch, const dl_layout *l,
			rbin *bn, const sy_maint_bin *pb, cctx *x, lk_error *err)
{
	dl_write_options wo;
	dl_write_options_init(&wo);
	wo.data_change = false;
	wo.cdc_covered = true;
	size_t before = dl_commit_nactions(scratch);
	dl_data_writer *w = dl_data_writer_open_partition(scratch, &wo,
													  &pb->src[0].add.partition_values, err);
	if (!w)
		return false;
	x->w = w;
	x->bin = bn;
	bn->src = lk_arena_zalloc(&r->arena, sizeof(rsrc) * (size_t) pb->nsrc);
	bn->nsrc = pb->nsrc;
	int64_t out = 0;
	bool ok = true;
	for (int i = 0; ok && i < pb->nsrc; i++) {
		const sy_maint_source *ps = &pb->src[i];
		rsrc *s = &bn->src[i];
		dl_add_copy(&r->arena, &s->add, &ps->add);
		s->path = astr(&r->arena, ps->path);
		s->canon = st_path_canonical(st, ps->path, &r->arena);
		dl_bitmap_init(&s->plan_dv);
		dl_bitmap_init(&s->known_dv);
		if (ps->add.has_dv)
			ok = dl_dv_load(st, &ps->add.dv, &s->plan_dv, err);
		x->rows = 0;
		if (ok)
			ok = dl_data_file_read(st, l, ps->path, ps->add.has_dv ? &s->plan_dv : NULL, NULL,
								   compact_cb, x, err);
		if (!ok)
			break;
		int64_t ndel = (int64_t) dl_bitmap_cardinality(&s->plan_dv);
		if (ps->num_records >= 0 && x->rows + ndel != ps->num_records) {
			lk_error_set(err, LK_ERR_CORRUPT,
						 "data file has %" PRId64 " live rows and %" PRId64
						 " deleted, its stats say %" PRId64 " rows",
						 x->rows, ndel, ps->num_records);
			lk_error_where(err, "data file \"%s\"", ps->path);
			ok = false;
			break;
		}
		s->out_start = out;
		s->nlive = x->rows;
		out += x->rows;
		r->bytes_in += ps->add.size;
	}
	if (!ok) {
		dl_data_writer_free(w);
		return false;
	}
	LK_FORWARD(dl_data_writer_close(w, err));
	size_t after = dl_commit_nactions(scratch);
	bn->out_rows = out;
	r->rows += out;
	for (size_t i = before; i < after; i++) {
		const dl_action *a = dl_commit_action(scratch, i, NULL);
		if (a->type != DL_ACT_ADD)
			continue;
		if (bn->has_out)
			return lk_error_set(err, LK_ERR_INTERNAL, "compaction wrote two files for one bin");
		dl_add_copy(&r->arena, &bn->out, &a->u.add);
		char *dec;
		LK_FORWARD(st_path_decode(a->u.add.path, &r->arena, &dec, err));
		bn->out_path = dec;
		bn->has_out = true;
		r->bytes_out += a->u.add.size;
	}
	if ((out > 0) != bn->has_out)
		return lk_error_set(err, LK_ERR_INTERNAL, "compaction output does not match its rows");
	if (x->nk && bn->has_out && bn->nkoff != out + 1)
		return lk_error_set(err, LK_ERR_INTERNAL, "compaction keys do not match its rows");
	return true;
}

bool
sy_maint_compact(st_store *st, const dl_snapshot *s, sy_maint_plan *plan,
				 const int *key_cols, int nkey_cols, const atomic_bool *cancel,
				 sy_maint_result **out, lk_error *err)
{
	*out = NULL;
	double t0 = mono_ms();
	if (plan->version != s->version) {
		lk_error_set(err, LK_ERR_INVALID,
					 "compaction plan of version %" PRId64 " used with version %" PRId64,
					 plan->version, s->version);
		sy_maint_plan_free(plan);
		return false;
	}
	sy_maint_result *r = lk_xcalloc(1, sizeof(*r));
	lk_arena_init(&r->arena, 0);
	r->plan_version = r->known_version = plan->version;
	r->schema_string = astr(&r->arena, plan->schema_string);
	r->table_id = -1;
	r->keyed = nkey_cols > 0;
	r->bins = lk_xcalloc((size_t) plan->nbins + 1, sizeof(rbin));
	r->nbins = plan->nbins;

	dl_commit *scratch = dl_commit_begin(st, s, "OPTIMIZE");
	const dl_layout *l;
	bool ok = dl_protocol_check_write(&s->protocol, &s->metadata, err) &&
			  dl_commit_layout(scratch, &l, err);
	int *kidx = lk_xcalloc((size_t) nkey_cols + 1, sizeof(int));
	for (int k = 0; ok && k < nkey_cols; k++) {
		kidx[k] = -1;
		for (int j = 0; j < l->ndata; j++)
			if (l->data_index[j] == key_cols[k])
				kidx[k] = j;
		if (kidx[k] < 0)
			ok = lk_error_set(err, LK_ERR_UNSUPPORTED,
							  "key column %d is not a data column of the table", key_cols[k]);
	}
	cctx x;
	memset(&x, 0, sizeof(x));
	x.nk = nkey_cols;
	x.kidx = kidx;
	x.kc = lk_xcalloc((size_t) nkey_cols + 1, sizeof(lk_column));
	x.cancel = cancel;
	for (int i = 0; ok && i < plan->nbins; i++)
		ok = compact_bin(r, st, scratch, l, &r->bins[i], &plan->bins[i], &x, err);
	size_t idx = 0;
	for (int i = 0; ok && i < r->nbins; i++)
		for (int j = 0; j < r->bins[i].nsrc; j++)
			r->bins[i].src[j].idx = idx++;
	r->nsrc = idx;
	lk_buf_free(&x.key);
	free(x.kc);
	free(kidx);
	if (!ok) {
		/* files already closed are in the scratch commit: delete them */
		for (size_t i = 0; i < dl_commit_nactions(scratch); i++) {
			const dl_action *a = dl_commit_action(scratch, i, NULL);
			char *dec;
			lk_error e;
			if (a->type == DL_ACT_ADD &&
				st_path_decode(a->u.add.path, dl_commit_arena(scratch), &dec, &e))
				st_remove(st, dec, &e);
		}
		dl_commit_free(scratch);
		sy_maint_plan_free(plan);
		sy_maint_result_free(r);
		return lk_error_add_where(err, "compaction");
	}
	dl_commit_free(scratch);    /* never run: only a container for the adds */
	sy_maint_plan_free(plan);
	r->worker_ms = mono_ms() - t0;
	*out = r;
	return true;
}

/* ---- source lookup by canonical path ---------------------------------------------- */

typedef struct sref {
	const char *canon;
	rsrc *s;
} sref;

static int
cmp_sref(const void *x, const void *y)
{
	return strcmp(((const sref *) x)->canon, ((const sref *) y)->canon);
}

/* Sorted refs of the sources of bins not dead (caller frees). */
static sref *
src_refs(sy_maint_result *r, size_t *n)
{
	sref *v = lk_xmalloc(sizeof(sref) * (r->nsrc + 1));
	size_t k = 0;
	for (int i = 0; i < r->nbins; i++)
		for (int j = 0; !r->bins[i].dead && j < r->bins[i].nsrc; j++) {
			v[k].canon = r->bins[i].src[j].canon;
			v[k].s = &r->bins[i].src[j];
			k++;
		}
	qsort(v, k, sizeof(sref), cmp_sref);
	*n = k;
	return v;
}

static rsrc *
src_find(const sref *v, size_t n, const char *canon)
{
	sref key = {canon, NULL};
	const sref *f = bsearch(&key, v, n, sizeof(sref), cmp_sref);
	return f ? f->s : NULL;
}

/* Drop the bins whose sources are all gone. */
static void
drop_gone_bins(sy_maint_result *r, st_store *st)
{
	for (int i = 0; i < r->nbins; i++) {
		rbin *b = &r->bins[i];
		bool any = false;
		for (int j = 0; j < b->nsrc; j++)
			any |= !b->src[j].gone;
		if (!any)
			drop_bin(b, st);
	}
}

/* ---- refresh (worker) ------------------------------------------------------------ */

bool
sy_maint_refresh(sy_maint_result *r, st_store *st, const dl_snapshot *latest, lk_error *err)
{
	if (latest->version < r->known_version)
		return lk_error_set(err, LK_ERR_INVALID,
							"refresh with version %" PRId64 ", older than %" PRId64,
							latest->version, r->known_version);
	size_t n;
	sref *v = src_refs(r, &n);
	bool *seen = lk_xcalloc(r->nsrc + 1, sizeof(bool));
	lk_arena tmp;
	lk_arena_init(&tmp, 0);
	bool ok = true;
	for (size_t i = 0; ok && i < latest->nfiles; i++) {
		const dl_file *f = &latest->files[i];
		lk_arena_reset(&tmp);
		rsrc *s = src_find(v, n, st_path_canonical(st, f->path, &tmp));
		if (!s)
			continue;
		seen[s->idx] = true;
		const dl_add *known = s->has_known ? &s->known : &s->add;
		if (same_dv(known, &f->add))
			continue;
		dl_bitmap bm;
		dl_bitmap_init(&bm);
		if (f->add.has_dv && !(ok = dl_dv_load(st, &f->add.dv, &bm, err))) {
			dl_bitmap_free(&bm);
			break;
		}
		dl_bitmap_free(&s->known_dv);
		s->known_dv = bm;
		dl_add_copy(&r->arena, &s->known, &f->add);
		s->has_known = true;
	}
	lk_arena_free(&tmp);
	for (size_t q = 0; ok && q < n; q++)
		if (!seen[v[q].s->idx])
			v[q].s->gone = true;
	free(seen);
	free(v);
	if (!ok)
		return false;
	drop_gone_bins(r, st);
	r->known_version = latest->version;
	return true;
}

/* ---- apply (capture thread) ------------------------------------------------------ */

/* Replay the add/remove actions of versions (from, to] on cs (the current
 * add of each source by idx, NULL = gone). */
static bool
catch_up_log(st_store *st, int64_t from, int64_t to, const sref *v, size_t n,
			 const dl_add **cs, lk_arena *a, lk_error *err)
{
	lk_buf buf = LK_BUF_INIT;
	bool ok = true;
	for (int64_t ver = from + 1; ok && ver <= to; ver++) {
		char name[64];
		snprintf(name, sizeof(name), "_delta_log/%020" PRId64 ".json", ver);
		lk_buf_reset(&buf);
		if (!(ok = st_read_all(st, name, 256ull << 20, &buf, err)))
			break;
		dl_action *acts;
		size_t na;
		if (!(ok = dl_actions_parse((const char *) buf.data, buf.len, name, a, &acts, &na, err)))
			break;
		/* removes first: a DV update is a remove and an add of one path */
		for (int pass = 0; ok && pass < 2; pass++)
			for (size_t i = 0; ok && i < na; i++) {
				dl_action_type want = pass == 0 ? DL_ACT_REMOVE : DL_ACT_ADD;
				if (acts[i].type != want)
					continue;
				const char *path = pass == 0 ? acts[i].u.remove.path : acts[i].u.add.path;
				char *dec;
				if (!(ok = st_path_decode(path, a, &dec, err)))
					break;
				rsrc *s = src_find(v, n, st_path_canonical(st, dec, a));
				if (s)
					cs[s->idx] = pass == 0 ? NULL : &acts[i].u.add;
			}
	}
	lk_buf_free(&buf);
	return ok;
}

/* Entries of sorted array d[0..n) below r. */
static uint64_t
rank_below(const uint64_t *d, size_t n, uint64_t r)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (d[mid] < r)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* What apply does with one bin. */
typedef struct abin {
	bool apply;                 /* goes into the commit */
	bool add_out;               /* its output is added */
	dl_bitmap late;             /* output rows deleted after the plan */
	int64_t nlate;
	int dv;                     /* its bitmap in the DV file, -1 */
} abin;

/* Output rows of source s deleted after the plan (current DV − plan DV);
 * c = its current add, NULL when gone (every row). */
static bool
late_rows(st_store *st, const rsrc *s, const dl_add *c, abin *ab, int64_t *loaded,
		  lk_error *err)
{
	if (!c) {
		if (s->nlive > 0)
			dl_bitmap_add_range(&ab->late, (uint64_t) s->out_start,
								(uint64_t) (s->out_start + s->nlive));
		return true;
	}
	if (same_dv(c, &s->add))
		return true;
	dl_bitmap own;
	dl_bitmap_init(&own);
	const dl_bitmap *bm = &own;
	if (s->has_known && same_dv(c, &s->known)) {
		bm = &s->known_dv;
	} else if (c->has_dv) {
		LK_FORWARD(dl_dv_load(st, &c->dv, &own, err));
		(*loaded)++;
	}
	uint64_t *pd = NULL, *cd = NULL;
	size_t npd = 0, ncd = 0;
	bool ok = dl_bitmap_to_array(&s->plan_dv, UINT64_MAX, &pd, &npd, err) &&
			  dl_bitmap_to_array(bm, UINT64_MAX, &cd, &ncd, err);
	/* the current DV holds the plan's (rows never come back) */
	for (size_t i = 0; ok && i < npd; i++)
		if (!dl_bitmap_contains(bm, pd[i]))
			ok = lk_error_set(err, LK_ERR_CONFLICT,
							  "row %" PRIu64 " of \"%s\" was deleted at plan time and is "
							  "live now", pd[i], s->path);
	uint64_t nphys = (uint64_t) s->nlive + npd;
	for (size_t i = 0; ok && i < ncd; i++) {
		uint64_t row = cd[i];
		if (row >= nphys) {
			ok = lk_error_set(err, LK_ERR_CORRUPT,
							  "deletion vector of \"%s\" names row %" PRIu64 " of %" PRIu64,
							  s->path, row, nphys);
			break;
		}
		uint64_t below = rank_below(pd, npd, row);
		if (below < npd && pd[below] == row)
			continue;   /* deleted at plan time */
		dl_bitmap_add(&ab->late, (uint64_t) s->out_start + row - below);
	}
	free(pd);
	free(cd);
	dl_bitmap_free(&own);
	return ok;
}

/* row_moved for every live output row of bin b (sources gone: none). */
static bool
move_rows(const sy_maint_hooks *h, const rbin *b, const abin *ab, const dl_add **cs,
		  const char *out_path, int64_t *moved, lk_error *err)
{
	for (int j = 0; j < b->nsrc; j++) {
		const rsrc *s = &b->src[j];
		if (!cs[s->idx])
			continue;
		uint64_t *pd = NULL;
		size_t npd = 0;
		LK_FORWARD(dl_bitmap_to_array(&s->plan_dv, UINT64_MAX, &pd, &npd, err));
		size_t di = 0;
		uint64_t row = 0;
		bool ok = true;
		for (int64_t k = 0; ok && k < s->nlive; k++, row++) {
			while (di < npd && pd[di] == row) {
				di++;
				row++;
			}
			uint64_t o = (uint64_t) (s->out_start + k);
			if (ab->nlate && dl_bitmap_contains(&ab->late, o))
				continue;
			ok = h->row_moved(h->ctx, b->keys.data + b->koff[o],
							  (size_t) (b->koff[o + 1] - b->koff[o]), s->add.path, row,
							  out_path, o, err);
			(*moved)++;
		}
		free(pd);
		if (!ok)
			return false;
	}
	return true;
}

/* The add action of `path` in commit c (as committed), or NULL. */
static const dl_add *
commit_add(const dl_commit *c, const char *path)
{
	for (size_t q = 0; q < dl_commit_nactions(c); q++) {
		const dl_action *act = dl_commit_action(c, q, NULL);
		if (act->type == DL_ACT_ADD && strcmp(act->u.add.path, path) == 0)
			return &act->u.add;
	}
	return NULL;
}

bool
sy_maint_apply(sy_maint_result *r, const dl_commit *prev, const dl_snapshot *snap,
			   const sy_maint_hooks *h, const dl_commit_options *co, dl_commit **out,
			   sy_maint_applied *res, lk_error *err)
{
	double t0 = mono_ms();
	sy_maint_applied ar;
	memset(&ar, 0, sizeof(ar));
	ar.version = -1;
	*out = NULL;
	if (res)
		*res = ar;
	if ((prev == NULL) == (snap == NULL))
		return lk_error_set(err, LK_ERR_INVALID, "apply needs a commit or a snapshot");
	st_store *st = prev ? dl_commit_store(prev) : snap->store;
	int64_t base = prev ? dl_commit_version(prev) : snap->version;
	if (base < 0)
		return lk_error_set(err, LK_ERR_INVALID, "apply on a commit not published");

	lk_arena a;
	lk_arena_init(&a, 0);
	size_t n;
	sref *v = src_refs(r, &n);
	const dl_add **cs = lk_xcalloc(r->nsrc + 1, sizeof(dl_add *));
	abin *ab = lk_xcalloc((size_t) r->nbins + 1, sizeof(abin));
	for (int i = 0; i < r->nbins; i++) {
		dl_bitmap_init(&ab[i].late);
		ab[i].dv = -1;
	}
	bool ok = true;

	/* 1. the current add of every source (NULL: gone) */
	for (int i = 0; i < r->nbins; i++)
		for (int j = 0; j < r->bins[i].nsrc; j++) {
			rsrc *s = &r->bins[i].src[j];
			if (s->gone)
				cs[s->idx] = NULL;
			else if (h && h->current_file)
				cs[s->idx] = h->current_file(h->ctx, s->add.path);
			else
				cs[s->idx] = s->has_known ? &s->known : &s->add;
		}
	if (base < r->known_version)
		ok = lk_error_set(err, LK_ERR_INVALID,
						  "compaction result knows version %" PRId64
						  ", newer than the table's %" PRId64, r->known_version, base);
	else if (!(h && h->current_file) && base > r->known_version)
		ok = catch_up_log(st, r->known_version, base, v, n, cs, &a, err);

	/* 2. per bin: rows deleted after the plan; what goes in */
	dl_commit *c = prev ? dl_commit_next(prev, "OPTIMIZE") : dl_commit_begin(st, snap, "OPTIMIZE");
	const dl_metadata *md = dl_commit_metadata(c);
	bool schema_same = md && md->schema_string && r->schema_string &&
					   strcmp(md->schema_string, r->schema_string) == 0;
	bool use_dv = has_feature(dl_commit_protocol(c), "deletionVectors") &&
				  dl_commit_config_true(c, "delta.enableDeletionVectors");
	int ndv = 0;
	for (int i = 0; ok && i < r->nbins; i++) {
		rbin *b = &r->bins[i];
		if (b->dead)
			continue;
		bool any = false;
		for (int j = 0; ok && j < b->nsrc; j++) {
			const dl_add *ca = cs[b->src[j].idx];
			any |= ca != NULL;
			ok = late_rows(st, &b->src[j], ca, &ab[i], &ar.dvs_loaded, err);
		}
		if (!ok)
			break;
		ab[i].nlate = (int64_t) dl_bitmap_cardinality(&ab[i].late);
		if (!any || !schema_same || (ab[i].nlate && !use_dv)) {
			drop_bin(b, st);
			ar.bins_dropped++;
			continue;
		}
		ab[i].apply = true;
		ab[i].add_out = b->has_out && ab[i].nlate < b->out_rows;
		if (ab[i].add_out && ab[i].nlate)
			ab[i].dv = ndv++;
		if (b->has_out && !ab[i].add_out) {
			/* every row deleted meanwhile: the output is never referenced */
			lk_error e;
			st_remove(st, b->out_path, &e);
			b->out_deleted = true;
		}
	}

	/* 3. the commit: one DV file, removes, adds */
	dl_dv *descs = NULL;
	if (ok && ndv) {
		const dl_bitmap **bms = lk_xcalloc((size_t) ndv + 1, sizeof(dl_bitmap *));
		for (int i = 0; i < r->nbins; i++)
			if (ab[i].dv >= 0)
				bms[ab[i].dv] = &ab[i].late;
		descs = lk_arena_zalloc(dl_commit_arena(c), sizeof(dl_dv) * ((size_t) ndv + 1));
		ok = dl_dv_write_file(st, NULL, bms, ndv, dl_commit_arena(c), descs, err);
		free(bms);
	}
	int64_t now = dl_now_ms();
	bool any_action = false;
	for (int i = 0; ok && i < r->nbins; i++) {
		rbin *b = &r->bins[i];
		if (!ab[i].apply)
			continue;
		for (int j = 0; ok && j < b->nsrc; j++) {
			const dl_add *ca = cs[b->src[j].idx];
			if (!ca)
				continue;
			dl_action rm;
			dl_remove_action(ca, false, now, &rm);     /* a rewrite: dataChange=false */
			ok = dl_commit_add_action(c, &rm, err);
			ar.files_removed++;
			any_action = true;
		}
		if (ok && ab[i].add_out) {
			dl_action ad;
			memset(&ad, 0, sizeof(ad));
			ad.type = DL_ACT_ADD;
			ad.u.add = b->out;
			ad.u.add.data_change = false;
			if (ab[i].dv >= 0) {
				ad.u.add.has_dv = true;
				ad.u.add.dv = descs[ab[i].dv];
				ad.u.add.stats = dl_stats_loosen(b->out.stats, dl_commit_arena(c));
			}
			ok = dl_commit_add_action(c, &ad, err);
			ar.files_added++;
			any_action = true;
		}
		ar.rows_deleted_late += ab[i].nlate;
		ar.bins++;
	}
	if (ok && any_action) {
		dl_commit_set_param(c, "predicate", "\"[]\"");
		dl_commit_set_param(c, "zOrderBy", "\"[]\"");
		dl_commit_set_param(c, "auto", "true");
		ok = dl_commit_run(c, co, err);
		if (ok) {
			ar.version = dl_commit_version(c);
			for (int i = 0; i < r->nbins; i++)
				if (ab[i].apply)
					r->bins[i].committed = true;
		} else if (err->code == LK_ERR_CONFLICT || err->code == LK_ERR_INVALID) {
			sy_maint_result_discard(r, st);     /* surely not published */
		} else {
			/* the version may exist: leave the files to vacuum */
			ar.unknown = true;
			for (int i = 0; i < r->nbins; i++)
				r->bins[i].dead = true;
		}
	} else if (!ok) {
		sy_maint_result_discard(r, st);
	}
	if (!ok || !any_action) {
		dl_commit_free(c);
		c = NULL;
	}

	/* 4. the hooks, once the commit is durable */
	if (ok && c) {
		*out = c;
		for (int i = 0; ok && h && i < r->nbins; i++) {
			rbin *b = &r->bins[i];
			if (!ab[i].add_out)
				continue;
			const dl_add *added = commit_add(c, b->out.path);
			if (!added)
				ok = lk_error_set(err, LK_ERR_INTERNAL, "compaction output not in its commit");
			if (ok && h->file_added)
				ok = h->file_added(h->ctx, added, err);
			if (ok && h->row_moved && r->keyed)
				ok = move_rows(h, b, &ab[i], cs, added->path, &ar.rows_moved, err);
		}
		for (int i = 0; ok && h && h->file_removed && i < r->nbins; i++) {
			rbin *b = &r->bins[i];
			for (int j = 0; ok && ab[i].apply && j < b->nsrc; j++)
				if (cs[b->src[j].idx])
					ok = h->file_removed(h->ctx, cs[b->src[j].idx], err);
		}
	}

	for (int i = 0; i < r->nbins; i++)
		dl_bitmap_free(&ab[i].late);
	free(ab);
	free(cs);
	free(v);
	lk_arena_free(&a);
	ar.ms = mono_ms() - t0;
	if (res)
		*res = ar;
	if (!ok)
		lk_error_add_where(err, "applying a compaction");
	return ok;
}

/* ---- vacuum ---------------------------------------------------------------------- */

bool
sy_maint_vacuum(st_store *st, const sy_maint_options *o, int64_t now_ms,
				dl_vacuum_result *res, lk_error *err)
{
	sy_maint_options d;
	if (!o) {
		sy_maint_options_init(&d);
		o = &d;
	}
	LK_FORWARD(sy_maint_options_check(o, err));
	dl_vacuum_options vo;
	dl_vacuum_options_init(&vo);
	vo.retention_ms = o->retention_ms;
	vo.force = o->retention_ms >= 0;    /* an explicit retention overrides the table's */
	vo.now_ms = now_ms;
	return dl_vacuum(st, &vo, res, err);
}

/* ---- the worker thread ------------------------------------------------------------- */

/*
 * One pass of the worker over table t (the lock is not held while working):
 *
 *   first visit   open the store, read the latest snapshot: the last
 *                 checkpoint version and delta.checkpointInterval
 *   checkpoint    noted − last checkpoint ≥ interval → dl_checkpoint_write
 *                 of the noted version (committed, so immutable)
 *   compaction    not busy, and the interval passed or enough commits →
 *                 snapshot, plan, compact, latest snapshot, refresh →
 *                 mirror: publish (busy until sy_maint_done)
 *                 history: sy_maint_apply on the latest snapshot (rebases
 *                 over capture's blind appends)
 *   vacuum        not busy and due → sy_maint_vacuum
 */

typedef struct mtable {
	int id;
	char *uri, *name;
	bool via_capture;           /* results published to capture */
	int *keys;
	int nkeys;
	st_store st;
	bool st_open;
	bool disabled;
	bool inited;
	double next_init_ms;        /* retry of a failed first visit */
	int64_t noted;              /* last version noted by capture, -1 */
	int64_t commits;            /* noted since the last compaction check */
	double next_check_ms, next_vacuum_ms;
	int64_t cp_version;         /* last checkpoint known, -1 */
	int64_t cp_interval;
	bool busy;                  /* a result is outstanding */
	bool more;                  /* its plan was cut: look again when done */
	sy_maint_result *ready;     /* published, not polled */
	sy_maint_table_stats stats;
} mtable;

struct sy_maint {
	sy_maint_options o;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool stop;
	bool wake;
	mtable **t;
	int n, cap;
};

static void
note_error(sy_maint *m, mtable *t, const char *what, const lk_error *e)
{
	char buf[600];
	lk_error_str(e, buf, sizeof(buf));
	lk_warn("%s: maintenance: %s failed: %s", t->name, what, buf);
	pthread_mutex_lock(&m->mu);
	t->stats.errors++;
	snprintf(t->stats.last_error, sizeof(t->stats.last_error), "%s: %.200s", what, buf);
	pthread_mutex_unlock(&m->mu);
}

static int64_t
cp_due(const sy_maint *m, const mtable *t)
{
	if (!m->o.checkpoints || !t->inited || t->noted <= 0)
		return -1;
	int64_t base = t->cp_version < 0 ? 0 : t->cp_version;
	return t->noted - base >= t->cp_interval ? t->noted : -1;
}

static bool
table_init(sy_maint *m, mtable *t, lk_error *err)
{
	if (!t->st_open) {
		LK_FORWARD(st_store_open(&t->st, t->uri, 0, err));
		t->st_open = true;
	}
	dl_snapshot *s;
	LK_FORWARD(dl_snapshot_open(&t->st, NULL, &s, err));
	int64_t iv = m->o.checkpoint_interval;
	if (iv <= 0) {
		const char *p = dl_snapshot_config(s, "delta.checkpointInterval");
		char *end;
		long long x = p ? strtoll(p, &end, 10) : 0;
		iv = p && *end == '\0' && x > 0 ? x : 100;
	}
	pthread_mutex_lock(&m->mu);
	t->cp_interval = iv;
	t->cp_version = s->checkpoint_version;
	if (s->version > t->noted)
		t->noted = s->version;
	t->inited = true;
	pthread_mutex_unlock(&m->mu);
	dl_snapshot_free(s);
	return true;
}

/* Plan and compact; mirror: publish, history: commit.  Worker thread. */
static bool
table_compact(sy_maint *m, mtable *t, lk_error *err)
{
	dl_snapshot *s;
	LK_FORWARD(dl_snapshot_open(&t->st, NULL, &s, err));
	sy_maint_plan *p;
	if (!sy_maint_plan_make(s, &m->o, t->nkeys > 0, &p, err)) {
		dl_snapshot_free(s);
		return false;
	}
	if (p->nbins == 0) {
		sy_maint_plan_free(p);
		dl_snapshot_free(s);
		return true;
	}
	bool more = p->more;
	lk_debug("%s: compacting %" PRId64 " files (%" PRId64 " bytes) in %d bins", t->name,
			 p->files, p->bytes, p->nbins);
	sy_maint_result *r;
	bool ok = sy_maint_compact(&t->st, s, p, t->keys, t->nkeys, &m->stop, &r, err);
	dl_snapshot_free(s);
	if (!ok)
		return false;
	r->table_id = t->id;
	int64_t committed = -1;     /* history: the worker's OPTIMIZE */
	/* catch up with what capture committed meanwhile */
	ok = dl_snapshot_open(&t->st, NULL, &s, err);
	if (ok) {
		ok = sy_maint_refresh(r, &t->st, s, err);
		if (ok && !t->via_capture) {
			dl_commit_options co;
			dl_commit_options_init(&co);
			co.auto_checkpoint = false;
			dl_commit *c;
			sy_maint_applied ar;
			ok = sy_maint_apply(r, NULL, s, NULL, &co, &c, &ar, err);
			dl_commit_free(c);
			committed = ok ? ar.version : -1;
			if (ok && ar.version >= 0)
				lk_info("%s: compacted %" PRId64 " files into %" PRId64 " (Delta version %" PRId64
						")", t->name, ar.files_removed, ar.files_added, ar.version);
		}
		dl_snapshot_free(s);
	}
	sy_maint_summary sum;
	sy_maint_result_summary(r, &sum);
	pthread_mutex_lock(&m->mu);
	if (ok && t->via_capture && sum.nlive_bins > 0 && !t->disabled && !atomic_load(&m->stop)) {
		t->ready = r;
		t->busy = true;
		t->more = more;
		r = NULL;
	}
	if (ok && (!r || committed >= 0)) {
		t->stats.compactions++;
		t->stats.files_compacted += sum.sources;
		if (more && !t->via_capture)
			t->next_check_ms = 0;
	}
	pthread_mutex_unlock(&m->mu);
	if (r) {
		sy_maint_result_discard(r, &t->st);
		sy_maint_result_free(r);
	}
	return ok;
}

static void
table_pass(sy_maint *m, mtable *t)
{
	lk_error e;
	double t0 = mono_ms();
	if (!t->inited) {
		if (mono_ms() < t->next_init_ms)
			return;
		if (!table_init(m, t, &e)) {
			note_error(m, t, "opening the table", &e);
			pthread_mutex_lock(&m->mu);
			t->next_init_ms = mono_ms() + (double) m->o.compact_interval_ms;
			pthread_mutex_unlock(&m->mu);
			return;
		}
	}
	pthread_mutex_lock(&m->mu);
	int64_t cpv = cp_due(m, t);
	double now = mono_ms();
	bool compact = m->o.compaction && !t->busy &&
				   (now >= t->next_check_ms || t->commits >= m->o.compact_commits);
	if (compact) {
		t->commits = 0;
		t->next_check_ms = now + (double) m->o.compact_interval_ms;
	}
	pthread_mutex_unlock(&m->mu);

	if (cpv >= 0 && !atomic_load(&m->stop)) {
		dl_checkpoint_result cr;
		if (dl_checkpoint_write(&t->st, cpv, &cr, &e)) {
			pthread_mutex_lock(&m->mu);
			t->cp_version = cpv;
			t->stats.checkpoints++;
			t->stats.checkpoint_version = cpv;
			pthread_mutex_unlock(&m->mu);
		} else {
			note_error(m, t, "checkpoint", &e);
			pthread_mutex_lock(&m->mu);
			t->cp_version = cpv;    /* retried at the next interval */
			pthread_mutex_unlock(&m->mu);
		}
	}
	if (compact && !atomic_load(&m->stop) && !table_compact(m, t, &e) &&
		!atomic_load(&m->stop))
		note_error(m, t, "compaction", &e);

	pthread_mutex_lock(&m->mu);
	bool vac = m->o.vacuum && !t->busy && !t->disabled && mono_ms() >= t->next_vacuum_ms;
	if (vac)
		t->next_vacuum_ms = mono_ms() + (double) m->o.vacuum_interval_ms;
	pthread_mutex_unlock(&m->mu);
	if (vac && !atomic_load(&m->stop)) {
		dl_vacuum_result vr;
		if (sy_maint_vacuum(&t->st, &m->o, 0, &vr, &e)) {
			pthread_mutex_lock(&m->mu);
			t->stats.vacuums++;
			t->stats.files_vacuumed += vr.files_deleted;
			pthread_mutex_unlock(&m->mu);
			if (vr.files_deleted)
				lk_info("%s: vacuum deleted %" PRId64 " files (%" PRId64 " bytes)", t->name,
						vr.files_deleted, vr.bytes_deleted);
		} else {
			note_error(m, t, "vacuum", &e);
		}
	}
	pthread_mutex_lock(&m->mu);
	t->stats.worker_ms += mono_ms() - t0;
	pthread_mutex_unlock(&m->mu);
}

/* Some table has work due now (lock held). */
static bool
work_due(const sy_maint *m, double now, double *next)
{
	bool due = false;
	*next = now + 1000.0;
	for (int i = 0; i < m->n; i++) {
		const mtable *t = m->t[i];
		if (t->disabled)
			continue;
		if (!t->inited) {
			if (now >= t->next_init_ms)
				due = true;
			else if (t->next_init_ms < *next)
				*next = t->next_init_ms;
			continue;
		}
		if (cp_due(m, t) >= 0)
			due = true;
		if (m->o.compaction && !t->busy) {
			if (now >= t->next_check_ms || t->commits >= m->o.compact_commits)
				due = true;
			else if (t->next_check_ms < *next)
				*next = t->next_check_ms;
		}
		if (m->o.vacuum && !t->busy) {
			if (now >= t->next_vacuum_ms)
				due = true;
			else if (t->next_vacuum_ms < *next)
				*next = t->next_vacuum_ms;
		}
	}
	return due;
}

static void *
worker_main(void *arg)
{
	sy_maint *m = arg;
	pthread_mutex_lock(&m->mu);
	while (!atomic_load(&m->stop)) {
		double now = mono_ms(), next;
		if (!work_due(m, now, &next)) {
			double wait = next - now;
			if (wait > 1000.0)
				wait = 1000.0;
			if (wait < 1.0)
				wait = 1.0;
			if (!m->wake) {
				struct timespec ts;
				clock_gettime(CLOCK_MONOTONIC, &ts);
				int64_t ns = (int64_t) ts.tv_nsec + (int64_t) (wait * 1e6);
				ts.tv_sec += (time_t) (ns / 1000000000);
				ts.tv_nsec = (long) (ns % 1000000000);
				pthread_cond_timedwait(&m->cv, &m->mu, &ts);
			}
			m->wake = false;
			continue;
		}
		int n = m->n;
		for (int i = 0; i < n && !atomic_load(&m->stop); i++) {
			mtable *t = m->t[i];
			if (t->disabled)
				continue;
			pthread_mutex_unlock(&m->mu);
			table_pass(m, t);
			pthread_mutex_lock(&m->mu);
		}
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

sy_maint *
sy_maint_start(const sy_maint_options *o, lk_error *err)
{
	sy_maint_options d;
	if (!o) {
		sy_maint_options_init(&d);
		o = &d;
	}
	if (!sy_maint_options_check(o, err))
		return NULL;
	sy_maint *m = lk_xcalloc(1, sizeof(*m));
	m->o = *o;
	atomic_init(&m->stop, false);
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&m->th, NULL, worker_main, m);
	if (rc != 0) {
		pthread_cond_destroy(&m->cv);
		pthread_mutex_destroy(&m->mu);
		free(m);
		lk_error_set(err, LK_ERR_IO, "could not start the maintenance thread: %s", strerror(rc));
		return NULL;
	}
	return m;
}

int
sy_maint_add_table(sy_maint *m, const sy_maint_table *spec, lk_error *err)
{
	if (!spec->uri || (spec->nkey_cols > 0 && !spec->key_cols) || spec->nkey_cols < 0) {
		lk_error_set(err, LK_ERR_INVALID, "maintenance table needs a location");
		return -1;
	}
	mtable *t = lk_xcalloc(1, sizeof(*t));
	t->uri = lk_xstrdup(spec->uri);
	t->name = lk_xstrdup(spec->name ? spec->name : spec->uri);
	t->via_capture = spec->capture_applies;
	t->nkeys = spec->nkey_cols;
	t->keys = lk_xcalloc((size_t) t->nkeys + 1, sizeof(int));
	if (t->nkeys)
		memcpy(t->keys, spec->key_cols, sizeof(int) * (size_t) t->nkeys);
	t->noted = -1;
	t->cp_version = -1;
	t->stats.checkpoint_version = -1;
	double now = mono_ms();
	t->next_check_ms = now + (double) m->o.compact_interval_ms;
	t->next_vacuum_ms = now + (double) m->o.compact_interval_ms;
	pthread_mutex_lock(&m->mu);
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 8;
		m->t = lk_xrealloc(m->t, sizeof(mtable *) * (size_t) m->cap);
	}
	t->id = m->n;
	m->t[m->n++] = t;
	m->wake = true;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return t->id;
}

void
sy_maint_note_commit(sy_maint *m, int id, int64_t version)
{
	if (!m || id < 0)
		return;
	pthread_mutex_lock(&m->mu);
	if (id < m->n) {
		mtable *t = m->t[id];
		if (version > t->noted)
			t->noted = version;
		t->commits++;
		if (t->commits >= m->o.compact_commits || cp_due(m, t) >= 0) {
			m->wake = true;
			pthread_cond_signal(&m->cv);
		}
	}
	pthread_mutex_unlock(&m->mu);
}

sy_maint_result *
sy_maint_poll(sy_maint *m, int id)
{
	if (!m || id < 0)
		return NULL;
	sy_maint_result *r = NULL;
	pthread_mutex_lock(&m->mu);
	if (id < m->n) {
		r = m->t[id]->ready;
		m->t[id]->ready = NULL;
	}
	pthread_mutex_unlock(&m->mu);
	return r;
}

void
sy_maint_done(sy_maint *m, sy_maint_result *r)
{
	if (!r)
		return;
	mtable *t = NULL;
	pthread_mutex_lock(&m->mu);
	if (r->table_id >= 0 && r->table_id < m->n) {
		t = m->t[r->table_id];
		t->busy = false;
		if (t->more) {     /* the last plan was cut: go on at once */
			t->more = false;
			t->next_check_ms = 0;
			m->wake = true;
			pthread_cond_signal(&m->cv);
		}
	}
	pthread_mutex_unlock(&m->mu);
	if (t)
		sy_maint_result_discard(r, &t->st);
	sy_maint_result_free(r);
}

void
sy_maint_disable_table(sy_maint *m, int id)
{
	if (!m || id < 0)
		return;
	sy_maint_result *r = NULL;
	mtable *t = NULL;
	pthread_mutex_lock(&m->mu);
	if (id < m->n) {
		t = m->t[id];
		t->disabled = true;
		r = t->ready;
		t->ready = NULL;
		if (r)
			t->busy = false;
	}
	pthread_mutex_unlock(&m->mu);
	if (r) {
		sy_maint_result_discard(r, &t->st);
		sy_maint_result_free(r);
	}
}

void
sy_maint_get_stats(sy_maint *m, int id, sy_maint_table_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->checkpoint_version = -1;
	if (!m || id < 0)
		return;
	pthread_mutex_lock(&m->mu);
	if (id < m->n) {
		*st = m->t[id]->stats;
		st->busy = m->t[id]->busy;
	}
	pthread_mutex_unlock(&m->mu);
}

void
sy_maint_stop(sy_maint *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	atomic_store(&m->stop, true);
	m->wake = true;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	pthread_join(m->th, NULL);
	for (int i = 0; i < m->n; i++) {
		mtable *t = m->t[i];
		if (t->ready) {
			sy_maint_result_discard(t->ready, &t->st);
			sy_maint_result_free(t->ready);
		}
		if (t->st_open)
			st_store_close(&t->st);
		free(t->uri);
		free(t->name);
		free(t->keys);
		free(t);
	}
	free(m->t);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
