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

/*
 * Fill the process fields of e (task fields are plain loads through the BTF
 * task pointer, CO-RE relocated; faults read as zero). Returns the task.
 */
static __always_inline struct task_struct *sg_fill_task(struct sg_event *e)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	struct file *exe;

	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	e->ppid = task->real_parent->tgid;
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	exe = task->mm->exe_file;
	if (exe) {
		struct inode *inode = exe->f_inode;

		e->exe_ino = inode->i_ino;
		e->exe_dev = inode->i_sb->s_dev;
		e->flags |= SG_EF_EXE;
	}
	return task;
}

#endif /* SENDGUARD_TASK_BPF_H */
