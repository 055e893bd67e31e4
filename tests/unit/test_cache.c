// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for daemon/cache.c, the executable and cgroup path caches: a
 * path is read from /proc once per identity (device and inode, cgroup id)
 * and served from memory afterwards; a process that runs another file (or
 * sits in another cgroup) than the identity asked about gives nothing and
 * nothing is cached; a file replaced at the same path (a new inode) is an
 * identity of its own. Children run a copy of /bin/sleep in a temporary
 * directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "cache.h"
#include "mounts.h"

extern char **environ;

#define SLEEP_BIN "/bin/sleep"

struct seen {
	unsigned int n;
	int kind;
	uint64_t k1, k2;
};

static void count_notify(int kind, uint64_t k1, uint64_t k2, void *ctx)
{
	struct seen *s = ctx;

	s->n++;
	s->kind = kind;
	s->k1 = k1;
	s->k2 = k2;
}

/* The kernel's dev_t encoding, as the BPF programs report it. */
static uint32_t kdev_of(dev_t d)
{
	return (uint32_t)(major(d) << 20 | minor(d));
}

static void test_exe_self(void **state)
{
	struct proc_cache *c = proc_cache__new(NULL);
	char want[PATH_MAX];
	struct seen seen = { 0 };
	struct stat st;
	const char *p, *q;
	ssize_t n;

	(void)state;
	assert_non_null(c);
	proc_cache__set_notify(c, count_notify, &seen);
	n = readlink("/proc/self/exe", want, sizeof(want) - 1);
	assert_true(n > 0);
	want[n] = '\0';
	assert_int_equal(stat("/proc/self/exe", &st), 0);

	p = proc_cache__exe(c, (uint32_t)getpid(), kdev_of(st.st_dev), st.st_ino);
	assert_non_null(p);
	assert_string_equal(p, want);
	assert_int_equal(proc_cache__misses(c), 1);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.kind, 'e');
	assert_int_equal(seen.k1, kdev_of(st.st_dev));
	assert_int_equal(seen.k2, st.st_ino);

	/* Served from memory: the same string, no /proc read (even for another pid). */
	q = proc_cache__exe(c, 1, kdev_of(st.st_dev), st.st_ino);
	assert_ptr_equal(q, p);
	assert_int_equal(proc_cache__misses(c), 1);
	assert_int_equal(seen.n, 1);

	/* Another inode than the one pid runs: nothing, and nothing cached. */
	assert_null(proc_cache__exe(c, (uint32_t)getpid(), kdev_of(st.st_dev), st.st_ino + 1));
	assert_null(proc_cache__exe(c, (uint32_t)getpid(), kdev_of(st.st_dev), st.st_ino + 1));
	assert_int_equal(proc_cache__misses(c), 3);
	/* Another device, same inode number: the same. */
	assert_null(proc_cache__exe(c, (uint32_t)getpid(), kdev_of(st.st_dev) + 1, st.st_ino));
	assert_int_equal(seen.n, 1);
	/* A pid that does not exist. */
	assert_null(proc_cache__exe(c, 0x7ffffff0, 1, 2));
	proc_cache__free(c);
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out, err = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			err = -EIO;
			break;
		}
	}
	if (n < 0)
		err = -errno;
	close(in);
	if (close(out) && !err)
		err = -errno;
	return err;
}

/* Run path 30 and wait until the child runs it (its /proc exe is path). */
static pid_t spawn_sleeper(const char *path)
{
	char *argv[] = { (char *)path, "30", NULL };
	char link[64], now[PATH_MAX];
	pid_t pid;

	assert_int_equal(posix_spawn(&pid, path, NULL, NULL, argv, environ), 0);
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < 500; i++) {
		ssize_t n = readlink(link, now, sizeof(now) - 1);

		if (n > 0) {
			now[n] = '\0';
			if (!strcmp(now, path))
				return pid;
		}
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fail_msg("%s did not start", path);
	return -1;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The temporary directory and the children of test_exe_replaced, cleaned up even if it fails. */
struct replaced {
	char dir[32], prog[64], next[64];
	pid_t a, b;
};

static int setup_replaced(void **state)
{
	struct replaced *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	snprintf(r->dir, sizeof(r->dir), "/tmp/sg-cache-XXXXXX");
	if (!mkdtemp(r->dir)) {
		free(r);
		return -1;
	}
	snprintf(r->prog, sizeof(r->prog), "%s/prog", r->dir);
	snprintf(r->next, sizeof(r->next), "%s/prog.new", r->dir);
	*state = r;
	return 0;
}

static int teardown_replaced(void **state)
{
	struct replaced *r = *state;

	if (r->a > 0)
		reap(r->a);
	if (r->b > 0)
		reap(r->b);
	unlink(r->prog);
	unlink(r->next);
	rmdir(r->dir);
	free(r);
	return 0;
}

/*
 * prog is replaced by a new file at the same path (a new inode, as a package
 * upgrade does): the new inode is looked up on its own, the old one still
 * names what the first child ran, and a process asked about with an inode it
 * does not run gives nothing.
 */
static void test_exe_replaced(void **state)
{
	struct replaced *r = *state;
	const char *prog = r->prog, *next = r->next;
	struct proc_cache *c = proc_cache__new(NULL);
	struct seen seen = { 0 };
	struct stat sa, sb;
	char deleted[96];
	const char *p;
	pid_t a, b;

	if (access(SLEEP_BIN, X_OK)) {
		proc_cache__free(c);
		print_message("skipped: no %s to run\n", SLEEP_BIN);
		skip();
	}
	assert_non_null(c);
	proc_cache__set_notify(c, count_notify, &seen);
	assert_int_equal(copy_file(SLEEP_BIN, prog), 0);
	assert_int_equal(stat(prog, &sa), 0);
	a = r->a = spawn_sleeper(prog);

	p = proc_cache__exe(c, (uint32_t)a, kdev_of(sa.st_dev), sa.st_ino);
	assert_non_null(p);
	assert_string_equal(p, prog);

	assert_int_equal(copy_file(SLEEP_BIN, next), 0);
	assert_int_equal(rename(next, prog), 0);
	assert_int_equal(stat(prog, &sb), 0);
	assert_true(sb.st_ino != sa.st_ino);
	b = r->b = spawn_sleeper(prog);

	/* The new inode is an identity of its own: read from /proc again. */
	p = proc_cache__exe(c, (uint32_t)b, kdev_of(sb.st_dev), sb.st_ino);
	assert_non_null(p);
	assert_string_equal(p, prog);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.k2, sb.st_ino);
	assert_int_equal(proc_cache__misses(c), 2);
	/* Afresh: a does not run the new inode, b not the old one. */
	proc_cache__free(c);
	c = proc_cache__new(NULL);
	assert_non_null(c);
	assert_null(proc_cache__exe(c, (uint32_t)a, kdev_of(sb.st_dev), sb.st_ino));
	assert_null(proc_cache__exe(c, (uint32_t)b, kdev_of(sa.st_dev), sa.st_ino));
	/* Looked up afresh, a's file is the kernel's "(deleted)" name of the old inode. */
	p = proc_cache__exe(c, (uint32_t)a, kdev_of(sa.st_dev), sa.st_ino);
	assert_non_null(p);
	snprintf(deleted, sizeof(deleted), "%s (deleted)", prog);
	assert_string_equal(p, deleted);

	proc_cache__free(c);
}

/* This process's cgroup v2 path ("0::" line); 0 or -ENOENT. */
static int own_cgroup(char *buf, size_t len)
{
	char line[PATH_MAX + 16];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			if (strlen(line + 3) >= len)
				break;
			memcpy(buf, line + 3, strlen(line + 3) + 1);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

/* With the cgroup v2 mount: the path is cached only for the id it has there. */
static void test_cgroup_verified(void **state)
{
	char mnt[PATH_MAX], path[PATH_MAX];
	struct seen seen = { 0 };
	struct proc_cache *c;
	uint64_t id;
	const char *p;

	(void)state;
	if (mounts_find_cgroup2(mnt, sizeof(mnt)) || own_cgroup(path, sizeof(path)) ||
	    mounts_cgroup_id(mnt, path, &id)) {
		print_message("skipped: no cgroup v2 hierarchy here\n");
		skip();
	}
	c = proc_cache__new(mnt);
	assert_non_null(c);
	proc_cache__set_notify(c, count_notify, &seen);
	/* Another id than the cgroup the process is in: nothing, nothing cached. */
	assert_null(proc_cache__cgroup(c, (uint32_t)getpid(), id + 1));
	assert_null(proc_cache__cgroup(c, (uint32_t)getpid(), id + 1));
	assert_int_equal(proc_cache__misses(c), 2);
	assert_int_equal(seen.n, 0);

	p = proc_cache__cgroup(c, (uint32_t)getpid(), id);
	assert_non_null(p);
	assert_string_equal(p, path);
	assert_int_equal(proc_cache__misses(c), 3);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.kind, 'c');
	assert_int_equal(seen.k1, id);
	assert_ptr_equal(proc_cache__cgroup(c, 0x7ffffff0, id), p);
	assert_int_equal(proc_cache__misses(c), 3);
	proc_cache__free(c);
}

/*
 * Without the mount nothing is verified, which lets the table be filled: at
 * 3/4 of its 4096 slots it starts over (the first ids are read again), and
 * every lookup still answers.
 */
static void test_cgroup_table_full(void **state)
{
	char path[PATH_MAX];
	struct seen seen = { 0 };
	struct proc_cache *c = proc_cache__new(NULL);
	uint64_t misses;

	(void)state;
	if (own_cgroup(path, sizeof(path)))
		skip();
	assert_non_null(c);
	proc_cache__set_notify(c, count_notify, &seen);
	for (uint64_t id = 1; id <= 4000; id++) {
		const char *p = proc_cache__cgroup(c, (uint32_t)getpid(), id);

		assert_non_null(p);
		assert_string_equal(p, path);
	}
	assert_int_equal(proc_cache__misses(c), 4000);
	assert_int_equal(seen.n, 4000);
	misses = proc_cache__misses(c);
	/* The newest ids are still there, the first ones went at the clear. */
	assert_non_null(proc_cache__cgroup(c, (uint32_t)getpid(), 4000));
	assert_int_equal(proc_cache__misses(c), misses);
	assert_non_null(proc_cache__cgroup(c, (uint32_t)getpid(), 1));
	assert_int_equal(proc_cache__misses(c), misses + 1);
	proc_cache__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exe_self),
		cmocka_unit_test_setup_teardown(test_exe_replaced, setup_replaced,
						teardown_replaced),
		cmocka_unit_test(test_cgroup_verified),
		cmocka_unit_test(test_cgroup_table_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
