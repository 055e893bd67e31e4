// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Streaming JSON writer: see json.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* --- numbers -------------------------------------------------------------- */

static const char digits2[201] = "00010203040506070809"
				 "10111213141516171819"
				 "20212223242526272829"
				 "30313233343536373839"
				 "40414243444546474849"
				 "50515253545556575859"
				 "60616263646566676869"
				 "70717273747576777879"
				 "80818283848586878889"
				 "90919293949596979899";

void sg_json_put_u64(struct sg_outbuf *b, uint64_t v)
{
	char tmp[SG_JSON_INT_MAX];
	char *p = tmp + sizeof(tmp);

	if (v < 10) {
		b->data[b->len++] = (char)('0' + v);
		return;
	}
	while (v >= 100) {
		unsigned int i = (unsigned int)(v % 100) * 2;

		v /= 100;
		*--p = digits2[i + 1];
		*--p = digits2[i];
	}
	if (v >= 10) {
		unsigned int i = (unsigned int)v * 2;

		*--p = digits2[i + 1];
		*--p = digits2[i];
	} else {
		*--p = (char)('0' + v);
	}
	sg_json_put_raw(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void sg_json_put_i64(struct sg_outbuf *b, int64_t v)
{
	if (v < 0) {
		b->data[b->len++] = '-';
		/* negate in unsigned arithmetic: INT64_MIN has no positive twin */
		sg_json_put_u64(b, 0 - (uint64_t)v);
		return;
	}
	sg_json_put_u64(b, (uint64_t)v);
}

static const char hexdig[16] = "0123456789abcdef";

void sg_json_put_hex(struct sg_outbuf *b, uint64_t v)
{
	int shift = 60;

	b->data[b->len++] = '0';
	b->data[b->len++] = 'x';
	while (shift > 0 && !((v >> shift) & 0xf))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		b->data[b->len++] = hexdig[(v >> shift) & 0xf];
}

/* --- strings -------------------------------------------------------------- */

/*
 * Per byte: 0 copied as is, 1 ASCII that must be escaped (controls, '"', '\\'),
 * 2 start of (or inside) a multi-byte sequence, checked by sg_utf8_seq().
 */
static const unsigned char str_class[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20: '"' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50: '\\' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x90 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xa0 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xb0 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xc0 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xd0 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xe0 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xf0 */
};

static void put_escape(struct sg_outbuf *b, unsigned char c)
{
	char *o = b->data + b->len;

	o[0] = '\\';
	switch (c) {
	case '"':
	case '\\':
		o[1] = (char)c;
		b->len += 2;
		return;
	case '\b':
		o[1] = 'b';
		b->len += 2;
		return;
	case '\f':
		o[1] = 'f';
		b->len += 2;
		return;
	case '\n':
		o[1] = 'n';
		b->len += 2;
		return;
	case '\r':
		o[1] = 'r';
		b->len += 2;
		return;
	case '\t':
		o[1] = 't';
		b->len += 2;
		return;
	default:
		o[1] = 'u';
		o[2] = '0';
		o[3] = '0';
		o[4] = hexdig[c >> 4];
		o[5] = hexdig[c & 0xf];
		b->len += 6;
	}
}

void sg_json_put_str(struct sg_outbuf *b, const void *s, size_t n)
{
	const unsigned char *p = s, *end = p + n;

	b->data[b->len++] = '"';
	while (p < end) {
		const unsigned char *run = p;
		size_t k;

		while (p < end && str_class[*p] == 0)
			p++;
		if (p > run)
			sg_json_put_raw(b, (const char *)run, (size_t)(p - run));
		if (p == end)
			break;
		if (str_class[*p] == 1) {
			put_escape(b, *p++);
			continue;
		}
		k = sg_utf8_seq(p, (size_t)(end - p));
		if (k) {
			sg_json_put_raw(b, (const char *)p, k);
			p += k;
		} else {
			put_escape(b, *p++);
		}
	}
	b->data[b->len++] = '"';
}

/* --- checked -------------------------------------------------------------- */

int sg_json_raw(struct sg_outbuf *b, const char *s, size_t n)
{
	if (sg_outbuf_room(b, n))
		sg_json_put_raw(b, s, n);
	return b->err;
}

int sg_json_u64(struct sg_outbuf *b, uint64_t v)
{
	if (sg_outbuf_room(b, SG_JSON_INT_MAX))
		sg_json_put_u64(b, v);
	return b->err;
}

int sg_json_i64(struct sg_outbuf *b, int64_t v)
{
	if (sg_outbuf_room(b, SG_JSON_INT_MAX))
		sg_json_put_i64(b, v);
	return b->err;
}

int sg_json_strn(struct sg_outbuf *b, const void *s, size_t n)
{
	if (n > (SIZE_MAX - 2) / 6) {
		if (!b->err)
			b->err = -ENOMEM;
		return b->err;
	}
	if (sg_outbuf_room(b, SG_JSON_STR_MAX(n)))
		sg_json_put_str(b, s, n);
	return b->err;
}

int sg_json_str(struct sg_outbuf *b, const char *s)
{
	if (!s)
		return sg_json_lit(b, "null");
	return sg_json_strn(b, s, strlen(s));
}

/* --- members and elements ------------------------------------------------- */

/* ',' unless the member or element is its container's first. */
static int put_sep(struct sg_outbuf *b)
{
	if (!sg_outbuf_room(b, 1))
		return b->err;
	if (!b->first)
		sg_json_put_char(b, ',');
	b->first = false;
	return 0;
}

/* An opening bracket: its first member or element follows. */
static int put_open(struct sg_outbuf *b, char c)
{
	if (sg_outbuf_room(b, 1)) {
		sg_json_put_char(b, c);
		b->first = true;
	}
	return b->err;
}

static int put_close(struct sg_outbuf *b, char c)
{
	if (sg_outbuf_room(b, 1)) {
		sg_json_put_char(b, c);
		b->first = false;
	}
	return b->err;
}

int sg_json_obj_open(struct sg_outbuf *b)
{
	return put_open(b, '{');
}

int sg_json_obj_close(struct sg_outbuf *b)
{
	return put_close(b, '}');
}

int sg_json_arr_close(struct sg_outbuf *b)
{
	return put_close(b, ']');
}

int sg_json_key(struct sg_outbuf *b, const char *key)
{
	if (!put_sep(b) && !sg_json_str(b, key))
		sg_json_lit(b, ":");
	return b->err;
}

int sg_json_key_obj(struct sg_outbuf *b, const char *key)
{
	return sg_json_key(b, key) ? b->err : put_open(b, '{');
}

int sg_json_key_arr(struct sg_outbuf *b, const char *key)
{
	return sg_json_key(b, key) ? b->err : put_open(b, '[');
}

int sg_json_key_str(struct sg_outbuf *b, const char *key, const char *s)
{
	return sg_json_key(b, key) ? b->err : sg_json_str(b, s);
}

int sg_json_key_u64(struct sg_outbuf *b, const char *key, uint64_t v)
{
	return sg_json_key(b, key) ? b->err : sg_json_u64(b, v);
}

int sg_json_key_bool(struct sg_outbuf *b, const char *key, bool v)
{
	if (sg_json_key(b, key))
		return b->err;
	return v ? sg_json_lit(b, "true") : sg_json_lit(b, "false");
}

int sg_json_key_raw(struct sg_outbuf *b, const char *key, const char *json, size_t n)
{
	return sg_json_key(b, key) ? b->err : sg_json_raw(b, json, n);
}

int sg_json_elem_str(struct sg_outbuf *b, const char *s)
{
	return put_sep(b) ? b->err : sg_json_str(b, s);
}

int sg_json_elem_obj(struct sg_outbuf *b)
{
	return put_sep(b) ? b->err : put_open(b, '{');
}
