// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The policy compiler (policy.h -> compiled-policy map entries). The map
 * layout is documented in sendguard.h ("Compiled policy"). The user-space
 * twin of the BPF evaluator that runs on these entries is policy_twin.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy_compile.h"

#define HAS(r, k) ((r)->keys & SG_MK_BIT(k))
#define KEY_MAX	  sizeof(struct sg_unix_key)

/* --- map table ---------------------------------------------------------------- */

static const struct {
	const char *name;
	int kind;
	uint32_t key_size;
	uint32_t val_size;
	uint32_t per_slot; /* array: entries per slot */
} maps[SG_PMAP_COUNT] = {
	[SG_PMAP_RULES] = { "sg_pol_rules", SG_PMAP_KIND_ARRAY, 4, sizeof(struct sg_rule_rt),
			    SG_MAX_RULES },
	[SG_PMAP_ARR] = { "sg_pol_arr", SG_PMAP_KIND_ARRAY, 4, sizeof(struct sg_bitmap),
			  SG_ARR_PER_SLOT },
	[SG_PMAP_PCLASS] = { "sg_pol_pclass", SG_PMAP_KIND_ARRAY, 4, sizeof(struct sg_pclass_chunk),
			     SG_PCLASS_SPACES *SG_PCLASS_CHUNKS },
	[SG_PMAP_PORTBITS] = { "sg_pol_portbits", SG_PMAP_KIND_ARRAY, 4, sizeof(struct sg_bitmap),
			       SG_MAX_PORT_CLASSES },
	[SG_PMAP_LPM4] = { "sg_pol_lpm4", SG_PMAP_KIND_LPM, sizeof(struct sg_lpm4_key),
			   sizeof(struct sg_bitmap), 0 },
	[SG_PMAP_LPM6] = { "sg_pol_lpm6", SG_PMAP_KIND_LPM, sizeof(struct sg_lpm6_key),
			   sizeof(struct sg_bitmap), 0 },
	[SG_PMAP_UNIX] = { "sg_pol_unix", SG_PMAP_KIND_LPM, sizeof(struct sg_unix_key),
			   sizeof(struct sg_bitmap), 0 },
	[SG_PMAP_COMM] = { "sg_pol_comm", SG_PMAP_KIND_HASH, sizeof(struct sg_comm_key),
			   sizeof(struct sg_bitmap), 0 },
	[SG_PMAP_EXE] = { "sg_pol_exe", SG_PMAP_KIND_HASH, sizeof(struct sg_exe_key),
			  sizeof(struct sg_bitmap), 0 },
	[SG_PMAP_ID] = { "sg_pol_id", SG_PMAP_KIND_HASH, sizeof(struct sg_id_key),
			 sizeof(struct sg_bitmap), 0 },
	[SG_PMAP_CGROUP] = { "sg_pol_cgroup", SG_PMAP_KIND_HASH, sizeof(struct sg_cgroup_key),
			     sizeof(struct sg_bitmap), 0 },
	[SG_PMAP_CMSG] = { "sg_pol_cmsg", SG_PMAP_KIND_HASH, sizeof(struct sg_cmsg_key),
			   sizeof(struct sg_bitmap), 0 },
	[SG_PMAP_V4L1] = { "sg_pol_v4l1", SG_PMAP_KIND_ARRAY, 4, sizeof(struct sg_v4l1_chunk),
			   256 },
	[SG_PMAP_V4LEAF] = { "sg_pol_v4leaf", SG_PMAP_KIND_ARRAY, 4, sizeof(struct sg_bitmap),
			     SG_V4_LEAVES },
	[SG_PMAP_CFG] = { "sg_pol_cfg", SG_PMAP_KIND_ARRAY, 4, sizeof(struct sg_policy_cfg), 1 },
};

const char *sg_pol_map_name(int id)
{
	return id >= 0 && id < SG_PMAP_COUNT ? maps[id].name : NULL;
}

int sg_pol_map_kind(int id)
{
	return id >= 0 && id < SG_PMAP_COUNT ? maps[id].kind : -EINVAL;
}

uint32_t sg_pol_map_key_size(int id)
{
	return id >= 0 && id < SG_PMAP_COUNT ? maps[id].key_size : 0;
}

uint32_t sg_pol_map_value_size(int id)
{
	return id >= 0 && id < SG_PMAP_COUNT ? maps[id].val_size : 0;
}

int sg_pol_key_slot(int id, const void *key)
{
	uint32_t u;

	if (id < 0 || id >= SG_PMAP_COUNT || !key)
		return -EINVAL;
	switch (maps[id].kind) {
	case SG_PMAP_KIND_ARRAY:
		memcpy(&u, key, 4);
		return u / maps[id].per_slot < 2 ? (int)(u / maps[id].per_slot) : -EINVAL;
	case SG_PMAP_KIND_LPM:
		/* every LPM key has the slot right after prefixlen */
		return ((const uint8_t *)key)[4];
	default:
		/* every hash key starts with __u32 slot */
		memcpy(&u, key, 4);
		return u < 2 ? (int)u : -EINVAL;
	}
}

/* --- bitmaps ------------------------------------------------------------------ */

static void bm_set(struct sg_bitmap *b, uint32_t i)
{
	b->w[i / 64] |= 1ull << (i % 64);
}

static void bm_or(struct sg_bitmap *a, const struct sg_bitmap *b)
{
	for (int w = 0; w < SG_RULE_WORDS; w++)
		a->w[w] |= b->w[w];
}

/* --- entry sets: keys with rule bitmaps, merged and (LPM) propagated ----------- */

struct ent {
	uint8_t key[KEY_MAX];
	struct sg_bitmap bits;
};

struct entset {
	struct ent *v;
	size_t n, cap;
	uint32_t key_size;
	bool lpm;
};

/* The entry for key (key_size bytes), appended; merged with equal keys later. */
static struct ent *set_add(struct entset *s, const void *key)
{
	struct ent *e;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct ent *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, s->key_size);
	return e;
}

static uint32_t lpm_plen(const struct ent *e)
{
	uint32_t p;

	memcpy(&p, e->key, 4);
	return p;
}

static uint32_t cmp_key_size;

/* Hash keys: bytes. LPM keys: the data bytes, then shorter prefix first. */
static int cmp_hash(const void *a, const void *b)
{
	return memcmp(((const struct ent *)a)->key, ((const struct ent *)b)->key, cmp_key_size);
}

static int cmp_lpm(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int r = memcmp(x->key + 4, y->key + 4, cmp_key_size - 4);
	uint32_t px = lpm_plen(x), py = lpm_plen(y);

	if (r)
		return r;
	return px < py ? -1 : px > py;
}

/* Do the first plen bits of a and b agree? */
static bool bits_equal(const uint8_t *a, const uint8_t *b, uint32_t plen)
{
	uint32_t full = plen / 8, rest = plen % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* LPM entry a covers b: a is a prefix of b. */
static bool lpm_covers(const struct ent *a, const struct ent *b)
{
	return lpm_plen(a) <= lpm_plen(b) && bits_equal(a->key + 4, b->key + 4, lpm_plen(a));
}

/*
 * Sort, merge equal keys, and for LPM sets give every entry the bits of the
 * entries that cover it: in (data, prefixlen) order a prefix comes before
 * everything it covers, so a stack of the current chain of prefixes does.
 */
static int set_finish(struct entset *s)
{
	size_t i, j, depth = 0;
	struct ent **stack;

	if (!s->n)
		return 0;
	cmp_key_size = s->key_size;
	qsort(s->v, s->n, sizeof(*s->v), s->lpm ? cmp_lpm : cmp_hash);
	for (i = 1, j = 0; i < s->n; i++) {
		if (!memcmp(s->v[i].key, s->v[j].key, s->key_size))
			bm_or(&s->v[j].bits, &s->v[i].bits);
		else if (++j != i)
			s->v[j] = s->v[i];
	}
	s->n = j + 1;
	if (!s->lpm)
		return 0;
	stack = malloc(s->n * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	for (i = 0; i < s->n; i++) {
		while (depth && !lpm_covers(stack[depth - 1], &s->v[i]))
			depth--;
		if (depth)
			bm_or(&s->v[i].bits, &stack[depth - 1]->bits);
		stack[depth++] = &s->v[i];
	}
	free(stack);
	return 0;
}

static struct ent *set_find(const struct entset *s, const void *key)
{
	struct ent probe;

	memcpy(probe.key, key, s->key_size);
	cmp_key_size = s->key_size;
	/* cppcheck-suppress uninitvar ; the comparators read probe.key, never probe.bits */
	return bsearch(&probe, s->v, s->n, sizeof(*s->v), s->lpm ? cmp_lpm : cmp_hash);
}

/* --- compiled object -------------------------------------------------------------- */

static int map_alloc(struct sg_compiled *c, int id, size_t n)
{
	struct sg_compiled_map *m = &c->maps[id];

	m->key_size = maps[id].key_size;
	m->val_size = maps[id].val_size;
	m->n = 0;
	if (!n)
		return 0;
	m->keys = calloc(n, m->key_size);
	m->vals = calloc(n, m->val_size);
	return m->keys && m->vals ? 0 : -ENOMEM;
}

static void map_put(struct sg_compiled *c, int id, const void *key, const void *val)
{
	struct sg_compiled_map *m = &c->maps[id];

	memcpy(m->keys + (size_t)m->n * m->key_size, key, m->key_size);
	memcpy(m->vals + (size_t)m->n * m->val_size, val, m->val_size);
	m->n++;
}

/* Array entry index of the slot's i-th entry. */
static uint32_t arr_key(const struct sg_compiled *c, int id, uint32_t i)
{
	return c->slot * maps[id].per_slot + i;
}

/* Copy a finished set into map id, OR-ing dflt into every value. */
static int map_from_set(struct sg_compiled *c, int id, const struct entset *s,
			const struct sg_bitmap *dflt)
{
	size_t i;
	int r = map_alloc(c, id, s->n);

	for (i = 0; !r && i < s->n; i++) {
		struct sg_bitmap v = s->v[i].bits;

		bm_or(&v, dflt);
		map_put(c, id, s->v[i].key, &v);
	}
	return r;
}

void sg_compiled_free(struct sg_compiled *c)
{
	if (!c)
		return;
	for (int i = 0; i < SG_PMAP_COUNT; i++) {
		free(c->maps[i].keys);
		free(c->maps[i].vals);
	}
	free(c);
}

size_t sg_compiled_count(const struct sg_compiled *c)
{
	size_t n = 0;

	for (int i = 0; c && i < SG_PMAP_COUNT; i++)
		n += c->maps[i].n;
	return n;
}

/* --- port classes --------------------------------------------------------------- */

/* One class space: port -> class, cut at every boundary of its ranges. */
struct pspace {
	uint16_t cls[65536];
	uint8_t mark[65537];
	uint32_t n;
};

static void pspace_cut(struct pspace *ps, uint16_t lo, uint16_t hi)
{
	ps->mark[lo] = 1;
	ps->mark[(uint32_t)hi + 1] = 1;
}

static void pspace_finish(struct pspace *ps)
{
	uint32_t p, k = 0;

	for (p = 0; p < 65536; p++) {
		if (p && ps->mark[p])
			k++;
		ps->cls[p] = (uint16_t)(k < 0xffff ? k : 0xffff);
	}
	ps->n = k + 1;
}

static bool full_range(uint16_t lo, uint16_t hi)
{
	return lo == 0 && hi == 65535;
}

/* --- the compiler ----------------------------------------------------------------- */

struct comp {
	const struct sg_policy *p;
	struct sg_compiled *c;
	struct sg_errlist *errs;
	struct pspace *ps; /* [SG_PCLASS_SPACES] */
	uint16_t *pcls_out[2]; /* dst spaces as the evaluator reads them (SG_PCLASS_NONE) */
	struct entset lpm4, lpm6, unx, comm, exe, id, cgroup, cmsg;
	int err;
};

static void fail(struct comp *k, int err)
{
	if (!k->err || k->err == -EINVAL || err == -ENOMEM)
		k->err = err;
}

static void add_rule(struct comp *k, struct entset *s, const void *key, uint32_t rule)
{
	struct ent *e = set_add(s, key);

	if (!e) {
		fail(k, -ENOMEM);
		return;
	}
	bm_set(&e->bits, rule);
}

static void check_limit(struct comp *k, size_t n, size_t max, const char *what)
{
	if (n <= max)
		return;
	if (sg_errlist_add(k->errs, "%s: %zu entries, the limit is %zu per policy", what, n, max) <
	    0)
		fail(k, -ENOMEM);
	fail(k, -E2BIG);
}

bool sg_rule_hook_certain(const struct sg_policy_rule *r)
{
	return !(r->keys & SG_HOOK_HIDDEN_KEYS);
}

bool sg_policy_hook_can_deny(const struct sg_policy *p)
{
	if (p->default_action == SG_VERDICT_DENY)
		return true;
	for (uint32_t i = 0; i < p->nrules; i++)
		if (p->rules[i].action == SG_VERDICT_DENY && sg_rule_hook_certain(&p->rules[i]))
			return true;
	return false;
}

bool sg_policy_can_deny(const struct sg_policy *p)
{
	if (p->default_action == SG_VERDICT_DENY)
		return true;
	for (uint32_t i = 0; i < p->nrules; i++)
		if (p->rules[i].action == SG_VERDICT_DENY)
			return true;
	return false;
}

static void cfg_bits(struct comp *k)
{
	const struct sg_policy *p = k->p;
	struct sg_policy_cfg *cfg = &k->c->cfg;
	static const struct {
		int dim, mk;
	} dm[] = {
		{ SG_DIM_SYSCALL, SG_MK_SYSCALL },
		{ SG_DIM_FAMILY, SG_MK_FAMILY },
		{ SG_DIM_TYPE, SG_MK_TYPE },
		{ SG_DIM_PROTOCOL, SG_MK_PROTOCOL },
		{ SG_DIM_DST, SG_MK_DST },
		{ SG_DIM_PORT, SG_MK_PORT },
		{ SG_DIM_UNIX, SG_MK_UNIX },
		{ SG_DIM_FLAGS_ANY, SG_MK_FLAGS_ANY },
		{ SG_DIM_FLAGS_NONE, SG_MK_FLAGS_NONE },
		{ SG_DIM_CMSG, SG_MK_CMSG },
		{ SG_DIM_COMM, SG_MK_COMM },
		{ SG_DIM_EXE, SG_MK_EXE },
		{ SG_DIM_UID, SG_MK_UID },
		{ SG_DIM_GID, SG_MK_GID },
		{ SG_DIM_CGROUP, SG_MK_CGROUP },
	};
	uint32_t i, d;

	cfg->version = p->version;
	cfg->nrules = p->nrules;
	cfg->nwords = (uint16_t)((p->nrules + 63) / 64);
	cfg->default_verdict = (uint8_t)p->default_action;
	cfg->hook_deny = sg_policy_hook_can_deny(p);
	for (i = 0; i < p->nrules; i++) {
		const struct sg_policy_rule *r = &p->rules[i];

		bm_set(&cfg->all, i);
		if (r->keys & (SG_MK_BIT(SG_MK_FLAGS_ALL) | SG_MK_BIT(SG_MK_LEN_MIN) |
			       SG_MK_BIT(SG_MK_LEN_MAX))) {
			bm_set(&cfg->post, i);
			cfg->has_post = 1;
		}
		if (!sg_rule_hook_certain(r) &&
		    (r->action == SG_VERDICT_DENY || r->action == SG_VERDICT_KILL))
			bm_set(&cfg->hook_skip, i);
		for (d = 0; d < sizeof(dm) / sizeof(dm[0]); d++) {
			if (r->keys & SG_MK_BIT(dm[d].mk))
				cfg->dims |= (uint16_t)(1u << dm[d].dim);
			else
				bm_set(&cfg->dflt[dm[d].dim], i);
		}
	}
}

static void compile_rules_rt(struct comp *k)
{
	const struct sg_policy *p = k->p;
	uint32_t i, key;

	if (map_alloc(k->c, SG_PMAP_RULES, p->nrules))
		return fail(k, -ENOMEM);
	for (i = 0; i < p->nrules; i++) {
		const struct sg_policy_rule *r = &p->rules[i];
		struct sg_rule_rt rt = { 0 };

		rt.len_min = HAS(r, SG_MK_LEN_MIN) ? r->len_min : 0;
		rt.len_max = HAS(r, SG_MK_LEN_MAX) ? r->len_max : UINT64_MAX;
		rt.flags_all = HAS(r, SG_MK_FLAGS_ALL) ? r->flags_all : 0;
		rt.action = (uint8_t)r->action;
		rt.export = (uint8_t)r->export;
		key = arr_key(k->c, SG_PMAP_RULES, i);
		map_put(k->c, SG_PMAP_RULES, &key, &rt);
	}
}

/* sg_pol_arr: syscall, family, type, protocol < SG_ARR_PROTO_MAX, flag bits. */
static void compile_arr(struct comp *k)
{
	const struct sg_policy *p = k->p;
	const struct sg_policy_cfg *cfg = &k->c->cfg;
	struct sg_bitmap *v = calloc(SG_ARR_PER_SLOT, sizeof(*v));
	uint32_t i, j, x, key;

	if (!v)
		return fail(k, -ENOMEM);
	for (x = 0; x < SG_ARR_SYSCALL_MAX; x++)
		v[SG_ARR_SYSCALL_OFF + x] = cfg->dflt[SG_DIM_SYSCALL];
	for (x = 0; x < SG_ARR_FAMILY_MAX; x++)
		v[SG_ARR_FAMILY_OFF + x] = cfg->dflt[SG_DIM_FAMILY];
	for (x = 0; x < SG_ARR_TYPE_MAX; x++)
		v[SG_ARR_TYPE_OFF + x] = cfg->dflt[SG_DIM_TYPE];
	for (x = 0; x < SG_ARR_PROTO_MAX; x++)
		v[SG_ARR_PROTO_OFF + x] = cfg->dflt[SG_DIM_PROTOCOL];
	for (i = 0; i < p->nrules; i++) {
		const struct sg_policy_rule *r = &p->rules[i];

		if (HAS(r, SG_MK_SYSCALL)) {
			if (r->syscall_mask >> SG_ARR_SYSCALL_MAX) {
				if (sg_errlist_add(k->errs,
						   "rules[%u].match.syscall: syscall number >= %d "
						   "cannot be compiled",
						   i, SG_ARR_SYSCALL_MAX) < 0)
					fail(k, -ENOMEM);
				fail(k, -EINVAL);
			}
			for (x = 0; x < SG_ARR_SYSCALL_MAX; x++)
				if (r->syscall_mask >> x & 1)
					bm_set(&v[SG_ARR_SYSCALL_OFF + x], i);
		}
		for (x = 0; HAS(r, SG_MK_FAMILY) && x < SG_ARR_FAMILY_MAX; x++)
			if (r->family_mask >> x & 1)
				bm_set(&v[SG_ARR_FAMILY_OFF + x], i);
		for (x = 0; HAS(r, SG_MK_TYPE) && x < SG_ARR_TYPE_MAX; x++)
			if (r->type_mask >> x & 1)
				bm_set(&v[SG_ARR_TYPE_OFF + x], i);
		for (j = 0; HAS(r, SG_MK_PROTOCOL) && j < r->nprotocols; j++) {
			if (r->protocols[j] < SG_ARR_PROTO_MAX) {
				bm_set(&v[SG_ARR_PROTO_OFF + r->protocols[j]], i);
			} else {
				struct sg_id_key ik = { .slot = k->c->slot,
							.kind = SG_ID_PROTO,
							.id = r->protocols[j] };

				add_rule(k, &k->id, &ik, i);
			}
		}
		for (x = 0; HAS(r, SG_MK_FLAGS_ANY) && x < 32; x++)
			if (r->flags_any >> x & 1)
				bm_set(&v[SG_ARR_FLAGANY_OFF + x], i);
		for (x = 0; HAS(r, SG_MK_FLAGS_NONE) && x < 32; x++)
			if (r->flags_none >> x & 1)
				bm_set(&v[SG_ARR_FLAGNONE_OFF + x], i);
	}
	if (map_alloc(k->c, SG_PMAP_ARR, SG_ARR_PER_SLOT)) {
		free(v);
		return fail(k, -ENOMEM);
	}
	for (x = 0; x < SG_ARR_PER_SLOT; x++) {
		key = arr_key(k->c, SG_PMAP_ARR, x);
		map_put(k->c, SG_PMAP_ARR, &key, &v[x]);
	}
	free(v);
}

/*
 * In the dst spaces, ports of a class that no dst port range covers have no
 * LPM entries under their class: sg_pol_pclass gives SG_PCLASS_NONE for them
 * and the evaluator skips that lookup (most traffic goes to such ports). Only
 * the table the evaluator reads is changed; ps->cls keeps the real classes.
 */
static void unused_dst_classes(struct comp *k)
{
	const struct sg_policy *p = k->p;
	uint8_t *used[2];
	uint32_t i, j, port;

	used[0] = calloc(SG_MAX_PORT_CLASSES + 1, 1);
	used[1] = calloc(SG_MAX_PORT_CLASSES + 1, 1);
	if (!used[0] || !used[1]) {
		free(used[0]);
		free(used[1]);
		fail(k, -ENOMEM);
		return;
	}
	for (i = 0; i < p->nrules; i++) {
		const struct sg_policy_rule *r = &p->rules[i];

		for (j = 0; HAS(r, SG_MK_DST) && j < r->ndst; j++) {
			const struct sg_policy_dst *d = &r->dst[j];
			int sp = d->family == AF_INET ? SG_PCLASS_V4 : SG_PCLASS_V6;
			uint32_t cl;

			if (full_range(d->port_lo, d->port_hi))
				continue;
			for (cl = k->ps[sp].cls[d->port_lo]; cl <= k->ps[sp].cls[d->port_hi]; cl++)
				used[sp][cl] = 1;
		}
	}
	for (i = SG_PCLASS_V4; i <= SG_PCLASS_V6; i++) {
		k->pcls_out[i] = malloc(sizeof(k->ps[i].cls));
		if (!k->pcls_out[i]) {
			fail(k, -ENOMEM);
			break;
		}
		for (port = 0; port < 65536; port++) {
			uint16_t cl = k->ps[i].cls[port];

			k->pcls_out[i][port] = used[i][cl] ? cl : SG_PCLASS_NONE;
		}
	}
	free(used[0]);
	free(used[1]);
}

/* Port class spaces, sg_pol_pclass, sg_pol_portbits. */
static void compile_ports(struct comp *k)
{
	const struct sg_policy *p = k->p;
	struct sg_compiled *c = k->c;
	static const char *const space_name[] = { "IPv4 dst", "IPv6 dst", "port" };
	uint32_t i, j, s, ch, cl;

	for (i = 0; i < p->nrules; i++) {
		const struct sg_policy_rule *r = &p->rules[i];

		for (j = 0; HAS(r, SG_MK_DST) && j < r->ndst; j++) {
			const struct sg_policy_dst *d = &r->dst[j];

			if (full_range(d->port_lo, d->port_hi))
				continue;
			pspace_cut(&k->ps[d->family == AF_INET ? SG_PCLASS_V4 : SG_PCLASS_V6],
				   d->port_lo, d->port_hi);
		}
		for (j = 0; HAS(r, SG_MK_PORT) && j < r->nports; j++)
			pspace_cut(&k->ps[SG_PCLASS_PORT], r->ports[j].lo, r->ports[j].hi);
	}
	for (s = 0; s < SG_PCLASS_SPACES; s++) {
		pspace_finish(&k->ps[s]);
		if (k->ps[s].n > SG_MAX_PORT_CLASSES) {
			if (sg_errlist_add(k->errs,
					   "%s port ranges: %u port classes (distinct intervals "
					   "between range boundaries), the limit is %d",
					   space_name[s], k->ps[s].n, SG_MAX_PORT_CLASSES) < 0)
				fail(k, -ENOMEM);
			fail(k, -E2BIG);
		}
	}
	if (k->err)
		return;
	unused_dst_classes(k);
	if (map_alloc(c, SG_PMAP_PCLASS, SG_PCLASS_SPACES * SG_PCLASS_CHUNKS))
		return fail(k, -ENOMEM);
	for (s = 0; s < SG_PCLASS_SPACES; s++) {
		for (ch = 0; ch < SG_PCLASS_CHUNKS; ch++) {
			struct sg_pclass_chunk v;
			uint32_t key = arr_key(c, SG_PMAP_PCLASS, s * SG_PCLASS_CHUNKS + ch);

			const uint16_t *tbl = s == SG_PCLASS_PORT ? k->ps[s].cls : k->pcls_out[s];

			memcpy(v.c, &tbl[ch * SG_PCLASS_CHUNK], sizeof(v.c));
			map_put(c, SG_PMAP_PCLASS, &key, &v);
		}
	}
	if (!(c->cfg.dims & 1u << SG_DIM_PORT))
		return;
	{
		struct pspace *ps = &k->ps[SG_PCLASS_PORT];
		struct sg_bitmap *v = calloc(ps->n, sizeof(*v));

		if (!v || map_alloc(c, SG_PMAP_PORTBITS, ps->n)) {
			free(v);
			return fail(k, -ENOMEM);
		}
		for (cl = 0; cl < ps->n; cl++)
			v[cl] = c->cfg.dflt[SG_DIM_PORT];
		for (i = 0; i < p->nrules; i++) {
			const struct sg_policy_rule *r = &p->rules[i];

			for (j = 0; HAS(r, SG_MK_PORT) && j < r->nports; j++)
				for (cl = ps->cls[r->ports[j].lo]; cl <= ps->cls[r->ports[j].hi];
				     cl++)
					bm_set(&v[cl], i);
		}
		for (cl = 0; cl < ps->n; cl++) {
			uint32_t key = arr_key(c, SG_PMAP_PORTBITS, cl);

			map_put(c, SG_PMAP_PORTBITS, &key, &v[cl]);
		}
		free(v);
	}
}

static void lpm_put_dst(struct comp *k, const struct sg_policy_dst *d, uint32_t cls, uint32_t rule)
{
	if (d->family == AF_INET) {
		struct sg_lpm4_key key = { .prefixlen = 8 + 16 + d->prefix_len,
					   .slot = k->c->slot };

		key.pclass[0] = (uint8_t)(cls >> 8);
		key.pclass[1] = (uint8_t)cls;
		memcpy(key.addr, d->addr, 4);
		add_rule(k, &k->lpm4, &key, rule);
	} else {
		struct sg_lpm6_key key = { .prefixlen = 8 + 16 + d->prefix_len,
					   .slot = k->c->slot };

		key.pclass[0] = (uint8_t)(cls >> 8);
		key.pclass[1] = (uint8_t)cls;
		memcpy(key.addr, d->addr, 16);
		add_rule(k, &k->lpm6, &key, rule);
	}
}

/* sg_pol_lpm4/6: one entry per CIDR and port class (or SG_PCLASS_ANY). */
static void compile_dst(struct comp *k)
{
	const struct sg_policy *p = k->p;
	struct sg_policy_cfg *cfg = &k->c->cfg;
	size_t n4 = 0, n6 = 0;
	uint32_t i, j, cl;

	/* count first: a port range over many classes multiplies its CIDR */
	for (i = 0; i < p->nrules; i++) {
		const struct sg_policy_rule *r = &p->rules[i];

		for (j = 0; HAS(r, SG_MK_DST) && j < r->ndst; j++) {
			const struct sg_policy_dst *d = &r->dst[j];
			bool v4 = d->family == AF_INET;
			const struct pspace *ps = &k->ps[v4 ? SG_PCLASS_V4 : SG_PCLASS_V6];
			size_t n = 1;

			if (!full_range(d->port_lo, d->port_hi))
				n = (size_t)ps->cls[d->port_hi] - ps->cls[d->port_lo] + 1;
			if (v4)
				n4 += n;
			else
				n6 += n;
		}
	}
	check_limit(k, n4, SG_POL_LPM_PER_SLOT,
		    "dst: IPv4 LPM entries after port-class expansion (sg_pol_lpm4)");
	check_limit(k, n6, SG_POL_LPM_PER_SLOT,
		    "dst: IPv6 LPM entries after port-class expansion (sg_pol_lpm6)");
	if (k->err)
		return;
	for (i = 0; i < p->nrules; i++) {
		const struct sg_policy_rule *r = &p->rules[i];

		for (j = 0; HAS(r, SG_MK_DST) && j < r->ndst; j++) {
			const struct sg_policy_dst *d = &r->dst[j];
			bool v4 = d->family == AF_INET;
			const struct pspace *ps = &k->ps[v4 ? SG_PCLASS_V4 : SG_PCLASS_V6];

			if (d->family != AF_INET && d->family != AF_INET6)
				continue;
			if (full_range(d->port_lo, d->port_hi)) {
				lpm_put_dst(k, d, SG_PCLASS_ANY, i);
				cfg->dst_lookups |= v4 ? SG_DSTL_V4_ANY : SG_DSTL_V6_ANY;
				continue;
			}
			for (cl = ps->cls[d->port_lo]; cl <= ps->cls[d->port_hi]; cl++)
				lpm_put_dst(k, d, cl, i);
			cfg->dst_lookups |= v4 ? SG_DSTL_V4_CLASS : SG_DSTL_V6_CLASS;
		}
	}
}

static void compile_unix(struct comp *k)
{
	const struct sg_policy *p = k->p;
	uint32_t i, j;
	size_t e, L;

	for (i = 0; i < p->nrules; i++) {
		const struct sg_policy_rule *r = &p->rules[i];

		for (j = 0; HAS(r, SG_MK_UNIX) && j < r->nunix; j++) {
			const struct sg_policy_unix *u = &r->unix_pats[j];
			struct sg_unix_key key = { .slot = k->c->slot };
			uint32_t len = u->len <= SG_POLICY_UNIX_MAX ? u->len : SG_POLICY_UNIX_MAX;

			switch (u->kind) {
			case SG_UNIX_PATH: /* the path and its NUL */
				key.kind = SG_UNIX_KEY_PATH;
				memcpy(key.name, u->bytes, len);
				key.prefixlen = 16 + 8 * (len + 1);
				break;
			case SG_UNIX_PATH_PREFIX:
				key.kind = SG_UNIX_KEY_PATH;
				memcpy(key.name, u->bytes, len);
				key.prefixlen = 16 + 8 * len;
				break;
			case SG_UNIX_ABSTRACT:
				key.kind = SG_UNIX_KEY_ABSTRACT_EXACT;
				key.name[0] = (uint8_t)len;
				memcpy(key.name + 1, u->bytes, len);
				key.prefixlen = 16 + 8 * (1 + len);
				break;
			default:
				key.kind = SG_UNIX_KEY_ABSTRACT;
				memcpy(key.name, u->bytes, len);
				key.prefixlen = 16 + 8 * len;
				break;
			}
			add_rule(k, &k->unx, &key, i);
		}
	}
	check_limit(k, k->unx.n, SG_POL_LIST_PER_SLOT, "unix entries (sg_pol_unix)");
	if (k->err)
		return;
	if (set_finish(&k->unx))
		return fail(k, -ENOMEM);
	/* exact abstract entries: the bits of the longest abstract prefix covering them */
	for (e = 0; e < k->unx.n; e++) {
		struct ent *x = &k->unx.v[e];
		struct sg_unix_key key = { .slot = k->c->slot, .kind = SG_UNIX_KEY_ABSTRACT };
		uint8_t n = x->key[6]; /* name[0]: the length */

		if (x->key[5] != SG_UNIX_KEY_ABSTRACT_EXACT)
			continue;
		for (L = n + 1; L-- > 0;) {
			struct ent *hit;

			memset(key.name, 0, sizeof(key.name));
			memcpy(key.name, x->key + 7, L);
			key.prefixlen = (uint32_t)(16 + 8 * L);
			hit = set_find(&k->unx, &key);
			if (hit) {
				bm_or(&x->bits, &hit->bits);
				break;
			}
		}
	}
}

/* comm, exe, uid, gid, cgroup, cmsg entries. */
static void compile_lists(struct comp *k, sg_cgroup_resolver resolve, void *rctx)
{
	const struct sg_policy *p = k->p;
	struct sg_compiled *c = k->c;
	uint32_t i, j, depth, levels = 0;

	for (i = 0; i < p->nrules; i++) {
		const struct sg_policy_rule *r = &p->rules[i];

		for (j = 0; HAS(r, SG_MK_COMM) && j < r->ncomms; j++) {
			struct sg_comm_key key = { .slot = c->slot };

			strncpy((char *)key.comm, r->comms[j], SG_COMM_LEN - 1);
			add_rule(k, &k->comm, &key, i);
		}
		for (j = 0; HAS(r, SG_MK_EXE) && j < r->nexes; j++) {
			const struct sg_policy_exe *x = &r->exes[j];
			struct sg_exe_key key = { .slot = c->slot, .ino = x->ino };

			/* unresolved exes, and devices no event can carry, match nothing */
			if (x->resolved != 1 || x->dev > UINT32_MAX)
				continue;
			key.dev = (uint32_t)x->dev;
			add_rule(k, &k->exe, &key, i);
		}
		for (j = 0; HAS(r, SG_MK_UID) && j < r->nuids; j++) {
			struct sg_id_key key = { .slot = c->slot,
						 .kind = SG_ID_UID,
						 .id = r->uids[j] };

			add_rule(k, &k->id, &key, i);
		}
		for (j = 0; HAS(r, SG_MK_GID) && j < r->ngids; j++) {
			struct sg_id_key key = { .slot = c->slot,
						 .kind = SG_ID_GID,
						 .id = r->gids[j] };

			add_rule(k, &k->id, &key, i);
		}
		for (j = 0; HAS(r, SG_MK_CMSG) && j < r->ncmsgs; j++) {
			struct sg_cmsg_key key = { .slot = c->slot,
						   .level = r->cmsgs[j].level,
						   .type = r->cmsgs[j].type };

			add_rule(k, &k->cmsg, &key, i);
		}
		for (j = 0; HAS(r, SG_MK_CGROUP) && j < r->ncgroups; j++) {
			struct sg_cgroup_key key = { .slot = c->slot };
			const char *path = r->cgroups[j], *q;
			uint64_t id = 0;
			int e = resolve ? resolve(path, &id, rctx) : -ENOENT;

			/* its level: the number of components ("/" is the root, level 0) */
			for (depth = 0, q = path; *q; q++)
				if (*q == '/' && q[1] && q[1] != '/')
					depth++;
			if (depth >= SG_MAX_CGROUP_DEPTH) {
				if (sg_errlist_add(
					    k->errs,
					    "rules[%u].match.cgroup[%u]: \"%s\": deeper than "
					    "%d levels, the limit of the compiled form",
					    i, j, path, SG_MAX_CGROUP_DEPTH - 1) < 0)
					fail(k, -ENOMEM);
				fail(k, -E2BIG);
				continue;
			}
			key.id = id;
			if (e < 0 || !key.id) {
				c->nunresolved++;
				if (sg_errlist_add(
					    k->errs,
					    "rules[%u].match.cgroup[%u]: \"%s\": cannot resolve: "
					    "%s (matches nothing)",
					    i, j, path, strerror(e < 0 ? -e : ENOENT)) < 0)
					fail(k, -ENOMEM);
				continue;
			}
			if (depth + 1 > levels)
				levels = depth + 1;
			add_rule(k, &k->cgroup, &key, i);
		}
	}
	c->cfg.cgroup_levels = (uint8_t)levels;
	check_limit(k, k->comm.n, SG_POL_LIST_PER_SLOT, "comm entries (sg_pol_comm)");
	check_limit(k, k->exe.n, SG_POL_LIST_PER_SLOT, "exe entries (sg_pol_exe)");
	check_limit(k, k->id.n, SG_POL_ID_PER_SLOT, "uid, gid and protocol entries (sg_pol_id)");
	check_limit(k, k->cgroup.n, SG_POL_LIST_PER_SLOT, "cgroup entries (sg_pol_cgroup)");
	check_limit(k, k->cmsg.n, SG_POL_LIST_PER_SLOT, "cmsg entries (sg_pol_cmsg)");
}

/* The id map mixes three dimensions: OR each entry's own default. */
static int map_from_id_set(struct sg_compiled *c, const struct entset *s)
{
	size_t i;
	int r = map_alloc(c, SG_PMAP_ID, s->n);

	for (i = 0; !r && i < s->n; i++) {
		struct sg_bitmap v = s->v[i].bits;
		struct sg_id_key key;
		int dim;

		memcpy(&key, s->v[i].key, sizeof(key));
		dim = key.kind == SG_ID_UID   ? SG_DIM_UID
		      : key.kind == SG_ID_GID ? SG_DIM_GID
					      : SG_DIM_PROTOCOL;
		bm_or(&v, &c->cfg.dflt[dim]);
		map_put(c, SG_PMAP_ID, &key, &v);
	}
	return r;
}

/* --- the IPv4 /16 index ------------------------------------------------------------ */

static uint32_t v4_plen(const struct sg_lpm4_key *k)
{
	return k->prefixlen - 8 - 16;
}

static bool v4_any(const struct sg_lpm4_key *k)
{
	return k->pclass[0] == (SG_PCLASS_ANY >> 8) && k->pclass[1] == (SG_PCLASS_ANY & 0xff);
}

static const struct sg_compiled_map *v4_sort_map;

/* Entries of sg_pol_lpm4 by prefix length, shorter first. */
static int cmp_v4_plen(const void *a, const void *b)
{
	const struct sg_compiled_map *m = v4_sort_map;
	const struct sg_lpm4_key *x = (const void *)(m->keys + *(const uint32_t *)a * m->key_size);
	const struct sg_lpm4_key *y = (const void *)(m->keys + *(const uint32_t *)b * m->key_size);

	return v4_plen(x) < v4_plen(y) ? -1 : v4_plen(x) > v4_plen(y);
}

/*
 * sg_pol_v4l1/sg_pol_v4leaf from the finished sg_pol_lpm4 entries: paint every
 * any-port prefix of at most 16 bits over its /16s, shorter first (a longer
 * prefix is the longer match), then mark the /16s that hold a longer prefix.
 * With more such prefixes than leaves the index is left out (cfg flag off).
 */
static int compile_v4l1(struct sg_compiled *c)
{
	const struct sg_compiled_map *m = &c->maps[SG_PMAP_LPM4];
	uint32_t *l1 = calloc(65536, sizeof(*l1)), *idx = calloc(m->n ? m->n : 1, sizeof(*idx));
	uint32_t i, n = 0, nleaf = 0;
	int err = 0;

	if (!l1 || !idx) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < m->n; i++) {
		const struct sg_lpm4_key *k = (const void *)(m->keys + i * m->key_size);

		if (v4_any(k) && v4_plen(k) <= 16)
			idx[n++] = i;
	}
	if (n > SG_V4_LEAVES || !(c->cfg.dst_lookups & SG_DSTL_V4_ANY))
		goto out;
	v4_sort_map = m;
	qsort(idx, n, sizeof(*idx), cmp_v4_plen);
	for (i = 0; i < n; i++) {
		const struct sg_lpm4_key *k = (const void *)(m->keys + idx[i] * m->key_size);
		const struct sg_bitmap *b = (const void *)(m->vals + idx[i] * m->val_size);
		uint32_t first = (uint32_t)k->addr[0] << 8 | k->addr[1];
		uint32_t count = 1u << (16 - v4_plen(k));
		uint32_t lo = SG_RULE_WORDS, hi = 0, val;

		for (uint32_t w = 0; w < SG_RULE_WORDS; w++) {
			if (b->w[w]) {
				lo = lo < w ? lo : w;
				hi = w + 1;
			}
		}
		if (!hi)
			lo = 0;
		val = SG_V4L1_VAL(SG_V4L1_LEAF0 + nleaf, lo, hi);
		for (uint32_t j = 0; j < count; j++)
			l1[first + j] = val;
		nleaf++;
	}
	for (i = 0; i < m->n; i++) {
		const struct sg_lpm4_key *k = (const void *)(m->keys + i * m->key_size);

		if (v4_any(k) && v4_plen(k) > 16)
			l1[(uint32_t)k->addr[0] << 8 | k->addr[1]] = SG_V4L1_LPM;
	}
	err = map_alloc(c, SG_PMAP_V4L1, 256);
	if (!err)
		err = map_alloc(c, SG_PMAP_V4LEAF, nleaf);
	if (err)
		goto out;
	for (i = 0; i < 256; i++) {
		uint32_t key = arr_key(c, SG_PMAP_V4L1, i);

		map_put(c, SG_PMAP_V4L1, &key, &l1[i * 256]);
	}
	for (i = 0; i < n; i++) {
		uint32_t key = arr_key(c, SG_PMAP_V4LEAF, i);

		map_put(c, SG_PMAP_V4LEAF, &key, m->vals + idx[i] * m->val_size);
	}
	c->cfg.dst_lookups |= SG_DSTL_V4_L1;
out:
	free(l1);
	free(idx);
	return err;
}

int sg_policy_compile(const struct sg_policy *p, uint8_t slot, sg_cgroup_resolver resolve,
		      void *resolve_ctx, struct sg_compiled **out, struct sg_errlist *errs)
{
	struct comp k = { .p = p, .errs = errs };
	struct sg_compiled *c = NULL;
	const struct sg_bitmap *dflt;
	uint32_t key;

	if (out)
		*out = NULL;
	if (!p || !out || slot > 1)
		return -EINVAL;
	if (p->nrules > SG_MAX_RULES) {
		if (sg_errlist_add(errs, "rules: %u rules, the limit is %d", p->nrules,
				   SG_MAX_RULES) < 0)
			return -ENOMEM;
		return -E2BIG;
	}
	c = calloc(1, sizeof(*c));
	k.ps = calloc(SG_PCLASS_SPACES, sizeof(*k.ps));
	if (!c || !k.ps) {
		fail(&k, -ENOMEM);
		goto cleanup;
	}
	k.c = c;
	c->slot = slot;
	c->version = p->version;
	for (int i = 0; i < SG_PMAP_COUNT; i++) {
		c->maps[i].key_size = maps[i].key_size;
		c->maps[i].val_size = maps[i].val_size;
	}
	k.lpm4 = (struct entset){ .key_size = sizeof(struct sg_lpm4_key), .lpm = true };
	k.lpm6 = (struct entset){ .key_size = sizeof(struct sg_lpm6_key), .lpm = true };
	k.unx = (struct entset){ .key_size = sizeof(struct sg_unix_key), .lpm = true };
	k.comm = (struct entset){ .key_size = sizeof(struct sg_comm_key) };
	k.exe = (struct entset){ .key_size = sizeof(struct sg_exe_key) };
	k.id = (struct entset){ .key_size = sizeof(struct sg_id_key) };
	k.cgroup = (struct entset){ .key_size = sizeof(struct sg_cgroup_key) };
	k.cmsg = (struct entset){ .key_size = sizeof(struct sg_cmsg_key) };

	cfg_bits(&k);
	compile_rules_rt(&k);
	compile_arr(&k);
	compile_ports(&k);
	if (!k.err)
		compile_dst(&k);
	compile_unix(&k);
	compile_lists(&k, resolve, resolve_ctx);
	if (k.err)
		goto cleanup;
	if (set_finish(&k.lpm4) || set_finish(&k.lpm6) || set_finish(&k.comm) ||
	    set_finish(&k.exe) || set_finish(&k.id) || set_finish(&k.cgroup) ||
	    set_finish(&k.cmsg)) {
		fail(&k, -ENOMEM);
		goto cleanup;
	}
	dflt = c->cfg.dflt;
	if (map_from_set(c, SG_PMAP_LPM4, &k.lpm4, &dflt[SG_DIM_DST]) ||
	    map_from_set(c, SG_PMAP_LPM6, &k.lpm6, &dflt[SG_DIM_DST]) ||
	    map_from_set(c, SG_PMAP_UNIX, &k.unx, &dflt[SG_DIM_UNIX]) ||
	    map_from_set(c, SG_PMAP_COMM, &k.comm, &dflt[SG_DIM_COMM]) ||
	    map_from_set(c, SG_PMAP_EXE, &k.exe, &dflt[SG_DIM_EXE]) ||
	    map_from_set(c, SG_PMAP_CGROUP, &k.cgroup, &dflt[SG_DIM_CGROUP]) ||
	    map_from_set(c, SG_PMAP_CMSG, &k.cmsg, &dflt[SG_DIM_CMSG]) ||
	    map_from_id_set(c, &k.id) || compile_v4l1(c) || map_alloc(c, SG_PMAP_CFG, 1)) {
		fail(&k, -ENOMEM);
		goto cleanup;
	}
	key = slot;
	map_put(c, SG_PMAP_CFG, &key, &c->cfg);
	*out = c;
	c = NULL;
cleanup:
	if (errs && errs->oom)
		fail(&k, -ENOMEM);
	free(k.lpm4.v);
	free(k.lpm6.v);
	free(k.unx.v);
	free(k.comm.v);
	free(k.exe.v);
	free(k.id.v);
	free(k.cgroup.v);
	free(k.cmsg.v);
	free(k.ps);
	free(k.pcls_out[0]);
	free(k.pcls_out[1]);
	sg_compiled_free(c);
	if (k.err && *out) {
		sg_compiled_free(*out);
		*out = NULL;
	}
	return k.err;
}

/* --- writing ------------------------------------------------------------------------ */

int sg_compiled_apply(const struct sg_compiled *c,
		      int (*update)(int map_id, const void *key, const void *val, void *ctx),
		      void *ctx)
{
	if (!c || !update)
		return -EINVAL;
	for (int id = 0; id < SG_PMAP_COUNT; id++) {
		const struct sg_compiled_map *m = &c->maps[id];

		for (uint32_t i = 0; i < m->n; i++) {
			int r = update(id, m->keys + (size_t)i * m->key_size,
				       m->vals + (size_t)i * m->val_size, ctx);

			if (r)
				return r;
		}
	}
	return 0;
}

int sg_compiled_remove(const struct sg_compiled *c,
		       int (*del)(int map_id, const void *key, void *ctx), void *ctx)
{
	if (!c || !del)
		return -EINVAL;
	for (int id = 0; id < SG_PMAP_COUNT; id++) {
		const struct sg_compiled_map *m = &c->maps[id];

		if (maps[id].kind == SG_PMAP_KIND_ARRAY)
			continue;
		for (uint32_t i = 0; i < m->n; i++) {
			int r = del(id, m->keys + (size_t)i * m->key_size, ctx);

			if (r && r != -ENOENT)
				return r;
		}
	}
	return 0;
}

/* --- lookups, as the kernel does them --------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x, y;

	memcpy(&x, a, 4);
	memcpy(&y, b, 4);
	return x < y ? -1 : x > y;
}

static uint32_t lookup_key_size;

static int cmp_bytes(const void *a, const void *b)
{
	return memcmp(a, b, lookup_key_size);
}

const void *sg_compiled_lookup(const struct sg_compiled *c, int id, const void *key)
{
	const struct sg_compiled_map *m;
	const uint8_t *hit = NULL, *best = NULL;
	uint32_t i, kp, ep, best_len = 0;

	if (!c || id < 0 || id >= SG_PMAP_COUNT || !key)
		return NULL;
	m = &c->maps[id];
	/* An empty map has no key array: bsearch must not be given its NULL. */
	if (!m->n)
		return NULL;
	switch (maps[id].kind) {
	case SG_PMAP_KIND_ARRAY:
		hit = bsearch(key, m->keys, m->n, m->key_size, cmp_u32);
		break;
	case SG_PMAP_KIND_HASH:
		lookup_key_size = m->key_size;
		hit = bsearch(key, m->keys, m->n, m->key_size, cmp_bytes);
		break;
	default:
		/* longest prefix: every entry with prefixlen <= the key's that agrees */
		memcpy(&kp, key, 4);
		for (i = 0; i < m->n; i++) {
			const uint8_t *ek = m->keys + (size_t)i * m->key_size;

			memcpy(&ep, ek, 4);
			if (ep > kp || ep > 8 * (m->key_size - 4) || (best && ep <= best_len))
				continue;
			if (bits_equal(ek + 4, (const uint8_t *)key + 4, ep)) {
				best = ek;
				best_len = ep;
			}
		}
		hit = best;
		break;
	}
	if (!hit)
		return NULL;
	return m->vals + (size_t)((hit - m->keys) / m->key_size) * m->val_size;
}
