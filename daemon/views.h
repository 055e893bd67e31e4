/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The control socket's view of the daemon (control.h's control_ops): the
 * status and stats replies and the policy in force, read from the pipeline,
 * the policy manager and the enforcer; policy loads are the daemon's (main.c).
 */
#ifndef SG_VIEWS_H
#define SG_VIEWS_H

#include <stdbool.h>
#include <stdint.h>

#include "control.h"

struct pipeline;
struct policy_mgr;
struct enforce;
struct sink;

/* What the views read. The daemon fills it in; what the pointers point to stays current. */
struct ctl_view {
	struct pipeline *p;
	struct policy_mgr *pm;
	const struct enforce *en;
	const char *control; /* the control socket's path */
	const struct sink *sinks;
	int nsinks;
	int variant; /* of the tracing programs loaded */
	uint64_t started_boot_ns, started_mono_ms;
	const char *const *policy_source; /* the policy file in force; NULL: the embedded default */
	const bool *pending; /* a load waits for its switch (its slot's grace) */
	char *const *pending_path; /* its file; NULL: the embedded default */
	/* control_ops.policy_load, called with load_ctx: the daemon's policy loads. */
	int (*load)(void *load_ctx, const char *path, uint64_t client, const struct sg_policy **now,
		    struct sg_errlist *errs);
	void *load_ctx;
};

/* The control_ops that answer from v (which must outlive the control socket). */
void ctl_view__ops(struct ctl_view *v, struct control_ops *ops);

#endif /* SG_VIEWS_H */
