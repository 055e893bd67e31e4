/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A strict RFC 8259 scanner for JSON from outside: policy files and control
 * requests. It only checks (and reports where): json-c, which builds the
 * trees, accepts things that are not JSON ('single quotes', NaN, trailing
 * commas) and keeps the last of duplicate keys, so text is scanned first and
 * handed to json-c only when it is JSON.
 *
 * Library code: never prints, never exits.
 */
#ifndef SG_JSCAN_H
#define SG_JSCAN_H

#include <stddef.h>

#include "errlist.h"

/* Raw bytes must be UTF-8, and a \u escape never a lone surrogate. */
#define SG_JSCAN_UTF8 (1u << 0)
/* No string (keys included) may hold a NUL: \u0000. */
#define SG_JSCAN_NO_NUL (1u << 1)

/* Longest quoted value shown in a message before it is cut with "...". */
#define SG_JSCAN_SHOW_MAX 80
/* Room sg_jscan_show needs. */
#define SG_JSCAN_SHOW_BUF (SG_JSCAN_SHOW_MAX * 6 + 8)
/* Room for a JSON path in a message: "rules[1023].match.flags_none[16383]", quoted keys. */
#define SG_JSCAN_PATH_MAX 256

/*
 * s (n bytes) as a JSON string literal for a message: quoted, controls,
 * quotes and backslashes escaped, cut after SG_JSCAN_SHOW_MAX bytes with
 * "...". out needs SG_JSCAN_SHOW_BUF bytes; returns out.
 */
const char *sg_jscan_show(char *out, const char *s, size_t n);

/* Called for each member of a top-level object: its decoded key, and where its value is. */
typedef void (*sg_jscan_member_fn)(void *ctx, const char *key, size_t key_len, size_t start,
				   size_t end);

/*
 * Scan s[0..n) as one JSON value, whitespace around it allowed, nested at
 * most max_depth deep, with the SG_JSCAN_* flags. Each problem is one line
 * in errs, "PATH: what" ("source: not JSON: bad number at line 1, column 9"
 * for the text as a whole). Syntax stops the scan; duplicate keys are
 * reported and counted in *dups, and the scan goes on.
 * member (may be NULL) gets the members of a top-level object.
 * 0 when s is JSON (*dups may still be > 0), -EINVAL when it is not,
 * -ENOMEM.
 */
int sg_jscan(const char *s, size_t n, unsigned int flags, int max_depth, const char *source,
	     struct sg_errlist *errs, unsigned int *dups, sg_jscan_member_fn member, void *ctx);

#endif
