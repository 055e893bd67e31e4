// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Enforcement: loading, probing and attaching the cgroup sock_addr hooks and
 * the BPF-LSM program, and the coverage report (which mechanism enforces each
 * rule on this kernel). Every mechanism is probed by loading it, never by
 * kernel version; what the kernel refuses is logged once and left out.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "trace.skel.h"
#include "enforce.skel.h"
#include "lsm.skel.h"
#include "enforce.h"
#include "log.h"
#include "names.h"
#include "policy_compile.h"
#include "persist.h"
#include "mounts.h"
#include "loader.h"
#include "variant.h"

/* enum bpf_attach_type values newer than some installed UAPI headers (6.7+). */
#define SG_ATTACH_UNIX_CONNECT 49
#define SG_ATTACH_UNIX_SENDMSG 50

static const char *const hook_names[ENF_NHOOKS] = {
	"connect4", "sendmsg4", "connect6", "sendmsg6", "connect_unix", "sendmsg_unix",
};

/* The program of hook h in the variant loaded (sg_<hook>[_compat]). */
static struct bpf_program *hook_prog(const struct enforce *en, int h)
{
	char name[64];

	snprintf(name, sizeof(name), "sg_%s%s", hook_names[h],
		 en->cg_variant == SG_VARIANT_COMPAT ? "_compat" : "");
	return bpf_object__find_program_by_name(en->cg->obj, name);
}

/* The cgroup object as variant__load sees it. */
struct cgroup_load {
	struct enforce_bpf *s;
	struct trace_bpf *trace;
	bool with_unix;
};

static struct bpf_object *cgroup_open(void *ctx)
{
	struct cgroup_load *c = ctx;

	c->s = enforce_bpf__open();
	return c->s ? c->s->obj : NULL;
}

/* with_unix false (or a variant without them) leaves the unix hooks out. */
static int cgroup_setup(void *ctx)
{
	struct cgroup_load *c = ctx;
	struct enforce_bpf *s = c->s;
	int err = 0;

	s->bss->self_tgid = loader__self_tgid();
	if (!bpf_program__autoload(s->progs.sg_connect_unix)) {
		/* Not in this variant. */
	} else if (c->with_unix) {
		err = bpf_program__set_expected_attach_type(s->progs.sg_connect_unix,
							    SG_ATTACH_UNIX_CONNECT);
		if (!err)
			err = bpf_program__set_expected_attach_type(s->progs.sg_sendmsg_unix,
								    SG_ATTACH_UNIX_SENDMSG);
	} else {
		err = bpf_program__set_autoload(s->progs.sg_connect_unix, false);
		if (!err)
			err = bpf_program__set_autoload(s->progs.sg_sendmsg_unix, false);
	}
	return err ? err : loader__share_maps(s->obj, c->trace->obj);
}

static int cgroup_load(void *ctx)
{
	return enforce_bpf__load(((struct cgroup_load *)ctx)->s);
}

static void cgroup_destroy(void *ctx)
{
	struct cgroup_load *c = ctx;

	enforce_bpf__destroy(c->s);
	c->s = NULL;
}

static const struct variant_ops cgroup_ops = {
	.what = "cgroup hooks",
	.type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
	.variants = SG_VARIANT_MASK(SG_VARIANT_BTF) | SG_VARIANT_MASK(SG_VARIANT_COMPAT),
	/* The inet hooks read no kernel object by address: no kfunc cast. */
	.needs = { [SG_VARIANT_BTF] = SG_NEED_TASK_BTF | SG_NEED_PT_REGS },
	.open = cgroup_open,
	.setup = cgroup_setup,
	.load = cgroup_load,
	.destroy = cgroup_destroy,
};

/*
 * Open and load the cgroup programs in the best variant that loads; with_unix
 * false leaves the unix ones out. Returns the variant, or -errno.
 */
static int load_cgroup(struct enforce *en, struct trace_bpf *trace, bool with_unix)
{
	struct cgroup_load c = { .trace = trace, .with_unix = with_unix };
	struct variant_ops ops = cgroup_ops;
	int v;

	if (with_unix) /* the unix hooks exist in one variant only */
		ops.variants = SG_VARIANT_MASK(SG_VARIANT_BTF);
	en->cg = NULL;
	v = variant__load(&ops, &c, en->variant_limit);
	if (v < 0)
		return v;
	en->cg = c.s;
	en->cg_variant = v;
	return 0;
}

/*
 * A link a --persist run pinned for hook h on the same cgroup: swap our
 * program into it (atomically, no second hook). True when adopted; a link on
 * another cgroup, or one that cannot take the program, is unpinned (detached).
 */
static bool adopt_link(struct enforce *en, int h, const char *dir)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	char pin[PATH_MAX];
	struct bpf_link *old;
	uint64_t id = 0;

	persist__link_path(pin, sizeof(pin), hook_names[h]);
	old = bpf_link__open(pin);
	if (!old)
		return false;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(bpf_link__fd(old), &info, &len) &&
	    !mounts_cgroup_id("", dir, &id) && info.cgroup.cgroup_id == id &&
	    !bpf_link__update_program(old, hook_prog(en, h))) {
		en->links[h] = old;
		en->hook_err[h] = 0;
		en->adopted++;
		if (!en->persist)
			bpf_link__unpin(old); /* ours now: it goes when we exit */
		return true;
	}
	log_info("cgroup hook %s: the pinned link of an earlier run is not reusable here; "
		 "replacing it",
		 hook_names[h]);
	unlink(pin);
	bpf_link__destroy(old);
	return false;
}

/*
 * Attach (or adopt) the available cgroup hooks that are not attached yet.
 * 0, or the -errno of the first that failed (*failed: its index).
 */
static int attach_cgroup(struct enforce *en, int *failed)
{
	int ret = 0;

	for (int h = 0; h < ENF_NHOOKS; h++) {
		if (en->links[h] || !en->avail[h])
			continue;
		if (adopt_link(en, h, en->cg_dir))
			continue;
		en->links[h] = bpf_program__attach_cgroup(hook_prog(en, h), en->cg_fd);
		if (!en->links[h]) {
			en->hook_err[h] = -errno;
			log_warn("cgroup hook %s not attached to cgroup %s: %s", hook_names[h],
				 en->cgroup, strerror(errno));
			if (!ret) {
				ret = en->hook_err[h];
				*failed = h;
			}
			continue;
		}
		en->hook_err[h] = 0;
		if (en->persist) {
			char pin[PATH_MAX];

			persist__link_path(pin, sizeof(pin), hook_names[h]);
			if (bpf_link__pin(en->links[h], pin))
				log_warn("cannot pin %s: %s: it will not outlive the daemon", pin,
					 strerror(errno));
		}
	}
	return ret;
}

/* Detach the cgroup hooks, pinned ones included (the programs stay loaded). */
static void detach_cgroup(struct enforce *en)
{
	for (int h = 0; h < ENF_NHOOKS; h++) {
		if (!en->links[h])
			continue;
		bpf_link__unpin(en->links[h]); /* -EINVAL when not pinned */
		bpf_link__destroy(en->links[h]);
		en->links[h] = NULL;
	}
}

static bool hooks_available(const struct enforce *en)
{
	for (int h = 0; h < ENF_NHOOKS; h++)
		if (en->avail[h])
			return true;
	return false;
}

/* 0 when the kernel loads a cgroup program for the unix connect hook, else -errno. */
static int probe_unix_hooks(void)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = SG_ATTACH_UNIX_CONNECT);
	int fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL, "GPL", prog, 2, &opts);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * Load the cgroup programs and probe which hooks this kernel attaches, by
 * attaching them (enforce__apply detaches them again while the policy cannot
 * deny): those are avail[]; a hook the kernel refused is not tried again.
 */
static int start_cgroup(struct enforce *en, struct trace_bpf *trace, const char *dir)
{
	int h, err, unix_err = 0, failed = 0;

	for (h = 0; h < ENF_NHOOKS; h++)
		en->hook_err[h] = -ENOENT;
	/*
	 * The unix hooks are 6.7+: a two-instruction program asks the kernel
	 * whether it knows their attach type, before the whole object is
	 * verified with them (and again without them where it does not).
	 */
	unix_err = probe_unix_hooks();
	err = unix_err ? -ENOENT : load_cgroup(en, trace, true);
	if (err) {
		if (!unix_err)
			unix_err = err;
		err = load_cgroup(en, trace, false);
	}
	if (err) {
		log_err("cgroup enforcement unavailable: cannot load the sock_addr programs: %s; "
			"deny rules are observe-only",
			strerror(-err));
		for (h = 0; h < ENF_NHOOKS; h++)
			en->hook_err[h] = err;
		return err;
	}
	en->cg_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (en->cg_fd < 0) {
		err = -errno;
		log_err("cgroup enforcement unavailable: cannot open cgroup %s: %s", dir,
			strerror(-err));
		for (h = 0; h < ENF_NHOOKS; h++)
			en->hook_err[h] = err;
		return err;
	}
	snprintf(en->cg_dir, sizeof(en->cg_dir), "%s", dir);
	for (h = 0; h < ENF_NHOOKS; h++) {
		bool is_unix = h == ENF_CONNECT_UNIX || h == ENF_SENDMSG_UNIX;

		en->avail[h] = !(unix_err && is_unix);
		en->hook_err[h] = en->avail[h] ? 0 : unix_err;
	}
	err = attach_cgroup(en, &failed);
	for (h = 0; h < ENF_NHOOKS; h++)
		en->avail[h] = en->links[h] != NULL;
	if (unix_err && en->variant_limit > SG_VARIANT_BTF)
		log_info("cgroup hooks connect_unix/sendmsg_unix unavailable with BPF variant %s "
			 "(they exist in variant btf only): unix destinations are observe-only "
			 "without BPF-LSM",
			 variant__name(en->variant_limit));
	else if (unix_err)
		log_info("cgroup hooks connect_unix/sendmsg_unix unavailable on this kernel (%s): "
			 "unix destinations are observe-only without BPF-LSM",
			 strerror(-unix_err));
	return hooks_available(en) ? 0 : err ? err : -ENOENT;
}

/* The BPF-LSM object as variant__load sees it. */
struct lsm_load {
	struct lsm_bpf *s;
	struct trace_bpf *trace;
	uint64_t scope_id; /* --cgroup: the subtree judged (0: the whole host) */
	uint32_t scope_level;
};

static struct bpf_object *lsm_open(void *ctx)
{
	struct lsm_load *l = ctx;

	l->s = lsm_bpf__open();
	return l->s ? l->s->obj : NULL;
}

static int lsm_setup(void *ctx)
{
	struct lsm_load *l = ctx;

	l->s->bss->self_tgid = loader__self_tgid();
	/* A message it fails on another path: reported here unless an fexit program sees it. */
	l->s->bss->report_paths = !loader__paths_see_denials();
	l->s->rodata->scope_cgroup_id = l->scope_id;
	l->s->rodata->scope_level = l->scope_level;
	return loader__share_maps(l->s->obj, l->trace->obj);
}

static int lsm_load(void *ctx)
{
	return lsm_bpf__load(((struct lsm_load *)ctx)->s);
}

static void lsm_destroy(void *ctx)
{
	struct lsm_load *l = ctx;

	lsm_bpf__destroy(l->s);
	l->s = NULL;
}

static const struct variant_ops lsm_ops = {
	.what = "BPF-LSM",
	.type = BPF_PROG_TYPE_LSM,
	.variants = SG_VARIANT_MASK(SG_VARIANT_BTF) | SG_VARIANT_MASK(SG_VARIANT_CORE),
	.needs = {
		[SG_VARIANT_BTF] = SG_NEED_TASK_BTF | SG_NEED_PT_REGS | SG_NEED_RDONLY_CAST,
		[SG_VARIANT_CORE] = SG_NEED_TASK_BTF | SG_NEED_PT_REGS,
	},
	.open = lsm_open,
	.setup = lsm_setup,
	.load = lsm_load,
	.destroy = lsm_destroy,
};

/*
 * The BPF-LSM programs, attached and detached together: socket_sendmsg (every
 * message), unix_may_send and unix_stream_connect (unix paths judged by the
 * socket they resolve to). Their pins under --persist.
 */
static const char *const lsm_pins[ENF_NLSM] = { "lsm", "lsm_unix_send", "lsm_unix_connect" };

/* Program i of the variant loaded. */
static struct bpf_program *lsm_prog(const struct enforce *en, int i)
{
	bool core = en->lsm_variant == SG_VARIANT_CORE;
	struct lsm_bpf *s = en->lsm;

	switch (i) {
	case ENF_LSM_SENDMSG:
		return core ? s->progs.sg_lsm_sendmsg_core : s->progs.sg_lsm_sendmsg;
	case ENF_LSM_UNIX_SEND:
		return core ? s->progs.sg_lsm_unix_send_core : s->progs.sg_lsm_unix_send;
	default:
		return core ? s->progs.sg_lsm_unix_conn_core : s->progs.sg_lsm_unix_conn;
	}
}

/* Attach every BPF-LSM program: 0, or -errno (then none is attached). */
static int attach_lsm(struct enforce *en)
{
	int i, err;

	for (i = 0; i < ENF_NLSM; i++) {
		en->lsm_links[i] = bpf_program__attach_lsm(lsm_prog(en, i));
		if (!en->lsm_links[i]) {
			err = -errno;
			while (i--) {
				bpf_link__destroy(en->lsm_links[i]);
				en->lsm_links[i] = NULL;
			}
			return err;
		}
	}
	return 0;
}

/* Detach the BPF-LSM programs, their pins included. */
static void detach_lsm(struct enforce *en)
{
	for (int i = 0; i < ENF_NLSM; i++) {
		bpf_link__unpin(en->lsm_links[i]); /* -EINVAL when not pinned */
		bpf_link__destroy(en->lsm_links[i]);
		en->lsm_links[i] = NULL;
	}
}

bool enforce__lsm_attached(const struct enforce *en)
{
	return en->lsm_links[ENF_LSM_SENDMSG] != NULL;
}

/* The cgroup v2 level of a path relative to the mount ("/": 0, "/a/b": 2). */
static uint32_t cgroup_level(const char *rel)
{
	uint32_t n = 0;

	for (const char *p = rel; *p; p++)
		if (*p != '/' && (p == rel || p[-1] == '/'))
			n++;
	return n;
}

static void start_lsm(struct enforce *en, struct trace_bpf *trace, const char *dir)
{
	struct lsm_load l = { .trace = trace };
	int v;

	if (en->no_lsm) {
		en->lsm_err = -ECANCELED;
		log_info(
			"BPF-LSM socket_sendmsg unavailable: not used (--no-lsm); rules the cgroup "
			"hooks cannot see are observe-only");
		return;
	}
	/* Scoped like the cgroup hooks: never judge a send outside --cgroup. */
	if (en->cgroup && strcmp(en->cgroup, "/")) {
		int err = dir[0] ? mounts_cgroup_id("", dir, &l.scope_id) : -ENOENT;

		if (err) {
			en->lsm_err = err;
			log_warn("BPF-LSM not used: cannot read the id of cgroup %s: %s",
				 en->cgroup, strerror(-err));
			return;
		}
		l.scope_level = cgroup_level(en->cgroup);
	}
	v = variant__load(&lsm_ops, &l, en->variant_limit);
	if (v < 0) {
		en->lsm_err = v;
		goto out;
	}
	en->lsm = l.s;
	en->lsm_variant = v;
	en->lsm_err = attach_lsm(en);
	if (en->lsm_err) {
		lsm_bpf__destroy(en->lsm);
		en->lsm = NULL;
		goto out;
	}
	en->lsm_err = 0;
out:
	if (en->lsm_err)
		log_info("BPF-LSM socket_sendmsg unavailable on this kernel (%s): rules the "
			 "cgroup hooks cannot see are observe-only",
			 strerror(-en->lsm_err));
	else
		log_debug("BPF-LSM: BPF variant %s attached", variant__name(en->lsm_variant));
}

int enforce__start(struct enforce *en, struct trace_bpf *trace, const char *cgroup_dir,
		   const char *label, bool cgroup_required)
{
	char pin[PATH_MAX];
	int err = 0;

	if (!en || !trace || !cgroup_dir)
		return -EINVAL;
	en->cgroup = label ? label : cgroup_dir;
	en->cg_fd = -1;
	/*
	 * The BPF-LSM link a --persist run pinned: an LSM link cannot take another
	 * program, so it stays attached until ours is (no gap), then goes.
	 */
	for (int i = 0; i < ENF_NLSM; i++) {
		persist__link_path(pin, sizeof(pin), lsm_pins[i]);
		en->lsm_old[i] = bpf_link__open(pin);
		if (en->lsm_old[i])
			bpf_link__unpin(en->lsm_old[i]);
	}
	/* Probes are expected to fail on some kernels: libbpf's log of them is -vv output. */
	loader__quiet(true);
	start_lsm(en, trace, cgroup_dir);
	if (cgroup_dir[0])
		err = start_cgroup(en, trace, cgroup_dir);
	else
		for (int h = 0; h < ENF_NHOOKS; h++)
			en->hook_err[h] = -ENOENT;
	loader__quiet(false);
	variant__forget_btf(); /* what the probes parsed */
	en->started = true;
	if (cgroup_required && err)
		return err;
	if (!enforce__available(en))
		log_warn("no enforcement mechanism available: every deny is observe-only");
	return 0;
}

bool enforce__available(const struct enforce *en)
{
	return !en->off && (en->lsm || hooks_available(en));
}

/* "connect4 sendmsg4 ..." of the hooks attached, into buf. */
static void attached_names(const struct enforce *en, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int h = 0; h < ENF_NHOOKS; h++)
		if (en->links[h])
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? " " : "",
					      hook_names[h]);
}

int enforce__apply(struct enforce *en, const struct sg_policy *p, char *why, size_t why_len)
{
	bool need_cg, need_lsm, had_cg = false, had_lsm;
	int h, failed = 0, err = 0;
	char buf[256];

	if (why && why_len)
		why[0] = '\0';
	if (!en || !p || !en->started || en->off)
		return 0;
	need_cg = sg_policy_hook_can_deny(p);
	need_lsm = sg_policy_can_deny(p);
	for (h = 0; h < ENF_NHOOKS; h++)
		had_cg |= en->links[h] != NULL;
	had_lsm = enforce__lsm_attached(en);
	if (need_cg && !had_cg && en->cg) {
		err = attach_cgroup(en, &failed);
		if (err && why)
			snprintf(why, why_len, "cannot attach cgroup hook %s to cgroup %s: %s",
				 hook_names[failed], en->cgroup, strerror(-err));
	}
	if (!need_cg && had_cg)
		detach_cgroup(en);
	if (need_lsm && !had_lsm && en->lsm) {
		int e = attach_lsm(en);

		if (e) {
			log_warn("BPF-LSM socket_sendmsg not attached: %s", strerror(-e));
			if (!err) {
				err = e;
				if (why)
					snprintf(why, why_len,
						 "cannot attach BPF-LSM socket_sendmsg: %s",
						 strerror(-err));
			}
		}
	}
	if (!need_lsm && had_lsm)
		detach_lsm(en);
	for (int i = 0; en->persist && i < ENF_NLSM; i++) {
		char pin[PATH_MAX];

		if (!en->lsm_links[i] || bpf_link__pin_path(en->lsm_links[i]))
			continue;
		persist__link_path(pin, sizeof(pin), lsm_pins[i]);
		if (bpf_link__pin(en->lsm_links[i], pin))
			log_warn("cannot pin %s: %s: BPF-LSM will not outlive the daemon", pin,
				 strerror(errno));
	}
	for (int i = 0; i < ENF_NLSM; i++) {
		if (!en->lsm_old[i])
			continue;
		/* Ours is attached (or not needed): the earlier run's goes. */
		bpf_link__destroy(en->lsm_old[i]);
		en->lsm_old[i] = NULL;
		if (i == ENF_LSM_SENDMSG)
			log_info("BPF-LSM link of an earlier --persist run replaced");
	}
	/* The cgroup unix hooks leave the spellings they cannot judge to BPF-LSM when it is there. */
	if (en->cg)
		en->cg->bss->unix_lsm = enforce__lsm_attached(en);
	attached_names(en, buf, sizeof(buf));
	if ((buf[0] || enforce__lsm_attached(en)) &&
	    (!en->applied || (buf[0] && !had_cg) || (enforce__lsm_attached(en) && !had_lsm)))
		log_info("enforcing: %s%s%s%s%s", buf[0] ? "cgroup hooks " : "", buf,
			 buf[0] ? " on cgroup " : "", buf[0] ? en->cgroup : "",
			 enforce__lsm_attached(en)
				 ? (buf[0] ? "; BPF-LSM socket_sendmsg" : "BPF-LSM socket_sendmsg")
				 : "");
	else if (!buf[0] && !enforce__lsm_attached(en) && (!en->applied || had_cg || had_lsm))
		log_info("enforcement hooks not attached: policy %s version %u cannot deny "
			 "(sends pay no hook until a policy can)",
			 p->name[0] ? p->name : "-", p->version);
	if (en->adopted && !en->applied)
		log_info("cgroup hooks adopted from an earlier --persist run");
	en->applied = true;
	return err;
}

/* Both hooks of a family available (attached while the policy can deny). */
static bool hooks_pair(const struct enforce *en, int connect, int sendmsg)
{
	return en->avail[connect] && en->avail[sendmsg];
}

#define FAM_INET  (1ull << 2)
#define FAM_INET6 (1ull << 10)
#define FAM_UNIX  (1ull << 1)

/*
 * What enforces a deny decided by rule upto of p (nrules: the default) on
 * this kernel, into buf.
 */
static void deny_coverage(const struct enforce *en, const struct sg_policy *p, uint32_t upto,
			  char *buf, size_t len)
{
	const struct sg_policy_rule *r = upto < p->nrules ? &p->rules[upto] : NULL;
	uint64_t fam = ~0ull, covered = 0, left;
	uint32_t i, shadow = 0;
	size_t n = 0;

	if (en->off) {
		snprintf(buf, len, "observe-only (--no-enforce)");
		return;
	}
	if (en->lsm && enforce__lsm_attached(en)) {
		snprintf(buf, len, "lsm (every send%s)",
			 r && r->keys & SG_MK_BIT(SG_MK_UNIX)
				 ? "; unix paths by the socket they resolve to"
				 : "");
		return;
	}
	if (r && !sg_rule_hook_certain(r)) {
		snprintf(buf, len,
			 "observe-only (a syscall/flags/cmsg/len key the cgroup hooks cannot see; "
			 "BPF-LSM unavailable)");
		return;
	}
	if (r && r->keys & SG_MK_BIT(SG_MK_FAMILY))
		fam = r->family_mask;
	if (r && r->keys & SG_MK_BIT(SG_MK_UNIX))
		fam &= FAM_UNIX;
	if (r && r->keys & (SG_MK_BIT(SG_MK_DST) | SG_MK_BIT(SG_MK_PORT)))
		fam &= FAM_INET | FAM_INET6;
	if (hooks_pair(en, ENF_CONNECT4, ENF_SENDMSG4))
		covered |= FAM_INET;
	if (hooks_pair(en, ENF_CONNECT6, ENF_SENDMSG6))
		covered |= FAM_INET6;
	if (hooks_pair(en, ENF_CONNECT_UNIX, ENF_SENDMSG_UNIX))
		covered |= FAM_UNIX;
	left = fam & ~covered;
	if (!(fam & covered)) {
		snprintf(buf, len, "observe-only (no cgroup hook for its socket families)");
		return;
	}
	n += (size_t)snprintf(buf + n, len - n,
			      "cgroup %s (connect, unconnected sendmsg:", en->cgroup);
	if (fam & covered & FAM_INET)
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, " inet");
	if (fam & covered & FAM_INET6)
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, " inet6");
	if (fam & covered & FAM_UNIX)
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, " unix");
	n += (size_t)snprintf(
		buf + n, n < len ? len - n : 0, ")%s%s",
		left ? "; other socket families observe-only" : "",
		r && r->keys & SG_MK_BIT(SG_MK_UNIX) && fam & covered & FAM_UNIX
			? "; unix paths by their spelling: one the hooks cannot judge "
			  "(relative, //, ., .., /proc/) is refused, a symlink is not seen"
			: "");
	/* An earlier rule the hooks cannot judge stops them where it might match. */
	for (i = 0; i < upto && n < len; i++) {
		const struct sg_policy_rule *q = &p->rules[i];

		if (q->action == SG_VERDICT_DENY || sg_rule_hook_certain(q))
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
				      shadow++ ? ", "
					       : "; not where earlier rule(s) the hooks cannot "
						 "judge might match: ",
				      q->name);
	}
}

void enforce__coverage(const struct enforce *en, const struct sg_policy *p,
		       void (*fn)(void *ctx, const char *rule, uint32_t action, const char *how),
		       void *ctx)
{
	char buf[512];
	uint32_t i, action;

	if (!en || !p || !fn)
		return;
	for (i = 0; i <= p->nrules; i++) {
		action = i < p->nrules ? p->rules[i].action : p->default_action;
		switch (action) {
		case SG_VERDICT_DENY:
			deny_coverage(en, p, i, buf, sizeof(buf));
			break;
		case SG_VERDICT_KILL:
			snprintf(buf, sizeof(buf), "signal (SIGKILL after the send)");
			break;
		default:
			snprintf(buf, sizeof(buf), "nothing to enforce");
			break;
		}
		fn(ctx, i < p->nrules ? p->rules[i].name : NULL, action, buf);
	}
}

static void log_coverage(void *ctx, const char *rule, uint32_t action, const char *how)
{
	(void)ctx;
	if (rule)
		log_info("  rule %s (%s): %s", rule, sg_verdict_name(action), how);
	else
		log_info("  default (%s): %s", sg_verdict_name(action), how);
}

void enforce__report(const struct enforce *en, const struct sg_policy *p)
{
	if (!en || !p)
		return;
	log_info("coverage of policy %s version %u:", p->name[0] ? p->name : "-", p->version);
	enforce__coverage(en, p, log_coverage, NULL);
}

const char *enforce__hook_name(int h)
{
	return h >= 0 && h < ENF_NHOOKS ? hook_names[h] : NULL;
}

bool enforce__hook_available(const struct enforce *en, int h)
{
	return h >= 0 && h < ENF_NHOOKS && en->avail[h];
}

bool enforce__hook_attached(const struct enforce *en, int h)
{
	return h >= 0 && h < ENF_NHOOKS && en->links[h];
}

const char *enforce__hooks_variant(const struct enforce *en)
{
	return en->cg ? variant__name(en->cg_variant) : NULL;
}

const char *enforce__lsm_variant(const struct enforce *en)
{
	return en->lsm ? variant__name(en->lsm_variant) : NULL;
}

const char *enforce__cgroup(const struct enforce *en)
{
	return en->started ? en->cgroup : NULL;
}

const char *enforce__off_reason(const struct enforce *en)
{
	if (en->off)
		return "--no-enforce";
	if (!enforce__available(en))
		return "no enforcement mechanism could be loaded here";
	return NULL;
}

void enforce__lsm_state(const struct enforce *en, char *buf, size_t len)
{
	if (enforce__lsm_attached(en))
		snprintf(buf, len, "attached");
	else if (en->lsm)
		snprintf(buf, len, "available");
	else if (en->no_lsm)
		snprintf(buf, len, "unavailable: not used (--no-lsm)");
	else if (en->lsm_err)
		snprintf(buf, len, "unavailable: %s", strerror(-en->lsm_err));
	else
		snprintf(buf, len, "not loaded");
}

void enforce__detach(struct enforce *en)
{
	int h;

	if (!en)
		return;
	for (h = 0; h < ENF_NHOOKS; h++) {
		bpf_link__destroy(en->links[h]);
		en->links[h] = NULL;
	}
	for (int i = 0; i < ENF_NLSM; i++) {
		bpf_link__destroy(en->lsm_links[i]);
		en->lsm_links[i] = NULL;
		bpf_link__destroy(en->lsm_old[i]);
		en->lsm_old[i] = NULL;
	}
}

void enforce__stop(struct enforce *en)
{
	if (!en)
		return;
	/*
	 * What stays pinned (--persist) outlives us: from now on it exempts no
	 * process, not one that gets our pid later. Last, after our own output.
	 */
	if (en->cg)
		en->cg->bss->self_tgid = 0;
	if (en->lsm)
		en->lsm->bss->self_tgid = 0;
	enforce__detach(en);
	if (en->started && en->cg_fd >= 0)
		close(en->cg_fd);
	en->cg_fd = -1;
	enforce_bpf__destroy(en->cg);
	en->cg = NULL;
	lsm_bpf__destroy(en->lsm);
	en->lsm = NULL;
}

const volatile __u64 *enforce__lost_counter(const struct enforce *en, bool lsm)
{
	if (lsm)
		return en->lsm ? &en->lsm->bss->lost_events : NULL;
	return en->cg ? &en->cg->bss->lost_events : NULL;
}
