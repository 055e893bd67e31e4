/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The control socket (docs/control.md): newline-delimited JSON requests and
 * replies on a unix stream socket, and subscribers that receive the records
 * the sinks get. Never blocks the pipeline: every client has a bounded output
 * buffer; a subscriber that does not keep up loses records (told with a lost
 * record), anyone else is disconnected.
 */
#ifndef SG_CONTROL_H
#define SG_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "control_path.h"
#include "event.h"
#include "policy.h"

/* What a subscription filter can look at in a record. */
enum sg_rec_type {
	SG_REC_SEND = 0,
	SG_REC_CONNECT,
	SG_REC_LOST,
	SG_REC_STATS,
	SG_REC_POLICY,
	SG_REC_GAP,
	SG_REC_UNDELIVERABLE,
	SG_REC_FLOW,
	SG_REC_NTYPES
};
/* The "type" of each kind of record, as records and filters name it (control_req.c). */
extern const char *const sg_rec_type_names[SG_REC_NTYPES];

struct sg_rec_meta {
	uint8_t type; /* enum sg_rec_type */
	uint8_t syscall; /* SG_SYSCALL_* (send, connect) */
	uint8_t verdict; /* SG_VERDICT_* (send, connect) */
	uint32_t pid, uid;
	char comm[16]; /* NUL-terminated */
};

/* The daemon's side of the requests (views.c; policy loads: main.c). */
struct control_ops {
	/* Members of the status reply, each preceded by ',' (no braces). 0 or -ENOMEM. */
	int (*status)(struct sg_outbuf *b, void *ctx);
	/* Members of the stats reply, the same way. */
	int (*stats)(struct sg_outbuf *b, void *ctx);
	/* The policy in force, NULL before the first. */
	const struct sg_policy *(*policy)(void *ctx, const char **source);
	/*
	 * Load path as the next policy version (like SIGHUP). 0 and the policy now
	 * in force; -EINPROGRESS when the switch has to wait (the daemon then
	 * calls control__policy_load_done with client); else -errno with the
	 * reasons appended to errs.
	 */
	int (*policy_load)(void *ctx, const char *path, uint64_t client,
			   const struct sg_policy **now, struct sg_errlist *errs);
	void *ctx;
};

struct control;

/*
 * Listen on path (creating its directory, replacing a stale socket, refusing
 * when another daemon answers there: -EADDRINUSE, or when path is not a
 * socket: -EEXIST). 0 or -errno; the cause is logged.
 */
int control__open(struct control **out, const char *path, const struct control_ops *ops);
/* Readable when a connection or request waits: add it to the daemon's epoll. */
int control__epoll_fd(const struct control *c);
/* Accept, read and answer whatever is ready; never blocks. */
void control__dispatch(struct control *c);
/* A record the pipeline wrote (line ends with '\n'): to the backlog and subscribers. */
void control__record(struct control *c, const char *line, size_t len, const struct sg_rec_meta *m);
/* Write what is pending to the clients, as far as they take it. */
void control__flush(struct control *c);
/*
 * The outcome of a policy_load that returned -EINPROGRESS for client: its
 * reply (p in force, or err and the reasons in errs). Requests the client
 * sent after it are handled at the next control__flush.
 */
void control__policy_load_done(struct control *c, uint64_t client, int err,
			       const struct sg_policy *p, const struct sg_errlist *errs);
unsigned int control__subscribers(const struct control *c);
/* Records subscribers could not take (their buffer was full), since the start. */
uint64_t control__dropped(const struct control *c);
/* Close every connection and remove the socket file. Accepts NULL. */
void control__close(struct control *c);

#endif
