/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Loading and attaching the tracing programs (split skeleton lifecycle). */
#ifndef SG_LOADER_H
#define SG_LOADER_H

#include <stdint.h>

struct trace_bpf;

struct loader_opts {
	uint64_t ringbuf_size; /* bytes, power of two >= page size */
	uint64_t wakeup_bytes; /* queued bytes that wake the consumer */
	int verbose;
};

/*
 * open -> set rodata and map sizes -> load. On failure logs the cause with a
 * hint and returns -errno; *skel is NULL then. The programs judge sends by
 * the policy maps, so attach only once a policy is in them.
 */
int loader__load(struct trace_bpf **skel, const struct loader_opts *o);
/* Attach the loaded programs. Logs the cause on failure; 0 or -errno. */
int loader__attach(struct trace_bpf *skel);
void loader__stop(struct trace_bpf *skel);

#endif
