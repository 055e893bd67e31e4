/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Control socket requests (docs/control.md): one line of outside input ->
 * struct ctl_request, and the head of the reply. The line must be strict
 * JSON (jscan.h: no NaN, valid UTF-8, no NUL in a string, no duplicate key)
 * before anything in it is used, so a reply never echoes what is not JSON.
 * No I/O here (tests/fuzz/fuzz_control.c runs it on any input).
 */
#ifndef SG_CONTROL_REQ_H
#define SG_CONTROL_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* Nesting a request may have (a filter is at depth 2). */
#define CTL_REQ_DEPTH 8
/* Records a subscribe backlog may ask for (the daemon keeps this many). */
#define CTL_BACKLOG 1024

enum ctl_cmd {
	CTL_CMD_NONE = 0, /* not known (or the request is not one) */
	CTL_CMD_STATUS,
	CTL_CMD_STATS,
	CTL_CMD_POLICY_SHOW,
	CTL_CMD_POLICY_LOAD,
	CTL_CMD_SUBSCRIBE,
};

/* What a subscription filter can look at in a record (sg_rec_meta). */
enum {
	F_TYPE = 1 << 0,
	F_PID = 1 << 1,
	F_UID = 1 << 2,
	F_COMM = 1 << 3,
	F_SYSCALL = 1 << 4,
	F_VERDICT = 1 << 5,
};

struct ctl_filter {
	unsigned int has; /* F_* */
	uint8_t type, syscall, verdict;
	uint32_t pid, uid;
	char comm[16];
};

struct ctl_request {
	enum ctl_cmd cmd;
	/* "cmd" as given (NUL-free, valid UTF-8; owned), NULL if there was none. */
	char *cmd_name;
	/* The raw JSON text of "id" inside the line (valid JSON), NULL if none. */
	const char *id;
	size_t id_len;
	char *path; /* policy_load: an absolute path, NUL-free (owned) */
	struct ctl_filter filter; /* subscribe */
	unsigned int backlog;
	bool follow;
	char error[512]; /* why the request is refused */
};

/*
 * Parse line[0..len) (without its newline). 0 with *r filled; -EINVAL with
 * r->error (and r->cmd_name, r->id where they were found) for the error
 * reply; -ENOMEM. r->id points into line. Free with ctl_request_free.
 */
int ctl_request_parse(const char *line, size_t len, struct ctl_request *r);
void ctl_request_free(struct ctl_request *r);

/*
 * {"ok":B,"cmd":CMD[,"id":ID] : the caller adds members (json.h's member
 * helpers) and ends it. b's error (0 or -ENOMEM).
 */
int ctl_reply_begin(struct sg_outbuf *b, bool ok, const char *cmd, const char *id, size_t id_len);
/* }\n : the end of a reply. b's error. */
int ctl_reply_end(struct sg_outbuf *b);
/* {"ok":false,"cmd":CMD|null[,"id":ID],"error":MSG}\n for r (after parsing). */
int ctl_reply_error(struct sg_outbuf *b, const struct ctl_request *r, const char *msg);

#endif
