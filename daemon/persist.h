/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --persist: the maps the enforcement hooks use (policy maps, sg_denied, the
 * ring buffer) and the cgroup links are pinned in the pin directory
 * (--pin-dir, SG_PIN_DIR by default), so the hooks keep enforcing while no
 * daemon runs. A daemon that finds them there adopts them: it loads its
 * programs on the pinned maps and swaps its programs into the pinned links,
 * instead of attaching a second set. A daemon without --persist removes the
 * pins of its directory when it exits.
 */
#ifndef SG_PERSIST_H
#define SG_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include "mounts.h"

#define SG_PIN_DIR SG_BPFFS "/sendguard"

struct bpf_object;
struct bpf_link;

/*
 * The pin directory and the state directory of this run (--pin-dir,
 * --state-dir); NULL keeps the default. Call before anything else here.
 * 0, or -ENAMETOOLONG.
 */
int persist__set_dirs(const char *pin_dir, const char *state_dir);
/* The pin directory in use. */
const char *persist__pin_dir(void);
/*
 * The pin directory must be on a bpffs (or, not made yet, its parent). It is
 * checked when it was named by --pin-dir or pins are to be made (persist).
 * 0, or -errno (logged: -EMEDIUMTYPE when not on a bpffs).
 */
int persist__check_pin_dir(bool persist);

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
/*
 * Remove the pins (map_* and link_*, nothing else) and the pin directory
 * once empty, and the state file.
 */
void persist__unpin_all(void);

/*
 * The run's state, for the daemon that adopts the pins next: the seq and
 * time of the last record handed to the sinks, and whether the run ended
 * normally. A small file, SG_STATE_FILE in the state directory (--state-dir,
 * SG_STATE_DIR by default): root's, mode 0600, never reached through a
 * symlink, in a directory only root can write to.
 */
#define SG_STATE_DIR  "/run/sendguard"
#define SG_STATE_FILE "persist.state"

struct persist_state;
struct sg_gap;

/* What the previous run's state file says (g->known false when there is none to trust). */
void persist__state_read(struct sg_gap *g);
/* Start this run's state file (replacing the previous one). NULL when it cannot (logged). */
struct persist_state *persist__state_open(void);
/* The last record handed to the sinks. Accepts NULL. */
void persist__state_write(struct persist_state *st, uint64_t seq, uint64_t last_real_ns);
/* At exit: clean says the run ended normally. Accepts NULL. */
void persist__state_close(struct persist_state *st, bool clean);
/* Records waiting in the ring buffer map fd of size bytes (not yet consumed). 0 or -errno. */
int persist__ring_queued(int map_fd, uint32_t size, uint64_t *n);

#endif
