// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The reference evaluator (common/policy_eval.c): table-driven sends against policies. */
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
#include <sys/un.h>
#include <cmocka.h>

#include "addr.h"
#include "names.h"
#include "policy.h"
#include "policy_eval.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * One synthetic send, in text where that is shorter:
 *  sock   "FAMILY TYPE PROTOCOL" by name ("inet6 stream tcp"), "none" for no
 *         socket, NULL for "inet dgram udp"
 *  dst    "1.2.3.4:53", "[v6]:53", "/path", "@abstract", "unnamed", NULL: none
 *  cmsgs  "SCM_RIGHTS,IP_PKTINFO"
 */
struct spec {
	const char *syscall;
	const char *sock;
	const char *dst;
	uint32_t flags;
	const char *cmsgs;
	uint64_t len;
	const char *comm;
	uint32_t uid, gid;
	const char *cgroup;
};

struct ecase {
	struct spec s;
	const char *verdict;
	const char *rule; /* NULL: the default decided */
};

struct group {
	const char *name;
	const char *policy;
	struct ecase cases[16];
};

static void set_dst(struct sg_send_desc *d, const char *dst)
{
	const char *why = NULL;
	sa_family_t fam = AF_UNIX;

	if (!dst)
		return;
	if (!strcmp(dst, "unnamed")) {
		memcpy(d->addr, &fam, sizeof(fam));
		d->addr_len = 2;
		return;
	}
	if (dst[0] == '/' || dst[0] == '@')
		assert_int_equal(
			sg_sockaddr_parse_unix(dst, d->addr, sizeof(d->addr), &d->addr_len, &why),
			0);
	else
		assert_int_equal(
			sg_sockaddr_parse_inet(dst, d->addr, sizeof(d->addr), &d->addr_len, &why),
			0);
}

static void make_send(const struct spec *s, struct sg_send_desc *d)
{
	char sock[64], cm[128], *save = NULL, *tok;

	memset(d, 0, sizeof(*d));
	d->syscall = SG_SYSCALL_SENDTO;
	if (s->syscall)
		assert_int_equal(sg_syscall_from_name(s->syscall, &d->syscall), 0);
	snprintf(sock, sizeof(sock), "%s", s->sock ? s->sock : "inet dgram udp");
	if (strcmp(sock, "none")) {
		char *f = strtok_r(sock, " ", &save), *t = strtok_r(NULL, " ", &save),
		     *p = strtok_r(NULL, " ", &save);

		d->has_sock = true;
		assert_int_equal(sg_family_from_name(f, &d->sock_family), 0);
		assert_int_equal(sg_socktype_from_name(t, &d->sock_type), 0);
		if (p)
			assert_int_equal(sg_protocol_from_name(p, &d->sock_protocol), 0);
	}
	set_dst(d, s->dst);
	d->msg_flags = s->flags;
	if (s->cmsgs) {
		snprintf(cm, sizeof(cm), "%s", s->cmsgs);
		for (tok = strtok_r(cm, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			assert_int_equal(sg_cmsg_type_from_name(tok, &d->cmsgs[d->ncmsgs].level,
								&d->cmsgs[d->ncmsgs].type),
					 0);
			d->ncmsgs++;
		}
	}
	d->len = s->len;
	if (s->comm)
		snprintf(d->comm, sizeof(d->comm), "%s", s->comm);
	d->uid = s->uid;
	d->gid = s->gid;
	d->cgroup = s->cgroup;
}

static struct sg_policy *load(const char *json)
{
	struct sg_errlist errs = { 0 };
	struct sg_policy *p = NULL;
	size_t i;
	int r = sg_policy_parse(json, strlen(json), "t.json", &p, &errs);

	for (i = 0; i < sg_errlist_count(&errs); i++)
		print_message("  | %s\n", sg_errlist_get(&errs, i));
	assert_int_equal(r, 0);
	sg_errlist_free(&errs);
	return p;
}

static void check(const struct sg_policy *p, const struct sg_send_desc *d, const char *verdict,
		  const char *rule, const char *what, size_t i)
{
	uint32_t v = 99;
	int idx = sg_policy_eval(p, d, &v);
	const char *got_rule = idx < 0 ? NULL : p->rules[idx].name;

	if (strcmp(sg_verdict_name(v) ? sg_verdict_name(v) : "?", verdict) ||
	    (rule == NULL) != (got_rule == NULL) || (rule && strcmp(rule, got_rule)))
		print_message("%s case %zu: got %s (%s), want %s (%s)\n", what, i,
			      sg_verdict_name(v), got_rule ? got_rule : "default", verdict,
			      rule ? rule : "default");
	assert_string_equal(sg_verdict_name(v), verdict);
	if (rule)
		assert_string_equal(got_rule, rule);
	else
		assert_int_equal(idx, -1);
	/* the per-rule entry point agrees with the first match */
	if (idx >= 0)
		assert_true(sg_policy_rule_matches(&p->rules[idx], d));
}

#define R(n, a, m) "{\"name\":\"" n "\",\"action\":\"" a "\",\"match\":" m "}"

static const struct group groups[] = {
	{ "first match wins, else default",
	  "{\"default\":\"audit\",\"rules\":[" R(
		  "oob", "deny",
		  "{\"flags_any\":[\"MSG_OOB\"]}") "," R("oob-or-more", "allow",
							 "{\"flags_any\":[\"MSG_OOB\",\"MSG_MORE\"]"
							 "}") "]}",
	  {
		  { { .flags = MSG_OOB }, "deny", "oob" },
		  { { .flags = MSG_MORE }, "allow", "oob-or-more" },
		  { { .flags = MSG_OOB | MSG_MORE }, "deny", "oob" },
		  { { .flags = MSG_DONTWAIT }, "audit", NULL },
		  { { .flags = 0 }, "audit", NULL },
	  } },
	{ "AND across keys, OR within",
	  "{\"rules\":[" R("dns", "deny",
			   "{\"protocol\":[\"udp\"],\"dst\":[\"10.0.0.53:53\",\"[::1]:53\"]}") "]}",
	  {
		  { { .dst = "10.0.0.53:53" }, "deny", "dns" },
		  { { .sock = "inet6 dgram udp", .dst = "[::1]:53" }, "deny", "dns" },
		  { { .sock = "inet stream tcp", .dst = "10.0.0.53:53" }, "allow", NULL },
		  { { .dst = "10.0.0.53:54" }, "allow", NULL },
		  { { .dst = "10.0.0.54:53" }, "allow", NULL },
		  { { .sock = "inet6 dgram udp", .dst = "[::2]:53" }, "allow", NULL },
		  { { .dst = NULL }, "allow", NULL },
		  { { .sock = "none", .dst = "10.0.0.53:53" }, "allow", NULL },
	  } },
	{ "CIDRs and IPv4-mapped destinations",
	  "{\"rules\":[" R("ten", "deny", "{\"dst\":[\"10.0.0.0/8\"]}") "," R(
		  "mapped-rule", "kill",
		  "{\"dst\":[\"::ffff:192.168.0.0/112\"]}") "," R("any-v6", "audit",
								  "{\"dst\":[\"::/0\"]}") "]}",
	  {
		  { { .dst = "10.255.255.255:1" }, "deny", "ten" },
		  { { .dst = "11.0.0.0:1" }, "allow", NULL },
		  { { .sock = "inet6 dgram udp", .dst = "[::ffff:10.1.2.3]:80" }, "deny", "ten" },
		  /* mapped is judged as IPv4 only: ::/0 does not hold */
		  { { .sock = "inet6 dgram udp", .dst = "[::ffff:11.0.0.1]:80" }, "allow", NULL },
		  { { .dst = "192.168.7.7:9" }, "kill", "mapped-rule" },
		  { { .sock = "inet6 dgram udp", .dst = "[::ffff:192.168.7.7]:9" },
		    "kill",
		    "mapped-rule" },
		  { { .sock = "inet6 dgram udp", .dst = "[2001:db8::1]:80" }, "audit", "any-v6" },
		  { { .sock = "inet6 dgram udp", .dst = "[::ffff:0:a00:1]:80" },
		    "audit",
		    "any-v6" },
	  } },
	{ "ports and port ranges",
	  "{\"rules\":[" R("range", "deny", "{\"port\":[\"1000-2000\",53]}") "," R(
		  "star", "audit", "{\"dst\":[\"*:8000-8080\"]}") "]}",
	  {
		  { { .dst = "1.1.1.1:999" }, "allow", NULL },
		  { { .dst = "1.1.1.1:1000" }, "deny", "range" },
		  { { .dst = "1.1.1.1:2000" }, "deny", "range" },
		  { { .dst = "1.1.1.1:2001" }, "allow", NULL },
		  { { .dst = "1.1.1.1:53" }, "deny", "range" },
		  { { .sock = "inet6 dgram udp", .dst = "[::1]:1500" }, "deny", "range" },
		  { { .sock = "unix dgram", .dst = "/run/x" }, "allow", NULL },
		  { { .dst = NULL }, "allow", NULL },
		  { { .dst = "8.8.8.8:8080" }, "audit", "star" },
		  { { .sock = "inet6 dgram udp", .dst = "[2001:db8::9]:8000" }, "audit", "star" },
		  { { .dst = "8.8.8.8:8081" }, "allow", NULL },
	  } },
	{ "unix paths, prefixes, abstract names",
	  "{\"rules\":[" R("exact", "deny", "{\"unix\":[\"/run/x.sock\"]}") "," R(
		  "prefix", "audit",
		  "{\"unix\":[\"/run/user/*\"]}") "," R("abstract", "kill",
							"{\"unix\":[\"@name\"]}") "," R("abstract-"
											"prefix",
											"deny",
											"{\"unix\":"
											"[\"@pre*"
											"\"]}") "]"
												"}",
	  {
		  { { .sock = "unix dgram", .dst = "/run/x.sock" }, "deny", "exact" },
		  { { .sock = "unix dgram", .dst = "/run/x.sock2" }, "allow", NULL },
		  { { .sock = "unix dgram", .dst = "/run/x.soc" }, "allow", NULL },
		  { { .sock = "unix dgram", .dst = "/run/user/1000/bus" }, "audit", "prefix" },
		  { { .sock = "unix dgram", .dst = "/run/user" }, "allow", NULL },
		  { { .sock = "unix dgram", .dst = "@name" }, "kill", "abstract" },
		  { { .sock = "unix dgram", .dst = "@name2" }, "allow", NULL },
		  { { .sock = "unix dgram", .dst = "@prefix" }, "deny", "abstract-prefix" },
		  { { .sock = "unix dgram", .dst = "@pre" }, "deny", "abstract-prefix" },
		  { { .sock = "unix dgram", .dst = "@/run/x.sock" }, "allow", NULL },
		  { { .sock = "unix dgram", .dst = "/name" }, "allow", NULL },
		  { { .sock = "unix dgram", .dst = "unnamed" }, "allow", NULL },
		  { { .dst = "1.2.3.4:5" }, "allow", NULL },
	  } },
	{ "flags_all and flags_none",
	  "{\"default\":\"deny\",\"rules\":[" R("all", "audit",
						"{\"flags_all\":[\"MSG_DONTWAIT\",\"MSG_NOSIGNAL\"]"
						"}") "," R("none", "allow",
							   "{\"flags_none\":[\"MSG_DONTWAIT\","
							   "\"MSG_OOB\"]}") "]}",
	  {
		  { { .flags = MSG_DONTWAIT | MSG_NOSIGNAL }, "audit", "all" },
		  { { .flags = MSG_DONTWAIT | MSG_NOSIGNAL | MSG_OOB }, "audit", "all" },
		  { { .flags = MSG_NOSIGNAL }, "allow", "none" },
		  { { .flags = 0 }, "allow", "none" },
		  { { .flags = MSG_DONTWAIT }, "deny", NULL },
		  { { .flags = MSG_OOB | MSG_NOSIGNAL }, "deny", NULL },
	  } },
	{ "control messages",
	  "{\"rules\":[" R("fd-pass", "deny", "{\"cmsg\":[\"SCM_RIGHTS\"]}") "]}",
	  {
		  { { .cmsgs = "IP_PKTINFO,SCM_RIGHTS" }, "deny", "fd-pass" },
		  { { .cmsgs = "SCM_RIGHTS" }, "deny", "fd-pass" },
		  { { .cmsgs = "IP_PKTINFO" }, "allow", NULL },
		  { { .cmsgs = "SCM_CREDENTIALS" }, "allow", NULL },
		  { { .cmsgs = NULL }, "allow", NULL },
	  } },
	{ "length bounds",
	  "{\"rules\":[" R("mid", "deny", "{\"len_min\":100,\"len_max\":200}") "," R(
		  "empty", "audit", "{\"len_max\":0}") "]}",
	  {
		  { { .len = 99 }, "allow", NULL },
		  { { .len = 100 }, "deny", "mid" },
		  { { .len = 200 }, "deny", "mid" },
		  { { .len = 201 }, "allow", NULL },
		  { { .len = 0 }, "audit", "empty" },
	  } },
	{ "comm",
	  "{\"rules\":[" R("workers", "deny", "{\"comm\":[\"worker\",\"0123456789abcde\"]}") "]}",
	  {
		  { { .comm = "worker" }, "deny", "workers" },
		  { { .comm = "worker2" }, "allow", NULL },
		  { { .comm = "worke" }, "allow", NULL },
		  { { .comm = "0123456789abcde" }, "deny", "workers" },
		  { { .comm = NULL }, "allow", NULL },
	  } },
	{ "uid and gid",
	  "{\"rules\":[" R("ids", "deny", "{\"uid\":[1000],\"gid\":[100,101]}") "]}",
	  {
		  { { .uid = 1000, .gid = 100 }, "deny", "ids" },
		  { { .uid = 1000, .gid = 101 }, "deny", "ids" },
		  { { .uid = 1000, .gid = 102 }, "allow", NULL },
		  { { .uid = 0, .gid = 100 }, "allow", NULL },
	  } },
	{ "cgroup prefix at a path boundary",
	  "{\"rules\":[" R("a", "deny", "{\"cgroup\":[\"/a\",\"/sys.slice/x.service/\"]}") "]}",
	  {
		  { { .cgroup = "/a" }, "deny", "a" },
		  { { .cgroup = "/a/b" }, "deny", "a" },
		  { { .cgroup = "/ab" }, "allow", NULL },
		  { { .cgroup = "/" }, "allow", NULL },
		  { { .cgroup = NULL }, "allow", NULL },
		  { { .cgroup = "/sys.slice/x.service" }, "deny", "a" },
		  { { .cgroup = "/sys.slice/x.service/child" }, "deny", "a" },
		  { { .cgroup = "/sys.slice/x.services" }, "allow", NULL },
	  } },
	{ "cgroup root holds for every known cgroup",
	  "{\"rules\":[" R("root", "audit", "{\"cgroup\":[\"/\"]}") "]}",
	  {
		  { { .cgroup = "/" }, "audit", "root" },
		  { { .cgroup = "/x/y" }, "audit", "root" },
		  { { .cgroup = NULL }, "allow", NULL },
	  } },
	{ "syscall and socket keys",
	  "{\"default\":\"kill\",\"rules\":[" R("mmsg", "deny", "{\"syscall\":[\"sendmmsg\"]}") "," R(
		  "v6-stream", "audit",
		  "{\"family\":[\"inet6\"],\"type\":[\"stream\"]}") "," R("raw-proto", "allow",
									  "{\"protocol\":[255,"
									  "\"icmp\"]}") "," R("ever"
											      "ythi"
											      "ng",
											      "allo"
											      "w",
											      "{}") "]}",
	  {
		  { { .syscall = "sendmmsg" }, "deny", "mmsg" },
		  { { .syscall = "sendmsg", .sock = "inet6 stream tcp" }, "audit", "v6-stream" },
		  { { .sock = "inet6 dgram udp" }, "allow", "everything" },
		  { { .sock = "inet raw icmp" }, "allow", "raw-proto" },
		  { { .sock = "none" }, "allow", "everything" },
	  } },
	{ "no socket: socket keys do not hold",
	  "{\"default\":\"kill\",\"rules\":[" R("fam", "allow", "{\"family\":[\"inet\"]}") "," R(
		  "type", "allow", "{\"type\":[\"dgram\"]}") "," R("proto", "allow",
								   "{\"protocol\":[0]}") "]}",
	  {
		  { { .sock = "none" }, "kill", NULL },
		  { { .sock = "unix dgram" }, "allow", "type" },
		  { { .sock = "unix stream" }, "allow", "proto" },
	  } },
};

static void test_groups(void **state)
{
	size_t g, i, total = 0;

	(void)state;
	for (g = 0; g < ARRAY_SIZE(groups); g++) {
		struct sg_policy *p = load(groups[g].policy);

		for (i = 0; i < ARRAY_SIZE(groups[g].cases) && groups[g].cases[i].verdict; i++) {
			const struct ecase *c = &groups[g].cases[i];
			struct sg_send_desc d;

			make_send(&c->s, &d);
			check(p, &d, c->verdict, c->rule, groups[g].name, i);
		}
		assert_true(i > 0);
		total += i;
		sg_policy_free(p);
	}
	print_message("%zu sends judged in %zu groups\n", total, ARRAY_SIZE(groups));
}

static void test_exe(void **state)
{
	struct sg_policy *p =
		load("{\"rules\":[" R("self", "deny", "{\"exe\":[\"/proc/self/exe\"]}") "," R(
			"gone", "deny", "{\"exe\":[\"/nonexistent/x\"]}") "]}");
	struct sg_errlist errs = { 0 };
	struct sg_send_desc d;
	struct spec s = { 0 };
	struct stat st;

	(void)state;
	make_send(&s, &d);
	assert_int_equal(stat("/proc/self/exe", &st), 0);
	d.exe_dev = (uint64_t)major(st.st_dev) << 20 | minor(st.st_dev);
	d.exe_ino = st.st_ino;
	/* unresolved entries never match */
	d.has_exe = true;
	check(p, &d, "allow", NULL, "exe unresolved", 0);
	assert_int_equal(sg_policy_resolve(p, &errs), -ENOENT);
	sg_errlist_free(&errs);
	check(p, &d, "deny", "self", "exe", 0);
	d.has_exe = false;
	check(p, &d, "allow", NULL, "exe unknown", 1);
	d.has_exe = true;
	d.exe_ino++;
	check(p, &d, "allow", NULL, "exe other inode", 2);
	/* a zero dev/ino send must not match the unresolved entry (dev 0, ino 0) */
	d.exe_dev = 0;
	d.exe_ino = 0;
	check(p, &d, "allow", NULL, "exe zero", 3);
	sg_policy_free(p);
}

static void test_from_event(void **state)
{
	struct sg_policy *p = load("{\"rules\":[" R("mmsg-mapped", "deny",
						    "{\"syscall\":[\"sendmmsg\"],\"family\":["
						    "\"inet6\"],\"dst\":[\"10.0.0.0/8:53\"],"
						    "\"cmsg\":[\"UDP_SEGMENT\"],\"flags_all\":["
						    "\"MSG_DONTWAIT\"],\"len_min\":41,"
						    "\"comm\":[\"resolver\"],\"uid\":[7],\"gid\":["
						    "8],\"cgroup\":[\"/system.slice\"]}") "]}");
	struct sg_event e;
	struct sg_send_desc d;
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(53) };
	uint32_t v;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.syscall = SG_SYSCALL_SENDMMSG;
	e.flags = SG_EF_SOCK | SG_EF_CONTROL | SG_EF_MMSG;
	e.sock_family = AF_INET6;
	e.sock_type = SOCK_DGRAM;
	e.sock_protocol = IPPROTO_UDP;
	assert_int_equal(inet_pton(AF_INET6, "::ffff:10.0.0.53", &sin6.sin6_addr), 1);
	memcpy(e.addr, &sin6, sizeof(sin6));
	e.addr_len = sizeof(sin6);
	e.dst_source = SG_DST_MSG;
	e.msg_flags = MSG_DONTWAIT;
	e.ncmsgs = 2;
	e.cmsgs[0].level = SOL_SOCKET;
	e.cmsgs[0].type = SCM_CREDENTIALS;
	e.cmsgs[1].level = IPPROTO_UDP;
	e.cmsgs[1].type = 103;
	e.len = 41;
	memcpy(e.comm, "resolver", 8);
	e.uid = 7;
	e.gid = 8;

	sg_send_desc_from_event(&d, &e, "/system.slice/resolver.service");
	assert_int_equal(d.addr_len, sizeof(sin6));
	assert_int_equal(d.ncmsgs, 2);
	assert_string_equal(d.comm, "resolver");
	check(p, &d, "deny", "mmsg-mapped", "event", 0);

	/* without SG_EF_CONTROL the cmsgs are not there */
	e.flags &= (uint8_t)~SG_EF_CONTROL;
	sg_send_desc_from_event(&d, &e, "/system.slice/resolver.service");
	assert_int_equal(d.ncmsgs, 0);
	assert_int_equal(sg_policy_eval(p, &d, &v), -1);
	e.flags |= SG_EF_CONTROL;

	/* without SG_EF_SOCK the family key does not hold */
	e.flags &= (uint8_t)~SG_EF_SOCK;
	sg_send_desc_from_event(&d, &e, "/system.slice/resolver.service");
	assert_int_equal(sg_policy_eval(p, &d, &v), -1);
	e.flags |= SG_EF_SOCK;

	/* unknown cgroup, and a comm that fills all 16 bytes without NUL */
	sg_send_desc_from_event(&d, &e, NULL);
	assert_int_equal(sg_policy_eval(p, &d, &v), -1);
	memset(e.comm, 'x', sizeof(e.comm));
	e.addr_len = 60000; /* clamped, never read past addr[] */
	e.ncmsgs = 200;
	sg_send_desc_from_event(&d, &e, "/system.slice");
	assert_int_equal(strlen(d.comm), SG_COMM_LEN - 1);
	assert_int_equal(d.addr_len, SG_ADDR_MAX);
	assert_int_equal(d.ncmsgs, SG_MAX_CMSGS);
	assert_int_equal(sg_policy_eval(p, &d, &v), -1);
	sg_policy_free(p);
}

/* Short addresses: a family without its fields is no destination. */
static void test_short_addresses(void **state)
{
	struct sg_policy *p = load("{\"rules\":[" R("any", "deny", "{\"dst\":[\"*\"]}") "," R(
		"u", "audit", "{\"unix\":[\"@*\"]}") "]}");
	struct sg_send_desc d;
	struct spec s = { 0 };
	sa_family_t f;

	(void)state;
	make_send(&s, &d);
	f = AF_INET;
	memcpy(d.addr, &f, 2);
	d.addr_len = 7;
	check(p, &d, "allow", NULL, "short inet", 0);
	d.addr_len = 8;
	check(p, &d, "deny", "any", "inet 8 bytes", 1);
	f = AF_INET6;
	memcpy(d.addr, &f, 2);
	d.addr_len = 23;
	check(p, &d, "allow", NULL, "short inet6", 2);
	d.addr_len = 24;
	check(p, &d, "deny", "any", "inet6 24 bytes", 3);
	f = AF_UNIX;
	memcpy(d.addr, &f, 2);
	d.addr[2] = 0;
	d.addr_len = 3; /* abstract, empty name */
	check(p, &d, "audit", "u", "empty abstract", 4);
	d.addr_len = 1;
	check(p, &d, "allow", NULL, "no family", 5);
	sg_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_exe),
		cmocka_unit_test(test_from_event),
		cmocka_unit_test(test_short_addresses),
	};

	return cmocka_run_group_tests_name("policy evaluator", tests, NULL, NULL);
}
