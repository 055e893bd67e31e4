/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's policy in force: loading a file (or the embedded default),
 * compiling it into the inactive slot of the policy maps, and switching the
 * BPF programs to it with one store, so a send is judged entirely by one
 * version. Keeps the last few versions to name the rules of events that were
 * judged before a reload and read after it.
 */
#ifndef SG_POLICY_MGR_H
#define SG_POLICY_MGR_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"
#include "policy_compile.h"

struct bpf_object;

#define POLICY_MGR_RECENT 4

struct policy_mgr {
	int map_fd[SG_PMAP_COUNT];
	int active_fd; /* sg_pol_active */
	const char *cgroup2; /* cgroup v2 mount, NULL if none */
	uint32_t version; /* in force, 0 before the first load */
	int slot; /* active slot, -1 before the first load */
	uint64_t slot_free_ms[2]; /* a slot is rewritten only after this time */
	/* The load waiting for its slot (policy_mgr__prepare), NULL when none. */
	struct sg_policy *pending;
	struct sg_compiled *pending_c;
	uint8_t pending_slot;
	struct sg_compiled *compiled[2];
	struct sg_policy *recent[POLICY_MGR_RECENT]; /* by version % POLICY_MGR_RECENT */
	uint64_t *hits; /* per rule of the policy in force */
	uint64_t default_hits;
	const char **names; /* rule names of the policy in force, for stats */
	bool adopted; /* the maps hold a policy of an earlier (--persist) run */
	/*
	 * Called with the next policy, its maps written, just before the
	 * programs switch to it (the enforcement hooks attach there when it can
	 * deny, so that it is enforced from its first judged send). Not 0: the
	 * policy cannot be enforced as reported; the load is refused (the
	 * reason added to errs) and the policy in force stays.
	 */
	int (*before_switch)(const struct sg_policy *next, void *ctx, struct sg_errlist *errs);
	void *before_switch_ctx;
};

/* Parse, resolve and compile path (NULL: the default) without touching BPF: -n. */
int policy_mgr__check(const char *path, const char *cgroup2, struct sg_policy **out,
		      struct sg_errlist *errs, struct sg_errlist *warnings);
/* obj NULL: no BPF (tests). 0 or -errno. */
int policy_mgr__init(struct policy_mgr *m, struct bpf_object *obj, const char *cgroup2);
/*
 * A load in two steps, so that it never waits. prepare: parse, resolve and
 * compile path (NULL: the embedded default) as the next version, for the
 * inactive slot; it becomes the pending load (replacing one that was
 * pending). -errno with every problem in errs when it is refused; then the
 * pending load, if any, stays. Problems that do not refuse the policy (an
 * exe or cgroup that does not exist here: those entries match nothing) go to
 * warnings.
 */
int policy_mgr__prepare(struct policy_mgr *m, const char *path, struct sg_errlist *errs,
			struct sg_errlist *warnings);
/* The pending load, or NULL. */
const struct sg_policy *policy_mgr__pending(const struct policy_mgr *m);
/*
 * How long the pending load must still wait (ms) before its slot may be
 * rewritten: programs may judge by the slot for SLOT_GRACE_MS after it
 * stopped being active. 0: commit now (or nothing pending).
 */
uint64_t policy_mgr__pending_wait_ms(const struct policy_mgr *m);
/*
 * Write the pending load into its slot and switch the programs to it with
 * one store (before_switch first): 0 when it is in force; else -errno with
 * the reason in errs, and the policy in force stays. -EBUSY while its slot
 * is in its grace (nothing done), -ENOENT when nothing is pending.
 */
int policy_mgr__commit(struct policy_mgr *m, struct sg_errlist *errs);
/* Forget the pending load. */
void policy_mgr__drop_pending(struct policy_mgr *m);
const struct sg_policy *policy_mgr__current(const struct policy_mgr *m);
/* Name of rule of the given version; NULL for the default or an unknown version. */
const char *policy_mgr__rule_name(const struct policy_mgr *m, uint32_t version, uint16_t rule);
/* Count a judged send for the stats (only sends of the version in force). */
void policy_mgr__hit(struct policy_mgr *m, uint32_t version, uint16_t rule);
/* n sends of a flow record at once. */
void policy_mgr__hits(struct policy_mgr *m, uint32_t version, uint16_t rule, uint64_t n);
void policy_mgr__free(struct policy_mgr *m);

#endif
