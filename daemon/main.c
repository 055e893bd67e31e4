// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sendguardd: traces every send on the host and writes one JSON event per
 * message. This file owns the command line, the signals, the policy loads and
 * the event loop; everything else is in loader.c (BPF), events.c (pipeline),
 * sinks.c, views.c (what the control socket shows).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <syslog.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "trace.skel.h"
#include "clock.h"
#include "control.h"
#include "enforce.h"
#include "policy_compile.h"
#include "events.h"
#include "flows.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "mounts.h"
#include "names.h"
#include "netaddr.h"
#include "notify.h"
#include "numparse.h"
#include "persist.h"
#include "policy_mgr.h"
#include "sink_tcp.h"
#include "sinks.h"
#include "variant.h"
#include "version.h"
#include "views.h"

#define MAX_SINKS   8
#define TICK_MS	    250 /* drain interval: events reach sinks well within 1 s */
#define DEFAULT_LOG "/var/log/sendguard/events.jsonl"
#define FINISH_MS   2000 /* at exit, remote sinks get this long to deliver their queues */

struct options {
	struct sink sinks[MAX_SINKS];
	int nsinks;
	uint64_t ringbuf_size;
	uint64_t stats_interval;
	uint64_t rotate_size;
	uint64_t rotate_keep;
	const char *policy; /* -p FILE; NULL: the embedded default */
	const char *cgroup; /* --cgroup PATH: enforce there (full, or relative to the mount) */
	char cgroup_dir[PATH_MAX]; /* --cgroup resolved: the directory */
	char cgroup_rel[PATH_MAX]; /* and its path in the hierarchy ("/system.slice") */
	const char *control; /* --control PATH; NULL: none */
	const char *metrics; /* --metrics ADDR:PORT; NULL: none */
	struct netaddr metrics_addr;
	uint64_t syslog_queue; /* --syslog-queue BYTES */
	int check;
	int no_enforce; /* --no-enforce */
	int no_lsm; /* --no-lsm */
	int persist; /* --persist */
	int foreground;
	int verbose;
	int variant_limit; /* --bpf-variant: the best program variant to try */
	int flows; /* --flows[=all|rules]: SG_FLOWS_* */
	uint64_t flow_interval; /* --flow-interval SEC */
	uint64_t flow_table_size; /* --flow-table-size N */
};

enum {
	OPT_RINGBUF = 0x100,
	OPT_STATS,
	OPT_ROTATE_SIZE,
	OPT_ROTATE_KEEP,
	OPT_CGROUP,
	OPT_NO_ENFORCE,
	OPT_PERSIST,
	OPT_CONTROL,
	OPT_BPF_VARIANT,
	OPT_NO_LSM,
	OPT_METRICS,
	OPT_SYSLOG_QUEUE,
	OPT_PIN_DIR,
	OPT_STATE_DIR,
	OPT_FLOWS,
	OPT_FLOW_INTERVAL,
	OPT_FLOW_TABLE,
};

static const struct option long_opts[] = {
	{ "policy", required_argument, NULL, 'p' },
	{ "check", no_argument, NULL, 'n' },
	{ "output", required_argument, NULL, 'o' },
	{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
	{ "stats-interval", required_argument, NULL, OPT_STATS },
	{ "rotate-size", required_argument, NULL, OPT_ROTATE_SIZE },
	{ "rotate-keep", required_argument, NULL, OPT_ROTATE_KEEP },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "no-enforce", no_argument, NULL, OPT_NO_ENFORCE },
	{ "no-lsm", no_argument, NULL, OPT_NO_LSM },
	{ "persist", no_argument, NULL, OPT_PERSIST },
	{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "bpf-variant", required_argument, NULL, OPT_BPF_VARIANT },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "syslog-queue", required_argument, NULL, OPT_SYSLOG_QUEUE },
	{ "flows", optional_argument, NULL, OPT_FLOWS },
	{ "flow-interval", required_argument, NULL, OPT_FLOW_INTERVAL },
	{ "flow-table-size", required_argument, NULL, OPT_FLOW_TABLE },
	{ "foreground", no_argument, NULL, 'f' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sendguardd [options]\n"
		"Trace every send on this host and write one JSON event per message.\n"
		"\n"
		"  -p, --policy FILE         judge sends by this policy (sendguard-policy(5));\n"
		"                            default: the embedded observe policy (allow all)\n"
		"  -n, --check               validate the policy, print the result and exit\n"
		"  -o, --output SINK         stdout, syslog, file:PATH or\n"
		"                            syslog+tcp://HOST:PORT (RFC 5424 to a collector;\n"
		"                            repeatable; default: stdout with -f, else\n"
		"                            file:" DEFAULT_LOG ")\n"
		"      --syslog-queue BYTES  messages a syslog+tcp sink holds while its\n"
		"                            collector is slow or away (default 4M)\n"
		"      --metrics ADDR:PORT   serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                            (e.g. 127.0.0.1:9477; default: off)\n"
		"      --ringbuf-size BYTES  kernel ring buffer size, power of two >= 4096\n"
		"                            (default 8M; K/M/G suffixes)\n"
		"      --stats-interval SEC  write a stats record every SEC seconds (0: never;\n"
		"                            default 60)\n"
		"      --rotate-size BYTES   rotate file sinks at this size (0: never; default "
		"100M)\n"
		"      --rotate-keep N       rotated files kept, PATH.1..PATH.N (default 5)\n"
		"      --flows[=all|rules]   count allowed sends into flows in the kernel and\n"
		"                            write flow records instead of one event per send:\n"
		"                            all (the default) but rules with "
		"\"export\":\"events\",\n"
		"                            or only rules with \"export\":\"flows\"\n"
		"      --flow-interval SEC   a flow record per active flow every SEC seconds;\n"
		"                            a flow idle for 3 intervals ends (default 10)\n"
		"      --flow-table-size N   flows the kernel holds at once (default 16384;\n"
		"                            more flows: their sends are events)\n"
		"      --cgroup PATH         enforce in this cgroup v2 subtree only (e.g.\n"
		"                            /system.slice; default: the whole host)\n"
		"      --no-enforce          judge and report only: attach no enforcement hook\n"
		"      --no-lsm              enforce with the cgroup hooks only, not BPF-LSM\n"
		"      --persist             keep the hooks and the policy in force after exit,\n"
		"                            pinned in the pin directory; a restarted daemon\n"
		"                            adopts them\n"
		"      --pin-dir DIR         pin directory, on a bpffs (default\n"
		"                            " SG_PIN_DIR "); a daemon adopts the pins\n"
		"                            it finds there, and without --persist removes them\n"
		"      --state-dir DIR       where --persist keeps its state file (default\n"
		"                            " SG_STATE_DIR ")\n"
		"      --control PATH        control socket (docs/control.md; default\n"
		"                            " SG_CONTROL_DEFAULT ";\n"
		"                            'none': no socket)\n"
		"      --bpf-variant NAME    use no program variant better than NAME (btf,\n"
		"                            core, compat; default: the best this kernel\n"
		"                            loads; also $SENDGUARD_BPF_VARIANT)\n"
		"  -f, --foreground          stay in the foreground, log to stderr\n"
		"  -v, --verbose             more log output (-vv: libbpf debug log)\n"
		"  -h, --help                this help\n"
		"  -V, --version             print the version\n"
		"\n"
		"Signals: SIGTERM/SIGINT exit after writing every captured event,\n"
		"SIGHUP reloads the policy (an invalid one is refused, the old one stays),\n"
		"SIGUSR1 reopens file sinks, SIGUSR2 logs the enforcement coverage.\n"
		"Exit status: 0 clean, 1 runtime failure, 2 bad usage or invalid policy.\n");
}

/* What the sinks report (sinks.h) goes to the daemon's log. */
static void sink_log(int level, const char *fmt, va_list ap)
{
	log_vmsg(level <= LOG_ERR	? LOG_LVL_ERR
		 : level <= LOG_WARNING ? LOG_LVL_WARN
		 : level <= LOG_INFO	? LOG_LVL_INFO
					: LOG_LVL_DEBUG,
		 fmt, ap);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "sendguardd: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'sendguardd --help'.\n");
	return 2;
}

static int parse_size(const char *arg, const char *opt, uint64_t min, uint64_t max, uint64_t *out)
{
	int err = sg_parse_u64(arg, min, max, 1, out);

	if (err == -ERANGE) {
		fprintf(stderr, "sendguardd: %s %s: must be between %llu and %llu\n", opt, arg,
			(unsigned long long)min, (unsigned long long)max);
		return 2;
	}
	if (err) {
		fprintf(stderr, "sendguardd: %s %s: not a number\n", opt, arg);
		return 2;
	}
	return 0;
}

/* Defaults, then SENDGUARD_BPF_VARIANT; 0, or 2 (usage). */
static int options_defaults(struct options *o)
{
	const char *variant = getenv("SENDGUARD_BPF_VARIANT");

	memset(o, 0, sizeof(*o));
	o->ringbuf_size = 8u << 20;
	o->stats_interval = 60;
	o->rotate_size = 100u << 20;
	o->rotate_keep = 5;
	o->control = SG_CONTROL_DEFAULT;
	if (variant && variant[0]) {
		o->variant_limit = variant__parse(variant);
		if (o->variant_limit < 0)
			return usage_error("SENDGUARD_BPF_VARIANT=%s: expected btf, core or compat",
					   variant);
	}
	o->syslog_queue = TCP_SINK_QUEUE_DEF;
	o->flow_interval = SG_FLOW_INTERVAL_DEF;
	o->flow_table_size = SG_FLOW_TABLE_SIZE_DEF;
	return 0;
}

/* Where records go and how much is kept: -o, the ring buffer, rotation, queues. */
static int parse_output_option(int c, const char *arg, struct options *o)
{
	int rc;

	switch (c) {
	case 'o':
		if (o->nsinks == MAX_SINKS)
			return usage_error("too many sinks (at most %s)", "8");
		if (sink__parse(arg, &o->sinks[o->nsinks]))
			return usage_error("bad sink '%s': expected stdout, syslog, "
					   "file:/absolute/path or syslog+tcp://HOST:PORT",
					   arg);
		o->nsinks++;
		return 0;
	case OPT_RINGBUF:
		if ((rc = parse_size(arg, "--ringbuf-size", 4096, 1u << 30, &o->ringbuf_size)))
			return rc;
		if (o->ringbuf_size & (o->ringbuf_size - 1))
			return usage_error("--ringbuf-size %s: must be a power of two", arg);
		return 0;
	case OPT_STATS:
		return parse_size(arg, "--stats-interval", 0, 86400, &o->stats_interval);
	case OPT_ROTATE_SIZE:
		return parse_size(arg, "--rotate-size", 0, UINT64_MAX / 2, &o->rotate_size);
	case OPT_ROTATE_KEEP:
		return parse_size(arg, "--rotate-keep", 0, 1000, &o->rotate_keep);
	default: /* OPT_SYSLOG_QUEUE */
		return parse_size(arg, "--syslog-queue", 4096, 1u << 30, &o->syslog_queue);
	}
}

/* What is enforced and how: --cgroup, --no-enforce, --no-lsm, pins, --bpf-variant. */
static int parse_enforce_option(int c, const char *arg, struct options *o)
{
	switch (c) {
	case OPT_CGROUP:
		if (arg[0] != '/')
			return usage_error("--cgroup %s: must be an absolute cgroup path", arg);
		o->cgroup = arg;
		return 0;
	case OPT_NO_ENFORCE:
		o->no_enforce = 1;
		return 0;
	case OPT_NO_LSM:
		o->no_lsm = 1;
		return 0;
	case OPT_PERSIST:
		o->persist = 1;
		return 0;
	case OPT_PIN_DIR:
	case OPT_STATE_DIR:
		if (arg[0] != '/')
			return usage_error(c == OPT_PIN_DIR
						   ? "--pin-dir %s: must be an absolute path"
						   : "--state-dir %s: must be an absolute path",
					   arg);
		if (persist__set_dirs(c == OPT_PIN_DIR ? arg : NULL,
				      c == OPT_STATE_DIR ? arg : NULL))
			return usage_error("%s: path too long", arg);
		return 0;
	default: /* OPT_BPF_VARIANT */
		o->variant_limit = variant__parse(arg);
		if (o->variant_limit < 0)
			return usage_error("--bpf-variant %s: expected btf, core or compat", arg);
		return 0;
	}
}

/* --flows[=all|rules], --flow-interval, --flow-table-size */
static int parse_flows_option(int c, const char *arg, struct options *o)
{
	switch (c) {
	case OPT_FLOWS:
		if (!arg || !strcmp(arg, "all"))
			o->flows = SG_FLOWS_ALL;
		else if (!strcmp(arg, "rules"))
			o->flows = SG_FLOWS_RULES;
		else
			return usage_error("--flows=%s: expected all or rules", arg);
		return 0;
	case OPT_FLOW_INTERVAL:
		return parse_size(arg, "--flow-interval", 1, 3600, &o->flow_interval);
	default: /* OPT_FLOW_TABLE */
		return parse_size(arg, "--flow-table-size", 16, 1u << 20, &o->flow_table_size);
	}
}

/* --control PATH|none */
static int parse_control_option(const char *arg, struct options *o)
{
	if (!strcmp(arg, "none")) {
		o->control = NULL;
		return 0;
	}
	if (arg[0] != '/')
		return usage_error("--control %s: must be an absolute path or 'none'", arg);
	o->control = arg;
	return 0;
}

/* --metrics ADDR:PORT, resolved now */
static int parse_metrics_option(const char *arg, struct options *o)
{
	char host[256];
	unsigned int port;
	const char *why;

	if (netaddr_split(arg, host, sizeof(host), &port))
		return usage_error("--metrics %s: expected ADDR:PORT (e.g. "
				   "127.0.0.1:9477, [::1]:9477)",
				   arg);
	if (netaddr_resolve(arg, &o->metrics_addr, &why))
		return usage_error("--metrics %s: address does not resolve", arg);
	o->metrics = arg;
	return 0;
}

/* The default sink when none was named; rotation and queue sizes to every sink. */
static void options_finish_sinks(struct options *o)
{
	if (o->nsinks == 0) {
		sink__parse(o->foreground ? "stdout" : "file:" DEFAULT_LOG, &o->sinks[0]);
		o->nsinks = 1;
	}
	for (int i = 0; i < o->nsinks; i++) {
		o->sinks[i].rotate_size = o->rotate_size;
		o->sinks[i].rotate_keep = (unsigned int)o->rotate_keep;
		if (o->sinks[i].tcp)
			tcp_sink__set_queue_max(o->sinks[i].tcp, (size_t)o->syslog_queue);
	}
}

static int parse_args(int argc, char **argv, struct options *o)
{
	int c, rc;

	rc = options_defaults(o);
	if (rc)
		return rc;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:no:fvhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->policy = optarg;
			break;
		case 'n':
			o->check = 1;
			break;
		case 'o':
		case OPT_RINGBUF:
		case OPT_STATS:
		case OPT_ROTATE_SIZE:
		case OPT_ROTATE_KEEP:
		case OPT_SYSLOG_QUEUE:
			rc = parse_output_option(c, optarg, o);
			break;
		case OPT_CGROUP:
		case OPT_NO_ENFORCE:
		case OPT_NO_LSM:
		case OPT_PERSIST:
		case OPT_PIN_DIR:
		case OPT_STATE_DIR:
		case OPT_BPF_VARIANT:
			rc = parse_enforce_option(c, optarg, o);
			break;
		case OPT_FLOWS:
		case OPT_FLOW_INTERVAL:
		case OPT_FLOW_TABLE:
			rc = parse_flows_option(c, optarg, o);
			break;
		case OPT_CONTROL:
			rc = parse_control_option(optarg, o);
			break;
		case OPT_METRICS:
			rc = parse_metrics_option(optarg, o);
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("sendguardd %s\n", SG_VERSION);
			exit(0);
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	options_finish_sinks(o);
	return 0;
}

static int open_sinks(struct options *o)
{
	for (int i = 0; i < o->nsinks; i++) {
		struct sink *s = &o->sinks[i];
		int err;

		if (s->kind == SINK_FILE) {
			/* Create the log directory of the default sink. */
			char dir[PATH_MAX];
			char *slash;

			snprintf(dir, sizeof(dir), "%s", s->path);
			slash = strrchr(dir, '/');
			if (slash && slash != dir) {
				*slash = '\0';
				if (strcmp(s->path, DEFAULT_LOG) == 0)
					mkdir(dir, 0750);
			}
		}
		err = sink__open(s);
		if (err) {
			log_err("cannot open sink %s: %s", sink__name(s), sink__strerror(s, err));
			return err;
		}
	}
	return 0;
}

static int add_fd(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int make_timer(void)
{
	struct itimerspec its = {
		.it_interval = { .tv_nsec = TICK_MS * 1000000L },
		.it_value = { .tv_nsec = TICK_MS * 1000000L },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &its, NULL)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void log_errlist(enum log_level lvl, const struct sg_errlist *l)
{
	for (size_t i = 0; i < sg_errlist_count(l); i++)
		log_msg(lvl, "%s", sg_errlist_get(l, i));
}

static const char *policy_source(const struct options *o)
{
	return o->policy ? o->policy : "<default policy>";
}

/* -n: validate, print, exit code. */
static int check_policy(const struct options *o, const char *cgroup2)
{
	struct sg_errlist errs = { 0 }, warnings = { 0 };
	struct sg_policy *p = NULL;
	int err = policy_mgr__check(o->policy, cgroup2, &p, &errs, &warnings);

	log_errlist(LOG_LVL_WARN, &warnings);
	if (err) {
		log_errlist(LOG_LVL_ERR, &errs);
		log_err("%s: invalid policy", policy_source(o));
	} else {
		printf("%s: valid (name %s, %u rules, default %s)\n", policy_source(o),
		       p->name[0] ? p->name : "-", p->nrules, sg_verdict_name(p->default_action));
	}
	sg_errlist_free(&errs);
	sg_errlist_free(&warnings);
	sg_policy_free(p);
	return err ? 2 : 0;
}

/* Enforcement hooks (enforce.c); zero when none are loaded. */
static struct enforce enforcer;

/*
 * A reload to a policy that can deny: the hooks attach before the switch. A
 * hook that no longer attaches (its cgroup was removed) refuses the reload:
 * the policy would not be enforced as the coverage report says.
 */
static int hooks_before_switch(const struct sg_policy *next, void *ctx, struct sg_errlist *errs)
{
	char why[512];
	int err;

	(void)ctx;
	if (!sg_policy_hook_can_deny(next) && !sg_policy_can_deny(next))
		return 0;
	err = enforce__apply(&enforcer, next, why, sizeof(why));
	if (err)
		sg_errlist_add(errs, "cannot enforce this policy: %s", why);
	return err;
}

/*
 * --cgroup: the cgroup must exist under the cgroup v2 mount (named in full or
 * relative to it). 0, or 1 with the cause logged.
 */
static int resolve_cgroup_option(struct options *o, const char *cg2)
{
	int err;

	if (!o->cgroup)
		return 0;
	if (!cg2[0]) {
		log_err("--cgroup %s: no cgroup v2 mount found (see /proc/self/mountinfo)",
			o->cgroup);
		return 1;
	}
	err = mounts_resolve_cgroup(cg2, o->cgroup, o->cgroup_dir, sizeof(o->cgroup_dir),
				    o->cgroup_rel, sizeof(o->cgroup_rel));
	if (err == -ENOENT)
		log_err("--cgroup %s: no such cgroup under the cgroup v2 mount %s", o->cgroup, cg2);
	else if (err == -EXDEV)
		log_err("--cgroup %s: not under the cgroup v2 mount %s", o->cgroup, cg2);
	else if (err == -ENOTDIR || err == -EMEDIUMTYPE)
		log_err("--cgroup %s: not a cgroup v2 directory", o->cgroup);
	else if (err)
		log_err("--cgroup %s: %s", o->cgroup, strerror(-err));
	return err ? 1 : 0;
}

/*
 * Attach the enforcement hooks (the policy maps must be complete) and report.
 * 0, or 1 when the enforcement asked for cannot be set up (a --cgroup where
 * no hook attaches, a policy whose hooks do not attach): the cause is logged.
 */
static int start_enforcement(struct trace_bpf *skel, struct policy_mgr *pm, struct pipeline *p,
			     const struct options *o, const char *cg2)
{
	char dir[PATH_MAX], why[512];
	int err;

	enforcer.persist = o->persist;
	enforcer.variant_limit = o->variant_limit;
	enforcer.no_lsm = o->no_lsm;
	if (o->no_enforce) {
		enforcer.off = true;
		if (access(persist__pin_dir(), F_OK) == 0) {
			log_info("--no-enforce: removing the hooks an earlier --persist run left");
			persist__unpin_all();
		}
		log_info("--no-enforce: deny verdicts are reported, not enforced");
		enforce__report(&enforcer, policy_mgr__current(pm));
		return 0;
	}
	if (o->cgroup) {
		snprintf(dir, sizeof(dir), "%s", o->cgroup_dir);
	} else if (!cg2[0]) {
		log_warn("no cgroup v2 mount: cgroup enforcement unavailable");
		dir[0] = '\0';
	} else {
		snprintf(dir, sizeof(dir), "%s", cg2);
	}
	err = enforce__start(&enforcer, skel, dir, o->cgroup ? o->cgroup_rel : "/", o->cgroup);
	if (err) {
		log_err("--cgroup %s: cannot attach the cgroup enforcement hooks there: %s",
			o->cgroup, strerror(-err));
		return 1;
	}
	for (int lsm = 0; lsm < 2; lsm++)
		if (enforce__lost_counter(&enforcer, lsm))
			pipeline__add_lost_counter(p, enforce__lost_counter(&enforcer, lsm), true);
	if (enforce__apply(&enforcer, policy_mgr__current(pm), why, sizeof(why))) {
		log_err("cannot enforce the policy: %s", why);
		return 1;
	}
	pm->before_switch = hooks_before_switch;
	enforce__report(&enforcer, policy_mgr__current(pm));
	return 0;
}

/* --- policy loads ------------------------------------------------------------ */

/*
 * The daemon as the loads and the event loop see it (the control socket: views.c).
 * A policy load is prepared at once (parsed, compiled: a refusal is
 * immediate) and committed (maps written, programs switched) when the slot
 * it goes to is out of its grace (policy_mgr.c). A load that has to wait is
 * pending and committed by the grace timer from the event loop, which goes
 * on draining and answering meanwhile; a newer load replaces it.
 */
struct daemon_view {
	struct pipeline *p;
	struct policy_mgr *pm;
	struct options *o;
	char *loaded_path; /* o->policy once a load set it (owned) */
	int grace_fd; /* one-shot timer: the pending load's slot is free */
	bool pending; /* a load waits for its slot */
	char *pending_path; /* its file (owned); NULL: the embedded default */
	uint64_t pending_client; /* the control connection waiting for it, 0: none */
	bool reload_notify; /* a SIGHUP reload waits: READY=1 once it is done */
};

/* Log a policy loaded or refused and write its record (source: the file, NULL: default). */
static void policy_outcome(struct daemon_view *v, const char *source, int err,
			   const struct sg_errlist *errs, unsigned int delay_ms)
{
	const struct sg_policy *cur = policy_mgr__current(v->pm);
	const char *shown = source ? source : "<default policy>";
	struct sg_policy_note n = { 0 };

	if (err) {
		log_errlist(LOG_LVL_ERR, errs);
		if (cur)
			log_err("%s: policy refused; %s version %u stays in force", shown,
				cur->name, cur->version);
		else
			log_err("%s: policy refused", shown);
	} else {
		log_info("policy %s version %u in force (%s: %u rules, default %s)",
			 cur->name[0] ? cur->name : "-", cur->version, shown, cur->nrules,
			 sg_verdict_name(cur->default_action));
	}
	if (!cur)
		return;
	/* A "loaded" record waits for the first event of its version (pipeline__policy_note). */
	n.result = err ? "refused" : "loaded";
	n.source = source;
	n.name = cur->name[0] ? cur->name : NULL;
	n.version = cur->version;
	n.nrules = cur->nrules;
	n.default_action = sg_verdict_name(cur->default_action);
	n.errors = (const char *const *)errs->items;
	n.nerrors = sg_errlist_count(errs);
	pipeline__policy_note(v->p, &n, delay_ms);
}

static void copy_errors(struct sg_errlist *to, const struct sg_errlist *from, int err)
{
	for (size_t i = 0; to && i < sg_errlist_count(from); i++)
		sg_errlist_add(to, "%s", sg_errlist_get(from, i));
	if (to && !sg_errlist_count(from))
		sg_errlist_add(to, "%s", strerror(-err));
}

/*
 * Commit the pending load: the switch, its record, the hooks following what
 * the policy in force can deny, and the reply of the control connection
 * that waits for it. 0 when it is in force.
 */
static int load_commit(struct daemon_view *v, struct sg_errlist *errs_out)
{
	struct sg_errlist errs = { 0 };
	unsigned int delay = policy_mgr__current(v->pm) ? 1000 : 0;
	char *path = v->pending_path, *old = v->loaded_path;
	uint64_t client = v->pending_client;
	int err;

	v->pending = false;
	v->pending_path = NULL;
	v->pending_client = 0;
	err = policy_mgr__commit(v->pm, &errs);
	if (err) {
		policy_outcome(v, path, err, &errs, 0);
		free(path);
	} else {
		/* The file is now the one SIGHUP reloads; the old name lives until its record is out. */
		v->o->policy = path;
		v->loaded_path = path;
		policy_outcome(v, path, 0, &errs, delay);
		free(old);
	}
	/* The policy in force had its hooks: this attaches nothing new, it may detach. */
	enforce__apply(&enforcer, policy_mgr__current(v->pm), NULL, 0);
	if (!err && delay)
		enforce__report(&enforcer, policy_mgr__current(v->pm));
	if (client)
		control__policy_load_done(v->p->ctl, client, err, policy_mgr__current(v->pm),
					  &errs);
	if (v->reload_notify) {
		v->reload_notify = false;
		notify_send("READY=1");
	}
	if (err)
		copy_errors(errs_out, &errs, err);
	sg_errlist_free(&errs);
	return err;
}

/* One-shot: the grace timer goes off in ms milliseconds. */
static void arm_grace(struct daemon_view *v, uint64_t ms)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ms / 1000),
						.tv_nsec = (long)(ms % 1000) * 1000000L } };

	if (timerfd_settime(v->grace_fd, 0, &its, NULL))
		log_err("cannot arm the policy grace timer: %s", strerror(errno));
}

/* The waiting load will not be committed (why): logged, its connection told. */
static void load_forget(struct daemon_view *v, const char *why)
{
	struct sg_errlist errs = { 0 };

	if (v->pending_client) {
		sg_errlist_add(&errs, "%s", why);
		control__policy_load_done(v->p->ctl, v->pending_client, -ECANCELED, NULL, &errs);
		sg_errlist_free(&errs);
	}
	log_info("%s: policy load not in force: %s",
		 v->pending_path ? v->pending_path : "<default policy>", why);
	free(v->pending_path);
	v->pending_path = NULL;
	v->pending_client = 0;
	v->pending = false;
}

/* At exit: the waiting load, if any, is dropped. */
static void load_cancel(struct daemon_view *v, const char *why)
{
	if (!v->pending)
		return;
	policy_mgr__drop_pending(v->pm);
	load_forget(v, why);
}

/*
 * Load path (NULL: the embedded default) as the next policy version: the
 * first load, SIGHUP, or policy_load from control connection client. Events
 * judged so far go out first. 0 when it is in force; -EINPROGRESS when its
 * slot is still in its grace (the grace timer commits it, and answers
 * client); else -errno with the reasons in errs_out (may be NULL) and the
 * policy in force stays.
 */
static int load_start(struct daemon_view *v, const char *path, uint64_t client,
		      struct sg_errlist *errs_out)
{
	struct sg_errlist errs = { 0 }, warnings = { 0 };
	char *copy = NULL;
	uint64_t wait;
	int err;

	if (path && !(copy = strdup(path)))
		return -ENOMEM;
	if (policy_mgr__current(v->pm))
		pipeline__drain(v->p);
	err = policy_mgr__prepare(v->pm, path, &errs, &warnings);
	log_errlist(LOG_LVL_WARN, &warnings);
	sg_errlist_free(&warnings);
	if (err) {
		/* A load that waits (if any) is not touched by one that is refused. */
		policy_outcome(v, path, err, &errs, 0);
		copy_errors(errs_out, &errs, err);
		sg_errlist_free(&errs);
		free(copy);
		return err;
	}
	sg_errlist_free(&errs);
	if (v->pending) {
		/* policy_mgr__prepare replaced it already. */
		char why[PATH_MAX + 64];

		snprintf(why, sizeof(why), "superseded by a newer load (%s) before it took effect",
			 path ? path : "<default policy>");
		load_forget(v, why);
	}
	v->pending = true;
	v->pending_path = copy;
	v->pending_client = 0;
	wait = policy_mgr__pending_wait_ms(v->pm);
	if (!wait)
		return load_commit(v, errs_out);
	v->pending_client = client;
	log_debug("policy load of %s waits %llu ms for its slot", path ? path : "<default policy>",
		  (unsigned long long)wait);
	arm_grace(v, wait);
	return -EINPROGRESS;
}

/* The grace timer went off: commit the waiting load (or wait on). */
static void grace_expired(struct daemon_view *v)
{
	uint64_t ticks, wait;

	if (read(v->grace_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("timerfd: %s", strerror(errno));
	if (!v->pending)
		return;
	wait = policy_mgr__pending_wait_ms(v->pm);
	if (wait)
		arm_grace(v, wait);
	else
		load_commit(v, NULL);
}

/* policy_load from a control connection (ctl_view.load). */
static int control_policy_load(void *ctx, const char *path, uint64_t client,
			       const struct sg_policy **now, struct sg_errlist *errs)
{
	struct daemon_view *v = ctx;
	int err;

	log_info("control: loading policy %s", path);
	err = load_start(v, path, client, errs);
	if (!err)
		*now = policy_mgr__current(v->pm);
	return err;
}

/*
 * Without -f: fork before anything is loaded, so that the pid the BPF programs
 * leave out as the daemon's own is the one that sends (after a later fork the
 * daemon would trace its own writes to its sinks, each one an event to write
 * again). The parent waits until the child is ready, then exits 0, or exits
 * with the child's status if it fails first; errors reach the terminal until
 * then. Returns the write end of the readiness pipe, or -errno.
 */
static int detach_early(void)
{
	int pfd[2], st;
	pid_t pid;
	ssize_t n;
	char c;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(pfd[1]);
		do
			n = read(pfd[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			_exit(0);
		if (waitpid(pid, &st, 0) < 0)
			_exit(1);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
	}
	close(pfd[0]);
	setsid();
	return pfd[1];
}

/* Ready in the background: standard streams to /dev/null, log to syslog, release the parent. */
static void detached_ready(int ready_fd)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (chdir("/"))
		log_debug("chdir /: %s", strerror(errno));
	log_to_syslog();
	if (write(ready_fd, "R", 1) != 1)
		log_warn("cannot tell the starting process that we are ready: %s", strerror(errno));
	close(ready_fd);
}

/* Returns the exit code. */
static int run_loop(struct daemon_view *v, int sfd, struct metrics_http *mh)
{
	struct pipeline *p = v->p;
	struct policy_mgr *pm = v->pm;
	struct options *o = v->o;
	int ep = -1, tfd = -1, rbfd = pipeline__epoll_fd(p), rc = 1, err;
	int cfd = control__epoll_fd(p->ctl), gfd = v->grace_fd, mfd = metrics_http__epoll_fd(mh);
	uint64_t next_stats = o->stats_interval ? sg_clock_mono_ms() + o->stats_interval * 1000 : 0;
	struct epoll_event evs[8];

	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = make_timer();
	if (ep < 0 || tfd < 0 || (err = add_fd(ep, rbfd)) || (err = add_fd(ep, sfd)) ||
	    (err = add_fd(ep, tfd)) || (err = add_fd(ep, gfd)) ||
	    (cfd >= 0 && (err = add_fd(ep, cfd))) || (mfd >= 0 && (err = add_fd(ep, mfd)))) {
		log_err("cannot set up the event loop: %s", strerror(errno));
		goto cleanup;
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 8, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %s", strerror(errno));
			goto cleanup;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == cfd) {
				control__dispatch(p->ctl);
			} else if (fd == gfd) {
				grace_expired(v);
			} else if (fd == mfd) {
				metrics_http__dispatch(mh);
			} else if (fd == tfd) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
					log_warn("timerfd: %s", strerror(errno));
			} else if (fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				switch (si.ssi_signo) {
				case SIGTERM:
				case SIGINT:
					log_info("%s: stopping", strsignal((int)si.ssi_signo));
					rc = 0;
					goto cleanup;
				case SIGHUP:
					/* Type=notify: RELOADING=1, then READY=1 once in force or refused. */
					notify_send("RELOADING=1");
					if (load_start(v, o->policy, 0, NULL) == -EINPROGRESS)
						v->reload_notify = true;
					else
						notify_send("READY=1");
					break;
				case SIGUSR2:
					enforce__report(&enforcer, policy_mgr__current(pm));
					break;
				case SIGUSR1:
					for (int s = 0; s < o->nsinks; s++) {
						err = sink__reopen(&o->sinks[s]);
						if (err)
							log_err("cannot reopen %s: %s",
								sink__name(&o->sinks[s]),
								sink__strerror(&o->sinks[s], err));
					}
					break;
				default:
					break;
				}
			}
		}
		err = pipeline__drain(p);
		if (err && err != -EINTR)
			log_warn("ring buffer: %s", strerror(-err));
		if (p->flows)
			flows__tick(p->flows, p, sg_clock_mono_ms(), false);
		if (next_stats && sg_clock_mono_ms() >= next_stats) {
			pipeline__stats(p);
			next_stats += o->stats_interval * 1000;
		}
		control__flush(p->ctl);
		metrics_http__tick(mh);
	}
cleanup:
	if (tfd >= 0)
		close(tfd);
	if (ep >= 0)
		close(ep);
	return rc;
}

/*
 * Signals are read from a signalfd in the event loop: block them and open it.
 * The fd, or -errno.
 */
static int open_signalfd(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed stdout is a sink error, not death */
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/*
 * The loads' grace timer and the control socket (--control). 0, or 1 with
 * the cause logged; what was opened is in v and *ctl for main's cleanup.
 */
static int start_control(struct daemon_view *v, struct ctl_view *cv, struct control **ctl,
			 const struct loader_opts *lo)
{
	struct control_ops ops;

	v->grace_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (v->grace_fd < 0) {
		log_err("timerfd: %s", strerror(errno));
		return 1;
	}
	if (!v->o->control)
		return 0;
	cv->p = v->p;
	cv->pm = v->pm;
	cv->en = &enforcer;
	cv->control = v->o->control;
	cv->sinks = v->o->sinks;
	cv->nsinks = v->o->nsinks;
	cv->variant = lo->variant;
	cv->started_boot_ns = sg_clock_boot_now();
	cv->started_mono_ms = sg_clock_mono_ms();
	cv->policy_source = &v->o->policy;
	cv->pending = &v->pending;
	cv->pending_path = &v->pending_path;
	cv->load = control_policy_load;
	cv->load_ctx = v;
	ctl_view__ops(cv, &ops);
	if (control__open(ctl, v->o->control, &ops)) {
		log_err("cannot open the control socket (--control PATH elsewhere, "
			"--control none for none)");
		return 1;
	}
	return 0;
}

/* The policy manager and the event pipeline. 0, or 1 with the cause logged. */
static int start_pipeline(struct daemon_view *v, struct trace_bpf *skel, struct control *ctl,
			  const char *cg2)
{
	int err = policy_mgr__init(v->pm, skel->obj, cg2);

	if (!err)
		err = pipeline__init(v->p, skel, v->pm, v->o->sinks, v->o->nsinks, cg2);
	v->p->ctl = ctl;
	if (err) {
		log_err("cannot set up the event pipeline: %s", strerror(-err));
		return 1;
	}
	return 0;
}

/*
 * Pins of an earlier run: nothing traced since it stopped. Say so first
 * (what its state file knows, what waits in the pinned ring buffer).
 */
static void report_adopted_gap(struct pipeline *p, struct trace_bpf *skel)
{
	struct sg_gap gap = { 0 };
	int err;

	persist__state_read(&gap);
	err = persist__ring_queued(bpf_map__fd(skel->maps.events),
				   bpf_map__max_entries(skel->maps.events), &gap.queued);
	if (err)
		log_warn("cannot count the records queued in the pinned ring buffer: %s",
			 strerror(-err));
	pipeline__gap(p, &gap);
	log_info("adopted the pins of an earlier run: sends since %s were not traced",
		 gap.known ? "its last record" : "it stopped (when is not known)");
}

/* --metrics: the HTTP endpoint, serving from *msrc. 0, or 1. */
static int start_metrics(struct metrics_http **mh, struct metrics_src *msrc,
			 const struct daemon_view *v, struct control *ctl)
{
	msrc->version = SG_VERSION;
	msrc->p = v->p;
	msrc->pm = v->pm;
	msrc->en = &enforcer;
	msrc->ctl = ctl;
	msrc->policy_source = &v->o->policy;
	msrc->ringbuf_size = v->o->ringbuf_size;
	if (metrics_http__open(mh, &v->o->metrics_addr, metrics__render, msrc))
		return 1;
	msrc->http = *mh;
	return 0;
}

/* Say we are up: the log, the parent waiting for a detached daemon, the service manager. */
static void announce_ready(const struct options *o, int ready_fd)
{
	char st[64];
	int err;

	/* Loading parsed the kernel's BTF for every object: give that memory back. */
	malloc_trim(0);
	log_info("ready: tracing sendto, sendmsg, sendmmsg (ring buffer %llu KiB, %d sink%s%s%s)",
		 (unsigned long long)(o->ringbuf_size >> 10), o->nsinks, o->nsinks > 1 ? "s" : "",
		 o->control ? ", control socket " : "", o->control ? o->control : "");
	if (ready_fd >= 0)
		detached_ready(ready_fd);
	/* Type=notify: the service manager learns that we are up, and our pid. */
	snprintf(st, sizeof(st), "READY=1\nMAINPID=%d", (int)getpid());
	err = notify_send(st);
	if (err)
		log_warn("cannot notify the service manager: %s", strerror(-err));
}

/*
 * After the event loop: stop producing, then write out everything the kernel
 * queued. rc is the loop's: the state file records a clean stop when it is 0.
 */
static void stop_and_drain(struct daemon_view *v, struct trace_bpf *skel, struct control *ctl,
			   int rc)
{
	struct pipeline *p = v->p;
	const struct options *o = v->o;
	int err;

	load_cancel(v, "the daemon stopped before it took effect");
	notify_send("STOPPING=1");
	/* Without --persist nothing outlives us (the hooks go with their last fd). */
	if (!o->persist)
		persist__unpin_all();
	enforce__detach(&enforcer);
	loader__detach(skel);
	err = pipeline__drain(p);
	if (err)
		log_warn("final drain: %s", strerror(-err));
	/* The programs are gone: every count in the table is final. */
	if (p->flows)
		flows__tick(p->flows, p, sg_clock_mono_ms(), true);
	pipeline__finish(p, sg_clock_mono_ms() + FINISH_MS);
	persist__state_close(p->state, rc == 0); /* without --persist, already removed */
	p->state = NULL;
	control__flush(ctl); /* subscribers get the last records too */
	for (int i = 0; i < o->nsinks; i++) {
		if (o->sinks[i].dropped)
			log_warn("sink %s: %llu records could not be written",
				 sink__name(&o->sinks[i]), (unsigned long long)o->sinks[i].dropped);
	}
}

int main(int argc, char **argv)
{
	struct loader_opts lo = { 0 };
	struct trace_bpf *skel = NULL;
	struct pipeline p = { 0 };
	struct policy_mgr pm = { 0 };
	struct daemon_view view = { .p = &p, .pm = &pm, .grace_fd = -1 };
	struct ctl_view cv = { 0 };
	struct control *ctl = NULL;
	struct metrics_http *mh = NULL;
	struct metrics_src msrc = { 0 };
	struct flows flows = { 0 };
	struct options o;
	char cg2[PATH_MAX];
	int rc, err, sfd = -1, ready_fd = -1;

	view.o = &o;
	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	log_verbosity = o.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	sink__set_log(sink_log);
	if (!o.foreground && !o.check) {
		ready_fd = detach_early();
		if (ready_fd < 0) {
			log_err("cannot detach: %s", strerror(-ready_fd));
			return 1;
		}
	}
	sfd = open_signalfd();
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(-sfd));
		return 1;
	}

	err = mounts_find_cgroup2(cg2, sizeof(cg2));
	if (err) {
		log_warn("no cgroup v2 mount found: cgroup paths are not verified");
		cg2[0] = '\0';
	}
	if (o.check) {
		rc = check_policy(&o, cg2[0] ? cg2 : NULL);
		goto cleanup;
	}
	if (resolve_cgroup_option(&o, cg2) || open_sinks(&o)) {
		rc = 1;
		goto cleanup;
	}
	lo.ringbuf_size = o.ringbuf_size;
	lo.verbose = o.verbose;
	lo.persist = o.persist;
	lo.variant_limit = o.variant_limit;
	lo.flows = o.flows;
	lo.flow_table_size = (uint32_t)o.flow_table_size;
	lo.flow_idle_ns = o.flow_interval * SG_FLOW_IDLE_INTERVALS * 1000000000ULL;
	err = loader__load(&skel, &lo);
	if (err) {
		rc = 1;
		goto cleanup;
	}
	/*
	 * The control socket before the first policy: a second daemon stops
	 * here, before it attaches anything, and the first policy record is in
	 * the socket's backlog. Requests are served once the event loop runs.
	 */
	if (start_control(&view, &cv, &ctl, &lo) ||
	    start_pipeline(&view, skel, ctl, cg2[0] ? cg2 : NULL)) {
		rc = 1;
		goto cleanup;
	}
	if (o.flows) {
		err = flows__init(&flows, skel, o.flows, o.flow_interval);
		if (err) {
			log_err("cannot set up flows: %s", strerror(-err));
			rc = 1;
			goto cleanup;
		}
		p.flows = &flows;
		log_info("flows: %s counted in the kernel, records every %llu s, table of %llu "
			 "flows",
			 o.flows == SG_FLOWS_ALL ? "allowed sends"
						 : "the sends of rules with \"export\": \"flows\"",
			 (unsigned long long)o.flow_interval,
			 (unsigned long long)o.flow_table_size);
	}
	/* Sends are judged from the first one on: attach once a policy is in force. */
	if (lo.adopted)
		report_adopted_gap(&p, skel);
	/* keep a state of our own for the daemon after us */
	if (o.persist || lo.adopted)
		p.state = persist__state_open();
	err = load_start(&view, o.policy, 0, NULL);
	if (err) {
		rc = err == -ENOMEM ? 1 : 2;
		goto cleanup;
	}
	if (loader__attach(skel) || start_enforcement(skel, &pm, &p, &o, cg2) ||
	    (o.metrics && start_metrics(&mh, &msrc, &view, ctl))) {
		rc = 1;
		goto cleanup;
	}
	announce_ready(&o, ready_fd);

	rc = run_loop(&view, sfd, mh);
	stop_and_drain(&view, skel, ctl, rc);
cleanup:
	persist__state_close(p.state, false);
	metrics_http__close(mh);
	control__close(ctl);
	p.ctl = NULL;
	free(view.loaded_path);
	free(view.pending_path);
	if (view.grace_fd >= 0)
		close(view.grace_fd);
	enforce__stop(&enforcer);
	pipeline__free(&p);
	flows__free(&flows);
	policy_mgr__free(&pm);
	if (skel)
		loader__stop(skel);
	for (int i = 0; i < o.nsinks; i++)
		sink__close(&o.sinks[i]);
	if (sfd >= 0)
		close(sfd);
	return rc;
}
