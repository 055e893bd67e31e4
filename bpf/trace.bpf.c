// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sendguard tracing: sys_exit of sendto, sendmsg and sendmmsg.
 *
 * One program per syscall, on its sys_exit tracepoint: the arguments are
 * still in the task's saved user registers there (the kernel only overwrites
 * the return value register), so the send is decoded once, with its result,
 * without a sys_enter program and a per-thread map to pair them; that halves
 * the per-send cost. User memory (msghdr, msg_name, mmsghdr vector with the
 * per-message msg_len) is read at exit.
 *
 * Each program exists in the three variants of variant.bpf.h: SG_VAR_BTF
 * (no suffix), SG_VAR_CORE ("_core") and SG_VAR_COMPAT ("_compat"). The
 * compat variant cannot read the registers at exit (no bpf_task_pt_regs):
 * sys_enter programs save the arguments by thread for the exit programs.
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
#include "flows.bpf.h"

/* libbpf 1.1's bpf_tracing.h stops at the fifth syscall argument. */
#ifndef PT_REGS_PARM6_SYSCALL
#if defined(__TARGET_ARCH_x86)
#define PT_REGS_PARM6_SYSCALL(x) ((x)->r9)
#elif defined(__TARGET_ARCH_arm64)
#define PT_REGS_PARM6_SYSCALL(x) ((x)->regs[5])
#else
#error "sendguard: define PT_REGS_PARM6_SYSCALL for this architecture"
#endif
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load. */
const volatile __u32 self_tgid = 0; /* the daemon: its sends are not traced; 0 = none */

/* Read by user space at run time. */
__u64 lost_events = 0; /* records that could not be written */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* sendmmsg: the fields shared by all messages of one call. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_event);
} scratch SEC(".maps");

static __always_inline void sg_lost(void)
{
	__sync_fetch_and_add(&lost_events, 1);
}

/* The arguments a0..a5 of send call @syscall, into c (everything but ts_ns). */
static __always_inline void sg_call_args(struct sg_call *c, __u32 syscall, __u64 a0, __u64 a1,
					 __u64 a2, __u64 a3, __u64 a4, __u64 a5)
{
	c->fd = a0;
	c->buf = a1;
	c->syscall = syscall;
	switch (syscall) {
	case SG_SYSCALL_SENDTO: /* sendto(fd, buf, len, flags, dest_addr, addrlen) */
		c->len = a2;
		c->flags = a3;
		c->addr = a4;
		c->addrlen = a5;
		break;
	case SG_SYSCALL_SENDMSG: /* sendmsg(fd, msg, flags) */
		c->len = 0;
		c->flags = a2;
		c->addr = 0;
		c->addrlen = 0;
		break;
	default: /* sendmmsg(fd, msgvec, vlen, flags) */
		c->len = (__u32)a2;
		c->flags = a3;
		c->addr = 0;
		c->addrlen = 0;
		break;
	}
}

static __always_inline bool sg_is_self(void)
{
	return self_tgid && (__u32)(bpf_get_current_pid_tgid() >> 32) == self_tgid;
}

/* SG_VAR_COMPAT sys_enter: save the arguments for the exit program. */
static __always_inline int sg_enter(struct trace_event_raw_sys_enter *ctx, __u32 syscall)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sg_call c = {};

	if (sg_is_self())
		return 0;
	sg_call_args(&c, syscall, ctx->args[0], ctx->args[1], ctx->args[2], ctx->args[3],
		     ctx->args[4], ctx->args[5]);
	bpf_map_update_elem(&sg_calls, &tid, &c, BPF_ANY);
	return 0;
}

/*
 * The arguments of the current send: from the task's user registers, or
 * (SG_VAR_COMPAT) as its sys_enter program saved them. False for the
 * daemon's own sends.
 */
static __always_inline bool sg_get_call(struct sg_call *c, __u32 syscall, const int v)
{
	struct pt_regs *regs;
	struct sg_call *saved;
	__u32 tid;

	if (sg_is_self())
		return false;
	if (v == SG_VAR_COMPAT) {
		tid = (__u32)bpf_get_current_pid_tgid();
		saved = bpf_map_lookup_elem(&sg_calls, &tid);
		if (!saved)
			return false;
		*c = *saved;
		bpf_map_delete_elem(&sg_calls, &tid);
	} else {
		regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		sg_call_args(c, syscall, PT_REGS_PARM1_SYSCALL(regs), PT_REGS_PARM2_SYSCALL(regs),
			     PT_REGS_PARM3_SYSCALL(regs), PT_REGS_PARM4_SYSCALL(regs),
			     PT_REGS_PARM5_SYSCALL(regs), PT_REGS_PARM6_SYSCALL(regs));
	}
	c->ts_ns = bpf_ktime_get_boot_ns();
	return true;
}

#include "wakeup.bpf.h"

/*
 * A send that failed with EPERM: if an enforcement hook (enforce.bpf.c,
 * lsm.bpf.c) denied it, take the hook's note (sg_denied, by thread). The
 * hook's decision is what happened to the send, so the event carries its
 * verdict, rule and version (around a reload the hook may have judged by the
 * version before the one this program just read). Only failed sends look, so
 * allowed sends pay nothing.
 */
static __always_inline void sg_take_denial(struct sg_event *e)
{
	struct sg_denial *d;
	__u32 tid = e->tid;

	d = bpf_map_lookup_elem(&sg_denied, &tid);
	if (!d)
		return;
	e->verdict = SG_VERDICT_DENY;
	e->rule = d->rule;
	e->policy_version = d->version;
	e->enforced_by = d->enforced_by;
	bpf_map_delete_elem(&sg_denied, &tid);
}

/*
 * A unix datagram to a path: where BPF-LSM saw the socket the path resolved
 * to (sg_unix_reached), that socket, by the address it was bound to, is the
 * destination (SG_DST_RESOLVED): what was reached, not how it was spelled.
 */
static __always_inline void sg_take_unix_reached(struct sg_event *e)
{
	struct sg_unix_reach *r;
	__u32 tid = e->tid, len;

	r = bpf_map_lookup_elem(&sg_unix_reached, &tid);
	if (!r)
		return;
	len = r->addr_len;
	if (len <= SG_ADDR_MAX) {
		__builtin_memcpy(e->addr, r->addr, SG_ADDR_MAX);
		e->addr_len = len;
		e->flags &= ~SG_EF_ADDR_TRUNC;
		e->dst_source = SG_DST_RESOLVED;
	}
	bpf_map_delete_elem(&sg_unix_reached, &tid);
}

/*
 * Judge the send by the active policy (policy.bpf.h) and stamp the verdict.
 * A kill verdict sends SIGKILL to the sender: the send has already happened
 * (this is sys_exit), the process does not get to send again.
 */
static __always_inline void sg_judge(struct sg_event *e, const int v)
{
	__u32 version;
	__u16 rule;
	__u8 verdict;

	sg_policy_judge(e, &rule, &verdict, &version, v);
	e->policy_version = version;
	e->rule = rule;
	e->verdict = verdict;
	e->enforced_by = SG_ENF_NONE;
	if (e->ret == -1 && e->err == SG_EPERM)
		sg_take_denial(e);
	if (e->verdict == SG_VERDICT_KILL && !bpf_send_signal(SG_SIGKILL))
		e->enforced_by = SG_ENF_SIGNAL;
}

static __always_inline void sg_set_result(struct sg_event *e, long ret)
{
	if (ret >= 0) {
		e->ret = ret;
		e->err = 0;
		return;
	}
	e->ret = -1;
	/* Kernel-internal restart codes: what user space sees is EINTR or a retry. */
	e->err = sg_user_errno(-ret);
}

/*
 * Fill the process, call and socket fields of @e; returns the socket. Zeroes
 * everything but cmsgs[], of which only the first ncmsgs are ever valid.
 * task_struct fields are loaded directly through the BTF task pointer (CO-RE
 * relocated, faults read as zero): much cheaper than one probe_read per hop.
 */
static __always_inline struct sock *sg_fill_common(struct sg_event *e, const struct sg_call *call,
						   const int v)
{
	struct task_struct *task;

	__builtin_memset(e, 0, __builtin_offsetof(struct sg_event, cmsgs));
	e->ts_ns = call->ts_ns;
	task = sg_fill_task(e, v);
	e->fd = call->fd;
	e->msg_flags = call->flags;
	e->syscall = call->syscall;
	return sg_fill_sock(e, task, call->fd, v);
}

/*
 * Where an event is built: a record reserved in the ring buffer, or NULL
 * (counted as lost) when it is full. SG_VAR_COMPAT, and every variant with
 * flows on, builds it in the evaluator's input (sg_pol_input_event) and
 * copies it out in sg_commit.
 */
static __always_inline struct sg_event *sg_reserve(const int v)
{
	struct sg_event *e;

	/* With flows, most sends end here: built aside, only events reach the ring. */
	if (v == SG_VAR_COMPAT || flows_on != SG_FLOWS_OFF)
		return sg_pol_input_event();
	e = bpf_ringbuf_reserve(&events, sizeof(struct sg_event), 0);
	if (!e)
		sg_lost();
	return e;
}

/* Hand a finished event to the consumer, or count it into its flow. */
static __always_inline void sg_commit(struct sg_event *e, const int v)
{
	if (sg_flow_count(e))
		return;
	if (v != SG_VAR_COMPAT && flows_on == SG_FLOWS_OFF) {
		bpf_ringbuf_submit(e, sg_wakeup_flags(e));
		return;
	}
	if (bpf_ringbuf_output(&events, e, sizeof(*e), sg_wakeup_flags(e)))
		sg_lost();
}

/* sendto and sendmsg: one event per call (syscall is a constant per caller). */
static __always_inline int sg_exit_one(long ret, __u32 syscall, const int v)
{
	struct sg_user_msghdr m = {};
	struct sg_call call;
	struct sg_event *e;
	struct sock *sk;
	bool peer;

	if (!sg_get_call(&call, syscall, v))
		return 0;
	e = sg_reserve(v);
	if (!e)
		return 0;
	sk = sg_fill_common(e, &call, v);
	/* A connected stream socket's peer is the destination, not a forged address. */
	peer = sg_fill_stream_peer(e, sk, v);
	if (syscall == SG_SYSCALL_SENDTO) {
		if (!peer && !sg_fill_name(e, call.addr, call.addrlen))
			sg_fill_peer(e, sk, v);
		e->len = call.len;
		e->iovlen = 1;
	} else {
		if (call.buf)
			bpf_probe_read_user(&m, sizeof(m), (void *)call.buf);
		if (peer)
			m.msg_name = 0;
		sg_fill_msghdr(e, &m, v);
		if (e->dst_source == SG_DST_NONE)
			sg_fill_peer(e, sk, v);
	}
	if (e->sock_family == SG_AF_UNIX && e->dst_source == SG_DST_MSG)
		sg_take_unix_reached(e);
	sg_set_result(e, ret);
	sg_judge(e, v);
	sg_commit(e, v);
	return 0;
}

/*
 * One message of a sendmmsg: message i of the vector at vec, the call
 * returned ret; the fields shared by all messages are in tmpl.
 */
static __always_inline void sg_mmsg_one(const struct sg_event *tmpl, __u64 vec, long ret, __u32 i,
					const int v)
{
	struct sg_user_mmsghdr mm = {};
	struct sg_event *e;

	e = sg_reserve(v);
	if (!e)
		return;
	__builtin_memcpy(e, tmpl, sizeof(*e));
	e->index = i;
	bpf_probe_read_user(&mm, sizeof(mm), (void *)(vec + (__u64)i * sizeof(mm)));
	/* The template holds the peer of a connected stream socket: it stays. */
	if (tmpl->dst_source == SG_DST_PEER && sg_peer_decides(tmpl))
		mm.hdr.msg_name = 0;
	if (mm.hdr.msg_name && mm.hdr.msg_namelen > 0) {
		/* Replace the template's peer by this message's own address. */
		__builtin_memset(e->addr, 0, sizeof(e->addr));
		e->flags &= ~SG_EF_ADDR_TRUNC;
	}
	sg_fill_msghdr(e, &mm.hdr, v);
	if (ret < 0) {
		sg_set_result(e, ret);
	} else if (i < ret) {
		e->ret = mm.msg_len;
		e->err = 0;
	} else {
		e->ret = -1;
		e->err = 0;
	}
	sg_judge(e, v);
	/*
	 * The message the kernel stopped at after a partial count: a hook may
	 * have denied it (the kernel drops that error); take the hook's note.
	 */
	if (ret >= 0 && i == ret)
		sg_take_denial(e);
	sg_commit(e, v);
}

/* sendmmsg: the template of the messages of the current call, or NULL. */
static __always_inline struct sg_event *sg_mmsg_template(const struct sg_call *call, const int v)
{
	struct sg_event *t;
	struct sock *sk;
	__u32 zero = 0;
	__u32 vlen;

	vlen = call->len > SG_UIO_MAXIOV ? SG_UIO_MAXIOV : call->len;
	if (!vlen)
		return NULL;
	t = bpf_map_lookup_elem(&scratch, &zero);
	if (!t)
		return NULL;
	sk = sg_fill_common(t, call, v);
	sg_fill_peer(t, sk, v);
	t->flags |= SG_EF_MMSG;
	t->vlen = vlen;
	return t;
}

#define SG_PROGS(name, body)                                            \
	SEC("tracepoint/syscalls/sys_exit_" #name)                      \
	int sg_exit_##name(struct trace_event_raw_sys_exit *ctx)        \
	{                                                               \
		const int v = SG_VAR_BTF;                               \
		body;                                                   \
	}                                                               \
	SEC("tracepoint/syscalls/sys_exit_" #name)                      \
	int sg_exit_##name##_core(struct trace_event_raw_sys_exit *ctx) \
	{                                                               \
		const int v = SG_VAR_CORE;                              \
		body;                                                   \
	}

SG_PROGS(sendto, return sg_exit_one(ctx->ret, SG_SYSCALL_SENDTO, v))
SG_PROGS(sendmsg, return sg_exit_one(ctx->ret, SG_SYSCALL_SENDMSG, v))

/* SG_VAR_BTF and SG_VAR_CORE sendmmsg: one bpf_loop step per message. */
struct sg_mmsg_ctx {
	struct sg_event *tmpl;
	__u64 vec;
	long ret;
};

static long sg_mmsg_cb(__u32 i, void *data)
{
	struct sg_mmsg_ctx *c = data;

	/* Past the template nothing differs between the two variants. */
	sg_mmsg_one(c->tmpl, c->vec, c->ret, i, SG_VAR_BTF);
	return 0;
}

static __always_inline int sg_exit_mmsg(long ret, const int v)
{
	struct sg_mmsg_ctx mc;
	struct sg_call call;

	if (!sg_get_call(&call, SG_SYSCALL_SENDMMSG, v))
		return 0;
	mc.tmpl = sg_mmsg_template(&call, v);
	if (!mc.tmpl)
		return 0;
	mc.vec = call.buf;
	mc.ret = ret;
	bpf_loop(mc.tmpl->vlen, sg_mmsg_cb, &mc, 0);
	return 0;
}

SG_PROGS(sendmmsg, return sg_exit_mmsg(ctx->ret, v))

/* --- SG_VAR_COMPAT ---------------------------------------------------------- */

SEC("tracepoint/syscalls/sys_enter_sendto")
int sg_enter_sendto_compat(struct trace_event_raw_sys_enter *ctx)
{
	return sg_enter(ctx, SG_SYSCALL_SENDTO);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int sg_enter_sendmsg_compat(struct trace_event_raw_sys_enter *ctx)
{
	return sg_enter(ctx, SG_SYSCALL_SENDMSG);
}

SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int sg_enter_sendmmsg_compat(struct trace_event_raw_sys_enter *ctx)
{
	return sg_enter(ctx, SG_SYSCALL_SENDMMSG);
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int sg_exit_sendto_compat(struct trace_event_raw_sys_exit *ctx)
{
	return sg_exit_one(ctx->ret, SG_SYSCALL_SENDTO, SG_VAR_COMPAT);
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int sg_exit_sendmsg_compat(struct trace_event_raw_sys_exit *ctx)
{
	return sg_exit_one(ctx->ret, SG_SYSCALL_SENDMSG, SG_VAR_COMPAT);
}

/*
 * SG_VAR_COMPAT sendmmsg without bpf_loop: a bounded loop of
 * SG_MMSG_CHUNK messages per run (what the verifier of such kernels walks
 * in reasonable time), then a tail call into this same program (slot 0 of
 * sg_mmsg_tail, set by user space) for the next chunk, with the position in
 * sg_mmsg_pos. The kernel allows 32 tail calls, enough for the
 * SG_UIO_MAXIOV messages a call can have; messages it would not reach are
 * counted as lost, never dropped silently.
 */
#define SG_MMSG_CHUNK 32

struct sg_mmsg_pos {
	__u64 vec;
	__s64 ret;
	__u32 next; /* the next message to report */
	__u32 tid; /* the thread whose call this is */
	__u32 armed; /* set across a tail call: the next run continues */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_mmsg_pos);
} sg_mmsg_pos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sg_mmsg_tail SEC(".maps");

SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int sg_exit_sendmmsg_compat(struct trace_event_raw_sys_exit *ctx)
{
	__u32 zero = 0, tid = (__u32)bpf_get_current_pid_tgid(), j, i;
	struct sg_mmsg_pos *pos;
	struct sg_event *t;
	struct sg_call call;

	pos = bpf_map_lookup_elem(&sg_mmsg_pos, &zero);
	t = bpf_map_lookup_elem(&scratch, &zero);
	if (!pos || !t)
		return 0;
	if (!pos->armed || pos->tid != tid) {
		if (!sg_get_call(&call, SG_SYSCALL_SENDMMSG, SG_VAR_COMPAT))
			return 0;
		t = sg_mmsg_template(&call, SG_VAR_COMPAT);
		if (!t)
			return 0;
		pos->vec = call.buf;
		pos->ret = ctx->ret;
		pos->next = 0;
		pos->tid = tid;
	}
	pos->armed = 0;
	for (j = 0; j < SG_MMSG_CHUNK; j++) {
		i = pos->next;
		if (i >= t->vlen || i >= SG_UIO_MAXIOV)
			return 0;
		sg_mmsg_one(t, pos->vec, pos->ret, i, SG_VAR_COMPAT);
		pos->next = i + 1;
	}
	if (pos->next >= t->vlen)
		return 0;
	pos->armed = 1;
	bpf_tail_call(ctx, &sg_mmsg_tail, 0);
	/* Only reached when the tail call failed. */
	pos->armed = 0;
	__sync_fetch_and_add(&lost_events, t->vlen - pos->next);
	return 0;
}
