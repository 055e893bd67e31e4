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
#include <bpf/bpf_core_read.h>
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

/* x86-64 numbers of the system calls that reach a socket's sendmsg. */
#define SG_NR_WRITE	     1
#define SG_NR_WRITEV	     20
#define SG_NR_SENDFILE	     40
#define SG_NR_SENDTO	     44
#define SG_NR_SENDMSG	     46
#define SG_NR_SPLICE	     275
#define SG_NR_SENDMMSG	     307
#define SG_NR_IO_URING_ENTER 426

/* task->flags */
#define SG_PF_IO_WORKER 0x00000010
#define SG_PF_KTHREAD	0x00200000

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

/* x86-64: the top of a task's kernel stack holds its user registers (THREAD_SIZE 16 KiB). */
#define SG_THREAD_SIZE 16384
#define SG_USER_CS     0x33

/* A task's saved user registers: what the path is told by. */
struct sg_regs {
	long nr, di, dx;
};

/*
 * The registers the current task entered the kernel with, through
 * bpf_task_pt_regs, or (SG_VAR_COMPAT: 5.10 has no such helper) read from the
 * top of its kernel stack, where x86-64 keeps them; trusted there only with a
 * 64-bit user code segment. False where they are not known.
 */
static __always_inline bool sg_regs_of(struct task_struct *task, struct sg_regs *r, const int v)
{
#if defined(__TARGET_ARCH_x86)
	struct pt_regs *regs;

	if (v != SG_VAR_COMPAT) {
		regs = (struct pt_regs *)bpf_task_pt_regs(task);
		r->nr = regs->orig_ax;
		r->di = regs->di;
		r->dx = regs->dx;
		return true;
	} else {
		struct pt_regs copy;
		void *stack = BPF_CORE_READ(task, stack);

		if (!stack || bpf_probe_read_kernel(&copy, sizeof(copy),
						    stack + SG_THREAD_SIZE - sizeof(copy)))
			return false;
		if (copy.cs != SG_USER_CS)
			return false;
		r->nr = copy.orig_ax;
		r->di = copy.di;
		r->dx = copy.dx;
		return true;
	}
#else
	return false;
#endif
}

/*
 * The path a message took to the socket (SG_SYSCALL_*: a send syscall, write,
 * writev, sendfile, splice, io_uring or other), and the descriptor argument
 * where the system call has one (-1 otherwise) and its iovec count (0: none).
 */
static __always_inline __u32 sg_path_of(struct task_struct *task, __s32 *fd, __u32 *iovlen,
					const int v)
{
	struct sg_regs r;

	*fd = -1;
	*iovlen = 0;
	if (SG_RD(v, task, flags) & SG_PF_IO_WORKER)
		return SG_SYSCALL_IO_URING;
	if (!sg_regs_of(task, &r, v))
		return SG_SYSCALL_OTHER;
	switch (r.nr) {
	case SG_NR_WRITE:
		*fd = r.di;
		*iovlen = 1;
		return SG_SYSCALL_WRITE;
	case SG_NR_WRITEV:
		*fd = r.di;
		*iovlen = r.dx;
		return SG_SYSCALL_WRITEV;
	case SG_NR_SENDFILE:
		*fd = r.di;
		return SG_SYSCALL_SENDFILE;
	case SG_NR_SPLICE:
		*fd = r.dx; /* fd_out */
		return SG_SYSCALL_SPLICE;
	case SG_NR_IO_URING_ENTER:
		return SG_SYSCALL_IO_URING;
	case SG_NR_SENDTO:
		return SG_SYSCALL_SENDTO;
	case SG_NR_SENDMSG:
		return SG_SYSCALL_SENDMSG;
	case SG_NR_SENDMMSG:
		return SG_SYSCALL_SENDMMSG;
	}
	return SG_SYSCALL_OTHER;
}

#endif /* SENDGUARD_TASK_BPF_H */
