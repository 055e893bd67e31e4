/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * When a program that writes send events wakes the daemon (trace.bpf.c and
 * paths.bpf.c; the maps are the tracing object's, shared by fd).
 */
#ifndef SENDGUARD_WAKEUP_BPF_H
#define SENDGUARD_WAKEUP_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sendguard.h"

/* Set by user space before load: per CPU, wake the consumer every this much. */
const volatile __u64 wakeup_bytes = 1 << 19;

/*
 * Executables and cgroups whose paths the daemon has resolved (it adds them):
 * the first send of a new one wakes the daemon at once, so that it can read
 * /proc/PID/exe and /proc/PID/cgroup while the sender still runs. A per-CPU
 * copy of the last known pair keeps the common case to one array lookup; the
 * same per-CPU value counts the bytes written since this CPU last woke the
 * consumer.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct sg_exe_id);
	__type(value, __u8);
} known_exe SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u8);
} known_cgroup SEC(".maps");

struct sg_last_known {
	struct sg_exe_id exe;
	__u64 cgroup_id;
	__u64 unwoken; /* bytes this CPU submitted since it last woke the consumer */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_last_known);
} last_known SEC(".maps");

static __always_inline bool sg_identity_known(struct sg_last_known *last, const struct sg_event *e)
{
	struct sg_exe_id id = { .ino = e->exe_ino, .dev = e->exe_dev };
	__u64 cgroup_id = e->cgroup_id; /* a key in ring buffer memory: 6.1 refuses it */

	if (last->exe.ino == id.ino && last->exe.dev == id.dev && last->cgroup_id == cgroup_id)
		return true;
	if ((e->flags & SG_EF_EXE) && !bpf_map_lookup_elem(&known_exe, &id))
		return false;
	if (!bpf_map_lookup_elem(&known_cgroup, &cgroup_id))
		return false;
	last->exe = id;
	last->cgroup_id = e->cgroup_id;
	return true;
}

/*
 * Wake the consumer once this CPU has written wakeup_bytes since its last
 * wakeup (user space sets it to a fraction of the ring per CPU, so the ring
 * cannot fill between wakeups unless the consumer falls behind), or for a
 * sender the daemon does not know yet; between wakeups it consumes on a
 * timer. Only per-CPU state is read: asking the ring how full it is
 * (bpf_ringbuf_query) reads the consumer's position, a cache line the
 * consumer writes on another CPU, and once past a threshold it would wake on
 * every send until the consumer caught up (make bench: ~3% of a send).
 */
static __always_inline __u64 sg_wakeup_flags(const struct sg_event *e)
{
	struct sg_last_known *last;
	__u32 zero = 0;

	last = bpf_map_lookup_elem(&last_known, &zero);
	if (!last)
		return 0; /* the kernel's default: wake when the consumer has caught up */
	last->unwoken += sizeof(*e);
	if (!sg_identity_known(last, e) || last->unwoken >= wakeup_bytes) {
		last->unwoken = 0;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
}

#endif /* SENDGUARD_WAKEUP_BPF_H */
