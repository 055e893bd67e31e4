// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floors of the overhead benchmarks: programs that do nothing, attached
 * where sendguard attaches. What one costs a send is what any program there
 * pays before doing any work, so bench/run.py's "floor" scenarios measure how
 * much of a target this machine leaves for the work itself:
 *
 * floor_sys_exit_sendto  syscalls:sys_exit_sendto, the tracer's tracepoint
 *                        (the syscall slow path, the perf tracepoint glue,
 *                        the BPF dispatch)
 * floor_sock_send_length sock:sock_send_length (tp_btf), where the other send
 *                        paths (write, ...) are traced on 6.3+
 * floor_sys_exit         raw_syscalls:sys_exit (tp_btf), the generic exit
 *                        tracepoint with an early system-call-number filter
 *                        (what Falco's modern probe and Tracee attach to):
 *                        counts only sendto's exits
 * floor_sendmsg4         cgroup sendmsg4, the enforcement hook unconnected
 *                        UDP sends pass (the socket lock the kernel takes
 *                        around it, the sockaddr copy, the dispatch)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

__u64 runs = 0; /* not atomic: a sanity count, racy across CPUs */

SEC("tracepoint/syscalls/sys_exit_sendto")
int floor_sys_exit_sendto(void *ctx)
{
	runs++;
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(floor_sock_send_length, struct sock *sk, int ret, int flags)
{
	runs++;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_sys_exit, struct pt_regs *regs, long ret)
{
	if (regs->orig_ax != 44) /* __NR_sendto on x86_64 */
		return 0;
	runs++;
	return 0;
}

SEC("cgroup/sendmsg4")
int floor_sendmsg4(struct bpf_sock_addr *ctx)
{
	runs++;
	return 1;
}
