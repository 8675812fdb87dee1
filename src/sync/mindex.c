/*
 * mindex.c — lifecycle of the mirror-mode primary-key index. See mindex.h.
 * (Stub: the implementation follows.)
 */
#include "sync/mindex.h"

#include <stdlib.h>

struct sy_mindex {
	sy_pkindex *idx;
	int64_t version;
	int nkey;
	int *key_index;
};

sy_mindex *
sy_mindex_open(st_store *st, const dl_snapshot *snap, const char *dir,
			   const char *const *key_cols, int nkey, size_t memory_budget,
			   sy_mindex_stats *stats, lk_error *err)
{
	(void) st, (void) snap, (void) dir, (void) key_cols, (void) nkey;
	(void) memory_budget, (void) stats;
	lk_error_set(err, LK_ERR_UNSUPPORTED, "mirror index not implemented yet");
	return NULL;
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
	return m->key_index[i];
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
	(void) m, (void) b, (void) row, (void) out;
	return lk_error_set(err, LK_ERR_UNSUPPORTED, "not implemented yet");
}

bool
sy_mindex_save(sy_mindex *m, int64_t version, lk_error *err)
{
	(void) m, (void) version;
	return lk_error_set(err, LK_ERR_UNSUPPORTED, "not implemented yet");
}

bool
sy_mindex_rebuild(sy_mindex *m, st_store *st, const dl_snapshot *snap,
				  sy_mindex_stats *stats, lk_error *err)
{
	(void) m, (void) st, (void) snap, (void) stats;
	return lk_error_set(err, LK_ERR_UNSUPPORTED, "not implemented yet");
}

void
sy_mindex_close(sy_mindex *m)
{
	if (!m)
		return;
	free(m->key_index);
	free(m);
}
