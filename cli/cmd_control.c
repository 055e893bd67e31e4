// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The client side of sendguardd's control socket (docs/control.md): connect,
 * send one request line, read reply lines through a line buffer. And the
 * one-shot commands on it: status, policy load, policy show. The event
 * stream (subscribe) is in cmd_events.c.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <json-c/json.h>

#include "cli.h"

const char *sg_control_path = SG_CONTROL_DEFAULT;

/* Longest reply line accepted: far above any record or policy the daemon holds. */
#define CTL_LINE_MAX (64u << 20)

/* Requests are at most this long, newline included (docs/control.md). */
#define CTL_REQUEST_MAX 65536

/* The column of values in status and policy show. */
#define LABEL "%-12s "

/* --- the connection -------------------------------------------------------- */

/*
 * The process that listens must run as root or as us (SO_PEERCRED: the
 * credentials it had at listen(2)), else nothing is sent to it. 0 or -EPERM
 * (the connection closed, the cause printed).
 */
static int peer_check(struct sg_ctl *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		int err = -errno;

		fprintf(stderr, "sendguard: %s: cannot tell who listens there: %s\n", c->path,
			strerror(-err));
		close(c->fd);
		c->fd = -1;
		return err;
	}
	if (cred.uid == 0 || cred.uid == geteuid())
		return 0;
	fprintf(stderr,
		"sendguard: %s: the process listening there (pid %d) runs as uid %u, not root or "
		"you: refusing to talk to it (not sendguardd's)\n",
		c->path, (int)cred.pid, (unsigned int)cred.uid);
	close(c->fd);
	c->fd = -1;
	return -EPERM;
}

int sg_ctl_open(struct sg_ctl *c, const char *path, int timeout_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	const char *hint = "";
	struct stat st;
	int err;

	memset(c, 0, sizeof(*c));
	c->path = path;
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	if (n >= sizeof(sun.sun_path)) {
		fprintf(stderr, "sendguard: cannot connect to %s: path longer than %zu bytes\n",
			path, sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, n);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		err = -errno;
		fprintf(stderr, "sendguard: cannot create a unix socket: %s\n", strerror(-err));
		return err;
	}
	if (timeout_ms >= 0) {
		/* connect(2) of a unix stream socket waits at most this long, as do sends */
		struct timeval tv = { .tv_sec = timeout_ms / 1000,
				      .tv_usec = (timeout_ms % 1000) * 1000 };

		if (setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
			err = -errno;
			fprintf(stderr, "sendguard: cannot set a timeout on the socket: %s\n",
				strerror(-err));
			goto fail;
		}
	}
	/*
	 * Only a socket of root's or ours is the daemon's: one another user
	 * created at the path would be told our requests (policy load paths)
	 * and could answer anything (a fake status).
	 */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid != 0 &&
	    st.st_uid != geteuid()) {
		fprintf(stderr,
			"sendguard: %s: the socket belongs to uid %u, not root or you: refusing to "
			"talk to it (not sendguardd's)\n",
			path, (unsigned int)st.st_uid);
		err = -EPERM;
		goto fail;
	}
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return peer_check(c);
	err = -errno;
	if (err == -EAGAIN)
		err = -ETIMEDOUT; /* the daemon's listen queue stayed full */
	if (err == -ECONNREFUSED && stat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
		hint = " (not a socket)";
	else if (err == -ENOENT || err == -ECONNREFUSED)
		hint = " (is sendguardd running?)";
	else if (err == -EACCES || err == -EPERM)
		hint = " (the socket is for root and the daemon's user)";
	else if (err == -ETIMEDOUT)
		hint = " (the daemon does not accept connections)";
	fprintf(stderr, "sendguard: cannot connect to %s: %s%s\n", path, strerror(-err), hint);
fail:
	close(c->fd);
	c->fd = -1;
	return err;
}

int sg_ctl_send(struct sg_ctl *c, struct json_object *req)
{
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = s ? strlen(s) : 0, off = 0;
	char *line;
	int err = 0;

	if (!s)
		return -ENOMEM;
	if (n + 1 > CTL_REQUEST_MAX) {
		fprintf(stderr, "sendguard: request too long (%zu bytes, limit %d)\n", n + 1,
			CTL_REQUEST_MAX);
		return -E2BIG;
	}
	line = malloc(n + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, s, n);
	line[n++] = '\n';
	while (off < n) {
		/* MSG_NOSIGNAL: a daemon that went away is an error here, not SIGPIPE */
		ssize_t w = send(c->fd, line + off, n - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = errno == EAGAIN ? -ETIMEDOUT : -errno;
			fprintf(stderr, "sendguard: cannot send to %s: %s\n", c->path,
				strerror(-err));
			break;
		}
		off += (size_t)w;
	}
	free(line);
	return err;
}

/*
 * Waits until the socket is readable. 1 readable, 0 interrupted by a signal
 * that is not a stop (try again), -ETIMEDOUT, -EINTR (stop) or -errno.
 */
static int ctl_wait(struct sg_ctl *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	struct timespec ts, *tsp = NULL;
	sigset_t stopset, old;
	int r, err;

	if (c->timeout_ms >= 0) {
		ts.tv_sec = c->timeout_ms / 1000;
		ts.tv_nsec = (long)(c->timeout_ms % 1000) * 1000000;
		tsp = &ts;
	}
	if (!c->stop) {
		r = ppoll(&pfd, 1, tsp, NULL);
		err = errno;
	} else {
		/*
		 * Block the stop signals between the check of *stop and the
		 * wait, and let ppoll unblock them atomically: a signal that
		 * comes in between cannot be missed.
		 */
		sigemptyset(&stopset);
		sigaddset(&stopset, SIGINT);
		sigaddset(&stopset, SIGTERM);
		sigprocmask(SIG_BLOCK, &stopset, &old);
		if (*c->stop) {
			r = -1;
			err = EINTR;
		} else {
			r = ppoll(&pfd, 1, tsp, &old);
			err = errno;
		}
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	if (r > 0)
		return 1;
	if (r == 0)
		return -ETIMEDOUT;
	if (err == EINTR)
		return c->stop && *c->stop ? -EINTR : 0;
	return -err;
}

int sg_ctl_read_line(struct sg_ctl *c, char **line)
{
	char *nl;
	ssize_t r;
	int err;

	for (;;) {
		nl = c->len > c->start ? memchr(c->buf + c->start, '\n', c->len - c->start) : NULL;
		if (nl) {
			*nl = 0;
			*line = c->buf + c->start;
			c->start = (size_t)(nl - c->buf) + 1;
			return 1;
		}
		/* no whole line buffered: keep the partial one at the front, make room */
		if (c->start) {
			memmove(c->buf, c->buf + c->start, c->len - c->start);
			c->len -= c->start;
			c->start = 0;
		}
		if (c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 16384;
			char *b;

			if (c->cap >= CTL_LINE_MAX)
				return -E2BIG;
			b = realloc(c->buf, cap);
			if (!b)
				return -ENOMEM;
			c->buf = b;
			c->cap = cap;
		}
		err = ctl_wait(c);
		if (err < 0)
			return err;
		if (err == 0)
			continue;
		r = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == ECONNRESET ? 0 : -errno;
		if (r == 0)
			return 0; /* a partial last line is dropped with the connection */
		c->len += (size_t)r;
	}
}

void sg_ctl_read_error(const struct sg_ctl *c, int err, const char *waiting_for)
{
	if (err == 0)
		fprintf(stderr, "sendguard: %s: the daemon closed the connection before %s\n",
			c->path, waiting_for);
	else if (err == -ETIMEDOUT)
		fprintf(stderr, "sendguard: %s: no answer within %d s (waiting for %s)\n", c->path,
			c->timeout_ms / 1000, waiting_for);
	else if (err == -E2BIG)
		fprintf(stderr, "sendguard: %s: a reply line is longer than %u MiB\n", c->path,
			CTL_LINE_MAX >> 20);
	else
		fprintf(stderr, "sendguard: cannot read from %s: %s\n", c->path, strerror(-err));
}

void sg_ctl_close(struct sg_ctl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->start = c->len = c->cap = 0;
}

struct json_object *sg_ctl_parse_reply(const char *line)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = NULL;
	size_t n = strlen(line);

	if (!tok) {
		fprintf(stderr, "sendguard: out of memory\n");
		return NULL;
	}
	o = json_tokener_parse_ex(tok, line, (int)n);
	/* one object with a boolean "ok", and nothing after it */
	if (o && json_tokener_get_parse_end(tok) != n) {
		json_object_put(o);
		o = NULL;
	}
	if (o && !json_object_is_type(sg_jget(o, "ok"), json_type_boolean)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (!o)
		fprintf(stderr, "sendguard: %s: not a reply of sendguardd: %.80s%s\n",
			sg_control_path, line, n > 80 ? "..." : "");
	return o;
}

bool sg_ctl_reply_failed(struct json_object *reply, const char *what)
{
	const char *e;

	if (json_object_get_boolean(sg_jget(reply, "ok")))
		return false;
	e = sg_jstr(reply, "error");
	fprintf(stderr, "sendguard: %s: %s\n", what, e ? e : "the daemon refused the request");
	return true;
}

struct json_object *sg_jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object))
		return NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

const char *sg_jstr(struct json_object *o, const char *key)
{
	struct json_object *v = sg_jget(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

bool sg_jint(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v = sg_jget(o, key);

	if (!json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

/*
 * One request on a new connection to sg_control_path, one reply, in
 * SG_CTL_TIMEOUT_S at most per wait. Returns 0 with *reply (ok true or false;
 * the caller puts it) and *raw (its line, valid until sg_ctl_close(c)), or
 * SG_EXIT_FAIL with the cause printed.
 */
static int ctl_call(struct sg_ctl *c, struct json_object *req, struct json_object **reply,
		    char **raw)
{
	int err;

	*reply = NULL;
	if (!req) {
		fprintf(stderr, "sendguard: out of memory\n");
		return SG_EXIT_FAIL;
	}
	if (sg_ctl_open(c, sg_control_path, SG_CTL_TIMEOUT_S * 1000))
		return SG_EXIT_FAIL;
	if (sg_ctl_send(c, req))
		return SG_EXIT_FAIL;
	err = sg_ctl_read_line(c, raw);
	if (err <= 0) {
		sg_ctl_read_error(c, err, "a reply");
		return SG_EXIT_FAIL;
	}
	*reply = sg_ctl_parse_reply(*raw);
	return *reply ? 0 : SG_EXIT_FAIL;
}

/* {"cmd":NAME} */
static struct json_object *new_request(const char *cmd)
{
	struct json_object *o = json_object_new_object();

	if (o && json_object_object_add(o, "cmd", json_object_new_string(cmd))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Options of the one-shot commands: -j and -h only, then nargs operands. */
static int parse_simple(const char *cmd, int argc, char **argv, int nargs, const char *usage)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	/* 0: glibc re-initialises (main parsed in "+" mode), and skips argv[0] */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			sg_json_output = true;
			break;
		case 'h':
			printf("%s", usage);
			return -1;
		default:
			return sg_bad_option(cmd, argv, opt);
		}
	}
	if (argc - optind < nargs)
		return sg_usage_error("%s: missing FILE", cmd);
	if (argc - optind > nargs)
		return sg_usage_error("%s: unexpected argument '%s'", cmd, argv[optind + nargs]);
	return 0;
}

/* --- status ---------------------------------------------------------------- */

static const char status_usage[] =
	"Usage: sendguard [--control PATH] status [-j]\n"
	"\n"
	"Ask sendguardd for its state: the daemon, the policy in force, the\n"
	"enforcement mechanisms, which mechanism enforces each rule, counters.\n"
	"  -j, --json   print the daemon's reply as one JSON line\n";

/* "s" of an array of strings, ", "-separated; none when empty or missing. */
static void print_list(struct json_object *a)
{
	size_t i, n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

	if (!n)
		fputs("none", stdout);
	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(a, i);

		printf("%s%s", i ? ", " : "",
		       json_object_is_type(v, json_type_string) ? json_object_get_string(v)
								: json_object_to_json_string(v));
	}
}

/* "12s", "5m 03s", "4h 05m", "3d 04h" */
static void format_duration(char *out, size_t n, int64_t s)
{
	if (s < 0)
		snprintf(out, n, "?");
	else if (s < 60)
		snprintf(out, n, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(out, n, "%lldm %02llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(out, n, "%lldh %02lldm", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	else
		snprintf(out, n, "%lldd %02lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
}

/* A number member, or "?" when missing. */
static const char *num_or_unknown(char *out, size_t n, struct json_object *o, const char *key)
{
	int64_t v;

	if (!sg_jint(o, key, &v))
		return "?";
	snprintf(out, n, "%lld", (long long)v);
	return out;
}

static void print_status(struct json_object *r)
{
	struct json_object *d = sg_jget(r, "daemon"), *p = sg_jget(r, "policy");
	struct json_object *e = sg_jget(r, "enforcement"), *cov = sg_jget(r, "coverage");
	struct json_object *counters = sg_jget(r, "counters"), *enf;
	const char *s, *started = sg_jstr(d, "started");
	char num[32], num2[32];
	size_t i, n, wrule = strlen("(default)"), wact = 0;
	int64_t v;

	format_duration(num2, sizeof(num2), sg_jint(d, "uptime_s", &v) ? v : -1);
	printf(LABEL "pid %s, up %s", "daemon", num_or_unknown(num, sizeof(num), d, "pid"), num2);
	/* the start time to the second: "2026-11-23T00:00:00Z" */
	if (started && strlen(started) > 19 && started[19] == '.')
		printf(" (since %.19sZ)", started);
	else if (started)
		printf(" (since %s)", started);
	printf("\n" LABEL "%s\n", "control", (s = sg_jstr(d, "control")) ? s : sg_control_path);
	printf(LABEL, "sinks");
	print_list(sg_jget(d, "sinks"));

	s = sg_jstr(p, "name");
	printf("\n" LABEL "%s version %s\n", "policy", s ? s : "(unnamed)",
	       num_or_unknown(num, sizeof(num), p, "version"));
	s = sg_jstr(p, "source");
	printf(LABEL "%s\n", "source", s ? s : "embedded default");
	s = sg_jstr(p, "default");
	printf(LABEL "%s, default %s\n", "rules", num_or_unknown(num, sizeof(num), p, "rules"),
	       s ? s : "?");
	if (json_object_is_type(sg_jget(r, "policy_pending"), json_type_object)) {
		s = sg_jstr(sg_jget(r, "policy_pending"), "source");
		printf(LABEL "%s (waits for its switch)\n", "pending", s ? s : "embedded default");
	}
	if (json_object_is_type(sg_jget(r, "flows"), json_type_object)) {
		struct json_object *f = sg_jget(r, "flows");

		s = sg_jstr(f, "mode");
		printf(LABEL "%s, records every %s s", "flows", s ? s : "?",
		       num_or_unknown(num, sizeof(num), f, "interval_s"));
		printf(", %s active\n", num_or_unknown(num, sizeof(num), f, "active"));
	}

	enf = sg_jget(e, "enforce");
	if (!json_object_is_type(enf, json_type_boolean))
		printf(LABEL "?", "enforcement");
	else if (json_object_get_boolean(enf))
		printf(LABEL "on", "enforcement");
	else
		printf(LABEL "off (%s)", "enforcement",
		       (s = sg_jstr(e, "off_reason")) ? s : "--no-enforce");
	if ((s = sg_jstr(e, "cgroup")))
		printf(", cgroup %s", s);
	printf("\n" LABEL "attached: ", "hooks");
	print_list(sg_jget(e, "hooks_attached"));
	printf("\n" LABEL "available: ", "");
	print_list(sg_jget(e, "hooks_available"));
	s = sg_jstr(e, "lsm");
	printf("\n" LABEL "%s\n", "lsm", s ? s : "?");

	/* coverage: one aligned row per rule, then the default */
	n = json_object_is_type(cov, json_type_array) ? json_object_array_length(cov) : 0;
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(cov, i);

		if ((s = sg_jstr(c, "rule")) && strlen(s) > wrule)
			wrule = strlen(s);
		if ((s = sg_jstr(c, "action")) && strlen(s) > wact)
			wact = strlen(s);
	}
	if (!n)
		printf(LABEL "?\n", "coverage");
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(cov, i);
		const char *rule = sg_jstr(c, "rule"), *act = sg_jstr(c, "action");
		const char *by = sg_jstr(c, "enforced_by");

		printf(LABEL "%-*s  %-*s  %s\n", i ? "" : "coverage", (int)wrule,
		       rule ? rule : "(default)", (int)wact, act ? act : "?", by ? by : "?");
	}

	/* counters: every member the daemon sends, in its order */
	printf(LABEL, "counters");
	if (json_object_is_type(counters, json_type_object) &&
	    json_object_object_length(counters)) {
		const char *sep = "";

		json_object_object_foreach(counters, key, val)
		{
			printf("%s%s %s", sep, key, json_object_to_json_string(val));
			sep = ", ";
		}
		putchar('\n');
	} else {
		printf("?\n");
	}
}

int do_status(int argc, char **argv)
{
	struct json_object *req = NULL, *reply = NULL;
	struct sg_ctl c = { .fd = -1 };
	char *raw = NULL;
	int ret;

	ret = parse_simple("status", argc, argv, 0, status_usage);
	if (ret)
		return ret < 0 ? SG_EXIT_OK : ret;
	req = new_request("status");
	ret = ctl_call(&c, req, &reply, &raw);
	if (ret)
		goto cleanup;
	if (sg_ctl_reply_failed(reply, "status")) {
		ret = SG_EXIT_FAIL;
		goto cleanup;
	}
	if (sg_json_output)
		printf("%s\n", raw);
	else
		print_status(reply);
	ret = SG_EXIT_OK;
cleanup:
	json_object_put(reply);
	json_object_put(req);
	sg_ctl_close(&c);
	return ret;
}

/* --- policy load, policy show ---------------------------------------------- */

static const char policy_load_usage[] =
	"Usage: sendguard [--control PATH] policy load FILE [-j]\n"
	"\n"
	"Make sendguardd load FILE as the next policy version (like SIGHUP, and\n"
	"FILE becomes the file SIGHUP reloads). Prints 'loaded NAME version N';\n"
	"an invalid policy is refused whole, its errors go to stderr, exit 1.\n"
	"  -j, --json   print the daemon's reply as one JSON line\n";

int do_policy_load(int argc, char **argv)
{
	struct json_object *req = NULL, *reply = NULL, *errs;
	struct sg_ctl c = { .fd = -1 };
	char *abs = NULL, *raw = NULL;
	const char *name;
	size_t i, n;
	int64_t version;
	int ret;

	ret = parse_simple("policy load", argc, argv, 1, policy_load_usage);
	if (ret)
		return ret < 0 ? SG_EXIT_OK : ret;
	/* the daemon resolves nothing: it wants the absolute path of this very file */
	abs = realpath(argv[optind], NULL);
	if (!abs) {
		fprintf(stderr, "sendguard: policy load: %s: %s\n", argv[optind], strerror(errno));
		return SG_EXIT_FAIL;
	}
	req = new_request("policy_load");
	if (req && json_object_object_add(req, "path", json_object_new_string(abs))) {
		json_object_put(req);
		req = NULL;
	}
	ret = ctl_call(&c, req, &reply, &raw);
	if (ret)
		goto cleanup;
	ret = json_object_get_boolean(sg_jget(reply, "ok")) ? SG_EXIT_OK : SG_EXIT_FAIL;
	if (sg_json_output) {
		printf("%s\n", raw);
		goto cleanup;
	}
	if (ret == SG_EXIT_OK) {
		name = sg_jstr(reply, "name");
		printf("loaded %s version %lld\n", name ? name : "(unnamed)",
		       sg_jint(reply, "version", &version) ? (long long)version : -1LL);
		goto cleanup;
	}
	errs = sg_jget(reply, "errors");
	n = json_object_is_type(errs, json_type_array) ? json_object_array_length(errs) : 0;
	if (!n) {
		sg_ctl_reply_failed(reply, "policy load");
		goto cleanup;
	}
	/* the problems by JSON path, as 'sendguard policy check' prints them */
	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(errs, i);
		bool is_str = json_object_is_type(v, json_type_string);

		fprintf(stderr, "%s\n",
			is_str ? json_object_get_string(v) : json_object_to_json_string(v));
	}
	fprintf(stderr, "sendguard: policy load: %s: %s (%zu error%s), the policy in force stays\n",
		abs, sg_jstr(reply, "error") ? sg_jstr(reply, "error") : "refused", n,
		n == 1 ? "" : "s");
cleanup:
	json_object_put(reply);
	json_object_put(req);
	sg_ctl_close(&c);
	free(abs);
	return ret;
}

static const char policy_show_usage[] =
	"Usage: sendguard [--control PATH] policy show [-j]\n"
	"\n"
	"Print the policy sendguardd has in force: name, version, source file,\n"
	"then the policy as it was loaded (JSON).\n"
	"  -j, --json   print the daemon's reply as one JSON line\n";

int do_policy_show(int argc, char **argv)
{
	struct json_object *req = NULL, *reply = NULL, *pol;
	struct sg_ctl c = { .fd = -1 };
	const int pretty =
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE;
	const char *name, *source;
	char *raw = NULL, num[32];
	int ret;

	ret = parse_simple("policy show", argc, argv, 0, policy_show_usage);
	if (ret)
		return ret < 0 ? SG_EXIT_OK : ret;
	req = new_request("policy_show");
	ret = ctl_call(&c, req, &reply, &raw);
	if (ret)
		goto cleanup;
	if (sg_ctl_reply_failed(reply, "policy show")) {
		ret = SG_EXIT_FAIL;
		goto cleanup;
	}
	ret = SG_EXIT_OK;
	if (sg_json_output) {
		printf("%s\n", raw);
		goto cleanup;
	}
	name = sg_jstr(reply, "name");
	source = sg_jstr(reply, "source");
	pol = sg_jget(reply, "policy");
	printf(LABEL "%s version %s\n", "policy", name ? name : "(unnamed)",
	       num_or_unknown(num, sizeof(num), reply, "version"));
	printf(LABEL "%s\n", "source", source ? source : "embedded default");
	printf("%s\n", pol ? json_object_to_json_string_ext(pol, pretty) : "null");
cleanup:
	json_object_put(reply);
	json_object_put(req);
	sg_ctl_close(&c);
	return ret;
}
