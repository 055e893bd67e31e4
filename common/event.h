/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Event model shared by sendguardd and sendguard: turns raw ABI records
 * (struct sg_event) into JSON Lines records as the README ("What an event looks like") and
 * docs/event.schema.json specify.
 * Library code: never logs, never exits, never allocates per event once the
 * output buffer has grown to its working size.
 */
#ifndef SG_EVENT_H
#define SG_EVENT_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "clock.h"
#include "outbuf.h"
#include "sendguard.h"

/* What user space adds to a raw event; NULL members are written as null. */
struct sg_enrich {
	const char *exe;
	const char *cgroup;
	const char *rule_name; /* NULL: default decided (rule:null) */
};

/* Counters carried by a stats record. */
struct sg_stats {
	uint64_t events; /* send records written */
	uint64_t lost; /* events the kernel could not queue (ring full) */
	uint64_t denied; /* events with verdict deny */
	uint64_t sink_errors; /* failed sink writes */
	/* Hits per rule of the policy in force ("rules":{name:hits}), and of its default. */
	const char *const *rule_names;
	const uint64_t *rule_hits;
	size_t nrules;
	uint64_t default_hits;
	/* --flows ("flows":{...}, only when on): sends counted into flow records, records, flows now, first sends the table had no room for */
	bool flows_on;
	uint64_t flow_sends, flow_records, flows_active, flow_table_full;
};

/*
 * A policy change, written to the stream as a "policy" record: result
 * "loaded" (name/version/rules/default of the new policy) or "refused"
 * (errors; name and version of the policy that stays in force).
 */
struct sg_policy_note {
	const char *result; /* "loaded" or "refused" */
	const char *source; /* file, or NULL for the embedded default */
	const char *name; /* policy in force after the change */
	uint32_t version;
	uint32_t nrules;
	const char *default_action;
	const char *const *errors; /* "refused": every problem, by JSON path */
	size_t nerrors;
};

/*
 * What a daemon that adopted the pinned maps of an earlier --persist run
 * knows about the time no daemon traced (the "gap" record).
 */
struct sg_gap {
	bool known; /* the previous run's state was found: the three below are valid */
	bool clean; /* it exited normally (else it was killed, or crashed) */
	uint64_t last_seq; /* the last record it wrote */
	uint64_t last_real_ns; /* that record's time (CLOCK_REALTIME ns, as its ts said) */
	uint64_t queued; /* records found queued in the pinned ring buffer (they follow) */
};

/*
 * Each appends exactly one JSON object and a '\n' to b.
 * Return 0 or -errno (-ENOMEM when the buffer cannot grow).
 */
int sg_event_to_json(struct sg_outbuf *b, uint64_t seq, const struct sg_event *e,
		     const struct sg_enrich *x, struct sg_clock *clk);
/*
 * One flow record: the sends counted into flow key since its previous record
 * (sendguardd --flows; the kernel side is described in sendguard.h, "Flows").
 * first/last: boot-clock times of the first and latest of them; end: NULL
 * while the flow lives, "idle" when it was evicted, "exit" at the daemon's.
 */
struct sg_flow_rec {
	const struct sg_flow_key *key;
	const uint8_t *comm; /* SG_COMM_LEN bytes: the comm of the flow's first send */
	uint64_t count;
	uint64_t bytes;
	uint64_t first_ns;
	uint64_t last_ns;
	const char *end;
};

/*
 * {"v":1,"seq":N,"ts":...,"type":"flow","syscall":..,"proc":{..},"sock":..,"dst":..,
 *  "dst_source":..,"flags":[..],"flags_raw":N,"errno":..,"policy":{..},"count":N,
 *  "bytes":N,"first":TS,"last":TS,"end":null|"idle"|"exit"}
 */
int sg_flow_to_json(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns,
		    const struct sg_flow_rec *r, const struct sg_enrich *x, struct sg_clock *clk);
/* {"v":1,"seq":N,"ts":...,"type":"lost","count":K} */
int sg_lost_to_json(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns, uint64_t count,
		    struct sg_clock *clk);
/*
 * {"v":1,"seq":N,"ts":...,"type":"stats","events":..,"lost":..,"denied":..,"sink_errors":..,
 *  "rules":{"name":hits,...},"default":hits}
 */
int sg_stats_to_json(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns, const struct sg_stats *s,
		     struct sg_clock *clk);
/*
 * {"v":1,"seq":N,"ts":...,"type":"undeliverable","sink":NAME,"count":K}: K records
 * of the stream that the sink NAME could not deliver (dropped from its queue,
 * or not accepted by the collector before its connection broke).
 */
int sg_undeliverable_to_json(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns, const char *sink,
			     uint64_t count, struct sg_clock *clk);
/*
 * The members of a stats record after its "type" (,"events":N,...,"default":N),
 * no braces, with json.h's member helpers. b's error (0 or -ENOMEM).
 */
int sg_stats_members_to_json(struct sg_outbuf *b, const struct sg_stats *s);

/*
 * {"v":1,"seq":N,"ts":...,"type":"policy","result":"loaded"|"refused","source":..,"name":..,
 *  "version":..,"rules":..,"default":..,"errors":[..]}
 */
int sg_policy_note_to_json(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns,
			   const struct sg_policy_note *n, struct sg_clock *clk);
/*
 * {"v":1,"seq":N,"ts":...,"type":"gap","untraced":true,"since":TS|null,
 *  "previous_seq":N|null,"previous_exit":"clean"|"unclean"|null,"queued":K}
 */
int sg_gap_to_json(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns, const struct sg_gap *g,
		   struct sg_clock *clk);

#endif /* SG_EVENT_H */
