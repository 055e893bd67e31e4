/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The remote syslog sink, -o syslog+tcp://HOST:PORT: every record as one
 * RFC 5424 message, framed by octet counting (RFC 6587, 3.4.1), over TCP to a
 * collector (rsyslog imtcp, syslog-ng network(), Fluent Bit, Vector, ...).
 *
 * It never blocks the daemon: the connection is non-blocking, connecting
 * included, and messages wait in a queue of bounded size while the collector
 * is slow or away. A message leaves the queue once the collector's TCP has
 * acknowledged all of it (TCP_INFO tcpi_bytes_acked); when the connection
 * breaks, what was not acknowledged is sent again on the next one, which is
 * tried with exponential backoff. Records that find the queue full are
 * dropped (until it has drained to half, so that a gap is one run of
 * records) and counted: the pipeline reports them in the stream.
 */
#ifndef SG_SINK_TCP_H
#define SG_SINK_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_SINK_PREFIX	   "syslog+tcp://"
#define TCP_SINK_QUEUE_DEF (4u << 20)

struct tcp_sink;

struct tcp_sink_stats {
	uint64_t queued_bytes; /* framed messages not yet acknowledged */
	uint64_t queued_records;
	uint64_t delivered; /* records the collector acknowledged */
	uint64_t connects; /* connections established */
	uint64_t failures; /* connection attempts that failed and connections that broke */
	bool connected;
};

/* "HOST:PORT" (the part after syslog+tcp://): checked, not resolved. 0, -EINVAL or -ENOMEM. */
int tcp_sink__new(struct tcp_sink **out, const char *hostport);
/* Bytes of framed messages the queue holds at most (default TCP_SINK_QUEUE_DEF). */
void tcp_sink__set_queue_max(struct tcp_sink *t, size_t bytes);
/* Resolve the collector and start connecting. 0 or -errno (the name does not resolve). */
int tcp_sink__open(struct tcp_sink *t);
/* Queue whole lines; *dropped counts those that did not fit. 0, or -ENOBUFS if any was dropped. */
int tcp_sink__write(struct tcp_sink *t, const char *buf, size_t len, uint64_t *dropped);
/* Connect, write what the socket takes, release what was acknowledged. Never blocks. */
void tcp_sink__service(struct tcp_sink *t);
/*
 * At exit: deliver what is queued, waiting at most until deadline
 * (sg_clock_mono_ms). Returns the records left undelivered, then closes.
 */
uint64_t tcp_sink__finish(struct tcp_sink *t, uint64_t deadline);
void tcp_sink__stats(const struct tcp_sink *t, struct tcp_sink_stats *st);
void tcp_sink__free(struct tcp_sink *t);

#endif
