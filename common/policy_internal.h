/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared by the files of the policy parser, not API: policy_parse.c (the
 * JSON walk), policy_values.c (names, ports and destinations from strings),
 * policy_load.c (reading a policy file) and policy_resolve.c (exe paths).
 */
#ifndef SG_POLICY_INTERNAL_H
#define SG_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* One parse, load or resolve: where its problems go, and the per-key totals of a parse. */
struct policy_ctx {
	struct sg_errlist *errs;
	const char *source;
	unsigned int nerr; /* problems found, also when errs is NULL */
	bool oom;
	/* entries per key over all rules, and whether its limit was reported */
	uint32_t total[SG_MK_COUNT];
	bool over[SG_MK_COUNT];
};

/*
 * Records a problem as "PATH: message" in c->errs (the source name when path
 * is ""), counts it in c->nerr, and sets c->oom when the list cannot grow.
 */
void policy_err(struct policy_ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* --- policy_values.c --------------------------------------------------------- */

/* A policy or rule name: 1..SG_POLICY_NAME_MAX bytes of [A-Za-z0-9._-]. */
bool policy_valid_name(const char *s, size_t n);

/* "53" or "1000-2000" -> [lo, hi]. Returns NULL or the reason. */
const char *policy_parse_port_range(const char *s, size_t n, uint16_t *lo, uint16_t *hi);

/*
 * One "dst" string -> 1 or 2 entries; returns the count, or 0 with *why set
 * (whybuf holds the reasons that need formatting).
 */
int policy_parse_dst(const char *s, size_t n, struct sg_policy_dst out[2], const char **why,
		     char *whybuf, size_t whylen);

#endif /* SG_POLICY_INTERNAL_H */
