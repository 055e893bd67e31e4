// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for common/names.c: every table both ways. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "names.h"
#include <linux/types.h>

#include "sendguard.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct case_u32 {
	uint32_t value;
	const char *name; /* NULL: no name */
};

static void check_str(const char *got, const char *want, uint32_t value)
{
	if (!want) {
		if (got)
			fail_msg("value %u: expected no name, got %s", value, got);
		return;
	}
	if (!got)
		fail_msg("value %u: expected %s, got no name", value, want);
	assert_string_equal(got, want);
}

static void test_msg_flags(void **state)
{
	static const struct case_u32 cases[] = {
		{ 0x1, "MSG_OOB" },
		{ 0x2, "MSG_PEEK" },
		{ 0x4, "MSG_DONTROUTE" },
		{ 0x8, "MSG_CTRUNC" },
		{ 0x10, "MSG_PROBE" },
		{ 0x20, "MSG_TRUNC" },
		{ 0x40, "MSG_DONTWAIT" },
		{ 0x80, "MSG_EOR" },
		{ 0x100, "MSG_WAITALL" },
		{ 0x200, "MSG_FIN" },
		{ 0x400, "MSG_SYN" },
		{ 0x800, "MSG_CONFIRM" },
		{ 0x1000, "MSG_RST" },
		{ 0x2000, "MSG_ERRQUEUE" },
		{ 0x4000, "MSG_NOSIGNAL" },
		{ 0x8000, "MSG_MORE" },
		{ 0x10000, "MSG_WAITFORONE" },
		{ 0x20000, NULL },
		{ 0x40000, "MSG_BATCH" },
		{ 0x80000, NULL },
		{ 0x100000, NULL },
		{ 0x2000000, NULL },
		{ 0x4000000, "MSG_ZEROCOPY" },
		{ 0x8000000, NULL },
		{ 0x20000000, "MSG_FASTOPEN" },
		{ 0x40000000, "MSG_CMSG_CLOEXEC" },
		{ 0x80000000, NULL },
		/* not single bits */
		{ 0, NULL },
		{ 0x41, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint32_t v = 0;

		check_str(sg_msg_flag_name(cases[i].value), cases[i].name, cases[i].value);
		if (!cases[i].name)
			continue;
		assert_int_equal(sg_msg_flag_from_name(cases[i].name, &v), 0);
		assert_int_equal(v, cases[i].value);
		assert_string_equal(sg_msg_flag_bit_name((unsigned)__builtin_ctz(cases[i].value)),
				    cases[i].name);
	}
	/* agree with the C library's constants */
	assert_string_equal(sg_msg_flag_name(MSG_DONTWAIT), "MSG_DONTWAIT");
	assert_string_equal(sg_msg_flag_name(MSG_NOSIGNAL), "MSG_NOSIGNAL");
	assert_string_equal(sg_msg_flag_name(MSG_MORE), "MSG_MORE");
	assert_string_equal(sg_msg_flag_name(MSG_CONFIRM), "MSG_CONFIRM");
	assert_string_equal(sg_msg_flag_name(MSG_FASTOPEN), "MSG_FASTOPEN");
	assert_null(sg_msg_flag_bit_name(32));
	uint32_t v;
	assert_int_equal(sg_msg_flag_from_name("MSG_BOGUS", &v), -ENOENT);
	assert_int_equal(sg_msg_flag_from_name("msg_oob", &v), -ENOENT);
	assert_int_equal(sg_msg_flag_from_name(NULL, &v), -EINVAL);
}

static void test_families(void **state)
{
	static const struct case_u32 cases[] = {
		{ AF_UNSPEC, "unspec" },
		{ AF_UNIX, "unix" },
		{ AF_INET, "inet" },
		{ AF_INET6, "inet6" },
		{ AF_NETLINK, "netlink" },
		{ AF_PACKET, "packet" },
		{ AF_VSOCK, "vsock" },
		{ AF_BLUETOOTH, "bluetooth" },
		{ AF_ALG, "alg" },
		{ AF_XDP, "xdp" },
		{ AF_CAN, "can" },
		{ AF_TIPC, "tipc" },
		{ 46, NULL },
		{ 1000, NULL },
		{ 0xffff, NULL },
	};
	size_t i;
	uint32_t v;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		check_str(sg_family_name(cases[i].value), cases[i].name, cases[i].value);
		if (cases[i].name) {
			assert_int_equal(sg_family_from_name(cases[i].name, &v), 0);
			assert_int_equal(v, cases[i].value);
		}
	}
	assert_int_equal(sg_family_from_name("AF_INET", &v), -ENOENT);
	assert_int_equal(sg_family_from_name("", &v), -ENOENT);
}

static void test_socktypes(void **state)
{
	static const struct case_u32 cases[] = {
		{ SOCK_STREAM, "stream" },
		{ SOCK_DGRAM, "dgram" },
		{ SOCK_RAW, "raw" },
		{ SOCK_RDM, "rdm" },
		{ SOCK_SEQPACKET, "seqpacket" },
		{ SOCK_DCCP, "dccp" },
		{ SOCK_PACKET, "packet" },
		{ 0, NULL },
		{ 7, NULL },
		{ 11, NULL },
		{ 99999, NULL },
	};
	size_t i;
	uint32_t v;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		check_str(sg_socktype_name(cases[i].value), cases[i].name, cases[i].value);
		if (cases[i].name) {
			assert_int_equal(sg_socktype_from_name(cases[i].name, &v), 0);
			assert_int_equal(v, cases[i].value);
		}
	}
	assert_int_equal(sg_socktype_from_name("datagram", &v), -ENOENT);
}

static void test_protocols(void **state)
{
	static const struct case_u32 cases[] = {
		{ IPPROTO_TCP, "tcp" },
		{ IPPROTO_UDP, "udp" },
		{ IPPROTO_UDPLITE, "udplite" },
		{ IPPROTO_ICMP, "icmp" },
		{ IPPROTO_ICMPV6, "icmpv6" },
		{ IPPROTO_SCTP, "sctp" },
		{ 262, "mptcp" },
		{ IPPROTO_RAW, "raw" },
		{ IPPROTO_DCCP, "dccp" },
		{ 0, NULL },
		{ 200, NULL },
		{ 263, NULL },
		{ 65535, NULL },
	};
	size_t i;
	uint32_t v;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		check_str(sg_protocol_name(AF_INET, cases[i].value), cases[i].name, cases[i].value);
		check_str(sg_protocol_name(AF_INET6, cases[i].value), cases[i].name,
			  cases[i].value);
		if (cases[i].name) {
			assert_int_equal(sg_protocol_from_name(cases[i].name, &v), 0);
			assert_int_equal(v, cases[i].value);
		}
	}
	/* other families: always the number */
	assert_null(sg_protocol_name(AF_UNIX, 0));
	assert_null(sg_protocol_name(AF_NETLINK, IPPROTO_UDP));
	assert_null(sg_protocol_name(AF_PACKET, IPPROTO_TCP));
	assert_int_equal(sg_protocol_from_name("TCP", &v), -ENOENT);
}

struct case_cmsg {
	uint32_t level, type;
	const char *level_name, *type_name;
};

static void test_cmsgs(void **state)
{
	static const struct case_cmsg cases[] = {
		{ SOL_SOCKET, SCM_RIGHTS, "SOL_SOCKET", "SCM_RIGHTS" },
		{ SOL_SOCKET, SCM_CREDENTIALS, "SOL_SOCKET", "SCM_CREDENTIALS" },
		{ SOL_SOCKET, 29, "SOL_SOCKET", "SCM_TIMESTAMP" },
		{ SOL_SOCKET, 37, "SOL_SOCKET", "SCM_TIMESTAMPING" },
		{ SOL_SOCKET, SO_MARK, "SOL_SOCKET", "SO_MARK" },
		{ SOL_SOCKET, SO_PRIORITY, "SOL_SOCKET", "SO_PRIORITY" },
		{ SOL_SOCKET, 61, "SOL_SOCKET", "SCM_TXTIME" },
		{ SOL_SOCKET, 5, "SOL_SOCKET", NULL },
		{ IPPROTO_IP, IP_PKTINFO, "IPPROTO_IP", "IP_PKTINFO" },
		{ IPPROTO_IP, IP_TOS, "IPPROTO_IP", "IP_TOS" },
		{ IPPROTO_IP, IP_TTL, "IPPROTO_IP", "IP_TTL" },
		{ IPPROTO_IP, IP_RETOPTS, "IPPROTO_IP", "IP_RETOPTS" },
		{ IPPROTO_IP, 99, "IPPROTO_IP", NULL },
		{ IPPROTO_IPV6, IPV6_PKTINFO, "IPPROTO_IPV6", "IPV6_PKTINFO" },
		{ IPPROTO_IPV6, IPV6_HOPLIMIT, "IPPROTO_IPV6", "IPV6_HOPLIMIT" },
		{ IPPROTO_IPV6, IPV6_TCLASS, "IPPROTO_IPV6", "IPV6_TCLASS" },
		{ IPPROTO_IPV6, IPV6_DONTFRAG, "IPPROTO_IPV6", "IPV6_DONTFRAG" },
		{ IPPROTO_IPV6, 0, "IPPROTO_IPV6", NULL },
		{ IPPROTO_UDP, 103, "IPPROTO_UDP", "UDP_SEGMENT" },
		{ IPPROTO_UDP, 1, "IPPROTO_UDP", NULL },
		{ IPPROTO_TCP, 36, "IPPROTO_TCP", "TCP_CM_INQ" },
		{ 282, 1, "SOL_TLS", "TLS_SET_RECORD_TYPE" },
		{ 279, 3, "SOL_ALG", "ALG_SET_OP" },
		{ 132, 2, "SOL_SCTP", "SCTP_SNDINFO" },
		{ 263, 1, "SOL_PACKET", NULL },
		{ 2, 1, NULL, NULL },
		{ 100000, 1, NULL, NULL },
		{ 0xffffffffu, 0xffffffffu, NULL, NULL },
	};
	size_t i;
	uint32_t level, type;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		check_str(sg_cmsg_level_name(cases[i].level), cases[i].level_name, cases[i].level);
		check_str(sg_cmsg_type_name(cases[i].level, cases[i].type), cases[i].type_name,
			  cases[i].type);
		if (cases[i].level_name) {
			assert_int_equal(sg_cmsg_level_from_name(cases[i].level_name, &level), 0);
			assert_int_equal(level, cases[i].level);
		}
		if (cases[i].type_name) {
			assert_int_equal(sg_cmsg_type_from_name(cases[i].type_name, &level, &type),
					 0);
			assert_int_equal(level, cases[i].level);
			assert_int_equal(type, cases[i].type);
		}
	}
	assert_int_equal(sg_cmsg_level_from_name("SOL_IP", &level), 0);
	assert_int_equal(level, 0);
	assert_int_equal(sg_cmsg_level_from_name("SOL_IPV6", &level), 0);
	assert_int_equal(level, 41);
	assert_int_equal(sg_cmsg_level_from_name("SOL_BOGUS", &level), -ENOENT);
	assert_int_equal(sg_cmsg_type_from_name("SCM_BOGUS", &level, &type), -ENOENT);
}

struct case_errno {
	int err;
	const char *name;
};

static void test_errnos(void **state)
{
	static const struct case_errno cases[] = {
		{ EPERM, "EPERM" },
		{ ENOENT, "ENOENT" },
		{ EINTR, "EINTR" },
		{ EBADF, "EBADF" },
		{ EAGAIN, "EAGAIN" },
		{ ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" },
		{ EFAULT, "EFAULT" },
		{ EINVAL, "EINVAL" },
		{ EPIPE, "EPIPE" },
		{ EDEADLK, "EDEADLK" },
		{ ENOTSOCK, "ENOTSOCK" },
		{ EDESTADDRREQ, "EDESTADDRREQ" },
		{ EMSGSIZE, "EMSGSIZE" },
		{ EOPNOTSUPP, "EOPNOTSUPP" },
		{ EAFNOSUPPORT, "EAFNOSUPPORT" },
		{ EADDRNOTAVAIL, "EADDRNOTAVAIL" },
		{ ENETUNREACH, "ENETUNREACH" },
		{ ECONNRESET, "ECONNRESET" },
		{ ENOBUFS, "ENOBUFS" },
		{ EISCONN, "EISCONN" },
		{ ENOTCONN, "ENOTCONN" },
		{ ETIMEDOUT, "ETIMEDOUT" },
		{ ECONNREFUSED, "ECONNREFUSED" },
		{ EHOSTUNREACH, "EHOSTUNREACH" },
		{ EINPROGRESS, "EINPROGRESS" },
		{ EHWPOISON, "EHWPOISON" },
		{ 512, "ERESTARTSYS" },
		{ 524, "ENOTSUPP" },
		{ 0, NULL },
		{ 41, NULL }, /* no errno 41 (EWOULDBLOCK's old slot) */
		{ 58, NULL },
		{ 134, NULL },
		{ 4095, NULL },
		{ -1, NULL },
	};
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		check_str(sg_errno_name(cases[i].err), cases[i].name, (uint32_t)cases[i].err);
		if (cases[i].name) {
			assert_int_equal(sg_errno_from_name(cases[i].name, &v), 0);
			assert_int_equal(v, cases[i].err);
		}
	}
	/* every errno 1..133 except the two holes has a name */
	for (v = 1; v <= 133; v++) {
		if (v == 41 || v == 58)
			continue;
		if (!sg_errno_name(v))
			fail_msg("errno %d has no name", v);
	}
	assert_int_equal(sg_errno_from_name("EWOULDBLOCK", &v), 0);
	assert_int_equal(v, EAGAIN);
	assert_int_equal(sg_errno_from_name("ENOTSUP", &v), 0);
	assert_int_equal(v, EOPNOTSUPP);
	assert_int_equal(sg_errno_from_name("EDEADLOCK", &v), 0);
	assert_int_equal(v, EDEADLK);
	assert_int_equal(sg_errno_from_name("EBOGUS", &v), -ENOENT);
}

static void test_sendguard_enums(void **state)
{
	static const struct case_u32 syscalls[] = {
		{ SG_SYSCALL_SENDTO, "sendto" },
		{ SG_SYSCALL_SENDMSG, "sendmsg" },
		{ SG_SYSCALL_SENDMMSG, "sendmmsg" },
		{ SG_SYSCALL_CONNECT, "connect" },
		{ SG_SYSCALL_WRITE, "write" },
		{ SG_SYSCALL_WRITEV, "writev" },
		{ SG_SYSCALL_SENDFILE, "sendfile" },
		{ SG_SYSCALL_SPLICE, "splice" },
		{ SG_SYSCALL_IO_URING, "io_uring" },
		{ SG_SYSCALL_OTHER, "other" },
		{ 0, NULL },
		{ SG_SYSCALL_MAX + 1, NULL },
	};
	static const struct case_u32 verdicts[] = {
		{ SG_VERDICT_ALLOW, "allow" },
		{ SG_VERDICT_DENY, "deny" },
		{ SG_VERDICT_AUDIT, "audit" },
		{ SG_VERDICT_KILL, "kill" },
		{ 4, NULL },
		{ 255, NULL },
	};
	static const struct case_u32 enforcers[] = {
		{ SG_ENF_NONE, NULL },	     { SG_ENF_LSM, "lsm" },
		{ SG_ENF_CGROUP, "cgroup" }, { SG_ENF_SECCOMP, "seccomp" },
		{ SG_ENF_SIGNAL, "signal" }, { 5, NULL },
	};
	size_t i;
	uint32_t v;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(syscalls); i++) {
		check_str(sg_syscall_name(syscalls[i].value), syscalls[i].name, syscalls[i].value);
		if (syscalls[i].name) {
			assert_int_equal(sg_syscall_from_name(syscalls[i].name, &v), 0);
			assert_int_equal(v, syscalls[i].value);
		}
	}
	for (i = 0; i < ARRAY_SIZE(verdicts); i++) {
		check_str(sg_verdict_name(verdicts[i].value), verdicts[i].name, verdicts[i].value);
		if (verdicts[i].name) {
			assert_int_equal(sg_verdict_from_name(verdicts[i].name, &v), 0);
			assert_int_equal(v, verdicts[i].value);
		}
	}
	for (i = 0; i < ARRAY_SIZE(enforcers); i++) {
		check_str(sg_enforcer_name(enforcers[i].value), enforcers[i].name,
			  enforcers[i].value);
		if (enforcers[i].name) {
			assert_int_equal(sg_enforcer_from_name(enforcers[i].name, &v), 0);
			assert_int_equal(v, enforcers[i].value);
		}
	}
	assert_int_equal(sg_syscall_from_name("send", &v), -ENOENT);
	assert_int_equal(sg_verdict_from_name("none", &v), -ENOENT);
	assert_int_equal(sg_enforcer_from_name("none", &v), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_flags),	cmocka_unit_test(test_families),
		cmocka_unit_test(test_socktypes),	cmocka_unit_test(test_protocols),
		cmocka_unit_test(test_cmsgs),		cmocka_unit_test(test_errnos),
		cmocka_unit_test(test_sendguard_enums),
	};

	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
