/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sendguard kernel <-> user ABI.
 *
 * Included by the BPF programs (after vmlinux.h) and by user space (after
 * <linux/types.h>). Only fixed-width types and fixed arrays: no pointers, no
 * long, no enums in structs. Every struct has a size assert on both sides.
 */
#ifndef SENDGUARD_H
#define SENDGUARD_H

#define SG_COMM_LEN 16
/* Raw sockaddr bytes kept per event: >= sizeof(struct sockaddr_un) (110). */
#define SG_ADDR_MAX 112
/* Control messages decoded per message; more sets SG_EF_CMSG_TRUNC. */
#define SG_MAX_CMSGS 8
/* The kernel caps sendmmsg vlen and msg_iovlen at UIO_MAXIOV. */
#define SG_UIO_MAXIOV 1024

/* sg_event.syscall */
#define SG_SYSCALL_SENDTO 1
#define SG_SYSCALL_SENDMSG 2
#define SG_SYSCALL_SENDMMSG 3
#define SG_SYSCALL_CONNECT 4

/* sg_event.dst_source: where addr[] came from */
#define SG_DST_NONE 0 /* no destination known: addr_len == 0 */
#define SG_DST_MSG 1 /* msg_name / dest_addr argument */
#define SG_DST_PEER 2 /* connected peer, read from the kernel socket */

/* sg_event.verdict */
#define SG_VERDICT_ALLOW 0
#define SG_VERDICT_DENY 1
#define SG_VERDICT_AUDIT 2
#define SG_VERDICT_KILL 3

/* sg_event.enforced_by */
#define SG_ENF_NONE 0
#define SG_ENF_LSM 1
#define SG_ENF_CGROUP 2
#define SG_ENF_SECCOMP 3
#define SG_ENF_SIGNAL 4

/* sg_event.rule when the policy default decided */
#define SG_RULE_DEFAULT 0xffff

/* sg_event.flags */
#define SG_EF_SOCK (1u << 0) /* fd is a socket: sock_family/type/protocol valid */
#define SG_EF_CONTROL (1u << 1) /* msg_control given: controllen and cmsgs valid */
#define SG_EF_CMSG_TRUNC (1u << 2) /* more than SG_MAX_CMSGS control messages */
#define SG_EF_MMSG (1u << 3) /* part of a sendmmsg: index and vlen valid */
#define SG_EF_ADDR_TRUNC (1u << 4) /* address longer than SG_ADDR_MAX, cut */
#define SG_EF_EXE (1u << 5) /* exe_dev/exe_ino valid */

/*
 * One control message header as found in msg_control.
 * level/type are cmsg_level/cmsg_type; len is cmsg_len (header included), so
 * an SCM_RIGHTS message carries (len - 16) / 4 descriptors on 64-bit.
 */
struct sg_cmsg {
	__u32 level;
	__u32 type;
	__u32 len;
	__u32 pad;
};

/*
 * One outgoing message, as submitted to the ring buffer by trace.bpf.c.
 * sendto/sendmsg produce one event per call, sendmmsg one per message
 * (SG_EF_MMSG set, index/vlen valid).
 *
 * ts_ns      bpf_ktime_get_boot_ns() at sys_enter
 * cgroup_id  bpf_get_current_cgroup_id() (cgroup v2)
 * exe_dev/ino  identity of task->mm->exe_file; exe_dev is the kernel's
 *            dev_t encoding (MAJOR << 20 | MINOR)
 * pid/tid    tgid and thread id; ppid is real_parent's tgid
 * fd         the fd argument
 * msg_flags  the flags argument of the syscall
 * iovlen     msg_iovlen (1 for sendto)
 * len        bytes offered: sum of iov_len, or len of sendto
 * ret        bytes sent (sendmmsg: this message's msg_len), or -1
 * err        errno when ret == -1, else 0 (sendmmsg messages the kernel did
 *            not get to have ret -1 and err 0 when the call returned a count)
 * controllen msg_controllen
 * sock_*     family/type/protocol of the kernel socket behind fd
 * addr       raw sockaddr bytes (addr_len valid), see dst_source
 */
struct sg_event {
	__u64 ts_ns;
	__u64 cgroup_id;
	__u64 exe_ino;
	__u64 len;
	__s64 ret;
	__u32 exe_dev;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__s32 fd;
	__u32 msg_flags;
	__u32 iovlen;
	__s32 err;
	__u32 index;
	__u32 vlen;
	__u32 controllen;
	__u32 policy_version;
	__u16 rule;
	__u8 verdict;
	__u8 enforced_by;
	__u16 sock_family;
	__u16 sock_type;
	__u16 sock_protocol;
	__u16 addr_len;
	__u8 syscall;
	__u8 dst_source;
	__u8 ncmsgs;
	__u8 flags;
	__u8 comm[SG_COMM_LEN];
	struct sg_cmsg cmsgs[SG_MAX_CMSGS];
	__u8 addr[SG_ADDR_MAX];
};

_Static_assert(sizeof(struct sg_cmsg) == 16, "sg_cmsg ABI size");
_Static_assert(sizeof(struct sg_event) == 368, "sg_event ABI size");

#endif /* SENDGUARD_H */
