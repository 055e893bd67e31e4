// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policy parser and validator: JSON text -> struct sg_policy (see policy.h and
 * sendguard-policy(5)).
 *
 * Two passes over the input. The strict scanner (jscan.c) walks the raw
 * text first, because json-c accepts things that are not JSON ('single
 * quotes', NaN) and keeps only the last of duplicate keys, which would
 * silently drop half of a rule; then json-c builds the tree (with a depth
 * limit). The tree is validated as a whole: every problem is recorded with
 * its JSON path and the walk goes on, so one run lists them all.
 *
 * Beside it: policy_values.c (names, ports, destinations from strings),
 * policy_load.c (reading the file), policy_resolve.c (exe paths).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "jscan.h"
#include "names.h"
#include "policy_internal.h"

#define SHOW_MAX SG_JSCAN_SHOW_MAX

/* --- parse context -------------------------------------------------------- */

void policy_err(struct policy_ctx *c, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	c->nerr++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sg_errlist_add(c->errs, "%s: %s", path[0] ? path : c->source, msg))
		c->oom = true;
}

/* A JSON value as shown in a message: strings quoted, the rest as JSON text. */
static const char *show(char *out, struct json_object *v)
{
	const char *t;
	size_t n;

	if (json_object_is_type(v, json_type_string))
		return sg_jscan_show(out, json_object_get_string(v),
				     (size_t)json_object_get_string_len(v));
	t = json_object_to_json_string_ext(v,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!t)
		t = "?";
	n = strlen(t);
	if (n > SHOW_MAX) {
		memcpy(out, t, SHOW_MAX);
		memcpy(out + SHOW_MAX, "...", 4);
	} else {
		memcpy(out, t, n + 1);
	}
	return out;
}

/* path + "." + key (or key at the root) */
static void path_key(char *out, const char *path, const char *key)
{
	/* a path cut at SG_JSCAN_PATH_MAX still names the place well enough */
	if (snprintf(out, SG_JSCAN_PATH_MAX, "%s%s%s", path, path[0] ? "." : "", key) >=
	    SG_JSCAN_PATH_MAX)
		out[SG_JSCAN_PATH_MAX - 1] = 0;
}

static void path_idx(char *out, const char *path, size_t i)
{
	if (snprintf(out, SG_JSCAN_PATH_MAX, "%s[%zu]", path, i) >= SG_JSCAN_PATH_MAX)
		out[SG_JSCAN_PATH_MAX - 1] = 0;
}

/* --- messages ---------------------------------------------------------------- */

#define NAME_RULE "1-63 characters of A-Z a-z 0-9 . _ -"

static const char *action_names = "allow, deny, audit, kill";

/* --- match keys ------------------------------------------------------------ */

/* Counts n more entries of key k against its total limit; false when over. */
static bool count_entries(struct policy_ctx *c, enum sg_match_key k, uint32_t n, const char *path,
			  struct json_object *v)
{
	uint32_t limit = k == SG_MK_DST ? SG_POLICY_MAX_DST : SG_POLICY_MAX_LIST;
	char shown[SG_JSCAN_SHOW_BUF];

	c->total[k] += n;
	if (c->total[k] <= limit)
		return true;
	if (!c->over[k]) {
		c->over[k] = true;
		if (json_object_is_type(v, json_type_array))
			policy_err(c, path, "over the limit of %u %s entries in all rules", limit,
				   sg_match_key_name(k));
		else
			policy_err(c, path, "%s: over the limit of %u %s entries in all rules",
				   show(shown, v), limit, sg_match_key_name(k));
	}
	return false;
}

/*
 * Check that v is a non-empty list; returns its length or 0 (after reporting).
 */
static size_t want_list(struct policy_ctx *c, struct json_object *v, const char *path)
{
	size_t n;

	if (!json_object_is_type(v, json_type_array)) {
		policy_err(c, path, "expected a list");
		return 0;
	}
	n = json_object_array_length(v);
	if (!n)
		policy_err(c, path, "empty list");
	return n;
}

static bool want_string(struct policy_ctx *c, struct json_object *v, const char *path)
{
	if (json_object_is_type(v, json_type_string))
		return true;
	policy_err(c, path, "expected a string");
	return false;
}

/*
 * An integer in [0, max]; false after reporting otherwise. kind names the
 * number in the range message ("uid out of range 0-4294967294").
 */
static bool want_uint(struct policy_ctx *c, struct json_object *v, const char *path, uint64_t max,
		      const char *kind, uint64_t *out)
{
	char shown[SG_JSCAN_SHOW_BUF];
	int64_t s;
	uint64_t u;

	if (!json_object_is_type(v, json_type_int)) {
		policy_err(c, path, "expected an integer");
		return false;
	}
	s = json_object_get_int64(v);
	u = json_object_get_uint64(v);
	/* json-c saturates: INT64_MAX with a larger unsigned value is out of range */
	if (s < 0 || (s == INT64_MAX && u > (uint64_t)INT64_MAX) || (uint64_t)s > max) {
		policy_err(c, path, "%s: %s out of range 0-%llu", show(shown, v), kind,
			   (unsigned long long)max);
		return false;
	}
	*out = (uint64_t)s;
	return true;
}

typedef void (*entry_fn)(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
			 const char *path, size_t i);

/*
 * Walk a list key: the list checks, then fn per entry (with "key[i]" paths).
 * Returns its length (0 when not a usable list).
 */
static size_t each_entry(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
			 const char *path, entry_fn fn)
{
	char sub[SG_JSCAN_PATH_MAX];
	size_t n = want_list(c, v, path), i;

	for (i = 0; i < n; i++) {
		path_idx(sub, path, i);
		fn(c, r, json_object_array_get_idx(v, i), sub, i);
	}
	return n;
}

static void e_syscall(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		      const char *path, size_t i)
{
	char shown[SG_JSCAN_SHOW_BUF];
	uint32_t x;

	(void)i;
	if (!want_string(c, v, path))
		return;
	if (sg_syscall_from_name(json_object_get_string(v), &x) || x >= 32)
		policy_err(c, path,
			   "%s: unknown syscall name (sendto, sendmsg, sendmmsg, connect, write, "
			   "writev, "
			   "sendfile, splice, io_uring, other)",
			   show(shown, v));
	else
		r->syscall_mask |= 1u << x;
}

static void e_family(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		     const char *path, size_t i)
{
	char shown[SG_JSCAN_SHOW_BUF];
	uint32_t x;

	(void)i;
	if (!want_string(c, v, path))
		return;
	if (sg_family_from_name(json_object_get_string(v), &x) || x >= 64)
		policy_err(c, path, "%s: unknown family name", show(shown, v));
	else
		r->family_mask |= 1ull << x;
}

static void e_type(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		   const char *path, size_t i)
{
	char shown[SG_JSCAN_SHOW_BUF];
	uint32_t x;

	(void)i;
	if (!want_string(c, v, path))
		return;
	if (sg_socktype_from_name(json_object_get_string(v), &x) || x >= 32)
		policy_err(c, path, "%s: unknown socket type name", show(shown, v));
	else
		r->type_mask |= 1u << x;
}

static void e_protocol(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		       const char *path, size_t i)
{
	char shown[SG_JSCAN_SHOW_BUF];
	uint32_t x;
	uint64_t u;

	if (json_object_is_type(v, json_type_int)) {
		if (!want_uint(c, v, path, 65535, "protocol", &u))
			return;
		x = (uint32_t)u;
	} else if (!json_object_is_type(v, json_type_string)) {
		policy_err(c, path, "expected a string or an integer");
		return;
	} else if (sg_protocol_from_name(json_object_get_string(v), &x) || x > 65535) {
		policy_err(c, path, "%s: unknown protocol name", show(shown, v));
		return;
	}
	r->protocols[i] = (uint16_t)x;
	r->nprotocols++;
}

static void e_dst(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		  const char *path, size_t i)
{
	char shown[SG_JSCAN_SHOW_BUF], whybuf[64];
	struct sg_policy_dst e[2];
	const char *why = NULL;
	int n;

	(void)i;
	if (!want_string(c, v, path))
		return;
	n = policy_parse_dst(json_object_get_string(v), (size_t)json_object_get_string_len(v), e,
			     &why, whybuf, sizeof(whybuf));
	if (!n) {
		policy_err(c, path, "%s: %s", show(shown, v), why);
		return;
	}
	if (!count_entries(c, SG_MK_DST, (uint32_t)n, path, v))
		return;
	memcpy(&r->dst[r->ndst], e, (size_t)n * sizeof(e[0]));
	r->ndst += (uint32_t)n;
}

static void e_port(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		   const char *path, size_t i)
{
	char shown[SG_JSCAN_SHOW_BUF];
	const char *why;
	uint16_t lo, hi;
	uint64_t u;

	if (json_object_is_type(v, json_type_int)) {
		if (!want_uint(c, v, path, 65535, "port", &u))
			return;
		lo = hi = (uint16_t)u;
	} else if (json_object_is_type(v, json_type_string)) {
		why = policy_parse_port_range(json_object_get_string(v),
					      (size_t)json_object_get_string_len(v), &lo, &hi);
		if (why) {
			policy_err(c, path, "%s: %s", show(shown, v), why);
			return;
		}
	} else {
		policy_err(c, path, "expected an integer or a string");
		return;
	}
	r->ports[i].lo = lo;
	r->ports[i].hi = hi;
	r->nports++;
}

static void e_unix(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		   const char *path, size_t i)
{
	struct sg_policy_unix *u = &r->unix_pats[i];
	char shown[SG_JSCAN_SHOW_BUF];
	const char *s;
	size_t n;
	bool prefix;

	if (!want_string(c, v, path))
		return;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	prefix = n > 1 && s[n - 1] == '*';
	if (n && s[0] == '@') {
		s++;
		n--;
		if (prefix)
			n--;
		else if (!n) {
			policy_err(c, path, "%s: empty abstract name", show(shown, v));
			return;
		}
		u->kind = prefix ? SG_UNIX_ABSTRACT_PREFIX : SG_UNIX_ABSTRACT;
	} else if (n && s[0] == '/') {
		if (prefix)
			n--;
		if (memchr(s, 0, n)) {
			policy_err(c, path, "%s: NUL byte in path", show(shown, v));
			return;
		}
		u->kind = prefix ? SG_UNIX_PATH_PREFIX : SG_UNIX_PATH;
	} else {
		policy_err(c, path,
			   "%s: expected an absolute path, \"@name\" or a prefix ending in '*'",
			   show(shown, v));
		return;
	}
	if (n > SG_POLICY_UNIX_MAX) {
		policy_err(c, path, "%s: longer than %d bytes", show(shown, v), SG_POLICY_UNIX_MAX);
		return;
	}
	u->len = (uint8_t)n;
	memcpy(u->bytes, s, n);
	u->bytes[n] = 0;
	r->nunix++;
}

static void flag_entry(struct policy_ctx *c, uint32_t *mask, struct json_object *v,
		       const char *path)
{
	char shown[SG_JSCAN_SHOW_BUF];
	uint32_t f;

	if (!want_string(c, v, path))
		return;
	if (sg_msg_flag_from_name(json_object_get_string(v), &f))
		policy_err(c, path, "%s: unknown flag name", show(shown, v));
	else
		*mask |= f;
}

static void e_flags_any(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
			const char *path, size_t i)
{
	(void)i;
	flag_entry(c, &r->flags_any, v, path);
}

static void e_flags_all(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
			const char *path, size_t i)
{
	(void)i;
	flag_entry(c, &r->flags_all, v, path);
}

static void e_flags_none(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
			 const char *path, size_t i)
{
	(void)i;
	flag_entry(c, &r->flags_none, v, path);
}

static void e_cmsg(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		   const char *path, size_t i)
{
	char shown[SG_JSCAN_SHOW_BUF];
	uint32_t level, type;

	(void)i;
	if (!want_string(c, v, path))
		return;
	if (sg_cmsg_type_from_name(json_object_get_string(v), &level, &type)) {
		policy_err(c, path, "%s: unknown control message type name", show(shown, v));
		return;
	}
	r->cmsgs[r->ncmsgs].level = level;
	r->cmsgs[r->ncmsgs].type = type;
	r->ncmsgs++;
}

static void e_comm(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		   const char *path, size_t i)
{
	char shown[SG_JSCAN_SHOW_BUF];
	const char *s;
	size_t n;

	(void)i;
	if (!want_string(c, v, path))
		return;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (!n || memchr(s, 0, n)) {
		policy_err(c, path, "%s: %s", show(shown, v),
			   n ? "NUL byte in comm" : "empty comm");
		return;
	}
	if (n > SG_POLICY_COMM_MAX) {
		policy_err(c, path, "%s: comm longer than %d bytes (the kernel keeps %d)",
			   show(shown, v), SG_POLICY_COMM_MAX, SG_POLICY_COMM_MAX);
		return;
	}
	memset(r->comms[r->ncomms], 0, SG_COMM_LEN);
	memcpy(r->comms[r->ncomms], s, n);
	r->ncomms++;
}

/* An absolute path without NUL, up to SG_POLICY_PATH_MAX bytes. */
static bool want_abs_path(struct policy_ctx *c, struct json_object *v, const char *path)
{
	char shown[SG_JSCAN_SHOW_BUF];
	const char *s;
	size_t n;

	if (!want_string(c, v, path))
		return false;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (!n || s[0] != '/') {
		policy_err(c, path, "%s: expected an absolute path", show(shown, v));
		return false;
	}
	if (memchr(s, 0, n)) {
		policy_err(c, path, "%s: NUL byte in path", show(shown, v));
		return false;
	}
	if (n > SG_POLICY_PATH_MAX) {
		policy_err(c, path, "%s: longer than %d bytes", show(shown, v), SG_POLICY_PATH_MAX);
		return false;
	}
	return true;
}

static void e_exe(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		  const char *path, size_t i)
{
	char *p;

	(void)i;
	if (!want_abs_path(c, v, path))
		return;
	p = strdup(json_object_get_string(v));
	if (!p) {
		c->oom = true;
		return;
	}
	memset(&r->exes[r->nexes], 0, sizeof(r->exes[0]));
	r->exes[r->nexes++].path = p;
}

static void e_uid(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		  const char *path, size_t i)
{
	uint64_t u;

	(void)i;
	/* (uid_t)-1 means "no uid" to the kernel: not a uid anyone sends with */
	if (want_uint(c, v, path, UINT32_MAX - 1, "uid", &u))
		r->uids[r->nuids++] = (uint32_t)u;
}

static void e_gid(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		  const char *path, size_t i)
{
	uint64_t u;

	(void)i;
	if (want_uint(c, v, path, UINT32_MAX - 1, "gid", &u))
		r->gids[r->ngids++] = (uint32_t)u;
}

static void e_cgroup(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *v,
		     const char *path, size_t i)
{
	char shown[SG_JSCAN_SHOW_BUF];
	const char *s, *comp;
	size_t n;
	char *p;

	(void)i;
	if (!want_abs_path(c, v, path))
		return;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	while (n > 1 && s[n - 1] == '/')
		n--;
	/* every component non-empty and not "." or ".." */
	for (comp = s + 1; n > 1 && comp <= s + n;) {
		const char *end = memchr(comp, '/', (size_t)(s + n - comp));
		size_t cl;

		if (!end)
			end = s + n;
		cl = (size_t)(end - comp);
		if (!cl || (cl == 1 && comp[0] == '.') ||
		    (cl == 2 && comp[0] == '.' && comp[1] == '.')) {
			policy_err(c, path,
				   "%s: not a normalized cgroup path (empty, \".\" or \"..\" "
				   "component)",
				   show(shown, v));
			return;
		}
		comp = end + 1;
	}
	p = strndup(s, n);
	if (!p) {
		c->oom = true;
		return;
	}
	r->cgroups[r->ncgroups++] = p;
}

/*
 * The match keys: JSON name, list walker (NULL for the scalar len_min/len_max)
 * and where the entries go, so that arrays can be sized before the walk.
 */
struct key_desc {
	const char *name;
	entry_fn fn;
	size_t elem; /* bytes per entry of the rule's array; 0: a mask */
	size_t per_value; /* entries one JSON value may produce */
	size_t array_off; /* offsetof the array pointer in sg_policy_rule */
};

#define ARR(member, per) \
	sizeof(*((struct sg_policy_rule *)0)->member), per, offsetof(struct sg_policy_rule, member)

static const struct key_desc key_descs[SG_MK_COUNT] = {
	[SG_MK_SYSCALL] = { "syscall", e_syscall, 0, 0, 0 },
	[SG_MK_FAMILY] = { "family", e_family, 0, 0, 0 },
	[SG_MK_TYPE] = { "type", e_type, 0, 0, 0 },
	[SG_MK_PROTOCOL] = { "protocol", e_protocol, ARR(protocols, 1) },
	[SG_MK_DST] = { "dst", e_dst, ARR(dst, 2) },
	[SG_MK_PORT] = { "port", e_port, ARR(ports, 1) },
	[SG_MK_UNIX] = { "unix", e_unix, ARR(unix_pats, 1) },
	[SG_MK_FLAGS_ANY] = { "flags_any", e_flags_any, 0, 0, 0 },
	[SG_MK_FLAGS_ALL] = { "flags_all", e_flags_all, 0, 0, 0 },
	[SG_MK_FLAGS_NONE] = { "flags_none", e_flags_none, 0, 0, 0 },
	[SG_MK_CMSG] = { "cmsg", e_cmsg, ARR(cmsgs, 1) },
	[SG_MK_LEN_MIN] = { "len_min", NULL, 0, 0, 0 },
	[SG_MK_LEN_MAX] = { "len_max", NULL, 0, 0, 0 },
	[SG_MK_COMM] = { "comm", e_comm, ARR(comms, 1) },
	[SG_MK_EXE] = { "exe", e_exe, ARR(exes, 1) },
	[SG_MK_UID] = { "uid", e_uid, ARR(uids, 1) },
	[SG_MK_GID] = { "gid", e_gid, ARR(gids, 1) },
	[SG_MK_CGROUP] = { "cgroup", e_cgroup, ARR(cgroups, 1) },
};

const char *sg_match_key_name(enum sg_match_key k)
{
	return (unsigned int)k < SG_MK_COUNT ? key_descs[k].name : NULL;
}

static void free_rule(struct sg_policy_rule *r)
{
	uint32_t i;

	free(r->protocols);
	free(r->dst);
	free(r->ports);
	free(r->unix_pats);
	free(r->cmsgs);
	free(r->comms);
	for (i = 0; i < r->nexes; i++)
		free(r->exes[i].path);
	free(r->exes);
	free(r->uids);
	free(r->gids);
	for (i = 0; i < r->ncgroups; i++)
		free(r->cgroups[i]);
	free(r->cgroups);
	memset(r, 0, sizeof(*r));
}

static void parse_match(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *m,
			const char *path)
{
	char sub[SG_JSCAN_PATH_MAX], shown[SG_JSCAN_SHOW_BUF];
	struct json_object *lmin = NULL;
	unsigned int k;

	if (!json_object_is_type(m, json_type_object)) {
		policy_err(c, path, "expected an object");
		return;
	}
	json_object_object_foreach(m, key, v)
	{
		const struct key_desc *d = NULL;
		uint64_t u;

		for (k = 0; k < SG_MK_COUNT; k++) {
			if (strcmp(key, key_descs[k].name) == 0) {
				d = &key_descs[k];
				break;
			}
		}
		if (!d) {
			policy_err(c, path, "unknown key %s",
				   sg_jscan_show(shown, key, strlen(key)));
			continue;
		}
		path_key(sub, path, key);
		if (!d->fn) {
			/* len_min, len_max: byte counts, 0..INT64_MAX */
			if (!want_uint(c, v, sub, INT64_MAX, "length", &u))
				continue;
			r->keys |= SG_MK_BIT(k);
			if (k == SG_MK_LEN_MIN) {
				r->len_min = u;
				lmin = v;
			} else {
				r->len_max = u;
			}
			continue;
		}
		if (d->elem && json_object_is_type(v, json_type_array)) {
			size_t n = json_object_array_length(v);
			void **arr = (void **)((char *)r + d->array_off);

			if (n) {
				*arr = calloc(n * d->per_value, d->elem);
				if (!*arr) {
					c->oom = true;
					return;
				}
			}
		}
		if (each_entry(c, r, v, sub, d->fn))
			r->keys |= SG_MK_BIT(k);
		if (d->elem && k != SG_MK_DST && r->keys & SG_MK_BIT(k)) {
			uint32_t counts[SG_MK_COUNT] = {
				[SG_MK_PROTOCOL] = r->nprotocols, [SG_MK_PORT] = r->nports,
				[SG_MK_UNIX] = r->nunix,	  [SG_MK_CMSG] = r->ncmsgs,
				[SG_MK_COMM] = r->ncomms,	  [SG_MK_EXE] = r->nexes,
				[SG_MK_UID] = r->nuids,		  [SG_MK_GID] = r->ngids,
				[SG_MK_CGROUP] = r->ncgroups,
			};

			count_entries(c, k, counts[k], sub, v);
		}
	}

	/* keys that can never hold together */
	if (r->keys & SG_MK_BIT(SG_MK_UNIX) &&
	    r->keys & (SG_MK_BIT(SG_MK_DST) | SG_MK_BIT(SG_MK_PORT)))
		policy_err(c, path,
			   "\"unix\" never holds together with \"%s\" (unix vs inet destination)",
			   r->keys & SG_MK_BIT(SG_MK_DST) ? "dst" : "port");
	if (r->keys & SG_MK_BIT(SG_MK_LEN_MIN) && r->keys & SG_MK_BIT(SG_MK_LEN_MAX) &&
	    r->len_max < r->len_min) {
		path_key(sub, path, "len_max");
		policy_err(c, sub, "%llu: less than len_min %s", (unsigned long long)r->len_max,
			   show(shown, lmin));
	}
	if (r->flags_all & r->flags_none) {
		path_key(sub, path, "flags_none");
		policy_err(c, sub, "%s: also in flags_all, the rule never holds",
			   sg_msg_flag_name(1u << __builtin_ctz(r->flags_all & r->flags_none)));
	}
}

/* A tiny open-addressing set of rule names, for duplicates in O(1) each. */
struct name_set {
	uint32_t *slot; /* rule index + 1; 0 = empty */
	size_t mask;
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* Returns the index of an earlier rule with this name, or -1 after adding it. */
static long name_set_add(struct name_set *ns, char (*names)[SG_POLICY_NAME_MAX + 1], uint32_t idx)
{
	size_t h = (size_t)hash_name(names[idx]) & ns->mask;

	while (ns->slot[h]) {
		if (strcmp(names[ns->slot[h] - 1], names[idx]) == 0)
			return (long)ns->slot[h] - 1;
		h = (h + 1) & ns->mask;
	}
	ns->slot[h] = idx + 1;
	return -1;
}

/* Parses rule i into r; its name also goes into names[i] (for duplicates). */
static void parse_rule(struct policy_ctx *c, struct sg_policy_rule *r, struct json_object *o,
		       const char *path, char *name_out)
{
	char sub[SG_JSCAN_PATH_MAX], shown[SG_JSCAN_SHOW_BUF];
	bool have_name = false, have_action = false;

	if (!json_object_is_type(o, json_type_object)) {
		policy_err(c, path, "expected an object");
		return;
	}
	json_object_object_foreach(o, key, v)
	{
		path_key(sub, path, key);
		if (strcmp(key, "name") == 0) {
			have_name = true;
			if (!want_string(c, v, sub))
				continue;
			if (!policy_valid_name(json_object_get_string(v),
					       (size_t)json_object_get_string_len(v))) {
				policy_err(c, sub, "%s: invalid rule name (" NAME_RULE ")",
					   show(shown, v));
				continue;
			}
			strcpy(r->name, json_object_get_string(v));
			strcpy(name_out, r->name);
		} else if (strcmp(key, "action") == 0) {
			have_action = true;
			if (!want_string(c, v, sub))
				continue;
			if (sg_verdict_from_name(json_object_get_string(v), &r->action))
				policy_err(c, sub, "%s: unknown action (%s)", show(shown, v),
					   action_names);
		} else if (strcmp(key, "export") == 0) {
			if (!want_string(c, v, sub))
				continue;
			if (!strcmp(json_object_get_string(v), "flows"))
				r->export = SG_EXPORT_FLOWS;
			else if (!strcmp(json_object_get_string(v), "events"))
				r->export = SG_EXPORT_EVENTS;
			else
				policy_err(c, sub, "%s: unknown export (flows, events)",
					   show(shown, v));
		} else if (strcmp(key, "match") == 0) {
			parse_match(c, r, v, sub);
		} else {
			policy_err(c, path, "unknown key %s",
				   sg_jscan_show(shown, key, strlen(key)));
		}
	}
	if (!have_name)
		policy_err(c, path, "missing key \"name\"");
	if (!have_action)
		policy_err(c, path, "missing key \"action\"");
	else if (r->export && r->action != SG_VERDICT_ALLOW)
		policy_err(c, path,
			   "\"export\" is for allow rules: deny, audit and kill are always events");
}

static void parse_rules(struct policy_ctx *c, struct sg_policy *p, struct json_object *rules)
{
	char(*names)[SG_POLICY_NAME_MAX + 1] = NULL;
	char path[SG_JSCAN_PATH_MAX], sub[SG_JSCAN_PATH_MAX];
	struct name_set ns = { 0 };
	struct sg_policy_rule scratch;
	size_t n, i, kept;

	if (!json_object_is_type(rules, json_type_array)) {
		policy_err(c, "rules", "expected a list");
		return;
	}
	n = json_object_array_length(rules);
	if (n > SG_POLICY_MAX_RULES)
		policy_err(c, "rules", "%zu rules: over the limit of %d", n, SG_POLICY_MAX_RULES);
	/* rules past the limit are still checked, in a scratch rule */
	kept = n > SG_POLICY_MAX_RULES ? SG_POLICY_MAX_RULES : n;
	if (!n)
		return;
	p->rules = calloc(kept, sizeof(*p->rules));
	names = calloc(n, sizeof(*names));
	for (ns.mask = 1; ns.mask < 2 * n; ns.mask <<= 1)
		;
	ns.slot = calloc(ns.mask, sizeof(*ns.slot));
	ns.mask--;
	if (!p->rules || !names || !ns.slot) {
		c->oom = true;
		goto cleanup;
	}
	for (i = 0; i < n && !c->oom; i++) {
		struct sg_policy_rule *r = i < kept ? &p->rules[i] : &scratch;
		long first;

		if (r == &scratch)
			memset(&scratch, 0, sizeof(scratch));
		path_idx(path, "rules", i);
		parse_rule(c, r, json_object_array_get_idx(rules, i), path, names[i]);
		if (names[i][0]) {
			first = name_set_add(&ns, names, (uint32_t)i);
			if (first >= 0) {
				path_key(sub, path, "name");
				policy_err(c, sub,
					   "\"%s\": duplicate rule name (first at rules[%ld])",
					   names[i], first);
			}
		}
		if (r == &scratch)
			free_rule(&scratch);
	}
	p->nrules = (uint32_t)kept;
cleanup:
	free(names);
	free(ns.slot);
}

static void parse_top(struct policy_ctx *c, struct sg_policy *p, struct json_object *top)
{
	char shown[SG_JSCAN_SHOW_BUF];

	if (!json_object_is_type(top, json_type_object)) {
		policy_err(c, "", "expected an object at the top level");
		return;
	}
	p->default_action = SG_VERDICT_ALLOW;
	json_object_object_foreach(top, key, v)
	{
		if (strcmp(key, "name") == 0) {
			if (!want_string(c, v, "name"))
				continue;
			if (!policy_valid_name(json_object_get_string(v),
					       (size_t)json_object_get_string_len(v)))
				policy_err(c, "name", "%s: invalid policy name (" NAME_RULE ")",
					   show(shown, v));
			else
				strcpy(p->name, json_object_get_string(v));
		} else if (strcmp(key, "default") == 0) {
			if (!want_string(c, v, "default"))
				continue;
			if (sg_verdict_from_name(json_object_get_string(v), &p->default_action))
				policy_err(c, "default", "%s: unknown action (%s)", show(shown, v),
					   action_names);
		} else if (strcmp(key, "rules") == 0) {
			parse_rules(c, p, v);
		} else {
			policy_err(c, "", "unknown key %s", sg_jscan_show(shown, key, strlen(key)));
		}
	}
	p->ndst = c->total[SG_MK_DST];
}

/* Line and column (1-based) of byte offset off. */
static void line_col(const char *s, size_t off, size_t *line, size_t *col)
{
	size_t k;

	*line = 1;
	*col = 1;
	for (k = 0; k < off; k++) {
		if (s[k] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

int sg_policy_parse(const char *buf, size_t len, const char *source, struct sg_policy **out,
		    struct sg_errlist *errs)
{
	struct policy_ctx c = { .errs = errs, .source = source ? source : "<policy>" };
	struct json_tokener *tok = NULL;
	struct json_object *top = NULL;
	struct sg_policy *p = NULL;
	enum json_tokener_error jerr;
	size_t end, line, col;
	char *copy = NULL;
	int ret = -EINVAL;

	*out = NULL;
	if (len > SG_POLICY_FILE_MAX) {
		policy_err(&c, "", "too large: over the limit of %d bytes", SG_POLICY_FILE_MAX);
		ret = -EFBIG;
		goto cleanup;
	}
	/* a NUL-terminated copy: json-c needs the terminator to end a number */
	copy = malloc(len + 1);
	tok = json_tokener_new_ex(SG_POLICY_JSON_DEPTH);
	p = calloc(1, sizeof(*p));
	if (!copy || !tok || !p)
		goto oom;
	if (len)
		memcpy(copy, buf, len);
	copy[len] = 0;
	/* first the strict scan: its messages are the more precise ones */
	{
		unsigned int dups = 0;
		int r = sg_jscan(copy, len, 0, SG_POLICY_JSON_DEPTH, c.source, errs, &dups, NULL,
				 NULL);

		if (r == -ENOMEM)
			goto oom;
		c.nerr += dups; /* reported; the other problems are listed too */
		if (r)
			goto cleanup;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	top = json_tokener_parse_ex(tok, copy, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (end > len)
		end = len;
	if (jerr != json_tokener_success) {
		line_col(copy, end, &line, &col);
		if (jerr == json_tokener_continue)
			policy_err(&c, "", "not JSON: unexpected end of input");
		else if (end < len && copy[end] == 0)
			policy_err(&c, "", "not JSON: NUL byte at line %zu, column %zu", line, col);
		else
			policy_err(&c, "", "not JSON: %s at line %zu, column %zu",
				   json_tokener_error_desc(jerr), line, col);
		goto cleanup;
	}
	parse_top(&c, p, top);
	if (c.oom)
		goto oom;
	if (c.nerr)
		goto cleanup;
	p->json = strdup(json_object_to_json_string_ext(
		top, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	if (!p->json)
		goto oom;
	*out = p;
	p = NULL;
	ret = 0;
	goto cleanup;
oom:
	ret = -ENOMEM;
cleanup:
	if (errs && errs->oom)
		ret = -ENOMEM;
	json_object_put(top);
	if (tok)
		json_tokener_free(tok);
	free(copy);
	sg_policy_free(p);
	return ret;
}

const char sg_policy_default_json[] = "{\"name\":\"observe\",\"default\":\"allow\",\"rules\":[]}";

void sg_policy_free(struct sg_policy *p)
{
	uint32_t i;

	if (!p)
		return;
	for (i = 0; i < p->nrules; i++)
		free_rule(&p->rules[i]);
	free(p->rules);
	free(p->json);
	free(p);
}
