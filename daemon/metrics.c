// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What /metrics exposes (metrics.h), in the Prometheus text exposition format
 * 0.0.4: every family with HELP and TYPE, counters named *_total, units in the
 * name (_bytes, _seconds). The list with the meaning of each is in
 * sendguardd(8), METRICS.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "control.h"
#include "enforce.h"
#include "events.h"
#include "flows.h"
#include "json.h"
#include "metrics.h"
#include "names.h"
#include "policy_mgr.h"
#include "sink_tcp.h"

/*
 * Appends printf output to b. Like json.h's checked writers, it sets b's
 * sticky error when it cannot (and then does nothing): render checks once.
 */
static void put(struct sg_outbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct sg_outbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	if (!sg_outbuf_room(b, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void family(struct sg_outbuf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * A label value: backslash, double quote and newline escaped (the format's
 * only escapes); bytes that would not be valid UTF-8 never occur in names
 * from a JSON policy, and control characters are written as '?'.
 */
static void label_value(struct sg_outbuf *b, const char *v)
{
	if (!sg_outbuf_room(b, 2 * strlen(v) + 1))
		return;
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch == '\\' || ch == '"') {
			sg_json_put_char(b, '\\');
			sg_json_put_char(b, (char)ch);
		} else if (ch == '\n') {
			sg_json_put_lit(b, "\\n");
		} else {
			sg_json_put_char(b, ch < ' ' || ch == 0x7f ? '?' : (char)ch);
		}
	}
}

/* name{label="value"} v, or name v without a label. */
static void sample(struct sg_outbuf *b, const char *name, const char *label, const char *value,
		   uint64_t v)
{
	if (!label) {
		put(b, "%s %llu\n", name, (unsigned long long)v);
		return;
	}
	put(b, "%s{%s=\"", name, label);
	label_value(b, value);
	put(b, "\"} %llu\n", (unsigned long long)v);
}

static void sample_f(struct sg_outbuf *b, const char *name, double v)
{
	put(b, "%s %.9g\n", name, v);
}

/* --- the families ----------------------------------------------------------- */

static void put_stream(struct sg_outbuf *b, const struct pipeline *p, const struct control *ctl)
{
	const struct pipeline_counters *c = &p->ctr;
	uint64_t sink_dropped = 0;

	family(b, "sendguard_records_total", "counter",
	       "Records written to the event stream, by type.");
	for (int t = 0; t < SG_REC_NTYPES; t++)
		sample(b, "sendguard_records_total", "type", sg_rec_type_names[t], c->records[t]);
	family(b, "sendguard_events_total", "counter",
	       "Send and connect events written, by system call.");
	for (int s = 1; s <= SG_SYSCALL_MAX; s++)
		sample(b, "sendguard_events_total", "syscall", sg_syscall_name((uint32_t)s),
		       c->events[s] + (s == SG_SYSCALL_OTHER ? c->events[0] : 0));
	family(b, "sendguard_verdicts_total", "counter",
	       "Events by the verdict of the policy that judged them.");
	for (int v = 0; v <= SG_VERDICT_KILL; v++)
		sample(b, "sendguard_verdicts_total", "verdict", sg_verdict_name((uint32_t)v),
		       c->verdicts[v]);
	if (p->flows) {
		family(b, "sendguard_flow_sends_total", "counter",
		       "Sends counted into flows in the kernel and written as flow records "
		       "instead of events (--flows).");
		sample(b, "sendguard_flow_sends_total", NULL, NULL, c->flow_sends);
		family(b, "sendguard_flows_active", "gauge",
		       "Flows in the kernel's flow table at the last sweep.");
		sample(b, "sendguard_flows_active", NULL, NULL, flows__active(p->flows));
		family(b, "sendguard_flow_table_full_total", "counter",
		       "First sends of a flow the kernel's flow table had no room for "
		       "(exported as events).");
		sample(b, "sendguard_flow_table_full_total", NULL, NULL,
		       __atomic_load_n(p->flows->table_full, __ATOMIC_RELAXED));
	}
	family(b, "sendguard_denials_total", "counter",
	       "Events with verdict deny or kill, by the mechanism that enforced "
	       "them (none: observed only).");
	for (int m = 0; m <= SG_ENF_SIGNAL; m++) {
		if (m == SG_ENF_SECCOMP) /* sendguard run only, never the daemon */
			continue;
		sample(b, "sendguard_denials_total", "mechanism",
		       m == SG_ENF_NONE ? "none" : sg_enforcer_name((uint32_t)m), c->denials[m]);
	}
	for (int i = 0; i < p->nsinks; i++)
		sink_dropped += p->sinks[i].dropped;
	family(b, "sendguard_lost_total", "counter",
	       "Records lost, by reason: ringbuf_full and hooks_ringbuf_full (events "
	       "the kernel could not queue), bpf_recursion (sends the kernel did not "
	       "run the tracing programs for), memory, subscriber (records a control "
	       "socket subscriber could not take), sink (records a sink could not "
	       "deliver).");
	sample(b, "sendguard_lost_total", "reason", "ringbuf_full", c->lost_ringbuf);
	sample(b, "sendguard_lost_total", "reason", "hooks_ringbuf_full", c->lost_hooks);
	sample(b, "sendguard_lost_total", "reason", "bpf_recursion", c->lost_skipped);
	sample(b, "sendguard_lost_total", "reason", "memory", c->lost_memory);
	sample(b, "sendguard_lost_total", "reason", "subscriber", control__dropped(ctl));
	sample(b, "sendguard_lost_total", "reason", "sink", sink_dropped);
	family(b, "sendguard_subscribers", "gauge",
	       "Control socket connections subscribed to the stream.");
	sample(b, "sendguard_subscribers", NULL, NULL, control__subscribers(ctl));
}

static void put_sinks(struct sg_outbuf *b, const struct pipeline *p)
{
	static const struct {
		const char *name, *type, *help;
	} tcp[] = {
		{ "sendguard_sink_delivered_records_total", "counter",
		  "Records a remote sink's collector acknowledged." },
		{ "sendguard_sink_queue_bytes", "gauge",
		  "Bytes of messages a remote sink holds, sent but not acknowledged or not sent." },
		{ "sendguard_sink_queue_records", "gauge", "Records a remote sink holds." },
		{ "sendguard_sink_connected", "gauge",
		  "1 while a remote sink is connected to its collector." },
		{ "sendguard_sink_connects_total", "counter",
		  "Connections a remote sink established." },
		{ "sendguard_sink_connection_failures_total", "counter",
		  "Connection attempts of a remote sink that failed and connections that broke." },
	};

	family(b, "sendguard_sink_errors_total", "counter",
	       "Writes to a sink that failed or dropped records.");
	for (int i = 0; i < p->nsinks; i++)
		sample(b, "sendguard_sink_errors_total", "sink", sink__name(&p->sinks[i]),
		       p->sinks[i].errors);
	family(b, "sendguard_sink_dropped_records_total", "counter",
	       "Records a sink could not deliver (reported in the stream as "
	       "undeliverable records).");
	for (int i = 0; i < p->nsinks; i++)
		sample(b, "sendguard_sink_dropped_records_total", "sink", sink__name(&p->sinks[i]),
		       p->sinks[i].dropped);
	for (size_t f = 0; f < sizeof(tcp) / sizeof(tcp[0]); f++) {
		bool any = false;

		for (int i = 0; i < p->nsinks; i++) {
			struct tcp_sink_stats st;
			uint64_t v[6];

			if (!p->sinks[i].tcp)
				continue;
			if (!any)
				family(b, tcp[f].name, tcp[f].type, tcp[f].help);
			any = true;
			tcp_sink__stats(p->sinks[i].tcp, &st);
			v[0] = st.delivered;
			v[1] = st.queued_bytes;
			v[2] = st.queued_records;
			v[3] = st.connected;
			v[4] = st.connects;
			v[5] = st.failures;
			sample(b, tcp[f].name, "sink", sink__name(&p->sinks[i]), v[f]);
		}
	}
}

static void put_policy(struct sg_outbuf *b, const struct metrics_src *s)
{
	const struct sg_policy *pol = policy_mgr__current(s->pm);
	const struct pipeline *p = s->p;

	family(b, "sendguard_policy_info", "gauge",
	       "The policy in force: its name and source file (empty: the embedded "
	       "default).");
	if (pol) {
		put(b, "sendguard_policy_info{name=\"");
		label_value(b, pol->name);
		put(b, "\",source=\"");
		label_value(b, *s->policy_source ? *s->policy_source : "");
		put(b, "\"} 1\n");
	}
	family(b, "sendguard_policy_version", "gauge",
	       "Version of the policy in force (+1 per successful load).");
	sample(b, "sendguard_policy_version", NULL, NULL, pol ? pol->version : 0);
	family(b, "sendguard_policy_rules", "gauge", "Rules of the policy in force.");
	sample(b, "sendguard_policy_rules", NULL, NULL, pol ? pol->nrules : 0);
	family(b, "sendguard_policy_loads_total", "counter",
	       "Policy loads, by result: loaded, or refused (invalid; the policy in "
	       "force stayed).");
	sample(b, "sendguard_policy_loads_total", "result", "loaded", p->ctr.policy_loaded);
	sample(b, "sendguard_policy_loads_total", "result", "refused", p->ctr.policy_refused);
	family(b, "sendguard_rule_hits_total", "counter",
	       "Events judged by each rule of the policy in force, since it was "
	       "loaded.");
	for (uint32_t i = 0; pol && s->pm->hits && i < pol->nrules; i++)
		sample(b, "sendguard_rule_hits_total", "rule", s->pm->names[i], s->pm->hits[i]);
	family(b, "sendguard_default_hits_total", "counter",
	       "Events no rule matched (the policy's default decided), since the "
	       "policy in force was loaded.");
	sample(b, "sendguard_default_hits_total", NULL, NULL, s->pm->default_hits);
}

static void put_hooks(struct sg_outbuf *b, const struct enforce *en)
{
	family(b, "sendguard_hook_attached", "gauge",
	       "1 for each enforcement hook attached now (cgroup hooks and BPF-LSM).");

	for (int h = 0; h < ENF_NHOOKS; h++)
		sample(b, "sendguard_hook_attached", "hook", enforce__hook_name(h),
		       enforce__hook_attached(en, h));
	sample(b, "sendguard_hook_attached", "hook", "lsm", enforce__lsm_attached(en));
}

static void put_ringbuf(struct sg_outbuf *b, const struct metrics_src *s)
{
	family(b, "sendguard_ringbuf_size_bytes", "gauge",
	       "Size of the kernel ring buffer of events.");

	sample(b, "sendguard_ringbuf_size_bytes", NULL, NULL, s->ringbuf_size);
	family(b, "sendguard_ringbuf_used_bytes", "gauge",
	       "Bytes of events waiting in the ring buffer now.");
	sample(b, "sendguard_ringbuf_used_bytes", NULL, NULL, pipeline__ringbuf_used(s->p));
	family(b, "sendguard_ringbuf_used_peak_bytes", "gauge",
	       "Most bytes found waiting in the ring buffer when the daemon came to "
	       "read it, since the start.");
	sample(b, "sendguard_ringbuf_used_peak_bytes", NULL, NULL, s->p->ctr.ringbuf_peak);
}

static void put_metrics_server(struct sg_outbuf *b, const struct metrics_http *http)
{
	struct metrics_http_stats st;

	metrics_http__stats(http, &st);
	family(b, "sendguard_metrics_scrapes_total", "counter",
	       "Replies to GET /metrics (this one included).");
	sample(b, "sendguard_metrics_scrapes_total", NULL, NULL, st.scrapes + 1);
	family(b, "sendguard_metrics_connections_closed_total", "counter",
	       "Connections to the metrics server closed without a reply, by reason: "
	       "limit (refused at the connection limit), displaced (an unfinished "
	       "request closed to make room), timeout.");
	sample(b, "sendguard_metrics_connections_closed_total", "reason", "limit", st.refused);
	sample(b, "sendguard_metrics_connections_closed_total", "reason", "displaced",
	       st.displaced);
	sample(b, "sendguard_metrics_connections_closed_total", "reason", "timeout", st.timed_out);
	family(b, "sendguard_metrics_bad_requests_total", "counter",
	       "Requests to the metrics server answered with a 4xx status.");
	sample(b, "sendguard_metrics_bad_requests_total", NULL, NULL, st.bad_requests);
}

/* The process_* families of the Prometheus client libraries. */
static void put_process(struct sg_outbuf *b)
{
	long pg = sysconf(_SC_PAGESIZE), ticks = sysconf(_SC_CLK_TCK);
	unsigned long long vsize = 0, rss = 0, start = 0;
	struct rusage ru;
	struct rlimit rl;
	char stat[1024], *p;
	uint64_t fds = 0;
	FILE *f;
	DIR *d;

	/* /proc/self/stat after the comm: field 22 starttime, 23 vsize, 24 rss. */
	f = fopen("/proc/self/stat", "re");
	if (f) {
		if (fgets(stat, sizeof(stat), f) && (p = strrchr(stat, ')')))
			sscanf(p + 2,
			       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			       "%*d %*d %*d %llu %llu %llu",
			       &start, &vsize, &rss);
		fclose(f);
	}
	d = opendir("/proc/self/fd");
	if (d) {
		while (readdir(d))
			fds++;
		closedir(d);
		fds = fds > 3 ? fds - 3 : 0; /* ".", ".." and the directory's own fd */
	}
	getrusage(RUSAGE_SELF, &ru);
	family(b, "process_cpu_seconds_total", "counter",
	       "Total user and system CPU time spent in seconds.");
	sample_f(b, "process_cpu_seconds_total",
		 (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
			 ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6);
	family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	sample(b, "process_resident_memory_bytes", NULL, NULL, rss * (unsigned long long)pg);
	family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
	sample(b, "process_virtual_memory_bytes", NULL, NULL, vsize);
	if (start && ticks > 0) {
		struct timespec rt, bt;
		double boot;

		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_BOOTTIME, &bt);
		boot = (double)rt.tv_sec - (double)bt.tv_sec +
		       ((double)rt.tv_nsec - (double)bt.tv_nsec) / 1e9;
		family(b, "process_start_time_seconds", "gauge",
		       "Start time of the process since unix epoch in seconds.");
		sample_f(b, "process_start_time_seconds", boot + (double)start / (double)ticks);
	}
	family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
	sample(b, "process_open_fds", NULL, NULL, fds);
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
		sample(b, "process_max_fds", NULL, NULL, rl.rlim_cur);
	}
}

int metrics__render(struct sg_outbuf *b, void *ctx)
{
	struct metrics_src *s = ctx;

	family(b, "sendguard_build_info", "gauge",
	       "Always 1; the version of sendguardd in its label.");
	sample(b, "sendguard_build_info", "version", s->version, 1);
	put_stream(b, s->p, s->ctl);
	put_sinks(b, s->p);
	put_policy(b, s);
	put_hooks(b, s->en);
	put_ringbuf(b, s);
	put_metrics_server(b, s->http);
	put_process(b);
	return b->err;
}
