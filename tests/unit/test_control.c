// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for daemon/control.c and control_req.c: a real control socket
 * in a temporary directory, clients connected to it, the daemon's side driven
 * by hand (control__dispatch, control__record, control__flush) as the event
 * loop does. Subscription filters select the records docs/control.md says
 * they do; the backlog and "follow":false; a filter that is not valid is an
 * error reply and no subscription; a subscriber that stops reading loses
 * records, counted, and is told how many with a lost record; a policy_load
 * that waits for its switch keeps the replies in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "clock.h"
#include "control.h"
#include "json.h"
#include "log.h"
#include "names.h"

struct fixture {
	char dir[64];
	char path[96]; /* fits sun_path */
	struct control *c;
	/* policy_load: what it returns, the client it was asked by */
	int load_ret;
	uint64_t load_client;
	unsigned int loads;
};

static int stub_status(struct sg_outbuf *b, void *ctx)
{
	(void)ctx;
	return sg_json_lit(b, ",\"stub\":true");
}

static const struct sg_policy *stub_policy(void *ctx, const char **source)
{
	(void)ctx;
	*source = NULL;
	return NULL;
}

static int stub_policy_load(void *ctx, const char *path, uint64_t client,
			    const struct sg_policy **now, struct sg_errlist *errs)
{
	struct fixture *f = ctx;

	(void)path;
	(void)now;
	f->loads++;
	f->load_client = client;
	if (f->load_ret && f->load_ret != -EINPROGRESS)
		sg_errlist_add(errs, "stub refusal");
	return f->load_ret;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct control_ops ops = {
		.status = stub_status,
		.stats = stub_status,
		.policy = stub_policy,
		.policy_load = stub_policy_load,
	};

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sg-control-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/run/control.sock", f->dir);
	ops.ctx = f;
	if (control__open(&f->c, f->path, &ops)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char run[128];

	control__close(f->c);
	snprintf(run, sizeof(run), "%s/run", f->dir);
	rmdir(run);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int client(struct fixture *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void say(int fd, const char *line)
{
	size_t len = strlen(line);

	assert_int_equal(send(fd, line, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* What a client has received so far. */
struct inbox {
	char *data;
	size_t len;
	bool eof;
};

/* Read what fd holds now into in. */
static void take(int fd, struct inbox *in)
{
	char chunk[65536];
	ssize_t n;

	while ((n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT)) > 0) {
		char *d = realloc(in->data, in->len + (size_t)n + 1);

		assert_non_null(d);
		memcpy(d + in->len, chunk, (size_t)n);
		in->data = d;
		in->len += (size_t)n;
		in->data[in->len] = '\0';
	}
	if (n == 0)
		in->eof = true;
}

static unsigned int lines_in(const struct inbox *in)
{
	unsigned int n = 0;

	for (size_t i = 0; i < in->len; i++)
		n += in->data[i] == '\n';
	return n;
}

/* Run the daemon's side and read until fd has want lines (or EOF), at most ~2 s. */
static void pump_until(struct fixture *f, int fd, struct inbox *in, unsigned int want)
{
	for (int i = 0; i < 400; i++) {
		control__dispatch(f->c);
		control__flush(f->c);
		take(fd, in);
		if (lines_in(in) >= want || in->eof)
			return;
		poll(NULL, 0, 5);
	}
}

/* Just run the daemon's side a few rounds. */
static void pump(struct fixture *f)
{
	for (int i = 0; i < 10; i++) {
		control__dispatch(f->c);
		control__flush(f->c);
		poll(NULL, 0, 2);
	}
}

static void free_inbox(struct inbox *in)
{
	free(in->data);
	memset(in, 0, sizeof(*in));
}

/* Line i (0-based) of in, parsed; NULL past the end. */
static struct json_object *line_obj(const struct inbox *in, unsigned int i)
{
	const char *p = in->data, *end = in->data + in->len, *nl;
	struct json_object *o;
	char *copy;

	for (; p && p < end; p = nl + 1, i--) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return NULL;
		if (i)
			continue;
		copy = strndup(p, (size_t)(nl - p));
		assert_non_null(copy);
		o = json_tokener_parse(copy);
		if (!o)
			fail_msg("not JSON: %s", copy);
		free(copy);
		return o;
	}
	return NULL;
}

static int64_t member_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no %s in %s", key, json_object_to_json_string(o));
	return json_object_get_int64(v);
}

static const char *member_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static bool member_bool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* The records the tests feed: their meta, and a line built from it with seq i+1. */
struct rec {
	uint8_t type;
	uint32_t pid, uid;
	const char *syscall, *verdict, *comm;
};

static const struct rec recs[] = {
	{ SG_REC_SEND, 42, 0, "sendto", "allow", "curl" },
	{ SG_REC_SEND, 43, 1000, "sendmsg", "deny", "dig" },
	{ SG_REC_CONNECT, 42, 0, "connect", "allow", "curl" },
	{ .type = SG_REC_LOST },
	{ .type = SG_REC_STATS },
	{ SG_REC_SEND, 42, 1000, "sendmsg", "audit", "curl" },
	{ .type = SG_REC_POLICY },
	{ .type = SG_REC_GAP },
	{ SG_REC_CONNECT, 43, 1000, "connect", "deny", "dig" },
	{ .type = SG_REC_UNDELIVERABLE },
};
#define NRECS (sizeof(recs) / sizeof(recs[0]))

static void feed(struct fixture *f, unsigned int i, uint64_t seq)
{
	struct sg_rec_meta m = { .type = recs[i].type, .pid = recs[i].pid, .uid = recs[i].uid };
	char line[160];
	uint32_t u;
	int n;

	if (recs[i].syscall) {
		assert_int_equal(sg_syscall_from_name(recs[i].syscall, &u), 0);
		m.syscall = (uint8_t)u;
		assert_int_equal(sg_verdict_from_name(recs[i].verdict, &u), 0);
		m.verdict = (uint8_t)u;
		snprintf(m.comm, sizeof(m.comm), "%s", recs[i].comm);
	}
	n = snprintf(line, sizeof(line), "{\"v\":1,\"seq\":%llu,\"type\":\"%s\"}\n",
		     (unsigned long long)seq, sg_rec_type_names[m.type]);
	control__record(f->c, line, (size_t)n, &m);
}

/* Every filter of docs/control.md against the records above: the seqs (1-based) it passes. */
static const struct {
	const char *filter;
	const char *seqs;
} filter_cases[] = {
	{ "{}", "1 2 3 4 5 6 7 8 9 10" },
	{ "{\"type\":\"send\"}", "1 2 6" },
	{ "{\"type\":\"connect\"}", "3 9" },
	{ "{\"type\":\"gap\"}", "8" },
	{ "{\"type\":\"undeliverable\"}", "10" },
	/* the event members are ignored for lost, stats, policy, gap, undeliverable */
	{ "{\"pid\":42}", "1 3 4 5 6 7 8 10" },
	{ "{\"pid\":42,\"type\":\"lost\"}", "4" },
	{ "{\"uid\":1000,\"comm\":\"curl\"}", "4 5 6 7 8 10" },
	{ "{\"syscall\":\"sendmsg\"}", "2 4 5 6 7 8 10" },
	{ "{\"syscall\":\"connect\",\"verdict\":\"deny\"}", "4 5 7 8 9 10" },
	{ "{\"verdict\":\"allow\",\"type\":\"send\"}", "1" },
	{ "{\"comm\":\"cur\"}", "4 5 7 8 10" }, /* exact, not a prefix */
	{ "{\"type\":\"connect\",\"pid\":44}", "" },
};
#define NCASES (sizeof(filter_cases) / sizeof(filter_cases[0]))

static void seqs_of(const struct inbox *in, unsigned int from, char *out, size_t len)
{
	struct json_object *o;
	size_t off = 0;

	out[0] = '\0';
	for (unsigned int i = from; (o = line_obj(in, i)); i++) {
		off += (size_t)snprintf(out + off, len - off, "%s%lld", off ? " " : "",
					(long long)member_int(o, "seq"));
		json_object_put(o);
	}
}

/* One subscriber per filter, all at once, then the records: each gets what its filter passes. */
static void test_filters(void **state)
{
	struct fixture *f = *state;
	struct inbox in[NCASES] = { 0 };
	int fd[NCASES];
	char req[256], got[128];

	for (unsigned int k = 0; k < NCASES; k++) {
		fd[k] = client(f);
		snprintf(req, sizeof(req), "{\"cmd\":\"subscribe\",\"id\":%u,\"filter\":%s}\n", k,
			 filter_cases[k].filter);
		say(fd[k], req);
		pump_until(f, fd[k], &in[k], 1);
		assert_int_equal(lines_in(&in[k]), 1);
	}
	assert_int_equal(control__subscribers(f->c), NCASES);
	for (unsigned int i = 0; i < NRECS; i++)
		feed(f, i, i + 1);
	pump(f);
	for (unsigned int k = 0; k < NCASES; k++) {
		struct json_object *o = line_obj(&in[k], 0);

		take(fd[k], &in[k]);
		assert_true(member_bool(o, "ok"));
		assert_int_equal(member_int(o, "id"), k);
		json_object_put(o);
		seqs_of(&in[k], 1, got, sizeof(got));
		if (strcmp(got, filter_cases[k].seqs))
			fail_msg("filter %s passed \"%s\", not \"%s\"", filter_cases[k].filter, got,
				 filter_cases[k].seqs);
		close(fd[k]);
		free_inbox(&in[k]);
	}
	pump(f);
	assert_int_equal(control__subscribers(f->c), 0);
}

/* A filter that is not valid: an error reply naming the member, and no subscription. */
static void test_bad_filters(void **state)
{
	static const char *const bad[] = {
		"{\"pid\":-1}",
		"{\"pid\":4294967296}",
		"{\"pid\":\"42\"}",
		"{\"port\":53}",
		"{\"type\":\"recv\"}",
		"{\"syscall\":\"read\"}",
		"{\"verdict\":\"maybe\"}",
		"{\"comm\":\"sixteen-bytes-xx\"}",
		"[]",
	};
	struct fixture *f = *state;
	char req[256];

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct inbox in = { 0 };
		struct json_object *o;
		int fd = client(f);
		const char *err;

		snprintf(req, sizeof(req), "{\"cmd\":\"subscribe\",\"filter\":%s}\n", bad[k]);
		say(fd, req);
		pump_until(f, fd, &in, 1);
		o = line_obj(&in, 0);
		assert_non_null(o);
		assert_false(member_bool(o, "ok"));
		assert_string_equal(member_str(o, "cmd"), "subscribe");
		err = member_str(o, "error");
		assert_non_null(err);
		if (strncmp(err, "filter", 6))
			fail_msg("%s: error \"%s\"", bad[k], err);
		json_object_put(o);
		assert_int_equal(control__subscribers(f->c), 0);
		/* The connection is not subscribed: it is still answered. */
		say(fd, "{\"cmd\":\"status\"}\n");
		pump_until(f, fd, &in, 2);
		o = line_obj(&in, 1);
		assert_non_null(o);
		assert_true(member_bool(o, "ok"));
		assert_true(member_bool(o, "stub"));
		json_object_put(o);
		close(fd);
		free_inbox(&in);
	}
	pump(f);
}

/*
 * Records written before the subscription: "backlog" gives the most recent
 * matching ones, oldest first; "follow":false then ends the reply and closes.
 */
static void test_backlog_no_follow(void **state)
{
	struct fixture *f = *state;
	struct inbox in = { 0 };
	struct json_object *o;
	char got[128];
	int fd;

	for (unsigned int i = 0; i < NRECS; i++)
		feed(f, i, i + 1);
	fd = client(f);
	say(fd, "{\"cmd\":\"subscribe\",\"filter\":{\"pid\":42},\"backlog\":3,\"follow\":false}\n");
	pump_until(f, fd, &in, 5);
	pump_until(f, fd, &in, 6); /* and the EOF */
	assert_int_equal(lines_in(&in), 5);
	assert_true(in.eof);
	/* {"pid":42} passes 1 3 4 5 6 7 8 10: the last 3 are 7 8 10 */
	o = line_obj(&in, 0);
	assert_true(member_bool(o, "ok"));
	json_object_put(o);
	o = line_obj(&in, 4);
	assert_true(member_bool(o, "ok"));
	assert_true(member_bool(o, "end"));
	json_object_put(o);
	in.len -= strlen(strrchr(in.data, '{')); /* without the end line */
	seqs_of(&in, 1, got, sizeof(got));
	assert_string_equal(got, "7 8 10");
	assert_int_equal(control__subscribers(f->c), 0);
	close(fd);
	free_inbox(&in);
}

/*
 * The backlog holds the last 1024 records: of 1500, backlog 1024 gives
 * 477..1500; a follower then gets the new records after them.
 */
static void test_backlog_follow(void **state)
{
	struct fixture *f = *state;
	struct inbox in = { 0 };
	struct json_object *o;
	int fd;

	for (unsigned int i = 0; i < 1500; i++)
		feed(f, 0, i + 1);
	fd = client(f);
	say(fd, "{\"cmd\":\"subscribe\",\"backlog\":1024}\n");
	pump_until(f, fd, &in, 1025);
	assert_int_equal(lines_in(&in), 1025);
	o = line_obj(&in, 1);
	assert_int_equal(member_int(o, "seq"), 477);
	json_object_put(o);
	o = line_obj(&in, 1024);
	assert_int_equal(member_int(o, "seq"), 1500);
	json_object_put(o);
	feed(f, 1, 1501);
	pump_until(f, fd, &in, 1026);
	o = line_obj(&in, 1025);
	assert_non_null(o);
	assert_int_equal(member_int(o, "seq"), 1501);
	json_object_put(o);
	assert_false(in.eof);
	close(fd);
	free_inbox(&in);
	pump(f);
}

/*
 * A subscriber that stops reading: the pipeline never waits, past 4 MiB of
 * unread output its records are dropped and counted; once it has read down
 * to half, a lost record ("subscriber":true) says how many and the seq of
 * the last one, then records go on. Nothing is lost without being counted.
 */
static void test_slow_subscriber(void **state)
{
	struct fixture *f = *state;
	const unsigned int total = 8000, width = 1000;
	unsigned int got = 0, lost = 0, lost_records = 0;
	uint64_t next = 1;
	struct inbox in = { 0 };
	char *line = malloc(width);
	struct sg_rec_meta m = { .type = SG_REC_SEND };
	const char *p, *end;
	int fd = client(f), rcv = 4096;

	assert_non_null(line);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	say(fd, "{\"cmd\":\"subscribe\"}\n");
	pump_until(f, fd, &in, 1);
	assert_int_equal(lines_in(&in), 1);
	free_inbox(&in);
	for (unsigned int seq = 1; seq <= total; seq++) {
		int n = snprintf(line, width, "{\"v\":1,\"seq\":%u,\"type\":\"send\",\"pad\":\"",
				 seq);

		memset(line + n, 'x', width - (size_t)n - 3);
		memcpy(line + width - 3, "\"}\n", 3);
		control__record(f->c, line, width, &m);
		if (seq % 100 == 0)
			control__flush(f->c);
	}
	assert_true(control__dropped(f->c) > 0);
	assert_true(control__dropped(f->c) < total);
	/* Now it reads everything: until nothing more comes for 100 ms. */
	for (int idle = 0; idle < 50 && !in.eof;) {
		size_t before = in.len;

		control__dispatch(f->c);
		control__flush(f->c);
		take(fd, &in);
		if (in.len == before) {
			idle++;
			poll(NULL, 0, 2);
		} else {
			idle = 0;
		}
	}
	end = in.data + in.len;
	for (p = in.data; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char *copy;
		struct json_object *o;

		assert_non_null(nl);
		copy = strndup(p, (size_t)(nl - p));
		o = json_tokener_parse(copy);
		if (!o)
			fail_msg("not JSON: %.80s", copy);
		if (!strcmp(member_str(o, "type"), "lost")) {
			int64_t count = member_int(o, "count");

			assert_true(member_bool(o, "subscriber"));
			/* the records since the last one received, up to its seq */
			assert_int_equal(member_int(o, "seq"), next + (uint64_t)count - 1);
			next += (uint64_t)count;
			lost += (unsigned int)count;
			lost_records++;
		} else {
			assert_int_equal(member_int(o, "seq"), next);
			next++;
			got++;
		}
		json_object_put(o);
		free(copy);
		p = nl + 1;
	}
	print_message("%u records received, %u dropped, told in %u lost records\n", got, lost,
		      lost_records);
	assert_int_equal(got + lost, total);
	assert_int_equal(lost, control__dropped(f->c));
	assert_true(lost_records >= 1);
	close(fd);
	free(line);
	free_inbox(&in);
	pump(f);
}

/*
 * A policy_load that has to wait for its switch: the status asked after it
 * in the same write is answered after the policy_load's reply, not before.
 */
static void test_policy_load_waits(void **state)
{
	struct fixture *f = *state;
	struct sg_policy *p = NULL;
	struct inbox in = { 0 };
	struct json_object *o;
	int fd = client(f);
	const char *json = "{\"name\":\"next\",\"default\":\"allow\",\"rules\":[]}";

	assert_int_equal(sg_policy_parse(json, strlen(json), NULL, &p, NULL), 0);
	p->version = 7;
	f->load_ret = -EINPROGRESS;
	say(fd, "{\"cmd\":\"policy_load\",\"id\":\"a\",\"path\":\"/x.json\"}\n"
		"{\"cmd\":\"status\",\"id\":\"b\"}\n");
	pump_until(f, fd, &in, 1);
	assert_int_equal(f->loads, 1);
	assert_int_equal(in.len, 0); /* the status waits behind the load */
	control__policy_load_done(f->c, f->load_client, 0, p, NULL);
	pump_until(f, fd, &in, 2);
	assert_int_equal(lines_in(&in), 2);
	o = line_obj(&in, 0);
	assert_string_equal(member_str(o, "id"), "a");
	assert_string_equal(member_str(o, "cmd"), "policy_load");
	assert_true(member_bool(o, "ok"));
	assert_string_equal(member_str(o, "name"), "next");
	assert_int_equal(member_int(o, "version"), 7);
	json_object_put(o);
	o = line_obj(&in, 1);
	assert_string_equal(member_str(o, "id"), "b");
	assert_true(member_bool(o, "stub"));
	json_object_put(o);

	/* Refused at once: the reasons are in the reply. */
	f->load_ret = -EINVAL;
	say(fd, "{\"cmd\":\"policy_load\",\"path\":\"/y.json\"}\n");
	pump_until(f, fd, &in, 3);
	o = line_obj(&in, 2);
	assert_false(member_bool(o, "ok"));
	assert_string_equal(member_str(o, "error"), "policy refused");
	assert_non_null(strstr(json_object_to_json_string(o), "stub refusal"));
	json_object_put(o);
	sg_policy_free(p);
	close(fd);
	free_inbox(&in);
	pump(f);
}

/* A second daemon on the same path is refused; a stale socket file is replaced. */
static void test_open_path(void **state)
{
	struct fixture *f = *state;
	struct control_ops ops = { 0 };
	struct control *c2;

	assert_int_equal(control__open(&c2, f->path, &ops), -EADDRINUSE);
	assert_null(c2);
	control__close(f->c);
	f->c = NULL;
	/* control__close removed the file; a socket file nobody listens on is stale. */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	assert_int_equal(control__open(&f->c, f->path, &ops), 0);
	assert_non_null(f->c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_no_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_subscriber, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_load_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_path, setup, teardown),
	};

	log_verbosity = -1; /* the refusals test_open_path causes are expected */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
