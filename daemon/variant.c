// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "log.h"
#include "variant.h"

static const char *const names[SG_NVARIANTS] = { "btf", "core", "compat" };
static const char *const suffixes[SG_NVARIANTS] = { "", "_core", "_compat" };

const char *variant__name(int v)
{
	return v >= 0 && v < SG_NVARIANTS ? names[v] : NULL;
}

int variant__parse(const char *s)
{
	for (int v = 0; v < SG_NVARIANTS; v++)
		if (s && !strcmp(s, names[v]))
			return v;
	return -1;
}

/* The variant of a program, from the suffix of its name. */
static int prog_variant(const struct bpf_program *p)
{
	const char *name = bpf_program__name(p);
	size_t n = strlen(name), k;

	for (int v = SG_NVARIANTS - 1; v > 0; v--) {
		k = strlen(suffixes[v]);
		if (n > k && !strcmp(name + n - k, suffixes[v]))
			return v;
	}
	return SG_VARIANT_BTF;
}

/* Keep the programs of variant v in obj: autoload on, the others off. */
static int select_variant(struct bpf_object *obj, int v)
{
	struct bpf_program *p;
	int err;

	bpf_object__for_each_program (p, obj) {
		err = bpf_program__set_autoload(p, prog_variant(p) == v);
		if (err)
			return err;
	}
	return 0;
}

/* False only when the kernel says no: some program types cannot be probed (LSM). */
static bool has_helper(enum bpf_prog_type t, enum bpf_func_id f)
{
	return libbpf_probe_bpf_helper(t, f, NULL) != 0;
}

static struct btf *vmlinux;
static bool vmlinux_tried;

bool variant__kernel_has_func(const char *name)
{
	if (!vmlinux_tried) {
		vmlinux_tried = true;
		vmlinux = btf__load_vmlinux_btf();
		if (!vmlinux)
			log_debug("cannot parse the kernel's BTF: %s", strerror(errno));
	}
	return vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0;
}

void variant__forget_btf(void)
{
	btf__free(vmlinux);
	vmlinux = NULL;
	vmlinux_tried = false;
}

static bool has_kfunc(const char *name)
{
	static int found = -1; /* one kfunc is asked about: cache it */

	if (found < 0)
		found = variant__kernel_has_func(name);
	return found;
}

/* Why this kernel lacks what an object's variant needs (SG_NEED_*), or NULL. */
static const char *missing(unsigned int needs, enum bpf_prog_type t)
{
	if (needs & SG_NEED_TASK_BTF && !has_helper(t, BPF_FUNC_get_current_task_btf))
		return "no bpf_get_current_task_btf";
	if (needs & SG_NEED_PT_REGS && !has_helper(t, BPF_FUNC_task_pt_regs))
		return "no bpf_task_pt_regs";
	if (needs & SG_NEED_LOOP && !has_helper(t, BPF_FUNC_loop))
		return "no bpf_loop";
	if (needs & SG_NEED_RDONLY_CAST && !has_kfunc("bpf_rdonly_cast"))
		return "no bpf_rdonly_cast kfunc";
	return NULL;
}

int variant__load(const struct variant_ops *ops, void *ctx, int limit)
{
	int v, last = -1, err = -ENOENT;
	struct bpf_object *obj;
	const char *why;

	for (v = limit < 0 ? 0 : limit; v < SG_NVARIANTS; v++)
		if (ops->variants & SG_VARIANT_MASK(v))
			last = v;
	for (v = limit < 0 ? 0 : limit; v <= last; v++) {
		if (!(ops->variants & SG_VARIANT_MASK(v)))
			continue;
		/* The last one is tried whatever the probes say: its refusal is the answer. */
		why = v < last ? missing(ops->needs[v], ops->type) : NULL;
		if (why) {
			log_debug("%s: BPF variant %s skipped: %s", ops->what, names[v], why);
			continue;
		}
		obj = ops->open(ctx);
		if (!obj)
			return -errno;
		err = select_variant(obj, v);
		if (!err)
			err = ops->setup(ctx);
		if (err) {
			ops->destroy(ctx);
			return err;
		}
		loader__quiet(true);
		err = ops->load(ctx);
		loader__quiet(false);
		if (!err) {
			log_debug("%s: BPF variant %s loaded", ops->what, names[v]);
			return v;
		}
		ops->destroy(ctx);
		if (err == -EPERM)
			return err;
		log_debug("%s: BPF variant %s refused: %s%s", ops->what, names[v], strerror(-err),
			  v < last ? "; trying the next one" : "");
	}
	return err;
}
