/*
 * spill.c — per-transaction spill store (see spill.h for the contract and
 * the record layout).
 *
 *   append ──▶ xact.mem (lk_buf) ──(all buffers > budget: the largest)──▶
 *              xact.file  "<dir>/<xid>.spill"  (stdio, unlinked at drop)
 *   replay ──▶ file records first (they are older), then xact.mem
 */
#include "sync/spill.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/buf.h"

typedef struct xact {
	uint32_t xid;
	lk_buf mem;                 /* records not yet in the file */
	FILE *file;                 /* NULL until the first spill */
	char *path;                 /* malloc'd, when file */
	uint64_t file_bytes;
	uint64_t messages;
	uint32_t *aborted;          /* aborted subxids */
	size_t naborted, capaborted;
	struct xact *next;
} xact;

struct sy_spill {
	char *dir;
	size_t budget;
	size_t mem;                 /* sum of xact.mem.len */
	xact *list;
};

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
		   (uint32_t) p[3] << 24;
}

static bool
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* mkdir -p */
static bool
make_dirs(const char *dir, lk_error *err)
{
	char *p = lk_xstrdup(dir);
	for (char *q = p + 1; *q; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			lk_error_set(err, LK_ERR_IO, "could not create directory \"%s\": %s", p,
						 strerror(errno));
			free(p);
			return false;
		}
		*q = '/';
	}
	bool ok = mkdir(p, 0755) == 0 || errno == EEXIST;
	if (!ok)
		lk_error_set(err, LK_ERR_IO, "could not create directory \"%s\": %s", p,
					 strerror(errno));
	free(p);
	return ok;
}

sy_spill *
sy_spill_open(const char *dir, size_t mem_budget, lk_error *err)
{
	if (!make_dirs(dir, err))
		return NULL;
	DIR *d = opendir(dir);
	if (!d) {
		lk_error_set(err, LK_ERR_IO, "could not open directory \"%s\": %s", dir,
					 strerror(errno));
		return NULL;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!has_suffix(e->d_name, ".spill"))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	sy_spill *s = lk_xcalloc(1, sizeof(*s));
	s->dir = lk_xstrdup(dir);
	s->budget = mem_budget ? mem_budget : (size_t) 8 << 20;
	return s;
}

static xact *
find(const sy_spill *s, uint32_t xid)
{
	for (xact *x = s->list; x; x = x->next)
		if (x->xid == xid)
			return x;
	return NULL;
}

static void
drop(sy_spill *s, uint32_t xid)
{
	for (xact **pp = &s->list; *pp; pp = &(*pp)->next) {
		xact *x = *pp;
		if (x->xid != xid)
			continue;
		*pp = x->next;
		s->mem -= x->mem.len;
		lk_buf_free(&x->mem);
		if (x->file) {
			fclose(x->file);
			unlink(x->path);
		}
		free(x->path);
		free(x->aborted);
		free(x);
		return;
	}
}

void
sy_spill_clear(sy_spill *s)
{
	while (s->list)
		drop(s, s->list->xid);
}

void
sy_spill_close(sy_spill *s)
{
	if (!s)
		return;
	sy_spill_clear(s);
	free(s->dir);
	free(s);
}

/* Move x's buffered records to its file. */
static bool
spill_out(sy_spill *s, xact *x, lk_error *err)
{
	if (!x->mem.len)
		return true;
	if (!x->file) {
		size_t n = strlen(s->dir) + 32;
		x->path = lk_xmalloc(n);
		snprintf(x->path, n, "%s/%u.spill", s->dir, x->xid);
		x->file = fopen(x->path, "w+b");
		if (!x->file)
			return lk_error_set(err, LK_ERR_IO, "could not create spill file \"%s\": %s",
								x->path, strerror(errno));
	}
	if (fwrite(x->mem.data, 1, x->mem.len, x->file) != x->mem.len)
		return lk_error_set(err, LK_ERR_IO, "could not write spill file \"%s\": %s",
							x->path, strerror(errno));
	x->file_bytes += x->mem.len;
	s->mem -= x->mem.len;
	lk_buf_reset(&x->mem);
	/* keep the memory of small buffers, give back big ones */
	if (x->mem.cap > ((size_t) 1 << 20)) {
		lk_buf_free(&x->mem);
		lk_buf_init(&x->mem);
	}
	return true;
}

bool
sy_spill_append(sy_spill *s, uint32_t xid, uint32_t subxid, const uint8_t *msg,
				size_t len, lk_error *err)
{
	if (len > SY_SPILL_MAX_MSG)
		return lk_error_set(err, LK_ERR_NOMEM, "message of %zu bytes is too large to spill",
							len);
	xact *x = find(s, xid);
	if (!x) {
		x = lk_xcalloc(1, sizeof(*x));
		x->xid = xid;
		lk_buf_init(&x->mem);
		x->next = s->list;
		s->list = x;
	}
	uint8_t hdr[8];
	put_u32(hdr, subxid ? subxid : xid);
	put_u32(hdr + 4, (uint32_t) len);
	lk_buf_append(&x->mem, hdr, 8);
	lk_buf_append(&x->mem, msg, len);
	s->mem += 8 + len;
	x->messages++;
	while (s->mem > s->budget) {
		xact *big = NULL;
		for (xact *y = s->list; y; y = y->next)
			if (!big || y->mem.len > big->mem.len)
				big = y;
		if (!big || !big->mem.len)
			break;
		if (!spill_out(s, big, err))
			return false;
	}
	return true;
}

void
sy_spill_abort(sy_spill *s, uint32_t xid, uint32_t subxid)
{
	if (subxid == 0 || subxid == xid) {
		drop(s, xid);
		return;
	}
	xact *x = find(s, xid);
	if (!x)
		return;
	for (size_t i = 0; i < x->naborted; i++)
		if (x->aborted[i] == subxid)
			return;
	if (x->naborted == x->capaborted) {
		x->capaborted = x->capaborted ? 2 * x->capaborted : 8;
		x->aborted = lk_xrealloc(x->aborted, sizeof(uint32_t) * x->capaborted);
	}
	x->aborted[x->naborted++] = subxid;
}

static bool
is_aborted(const xact *x, uint32_t subxid)
{
	for (size_t i = 0; i < x->naborted; i++)
		if (x->aborted[i] == subxid)
			return true;
	return false;
}

/* Relation and Type messages describe the catalog, not rows: they stay
 * even when their subtransaction aborted (pgoutput does not send them
 * again for the same streamed transaction). */
static bool
keep(const xact *x, uint32_t subxid, const uint8_t *msg, size_t len)
{
	if (!x->naborted || !is_aborted(x, subxid))
		return true;
	return len > 0 && (msg[0] == 'R' || msg[0] == 'Y');
}

/* Records of [p, p+n), all complete (written by append). */
static bool
replay_mem(const xact *x, const uint8_t *p, size_t n, sy_spill_fn fn, void *arg,
		   lk_error *err)
{
	size_t pos = 0;
	while (pos < n) {
		if (n - pos < 8)
			return lk_error_set(err, LK_ERR_INTERNAL, "truncated spill record");
		uint32_t sub = get_u32(p + pos), len = get_u32(p + pos + 4);
		pos += 8;
		if (len > n - pos)
			return lk_error_set(err, LK_ERR_INTERNAL, "truncated spill record");
		if (keep(x, sub, p + pos, len) && !fn(arg, sub, p + pos, len, err))
			return false;
		pos += len;
	}
	return true;
}

static bool
replay_file(xact *x, sy_spill_fn fn, void *arg, lk_error *err)
{
	if (fflush(x->file) != 0 || fseek(x->file, 0, SEEK_SET) != 0)
		return lk_error_set(err, LK_ERR_IO, "could not rewind spill file \"%s\": %s",
							x->path, strerror(errno));
	lk_buf rec = LK_BUF_INIT;
	uint64_t pos = 0;
	bool ok = true;
	while (ok && pos < x->file_bytes) {
		uint8_t hdr[8];
		if (x->file_bytes - pos < 8 || fread(hdr, 1, 8, x->file) != 8) {
			ok = lk_error_set(err, LK_ERR_IO, "could not read spill file \"%s\" at byte %llu",
							  x->path, (unsigned long long) pos);
			break;
		}
		uint32_t sub = get_u32(hdr), len = get_u32(hdr + 4);
		pos += 8;
		if (len > SY_SPILL_MAX_MSG || len > x->file_bytes - pos) {
			ok = lk_error_set(err, LK_ERR_CORRUPT, "bad record length %u in spill file "
							  "\"%s\" at byte %llu", len, x->path,
							  (unsigned long long) pos - 8);
			break;
		}
		lk_buf_reset(&rec);
		lk_buf_reserve(&rec, len ? len : 1);
		if (len && fread(rec.data, 1, len, x->file) != len) {
			ok = lk_error_set(err, LK_ERR_IO, "could not read spill file \"%s\" at byte %llu",
							  x->path, (unsigned long long) pos);
			break;
		}
		pos += len;
		if (keep(x, sub, rec.data, len))
			ok = fn(arg, sub, rec.data, len, err);
	}
	lk_buf_free(&rec);
	return ok;
}

bool
sy_spill_replay(sy_spill *s, uint32_t xid, sy_spill_fn fn, void *arg,
				lk_error *err)
{
	xact *x = find(s, xid);
	if (!x)
		return true;
	bool ok = true;
	if (x->file)
		ok = replay_file(x, fn, arg, err);
	if (ok)
		ok = replay_mem(x, x->mem.data, x->mem.len, fn, arg, err);
	drop(s, xid);
	return ok;
}

bool
sy_spill_has(const sy_spill *s, uint32_t xid)
{
	return find(s, xid) != NULL;
}

size_t
sy_spill_count(const sy_spill *s)
{
	size_t n = 0;
	for (xact *x = s->list; x; x = x->next)
		n++;
	return n;
}

uint64_t
sy_spill_messages(const sy_spill *s, uint32_t xid)
{
	xact *x = find(s, xid);
	return x ? x->messages : 0;
}

uint64_t
sy_spill_file_bytes(const sy_spill *s, uint32_t xid)
{
	xact *x = find(s, xid);
	return x ? x->file_bytes : 0;
}

size_t
sy_spill_mem_bytes(const sy_spill *s)
{
	return s->mem;
}
