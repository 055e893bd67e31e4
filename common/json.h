/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small streaming JSON writer on struct sg_outbuf (outbuf.h), fast enough for
 * millions of records per second: no printf, no allocation once the buffer
 * has grown.
 *
 * Two layers:
 *  - sg_json_put_*: unchecked. The caller first makes room with
 *    sg_outbuf_reserve() for the worst case (SG_JSON_STR_MAX, SG_JSON_INT_MAX)
 *    and then writes without further checks. Keys are literals, joined with
 *    their punctuation at compile time (SG_JSON_KEY, sg_json_put_key).
 *  - sg_json_*: checked, each reserves what it needs. The first that cannot
 *    sets the buffer's sticky error and the rest do nothing, so a writer
 *    checks once at the end (sg_outbuf_end). Each returns the buffer's error.
 *    The member and element helpers (sg_json_key_*, sg_json_elem_*) write the
 *    ',' between members, the quotes and the ':'.
 *
 * Strings: RFC 8259 escaping; valid UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF) passes through; each byte that is not
 * part of a valid sequence is written as "\u00XX", the byte read as a Latin-1
 * code point, so nothing is ever dropped or passed raw.
 */
#ifndef SG_JSON_H
#define SG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "outbuf.h"

/* Worst-case output of sg_json_put_str for n input bytes: quotes + "\u00XX" each. */
#define SG_JSON_STR_MAX(n) (2 + 6 * (size_t)(n))
/* Worst-case output of sg_json_put_u64/i64: "-9223372036854775808", "18446744073709551615". */
#define SG_JSON_INT_MAX 20

/*
 * Length of the valid UTF-8 sequence at p (n > 0 bytes left), or 0 when p[0]
 * does not start one (RFC 3629 table 4: the second byte's range excludes
 * overlongs, surrogates and code points above U+10FFFF). ASCII is 1.
 */
static inline size_t sg_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		return n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		return n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
				       (p[3] & 0xc0) == 0x80
			       ? 4
			       : 0;
	}
	return 0;
}

/* --- unchecked: room must have been reserved ------------------------------ */

static inline void sg_json_put_raw(struct sg_outbuf *b, const char *s, size_t n)
{
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* A string literal (keys, punctuation): its length is known at compile time. */
#define sg_json_put_lit(b, lit) sg_json_put_raw((b), "" lit, sizeof(lit) - 1) /* literals only */

static inline void sg_json_put_char(struct sg_outbuf *b, char c)
{
	b->data[b->len++] = c;
}

/*
 * ,"key": and {"key": as literal text (key a literal that needs no escaping),
 * to be joined with the punctuation around it into one sg_json_put_lit.
 */
#define SG_JSON_KEY(key)     ",\"" key "\":"
#define SG_JSON_OBJ_KEY(key) "{\"" key "\":"
/* ,"key": -- a member after an object's first. */
#define sg_json_put_key(b, key) sg_json_put_lit((b), SG_JSON_KEY(key))
/* {"key": -- an object and its first member. */
#define sg_json_put_obj_key(b, key) sg_json_put_lit((b), SG_JSON_OBJ_KEY(key))
/* ,"key":V -- V a literal JSON value ("null", "true", "\"msg\""). */
#define sg_json_put_key_lit(b, key, v) sg_json_put_lit((b), SG_JSON_KEY(key) v)
/* ,"key":N */
#define sg_json_put_key_u64(b, key, v)     \
	do {                               \
		sg_json_put_key((b), key); \
		sg_json_put_u64((b), (v)); \
	} while (0)

void sg_json_put_u64(struct sg_outbuf *b, uint64_t v);
void sg_json_put_i64(struct sg_outbuf *b, int64_t v);
/* "0x" and lowercase hex digits, no leading zeros, unquoted. At most 18 bytes. */
void sg_json_put_hex(struct sg_outbuf *b, uint64_t v);
/* n bytes of s (may contain NUL) as a quoted, escaped JSON string. */
void sg_json_put_str(struct sg_outbuf *b, const void *s, size_t n);
/* A NUL-terminated string known to need no escaping (names from names.h), quoted. */
static inline void sg_json_put_name(struct sg_outbuf *b, const char *s)
{
	size_t n = strlen(s);

	b->data[b->len] = '"';
	memcpy(b->data + b->len + 1, s, n);
	b->data[b->len + 1 + n] = '"';
	b->len += n + 2;
}

/* --- checked: nothing is written once b has an error; each returns it ------ */

int sg_json_raw(struct sg_outbuf *b, const char *s, size_t n);
/* A string literal, checked. */
#define sg_json_lit(b, lit) sg_json_raw((b), "" lit, sizeof(lit) - 1) /* literals only */
int sg_json_u64(struct sg_outbuf *b, uint64_t v);
int sg_json_i64(struct sg_outbuf *b, int64_t v);
int sg_json_strn(struct sg_outbuf *b, const void *s, size_t n);
/* A NUL-terminated string, or null when s is NULL. */
int sg_json_str(struct sg_outbuf *b, const char *s);

/*
 * Members and elements. b->first is set by an opening '{' or '[' and cleared
 * by what follows it: a member or element is preceded by ',' unless it is the
 * first. Keys are escaped like strings. After unchecked writes that end with
 * a value, a writer that goes on with these clears b->first itself.
 */

/* '{': a record, or the value after sg_json_key. */
int sg_json_obj_open(struct sg_outbuf *b);
/* '}' or ']'. */
int sg_json_obj_close(struct sg_outbuf *b);
int sg_json_arr_close(struct sg_outbuf *b);
/* "key": (after a ',' unless first), its value to follow. */
int sg_json_key(struct sg_outbuf *b, const char *key);
/* "key":{ and "key":[ */
int sg_json_key_obj(struct sg_outbuf *b, const char *key);
int sg_json_key_arr(struct sg_outbuf *b, const char *key);
/* "key":"s", or "key":null when s is NULL. */
int sg_json_key_str(struct sg_outbuf *b, const char *key, const char *s);
int sg_json_key_u64(struct sg_outbuf *b, const char *key, uint64_t v);
int sg_json_key_bool(struct sg_outbuf *b, const char *key, bool v);
/* "key":JSON -- n bytes of JSON text written as they are. */
int sg_json_key_raw(struct sg_outbuf *b, const char *key, const char *json, size_t n);
/* An array's element: "s" (null when s is NULL), or '{' opening an object. */
int sg_json_elem_str(struct sg_outbuf *b, const char *s);
int sg_json_elem_obj(struct sg_outbuf *b);

#endif /* SG_JSON_H */
