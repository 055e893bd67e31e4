// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for common/sinks.c, the file and FIFO sinks, in a temporary
 * directory: rotation at rotate_size keeping PATH.1 .. PATH.N of whole lines,
 * the oldest dropped; reopen after the file was moved; a full disk
 * (RLIMIT_FSIZE, SIGXFSZ ignored: the kernel's EFBIG, a short write first)
 * counted and cut back to whole lines; what file_open refuses (a symbolic
 * link, a second hard link, a FIFO without a reader); a FIFO, or stdout on
 * a pipe or a socket, whose reader stops or goes away: the writer never
 * waits long and counts what it drops, the reader never sees a partial line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "clock.h"
#include "sinks.h"

struct tmp {
	char dir[64];
	char path[PATH_MAX];
	struct rlimit fsize; /* restored after each test, even a failed one */
};

static int setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/sg-sinks-XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/events.jsonl", t->dir);
	getrlimit(RLIMIT_FSIZE, &t->fsize);
	*state = t;
	return 0;
}

static int teardown_tmp(void **state)
{
	struct tmp *t = *state;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(t->dir);

	setrlimit(RLIMIT_FSIZE, &t->fsize);
	signal(SIGXFSZ, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", t->dir, de->d_name);
		if (unlink(path) && errno == EISDIR)
			rmdir(path);
	}
	if (d)
		closedir(d);
	rmdir(t->dir);
	free(t);
	return 0;
}

/* One record line of exactly width bytes: {"seq":N,"pad":"xxx..."}\n */
static size_t make_line(char *buf, size_t width, unsigned int seq)
{
	int n = snprintf(buf, width, "{\"seq\":%u,\"pad\":\"", seq);

	assert_true(n > 0 && (size_t)n + 3 <= width);
	memset(buf + n, 'x', width - (size_t)n - 3);
	memcpy(buf + width - 3, "\"}\n", 3);
	return width;
}

/* A batch of count lines of width bytes, seqs first..; returns its length. */
static size_t make_batch(char *buf, size_t width, unsigned int first, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++)
		make_line(buf + i * width, width, first + i);
	return width * count;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/*
 * Check that buf[0..len) is whole record lines with consecutive seqs starting
 * at *next (any first seq when *next is UINT_MAX); advance *next past them.
 * Returns the number of lines.
 */
static unsigned int check_lines(const char *buf, size_t len, unsigned int *next)
{
	unsigned int n = 0;
	const char *p = buf, *end = buf + len;

	if (len)
		assert_int_equal(buf[len - 1], '\n');
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		unsigned int seq;

		assert_non_null(nl);
		if (sscanf(p, "{\"seq\":%u,", &seq) != 1)
			fail_msg("not a record line: %.*s", (int)(nl - p), p);
		if (memcmp(nl - 2, "\"}", 2))
			fail_msg("cut line: %.*s", (int)(nl - p), p);
		if (*next != UINT_MAX && seq != *next)
			fail_msg("seq %u where %u was expected", seq, *next);
		*next = seq + 1;
		n++;
		p = nl + 1;
	}
	return n;
}

static void open_file_sink(struct sink *s, const char *path, uint64_t rotate_size,
			   unsigned int keep)
{
	char spec[PATH_MAX + 16];

	snprintf(spec, sizeof(spec), "file:%s", path);
	assert_int_equal(sink__parse(spec, s), 0);
	assert_int_equal(s->kind, SINK_FILE);
	s->rotate_size = rotate_size;
	s->rotate_keep = keep;
	assert_int_equal(sink__open(s), 0);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/*
 * 100 records of 40 bytes, in batches of 1 to 7, into files of at most 200
 * bytes keeping 3: PATH.3, .2, .1, PATH hold the last records in order, each
 * file 5 whole lines (at most), PATH.4 never exists.
 */
static void test_rotation_keeps_n(void **state)
{
	struct tmp *t = *state;
	char buf[7 * 40], name[PATH_MAX + 16];
	unsigned int seq = 0, next = UINT_MAX, total = 0;
	struct sink s;

	open_file_sink(&s, t->path, 200, 3);
	while (seq < 100) {
		unsigned int n = seq % 7 + 1;

		if (seq + n > 100)
			n = 100 - seq;
		assert_int_equal(sink__write(&s, buf, make_batch(buf, 40, seq, n), n), 0);
		seq += n;
	}
	assert_int_equal(s.errors, 0);
	assert_int_equal(s.dropped, 0);
	for (int i = 3; i >= 0; i--) {
		size_t len;
		char *data;

		if (i)
			snprintf(name, sizeof(name), "%s.%d", t->path, i);
		else
			snprintf(name, sizeof(name), "%s", t->path);
		data = read_file(name, &len);
		if (!data)
			fail_msg("%s is missing", name);
		assert_true(len <= 200);
		assert_true(len > 0);
		total += check_lines(data, len, &next);
		free(data);
	}
	/* The newest record is the last one of PATH; older ones are gone. */
	assert_int_equal(next, 100);
	assert_int_equal(total, 20);
	snprintf(name, sizeof(name), "%s.4", t->path);
	assert_false(exists(name));
	sink__close(&s);
}

/* rotate_keep 0: the file starts over, no PATH.1 is made. */
static void test_rotation_keep_zero(void **state)
{
	struct tmp *t = *state;
	char buf[40], name[PATH_MAX + 16];
	unsigned int next = UINT_MAX;
	struct sink s;
	size_t len;
	char *data;

	open_file_sink(&s, t->path, 100, 0);
	for (unsigned int i = 0; i < 7; i++)
		assert_int_equal(sink__write(&s, buf, make_line(buf, 40, i), 1), 0);
	data = read_file(t->path, &len);
	assert_non_null(data);
	/* 7 lines of 40 in files of 100: 2 + 2 + 2 + 1, the last file has seq 6 alone */
	assert_int_equal(check_lines(data, len, &next), 1);
	assert_int_equal(next, 7);
	free(data);
	snprintf(name, sizeof(name), "%s.1", t->path);
	assert_false(exists(name));
	sink__close(&s);
}

/* A line longer than rotate_size goes into a file of its own, whole. */
static void test_rotation_long_line(void **state)
{
	struct tmp *t = *state;
	char buf[3 * 300], name[PATH_MAX + 16];
	unsigned int next = UINT_MAX;
	struct sink s;
	size_t off, len;
	char *data;

	open_file_sink(&s, t->path, 100, 2);
	off = make_line(buf, 40, 0);
	off += make_line(buf + off, 300, 1);
	off += make_line(buf + off, 40, 2);
	assert_int_equal(sink__write(&s, buf, off, 3), 0);
	snprintf(name, sizeof(name), "%s.2", t->path);
	data = read_file(name, &len);
	assert_non_null(data);
	assert_int_equal(check_lines(data, len, &next), 1);
	free(data);
	snprintf(name, sizeof(name), "%s.1", t->path);
	data = read_file(name, &len);
	assert_non_null(data);
	assert_int_equal(len, 300);
	assert_int_equal(check_lines(data, len, &next), 1);
	free(data);
	data = read_file(t->path, &len);
	assert_non_null(data);
	assert_int_equal(check_lines(data, len, &next), 1);
	assert_int_equal(next, 3);
	free(data);
	sink__close(&s);
}

/* After logrotate moved PATH away, reopen starts a new PATH; the moved file keeps its lines. */
static void test_reopen(void **state)
{
	struct tmp *t = *state;
	char buf[40], moved[PATH_MAX + 16];
	unsigned int next = 0;
	struct sink s;
	size_t len;
	char *data;

	open_file_sink(&s, t->path, 0, 0);
	assert_int_equal(sink__write(&s, buf, make_line(buf, 40, 0), 1), 0);
	snprintf(moved, sizeof(moved), "%s.moved", t->path);
	assert_int_equal(rename(t->path, moved), 0);
	assert_int_equal(sink__write(&s, buf, make_line(buf, 40, 1), 1), 0);
	assert_int_equal(sink__reopen(&s), 0);
	assert_int_equal(sink__write(&s, buf, make_line(buf, 40, 2), 1), 0);
	data = read_file(moved, &len);
	assert_non_null(data);
	assert_int_equal(check_lines(data, len, &next), 2);
	free(data);
	data = read_file(t->path, &len);
	assert_non_null(data);
	assert_int_equal(check_lines(data, len, &next), 1);
	assert_int_equal(next, 3);
	free(data);
	sink__close(&s);
}

/*
 * A full disk: RLIMIT_FSIZE 1000 with SIGXFSZ ignored makes write() stop
 * short at 1000 bytes, then fail with EFBIG, as on a full file system. A
 * batch of 20 lines of 64: 15 fit (960 bytes), the 16th is cut at 40 bytes
 * and taken back out; 5 are dropped. Then every record of a batch is dropped,
 * and once there is room again writing goes on with whole lines.
 */
static void test_disk_full(void **state)
{
	struct tmp *t = *state;
	struct rlimit old, lim;
	char buf[20 * 64];
	unsigned int next = 0;
	struct sink s;
	void (*old_sig)(int);
	size_t len;
	char *data;
	int err;

	open_file_sink(&s, t->path, 0, 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	if (old.rlim_max != RLIM_INFINITY && old.rlim_max < 4096)
		skip();
	old_sig = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 1000;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

	err = sink__write(&s, buf, make_batch(buf, 64, 0, 20), 20);
	assert_int_equal(err, -EFBIG);
	assert_int_equal(s.errors, 1);
	assert_int_equal(s.dropped, 5);
	assert_int_equal(s.last_err, -EFBIG);
	assert_int_equal(s.size, 960);

	err = sink__write(&s, buf, make_batch(buf, 64, 20, 3), 3);
	assert_int_equal(err, -EFBIG);
	assert_int_equal(s.errors, 2);
	assert_int_equal(s.dropped, 8);

	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_sig);
	assert_int_equal(sink__write(&s, buf, make_batch(buf, 64, 15, 2), 2), 0);
	assert_int_equal(s.last_err, 0);
	assert_int_equal(s.errors, 2);
	assert_int_equal(s.dropped, 8);
	sink__close(&s);

	data = read_file(t->path, &len);
	assert_non_null(data);
	assert_int_equal(len, 17 * 64);
	assert_int_equal(check_lines(data, len, &next), 17);
	free(data);
}

/*
 * With rotation on, a file cut short by a full disk is cut back to whole
 * lines the same way, and not rotated on account of it.
 */
static void test_disk_full_rotating(void **state)
{
	struct tmp *t = *state;
	struct rlimit old, lim;
	char buf[10 * 64], name[PATH_MAX + 16];
	unsigned int next = UINT_MAX;
	struct sink s;
	void (*old_sig)(int);
	size_t len;
	char *data;

	open_file_sink(&s, t->path, 640, 2);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	if (old.rlim_max != RLIM_INFINITY && old.rlim_max < 4096)
		skip();
	old_sig = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 300;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	/* Every file takes 4 lines (256 bytes), the 5th is cut at 44 bytes. */
	assert_int_equal(sink__write(&s, buf, make_batch(buf, 64, 0, 10), 10), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_sig);
	assert_int_equal(s.dropped, 6);
	sink__close(&s);
	data = read_file(t->path, &len);
	assert_non_null(data);
	assert_int_equal(len, 256);
	assert_int_equal(check_lines(data, len, &next), 4);
	free(data);
	snprintf(name, sizeof(name), "%s.1", t->path);
	assert_false(exists(name));
}

#define CHILD_CHECK(cond)                                                          \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			_exit(1);                                                  \
		}                                                                  \
	} while (0)

/*
 * A real full file system: a 64 KiB tmpfs, mounted in a mount namespace of
 * a child of its own (root only). 1000 lines of 100 bytes: the write stops
 * short with ENOSPC; the file keeps the whole lines, the partial one is
 * taken out (ftruncate works on a full tmpfs), the rest is counted dropped.
 * The child checks without cmocka (a failed assert would go on running the
 * other tests in it) and says what failed on stderr.
 */
static void test_disk_full_tmpfs(void **state)
{
	struct tmp *t = *state;
	char mnt[PATH_MAX], path[PATH_MAX + 16];
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		print_message("skipped: mounting a tmpfs needs root (the RLIMIT_FSIZE tests "
			      "cover the short write)\n");
		skip();
	}
	snprintf(mnt, sizeof(mnt), "%s/small", t->dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	snprintf(path, sizeof(path), "%s/events.jsonl", mnt);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *buf = malloc(1000 * 100), *data;
		unsigned int next = 0;
		struct sink s;
		struct stat st;
		size_t len;
		int err;

		CHILD_CHECK(buf);
		if (unshare(CLONE_NEWNS) || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700")) {
			fprintf(stderr, "cannot mount a tmpfs: %s\n", strerror(errno));
			_exit(77);
		}
		snprintf(buf, 1000 * 100, "file:%s", path);
		CHILD_CHECK(sink__parse(buf, &s) == 0 && sink__open(&s) == 0);
		/* make_line's asserts do not fail here: its widths are fine */
		err = sink__write(&s, buf, make_batch(buf, 100, 0, 1000), 1000);
		CHILD_CHECK(err == -ENOSPC);
		CHILD_CHECK(s.errors == 1);
		CHILD_CHECK(stat(path, &st) == 0);
		CHILD_CHECK(st.st_size > 0 && st.st_size % 100 == 0);
		CHILD_CHECK(s.size == (uint64_t)st.st_size);
		CHILD_CHECK(s.dropped == 1000 - (uint64_t)st.st_size / 100);
		/* Full: a whole batch is dropped, the file keeps its size. */
		err = sink__write(&s, buf, make_batch(buf, 100, 2000, 10), 10);
		CHILD_CHECK(err == -ENOSPC);
		CHILD_CHECK(s.dropped == 1010 - (uint64_t)st.st_size / 100);
		sink__close(&s);
		data = read_file(path, &len);
		CHILD_CHECK(data && len == (size_t)st.st_size);
		for (size_t off = 0; off < len; off += 100, next++) {
			unsigned int seq;

			CHILD_CHECK(sscanf(data + off, "{\"seq\":%u,", &seq) == 1 && seq == next);
			CHILD_CHECK(!memcmp(data + off + 97, "\"}\n", 3));
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	rmdir(mnt);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A symbolic link at PATH is refused and its target never written. */
static void test_symlink_refused(void **state)
{
	struct tmp *t = *state;
	char target[PATH_MAX + 16], buf[40];
	struct sink s;
	struct stat st;
	char spec[PATH_MAX + 16];
	int fd;

	snprintf(target, sizeof(target), "%s/target", t->dir);
	fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink(target, t->path), 0);

	snprintf(spec, sizeof(spec), "file:%s", t->path);
	assert_int_equal(sink__parse(spec, &s), 0);
	assert_int_equal(sink__open(&s), -ELOOP);
	assert_non_null(strstr(sink__strerror(&s, -ELOOP), "symbolic link"));
	/* Writing tries to open again, is refused again and counts the batch. */
	assert_int_equal(sink__write(&s, buf, make_line(buf, 40, 0), 1), -ELOOP);
	assert_int_equal(s.errors, 1);
	assert_int_equal(s.dropped, 1);
	sink__close(&s);
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(lstat(t->path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

/* A symbolic link planted at PATH.1 is replaced by rotation, never written through. */
static void test_rotation_symlink_not_followed(void **state)
{
	struct tmp *t = *state;
	char target[PATH_MAX + 16], link1[PATH_MAX + 16], buf[40];
	struct sink s;
	struct stat st;
	int fd;

	snprintf(target, sizeof(target), "%s/target", t->dir);
	fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(link1, sizeof(link1), "%s.1", t->path);
	assert_int_equal(symlink(target, link1), 0);
	open_file_sink(&s, t->path, 80, 1);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(sink__write(&s, buf, make_line(buf, 40, i), 1), 0);
	sink__close(&s);
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(lstat(link1, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 80);
}

/* A regular file with a second hard link is refused (it could be anyone's file). */
static void test_hardlink_refused(void **state)
{
	struct tmp *t = *state;
	char other[PATH_MAX + 16], spec[PATH_MAX + 16];
	struct sink s;
	int fd;

	snprintf(other, sizeof(other), "%s/other", t->dir);
	fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(link(other, t->path), 0);
	snprintf(spec, sizeof(spec), "file:%s", t->path);
	assert_int_equal(sink__parse(spec, &s), 0);
	assert_int_equal(sink__open(&s), -EMLINK);
	assert_non_null(strstr(sink__strerror(&s, -EMLINK), "more than one link"));
	sink__close(&s);
}

static void test_parse(void **state)
{
	struct sink s;

	(void)state;
	assert_int_equal(sink__parse("file:relative/path", &s), -EINVAL);
	assert_int_equal(sink__parse("files:/x", &s), -EINVAL);
	assert_int_equal(sink__parse("stdout", &s), 0);
	assert_int_equal(s.kind, SINK_STDOUT);
	assert_string_equal(sink__name(&s), "stdout");
	sink__close(&s);
	assert_int_equal(sink__parse("file:/var/log/x.jsonl", &s), 0);
	assert_string_equal(sink__name(&s), "/var/log/x.jsonl");
	assert_int_equal(s.fd, -1);
	sink__close(&s);
}

/* A FIFO nobody reads is an error at once, not a hang. */
static void test_fifo_without_reader(void **state)
{
	struct tmp *t = *state;
	char spec[PATH_MAX + 16];
	struct sink s;

	assert_int_equal(mkfifo(t->path, 0600), 0);
	snprintf(spec, sizeof(spec), "file:%s", t->path);
	assert_int_equal(sink__parse(spec, &s), 0);
	assert_int_equal(sink__open(&s), -ENXIO);
	assert_string_equal(sink__strerror(&s, -ENXIO), "a FIFO without a reader");
	sink__close(&s);
}

/* Read everything the FIFO holds now (non-blocking reader), NUL-terminated. */
static size_t drain(int fd, char **acc, size_t *acc_len)
{
	char chunk[65536];
	size_t got = 0;
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		char *a = realloc(*acc, *acc_len + (size_t)n + 1);

		assert_non_null(a);
		memcpy(a + *acc_len, chunk, (size_t)n);
		*acc = a;
		*acc_len += (size_t)n;
		a[*acc_len] = '\0'; /* for sscanf */
		got += (size_t)n;
	}
	return got;
}

/*
 * A FIFO whose reader stops reading: batches of 100-byte lines until the
 * 4 KiB pipe is full. The write that does not fit returns -EAGAIN within
 * about STREAM_WAIT_MS (1 s) and counts its records as dropped, except a
 * line cut short, which is finished first at the next write. Once the reader
 * reads again, it gets exactly the lines not dropped, whole and in order.
 */
static void test_fifo_slow_reader(void **state)
{
	struct tmp *t = *state;
	char buf[8 * 100], spec[PATH_MAX + 16];
	unsigned int seq = 0, lines;
	uint64_t written = 0, t0, elapsed;
	size_t acc_len = 0;
	char *acc = NULL;
	struct sink s;
	int rfd, err = 0;

	assert_int_equal(mkfifo(t->path, 0600), 0);
	rfd = open(t->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rfd >= 0);
	if (fcntl(rfd, F_SETPIPE_SZ, 4096) < 0)
		fail_msg("F_SETPIPE_SZ: %s", strerror(errno));
	snprintf(spec, sizeof(spec), "file:%s", t->path);
	assert_int_equal(sink__parse(spec, &s), 0);
	assert_int_equal(sink__open(&s), 0);
	assert_true(s.stream);
	assert_int_equal(s.pipe_size, 4096);

	/* 8 lines of 100 bytes per batch: the 6th batch does not fit in 4096. */
	t0 = sg_clock_mono_ms();
	while (seq < 8 * 20) {
		err = sink__write(&s, buf, make_batch(buf, 100, seq, 8), 8);
		seq += 8;
		if (err)
			break;
		written += 8;
	}
	elapsed = sg_clock_mono_ms() - t0;
	assert_int_equal(err, -EAGAIN);
	assert_true(elapsed >= 900 && elapsed < 5000);
	assert_int_equal(s.errors, 1);
	/* What is not in the pipe or kept as the tail of a cut line is dropped. */
	assert_true(s.dropped > 0 && s.dropped <= 8);
	lines = (unsigned int)s.dropped;

	/* The reader reads again; the next batch goes through, after the cut line's rest. */
	drain(rfd, &acc, &acc_len);
	assert_int_equal(sink__write(&s, buf, make_batch(buf, 100, seq, 8), 8), 0);
	assert_int_equal(s.last_err, 0);
	drain(rfd, &acc, &acc_len);
	{
		unsigned int next = 0, n = 0;
		const char *p = acc, *end = acc + acc_len;

		/* Whole lines; seqs consecutive except for the dropped run. */
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			unsigned int sq;

			assert_non_null(nl);
			assert_int_equal(nl - p + 1, 100);
			assert_int_equal(sscanf(p, "{\"seq\":%u,", &sq), 1);
			assert_int_equal(memcmp(nl - 2, "\"}", 2), 0);
			if (sq != next) {
				/* the gap: exactly the dropped records, then the last batch */
				assert_int_equal(sq - next, lines);
				assert_int_equal(sq, seq);
			}
			next = sq + 1;
			n++;
			p = nl + 1;
		}
		assert_int_equal(next, seq + 8);
		assert_int_equal(n, seq + 8 - lines);
	}
	free(acc);
	sink__close(&s);
	close(rfd);
}

/* The reader goes away: -EPIPE at once, the batch counted, no SIGPIPE death. */
static void test_fifo_reader_gone(void **state)
{
	struct tmp *t = *state;
	char buf[4 * 50], spec[PATH_MAX + 16];
	void (*old_sig)(int);
	uint64_t t0;
	struct sink s;
	int rfd;

	assert_int_equal(mkfifo(t->path, 0600), 0);
	rfd = open(t->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rfd >= 0);
	snprintf(spec, sizeof(spec), "file:%s", t->path);
	assert_int_equal(sink__parse(spec, &s), 0);
	assert_int_equal(sink__open(&s), 0);
	assert_int_equal(sink__write(&s, buf, make_batch(buf, 50, 0, 4), 4), 0);
	close(rfd);
	old_sig = signal(SIGPIPE, SIG_IGN); /* as sendguardd does */
	t0 = sg_clock_mono_ms();
	assert_int_equal(sink__write(&s, buf, make_batch(buf, 50, 4, 4), 4), -EPIPE);
	assert_true(sg_clock_mono_ms() - t0 < 500);
	signal(SIGPIPE, old_sig);
	assert_int_equal(s.errors, 1);
	assert_int_equal(s.dropped, 4);
	sink__close(&s);
}

/*
 * Lines of 100 bytes with seqs 0..: whole, in order, one run of `dropped`
 * missing before seq `resume`; 0 or the line number (from 1) that is wrong.
 */
static unsigned int stream_wrong_line(const char *buf, size_t len, unsigned int dropped,
				      unsigned int resume, unsigned int *lines)
{
	unsigned int next = 0, n = 0;

	for (size_t off = 0; off < len; off += 100) {
		unsigned int seq;

		n++;
		if (len - off < 100 || buf[off + 99] != '\n' || memcmp(buf + off + 97, "\"}", 2) ||
		    sscanf(buf + off, "{\"seq\":%u,", &seq) != 1)
			return n;
		if (seq != next && (seq != resume || seq - next != dropped))
			return n;
		next = seq + 1;
	}
	*lines = n;
	return 0;
}

/*
 * stdout on a pipe or a socket whose reader stops (in a child: stdout is
 * replaced). A pipe gets a file description of its own, non-blocking, and
 * fd 1 stays blocking for everyone else; a socket is written with
 * MSG_DONTWAIT and may take part of a line: the rest is kept and written
 * first the next time. Either way the write that does not fit gives up after
 * about a second, the reader gets whole lines only, and what is missing is
 * exactly what was counted dropped.
 */
static void stdout_stream_child(bool socket_out)
{
	/* A socket takes part of a batch larger than its 4 KiB chunks: 120 lines. */
	unsigned int batch = socket_out ? 120 : 8, seq = 0, wrong, lines = 0, dropped;
	char *buf = malloc(batch * 100), *acc = NULL;
	int fds[2], sz = 4096, err = 0;
	size_t acc_len = 0;
	uint64_t t0;
	struct sink s;

	CHILD_CHECK(buf);
	if (socket_out) {
		CHILD_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
		CHILD_CHECK(setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == 0);
		CHILD_CHECK(setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) == 0);
		/* fds[0] reads, fds[1] becomes stdout */
	} else {
		CHILD_CHECK(pipe2(fds, O_CLOEXEC) == 0);
		CHILD_CHECK(fcntl(fds[1], F_SETPIPE_SZ, 4096) >= 0);
	}
	CHILD_CHECK(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
	CHILD_CHECK(dup2(fds[1], STDOUT_FILENO) == STDOUT_FILENO);
	close(fds[1]);
	CHILD_CHECK(sink__parse("stdout", &s) == 0 && sink__open(&s) == 0);
	CHILD_CHECK(s.stream);
	if (socket_out) {
		CHILD_CHECK(s.is_socket && s.fd == STDOUT_FILENO);
	} else {
		CHILD_CHECK(s.fd != STDOUT_FILENO && s.pipe_size == 4096);
		CHILD_CHECK(!(fcntl(STDOUT_FILENO, F_GETFL) & O_NONBLOCK));
	}
	t0 = sg_clock_mono_ms();
	while (seq < batch * 50 && !err) {
		err = sink__write(&s, buf, make_batch(buf, 100, seq, batch), batch);
		seq += batch;
	}
	CHILD_CHECK(err == -EAGAIN);
	CHILD_CHECK(sg_clock_mono_ms() - t0 >= 900 && sg_clock_mono_ms() - t0 < 5000);
	CHILD_CHECK(s.errors == 1 && s.dropped > 0 && s.dropped <= batch);
	/*
	 * A pipe takes whole lines or none. The socket took part of the last
	 * batch in 4032-byte chunks (half its 8 KiB send buffer, less a header,
	 * as Linux cuts a unix stream write), so a line was cut: its rest is kept.
	 */
	if (socket_out)
		CHILD_CHECK(s.tail_len > 0 && s.tail_len < 100);
	else
		CHILD_CHECK(s.tail_len == 0);
	dropped = (unsigned int)s.dropped;
	drain(fds[0], &acc, &acc_len);
	/* Reading again: the rest of the cut line, then a batch that fits. */
	CHILD_CHECK(sink__write(&s, buf, make_batch(buf, 100, seq, 8), 8) == 0);
	CHILD_CHECK(s.tail_len == 0);
	drain(fds[0], &acc, &acc_len);
	wrong = stream_wrong_line(acc, acc_len, dropped, seq, &lines);
	if (wrong)
		fprintf(stderr, "line %u of what the reader got is wrong\n", wrong);
	CHILD_CHECK(!wrong);
	CHILD_CHECK(lines == seq + 8 - dropped);
	sink__close(&s);
	_exit(0);
}

static void run_stdout_child(bool socket_out)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		stdout_stream_child(socket_out);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_stdout_pipe_slow_reader(void **state)
{
	(void)state;
	run_stdout_child(false);
}

static void test_stdout_socket_slow_reader(void **state)
{
	(void)state;
	run_stdout_child(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_rotation_keeps_n, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_rotation_keep_zero, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_rotation_long_line, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_rotation_symlink_not_followed, setup_tmp,
						teardown_tmp),
		cmocka_unit_test_setup_teardown(test_reopen, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_disk_full, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_disk_full_rotating, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_disk_full_tmpfs, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_hardlink_refused, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_fifo_without_reader, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_fifo_slow_reader, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_fifo_reader_gone, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_stdout_pipe_slow_reader),
		cmocka_unit_test(test_stdout_socket_slow_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
