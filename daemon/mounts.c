// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "mounts.h"

static int fs_is(const char *path, unsigned long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (unsigned long)st.f_type == magic;
}

int mounts_ensure_tracefs(void)
{
	/* libbpf looks for tracing under debugfs first, then at SG_TRACEFS. */
	if (fs_is(SG_TRACEFS, TRACEFS_MAGIC) ||
	    access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return 0;
	if (mount("tracefs", SG_TRACEFS, "tracefs", 0, NULL))
		return -errno;
	return 0;
}

int mounts_ensure_bpffs(void)
{
	if (fs_is(SG_BPFFS, BPF_FS_MAGIC))
		return 0;
	if (mkdir(SG_BPFFS, 0755) && errno != EEXIST)
		return -errno;
	if (mount("bpf", SG_BPFFS, "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

/*
 * mountinfo lines: "id parent maj:min root mountpoint opts [optional...] - fstype source super".
 * Mount points escape space, tab, newline and backslash as \ooo.
 */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

int mounts_find_cgroup2(char *buf, size_t len)
{
	char line[4096];
	FILE *f;
	int err = -ENOENT;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		char *save = NULL, *mnt;
		int i;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		*sep = '\0';
		mnt = strtok_r(line, " ", &save);
		for (i = 0; mnt && i < 4; i++)
			mnt = strtok_r(NULL, " ", &save);
		if (!mnt)
			continue;
		unescape_octal(mnt);
		if (strlen(mnt) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, mnt);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

int mounts_resolve_cgroup(const char *mnt, const char *arg, char *dir, size_t dir_len, char *rel,
			  size_t rel_len)
{
	char full[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
	size_t mlen;
	struct stat st;

	if (!realpath(mnt, root))
		return -errno;
	mlen = strlen(mnt);
	/* A full path names the mount itself or something below it. */
	if (!strncmp(arg, mnt, mlen) && (arg[mlen] == '/' || !arg[mlen]) && mlen > 1)
		snprintf(full, sizeof(full), "%s", arg);
	else if (snprintf(full, sizeof(full), "%s%s", mnt, arg) >= (int)sizeof(full))
		return -ENAMETOOLONG;
	if (!realpath(full, real))
		return -errno;
	mlen = strlen(root);
	if (strncmp(real, root, mlen) || (real[mlen] != '/' && real[mlen]))
		return -EXDEV;
	if (stat(real, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (!fs_is(real, CGROUP2_SUPER_MAGIC))
		return -EMEDIUMTYPE;
	if (snprintf(dir, dir_len, "%s", real) >= (int)dir_len ||
	    snprintf(rel, rel_len, "%s", real[mlen] ? real + mlen : "/") >= (int)rel_len)
		return -ENAMETOOLONG;
	return 0;
}

int mounts_cgroup_id(const char *mnt, const char *path, uint64_t *id)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + 64];
	} h;
	char full[PATH_MAX];
	int mount_id;

	if (snprintf(full, sizeof(full), "%s%s", mnt, path) >= (int)sizeof(full))
		return -ENAMETOOLONG;
	h.fh.handle_bytes = 64;
	if (name_to_handle_at(AT_FDCWD, full, &h.fh, &mount_id, 0))
		return -errno;
	if (h.fh.handle_bytes < sizeof(*id))
		return -EINVAL;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}
