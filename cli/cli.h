/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sendguard(8): the command-line client. Commands are looked up in tables,
 * bpftool style: each level takes its argv starting at its own name.
 */
#ifndef SG_CLI_H
#define SG_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control_path.h"

struct json_object;

/* Exit codes (sendguard(8)). */
#define SG_EXIT_OK    0
#define SG_EXIT_FAIL  1 /* invalid policy, failed operation */
#define SG_EXIT_USAGE 2 /* bad arguments */

/* One command: argv[0] is the command's name. Returns the exit code. */
struct sg_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/* -j/--json given anywhere: print JSON instead of text. */
extern bool sg_json_output;

/*
 * Run the command of cmds named argv[0]; with no argv[0] or "help", run
 * help. Unknown names are usage errors (exit 2).
 */
int sg_cmd_select(const char *what, const struct sg_cmd *cmds, int argc, char **argv,
		  int (*help)(int argc, char **argv));

/* "sendguard: " + message on stderr; returns SG_EXIT_USAGE. */
int sg_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* getopt's '?' and ':' for command cmd as a usage error naming the option (opterr is 0). */
int sg_bad_option(const char *cmd, char **argv, int opt);

int do_policy(int argc, char **argv);
/* sendguard run: CMD under the seccomp sandbox (cmd_run.c, docs/sandbox.md). */
int do_run(int argc, char **argv);

/* --- the control socket of sendguardd (cmd_control.c, docs/control.md) --- */

/* --control PATH, else $SENDGUARD_CONTROL, else SG_CONTROL_DEFAULT. */
extern const char *sg_control_path;

/* Seconds a one-shot request waits for the daemon (connect, send, reply). */
#define SG_CTL_TIMEOUT_S 5

/* A connection: one request line out, reply lines in through a line buffer. */
struct sg_ctl {
	const char *path;
	int fd;
	int timeout_ms; /* longest wait for the daemon; -1: none */
	/*
	 * When set, SIGINT and SIGTERM end a wait for the daemon as soon as
	 * their handler has set *stop (sg_ctl_read_line returns -EINTR).
	 */
	volatile sig_atomic_t *stop;
	char *buf;
	size_t start; /* first byte not yet returned */
	size_t len; /* bytes in buf */
	size_t cap;
};

/* Connects to path. 0, or -errno with a message naming the cause on stderr. */
int sg_ctl_open(struct sg_ctl *c, const char *path, int timeout_ms);
/* Sends req as one line. 0, or -errno with a message on stderr. */
int sg_ctl_send(struct sg_ctl *c, struct json_object *req);
/*
 * The next reply line, NUL-terminated, without its '\n', valid until the
 * next call: returns 1. 0 at end of stream, else -ETIMEDOUT, -EINTR (*stop
 * set), -E2BIG (a line over 64 MiB), -ENOMEM or the -errno of read(2).
 * Prints nothing; sg_ctl_read_error() does.
 */
int sg_ctl_read_line(struct sg_ctl *c, char **line);
void sg_ctl_read_error(const struct sg_ctl *c, int err, const char *waiting_for);
void sg_ctl_close(struct sg_ctl *c);
/*
 * line as a reply object with a boolean "ok": NULL (and a message on stderr)
 * when it is not one.
 */
struct json_object *sg_ctl_parse_reply(const char *line);
/* ok:false: prints "sendguard: WHAT: ERROR" and returns true. */
bool sg_ctl_reply_failed(struct json_object *reply, const char *what);

/* Members of a JSON object; NULL / false when missing or of another type. */
struct json_object *sg_jget(struct json_object *o, const char *key);
const char *sg_jstr(struct json_object *o, const char *key);
bool sg_jint(struct json_object *o, const char *key, int64_t *out);

int do_status(int argc, char **argv);
int do_events(int argc, char **argv);
int do_policy_load(int argc, char **argv);
int do_policy_show(int argc, char **argv);

#endif /* SG_CLI_H */
