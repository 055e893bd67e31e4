/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The sending process, as every sendguard event carries it: pid, tid, ppid,
 * uid, gid, comm, cgroup v2 id and the executable's identity. Shared by the
 * tracing and the enforcement programs.
 */
#ifndef SENDGUARD_TASK_BPF_H
#define SENDGUARD_TASK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sendguard.h"
#include "variant.bpf.h"

/* exe_dev/exe_ino of task's executable (SG_EF_EXE), read as variant v reads. */
static __always_inline void sg_fill_exe(struct sg_event *e, struct task_struct *task, const int v)
{
	struct file *exe = SG_RD(v, task, mm, exe_file);

	if (!exe)
		return;
	e->exe_ino = SG_RD(v, exe, f_inode, i_ino);
	e->exe_dev = SG_RD(v, exe, f_inode, i_sb, s_dev);
	e->flags |= SG_EF_EXE;
}

/*
 * Fill the process fields of e (SG_VAR_BTF/CORE: plain loads through the
 * BTF task pointer, faults read as zero; SG_VAR_COMPAT: CO-RE probe reads).
 * Returns the task.
 */
static __always_inline struct task_struct *sg_fill_task(struct sg_event *e, const int v)
{
	struct task_struct *task = SG_TASK(v);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	e->ppid = SG_RD(v, task, real_parent, tgid);
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	sg_fill_exe(e, task, v);
	return task;
}

/* x86-64 numbers of the send system calls (sg_send_syscall). */
#define SG_NR_SENDTO   44
#define SG_NR_SENDMSG  46
#define SG_NR_SENDMMSG 307

/*
 * SG_SYSCALL_SENDTO/SENDMSG/SENDMMSG when the current task is in that system
 * call (its saved orig_ax, through bpf_task_pt_regs: not for SG_VAR_COMPAT),
 * else 0 (another system call, or none: an io_uring worker).
 */
static __always_inline __u32 sg_send_syscall(struct task_struct *task)
{
#if defined(__TARGET_ARCH_x86)
	long nr = ((struct pt_regs *)bpf_task_pt_regs(task))->orig_ax;

	return nr == SG_NR_SENDTO     ? SG_SYSCALL_SENDTO
	       : nr == SG_NR_SENDMSG  ? SG_SYSCALL_SENDMSG
	       : nr == SG_NR_SENDMMSG ? SG_SYSCALL_SENDMMSG
				      : 0;
#else
	return 0;
#endif
}

#endif /* SENDGUARD_TASK_BPF_H */
