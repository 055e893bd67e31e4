/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Prometheus metrics, sendguardd --metrics ADDR:PORT: the daemon's counters
 * in the text exposition format (metrics.c) and the small HTTP server that
 * serves them at /metrics from the daemon's event loop (metrics_http.c).
 *
 * The server never blocks the loop: sockets are non-blocking, a request head
 * is at most METRICS_REQ_MAX bytes, a connection lives at most
 * METRICS_CONN_MS, at most METRICS_MAX_CONNS are open (a new one displaces
 * the oldest that has not finished its request, else it is refused), and a
 * reply is written only as fast as the scraper reads it.
 */
#ifndef SG_METRICS_H
#define SG_METRICS_H

#include <stdint.h>

#include "event.h"
#include "netaddr.h"

#define METRICS_MAX_CONNS 16
#define METRICS_REQ_MAX	  8192
#define METRICS_CONN_MS	  10000

struct pipeline;
struct policy_mgr;
struct enforce;
struct control;
struct metrics_http;

/* --- the HTTP server ------------------------------------------------------- */

struct metrics_http_stats {
	uint64_t scrapes; /* /metrics replies */
	uint64_t bad_requests; /* 4xx replies */
	uint64_t refused; /* connections refused at the limit */
	uint64_t displaced; /* unfinished requests closed to make room */
	uint64_t timed_out; /* connections closed after METRICS_CONN_MS */
	unsigned int open; /* connections now */
};

/* Appends the whole /metrics body to b. 0 or -ENOMEM. */
typedef int (*metrics_render_fn)(struct sg_outbuf *b, void *ctx);

/* Listen on addr. 0 or -errno (the cause is logged). */
int metrics_http__open(struct metrics_http **out, const struct netaddr *addr,
		       metrics_render_fn render, void *ctx);
/* Readable when a connection or a request waits: add it to the daemon's epoll. */
int metrics_http__epoll_fd(const struct metrics_http *m);
/* Accept, read, answer and write whatever is ready; never blocks. */
void metrics_http__dispatch(struct metrics_http *m);
/* Close connections that outlived METRICS_CONN_MS (call at least every second). */
void metrics_http__tick(struct metrics_http *m);
void metrics_http__stats(const struct metrics_http *m, struct metrics_http_stats *st);
/* Accepts NULL. */
void metrics_http__close(struct metrics_http *m);

/* --- what is exposed -------------------------------------------------------- */

struct metrics_src {
	const char *version;
	struct pipeline *p;
	struct policy_mgr *pm;
	const struct enforce *en;
	const struct control *ctl;
	const struct metrics_http *http;
	const char *const *policy_source; /* the daemon's -p FILE; NULL: the embedded default */
	uint64_t ringbuf_size;
};

/* metrics_render_fn for a struct metrics_src. */
int metrics__render(struct sg_outbuf *b, void *ctx);

#endif
