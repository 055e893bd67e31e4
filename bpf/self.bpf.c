// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The daemon's own tgid as the kernel sees it. bpf_get_current_pid_tgid()
 * in the other programs gives the tgid of the initial PID namespace; in a
 * PID namespace of its own (a container) the daemon's getpid() is another
 * number, often 1, and /proc there may not show the outer one. sendguardd
 * runs sg_self once with BPF_PROG_TEST_RUN, in its own context, and gives
 * the tgid it stores to the self filters of the other programs. Kernels
 * without syscall programs (before 5.14) get sg_self_tp instead: attached for
 * one getpgid(nonce) of the daemon's, the nonce a random number only it knows.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

__u32 self_tgid = 0;

__u32 nonce = 0; /* set by user space before attaching sg_self_tp */

SEC("syscall")
int sg_self(void *ctx)
{
	self_tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpgid")
int sg_self_tp(struct trace_event_raw_sys_enter *ctx)
{
	if (nonce && (__u32)ctx->args[0] == nonce && !self_tgid)
		self_tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	return 0;
}
