// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sendguard(8): global options and the top-level command table. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "version.h"

enum {
	OPT_CONTROL = 256,
};

bool sg_json_output;

int sg_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sendguard: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return SG_EXIT_USAGE;
}

int sg_bad_option(const char *cmd, char **argv, int opt)
{
	const char *arg = argv[optind - 1];

	if (opt == ':')
		return sg_usage_error("%s: option '%s' needs a value", cmd, arg);
	return sg_usage_error("%s: unknown option '%s'", cmd, arg);
}

int sg_cmd_select(const char *what, const struct sg_cmd *cmds, int argc, char **argv,
		  int (*help)(int argc, char **argv))
{
	const struct sg_cmd *c;

	if (argc < 1 || !strcmp(argv[0], "help"))
		return help(argc, argv);
	for (c = cmds; c->name; c++) {
		if (!strcmp(argv[0], c->name))
			return c->fn(argc, argv);
	}
	return sg_usage_error("unknown %s '%s' (see 'sendguard %s--help')", what, argv[0],
			      strcmp(what, "command") ? "policy " : "");
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: sendguard [--control PATH] [-j] [-h] [-V] COMMAND ...\n"
	       "\n"
	       "Commands:\n"
	       "  status [-j]                     the daemon, its policy, enforcement, counters\n"
	       "  events [-f] [--filter EXPR] [--format json|text] [--backlog N]\n"
	       "                                  records from the daemon (-f: follow)\n"
	       "  policy load FILE [-j]           make the daemon load FILE as its policy\n"
	       "  policy show [-j]                print the policy the daemon has in force\n"
	       "  policy check FILE [-j]          validate a policy offline\n"
	       "  policy test FILE [SEND...] [-j] judge one synthetic send offline\n"
	       "  run [-p POLICY] [-o SINK]... [--trace-all] [--] CMD [ARGS...]\n"
	       "                                  run CMD under a seccomp sandbox that\n"
	       "                                  enforces POLICY on its sends (no root)\n"
	       "  help                            this text\n"
	       "\n"
	       "Options:\n"
	       "  --control PATH  the daemon's control socket [$SENDGUARD_CONTROL, else\n"
	       "                  " SG_CONTROL_DEFAULT "]\n"
	       "  -j, --json      print JSON\n"
	       "  -h, --help      this text\n"
	       "  -V, --version   print the version\n"
	       "\n"
	       "'sendguard COMMAND --help' describes a command, 'sendguard policy --help'\n"
	       "the offline policy commands; see sendguard(8) and sendguard-policy(5).\n");
	return SG_EXIT_OK;
}

static const struct sg_cmd main_cmds[] = {
	{ "status", do_status }, { "events", do_events }, { "policy", do_policy },
	{ "run", do_run },	 { NULL, NULL },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ NULL, 0, NULL, 0 },
	};
	const char *env = getenv("SENDGUARD_CONTROL");
	int opt;

	if (env && env[0])
		sg_control_path = env;

	/* "+": options up to the command only; each command parses its own */
	while ((opt = getopt_long(argc, argv, "+jhV", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_CONTROL:
			if (!optarg[0])
				return sg_usage_error("--control: expected a socket path");
			sg_control_path = optarg;
			break;
		case 'j':
			sg_json_output = true;
			break;
		case 'h':
			return do_help(0, NULL);
		case 'V':
			printf("sendguard %s\n", SG_VERSION);
			return SG_EXIT_OK;
		default:
			return SG_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		do_help(0, NULL);
		return SG_EXIT_USAGE;
	}
	return sg_cmd_select("command", main_cmds, argc, argv, do_help);
}
