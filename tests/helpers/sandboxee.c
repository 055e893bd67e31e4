// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sandboxee: what tests/integration/sandbox.py runs under `sendguard run`.
 * Each scenario does exact sends and prints one JSON line with what happened
 * (return values, errno numbers, counts); the runner checks them against the
 * policy, the receivers and the events.
 *
 *   sandboxee script                 lines on stdin, one send each (below)
 *   sandboxee flip A_PORT D_PORT N   one thread sendto()s N times while another
 *                                    flips the sockaddr's port between A and D
 *   sandboxee nullflip A_PORT D_PORT N  sendmsg on a socket connected to A while
 *                                    another thread flips msg_name NULL <-> D
 *   sandboxee dupflip A_PORT T_PORT N  sendto(fd, A) while another thread dup2()s
 *                                    a UDP socket and a TCP socket connected to
 *                                    T over fd
 *   sandboxee uring                  io_uring_setup
 *   sandboxee mmsg A_PORT D_PORT     sendmmsg [A, A, D] then [D, A]
 *   sandboxee stall PORT N           a thread blocks in sendmsg on a full unix
 *                                    stream; another sends N datagrams to PORT
 *   sandboxee scm PATH               connect to PATH, pass a pipe's write end
 *                                    with SCM_RIGHTS, read what the peer wrote
 *   sandboxee eintr [restart]        a blocked sendmsg, interrupted by SIGUSR1
 *                                    after 300 ms (handler without SA_RESTART;
 *                                    with "restart", SA_RESTART and room made
 *                                    at 600 ms: the call goes on and completes)
 *   sandboxee waitsig                wait for SIGINT, print it, exit 0
 *   sandboxee exit N | raise SIG     exit status / death by signal
 *   sandboxee efault PORT            sendto with an unreadable buffer, address
 *   sandboxee connected PORT N       connect once, then N send()s
 *   sandboxee int80                  an i386 system call (int $0x80): the
 *                                    filter kills the process (x86-64 only)
 *   sandboxee protect                ptrace, process_vm_writev, pidfd_open of
 *                                    the parent (the supervisor)
 *
 * script lines: "OP FAMILY ADDR PORT|PATH FLAGS LEN" with OP one of sendto,
 * sendmsg, sendmmsg (unconnected datagram), csend (connect, then send() with
 * no destination), connect (stream connect), scm (sendmsg with SCM_RIGHTS);
 * FAMILY 4, 6, m (an IPv6 socket to ::ffff:ADDR), u (unix datagram path),
 * a (abstract), us (unix stream path). Each prints {"ret":N,"errno":E}.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char payload[1 << 16];

static void die(const char *what)
{
	printf("{\"error\":\"%s: %s\"}\n", what, strerror(errno));
	exit(3);
}

static struct sockaddr_in sin4(const char *addr, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	inet_pton(AF_INET, addr, &a.sin_addr);
	return a;
}

/* A destination by FAMILY letter; returns its length, 0 if unknown. */
static socklen_t dest(const char *fam, const char *addr, const char *port,
		      struct sockaddr_storage *ss, int *domain)
{
	memset(ss, 0, sizeof(*ss));
	if (!strcmp(fam, "4")) {
		*(struct sockaddr_in *)ss = sin4(addr, atoi(port));
		*domain = AF_INET;
		return sizeof(struct sockaddr_in);
	}
	if (!strcmp(fam, "6") || !strcmp(fam, "m")) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		char buf[80];

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)atoi(port));
		snprintf(buf, sizeof(buf), "%s%s", fam[0] == 'm' ? "::ffff:" : "", addr);
		inet_pton(AF_INET6, buf, &a->sin6_addr);
		*domain = AF_INET6;
		return sizeof(*a);
	}
	if (!strcmp(fam, "u") || !strcmp(fam, "us")) {
		struct sockaddr_un *u = (struct sockaddr_un *)ss;

		u->sun_family = AF_UNIX;
		memcpy(u->sun_path, port, strnlen(port, sizeof(u->sun_path) - 1));
		*domain = AF_UNIX;
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(u->sun_path) +
				   1);
	}
	if (!strcmp(fam, "a")) {
		struct sockaddr_un *u = (struct sockaddr_un *)ss;

		u->sun_family = AF_UNIX;
		memcpy(u->sun_path + 1, port, strlen(port));
		*domain = AF_UNIX;
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(port));
	}
	return 0;
}

static void result(long ret, int err)
{
	printf("{\"ret\":%ld,\"errno\":%d}\n", ret, ret < 0 ? err : 0);
	fflush(stdout);
}

/* One scripted send. */
static void script_line(char *line)
{
	char op[16], fam[4], addr[64], port[128];
	unsigned int flags;
	long len, r = -1;
	struct sockaddr_storage ss;
	socklen_t alen;
	int domain = AF_INET, fd, type, err = 0;

	if (sscanf(line, "%15s %3s %63s %127s %u %ld", op, fam, addr, port, &flags, &len) != 6 ||
	    len < 0 || len > (long)sizeof(payload)) {
		printf("{\"error\":\"bad line\"}\n");
		fflush(stdout);
		return;
	}
	alen = dest(fam, addr, port, &ss, &domain);
	type = !strcmp(op, "connect") || !strcmp(fam, "us") ? SOCK_STREAM : SOCK_DGRAM;
	fd = socket(domain, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	errno = 0;
	if (!strcmp(op, "sendto")) {
		r = sendto(fd, payload, (size_t)len, (int)flags, (struct sockaddr *)&ss, alen);
	} else if (!strcmp(op, "sendmsg") || !strcmp(op, "sendmmsg") || !strcmp(op, "scm")) {
		struct iovec iov = { payload, (size_t)len };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct mmsghdr mm = { .msg_hdr = { .msg_name = &ss,
						   .msg_namelen = alen,
						   .msg_iov = &iov,
						   .msg_iovlen = 1 } };

		if (!strcmp(op, "scm")) {
			struct cmsghdr *cm;

			memset(&u, 0, sizeof(u));
			mm.msg_hdr.msg_control = u.buf;
			mm.msg_hdr.msg_controllen = sizeof(u.buf);
			cm = CMSG_FIRSTHDR(&mm.msg_hdr);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		}
		if (!strcmp(op, "sendmmsg")) {
			r = sendmmsg(fd, &mm, 1, (int)flags);
			if (r == 1)
				r = mm.msg_len;
		} else {
			r = sendmsg(fd, &mm.msg_hdr, (int)flags);
		}
	} else if (!strcmp(op, "csend") || !strcmp(op, "connect")) {
		r = connect(fd, (struct sockaddr *)&ss, alen);
		if (!r && !strcmp(op, "csend"))
			r = send(fd, payload, (size_t)len, (int)flags);
	}
	err = errno;
	close(fd);
	result(r, err);
}

/* --- races ------------------------------------------------------------------- */

struct tally {
	long ok, eperm, other;
};

static void tally(struct tally *t, ssize_t r, ssize_t want)
{
	if (r == want)
		t->ok++;
	else if (errno == EPERM)
		t->eperm++;
	else
		t->other++;
}

static void tally_print(const struct tally *t)
{
	printf("{\"ok\":%ld,\"eperm\":%ld,\"other\":%ld}\n", t->ok, t->eperm, t->other);
}

static atomic_int stop;
static struct sockaddr_in shared_addr;
static struct msghdr shared_msg;
static int flip_a, flip_d;

static void *port_flipper(void *p)
{
	(void)p;
	while (!atomic_load(&stop)) {
		shared_addr.sin_port = htons((uint16_t)flip_d);
		__asm__ volatile("" ::: "memory");
		shared_addr.sin_port = htons((uint16_t)flip_a);
		__asm__ volatile("" ::: "memory");
	}
	return NULL;
}

static void sc_flip(int a, int d, long n)
{
	pthread_t th;
	struct tally t = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	flip_a = a;
	flip_d = d;
	shared_addr = sin4("127.0.0.1", a);
	pthread_create(&th, NULL, port_flipper, NULL);
	for (long i = 0; i < n; i++) {
		tally(&t,
		      sendto(fd, payload, 16, 0, (struct sockaddr *)&shared_addr,
			     sizeof(shared_addr)),
		      16);
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	tally_print(&t);
}

static void *name_flipper(void *p)
{
	struct sockaddr_in *denied = p;

	while (!atomic_load(&stop)) {
		shared_msg.msg_name = denied;
		shared_msg.msg_namelen = sizeof(*denied);
		__asm__ volatile("" ::: "memory");
		shared_msg.msg_name = NULL;
		shared_msg.msg_namelen = 0;
		__asm__ volatile("" ::: "memory");
	}
	return NULL;
}

static void sc_nullflip(int a, int d, long n)
{
	struct sockaddr_in peer = sin4("127.0.0.1", a), denied = sin4("127.0.0.1", d);
	struct iovec iov = { payload, 16 };
	struct tally t = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	pthread_t th;

	if (connect(fd, (struct sockaddr *)&peer, sizeof(peer)))
		die("connect");
	shared_msg.msg_iov = &iov;
	shared_msg.msg_iovlen = 1;
	pthread_create(&th, NULL, name_flipper, &denied);
	for (long i = 0; i < n; i++) {
		tally(&t, sendmsg(fd, &shared_msg, 0), 16);
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	tally_print(&t);
}

static int dup_udp, dup_tcp, dup_target;

static void *fd_flipper(void *p)
{
	(void)p;
	/* each socket stays in place a little while, so calls land on both */
	while (!atomic_load(&stop)) {
		dup2(dup_tcp, dup_target);
		for (volatile int k = 0; k < 2000; k++)
			;
		dup2(dup_udp, dup_target);
		for (volatile int k = 0; k < 2000; k++)
			;
	}
	return NULL;
}

static void sc_dupflip(int a, int tport, long n)
{
	struct sockaddr_in allowed = sin4("127.0.0.1", a), tp = sin4("127.0.0.1", tport);
	struct tally t = { 0 };
	pthread_t th;

	dup_udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	dup_tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(dup_tcp, (struct sockaddr *)&tp, sizeof(tp)))
		die("connect tcp");
	dup_target = dup(dup_udp);
	pthread_create(&th, NULL, fd_flipper, NULL);
	for (long i = 0; i < n; i++) {
		tally(&t,
		      sendto(dup_target, payload, 16, MSG_NOSIGNAL, (struct sockaddr *)&allowed,
			     sizeof(allowed)),
		      16);
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	tally_print(&t);
}

/* --- the rest ------------------------------------------------------------------ */

static void sc_uring(void)
{
	char params[120] = { 0 };
	long r = syscall(SYS_io_uring_setup, 4, params);

	result(r, errno);
}

static void sc_mmsg(int a, int d)
{
	struct sockaddr_in sa = sin4("127.0.0.1", a), sd = sin4("127.0.0.1", d);
	struct iovec iov[3] = { { payload, 10 }, { payload, 20 }, { payload, 30 } };
	struct mmsghdr mm[3];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r1, e1, r2, e2;

	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < 3; i++) {
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = i == 2 ? &sd : &sa;
		mm[i].msg_hdr.msg_namelen = sizeof(sa);
		mm[i].msg_len = 12345;
	}
	r1 = sendmmsg(fd, mm, 3, 0);
	e1 = errno;
	printf("{\"first\":{\"ret\":%d,\"errno\":%d,\"lens\":[%u,%u,%u]},", r1, r1 < 0 ? e1 : 0,
	       mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
	mm[0].msg_hdr.msg_name = &sd;
	mm[1].msg_hdr.msg_name = &sa;
	errno = 0;
	r2 = sendmmsg(fd, mm, 2, 0);
	e2 = errno;
	printf("\"second\":{\"ret\":%d,\"errno\":%d}}\n", r2, r2 < 0 ? e2 : 0);
}

static int stall_fd;
static atomic_long stall_t;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *staller(void *p)
{
	struct iovec iov = { payload, 4096 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	(void)p;
	r = sendmsg(stall_fd, &mh, 0); /* blocks: the peer is full */
	atomic_store(&stall_t, r == 4096 ? now_ms() : -1);
	return NULL;
}

static void sc_stall(int port, long n)
{
	struct sockaddr_in to = sin4("127.0.0.1", port);
	struct iovec iov = { payload, 32 };
	struct msghdr mh = {
		.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1
	};
	int sv[2], udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 4096;
	long ok = 0, t0, t_sends, t_drain;
	pthread_t th;
	char buf[65536];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair");
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	while (send(sv[0], payload, 4096, 0) > 0)
		;
	fcntl(sv[0], F_SETFL, 0);
	stall_fd = sv[0];
	pthread_create(&th, NULL, staller, NULL);
	usleep(200000);
	t0 = now_ms();
	for (long i = 0; i < n; i++)
		ok += sendmsg(udp, &mh, 0) == 32;
	t_sends = now_ms();
	/* the blocked thread must still be blocked, then finish once there is room */
	long blocked = atomic_load(&stall_t) == 0;
	usleep(100000);
	t_drain = now_ms();
	while (atomic_load(&stall_t) == 0) {
		if (recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			usleep(1000);
		if (now_ms() - t_drain > 10000)
			break;
	}
	pthread_join(th, NULL);
	printf("{\"sent\":%ld,\"sends_ms\":%ld,\"blocked_meanwhile\":%ld,\"stalled_done\":%d}\n",
	       ok, t_sends - t0, blocked, atomic_load(&stall_t) > 0);
}

static void sc_scm(const char *path)
{
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), pfd[2];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { "fd", 2 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	char got[16] = { 0 };
	ssize_t r, n;

	snprintf(to.sun_path, sizeof(to.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)))
		die("connect");
	if (pipe(pfd))
		die("pipe");
	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pfd[1], sizeof(int));
	r = sendmsg(fd, &mh, 0);
	int e = errno;
	close(pfd[1]);
	n = r == 2 ? read(pfd[0], got, sizeof(got) - 1) : -1;
	printf("{\"ret\":%ld,\"errno\":%d,\"read\":\"%s\"}\n", (long)r, r < 0 ? e : 0,
	       n > 0 ? got : "");
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static void sc_eintr(bool restart)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0 };
	struct iovec iov = { payload, 4096 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int sv[2], one = 4096;
	long t0;
	ssize_t r;

	sigaction(SIGUSR1, &sa, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair");
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	while (send(sv[0], payload, 4096, 0) > 0)
		;
	fcntl(sv[0], F_SETFL, 0);
	if (fork() == 0) {
		char buf[65536];

		usleep(300000);
		kill(getppid(), SIGUSR1);
		if (restart) {
			usleep(300000);
			while (recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
		}
		_exit(0);
	}
	t0 = now_ms();
	r = sendmsg(sv[0], &mh, 0);
	printf("{\"ret\":%ld,\"errno\":%d,\"ms\":%ld,\"handler\":%d}\n", (long)r, r < 0 ? errno : 0,
	       now_ms() - t0, (int)got_usr1);
}

static volatile sig_atomic_t got_int;

static void on_int(int sig)
{
	(void)sig;
	got_int = 1;
}

static void sc_connected(int port, long n)
{
	struct sockaddr_in to = sin4("127.0.0.1", port);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	long ok = 0;

	if (connect(fd, (struct sockaddr *)&to, sizeof(to)))
		die("connect");
	for (long i = 0; i < n; i++)
		ok += send(fd, payload, 64, 0) == 64;
	printf("{\"sent\":%ld}\n", ok);
}

int main(int argc, char **argv)
{
	char line[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: see the header of tests/helpers/sandboxee.c\n");
		return 2;
	}
	if (!strcmp(argv[1], "script")) {
		while (fgets(line, sizeof(line), stdin))
			script_line(line);
	} else if (!strcmp(argv[1], "flip") && argc == 5) {
		sc_flip(atoi(argv[2]), atoi(argv[3]), atol(argv[4]));
	} else if (!strcmp(argv[1], "nullflip") && argc == 5) {
		sc_nullflip(atoi(argv[2]), atoi(argv[3]), atol(argv[4]));
	} else if (!strcmp(argv[1], "dupflip") && argc == 5) {
		sc_dupflip(atoi(argv[2]), atoi(argv[3]), atol(argv[4]));
	} else if (!strcmp(argv[1], "uring")) {
		sc_uring();
	} else if (!strcmp(argv[1], "mmsg") && argc == 4) {
		sc_mmsg(atoi(argv[2]), atoi(argv[3]));
	} else if (!strcmp(argv[1], "stall") && argc == 4) {
		sc_stall(atoi(argv[2]), atol(argv[3]));
	} else if (!strcmp(argv[1], "scm") && argc == 3) {
		sc_scm(argv[2]);
	} else if (!strcmp(argv[1], "eintr")) {
		sc_eintr(argc > 2 && !strcmp(argv[2], "restart"));
	} else if (!strcmp(argv[1], "waitsig")) {
		sigset_t block, old;

		/* Blocked until sigsuspend: a SIGINT right after "ready" is not lost. */
		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigprocmask(SIG_BLOCK, &block, &old);
		signal(SIGINT, on_int);
		printf("{\"ready\":true}\n");
		while (!got_int)
			sigsuspend(&old);
		printf("{\"sigint\":true}\n");
	} else if (!strcmp(argv[1], "exit") && argc == 3) {
		return atoi(argv[2]);
	} else if (!strcmp(argv[1], "raise") && argc == 3) {
		signal(atoi(argv[2]), SIG_DFL);
		raise(atoi(argv[2]));
		return 0;
	} else if (!strcmp(argv[1], "efault") && argc == 3) {
		struct sockaddr_in to = sin4("127.0.0.1", atoi(argv[2]));
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		long r1 = sendto(fd, (void *)16, 8, 0, (struct sockaddr *)&to, sizeof(to));
		int e1 = errno;
		long r2 = sendto(fd, payload, 8, 0, (struct sockaddr *)16, sizeof(to));

		printf("{\"buf\":{\"ret\":%ld,\"errno\":%d},\"addr\":{\"ret\":%ld,\"errno\":%d}}\n",
		       r1, e1, r2, errno);
	} else if (!strcmp(argv[1], "int80")) {
#if defined(__x86_64__)
		long r = 20; /* getpid in the i386 table */

		printf("{\"ready\":true}\n");
		fflush(stdout);
		__asm__ volatile("int $0x80" : "+a"(r) : : "memory");
		printf("{\"survived\":%ld}\n", r);
#else
		printf("{\"skip\":\"not x86-64\"}\n");
#endif
	} else if (!strcmp(argv[1], "protect")) {
		pid_t sup = getppid();
		char b[8] = { 0 };
		struct iovec l = { b, 8 }, r = { b, 8 };
		long r1 = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, sup, 0, 0);
		int e1 = errno;
		long r2 = syscall(SYS_process_vm_writev, sup, &l, 1, &r, 1, 0);
		int e2 = errno;
		long r3 = syscall(SYS_pidfd_open, sup, 0);

		printf("{\"ptrace\":%d,\"vm_writev\":%d,\"pidfd_open\":%d}\n", r1 < 0 ? e1 : 0,
		       r2 < 0 ? e2 : 0, r3 < 0 ? errno : 0);
	} else if (!strcmp(argv[1], "connected") && argc == 4) {
		sc_connected(atoi(argv[2]), atol(argv[3]));
	} else {
		fprintf(stderr, "sandboxee: unknown scenario\n");
		return 2;
	}
	return 0;
}
