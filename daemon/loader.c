// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "trace.skel.h"
#include "paths.skel.h"
#include "self.skel.h"
#include "loader.h"
#include "log.h"
#include "mounts.h"
#include "persist.h"
#include "variant.h"

static int verbose;
static int quiet; /* loading what may be refused: libbpf's warnings are debug output */

void loader__quiet(bool on)
{
	quiet += on ? 1 : -1;
}

/* libbpf's messages, line by line (a verifier log is one long message). */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *buf = NULL, *line, *next;

	if (quiet && level == LIBBPF_WARN)
		level = LIBBPF_DEBUG;
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (level == LIBBPF_INFO && verbose < 1)
		return 0;
	if (vasprintf(&buf, fmt, ap) < 0)
		return 0;
	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		log_msg(level == LIBBPF_WARN ? LOG_LVL_WARN : LOG_LVL_DEBUG, "%s", line);
	}
	free(buf);
	return 0;
}

static const char *hint(int err)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return "kernel BTF missing at /sys/kernel/btf/vmlinux: need "
		       "CONFIG_DEBUG_INFO_BTF=y";
	switch (err) {
	case -EPERM:
	case -EACCES:
		return "need root or CAP_BPF+CAP_PERFMON";
	case -ENOENT:
		return "syscall tracepoints missing: need CONFIG_FTRACE_SYSCALLS=y and tracefs";
	case -E2BIG:
	case -EINVAL:
		return "the kernel refused the program: run with -vv for the verifier log";
	case -ENOMEM:
		return "not enough locked memory for the ring buffer: try a smaller --ringbuf-size";
	default:
		return "run with -vv for libbpf's log";
	}
}

static uint32_t self_tgid;

/*
 * The tgid bpf/self.bpf.c sees for us into *tgid (0 where the kernel cannot
 * run it). Returns the -errno of a failed load: -EPERM/-EACCES say that no
 * BPF program can be loaded here at all.
 */
static int self_tgid_bpf(uint32_t *tgid)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	libbpf_print_fn_t old = libbpf_set_print(NULL); /* a probe: failure is expected */
	struct self_bpf *skel = self_bpf__open();
	struct bpf_link *link;
	uint32_t nonce = 0;
	int err;

	*tgid = 0;
	if (!skel) {
		err = -errno;
		goto out;
	}
	/* A syscall program run in our context (5.14+)... */
	bpf_program__set_autoload(skel->progs.sg_self_tp, false);
	err = self_bpf__load(skel) ? -errno : 0;
	if (!err && !bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sg_self), &opts))
		*tgid = skel->bss->self_tgid;
	self_bpf__destroy(skel);
	if (*tgid || err == -EPERM)
		goto out;
	/* ...else a tracepoint on a getpgid(nonce) of ours. */
	skel = self_bpf__open();
	if (!skel) {
		err = -errno;
		goto out;
	}
	bpf_program__set_autoload(skel->progs.sg_self, false);
	err = self_bpf__load(skel) ? -errno : 0;
	if (!err && getrandom(&nonce, sizeof(nonce), 0) == sizeof(nonce)) {
		skel->bss->nonce = (nonce & 0x3fffffff) | 0x40000000; /* never a pid we have */
		link = bpf_program__attach(skel->progs.sg_self_tp);
		if (link) {
			syscall(SYS_getpgid, (pid_t)skel->bss->nonce);
			*tgid = skel->bss->self_tgid;
			bpf_link__destroy(link);
		}
	}
	self_bpf__destroy(skel);
out:
	libbpf_set_print(old);
	return err;
}

/*
 * The first NSpid field of /proc/self/status: our pid in the PID namespace of
 * whoever mounted /proc, which is the initial one unless /proc was mounted in
 * a PID namespace of its own. fields: how many NSpid has. 0 if unreadable.
 */
static uint32_t self_tgid_proc(int *fields)
{
	char line[256];
	uint32_t pid = 0;
	FILE *f = fopen("/proc/self/status", "re");

	*fields = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (p = line + 6;; p = end) {
			unsigned long v = strtoul(p, &end, 10);

			if (end == p)
				break;
			if (!(*fields)++)
				pid = (uint32_t)v;
		}
		break;
	}
	fclose(f);
	return pid;
}

/* Are we in the initial PID namespace? (its /proc/self/ns/pid inode is fixed) */
static bool in_initial_pidns(void)
{
	char link[64];
	ssize_t n = readlink("/proc/self/ns/pid", link, sizeof(link) - 1);

	if (n <= 0)
		return false;
	link[n] = '\0';
	return strcmp(link, "pid:[4026531836]") == 0;
}

/*
 * The daemon's tgid as bpf_get_current_pid_tgid() reports it (the initial
 * PID namespace's), for the programs' self filters: getpid() is another
 * number in a PID namespace, and filtering by it would hide (and exempt from
 * enforcement) the host process that has that number.
 */
static int find_self_tgid(void)
{
	int fields, err = self_tgid_bpf(&self_tgid);

	if (err == -EPERM || err == -EACCES)
		return err; /* no BPF here at all: the caller says why */
	if (self_tgid) {
		log_debug("own tgid in the initial PID namespace: %u (getpid %d)", self_tgid,
			  (int)getpid());
		return 0;
	}
	self_tgid = self_tgid_proc(&fields);
	if (self_tgid && (fields > 1 || in_initial_pidns()))
		return 0;
	if (!self_tgid)
		self_tgid = (uint32_t)getpid();
	log_warn("cannot tell this daemon's pid in the initial PID namespace (no BPF syscall "
		 "programs, /proc of a PID namespace): using %u; if that is not it, the daemon's "
		 "own sends are traced and another process's are not",
		 self_tgid);
	return 0;
}

uint32_t loader__self_tgid(void)
{
	return self_tgid;
}

/* The tracing object as variant__load sees it. */
struct trace_load {
	struct trace_bpf *skel;
	struct loader_opts *o;
};

static struct bpf_object *trace_open(void *ctx)
{
	struct trace_load *t = ctx;

	t->skel = trace_bpf__open();
	return t->skel ? t->skel->obj : NULL;
}

static int trace_setup(void *ctx)
{
	struct trace_load *t = ctx;
	struct trace_bpf *skel = t->skel;
	struct loader_opts *o = t->o;
	int err, ncpus;

	skel->rodata->self_tgid = self_tgid;
	skel->rodata->flows_on = (__u32)o->flows;
	if (o->flows) {
		skel->rodata->flow_idle_ns = o->flow_idle_ns;
		err = bpf_map__set_max_entries(skel->maps.sg_flows, o->flow_table_size);
		if (err) {
			log_err("cannot size the flow table: %s", strerror(-err));
			return err;
		}
	}
	err = bpf_map__set_max_entries(skel->maps.events, (__u32)o->ringbuf_size);
	if (err) {
		log_err("cannot size the ring buffer to %llu bytes: %s",
			(unsigned long long)o->ringbuf_size, strerror(-err));
		return err;
	}
	/* Maps a --persist run left pinned: the hooks still use them, so do we. */
	err = persist__adopt_maps(skel->obj, &o->ringbuf_size);
	if (err < 0)
		return err;
	o->adopted = err > 0;
	/* Every CPU wakes the consumer each 1/8 of the ring it writes. */
	ncpus = libbpf_num_possible_cpus();
	skel->rodata->wakeup_bytes = o->ringbuf_size / 8 / (ncpus > 0 ? (unsigned)ncpus : 1);
	return 0;
}

static int trace_load(void *ctx)
{
	struct trace_load *t = ctx;

	return trace_bpf__load(t->skel);
}

static void trace_destroy(void *ctx)
{
	struct trace_load *t = ctx;

	trace_bpf__destroy(t->skel);
	t->skel = NULL;
}

static const struct variant_ops trace_ops = {
	.what = "tracing",
	.type = BPF_PROG_TYPE_TRACEPOINT,
	.variants = SG_VARIANT_MASK(SG_VARIANT_BTF) | SG_VARIANT_MASK(SG_VARIANT_CORE) |
		    SG_VARIANT_MASK(SG_VARIANT_COMPAT),
	.needs = {
		[SG_VARIANT_BTF] = SG_NEED_TASK_BTF | SG_NEED_PT_REGS | SG_NEED_LOOP |
				   SG_NEED_RDONLY_CAST,
		[SG_VARIANT_CORE] = SG_NEED_TASK_BTF | SG_NEED_PT_REGS | SG_NEED_LOOP,
	},
	.open = trace_open,
	.setup = trace_setup,
	.load = trace_load,
	.destroy = trace_destroy,
};

int loader__share_maps(struct bpf_object *obj, const struct bpf_object *trace)
{
	struct bpf_map *m;
	int err;

	bpf_object__for_each_map (m, obj) {
		const char *name = bpf_map__name(m);
		const struct bpf_map *t;

		if (!persist__shared_map(name))
			continue;
		t = bpf_object__find_map_by_name(trace, name);
		if (!t)
			continue;
		err = bpf_map__reuse_fd(m, bpf_map__fd(t));
		if (err)
			return err;
	}
	return 0;
}

/*
 * The other send paths (paths.bpf.c): write, writev, sendfile, splice,
 * io_uring. Optional: without them the three send syscalls are still traced.
 */
static struct paths_bpf *paths;
static int paths_variant = -1;
static bool paths_attached;

struct paths_load {
	struct paths_bpf *skel;
	const struct trace_bpf *trace;
};

static struct bpf_object *paths_open(void *ctx)
{
	struct paths_load *l = ctx;

	l->skel = paths_bpf__open();
	return l->skel ? l->skel->obj : NULL;
}

static int paths_setup(void *ctx)
{
	struct paths_load *l = ctx;

	struct paths_bpf *s = l->skel;
	int err;

	s->bss->self_tgid = self_tgid;
	/* sendfile and splice reach a socket by sock_sendpage, not sock_sendmsg, before 6.5. */
	if (!variant__kernel_has_func("sock_sendpage")) {
		bpf_program__set_autoload(s->progs.sg_page_core, false);
		bpf_program__set_autoload(s->progs.sg_page_compat, false);
	}
	/* io_uring's sendmsg, where the kernel has this entry for it (5.10-6.x). */
	if (!variant__kernel_has_func("__sys_sendmsg_sock")) {
		bpf_program__set_autoload(s->progs.sg_msock_in_core, false);
		bpf_program__set_autoload(s->progs.sg_msock_core, false);
		bpf_program__set_autoload(s->progs.sg_msock_in_compat, false);
		bpf_program__set_autoload(s->progs.sg_msock_compat, false);
	}
	/* Its events wake the daemon as the tracing programs' do, on the same counters. */
	s->rodata->wakeup_bytes = l->trace->rodata->wakeup_bytes;
	err = loader__share_maps(s->obj, l->trace->obj);
	if (!err)
		err = bpf_map__reuse_fd(s->maps.known_exe, bpf_map__fd(l->trace->maps.known_exe));
	if (!err)
		err = bpf_map__reuse_fd(s->maps.known_cgroup,
					bpf_map__fd(l->trace->maps.known_cgroup));
	if (!err)
		err = bpf_map__reuse_fd(s->maps.last_known, bpf_map__fd(l->trace->maps.last_known));
	return err;
}

static int paths_load(void *ctx)
{
	return paths_bpf__load(((struct paths_load *)ctx)->skel);
}

static void paths_destroy(void *ctx)
{
	struct paths_load *l = ctx;

	paths_bpf__destroy(l->skel);
	l->skel = NULL;
}

static const struct variant_ops paths_ops = {
	.what = "other send paths",
	.type = BPF_PROG_TYPE_TRACING,
	.variants = SG_VARIANT_MASK(SG_VARIANT_BTF) | SG_VARIANT_MASK(SG_VARIANT_CORE) |
		    SG_VARIANT_MASK(SG_VARIANT_COMPAT),
	.needs = {
		[SG_VARIANT_BTF] = SG_NEED_TASK_BTF | SG_NEED_PT_REGS,
		[SG_VARIANT_CORE] = SG_NEED_TASK_BTF | SG_NEED_PT_REGS,
	},
	.open = paths_open,
	.setup = paths_setup,
	.load = paths_load,
	.destroy = paths_destroy,
};

/* Load the paths object (a failure is logged: those paths go untraced). */
static void load_paths(const struct trace_bpf *trace, int limit)
{
	struct paths_load l = { .trace = trace };
	int v;

	loader__quiet(true);
	v = variant__load(&paths_ops, &l, limit);
	loader__quiet(false);
	variant__forget_btf(); /* the probes are done */
	if (v < 0) {
		log_warn("messages sent by write, writev, sendfile, splice or io_uring are not "
			 "traced: the kernel refused the programs at sock_sendmsg (%s; -vv for "
			 "the verifier log)",
			 strerror(-v));
		return;
	}
	paths = l.skel;
	paths_variant = v;
	log_debug("other send paths: BPF variant %s", variant__name(v));
}

bool loader__paths_see_denials(void)
{
	/* fexit sees the result of a message BPF-LSM failed; the tracepoint never runs for it. */
	return paths && paths_variant != SG_VARIANT_BTF;
}

int loader__paths_variant(void)
{
	return paths_attached ? paths_variant : -1;
}

const volatile __u64 *loader__paths_lost(void)
{
	return paths ? &paths->bss->lost_events : NULL;
}

const struct bpf_object *loader__paths_obj(void)
{
	return paths ? paths->obj : NULL;
}

int loader__load(struct trace_bpf **out, struct loader_opts *o)
{
	struct trace_load t = { .o = o };
	int err;

	*out = NULL;
	verbose = o->verbose;
	libbpf_set_print(libbpf_print);

	err = mounts_ensure_tracefs();
	if (err)
		log_warn("cannot mount tracefs at %s: %s", SG_TRACEFS, strerror(-err));
	err = mounts_ensure_bpffs();
	if (err)
		log_warn("cannot mount bpffs at %s: %s", SG_BPFFS, strerror(-err));

	/* First, before anything is opened: it also tells whether BPF can be loaded at all. */
	err = find_self_tgid();
	if (err) {
		log_err("cannot load BPF: %s (%s)", strerror(-err), hint(err));
		return err;
	}
	/* After the check above: without privileges, what is missing is the first thing said. */
	err = persist__check_pin_dir(o->persist);
	if (err)
		return err;
	err = variant__load(&trace_ops, &t, o->variant_limit);
	if (err < 0) {
		log_err("cannot load BPF: %s (%s)", strerror(-err), hint(err));
		return err;
	}
	o->variant = err;
	/* The compat sendmmsg program goes on in itself, by tail call, chunk by chunk. */
	if (o->variant == SG_VARIANT_COMPAT) {
		int fd = bpf_program__fd(t.skel->progs.sg_exit_sendmmsg_compat);
		__u32 zero = 0;

		if (bpf_map_update_elem(bpf_map__fd(t.skel->maps.sg_mmsg_tail), &zero, &fd, 0)) {
			err = -errno;
			log_err("cannot set up the sendmmsg tail call: %s", strerror(-err));
			goto fail;
		}
	}
	if (o->persist && (err = persist__pin_maps(t.skel->obj)))
		goto fail;
	load_paths(t.skel, o->variant_limit);
	*out = t.skel;
	return 0;
fail:
	trace_bpf__destroy(t.skel);
	return err;
}

int loader__attach(struct trace_bpf *skel)
{
	int err = trace_bpf__attach(skel);

	if (err) {
		log_err("cannot attach BPF programs: %s (%s)", strerror(-err), hint(err));
		return err;
	}
	if (!paths)
		return 0;
	/* Every program of the variant loaded, or none. */
	err = paths_bpf__attach(paths);
	if (err) {
		log_warn("messages sent by write, writev, sendfile, splice or io_uring are not "
			 "traced: cannot attach the programs at the socket layer: %s",
			 strerror(-err));
		paths_bpf__detach(paths);
		return 0;
	}
	paths_attached = true;
	paths->bss->page_hooked = bpf_program__autoload(paths->progs.sg_page_core) ||
				  bpf_program__autoload(paths->progs.sg_page_compat);
	return 0;
}

void loader__detach(struct trace_bpf *skel)
{
	if (paths) {
		paths_bpf__detach(paths);
		paths_attached = false;
	}
	trace_bpf__detach(skel);
}

void loader__stop(struct trace_bpf *skel)
{
	paths_bpf__destroy(paths);
	paths = NULL;
	paths_variant = -1;
	paths_attached = false;
	trace_bpf__destroy(skel);
}
