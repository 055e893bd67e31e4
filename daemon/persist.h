/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --persist: the maps the enforcement hooks use (policy maps, sg_denied, the
 * ring buffer) and the cgroup links are pinned under SG_PIN_DIR, so the hooks
 * keep enforcing while no daemon runs. A daemon that finds them adopts them:
 * it loads its programs on the pinned maps and swaps its programs into the
 * pinned links, instead of attaching a second set.
 */
#ifndef SG_PERSIST_H
#define SG_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include "mounts.h"

#define SG_PIN_DIR SG_BPFFS "/sendguard"

struct bpf_object;
struct bpf_link;

/* Is this map of the tracing object shared with the hooks (and so pinned)? */
bool persist__shared_map(const char *name);
/*
 * Before load: point the shared maps of obj at the pinned ones, if any. The
 * ring buffer keeps its pinned size (*ringbuf_size is updated, with a log
 * line when it differs). Returns the number of maps adopted, or -errno.
 */
int persist__adopt_maps(struct bpf_object *obj, uint64_t *ringbuf_size);
/* After load: pin the shared maps that are not pinned yet. 0 or -errno. */
int persist__pin_maps(struct bpf_object *obj);
/* The pin path of a cgroup hook's link. */
void persist__link_path(char *buf, size_t len, const char *hook);
/* Remove every pin (maps and links) and the directory. */
void persist__unpin_all(void);

#endif
