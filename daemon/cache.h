/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Executable and cgroup path caches. The kernel side reports identities
 * (exe device+inode, cgroup id); paths are looked up in /proc once per
 * identity and served from memory afterwards, so a cached event costs no
 * system call.
 */
#ifndef SG_CACHE_H
#define SG_CACHE_H

#include <stdbool.h>
#include <stdint.h>

struct proc_cache;

/* cgroup2_mnt may be NULL (cgroup paths are then not verified). */
struct proc_cache *proc_cache__new(const char *cgroup2_mnt);
void proc_cache__free(struct proc_cache *c);
/* Path of the executable (kdev, ino) run by pid, or NULL if unresolvable. */
const char *proc_cache__exe(struct proc_cache *c, uint32_t pid, uint32_t kdev, uint64_t ino);
/* cgroup v2 path of cgroup id cgid that pid was in, or NULL if unresolvable. */
const char *proc_cache__cgroup(struct proc_cache *c, uint32_t pid, uint64_t cgid);
/*
 * Called once per identity newly resolved and cached: kind 'e' with
 * (kdev, ino) for an executable, 'c' with (cgid, 0) for a cgroup.
 */
typedef void (*proc_cache_notify)(int kind, uint64_t k1, uint64_t k2, void *ctx);
void proc_cache__set_notify(struct proc_cache *c, proc_cache_notify fn, void *ctx);
/* Lookups that needed /proc (misses), for tests and stats. */
uint64_t proc_cache__misses(const struct proc_cache *c);

#endif
