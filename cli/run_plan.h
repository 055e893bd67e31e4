/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The seccomp filter of `sendguard run` (docs/sandbox.md): which judged calls
 * the kernel can let through on what it sees in registers, and the classic BPF
 * program that does so.
 *
 * A call's registers give its syscall, its flags (sendto arg 3, sendmsg arg 2,
 * sendmmsg arg 3), sendto's length (arg 2) and whether sendto names a
 * destination (arg 4 == NULL, all 64 bits). Everything else a policy can match
 * on is hidden from the filter: the socket (family, type, protocol), the
 * destination (memory, or the peer), control messages and sendmsg lengths
 * (memory) and the sender's identity (comm, exe, uid, gid, cgroup).
 *
 * run_plan_allows() decides, for one class of register values, whether the
 * reference evaluator (sg_policy_eval) gives "allow" for every value the
 * hidden keys can take: then the kernel lets the call through and nothing is
 * logged. Otherwise the call goes to the supervisor (SECCOMP_RET_USER_NOTIF),
 * which judges it whole. "allow" only: audit, deny and kill are written as
 * events, so they always reach the supervisor.
 *
 * One refinement: a sendto without a destination goes to the socket's peer.
 * For a socket connected inside the sandbox, that peer passed connect() under
 * this policy (verdict allow or audit), with the same socket and, when the
 * sender did not change, the same identity. The class is then let through
 * when no assignment of the hidden keys makes connect pass and this send not
 * allow; rules with identity keys are taken as possibly different between
 * the two calls. Sockets whose peer never passed connect() in the sandbox
 * (inherited, accepted, socketpair) are not covered: docs/sandbox.md.
 *
 * Library-style code: no output, no exit; 0 or -errno.
 */
#ifndef SG_RUN_PLAN_H
#define SG_RUN_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/filter.h>

#include "policy.h"

/* What the registers of one class of calls say (see run_plan_allows). */
struct run_regs {
	uint32_t syscall; /* SG_SYSCALL_* */
	uint32_t flags_known; /* flag bits whose value is known */
	uint32_t flags_val; /* their values (only bits in flags_known count) */
	bool len_known; /* sendto: the length lies in [len_lo, len_hi] */
	uint64_t len_lo;
	uint64_t len_hi;
	int dest; /* sendto: RUN_DEST_* */
};

#define RUN_DEST_UNKNOWN 0
#define RUN_DEST_NULL	 1 /* no destination: the peer of a connected socket */
#define RUN_DEST_GIVEN	 2

/* Whether every call of class r is allowed by p, whatever the hidden keys hold. */
bool run_plan_allows(const struct sg_policy *p, const struct run_regs *r);

/* Node kinds of a decision tree. */
enum run_node_kind {
	RUN_LEAF_ALLOW = 0, /* the kernel lets it through */
	RUN_LEAF_NOTIFY, /* to the supervisor */
	RUN_TEST_DEST_NULL, /* sendto arg 4 == 0 (64 bits) */
	RUN_TEST_FLAG, /* flags arg & (1 << value) */
	RUN_TEST_LEN_LE, /* sendto arg 2 <= value (64 bits, unsigned) */
};

struct run_node {
	uint8_t kind;
	uint64_t value;
	int yes, no; /* child indices for tests */
};

/* The decision tree of one judged syscall: node 0 is the root. */
struct run_tree {
	uint32_t syscall;
	struct run_node *nodes;
	int n;
	int cap;
	bool truncated; /* the size limit was hit: some classes notify that need not */
};

/* Build the tree of syscall (SG_SYSCALL_*) for p, at most max_nodes nodes. */
int run_tree_build(const struct sg_policy *p, uint32_t syscall, int max_nodes, struct run_tree *t);
void run_tree_free(struct run_tree *t);
/* Walk t for concrete register values; returns RUN_LEAF_ALLOW or RUN_LEAF_NOTIFY. */
int run_tree_eval(const struct run_tree *t, uint32_t flags, uint64_t len, bool dest_null);

/* What the filter does besides the trees. */
struct run_filter_opts {
	uint32_t arch; /* AUDIT_ARCH_* of this build */
	uint32_t supervisor_pid; /* ptrace, process_vm_readv/writev, pidfd_open of it: EPERM */
	bool trace_all; /* every judged call notifies (--trace-all) */
};

/*
 * The whole program: native architecture only (others: kill the process),
 * the four judged syscalls by their trees, io_uring refused (ENOSYS), the
 * supervisor protected, and the identity-changing calls the supervisor's
 * process cache must hear of (execve, execveat, exit, prctl(PR_SET_NAME),
 * set*id) notified. trees: the four trees, indexed by SG_SYSCALL_* - 1.
 * Returns 0 and a malloc'ed program in *prog (free prog->filter), -E2BIG
 * when it exceeds BPF_MAXINSNS, -ENOMEM.
 */
int run_filter_build(const struct run_tree trees[4], const struct run_filter_opts *o,
		     struct sock_fprog *prog);

#endif /* SG_RUN_PLAN_H */
