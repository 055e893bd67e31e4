// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sendguard policy check|test: offline checks of a policy file, with the
 * parser the daemon uses (common/policy.h) and the reference evaluator
 * (common/policy_eval.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>
#include <json-c/json.h>

#include "addr.h"
#include "cli.h"
#include "names.h"
#include "numparse.h"
#include "policy.h"
#include "policy_eval.h"

static int policy_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: sendguard policy check FILE [-j]\n"
	       "       sendguard policy test FILE [SEND OPTIONS] [-j]\n"
	       "       sendguard [--control PATH] policy load FILE [-j]\n"
	       "       sendguard [--control PATH] policy show [-j]\n"
	       "\n"
	       "check  validate FILE offline: exit 0 valid, 1 invalid (every problem on\n"
	       "       stderr, one line each, by JSON path)\n"
	       "test   judge one synthetic send against FILE: prints 'VERDICT (rule NAME)'\n"
	       "       or 'VERDICT (default)'; exit 0 whatever the verdict, 1 invalid\n"
	       "       policy, 2 bad arguments\n"
	       "load   ask the running daemon to load FILE as its next policy version\n"
	       "       (like SIGHUP); exit 1 when it refuses it (errors on stderr)\n"
	       "show   print the policy the running daemon has in force\n"
	       "\n"
	       "Send options (default in brackets):\n"
	       "  --syscall S      sendto, sendmsg, sendmmsg, connect, write, writev,\n"
	       "                   sendfile, splice, io_uring, other [sendto]\n"
	       "  --family F       socket family [from --dst/--unix, else inet]\n"
	       "  --type T         socket type [stream for --protocol tcp/mptcp, else dgram]\n"
	       "  --protocol P     socket protocol, name or number [inet/inet6: tcp for\n"
	       "                   stream, udp for dgram, else 0; other families: 0]\n"
	       "  --dst A[:PORT]   IPv4 destination, port [0]\n"
	       "  --dst [V6]:PORT  IPv6 destination (a bare V6 without brackets has port 0)\n"
	       "  --unix PATH|@NAME  unix destination (path or abstract name) [no destination]\n"
	       "  --flags A,B      MSG_* flags [none]\n"
	       "  --cmsg A,B       control message types, e.g. SCM_RIGHTS [none]\n"
	       "  --len N          bytes offered [0]\n"
	       "  --comm C         task name [none: comm rules do not hold]\n"
	       "  --exe PATH       executable, stat()ed here [none: exe rules do not hold]\n"
	       "  --uid N, --gid N sender ids [this process's real uid and gid]\n"
	       "  --cgroup PATH    cgroup v2 path [none: cgroup rules do not hold]\n"
	       "  -j, --json       print {\"verdict\":...,\"rule\":NAME|null}\n");
	return SG_EXIT_OK;
}

static void print_errors(const struct sg_errlist *errs)
{
	size_t i;

	for (i = 0; i < sg_errlist_count(errs); i++)
		fprintf(stderr, "%s\n", sg_errlist_get(errs, i));
	if (errs->dropped)
		fprintf(stderr, "... and %zu more errors\n", errs->dropped);
}

static void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Loads file; on failure prints the problems (text or JSON) and returns NULL. */
static struct sg_policy *load_or_report(const char *file, bool json_errors)
{
	struct sg_errlist errs = { 0 };
	struct sg_policy *p = NULL;
	int err = sg_policy_load(file, &p, &errs);
	size_t i;

	if (!err) {
		sg_errlist_free(&errs);
		return p;
	}
	if (err == -ENOMEM && !sg_errlist_count(&errs))
		sg_errlist_add(&errs, "%s: out of memory", file);
	if (json_errors) {
		struct json_object *o = json_object_new_object(), *a = json_object_new_array();

		for (i = 0; i < sg_errlist_count(&errs); i++)
			json_object_array_add(a, json_object_new_string(sg_errlist_get(&errs, i)));
		json_object_object_add(o, "file", json_object_new_string(file));
		json_object_object_add(o, "valid", json_object_new_boolean(0));
		json_object_object_add(o, "errors", a);
		print_json(o);
		json_object_put(o);
	} else {
		print_errors(&errs);
		if (err == -EINVAL)
			fprintf(stderr, "%s: invalid (%zu error%s)\n", file,
				sg_errlist_count(&errs) + errs.dropped,
				sg_errlist_count(&errs) + errs.dropped == 1 ? "" : "s");
	}
	sg_errlist_free(&errs);
	return NULL;
}

static int do_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sg_policy *p;
	const char *file;
	int opt;

	/* 0: glibc re-initialises (main parsed in "+" mode), and skips argv[0] */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			sg_json_output = true;
			break;
		case 'h':
			return policy_help(0, NULL);
		default:
			return sg_bad_option("policy check", argv, opt);
		}
	}
	if (argc - optind != 1)
		return sg_usage_error(argc - optind < 1 ? "policy check: missing FILE"
							: "policy check: one FILE only");
	file = argv[optind];
	p = load_or_report(file, sg_json_output);
	if (!p)
		return SG_EXIT_FAIL;
	if (sg_json_output) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(file));
		json_object_object_add(o, "valid", json_object_new_boolean(1));
		json_object_object_add(o, "name",
				       p->name[0] ? json_object_new_string(p->name) : NULL);
		json_object_object_add(o, "rules", json_object_new_int64(p->nrules));
		json_object_object_add(o, "default",
				       json_object_new_string(sg_verdict_name(p->default_action)));
		print_json(o);
		json_object_put(o);
	} else if (p->name[0]) {
		printf("%s: valid (name %s, %u rule%s, default %s)\n", file, p->name, p->nrules,
		       p->nrules == 1 ? "" : "s", sg_verdict_name(p->default_action));
	} else {
		printf("%s: valid (unnamed, %u rule%s, default %s)\n", file, p->nrules,
		       p->nrules == 1 ? "" : "s", sg_verdict_name(p->default_action));
	}
	sg_policy_free(p);
	return SG_EXIT_OK;
}

/* --- policy test: the synthetic send -------------------------------------- */

enum {
	OPT_SYSCALL = 256,
	OPT_FAMILY,
	OPT_TYPE,
	OPT_PROTOCOL,
	OPT_DST,
	OPT_UNIX,
	OPT_FLAGS,
	OPT_CMSG,
	OPT_LEN,
	OPT_COMM,
	OPT_EXE,
	OPT_UID,
	OPT_GID,
	OPT_CGROUP,
};

/* "A,B,C": each name through fn. Returns 0, or -ENOENT with *bad set. */
static int each_name(char *list, int (*fn)(const char *name, void *ctx), void *ctx, char **bad)
{
	char *save = NULL, *tok;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (fn(tok, ctx)) {
			*bad = tok;
			return -ENOENT;
		}
	}
	return 0;
}

static int add_flag(const char *name, void *ctx)
{
	struct sg_send_desc *d = ctx;
	uint32_t f;

	if (sg_msg_flag_from_name(name, &f))
		return -ENOENT;
	d->msg_flags |= f;
	return 0;
}

static int add_cmsg(const char *name, void *ctx)
{
	struct sg_send_desc *d = ctx;
	uint32_t level, type;

	if (sg_cmsg_type_from_name(name, &level, &type))
		return -ENOENT;
	if (d->ncmsgs >= SG_MAX_CMSGS)
		return -E2BIG;
	d->cmsgs[d->ncmsgs].level = level;
	d->cmsgs[d->ncmsgs].type = type;
	d->cmsgs[d->ncmsgs].len = 16;
	d->ncmsgs++;
	return 0;
}

/* The synthetic send of policy test, and which of its socket fields were given. */
struct test_send {
	struct sg_send_desc d;
	bool have_family, have_type, have_proto;
	bool have_dst, have_unix;
	char *cgroup; /* what d.cgroup points to */
};

/* --exe: the executable's identity as the kernel reports it. */
static int set_exe(struct sg_send_desc *d, const char *arg)
{
	struct stat st;

	if (stat(arg, &st) < 0)
		return sg_usage_error("--exe: '%s': cannot stat: %s", arg, strerror(errno));
	d->has_exe = true;
	d->exe_dev = (uint64_t)major(st.st_dev) << 20 | minor(st.st_dev);
	d->exe_ino = st.st_ino;
	return SG_EXIT_OK;
}

/* --cgroup: an absolute cgroup path; t keeps the copy d.cgroup points to. */
static int set_cgroup(struct test_send *t, const char *arg)
{
	if (arg[0] != '/')
		return sg_usage_error("--cgroup: '%s': expected an absolute cgroup path", arg);
	free(t->cgroup);
	t->cgroup = strdup(arg);
	if (!t->cgroup)
		return SG_EXIT_FAIL;
	/* the kernel never reports a trailing '/' */
	for (size_t n = strlen(t->cgroup); n > 1 && t->cgroup[n - 1] == '/'; n--)
		t->cgroup[n - 1] = 0;
	t->d.cgroup = t->cgroup;
	return SG_EXIT_OK;
}

/* One send option (OPT_*) into t. SG_EXIT_OK, or the exit code after the message. */
static int set_send_option(struct test_send *t, int opt, char *arg)
{
	struct sg_send_desc *d = &t->d;
	char *bad = NULL;
	const char *why = NULL;
	uint64_t v;

	switch (opt) {
	case OPT_SYSCALL:
		if (sg_syscall_from_name(arg, &d->syscall))
			return sg_usage_error("--syscall: '%s': unknown syscall (sendto, sendmsg, "
					      "sendmmsg, connect)",
					      arg);
		break;
	case OPT_FAMILY:
		if (sg_family_from_name(arg, &d->sock_family))
			return sg_usage_error("--family: '%s': unknown family", arg);
		t->have_family = true;
		break;
	case OPT_TYPE:
		if (sg_socktype_from_name(arg, &d->sock_type))
			return sg_usage_error("--type: '%s': unknown socket type", arg);
		t->have_type = true;
		break;
	case OPT_PROTOCOL:
		/* A name (udp, tcp, ...), else a protocol number. */
		if (sg_protocol_from_name(arg, &d->sock_protocol)) {
			if (sg_parse_u64(arg, 0, 65535, 0, &v))
				return sg_usage_error("--protocol: '%s': unknown protocol", arg);
			d->sock_protocol = (uint32_t)v;
		}
		t->have_proto = true;
		break;
	case OPT_DST:
		if (sg_sockaddr_parse_inet(arg, d->addr, sizeof(d->addr), &d->addr_len, &why))
			return sg_usage_error("--dst: '%s': %s", arg, why);
		t->have_dst = true;
		break;
	case OPT_UNIX:
		if (sg_sockaddr_parse_unix(arg, d->addr, sizeof(d->addr), &d->addr_len, &why))
			return sg_usage_error("--unix: '%s': %s", arg, why);
		t->have_unix = true;
		break;
	case OPT_FLAGS:
		if (each_name(arg, add_flag, d, &bad))
			return sg_usage_error("--flags: '%s': unknown flag name", bad);
		break;
	case OPT_CMSG:
		if (each_name(arg, add_cmsg, d, &bad))
			return sg_usage_error("--cmsg: '%s': unknown control message type, or more "
					      "than %d",
					      bad, SG_MAX_CMSGS);
		break;
	case OPT_LEN:
		if (sg_parse_u64(arg, 0, UINT64_MAX, 0, &d->len))
			return sg_usage_error("--len: '%s': expected a byte count", arg);
		break;
	case OPT_COMM:
		if (!arg[0] || strlen(arg) > SG_COMM_LEN - 1)
			return sg_usage_error("--comm: '%s': expected 1-%d bytes", arg,
					      SG_COMM_LEN - 1);
		memset(d->comm, 0, sizeof(d->comm));
		memcpy(d->comm, arg, strlen(arg));
		break;
	case OPT_EXE:
		return set_exe(d, arg);
	case OPT_UID:
	case OPT_GID:
		if (sg_parse_u64(arg, 0, UINT32_MAX, 0, &v))
			return sg_usage_error("--%s: '%s': expected a number 0-4294967295",
					      opt == OPT_UID ? "uid" : "gid", arg);
		*(opt == OPT_UID ? &d->uid : &d->gid) = (uint32_t)v;
		break;
	case OPT_CGROUP:
		return set_cgroup(t, arg);
	}
	return SG_EXIT_OK;
}

/* The socket the send goes through, where not given. */
static void default_socket(struct test_send *t)
{
	struct sg_send_desc *d = &t->d;

	if (!t->have_family) {
		sa_family_t fam = AF_INET;

		if (d->addr_len)
			memcpy(&fam, d->addr, sizeof(fam));
		d->sock_family = fam;
	}
	if (!t->have_type)
		d->sock_type = t->have_proto && (d->sock_protocol == IPPROTO_TCP ||
						 d->sock_protocol == IPPROTO_MPTCP)
				       ? SOCK_STREAM
				       : SOCK_DGRAM;
	if (!t->have_proto) {
		d->sock_protocol = 0;
		if (d->sock_family == AF_INET || d->sock_family == AF_INET6) {
			if (d->sock_type == SOCK_STREAM)
				d->sock_protocol = IPPROTO_TCP;
			else if (d->sock_type == SOCK_DGRAM)
				d->sock_protocol = IPPROTO_UDP;
		}
	}
}

/* "VERDICT (rule NAME)", "VERDICT (default)", or the JSON of -j. */
static void print_verdict(const struct sg_policy *p, int rule, uint32_t verdict)
{
	if (sg_json_output) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "verdict",
				       json_object_new_string(sg_verdict_name(verdict)));
		json_object_object_add(
			o, "rule", rule < 0 ? NULL : json_object_new_string(p->rules[rule].name));
		print_json(o);
		json_object_put(o);
	} else if (rule < 0) {
		printf("%s (default)\n", sg_verdict_name(verdict));
	} else {
		printf("%s (rule %s)\n", sg_verdict_name(verdict), p->rules[rule].name);
	}
}

static int do_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "syscall", required_argument, NULL, OPT_SYSCALL },
		{ "family", required_argument, NULL, OPT_FAMILY },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "protocol", required_argument, NULL, OPT_PROTOCOL },
		{ "dst", required_argument, NULL, OPT_DST },
		{ "unix", required_argument, NULL, OPT_UNIX },
		{ "flags", required_argument, NULL, OPT_FLAGS },
		{ "cmsg", required_argument, NULL, OPT_CMSG },
		{ "len", required_argument, NULL, OPT_LEN },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "exe", required_argument, NULL, OPT_EXE },
		{ "uid", required_argument, NULL, OPT_UID },
		{ "gid", required_argument, NULL, OPT_GID },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct test_send t = { .d = { .syscall = SG_SYSCALL_SENDTO, .has_sock = true } };
	struct sg_errlist errs = { 0 };
	struct sg_policy *p = NULL;
	uint32_t verdict;
	int opt, rule, err, ret = SG_EXIT_USAGE;

	t.d.uid = getuid();
	t.d.gid = getgid();
	/* 0: glibc re-initialises (main parsed in "+" mode), and skips argv[0] */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		if (opt >= OPT_SYSCALL && opt <= OPT_CGROUP) {
			err = set_send_option(&t, opt, optarg);
			if (err) {
				ret = err;
				goto cleanup;
			}
			continue;
		}
		switch (opt) {
		case 'j':
			sg_json_output = true;
			break;
		case 'h':
			ret = policy_help(0, NULL);
			goto cleanup;
		default:
			sg_bad_option("policy test", argv, opt);
			goto cleanup;
		}
	}
	if (argc - optind != 1) {
		sg_usage_error(argc - optind < 1 ? "policy test: missing FILE"
						 : "policy test: one FILE only (unexpected '%s')",
			       argv[argc - 1]);
		goto cleanup;
	}
	if (t.have_dst && t.have_unix) {
		sg_usage_error("--dst and --unix exclude each other");
		goto cleanup;
	}
	default_socket(&t);

	p = load_or_report(argv[optind], false);
	if (!p) {
		ret = SG_EXIT_FAIL;
		goto cleanup;
	}
	/* exe rules need this machine's files; what cannot be found never matches */
	if (sg_policy_resolve(p, &errs) == -ENOMEM) {
		ret = SG_EXIT_FAIL;
		goto cleanup;
	}
	for (size_t i = 0; i < sg_errlist_count(&errs); i++)
		fprintf(stderr, "warning: %s (never matches)\n", sg_errlist_get(&errs, i));

	rule = sg_policy_eval(p, &t.d, &verdict);
	print_verdict(p, rule, verdict);
	ret = SG_EXIT_OK;
cleanup:
	sg_errlist_free(&errs);
	sg_policy_free(p);
	free(t.cgroup);
	return ret;
}

static const struct sg_cmd policy_cmds[] = {
	{ "check", do_check },
	{ "test", do_test },
	/* the daemon's policy, through its control socket (cmd_control.c) */
	{ "load", do_policy_load },
	{ "show", do_policy_show },
	{ NULL, NULL },
};

int do_policy(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return policy_help(0, NULL);
	if (argc < 2) {
		policy_help(0, NULL);
		return SG_EXIT_USAGE;
	}
	return sg_cmd_select("policy command", policy_cmds, argc - 1, argv + 1, policy_help);
}
