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
 *
 * Unix paths mean the socket file, not its spelling: a datagram to a path
 * ("//", ".", "..", relative, a symlink, /proc/self/cwd/...) is judged in
 * unix_may_send, once the kernel has looked the socket up, by the address
 * that socket was bound to (socket_sendmsg keeps the message for it); a
 * stream connect in unix_stream_connect the same way. Sends on a connected
 * socket are judged by its peer's bound address already (sock.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sendguard.h"
#include "kernel.bpf.h"
#include "sock.bpf.h"
#include "policy.bpf.h"
#include "task.bpf.h"
#include "msghdr.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The daemon: never judged; cleared when a --persist daemon exits (see enforce.bpf.c). */
__u32 self_tgid = 0;
/*
 * --cgroup: judge only the tasks of this cgroup v2 subtree (its id and level,
 * the root being level 0), as the cgroup hooks do; 0: every task.
 */
const volatile __u64 scope_cgroup_id = 0;
const volatile __u32 scope_level = 0;

/* Connect events the ring buffer had no room for; user space reports them as lost. */
__u64 lost_events = 0;

/*
 * Set by user space where no other program would report a message this one
 * fails that is not one of the three send syscalls' (write, io_uring, ...):
 * the other-paths program on the sock:sock_send_length tracepoint, which the
 * kernel reaches only after this hook let the message through, or none. Such
 * a denial is then this program's event.
 */
__u32 report_paths = 0;

/* Shared with trace.bpf.c (fd reused): denied unix stream connects go out here. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/*
 * socket_sendmsg -> unix_may_send, by thread: the message of a unix datagram
 * to a path, judged once the kernel has resolved the path. Written (or
 * cleared) at every unix datagram send of the thread, so a stale one is
 * never taken.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct sg_event);
} sg_lsm_unix_msg SEC(".maps");

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

/* Note the denial for the send's sys_exit program (sg_denied) and fail it. */
static __always_inline int sg_lsm_deny(__u32 tid, __u16 rule, __u32 version)
{
	sg_note_denial(tid, rule, version, SG_ENF_LSM);
	return -SG_EPERM;
}

/* Fail the call judged as e and write its event (no exit program will): -EPERM. */
static __always_inline int sg_lsm_report_deny(struct sg_event *e, __u16 rule, __u32 version)
{
	sg_stamp_denial(e, rule, version, SG_ENF_LSM);
	if (bpf_ringbuf_output(&events, e, sizeof(*e), 0))
		__sync_fetch_and_add(&lost_events, 1);
	return -SG_EPERM;
}

static __always_inline bool sg_lsm_skip(void)
{
	if (self_tgid && (__u32)(bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return true;
	return scope_cgroup_id &&
	       bpf_get_current_ancestor_cgroup_id(scope_level) != scope_cgroup_id;
}

static __always_inline int sg_lsm(struct socket *sock, struct msghdr *msg, int size, int prev,
				  const int v)
{
	struct task_struct *task;
	struct sock *sk;
	struct sg_event *e;
	__u32 version = 0;
	__u16 rule = SG_NO_RULE;
	__u8 verdict = SG_VERDICT_ALLOW;
	__u32 iovlen;
	__s32 fd;

	if (prev)
		return prev;
	if (sg_lsm_skip())
		return 0;
	/* The evaluator's input serves as scratch (an event is too big for the stack). */
	e = sg_pol_input_event();
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	task = sg_fill_task(e, v);
	/* The path the message came by: a send syscall, write, io_uring, ... */
	e->syscall = sg_path_of(task, &fd, &iovlen, v);
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
	/* A unix datagram to a path: judged by the socket it reaches (unix_may_send). */
	if (sk && e->sock_family == SG_AF_UNIX && !sg_peer_decides(e)) {
		__u32 tid = e->tid;

		if (e->dst_source == SG_DST_MSG && e->addr_len > 2 && e->addr[2]) {
			bpf_map_update_elem(&sg_lsm_unix_msg, &tid, e, BPF_ANY);
			return 0;
		}
		bpf_map_delete_elem(&sg_lsm_unix_msg, &tid);
	}

	sg_policy_judge(e, &rule, &verdict, &version, v);
	if (verdict != SG_VERDICT_DENY)
		return 0;
	if (report_paths && e->syscall != SG_SYSCALL_SENDTO && e->syscall != SG_SYSCALL_SENDMSG &&
	    e->syscall != SG_SYSCALL_SENDMMSG) {
		e->fd = fd;
		e->iovlen = iovlen;
		return sg_lsm_report_deny(e, rule, version);
	}
	return sg_lsm_deny(e->tid, rule, version);
}

/*
 * unix_may_send: a unix datagram is about to go to @other, the socket its
 * path resolved to. Judge the message socket_sendmsg kept by that socket's
 * bound address, and tell the send's event what it reached.
 */
static __always_inline int sg_lsm_judge_unix_send(struct socket *other, int prev, const int v)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), version = 0, sc;
	struct sg_unix_reach r;
	struct sg_event *e, *m;
	__u16 rule = SG_NO_RULE;
	__u8 verdict = SG_VERDICT_ALLOW;
	struct sock *osk;

	if (prev)
		return prev;
	if (sg_lsm_skip())
		return 0;
	m = bpf_map_lookup_elem(&sg_lsm_unix_msg, &tid);
	e = sg_pol_input_event();
	osk = other->sk;
	if (!m || !e || !osk)
		return 0;
	__builtin_memcpy(e, m, sizeof(*e));
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	e->flags &= ~SG_EF_ADDR_TRUNC;
	if (!sg_unix_bound(e, osk, v))
		return 0;
	e->dst_source = SG_DST_RESOLVED;
	/* A sendto/sendmsg's event names what was reached (sendmmsg: one per call). */
	sc = sg_send_syscall(bpf_get_current_task_btf());
	if (sc == SG_SYSCALL_SENDTO || sc == SG_SYSCALL_SENDMSG) {
		__builtin_memset(&r, 0, sizeof(r));
		r.addr_len = e->addr_len;
		__builtin_memcpy(r.addr, e->addr, sizeof(r.addr));
		bpf_map_update_elem(&sg_unix_reached, &tid, &r, BPF_ANY);
	}
	sg_policy_judge(e, &rule, &verdict, &version, v);
	return verdict == SG_VERDICT_DENY ? sg_lsm_deny(tid, rule, version) : 0;
}

/*
 * unix_stream_connect: @sock connects to @other, the socket its path resolved
 * to: judged like a cgroup connect hook judges (the hook's view: no flags,
 * control messages or length yet) by @other's bound address. A denial is its
 * own "connect" event.
 */
static __always_inline int sg_lsm_judge_unix_connect(struct sock *sock, struct sock *other,
						     int prev, const int v)
{
	__u32 version = 0;
	__u16 rule = SG_NO_RULE;
	struct sg_event *e;

	if (prev)
		return prev;
	if (sg_lsm_skip())
		return 0;
	e = sg_pol_input_event();
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	sg_fill_task(e, v);
	sg_fill_sock_ids(e, sock, v);
	e->fd = -1;
	e->syscall = SG_SYSCALL_CONNECT;
	if (!sg_unix_bound(e, other, v))
		return 0;
	e->dst_source = SG_DST_RESOLVED;
	if (!sg_policy_hook_denies(e, &rule, &version, v))
		return 0;
	return sg_lsm_report_deny(e, rule, version);
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

SEC("lsm/unix_may_send")
int BPF_PROG(sg_lsm_unix_send, struct socket *sock, struct socket *other, int prev)
{
	return sg_lsm_judge_unix_send(other, prev, SG_VAR_BTF);
}

SEC("lsm/unix_may_send")
int BPF_PROG(sg_lsm_unix_send_core, struct socket *sock, struct socket *other, int prev)
{
	return sg_lsm_judge_unix_send(other, prev, SG_VAR_CORE);
}

SEC("lsm/unix_stream_connect")
int BPF_PROG(sg_lsm_unix_conn, struct sock *sock, struct sock *other, struct sock *newsk, int prev)
{
	return sg_lsm_judge_unix_connect(sock, other, prev, SG_VAR_BTF);
}

SEC("lsm/unix_stream_connect")
int BPF_PROG(sg_lsm_unix_conn_core, struct sock *sock, struct sock *other, struct sock *newsk,
	     int prev)
{
	return sg_lsm_judge_unix_connect(sock, other, prev, SG_VAR_CORE);
}
