// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sendloop: the workload of the overhead benchmarks (README, "Performance"): a tight loop of 64-byte
 * UDP sends to loopback.
 *
 *   sendloop [--connected | --write | --getppid] [--cpu N] [--warmup N] [--chunks K] ITERATIONS
 *
 * Destination: a UDP socket bound to 127.0.0.1 by this process, with the smallest receive
 * buffer the kernel allows and never read. After the first few datagrams its queue is full,
 * so every timed send takes the same path: the whole UDP/IP transmit path, loopback receive,
 * socket lookup and a drop at the full receive queue. The sender's sendto() still returns 64
 * (loopback UDP does not report receive-side drops), the sender's skb is freed at once so its
 * send buffer never fills (no ENOBUFS/EAGAIN), and no ICMP is generated. A port without a
 * listener is not used: it makes the kernel send ICMP port-unreachable for every datagram
 * (not rate limited on loopback) and turns a connected socket's next send into ECONNREFUSED.
 *
 * Default mode is unconnected sendto(); --connected connects first and uses send(), which
 * the kernel also reports as a sendto syscall; --write connects and uses write(), a send
 * the other-paths program traces (at the socket layer). --getppid sends nothing: it loops
 * on getppid(), a system call no tracer looks at, to measure what tracing the send system
 * calls costs every other system call (any syscall tracepoint puts every system call of
 * every task on the kernel's slow path). --warmup sends (untimed) happen before the
 * timed loop; every send, warmup included, is a traced sendto.
 *
 * The timed loop is cut into K chunks (default 50) timed separately, so that a reader can
 * also see the median chunk, which a burst of unrelated load on a shared core does not move.
 * It is a secondary figure: a cost that comes in rare bursts (a wakeup every many events) is
 * in the total but may be missed by the median chunk.
 *
 * Prints one JSON line:
 *   {"pid":P,"mode":"sendto","iterations":N,"warmup":W,"ns":T,"ns_per_op":X,
 *    "chunks":K,"chunk_ns_per_op_median":M,"chunk_ns_per_op_min":m,"errors":E}
 * where errors counts timed sends that did not return 64. Exit 0, 1 on setup failure, 2 on
 * bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD_LEN 64
#define MAX_CHUNKS  10000

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sendloop [--connected | --write | --getppid] [--cpu N] [--warmup N] "
		   "[--chunks K] ITERATIONS\n");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sends n datagrams; returns how many did not return PAYLOAD_LEN. */
static long send_n(int fd, long n, int connected, const struct sockaddr_in *dst)
{
	static char payload[PAYLOAD_LEN];
	long errors = 0;
	ssize_t r;

	for (long i = 0; i < n; i++) {
		if (connected == 3) {
			if (syscall(SYS_getppid) < 0)
				errors++;
			continue;
		}
		if (connected == 2)
			r = write(fd, payload, sizeof(payload));
		else if (connected)
			r = send(fd, payload, sizeof(payload), 0);
		else
			r = sendto(fd, payload, sizeof(payload), 0, (const struct sockaddr *)dst,
				   sizeof(*dst));
		if (r != PAYLOAD_LEN)
			errors++;
	}
	return errors;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connected", no_argument, NULL, 'c' },
		{ "write", no_argument, NULL, 'W' },
		{ "getppid", no_argument, NULL, 'P' },
		{ "cpu", required_argument, NULL, 'C' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "chunks", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sockaddr_in dst = { .sin_family = AF_INET };
	socklen_t alen = sizeof(dst);
	static double chunk_ns[MAX_CHUNKS];
	long iterations, cpu = -1, warmup = 1000, chunks = 50, errors = 0, done = 0;
	int connected = 0, rx = -1, tx = -1, rcvbuf = 1, opt, ret = 1;
	uint64_t t0, t1;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			connected = 1;
			break;
		case 'W':
			connected = 2;
			break;
		case 'P':
			connected = 3;
			break;
		case 'C':
			if (parse_long(optarg, 0, CPU_SETSIZE - 1, &cpu)) {
				fprintf(stderr, "sendloop: bad --cpu '%s'\n", optarg);
				return 2;
			}
			break;
		case 'w':
			if (parse_long(optarg, 0, LONG_MAX, &warmup)) {
				fprintf(stderr, "sendloop: bad --warmup '%s'\n", optarg);
				return 2;
			}
			break;
		case 'k':
			if (parse_long(optarg, 1, MAX_CHUNKS, &chunks)) {
				fprintf(stderr, "sendloop: bad --chunks '%s' (1-%d)\n", optarg,
					MAX_CHUNKS);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || parse_long(argv[optind], 1, LONG_MAX, &iterations)) {
		usage(stderr);
		return 2;
	}
	if (chunks > iterations)
		chunks = iterations;

	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			fprintf(stderr, "sendloop: cannot pin to CPU %ld: %s\n", cpu,
				strerror(errno));
			return 1;
		}
	}

	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rx < 0 || tx < 0) {
		fprintf(stderr, "sendloop: socket: %s\n", strerror(errno));
		goto cleanup;
	}
	/* The kernel rounds this up to its minimum: the queue is full after a few datagrams. */
	if (setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) ||
	    bind(rx, (struct sockaddr *)&dst, sizeof(dst)) ||
	    getsockname(rx, (struct sockaddr *)&dst, &alen)) {
		fprintf(stderr, "sendloop: receiver setup: %s\n", strerror(errno));
		goto cleanup;
	}
	if (connected && connected != 3 && connect(tx, (struct sockaddr *)&dst, sizeof(dst))) {
		fprintf(stderr, "sendloop: connect: %s\n", strerror(errno));
		goto cleanup;
	}

	send_n(tx, warmup, connected, &dst);
	t0 = t1 = now_ns();
	for (long c = 0; c < chunks; c++) {
		/* Spread the remainder so the chunks cover exactly ITERATIONS sends. */
		long n = iterations * (c + 1) / chunks - done;
		uint64_t t = t1;

		errors += send_n(tx, n, connected, &dst);
		t1 = now_ns();
		chunk_ns[c] = (double)(t1 - t) / (double)n;
		done += n;
	}
	qsort(chunk_ns, chunks, sizeof(chunk_ns[0]), cmp_double);

	printf("{\"pid\":%d,\"mode\":\"%s\",\"iterations\":%ld,\"warmup\":%ld,\"ns\":%llu,"
	       "\"ns_per_op\":%.2f,\"chunks\":%ld,\"chunk_ns_per_op_median\":%.2f,"
	       "\"chunk_ns_per_op_min\":%.2f,\"errors\":%ld}\n",
	       (int)getpid(),
	       connected == 3	? "getppid"
	       : connected == 2 ? "write"
	       : connected	? "send"
				: "sendto",
	       iterations, warmup, (unsigned long long)(t1 - t0),
	       (double)(t1 - t0) / (double)iterations, chunks,
	       chunks % 2 ? chunk_ns[chunks / 2]
			  : (chunk_ns[chunks / 2 - 1] + chunk_ns[chunks / 2]) / 2,
	       chunk_ns[0], errors);
	ret = 0;
cleanup:
	if (tx >= 0)
		close(tx);
	if (rx >= 0)
		close(rx);
	return ret;
}
