// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for daemon/policy_mgr.c without BPF (policy_mgr__init with no
 * object: the map writes are skipped, everything else runs): a policy is
 * prepared, then committed as the next version into the other slot; an
 * invalid policy (not JSON, one bad rule among good ones, a missing file) is
 * refused whole with its reasons and the policy in force stays, as does a
 * pending load; a slot is rewritten only after its grace; a before_switch
 * hook that refuses keeps the old policy; rule names of the last versions and
 * the hit counters of the one in force. Policy files live in a temporary
 * directory. As root, one more test gives it the real policy maps (the
 * tracing object loaded without its programs) and checks what each slot holds
 * after every load, and that a run adopting the maps of an earlier one clears
 * the slot it has no compiled form of.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "policy_mgr.h"
#include "sendguard.h"
#include "trace.skel.h"

static const char policy_a[] =
	"{\"name\":\"a\",\"default\":\"allow\",\"rules\":["
	"{\"name\":\"a-deny-ten\",\"action\":\"deny\",\"match\":{\"dst\":[\"10.0.0.0/8\"]}}]}";
static const char policy_b[] =
	"{\"name\":\"b\",\"default\":\"deny\",\"rules\":["
	"{\"name\":\"b-unix\",\"action\":\"allow\",\"match\":{\"family\":[\"unix\"]}},"
	"{\"name\":\"b-dns\",\"action\":\"audit\",\"match\":{\"dst\":[\"10.0.0.53:53\"]}}]}";
/* Not JSON. */
static const char policy_cut[] = "{\"name\":\"cut\",\"default\":";
/* One good rule, one bad: refused whole. */
static const char policy_bad_rule[] =
	"{\"name\":\"bad\",\"default\":\"allow\",\"rules\":["
	"{\"name\":\"fine\",\"action\":\"deny\",\"match\":{\"dst\":[\"10.0.0.0/8\"]}},"
	"{\"name\":\"broken\",\"action\":\"maybe\",\"match\":{\"dst\":[\"10.0.0.0/8\"]}}]}";
/* An executable that does not exist here: a warning, the entry matches nothing. */
static const char policy_no_exe[] = "{\"name\":\"no-exe\",\"default\":\"allow\",\"rules\":["
				    "{\"name\":\"ghost\",\"action\":\"deny\",\"match\":{\"exe\":["
				    "\"/nonexistent/sg-ghost\"]}}]}";

struct fixture {
	char dir[64];
	char a[96], b[96], cut[96], bad_rule[96], no_exe[96], missing[96];
	struct policy_mgr m;
};

static void write_policy(char *path, size_t len, const char *dir, const char *name,
			 const char *json)
{
	FILE *f;

	snprintf(path, len, "%s/%s.json", dir, name);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fputs(json, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sg-policy-mgr-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	write_policy(f->a, sizeof(f->a), f->dir, "a", policy_a);
	write_policy(f->b, sizeof(f->b), f->dir, "b", policy_b);
	write_policy(f->cut, sizeof(f->cut), f->dir, "cut", policy_cut);
	write_policy(f->bad_rule, sizeof(f->bad_rule), f->dir, "bad-rule", policy_bad_rule);
	write_policy(f->no_exe, sizeof(f->no_exe), f->dir, "no-exe", policy_no_exe);
	snprintf(f->missing, sizeof(f->missing), "%s/missing.json", f->dir);
	if (policy_mgr__init(&f->m, NULL, NULL)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	policy_mgr__free(&f->m);
	unlink(f->a);
	unlink(f->b);
	unlink(f->cut);
	unlink(f->bad_rule);
	unlink(f->no_exe);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Does any message of l contain s? */
static bool errs_mention(const struct sg_errlist *l, const char *s)
{
	for (size_t i = 0; i < sg_errlist_count(l); i++)
		if (strstr(sg_errlist_get(l, i), s))
			return true;
	return false;
}

/* prepare + commit path, which must succeed (no slot in its grace). */
static void load(struct policy_mgr *m, const char *path)
{
	struct sg_errlist errs = { 0 }, warn = { 0 };
	int err = policy_mgr__prepare(m, path, &errs, &warn);

	if (!err)
		err = policy_mgr__commit(m, &errs);
	if (err)
		fail_msg("%s: %s (%s)", path, strerror(-err),
			 sg_errlist_count(&errs) ? sg_errlist_get(&errs, 0) : "no reason");
	sg_errlist_free(&errs);
	sg_errlist_free(&warn);
}

/* Let the test go on without waiting out the grace of the slot it loads into next. */
static void skip_grace(struct policy_mgr *m)
{
	m->slot_free_ms[0] = m->slot_free_ms[1] = 0;
}

static void assert_in_force(const struct policy_mgr *m, const char *name, uint32_t version)
{
	const struct sg_policy *p = policy_mgr__current(m);

	assert_non_null(p);
	assert_string_equal(p->name, name);
	assert_int_equal(p->version, version);
	assert_int_equal(m->version, version);
}

static void test_first_load(void **state)
{
	struct fixture *f = *state;
	struct sg_errlist errs = { 0 }, warn = { 0 };
	const struct sg_policy *p;

	assert_null(policy_mgr__current(&f->m));
	assert_int_equal(f->m.slot, -1);
	assert_int_equal(policy_mgr__commit(&f->m, &errs), -ENOENT); /* nothing pending */

	assert_int_equal(policy_mgr__prepare(&f->m, f->a, &errs, &warn), 0);
	assert_int_equal(sg_errlist_count(&errs), 0);
	p = policy_mgr__pending(&f->m);
	assert_non_null(p);
	assert_string_equal(p->name, "a");
	assert_int_equal(p->version, 1);
	/* Prepared is not in force. */
	assert_null(policy_mgr__current(&f->m));
	assert_int_equal(policy_mgr__pending_wait_ms(&f->m), 0);

	assert_int_equal(policy_mgr__commit(&f->m, &errs), 0);
	assert_null(policy_mgr__pending(&f->m));
	assert_in_force(&f->m, "a", 1);
	assert_int_equal(f->m.slot, 0);
	assert_non_null(f->m.compiled[0]);
	assert_int_equal(f->m.compiled[0]->slot, 0);
	assert_int_equal(f->m.compiled[0]->version, 1);
	assert_string_equal(policy_mgr__rule_name(&f->m, 1, 0), "a-deny-ten");
	sg_errlist_free(&errs);
	sg_errlist_free(&warn);
}

/* The embedded default: "observe". */
static void test_default(void **state)
{
	struct fixture *f = *state;

	load(&f->m, NULL);
	assert_in_force(&f->m, "observe", 1);
	assert_int_equal(policy_mgr__current(&f->m)->default_action, SG_VERDICT_ALLOW);
}

/*
 * Not JSON, one bad rule, a missing file: each refused whole with its
 * reasons; the policy in force, its version and its slot stay.
 */
static void test_invalid_refused(void **state)
{
	struct fixture *f = *state;
	const struct {
		const char *path, *mention;
		int err;
	} cases[] = {
		{ f->cut, "cut.json", -EINVAL },
		{ f->bad_rule, "rules[1]", -EINVAL },
		{ f->missing, "cannot open", -ENOENT },
	};

	load(&f->m, f->a);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sg_errlist errs = { 0 }, warn = { 0 };

		assert_int_equal(policy_mgr__prepare(&f->m, cases[i].path, &errs, &warn),
				 cases[i].err);
		assert_true(sg_errlist_count(&errs) > 0);
		if (!errs_mention(&errs, cases[i].mention))
			fail_msg("%s: no \"%s\" in \"%s\"", cases[i].path, cases[i].mention,
				 sg_errlist_get(&errs, 0));
		assert_null(policy_mgr__pending(&f->m));
		assert_int_equal(policy_mgr__commit(&f->m, &errs), -ENOENT);
		assert_in_force(&f->m, "a", 1);
		assert_int_equal(f->m.slot, 0);
		sg_errlist_free(&errs);
		sg_errlist_free(&warn);
	}
	/* The bad rule's good neighbour was not taken either. */
	assert_string_equal(policy_mgr__rule_name(&f->m, 1, 0), "a-deny-ten");
	assert_null(policy_mgr__rule_name(&f->m, 2, 0));
}

/* A refused prepare leaves the pending load alone; a newer good one replaces it. */
static void test_pending_stays(void **state)
{
	struct fixture *f = *state;
	struct sg_errlist errs = { 0 }, warn = { 0 };

	load(&f->m, f->a);
	assert_int_equal(policy_mgr__prepare(&f->m, f->b, &errs, &warn), 0);
	assert_int_equal(policy_mgr__prepare(&f->m, f->bad_rule, &errs, &warn), -EINVAL);
	assert_non_null(policy_mgr__pending(&f->m));
	assert_string_equal(policy_mgr__pending(&f->m)->name, "b");
	sg_errlist_free(&errs);
	assert_int_equal(policy_mgr__prepare(&f->m, f->no_exe, &errs, &warn), 0);
	assert_non_null(policy_mgr__pending(&f->m));
	assert_string_equal(policy_mgr__pending(&f->m)->name, "no-exe");
	assert_int_equal(policy_mgr__pending(&f->m)->version, 2);
	/* What does not refuse the policy is a warning. */
	assert_int_equal(sg_errlist_count(&errs), 0);
	assert_true(errs_mention(&warn, "/nonexistent/sg-ghost"));
	policy_mgr__drop_pending(&f->m);
	assert_null(policy_mgr__pending(&f->m));
	assert_int_equal(policy_mgr__commit(&f->m, &errs), -ENOENT);
	assert_in_force(&f->m, "a", 1);
	sg_errlist_free(&errs);
	sg_errlist_free(&warn);
}

/*
 * Slots alternate; the slot just left is rewritten only after its grace
 * (SLOT_GRACE_MS, 1 s): a commit before is -EBUSY and changes nothing, one
 * after it succeeds.
 */
static void test_slot_grace(void **state)
{
	struct fixture *f = *state;
	struct sg_errlist errs = { 0 }, warn = { 0 };
	uint64_t wait;

	load(&f->m, f->a);
	load(&f->m, f->b); /* slot 1 was never used: no wait */
	assert_in_force(&f->m, "b", 2);
	assert_int_equal(f->m.slot, 1);

	assert_int_equal(policy_mgr__prepare(&f->m, f->a, &errs, &warn), 0);
	assert_int_equal(f->m.pending_slot, 0);
	wait = policy_mgr__pending_wait_ms(&f->m);
	assert_true(wait > 0 && wait <= 1000);
	assert_int_equal(policy_mgr__commit(&f->m, &errs), -EBUSY);
	assert_int_equal(sg_errlist_count(&errs), 0);
	assert_non_null(policy_mgr__pending(&f->m));
	assert_in_force(&f->m, "b", 2);
	assert_int_equal(f->m.slot, 1);

	usleep((useconds_t)(wait + 20) * 1000);
	assert_int_equal(policy_mgr__pending_wait_ms(&f->m), 0);
	assert_int_equal(policy_mgr__commit(&f->m, &errs), 0);
	assert_in_force(&f->m, "a", 3);
	assert_int_equal(f->m.slot, 0);
	assert_int_equal(f->m.compiled[0]->version, 3);
	assert_int_equal(f->m.compiled[1]->version, 2);
	sg_errlist_free(&errs);
	sg_errlist_free(&warn);
}

/* Rule names of the last POLICY_MGR_RECENT versions; older ones are forgotten. */
static void test_rule_names(void **state)
{
	struct fixture *f = *state;

	load(&f->m, f->a); /* 1 */
	skip_grace(&f->m);
	load(&f->m, f->b); /* 2 */
	assert_string_equal(policy_mgr__rule_name(&f->m, 1, 0), "a-deny-ten");
	assert_string_equal(policy_mgr__rule_name(&f->m, 2, 1), "b-dns");
	assert_null(policy_mgr__rule_name(&f->m, 2, 2)); /* no such rule */
	assert_null(policy_mgr__rule_name(&f->m, 2, SG_RULE_DEFAULT));
	assert_null(policy_mgr__rule_name(&f->m, 3, 0)); /* not yet */
	assert_null(policy_mgr__rule_name(&f->m, 0, 0));
	for (int v = 3; v <= 5; v++) {
		skip_grace(&f->m);
		load(&f->m, v % 2 ? f->a : f->b);
	}
	assert_in_force(&f->m, "a", 5);
	assert_null(policy_mgr__rule_name(&f->m, 1, 0)); /* 5 - 1 >= POLICY_MGR_RECENT */
	assert_string_equal(policy_mgr__rule_name(&f->m, 2, 0), "b-unix");
	assert_string_equal(policy_mgr__rule_name(&f->m, 5, 0), "a-deny-ten");
}

/* Hits count for the version in force only, and start over with the next one. */
static void test_hits(void **state)
{
	struct fixture *f = *state;

	load(&f->m, f->b);
	policy_mgr__hit(&f->m, 1, 0);
	policy_mgr__hit(&f->m, 1, 1);
	policy_mgr__hit(&f->m, 1, 1);
	policy_mgr__hit(&f->m, 1, SG_RULE_DEFAULT);
	policy_mgr__hit(&f->m, 1, 7); /* no such rule: ignored */
	policy_mgr__hit(&f->m, 0, 0); /* judged before any policy: ignored */
	assert_int_equal(f->m.hits[0], 1);
	assert_int_equal(f->m.hits[1], 2);
	assert_int_equal(f->m.default_hits, 1);
	assert_string_equal(f->m.names[1], "b-dns");

	skip_grace(&f->m);
	load(&f->m, f->a);
	policy_mgr__hit(&f->m, 1, 0); /* judged by the previous version: not counted */
	assert_int_equal(f->m.hits[0], 0);
	assert_int_equal(f->m.default_hits, 0);
	policy_mgr__hit(&f->m, 2, 0);
	assert_int_equal(f->m.hits[0], 1);
	assert_string_equal(f->m.names[0], "a-deny-ten");
}

struct hook {
	unsigned int calls;
	char seen[SG_POLICY_NAME_MAX + 1]; /* the name of the policy it was asked about */
	int ret;
};

static int before_switch(const struct sg_policy *next, void *ctx, struct sg_errlist *errs)
{
	struct hook *h = ctx;

	h->calls++;
	snprintf(h->seen, sizeof(h->seen), "%s", next->name);
	if (h->ret)
		sg_errlist_add(errs, "cannot be enforced here");
	return h->ret;
}

/*
 * before_switch refuses: the load is refused with its reason, the policy in
 * force and its version stay; the slot is taken again by the next load.
 */
static void test_before_switch_refuses(void **state)
{
	struct fixture *f = *state;
	struct sg_errlist errs = { 0 }, warn = { 0 };
	struct hook h = { .ret = -EOPNOTSUPP };

	load(&f->m, f->a);
	f->m.before_switch = before_switch;
	f->m.before_switch_ctx = &h;
	assert_int_equal(policy_mgr__prepare(&f->m, f->b, &errs, &warn), 0);
	assert_int_equal(policy_mgr__commit(&f->m, &errs), -EOPNOTSUPP);
	assert_int_equal(h.calls, 1);
	assert_string_equal(h.seen, "b");
	assert_true(errs_mention(&errs, "cannot be enforced here"));
	assert_null(policy_mgr__pending(&f->m));
	assert_in_force(&f->m, "a", 1);
	assert_int_equal(f->m.slot, 0);
	assert_null(policy_mgr__rule_name(&f->m, 2, 0));
	sg_errlist_free(&errs);

	h.ret = 0;
	load(&f->m, f->b);
	assert_int_equal(h.calls, 2);
	assert_in_force(&f->m, "b", 2);
	assert_int_equal(f->m.slot, 1);
	sg_errlist_free(&warn);
}

/* policy_mgr__check (sendguardd -n): the same verdict, nothing loaded. */
static void test_check(void **state)
{
	struct fixture *f = *state;
	struct sg_errlist errs = { 0 }, warn = { 0 };
	struct sg_policy *p = NULL;

	assert_int_equal(policy_mgr__check(f->b, NULL, &p, &errs, &warn), 0);
	assert_non_null(p);
	assert_string_equal(p->name, "b");
	assert_int_equal(p->nrules, 2);
	sg_policy_free(p);
	p = NULL;
	assert_int_equal(policy_mgr__check(f->bad_rule, NULL, &p, &errs, &warn), -EINVAL);
	assert_null(p);
	assert_true(errs_mention(&errs, "rules[1]"));
	assert_null(policy_mgr__current(&f->m));
	sg_errlist_free(&errs);
	sg_errlist_free(&warn);
}

/* Keys of a hash or LPM policy map that belong to slot. */
static uint32_t keys_in_slot(const struct policy_mgr *m, int id, int slot)
{
	uint8_t cur[256], next[256];
	uint32_t n = 0;
	void *prev = NULL;

	assert_true(sg_pol_map_key_size(id) <= sizeof(cur));
	while (!bpf_map_get_next_key(m->map_fd[id], prev, next)) {
		n += sg_pol_key_slot(id, next) == slot;
		memcpy(cur, next, sizeof(next));
		prev = cur;
	}
	return n;
}

/* Every hash and LPM map holds exactly the entries of c in c's slot. */
static void assert_slot_holds(const struct policy_mgr *m, const struct sg_compiled *c)
{
	for (int id = 0; id < SG_PMAP_COUNT; id++) {
		uint32_t n;

		if (sg_pol_map_kind(id) == SG_PMAP_KIND_ARRAY)
			continue;
		n = keys_in_slot(m, id, c->slot);
		if (n != c->maps[id].n)
			fail_msg("%s: %u keys in slot %u, the policy has %u", sg_pol_map_name(id),
				 n, c->slot, c->maps[id].n);
	}
}

static void assert_active(const struct policy_mgr *m, uint32_t slot, uint32_t version)
{
	struct sg_policy_cfg cfg;
	uint32_t key = 0, val = 99;

	assert_int_equal(bpf_map_lookup_elem(m->active_fd, &key, &val), 0);
	assert_int_equal(val, slot);
	assert_int_equal(bpf_map_lookup_elem(m->map_fd[SG_PMAP_CFG], &slot, &cfg), 0);
	assert_int_equal(cfg.version, version);
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/*
 * The real maps: each load writes its slot (the previous policy's entries of
 * that slot removed), switches sg_pol_active, and a refused switch leaves it.
 * A second manager on the same maps adopts the version in force and clears
 * the other slot, whose entries it never compiled, before writing it.
 */
static void test_bpf_maps(void **state)
{
	struct fixture *f = *state;
	struct sg_errlist errs = { 0 }, warn = { 0 };
	struct hook h = { .ret = -EOPNOTSUPP };
	struct bpf_program *prog;
	struct trace_bpf *skel;
	int err;

	libbpf_set_print(silent);
	skel = trace_bpf__open();
	assert_non_null(skel);
	bpf_object__for_each_program (prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	err = trace_bpf__load(skel);
	if (err == -EPERM || err == -EACCES) {
		trace_bpf__destroy(skel);
		print_message("skipped: creating BPF maps needs root (CAP_BPF): %s\n",
			      strerror(-err));
		skip();
	}
	assert_int_equal(err, 0);
	policy_mgr__free(&f->m);
	assert_int_equal(policy_mgr__init(&f->m, skel->obj, NULL), 0);
	assert_false(f->m.adopted);
	assert_int_equal(f->m.version, 0);

	load(&f->m, f->a);
	assert_active(&f->m, 0, 1);
	assert_slot_holds(&f->m, f->m.compiled[0]);
	assert_true(f->m.compiled[0]->maps[SG_PMAP_LPM4].n > 0);
	load(&f->m, f->b);
	assert_active(&f->m, 1, 2);
	assert_slot_holds(&f->m, f->m.compiled[1]);
	assert_slot_holds(&f->m, f->m.compiled[0]);

	/* Refused at the switch: its entries are written, the programs stay on slot 1. */
	f->m.before_switch = before_switch;
	f->m.before_switch_ctx = &h;
	skip_grace(&f->m);
	assert_int_equal(policy_mgr__prepare(&f->m, f->no_exe, &errs, &warn), 0);
	assert_int_equal(policy_mgr__commit(&f->m, &errs), -EOPNOTSUPP);
	assert_active(&f->m, 1, 2);
	h.ret = 0;
	/* The next load into slot 0 removes them and A's: only its own are there. */
	load(&f->m, f->no_exe);
	assert_active(&f->m, 0, 3);
	assert_slot_holds(&f->m, f->m.compiled[0]);
	assert_int_equal(keys_in_slot(&f->m, SG_PMAP_LPM4, 0),
			 f->m.compiled[0]->maps[SG_PMAP_LPM4].n);

	/* A later run on the same maps (--persist): it goes on from version 3 in slot 0. */
	policy_mgr__free(&f->m);
	assert_int_equal(policy_mgr__init(&f->m, skel->obj, NULL), 0);
	assert_true(f->m.adopted);
	assert_int_equal(f->m.version, 3);
	assert_int_equal(f->m.slot, 0);
	load(&f->m, f->a);
	assert_active(&f->m, 1, 4);
	/* B's entries in slot 1 were never compiled by this manager: cleared all the same. */
	assert_slot_holds(&f->m, f->m.compiled[1]);

	sg_errlist_free(&errs);
	sg_errlist_free(&warn);
	policy_mgr__free(&f->m);
	trace_bpf__destroy(skel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_stays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slot_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_before_switch_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bpf_maps, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
