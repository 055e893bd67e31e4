// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sendguard run [-p POLICY] [-o SINK]... [--trace-all] [-v] [--] CMD [ARGS...]
 *
 * CMD runs in a child under a seccomp filter (run_plan.c); this process is
 * its supervisor (run_sup.c). The child installs the filter with a listener,
 * tells us the listener's number through a pipe (not a trapped sendmsg), we
 * take it with pidfd_getfd, and only then it closes its copy and execs CMD.
 * docs/sandbox.md has the design, sendguard(8) the command.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/audit.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "names.h"
#include "run.h"
#include "run_plan.h"

#include "seccomp_abi.h"

/* Nodes per decision tree: beyond, the remaining classes go to the supervisor. */
#define RUN_TREE_NODES 256

static int run_help(void)
{
	printf("Usage: sendguard run [-p POLICY] [-o SINK]... [--trace-all] [-v] [--] CMD "
	       "[ARGS...]\n"
	       "\n"
	       "Run CMD, its threads and children under a seccomp filter that enforces\n"
	       "POLICY on their sendto, sendmsg, sendmmsg and connect calls. No root, no\n"
	       "daemon. Exit status: CMD's (128+N when a signal N ended it); 2 when run\n"
	       "itself fails (the cause on stderr).\n"
	       "\n"
	       "  -p, --policy FILE  the policy [the embedded default: observe, allow all]\n"
	       "  -o, --output SINK  stdout, stderr, syslog or file:PATH (repeatable) [stderr]\n"
	       "      --trace-all    every judged call goes to the supervisor and is an\n"
	       "                     event (without it, calls the kernel allows from their\n"
	       "                     registers alone leave no event)\n"
	       "  -v, --verbose      the filter's plan at start, counters at exit (stderr)\n"
	       "\n"
	       "See sendguard(8) and docs/sandbox.md.\n");
	return SG_EXIT_OK;
}

/* "sendguard: run: ..." on stderr; SG_EXIT_USAGE (run's own failures exit 2). */
#define fail(...) sg_usage_error("run: " __VA_ARGS__)

/*
 * Unix path rules mean the socket file: their paths are made canonical here
 * (symlinks, "..") as the supervisor makes the paths it judges canonical.
 */
static void canonical_unix_rules(struct sg_policy *p)
{
	char real[PATH_MAX], dir[SG_POLICY_UNIX_MAX + 1];

	for (uint32_t i = 0; i < p->nrules; i++) {
		for (uint32_t j = 0; j < p->rules[i].nunix; j++) {
			struct sg_policy_unix *u = &p->rules[i].unix_pats[j];
			size_t n;

			if (u->kind == SG_UNIX_PATH) {
				if (!realpath(u->bytes, real))
					continue;
				n = strlen(real);
			} else if (u->kind == SG_UNIX_PATH_PREFIX && u->len > 1 &&
				   u->bytes[u->len - 1] == '/') {
				memcpy(dir, u->bytes, u->len);
				dir[u->len - 1] = 0;
				if (!realpath(dir, real))
					continue;
				n = strlen(real);
				if (n + 1 >= sizeof(real))
					continue;
				if (n > 1)
					real[n++] = '/';
				real[n] = 0;
			} else {
				continue;
			}
			if (n > SG_POLICY_UNIX_MAX)
				continue;
			memcpy(u->bytes, real, n + 1);
			u->len = (uint8_t)n;
		}
	}
}

static struct sg_policy *load_policy(const char *file)
{
	struct sg_errlist errs = { 0 };
	struct sg_policy *p = NULL;
	int err;

	if (file)
		err = sg_policy_load(file, &p, &errs);
	else
		err = sg_policy_parse(sg_policy_default_json, strlen(sg_policy_default_json),
				      "<default policy>", &p, &errs);
	for (size_t i = 0; i < sg_errlist_count(&errs); i++)
		fprintf(stderr, "%s\n", sg_errlist_get(&errs, i));
	sg_errlist_free(&errs);
	if (err) {
		fail("%s: invalid policy (%s)", file ? file : "<default policy>", strerror(-err));
		return NULL;
	}
	if (sg_policy_resolve(p, &errs) == -ENOMEM) {
		sg_errlist_free(&errs);
		sg_policy_free(p);
		fail("out of memory");
		return NULL;
	}
	for (size_t i = 0; i < sg_errlist_count(&errs); i++)
		fprintf(stderr, "sendguard run: warning: %s (never matches)\n",
			sg_errlist_get(&errs, i));
	sg_errlist_free(&errs);
	canonical_unix_rules(p);
	p->version = 1;
	return p;
}

static void print_plan(const struct run_tree *t, bool trace_all)
{
	static const char *const names[] = { "sendto", "sendmsg", "sendmmsg", "connect" };

	for (int i = 0; i < 4; i++) {
		int allow = 0, notify = 0;

		for (int k = 0; k < t[i].n; k++) {
			allow += t[i].nodes[k].kind == RUN_LEAF_ALLOW;
			notify += t[i].nodes[k].kind == RUN_LEAF_NOTIFY;
		}
		if (trace_all)
			fprintf(stderr,
				"sendguard run: %-8s every call to the supervisor (--trace-all)\n",
				names[i]);
		else if (!notify)
			fprintf(stderr, "sendguard run: %-8s allowed in the kernel\n", names[i]);
		else if (!allow)
			fprintf(stderr, "sendguard run: %-8s every call to the supervisor\n",
				names[i]);
		else
			fprintf(stderr,
				"sendguard run: %-8s %d register class%s allowed in the kernel, "
				"%d to the supervisor%s\n",
				names[i], allow, allow == 1 ? "" : "es", notify,
				t[i].truncated ? " (tree size limit reached)" : "");
	}
}

/*
 * A signal sent to run: to CMD while it lives (pid), afterwards (pid -1) to
 * the processes it left behind, which are our children as their subreaper.
 */
static void forward(pid_t pid, int sig)
{
	char path[64], buf[4096], *p, *end;
	ssize_t n;
	int fd;

	if (pid > 0) {
		kill(pid, sig);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (p = buf; *p; p = end) {
		long c = strtol(p, &end, 10);

		if (end == p)
			break;
		if (c > 0)
			kill((pid_t)c, sig);
	}
}

/* What the child reports before exec. */
struct child_report {
	int listener; /* its number in the child */
	int err; /* errno of what failed, 0 */
	int stage; /* 0 ok, 1 no_new_privs, 2 seccomp */
	int killable;
};

static void child_write(int fd, const struct child_report *r)
{
	if (write(fd, r, sizeof(*r)) != sizeof(*r))
		_exit(127);
}

static int install(const struct sock_fprog *prog, unsigned long flags)
{
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_NEW_LISTENER | flags, prog);
}

static void child_main(char **argv, const struct sock_fprog *prog, int report_fd, int go_fd,
		       int exec_err_fd, const sigset_t *oldmask)
{
	struct child_report r = { .listener = -1 };
	char c;
	int fd;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		r.err = errno;
		r.stage = 1;
		child_write(report_fd, &r);
		_exit(127);
	}
	fd = install(prog, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
	r.killable = fd >= 0;
	if (fd < 0 && errno == EINVAL)
		fd = install(prog, 0);
	if (fd < 0) {
		r.err = errno;
		r.stage = 2;
		child_write(report_fd, &r);
		_exit(127);
	}
	r.listener = fd;
	child_write(report_fd, &r);
	/* the supervisor has taken the listener when this byte comes */
	if (read(go_fd, &c, 1) != 1)
		_exit(127);
	close(fd);
	close(report_fd);
	close(go_fd);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	execvp(argv[0], argv);
	r.err = errno;
	if (write(exec_err_fd, &r.err, sizeof(r.err)) < 0)
		_exit(127);
	_exit(127);
}

/* The kernel gives what run needs, or the cause it does not. */
static int probe(void)
{
	uint32_t action = SECCOMP_RET_USER_NOTIF;
	int pidfd, fd;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action))
		return fail("this kernel has no seccomp user notification (%s); Linux 5.9 or later "
			    "with CONFIG_SECCOMP_FILTER is needed",
			    strerror(errno));
	pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd < 0)
		return fail("pidfd_open: %s (Linux 5.6 or later is needed)", strerror(errno));
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, pidfd, 0);
	if (fd < 0) {
		int e = errno;

		close(pidfd);
		return fail("pidfd_getfd: %s (Linux 5.6 or later is needed)", strerror(e));
	}
	close(fd);
	close(pidfd);
	return 0;
}

/* What the command line asks for; CMD is argv[optind] on. */
struct run_args {
	const char *policy_file;
	struct sink *sinks; /* RUN_MAX_SINKS of them */
	int nsinks;
	bool trace_all, verbose, help;
};

/* Options into *a: 0, or the exit code (the message printed). */
static int run_parse_args(int argc, char **argv, struct run_args *a)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "trace-all", no_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:p:o:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			a->policy_file = optarg;
			break;
		case 'o':
			if (a->nsinks == RUN_MAX_SINKS)
				return fail("at most %d -o", RUN_MAX_SINKS);
			/* syslog+tcp:// needs the daemon's event loop to deliver: not here. */
			if (sink__parse(optarg, &a->sinks[a->nsinks]) ||
			    a->sinks[a->nsinks].kind == SINK_SYSLOG_TCP)
				return fail("-o '%s': expected stdout, stderr, syslog or "
					    "file:/ABSOLUTE/PATH",
					    optarg);
			a->nsinks++;
			break;
		case 'T':
			a->trace_all = true;
			break;
		case 'v':
			a->verbose = true;
			break;
		case 'h':
			a->help = true;
			return 0;
		case ':':
			return fail("option '%s' needs a value", argv[optind - 1]);
		default:
			return fail("unknown option '%s' (see 'sendguard run --help')",
				    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return fail("missing CMD (see 'sendguard run --help')");
	if (!a->nsinks)
		sink__parse("stderr", &a->sinks[a->nsinks++]);
	return 0;
}

/* The policy's decision trees and the seccomp program from them. 0, or -1 (printed). */
static int plan_filter(const struct sg_policy *policy, struct run_tree trees[4],
		       struct run_filter_opts *fo, struct sock_fprog *prog, bool verbose)
{
	int err;

	for (int i = 0; i < 4; i++) {
		err = run_tree_build(policy, (uint32_t)(i + 1), RUN_TREE_NODES, &trees[i]);
		if (err) {
			fail("cannot plan the filter: %s", strerror(-err));
			return -1;
		}
	}
	fo->supervisor_pid = (uint32_t)getpid();
	err = run_filter_build(trees, fo, prog);
	if (err == -E2BIG) {
		/* too many classes for one program: everything to the supervisor */
		fo->trace_all = true;
		err = run_filter_build(trees, fo, prog);
		fo->trace_all = false;
	}
	if (err) {
		fail("cannot build the filter: %s", strerror(-err));
		return -1;
	}
	if (verbose)
		print_plan(trees, fo->trace_all);
	return 0;
}

/*
 * The child's set-up report: the listener, taken into our table (-1 when
 * the set-up failed, the cause printed).
 */
static int take_listener(int pidfd, const struct child_report *rep)
{
	int listener;

	if (rep->stage) {
		if (rep->stage == 2 && rep->err == EBUSY)
			fail("cannot install the seccomp filter: this process is already under "
			     "another seccomp user-notification filter (a nested sendguard run, or "
			     "a container runtime's), and the kernel allows one listener per "
			     "process tree");
		else
			fail("cannot %s: %s",
			     rep->stage == 1 ? "set no_new_privs" : "install the seccomp filter",
			     strerror(rep->err));
		return -1;
	}
	listener = (int)syscall(SYS_pidfd_getfd, pidfd, rep->listener, 0);
	if (listener < 0) {
		fail("cannot take the seccomp listener from the child (pidfd_getfd: %s)",
		     strerror(errno));
		return -1;
	}
	fcntl(listener, F_SETFD, FD_CLOEXEC);
	/* 6.6+: the notifying thread hands its CPU to us (passed by value); older: no-op */
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	return listener;
}

/* What the supervisor's loop follows of CMD. */
struct run_child {
	pid_t pid;
	int status; /* its wait status once done */
	bool done; /* CMD was reaped */
	bool all_done; /* and no descendant is left */
};

/* The signalfd: signals passed on to CMD, exits reaped. */
static void on_signals(int sfd, struct run_child *ch)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGCHLD) {
			/*
			 * From the terminal (SI_KERNEL) CMD got it too, as a
			 * member of our process group; from kill(): pass it on.
			 */
			if (si.ssi_code != SI_KERNEL)
				forward(ch->done ? -1 : ch->pid, (int)si.ssi_signo);
			continue;
		}
		for (;;) {
			int st;
			pid_t p = waitpid(-1, &st, WNOHANG);

			if (p < 0 && errno == ECHILD)
				ch->all_done = ch->done;
			if (p <= 0)
				break;
			if (p == ch->pid) {
				ch->status = st;
				ch->done = true;
			}
		}
	}
}

/* Serve notifications and the epoll set until CMD and all its descendants are gone. */
static void supervise(struct run_sup *sup, int listener, int epfd, int sfd, struct run_child *ch)
{
	/* the listener first, then the epoll set (run.h: why the listener is not in it) */
	struct pollfd wait[2] = { { .fd = listener, .events = POLLIN },
				  { .fd = epfd, .events = POLLIN } };

	while (!ch->all_done) {
		struct epoll_event evs[32];
		int timeout = run_sup_flush(sup, false), n = 0;

		if (poll(wait, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fail("poll: %s", strerror(errno));
			break;
		}
		if (wait[0].revents & POLLIN)
			run_sup_notification(sup);
		else if (wait[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			wait[0].fd = -1; /* no process is left under the filter */
		if (wait[1].revents & POLLIN)
			n = epoll_wait(epfd, evs, 32, 0);
		if (n < 0 && errno != EINTR) {
			fail("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64 & RUN_TAG_MASK;

			if (tag == RUN_TAG_PARKED)
				run_sup_parked_ready(sup, evs[i].data.u64);
			else if (tag == RUN_TAG_TIMER)
				run_sup_poll(sup);
			else if (tag == RUN_TAG_DONE)
				run_sup_worker_done(sup);
			else if (tag == RUN_TAG_PIDFD)
				run_procs_pidfd_ready(&sup->procs,
						      (int)(evs[i].data.u64 & ~RUN_TAG_MASK));
			else if (tag == RUN_TAG_SIGNAL)
				on_signals(sfd, ch);
		}
	}
}

/* CMD's exit status as ours: its code, 128 + its signal, or 2 when it did not execute. */
static int child_exit_code(int execerr_fd, const char *cmd, int status, int ret)
{
	int exec_errno = 0;

	if (read(execerr_fd, &exec_errno, sizeof(exec_errno)) == sizeof(exec_errno))
		return fail("cannot execute '%s': %s", cmd, strerror(exec_errno));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return ret;
}

int do_run(int argc, char **argv)
{
	struct run_filter_opts fo = { .arch = SG_SECCOMP_ARCH };
	struct sink sinks[RUN_MAX_SINKS];
	struct run_args a = { .sinks = sinks };
	struct run_tree trees[4] = { 0 };
	struct sock_fprog prog = { 0 };
	struct sg_policy *policy = NULL;
	struct child_report rep;
	struct run_child ch = { .pid = -1 };
	struct run_sup sup;
	int nsinks = 0, ret, err;
	int report[2] = { -1, -1 }, go[2] = { -1, -1 }, execerr[2] = { -1, -1 };
	int epfd = -1, sfd = -1, pidfd = -1, listener = -1;
	bool sup_ready = false;
	sigset_t mask, oldmask;

	ret = run_parse_args(argc, argv, &a);
	if (ret)
		return ret;
	if (a.help)
		return run_help();
	fo.trace_all = a.trace_all;
	nsinks = a.nsinks;
	ret = SG_EXIT_USAGE;

	if (probe())
		goto cleanup;
	policy = load_policy(a.policy_file);
	if (!policy)
		goto cleanup;
	if (plan_filter(policy, trees, &fo, &prog, a.verbose))
		goto cleanup;
	for (int i = 0; i < nsinks; i++) {
		err = sink__open(&sinks[i]);
		if (err) {
			fail("cannot open sink %s: %s", sink__name(&sinks[i]), strerror(-err));
			goto cleanup;
		}
	}

	/* signals come through a signalfd; the child gets the old mask back before exec */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	if (pipe2(report, O_CLOEXEC) || pipe2(go, O_CLOEXEC) || pipe2(execerr, O_CLOEXEC)) {
		fail("pipe: %s", strerror(errno));
		goto cleanup;
	}
	fflush(NULL);
	ch.pid = fork();
	if (ch.pid < 0) {
		fail("fork: %s", strerror(errno));
		goto cleanup;
	}
	if (ch.pid == 0)
		child_main(argv + optind, &prog, report[1], go[0], execerr[1], &oldmask);
	close(report[1]);
	close(go[0]);
	close(execerr[1]);
	report[1] = go[0] = execerr[1] = -1;

	pidfd = (int)syscall(SYS_pidfd_open, ch.pid, 0);
	if (read(report[0], &rep, sizeof(rep)) != sizeof(rep) || pidfd < 0) {
		fail("the child died during set-up");
		goto reap;
	}
	listener = take_listener(pidfd, &rep);
	if (listener < 0)
		goto reap;
	/*
	 * Not dumpable: the sandboxed processes (same uid) cannot ptrace us, read or
	 * write our memory, or take our descriptors. A subreaper: orphans stay our
	 * descendants, which ptrace_scope=1 needs for process_vm_readv and pidfd_getfd.
	 */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (epfd < 0 || sfd < 0) {
		fail("epoll/signalfd: %s", strerror(errno));
		goto reap;
	}
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd,
		  &(struct epoll_event){ .events = EPOLLIN, .data.u64 = RUN_TAG_SIGNAL });
	err = run_sup_init(&sup, listener, epfd, rep.killable, policy, sinks, nsinks);
	sup_ready = true;
	if (err) {
		fail("cannot start the supervisor: %s", strerror(-err));
		goto reap;
	}
	if (write(go[1], "g", 1) != 1) {
		fail("the child died during set-up");
		goto reap;
	}

	supervise(&sup, listener, epfd, sfd, &ch);
	ret = child_exit_code(execerr[0], argv[optind], ch.status, ret);
	if (a.verbose)
		fprintf(stderr,
			"sendguard run: %llu notifications, %llu judged calls, %llu events, "
			"%llu denied\n",
			(unsigned long long)sup.notifications, (unsigned long long)sup.judged,
			(unsigned long long)sup.events, (unsigned long long)sup.denied);
	ch.pid = -1;
reap:
	if (ch.pid > 0) {
		kill(ch.pid, SIGKILL);
		waitpid(ch.pid, NULL, 0);
	}
cleanup:
	if (sup_ready)
		run_sup_free(&sup);
	for (int i = 0; i < nsinks; i++)
		sink__close(&sinks[i]);
	for (int i = 0; i < 4; i++)
		run_tree_free(&trees[i]);
	free(prog.filter);
	sg_policy_free(policy);
	int fds[] = { report[0],  report[1], go[0], go[1], execerr[0],
		      execerr[1], epfd,	     sfd,   pidfd, listener };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	return ret;
}
