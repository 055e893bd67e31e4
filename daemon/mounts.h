/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The pseudo filesystems sendguardd needs: tracefs, bpffs, cgroup v2. */
#ifndef SG_MOUNTS_H
#define SG_MOUNTS_H

#include <stddef.h>
#include <stdint.h>

#define SG_TRACEFS "/sys/kernel/tracing"
#define SG_BPFFS   "/sys/fs/bpf"

/* Mount tracefs at SG_TRACEFS unless tracing is already reachable. 0 or -errno. */
int mounts_ensure_tracefs(void);
/* Mount bpffs at SG_BPFFS unless one is there. 0 or -errno. */
int mounts_ensure_bpffs(void);
/* Mount point of the cgroup v2 hierarchy from /proc/self/mountinfo. 0 or -errno. */
int mounts_find_cgroup2(char *buf, size_t len);

/*
 * A cgroup named on the command line (--cgroup), either in full (arg starts
 * with the cgroup v2 mount mnt: /sys/fs/cgroup/system.slice) or relative to
 * it (/system.slice). dir gets its canonical directory, rel that relative to
 * mnt ("/" for the root). 0, or -ENOENT (no such cgroup), -EXDEV (not under
 * mnt, e.g. by ".."), -ENOTDIR (not a directory), -EMEDIUMTYPE (not cgroup
 * v2), -ENAMETOOLONG.
 */
int mounts_resolve_cgroup(const char *mnt, const char *arg, char *dir, size_t dir_len, char *rel,
			  size_t rel_len);

/*
 * The id of the cgroup at path (relative to the cgroup v2 mount mnt): its
 * kernfs node id, which is what bpf_get_current_cgroup_id() returns. 0 or -errno.
 */
int mounts_cgroup_id(const char *mnt, const char *path, uint64_t *id);

#endif
