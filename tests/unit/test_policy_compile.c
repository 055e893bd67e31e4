// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for common/policy_compile.c and policy_twin.c: the compiled
 * form (the entries of the BPF maps) judged by its user-space twin must agree
 * with the reference evaluator, per dimension (table-driven, policies in
 * JSON) and on many random policies and sends (differential). Also: limits,
 * and a 1,000-rule / 10,000-CIDR policy like the benchmark's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "policy.h"
#include "policy_compile.h"
#include "policy_eval.h"
#include "policy_twin.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* --- a fake cgroup tree ---------------------------------------------------------- */

static const struct {
	const char *path;
	uint64_t id;
} cgroups[] = {
	{ "/", 1 },  { "/a", 2 },   { "/a/b", 3 }, { "/a/b/c", 4 },
	{ "/c", 5 }, { "/c/d", 6 }, { "/ab", 7 },  { "/system.slice", 8 },
};

static int fake_resolve(const char *path, uint64_t *id, void *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < ARRAY_SIZE(cgroups); i++) {
		if (!strcmp(cgroups[i].path, path)) {
			*id = cgroups[i].id;
			return 0;
		}
	}
	return -ENOENT;
}

/* The ancestor ids of path, root first (what the BPF side walks). */
static uint32_t ancestors(const char *path, uint64_t *ids)
{
	char buf[64];
	uint32_t n = 0;
	size_t i, len;

	if (!path)
		return 0;
	len = strlen(path);
	for (i = 1; i <= len; i++) {
		uint64_t id;

		if (i != 1 && i != len && path[i] != '/')
			continue;
		if (i == 1) {
			strcpy(buf, "/");
		} else {
			memcpy(buf, path, i == len ? len : i);
			buf[i == len ? len : i] = 0;
		}
		if (fake_resolve(buf, &id, NULL) == 0)
			ids[n++] = id;
		else
			return 0; /* not in the fake tree: unknown */
	}
	return n;
}

/* --- sends ------------------------------------------------------------------------ */

static void ev_base(struct sg_event *e)
{
	memset(e, 0, sizeof(*e));
	e->syscall = SG_SYSCALL_SENDTO;
	e->flags = SG_EF_SOCK;
	e->sock_family = AF_INET;
	e->sock_type = SOCK_DGRAM;
	e->sock_protocol = 17;
	e->len = 100;
	strcpy((char *)e->comm, "test");
	e->uid = 1000;
	e->gid = 1000;
}

static void ev_in4(struct sg_event *e, const char *a, uint16_t port)
{
	e->addr_len = 16;
	memset(e->addr, 0, sizeof(e->addr));
	e->addr[0] = AF_INET;
	e->addr[2] = port >> 8;
	e->addr[3] = port & 0xff;
	assert_int_equal(inet_pton(AF_INET, a, &e->addr[4]), 1);
}

static void ev_in6(struct sg_event *e, const char *a, uint16_t port)
{
	e->addr_len = 28;
	memset(e->addr, 0, sizeof(e->addr));
	e->addr[0] = AF_INET6;
	e->addr[2] = port >> 8;
	e->addr[3] = port & 0xff;
	assert_int_equal(inet_pton(AF_INET6, a, &e->addr[8]), 1);
}

/* path: sun_path bytes (n of them; abstract names start with '\0'). */
static void ev_un(struct sg_event *e, const char *path, size_t n)
{
	memset(e->addr, 0, sizeof(e->addr));
	e->addr[0] = AF_UNIX;
	memcpy(&e->addr[2], path, n);
	e->addr_len = (uint16_t)(2 + n);
}

/* --- judging ---------------------------------------------------------------------- */

static struct sg_policy *parse(const char *json)
{
	struct sg_errlist errs = { 0 };
	struct sg_policy *p = NULL;
	int r = sg_policy_parse(json, strlen(json), "test", &p, &errs);

	if (r) {
		for (size_t i = 0; i < sg_errlist_count(&errs); i++)
			fprintf(stderr, "%s\n", sg_errlist_get(&errs, i));
	}
	assert_int_equal(r, 0);
	sg_errlist_free(&errs);
	return p;
}

static struct sg_compiled *compile(const struct sg_policy *p, uint8_t slot)
{
	struct sg_errlist errs = { 0 };
	struct sg_compiled *c = NULL;
	int r = sg_policy_compile(p, slot, fake_resolve, NULL, &c, &errs);

	if (r) {
		for (size_t i = 0; i < sg_errlist_count(&errs); i++)
			fprintf(stderr, "%s\n", sg_errlist_get(&errs, i));
	}
	assert_int_equal(r, 0);
	assert_non_null(c);
	sg_errlist_free(&errs);
	return c;
}

/* Both evaluators on one send; returns the rule (-1: default), asserting they agree. */
static int judge(const struct sg_policy *p, const struct sg_compiled *c, const struct sg_event *e,
		 const char *cgroup)
{
	struct sg_send_desc d;
	uint64_t ids[SG_MAX_CGROUP_DEPTH];
	uint32_t nids = ancestors(cgroup, ids), vref;
	uint16_t rule;
	uint8_t verdict;
	int ref;

	sg_send_desc_from_event(&d, e, nids ? cgroup : NULL);
	ref = sg_policy_eval(p, &d, &vref);
	assert_int_equal(sg_compiled_eval(c, e, ids, nids, &rule, &verdict), 0);
	if ((ref < 0 ? SG_NO_RULE : ref) != rule || vref != verdict) {
		fprintf(stderr, "reference: rule %d verdict %u; compiled: rule %d verdict %u\n",
			ref, vref, rule == SG_NO_RULE ? -1 : rule, verdict);
		fail();
	}
	return ref;
}

/* --- table-driven cases per dimension --------------------------------------------- */

struct send_case {
	void (*set)(struct sg_event *e);
	const char *cgroup;
	int want; /* rule index, -1: default */
};

struct dim_case {
	const char *name;
	const char *policy;
	const struct send_case *sends;
	size_t nsends;
};

#define SENDS(...)                                          \
	.sends = (const struct send_case[]){ __VA_ARGS__ }, \
	.nsends = sizeof((const struct send_case[]){ __VA_ARGS__ }) / sizeof(struct send_case)

/* send setters */
static void s_plain(struct sg_event *e)
{
	(void)e;
}
static void s_sendmsg(struct sg_event *e)
{
	e->syscall = SG_SYSCALL_SENDMSG;
}
static void s_nosock(struct sg_event *e)
{
	e->flags &= ~SG_EF_SOCK;
}
static void s_tcp6(struct sg_event *e)
{
	e->sock_family = AF_INET6;
	e->sock_type = SOCK_STREAM;
	e->sock_protocol = 6;
}
static void s_packet(struct sg_event *e)
{
	e->sock_family = AF_PACKET;
	e->sock_type = SOCK_RAW;
	e->sock_protocol = 0x0300; /* htons(ETH_P_ALL) */
}
static void s_10_1_2_3_53(struct sg_event *e)
{
	ev_in4(e, "10.1.2.3", 53);
}
static void s_10_1_2_3_80(struct sg_event *e)
{
	ev_in4(e, "10.1.2.3", 80);
}
static void s_10_1_9_9_53(struct sg_event *e)
{
	ev_in4(e, "10.1.9.9", 53);
}
static void s_10_1_2_200_1500(struct sg_event *e)
{
	ev_in4(e, "10.1.2.200", 1500);
}
static void s_11_0_0_1_53(struct sg_event *e)
{
	ev_in4(e, "11.0.0.1", 53);
}
static void s_mapped_10_1_2_3_53(struct sg_event *e)
{
	ev_in6(e, "::ffff:10.1.2.3", 53);
}
static void s_6_db8_443(struct sg_event *e)
{
	ev_in6(e, "2001:db8::1", 443);
}
static void s_6_db8_80(struct sg_event *e)
{
	ev_in6(e, "2001:db8::1", 80);
}
static void s_6_other_443(struct sg_event *e)
{
	ev_in6(e, "2001:db9::1", 443);
}
static void s_un_docker(struct sg_event *e)
{
	ev_un(e, "/run/docker.sock", 16);
}
static void s_un_docker_nul(struct sg_event *e)
{
	ev_un(e, "/run/docker.sock\0junk", 21);
}
static void s_un_docker_longer(struct sg_event *e)
{
	ev_un(e, "/run/docker.sock2", 17);
}
static void s_un_user(struct sg_event *e)
{
	ev_un(e, "/run/user/1000/bus", 18);
}
static void s_un_run(struct sg_event *e)
{
	ev_un(e, "/run/x", 6);
}
static void s_un_unnamed(struct sg_event *e)
{
	ev_un(e, "", 0);
}
static void s_un_abs_foo(struct sg_event *e)
{
	ev_un(e, "\0foo", 4);
}
static void s_un_abs_foobar(struct sg_event *e)
{
	ev_un(e, "\0foobar", 7);
}
static void s_un_abs_fo(struct sg_event *e)
{
	ev_un(e, "\0fo", 3);
}
static void s_un_abs_nul(struct sg_event *e)
{
	ev_un(e, "\0a\0b", 4);
}
static void s_un_path_foo(struct sg_event *e)
{
	ev_un(e, "foo", 3);
}
static void s_flags_oob(struct sg_event *e)
{
	e->msg_flags = 0x1;
}
static void s_flags_oob_more(struct sg_event *e)
{
	e->msg_flags = 0x1 | 0x8000;
}
static void s_flags_nosig(struct sg_event *e)
{
	e->msg_flags = 0x4000;
}
static void s_cmsg_rights(struct sg_event *e)
{
	e->flags |= SG_EF_CONTROL;
	e->ncmsgs = 2;
	e->cmsgs[0] = (struct sg_cmsg){ .level = 0, .type = 1 };
	e->cmsgs[1] = (struct sg_cmsg){ .level = 1, .type = 1 };
}
static void s_cmsg_rights_noctl(struct sg_event *e)
{
	s_cmsg_rights(e);
	e->flags &= ~SG_EF_CONTROL;
}
static void s_cmsg_creds(struct sg_event *e)
{
	e->flags |= SG_EF_CONTROL;
	e->ncmsgs = 1;
	e->cmsgs[0] = (struct sg_cmsg){ .level = 1, .type = 2 };
}
static void s_len_5(struct sg_event *e)
{
	e->len = 5;
}
static void s_len_5000(struct sg_event *e)
{
	e->len = 5000;
}
static void s_comm_curl(struct sg_event *e)
{
	memset(e->comm, 0, sizeof(e->comm));
	strcpy((char *)e->comm, "curl");
}
static void s_comm_curl_junk(struct sg_event *e)
{
	memcpy(e->comm, "curl\0junkjunkjun", 16);
}
static void s_comm_long(struct sg_event *e)
{
	memcpy(e->comm, "abcdefghijklmnop", 16); /* not NUL-terminated */
}
static void s_uid0(struct sg_event *e)
{
	e->uid = 0;
}
static void s_gid5(struct sg_event *e)
{
	e->gid = 5;
}

static const struct dim_case dim_cases[] = {
	{ "empty match", "{\"rules\":[{\"name\":\"r\",\"action\":\"deny\",\"match\":{}}]}",
	  SENDS({ s_plain, NULL, 0 }, { s_nosock, NULL, 0 }) },
	{ "default",
	  "{\"default\":\"audit\",\"rules\":[{\"name\":\"r\",\"action\":\"deny\","
	  "\"match\":{\"uid\":[7]}}]}",
	  SENDS({ s_plain, NULL, -1 }) },
	{ "syscall",
	  "{\"rules\":[{\"name\":\"r\",\"action\":\"deny\",\"match\":{\"syscall\":[\"sendmsg\"]}}]"
	  "}",
	  SENDS({ s_plain, NULL, -1 }, { s_sendmsg, NULL, 0 }) },
	{ "family/type/protocol",
	  "{\"rules\":["
	  "{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"family\":[\"inet6\"],\"type\":["
	  "\"stream\"]}},"
	  "{\"name\":\"b\",\"action\":\"audit\",\"match\":{\"protocol\":[\"udp\"]}},"
	  "{\"name\":\"c\",\"action\":\"kill\",\"match\":{\"protocol\":[768]}}]}",
	  SENDS({ s_plain, NULL, 1 }, { s_tcp6, NULL, 0 }, { s_nosock, NULL, -1 },
		{ s_packet, NULL, 2 }) },
	{ "dst with ports, nested prefixes",
	  "{\"rules\":["
	  "{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"dst\":[\"10.1.2.0/24:53\"]}},"
	  "{\"name\":\"b\",\"action\":\"audit\",\"match\":{\"dst\":[\"10.0.0.0/8\"]}},"
	  "{\"name\":\"c\",\"action\":\"kill\",\"match\":{\"dst\":[\"10.1.2.128/25:1000-2000\","
	  "\"[2001:db8::/32]:443\"]}}]}",
	  SENDS({ s_10_1_2_3_53, NULL, 0 }, { s_10_1_2_3_80, NULL, 1 }, { s_10_1_9_9_53, NULL, 1 },
		{ s_10_1_2_200_1500, NULL, 1 }, { s_11_0_0_1_53, NULL, -1 },
		{ s_mapped_10_1_2_3_53, NULL, 0 }, { s_6_db8_443, NULL, 2 },
		{ s_6_db8_80, NULL, -1 }, { s_6_other_443, NULL, -1 }, { s_un_docker, NULL, -1 },
		{ s_plain, NULL, -1 }) },
	{ "dst: shorter prefix of a later rule",
	  "{\"rules\":["
	  "{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"dst\":[\"10.1.2.3/32:80\"]}},"
	  "{\"name\":\"b\",\"action\":\"audit\",\"match\":{\"dst\":[\"10.1.0.0/16:53\", "
	  "\"*:53\"]}}]}",
	  SENDS({ s_10_1_2_3_53, NULL, 1 }, { s_10_1_2_3_80, NULL, 0 }, { s_11_0_0_1_53, NULL, 1 },
		{ s_6_db8_443, NULL, -1 }) },
	{ "port",
	  "{\"rules\":[{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"port\":[53,\"1000-2000\"]}}"
	  "]}",
	  SENDS({ s_10_1_2_3_53, NULL, 0 }, { s_10_1_2_3_80, NULL, -1 },
		{ s_10_1_2_200_1500, NULL, 0 }, { s_mapped_10_1_2_3_53, NULL, 0 },
		{ s_un_docker, NULL, -1 }, { s_plain, NULL, -1 }) },
	{ "unix paths",
	  "{\"rules\":["
	  "{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"unix\":[\"/run/docker.sock\"]}},"
	  "{\"name\":\"b\",\"action\":\"audit\",\"match\":{\"unix\":[\"/run/*\"]}},"
	  "{\"name\":\"c\",\"action\":\"kill\",\"match\":{\"unix\":[\"/run/user/*\"]}}]}",
	  SENDS({ s_un_docker, NULL, 0 }, { s_un_docker_nul, NULL, 0 },
		{ s_un_docker_longer, NULL, 1 }, { s_un_user, NULL, 1 }, { s_un_run, NULL, 1 },
		{ s_un_unnamed, NULL, -1 }, { s_un_abs_foo, NULL, -1 }, { s_plain, NULL, -1 }) },
	{ "unix prefix before exact",
	  "{\"rules\":["
	  "{\"name\":\"c\",\"action\":\"kill\",\"match\":{\"unix\":[\"/run/user/*\"]}},"
	  "{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"unix\":[\"/run/user/1000/bus\"]}}]}",
	  SENDS({ s_un_user, NULL, 0 }, { s_un_run, NULL, -1 }) },
	{ "unix abstract",
	  "{\"rules\":["
	  "{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"unix\":[\"@foobar\"]}},"
	  "{\"name\":\"b\",\"action\":\"audit\",\"match\":{\"unix\":[\"@foo*\"]}},"
	  "{\"name\":\"c\",\"action\":\"kill\",\"match\":{\"unix\":[\"@a\\u0000b\", \"@*\"]}}]}",
	  SENDS({ s_un_abs_foobar, NULL, 0 }, { s_un_abs_foo, NULL, 1 }, { s_un_abs_fo, NULL, 2 },
		{ s_un_abs_nul, NULL, 2 }, { s_un_path_foo, NULL, -1 },
		{ s_un_unnamed, NULL, -1 }) },
	{ "flags",
	  "{\"rules\":["
	  "{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"flags_all\":[\"MSG_OOB\",\"MSG_MORE\"]}"
	  "},"
	  "{\"name\":\"b\",\"action\":\"audit\",\"match\":{\"flags_any\":[\"MSG_OOB\"],"
	  "\"flags_none\":[\"MSG_MORE\"]}},"
	  "{\"name\":\"c\",\"action\":\"kill\",\"match\":{\"flags_none\":[\"MSG_OOB\"]}}]}",
	  SENDS({ s_flags_oob_more, NULL, 0 }, { s_flags_oob, NULL, 1 }, { s_plain, NULL, 2 },
		{ s_flags_nosig, NULL, 2 }) },
	{ "cmsg",
	  "{\"rules\":[{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"cmsg\":[\"SCM_RIGHTS\"]}}]"
	  "}",
	  SENDS({ s_cmsg_rights, NULL, 0 }, { s_cmsg_rights_noctl, NULL, -1 },
		{ s_cmsg_creds, NULL, -1 }, { s_plain, NULL, -1 }) },
	{ "len",
	  "{\"rules\":["
	  "{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"len_min\":1000}},"
	  "{\"name\":\"b\",\"action\":\"audit\",\"match\":{\"len_max\":10}},"
	  "{\"name\":\"c\",\"action\":\"kill\",\"match\":{\"len_min\":50,\"len_max\":50000}}]}",
	  SENDS({ s_len_5000, NULL, 0 }, { s_len_5, NULL, 1 }, { s_plain, NULL, 2 }) },
	{ "comm",
	  "{\"rules\":[{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"comm\":[\"curl\","
	  "\"abcdefghijklmno\"]}}]}",
	  SENDS({ s_comm_curl, NULL, 0 }, { s_comm_curl_junk, NULL, 0 }, { s_comm_long, NULL, 0 },
		{ s_plain, NULL, -1 }) },
	{ "uid/gid",
	  "{\"rules\":["
	  "{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"uid\":[0]}},"
	  "{\"name\":\"b\",\"action\":\"audit\",\"match\":{\"gid\":[5,6]}}]}",
	  SENDS({ s_uid0, NULL, 0 }, { s_gid5, NULL, 1 }, { s_plain, NULL, -1 }) },
	{ "cgroup",
	  "{\"rules\":["
	  "{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"cgroup\":[\"/a/b\"]}},"
	  "{\"name\":\"b\",\"action\":\"audit\",\"match\":{\"cgroup\":[\"/a\", \"/nope\"]}},"
	  "{\"name\":\"c\",\"action\":\"kill\",\"match\":{\"cgroup\":[\"/\"]}}]}",
	  SENDS({ s_plain, "/a/b/c", 0 }, { s_plain, "/a/b", 0 }, { s_plain, "/a", 1 },
		{ s_plain, "/ab", 2 }, { s_plain, "/", 2 }, { s_plain, NULL, -1 }) },
};

static void test_dimensions(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(dim_cases); i++) {
		const struct dim_case *dc = &dim_cases[i];
		struct sg_policy *p = parse(dc->policy);

		for (uint8_t slot = 0; slot < 2; slot++) {
			struct sg_compiled *c = compile(p, slot);

			for (size_t j = 0; j < dc->nsends; j++) {
				struct sg_event e;
				int got;

				ev_base(&e);
				dc->sends[j].set(&e);
				got = judge(p, c, &e, dc->sends[j].cgroup);
				if (got != dc->sends[j].want) {
					fprintf(stderr, "%s: send %zu: rule %d, want %d\n",
						dc->name, j, got, dc->sends[j].want);
					fail();
				}
			}
			sg_compiled_free(c);
		}
		sg_policy_free(p);
	}
}

/* exe entries: resolved ones by (dev, ino); unresolved ones never. */
/*
 * The IPv4 /16 index: /16s without longer prefixes answer from a leaf (with
 * the words where its bits are), /16s holding one go to the trie, others miss.
 */
static void test_v4_index(void **state)
{
	struct sg_policy *p = parse(
		"{\"rules\":["
		"{\"name\":\"net24\",\"action\":\"kill\",\"match\":{\"dst\":[\"10.1.2.0/24\"]}},"
		"{\"name\":\"net16\",\"action\":\"deny\",\"match\":{\"dst\":[\"10.1.0.0/16\"]}},"
		"{\"name\":\"net8\",\"action\":\"audit\",\"match\":{\"dst\":[\"10.0.0.0/8\"]}},"
		"{\"name\":\"dns\",\"action\":\"allow\",\"match\":{\"dst\":[\"*:53\"]}}]}");
	struct sg_compiled *c = compile(p, 1);
	const struct sg_v4l1_chunk *ch;
	struct sg_event e;
	uint32_t key = 1 * 256 + 10, v;

	(void)state;
	assert_true(c->cfg.dst_lookups & SG_DSTL_V4_L1);
	ch = sg_compiled_lookup(c, SG_PMAP_V4L1, &key);
	assert_non_null(ch);
	assert_int_equal(ch->v[1], SG_V4L1_LPM); /* 10.1/16 holds 10.1.2.0/24 */
	v = ch->v[2]; /* 10.2/16: only 10/8 covers it */
	assert_true(SG_V4L1_ID(v) >= SG_V4L1_LEAF0);
	assert_int_equal(SG_V4L1_LO(v), 0);
	assert_int_equal(SG_V4L1_HI(v), 1);
	key = 1 * 256 + 11;
	ch = sg_compiled_lookup(c, SG_PMAP_V4L1, &key);
	assert_non_null(ch);
	assert_int_equal(ch->v[0], SG_V4L1_MISS);
	ev_base(&e);
	ev_in4(&e, "10.1.2.3", 80);
	assert_int_equal(judge(p, c, &e, NULL), 0);
	ev_in4(&e, "10.1.9.9", 80);
	assert_int_equal(judge(p, c, &e, NULL), 1);
	ev_in4(&e, "10.2.0.1", 80);
	assert_int_equal(judge(p, c, &e, NULL), 2);
	ev_in4(&e, "11.0.0.1", 53);
	assert_int_equal(judge(p, c, &e, NULL), 3);
	ev_in4(&e, "11.0.0.1", 80);
	assert_int_equal(judge(p, c, &e, NULL), -1);
	sg_compiled_free(c);
	sg_policy_free(p);
}

static void test_exe(void **state)
{
	struct sg_policy *p = parse("{\"rules\":[{\"name\":\"a\",\"action\":\"deny\","
				    "\"match\":{\"exe\":[\"/bin/x\",\"/bin/y\"]}}]}");
	struct sg_compiled *c;
	struct sg_event e;

	(void)state;
	p->rules[0].exes[0].dev = 8 << 20 | 1;
	p->rules[0].exes[0].ino = 1234;
	p->rules[0].exes[0].resolved = 1;
	p->rules[0].exes[1].resolved = -ENOENT;
	c = compile(p, 1);
	ev_base(&e);
	e.flags |= SG_EF_EXE;
	e.exe_dev = 8 << 20 | 1;
	e.exe_ino = 1234;
	assert_int_equal(judge(p, c, &e, NULL), 0);
	e.exe_ino = 1235;
	assert_int_equal(judge(p, c, &e, NULL), -1);
	e.exe_ino = 0; /* the unresolved entry has dev/ino 0 */
	e.exe_dev = 0;
	assert_int_equal(judge(p, c, &e, NULL), -1);
	e.exe_dev = 8 << 20 | 1;
	e.exe_ino = 1234;
	e.flags &= ~SG_EF_EXE;
	assert_int_equal(judge(p, c, &e, NULL), -1);
	sg_compiled_free(c);
	sg_policy_free(p);
}

/* --- differential: random policies x random sends ---------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? (uint32_t)(rng_state % n) : 0;
}

#define PICK(a) ((a)[rnd(ARRAY_SIZE(a))])

static const char *const v4_pool[] = { "10.1.2.3",    "10.1.2.200", "10.1.3.4",
				       "192.168.1.1", "0.0.0.0",    "10.255.0.1" };
static const char *const v6_pool[] = { "2001:db8::1", "2001:db8:0:1::5", "fd00::1",
				       "::1",	      "2001:db9::1",	 "::" };
static const uint8_t v4_plens[] = { 0, 8, 16, 23, 24, 25, 30, 32 };
static const uint8_t v6_plens[] = { 0, 16, 32, 33, 48, 64, 127, 128 };
static const struct sg_policy_port port_pool[] = {
	{ 0, 65535 }, { 53, 53 },      { 80, 80 }, { 1000, 2000 },  { 443, 443 },
	{ 0, 1023 },  { 1500, 65535 }, { 0, 0 },   { 65535, 65535 }
};
static const uint16_t send_ports[] = { 0,    53,   80,	 443,  999,  1000,
				       1023, 1024, 1500, 2000, 2001, 65535 };
static const struct {
	uint8_t kind;
	const char *s;
	uint8_t len;
} unix_pool[] = {
	{ SG_UNIX_PATH, "/run/a.sock", 11 },  { SG_UNIX_PATH_PREFIX, "/run/", 5 },
	{ SG_UNIX_PATH_PREFIX, "/run/a", 6 }, { SG_UNIX_PATH, "/tmp/x", 6 },
	{ SG_UNIX_PATH, "/run/a", 6 },	      { SG_UNIX_ABSTRACT, "foo", 3 },
	{ SG_UNIX_ABSTRACT_PREFIX, "fo", 2 }, { SG_UNIX_ABSTRACT, "foo\0bar", 7 },
	{ SG_UNIX_ABSTRACT_PREFIX, "", 0 },   { SG_UNIX_ABSTRACT_PREFIX, "foo\0", 4 },
	{ SG_UNIX_ABSTRACT, "", 0 },	      { SG_UNIX_ABSTRACT_PREFIX, "foo", 3 },
};
static const struct {
	const char *s;
	uint8_t len;
} sun_pool[] = {
	{ "/run/a.sock", 11 },
	{ "/run/a.sock\0x", 13 },
	{ "/run/ab", 7 },
	{ "/run", 4 },
	{ "/tmp/x", 6 },
	{ "/run/a", 6 },
	{ "/run/a\0", 7 },
	{ "\0foo", 4 },
	{ "\0fo", 3 },
	{ "\0foo\0bar", 8 },
	{ "\0", 1 },
	{ "\0foobar", 7 },
	{ "\0foo\0", 5 },
	{ "", 0 },
	{ "/", 1 },
};
static const uint32_t flag_bits[] = { 0x1, 0x2, 0x40, 0x4000, 0x8000 };
static const struct sg_policy_cmsg cmsg_pool[] = { { 1, 1 }, { 1, 2 }, { 0, 0 }, { 41, 50 } };
static const uint64_t len_pool[] = { 0, 10, 100, 1000, UINT64_MAX };
static const char *const comm_pool[] = { "curl", "python3", "a", "test" };
static const uint32_t id_pool[] = { 0, 1000, 1001 };
static const uint16_t proto_pool[] = { 0, 6, 17, 1, 768, 1000 };
static const uint32_t family_pool[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, 63, 70 };
static const uint32_t type_pool[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, 31, 40 };
static const char *const cg_pool[] = { "/", "/a", "/a/b", "/a/b/c", "/c", "/c/d", "/ab", "/nope" };

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	assert_non_null(p);
	return p;
}

static uint32_t rnd_flags(void)
{
	uint32_t f = 0;

	for (size_t i = 0; i < ARRAY_SIZE(flag_bits); i++)
		if (rnd(3) == 0)
			f |= flag_bits[i];
	return f;
}

static void rnd_dst(struct sg_policy_dst *d)
{
	const struct sg_policy_port *pp = &PICK(port_pool);
	uint8_t plen, bits;

	memset(d, 0, sizeof(*d));
	if (rnd(3)) {
		d->family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, PICK(v4_pool), d->addr), 1);
		plen = PICK(v4_plens);
		bits = 32;
	} else {
		d->family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, PICK(v6_pool), d->addr), 1);
		plen = PICK(v6_plens);
		bits = 128;
	}
	d->prefix_len = plen;
	for (uint32_t b = plen; b < bits; b++)
		d->addr[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
	d->port_lo = pp->lo;
	d->port_hi = pp->hi;
	if (rnd(2)) {
		d->port_lo = 0;
		d->port_hi = 65535;
	}
}

static struct sg_policy *rnd_policy(uint32_t nrules)
{
	struct sg_policy *p = xcalloc(1, sizeof(*p));

	p->default_action = rnd(4);
	p->nrules = nrules;
	p->rules = xcalloc(nrules, sizeof(*p->rules));
	for (uint32_t i = 0; i < nrules; i++) {
		struct sg_policy_rule *r = &p->rules[i];
		uint32_t n, j;

		snprintf(r->name, sizeof(r->name), "r%u", i);
		r->action = rnd(4);
		/* each key with probability 1/4, so that rules still match often */
		for (int key = 0; key < SG_MK_COUNT; key++)
			if (rnd(4) == 0)
				r->keys |= SG_MK_BIT(key);
		n = 1 + rnd(3);
		if (r->keys & SG_MK_BIT(SG_MK_SYSCALL))
			r->syscall_mask = 1u << (1 + rnd(4)) | (rnd(2) ? 1u << (1 + rnd(4)) : 0);
		if (r->keys & SG_MK_BIT(SG_MK_FAMILY))
			r->family_mask = 1ull << (PICK(family_pool) % 64) | 1ull << AF_INET;
		if (r->keys & SG_MK_BIT(SG_MK_TYPE))
			r->type_mask = 1u << (PICK(type_pool) % 32);
		if (r->keys & SG_MK_BIT(SG_MK_PROTOCOL)) {
			r->nprotocols = n;
			r->protocols = xcalloc(n, sizeof(*r->protocols));
			for (j = 0; j < n; j++)
				r->protocols[j] = PICK(proto_pool);
		}
		if (r->keys & SG_MK_BIT(SG_MK_DST)) {
			r->ndst = 1 + rnd(6);
			r->dst = xcalloc(r->ndst, sizeof(*r->dst));
			for (j = 0; j < r->ndst; j++)
				rnd_dst(&r->dst[j]);
		}
		if (r->keys & SG_MK_BIT(SG_MK_PORT)) {
			r->nports = n;
			r->ports = xcalloc(n, sizeof(*r->ports));
			for (j = 0; j < n; j++)
				r->ports[j] = PICK(port_pool);
		}
		if (r->keys & SG_MK_BIT(SG_MK_UNIX)) {
			r->nunix = n;
			r->unix_pats = xcalloc(n, sizeof(*r->unix_pats));
			for (j = 0; j < n; j++) {
				size_t u = rnd(ARRAY_SIZE(unix_pool));

				r->unix_pats[j].kind = unix_pool[u].kind;
				r->unix_pats[j].len = unix_pool[u].len;
				memcpy(r->unix_pats[j].bytes, unix_pool[u].s, unix_pool[u].len);
			}
		}
		if (r->keys & SG_MK_BIT(SG_MK_FLAGS_ANY))
			r->flags_any = rnd_flags() | PICK(flag_bits);
		if (r->keys & SG_MK_BIT(SG_MK_FLAGS_ALL))
			r->flags_all = rnd_flags() | PICK(flag_bits);
		if (r->keys & SG_MK_BIT(SG_MK_FLAGS_NONE))
			r->flags_none = rnd_flags() | PICK(flag_bits);
		if (r->keys & SG_MK_BIT(SG_MK_CMSG)) {
			r->ncmsgs = n;
			r->cmsgs = xcalloc(n, sizeof(*r->cmsgs));
			for (j = 0; j < n; j++)
				r->cmsgs[j] = PICK(cmsg_pool);
		}
		r->len_min = PICK(len_pool);
		r->len_max = PICK(len_pool);
		if (r->keys & SG_MK_BIT(SG_MK_COMM)) {
			r->ncomms = n;
			r->comms = xcalloc(n, sizeof(*r->comms));
			for (j = 0; j < n; j++)
				strcpy(r->comms[j], PICK(comm_pool));
		}
		if (r->keys & SG_MK_BIT(SG_MK_EXE)) {
			r->nexes = n;
			r->exes = xcalloc(n, sizeof(*r->exes));
			for (j = 0; j < n; j++) {
				r->exes[j].path = strdup("/bin/x");
				r->exes[j].dev = 8 << 20 | rnd(2);
				r->exes[j].ino = 100 + rnd(3);
				r->exes[j].resolved = rnd(5) ? 1 : -ENOENT;
			}
		}
		if (r->keys & SG_MK_BIT(SG_MK_UID)) {
			r->nuids = n;
			r->uids = xcalloc(n, sizeof(*r->uids));
			for (j = 0; j < n; j++)
				r->uids[j] = PICK(id_pool);
		}
		if (r->keys & SG_MK_BIT(SG_MK_GID)) {
			r->ngids = n;
			r->gids = xcalloc(n, sizeof(*r->gids));
			for (j = 0; j < n; j++)
				r->gids[j] = PICK(id_pool);
		}
		if (r->keys & SG_MK_BIT(SG_MK_CGROUP)) {
			r->ncgroups = n;
			r->cgroups = xcalloc(n, sizeof(*r->cgroups));
			for (j = 0; j < n; j++)
				r->cgroups[j] = strdup(PICK(cg_pool));
		}
	}
	return p;
}

static void rnd_send(struct sg_event *e, const char **cgroup)
{
	uint32_t a = rnd(10);

	memset(e, 0, sizeof(*e));
	e->syscall = (uint8_t)(rnd(8) ? 1 + rnd(4) : rnd(10));
	if (rnd(6))
		e->flags |= SG_EF_SOCK;
	e->sock_family = (uint16_t)PICK(family_pool);
	e->sock_type = (uint16_t)PICK(type_pool);
	e->sock_protocol = PICK(proto_pool);
	if (a < 3) {
		ev_in4(e, PICK(v4_pool), PICK(send_ports));
		if (rnd(4) == 0) /* a neighbour of a pool address */
			e->addr[7] ^= (uint8_t)(1u << rnd(8));
		if (rnd(8) == 0)
			e->addr_len = 7; /* too short */
	} else if (a < 5) {
		ev_in6(e, PICK(v6_pool), PICK(send_ports));
		if (rnd(3) == 0) { /* IPv4-mapped */
			memset(&e->addr[8], 0, 10);
			e->addr[18] = e->addr[19] = 0xff;
			assert_int_equal(inet_pton(AF_INET, PICK(v4_pool), &e->addr[20]), 1);
		}
		if (rnd(8) == 0)
			e->addr_len = 23;
	} else if (a < 8) {
		size_t u = rnd(ARRAY_SIZE(sun_pool));

		ev_un(e, sun_pool[u].s, sun_pool[u].len);
		if (rnd(10) == 0) { /* a long path, or a long abstract name */
			memset(&e->addr[2], 'x', SG_ADDR_MAX - 2);
			e->addr[2] = rnd(2) ? '/' : 0;
			e->addr_len = (uint16_t)(SG_ADDR_MAX - rnd(4));
		}
	} else if (a == 8) {
		e->addr_len = 12;
		e->addr[0] = AF_NETLINK;
	}
	if (rnd(3) == 0) /* bytes past addr_len must not matter */
		for (uint32_t i = e->addr_len; i < SG_ADDR_MAX; i++)
			e->addr[i] = (uint8_t)(rnd(2) ? 0 : rnd(256));
	e->msg_flags = rnd_flags();
	if (rnd(2)) {
		e->flags |= SG_EF_CONTROL;
		e->ncmsgs = (uint8_t)rnd(4);
		for (uint32_t i = 0; i < e->ncmsgs; i++) {
			e->cmsgs[i].level = PICK(cmsg_pool).level;
			e->cmsgs[i].type = PICK(cmsg_pool).type;
		}
	}
	e->len = PICK(len_pool) + rnd(3) - 1;
	strcpy((char *)e->comm, rnd(5) ? PICK(comm_pool) : "other");
	if (rnd(2)) {
		e->flags |= SG_EF_EXE;
		e->exe_dev = 8 << 20 | rnd(2);
		e->exe_ino = 100 + rnd(3);
	}
	e->uid = PICK(id_pool);
	e->gid = PICK(id_pool);
	*cgroup = rnd(6) ? PICK(cg_pool) : NULL;
}

static void test_differential(void **state)
{
	size_t sends = 0, matched = 0;

	(void)state;
	for (int round = 0; round < 600; round++) {
		struct sg_policy *p = rnd_policy(1 + rnd(round < 500 ? 12 : 150));
		struct sg_errlist errs = { 0 };
		struct sg_compiled *c = NULL;

		assert_int_equal(
			sg_policy_compile(p, (uint8_t)rnd(2), fake_resolve, NULL, &c, &errs), 0);
		sg_errlist_free(&errs);
		for (int i = 0; i < 400; i++) {
			struct sg_event e;
			const char *cg;

			rnd_send(&e, &cg);
			if (judge(p, c, &e, cg) >= 0)
				matched++;
			sends++;
		}
		sg_compiled_free(c);
		sg_policy_free(p);
	}
	/* the pools are small so that a good share of sends match some rule */
	assert_true(matched > sends / 10);
	print_message("differential: %zu sends, %zu matched a rule\n", sends, matched);
}

/*
 * The cgroup hooks' judgement (SG_EVAL_HOOK) against the reference evaluator:
 * a hook never denies what the full policy lets through (allow, audit), and
 * on policies whose rules are all visible to hooks it denies exactly what the
 * full policy denies. The hidden fields of the send (syscall, flags, cmsgs,
 * len) never change the hook's answer.
 */
static void test_hook_differential(void **state)
{
	size_t denied = 0, sends = 0;

	(void)state;
	for (int round = 0; round < 400; round++) {
		struct sg_policy *p = rnd_policy(1 + rnd(12));
		bool certain = round % 2;
		struct sg_errlist errs = { 0 };
		struct sg_compiled *c = NULL;

		if (certain)
			for (uint32_t i = 0; i < p->nrules; i++)
				p->rules[i].keys &= ~SG_HOOK_HIDDEN_KEYS;
		assert_int_equal(
			sg_policy_compile(p, (uint8_t)rnd(2), fake_resolve, NULL, &c, &errs), 0);
		sg_errlist_free(&errs);
		for (int i = 0; i < 400; i++) {
			struct sg_send_desc d;
			uint64_t ids[SG_MAX_CGROUP_DEPTH];
			struct sg_event e, e2;
			const char *cg;
			uint32_t nids, vref;
			uint16_t rule, rule2;
			bool deny, deny2;

			rnd_send(&e, &cg);
			nids = ancestors(cg, ids);
			sg_send_desc_from_event(&d, &e, nids ? cg : NULL);
			sg_policy_eval(p, &d, &vref);
			assert_int_equal(sg_compiled_eval_hook(c, &e, ids, nids, &rule, &deny), 0);
			if (deny && vref != SG_VERDICT_DENY && vref != SG_VERDICT_KILL) {
				fprintf(stderr, "hook denies (rule %d), the policy says %u\n",
					rule == SG_NO_RULE ? -1 : rule, vref);
				fail();
			}
			if (certain)
				assert_int_equal(deny, vref == SG_VERDICT_DENY);
			/* other syscall, flags, cmsgs and length: the same answer */
			e2 = e;
			e2.syscall = (uint8_t)(1 + rnd(4));
			e2.msg_flags = rnd_flags();
			e2.ncmsgs = (uint8_t)rnd(4);
			e2.len = rnd(100000);
			assert_int_equal(sg_compiled_eval_hook(c, &e2, ids, nids, &rule2, &deny2),
					 0);
			assert_int_equal(deny, deny2);
			assert_int_equal(rule, rule2);
			denied += deny;
			sends++;
		}
		sg_compiled_free(c);
		sg_policy_free(p);
	}
	assert_true(denied > sends / 20);
	print_message("hook differential: %zu sends, %zu denied by the hook\n", sends, denied);
}

/* Table cases of the hook judgement: uncertain rules skipped or stopping. */
static void test_hook_cases(void **state)
{
	static const char *json =
		"{\"name\":\"h\",\"default\":\"deny\",\"rules\":["
		"{\"name\":\"oob\",\"action\":\"deny\",\"match\":{\"flags_any\":[\"MSG_OOB\"]}},"
		"{\"name\":\"big\",\"action\":\"allow\",\"match\":{\"len_min\":1000,"
		"\"dst\":[\"10.0.0.1\"]}},"
		"{\"name\":\"k\",\"action\":\"kill\",\"match\":{\"port\":[7]}},"
		"{\"name\":\"no53\",\"action\":\"deny\",\"match\":{\"port\":[53]}},"
		"{\"name\":\"lo\",\"action\":\"allow\",\"match\":{\"dst\":[\"127.0.0.0/8\"]}}]}";
	static const struct {
		const char *addr;
		uint16_t port;
		int rule;
		bool deny;
	} cases[] = {
		{ "127.0.0.1", 80, 4, false }, /* oob skipped, lo allows */
		{ "127.0.0.1", 53, 3, true }, /* certain deny before lo */
		{ "10.0.0.1", 53, 1, false }, /* uncertain allow stops: might match */
		{ "10.0.0.2", 7, 2, false }, /* kill is left to the tracepoint */
		{ "10.0.0.2", 80, -1, true }, /* the default */
	};
	struct sg_errlist errs = { 0 };
	struct sg_policy *p = NULL;
	struct sg_compiled *c;

	(void)state;
	assert_int_equal(sg_policy_parse(json, strlen(json), NULL, &p, &errs), 0);
	c = compile(p, 1);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sg_event e;
		uint16_t rule;
		bool deny;

		memset(&e, 0, sizeof(e));
		e.flags = SG_EF_SOCK;
		e.sock_family = AF_INET;
		e.sock_type = SOCK_DGRAM;
		e.sock_protocol = IPPROTO_UDP;
		ev_in4(&e, cases[i].addr, cases[i].port);
		assert_int_equal(sg_compiled_eval_hook(c, &e, NULL, 0, &rule, &deny), 0);
		assert_int_equal(rule == SG_NO_RULE ? -1 : rule, cases[i].rule);
		assert_int_equal(deny, cases[i].deny);
	}
	sg_compiled_free(c);
	sg_policy_free(p);
	sg_errlist_free(&errs);
}

/* --- the benchmark's policy: 1,000 rules, ~10,000 CIDRs ------------------------------ */

static char *bench_policy_json(int nrules, int cidrs)
{
	size_t cap = 1 << 20, len = 0;
	char *s = xcalloc(cap, 1);
	int k = 0;

#define OUT(...)                                                          \
	do {                                                              \
		if (cap - len < 256) {                                    \
			char *grown = realloc(s, cap * 2);                \
			assert_non_null(grown);                           \
			s = grown;                                        \
			cap *= 2;                                         \
		}                                                         \
		len += (size_t)snprintf(s + len, cap - len, __VA_ARGS__); \
	} while (0)
	OUT("{\"name\":\"bench\",\"default\":\"allow\",\"rules\":[");
	for (int r = 0; r < nrules - 1; r++) {
		OUT("{\"name\":\"r%04d\",\"action\":\"audit\",\"match\":{\"protocol\":[\"udp\"],"
		    "\"dst\":[",
		    r);
		for (int i = 0; i < cidrs; i++, k++) {
			if (i)
				OUT(",");
			if (k % 5 == 4)
				OUT("\"[fd%02x:%x::/48]:%d\"", k % 256, k / 256, 1024 + k % 50000);
			else if (k % 3 == 0)
				OUT("\"10.%d.%d.0/24\"", (k >> 8) & 255, k & 255);
			else if (k % 3 == 1)
				OUT("\"172.%d.%d.%d:53\"", 16 + (k >> 16) % 16, (k >> 8) & 255,
				    k & 255);
			else
				OUT("\"10.%d.%d.128/25:1000-2000\"", (k >> 8) & 255, k & 255);
		}
		OUT("]}},");
	}
	OUT("{\"name\":\"bench-hit\",\"action\":\"audit\",\"match\":{\"protocol\":[\"udp\"],"
	    "\"dst\":[\"127.0.0.0/8\"]}}]}");
#undef OUT
	return s;
}

static void test_bench_policy(void **state)
{
	char *json = bench_policy_json(1000, 10);
	struct sg_policy *p = parse(json);
	struct sg_compiled *c;
	struct timespec t0, t1;
	struct sg_event e;
	double ms;

	(void)state;
	assert_int_equal(p->nrules, 1000);
	assert_true(p->ndst >= 9990);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = compile(p, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("1000 rules, %u CIDRs: %zu entries (lpm4 %u, lpm6 %u), compiled in %.1f ms\n",
		      p->ndst, sg_compiled_count(c), c->maps[SG_PMAP_LPM4].n,
		      c->maps[SG_PMAP_LPM6].n, ms);
	assert_true(ms < 2000);
	assert_true(c->maps[SG_PMAP_LPM4].n <= SG_POL_LPM_PER_SLOT);
	assert_true(c->maps[SG_PMAP_LPM6].n <= SG_POL_LPM_PER_SLOT);

	ev_base(&e);
	ev_in4(&e, "127.0.0.1", 9999);
	assert_int_equal(judge(p, c, &e, NULL), 999);
	ev_in4(&e, "10.0.3.77", 9999); /* k = 3: 10.0.3.0/24, rule 0 */
	assert_int_equal(judge(p, c, &e, NULL), 0);
	ev_in4(&e, "10.0.5.200", 1500); /* k = 5: 10.0.5.128/25:1000-2000 */
	assert_int_equal(judge(p, c, &e, NULL), 0);
	ev_in4(&e, "10.0.5.200", 999);
	assert_int_equal(judge(p, c, &e, NULL), -1);
	ev_in4(&e, "172.16.0.4", 53); /* k = 4 is v6; k = 7: 172.16.0.7:53 */
	assert_int_equal(judge(p, c, &e, NULL), -1);
	ev_in4(&e, "172.16.0.7", 53);
	assert_int_equal(judge(p, c, &e, NULL), 0);
	ev_in6(&e, "fd04::1", 1028); /* k = 4 */
	assert_int_equal(judge(p, c, &e, NULL), 0);
	ev_in6(&e, "fd04::1", 1029);
	assert_int_equal(judge(p, c, &e, NULL), -1);
	for (int i = 0; i < 2000; i++) {
		const char *cg;

		rnd_send(&e, &cg);
		if (rnd(2)) {
			ev_in4(&e, "10.0.0.0", (uint16_t)rnd(3000));
			e.addr[5] = (uint8_t)rnd(40);
			e.addr[6] = (uint8_t)rnd(256);
			e.addr[7] = (uint8_t)rnd(256);
		}
		judge(p, c, &e, cg);
	}
	sg_compiled_free(c);
	sg_policy_free(p);
	free(json);
}

/* --- limits ---------------------------------------------------------------------------- */

static bool errs_contain(const struct sg_errlist *l, const char *needle)
{
	for (size_t i = 0; i < sg_errlist_count(l); i++)
		if (strstr(sg_errlist_get(l, i), needle))
			return true;
	return false;
}

/* A policy of nrules rules with ndst IPv4 dst entries each, filled by fill(). */
static struct sg_policy *dst_policy(uint32_t nrules, uint32_t ndst,
				    void (*fill)(struct sg_policy_dst *d, uint32_t r, uint32_t i))
{
	struct sg_policy *p = xcalloc(1, sizeof(*p));

	p->nrules = nrules;
	p->rules = xcalloc(nrules, sizeof(*p->rules));
	for (uint32_t r = 0; r < nrules; r++) {
		p->rules[r].keys = SG_MK_BIT(SG_MK_DST);
		p->rules[r].ndst = ndst;
		p->rules[r].dst = xcalloc(ndst, sizeof(struct sg_policy_dst));
		for (uint32_t i = 0; i < ndst; i++) {
			p->rules[r].dst[i].family = AF_INET;
			p->rules[r].dst[i].prefix_len = 32;
			p->rules[r].dst[i].addr[0] = 10;
			p->rules[r].dst[i].addr[1] = (uint8_t)r;
			p->rules[r].dst[i].addr[2] = (uint8_t)(i >> 8);
			p->rules[r].dst[i].addr[3] = (uint8_t)i;
			p->rules[r].dst[i].port_hi = 65535;
			fill(&p->rules[r].dst[i], r, i);
		}
	}
	return p;
}

static void fill_single_ports(struct sg_policy_dst *d, uint32_t r, uint32_t i)
{
	d->port_lo = d->port_hi = (uint16_t)(1 + 2 * (r * 1000 + i));
}

static void fill_wide_ranges(struct sg_policy_dst *d, uint32_t r, uint32_t i)
{
	if (r == 0) { /* 2,000 single ports: ~4,000 classes */
		d->port_lo = d->port_hi = (uint16_t)(1 + 2 * i);
	} else { /* then ranges over all of them */
		d->port_lo = 0;
		d->port_hi = 65534;
	}
}

static void test_limits(void **state)
{
	struct sg_errlist errs = { 0 };
	struct sg_compiled *c = NULL;
	struct sg_policy *p;

	(void)state;
	/* 3,000 distinct ports: 6,001 port classes */
	p = dst_policy(3, 1000, fill_single_ports);
	assert_int_equal(sg_policy_compile(p, 0, NULL, NULL, &c, &errs), -E2BIG);
	assert_null(c);
	assert_true(errs_contain(&errs, "the limit is 4096"));
	sg_errlist_free(&errs);
	sg_policy_free(p);

	/* 20 rules x 2,000 CIDRs over ~4,000 classes each */
	p = dst_policy(21, 2000, fill_wide_ranges);
	assert_int_equal(sg_policy_compile(p, 0, NULL, NULL, &c, &errs), -E2BIG);
	assert_null(c);
	assert_true(errs_contain(&errs, "sg_pol_lpm4"));
	assert_true(errs_contain(&errs, "65536"));
	sg_errlist_free(&errs);
	sg_policy_free(p);

	/* too many rules */
	p = xcalloc(1, sizeof(*p));
	p->nrules = SG_MAX_RULES + 1;
	p->rules = xcalloc(p->nrules, sizeof(*p->rules));
	assert_int_equal(sg_policy_compile(p, 0, NULL, NULL, &c, &errs), -E2BIG);
	assert_true(errs_contain(&errs, "1024"));
	sg_errlist_free(&errs);
	sg_policy_free(p);

	/* bad slot */
	p = parse("{\"rules\":[{\"name\":\"r\",\"action\":\"deny\",\"match\":{}}]}");
	assert_int_equal(sg_policy_compile(p, 2, NULL, NULL, &c, &errs), -EINVAL);
	sg_policy_free(p);
}

/* Unresolvable cgroups: listed, match nothing, compilation goes on. */
static void test_unresolved_cgroup(void **state)
{
	struct sg_policy *p = parse("{\"rules\":[{\"name\":\"r\",\"action\":\"deny\","
				    "\"match\":{\"cgroup\":[\"/a\",\"/zzz\"]}}]}");
	struct sg_errlist errs = { 0 };
	struct sg_compiled *c = NULL;
	struct sg_event e;
	uint64_t ids[] = { 1, 2 };
	uint16_t rule;
	uint8_t verdict;

	(void)state;
	assert_int_equal(sg_policy_compile(p, 0, fake_resolve, NULL, &c, &errs), 0);
	assert_int_equal(c->nunresolved, 1);
	assert_true(errs_contain(&errs, "rules[0].match.cgroup[1]"));
	ev_base(&e);
	sg_compiled_eval(c, &e, ids, 2, &rule, &verdict);
	assert_int_equal(rule, 0);
	sg_compiled_eval(c, &e, ids, 1, &rule, &verdict);
	assert_int_equal(rule, SG_NO_RULE);
	sg_compiled_free(c);
	sg_errlist_free(&errs);
	/* without a resolver nothing resolves */
	assert_int_equal(sg_policy_compile(p, 0, NULL, NULL, &c, &errs), 0);
	assert_int_equal(c->nunresolved, 2);
	sg_compiled_eval(c, &e, ids, 2, &rule, &verdict);
	assert_int_equal(rule, SG_NO_RULE);
	sg_compiled_free(c);
	sg_errlist_free(&errs);
	sg_policy_free(p);
}

/* --- apply / remove ---------------------------------------------------------------------- */

struct counter {
	size_t n[SG_PMAP_COUNT];
	int last;
	int slot_errors;
	int order_errors;
};

static int count_update(int id, const void *key, const void *val, void *ctx)
{
	struct counter *k = ctx;

	(void)val;
	if (id < k->last)
		k->order_errors++;
	k->last = id;
	k->n[id]++;
	if (sg_pol_key_slot(id, key) != 1)
		k->slot_errors++;
	return 0;
}

static int count_delete(int id, const void *key, void *ctx)
{
	struct counter *k = ctx;

	if (sg_pol_map_kind(id) == SG_PMAP_KIND_ARRAY)
		k->order_errors++;
	if (sg_pol_key_slot(id, key) != 1)
		k->slot_errors++;
	k->n[id]++;
	return -ENOENT;
}

static int fail_update(int id, const void *key, const void *val, void *ctx)
{
	(void)id;
	(void)key;
	(void)val;
	(void)ctx;
	return -EIO;
}

static void test_apply(void **state)
{
	struct sg_policy *p =
		parse("{\"rules\":["
		      "{\"name\":\"a\",\"action\":\"deny\",\"match\":{\"dst\":[\"10.0.0.0/"
		      "8:53\",\"::/0\"],"
		      "\"port\":[80],\"comm\":[\"a\"],\"uid\":[1],\"gid\":[2],"
		      "\"cmsg\":[\"SCM_RIGHTS\"],\"cgroup\":[\"/a\"],\"protocol\":[1000]}},"
		      "{\"name\":\"b\",\"action\":\"deny\",\"match\":{\"unix\":[\"/x\"]}}]}");
	struct sg_compiled *c = compile(p, 1);
	struct counter k = { 0 };
	size_t total = 0;

	(void)state;
	assert_int_equal(sg_compiled_apply(c, count_update, &k), 0);
	assert_int_equal(k.slot_errors, 0);
	assert_int_equal(k.order_errors, 0);
	assert_int_equal(k.last, SG_PMAP_CFG);
	assert_int_equal(k.n[SG_PMAP_CFG], 1);
	assert_int_equal(k.n[SG_PMAP_RULES], 2);
	assert_int_equal(k.n[SG_PMAP_ARR], SG_ARR_PER_SLOT);
	assert_int_equal(k.n[SG_PMAP_PCLASS], SG_PCLASS_SPACES * SG_PCLASS_CHUNKS);
	assert_int_equal(k.n[SG_PMAP_LPM4], 1);
	assert_int_equal(k.n[SG_PMAP_LPM6], 1);
	assert_int_equal(k.n[SG_PMAP_ID], 3);
	for (int i = 0; i < SG_PMAP_COUNT; i++)
		total += k.n[i];
	assert_int_equal(total, sg_compiled_count(c));
	assert_int_equal(sg_compiled_apply(c, fail_update, NULL), -EIO);

	memset(&k, 0, sizeof(k));
	assert_int_equal(sg_compiled_remove(c, count_delete, &k), 0);
	assert_int_equal(k.slot_errors, 0);
	assert_int_equal(k.order_errors, 0);
	assert_int_equal(k.n[SG_PMAP_COMM], 1);
	assert_int_equal(k.n[SG_PMAP_CGROUP], 1);
	assert_int_equal(k.n[SG_PMAP_CMSG], 1);
	assert_int_equal(k.n[SG_PMAP_UNIX], 1);

	for (int i = 0; i < SG_PMAP_COUNT; i++) {
		assert_non_null(sg_pol_map_name(i));
		assert_int_equal(sg_pol_map_key_size(i), c->maps[i].key_size);
		assert_int_equal(sg_pol_map_value_size(i), c->maps[i].val_size);
	}
	assert_null(sg_pol_map_name(SG_PMAP_COUNT));
	sg_compiled_free(c);
	sg_compiled_free(NULL);
	sg_policy_free(p);
}

/* Which policies need the enforcement hooks attached (daemon/enforce.c). */
static void test_can_deny(void **state)
{
	static const struct {
		const char *json;
		bool hook, any;
	} cases[] = {
		{ "{\"name\":\"o\",\"default\":\"allow\",\"rules\":[]}", false, false },
		{ "{\"name\":\"d\",\"default\":\"deny\",\"rules\":[]}", true, true },
		{ "{\"name\":\"k\",\"default\":\"kill\",\"rules\":[]}", false, false },
		{ "{\"name\":\"a\",\"default\":\"allow\",\"rules\":[{\"name\":\"x\","
		  "\"action\":\"audit\",\"match\":{\"dst\":[\"10.0.0.0/8\"]}},{\"name\":\"y\","
		  "\"action\":\"kill\",\"match\":{\"port\":[25]}}]}",
		  false, false },
		{ "{\"name\":\"c\",\"default\":\"allow\",\"rules\":[{\"name\":\"x\","
		  "\"action\":\"audit\",\"match\":{\"dst\":[\"10.0.0.0/8\"]}},{\"name\":\"y\","
		  "\"action\":\"deny\",\"match\":{\"port\":[25]}}]}",
		  true, true },
		/* A deny rule on a key the cgroup hooks cannot see: only BPF-LSM can enforce it. */
		{ "{\"name\":\"f\",\"default\":\"allow\",\"rules\":[{\"name\":\"y\","
		  "\"action\":\"deny\",\"match\":{\"flags_any\":[\"MSG_OOB\"]}}]}",
		  false, true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sg_policy *p = parse(cases[i].json);

		if (sg_policy_hook_can_deny(p) != cases[i].hook ||
		    sg_policy_can_deny(p) != cases[i].any)
			fail_msg("case %zu (%s): hook %d any %d", i, cases[i].json,
				 sg_policy_hook_can_deny(p), sg_policy_can_deny(p));
		sg_policy_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_can_deny),
		cmocka_unit_test(test_dimensions),
		cmocka_unit_test(test_exe),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_bench_policy),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_unresolved_cgroup),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_hook_differential),
		cmocka_unit_test(test_hook_cases),
		cmocka_unit_test(test_v4_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
