/*
 * commit.c — the Delta commit protocol: optimistic concurrency over
 * put-if-absent of `_delta_log/<version>.json`.
 *
 * State machine of one dl_commit (CONVENTIONS "State machines"):
 *
 *   dl_commit_begin / dl_commit_begin_create / dl_commit_next
 *        │
 *        ▼
 *   ┌──────────┐  dl_commit_add_action, dl_commit_set_txn,
 *   │ BUILDING │  dl_write_batch, dl_delete_rows, ... (writer.c)
 *   └────┬─────┘
 *        │ dl_commit_run → prepare(): hooks once (DV files, CDC files),
 *        │                 check_write_rules()
 *        ▼
 *   ┌──────────┐ attempt(): build_json(v = read+1) → st_put_if_absent
 *   │ ATTEMPT v│─────────────── linked ──────────────▶┌───────────┐
 *   └────┬─────┘                                      │ COMMITTED │
 *        │ LK_ERR_CONFLICT (v exists)                 └─────┬─────┘
 *        ▼                                                  │ maybe_checkpoint()
 *   ┌──────────┐ read_winner(w) + check_winner(w)           ▼
 *   │ REBASE   │ for w = v, v+1, ... until absent     (checkpoint errors
 *   └────┬─────┘                                       are only logged)
 *        │ no logical conflict and attempts < max: read = last winner
 *        ├──────────────────────────────▶ ATTEMPT (last winner + 1)
 *        │ conflict, or attempts exhausted, or creating (v = 0 exists)
 *        ▼
 *   ┌──────────┐
 *   │  FAILED  │ LK_ERR_CONFLICT naming the versions (files written for the
 *   └──────────┘ commit stay unreferenced: vacuum removes them)
 *
 * Invariants:
 *  1. Every file an attempt references (data, deletion vector, CDC) was
 *     written completely and fsynced before the attempt (st_writer_commit
 *     fsyncs before it links; the hooks run before the first attempt).
 *  2. A version file appears atomically and complete, or not at all
 *     (temp file + fsync + link(): storage.c).
 *  3. Version v is attempted only after every version in read+1 .. v-1 has
 *     been read and checked against this commit (check_winner).
 *  4. The commit's logical content (actions) never changes between
 *     attempts; only commitInfo (readVersion, in-commit timestamp) does.
 *  5. In-commit timestamps strictly increase: ict = max(now, previous + 1).
 *  6. A checkpoint failure never fails a commit that is already durable.
 *
 * Conflict rules (check_winner; WriteSerializable, as Delta's
 * ConflictChecker):
 *   winner changed protocol or metaData                  → conflict
 *   this commit changes protocol or metaData             → conflict
 *   winner txn with an appId this commit also sets       → conflict
 *   winner removed a logical file (path, DV) we remove   → conflict
 *     (a deletion-vector update is a remove of the old pair)
 *   winner domainMetadata of a domain we also set        → conflict
 *   this commit reads data (dl_commit_set_reads_data) and the winner
 *     removed data (dataChange) or added data in a non-blind commit → conflict
 *   blind appends vs blind appends, appends vs OPTIMIZE  → compatible
 */
#include "delta/commit.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "delta/maintenance.h"

#define LOG_DIR "_delta_log"
#define MAX_COMMIT_JSON (256ull * 1024 * 1024)

typedef struct hook {
	dl_commit_prepare_fn prepare;
	dl_commit_free_fn free;
	void *ctx;
} hook;

struct dl_commit {
	lk_arena arena;
	st_store *st;
	const char *operation;
	json_t *params;             /* operationParameters */
	int64_t read_version;       /* -1: creating the table */
	int64_t version;            /* committed version, -1 before */
	int64_t prev_ts;            /* commit time of read_version (ICT or mtime), -1 */
	int64_t clock;              /* fixed wall clock, or -1 */
	int64_t commit_ts;          /* timestamp written by the winning attempt */
	int attempts;
	bool prepared, failed;
	bool reads_data;
	bool creating;

	bool has_protocol, has_metadata;
	dl_protocol protocol;       /* current table state (read or new) */
	dl_metadata metadata;
	bool sets_protocol, sets_metadata;
	bool has_schema;
	dl_schema schema;
	dl_column_mapping cm;

	dl_action *acts;
	unsigned *flags;
	size_t n, cap;
	int file_index;
	void *ext;

	hook *hooks;
	int nhooks, caphooks;

	/* sorted keys of our removes, built at the first conflict */
	const char **rm_keys;
	size_t nrm_keys;
	bool rm_keys_built;
};

/* ---- small helpers ------------------------------------------------------ */

int64_t
dl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
dl_uuid_v4(char out[37])
{
	uint8_t u[16];
	size_t got = 0;
	while (got < 16) {
		ssize_t r = getrandom(u + got, 16 - got, 0);
		if (r > 0)
			got += (size_t) r;
		else {
			/* getrandom cannot really fail for 16 bytes; fall back anyway */
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t x = (uint64_t) ts.tv_nsec ^ ((uint64_t) getpid() << 32) ^
						 (uint64_t) ts.tv_sec * 0x9E3779B97F4A7C15ull;
			for (; got < 16; got++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				u[got] = (uint8_t) x;
			}
		}
	}
	u[6] = (uint8_t) ((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t) ((u[8] & 0x3f) | 0x80);
	static const char hex[] = "0123456789abcdef";
	int o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 15];
	}
	out[o] = '\0';
}

bool
dl_parse_interval_ms(const char *s, int64_t *ms)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{"millisecond", 1}, {"second", 1000}, {"minute", 60000},
		{"hour", 3600000}, {"day", 86400000}, {"week", 604800000},
	};
	if (!s)
		return false;
	while (isspace((unsigned char) *s))
		s++;
	if (strncasecmp(s, "interval", 8) == 0)
		s += 8;
	int64_t total = 0;
	int pairs = 0;
	for (;;) {
		while (isspace((unsigned char) *s))
			s++;
		if (!*s)
			break;
		char *end;
		long long n = strtoll(s, &end, 10);
		if (end == s || n < 0 || n > 1000000000LL)
			return false;
		s = end;
		while (isspace((unsigned char) *s))
			s++;
		const char *u = s;
		while (isalpha((unsigned char) *s))
			s++;
		size_t ul = (size_t) (s - u);
		if (ul > 0 && (u[ul - 1] == 's' || u[ul - 1] == 'S'))
			ul--;
		int64_t mul = -1;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].unit) == ul && strncasecmp(u, units[i].unit, ul) == 0)
				mul = units[i].ms;
		if (mul < 0)
			return false;
		total += (int64_t) n * mul;
		pairs++;
	}
	if (!pairs)
		return false;
	*ms = total;
	return true;
}

static const char *
astr(lk_arena *a, const char *s)
{
	return s ? lk_arena_strdup(a, s) : NULL;
}

static void
copy_map(lk_arena *a, dl_map *dst, const dl_map *src)
{
	dst->n = src->n;
	dst->items = NULL;
	if (src->n <= 0)
		return;
	dst->items = lk_arena_alloc(a, sizeof(dl_kv) * (size_t) src->n);
	for (int i = 0; i < src->n; i++) {
		dst->items[i].key = astr(a, src->items[i].key);
		dst->items[i].value = astr(a, src->items[i].value);
	}
}

static void
copy_strings(lk_arena *a, dl_strings *dst, const dl_strings *src)
{
	dst->n = src->n;
	dst->items = NULL;
	if (src->n <= 0)
		return;
	dst->items = lk_arena_alloc(a, sizeof(char *) * (size_t) src->n);
	for (int i = 0; i < src->n; i++)
		dst->items[i] = astr(a, src->items[i]);
}

static void
copy_dv(lk_arena *a, dl_dv *dst, const dl_dv *src)
{
	*dst = *src;
	dst->path_or_inline = astr(a, src->path_or_inline);
}

/* Deep copy of an add into arena a (see commit.h). */
void
dl_add_copy(lk_arena *a, dl_add *dst, const dl_add *src)
{
	*dst = *src;
	dst->path = astr(a, src->path);
	copy_map(a, &dst->partition_values, &src->partition_values);
	dst->stats = astr(a, src->stats);
	copy_map(a, &dst->tags, &src->tags);
	copy_dv(a, &dst->dv, &src->dv);
	dst->clustering_provider = astr(a, src->clustering_provider);
}

static void
copy_protocol(lk_arena *a, dl_protocol *dst, const dl_protocol *src)
{
	*dst = *src;
	copy_strings(a, &dst->reader_features, &src->reader_features);
	copy_strings(a, &dst->writer_features, &src->writer_features);
}

static void
copy_metadata(lk_arena *a, dl_metadata *dst, const dl_metadata *src)
{
	*dst = *src;
	dst->id = astr(a, src->id);
	dst->name = astr(a, src->name);
	dst->description = astr(a, src->description);
	dst->format_provider = astr(a, src->format_provider);
	copy_map(a, &dst->format_options, &src->format_options);
	dst->schema_string = astr(a, src->schema_string);
	copy_strings(a, &dst->partition_columns, &src->partition_columns);
	copy_map(a, &dst->configuration, &src->configuration);
}

/* Deep copy of an action into arena a. */
static void
copy_action(lk_arena *a, dl_action *dst, const dl_action *src)
{
	*dst = *src;
	switch (src->type) {
	case DL_ACT_PROTOCOL:
		copy_protocol(a, &dst->u.protocol, &src->u.protocol);
		break;
	case DL_ACT_METADATA:
		copy_metadata(a, &dst->u.metadata, &src->u.metadata);
		break;
	case DL_ACT_ADD:
		dl_add_copy(a, &dst->u.add, &src->u.add);
		break;
	case DL_ACT_REMOVE: {
		const dl_remove *s = &src->u.remove;
		dl_remove *d = &dst->u.remove;
		d->path = astr(a, s->path);
		copy_map(a, &d->partition_values, &s->partition_values);
		d->stats = astr(a, s->stats);
		copy_map(a, &d->tags, &s->tags);
		copy_dv(a, &d->dv, &s->dv);
		break;
	}
	case DL_ACT_CDC:
		dst->u.cdc.path = astr(a, src->u.cdc.path);
		copy_map(a, &dst->u.cdc.partition_values, &src->u.cdc.partition_values);
		copy_map(a, &dst->u.cdc.tags, &src->u.cdc.tags);
		break;
	case DL_ACT_TXN:
		dst->u.txn.app_id = astr(a, src->u.txn.app_id);
		break;
	case DL_ACT_COMMIT_INFO:
		dst->u.commit_info.json = astr(a, src->u.commit_info.json);
		dst->u.commit_info.operation = astr(a, src->u.commit_info.operation);
		break;
	case DL_ACT_DOMAIN_METADATA:
		dst->u.domain_metadata.domain = astr(a, src->u.domain_metadata.domain);
		dst->u.domain_metadata.configuration =
			astr(a, src->u.domain_metadata.configuration);
		break;
	case DL_ACT_CHECKPOINT_METADATA:
		copy_map(a, &dst->u.checkpoint_metadata.tags, &src->u.checkpoint_metadata.tags);
		break;
	case DL_ACT_SIDECAR:
		dst->u.sidecar.path = astr(a, src->u.sidecar.path);
		copy_map(a, &dst->u.sidecar.tags, &src->u.sidecar.tags);
		break;
	}
}

/* Parse the schema of the current metadata (after a metaData change). */
static bool
refresh_schema(dl_commit *c, lk_error *err)
{
	c->has_schema = false;
	c->cm = DL_CM_NONE;
	if (!c->has_metadata || !c->metadata.schema_string)
		return true;
	if (!dl_schema_parse(c->metadata.schema_string, &c->arena, &c->schema, err))
		return lk_error_add_where(err, "metaData.schemaString");
	c->has_schema = true;
	const char *mode = dl_map_get(&c->metadata.configuration,
								  "delta.columnMapping.mode", NULL);
	return dl_column_mapping_parse(mode, &c->cm, err);
}

static dl_commit *
commit_new(st_store *st, const char *operation)
{
	dl_commit *c = lk_xcalloc(1, sizeof(*c));
	lk_arena_init(&c->arena, 0);
	c->st = st;
	c->operation = lk_arena_strdup(&c->arena, operation ? operation : "WRITE");
	c->params = json_object();
	c->read_version = -1;
	c->version = -1;
	c->prev_ts = -1;
	c->clock = -1;
	c->commit_ts = -1;
	return c;
}

dl_commit *
dl_commit_begin(st_store *st, const dl_snapshot *snap, const char *operation)
{
	dl_commit *c = commit_new(st, operation);
	c->read_version = snap->version;
	c->prev_ts = snap->timestamp_ms;
	c->has_protocol = c->has_metadata = true;
	copy_protocol(&c->arena, &c->protocol, &snap->protocol);
	copy_metadata(&c->arena, &c->metadata, &snap->metadata);
	if (snap->has_schema) {
		/* re-parse into our arena: the snapshot may go away */
		lk_error e;
		if (!refresh_schema(c, &e))
			c->has_schema = false;   /* reported when a writer needs it */
	}
	return c;
}

dl_commit *
dl_commit_begin_create(st_store *st, const char *operation)
{
	dl_commit *c = commit_new(st, operation ? operation : "CREATE TABLE");
	c->creating = true;
	return c;
}

dl_commit *
dl_commit_next(const dl_commit *prev, const char *operation)
{
	dl_commit *c = commit_new(prev->st, operation);
	c->read_version = prev->version;
	c->prev_ts = prev->commit_ts;
	c->has_protocol = prev->has_protocol;
	c->has_metadata = prev->has_metadata;
	if (c->has_protocol)
		copy_protocol(&c->arena, &c->protocol, &prev->protocol);
	if (c->has_metadata) {
		copy_metadata(&c->arena, &c->metadata, &prev->metadata);
		lk_error e;
		if (!refresh_schema(c, &e))
			c->has_schema = false;
	}
	return c;
}

void
dl_commit_free(dl_commit *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nhooks; i++)
		if (c->hooks[i].free)
			c->hooks[i].free(c->hooks[i].ctx);
	free(c->hooks);
	free(c->acts);
	free(c->flags);
	free(c->rm_keys);
	json_decref(c->params);
	lk_arena_free(&c->arena);
	free(c);
}

void
dl_commit_options_init(dl_commit_options *o)
{
	memset(o, 0, sizeof(*o));
	o->max_attempts = 1000;
	o->auto_checkpoint = true;
}

/* ---- accessors ----------------------------------------------------------- */

st_store *dl_commit_store(const dl_commit *c) { return c->st; }
lk_arena *dl_commit_arena(dl_commit *c) { return &c->arena; }
int64_t dl_commit_read_version(const dl_commit *c) { return c->read_version; }
int64_t dl_commit_version(const dl_commit *c) { return c->version; }
int dl_commit_attempts(const dl_commit *c) { return c->attempts; }

const dl_protocol *
dl_commit_protocol(const dl_commit *c)
{
	return c->has_protocol ? &c->protocol : NULL;
}

const dl_metadata *
dl_commit_metadata(const dl_commit *c)
{
	return c->has_metadata ? &c->metadata : NULL;
}

const dl_schema *
dl_commit_schema(const dl_commit *c)
{
	return c->has_schema ? &c->schema : NULL;
}

bool
dl_commit_check_schema(dl_commit *c, lk_error *err)
{
	if (c->has_schema)
		return true;
	if (!c->has_metadata || !c->metadata.schema_string)
		return lk_error_set(err, LK_ERR_INVALID, "the table has no schema to write with");
	return refresh_schema(c, err);
}

dl_column_mapping
dl_commit_column_mapping(const dl_commit *c)
{
	return c->cm;
}

const char *
dl_commit_config(const dl_commit *c, const char *key)
{
	if (!c->has_metadata)
		return NULL;
	return dl_map_get(&c->metadata.configuration, key, NULL);
}

bool
dl_commit_config_true(const dl_commit *c, const char *key)
{
	const char *v = dl_commit_config(c, key);
	return v && strcasecmp(v, "true") == 0;
}

size_t
dl_commit_nactions(const dl_commit *c)
{
	return c->n;
}

const dl_action *
dl_commit_action(const dl_commit *c, size_t i, unsigned *flags)
{
	if (i >= c->n)
		return NULL;
	if (flags)
		*flags = c->flags[i];
	return &c->acts[i];
}

int
dl_commit_next_file_index(dl_commit *c)
{
	return c->file_index++;
}

void **
dl_commit_ext(dl_commit *c)
{
	return &c->ext;
}

/* ---- building ------------------------------------------------------------ */

bool
dl_commit_add_action_flags(dl_commit *c, const dl_action *a, unsigned flags,
						   lk_error *err)
{
	if (c->prepared && !c->failed && c->version >= 0)
		return lk_error_set(err, LK_ERR_INVALID, "commit is already published");
	switch (a->type) {
	case DL_ACT_COMMIT_INFO:
		return lk_error_set(err, LK_ERR_INVALID,
							"commitInfo is written by the commit itself");
	case DL_ACT_CHECKPOINT_METADATA:
	case DL_ACT_SIDECAR:
		return lk_error_set(err, LK_ERR_INVALID, "%s actions belong in checkpoints",
							dl_action_name(a->type));
	case DL_ACT_PROTOCOL:
		if (c->sets_protocol)
			return lk_error_set(err, LK_ERR_INVALID, "a commit has at most one protocol");
		break;
	case DL_ACT_METADATA:
		if (c->sets_metadata)
			return lk_error_set(err, LK_ERR_INVALID, "a commit has at most one metaData");
		if (!a->u.metadata.id || !a->u.metadata.schema_string)
			return lk_error_set(err, LK_ERR_INVALID, "metaData needs id and schemaString");
		break;
	case DL_ACT_ADD:
		if (!a->u.add.path)
			return lk_error_set(err, LK_ERR_INVALID, "add needs a path");
		break;
	case DL_ACT_REMOVE:
		if (!a->u.remove.path)
			return lk_error_set(err, LK_ERR_INVALID, "remove needs a path");
		break;
	case DL_ACT_CDC:
		if (!a->u.cdc.path)
			return lk_error_set(err, LK_ERR_INVALID, "cdc needs a path");
		break;
	case DL_ACT_TXN:
		if (!a->u.txn.app_id)
			return lk_error_set(err, LK_ERR_INVALID, "txn needs an appId");
		for (size_t i = 0; i < c->n; i++)
			if (c->acts[i].type == DL_ACT_TXN &&
				strcmp(c->acts[i].u.txn.app_id, a->u.txn.app_id) == 0)
				return lk_error_set(err, LK_ERR_INVALID,
									"txn \"%s\" is already set in this commit",
									a->u.txn.app_id);
		break;
	case DL_ACT_DOMAIN_METADATA:
		break;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->acts = lk_xrealloc(c->acts, c->cap * sizeof(*c->acts));
		c->flags = lk_xrealloc(c->flags, c->cap * sizeof(*c->flags));
	}
	dl_action *d = &c->acts[c->n];
	copy_action(&c->arena, d, a);
	c->flags[c->n] = flags;
	c->n++;
	if (a->type == DL_ACT_PROTOCOL) {
		c->protocol = d->u.protocol;
		c->has_protocol = c->sets_protocol = true;
	} else if (a->type == DL_ACT_METADATA) {
		c->metadata = d->u.metadata;
		c->has_metadata = c->sets_metadata = true;
		if (!refresh_schema(c, err)) {
			c->n--;
			return false;
		}
	}
	return true;
}

bool
dl_commit_add_action(dl_commit *c, const dl_action *a, lk_error *err)
{
	return dl_commit_add_action_flags(c, a, 0, err);
}

bool
dl_commit_set_txn(dl_commit *c, const char *app_id, int64_t version,
				  lk_error *err)
{
	dl_action a;
	memset(&a, 0, sizeof(a));
	a.type = DL_ACT_TXN;
	a.u.txn.app_id = app_id;
	a.u.txn.version = version;
	a.u.txn.has_last_updated = true;
	a.u.txn.last_updated = c->clock >= 0 ? c->clock : dl_now_ms();
	return dl_commit_add_action(c, &a, err);
}

void
dl_commit_set_param(dl_commit *c, const char *key, const char *json_value)
{
	json_error_t je;
	json_t *v = json_value ? json_loads(json_value, JSON_DECODE_ANY, &je) : json_null();
	if (!v)
		v = json_string(json_value);
	if (v)
		json_object_set_new(c->params, key, v);
}

void
dl_commit_set_reads_data(dl_commit *c, bool reads)
{
	c->reads_data = reads;
}

void
dl_commit_set_clock(dl_commit *c, int64_t ts_ms)
{
	c->clock = ts_ms;
}

static hook *
new_hook(dl_commit *c)
{
	if (c->nhooks == c->caphooks) {
		c->caphooks = c->caphooks ? 2 * c->caphooks : 4;
		c->hooks = lk_xrealloc(c->hooks, (size_t) c->caphooks * sizeof(hook));
	}
	hook *h = &c->hooks[c->nhooks++];
	memset(h, 0, sizeof(*h));
	return h;
}

void
dl_commit_on_prepare(dl_commit *c, dl_commit_prepare_fn fn, void *ctx)
{
	hook *h = new_hook(c);
	h->prepare = fn;
	h->ctx = ctx;
}

void
dl_commit_on_free(dl_commit *c, dl_commit_free_fn fn, void *ctx)
{
	hook *h = new_hook(c);
	h->free = fn;
	h->ctx = ctx;
}

/* ---- protocol checks ------------------------------------------------------ */

static bool
has_feature(const dl_strings *l, const char *f)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->items[i], f) == 0)
			return true;
	return false;
}

bool
dl_protocol_check_write(const dl_protocol *p, const dl_metadata *m, lk_error *err)
{
	static const char *const supported[] = {
		"appendOnly", "invariants", "checkConstraints", "changeDataFeed",
		"generatedColumns", "identityColumns", "columnMapping",
		"deletionVectors", "timestampNtz", "inCommitTimestamp",
		"vacuumProtocolCheck", "v2Checkpoint", "typeWidening",
		"typeWidening-preview", "domainMetadata", "allowColumnDefaults",
	};
	if (p->min_writer_version < 1)
		return lk_error_set(err, LK_ERR_CORRUPT, "invalid writer version %d",
							(int) p->min_writer_version);
	if (p->min_writer_version > 7)
		return lk_error_set(err, LK_ERR_UNSUPPORTED,
							"writer version %d is not supported (at most 7)",
							(int) p->min_writer_version);
	if (p->min_writer_version == 7) {
		for (int i = 0; i < p->writer_features.n; i++) {
			const char *f = p->writer_features.items[i];
			bool ok = false;
			for (size_t k = 0; k < sizeof(supported) / sizeof(supported[0]); k++)
				if (strcmp(f, supported[k]) == 0)
					ok = true;
			if (!ok)
				return lk_error_set(err, LK_ERR_UNSUPPORTED,
									"writer table feature \"%s\" is not supported", f);
		}
	}
	if (m) {
		const char *ss = m->schema_string ? m->schema_string : "";
		static const char *const markers[][2] = {
			{"delta.invariants", "column invariants"},
			{"delta.generationExpression", "generated columns"},
			{"delta.identity.", "identity columns"},
		};
		for (size_t k = 0; k < sizeof(markers) / sizeof(markers[0]); k++)
			if (strstr(ss, markers[k][0]))
				return lk_error_set(err, LK_ERR_UNSUPPORTED,
									"the table uses %s, which this writer cannot enforce",
									markers[k][1]);
		for (int i = 0; i < m->configuration.n; i++)
			if (strncmp(m->configuration.items[i].key, "delta.constraints.", 18) == 0)
				return lk_error_set(err, LK_ERR_UNSUPPORTED,
									"the table has CHECK constraint \"%s\", which this "
									"writer cannot enforce",
									m->configuration.items[i].key + 18);
	}
	return true;
}

/* Rules checked once in prepare(). */
static bool
check_write_rules(dl_commit *c, lk_error *err)
{
	if (!c->has_protocol || !c->has_metadata)
		return lk_error_set(err, LK_ERR_INVALID,
							"a commit needs the table's protocol and metaData");
	LK_FORWARD(dl_protocol_check_write(&c->protocol, &c->metadata, err));
	bool append_only = dl_commit_config_true(c, "delta.appendOnly");
	for (size_t i = 0; i < c->n; i++) {
		const dl_action *a = &c->acts[i];
		if (append_only && a->type == DL_ACT_REMOVE && a->u.remove.data_change)
			return lk_error_set(err, LK_ERR_INVALID,
								"table is append-only (delta.appendOnly): cannot remove "
								"\"%s\"", a->u.remove.path);
		if (a->type == DL_ACT_ADD && a->u.add.has_dv &&
			!has_feature(&c->protocol.writer_features, "deletionVectors"))
			return lk_error_set(err, LK_ERR_INVALID,
								"the table does not support deletion vectors");
	}
	return true;
}

/* ---- the commit file ------------------------------------------------------ */

static int
type_rank(dl_action_type t)
{
	switch (t) {
	case DL_ACT_PROTOCOL: return 0;
	case DL_ACT_METADATA: return 1;
	case DL_ACT_DOMAIN_METADATA: return 2;
	case DL_ACT_TXN: return 3;
	case DL_ACT_REMOVE: return 4;
	case DL_ACT_ADD: return 5;
	case DL_ACT_CDC: return 6;
	default: return 7;
	}
}

static bool
is_blind_append(const dl_commit *c)
{
	if (c->reads_data)
		return false;
	for (size_t i = 0; i < c->n; i++) {
		const dl_action *a = &c->acts[i];
		if (a->type == DL_ACT_REMOVE || a->type == DL_ACT_PROTOCOL ||
			a->type == DL_ACT_METADATA)
			return false;
		if (a->type == DL_ACT_ADD && (!a->u.add.data_change || a->u.add.has_dv))
			return false;
	}
	return true;
}

static bool
ict_enabled(const dl_commit *c)
{
	return dl_commit_config_true(c, "delta.enableInCommitTimestamps");
}

static json_t *
metrics(const dl_commit *c)
{
	int64_t nadd = 0, nrm = 0, bytes = 0, rows = 0, ncdc = 0, ndv = 0;
	bool rows_known = true;
	for (size_t i = 0; i < c->n; i++) {
		const dl_action *a = &c->acts[i];
		if (a->type == DL_ACT_ADD) {
			nadd++;
			bytes += a->u.add.size;
			if (a->u.add.has_dv)
				ndv++;
			const char *s = a->u.add.stats ? strstr(a->u.add.stats, "\"numRecords\":") : NULL;
			if (s)
				rows += strtoll(s + 13, NULL, 10);
			else
				rows_known = false;
		} else if (a->type == DL_ACT_REMOVE) {
			nrm++;
		} else if (a->type == DL_ACT_CDC) {
			ncdc++;
		}
	}
	json_t *m = json_object();
	char b[32];
#define PUT(k, v) (snprintf(b, sizeof(b), "%" PRId64, (int64_t) (v)), \
				   json_object_set_new(m, k, json_string(b)))
	PUT("numAddedFiles", nadd);
	PUT("numRemovedFiles", nrm);
	PUT("numOutputBytes", bytes);
	if (rows_known)
		PUT("numOutputRows", rows);
	if (ncdc)
		PUT("numAddedChangeFiles", ncdc);
	if (ndv)
		PUT("numDeletionVectorsAdded", ndv);
#undef PUT
	return m;
}

/* The whole commit text for `version`; sets *ts to the commit time. */
static bool
build_json(dl_commit *c, int64_t version, lk_buf *out, int64_t *ts, lk_error *err)
{
	int64_t now = c->clock >= 0 ? c->clock : dl_now_ms();
	bool ict = ict_enabled(c);
	if (ict && c->prev_ts >= 0 && now <= c->prev_ts)
		now = c->prev_ts + 1;
	*ts = now;

	char txn_id[37];
	dl_uuid_v4(txn_id);
	json_t *ci = json_object();
	json_object_set_new(ci, "timestamp", json_integer(now));
	json_object_set_new(ci, "operation", json_string(c->operation));
	json_object_set(ci, "operationParameters", c->params);
	if (version > 0 && c->read_version >= 0)
		json_object_set_new(ci, "readVersion", json_integer(c->read_version));
	json_object_set_new(ci, "isolationLevel", json_string("WriteSerializable"));
	json_object_set_new(ci, "isBlindAppend", json_boolean(is_blind_append(c)));
	bool files = false;
	for (size_t i = 0; i < c->n; i++)
		if (c->acts[i].type == DL_ACT_ADD || c->acts[i].type == DL_ACT_REMOVE ||
			c->acts[i].type == DL_ACT_CDC)
			files = true;
	if (files)
		json_object_set_new(ci, "operationMetrics", metrics(c));
	json_object_set_new(ci, "engineInfo", json_string(DL_ENGINE_INFO));
	json_object_set_new(ci, "txnId", json_string(txn_id));
	char *text = json_dumps(ci, JSON_COMPACT);
	json_decref(ci);
	if (!text)
		return lk_error_set(err, LK_ERR_INVALID, "could not serialize commitInfo");

	dl_action a;
	memset(&a, 0, sizeof(a));
	a.type = DL_ACT_COMMIT_INFO;
	a.u.commit_info.json = text;
	a.u.commit_info.has_in_commit_timestamp = ict;
	a.u.commit_info.in_commit_timestamp = now;
	bool ok = dl_action_write(out, &a, err);
	free(text);
	for (int rank = 0; ok && rank < 8; rank++)
		for (size_t i = 0; ok && i < c->n; i++)
			if (type_rank(c->acts[i].type) == rank)
				ok = dl_action_write(out, &c->acts[i], err);
	if (!ok)
		lk_error_add_where(err, "commit of version %" PRId64, version);
	return ok;
}

static const char *
commit_path(lk_arena *a, int64_t version)
{
	return lk_arena_sprintf(a, LOG_DIR "/%020" PRId64 ".json", version);
}

/* ---- conflicts ------------------------------------------------------------ */

static const char *
file_key(const dl_commit *c, const char *path, bool has_dv, const dl_dv *dv,
		 lk_arena *a)
{
	char *dec;
	lk_error e;
	if (!st_path_decode(path, a, &dec, &e))
		dec = lk_arena_strdup(a, path);
	const char *canon = st_path_canonical(c->st, dec, a);
	return has_dv ? lk_arena_sprintf(a, "%s\x01%s", canon, dl_dv_unique_id(dv, a)) : canon;
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *) x, *(const char *const *) y);
}

static void
build_rm_keys(dl_commit *c)
{
	if (c->rm_keys_built)
		return;
	c->rm_keys_built = true;
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->acts[i].type == DL_ACT_REMOVE)
			n++;
	c->rm_keys = lk_xmalloc((n ? n : 1) * sizeof(char *));
	for (size_t i = 0; i < c->n; i++) {
		const dl_action *a = &c->acts[i];
		if (a->type == DL_ACT_REMOVE)
			c->rm_keys[c->nrm_keys++] = file_key(c, a->u.remove.path, a->u.remove.has_dv,
												 &a->u.remove.dv, &c->arena);
	}
	qsort(c->rm_keys, c->nrm_keys, sizeof(char *), cmp_str);
}

static bool
conflict(lk_error *err, int64_t winner, const dl_commit *c, const char *fmt,
		 const char *arg)
{
	char what[400];
	snprintf(what, sizeof(what), fmt, arg);
	lk_error_set(err, LK_ERR_CONFLICT,
				 "concurrent commit conflict: version %" PRId64 " %s (this %s transaction "
				 "read version %" PRId64 ")",
				 winner, what, c->operation, c->read_version);
	return lk_error_where(err, "file \"" LOG_DIR "/%020" PRId64 ".json\"", winner);
}

/* Check one winning commit against ours. On success *ts is its commit time
 * (in-commit timestamp, or -1 when it has none). */
static bool
check_winner(dl_commit *c, int64_t v, const dl_action *w, size_t nw, int64_t *ts,
			 lk_arena *tmp, lk_error *err)
{
	bool blind = false;
	*ts = -1;
	for (size_t i = 0; i < nw; i++) {
		if (w[i].type != DL_ACT_COMMIT_INFO)
			continue;
		const dl_commit_info *ci = &w[i].u.commit_info;
		if (ci->has_in_commit_timestamp)
			*ts = ci->in_commit_timestamp;
		else if (ci->has_timestamp)
			*ts = ci->timestamp;
		json_error_t je;
		json_t *o = ci->json ? json_loads(ci->json, 0, &je) : NULL;
		blind = json_is_true(json_object_get(o, "isBlindAppend"));
		json_decref(o);
	}
	if (c->sets_protocol || c->sets_metadata)
		return conflict(err, v, c, "%s", "was committed while this transaction changes "
							 "the table's protocol or metadata");
	for (size_t i = 0; i < nw; i++) {
		const dl_action *a = &w[i];
		switch (a->type) {
		case DL_ACT_PROTOCOL:
			return conflict(err, v, c, "%s", "changed the protocol");
		case DL_ACT_METADATA:
			return conflict(err, v, c, "%s", "changed the table metadata");
		case DL_ACT_TXN:
			for (size_t k = 0; k < c->n; k++)
				if (c->acts[k].type == DL_ACT_TXN &&
					strcmp(c->acts[k].u.txn.app_id, a->u.txn.app_id) == 0)
					return conflict(err, v, c, "committed txn \"%s\" too", a->u.txn.app_id);
			break;
		case DL_ACT_DOMAIN_METADATA:
			for (size_t k = 0; k < c->n; k++)
				if (c->acts[k].type == DL_ACT_DOMAIN_METADATA &&
					strcmp(c->acts[k].u.domain_metadata.domain,
						   a->u.domain_metadata.domain) == 0)
					return conflict(err, v, c, "changed domain \"%s\" too",
									a->u.domain_metadata.domain);
			break;
		case DL_ACT_REMOVE: {
			if (c->reads_data && a->u.remove.data_change)
				return conflict(err, v, c, "removed \"%s\", and this transaction read "
										   "the table", a->u.remove.path);
			build_rm_keys(c);
			if (!c->nrm_keys)
				break;
			const char *k = file_key(c, a->u.remove.path, a->u.remove.has_dv,
									 &a->u.remove.dv, tmp);
			if (bsearch(&k, c->rm_keys, c->nrm_keys, sizeof(char *), cmp_str))
				return conflict(err, v, c, "removed \"%s\", which this transaction "
										   "removes or updates too", a->u.remove.path);
			break;
		}
		case DL_ACT_ADD:
			if (c->reads_data && a->u.add.data_change && !blind)
				return conflict(err, v, c, "added \"%s\", and this transaction read "
										   "the table", a->u.add.path);
			break;
		default:
			break;
		}
	}
	return true;
}

/* Read winner v into tmp; *exists false when the version is absent. */
static bool
read_winner(dl_commit *c, int64_t v, lk_arena *tmp, dl_action **acts, size_t *n,
			bool *exists, lk_error *err)
{
	lk_buf b = LK_BUF_INIT;
	const char *path = commit_path(tmp, v);
	*exists = false;
	if (!st_read_all(c->st, path, MAX_COMMIT_JSON, &b, err)) {
		lk_buf_free(&b);
		if (err->code == LK_ERR_NOT_FOUND) {
			lk_error_clear(err);
			return true;
		}
		return false;
	}
	*exists = true;
	bool ok = dl_actions_parse((const char *) b.data, b.len, path, tmp, acts, n, err);
	lk_buf_free(&b);
	return ok;
}

/* ---- running -------------------------------------------------------------- */

static bool
prepare(dl_commit *c, lk_error *err)
{
	if (c->prepared)
		return true;
	c->prepared = true;
	/* hooks may register more hooks: index loop */
	for (int i = 0; i < c->nhooks; i++)
		if (c->hooks[i].prepare && !c->hooks[i].prepare(c, c->hooks[i].ctx, err))
			return false;
	return check_write_rules(c, err);
}

static void
maybe_checkpoint(dl_commit *c, const dl_commit_options *o)
{
	if (!o->auto_checkpoint || c->version <= 0)
		return;
	int64_t interval = o->checkpoint_interval;
	if (interval <= 0) {
		const char *s = dl_commit_config(c, "delta.checkpointInterval");
		char *end;
		long long v = s ? strtoll(s, &end, 10) : 0;
		interval = (s && *end == '\0' && v > 0) ? v : 100;
	}
	if (c->version % interval != 0)
		return;
	lk_error e;
	dl_checkpoint_result r;
	if (!dl_checkpoint_write(c->st, c->version, &r, &e)) {
		char buf[1100];
		lk_warn("could not write the checkpoint of version %" PRId64 " (the commit "
				"stands): %s", c->version, lk_error_str(&e, buf, sizeof(buf)));
	}
}

bool
dl_commit_run(dl_commit *c, const dl_commit_options *opt, lk_error *err)
{
	dl_commit_options o;
	if (opt)
		o = *opt;
	else
		dl_commit_options_init(&o);
	if (o.max_attempts <= 0)
		o.max_attempts = 1;
	if (c->version >= 0)
		return lk_error_set(err, LK_ERR_INVALID, "commit is already published");
	if (c->failed)
		return lk_error_set(err, LK_ERR_INVALID, "commit failed before; start a new one");
	if (!prepare(c, err)) {
		c->failed = true;
		return false;
	}

	lk_arena tmp;
	lk_arena_init(&tmp, 0);
	lk_buf json = LK_BUF_INIT;
	bool ok = false;
	int64_t first_read = c->read_version;
	for (;;) {
		int64_t v = c->read_version + 1;
		int64_t ts;
		lk_buf_reset(&json);
		if (!build_json(c, v, &json, &ts, err))
			break;
		c->attempts++;
		const char *path = commit_path(&tmp, v);
		if (st_put_if_absent(c->st, path, json.data, json.len, err)) {
			c->version = v;
			c->commit_ts = ts;
			ok = true;
			break;
		}
		if (err->code != LK_ERR_CONFLICT)
			break;
		if (c->creating) {
			lk_error_set(err, LK_ERR_CONFLICT, "the table already exists (version 0 "
											   "is committed)");
			lk_error_where(err, "table \"%s\"", c->st->root);
			break;
		}
		/* REBASE: read and check every winner from v on */
		bool fail = false;
		for (int64_t w = v;; w++) {
			lk_arena_reset(&tmp);
			dl_action *acts;
			size_t n;
			bool exists;
			if (!read_winner(c, w, &tmp, &acts, &n, &exists, err)) {
				fail = true;
				break;
			}
			if (!exists)
				break;
			int64_t wts;
			if (!check_winner(c, w, acts, n, &wts, &tmp, err)) {
				fail = true;
				break;
			}
			c->read_version = w;
			if (wts >= 0)
				c->prev_ts = wts;
		}
		if (fail)
			break;
		if (c->attempts >= o.max_attempts) {
			lk_error_set(err, LK_ERR_CONFLICT,
						 "gave up after %d attempts: versions %" PRId64 "..%" PRId64
						 " were committed concurrently (no logical conflict)",
						 c->attempts, first_read + 1, c->read_version);
			lk_error_where(err, "table \"%s\"", c->st->root);
			break;
		}
		lk_debug("commit lost the race at version %" PRId64 ", retrying at %" PRId64,
				 v, c->read_version + 1);
	}
	lk_buf_free(&json);
	lk_arena_free(&tmp);
	if (!ok) {
		c->failed = true;
		return false;
	}
	if (c->creating)
		c->read_version = -1;
	maybe_checkpoint(c, &o);
	return true;
}
