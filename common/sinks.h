/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Event sinks of sendguardd and `sendguard run`: stdout, stderr, file:PATH
 * (size rotation, reopen on SIGUSR1), syslog (tagged with the program's name),
 * syslog+tcp://HOST:PORT (a remote collector, sink_tcp.h).
 * A sink receives whole JSON lines in batches. A failing sink (disk full,
 * closed pipe) counts the error and the records it could not take, and keeps
 * the program running; a file never keeps a partial line.
 */
#ifndef SG_SINKS_H
#define SG_SINKS_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum sink_kind { SINK_STDOUT, SINK_FILE, SINK_SYSLOG, SINK_STDERR, SINK_SYSLOG_TCP };

struct tcp_sink;

struct sink {
	enum sink_kind kind;
	char *path; /* SINK_FILE; SINK_SYSLOG_TCP: the whole spec, its name */
	int fd;
	uint64_t size; /* bytes in the current file */
	uint64_t rotate_size; /* 0: never rotate */
	bool regular; /* a regular file: only those are rotated and cut back */
	const char *why; /* why file_open refused the path (static text), or NULL */
	unsigned int rotate_keep; /* rotated files kept: PATH.1 .. PATH.N */
	uint64_t errors; /* failed writes */
	uint64_t dropped; /* records not written */
	int last_err; /* -errno of the last failure, 0 once writes succeed again */
	/*
	 * stdout/stderr on a pipe or socket, a file sink on a FIFO or character
	 * device: written without blocking (a reader that stops reading must
	 * not stall the daemon), waiting at most
	 * STREAM_WAIT_MS per batch; the rest of a line cut short is kept here and
	 * written first next time, so the reader never sees a partial line.
	 */
	bool stream;
	bool is_socket;
	int pipe_size; /* a pipe's capacity (F_GETPIPE_SZ); 0 for a socket */
	char *tail;
	size_t tail_len;
	struct tcp_sink *tcp; /* SINK_SYSLOG_TCP */
	/* The pipeline's account of dropped records it reported in the stream. */
	uint64_t dropped_reported;
	uint64_t reported_ms;
};

/*
 * Where sinks say what happens to them that the caller does not see in a
 * return value (a remote collector connected, lost, given up on): the
 * program's log. level is a syslog(3) level. Until set, nothing is said.
 */
void sink__set_log(void (*fn)(int level, const char *fmt, va_list ap));
void sink__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Parse "stdout", "stderr", "syslog", "file:PATH" or "syslog+tcp://HOST:PORT".
 * 0, or -EINVAL for anything else.
 */
int sink__parse(const char *spec, struct sink *s);
int sink__open(struct sink *s);
/* Write nrec whole lines. 0 or -errno (counted in errors/dropped). */
int sink__write(struct sink *s, const char *buf, size_t len, unsigned int nrec);
/* The reason an open or write failed: a refusal's own text, else strerror. */
const char *sink__strerror(const struct sink *s, int err);
/* Between batches: a remote sink connects and writes its queue. Never blocks. */
void sink__service(struct sink *s);
/* At exit, after the last write: a remote sink delivers its queue until deadline (mono ms). */
void sink__finish(struct sink *s, uint64_t deadline);
/* Close and reopen a file sink (after logrotate moved it). */
int sink__reopen(struct sink *s);
void sink__close(struct sink *s);
const char *sink__name(const struct sink *s);

#endif
