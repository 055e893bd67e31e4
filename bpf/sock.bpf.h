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

/*
 * Turn a kernel pointer held as a scalar into a read-only BTF pointer: its
 * fields are then plain loads (faults read as zero) instead of one
 * bpf_probe_read_kernel() per field, which costs ~30 ns each here. The
 * verifier inlines the kfunc to a register move (6.2+).
 */
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id) __ksym;
#define SG_CAST(type, p) ((type *)bpf_rdonly_cast((void *)(p), bpf_core_type_id_kernel(type)))

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

	if (!file)
		return NULL;
	file = SG_CAST(struct file, file);
	if ((file->f_inode->i_mode & SG_S_IFMT) != SG_S_IFSOCK)
		return NULL;
	/* sock_alloc_file() stores the struct socket in private_data. */
	sock = SG_CAST(struct socket, file->private_data);
	sk = sock->sk;
	if (!sk)
		return NULL;
	e->sock_family = sk->__sk_common.skc_family;
	e->sock_type = sk->sk_type;
	e->sock_protocol = sk->sk_protocol;
	e->flags |= SG_EF_SOCK;
	return sk;
}

static __always_inline void sg_peer_inet(struct sg_event *e, struct sock *sk)
{
	struct sg_sockaddr_in *sin = (void *)e->addr;
	__u32 daddr = sk->__sk_common.skc_daddr;
	__u16 dport = sk->__sk_common.skc_dport;

	if (!daddr && !dport)
		return;
	sin->family = SG_AF_INET;
	sin->port = dport;
	sin->addr = daddr;
	__builtin_memset(sin->zero, 0, sizeof(sin->zero));
	e->addr_len = sizeof(*sin);
	e->dst_source = SG_DST_PEER;
}

static __always_inline void sg_peer_inet6(struct sg_event *e, struct sock *sk)
{
	struct sg_sockaddr_in6 *sin6 = (void *)e->addr;
	__u32 *a;
	__u16 dport;

	/* skc_v6_daddr exists only with CONFIG_IPV6. */
	if (!bpf_core_field_exists(sk->__sk_common.skc_v6_daddr))
		return;
	a = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32;
	dport = sk->__sk_common.skc_dport;
	sin6->family = SG_AF_INET6;
	sin6->port = dport;
	sin6->flowinfo = 0;
	__builtin_memcpy(sin6->addr, a, 16);
	if (!a[0] && !a[1] && !a[2] && !a[3] && !dport)
		return;
	sin6->scope_id = sk->__sk_common.skc_bound_dev_if;
	e->addr_len = sizeof(*sin6);
	e->dst_source = SG_DST_PEER;
}

static __always_inline void sg_peer_unix(struct sg_event *e, struct sock *sk)
{
	struct sock *psk = SG_CAST(struct unix_sock, sk)->peer;
	struct unix_address *ua;
	__u32 len;

	if (!psk)
		return;
	ua = SG_CAST(struct unix_sock, psk)->addr;
	len = ua ? ua->len : 0;
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
	struct netlink_sock *nlk = SG_CAST(struct netlink_sock, sk);
	struct sg_sockaddr_nl *snl = (void *)e->addr;

	snl->family = SG_AF_NETLINK;
	snl->pad = 0;
	snl->pid = nlk->dst_portid;
	snl->groups = nlk->dst_group;
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
