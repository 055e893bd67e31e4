// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * syslog+tcp://HOST:PORT: see sink_tcp.h.
 *
 * The queue is one buffer of frames, "LEN SP MSG", oldest first. The first
 * `sent` bytes went out on the current connection; the collector's TCP has
 * acknowledged `acked` bytes of them. Whole acknowledged frames are released
 * from the front. When the connection breaks, sent is set back to zero: what
 * was not acknowledged goes out again, whole, on the next connection.
 *
 * A message (RFC 5424, section 6):
 *   <30>1 2026-11-22T21:50:01.123456Z host sendguardd 812 send [meta sequenceId="1042"] {"v":1,...}
 * PRI 30 is facility daemon, severity info; the timestamp is the record's own
 * (microseconds, the most RFC 5424 allows); MSGID is the record type; the
 * meta SD-ELEMENT carries the record's seq (RFC 5424 7.3.1); MSG is the JSON
 * record without its newline.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/tcp.h>

#include "clock.h"
#include "sinks.h"
#include "netaddr.h"
#include "sink_tcp.h"

#define BACKOFF_MIN_MS	 250
#define BACKOFF_MAX_MS	 10000
#define CONNECT_WAIT_MS	 5000 /* a connect still pending after this is given up */
#define FRAME_HEAD_MAX	 (20 + 1) /* "LEN " */
#define MSG_HEAD_MAX	 512 /* "<30>1 TS HOST APP PID MSGID [meta ...] " */
#define SYSLOG_PRI	 "<30>1 " /* facility daemon (3) * 8 + severity info (6) */
#define HOSTNAME_MAX	 255
#define SEQUENCE_ID_WRAP 2147483647ull

enum tcp_state { TS_DOWN, TS_CONNECTING, TS_UP };

struct tcp_sink {
	char *spec; /* HOST:PORT as given */
	struct netaddr addr;
	char peer[64]; /* the resolved address, for the log */
	char app[HOSTNAME_MAX + 64]; /* " HOST sendguardd PID " */
	size_t app_len;
	int fd;
	enum tcp_state state;
	uint64_t next_try_ms, backoff_ms, connect_started_ms;
	bool logged_down; /* the current outage was logged */
	/* the queue: frames in q[head, head + len) */
	char *q;
	size_t head, len, cap, max;
	uint64_t records; /* frames in the queue */
	size_t sent; /* bytes of the queue written to the current connection */
	uint64_t acked_base; /* tcpi_bytes_acked when the queue's first byte was sent */
	bool overflow; /* dropping until the queue is down to half */
	struct tcp_sink_stats st;
};

int tcp_sink__new(struct tcp_sink **out, const char *hostport)
{
	struct tcp_sink *t;
	char host[256];
	unsigned int port;

	*out = NULL;
	if (netaddr_split(hostport, host, sizeof(host), &port))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->spec = strdup(hostport);
	if (!t->spec) {
		free(t);
		return -ENOMEM;
	}
	t->fd = -1;
	t->max = TCP_SINK_QUEUE_DEF;
	t->backoff_ms = BACKOFF_MIN_MS;
	*out = t;
	return 0;
}

void tcp_sink__set_queue_max(struct tcp_sink *t, size_t bytes)
{
	t->max = bytes;
}

/* HOSTNAME of RFC 5424: printable US-ASCII without spaces, at most 255, else "-". */
static void put_app(struct tcp_sink *t)
{
	char host[HOSTNAME_MAX + 1] = "";
	size_t n;

	if (gethostname(host, sizeof(host) - 1))
		host[0] = '\0';
	for (n = 0; host[n]; n++) {
		if (host[n] <= ' ' || host[n] > '~')
			host[n] = '_';
	}
	t->app_len = (size_t)snprintf(t->app, sizeof(t->app), " %s sendguardd %d ",
				      host[0] ? host : "-", (int)getpid());
}

int tcp_sink__open(struct tcp_sink *t)
{
	const char *why;
	int err = netaddr_resolve(t->spec, &t->addr, &why);

	if (err) {
		sink__log(LOG_ERR, "sink " TCP_SINK_PREFIX "%s: cannot resolve: %s", t->spec,
			  why ? why : "bad address");
		return err;
	}
	netaddr_format(&t->addr, t->peer, sizeof(t->peer));
	put_app(t);
	tcp_sink__service(t);
	return 0;
}

/* --- framing ---------------------------------------------------------------- */

/* Find "key" in the head of a record line; the byte after it, or NULL. */
static const char *head_find(const char *line, size_t len, const char *key)
{
	size_t kl = strlen(key);
	const char *p = memmem(line, len < 160 ? len : 160, key, kl);

	return p ? p + kl : NULL;
}

/*
 * The message header of a record line: "<30>1 TS HOST APP PID MSGID SD ".
 * Fields the line does not have (it always has them) are NILVALUE "-".
 */
static size_t msg_head(const struct tcp_sink *t, const char *line, size_t len, char *out)
{
	const char *end = line + len, *ts = head_find(line, len, "\"ts\":\"");
	const char *type = head_find(line, len, "\"type\":\"");
	const char *seq = head_find(line, len, "\"seq\":");
	size_t n = sizeof(SYSLOG_PRI) - 1, k;

	memcpy(out, SYSLOG_PRI, n);
	/* "2026-11-22T21:50:01.123456789Z" -> "2026-11-22T21:50:01.123456Z" */
	if (ts && end - ts >= 30 && ts[19] == '.' && ts[29] == 'Z') {
		memcpy(out + n, ts, 26);
		out[n + 26] = 'Z';
		n += 27;
	} else {
		out[n++] = '-';
	}
	memcpy(out + n, t->app, t->app_len);
	n += t->app_len;
	/* MSGID: the record type, at most 32 printable characters */
	k = 0;
	while (type && type + k < end && k < 32 && type[k] != '"' && type[k] > ' ' &&
	       type[k] <= '~')
		k++;
	if (k && type + k < end && type[k] == '"') {
		memcpy(out + n, type, k);
		n += k;
	} else {
		out[n++] = '-';
	}
	if (seq) {
		unsigned long long v = strtoull(seq, NULL, 10);

		if (v) {
			n += (size_t)sprintf(out + n, " [meta sequenceId=\"%llu\"] ",
					     (v - 1) % SEQUENCE_ID_WRAP + 1);
			return n;
		}
	}
	memcpy(out + n, " - ", 3);
	return n + 3;
}

/* Room for n more bytes at the end of the queue, within max. */
static int q_room(struct tcp_sink *t, size_t n)
{
	if (t->len + n > t->max)
		return -ENOBUFS;
	if (t->head && t->head + t->len + n > t->cap) {
		memmove(t->q, t->q + t->head, t->len);
		t->head = 0;
	}
	if (t->len + n > t->cap) {
		size_t cap = t->cap ? t->cap : 65536;
		char *q;

		while (cap < t->len + n)
			cap *= 2;
		if (cap > t->max)
			cap = t->max;
		q = realloc(t->q, cap);
		if (!q)
			return -ENOMEM;
		t->q = q;
		t->cap = cap;
	}
	return 0;
}

int tcp_sink__write(struct tcp_sink *t, const char *buf, size_t len, uint64_t *dropped)
{
	char head[MSG_HEAD_MAX + HOSTNAME_MAX];
	const char *p = buf, *end = buf + len;

	if (t->overflow && t->len <= t->max / 2)
		t->overflow = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t hl, fl;
		char num[FRAME_HEAD_MAX + 1];

		if (!t->overflow) {
			hl = msg_head(t, p, ll, head);
			fl = (size_t)snprintf(num, sizeof(num), "%zu ", hl + ll);
			/* Full: what the socket takes now makes room, else this record is dropped. */
			if (q_room(t, fl + hl + ll) == 0 ||
			    (tcp_sink__service(t), q_room(t, fl + hl + ll) == 0)) {
				char *w = t->q + t->head + t->len;

				memcpy(w, num, fl);
				memcpy(w + fl, head, hl);
				memcpy(w + fl + hl, p, ll);
				t->len += fl + hl + ll;
				t->records++;
			} else {
				t->overflow = true;
			}
		}
		if (t->overflow)
			(*dropped)++;
		p += ll + 1;
	}
	tcp_sink__service(t);
	return *dropped ? -ENOBUFS : 0;
}

/* --- the connection --------------------------------------------------------- */

/* Length of the frame at q[off] ("LEN SP MSG"), 0 if it is not whole. */
static size_t frame_len(const struct tcp_sink *t, size_t off)
{
	const char *p = t->q + t->head + off, *end = t->q + t->head + t->len;
	size_t n = 0, digits = 0;

	while (p < end && *p >= '0' && *p <= '9' && digits < 20) {
		n = n * 10 + (size_t)(*p++ - '0');
		digits++;
	}
	if (!digits || p >= end || *p != ' ' || n > (size_t)(end - p - 1))
		return 0;
	return digits + 1 + n;
}

/* Release the whole frames the collector acknowledged. */
static void release_acked(struct tcp_sink *t)
{
	struct tcp_info ti;
	socklen_t sl = sizeof(ti);
	uint64_t acked;

	if (t->fd < 0 || t->state != TS_UP)
		return;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(t->fd, IPPROTO_TCP, TCP_INFO, &ti, &sl) ||
	    sl < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti.tcpi_bytes_acked))
		return;
	acked = ti.tcpi_bytes_acked - t->acked_base;
	if (acked > t->sent)
		acked = t->sent;
	while (acked) {
		size_t fl = frame_len(t, 0);

		if (!fl || fl > acked)
			break;
		t->head += fl;
		t->len -= fl;
		t->sent -= fl;
		t->acked_base += fl;
		acked -= fl;
		t->records--;
		t->st.delivered++;
		t->backoff_ms = BACKOFF_MIN_MS; /* this collector takes messages */
	}
	if (!t->len)
		t->head = 0;
}

static void conn_close(struct tcp_sink *t, const char *why, int err)
{
	uint64_t now = sg_clock_mono_ms();

	release_acked(t);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->sent = 0; /* what was not acknowledged goes out again */
	t->st.failures++;
	if (!t->logged_down) {
		sink__log(LOG_WARNING,
			  "sink " TCP_SINK_PREFIX "%s: %s %s: %s; queueing, retrying with "
			  "backoff",
			  t->spec, why, t->peer, strerror(err));
		t->logged_down = true;
	}
	t->state = TS_DOWN;
	t->next_try_ms = now + t->backoff_ms;
	t->backoff_ms = t->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : t->backoff_ms * 2;
}

static void conn_up(struct tcp_sink *t)
{
	struct tcp_info ti;
	socklen_t sl = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	getsockopt(t->fd, IPPROTO_TCP, TCP_INFO, &ti, &sl);
	t->acked_base = ti.tcpi_bytes_acked;
	t->sent = 0;
	t->state = TS_UP;
	t->st.connects++;
	if (t->logged_down)
		sink__log(LOG_INFO, "sink " TCP_SINK_PREFIX "%s: connected to %s", t->spec,
			  t->peer);
	else
		sink__log(LOG_DEBUG, "sink " TCP_SINK_PREFIX "%s: connected to %s", t->spec,
			  t->peer);
	t->logged_down = false;
}

static void conn_start(struct tcp_sink *t)
{
	t->fd = socket(t->addr.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		conn_close(t, "cannot connect to", errno);
		return;
	}
	if (connect(t->fd, (struct sockaddr *)&t->addr.sa, t->addr.len) == 0) {
		conn_up(t);
	} else if (errno == EINPROGRESS) {
		t->state = TS_CONNECTING;
		t->connect_started_ms = sg_clock_mono_ms();
	} else {
		conn_close(t, "cannot connect to", errno);
	}
}

/* A pending connect: done, failed, or still pending (0). */
static void conn_check(struct tcp_sink *t)
{
	struct pollfd pfd = { .fd = t->fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (poll(&pfd, 1, 0) <= 0) {
		if (sg_clock_mono_ms() - t->connect_started_ms > CONNECT_WAIT_MS)
			conn_close(t, "cannot connect to", ETIMEDOUT);
		return;
	}
	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr)
		conn_close(t, "cannot connect to", soerr ? soerr : errno);
	else
		conn_up(t);
}

/*
 * The collector never sends; a readable socket means it closed (EOF) or
 * reset the connection. Checked before writing, so that nothing is written
 * into a connection the collector has already left.
 */
static bool peer_gone(struct tcp_sink *t, int *err)
{
	char buf[512];

	for (;;) {
		ssize_t n = recv(t->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0)
			continue; /* whatever it said: ignored */
		if (n == 0) {
			*err = ECONNRESET;
			return true;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return false;
		*err = errno;
		return true;
	}
}

static void conn_write(struct tcp_sink *t)
{
	int err;

	if (peer_gone(t, &err)) {
		conn_close(t, "connection lost to", err);
		return;
	}
	while (t->sent < t->len) {
		ssize_t n = send(t->fd, t->q + t->head + t->sent, t->len - t->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(t, "connection lost to", errno);
			break;
		}
		t->sent += (size_t)n;
	}
	release_acked(t);
}

void tcp_sink__service(struct tcp_sink *t)
{
	if (!t->peer[0])
		return; /* not opened */
	if (t->state == TS_DOWN && sg_clock_mono_ms() >= t->next_try_ms)
		conn_start(t);
	if (t->state == TS_CONNECTING)
		conn_check(t);
	if (t->state == TS_UP)
		conn_write(t);
}

uint64_t tcp_sink__finish(struct tcp_sink *t, uint64_t deadline)
{
	uint64_t left;

	for (;;) {
		uint64_t now = sg_clock_mono_ms();
		struct pollfd pfd = { .fd = t->fd, .events = POLLOUT };

		tcp_sink__service(t);
		if (!t->len || now >= deadline)
			break;
		if (t->state == TS_DOWN) {
			if (t->next_try_ms >= deadline)
				break;
			poll(NULL, 0, (int)(t->next_try_ms - now));
			continue;
		}
		/* Connecting or written out: wait for room or for the acknowledgments. */
		poll(&pfd, 1, t->state == TS_UP && t->sent == t->len ? 5 : 20);
	}
	left = t->records;
	if (left)
		sink__log(LOG_WARNING,
			  "sink " TCP_SINK_PREFIX "%s: %llu records not delivered at exit", t->spec,
			  (unsigned long long)left);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->state = TS_DOWN;
	t->head = t->len = t->sent = 0;
	t->records = 0;
	t->peer[0] = '\0';
	return left;
}

void tcp_sink__stats(const struct tcp_sink *t, struct tcp_sink_stats *st)
{
	*st = t->st;
	st->queued_bytes = t->len;
	st->queued_records = t->records;
	st->connected = t->state == TS_UP;
}

void tcp_sink__free(struct tcp_sink *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t->q);
	free(t->spec);
	free(t);
}
