// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sendguard run: the supervisor's answer to one notification (docs/sandbox.md).
 *
 * A judged call (sendto, sendmsg, sendmmsg, connect) is never continued: the
 * kernel would read the caller's memory again, and another thread may have
 * changed it since. Instead:
 *   1. the caller's memory (buffer, sockaddr, msghdr, iovecs, control) is read
 *      once with process_vm_readv into private copies;
 *   2. the socket is taken with pidfd_getfd, and so are SCM_RIGHTS descriptors;
 *      a unix path is resolved as the caller sees it and pinned (O_PATH);
 *   3. SECCOMP_IOCTL_NOTIF_ID_VALID: the caller still waits, so what was read is
 *      its memory;
 *   4. the copies are judged by the reference evaluator (sg_policy_eval);
 *   5. what is allowed is performed on the copies, non-blocking; a send that
 *      would block is parked on epoll until the socket takes it (the caller's
 *      file is never switched to O_NONBLOCK), a blocking connect runs in a
 *      worker thread;
 *   6. the result goes back with SECCOMP_IOCTL_NOTIF_SEND (sendmmsg: msg_len
 *      written back per message), and one event per message is buffered.
 * Memory that cannot be read fails the call with EFAULT, never open.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "json.h"
#include "policy_eval.h"
#include "run.h"

/* Payload bytes read per message: more fails a datagram with EMSGSIZE, cuts a stream send short. */
#define RUN_PAYLOAD_MAX (4u << 20)
/* Control bytes per message, as the kernel's optmem limits: more is ENOBUFS. */
#define RUN_CONTROL_MAX (256u << 10)
#define RUN_UIO_MAXIOV	1024
/* Descriptors in the SCM_RIGHTS of one message, as the kernel's SCM_MAX_FD. */
#define RUN_SCM_MAX_FD 253
/* The kernel's "restart the call after the handler" (include/linux/errno.h). */
#define RUN_ERESTARTSYS 512

/* One message to perform, on private copies. */
struct run_msg {
	uint8_t *data;
	size_t len; /* bytes read (offered, up to RUN_PAYLOAD_MAX) */
	size_t done; /* bytes the socket took */
	bool zerocopy_map; /* data is an mmap of its own (MSG_ZEROCOPY) */
	struct sockaddr_storage name;
	socklen_t namelen;
	bool has_name;
	uint8_t *control; /* translated: our descriptors in SCM_RIGHTS */
	size_t controllen;
	int *fds; /* our SCM_RIGHTS descriptors, closed after the call */
	int nfds;
	int pin_fd; /* O_PATH of a unix path destination, -1 */
	int result; /* after performing: 0 ok, -errno */
	bool sent; /* performed to the end (done == len, or a datagram) */
	struct sg_event ev;
	const char *rule; /* rule name, NULL: the default */
};

struct run_call {
	uint64_t id;
	pid_t tid;
	pid_t tgid;
	uint32_t syscall; /* SG_SYSCALL_* */
	int fd; /* the caller's */
	int dup; /* ours, -1 */
	uint32_t flags;
	int sock_type;
	uint64_t mmsg_addr; /* sendmmsg: the caller's array, for msg_len */
	struct run_msg *msgs;
	unsigned int nmsgs; /* judged */
	unsigned int vlen; /* sendmmsg's vlen after the kernel's clamp */
	unsigned int nallowed; /* messages 0..nallowed-1 are performed */
	int stop_err; /* -EPERM when message nallowed was denied, else 0 */
	unsigned int next; /* message being performed */
	bool kill; /* a kill verdict: SIGKILL the process */
	char *exe, *cgroup; /* the event's: the cache's, or copies once parked */
	bool own_strings;
	/* parked */
	struct run_call *pnext;
	uint64_t deadline_ms; /* SO_SNDTIMEO; 0: none */
	unsigned int shared_polls; /* polls that saw a shared signal pending */
	pthread_t worker;
	bool in_worker;
	volatile int worker_done;
};

/* --- small helpers ---------------------------------------------------------- */

static int answer(int listener, struct seccomp_notif_resp *resp, size_t size, uint64_t id,
		  int64_t val, int err)
{
	memset(resp, 0, size);
	resp->id = id;
	if (err)
		resp->error = err;
	else
		resp->val = val;
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) ? -errno : 0;
}

static void answer_continue(struct run_sup *s, uint64_t id)
{
	memset(s->resp, 0, s->sizes.seccomp_notif_resp);
	s->resp->id = id;
	s->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, s->resp);
}

static bool id_valid(struct run_sup *s, uint64_t id)
{
	return ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Read n bytes at remote addr of tid into local; 0 or -EFAULT (also for a short read). */
static int peek(pid_t tid, void *local, uint64_t remote, size_t n)
{
	struct iovec l = { local, n }, r = { (void *)(uintptr_t)remote, n };

	if (!n)
		return 0;
	return process_vm_readv(tid, &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -EFAULT;
}

static void msg_release(struct run_msg *m)
{
	for (int i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	free(m->fds);
	m->fds = NULL;
	m->nfds = 0;
	if (m->pin_fd >= 0)
		close(m->pin_fd);
	m->pin_fd = -1;
	free(m->control);
	m->control = NULL;
	if (m->zerocopy_map)
		munmap(m->data, m->len ? m->len : 1);
	else
		free(m->data);
	m->data = NULL;
}

static void call_free(struct run_call *c)
{
	if (!c)
		return;
	for (unsigned int i = 0; i < c->nmsgs; i++)
		msg_release(&c->msgs[i]);
	if (c->dup >= 0)
		close(c->dup);
	free(c->msgs);
	if (c->own_strings) {
		free(c->exe);
		free(c->cgroup);
	}
	free(c);
}

/* --- events ------------------------------------------------------------------ */

static void emit_event(struct run_sup *s, const struct sg_event *ev, const char *exe,
		       const char *cgroup, const char *rule)
{
	struct sg_enrich x = { .exe = exe, .cgroup = cgroup, .rule_name = rule };

	if (sg_event_to_json(&s->out, ++s->seq, ev, &x, &s->clk)) {
		s->seq--;
		return;
	}
	s->out_records++;
	s->events++;
	if (ev->verdict == SG_VERDICT_DENY || ev->verdict == SG_VERDICT_KILL)
		s->denied++;
	if (!s->flush_at_ms)
		s->flush_at_ms = sg_clock_mono_ms() + RUN_FLUSH_MS;
	if (s->out.len >= 64 * 1024)
		run_sup_flush(s, true);
}

int run_sup_flush(struct run_sup *s, bool force)
{
	uint64_t now;

	if (!s->out.len)
		return -1;
	now = sg_clock_mono_ms();
	if (!force && now < s->flush_at_ms)
		return (int)(s->flush_at_ms - now);
	for (int i = 0; i < s->nsinks; i++)
		sink__write(&s->sinks[i], s->out.data, s->out.len, s->out_records);
	sg_outbuf_reset(&s->out);
	s->out_records = 0;
	s->flush_at_ms = 0;
	return -1;
}

/* The event's fields known before the call is judged. */
static void event_base(struct sg_event *ev, const struct run_call *c, const struct run_thread *t)
{
	memset(ev, 0, sizeof(*ev));
	ev->pid = (uint32_t)t->tgid;
	ev->tid = (uint32_t)c->tid;
	ev->ppid = (uint32_t)t->ppid;
	ev->uid = t->uid;
	ev->gid = t->gid;
	memcpy(ev->comm, t->comm, sizeof(ev->comm));
	if (t->proc && t->proc->exe_known) {
		ev->flags |= SG_EF_EXE;
		ev->exe_dev = (uint32_t)t->proc->exe_dev;
		ev->exe_ino = t->proc->exe_ino;
	}
	ev->cgroup_id = t->proc ? t->proc->cgroup_id : 0;
	ev->fd = c->fd;
	ev->syscall = (uint8_t)c->syscall;
	ev->msg_flags = c->flags;
	ev->iovlen = 1;
	ev->policy_version = 1;
	ev->rule = SG_RULE_DEFAULT;
}

/* --- sockets ------------------------------------------------------------------- */

struct sockinfo {
	uint64_t ino;
	int family, type, protocol;
};

static struct sockinfo sock_cache[256];

/* family/type/protocol of our duplicate; cached by socket inode. 0, or -ENOTSOCK. */
static int sock_info(int fd, struct sockinfo *out)
{
	struct sockinfo *c;
	socklen_t l = sizeof(int);
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	c = &sock_cache[st.st_ino % 256];
	if (c->ino == st.st_ino && st.st_ino) {
		*out = *c;
		return 0;
	}
	out->ino = st.st_ino;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &out->family, &l) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &out->type, &(socklen_t){ sizeof(int) }) ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &out->protocol, &(socklen_t){ sizeof(int) }))
		return -errno;
	*c = *out;
	return 0;
}

static void ev_set_addr(struct sg_event *ev, const void *addr, size_t len, uint8_t source)
{
	if (len > SG_ADDR_MAX) {
		len = SG_ADDR_MAX;
		ev->flags |= SG_EF_ADDR_TRUNC;
	}
	memcpy(ev->addr, addr, len);
	ev->addr_len = (uint16_t)len;
	ev->dst_source = len ? source : SG_DST_NONE;
}

/* The connected peer into the event (dst_source peer); false when not connected. */
static bool ev_peer(struct sg_event *ev, int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &l))
		return false;
	ev_set_addr(ev, &ss, l, SG_DST_PEER);
	return true;
}

/*
 * The destination of message m: a unix path is resolved in the caller's view
 * and pinned, and our copy of the name then points at the pinned file. The
 * event (and the evaluator) get the path of the socket file reached.
 * Returns 0 or the -errno a send to that path fails with.
 */
static int msg_dest(struct run_call *c, struct run_msg *m)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&m->name;
	char path[sizeof(un->sun_path) + 1], canon[PATH_MAX];
	bool stream = c->sock_type == SOCK_STREAM || c->sock_type == SOCK_SEQPACKET;
	size_t n;
	int err;

	/* a connected stream socket sends to its peer, whatever the message names */
	if (stream && c->syscall != SG_SYSCALL_CONNECT && ev_peer(&m->ev, c->dup))
		return 0;
	if (!m->has_name || !m->namelen) {
		if (!stream)
			ev_peer(&m->ev, c->dup);
		return 0;
	}
	ev_set_addr(&m->ev, &m->name, m->namelen, SG_DST_MSG);
	if (un->sun_family != AF_UNIX || m->namelen <= offsetof(struct sockaddr_un, sun_path) ||
	    un->sun_path[0] == 0)
		return 0;
	n = m->namelen - offsetof(struct sockaddr_un, sun_path);
	memcpy(path, un->sun_path, n);
	path[n] = 0;
	err = run_path_pin(c->tgid, c->tid, path, &m->pin_fd, canon, sizeof(canon));
	if (err)
		return err;
	if (strlen(canon) < sizeof(un->sun_path)) {
		struct sockaddr_un ev_un = { .sun_family = AF_UNIX };

		memcpy(ev_un.sun_path, canon, strlen(canon));
		ev_set_addr(&m->ev, &ev_un,
			    offsetof(struct sockaddr_un, sun_path) + strlen(canon) + 1, SG_DST_MSG);
	}
	/* the kernel resolves this to the pinned socket file, whatever renames happen */
	memset(un->sun_path, 0, sizeof(un->sun_path));
	n = (size_t)snprintf(un->sun_path, sizeof(un->sun_path), "/proc/self/fd/%d", m->pin_fd);
	m->namelen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/* --- reading the caller's message ------------------------------------------------ */

/*
 * Payload of n bytes at remote (one buffer) or iov[0..niov) into m->data; with
 * name_len, sendto's sockaddr at name_addr into m->name in the same read (one
 * system call less on the notified path).
 */
static int read_payload(struct run_call *c, struct run_msg *m, uint64_t remote,
			const struct iovec *iov, size_t niov, uint64_t total, uint64_t name_addr,
			size_t name_len)
{
	bool stream = c->sock_type == SOCK_STREAM;
	size_t n = total > RUN_PAYLOAD_MAX ? RUN_PAYLOAD_MAX : (size_t)total;
	struct iovec l;
	ssize_t r;

	if (total > RUN_PAYLOAD_MAX && !stream)
		return -EMSGSIZE;
	if (c->flags & MSG_ZEROCOPY) {
		/* the kernel may keep these pages after the call: a mapping of their own */
		m->data = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (m->data == MAP_FAILED) {
			m->data = NULL;
			return -ENOMEM;
		}
		m->zerocopy_map = true;
	} else {
		m->data = malloc(n ? n : 1);
		if (!m->data)
			return -ENOMEM;
	}
	m->len = n;
	if (!iov) {
		struct iovec lv[2] = { { m->data, n }, { &m->name, name_len } };
		struct iovec rv[2] = { { (void *)(uintptr_t)remote, n },
				       { (void *)(uintptr_t)name_addr, name_len } };
		int k = n ? 0 : 1, cnt = (n ? 1 : 0) + (name_len ? 1 : 0);

		if (!cnt)
			return 0;
		r = process_vm_readv(c->tid, lv + k, (unsigned long)cnt, rv + k, (unsigned long)cnt,
				     0);
		return r == (ssize_t)(n + name_len) ? 0 : -EFAULT;
	}
	if (!n)
		return 0;
	l.iov_base = m->data;
	l.iov_len = n;
	{
		/* only as many iovecs as cover the bytes we take */
		size_t k = 0, sum = 0;

		while (k < niov && sum < n)
			sum += iov[k++].iov_len;
		r = process_vm_readv(c->tid, &l, 1, iov, k, 0);
	}
	return r == (ssize_t)n ? 0 : -EFAULT;
}

/* SCM_RIGHTS: the caller's descriptors become ours; SCM_CREDENTIALS of the caller, ours. */
static int translate_control(struct run_sup *s, struct run_call *c, struct run_msg *m,
			     const uint8_t *ctl, size_t len, int pidfd)
{
	struct msghdr mh = { .msg_control = (void *)ctl, .msg_controllen = len };
	struct cmsghdr *cm;
	unsigned int ncm = 0;

	(void)s;
	if (!len)
		return 0;
	m->control = malloc(len);
	if (!m->control)
		return -ENOMEM;
	memcpy(m->control, ctl, len);
	m->controllen = len;
	mh.msg_control = m->control;
	m->ev.flags |= SG_EF_CONTROL;
	m->ev.controllen = (uint32_t)len;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t off = (size_t)((uint8_t *)cm - m->control);

		if (cm->cmsg_len < sizeof(*cm) || cm->cmsg_len > len - off)
			return -EINVAL;
		if (ncm < SG_MAX_CMSGS) {
			m->ev.cmsgs[ncm].level = (uint32_t)cm->cmsg_level;
			m->ev.cmsgs[ncm].type = (uint32_t)cm->cmsg_type;
			m->ev.cmsgs[ncm].len = (uint32_t)cm->cmsg_len;
		} else {
			m->ev.flags |= SG_EF_CMSG_TRUNC;
		}
		ncm++;
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int *fds = (int *)CMSG_DATA(cm);

			int *more;

			if (m->nfds + nfd > RUN_SCM_MAX_FD)
				return -EINVAL;
			more = realloc(m->fds, (m->nfds + nfd) * sizeof(int));
			if (!more)
				return -ENOMEM;
			m->fds = more;
			for (size_t i = 0; i < nfd; i++) {
				int f;

				f = (int)syscall(SYS_pidfd_getfd, pidfd, fds[i], 0);
				if (f < 0)
					return -EBADF;
				m->fds[m->nfds++] = f;
				fds[i] = f;
			}
		} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
			   cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred cr;

			memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
			if (cr.pid == c->tgid) {
				cr.pid = getpid();
				memcpy(CMSG_DATA(cm), &cr, sizeof(cr));
			}
		}
	}
	m->ev.ncmsgs = (uint8_t)(ncm < SG_MAX_CMSGS ? ncm : SG_MAX_CMSGS);
	return 0;
}

/* A remote struct msghdr into m: name, payload, control. 0 or -errno. */
static int read_msghdr(struct run_sup *s, struct run_call *c, struct run_msg *m,
		       const struct msghdr *rm, int pidfd)
{
	struct iovec *iov = NULL;
	uint64_t total = 0;
	uint8_t *ctl = NULL;
	int err;

	if (rm->msg_name && rm->msg_namelen) {
		if ((int)rm->msg_namelen < 0 || rm->msg_namelen > sizeof(m->name))
			return -EINVAL;
		if (peek(c->tid, &m->name, (uintptr_t)rm->msg_name, rm->msg_namelen))
			return -EFAULT;
	}
	m->has_name = rm->msg_name != NULL;
	m->namelen = rm->msg_name ? rm->msg_namelen : 0;
	if (rm->msg_iovlen > RUN_UIO_MAXIOV)
		return -EMSGSIZE;
	m->ev.iovlen = (uint32_t)rm->msg_iovlen;
	if (rm->msg_iovlen) {
		iov = malloc(rm->msg_iovlen * sizeof(*iov));
		if (!iov)
			return -ENOMEM;
		if (peek(c->tid, iov, (uintptr_t)rm->msg_iov, rm->msg_iovlen * sizeof(*iov))) {
			free(iov);
			return -EFAULT;
		}
		for (size_t i = 0; i < rm->msg_iovlen; i++) {
			if ((ssize_t)iov[i].iov_len < 0) {
				free(iov);
				return -EINVAL;
			}
			total += iov[i].iov_len;
		}
	}
	m->ev.len = total;
	err = read_payload(c, m, 0, iov, rm->msg_iovlen, total, 0, 0);
	free(iov);
	if (err)
		return err;
	if (rm->msg_controllen) {
		if (rm->msg_controllen > RUN_CONTROL_MAX)
			return -ENOBUFS;
		ctl = malloc(rm->msg_controllen);
		if (!ctl)
			return -ENOMEM;
		err = peek(c->tid, ctl, (uintptr_t)rm->msg_control, rm->msg_controllen);
		if (!err)
			err = translate_control(s, c, m, ctl, rm->msg_controllen, pidfd);
		free(ctl);
	}
	return err;
}

/* --- performing ------------------------------------------------------------------- */

/* One non-blocking attempt at m; 0 when it is done, -EAGAIN to wait, else -errno. */
static int send_some(struct run_call *c, struct run_msg *m)
{
	struct iovec iov = { m->data + m->done, m->len - m->done };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	if (m->has_name) {
		mh.msg_name = &m->name;
		mh.msg_namelen = m->namelen;
	}
	if (!m->done && m->control) {
		mh.msg_control = m->control;
		mh.msg_controllen = m->controllen;
	}
	do {
		r = sendmsg(c->dup, &mh, (int)(c->flags | MSG_DONTWAIT));
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	m->done += (size_t)r;
	/* only a stream socket takes part of a message */
	if (c->sock_type == SOCK_STREAM && m->done < m->len)
		return -EAGAIN;
	m->done = m->len;
	m->sent = true;
	return 0;
}

static bool caller_nonblocking(const struct run_call *c)
{
	int fl;

	if (c->flags & MSG_DONTWAIT)
		return true;
	fl = fcntl(c->dup, F_GETFL);
	return fl >= 0 && (fl & O_NONBLOCK);
}

/*
 * Perform messages c->next.. of the allowed ones. Returns 1 when the call is
 * finished (answer it), 0 when it must wait for the socket.
 */
static int perform(struct run_call *c)
{
	while (c->next < c->nallowed) {
		struct run_msg *m = &c->msgs[c->next];
		int err = send_some(c, m);

		if (!err) {
			c->next++;
			continue;
		}
		if (err == -EAGAIN && !caller_nonblocking(c))
			return 0;
		if (err == -EAGAIN && m->done) {
			/* a non-blocking stream send that took part: that count */
			m->sent = true;
			c->next++;
			return 1;
		}
		m->result = err;
		return 1;
	}
	return 1;
}

/* The value and error the caller gets, from what was performed. */
static void call_result(const struct run_call *c, int64_t *val, int *err)
{
	unsigned int sent = 0;

	for (unsigned int i = 0; i < c->nallowed && c->msgs[i].sent; i++)
		sent++;
	*err = 0;
	if (c->syscall == SG_SYSCALL_SENDMMSG) {
		*val = sent;
		if (!sent) {
			if (c->nallowed && c->msgs[0].result)
				*err = c->msgs[0].result;
			else if (c->stop_err)
				*err = c->stop_err;
		}
		return;
	}
	if (c->nallowed && c->msgs[0].sent) {
		*val = (int64_t)c->msgs[0].done;
		return;
	}
	if (c->nallowed && c->msgs[0].done) {
		*val = (int64_t)c->msgs[0].done; /* interrupted after a part */
		return;
	}
	*val = 0;
	*err = c->nallowed ? (c->msgs[0].result ? c->msgs[0].result : -EAGAIN) : c->stop_err;
}

/* msg_len of each message sent, into the caller's mmsghdr array. */
static void write_back_mmsg(const struct run_call *c, unsigned int sent)
{
	struct iovec l[RUN_UIO_MAXIOV], r[RUN_UIO_MAXIOV];
	unsigned int lens[RUN_UIO_MAXIOV];

	for (unsigned int i = 0; i < sent; i++) {
		lens[i] = (unsigned int)c->msgs[i].done;
		l[i] = (struct iovec){ &lens[i], sizeof(unsigned int) };
		r[i] = (struct iovec){ (void *)(uintptr_t)(c->mmsg_addr +
							   i * sizeof(struct mmsghdr) +
							   offsetof(struct mmsghdr, msg_len)),
				       sizeof(unsigned int) };
	}
	if (sent)
		process_vm_writev(c->tid, l, sent, r, sent, 0);
}

/* Answer the caller and write the call's events. */
static void finish(struct run_sup *s, struct run_call *c, int override_err)
{
	uint64_t now = sg_clock_boot_now();
	int64_t val;
	int err;

	call_result(c, &val, &err);
	if (override_err) {
		val = 0;
		err = override_err;
	}
	if (c->syscall == SG_SYSCALL_SENDMMSG && !err)
		write_back_mmsg(c, (unsigned int)val);
	if (c->kill) {
		int pidfd = (int)syscall(SYS_pidfd_open, c->tgid, 0);

		if (pidfd >= 0) {
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			close(pidfd);
		}
	}
	answer(s->listener, s->resp, s->sizes.seccomp_notif_resp, c->id, val, err);
	for (unsigned int i = 0; i < c->nmsgs; i++) {
		struct run_msg *m = &c->msgs[i];
		struct sg_event *ev = &m->ev;

		ev->ts_ns = now;
		if (i < c->nallowed && m->sent) {
			ev->ret = (int64_t)m->done;
			ev->err = 0;
		} else if (i < c->nallowed && m->done) {
			ev->ret = (int64_t)m->done;
		} else if (i < c->nallowed && m->result) {
			ev->ret = -1;
			ev->err = -m->result;
		} else if (i == c->nallowed && c->stop_err && ev->verdict != SG_VERDICT_ALLOW &&
			   ev->verdict != SG_VERDICT_AUDIT) {
			ev->ret = -1;
			ev->err = -c->stop_err;
			ev->enforced_by = SG_ENF_SECCOMP;
		} else {
			/* not reached: the call's errno, none when it returned a count */
			ev->ret = -1;
			ev->err = override_err ? -override_err : (err ? -err : 0);
		}
		emit_event(s, ev, c->exe, c->cgroup, m->rule);
	}
}

/* --- parking ------------------------------------------------------------------------ */

static void park(struct run_sup *s, struct run_call *c)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLONESHOT,
				  .data.u64 = RUN_TAG_PARKED | (uintptr_t)c };
	struct timeval tv;
	socklen_t l = sizeof(tv);
	struct itimerspec it = { .it_interval = { 0, RUN_POLL_MS * 1000000L },
				 .it_value = { 0, RUN_POLL_MS * 1000000L } };

	/* the cache may drop the thread (exit, execve) while the call waits */
	if (!c->own_strings) {
		c->exe = c->exe ? strdup(c->exe) : NULL;
		c->cgroup = c->cgroup ? strdup(c->cgroup) : NULL;
		c->own_strings = true;
	}
	if (!getsockopt(c->dup, SOL_SOCKET, SO_SNDTIMEO, &tv, &l) && (tv.tv_sec || tv.tv_usec))
		c->deadline_ms = sg_clock_mono_ms() + (uint64_t)tv.tv_sec * 1000 +
				 (uint64_t)tv.tv_usec / 1000;
	if (!c->in_worker)
		epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, c->dup, &ev);
	c->pnext = s->parked;
	s->parked = c;
	if (s->nparked++ == 0)
		timerfd_settime(s->timer_fd, 0, &it, NULL);
}

static void unpark(struct run_sup *s, struct run_call *c)
{
	struct itimerspec off = { 0 };

	for (struct run_call **pp = &s->parked; *pp; pp = &(*pp)->pnext) {
		if (*pp == c) {
			*pp = c->pnext;
			break;
		}
	}
	if (!c->in_worker)
		epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->dup, NULL);
	if (--s->nparked == 0)
		timerfd_settime(s->timer_fd, 0, &off, NULL);
}

void run_sup_parked_ready(struct run_sup *s, uint64_t tag)
{
	struct run_call *c = (struct run_call *)(uintptr_t)(tag & ~RUN_TAG_MASK), *p;
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLONESHOT, .data.u64 = tag };

	/*
	 * One epoll_wait can return the poll timer and this socket's EPOLLOUT
	 * together; the timer may have ended the call already. Only a call still
	 * parked is touched (at worst a new call at the same address gets a
	 * spurious, harmless retry).
	 */
	for (p = s->parked; p && p != c; p = p->pnext)
		;
	if (!p || c->in_worker)
		return;

	if (!s->killable && !id_valid(s, c->id)) {
		unpark(s, c);
		call_free(c);
		return;
	}
	if (!perform(c)) {
		epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, c->dup, &ev);
		return;
	}
	unpark(s, c);
	finish(s, c, 0);
	call_free(c);
}

/*
 * A signal the caller should see now: with WAIT_KILLABLE_RECV the kernel does
 * not interrupt a call the supervisor holds, so a parked call is ended here.
 * Returns the error to end it with (-RUN_ERESTARTSYS when the thread surely has
 * the signal to handle, -EINTR when it may not), or 0.
 */
static int pending_signal(struct run_call *c)
{
	char path[64], buf[2048];
	unsigned long long pnd = 0, shd = 0, blk = 0;
	long threads = 1;
	const char *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", c->tgid, c->tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	if ((p = strstr(buf, "\nThreads:")))
		threads = strtol(p + 9, NULL, 10);
	if ((p = strstr(buf, "\nSigPnd:")))
		pnd = strtoull(p + 8, NULL, 16);
	if ((p = strstr(buf, "\nShdPnd:")))
		shd = strtoull(p + 8, NULL, 16);
	if ((p = strstr(buf, "\nSigBlk:")))
		blk = strtoull(p + 8, NULL, 16);
	if (pnd & ~blk)
		return -RUN_ERESTARTSYS;
	if (shd & ~blk) {
		if (threads == 1)
			return -RUN_ERESTARTSYS;
		/* another thread may take it; if none has after two looks, it is ours */
		if (++c->shared_polls >= 2)
			return -EINTR;
		return 0;
	}
	c->shared_polls = 0;
	return 0;
}

static void worker_interrupt(int sig)
{
	(void)sig;
}

void run_sup_poll(struct run_sup *s)
{
	uint64_t expirations, now = sg_clock_mono_ms();
	struct run_call *c, *next;

	if (read(s->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	for (c = s->parked; c; c = next) {
		int sig = 0;

		next = c->pnext;
		if (c->in_worker) {
			if (s->killable && pending_signal(c))
				pthread_kill(c->worker, SIGURG);
			continue;
		}
		if (!id_valid(s, c->id)) {
			unpark(s, c);
			call_free(c);
			continue;
		}
		if (s->killable)
			sig = pending_signal(c);
		if (!sig && c->deadline_ms && now >= c->deadline_ms)
			sig = -EAGAIN; /* SO_SNDTIMEO ran out */
		if (!sig)
			continue;
		unpark(s, c);
		if (c->next < c->nallowed && !c->msgs[c->next].done)
			c->msgs[c->next].result = sig;
		else if (c->next < c->nallowed)
			c->msgs[c->next].sent = true; /* interrupted after a part: that count */
		finish(s, c, 0);
		call_free(c);
	}
}

/* --- connect ---------------------------------------------------------------------- */

struct worker_arg {
	struct run_sup *s;
	struct run_call *c;
};

static void *connect_worker(void *p)
{
	struct worker_arg *a = p;
	struct run_call *c = a->c;
	struct run_msg *m = &c->msgs[0];
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGURG);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (connect(c->dup, (struct sockaddr *)&m->name, m->namelen))
		m->result = -errno;
	else
		m->sent = true;
	c->worker_done = 1;
	/* the main loop answers and logs; it owns c again from here */
	if (write(a->s->done_pipe[1], &c, sizeof(c)) != sizeof(c))
		abort();
	free(a);
	return NULL;
}

void run_sup_worker_done(struct run_sup *s)
{
	struct run_call *c;

	while (read(s->done_pipe[0], &c, sizeof(c)) == sizeof(c)) {
		pthread_join(c->worker, NULL);
		unpark(s, c);
		finish(s, c, 0);
		call_free(c);
	}
}

static void start_connect(struct run_sup *s, struct run_call *c)
{
	struct run_msg *m = &c->msgs[0];
	struct worker_arg *a;
	int fl = fcntl(c->dup, F_GETFL);

	/* datagram and non-blocking connects do not wait */
	if (c->sock_type == SOCK_DGRAM || c->sock_type == SOCK_RAW ||
	    (fl >= 0 && (fl & O_NONBLOCK))) {
		if (connect(c->dup, (struct sockaddr *)&m->name, m->namelen))
			m->result = -errno;
		else
			m->sent = true;
		finish(s, c, 0);
		call_free(c);
		return;
	}
	a = malloc(sizeof(*a));
	if (!a) {
		finish(s, c, -ENOMEM);
		call_free(c);
		return;
	}
	a->s = s;
	a->c = c;
	c->in_worker = true;
	park(s, c);
	if (pthread_create(&c->worker, NULL, connect_worker, a)) {
		free(a);
		unpark(s, c);
		finish(s, c, -EAGAIN);
		call_free(c);
	}
}

/* --- one notification --------------------------------------------------------------- */

static uint32_t judged_syscall(int nr)
{
	switch (nr) {
	case SYS_sendto:
		return SG_SYSCALL_SENDTO;
	case SYS_sendmsg:
		return SG_SYSCALL_SENDMSG;
	case SYS_sendmmsg:
		return SG_SYSCALL_SENDMMSG;
	case SYS_connect:
		return SG_SYSCALL_CONNECT;
	default:
		return 0;
	}
}

/* The caller's messages into private copies; 0 or the -errno the call fails with. */
static int read_call(struct run_sup *s, struct run_call *c, const struct seccomp_data *d,
		     const struct run_thread *t)
{
	int pidfd = t->proc->pidfd;
	struct mmsghdr *mv = NULL;
	int err = 0;

	switch (c->syscall) {
	case SG_SYSCALL_SENDTO: {
		struct run_msg *m = &c->msgs[0];
		uint64_t len = d->args[2], addr = d->args[4];
		int alen = (int)d->args[5];

		c->nmsgs = 1;
		if (len > 0x7fffffff)
			len = 0x7fffffff; /* as the kernel does */
		m->ev.len = d->args[2];
		if (addr) {
			if (alen < 0 || (size_t)alen > sizeof(m->name))
				return -EINVAL;
			m->has_name = true;
			m->namelen = (socklen_t)alen;
		}
		return read_payload(c, m, d->args[1], NULL, 0, len, addr, addr ? (size_t)alen : 0);
	}
	case SG_SYSCALL_SENDMSG: {
		struct msghdr rm;

		c->nmsgs = 1;
		if (peek(c->tid, &rm, d->args[1], sizeof(rm)))
			return -EFAULT;
		return read_msghdr(s, c, &c->msgs[0], &rm, pidfd);
	}
	case SG_SYSCALL_SENDMMSG: {
		unsigned int vlen = (unsigned int)d->args[2];

		if (vlen > RUN_UIO_MAXIOV)
			vlen = RUN_UIO_MAXIOV;
		c->vlen = vlen;
		c->mmsg_addr = d->args[1];
		if (!vlen)
			return 0;
		mv = malloc(vlen * sizeof(*mv));
		if (!mv)
			return -ENOMEM;
		if (peek(c->tid, mv, d->args[1], vlen * sizeof(*mv))) {
			free(mv);
			return -EFAULT;
		}
		for (unsigned int i = 0; i < vlen && !err; i++) {
			c->nmsgs = i + 1;
			event_base(&c->msgs[i].ev, c, t);
			c->msgs[i].ev.flags |= SG_EF_MMSG;
			c->msgs[i].ev.index = i;
			c->msgs[i].ev.vlen = vlen;
			err = read_msghdr(s, c, &c->msgs[i], &mv[i].msg_hdr, pidfd);
		}
		free(mv);
		return err;
	}
	default: { /* connect */
		struct run_msg *m = &c->msgs[0];
		int alen = (int)d->args[2];

		c->nmsgs = 1;
		if (alen < 0 || (size_t)alen > sizeof(m->name))
			return -EINVAL;
		if (peek(c->tid, &m->name, d->args[1], (size_t)alen))
			return -EFAULT;
		m->has_name = true;
		m->namelen = (socklen_t)alen;
		return 0;
	}
	}
}

/* The evaluator's view of message m. */
static void describe(const struct run_call *c, const struct run_msg *m, const struct run_thread *t,
		     const struct sockinfo *si, struct sg_send_desc *d)
{
	sg_send_desc_from_event(d, &m->ev, t->proc ? t->proc->cgroup : NULL);
	d->has_sock = si != NULL;
	if (si) {
		d->sock_family = (uint32_t)si->family;
		d->sock_type = (uint32_t)si->type;
		d->sock_protocol = (uint32_t)si->protocol;
	}
	d->msg_flags = c->syscall == SG_SYSCALL_CONNECT ? 0 : c->flags;
	d->len = c->syscall == SG_SYSCALL_CONNECT ? 0 : m->ev.len;
}

/*
 * A call for the notification: its messages' slots and what is known before
 * reading. NULL: no memory.
 */
static struct run_call *call_new(const struct seccomp_notif *req, const struct run_thread *t,
				 uint32_t sc)
{
	const struct seccomp_data *d = &req->data;
	unsigned int n = sc == SG_SYSCALL_SENDMMSG ? RUN_UIO_MAXIOV : 1;
	struct run_call *c;

	if (sc == SG_SYSCALL_SENDMMSG && d->args[2] < RUN_UIO_MAXIOV)
		n = d->args[2] ? (unsigned int)d->args[2] : 1;
	c = calloc(1, sizeof(*c));
	if (c)
		c->msgs = calloc(n, sizeof(*c->msgs));
	if (!c || !c->msgs) {
		free(c);
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++)
		c->msgs[i].pin_fd = -1;
	c->id = req->id;
	c->tid = (pid_t)req->pid;
	c->tgid = t->tgid;
	c->syscall = sc;
	c->fd = (int)d->args[0];
	c->dup = -1;
	c->exe = t->proc->exe;
	c->cgroup = t->proc->cgroup;
	if (sc == SG_SYSCALL_SENDTO || sc == SG_SYSCALL_SENDMMSG)
		c->flags = (uint32_t)d->args[3];
	else if (sc == SG_SYSCALL_SENDMSG)
		c->flags = (uint32_t)d->args[2];
	event_base(&c->msgs[0].ev, c, t);
	return c;
}

/*
 * The caller's socket (into *si, *sip pointing to it when known), then its
 * messages and where each goes. 0, or the -errno the call fails with.
 */
static int call_read(struct run_sup *s, struct run_call *c, const struct seccomp_data *d,
		     const struct run_thread *t, struct sockinfo *si, struct sockinfo **sip)
{
	int err = 0;

	/* the socket first: its type says where a message goes */
	c->dup = (int)syscall(SYS_pidfd_getfd, t->proc->pidfd, c->fd, 0);
	if (c->dup < 0)
		err = errno == EBADF ? -EBADF : -errno;
	else if (!(err = sock_info(c->dup, si)))
		*sip = si;
	if (*sip)
		c->sock_type = si->type;
	if (!err)
		err = read_call(s, c, d, t);
	for (unsigned int i = 0; !err && i < c->nmsgs; i++)
		err = msg_dest(c, &c->msgs[i]);
	return err;
}

/*
 * Each message through the policy: its verdict and rule. The first denied
 * message stops the call there (stop_err, kill); nallowed counts the
 * messages before it.
 */
static void call_judge(const struct run_sup *s, struct run_call *c, const struct run_thread *t,
		       const struct sockinfo *sip)
{
	for (unsigned int i = 0; i < c->nmsgs; i++) {
		struct run_msg *m = &c->msgs[i];
		struct sg_send_desc desc;
		uint32_t verdict;
		int rule;

		if (sip) {
			m->ev.flags |= SG_EF_SOCK;
			m->ev.sock_family = (uint16_t)sip->family;
			m->ev.sock_type = (uint16_t)sip->type;
			m->ev.sock_protocol = (uint16_t)sip->protocol;
		}
		describe(c, m, t, sip, &desc);
		rule = sg_policy_eval(s->policy, &desc, &verdict);
		m->ev.verdict = (uint8_t)verdict;
		m->ev.rule = rule < 0 ? SG_RULE_DEFAULT : (uint16_t)rule;
		m->rule = rule < 0 ? NULL : s->policy->rules[rule].name;
		if (c->stop_err)
			continue;
		if (verdict == SG_VERDICT_DENY || verdict == SG_VERDICT_KILL) {
			c->stop_err = -EPERM;
			c->kill = verdict == SG_VERDICT_KILL;
			m->ev.enforced_by = SG_ENF_SECCOMP;
			continue;
		}
		c->nallowed = i + 1;
	}
}

/*
 * The judged call's outcome: failed as the kernel would have (err), done at
 * once, a connect started, or performed (parked when it has to wait).
 */
static void call_proceed(struct run_sup *s, struct run_call *c, int err)
{
	if (err) {
		/* the call fails as the kernel would have failed it; nothing is sent */
		c->nallowed = 0;
		c->stop_err = 0;
		finish(s, c, err);
		call_free(c);
		return;
	}
	if (c->syscall == SG_SYSCALL_SENDMMSG && c->vlen == 0) {
		finish(s, c, 0);
		call_free(c);
		return;
	}
	if (c->syscall == SG_SYSCALL_CONNECT && c->nallowed) {
		start_connect(s, c);
		return;
	}
	if (!perform(c)) {
		park(s, c);
		return;
	}
	finish(s, c, 0);
	call_free(c);
}

static void judged(struct run_sup *s, const struct seccomp_notif *req, uint32_t sc)
{
	struct run_thread *t = run_thread_get(&s->procs, (pid_t)req->pid);
	struct sockinfo si, *sip = NULL;
	struct run_call *c;
	int err;

	if (!t) {
		/* its /proc is gone: it is exiting; never let anything through unjudged */
		answer(s->listener, s->resp, s->sizes.seccomp_notif_resp, req->id, 0, -EPERM);
		return;
	}
	c = call_new(req, t, sc);
	if (!c) {
		answer(s->listener, s->resp, s->sizes.seccomp_notif_resp, req->id, 0, -ENOMEM);
		return;
	}
	err = call_read(s, c, &req->data, t, &si, &sip);
	/* what was read is the caller's: it still waits (its pid was not reused) */
	if (!id_valid(s, c->id)) {
		call_free(c);
		return;
	}
	call_judge(s, c, t, sip);
	call_proceed(s, c, err);
}

void run_sup_notification(struct run_sup *s)
{
	struct seccomp_notif *req = s->req;
	uint32_t syscall;

	/* a stale byte anywhere in the struct makes RECV fail with EINVAL */
	memset(req, 0, s->sizes.seccomp_notif);
	if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, req))
		return; /* ENOENT: the caller went away before we took it */
	s->notifications++;
	syscall = judged_syscall(req->data.nr);
	if (syscall) {
		s->judged++;
		judged(s, req, syscall);
		return;
	}
	/* calls that change what the cache holds: forget, then let them run */
	switch (req->data.nr) {
	case SYS_exit:
		run_thread_forget(&s->procs, (pid_t)req->pid);
		break;
	case SYS_execve:
	case SYS_execveat:
		run_thread_mark_stale(&s->procs, (pid_t)req->pid, true);
		break;
	default: /* prctl(PR_SET_NAME), set*id */
		run_thread_mark_stale(&s->procs, (pid_t)req->pid, false);
		break;
	}
	answer_continue(s, req->id);
}

int run_sup_init(struct run_sup *s, int listener, int epoll_fd, bool killable,
		 struct sg_policy *policy, struct sink *sinks, int nsinks)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sigaction sa = { .sa_handler = worker_interrupt };
	sigset_t set;
	int err;

	memset(s, 0, sizeof(*s));
	s->listener = listener;
	s->epoll_fd = epoll_fd;
	s->killable = killable;
	s->policy = policy;
	s->sinks = sinks;
	s->nsinks = nsinks;
	s->done_pipe[0] = s->done_pipe[1] = -1;
	sg_clock_init(&s->clk);
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s->sizes))
		return -errno;
	s->req = calloc(1, s->sizes.seccomp_notif > sizeof(*s->req) ? s->sizes.seccomp_notif
								    : sizeof(*s->req));
	s->resp = calloc(1, s->sizes.seccomp_notif_resp > sizeof(*s->resp)
				    ? s->sizes.seccomp_notif_resp
				    : sizeof(*s->resp));
	if (!s->req || !s->resp || sg_outbuf_init(&s->out, 64 * 1024))
		return -ENOMEM;
	if (s->sizes.seccomp_notif < sizeof(*s->req))
		s->sizes.seccomp_notif = sizeof(*s->req);
	if (s->sizes.seccomp_notif_resp < sizeof(*s->resp))
		s->sizes.seccomp_notif_resp = sizeof(*s->resp);
	err = run_procs_init(&s->procs, epoll_fd);
	if (err)
		return err;
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->timer_fd < 0 || pipe2(s->done_pipe, O_NONBLOCK | O_CLOEXEC))
		return -errno;
	/* connect workers are interrupted with SIGURG: a handler, no SA_RESTART */
	sigaction(SIGURG, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGURG);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	ev.data.u64 = RUN_TAG_TIMER;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s->timer_fd, &ev))
		return -errno;
	ev.data.u64 = RUN_TAG_DONE;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s->done_pipe[0], &ev))
		return -errno;
	/* the listener is not in the epoll set: the caller poll()s it (run.h) */
	return 0;
}

void run_sup_free(struct run_sup *s)
{
	run_sup_flush(s, true);
	run_procs_free(&s->procs);
	sg_outbuf_free(&s->out);
	free(s->req);
	free(s->resp);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	for (int i = 0; i < 2; i++) {
		if (s->done_pipe[i] >= 0)
			close(s->done_pipe[i]);
	}
}
