#include "common/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lk_arena_block {
	lk_arena_block *next;
	size_t size;
	size_t used;
	/* data follows, 16-aligned */
	max_align_t data[];
};

static void
oom(size_t n)
{
	fprintf(stderr, "lakesync: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
lk_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *
lk_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *
lk_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *
lk_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = lk_xmalloc(n);
	memcpy(p, s, n);
	return p;
}

void
lk_arena_init(lk_arena *a, size_t block_size)
{
	a->head = NULL;
	a->block_size = block_size ? block_size : 64 * 1024;
	a->total = 0;
}

void *
lk_arena_alloc(lk_arena *a, size_t n)
{
	lk_arena_block *b = a->head;
	size_t need = (n + 15) & ~(size_t) 15;

	if (need < n)
		oom(n);
	if (!b || b->size - b->used < need) {
		size_t size = a->block_size;
		if (need > size / 4) {
			/* big allocation: own block, kept behind the current one */
			lk_arena_block *big = lk_xmalloc(sizeof(*big) + need);
			big->size = need;
			big->used = need;
			a->total += need;
			if (b) {
				big->next = b->next;
				b->next = big;
			} else {
				big->next = NULL;
				a->head = big;
			}
			return big->data;
		}
		b = lk_xmalloc(sizeof(*b) + size);
		b->size = size;
		b->used = 0;
		b->next = a->head;
		a->head = b;
		a->total += size;
	}
	void *p = (char *) b->data + b->used;
	b->used += need;
	return p;
}

void *
lk_arena_zalloc(lk_arena *a, size_t n)
{
	void *p = lk_arena_alloc(a, n);
	memset(p, 0, n);
	return p;
}

void *
lk_arena_memdup(lk_arena *a, const void *p, size_t n)
{
	void *q = lk_arena_alloc(a, n);
	if (n)
		memcpy(q, p, n);
	return q;
}

char *
lk_arena_strndup(lk_arena *a, const char *s, size_t n)
{
	char *q = lk_arena_alloc(a, n + 1);
	if (n)
		memcpy(q, s, n);
	q[n] = '\0';
	return q;
}

char *
lk_arena_strdup(lk_arena *a, const char *s)
{
	return lk_arena_strndup(a, s, strlen(s));
}

char *
lk_arena_sprintf(lk_arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = lk_arena_alloc(a, (size_t) n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t) n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
lk_arena_reset(lk_arena *a)
{
	lk_arena_block *b = a->head, *keep = NULL;

	/* keep one standard-size block */
	while (b) {
		lk_arena_block *next = b->next;
		if (!keep && b->size == a->block_size) {
			keep = b;
		} else {
			free(b);
		}
		b = next;
	}
	if (keep) {
		keep->next = NULL;
		keep->used = 0;
		a->total = keep->size;
	} else {
		a->total = 0;
	}
	a->head = keep;
}

void
lk_arena_free(lk_arena *a)
{
	lk_arena_block *b = a->head;
	while (b) {
		lk_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
	a->total = 0;
}
