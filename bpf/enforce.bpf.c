// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sendguard cgroup enforcement: sock_addr programs on connect and on sendmsg
 * with a destination (unconnected datagrams), for inet, inet6 and (6.7+)
 * unix sockets, attached by sendguardd to the cgroup v2 root or --cgroup.
 *
 * Each judges the call with the shared evaluator (policy.bpf.h) in hook mode
 * (SG_EVAL_HOOK, see "Enforcement hooks" in sendguard.h) on the kernel copy
 * of the destination address; returning 0 makes the syscall fail with EPERM.
 * The policy maps, sg_denied and the events ring buffer are the tracing
 * object's (user space reuses their fds before load), so the hooks judge by
 * the same active slot as the tracepoints.
 *
 * A denied sendmsg is reported by its sys_exit tracepoint, which takes the
 * hook's sg_denied entry (enforced_by cgroup). A denied connect has no
 * tracepoint: the hook writes a "connect" event itself.
 *
 * libbpf 1.1 does not know the connect_unix/sendmsg_unix section names: the
 * unix programs are in connect4/sendmsg4 sections and user space sets their
 * expected attach type (BPF_CGROUP_UNIX_CONNECT/SENDMSG) before load.
 *
 * The inet programs exist in two variants (variant.bpf.h): SG_VAR_BTF and
 * SG_VAR_COMPAT ("_compat"). The unix hooks are newer than everything
 * SG_VAR_BTF needs, so they have only that one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sendguard.h"
#include "kernel.bpf.h"
#include "policy.bpf.h"
#include "task.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Connect events the ring buffer had no room for; user space reports them as lost. */
__u64 lost_events = 0;

/*
 * The daemon's own calls are never judged: its tgid, set by user space, and
 * cleared (a plain global, not rodata) before a --persist daemon exits, so
 * that hooks outliving it exempt no process that gets its pid later.
 */
__u32 self_tgid = 0;

/* Shared with trace.bpf.c (fd reused): connect denials go out here. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* 6.2+, used by the unix hooks only (6.7+); weak: see bpf_rdonly_cast. */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

/* comm, exe and ppid: read only when the policy or a connect event needs them. */
static __always_inline void sg_hook_task(struct sg_event *e, __u32 dims, bool ppid, const int v)
{
	struct task_struct *task = SG_TASK(v);

	if (dims & 1u << SG_DIM_COMM)
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (dims & 1u << SG_DIM_EXE)
		sg_fill_exe(e, task, v);
	if (ppid)
		e->ppid = SG_RD(v, task, real_parent, tgid);
}

/*
 * Process and socket identity of the current call; NULL when there is nothing
 * to judge (the daemon's own call, or a policy a hook cannot deny anything by).
 * The fields of the identity that the policy does not use stay zero.
 */
static __always_inline struct sg_event *sg_hook_event(struct bpf_sock_addr *ctx, __u8 syscall,
						      const int v)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct sg_event *e;
	__u32 dims = 0;
	__u64 uid_gid;

	if (self_tgid && (__u32)(pid_tgid >> 32) == self_tgid)
		return NULL;
	if (!sg_policy_hook_can_deny(&dims))
		return NULL;
	/* The evaluator's input: too big for the stack, and where SG_VAR_COMPAT judges. */
	e = sg_pol_input_event();
	if (!e)
		return NULL;
	/* cmsgs[] stay stale: ncmsgs is 0 and SG_EF_CONTROL unset. */
	__builtin_memset(e, 0, __builtin_offsetof(struct sg_event, cmsgs));
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	if (dims & (1u << SG_DIM_UID | 1u << SG_DIM_GID) || syscall == SG_SYSCALL_CONNECT) {
		uid_gid = bpf_get_current_uid_gid();
		e->uid = (__u32)uid_gid;
		e->gid = uid_gid >> 32;
	}
	e->cgroup_id = bpf_get_current_cgroup_id();
	sg_hook_task(e, dims, false, v);
	e->fd = -1; /* not known to sock_addr programs */
	e->flags |= SG_EF_SOCK;
	e->sock_family = ctx->family;
	e->sock_type = ctx->type;
	e->sock_protocol = ctx->protocol;
	e->syscall = syscall;
	e->dst_source = SG_DST_MSG;
	return e;
}

static __always_inline void sg_hook_addr4(struct bpf_sock_addr *ctx, struct sg_event *e)
{
	*(__u16 *)&e->addr[0] = SG_POL_AF_INET;
	*(__u16 *)&e->addr[2] = (__u16)ctx->user_port; /* network order */
	*(__u32 *)&e->addr[4] = ctx->user_ip4;
	e->addr_len = 16;
}

static __always_inline void sg_hook_addr6(struct bpf_sock_addr *ctx, struct sg_event *e)
{
	*(__u16 *)&e->addr[0] = SG_POL_AF_INET6;
	*(__u16 *)&e->addr[2] = (__u16)ctx->user_port;
	*(__u32 *)&e->addr[8] = ctx->user_ip6[0];
	*(__u32 *)&e->addr[12] = ctx->user_ip6[1];
	*(__u32 *)&e->addr[16] = ctx->user_ip6[2];
	*(__u32 *)&e->addr[20] = ctx->user_ip6[3];
	e->addr_len = 28;
}

/* unix: the kernel's copy of the sockaddr_un, with the caller's length. */
static __always_inline void sg_hook_addr_unix(struct bpf_sock_addr *ctx, struct sg_event *e)
{
	struct bpf_sock_addr_kern *k = bpf_cast_to_kern_ctx(ctx);
	__u32 len = k->uaddrlen;

	if (len > SG_ADDR_MAX) {
		len = SG_ADDR_MAX;
		e->flags |= SG_EF_ADDR_TRUNC;
	}
	if (len && bpf_probe_read_kernel(e->addr, len, k->uaddr))
		len = 0;
	e->addr_len = len;
}

/* Fail the call judged as e with EPERM (rule of version decided): report it. 0. */
static __always_inline int sg_hook_deny(struct sg_event *e, __u16 rule, __u32 version, const int v)
{
	/*
	 * A connect inside a send (TCP Fast Open: sendto/sendmsg with MSG_FASTOPEN
	 * on an unconnected socket) is the send's denial: its sys_exit program
	 * reports it, with the note below. SG_VAR_COMPAT has no bpf_task_pt_regs:
	 * its sys_enter programs' sg_calls entry says the thread is in a send.
	 */
	if (e->syscall == SG_SYSCALL_CONNECT &&
	    (v == SG_VAR_COMPAT ? bpf_map_lookup_elem(&sg_calls, &e->tid) != NULL
				: sg_send_syscall(bpf_get_current_task_btf()) != 0))
		e->syscall = SG_SYSCALL_SENDMSG;
	if (e->syscall == SG_SYSCALL_CONNECT) {
		/* The event's process fields: what the evaluation did not need yet. */
		sg_hook_task(e, 1u << SG_DIM_COMM | 1u << SG_DIM_EXE, true, v);
		sg_stamp_denial(e, rule, version, SG_ENF_CGROUP);
		if (bpf_ringbuf_output(&events, e, sizeof(*e), 0))
			__sync_fetch_and_add(&lost_events, 1);
	} else {
		sg_note_denial(e->tid, rule, version, SG_ENF_CGROUP);
	}
	return 0;
}

/* Judge e; 1: let the call through, 0: fail it with EPERM. */
static __always_inline int sg_hook_judge(struct sg_event *e, const int v)
{
	__u32 version = 0;
	__u16 rule = SG_NO_RULE;

	if (!sg_policy_hook_denies(e, &rule, &version, v))
		return 1;
	return sg_hook_deny(e, rule, version, v);
}

/*
 * Set by user space while BPF-LSM's unix hooks are attached: they judge a unix
 * path by the socket it resolves to, so the spelling does not matter here.
 */
__u32 unix_lsm = 0;

/*
 * A unix path whose spelling a hook cannot judge: the hooks see the caller's
 * bytes, not the socket they resolve to, so a rule on /run/x.sock would miss
 * /run//x.sock, /run/./x.sock, /tmp/../run/x.sock, run/x.sock (cwd /) and
 * /proc/self/cwd/run/x.sock. (A symlink looks like any path: that one is
 * BPF-LSM's to see.) Abstract names and the unnamed address are exact.
 */
static __always_inline bool sg_unix_unjudgeable(const struct sg_event *e)
{
	__u32 n = e->addr_len, i;
	__u8 c, p1 = 0, p2 = 0, p3 = 0;

	if (n <= 2 || !e->addr[2])
		return false;
	n -= 2;
	if (e->addr[2] != '/')
		return true;
	if (n >= 6 && e->addr[3] == 'p' && e->addr[4] == 'r' && e->addr[5] == 'o' &&
	    e->addr[6] == 'c' && e->addr[7] == '/')
		return true;
	for (i = 0; i < SG_UNIX_NAME_MAX; i++) {
		if (i >= n)
			break;
		c = e->addr[2 + i];
		if (!c)
			break;
		if (c == '/' && (p1 == '/' || (p1 == '.' && p2 == '/') ||
				 (p1 == '.' && p2 == '.' && p3 == '/')))
			return true;
		p3 = p2;
		p2 = p1;
		p1 = c;
	}
	return (p1 == '.' && p2 == '/') || (p1 == '.' && p2 == '.' && p3 == '/');
}

/*
 * The unix hooks: a path they cannot judge is refused when the policy has
 * unix keys (SG_RULE_UNJUDGED) and BPF-LSM is not there to judge it: letting
 * it pass would let any spelling past a rule.
 */
static __always_inline int sg_hook_unix(struct bpf_sock_addr *ctx, __u8 syscall)
{
	const struct sg_policy_cfg *cfg;
	struct sg_event *e;
	__u32 zero = 0, slot, *active;

	e = sg_hook_event(ctx, syscall, SG_VAR_BTF);
	if (!e)
		return 1;
	sg_hook_addr_unix(ctx, e);
	if (!unix_lsm && sg_unix_unjudgeable(e)) {
		active = bpf_map_lookup_elem(&sg_pol_active, &zero);
		slot = active ? *active & 1 : 0;
		cfg = bpf_map_lookup_elem(&sg_pol_cfg, &slot);
		if (cfg && cfg->dims & 1u << SG_DIM_UNIX)
			return sg_hook_deny(e, SG_RULE_UNJUDGED, cfg->version, SG_VAR_BTF);
	}
	return sg_hook_judge(e, SG_VAR_BTF);
}

#define SG_HOOK(name, sec, syscall, addr_fn, v)     \
	SEC(sec)                                    \
	int name(struct bpf_sock_addr *ctx)         \
	{                                           \
		struct sg_event *e;                 \
                                                    \
		e = sg_hook_event(ctx, syscall, v); \
		if (!e)                             \
			return 1;                   \
		addr_fn(ctx, e);                    \
		return sg_hook_judge(e, v);         \
	}

SG_HOOK(sg_connect4, "cgroup/connect4", SG_SYSCALL_CONNECT, sg_hook_addr4, SG_VAR_BTF)
SG_HOOK(sg_sendmsg4, "cgroup/sendmsg4", SG_SYSCALL_SENDMSG, sg_hook_addr4, SG_VAR_BTF)
SG_HOOK(sg_connect6, "cgroup/connect6", SG_SYSCALL_CONNECT, sg_hook_addr6, SG_VAR_BTF)
SG_HOOK(sg_sendmsg6, "cgroup/sendmsg6", SG_SYSCALL_SENDMSG, sg_hook_addr6, SG_VAR_BTF)
/* Expected attach type BPF_CGROUP_UNIX_CONNECT / _SENDMSG, set by user space. */
SEC("cgroup/connect4")
int sg_connect_unix(struct bpf_sock_addr *ctx)
{
	return sg_hook_unix(ctx, SG_SYSCALL_CONNECT);
}

SEC("cgroup/sendmsg4")
int sg_sendmsg_unix(struct bpf_sock_addr *ctx)
{
	return sg_hook_unix(ctx, SG_SYSCALL_SENDMSG);
}

SG_HOOK(sg_connect4_compat, "cgroup/connect4", SG_SYSCALL_CONNECT, sg_hook_addr4, SG_VAR_COMPAT)
SG_HOOK(sg_sendmsg4_compat, "cgroup/sendmsg4", SG_SYSCALL_SENDMSG, sg_hook_addr4, SG_VAR_COMPAT)
SG_HOOK(sg_connect6_compat, "cgroup/connect6", SG_SYSCALL_CONNECT, sg_hook_addr6, SG_VAR_COMPAT)
SG_HOOK(sg_sendmsg6_compat, "cgroup/sendmsg6", SG_SYSCALL_SENDMSG, sg_hook_addr6, SG_VAR_COMPAT)
