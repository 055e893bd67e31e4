// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading a policy file for the parser: only a regular file, opened without
 * ever opening anything else, and at most SG_POLICY_FILE_MAX bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy_internal.h"

/* Why a file that is not a regular one is refused. */
static const char *not_regular(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "not a regular file (a FIFO)";
	if (S_ISCHR(mode))
		return "not a regular file (a character device)";
	if (S_ISBLK(mode))
		return "not a regular file (a block device)";
	if (S_ISSOCK(mode))
		return "not a regular file (a socket)";
	return "not a regular file";
}

/*
 * Open path for reading only if it is a regular file, without ever opening
 * anything else: a FIFO would block the reader until someone writes, a
 * device may act on being opened. The file is looked up once (O_PATH) and
 * that very inode is opened through /proc/self/fd; where /proc is missing,
 * the path is opened again, non-blocking, and must still be the same inode.
 * Returns the fd, or -errno with the reason in *why.
 */
static int open_regular(const char *path, const char **why)
{
	struct stat st, st2;
	char proc[64];
	int pfd, fd, err;

	*why = NULL;
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st)) {
		err = -errno;
		close(pfd);
		return err;
	}
	if (S_ISDIR(st.st_mode)) {
		close(pfd);
		*why = "cannot read: Is a directory"; /* what read(2) would say */
		return -EISDIR;
	}
	if (!S_ISREG(st.st_mode)) {
		close(pfd);
		*why = not_regular(st.st_mode);
		return -EINVAL;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	close(pfd);
	if (err)
		return err;
	if (fstat(fd, &st2) || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
		close(fd);
		*why = "replaced while it was being opened";
		return -EINVAL;
	}
	return fd;
}

int sg_policy_load(const char *path, struct sg_policy **out, struct sg_errlist *errs)
{
	struct policy_ctx c = { .errs = errs, .source = path };
	size_t len = 0, cap = 64 * 1024;
	const char *why;
	char *buf = NULL;
	int fd, ret;

	*out = NULL;
	fd = open_regular(path, &why);
	if (fd < 0) {
		ret = fd;
		if (why)
			policy_err(&c, "", "%s", why);
		else
			policy_err(&c, "", "cannot open: %s", strerror(-ret));
		return ret;
	}
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *nb;

			if (cap > SG_POLICY_FILE_MAX) {
				policy_err(&c, "", "too large: over the limit of %d bytes",
					   SG_POLICY_FILE_MAX);
				ret = -EFBIG;
				goto cleanup;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				ret = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			policy_err(&c, "", "cannot read: %s", strerror(-ret));
			goto cleanup;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	ret = sg_policy_parse(buf, len, path, out, errs);
cleanup:
	free(buf);
	close(fd);
	return ret;
}
