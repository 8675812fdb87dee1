/*
 * log.c — Delta log listing, snapshot reconstruction, protocol checks and
 * commit timestamps.  See log.h for the replay diagram.
 *
 * _delta_log file names (PROTOCOL.md "Delta Log Entries", "Checkpoints"):
 *
 *   00000000000000000010.json                               commit 10
 *   00000000000000000010.checkpoint.parquet                 classic
 *   00000000000000000010.checkpoint.0000000001.0000000003.parquet  part 1/3
 *   00000000000000000010.checkpoint.<uuid>.json|parquet     v2 (UUID)
 *   00000000000000000004.00000000000000000006.compacted.json (ignored)
 *   00000000000000000010.crc                                (ignored)
 *   _last_checkpoint   {"version":10,"size":..,"parts":..,"v2Checkpoint":..}
 *   _sidecars/<name>.parquet                                v2 sidecars
 */
#include "delta/log.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "delta/checkpoint.h"

#define LOG_DIR "_delta_log"
#define DEFAULT_MAX_JSON (256ull * 1024 * 1024)

/* ---- names ---------------------------------------------------------------- */

static bool
digits(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char) s[i]))
			return false;
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool
dl_log_parse_name(const char *name, dl_log_file *out)
{
	size_t len = strlen(name);
	int64_t v, p, t;

	memset(out, 0, sizeof(*out));
	out->name = name;
	if (len < 21 || !digits(name, 20, &v) || name[20] != '.')
		return false;
	out->version = v;
	const char *rest = name + 21;
	size_t rl = len - 21;
	if (strcmp(rest, "json") == 0) {
		out->kind = DL_LOG_COMMIT;
		return true;
	}
	if (strcmp(rest, "crc") == 0) {
		out->kind = DL_LOG_CRC;
		return true;
	}
	if (rl == 20 + 15 && digits(rest, 20, &t) && strcmp(rest + 20, ".compacted.json") == 0) {
		out->kind = DL_LOG_COMPACTION;
		return true;
	}
	if (strncmp(rest, "checkpoint.", 11) != 0)
		return false;
	rest += 11;
	rl -= 11;
	if (strcmp(rest, "parquet") == 0) {
		out->kind = DL_LOG_CHECKPOINT;
		return true;
	}
	if (rl == 10 + 1 + 10 + 8 && digits(rest, 10, &p) && rest[10] == '.' &&
		digits(rest + 11, 10, &t) && strcmp(rest + 21, ".parquet") == 0) {
		if (p < 1 || t < 1 || p > t || t > INT32_MAX)
			return false;
		out->kind = DL_LOG_CHECKPOINT_PART;
		out->part = (int32_t) p;
		out->nparts = (int32_t) t;
		return true;
	}
	/* <uuid>.json | <uuid>.parquet: one token without dots */
	const char *dot = strchr(rest, '.');
	if (!dot || dot == rest || strchr(dot + 1, '.'))
		return false;
	if (strcmp(dot + 1, "json") == 0)
		out->is_json = true;
	else if (strcmp(dot + 1, "parquet") != 0)
		return false;
	out->kind = DL_LOG_CHECKPOINT_V2;
	return true;
}

static bool
list_log(st_store *st, const char *start_after, lk_arena *a, dl_log_file **out,
		 size_t *n, lk_error *err)
{
	st_entry *e;
	size_t ne;
	if (!st_list(st, LOG_DIR, start_after, a, &e, &ne, err)) {
		if (err->code == LK_ERR_NOT_FOUND) {
			lk_error_set(err, LK_ERR_NOT_FOUND,
						 "not a Delta table: no _delta_log directory");
			lk_error_where(err, "table \"%s\"", st->root);
		}
		return false;
	}
	dl_log_file *v = lk_arena_alloc(a, sizeof(*v) * (ne ? ne : 1));
	size_t k = 0;
	for (size_t i = 0; i < ne; i++) {
		if (e[i].is_dir || !dl_log_parse_name(e[i].name, &v[k]))
			continue;
		v[k].size = e[i].size;
		v[k].mtime_ms = e[i].mtime_ms;
		k++;
	}
	*out = v;
	*n = k;
	return true;
}

bool
dl_log_list(st_store *st, lk_arena *a, dl_log_file **out, size_t *n,
			lk_error *err)
{
	return list_log(st, NULL, a, out, n, err);
}

/* ---- protocol ------------------------------------------------------------- */

bool
dl_reader_feature_supported(const char *name)
{
	static const char *const supported[] = {
		"columnMapping", "deletionVectors", "timestampNtz", "typeWidening",
		"typeWidening-preview", "v2Checkpoint", "vacuumProtocolCheck",
	};
	for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
		if (strcmp(name, supported[i]) == 0)
			return true;
	return false;
}

bool
dl_protocol_check_read(const dl_protocol *p, lk_error *err)
{
	if (p->min_reader_version < 1 || p->min_writer_version < 1) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "invalid Delta protocol: minReaderVersion %d, minWriterVersion %d",
					 p->min_reader_version, p->min_writer_version);
		return lk_error_where(err, "protocol action");
	}
	if (p->min_reader_version > 3) {
		lk_error_set(err, LK_ERR_UNSUPPORTED,
					 "unsupported Delta protocol: minReaderVersion %d "
					 "(this reader supports reader versions 1 to 3)",
					 p->min_reader_version);
		return lk_error_where(err, "protocol action");
	}
	if (p->min_reader_version == 3) {
		if (!p->has_reader_features) {
			lk_error_set(err, LK_ERR_CORRUPT,
						 "invalid Delta protocol: minReaderVersion 3 without readerFeatures");
			return lk_error_where(err, "protocol action");
		}
		for (int i = 0; i < p->reader_features.n; i++) {
			const char *f = p->reader_features.items[i];
			if (dl_reader_feature_supported(f))
				continue;
			if (strncmp(f, "variantType", 11) == 0)
				lk_error_set(err, LK_ERR_UNSUPPORTED,
							 "unsupported Delta reader feature \"%s\" "
							 "(variant columns are not readable yet)", f);
			else
				lk_error_set(err, LK_ERR_UNSUPPORTED,
							 "unsupported Delta reader feature \"%s\"", f);
			return lk_error_where(err, "protocol action");
		}
	}
	return true;
}

static bool
protocol_has_reader_feature(const dl_protocol *p, const char *f)
{
	if (p->min_reader_version != 3)
		return false;
	for (int i = 0; i < p->reader_features.n; i++)
		if (strcmp(p->reader_features.items[i], f) == 0)
			return true;
	return false;
}

/* ---- string map (open addressing, linear probing) ----------------------- */

typedef struct smap_ent {
	const char *key;
	uint64_t hash;
	void *val;
} smap_ent;

typedef struct smap {
	smap_ent *e;
	size_t cap, n;
} smap;

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char) *s;
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

static void
smap_free(smap *m)
{
	free(m->e);
	m->e = NULL;
	m->cap = m->n = 0;
}

static void
smap_grow(smap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	smap_ent *ne = lk_xcalloc(ncap, sizeof(*ne));
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->e[i].key)
			continue;
		size_t j = m->e[i].hash & (ncap - 1);
		while (ne[j].key)
			j = (j + 1) & (ncap - 1);
		ne[j] = m->e[i];
	}
	free(m->e);
	m->e = ne;
	m->cap = ncap;
}

/* The value slot of key (inserted with NULL when absent). The key must
 * outlive the map. */
static void **
smap_slot(smap *m, const char *key)
{
	if ((m->n + 1) * 2 > m->cap)
		smap_grow(m);
	uint64_t h = hash_str(key);
	size_t j = h & (m->cap - 1);
	while (m->e[j].key) {
		if (m->e[j].hash == h && strcmp(m->e[j].key, key) == 0)
			return &m->e[j].val;
		j = (j + 1) & (m->cap - 1);
	}
	m->e[j].key = key;
	m->e[j].hash = h;
	m->e[j].val = NULL;
	m->n++;
	return &m->e[j].val;
}

/* ---- logical files: hash map over an insertion-ordered entry array ---- */

/* One logical file: the latest add or remove of its key. */
typedef struct fent {
	const char *key;        /* canonical path, + "\x01" + DV id */
	size_t keylen;
	uint64_t hash;          /* hash_bytes(key, keylen) */
	bool is_add;            /* else a remove: rm */
	bool dead;              /* merged into an earlier entry of the same key */
	const dl_remove *rm;    /* in the snapshot arena */
} fent;

/* Open addressing, linear probing, power-of-two capacity, load ≤ 1/2.
 * A slot holds (upper 32 bits of the key's hash << 32) | (entry index + 1),
 * 0 when empty; those 32 bits also choose the home slot. So a probe
 * compares the stored hash bits before touching an entry, and growing
 * rehashes from the slots alone, without reading any key. Entries stay in
 * insertion order (a checkpoint written in path order needs no sort), and
 * the adds in a parallel dl_file array that becomes the snapshot's files
 * array in place (compacted, never copied).
 *
 * A checkpoint's actions are appended without lookups (fmap_append) and
 * indexed in one pass afterwards (fmap_index), sized from their count and
 * prefetching the home slots ahead: the table is bigger than the CPU
 * caches, and a lookup per action waited on a cache miss each. */
typedef struct fmap {
	uint64_t *slot;
	size_t cap;
	fent *e;                /* malloc; n used of cape */
	dl_file *f;             /* malloc; f[i] is the add of e[i] when is_add */
	size_t n, cape;
	size_t nindexed;        /* e[0 .. nindexed) are in the table */
} fmap;

static inline uint64_t
mix64(uint64_t x)
{
	__uint128_t m = (__uint128_t) x * 0x9E3779B97F4A7C15ull;
	return (uint64_t) m ^ (uint64_t) (m >> 64);
}

/* 64-bit hash of n bytes, 8 at a time (multiply-fold mixing). */
static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0x243F6A8885A308D3ull ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = mix64(h ^ w);
		s += 8;
		n -= 8;
	}
	uint64_t w = 0;
	if (n)
		memcpy(&w, s, n);
	return mix64(h ^ w ^ 0xBF58476D1CE4E5B9ull);
}

#define SLOT_TAG(h) ((h) & 0xFFFFFFFF00000000ull)
#define SLOT_HOME(h, cap) ((size_t) ((h) >> 32) & ((cap) - 1))

static void
fmap_free(fmap *m)
{
	free(m->slot);
	free(m->e);
	free(m->f);
	memset(m, 0, sizeof(*m));
}

/* Rebuild the table with ncap slots (a power of two > 2 × indexed). */
static void
fmap_resize(fmap *m, size_t ncap)
{
	uint64_t *ns = lk_xcalloc(ncap, sizeof(*ns));
	for (size_t i = 0; i < m->cap; i++) {
		uint64_t v = m->slot[i];
		if (!v)
			continue;
		size_t j = SLOT_HOME(v, ncap);
		while (ns[j])
			j = (j + 1) & (ncap - 1);
		ns[j] = v;
	}
	free(m->slot);
	m->slot = ns;
	m->cap = ncap;
}

/* Append an entry for key (len bytes, hash h) without looking it up; its
 * index. fmap_index() must run before the next lookup. The key must
 * outlive the map. */
static size_t
fmap_append(fmap *m, const char *key, size_t len, uint64_t h)
{
	if (m->n >= UINT32_MAX / 4) {
		fprintf(stderr, "lakesync: more than 2^30 logical files in one snapshot\n");
		abort();
	}
	if (m->n == m->cape) {
		m->cape = m->cape ? m->cape * 2 : 1024;
		m->e = lk_xrealloc(m->e, m->cape * sizeof(*m->e));
		m->f = lk_xrealloc(m->f, m->cape * sizeof(*m->f));
	}
	fent *fe = &m->e[m->n];
	memset(fe, 0, sizeof(*fe));
	fe->key = key;
	fe->keylen = len;
	fe->hash = h;
	return m->n++;
}

/* The slot holding the entry of key (len bytes, hash h), or the empty slot
 * where it belongs. */
static size_t
fmap_probe(const fmap *m, const char *key, size_t len, uint64_t h)
{
	uint64_t tag = SLOT_TAG(h);
	size_t j = SLOT_HOME(h, m->cap);
	for (uint64_t v; (v = m->slot[j]) != 0; j = (j + 1) & (m->cap - 1)) {
		if (SLOT_TAG(v) != tag)
			continue;
		const fent *o = &m->e[(uint32_t) v - 1];
		if (o->keylen == len && memcmp(o->key, key, len) == 0)
			break;
	}
	return j;
}

/* Put e[nindexed .. n) in the table. An entry whose key is already there
 * replaces the earlier entry's action (the later action wins, the first
 * position stays) and is marked dead. */
static void
fmap_index(fmap *m)
{
	size_t need = 1024;
	while (need < 2 * (m->n + 1))
		need *= 2;
	if (m->cap < need)
		fmap_resize(m, need);
	enum { AHEAD = 16 };
	for (size_t i = m->nindexed; i < m->n; i++) {
		if (i + AHEAD < m->n)
			__builtin_prefetch(&m->slot[SLOT_HOME(m->e[i + AHEAD].hash, m->cap)]);
		fent *fe = &m->e[i];
		size_t j = fmap_probe(m, fe->key, fe->keylen, fe->hash);
		if (!m->slot[j]) {
			m->slot[j] = SLOT_TAG(fe->hash) | (uint64_t) (i + 1);
			continue;
		}
		size_t k = (uint32_t) m->slot[j] - 1;
		m->e[k].is_add = fe->is_add;
		m->e[k].rm = fe->rm;
		if (fe->is_add)
			m->f[k] = m->f[i];
		fe->dead = true;
	}
	m->nindexed = m->n;
}

/* Index of the entry of key (len bytes, hash h), appended zeroed with the
 * key set when absent. The key must outlive the map. */
static size_t
fmap_upsert(fmap *m, const char *key, size_t len, uint64_t h)
{
	if (m->nindexed != m->n)
		fmap_index(m);
	if ((m->n + 1) * 2 > m->cap)
		fmap_resize(m, m->cap ? 2 * m->cap : 1024);
	size_t j = fmap_probe(m, key, len, h);
	if (m->slot[j])
		return (uint32_t) m->slot[j] - 1;
	size_t idx = fmap_append(m, key, len, h);
	m->slot[j] = SLOT_TAG(h) | (uint64_t) (idx + 1);
	m->nindexed = m->n;
	return idx;
}

/* ---- replay ------------------------------------------------------------- */

typedef struct replay {
	st_store *st;
	dl_snapshot *snap;          /* being built: owns r->a and kept buffers */
	lk_arena *a;
	bool metadata_only;
	fmap files;
	smap txns, domains;
	bool has_protocol, has_metadata;
	dl_protocol protocol;
	dl_metadata metadata;
	const char *file;           /* file being read, for messages */
	bool in_checkpoint;         /* file actions are appended, then indexed */
	bool capture_commit_info;   /* reading the target version's commit */
	const char *commit_info;
	bool has_ict;
	int64_t ict;
	dl_sidecar *sidecars;
	size_t nsidecars, capsidecars;
} replay;

/* The snapshot takes ownership of buf (freed by dl_snapshot_free). */
static void
snapshot_keep(dl_snapshot *s, void *buf)
{
	if (s->nowned == s->capowned) {
		s->capowned = s->capowned ? 2 * s->capowned : 8;
		s->owned = lk_xrealloc(s->owned, s->capowned * sizeof(*s->owned));
	}
	s->owned[s->nowned++] = buf;
}

/* dl_keep_fn of the checkpoint reader: column buffers that action strings
 * point into become the snapshot's. */
static void
keep_buffer(void *ctx, void *buf)
{
	snapshot_keep(((replay *) ctx)->snap, buf);
}

/* True when path is its own decoded and canonical form (st_path_decode
 * and st_path_canonical would return the same string): no '%' escape, no
 * ':' (so no URI scheme), relative, and no empty or "." segment or
 * trailing '/' for normalisation to collapse. *len = strlen(path). The
 * common case: "part-00000-<uuid>.c000.snappy.parquet", "x=1/part-...". */
static bool
plain_path(const char *p, size_t *len)
{
	size_t i = 0;
	for (;;) {
		i += strcspn(p + i, "%:/.");
		switch (p[i]) {
		case '\0':
			*len = i;
			return i == 0 || p[i - 1] != '/';   /* no trailing '/' */
		case '/':
			if (i == 0 || p[i - 1] == '/')
				return false;                   /* leading '/' or "//" */
			break;
		case '.':
			if ((i == 0 || p[i - 1] == '/') && (p[i + 1] == '/' || p[i + 1] == '\0'))
				return false;                   /* "." segment */
			break;
		default:
			return false;                       /* '%' or ':' */
		}
		i++;
	}
}

/* Key of a logical file: canonical decoded path, then the DV id. The
 * general case (escapes, absolute paths and URIs, DVs); plain paths take
 * the shortcut in apply(). */
static bool
file_key(replay *r, const char *path, bool has_dv, const dl_dv *dv,
		 const char **key, const char **decoded, lk_error *err)
{
	char *dec;
	if (!st_path_decode(path, r->a, &dec, err))
		return lk_error_add_where(err, "file \"%s\"", r->file);
	const char *canon = st_path_canonical(r->st, dec, r->a);
	/* a file: URI or absolute path inside the table becomes relative, so
	 * reading it does not need absolute paths to be allowed */
	*decoded = canon;
	*key = has_dv ? lk_arena_sprintf(r->a, "%s\x01%s", canon, dl_dv_unique_id(dv, r->a))
				  : canon;
	return true;
}

static bool
apply(void *ctx, const dl_action *act, lk_error *err)
{
	replay *r = ctx;
	switch (act->type) {
	case DL_ACT_PROTOCOL:
		r->protocol = act->u.protocol;
		r->has_protocol = true;
		return true;
	case DL_ACT_METADATA:
		r->metadata = act->u.metadata;
		r->has_metadata = true;
		return true;
	case DL_ACT_ADD:
	case DL_ACT_REMOVE: {
		if (r->metadata_only)
			return true;
		bool is_add = act->type == DL_ACT_ADD;
		const char *path = is_add ? act->u.add.path : act->u.remove.path;
		bool has_dv = is_add ? act->u.add.has_dv : act->u.remove.has_dv;
		const dl_dv *dv = is_add ? &act->u.add.dv : &act->u.remove.dv;
		const char *key = NULL, *dec = NULL;
		size_t klen = 0;
		if (!has_dv && plain_path(path, &klen)) {
			/* the action's path (in the snapshot arena) is its own key */
			key = dec = path;
		} else {
			LK_FORWARD(file_key(r, path, has_dv, dv, &key, &dec, err));
			klen = strlen(key);
		}
		uint64_t h = hash_bytes(key, klen);
		size_t idx = r->in_checkpoint ? fmap_append(&r->files, key, klen, h)
									  : fmap_upsert(&r->files, key, klen, h);
		fent *fe = &r->files.e[idx];
		fe->is_add = is_add;
		if (is_add) {
			r->files.f[idx].add = act->u.add;
			r->files.f[idx].path = dec;
		} else {
			fe->rm = lk_arena_memdup(r->a, &act->u.remove, sizeof(dl_remove));
		}
		return true;
	}
	case DL_ACT_TXN:
		*smap_slot(&r->txns, act->u.txn.app_id) =
			lk_arena_memdup(r->a, &act->u.txn, sizeof(dl_txn));
		return true;
	case DL_ACT_DOMAIN_METADATA:
		*smap_slot(&r->domains, act->u.domain_metadata.domain) =
			lk_arena_memdup(r->a, &act->u.domain_metadata, sizeof(dl_domain_metadata));
		return true;
	case DL_ACT_COMMIT_INFO:
		if (r->capture_commit_info && !r->commit_info) {
			r->commit_info = act->u.commit_info.json;
			r->has_ict = act->u.commit_info.has_in_commit_timestamp;
			r->ict = act->u.commit_info.in_commit_timestamp;
		}
		return true;
	case DL_ACT_SIDECAR:
		if (!r->in_checkpoint)
			return true;    /* not allowed in commits: ignored */
		if (r->nsidecars == r->capsidecars) {
			size_t nc = r->capsidecars ? 2 * r->capsidecars : 8;
			dl_sidecar *nv = lk_arena_alloc(r->a, nc * sizeof(*nv));
			if (r->nsidecars)
				memcpy(nv, r->sidecars, r->nsidecars * sizeof(*nv));
			r->sidecars = nv;
			r->capsidecars = nc;
		}
		r->sidecars[r->nsidecars++] = act->u.sidecar;
		return true;
	case DL_ACT_CDC:
	case DL_ACT_CHECKPOINT_METADATA:
		return true;
	}
	return true;
}

/* ---- planning ------------------------------------------------------------ */

typedef struct plan {
	int64_t latest;             /* latest version in the listing */
	int64_t version;            /* target */
	int64_t cp_version;         /* -1: no checkpoint */
	dl_log_kind cp_kind;
	const dl_log_file *cp;      /* classic or v2 file */
	const dl_log_file **parts;  /* multi-part files, in part order */
	int nparts;
	const dl_log_file **commits;/* commits cp_version+1 .. version */
	int64_t ncommits;
	const dl_log_file *target_commit;   /* commit file of `version`, or NULL */
	int64_t target_mtime;
} plan;

/* Pick the newest complete checkpoint ≤ v among files; fills p->cp*.
 * Multi-part checkpoints need every part of one part count. */
static void
pick_checkpoint(const dl_log_file *f, size_t n, int64_t v, lk_arena *a, plan *p)
{
	p->cp_version = -1;
	for (size_t i = n; i-- > 0;) {
		if (f[i].version > v)
			continue;
		if (p->cp_version >= 0 && f[i].version < p->cp_version)
			break;
		if (f[i].kind == DL_LOG_CHECKPOINT || f[i].kind == DL_LOG_CHECKPOINT_V2) {
			/* prefer these over multi-part at the same version */
			p->cp_version = f[i].version;
			p->cp_kind = f[i].kind;
			p->cp = &f[i];
			p->nparts = 0;
			return;
		}
		if (f[i].kind == DL_LOG_CHECKPOINT_PART && p->cp_version < 0) {
			/* gather parts of this version with this total */
			int32_t total = f[i].nparts;
			const dl_log_file **parts = lk_arena_zalloc(a, sizeof(*parts) * (size_t) total);
			int got = 0;
			for (size_t j = 0; j < n; j++) {
				if (f[j].kind == DL_LOG_CHECKPOINT_PART && f[j].version == f[i].version &&
					f[j].nparts == total && !parts[f[j].part - 1]) {
					parts[f[j].part - 1] = &f[j];
					got++;
				}
			}
			if (got == total) {
				p->cp_version = f[i].version;
				p->cp_kind = DL_LOG_CHECKPOINT_PART;
				p->cp = NULL;
				p->parts = parts;
				p->nparts = total;
				/* keep scanning this version for a classic/v2 one */
			}
		}
	}
}

/* Plan the replay of version `target` (-1 latest) from a listing. Returns
 * false with err filled when impossible (NOT_FOUND / CORRUPT). */
static bool
make_plan(const dl_log_file *f, size_t n, int64_t target, lk_arena *a,
		  const char *root, plan *p, lk_error *err)
{
	memset(p, 0, sizeof(*p));
	p->latest = -1;
	int64_t first_commit = -1;
	for (size_t i = 0; i < n; i++) {
		if (f[i].kind == DL_LOG_COMMIT) {
			if (first_commit < 0)
				first_commit = f[i].version;
			if (f[i].version > p->latest)
				p->latest = f[i].version;
		}
	}
	/* a checkpoint can be newer than the newest commit we can see (log
	 * cleaned after a checkpoint, or only checkpoints left) */
	plan tmp;
	pick_checkpoint(f, n, INT64_MAX, a, &tmp);
	if (tmp.cp_version > p->latest)
		p->latest = tmp.cp_version;
	if (p->latest < 0) {
		lk_error_set(err, LK_ERR_NOT_FOUND,
					 "not a Delta table: _delta_log has no commit or checkpoint");
		return lk_error_where(err, "table \"%s\"", root);
	}
	if (target > p->latest) {
		lk_error_set(err, LK_ERR_NOT_FOUND,
					 "version %" PRId64 " does not exist (the latest version is %" PRId64 ")",
					 target, p->latest);
		return lk_error_where(err, "table \"%s\"", root);
	}
	p->version = target < 0 ? p->latest : target;
	pick_checkpoint(f, n, p->version, a, p);
	int64_t from = p->cp_version + 1;
	if (p->cp_version < 0 && first_commit != 0) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "cannot reconstruct version %" PRId64 ": no checkpoint at or before "
					 "it and no commit file for version 0", p->version);
		return lk_error_where(err, "table \"%s\" _delta_log", root);
	}
	p->ncommits = p->version - from + 1;
	p->commits = lk_arena_zalloc(a, sizeof(*p->commits) * (size_t) (p->ncommits + 1));
	for (size_t i = 0; i < n; i++) {
		if (f[i].kind == DL_LOG_COMMIT && f[i].version >= from && f[i].version <= p->version)
			p->commits[f[i].version - from] = &f[i];
		if (f[i].kind == DL_LOG_COMMIT && f[i].version == p->version)
			p->target_commit = &f[i];
	}
	for (int64_t v = 0; v < p->ncommits; v++) {
		if (!p->commits[v]) {
			lk_error_set(err, LK_ERR_CORRUPT,
						 "versions are not contiguous: the commit file of version "
						 "%" PRId64 " is missing", from + v);
			return lk_error_where(err, "table \"%s\" _delta_log", root);
		}
	}
	if (p->target_commit)
		p->target_mtime = p->target_commit->mtime_ms;
	else if (p->cp)
		p->target_mtime = p->cp->mtime_ms;
	else if (p->nparts)
		p->target_mtime = p->parts[0]->mtime_ms;
	return true;
}

/* Version of _last_checkpoint, or -1 when absent or unusable. */
static int64_t
read_last_checkpoint(st_store *st)
{
	lk_buf b = LK_BUF_INIT;
	lk_error err;
	int64_t v = -1;
	if (st_read_all(st, LOG_DIR "/_last_checkpoint", 1 << 20, &b, &err)) {
		json_error_t je;
		json_t *o = json_loadb((const char *) b.data, b.len, 0, &je);
		json_t *jv = json_object_get(o, "version");
		if (json_is_integer(jv) && json_integer_value(jv) >= 0)
			v = (int64_t) json_integer_value(jv);
		json_decref(o);
	}
	lk_buf_free(&b);
	return v;
}

/* ---- reading ------------------------------------------------------------ */

static bool
read_checkpoint(replay *r, const plan *p, uint64_t max_json, lk_error *err)
{
	r->in_checkpoint = true;
	if (p->cp_kind == DL_LOG_CHECKPOINT_PART) {
		for (int i = 0; i < p->nparts; i++) {
			const char *path = lk_arena_sprintf(r->a, LOG_DIR "/%s", p->parts[i]->name);
			r->file = path;
			LK_FORWARD(dl_checkpoint_read_parquet_keep(r->st, path, r->a, keep_buffer, apply, r, err));
		}
	} else {
		const char *path = lk_arena_sprintf(r->a, LOG_DIR "/%s", p->cp->name);
		r->file = path;
		if (p->cp->is_json)
			LK_FORWARD(dl_checkpoint_read_json(r->st, path, max_json, r->a, apply, r, err));
		else
			LK_FORWARD(dl_checkpoint_read_parquet_keep(r->st, path, r->a, keep_buffer, apply, r, err));
	}
	/* v2 checkpoints: file actions live in sidecars */
	for (size_t i = 0; i < r->nsidecars; i++) {
		char *dec;
		if (!st_path_decode(r->sidecars[i].path, r->a, &dec, err))
			return lk_error_add_where(err, "sidecar of \"%s\"", r->file);
		const char *path = st_path_is_absolute(dec)
							   ? dec
							   : lk_arena_sprintf(r->a, LOG_DIR "/_sidecars/%s", dec);
		r->file = path;
		LK_FORWARD(dl_checkpoint_read_parquet_keep(r->st, path, r->a, keep_buffer, apply, r, err));
	}
	r->in_checkpoint = false;
	fmap_index(&r->files);
	return true;
}

static int
cmp_files(const void *x, const void *y)
{
	const dl_file *a = x, *b = y;
	int c = strcmp(a->path, b->path);
	if (c)
		return c;
	/* same data file, different DVs */
	const char *da = a->add.has_dv ? a->add.dv.path_or_inline : "";
	const char *db = b->add.has_dv ? b->add.dv.path_or_inline : "";
	c = strcmp(da, db);
	if (c)
		return c;
	return (a->add.dv.offset > b->add.dv.offset) - (a->add.dv.offset < b->add.dv.offset);
}

static int
cmp_removes(const void *x, const void *y)
{
	const dl_remove *a = x, *b = y;
	int c = strcmp(a->path, b->path);
	if (c)
		return c;
	const char *da = a->has_dv ? a->dv.path_or_inline : "";
	const char *db = b->has_dv ? b->dv.path_or_inline : "";
	return strcmp(da, db);
}

static int
cmp_txn(const void *x, const void *y)
{
	return strcmp(((const dl_txn *) x)->app_id, ((const dl_txn *) y)->app_id);
}

static int
cmp_domain(const void *x, const void *y)
{
	return strcmp(((const dl_domain_metadata *) x)->domain,
				  ((const dl_domain_metadata *) y)->domain);
}

static bool
ict_enabled_at(const dl_metadata *m, int64_t version)
{
	const char *en = dl_map_get(&m->configuration, "delta.enableInCommitTimestamps", NULL);
	if (!en || strcmp(en, "true") != 0)
		return false;
	const char *ev = dl_map_get(&m->configuration,
								"delta.inCommitTimestampEnablementVersion", NULL);
	int64_t from = 0;
	if (ev && !digits(ev, strlen(ev), &from))
		from = 0;
	return version >= from;
}

static bool
finish(replay *r, dl_snapshot *s, const plan *p, lk_error *err)
{
	s->version = p->version;
	s->checkpoint_version = p->cp_version;
	if (!r->has_protocol) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "the Delta log has no protocol action at version %" PRId64, p->version);
		return lk_error_where(err, "table \"%s\" _delta_log", s->store->root);
	}
	if (!r->has_metadata) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "the Delta log has no metaData action at version %" PRId64, p->version);
		return lk_error_where(err, "table \"%s\" _delta_log", s->store->root);
	}
	s->protocol = r->protocol;
	s->metadata = r->metadata;
	if (!dl_protocol_check_read(&s->protocol, err))
		return lk_error_add_where(err, "table \"%s\" version %" PRId64,
								  s->store->root, p->version);
	s->commit_info = r->commit_info;
	if (ict_enabled_at(&s->metadata, p->version) && p->target_commit) {
		if (!r->has_ict) {
			lk_error_set(err, LK_ERR_CORRUPT,
						 "in-commit timestamps are enabled but commit %" PRId64
						 " has no commitInfo.inCommitTimestamp", p->version);
			return lk_error_where(err, "file \"" LOG_DIR "/%s\"", p->target_commit->name);
		}
		s->timestamp_ms = r->ict;
	} else {
		s->timestamp_ms = p->target_mtime;
	}

	/* schema and column mapping */
	if (s->metadata.schema_string) {
		if (!dl_schema_parse(s->metadata.schema_string, &s->arena, &s->schema, err))
			return lk_error_add_where(err, "table \"%s\" metaData.schemaString",
									  s->store->root);
		s->has_schema = true;
		for (int i = 0; i < s->metadata.partition_columns.n; i++) {
			const char *pc = s->metadata.partition_columns.items[i];
			if (dl_schema_field_index(s->schema.type, pc) < 0) {
				lk_error_set(err, LK_ERR_CORRUPT,
							 "partition column \"%s\" is not in the table schema", pc);
				return lk_error_where(err, "table \"%s\" metaData", s->store->root);
			}
		}
	}
	s->column_mapping = DL_CM_NONE;
	if (s->protocol.min_reader_version == 2 ||
		protocol_has_reader_feature(&s->protocol, "columnMapping")) {
		const char *mode = dl_map_get(&s->metadata.configuration,
									  "delta.columnMapping.mode", NULL);
		if (!dl_column_mapping_parse(mode, &s->column_mapping, err))
			return false;
	}

	/* files and tombstones, in first-seen order; sorted only when that
	 * order is not already the path order. The adds are compacted in place
	 * in the map's dl_file array, which the snapshot then owns. */
	fmap *m = &r->files;
	size_t nr = 0;
	fmap_index(m);
	for (size_t i = 0; i < m->n; i++)
		nr += !m->e[i].dead && !m->e[i].is_add;
	s->tombstones = lk_arena_alloc(&s->arena, sizeof(dl_remove) * (nr ? nr : 1));
	bool files_sorted = true, tombs_sorted = true;
	size_t na = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->e[i].dead)
			continue;
		if (m->e[i].is_add) {
			if (na != i)
				m->f[na] = m->f[i];
			if (files_sorted && na > 0 && cmp_files(&m->f[na - 1], &m->f[na]) > 0)
				files_sorted = false;
			na++;
		} else {
			dl_remove *t = &s->tombstones[s->ntombstones];
			*t = *m->e[i].rm;
			if (tombs_sorted && s->ntombstones > 0 && cmp_removes(t - 1, t) > 0)
				tombs_sorted = false;
			s->ntombstones++;
		}
	}
	if (na > 0) {
		s->files = lk_xrealloc(m->f, na * sizeof(dl_file));
		m->f = NULL;
		snapshot_keep(s, s->files);
	} else {
		s->files = lk_arena_alloc(&s->arena, sizeof(dl_file));
	}
	s->nfiles = na;
	if (!files_sorted)
		qsort(s->files, s->nfiles, sizeof(dl_file), cmp_files);
	if (!tombs_sorted)
		qsort(s->tombstones, s->ntombstones, sizeof(dl_remove), cmp_removes);

	s->txns = lk_arena_alloc(&s->arena, sizeof(dl_txn) * (r->txns.n ? r->txns.n : 1));
	for (size_t i = 0; i < r->txns.cap; i++)
		if (r->txns.e[i].key)
			s->txns[s->ntxns++] = *(dl_txn *) r->txns.e[i].val;
	qsort(s->txns, s->ntxns, sizeof(dl_txn), cmp_txn);

	s->domains = lk_arena_alloc(&s->arena, sizeof(dl_domain_metadata) *
											   (r->domains.n ? r->domains.n : 1));
	for (size_t i = 0; i < r->domains.cap; i++) {
		const dl_domain_metadata *d = r->domains.e[i].val;
		if (r->domains.e[i].key && !d->removed)
			s->domains[s->ndomains++] = *d;
	}
	qsort(s->domains, s->ndomains, sizeof(dl_domain_metadata), cmp_domain);
	return true;
}

void
dl_snapshot_options_init(dl_snapshot_options *o)
{
	memset(o, 0, sizeof(*o));
	o->version = -1;
	o->use_last_checkpoint = true;
}

/* Listing + plan, with _last_checkpoint as the listing start when usable. */
static bool
list_and_plan(st_store *st, const dl_snapshot_options *o, lk_arena *a,
			  plan *p, lk_error *err)
{
	dl_log_file *f;
	size_t n;
	if (o->use_last_checkpoint) {
		int64_t hint = read_last_checkpoint(st);
		if (hint >= 0 && (o->version < 0 || o->version >= hint)) {
			char start[32];
			snprintf(start, sizeof(start), "%020" PRId64, hint);
			lk_error tmp;
			if (list_log(st, start, a, &f, &n, &tmp) &&
				make_plan(f, n, o->version, a, st->root, p, &tmp) &&
				p->cp_version >= hint)
				return true;
			/* stale or broken hint: list everything */
		}
	}
	LK_FORWARD(list_log(st, NULL, a, &f, &n, err));
	return make_plan(f, n, o->version, a, st->root, p, err);
}

/* The first commitInfo of commit file `path` into r (commit_info, ict),
 * for a target version whose actions all come from its checkpoint. Only
 * lines that can hold a commitInfo action are parsed: those containing
 * "commitInfo", or "\\u" (a key spelled with escapes); the add lines of a
 * large commit are skipped unparsed. */
static bool
read_commit_info(replay *r, const char *path, uint64_t max_json, lk_error *err)
{
	lk_buf buf = LK_BUF_INIT;
	if (!st_read_all(r->st, path, max_json, &buf, err)) {
		lk_buf_free(&buf);
		return false;
	}
	bool ok = true;
	size_t pos = 0;
	int64_t line = 0;
	const char *data = (const char *) buf.data;
	while (ok && !r->commit_info && pos < buf.len) {
		const char *s = data + pos;
		const char *nl = memchr(s, '\n', buf.len - pos);
		size_t ll = nl ? (size_t) (nl - s) : buf.len - pos;
		line++;
		pos += ll + (nl ? 1 : 0);
		if (!memmem(s, ll, "commitInfo", 10) && !memmem(s, ll, "\\u", 2))
			continue;
		dl_action act;
		bool got;
		ok = dl_action_parse_line(s, ll, path, line, r->a, &act, &got, err);
		if (ok && got && act.type == DL_ACT_COMMIT_INFO) {
			r->commit_info = act.u.commit_info.json;
			r->has_ict = act.u.commit_info.has_in_commit_timestamp;
			r->ict = act.u.commit_info.in_commit_timestamp;
		}
	}
	lk_buf_free(&buf);
	return ok;
}

static bool
snapshot_build(st_store *st, const dl_snapshot_options *opt, bool metadata_only,
			   dl_snapshot **out, lk_error *err)
{
	dl_snapshot_options o;
	if (opt)
		o = *opt;
	else
		dl_snapshot_options_init(&o);
	uint64_t max_json = o.max_json_bytes ? o.max_json_bytes : DEFAULT_MAX_JSON;
	if (o.as_of_timestamp) {
		LK_FORWARD(dl_log_version_at(st, o.timestamp_ms, &o.version, err));
		o.as_of_timestamp = false;
	}

	dl_snapshot *s = lk_xcalloc(1, sizeof(*s));
	lk_arena_init(&s->arena, 0);
	s->store = st;
	s->checkpoint_version = -1;
	replay r = {0};
	r.st = st;
	r.snap = s;
	r.a = &s->arena;
	r.metadata_only = metadata_only;
	plan p;
	bool ok = list_and_plan(st, &o, &s->arena, &p, err);
	if (ok && p.cp_version >= 0)
		ok = read_checkpoint(&r, &p, max_json, err);
	for (int64_t i = 0; ok && i < p.ncommits; i++) {
		const char *path = lk_arena_sprintf(&s->arena, LOG_DIR "/%s", p.commits[i]->name);
		r.file = path;
		r.capture_commit_info = p.commits[i] == p.target_commit;
		ok = dl_checkpoint_read_json(st, path, max_json, &s->arena, apply, &r, err);
	}
	if (ok && !r.commit_info && p.target_commit && p.ncommits == 0) {
		/* the target is the checkpoint version: commitInfo comes from its
		 * commit file when it still exists */
		const char *path = lk_arena_sprintf(&s->arena, LOG_DIR "/%s", p.target_commit->name);
		ok = read_commit_info(&r, path, max_json, err);
	}
	if (ok)
		ok = finish(&r, s, &p, err);
	fmap_free(&r.files);
	smap_free(&r.txns);
	smap_free(&r.domains);
	if (!ok) {
		dl_snapshot_free(s);
		return false;
	}
	*out = s;
	return true;
}

bool
dl_snapshot_open(st_store *st, const dl_snapshot_options *opt,
				 dl_snapshot **out, lk_error *err)
{
	return snapshot_build(st, opt, false, out, err);
}

void
dl_snapshot_free(dl_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nowned; i++)
		free(s->owned[i]);
	free(s->owned);
	lk_arena_free(&s->arena);
	free(s);
}

int64_t
dl_snapshot_txn_version(const dl_snapshot *s, const char *app_id)
{
	size_t lo = 0, hi = s->ntxns;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s->txns[mid].app_id, app_id);
		if (c == 0)
			return s->txns[mid].version;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const char *
dl_snapshot_config(const dl_snapshot *s, const char *key)
{
	return dl_map_get(&s->metadata.configuration, key, NULL);
}

/* ---- timestamps ---------------------------------------------------------- */

/* inCommitTimestamp of one commit: the first action must be a commitInfo
 * carrying it. */
static bool
read_ict(st_store *st, const dl_log_file *f, lk_arena *a, int64_t *ts,
		 lk_error *err)
{
	const char *path = lk_arena_sprintf(a, LOG_DIR "/%s", f->name);
	lk_buf b = LK_BUF_INIT;
	if (!st_read_all(st, path, DEFAULT_MAX_JSON, &b, err)) {
		lk_buf_free(&b);
		return false;
	}
	const char *d = (const char *) b.data;
	const char *nl = memchr(d, '\n', b.len);
	size_t ll = nl ? (size_t) (nl - d) : b.len;
	dl_action act;
	bool got;
	bool ok = dl_action_parse_line(d, ll, path, 1, a, &act, &got, err);
	lk_buf_free(&b);
	if (!ok)
		return false;
	if (!got || act.type != DL_ACT_COMMIT_INFO ||
		!act.u.commit_info.has_in_commit_timestamp) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "in-commit timestamps are enabled but the commit does not start "
					 "with a commitInfo carrying inCommitTimestamp");
		return lk_error_where(err, "file \"%s\" line 1", path);
	}
	*ts = act.u.commit_info.in_commit_timestamp;
	return true;
}

/* Commits of the log as a dense array indexed by version - first (every
 * version from first to last present). */
typedef struct commit_index {
	const dl_log_file **c;
	int64_t first, last;    /* first contiguous run ending at the latest */
} commit_index;

static bool
index_commits(st_store *st, lk_arena *a, commit_index *ci, lk_error *err)
{
	dl_log_file *f;
	size_t n;
	LK_FORWARD(list_log(st, NULL, a, &f, &n, err));
	int64_t last = -1;
	for (size_t i = 0; i < n; i++)
		if (f[i].kind == DL_LOG_COMMIT && f[i].version > last)
			last = f[i].version;
	if (last < 0) {
		lk_error_set(err, LK_ERR_NOT_FOUND, "the Delta log has no commit files");
		return lk_error_where(err, "table \"%s\"", st->root);
	}
	/* walk back from the latest while versions are contiguous */
	int64_t first = last;
	for (size_t i = n; i-- > 0;) {
		if (f[i].kind != DL_LOG_COMMIT || f[i].version > first)
			continue;
		if (f[i].version == first - 1)
			first = f[i].version;
		else if (f[i].version < first - 1)
			break;
	}
	ci->first = first;
	ci->last = last;
	ci->c = lk_arena_zalloc(a, sizeof(*ci->c) * (size_t) (last - first + 1));
	for (size_t i = 0; i < n; i++)
		if (f[i].kind == DL_LOG_COMMIT && f[i].version >= first)
			ci->c[f[i].version - first] = &f[i];
	return true;
}

/* Adjusted mtimes of commits [ci->first, upto]. */
static int64_t *
adjusted_mtimes(const commit_index *ci, int64_t upto, lk_arena *a)
{
	int64_t n = upto - ci->first + 1;
	int64_t *t = lk_arena_alloc(a, sizeof(int64_t) * (size_t) (n ? n : 1));
	for (int64_t i = 0; i < n; i++) {
		t[i] = ci->c[i]->mtime_ms;
		if (i > 0 && t[i] <= t[i - 1])
			t[i] = t[i - 1] + 1;
	}
	return t;
}

static bool
ict_config(st_store *st, int64_t version, bool *enabled, int64_t *from,
		   lk_error *err)
{
	dl_snapshot *s;
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	o.version = version;
	LK_FORWARD(snapshot_build(st, &o, true, &s, err));
	*enabled = ict_enabled_at(&s->metadata, INT64_MAX);
	*from = INT64_MAX;
	if (*enabled) {
		const char *ev = dl_map_get(&s->metadata.configuration,
									"delta.inCommitTimestampEnablementVersion", NULL);
		*from = 0;
		if (ev && !digits(ev, strlen(ev), from))
			*from = 0;
	}
	dl_snapshot_free(s);
	return true;
}

bool
dl_log_commit_timestamps(st_store *st, int64_t from, int64_t to, lk_arena *a,
						 int64_t **ts, lk_error *err)
{
	commit_index ci;
	bool ict;
	int64_t ict_from;
	if (from < 0 || to < from)
		return lk_error_set(err, LK_ERR_INVALID, "bad version range %" PRId64 "..%" PRId64,
							from, to);
	LK_FORWARD(index_commits(st, a, &ci, err));
	if (from < ci.first || to > ci.last) {
		lk_error_set(err, LK_ERR_NOT_FOUND,
					 "commits %" PRId64 "..%" PRId64 " are not all available "
					 "(the log holds versions %" PRId64 "..%" PRId64 ")",
					 from, to, ci.first, ci.last);
		return lk_error_where(err, "table \"%s\" _delta_log", st->root);
	}
	LK_FORWARD(ict_config(st, to, &ict, &ict_from, err));
	int64_t *mt = adjusted_mtimes(&ci, to, a);
	int64_t *out = lk_arena_alloc(a, sizeof(int64_t) * (size_t) (to - from + 1));
	for (int64_t v = from; v <= to; v++) {
		if (ict && v >= ict_from)
			LK_FORWARD(read_ict(st, ci.c[v - ci.first], a, &out[v - from], err));
		else
			out[v - from] = mt[v - ci.first];
	}
	*ts = out;
	return true;
}

static bool
ts_error(lk_error *err, st_store *st, int64_t ts, const char *rel, int64_t bound_v,
		 int64_t bound_ts)
{
	lk_error_set(err, LK_ERR_NOT_FOUND,
				 "timestamp %" PRId64 " ms is %s version %" PRId64 " (committed at %" PRId64
				 " ms)", ts, rel, bound_v, bound_ts);
	return lk_error_where(err, "table \"%s\"", st->root);
}

bool
dl_log_version_at(st_store *st, int64_t ts_ms, int64_t *version, lk_error *err)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	commit_index ci;
	bool ok = false, ict;
	int64_t ict_from;
	if (!index_commits(st, &a, &ci, err) ||
		!ict_config(st, ci.last, &ict, &ict_from, err))
		goto done;
	if (ict && ict_from < ci.first)
		ict_from = ci.first;
	int64_t mt_last = ict ? ict_from - 1 : ci.last;   /* last mtime-timed version */
	if (ict) {
		int64_t t_from, t_last;
		if (!read_ict(st, ci.c[ict_from - ci.first], &a, &t_from, err) ||
			!read_ict(st, ci.c[ci.last - ci.first], &a, &t_last, err))
			goto done;
		if (ts_ms > t_last) {
			ts_error(err, st, ts_ms, "after the latest", ci.last, t_last);
			goto done;
		}
		if (ts_ms >= t_from) {
			/* latest v in [ict_from, last] with ict(v) <= ts */
			int64_t lo = ict_from, hi = ci.last;    /* ict(lo) <= ts */
			while (lo < hi) {
				int64_t mid = lo + (hi - lo + 1) / 2;
				int64_t t;
				if (!read_ict(st, ci.c[mid - ci.first], &a, &t, err))
					goto done;
				if (t <= ts_ms)
					lo = mid;
				else
					hi = mid - 1;
			}
			*version = lo;
			ok = true;
			goto done;
		}
		if (mt_last < ci.first) {
			ts_error(err, st, ts_ms, "before the earliest available", ict_from, t_from);
			goto done;
		}
	}
	int64_t *mt = adjusted_mtimes(&ci, mt_last, &a);
	if (ts_ms < mt[0]) {
		ts_error(err, st, ts_ms, "before the earliest available", ci.first, mt[0]);
		goto done;
	}
	if (!ict && ts_ms > mt[mt_last - ci.first]) {
		ts_error(err, st, ts_ms, "after the latest", ci.last, mt[mt_last - ci.first]);
		goto done;
	}
	int64_t lo = 0, hi = mt_last - ci.first;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo + 1) / 2;
		if (mt[mid] <= ts_ms)
			lo = mid;
		else
			hi = mid - 1;
	}
	*version = ci.first + lo;
	ok = true;
done:
	lk_arena_free(&a);
	return ok;
}
