/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names of the numbers a send carries, both ways: value -> name for the event
 * encoder (O(1), arrays indexed by value, no allocation) and name -> value for
 * the policy parser (linear scan, not on a hot path).
 *
 * Value -> name returns NULL for values without a name; the caller then writes
 * the number (or, for message flags, a hex string). Name -> value returns 0 or
 * -ENOENT. Names are case-sensitive and spelled as in the event schema
 * (README, "Event fields"): "inet", "dgram", "udp", "MSG_DONTWAIT", "SCM_RIGHTS",
 * "EPERM", "sendmsg", "deny", "lsm".
 *
 * Socket option/cmsg numbers are the asm-generic ones (x86, arm64, riscv, ...).
 */
#ifndef SG_NAMES_H
#define SG_NAMES_H

#include <stdint.h>

/* MSG_* send flags. flag must be a single bit; internal kernel bits have no name. */
const char *sg_msg_flag_name(uint32_t flag);
/* Same, by bit number 0..31. */
const char *sg_msg_flag_bit_name(unsigned int bit);
int sg_msg_flag_from_name(const char *name, uint32_t *flag);

/* Address families by their lowercase AF_ suffix: "unix", "inet", "inet6", ... */
const char *sg_family_name(uint32_t family);
int sg_family_from_name(const char *name, uint32_t *family);

/* Socket types: "stream", "dgram", "raw", "rdm", "seqpacket", "dccp", "packet". */
const char *sg_socktype_name(uint32_t type);
int sg_socktype_from_name(const char *name, uint32_t *type);

/*
 * Protocols by name ("tcp", "udp", "udplite", "icmp", "icmpv6", "sctp", "mptcp", ...)
 * only for AF_INET and AF_INET6 sockets; NULL for every other family.
 */
const char *sg_protocol_name(uint32_t family, uint32_t protocol);
int sg_protocol_from_name(const char *name, uint32_t *protocol);

/* Control message levels ("SOL_SOCKET", "IPPROTO_IP", "IPPROTO_IPV6", ...). */
const char *sg_cmsg_level_name(uint32_t level);
int sg_cmsg_level_from_name(const char *name, uint32_t *level);
/* Control message types within their level ("SCM_RIGHTS", "IP_PKTINFO", ...). */
const char *sg_cmsg_type_name(uint32_t level, uint32_t type);
/* Type names are unique across levels, so a name gives both. */
int sg_cmsg_type_from_name(const char *name, uint32_t *level, uint32_t *type);

/* errno names ("EPERM", ...), including the kernel-internal 512.. range. */
const char *sg_errno_name(int err);
/* Also accepts the aliases EWOULDBLOCK, EDEADLOCK and ENOTSUP. */
int sg_errno_from_name(const char *name, int *err);

/* SG_SYSCALL_*: "sendto", "sendmsg", "sendmmsg", "connect". */
const char *sg_syscall_name(uint32_t syscall);
int sg_syscall_from_name(const char *name, uint32_t *syscall);

/* SG_VERDICT_*: "allow", "deny", "audit", "kill". */
const char *sg_verdict_name(uint32_t verdict);
int sg_verdict_from_name(const char *name, uint32_t *verdict);

/* SG_ENF_*: "lsm", "cgroup", "seccomp", "signal"; SG_ENF_NONE has no name (NULL). */
const char *sg_enforcer_name(uint32_t enforced_by);
int sg_enforcer_from_name(const char *name, uint32_t *enforced_by);

#endif /* SG_NAMES_H */
