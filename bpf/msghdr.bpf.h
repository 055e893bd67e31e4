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
#include "variant.bpf.h"
#include "policy.bpf.h"

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
 * Copy the destination address at name (user memory, or kernel memory when
 * kernel is set) into e->addr (dst_source SG_DST_MSG). Returns false,
 * leaving @e alone, when none was given.
 */
static __always_inline bool sg_copy_name(struct sg_event *e, __u64 name, __s32 namelen,
					 const bool kernel)
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
	if (kernel) {
		if (bpf_probe_read_kernel(e->addr, len, (void *)name))
			return false;
	} else {
		bpf_probe_read_user(e->addr, len, (void *)name);
	}
	e->addr_len = len;
	e->dst_source = SG_DST_MSG;
	return true;
}

/* The caller's destination address (user memory): see sg_copy_name. */
static __always_inline bool sg_fill_name(struct sg_event *e, __u64 name, __s32 namelen)
{
	return sg_copy_name(e, name, namelen, false);
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
	/* The kernel's CMSG_OK: one too short or running past msg_controllen fails the call. */
	if (h.cmsg_len < sizeof(h) || h.cmsg_len > c->controllen - c->off) {
		e->flags |= SG_EF_CMSG_BAD;
		return 1;
	}
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
	c->off += (h.cmsg_len + 7) & ~7ULL;
	return 0;
}

/*
 * SG_VAR_COMPAT (no bpf_loop): the iovecs are read SG_IOV_CHUNK at a time
 * into per-CPU memory and summed by an unrolled loop, so the verifier walks
 * SG_UIO_MAXIOV / SG_IOV_CHUNK iterations, not SG_UIO_MAXIOV. Each read is
 * exactly as long as what is left of the vector: a read past its end could
 * fault and zero the whole chunk.
 */
#define SG_IOV_CHUNK 16

struct sg_iov_chunk {
	struct sg_user_iovec v[SG_IOV_CHUNK];
	__u8 slack[512 - SG_IOV_CHUNK * sizeof(struct sg_user_iovec)]; /* see the mask below */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_iov_chunk);
} sg_iov_scratch SEC(".maps");

/*
 * SG_VAR_COMPAT: the sum of the iov_len of the nr (<= SG_UIO_MAXIOV) iovecs
 * at iov, by bounded loops. A global function of scalars, verified once per
 * program however many messages a program walks.
 */
__noinline __u64 sg_iov_sum_compat(__u64 iov, __u32 nr)
{
	struct sg_iov_chunk *c;
	__u32 zero = 0, i, j, n;
	__u64 sum = 0, sz;

	c = bpf_map_lookup_elem(&sg_iov_scratch, &zero);
	if (!c)
		return 0;
	for (i = 0; i < SG_UIO_MAXIOV / SG_IOV_CHUNK; i++) {
		if (i * SG_IOV_CHUNK >= nr)
			break;
		n = nr - i * SG_IOV_CHUNK;
		if (n > SG_IOV_CHUNK)
			n = SG_IOV_CHUNK;
		/*
		 * The mask bounds the size in the register passed on, whatever
		 * clang makes of a comparison (the chunk has room for 511 bytes).
		 */
		sz = (__u64)n * sizeof(struct sg_user_iovec);
		barrier_var(sz); /* else clang knows sz <= 256 and drops the mask */
		sz &= 511;
		if (bpf_probe_read_user(
			    c, sz,
			    (void *)(iov + (__u64)i * SG_IOV_CHUNK * sizeof(struct sg_user_iovec))))
			break;
#pragma unroll
		for (j = 0; j < SG_IOV_CHUNK; j++)
			if (j < n)
				sum += c->v[j].iov_len;
	}
	return sum;
}

/*
 * SG_VAR_COMPAT: the control messages at control into the event being built
 * in sg_pol_input (a global function of scalars, like sg_iov_sum_compat).
 */
__noinline int sg_cmsgs_compat(__u64 control, __u64 controllen)
{
	struct sg_cmsg_ctx cm = { .control = control, .controllen = controllen };
	__u32 i;

	cm.e = sg_pol_input_event();
	if (!cm.e)
		return 0;
	for (i = 0; i < SG_MAX_CMSGS + 1; i++)
		if (sg_cmsg_cb(i, &cm))
			break;
	return 0;
}

/*
 * Fill len, iovlen, destination and control data of @e from a msghdr already
 * copied from user space. Expects e->addr and ncmsgs zeroed.
 */
static __always_inline void sg_fill_msghdr(struct sg_event *e, const struct sg_user_msghdr *m,
					   const int v)
{
	struct sg_iov_ctx iov = { .iov = m->msg_iov };
	struct sg_cmsg_ctx cm = { .e = e, .control = m->msg_control };
	__u32 nr;

	sg_fill_name(e, m->msg_name, m->msg_namelen);

	e->iovlen = m->msg_iovlen > 0xffffffffULL ? 0xffffffffU : m->msg_iovlen;
	nr = m->msg_iovlen > SG_UIO_MAXIOV ? 0 : m->msg_iovlen;
	/* The kernel refuses more than UIO_MAXIOV iovecs unread: the length is unknown. */
	if (m->msg_iovlen > SG_UIO_MAXIOV)
		e->flags |= SG_EF_LEN_UNKNOWN;
	if (m->msg_iov && nr) {
		if (v == SG_VAR_COMPAT)
			iov.sum = sg_iov_sum_compat(m->msg_iov, nr);
		else
			bpf_loop(nr, sg_iov_cb, &iov, 0);
	}
	e->len = iov.sum;

	if (!m->msg_control || !m->msg_controllen)
		return;
	e->flags |= SG_EF_CONTROL;
	e->controllen = m->msg_controllen > 0xffffffffULL ? 0xffffffffU : m->msg_controllen;
	cm.controllen = m->msg_controllen;
	if (v == SG_VAR_COMPAT)
		sg_cmsgs_compat(m->msg_control, m->msg_controllen); /* e is sg_pol_input */
	else
		bpf_loop(SG_MAX_CMSGS + 1, sg_cmsg_cb, &cm, 0);
}

#endif /* SENDGUARD_MSGHDR_BPF_H */
