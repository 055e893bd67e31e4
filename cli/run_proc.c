// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sendguard run: what the supervisor knows of the sandboxed threads, read from
 * /proc once and kept until the filter reports a change (execve, exit,
 * prctl(PR_SET_NAME), set*id) or the process exits (its pidfd); and unix
 * socket paths resolved as a sandboxed thread sees them, pinned.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/openat2.h>

#include "run.h"

#define NBUCKETS 256

static unsigned int bucket(pid_t id)
{
	return (unsigned int)id % NBUCKETS;
}

int run_procs_init(struct run_procs *p, int epoll_fd)
{
	static const char *const mounts[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs sf;

	memset(p, 0, sizeof(*p));
	p->epoll_fd = epoll_fd;
	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		if (statfs(mounts[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
			p->cgroup2 = strdup(mounts[i]);
			break;
		}
	}
	return 0;
}

static void process_free(struct run_procs *p, struct run_process *pr)
{
	if (pr->pidfd >= 0) {
		epoll_ctl(p->epoll_fd, EPOLL_CTL_DEL, pr->pidfd, NULL);
		close(pr->pidfd);
	}
	free(pr->exe);
	free(pr->cgroup);
	free(pr);
}

void run_procs_free(struct run_procs *p)
{
	for (int b = 0; b < NBUCKETS; b++) {
		for (struct run_thread *t = p->threads[b], *n; t; t = n) {
			n = t->next;
			free(t);
		}
		for (struct run_process *pr = p->procs[b], *n; pr; pr = n) {
			n = pr->next;
			process_free(p, pr);
		}
	}
	free(p->cgroup2);
	memset(p->threads, 0, sizeof(p->threads));
	memset(p->procs, 0, sizeof(p->procs));
}

/* The whole small /proc file into buf (NUL-terminated). Length, or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = 0;
	close(fd);
	return n;
}

static long status_field(const char *status, const char *key)
{
	const char *s = strstr(status, key);

	return s ? strtol(s + strlen(key), NULL, 10) : -1;
}

static void process_read(struct run_procs *p, struct run_process *pr)
{
	char path[64], buf[PATH_MAX + 16], *nl;
	struct stat st;
	ssize_t n;

	free(pr->exe);
	free(pr->cgroup);
	pr->exe = pr->cgroup = NULL;
	pr->exe_known = false;
	pr->cgroup_id = 0;
	snprintf(path, sizeof(path), "/proc/%d/exe", pr->tgid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		pr->exe = strdup(buf);
	}
	if (stat(path, &st) == 0) {
		pr->exe_known = true;
		pr->exe_dev = (uint64_t)major(st.st_dev) << 20 | minor(st.st_dev);
		pr->exe_ino = st.st_ino;
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pr->tgid);
	if (read_small(path, buf, sizeof(buf)) > 0) {
		char *line = strstr(buf, "0::");

		if (line && (line == buf || line[-1] == '\n')) {
			line += 3;
			nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			pr->cgroup = strdup(line);
			if (p->cgroup2 && pr->cgroup) {
				char cg[PATH_MAX];

				snprintf(cg, sizeof(cg), "%s%s", p->cgroup2, pr->cgroup);
				if (stat(cg, &st) == 0)
					pr->cgroup_id = st.st_ino;
			}
		}
	}
	pr->stale = false;
}

static struct run_process *process_get(struct run_procs *p, pid_t tgid)
{
	struct run_process *pr;
	struct epoll_event ev = { .events = EPOLLIN };

	for (pr = p->procs[bucket(tgid)]; pr; pr = pr->next) {
		if (pr->tgid == tgid) {
			if (pr->stale)
				process_read(p, pr);
			return pr;
		}
	}
	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return NULL;
	pr->tgid = tgid;
	pr->pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
	if (pr->pidfd < 0) {
		free(pr);
		return NULL;
	}
	fcntl(pr->pidfd, F_SETFD, FD_CLOEXEC);
	ev.data.u64 = RUN_TAG_PIDFD | (uint32_t)pr->pidfd;
	epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, pr->pidfd, &ev);
	process_read(p, pr);
	pr->next = p->procs[bucket(tgid)];
	p->procs[bucket(tgid)] = pr;
	return pr;
}

static int thread_read(struct run_procs *p, struct run_thread *t)
{
	char path[64], buf[2048];
	long tgid, ppid;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", t->tid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return -ESRCH;
	tgid = status_field(buf, "\nTgid:");
	ppid = status_field(buf, "\nPPid:");
	t->uid = (uint32_t)status_field(buf, "\nUid:");
	t->gid = (uint32_t)status_field(buf, "\nGid:");
	if (tgid <= 0)
		return -ESRCH;
	t->tgid = (pid_t)tgid;
	t->ppid = (pid_t)ppid;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", t->tgid, t->tid);
	memset(t->comm, 0, sizeof(t->comm));
	n = read_small(path, buf, sizeof(buf));
	if (n > 0) {
		if (buf[n - 1] == '\n')
			buf[--n] = 0;
		memcpy(t->comm, buf,
		       (size_t)n < sizeof(t->comm) - 1 ? (size_t)n : sizeof(t->comm) - 1);
	}
	t->proc = process_get(p, t->tgid);
	if (!t->proc)
		return -ESRCH;
	t->stale = false;
	return 0;
}

struct run_thread *run_thread_get(struct run_procs *p, pid_t tid)
{
	struct run_thread *t;

	for (t = p->threads[bucket(tid)]; t; t = t->next) {
		if (t->tid == tid)
			break;
	}
	if (t && !t->stale && t->proc && !t->proc->stale)
		return t;
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		t->tid = tid;
		t->next = p->threads[bucket(tid)];
		p->threads[bucket(tid)] = t;
	}
	if (thread_read(p, t)) {
		run_thread_forget(p, tid);
		return NULL;
	}
	return t;
}

void run_thread_forget(struct run_procs *p, pid_t tid)
{
	for (struct run_thread **pp = &p->threads[bucket(tid)]; *pp; pp = &(*pp)->next) {
		if ((*pp)->tid == tid) {
			struct run_thread *t = *pp;

			*pp = t->next;
			free(t);
			return;
		}
	}
}

void run_process_forget(struct run_procs *p, pid_t tgid)
{
	for (int b = 0; b < NBUCKETS; b++) {
		for (struct run_thread **pp = &p->threads[b]; *pp;) {
			if ((*pp)->tgid == tgid) {
				struct run_thread *t = *pp;

				*pp = t->next;
				free(t);
			} else {
				pp = &(*pp)->next;
			}
		}
	}
	for (struct run_process **pp = &p->procs[bucket(tgid)]; *pp; pp = &(*pp)->next) {
		if ((*pp)->tgid == tgid) {
			struct run_process *pr = *pp;

			*pp = pr->next;
			process_free(p, pr);
			return;
		}
	}
}

void run_thread_mark_stale(struct run_procs *p, pid_t tid, bool whole_process)
{
	for (struct run_thread *t = p->threads[bucket(tid)]; t; t = t->next) {
		if (t->tid != tid)
			continue;
		t->stale = true;
		if (whole_process && t->proc) {
			/* execve: the other threads are gone, the exe and comm change */
			pid_t tgid = t->tgid;

			run_process_forget(p, tgid);
		}
		return;
	}
}

void run_procs_pidfd_ready(struct run_procs *p, int fd)
{
	for (int b = 0; b < NBUCKETS; b++) {
		for (struct run_process *pr = p->procs[b]; pr; pr = pr->next) {
			if (pr->pidfd == fd) {
				run_process_forget(p, pr->tgid);
				return;
			}
		}
	}
}

/* --- unix paths ---------------------------------------------------------------- */

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/*
 * The thread's view: when it shares this process's root and mount namespace,
 * the path is opened from its cwd (relative) or from "/" with magic links
 * allowed, so /proc/<pid>/cwd/... works; otherwise inside its root with
 * RESOLVE_IN_ROOT (which refuses magic links).
 */
int run_path_pin(pid_t tgid, pid_t tid, const char *path, int *out, char *canon, size_t canon_len)
{
	char spelled[PATH_MAX + 64], root[64], p1[64], p2[64];
	const char *rest;
	struct stat st;
	int fd = -1, dirfd = -1, err;
	ssize_t n;

	*out = -1;
	if (!strncmp(path, "/proc/self/", 11) || !strcmp(path, "/proc/self")) {
		rest = path + 10;
		snprintf(spelled, sizeof(spelled), "/proc/%d%s", tgid, rest);
	} else if (!strncmp(path, "/proc/thread-self/", 18)) {
		rest = path + 17;
		snprintf(spelled, sizeof(spelled), "/proc/%d/task/%d%s", tgid, tid, rest);
	} else {
		snprintf(spelled, sizeof(spelled), "%s", path);
	}
	snprintf(root, sizeof(root), "/proc/%d/root", tgid);
	snprintf(p1, sizeof(p1), "/proc/%d/ns/mnt", tgid);
	if (same_file(root, "/") && same_file(p1, "/proc/self/ns/mnt")) {
		if (spelled[0] != '/') {
			snprintf(p2, sizeof(p2), "/proc/%d/cwd", tid);
			dirfd = open(p2, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (dirfd < 0)
				return -ESRCH;
		}
		fd = openat(dirfd >= 0 ? dirfd : AT_FDCWD, spelled, O_PATH | O_CLOEXEC);
	} else {
		struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
		char cwd[PATH_MAX], rootp[PATH_MAX], abs[2 * PATH_MAX + 128];

		dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			return -ESRCH;
		if (spelled[0] != '/') {
			/* the cwd as seen from its root */
			ssize_t rl, cl;

			snprintf(p2, sizeof(p2), "/proc/%d/cwd", tid);
			rl = readlink(root, rootp, sizeof(rootp) - 1);
			cl = readlink(p2, cwd, sizeof(cwd) - 1);
			if (rl <= 0 || cl <= 0) {
				close(dirfd);
				return -ESRCH;
			}
			rootp[rl] = cwd[cl] = 0;
			if (strcmp(rootp, "/") && strncmp(cwd, rootp, (size_t)rl)) {
				close(dirfd);
				return -ENOENT; /* its cwd is outside its root */
			}
			snprintf(abs, sizeof(abs), "%s/%s", strcmp(rootp, "/") ? cwd + rl : cwd,
				 spelled);
			fd = (int)syscall(SYS_openat2, dirfd, abs, &how, sizeof(how));
		} else {
			fd = (int)syscall(SYS_openat2, dirfd, spelled, &how, sizeof(how));
		}
	}
	err = fd < 0 ? -errno : 0;
	if (dirfd >= 0)
		close(dirfd);
	if (err)
		return err;
	if (fstat(fd, &st) || !S_ISSOCK(st.st_mode)) {
		close(fd);
		return -ECONNREFUSED;
	}
	snprintf(p1, sizeof(p1), "/proc/self/fd/%d", fd);
	n = readlink(p1, canon, canon_len - 1);
	if (n <= 0) {
		close(fd);
		return -ENOENT;
	}
	canon[n] = 0;
	*out = fd;
	return 0;
}
