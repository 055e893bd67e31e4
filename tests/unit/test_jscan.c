// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for common/jscan.c, the strict JSON scanner of policy files and
 * control requests: what it takes, what it refuses (with which message), the
 * UTF-8 and NUL flags, and the top-level members it reports.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "jscan.h"

#define STRICT (SG_JSCAN_UTF8 | SG_JSCAN_NO_NUL)

/* sg_jscan of the n bytes of s; *msg: the first problem ("" when none). */
static int scan(const char *s, size_t n, unsigned int flags, unsigned int *dups, char *msg,
		size_t msg_len)
{
	struct sg_errlist errs = { 0 };
	int r = sg_jscan(s, n, flags, 8, "req", &errs, dups, NULL, NULL);

	snprintf(msg, msg_len, "%s", sg_errlist_count(&errs) ? sg_errlist_get(&errs, 0) : "");
	sg_errlist_free(&errs);
	return r;
}

static void test_valid(void **state)
{
	static const char *const ok[] = {
		"{}",
		" {\"a\":[1,-0.5e+3,true,false,null,\"x\\u00e9\\ud83d\\ude00\"]} ",
		"\"caf\xc3\xa9 \xf0\x9f\x98\x80\"",
		"[[[[[[[1]]]]]]]",
		"0",
		"-1E-2",
	};
	unsigned int dups;
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(scan(ok[i], strlen(ok[i]), STRICT, &dups, msg, sizeof(msg)), 0);
		assert_int_equal(dups, 0);
		assert_string_equal(msg, "");
	}
}

static void test_refused(void **state)
{
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		unsigned int flags;
		const char *msg;
	} bad[] = {
		{ "{\"id\":NaN}", 0, 0,
		  "req: not JSON: unexpected character 'N' at line 1, column 7" },
		{ "{\"id\":Infinity}", 0, 0, "req: not JSON: unexpected character 'I'" },
		{ "{'a':1}", 0, 0, "req: not JSON: expected a double-quoted key" },
		{ "[1,]", 0, 0, "req: not JSON: unexpected character ']'" },
		{ "01", 0, 0, "req: not JSON: trailing garbage after the JSON value" },
		{ "{} x", 0, 0, "req: not JSON: trailing garbage" },
		{ "\"a\nb\"", 0, 0, "req: not JSON: control character in string" },
		{ "[[[[[[[[[1]]]]]]]]]", 0, 0, "req: not JSON: nesting too deep" },
		{ "\"\xff\"", 0, SG_JSCAN_UTF8, "req: not JSON: invalid UTF-8 in string" },
		{ "\"\xc0\x80\"", 0, SG_JSCAN_UTF8, "req: not JSON: invalid UTF-8" },
		{ "\"\xed\xa0\x80\"", 0, SG_JSCAN_UTF8, "req: not JSON: invalid UTF-8" },
		{ "\"\xf4\x90\x80\x80\"", 0, SG_JSCAN_UTF8, "req: not JSON: invalid UTF-8" },
		{ "\"\xe2\x82\"", 0, SG_JSCAN_UTF8, "req: not JSON: invalid UTF-8" },
		{ "\"\\ud800\"", 0, SG_JSCAN_UTF8, "req: not JSON: lone UTF-16 surrogate" },
		{ "\"\\udc00x\"", 0, SG_JSCAN_UTF8, "req: not JSON: lone UTF-16 surrogate" },
		{ "{\"cmd\":\"stats\\u0000x\"}", 0, SG_JSCAN_NO_NUL, "req: not JSON: NUL" },
		{ "{\"a\\u0000\":1}", 0, SG_JSCAN_NO_NUL, "req: not JSON: NUL" },
		{ "{\"a\":1}\0", 8, 0, "req: not JSON: NUL byte" },
	};
	unsigned int dups;
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = bad[i].len ? bad[i].len : strlen(bad[i].text);

		assert_int_equal(scan(bad[i].text, n, bad[i].flags, &dups, msg, sizeof(msg)),
				 -EINVAL);
		if (strncmp(msg, bad[i].msg, strlen(bad[i].msg)))
			fail_msg("%s: got \"%s\", want \"%s...\"", bad[i].text, msg, bad[i].msg);
	}
	/* without the flags, the same bytes pass (the policy parser's own checks apply) */
	assert_int_equal(scan("\"\xff\"", 3, 0, &dups, msg, sizeof(msg)), 0);
	assert_int_equal(scan("\"\\u0000\"", 8, 0, &dups, msg, sizeof(msg)), 0);
}

static void test_duplicates(void **state)
{
	const char *t = "{\"cmd\":1,\"f\":{\"pid\":1,\"pid\":2,\"pid\":3},\"cmd\":2}";
	unsigned int dups;
	char msg[256];

	(void)state;
	assert_int_equal(scan(t, strlen(t), STRICT, &dups, msg, sizeof(msg)), 0);
	assert_int_equal(dups, 2);
	assert_string_equal(msg, "f: duplicate key \"pid\"");
	/* keys are compared decoded */
	t = "{\"a\":1,\"\\u0061\":2}";
	assert_int_equal(scan(t, strlen(t), STRICT, &dups, msg, sizeof(msg)), 0);
	assert_int_equal(dups, 1);
	assert_string_equal(msg, "req: duplicate key \"a\"");
}

struct seen {
	char keys[8][16];
	size_t start[8], end[8];
	int n;
};

static void member(void *ctx, const char *key, size_t key_len, size_t start, size_t end)
{
	struct seen *s = ctx;

	if (s->n == 8)
		return;
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%.*s", (int)key_len, key);
	s->start[s->n] = start;
	s->end[s->n] = end;
	s->n++;
}

static void test_members(void **state)
{
	const char *t = "{ \"cmd\" : \"stats\" ,\"id\":  [1, {\"x\":2}] , \"n\":1e400}";
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(sg_jscan(t, strlen(t), STRICT, 8, "req", NULL, NULL, member, &s), 0);
	assert_int_equal(s.n, 3); /* top level only */
	assert_string_equal(s.keys[1], "id");
	assert_int_equal(s.end[1] - s.start[1], strlen("[1, {\"x\":2}]"));
	assert_memory_equal(t + s.start[1], "[1, {\"x\":2}]", s.end[1] - s.start[1]);
	assert_memory_equal(t + s.start[2], "1e400", s.end[2] - s.start[2]);
	/* not an object at the top: no members */
	s.n = 0;
	assert_int_equal(sg_jscan("[1]", 3, STRICT, 8, "req", NULL, NULL, member, &s), 0);
	assert_int_equal(s.n, 0);
}

static void test_show(void **state)
{
	char out[SG_JSCAN_SHOW_BUF], long_in[200];

	(void)state;
	assert_string_equal(sg_jscan_show(out, "a\"b\\c\n", 6), "\"a\\\"b\\\\c\\u000a\"");
	memset(long_in, 'x', sizeof(long_in));
	sg_jscan_show(out, long_in, sizeof(long_in));
	assert_int_equal(strlen(out), 1 + SG_JSCAN_SHOW_MAX + 3 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),	   cmocka_unit_test(test_refused),
		cmocka_unit_test(test_duplicates), cmocka_unit_test(test_members),
		cmocka_unit_test(test_show),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
