// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for common/event.c and clock.c: raw sg_event records built here
 * in, the README's event JSON out, checked field by field with json-c. Each record
 * is also appended to $SG_UNIT_JSONL, which tests/run_unit.py validates
 * against docs/event.schema.json.
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
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "clock.h"
#include "event.h"
#include "json.h"

/* 2026-11-22T21:50:01.123456789Z, reached at boot time TS_BOOT */
#define TS_REAL 1795384201123456789LL
#define TS_BOOT 5000000000ULL

static struct sg_clock test_clock(void)
{
	struct sg_clock c;

	sg_clock_init(&c);
	c.boot_to_real_ns = TS_REAL - (int64_t)TS_BOOT;
	c.cached_sec = INT64_MIN;
	return c;
}

static void record(const char *line, size_t len)
{
	const char *path = getenv("SG_UNIT_JSONL");
	FILE *f;

	if (!path || !*path)
		return;
	f = fopen(path, "a");
	if (!f)
		return;
	fwrite(line, 1, len, f);
	fclose(f);
}

/* Encode e into a fresh buffer; checks the line shape; returns the parsed object. */
static struct json_object *encode(const struct sg_event *e, const struct sg_enrich *x, uint64_t seq,
				  char **text)
{
	struct sg_clock clk = test_clock();
	struct sg_outbuf b;
	struct json_object *o;

	assert_int_equal(sg_outbuf_init(&b, 64), 0);
	assert_int_equal(sg_event_to_json(&b, seq, e, x, &clk), 0);
	assert_true(b.len > 2);
	assert_int_equal(b.data[b.len - 1], '\n');
	assert_null(memchr(b.data, '\n', b.len - 1));
	record(b.data, b.len);
	b.data[b.len - 1] = '\0';
	o = json_tokener_parse(b.data);
	if (!o)
		fail_msg("not JSON: %s", b.data);
	if (text)
		*text = strdup(b.data);
	sg_outbuf_free(&b);
	return o;
}

/* The member at a dotted path ("proc.comm", "control.cmsgs.0.type"); fails if absent. */
static struct json_object *get(struct json_object *o, const char *path)
{
	char buf[128], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array)) {
			size_t i = strtoul(tok, NULL, 10);

			if (i >= json_object_array_length(o))
				fail_msg("%s: index %zu out of range", path, i);
			o = json_object_array_get_idx(o, i);
		} else if (!json_object_is_type(o, json_type_object) ||
			   !json_object_object_get_ex(o, tok, &o)) {
			fail_msg("%s: no member %s", path, tok);
		}
	}
	return o;
}

static int has(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static void expect_str(struct json_object *o, const char *path, const char *want)
{
	struct json_object *v = get(o, path);

	if (!json_object_is_type(v, json_type_string))
		fail_msg("%s: not a string: %s", path, json_object_to_json_string(v));
	assert_string_equal(json_object_get_string(v), want);
}

static void expect_int(struct json_object *o, const char *path, int64_t want)
{
	struct json_object *v = get(o, path);

	if (!json_object_is_type(v, json_type_int))
		fail_msg("%s: not an integer: %s", path, json_object_to_json_string(v));
	if (json_object_get_int64(v) != want)
		fail_msg("%s: got %lld, want %lld", path, (long long)json_object_get_int64(v),
			 (long long)want);
}

static void expect_null(struct json_object *o, const char *path)
{
	struct json_object *v = get(o, path);

	if (v)
		fail_msg("%s: not null: %s", path, json_object_to_json_string(v));
}

static void expect_json(struct json_object *o, const char *path, const char *want)
{
	const char *got = json_object_to_json_string_ext(get(o, path), JSON_C_TO_STRING_PLAIN);

	if (strcmp(got, want) != 0)
		fail_msg("%s: got %s, want %s", path, got, want);
}

static void expect_keys(struct json_object *o, const char *const *keys)
{
	struct json_object_iterator it = json_object_iter_begin(o);
	struct json_object_iterator end = json_object_iter_end(o);
	size_t i = 0;

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it), i++) {
		if (!keys[i])
			fail_msg("extra key %s", json_object_iter_peek_name(&it));
		assert_string_equal(json_object_iter_peek_name(&it), keys[i]);
	}
	if (keys[i])
		fail_msg("missing key %s", keys[i]);
}

static void set_comm(struct sg_event *e, const char *comm, size_t n)
{
	memset(e->comm, 0, sizeof(e->comm));
	memcpy(e->comm, comm, n);
}

static void set_inet(struct sg_event *e, const char *ip, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	memset(e->addr, 0, sizeof(e->addr));
	memcpy(e->addr, &sin, sizeof(sin));
	e->addr_len = sizeof(sin);
}

static void set_inet6(struct sg_event *e, const char *ip, uint16_t port, uint32_t scope)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
				     .sin6_port = htons(port),
				     .sin6_scope_id = scope };

	assert_int_equal(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	memset(e->addr, 0, sizeof(e->addr));
	memcpy(e->addr, &sin6, sizeof(sin6));
	e->addr_len = sizeof(sin6);
}

/* The README's example event, byte for byte. */
static struct sg_event spec_event(void)
{
	struct sg_event e;

	memset(&e, 0, sizeof(e));
	e.ts_ns = TS_BOOT;
	e.cgroup_id = 4711;
	e.pid = 812;
	e.tid = 815;
	e.ppid = 1;
	set_comm(&e, "resolver", 8);
	e.fd = 7;
	e.syscall = SG_SYSCALL_SENDMSG;
	e.flags = SG_EF_SOCK | SG_EF_CONTROL;
	e.sock_family = AF_INET;
	e.sock_type = SOCK_DGRAM;
	e.sock_protocol = IPPROTO_UDP;
	set_inet(&e, "10.0.0.53", 53);
	e.dst_source = SG_DST_MSG;
	e.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
	e.len = 41;
	e.iovlen = 2;
	e.controllen = 32;
	e.ncmsgs = 1;
	e.cmsgs[0] = (struct sg_cmsg){ .level = IPPROTO_IP, .type = IP_PKTINFO, .len = 28 };
	e.ret = 41;
	e.verdict = SG_VERDICT_ALLOW;
	e.rule = 1;
	e.policy_version = 3;
	e.enforced_by = SG_ENF_NONE;
	return e;
}

static void test_spec_example(void **state)
{
	static const char want[] =
		"{\"v\":1,\"seq\":1042,\"ts\":\"2026-11-22T21:50:01.123456789Z\",\"type\":\"send\","
		"\"syscall\":\"sendmsg\","
		"\"proc\":{\"pid\":812,\"tid\":815,\"ppid\":1,\"uid\":0,\"gid\":0,\"comm\":"
		"\"resolver\","
		"\"exe\":\"/usr/sbin/resolver\",\"exe_dev\":\"259:1\",\"exe_ino\":1310722,"
		"\"cgroup_id\":4711,"
		"\"cgroup\":\"/system.slice/resolver.service\"},"
		"\"fd\":7,\"sock\":{\"family\":\"inet\",\"type\":\"dgram\",\"protocol\":\"udp\"},"
		"\"dst\":{\"family\":\"inet\",\"addr\":\"10.0.0.53\",\"port\":53},\"dst_source\":"
		"\"msg\","
		"\"flags\":[\"MSG_DONTWAIT\",\"MSG_NOSIGNAL\"],\"flags_raw\":16448,"
		"\"len\":41,\"iovlen\":2,"
		"\"control\":{\"len\":32,\"cmsgs\":[{\"level\":\"IPPROTO_IP\",\"type\":\"IP_"
		"PKTINFO\"}]},"
		"\"ret\":41,\"errno\":null,"
		"\"policy\":{\"verdict\":\"allow\",\"rule\":\"dns\",\"version\":3,\"enforced_by\":"
		"null}}";
	struct sg_enrich x = { .exe = "/usr/sbin/resolver",
			       .cgroup = "/system.slice/resolver.service",
			       .rule_name = "dns" };
	struct sg_event e = spec_event();
	struct json_object *o;
	char *text;

	(void)state;
	e.flags |= SG_EF_EXE;
	e.exe_dev = 259u << 20 | 1;
	e.exe_ino = 1310722;
	o = encode(&e, &x, 1042, &text);
	assert_string_equal(text, want);
	free(text);
	json_object_put(o);
}

static void test_key_order(void **state)
{
	static const char *const top[] = { "v",	    "seq",	 "ts",	   "type",   "syscall",
					   "proc",  "fd",	 "sock",   "dst",    "dst_source",
					   "flags", "flags_raw", "len",	   "iovlen", "control",
					   "ret",   "errno",	 "policy", NULL };
	static const char *const top_mmsg[] = {
		"v",	"seq",	  "ts",	     "type", "syscall",	   "index",  "vlen",
		"proc", "fd",	  "sock",    "dst",  "dst_source", "flags",  "flags_raw",
		"len",	"iovlen", "control", "ret",  "errno",	   "policy", NULL
	};
	static const char *const proc[] = { "pid",     "tid",	    "ppid",   "uid",
					    "gid",     "comm",	    "exe",    "exe_dev",
					    "exe_ino", "cgroup_id", "cgroup", NULL };
	static const char *const policy[] = { "verdict", "rule", "version", "enforced_by", NULL };
	struct sg_event e = spec_event();
	struct json_object *o;

	(void)state;
	o = encode(&e, NULL, 1, NULL);
	expect_keys(o, top);
	expect_keys(get(o, "proc"), proc);
	expect_keys(get(o, "policy"), policy);
	json_object_put(o);

	e.syscall = SG_SYSCALL_SENDMMSG;
	e.flags |= SG_EF_MMSG;
	e.index = 2;
	e.vlen = 3;
	o = encode(&e, NULL, 2, NULL);
	expect_keys(o, top_mmsg);
	json_object_put(o);
}

static void test_sendto_unix(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "/run/x.sock" };
	struct sg_event e;
	struct json_object *o;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.ts_ns = TS_BOOT + 1;
	e.pid = e.tid = 4242;
	e.ppid = 4000;
	e.uid = 1000;
	e.gid = 100;
	/* 16 bytes, no NUL, a quote and a byte that is not UTF-8 */
	set_comm(&e,
		 "w\"rk\xff"
		 "0123456789A",
		 16);
	e.syscall = SG_SYSCALL_SENDTO;
	e.fd = 3;
	e.flags = SG_EF_SOCK;
	e.sock_family = AF_UNIX;
	e.sock_type = SOCK_DGRAM;
	e.sock_protocol = 0;
	memcpy(e.addr, &sun, sizeof(sun));
	e.addr_len = (uint16_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sun.sun_path) + 1);
	e.dst_source = SG_DST_MSG;
	e.len = 64;
	e.iovlen = 1;
	e.ret = 64;
	e.verdict = SG_VERDICT_AUDIT;
	e.rule = 2;
	e.policy_version = 7;

	/* no enrichment at all: exe, cgroup and rule are null */
	o = encode(&e, NULL, 7, NULL);
	expect_str(o, "ts", "2026-11-22T21:50:01.123456790Z");
	expect_str(o, "type", "send");
	expect_str(o, "syscall", "sendto");
	assert_false(has(o, "index"));
	assert_false(has(o, "vlen"));
	expect_int(o, "proc.pid", 4242);
	expect_int(o, "proc.tid", 4242);
	expect_int(o, "proc.ppid", 4000);
	expect_int(o, "proc.uid", 1000);
	expect_int(o, "proc.gid", 100);
	expect_str(o, "proc.comm",
		   "w\"rk\xc3\xbf"
		   "0123456789A");
	expect_null(o, "proc.exe");
	expect_int(o, "proc.cgroup_id", 0);
	expect_null(o, "proc.cgroup");
	expect_int(o, "fd", 3);
	expect_json(o, "sock", "{\"family\":\"unix\",\"type\":\"dgram\",\"protocol\":0}");
	expect_json(o, "dst", "{\"family\":\"unix\",\"path\":\"\\/run\\/x.sock\"}");
	expect_str(o, "dst.path", "/run/x.sock");
	expect_str(o, "dst_source", "msg");
	expect_json(o, "flags", "[]");
	expect_int(o, "flags_raw", 0);
	expect_int(o, "len", 64);
	expect_int(o, "iovlen", 1);
	expect_null(o, "control");
	expect_int(o, "ret", 64);
	expect_null(o, "errno");
	expect_json(o, "policy",
		    "{\"verdict\":\"audit\",\"rule\":null,\"version\":7,\"enforced_by\":null}");
	json_object_put(o);

	/* empty strings from enrichment are null too, never "" */
	struct sg_enrich x = { .exe = "", .cgroup = "", .rule_name = "" };
	o = encode(&e, &x, 8, NULL);
	expect_null(o, "proc.exe");
	expect_null(o, "proc.cgroup");
	expect_null(o, "policy.rule");
	json_object_put(o);

	/* comm with an early NUL stops there */
	set_comm(&e, "ab\0cd", 5);
	o = encode(&e, NULL, 9, NULL);
	expect_str(o, "proc.comm", "ab");
	json_object_put(o);
}

static void test_sendmmsg_peer_inet6(void **state)
{
	struct sg_enrich x = { .exe = "/usr/bin/quic\xff",
			       .cgroup = "/user.slice",
			       .rule_name = NULL };
	struct sg_event e;
	struct json_object *o;
	uint32_t i;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.ts_ns = TS_BOOT;
	e.pid = 10;
	e.tid = 11;
	set_comm(&e, "quic", 4);
	e.syscall = SG_SYSCALL_SENDMMSG;
	e.fd = 5;
	e.flags = SG_EF_SOCK | SG_EF_MMSG;
	e.sock_family = AF_INET6;
	e.sock_type = SOCK_DGRAM;
	e.sock_protocol = IPPROTO_UDP;
	set_inet6(&e, "2001:db8:0:0:1:0:0:1", 443, 0);
	e.dst_source = SG_DST_PEER;
	e.vlen = 3;
	e.iovlen = 1;
	e.msg_flags = MSG_DONTWAIT;
	e.cgroup_id = 99;

	for (i = 0; i < 3; i++) {
		e.index = i;
		e.len = 1200 + i;
		/* messages 0 and 1 sent, 2 not reached: ret -1, errno null */
		e.ret = i < 2 ? (int64_t)(1200 + i) : -1;
		e.err = 0;
		o = encode(&e, &x, 100 + i, NULL);
		expect_int(o, "seq", 100 + i);
		expect_str(o, "syscall", "sendmmsg");
		expect_int(o, "index", i);
		expect_int(o, "vlen", 3);
		expect_str(o, "proc.exe", "/usr/bin/quic\xc3\xbf");
		expect_str(o, "proc.cgroup", "/user.slice");
		expect_int(o, "proc.cgroup_id", 99);
		expect_json(o, "sock",
			    "{\"family\":\"inet6\",\"type\":\"dgram\",\"protocol\":\"udp\"}");
		expect_str(o, "dst.addr", "2001:db8::1:0:0:1");
		expect_int(o, "dst.port", 443);
		expect_int(o, "dst.scope_id", 0);
		expect_str(o, "dst.family", "inet6");
		expect_str(o, "dst_source", "peer");
		expect_json(o, "flags", "[\"MSG_DONTWAIT\"]");
		expect_int(o, "flags_raw", 64);
		expect_int(o, "len", 1200 + i);
		expect_int(o, "ret", i < 2 ? (int64_t)(1200 + i) : -1);
		expect_null(o, "errno");
		json_object_put(o);
	}
	/* the call failed before message 0: ret -1 with the call's errno */
	e.index = 0;
	e.ret = -1;
	e.err = ECONNREFUSED;
	o = encode(&e, &x, 200, NULL);
	expect_int(o, "ret", -1);
	expect_str(o, "errno", "ECONNREFUSED");
	json_object_put(o);
}

static void test_connect(void **state)
{
	struct sg_event e;
	struct json_object *o;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.ts_ns = TS_BOOT;
	e.syscall = SG_SYSCALL_CONNECT;
	set_comm(&e, "curl", 4);
	e.fd = 4;
	e.flags = SG_EF_SOCK;
	e.sock_family = AF_INET;
	e.sock_type = SOCK_STREAM;
	e.sock_protocol = IPPROTO_TCP;
	set_inet(&e, "93.184.216.34", 443);
	e.dst_source = SG_DST_MSG;
	e.ret = -1;
	e.err = EPERM;
	e.verdict = SG_VERDICT_DENY;
	e.enforced_by = SG_ENF_CGROUP;
	e.policy_version = 2;
	struct sg_enrich x = { .rule_name = "egress" };
	o = encode(&e, &x, 5, NULL);
	expect_str(o, "type", "connect");
	expect_str(o, "syscall", "connect");
	expect_json(o, "sock", "{\"family\":\"inet\",\"type\":\"stream\",\"protocol\":\"tcp\"}");
	expect_json(o, "dst", "{\"family\":\"inet\",\"addr\":\"93.184.216.34\",\"port\":443}");
	expect_int(o, "ret", -1);
	expect_str(o, "errno", "EPERM");
	expect_json(o, "policy",
		    "{\"verdict\":\"deny\",\"rule\":\"egress\",\"version\":2,\"enforced_by\":"
		    "\"cgroup\"}");
	json_object_put(o);
}

static void test_failing_sends(void **state)
{
	static const struct {
		int err;
		const char *name;
	} errs[] = { { EPERM, "EPERM" },	   { EFAULT, "EFAULT" },
		     { EAGAIN, "EAGAIN" },	   { EMSGSIZE, "EMSGSIZE" },
		     { EOPNOTSUPP, "EOPNOTSUPP" }, { EDESTADDRREQ, "EDESTADDRREQ" },
		     { 512, "ERESTARTSYS" } };
	struct sg_event e = spec_event();
	struct json_object *o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		e.ret = -1;
		e.err = errs[i].err;
		o = encode(&e, NULL, i, NULL);
		expect_int(o, "ret", -1);
		expect_str(o, "errno", errs[i].name);
		json_object_put(o);
	}
	/* an errno without a name is its number */
	e.err = 4000;
	o = encode(&e, NULL, 1, NULL);
	expect_int(o, "errno", 4000);
	json_object_put(o);

	/* deny enforced by the LSM, kill by signal */
	e.err = EPERM;
	e.verdict = SG_VERDICT_DENY;
	e.enforced_by = SG_ENF_LSM;
	struct sg_enrich x = { .rule_name = "no-oob" };
	o = encode(&e, &x, 2, NULL);
	expect_json(
		o, "policy",
		"{\"verdict\":\"deny\",\"rule\":\"no-oob\",\"version\":3,\"enforced_by\":\"lsm\"}");
	json_object_put(o);
	e.ret = 41;
	e.err = 0;
	e.verdict = SG_VERDICT_KILL;
	e.enforced_by = SG_ENF_SIGNAL;
	o = encode(&e, &x, 3, NULL);
	expect_str(o, "policy.verdict", "kill");
	expect_str(o, "policy.enforced_by", "signal");
	expect_null(o, "errno");
	json_object_put(o);
	e.verdict = SG_VERDICT_DENY;
	e.enforced_by = SG_ENF_SECCOMP;
	o = encode(&e, &x, 4, NULL);
	expect_str(o, "policy.enforced_by", "seccomp");
	json_object_put(o);
}

/* exe_dev/exe_ino: the executable's identity, null when the kernel had none. */
static void test_exe_identity(void **state)
{
	struct sg_event e = spec_event();
	struct json_object *o;

	(void)state;
	o = encode(&e, NULL, 1, NULL);
	expect_null(o, "proc.exe_dev");
	expect_null(o, "proc.exe_ino");
	json_object_put(o);
	e.flags |= SG_EF_EXE;
	e.exe_dev = 4095u << 20 | 0xfffff; /* the largest major and minor */
	e.exe_ino = UINT64_MAX;
	o = encode(&e, NULL, 2, NULL);
	expect_str(o, "proc.exe_dev", "4095:1048575");
	assert_true(json_object_get_uint64(get(o, "proc.exe_ino")) == UINT64_MAX);
	json_object_put(o);
	e.exe_dev = 8u << 20 | 3;
	e.exe_ino = 42;
	o = encode(&e, NULL, 3, NULL);
	expect_str(o, "proc.exe_dev", "8:3");
	expect_int(o, "proc.exe_ino", 42);
	json_object_put(o);
}

/* An address the call named but nobody could read (EFAULT): dst null, not AF_UNSPEC. */
/* A call the kernel refuses before reading it all: what cannot be known says so. */
static void test_refused_unread(void **state)
{
	struct sg_event e = spec_event();
	struct json_object *o;

	(void)state;
	e.flags |= SG_EF_LEN_UNKNOWN;
	e.iovlen = 1025;
	e.ret = -1;
	e.err = EMSGSIZE;
	o = encode(&e, NULL, 1, NULL);
	expect_null(o, "len");
	json_object_put(o);
	e = spec_event();
	e.flags |= SG_EF_CMSG_BAD;
	o = encode(&e, NULL, 2, NULL);
	expect_json(o, "control",
		    "{\"len\":32,\"cmsgs\":[{\"level\":\"IPPROTO_IP\",\"type\":\"IP_PKTINFO\"}],"
		    "\"malformed\":true}");
	json_object_put(o);
}

static void test_unreadable_dst(void **state)
{
	struct sg_event e = spec_event();
	struct json_object *o;

	(void)state;
	memset(e.addr, 0, sizeof(e.addr));
	e.addr_len = 16;
	e.dst_source = SG_DST_MSG;
	e.ret = -1;
	e.err = EFAULT;
	o = encode(&e, NULL, 1, NULL);
	expect_null(o, "dst");
	expect_str(o, "dst_source", "msg");
	expect_str(o, "errno", "EFAULT");
	json_object_put(o);
	/* the same zeroes in a call that did not fault are what the caller gave */
	e.err = EINVAL;
	o = encode(&e, NULL, 2, NULL);
	expect_json(o, "dst", "{\"family\":\"unspec\"}");
	json_object_put(o);
	e.ret = 41;
	e.err = 0;
	o = encode(&e, NULL, 3, NULL);
	expect_json(o, "dst", "{\"family\":\"unspec\"}");
	json_object_put(o);
	/* a readable address of a call that faulted elsewhere (the buffer) stays */
	e = spec_event();
	e.ret = -1;
	e.err = EFAULT;
	o = encode(&e, NULL, 4, NULL);
	expect_str(o, "dst.addr", "10.0.0.53");
	json_object_put(o);
}

static void test_control(void **state)
{
	struct sg_event e = spec_event();
	struct json_object *o;
	int i;

	(void)state;
	e.sock_family = AF_UNIX;
	e.sock_type = SOCK_STREAM;
	e.sock_protocol = 0;
	e.dst_source = SG_DST_NONE;
	e.addr_len = 0;
	e.controllen = 96;
	e.ncmsgs = 3;
	e.cmsgs[0] = (struct sg_cmsg){ .level = SOL_SOCKET, .type = SCM_RIGHTS, .len = 28 };
	e.cmsgs[1] = (struct sg_cmsg){ .level = SOL_SOCKET, .type = SCM_CREDENTIALS, .len = 28 };
	e.cmsgs[2] = (struct sg_cmsg){ .level = 9999, .type = 77, .len = 16 };
	o = encode(&e, NULL, 1, NULL);
	expect_json(o, "control",
		    "{\"len\":96,\"cmsgs\":[{\"level\":\"SOL_SOCKET\",\"type\":\"SCM_RIGHTS\","
		    "\"fds\":3},"
		    "{\"level\":\"SOL_SOCKET\",\"type\":\"SCM_CREDENTIALS\"},"
		    "{\"level\":9999,\"type\":77}]}");
	expect_null(o, "dst");
	expect_null(o, "dst_source");
	json_object_put(o);

	/* SCM_RIGHTS with a short or empty payload */
	e.ncmsgs = 1;
	e.cmsgs[0].len = 16;
	o = encode(&e, NULL, 2, NULL);
	expect_int(o, "control.cmsgs.0.fds", 0);
	json_object_put(o);
	e.cmsgs[0].len = 3;
	o = encode(&e, NULL, 3, NULL);
	expect_int(o, "control.cmsgs.0.fds", 0);
	json_object_put(o);
	e.cmsgs[0].len = 16 + 4 * 253;
	o = encode(&e, NULL, 4, NULL);
	expect_int(o, "control.cmsgs.0.fds", 253);
	json_object_put(o);

	/* more than SG_MAX_CMSGS: 8 shown, then truncated */
	e.ncmsgs = SG_MAX_CMSGS;
	e.flags |= SG_EF_CMSG_TRUNC;
	e.controllen = 4096;
	for (i = 0; i < SG_MAX_CMSGS; i++)
		e.cmsgs[i] = (struct sg_cmsg){ .level = IPPROTO_IPV6,
					       .type = i & 1 ? IPV6_TCLASS : IPV6_HOPLIMIT,
					       .len = 20 };
	o = encode(&e, NULL, 5, NULL);
	expect_int(o, "control.len", 4096);
	assert_int_equal(json_object_array_length(get(o, "control.cmsgs")), SG_MAX_CMSGS);
	expect_str(o, "control.cmsgs.0.type", "IPV6_HOPLIMIT");
	expect_str(o, "control.cmsgs.7.type", "IPV6_TCLASS");
	expect_str(o, "control.cmsgs.7.level", "IPPROTO_IPV6");
	assert_int_equal(json_object_get_boolean(get(o, "control.truncated")), 1);
	json_object_put(o);

	/* an out-of-range ncmsgs from a broken producer is clamped */
	e.ncmsgs = 200;
	o = encode(&e, NULL, 6, NULL);
	assert_int_equal(json_object_array_length(get(o, "control.cmsgs")), SG_MAX_CMSGS);
	json_object_put(o);

	/* control given but empty; UDP_SEGMENT */
	e.flags &= (uint8_t)~SG_EF_CMSG_TRUNC;
	e.ncmsgs = 0;
	e.controllen = 0;
	o = encode(&e, NULL, 7, NULL);
	expect_json(o, "control", "{\"len\":0,\"cmsgs\":[]}");
	json_object_put(o);
	e.ncmsgs = 1;
	e.controllen = 18;
	e.cmsgs[0] = (struct sg_cmsg){ .level = IPPROTO_UDP, .type = 103, .len = 18 };
	o = encode(&e, NULL, 8, NULL);
	expect_json(
		o, "control",
		"{\"len\":18,\"cmsgs\":[{\"level\":\"IPPROTO_UDP\",\"type\":\"UDP_SEGMENT\"}]}");
	json_object_put(o);

	/* no SG_EF_CONTROL: null whatever the other fields say */
	e.flags &= (uint8_t)~SG_EF_CONTROL;
	o = encode(&e, NULL, 9, NULL);
	expect_null(o, "control");
	json_object_put(o);
}

static void test_not_a_socket(void **state)
{
	struct sg_event e;
	struct json_object *o;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.ts_ns = TS_BOOT;
	e.syscall = SG_SYSCALL_SENDTO;
	set_comm(&e, "cat", 3);
	e.fd = 1;
	e.flags = 0;
	/* garbage in sock_* must not show without SG_EF_SOCK */
	e.sock_family = 2;
	e.sock_type = 2;
	e.sock_protocol = 17;
	e.dst_source = SG_DST_NONE;
	e.len = 5;
	e.iovlen = 1;
	e.ret = -1;
	e.err = ENOTSOCK;
	o = encode(&e, NULL, 1, NULL);
	expect_null(o, "sock");
	expect_null(o, "dst");
	expect_null(o, "dst_source");
	expect_null(o, "control");
	expect_str(o, "errno", "ENOTSOCK");
	json_object_put(o);

	/* bad fd, negative */
	e.fd = -1;
	e.err = EBADF;
	o = encode(&e, NULL, 2, NULL);
	expect_int(o, "fd", -1);
	expect_str(o, "errno", "EBADF");
	json_object_put(o);
}

static void test_flags_and_names(void **state)
{
	struct sg_event e = spec_event();
	struct json_object *o;

	(void)state;
	e.msg_flags = MSG_OOB | MSG_MORE | 0x100000 | MSG_ZEROCOPY | MSG_FASTOPEN | 0x80000000u;
	o = encode(&e, NULL, 1, NULL);
	expect_json(o, "flags",
		    "[\"MSG_OOB\",\"MSG_MORE\",\"0x100000\",\"MSG_ZEROCOPY\","
		    "\"MSG_FASTOPEN\",\"0x80000000\"]");
	expect_int(o, "flags_raw",
		   (int64_t)(MSG_OOB | MSG_MORE | 0x100000 | MSG_ZEROCOPY | MSG_FASTOPEN |
			     0x80000000u));
	json_object_put(o);

	e.msg_flags = 0xffffffffu;
	o = encode(&e, NULL, 2, NULL);
	assert_int_equal(json_object_array_length(get(o, "flags")), 32);
	expect_int(o, "flags_raw", 4294967295LL);
	json_object_put(o);

	/* unknown family, type, protocol as numbers; protocol names only for inet */
	e.sock_family = 200;
	e.sock_type = 9;
	e.sock_protocol = 6;
	o = encode(&e, NULL, 3, NULL);
	expect_json(o, "sock", "{\"family\":200,\"type\":9,\"protocol\":6}");
	json_object_put(o);
	e.sock_family = AF_NETLINK;
	e.sock_type = SOCK_RAW;
	e.sock_protocol = 0;
	o = encode(&e, NULL, 4, NULL);
	expect_json(o, "sock", "{\"family\":\"netlink\",\"type\":\"raw\",\"protocol\":0}");
	json_object_put(o);
	e.sock_family = AF_INET6;
	e.sock_type = SOCK_STREAM;
	e.sock_protocol = 262;
	o = encode(&e, NULL, 5, NULL);
	expect_str(o, "sock.protocol", "mptcp");
	json_object_put(o);

	/* extreme numbers */
	e.len = UINT64_MAX >> 1;
	e.ret = INT64_MAX;
	e.pid = e.tid = e.ppid = e.uid = e.gid = 4294967295u;
	e.cgroup_id = UINT64_MAX >> 1;
	o = encode(&e, NULL, UINT64_MAX >> 1, NULL);
	expect_int(o, "len", INT64_MAX);
	expect_int(o, "ret", INT64_MAX);
	expect_int(o, "proc.uid", 4294967295LL);
	expect_int(o, "proc.cgroup_id", INT64_MAX);
	json_object_put(o);
}

static void test_dst_variants(void **state)
{
	struct sg_event e = spec_event();
	struct json_object *o;

	(void)state;
	/* msg_name given but empty: the source is known, the address is not */
	e.addr_len = 0;
	e.dst_source = SG_DST_MSG;
	o = encode(&e, NULL, 1, NULL);
	expect_null(o, "dst");
	expect_str(o, "dst_source", "msg");
	json_object_put(o);

	/* addr_len beyond the stored bytes (SG_EF_ADDR_TRUNC) is clamped */
	memset(e.addr, 0, sizeof(e.addr));
	e.addr[0] = AF_UNIX;
	e.addr[2] = 0;
	memset(e.addr + 3, 'z', SG_ADDR_MAX - 3);
	e.addr_len = 128;
	e.flags |= SG_EF_ADDR_TRUNC;
	o = encode(&e, NULL, 2, NULL);
	assert_int_equal(strlen(json_object_get_string(get(o, "dst.abstract"))), SG_ADDR_MAX - 3);
	json_object_put(o);

	/* netlink and unknown families */
	memset(e.addr, 0, sizeof(e.addr));
	e.addr[0] = AF_NETLINK;
	e.addr_len = 12;
	e.dst_source = SG_DST_PEER;
	o = encode(&e, NULL, 3, NULL);
	expect_json(o, "dst", "{\"family\":\"netlink\",\"pid\":0,\"groups\":0}");
	json_object_put(o);
	e.addr[0] = AF_PACKET;
	e.addr_len = 20;
	o = encode(&e, NULL, 4, NULL);
	expect_json(o, "dst", "{\"family\":\"packet\"}");
	json_object_put(o);
	e.addr[0] = 250;
	o = encode(&e, NULL, 5, NULL);
	expect_json(o, "dst", "{\"family\":250}");
	json_object_put(o);
	/* unnamed unix peer */
	e.addr[0] = AF_UNIX;
	e.addr_len = 2;
	o = encode(&e, NULL, 6, NULL);
	expect_json(o, "dst", "{\"family\":\"unix\"}");
	json_object_put(o);
}

/* The gap record of a daemon that adopted an earlier run's pins. */
static void test_gap(void **state)
{
	struct sg_clock clk = test_clock();
	struct sg_gap g = { .known = true,
			    .clean = false,
			    .last_seq = 41,
			    .last_real_ns = TS_REAL - 3000000000ULL,
			    .queued = 2 };
	struct sg_outbuf b;
	const char *want =
		"{\"v\":1,\"seq\":1,\"ts\":\"2026-11-22T21:50:01.123456789Z\",\"type\":\"gap\","
		"\"untraced\":true,\"since\":\"2026-11-22T21:49:58.123456789Z\",\"previous_seq\":"
		"41,"
		"\"previous_exit\":\"unclean\",\"queued\":2}\n"
		"{\"v\":1,\"seq\":1,\"ts\":\"2026-11-22T21:50:01.123456789Z\",\"type\":\"gap\","
		"\"untraced\":true,\"since\":\"2026-11-22T21:49:58.123456789Z\",\"previous_seq\":"
		"41,"
		"\"previous_exit\":\"clean\",\"queued\":2}\n"
		"{\"v\":1,\"seq\":1,\"ts\":\"2026-11-22T21:50:01.123456789Z\",\"type\":\"gap\","
		"\"untraced\":true,\"since\":null,\"previous_seq\":null,\"previous_exit\":null,"
		"\"queued\":0}\n";

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 8), 0);
	assert_int_equal(sg_gap_to_json(&b, 1, TS_BOOT, &g, &clk), 0);
	g.clean = true;
	assert_int_equal(sg_gap_to_json(&b, 1, TS_BOOT, &g, &clk), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(sg_gap_to_json(&b, 1, TS_BOOT, &g, &clk), 0);
	record(b.data, b.len);
	assert_int_equal(sg_json_raw(&b, "", 1), 0);
	assert_string_equal(b.data, want);
	sg_outbuf_free(&b);
	assert_int_equal(sg_gap_to_json(&b, 1, 0, NULL, &clk), -EINVAL);
}

static void test_lost_and_stats(void **state)
{
	struct sg_clock clk = test_clock();
	static const char *const names[] = { "dns", "no-\"oob\"" };
	static const uint64_t hits[] = { 5, 0 };
	struct sg_stats s = { .events = 1000000,
			      .lost = 3,
			      .denied = 17,
			      .sink_errors = 0,
			      .rule_names = names,
			      .rule_hits = hits,
			      .nrules = 2,
			      .default_hits = 999995 };
	struct sg_outbuf b;
	const char *want =
		"{\"v\":1,\"seq\":5,\"ts\":\"2026-11-22T21:50:01.123456789Z\",\"type\":\"lost\","
		"\"count\":12}\n"
		"{\"v\":1,\"seq\":6,\"ts\":\"2026-11-22T21:50:02.123456789Z\","
		"\"type\":\"stats\",\"events\":1000000,\"lost\":3,\"denied\":17,"
		"\"sink_errors\":0,\"rules\":{\"dns\":5,\"no-\\\"oob\\\"\":0},\"default\":999995}"
		"\n";

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 8), 0);
	assert_int_equal(sg_lost_to_json(&b, 5, TS_BOOT, 12, &clk), 0);
	assert_int_equal(sg_stats_to_json(&b, 6, TS_BOOT + 1000000000ULL, &s, &clk), 0);
	record(b.data, b.len);
	assert_int_equal(sg_json_raw(&b, "", 1), 0);
	assert_string_equal(b.data, want);
	sg_outbuf_free(&b);
	assert_int_equal(sg_stats_to_json(&b, 6, 0, NULL, &clk), -EINVAL);
}

/* A flow record: the key's fields as a send's, no tid/ppid/fd/len/ret, the counts and times. */
static void test_flow(void **state)
{
	struct sg_clock clk = test_clock();
	struct sg_flow_key k = { .cgroup_id = 4711,
				 .exe_ino = 99,
				 .exe_dev = 8u << 20 | 1,
				 .pid = 812,
				 .uid = 0,
				 .gid = 0,
				 .msg_flags = 0x40,
				 .policy_version = 3,
				 .rule = 0,
				 .sock_family = AF_INET,
				 .sock_type = SOCK_DGRAM,
				 .sock_protocol = IPPROTO_UDP,
				 .addr_len = 16,
				 .syscall = SG_SYSCALL_SENDTO,
				 .dst_source = SG_DST_MSG,
				 .ev_flags = SG_EF_SOCK | SG_EF_EXE };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53) };
	static const uint8_t comm[SG_COMM_LEN] = "resolver";
	struct sg_enrich x = { .exe = "/usr/sbin/resolver",
			       .cgroup = "/system.slice",
			       .rule_name = "dns" };
	struct sg_flow_rec r = { .key = &k,
				 .comm = comm,
				 .count = 1200,
				 .bytes = 76800,
				 .first_ns = TS_BOOT,
				 .last_ns = TS_BOOT + 1000000000ULL,
				 .end = "idle" };
	struct sg_stats s = { .flows_on = true,
			      .flow_sends = 1200,
			      .flow_records = 1,
			      .flows_active = 2,
			      .flow_table_full = 7 };
	struct sg_outbuf b;
	const char *want =
		"{\"v\":1,\"seq\":9,\"ts\":\"2026-11-22T21:50:02.123456789Z\",\"type\":\"flow\","
		"\"syscall\":\"sendto\",\"proc\":{\"pid\":812,\"uid\":0,\"gid\":0,\"comm\":"
		"\"resolver\","
		"\"exe\":\"/usr/sbin/"
		"resolver\",\"exe_dev\":\"8:1\",\"exe_ino\":99,\"cgroup_id\":4711,"
		"\"cgroup\":\"/system.slice\"},\"sock\":{\"family\":\"inet\",\"type\":\"dgram\","
		"\"protocol\":\"udp\"},\"dst\":{\"family\":\"inet\",\"addr\":\"10.0.0.53\","
		"\"port\":53},"
		"\"dst_source\":\"msg\",\"flags\":[\"MSG_DONTWAIT\"],\"flags_raw\":64,\"errno\":"
		"null,"
		"\"policy\":{\"verdict\":\"allow\",\"rule\":\"dns\",\"version\":3,\"enforced_by\":"
		"null},"
		"\"count\":1200,\"bytes\":76800,\"first\":\"2026-11-22T21:50:01.123456789Z\","
		"\"last\":\"2026-11-22T21:50:02.123456789Z\",\"end\":\"idle\"}\n";

	(void)state;
	inet_pton(AF_INET, "10.0.0.53", &sin.sin_addr);
	memcpy(k.addr, &sin, 8); /* as the kernel keys it: no sin_zero */
	assert_int_equal(sg_outbuf_init(&b, 8), 0);
	assert_int_equal(sg_flow_to_json(&b, 9, TS_BOOT + 1000000000ULL, &r, &x, &clk), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	/* the stats record's "flows" object, only with flows on */
	sg_outbuf_reset(&b);
	assert_int_equal(sg_stats_to_json(&b, 10, TS_BOOT, &s, &clk), 0);
	assert_int_equal(sg_json_raw(&b, "", 1), 0);
	assert_non_null(strstr(b.data, ",\"flows\":{\"sends\":1200,\"records\":1,\"active\":2,"
				       "\"table_full\":7}}\n"));
	sg_outbuf_free(&b);
}

static void test_undeliverable(void **state)
{
	struct sg_clock clk = test_clock();
	struct sg_outbuf b;
	const char *want = "{\"v\":1,\"seq\":9,\"ts\":\"2026-11-22T21:50:01.123456789Z\","
			   "\"type\":\"undeliverable\",\"sink\":\"syslog+tcp://[::1]:6514\","
			   "\"count\":4096}\n";

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 8), 0);
	assert_int_equal(
		sg_undeliverable_to_json(&b, 9, TS_BOOT, "syslog+tcp://[::1]:6514", 4096, &clk), 0);
	record(b.data, b.len);
	assert_int_equal(sg_json_raw(&b, "", 1), 0);
	assert_string_equal(b.data, want);
	assert_int_equal(sg_undeliverable_to_json(&b, 9, TS_BOOT, NULL, 1, &clk), -EINVAL);
	sg_outbuf_free(&b);
}

static void test_policy_note(void **state)
{
	struct sg_clock clk = test_clock();
	static const char *const errs[] = { "rules[0].match.dst[0]: \"10.0.0.0/33\": prefix "
					    "length must be 0-32" };
	struct sg_policy_note loaded = { .result = "loaded",
					 .source = "/etc/sendguard/p.json",
					 .name = "web",
					 .version = 2,
					 .nrules = 5,
					 .default_action = "deny" };
	struct sg_policy_note refused = { .result = "refused",
					  .source = "/etc/sendguard/p.json",
					  .name = "web",
					  .version = 2,
					  .nrules = 5,
					  .default_action = "deny",
					  .errors = errs,
					  .nerrors = 1 };
	struct sg_policy_note dflt = {
		.result = "loaded", .name = "observe", .version = 1, .default_action = "allow"
	};
	const char *want =
		"{\"v\":1,\"seq\":7,\"ts\":\"2026-11-22T21:50:01.123456789Z\",\"type\":\"policy\","
		"\"result\":\"loaded\",\"source\":\"/etc/sendguard/p.json\",\"name\":\"web\","
		"\"version\":2,\"rules\":5,\"default\":\"deny\",\"errors\":[]}\n"
		"{\"v\":1,\"seq\":8,\"ts\":\"2026-11-22T21:50:01.123456789Z\",\"type\":\"policy\","
		"\"result\":\"refused\",\"source\":\"/etc/sendguard/p.json\",\"name\":\"web\","
		"\"version\":2,\"rules\":5,\"default\":\"deny\",\"errors\":[\"rules[0].match.dst[0]"
		": "
		"\\\"10.0.0.0/33\\\": prefix length must be 0-32\"]}\n"
		"{\"v\":1,\"seq\":9,\"ts\":\"2026-11-22T21:50:01.123456789Z\",\"type\":\"policy\","
		"\"result\":\"loaded\",\"source\":null,\"name\":\"observe\",\"version\":1,"
		"\"rules\":0,\"default\":\"allow\",\"errors\":[]}\n";
	struct sg_outbuf b;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 8), 0);
	assert_int_equal(sg_policy_note_to_json(&b, 7, TS_BOOT, &loaded, &clk), 0);
	assert_int_equal(sg_policy_note_to_json(&b, 8, TS_BOOT, &refused, &clk), 0);
	assert_int_equal(sg_policy_note_to_json(&b, 9, TS_BOOT, &dflt, &clk), 0);
	record(b.data, b.len);
	assert_int_equal(sg_json_raw(&b, "", 1), 0);
	assert_string_equal(b.data, want);
	sg_outbuf_free(&b);
	assert_int_equal(sg_policy_note_to_json(&b, 6, 0, NULL, &clk), -EINVAL);
}

/* Records accumulate in one buffer, each a complete line. */
static void test_append(void **state)
{
	struct sg_clock clk = test_clock();
	struct sg_event e = spec_event();
	struct sg_outbuf b;
	size_t first;
	char *nl;

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, 16), 0);
	assert_int_equal(sg_event_to_json(&b, 1, &e, NULL, &clk), 0);
	first = b.len;
	assert_int_equal(sg_event_to_json(&b, 2, &e, NULL, &clk), 0);
	assert_int_equal(sg_lost_to_json(&b, 3, e.ts_ns, 1, &clk), 0);
	assert_true(b.len > 2 * first);
	assert_memory_equal(b.data + first, b.data, 13);
	nl = memchr(b.data, '\n', b.len);
	assert_int_equal(nl - b.data, (long)first - 1);
	assert_int_equal(sg_event_to_json(&b, 1, NULL, NULL, &clk), -EINVAL);
	sg_outbuf_free(&b);
}

static void test_clock_format(void **state)
{
	static const int64_t secs[] = { 0,
					59,
					60,
					86399,
					86400,
					951782400 /* 2000-02-29 */,
					1709164800 /* 2024-02-29 */,
					1735689599,
					1795384201,
					4102444800 /* 2100-01-01 */,
					253402300799 /* 9999-12-31T23:59:59 */ };
	char got[20], want[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		time_t t = (time_t)secs[i];
		struct tm tm;

		assert_non_null(gmtime_r(&t, &tm));
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		sg_clock_format_sec(got, secs[i]);
		assert_string_equal(got, want);
	}
	/* every day across four centuries */
	for (i = 0; i < 146097; i++) {
		time_t t = (time_t)(946684800LL + (int64_t)i * 86400 + 3661);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		sg_clock_format_sec(got, (int64_t)t);
		if (strcmp(got, want))
			fail_msg("%lld: got %s, want %s", (long long)t, got, want);
	}
}

static void test_clock_ts(void **state)
{
	struct sg_clock clk = test_clock();
	struct sg_outbuf b;
	struct timespec now;
	uint64_t boot;
	int64_t diff;
	char text[40];

	(void)state;
	assert_int_equal(sg_outbuf_init(&b, SG_CLOCK_TS_JSON_LEN), 0);
	sg_clock_put_ts(&b, &clk, TS_BOOT);
	assert_int_equal(b.len, SG_CLOCK_TS_JSON_LEN);
	assert_memory_equal(b.data, "\"2026-11-22T21:50:01.123456789Z\"", SG_CLOCK_TS_JSON_LEN);
	/* nanoseconds zero-padded, and the cached second follows the clock */
	sg_outbuf_reset(&b);
	sg_clock_put_ts(&b, &clk, TS_BOOT + 876543211ULL);
	assert_memory_equal(b.data, "\"2026-11-22T21:50:02.000000000Z\"", SG_CLOCK_TS_JSON_LEN);
	sg_outbuf_reset(&b);
	sg_clock_put_ts(&b, &clk, TS_BOOT + 876543212ULL);
	assert_memory_equal(b.data, "\"2026-11-22T21:50:02.000000001Z\"", SG_CLOCK_TS_JSON_LEN);
	sg_outbuf_reset(&b);
	sg_clock_put_ts(&b, &clk, TS_BOOT - 1);
	assert_memory_equal(b.data, "\"2026-11-22T21:50:01.123456788Z\"", SG_CLOCK_TS_JSON_LEN);
	sg_outbuf_free(&b);

	/* the real clock: boot now maps to roughly real now */
	sg_clock_init(&clk);
	boot = sg_clock_boot_now();
	assert_true(boot > 0);
	clock_gettime(CLOCK_REALTIME, &now);
	diff = (int64_t)boot + clk.boot_to_real_ns -
	       ((int64_t)now.tv_sec * 1000000000LL + now.tv_nsec);
	assert_true(diff > -100000000LL && diff < 100000000LL);
	assert_int_equal(sg_outbuf_init(&b, 0), 0);
	assert_int_equal(sg_lost_to_json(&b, 1, boot, 0, &clk), 0);
	snprintf(text, sizeof(text), "%04d-", 1900 + gmtime(&now.tv_sec)->tm_year);
	assert_non_null(strstr(b.data, text));
	sg_outbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_sendto_unix),
		cmocka_unit_test(test_sendmmsg_peer_inet6),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_failing_sends),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_not_a_socket),
		cmocka_unit_test(test_flags_and_names),
		cmocka_unit_test(test_dst_variants),
		cmocka_unit_test(test_lost_and_stats),
		cmocka_unit_test(test_undeliverable),
		cmocka_unit_test(test_flow),
		cmocka_unit_test(test_policy_note),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_clock_format),
		cmocka_unit_test(test_clock_ts),
		cmocka_unit_test(test_unreadable_dst),
		cmocka_unit_test(test_exe_identity),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_refused_unread),
	};

	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
