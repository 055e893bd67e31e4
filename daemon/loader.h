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
 * open -> set rodata and map sizes -> load -> attach. On failure logs the cause
 * with a hint and returns -errno; *skel is NULL then.
 */
int loader__start(struct trace_bpf **skel, const struct loader_opts *o);
void loader__stop(struct trace_bpf *skel);

#endif
