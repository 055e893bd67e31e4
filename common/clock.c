// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Boot-time to wall-clock timestamps: see clock.h. */
#include <stdint.h>
#include <time.h>

#include "clock.h"

#define NSEC_PER_SEC 1000000000LL

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts))
		return 0;
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

uint64_t sg_clock_boot_now(void)
{
	return (uint64_t)clock_ns(CLOCK_BOOTTIME);
}

uint64_t sg_clock_mono_ms(void)
{
	return (uint64_t)clock_ns(CLOCK_MONOTONIC) / 1000000;
}

void sg_clock_sync(struct sg_clock *c)
{
	int64_t best = INT64_MAX, off = 0;
	int i;

	/* the realtime read bracketed by the tightest pair of boottime reads */
	for (i = 0; i < 3; i++) {
		int64_t b1 = clock_ns(CLOCK_BOOTTIME);
		int64_t r = clock_ns(CLOCK_REALTIME);
		int64_t b2 = clock_ns(CLOCK_BOOTTIME);

		if (b2 - b1 < best) {
			best = b2 - b1;
			off = r - (b1 + (b2 - b1) / 2);
		}
	}
	c->boot_to_real_ns = off;
	c->cached_sec = INT64_MIN;
}

void sg_clock_init(struct sg_clock *c)
{
	c->cached[0] = '\0';
	sg_clock_sync(c);
}

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned int *m, unsigned int *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static void put2(char *o, unsigned int v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
}

void sg_clock_format_sec(char out[20], int64_t sec)
{
	int64_t days = sec / 86400, rem = sec % 86400, y;
	unsigned int m, d, yy;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	/* years outside 0..9999 cannot come from a boot clock; clamp the text */
	yy = y < 0 ? 0 : y > 9999 ? 9999 : (unsigned int)y;
	put2(out, yy / 100);
	put2(out + 2, yy % 100);
	out[4] = '-';
	put2(out + 5, m);
	out[7] = '-';
	put2(out + 8, d);
	out[10] = 'T';
	put2(out + 11, (unsigned int)(rem / 3600));
	out[13] = ':';
	put2(out + 14, (unsigned int)(rem / 60 % 60));
	out[16] = ':';
	put2(out + 17, (unsigned int)(rem % 60));
	out[19] = '\0';
}

void sg_clock_put_ts(struct sg_outbuf *b, struct sg_clock *c, uint64_t boot_ns)
{
	int64_t real = (int64_t)boot_ns + c->boot_to_real_ns, sec, nsec;
	char *o;
	int i;

	if (real < 0)
		real = 0;
	sec = real / NSEC_PER_SEC;
	nsec = real % NSEC_PER_SEC;
	if (sec != c->cached_sec) {
		sg_clock_format_sec(c->cached, sec);
		c->cached_sec = sec;
	}
	o = b->data + b->len;
	o[0] = '"';
	memcpy(o + 1, c->cached, 19);
	o[20] = '.';
	for (i = 29; i >= 21; i--) {
		o[i] = (char)('0' + nsec % 10);
		nsec /= 10;
	}
	o[30] = 'Z';
	o[31] = '"';
	b->len += SG_CLOCK_TS_JSON_LEN;
}
