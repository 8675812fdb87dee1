/*
 * io.c — pq_input / pq_output on local files and on memory.
 *
 * Input: a file is read with pread() at absolute offsets (no shared file
 * position, so readers may share nothing but the descriptor); memory input
 * copies out of a caller-owned buffer.  A read past the end fails with
 * LK_ERR_CORRUPT naming the offset: a short file is a malformed file.
 *
 * Output: a local file opened with O_CREAT|O_TRUNC, written with write()
 * (retrying short writes and EINTR).  A durable close fsyncs the file and
 * then its directory, so the new name survives a crash too.
 */
#include "parquet/parquet.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"

/* ---- input: file ------------------------------------------------------- */

typedef struct file_in {
	int fd;
	uint64_t size;
	char *path;
} file_in;

static bool
file_read_at(void *ctx, uint64_t off, void *buf, size_t n, lk_error *err)
{
	file_in *f = ctx;
	uint8_t *p = buf;

	if (off > f->size || n > f->size - off) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "read of %zu bytes past the end of the file (size %llu)",
					 n, (unsigned long long) f->size);
		return lk_error_where(err, "file \"%s\" at byte %llu", f->path,
							  (unsigned long long) off);
	}
	while (n > 0) {
		ssize_t r = pread(f->fd, p, n, (off_t) off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			lk_error_set(err, LK_ERR_IO, "could not read \"%s\": %s", f->path,
						 strerror(errno));
			return lk_error_where(err, "file \"%s\" at byte %llu", f->path,
								  (unsigned long long) off);
		}
		if (r == 0) {
			lk_error_set(err, LK_ERR_CORRUPT, "unexpected end of file");
			return lk_error_where(err, "file \"%s\" at byte %llu", f->path,
								  (unsigned long long) off);
		}
		p += r;
		n -= (size_t) r;
		off += (uint64_t) r;
	}
	return true;
}

static void
file_in_close(void *ctx)
{
	file_in *f = ctx;
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f);
}

/* Caller closes with pq_input_close(); in->name points into the input. */
bool
pq_input_open_file(pq_input *in, const char *path, lk_error *err)
{
	struct stat st;
	int fd;

	memset(in, 0, sizeof(*in));
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		int e = errno;
		lk_error_set(err, e == ENOENT ? LK_ERR_NOT_FOUND : LK_ERR_IO,
					 "could not open \"%s\": %s", path, strerror(e));
		return lk_error_where(err, "file \"%s\"", path);
	}
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		lk_error_set(err, LK_ERR_IO, "could not stat \"%s\": %s", path,
					 strerror(e));
		return lk_error_where(err, "file \"%s\"", path);
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		lk_error_set(err, LK_ERR_INVALID, "\"%s\" is a directory", path);
		return lk_error_where(err, "file \"%s\"", path);
	}
	file_in *f = lk_xcalloc(1, sizeof(*f));
	f->fd = fd;
	f->size = (uint64_t) st.st_size;
	f->path = lk_xstrdup(path);
	in->ctx = f;
	in->size = f->size;
	in->name = f->path;
	in->read_at = file_read_at;
	in->close = file_in_close;
	return true;
}

/* ---- input: memory ----------------------------------------------------- */

typedef struct mem_in {
	const uint8_t *data;
	size_t len;
	const char *name;
} mem_in;

static bool
mem_read_at(void *ctx, uint64_t off, void *buf, size_t n, lk_error *err)
{
	mem_in *m = ctx;

	if (off > m->len || n > m->len - off) {
		lk_error_set(err, LK_ERR_CORRUPT,
					 "read of %zu bytes past the end of the input (size %zu)",
					 n, m->len);
		return lk_error_where(err, "file \"%s\" at byte %llu", m->name,
							  (unsigned long long) off);
	}
	if (n)
		memcpy(buf, m->data + off, n);
	return true;
}

static void
mem_in_close(void *ctx)
{
	free(ctx);
}

/* data is not copied and must outlive the input; name (may be NULL) too. */
void
pq_input_from_memory(pq_input *in, const void *data, size_t len,
					 const char *name)
{
	mem_in *m = lk_xcalloc(1, sizeof(*m));
	m->data = data;
	m->len = len;
	m->name = name ? name : "<memory>";
	memset(in, 0, sizeof(*in));
	in->ctx = m;
	in->size = len;
	in->name = m->name;
	in->read_at = mem_read_at;
	in->close = mem_in_close;
}

/* Release the input; safe to call twice. */
void
pq_input_close(pq_input *in)
{
	if (!in)
		return;
	if (in->close)
		in->close(in->ctx);
	memset(in, 0, sizeof(*in));
}

/* ---- output: file ------------------------------------------------------ */

typedef struct file_out {
	int fd;
	char *path;
} file_out;

static bool
file_write(void *ctx, const void *buf, size_t n, lk_error *err)
{
	file_out *f = ctx;
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t r = write(f->fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			lk_error_set(err, LK_ERR_IO, "could not write to \"%s\": %s",
						 f->path, strerror(errno));
			return lk_error_where(err, "file \"%s\"", f->path);
		}
		p += r;
		n -= (size_t) r;
	}
	return true;
}

/* fsync the directory holding path, so a newly created name is durable. */
static bool
fsync_parent(const char *path, lk_error *err)
{
	char *copy = lk_xstrdup(path);
	const char *dir = dirname(copy);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = true;

	if (fd >= 0) {
		if (fsync(fd) != 0 && errno != EINVAL) {
			lk_error_set(err, LK_ERR_IO, "could not fsync directory \"%s\": %s",
						 dir, strerror(errno));
			lk_error_where(err, "file \"%s\"", path);
			ok = false;
		}
		close(fd);
	}
	free(copy);
	return ok;
}

static bool
file_close(void *ctx, bool durable, lk_error *err)
{
	file_out *f = ctx;
	bool ok = true;

	if (durable && fsync(f->fd) != 0) {
		lk_error_set(err, LK_ERR_IO, "could not fsync \"%s\": %s", f->path,
					 strerror(errno));
		lk_error_where(err, "file \"%s\"", f->path);
		ok = false;
	}
	if (close(f->fd) != 0 && ok && errno != EINTR) {
		lk_error_set(err, LK_ERR_IO, "could not close \"%s\": %s", f->path,
					 strerror(errno));
		lk_error_where(err, "file \"%s\"", f->path);
		ok = false;
	}
	if (ok && durable)
		ok = fsync_parent(f->path, err);
	free(f->path);
	free(f);
	return ok;
}

/* Create (truncate) path. out->name points into the output; the output is
 * released by its close callback (pq_writer_close does that). */
bool
pq_output_open_file(pq_output *out, const char *path, lk_error *err)
{
	int fd;

	memset(out, 0, sizeof(*out));
	do
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		int e = errno;
		lk_error_set(err, e == ENOENT ? LK_ERR_NOT_FOUND : LK_ERR_IO,
					 "could not create \"%s\": %s", path, strerror(e));
		return lk_error_where(err, "file \"%s\"", path);
	}
	file_out *f = lk_xcalloc(1, sizeof(*f));
	f->fd = fd;
	f->path = lk_xstrdup(path);
	out->ctx = f;
	out->name = f->path;
	out->write = file_write;
	out->close = file_close;
	return true;
}
