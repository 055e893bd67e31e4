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
#include "loader.h"
#include "log.h"
#include "names.h"
#include "policy_compile.h"
#include "persist.h"
#include "mounts.h"

/* enum bpf_attach_type values newer than some installed UAPI headers (6.7+). */
#define SG_ATTACH_UNIX_CONNECT 49
#define SG_ATTACH_UNIX_SENDMSG 50

static const char *const hook_names[ENF_NHOOKS] = {
	"connect4", "sendmsg4", "connect6", "sendmsg6", "connect_unix", "sendmsg_unix",
};

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/*
 * Point the shared maps of obj (persist__shared_map: the policy maps,
 * sg_denied, events) at the tracing object's. Scratch maps stay private.
 */
static int share_maps(struct bpf_object *obj, struct bpf_object *trace)
{
	struct bpf_map *m, *t;
	int err;

	bpf_object__for_each_map(m, obj)
	{
		const char *name = bpf_map__name(m);

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

static struct bpf_program *hook_prog(struct enforce_bpf *s, int h)
{
	switch (h) {
	case ENF_CONNECT4:
		return s->progs.sg_connect4;
	case ENF_SENDMSG4:
		return s->progs.sg_sendmsg4;
	case ENF_CONNECT6:
		return s->progs.sg_connect6;
	case ENF_SENDMSG6:
		return s->progs.sg_sendmsg6;
	case ENF_CONNECT_UNIX:
		return s->progs.sg_connect_unix;
	default:
		return s->progs.sg_sendmsg_unix;
	}
}

/* Open and load the cgroup programs; with_unix false leaves the unix ones out. */
static int load_cgroup(struct enforce_bpf **out, struct trace_bpf *trace, bool with_unix)
{
	struct enforce_bpf *s;
	int err;

	*out = NULL;
	s = enforce_bpf__open();
	if (!s)
		return -errno;
	s->rodata->self_tgid = loader__self_tgid();
	if (with_unix) {
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
	if (!err)
		err = share_maps(s->obj, trace->obj);
	if (!err)
		err = enforce_bpf__load(s);
	if (err) {
		enforce_bpf__destroy(s);
		return err;
	}
	*out = s;
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
	    !bpf_link__update_program(old, hook_prog(en->cg, h))) {
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
		en->links[h] = bpf_program__attach_cgroup(hook_prog(en->cg, h), en->cg_fd);
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
	/* The unix hooks are 6.7+: probe the full set first, then without them. */
	err = load_cgroup(&en->cg, trace, true);
	if (err) {
		unix_err = err;
		err = load_cgroup(&en->cg, trace, false);
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
	if (unix_err)
		log_info("cgroup hooks connect_unix/sendmsg_unix unavailable on this kernel (%s): "
			 "unix destinations are observe-only without BPF-LSM",
			 strerror(-unix_err));
	return hooks_available(en) ? 0 : err ? err : -ENOENT;
}

static void start_lsm(struct enforce *en, struct trace_bpf *trace)
{
	struct lsm_bpf *s;
	int err;

	s = lsm_bpf__open();
	if (!s) {
		en->lsm_err = -errno;
		goto out;
	}
	s->rodata->self_tgid = loader__self_tgid();
	err = share_maps(s->obj, trace->obj);
	if (!err)
		err = lsm_bpf__load(s);
	if (err) {
		en->lsm_err = err;
		lsm_bpf__destroy(s);
		goto out;
	}
	en->lsm_link = bpf_program__attach_lsm(s->progs.sg_lsm_sendmsg);
	if (!en->lsm_link) {
		en->lsm_err = -errno;
		lsm_bpf__destroy(s);
		goto out;
	}
	en->lsm = s;
	en->lsm_err = 0;
out:
	if (en->lsm_err)
		log_info("BPF-LSM socket_sendmsg unavailable on this kernel (%s): rules the "
			 "cgroup hooks cannot see are observe-only",
			 strerror(-en->lsm_err));
}

int enforce__start(struct enforce *en, struct trace_bpf *trace, const char *cgroup_dir,
		   const char *label, bool cgroup_required)
{
	libbpf_print_fn_t old;
	int err = 0;

	if (!en || !trace || !cgroup_dir)
		return -EINVAL;
	en->cgroup = label ? label : cgroup_dir;
	en->cg_fd = -1;
	/* Probes are expected to fail on some kernels: keep libbpf's log of them out. */
	old = libbpf_set_print(quiet_print);
	start_lsm(en, trace);
	if (cgroup_dir[0])
		err = start_cgroup(en, trace, cgroup_dir);
	else
		for (int h = 0; h < ENF_NHOOKS; h++)
			en->hook_err[h] = -ENOENT;
	libbpf_set_print(old);
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
	had_lsm = en->lsm_link != NULL;
	if (need_cg && !had_cg && en->cg) {
		err = attach_cgroup(en, &failed);
		if (err && why)
			snprintf(why, why_len, "cannot attach cgroup hook %s to cgroup %s: %s",
				 hook_names[failed], en->cgroup, strerror(-err));
	}
	if (!need_cg && had_cg)
		detach_cgroup(en);
	if (need_lsm && !had_lsm && en->lsm) {
		en->lsm_link = bpf_program__attach_lsm(en->lsm->progs.sg_lsm_sendmsg);
		if (!en->lsm_link) {
			log_warn("BPF-LSM socket_sendmsg not attached: %s", strerror(errno));
			if (!err) {
				err = -errno;
				if (why)
					snprintf(why, why_len,
						 "cannot attach BPF-LSM socket_sendmsg: %s",
						 strerror(-err));
			}
		}
	}
	if (!need_lsm && had_lsm) {
		bpf_link__destroy(en->lsm_link);
		en->lsm_link = NULL;
	}
	attached_names(en, buf, sizeof(buf));
	if ((buf[0] || en->lsm_link) &&
	    (!en->applied || (buf[0] && !had_cg) || (en->lsm_link && !had_lsm)))
		log_info("enforcing: %s%s%s%s%s", buf[0] ? "cgroup hooks " : "", buf,
			 buf[0] ? " on cgroup " : "", buf[0] ? en->cgroup : "",
			 en->lsm_link
				 ? (buf[0] ? "; BPF-LSM socket_sendmsg" : "BPF-LSM socket_sendmsg")
				 : "");
	else if (!buf[0] && !en->lsm_link && (!en->applied || had_cg || had_lsm))
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
	if (en->lsm && en->lsm_link) {
		snprintf(buf, len, "lsm (every send)");
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
	n += (size_t)snprintf(buf + n, n < len ? len - n : 0, ")%s",
			      left ? "; other socket families observe-only" : "");
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

void enforce__detach(struct enforce *en)
{
	int h;

	if (!en)
		return;
	for (h = 0; h < ENF_NHOOKS; h++) {
		bpf_link__destroy(en->links[h]);
		en->links[h] = NULL;
	}
	bpf_link__destroy(en->lsm_link);
	en->lsm_link = NULL;
}

void enforce__stop(struct enforce *en)
{
	if (!en)
		return;
	enforce__detach(en);
	if (en->started && en->cg_fd >= 0)
		close(en->cg_fd);
	en->cg_fd = -1;
	enforce_bpf__destroy(en->cg);
	en->cg = NULL;
	lsm_bpf__destroy(en->lsm);
	en->lsm = NULL;
}

const volatile __u64 *enforce__lost_counter(const struct enforce *en)
{
	return en->cg ? &en->cg->bss->lost_events : NULL;
}
