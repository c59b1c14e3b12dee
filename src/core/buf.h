/*
 * A growable, always NUL-terminated byte buffer.
 *
 *	struct buf b = BUF_INIT;
 *	buf_addf(&b, "%s=%d", key, value);
 *	use(b.s, b.len);
 *	buf_release(&b);
 *
 * b.s is never NULL after BUF_INIT (it points at a shared empty string until
 * the first write). buf_detach() hands the heap string to the caller, who
 * frees it with free(). Not thread-safe: one buffer, one thread.
 */
#ifndef IF_BUF_H
#define IF_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *s;	/* contents, NUL-terminated */
	size_t len;	/* bytes used, not counting the NUL */
	size_t cap;	/* bytes allocated; 0 while s is the shared empty string */
};

extern char buf_empty[];
#define BUF_INIT { buf_empty, 0, 0 }

void buf_init(struct buf *b);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);		/* empty it, keep the allocation */
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void buf_truncate(struct buf *b, size_t len);
char *buf_detach(struct buf *b);	/* caller frees; b is reset to empty */

#endif
