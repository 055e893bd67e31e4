// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sendguard BPF-LSM enforcement: socket_sendmsg, called for every message of
 * sendto/sendmsg/sendmmsg (and write/send on sockets) after the kernel has
 * copied msg_name and msg_control from user memory, so a racing thread cannot
 * change what is judged. It judges the full policy (SG_EVAL_FULL, every key)
 * with the shared evaluator and fails a denied message with EPERM; the
 * send's sys_exit tracepoint reports it (sg_denied, enforced_by lsm).
 *
 * Needs a kernel with CONFIG_BPF_LSM, "bpf" in the active LSMs and BPF
 * trampolines; sendguardd probes it by loading and runs without it where
 * the kernel refuses (some kernels refuse fentry/LSM programs with EPERM).
 * The policy maps and sg_denied are the tracing object's (fds reused).
 * Two variants (variant.bpf.h): SG_VAR_BTF and SG_VAR_CORE ("_core"); every
 * kernel with BPF-LSM and trampolines has what SG_VAR_CORE needs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sendguard.h"
#include "sock.bpf.h"
#include "policy.bpf.h"
#include "task.bpf.h"
#include "msghdr.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SG_EPERM 1

/* The daemon: never judged; cleared when a --persist daemon exits (see enforce.bpf.c). */
__u32 self_tgid = 0;
/*
 * --cgroup: judge only the tasks of this cgroup v2 subtree (its id and level,
 * the root being level 0), as the cgroup hooks do; 0: every task.
 */
const volatile __u64 scope_cgroup_id = 0;
const volatile __u32 scope_level = 0;

struct sg_kcmsghdr {
	__u64 cmsg_len;
	__s32 cmsg_level;
	__s32 cmsg_type;
};

/* The control messages of a kernel copy of msg_control (CMSG_NXTHDR walk). */
static __always_inline void sg_lsm_cmsgs(struct sg_event *e, const void *ctl, __u64 ctllen)
{
	struct sg_kcmsghdr h;
	__u64 off = 0;
	__u32 i;

	e->flags |= SG_EF_CONTROL;
	e->controllen = ctllen;
	for (i = 0; i < SG_MAX_CMSGS + 1; i++) {
		if (off + sizeof(h) > ctllen)
			break;
		if (bpf_probe_read_kernel(&h, sizeof(h), ctl + off))
			break;
		/* As the kernel's CMSG_OK (the protocol fails the call with EINVAL). */
		if (h.cmsg_len < sizeof(h) || h.cmsg_len > ctllen - off) {
			e->flags |= SG_EF_CMSG_BAD;
			break;
		}
		if (i == SG_MAX_CMSGS) {
			e->flags |= SG_EF_CMSG_TRUNC;
			break;
		}
		e->cmsgs[i].level = h.cmsg_level;
		e->cmsgs[i].type = h.cmsg_type;
		e->cmsgs[i].len = h.cmsg_len;
		e->ncmsgs = i + 1;
		off += (h.cmsg_len + 7) & ~7ULL;
	}
}

static __always_inline int sg_lsm(struct socket *sock, struct msghdr *msg, int size, int prev,
				  const int v)
{
	struct sg_denial d = { .enforced_by = SG_ENF_LSM };
	struct task_struct *task;
	struct sock *sk;
	struct sg_event *e;
	__u32 version = 0;
	__u16 rule = SG_NO_RULE;
	__u8 verdict = SG_VERDICT_ALLOW;

	if (prev)
		return prev;
	if (self_tgid && (__u32)(bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	if (scope_cgroup_id && bpf_get_current_ancestor_cgroup_id(scope_level) != scope_cgroup_id)
		return 0;
	/* The evaluator's input serves as scratch (an event is too big for the stack). */
	e = sg_pol_input_event();
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	task = sg_fill_task(e, v);
	/* The syscall the message came from; others (write, io_uring, ...) as sendmsg. */
	e->syscall = sg_send_syscall(task) ?: SG_SYSCALL_SENDMSG;
	sk = sock->sk;
	if (sk)
		sg_fill_sock_ids(e, sk, v);
	e->msg_flags = msg->msg_flags;
	e->len = size;
	/* A connected stream socket's peer is the destination, not a forged address. */
	if (!sg_fill_stream_peer(e, sk, v) &&
	    !sg_copy_name(e, (__u64)msg->msg_name, msg->msg_namelen, true) && sk)
		sg_fill_peer(e, sk, v);
	/* Kernel copies only: sendmsg copies msg_control in before this hook. */
	if (msg->msg_controllen && !(bpf_core_field_exists(msg->msg_control_is_user) &&
				     BPF_CORE_READ_BITFIELD(msg, msg_control_is_user)))
		sg_lsm_cmsgs(e, msg->msg_control, msg->msg_controllen);

	sg_policy_judge(e, &rule, &verdict, &version, v);
	if (verdict != SG_VERDICT_DENY)
		return 0;
	d.version = version;
	d.rule = rule;
	bpf_map_update_elem(&sg_denied, &e->tid, &d, BPF_ANY);
	return -SG_EPERM;
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(sg_lsm_sendmsg, struct socket *sock, struct msghdr *msg, int size, int prev)
{
	return sg_lsm(sock, msg, size, prev, SG_VAR_BTF);
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(sg_lsm_sendmsg_core, struct socket *sock, struct msghdr *msg, int size, int prev)
{
	return sg_lsm(sock, msg, size, prev, SG_VAR_CORE);
}
