// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The seccomp filter of `sendguard run` (cli/run_plan.c): what the kernel is
 * let to allow on registers alone must be allowed by the reference evaluator
 * for every value of what the filter cannot see, and the BPF program must say
 * what the decision trees say. Random policies, random sends, and a small
 * classic BPF interpreter.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <cmocka.h>

#include "policy.h"
#include "policy_eval.h"
#include "run_plan.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? (uint32_t)(rng_state % n) : 0;
}

static struct sg_policy *parse(const char *json)
{
	struct sg_policy *p = NULL;
	struct sg_errlist errs = { 0 };
	int err = sg_policy_parse(json, strlen(json), "test", &p, &errs);

	if (err) {
		for (size_t i = 0; i < sg_errlist_count(&errs); i++)
			fprintf(stderr, "%s\n", sg_errlist_get(&errs, i));
		fprintf(stderr, "%s\n", json);
	}
	sg_errlist_free(&errs);
	assert_int_equal(err, 0);
	return p;
}

static const char *const flag_names[] = { "MSG_OOB", "MSG_DONTROUTE", "MSG_DONTWAIT",
					  "MSG_NOSIGNAL", "MSG_MORE" };
static const uint32_t flag_bits[] = { 0x1, 0x4, 0x40, 0x4000, 0x8000 };
static const char *const actions[] = { "allow", "deny", "audit", "kill" };
static const char *const syscalls[] = { "sendto", "sendmsg", "sendmmsg", "connect" };

/* A random policy over every kind of key, as JSON. */
static void random_policy(char *buf, size_t len)
{
	size_t n = 0;
	int nrules = 1 + (int)rnd(6);

	n += (size_t)snprintf(buf + n, len - n, "{\"default\":\"%s\",\"rules\":[",
			      rnd(2) ? "allow" : "deny");
	for (int i = 0; i < nrules; i++) {
		bool any = false;

		n += (size_t)snprintf(buf + n, len - n,
				      "%s{\"name\":\"r%d\",\"action\":\"%s\",\"match\":{",
				      i ? "," : "", i, actions[rnd(4)]);
#define KEY(...)                                                               \
	do {                                                                   \
		n += (size_t)snprintf(buf + n, len - n, "%s", any ? "," : ""); \
		n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__);          \
		any = true;                                                    \
	} while (0)
		if (!rnd(3))
			KEY("\"syscall\":[\"%s\"]", syscalls[rnd(4)]);
		if (!rnd(4))
			KEY("\"dst\":[\"10.0.0.%u\"]", rnd(3));
		if (!rnd(5))
			KEY("\"port\":[%u]", 50 + rnd(3));
		if (!rnd(6))
			KEY("\"family\":[\"%s\"]", rnd(2) ? "inet" : "unix");
		if (!rnd(6))
			KEY("\"protocol\":[\"%s\"]", rnd(2) ? "udp" : "tcp");
		if (!rnd(6))
			KEY("\"cmsg\":[\"SCM_RIGHTS\"]");
		if (!rnd(6))
			KEY("\"uid\":[%u]", rnd(2));
		if (!rnd(6))
			KEY("\"comm\":[\"c%u\"]", rnd(2));
		uint32_t lmin = 10 * rnd(4), lmax = 15 + 10 * rnd(4);
		bool all = !rnd(5), has_min = !rnd(4);

		if (!rnd(3))
			KEY("\"flags_any\":[\"%s\"]", flag_names[rnd(5)]);
		/* never a rule that cannot hold: the parser refuses those */
		if (all)
			KEY("\"flags_all\":[\"%s\",\"%s\"]", flag_names[0], flag_names[1]);
		if (!rnd(4))
			KEY("\"flags_none\":[\"%s\"]", flag_names[all ? 2 + rnd(3) : rnd(5)]);
		if (has_min)
			KEY("\"len_min\":%u", lmin);
		if (!rnd(4) && (!has_min || lmax >= lmin))
			KEY("\"len_max\":%u", lmax);
#undef KEY
		n += (size_t)snprintf(buf + n, len - n, "}}");
	}
	snprintf(buf + n, len - n, "]}");
}

/* What the filter cannot see: socket, destination, control messages, identity. */
struct hidden {
	uint32_t family, type, protocol;
	uint8_t dst;
	uint16_t port;
	bool cmsg;
	uint32_t uid;
	int comm;
};

static void random_hidden(struct hidden *h)
{
	h->family = rnd(2) ? AF_INET : AF_UNIX;
	h->type = rnd(2) ? SOCK_DGRAM : SOCK_STREAM;
	h->protocol = h->family == AF_INET ? (h->type == SOCK_DGRAM ? 17 : 6) : 0;
	h->dst = (uint8_t)rnd(4);
	h->port = (uint16_t)(49 + rnd(5));
	h->cmsg = rnd(2);
	h->uid = rnd(3);
	h->comm = (int)rnd(3);
}

static void desc_of(struct sg_send_desc *d, uint32_t syscall, uint32_t flags, uint64_t len,
		    const struct hidden *sock, const struct hidden *who)
{
	memset(d, 0, sizeof(*d));
	d->syscall = syscall;
	d->has_sock = true;
	d->sock_family = sock->family;
	d->sock_type = sock->type;
	d->sock_protocol = sock->protocol;
	if (sock->family == AF_INET) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(sock->port) };

		a.sin_addr.s_addr = htonl(0x0a000000u | sock->dst);
		memcpy(d->addr, &a, sizeof(a));
		d->addr_len = sizeof(a);
	} else {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		snprintf(a.sun_path, sizeof(a.sun_path), "/s%u", sock->dst);
		memcpy(d->addr, &a, sizeof(a));
		d->addr_len = (uint16_t)(offsetof(struct sockaddr_un, sun_path) + 4);
	}
	d->msg_flags = syscall == SG_SYSCALL_CONNECT ? 0 : flags;
	d->len = syscall == SG_SYSCALL_CONNECT ? 0 : len;
	if (who->cmsg && (syscall == SG_SYSCALL_SENDMSG || syscall == SG_SYSCALL_SENDMMSG)) {
		d->ncmsgs = 1;
		d->cmsgs[0].level = SOL_SOCKET;
		d->cmsgs[0].type = SCM_RIGHTS;
		d->cmsgs[0].len = 20;
	}
	d->uid = who->uid;
	snprintf(d->comm, sizeof(d->comm), "c%d", who->comm);
}

static uint32_t random_flags(void)
{
	uint32_t f = 0;

	for (int i = 0; i < 5; i++)
		if (!rnd(3))
			f |= flag_bits[i];
	return f;
}

static uint64_t random_len(void)
{
	static const uint64_t lens[] = {
		0, 5, 10, 14, 15, 20, 25, 30, 35, 40, 45, 100, UINT64_MAX
	};

	return lens[rnd(sizeof(lens) / sizeof(lens[0]))];
}

/*
 * Soundness: whatever a tree lets the kernel allow, the evaluator allows for
 * every hidden value; for a sendto with no destination, for every hidden
 * value whose connect() passed (the same socket and peer, any identity).
 */
static void test_soundness(void **state)
{
	char json[4096];
	long allowed = 0, checked = 0;

	(void)state;
	for (int round = 0; round < 400; round++) {
		struct sg_policy *p;
		struct run_tree t[4];

		random_policy(json, sizeof(json));
		p = parse(json);
		for (int s = 0; s < 4; s++)
			assert_int_equal(run_tree_build(p, (uint32_t)(s + 1), 256, &t[s]), 0);
		for (int k = 0; k < 200; k++) {
			uint32_t sc = 1 + rnd(4), flags = random_flags(), v;
			uint64_t len = random_len();
			bool null_dest = sc == SG_SYSCALL_SENDTO && rnd(2);
			struct hidden sock, who, who2;
			struct sg_send_desc d;

			if (run_tree_eval(&t[sc - 1], flags, len, null_dest) != RUN_LEAF_ALLOW)
				continue;
			allowed++;
			for (int h = 0; h < 30; h++) {
				random_hidden(&sock);
				random_hidden(&who);
				if (null_dest) {
					/* the peer passed connect(), maybe by another identity */
					random_hidden(&who2);
					desc_of(&d, SG_SYSCALL_CONNECT, 0, 0, &sock, &who2);
					sg_policy_eval(p, &d, &v);
					if (v != SG_VERDICT_ALLOW && v != SG_VERDICT_AUDIT)
						continue;
				}
				desc_of(&d, sc, flags, len, &sock, &who);
				sg_policy_eval(p, &d, &v);
				checked++;
				if (v != SG_VERDICT_ALLOW)
					fail_msg("in the kernel but judged %u: syscall %u flags "
						 "0x%x len "
						 "%llu null %d policy %s",
						 v, sc, flags, (unsigned long long)len, null_dest,
						 json);
			}
		}
		for (int s = 0; s < 4; s++)
			run_tree_free(&t[s]);
		sg_policy_free(p);
	}
	/* the property was exercised, not vacuous */
	assert_true(allowed > 1000);
	assert_true(checked > 10000);
}

static struct run_tree tree_of(const char *json, uint32_t syscall)
{
	struct sg_policy *p = parse(json);
	struct run_tree t;

	assert_int_equal(run_tree_build(p, syscall, 256, &t), 0);
	sg_policy_free(p);
	return t;
}

/* What the kernel decides alone for the policies people write. */
static void test_precision(void **state)
{
	const char *observe = "{\"rules\":[]}";
	const char *no_oob = "{\"rules\":[{\"name\":\"o\",\"action\":\"deny\","
			     "\"match\":{\"flags_any\":[\"MSG_OOB\"]}}]}";
	const char *dns_only = "{\"default\":\"deny\",\"rules\":[{\"name\":\"lo\",\"action\":"
			       "\"allow\",\"match\":{\"dst\":[\"127.0.0.0/8\"]}}]}";
	const char *big = "{\"rules\":[{\"name\":\"b\",\"action\":\"deny\","
			  "\"match\":{\"syscall\":[\"sendto\"],\"len_min\":1000}}]}";
	const char *by_syscall = "{\"rules\":[{\"name\":\"d\",\"action\":\"deny\",\"match\":"
				 "{\"syscall\":[\"sendto\"],\"dst\":[\"10.0.0.0/8\"]}}]}";
	struct run_tree t;

	(void)state;
	for (uint32_t s = 1; s <= 4; s++) {
		t = tree_of(observe, s);
		assert_int_equal(t.n, 1);
		assert_int_equal(t.nodes[0].kind, RUN_LEAF_ALLOW);
		run_tree_free(&t);
	}
	t = tree_of(no_oob, SG_SYSCALL_SENDTO);
	assert_int_equal(run_tree_eval(&t, 0, 64, true), RUN_LEAF_ALLOW);
	assert_int_equal(run_tree_eval(&t, 0x4000, 64, false), RUN_LEAF_ALLOW);
	assert_int_equal(run_tree_eval(&t, 1, 64, false), RUN_LEAF_NOTIFY);
	run_tree_free(&t);
	t = tree_of(no_oob, SG_SYSCALL_CONNECT);
	assert_int_equal(run_tree_eval(&t, 0, 0, false), RUN_LEAF_ALLOW);
	run_tree_free(&t);
	/* a default deny with destination allows: connect judged, its socket's send() not */
	t = tree_of(dns_only, SG_SYSCALL_SENDTO);
	assert_int_equal(run_tree_eval(&t, 0, 64, true), RUN_LEAF_ALLOW);
	assert_int_equal(run_tree_eval(&t, 0, 64, false), RUN_LEAF_NOTIFY);
	run_tree_free(&t);
	t = tree_of(dns_only, SG_SYSCALL_SENDMSG);
	assert_int_equal(run_tree_eval(&t, 0, 64, true), RUN_LEAF_NOTIFY);
	run_tree_free(&t);
	t = tree_of(big, SG_SYSCALL_SENDTO);
	assert_int_equal(run_tree_eval(&t, 0, 999, false), RUN_LEAF_ALLOW);
	assert_int_equal(run_tree_eval(&t, 0, 1000, false), RUN_LEAF_NOTIFY);
	assert_int_equal(run_tree_eval(&t, 0, UINT64_MAX, true), RUN_LEAF_NOTIFY);
	assert_int_equal(run_tree_eval(&t, 0, 0x100000000ull + 5, true), RUN_LEAF_NOTIFY);
	run_tree_free(&t);
	/* a rule on sendto only: connect() passing says nothing about the send */
	t = tree_of(by_syscall, SG_SYSCALL_SENDTO);
	assert_int_equal(run_tree_eval(&t, 0, 64, true), RUN_LEAF_NOTIFY);
	run_tree_free(&t);
}

/* --- the BPF program, run by a small classic BPF interpreter ----------------- */

static uint32_t bpf_run(const struct sock_fprog *prog, const struct seccomp_data *d)
{
	const uint8_t *data = (const uint8_t *)d;
	uint32_t a = 0;

	for (unsigned int pc = 0; pc < prog->len; pc++) {
		const struct sock_filter *f = &prog->filter[pc];

		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			assert_true(f->k + 4 <= sizeof(*d));
			memcpy(&a, data + f->k, 4);
			break;
		case BPF_RET | BPF_K:
			return f->k;
		case BPF_JMP | BPF_JA:
			pc += f->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += a > f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (a & f->k) ? f->jt : f->jf;
			break;
		default:
			fail_msg("unexpected instruction 0x%x", f->code);
		}
	}
	fail_msg("fell off the end of the program");
	return 0;
}

static void test_program(void **state)
{
	static const int nrs[4] = { SYS_sendto, SYS_sendmsg, SYS_sendmmsg, SYS_connect };
	struct run_filter_opts o = { .arch = AUDIT_ARCH_X86_64, .supervisor_pid = 4242 };
	char json[4096];

	(void)state;
	for (int round = 0; round < 200; round++) {
		struct sg_policy *p;
		struct run_tree t[4];
		struct sock_fprog prog;

		random_policy(json, sizeof(json));
		p = parse(json);
		for (int s = 0; s < 4; s++)
			assert_int_equal(run_tree_build(p, (uint32_t)(s + 1), 256, &t[s]), 0);
		o.trace_all = round % 10 == 9;
		assert_int_equal(run_filter_build(t, &o, &prog), 0);
		for (int k = 0; k < 500; k++) {
			struct seccomp_data d = { .arch = AUDIT_ARCH_X86_64 };
			int s = (int)rnd(4);
			uint32_t flags = random_flags() | (rnd(4) ? 0 : 0x80000000u), want;
			uint64_t len = random_len();
			bool null_dest = rnd(2);

			d.nr = nrs[s];
			d.args[s == 1 ? 2 : 3] = flags | ((uint64_t)rnd(2) << 40);
			if (s == 0) {
				d.args[2] = len;
				d.args[4] = null_dest ? 0 : (rnd(2) ? 0x7ffd0000ull : 1ull << 40);
			}
			want = run_tree_eval(&t[s], flags, len, s == 0 && null_dest) ==
						       RUN_LEAF_ALLOW &&
					       !o.trace_all
				       ? SECCOMP_RET_ALLOW
				       : SECCOMP_RET_USER_NOTIF;
			assert_int_equal(bpf_run(&prog, &d), want);
		}
		{
			struct seccomp_data d = { .arch = AUDIT_ARCH_I386, .nr = SYS_sendto };

			assert_int_equal(bpf_run(&prog, &d), SECCOMP_RET_KILL_PROCESS);
			d.arch = AUDIT_ARCH_X86_64;
			d.nr = 0x40000000 | SYS_sendto; /* x32 */
			assert_int_equal(bpf_run(&prog, &d), SECCOMP_RET_KILL_PROCESS);
			d.nr = SYS_io_uring_setup;
			assert_int_equal(bpf_run(&prog, &d), SECCOMP_RET_ERRNO | ENOSYS);
			d.nr = SYS_ptrace;
			d.args[1] = 4242;
			assert_int_equal(bpf_run(&prog, &d), SECCOMP_RET_ERRNO | EPERM);
			d.args[1] = 4243;
			assert_int_equal(bpf_run(&prog, &d), SECCOMP_RET_ALLOW);
			d.nr = SYS_process_vm_writev;
			d.args[0] = 4242;
			assert_int_equal(bpf_run(&prog, &d), SECCOMP_RET_ERRNO | EPERM);
			d.nr = SYS_execve;
			assert_int_equal(bpf_run(&prog, &d), SECCOMP_RET_USER_NOTIF);
			d.nr = SYS_getpid;
			assert_int_equal(bpf_run(&prog, &d), SECCOMP_RET_ALLOW);
		}
		free(prog.filter);
		for (int s = 0; s < 4; s++)
			run_tree_free(&t[s]);
		sg_policy_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precision),
		cmocka_unit_test(test_soundness),
		cmocka_unit_test(test_program),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
