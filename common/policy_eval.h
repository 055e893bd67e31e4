/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The reference policy evaluator (policy_eval.c): the meaning of a policy,
 * judged on one send described by a struct sg_send_desc. `sendguard policy
 * test` and the `sendguard run` supervisor judge with it; the BPF evaluator
 * and its user-space twin are tested against it.
 *
 * Library code: never prints, never exits.
 */
#ifndef SG_POLICY_EVAL_H
#define SG_POLICY_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"
#include "sendguard.h"

/*
 * One send as the evaluator sees it: the fields of struct sg_event that
 * policies match on, plus what user space resolves (cgroup path).
 *
 * syscall      SG_SYSCALL_*
 * has_sock     fd is a socket; sock_family/type/protocol are then valid. Without
 *              a socket, family/type/protocol keys do not hold.
 * addr/addr_len  the destination as raw sockaddr bytes (sg_event.addr):
 *              AF_INET (>= 8 bytes), AF_INET6 (>= 24 bytes; ::ffff:a.b.c.d is
 *              judged as the IPv4 a.b.c.d), AF_UNIX (2 bytes: unnamed, matches
 *              no unix entry; sun_path[0] == 0: abstract name = the remaining
 *              bytes; else path up to the first NUL). addr_len 0: none.
 * msg_flags    flags argument of the syscall
 * cmsgs        the control messages seen (level, type); ncmsgs <= SG_MAX_CMSGS
 * len          bytes offered
 * comm         NUL-terminated within SG_COMM_LEN
 * has_exe      exe_dev/exe_ino valid (kernel dev encoding, as sg_event)
 * uid, gid     of the sender
 * cgroup       cgroup v2 path of the sender ("/system.slice/x.service"), or
 *              NULL when unknown: then no cgroup entry holds
 */
struct sg_send_desc {
	uint32_t syscall;
	bool has_sock;
	uint32_t sock_family;
	uint32_t sock_type;
	uint32_t sock_protocol;
	uint16_t addr_len;
	uint8_t addr[SG_ADDR_MAX];
	uint32_t msg_flags;
	uint32_t ncmsgs;
	struct sg_cmsg cmsgs[SG_MAX_CMSGS];
	uint64_t len;
	char comm[SG_COMM_LEN];
	bool has_exe;
	uint64_t exe_dev;
	uint64_t exe_ino;
	uint32_t uid;
	uint32_t gid;
	const char *cgroup;
};

/*
 * Judge one send: rules in order, the first whose match holds decides.
 * Sets *verdict (SG_VERDICT_*) and returns the index of the deciding rule, or
 * -1 when the default decided.
 */
int sg_policy_eval(const struct sg_policy *p, const struct sg_send_desc *d, uint32_t *verdict);

/* Does rule r hold for send d? (the AND of its keys) */
bool sg_policy_rule_matches(const struct sg_policy_rule *r, const struct sg_send_desc *d);

/*
 * Fill d from a raw event; cgroup is the resolved cgroup path (or NULL) and
 * must outlive d. addr_len is clamped to SG_ADDR_MAX, ncmsgs to SG_MAX_CMSGS.
 */
void sg_send_desc_from_event(struct sg_send_desc *d, const struct sg_event *e, const char *cgroup);

#endif /* SG_POLICY_EVAL_H */
