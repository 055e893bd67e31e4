/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sendguard(8): the command-line client. Commands are looked up in tables,
 * bpftool style: each level takes its argv starting at its own name.
 */
#ifndef SG_CLI_H
#define SG_CLI_H

#include <stdbool.h>

/* Exit codes (sendguard(8)). */
#define SG_EXIT_OK    0
#define SG_EXIT_FAIL  1 /* invalid policy, failed operation */
#define SG_EXIT_USAGE 2 /* bad arguments */

/* One command: argv[0] is the command's name. Returns the exit code. */
struct sg_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/* -j/--json given anywhere: print JSON instead of text. */
extern bool sg_json_output;

/*
 * Run the command of cmds named argv[0]; with no argv[0] or "help", run
 * help. Unknown names are usage errors (exit 2).
 */
int sg_cmd_select(const char *what, const struct sg_cmd *cmds, int argc, char **argv,
		  int (*help)(int argc, char **argv));

/* "sendguard: " + message on stderr; returns SG_EXIT_USAGE. */
int sg_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int do_policy(int argc, char **argv);

#endif /* SG_CLI_H */
