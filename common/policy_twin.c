// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The user-space twin of the BPF evaluator (policy_compile.h:
 * sg_compiled_eval, sg_compiled_eval_hook): the steps of bpf/policy.bpf.h,
 * one by one, on the entries of a compiled policy, looked up as the kernel
 * does (sg_compiled_lookup). Keep the two in step.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "policy_twin.h"

/* --- the twin of bpf/policy.bpf.h ---------------------------------------------------- */

struct twin {
	const struct sg_compiled *c;
	const struct sg_policy_cfg *cfg;
	uint32_t slot, nw;
	struct sg_bitmap acc, tmp, none;
};

static uint64_t tw_and(const struct twin *t, struct sg_bitmap *acc, const struct sg_bitmap *m)
{
	uint64_t any = 0;

	for (uint32_t w = 0; w < SG_RULE_WORDS && w < t->nw; w++) {
		acc->w[w] &= m->w[w];
		any |= acc->w[w];
	}
	return any;
}

static uint64_t tw_andnot(const struct twin *t, struct sg_bitmap *acc, const struct sg_bitmap *m)
{
	uint64_t any = 0;

	for (uint32_t w = 0; w < SG_RULE_WORDS && w < t->nw; w++) {
		acc->w[w] &= ~m->w[w];
		any |= acc->w[w];
	}
	return any;
}

static void tw_or(const struct twin *t, struct sg_bitmap *acc, const struct sg_bitmap *m)
{
	for (uint32_t w = 0; w < SG_RULE_WORDS && w < t->nw; w++)
		acc->w[w] |= m->w[w];
}

static void tw_copy(const struct twin *t, struct sg_bitmap *acc, const struct sg_bitmap *m)
{
	for (uint32_t w = 0; w < SG_RULE_WORDS && w < t->nw; w++)
		acc->w[w] = m->w[w];
}

static const void *tw_lookup(const struct twin *t, int id, const void *key)
{
	return sg_compiled_lookup(t->c, id, key);
}

static const struct sg_bitmap *tw_arr_get(const struct twin *t, uint32_t dim, uint32_t off,
					  uint32_t v, uint32_t max)
{
	const struct sg_bitmap *m = NULL;
	uint32_t k;

	if (v < max) {
		k = t->slot * SG_ARR_PER_SLOT + off + v;
		m = tw_lookup(t, SG_PMAP_ARR, &k);
	}
	return m ? m : &t->cfg->dflt[dim];
}

static const struct sg_bitmap *tw_id_get(const struct twin *t, uint32_t dim, uint32_t kind,
					 uint32_t id)
{
	struct sg_id_key k = { .slot = t->slot, .kind = kind, .id = id };
	const struct sg_bitmap *m = tw_lookup(t, SG_PMAP_ID, &k);

	return m ? m : &t->cfg->dflt[dim];
}

static uint32_t tw_pclass_get(const struct twin *t, uint32_t space, uint32_t port)
{
	uint32_t k = (t->slot * SG_PCLASS_SPACES + space) * SG_PCLASS_CHUNKS + (port >> 8 & 0xff);
	const struct sg_pclass_chunk *c = tw_lookup(t, SG_PMAP_PCLASS, &k);

	return c ? c->c[port & 0xff] : 0;
}

struct tw_dest {
	uint32_t inet;
	uint32_t port;
	const uint8_t *addr;
};

static void tw_decode(const struct sg_event *e, struct tw_dest *d)
{
	uint32_t len = e->addr_len < SG_ADDR_MAX ? e->addr_len : SG_ADDR_MAX;
	uint16_t family;

	memcpy(&family, e->addr, 2);
	d->inet = 0;
	d->port = (uint32_t)e->addr[2] << 8 | e->addr[3];
	d->addr = &e->addr[4];
	if (len < 2)
		return;
	if (family == AF_INET && len >= 8) {
		d->inet = 4;
	} else if (family == AF_INET6 && len >= 24) {
		if (!memcmp(&e->addr[8], "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
			d->inet = 4;
			d->addr = &e->addr[20];
		} else {
			d->inet = 6;
			d->addr = &e->addr[8];
		}
	}
}

static const struct sg_bitmap *tw_dst(struct twin *t, const struct tw_dest *d)
{
	const struct sg_bitmap *any = NULL, *cls = NULL;
	uint32_t dl = t->cfg->dst_lookups, pc;

	if (d->inet == 4) {
		struct sg_lpm4_key k = { .prefixlen = 8 + 16 + 32, .slot = (uint8_t)t->slot };

		memcpy(k.addr, d->addr, 4);
		if (dl & SG_DSTL_V4_ANY) {
			uint32_t v = SG_V4L1_LPM;

			if (dl & SG_DSTL_V4_L1) {
				uint32_t ck = t->slot * 256 + d->addr[0];
				const struct sg_v4l1_chunk *ch = tw_lookup(t, SG_PMAP_V4L1, &ck);

				v = ch ? ch->v[d->addr[1]] : SG_V4L1_LPM;
			}
			k.pclass[0] = SG_PCLASS_ANY >> 8;
			k.pclass[1] = SG_PCLASS_ANY & 0xff;
			if (v == SG_V4L1_LPM) {
				any = tw_lookup(t, SG_PMAP_LPM4, &k);
			} else if (v >= SG_V4L1_LEAF0) {
				uint32_t lk =
					t->slot * SG_V4_LEAVES +
					((SG_V4L1_ID(v) - SG_V4L1_LEAF0) & (SG_V4_LEAVES - 1));

				any = tw_lookup(t, SG_PMAP_V4LEAF, &lk);
			}
		}
		if (dl & SG_DSTL_V4_CLASS) {
			pc = tw_pclass_get(t, SG_PCLASS_V4, d->port);
			k.pclass[0] = (uint8_t)(pc >> 8);
			k.pclass[1] = (uint8_t)pc;
			if (pc != SG_PCLASS_NONE)
				cls = tw_lookup(t, SG_PMAP_LPM4, &k);
		}
	} else if (d->inet == 6) {
		struct sg_lpm6_key k = { .prefixlen = 8 + 16 + 128, .slot = (uint8_t)t->slot };

		memcpy(k.addr, d->addr, 16);
		if (dl & SG_DSTL_V6_ANY) {
			k.pclass[0] = SG_PCLASS_ANY >> 8;
			k.pclass[1] = SG_PCLASS_ANY & 0xff;
			any = tw_lookup(t, SG_PMAP_LPM6, &k);
		}
		if (dl & SG_DSTL_V6_CLASS) {
			pc = tw_pclass_get(t, SG_PCLASS_V6, d->port);
			k.pclass[0] = (uint8_t)(pc >> 8);
			k.pclass[1] = (uint8_t)pc;
			if (pc != SG_PCLASS_NONE)
				cls = tw_lookup(t, SG_PMAP_LPM6, &k);
		}
	}
	if (any && cls) {
		tw_copy(t, &t->tmp, any);
		tw_or(t, &t->tmp, cls);
		return &t->tmp;
	}
	if (any)
		return any;
	if (cls)
		return cls;
	return &t->cfg->dflt[SG_DIM_DST];
}

static const struct sg_bitmap *tw_port(const struct twin *t, const struct tw_dest *d)
{
	const struct sg_bitmap *m = NULL;
	uint32_t k;

	if (d->inet) {
		k = t->slot * SG_MAX_PORT_CLASSES +
		    (tw_pclass_get(t, SG_PCLASS_PORT, d->port) & (SG_MAX_PORT_CLASSES - 1));
		m = tw_lookup(t, SG_PMAP_PORTBITS, &k);
	}
	return m ? m : &t->cfg->dflt[SG_DIM_PORT];
}

static const struct sg_bitmap *tw_unix_get(const struct twin *t, const struct sg_event *e)
{
	struct sg_unix_key k = { .slot = (uint8_t)t->slot };
	const struct sg_bitmap *m = NULL;
	uint32_t len = e->addr_len < SG_ADDR_MAX ? e->addr_len : SG_ADDR_MAX;
	uint16_t family;
	uint32_t n;

	memcpy(&family, e->addr, 2);
	if (len <= 2 || family != AF_UNIX)
		return &t->cfg->dflt[SG_DIM_UNIX];
	if (e->addr[2]) {
		n = len - 2;
		k.kind = SG_UNIX_KEY_PATH;
		memcpy(k.name, &e->addr[2], SG_UNIX_NAME_MAX + 1);
		if (n <= SG_UNIX_NAME_MAX) {
			k.name[n] = 0;
			k.prefixlen = 16 + 8 * (n + 1);
		} else {
			k.prefixlen = 16 + 8 * (SG_UNIX_NAME_MAX + 1);
		}
		m = tw_lookup(t, SG_PMAP_UNIX, &k);
		return m ? m : &t->cfg->dflt[SG_DIM_UNIX];
	}
	n = len - 3;
	if (n < SG_UNIX_NAME_MAX) {
		k.kind = SG_UNIX_KEY_ABSTRACT_EXACT;
		k.name[0] = (uint8_t)n;
		memcpy(&k.name[1], &e->addr[3], SG_UNIX_NAME_MAX);
		k.prefixlen = 16 + 8 * (1 + n);
		m = tw_lookup(t, SG_PMAP_UNIX, &k);
		if (m)
			return m;
	}
	k.kind = SG_UNIX_KEY_ABSTRACT;
	memcpy(k.name, &e->addr[3], SG_UNIX_NAME_MAX + 1);
	k.prefixlen = 16 + 8 * n;
	m = tw_lookup(t, SG_PMAP_UNIX, &k);
	return m ? m : &t->cfg->dflt[SG_DIM_UNIX];
}

static const struct sg_bitmap *tw_comm_get(const struct twin *t, const struct sg_event *e)
{
	struct sg_comm_key k = { .slot = t->slot };
	const struct sg_bitmap *m;
	bool end = false;

	for (int i = 0; i < SG_COMM_LEN - 1; i++) {
		if (!e->comm[i])
			end = true;
		k.comm[i] = end ? 0 : e->comm[i];
	}
	m = tw_lookup(t, SG_PMAP_COMM, &k);
	return m ? m : &t->cfg->dflt[SG_DIM_COMM];
}

static const struct sg_bitmap *tw_exe_get(const struct twin *t, const struct sg_event *e)
{
	struct sg_exe_key k = { .slot = t->slot, .dev = e->exe_dev, .ino = e->exe_ino };
	const struct sg_bitmap *m = NULL;

	if (e->flags & SG_EF_EXE)
		m = tw_lookup(t, SG_PMAP_EXE, &k);
	return m ? m : &t->cfg->dflt[SG_DIM_EXE];
}

static const struct sg_bitmap *tw_cmsg_get(struct twin *t, const struct sg_event *e)
{
	struct sg_cmsg_key k = { .slot = t->slot };
	const struct sg_bitmap *m;
	uint32_t i, n = 0;

	if (e->flags & SG_EF_CONTROL)
		n = e->ncmsgs;
	if (!n)
		return &t->cfg->dflt[SG_DIM_CMSG];
	tw_copy(t, &t->tmp, &t->cfg->dflt[SG_DIM_CMSG]);
	for (i = 0; i < SG_MAX_CMSGS && i < n; i++) {
		k.level = e->cmsgs[i].level;
		k.type = e->cmsgs[i].type;
		m = tw_lookup(t, SG_PMAP_CMSG, &k);
		if (m)
			tw_or(t, &t->tmp, m);
	}
	return &t->tmp;
}

static const struct sg_bitmap *tw_cgroup_get(struct twin *t, const uint64_t *ids, uint32_t nids)
{
	struct sg_cgroup_key k = { .slot = t->slot };
	uint64_t self = nids ? ids[nids - 1] : 0;
	uint32_t lv, levels = t->cfg->cgroup_levels;
	const struct sg_bitmap *m;

	tw_copy(t, &t->tmp, &t->cfg->dflt[SG_DIM_CGROUP]);
	for (lv = 0; lv < SG_MAX_CGROUP_DEPTH && lv < levels; lv++) {
		/* bpf_get_current_ancestor_cgroup_id(lv) */
		k.id = lv < nids ? ids[lv] : 0;
		if (!k.id)
			break;
		m = tw_lookup(t, SG_PMAP_CGROUP, &k);
		if (m)
			tw_or(t, &t->tmp, m);
		if (k.id == self)
			break;
	}
	return &t->tmp;
}

static bool tw_post_ok(const struct sg_rule_rt *rt, uint32_t msg_flags, uint64_t len)
{
	return (msg_flags & rt->flags_all) == rt->flags_all && len >= rt->len_min &&
	       len <= rt->len_max;
}

static uint32_t tw_ctz(uint64_t x)
{
	return (uint32_t)__builtin_ctzll(x);
}

#define TW_AND(m)                             \
	do {                                  \
		if (!tw_and(t, &t->acc, (m))) \
			return false;         \
	} while (0)

/* flags_any and flags_none: one OR each per set bit of the send's flags. */
static bool tw_and_flags(struct twin *t, uint32_t f)
{
	const struct sg_bitmap *m;
	uint32_t b, k;

	tw_copy(t, &t->tmp, &t->cfg->dflt[SG_DIM_FLAGS_ANY]);
	memset(&t->none, 0, sizeof(t->none));
	for (b = 0; b < 32; b++) {
		if (!(f >> b))
			break;
		if (!(f >> b & 1))
			continue;
		k = t->slot * SG_ARR_PER_SLOT + SG_ARR_FLAGANY_OFF + b;
		m = tw_lookup(t, SG_PMAP_ARR, &k);
		if (m)
			tw_or(t, &t->tmp, m);
		k = t->slot * SG_ARR_PER_SLOT + SG_ARR_FLAGNONE_OFF + b;
		m = tw_lookup(t, SG_PMAP_ARR, &k);
		if (m)
			tw_or(t, &t->none, m);
	}
	TW_AND(&t->tmp);
	return tw_andnot(t, &t->acc, &t->none);
}

/* acc &= the bitmap of every dimension in dims; false as soon as no rule is left. */
static bool tw_and_dims(struct twin *t, const struct sg_event *e, const uint64_t *cgroup_ids,
			uint32_t ncgroup_ids, uint32_t dims)
{
	struct tw_dest dest;

	if (dims & 1u << SG_DIM_SYSCALL)
		TW_AND(tw_arr_get(t, SG_DIM_SYSCALL, SG_ARR_SYSCALL_OFF, e->syscall,
				  SG_ARR_SYSCALL_MAX));
	if (dims & 1u << SG_DIM_FAMILY)
		TW_AND(tw_arr_get(t, SG_DIM_FAMILY, SG_ARR_FAMILY_OFF,
				  e->flags & SG_EF_SOCK ? e->sock_family : ~0u, SG_ARR_FAMILY_MAX));
	if (dims & 1u << SG_DIM_TYPE)
		TW_AND(tw_arr_get(t, SG_DIM_TYPE, SG_ARR_TYPE_OFF,
				  e->flags & SG_EF_SOCK ? e->sock_type : ~0u, SG_ARR_TYPE_MAX));
	if (dims & 1u << SG_DIM_PROTOCOL) {
		if (!(e->flags & SG_EF_SOCK))
			TW_AND(&t->cfg->dflt[SG_DIM_PROTOCOL]);
		else if (e->sock_protocol < SG_ARR_PROTO_MAX)
			TW_AND(tw_arr_get(t, SG_DIM_PROTOCOL, SG_ARR_PROTO_OFF, e->sock_protocol,
					  SG_ARR_PROTO_MAX));
		else
			TW_AND(tw_id_get(t, SG_DIM_PROTOCOL, SG_ID_PROTO, e->sock_protocol));
	}
	if (dims & (1u << SG_DIM_FLAGS_ANY | 1u << SG_DIM_FLAGS_NONE) &&
	    !tw_and_flags(t, e->msg_flags))
		return false;
	if (dims & 1u << SG_DIM_UID)
		TW_AND(tw_id_get(t, SG_DIM_UID, SG_ID_UID, e->uid));
	if (dims & 1u << SG_DIM_GID)
		TW_AND(tw_id_get(t, SG_DIM_GID, SG_ID_GID, e->gid));
	if (dims & 1u << SG_DIM_COMM)
		TW_AND(tw_comm_get(t, e));
	if (dims & 1u << SG_DIM_EXE)
		TW_AND(tw_exe_get(t, e));
	if (dims & 1u << SG_DIM_CMSG)
		TW_AND(tw_cmsg_get(t, e));
	if (dims & (1u << SG_DIM_DST | 1u << SG_DIM_PORT)) {
		tw_decode(e, &dest);
		if (dims & 1u << SG_DIM_PORT)
			TW_AND(tw_port(t, &dest));
		if (dims & 1u << SG_DIM_DST)
			TW_AND(tw_dst(t, &dest));
	}
	if (dims & 1u << SG_DIM_UNIX)
		TW_AND(tw_unix_get(t, e));
	if (dims & 1u << SG_DIM_CGROUP)
		TW_AND(tw_cgroup_get(t, cgroup_ids, ncgroup_ids));
	return true;
}

#undef TW_AND

/*
 * The lowest bit left whose per-rule checks hold (BPF: sg_pol_first_rule)
 * sets *rule and *verdict; they stay as they are when no rule is left.
 */
static void tw_first_rule(struct twin *t, const struct sg_event *e, uint32_t mode, uint16_t *rule,
			  uint8_t *verdict)
{
	const struct sg_rule_rt *rt;
	uint32_t w, k, i;
	uint64_t x;

	for (w = 0; w < SG_RULE_WORDS && w < t->nw; w++) {
		while ((x = t->acc.w[w])) {
			i = w * 64 + tw_ctz(x);
			k = t->slot * SG_MAX_RULES + (i & (SG_MAX_RULES - 1));
			rt = tw_lookup(t, SG_PMAP_RULES, &k);
			if (!rt)
				return;
			if (mode == SG_EVAL_HOOK || tw_post_ok(rt, e->msg_flags, e->len)) {
				*rule = (uint16_t)i;
				*verdict = rt->action;
				return;
			}
			t->acc.w[w] = x & (x - 1);
		}
	}
}

static int compiled_eval(const struct sg_compiled *c, const struct sg_event *e,
			 const uint64_t *cgroup_ids, uint32_t ncgroup_ids, uint32_t mode,
			 uint16_t *rule, uint8_t *verdict)
{
	struct twin tw = { .c = c }, *t = &tw;
	uint32_t dims, k;

	*rule = SG_NO_RULE;
	*verdict = SG_VERDICT_ALLOW;
	if (!c || !e)
		return -EINVAL;
	t->slot = c->slot;
	k = t->slot;
	t->cfg = tw_lookup(t, SG_PMAP_CFG, &k);
	if (!t->cfg)
		return -EINVAL;
	*verdict = t->cfg->default_verdict;
	t->nw = t->cfg->nwords;
	if (t->nw > SG_RULE_WORDS)
		t->nw = SG_RULE_WORDS;
	if (!t->nw)
		return 0;
	tw_copy(t, &t->acc, &t->cfg->all);
	dims = t->cfg->dims;
	if (mode == SG_EVAL_HOOK) {
		if (!t->cfg->hook_deny) {
			*verdict = SG_VERDICT_ALLOW; /* nothing a hook could deny */
			return 0;
		}
		dims &= ~SG_HOOK_HIDDEN_DIMS;
	}
	if (!tw_and_dims(t, e, cgroup_ids, ncgroup_ids, dims))
		return 0;
	if (mode == SG_EVAL_HOOK && !tw_andnot(t, &t->acc, &t->cfg->hook_skip))
		return 0;
	tw_first_rule(t, e, mode, rule, verdict);
	return 0;
}

int sg_compiled_eval(const struct sg_compiled *c, const struct sg_event *e,
		     const uint64_t *cgroup_ids, uint32_t ncgroup_ids, uint16_t *rule,
		     uint8_t *verdict)
{
	return compiled_eval(c, e, cgroup_ids, ncgroup_ids, SG_EVAL_FULL, rule, verdict);
}

int sg_compiled_eval_hook(const struct sg_compiled *c, const struct sg_event *e,
			  const uint64_t *cgroup_ids, uint32_t ncgroup_ids, uint16_t *rule,
			  bool *deny)
{
	uint8_t verdict;
	int err;

	err = compiled_eval(c, e, cgroup_ids, ncgroup_ids, SG_EVAL_HOOK, rule, &verdict);
	*deny = !err && verdict == SG_VERDICT_DENY;
	return err;
}
