/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Program variants (bpf/variant.bpf.h): every BPF object holds its programs
 * in up to three variants, named by suffix; one is loaded per object. The
 * best one this kernel's BTF and helpers admit is tried first, then the next
 * one down when the kernel refuses it, never chosen by kernel version.
 */
#ifndef SG_VARIANT_H
#define SG_VARIANT_H

#include <stdbool.h>
#include <bpf/libbpf.h>

enum sg_variant {
	SG_VARIANT_BTF = 0, /* kfunc casts, task BTF, registers at exit, bpf_loop (6.2+) */
	SG_VARIANT_CORE, /* the same with CO-RE probe reads of kernel objects (5.17+) */
	SG_VARIANT_COMPAT, /* probe reads only, sys_enter/sys_exit pairs, bounded loops (5.10+) */
	SG_NVARIANTS
};

#define SG_VARIANT_MASK(v) (1u << (v))

/* What a variant of an object needs of the kernel (variant_ops.needs), probed. */
#define SG_NEED_TASK_BTF    (1u << 0) /* bpf_get_current_task_btf (5.11) */
#define SG_NEED_PT_REGS	    (1u << 1) /* bpf_task_pt_regs (5.15) */
#define SG_NEED_LOOP	    (1u << 2) /* bpf_loop (5.17) */
#define SG_NEED_RDONLY_CAST (1u << 3) /* the bpf_rdonly_cast kfunc (6.2) */

/* "btf", "core", "compat"; NULL out of range. */
const char *variant__name(int v);
/* The variant named s, or -1. */
int variant__parse(const char *s);

/* One BPF object to load in one of its variants (callbacks on the caller's skeleton). */
struct variant_ops {
	const char *what; /* "tracing", "cgroup hooks", "BPF-LSM": for the log */
	enum bpf_prog_type type; /* of its programs, for the helper probes */
	unsigned int variants; /* SG_VARIANT_MASK() of those it has */
	unsigned int needs[SG_NVARIANTS]; /* SG_NEED_* of each */
	/* Open the skeleton and return its object, or NULL with errno set. */
	struct bpf_object *(*open)(void *ctx);
	/* Set it up before load (rodata, map sizes, shared maps): 0 or -errno. */
	int (*setup)(void *ctx);
	/* Load it: 0 or -errno (a refusal: the next variant is tried). */
	int (*load)(void *ctx);
	/* Destroy what open made (the next variant opens anew). */
	void (*destroy)(void *ctx);
};

/*
 * Load ops in the best variant that loads, none better than limit
 * (SG_VARIANT_BTF: no limit; --bpf-variant caps every object at a variant,
 * for tests and benchmarks). libbpf's messages while loading, the verifier's
 * log of a refusal included, go to the debug log (-vv); the caller reports
 * a final failure. A failed setup, or a load refused for want of privilege
 * (EPERM), ends the search: no other variant would do better. Returns the
 * variant loaded, or -errno (nothing is left open then).
 */
int variant__load(const struct variant_ops *ops, void *ctx, int limit);

/*
 * Whether the kernel's BTF has a function (a kfunc, or a place fentry/fexit
 * can attach). The kernel's BTF is parsed once for every such question
 * (parsing it is most of a probe's cost, ~10x so in an emulated guest) and
 * kept until variant__forget_btf().
 */
bool variant__kernel_has_func(const char *name);
void variant__forget_btf(void);

#endif
