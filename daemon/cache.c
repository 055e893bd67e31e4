// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cache.h"
#include "mounts.h"

#define CACHE_SLOTS 4096 /* per table, power of two; cleared when 3/4 full */

struct slot {
	uint64_t k1, k2;
	char *val; /* NULL: empty slot */
};

struct table {
	struct slot slots[CACHE_SLOTS];
	unsigned int used;
};

struct proc_cache {
	struct table exe;
	struct table cgroup;
	char *cgroup2_mnt;
	uint64_t misses;
	proc_cache_notify notify;
	void *notify_ctx;
};

static uint64_t hash2(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL);

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 32);
}

static struct slot *table_find(struct table *t, uint64_t k1, uint64_t k2)
{
	unsigned int i = hash2(k1, k2) & (CACHE_SLOTS - 1);

	for (;; i = (i + 1) & (CACHE_SLOTS - 1)) {
		struct slot *s = &t->slots[i];

		if (!s->val || (s->k1 == k1 && s->k2 == k2))
			return s;
	}
}

static void table_clear(struct table *t)
{
	for (unsigned int i = 0; i < CACHE_SLOTS; i++) {
		free(t->slots[i].val);
		t->slots[i].val = NULL;
	}
	t->used = 0;
}

/* Takes ownership of val. */
static const char *table_put(struct table *t, uint64_t k1, uint64_t k2, char *val)
{
	struct slot *s;

	if (t->used >= CACHE_SLOTS / 4 * 3)
		table_clear(t);
	s = table_find(t, k1, k2);
	s->k1 = k1;
	s->k2 = k2;
	s->val = val;
	t->used++;
	return val;
}

struct proc_cache *proc_cache__new(const char *cgroup2_mnt)
{
	struct proc_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (cgroup2_mnt && !(c->cgroup2_mnt = strdup(cgroup2_mnt))) {
		free(c);
		return NULL;
	}
	return c;
}

void proc_cache__free(struct proc_cache *c)
{
	if (!c)
		return;
	table_clear(&c->exe);
	table_clear(&c->cgroup);
	free(c->cgroup2_mnt);
	free(c);
}

void proc_cache__set_notify(struct proc_cache *c, proc_cache_notify fn, void *ctx)
{
	c->notify = fn;
	c->notify_ctx = ctx;
}

uint64_t proc_cache__misses(const struct proc_cache *c)
{
	return c->misses;
}

/* The kernel encodes dev_t as MAJOR << 20 | MINOR; stat() uses glibc's encoding. */
static bool same_dev(dev_t udev, uint32_t kdev)
{
	return major(udev) == kdev >> 20 && minor(udev) == (kdev & 0xfffff);
}

const char *proc_cache__exe(struct proc_cache *c, uint32_t pid, uint32_t kdev, uint64_t ino)
{
	char link[64], path[PATH_MAX];
	struct slot *s = table_find(&c->exe, kdev, ino);
	struct stat st;
	ssize_t n;
	char *val;

	if (s->val)
		return s->val;
	c->misses++;
	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return NULL;
	path[n] = '\0';
	/* The process may have exec'd since the send: only cache what matches. */
	if (stat(link, &st) || st.st_ino != ino || !same_dev(st.st_dev, kdev))
		return NULL;
	val = strdup(path);
	if (!val)
		return NULL;
	if (c->notify)
		c->notify('e', kdev, ino, c->notify_ctx);
	return table_put(&c->exe, kdev, ino, val);
}

const char *proc_cache__cgroup(struct proc_cache *c, uint32_t pid, uint64_t cgid)
{
	struct slot *s = table_find(&c->cgroup, cgid, 0);
	char file[64], line[PATH_MAX + 16];
	char *path = NULL, *val;
	uint64_t id = 0;
	FILE *f;

	if (s->val)
		return s->val;
	c->misses++;
	snprintf(file, sizeof(file), "/proc/%u/cgroup", pid);
	f = fopen(file, "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			path = line + 3;
			break;
		}
	}
	fclose(f);
	if (!path || path[0] != '/')
		return NULL;
	/* The process may have moved since the send: only cache what matches. */
	if (c->cgroup2_mnt && (mounts_cgroup_id(c->cgroup2_mnt, path, &id) || id != cgid))
		return NULL;
	val = strdup(path);
	if (!val)
		return NULL;
	if (c->notify)
		c->notify('c', cgid, 0, c->notify_ctx);
	return table_put(&c->cgroup, cgid, 0, val);
}
