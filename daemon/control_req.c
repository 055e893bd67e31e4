// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Control requests: see control_req.h and docs/control.md. The line is
 * scanned strictly first (jscan.c); json-c then builds a tree of what is
 * known to be JSON, and the members are checked one by one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "control.h"
#include "control_req.h"
#include "jscan.h"
#include "json.h"
#include "names.h"

const char *const sg_rec_type_names[SG_REC_NTYPES] = {
	"send", "connect", "lost", "stats", "policy", "gap", "undeliverable", "flow",
};

static const struct {
	const char *name;
	enum ctl_cmd cmd;
} commands[] = {
	{ "status", CTL_CMD_STATUS },		{ "stats", CTL_CMD_STATS },
	{ "policy_show", CTL_CMD_POLICY_SHOW }, { "policy_load", CTL_CMD_POLICY_LOAD },
	{ "subscribe", CTL_CMD_SUBSCRIBE },
};

static int refuse(struct ctl_request *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int refuse(struct ctl_request *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* NULL, or an error text for the filter member key. */
static const char *filter_member(struct ctl_filter *f, const char *key, struct json_object *v)
{
	uint32_t u;
	int64_t n;

	if (!strcmp(key, "type")) {
		const char *s =
			json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;

		for (u = 0; s && u < SG_REC_NTYPES; u++) {
			if (!strcmp(s, sg_rec_type_names[u])) {
				f->type = (uint8_t)u;
				f->has |= F_TYPE;
				return NULL;
			}
		}
		return "must be \"send\", \"connect\", \"lost\", \"stats\", \"policy\", \"gap\" "
		       "or \"undeliverable\"";
	}
	if (!strcmp(key, "pid") || !strcmp(key, "uid")) {
		if (!json_object_is_type(v, json_type_int))
			return "must be a number";
		n = json_object_get_int64(v);
		if (n < 0 || n > UINT32_MAX)
			return "must be between 0 and 4294967295";
		if (key[0] == 'p') {
			f->pid = (uint32_t)n;
			f->has |= F_PID;
		} else {
			f->uid = (uint32_t)n;
			f->has |= F_UID;
		}
		return NULL;
	}
	if (strcmp(key, "comm") && strcmp(key, "syscall") && strcmp(key, "verdict"))
		return "unknown filter member (type, pid, uid, comm, syscall, verdict)";
	if (!json_object_is_type(v, json_type_string))
		return "must be a string";
	if (!strcmp(key, "comm")) {
		if (json_object_get_string_len(v) >= (int)sizeof(f->comm))
			return "longer than a comm (15 bytes)";
		snprintf(f->comm, sizeof(f->comm), "%s", json_object_get_string(v));
		f->has |= F_COMM;
		return NULL;
	}
	if (!strcmp(key, "syscall")) {
		if (sg_syscall_from_name(json_object_get_string(v), &u))
			return "must be a syscall name (sendto, sendmsg, sendmmsg, connect, write, "
			       "writev, sendfile, splice, io_uring, other)";
		f->syscall = (uint8_t)u;
		f->has |= F_SYSCALL;
		return NULL;
	}
	if (sg_verdict_from_name(json_object_get_string(v), &u))
		return "must be \"allow\", \"audit\", \"deny\" or \"kill\"";
	f->verdict = (uint8_t)u;
	f->has |= F_VERDICT;
	return NULL;
}

static int parse_subscribe(struct ctl_request *r, struct json_object *req)
{
	struct json_object *v;

	r->follow = true;
	if (json_object_object_get_ex(req, "filter", &v)) {
		if (!json_object_is_type(v, json_type_object))
			return refuse(r, "filter: must be an object");
		json_object_object_foreach(v, key, val)
		{
			const char *why = filter_member(&r->filter, key, val);

			if (why)
				return refuse(r, "filter.%s: %s", key, why);
		}
	}
	if (json_object_object_get_ex(req, "backlog", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) > CTL_BACKLOG)
			return refuse(r, "backlog: must be a number from 0 to %d", CTL_BACKLOG);
		r->backlog = (unsigned int)json_object_get_int64(v);
	}
	if (json_object_object_get_ex(req, "follow", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return refuse(r, "follow: must be true or false");
		r->follow = json_object_get_boolean(v);
	}
	return 0;
}

static int parse_policy_load(struct ctl_request *r, struct json_object *req)
{
	struct json_object *v;
	const char *path;

	if (!json_object_object_get_ex(req, "path", &v) ||
	    !json_object_is_type(v, json_type_string))
		return refuse(r, "path: missing (a string)");
	path = json_object_get_string(v);
	if (path[0] != '/')
		return refuse(r, "path: '%s' is not an absolute path", path);
	r->path = strdup(path);
	return r->path ? 0 : -ENOMEM;
}

/* Where the top-level "id" member's value is in the line. */
struct id_span {
	size_t start, len;
	bool found;
};

static void find_id(void *ctx, const char *key, size_t key_len, size_t start, size_t end)
{
	struct id_span *id = ctx;

	if (key_len == 2 && !memcmp(key, "id", 2)) {
		id->start = start;
		id->len = end - start;
		id->found = true;
	}
}

int ctl_request_parse(const char *line, size_t len, struct ctl_request *r)
{
	struct sg_errlist errs = { 0 };
	struct json_tokener *tok = NULL;
	struct json_object *req = NULL, *v;
	struct id_span id = { 0 };
	unsigned int dups = 0;
	char *copy = NULL;
	int err;

	memset(r, 0, sizeof(*r));
	err = sg_jscan(line, len, SG_JSCAN_UTF8 | SG_JSCAN_NO_NUL, CTL_REQ_DEPTH, "request", &errs,
		       &dups, find_id, &id);
	if (err || dups) {
		/* Not JSON, or not unambiguous: nothing of it is echoed, not even its id. */
		if (err != -ENOMEM)
			err = refuse(r, "%s",
				     sg_errlist_count(&errs) ? sg_errlist_get(&errs, 0)
							     : "request: not JSON");
		goto out;
	}
	if (id.found) {
		r->id = line + id.start;
		r->id_len = id.len;
	}
	/* json-c wants the terminating NUL to end a number at the end. */
	copy = malloc(len + 1);
	tok = json_tokener_new_ex(2 * CTL_REQ_DEPTH);
	if (!copy || !tok) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(copy, line, len);
	copy[len] = '\0';
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	req = json_tokener_parse_ex(tok, copy, (int)len + 1);
	if (!req || json_tokener_get_error(tok) != json_tokener_success) {
		/* jscan took it: only memory can make json-c fail now */
		err = refuse(r, "request: cannot be parsed");
		goto out;
	}
	if (!json_object_is_type(req, json_type_object)) {
		err = refuse(r, "a request must be a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(req, "cmd", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		err = refuse(r, "cmd: missing (a string)");
		goto out;
	}
	r->cmd_name = strdup(json_object_get_string(v));
	if (!r->cmd_name) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(r->cmd_name, commands[i].name))
			r->cmd = commands[i].cmd;
	if (r->cmd == CTL_CMD_SUBSCRIBE)
		err = parse_subscribe(r, req);
	else if (r->cmd == CTL_CMD_POLICY_LOAD)
		err = parse_policy_load(r, req);
	else if (r->cmd == CTL_CMD_NONE)
		err = refuse(r,
			     "unknown command '%s' (status, stats, policy_show, policy_load, "
			     "subscribe)",
			     r->cmd_name);
out:
	json_object_put(req);
	if (tok)
		json_tokener_free(tok);
	free(copy);
	sg_errlist_free(&errs);
	return err;
}

void ctl_request_free(struct ctl_request *r)
{
	free(r->cmd_name);
	free(r->path);
	r->cmd_name = r->path = NULL;
}

int ctl_reply_begin(struct sg_outbuf *b, bool ok, const char *cmd, const char *id, size_t id_len)
{
	sg_json_obj_open(b);
	sg_json_key_bool(b, "ok", ok);
	sg_json_key_str(b, "cmd", cmd);
	if (id)
		sg_json_key_raw(b, "id", id, id_len);
	return b->err;
}

int ctl_reply_end(struct sg_outbuf *b)
{
	sg_json_obj_close(b);
	return sg_json_lit(b, "\n");
}

int ctl_reply_error(struct sg_outbuf *b, const struct ctl_request *r, const char *msg)
{
	ctl_reply_begin(b, false, r->cmd_name, r->id, r->id_len);
	sg_json_key_str(b, "error", msg);
	return ctl_reply_end(b);
}
