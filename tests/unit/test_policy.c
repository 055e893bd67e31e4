// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Policy parser and validator (common/policy_*.c): forms, errors, limits, files. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "names.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void dump_errors(const struct sg_errlist *e)
{
	size_t i;

	for (i = 0; i < sg_errlist_count(e); i++)
		print_message("  | %s\n", sg_errlist_get(e, i));
}

static struct sg_policy *parse_ok(const char *json)
{
	struct sg_errlist errs = { 0 };
	struct sg_policy *p = NULL;
	int r = sg_policy_parse(json, strlen(json), "t.json", &p, &errs);

	if (r) {
		print_message("unexpected failure %d for: %s\n", r, json);
		dump_errors(&errs);
	}
	assert_int_equal(r, 0);
	assert_non_null(p);
	assert_int_equal(sg_errlist_count(&errs), 0);
	sg_errlist_free(&errs);
	return p;
}

/* A policy with one rule "r" (deny) whose match is the given object text. */
static struct sg_policy *parse_match(const char *match)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"name\":\"t\",\"rules\":[{\"name\":\"r\",\"action\":\"deny\",\"match\":%s}]}",
		 match);
	return parse_ok(buf);
}

/* Parses json, expects -EINVAL and exactly the lines in want (NULL-terminated), in order. */
static void expect_errors(const char *json, size_t len, const char *const *want)
{
	struct sg_errlist errs = { 0 };
	struct sg_policy *p = (void *)1;
	size_t n = 0, i;
	int r = sg_policy_parse(json, len, "t.json", &p, &errs);

	while (want[n])
		n++;
	if (r != -EINVAL || sg_errlist_count(&errs) != n) {
		print_message("for %.*s\n got %d with:\n", (int)(len > 300 ? 300 : len), json, r);
		dump_errors(&errs);
	}
	assert_int_equal(r, -EINVAL);
	assert_null(p);
	assert_int_equal(sg_errlist_count(&errs), n);
	for (i = 0; i < n; i++)
		assert_string_equal(sg_errlist_get(&errs, i), want[i]);
	sg_errlist_free(&errs);
}

/* --- valid forms ---------------------------------------------------------- */

struct dst_case {
	const char *text;
	int n;
	struct {
		int family;
		const char *addr;
		int prefix;
		int lo, hi;
	} e[2];
};

static const struct dst_case dst_cases[] = {
	{ "10.0.0.0/8", 1, { { AF_INET, "10.0.0.0", 8, 0, 65535 } } },
	{ "10.0.0.1", 1, { { AF_INET, "10.0.0.1", 32, 0, 65535 } } },
	{ "10.0.0.1:53", 1, { { AF_INET, "10.0.0.1", 32, 53, 53 } } },
	{ "10.0.0.0/8:1000-2000", 1, { { AF_INET, "10.0.0.0", 8, 1000, 2000 } } },
	{ "0.0.0.0/0", 1, { { AF_INET, "0.0.0.0", 0, 0, 65535 } } },
	{ "192.168.1.128/25:0", 1, { { AF_INET, "192.168.1.128", 25, 0, 0 } } },
	{ "::/0", 1, { { AF_INET6, "::", 0, 0, 65535 } } },
	{ "2001:db8::1", 1, { { AF_INET6, "2001:db8::1", 128, 0, 65535 } } },
	{ "2001:db8::/32", 1, { { AF_INET6, "2001:db8::", 32, 0, 65535 } } },
	{ "[2001:db8::/32]:443", 1, { { AF_INET6, "2001:db8::", 32, 443, 443 } } },
	{ "[::1]:53", 1, { { AF_INET6, "::1", 128, 53, 53 } } },
	{ "[::1]", 1, { { AF_INET6, "::1", 128, 0, 65535 } } },
	{ "[fc00::/7]:1-1024", 1, { { AF_INET6, "fc00::", 7, 1, 1024 } } },
	{ "*:53", 2, { { AF_INET, "0.0.0.0", 0, 53, 53 }, { AF_INET6, "::", 0, 53, 53 } } },
	{ "*", 2, { { AF_INET, "0.0.0.0", 0, 0, 65535 }, { AF_INET6, "::", 0, 0, 65535 } } },
	{ "*:8000-8080",
	  2,
	  { { AF_INET, "0.0.0.0", 0, 8000, 8080 }, { AF_INET6, "::", 0, 8000, 8080 } } },
	/* IPv4-mapped CIDRs become IPv4 CIDRs */
	{ "::ffff:10.0.0.0/104", 1, { { AF_INET, "10.0.0.0", 8, 0, 65535 } } },
	{ "[::ffff:10.0.0.1]:53", 1, { { AF_INET, "10.0.0.1", 32, 53, 53 } } },
	{ "::ffff:0:0/96", 1, { { AF_INET, "0.0.0.0", 0, 0, 65535 } } },
	/* shorter than /96: stays IPv6 */
	{ "::ffff:0:0/95", 1, { { AF_INET6, "::fffe:0:0", 95, 0, 65535 } } },
};

static void test_dst_forms(void **state)
{
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(dst_cases); i++) {
		const struct dst_case *c = &dst_cases[i];
		char m[256];
		struct sg_policy *p;
		struct sg_policy_rule *r;

		/* ::ffff:0:0/95 has a host bit: use its network instead */
		snprintf(m, sizeof(m), "{\"dst\":[\"%s\"]}",
			 strcmp(c->text, "::ffff:0:0/95") ? c->text : "::fffe:0:0/95");
		p = parse_match(m);
		r = &p->rules[0];
		assert_int_equal(r->keys, SG_MK_BIT(SG_MK_DST));
		assert_int_equal(r->ndst, c->n);
		assert_int_equal(p->ndst, c->n);
		for (k = 0; k < c->n; k++) {
			uint8_t want[16] = { 0 };

			assert_int_equal(inet_pton(c->e[k].family, c->e[k].addr, want), 1);
			assert_int_equal(r->dst[k].family, c->e[k].family);
			assert_int_equal(r->dst[k].prefix_len, c->e[k].prefix);
			assert_memory_equal(r->dst[k].addr, want, 16);
			assert_int_equal(r->dst[k].port_lo, c->e[k].lo);
			assert_int_equal(r->dst[k].port_hi, c->e[k].hi);
		}
		sg_policy_free(p);
	}
}

static void test_port_forms(void **state)
{
	static const struct {
		const char *json;
		int lo, hi;
	} cases[] = {
		{ "53", 53, 53 },    { "\"53\"", 53, 53 },	{ "\"1000-2000\"", 1000, 2000 },
		{ "0", 0, 0 },	     { "65535", 65535, 65535 }, { "\"0-65535\"", 0, 65535 },
		{ "\"7-7\"", 7, 7 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char m[128];
		struct sg_policy *p;

		snprintf(m, sizeof(m), "{\"port\":[%s]}", cases[i].json);
		p = parse_match(m);
		assert_int_equal(p->rules[0].keys, SG_MK_BIT(SG_MK_PORT));
		assert_int_equal(p->rules[0].nports, 1);
		assert_int_equal(p->rules[0].ports[0].lo, cases[i].lo);
		assert_int_equal(p->rules[0].ports[0].hi, cases[i].hi);
		sg_policy_free(p);
	}
}

static void test_unix_forms(void **state)
{
	static const struct {
		const char *json;
		int kind;
		const char *bytes;
		int len;
	} cases[] = {
		{ "\"/run/x.sock\"", SG_UNIX_PATH, "/run/x.sock", 11 },
		{ "\"/run/user/*\"", SG_UNIX_PATH_PREFIX, "/run/user/", 10 },
		{ "\"@name\"", SG_UNIX_ABSTRACT, "name", 4 },
		{ "\"@prefix*\"", SG_UNIX_ABSTRACT_PREFIX, "prefix", 6 },
		{ "\"@*\"", SG_UNIX_ABSTRACT_PREFIX, "", 0 },
		{ "\"@a\\u0000b\"", SG_UNIX_ABSTRACT, "a\0b", 3 },
		{ "\"/\"", SG_UNIX_PATH, "/", 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char m[128];
		struct sg_policy *p;
		const struct sg_policy_unix *u;

		snprintf(m, sizeof(m), "{\"unix\":[%s]}", cases[i].json);
		p = parse_match(m);
		assert_int_equal(p->rules[0].nunix, 1);
		u = &p->rules[0].unix_pats[0];
		assert_int_equal(u->kind, cases[i].kind);
		assert_int_equal(u->len, cases[i].len);
		assert_memory_equal(u->bytes, cases[i].bytes, (size_t)cases[i].len);
		assert_int_equal(u->bytes[u->len], 0);
		sg_policy_free(p);
	}
}

static void test_name_keys(void **state)
{
	struct sg_policy *p;
	struct sg_policy_rule *r;

	(void)state;
	p = parse_match(
		"{\"syscall\":[\"sendto\",\"sendmmsg\"],\"family\":[\"inet\",\"unix\","
		"\"inet6\"],\"type\":[\"dgram\",\"seqpacket\"],\"protocol\":[\"udp\",\"tcp\","
		"\"mptcp\",0,255],\"flags_any\":[\"MSG_OOB\",\"MSG_MORE\"],\"flags_all\":["
		"\"MSG_DONTWAIT\",\"MSG_NOSIGNAL\"],\"flags_none\":[\"MSG_ZEROCOPY\"],"
		"\"cmsg\":[\"SCM_RIGHTS\",\"IP_PKTINFO\",\"UDP_SEGMENT\"]}");
	r = &p->rules[0];
	assert_int_equal(r->keys, SG_MK_BIT(SG_MK_SYSCALL) | SG_MK_BIT(SG_MK_FAMILY) |
					  SG_MK_BIT(SG_MK_TYPE) | SG_MK_BIT(SG_MK_PROTOCOL) |
					  SG_MK_BIT(SG_MK_FLAGS_ANY) | SG_MK_BIT(SG_MK_FLAGS_ALL) |
					  SG_MK_BIT(SG_MK_FLAGS_NONE) | SG_MK_BIT(SG_MK_CMSG));
	assert_int_equal(r->syscall_mask, 1u << SG_SYSCALL_SENDTO | 1u << SG_SYSCALL_SENDMMSG);
	assert_true(r->family_mask == (1ull << AF_INET | 1ull << AF_UNIX | 1ull << AF_INET6));
	assert_int_equal(r->type_mask, 1u << SOCK_DGRAM | 1u << SOCK_SEQPACKET);
	assert_int_equal(r->nprotocols, 5);
	assert_int_equal(r->protocols[0], 17);
	assert_int_equal(r->protocols[1], 6);
	assert_int_equal(r->protocols[2], 262);
	assert_int_equal(r->protocols[3], 0);
	assert_int_equal(r->protocols[4], 255);
	assert_int_equal(r->flags_any, MSG_OOB | MSG_MORE);
	assert_int_equal(r->flags_all, MSG_DONTWAIT | MSG_NOSIGNAL);
	assert_int_equal(r->flags_none, MSG_ZEROCOPY);
	assert_int_equal(r->ncmsgs, 3);
	assert_int_equal(r->cmsgs[0].level, SOL_SOCKET);
	assert_int_equal(r->cmsgs[0].type, SCM_RIGHTS);
	assert_int_equal(r->cmsgs[1].level, IPPROTO_IP);
	assert_int_equal(r->cmsgs[1].type, 8);
	assert_int_equal(r->cmsgs[2].level, IPPROTO_UDP);
	assert_int_equal(r->cmsgs[2].type, 103);
	sg_policy_free(p);
}

static void test_process_keys(void **state)
{
	struct sg_policy *p;
	struct sg_policy_rule *r;

	(void)state;
	p = parse_match(
		"{\"len_min\":1,\"len_max\":9223372036854775807,\"comm\":[\"worker\","
		"\"0123456789abcde\"],\"exe\":[\"/usr/bin/curl\"],\"uid\":[0,1000,4294967294],"
		"\"gid\":[100],\"cgroup\":[\"/system.slice/\",\"/\",\"/a/b.service\"]}");
	r = &p->rules[0];
	assert_int_equal(r->keys, SG_MK_BIT(SG_MK_LEN_MIN) | SG_MK_BIT(SG_MK_LEN_MAX) |
					  SG_MK_BIT(SG_MK_COMM) | SG_MK_BIT(SG_MK_EXE) |
					  SG_MK_BIT(SG_MK_UID) | SG_MK_BIT(SG_MK_GID) |
					  SG_MK_BIT(SG_MK_CGROUP));
	assert_true(r->len_min == 1);
	assert_true(r->len_max == INT64_MAX);
	assert_int_equal(r->ncomms, 2);
	assert_string_equal(r->comms[0], "worker");
	assert_string_equal(r->comms[1], "0123456789abcde");
	assert_int_equal(r->nexes, 1);
	assert_string_equal(r->exes[0].path, "/usr/bin/curl");
	assert_int_equal(r->exes[0].resolved, 0);
	assert_int_equal(r->nuids, 3);
	assert_int_equal(r->uids[2], 4294967294u);
	assert_int_equal(r->ngids, 1);
	assert_int_equal(r->gids[0], 100);
	assert_int_equal(r->ncgroups, 3);
	assert_string_equal(r->cgroups[0], "/system.slice");
	assert_string_equal(r->cgroups[1], "/");
	assert_string_equal(r->cgroups[2], "/a/b.service");
	sg_policy_free(p);
}

static void test_top_level(void **state)
{
	static const struct {
		const char *json;
		const char *name;
		uint32_t def;
		uint32_t nrules;
	} cases[] = {
		{ "{}", "", SG_VERDICT_ALLOW, 0 },
		{ "{\"rules\":[]}", "", SG_VERDICT_ALLOW, 0 },
		{ " \n{\"name\":\"a.b_c-1\",\"default\":\"kill\"}\n\t", "a.b_c-1", SG_VERDICT_KILL,
		  0 },
		{ "{\"default\":\"deny\",\"rules\":[{\"name\":\"x\",\"action\":\"audit\"},"
		  "{\"name\":\"y\",\"action\":\"allow\",\"match\":{}}]}",
		  "", SG_VERDICT_DENY, 2 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sg_policy *p = parse_ok(cases[i].json);

		assert_string_equal(p->name, cases[i].name);
		assert_int_equal(p->default_action, cases[i].def);
		assert_int_equal(p->nrules, cases[i].nrules);
		assert_int_equal(p->version, 0);
		if (i == 3) {
			assert_string_equal(p->rules[0].name, "x");
			assert_int_equal(p->rules[0].action, SG_VERDICT_AUDIT);
			assert_int_equal(p->rules[0].keys, 0);
			assert_int_equal(p->rules[1].keys, 0);
		}
		sg_policy_free(p);
	}
}

/* --- errors --------------------------------------------------------------- */

#define RULE(m) "{\"rules\":[{\"name\":\"r\",\"action\":\"deny\",\"match\":" m "}]}"

struct err_case {
	const char *json;
	const char *want[6];
};

static const struct err_case err_cases[] = {
	/* whole file */
	{ "", { "t.json: not JSON: unexpected end of input at line 1, column 1" } },
	{ "{\"a\":1} x",
	  { "t.json: not JSON: trailing garbage after the JSON value at line 1, column 9" } },
	{ "{\n'a':1}", { "t.json: not JSON: expected a double-quoted key at line 2, column 1" } },
	{ "{\"rules\":NaN}",
	  { "t.json: not JSON: unexpected character 'N' at line 1, column 10" } },
	{ "{\"rules\":[1,]}",
	  { "t.json: not JSON: unexpected character ']' at line 1, column 13" } },
	{ "[]", { "t.json: expected an object at the top level" } },
	{ "\"x\"", { "t.json: expected an object at the top level" } },
	{ "{\"name\":\"\\ud800\\u0041\",\"x\":1,\"x\":2}",
	  { "t.json: duplicate key \"x\"",
	    "name: \"\xef\xbf\xbd"
	    "A\": invalid policy name (1-63 characters of A-Z a-z 0-9 . _ -)",
	    "t.json: unknown key \"x\"" } },
	{ "{\"a\\u0062\":1,\"ab\":2}",
	  { "t.json: duplicate key \"ab\"", "t.json: unknown key \"ab\"" } },
	/* top-level keys */
	{ "{\"default\":\"block\"}",
	  { "default: \"block\": unknown action (allow, deny, audit, kill)" } },
	{ "{\"default\":1}", { "default: expected a string" } },
	{ "{\"name\":\"a b\"}",
	  { "name: \"a b\": invalid policy name (1-63 characters of A-Z a-z 0-9 . _ -)" } },
	{ "{\"rules\":{}}", { "rules: expected a list" } },
	{ "{\"version\":3}", { "t.json: unknown key \"version\"" } },
	/* rules */
	{ "{\"rules\":[1]}", { "rules[0]: expected an object" } },
	{ "{\"rules\":[{}]}",
	  { "rules[0]: missing key \"name\"", "rules[0]: missing key \"action\"" } },
	{ "{\"rules\":[{\"name\":\"a\",\"action\":1}]}", { "rules[0].action: expected a string" } },
	{ "{\"rules\":[{\"name\":\"a\",\"action\":\"drop\"}]}",
	  { "rules[0].action: \"drop\": unknown action (allow, deny, audit, kill)" } },
	{ "{\"rules\":[{\"name\":\"\",\"action\":\"deny\"}]}",
	  { "rules[0].name: \"\": invalid rule name (1-63 characters of A-Z a-z 0-9 . _ -)" } },
	{ "{\"rules\":[{\"name\":\"a\",\"action\":\"deny\",\"when\":{}}]}",
	  { "rules[0]: unknown key \"when\"" } },
	{ "{\"rules\":[{\"name\":\"a\",\"action\":\"deny\"},{\"name\":\"dns\",\"action\":\"deny\"},"
	  "{\"name\":\"b\",\"action\":\"deny\"},{\"name\":\"dns\",\"action\":\"deny\"}]}",
	  { "rules[3].name: \"dns\": duplicate rule name (first at rules[1])" } },
	{ RULE("[]"), { "rules[0].match: expected an object" } },
	{ RULE("{\"dstt\":[\"1.2.3.4\"]}"), { "rules[0].match: unknown key \"dstt\"" } },
	{ RULE("{\"dst\":[\"1.2.3.4\"],\"dst\":[\"1.2.3.5\"]}"),
	  { "rules[0].match: duplicate key \"dst\"" } },
	/* lists */
	{ RULE("{\"uid\":[]}"), { "rules[0].match.uid: empty list" } },
	{ RULE("{\"uid\":0}"), { "rules[0].match.uid: expected a list" } },
	{ RULE("{\"uid\":[\"root\",-1,4294967295,1.5]}"),
	  { "rules[0].match.uid[0]: expected an integer",
	    "rules[0].match.uid[1]: -1: uid out of range 0-4294967294",
	    "rules[0].match.uid[2]: 4294967295: uid out of range 0-4294967294",
	    "rules[0].match.uid[3]: expected an integer" } },
	{ RULE("{\"gid\":[99999999999999999999]}"),
	  { "rules[0].match.gid[0]: 18446744073709551615: gid out of range 0-4294967294" } },
	/* dst */
	{ RULE("{\"dst\":[\"10.0.0.0/33\"]}"),
	  { "rules[0].match.dst[0]: \"10.0.0.0/33\": prefix length must be 0-32" } },
	{ RULE("{\"dst\":[\"::/129\",\"10.0.0.0/\",\"10.0.0.0/x\",\"10.0.0.1/8\"]}"),
	  { "rules[0].match.dst[0]: \"::/129\": prefix length must be 0-128",
	    "rules[0].match.dst[1]: \"10.0.0.0/\": invalid prefix length",
	    "rules[0].match.dst[2]: \"10.0.0.0/x\": invalid prefix length",
	    "rules[0].match.dst[3]: \"10.0.0.1/8\": address has bits set beyond the /8 prefix" } },
	{ RULE("{\"dst\":[\"10.0.0.256\",\"10.0.0.1:70000\",\"10.0.0.1:2000-1000\",\"[::1\"]}"),
	  { "rules[0].match.dst[0]: \"10.0.0.256\": invalid IPv4 address",
	    "rules[0].match.dst[1]: \"10.0.0.1:70000\": port out of range 0-65535",
	    "rules[0].match.dst[2]: \"10.0.0.1:2000-1000\": range start after end",
	    "rules[0].match.dst[3]: \"[::1\": missing ']'" } },
	{ RULE("{\"dst\":[\"[10.0.0.1]:53\",\"[::1]53\",\"fe80::1%eth0\",\"10.0.0.1:\"]}"),
	  { "rules[0].match.dst[0]: \"[10.0.0.1]:53\": expected an IPv6 address in brackets",
	    "rules[0].match.dst[1]: \"[::1]53\": expected ':' and a port after ']'",
	    "rules[0].match.dst[2]: \"fe80::1%eth0\": invalid IPv6 address",
	    "rules[0].match.dst[3]: \"10.0.0.1:\": invalid port" } },
	{ RULE("{\"dst\":[\"\",\"*:x\",\"[*]:53\",53]}"),
	  { "rules[0].match.dst[0]: \"\": invalid IPv4 address",
	    "rules[0].match.dst[1]: \"*:x\": invalid port",
	    "rules[0].match.dst[2]: \"[*]:53\": expected an IPv6 address in brackets",
	    "rules[0].match.dst[3]: expected a string" } },
	/* port */
	{ RULE("{\"port\":[70000,\"2000-1000\",\"x\",true]}"),
	  { "rules[0].match.port[0]: 70000: port out of range 0-65535",
	    "rules[0].match.port[1]: \"2000-1000\": range start after end",
	    "rules[0].match.port[2]: \"x\": invalid port",
	    "rules[0].match.port[3]: expected an integer or a string" } },
	{ RULE("{\"port\":[-1,\"-5\",\"1-\"]}"),
	  { "rules[0].match.port[0]: -1: port out of range 0-65535",
	    "rules[0].match.port[1]: \"-5\": invalid port range",
	    "rules[0].match.port[2]: \"1-\": invalid port range" } },
	/* unix */
	{ RULE("{\"unix\":[\"run/x\",\"@\",\"/a\\u0000b\"]}"),
	  { "rules[0].match.unix[0]: \"run/x\": expected an absolute path, \"@name\" or a prefix "
	    "ending in '*'",
	    "rules[0].match.unix[1]: \"@\": empty abstract name",
	    "rules[0].match.unix[2]: \"/a\\u0000b\": NUL byte in path" } },
	{ RULE("{\"unix\":[\"/x\"],\"dst\":[\"1.2.3.4\"]}"),
	  { "rules[0].match: \"unix\" never holds together with \"dst\" (unix vs inet "
	    "destination)" } },
	/* names */
	{ RULE("{\"flags_any\":[\"MSG_OOB\",\"MSG_FOO\"],\"flags_none\":[\"oob\"]}"),
	  { "rules[0].match.flags_any[1]: \"MSG_FOO\": unknown flag name",
	    "rules[0].match.flags_none[0]: \"oob\": unknown flag name" } },
	{ RULE("{\"flags_all\":[\"MSG_OOB\",\"MSG_MORE\"],\"flags_none\":[\"MSG_MORE\"]}"),
	  { "rules[0].match.flags_none: MSG_MORE: also in flags_all, the rule never holds" } },
	{ RULE("{\"syscall\":[\"send\"],\"family\":[\"inet4\"],\"type\":[\"STREAM\"],\"protocol\":["
	       "\"tcpp\"]}"),
	  { "rules[0].match.syscall[0]: \"send\": unknown syscall name (sendto, sendmsg, sendmmsg, "
	    "connect, write, writev, sendfile, splice, io_uring, other)",
	    "rules[0].match.family[0]: \"inet4\": unknown family name",
	    "rules[0].match.type[0]: \"STREAM\": unknown socket type name",
	    "rules[0].match.protocol[0]: \"tcpp\": unknown protocol name" } },
	{ RULE("{\"cmsg\":[\"SCM_RIGHT\"],\"protocol\":[65536,null]}"),
	  { "rules[0].match.cmsg[0]: \"SCM_RIGHT\": unknown control message type name",
	    "rules[0].match.protocol[0]: 65536: protocol out of range 0-65535",
	    "rules[0].match.protocol[1]: expected a string or an integer" } },
	/* numbers and strings */
	{ RULE("{\"len_min\":-1,\"len_max\":\"5\"}"),
	  { "rules[0].match.len_min: -1: length out of range 0-9223372036854775807",
	    "rules[0].match.len_max: expected an integer" } },
	{ RULE("{\"len_min\":100,\"len_max\":10}"),
	  { "rules[0].match.len_max: 10: less than len_min 100" } },
	{ RULE("{\"comm\":[\"\",\"0123456789abcdef\"]}"),
	  { "rules[0].match.comm[0]: \"\": empty comm",
	    "rules[0].match.comm[1]: \"0123456789abcdef\": comm longer than 15 bytes (the kernel "
	    "keeps 15)" } },
	{ RULE("{\"exe\":[\"curl\"],\"cgroup\":[\"system.slice\",\"/a//b\",\"/a/../b\"]}"),
	  { "rules[0].match.exe[0]: \"curl\": expected an absolute path",
	    "rules[0].match.cgroup[0]: \"system.slice\": expected an absolute path",
	    "rules[0].match.cgroup[1]: \"/a//b\": not a normalized cgroup path (empty, \".\" or "
	    "\"..\" component)",
	    "rules[0].match.cgroup[2]: \"/a/../b\": not a normalized cgroup path (empty, \".\" or "
	    "\"..\" component)" } },
};

static void test_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(err_cases); i++)
		expect_errors(err_cases[i].json, strlen(err_cases[i].json), err_cases[i].want);
}

/* Everything wrong at once: every problem listed, in document order. */
static void test_all_errors_at_once(void **state)
{
	static const char json[] =
		"{\"name\":\"x\",\"default\":\"block\",\"rules\":["
		"{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"dst\":[\"10.0.0.0/33\"]}},"
		"{\"name\":\"dns\",\"action\":\"deny\",\"match\":{\"flags_any\":[\"MSG_OOB\",\"MSG_"
		"FOO\"]}},"
		"{\"name\":\"dns\",\"action\":\"nope\",\"match\":{\"port\":[70000],\"uid\":[]}},"
		"{\"name\":\"d\",\"action\":\"deny\",\"match\":{\"dstt\":1}}]}";
	static const char *const want[] = {
		"default: \"block\": unknown action (allow, deny, audit, kill)",
		"rules[0].match.dst[0]: \"10.0.0.0/33\": prefix length must be 0-32",
		"rules[1].match.flags_any[1]: \"MSG_FOO\": unknown flag name",
		"rules[2].action: \"nope\": unknown action (allow, deny, audit, kill)",
		"rules[2].match.port[0]: 70000: port out of range 0-65535",
		"rules[2].match.uid: empty list",
		"rules[2].name: \"dns\": duplicate rule name (first at rules[1])",
		"rules[3].match: unknown key \"dstt\"",
		NULL,
	};

	(void)state;
	expect_errors(json, sizeof(json) - 1, want);
}

/* --- limits --------------------------------------------------------------- */

/* n rules named r0..r(n-1), each with match text m (may be empty). */
static char *make_rules(size_t n, const char *m)
{
	size_t cap = 64 + n * (64 + strlen(m)), len = 0, i;
	char *s = malloc(cap);

	assert_non_null(s);
	len += (size_t)sprintf(s + len, "{\"rules\":[");
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, "%s{\"name\":\"r%zu\",\"action\":\"deny\"%s%s}",
				       i ? "," : "", i, *m ? ",\"match\":" : "", m);
	sprintf(s + len, "]}");
	return s;
}

/* A match with a list key of n entries: key:["fmt" % i ...] */
static char *make_list(const char *key, size_t n, const char *fmt)
{
	size_t cap = 32 + n * 48, len = 0, i;
	char *s = malloc(cap);

	assert_non_null(s);
	len += (size_t)sprintf(s + len, "{\"%s\":[", key);
	for (i = 0; i < n; i++) {
		if (i)
			s[len++] = ',';
		len += (size_t)sprintf(s + len, fmt, (unsigned int)(i >> 8 & 255),
				       (unsigned int)(i & 255));
	}
	sprintf(s + len, "]}");
	return s;
}

static void test_limits(void **state)
{
	static const char *const over_rules[] = { "rules: 1025 rules: over the limit of 1024",
						  NULL };
	static const char *const over_dst[] = {
		"rules[1].match.dst[0]: \"*\": over the limit of 16384 dst entries in all rules",
		NULL
	};
	static const char *const over_uid[] = {
		"rules[1].match.uid: over the limit of 16384 uid entries in all rules", NULL
	};
	struct sg_policy *p;
	char *m, *s, *s2;

	(void)state;
	s = make_rules(SG_POLICY_MAX_RULES, "");
	p = parse_ok(s);
	assert_int_equal(p->nrules, SG_POLICY_MAX_RULES);
	sg_policy_free(p);
	free(s);
	s = make_rules(SG_POLICY_MAX_RULES + 1, "");
	expect_errors(s, strlen(s), over_rules);
	free(s);

	/* 16384 dst in one rule is fine; one more ("*" counts 2) is over */
	m = make_list("dst", SG_POLICY_MAX_DST, "\"10.%u.%u.0/24\"");
	s = make_rules(1, m);
	p = parse_ok(s);
	assert_int_equal(p->ndst, SG_POLICY_MAX_DST);
	sg_policy_free(p);
	free(s);
	s = make_rules(2, m);
	/* rule 1 repeats the list: the first entry crosses the limit */
	s2 = strstr(s + 20, "{\"dst\":[\"10.0.0.0/24\"");
	s2 = strstr(s2 + 1, "{\"dst\":[\"10.0.0.0/24\"");
	assert_non_null(s2);
	memcpy(s2 + 8, "\"*\"          ", 13);
	expect_errors(s, strlen(s), over_dst);
	free(s);
	free(m);

	m = make_list("uid", SG_POLICY_MAX_LIST / 2 + 1, "1%u%03u");
	s = make_rules(2, m);
	expect_errors(s, strlen(s), over_uid);
	free(s);
	free(m);
}

static void test_name_limits(void **state)
{
	char name63[64], buf[256];
	struct sg_policy *p;
	static const char *const want[] = {
		"rules[0].name: "
		"\"012345678901234567890123456789012345678901234567890123456789012x\": "
		"invalid rule name (1-63 characters of A-Z a-z 0-9 . _ -)",
		NULL
	};

	(void)state;
	memset(name63, 0, sizeof(name63));
	for (int i = 0; i < 63; i++)
		name63[i] = (char)('0' + i % 10);
	snprintf(buf, sizeof(buf),
		 "{\"name\":\"%s\",\"rules\":[{\"name\":\"%s\",\"action\":\"deny\"}]}", name63,
		 name63);
	p = parse_ok(buf);
	assert_string_equal(p->name, name63);
	assert_string_equal(p->rules[0].name, name63);
	sg_policy_free(p);
	snprintf(buf, sizeof(buf), "{\"rules\":[{\"name\":\"%sx\",\"action\":\"deny\"}]}", name63);
	expect_errors(buf, strlen(buf), want);
}

static void test_file_size_and_depth(void **state)
{
	struct sg_errlist errs = { 0 };
	struct sg_policy *p = NULL;
	size_t n = SG_POLICY_FILE_MAX + 1, i;
	char *big = malloc(n);
	static const char *const deep_want[] = {
		"t.json: not JSON: nesting too deep at line 1, column 17", NULL
	};
	static const char *const not_object[] = { "t.json: expected an object at the top level",
						  NULL };
	char deep[64];

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	assert_int_equal(sg_policy_parse(big, n, "big.json", &p, &errs), -EFBIG);
	assert_null(p);
	assert_string_equal(sg_errlist_get(&errs, 0),
			    "big.json: too large: over the limit of 1048576 bytes");
	sg_errlist_free(&errs);
	/* exactly the limit is fine */
	assert_int_equal(sg_policy_parse(big, n - 1 - 1, "big.json", &p, &errs), -EINVAL);
	sg_errlist_free(&errs);
	big[n - 2] = '}';
	assert_int_equal(sg_policy_parse(big, n - 1, "big.json", &p, &errs), 0);
	sg_policy_free(p);
	free(big);

	for (i = 0; i < 26; i++)
		deep[i] = '[';
	deep[i] = 0;
	expect_errors(deep, strlen(deep), deep_want);
	/* SG_POLICY_JSON_DEPTH levels are fine (and then not an object) */
	memset(deep, 0, sizeof(deep));
	for (i = 0; i < SG_POLICY_JSON_DEPTH; i++) {
		deep[i] = '[';
		deep[SG_POLICY_JSON_DEPTH + i] = ']';
	}
	expect_errors(deep, strlen(deep), not_object);
}

/* --- files ---------------------------------------------------------------- */

static const char *srcdir(void)
{
	const char *d = getenv("SG_SRCDIR");

	return d ? d : ".";
}

static void test_policy_files(void **state)
{
	static const struct {
		const char *file;
		const char *name;
		uint32_t def;
	} files[] = {
		{ "observe.json", "observe", SG_VERDICT_ALLOW },
		{ "dns-only-client.json", "dns-only-client", SG_VERDICT_DENY },
		{ "no-fd-passing.json", "no-fd-passing", SG_VERDICT_ALLOW },
		{ "no-oob.json", "no-oob", SG_VERDICT_ALLOW },
		{ "private-egress-only.json", "private-egress-only", SG_VERDICT_DENY },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		struct sg_errlist errs = { 0 };
		struct sg_policy *p = NULL;
		char path[512];
		int r;

		snprintf(path, sizeof(path), "%s/policies/%s", srcdir(), files[i].file);
		r = sg_policy_load(path, &p, &errs);
		if (r) {
			print_message("%s: %d\n", path, r);
			dump_errors(&errs);
		}
		assert_int_equal(r, 0);
		assert_string_equal(p->name, files[i].name);
		assert_int_equal(p->default_action, files[i].def);
		sg_policy_free(p);
		sg_errlist_free(&errs);
	}
}

static void test_load_errors(void **state)
{
	struct sg_errlist errs = { 0 };
	struct sg_policy *p = (void *)1;

	(void)state;
	assert_int_equal(sg_policy_load("/nonexistent/x.json", &p, &errs), -ENOENT);
	assert_null(p);
	assert_int_equal(sg_errlist_count(&errs), 1);
	assert_string_equal(sg_errlist_get(&errs, 0),
			    "/nonexistent/x.json: cannot open: No such file or directory");
	sg_errlist_free(&errs);
	assert_int_equal(sg_policy_load("/", &p, &errs), -EISDIR);
	assert_string_equal(sg_errlist_get(&errs, 0), "/: cannot read: Is a directory");
	sg_errlist_free(&errs);
	/* errs may be NULL */
	assert_int_equal(sg_policy_load("/nonexistent/x.json", &p, NULL), -ENOENT);
	assert_int_equal(sg_policy_parse("{\"default\":1}", 13, NULL, &p, NULL), -EINVAL);
}

static void test_resolve(void **state)
{
	struct sg_errlist errs = { 0 };
	struct sg_policy *p;
	struct stat st;

	(void)state;
	p = parse_match("{\"exe\":[\"/proc/self/exe\",\"/nonexistent/bin\"]}");
	assert_int_equal(sg_policy_resolve(p, &errs), -ENOENT);
	assert_int_equal(stat("/proc/self/exe", &st), 0);
	assert_int_equal(p->rules[0].exes[0].resolved, 1);
	assert_true(p->rules[0].exes[0].ino == st.st_ino);
	assert_true(p->rules[0].exes[0].dev ==
		    ((uint64_t)major(st.st_dev) << 20 | minor(st.st_dev)));
	assert_int_equal(p->rules[0].exes[1].resolved, -ENOENT);
	assert_int_equal(sg_errlist_count(&errs), 1);
	assert_string_equal(sg_errlist_get(&errs, 0),
			    "rules[0].match.exe[1]: \"/nonexistent/bin\": cannot stat: No such "
			    "file or directory");
	sg_errlist_free(&errs);
	sg_policy_free(p);
}

static void test_errlist(void **state)
{
	struct sg_errlist l = { 0 };
	int i;

	(void)state;
	assert_int_equal(sg_errlist_count(&l), 0);
	assert_null(sg_errlist_get(&l, 0));
	for (i = 0; i < SG_ERRLIST_MAX + 5; i++)
		assert_int_equal(sg_errlist_add(&l, "e%d", i), 0);
	assert_int_equal(sg_errlist_count(&l), SG_ERRLIST_MAX);
	assert_int_equal(l.dropped, 5);
	assert_string_equal(sg_errlist_get(&l, 7), "e7");
	sg_errlist_free(&l);
	assert_int_equal(sg_errlist_count(&l), 0);
	sg_errlist_free(NULL);
	sg_errlist_free(&l);
	assert_string_equal(sg_match_key_name(SG_MK_FLAGS_NONE), "flags_none");
	assert_null(sg_match_key_name(SG_MK_COUNT));
}

/* Inputs that once were, or could be, trouble: refused, never a crash. */
static void test_garbage(void **state)
{
	static const char *const inputs[] = {
		"\"",
		"{",
		"{\"",
		"{\"a\"",
		"{\"a\":",
		"[",
		"-",
		"1e",
		"{\"rules\":[{\"match\":{\"dst\":[",
		"{\"\\u",
		"{\"\\ud800\":1}",
		"\xff",
		"{\"a\":\"\\x\"}",
		"nul",
		"{}}",
		"{\"rules\":[null]}",
		"{\"rules\":[{\"name\":\"r\",\"action\":\"deny\",\"match\":{\"unix\":[\"@"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]}}]}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(inputs); i++) {
		struct sg_errlist errs = { 0 };
		struct sg_policy *p = NULL;

		assert_int_equal(sg_policy_parse(inputs[i], strlen(inputs[i]), NULL, &p, &errs),
				 -EINVAL);
		assert_null(p);
		assert_true(sg_errlist_count(&errs) >= 1);
		sg_errlist_free(&errs);
	}
	/* embedded NUL */
	{
		struct sg_errlist errs = { 0 };
		struct sg_policy *p = NULL;

		assert_int_equal(sg_policy_parse("{}\0{}", 5, NULL, &p, &errs), -EINVAL);
		assert_string_equal(sg_errlist_get(&errs, 0),
				    "<policy>: not JSON: NUL byte at line 1, column 3");
		sg_errlist_free(&errs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dst_forms),
		cmocka_unit_test(test_port_forms),
		cmocka_unit_test(test_unix_forms),
		cmocka_unit_test(test_name_keys),
		cmocka_unit_test(test_process_keys),
		cmocka_unit_test(test_top_level),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_all_errors_at_once),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_name_limits),
		cmocka_unit_test(test_file_size_and_depth),
		cmocka_unit_test(test_policy_files),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_errlist),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests_name("policy parser", tests, NULL, NULL);
}
