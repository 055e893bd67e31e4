/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Program variants: how a program reads the kernel, by what the kernel offers.
 *
 * Every sendguard object holds each of its programs in up to three variants,
 * built from the same inline code with the variant as a compile-time
 * constant, so each copy contains only the instructions its kernels accept.
 * User space keeps one variant per object (the others are not loaded, so
 * their kfuncs and helpers are never checked): the best one the running
 * kernel's BTF and helper probes allow, and the next one down if the kernel
 * still refuses it. Programs are named by variant: no suffix for SG_VAR_BTF,
 * "_core" for SG_VAR_CORE, "_compat" for SG_VAR_COMPAT (docs/kernels.md).
 *
 * SG_VAR_BTF     task fields through bpf_get_current_task_btf() (plain
 *                loads), the syscall arguments from bpf_task_pt_regs() at
 *                sys_exit, bpf_loop() for the long walks, and kernel objects
 *                reached by a pointer held as a number (a file from the fd
 *                table) cast with the bpf_rdonly_cast kfunc: plain loads too.
 * SG_VAR_CORE    as SG_VAR_BTF, but those objects are read with CO-RE
 *                bpf_probe_read_kernel() (kernels without bpf_rdonly_cast).
 * SG_VAR_COMPAT  every kernel field by CO-RE probe reads from
 *                bpf_get_current_task(); the arguments saved by a sys_enter
 *                program and taken by thread at sys_exit; bounded loops;
 *                the policy evaluator as a global function of scalars
 *                (kernels without bpf_get_current_task_btf, bpf_task_pt_regs,
 *                bpf_loop or pointer arguments to global functions).
 */
#ifndef SENDGUARD_VARIANT_BPF_H
#define SENDGUARD_VARIANT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define SG_VAR_BTF    0
#define SG_VAR_CORE   1
#define SG_VAR_COMPAT 2

/*
 * Turn a kernel pointer held as a scalar into a read-only BTF pointer: its
 * fields are then plain loads (faults read as zero) instead of one
 * bpf_probe_read_kernel() per field, which costs ~30 ns each here. The
 * verifier inlines the kfunc to a register move (6.2+). Weak: an object that
 * has it stays loadable where the kernel has not (its callers are then left
 * out of the load).
 */
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id) __ksym __weak;
#define SG_CAST(type, p) ((type *)bpf_rdonly_cast((void *)(p), bpf_core_type_id_kernel(type)))

/* The current task: a BTF pointer, or (SG_VAR_COMPAT) a plain kernel address. */
#define SG_TASK(v)                                                           \
	((v) == SG_VAR_COMPAT ? (struct task_struct *)bpf_get_current_task() \
			      : bpf_get_current_task_btf())

/*
 * p->a->b... of a pointer reached from SG_TASK(v) (or a BTF argument):
 * plain loads through the BTF pointer, or one CO-RE probe read per hop.
 */
#define SG_RD(v, p, ...) \
	((v) == SG_VAR_COMPAT ? BPF_CORE_READ(p, __VA_ARGS__) : ___arrow(p, __VA_ARGS__))

/*
 * ((type *)p)->a->b... of a kernel object p known only by its address (or
 * reached through a container cast): SG_VAR_BTF casts it to a BTF pointer,
 * the others read it hop by hop with CO-RE probe reads.
 */
#define SG_OBJ_RD(v, type, p, ...)                                   \
	((v) == SG_VAR_BTF ? ___arrow(SG_CAST(type, p), __VA_ARGS__) \
			   : BPF_CORE_READ((type *)(p), __VA_ARGS__))

#endif /* SENDGUARD_VARIANT_BPF_H */
