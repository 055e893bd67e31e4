// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <poll.h>
#include <syslog.h>
#include <time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "sink_tcp.h"
#include "sinks.h"

static void (*log_fn)(int level, const char *fmt, va_list ap);

void sink__set_log(void (*fn)(int level, const char *fmt, va_list ap))
{
	log_fn = fn;
}

void sink__log(int level, const char *fmt, ...)
{
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	log_fn(level, fmt, ap);
	va_end(ap);
}

int sink__parse(const char *spec, struct sink *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (strcmp(spec, "stdout") == 0) {
		s->kind = SINK_STDOUT;
	} else if (strcmp(spec, "stderr") == 0) {
		s->kind = SINK_STDERR;
	} else if (strcmp(spec, "syslog") == 0) {
		s->kind = SINK_SYSLOG;
	} else if (strncmp(spec, TCP_SINK_PREFIX, strlen(TCP_SINK_PREFIX)) == 0) {
		s->kind = SINK_SYSLOG_TCP;
		if (tcp_sink__new(&s->tcp, spec + strlen(TCP_SINK_PREFIX)))
			return -EINVAL;
		s->path = strdup(spec);
		if (!s->path)
			return -ENOMEM;
	} else if (strncmp(spec, "file:", 5) == 0 && spec[5] == '/') {
		s->kind = SINK_FILE;
		s->path = strdup(spec + 5);
		if (!s->path)
			return -ENOMEM;
	} else {
		return -EINVAL;
	}
	return 0;
}

const char *sink__name(const struct sink *s)
{
	switch (s->kind) {
	case SINK_STDOUT:
		return "stdout";
	case SINK_STDERR:
		return "stderr";
	case SINK_SYSLOG:
		return "syslog";
	default:
		return s->path;
	}
}

/*
 * file:PATH is never reached through a symbolic link at PATH (O_NOFOLLOW)
 * and is created with mode 0600. An existing file must belong to root or the
 * daemon's user, whatever its type, so nothing another user planted at PATH
 * (a FIFO to read the events from, a hard link to redirect them) is ever
 * written; a regular file must have one link. Besides regular files, a
 * character device or a FIFO is written (not rotated, not truncated) when
 * it is at PATH itself: that is naming it explicitly. The open never blocks:
 * a FIFO nobody reads is an error (ENXIO), not a hang.
 */
static int file_open(struct sink *s)
{
	struct stat st;
	int err;

	s->why = NULL;
	s->stream = false;
	s->fd = open(s->path,
		     O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		     0600);
	if (s->fd < 0) {
		err = -errno;
		if (err == -ELOOP)
			s->why = "a symbolic link: refused (a file sink never follows one)";
		else if (err == -ENXIO)
			s->why = "a FIFO without a reader";
		return err;
	}
	if (fstat(s->fd, &st)) {
		err = -errno;
		goto refuse;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		err = -EPERM;
		s->why = "owned by another user: refused (only root's or the daemon's own files "
			 "are written)";
		goto refuse;
	}
	if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
		err = -EMLINK;
		s->why = "a regular file with more than one link: refused";
		goto refuse;
	}
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		err = -EINVAL;
		s->why = "neither a regular file, a character device nor a FIFO: refused";
		goto refuse;
	}
	/* A device or FIFO is written, never renamed or truncated. */
	s->regular = S_ISREG(st.st_mode);
	s->size = s->regular ? (uint64_t)st.st_size : 0;
	if (!s->regular) {
		/* Like stdout on a pipe: bounded waits, whole lines (stream_write). */
		s->stream = true;
		if (S_ISFIFO(st.st_mode)) {
			s->pipe_size = fcntl(s->fd, F_GETPIPE_SZ);
			if (s->pipe_size < PIPE_BUF)
				s->pipe_size = PIPE_BUF;
		}
	}
	return 0;
refuse:
	close(s->fd);
	s->fd = -1;
	return err;
}

const char *sink__strerror(const struct sink *s, int err)
{
	return s->why ? s->why : strerror(-err);
}

#define STREAM_WAIT_MS 1000

static unsigned int count_lines(const char *buf, size_t len);

/*
 * stdout (stderr): a pipe gets a file description of our own opened
 * non-blocking (O_NONBLOCK on fd 1 itself would change it for everyone
 * sharing it, the shell's terminal included); a socket is written with
 * MSG_DONTWAIT. Files and terminals are written as they are.
 */
static int stream_open(struct sink *s)
{
	int std = s->kind == SINK_STDERR ? STDERR_FILENO : STDOUT_FILENO;
	char path[32];
	struct stat st;
	int fd;

	s->fd = std;
	if (fstat(std, &st))
		return 0;
	if (S_ISSOCK(st.st_mode)) {
		s->stream = s->is_socket = true;
	} else if (S_ISFIFO(st.st_mode)) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", std);
		fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			s->fd = fd;
			s->stream = true;
			s->pipe_size = fcntl(fd, F_GETPIPE_SZ);
			if (s->pipe_size < PIPE_BUF)
				s->pipe_size = PIPE_BUF;
		}
	}
	return 0;
}

/* Write what the stream takes now; -EAGAIN when it is full, else 0 or -errno. */
static ssize_t stream_write_some(struct sink *s, const char *buf, size_t len)
{
	ssize_t n;

	do {
		n = s->is_socket ? send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL)
				 : write(s->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* The longest run of whole lines at the start of buf[0..len) that fits in max bytes. */
static size_t lines_prefix(const char *buf, size_t len, uint64_t max);

/*
 * How much of buf to write to a pipe in one go so that no line is ever cut:
 * into an empty pipe, whole lines up to its capacity (they all fit); else
 * whole lines up to PIPE_BUF, which the kernel writes whole or not at all. A
 * single line longer than PIPE_BUF goes alone (it may be cut; events are far
 * shorter).
 */
static size_t pipe_chunk(const struct sink *s, const char *buf, size_t len)
{
	int unread = 0;
	size_t n;

	if (ioctl(s->fd, FIONREAD, &unread) || unread < 0)
		unread = 1;
	n = lines_prefix(buf, len, unread ? PIPE_BUF : (uint64_t)s->pipe_size);
	if (!n) {
		const char *nl = memchr(buf, '\n', len);

		n = nl ? (size_t)(nl - buf) + 1 : len;
	}
	return n;
}

/*
 * Wait until fd takes more output or the deadline (sg_clock_mono_ms) passes:
 * 1 when it may (retry the write), 0 when time is up, -errno if poll fails.
 */
static int wait_writable(int fd, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	uint64_t now = sg_clock_mono_ms();

	if (now >= deadline)
		return 0;
	if (poll(&pfd, 1, (int)(deadline - now)) < 0)
		return errno == EINTR ? 1 : -errno;
	return 1;
}

/* Write all of buf before deadline; *done: bytes written. 0, -EAGAIN (time is up) or -errno. */
static int stream_write_until(struct sink *s, const char *buf, size_t len, uint64_t deadline,
			      size_t *done)
{
	*done = 0;
	while (*done < len) {
		size_t want = s->pipe_size ? pipe_chunk(s, buf + *done, len - *done) : len - *done;
		ssize_t n = stream_write_some(s, buf + *done, want);
		int r;

		if (n >= 0) {
			*done += (size_t)n;
			continue;
		}
		if (n != -EAGAIN && n != -EWOULDBLOCK)
			return (int)n;
		r = wait_writable(s->fd, deadline);
		if (r <= 0)
			return r ? r : -EAGAIN;
	}
	return 0;
}

/*
 * A pipe or socket stdout: never blocks for more than STREAM_WAIT_MS per
 * batch. Lines it cannot take in time are dropped (*dropped counts them); a
 * line cut short is finished first the next time.
 */
static int stream_write(struct sink *s, const char *buf, size_t len, uint64_t *dropped)
{
	uint64_t deadline = sg_clock_mono_ms() + STREAM_WAIT_MS;
	size_t done = 0;
	const char *nl;
	int err;

	if (s->tail_len) {
		err = stream_write_until(s, s->tail, s->tail_len, deadline, &done);
		memmove(s->tail, s->tail + done, s->tail_len - done);
		s->tail_len -= done;
		if (err) {
			*dropped += count_lines(buf, len);
			return err;
		}
	}
	err = stream_write_until(s, buf, len, deadline, &done);
	if (!err)
		return 0;
	if (done && buf[done - 1] != '\n') {
		/* Keep the rest of the line cut short, for the next time. */
		nl = memchr(buf + done, '\n', len - done);
		size_t rest = nl ? (size_t)(nl - (buf + done)) + 1 : len - done;
		char *t = realloc(s->tail, rest);

		if (t) {
			memcpy(t, buf + done, rest);
			s->tail = t;
			s->tail_len = rest;
		}
		done += rest;
	}
	*dropped += count_lines(buf + done, len - done);
	return err;
}

#define SYSLOG_PATH "/dev/log"

static int syslog_connect(struct sink *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = SYSLOG_PATH };

	return connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
}

/*
 * One datagram per line to /dev/log (RFC 3164 header, facility daemon,
 * severity info). The kernel queues only a few datagrams for the syslog
 * daemon (net.unix.max_dgram_qlen), so a batch waits for it to read, but at
 * most SYSLOG_WAIT_MS per batch: glibc's syslog() would wait as long as the
 * syslog daemon does not read, stalling the pipeline and SIGTERM with it.
 * What the socket does not take in time is dropped and counted.
 */
#define SYSLOG_WAIT_MS 200

static int syslog_write(struct sink *s, const char *buf, size_t len, uint64_t *dropped)
{
	uint64_t deadline = sg_clock_mono_ms() + SYSLOG_WAIT_MS;
	char hdr[64], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int hlen, err = 0, n;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	hlen = snprintf(hdr, sizeof(hdr), "<%d>%s %.24s[%d]: ", LOG_DAEMON | LOG_INFO, stamp,
			program_invocation_short_name, (int)getpid());
	for (const char *p = buf, *end = buf + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ln = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct iovec iov[2] = { { hdr, (size_t)hlen }, { (void *)p, ln } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

		for (n = 0; n < 2; n++) {
			if (sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
				err = n = 0;
				break;
			}
			err = -errno;
			if (err == -EAGAIN) {
				if (wait_writable(s->fd, deadline) <= 0)
					break; /* time is up: this line is dropped */
				n = -1; /* room again: retry, not counted as the second try */
				continue;
			}
			/* Not connected yet, or the syslog daemon restarted: once more. */
			if (n || (err != -ENOTCONN && err != -ECONNREFUSED && err != -ENOENT) ||
			    syslog_connect(s))
				break;
		}
		if (err)
			(*dropped)++;
		p += ln + 1;
	}
	return *dropped ? (err ? err : -EAGAIN) : 0;
}

int sink__open(struct sink *s)
{
	switch (s->kind) {
	case SINK_STDOUT:
	case SINK_STDERR:
		return stream_open(s);
	case SINK_SYSLOG:
		s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s->fd < 0)
			return -errno;
		syslog_connect(s); /* no syslog daemon yet: retried at every batch */
		return 0;
	case SINK_SYSLOG_TCP:
		return tcp_sink__open(s->tcp);
	default:
		return file_open(s);
	}
}

void sink__close(struct sink *s)
{
	if ((s->kind == SINK_FILE || s->kind == SINK_SYSLOG ||
	     (s->kind == SINK_STDOUT && s->fd != STDOUT_FILENO) ||
	     (s->kind == SINK_STDERR && s->fd != STDERR_FILENO)) &&
	    s->fd >= 0)
		close(s->fd);
	free(s->tail);
	s->tail = NULL;
	s->tail_len = 0;
	tcp_sink__free(s->tcp);
	s->tcp = NULL;
	s->fd = -1;
	free(s->path);
	s->path = NULL;
}

int sink__reopen(struct sink *s)
{
	if (s->kind != SINK_FILE)
		return 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return file_open(s);
}

/* PATH -> PATH.1 -> ... -> PATH.keep; the oldest falls off. */
static int file_rotate(struct sink *s)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->rotate_keep == 0) {
		if (unlink(s->path) && errno != ENOENT)
			return -errno;
		return file_open(s);
	}
	for (unsigned int i = s->rotate_keep; i > 1; i--) {
		snprintf(from, sizeof(from), "%s.%u", s->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", s->path, i);
		if (rename(from, to) && errno != ENOENT)
			return -errno;
	}
	snprintf(to, sizeof(to), "%s.1", s->path);
	if (rename(s->path, to) && errno != ENOENT)
		return -errno;
	return file_open(s);
}

/* *done (may be NULL): bytes written, also when it fails part way. */
static int write_all(int fd, const char *buf, size_t len, size_t *done)
{
	size_t off = 0;
	int err = 0;

	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (done)
		*done = off;
	return err;
}

static unsigned int count_lines(const char *buf, size_t len)
{
	unsigned int n = 0;
	const char *p = buf, *end = buf + len;

	while ((p = memchr(p, '\n', (size_t)(end - p)))) {
		n++;
		p++;
	}
	return n;
}

/* Longest prefix of whole lines no longer than max (0 if the first line is longer). */
static size_t lines_prefix(const char *buf, size_t len, uint64_t max)
{
	size_t lim = len < max ? len : (size_t)max;

	while (lim > 0 && buf[lim - 1] != '\n')
		lim--;
	return lim;
}

/* The file's real size: someone else may have truncated it (copytruncate). */
static void file_resync(struct sink *s)
{
	struct stat st;

	if (s->regular && !fstat(s->fd, &st))
		s->size = (uint64_t)st.st_size;
}

/*
 * After a write that failed part way (disk full): take the partial line,
 * the last `partial` bytes at the real end of the file, back out. Never
 * extends the file: its size is read now, not remembered.
 */
static void file_cut_back(struct sink *s, size_t partial)
{
	struct stat st;

	if (!s->regular || fstat(s->fd, &st))
		return;
	if (partial && (uint64_t)st.st_size >= partial &&
	    ftruncate(s->fd, st.st_size - (off_t)partial) == 0)
		st.st_size -= (off_t)partial;
	s->size = (uint64_t)st.st_size;
}

/* *done: bytes (whole lines) that reached the file. */
static int file_write(struct sink *s, const char *buf, size_t len, size_t *done)
{
	int err;

	*done = 0;

	if (s->fd < 0 && (err = file_open(s)))
		return err;
	file_resync(s);
	while (len) {
		size_t chunk = len, wrote;

		if (s->regular && s->rotate_size && s->size + len > s->rotate_size) {
			chunk = s->size < s->rotate_size
					? lines_prefix(buf, len, s->rotate_size - s->size)
					: 0;
			if (chunk == 0 && s->size == 0) { /* a line over the limit goes alone */
				const char *nl = memchr(buf, '\n', len);

				chunk = nl ? (size_t)(nl - buf) + 1 : len;
			}
			if (chunk == 0) {
				if ((err = file_rotate(s)))
					return err;
				continue;
			}
		}
		err = write_all(s->fd, buf, chunk, &wrote);
		if (err) {
			/* Never leave a partial line: keep the whole lines written. */
			size_t whole = lines_prefix(buf, wrote, wrote);

			file_cut_back(s, wrote - whole);
			*done += whole;
			return err;
		}
		s->size += chunk;
		*done += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

int sink__write(struct sink *s, const char *buf, size_t len, unsigned int nrec)
{
	size_t done = 0;
	int err = 0;

	if (s->kind == SINK_FILE && s->fd < 0 && (err = file_open(s))) {
		s->errors++;
		s->dropped += nrec;
		s->last_err = err;
		return err;
	}
	if (s->stream) {
		uint64_t dropped = 0;

		err = stream_write(s, buf, len, &dropped);
		if (err) {
			s->errors++;
			s->dropped += dropped;
		}
		s->last_err = err;
		return err;
	}
	switch (s->kind) {
	case SINK_STDOUT:
	case SINK_STDERR:
		err = write_all(s->fd, buf, len, NULL);
		break;
	case SINK_SYSLOG:
	case SINK_SYSLOG_TCP: {
		uint64_t dropped = 0;

		err = s->tcp ? tcp_sink__write(s->tcp, buf, len, &dropped)
			     : syslog_write(s, buf, len, &dropped);
		if (err) {
			s->errors++;
			s->dropped += dropped;
			s->last_err = err;
			return err;
		}
		break;
	}
	default:
		err = file_write(s, buf, len, &done);
		break;
	}
	if (err) {
		s->errors++;
		s->dropped += done ? count_lines(buf + done, len - done) : nrec;
	}
	s->last_err = err;
	return err;
}

void sink__service(struct sink *s)
{
	if (s->tcp)
		tcp_sink__service(s->tcp);
}

void sink__finish(struct sink *s, uint64_t deadline)
{
	if (s->tcp)
		s->dropped += tcp_sink__finish(s->tcp, deadline);
}
