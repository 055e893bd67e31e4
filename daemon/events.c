// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "trace.skel.h"
#include "cache.h"
#include "control.h"
#include "events.h"
#include "flows.h"
#include "loader.h"
#include "log.h"
#include "persist.h"
#include "policy_mgr.h"

/* Write to the sinks once this much JSON is pending (and after every drain). */
#define FLUSH_BYTES (256 * 1024)
/* A sink that keeps failing gets an undeliverable record this often (and when it recovers). */
#define UNDELIVERABLE_REPORT_MS 10000

static void report_sink_error(struct sink *s, int err)
{
	/* Say it when a sink starts failing, not for every batch. */
	if (s->errors == 1 || (s->errors & 1023) == 0)
		log_err("sink %s: write failed: %s (%llu failures, %llu records dropped so far)",
			sink__name(s), sink__strerror(s, err), (unsigned long long)s->errors,
			(unsigned long long)s->dropped);
}

void pipeline__flush(struct pipeline *p)
{
	if (!p->out.len)
		return;
	for (int i = 0; i < p->nsinks; i++) {
		struct sink *s = &p->sinks[i];
		int was = s->last_err;
		int err = sink__write(s, p->out.data, p->out.len, p->out_records);

		if (err) {
			p->stats.sink_errors++;
			report_sink_error(s, err);
		} else if (was) {
			log_info("sink %s: writing again", sink__name(s));
		}
	}
	sg_outbuf_reset(&p->out);
	p->out_records = 0;
	/* The real time its ts says, to the ns: a later run must not convert it again. */
	persist__state_write(p->state, p->seq, p->last_ns + (uint64_t)p->clk.boot_to_real_ns);
}

/*
 * After appending a record that started at offset start of the pending
 * output: count it, give it to the control socket's subscribers (m says what
 * it is), flush when enough is pending.
 */
static void appended(struct pipeline *p, size_t start, int err, const struct sg_rec_meta *m,
		     uint64_t ts_ns)
{
	if (err) {
		/* Only -ENOMEM: drop the record, report it with the next lost record. */
		p->out.len = start;
		p->seq--;
		p->user_lost++;
		return;
	}
	p->out_records++;
	p->last_ns = ts_ns;
	p->ctr.records[m->type]++;
	if (p->ctl)
		control__record(p->ctl, p->out.data + start, p->out.len - start, m);
	if (p->out.len >= FLUSH_BYTES)
		pipeline__flush(p);
}

static const struct sg_rec_meta meta_policy = { .type = SG_REC_POLICY };
static const struct sg_rec_meta meta_lost = { .type = SG_REC_LOST };
static const struct sg_rec_meta meta_stats = { .type = SG_REC_STATS };
static const struct sg_rec_meta meta_gap = { .type = SG_REC_GAP };
static const struct sg_rec_meta meta_undeliverable = { .type = SG_REC_UNDELIVERABLE };

int pipeline__flow(struct pipeline *p, const struct sg_flow_rec *r)
{
	const struct sg_flow_key *k = r->key;
	struct sg_enrich x = { 0 };
	struct sg_rec_meta m = { .type = SG_REC_FLOW, .verdict = SG_VERDICT_ALLOW };
	uint64_t now = sg_clock_boot_now();
	size_t start = p->out.len;
	int err;

	if (k->ev_flags & SG_EF_EXE)
		x.exe = proc_cache__exe(p->cache, k->pid, k->exe_dev, k->exe_ino);
	x.cgroup = proc_cache__cgroup(p->cache, k->pid, k->cgroup_id);
	x.rule_name = policy_mgr__rule_name(p->pm, k->policy_version, k->rule);
	err = sg_flow_to_json(&p->out, ++p->seq, now, r, &x, &p->clk);
	if (err) {
		/* Not counted as lost: the counts stay in the kernel for the next round. */
		p->out.len = start;
		p->seq--;
		return err;
	}
	policy_mgr__hits(p->pm, k->policy_version, k->rule, r->count);
	p->ctr.flow_sends += r->count;
	m.syscall = k->syscall;
	m.pid = k->pid;
	m.uid = k->uid;
	memcpy(m.comm, r->comm, sizeof(m.comm) - 1);
	m.comm[sizeof(m.comm) - 1] = '\0';
	appended(p, start, 0, &m, now);
	return 0;
}

static void emit_note(struct pipeline *p)
{
	size_t start = p->out.len;
	uint64_t now = sg_clock_boot_now();

	p->note_pending = 0;
	appended(p, start, sg_policy_note_to_json(&p->out, ++p->seq, now, &p->note, &p->clk),
		 &meta_policy, now);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct pipeline *p = ctx;
	const struct sg_event *e = data;
	struct sg_enrich x = { 0 };
	struct sg_rec_meta m;
	size_t start;
	int err;

	if (size < sizeof(*e)) {
		p->malformed++;
		return 0;
	}
	if (p->note_pending && e->policy_version >= p->note.version)
		emit_note(p);
	if (e->flags & SG_EF_EXE)
		x.exe = proc_cache__exe(p->cache, e->pid, e->exe_dev, e->exe_ino);
	x.cgroup = proc_cache__cgroup(p->cache, e->pid, e->cgroup_id);
	x.rule_name = policy_mgr__rule_name(p->pm, e->policy_version, e->rule);
	policy_mgr__hit(p->pm, e->policy_version, e->rule);
	p->stats.events++;
	if (e->verdict == SG_VERDICT_DENY)
		p->stats.denied++;
	p->ctr.events[e->syscall <= SG_SYSCALL_MAX ? e->syscall : 0]++;
	if (e->verdict <= SG_VERDICT_KILL)
		p->ctr.verdicts[e->verdict]++;
	if ((e->verdict == SG_VERDICT_DENY || e->verdict == SG_VERDICT_KILL) &&
	    e->enforced_by <= SG_ENF_SIGNAL)
		p->ctr.denials[e->enforced_by]++;
	start = p->out.len;
	err = sg_event_to_json(&p->out, ++p->seq, e, &x, &p->clk);
	m.type = e->syscall == SG_SYSCALL_CONNECT ? SG_REC_CONNECT : SG_REC_SEND;
	if (p->ctl) {
		m.syscall = e->syscall;
		m.verdict = e->verdict;
		m.pid = e->pid;
		m.uid = e->uid;
		memcpy(m.comm, e->comm, sizeof(m.comm) - 1);
		m.comm[sizeof(m.comm) - 1] = '\0';
	}
	appended(p, start, err, &m, e->ts_ns);
	return 0;
}

void pipeline__add_lost_counter(struct pipeline *p, const volatile __u64 *ctr, bool hook)
{
	if (p->nlost_ctr < SG_LOST_COUNTERS) {
		p->lost_hook[p->nlost_ctr] = hook;
		p->lost_ctr[p->nlost_ctr++] = ctr;
	}
}

/* The recursion misses of obj's programs. */
static uint64_t obj_recursion_misses(const struct bpf_object *obj)
{
	struct bpf_program *prog;
	uint64_t sum = 0;

	bpf_object__for_each_program (prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		memset(&info, 0, sizeof(info));
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			sum += info.recursion_misses;
	}
	return sum;
}

/*
 * Runs of the tracing programs the kernel skipped because another BPF program
 * was running on that CPU (prog recursion): sends that produced no event.
 * Read at most every 250 ms: it costs a system call per program.
 */
static uint64_t recursion_misses(struct pipeline *p)
{
	uint64_t now = sg_clock_mono_ms(), sum;

	if (now - p->misses_checked_ms < 250)
		return p->misses_seen;
	p->misses_checked_ms = now;
	sum = obj_recursion_misses(p->skel->obj);
	if (p->paths_obj)
		sum += obj_recursion_misses(p->paths_obj);
	return sum;
}

static void check_lost(struct pipeline *p)
{
	uint64_t misses = recursion_misses(p), count, ts, ctr[SG_LOST_COUNTERS] = { 0 }, hooks = 0,
		 ring = 0;
	size_t start;

	for (int i = 0; i < p->nlost_ctr; i++) {
		ctr[i] = __atomic_load_n(p->lost_ctr[i], __ATOMIC_RELAXED);
		if (p->lost_hook[i])
			hooks += ctr[i] - p->lost_seen[i];
		else
			ring += ctr[i] - p->lost_seen[i];
	}
	count = ring + hooks + misses - p->misses_seen + p->user_lost;
	if (!count)
		return;
	p->stats.lost += count;
	p->ctr.lost_ringbuf += ring;
	p->ctr.lost_hooks += hooks;
	p->ctr.lost_skipped += misses - p->misses_seen;
	p->ctr.lost_memory += p->user_lost;
	for (int i = 0; i < SG_LOST_COUNTERS; i++)
		p->lost_seen[i] = ctr[i];
	p->misses_seen = misses;
	p->user_lost = 0;
	start = p->out.len;
	ts = sg_clock_boot_now();
	appended(p, start, sg_lost_to_json(&p->out, ++p->seq, ts, count, &p->clk), &meta_lost, ts);
}

/*
 * Records a sink dropped become an undeliverable record in the stream: at
 * most every UNDELIVERABLE_REPORT_MS while it keeps failing, and at once when
 * it delivers again (a record about a sink that drops everything is dropped
 * there too, and counted in the next one).
 */
static void report_undeliverable(struct pipeline *p, bool all)
{
	uint64_t now = sg_clock_mono_ms();

	for (int i = 0; i < p->nsinks; i++) {
		struct sink *s = &p->sinks[i];
		uint64_t n = s->dropped - s->dropped_reported;
		size_t start = p->out.len;

		if (!n || (!all && s->last_err && s->reported_ms &&
			   now - s->reported_ms < UNDELIVERABLE_REPORT_MS))
			continue;
		uint64_t ts = sg_clock_boot_now();

		s->dropped_reported = s->dropped;
		s->reported_ms = now;
		appended(p, start,
			 sg_undeliverable_to_json(&p->out, ++p->seq, ts, sink__name(s), n, &p->clk),
			 &meta_undeliverable, ts);
	}
}

/* Tell the kernel side which senders are known, so their sends do not force a wakeup. */
static void identity_known(int kind, uint64_t k1, uint64_t k2, void *ctx)
{
	struct pipeline *p = ctx;
	__u8 one = 1;

	if (kind == 'e') {
		struct sg_exe_id id = { .ino = k2, .dev = (__u32)k1 };

		bpf_map__update_elem(p->skel->maps.known_exe, &id, sizeof(id), &one, sizeof(one),
				     BPF_ANY);
	} else {
		bpf_map__update_elem(p->skel->maps.known_cgroup, &k1, sizeof(k1), &one, sizeof(one),
				     BPF_ANY);
	}
}

/*
 * The ring buffer's consumer and producer positions (its first two pages),
 * mapped read-only to tell how full it is. Without them the fill is unknown (0).
 */
static void map_positions(struct pipeline *p, int fd)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *c = mmap(NULL, (size_t)pg, PROT_READ, MAP_SHARED, fd, 0);
	void *r = mmap(NULL, (size_t)pg, PROT_READ, MAP_SHARED, fd, pg);

	if (c != MAP_FAILED && r != MAP_FAILED) {
		p->rb_cons = c;
		p->rb_prod = r;
		return;
	}
	if (c != MAP_FAILED)
		munmap(c, (size_t)pg);
	if (r != MAP_FAILED)
		munmap(r, (size_t)pg);
}

uint64_t pipeline__ringbuf_used(const struct pipeline *p)
{
	if (!p->rb_cons || !p->rb_prod)
		return 0;
	return __atomic_load_n(p->rb_prod, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(p->rb_cons, __ATOMIC_ACQUIRE);
}

int pipeline__init(struct pipeline *p, struct trace_bpf *skel, struct policy_mgr *pm,
		   struct sink *sinks, int nsinks, const char *cgroup2_mnt)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->skel = skel;
	p->pm = pm;
	pipeline__add_lost_counter(p, &skel->bss->lost_events, false);
	if (loader__paths_lost()) {
		pipeline__add_lost_counter(p, loader__paths_lost(), false);
		p->paths_obj = loader__paths_obj();
	}
	p->sinks = sinks;
	p->nsinks = nsinks;
	sg_clock_init(&p->clk);
	err = sg_outbuf_init(&p->out, 2 * FLUSH_BYTES);
	if (err)
		return err;
	p->cache = proc_cache__new(cgroup2_mnt);
	if (!p->cache)
		return -ENOMEM;
	proc_cache__set_notify(p->cache, identity_known, p);
	p->rb = ring_buffer__new(bpf_map__fd(skel->maps.events), handle_event, p, NULL);
	if (!p->rb)
		return -errno;
	map_positions(p, bpf_map__fd(skel->maps.events));
	return 0;
}

void pipeline__free(struct pipeline *p)
{
	long pg = sysconf(_SC_PAGESIZE);

	if (p->rb_cons)
		munmap((void *)p->rb_cons, (size_t)pg);
	if (p->rb_prod)
		munmap((void *)p->rb_prod, (size_t)pg);
	ring_buffer__free(p->rb);
	proc_cache__free(p->cache);
	sg_outbuf_free(&p->out);
}

int pipeline__epoll_fd(const struct pipeline *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

int pipeline__drain(struct pipeline *p)
{
	uint64_t used = pipeline__ringbuf_used(p);
	int n;

	if (used > p->ctr.ringbuf_peak)
		p->ctr.ringbuf_peak = used;
	n = ring_buffer__consume(p->rb);
	if (p->note_pending && sg_clock_mono_ms() >= p->note_deadline_ms)
		emit_note(p);
	check_lost(p);
	pipeline__flush(p);
	for (int i = 0; i < p->nsinks; i++)
		sink__service(&p->sinks[i]);
	report_undeliverable(p, false); /* written with the next batch */
	return n < 0 ? n : 0;
}

/* The current counters, rule hits included, in p->stats. */
void pipeline__update_stats(struct pipeline *p)
{
	const struct sg_policy *pol = policy_mgr__current(p->pm);

	p->stats.rule_names = (const char *const *)p->pm->names;
	p->stats.rule_hits = p->pm->hits;
	p->stats.nrules = pol && p->pm->hits ? pol->nrules : 0;
	p->stats.default_hits = p->pm->default_hits;
	p->stats.flows_on = p->flows != NULL;
	if (p->flows) {
		p->stats.flow_sends = p->ctr.flow_sends;
		p->stats.flow_records = p->ctr.records[SG_REC_FLOW];
		p->stats.flows_active = flows__active(p->flows);
		p->stats.flow_table_full = __atomic_load_n(p->flows->table_full, __ATOMIC_RELAXED);
	}
}

void pipeline__stats(struct pipeline *p)
{
	uint64_t now;
	size_t start;

	pipeline__update_stats(p);
	start = p->out.len;
	now = sg_clock_boot_now();
	appended(p, start, sg_stats_to_json(&p->out, ++p->seq, now, &p->stats, &p->clk),
		 &meta_stats, now);
	pipeline__flush(p);
}

void pipeline__gap(struct pipeline *p, const struct sg_gap *g)
{
	size_t start = p->out.len;
	uint64_t now = sg_clock_boot_now();

	appended(p, start, sg_gap_to_json(&p->out, ++p->seq, now, g, &p->clk), &meta_gap, now);
	pipeline__flush(p);
}

void pipeline__policy_note(struct pipeline *p, const struct sg_policy_note *n,
			   unsigned int delay_ms)
{
	if (strcmp(n->result, "loaded") == 0)
		p->ctr.policy_loaded++;
	else
		p->ctr.policy_refused++;
	/* A note still held goes out first. */
	if (p->note_pending)
		emit_note(p);
	p->note = *n;
	if (delay_ms && strcmp(n->result, "loaded") == 0) {
		p->note_pending = 1;
		p->note_deadline_ms = sg_clock_mono_ms() + delay_ms;
		return;
	}
	emit_note(p);
	pipeline__flush(p);
}

void pipeline__finish(struct pipeline *p, uint64_t deadline_ms)
{
	if (p->note_pending)
		emit_note(p);
	pipeline__flush(p);
	for (int i = 0; i < p->nsinks; i++)
		sink__service(&p->sinks[i]);
	report_undeliverable(p, true);
	pipeline__flush(p);
	for (int i = 0; i < p->nsinks; i++)
		sink__finish(&p->sinks[i], deadline_ms);
}
