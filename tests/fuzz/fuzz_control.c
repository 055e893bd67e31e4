// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for control socket requests (daemon/control_req.c: one
 * line of outside input). Every input is taken or refused with a reason;
 * what a reply echoes (id, cmd) is valid JSON, strings hold no NUL, and the
 * reply itself, ok or error, is strict JSON with valid UTF-8.
 * Build: see tests/fuzz/Makefile.inc.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "control_req.h"
#include "jscan.h"
#include "json.h"

#define STRICT (SG_JSCAN_UTF8 | SG_JSCAN_NO_NUL)

static void must_be_json(const char *s, size_t n)
{
	if (sg_jscan(s, n, STRICT, 64, "fuzz", NULL, NULL, NULL, NULL))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_outbuf b;
	struct ctl_request r;
	int err;

	if (sg_outbuf_init(&b, 1024))
		return 0;
	err = ctl_request_parse((const char *)data, size, &r);
	if (err == 0) {
		if (r.cmd == CTL_CMD_NONE || !r.cmd_name || strlen(r.cmd_name) == 0)
			__builtin_trap();
		if (r.cmd == CTL_CMD_POLICY_LOAD && (!r.path || r.path[0] != '/'))
			__builtin_trap();
		if (r.backlog > CTL_BACKLOG)
			__builtin_trap();
		if (r.id &&
		    (r.id < (const char *)data || r.id + r.id_len > (const char *)data + size))
			__builtin_trap();
		if (ctl_reply_begin(&b, true, r.cmd_name, r.id, r.id_len) ||
		    sg_json_lit(&b, ",\"end\":true}"))
			__builtin_trap();
	} else if (err == -EINVAL) {
		if (!r.error[0])
			__builtin_trap(); /* a refusal always says why */
		if (ctl_reply_error(&b, &r, r.error))
			__builtin_trap();
		b.len--; /* the newline */
	} else if (err != -ENOMEM) {
		__builtin_trap();
	}
	if (b.len)
		must_be_json(b.data, b.len);
	ctl_request_free(&r);
	sg_outbuf_free(&b);
	return 0;
}
