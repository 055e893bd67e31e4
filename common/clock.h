/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Boot-time to wall-clock conversion, and timestamp text for records. */
#ifndef SG_CLOCK_H
#define SG_CLOCK_H

#include <stdint.h>
#include <string.h>

#include "outbuf.h"

/*
 * Boot-time to wall-clock conversion. Event timestamps come from
 * bpf_ktime_get_boot_ns(); the offset to CLOCK_REALTIME is taken once at
 * init (and may be refreshed with sg_clock_sync). The formatted
 * "YYYY-MM-DDTHH:MM:SS" part is cached per second.
 */
struct sg_clock {
	int64_t boot_to_real_ns;
	int64_t cached_sec;
	char cached[24];
};

void sg_clock_init(struct sg_clock *c);
void sg_clock_sync(struct sg_clock *c);
/* Current CLOCK_BOOTTIME in ns, for records not tied to an event. */
uint64_t sg_clock_boot_now(void);
/* CLOCK_MONOTONIC in ms, for timers and deadlines. */
uint64_t sg_clock_mono_ms(void);

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
