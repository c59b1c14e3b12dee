/* Small shared helpers: see util.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/util.h"

static void xalloc_die(size_t n) { fprintf(stderr, "ifctl: out of memory allocating %zu bytes\n", n); abort(); }

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		xalloc_die(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		xalloc_die(nmemb * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		xalloc_die(n);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return buf_detach(&b);
}

void
xgrow(void *pp, size_t *cap, size_t n, size_t elem)
{
	void **p = pp;
	size_t c = *cap ? *cap : 8;

	if (n <= *cap)
		return;
	while (c < n)
		c *= 2;
	*p = xrealloc(*p, c * elem);
	*cap = c;
}

/* See util.h. */
void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int64_t
clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t mono_us(void) { return clock_us(CLOCK_MONOTONIC); }
int64_t mono_ms(void) { return clock_us(CLOCK_MONOTONIC) / 1000; }
int64_t wall_ms(void) { return clock_us(CLOCK_REALTIME) / 1000; }

/* See util.h. */
struct timespec
deadline_ts(int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

void
fmt_time_ms(char out[32], int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

bool
parse_time_ms(const char *s, int64_t *out)
{
	struct tm tm;
	const char *rest;
	int ms = 0, n = 0;

	if (parse_int64(s, out))
		return *out >= 0;
	memset(&tm, 0, sizeof tm);
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (rest == NULL)
		return false;
	if (*rest == '.' && sscanf(rest, ".%3d%n", &ms, &n) == 1)
		rest += n;
	if (strcmp(rest, "Z") != 0 && strcmp(rest, "") != 0)
		return false;
	*out = (int64_t)timegm(&tm) * 1000 + ms;
	return true;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

void
sort_i64(int64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_i64);
}

int64_t
percentile(const int64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	if (rank < 1)
		rank = 1;
	return sorted[rank > n ? n - 1 : rank - 1];
}

size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, *row, prev, tmp, best;

	row = xcalloc(lb + 1, sizeof *row);
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	best = row[lb];
	free(row);
	return best;
}

bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

void
hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

enum status
mkdir_p(const char *path, unsigned mode, struct err *e)
{
	char *p = xstrdup(path), *s;
	enum status st = ST_OK;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			st = err_set(e, errno == EACCES ? ST_PERMISSION : ST_IO,
				     "cannot create directory '%s': %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return st;
}

void
fmt_size(char out[32], size_t n)
{
	static const char *const units[] = { "GiB", "MiB", "KiB" };
	size_t i, unit;

	for (i = 0; i < ARRAY_SIZE(units); i++) {
		unit = (size_t)1 << (10 * (ARRAY_SIZE(units) - i));
		if (n >= unit && n % unit == 0) {
			snprintf(out, 32, "%zu %s", n / unit, units[i]);
			return;
		}
	}
	snprintf(out, 32, "%zu bytes", n);
}

/* What a file that is not a regular one is, in words. */
static const char *
file_kind(mode_t m)
{
	static const struct { mode_t type; const char *name; } kinds[] = {
		{ S_IFDIR, "a directory" }, { S_IFIFO, "a FIFO" },
		{ S_IFCHR, "a character device" }, { S_IFBLK, "a block device" },
		{ S_IFSOCK, "a socket" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		if ((m & S_IFMT) == kinds[i].type)
			return kinds[i].name;
	return "not a regular file";
}

static enum status
too_large(const char *path, size_t max, struct err *e)
{
	char lim[32];

	fmt_size(lim, max);
	return err_set(e, ST_BAD_VALUE, "'%s' is larger than the limit of %s", path, lim);
}

/*
 * Open path for reading without blocking on a FIFO or a device, then check
 * what it is on the open descriptor (no race with a rename). "-" is stdin.
 */
static enum status
open_regular(const char *path, int *fd, struct stat *sb, struct err *e)
{
	enum status st = ST_OK;
	int flags;

	if (strcmp(path, "-") == 0) {
		*fd = STDIN_FILENO;
		if (fstat(*fd, sb) != 0)
			return err_set(e, ST_IO, "cannot read standard input: %s", strerror(errno));
		return ST_OK;
	}
	*fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (*fd < 0 && errno == ENXIO)	/* a socket */
		return err_set(e, ST_BAD_VALUE, "cannot read '%s': it is a socket, "
			       "not a regular file", path);
	if (*fd < 0)
		return err_set(e, errno == ENOENT ? ST_NOT_FOUND :
			       errno == EACCES ? ST_PERMISSION : ST_IO,
			       "cannot read '%s': %s", path, strerror(errno));
	if (fstat(*fd, sb) != 0 || (flags = fcntl(*fd, F_GETFL)) < 0 ||
	    fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		st = err_set(e, ST_IO, "cannot read '%s': %s", path, strerror(errno));
	else if (!S_ISREG(sb->st_mode))
		st = err_set(e, ST_BAD_VALUE, "cannot read '%s': it is %s, not a regular file",
			     path, file_kind(sb->st_mode));
	if (st != ST_OK)
		close(*fd);
	return st;
}

/* Read fd to its end into b, stopping past max bytes. */
static enum status
read_fd(int fd, const char *path, size_t max, struct buf *b, struct err *e)
{
	for (;;) {
		size_t want = max + 1 - b->len;
		ssize_t n;

		if (want > 65536)
			want = 65536;
		if (b->cap > b->len + 1 && want > b->cap - b->len - 1)
			want = b->cap - b->len - 1;	/* fill what is allocated first */
		buf_grow(b, want);
		n = read(fd, b->s + b->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(e, ST_IO, "cannot read '%s': %s", path, strerror(errno));
		if (n == 0)
			break;
		b->len += (size_t)n;
		if (b->len > max)
			break;
	}
	b->s[b->len] = '\0';
	return ST_OK;
}

enum status
read_file(const char *path, size_t max, unsigned flags, char **out, size_t *len,
	  struct err *e)
{
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path, *nul;
	struct buf b = BUF_INIT;
	struct stat sb;
	enum status st;
	int fd;

	*out = NULL;
	if ((st = open_regular(path, &fd, &sb, e)) != ST_OK)
		return st;
	if (S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size > max && !(flags & READ_TAIL)) {
		st = too_large(name, max, e);
		goto out;
	}
	if (S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size > max)
		lseek(fd, sb.st_size - (off_t)max, SEEK_SET);
	if (S_ISREG(sb.st_mode) && sb.st_size > 0)	/* one allocation for the usual case */
		buf_grow(&b, (uintmax_t)sb.st_size > max ? max : (size_t)sb.st_size);
	if ((st = read_fd(fd, name, max, &b, e)) != ST_OK)
		goto out;
	if (b.len > max && (flags & READ_TAIL))
		buf_truncate(&b, max);
	else if (b.len > max)
		st = too_large(name, max, e);
	else if ((flags & READ_TEXT) && (nul = memchr(b.s, '\0', b.len)) != NULL)
		st = err_set(e, ST_BAD_VALUE, "'%s' contains a NUL byte at offset %zu",
			     name, (size_t)(nul - b.s));
out:
	if (fd != STDIN_FILENO)
		close(fd);
	if (st != ST_OK) {
		buf_release(&b);
		return st;
	}
	if (len)
		*len = b.len;
	*out = buf_detach(&b);
	return ST_OK;
}

/*
 * Remove PATH.tmp.PID files whose PID is no process here: what a
 * write_file_atomic() killed between open and rename left behind. A live
 * pid's file is another writer's, in progress, and stays.
 */
static void
tmp_sweep(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xasprintf("%.*s", (int)(slash - path + 1), path) : xstrdup(".");
	char *prefix = xasprintf("%s.tmp.", slash ? slash + 1 : path);
	size_t plen = strlen(prefix);
	struct dirent *d;
	int64_t pid;
	DIR *dp;

	if ((dp = opendir(dir)) != NULL) {
		while ((d = readdir(dp)) != NULL) {
			if (strncmp(d->d_name, prefix, plen) != 0 ||
			    !parse_int64(d->d_name + plen, &pid) || pid <= 0 || pid > INT32_MAX ||
			    pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
				continue;
			char *stale = xasprintf("%s%s", slash ? dir : "", d->d_name);
			unlink(stale);
			free(stale);
		}
		closedir(dp);
	}
	free(prefix);
	free(dir);
}

enum status
write_file_atomic(const char *path, const char *data, size_t len, unsigned mode,
		  struct err *e)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	enum status st = ST_OK;
	size_t off = 0;
	int fd;

	tmp_sweep(path);
	unlink(tmp);	/* ours from a reused pid; never follow a planted link */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		st = err_set(e, errno == EACCES ? ST_PERMISSION : ST_IO,
			     "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = err_set(e, ST_IO, "cannot write '%s': %s", path, strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	if (st == ST_OK && fsync(fd) != 0)
		st = err_set(e, ST_IO, "cannot sync '%s': %s", path, strerror(errno));
	close(fd);
	if (st == ST_OK && rename(tmp, path) != 0)
		st = err_set(e, ST_IO, "cannot rename into '%s': %s", path, strerror(errno));
	if (st != ST_OK)
		unlink(tmp);
out:
	free(tmp);
	return st;
}

void
trace_id_new(char out[33])
{
	unsigned char raw[16];

	randombytes_buf(raw, sizeof raw);
	hex_encode(out, raw, sizeof raw);
}

char **
strv_split(const char *s, char sep, size_t *n)
{
	size_t cap = s ? strlen(s) / 2 + 2 : 1, k = 0;	/* "a,b": at most half, and NULL */
	char **v = xcalloc(cap, sizeof *v);
	const char *p, *end;

	for (p = s; p && *p && k + 1 < cap; p = *end ? end + 1 : end) {
		end = strchr(p, sep);
		end = end ? end : p + strlen(p);
		if (end > p)
			v[k++] = xstrndup(p, (size_t)(end - p));
	}
	*n = k;
	return v;
}
