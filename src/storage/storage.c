/*
 * storage.c — object-store dispatch, path helpers, and the local file
 * system store.  See storage.h for the contract.
 *
 * Local put_if_absent (the Delta commit primitive):
 *
 *   create  <dir>/.<name>.<pid>.<seq>.tmp   (O_CREAT|O_EXCL, 0644)
 *   write   all bytes, fsync, close
 *   link    tmp → <dir>/<name>               EEXIST → LK_ERR_CONFLICT
 *           (file systems without hard links: renameat2(RENAME_NOREPLACE))
 *   unlink  tmp
 *   fsync   <dir>                            the new name is durable
 *
 * A crash between the steps leaves at most a hidden ".tmp" file, never a
 * partial object under the final name.
 */
#include "storage/storage.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---- dispatch ---------------------------------------------------------- */

bool
st_stat_object(st_store *st, const char *path, st_stat *out, lk_error *err)
{
	return st->ops->stat(st->ctx, path, out, err);
}

bool
st_read_all(st_store *st, const char *path, uint64_t cap, lk_buf *out,
			lk_error *err)
{
	return st->ops->read_all(st->ctx, path, cap, out, err);
}

bool
st_read_range(st_store *st, const char *path, uint64_t off, size_t n,
			  void *buf, lk_error *err)
{
	return st->ops->read_range(st->ctx, path, off, n, buf, err);
}

bool
st_open_read(st_store *st, const char *path, st_file *out, lk_error *err)
{
	return st->ops->open_read(st->ctx, path, out, err);
}

void
st_file_close(st_file *f)
{
	if (f && f->close) {
		f->close(f->ctx);
		f->close = NULL;
		f->ctx = NULL;
	}
}

bool
st_list(st_store *st, const char *dir, const char *start_after, lk_arena *a,
		st_entry **out, size_t *n, lk_error *err)
{
	return st->ops->list(st->ctx, dir, start_after, a, out, n, err);
}

bool
st_put_if_absent(st_store *st, const char *path, const void *data, size_t n,
				 lk_error *err)
{
	return st->ops->put(st->ctx, path, data, n, true, err);
}

bool
st_put(st_store *st, const char *path, const void *data, size_t n,
	   lk_error *err)
{
	return st->ops->put(st->ctx, path, data, n, false, err);
}

bool
st_open_write(st_store *st, const char *path, st_writer *out, lk_error *err)
{
	return st->ops->open_write(st->ctx, path, out, err);
}

bool
st_writer_write(st_writer *w, const void *buf, size_t n, lk_error *err)
{
	return w->write(w->ctx, buf, n, err);
}

bool
st_writer_commit(st_writer *w, bool if_absent, lk_error *err)
{
	return w->commit(w->ctx, if_absent, err);
}

void
st_writer_abort(st_writer *w)
{
	w->abort(w->ctx);
}

bool
st_remove(st_store *st, const char *path, lk_error *err)
{
	return st->ops->remove(st->ctx, path, err);
}

void
st_store_close(st_store *st)
{
	if (st && st->ops) {
		st->ops->close(st->ctx);
		st->ops = NULL;
		st->ctx = NULL;
		st->root = NULL;
	}
}

/* ---- path helpers ------------------------------------------------------ */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
st_path_decode(const char *in, lk_arena *a, char **out, lk_error *err)
{
	size_t n = strlen(in);
	char *o = lk_arena_alloc(a, n + 1);
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (in[i] != '%') {
			o[j++] = in[i];
			continue;
		}
		if (i + 2 >= n) {   /* fewer than two characters after '%' */
			lk_error_set(err, LK_ERR_CORRUPT,
						 "invalid percent escape in path \"%s\"", in);
			return lk_error_where(err, "character %zu", i);
		}
		int hi = hexval((unsigned char) in[i + 1]);
		int lo = hexval((unsigned char) in[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			lk_error_set(err, LK_ERR_CORRUPT,
						 "invalid percent escape in path \"%s\"", in);
			return lk_error_where(err, "character %zu", i);
		}
		o[j++] = (char) (hi * 16 + lo);
		i += 2;
	}
	o[j] = '\0';
	*out = o;
	return true;
}

static bool
keep_unescaped(unsigned char c)
{
	if (isalnum(c))
		return true;
	return c != '\0' && strchr("-_.~/!$&'()*+,;=:@", c) != NULL;
}

char *
st_path_encode(const char *in, lk_arena *a)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(in);
	char *o = lk_arena_alloc(a, 3 * n + 1);
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) in[i];
		if (keep_unescaped(c)) {
			o[j++] = (char) c;
		} else {
			o[j++] = '%';
			o[j++] = hex[c >> 4];
			o[j++] = hex[c & 15];
		}
	}
	o[j] = '\0';
	return o;
}

/* Length of a URI scheme at the start of s ("file" in "file:/x"), or 0. */
static size_t
scheme_len(const char *s)
{
	if (!isalpha((unsigned char) s[0]))
		return 0;
	size_t i = 1;
	while (isalnum((unsigned char) s[i]) || s[i] == '+' || s[i] == '-' ||
		   s[i] == '.')
		i++;
	return s[i] == ':' ? i : 0;
}

bool
st_path_is_absolute(const char *path)
{
	return path[0] == '/' || scheme_len(path) > 0;
}

/* For "file:..." return a pointer to the absolute path part ("/x/y"), or
 * NULL when the URI is not a local one (authority other than "" or
 * "localhost", or no leading '/'). */
static const char *
file_uri_path(const char *uri)
{
	const char *p = uri + 5;    /* after "file:" */
	if (p[0] == '/' && p[1] == '/') {
		p += 2;
		const char *slash = strchr(p, '/');
		if (!slash)
			return NULL;
		size_t alen = (size_t) (slash - p);
		if (alen != 0 && !(alen == 9 && strncasecmp(p, "localhost", 9) == 0))
			return NULL;
		p = slash;
	}
	return p[0] == '/' ? p : NULL;
}

/* Collapse "//" and "/./" (and a leading "./") in a path, in place; keeps
 * a leading '/'. Drops a trailing '/' (except for "/"). ".." is left as
 * is. */
static void
normalize_slashes(char *s)
{
	char *r = s, *w = s;
	bool abs = (*r == '/');

	if (abs)
		*w++ = *r++;
	while (*r) {
		while (*r == '/')
			r++;
		if (r[0] == '.' && (r[1] == '/' || r[1] == '\0')) {
			r++;
			continue;
		}
		if (!*r)
			break;
		if (w > s && w[-1] != '/')
			*w++ = '/';
		while (*r && *r != '/')
			*w++ = *r++;
	}
	*w = '\0';
}

/* Resolve ".." lexically in an absolute normalized path, in place. */
static void
resolve_dotdot(char *s)
{
	char *o = lk_xstrdup(s);    /* output; never longer than s */
	size_t w = 0;
	const char *r = s;

	while (*r == '/') {
		const char *seg = r + 1;
		const char *end = strchr(seg, '/');
		size_t len = end ? (size_t) (end - seg) : strlen(seg);
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (w > 0 && o[--w] != '/')
				;
		} else if (len > 0) {
			o[w++] = '/';
			memcpy(o + w, seg, len);
			w += len;
		}
		r = seg + len;
	}
	if (w == 0)
		o[w++] = '/';
	o[w] = '\0';
	memcpy(s, o, w + 1);
	free(o);
}

char *
st_path_join(lk_arena *a, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	while (dl > 0 && dir[dl - 1] == '/')
		dl--;
	while (*name == '/')
		name++;
	if (dl == 0)
		return lk_arena_strdup(a, name);
	if (!*name)
		return lk_arena_strndup(a, dir, dl);
	return lk_arena_sprintf(a, "%.*s/%s", (int) dl, dir, name);
}

char *
st_path_canonical(const st_store *st, const char *path, lk_arena *a)
{
	const char *abs = NULL;
	size_t sl = scheme_len(path);

	if (sl == 4 && strncasecmp(path, "file", 4) == 0) {
		abs = file_uri_path(path);
		if (!abs)
			return lk_arena_strdup(a, path);
	} else if (sl > 0) {
		return lk_arena_strdup(a, path);
	} else if (path[0] == '/') {
		abs = path;
	}
	if (!abs) {
		char *r = lk_arena_strdup(a, path);
		normalize_slashes(r);
		return r;
	}
	char *c = lk_arena_strdup(a, abs);
	normalize_slashes(c);
	size_t rl = strlen(st->root);
	if (strncmp(c, st->root, rl) == 0) {
		if (c[rl] == '\0')
			return lk_arena_strdup(a, "");
		if (c[rl] == '/')
			return c + rl + 1;
		if (rl == 1)    /* root "/" */
			return c + 1;
	}
	return c;
}

/* ---- local file system ------------------------------------------------- */

typedef struct local_ctx {
	char *root;
	int flags;
} local_ctx;

static atomic_uint tmp_seq;

static bool
sys_error(lk_error *err, const char *what, const char *path, int e)
{
	lk_error_code code = LK_ERR_IO;
	if (e == ENOENT || e == ENOTDIR)
		code = LK_ERR_NOT_FOUND;
	else if (e == ENOMEM)
		code = LK_ERR_NOMEM;
	lk_error_set(err, code, "could not %s \"%s\": %s", what, path,
				 strerror(e));
	return lk_error_where(err, "file \"%s\"", path);
}

/* Map an object path to a file system path (malloc'd; caller frees), or
 * NULL with err filled. "" names the root itself. */
static char *
local_resolve(local_ctx *l, const char *path, lk_error *err)
{
	size_t sl = scheme_len(path);
	const char *abs = NULL;

	if (sl > 0) {
		if (!(sl == 4 && strncasecmp(path, "file", 4) == 0)) {
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "unsupported URI scheme \"%.*s\"", (int) sl, path);
			lk_error_where(err, "path \"%s\"", path);
			return NULL;
		}
		abs = file_uri_path(path);
		if (!abs) {
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "file URI with a remote host is not supported");
			lk_error_where(err, "path \"%s\"", path);
			return NULL;
		}
	} else if (path[0] == '/') {
		abs = path;
	}
	if (abs) {
		if (!(l->flags & ST_ALLOW_ABSOLUTE)) {
			lk_error_set(err, LK_ERR_INVALID,
						 "absolute path \"%s\" is outside the table root and "
						 "absolute paths are not allowed", path);
			lk_error_where(err, "root \"%s\"", l->root);
			return NULL;
		}
		char *r = lk_xstrdup(abs);
		normalize_slashes(r);
		return r;
	}
	/* relative: refuse any ".." segment */
	const char *p = path;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t) (end - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			lk_error_set(err, LK_ERR_INVALID,
						 "path \"%s\" escapes the table root", path);
			lk_error_where(err, "root \"%s\"", l->root);
			return NULL;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	size_t rl = strlen(l->root), pl = strlen(path);
	char *r = lk_xmalloc(rl + pl + 2);
	memcpy(r, l->root, rl);
	r[rl] = '/';
	memcpy(r + rl + 1, path, pl + 1);
	normalize_slashes(r);
	return r;
}

static int64_t
stat_mtime_ms(const struct stat *sb)
{
	return (int64_t) sb->st_mtim.tv_sec * 1000 + sb->st_mtim.tv_nsec / 1000000;
}

static bool
local_stat(void *ctx, const char *path, st_stat *out, lk_error *err)
{
	char *fp = local_resolve(ctx, path, err);
	if (!fp)
		return false;
	struct stat sb;
	if (stat(fp, &sb) != 0) {
		sys_error(err, "stat", fp, errno);
		free(fp);
		return false;
	}
	out->size = (uint64_t) sb.st_size;
	out->mtime_ms = stat_mtime_ms(&sb);
	out->is_dir = S_ISDIR(sb.st_mode);
	free(fp);
	return true;
}

/* Open a regular file for reading; -1 with err filled on failure. */
static int
open_regular(const char *fp, struct stat *sb, lk_error *err)
{
	int fd = open(fp, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sys_error(err, "open", fp, errno);
		return -1;
	}
	if (fstat(fd, sb) != 0) {
		sys_error(err, "stat", fp, errno);
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb->st_mode)) {
		lk_error_set(err, LK_ERR_INVALID, "\"%s\" is not a regular file", fp);
		lk_error_where(err, "file \"%s\"", fp);
		close(fd);
		return -1;
	}
	return fd;
}

/* Read exactly n bytes at off. */
static bool
pread_full(int fd, const char *name, uint64_t off, void *buf, size_t n,
		   lk_error *err)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *) buf + got, n - got, (off_t) (off + got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			sys_error(err, "read", name, errno);
			return lk_error_where(err, "file \"%s\" at byte %llu", name,
								  (unsigned long long) (off + got));
		}
		if (r == 0) {
			lk_error_set(err, LK_ERR_CORRUPT,
						 "unexpected end of file: wanted %zu bytes at offset "
						 "%llu, got %zu", n, (unsigned long long) off, got);
			return lk_error_where(err, "file \"%s\" at byte %llu", name,
								  (unsigned long long) (off + got));
		}
		got += (size_t) r;
	}
	return true;
}

static bool
local_read_all(void *ctx, const char *path, uint64_t cap, lk_buf *out,
			   lk_error *err)
{
	char *fp = local_resolve(ctx, path, err);
	if (!fp)
		return false;
	struct stat sb;
	int fd = open_regular(fp, &sb, err);
	bool ok = false;
	lk_buf_reset(out);
	if (fd < 0)
		goto done;
	if ((uint64_t) sb.st_size > cap) {
		lk_error_set(err, LK_ERR_NOMEM,
					 "object is %llu bytes, more than the limit of %llu",
					 (unsigned long long) sb.st_size, (unsigned long long) cap);
		lk_error_where(err, "file \"%s\"", fp);
		goto done;
	}
	lk_buf_reserve(out, (size_t) sb.st_size + 1);
	for (;;) {
		if (out->len == out->cap)
			lk_buf_reserve(out, 4096);
		ssize_t r = read(fd, out->data + out->len, out->cap - out->len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			sys_error(err, "read", fp, errno);
			goto done;
		}
		if (r == 0)
			break;
		out->len += (size_t) r;
		if (out->len > cap) {   /* the file grew while we read it */
			lk_error_set(err, LK_ERR_NOMEM,
						 "object is more than the limit of %llu bytes",
						 (unsigned long long) cap);
			lk_error_where(err, "file \"%s\"", fp);
			goto done;
		}
	}
	ok = true;
done:
	if (fd >= 0)
		close(fd);
	if (!ok)
		lk_buf_reset(out);
	free(fp);
	return ok;
}

static bool
local_read_range(void *ctx, const char *path, uint64_t off, size_t n,
				 void *buf, lk_error *err)
{
	char *fp = local_resolve(ctx, path, err);
	if (!fp)
		return false;
	struct stat sb;
	int fd = open_regular(fp, &sb, err);
	bool ok = fd >= 0 && pread_full(fd, fp, off, buf, n, err);
	if (fd >= 0)
		close(fd);
	free(fp);
	return ok;
}

typedef struct local_file {
	int fd;
	char *name;
} local_file;

static bool
local_file_read_at(void *ctx, uint64_t off, void *buf, size_t n, lk_error *err)
{
	local_file *f = ctx;
	return pread_full(f->fd, f->name, off, buf, n, err);
}

static void
local_file_close(void *ctx)
{
	local_file *f = ctx;
	close(f->fd);
	free(f->name);
	free(f);
}

static bool
local_open_read(void *ctx, const char *path, st_file *out, lk_error *err)
{
	char *fp = local_resolve(ctx, path, err);
	if (!fp)
		return false;
	struct stat sb;
	int fd = open_regular(fp, &sb, err);
	if (fd < 0) {
		free(fp);
		return false;
	}
	local_file *f = lk_xmalloc(sizeof(*f));
	f->fd = fd;
	f->name = fp;
	out->ctx = f;
	out->size = (uint64_t) sb.st_size;
	out->mtime_ms = stat_mtime_ms(&sb);
	out->name = f->name;
	out->read_at = local_file_read_at;
	out->close = local_file_close;
	return true;
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const st_entry *) a)->name, ((const st_entry *) b)->name);
}

static bool
local_list(void *ctx, const char *dir, const char *start_after, lk_arena *a,
		   st_entry **out, size_t *n, lk_error *err)
{
	char *fp = local_resolve(ctx, dir ? dir : "", err);
	if (!fp)
		return false;
	int dfd = open(fp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		sys_error(err, "open directory", fp, errno);
		free(fp);
		return false;
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		sys_error(err, "open directory", fp, errno);
		close(dfd);
		free(fp);
		return false;
	}
	size_t cap = 64, cnt = 0;
	st_entry *v = lk_xmalloc(cap * sizeof(*v));
	bool ok = true;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno) {
				sys_error(err, "read directory", fp, errno);
				ok = false;
			}
			break;
		}
		const char *nm = de->d_name;
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			continue;
		if (start_after && strcmp(nm, start_after) <= 0)
			continue;
		struct stat sb;
		if (fstatat(dfd, nm, &sb, 0) != 0) {
			if (errno == ENOENT)    /* removed while listing */
				continue;
			sys_error(err, "stat", nm, errno);
			ok = false;
			break;
		}
		if (cnt == cap) {
			cap *= 2;
			v = lk_xrealloc(v, cap * sizeof(*v));
		}
		v[cnt].name = lk_arena_strdup(a, nm);
		v[cnt].size = (uint64_t) sb.st_size;
		v[cnt].mtime_ms = stat_mtime_ms(&sb);
		v[cnt].is_dir = S_ISDIR(sb.st_mode);
		cnt++;
	}
	closedir(d);
	if (ok) {
		qsort(v, cnt, sizeof(*v), cmp_entry);
		*out = lk_arena_memdup(a, v, (cnt ? cnt : 1) * sizeof(*v));
		*n = cnt;
	}
	free(v);
	free(fp);
	return ok;
}

static bool
fsync_dir(const char *dir, lk_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sys_error(err, "open directory", dir, errno);
	if (fsync(fd) != 0 && errno != EINVAL) {
		int e = errno;
		close(fd);
		return sys_error(err, "fsync directory", dir, e);
	}
	close(fd);
	return true;
}

/* mkdir -p for an absolute directory path; each directory created is made
 * durable by fsyncing its parent. */
static bool
mkdir_p(const char *dir, lk_error *err)
{
	struct stat sb;
	if (stat(dir, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return true;
		lk_error_set(err, LK_ERR_INVALID, "\"%s\" is not a directory", dir);
		return lk_error_where(err, "file \"%s\"", dir);
	}
	char *p = lk_xstrdup(dir);
	bool ok = true;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char save = *s;
		*s = '\0';
		if (mkdir(p, 0755) == 0) {
			char *slash = strrchr(p, '/');
			if (slash == p) {
				ok = fsync_dir("/", err);
			} else {
				*slash = '\0';
				ok = fsync_dir(p, err);
				*slash = '/';
			}
		} else if (errno != EEXIST) {
			ok = sys_error(err, "create directory", p, errno);
		} else if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			lk_error_set(err, LK_ERR_INVALID, "\"%s\" is not a directory", p);
			ok = lk_error_where(err, "file \"%s\"", p);
		}
		*s = save;
		if (!ok || save == '\0')
			break;
	}
	free(p);
	return ok;
}

/* dir and base name of a resolved path (malloc'd, caller frees both). */
static void
split_path(const char *fp, char **dir, char **base)
{
	const char *slash = strrchr(fp, '/');
	if (slash == fp)
		*dir = lk_xstrdup("/");
	else
		*dir = strndup(fp, (size_t) (slash - fp));
	if (!*dir) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	*base = lk_xstrdup(slash + 1);
}

static bool
write_full(int fd, const char *name, const void *data, size_t n, lk_error *err)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, (const char *) data + done, n - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return sys_error(err, "write", name, errno);
		}
		done += (size_t) w;
	}
	return true;
}

typedef struct local_writer {
	int fd;
	char *tmp;      /* the hidden temporary file */
	char *final;    /* the object's name */
	char *dir;
} local_writer;

static void
local_writer_free(local_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->tmp);
	free(w->final);
	free(w->dir);
	free(w);
}

/* Create the temporary file for fp (parent directories first). */
static local_writer *
local_writer_new(const char *fp, lk_error *err)
{
	local_writer *w = lk_xcalloc(1, sizeof(*w));
	char *base;
	w->fd = -1;
	w->final = lk_xstrdup(fp);
	split_path(fp, &w->dir, &base);
	if (!*base) {
		lk_error_set(err, LK_ERR_INVALID, "empty object name");
		lk_error_where(err, "file \"%s\"", fp);
		free(base);
		local_writer_free(w);
		return NULL;
	}
	if (!mkdir_p(w->dir, err)) {
		free(base);
		local_writer_free(w);
		return NULL;
	}
	unsigned seq = atomic_fetch_add(&tmp_seq, 1);
	size_t len = strlen(w->dir) + strlen(base) + 64;
	w->tmp = lk_xmalloc(len);
	snprintf(w->tmp, len, "%s/.%s.%ld.%u.tmp", w->dir, base, (long) getpid(),
			 seq);
	free(base);
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		sys_error(err, "create", w->tmp, errno);
		local_writer_free(w);
		return NULL;
	}
	return w;
}

static bool
local_writer_write(void *ctx, const void *buf, size_t n, lk_error *err)
{
	local_writer *w = ctx;
	return write_full(w->fd, w->tmp, buf, n, err);
}

static void
local_writer_abort(void *ctx)
{
	local_writer *w = ctx;
	if (w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	unlink(w->tmp);
	local_writer_free(w);
}

/* Publish tmp under final: link (if_absent) or rename. Frees w. */
static bool
local_writer_commit(void *ctx, bool if_absent, lk_error *err)
{
	local_writer *w = ctx;
	bool ok = false;

	if (fsync(w->fd) != 0) {
		sys_error(err, "fsync", w->tmp, errno);
		goto fail;
	}
	if (close(w->fd) != 0) {
		w->fd = -1;
		sys_error(err, "close", w->tmp, errno);
		goto fail;
	}
	w->fd = -1;
	if (if_absent) {
		if (link(w->tmp, w->final) != 0) {
			int e = errno;
			if (e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == ENOSYS) {
				/* no hard links here: rename without replacing */
				if (renameat2(AT_FDCWD, w->tmp, AT_FDCWD, w->final,
							  RENAME_NOREPLACE) != 0)
					e = errno;
				else
					e = 0;
			}
			if (e == EEXIST) {
				lk_error_set(err, LK_ERR_CONFLICT, "\"%s\" already exists",
							 w->final);
				lk_error_where(err, "file \"%s\"", w->final);
				goto fail;
			}
			if (e != 0) {
				sys_error(err, "link", w->final, e);
				goto fail;
			}
		}
		unlink(w->tmp);     /* the final name keeps the data */
	} else if (rename(w->tmp, w->final) != 0) {
		sys_error(err, "rename to", w->final, errno);
		goto fail;
	}
	ok = fsync_dir(w->dir, err);
	local_writer_free(w);
	return ok;
fail:
	if (w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	unlink(w->tmp);
	local_writer_free(w);
	return false;
}

static bool
local_open_write(void *ctx, const char *path, st_writer *out, lk_error *err)
{
	char *fp = local_resolve(ctx, path, err);
	if (!fp)
		return false;
	local_writer *w = local_writer_new(fp, err);
	free(fp);
	if (!w)
		return false;
	out->ctx = w;
	out->name = w->final;
	out->write = local_writer_write;
	out->commit = local_writer_commit;
	out->abort = local_writer_abort;
	return true;
}

static bool
local_put(void *ctx, const char *path, const void *data, size_t n,
		  bool if_absent, lk_error *err)
{
	char *fp = local_resolve(ctx, path, err);
	if (!fp)
		return false;
	if (if_absent) {    /* cheap early answer; link() decides for real */
		struct stat sb;
		if (lstat(fp, &sb) == 0) {
			lk_error_set(err, LK_ERR_CONFLICT, "\"%s\" already exists", fp);
			lk_error_where(err, "file \"%s\"", fp);
			free(fp);
			return false;
		}
	}
	local_writer *w = local_writer_new(fp, err);
	free(fp);
	if (!w)
		return false;
	if (!local_writer_write(w, data, n, err)) {
		local_writer_abort(w);
		return false;
	}
	return local_writer_commit(w, if_absent, err);
}

static bool
local_remove(void *ctx, const char *path, lk_error *err)
{
	char *fp = local_resolve(ctx, path, err);
	if (!fp)
		return false;
	bool ok = true;
	if (unlink(fp) != 0) {
		int e = errno;
		if (e == EISDIR || e == EPERM) {
			if (rmdir(fp) != 0)
				ok = sys_error(err, "remove", fp, errno);
		} else {
			ok = sys_error(err, "remove", fp, e);
		}
	}
	free(fp);
	return ok;
}

static void
local_close(void *ctx)
{
	local_ctx *l = ctx;
	free(l->root);
	free(l);
}

static const st_ops local_ops = {
	.stat = local_stat,
	.read_all = local_read_all,
	.read_range = local_read_range,
	.open_read = local_open_read,
	.list = local_list,
	.put = local_put,
	.open_write = local_open_write,
	.remove = local_remove,
	.close = local_close,
};

bool
st_store_open(st_store *st, const char *uri, int flags, lk_error *err)
{
	char *root = NULL;
	size_t sl = scheme_len(uri);

	memset(st, 0, sizeof(*st));
	if (!uri[0]) {
		lk_error_set(err, LK_ERR_INVALID, "empty table location");
		return false;
	}
	if (sl > 0) {
		if (!(sl == 4 && strncasecmp(uri, "file", 4) == 0)) {
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "unsupported URI scheme \"%.*s\"", (int) sl, uri);
			return lk_error_where(err, "location \"%s\"", uri);
		}
		const char *p = file_uri_path(uri);
		if (!p) {
			lk_error_set(err, LK_ERR_UNSUPPORTED,
						 "file URI with a remote host is not supported");
			return lk_error_where(err, "location \"%s\"", uri);
		}
		lk_arena a;
		lk_arena_init(&a, 0);
		char *dec;
		if (!st_path_decode(p, &a, &dec, err)) {
			lk_arena_free(&a);
			return lk_error_add_where(err, "location \"%s\"", uri);
		}
		root = lk_xstrdup(dec);
		lk_arena_free(&a);
	} else if (uri[0] == '/') {
		root = lk_xstrdup(uri);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return sys_error(err, "get current directory of", uri, errno);
		size_t len = strlen(cwd) + strlen(uri) + 2;
		root = lk_xmalloc(len);
		snprintf(root, len, "%s/%s", cwd, uri);
	}
	normalize_slashes(root);
	resolve_dotdot(root);
	local_ctx *l = lk_xmalloc(sizeof(*l));
	l->root = root;
	l->flags = flags;
	st->ops = &local_ops;
	st->ctx = l;
	st->root = l->root;
	st->flags = flags;
	return true;
}
