// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sendguard events: subscribe to sendguardd's record stream on the control
 * socket (docs/control.md) and print it, as received (JSON Lines) or one
 * readable line per record.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "cli.h"
#include "names.h"
#include "numparse.h"

/* The daemon keeps the last 1024 records (docs/control.md). */
#define BACKLOG_MAX 1024

enum {
	OPT_FILTER = 256,
	OPT_FORMAT,
	OPT_BACKLOG,
};

static volatile sig_atomic_t events_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	events_stop = 1;
}

static int events_help(void)
{
	printf("Usage: sendguard [--control PATH] events [-f] [--filter EXPR]\n"
	       "                 [--format json|text] [--backlog N]\n"
	       "\n"
	       "Print the records sendguardd writes (send, connect, lost, stats, policy, gap,\n"
	       "undeliverable, flow).\n"
	       "Without --follow: the most recent records the daemon holds, then exit.\n"
	       "\n"
	       "  -f, --follow         then every new record, until interrupted or the\n"
	       "                       daemon closes the connection\n"
	       "  --filter EXPR        KEY=VALUE[,KEY=VALUE...], all must hold; keys: type\n"
	       "                       (send, connect, lost, stats, policy, gap,\n"
	       "                       undeliverable, flow), pid, uid, comm,\n"
	       "                       syscall (sendto, sendmsg, sendmmsg, connect, write,\n"
	       "                       writev, sendfile, splice, io_uring, other), verdict\n"
	       "                       (allow, audit, deny, kill)\n"
	       "  --format json|text   JSON Lines as the daemon writes them, or one\n"
	       "                       readable line per record [json]\n"
	       "  --backlog N          first up to N (0-%d) recent records [%d, with\n"
	       "                       --follow 0]\n"
	       "  -j, --json           --format json\n",
	       BACKLOG_MAX, BACKLOG_MAX);
	return SG_EXIT_OK;
}

/* --- --filter EXPR ------------------------------------------------------- */

static const char *const record_types[] = { "send", "connect",	     "lost", "stats", "policy",
					    "gap",  "undeliverable", "flow", NULL };

/*
 * One "key=value" of --filter into filter. 0, or a usage error (exit code)
 * naming part.
 */
static int add_filter_term(struct json_object *filter, const char *part, char *key, char *value)
{
	struct json_object *v = NULL;
	uint32_t u32;
	uint64_t n;
	size_t i;

	if (sg_jget(filter, key))
		return sg_usage_error("--filter: '%s': %s given twice", part, key);
	if (!strcmp(key, "type")) {
		for (i = 0; record_types[i] && strcmp(record_types[i], value); i++)
			;
		if (!record_types[i])
			return sg_usage_error("--filter: '%s': unknown record type (send, connect, "
					      "lost, stats, policy, gap, undeliverable, flow)",
					      part);
		v = json_object_new_string(value);
	} else if (!strcmp(key, "pid") || !strcmp(key, "uid")) {
		if (sg_parse_u64(value, 0, UINT32_MAX, 0, &n))
			return sg_usage_error("--filter: '%s': %s must be a number 0-4294967295",
					      part, key);
		v = json_object_new_int64((int64_t)n);
	} else if (!strcmp(key, "comm")) {
		if (!value[0] || strlen(value) > 15)
			return sg_usage_error("--filter: '%s': comm must be 1-15 bytes", part);
		v = json_object_new_string(value);
	} else if (!strcmp(key, "syscall")) {
		if (sg_syscall_from_name(value, &u32))
			return sg_usage_error("--filter: '%s': unknown syscall (sendto, sendmsg, "
					      "sendmmsg, connect)",
					      part);
		v = json_object_new_string(value);
	} else if (!strcmp(key, "verdict")) {
		if (sg_verdict_from_name(value, &u32))
			return sg_usage_error(
				"--filter: '%s': unknown verdict (allow, audit, deny, "
				"kill)",
				part);
		v = json_object_new_string(value);
	} else {
		return sg_usage_error("--filter: '%s': unknown key '%s' (type, pid, uid, comm, "
				      "syscall, verdict)",
				      part, key);
	}
	if (!v || json_object_object_add(filter, key, v)) {
		json_object_put(v);
		fprintf(stderr, "sendguard: out of memory\n");
		return SG_EXIT_FAIL;
	}
	return 0;
}

/* "type=send,pid=1234" -> {"type":"send","pid":1234}. 0 or an exit code. */
static int parse_filter(const char *expr, struct json_object *filter)
{
	char *copy = strdup(expr), *part, *next, *eq;
	char shown[256];
	int ret = 0;

	if (!copy) {
		fprintf(stderr, "sendguard: out of memory\n");
		return SG_EXIT_FAIL;
	}
	for (part = copy; part && !ret; part = next) {
		next = strchr(part, ',');
		if (next)
			*next++ = 0;
		if (!part[0]) {
			ret = sg_usage_error("--filter: '%s': empty element", expr);
			break;
		}
		snprintf(shown, sizeof(shown), "%s", part);
		eq = strchr(part, '=');
		if (!eq || eq == part) {
			ret = sg_usage_error("--filter: '%s': expected KEY=VALUE", shown);
			break;
		}
		*eq = 0;
		ret = add_filter_term(filter, shown, part, eq + 1);
	}
	free(copy);
	return ret;
}

/* --- --format text --------------------------------------------------------- */

/* s with control characters (terminal escapes) shown as '?'. */
static void put_safe(const char *s)
{
	for (; s && *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* A member that is a string or a number, as text; "?" when missing. */
static void put_name(struct json_object *o, const char *key)
{
	struct json_object *v = sg_jget(o, key);

	if (json_object_is_type(v, json_type_string))
		put_safe(json_object_get_string(v));
	else if (json_object_is_type(v, json_type_int))
		printf("%lld", (long long)json_object_get_int64(v));
	else
		putchar('?');
}

/* "2026-11-23T00:00:00.123456789Z" to the microsecond: "2026-11-23T00:00:00.123456Z" */
static void put_ts(struct json_object *rec)
{
	const char *ts = sg_jstr(rec, "ts");
	size_t n = ts ? strlen(ts) : 0;

	if (n > 27 && ts[19] == '.' && ts[n - 1] == 'Z')
		printf("%.26sZ", ts);
	else
		put_safe(ts ? ts : "?");
}

static void put_dst(struct json_object *dst)
{
	const char *fam = sg_jstr(dst, "family"), *s;
	int64_t port, scope;

	if (!dst || json_object_is_type(dst, json_type_null)) {
		fputs("(none)", stdout);
	} else if (fam && !strcmp(fam, "inet")) {
		put_name(dst, "addr");
		printf(":%lld", sg_jint(dst, "port", &port) ? (long long)port : -1LL);
	} else if (fam && !strcmp(fam, "inet6")) {
		putchar('[');
		put_name(dst, "addr");
		if (sg_jint(dst, "scope_id", &scope) && scope)
			printf("%%%lld", (long long)scope);
		printf("]:%lld", sg_jint(dst, "port", &port) ? (long long)port : -1LL);
	} else if (fam && !strcmp(fam, "unix")) {
		if ((s = sg_jstr(dst, "path"))) {
			put_safe(s);
		} else if ((s = sg_jstr(dst, "abstract"))) {
			putchar('@');
			put_safe(s);
		} else {
			fputs("unix (unnamed)", stdout);
		}
	} else if (fam && !strcmp(fam, "netlink")) {
		fputs("netlink pid ", stdout);
		put_name(dst, "pid");
		fputs(" groups ", stdout);
		put_name(dst, "groups");
	} else {
		fputs("family ", stdout);
		put_name(dst, "family");
	}
}

/* "udp", "tcp"; else "unix/dgram", "netlink/raw"; "nosock" when fd is not a socket. */
static void put_sock(struct json_object *sock)
{
	if (!json_object_is_type(sock, json_type_object)) {
		fputs("nosock", stdout);
		return;
	}
	if (sg_jstr(sock, "protocol")) {
		put_name(sock, "protocol");
		return;
	}
	put_name(sock, "family");
	putchar('/');
	put_name(sock, "type");
}

/* " flags MSG_OOB|MSG_DONTWAIT", nothing without flags */
static void put_flags(struct json_object *flags)
{
	size_t i, n = json_object_is_type(flags, json_type_array) ? json_object_array_length(flags)
								  : 0;

	for (i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(flags, i);

		fputs(i ? "|" : " flags ", stdout);
		put_safe(json_object_get_string(f));
	}
}

/* " cmsg SCM_RIGHTS(2 fds),IP_PKTINFO", nothing without control data */
static void put_control(struct json_object *control)
{
	struct json_object *cmsgs = sg_jget(control, "cmsgs");
	size_t i, n = json_object_is_type(cmsgs, json_type_array) ? json_object_array_length(cmsgs)
								  : 0;
	int64_t fds;

	if (!json_object_is_type(control, json_type_object))
		return;
	fputs(" cmsg ", stdout);
	if (!n)
		fputs("(none)", stdout);
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(cmsgs, i);

		if (i)
			putchar(',');
		put_name(c, "type");
		if (sg_jint(c, "fds", &fds))
			printf("(%lld fd%s)", (long long)fds, fds == 1 ? "" : "s");
	}
	if (json_object_get_boolean(sg_jget(control, "truncated")))
		fputs(",...", stdout);
}

/* " (rule NAME)" of a policy object, when a rule decided. */
static void put_rule(struct json_object *pol)
{
	const char *rule = sg_jstr(pol, "rule");

	if (rule) {
		fputs(" (rule ", stdout);
		put_safe(rule);
		putchar(')');
	}
}

/*
 * 2026-11-23T00:00:00.123456Z sendto pid 1234 (curl) fd 3 -> 1.2.3.4:53 udp 64 B ret 64 allow
 * ... fd 3 -> 1.2.3.4:53 udp 64 B deny (rule NAME) EPERM by cgroup
 */
static void print_send(struct json_object *rec, bool is_connect)
{
	struct json_object *proc = sg_jget(rec, "proc"), *pol = sg_jget(rec, "policy");
	const char *verdict = sg_jstr(pol, "verdict");
	const char *by = sg_jstr(pol, "enforced_by");
	struct json_object *err = sg_jget(rec, "errno");
	int64_t index, vlen, ret = 0, len, fd;
	bool have_ret = sg_jint(rec, "ret", &ret);

	put_ts(rec);
	putchar(' ');
	put_name(rec, "syscall");
	if (sg_jint(rec, "index", &index) && sg_jint(rec, "vlen", &vlen))
		printf("[%lld/%lld]", (long long)index, (long long)vlen);
	fputs(" pid ", stdout);
	put_name(proc, "pid");
	fputs(" (", stdout);
	put_name(proc, "comm");
	putchar(')');
	/* a connect stopped by a cgroup hook has no fd (-1) */
	if (!sg_jint(rec, "fd", &fd) || fd >= 0) {
		fputs(" fd ", stdout);
		put_name(rec, "fd");
	}
	fputs(" -> ", stdout);
	put_dst(sg_jget(rec, "dst"));
	putchar(' ');
	put_sock(sg_jget(rec, "sock"));
	if (!is_connect && sg_jint(rec, "len", &len))
		printf(" %lld B", (long long)len);
	put_flags(sg_jget(rec, "flags"));
	put_control(sg_jget(rec, "control"));

	/* success: "ret N VERDICT"; failure: "VERDICT ... ERRNO" */
	if (have_ret && ret >= 0)
		printf(" ret %lld", (long long)ret);
	putchar(' ');
	put_safe(verdict ? verdict : "?");
	put_rule(pol);
	if (!have_ret || ret < 0) {
		putchar(' ');
		if (err)
			put_name(rec, "errno");
		else
			printf("ret %lld", (long long)ret);
	}
	if (by)
		printf(" by %s", by);
	else if (verdict && (!strcmp(verdict, "deny") || !strcmp(verdict, "kill")))
		fputs(" observe-only", stdout);
	putchar('\n');
}

/* ... flow sendto pid 812 (dns) -> 10.0.0.53:53 inet/dgram/udp 1200 sends 76800 B allow (rule dns) */
static void print_flow(struct json_object *rec)
{
	struct json_object *proc = sg_jget(rec, "proc"), *pol = sg_jget(rec, "policy");
	const char *end = sg_jstr(rec, "end");

	put_ts(rec);
	fputs(" flow ", stdout);
	put_name(rec, "syscall");
	fputs(" pid ", stdout);
	put_name(proc, "pid");
	fputs(" (", stdout);
	put_name(proc, "comm");
	fputs(") -> ", stdout);
	put_dst(sg_jget(rec, "dst"));
	putchar(' ');
	put_sock(sg_jget(rec, "sock"));
	put_flags(sg_jget(rec, "flags"));
	putchar(' ');
	put_name(rec, "count");
	fputs(" sends ", stdout);
	put_name(rec, "bytes");
	fputs(" B", stdout);
	/* null on success; a name, or a number the daemon has no name for */
	if (sg_jget(rec, "errno")) {
		fputs(" failed ", stdout);
		put_name(rec, "errno");
	}
	fputs(" allow", stdout);
	put_rule(pol);
	if (end) {
		fputs(" end ", stdout);
		put_safe(end);
	}
	putchar('\n');
}

/* ... lost 12 events (kernel ring buffer full) */
static void print_lost(struct json_object *rec)
{
	put_ts(rec);
	fputs(" lost ", stdout);
	put_name(rec, "count");
	if (json_object_get_boolean(sg_jget(rec, "subscriber")))
		fputs(" records (this subscriber read too slowly)\n", stdout);
	else
		fputs(" events (kernel ring buffer full)\n", stdout);
}

/* ... undeliverable 40 records by syslog+tcp://127.0.0.1:6514 */
static void print_undeliverable(struct json_object *rec)
{
	put_ts(rec);
	fputs(" undeliverable ", stdout);
	put_name(rec, "count");
	fputs(" records by ", stdout);
	put_safe(sg_jstr(rec, "sink") ? sg_jstr(rec, "sink") : "?");
	putchar('\n');
}

/* ... stats events 100 lost 0 denied 3 sink_errors 0 default 97 rules no-oob=3 */
static void print_stats(struct json_object *rec)
{
	static const char *const keys[] = {
		"events", "lost", "denied", "sink_errors", "default", NULL,
	};
	struct json_object *rules = sg_jget(rec, "rules");
	size_t i;

	put_ts(rec);
	fputs(" stats", stdout);
	for (i = 0; keys[i]; i++) {
		printf(" %s ", keys[i]);
		put_name(rec, keys[i]);
	}
	if (json_object_is_type(rules, json_type_object) && json_object_object_length(rules)) {
		const char *sep = " rules ";

		json_object_object_foreach(rules, name, hits)
		{
			fputs(sep, stdout);
			sep = ",";
			put_safe(name);
			printf("=%s", json_object_to_json_string(hits));
		}
	}
	putchar('\n');
}

/*
 * ... policy loaded no-oob version 2 from /etc/sendguard/no-oob.json (1 rule, default allow)
 * ... policy refused /tmp/bad.json (2 errors), in force: no-oob version 2
 */
static void print_policy(struct json_object *rec)
{
	const char *result = sg_jstr(rec, "result"), *source = sg_jstr(rec, "source");
	struct json_object *errs = sg_jget(rec, "errors");
	size_t nerr =
		json_object_is_type(errs, json_type_array) ? json_object_array_length(errs) : 0;
	int64_t rules = -1;

	put_ts(rec);
	fputs(" policy ", stdout);
	if (result && !strcmp(result, "refused")) {
		fputs("refused ", stdout);
		put_safe(source ? source : "(embedded)");
		printf(" (%zu error%s), in force: ", nerr, nerr == 1 ? "" : "s");
		put_safe(sg_jstr(rec, "name") ? sg_jstr(rec, "name") : "(unnamed)");
		fputs(" version ", stdout);
		put_name(rec, "version");
		putchar('\n');
		return;
	}
	put_safe(result ? result : "?");
	putchar(' ');
	put_safe(sg_jstr(rec, "name") ? sg_jstr(rec, "name") : "(unnamed)");
	fputs(" version ", stdout);
	put_name(rec, "version");
	fputs(" from ", stdout);
	put_safe(source ? source : "the embedded default");
	sg_jint(rec, "rules", &rules);
	printf(" (%lld rule%s, default ", (long long)rules, rules == 1 ? "" : "s");
	put_name(rec, "default");
	fputs(")\n", stdout);
}

/* One record as a readable line; what is not a known record, as received. */
static void print_text(struct json_object *rec, const char *line)
{
	const char *type = sg_jstr(rec, "type");

	if (!type)
		printf("%s\n", line);
	else if (!strcmp(type, "send") || !strcmp(type, "connect"))
		print_send(rec, !strcmp(type, "connect"));
	else if (!strcmp(type, "lost"))
		print_lost(rec);
	else if (!strcmp(type, "stats"))
		print_stats(rec);
	else if (!strcmp(type, "policy"))
		print_policy(rec);
	else if (!strcmp(type, "undeliverable"))
		print_undeliverable(rec);
	else if (!strcmp(type, "flow"))
		print_flow(rec);
	else
		printf("%s\n", line);
}

/* --- the command ---------------------------------------------------------------- */

/* Records start with "{\"v\":"; anything else may be a reply of the daemon. */
static bool is_record(const char *line)
{
	return !strncmp(line, "{\"v\":", 5);
}

/*
 * Reads and prints records until the end of the backlog (follow false), the
 * end of the connection or a stop signal. Returns the exit code.
 */
static int stream(struct sg_ctl *c, bool follow, bool text)
{
	struct json_object *rec;
	char *line;
	int err;

	for (;;) {
		if (events_stop)
			return SG_EXIT_OK;
		err = sg_ctl_read_line(c, &line);
		if (err == -EINTR)
			return SG_EXIT_OK;
		if (err == 0 && follow) {
			fprintf(stderr, "sendguard: events: the daemon closed the connection\n");
			return SG_EXIT_OK;
		}
		if (err <= 0) {
			sg_ctl_read_error(c, err, "the end of the backlog");
			return SG_EXIT_FAIL;
		}
		if (!text && is_record(line)) {
			/* as received: no parsing on the way */
			fputs(line, stdout);
			putchar('\n');
			continue;
		}
		rec = json_tokener_parse(line);
		if (json_object_is_type(sg_jget(rec, "ok"), json_type_boolean)) {
			/* a reply in the stream: the end of the backlog, or an error */
			bool failed = sg_ctl_reply_failed(rec, "events");
			bool end = json_object_get_boolean(sg_jget(rec, "end"));

			json_object_put(rec);
			if (failed)
				return SG_EXIT_FAIL;
			if (end)
				return SG_EXIT_OK;
			continue;
		}
		if (text && json_object_is_type(rec, json_type_object))
			print_text(rec, line);
		else
			printf("%s\n", line);
		json_object_put(rec);
	}
}

/* What the command line asks for. */
struct events_args {
	bool follow, text, help;
	uint64_t backlog;
	struct json_object *filter; /* the --filter members, owned */
};

/* Options into *a: 0, or the exit code (the message printed). */
static int events_parse_args(int argc, char **argv, struct events_args *a)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "filter", required_argument, NULL, OPT_FILTER },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "backlog", required_argument, NULL, OPT_BACKLOG },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_backlog = false;
	const char *arg;
	int opt, ret;

	/* 0: glibc re-initialises (main parsed in "+" mode), and skips argv[0] */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":fjh", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			a->follow = true;
			break;
		case OPT_FILTER:
			ret = parse_filter(optarg, a->filter);
			if (ret)
				return ret;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") && strcmp(optarg, "text"))
				return sg_usage_error("--format: '%s': expected json or text",
						      optarg);
			a->text = !strcmp(optarg, "text");
			break;
		case OPT_BACKLOG:
			if (sg_parse_u64(optarg, 0, BACKLOG_MAX, 0, &a->backlog))
				return sg_usage_error("--backlog: '%s': expected a number 0-%d",
						      optarg, BACKLOG_MAX);
			have_backlog = true;
			break;
		case 'j':
			a->text = false;
			break;
		case 'h':
			a->help = true;
			return 0;
		default:
			arg = argv[optind - 1];
			if (opt == ':')
				return sg_usage_error("events: option '%s' needs a value", arg);
			return sg_usage_error("events: unknown option '%s'", arg);
		}
	}
	if (optind < argc)
		return sg_usage_error("events: unexpected argument '%s'", argv[optind]);
	if (!have_backlog)
		a->backlog = a->follow ? 0 : BACKLOG_MAX;
	return 0;
}

/* The subscribe request; it takes a->filter when there is one. NULL: out of memory. */
static struct json_object *subscribe_request(struct events_args *a)
{
	struct json_object *req = json_object_new_object();

	if (!req || json_object_object_add(req, "cmd", json_object_new_string("subscribe")) ||
	    json_object_object_add(req, "follow", json_object_new_boolean(a->follow)) ||
	    json_object_object_add(req, "backlog", json_object_new_int64((int64_t)a->backlog))) {
		fprintf(stderr, "sendguard: out of memory\n");
		json_object_put(req);
		return NULL;
	}
	if (json_object_object_length(a->filter)) {
		json_object_object_add(req, "filter", a->filter);
		a->filter = NULL; /* req owns it */
	}
	return req;
}

/*
 * Connect, send the request and read the daemon's answer into *reply. 0 when
 * subscribed; -EINTR when a signal ended the wait; -EIO otherwise, the cause
 * printed.
 */
static int subscribe(struct sg_ctl *c, struct json_object *req, bool follow,
		     struct json_object **reply)
{
	char *line;
	int err;

	/* following waits as long as it takes; the backlog comes at once */
	if (sg_ctl_open(c, sg_control_path, follow ? -1 : SG_CTL_TIMEOUT_S * 1000))
		return -EIO;
	c->stop = follow ? &events_stop : NULL;
	if (sg_ctl_send(c, req))
		return -EIO;
	err = sg_ctl_read_line(c, &line);
	if (err == -EINTR)
		return -EINTR;
	if (err <= 0) {
		sg_ctl_read_error(c, err, "a reply");
		return -EIO;
	}
	*reply = sg_ctl_parse_reply(line);
	if (!*reply || sg_ctl_reply_failed(*reply, "events"))
		return -EIO;
	return 0;
}

int do_events(int argc, char **argv)
{
	struct events_args a = { 0 };
	struct json_object *req = NULL, *reply = NULL;
	struct sigaction sa = { .sa_handler = on_stop_signal };
	struct sg_ctl c = { .fd = -1 };
	int err, ret = SG_EXIT_FAIL;

	a.filter = json_object_new_object();
	if (!a.filter)
		goto cleanup;
	ret = events_parse_args(argc, argv, &a);
	if (ret)
		goto cleanup;
	if (a.help) {
		ret = events_help();
		goto cleanup;
	}
	ret = SG_EXIT_FAIL;
	req = subscribe_request(&a);
	if (!req)
		goto cleanup;

	/* a pipe reader sees each record when it is printed */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (a.follow) {
		/* no SA_RESTART: a blocked write to stdout ends too */
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	err = subscribe(&c, req, a.follow, &reply);
	if (err) {
		if (err == -EINTR)
			ret = SG_EXIT_OK;
		goto cleanup;
	}
	ret = stream(&c, a.follow, a.text);
	if (ret == SG_EXIT_OK && fflush(stdout) && !events_stop) {
		fprintf(stderr, "sendguard: events: cannot write to stdout: %s\n", strerror(errno));
		ret = SG_EXIT_FAIL;
	}
cleanup:
	json_object_put(reply);
	json_object_put(a.filter);
	json_object_put(req);
	sg_ctl_close(&c);
	return ret;
}
