/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sendguard kernel <-> user ABI.
 *
 * Included by the BPF programs (after vmlinux.h) and by user space (after
 * <linux/types.h>). Only fixed-width types and fixed arrays: no pointers, no
 * long, no enums in structs. Every struct has a size assert on both sides.
 */
#ifndef SENDGUARD_H
#define SENDGUARD_H

#define SG_COMM_LEN 16
/* Raw sockaddr bytes kept per event: >= sizeof(struct sockaddr_un) (110). */
#define SG_ADDR_MAX 112
/* Control messages decoded per message; more sets SG_EF_CMSG_TRUNC. */
#define SG_MAX_CMSGS 8
/* The kernel caps sendmmsg vlen and msg_iovlen at UIO_MAXIOV. */
#define SG_UIO_MAXIOV 1024

/* sg_event.syscall */
#define SG_SYSCALL_SENDTO   1
#define SG_SYSCALL_SENDMSG  2
#define SG_SYSCALL_SENDMMSG 3
#define SG_SYSCALL_CONNECT  4
/*
 * Messages that leave a socket by another way than the three send syscalls,
 * seen where they pass sock_sendmsg (paths.bpf.c), named by what brought them
 * there: write(2), writev(2), sendfile(2), splice(2), io_uring (io_uring_enter
 * or an io-wq worker) or any other (e.g. a kernel without the registers).
 */
#define SG_SYSCALL_WRITE    5
#define SG_SYSCALL_WRITEV   6
#define SG_SYSCALL_SENDFILE 7
#define SG_SYSCALL_SPLICE   8
#define SG_SYSCALL_IO_URING 9
#define SG_SYSCALL_OTHER    10
#define SG_SYSCALL_MAX	    10

/* sg_event.dst_source: where addr[] came from */
#define SG_DST_NONE 0 /* no destination known: addr_len == 0 */
#define SG_DST_MSG  1 /* msg_name / dest_addr argument */
#define SG_DST_PEER 2 /* connected peer, read from the kernel socket */
/*
 * unix: the socket the kernel resolved msg_name to, named by the address it
 * was bound to (BPF-LSM unix_may_send saw it: sg_unix_reached)
 */
#define SG_DST_RESOLVED 3

/* sg_event.verdict */
#define SG_VERDICT_ALLOW 0
#define SG_VERDICT_DENY	 1
#define SG_VERDICT_AUDIT 2
#define SG_VERDICT_KILL	 3

/* sg_event.enforced_by */
#define SG_ENF_NONE    0
#define SG_ENF_LSM     1
#define SG_ENF_CGROUP  2
#define SG_ENF_SECCOMP 3
#define SG_ENF_SIGNAL  4

/* sg_event.rule when the policy default decided */
#define SG_RULE_DEFAULT 0xffff
/*
 * sg_event.rule of a call a cgroup unix hook refused because its path is a
 * spelling the hooks cannot judge (relative, "//", ".", "..", /proc/): no
 * rule decided; see "Enforcement hooks" below.
 */
#define SG_RULE_UNJUDGED 0xfffe

/* sg_event.flags */
#define SG_EF_SOCK	 (1u << 0) /* fd is a socket: sock_family/type/protocol valid */
#define SG_EF_CONTROL	 (1u << 1) /* msg_control given: controllen and cmsgs valid */
#define SG_EF_CMSG_TRUNC (1u << 2) /* more than SG_MAX_CMSGS control messages */
#define SG_EF_MMSG	 (1u << 3) /* part of a sendmmsg: index and vlen valid */
#define SG_EF_ADDR_TRUNC (1u << 4) /* address longer than SG_ADDR_MAX, cut */
#define SG_EF_EXE	 (1u << 5) /* exe_dev/exe_ino valid */
/*
 * A control message whose cmsg_len runs past msg_controllen (the kernel fails
 * the call with EINVAL): it and what follows are not in cmsgs[].
 */
#define SG_EF_CMSG_BAD (1u << 6)
/* More than SG_UIO_MAXIOV iovecs (the kernel fails the call, EMSGSIZE): len is unknown. */
#define SG_EF_LEN_UNKNOWN (1u << 7)

/*
 * One control message header as found in msg_control.
 * level/type are cmsg_level/cmsg_type; len is cmsg_len (header included), so
 * an SCM_RIGHTS message carries (len - 16) / 4 descriptors on 64-bit.
 */
struct sg_cmsg {
	__u32 level;
	__u32 type;
	__u32 len;
	__u32 pad;
};

/*
 * One outgoing message, as submitted to the ring buffer by trace.bpf.c.
 * sendto/sendmsg produce one event per call, sendmmsg one per message
 * (SG_EF_MMSG set, index/vlen valid).
 *
 * ts_ns      bpf_ktime_get_boot_ns() when the send returned (sys_exit)
 * cgroup_id  bpf_get_current_cgroup_id() (cgroup v2)
 * exe_dev/ino  identity of task->mm->exe_file; exe_dev is the kernel's
 *            dev_t encoding (MAJOR << 20 | MINOR)
 * pid/tid    tgid and thread id; ppid is real_parent's tgid
 * fd         the fd argument
 * msg_flags  the flags argument of the syscall
 * iovlen     msg_iovlen (1 for sendto)
 * len        bytes offered: sum of iov_len, or len of sendto
 * ret        bytes sent (sendmmsg: this message's msg_len), or -1
 * err        errno when ret == -1, else 0 (sendmmsg messages the kernel did
 *            not get to have ret -1 and err 0 when the call returned a count)
 * controllen msg_controllen
 * sock_*     family/type/protocol of the kernel socket behind fd
 * addr       raw sockaddr bytes (addr_len valid), see dst_source
 */
struct sg_event {
	__u64 ts_ns;
	__u64 cgroup_id;
	__u64 exe_ino;
	__u64 len;
	__s64 ret;
	__u32 exe_dev;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__s32 fd;
	__u32 msg_flags;
	__u32 iovlen;
	__s32 err;
	__u32 index;
	__u32 vlen;
	__u32 controllen;
	__u32 policy_version;
	__u16 rule;
	__u8 verdict;
	__u8 enforced_by;
	__u16 sock_family;
	__u16 sock_type;
	__u16 sock_protocol;
	__u16 addr_len;
	__u8 syscall;
	__u8 dst_source;
	__u8 ncmsgs;
	__u8 flags;
	__u8 comm[SG_COMM_LEN];
	struct sg_cmsg cmsgs[SG_MAX_CMSGS];
	__u8 addr[SG_ADDR_MAX];
};

_Static_assert(sizeof(struct sg_cmsg) == 16, "sg_cmsg ABI size");
_Static_assert(sizeof(struct sg_event) == 368, "sg_event ABI size");

/*
 * Flows (sendguardd --flows): allowed sends aggregated in the kernel.
 *
 * sg_flows (HASH sg_flow_key -> sg_flow_val, max_entries = --flow-table-size)
 * holds one entry per flow: what makes two sends "the same" for an auditor
 * (the process: tgid, uid, gid, executable, cgroup; the syscall; the socket;
 * the destination; the flags; the result's errno; the policy version and the
 * rule). A send the policy allows, without control messages, whose rule (or
 * the default) exports flows (SG_EXPORT_*, with the daemon's --flows mode):
 *
 *  - no entry: the send is a full event, and the entry is created with count
 *    0 (the table full: a full event, counted in flow_table_full);
 *  - an entry whose last send is less than flow_idle_ns old: counted (count,
 *    bytes with atomic adds; last_ns), no event;
 *  - an entry idle for flow_idle_ns or more: a full event; the daemon evicts
 *    such entries only once they are idle for flow_idle_ns plus a margin
 *    (SG_FLOW_EVICT_MARGIN_NS), so no send can be counted into an entry the
 *    daemon deletes.
 *
 * count/bytes only grow: the daemon reports the difference since its last
 * record of the flow. For the time of the first send of a record the kernel
 * keeps, per window of the daemon's record epoch (flow_epoch, raised before
 * each round of records), the time of the window's first counted send:
 * win_first[epoch & 1] with win_epoch[epoch & 1] = epoch.
 */
#define SG_EXPORT_DEFAULT 0 /* the daemon's --flows mode decides */
#define SG_EXPORT_FLOWS	  1 /* "export": "flows" */
#define SG_EXPORT_EVENTS  2 /* "export": "events" */

/* flows_on (trace.bpf.c rodata): the daemon's --flows mode. */
#define SG_FLOWS_OFF   0
#define SG_FLOWS_RULES 1 /* only rules with "export": "flows" */
#define SG_FLOWS_ALL   2 /* every allowed send, but rules with "export": "events" */

#define SG_FLOW_EVICT_MARGIN_NS 1000000000ULL

struct sg_flow_key {
	__u64 cgroup_id;
	__u64 exe_ino;
	__u32 exe_dev;
	__u32 pid;
	__u32 uid;
	__u32 gid;
	__u32 msg_flags;
	__u32 policy_version;
	__s32 err;
	__u16 rule;
	__u16 sock_family;
	__u16 sock_type;
	__u16 sock_protocol;
	__u16 addr_len;
	__u8 syscall;
	__u8 dst_source;
	__u8 ev_flags; /* SG_EF_SOCK | SG_EF_EXE of the sends */
	__u8 pad[7];
	__u8 addr[SG_ADDR_MAX]; /* zero past addr_len; inet/inet6 without sin_zero/flowinfo */
};

struct sg_flow_val {
	__u64 count; /* sends counted (the first, a full event, is not) */
	__u64 bytes; /* bytes sent by them */
	__u64 first_ns; /* the flow's first send (its full event) */
	__u64 last_ns; /* the latest send counted */
	__u64 win_first[2];
	__u32 win_epoch[2];
	__u8 comm[SG_COMM_LEN]; /* of the first send */
};

/*
 * Compiled policy (sendguard-policy(5)), evaluated by bpf/policy.bpf.h in every BPF
 * program and by its user-space twin, common/policy_twin.c.
 *
 * Rules become bit positions (rule i = bit i % 64 of word i / 64). For every
 * match key ("dimension") a lookup on the send's value of that key yields
 * the bitmap of rules that key does not rule out: rules without the key are
 * in every bitmap of that dimension (the dimension's default bitmap is used
 * when the value has no entry). The AND of the bitmaps of the active
 * dimensions holds the rules whose lookup keys all match; its lowest set bit
 * is the first match, after the per-rule checks that do not fit a lookup
 * (flags_all, len_min/len_max: sg_rule_rt) for rules in the `post` set. So a
 * send costs a fixed number of lookups whatever the number of rules or CIDRs.
 *
 * Every map key starts with a policy slot (0 or 1): user space fills the
 * inactive slot completely, then flips the active slot (one 32-bit store the
 * programs read once per send), so a send is judged by one whole version.
 * A slot is rewritten only after the programs have stopped using it (see the
 * daemon's reload).
 *
 * Maps (defined in bpf/policy.bpf.h; "+dflt" = the value already includes the
 * dimension's default bitmap, so a hit alone decides the dimension):
 *
 * sg_pol_active   ARRAY[1] __u32: the active slot
 * sg_pol_cfg      ARRAY[2] sg_policy_cfg, index slot
 * sg_pol_rules    ARRAY[2 * SG_MAX_RULES] sg_rule_rt, index slot * SG_MAX_RULES + rule
 * sg_pol_arr      ARRAY[2 * SG_ARR_PER_SLOT] sg_bitmap, index slot * SG_ARR_PER_SLOT +
 *                 SG_ARR_*_OFF + value: syscall, family, type, protocol (+dflt);
 *                 FLAGANY/FLAGNONE + bit: the rules whose flags_any/flags_none
 *                 has that bit (no dflt: OR-ed, resp. removed, per set bit)
 * sg_pol_id       HASH sg_id_key -> sg_bitmap (+dflt): uid, gid, and the
 *                 protocols >= SG_ARR_PROTO_MAX (AF_PACKET's htons(ETH_P_*))
 * sg_pol_comm     HASH sg_comm_key -> sg_bitmap (+dflt)
 * sg_pol_exe      HASH sg_exe_key -> sg_bitmap (+dflt)
 * sg_pol_cgroup   HASH sg_cgroup_key -> sg_bitmap (+dflt), one per cgroup v2 id;
 *                 the hits of every ancestor of the sender's cgroup are OR-ed
 * sg_pol_cmsg     HASH sg_cmsg_key -> sg_bitmap (+dflt); the hits of every
 *                 control message of the send are OR-ed
 * sg_pol_pclass   ARRAY[2 * SG_PCLASS_SPACES * SG_PCLASS_CHUNKS] sg_pclass_chunk:
 *                 port -> port class, see below
 * sg_pol_portbits ARRAY[2 * SG_MAX_PORT_CLASSES] sg_bitmap (+dflt), index
 *                 slot * SG_MAX_PORT_CLASSES + class in space SG_PCLASS_PORT
 * sg_pol_lpm4/6   LPM_TRIE sg_lpm4_key/sg_lpm6_key -> sg_bitmap (+dflt)
 * sg_pol_unix     LPM_TRIE sg_unix_key -> sg_bitmap (+dflt)
 *
 * Port classes: per class space (IPv4 dst, IPv6 dst, "port" key), the
 * compiler cuts 0..65535 into elementary intervals at every boundary of the
 * port ranges of that space; all ports of one class match the same entries.
 * sg_pol_pclass[(slot * SG_PCLASS_SPACES + space) * SG_PCLASS_CHUNKS + port / 256]
 * .c[port % 256] is the class. dst entries without a port (0-65535) are
 * stored once under class SG_PCLASS_ANY instead of once per class; a send
 * looks up (SG_PCLASS_ANY, addr) and (class of its port, addr), each only
 * when sg_policy_cfg.dst_lookups says that kind of entry exists, and ORs the
 * hits. Every LPM entry carries the bits of the shorter entries of the same
 * class that cover it (the trie returns only the longest match).
 */
#define SG_MAX_RULES  1024
#define SG_RULE_WORDS (SG_MAX_RULES / 64)
#define SG_NO_RULE    0xffff

/* Dimensions (bits of sg_policy_cfg.dims). */
#define SG_DIM_SYSCALL	  0
#define SG_DIM_FAMILY	  1
#define SG_DIM_TYPE	  2
#define SG_DIM_PROTOCOL	  3
#define SG_DIM_DST	  4
#define SG_DIM_PORT	  5
#define SG_DIM_UNIX	  6
#define SG_DIM_FLAGS_ANY  7
#define SG_DIM_FLAGS_NONE 8
#define SG_DIM_CMSG	  9
#define SG_DIM_COMM	  10
#define SG_DIM_EXE	  11
#define SG_DIM_UID	  12
#define SG_DIM_GID	  13
#define SG_DIM_CGROUP	  14
#define SG_NDIMS	  15

/* Small-domain dimensions: one bitmap per value in sg_pol_arr. */
#define SG_ARR_SYSCALL_OFF  0 /* 16 values: SG_SYSCALL_* */
#define SG_ARR_FAMILY_OFF   16 /* 64 values: AF_* */
#define SG_ARR_TYPE_OFF	    80 /* 32 values: SOCK_* */
#define SG_ARR_PROTO_OFF    112 /* SG_ARR_PROTO_MAX values: IPPROTO_* and others */
#define SG_ARR_FLAGANY_OFF  624 /* 32 values: bit number */
#define SG_ARR_FLAGNONE_OFF 656 /* 32 values: bit number */
#define SG_ARR_PER_SLOT	    688
#define SG_ARR_SYSCALL_MAX  16
#define SG_ARR_FAMILY_MAX   64
#define SG_ARR_TYPE_MAX	    32
#define SG_ARR_PROTO_MAX    512

/* Port classes (see above). */
#define SG_MAX_PORT_CLASSES 4096 /* per class space and slot */
#define SG_PCLASS_ANY	    0xffff /* dst entries for every port */
/* In the dst spaces: a port no dst port range covers (no class lookup needed). */
#define SG_PCLASS_NONE	 0xfffe
#define SG_PCLASS_V4	 0 /* class space of IPv4 dst entries */
#define SG_PCLASS_V6	 1 /* class space of IPv6 dst entries */
#define SG_PCLASS_PORT	 2 /* class space of "port" entries */
#define SG_PCLASS_SPACES 3
#define SG_PCLASS_CHUNK	 256 /* ports per sg_pol_pclass entry */
#define SG_PCLASS_CHUNKS (65536 / SG_PCLASS_CHUNK)

/* sg_policy_cfg.dst_lookups: which kinds of LPM entries exist. */
#define SG_DSTL_V4_ANY	 (1u << 0)
#define SG_DSTL_V4_CLASS (1u << 1)
#define SG_DSTL_V6_ANY	 (1u << 2)
#define SG_DSTL_V6_CLASS (1u << 3)
#define SG_DSTL_V4_L1	 (1u << 4) /* sg_pol_v4l1 answers the any-port IPv4 lookup */

#define SG_MAX_CGROUP_DEPTH 32 /* ancestor levels walked, root = level 0 */

/*
 * Entries per slot (max_entries of the maps are twice these: both slots are
 * filled while a reload runs). The compiler refuses policies beyond them.
 */
#define SG_POL_LPM_PER_SLOT  65536 /* sg_pol_lpm4, sg_pol_lpm6 each, after class expansion */
#define SG_POL_LIST_PER_SLOT 16384 /* sg_pol_unix/comm/exe/cgroup/cmsg (SG_POLICY_MAX_LIST) */
#define SG_POL_ID_PER_SLOT   (3 * SG_POL_LIST_PER_SLOT) /* uid + gid + protocol */

struct sg_bitmap {
	__u64 w[SG_RULE_WORDS];
};

/*
 * Per-rule facts the lookups cannot express. Rules without flags_all or len
 * bounds have flags_all 0, len_min 0, len_max ~0: the check always holds.
 */
struct sg_rule_rt {
	__u64 len_min;
	__u64 len_max;
	__u32 flags_all;
	__u8 action; /* SG_VERDICT_* */
	__u8 export; /* SG_EXPORT_* */
	__u8 pad[2];
};

/*
 * One per slot: sg_pol_cfg[slot].
 *
 * version        the policy's load counter (stamped into events)
 * nrules         rules 0..nrules-1 exist
 * dims           1 << SG_DIM_* for every dimension some rule uses
 * nwords         (nrules + 63) / 64: words of the bitmaps that matter
 * cgroup_levels  ancestor levels worth walking (deepest cgroup entry + 1)
 * dst_lookups    SG_DSTL_*
 * all            bits 0..nrules-1
 * post           rules with flags_all or len bounds
 * hook_deny      1 when an enforcement hook can deny anything (the default
 *                is deny, or a deny rule is certain): else hooks allow at once
 * hook_skip      the deny and kill rules that are "uncertain" for an
 *                enforcement hook (see "Enforcement hooks" below)
 * dflt           per dimension: the rules without that dimension's key
 */
struct sg_policy_cfg {
	__u32 version;
	__u32 nrules;
	__u16 dims;
	__u16 nwords;
	__u8 default_verdict;
	__u8 has_post; /* some rule needs a per-rule check */
	__u8 cgroup_levels;
	__u8 dst_lookups;
	__u32 hook_deny; /* a hook can deny: default deny or a certain deny rule */
	__u32 pad;
	struct sg_bitmap all;
	struct sg_bitmap post;
	struct sg_bitmap hook_skip;
	struct sg_bitmap dflt[SG_NDIMS];
};

/*
 * Enforcement hooks (bpf/enforce.bpf.c: cgroup connect4/6/unix and
 * sendmsg4/6/unix) see the destination, the socket (family, type, protocol)
 * and the process (comm, uid, gid, cgroup, exe), not the syscall, the flags,
 * the control messages or the length. They run the same evaluator with those
 * invisible dimensions (SG_HOOK_HIDDEN_DIMS, and the per-rule flags_all/len
 * checks) treated as "match". A rule with an invisible key is "uncertain" for
 * a hook. The hook drops the uncertain deny/kill rules (hook_skip: skipping
 * them can only allow) and takes the first rule left: a deny rule left is
 * certain and the hook fails the call with EPERM; any other rule (allow,
 * audit, kill, or an uncertain rule that might not match) lets it through;
 * no rule: the default decides (deny: EPERM). So a hook never denies what the
 * full policy allows, and never allows what the first certain deny rule that
 * matches denies. kill is left to the tracepoint (after the send).
 */
#define SG_HOOK_HIDDEN_DIMS                                                        \
	(1u << SG_DIM_SYSCALL | 1u << SG_DIM_FLAGS_ANY | 1u << SG_DIM_FLAGS_NONE | \
	 1u << SG_DIM_CMSG)

/* sg_policy_judge modes */
#define SG_EVAL_FULL 0 /* every dimension: tracepoint, LSM */
#define SG_EVAL_HOOK 1 /* cgroup hooks: see above */

/*
 * sg_denied (LRU_HASH tid -> sg_denial): an enforcement hook failed a send of
 * thread tid with EPERM; the send's sys_exit program takes the entry and
 * stamps enforced_by. Connect denials are reported by the hook itself.
 */
/*
 * known_exe (LRU_HASH sg_exe_id -> u8) and known_cgroup (LRU_HASH cgroup id
 * -> u8): the executables and cgroups whose paths the daemon has resolved; a
 * send by another wakes it at once (bpf/wakeup.bpf.h).
 */
struct sg_exe_id {
	__u64 ino;
	__u32 dev; /* the kernel's s_dev */
	__u32 pad;
};

struct sg_denial {
	__u32 version; /* the policy version that denied */
	__u16 rule; /* the deny rule, SG_RULE_DEFAULT, SG_RULE_UNJUDGED */
	__u8 enforced_by; /* SG_ENF_CGROUP or SG_ENF_LSM */
	__u8 pad;
};

/*
 * sg_unix_reached (HASH tid -> sg_unix_reach): the socket a sendto/sendmsg
 * of thread tid reached, named by the address it was bound to, written by
 * BPF-LSM unix_may_send, taken by the send's sys_exit program
 * (SG_DST_RESOLVED).
 */
struct sg_unix_reach {
	__u16 addr_len;
	__u8 addr[SG_ADDR_MAX];
	__u8 pad[6];
};

/* sg_pol_pclass value: the classes of 256 consecutive ports. */
/*
 * sg_pol_v4l1: the any-port IPv4 dst lookup by the address's top 16 bits, in
 * chunks of 256 (index slot * 256 + first byte, then the second byte):
 * SG_V4L1_MISS no entry covers the /16; SG_V4L1_LPM a longer prefix lies
 * inside it, ask sg_pol_lpm4; else leaf + SG_V4L1_LEAF0 is the bitmap in
 * sg_pol_v4leaf[slot * SG_V4_LEAVES + leaf] (the longest prefix <= /16 that
 * covers the /16). Most destinations then cost two array lookups instead of
 * a walk down a trie as deep as the policy has CIDRs.
 */
#define SG_V4L1_MISS  0
#define SG_V4L1_LPM   1
#define SG_V4L1_LEAF0 2
#define SG_V4_LEAVES  4096
/*
 * A leaf value also carries the words [lo, hi) where its bitmap is non-zero,
 * so the evaluator can narrow its window before it ANDs the bitmap in.
 */
#define SG_V4L1_ID(v)		((v)&0xffff)
#define SG_V4L1_LO(v)		((v) >> 16 & 0x1f)
#define SG_V4L1_HI(v)		((v) >> 21 & 0x3f)
#define SG_V4L1_VAL(id, lo, hi) ((id) | (lo) << 16 | (hi) << 21)
struct sg_v4l1_chunk {
	__u32 v[256];
};

struct sg_pclass_chunk {
	__u16 c[SG_PCLASS_CHUNK];
};

/*
 * sg_pol_lpm4 / sg_pol_lpm6 key: prefixlen counts slot (8) + port class (16)
 * + address bits; pclass is a class of space SG_PCLASS_V4/V6 or SG_PCLASS_ANY.
 * IPv4-mapped IPv6 destinations are looked up in sg_pol_lpm4.
 */
struct sg_lpm4_key {
	__u32 prefixlen;
	__u8 slot;
	__u8 pclass[2]; /* big endian */
	__u8 addr[4];
	__u8 pad;
};

struct sg_lpm6_key {
	__u32 prefixlen;
	__u8 slot;
	__u8 pclass[2];
	__u8 addr[16];
	__u8 pad;
};

/*
 * sg_pol_unix key: prefixlen counts slot (8) + kind (8) + name bits.
 *
 * SG_UNIX_KEY_PATH: exact entries hold the path and its terminating NUL,
 *   prefix entries the prefix bytes (no NUL). A send of path length n looks
 *   up its bytes with name[n] = 0 and prefixlen 16 + 8 * (n + 1) (n >= 109:
 *   the first 109 bytes, no NUL), so bytes after a NUL never matter.
 * SG_UNIX_KEY_ABSTRACT: abstract prefix entries, the prefix bytes; a send
 *   with an abstract name of n bytes looks up prefixlen 16 + 8 * n.
 * SG_UNIX_KEY_ABSTRACT_EXACT: exact abstract entries, a length byte then the
 *   name (which may contain NULs); looked up first (names of at most 107
 *   bytes), the prefix kind only when it misses. An exact entry carries the
 *   bits of the abstract prefix entries that cover it.
 * Unnamed unix destinations (addr_len 2) match no entry.
 */
#define SG_UNIX_KEY_PATH	   1
#define SG_UNIX_KEY_ABSTRACT	   2
#define SG_UNIX_KEY_ABSTRACT_EXACT 3
#define SG_UNIX_NAME_MAX	   108
struct sg_unix_key {
	__u32 prefixlen;
	__u8 slot;
	__u8 kind;
	__u8 name[SG_UNIX_NAME_MAX + 1];
	__u8 pad;
};

/* sg_pol_comm key: comm NUL-padded. */
struct sg_comm_key {
	__u32 slot;
	__u8 comm[SG_COMM_LEN];
};

/* sg_pol_exe key: dev in the kernel encoding, as sg_event.exe_dev. */
struct sg_exe_key {
	__u32 slot;
	__u32 dev;
	__u64 ino;
};

#define SG_ID_UID   0
#define SG_ID_GID   1
#define SG_ID_PROTO 2 /* socket protocol >= SG_ARR_PROTO_MAX */
struct sg_id_key {
	__u32 slot;
	__u32 kind; /* SG_ID_* */
	__u32 id;
};

/* sg_pol_cgroup key: cgroup v2 id (the cgroup directory's inode/handle). */
struct sg_cgroup_key {
	__u32 slot;
	__u32 pad;
	__u64 id;
};

/* sg_pol_cmsg key. */
struct sg_cmsg_key {
	__u32 slot;
	__u32 level;
	__u32 type;
};

_Static_assert(sizeof(struct sg_flow_key) == 176, "sg_flow_key ABI size");
_Static_assert(sizeof(struct sg_flow_val) == 72, "sg_flow_val ABI size");
_Static_assert(sizeof(struct sg_bitmap) == 128, "sg_bitmap ABI size");
_Static_assert(sizeof(struct sg_v4l1_chunk) == 1024, "sg_v4l1_chunk ABI size");
_Static_assert(sizeof(struct sg_rule_rt) == 24, "sg_rule_rt ABI size");
_Static_assert(sizeof(struct sg_policy_cfg) == 24 + 128 * (3 + SG_NDIMS), "sg_policy_cfg ABI size");
_Static_assert(sizeof(struct sg_denial) == 8, "sg_denial ABI size");
_Static_assert(sizeof(struct sg_exe_id) == 16, "sg_exe_id ABI size");
_Static_assert(sizeof(struct sg_unix_reach) == 120, "sg_unix_reach ABI size");
_Static_assert(sizeof(struct sg_pclass_chunk) == 512, "sg_pclass_chunk ABI size");
_Static_assert(sizeof(struct sg_lpm4_key) == 12, "sg_lpm4_key ABI size");
_Static_assert(sizeof(struct sg_lpm6_key) == 24, "sg_lpm6_key ABI size");
_Static_assert(sizeof(struct sg_unix_key) == 116, "sg_unix_key ABI size");
_Static_assert(sizeof(struct sg_comm_key) == 20, "sg_comm_key ABI size");
_Static_assert(sizeof(struct sg_exe_key) == 16, "sg_exe_key ABI size");
_Static_assert(sizeof(struct sg_id_key) == 12, "sg_id_key ABI size");
_Static_assert(sizeof(struct sg_cgroup_key) == 16, "sg_cgroup_key ABI size");
_Static_assert(sizeof(struct sg_cmsg_key) == 12, "sg_cmsg_key ABI size");

#endif /* SENDGUARD_H */
