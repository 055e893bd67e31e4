/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The policy language (sendguard-policy(5), README "Policies"): the parsed form of
 * a policy file and its parser/validator. The reference evaluator is
 * policy_eval.h.
 *
 * The parsed form is what the compiler to BPF maps and the seccomp supervisor
 * start from, so every value is already in the form a lookup needs: names are
 * numbers, sets of small numbers are bit masks, CIDRs are (family, prefix,
 * bytes, port range), IPv4-mapped IPv6 CIDRs are IPv4 CIDRs, and unix patterns
 * are (kind, bytes). Nothing here depends on the machine the policy is parsed
 * on, except sg_policy_resolve() (exe paths -> device and inode).
 *
 * Library code: never prints, never exits. Functions return 0 or -errno; an
 * invalid policy is -EINVAL with every problem in a struct sg_errlist.
 */
#ifndef SG_POLICY_H
#define SG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "errlist.h"
#include "sendguard.h"

/* --- limits (checked by the parser; the BPF maps are sized from these) ---- */

/* Rules per policy. */
#define SG_POLICY_MAX_RULES 1024
/* dst entries summed over all rules ("*:53" counts 2: 0.0.0.0/0 and ::/0). */
#define SG_POLICY_MAX_DST 16384
/*
 * Entries of any other list key (protocol, port, unix, cmsg, comm, exe, uid,
 * gid, cgroup) summed over all rules, per key.
 */
#define SG_POLICY_MAX_LIST 16384
/* Policy and rule names: 1..63 bytes of [A-Za-z0-9._-]. */
#define SG_POLICY_NAME_MAX 63
/* Policy file size in bytes. */
#define SG_POLICY_FILE_MAX (1024 * 1024)
/* JSON nesting depth accepted by the tokenizer (a policy needs 5). */
#define SG_POLICY_JSON_DEPTH 16
/* comm entries: 1..15 bytes (TASK_COMM_LEN - 1). */
#define SG_POLICY_COMM_MAX (SG_COMM_LEN - 1)
/* unix path and abstract name bytes (sizeof(sun_path) - 1). */
#define SG_POLICY_UNIX_MAX 107
/* exe and cgroup paths, bytes (PATH_MAX - 1). */
#define SG_POLICY_PATH_MAX 4095

/* --- parsed policy ---------------------------------------------------------- */

/*
 * Match keys, as bit numbers of sg_policy_rule.keys: a bit is set iff the key
 * is present in the rule's "match" object. keys == 0 matches every send.
 */
enum sg_match_key {
	SG_MK_SYSCALL = 0,
	SG_MK_FAMILY,
	SG_MK_TYPE,
	SG_MK_PROTOCOL,
	SG_MK_DST,
	SG_MK_PORT,
	SG_MK_UNIX,
	SG_MK_FLAGS_ANY,
	SG_MK_FLAGS_ALL,
	SG_MK_FLAGS_NONE,
	SG_MK_CMSG,
	SG_MK_LEN_MIN,
	SG_MK_LEN_MAX,
	SG_MK_COMM,
	SG_MK_EXE,
	SG_MK_UID,
	SG_MK_GID,
	SG_MK_CGROUP,
	SG_MK_COUNT
};

#define SG_MK_BIT(k) (1u << (k))

/* The JSON key of a match key ("flags_any"), NULL when out of range. */
const char *sg_match_key_name(enum sg_match_key k);

/*
 * One "dst" entry: destinations of family `family` whose address starts with
 * the first prefix_len bits of addr and whose port is in [port_lo, port_hi].
 *
 * family      AF_INET or AF_INET6
 * prefix_len  0..32 (AF_INET) or 0..128 (AF_INET6)
 * addr        network order; AF_INET uses addr[0..3], the rest is zero.
 *             Bits beyond prefix_len are zero (the parser refuses host bits).
 * port_lo/hi  host order; 0..65535 when the entry names no port.
 *
 * "*:53" is two entries (0.0.0.0/0 and ::/0, both port 53). An IPv4-mapped
 * CIDR (::ffff:a.b.c.d/96+n) is stored as the IPv4 CIDR a.b.c.d/n, because a
 * mapped destination is judged as IPv4 (and only as IPv4).
 */
struct sg_policy_dst {
	uint8_t family;
	uint8_t prefix_len;
	uint16_t port_lo;
	uint16_t port_hi;
	uint8_t addr[16];
};

/* A port range from the "port" key, host order, lo <= hi ("53" is 53-53). */
struct sg_policy_port {
	uint16_t lo;
	uint16_t hi;
};

/* sg_policy_unix.kind */
enum sg_unix_kind {
	SG_UNIX_PATH = 0, /* "/run/x.sock": the path exactly */
	SG_UNIX_PATH_PREFIX, /* "/run/user/" + "*": paths starting with "/run/user/" */
	SG_UNIX_ABSTRACT, /* "@name": the abstract name exactly */
	SG_UNIX_ABSTRACT_PREFIX, /* "@prefix*": abstract names starting with "prefix" */
};

/*
 * One "unix" entry. bytes/len: the path (leading '/' included) or the
 * abstract name (without the '@' and without the leading NUL of sun_path),
 * without the final '*' of a prefix form. Abstract names may contain any
 * byte ("\u0000" included); paths contain no NUL. bytes[len] is 0.
 */
struct sg_policy_unix {
	uint8_t kind;
	uint8_t len;
	char bytes[SG_POLICY_UNIX_MAX + 1];
};

/* One "cmsg" entry: a control message by level and type (SOL_SOCKET/SCM_RIGHTS = 1/1). */
struct sg_policy_cmsg {
	uint32_t level;
	uint32_t type;
};

/*
 * One "exe" entry. path is absolute as written. dev/ino are filled by
 * sg_policy_resolve(): dev in the kernel's encoding (MAJOR << 20 | MINOR),
 * as in sg_event.exe_dev. resolved is 0 until then, 1 on success, -errno
 * when stat failed; an entry with resolved != 1 never matches.
 */
struct sg_policy_exe {
	char *path;
	uint64_t dev;
	uint64_t ino;
	int resolved;
};

/*
 * One rule: `action` when every key present in `keys` holds for the send.
 * Within one key, any entry may hold (OR). Only the members of present keys
 * are meaningful; absent keys have zero counts and masks.
 *
 * syscall_mask  bit (1u << SG_SYSCALL_*) per syscall name
 * family_mask   bit (1ull << AF_*) per socket family (every named family < 64)
 * type_mask     bit (1u << SOCK_*) per socket type (every named type < 32)
 * protocols     socket protocol numbers (names are IP protocol numbers)
 * dst           see struct sg_policy_dst; needs an inet/inet6 destination
 * ports         destination port ranges; needs an inet/inet6 destination
 * unix_pats     see struct sg_policy_unix; needs a unix destination
 * flags_any     holds when (msg_flags & flags_any) != 0
 * flags_all     holds when (msg_flags & flags_all) == flags_all
 * flags_none    holds when (msg_flags & flags_none) == 0
 * cmsgs         holds when any control message of the send is in the list
 * len_min/max   holds when len_min <= len / len <= len_max
 * comms         task comm, compared exactly (up to 15 bytes, NUL-terminated)
 * exes          executable identity, see struct sg_policy_exe
 * uids, gids    real uid/gid of the sender
 * cgroups       cgroup v2 paths ("/system.slice"): holds when the sender's
 *               cgroup is that path or below it (at a '/' boundary). Stored
 *               without a trailing '/', except the root "/".
 */
struct sg_policy_rule {
	char name[SG_POLICY_NAME_MAX + 1];
	uint32_t action; /* SG_VERDICT_* */
	uint32_t export; /* SG_EXPORT_*: "export", how its allowed sends leave (--flows) */
	uint32_t keys; /* SG_MK_BIT(SG_MK_*) of the keys present */

	uint32_t syscall_mask;
	uint64_t family_mask;
	uint32_t type_mask;
	uint16_t *protocols;
	uint32_t nprotocols;
	struct sg_policy_dst *dst;
	uint32_t ndst;
	struct sg_policy_port *ports;
	uint32_t nports;
	struct sg_policy_unix *unix_pats;
	uint32_t nunix;
	uint32_t flags_any;
	uint32_t flags_all;
	uint32_t flags_none;
	struct sg_policy_cmsg *cmsgs;
	uint32_t ncmsgs;
	uint64_t len_min;
	uint64_t len_max;
	char (*comms)[SG_COMM_LEN];
	uint32_t ncomms;
	struct sg_policy_exe *exes;
	uint32_t nexes;
	uint32_t *uids;
	uint32_t nuids;
	uint32_t *gids;
	uint32_t ngids;
	char **cgroups;
	uint32_t ncgroups;
};

/*
 * A parsed, valid policy.
 *
 * name            "name" of the file, "" when absent
 * default_action  SG_VERDICT_* of "default" ("allow" when absent)
 * rules/nrules    in file order; the first matching rule decides
 * version         0 after parsing; the daemon stamps its load counter here
 * ndst            total dst entries over all rules (<= SG_POLICY_MAX_DST)
 */
struct sg_policy {
	char name[SG_POLICY_NAME_MAX + 1];
	uint32_t default_action;
	uint32_t version;
	struct sg_policy_rule *rules;
	uint32_t nrules;
	uint32_t ndst;
	char *json; /* the policy as parsed, one line of JSON (sendguardd's policy_show) */
};

/*
 * Parse and validate a policy from len bytes of buf (need not be
 * NUL-terminated). source names the input in whole-file errors ("policy.json:
 * not JSON: ..."); NULL means "<policy>".
 * Returns 0 and *out (free with sg_policy_free), or -EINVAL with every problem
 * appended to errs (errs may be NULL), or -ENOMEM. *out is NULL on failure.
 */
int sg_policy_parse(const char *buf, size_t len, const char *source, struct sg_policy **out,
		    struct sg_errlist *errs);

/*
 * Read path (at most SG_POLICY_FILE_MAX bytes) and sg_policy_parse() it with
 * path as source. Besides the parse results, returns -errno when the file
 * cannot be read ("path: cannot open: No such file or directory") and -EFBIG
 * when it is too large; each also appended to errs.
 */
int sg_policy_load(const char *path, struct sg_policy **out, struct sg_errlist *errs);

/* Accepts NULL. */
void sg_policy_free(struct sg_policy *p);

/*
 * The embedded default policy of sendguardd and `sendguard run` when no -p is
 * given: "observe", allow everything (the same as policies/observe.json).
 */
extern const char sg_policy_default_json[];

/*
 * stat() every exe path of p on this machine and fill dev/ino/resolved.
 * Every failure is appended to errs as `rules[0].match.exe[1]: "/x": cannot
 * stat: No such file or directory`; such entries never match. Returns 0 when
 * all resolved, -ENOENT when at least one did not (p stays usable), -ENOMEM.
 * Kept apart from parsing so that an offline check does not depend on the
 * files of the machine it runs on.
 */
int sg_policy_resolve(struct sg_policy *p, struct sg_errlist *errs);

#endif /* SG_POLICY_H */
