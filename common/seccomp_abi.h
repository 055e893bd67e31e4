/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What <linux/seccomp.h> of older build hosts lacks (the kernel may still have
 * it: callers probe), and the seccomp architecture of this build.
 */
#ifndef SG_SECCOMP_ABI_H
#define SG_SECCOMP_ABI_H

#include <linux/audit.h>
#include <linux/seccomp.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5) /* 5.19 */
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64) /* 6.6 */
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0) /* 6.6, passed by value */
#endif

#if defined(__x86_64__)
#define SG_SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SG_SECCOMP_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp: unsupported architecture"
#endif

#endif /* SG_SECCOMP_ABI_H */
