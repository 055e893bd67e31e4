/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Enforcement: the cgroup sock_addr programs (bpf/enforce.bpf.c) and the
 * BPF-LSM program (bpf/lsm.bpf.c), each probed by loading, attached where the
 * kernel takes them, and the per-rule report of what enforces what.
 */
#ifndef SG_ENFORCE_H
#define SG_ENFORCE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "policy.h"

struct trace_bpf;
struct enforce_bpf;
struct lsm_bpf;
struct bpf_link;

/* The cgroup hooks, in the order of enforce_hook_names. */
enum enforce_hook {
	ENF_CONNECT4 = 0,
	ENF_SENDMSG4,
	ENF_CONNECT6,
	ENF_SENDMSG6,
	ENF_CONNECT_UNIX,
	ENF_SENDMSG_UNIX,
	ENF_NHOOKS
};

/* The BPF-LSM programs (lsm.bpf.c), attached together. */
enum enforce_lsm_prog { ENF_LSM_SENDMSG = 0, ENF_LSM_UNIX_SEND, ENF_LSM_UNIX_CONNECT, ENF_NLSM };

struct enforce {
	struct enforce_bpf *cg;
	struct lsm_bpf *lsm;
	struct bpf_link *links[ENF_NHOOKS]; /* NULL: not attached */
	bool avail[ENF_NHOOKS]; /* the kernel attached it when probed */
	int cg_fd; /* the cgroup the hooks attach to (valid once started) */
	char cg_dir[PATH_MAX];
	struct bpf_link *lsm_links[ENF_NLSM]; /* pinned with --persist */
	struct bpf_link *lsm_old[ENF_NLSM]; /* an earlier --persist run's, until ours are up */
	int hook_err[ENF_NHOOKS]; /* why a hook is not attached (-errno) */
	int lsm_err; /* why BPF-LSM is not in use (-errno), 0 when it is */
	const char *cgroup; /* where the hooks are attached, as given */
	bool off; /* --no-enforce: nothing loaded, every deny observe-only */
	bool persist; /* --persist: pin the links (they outlive the daemon) */
	bool no_lsm; /* --no-lsm: the cgroup hooks only */
	int adopted; /* links taken over from an earlier --persist run */
	int variant_limit; /* the best program variant to try (--bpf-variant) */
	int cg_variant; /* the variant of the cgroup programs loaded */
	int lsm_variant; /* the variant of the BPF-LSM program loaded */
	bool started; /* enforce__start ran */
	bool applied; /* enforce__apply ran once */
};

/*
 * Load the enforcement programs on the tracing object's policy maps, sg_denied
 * and ring buffer (call once a policy is in force: they judge from the first
 * call on), probe the cgroup hooks on cgroup_dir (an absolute path of a
 * cgroup v2 directory, "" for none; label names it in the log) and the LSM
 * program by attaching them; enforce__apply then keeps what the policy needs.
 * Whatever the kernel refuses is logged once and left out and 0 returned,
 * unless cgroup_required (--cgroup named the cgroup): then a cgroup where no
 * hook can be attached is -errno. -EINVAL for bad arguments.
 */
int enforce__start(struct enforce *en, struct trace_bpf *trace, const char *cgroup_dir,
		   const char *label, bool cgroup_required);
/* Are the BPF-LSM programs attached (the policy in force can deny)? */
bool enforce__lsm_attached(const struct enforce *en);
/* Can a deny be enforced at all here: not --no-enforce, and a mechanism loaded? */
bool enforce__available(const struct enforce *en);
/*
 * Attach the hooks while p can deny (sg_policy_hook_can_deny: the cgroup
 * hooks; sg_policy_can_deny: BPF-LSM), detach them while it cannot (with
 * --persist, their pins too): a hook that can only let calls through would
 * cost every send. Call after enforce__start with the first policy, before a
 * reload switches to a policy that can deny, and after every reload.
 * 0, or -errno when a mechanism available since the start could not be
 * attached (the reason in why): p would not be enforced as reported.
 */
int enforce__apply(struct enforce *en, const struct sg_policy *p, char *why, size_t why_len);
/*
 * For every rule of p, then for its default (rule NULL): what enforces it
 * here, as text ("cgroup / (connect, ...)", "observe-only (...)", ...).
 */
void enforce__coverage(const struct enforce *en, const struct sg_policy *p,
		       void (*fn)(void *ctx, const char *rule, uint32_t action, const char *how),
		       void *ctx);
/* "connect4", "sendmsg4", ... for an enum enforce_hook value; NULL out of range. */
const char *enforce__hook_name(int h);
/* Did the kernel take cgroup hook h when probed; is it attached now? */
bool enforce__hook_available(const struct enforce *en, int h);
bool enforce__hook_attached(const struct enforce *en, int h);
/* The BPF variant of the cgroup programs and of the BPF-LSM programs loaded, NULL: none. */
const char *enforce__hooks_variant(const struct enforce *en);
const char *enforce__lsm_variant(const struct enforce *en);
/* The cgroup the hooks were started on, as given; NULL before enforce__start. */
const char *enforce__cgroup(const struct enforce *en);
/* Why no deny can be enforced (--no-enforce, no mechanism), NULL when one can. */
const char *enforce__off_reason(const struct enforce *en);
/* BPF-LSM's state as text: "attached", "available", "unavailable: WHY", "not loaded". */
void enforce__lsm_state(const struct enforce *en, char *buf, size_t len);
/* Log, for every rule of p and for its default, what enforces it here. */
void enforce__report(const struct enforce *en, const struct sg_policy *p);
/*
 * The count of connect events the ring buffer had no room for, of the cgroup
 * hooks or (lsm) of BPF-LSM's unix connect hook, or NULL.
 */
const volatile __u64 *enforce__lost_counter(const struct enforce *en, bool lsm);
/* Detach the hooks; the objects (and their counters) stay until enforce__stop. */
void enforce__detach(struct enforce *en);
/* Detach and unload. Accepts a zeroed struct. */
void enforce__stop(struct enforce *en);

#endif
