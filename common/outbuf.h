/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A growable output buffer, reused across records, with a sticky error: the
 * first append that cannot grow it sets err, and every later append is a
 * no-op, so that a writer checks once, at the end of what it writes
 * (sg_outbuf_end), instead of after every append.
 *
 * sg_outbuf_reserve() reports the error but never sets it: a writer that
 * reserves the worst case of a whole record once and then appends unchecked
 * (event.c) keeps the buffer as it was when the room is not there.
 */
#ifndef SG_OUTBUF_H
#define SG_OUTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sg_outbuf {
	char *data;
	size_t len;
	size_t cap;
	int err; /* 0, or the first failed append's -errno: later appends do nothing */
	bool first; /* json.h: the next member or element opens its object or array */
};

int sg_outbuf_init(struct sg_outbuf *b, size_t cap);
void sg_outbuf_free(struct sg_outbuf *b);

/* Empty, and clear of any error. */
static inline void sg_outbuf_reset(struct sg_outbuf *b)
{
	b->len = 0;
	b->err = 0;
}

/* Grow b so that at least n more bytes fit. 0, -ENOMEM, or b's error when it has one. */
int sg_outbuf_grow(struct sg_outbuf *b, size_t n);

/* Room for n more bytes: 0, or -errno (b's error when it has one) and b unchanged. */
static inline int sg_outbuf_reserve(struct sg_outbuf *b, size_t n)
{
	if (__builtin_expect(!b->err && b->cap - b->len >= n, 1))
		return 0;
	return sg_outbuf_grow(b, n);
}

/*
 * Room for n more bytes for a checked append: true, or false with b's error
 * set (it may have been already).
 */
static inline bool sg_outbuf_room(struct sg_outbuf *b, size_t n)
{
	int err = sg_outbuf_reserve(b, n);

	if (__builtin_expect(!err, 1))
		return true;
	b->err = err;
	return false;
}

/*
 * The end of what was appended since mark (b->len when it started, with no
 * error): 0, or the error of an append since, and then b is cut back to mark
 * and its error cleared, so that nothing partial stays and the next record
 * can be written.
 */
static inline int sg_outbuf_end(struct sg_outbuf *b, size_t mark)
{
	int err = b->err;

	if (__builtin_expect(err, 0)) {
		b->len = mark;
		b->err = 0;
	}
	return err;
}

#endif /* SG_OUTBUF_H */
