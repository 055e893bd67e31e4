// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * floor: attach one of bench/floor.bpf.c's empty programs until SIGTERM or
 * SIGINT (bench/run.py, scenarios "floor" and "floor-hook").
 *
 *   floor tracepoint           syscalls:sys_exit_sendto
 *   floor paths                sock:sock_send_length (tp_btf)
 *   floor sys_exit             raw_syscalls:sys_exit (tp_btf), filtered to sendto early
 *   floor sendmsg4 CGROUP_DIR  cgroup sendmsg4 on that cgroup v2 directory
 *
 * Prints "ready" on stderr once attached, and on exit "runs N" (how often the
 * program ran: a check that it was really in the path). Exit 0; 1 when the
 * program cannot be loaded or attached; 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "bench/floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct bpf_link *link = NULL;
	struct bpf_program *prog, *p;
	struct floor_bpf *skel;
	bool hook;
	sigset_t none;
	int fd;

	hook = argc == 3 && !strcmp(argv[1], "sendmsg4");
	if (!hook && !(argc == 2 && (!strcmp(argv[1], "tracepoint") || !strcmp(argv[1], "paths") ||
				     !strcmp(argv[1], "sys_exit")))) {
		fprintf(stderr, "usage: floor tracepoint | floor paths | floor sys_exit | "
				"floor sendmsg4 CGROUP_DIR\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	prog = hook			      ? skel->progs.floor_sendmsg4
	       : !strcmp(argv[1], "paths")    ? skel->progs.floor_sock_send_length
	       : !strcmp(argv[1], "sys_exit") ? skel->progs.floor_sys_exit
					      : skel->progs.floor_sys_exit_sendto;
	bpf_object__for_each_program (p, skel->obj)
		bpf_program__set_autoload(p, p == prog);
	if (floor_bpf__load(skel)) {
		fprintf(stderr, "floor: cannot load the BPF program: %s\n", strerror(errno));
		floor_bpf__destroy(skel);
		return 1;
	}
	if (hook) {
		fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			link = bpf_program__attach_cgroup(skel->progs.floor_sendmsg4, fd);
			close(fd);
		}
	} else {
		link = bpf_program__attach(prog);
	}
	if (!link) {
		fprintf(stderr, "floor: cannot attach: %s\n", strerror(errno));
		floor_bpf__destroy(skel);
		return 1;
	}
	fprintf(stderr, "ready\n");
	sigemptyset(&none);
	while (!stop)
		sigsuspend(&none);
	fprintf(stderr, "runs %llu\n", (unsigned long long)skel->bss->runs);
	bpf_link__destroy(link);
	floor_bpf__destroy(skel);
	return 0;
}
