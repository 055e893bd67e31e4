/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Flows (--flows): the user-space side of the flows the tracing programs
 * count in the kernel (bpf/flows.bpf.h; the protocol in sendguard.h,
 * "Flows"). Every --flow-interval a "flow" record per flow that counted
 * sends since its previous record. A flow idle for SG_FLOW_IDLE_INTERVALS
 * intervals takes no more counts in the kernel (its sends are events); a
 * sweep (every second, and as soon as the kernel reports a send into such a
 * flow) evicts it once it is idle for a margin more, with a last record. At
 * exit, a last record for every flow. Each record carries the sends counted since
 * the previous one, so events + the counts of flow records + lost = sends.
 */
#ifndef SG_FLOWS_H
#define SG_FLOWS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

struct trace_bpf;
struct pipeline;
struct sg_flow_key;
struct sg_flow_val;

#define SG_FLOW_INTERVAL_DEF   10 /* seconds */
#define SG_FLOW_TABLE_SIZE_DEF 16384
#define SG_FLOW_IDLE_INTERVALS 3 /* a flow idle this many --flow-interval ends */

/* What a user-space entry remembers of one kernel flow: what was reported. */
struct flow_seen;

struct flows {
	bool on;
	int mode; /* SG_FLOWS_ALL or SG_FLOWS_RULES */
	int fd; /* the sg_flows map */
	uint32_t max; /* its max_entries */
	uint64_t interval_ms, idle_ns;
	uint64_t next_sweep_ms, next_report_ms;
	volatile uint32_t *epoch; /* the programs' flow_epoch */
	const volatile __u64 *table_full; /* the programs' flow_table_full */
	const volatile __u64 *stale; /* the programs' flow_stale: a sweep is due */
	uint64_t stale_seen;
	struct flow_seen *seen; /* open addressing, mask + 1 slots (seen_bytes, mmap'ed) */
	size_t seen_bytes;
	uint64_t mask;
	uint32_t nseen;
	struct sg_flow_key *keys; /* batch buffers of max entries */
	struct sg_flow_val *vals;
	uint64_t counted; /* sends carried by flow records, since the start */
	uint64_t records; /* flow records written */
	uint64_t evicted;
	uint64_t read_errors; /* failed reads of the table (logged once) */
};

/*
 * After load: flows on skel (mode SG_FLOWS_ALL or SG_FLOWS_RULES, as the
 * programs were loaded with) with records every interval_s. 0 or -errno.
 */
int flows__init(struct flows *f, struct trace_bpf *skel, int mode, uint64_t interval_s);
/*
 * From the event loop: sweep (evict idle flows) once a second, and write the
 * records due; final: a last record of every flow that counted sends (after
 * the programs were detached).
 */
void flows__tick(struct flows *f, struct pipeline *p, uint64_t now_ms, bool final);
/* Flows in the kernel's table now (as of the last sweep). */
uint32_t flows__active(const struct flows *f);
void flows__free(struct flows *f);

#endif
