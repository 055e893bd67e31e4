// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * notify_floor: the floor of the `run` benchmark's notified path. Runs CMD under a
 * seccomp filter that sends every sendto() to a user-space supervisor, and a supervisor
 * that answers each notification with SECCOMP_USER_NOTIF_FLAG_CONTINUE at once: the cost
 * of one notification round trip and nothing else, what `sendguard run` cannot go below
 * for a send it must judge in user space.
 *
 * With --perform it is instead the race-free floor: each sendto() is done the way `sendguard
 * run` must do it to be race-free, and nothing more (no policy, no event): the socket
 * taken with pidfd_getfd, payload and address read once with process_vm_readv,
 * SECCOMP_IOCTL_NOTIF_ID_VALID after the reads, the send performed on the private copy,
 * the duplicate closed, the result returned with SECCOMP_IOCTL_NOTIF_SEND. The difference
 * between the two floors is what those system calls cost on this machine.
 *
 *   notify_floor [--no-killable] [--no-sync-wakeup] [--perform] [--] CMD [ARGS...]
 *
 * The filter flags match what `sendguard run` uses where the kernel has them
 * (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP), so the two
 * are compared on the same kernel path. Prints "notify_floor: N notifications" on stderr
 * at the end; exits with CMD's status (128+signal if it was killed), 1 on setup failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccomp_abi.h"

static int install(unsigned long flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SG_SECCOMP_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendto, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_NEW_LISTENER | flags, &prog);
}

/* sendto() of the notification's caller, performed here on private copies; -errno or bytes */
static long perform_sendto(int listener, int pidfd, const struct seccomp_notif *req)
{
	static char buf[65536];
	struct sockaddr_storage name;
	const __u64 *a = req->data.args;
	size_t len = a[2] < sizeof(buf) ? a[2] : sizeof(buf);
	socklen_t alen = a[4] && a[5] <= sizeof(name) ? (socklen_t)a[5] : 0;
	struct iovec local[2] = { { buf, len }, { &name, alen } };
	struct iovec remote[2] = { { (void *)(uintptr_t)a[1], len },
				   { (void *)(uintptr_t)a[4], alen } };
	int dup = (int)syscall(SYS_pidfd_getfd, pidfd, (int)a[0], 0);
	long ret;

	if (dup < 0)
		return -errno;
	if (process_vm_readv((pid_t)req->pid, local, alen ? 2 : 1, remote, alen ? 2 : 1, 0) !=
	    (ssize_t)(len + alen)) {
		close(dup);
		return -EFAULT;
	}
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id)) {
		close(dup);
		return -ENOENT;
	}
	ret = sendto(dup, buf, len, (int)a[3] | MSG_DONTWAIT,
		     alen ? (struct sockaddr *)&name : NULL, alen);
	if (ret < 0)
		ret = -errno;
	close(dup);
	return ret;
}

int main(int argc, char **argv)
{
	int killable = 1, sync_wakeup = 1, perform = 0, i = 1, to_child[2], from_child[2],
	    listener = -1;
	struct seccomp_notif_sizes sizes;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	unsigned long long count = 0;
	int pidfd, status = 0, fd, err;
	pid_t pid;
	char c;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--no-killable"))
			killable = 0;
		else if (!strcmp(argv[i], "--no-sync-wakeup"))
			sync_wakeup = 0;
		else if (!strcmp(argv[i], "--perform"))
			perform = 1;
		else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			fprintf(stderr, "usage: notify_floor [--no-killable] [--no-sync-wakeup] "
					"[--perform] [--] CMD [ARGS...]\n");
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "notify_floor: missing CMD\n");
		return 2;
	}
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes)) {
		perror("notify_floor: SECCOMP_GET_NOTIF_SIZES");
		return 1;
	}
	req = calloc(1, sizes.seccomp_notif > sizeof(*req) ? sizes.seccomp_notif : sizeof(*req));
	resp = calloc(1, sizes.seccomp_notif_resp > sizeof(*resp) ? sizes.seccomp_notif_resp
								  : sizeof(*resp));
	if (!req || !resp || pipe2(to_child, O_CLOEXEC) || pipe2(from_child, O_CLOEXEC)) {
		perror("notify_floor: setup");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("notify_floor: fork");
		return 1;
	}
	if (pid == 0) {
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		fd = killable ? install(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) : -1;
		if (fd < 0)
			fd = install(0);
		if (fd < 0) {
			perror("notify_floor: seccomp");
			_exit(127);
		}
		/* the listener's number through a pipe; the parent takes it with pidfd_getfd */
		if (write(from_child[1], &fd, sizeof(fd)) != sizeof(fd) ||
		    read(to_child[0], &c, 1) != 1)
			_exit(127);
		close(fd);
		execvp(argv[i], argv + i);
		perror("notify_floor: exec");
		_exit(127);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 || read(from_child[0], &fd, sizeof(fd)) != sizeof(fd) ||
	    (listener = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0)) < 0) {
		perror("notify_floor: taking the listener");
		kill(pid, SIGKILL);
		return 1;
	}
	if (sync_wakeup)
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	if (write(to_child[1], "x", 1) != 1)
		return 1;
	for (;;) {
		struct pollfd p[2] = { { .fd = listener, .events = POLLIN },
				       { .fd = pidfd, .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & POLLIN) {
			memset(req, 0, sizes.seccomp_notif);
			if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0) {
				memset(resp, 0, sizes.seccomp_notif_resp);
				resp->id = req->id;
				if (perform) {
					long r = perform_sendto(listener, pidfd, req);

					if (r == -ENOENT)
						continue; /* the caller is gone */
					if (r < 0)
						resp->error = (int)r;
					else
						resp->val = r;
				} else {
					resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
				}
				ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
				count++;
			}
			continue;
		}
		if (p[1].revents & POLLIN)
			break;
		if (p[0].revents & (POLLHUP | POLLERR))
			break;
	}
	err = waitpid(pid, &status, 0) < 0;
	fprintf(stderr, "notify_floor: %llu notifications\n", count);
	if (err)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
