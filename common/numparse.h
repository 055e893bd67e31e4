/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Strict number parsing for command lines, shared by sendguardd and sendguard. */
#ifndef SG_NUMPARSE_H
#define SG_NUMPARSE_H

#include <stdint.h>

/*
 * Parse a decimal unsigned integer in [min, max]. With allow_suffix, a K/M/G
 * suffix multiplies by 1024^n. Returns 0, -EINVAL (not a number, trailing
 * garbage) or -ERANGE (outside [min, max]).
 */
int sg_parse_u64(const char *s, uint64_t min, uint64_t max, int allow_suffix, uint64_t *out);

#endif
