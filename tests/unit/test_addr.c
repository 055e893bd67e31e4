// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for common/addr.c: dst objects and RFC 5952 text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "addr.h"
#include "json.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct v6_case {
	const char *in; /* any form inet_pton takes */
	const char *want; /* RFC 5952 */
};

static const struct v6_case v6_cases[] = {
	{ "::", "::" },
	{ "::1", "::1" },
	{ "1::", "1::" },
	{ "2001:db8::1", "2001:db8::1" },
	{ "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
	/* longest run wins; first on ties (RFC 5952 4.2.3) */
	{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
	{ "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },
	{ "1:0:0:2:0:0:3:4", "1::2:0:0:3:4" },
	/* a single zero group is not shortened (4.2.2) */
	{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
	{ "1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0" },
	{ "0:1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7" },
	{ "1:2:3:4:5:6:0:0", "1:2:3:4:5:6::" },
	{ "0:0:1:2:3:4:5:6", "::1:2:3:4:5:6" },
	{ "1:0:0:0:0:0:0:0", "1::" },
	{ "0:0:0:0:0:0:0:1", "::1" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	{ "fe80::a:b0:c00:d000", "fe80::a:b0:c00:d000" },
	/* IPv4-mapped in mixed notation (5); other embeddings stay hex */
	{ "::ffff:127.0.0.1", "::ffff:127.0.0.1" },
	{ "::ffff:0:0", "::ffff:0.0.0.0" },
	{ "::ffff:c000:0201", "::ffff:192.0.2.1" },
	{ "::1.2.3.4", "::102:304" },
	{ "::2:3", "::2:3" },
	{ "64:ff9b::192.0.2.1", "64:ff9b::c000:201" },
	{ "::ffff:1:2:3", "::ffff:1:2:3" },
};

static void test_inet6_format(void **state)
{
	char buf[SG_INET6_STRLEN];
	uint8_t a[16];
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v6_cases); i++) {
		assert_int_equal(inet_pton(AF_INET6, v6_cases[i].in, a), 1);
		n = sg_inet6_format(buf, a);
		if (strcmp(buf, v6_cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", v6_cases[i].in, buf, v6_cases[i].want);
		assert_int_equal(n, strlen(buf));
	}
	/* the longest text fits the buffer */
	memset(a, 0xff, sizeof(a));
	memset(a, 0, 10);
	assert_int_equal(sg_inet6_format(buf, a), strlen("::ffff:255.255.255.255"));
	assert_true(strlen("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255") < SG_INET6_STRLEN);
}

/* Exhaustive-ish: every pattern of zero/non-zero groups, checked against RFC 5952 rules. */
static void test_inet6_patterns(void **state)
{
	char buf[SG_INET6_STRLEN];
	uint8_t a[16], back[16];
	unsigned int mask;

	(void)state;
	for (mask = 0; mask < 256; mask++) {
		int i, best = -1, best_len = 0;

		memset(a, 0, sizeof(a));
		for (i = 0; i < 8; i++) {
			if (mask & (1u << i)) {
				a[2 * i] = (uint8_t)(i == 3 ? 0 : 0x0a);
				a[2 * i + 1] = (uint8_t)(i + 1);
			}
		}
		sg_inet6_format(buf, a);
		/* reads back to the same address */
		assert_int_equal(inet_pton(AF_INET6, buf, back), 1);
		assert_memory_equal(a, back, 16);
		/* lowercase, no uppercase, at most one "::" */
		for (i = 0; buf[i]; i++)
			assert_false(buf[i] >= 'A' && buf[i] <= 'F');
		if (strstr(buf, "::"))
			assert_null(strstr(strstr(buf, "::") + 2, "::"));
		/* "::" present exactly when a run of >= 2 zero groups exists (not mapped) */
		for (i = 0; i < 8; i++) {
			int j = i;

			while (j < 8 && !(mask & (1u << j)))
				j++;
			if (j - i > best_len) {
				best = i;
				best_len = j - i;
			}
			if (j > i)
				i = j - 1;
		}
		(void)best;
		if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
			continue;
		if (best_len >= 2)
			assert_non_null(strstr(buf, "::"));
		else
			assert_null(strstr(buf, "::"));
	}
}

static void test_inet_format(void **state)
{
	static const struct {
		const char *in;
	} cases[] = { { "0.0.0.0" },   { "1.2.3.4" },	      { "10.0.0.53" },
		      { "127.0.0.1" }, { "255.255.255.255" }, { "192.168.100.9" } };
	char buf[SG_INET_STRLEN];
	uint8_t a[4];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(inet_pton(AF_INET, cases[i].in, a), 1);
		assert_int_equal(sg_inet_format(buf, a), strlen(cases[i].in));
		assert_string_equal(buf, cases[i].in);
	}
}

/* Format a raw sockaddr and return the text; also checks it parses with json-c. */
static const char *fmt(struct sg_outbuf *b, const void *addr, size_t len)
{
	struct json_object *o;

	sg_outbuf_reset(b);
	assert_int_equal(sg_addr_to_json(b, addr, len), 0);
	assert_int_equal(sg_json_raw(b, "", 1), 0);
	if (strcmp(b->data, "null") != 0) {
		o = json_tokener_parse(b->data);
		if (!o)
			fail_msg("not JSON: %s", b->data);
		json_object_put(o);
	}
	return b->data;
}

static void expect(struct sg_outbuf *b, const void *addr, size_t len, const char *want)
{
	const char *got = fmt(b, addr, len);

	if (strcmp(got, want) != 0)
		fail_msg("len %zu: got %s, want %s", len, got, want);
}

static void test_dst_inet(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct sg_outbuf b;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 0), 0);
	inet_pton(AF_INET, "10.0.0.53", &sin.sin_addr);
	expect(&b, &sin, sizeof(sin), "{\"family\":\"inet\",\"addr\":\"10.0.0.53\",\"port\":53}");
	/* the kernel would refuse it, but the 8 bytes we need are there */
	expect(&b, &sin, 8, "{\"family\":\"inet\",\"addr\":\"10.0.0.53\",\"port\":53}");
	/* too short for the address: family only */
	expect(&b, &sin, 7, "{\"family\":\"inet\"}");
	expect(&b, &sin, 2, "{\"family\":\"inet\"}");
	expect(&b, &sin, 1, "null");
	expect(&b, &sin, 0, "null");
	sin.sin_port = htons(65535);
	inet_pton(AF_INET, "255.255.255.255", &sin.sin_addr);
	expect(&b, &sin, sizeof(sin),
	       "{\"family\":\"inet\",\"addr\":\"255.255.255.255\",\"port\":65535}");
	sin.sin_port = 0;
	sin.sin_addr.s_addr = 0;
	expect(&b, &sin, sizeof(sin), "{\"family\":\"inet\",\"addr\":\"0.0.0.0\",\"port\":0}");
	sg_outbuf_free(&b);
}

static void test_dst_inet6(void **state)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	struct sg_outbuf b;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 0), 0);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	expect(&b, &sin6, sizeof(sin6),
	       "{\"family\":\"inet6\",\"addr\":\"2001:db8::1\",\"port\":443,\"scope_id\":0}");
	inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr);
	sin6.sin6_scope_id = 4294967295u;
	sin6.sin6_flowinfo = htonl(0x12345);
	expect(&b, &sin6, sizeof(sin6),
	       "{\"family\":\"inet6\",\"addr\":\"fe80::1\",\"port\":443,\"scope_id\":4294967295}");
	/* RFC 2133 size: no scope_id field, read as 0 */
	expect(&b, &sin6, 24,
	       "{\"family\":\"inet6\",\"addr\":\"fe80::1\",\"port\":443,\"scope_id\":0}");
	expect(&b, &sin6, 27,
	       "{\"family\":\"inet6\",\"addr\":\"fe80::1\",\"port\":443,\"scope_id\":0}");
	expect(&b, &sin6, 23, "{\"family\":\"inet6\"}");
	expect(&b, &sin6, 3, "{\"family\":\"inet6\"}");
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr);
	sin6.sin6_scope_id = 0;
	sin6.sin6_port = htons(8080);
	expect(&b, &sin6, sizeof(sin6),
	       "{\"family\":\"inet6\",\"addr\":\"::ffff:127.0.0.1\",\"port\":8080,\"scope_id\":0}");
	inet_pton(AF_INET6, "2001:db8:0:0:1:0:0:1", &sin6.sin6_addr);
	expect(&b, &sin6, sizeof(sin6),
	       "{\"family\":\"inet6\",\"addr\":\"2001:db8::1:0:0:1\",\"port\":8080,"
	       "\"scope_id\":0}");
	memset(&sin6.sin6_addr, 0, 16);
	expect(&b, &sin6, sizeof(sin6),
	       "{\"family\":\"inet6\",\"addr\":\"::\",\"port\":8080,\"scope_id\":0}");
	sg_outbuf_free(&b);
}

static void test_dst_unix(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sg_outbuf b;
	size_t n;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 0), 0);
	/* path, NUL-terminated within the length or not */
	strcpy(sun.sun_path, "/run/x.sock");
	n = offsetof(struct sockaddr_un, sun_path) + strlen(sun.sun_path);
	expect(&b, &sun, n + 1, "{\"family\":\"unix\",\"path\":\"/run/x.sock\"}");
	expect(&b, &sun, n, "{\"family\":\"unix\",\"path\":\"/run/x.sock\"}");
	expect(&b, &sun, sizeof(sun), "{\"family\":\"unix\",\"path\":\"/run/x.sock\"}");
	/* cut short by the length */
	expect(&b, &sun, n - 5, "{\"family\":\"unix\",\"path\":\"/run/x\"}");
	/* a full 108-byte path without NUL */
	memset(sun.sun_path, 'a', sizeof(sun.sun_path));
	sun.sun_path[0] = '/';
	fmt(&b, &sun, sizeof(sun));
	assert_int_equal(strlen(b.data), strlen("{\"family\":\"unix\",\"path\":\"\"}") + 108);
	/* escaping inside paths, and non-UTF-8 bytes */
	memset(sun.sun_path, 0, sizeof(sun.sun_path));
	memcpy(sun.sun_path, "/tmp/a\"b\\\n\xff\xc3\xa9", 13);
	expect(&b, &sun, 2 + 13,
	       "{\"family\":\"unix\",\"path\":\"/tmp/a\\\"b\\\\\\n\\u00ff\xc3\xa9\"}");

	/* abstract: leading NUL dropped, the rest is the name, NULs and all */
	memset(sun.sun_path, 0, sizeof(sun.sun_path));
	memcpy(sun.sun_path, "\0sendguard", 10);
	expect(&b, &sun, 2 + 10, "{\"family\":\"unix\",\"abstract\":\"sendguard\"}");
	memset(sun.sun_path, 0, sizeof(sun.sun_path));
	memcpy(sun.sun_path, "\0a\0b\xfe", 5);
	expect(&b, &sun, 2 + 5, "{\"family\":\"unix\",\"abstract\":\"a\\u0000b\\u00fe\"}");
	/* abstract with trailing NUL bytes inside addr_len: they are part of the name */
	expect(&b, &sun, 2 + 7,
	       "{\"family\":\"unix\",\"abstract\":\"a\\u0000b\\u00fe\\u0000\\u0000\"}");
	expect(&b, &sun, 3, "{\"family\":\"unix\",\"abstract\":\"\"}");

	/* unnamed */
	expect(&b, &sun, 2, "{\"family\":\"unix\"}");
	expect(&b, &sun, 1, "null");
	sg_outbuf_free(&b);
}

static void test_dst_other(void **state)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK, .nl_pid = 1234, .nl_groups = 5 };
	uint8_t raw[SG_ADDR_MAX];
	struct sg_outbuf b;
	uint16_t fam;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 0), 0);
	expect(&b, &nl, sizeof(nl), "{\"family\":\"netlink\",\"pid\":1234,\"groups\":5}");
	nl.nl_pid = 0;
	nl.nl_groups = 0;
	expect(&b, &nl, sizeof(nl), "{\"family\":\"netlink\",\"pid\":0,\"groups\":0}");
	expect(&b, &nl, 11, "{\"family\":\"netlink\"}");

	memset(raw, 0xab, sizeof(raw));
	fam = AF_PACKET;
	memcpy(raw, &fam, 2);
	expect(&b, raw, 20, "{\"family\":\"packet\"}");
	fam = AF_VSOCK;
	memcpy(raw, &fam, 2);
	expect(&b, raw, 16, "{\"family\":\"vsock\"}");
	fam = AF_UNSPEC;
	memcpy(raw, &fam, 2);
	expect(&b, raw, 16, "{\"family\":\"unspec\"}");
	fam = 200;
	memcpy(raw, &fam, 2);
	expect(&b, raw, sizeof(raw), "{\"family\":200}");
	fam = 0xffff;
	memcpy(raw, &fam, 2);
	expect(&b, raw, 2, "{\"family\":65535}");
	sg_outbuf_free(&b);
}

/*
 * Every family at every length from a heap buffer of exactly that length:
 * under ASan/valgrind any read past len shows; here the output must be JSON.
 */
static void test_dst_no_overread(void **state)
{
	static const uint16_t fams[] = { AF_UNSPEC,  AF_UNIX,	AF_INET, AF_INET6,
					 AF_NETLINK, AF_PACKET, 77 };
	struct sg_outbuf b;
	size_t f, len;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 0), 0);
	for (f = 0; f < ARRAY_SIZE(fams); f++) {
		for (len = 0; len <= SG_ADDR_MAX; len++) {
			uint8_t *p = malloc(len ? len : 1);
			size_t before;

			assert_non_null(p);
			memset(p, (int)(len & 1 ? 0xff : 0x00), len);
			if (len >= 2)
				memcpy(p, &fams[f], 2);
			fmt(&b, p, len);
			before = strlen(b.data);
			assert_true(before <= SG_ADDR_JSON_MAX(len));
			free(p);
		}
	}
	sg_outbuf_free(&b);
}

static void test_parse_ip(void **state)
{
	uint8_t a[16];
	char buf[SG_INET6_STRLEN];
	int family;

	(void)state;
	assert_int_equal(sg_addr_parse_ip("10.0.0.1", &family, a), 0);
	assert_int_equal(family, AF_INET);
	sg_inet6_format(buf, a);
	assert_string_equal(buf, "::ffff:10.0.0.1");
	assert_int_equal(sg_addr_parse_ip("2001:DB8::1", &family, a), 0);
	assert_int_equal(family, AF_INET6);
	sg_inet6_format(buf, a);
	assert_string_equal(buf, "2001:db8::1");
	assert_int_equal(sg_addr_parse_ip("::ffff:1.2.3.4", &family, a), 0);
	assert_int_equal(family, AF_INET6);
	assert_int_equal(sg_addr_parse_ip("10.0.0.256", &family, a), -EINVAL);
	assert_int_equal(sg_addr_parse_ip("10.0.0", &family, a), -EINVAL);
	assert_int_equal(sg_addr_parse_ip("[::1]", &family, a), -EINVAL);
	assert_int_equal(sg_addr_parse_ip("1.2.3.4:53", &family, a), -EINVAL);
	assert_int_equal(sg_addr_parse_ip("", &family, a), -EINVAL);
	assert_int_equal(sg_addr_parse_ip(NULL, &family, a), -EINVAL);
}

static void test_sockaddr_parse_inet(void **state)
{
	uint8_t out[128];
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const char *why = NULL;
	char buf[INET6_ADDRSTRLEN];
	uint16_t len = 0;
	static const char *const bad[] = {
		"10.0.0.256",	   "10.0.0.1:65536", "10.0.0.1:x", "[::1",
		"[::1]53",	   "[10.0.0.1]:1",   "::1::2",	   "",
		"host.example:53",
	};

	(void)state;
	assert_int_equal(sg_sockaddr_parse_inet("10.0.0.1:53", out, sizeof(out), &len, &why), 0);
	assert_int_equal(len, sizeof(sin));
	memcpy(&sin, out, sizeof(sin));
	assert_int_equal(sin.sin_family, AF_INET);
	assert_int_equal(ntohs(sin.sin_port), 53);
	assert_string_equal(inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof(buf)), "10.0.0.1");
	assert_int_equal(sg_sockaddr_parse_inet("192.0.2.7", out, sizeof(out), &len, &why), 0);
	memcpy(&sin, out, sizeof(sin));
	assert_int_equal(sin.sin_port, 0);
	assert_int_equal(sg_sockaddr_parse_inet("[2001:db8::1]:443", out, sizeof(out), &len, &why),
			 0);
	assert_int_equal(len, sizeof(sin6));
	memcpy(&sin6, out, sizeof(sin6));
	assert_int_equal(sin6.sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6.sin6_port), 443);
	assert_string_equal(inet_ntop(AF_INET6, &sin6.sin6_addr, buf, sizeof(buf)), "2001:db8::1");
	/* bare and bracketed IPv6 without a port, a v4-mapped address */
	assert_int_equal(sg_sockaddr_parse_inet("::1", out, sizeof(out), &len, &why), 0);
	assert_int_equal(len, sizeof(sin6));
	assert_int_equal(sg_sockaddr_parse_inet("[::ffff:1.2.3.4]", out, sizeof(out), &len, &why),
			 0);
	memcpy(&sin6, out, sizeof(sin6));
	assert_int_equal(sin6.sin6_port, 0);
	assert_true(IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(sg_sockaddr_parse_inet(bad[i], out, sizeof(out), &len, &why),
				 -EINVAL);
		assert_non_null(why);
	}
	/* no room for a sockaddr_in6: refused, not truncated */
	assert_int_equal(sg_sockaddr_parse_inet("::1", out, sizeof(sin), &len, &why), -EINVAL);
}

static void test_sockaddr_parse_unix(void **state)
{
	uint8_t out[128];
	char path[120];
	const char *why = NULL;
	uint16_t len = 0;
	sa_family_t fam;

	(void)state;
	assert_int_equal(sg_sockaddr_parse_unix("/run/x.sock", out, sizeof(out), &len, &why), 0);
	memcpy(&fam, out, sizeof(fam));
	assert_int_equal(fam, AF_UNIX);
	assert_int_equal(len, 2 + strlen("/run/x.sock") + 1);
	assert_string_equal((const char *)out + 2, "/run/x.sock");
	assert_int_equal(sg_sockaddr_parse_unix("@name", out, sizeof(out), &len, &why), 0);
	assert_int_equal(len, 3 + 4);
	assert_int_equal(out[2], 0);
	assert_memory_equal(out + 3, "name", 4);
	assert_int_equal(sg_sockaddr_parse_unix("relative", out, sizeof(out), &len, &why), -EINVAL);
	assert_int_equal(sg_sockaddr_parse_unix("@", out, sizeof(out), &len, &why), -EINVAL);
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[108] = 0; /* 108 bytes: one more than sun_path holds with its NUL */
	assert_int_equal(sg_sockaddr_parse_unix(path, out, sizeof(out), &len, &why), -EINVAL);
	path[107] = 0;
	assert_int_equal(sg_sockaddr_parse_unix(path, out, sizeof(out), &len, &why), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inet6_format),
		cmocka_unit_test(test_inet6_patterns),
		cmocka_unit_test(test_inet_format),
		cmocka_unit_test(test_dst_inet),
		cmocka_unit_test(test_dst_inet6),
		cmocka_unit_test(test_dst_unix),
		cmocka_unit_test(test_dst_other),
		cmocka_unit_test(test_dst_no_overread),
		cmocka_unit_test(test_parse_ip),
		cmocka_unit_test(test_sockaddr_parse_inet),
		cmocka_unit_test(test_sockaddr_parse_unix),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
