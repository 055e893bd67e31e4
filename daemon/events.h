/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event pipeline: ring buffer records -> enrich (exe, cgroup) -> JSON
 * Lines with gap-free seq -> sinks. Lost kernel records become "lost"
 * records in the stream.
 */
#ifndef SG_EVENTS_H
#define SG_EVENTS_H

#include <stdint.h>

#include "control.h"
#include "event.h"
#include "sinks.h"

struct trace_bpf;
struct ring_buffer;
struct proc_cache;
struct policy_mgr;
struct control;
struct persist_state;
struct flows;

/* What the pipeline counted since the start, for the metrics (metrics.c). */
struct pipeline_counters {
	uint64_t records[SG_REC_NTYPES]; /* by enum sg_rec_type */
	uint64_t events[SG_SYSCALL_MAX + 1]; /* by SG_SYSCALL_* (0: unknown) */
	uint64_t verdicts[SG_VERDICT_KILL + 1]; /* by SG_VERDICT_* */
	uint64_t denials[SG_ENF_SIGNAL + 1]; /* deny and kill verdicts by SG_ENF_* */
	uint64_t lost_ringbuf; /* trace records the ring buffer had no room for */
	uint64_t lost_hooks; /* connect events of the enforcement hooks, likewise */
	uint64_t lost_skipped; /* program runs the kernel skipped (BPF recursion) */
	uint64_t lost_memory; /* records dropped in user space (no memory) */
	uint64_t policy_loaded, policy_refused;
	uint64_t ringbuf_peak; /* most bytes found waiting in the ring buffer at a drain */
	uint64_t flow_sends; /* sends carried by flow records (not events) */
};

#define SG_LOST_COUNTERS 4

struct pipeline {
	struct trace_bpf *skel;
	struct ring_buffer *rb;
	struct proc_cache *cache;
	struct policy_mgr *pm; /* names the rules of judged events */
	struct control *ctl; /* the control socket: backlog and subscribers; NULL: none */
	struct sg_clock clk;
	struct sg_outbuf out; /* pending JSON lines, flushed in batches */
	unsigned int out_records;
	struct sink *sinks;
	int nsinks;
	uint64_t seq; /* last seq written */
	/*
	 * Kernel counters of failed ring buffer reservations: the tracing
	 * programs' (the send syscalls', the other send paths'), counted as
	 * lost_ringbuf, and the enforcement hooks' (cgroup, BPF-LSM connect
	 * events), counted as lost_hooks.
	 */
	uint64_t lost_seen[SG_LOST_COUNTERS]; /* already reported */
	const volatile __u64 *lost_ctr[SG_LOST_COUNTERS];
	bool lost_hook[SG_LOST_COUNTERS];
	int nlost_ctr;
	const struct bpf_object *paths_obj; /* the other send paths' programs, or NULL */
	uint64_t misses_seen; /* program runs the kernel skipped (recursion) */
	uint64_t misses_checked_ms;
	uint64_t user_lost; /* records dropped in user space, not yet reported */
	uint64_t malformed; /* ring buffer records of unexpected size */
	struct sg_stats stats;
	/*
	 * A "loaded" record waits until the first event judged by its version,
	 * or until no send can still be judged by the previous one, so that it
	 * stands between the two versions' events in the stream.
	 */
	struct sg_policy_note note;
	int note_pending;
	uint64_t note_deadline_ms;
	/* --persist: the seq and time of the last record handed to the sinks, kept on disk. */
	struct persist_state *state;
	uint64_t last_ns; /* time (boot clock) of the record seq */
	struct pipeline_counters ctr;
	const volatile unsigned long *rb_cons, *rb_prod; /* the ring buffer's positions */
	struct flows *flows; /* --flows: the flow table (stats); NULL: off */
};

int pipeline__init(struct pipeline *p, struct trace_bpf *skel, struct policy_mgr *pm,
		   struct sink *sinks, int nsinks, const char *cgroup2_mnt);
void pipeline__free(struct pipeline *p);
int pipeline__epoll_fd(const struct pipeline *p);
/* Write flow record r (flows.c): 0, or -ENOMEM (nothing written, try again later). */
int pipeline__flow(struct pipeline *p, const struct sg_flow_rec *r);
/* Drain everything queued in the ring buffer, report losses, write to sinks. */
int pipeline__drain(struct pipeline *p);
/* Bring p->stats up to date (rule hits of the policy in force). */
void pipeline__update_stats(struct pipeline *p);
/* Append a stats record and flush. */
void pipeline__stats(struct pipeline *p);
/*
 * Append a policy record (load or refused reload). A "loaded" record with
 * delay_ms > 0 is held until the first event of its version or delay_ms.
 * The note's strings must live until it is written.
 */
void pipeline__policy_note(struct pipeline *p, const struct sg_policy_note *n,
			   unsigned int delay_ms);
/* The first record of a daemon that adopted an earlier run's pins: what went untraced. */
void pipeline__gap(struct pipeline *p, const struct sg_gap *g);
/* Another kernel counter of records that could not be queued (e.g. the hooks'). */
void pipeline__add_lost_counter(struct pipeline *p, const volatile __u64 *ctr, bool hook);
/*
 * At exit, after the last drain: write what is still held, report what a sink
 * could not deliver, and give remote sinks until deadline_ms (mono) to
 * deliver their queues.
 */
void pipeline__finish(struct pipeline *p, uint64_t deadline_ms);
/* Write pending lines to every sink. */
void pipeline__flush(struct pipeline *p);
/* Bytes written to the ring buffer and not yet consumed; 0 if unknown. */
uint64_t pipeline__ringbuf_used(const struct pipeline *p);

#endif
