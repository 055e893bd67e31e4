// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The control socket's view of the daemon (views.h): the members of the
 * status and stats replies (docs/control.md), written with json.h's member
 * helpers and checked once, at the end.
 */
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "clock.h"
#include "enforce.h"
#include "events.h"
#include "flows.h"
#include "json.h"
#include "loader.h"
#include "names.h"
#include "policy_mgr.h"
#include "sinks.h"
#include "variant.h"
#include "views.h"

/* An array of the hooks available or (attached) attached. */
static void put_hooks(struct sg_outbuf *b, const struct enforce *en, const char *name,
		      bool attached)
{
	sg_json_key_arr(b, name);
	for (int h = 0; h < ENF_NHOOKS; h++) {
		if (attached ? !enforce__hook_attached(en, h) : !enforce__hook_available(en, h))
			continue;
		sg_json_elem_str(b, enforce__hook_name(h));
	}
	sg_json_arr_close(b);
}

/* One rule's (rule NULL: the default's) coverage, an element of "coverage". */
static void put_coverage(void *ctx, const char *rule, uint32_t action, const char *how)
{
	struct sg_outbuf *b = ctx;

	sg_json_elem_obj(b);
	sg_json_key_str(b, "rule", rule);
	sg_json_key_str(b, "action", sg_verdict_name(action));
	sg_json_key_str(b, "enforced_by", how);
	sg_json_obj_close(b);
}

static int view_status(struct sg_outbuf *b, void *ctx)
{
	struct ctl_view *v = ctx;
	const struct sg_policy *pol = policy_mgr__current(v->pm);
	const struct enforce *en = v->en;
	char lsm[128];

	sg_json_key_obj(b, "daemon");
	sg_json_key_u64(b, "pid", (uint64_t)getpid());
	sg_json_key(b, "started");
	if (sg_outbuf_room(b, SG_CLOCK_TS_JSON_LEN))
		sg_clock_put_ts(b, &v->p->clk, v->started_boot_ns);
	sg_json_key_u64(b, "uptime_s", (sg_clock_mono_ms() - v->started_mono_ms) / 1000);
	sg_json_key_str(b, "control", v->control);
	sg_json_key_arr(b, "sinks");
	for (int i = 0; i < v->nsinks; i++)
		sg_json_elem_str(b, sink__name(&v->sinks[i]));
	sg_json_arr_close(b);
	sg_json_key_obj(b, "bpf_variants");
	sg_json_key_str(b, "tracing", variant__name(v->variant));
	sg_json_key_str(b, "paths", variant__name(loader__paths_variant()));
	sg_json_key_str(b, "hooks", enforce__hooks_variant(en));
	sg_json_key_str(b, "lsm", enforce__lsm_variant(en));
	sg_json_obj_close(b);
	sg_json_obj_close(b);

	sg_json_key_obj(b, "policy");
	sg_json_key_str(b, "name", pol && pol->name[0] ? pol->name : NULL);
	sg_json_key_u64(b, "version", pol ? pol->version : 0);
	sg_json_key_str(b, "source", *v->policy_source);
	sg_json_key_u64(b, "rules", pol ? pol->nrules : 0);
	sg_json_key_str(b, "default", pol ? sg_verdict_name(pol->default_action) : NULL);
	sg_json_obj_close(b);

	sg_json_key_obj(b, "enforcement");
	/* "enforce" true only where a deny can be enforced (by what coverage says). */
	sg_json_key_bool(b, "enforce", enforce__available(en));
	sg_json_key_str(b, "off_reason", enforce__off_reason(en));
	sg_json_key_str(b, "cgroup", enforce__cgroup(en));
	put_hooks(b, en, "hooks_available", false);
	put_hooks(b, en, "hooks_attached", true);
	enforce__lsm_state(en, lsm, sizeof(lsm));
	sg_json_key_str(b, "lsm", lsm);
	sg_json_obj_close(b);

	/* A load that waits for its switch (its slot's grace), or null. */
	if (*v->pending) {
		sg_json_key_obj(b, "policy_pending");
		sg_json_key_str(b, "source", *v->pending_path);
		sg_json_obj_close(b);
	} else {
		sg_json_key_str(b, "policy_pending", NULL);
	}
	/* --flows: how sends are aggregated, or null. */
	if (v->p->flows) {
		const struct flows *f = v->p->flows;

		sg_json_key_obj(b, "flows");
		sg_json_key_str(b, "mode", f->mode == SG_FLOWS_ALL ? "all" : "rules");
		sg_json_key_u64(b, "interval_s", f->interval_ms / 1000);
		sg_json_key_u64(b, "table_size", f->max);
		sg_json_key_u64(b, "active", flows__active(f));
		sg_json_obj_close(b);
	} else {
		sg_json_key_str(b, "flows", NULL);
	}
	sg_json_key_arr(b, "coverage");
	if (pol)
		enforce__coverage(en, pol, put_coverage, b);
	sg_json_arr_close(b);

	sg_json_key_obj(b, "counters");
	sg_json_key_u64(b, "records", v->p->seq);
	sg_json_key_u64(b, "events", v->p->stats.events);
	sg_json_key_u64(b, "lost", v->p->stats.lost);
	sg_json_key_u64(b, "denied", v->p->stats.denied);
	sg_json_key_u64(b, "sink_errors", v->p->stats.sink_errors);
	sg_json_key_u64(b, "subscribers", control__subscribers(v->p->ctl));
	return sg_json_obj_close(b);
}

static int view_stats(struct sg_outbuf *b, void *ctx)
{
	struct ctl_view *v = ctx;

	pipeline__update_stats(v->p);
	return sg_stats_members_to_json(b, &v->p->stats);
}

static const struct sg_policy *view_policy(void *ctx, const char **source)
{
	struct ctl_view *v = ctx;

	*source = *v->policy_source;
	return policy_mgr__current(v->pm);
}

static int view_policy_load(void *ctx, const char *path, uint64_t client,
			    const struct sg_policy **now, struct sg_errlist *errs)
{
	struct ctl_view *v = ctx;

	return v->load(v->load_ctx, path, client, now, errs);
}

void ctl_view__ops(struct ctl_view *v, struct control_ops *ops)
{
	ops->status = view_status;
	ops->stats = view_stats;
	ops->policy = view_policy;
	ops->policy_load = view_policy_load;
	ops->ctx = v;
}
