/* Small helpers shared by every layer: allocation, time, strings, paths. */
#ifndef IF_UTIL_H
#define IF_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/status.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Allocation that cannot fail: on exhaustion the process aborts with a
 * message, as git's xmalloc does. Every other error is returned.
 */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* NULL stays NULL. */
char *xstrdup_or_null(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Free n strings of v, then v itself (NULL with n 0 is a no-op). */
void strv_free(char **v, size_t n);

/*
 * Split s at each sep into a NULL-terminated vector of the non-empty
 * pieces (*n of them; s NULL: none); free with strv_free(v, *n).
 */
char **strv_split(const char *s, char sep, size_t *n);

/* Grow *p (an array of *cap elements of size elem) to hold at least n. */
void xgrow(void *pp, size_t *cap, size_t n, size_t elem);

/* Milliseconds and microseconds on the monotonic clock; wall clock in ms. */
int64_t mono_ms(void);
int64_t mono_us(void);
int64_t wall_ms(void);

/*
 * The wall-clock time ms from now, as the absolute deadline
 * pthread_cond_timedwait() takes (default condition clock: CLOCK_REALTIME).
 */
struct timespec deadline_ts(int64_t ms);

/* RFC 3339 UTC time with milliseconds, e.g. 2026-11-25T06:40:01.123Z. */
void fmt_time_ms(char out[32], int64_t ms_since_epoch);

/* Parse RFC 3339 UTC ("2026-11-25T07:55:57Z", ".123Z") or milliseconds. */
bool parse_time_ms(const char *s, int64_t *out);

/* Sort n integers ascending; nearest-rank percentile p (0..100) of sorted v, n > 0. */
void sort_i64(int64_t *v, size_t n);
int64_t percentile(const int64_t *sorted, size_t n, double p);

/* Edit distance of two strings (for "did you mean"). */
size_t edit_distance(const char *a, const char *b);

/* Does s start with prefix? */
bool has_prefix(const char *s, const char *prefix);

/* Parse a whole string as a signed integer; false on junk or overflow. */
bool parse_int64(const char *s, int64_t *out);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(char *out, const unsigned char *in, size_t n);

/* Create a directory and its parents with the given mode. */
enum status mkdir_p(const char *path, unsigned mode, struct err *e);

/*
 * The largest file of each kind read whole, in bytes (documented in
 * ifctl-config(5), ifctl(1) and ifctl-witness(1)). Input from outside is
 * hostile: a bigger file is refused, never read on until memory runs out.
 */
#define READ_MAX_CONFIG	((size_t)1 << 20)	/* YAML configuration: 1 MiB */
#define READ_MAX_KEY	((size_t)4 << 10)	/* key files (--key @FILE, keys/): 4 KiB */
#define READ_MAX_JSON	((size_t)8 << 20)	/* JSON @FILE: 8 MiB, the NATS max payload */
#define READ_MAX_LEDGER	((size_t)4 << 30)	/* witness exports (--file): 4 GiB */
#define READ_MAX_SMALL	((size_t)64 << 10)	/* pid files, /proc, a log's tail: 64 KiB */

/* read_file() flags. */
#define READ_TEXT	1u	/* refuse a NUL byte: nothing after it may be lost */
#define READ_TAIL	2u	/* a longer file gives its last max bytes, not an error */

/*
 * Read a whole file of at most max bytes; *out is NUL-terminated and freed
 * by the caller, *len (when not NULL) is its length. Path "-" is standard
 * input, read with the same limit. Anything else must be a regular file: a
 * FIFO, device, socket or directory is refused (ST_BAD_VALUE) without
 * blocking or reading it. Over max bytes is ST_BAD_VALUE naming the file and
 * the limit; so is a NUL byte with READ_TEXT, naming its offset. A missing
 * file is ST_NOT_FOUND, an unreadable one ST_PERMISSION.
 */
enum status read_file(const char *path, size_t max, unsigned flags, char **out,
		      size_t *len, struct err *e);

/* A size as the man pages write limits: "4 KiB", "1 MiB", or bytes. */
void fmt_size(char out[32], size_t n);

/*
 * Write a file atomically: a temporary PATH.tmp.PID in the same directory
 * (created anew, never through a link), fsync, rename. Readers see the old
 * content or the new one, never a mix. Temporaries of PATH whose PID no
 * longer runs (a writer killed mid-way) are removed first.
 */
enum status write_file_atomic(const char *path, const char *data, size_t len,
			      unsigned mode, struct err *e);

/* A fresh trace id: 32 lowercase hex characters from the CSPRNG. */
void trace_id_new(char out[33]);

#endif
