/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Flows: allowed sends counted in the kernel instead of exported one by one
 * (sendguardd --flows; the protocol is described in sendguard.h, "Flows").
 *
 * A send is either counted into its flow here (sg_flow_count() returns true:
 * no event) or exported as a full event: the first send of a flow, a send
 * into a flow the daemon may be evicting, a send the table had no room for.
 * Nothing in between: every send is an event or inside a flow's count.
 *
 * Included by trace.bpf.c after policy.bpf.h (sg_pol_active, sg_pol_cfg,
 * sg_pol_rules). Every kernel of the floor takes it: plain atomic adds
 * without fetch (5.10 has them), hash map lookups and updates, and
 * bpf_probe_read_kernel for a unix address of variable length.
 */
#ifndef SENDGUARD_FLOWS_BPF_H
#define SENDGUARD_FLOWS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sendguard.h"
#include "sock.bpf.h"

/* Set by user space before load. */
const volatile __u32 flows_on = SG_FLOWS_OFF; /* SG_FLOWS_* */
const volatile __u64 flow_idle_ns = 10000000000ULL; /* see sendguard.h */

/* Written by user space at run time: raised before each round of flow records. */
__u32 flow_epoch = 0;
/* Read by user space: first sends of a flow the table had no room for (full events). */
__u64 flow_table_full = 0;
/* Read by user space: sends into a flow idle for flow_idle_ns (events): evict it soon. */
__u64 flow_stale = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* user space sets --flow-table-size when flows are on */
	__type(key, struct sg_flow_key);
	__type(value, struct sg_flow_val);
} sg_flows SEC(".maps");

/* The key (and a new entry's value) are built here: off the 512-byte stack. */
struct sg_flow_scratch {
	struct sg_flow_key k;
	struct sg_flow_val v;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_flow_scratch);
} sg_flow_buf SEC(".maps");

/*
 * Whether e may be counted into a flow: allowed (deny, audit and kill are
 * always events), sent or failed (not a sendmmsg message the kernel did not
 * get to), no control messages, a whole address, and its rule (or the
 * default) exports flows under the daemon's mode. The rule is read from the
 * slot that judged e; after a reload flipped the slot, e is an event.
 */
static __always_inline bool sg_flow_wanted(const struct sg_event *e)
{
	const struct sg_policy_cfg *cfg;
	const struct sg_rule_rt *rt;
	__u32 zero = 0, slot, k;
	__u32 *active;
	__u8 ex = SG_EXPORT_DEFAULT;

	if (e->verdict != SG_VERDICT_ALLOW || (e->ret < 0 && !e->err) ||
	    (e->flags & (SG_EF_CONTROL | SG_EF_ADDR_TRUNC)))
		return false;
	if (e->rule != SG_RULE_DEFAULT) {
		active = bpf_map_lookup_elem(&sg_pol_active, &zero);
		if (!active)
			return false;
		slot = *active & 1;
		cfg = bpf_map_lookup_elem(&sg_pol_cfg, &slot);
		if (!cfg || cfg->version != e->policy_version)
			return false;
		k = slot * SG_MAX_RULES + (e->rule & (SG_MAX_RULES - 1));
		rt = bpf_map_lookup_elem(&sg_pol_rules, &k);
		if (!rt)
			return false;
		ex = rt->export;
	}
	if (ex == SG_EXPORT_EVENTS)
		return false;
	return ex == SG_EXPORT_FLOWS || flows_on == SG_FLOWS_ALL;
}

/*
 * The destination part of the key: inet and inet6 without the bytes the
 * kernel ignores (sin_zero, sin6_flowinfo), anything else as given; zero
 * past it (k is zeroed), so equal destinations give equal keys.
 */
static __always_inline void sg_flow_key_addr(struct sg_flow_key *k, const struct sg_event *e)
{
	__u16 family = *(const __u16 *)e->addr;
	__u32 n = e->addr_len;

	k->addr_len = n;
	if (family == SG_AF_INET && n >= 8) {
		__builtin_memcpy(k->addr, e->addr, 8);
	} else if (family == SG_AF_INET6 && n >= 24) {
		__builtin_memcpy(k->addr, e->addr, 4);
		__builtin_memcpy(k->addr + 8, e->addr + 8, 16);
		if (n >= 28)
			__builtin_memcpy(k->addr + 24, e->addr + 24, 4);
	} else if (n) {
		__u64 len = n;

		/* Keep the bound visible to the verifier in the register passed on. */
		barrier_var(len);
		if (len > SG_ADDR_MAX)
			return;
		bpf_probe_read_kernel(k->addr, len, e->addr);
	}
}

static __always_inline void sg_flow_key_fill(struct sg_flow_key *k, const struct sg_event *e)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->cgroup_id = e->cgroup_id;
	k->exe_ino = e->exe_ino;
	k->exe_dev = e->exe_dev;
	k->pid = e->pid;
	k->uid = e->uid;
	k->gid = e->gid;
	k->msg_flags = e->msg_flags;
	k->policy_version = e->policy_version;
	k->err = e->ret < 0 ? e->err : 0;
	k->rule = e->rule;
	k->sock_family = e->sock_family;
	k->sock_type = e->sock_type;
	k->sock_protocol = e->sock_protocol;
	k->syscall = e->syscall;
	k->dst_source = e->dst_source;
	k->ev_flags = e->flags & (SG_EF_SOCK | SG_EF_EXE);
	if (e->dst_source != SG_DST_NONE)
		sg_flow_key_addr(k, e);
}

/* Count e into its flow (true: no event), or leave it a full event (false). */
static __always_inline bool sg_flow_count(const struct sg_event *e)
{
	struct sg_flow_scratch *sc;
	struct sg_flow_val *f;
	__u64 now = e->ts_ns;
	__u32 zero = 0, epoch, s;

	if (flows_on == SG_FLOWS_OFF || !sg_flow_wanted(e))
		return false;
	sc = bpf_map_lookup_elem(&sg_flow_buf, &zero);
	if (!sc)
		return false;
	sg_flow_key_fill(&sc->k, e);
	f = bpf_map_lookup_elem(&sg_flows, &sc->k);
	if (!f) {
		/* The first send of the flow: an event, and the flow's entry. */
		__builtin_memset(&sc->v, 0, sizeof(sc->v));
		sc->v.first_ns = now;
		sc->v.last_ns = now;
		__builtin_memcpy(sc->v.comm, e->comm, SG_COMM_LEN);
		if (bpf_map_update_elem(&sg_flows, &sc->k, &sc->v, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&sg_flows, &sc->k))
			__sync_fetch_and_add(&flow_table_full, 1);
		return false;
	}
	/* Idle that long: the daemon may be evicting it. (Another CPU may have stored a later time.) */
	if ((__s64)(now - f->last_ns) >= (__s64)flow_idle_ns) {
		__sync_fetch_and_add(&flow_stale, 1);
		return false;
	}
	epoch = flow_epoch;
	s = epoch & 1;
	if (f->win_epoch[s] != epoch) {
		f->win_epoch[s] = epoch;
		f->win_first[s] = now;
	}
	__sync_fetch_and_add(&f->count, 1);
	if (e->ret > 0)
		__sync_fetch_and_add(&f->bytes, e->ret);
	f->last_ns = now;
	return true;
}

#endif /* SENDGUARD_FLOWS_BPF_H */
