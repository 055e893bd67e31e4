/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Loading and attaching the tracing programs (split skeleton lifecycle). */
#ifndef SG_LOADER_H
#define SG_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

struct trace_bpf;
struct bpf_object;

struct loader_opts {
	uint64_t ringbuf_size; /* bytes, power of two >= page size; a pinned one wins */
	int verbose;
	bool persist; /* pin the maps the hooks share (--persist) */
	bool adopted; /* out: maps of an earlier --persist run were adopted */
	int variant_limit; /* the best program variant to try (--bpf-variant; 0: any) */
	int variant; /* out: the variant loaded (enum sg_variant) */
	int flows; /* SG_FLOWS_* (--flows) */
	uint32_t flow_table_size; /* flows the kernel table holds (--flows) */
	uint64_t flow_idle_ns; /* a flow idle this long takes no more counts */
};

/*
 * open -> set rodata and map sizes -> load. On failure logs the cause with a
 * hint and returns -errno; *skel is NULL then. The programs judge sends by
 * the policy maps, so attach only once a policy is in them.
 */
int loader__load(struct trace_bpf **skel, struct loader_opts *o);
/*
 * The daemon's tgid as the kernel's programs see it (initial PID namespace),
 * for their self filters; found by loader__load.
 */
uint32_t loader__self_tgid(void);
/* Attach the loaded programs. Logs the cause on failure; 0 or -errno. */
int loader__attach(struct trace_bpf *skel);
/* Stop every tracing program (the send syscalls' and the other paths'); maps stay. */
void loader__detach(struct trace_bpf *skel);
/* Detach and unload everything loader__load loaded. */
void loader__stop(struct trace_bpf *skel);
/*
 * The other send paths (write, writev, sendfile, splice, io_uring) are traced
 * by a second object, loaded and attached with the first when the kernel
 * allows: the variant attached, or -1 (not traced); its counter of records
 * the ring buffer had no room for; its object (NULL: none).
 */
int loader__paths_variant(void);
const volatile __u64 *loader__paths_lost(void);

/* Whether the other-paths programs report a message BPF-LSM fails (fexit: yes). */
bool loader__paths_see_denials(void);
const struct bpf_object *loader__paths_obj(void);
/*
 * Point the maps obj shares with the tracing object (persist__shared_map:
 * the policy maps, sg_denied, sg_unix_reached, sg_calls, events) at trace's. Before loading obj.
 */
int loader__share_maps(struct bpf_object *obj, const struct bpf_object *trace);
/*
 * While on, libbpf's warnings are logged as debug output (-vv): around loads
 * that may be refused, where the caller reports what matters. Nests: each
 * loader__quiet(true) is undone by one loader__quiet(false).
 */
void loader__quiet(bool on);

#endif
