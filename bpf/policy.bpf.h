/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The in-kernel policy evaluator: the compiled-policy maps (layout and
 * meaning in sendguard.h, "Compiled policy") and sg_policy_judge(), shared by
 * every sendguard BPF program. common/policy_compile.c fills the maps;
 * common/policy_twin.c is a user-space twin of this file (sg_compiled_eval)
 * that the tests compare with the reference evaluator; keep the two in step.
 *
 * Cost per send: two array lookups (active slot, cfg), then per dimension the
 * policy uses one lookup (cmsg: one per control message, cgroup: one per
 * ancestor level up to the deepest cgroup entry, flags: one per set flag bit,
 * dst: up to three) and an AND over cfg.nwords words, then one sg_pol_rules
 * lookup. Nothing depends on the number of rules or CIDRs except nwords
 * (<= 16), and the per-rule checks of rules that match every lookup but fail
 * flags_all/len bounds.
 */
#ifndef SENDGUARD_POLICY_BPF_H
#define SENDGUARD_POLICY_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sendguard.h"
#include "variant.bpf.h"

#define SG_POL_AF_UNIX	1
#define SG_POL_AF_INET	2
#define SG_POL_AF_INET6 10

/* --- maps ------------------------------------------------------------------ */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sg_pol_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct sg_policy_cfg);
} sg_pol_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SG_MAX_RULES);
	__type(key, __u32);
	__type(value, struct sg_rule_rt);
} sg_pol_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SG_ARR_PER_SLOT);
	__type(key, __u32);
	__type(value, struct sg_bitmap);
} sg_pol_arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SG_PCLASS_SPACES * SG_PCLASS_CHUNKS);
	__type(key, __u32);
	__type(value, struct sg_pclass_chunk);
} sg_pol_pclass SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SG_MAX_PORT_CLASSES);
	__type(key, __u32);
	__type(value, struct sg_bitmap);
} sg_pol_portbits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * SG_POL_LPM_PER_SLOT);
	__type(key, struct sg_lpm4_key);
	__type(value, struct sg_bitmap);
} sg_pol_lpm4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * 256);
	__type(key, __u32);
	__type(value, struct sg_v4l1_chunk);
} sg_pol_v4l1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SG_V4_LEAVES);
	__type(key, __u32);
	__type(value, struct sg_bitmap);
} sg_pol_v4leaf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * SG_POL_LPM_PER_SLOT);
	__type(key, struct sg_lpm6_key);
	__type(value, struct sg_bitmap);
} sg_pol_lpm6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * SG_POL_LIST_PER_SLOT);
	__type(key, struct sg_unix_key);
	__type(value, struct sg_bitmap);
} sg_pol_unix SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * SG_POL_LIST_PER_SLOT);
	__type(key, struct sg_comm_key);
	__type(value, struct sg_bitmap);
} sg_pol_comm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * SG_POL_LIST_PER_SLOT);
	__type(key, struct sg_exe_key);
	__type(value, struct sg_bitmap);
} sg_pol_exe SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * SG_POL_ID_PER_SLOT);
	__type(key, struct sg_id_key);
	__type(value, struct sg_bitmap);
} sg_pol_id SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * SG_POL_LIST_PER_SLOT);
	__type(key, struct sg_cgroup_key);
	__type(value, struct sg_bitmap);
} sg_pol_cgroup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * SG_POL_LIST_PER_SLOT);
	__type(key, struct sg_cmsg_key);
	__type(value, struct sg_bitmap);
} sg_pol_cmsg SEC(".maps");

/*
 * Sends failed with EPERM by an enforcement hook, by thread id (sg_denial in
 * sendguard.h): written by the hook, taken by the send's sys_exit program.
 * LRU: an entry nobody takes (a send path the tracepoints do not see) ages out.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct sg_denial);
} sg_denied SEC(".maps");

/*
 * An enforcement hook (mechanism by: SG_ENF_CGROUP, SG_ENF_LSM) fails a send
 * of thread tid with EPERM, rule of version decided: the note the send's
 * sys_exit program takes to report it.
 */
static __always_inline void sg_note_denial(__u32 tid, __u16 rule, __u32 version, __u8 by)
{
	struct sg_denial d = { .enforced_by = by, .rule = rule, .version = version };

	bpf_map_update_elem(&sg_denied, &tid, &d, BPF_ANY);
}

/* The same for a call no exit program reports (a connect): e, judged, becomes its event. */
static __always_inline void sg_stamp_denial(struct sg_event *e, __u16 rule, __u32 version, __u8 by)
{
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->ret = -1;
	e->err = SG_EPERM;
	e->policy_version = version;
	e->rule = rule;
	e->verdict = SG_VERDICT_DENY;
	e->enforced_by = by;
}

/* The arguments of one send call, from the saved user registers. */
struct sg_call {
	__u64 ts_ns;
	__u64 buf; /* sendto buf, sendmsg msghdr, sendmmsg mmsghdr vector */
	__u64 len; /* sendto len, sendmmsg vlen */
	__u64 addr; /* sendto dest_addr */
	__s32 addrlen;
	__s32 fd;
	__u32 flags;
	__u32 syscall;
};

/*
 * SG_VAR_COMPAT: the arguments of the send each thread is in, saved by the
 * sys_enter programs (trace.bpf.c) for sys_exit. The compat cgroup hooks look
 * here to tell a connect inside a send (TCP Fast Open) from a connect().
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct sg_call);
} sg_calls SEC(".maps");

/* See struct sg_unix_reach in sendguard.h. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct sg_unix_reach);
} sg_unix_reached SEC(".maps");

/* The destination of a send as the dst/port/unix dimensions see it. */
struct sg_pol_dest {
	__u32 inet; /* 4 (also for ::ffff:a.b.c.d), 6, or 0: not inet */
	__u32 port;
	const __u8 *addr; /* inet: 4 or 16 bytes inside e->addr */
};

/* Per-CPU working memory of one evaluation (keeps the stack small). */
struct sg_pol_scratch {
	/*
	 * The window of words of acc still worth looking at: [lo, hi). It starts
	 * as the policy's words and shrinks to the non-zero words after every
	 * AND, so a selective key (a destination hit, a uid) makes every later
	 * step cost a word or two whatever the number of rules.
	 */
	__u32 lo;
	__u32 hi;
	__u32 fresh; /* acc not written yet: the first AND copies */
	__u32 nlo; /* the next window, collected during an AND */
	__u32 nhi;
	__u32 pad;
	struct sg_bitmap acc; /* rules still possible */
	struct sg_bitmap tmp; /* OR of the hits of one dimension */
	struct sg_bitmap none; /* flags_none: rules ruled out */
	union {
		struct sg_lpm4_key lpm4;
		struct sg_lpm6_key lpm6;
		struct sg_unix_key unix;
		struct sg_id_key id;
		struct sg_comm_key comm;
		struct sg_exe_key exe;
		struct sg_cgroup_key cgroup;
		struct sg_cmsg_key cmsg;
	} key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_pol_scratch);
} sg_pol_scratch SEC(".maps");

/* --- bitmap helpers ------------------------------------------------------- */

/*
 * The window bounds, re-read from memory at every word: a loop bounded by a
 * register would leave a differently refined copy of it live on each of its
 * 16 exits, and the verifier would walk the rest of the evaluation 16 times.
 * For the same reason the next window is collected in scratch memory, which
 * the verifier does not track, not in registers.
 */
#define SG_POL_LO(s) (*(volatile const __u32 *)&(s)->lo)
/*
 * The word index of a window loop, masked and hidden from the compiler: the
 * loop starts at a bound read from memory, and clang would otherwise turn the
 * index into a pointer walked from an unknown start, which the verifier
 * cannot bound.
 */
#define SG_POL_W(w)                       \
	({                                \
		__u32 __w = (w);          \
		barrier_var(__w);         \
		__w &(SG_RULE_WORDS - 1); \
	})
#define SG_POL_HI(s) (*(volatile const __u32 *)&(s)->hi)
/*
 * For each word w of the window [lo, hi): the loop is bounded by a counter n
 * that starts at a constant (w starts at lo, read from memory: the verifiers
 * of 5.10 and 6.1 cannot bound a loop on it and walk it until they give up).
 */
#define SG_POL_FOR_WINDOW(s, n, w) \
	for (n = 0, w = SG_POL_LO(s); n < SG_RULE_WORDS && w < SG_POL_HI(s); n++, w++)

/*
 * acc &= (a | b) over the window (b may be NULL; while acc is fresh, acc = a | b),
 * then shrink the window to the words left non-zero. Returns whether any bit is left.
 */
static __always_inline __u64 sg_bm_and2(struct sg_bitmap *acc, const struct sg_bitmap *a,
					const struct sg_bitmap *b, struct sg_pol_scratch *s)
{
	__u64 v;
	__u32 w, n;

	s->nlo = SG_RULE_WORDS;
	s->nhi = 0;
	SG_POL_FOR_WINDOW (s, n, w) {
		v = a->w[SG_POL_W(w)];
		if (b)
			v |= b->w[SG_POL_W(w)];
		if (!s->fresh)
			v &= acc->w[SG_POL_W(w)];
		acc->w[SG_POL_W(w)] = v;
		if (v) {
			if (s->nlo == SG_RULE_WORDS)
				s->nlo = w;
			s->nhi = w + 1;
		}
	}
	s->fresh = 0;
	if (!s->nhi) {
		s->lo = 0;
		s->hi = 0;
		return 0;
	}
	s->lo = s->nlo;
	s->hi = s->nhi;
	return 1;
}

/* acc &= m; see sg_bm_and2. */
static __always_inline __u64 sg_bm_and(struct sg_bitmap *acc, const struct sg_bitmap *m,
				       struct sg_pol_scratch *s)
{
	return sg_bm_and2(acc, m, NULL, s);
}

/* acc &= ~m over the window (acc is not fresh); returns whether any bit is left. */
static __always_inline __u64 sg_bm_andnot(struct sg_bitmap *acc, const struct sg_bitmap *m,
					  const struct sg_pol_scratch *s)
{
	__u64 any = 0;
	__u32 w, n;

	SG_POL_FOR_WINDOW (s, n, w) {
		acc->w[SG_POL_W(w)] &= ~m->w[SG_POL_W(w)];
		any |= acc->w[SG_POL_W(w)];
	}
	return any;
}

/* acc |= m over the window. */
static __always_inline void sg_bm_or(struct sg_bitmap *acc, const struct sg_bitmap *m,
				     const struct sg_pol_scratch *s)
{
	__u32 w, n;

	SG_POL_FOR_WINDOW (s, n, w) {
		acc->w[SG_POL_W(w)] |= m->w[SG_POL_W(w)];
	}
}

/* acc = m over the window. */
static __always_inline void sg_bm_copy(struct sg_bitmap *acc, const struct sg_bitmap *m,
				       const struct sg_pol_scratch *s)
{
	__u32 w, n;

	SG_POL_FOR_WINDOW (s, n, w) {
		acc->w[SG_POL_W(w)] = m->w[SG_POL_W(w)];
	}
}

/*
 * Index of the lowest set bit of x != 0 (no ctz instruction in BPF): the
 * lowest bit alone, times a de Bruijn sequence, has a distinct top 6 bits for
 * each position. No branch: the verifier walks it once per state, not once
 * per path through a binary search.
 */
static const volatile __u8 sg_ctz_tab[64] = {
	0,  1,	56, 2,	57, 49, 28, 3,	61, 58, 42, 50, 38, 29, 17, 4,	62, 47, 59, 36, 45, 43,
	51, 22, 53, 39, 33, 30, 24, 18, 12, 5,	63, 55, 48, 27, 60, 41, 37, 16, 46, 35, 44, 21,
	52, 32, 23, 11, 54, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9,	13, 8,	7,  6,
};

static __always_inline __u32 sg_bm_ctz(__u64 x)
{
	return sg_ctz_tab[((x & -x) * 0x03f79d71b4ca8b09ULL) >> 58];
}

/*
 * The ORs of the dimensions that OR several hits (flags_any/flags_none per
 * set flag bit, cgroup per ancestor level, cmsg per control message), as a
 * global function of scalars. Inline, the verifier walked the 16-word window
 * loop once per pass of the enclosing loop for every state the evaluator
 * reached it in: over a third of the ~280,000 instructions it walked for
 * each program that judges. A global function is walked once per program,
 * apart from its callers. Kernels before 5.12 take only scalars as arguments
 * of a global function, so the bitmap is named by where to look it up.
 * The ANDs stay inline: they run on every judged send (a call costs more
 * there than the verifier's time is worth, see docs/design.md).
 */
#define SG_OR_DFLT_TMP 0 /* s->tmp = cfg->dflt[k] */
#define SG_OR_ARR_TMP  1 /* s->tmp |= sg_pol_arr[k] */
#define SG_OR_ARR_NONE 2 /* s->none |= sg_pol_arr[k] */
#define SG_OR_CGROUP   3 /* s->tmp |= sg_pol_cgroup[s->key.cgroup] */
#define SG_OR_CMSG     4 /* s->tmp |= sg_pol_cmsg[s->key.cmsg] */

/* cfg->dflt[dim], bounded for the verifier (dim >= SG_NDIMS: dflt[0]). */
static __always_inline const struct sg_bitmap *sg_pol_dflt(const struct sg_policy_cfg *cfg,
							   __u32 dim)
{
	__u64 d = dim;

	barrier_var(d);
	if (d >= SG_NDIMS)
		d = 0;
	barrier_var(d);
	return &cfg->dflt[d];
}

/* One of SG_OR_* on slot's entries, over the window. Nothing found: nothing done. */
__noinline __u32 sg_pol_or(__u32 slot, __u32 op, __u32 k)
{
	const struct sg_policy_cfg *cfg;
	const struct sg_bitmap *m = NULL;
	struct sg_pol_scratch *s;
	__u32 zero = 0;

	slot &= 1;
	cfg = bpf_map_lookup_elem(&sg_pol_cfg, &slot);
	s = bpf_map_lookup_elem(&sg_pol_scratch, &zero);
	if (!cfg || !s)
		return 0;
	if (op == SG_OR_DFLT_TMP) {
		sg_bm_copy(&s->tmp, sg_pol_dflt(cfg, k), s);
		return 0;
	}
	if (op == SG_OR_ARR_TMP || op == SG_OR_ARR_NONE)
		m = bpf_map_lookup_elem(&sg_pol_arr, &k);
	else if (op == SG_OR_CGROUP)
		m = bpf_map_lookup_elem(&sg_pol_cgroup, &s->key.cgroup);
	else if (op == SG_OR_CMSG)
		m = bpf_map_lookup_elem(&sg_pol_cmsg, &s->key.cmsg);
	if (m)
		sg_bm_or(op == SG_OR_ARR_NONE ? &s->none : &s->tmp, m, s);
	return 0;
}

/* --- lookups ---------------------------------------------------------------- */

/* sg_pol_arr entry of value v (v < max) of one small dimension, or the default. */
static __always_inline const struct sg_bitmap *sg_pol_arr_get(const struct sg_policy_cfg *cfg,
							      __u32 slot, __u32 dim, __u32 off,
							      __u32 v, __u32 max)
{
	const struct sg_bitmap *m = NULL;
	__u32 k;

	if (v < max) {
		k = slot * SG_ARR_PER_SLOT + off + v;
		m = bpf_map_lookup_elem(&sg_pol_arr, &k);
	}
	return m ? m : &cfg->dflt[dim];
}

static __always_inline const struct sg_bitmap *sg_pol_id_get(struct sg_pol_scratch *s,
							     const struct sg_policy_cfg *cfg,
							     __u32 slot, __u32 dim, __u32 kind,
							     __u32 id)
{
	struct sg_id_key *k = &s->key.id;
	const struct sg_bitmap *m;

	k->slot = slot;
	k->kind = kind;
	k->id = id;
	m = bpf_map_lookup_elem(&sg_pol_id, k);
	return m ? m : &cfg->dflt[dim];
}

/* The port class of port in class space space; 0 when the map is not there. */
static __always_inline __u32 sg_pol_pclass_get(__u32 slot, __u32 space, __u32 port)
{
	__u32 k = (slot * SG_PCLASS_SPACES + space) * SG_PCLASS_CHUNKS + (port >> 8 & 0xff);
	const struct sg_pclass_chunk *c = bpf_map_lookup_elem(&sg_pol_pclass, &k);

	return c ? c->c[port & 0xff] : 0;
}

static __always_inline void sg_pol_decode(const struct sg_event *e, struct sg_pol_dest *d)
{
	__u32 len = e->addr_len < SG_ADDR_MAX ? e->addr_len : SG_ADDR_MAX;
	__u16 family = *(const __u16 *)e->addr;

	d->inet = 0;
	d->port = (__u32)e->addr[2] << 8 | e->addr[3];
	d->addr = &e->addr[4];
	if (len < 2)
		return;
	if (family == SG_POL_AF_INET && len >= 8) {
		d->inet = 4;
	} else if (family == SG_POL_AF_INET6 && len >= 24) {
		const __u32 *a = (const __u32 *)&e->addr[8];

		if (a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff)) {
			d->inet = 4;
			d->addr = &e->addr[20];
		} else {
			d->inet = 6;
			d->addr = &e->addr[8];
		}
	}
}

/*
 * dst: the entries for every port (SG_PCLASS_ANY) and those of the port's
 * class, OR-ed; each hit includes dflt[DST]. Returns the bitmap to AND, which
 * may be s->tmp.
 */
/* The dst bitmap, or two (*second non-NULL) whose OR it is. */
static __always_inline const struct sg_bitmap *
sg_pol_dst(struct sg_pol_scratch *s, const struct sg_policy_cfg *cfg, __u32 slot,
	   const struct sg_pol_dest *d, const struct sg_bitmap **second, __u32 *win)
{
	const struct sg_bitmap *any = NULL, *cls = NULL;
	__u32 dl = cfg->dst_lookups, pc;

	if (d->inet == 4) {
		struct sg_lpm4_key *k = &s->key.lpm4;

		k->prefixlen = 8 + 16 + 32;
		k->slot = slot;
		__builtin_memcpy(k->addr, d->addr, 4);
		if (dl & SG_DSTL_V4_ANY) {
			__u32 v = SG_V4L1_LPM;

			/* The /16 index first: a trie walk only where longer prefixes are. */
			if (dl & SG_DSTL_V4_L1) {
				__u32 ck = slot * 256 + d->addr[0];
				const struct sg_v4l1_chunk *ch =
					bpf_map_lookup_elem(&sg_pol_v4l1, &ck);

				v = ch ? ch->v[d->addr[1]] : SG_V4L1_LPM;
			}
			k->pclass[0] = SG_PCLASS_ANY >> 8;
			k->pclass[1] = SG_PCLASS_ANY & 0xff;
			if (v == SG_V4L1_LPM) {
				any = bpf_map_lookup_elem(&sg_pol_lpm4, k);
			} else if (v >= SG_V4L1_LEAF0) {
				__u32 lk = slot * SG_V4_LEAVES +
					   ((SG_V4L1_ID(v) - SG_V4L1_LEAF0) & (SG_V4_LEAVES - 1));

				any = bpf_map_lookup_elem(&sg_pol_v4leaf, &lk);
				if (any)
					*win = v;
			}
		}
		if (dl & SG_DSTL_V4_CLASS) {
			pc = sg_pol_pclass_get(slot, SG_PCLASS_V4, d->port);
			k->pclass[0] = pc >> 8;
			k->pclass[1] = pc & 0xff;
			/* No dst port range covers this port: nothing to find. */
			if (pc != SG_PCLASS_NONE)
				cls = bpf_map_lookup_elem(&sg_pol_lpm4, k);
		}
	} else if (d->inet == 6) {
		struct sg_lpm6_key *k = &s->key.lpm6;

		k->prefixlen = 8 + 16 + 128;
		k->slot = slot;
		__builtin_memcpy(k->addr, d->addr, 16);
		if (dl & SG_DSTL_V6_ANY) {
			k->pclass[0] = SG_PCLASS_ANY >> 8;
			k->pclass[1] = SG_PCLASS_ANY & 0xff;
			any = bpf_map_lookup_elem(&sg_pol_lpm6, k);
		}
		if (dl & SG_DSTL_V6_CLASS) {
			pc = sg_pol_pclass_get(slot, SG_PCLASS_V6, d->port);
			k->pclass[0] = pc >> 8;
			k->pclass[1] = pc & 0xff;
			/* No dst port range covers this port: nothing to find. */
			if (pc != SG_PCLASS_NONE)
				cls = bpf_map_lookup_elem(&sg_pol_lpm6, k);
		}
	}
	*second = NULL;
	if (cls)
		*win = 0; /* the OR may have bits outside the leaf's words */
	if (any && cls) {
		*second = cls;
		return any;
	}
	if (any)
		return any;
	if (cls)
		return cls;
	return &cfg->dflt[SG_DIM_DST];
}

/* port: the class's bitmap (includes dflt[PORT]) for inet destinations. */
static __always_inline const struct sg_bitmap *sg_pol_port(const struct sg_policy_cfg *cfg,
							   __u32 slot, const struct sg_pol_dest *d)
{
	const struct sg_bitmap *m = NULL;
	__u32 k;

	if (d->inet) {
		k = slot * SG_MAX_PORT_CLASSES +
		    (sg_pol_pclass_get(slot, SG_PCLASS_PORT, d->port) & (SG_MAX_PORT_CLASSES - 1));
		m = bpf_map_lookup_elem(&sg_pol_portbits, &k);
	}
	return m ? m : &cfg->dflt[SG_DIM_PORT];
}

/* unix: see sg_unix_key in sendguard.h for the three kinds of lookup. */
static __always_inline const struct sg_bitmap *sg_pol_unix_get(struct sg_pol_scratch *s,
							       const struct sg_policy_cfg *cfg,
							       __u32 slot, const struct sg_event *e)
{
	struct sg_unix_key *k = &s->key.unix;
	const struct sg_bitmap *m = NULL;
	__u32 len = e->addr_len < SG_ADDR_MAX ? e->addr_len : SG_ADDR_MAX;
	__u32 n;

	if (len <= 2 || *(const __u16 *)e->addr != SG_POL_AF_UNIX)
		return &cfg->dflt[SG_DIM_UNIX];
	k->slot = slot;
	if (e->addr[2]) {
		n = len - 2;
		k->kind = SG_UNIX_KEY_PATH;
		__builtin_memcpy(k->name, &e->addr[2], SG_UNIX_NAME_MAX + 1);
		if (n <= SG_UNIX_NAME_MAX) {
			k->name[n] = 0;
			k->prefixlen = 16 + 8 * (n + 1);
		} else {
			k->prefixlen = 16 + 8 * (SG_UNIX_NAME_MAX + 1);
		}
		m = bpf_map_lookup_elem(&sg_pol_unix, k);
		return m ? m : &cfg->dflt[SG_DIM_UNIX];
	}
	n = len - 3;
	if (n < SG_UNIX_NAME_MAX) {
		k->kind = SG_UNIX_KEY_ABSTRACT_EXACT;
		k->name[0] = n;
		__builtin_memcpy(&k->name[1], &e->addr[3], SG_UNIX_NAME_MAX);
		k->prefixlen = 16 + 8 * (1 + n);
		m = bpf_map_lookup_elem(&sg_pol_unix, k);
		if (m)
			return m;
	}
	k->kind = SG_UNIX_KEY_ABSTRACT;
	__builtin_memcpy(k->name, &e->addr[3], SG_UNIX_NAME_MAX + 1);
	k->prefixlen = 16 + 8 * n;
	m = bpf_map_lookup_elem(&sg_pol_unix, k);
	return m ? m : &cfg->dflt[SG_DIM_UNIX];
}

static __always_inline const struct sg_bitmap *sg_pol_comm_get(struct sg_pol_scratch *s,
							       const struct sg_policy_cfg *cfg,
							       __u32 slot, const struct sg_event *e)
{
	struct sg_comm_key *k = &s->key.comm;
	const struct sg_bitmap *m;
	bool end = false;
	int i;

	k->slot = slot;
	/* NUL-pad after the first NUL, as the compiler stores names. */
	for (i = 0; i < SG_COMM_LEN - 1; i++) {
		if (!e->comm[i])
			end = true;
		k->comm[i] = end ? 0 : e->comm[i];
	}
	k->comm[SG_COMM_LEN - 1] = 0;
	m = bpf_map_lookup_elem(&sg_pol_comm, k);
	return m ? m : &cfg->dflt[SG_DIM_COMM];
}

static __always_inline const struct sg_bitmap *sg_pol_exe_get(struct sg_pol_scratch *s,
							      const struct sg_policy_cfg *cfg,
							      __u32 slot, const struct sg_event *e)
{
	struct sg_exe_key *k = &s->key.exe;
	const struct sg_bitmap *m = NULL;

	k->slot = slot;
	k->dev = e->exe_dev;
	k->ino = e->exe_ino;
	if (e->flags & SG_EF_EXE)
		m = bpf_map_lookup_elem(&sg_pol_exe, k);
	return m ? m : &cfg->dflt[SG_DIM_EXE];
}

/* cmsg: OR of the hits of every control message (each includes dflt[CMSG]). */
static __always_inline const struct sg_bitmap *sg_pol_cmsg_get(struct sg_pol_scratch *s,
							       const struct sg_policy_cfg *cfg,
							       __u32 slot, const struct sg_event *e)
{
	struct sg_cmsg_key *k = &s->key.cmsg;
	__u32 i, n = 0;

	if (e->flags & SG_EF_CONTROL)
		n = e->ncmsgs;
	if (!n)
		return &cfg->dflt[SG_DIM_CMSG];
	sg_pol_or(slot, SG_OR_DFLT_TMP, SG_DIM_CMSG);
	k->slot = slot;
	for (i = 0; i < SG_MAX_CMSGS && i < n; i++) {
		k->level = e->cmsgs[i].level;
		k->type = e->cmsgs[i].type;
		sg_pol_or(slot, SG_OR_CMSG, 0);
	}
	return &s->tmp;
}

/* struct cgroup before 6.1 (CO-RE flavor): ancestor ids instead of pointers. */
struct cgroup___ids {
	int level;
	__u64 ancestor_ids[];
} __attribute__((preserve_access_index));

/*
 * The id of the current task's cgroup v2 ancestor at level lv (root: 0), 0
 * above its own level: bpf_get_current_ancestor_cgroup_id(), which tracing
 * programs lack before 5.14, read from task->cgroups->dfl_cgrp for
 * SG_VAR_COMPAT.
 */
static __always_inline __u64 sg_pol_ancestor(__u32 lv, const int v)
{
	struct task_struct *task;
	struct cgroup *cg, *a = NULL;
	__u64 id = 0;

	if (v != SG_VAR_COMPAT)
		return bpf_get_current_ancestor_cgroup_id(lv);
	task = (struct task_struct *)bpf_get_current_task();
	cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	if (!cg || lv > (__u32)BPF_CORE_READ(cg, level))
		return 0;
	if (bpf_core_field_exists(struct cgroup___ids, ancestor_ids)) {
		bpf_probe_read_kernel(
			&id, sizeof(id),
			(void *)cg + bpf_core_field_offset(struct cgroup___ids, ancestor_ids) +
				(__u64)lv * sizeof(__u64));
		return id;
	}
	bpf_probe_read_kernel(&a, sizeof(a),
			      (void *)cg + bpf_core_field_offset(struct cgroup, ancestors) +
				      (__u64)lv * sizeof(a));
	return a ? BPF_CORE_READ(a, kn, id) : 0;
}

/*
 * cgroup: OR of the hits of the sender's cgroup and its ancestors (level 0 is
 * the root), up to the deepest level a cgroup entry can be at.
 */
static __always_inline const struct sg_bitmap *sg_pol_cgroup_get(struct sg_pol_scratch *s,
								 const struct sg_policy_cfg *cfg,
								 __u32 slot, const int v)
{
	struct sg_cgroup_key *k = &s->key.cgroup;
	__u64 self = bpf_get_current_cgroup_id(), id;
	__u32 lv, levels = cfg->cgroup_levels;

	sg_pol_or(slot, SG_OR_DFLT_TMP, SG_DIM_CGROUP);
	k->slot = slot;
	k->pad = 0;
	for (lv = 0; lv < SG_MAX_CGROUP_DEPTH && lv < levels; lv++) {
		id = sg_pol_ancestor(lv, v);
		if (!id)
			break;
		k->id = id;
		sg_pol_or(slot, SG_OR_CGROUP, 0);
		if (id == self)
			break;
	}
	return &s->tmp;
}

/* flags_all and len bounds of rule i (always hold for rules without them). */
static __always_inline bool sg_pol_post_ok(const struct sg_rule_rt *rt, __u32 msg_flags, __u64 len)
{
	return (msg_flags & rt->flags_all) == rt->flags_all && len >= rt->len_min &&
	       len <= rt->len_max;
}

/*
 * The candidate at the lowest set bit of x (x != 0), word w of acc: sets *i
 * to its rule number and returns its per-rule entry (NULL when missing).
 */
static __always_inline const struct sg_rule_rt *sg_pol_lowest_rule(__u32 slot, __u32 w, __u64 x,
								   __u32 *i)
{
	__u32 k;

	*i = (w & (SG_RULE_WORDS - 1)) * 64 + sg_bm_ctz(x);
	k = (slot & 1) * SG_MAX_RULES + (*i & (SG_MAX_RULES - 1));
	return bpf_map_lookup_elem(&sg_pol_rules, &k);
}

/*
 * The first rule of word w of acc (in sg_pol_scratch) that passes its
 * per-rule checks: at most 64 candidates, one lookup each. Returns
 * action << 16 | rule, or SG_NO_RULE. A global function of scalars: the
 * verifier walks its loop once per program, not once per path of the
 * evaluator that reaches it, and every kernel takes it.
 */
__noinline __u32 sg_pol_post_word(__u32 slot, __u32 w, __u32 msg_flags, __u64 len)
{
	const struct sg_rule_rt *rt;
	struct sg_pol_scratch *s;
	__u32 zero = 0, b, i;
	__u64 x;

	s = bpf_map_lookup_elem(&sg_pol_scratch, &zero);
	if (!s)
		return SG_NO_RULE;
	x = s->acc.w[w & (SG_RULE_WORDS - 1)];
	for (b = 0; b < 64; b++) {
		if (!x)
			break;
		rt = sg_pol_lowest_rule(slot, w, x, &i);
		if (!rt)
			break;
		if (sg_pol_post_ok(rt, msg_flags, len))
			return (__u32)rt->action << 16 | i;
		x &= x - 1;
	}
	return SG_NO_RULE;
}

/* acc &= m, and return 0 (no rule left) when nothing is left. */
#define SG_POL_AND(m)                            \
	do {                                     \
		if (!sg_bm_and(&s->acc, (m), s)) \
			return 0;                \
	} while (0)

/* The outcome of one evaluation. */
struct sg_pol_result {
	__u32 version; /* sg_policy_cfg.version of the slot that judged */
	__u16 rule; /* first matching rule, SG_NO_RULE: the default decided */
	__u8 verdict; /* SG_VERDICT_* */
	__u8 pad;
};

/* dst and port, on the destination decoded once. Returns whether any rule is left. */
static __always_inline bool sg_pol_and_dest(struct sg_pol_scratch *s,
					    const struct sg_policy_cfg *cfg, __u32 slot,
					    const struct sg_event *e, __u32 dims)
{
	const struct sg_bitmap *m, *m2;
	struct sg_pol_dest dest;

	sg_pol_decode(e, &dest);
	if (dims & 1u << SG_DIM_DST) {
		__u32 win = 0;

		m = sg_pol_dst(s, cfg, slot, &dest, &m2, &win);
		/* A leaf of the /16 index says where its bits are: AND only there. */
		if (win) {
			if (SG_V4L1_LO(win) > s->lo)
				s->lo = SG_V4L1_LO(win);
			if (SG_V4L1_HI(win) < s->hi)
				s->hi = SG_V4L1_HI(win);
			if (s->lo >= s->hi)
				return 0;
		}
		if (!(m2 ? sg_bm_and2(&s->acc, m, m2, s) : sg_bm_and(&s->acc, m, s)))
			return 0;
	}
	if (dims & 1u << SG_DIM_PORT)
		SG_POL_AND(sg_pol_port(cfg, slot, &dest));
	return 1;
}

/*
 * flags_any: OR per set bit; flags_none: remove the OR per set bit. Returns
 * whether any rule is left.
 */
static __always_inline bool sg_pol_and_flags(struct sg_pol_scratch *s,
					     const struct sg_policy_cfg *cfg, __u32 slot, __u32 f)
{
	__u32 b;

	/* No flag (most sends): only the rules without flags_any; flags_none removes nothing. */
	if (!f)
		return sg_bm_and(&s->acc, &cfg->dflt[SG_DIM_FLAGS_ANY], s);
	sg_pol_or(slot, SG_OR_DFLT_TMP, SG_DIM_FLAGS_ANY);
	__builtin_memset(&s->none, 0, sizeof(s->none));
	for (b = 0; b < 32; b++) {
		if (!(f >> b))
			break;
		if (!(f >> b & 1))
			continue;
		sg_pol_or(slot, SG_OR_ARR_TMP, slot * SG_ARR_PER_SLOT + SG_ARR_FLAGANY_OFF + b);
		sg_pol_or(slot, SG_OR_ARR_NONE, slot * SG_ARR_PER_SLOT + SG_ARR_FLAGNONE_OFF + b);
	}
	SG_POL_AND(&s->tmp);
	return sg_bm_andnot(&s->acc, &s->none, s);
}

/*
 * The lowest bit left decides if its rule's checks hold; if they do not, the
 * search goes on word by word (at most nrules candidates). Sets res->rule
 * and res->verdict when a rule decides.
 */
static __always_inline void sg_pol_first_rule(struct sg_pol_scratch *s, __u32 slot,
					      const struct sg_event *e, __u32 mode,
					      struct sg_pol_result *res)
{
	const struct sg_rule_rt *rt;
	__u32 w, n, i;
	__u64 x = 0;

	SG_POL_FOR_WINDOW (s, n, w) {
		x = s->acc.w[SG_POL_W(w)];
		if (x)
			break;
	}
	if (!x)
		return;
	w = SG_POL_W(w);
	rt = sg_pol_lowest_rule(slot, w, x, &i);
	if (!rt)
		return;
	/* Hooks cannot see flags_all/len: such a rule is uncertain, it stops the search. */
	if (mode == SG_EVAL_HOOK || sg_pol_post_ok(rt, e->msg_flags, e->len)) {
		res->rule = i;
		res->verdict = rt->action;
		return;
	}
	/* It failed: search on, word by word (at most nrules candidates). */
	s->acc.w[w] = x & (x - 1);
	for (n = 0; n < SG_RULE_WORDS && w < SG_POL_HI(s); n++, w++) {
		i = sg_pol_post_word(slot, w, e->msg_flags, e->len);
		if (i != SG_NO_RULE) {
			res->rule = i & 0xffff;
			res->verdict = i >> 16;
			break;
		}
	}
}

/* The evaluator proper; see sg_policy_judge(). */
static __always_inline int sg_policy_eval_body(const struct sg_event *e, struct sg_pol_result *res,
					       __u32 mode, const int v)
{
	const struct sg_policy_cfg *cfg;
	struct sg_pol_scratch *s;
	__u32 zero = 0, slot, nw, dims;
	__u32 *active;

	if (!res)
		return -1;
	res->rule = SG_NO_RULE;
	res->verdict = SG_VERDICT_ALLOW;
	res->version = 0;
	if (!e)
		return -1;
	active = bpf_map_lookup_elem(&sg_pol_active, &zero);
	if (!active)
		return -1;
	slot = *active & 1;
	cfg = bpf_map_lookup_elem(&sg_pol_cfg, &slot);
	s = bpf_map_lookup_elem(&sg_pol_scratch, &zero);
	if (!cfg || !s)
		return -1;
	res->version = cfg->version;
	res->verdict = cfg->default_verdict;
	nw = cfg->nwords;
	if (nw > SG_RULE_WORDS)
		nw = SG_RULE_WORDS;
	if (!nw)
		return 0;
	s->lo = 0;
	s->hi = nw;
	s->fresh = 1;
	dims = cfg->dims;
	if (mode == SG_EVAL_HOOK)
		dims &= ~SG_HOOK_HIDDEN_DIMS;

	/* The keys that usually pick few rules first: they shrink the window. */
	if (dims & (1u << SG_DIM_DST | 1u << SG_DIM_PORT) &&
	    !sg_pol_and_dest(s, cfg, slot, e, dims))
		return 0;
	if (dims & 1u << SG_DIM_UNIX)
		SG_POL_AND(sg_pol_unix_get(s, cfg, slot, e));
	if (dims & 1u << SG_DIM_UID)
		SG_POL_AND(sg_pol_id_get(s, cfg, slot, SG_DIM_UID, SG_ID_UID, e->uid));
	if (dims & 1u << SG_DIM_GID)
		SG_POL_AND(sg_pol_id_get(s, cfg, slot, SG_DIM_GID, SG_ID_GID, e->gid));
	if (dims & 1u << SG_DIM_COMM)
		SG_POL_AND(sg_pol_comm_get(s, cfg, slot, e));
	if (dims & 1u << SG_DIM_EXE)
		SG_POL_AND(sg_pol_exe_get(s, cfg, slot, e));
	if (dims & 1u << SG_DIM_CGROUP)
		SG_POL_AND(sg_pol_cgroup_get(s, cfg, slot, v));
	if (dims & 1u << SG_DIM_CMSG)
		SG_POL_AND(sg_pol_cmsg_get(s, cfg, slot, e));
	if (dims & 1u << SG_DIM_SYSCALL)
		SG_POL_AND(sg_pol_arr_get(cfg, slot, SG_DIM_SYSCALL, SG_ARR_SYSCALL_OFF, e->syscall,
					  SG_ARR_SYSCALL_MAX));
	if (dims & 1u << SG_DIM_FAMILY)
		SG_POL_AND(sg_pol_arr_get(cfg, slot, SG_DIM_FAMILY, SG_ARR_FAMILY_OFF,
					  e->flags & SG_EF_SOCK ? e->sock_family : ~0u,
					  SG_ARR_FAMILY_MAX));
	if (dims & 1u << SG_DIM_TYPE)
		SG_POL_AND(sg_pol_arr_get(cfg, slot, SG_DIM_TYPE, SG_ARR_TYPE_OFF,
					  e->flags & SG_EF_SOCK ? e->sock_type : ~0u,
					  SG_ARR_TYPE_MAX));
	if (dims & 1u << SG_DIM_PROTOCOL) {
		if (!(e->flags & SG_EF_SOCK))
			SG_POL_AND(&cfg->dflt[SG_DIM_PROTOCOL]);
		else if (e->sock_protocol < SG_ARR_PROTO_MAX)
			SG_POL_AND(sg_pol_arr_get(cfg, slot, SG_DIM_PROTOCOL, SG_ARR_PROTO_OFF,
						  e->sock_protocol, SG_ARR_PROTO_MAX));
		else
			SG_POL_AND(sg_pol_id_get(s, cfg, slot, SG_DIM_PROTOCOL, SG_ID_PROTO,
						 e->sock_protocol));
	}
	if (dims & (1u << SG_DIM_FLAGS_ANY | 1u << SG_DIM_FLAGS_NONE) &&
	    !sg_pol_and_flags(s, cfg, slot, e->msg_flags))
		return 0;
	/* Rules that exist (and the whole policy when no key narrowed it). */
	SG_POL_AND(&cfg->all);

	/* Hooks: drop the uncertain deny/kill rules; the first one left decides. */
	if (mode == SG_EVAL_HOOK && !sg_bm_andnot(&s->acc, &cfg->hook_skip, s))
		return 0;
	sg_pol_first_rule(s, slot, e, mode, res);
	return 0;
}

#undef SG_POL_AND

/*
 * SG_VAR_BTF and SG_VAR_CORE: a global function, so the verifier checks it
 * once per program, apart from its callers' states.
 */
__noinline int sg_policy_eval_event(const struct sg_event *e, struct sg_pol_result *res, __u32 mode)
{
	return sg_policy_eval_body(e, res, mode, SG_VAR_BTF);
}

/*
 * SG_VAR_COMPAT: kernels before 5.12 take only scalars as arguments of a
 * global function, so the send to judge is in sg_pol_input (the caller
 * builds it there: sg_pol_input_event()) and the result comes back packed:
 * version << 32 | rule << 8 | verdict.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_event);
} sg_pol_input SEC(".maps");

static __always_inline struct sg_event *sg_pol_input_event(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sg_pol_input, &zero);
}

__noinline __u64 sg_policy_eval_compat(__u32 mode)
{
	struct sg_pol_result res = { .rule = SG_NO_RULE };
	struct sg_event *e = sg_pol_input_event();

	sg_policy_eval_body(e, &res, mode, SG_VAR_COMPAT);
	return (__u64)res.version << 32 | (__u32)res.rule << 8 | res.verdict;
}

/* Evaluate e (for SG_VAR_COMPAT: sg_pol_input_event()) in mode, variant v. */
static __always_inline int sg_policy_eval(const struct sg_event *e, struct sg_pol_result *res,
					  __u32 mode, const int v)
{
	__u64 r;

	if (v != SG_VAR_COMPAT)
		return sg_policy_eval_event(e, res, mode);
	r = sg_policy_eval_compat(mode);
	res->version = r >> 32;
	res->rule = r >> 8;
	res->verdict = r;
	return 0;
}

/*
 * Judge the send described by e (the fields a policy matches on: syscall,
 * flags SG_EF_SOCK/SG_EF_CONTROL/SG_EF_EXE, sock_*, addr/addr_len, msg_flags,
 * cmsgs/ncmsgs, len, comm, exe_dev/exe_ino, uid, gid; the cgroup is the
 * current task's) by the active policy slot. e may point to ring buffer,
 * map or stack memory.
 *
 * Sets *rule to the first matching rule, or SG_NO_RULE (== SG_RULE_DEFAULT)
 * when the default decided, *verdict to SG_VERDICT_*, and *version to the
 * version of the policy that judged. Returns 0, or -1 when the policy maps
 * could not be read (then: no rule, allow, version 0).
 */
static __always_inline int sg_policy_judge(const struct sg_event *e, __u16 *rule, __u8 *verdict,
					   __u32 *version, const int v)
{
	struct sg_pol_result res = { .rule = SG_NO_RULE };
	int ret;

	ret = sg_policy_eval(e, &res, SG_EVAL_FULL, v);
	*rule = res.rule;
	*verdict = res.verdict;
	*version = res.version;
	return ret;
}

/*
 * Whether the active policy can make a hook deny anything (sg_policy_cfg.
 * hook_deny): hooks let everything through at once when it cannot, so
 * allow/audit-only policies cost the hooks two array lookups. *dims: the
 * dimensions the policy uses (the hook reads only what they need).
 */
static __always_inline bool sg_policy_hook_can_deny(__u32 *dims)
{
	const struct sg_policy_cfg *cfg;
	__u32 zero = 0, slot, *active;

	active = bpf_map_lookup_elem(&sg_pol_active, &zero);
	if (!active)
		return false;
	slot = *active & 1;
	cfg = bpf_map_lookup_elem(&sg_pol_cfg, &slot);
	if (!cfg || !cfg->hook_deny)
		return false;
	*dims = cfg->dims;
	return true;
}

/*
 * The enforcement hooks' judgement (SG_EVAL_HOOK, see "Enforcement hooks" in
 * sendguard.h) of the send or connect described by e: true when the call is
 * to fail with EPERM; *rule and *version say which rule (SG_NO_RULE: the
 * default) of which version decided. Unreadable maps: false (allow).
 */
static __always_inline bool sg_policy_hook_denies(const struct sg_event *e, __u16 *rule,
						  __u32 *version, const int v)
{
	struct sg_pol_result res = { .rule = SG_NO_RULE };

	if (sg_policy_eval(e, &res, SG_EVAL_HOOK, v))
		return false;
	*rule = res.rule;
	*version = res.version;
	return res.verdict == SG_VERDICT_DENY;
}

#endif /* SENDGUARD_POLICY_BPF_H */
