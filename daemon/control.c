// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The control socket: see control.h and docs/control.md for the protocol.
 *
 * Everything is non-blocking and driven from the daemon's event loop through
 * one nested epoll fd. A client owns a request line buffer and an output
 * buffer; output is written as far as the socket takes it, the rest waits for
 * EPOLLOUT. Records for subscribers are appended as the pipeline writes them
 * and pushed out with control__flush() after every drain.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <json-c/json.h>

#include "clock.h"
#include "control.h"
#include "json.h"
#include "log.h"
#include "names.h"

#define CTL_MAX_CLIENTS 32
#define CTL_LINE_MAX	65536 /* a request line, newline included */
#define CTL_OUT_MAX	(4u << 20) /* unread output per client */
#define CTL_BACKLOG	1024 /* recent records kept for subscribe's backlog */

enum {
	F_TYPE = 1 << 0,
	F_PID = 1 << 1,
	F_UID = 1 << 2,
	F_COMM = 1 << 3,
	F_SYSCALL = 1 << 4,
	F_VERDICT = 1 << 5,
	F_EVENT = F_PID | F_UID | F_COMM | F_SYSCALL | F_VERDICT,
};

struct ctl_filter {
	unsigned int has; /* F_* */
	uint8_t type, syscall, verdict;
	uint32_t pid, uid;
	char comm[16];
};

struct ctl_client {
	int fd;
	char *in; /* CTL_LINE_MAX bytes */
	size_t in_len;
	struct sg_outbuf out;
	size_t out_off; /* written up to here */
	bool sub; /* subscribed: receives records, its input is ignored */
	bool closing; /* close once out is written */
	bool dead; /* close now */
	uint32_t events; /* what epoll waits for on fd */
	bool eof; /* the peer shut down its side: no more reading */
	bool discard; /* after a too-long request: reply, then read and drop until EOF */
	size_t discard_budget; /* bytes still dropped before giving up on the peer */
	struct ctl_filter f;
	uint64_t dropped, dropped_seq;
};

struct ctl_slot {
	char *data;
	size_t len, cap;
	struct sg_rec_meta m;
	uint64_t seq;
};

struct control {
	int lfd, ep;
	char path[PATH_MAX];
	struct control_ops ops;
	struct ctl_client *cl[CTL_MAX_CLIENTS];
	unsigned int nsubs;
	struct ctl_slot recent[CTL_BACKLOG];
	unsigned int recent_next, recent_n;
	struct sg_clock clk;
	uint64_t dropped; /* records subscribers could not take, in all */
};

static const char *const rec_type_names[SG_REC_NTYPES] = {
	"send", "connect", "lost", "stats", "policy", "undeliverable",
};

/* --- output ----------------------------------------------------------------- */

static size_t pending(const struct ctl_client *cl)
{
	return cl->out.len - cl->out_off;
}

/* Wait for input unless the peer is done sending, for output while some is pending. */
static void update_events(struct control *c, struct ctl_client *cl)
{
	struct epoll_event ev = { .data.ptr = cl };

	ev.events = (cl->eof ? 0 : EPOLLIN) | (pending(cl) ? EPOLLOUT : 0);
	if (ev.events == cl->events)
		return;
	if (!epoll_ctl(c->ep, EPOLL_CTL_MOD, cl->fd, &ev))
		cl->events = ev.events;
	else
		cl->dead = true;
}

static void client_free(struct control *c, int i)
{
	struct ctl_client *cl = c->cl[i];

	if (cl->sub)
		c->nsubs--;
	epoll_ctl(c->ep, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	free(cl->in);
	sg_outbuf_free(&cl->out);
	free(cl);
	c->cl[i] = NULL;
}

static void put_sub_lost(struct control *c, struct ctl_client *cl);

/* Write as much as the socket takes; arms EPOLLOUT for the rest. */
static void client_write(struct control *c, struct ctl_client *cl)
{
again:
	while (pending(cl)) {
		ssize_t n = send(cl->fd, cl->out.data + cl->out_off, pending(cl),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cl->dead = true;
			break;
		}
		cl->out_off += (size_t)n;
	}
	/* A subscriber that caught up learns what it missed, without waiting for a record. */
	if (cl->sub && cl->dropped && !cl->dead && pending(cl) <= CTL_OUT_MAX / 2) {
		put_sub_lost(c, cl);
		if (!cl->dropped)
			goto again;
	}
	if (!pending(cl)) {
		sg_outbuf_reset(&cl->out);
		cl->out_off = 0;
		if (cl->discard && !cl->eof)
			shutdown(cl->fd, SHUT_WR); /* the reply is out: EOF for the peer */
		else if (cl->closing)
			cl->dead = true;
	} else if (cl->out_off > CTL_OUT_MAX / 2) {
		memmove(cl->out.data, cl->out.data + cl->out_off, pending(cl));
		cl->out.len -= cl->out_off;
		cl->out_off = 0;
	}
	if (!cl->dead)
		update_events(c, cl);
}

/* {"ok":B,"cmd":CMD[,"id":ID] : the caller adds members and ends it. */
static int reply_begin(struct sg_outbuf *b, bool ok, const char *cmd, const char *id)
{
	int err = ok ? sg_json_lit(b, "{\"ok\":true,\"cmd\":")
		     : sg_json_lit(b, "{\"ok\":false,\"cmd\":");

	if (!err)
		err = sg_json_str(b, cmd);
	if (!err && id) {
		err = sg_json_lit(b, ",\"id\":");
		if (!err)
			err = sg_json_raw(b, id, strlen(id));
	}
	return err;
}

static int reply_end(struct sg_outbuf *b)
{
	return sg_json_lit(b, "}\n");
}

static void reply_error(struct ctl_client *cl, const char *cmd, const char *id, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));

static void reply_error(struct ctl_client *cl, const char *cmd, const char *id, const char *fmt,
			...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (reply_begin(&cl->out, false, cmd, id) || sg_json_lit(&cl->out, ",\"error\":") ||
	    sg_json_str(&cl->out, msg) || reply_end(&cl->out))
		cl->dead = true;
}

/* --- subscriptions ---------------------------------------------------------- */

static bool filter_match(const struct ctl_filter *f, const struct sg_rec_meta *m)
{
	if ((f->has & F_TYPE) && f->type != m->type)
		return false;
	if (m->type != SG_REC_SEND && m->type != SG_REC_CONNECT)
		return true; /* the event members do not apply */
	if ((f->has & F_PID) && f->pid != m->pid)
		return false;
	if ((f->has & F_UID) && f->uid != m->uid)
		return false;
	if ((f->has & F_SYSCALL) && f->syscall != m->syscall)
		return false;
	if ((f->has & F_VERDICT) && f->verdict != m->verdict)
		return false;
	if ((f->has & F_COMM) && strncmp(f->comm, m->comm, sizeof(f->comm)))
		return false;
	return true;
}

/* 0, or an error text for the filter member key. */
static const char *filter_member(struct ctl_filter *f, const char *key, struct json_object *v)
{
	static const char *const known[] = { "type", "pid", "uid", "comm", "syscall", "verdict" };
	bool ok = false;
	uint32_t u;
	int64_t n;

	for (u = 0; u < sizeof(known) / sizeof(known[0]); u++)
		ok |= !strcmp(key, known[u]);
	if (!ok)
		return "unknown filter member (type, pid, uid, comm, syscall, verdict)";
	if (!strcmp(key, "type")) {
		const char *s =
			json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;

		for (u = 0; s && u < SG_REC_NTYPES; u++) {
			if (!strcmp(s, rec_type_names[u])) {
				f->type = (uint8_t)u;
				f->has |= F_TYPE;
				return NULL;
			}
		}
		return "must be \"send\", \"connect\", \"lost\", \"stats\", \"policy\" or "
		       "\"undeliverable\"";
	}
	if (!strcmp(key, "pid") || !strcmp(key, "uid")) {
		if (!json_object_is_type(v, json_type_int))
			return "must be a number";
		n = json_object_get_int64(v);
		if (n < 0 || n > UINT32_MAX)
			return "must be between 0 and 4294967295";
		if (key[0] == 'p') {
			f->pid = (uint32_t)n;
			f->has |= F_PID;
		} else {
			f->uid = (uint32_t)n;
			f->has |= F_UID;
		}
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string))
		return "must be a string";
	if (!strcmp(key, "comm")) {
		if (json_object_get_string_len(v) >= (int)sizeof(f->comm))
			return "longer than a comm (15 bytes)";
		snprintf(f->comm, sizeof(f->comm), "%s", json_object_get_string(v));
		f->has |= F_COMM;
		return NULL;
	}
	if (!strcmp(key, "syscall")) {
		if (sg_syscall_from_name(json_object_get_string(v), &u))
			return "must be \"sendto\", \"sendmsg\", \"sendmmsg\" or \"connect\"";
		f->syscall = (uint8_t)u;
		f->has |= F_SYSCALL;
		return NULL;
	}
	if (!strcmp(key, "verdict")) {
		if (sg_verdict_from_name(json_object_get_string(v), &u))
			return "must be \"allow\", \"audit\", \"deny\" or \"kill\"";
		f->verdict = (uint8_t)u;
		f->has |= F_VERDICT;
		return NULL;
	}
	return "unknown filter member (type, pid, uid, comm, syscall, verdict)";
}

/* A lost record for the records a subscriber's full buffer could not take. */
static void put_sub_lost(struct control *c, struct ctl_client *cl)
{
	size_t start = cl->out.len;

	if (sg_lost_to_json(&cl->out, cl->dropped_seq, sg_clock_boot_now(), cl->dropped, &c->clk) ||
	    cl->out.len < start + 2) {
		cl->out.len = start;
		return;
	}
	cl->out.len -= 2; /* "}\n" */
	if (sg_json_lit(&cl->out, ",\"subscriber\":true}\n")) {
		cl->out.len = start;
		return;
	}
	cl->dropped = 0;
}

static void feed(struct control *c, struct ctl_client *cl, const char *line, size_t len,
		 uint64_t seq)
{
	if (cl->dropped && pending(cl) <= CTL_OUT_MAX / 2)
		put_sub_lost(c, cl);
	if (cl->dropped || pending(cl) + len > CTL_OUT_MAX || sg_json_raw(&cl->out, line, len)) {
		cl->dropped++;
		cl->dropped_seq = seq;
		c->dropped++;
	}
}

/* The seq of a record line ({"v":1,"seq":N,...), 0 if there is none. */
static uint64_t line_seq(const char *line, size_t len)
{
	const char *p = memmem(line, len < 64 ? len : 64, "\"seq\":", 6);

	return p ? strtoull(p + 6, NULL, 10) : 0;
}

void control__record(struct control *c, const char *line, size_t len, const struct sg_rec_meta *m)
{
	struct ctl_slot *s;
	uint64_t seq;

	if (!c)
		return;
	seq = line_seq(line, len);
	s = &c->recent[c->recent_next];
	if (s->cap < len) {
		size_t cap = len < 1024 ? 1024 : len * 2;
		char *d = realloc(s->data, cap);

		if (!d) {
			s->len = 0;
			goto subscribers; /* this slot stays empty */
		}
		s->data = d;
		s->cap = cap;
	}
	memcpy(s->data, line, len);
	s->len = len;
	s->m = *m;
	s->seq = seq;
	c->recent_next = (c->recent_next + 1) % CTL_BACKLOG;
	if (c->recent_n < CTL_BACKLOG)
		c->recent_n++;
subscribers:
	if (!c->nsubs)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = c->cl[i];

		if (cl && cl->sub && !cl->dead && filter_match(&cl->f, m))
			feed(c, cl, line, len, seq);
	}
}

/* --- requests --------------------------------------------------------------- */

static void cmd_subscribe(struct control *c, struct ctl_client *cl, struct json_object *req,
			  const char *id)
{
	struct ctl_filter f = { 0 };
	struct json_object *v;
	int64_t backlog = 0;
	bool follow = true;
	unsigned int first;

	if (json_object_object_get_ex(req, "filter", &v)) {
		if (!json_object_is_type(v, json_type_object))
			return reply_error(cl, "subscribe", id, "filter: must be an object");
		json_object_object_foreach(v, key, val)
		{
			const char *why = filter_member(&f, key, val);

			if (why)
				return reply_error(cl, "subscribe", id, "filter.%s: %s", key, why);
		}
	}
	if (json_object_object_get_ex(req, "backlog", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) > CTL_BACKLOG)
			return reply_error(cl, "subscribe", id,
					   "backlog: must be a number from 0 to %d", CTL_BACKLOG);
		backlog = json_object_get_int64(v);
	}
	if (json_object_object_get_ex(req, "follow", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return reply_error(cl, "subscribe", id, "follow: must be true or false");
		follow = json_object_get_boolean(v);
	}
	if (reply_begin(&cl->out, true, "subscribe", id) || reply_end(&cl->out)) {
		cl->dead = true;
		return;
	}
	/* The most recent backlog matching records, oldest first. */
	first = (c->recent_next + CTL_BACKLOG - c->recent_n) % CTL_BACKLOG;
	if (backlog) {
		int64_t want = backlog;
		unsigned int k = c->recent_n;

		/* Walk back from the newest to find where the last `backlog` matches start. */
		while (k > 0 && want > 0) {
			const struct ctl_slot *s = &c->recent[(first + k - 1) % CTL_BACKLOG];

			if (s->len && filter_match(&f, &s->m))
				want--;
			k--;
		}
		for (; k < c->recent_n; k++) {
			const struct ctl_slot *s = &c->recent[(first + k) % CTL_BACKLOG];

			if (s->len && filter_match(&f, &s->m) &&
			    sg_json_raw(&cl->out, s->data, s->len)) {
				cl->dead = true;
				return;
			}
		}
	}
	if (!follow) {
		if (reply_begin(&cl->out, true, "subscribe", id) ||
		    sg_json_lit(&cl->out, ",\"end\":true") || reply_end(&cl->out))
			cl->dead = true;
		cl->closing = true;
		return;
	}
	cl->f = f;
	cl->sub = true;
	c->nsubs++;
}

static void cmd_policy_show(struct control *c, struct ctl_client *cl, const char *id)
{
	const char *source = NULL;
	const struct sg_policy *p = c->ops.policy(c->ops.ctx, &source);
	struct sg_outbuf *b = &cl->out;

	if (!p || !p->json)
		return reply_error(cl, "policy_show", id, "no policy in force yet");
	if (reply_begin(b, true, "policy_show", id) || sg_json_lit(b, ",\"name\":") ||
	    sg_json_str(b, p->name[0] ? p->name : NULL) || sg_json_lit(b, ",\"version\":") ||
	    sg_json_u64(b, p->version) || sg_json_lit(b, ",\"source\":") ||
	    sg_json_str(b, source) || sg_json_lit(b, ",\"policy\":") ||
	    sg_json_raw(b, p->json, strlen(p->json)) || reply_end(b))
		cl->dead = true;
}

static void cmd_policy_load(struct control *c, struct ctl_client *cl, struct json_object *req,
			    const char *id)
{
	struct sg_errlist errs = { 0 };
	const struct sg_policy *p = NULL;
	struct sg_outbuf *b = &cl->out;
	struct json_object *v;
	const char *path;
	int err;

	if (!json_object_object_get_ex(req, "path", &v) ||
	    !json_object_is_type(v, json_type_string))
		return reply_error(cl, "policy_load", id, "path: missing (a string)");
	path = json_object_get_string(v);
	if (path[0] != '/')
		return reply_error(cl, "policy_load", id, "path: '%s' is not an absolute path",
				   path);
	err = c->ops.policy_load(c->ops.ctx, path, &p, &errs);
	if (err) {
		if (reply_begin(b, false, "policy_load", id) ||
		    sg_json_lit(b, ",\"error\":\"policy refused\",\"errors\":["))
			goto oom;
		for (size_t i = 0; i < sg_errlist_count(&errs); i++) {
			if ((i && sg_json_lit(b, ",")) || sg_json_str(b, sg_errlist_get(&errs, i)))
				goto oom;
		}
		if (sg_json_lit(b, "]") || reply_end(b))
			goto oom;
	} else if (reply_begin(b, true, "policy_load", id) || sg_json_lit(b, ",\"name\":") ||
		   sg_json_str(b, p->name[0] ? p->name : NULL) || sg_json_lit(b, ",\"version\":") ||
		   sg_json_u64(b, p->version) || sg_json_lit(b, ",\"rules\":") ||
		   sg_json_u64(b, p->nrules) || sg_json_lit(b, ",\"default\":") ||
		   sg_json_str(b, sg_verdict_name(p->default_action)) || reply_end(b)) {
		goto oom;
	}
	sg_errlist_free(&errs);
	return;
oom:
	sg_errlist_free(&errs);
	cl->dead = true;
}

static void cmd_members(struct ctl_client *cl, const char *cmd, const char *id,
			int (*fn)(struct sg_outbuf *, void *), void *ctx)
{
	if (reply_begin(&cl->out, true, cmd, id) || fn(&cl->out, ctx) || reply_end(&cl->out))
		cl->dead = true;
}

static void handle_request(struct control *c, struct ctl_client *cl, char *line, size_t len)
{
	struct json_tokener *tok;
	struct json_object *req, *v;
	const char *cmd = NULL, *id = NULL;
	size_t end;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (!len)
		return; /* empty lines are ignored */
	line[len] = '\0';
	tok = json_tokener_new();
	if (!tok) {
		cl->dead = true;
		return;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	req = json_tokener_parse_ex(tok, line, (int)len + 1);
	end = json_tokener_get_parse_end(tok);
	if (json_tokener_get_error(tok) != json_tokener_success || !req) {
		reply_error(cl, NULL, NULL, "not JSON: %s",
			    json_tokener_error_desc(json_tokener_get_error(tok)));
		goto out;
	}
	if (end < len) {
		reply_error(cl, NULL, NULL, "not JSON: trailing text after the request object");
		goto out;
	}
	if (!json_object_is_type(req, json_type_object)) {
		reply_error(cl, NULL, NULL, "a request must be a JSON object");
		goto out;
	}
	if (json_object_object_get_ex(req, "id", &v))
		id = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!json_object_object_get_ex(req, "cmd", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		reply_error(cl, NULL, id, "cmd: missing (a string)");
		goto out;
	}
	cmd = json_object_get_string(v);
	if (!strcmp(cmd, "status"))
		cmd_members(cl, "status", id, c->ops.status, c->ops.ctx);
	else if (!strcmp(cmd, "stats"))
		cmd_members(cl, "stats", id, c->ops.stats, c->ops.ctx);
	else if (!strcmp(cmd, "policy_show"))
		cmd_policy_show(c, cl, id);
	else if (!strcmp(cmd, "policy_load"))
		cmd_policy_load(c, cl, req, id);
	else if (!strcmp(cmd, "subscribe"))
		cmd_subscribe(c, cl, req, id);
	else
		reply_error(cl, cmd, id,
			    "unknown command '%s' (status, stats, policy_show, policy_load, "
			    "subscribe)",
			    cmd);
out:
	json_object_put(req);
	json_tokener_free(tok);
}

static void client_read(struct control *c, struct ctl_client *cl)
{
	for (;;) {
		ssize_t n;
		char *nl;

		if (cl->in_len == CTL_LINE_MAX && !cl->discard) {
			/*
			 * Answer, end our side, and drop what the peer still sends
			 * until it closes: closing with unread input would reset
			 * the connection before the peer reads the reply.
			 */
			reply_error(cl, NULL, NULL, "request too long (limit %d bytes)",
				    CTL_LINE_MAX);
			cl->discard = true;
			cl->discard_budget = CTL_OUT_MAX;
			cl->in_len = 0;
			return;
		}
		if (cl->discard)
			cl->in_len = 0;
		n = recv(cl->fd, cl->in + cl->in_len, CTL_LINE_MAX - cl->in_len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cl->dead = true;
			return;
		}
		if (n == 0) {
			/* The peer is done sending; it may still read what it asked for. */
			cl->eof = true;
			if (!cl->sub || cl->discard)
				cl->closing = true;
			if (cl->closing && !pending(cl))
				cl->dead = true;
			if (!cl->dead)
				update_events(c, cl);
			return;
		}
		if (cl->discard) {
			if ((size_t)n >= cl->discard_budget)
				cl->dead = true;
			cl->discard_budget -= (size_t)n;
			continue;
		}
		if (cl->sub || cl->closing) {
			cl->in_len = 0; /* a subscriber only receives */
			continue;
		}
		cl->in_len += (size_t)n;
		while (!cl->sub && !cl->closing && !cl->dead &&
		       (nl = memchr(cl->in, '\n', cl->in_len))) {
			size_t len = (size_t)(nl - cl->in);

			handle_request(c, cl, cl->in, len);
			memmove(cl->in, nl + 1, cl->in_len - len - 1);
			cl->in_len -= len + 1;
		}
		if (!cl->sub && pending(cl) > CTL_OUT_MAX)
			cl->dead = true; /* asks without reading the answers */
		if (cl->dead || cl->closing)
			return;
	}
}

static bool peer_allowed(int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	*uid = cred.uid;
	return cred.uid == 0 || cred.uid == geteuid();
}

/* One line to a connection that is not served, then close it. */
static void refuse(int fd, const char *msg)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "{\"ok\":false,\"cmd\":null,\"error\":\"%s\"}\n", msg);

	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: %s", strerror(errno));
	close(fd);
}

static void accept_all(struct control *c)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct ctl_client *cl;
		uid_t uid = (uid_t)-1;
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("control: accept: %s", strerror(errno));
			return;
		}
		if (!peer_allowed(fd, &uid)) {
			log_warn("control: refused a connection from uid %d", (int)uid);
			refuse(fd, "permission denied: only root and the daemon's user are served");
			continue;
		}
		for (i = 0; i < CTL_MAX_CLIENTS && c->cl[i]; i++)
			;
		if (i == CTL_MAX_CLIENTS) {
			refuse(fd, "too many connections (limit 32)");
			continue;
		}
		cl = calloc(1, sizeof(*cl));
		if (cl)
			cl->in = malloc(CTL_LINE_MAX);
		ev.data.ptr = cl;
		if (!cl || !cl->in || epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev)) {
			if (cl)
				free(cl->in);
			free(cl);
			refuse(fd, "out of memory");
			continue;
		}
		cl->fd = fd;
		cl->events = EPOLLIN;
		c->cl[i] = cl;
	}
}

static void reap(struct control *c)
{
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->cl[i] && c->cl[i]->dead)
			client_free(c, i);
}

void control__dispatch(struct control *c)
{
	struct epoll_event evs[16];
	int n, rounds = 0;

	if (!c)
		return;
	/* Bounded: a client that keeps sending cannot hold the event loop. */
	while (rounds++ < 64 && (n = epoll_wait(c->ep, evs, 16, 0)) > 0) {
		for (int i = 0; i < n; i++) {
			struct ctl_client *cl = evs[i].data.ptr;

			if (!cl) {
				accept_all(c);
				continue;
			}
			if (cl->dead)
				continue;
			if ((evs[i].events & EPOLLIN) && !cl->eof)
				client_read(c, cl);
			if (evs[i].events & EPOLLERR)
				cl->dead = true;
			if (!cl->dead)
				client_write(c, cl);
			if (evs[i].events & EPOLLHUP) /* the peer closed both directions */
				cl->dead = true;
		}
		reap(c);
	}
}

void control__flush(struct control *c)
{
	if (!c)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = c->cl[i];

		if (cl && !cl->dead && pending(cl))
			client_write(c, cl);
	}
	reap(c);
}

unsigned int control__subscribers(const struct control *c)
{
	return c ? c->nsubs : 0;
}

uint64_t control__dropped(const struct control *c)
{
	return c ? c->dropped : 0;
}

int control__epoll_fd(const struct control *c)
{
	return c ? c->ep : -1;
}

/* --- the socket ------------------------------------------------------------- */

/* Is a daemon answering on path? */
static bool answers(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool yes;

	if (fd < 0)
		return false;
	yes = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return yes;
}

int control__open(struct control **out, const char *path, const struct control_ops *ops)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct control *c;
	char dir[PATH_MAX], *slash;
	struct stat st;
	mode_t old;
	int err;

	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("control socket %s: path too long (at most %zu bytes)", path,
			sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			err = -errno;
			log_err("control socket %s: cannot create %s: %s", path, dir,
				strerror(-err));
			return err;
		}
	}
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("control socket %s: exists and is not a socket; not replacing it",
				path);
			return -EEXIST;
		}
		if (answers(&sa)) {
			log_err("control socket %s: another sendguardd answers there", path);
			return -EADDRINUSE;
		}
		unlink(path); /* stale: nothing listens */
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ops = *ops;
	c->lfd = c->ep = -1;
	sg_clock_init(&c->clk);
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->lfd < 0 || c->ep < 0) {
		err = -errno;
		goto fail;
	}
	old = umask(0177);
	err = bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (err)
		goto fail;
	if (chmod(path, 0600) || listen(c->lfd, SOMAXCONN) ||
	    epoll_ctl(c->ep, EPOLL_CTL_ADD, c->lfd, &ev)) {
		err = -errno;
		unlink(path);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	log_err("control socket %s: %s", path, strerror(-err));
	if (c->lfd >= 0)
		close(c->lfd);
	if (c->ep >= 0)
		close(c->ep);
	free(c);
	return err;
}

void control__close(struct control *c)
{
	if (!c)
		return;
	control__flush(c);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->cl[i])
			client_free(c, i);
	for (int i = 0; i < CTL_BACKLOG; i++)
		free(c->recent[i].data);
	close(c->lfd);
	close(c->ep);
	unlink(c->path);
	free(c);
}
