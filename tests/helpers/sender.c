// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sender: performs exact sends for the integration tests.
 *
 *   sender [-w] SCENARIO | sender [-w] burst N | sender [-w] stream PORT MS |
 *   sender list
 *
 * With -w the sender (and a forked child) stays alive after printing, until
 * stdin reaches EOF, so the daemon can still resolve /proc/PID/exe and
 * cgroup while it writes the events.
 * Every scenario only talks to loopback, to local unix sockets or to the
 * kernel over netlink. On success it prints one JSON line on stdout that
 * describes what it did, in raw form, so the runner can compute every field
 * the daemon must report:
 *
 *   {"scenario":S,"pid":P,"procs":[{"pid","ppid","uid","gid","comm"}...],
 *    "events":[{"pid","tid","syscall","fd","sock":[family,type,protocol]|null,
 *               "dst":{...}|null,"dst_source":"msg"|"peer"|null,"flags":N,
 *               "len":N,"iovlen":N,"control":null|{"len":N,"cmsgs":[[lvl,type,fds]]},
 *               "ret":N,"errno":N,"index":i,"vlen":n,"note":"..."}...]}
 *
 * dst is already in the event's shape, except that abstract unix names are
 * given as "abstract_hex" (the runner decides how bytes must be escaped).
 * errno is a number (0 on success); "index"/"vlen" are -1 outside sendmmsg.
 * Exit status 0 when every send went as the scenario intends, 1 otherwise
 * (the line is printed anyway, with "problems").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/io_uring.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* A flag bit no kernel defines for send(2); must show as a hex string. */
#define UNKNOWN_FLAG 0x200000

/* A pointer the kernel cannot read: EFAULT. */
#define BAD_PTR ((void *)16)

#define MAX_CMSGS 16

/* One expected event, in raw form. */
struct exp {
	pid_t pid;
	pid_t tid;
	const char *syscall;
	int fd;
	char dst[512]; /* JSON text; "" means null */
	const char *dst_source; /* NULL: null */
	unsigned int flags;
	long long len;
	long long iovlen;
	long long controllen; /* -1: control null */
	int len_unknown; /* "len":null (more than UIO_MAXIOV iovecs) */
	int cmsg_malformed; /* "malformed":true in control */
	int ncmsgs;
	int cmsgs[MAX_CMSGS][3]; /* level, type, fds (-1: not SCM_RIGHTS) */
	long long ret;
	int err;
	int sock_fd; /* the socket (fd, unless fd is -1: io_uring) */
	int any_flags; /* flags not checked (io_uring: MSG_DONTWAIT where the kernel tells) */
	int index; /* -1: not sendmmsg */
	int vlen;
	const char *note;
};

static char out[1 << 20];
static size_t out_len;
static int nevents;
static char problems[8192];
static size_t problems_len;

static void outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void outf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + out_len, sizeof(out) - out_len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(out) - out_len) {
		fprintf(stderr, "sender: output buffer full\n");
		exit(3);
	}
	out_len += (size_t)n;
}

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages are ours: no quotes or backslashes to escape. */
	n = snprintf(problems + problems_len, sizeof(problems) - problems_len, "%s\"%s\"",
		     problems_len ? "," : "", msg);
	if (n > 0 && (size_t)n < sizeof(problems) - problems_len)
		problems_len += (size_t)n;
}

/* -w: after printing, live on until stdin is closed. */
static int wait_stdin;

static void wait_eof(void)
{
	char c[64];

	if (!wait_stdin)
		return;
	while (read(0, c, sizeof(c)) > 0)
		;
}

static void die(const char *what)
{
	fprintf(stderr, "sender: %s: %s\n", what, strerror(errno));
	exit(3);
}

static pid_t my_tid(void)
{
	return gettid();
}

static void sock_json(int fd)
{
	int family, type, proto;
	socklen_t l = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &l) < 0) {
		outf("null");
		return;
	}
	l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
		die("SO_TYPE");
	l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) < 0)
		die("SO_PROTOCOL");
	outf("[%d,%d,%d]", family, type, proto);
}

static void exp_init(struct exp *e, const char *syscall, int fd)
{
	memset(e, 0, sizeof(*e));
	e->pid = getpid();
	e->tid = my_tid();
	e->syscall = syscall;
	e->fd = fd;
	e->sock_fd = fd;
	e->iovlen = 1;
	e->controllen = -1;
	e->index = -1;
	e->vlen = -1;
	e->note = "";
}

static void exp_emit(const struct exp *e)
{
	int i;

	outf("%s{\"pid\":%d,\"tid\":%d,\"syscall\":\"%s\",\"fd\":%d,\"sock\":", nevents ? "," : "",
	     e->pid, e->tid, e->syscall, e->fd);
	sock_json(e->sock_fd);
	outf(",\"dst\":%s,\"dst_source\":", e->dst[0] ? e->dst : "null");
	if (e->dst_source)
		outf("\"%s\"", e->dst_source);
	else
		outf("null");
	if (e->len_unknown)
		outf(",\"flags\":%u,\"len\":null,\"iovlen\":%lld,\"control\":", e->flags,
		     e->iovlen);
	else
		outf(",\"flags\":%u,\"len\":%lld,\"iovlen\":%lld,\"control\":", e->flags, e->len,
		     e->iovlen);
	if (e->controllen < 0) {
		outf("null");
	} else {
		outf("{\"len\":%lld,\"cmsgs\":[", e->controllen);
		for (i = 0; i < e->ncmsgs; i++)
			outf("%s[%d,%d,%d]", i ? "," : "", e->cmsgs[i][0], e->cmsgs[i][1],
			     e->cmsgs[i][2]);
		outf("]%s}", e->cmsg_malformed ? ",\"malformed\":true" : "");
	}
	outf(",\"ret\":%lld,\"errno\":%d,\"index\":%d,\"vlen\":%d,\"note\":\"%s\"%s}", e->ret,
	     e->err, e->index, e->vlen, e->note, e->any_flags ? ",\"any_flags\":true" : "");
	nevents++;
}

/* Record the outcome of the call just made and check it against the intent. */
static void exp_done(struct exp *e, long long ret, int err, long long want_ret, int want_err)
{
	e->ret = ret < 0 ? -1 : ret;
	e->err = ret < 0 ? err : 0;
	if (e->ret != want_ret || e->err != want_err)
		problem("%s: ret %lld errno %d (%s), wanted ret %lld errno %d", e->note, e->ret,
			e->err, strerror(e->err), want_ret, want_err);
	exp_emit(e);
}

/* --- destinations -------------------------------------------------------- */

static void dst_in(struct exp *e, const char *addr, int port)
{
	snprintf(e->dst, sizeof(e->dst), "{\"family\":\"inet\",\"addr\":\"%s\",\"port\":%d}", addr,
		 port);
}

static void dst_in6(struct exp *e, const char *addr, int port, unsigned int scope)
{
	snprintf(e->dst, sizeof(e->dst),
		 "{\"family\":\"inet6\",\"addr\":\"%s\",\"port\":%d,\"scope_id\":%u}", addr, port,
		 scope);
}

static void dst_unix_path(struct exp *e, const char *path)
{
	snprintf(e->dst, sizeof(e->dst), "{\"family\":\"unix\",\"path\":\"%s\"}", path);
}

static void dst_unix_abstract(struct exp *e, const unsigned char *name, size_t n)
{
	size_t i, l;

	l = (size_t)snprintf(e->dst, sizeof(e->dst), "{\"family\":\"unix\",\"abstract_hex\":\"");
	for (i = 0; i < n && l + 8 < sizeof(e->dst); i++)
		l += (size_t)snprintf(e->dst + l, sizeof(e->dst) - l, "%02x", name[i]);
	snprintf(e->dst + l, sizeof(e->dst) - l, "\"}");
}

static void dst_unix_unnamed(struct exp *e)
{
	snprintf(e->dst, sizeof(e->dst), "{\"family\":\"unix\"}");
}

static void dst_netlink(struct exp *e, unsigned int pid, unsigned int groups)
{
	snprintf(e->dst, sizeof(e->dst), "{\"family\":\"netlink\",\"pid\":%u,\"groups\":%u}", pid,
		 groups);
}

/* --- sockets --------------------------------------------------------------- */

static struct sockaddr_in sin4(const char *addr, int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		die("inet_pton");
	return a;
}

static struct sockaddr_in6 sin6(const char *addr, int port, unsigned int scope)
{
	struct sockaddr_in6 a;

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons((uint16_t)port);
	a.sin6_scope_id = scope;
	if (inet_pton(AF_INET6, addr, &a.sin6_addr) != 1)
		die("inet_pton6");
	return a;
}

/* Where scratch files go: $TMPDIR, else /tmp (a test VM keeps /tmp read-only). */
static const char *tmpdir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/tmp";
}

static int xsocket(int family, int type, int proto)
{
	int fd = socket(family, type, proto);

	if (fd < 0)
		die("socket");
	return fd;
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0)
		die("getsockname");
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A bound UDP socket on addr, port chosen by the kernel. */
static int udp_receiver(int family, const char *addr, int *port)
{
	int fd = xsocket(family, SOCK_DGRAM, 0);
	int big = 1 << 20;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (family == AF_INET) {
		struct sockaddr_in a = sin4(addr, 0);

		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			die("bind udp4");
	} else {
		struct sockaddr_in6 a = sin6(addr, 0, 0);

		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			die("bind udp6");
	}
	*port = local_port(fd);
	return fd;
}

/* A connected TCP pair over loopback: *cfd the client, returns the accepted fd. */
static int tcp_pair(int family, int *cfd, int *port)
{
	int lfd = xsocket(family, SOCK_STREAM, 0);
	int one = 1, afd;

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	*cfd = xsocket(family, SOCK_STREAM, 0);
	if (family == AF_INET) {
		struct sockaddr_in a = sin4("127.0.0.1", 0);

		if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4) < 0)
			die("listen4");
		a.sin_port = htons((uint16_t)local_port(lfd));
		if (connect(*cfd, (struct sockaddr *)&a, sizeof(a)) < 0)
			die("connect4");
	} else {
		struct sockaddr_in6 a = sin6("::1", 0, 0);

		if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4) < 0)
			die("listen6");
		a.sin6_port = htons((uint16_t)local_port(lfd));
		if (connect(*cfd, (struct sockaddr *)&a, sizeof(a)) < 0)
			die("connect6");
	}
	*port = local_port(lfd);
	afd = accept(lfd, NULL, NULL);
	if (afd < 0)
		die("accept");
	close(lfd);
	return afd;
}

/* Empty a receiver so unix datagram queues (max_dgram_qlen) never block us. */
static void drain(int fd)
{
	char buf[65536];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

static char payload[1 << 17];

/* --- scenarios ------------------------------------------------------------ */

/* sendto, send (connected), sendmsg, sendmmsg over UDP v4 to 127.0.0.1. */
static void sc_udp4(void)
{
	int rport, rfd = udp_receiver(AF_INET, "127.0.0.1", &rport);
	int fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	int cfd = xsocket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	struct sockaddr_in a = sin4("127.0.0.1", rport);
	struct iovec iov[2] = { { payload, 13 }, { payload, 0 } };
	struct msghdr m = { 0 };
	struct mmsghdr mm[2];
	struct exp e;
	long long r;
	int i;

	exp_init(&e, "sendto", fd);
	e.note = "udp4 sendto";
	e.len = 11;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	r = sendto(fd, payload, 11, 0, (struct sockaddr *)&a, sizeof(a));
	exp_done(&e, r, errno, 11, 0);

	exp_init(&e, "sendto", fd);
	e.note = "udp4 sendto len 0";
	e.len = 0;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	r = sendto(fd, payload, 0, 0, (struct sockaddr *)&a, sizeof(a));
	exp_done(&e, r, errno, 0, 0);

	exp_init(&e, "sendto", fd);
	e.note = "udp4 sendto addrlen sockaddr_storage";
	{
		struct sockaddr_storage ss;

		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, &a, sizeof(a));
		e.len = 12;
		dst_in(&e, "127.0.0.1", rport);
		e.dst_source = "msg";
		r = sendto(fd, payload, 12, 0, (struct sockaddr *)&ss, sizeof(ss));
		exp_done(&e, r, errno, 12, 0);
	}

	exp_init(&e, "sendmsg", fd);
	e.note = "udp4 sendmsg";
	m.msg_name = &a;
	m.msg_namelen = sizeof(a);
	m.msg_iov = iov;
	m.msg_iovlen = 1;
	e.len = 13;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	r = sendmsg(fd, &m, 0);
	exp_done(&e, r, errno, 13, 0);

	memset(mm, 0, sizeof(mm));
	for (i = 0; i < 2; i++) {
		mm[i].msg_hdr.msg_name = &a;
		mm[i].msg_hdr.msg_namelen = sizeof(a);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	iov[1].iov_len = 17;
	r = sendmmsg(fd, mm, 2, 0);
	for (i = 0; i < 2; i++) {
		exp_init(&e, "sendmmsg", fd);
		e.note = i ? "udp4 sendmmsg[1]" : "udp4 sendmmsg[0]";
		e.index = i;
		e.vlen = 2;
		e.len = (long long)iov[i].iov_len;
		dst_in(&e, "127.0.0.1", rport);
		e.dst_source = "msg";
		exp_done(&e, r == 2 ? (long long)mm[i].msg_len : -1, errno, e.len, 0);
	}

	/* Connected UDP: no address, the peer is the destination. */
	if (connect(cfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect udp4");
	exp_init(&e, "sendto", cfd);
	e.note = "udp4 connected send";
	e.len = 21;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "peer";
	r = send(cfd, payload, 21, 0);
	exp_done(&e, r, errno, 21, 0);

	exp_init(&e, "sendmsg", cfd);
	e.note = "udp4 connected sendmsg";
	memset(&m, 0, sizeof(m));
	iov[0].iov_len = 22;
	m.msg_iov = iov;
	m.msg_iovlen = 1;
	e.len = 22;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "peer";
	r = sendmsg(cfd, &m, 0);
	exp_done(&e, r, errno, 22, 0);

	close(fd);
	close(cfd);
	close(rfd);
}

/* UDP v6 to ::1: sendto, scope id, sendmsg, connected send, sendmmsg. */
static void sc_udp6(void)
{
	int rport, rfd = udp_receiver(AF_INET6, "::1", &rport);
	int fd = xsocket(AF_INET6, SOCK_DGRAM, 0);
	int cfd = xsocket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 a = sin6("::1", rport, 0);
	unsigned int lo = if_nametoindex("lo");
	struct sockaddr_in6 as = sin6("::1", rport, lo);
	struct iovec iov[2] = { { payload, 31 }, { payload, 32 } };
	struct msghdr m = { 0 };
	struct mmsghdr mm[2];
	struct exp e;
	long long r;
	int i;

	exp_init(&e, "sendto", fd);
	e.note = "udp6 sendto";
	e.len = 30;
	dst_in6(&e, "::1", rport, 0);
	e.dst_source = "msg";
	r = sendto(fd, payload, 30, 0, (struct sockaddr *)&a, sizeof(a));
	exp_done(&e, r, errno, 30, 0);

	exp_init(&e, "sendto", fd);
	e.note = "udp6 sendto scope_id lo";
	e.len = 33;
	dst_in6(&e, "::1", rport, lo);
	e.dst_source = "msg";
	r = sendto(fd, payload, 33, 0, (struct sockaddr *)&as, sizeof(as));
	exp_done(&e, r, errno, 33, 0);

	exp_init(&e, "sendmsg", fd);
	e.note = "udp6 sendmsg";
	m.msg_name = &a;
	m.msg_namelen = sizeof(a);
	m.msg_iov = iov;
	m.msg_iovlen = 1;
	e.len = 31;
	dst_in6(&e, "::1", rport, 0);
	e.dst_source = "msg";
	r = sendmsg(fd, &m, 0);
	exp_done(&e, r, errno, 31, 0);

	memset(mm, 0, sizeof(mm));
	for (i = 0; i < 2; i++) {
		mm[i].msg_hdr.msg_name = &a;
		mm[i].msg_hdr.msg_namelen = sizeof(a);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	r = sendmmsg(fd, mm, 2, 0);
	for (i = 0; i < 2; i++) {
		exp_init(&e, "sendmmsg", fd);
		e.note = i ? "udp6 sendmmsg[1]" : "udp6 sendmmsg[0]";
		e.index = i;
		e.vlen = 2;
		e.len = (long long)iov[i].iov_len;
		dst_in6(&e, "::1", rport, 0);
		e.dst_source = "msg";
		exp_done(&e, r == 2 ? (long long)mm[i].msg_len : -1, errno, e.len, 0);
	}

	if (connect(cfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect udp6");
	exp_init(&e, "sendto", cfd);
	e.note = "udp6 connected send";
	e.len = 34;
	dst_in6(&e, "::1", rport, 0);
	e.dst_source = "peer";
	r = send(cfd, payload, 34, 0);
	exp_done(&e, r, errno, 34, 0);

	close(fd);
	close(cfd);
	close(rfd);
}

/* v4-mapped destinations on an AF_INET6 socket, by message and as the peer. */
static void sc_mapped(void)
{
	int rport, rfd = udp_receiver(AF_INET, "127.0.0.1", &rport);
	int fd = xsocket(AF_INET6, SOCK_DGRAM, 0);
	int cfd = xsocket(AF_INET6, SOCK_DGRAM, 0);
	int off = 0;
	struct sockaddr_in6 a = sin6("::ffff:127.0.0.1", rport, 0);
	struct iovec iov = { payload, 41 };
	struct msghdr m = { 0 };
	struct exp e;
	long long r;

	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(cfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));

	exp_init(&e, "sendto", fd);
	e.note = "mapped sendto";
	e.len = 40;
	dst_in6(&e, "::ffff:127.0.0.1", rport, 0);
	e.dst_source = "msg";
	r = sendto(fd, payload, 40, 0, (struct sockaddr *)&a, sizeof(a));
	exp_done(&e, r, errno, 40, 0);

	exp_init(&e, "sendmsg", fd);
	e.note = "mapped sendmsg";
	m.msg_name = &a;
	m.msg_namelen = sizeof(a);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	e.len = 41;
	dst_in6(&e, "::ffff:127.0.0.1", rport, 0);
	e.dst_source = "msg";
	r = sendmsg(fd, &m, 0);
	exp_done(&e, r, errno, 41, 0);

	if (connect(cfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect mapped");
	exp_init(&e, "sendto", cfd);
	e.note = "mapped connected send";
	e.len = 42;
	dst_in6(&e, "::ffff:127.0.0.1", rport, 0);
	e.dst_source = "peer";
	r = send(cfd, payload, 42, 0);
	exp_done(&e, r, errno, 42, 0);

	close(fd);
	close(cfd);
	close(rfd);
}

/* Unix datagram to a path: address length with and without the NUL. */
static void sc_unix_path(void)
{
	struct sockaddr_un a;
	char path[108];
	int rfd = xsocket(AF_UNIX, SOCK_DGRAM, 0);
	int fd = xsocket(AF_UNIX, SOCK_DGRAM, 0);
	struct iovec iov = { payload, 51 };
	struct msghdr m = { 0 };
	socklen_t full, exact;
	struct exp e;
	long long r;

	snprintf(path, sizeof(path), "%s/sg-test-%d.sock", tmpdir(), getpid());
	unlink(path);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	strcpy(a.sun_path, path);
	full = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	exact = full - 1;
	if (bind(rfd, (struct sockaddr *)&a, full) < 0)
		die("bind unix");

	exp_init(&e, "sendto", fd);
	e.note = "unix path sendto (addrlen with NUL)";
	e.len = 50;
	dst_unix_path(&e, path);
	e.dst_source = "msg";
	r = sendto(fd, payload, 50, 0, (struct sockaddr *)&a, full);
	exp_done(&e, r, errno, 50, 0);
	drain(rfd);

	exp_init(&e, "sendto", fd);
	e.note = "unix path sendto (addrlen without NUL)";
	e.len = 52;
	dst_unix_path(&e, path);
	e.dst_source = "msg";
	r = sendto(fd, payload, 52, 0, (struct sockaddr *)&a, exact);
	exp_done(&e, r, errno, 52, 0);
	drain(rfd);

	exp_init(&e, "sendto", fd);
	e.note = "unix path sendto (addrlen sizeof sockaddr_un)";
	e.len = 53;
	dst_unix_path(&e, path);
	e.dst_source = "msg";
	r = sendto(fd, payload, 53, 0, (struct sockaddr *)&a, sizeof(a));
	exp_done(&e, r, errno, 53, 0);
	drain(rfd);

	exp_init(&e, "sendmsg", fd);
	e.note = "unix path sendmsg";
	m.msg_name = &a;
	m.msg_namelen = full;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	e.len = 51;
	dst_unix_path(&e, path);
	e.dst_source = "msg";
	r = sendmsg(fd, &m, 0);
	exp_done(&e, r, errno, 51, 0);
	drain(rfd);

	/* Connected to a path: the peer's bound name. */
	if (connect(fd, (struct sockaddr *)&a, full) < 0)
		die("connect unix");
	exp_init(&e, "sendto", fd);
	e.note = "unix path connected send";
	e.len = 54;
	dst_unix_path(&e, path);
	e.dst_source = "peer";
	r = send(fd, payload, 54, 0);
	exp_done(&e, r, errno, 54, 0);
	drain(rfd);

	/* A path that fills sun_path (108 bytes, no NUL): addrlen 110. */
	{
		struct sockaddr_un l;
		char lpath[sizeof(l.sun_path) + 1];
		int lr = xsocket(AF_UNIX, SOCK_DGRAM, 0);
		int lfd = xsocket(AF_UNIX, SOCK_DGRAM, 0);
		int n = snprintf(lpath, sizeof(lpath), "%s/sg-test-%d-", tmpdir(), getpid());

		memset(lpath + n, 'L', sizeof(l.sun_path) - (size_t)n);
		lpath[sizeof(l.sun_path)] = 0;
		unlink(lpath);
		memset(&l, 0, sizeof(l));
		l.sun_family = AF_UNIX;
		memcpy(l.sun_path, lpath, sizeof(l.sun_path));
		if (bind(lr, (struct sockaddr *)&l, sizeof(l)) < 0)
			die("bind long unix path");
		exp_init(&e, "sendto", lfd);
		e.note = "unix path of 108 bytes without NUL";
		e.len = 55;
		dst_unix_path(&e, lpath);
		e.dst_source = "msg";
		r = sendto(lfd, payload, 55, 0, (struct sockaddr *)&l, sizeof(l));
		exp_done(&e, r, errno, 55, 0);
		drain(lr);
		close(lfd);
		close(lr);
		unlink(lpath);
	}

	close(fd);
	close(rfd);
	unlink(path);
}

/* Abstract unix name with a byte that is not valid UTF-8. */
static void sc_unix_abstract(void)
{
	struct sockaddr_un a;
	unsigned char name[64];
	size_t n;
	int rfd = xsocket(AF_UNIX, SOCK_DGRAM, 0);
	int fd = xsocket(AF_UNIX, SOCK_DGRAM, 0);
	socklen_t alen;
	struct exp e;
	long long r;

	n = (size_t)snprintf((char *)name, sizeof(name), "sg-test-\xff\"\\-%d", getpid());
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path + 1, name, n);
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	if (bind(rfd, (struct sockaddr *)&a, alen) < 0)
		die("bind abstract");

	exp_init(&e, "sendto", fd);
	e.note = "unix abstract sendto";
	e.len = 60;
	dst_unix_abstract(&e, name, n);
	e.dst_source = "msg";
	r = sendto(fd, payload, 60, 0, (struct sockaddr *)&a, alen);
	exp_done(&e, r, errno, 60, 0);
	drain(rfd);

	if (connect(fd, (struct sockaddr *)&a, alen) < 0)
		die("connect abstract");
	exp_init(&e, "sendto", fd);
	e.note = "unix abstract connected send";
	e.len = 61;
	dst_unix_abstract(&e, name, n);
	e.dst_source = "peer";
	r = send(fd, payload, 61, 0);
	exp_done(&e, r, errno, 61, 0);
	drain(rfd);

	/* An abstract name with NUL bytes inside: all addrlen bytes count. */
	{
		static const unsigned char nul_name[] = { 's', 'g', 0, 'n', 'u', 'l', 0, 'x' };
		int r2 = xsocket(AF_UNIX, SOCK_DGRAM, 0);
		char tail[16];
		size_t tn = (size_t)snprintf(tail, sizeof(tail), "%d", getpid());

		memset(&a, 0, sizeof(a));
		a.sun_family = AF_UNIX;
		memcpy(a.sun_path + 1, nul_name, sizeof(nul_name));
		memcpy(a.sun_path + 1 + sizeof(nul_name), tail, tn);
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + sizeof(nul_name) +
				   tn);
		if (bind(r2, (struct sockaddr *)&a, alen) < 0)
			die("bind abstract nul");
		exp_init(&e, "sendto", fd);
		e.note = "unix abstract with NUL bytes inside, sendto";
		e.len = 62;
		dst_unix_abstract(&e, (const unsigned char *)a.sun_path + 1, alen - 3);
		e.dst_source = "msg";
		r = sendto(fd, payload, 62, 0, (struct sockaddr *)&a, alen);
		exp_done(&e, r, errno, 62, 0);
		drain(r2);
		close(r2);
	}

	close(fd);
	close(rfd);
}

/* socketpair: the peer has no name. */
static void sc_unix_unnamed(void)
{
	int sv[2], ss[2];
	struct iovec iov = { payload, 71 };
	struct msghdr m = { 0 };
	struct exp e;
	long long r;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, ss) < 0)
		die("socketpair");

	exp_init(&e, "sendto", sv[0]);
	e.note = "socketpair dgram send";
	e.len = 70;
	dst_unix_unnamed(&e);
	e.dst_source = "peer";
	r = send(sv[0], payload, 70, 0);
	exp_done(&e, r, errno, 70, 0);

	exp_init(&e, "sendmsg", sv[0]);
	e.note = "socketpair dgram sendmsg";
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	e.len = 71;
	dst_unix_unnamed(&e);
	e.dst_source = "peer";
	r = sendmsg(sv[0], &m, 0);
	exp_done(&e, r, errno, 71, 0);

	exp_init(&e, "sendto", ss[1]);
	e.note = "socketpair stream send";
	e.len = 72;
	dst_unix_unnamed(&e);
	e.dst_source = "peer";
	r = send(ss[1], payload, 72, 0);
	exp_done(&e, r, errno, 72, 0);

	/*
	 * A seqpacket socket ignores msg_name: the datagram goes to its peer, which is
	 * the destination whatever the (forged) address says.
	 */
	{
		struct sockaddr_un f = { .sun_family = AF_UNIX };
		int sq[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq) < 0)
			die("socketpair seqpacket");
		strcpy(f.sun_path, "/nonexistent/forged.sock");
		exp_init(&e, "sendto", sq[0]);
		e.note = "socketpair seqpacket sendto, forged address";
		e.len = 73;
		dst_unix_unnamed(&e);
		e.dst_source = "peer";
		r = sendto(sq[0], payload, 73, 0, (struct sockaddr *)&f, sizeof(f));
		exp_done(&e, r, errno, 73, 0);
		close(sq[0]);
		close(sq[1]);
	}

	close(sv[0]);
	close(sv[1]);
	close(ss[0]);
	close(ss[1]);
}

/* NETLINK_ROUTE to the kernel: a harmless RTM_GETLINK for lo. */
static void sc_netlink(void)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req;
	struct sockaddr_nl k;
	int fd = xsocket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct iovec iov = { &req, sizeof(req) };
	struct msghdr m = { 0 };
	struct exp e;
	long long r;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)if_nametoindex("lo");
	memset(&k, 0, sizeof(k));
	k.nl_family = AF_NETLINK;

	exp_init(&e, "sendto", fd);
	e.note = "netlink sendto kernel";
	e.len = sizeof(req);
	dst_netlink(&e, 0, 0);
	e.dst_source = "msg";
	r = sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&k, sizeof(k));
	exp_done(&e, r, errno, sizeof(req), 0);
	drain(fd);

	exp_init(&e, "sendmsg", fd);
	e.note = "netlink sendmsg kernel";
	req.nh.nlmsg_seq = 2;
	m.msg_name = &k;
	m.msg_namelen = sizeof(k);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	e.len = sizeof(req);
	dst_netlink(&e, 0, 0);
	e.dst_source = "msg";
	r = sendmsg(fd, &m, 0);
	exp_done(&e, r, errno, sizeof(req), 0);
	drain(fd);

	close(fd);
}

/* Connected TCP (v4 and v6): send, sendmsg, and the flags of a stream. */
static void sc_tcp(void)
{
	int port4, port6, c4, c6;
	int a4 = tcp_pair(AF_INET, &c4, &port4);
	int a6 = tcp_pair(AF_INET6, &c6, &port6);
	struct iovec iov = { payload, 101 };
	struct msghdr m = { 0 };
	struct exp e;
	long long r;

	exp_init(&e, "sendto", c4);
	e.note = "tcp4 send";
	e.len = 100;
	dst_in(&e, "127.0.0.1", port4);
	e.dst_source = "peer";
	r = send(c4, payload, 100, 0);
	exp_done(&e, r, errno, 100, 0);

	exp_init(&e, "sendmsg", c4);
	e.note = "tcp4 sendmsg";
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	e.len = 101;
	dst_in(&e, "127.0.0.1", port4);
	e.dst_source = "peer";
	r = sendmsg(c4, &m, 0);
	exp_done(&e, r, errno, 101, 0);

	exp_init(&e, "sendto", c4);
	e.note = "tcp4 MSG_OOB";
	e.flags = MSG_OOB;
	e.len = 1;
	dst_in(&e, "127.0.0.1", port4);
	e.dst_source = "peer";
	r = send(c4, payload, 1, MSG_OOB);
	exp_done(&e, r, errno, 1, 0);

	exp_init(&e, "sendto", c4);
	e.note = "tcp4 MSG_MORE";
	e.flags = MSG_MORE;
	e.len = 10;
	dst_in(&e, "127.0.0.1", port4);
	e.dst_source = "peer";
	r = send(c4, payload, 10, MSG_MORE);
	exp_done(&e, r, errno, 10, 0);

	exp_init(&e, "sendto", c4);
	e.note = "tcp4 MSG_DONTWAIT|MSG_NOSIGNAL|MSG_EOR";
	e.flags = MSG_DONTWAIT | MSG_NOSIGNAL | MSG_EOR;
	e.len = 11;
	dst_in(&e, "127.0.0.1", port4);
	e.dst_source = "peer";
	r = send(c4, payload, 11, MSG_DONTWAIT | MSG_NOSIGNAL | MSG_EOR);
	exp_done(&e, r, errno, 11, 0);

	/*
	 * A forged destination on a connected TCP socket: the kernel ignores it and
	 * sends to the peer, so the event's destination (and what is judged) is the peer.
	 */
	{
		struct sockaddr_in f = { .sin_family = AF_INET, .sin_port = htons(9) };
		struct iovec fiov = { payload, 13 };
		struct msghdr fm = { 0 };

		f.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		exp_init(&e, "sendto", c4);
		e.note = "tcp4 sendto, forged address";
		e.len = 12;
		dst_in(&e, "127.0.0.1", port4);
		e.dst_source = "peer";
		r = sendto(c4, payload, 12, 0, (struct sockaddr *)&f, sizeof(f));
		exp_done(&e, r, errno, 12, 0);

		exp_init(&e, "sendmsg", c4);
		e.note = "tcp4 sendmsg, forged msg_name";
		fm.msg_name = &f;
		fm.msg_namelen = sizeof(f);
		fm.msg_iov = &fiov;
		fm.msg_iovlen = 1;
		e.len = 13;
		dst_in(&e, "127.0.0.1", port4);
		e.dst_source = "peer";
		r = sendmsg(c4, &fm, 0);
		exp_done(&e, r, errno, 13, 0);
	}

	/* The accepted side: its peer is the client's ephemeral port. */
	exp_init(&e, "sendto", a4);
	e.note = "tcp4 accepted send";
	e.len = 102;
	dst_in(&e, "127.0.0.1", local_port(c4));
	e.dst_source = "peer";
	r = send(a4, payload, 102, 0);
	exp_done(&e, r, errno, 102, 0);

	exp_init(&e, "sendto", c6);
	e.note = "tcp6 send";
	e.len = 103;
	dst_in6(&e, "::1", port6, 0);
	e.dst_source = "peer";
	r = send(c6, payload, 103, 0);
	exp_done(&e, r, errno, 103, 0);

	close(c4);
	close(a4);
	close(c6);
	close(a6);
}

/* Three iovecs of 10+20+30 bytes, over UDP and over a unix stream. */
static void sc_iov(void)
{
	int rport, rfd = udp_receiver(AF_INET, "127.0.0.1", &rport);
	int fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", rport);
	struct iovec iov[3] = { { payload, 10 }, { payload + 10, 20 }, { payload + 30, 30 } };
	struct iovec many[20];
	struct msghdr m = { 0 };
	struct exp e;
	long long r;
	int i;

	exp_init(&e, "sendmsg", fd);
	e.note = "udp4 sendmsg 3 iovecs";
	m.msg_name = &a;
	m.msg_namelen = sizeof(a);
	m.msg_iov = iov;
	m.msg_iovlen = 3;
	e.len = 60;
	e.iovlen = 3;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	r = sendmsg(fd, &m, 0);
	exp_done(&e, r, errno, 60, 0);

	/* 20 iovecs of 1..20 bytes: 210 bytes, some of length 0 in between. */
	for (i = 0; i < 20; i++) {
		many[i].iov_base = payload + i * 100;
		many[i].iov_len = (i % 5 == 4) ? 0 : (size_t)i + 1;
	}
	exp_init(&e, "sendmsg", fd);
	e.note = "udp4 sendmsg 20 iovecs";
	m.msg_iov = many;
	m.msg_iovlen = 20;
	e.len = 0;
	for (i = 0; i < 20; i++)
		e.len += (long long)many[i].iov_len;
	e.iovlen = 20;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	r = sendmsg(fd, &m, 0);
	exp_done(&e, r, errno, e.len, 0);

	/* UIO_MAXIOV (1024) iovecs of 1..3 bytes: every one counts in len. */
	{
		static struct iovec max[1024];

		for (i = 0; i < 1024; i++) {
			max[i].iov_base = payload + i;
			max[i].iov_len = (size_t)(i % 3) + 1;
		}
		exp_init(&e, "sendmsg", fd);
		e.note = "udp4 sendmsg 1024 iovecs";
		m.msg_iov = max;
		m.msg_iovlen = 1024;
		e.len = 0;
		for (i = 0; i < 1024; i++)
			e.len += (long long)max[i].iov_len;
		e.iovlen = 1024;
		dst_in(&e, "127.0.0.1", rport);
		e.dst_source = "msg";
		r = sendmsg(fd, &m, 0);
		exp_done(&e, r, errno, e.len, 0);
	}

	close(fd);
	close(rfd);
}

/* SCM_RIGHTS with 3 fds plus SCM_CREDENTIALS in one control buffer. */
static void sc_scm(void)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct ucred cred = { getpid(), getuid(), getgid() };
	int sv[2], fds[3], one = 1;
	struct iovec iov = { payload, 80 };
	struct msghdr m = { 0 };
	struct cmsghdr *c;
	struct exp e;
	long long r;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	fds[0] = 0;
	fds[1] = 1;
	fds[2] = 2;
	memset(&u, 0, sizeof(u));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(3 * sizeof(int));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	c = CMSG_NXTHDR(&m, c);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof(cred));
	memcpy(CMSG_DATA(c), &cred, sizeof(cred));

	exp_init(&e, "sendmsg", sv[0]);
	e.note = "unix SCM_RIGHTS(3)+SCM_CREDENTIALS";
	e.len = 80;
	dst_unix_unnamed(&e);
	e.dst_source = "peer";
	e.controllen = (long long)sizeof(u.buf);
	e.ncmsgs = 2;
	e.cmsgs[0][0] = SOL_SOCKET;
	e.cmsgs[0][1] = SCM_RIGHTS;
	e.cmsgs[0][2] = 3;
	e.cmsgs[1][0] = SOL_SOCKET;
	e.cmsgs[1][1] = SCM_CREDENTIALS;
	e.cmsgs[1][2] = -1;
	r = sendmsg(sv[0], &m, 0);
	exp_done(&e, r, errno, 80, 0);

	/* One fd only, control buffer exactly CMSG_SPACE(sizeof(int)). */
	m.msg_controllen = CMSG_SPACE(sizeof(int));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), fds, sizeof(int));
	exp_init(&e, "sendmsg", sv[0]);
	e.note = "unix SCM_RIGHTS(1)";
	e.len = 80;
	dst_unix_unnamed(&e);
	e.dst_source = "peer";
	e.controllen = (long long)CMSG_SPACE(sizeof(int));
	e.ncmsgs = 1;
	e.cmsgs[0][0] = SOL_SOCKET;
	e.cmsgs[0][1] = SCM_RIGHTS;
	e.cmsgs[0][2] = 1;
	r = sendmsg(sv[0], &m, 0);
	exp_done(&e, r, errno, 80, 0);

	close(sv[0]);
	close(sv[1]);
}

/* IP_PKTINFO, IP_TOS, IP_TTL, UDP_SEGMENT on UDP v4, IPV6_PKTINFO on v6, 9 cmsgs. */
static void sc_cmsg_ip(void)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo)) + 2 * CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} u6;
	int rport, rfd = udp_receiver(AF_INET, "127.0.0.1", &rport);
	int r6port, r6fd = udp_receiver(AF_INET6, "::1", &r6port);
	int fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	int fd6 = xsocket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", rport);
	struct sockaddr_in6 a6 = sin6("::1", r6port, 0);
	struct in_pktinfo pi;
	struct in6_pktinfo pi6;
	int tos = 0x10, ttl = 9;
	struct iovec iov = { payload, 90 };
	struct msghdr m = { 0 };
	struct cmsghdr *c;
	struct exp e;
	long long r;

	memset(&u, 0, sizeof(u));
	memset(&pi, 0, sizeof(pi));
	inet_pton(AF_INET, "127.0.0.1", &pi.ipi_spec_dst);
	m.msg_name = &a;
	m.msg_namelen = sizeof(a);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = CMSG_SPACE(sizeof(pi));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));

	exp_init(&e, "sendmsg", fd);
	e.note = "udp4 IP_PKTINFO";
	e.len = 90;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	e.controllen = (long long)CMSG_SPACE(sizeof(pi));
	e.ncmsgs = 1;
	e.cmsgs[0][0] = IPPROTO_IP;
	e.cmsgs[0][1] = IP_PKTINFO;
	e.cmsgs[0][2] = -1;
	r = sendmsg(fd, &m, 0);
	exp_done(&e, r, errno, 90, 0);

	/* PKTINFO + TOS + TTL: three cmsgs. */
	m.msg_controllen = sizeof(u.buf);
	c = CMSG_NXTHDR(&m, c);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_TOS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &tos, sizeof(int));
	c = CMSG_NXTHDR(&m, c);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_TTL;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &ttl, sizeof(int));

	exp_init(&e, "sendmsg", fd);
	e.note = "udp4 IP_PKTINFO+IP_TOS+IP_TTL";
	e.len = 90;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	e.controllen = (long long)sizeof(u.buf);
	e.ncmsgs = 3;
	e.cmsgs[0][0] = IPPROTO_IP;
	e.cmsgs[0][1] = IP_PKTINFO;
	e.cmsgs[0][2] = -1;
	e.cmsgs[1][0] = IPPROTO_IP;
	e.cmsgs[1][1] = IP_TOS;
	e.cmsgs[1][2] = -1;
	e.cmsgs[2][0] = IPPROTO_IP;
	e.cmsgs[2][1] = IP_TTL;
	e.cmsgs[2][2] = -1;
	r = sendmsg(fd, &m, 0);
	exp_done(&e, r, errno, 90, 0);

	memset(&u6, 0, sizeof(u6));
	memset(&pi6, 0, sizeof(pi6));
	inet_pton(AF_INET6, "::1", &pi6.ipi6_addr);
	memset(&m, 0, sizeof(m));
	m.msg_name = &a6;
	m.msg_namelen = sizeof(a6);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u6.buf;
	m.msg_controllen = sizeof(u6.buf);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi6));
	memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));

	exp_init(&e, "sendmsg", fd6);
	e.note = "udp6 IPV6_PKTINFO";
	e.len = 90;
	dst_in6(&e, "::1", r6port, 0);
	e.dst_source = "msg";
	e.controllen = (long long)sizeof(u6.buf);
	e.ncmsgs = 1;
	e.cmsgs[0][0] = IPPROTO_IPV6;
	e.cmsgs[0][1] = IPV6_PKTINFO;
	e.cmsgs[0][2] = -1;
	r = sendmsg(fd6, &m, 0);
	exp_done(&e, r, errno, 90, 0);

	/* Nine IP_TTL cmsgs: one more than an event lists ("truncated"). */
	{
		union {
			char buf[9 * CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u9;
		int i;

		memset(&u9, 0, sizeof(u9));
		memset(&m, 0, sizeof(m));
		m.msg_name = &a;
		m.msg_namelen = sizeof(a);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u9.buf;
		m.msg_controllen = sizeof(u9.buf);
		exp_init(&e, "sendmsg", fd);
		e.note = "udp4 9 x IP_TTL";
		e.len = 90;
		dst_in(&e, "127.0.0.1", rport);
		e.dst_source = "msg";
		e.controllen = (long long)sizeof(u9.buf);
		e.ncmsgs = 9;
		for (c = CMSG_FIRSTHDR(&m), i = 0; c && i < 9; c = CMSG_NXTHDR(&m, c), i++) {
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_TTL;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &ttl, sizeof(int));
			e.cmsgs[i][0] = IPPROTO_IP;
			e.cmsgs[i][1] = IP_TTL;
			e.cmsgs[i][2] = -1;
		}
		r = sendmsg(fd, &m, 0);
		exp_done(&e, r, errno, 90, 0);
	}

	/* UDP_SEGMENT (GSO): 30 bytes in segments of 10. */
	{
		union {
			char buf[CMSG_SPACE(sizeof(uint16_t))];
			struct cmsghdr align;
		} ug;
		uint16_t gso = 10;

		memset(&ug, 0, sizeof(ug));
		memset(&m, 0, sizeof(m));
		iov.iov_len = 30;
		m.msg_name = &a;
		m.msg_namelen = sizeof(a);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = ug.buf;
		m.msg_controllen = sizeof(ug.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(gso));
		memcpy(CMSG_DATA(c), &gso, sizeof(gso));
		exp_init(&e, "sendmsg", fd);
		e.note = "udp4 UDP_SEGMENT";
		e.len = 30;
		dst_in(&e, "127.0.0.1", rport);
		e.dst_source = "msg";
		e.controllen = (long long)sizeof(ug.buf);
		e.ncmsgs = 1;
		e.cmsgs[0][0] = SOL_UDP;
		e.cmsgs[0][1] = UDP_SEGMENT;
		e.cmsgs[0][2] = -1;
		r = sendmsg(fd, &m, 0);
		exp_done(&e, r, errno, 30, 0);
	}

	close(fd);
	close(fd6);
	close(rfd);
	close(r6fd);
}

/* UDP flags: MSG_DONTWAIT|MSG_NOSIGNAL, MSG_CONFIRM, an unknown bit. */
static void sc_flags(void)
{
	int rport, rfd = udp_receiver(AF_INET, "127.0.0.1", &rport);
	int fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", rport);
	static const unsigned int fl[] = { MSG_DONTWAIT | MSG_NOSIGNAL, MSG_CONFIRM,
					   MSG_DONTWAIT | UNKNOWN_FLAG };
	static const char *const notes[] = { "udp4 MSG_DONTWAIT|MSG_NOSIGNAL", "udp4 MSG_CONFIRM",
					     "udp4 MSG_DONTWAIT|unknown 0x200000" };
	struct exp e;
	long long r;
	size_t i;

	for (i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
		exp_init(&e, "sendto", fd);
		e.note = notes[i];
		e.flags = fl[i];
		e.len = 20 + (long long)i;
		dst_in(&e, "127.0.0.1", rport);
		e.dst_source = "msg";
		r = sendto(fd, payload, (size_t)e.len, (int)fl[i], (struct sockaddr *)&a,
			   sizeof(a));
		exp_done(&e, r, errno, e.len, 0);
	}

	close(fd);
	close(rfd);
}

/* Sends that fail: EFAULT, ENOTSOCK, EOPNOTSUPP, EBADF, EDESTADDRREQ, EMSGSIZE. */
static void sc_errors(void)
{
	int rport, rfd = udp_receiver(AF_INET, "127.0.0.1", &rport);
	int fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	int cfd = xsocket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", rport);
	struct iovec iov = { BAD_PTR, 15 };
	struct msghdr m = { 0 };
	int p[2];
	struct exp e;
	long long r;

	if (pipe(p) < 0)
		die("pipe");
	if (connect(cfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");

	exp_init(&e, "sendto", fd);
	e.note = "udp4 sendto bad buffer (EFAULT)";
	e.len = 10;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	r = sendto(fd, BAD_PTR, 10, 0, (struct sockaddr *)&a, sizeof(a));
	exp_done(&e, r, errno, -1, EFAULT);

	exp_init(&e, "sendmsg", fd);
	e.note = "udp4 sendmsg bad iov_base (EFAULT)";
	m.msg_name = &a;
	m.msg_namelen = sizeof(a);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	e.len = 15;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	r = sendmsg(fd, &m, 0);
	exp_done(&e, r, errno, -1, EFAULT);

	/* An address nobody can read: the event has no destination, not AF_UNSPEC. */
	exp_init(&e, "sendto", fd);
	e.note = "udp4 sendto unreadable dest_addr (EFAULT)";
	e.len = 9;
	e.dst_source = "msg";
	r = sendto(fd, payload, 9, 0, (struct sockaddr *)BAD_PTR, sizeof(a));
	exp_done(&e, r, errno, -1, EFAULT);

	exp_init(&e, "sendto", p[1]);
	e.note = "send on a pipe (ENOTSOCK)";
	e.len = 5;
	r = send(p[1], payload, 5, 0);
	exp_done(&e, r, errno, -1, ENOTSOCK);

	exp_init(&e, "sendto", p[1]);
	e.note = "sendto with address on a pipe (ENOTSOCK)";
	e.len = 6;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	r = sendto(p[1], payload, 6, 0, (struct sockaddr *)&a, sizeof(a));
	exp_done(&e, r, errno, -1, ENOTSOCK);

	exp_init(&e, "sendto", 987);
	e.note = "send on a closed fd (EBADF)";
	e.len = 7;
	r = send(987, payload, 7, 0);
	exp_done(&e, r, errno, -1, EBADF);

	exp_init(&e, "sendto", cfd);
	e.note = "udp4 MSG_OOB (EOPNOTSUPP)";
	e.flags = MSG_OOB;
	e.len = 8;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "peer";
	r = send(cfd, payload, 8, MSG_OOB);
	exp_done(&e, r, errno, -1, EOPNOTSUPP);

	exp_init(&e, "sendto", fd);
	e.note = "unconnected udp4 send (EDESTADDRREQ)";
	e.len = 9;
	r = send(fd, payload, 9, 0);
	exp_done(&e, r, errno, -1, EDESTADDRREQ);

	exp_init(&e, "sendto", fd);
	e.note = "udp4 sendto 70000 bytes (EMSGSIZE)";
	e.len = 70000;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	r = sendto(fd, payload, 70000, 0, (struct sockaddr *)&a, sizeof(a));
	exp_done(&e, r, errno, -1, EMSGSIZE);

	/* More iovecs than UIO_MAXIOV: refused unread, so the length offered is unknown. */
	{
		static struct iovec many[1025];
		struct msghdr mm = { 0 };
		int i;

		for (i = 0; i < 1025; i++) {
			many[i].iov_base = payload;
			many[i].iov_len = 1;
		}
		exp_init(&e, "sendmsg", fd);
		e.note = "udp4 sendmsg with 1025 iovecs (EMSGSIZE)";
		mm.msg_name = &a;
		mm.msg_namelen = sizeof(a);
		mm.msg_iov = many;
		mm.msg_iovlen = 1025;
		e.iovlen = 1025;
		e.len_unknown = 1;
		dst_in(&e, "127.0.0.1", rport);
		e.dst_source = "msg";
		r = sendmsg(fd, &mm, 0);
		exp_done(&e, r, errno, -1, EMSGSIZE);
	}

	/*
	 * A control message whose cmsg_len runs past msg_controllen: the kernel fails the
	 * call (EINVAL); it is not listed as a message (its "fds" would be nonsense).
	 */
	{
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u;
		struct iovec one = { payload, 5 };
		struct msghdr cm = { 0 };

		memset(&u, 0, sizeof(u));
		u.h.cmsg_level = SOL_SOCKET;
		u.h.cmsg_type = SCM_RIGHTS;
		u.h.cmsg_len = 1000;
		exp_init(&e, "sendmsg", fd);
		e.note = "udp4 sendmsg, cmsg_len past msg_controllen (EINVAL)";
		cm.msg_name = &a;
		cm.msg_namelen = sizeof(a);
		cm.msg_iov = &one;
		cm.msg_iovlen = 1;
		cm.msg_control = u.buf;
		cm.msg_controllen = sizeof(u.buf);
		e.len = 5;
		e.controllen = sizeof(u.buf);
		e.cmsg_malformed = 1;
		dst_in(&e, "127.0.0.1", rport);
		e.dst_source = "msg";
		r = sendmsg(fd, &cm, 0);
		exp_done(&e, r, errno, -1, EINVAL);
	}

	close(p[0]);
	close(p[1]);
	close(fd);
	close(cfd);
	close(rfd);
}

/* sendmmsg: one message per destination, a short stop, a failing call. */
static void sc_mmsg(void)
{
	int p1, p2, p6;
	int r1 = udp_receiver(AF_INET, "127.0.0.1", &p1);
	int r2 = udp_receiver(AF_INET, "127.0.0.1", &p2);
	int r6 = udp_receiver(AF_INET6, "::1", &p6);
	int fd = xsocket(AF_INET6, SOCK_DGRAM, 0);
	int off = 0;
	struct sockaddr_in6 d[3];
	struct iovec iov[4] = { { payload, 5 }, { payload, 7 }, { payload, 8 }, { payload, 9 } };
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} u;
	struct in6_pktinfo pi6;
	struct mmsghdr mm[3];
	struct cmsghdr *c;
	struct exp e;
	long long r, lens[3];
	int i, err;

	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	d[0] = sin6("::ffff:127.0.0.1", p1, 0);
	d[1] = sin6("::ffff:127.0.0.1", p2, 0);
	d[2] = sin6("::1", p6, 0);
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < 3; i++) {
		mm[i].msg_hdr.msg_name = &d[i];
		mm[i].msg_hdr.msg_namelen = sizeof(d[i]);
	}
	/* [0] 5 bytes, [1] 7+8 bytes in 2 iovecs, [2] 9 bytes with IPV6_PKTINFO. */
	mm[0].msg_hdr.msg_iov = &iov[0];
	mm[0].msg_hdr.msg_iovlen = 1;
	mm[1].msg_hdr.msg_iov = &iov[1];
	mm[1].msg_hdr.msg_iovlen = 2;
	mm[2].msg_hdr.msg_iov = &iov[3];
	mm[2].msg_hdr.msg_iovlen = 1;
	memset(&u, 0, sizeof(u));
	memset(&pi6, 0, sizeof(pi6));
	inet_pton(AF_INET6, "::1", &pi6.ipi6_addr);
	mm[2].msg_hdr.msg_control = u.buf;
	mm[2].msg_hdr.msg_controllen = sizeof(u.buf);
	c = CMSG_FIRSTHDR(&mm[2].msg_hdr);
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi6));
	memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));
	lens[0] = 5;
	lens[1] = 15;
	lens[2] = 9;

	r = sendmmsg(fd, mm, 3, MSG_DONTWAIT);
	err = errno;
	if (r != 3)
		problem("sendmmsg 3 destinations returned %lld", r);
	for (i = 0; i < 3; i++) {
		exp_init(&e, "sendmmsg", fd);
		e.note = "sendmmsg 3 destinations";
		e.index = i;
		e.vlen = 3;
		e.flags = MSG_DONTWAIT;
		e.len = lens[i];
		e.iovlen = (long long)mm[i].msg_hdr.msg_iovlen;
		if (i < 2)
			dst_in6(&e, "::ffff:127.0.0.1", i ? p2 : p1, 0);
		else
			dst_in6(&e, "::1", p6, 0);
		e.dst_source = "msg";
		if (i == 2) {
			e.controllen = (long long)sizeof(u.buf);
			e.ncmsgs = 1;
			e.cmsgs[0][0] = IPPROTO_IPV6;
			e.cmsgs[0][1] = IPV6_PKTINFO;
			e.cmsgs[0][2] = -1;
		}
		exp_done(&e, i < r ? (long long)mm[i].msg_len : -1, err, lens[i], 0);
	}

	/* Short: message 1 has an unreadable buffer; the call returns 1. */
	mm[1].msg_hdr.msg_iov = &iov[1];
	mm[1].msg_hdr.msg_iovlen = 1;
	iov[1].iov_base = BAD_PTR;
	for (i = 0; i < 3; i++)
		mm[i].msg_len = 0;
	mm[2].msg_hdr.msg_control = NULL;
	mm[2].msg_hdr.msg_controllen = 0;
	r = sendmmsg(fd, mm, 3, 0);
	err = errno;
	if (r != 1)
		problem("sendmmsg short returned %lld (errno %d), wanted 1", r, err);
	for (i = 0; i < 3; i++) {
		exp_init(&e, "sendmmsg", fd);
		e.note = "sendmmsg stopped after 1 of 3";
		e.index = i;
		e.vlen = 3;
		e.len = (long long)mm[i].msg_hdr.msg_iov[0].iov_len;
		if (i < 2)
			dst_in6(&e, "::ffff:127.0.0.1", i ? p2 : p1, 0);
		else
			dst_in6(&e, "::1", p6, 0);
		e.dst_source = "msg";
		/* The kernel keeps the error of message 1 to itself: errno null. */
		exp_done(&e, i < r ? (long long)mm[i].msg_len : -1, 0, i == 0 ? e.len : -1, 0);
	}

	/* The first message fails: the call returns -1 EFAULT, for both. */
	iov[0].iov_base = BAD_PTR;
	r = sendmmsg(fd, mm, 2, 0);
	err = errno;
	for (i = 0; i < 2; i++) {
		exp_init(&e, "sendmmsg", fd);
		e.note = "sendmmsg failing call (EFAULT)";
		e.index = i;
		e.vlen = 2;
		e.len = (long long)mm[i].msg_hdr.msg_iov[0].iov_len;
		dst_in6(&e, "::ffff:127.0.0.1", i ? p2 : p1, 0);
		e.dst_source = "msg";
		exp_done(&e, r < 0 ? -1 : (long long)mm[i].msg_len, err, -1, EFAULT);
	}

	close(fd);
	close(r1);
	close(r2);
	close(r6);
}

/* One sendmmsg of UIO_MAXIOV (1024) messages: one event each. */
static void sc_mmsg_many(void)
{
	static struct mmsghdr mm[1024];
	static struct iovec iov[1024];
	int rport, rfd = udp_receiver(AF_INET, "127.0.0.1", &rport);
	int fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", rport);
	struct exp e;
	long long r;
	int i, err;

	for (i = 0; i < 1024; i++) {
		iov[i].iov_base = payload;
		iov[i].iov_len = (size_t)(i % 61) + 1;
		mm[i].msg_hdr.msg_name = &a;
		mm[i].msg_hdr.msg_namelen = sizeof(a);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	r = sendmmsg(fd, mm, 1024, 0);
	err = errno;
	if (r != 1024)
		problem("sendmmsg 1024 returned %lld errno %d", r, err);
	for (i = 0; i < 1024; i++) {
		exp_init(&e, "sendmmsg", fd);
		e.note = "sendmmsg of 1024 messages";
		e.index = i;
		e.vlen = 1024;
		e.len = (long long)iov[i].iov_len;
		dst_in(&e, "127.0.0.1", rport);
		e.dst_source = "msg";
		exp_done(&e, i < r ? (long long)mm[i].msg_len : -1, r < 0 ? err : 0, e.len, 0);
	}
	close(fd);
	close(rfd);
}

struct thread_arg {
	int fd;
	int port;
	struct sockaddr_in a;
};

static void *thread_main(void *p)
{
	struct thread_arg *t = p;
	struct exp e;
	long long r;

	exp_init(&e, "sendto", t->fd);
	e.note = "udp4 sendto from a second thread";
	e.len = 111;
	dst_in(&e, "127.0.0.1", t->port);
	e.dst_source = "msg";
	r = sendto(t->fd, payload, 111, 0, (struct sockaddr *)&t->a, sizeof(t->a));
	exp_done(&e, r, errno, 111, 0);
	return NULL;
}

/* The main thread, a second thread, the main thread again. */
static void sc_thread(void)
{
	struct thread_arg t;
	pthread_t th;
	struct exp e;
	long long r;
	int rfd;

	rfd = udp_receiver(AF_INET, "127.0.0.1", &t.port);
	t.fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	t.a = sin4("127.0.0.1", t.port);

	exp_init(&e, "sendto", t.fd);
	e.note = "udp4 sendto main thread before";
	e.len = 110;
	dst_in(&e, "127.0.0.1", t.port);
	e.dst_source = "msg";
	r = sendto(t.fd, payload, 110, 0, (struct sockaddr *)&t.a, sizeof(t.a));
	exp_done(&e, r, errno, 110, 0);

	if (pthread_create(&th, NULL, thread_main, &t) != 0 || pthread_join(th, NULL) != 0)
		die("pthread");

	exp_init(&e, "sendto", t.fd);
	e.note = "udp4 sendto main thread after";
	e.len = 112;
	dst_in(&e, "127.0.0.1", t.port);
	e.dst_source = "msg";
	r = sendto(t.fd, payload, 112, 0, (struct sockaddr *)&t.a, sizeof(t.a));
	exp_done(&e, r, errno, 112, 0);

	close(t.fd);
	close(rfd);
}

static void proc_json(pid_t pid, pid_t ppid, uid_t uid, gid_t gid, const char *comm, int first)
{
	size_t i;

	outf("%s{\"pid\":%d,\"ppid\":%d,\"uid\":%u,\"gid\":%u,\"comm_hex\":\"", first ? "" : ",",
	     pid, ppid, uid, gid);
	for (i = 0; comm[i]; i++)
		outf("%02x", (unsigned char)comm[i]);
	outf("\"}");
}

/* The child sc_child forked, listed in "procs". */
static pid_t child_pid;

/* A child with its own comm, uid and gid (65534) sends; ppid is us. */
static void sc_child(void)
{
	static const char comm[] = "sg-child";
	int rport, rfd = udp_receiver(AF_INET, "127.0.0.1", &rport);
	struct sockaddr_in a = sin4("127.0.0.1", rport);
	int pfd[2];
	pid_t pid;
	ssize_t n;
	size_t got = 0;

	if (pipe(pfd) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct exp e;
		long long r;
		int fd;

		close(pfd[0]);
		out_len = 0;
		nevents = 0;
		problems_len = 0;
		if (prctl(PR_SET_NAME, comm, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
		    setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			die("child identity");
		fd = xsocket(AF_INET, SOCK_DGRAM, 0);
		exp_init(&e, "sendto", fd);
		e.note = "udp4 sendto from a child uid/gid 65534";
		e.len = 120;
		dst_in(&e, "127.0.0.1", rport);
		e.dst_source = "msg";
		r = sendto(fd, payload, 120, 0, (struct sockaddr *)&a, sizeof(a));
		exp_done(&e, r, errno, 120, 0);
		/* Events, then a NUL, then the problems. */
		if (write(pfd[1], out, out_len) != (ssize_t)out_len || write(pfd[1], "", 1) != 1 ||
		    write(pfd[1], problems, problems_len) != (ssize_t)problems_len)
			_exit(4);
		close(pfd[1]);
		wait_eof();
		_exit(0);
	}
	close(pfd[1]);
	{
		static char buf[65536];

		while ((n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
			got += (size_t)n;
		buf[got] = 0;
		if (got == 0) {
			problem("child reported nothing");
		} else {
			size_t ev = strlen(buf);

			outf("%s%s", nevents ? "," : "", buf);
			nevents++;
			if (ev + 1 < got)
				problem("child: %s", buf + ev + 1);
		}
	}
	close(pfd[0]);
	close(rfd);
	child_pid = pid;
}

/* After printing: the child lives as long as we do (-w), then must exit 0. */
static int reap_child(void)
{
	int status;

	if (child_pid <= 0)
		return 0;
	if (waitpid(child_pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "sender: child exited with status %d\n", status);
		return 1;
	}
	return 0;
}

/* comm that is not valid UTF-8 (and a quote): the encoder must escape it. */
static void sc_comm_bytes(void)
{
	int rport, rfd = udp_receiver(AF_INET, "127.0.0.1", &rport);
	int fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", rport);
	struct exp e;
	long long r;

	if (prctl(PR_SET_NAME, "sg\xfe\"x\xc3\xa9", 0, 0, 0) < 0)
		die("PR_SET_NAME");
	exp_init(&e, "sendto", fd);
	e.note = "udp4 sendto with a comm that is not UTF-8";
	e.len = 130;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	r = sendto(fd, payload, 130, 0, (struct sockaddr *)&a, sizeof(a));
	exp_done(&e, r, errno, 130, 0);
	close(fd);
	close(rfd);
}

/* One sendto and nothing more: the latency and flush tests. */
static void sc_single(void)
{
	int rport, rfd = udp_receiver(AF_INET, "127.0.0.1", &rport);
	int fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", rport);
	struct exp e;
	long long r;

	exp_init(&e, "sendto", fd);
	e.note = "udp4 single sendto";
	e.len = 64;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "msg";
	r = sendto(fd, payload, 64, 0, (struct sockaddr *)&a, sizeof(a));
	exp_done(&e, r, errno, 64, 0);
	close(fd);
	close(rfd);
}

/* N sendto of 64 bytes as fast as possible; events are not listed. */
static void sc_burst(long n)
{
	int rport, rfd = udp_receiver(AF_INET, "127.0.0.1", &rport);
	int fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", rport);
	long i, ok = 0;

	for (i = 0; i < n; i++)
		if (sendto(fd, payload, 64, MSG_DONTWAIT, (struct sockaddr *)&a, sizeof(a)) >= 0)
			ok++;
	outf("],\"sent\":%ld,\"ok\":%ld,\"fd\":%d,\"port\":%d,\"x\":[", n, ok, fd, rport);
	close(fd);
	close(rfd);
}

/* --- policy scenarios (tests/integration/policy_tests.py) ------------------ */

/* The comm of the child listed in "procs" (sc_child: sg-child). */
static const char *child_comm = "sg-child";

/*
 * A private network namespace with only lo (up): loopback works, every other
 * destination fails with ENETUNREACH, so nothing ever leaves the machine and
 * fixed ports never collide with the host's.
 */
static void private_net(void)
{
	struct ifreq ifr;
	int s;

	if (unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET)");
	s = xsocket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("SIOCSIFFLAGS lo");
	close(s);
}

/*
 * The notes of the policy scenarios say what tests/integration/policy_tests.py
 * (policies/mix there) must judge: "RULE|VERDICT: what" ("-" for the default).
 */
static void mix_in(int fd, const char *addr, int port, unsigned int flags, long long len,
		   const char *note, int want_err)
{
	struct sockaddr_in a = sin4(addr, port);
	struct exp e;
	long long r;

	exp_init(&e, "sendto", fd);
	e.note = note;
	e.flags = flags;
	e.len = len;
	dst_in(&e, addr, port);
	e.dst_source = "msg";
	r = sendto(fd, payload, (size_t)len, (int)flags, (struct sockaddr *)&a, sizeof(a));
	exp_done(&e, r, errno, want_err ? -1 : len, want_err);
}

static void mix_in6(int fd, const char *addr, int port, long long len, const char *note,
		    int want_err)
{
	struct sockaddr_in6 a = sin6(addr, port, 0);
	struct exp e;
	long long r;

	exp_init(&e, "sendto", fd);
	e.note = note;
	e.len = len;
	dst_in6(&e, addr, port, 0);
	e.dst_source = "msg";
	r = sendto(fd, payload, (size_t)len, 0, (struct sockaddr *)&a, sizeof(a));
	exp_done(&e, r, errno, want_err ? -1 : len, want_err);
}

static socklen_t un_addr(struct sockaddr_un *a, const char *name, size_t n, int abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (abstract) {
		memcpy(a->sun_path + 1, name, n);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	}
	memcpy(a->sun_path, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

/* A bound unix datagram receiver (path or abstract name). */
static int un_receiver(const char *name, int abstract)
{
	struct sockaddr_un a;
	socklen_t l = un_addr(&a, name, strlen(name), abstract);
	int fd = xsocket(AF_UNIX, SOCK_DGRAM, 0);

	if (!abstract)
		unlink(name);
	if (bind(fd, (struct sockaddr *)&a, l) < 0)
		die("bind unix receiver");
	return fd;
}

/* sendto (ncmsg 0) or sendmsg with SCM_RIGHTS(1) to a unix name. */
static void mix_un(int fd, const char *name, int abstract, int scm, long long len, const char *note)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct sockaddr_un a;
	socklen_t l = un_addr(&a, name, strlen(name), abstract);
	struct iovec iov = { payload, (size_t)len };
	struct msghdr m = { 0 };
	struct cmsghdr *c;
	struct exp e;
	long long r;
	int one_fd = 0;

	exp_init(&e, scm ? "sendmsg" : "sendto", fd);
	e.note = note;
	e.len = len;
	if (abstract)
		dst_unix_abstract(&e, (const unsigned char *)name, strlen(name));
	else
		dst_unix_path(&e, name);
	e.dst_source = "msg";
	if (!scm) {
		r = sendto(fd, payload, (size_t)len, 0, (struct sockaddr *)&a, l);
	} else {
		memset(&u, 0, sizeof(u));
		m.msg_name = &a;
		m.msg_namelen = l;
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &one_fd, sizeof(int));
		e.controllen = (long long)sizeof(u.buf);
		e.ncmsgs = 1;
		e.cmsgs[0][0] = SOL_SOCKET;
		e.cmsgs[0][1] = SCM_RIGHTS;
		e.cmsgs[0][2] = 1;
		r = sendmsg(fd, &m, 0);
	}
	exp_done(&e, r, errno, len, 0);
}

/* The child of sc_policy_mix: comm sg-pol-kid, uid/gid 65534. */
static void mix_child(void)
{
	int fd = xsocket(AF_INET, SOCK_DGRAM, 0);

	mix_in(fd, "127.0.0.1", 5000, 0, 301, "r-uid|audit: child uid 65534 to 127.0.0.1:5000", 0);
	mix_in(fd, "127.0.0.1", 53, 0, 302, "r-uid|audit: child uid 65534 to 127.0.0.1:53", 0);
	close(fd);
}

/* Runs fn in a forked child with comm and uid/gid 65534; its events join ours. */
static void run_child(const char *comm, void (*fn)(void))
{
	int pfd[2];
	pid_t pid;
	ssize_t n;
	size_t got = 0;
	static char buf[65536];

	if (pipe(pfd) < 0)
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(pfd[0]);
		out_len = 0;
		nevents = 0;
		problems_len = 0;
		if (prctl(PR_SET_NAME, comm, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
		    setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			die("child identity");
		fn();
		if (write(pfd[1], out, out_len) != (ssize_t)out_len || write(pfd[1], "", 1) != 1 ||
		    write(pfd[1], problems, problems_len) != (ssize_t)problems_len)
			_exit(4);
		close(pfd[1]);
		wait_eof();
		_exit(0);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = 0;
	if (got == 0) {
		problem("child reported nothing");
	} else {
		size_t ev = strlen(buf);

		outf("%s%s", nevents ? "," : "", buf);
		nevents++;
		if (ev + 1 < got)
			problem("child: %s", buf + ev + 1);
	}
	close(pfd[0]);
	child_pid = pid;
	child_comm = comm;
}

/*
 * Many destinations, flags, cmsgs, lengths, families, a child with another
 * uid: each note names the rule and verdict policies/mix in policy_tests.py
 * gives. comm is sg-pol-comm for the whole run. Unix paths live under
 * $SG_POLICY_DIR (default /tmp).
 */
static void sc_policy_mix(void)
{
	const char *dir = getenv("SG_POLICY_DIR");
	char p_exact[256], p_pre[256], p_other[256];
	int fd, fd6, c4, a4, port4, i;
	int rx[6], sv[2], ss[2];
	struct exp e;
	long long r;

	if (!dir || !*dir)
		dir = tmpdir();
	if (prctl(PR_SET_NAME, "sg-pol-comm", 0, 0, 0) < 0)
		die("PR_SET_NAME");
	private_net();
	fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	fd6 = xsocket(AF_INET6, SOCK_DGRAM, 0);
	{
		int off = 0;

		setsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	}

	/* dst "*:53", CIDRs with and without ports, v6, mapped. */
	mix_in(fd, "127.0.0.1", 53, 0, 201, "r-star53|deny: 127.0.0.1:53", 0);
	mix_in(fd, "10.0.0.53", 53, 0, 202, "r-star53|deny: 10.0.0.53:53", ENETUNREACH);
	mix_in6(fd6, "2001:db8::1", 53, 203, "r-star53|deny: [2001:db8::1]:53", ENETUNREACH);
	mix_in6(fd6, "::1", 53, 204, "r-star53|deny: [::1]:53", 0);
	mix_in(fd, "10.1.2.3", 8080, 0, 205, "r-net8-range|audit: 10.1.2.3:8080", ENETUNREACH);
	mix_in(fd, "10.1.2.3", 9000, 0, 206, "r-net8|deny: 10.1.2.3:9000", ENETUNREACH);
	mix_in(fd, "10.255.0.1", 8000, 0, 207, "r-net8-range|audit: range start", ENETUNREACH);
	mix_in(fd, "10.255.0.1", 8999, 0, 208, "r-net8-range|audit: range end", ENETUNREACH);
	mix_in(fd, "10.255.0.1", 7999, 0, 209, "r-net8|deny: below the range", ENETUNREACH);
	mix_in6(fd6, "::ffff:10.1.2.3", 8080, 210, "r-net8-range|audit: mapped ::ffff:10.1.2.3",
		ENETUNREACH);
	mix_in6(fd6, "::ffff:192.0.2.1", 9, 211, "-|audit: mapped, ::/0 does not hold",
		ENETUNREACH);
	mix_in(fd, "192.0.2.1", 9, 0, 212, "-|audit: 192.0.2.1:9 no rule", ENETUNREACH);
	mix_in6(fd6, "fd00::1", 443, 213, "r-v6-443|deny: [fd00::1]:443", ENETUNREACH);
	mix_in6(fd6, "fd00::1", 444, 214, "r-any6|audit: [fd00::1]:444", ENETUNREACH);
	mix_in6(fd6, "2001:db8::1", 80, 215, "r-v6-host|audit: [2001:db8::1]:80", ENETUNREACH);
	mix_in6(fd6, "2001:db8::2", 80, 216, "r-any6|audit: [2001:db8::2]:80", ENETUNREACH);
	mix_in(fd, "127.0.0.2", 9, 0, 217, "r-lo-single|allow: 127.0.0.2", 0);
	mix_in(fd, "127.0.0.3", 7000, 0, 218, "r-lo-port|audit: 127.0.0.3:7000", 0);
	mix_in(fd, "127.0.0.3", 7001, 0, 219, "r-lo-all|allow: 127.0.0.3:7001", 0);
	mix_in(fd, "127.0.0.1", 7100, 0, 220, "r-port-only|deny: port 7100", 0);
	mix_in(fd, "127.0.0.1", 7250, 0, 221, "r-port-only|deny: port 7250", 0);
	mix_in(fd, "127.0.0.1", 7301, 0, 222, "r-lo-all|allow: port 7301", 0);
	mix_in(fd, "127.0.0.1", 5000, 0, 200, "r-comm|deny: comm sg-pol-comm port 5000", 0);

	/* Flags. */
	mix_in(fd, "127.0.0.1", 6001, MSG_DONTWAIT | MSG_NOSIGNAL, 223,
	       "r-flags-all|audit: DONTWAIT|NOSIGNAL", 0);
	mix_in(fd, "127.0.0.1", 6001, MSG_DONTWAIT, 224, "r-lo-all|allow: DONTWAIT only", 0);
	mix_in(fd, "127.0.0.1", 6002, MSG_CONFIRM, 225, "r-flags-any|deny: MSG_CONFIRM", 0);
	mix_in(fd, "127.0.0.1", 6003, MSG_DONTWAIT | UNKNOWN_FLAG, 226,
	       "r-lo-all|allow: DONTWAIT|0x200000 to 6003", 0);
	mix_in(fd, "127.0.0.1", 6004, 0, 227, "r-flags-none|allow: no flags to 6004", 0);
	mix_in(fd, "127.0.0.1", 6004, MSG_DONTWAIT, 228, "r-lo-all|allow: DONTWAIT to 6004", 0);

	/* Lengths (with exe). */
	mix_in(fd, "127.0.0.1", 6005, 0, 999, "r-lo-all|allow: len 999", 0);
	mix_in(fd, "127.0.0.1", 6005, 0, 1000, "r-len|audit: len 1000", 0);
	mix_in(fd, "127.0.0.1", 6005, 0, 1999, "r-len|audit: len 1999", 0);
	mix_in(fd, "127.0.0.1", 6005, 0, 2000, "r-lo-all|allow: len 2000", 0);

	/* IP_TOS cmsg. */
	{
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct sockaddr_in a = sin4("127.0.0.1", 6006);
		struct iovec iov = { payload, 229 };
		struct msghdr m = { 0 };
		struct cmsghdr *c;
		int tos = 0x10;

		memset(&u, 0, sizeof(u));
		m.msg_name = &a;
		m.msg_namelen = sizeof(a);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_TOS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &tos, sizeof(int));
		exp_init(&e, "sendmsg", fd);
		e.note = "r-cmsg-tos|deny: IP_TOS";
		e.len = 229;
		dst_in(&e, "127.0.0.1", 6006);
		e.dst_source = "msg";
		e.controllen = (long long)sizeof(u.buf);
		e.ncmsgs = 1;
		e.cmsgs[0][0] = IPPROTO_IP;
		e.cmsgs[0][1] = IP_TOS;
		e.cmsgs[0][2] = -1;
		r = sendmsg(fd, &m, 0);
		exp_done(&e, r, errno, 229, 0);
	}

	/* sendmmsg: to port 6000 (r-mmsg), to 6007 (no rule: r-lo-all is sendto/sendmsg). */
	{
		struct sockaddr_in d[2] = { sin4("127.0.0.1", 6000), sin4("127.0.0.1", 6007) };
		struct iovec iov[2] = { { payload, 230 }, { payload, 231 } };
		static const char *const notes[] = { "r-mmsg|deny: sendmmsg to 6000",
						     "-|audit: sendmmsg to 6007" };
		struct mmsghdr mm[2];
		int err;

		memset(mm, 0, sizeof(mm));
		for (i = 0; i < 2; i++) {
			mm[i].msg_hdr.msg_name = &d[i];
			mm[i].msg_hdr.msg_namelen = sizeof(d[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(fd, mm, 2, 0);
		err = errno;
		if (r != 2)
			problem("policy sendmmsg returned %lld", r);
		for (i = 0; i < 2; i++) {
			exp_init(&e, "sendmmsg", fd);
			e.note = notes[i];
			e.index = i;
			e.vlen = 2;
			e.len = 230 + i;
			dst_in(&e, "127.0.0.1", i ? 6007 : 6000);
			e.dst_source = "msg";
			exp_done(&e, i < r ? (long long)mm[i].msg_len : -1, err, 230 + i, 0);
		}
	}

	/* TCP over loopback, both directions. */
	a4 = tcp_pair(AF_INET, &c4, &port4);
	exp_init(&e, "sendto", c4);
	e.note = "r-tcp-lo|allow: tcp4 client send";
	e.len = 233;
	dst_in(&e, "127.0.0.1", port4);
	e.dst_source = "peer";
	r = send(c4, payload, 233, 0);
	exp_done(&e, r, errno, 233, 0);
	exp_init(&e, "sendto", a4);
	e.note = "r-tcp-lo|allow: tcp4 accepted send";
	e.len = 234;
	dst_in(&e, "127.0.0.1", local_port(c4));
	e.dst_source = "peer";
	r = send(a4, payload, 234, 0);
	exp_done(&e, r, errno, 234, 0);
	close(c4);
	close(a4);

	/* Unix: exact path, prefix, other; abstract exact, prefix, other; fds. */
	snprintf(p_exact, sizeof(p_exact), "%s/exact.sock", dir);
	snprintf(p_pre, sizeof(p_pre), "%s/pre-x.sock", dir);
	snprintf(p_other, sizeof(p_other), "%s/other.sock", dir);
	rx[0] = un_receiver(p_exact, 0);
	rx[1] = un_receiver(p_pre, 0);
	rx[2] = un_receiver(p_other, 0);
	rx[3] = un_receiver("sg-pol-abs-exact", 1);
	rx[4] = un_receiver("sg-pol-abs-zz", 1);
	rx[5] = un_receiver("sg-other", 1);
	{
		int u = xsocket(AF_UNIX, SOCK_DGRAM, 0);

		mix_un(u, p_exact, 0, 0, 235, "r-unix-exact|allow: unix exact path");
		mix_un(u, p_pre, 0, 0, 236, "r-unix-prefix|deny: unix path prefix");
		mix_un(u, p_other, 0, 0, 237, "r-unix-dgram|audit: unix other path");
		mix_un(u, "sg-pol-abs-exact", 1, 0, 238, "r-abstract|audit: abstract exact");
		mix_un(u, "sg-pol-abs-zz", 1, 0, 239, "r-abs-prefix|allow: abstract prefix");
		mix_un(u, "sg-other", 1, 0, 240, "r-unix-dgram|audit: abstract other");
		mix_un(u, "sg-pol-abs-zz", 1, 1, 241, "r-fd-abs|audit: SCM_RIGHTS to abstract");
		mix_un(u, p_exact, 0, 1, 242, "r-fd|deny: SCM_RIGHTS to the exact path");
		close(u);
	}
	for (i = 0; i < 6; i++) {
		drain(rx[i]);
		close(rx[i]);
	}
	unlink(p_exact);
	unlink(p_pre);
	unlink(p_other);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, ss) < 0)
		die("socketpair");
	exp_init(&e, "sendto", sv[0]);
	e.note = "r-unix-dgram|audit: unnamed dgram";
	e.len = 243;
	dst_unix_unnamed(&e);
	e.dst_source = "peer";
	r = send(sv[0], payload, 243, 0);
	exp_done(&e, r, errno, 243, 0);
	exp_init(&e, "sendto", ss[0]);
	e.note = "-|audit: unnamed stream";
	e.len = 244;
	dst_unix_unnamed(&e);
	e.dst_source = "peer";
	r = send(ss[0], payload, 244, 0);
	exp_done(&e, r, errno, 244, 0);
	close(sv[0]);
	close(sv[1]);
	close(ss[0]);
	close(ss[1]);

	/* Netlink to the kernel: an NLMSG_NOOP. */
	{
		struct nlmsghdr nh;
		struct sockaddr_nl k;
		int nfd = xsocket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);

		memset(&nh, 0, sizeof(nh));
		nh.nlmsg_len = sizeof(nh);
		nh.nlmsg_type = NLMSG_NOOP;
		nh.nlmsg_flags = NLM_F_REQUEST;
		memset(&k, 0, sizeof(k));
		k.nl_family = AF_NETLINK;
		exp_init(&e, "sendto", nfd);
		e.note = "r-netlink|allow: netlink to the kernel";
		e.len = sizeof(nh);
		dst_netlink(&e, 0, 0);
		e.dst_source = "msg";
		r = sendto(nfd, &nh, sizeof(nh), 0, (struct sockaddr *)&k, sizeof(k));
		exp_done(&e, r, errno, sizeof(nh), 0);
		drain(nfd);
		close(nfd);
	}

	close(fd);
	close(fd6);
	run_child("sg-pol-kid", mix_child);
}

/*
 * kill: two forked children; the first sends to 127.0.0.1:6666 (the kill
 * rule of policy_tests.py) and then waits 3 s, the second sends to 6667 and
 * waits 1 s; both exit 0 unless killed. Prints their pids and wait statuses.
 */
static pid_t kill_child(int port, int len, unsigned int secs)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct sockaddr_in a = sin4("127.0.0.1", port);
		int fd = xsocket(AF_INET, SOCK_DGRAM, 0);

		if (sendto(fd, payload, (size_t)len, 0, (struct sockaddr *)&a, sizeof(a)) != len)
			_exit(5);
		sleep(secs);
		_exit(0);
	}
	return pid;
}

/*
 * A child connected by TCP to 127.0.0.1:port that sends with a forged
 * destination, 127.0.0.1:forged: the kernel delivers to the peer, so the peer
 * is what is judged (a kill rule on it must kill).
 */
static pid_t forger_child(int port, int forged, int len, unsigned int secs)
{
	struct sockaddr_in a = sin4("127.0.0.1", port), f = sin4("127.0.0.1", forged);
	int l = xsocket(AF_INET, SOCK_STREAM, 0), one = 1;
	pid_t pid;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0)
		die("forger listen");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int fd = xsocket(AF_INET, SOCK_STREAM, 0);

		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			_exit(6);
		if (sendto(fd, payload, (size_t)len, 0, (struct sockaddr *)&f, sizeof(f)) != len)
			_exit(5);
		sleep(secs);
		_exit(0);
	}
	close(l); /* the connection is queued: the child's send is buffered */
	return pid;
}

/* A child that sends len bytes by write() on a UDP socket connected to 127.0.0.1:port. */
static pid_t writer_child(int port, int len, unsigned int secs)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct sockaddr_in a = sin4("127.0.0.1", port);
		int fd = xsocket(AF_INET, SOCK_DGRAM, 0);

		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			_exit(6);
		if (write(fd, payload, (size_t)len) != len)
			_exit(5);
		sleep(secs);
		_exit(0);
	}
	return pid;
}

static void sc_kill_pair(void)
{
	pid_t victim, sibling, forger, writer;
	int sv = -1, ss = -1, sf = -1, sw = -1;

	private_net();
	victim = kill_child(6666, 50, 3);
	sibling = kill_child(6667, 51, 1);
	forger = forger_child(6666, 6667, 52, 3);
	writer = writer_child(6666, 53, 3);
	if (waitpid(victim, &sv, 0) < 0 || waitpid(sibling, &ss, 0) < 0 ||
	    waitpid(forger, &sf, 0) < 0 || waitpid(writer, &sw, 0) < 0)
		die("waitpid");
	outf("],\"victim\":%d,\"victim_status\":%d,\"sibling\":%d,\"sibling_status\":%d,"
	     "\"forger\":%d,\"forger_status\":%d,\"writer\":%d,\"writer_status\":%d,\"x\":[",
	     victim, sv, sibling, ss, forger, sf, writer, sw);
}

static volatile sig_atomic_t stream_stop;

static void on_stream_stop(int sig)
{
	(void)sig;
	stream_stop = 1;
}

/*
 * stream PORT MS: sendto 127.0.0.1:PORT (64 bytes) every ~300 us for MS ms, or until
 * SIGUSR1 (a test that has seen what it waits for ends the stream early).
 */
static void sc_stream(int port, long ms)
{
	struct sockaddr_in a = sin4("127.0.0.1", port);
	int fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	struct sigaction sa = { .sa_handler = on_stream_stop };
	struct timespec t0, t;
	long n = 0, ok = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (sendto(fd, payload, 64, MSG_DONTWAIT, (struct sockaddr *)&a, sizeof(a)) >= 0)
			ok++;
		n++;
		usleep(300);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (!stream_stop &&
		 (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
	outf("],\"sent\":%ld,\"ok\":%ld,\"fd\":%d,\"port\":%d,\"x\":[", n, ok, fd, port);
	close(fd);
}

/* --- other send paths -------------------------------------------------------- */

/* One io_uring operation on a ring of its own; returns its result (-errno). */
static long long uring_one(const struct io_uring_sqe *op)
{
	struct io_uring_params p;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqe;
	unsigned char *sq, *cq;
	size_t sqsz, cqsz;
	unsigned int tail;
	long long res;
	int ring;

	memset(&p, 0, sizeof(p));
	ring = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0)
		die("io_uring_setup");
	sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	sq = mmap(NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_SQ_RING);
	cq = mmap(NULL, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE, MAP_SHARED, ring,
		    IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		die("io_uring mmap");
	sqes[0] = *op;
	((unsigned int *)(sq + p.sq_off.array))[0] = 0;
	tail = *(unsigned int *)(sq + p.sq_off.tail);
	__atomic_store_n((unsigned int *)(sq + p.sq_off.tail), tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		die("io_uring_enter");
	cqe = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	res = cqe[*(unsigned int *)(cq + p.cq_off.head) &
		  *(unsigned int *)(cq + p.cq_off.ring_mask)]
		      .res;
	munmap(sq, sqsz);
	munmap(cq, cqsz);
	munmap(sqes, p.sq_entries * sizeof(*sqes));
	close(ring);
	return res;
}

/*
 * A message leaving a connected UDP socket by each way that is not one of the
 * send syscalls: write, writev, sendfile, splice, io_uring send and sendmsg.
 * Their destination is the socket's peer.
 */
static void sc_paths(void)
{
	int rport, rfd = udp_receiver(AF_INET, "127.0.0.1", &rport);
	int fd = xsocket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", rport);
	struct iovec iov[3] = { { payload, 3 }, { payload, 4 }, { payload, 5 } };
	struct io_uring_sqe op;
	struct msghdr m;
	char path[256];
	struct exp e;
	long long r;
	int file, pipefd[2];

	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect paths");

	exp_init(&e, "write", fd);
	e.note = "write";
	e.len = 23;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "peer";
	r = write(fd, payload, 23);
	exp_done(&e, r, errno, 23, 0);

	exp_init(&e, "writev", fd);
	e.note = "writev";
	e.len = 12;
	e.iovlen = 3;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "peer";
	r = writev(fd, iov, 3);
	exp_done(&e, r, errno, 12, 0);

	/* sendfile: a file of 37 bytes, sent whole. */
	snprintf(path, sizeof(path), "%s/sendguard-paths-XXXXXX", tmpdir());
	file = mkstemp(path);
	if (file < 0)
		die("mkstemp");
	unlink(path);
	if (write(file, payload, 37) != 37)
		die("write file");
	exp_init(&e, "sendfile", fd);
	e.note = "sendfile";
	e.len = 37;
	e.iovlen = 0;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "peer";
	{
		off_t off = 0;

		r = sendfile(fd, file, &off, 37);
	}
	exp_done(&e, r, errno, 37, 0);
	close(file);

	/* splice: 29 bytes from a pipe. */
	if (pipe(pipefd) < 0)
		die("pipe");
	if (write(pipefd[1], payload, 29) != 29)
		die("write pipe");
	exp_init(&e, "splice", fd);
	e.note = "splice";
	e.len = 29;
	e.iovlen = 0;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "peer";
	r = splice(pipefd[0], NULL, fd, NULL, 29, 0);
	exp_done(&e, r, errno, 29, 0);
	close(pipefd[0]);
	close(pipefd[1]);

	/* io_uring: the descriptor is the ring's business (fd null in the event). */
	exp_init(&e, "io_uring", -1);
	e.sock_fd = fd;
	e.note = "io_uring send";
	e.len = 41;
	e.iovlen = 0;
	e.any_flags = 1;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "peer";
	memset(&op, 0, sizeof(op));
	op.opcode = IORING_OP_SEND;
	op.fd = fd;
	op.addr = (uintptr_t)payload;
	op.len = 41;
	r = uring_one(&op);
	exp_done(&e, r < 0 ? -1 : r, r < 0 ? (int)-r : 0, 41, 0);

	exp_init(&e, "io_uring", -1);
	e.sock_fd = fd;
	e.note = "io_uring sendmsg";
	e.len = 12;
	e.iovlen = 0;
	e.any_flags = 1;
	dst_in(&e, "127.0.0.1", rport);
	e.dst_source = "peer";
	memset(&m, 0, sizeof(m));
	m.msg_iov = iov;
	m.msg_iovlen = 3;
	memset(&op, 0, sizeof(op));
	op.opcode = IORING_OP_SENDMSG;
	op.fd = fd;
	op.addr = (uintptr_t)&m;
	op.len = 1;
	r = uring_one(&op);
	exp_done(&e, r < 0 ? -1 : r, r < 0 ? (int)-r : 0, 12, 0);

	close(fd);
	close(rfd);
}

struct scenario {
	const char *name;
	void (*fn)(void);
};

static const struct scenario scenarios[] = {
	{ "udp4", sc_udp4 },
	{ "udp6", sc_udp6 },
	{ "mapped", sc_mapped },
	{ "unix_path", sc_unix_path },
	{ "unix_abstract", sc_unix_abstract },
	{ "unix_unnamed", sc_unix_unnamed },
	{ "netlink", sc_netlink },
	{ "tcp", sc_tcp },
	{ "iov", sc_iov },
	{ "scm", sc_scm },
	{ "cmsg_ip", sc_cmsg_ip },
	{ "flags", sc_flags },
	{ "errors", sc_errors },
	{ "mmsg", sc_mmsg },
	{ "mmsg_many", sc_mmsg_many },
	{ "thread", sc_thread },
	{ "child", sc_child },
	{ "comm_bytes", sc_comm_bytes },
	{ "paths", sc_paths },
	{ "single", sc_single },
	{ "policy_mix", sc_policy_mix },
	{ "kill_pair", sc_kill_pair },
};

static void usage(void)
{
	size_t i;

	fprintf(stderr, "usage: sender [-w] SCENARIO | sender [-w] burst N | "
			"sender [-w] stream PORT MS | sender list\n"
			"scenarios:");
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		fprintf(stderr, " %s", scenarios[i].name);
	fprintf(stderr, " burst stream\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char comm[17] = { 0 };
	const struct scenario *sc = NULL;
	long burst = -1, stream_port = 0, stream_ms = -1;
	size_t i;

	if (argc > 1 && strcmp(argv[1], "-w") == 0) {
		wait_stdin = 1;
		argv++;
		argc--;
	}
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "list") == 0) {
		for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			printf("%s\n", scenarios[i].name);
		return 0;
	}
	if (strcmp(argv[1], "burst") == 0) {
		char *end;

		if (argc != 3)
			usage();
		errno = 0;
		burst = strtol(argv[2], &end, 10);
		if (errno || *end || burst < 1 || burst > 100000000)
			usage();
	} else if (strcmp(argv[1], "stream") == 0) {
		char *end1, *end2;

		if (argc != 4)
			usage();
		errno = 0;
		stream_port = strtol(argv[2], &end1, 10);
		stream_ms = strtol(argv[3], &end2, 10);
		if (errno || *end1 || *end2 || stream_port < 1 || stream_port > 65535 ||
		    stream_ms < 1 || stream_ms > 600000)
			usage();
	} else {
		for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			if (strcmp(argv[1], scenarios[i].name) == 0)
				sc = &scenarios[i];
		if (!sc || argc != 2)
			usage();
	}
	memset(payload, 'x', sizeof(payload));
	signal(SIGPIPE, SIG_IGN);

	outf("{\"scenario\":\"%s\",\"pid\":%d,\"events\":[", argv[1], getpid());
	if (burst > 0)
		sc_burst(burst);
	else if (stream_ms > 0)
		sc_stream((int)stream_port, stream_ms);
	else
		sc->fn();
	outf("],\"procs\":[");
	/* Our own identity as it stands after the scenario (comm may have changed). */
	prctl(PR_GET_NAME, comm, 0, 0, 0);
	proc_json(getpid(), getppid(), getuid(), getgid(), comm, 1);
	if (child_pid > 0)
		proc_json(child_pid, getpid(), 65534, 65534, child_comm, 0);
	outf("],\"problems\":[%s]}\n", problems);
	fwrite(out, 1, out_len, stdout);
	fflush(stdout);
	wait_eof();
	if (reap_child())
		return 1;
	return problems_len ? 1 : 0;
}
