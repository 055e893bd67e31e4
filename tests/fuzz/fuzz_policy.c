// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the policy parser (outside input: policy files and
 * control-socket policy_load requests). Every input must be refused cleanly
 * or parse into a policy the evaluator can judge sends with.
 * Build: see tests/fuzz/Makefile.inc.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "policy.h"
#include "policy_eval.h"

static void judge(const struct sg_policy *p, const uint8_t *data, size_t size)
{
	struct sg_send_desc d;
	uint32_t verdict;
	int rule;
	size_t i;

	/* a few sends whose bytes come from the input itself */
	for (i = 0; i < 4; i++) {
		memset(&d, 0, sizeof(d));
		d.syscall = 1 + i % 3;
		d.has_sock = i & 1;
		d.sock_family = i < 2 ? AF_INET : (i == 2 ? AF_INET6 : AF_UNIX);
		d.sock_type = SOCK_DGRAM;
		d.sock_protocol = IPPROTO_UDP;
		d.addr_len = (uint16_t)(size < SG_ADDR_MAX ? size : SG_ADDR_MAX);
		memcpy(d.addr, data, d.addr_len);
		if (d.addr_len >= 2) {
			sa_family_t f = (sa_family_t)d.sock_family;

			memcpy(d.addr, &f, sizeof(f));
		}
		d.msg_flags = size > 4 ? (uint32_t)data[size - 1] << (i * 8) : 0;
		d.ncmsgs = i;
		d.cmsgs[0].level = SOL_SOCKET;
		d.cmsgs[0].type = 1;
		d.len = size * i;
		memcpy(d.comm, "worker", 7);
		d.uid = (uint32_t)i * 1000;
		d.cgroup = i == 3 ? NULL : "/system.slice/x.service";
		rule = sg_policy_eval(p, &d, &verdict);
		if (rule >= (int)p->nrules || verdict > SG_VERDICT_KILL)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_errlist errs = { 0 };
	struct sg_policy *p = NULL;
	int r = sg_policy_parse((const char *)data, size, "fuzz", &p, &errs);

	if (r == 0) {
		if (!p || sg_errlist_count(&errs))
			__builtin_trap();
		judge(p, data, size);
	} else if (p || (r == -EINVAL && !sg_errlist_count(&errs))) {
		/* a refusal always says why */
		__builtin_trap();
	}
	sg_policy_free(p);
	sg_errlist_free(&errs);
	return 0;
}
