/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A list of problems, one line each: what the policy parser, the strict JSON
 * scanner (jscan.h) and the compiler report, and what the callers print.
 *
 * Library code: never prints, never exits.
 */
#ifndef SG_ERRLIST_H
#define SG_ERRLIST_H

#include <stdbool.h>
#include <stddef.h>

/* The error list stops growing here and ends with a "too many errors" line. */
#define SG_ERRLIST_MAX 1000

/*
 * Problems found while loading or resolving a policy, one line each, in the
 * form "JSON.path: reason" (e.g. `rules[2].match.dst[0]: "10.0.0.0/33":
 * prefix length must be 0-32`), in document order. Problems about the file
 * as a whole use the source name as path ("policy.json: not JSON: ...").
 * Zero-initialise (struct sg_errlist errs = {0};), free with sg_errlist_free.
 * On allocation failure the list stops growing and `oom` is set; the
 * functions that fill it then return -ENOMEM.
 */
struct sg_errlist {
	char **items;
	size_t n;
	size_t cap;
	size_t dropped; /* lines not kept beyond SG_ERRLIST_MAX */
	bool oom;
};

/* Appends one formatted line. 0 or -ENOMEM. */
int sg_errlist_add(struct sg_errlist *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
size_t sg_errlist_count(const struct sg_errlist *l);
/* Line i (0-based), or NULL when out of range. */
const char *sg_errlist_get(const struct sg_errlist *l, size_t i);
/* Frees the lines and resets l to empty; accepts NULL. */
void sg_errlist_free(struct sg_errlist *l);

#endif /* SG_ERRLIST_H */
