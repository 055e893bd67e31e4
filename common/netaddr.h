/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* "HOST:PORT" and "[V6]:PORT" for the metrics listener and the remote syslog sink. */
#ifndef SG_NETADDR_H
#define SG_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

struct netaddr {
	struct sockaddr_storage sa;
	socklen_t len;
};

/*
 * Split "HOST:PORT" / "[V6]:PORT" into host and port; both non-empty, the port
 * 1-65535. 0 or -EINVAL.
 */
int netaddr_split(const char *spec, char *host, size_t hostsz, unsigned int *port);
/*
 * Resolve "HOST:PORT" to its first TCP address (a name goes through
 * getaddrinfo, which may block: call at start only). 0, -EINVAL for a bad
 * spec, or -EHOSTUNREACH when the name does not resolve (*why says why).
 */
int netaddr_resolve(const char *spec, struct netaddr *out, const char **why);
/* "1.2.3.4:5" or "[::1]:5". */
void netaddr_format(const struct netaddr *a, char *buf, size_t len);

#endif
