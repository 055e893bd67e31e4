/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The user-space twin of the BPF evaluator (policy_twin.c): the steps of
 * bpf/policy.bpf.h on the entries of a compiled policy (policy_compile.h).
 * The tests compare it with the reference evaluator sg_policy_eval().
 *
 * Library code: never prints, never exits.
 */
#ifndef SG_POLICY_TWIN_H
#define SG_POLICY_TWIN_H

#include <stdbool.h>
#include <stdint.h>

#include "policy_compile.h"
#include "sendguard.h"

/*
 * The user-space twin of sg_policy_judge() (bpf/policy.bpf.h), on c's
 * entries. cgroup_ids are the ids of the sender's cgroup and its ancestors,
 * root first (level 0) and the sender's own cgroup last (as
 * bpf_get_current_ancestor_cgroup_id(0..n-1) returns them); n 0: unknown.
 * Sets *rule (SG_NO_RULE when the default decided) and *verdict. Returns 0.
 */
int sg_compiled_eval(const struct sg_compiled *c, const struct sg_event *e,
		     const uint64_t *cgroup_ids, uint32_t ncgroup_ids, uint16_t *rule,
		     uint8_t *verdict);

/*
 * The judgement of the cgroup enforcement hooks (SG_EVAL_HOOK, "Enforcement
 * hooks" in sendguard.h) on c's entries: the fields of e a hook cannot see
 * (syscall, msg_flags, cmsgs, len) are ignored. *deny: the hook fails the
 * call with EPERM; *rule: the rule that decided (SG_NO_RULE: the default).
 */
int sg_compiled_eval_hook(const struct sg_compiled *c, const struct sg_event *e,
			  const uint64_t *cgroup_ids, uint32_t ncgroup_ids, uint16_t *rule,
			  bool *deny);

#endif /* SG_POLICY_TWIN_H */
