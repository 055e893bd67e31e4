// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for common/json.c and outbuf.c: escaping, UTF-8 handling, numbers,
 * buffer growth, members and elements, the sticky error.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "json.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Encode n bytes as a JSON string into b (reset first), NUL-terminated. */
static const char *encode(struct sg_outbuf *b, const void *s, size_t n)
{
	sg_outbuf_reset(b);
	assert_int_equal(sg_json_strn(b, s, n), 0);
	assert_int_equal(sg_outbuf_reserve(b, 1), 0);
	b->data[b->len] = '\0';
	return b->data;
}

/* Parse a JSON string literal with json-c; returns its bytes (malloc'd) and length. */
static char *decode(const char *json, size_t *len)
{
	struct json_object *o = json_tokener_parse(json);
	char *out;

	if (!o)
		fail_msg("json-c cannot parse %s", json);
	assert_int_equal(json_object_get_type(o), json_type_string);
	*len = (size_t)json_object_get_string_len(o);
	out = malloc(*len + 1);
	assert_non_null(out);
	memcpy(out, json_object_get_string(o), *len + 1);
	json_object_put(o);
	return out;
}

struct str_case {
	const char *in;
	size_t in_len;
	const char *json; /* exact writer output */
	const char *decoded; /* what a JSON parser reads back (UTF-8); NULL: == in */
	size_t decoded_len;
};

#define S(lit) lit, sizeof(lit) - 1

static const struct str_case str_cases[] = {
	/* plain, quotes, backslash, slash */
	{ S(""), "\"\"", NULL, 0 },
	{ S("resolver"), "\"resolver\"", NULL, 0 },
	{ S("a\"b"), "\"a\\\"b\"", NULL, 0 },
	{ S("a\\b"), "\"a\\\\b\"", NULL, 0 },
	{ S("/run/x.sock"), "\"/run/x.sock\"", NULL, 0 },
	{ S("\x7f"), "\"\x7f\"", NULL, 0 },
	/* controls: short forms and \u00XX, NUL included */
	{ S("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"", NULL, 0 },
	{ S("\x00"), "\"\\u0000\"", NULL, 0 },
	{ S("a\x00z"), "\"a\\u0000z\"", NULL, 0 },
	{ S("\x01\x1f\x0b"), "\"\\u0001\\u001f\\u000b\"", NULL, 0 },
	/* valid UTF-8 passes through, every length, the range edges */
	{ S("\xc2\x80"), "\"\xc2\x80\"", NULL, 0 }, /* U+0080 */
	{ S("caf\xc3\xa9"), "\"caf\xc3\xa9\"", NULL, 0 }, /* é */
	{ S("\xdf\xbf"), "\"\xdf\xbf\"", NULL, 0 }, /* U+07FF */
	{ S("\xe0\xa0\x80"), "\"\xe0\xa0\x80\"", NULL, 0 }, /* U+0800 */
	{ S("\xe2\x82\xac"), "\"\xe2\x82\xac\"", NULL, 0 }, /* € */
	{ S("\xed\x9f\xbf"), "\"\xed\x9f\xbf\"", NULL, 0 }, /* U+D7FF */
	{ S("\xee\x80\x80"), "\"\xee\x80\x80\"", NULL, 0 }, /* U+E000 */
	{ S("\xef\xbf\xbf"), "\"\xef\xbf\xbf\"", NULL, 0 }, /* U+FFFF */
	{ S("\xf0\x90\x80\x80"), "\"\xf0\x90\x80\x80\"", NULL, 0 }, /* U+10000 */
	{ S("\xf0\x9d\x84\x9e"), "\"\xf0\x9d\x84\x9e\"", NULL, 0 }, /* 𝄞 */
	{ S("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"", NULL, 0 }, /* U+10FFFF */
	/* lone continuation bytes */
	{ S("\x80"), "\"\\u0080\"", S("\xc2\x80") },
	{ S("a\xbfz"), "\"a\\u00bfz\"", S("a\xc2\xbfz") },
	/* overlong encodings */
	{ S("\xc0\xaf"), "\"\\u00c0\\u00af\"", S("\xc3\x80\xc2\xaf") },
	{ S("\xc1\xbf"), "\"\\u00c1\\u00bf\"", S("\xc3\x81\xc2\xbf") },
	{ S("\xe0\x80\xaf"), "\"\\u00e0\\u0080\\u00af\"", S("\xc3\xa0\xc2\x80\xc2\xaf") },
	{ S("\xe0\x9f\xbf"), "\"\\u00e0\\u009f\\u00bf\"", S("\xc3\xa0\xc2\x9f\xc2\xbf") },
	{ S("\xf0\x80\x80\xaf"), "\"\\u00f0\\u0080\\u0080\\u00af\"",
	  S("\xc3\xb0\xc2\x80\xc2\x80\xc2\xaf") },
	{ S("\xf0\x8f\xbf\xbf"), "\"\\u00f0\\u008f\\u00bf\\u00bf\"",
	  S("\xc3\xb0\xc2\x8f\xc2\xbf\xc2\xbf") },
	/* UTF-16 surrogates U+D800..U+DFFF */
	{ S("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"", S("\xc3\xad\xc2\xa0\xc2\x80") },
	{ S("\xed\xbf\xbf"), "\"\\u00ed\\u00bf\\u00bf\"", S("\xc3\xad\xc2\xbf\xc2\xbf") },
	/* above U+10FFFF, and bytes that never occur */
	{ S("\xf4\x90\x80\x80"), "\"\\u00f4\\u0090\\u0080\\u0080\"",
	  S("\xc3\xb4\xc2\x90\xc2\x80\xc2\x80") },
	{ S("\xf5\x80\x80\x80"), "\"\\u00f5\\u0080\\u0080\\u0080\"",
	  S("\xc3\xb5\xc2\x80\xc2\x80\xc2\x80") },
	{ S("\xfe\xff"), "\"\\u00fe\\u00ff\"", S("\xc3\xbe\xc3\xbf") },
	/* truncated sequences: at the end, and followed by ASCII or a new lead */
	{ S("\xc3"), "\"\\u00c3\"", S("\xc3\x83") },
	{ S("\xe2\x82"), "\"\\u00e2\\u0082\"", S("\xc3\xa2\xc2\x82") },
	{ S("\xf0\x9d\x84"), "\"\\u00f0\\u009d\\u0084\"", S("\xc3\xb0\xc2\x9d\xc2\x84") },
	{ S("\xe2\x82z"), "\"\\u00e2\\u0082z\"", S("\xc3\xa2\xc2\x82z") },
	{ S("\xc3\xc3\xa9"), "\"\\u00c3\xc3\xa9\"", S("\xc3\x83\xc3\xa9") },
	/* mixed */
	{ S("w\xc3\xa9\x00\xff\"\n"), "\"w\xc3\xa9\\u0000\\u00ff\\\"\\n\"",
	  S("w\xc3\xa9\x00\xc3\xbf\"\n") },
};

static void test_strings(void **state)
{
	struct sg_outbuf b;
	size_t i;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 16), 0);
	for (i = 0; i < ARRAY_SIZE(str_cases); i++) {
		const struct str_case *c = &str_cases[i];
		const char *want = c->decoded ? c->decoded : c->in;
		size_t want_len = c->decoded ? c->decoded_len : c->in_len, got_len;
		const char *out = encode(&b, c->in, c->in_len);
		char *got;

		if (strcmp(out, c->json) != 0)
			fail_msg("case %zu: got %s, want %s", i, out, c->json);
		got = decode(out, &got_len);
		assert_int_equal(got_len, want_len);
		assert_memory_equal(got, want, want_len);
		free(got);
	}
	sg_outbuf_free(&b);
}

/* Reference: decode one code point the slow way and check RFC 3629's limits. */
static size_t ref_utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
		return 0;
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Random byte strings: json-c must parse each, and read back the reference decoding. */
static void test_random_roundtrip(void **state)
{
	static const unsigned char alphabet[] = { 'a',	'"',  '\\', 0,	  '\n', 0x1f, 0x7f, 0x80,
						  0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe2, 0xed, 0xef,
						  0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90 };
	struct sg_outbuf b;
	unsigned char in[64], want[64 * 4];
	unsigned int seed = 12345;
	int iter;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 0), 0);
	for (iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)(rand_r(&seed) % 24), i, w = 0, got_len;
		char *got;

		for (i = 0; i < n; i++)
			in[i] = (rand_r(&seed) & 3) ? alphabet[rand_r(&seed) % sizeof(alphabet)]
						    : (unsigned char)rand_r(&seed);
		for (i = 0; i < n;) {
			size_t k = ref_utf8_len(in + i, n - i);

			if (k) {
				memcpy(want + w, in + i, k);
				w += k;
				i += k;
			} else {
				want[w++] = (unsigned char)(0xc0 | in[i] >> 6);
				want[w++] = (unsigned char)(0x80 | (in[i] & 0x3f));
				i++;
			}
		}
		got = decode(encode(&b, in, n), &got_len);
		if (got_len != w || memcmp(got, want, w) != 0)
			fail_msg("iteration %d: round trip differs for %s", iter, b.data);
		free(got);
	}
	sg_outbuf_free(&b);
}

static void test_integers(void **state)
{
	static const uint64_t u[] = { 0,
				      1,
				      9,
				      10,
				      99,
				      100,
				      101,
				      999,
				      1000,
				      12345,
				      4294967295u,
				      4294967296u,
				      9999999999999999999u,
				      10000000000000000000u,
				      UINT64_MAX };
	static const int64_t s[] = { 0,		-1,	   1,	      -9,
				     -10,	42,	   -12345,    INT32_MIN,
				     INT32_MAX, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	struct sg_outbuf b;
	char want[32];
	size_t i;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 1), 0);
	for (i = 0; i < ARRAY_SIZE(u); i++) {
		sg_outbuf_reset(&b);
		assert_int_equal(sg_json_u64(&b, u[i]), 0);
		snprintf(want, sizeof(want), "%" PRIu64, u[i]);
		assert_int_equal(b.len, strlen(want));
		assert_memory_equal(b.data, want, b.len);
	}
	for (i = 0; i < ARRAY_SIZE(s); i++) {
		sg_outbuf_reset(&b);
		assert_int_equal(sg_json_i64(&b, s[i]), 0);
		snprintf(want, sizeof(want), "%" PRId64, s[i]);
		assert_int_equal(b.len, strlen(want));
		assert_memory_equal(b.data, want, b.len);
	}
	for (i = 0; i < ARRAY_SIZE(u); i++) {
		sg_outbuf_reset(&b);
		assert_int_equal(sg_outbuf_reserve(&b, 20), 0);
		sg_json_put_hex(&b, u[i]);
		snprintf(want, sizeof(want), "0x%" PRIx64, u[i]);
		assert_int_equal(b.len, strlen(want));
		assert_memory_equal(b.data, want, b.len);
	}
	sg_outbuf_free(&b);
}

/* The checked writers grow the buffer; the output stays one valid document. */
static void test_growth_and_document(void **state)
{
	struct sg_outbuf b;
	struct json_object *o, *v;
	int i;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 1), 0);
	assert_int_equal(sg_json_raw(&b, "{\"a\":", 5), 0);
	assert_int_equal(sg_json_str(&b, NULL), 0);
	assert_int_equal(sg_json_raw(&b, ",\"b\":", 5), 0);
	assert_int_equal(sg_json_str(&b, "x\"y"), 0);
	assert_int_equal(sg_json_raw(&b, ",\"c\":[", 6), 0);
	for (i = 0; i < 1000; i++) {
		if (i)
			assert_int_equal(sg_json_raw(&b, ",", 1), 0);
		assert_int_equal(sg_json_i64(&b, -i), 0);
	}
	assert_int_equal(sg_json_raw(&b, "]}", 3), 0); /* with the NUL */
	assert_true(b.cap >= b.len);
	o = json_tokener_parse(b.data);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "a", &v));
	assert_null(v);
	assert_true(json_object_object_get_ex(o, "b", &v));
	assert_string_equal(json_object_get_string(v), "x\"y");
	assert_true(json_object_object_get_ex(o, "c", &v));
	assert_int_equal(json_object_array_length(v), 1000);
	assert_int_equal(json_object_get_int(json_object_array_get_idx(v, 999)), -999);
	json_object_put(o);

	/* reset keeps the memory */
	sg_outbuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	sg_outbuf_free(&b);
	assert_null(b.data);
	sg_outbuf_free(&b); /* twice is fine */
	sg_outbuf_free(NULL);

	/* an impossible request fails cleanly */
	assert_int_equal(sg_outbuf_init(&b, 16), 0);
	assert_int_equal(sg_outbuf_reserve(&b, SIZE_MAX), -ENOMEM);
	assert_int_equal(sg_json_strn(&b, "x", SIZE_MAX / 4), -ENOMEM);
	assert_int_equal(b.len, 0);
	sg_outbuf_free(&b);
}

/* NUL-terminate b's text (room permitting) for string comparisons. */
static const char *text(struct sg_outbuf *b)
{
	assert_int_equal(sg_outbuf_reserve(b, 1), 0);
	b->data[b->len] = '\0';
	return b->data;
}

/* The member and element helpers write exactly the punctuation a hand-written record had. */
static void test_members(void **state)
{
	struct sg_outbuf b;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 1), 0);
	sg_json_obj_open(&b);
	sg_json_key_u64(&b, "a", 18446744073709551615ull);
	sg_json_key_str(&b, "b", "x\"y");
	sg_json_key_str(&b, "c", NULL);
	sg_json_key_bool(&b, "d", true);
	sg_json_key_bool(&b, "e", false);
	sg_json_key_obj(&b, "f");
	sg_json_key_arr(&b, "g");
	sg_json_arr_close(&b);
	sg_json_obj_close(&b);
	sg_json_key_arr(&b, "h");
	sg_json_elem_str(&b, "s");
	sg_json_elem_str(&b, NULL);
	sg_json_elem_obj(&b);
	sg_json_key_raw(&b, "i", "[1,2]", 5);
	sg_json_obj_close(&b);
	sg_json_elem_obj(&b);
	sg_json_obj_close(&b);
	sg_json_arr_close(&b);
	sg_json_key_obj(&b, "j");
	sg_json_obj_close(&b);
	sg_json_key(&b, "k\n");
	sg_json_i64(&b, -1);
	assert_int_equal(sg_json_obj_close(&b), 0);
	assert_string_equal(text(&b), "{\"a\":18446744073709551615,\"b\":\"x\\\"y\",\"c\":null,"
				      "\"d\":true,\"e\":false,\"f\":{\"g\":[]},"
				      "\"h\":[\"s\",null,{\"i\":[1,2]},{}],\"j\":{},\"k\\n\":-1}");
	assert_int_equal(sg_outbuf_end(&b, 0), 0);

	/* Members that follow a record's unchecked head. */
	sg_outbuf_reset(&b);
	assert_int_equal(sg_outbuf_reserve(&b, 64), 0);
	sg_json_put_obj_key(&b, "v");
	sg_json_put_u64(&b, 1);
	sg_json_put_key(&b, "type");
	sg_json_put_name(&b, "send");
	b.first = false;
	sg_json_key_u64(&b, "n", 7);
	sg_json_obj_close(&b);
	assert_string_equal(text(&b), "{\"v\":1,\"type\":\"send\",\"n\":7}");
	sg_outbuf_free(&b);
}

/*
 * A failure in the middle of a record (a size no buffer can have, as an
 * allocation failure would) sets the error once; what follows writes nothing,
 * and sg_outbuf_end drops the partial record, reports the error and clears it.
 */
static void test_sticky_error(void **state)
{
	static const char big[] = "0123456789";
	struct sg_outbuf b;
	size_t mark;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 16), 0);
	assert_int_equal(sg_json_lit(&b, "[1]\n"), 0);
	mark = b.len;

	sg_json_obj_open(&b);
	sg_json_key_u64(&b, "a", 1);
	assert_int_equal(sg_json_raw(&b, big, SIZE_MAX / 2), -ENOMEM);
	assert_int_equal(b.err, -ENOMEM);
	assert_int_equal(b.len, mark + 6); /* {"a":1 and nothing of the failed append */
	assert_int_equal(sg_json_key_str(&b, "b", "x"), -ENOMEM);
	assert_int_equal(sg_json_u64(&b, 2), -ENOMEM);
	assert_int_equal(sg_json_elem_obj(&b), -ENOMEM);
	assert_int_equal(sg_json_obj_close(&b), -ENOMEM);
	assert_int_equal(b.len, mark + 6);
	/* reserve reports the error but is not an append: b stays as it is */
	assert_int_equal(sg_outbuf_reserve(&b, 1), -ENOMEM);
	assert_int_equal(sg_outbuf_end(&b, mark), -ENOMEM);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, mark);
	assert_memory_equal(b.data, "[1]\n", mark);

	/* the next record is written whole */
	sg_json_obj_open(&b);
	sg_json_key_u64(&b, "a", 1);
	sg_json_obj_close(&b);
	assert_int_equal(sg_outbuf_end(&b, mark), 0);
	assert_string_equal(text(&b), "[1]\n{\"a\":1}");

	/* a string too long to escape, and a failed reserve, which sets nothing */
	assert_int_equal(sg_json_strn(&b, big, SIZE_MAX / 4), -ENOMEM);
	assert_int_equal(sg_json_lit(&b, "x"), -ENOMEM);
	sg_outbuf_reset(&b);
	assert_int_equal(b.err, 0);
	assert_int_equal(sg_outbuf_reserve(&b, SIZE_MAX), -ENOMEM);
	assert_int_equal(b.err, 0);
	assert_int_equal(sg_json_lit(&b, "x"), 0);
	assert_string_equal(text(&b), "x");
	sg_outbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),	 cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_integers), cmocka_unit_test(test_growth_and_document),
		cmocka_unit_test(test_members),	 cmocka_unit_test(test_sticky_error),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
