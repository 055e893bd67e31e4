// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Name tables: see names.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/types.h>

#include "names.h"
#include "sendguard.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* value -> name: index into a sparse array of names */
#define NAME_AT(tab, v) ((v) < ARRAY_SIZE(tab) ? (tab)[(v)] : NULL)

/* name -> value: the index of name in a sparse array of names */
static int index_of(const char *const *tab, size_t n, const char *name, uint32_t *out)
{
	size_t i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (tab[i] && strcmp(tab[i], name) == 0) {
			*out = (uint32_t)i;
			return 0;
		}
	}
	return -ENOENT;
}

#define INDEX_OF(tab, name, out) index_of((tab), ARRAY_SIZE(tab), (name), (out))

/* --- MSG_* flags, by bit number ------------------------------------------- */

/*
 * Bits the kernel uses only internally (MSG_SENDPAGE_NOPOLICY, which shares
 * 0x10000 with MSG_WAITFORONE, MSG_NO_SHARED_FRAGS, MSG_SENDPAGE_DECRYPTED,
 * MSG_SOCK_DEVMEM, MSG_SPLICE_PAGES, MSG_CMSG_COMPAT) have no name here:
 * seen from user space they are unknown bits.
 */
static const char *const msg_flag_names[32] = {
	[0] = "MSG_OOB",       [1] = "MSG_PEEK",	[2] = "MSG_DONTROUTE",
	[3] = "MSG_CTRUNC",    [4] = "MSG_PROBE",	[5] = "MSG_TRUNC",
	[6] = "MSG_DONTWAIT",  [7] = "MSG_EOR",		[8] = "MSG_WAITALL",
	[9] = "MSG_FIN",       [10] = "MSG_SYN",	[11] = "MSG_CONFIRM",
	[12] = "MSG_RST",      [13] = "MSG_ERRQUEUE",	[14] = "MSG_NOSIGNAL",
	[15] = "MSG_MORE",     [16] = "MSG_WAITFORONE", [18] = "MSG_BATCH",
	[26] = "MSG_ZEROCOPY", [29] = "MSG_FASTOPEN",	[30] = "MSG_CMSG_CLOEXEC",
};

_Static_assert(MSG_DONTWAIT == 1 << 6 && MSG_NOSIGNAL == 1 << 14 && MSG_BATCH == 1 << 18 &&
		       MSG_ZEROCOPY == 1 << 26 && MSG_FASTOPEN == 1 << 29 &&
		       MSG_CMSG_CLOEXEC == 1 << 30 && MSG_WAITFORONE == 1 << 16,
	       "MSG_* bit numbers");

const char *sg_msg_flag_bit_name(unsigned int bit)
{
	return bit < 32 ? msg_flag_names[bit] : NULL;
}

const char *sg_msg_flag_name(uint32_t flag)
{
	if (!flag || (flag & (flag - 1)))
		return NULL;
	return msg_flag_names[__builtin_ctz(flag)];
}

int sg_msg_flag_from_name(const char *name, uint32_t *flag)
{
	uint32_t bit;
	int err = INDEX_OF(msg_flag_names, name, &bit);

	if (err)
		return err;
	*flag = 1u << bit;
	return 0;
}

/* --- address families ----------------------------------------------------- */

static const char *const family_names[] = {
	[0] = "unspec",	     [1] = "unix",	[2] = "inet",	   [3] = "ax25",
	[4] = "ipx",	     [5] = "appletalk", [6] = "netrom",	   [7] = "bridge",
	[8] = "atmpvc",	     [9] = "x25",	[10] = "inet6",	   [11] = "rose",
	[12] = "decnet",     [13] = "netbeui",	[14] = "security", [15] = "key",
	[16] = "netlink",    [17] = "packet",	[18] = "ash",	   [19] = "econet",
	[20] = "atmsvc",     [21] = "rds",	[22] = "sna",	   [23] = "irda",
	[24] = "pppox",	     [25] = "wanpipe",	[26] = "llc",	   [27] = "ib",
	[28] = "mpls",	     [29] = "can",	[30] = "tipc",	   [31] = "bluetooth",
	[32] = "iucv",	     [33] = "rxrpc",	[34] = "isdn",	   [35] = "phonet",
	[36] = "ieee802154", [37] = "caif",	[38] = "alg",	   [39] = "nfc",
	[40] = "vsock",	     [41] = "kcm",	[42] = "qipcrtr",  [43] = "smc",
	[44] = "xdp",	     [45] = "mctp",
};

_Static_assert(AF_UNIX == 1 && AF_INET == 2 && AF_INET6 == 10 && AF_NETLINK == 16 &&
		       AF_PACKET == 17 && AF_VSOCK == 40,
	       "AF_* numbers");

const char *sg_family_name(uint32_t family)
{
	return NAME_AT(family_names, family);
}

int sg_family_from_name(const char *name, uint32_t *family)
{
	return INDEX_OF(family_names, name, family);
}

/* --- socket types --------------------------------------------------------- */

static const char *const socktype_names[] = {
	[1] = "stream",	   [2] = "dgram", [3] = "raw",	   [4] = "rdm",
	[5] = "seqpacket", [6] = "dccp",  [10] = "packet",
};

const char *sg_socktype_name(uint32_t type)
{
	return NAME_AT(socktype_names, type);
}

int sg_socktype_from_name(const char *name, uint32_t *type)
{
	return INDEX_OF(socktype_names, name, type);
}

/* --- protocols (inet, inet6) ---------------------------------------------- */

static const char *const protocol_names[] = {
	[1] = "icmp",	    [2] = "igmp",   [4] = "ipip",    [6] = "tcp",	[8] = "egp",
	[12] = "pup",	    [17] = "udp",   [22] = "idp",    [29] = "tp",	[33] = "dccp",
	[41] = "ipv6",	    [46] = "rsvp",  [47] = "gre",    [50] = "esp",	[51] = "ah",
	[58] = "icmpv6",    [92] = "mtp",   [94] = "beetph", [98] = "encap",	[103] = "pim",
	[108] = "comp",	    [115] = "l2tp", [132] = "sctp",  [136] = "udplite", [137] = "mpls",
	[143] = "ethernet", [255] = "raw",  [262] = "mptcp",
};

const char *sg_protocol_name(uint32_t family, uint32_t protocol)
{
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	return NAME_AT(protocol_names, protocol);
}

int sg_protocol_from_name(const char *name, uint32_t *protocol)
{
	return INDEX_OF(protocol_names, name, protocol);
}

/* --- control messages ----------------------------------------------------- */

static const char *const cmsg_socket_types[] = {
	[1] = "SCM_RIGHTS",
	[2] = "SCM_CREDENTIALS",
	[3] = "SCM_SECURITY",
	[4] = "SCM_PIDFD",
	[12] = "SO_PRIORITY",
	[29] = "SCM_TIMESTAMP",
	[35] = "SCM_TIMESTAMPNS",
	[36] = "SO_MARK",
	[37] = "SCM_TIMESTAMPING",
	[40] = "SO_RXQ_OVFL",
	[41] = "SCM_WIFI_STATUS",
	[54] = "SCM_TIMESTAMPING_OPT_STATS",
	[58] = "SCM_TIMESTAMPING_PKTINFO",
	[61] = "SCM_TXTIME",
	[63] = "SO_TIMESTAMP_NEW",
	[64] = "SO_TIMESTAMPNS_NEW",
	[65] = "SO_TIMESTAMPING_NEW",
	[75] = "SO_RCVMARK",
	[78] = "SCM_DEVMEM_LINEAR",
	[79] = "SCM_DEVMEM_DMABUF",
	[81] = "SCM_TS_OPT_ID",
	[82] = "SO_RCVPRIORITY",
};

static const char *const cmsg_ip_types[] = {
	[1] = "IP_TOS",		  [2] = "IP_TTL",
	[3] = "IP_HDRINCL",	  [4] = "IP_OPTIONS",
	[5] = "IP_ROUTER_ALERT",  [6] = "IP_RECVOPTS",
	[7] = "IP_RETOPTS",	  [8] = "IP_PKTINFO",
	[9] = "IP_PKTOPTIONS",	  [10] = "IP_MTU_DISCOVER",
	[11] = "IP_RECVERR",	  [12] = "IP_RECVTTL",
	[13] = "IP_RECVTOS",	  [14] = "IP_MTU",
	[15] = "IP_FREEBIND",	  [16] = "IP_IPSEC_POLICY",
	[17] = "IP_XFRM_POLICY",  [18] = "IP_PASSSEC",
	[19] = "IP_TRANSPARENT",  [20] = "IP_ORIGDSTADDR",
	[21] = "IP_MINTTL",	  [22] = "IP_NODEFRAG",
	[23] = "IP_CHECKSUM",	  [24] = "IP_BIND_ADDRESS_NO_PORT",
	[25] = "IP_RECVFRAGSIZE", [26] = "IP_RECVERR_RFC4884",
	[52] = "IP_PROTOCOL",
};

static const char *const cmsg_ipv6_types[] = {
	[2] = "IPV6_2292PKTINFO",   [3] = "IPV6_2292HOPOPTS",	 [4] = "IPV6_2292DSTOPTS",
	[5] = "IPV6_2292RTHDR",	    [6] = "IPV6_2292PKTOPTIONS", [7] = "IPV6_CHECKSUM",
	[8] = "IPV6_2292HOPLIMIT",  [9] = "IPV6_NEXTHOP",	 [10] = "IPV6_AUTHHDR",
	[11] = "IPV6_FLOWINFO",	    [25] = "IPV6_RECVERR",	 [31] = "IPV6_RECVERR_RFC4884",
	[49] = "IPV6_RECVPKTINFO",  [50] = "IPV6_PKTINFO",	 [51] = "IPV6_RECVHOPLIMIT",
	[52] = "IPV6_HOPLIMIT",	    [53] = "IPV6_RECVHOPOPTS",	 [54] = "IPV6_HOPOPTS",
	[55] = "IPV6_RTHDRDSTOPTS", [56] = "IPV6_RECVRTHDR",	 [57] = "IPV6_RTHDR",
	[58] = "IPV6_RECVDSTOPTS",  [59] = "IPV6_DSTOPTS",	 [60] = "IPV6_RECVPATHMTU",
	[61] = "IPV6_PATHMTU",	    [62] = "IPV6_DONTFRAG",	 [66] = "IPV6_RECVTCLASS",
	[67] = "IPV6_TCLASS",	    [74] = "IPV6_ORIGDSTADDR",	 [77] = "IPV6_RECVFRAGSIZE",
};

static const char *const cmsg_tcp_types[] = {
	[36] = "TCP_CM_INQ",
};

static const char *const cmsg_udp_types[] = {
	[103] = "UDP_SEGMENT",
	[104] = "UDP_GRO",
};

static const char *const cmsg_sctp_types[] = {
	[0] = "SCTP_INIT",     [1] = "SCTP_SNDRCV",    [2] = "SCTP_SNDINFO",
	[3] = "SCTP_RCVINFO",  [4] = "SCTP_NXTINFO",   [5] = "SCTP_PRINFO",
	[6] = "SCTP_AUTHINFO", [7] = "SCTP_DSTADDRV4", [8] = "SCTP_DSTADDRV6",
};

static const char *const cmsg_alg_types[] = {
	[2] = "ALG_SET_IV",
	[3] = "ALG_SET_OP",
	[4] = "ALG_SET_AEAD_ASSOCLEN",
};

static const char *const cmsg_tls_types[] = {
	[1] = "TLS_SET_RECORD_TYPE",
	[2] = "TLS_GET_RECORD_TYPE",
};

struct cmsg_level {
	const char *name;
	const char *const *types;
	uint32_t ntypes;
};

#define LEVEL(n, t)                                                \
	{                                                          \
		.name = (n), .types = (t), .ntypes = ARRAY_SIZE(t) \
	}

static const struct cmsg_level cmsg_levels[] = {
	[0] = LEVEL("IPPROTO_IP", cmsg_ip_types),
	[1] = LEVEL("SOL_SOCKET", cmsg_socket_types),
	[6] = LEVEL("IPPROTO_TCP", cmsg_tcp_types),
	[17] = LEVEL("IPPROTO_UDP", cmsg_udp_types),
	[41] = LEVEL("IPPROTO_IPV6", cmsg_ipv6_types),
	[58] = { .name = "IPPROTO_ICMPV6" },
	[132] = LEVEL("SOL_SCTP", cmsg_sctp_types),
	[255] = { .name = "SOL_RAW" },
	[263] = { .name = "SOL_PACKET" },
	[271] = { .name = "SOL_TIPC" },
	[276] = { .name = "SOL_RDS" },
	[279] = LEVEL("SOL_ALG", cmsg_alg_types),
	[282] = LEVEL("SOL_TLS", cmsg_tls_types),
	[283] = { .name = "SOL_XDP" },
	[284] = { .name = "SOL_MPTCP" },
	[285] = { .name = "SOL_MCTP" },
	[286] = { .name = "SOL_SMC" },
	[287] = { .name = "SOL_VSOCK" },
};

_Static_assert(SOL_SOCKET == 1 && IPPROTO_IPV6 == 41 && IPPROTO_UDP == 17, "cmsg levels");

/* Other spellings of the same levels, accepted by the parser. */
static const struct {
	const char *name;
	uint32_t level;
} cmsg_level_aliases[] = {
	{ "SOL_IP", 0 },    { "SOL_TCP", 6 },	  { "SOL_UDP", 17 },
	{ "SOL_IPV6", 41 }, { "SOL_ICMPV6", 58 }, { "IPPROTO_SCTP", 132 },
};

const char *sg_cmsg_level_name(uint32_t level)
{
	return level < ARRAY_SIZE(cmsg_levels) ? cmsg_levels[level].name : NULL;
}

int sg_cmsg_level_from_name(const char *name, uint32_t *level)
{
	size_t i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(cmsg_levels); i++) {
		if (cmsg_levels[i].name && strcmp(cmsg_levels[i].name, name) == 0) {
			*level = (uint32_t)i;
			return 0;
		}
	}
	for (i = 0; i < ARRAY_SIZE(cmsg_level_aliases); i++) {
		if (strcmp(cmsg_level_aliases[i].name, name) == 0) {
			*level = cmsg_level_aliases[i].level;
			return 0;
		}
	}
	return -ENOENT;
}

const char *sg_cmsg_type_name(uint32_t level, uint32_t type)
{
	const struct cmsg_level *l;

	if (level >= ARRAY_SIZE(cmsg_levels))
		return NULL;
	l = &cmsg_levels[level];
	return type < l->ntypes ? l->types[type] : NULL;
}

int sg_cmsg_type_from_name(const char *name, uint32_t *level, uint32_t *type)
{
	size_t i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(cmsg_levels); i++) {
		const struct cmsg_level *l = &cmsg_levels[i];

		if (l->types && index_of(l->types, l->ntypes, name, type) == 0) {
			*level = (uint32_t)i;
			return 0;
		}
	}
	return -ENOENT;
}

/* --- errno ---------------------------------------------------------------- */

#define N(e) [e] = #e
static const char *const errno_names[] = {
	N(EPERM),
	N(ENOENT),
	N(ESRCH),
	N(EINTR),
	N(EIO),
	N(ENXIO),
	N(E2BIG),
	N(ENOEXEC),
	N(EBADF),
	N(ECHILD),
	N(EAGAIN),
	N(ENOMEM),
	N(EACCES),
	N(EFAULT),
	N(ENOTBLK),
	N(EBUSY),
	N(EEXIST),
	N(EXDEV),
	N(ENODEV),
	N(ENOTDIR),
	N(EISDIR),
	N(EINVAL),
	N(ENFILE),
	N(EMFILE),
	N(ENOTTY),
	N(ETXTBSY),
	N(EFBIG),
	N(ENOSPC),
	N(ESPIPE),
	N(EROFS),
	N(EMLINK),
	N(EPIPE),
	N(EDOM),
	N(ERANGE),
	N(EDEADLK),
	N(ENAMETOOLONG),
	N(ENOLCK),
	N(ENOSYS),
	N(ENOTEMPTY),
	N(ELOOP),
	N(ENOMSG),
	N(EIDRM),
	N(ECHRNG),
	N(EL2NSYNC),
	N(EL3HLT),
	N(EL3RST),
	N(ELNRNG),
	N(EUNATCH),
	N(ENOCSI),
	N(EL2HLT),
	N(EBADE),
	N(EBADR),
	N(EXFULL),
	N(ENOANO),
	N(EBADRQC),
	N(EBADSLT),
	N(EBFONT),
	N(ENOSTR),
	N(ENODATA),
	N(ETIME),
	N(ENOSR),
	N(ENONET),
	N(ENOPKG),
	N(EREMOTE),
	N(ENOLINK),
	N(EADV),
	N(ESRMNT),
	N(ECOMM),
	N(EPROTO),
	N(EMULTIHOP),
	N(EDOTDOT),
	N(EBADMSG),
	N(EOVERFLOW),
	N(ENOTUNIQ),
	N(EBADFD),
	N(EREMCHG),
	N(ELIBACC),
	N(ELIBBAD),
	N(ELIBSCN),
	N(ELIBMAX),
	N(ELIBEXEC),
	N(EILSEQ),
	N(ERESTART),
	N(ESTRPIPE),
	N(EUSERS),
	N(ENOTSOCK),
	N(EDESTADDRREQ),
	N(EMSGSIZE),
	N(EPROTOTYPE),
	N(ENOPROTOOPT),
	N(EPROTONOSUPPORT),
	N(ESOCKTNOSUPPORT),
	N(EOPNOTSUPP),
	N(EPFNOSUPPORT),
	N(EAFNOSUPPORT),
	N(EADDRINUSE),
	N(EADDRNOTAVAIL),
	N(ENETDOWN),
	N(ENETUNREACH),
	N(ENETRESET),
	N(ECONNABORTED),
	N(ECONNRESET),
	N(ENOBUFS),
	N(EISCONN),
	N(ENOTCONN),
	N(ESHUTDOWN),
	N(ETOOMANYREFS),
	N(ETIMEDOUT),
	N(ECONNREFUSED),
	N(EHOSTDOWN),
	N(EHOSTUNREACH),
	N(EALREADY),
	N(EINPROGRESS),
	N(ESTALE),
	N(EUCLEAN),
	N(ENOTNAM),
	N(ENAVAIL),
	N(EISNAM),
	N(EREMOTEIO),
	N(EDQUOT),
	N(ENOMEDIUM),
	N(EMEDIUMTYPE),
	N(ECANCELED),
	N(ENOKEY),
	N(EKEYEXPIRED),
	N(EKEYREVOKED),
	N(EKEYREJECTED),
	N(EOWNERDEAD),
	N(ENOTRECOVERABLE),
	N(ERFKILL),
	N(EHWPOISON),
	/*
	 * Kernel-internal codes (include/linux/errno.h): never returned to user
	 * space, but the sys_exit tracepoint can see them (e.g. ERESTARTSYS for
	 * a send interrupted by a signal, before the restart).
	 */
	[512] = "ERESTARTSYS",
	[513] = "ERESTARTNOINTR",
	[514] = "ERESTARTNOHAND",
	[515] = "ENOIOCTLCMD",
	[516] = "ERESTART_RESTARTBLOCK",
	[517] = "EPROBE_DEFER",
	[518] = "EOPENSTALE",
	[519] = "ENOPARAM",
	[521] = "EBADHANDLE",
	[522] = "ENOTSYNC",
	[523] = "EBADCOOKIE",
	[524] = "ENOTSUPP",
	[525] = "ETOOSMALL",
	[526] = "ESERVERFAULT",
	[527] = "EBADTYPE",
	[528] = "EJUKEBOX",
	[529] = "EIOCBQUEUED",
	[530] = "ERECALLCONFLICT",
	[531] = "ENOGRACE",
};
#undef N

static const struct {
	const char *name;
	int err;
} errno_aliases[] = {
	{ "EWOULDBLOCK", EWOULDBLOCK },
	{ "EDEADLOCK", EDEADLOCK },
	{ "ENOTSUP", ENOTSUP },
};

const char *sg_errno_name(int err)
{
	if (err < 0)
		return NULL;
	return NAME_AT(errno_names, (unsigned int)err);
}

int sg_errno_from_name(const char *name, int *err)
{
	uint32_t v;
	size_t i;
	int ret = INDEX_OF(errno_names, name, &v);

	if (ret == 0) {
		*err = (int)v;
		return 0;
	}
	if (ret != -ENOENT)
		return ret;
	for (i = 0; i < ARRAY_SIZE(errno_aliases); i++) {
		if (strcmp(errno_aliases[i].name, name) == 0) {
			*err = errno_aliases[i].err;
			return 0;
		}
	}
	return -ENOENT;
}

/* --- sendguard's own enums ------------------------------------------------ */

static const char *const syscall_names[] = {
	[SG_SYSCALL_SENDTO] = "sendto",	    [SG_SYSCALL_SENDMSG] = "sendmsg",
	[SG_SYSCALL_SENDMMSG] = "sendmmsg", [SG_SYSCALL_CONNECT] = "connect",
	[SG_SYSCALL_WRITE] = "write",	    [SG_SYSCALL_WRITEV] = "writev",
	[SG_SYSCALL_SENDFILE] = "sendfile", [SG_SYSCALL_SPLICE] = "splice",
	[SG_SYSCALL_IO_URING] = "io_uring", [SG_SYSCALL_OTHER] = "other",
};

const char *sg_syscall_name(uint32_t syscall)
{
	return NAME_AT(syscall_names, syscall);
}

int sg_syscall_from_name(const char *name, uint32_t *syscall)
{
	return INDEX_OF(syscall_names, name, syscall);
}

static const char *const verdict_names[] = {
	[SG_VERDICT_ALLOW] = "allow",
	[SG_VERDICT_DENY] = "deny",
	[SG_VERDICT_AUDIT] = "audit",
	[SG_VERDICT_KILL] = "kill",
};

const char *sg_verdict_name(uint32_t verdict)
{
	return NAME_AT(verdict_names, verdict);
}

int sg_verdict_from_name(const char *name, uint32_t *verdict)
{
	return INDEX_OF(verdict_names, name, verdict);
}

static const char *const enforcer_names[] = {
	[SG_ENF_LSM] = "lsm",
	[SG_ENF_CGROUP] = "cgroup",
	[SG_ENF_SECCOMP] = "seccomp",
	[SG_ENF_SIGNAL] = "signal",
};

const char *sg_enforcer_name(uint32_t enforced_by)
{
	return NAME_AT(enforcer_names, enforced_by);
}

int sg_enforcer_from_name(const char *name, uint32_t *enforced_by)
{
	return INDEX_OF(enforcer_names, name, enforced_by);
}
