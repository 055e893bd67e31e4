// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The values of a policy written as strings, parsed without json-c: rule and
 * policy names, port ranges and destinations (CIDRs with ports).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "policy_internal.h"

/* --- names and numbers ---------------------------------------------------- */

bool policy_valid_name(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > SG_POLICY_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* Strict decimal: digits only, at least one. -EINVAL, or -ERANGE above max. */
static int parse_dec(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!n)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > max)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

/*
 * "53" or "1000-2000" -> [lo, hi]. Returns NULL or the reason.
 */
const char *policy_parse_port_range(const char *s, size_t n, uint16_t *lo, uint16_t *hi)
{
	const char *dash = memchr(s, '-', n);
	uint64_t a, b;
	int r;

	if (!dash) {
		r = parse_dec(s, n, 65535, &a);
		if (r)
			return r == -ERANGE ? "port out of range 0-65535" : "invalid port";
		*lo = *hi = (uint16_t)a;
		return NULL;
	}
	r = parse_dec(s, (size_t)(dash - s), 65535, &a);
	if (!r)
		r = parse_dec(dash + 1, n - (size_t)(dash - s) - 1, 65535, &b);
	if (r)
		return r == -ERANGE ? "port out of range 0-65535" : "invalid port range";
	if (a > b)
		return "range start after end";
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return NULL;
}

/* --- destinations --------------------------------------------------------- */

static bool host_bits_clear(const uint8_t *a, unsigned int nbytes, unsigned int plen)
{
	unsigned int i;

	for (i = 0; i < nbytes; i++) {
		unsigned int bit0 = i * 8;
		uint8_t keep;

		if (bit0 + 8 <= plen)
			continue;
		keep = bit0 >= plen ? 0 : (uint8_t)(0xff << (8 - (plen - bit0)));
		if (a[i] & ~keep)
			return false;
	}
	return true;
}

/*
 * "host[/len]" where host is IPv4 or IPv6 (want: 0 either, 4 or 6 only).
 * Fills e (family, prefix, addr) and returns NULL, or the reason.
 */
static const char *parse_cidr(const char *s, size_t n, int want, struct sg_policy_dst *e, char *why,
			      size_t whylen)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *slash = memchr(s, '/', n);
	size_t hn = slash ? (size_t)(slash - s) : n;
	bool v6 = memchr(s, ':', hn) != NULL;
	unsigned int max = v6 ? 128 : 32;
	uint64_t plen = max;
	uint8_t a[16] = { 0 };

	if (want == 4 && v6)
		return "expected an IPv4 address";
	if (want == 6 && !v6)
		return "expected an IPv6 address in brackets";
	if (hn == 0 || hn >= sizeof(host))
		return v6 ? "invalid IPv6 address" : "invalid IPv4 address";
	memcpy(host, s, hn);
	host[hn] = 0;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, a) != 1)
		return v6 ? "invalid IPv6 address" : "invalid IPv4 address";
	if (slash) {
		int r = parse_dec(slash + 1, n - hn - 1, 1000, &plen);

		if (r == -EINVAL)
			return "invalid prefix length";
		if (r || plen > max)
			return v6 ? "prefix length must be 0-128" : "prefix length must be 0-32";
	}
	if (!host_bits_clear(a, v6 ? 16 : 4, (unsigned int)plen)) {
		snprintf(why, whylen, "address has bits set beyond the /%u prefix",
			 (unsigned int)plen);
		return why;
	}
	memset(e->addr, 0, sizeof(e->addr));
	/* ::ffff:a.b.c.d/96+n is the IPv4 a.b.c.d/n: mapped sends are judged as IPv4 */
	if (v6 && plen >= 96 && !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		e->family = AF_INET;
		e->prefix_len = (uint8_t)(plen - 96);
		memcpy(e->addr, a + 12, 4);
	} else {
		e->family = v6 ? AF_INET6 : AF_INET;
		e->prefix_len = (uint8_t)plen;
		memcpy(e->addr, a, v6 ? 16 : 4);
	}
	return NULL;
}

/*
 * One dst string -> 1 or 2 entries (out[0..1]); returns the count, or 0 with
 * *why set.
 *   CIDR4[:PORTS]   "10.0.0.0/8", "10.0.0.1:53", "10.0.0.0/8:1000-2000"
 *   CIDR6           "::/0", "2001:db8::1" (no port: two or more colons)
 *   [CIDR6][:PORTS] "[2001:db8::/32]:443", "[::1]"
 *   *[:PORTS]       "*", "*:53": any IPv4 and any IPv6 destination
 */
int policy_parse_dst(const char *s, size_t n, struct sg_policy_dst out[2], const char **why,
		     char *whybuf, size_t whylen)
{
	const char *host = s, *ports = NULL, *colon;
	size_t hn = n, pn = 0, ncolon = 0, i;
	uint16_t lo = 0, hi = 65535;
	int want = 0;

	if (memchr(s, 0, n)) {
		*why = "invalid destination";
		return 0;
	}
	for (i = 0; i < n; i++)
		ncolon += s[i] == ':';
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close) {
			*why = "missing ']'";
			return 0;
		}
		host = s + 1;
		hn = (size_t)(close - host);
		want = 6;
		if ((size_t)(close - s) + 1 < n) {
			if (close[1] != ':') {
				*why = "expected ':' and a port after ']'";
				return 0;
			}
			ports = close + 2;
			pn = n - (size_t)(ports - s);
		}
	} else if (ncolon == 1) {
		colon = memchr(s, ':', n);
		hn = (size_t)(colon - s);
		ports = colon + 1;
		pn = n - hn - 1;
		want = 4;
	}
	if (ports) {
		*why = policy_parse_port_range(ports, pn, &lo, &hi);
		if (*why)
			return 0;
	}
	if (hn == 1 && host[0] == '*' && want != 6) {
		memset(out, 0, 2 * sizeof(*out));
		out[0].family = AF_INET;
		out[1].family = AF_INET6;
		out[0].port_lo = out[1].port_lo = lo;
		out[0].port_hi = out[1].port_hi = hi;
		return 2;
	}
	*why = parse_cidr(host, hn, want, &out[0], whybuf, whylen);
	if (*why)
		return 0;
	out[0].port_lo = lo;
	out[0].port_hi = hi;
	return 1;
}
