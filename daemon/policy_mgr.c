// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "event.h"
#include "mounts.h"
#include "policy_mgr.h"

/*
 * A program reads the active slot once per send and may still be judging by
 * the old slot right after the switch. Programs run for microseconds; a slot
 * is rewritten only this long after it stopped being active. A load that
 * comes sooner waits for it as a pending load (policy_mgr__prepare): the
 * daemon's event loop commits it from a timer, it never sleeps.
 */
#define SLOT_GRACE_MS 1000

static int resolve_cgroup(const char *path, uint64_t *id, void *ctx)
{
	const char *mnt = ctx;

	if (!mnt)
		return -ENOENT;
	return mounts_cgroup_id(mnt, path, id);
}

static int parse(const char *path, struct sg_policy **out, struct sg_errlist *errs)
{
	if (path)
		return sg_policy_load(path, out, errs);
	return sg_policy_parse(sg_policy_default_json, strlen(sg_policy_default_json),
			       "<default policy>", out, errs);
}

/* Parse, resolve and compile into slot; warnings get what does not refuse it. */
static int prepare(const char *path, const char *cgroup2, uint8_t slot, uint32_t version,
		   struct sg_policy **pout, struct sg_compiled **cout, struct sg_errlist *errs,
		   struct sg_errlist *warnings)
{
	struct sg_policy *p = NULL;
	struct sg_compiled *c = NULL;
	int err;

	*pout = NULL;
	*cout = NULL;
	err = parse(path, &p, errs);
	if (err)
		return err;
	p->version = version;
	err = sg_policy_resolve(p, warnings);
	if (err && err != -ENOENT)
		goto fail;
	err = sg_policy_compile(p, slot, resolve_cgroup, (void *)cgroup2, &c, warnings);
	if (err) {
		/* What made compilation fail is an error, not a warning. */
		for (size_t i = 0; i < sg_errlist_count(warnings); i++)
			sg_errlist_add(errs, "%s", sg_errlist_get(warnings, i));
		sg_errlist_free(warnings);
		goto fail;
	}
	c->version = version;
	*pout = p;
	*cout = c;
	return 0;
fail:
	sg_policy_free(p);
	return err;
}

int policy_mgr__check(const char *path, const char *cgroup2, struct sg_policy **out,
		      struct sg_errlist *errs, struct sg_errlist *warnings)
{
	struct sg_compiled *c;
	int err = prepare(path, cgroup2, 0, 1, out, &c, errs, warnings);

	sg_compiled_free(c);
	return err;
}

int policy_mgr__init(struct policy_mgr *m, struct bpf_object *obj, const char *cgroup2)
{
	memset(m, 0, sizeof(*m));
	m->cgroup2 = cgroup2;
	m->slot = -1;
	m->active_fd = -1;
	for (int i = 0; i < SG_PMAP_COUNT; i++) {
		struct bpf_map *map;

		m->map_fd[i] = -1;
		if (!obj)
			continue;
		map = bpf_object__find_map_by_name(obj, sg_pol_map_name(i));
		if (!map)
			return -ENOENT;
		m->map_fd[i] = bpf_map__fd(map);
	}
	if (obj) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, "sg_pol_active");
		struct sg_policy_cfg cfg;
		uint32_t key = 0, slot;

		if (!map)
			return -ENOENT;
		m->active_fd = bpf_map__fd(map);
		/* Maps adopted from a --persist run: go on from the version in force. */
		if (!bpf_map_lookup_elem(m->active_fd, &key, &slot) && slot < 2 &&
		    !bpf_map_lookup_elem(m->map_fd[SG_PMAP_CFG], &slot, &cfg) && cfg.version) {
			m->slot = (int)slot;
			m->version = cfg.version;
			m->adopted = true;
		}
	}
	return 0;
}

/*
 * Delete every key of slot from the hash and LPM maps: the entries of a
 * policy written by an earlier run, whose compiled form this run never had.
 */
static int clear_slot(struct policy_mgr *m, uint8_t slot)
{
	for (int id = 0; id < SG_PMAP_COUNT; id++) {
		uint32_t ks = sg_pol_map_key_size(id);
		uint8_t *keys = NULL, *cur = NULL, *next;
		size_t n = 0, cap = 0;
		int err = 0;

		if (m->map_fd[id] < 0 || sg_pol_map_kind(id) == SG_PMAP_KIND_ARRAY)
			continue;
		next = malloc(ks);
		if (!next)
			return -ENOMEM;
		while (!bpf_map_get_next_key(m->map_fd[id], cur, next)) {
			if (n == cap) {
				uint8_t *k = realloc(keys, (cap = cap ? 2 * cap : 256) * ks);

				if (!k) {
					err = -ENOMEM;
					break;
				}
				keys = k;
			}
			memcpy(keys + n * ks, next, ks);
			cur = keys + n * ks;
			n++;
		}
		for (size_t i = 0; !err && i < n; i++) {
			if (sg_pol_key_slot(id, keys + i * ks) == slot &&
			    bpf_map_delete_elem(m->map_fd[id], keys + i * ks) && errno != ENOENT)
				err = -errno;
		}
		free(next);
		free(keys);
		if (err)
			return err;
	}
	return 0;
}

static int map_update(int map_id, const void *key, const void *val, void *ctx)
{
	struct policy_mgr *m = ctx;

	if (m->map_fd[map_id] < 0)
		return 0;
	return bpf_map_update_elem(m->map_fd[map_id], key, val, BPF_ANY) ? -errno : 0;
}

static int map_delete(int map_id, const void *key, void *ctx)
{
	struct policy_mgr *m = ctx;

	if (m->map_fd[map_id] < 0)
		return 0;
	return bpf_map_delete_elem(m->map_fd[map_id], key) ? -errno : 0;
}

static void set_stats(struct policy_mgr *m, const struct sg_policy *p)
{
	uint64_t *hits = calloc(p->nrules ? p->nrules : 1, sizeof(*hits));
	const char **names = calloc(p->nrules ? p->nrules : 1, sizeof(*names));

	if (!hits || !names) {
		free(hits);
		free(names);
		return; /* the previous counters stay; stats then show no rules */
	}
	for (uint32_t i = 0; i < p->nrules; i++)
		names[i] = p->rules[i].name;
	free(m->hits);
	free(m->names);
	m->hits = hits;
	m->names = names;
	m->default_hits = 0;
}

void policy_mgr__drop_pending(struct policy_mgr *m)
{
	sg_compiled_free(m->pending_c);
	sg_policy_free(m->pending);
	m->pending_c = NULL;
	m->pending = NULL;
}

int policy_mgr__prepare(struct policy_mgr *m, const char *path, struct sg_errlist *errs,
			struct sg_errlist *warnings)
{
	uint8_t slot = m->slot < 0 ? 0 : (uint8_t)(1 - m->slot);
	struct sg_compiled *c;
	struct sg_policy *p;
	int err;

	/* The version and the slot only change at a commit: a newer prepare takes both. */
	err = prepare(path, m->cgroup2, slot, m->version + 1, &p, &c, errs, warnings);
	if (err)
		return err;
	policy_mgr__drop_pending(m);
	m->pending = p;
	m->pending_c = c;
	m->pending_slot = slot;
	return 0;
}

const struct sg_policy *policy_mgr__pending(const struct policy_mgr *m)
{
	return m->pending;
}

uint64_t policy_mgr__pending_wait_ms(const struct policy_mgr *m)
{
	uint64_t now = sg_clock_mono_ms(), free_at;

	if (!m->pending)
		return 0;
	free_at = m->slot_free_ms[m->pending_slot];
	return now < free_at ? free_at - now : 0;
}

int policy_mgr__commit(struct policy_mgr *m, struct sg_errlist *errs)
{
	struct sg_compiled *c = m->pending_c;
	struct sg_policy *p = m->pending;
	uint8_t slot = m->pending_slot;
	uint32_t version = m->version + 1;
	uint32_t key = 0, val = slot;
	int err;

	if (!p)
		return -ENOENT;
	if (policy_mgr__pending_wait_ms(m))
		return -EBUSY; /* a program may still judge by that slot */
	m->pending = NULL;
	m->pending_c = NULL;
	/* The slot is inactive: clear what its previous policy left, write, switch. */
	if (!m->compiled[slot] && m->adopted) {
		err = clear_slot(m, slot);
		if (err) {
			sg_errlist_add(errs, "cannot clear policy slot %u: %s", slot,
				       strerror(-err));
			goto fail;
		}
	}
	if (m->compiled[slot]) {
		err = sg_compiled_remove(m->compiled[slot], map_delete, m);
		if (err) {
			sg_errlist_add(errs, "cannot clear policy slot %u: %s", slot,
				       strerror(-err));
			goto fail;
		}
		sg_compiled_free(m->compiled[slot]);
		m->compiled[slot] = NULL;
	}
	err = sg_compiled_apply(c, map_update, m);
	if (err) {
		sg_errlist_add(errs, "cannot write the policy maps: %s", strerror(-err));
		/* Keep c so that its entries are removed before the slot is reused. */
		m->compiled[slot] = c;
		sg_policy_free(p);
		return err;
	}
	if (m->before_switch && (err = m->before_switch(p, m->before_switch_ctx, errs))) {
		/* Keep c so that its entries are removed before the slot is reused. */
		m->compiled[slot] = c;
		sg_policy_free(p);
		return err;
	}
	if (m->active_fd >= 0 && bpf_map_update_elem(m->active_fd, &key, &val, BPF_ANY)) {
		err = -errno;
		sg_errlist_add(errs, "cannot switch to the new policy: %s", strerror(-err));
		m->compiled[slot] = c;
		sg_policy_free(p);
		return err;
	}
	m->compiled[slot] = c;
	if (m->slot >= 0)
		m->slot_free_ms[m->slot] = sg_clock_mono_ms() + SLOT_GRACE_MS;
	m->slot = slot;
	m->version = version;
	sg_policy_free(m->recent[version % POLICY_MGR_RECENT]);
	m->recent[version % POLICY_MGR_RECENT] = p;
	set_stats(m, p);
	return 0;
fail:
	sg_compiled_free(c);
	sg_policy_free(p);
	return err;
}

const struct sg_policy *policy_mgr__current(const struct policy_mgr *m)
{
	return m->version ? m->recent[m->version % POLICY_MGR_RECENT] : NULL;
}

const char *policy_mgr__rule_name(const struct policy_mgr *m, uint32_t version, uint16_t rule)
{
	const struct sg_policy *p;

	if (rule == SG_RULE_DEFAULT || !version || version > m->version ||
	    m->version - version >= POLICY_MGR_RECENT)
		return NULL;
	p = m->recent[version % POLICY_MGR_RECENT];
	if (!p || p->version != version || rule >= p->nrules)
		return NULL;
	return p->rules[rule].name;
}

void policy_mgr__hits(struct policy_mgr *m, uint32_t version, uint16_t rule, uint64_t n)
{
	const struct sg_policy *p = policy_mgr__current(m);

	if (!p || version != m->version || !m->hits)
		return;
	if (rule == SG_RULE_DEFAULT)
		m->default_hits += n;
	else if (rule < p->nrules)
		m->hits[rule] += n;
}

void policy_mgr__hit(struct policy_mgr *m, uint32_t version, uint16_t rule)
{
	policy_mgr__hits(m, version, rule, 1);
}

void policy_mgr__free(struct policy_mgr *m)
{
	policy_mgr__drop_pending(m);
	for (int i = 0; i < 2; i++)
		sg_compiled_free(m->compiled[i]);
	for (int i = 0; i < POLICY_MGR_RECENT; i++)
		sg_policy_free(m->recent[i]);
	free(m->hits);
	free(m->names);
	memset(m, 0, sizeof(*m));
}
