// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Encoder micro-benchmark (README "Performance": >= 1,000,000 events/s on one core).
 * Encodes a realistic sendmsg event (inet6 destination, two flags, one cmsg,
 * exe and cgroup strings) into a reused buffer, timestamps advancing, for
 * about 3 s or -n N events; then the same object built with json-c.
 *
 * Usage: json_bench [-n EVENTS] [-t SECONDS] [-q]   (-q: skip json-c)
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "event.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_event(struct sg_event *e)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };

	memset(e, 0, sizeof(*e));
	e->ts_ns = 123456789012345ULL;
	e->cgroup_id = 4711;
	e->pid = 812;
	e->tid = 815;
	e->ppid = 1;
	e->uid = 1000;
	e->gid = 1000;
	memcpy(e->comm, "resolver", 8);
	e->fd = 7;
	e->syscall = SG_SYSCALL_SENDMSG;
	e->flags = SG_EF_SOCK | SG_EF_CONTROL;
	e->sock_family = AF_INET6;
	e->sock_type = SOCK_DGRAM;
	e->sock_protocol = IPPROTO_UDP;
	inet_pton(AF_INET6, "2001:db8:85a3::8a2e:370:7334", &sin6.sin6_addr);
	memcpy(e->addr, &sin6, sizeof(sin6));
	e->addr_len = sizeof(sin6);
	e->dst_source = SG_DST_MSG;
	e->msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
	e->len = 1232;
	e->iovlen = 2;
	e->controllen = 40;
	e->ncmsgs = 1;
	e->cmsgs[0] = (struct sg_cmsg){ .level = IPPROTO_IPV6, .type = IPV6_PKTINFO, .len = 36 };
	e->ret = 1232;
	e->verdict = SG_VERDICT_ALLOW;
	e->rule = 1;
	e->policy_version = 3;
}

/* The same record with json-c, as a daemon built on it would write it. */
static size_t jsonc_encode(const struct sg_event *e, uint64_t seq, const struct sg_enrich *x,
			   const char *ts)
{
	struct json_object *o = json_object_new_object(), *proc, *sock, *dst, *flags, *ctl, *cmsgs,
			   *cm, *pol;
	char addr[INET6_ADDRSTRLEN];
	size_t n;

	json_object_object_add(o, "v", json_object_new_int(1));
	json_object_object_add(o, "seq", json_object_new_uint64(seq));
	json_object_object_add(o, "ts", json_object_new_string(ts));
	json_object_object_add(o, "type", json_object_new_string("send"));
	json_object_object_add(o, "syscall", json_object_new_string("sendmsg"));
	proc = json_object_new_object();
	json_object_object_add(proc, "pid", json_object_new_int64(e->pid));
	json_object_object_add(proc, "tid", json_object_new_int64(e->tid));
	json_object_object_add(proc, "ppid", json_object_new_int64(e->ppid));
	json_object_object_add(proc, "uid", json_object_new_int64(e->uid));
	json_object_object_add(proc, "gid", json_object_new_int64(e->gid));
	json_object_object_add(proc, "comm",
			       json_object_new_string_len((const char *)e->comm,
							  (int)strnlen((const char *)e->comm, 16)));
	json_object_object_add(proc, "exe", json_object_new_string(x->exe));
	json_object_object_add(proc, "cgroup_id", json_object_new_uint64(e->cgroup_id));
	json_object_object_add(proc, "cgroup", json_object_new_string(x->cgroup));
	json_object_object_add(o, "proc", proc);
	json_object_object_add(o, "fd", json_object_new_int(e->fd));
	sock = json_object_new_object();
	json_object_object_add(sock, "family", json_object_new_string("inet6"));
	json_object_object_add(sock, "type", json_object_new_string("dgram"));
	json_object_object_add(sock, "protocol", json_object_new_string("udp"));
	json_object_object_add(o, "sock", sock);
	dst = json_object_new_object();
	inet_ntop(AF_INET6, e->addr + 8, addr, sizeof(addr));
	json_object_object_add(dst, "family", json_object_new_string("inet6"));
	json_object_object_add(dst, "addr", json_object_new_string(addr));
	json_object_object_add(dst, "port", json_object_new_int(443));
	json_object_object_add(dst, "scope_id", json_object_new_int(0));
	json_object_object_add(o, "dst", dst);
	json_object_object_add(o, "dst_source", json_object_new_string("msg"));
	flags = json_object_new_array();
	json_object_array_add(flags, json_object_new_string("MSG_DONTWAIT"));
	json_object_array_add(flags, json_object_new_string("MSG_NOSIGNAL"));
	json_object_object_add(o, "flags", flags);
	json_object_object_add(o, "flags_raw", json_object_new_int64(e->msg_flags));
	json_object_object_add(o, "len", json_object_new_uint64(e->len));
	json_object_object_add(o, "iovlen", json_object_new_int64(e->iovlen));
	ctl = json_object_new_object();
	json_object_object_add(ctl, "len", json_object_new_int64(e->controllen));
	cmsgs = json_object_new_array();
	cm = json_object_new_object();
	json_object_object_add(cm, "level", json_object_new_string("IPPROTO_IPV6"));
	json_object_object_add(cm, "type", json_object_new_string("IPV6_PKTINFO"));
	json_object_array_add(cmsgs, cm);
	json_object_object_add(ctl, "cmsgs", cmsgs);
	json_object_object_add(o, "control", ctl);
	json_object_object_add(o, "ret", json_object_new_int64(e->ret));
	json_object_object_add(o, "errno", NULL);
	pol = json_object_new_object();
	json_object_object_add(pol, "verdict", json_object_new_string("allow"));
	json_object_object_add(pol, "rule", json_object_new_string(x->rule_name));
	json_object_object_add(pol, "version", json_object_new_int64(e->policy_version));
	json_object_object_add(pol, "enforced_by", NULL);
	json_object_object_add(o, "policy", pol);
	n = strlen(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return n;
}

int main(int argc, char **argv)
{
	const struct sg_enrich x = { .exe = "/usr/sbin/resolver",
				     .cgroup = "/system.slice/resolver.service",
				     .rule_name = "dns" };
	struct sg_event e;
	struct sg_clock clk;
	struct sg_outbuf b;
	uint64_t n = 0, i, bytes = 0, limit = 0;
	double secs = 3.0, t0, t, rate;
	int opt, quick = 0, err;

	while ((opt = getopt(argc, argv, "n:t:q")) != -1) {
		switch (opt) {
		case 'n':
			limit = strtoull(optarg, NULL, 10);
			break;
		case 't':
			secs = strtod(optarg, NULL);
			break;
		case 'q':
			quick = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-n EVENTS] [-t SECONDS] [-q]\n", argv[0]);
			return 2;
		}
	}

	make_event(&e);
	sg_clock_init(&clk);
	err = sg_outbuf_init(&b, 1 << 16);
	if (err) {
		fprintf(stderr, "json_bench: %s\n", strerror(-err));
		return 1;
	}

	/* like the daemon: records accumulate in a buffer flushed every 64 KiB */
	t0 = now_s();
	for (;;) {
		for (i = 0; i < 4096; i++) {
			e.ts_ns += 997; /* ~1M events/s: the second changes now and then */
			err = sg_event_to_json(&b, n + i, &e, &x, &clk);
			if (err) {
				fprintf(stderr, "json_bench: %s\n", strerror(-err));
				return 1;
			}
			if (b.len >= 60000) {
				bytes += b.len;
				sg_outbuf_reset(&b);
			}
		}
		n += 4096;
		t = now_s() - t0;
		if (limit ? n >= limit : t >= secs)
			break;
	}
	bytes += b.len;
	rate = (double)n / t;
	printf("sendguard encoder: %.0f events/s (%" PRIu64
	       " events in %.2f s, %.0f bytes/event)\n",
	       rate, n, t, (double)bytes / (double)n);
	sg_outbuf_reset(&b);
	sg_event_to_json(&b, 1, &e, &x, &clk);
	printf("sample: %.*s", (int)b.len, b.data);

	if (!quick) {
		uint64_t m = 0;
		double t1 = now_s(), tj;

		for (;;) {
			for (i = 0; i < 1024; i++)
				bytes += jsonc_encode(&e, m + i, &x,
						      "2026-11-22T21:50:01.123456789Z");
			m += 1024;
			tj = now_s() - t1;
			if (tj >= secs / 3)
				break;
		}
		printf("json-c equivalent: %.0f events/s (%.1fx slower)\n", (double)m / tj,
		       rate / ((double)m / tj));
	}
	printf("target 1000000 events/s: %s\n", rate >= 1000000.0 ? "met" : "MISSED");
	sg_outbuf_free(&b);
	return 0;
}
