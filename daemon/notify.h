/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * systemd's service notification protocol (sd_notify(3)) without libsystemd:
 * one datagram of "KEY=VALUE\n" lines to the unix socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace). With
 * Type=notify, READY=1 tells the service manager that the daemon is up.
 */
#ifndef SG_NOTIFY_H
#define SG_NOTIFY_H

/* Send state (e.g. "READY=1\nSTATUS=tracing"). 0 when there is no $NOTIFY_SOCKET; else 0 or -errno. */
int notify_send(const char *state);

#endif
