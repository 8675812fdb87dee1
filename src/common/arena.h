/*
 * arena.h — bump allocator for one unit of work (a transaction, a row
 * group, a commit).  Everything allocated from an arena is freed at once by
 * lk_arena_reset() or lk_arena_free(); nothing is freed individually.
 */
#ifndef LK_ARENA_H
#define LK_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct lk_arena_block lk_arena_block;

typedef struct lk_arena {
	lk_arena_block *head;   /* current block (newest first) */
	size_t block_size;      /* default size of a new block */
	size_t total;           /* bytes allocated from malloc, all blocks */
} lk_arena;

/* Initialise an empty arena; block_size 0 means 64 KiB. */
void lk_arena_init(lk_arena *a, size_t block_size);

/* Allocate n bytes aligned to 16. Aborts the process on out-of-memory
 * (as PostgreSQL's palloc does); returned memory is owned by the arena. */
void *lk_arena_alloc(lk_arena *a, size_t n);

/* Same, zero-filled. */
void *lk_arena_zalloc(lk_arena *a, size_t n);

/* Copy of n bytes / of a NUL-terminated string / of n bytes plus a NUL. */
void *lk_arena_memdup(lk_arena *a, const void *p, size_t n);
char *lk_arena_strdup(lk_arena *a, const char *s);
char *lk_arena_strndup(lk_arena *a, const char *s, size_t n);
char *lk_arena_sprintf(lk_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Free every allocation but keep the first block for reuse. */
void lk_arena_reset(lk_arena *a);

/* Free everything; the arena may be initialised again. */
void lk_arena_free(lk_arena *a);

/* malloc/realloc/calloc that abort on failure with a message. */
void *lk_xmalloc(size_t n);
void *lk_xcalloc(size_t n, size_t size);
void *lk_xrealloc(void *p, size_t n);
char *lk_xstrdup(const char *s);

#endif
