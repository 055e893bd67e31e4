// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The reference policy evaluator: the meaning of a policy, written as plainly
 * as possible. The BPF evaluator and the seccomp supervisor compile the same
 * policy into lookups; their tests compare against this one.
 */
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "policy_eval.h"

/* The destination of a send, decoded once per evaluation. */
struct dest {
	int family; /* AF_INET (also for mapped IPv6), AF_INET6, AF_UNIX, or 0: none/other */
	uint8_t addr[16]; /* AF_INET: [0..3] */
	uint16_t port;
	/* AF_UNIX */
	bool abstract;
	const uint8_t *name; /* path (up to its NUL) or abstract name */
	size_t name_len; /* 0 and !abstract: unnamed */
};

static void decode_dest(const struct sg_send_desc *d, struct dest *x)
{
	const uint8_t *p = d->addr;
	size_t len = d->addr_len < SG_ADDR_MAX ? d->addr_len : SG_ADDR_MAX;
	sa_family_t family;

	memset(x, 0, sizeof(*x));
	if (len < sizeof(family))
		return;
	memcpy(&family, p, sizeof(family));
	switch (family) {
	case AF_INET:
		/* the same minimum as the event encoder (addr.c) */
		if (len < 8)
			return;
		x->family = AF_INET;
		x->port = (uint16_t)(p[2] << 8 | p[3]);
		memcpy(x->addr, p + 4, 4);
		return;
	case AF_INET6:
		if (len < 24)
			return;
		x->port = (uint16_t)(p[2] << 8 | p[3]);
		if (!memcmp(p + 8, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
			/* ::ffff:a.b.c.d is judged as a.b.c.d, by IPv4 rules only */
			x->family = AF_INET;
			memcpy(x->addr, p + 20, 4);
		} else {
			x->family = AF_INET6;
			memcpy(x->addr, p + 8, 16);
		}
		return;
	case AF_UNIX: {
		const uint8_t *nul;

		x->family = AF_UNIX;
		if (len == 2)
			return; /* unnamed */
		if (p[2] == 0) {
			x->abstract = true;
			x->name = p + 3;
			x->name_len = len - 3;
			return;
		}
		x->name = p + 2;
		nul = memchr(p + 2, 0, len - 2);
		x->name_len = nul ? (size_t)(nul - (p + 2)) : len - 2;
		return;
	}
	default:
		return;
	}
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned int plen)
{
	unsigned int full = plen / 8, rest = plen % 8;

	if (memcmp(a, net, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool dst_matches(const struct sg_policy_rule *r, const struct dest *x)
{
	uint32_t i;

	for (i = 0; i < r->ndst; i++) {
		const struct sg_policy_dst *e = &r->dst[i];

		if (e->family == x->family && x->port >= e->port_lo && x->port <= e->port_hi &&
		    prefix_match(x->addr, e->addr, e->prefix_len))
			return true;
	}
	return false;
}

static bool port_matches(const struct sg_policy_rule *r, const struct dest *x)
{
	uint32_t i;

	for (i = 0; i < r->nports; i++) {
		if (x->port >= r->ports[i].lo && x->port <= r->ports[i].hi)
			return true;
	}
	return false;
}

static bool unix_matches(const struct sg_policy_rule *r, const struct dest *x)
{
	uint32_t i;

	if (!x->abstract && !x->name_len)
		return false; /* unnamed */
	for (i = 0; i < r->nunix; i++) {
		const struct sg_policy_unix *u = &r->unix_pats[i];
		bool abstract = u->kind == SG_UNIX_ABSTRACT || u->kind == SG_UNIX_ABSTRACT_PREFIX;
		bool prefix = u->kind == SG_UNIX_PATH_PREFIX || u->kind == SG_UNIX_ABSTRACT_PREFIX;

		if (abstract != x->abstract)
			continue;
		if (prefix ? x->name_len >= u->len : x->name_len == u->len) {
			if (!memcmp(x->name, u->bytes, u->len))
				return true;
		}
	}
	return false;
}

static bool cmsg_matches(const struct sg_policy_rule *r, const struct sg_send_desc *d)
{
	uint32_t i, j, n = d->ncmsgs < SG_MAX_CMSGS ? d->ncmsgs : SG_MAX_CMSGS;

	for (i = 0; i < n; i++) {
		for (j = 0; j < r->ncmsgs; j++) {
			if (d->cmsgs[i].level == r->cmsgs[j].level &&
			    d->cmsgs[i].type == r->cmsgs[j].type)
				return true;
		}
	}
	return false;
}

static bool u16_in(const uint16_t *v, uint32_t n, uint32_t x)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (v[i] == x)
			return true;
	}
	return false;
}

static bool u32_in(const uint32_t *v, uint32_t n, uint32_t x)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (v[i] == x)
			return true;
	}
	return false;
}

static bool comm_matches(const struct sg_policy_rule *r, const struct sg_send_desc *d)
{
	uint32_t i;

	for (i = 0; i < r->ncomms; i++) {
		if (!strncmp(d->comm, r->comms[i], SG_COMM_LEN))
			return true;
	}
	return false;
}

static bool exe_matches(const struct sg_policy_rule *r, const struct sg_send_desc *d)
{
	uint32_t i;

	if (!d->has_exe)
		return false;
	for (i = 0; i < r->nexes; i++) {
		const struct sg_policy_exe *e = &r->exes[i];

		if (e->resolved == 1 && e->dev == d->exe_dev && e->ino == d->exe_ino)
			return true;
	}
	return false;
}

/* cg is prefix, or below it: "/a" holds for "/a" and "/a/b", not for "/ab". */
static bool cgroup_matches(const struct sg_policy_rule *r, const char *cg)
{
	uint32_t i;

	if (!cg)
		return false;
	for (i = 0; i < r->ncgroups; i++) {
		const char *pre = r->cgroups[i];
		size_t n = strlen(pre);

		if (n == 1 && pre[0] == '/')
			return cg[0] == '/';
		if (!strncmp(cg, pre, n) && (cg[n] == 0 || cg[n] == '/'))
			return true;
	}
	return false;
}

#define HAS(r, k) ((r)->keys & SG_MK_BIT(k))

static bool rule_matches(const struct sg_policy_rule *r, const struct sg_send_desc *d,
			 const struct dest *x)
{
	if (HAS(r, SG_MK_SYSCALL) && (d->syscall >= 32 || !(r->syscall_mask & 1u << d->syscall)))
		return false;
	if (HAS(r, SG_MK_FAMILY) &&
	    (!d->has_sock || d->sock_family >= 64 || !(r->family_mask & 1ull << d->sock_family)))
		return false;
	if (HAS(r, SG_MK_TYPE) &&
	    (!d->has_sock || d->sock_type >= 32 || !(r->type_mask & 1u << d->sock_type)))
		return false;
	if (HAS(r, SG_MK_PROTOCOL) &&
	    (!d->has_sock || !u16_in(r->protocols, r->nprotocols, d->sock_protocol)))
		return false;
	if (HAS(r, SG_MK_DST) && !dst_matches(r, x))
		return false;
	if (HAS(r, SG_MK_PORT) &&
	    ((x->family != AF_INET && x->family != AF_INET6) || !port_matches(r, x)))
		return false;
	if (HAS(r, SG_MK_UNIX) && (x->family != AF_UNIX || !unix_matches(r, x)))
		return false;
	if (HAS(r, SG_MK_FLAGS_ANY) && !(d->msg_flags & r->flags_any))
		return false;
	if (HAS(r, SG_MK_FLAGS_ALL) && (d->msg_flags & r->flags_all) != r->flags_all)
		return false;
	if (HAS(r, SG_MK_FLAGS_NONE) && (d->msg_flags & r->flags_none))
		return false;
	if (HAS(r, SG_MK_CMSG) && !cmsg_matches(r, d))
		return false;
	if (HAS(r, SG_MK_LEN_MIN) && d->len < r->len_min)
		return false;
	if (HAS(r, SG_MK_LEN_MAX) && d->len > r->len_max)
		return false;
	if (HAS(r, SG_MK_COMM) && !comm_matches(r, d))
		return false;
	if (HAS(r, SG_MK_EXE) && !exe_matches(r, d))
		return false;
	if (HAS(r, SG_MK_UID) && !u32_in(r->uids, r->nuids, d->uid))
		return false;
	if (HAS(r, SG_MK_GID) && !u32_in(r->gids, r->ngids, d->gid))
		return false;
	if (HAS(r, SG_MK_CGROUP) && !cgroup_matches(r, d->cgroup))
		return false;
	return true;
}

bool sg_policy_rule_matches(const struct sg_policy_rule *r, const struct sg_send_desc *d)
{
	struct dest x;

	decode_dest(d, &x);
	return rule_matches(r, d, &x);
}

int sg_policy_eval(const struct sg_policy *p, const struct sg_send_desc *d, uint32_t *verdict)
{
	struct dest x;
	uint32_t i;

	decode_dest(d, &x);
	for (i = 0; i < p->nrules; i++) {
		if (rule_matches(&p->rules[i], d, &x)) {
			*verdict = p->rules[i].action;
			return (int)i;
		}
	}
	*verdict = p->default_action;
	return -1;
}

void sg_send_desc_from_event(struct sg_send_desc *d, const struct sg_event *e, const char *cgroup)
{
	uint32_t i;

	memset(d, 0, sizeof(*d));
	d->syscall = e->syscall;
	d->has_sock = e->flags & SG_EF_SOCK;
	if (d->has_sock) {
		d->sock_family = e->sock_family;
		d->sock_type = e->sock_type;
		d->sock_protocol = e->sock_protocol;
	}
	d->addr_len = e->addr_len < SG_ADDR_MAX ? e->addr_len : SG_ADDR_MAX;
	memcpy(d->addr, e->addr, d->addr_len);
	d->msg_flags = e->msg_flags;
	if (e->flags & SG_EF_CONTROL) {
		d->ncmsgs = e->ncmsgs < SG_MAX_CMSGS ? e->ncmsgs : SG_MAX_CMSGS;
		for (i = 0; i < d->ncmsgs; i++)
			d->cmsgs[i] = e->cmsgs[i];
	}
	d->len = e->len;
	memcpy(d->comm, e->comm, SG_COMM_LEN);
	d->comm[SG_COMM_LEN - 1] = 0;
	d->has_exe = e->flags & SG_EF_EXE;
	if (d->has_exe) {
		d->exe_dev = e->exe_dev;
		d->exe_ino = e->exe_ino;
	}
	d->uid = e->uid;
	d->gid = e->gid;
	d->cgroup = cgroup;
}
