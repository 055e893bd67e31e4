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

#define SG_AF_UNIX    1
#define SG_AF_INET    2
#define SG_AF_INET6   10
#define SG_AF_NETLINK 16

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
 * The struct file installed at @fd in the descriptor table of @task, a BTF
 * pointer from bpf_get_current_task_btf(), or NULL.
 */
static __always_inline struct file *sg_fd_file(struct task_struct *task, int fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file **fds;
	struct file *file = NULL;

	if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	/* A variable index into a BTF pointer is not allowed: probe-read it. */
	if (!fds || bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
		return NULL;
	return file;
}

/*
 * Fill sock_family/type/protocol from the socket behind @fd and set
 * SG_EF_SOCK. Returns the struct sock, or NULL when @fd is not a socket.
 */
static __always_inline struct sock *sg_fill_sock(struct sg_event *e, struct task_struct *task,
						 int fd)
{
	struct file *file = sg_fd_file(task, fd);
	struct socket *sock;
	struct sock *sk;
	umode_t mode;

	if (!file)
		return NULL;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & SG_S_IFMT) != SG_S_IFSOCK)
		return NULL;
	/* sock_alloc_file() stores the struct socket in private_data. */
	sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return NULL;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	e->sock_family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->sock_type = BPF_CORE_READ(sk, sk_type);
	e->sock_protocol = BPF_CORE_READ(sk, sk_protocol);
	e->flags |= SG_EF_SOCK;
	return sk;
}

static __always_inline void sg_peer_inet(struct sg_event *e, struct sock *sk)
{
	struct sg_sockaddr_in *sin = (void *)e->addr;
	__u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	__u16 dport = BPF_CORE_READ(sk, __sk_common.skc_dport);

	if (!daddr && !dport)
		return;
	sin->family = SG_AF_INET;
	sin->port = dport;
	sin->addr = daddr;
	e->addr_len = sizeof(*sin);
	e->dst_source = SG_DST_PEER;
}

static __always_inline void sg_peer_inet6(struct sg_event *e, struct sock *sk)
{
	struct sg_sockaddr_in6 *sin6 = (void *)e->addr;
	__u64 a[2] = {};
	__u16 dport;

	/* skc_v6_daddr exists only with CONFIG_IPV6. */
	if (!bpf_core_field_exists(sk->__sk_common.skc_v6_daddr))
		return;
	BPF_CORE_READ_INTO(&a, sk, __sk_common.skc_v6_daddr);
	dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	if (!a[0] && !a[1] && !dport)
		return;
	sin6->family = SG_AF_INET6;
	sin6->port = dport;
	sin6->flowinfo = 0;
	__builtin_memcpy(sin6->addr, a, sizeof(a));
	sin6->scope_id = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
	e->addr_len = sizeof(*sin6);
	e->dst_source = SG_DST_PEER;
}

static __always_inline void sg_peer_unix(struct sg_event *e, struct sock *sk)
{
	struct unix_sock *peer = (void *)BPF_CORE_READ((struct unix_sock *)sk, peer);
	struct unix_address *ua;
	__u32 len;

	if (!peer)
		return;
	ua = BPF_CORE_READ(peer, addr);
	len = ua ? BPF_CORE_READ(ua, len) : 0;
	if (!len) {
		/* Connected to an unnamed socket (e.g. socketpair). */
		*(__u16 *)e->addr = SG_AF_UNIX;
		e->addr_len = sizeof(__u16);
	} else {
		if (len > SG_ADDR_MAX) {
			len = SG_ADDR_MAX;
			e->flags |= SG_EF_ADDR_TRUNC;
		}
		barrier_var(len);
		if (len > SG_ADDR_MAX || bpf_probe_read_kernel(e->addr, len, &ua->name))
			return;
		e->addr_len = len;
	}
	e->dst_source = SG_DST_PEER;
}

static __always_inline void sg_peer_netlink(struct sg_event *e, struct sock *sk)
{
	/* struct netlink_sock starts with its struct sock. */
	struct netlink_sock *nlk = (void *)sk;
	struct sg_sockaddr_nl *snl = (void *)e->addr;

	snl->family = SG_AF_NETLINK;
	snl->pad = 0;
	snl->pid = BPF_CORE_READ(nlk, dst_portid);
	snl->groups = BPF_CORE_READ(nlk, dst_group);
	e->addr_len = sizeof(*snl);
	e->dst_source = SG_DST_PEER;
}

/*
 * Write the connected peer of @sk into e->addr as a sockaddr (dst_source
 * SG_DST_PEER). Leaves SG_DST_NONE / addr_len 0 when there is none. Expects
 * e->addr zeroed.
 */
static __always_inline void sg_fill_peer(struct sg_event *e, struct sock *sk)
{
	if (!sk)
		return;
	switch (e->sock_family) {
	case SG_AF_INET:
		sg_peer_inet(e, sk);
		break;
	case SG_AF_INET6:
		sg_peer_inet6(e, sk);
		break;
	case SG_AF_UNIX:
		sg_peer_unix(e, sk);
		break;
	case SG_AF_NETLINK:
		sg_peer_netlink(e, sk);
		break;
	}
}

#endif /* SENDGUARD_SOCK_BPF_H */
