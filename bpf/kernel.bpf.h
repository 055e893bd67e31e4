/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel values the BPF programs use that vmlinux.h does not carry (they are
 * macros in the kernel): the errnos they return or report, and SIGKILL.
 */
#ifndef SENDGUARD_KERNEL_BPF_H
#define SENDGUARD_KERNEL_BPF_H

#define SG_EPERM		 1
#define SG_EINTR		 4
#define SG_ERESTARTSYS		 512
#define SG_ERESTART_RESTARTBLOCK 516
#define SG_SIGKILL		 9

/* The errno user space sees for a result: an interrupted call's restart codes are EINTR. */
static __always_inline __u32 sg_user_errno(__u32 err)
{
	return err >= SG_ERESTARTSYS && err <= SG_ERESTART_RESTARTBLOCK ? SG_EINTR : err;
}

#endif /* SENDGUARD_KERNEL_BPF_H */
