// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * struct sg_event -> one JSON Lines record (README, "What an event looks
 * like"; docs/event.schema.json), keys in the order of the README's example.
 * The whole record is bounded: its worst case is
 * reserved once, then written without per-field checks.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "clock.h"
#include "event.h"
#include "json.h"
#include "names.h"

/*
 * Worst case of everything but the caller's strings (exe, cgroup, rule name):
 * keys and punctuation ~450, 20 numbers of <= 20 digits, comm 16 bytes
 * escaped, 32 flags of <= 20 bytes, 8 cmsgs of <= 110 bytes, the address.
 * Rounded up generously.
 */
#define EVENT_FIXED_MAX                                                         \
	(1024 + 20 * SG_JSON_INT_MAX + SG_JSON_STR_MAX(SG_COMM_LEN) + 32 * 24 + \
	 SG_MAX_CMSGS * 128 + SG_ADDR_JSON_MAX(SG_ADDR_MAX))

/* Name, or the number when there is none. */
static inline void put_name_or_u64(struct sg_outbuf *b, const char *name, uint64_t v)
{
	if (name)
		sg_json_put_name(b, name);
	else
		sg_json_put_u64(b, v);
}

static inline void put_cstr_or_null(struct sg_outbuf *b, const char *s, size_t n)
{
	if (s && n)
		sg_json_put_str(b, s, n);
	else
		sg_json_put_lit(b, "null");
}

/*
 * {"v":1,"seq":N,"ts":"...","type": -- the caller writes the type; members
 * written with json.h's checked helpers then follow with a ','.
 */
static void put_head(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns, struct sg_clock *clk)
{
	sg_json_put_lit(b, SG_JSON_OBJ_KEY("v") "1" SG_JSON_KEY("seq"));
	sg_json_put_u64(b, seq);
	sg_json_put_key(b, "ts");
	sg_clock_put_ts(b, clk, boot_ns);
	sg_json_put_key(b, "type");
	b->first = false;
}

static void put_flags(struct sg_outbuf *b, uint32_t flags)
{
	uint32_t rest = flags;
	int first = 1;

	sg_json_put_lit(b, SG_JSON_KEY("flags") "[");
	while (rest) {
		unsigned int bit = (unsigned int)__builtin_ctz(rest);
		const char *name = sg_msg_flag_bit_name(bit);

		rest &= rest - 1;
		if (!first)
			sg_json_put_char(b, ',');
		first = 0;
		if (name) {
			sg_json_put_name(b, name);
		} else {
			sg_json_put_char(b, '"');
			sg_json_put_hex(b, 1ull << bit);
			sg_json_put_char(b, '"');
		}
	}
	sg_json_put_lit(b, "]" SG_JSON_KEY("flags_raw"));
	sg_json_put_u64(b, flags);
}

static void put_control(struct sg_outbuf *b, const struct sg_event *e)
{
	unsigned int i, n = e->ncmsgs < SG_MAX_CMSGS ? e->ncmsgs : SG_MAX_CMSGS;

	sg_json_put_key(b, "control");
	if (!(e->flags & SG_EF_CONTROL)) {
		sg_json_put_lit(b, "null");
		return;
	}
	sg_json_put_obj_key(b, "len");
	sg_json_put_u64(b, e->controllen);
	sg_json_put_lit(b, SG_JSON_KEY("cmsgs") "[");
	for (i = 0; i < n; i++) {
		const struct sg_cmsg *c = &e->cmsgs[i];

		if (i)
			sg_json_put_char(b, ',');
		sg_json_put_obj_key(b, "level");
		put_name_or_u64(b, sg_cmsg_level_name(c->level), c->level);
		sg_json_put_key(b, "type");
		put_name_or_u64(b, sg_cmsg_type_name(c->level, c->type), c->type);
		if (c->level == SOL_SOCKET && c->type == SCM_RIGHTS) {
			/* cmsg_len counts the 16-byte header, then 4 bytes per fd */
			sg_json_put_key(b, "fds");
			sg_json_put_u64(b, c->len >= 16 ? (c->len - 16) / 4 : 0);
		}
		sg_json_put_char(b, '}');
	}
	sg_json_put_char(b, ']');
	if (e->flags & SG_EF_CMSG_TRUNC)
		sg_json_put_key_lit(b, "truncated", "true");
	if (e->flags & SG_EF_CMSG_BAD)
		sg_json_put_key_lit(b, "malformed", "true");
	sg_json_put_char(b, '}');
}

/*
 * The address a failed call named but that could not be read: the kernel's
 * copy failed (EFAULT) and so did ours, which leaves zeroes. Its family would
 * read as AF_UNSPEC; the destination is unknown instead.
 */
static bool addr_unreadable(const struct sg_event *e)
{
	size_t n = e->addr_len < SG_ADDR_MAX ? e->addr_len : SG_ADDR_MAX;

	if (e->dst_source != SG_DST_MSG || e->ret >= 0 || (e->err != EFAULT && e->err != -EFAULT))
		return false;
	for (size_t i = 0; i < n; i++)
		if (e->addr[i])
			return false;
	return true;
}

/* "syscall" and "syscall_name"; index and vlen for one message of a sendmmsg */
static inline void put_syscall(struct sg_outbuf *b, const struct sg_event *e)
{
	if (e->syscall == SG_SYSCALL_CONNECT)
		sg_json_put_lit(b, "\"connect\"" SG_JSON_KEY("syscall"));
	else
		sg_json_put_lit(b, "\"send\"" SG_JSON_KEY("syscall"));
	put_name_or_u64(b, sg_syscall_name(e->syscall), e->syscall);
	if (e->flags & SG_EF_MMSG) {
		sg_json_put_key_u64(b, "index", e->index);
		sg_json_put_key_u64(b, "vlen", e->vlen);
	}
}

/*
 * The executable's identity, which the exe policy key matches and an
 * unprivileged user cannot fake the way it can fake the path (a mount
 * namespace). Device as MAJOR:MINOR, like mountinfo and stat %Hd:%Ld.
 */
static inline void put_exe_id(struct sg_outbuf *b, const struct sg_event *e)
{
	if (e->flags & SG_EF_EXE) {
		sg_json_put_lit(b, SG_JSON_KEY("exe_dev") "\"");
		sg_json_put_u64(b, e->exe_dev >> 20);
		sg_json_put_char(b, ':');
		sg_json_put_u64(b, e->exe_dev & 0xfffff);
		sg_json_put_lit(b, "\"" SG_JSON_KEY("exe_ino"));
		sg_json_put_u64(b, e->exe_ino);
	} else {
		sg_json_put_lit(b, SG_JSON_KEY("exe_dev") "null" SG_JSON_KEY("exe_ino") "null");
	}
}

/*
 * The "proc" object's members; exe and cgroup are null when unresolved, never
 * "". The caller closes the object, joined with the next key.
 */
static inline void put_proc(struct sg_outbuf *b, const struct sg_event *e, bool thread,
			    const char *exe, size_t exe_len, const char *cgroup, size_t cgroup_len)
{
	const void *nul;
	size_t comm_len;

	sg_json_put_lit(b, SG_JSON_KEY("proc") SG_JSON_OBJ_KEY("pid"));
	sg_json_put_u64(b, e->pid);
	if (thread) { /* a flow is the process's: its sends may come from several threads */
		sg_json_put_key_u64(b, "tid", e->tid);
		sg_json_put_key_u64(b, "ppid", e->ppid);
	}
	sg_json_put_key_u64(b, "uid", e->uid);
	sg_json_put_key_u64(b, "gid", e->gid);
	sg_json_put_key(b, "comm");
	nul = memchr(e->comm, '\0', SG_COMM_LEN);
	comm_len = nul ? (size_t)((const __u8 *)nul - e->comm) : SG_COMM_LEN;
	sg_json_put_str(b, e->comm, comm_len);
	sg_json_put_key(b, "exe");
	put_cstr_or_null(b, exe, exe_len);
	put_exe_id(b, e);
	sg_json_put_key_u64(b, "cgroup_id", e->cgroup_id);
	sg_json_put_key(b, "cgroup");
	put_cstr_or_null(b, cgroup, cgroup_len);
}

/* The "sock" object, null when the socket was not identified */
static inline void put_sock(struct sg_outbuf *b, const struct sg_event *e)
{
	sg_json_put_key(b, "sock");
	if (!(e->flags & SG_EF_SOCK)) {
		sg_json_put_lit(b, "null");
		return;
	}
	sg_json_put_obj_key(b, "family");
	put_name_or_u64(b, sg_family_name(e->sock_family), e->sock_family);
	sg_json_put_key(b, "type");
	put_name_or_u64(b, sg_socktype_name(e->sock_type), e->sock_type);
	sg_json_put_key(b, "protocol");
	put_name_or_u64(b, sg_protocol_name(e->sock_family, e->sock_protocol), e->sock_protocol);
	sg_json_put_char(b, '}');
}

/* "dst" and "dst_source" */
static inline void put_dst(struct sg_outbuf *b, const struct sg_event *e)
{
	sg_json_put_key(b, "dst");
	if (e->dst_source == SG_DST_NONE) {
		sg_json_put_lit(b, "null" SG_JSON_KEY("dst_source") "null");
	} else if (addr_unreadable(e)) {
		sg_json_put_lit(b, "null" SG_JSON_KEY("dst_source") "\"msg\"");
	} else {
		sg_addr_put_json(b, e->addr, e->addr_len < SG_ADDR_MAX ? e->addr_len : SG_ADDR_MAX);
		if (e->dst_source == SG_DST_MSG)
			sg_json_put_key_lit(b, "dst_source", "\"msg\"");
		else if (e->dst_source == SG_DST_PEER)
			sg_json_put_key_lit(b, "dst_source", "\"peer\"");
		else if (e->dst_source == SG_DST_RESOLVED)
			sg_json_put_key_lit(b, "dst_source", "\"resolved\"");
		else
			sg_json_put_key_lit(b, "dst_source", "null");
	}
}

/* "len" (null when unknown) and "iovlen" */
static inline void put_len(struct sg_outbuf *b, const struct sg_event *e)
{
	sg_json_put_key(b, "len");
	if (e->flags & SG_EF_LEN_UNKNOWN)
		sg_json_put_lit(b, "null");
	else
		sg_json_put_u64(b, e->len);
	sg_json_put_key_u64(b, "iovlen", e->iovlen);
}

/* "errno": null on success */
static inline void put_errno(struct sg_outbuf *b, const struct sg_event *e)
{
	sg_json_put_key(b, "errno");
	if (e->err == 0) {
		sg_json_put_lit(b, "null");
	} else {
		/* the ABI carries a positive errno; accept -errno as well */
		int err_no = e->err < 0 ? -e->err : e->err;

		put_name_or_u64(b, sg_errno_name(err_no), (uint64_t)(uint32_t)err_no);
	}
}

/* "ret" and "errno", null on success */
static inline void put_result(struct sg_outbuf *b, const struct sg_event *e)
{
	sg_json_put_key(b, "ret");
	sg_json_put_i64(b, e->ret);
	put_errno(b, e);
}

/* The "policy" object's members; the caller closes it with the record */
static inline void put_policy(struct sg_outbuf *b, const struct sg_event *e, const char *rule,
			      size_t rule_len)
{
	const char *name;

	sg_json_put_lit(b, SG_JSON_KEY("policy") SG_JSON_OBJ_KEY("verdict"));
	put_name_or_u64(b, sg_verdict_name(e->verdict), e->verdict);
	sg_json_put_key(b, "rule");
	put_cstr_or_null(b, rule, rule_len);
	sg_json_put_key_u64(b, "version", e->policy_version);
	sg_json_put_key(b, "enforced_by");
	name = sg_enforcer_name(e->enforced_by);
	if (name)
		sg_json_put_name(b, name);
	else if (e->enforced_by == SG_ENF_NONE)
		sg_json_put_lit(b, "null");
	else
		sg_json_put_u64(b, e->enforced_by);
	/* No rule decided: the hook could not judge the destination's spelling. */
	if (e->rule == SG_RULE_UNJUDGED)
		sg_json_put_key_lit(b, "reason", "\"unix path spelling the hooks cannot judge\"");
}

int sg_event_to_json(struct sg_outbuf *b, uint64_t seq, const struct sg_event *e,
		     const struct sg_enrich *x, struct sg_clock *clk)
{
	const char *exe = x ? x->exe : NULL, *cgroup = x ? x->cgroup : NULL;
	const char *rule = x ? x->rule_name : NULL;
	size_t exe_len = exe ? strlen(exe) : 0, cgroup_len = cgroup ? strlen(cgroup) : 0;
	size_t rule_len = rule ? strlen(rule) : 0, need;
	int err;

	if (!b || !e || !clk)
		return -EINVAL;
	need = EVENT_FIXED_MAX + SG_JSON_STR_MAX(exe_len) + SG_JSON_STR_MAX(cgroup_len) +
	       SG_JSON_STR_MAX(rule_len);
	err = sg_outbuf_reserve(b, need);
	if (err)
		return err;

	put_head(b, seq, e->ts_ns, clk);
	put_syscall(b, e);
	put_proc(b, e, true, exe, exe_len, cgroup, cgroup_len);
	sg_json_put_lit(b, "}" SG_JSON_KEY("fd")); /* proc */
	sg_json_put_i64(b, e->fd);
	put_sock(b, e);
	put_dst(b, e);
	put_flags(b, e->msg_flags);
	put_len(b, e);
	put_control(b, e);
	put_result(b, e);
	put_policy(b, e, rule, rule_len);
	sg_json_put_lit(b, "}}\n"); /* policy, record */
	return 0;
}

/* The fields of a send that a flow key holds, as an event (for the put_* above). */
static void flow_as_event(struct sg_event *e, const struct sg_flow_rec *r)
{
	const struct sg_flow_key *k = r->key;

	memset(e, 0, sizeof(*e));
	e->cgroup_id = k->cgroup_id;
	e->exe_ino = k->exe_ino;
	e->exe_dev = k->exe_dev;
	e->pid = k->pid;
	e->uid = k->uid;
	e->gid = k->gid;
	e->msg_flags = k->msg_flags;
	e->policy_version = k->policy_version;
	e->err = k->err;
	e->ret = k->err ? -1 : 0;
	e->rule = k->rule;
	e->verdict = SG_VERDICT_ALLOW;
	e->sock_family = k->sock_family;
	e->sock_type = k->sock_type;
	e->sock_protocol = k->sock_protocol;
	e->addr_len = k->addr_len;
	e->syscall = k->syscall;
	e->dst_source = k->dst_source;
	e->flags = k->ev_flags;
	memcpy(e->comm, r->comm, SG_COMM_LEN);
	memcpy(e->addr, k->addr, SG_ADDR_MAX);
}

int sg_flow_to_json(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns,
		    const struct sg_flow_rec *r, const struct sg_enrich *x, struct sg_clock *clk)
{
	const char *exe = x ? x->exe : NULL, *cgroup = x ? x->cgroup : NULL;
	const char *rule = x ? x->rule_name : NULL;
	size_t exe_len = exe ? strlen(exe) : 0, cgroup_len = cgroup ? strlen(cgroup) : 0;
	size_t rule_len = rule ? strlen(rule) : 0;
	struct sg_event e;
	int err;

	if (!b || !r || !r->key || !clk)
		return -EINVAL;
	err = sg_outbuf_reserve(b, EVENT_FIXED_MAX + SG_JSON_STR_MAX(exe_len) +
					   SG_JSON_STR_MAX(cgroup_len) + SG_JSON_STR_MAX(rule_len));
	if (err)
		return err;
	flow_as_event(&e, r);
	put_head(b, seq, boot_ns, clk);
	sg_json_put_lit(b, "\"flow\"" SG_JSON_KEY("syscall"));
	put_name_or_u64(b, sg_syscall_name(e.syscall), e.syscall);
	put_proc(b, &e, false, exe, exe_len, cgroup, cgroup_len);
	sg_json_put_char(b, '}'); /* proc */
	put_sock(b, &e);
	put_dst(b, &e);
	put_flags(b, e.msg_flags);
	put_errno(b, &e);
	put_policy(b, &e, rule, rule_len);
	sg_json_put_char(b, '}'); /* policy */
	sg_json_put_key_u64(b, "count", r->count);
	sg_json_put_key_u64(b, "bytes", r->bytes);
	sg_json_put_key(b, "first");
	sg_clock_put_ts(b, clk, r->first_ns);
	sg_json_put_key(b, "last");
	sg_clock_put_ts(b, clk, r->last_ns);
	sg_json_put_key(b, "end");
	if (r->end)
		sg_json_put_name(b, r->end);
	else
		sg_json_put_lit(b, "null");
	sg_json_put_lit(b, "}\n");
	return 0;
}

#define SMALL_RECORD_MAX (128 + SG_CLOCK_TS_JSON_LEN + 6 * SG_JSON_INT_MAX)

int sg_lost_to_json(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns, uint64_t count,
		    struct sg_clock *clk)
{
	int err;

	if (!b || !clk)
		return -EINVAL;
	err = sg_outbuf_reserve(b, SMALL_RECORD_MAX);
	if (err)
		return err;
	put_head(b, seq, boot_ns, clk);
	sg_json_put_lit(b, "\"lost\"" SG_JSON_KEY("count"));
	sg_json_put_u64(b, count);
	sg_json_put_lit(b, "}\n");
	return 0;
}

int sg_undeliverable_to_json(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns, const char *sink,
			     uint64_t count, struct sg_clock *clk)
{
	int err;

	if (!b || !sink || !clk)
		return -EINVAL;
	err = sg_outbuf_reserve(b, SMALL_RECORD_MAX + SG_JSON_STR_MAX(strlen(sink)));
	if (err)
		return err;
	put_head(b, seq, boot_ns, clk);
	sg_json_put_lit(b, "\"undeliverable\"" SG_JSON_KEY("sink"));
	sg_json_put_str(b, sink, strlen(sink));
	sg_json_put_key_u64(b, "count", count);
	sg_json_put_lit(b, "}\n");
	return 0;
}

int sg_stats_members_to_json(struct sg_outbuf *b, const struct sg_stats *s)
{
	sg_json_key_u64(b, "events", s->events);
	sg_json_key_u64(b, "lost", s->lost);
	sg_json_key_u64(b, "denied", s->denied);
	sg_json_key_u64(b, "sink_errors", s->sink_errors);
	sg_json_key_obj(b, "rules");
	for (size_t i = 0; i < s->nrules; i++)
		sg_json_key_u64(b, s->rule_names[i], s->rule_hits[i]);
	sg_json_obj_close(b);
	sg_json_key_u64(b, "default", s->default_hits);
	if (!s->flows_on)
		return b->err;
	sg_json_key_obj(b, "flows");
	sg_json_key_u64(b, "sends", s->flow_sends);
	sg_json_key_u64(b, "records", s->flow_records);
	sg_json_key_u64(b, "active", s->flows_active);
	sg_json_key_u64(b, "table_full", s->flow_table_full);
	return sg_json_obj_close(b);
}

int sg_stats_to_json(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns, const struct sg_stats *s,
		     struct sg_clock *clk)
{
	size_t mark;
	int err;

	if (!b || !s || !clk)
		return -EINVAL;
	mark = b->len;
	err = sg_outbuf_reserve(b, SMALL_RECORD_MAX);
	if (err)
		return err;
	put_head(b, seq, boot_ns, clk);
	sg_json_put_lit(b, "\"stats\"");
	sg_stats_members_to_json(b, s);
	sg_json_lit(b, "}\n");
	return sg_outbuf_end(b, mark);
}

int sg_policy_note_to_json(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns,
			   const struct sg_policy_note *n, struct sg_clock *clk)
{
	size_t mark;
	int err;

	if (!b || !n || !clk || !n->result)
		return -EINVAL;
	mark = b->len;
	err = sg_outbuf_reserve(b, SMALL_RECORD_MAX);
	if (err)
		return err;
	put_head(b, seq, boot_ns, clk);
	sg_json_put_lit(b, "\"policy\"");
	sg_json_key_str(b, "result", n->result);
	sg_json_key_str(b, "source", n->source);
	sg_json_key_str(b, "name", n->name);
	sg_json_key_u64(b, "version", n->version);
	sg_json_key_u64(b, "rules", n->nrules);
	sg_json_key_str(b, "default", n->default_action);
	sg_json_key_arr(b, "errors");
	for (size_t i = 0; i < n->nerrors; i++)
		sg_json_elem_str(b, n->errors[i]);
	sg_json_arr_close(b);
	sg_json_lit(b, "}\n");
	return sg_outbuf_end(b, mark);
}

int sg_gap_to_json(struct sg_outbuf *b, uint64_t seq, uint64_t boot_ns, const struct sg_gap *g,
		   struct sg_clock *clk)
{
	int err;

	if (!b || !g || !clk)
		return -EINVAL;
	err = sg_outbuf_reserve(b, SMALL_RECORD_MAX + SG_CLOCK_TS_JSON_LEN);
	if (err)
		return err;
	put_head(b, seq, boot_ns, clk);
	sg_json_put_lit(b, "\"gap\"" SG_JSON_KEY("untraced") "true" SG_JSON_KEY("since"));
	if (g->known) {
		/* Already real time, as the previous run wrote it: no offset of ours. */
		struct sg_clock real = { .boot_to_real_ns = 0, .cached_sec = -1 };

		sg_clock_put_ts(b, &real, g->last_real_ns);
	} else
		sg_json_put_lit(b, "null");
	sg_json_put_key(b, "previous_seq");
	if (g->known)
		sg_json_put_u64(b, g->last_seq);
	else
		sg_json_put_lit(b, "null");
	sg_json_put_key(b, "previous_exit");
	if (!g->known)
		sg_json_put_lit(b, "null");
	else if (g->clean)
		sg_json_put_lit(b, "\"clean\"");
	else
		sg_json_put_lit(b, "\"unclean\"");
	sg_json_put_key_u64(b, "queued", g->queued);
	sg_json_put_lit(b, "}\n");
	return 0;
}
