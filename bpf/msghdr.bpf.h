/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Readers of the user-space message descriptions of send syscalls: the
 * destination (dest_addr / msg_name), struct msghdr with its iovecs and
 * control messages, and struct mmsghdr. These are UAPI layouts (64-bit), so
 * they are declared here instead of relocated against kernel BTF.
 */
#ifndef SENDGUARD_MSGHDR_BPF_H
#define SENDGUARD_MSGHDR_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sendguard.h"

struct sg_user_msghdr {
	__u64 msg_name;
	__s32 msg_namelen;
	__u32 pad;
	__u64 msg_iov;
	__u64 msg_iovlen;
	__u64 msg_control;
	__u64 msg_controllen;
	__u32 msg_flags;
	__u32 pad2;
};

struct sg_user_mmsghdr {
	struct sg_user_msghdr hdr;
	__u32 msg_len;
	__u32 pad;
};

struct sg_user_iovec {
	__u64 iov_base;
	__u64 iov_len;
};

struct sg_user_cmsghdr {
	__u64 cmsg_len;
	__s32 cmsg_level;
	__s32 cmsg_type;
};

_Static_assert(sizeof(struct sg_user_msghdr) == 56, "user_msghdr size");
_Static_assert(sizeof(struct sg_user_mmsghdr) == 64, "mmsghdr size");
_Static_assert(sizeof(struct sg_user_iovec) == 16, "iovec size");
_Static_assert(sizeof(struct sg_user_cmsghdr) == 16, "cmsghdr size");

/*
 * Copy the caller's destination address into e->addr (dst_source
 * SG_DST_MSG). Returns false, leaving @e alone, when none was given.
 */
static __always_inline bool sg_fill_name(struct sg_event *e, __u64 name, __s32 namelen)
{
	__u64 len = namelen;

	if (!name || namelen <= 0)
		return false;
	if (len > SG_ADDR_MAX) {
		len = SG_ADDR_MAX;
		e->flags |= SG_EF_ADDR_TRUNC;
	}
	/* Keep the bound visible to the verifier in the register passed on. */
	barrier_var(len);
	if (len > SG_ADDR_MAX)
		return false;
	/* A fault leaves zeroes; the kernel's own copy fails then too (EFAULT). */
	bpf_probe_read_user(e->addr, len, (void *)name);
	e->addr_len = len;
	e->dst_source = SG_DST_MSG;
	return true;
}

struct sg_iov_ctx {
	__u64 iov;
	__u64 sum;
};

static long sg_iov_cb(__u32 i, void *data)
{
	struct sg_iov_ctx *c = data;
	__u64 len;

	if (bpf_probe_read_user(&len, sizeof(len),
				(void *)(c->iov + i * sizeof(struct sg_user_iovec) +
					 __builtin_offsetof(struct sg_user_iovec, iov_len))))
		return 1;
	c->sum += len;
	return 0;
}

struct sg_cmsg_ctx {
	struct sg_event *e;
	__u64 control;
	__u64 controllen;
	__u64 off;
};

/* Walks cmsghdrs like the kernel's CMSG_NXTHDR: 8-byte aligned, in bounds. */
static long sg_cmsg_cb(__u32 i, void *data)
{
	struct sg_cmsg_ctx *c = data;
	struct sg_event *e = c->e;
	struct sg_user_cmsghdr h;
	__u32 n;

	if (c->off + sizeof(h) > c->controllen)
		return 1;
	if (bpf_probe_read_user(&h, sizeof(h), (void *)(c->control + c->off)))
		return 1;
	if (h.cmsg_len < sizeof(h))
		return 1;
	n = e->ncmsgs;
	if (n >= SG_MAX_CMSGS) {
		e->flags |= SG_EF_CMSG_TRUNC;
		return 1;
	}
	e->cmsgs[n].level = h.cmsg_level;
	e->cmsgs[n].type = h.cmsg_type;
	e->cmsgs[n].len = h.cmsg_len > 0xffffffffULL ? 0xffffffffU : h.cmsg_len;
	e->cmsgs[n].pad = 0;
	e->ncmsgs = n + 1;
	if (h.cmsg_len > c->controllen - c->off)
		return 1;
	c->off += (h.cmsg_len + 7) & ~7ULL;
	return 0;
}

/*
 * Fill len, iovlen, destination and control data of @e from a msghdr already
 * copied from user space. Expects e->addr and ncmsgs zeroed.
 */
static __always_inline void sg_fill_msghdr(struct sg_event *e, const struct sg_user_msghdr *m)
{
	struct sg_iov_ctx iov = { .iov = m->msg_iov };
	struct sg_cmsg_ctx cm = { .e = e, .control = m->msg_control };
	__u32 nr;

	sg_fill_name(e, m->msg_name, m->msg_namelen);

	e->iovlen = m->msg_iovlen > 0xffffffffULL ? 0xffffffffU : m->msg_iovlen;
	nr = m->msg_iovlen > SG_UIO_MAXIOV ? SG_UIO_MAXIOV : m->msg_iovlen;
	if (m->msg_iov && nr)
		bpf_loop(nr, sg_iov_cb, &iov, 0);
	e->len = iov.sum;

	if (!m->msg_control || !m->msg_controllen)
		return;
	e->flags |= SG_EF_CONTROL;
	e->controllen = m->msg_controllen > 0xffffffffULL ? 0xffffffffU : m->msg_controllen;
	cm.controllen = m->msg_controllen;
	bpf_loop(SG_MAX_CMSGS + 1, sg_cmsg_cb, &cm, 0);
}

#endif /* SENDGUARD_MSGHDR_BPF_H */
