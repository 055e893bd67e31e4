// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sendguard: the messages that leave a socket by another way than sendto,
 * sendmsg and sendmmsg (trace.bpf.c): write, writev, sendfile, splice,
 * io_uring's send and sendmsg, ... Every one passes sock_sendmsg; this object
 * sees each there with its result, judges it by the same policy (a kill
 * verdict is enforced here; a deny is the hooks' to enforce, and an EPERM
 * they caused is theirs in the event, sg_denied) and writes it to the same
 * ring buffer, named by what brought it there (SG_SYSCALL_WRITE, ...).
 * A message inside one of the three send syscalls is left to their sys_exit
 * programs, which see more (the arguments, failures before the socket).
 *
 * Three variants (variant.bpf.h), each on what its kernels have:
 * SG_VAR_BTF     tp_btf on the sock:sock_send_length tracepoint (6.3+): the
 *                socket, the result and the flags; no message header, so a
 *                destination given in an io_uring sendmsg is not seen (the
 *                socket's peer is).
 * SG_VAR_CORE    fexit on sock_sendmsg (BPF trampolines, e.g. 6.1): the
 *                kernel's message header too.
 * SG_VAR_COMPAT  the same without bpf_get_current_task_btf/bpf_task_pt_regs
 *                (5.10): the path is not known ("other"; io-wq workers are
 *                "io_uring"); a traced send syscall is told by sg_calls.
 * The policy maps, sg_denied, sg_calls and the ring buffer are the tracing
 * object's (fds reused).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sendguard.h"
#include "kernel.bpf.h"
#include "sock.bpf.h"
#include "task.bpf.h"
#include "msghdr.bpf.h"
#include "policy.bpf.h"
#include "wakeup.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the daemon when sg_page_* is attached (kernels before 6.5). */
__u32 page_hooked = 0;

/*
 * Threads inside __sys_sendmsg_sock (io_uring's sendmsg, fexit variants): its
 * own programs report the message, with the header's address.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} sg_in_sendmsg_sock SEC(".maps");

/* The daemon's own sends are not traced: its tgid, set by user space. */
__u32 self_tgid = 0;

/* Records the ring buffer had no room for; user space reports them as lost. */
__u64 lost_events = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* Where a message was seen. */
#define SG_HOOK_SENDMSG	     0 /* sock_sendmsg: tracepoint or fexit */
#define SG_HOOK_PAGE	     1 /* fexit sock_sendpage */
#define SG_HOOK_WRITE	     2 /* fexit sock_write_iter */
#define SG_HOOK_SENDMSG_SOCK 3 /* fexit __sys_sendmsg_sock */

/* The iov_iter of 5.10-5.13: a type bit mask (ITER_KVEC a bit) with the direction. */
struct iov_iter___old {
	unsigned int type;
} __attribute__((preserve_access_index));

/* Whether msg's data is a kernel buffer (kernel_sendmsg), not the user's. */
static __always_inline bool sg_iter_is_kvec(struct msghdr *msg, const int v)
{
	__u32 kvec = bpf_core_enum_value(enum iter_type, ITER_KVEC);

	if (bpf_core_field_exists(struct iov_iter, iter_type))
		return BPF_CORE_READ(msg, msg_iter.iter_type) == kvec;
	return BPF_CORE_READ((struct iov_iter___old *)&msg->msg_iter, type) & kvec;
}

/*
 * One message that went through sock_sendmsg on @sk (@msg: its header, NULL
 * where the hook has none), @ret its result, @flags its msg_flags, seen by
 * @hook (SG_HOOK_*; PAGE and WRITE give the bytes offered, @size).
 */
static __always_inline int sg_message(struct sock *sk, struct msghdr *msg, long ret, __u32 flags,
				      const int hook, __u64 size, const int v)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct task_struct *task = SG_TASK(v);
	__u32 tid = (__u32)pid_tgid, version, path, iovlen, tflags;
	struct sg_event *e;
	__u16 rule;
	__u8 verdict;
	__s32 fd;

	if (self_tgid && (__u32)(pid_tgid >> 32) == self_tgid)
		return 0;
	tflags = SG_RD(v, task, flags);
	/* The kernel's own sockets (NFS, ...) are not sends of a process; io_uring's workers are. */
	if ((tflags & SG_PF_KTHREAD) && !(tflags & SG_PF_IO_WORKER))
		return 0;
	path = sg_path_of(task, &fd, &iovlen, v);
	/* The three send syscalls report their own messages, with more detail. */
	if (path == SG_SYSCALL_SENDTO || path == SG_SYSCALL_SENDMSG ||
	    path == SG_SYSCALL_SENDMMSG ||
	    (path == SG_SYSCALL_OTHER && v == SG_VAR_COMPAT &&
	     bpf_map_lookup_elem(&sg_calls, &tid) != NULL))
		return 0;
	/*
	 * Before 6.5 a sendfile or splice reaches the socket by sock_sendpage
	 * (sg_page_*), which reports it; a socket without a sendpage of its own
	 * then passes it on to sock_sendmsg as a kernel-built (kvec) message.
	 */
	if (hook != SG_HOOK_PAGE && page_hooked &&
	    (path == SG_SYSCALL_SENDFILE || path == SG_SYSCALL_SPLICE ||
	     (path == SG_SYSCALL_OTHER && msg && sg_iter_is_kvec(msg, v))))
		return 0;
	/*
	 * fexit on sock_sendmsg sees only its callers outside net/socket.c (the
	 * compiler inlines it into those inside): a write or writev is reported
	 * by sock_write_iter's program, io_uring's sendmsg by __sys_sendmsg_sock's,
	 * whether or not sock_sendmsg was inlined into them.
	 */
	if (hook == SG_HOOK_SENDMSG && v != SG_VAR_BTF &&
	    (path == SG_SYSCALL_WRITE || path == SG_SYSCALL_WRITEV ||
	     bpf_map_lookup_elem(&sg_in_sendmsg_sock, &tid)))
		return 0;
	e = v == SG_VAR_COMPAT ? sg_pol_input_event() : bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		if (v != SG_VAR_COMPAT)
			__sync_fetch_and_add(&lost_events, 1);
		return 0;
	}
	__builtin_memset(e, 0, __builtin_offsetof(struct sg_event, cmsgs));
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	e->ts_ns = bpf_ktime_get_boot_ns();
	sg_fill_task(e, v);
	e->syscall = path;
	e->fd = fd;
	e->iovlen = iovlen;
	e->msg_flags = flags;
	if (sk)
		sg_fill_sock_ids(e, sk, v);
	/* The message's own address (io_uring sendmsg), else the socket's peer. */
	if (!(msg && !sg_fill_stream_peer(e, sk, v) &&
	      sg_copy_name(e, (__u64)SG_RD(v, msg, msg_name), SG_RD(v, msg, msg_namelen), true)))
		if (e->dst_source == SG_DST_NONE)
			sg_fill_peer(e, sk, v);
	/*
	 * What was offered: what was sent plus what is left in the header, or
	 * the page's size (sendpage); not known from the tracepoint after a failure.
	 */
	if (ret >= 0) {
		e->ret = ret;
		e->err = 0;
	} else {
		e->ret = -1;
		e->err = sg_user_errno(-ret);
	}
	if (hook == SG_HOOK_PAGE || hook == SG_HOOK_WRITE)
		e->len = size;
	else if (msg)
		e->len = (ret > 0 ? ret : 0) + SG_RD(v, msg, msg_iter.count);
	else if (ret >= 0)
		e->len = ret;
	else
		e->flags |= SG_EF_LEN_UNKNOWN;
	sg_policy_judge(e, &rule, &verdict, &version, v);
	e->policy_version = version;
	e->rule = rule;
	e->verdict = verdict;
	e->enforced_by = SG_ENF_NONE;
	if (e->ret == -1 && e->err == SG_EPERM) {
		struct sg_denial *d = bpf_map_lookup_elem(&sg_denied, &tid);

		if (d) {
			e->verdict = SG_VERDICT_DENY;
			e->rule = d->rule;
			e->policy_version = d->version;
			e->enforced_by = d->enforced_by;
			bpf_map_delete_elem(&sg_denied, &tid);
		}
	}
	if (e->verdict == SG_VERDICT_KILL && !bpf_send_signal(SG_SIGKILL))
		e->enforced_by = SG_ENF_SIGNAL;
	if (v != SG_VAR_COMPAT)
		bpf_ringbuf_submit(e, sg_wakeup_flags(e));
	else if (bpf_ringbuf_output(&events, e, sizeof(*e), sg_wakeup_flags(e)))
		__sync_fetch_and_add(&lost_events, 1);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(sg_path, struct sock *sk, int ret, int flags)
{
	return sg_message(sk, NULL, ret, flags, SG_HOOK_SENDMSG, 0, SG_VAR_BTF);
}

SEC("fexit/sock_sendmsg")
int BPF_PROG(sg_path_core, struct socket *sock, struct msghdr *msg, int ret)
{
	return sg_message(sock->sk, msg, ret, msg->msg_flags, SG_HOOK_SENDMSG, 0, SG_VAR_CORE);
}

SEC("fexit/sock_sendmsg")
int BPF_PROG(sg_path_compat, struct socket *sock, struct msghdr *msg, int ret)
{
	return sg_message(BPF_CORE_READ(sock, sk), msg, ret, BPF_CORE_READ(msg, msg_flags), false,
			  0, SG_VAR_COMPAT);
}

/* O_NONBLOCK, and the flags sock_sendpage gives a page (before 6.5). */
#define SG_O_NONBLOCK	04000
#define SG_MSG_DONTWAIT 0x40

static __always_inline int sg_page(struct file *file, int more, size_t size, long ret)
{
	struct socket *sock = (struct socket *)BPF_CORE_READ(file, private_data);
	__u32 flags = more;

	if (BPF_CORE_READ(file, f_flags) & SG_O_NONBLOCK)
		flags |= SG_MSG_DONTWAIT;
	return sg_message(BPF_CORE_READ(sock, sk), NULL, ret, flags, SG_HOOK_PAGE, size,
			  SG_VAR_COMPAT);
}

SEC("fexit/sock_sendpage")
int BPF_PROG(sg_page_core, struct file *file, struct page *page, int offset, size_t size,
	     loff_t *ppos, int more, long ret)
{
	/* file->private_data has no type to read it through: read as compat does. */
	return sg_page(file, more, size, ret);
}

SEC("fexit/sock_sendpage")
int BPF_PROG(sg_page_compat, struct file *file, struct page *page, int offset, size_t size,
	     loff_t *ppos, int more, long ret)
{
	return sg_page(file, more, size, ret);
}

/*
 * write and writev on a socket: sock_write_iter (fexit variants; the
 * tracepoint sees them in sock_sendmsg). The bytes offered: what was sent
 * plus what is left in the iterator.
 */
#define SG_SOCK_SEQPACKET 5
#define SG_MSG_EOR	  0x80

static __always_inline int sg_write(struct kiocb *iocb, struct iov_iter *from, long ret)
{
	struct file *file = BPF_CORE_READ(iocb, ki_filp);
	struct socket *sock = (struct socket *)BPF_CORE_READ(file, private_data);
	__u64 left = BPF_CORE_READ(from, count);
	__u32 flags = 0;

	/* Nothing to send: returns 0 before the socket layer. */
	if (ret == 0 && left == 0)
		return 0;
	if (BPF_CORE_READ(file, f_flags) & SG_O_NONBLOCK)
		flags |= SG_MSG_DONTWAIT;
	if (BPF_CORE_READ(sock, type) == SG_SOCK_SEQPACKET)
		flags |= SG_MSG_EOR;
	return sg_message(BPF_CORE_READ(sock, sk), NULL, ret, flags, SG_HOOK_WRITE,
			  (ret > 0 ? ret : 0) + left, SG_VAR_COMPAT);
}

SEC("fexit/sock_write_iter")
int BPF_PROG(sg_write_core, struct kiocb *iocb, struct iov_iter *from, long ret)
{
	return sg_write(iocb, from, ret);
}

SEC("fexit/sock_write_iter")
int BPF_PROG(sg_write_compat, struct kiocb *iocb, struct iov_iter *from, long ret)
{
	return sg_write(iocb, from, ret);
}

/* io_uring's sendmsg: __sys_sendmsg_sock (fexit variants, where the kernel has it). */
static __always_inline int sg_sendmsg_sock_enter(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u8 one = 1;

	bpf_map_update_elem(&sg_in_sendmsg_sock, &tid, &one, BPF_ANY);
	return 0;
}

static __always_inline int sg_sendmsg_sock_exit(struct socket *sock, struct msghdr *msg,
						unsigned int flags, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&sg_in_sendmsg_sock, &tid);
	return sg_message(BPF_CORE_READ(sock, sk), msg, ret, flags | BPF_CORE_READ(msg, msg_flags),
			  SG_HOOK_SENDMSG_SOCK, 0, SG_VAR_COMPAT);
}

SEC("fentry/__sys_sendmsg_sock")
int BPF_PROG(sg_msock_in_core, struct socket *sock, struct msghdr *msg, unsigned int flags)
{
	return sg_sendmsg_sock_enter();
}

SEC("fexit/__sys_sendmsg_sock")
int BPF_PROG(sg_msock_core, struct socket *sock, struct msghdr *msg, unsigned int flags, long ret)
{
	return sg_sendmsg_sock_exit(sock, msg, flags, ret);
}

SEC("fentry/__sys_sendmsg_sock")
int BPF_PROG(sg_msock_in_compat, struct socket *sock, struct msghdr *msg, unsigned int flags)
{
	return sg_sendmsg_sock_enter();
}

SEC("fexit/__sys_sendmsg_sock")
int BPF_PROG(sg_msock_compat, struct socket *sock, struct msghdr *msg, unsigned int flags, long ret)
{
	return sg_sendmsg_sock_exit(sock, msg, flags, ret);
}
