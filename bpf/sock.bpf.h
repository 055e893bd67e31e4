/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel socket identity for sendguard events: the socket behind an fd of the
 * current task, and its connected peer as a sockaddr. Everything here is read
 * from kernel objects (never from syscall arguments), with CO-RE relocations.
 */
#ifndef SENDGUARD_SOCK_BPF_H
#define SENDGUARD_SOCK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sendguard.h"
#include "variant.bpf.h"

#define SG_AF_UNIX    1
#define SG_AF_INET    2
#define SG_AF_INET6   10
#define SG_AF_NETLINK 16

#define SG_SOCK_STREAM	  1
#define SG_SOCK_SEQPACKET 5

#define SG_S_IFMT   0170000
#define SG_S_IFSOCK 0140000

/* UAPI sockaddr layouts, written into sg_event.addr for peers. */
struct sg_sockaddr_in {
	__u16 family;
	__u16 port;
	__u32 addr;
	__u8 zero[8];
};

struct sg_sockaddr_in6 {
	__u16 family;
	__u16 port;
	__u32 flowinfo;
	__u8 addr[16];
	__u32 scope_id;
};

struct sg_sockaddr_nl {
	__u16 family;
	__u16 pad;
	__u32 pid;
	__u32 groups;
};

_Static_assert(sizeof(struct sg_sockaddr_in) == 16, "sockaddr_in size");
_Static_assert(sizeof(struct sg_sockaddr_in6) == 28, "sockaddr_in6 size");
_Static_assert(sizeof(struct sg_sockaddr_nl) == 12, "sockaddr_nl size");

/*
 * The struct file installed at @fd in the descriptor table of @task (from
 * SG_TASK(v)), as a plain address, or NULL.
 */
static __always_inline struct file *sg_fd_file(struct task_struct *task, int fd, const int v)
{
	struct fdtable *fdt = SG_RD(v, task, files, fdt);
	struct file **fds;
	struct file *file = NULL;

	if (!fdt || fd < 0 || (unsigned int)fd >= SG_RD(v, fdt, max_fds))
		return NULL;
	fds = SG_RD(v, fdt, fd);
	/* A variable index into a BTF pointer is not allowed: probe-read it. */
	if (!fds || bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
		return NULL;
	return file;
}

/* sock_family/type/protocol of @sk, and SG_EF_SOCK. */
static __always_inline void sg_fill_sock_ids(struct sg_event *e, struct sock *sk, const int v)
{
	e->sock_family = SG_OBJ_RD(v, struct sock, sk, __sk_common.skc_family);
	e->sock_type = SG_OBJ_RD(v, struct sock, sk, sk_type);
	e->sock_protocol = SG_OBJ_RD(v, struct sock, sk, sk_protocol);
	e->flags |= SG_EF_SOCK;
}

/*
 * Fill sock_family/type/protocol from the socket behind @fd and set
 * SG_EF_SOCK. Returns the struct sock, or NULL when @fd is not a socket.
 */
static __always_inline struct sock *sg_fill_sock(struct sg_event *e, struct task_struct *task,
						 int fd, const int v)
{
	struct file *file = sg_fd_file(task, fd, v);
	struct socket *sock;
	struct sock *sk;

	if (!file)
		return NULL;
	if ((SG_OBJ_RD(v, struct file, file, f_inode, i_mode) & SG_S_IFMT) != SG_S_IFSOCK)
		return NULL;
	/* sock_alloc_file() stores the struct socket in private_data. */
	sock = SG_OBJ_RD(v, struct file, file, private_data);
	sk = SG_OBJ_RD(v, struct socket, sock, sk);
	if (!sk)
		return NULL;
	sg_fill_sock_ids(e, sk, v);
	return sk;
}

static __always_inline void sg_peer_inet(struct sg_event *e, struct sock *sk, const int v)
{
	struct sg_sockaddr_in *sin = (void *)e->addr;
	__u32 daddr = SG_OBJ_RD(v, struct sock, sk, __sk_common.skc_daddr);
	__u16 dport = SG_OBJ_RD(v, struct sock, sk, __sk_common.skc_dport);

	if (!daddr && !dport)
		return;
	sin->family = SG_AF_INET;
	sin->port = dport;
	sin->addr = daddr;
	__builtin_memset(sin->zero, 0, sizeof(sin->zero));
	e->addr_len = sizeof(*sin);
	e->dst_source = SG_DST_PEER;
}

static __always_inline void sg_peer_inet6(struct sg_event *e, struct sock *sk, const int v)
{
	struct sg_sockaddr_in6 *sin6 = (void *)e->addr;
	__u32 *a = (__u32 *)sin6->addr;
	__u16 dport;

	/* skc_v6_daddr exists only with CONFIG_IPV6. */
	if (!bpf_core_field_exists(sk->__sk_common.skc_v6_daddr))
		return;
	if (v == SG_VAR_BTF) {
		struct sock *s = SG_CAST(struct sock, sk);

		__builtin_memcpy(a, s->__sk_common.skc_v6_daddr.in6_u.u6_addr32, 16);
	} else {
		bpf_core_read(a, 16, &sk->__sk_common.skc_v6_daddr);
	}
	dport = SG_OBJ_RD(v, struct sock, sk, __sk_common.skc_dport);
	sin6->family = SG_AF_INET6;
	sin6->port = dport;
	sin6->flowinfo = 0;
	if (!a[0] && !a[1] && !a[2] && !a[3] && !dport)
		return;
	sin6->scope_id = SG_OBJ_RD(v, struct sock, sk, __sk_common.skc_bound_dev_if);
	e->addr_len = sizeof(*sin6);
	e->dst_source = SG_DST_PEER;
}

/*
 * The address unix socket @usk was bound to (what it was reached by, however
 * the sender spelled it) into e->addr/addr_len; an unbound socket (e.g. of a
 * socketpair) is the bare family. False when it could not be read.
 */
static __always_inline bool sg_unix_bound(struct sg_event *e, struct sock *usk, const int v)
{
	struct unix_address *ua = SG_OBJ_RD(v, struct unix_sock, usk, addr);
	__u32 len = ua ? SG_OBJ_RD(v, struct unix_address, ua, len) : 0;

	if (!len) {
		*(__u16 *)e->addr = SG_AF_UNIX;
		e->addr_len = sizeof(__u16);
		return true;
	}
	if (len > SG_ADDR_MAX) {
		len = SG_ADDR_MAX;
		e->flags |= SG_EF_ADDR_TRUNC;
	}
	barrier_var(len);
	if (len > SG_ADDR_MAX || bpf_probe_read_kernel(e->addr, len, &ua->name))
		return false;
	e->addr_len = len;
	return true;
}

static __always_inline void sg_peer_unix(struct sg_event *e, struct sock *sk, const int v)
{
	struct sock *psk = SG_OBJ_RD(v, struct unix_sock, sk, peer);

	if (psk && sg_unix_bound(e, psk, v))
		e->dst_source = SG_DST_PEER;
}

static __always_inline void sg_peer_netlink(struct sg_event *e, struct sock *sk, const int v)
{
	/* struct netlink_sock starts with its struct sock. */
	struct sg_sockaddr_nl *snl = (void *)e->addr;

	snl->family = SG_AF_NETLINK;
	snl->pad = 0;
	snl->pid = SG_OBJ_RD(v, struct netlink_sock, sk, dst_portid);
	snl->groups = SG_OBJ_RD(v, struct netlink_sock, sk, dst_group);
	e->addr_len = sizeof(*snl);
	e->dst_source = SG_DST_PEER;
}

/*
 * Write the connected peer of @sk into e->addr as a sockaddr (dst_source
 * SG_DST_PEER). Leaves SG_DST_NONE / addr_len 0 when there is none. Expects
 * e->addr zeroed.
 */
static __always_inline void sg_fill_peer(struct sg_event *e, struct sock *sk, const int v)
{
	if (!sk)
		return;
	switch (e->sock_family) {
	case SG_AF_INET:
		sg_peer_inet(e, sk, v);
		break;
	case SG_AF_INET6:
		sg_peer_inet6(e, sk, v);
		break;
	case SG_AF_UNIX:
		sg_peer_unix(e, sk, v);
		break;
	case SG_AF_NETLINK:
		sg_peer_netlink(e, sk, v);
		break;
	}
}

/*
 * Sockets whose sends go to their peer whatever the message's address says:
 * inet stream (TCP, MPTCP: the kernel ignores msg_name once connected) and
 * unix stream and seqpacket (seqpacket drops msg_name; stream refuses one).
 * Not SCTP's seqpacket, where msg_name picks the association.
 */
static __always_inline bool sg_peer_decides(const struct sg_event *e)
{
	if (!(e->flags & SG_EF_SOCK))
		return false;
	if (e->sock_family == SG_AF_UNIX)
		return e->sock_type == SG_SOCK_STREAM || e->sock_type == SG_SOCK_SEQPACKET;
	return (e->sock_family == SG_AF_INET || e->sock_family == SG_AF_INET6) &&
	       e->sock_type == SG_SOCK_STREAM;
}

/*
 * On a socket whose peer decides (sg_peer_decides) and that has one, write
 * the peer as the destination and return true: a forged msg_name must not be
 * what is reported or judged. False leaves @e alone (the message's address,
 * if any, is the destination: an unconnected socket, TCP Fast Open).
 */
static __always_inline bool sg_fill_stream_peer(struct sg_event *e, struct sock *sk, const int v)
{
	if (!sk || !sg_peer_decides(e))
		return false;
	sg_fill_peer(e, sk, v);
	return e->dst_source == SG_DST_PEER;
}

#endif /* SENDGUARD_SOCK_BPF_H */
