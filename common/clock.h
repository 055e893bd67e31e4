/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Timestamp text for records; struct sg_clock itself is declared in event.h. */
#ifndef SG_CLOCK_H
#define SG_CLOCK_H

#include <stdint.h>
#include <string.h>

#include "event.h"

/* "\"2026-11-22T21:50:01.123456789Z\"": quotes included. */
#define SG_CLOCK_TS_JSON_LEN 32

/* "YYYY-MM-DDTHH:MM:SS" (UTC) of a Unix time in seconds, NUL-terminated. */
void sg_clock_format_sec(char out[20], int64_t sec);
/*
 * The quoted RFC 3339 UTC timestamp, 9 fractional digits, of a
 * CLOCK_BOOTTIME instant. Unchecked: SG_CLOCK_TS_JSON_LEN bytes must be
 * reserved.
 */
void sg_clock_put_ts(struct sg_outbuf *b, struct sg_clock *c, uint64_t boot_ns);

#endif /* SG_CLOCK_H */
