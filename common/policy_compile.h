/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The policy compiler: a parsed policy (policy.h) becomes the entries of the
 * compiled-policy BPF maps of one slot (sendguard.h, "Compiled policy";
 * bpf/policy.bpf.h). The user-space twin of the BPF evaluator, run on the
 * same entries, is policy_twin.h.
 *
 * Library code: never prints, never exits; 0 or -errno.
 *
 * Loading a compiled policy into slot s (the daemon):
 *   1. sg_compiled_remove(previous compilation of s, delete_cb)  (or, when it
 *      is not known, e.g. after a restart: delete every key of the HASH/LPM
 *      maps whose sg_pol_key_slot() is s)
 *   2. sg_compiled_apply(new, update_cb): array maps first, sg_pol_cfg last
 *   3. write s to sg_pol_active[0]
 */
#ifndef SG_POLICY_COMPILE_H
#define SG_POLICY_COMPILE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "sendguard.h"
#include "policy.h"

/* The compiled-policy maps, in the order sg_compiled_apply() writes them. */
enum sg_pol_map_id {
	SG_PMAP_RULES = 0, /* sg_pol_rules */
	SG_PMAP_ARR, /* sg_pol_arr */
	SG_PMAP_PCLASS, /* sg_pol_pclass */
	SG_PMAP_PORTBITS, /* sg_pol_portbits */
	SG_PMAP_LPM4, /* sg_pol_lpm4 */
	SG_PMAP_LPM6, /* sg_pol_lpm6 */
	SG_PMAP_UNIX, /* sg_pol_unix */
	SG_PMAP_COMM, /* sg_pol_comm */
	SG_PMAP_EXE, /* sg_pol_exe */
	SG_PMAP_ID, /* sg_pol_id */
	SG_PMAP_CGROUP, /* sg_pol_cgroup */
	SG_PMAP_CMSG, /* sg_pol_cmsg */
	SG_PMAP_V4L1, /* sg_pol_v4l1 */
	SG_PMAP_V4LEAF, /* sg_pol_v4leaf */
	SG_PMAP_CFG, /* sg_pol_cfg: last */
	SG_PMAP_COUNT
};

enum sg_pol_map_kind {
	SG_PMAP_KIND_ARRAY = 0, /* key: __u32 index */
	SG_PMAP_KIND_HASH,
	SG_PMAP_KIND_LPM,
};

/* Name of the BPF map ("sg_pol_cfg"), NULL when out of range. */
const char *sg_pol_map_name(int map_id);
/* SG_PMAP_KIND_*, or -EINVAL. */
int sg_pol_map_kind(int map_id);
/* Key and value sizes in bytes, 0 when out of range. */
uint32_t sg_pol_map_key_size(int map_id);
uint32_t sg_pol_map_value_size(int map_id);
/* The policy slot (0 or 1) a key of that map belongs to, or -EINVAL. */
int sg_pol_key_slot(int map_id, const void *key);

/* The entries of one map: n keys of key_size bytes, n values of val_size. */
struct sg_compiled_map {
	uint32_t n;
	uint32_t key_size;
	uint32_t val_size;
	uint8_t *keys;
	uint8_t *vals;
};

/*
 * A compiled policy for one slot. Entries are sorted (arrays by index, hash
 * maps by key bytes, LPM maps by prefix). nunresolved counts the cgroup
 * entries that could not be resolved (each also in errs): they match nothing.
 */
struct sg_compiled {
	uint8_t slot;
	uint32_t version;
	uint32_t nunresolved;
	struct sg_policy_cfg cfg;
	struct sg_compiled_map maps[SG_PMAP_COUNT];
};

/*
 * Resolves a cgroup v2 path ("/system.slice") to its id (what
 * bpf_get_current_cgroup_id() returns for it: the daemon uses
 * name_to_handle_at() on the cgroup2 mount). 0 or -errno.
 */
typedef int (*sg_cgroup_resolver)(const char *path, uint64_t *id, void *ctx);

/*
 * Compile p for slot (0 or 1). Exe entries must have been resolved
 * (sg_policy_resolve) to match; cgroup entries are resolved with resolve
 * (NULL: none can be resolved). An unresolvable cgroup entry is listed in
 * errs and matches nothing, the compilation goes on.
 * Returns 0 and *out (free with sg_compiled_free), or -E2BIG when the policy
 * exceeds a limit of the compiled form (errs names the limit), -EINVAL for
 * an argument or a policy the compiled form cannot express, -ENOMEM.
 */
int sg_policy_compile(const struct sg_policy *p, uint8_t slot, sg_cgroup_resolver resolve,
		      void *resolve_ctx, struct sg_compiled **out, struct sg_errlist *errs);

/* Accepts NULL. */
void sg_compiled_free(struct sg_compiled *c);

/* Number of entries over all maps. */
size_t sg_compiled_count(const struct sg_compiled *c);

/*
 * Call update(map_id, key, value, ctx) for every entry, map by map in
 * enum order (sg_pol_cfg last). Stops at and returns the first non-zero
 * return of update; 0 when all succeeded.
 */
int sg_compiled_apply(const struct sg_compiled *c,
		      int (*update)(int map_id, const void *key, const void *val, void *ctx),
		      void *ctx);

/*
 * Call del(map_id, key, ctx) for every HASH and LPM key of c (array entries
 * are simply overwritten by the next compilation). Use it with the previous
 * compilation of a slot before writing a new one. A del return of -ENOENT
 * is ignored; any other non-zero return stops and is returned.
 */
int sg_compiled_remove(const struct sg_compiled *c,
		       int (*del)(int map_id, const void *key, void *ctx), void *ctx);

/*
 * The value the BPF map would return for key: arrays and hash maps by exact
 * key, LPM maps by longest matching prefix. NULL on a miss.
 */
const void *sg_compiled_lookup(const struct sg_compiled *c, int map_id, const void *key);

/* The match keys a cgroup enforcement hook cannot see (SG_MK_BIT()s). */
#define SG_HOOK_HIDDEN_KEYS                                                                   \
	(SG_MK_BIT(SG_MK_SYSCALL) | SG_MK_BIT(SG_MK_FLAGS_ANY) | SG_MK_BIT(SG_MK_FLAGS_ALL) | \
	 SG_MK_BIT(SG_MK_FLAGS_NONE) | SG_MK_BIT(SG_MK_CMSG) | SG_MK_BIT(SG_MK_LEN_MIN) |     \
	 SG_MK_BIT(SG_MK_LEN_MAX))

/*
 * Whether a cgroup hook sees every key of r ("certain"): then the hook's
 * judgement of r is exact. A hook enforces a deny rule only when it is.
 */
bool sg_rule_hook_certain(const struct sg_policy_rule *r);

/*
 * Whether a cgroup hook can deny anything under p: default deny, or a deny
 * rule the hook sees whole. When it cannot, the daemon leaves the hooks
 * detached (a hook that can only let calls through costs every send).
 */
bool sg_policy_hook_can_deny(const struct sg_policy *p);

/* Whether p can deny at all (any deny rule or default deny): the LSM hook's test. */
bool sg_policy_can_deny(const struct sg_policy *p);

#endif /* SG_POLICY_COMPILE_H */
