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

#include "clock.h"
#include "control.h"
#include "control_req.h"
#include "json.h"
#include "log.h"
#include "names.h"

#define CTL_MAX_CLIENTS 32
#define CTL_LINE_MAX	65536 /* a request line, newline included */
#define CTL_OUT_MAX	(4u << 20) /* unread output per client */

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
	uint64_t serial; /* this connection, for control__policy_load_done */
	/*
	 * A policy_load that waits for its switch: nothing more is read until
	 * the reply is out (replies stay in order); wait_id is its id (owned).
	 */
	bool waiting;
	bool resume; /* the wait is over: requests already read are handled next */
	char *wait_id;
	size_t wait_id_len;
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
	uint64_t next_serial;
	struct sg_clock clk;
	uint64_t dropped; /* records subscribers could not take, in all */
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

	ev.events = (cl->eof || cl->waiting ? 0 : EPOLLIN) | (pending(cl) ? EPOLLOUT : 0);
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
	free(cl->wait_id);
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
		else if (cl->closing && !cl->waiting)
			cl->dead = true;
	} else if (cl->out_off > CTL_OUT_MAX / 2) {
		memmove(cl->out.data, cl->out.data + cl->out_off, pending(cl));
		cl->out.len -= cl->out_off;
		cl->out_off = 0;
	}
	if (!cl->dead)
		update_events(c, cl);
}

/* The error reply to r (parsed as far as it went): its cmd and id, and the message. */
static void reply_error(struct ctl_client *cl, const struct ctl_request *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_error(struct ctl_client *cl, const struct ctl_request *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctl_reply_error(&cl->out, r, msg))
		cl->dead = true;
}

/* --- subscriptions ---------------------------------------------------------- */

static bool filter_match(const struct ctl_filter *f, const struct sg_rec_meta *m)
{
	if ((f->has & F_TYPE) && f->type != m->type)
		return false;
	if (m->type != SG_REC_SEND && m->type != SG_REC_CONNECT && m->type != SG_REC_FLOW)
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
	sg_json_lit(&cl->out, ",\"subscriber\":true}\n");
	if (sg_outbuf_end(&cl->out, start))
		return;
	cl->dropped = 0;
}

static void feed(struct control *c, struct ctl_client *cl, const char *line, size_t len,
		 uint64_t seq)
{
	size_t start;

	if (cl->dropped && pending(cl) <= CTL_OUT_MAX / 2)
		put_sub_lost(c, cl);
	if (!cl->dropped && pending(cl) + len <= CTL_OUT_MAX) {
		start = cl->out.len;
		sg_json_raw(&cl->out, line, len);
		if (!sg_outbuf_end(&cl->out, start))
			return;
	}
	cl->dropped++;
	cl->dropped_seq = seq;
	c->dropped++;
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

static void cmd_subscribe(struct control *c, struct ctl_client *cl, const struct ctl_request *r)
{
	const struct ctl_filter f = r->filter;
	unsigned int first;

	ctl_reply_begin(&cl->out, true, "subscribe", r->id, r->id_len);
	if (ctl_reply_end(&cl->out)) {
		cl->dead = true;
		return;
	}
	/* The most recent backlog matching records, oldest first. */
	first = (c->recent_next + CTL_BACKLOG - c->recent_n) % CTL_BACKLOG;
	if (r->backlog) {
		int64_t want = r->backlog;
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
	if (!r->follow) {
		ctl_reply_begin(&cl->out, true, "subscribe", r->id, r->id_len);
		sg_json_key_bool(&cl->out, "end", true);
		if (ctl_reply_end(&cl->out))
			cl->dead = true;
		cl->closing = true;
		return;
	}
	cl->f = f;
	cl->sub = true;
	c->nsubs++;
}

static void cmd_policy_show(struct control *c, struct ctl_client *cl, const struct ctl_request *r)
{
	const char *source = NULL;
	const struct sg_policy *p = c->ops.policy(c->ops.ctx, &source);
	struct sg_outbuf *b = &cl->out;

	if (!p || !p->json)
		return reply_error(cl, r, "no policy in force yet");
	ctl_reply_begin(b, true, "policy_show", r->id, r->id_len);
	sg_json_key_str(b, "name", p->name[0] ? p->name : NULL);
	sg_json_key_u64(b, "version", p->version);
	sg_json_key_str(b, "source", source);
	sg_json_key_raw(b, "policy", p->json, strlen(p->json));
	if (ctl_reply_end(b))
		cl->dead = true;
}

/* The reply to a policy_load: the policy now in force, or why the file was refused. */
static void put_policy_load_reply(struct ctl_client *cl, const char *id, size_t id_len, int err,
				  const struct sg_policy *p, const struct sg_errlist *errs)
{
	struct sg_outbuf *b = &cl->out;

	ctl_reply_begin(b, !err, "policy_load", id, id_len);
	if (err) {
		sg_json_key_str(b, "error", "policy refused");
		sg_json_key_arr(b, "errors");
		for (size_t i = 0; i < sg_errlist_count(errs); i++)
			sg_json_elem_str(b, sg_errlist_get(errs, i));
		sg_json_arr_close(b);
	} else {
		sg_json_key_str(b, "name", p->name[0] ? p->name : NULL);
		sg_json_key_u64(b, "version", p->version);
		sg_json_key_u64(b, "rules", p->nrules);
		sg_json_key_str(b, "default", sg_verdict_name(p->default_action));
	}
	if (ctl_reply_end(b))
		cl->dead = true;
}

static void cmd_policy_load(struct control *c, struct ctl_client *cl, const struct ctl_request *r)
{
	struct sg_errlist errs = { 0 };
	const struct sg_policy *p = NULL;
	int err;

	err = c->ops.policy_load(c->ops.ctx, r->path, cl->serial, &p, &errs);
	if (err == -EINPROGRESS) {
		/* The switch waits for its slot: control__policy_load_done replies. */
		cl->waiting = true;
		if (r->id) {
			cl->wait_id = malloc(r->id_len);
			if (!cl->wait_id)
				cl->dead = true;
			else
				memcpy(cl->wait_id, r->id, r->id_len);
			cl->wait_id_len = r->id_len;
		}
	} else {
		put_policy_load_reply(cl, r->id, r->id_len, err, p, &errs);
	}
	sg_errlist_free(&errs);
}

void control__policy_load_done(struct control *c, uint64_t serial, int err,
			       const struct sg_policy *p, const struct sg_errlist *errs)
{
	struct ctl_client *cl = NULL;

	for (int i = 0; c && i < CTL_MAX_CLIENTS && !cl; i++)
		if (c->cl[i] && c->cl[i]->serial == serial && c->cl[i]->waiting)
			cl = c->cl[i];
	if (!cl)
		return; /* it went away meanwhile */
	put_policy_load_reply(cl, cl->wait_id, cl->wait_id_len, err, p, errs);
	free(cl->wait_id);
	cl->wait_id = NULL;
	cl->waiting = false;
	cl->resume = true; /* control__flush handles what it sent meanwhile */
}

static void cmd_members(struct ctl_client *cl, const struct ctl_request *r,
			int (*fn)(struct sg_outbuf *, void *), void *ctx)
{
	ctl_reply_begin(&cl->out, true, r->cmd_name, r->id, r->id_len);
	fn(&cl->out, ctx);
	if (ctl_reply_end(&cl->out))
		cl->dead = true;
}

static void handle_request(struct control *c, struct ctl_client *cl, char *line, size_t len)
{
	struct ctl_request r;
	int err;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (!len)
		return; /* empty lines are ignored */
	err = ctl_request_parse(line, len, &r);
	if (err == -ENOMEM) {
		cl->dead = true;
	} else if (err) {
		reply_error(cl, &r, "%s", r.error);
	} else {
		switch (r.cmd) {
		case CTL_CMD_STATUS:
			cmd_members(cl, &r, c->ops.status, c->ops.ctx);
			break;
		case CTL_CMD_STATS:
			cmd_members(cl, &r, c->ops.stats, c->ops.ctx);
			break;
		case CTL_CMD_POLICY_SHOW:
			cmd_policy_show(c, cl, &r);
			break;
		case CTL_CMD_POLICY_LOAD:
			cmd_policy_load(c, cl, &r);
			break;
		default:
			cmd_subscribe(c, cl, &r);
			break;
		}
	}
	ctl_request_free(&r);
}

/* Handle the whole request lines read so far, in order, until one has to wait. */
static void handle_lines(struct control *c, struct ctl_client *cl)
{
	char *nl;

	while (!cl->sub && !cl->closing && !cl->dead && !cl->waiting &&
	       (nl = memchr(cl->in, '\n', cl->in_len))) {
		size_t len = (size_t)(nl - cl->in);

		handle_request(c, cl, cl->in, len);
		memmove(cl->in, nl + 1, cl->in_len - len - 1);
		cl->in_len -= len + 1;
	}
	if (!cl->sub && pending(cl) > CTL_OUT_MAX)
		cl->dead = true; /* asks without reading the answers */
}

static void client_read(struct control *c, struct ctl_client *cl)
{
	if (cl->waiting)
		return; /* read again once its policy_load is answered (update_events) */
	for (;;) {
		ssize_t n;

		if (cl->in_len == CTL_LINE_MAX && !cl->discard) {
			/*
			 * Answer, end our side, and drop what the peer still sends
			 * until it closes: closing with unread input would reset
			 * the connection before the peer reads the reply.
			 */
			struct ctl_request none = { 0 };

			reply_error(cl, &none, "request too long (limit %d bytes)", CTL_LINE_MAX);
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
			if (cl->closing && !pending(cl) && !cl->waiting)
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
		handle_lines(c, cl);
		if (cl->dead || cl->closing || cl->waiting)
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
		cl->serial = ++c->next_serial;
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

		if (cl && cl->resume && !cl->dead) {
			/* Its policy_load was answered: on with what it sent after it. */
			cl->resume = false;
			handle_lines(c, cl);
			if (!cl->dead)
				client_write(c, cl); /* and it is read again */
			continue;
		}
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
