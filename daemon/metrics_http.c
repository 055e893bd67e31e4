// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HTTP/1.1 server behind --metrics (metrics.h): GET or HEAD /metrics, one
 * request per connection ("Connection: close"), everything non-blocking and
 * bounded. Like the control socket it has an epoll fd of its own that the
 * daemon's loop waits on.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "metrics.h"

#define BODY_MAX     (16u << 20) /* a /metrics body larger than this is an error */
#define DISCARD_MAX  65536 /* input dropped after the reply before giving up on a peer */
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct http_conn {
	int fd;
	uint64_t since_ms; /* accepted */
	char in[METRICS_REQ_MAX];
	size_t in_len;
	bool replied; /* the reply is in out: no more requests are read */
	bool done; /* the reply is written: wait for the peer's EOF, then close */
	size_t discarded;
	struct sg_outbuf out;
	size_t out_off;
	uint32_t events;
};

struct metrics_http {
	int lfd, ep;
	metrics_render_fn render;
	void *ctx;
	struct http_conn *c[METRICS_MAX_CONNS];
	struct metrics_http_stats st;
};

static void conn_free(struct metrics_http *m, int i)
{
	struct http_conn *c = m->c[i];

	epoll_ctl(m->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	sg_outbuf_free(&c->out);
	free(c);
	m->c[i] = NULL;
	m->st.open--;
}

static int reply(struct http_conn *c, int status, const char *reason, const char *extra,
		 const char *body, size_t len, bool head_only)
{
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n%s\r\n",
			 status, reason, status == 200 ? CONTENT_TYPE : "text/plain; charset=utf-8",
			 len, extra ? extra : "");
	int err;

	c->replied = true;
	err = sg_json_raw(&c->out, hdr, (size_t)n);
	if (!err && !head_only)
		err = sg_json_raw(&c->out, body, len);
	return err;
}

static int reply_error(struct metrics_http *m, struct http_conn *c, int status, const char *reason,
		       const char *extra)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, reason);

	m->st.bad_requests++;
	return reply(c, status, reason, extra, body, (size_t)n, false);
}

/* A whole request head is in c->in: answer it. */
static int answer(struct metrics_http *m, struct http_conn *c)
{
	char *sp1, *sp2, *eol = memchr(c->in, '\n', c->in_len);
	struct sg_outbuf body = { 0 };
	bool head_only;
	size_t plen;
	int err;

	*eol = '\0';
	if (eol > c->in && eol[-1] == '\r')
		eol[-1] = '\0';
	sp1 = strchr(c->in, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7))
		return reply_error(m, c, 400, "Bad Request", NULL);
	*sp1 = *sp2 = '\0';
	head_only = !strcmp(c->in, "HEAD");
	if (!head_only && strcmp(c->in, "GET"))
		return reply_error(m, c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
	plen = strcspn(sp1 + 1, "?");
	if (plen != 8 || strncmp(sp1 + 1, "/metrics", 8))
		return reply_error(m, c, 404, "Not Found", NULL);
	err = sg_outbuf_init(&body, 16384);
	if (!err)
		err = m->render(&body, m->ctx);
	if (!err && body.len > BODY_MAX)
		err = -EFBIG;
	if (err) {
		log_warn("metrics: cannot render: %s", strerror(-err));
		sg_outbuf_free(&body);
		return reply(c, 500, "Internal Server Error", NULL, "500\n", 4, false);
	}
	m->st.scrapes++;
	err = reply(c, 200, "OK", NULL, body.data, body.len, head_only);
	sg_outbuf_free(&body);
	return err;
}

static void want(struct metrics_http *m, struct http_conn *c, uint32_t events, int i)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (events == c->events)
		return;
	if (epoll_ctl(m->ep, EPOLL_CTL_MOD, c->fd, &ev))
		conn_free(m, i);
	else
		c->events = events;
}

/* Read what the peer sent; false when the connection is to be closed. */
static bool conn_read(struct metrics_http *m, struct http_conn *c)
{
	for (;;) {
		char sink[4096];
		char *dst = c->replied ? sink : c->in + c->in_len;
		size_t room = c->replied ? sizeof(sink) : sizeof(c->in) - 1 - c->in_len;
		ssize_t n = recv(c->fd, dst, room, MSG_DONTWAIT);

		if (n < 0)
			return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK;
		if (n == 0)
			return c->replied && !c->done ? true : false; /* EOF */
		if (c->replied) {
			/* Input after the request: dropped, boundedly. */
			c->discarded += (size_t)n;
			if (c->discarded > DISCARD_MAX)
				return false;
			continue;
		}
		c->in_len += (size_t)n;
		c->in[c->in_len] = '\0';
		if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n")) {
			if (answer(m, c))
				return false;
		} else if (c->in_len == sizeof(c->in) - 1) {
			if (reply_error(m, c, 431, "Request Header Fields Too Large", NULL))
				return false;
		}
		if (c->replied)
			return true;
	}
}

/* Write what the socket takes; false when the connection is to be closed. */
static bool conn_write(struct http_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		c->out_off += (size_t)n;
	}
	if (c->replied && !c->done) {
		/* All written: end our side, read until the peer closes (no RST on unread input). */
		c->done = true;
		shutdown(c->fd, SHUT_WR);
	}
	return true;
}

static void serve(struct metrics_http *m, int i, uint32_t events)
{
	struct http_conn *c = m->c[i];

	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !conn_read(m, c)) {
		conn_free(m, i);
		return;
	}
	if (c->replied && !conn_write(c)) {
		conn_free(m, i);
		return;
	}
	want(m, c, c->out_off < c->out.len ? EPOLLOUT : EPOLLIN, i);
}

/* The oldest connection still reading its request, or -1. */
static int oldest_unfinished(const struct metrics_http *m)
{
	int best = -1;

	for (int i = 0; i < METRICS_MAX_CONNS; i++) {
		if (m->c[i] && !m->c[i]->replied &&
		    (best < 0 || m->c[i]->since_ms < m->c[best]->since_ms))
			best = i;
	}
	return best;
}

static void accept_all(struct metrics_http *m)
{
	/* Bounded, like every step of the loop: the rest waits in the listen backlog. */
	for (int k = 0; k < 4 * METRICS_MAX_CONNS; k++) {
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i;
		struct epoll_event ev = { .events = EPOLLIN };
		struct http_conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("metrics: accept: %s", strerror(errno));
			return;
		}
		for (i = 0; i < METRICS_MAX_CONNS && m->c[i]; i++)
			;
		if (i == METRICS_MAX_CONNS) {
			/* Full: a request that is still not complete gives way, else the new one. */
			i = oldest_unfinished(m);
			if (i < 0) {
				m->st.refused++;
				close(fd);
				continue;
			}
			m->st.displaced++;
			conn_free(m, i);
		}
		c = calloc(1, sizeof(*c));
		ev.data.ptr = c;
		if (!c || epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev)) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->events = EPOLLIN;
		c->since_ms = sg_clock_mono_ms();
		m->c[i] = c;
		m->st.open++;
	}
}

void metrics_http__dispatch(struct metrics_http *m)
{
	struct epoll_event evs[16];
	int n, rounds = 0;

	if (!m)
		return;
	/* Bounded: peers that keep sending cannot hold the event loop. */
	while (rounds++ < 16 && (n = epoll_wait(m->ep, evs, 16, 0)) > 0) {
		for (int k = 0; k < n; k++) {
			struct http_conn *c = evs[k].data.ptr;
			int i;

			if (!c) {
				accept_all(m);
				continue;
			}
			for (i = 0; i < METRICS_MAX_CONNS && m->c[i] != c; i++)
				;
			if (i < METRICS_MAX_CONNS) /* not closed earlier in this round */
				serve(m, i, evs[k].events);
		}
	}
}

void metrics_http__tick(struct metrics_http *m)
{
	uint64_t now = sg_clock_mono_ms();

	if (!m)
		return;
	for (int i = 0; i < METRICS_MAX_CONNS; i++) {
		if (m->c[i] && now - m->c[i]->since_ms >= METRICS_CONN_MS) {
			m->st.timed_out++;
			conn_free(m, i);
		}
	}
}

int metrics_http__epoll_fd(const struct metrics_http *m)
{
	return m ? m->ep : -1;
}

void metrics_http__stats(const struct metrics_http *m, struct metrics_http_stats *st)
{
	if (m)
		*st = m->st;
	else
		memset(st, 0, sizeof(*st));
}

int metrics_http__open(struct metrics_http **out, const struct netaddr *addr,
		       metrics_render_fn render, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct metrics_http *m;
	char name[80];
	int one = 1, err;

	*out = NULL;
	netaddr_format(addr, name, sizeof(name));
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->render = render;
	m->ctx = ctx;
	m->lfd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	if (m->lfd < 0 || m->ep < 0 ||
	    setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->lfd, (const struct sockaddr *)&addr->sa, addr->len) || listen(m->lfd, 64) ||
	    epoll_ctl(m->ep, EPOLL_CTL_ADD, m->lfd, &ev)) {
		err = -errno;
		log_err("metrics: cannot listen on %s: %s", name, strerror(-err));
		if (m->lfd >= 0)
			close(m->lfd);
		if (m->ep >= 0)
			close(m->ep);
		free(m);
		return err;
	}
	log_info("metrics: serving http://%s/metrics", name);
	*out = m;
	return 0;
}

void metrics_http__close(struct metrics_http *m)
{
	if (!m)
		return;
	for (int i = 0; i < METRICS_MAX_CONNS; i++)
		if (m->c[i])
			conn_free(m, i);
	close(m->lfd);
	close(m->ep);
	free(m);
}
