/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sendguard run: CMD under a seccomp filter, its judged calls answered by a
 * supervisor in this process (docs/sandbox.md).
 *
 *   cmd_run.c     options, the child's set-up, the event loop, exit status
 *   run_plan.c    what the kernel decides alone, and the BPF program
 *   run_sup.c     one notification: read, judge, perform, answer, log
 *   run_proc.c    what the supervisor knows of a sandboxed thread; unix paths
 *                 resolved in its view and pinned
 */
#ifndef SG_RUN_H
#define SG_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/seccomp.h>

#include "event.h"
#include "policy.h"
#include "sinks.h"

#define RUN_MAX_SINKS 8

/* --- run_proc.c: sandboxed threads and processes ---------------------------- */

/* What events and the evaluator need of the sending thread. */
struct run_thread {
	pid_t tid;
	pid_t tgid;
	pid_t ppid;
	uint32_t uid, gid;
	char comm[16];
	bool stale; /* execve/prctl/set*id seen: read again before use */
	struct run_process *proc;
	struct run_thread *next; /* hash chain */
};

struct run_process {
	pid_t tgid;
	int pidfd; /* -1: the process is gone */
	bool exe_known;
	uint64_t exe_dev, exe_ino; /* kernel dev encoding, as sg_event */
	char *exe; /* NULL: unresolved */
	char *cgroup; /* NULL: unknown */
	uint64_t cgroup_id;
	bool stale;
	struct run_process *next;
};

struct run_procs {
	struct run_thread *threads[256];
	struct run_process *procs[256];
	int epoll_fd; /* pidfds are watched here (tag RUN_TAG_PIDFD | fd) */
	char *cgroup2; /* cgroup v2 mount, NULL when none */
};

int run_procs_init(struct run_procs *p, int epoll_fd);
void run_procs_free(struct run_procs *p);
/* The thread tid, read from /proc when not known or stale. NULL when it is gone. */
struct run_thread *run_thread_get(struct run_procs *p, pid_t tid);
/* Forget: a thread that called exit(), every thread of a process that exec'd or exited. */
void run_thread_forget(struct run_procs *p, pid_t tid);
void run_process_forget(struct run_procs *p, pid_t tgid);
/* execve, prctl(PR_SET_NAME), set*id: read it again before its next event. */
void run_thread_mark_stale(struct run_procs *p, pid_t tid, bool whole_process);
/* The process whose pidfd is fd (it exited): forgotten. */
void run_procs_pidfd_ready(struct run_procs *p, int fd);

/*
 * A unix socket path as the thread (tgid, tid) sees it (its root and cwd;
 * "/proc/self" is the thread's), pinned: *fd is an O_PATH descriptor of the
 * socket file and canon its path as this process sees it. 0, or -errno as a
 * connect() of that path would fail (-ENOENT, -ECONNREFUSED for a file that
 * is not a socket, ...).
 */
int run_path_pin(pid_t tgid, pid_t tid, const char *path, int *fd, char *canon, size_t canon_len);

/* --- run_sup.c: the supervisor ---------------------------------------------- */

struct run_call;

struct run_sup {
	int listener;
	int epoll_fd;
	int timer_fd; /* parked calls are looked at every RUN_POLL_MS */
	int done_pipe[2]; /* connect workers hand their events back */
	bool killable; /* SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV in force */
	struct sg_policy *policy;
	struct run_procs procs;
	struct seccomp_notif_sizes sizes;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	/* events */
	struct sink *sinks;
	int nsinks;
	struct sg_outbuf out;
	unsigned int out_records;
	uint64_t seq;
	uint64_t flush_at_ms; /* 0: nothing buffered */
	struct sg_clock clk;
	/* calls waiting for their socket (would block) */
	struct run_call *parked;
	unsigned int nparked;
	/* counters */
	uint64_t notifications, judged, events, denied;
};

/*
 * epoll tags: the high byte of the u64 says what the low bits are. The seccomp listener
 * has none: it is not in the epoll set but poll()ed beside it. A notification's wakeup
 * then reaches the supervisor directly from the listener's wait queue, where
 * SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (6.6+) hands it the notifying thread's CPU; through
 * epoll that hint is lost: a notified send took ~36 us instead of ~26 us on the
 * development VM (`make bench`, scenario run), with the same supervisor work.
 */
#define RUN_TAG_SIGNAL	(2ull << 56)
#define RUN_TAG_TIMER	(3ull << 56)
#define RUN_TAG_PIDFD	(4ull << 56)
#define RUN_TAG_PARKED	(5ull << 56)
#define RUN_TAG_DONE	(6ull << 56)
#define RUN_TAG_EXECERR (7ull << 56)
#define RUN_TAG_MASK	(0xffull << 56)

/* Events are written at least this often while some are buffered. */
#define RUN_FLUSH_MS 200
/* Parked calls: how often their thread's signals (or the notification) are looked at. */
#define RUN_POLL_MS 20

int run_sup_init(struct run_sup *s, int listener, int epoll_fd, bool killable,
		 struct sg_policy *policy, struct sink *sinks, int nsinks);
void run_sup_free(struct run_sup *s);
/* One notification is ready on the listener (poll()ed by the caller, not in the epoll set). */
void run_sup_notification(struct run_sup *s);
/* A parked call's socket may take more (tag RUN_TAG_PARKED), or the poll timer ran. */
void run_sup_parked_ready(struct run_sup *s, uint64_t tag);
void run_sup_poll(struct run_sup *s);
/* A connect worker finished. */
void run_sup_worker_done(struct run_sup *s);
/* Write buffered events when due (force: now). Milliseconds until the next flush, -1: none. */
int run_sup_flush(struct run_sup *s, bool force);

#endif /* SG_RUN_H */
