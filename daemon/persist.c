// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "event.h"
#include "log.h"
#include "persist.h"

/* Room for "/map_<name>" and "/link_<hook>" after the directory. */
#define PIN_NAME_MAX 64

static char pin_dir[PATH_MAX - PIN_NAME_MAX] = SG_PIN_DIR;
static bool pin_dir_named; /* by --pin-dir */
static char state_dir[PATH_MAX - PIN_NAME_MAX] = SG_STATE_DIR;
static char state_path[PATH_MAX] = SG_STATE_DIR "/" SG_STATE_FILE;

/* "/sys/fs/bpf/x/" as "/sys/fs/bpf/x" (a parent is what precedes the last slash). */
static void strip_slashes(char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
}

int persist__set_dirs(const char *pin, const char *state)
{
	if ((pin && strlen(pin) >= sizeof(pin_dir)) ||
	    (state && strlen(state) >= sizeof(state_dir)))
		return -ENAMETOOLONG;
	if (pin) {
		snprintf(pin_dir, sizeof(pin_dir), "%s", pin);
		strip_slashes(pin_dir);
		pin_dir_named = true;
	}
	if (state) {
		snprintf(state_dir, sizeof(state_dir), "%s", state);
		strip_slashes(state_dir);
		snprintf(state_path, sizeof(state_path), "%s/%s", state_dir, SG_STATE_FILE);
	}
	return 0;
}

const char *persist__pin_dir(void)
{
	return pin_dir;
}

int persist__check_pin_dir(bool persist)
{
	char parent[PATH_MAX], *slash;
	struct statfs sf;
	int err = 0;

	if (!pin_dir_named && !persist)
		return 0;
	if (statfs(pin_dir, &sf)) {
		err = -errno;
		snprintf(parent, sizeof(parent), "%s", pin_dir);
		slash = strrchr(parent, '/');
		/* Not made yet: the daemon makes it (one level) in its parent. */
		if (err == -ENOENT && slash) {
			if (slash == parent)
				slash[1] = '\0';
			else
				*slash = '\0';
			err = statfs(parent, &sf) ? -errno : 0;
		}
	}
	if (err) {
		log_err("pin directory %s: %s", pin_dir, strerror(-err));
		return err;
	}
	if (sf.f_type != BPF_FS_MAGIC) {
		log_err("pin directory %s: not on a bpf filesystem (pins live only there: "
			"choose a directory under %s, or mount one with mount -t bpf bpf DIR)",
			pin_dir, SG_BPFFS);
		return -EMEDIUMTYPE;
	}
	return 0;
}

bool persist__shared_map(const char *name)
{
	/* sg_pol_scratch and sg_pol_input are per-CPU scratch memory of each program. */
	return (!strncmp(name, "sg_pol_", 7) && strcmp(name, "sg_pol_scratch") &&
		strcmp(name, "sg_pol_input")) ||
	       !strcmp(name, "sg_denied") || !strcmp(name, "sg_unix_reached") ||
	       !strcmp(name, "sg_calls") || !strcmp(name, "events");
}

static void map_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/map_%s", pin_dir, name);
}

void persist__link_path(char *buf, size_t len, const char *hook)
{
	snprintf(buf, len, "%s/link_%s", pin_dir, hook);
}

/* Only root (or the daemon's user) may have made or be able to change it. */
static bool trusted(const struct stat *st, bool dir)
{
	return (dir ? S_ISDIR(st->st_mode) : S_ISREG(st->st_mode) && st->st_nlink == 1) &&
	       (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & 022);
}

/*
 * An fd of the directory path (made with mode first when create), or -errno:
 * -ELOOP for a symbolic link at path (never followed), -EPERM for a directory
 * another user could change. Whatever is made or removed in it goes through
 * this fd (openat, unlinkat), so the path cannot be swapped meanwhile.
 */
static int trusted_dir(const char *path, mode_t mode, bool create)
{
	struct stat st;
	int fd;

	if (create && mkdir(path, mode) && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR ? -ELOOP : -errno;
	if (fstat(fd, &st) || !trusted(&st, true)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static const char *dir_why(int err)
{
	return err == -ELOOP   ? "a symbolic link or not a directory: refused"
	       : err == -EPERM ? "not root's alone: refused"
			       : strerror(-err);
}

int persist__adopt_maps(struct bpf_object *obj, uint64_t *ringbuf_size)
{
	char path[PATH_MAX];
	struct bpf_map *m;
	int n = 0, err, dfd;

	/*
	 * Nothing pinned, or bpffs not open to us (systemd and the daemon
	 * mount it 0700): loading says what is missing.
	 */
	dfd = trusted_dir(pin_dir, 0, false);
	if (dfd == -ENOENT || (dfd == -EACCES && geteuid() != 0))
		return 0;
	if (dfd < 0) {
		log_err("pin directory %s: %s", pin_dir, dir_why(dfd));
		return dfd;
	}
	close(dfd);
	bpf_object__for_each_map (m, obj) {
		const char *name = bpf_map__name(m);
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd;

		if (!persist__shared_map(name))
			continue;
		map_path(path, sizeof(path), name);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno == ENOENT || (errno == EACCES && geteuid() != 0))
				continue;
			err = -errno;
			log_err("cannot open pinned map %s: %s", path, strerror(-err));
			return err;
		}
		memset(&info, 0, sizeof(info));
		if (!strcmp(name, "events") && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.max_entries != bpf_map__max_entries(m)) {
			log_info("adopting the pinned ring buffer of %u KiB (not %u KiB)",
				 info.max_entries >> 10, bpf_map__max_entries(m) >> 10);
			bpf_map__set_max_entries(m, info.max_entries);
			*ringbuf_size = info.max_entries;
		}
		err = bpf_map__reuse_fd(m, fd);
		close(fd);
		if (err) {
			log_err("cannot adopt pinned map %s: %s (remove %s to start afresh)", path,
				strerror(-err), pin_dir);
			return err;
		}
		n++;
	}
	return n;
}

int persist__pin_maps(struct bpf_object *obj)
{
	char path[PATH_MAX];
	struct bpf_map *m;
	int err, dfd;

	dfd = trusted_dir(pin_dir, 0700, true);
	if (dfd < 0) {
		log_err("pin directory %s: %s", pin_dir, dir_why(dfd));
		return dfd;
	}
	close(dfd);
	bpf_object__for_each_map (m, obj) {
		if (!persist__shared_map(bpf_map__name(m)))
			continue;
		map_path(path, sizeof(path), bpf_map__name(m));
		if (access(path, F_OK) == 0)
			continue;
		err = bpf_obj_pin(bpf_map__fd(m), path) ? -errno : 0;
		if (err) {
			log_err("cannot pin %s: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

void persist__unpin_all(void)
{
	struct dirent *de;
	DIR *d = NULL;
	int dfd;

	dfd = trusted_dir(pin_dir, 0, false);
	if (dfd >= 0)
		d = fdopendir(dfd);
	else if (dfd != -ENOENT)
		log_warn("pin directory %s: %s: its pins stay", pin_dir, dir_why(dfd));
	if (dfd >= 0 && !d)
		close(dfd);
	while (d && (de = readdir(d))) {
		/* Only what a daemon pins: the directory may hold other things (--pin-dir). */
		if (strncmp(de->d_name, "map_", 4) && strncmp(de->d_name, "link_", 5))
			continue;
		if (unlinkat(dfd, de->d_name, 0))
			log_warn("cannot remove %s/%s: %s", pin_dir, de->d_name, strerror(errno));
	}
	if (d) {
		closedir(d);
		/* Fails when something else is left in it, as it should. */
		rmdir(pin_dir);
	}
	dfd = trusted_dir(state_dir, 0, false);
	if (dfd < 0)
		return;
	if (unlinkat(dfd, SG_STATE_FILE, 0) && errno != ENOENT)
		log_warn("cannot remove %s: %s", state_path, strerror(errno));
	close(dfd);
}

struct persist_state {
	int fd;
	uint64_t seq, last_real_ns;
};

/* Fixed width, so that each write replaces the whole line. */
#define STATE_FMT "sendguardd-state 1 seq %020llu ts %020llu exit %c\n"
#define STATE_LEN 75

/* fd of the state file (flags for open(2)), or -1; *why says why not. */
static int state_fd(int flags, const char **why)
{
	struct stat st;
	int fd, dfd;

	*why = NULL;
	dfd = trusted_dir(state_dir, 0755, true);
	if (dfd < 0) {
		*why = dfd == -EPERM   ? "its directory is not root's alone"
		       : dfd == -ELOOP ? "its directory is a symbolic link or not a directory"
				       : strerror(-dfd);
		return -1;
	}
	fd = openat(dfd, SG_STATE_FILE, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	close(dfd);
	if (fd < 0) {
		*why = errno == ELOOP ? "a symbolic link" : strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) || !trusted(&st, false)) {
		*why = "not a regular file of root's alone";
		close(fd);
		return -1;
	}
	return fd;
}

void persist__state_read(struct sg_gap *g)
{
	unsigned long long seq, ts;
	char buf[STATE_LEN + 1], exit_c;
	const char *why;
	int fd = state_fd(O_RDONLY, &why);
	ssize_t n;

	g->known = false;
	if (fd < 0) {
		if (why && strcmp(why, strerror(ENOENT)))
			log_warn("%s: %s: ignored", state_path, why);
		return;
	}
	n = read(fd, buf, STATE_LEN);
	close(fd);
	if (n != STATE_LEN)
		return;
	buf[n] = '\0';
	if (sscanf(buf, "sendguardd-state 1 seq %llu ts %llu exit %c", &seq, &ts, &exit_c) != 3 ||
	    (exit_c != 'r' && exit_c != 'c'))
		return;
	g->known = true;
	g->last_seq = seq;
	g->last_real_ns = ts;
	g->clean = exit_c == 'c';
}

static void state_put(struct persist_state *st, char exit_c)
{
	char buf[STATE_LEN + 1];

	snprintf(buf, sizeof(buf), STATE_FMT, (unsigned long long)st->seq,
		 (unsigned long long)st->last_real_ns, exit_c);
	if (pwrite(st->fd, buf, STATE_LEN, 0) != STATE_LEN)
		log_debug("%s: %s", state_path, strerror(errno));
}

struct persist_state *persist__state_open(void)
{
	struct persist_state *st = calloc(1, sizeof(*st));
	const char *why;

	if (!st)
		return NULL;
	st->fd = state_fd(O_RDWR | O_CREAT, &why);
	if (st->fd < 0 || ftruncate(st->fd, STATE_LEN)) {
		log_warn("%s: %s: a daemon that adopts the pins after this one cannot say when "
			 "tracing stopped",
			 state_path, why ? why : strerror(errno));
		if (st->fd >= 0)
			close(st->fd);
		free(st);
		return NULL;
	}
	state_put(st, 'r');
	return st;
}

void persist__state_write(struct persist_state *st, uint64_t seq, uint64_t last_real_ns)
{
	if (!st || (seq == st->seq && last_real_ns == st->last_real_ns))
		return;
	st->seq = seq;
	st->last_real_ns = last_real_ns;
	state_put(st, 'r');
}

void persist__state_close(struct persist_state *st, bool clean)
{
	if (!st)
		return;
	if (clean)
		state_put(st, 'c');
	close(st->fd);
	free(st);
}

int persist__ring_queued(int map_fd, uint32_t size, uint64_t *n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	const unsigned long *cons;
	const uint8_t *area, *data;
	unsigned long c, p;

	*n = 0;
	/* Read-only: the consumer position stays the pipeline's to advance. */
	cons = mmap(NULL, pg, PROT_READ, MAP_SHARED, map_fd, 0);
	if (cons == MAP_FAILED)
		return -errno;
	area = mmap(NULL, pg + 2 * (size_t)size, PROT_READ, MAP_SHARED, map_fd, (off_t)pg);
	if (area == MAP_FAILED) {
		int err = -errno;

		munmap((void *)cons, pg);
		return err;
	}
	data = area + pg;
	c = __atomic_load_n(cons, __ATOMIC_ACQUIRE);
	p = __atomic_load_n((const unsigned long *)area, __ATOMIC_ACQUIRE);
	while (c < p) {
		uint32_t len = __atomic_load_n((const uint32_t *)(data + (c & (size - 1))),
					       __ATOMIC_ACQUIRE);

		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		if (!(len & BPF_RINGBUF_DISCARD_BIT))
			(*n)++;
		len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		c += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7ul;
	}
	munmap((void *)area, pg + 2 * (size_t)size);
	munmap((void *)cons, pg);
	return 0;
}
