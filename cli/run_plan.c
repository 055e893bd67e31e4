// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The seccomp filter of `sendguard run`: what the kernel can decide from
 * registers (run_plan.h), as decision trees, and the classic BPF program.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "run_plan.h"

enum { TV_F = 0, TV_T = 1, TV_U = 2 };

#define MK(k)	  SG_MK_BIT(SG_MK_##k)
#define HAS(r, k) ((r)->keys & MK(k))

/* Keys the filter never sees, by what they depend on. */
#define KEYS_SOCK  (MK(FAMILY) | MK(TYPE) | MK(PROTOCOL) | MK(DST) | MK(PORT) | MK(UNIX))
#define KEYS_IDENT (MK(COMM) | MK(EXE) | MK(UID) | MK(GID) | MK(CGROUP))

static bool has_msghdr(uint32_t syscall)
{
	return syscall == SG_SYSCALL_SENDMSG || syscall == SG_SYSCALL_SENDMMSG;
}

/* Keys of a rule that registers cannot decide for syscall. */
static uint32_t hidden_keys(uint32_t syscall)
{
	uint32_t h = KEYS_SOCK | KEYS_IDENT;

	if (has_msghdr(syscall))
		h |= MK(CMSG) | MK(LEN_MIN) | MK(LEN_MAX);
	return h;
}

/* A cmsg key never holds for sendto and connect: they carry no control messages. */
static bool never_matches(const struct sg_policy_rule *rule, uint32_t syscall)
{
	return !has_msghdr(syscall) && HAS(rule, CMSG);
}

static int tv_and(int a, int b)
{
	if (a == TV_F || b == TV_F)
		return TV_F;
	return a == TV_U || b == TV_U ? TV_U : TV_T;
}

/* flags_any/all/none of one mask against partly known flags. */
static int flag_test(int kind, uint32_t mask, const struct run_regs *r)
{
	uint32_t known = mask & r->flags_known, set = known & r->flags_val;
	bool all_known = known == mask;

	switch (kind) {
	case SG_MK_FLAGS_ANY:
		if (set)
			return TV_T;
		return all_known ? TV_F : TV_U;
	case SG_MK_FLAGS_ALL:
		if (known & ~r->flags_val)
			return TV_F;
		return all_known ? TV_T : TV_U;
	default: /* SG_MK_FLAGS_NONE */
		if (set)
			return TV_F;
		return all_known ? TV_T : TV_U;
	}
}

/* What the registers say of the rule's register keys: true, false or unknown. */
static int reg_match(const struct sg_policy_rule *rule, const struct run_regs *r)
{
	int m = TV_T;

	if (HAS(rule, SYSCALL) && (r->syscall >= 32 || !(rule->syscall_mask & 1u << r->syscall)))
		return TV_F;
	if (HAS(rule, FLAGS_ANY))
		m = tv_and(m, flag_test(SG_MK_FLAGS_ANY, rule->flags_any, r));
	if (HAS(rule, FLAGS_ALL))
		m = tv_and(m, flag_test(SG_MK_FLAGS_ALL, rule->flags_all, r));
	if (HAS(rule, FLAGS_NONE))
		m = tv_and(m, flag_test(SG_MK_FLAGS_NONE, rule->flags_none, r));
	if (!has_msghdr(r->syscall)) {
		if (HAS(rule, LEN_MIN)) {
			if (!r->len_known)
				m = tv_and(m, TV_U);
			else if (r->len_lo >= rule->len_min)
				m = tv_and(m, TV_T);
			else
				m = tv_and(m, r->len_hi < rule->len_min ? TV_F : TV_U);
		}
		if (HAS(rule, LEN_MAX)) {
			if (!r->len_known)
				m = tv_and(m, TV_U);
			else if (r->len_hi <= rule->len_max)
				m = tv_and(m, TV_T);
			else
				m = tv_and(m, r->len_lo > rule->len_max ? TV_F : TV_U);
		}
	}
	return m;
}

/* Every hidden assignment allows: the first rule that may match must allow, up to one that must. */
static bool simple_allows(const struct sg_policy *p, const struct run_regs *r)
{
	uint32_t hidden = hidden_keys(r->syscall);

	for (uint32_t i = 0; i < p->nrules; i++) {
		const struct sg_policy_rule *rule = &p->rules[i];
		int m = reg_match(rule, r);

		if (m == TV_F || never_matches(rule, r->syscall))
			continue;
		if (rule->action != SG_VERDICT_ALLOW)
			return false;
		if (m == TV_T && !(rule->keys & hidden))
			return true;
	}
	return p->default_action == SG_VERDICT_ALLOW;
}

struct vet_rule {
	int a; /* register match of the send */
	bool b; /* register match of connect() */
	bool hf; /* no hidden key: matches whenever the registers do */
	bool never;
	bool coupled; /* its hidden part is the same at connect and at the send */
	uint32_t act;
	int hs; /* the send's hidden part: -1 free, 0, 1 */
};

static bool connect_passes(const struct vet_rule *v, uint32_t n, uint32_t dflt)
{
	for (uint32_t m = 0; m < n; m++) {
		bool can1, can0;

		if (!v[m].b || v[m].never)
			continue;
		can1 = v[m].hf || !v[m].coupled || v[m].hs != 0;
		can0 = !v[m].hf && (!v[m].coupled || v[m].hs != 1);
		if (can1 && (v[m].act == SG_VERDICT_ALLOW || v[m].act == SG_VERDICT_AUDIT))
			return true;
		if (!can0)
			return false;
	}
	return dflt == SG_VERDICT_ALLOW || dflt == SG_VERDICT_AUDIT;
}

/*
 * sendto without a destination on a socket whose peer passed connect():
 * looks for a hidden assignment under which connect passes and the send is
 * decided by something other than allow (rule j, or the default as j == n).
 */
static int vetted_allows(const struct sg_policy *p, const struct run_regs *r, bool *out)
{
	struct run_regs c = { .syscall = SG_SYSCALL_CONNECT,
			      .flags_known = ~0u,
			      .len_known = true };
	uint32_t n = p->nrules, hidden = hidden_keys(SG_SYSCALL_SENDTO);
	struct vet_rule *v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const struct sg_policy_rule *rule = &p->rules[i];

		v[i].a = reg_match(rule, r);
		v[i].b = reg_match(rule, &c) == TV_T;
		v[i].hf = !(rule->keys & hidden);
		v[i].never = never_matches(rule, SG_SYSCALL_SENDTO);
		v[i].coupled = !(rule->keys & KEYS_IDENT);
		v[i].act = rule->action;
	}
	*out = true;
	for (uint32_t j = 0; j <= n && *out; j++) {
		bool feasible = true;

		if (j < n && (v[j].a == TV_F || v[j].never || v[j].act == SG_VERDICT_ALLOW))
			continue;
		if (j == n && p->default_action == SG_VERDICT_ALLOW)
			continue;
		for (uint32_t i = 0; i < n; i++)
			v[i].hs = -1;
		/* every rule before j that the registers say matches must not match in hiding */
		for (uint32_t i = 0; i < j && feasible; i++) {
			if (v[i].a != TV_T || v[i].never)
				continue;
			if (v[i].hf)
				feasible = false;
			v[i].hs = 0;
		}
		if (!feasible)
			continue;
		if (j < n)
			v[j].hs = 1;
		if (connect_passes(v, n, p->default_action))
			*out = false;
	}
	free(v);
	return 0;
}

bool run_plan_allows(const struct sg_policy *p, const struct run_regs *r)
{
	bool ok;

	if (simple_allows(p, r))
		return true;
	if (r->syscall != SG_SYSCALL_SENDTO || r->dest != RUN_DEST_NULL)
		return false;
	return vetted_allows(p, r, &ok) == 0 && ok;
}

/* --- decision trees -------------------------------------------------------- */

struct builder {
	const struct sg_policy *p;
	struct run_tree *t;
	int max_nodes;
	int budget; /* classes examined, bounded so that many flags cannot explode */
	int err;
};

static int node_new(struct builder *b)
{
	struct run_tree *t = b->t;

	if (t->n == t->cap) {
		int cap = t->cap ? t->cap * 2 : 16;
		struct run_node *nn = realloc(t->nodes, (size_t)cap * sizeof(*nn));

		if (!nn) {
			b->err = -ENOMEM;
			return -1;
		}
		t->nodes = nn;
		t->cap = cap;
	}
	memset(&t->nodes[t->n], 0, sizeof(t->nodes[0]));
	return t->n++;
}

/* The variables still worth splitting on: bits and lengths of rules not yet decided. */
static void undecided(const struct builder *b, const struct run_regs *r, uint32_t *bits, bool *len)
{
	*bits = 0;
	*len = false;
	for (uint32_t i = 0; i < b->p->nrules; i++) {
		const struct sg_policy_rule *rule = &b->p->rules[i];

		if (never_matches(rule, r->syscall) || reg_match(rule, r) != TV_U)
			continue;
		if (HAS(rule, FLAGS_ANY))
			*bits |= rule->flags_any & ~r->flags_known;
		if (HAS(rule, FLAGS_ALL))
			*bits |= rule->flags_all & ~r->flags_known;
		if (HAS(rule, FLAGS_NONE))
			*bits |= rule->flags_none & ~r->flags_known;
		if (!has_msghdr(r->syscall) && (HAS(rule, LEN_MIN) || HAS(rule, LEN_MAX)))
			*len = true;
	}
}

/* A length boundary strictly inside [lo, hi): "len <= v" splits it. */
static bool len_split(const struct builder *b, const struct run_regs *r, uint64_t *v)
{
	uint64_t best = 0;
	bool found = false;

	for (uint32_t i = 0; i < b->p->nrules; i++) {
		const struct sg_policy_rule *rule = &b->p->rules[i];
		uint64_t cand[2];
		int nc = 0;

		if (HAS(rule, LEN_MIN) && rule->len_min > 0)
			cand[nc++] = rule->len_min - 1;
		if (HAS(rule, LEN_MAX))
			cand[nc++] = rule->len_max;
		for (int k = 0; k < nc; k++) {
			if (cand[k] >= r->len_lo && cand[k] < r->len_hi) {
				/* the boundary nearest the middle keeps the tree shallow */
				uint64_t mid = r->len_lo + (r->len_hi - r->len_lo) / 2;
				uint64_t d = cand[k] > mid ? cand[k] - mid : mid - cand[k];
				uint64_t bd = best > mid ? best - mid : mid - best;

				if (!found || d < bd)
					best = cand[k];
				found = true;
			}
		}
	}
	*v = best;
	return found;
}

static int build(struct builder *b, struct run_regs r)
{
	int id = node_new(b), yes, no;
	struct run_regs ry = r, rn = r;
	struct run_node *nd;
	uint32_t bits;
	bool len;
	uint64_t v;

	if (id < 0)
		return -1;
	if (run_plan_allows(b->p, &r)) {
		b->t->nodes[id].kind = RUN_LEAF_ALLOW;
		return id;
	}
	b->t->nodes[id].kind = RUN_LEAF_NOTIFY;
	if (--b->budget < 0 || b->t->n + 2 > b->max_nodes) {
		b->t->truncated = true;
		return id;
	}
	undecided(b, &r, &bits, &len);
	if (r.syscall == SG_SYSCALL_SENDTO && r.dest == RUN_DEST_UNKNOWN) {
		b->t->nodes[id].kind = RUN_TEST_DEST_NULL;
		ry.dest = RUN_DEST_NULL;
		rn.dest = RUN_DEST_GIVEN;
	} else if (bits) {
		unsigned int bit = (unsigned int)__builtin_ctz(bits);

		b->t->nodes[id].kind = RUN_TEST_FLAG;
		b->t->nodes[id].value = bit;
		ry.flags_known |= 1u << bit;
		ry.flags_val |= 1u << bit;
		rn.flags_known |= 1u << bit;
		rn.flags_val &= ~(1u << bit);
	} else if (len && len_split(b, &r, &v)) {
		b->t->nodes[id].kind = RUN_TEST_LEN_LE;
		b->t->nodes[id].value = v;
		ry.len_hi = v;
		rn.len_lo = v + 1;
	} else {
		return id;
	}
	yes = build(b, ry);
	no = yes < 0 ? -1 : build(b, rn);
	if (yes < 0 || no < 0)
		return -1;
	nd = &b->t->nodes[id];
	nd->yes = yes;
	nd->no = no;
	/* two equal leaves: the test decides nothing (they are the last nodes made) */
	if (b->t->nodes[yes].kind <= RUN_LEAF_NOTIFY &&
	    b->t->nodes[yes].kind == b->t->nodes[no].kind && no == yes + 1 && no == b->t->n - 1) {
		nd->kind = b->t->nodes[yes].kind;
		nd->value = 0;
		nd->yes = nd->no = 0;
		b->t->n = id + 1;
	}
	return id;
}

int run_tree_build(const struct sg_policy *p, uint32_t syscall, int max_nodes, struct run_tree *t)
{
	struct builder b = { .p = p, .t = t, .max_nodes = max_nodes, .budget = 4096 };
	struct run_regs r = { .syscall = syscall };

	memset(t, 0, sizeof(*t));
	t->syscall = syscall;
	if (syscall == SG_SYSCALL_SENDTO) {
		r.len_known = true;
		r.len_hi = UINT64_MAX;
	} else if (syscall == SG_SYSCALL_CONNECT) {
		r.flags_known = ~0u;
		r.len_known = true;
	}
	if (max_nodes < 1)
		return -EINVAL;
	if (build(&b, r) < 0) {
		run_tree_free(t);
		return b.err ? b.err : -ENOMEM;
	}
	return 0;
}

void run_tree_free(struct run_tree *t)
{
	if (!t)
		return;
	free(t->nodes);
	t->nodes = NULL;
	t->n = t->cap = 0;
}

int run_tree_eval(const struct run_tree *t, uint32_t flags, uint64_t len, bool dest_null)
{
	int i = 0;

	for (;;) {
		const struct run_node *nd = &t->nodes[i];
		bool c;

		switch (nd->kind) {
		case RUN_LEAF_ALLOW:
		case RUN_LEAF_NOTIFY:
			return nd->kind;
		case RUN_TEST_DEST_NULL:
			c = dest_null;
			break;
		case RUN_TEST_FLAG:
			c = flags & (1u << nd->value);
			break;
		default:
			c = len <= nd->value;
			break;
		}
		i = c ? nd->yes : nd->no;
	}
}

/* --- the BPF program --------------------------------------------------------- */

#define MAX_LABELS 4096

struct emitter {
	struct sock_filter *insn;
	int n;
	int cap;
	int label_pos[MAX_LABELS]; /* -1: not placed yet */
	int nlabels;
	struct {
		int at;
		int label;
	} * fix;
	int nfix;
	int capfix;
	int err;
};

static void emit(struct emitter *e, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (e->err)
		return;
	if (e->n == e->cap) {
		int cap = e->cap ? e->cap * 2 : 256;
		struct sock_filter *ni = realloc(e->insn, (size_t)cap * sizeof(*ni));

		if (!ni) {
			e->err = -ENOMEM;
			return;
		}
		e->insn = ni;
		e->cap = cap;
	}
	e->insn[e->n++] = (struct sock_filter){ code, jt, jf, k };
}

static int label_new(struct emitter *e)
{
	if (e->nlabels >= MAX_LABELS) {
		e->err = -E2BIG;
		return 0;
	}
	e->label_pos[e->nlabels] = -1;
	return e->nlabels++;
}

static void label_here(struct emitter *e, int l)
{
	e->label_pos[l] = e->n;
}

/* An unconditional jump to a label (resolved at the end: 32-bit offsets). */
static void jump(struct emitter *e, int l)
{
	if (e->nfix == e->capfix) {
		int cap = e->capfix ? e->capfix * 2 : 128;
		void *nf = realloc(e->fix, (size_t)cap * sizeof(*e->fix));

		if (!nf) {
			e->err = -ENOMEM;
			return;
		}
		e->fix = nf;
		e->capfix = cap;
	}
	e->fix[e->nfix].at = e->n;
	e->fix[e->nfix].label = l;
	e->nfix++;
	emit(e, BPF_JMP | BPF_JA, 0, 0, 0);
}

/* if (A op k) goto yes; else goto no */
static void branch(struct emitter *e, uint16_t op, uint32_t k, int yes, int no)
{
	emit(e, BPF_JMP | op | BPF_K, k, 0, 1);
	jump(e, yes);
	jump(e, no);
}

static uint32_t arg_lo(int i)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint32_t)(offsetof(struct seccomp_data, args) + 8 * i);
#else
	return (uint32_t)(offsetof(struct seccomp_data, args) + 8 * i + 4);
#endif
}

static uint32_t arg_hi(int i)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint32_t)(offsetof(struct seccomp_data, args) + 8 * i + 4);
#else
	return (uint32_t)(offsetof(struct seccomp_data, args) + 8 * i);
#endif
}

static void load(struct emitter *e, uint32_t off)
{
	emit(e, BPF_LD | BPF_W | BPF_ABS, off, 0, 0);
}

static void ret(struct emitter *e, uint32_t action)
{
	emit(e, BPF_RET | BPF_K, action, 0, 0);
}

static int flags_arg(uint32_t syscall)
{
	return syscall == SG_SYSCALL_SENDMSG ? 2 : 3;
}

/* Node i of t at label l; its subtrees after it. */
static void emit_node(struct emitter *e, const struct run_tree *t, int i, int l)
{
	const struct run_node *nd = &t->nodes[i];
	int yes, no, mid, mid2;

	label_here(e, l);
	switch (nd->kind) {
	case RUN_LEAF_ALLOW:
		ret(e, SECCOMP_RET_ALLOW);
		return;
	case RUN_LEAF_NOTIFY:
		ret(e, SECCOMP_RET_USER_NOTIF);
		return;
	}
	yes = label_new(e);
	no = label_new(e);
	switch (nd->kind) {
	case RUN_TEST_DEST_NULL:
		mid = label_new(e);
		load(e, arg_lo(4));
		branch(e, BPF_JEQ, 0, mid, no);
		label_here(e, mid);
		load(e, arg_hi(4));
		branch(e, BPF_JEQ, 0, yes, no);
		break;
	case RUN_TEST_FLAG:
		load(e, arg_lo(flags_arg(t->syscall)));
		branch(e, BPF_JSET, 1u << nd->value, yes, no);
		break;
	default: /* RUN_TEST_LEN_LE: arg 2 <= value, 64-bit unsigned */
		mid = label_new(e);
		mid2 = label_new(e);
		load(e, arg_hi(2));
		branch(e, BPF_JGT, (uint32_t)(nd->value >> 32), no, mid);
		label_here(e, mid);
		branch(e, BPF_JEQ, (uint32_t)(nd->value >> 32), mid2, yes);
		label_here(e, mid2);
		load(e, arg_lo(2));
		branch(e, BPF_JGT, (uint32_t)nd->value, no, yes);
		break;
	}
	emit_node(e, t, nd->yes, yes);
	emit_node(e, t, nd->no, no);
}

struct dispatch {
	int nr;
	int label;
};

int run_filter_build(const struct run_tree trees[4], const struct run_filter_opts *o,
		     struct sock_fprog *prog)
{
	static const int judged_nr[4] = { SYS_sendto, SYS_sendmsg, SYS_sendmmsg, SYS_connect };
	static const int notify_nr[] = {
		SYS_execve,   SYS_execveat, SYS_exit,	   SYS_setuid,	  SYS_setgid,
		SYS_setreuid, SYS_setregid, SYS_setresuid, SYS_setresgid,
	};
	static const int uring_nr[] = { SYS_io_uring_setup, SYS_io_uring_enter,
					SYS_io_uring_register };
	struct emitter *e = calloc(1, sizeof(*e));
	int kill, notify, allow, uring, eperm, l_ptrace, l_pid0, l_prctl, err;
	struct dispatch d[32];
	int nd = 0;

	if (!e)
		return -ENOMEM;
	kill = label_new(e);
	notify = label_new(e);
	allow = label_new(e);
	uring = label_new(e);
	eperm = label_new(e);
	l_ptrace = label_new(e);
	l_pid0 = label_new(e);
	l_prctl = label_new(e);

	load(e, offsetof(struct seccomp_data, arch));
	emit(e, BPF_JMP | BPF_JEQ | BPF_K, o->arch, 1, 0);
	jump(e, kill);
	load(e, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	/* x32 system calls carry the native arch with bit 30 set in nr: a foreign ABI */
	emit(e, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
	jump(e, kill);
#endif
	for (int i = 0; i < 4; i++) {
		d[nd].nr = judged_nr[i];
		d[nd++].label = o->trace_all ? notify : label_new(e);
	}
	for (size_t i = 0; i < sizeof(notify_nr) / sizeof(notify_nr[0]); i++)
		d[nd++] = (struct dispatch){ notify_nr[i], notify };
	for (size_t i = 0; i < sizeof(uring_nr) / sizeof(uring_nr[0]); i++)
		d[nd++] = (struct dispatch){ uring_nr[i], uring };
	d[nd++] = (struct dispatch){ SYS_ptrace, l_ptrace };
	d[nd++] = (struct dispatch){ SYS_process_vm_readv, l_pid0 };
	d[nd++] = (struct dispatch){ SYS_process_vm_writev, l_pid0 };
	d[nd++] = (struct dispatch){ SYS_pidfd_open, l_pid0 };
	d[nd++] = (struct dispatch){ SYS_prctl, l_prctl };
	for (int i = 0; i < nd; i++) {
		emit(e, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)d[i].nr, 0, 1);
		jump(e, d[i].label);
	}
	ret(e, SECCOMP_RET_ALLOW);
	/* ptrace(request, pid, ...); process_vm_readv/writev(pid, ...), pidfd_open(pid, ...) */
	label_here(e, l_ptrace);
	load(e, arg_lo(1));
	branch(e, BPF_JEQ, o->supervisor_pid, eperm, allow);
	label_here(e, l_pid0);
	load(e, arg_lo(0));
	branch(e, BPF_JEQ, o->supervisor_pid, eperm, allow);
	label_here(e, l_prctl);
	load(e, arg_lo(0));
	branch(e, BPF_JEQ, PR_SET_NAME, notify, allow);
	if (!o->trace_all) {
		for (int i = 0; i < 4; i++)
			emit_node(e, &trees[i], 0, d[i].label);
	}
	/* classic BPF jumps only forward: the shared returns come last */
	label_here(e, allow);
	ret(e, SECCOMP_RET_ALLOW);
	label_here(e, kill);
	ret(e, SECCOMP_RET_KILL_PROCESS);
	label_here(e, notify);
	ret(e, SECCOMP_RET_USER_NOTIF);
	label_here(e, uring);
	ret(e, SECCOMP_RET_ERRNO | ENOSYS);
	label_here(e, eperm);
	ret(e, SECCOMP_RET_ERRNO | EPERM);

	err = e->err;
	for (int i = 0; !err && i < e->nfix; i++) {
		int to = e->label_pos[e->fix[i].label];

		if (to < 0 || to <= e->fix[i].at)
			err = -EINVAL; /* a label never placed, or a backward jump */
		else
			e->insn[e->fix[i].at].k = (uint32_t)(to - e->fix[i].at - 1);
	}
	if (!err && e->n > BPF_MAXINSNS)
		err = -E2BIG;
	if (err) {
		free(e->insn);
	} else {
		prog->filter = e->insn;
		prog->len = (unsigned short)e->n;
	}
	free(e->fix);
	free(e);
	return err;
}
