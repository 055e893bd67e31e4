// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Socket address formatting: see addr.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "addr.h"
#include "json.h"
#include "names.h"
#include "numparse.h"

static const char hexdig[16] = "0123456789abcdef";

static char *put_dec8(char *o, unsigned int v)
{
	if (v >= 100) {
		*o++ = (char)('0' + v / 100);
		v %= 100;
		*o++ = (char)('0' + v / 10);
	} else if (v >= 10) {
		*o++ = (char)('0' + v / 10);
	}
	*o++ = (char)('0' + v % 10);
	return o;
}

static char *put_quad(char *o, const uint8_t a[4])
{
	int i;

	for (i = 0; i < 4; i++) {
		if (i)
			*o++ = '.';
		o = put_dec8(o, a[i]);
	}
	return o;
}

size_t sg_inet_format(char *buf, const uint8_t a[4])
{
	char *o = put_quad(buf, a);

	*o = '\0';
	return (size_t)(o - buf);
}

static char *put_hex16(char *o, unsigned int w)
{
	int shift = 12;

	while (shift > 0 && !((w >> shift) & 0xf))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*o++ = hexdig[(w >> shift) & 0xf];
	return o;
}

size_t sg_inet6_format(char *buf, const uint8_t a[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned int w[8];
	int i, best = -1, best_len = 0, cur = -1, cur_len = 0;
	char *o = buf;

	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		memcpy(o, "::ffff:", 7);
		o = put_quad(o + 7, a + 12);
		*o = '\0';
		return (size_t)(o - buf);
	}
	for (i = 0; i < 8; i++)
		w[i] = (unsigned int)a[2 * i] << 8 | a[2 * i + 1];
	/* longest run of zero groups; strictly longer wins, so the first on ties */
	for (i = 0; i < 8; i++) {
		if (w[i] == 0) {
			if (cur < 0) {
				cur = i;
				cur_len = 0;
			}
			cur_len++;
			if (cur_len > best_len) {
				best = cur;
				best_len = cur_len;
			}
		} else {
			cur = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (i == best) {
			*o++ = ':';
			*o++ = ':';
			i += best_len - 1;
			continue;
		}
		if (i && i != best + best_len)
			*o++ = ':';
		o = put_hex16(o, w[i]);
	}
	*o = '\0';
	return (size_t)(o - buf);
}

static inline unsigned int get_be16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static inline uint32_t get_ne32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* {"family":<name or number> with no closing brace */
static void put_family(struct sg_outbuf *b, unsigned int family)
{
	const char *name = sg_family_name(family);

	sg_json_put_obj_key(b, "family");
	if (name)
		sg_json_put_name(b, name);
	else
		sg_json_put_u64(b, family);
}

/* ,"addr":"TEXT","port":N (the address text needs no escaping) */
static void put_addr_port(struct sg_outbuf *b, const char *text, size_t n, unsigned int port)
{
	sg_json_put_lit(b, SG_JSON_KEY("addr") "\"");
	sg_json_put_raw(b, text, n);
	sg_json_put_lit(b, "\"" SG_JSON_KEY("port"));
	sg_json_put_u64(b, port);
}

void sg_addr_put_json(struct sg_outbuf *b, const void *addr, size_t len)
{
	const uint8_t *p = addr;
	sa_family_t family;
	char text[SG_INET6_STRLEN];

	if (len < sizeof(family)) {
		sg_json_put_lit(b, "null");
		return;
	}
	memcpy(&family, p, sizeof(family));
	put_family(b, family);

	switch (family) {
	case AF_INET:
		/* sockaddr_in: family, port (be16) at 2, address at 4 */
		if (len < 8)
			break;
		put_addr_port(b, text, sg_inet_format(text, p + 4), get_be16(p + 2));
		break;
	case AF_INET6:
		/*
		 * sockaddr_in6: port at 2, flowinfo at 4, address at 8, scope_id
		 * at 24; the kernel takes 24 bytes (RFC 2133 size) as scope 0.
		 */
		if (len < 24)
			break;
		put_addr_port(b, text, sg_inet6_format(text, p + 8), get_be16(p + 2));
		sg_json_put_key_u64(b, "scope_id", len >= 28 ? get_ne32(p + 24) : 0);
		break;
	case AF_UNIX: {
		/* sockaddr_un: sun_path at 2, not necessarily NUL-terminated */
		const uint8_t *path = p + 2, *nul;
		size_t n = len - 2;

		if (n == 0)
			break; /* unnamed */
		if (path[0] == '\0') {
			sg_json_put_key(b, "abstract");
			sg_json_put_str(b, path + 1, n - 1);
			break;
		}
		nul = memchr(path, '\0', n);
		if (nul)
			n = (size_t)(nul - path);
		sg_json_put_key(b, "path");
		sg_json_put_str(b, path, n);
		break;
	}
	case AF_NETLINK:
		/* sockaddr_nl: family, pad, pid (u32) at 4, groups (u32) at 8 */
		if (len < 12)
			break;
		sg_json_put_key_u64(b, "pid", get_ne32(p + 4));
		sg_json_put_key_u64(b, "groups", get_ne32(p + 8));
		break;
	default:
		break;
	}
	sg_json_put_char(b, '}');
}

int sg_addr_to_json(struct sg_outbuf *b, const void *addr, size_t len)
{
	int err;

	if (len > SG_ADDR_MAX * 1024)
		return -EINVAL;
	err = sg_outbuf_reserve(b, SG_ADDR_JSON_MAX(len));
	if (err)
		return err;
	sg_addr_put_json(b, addr, len);
	return 0;
}

int sg_addr_parse_ip(const char *s, int *family, uint8_t out[16])
{
	uint8_t v4[4];

	if (!s)
		return -EINVAL;
	/* inet_pton is strict: dotted quad only, no octal, no shorthand */
	if (inet_pton(AF_INET, s, v4) == 1) {
		memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, v4, 4);
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int sg_sockaddr_parse_inet(const char *arg, uint8_t *out, size_t size, uint16_t *len,
			   const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *h = arg, *colon = strchr(arg, ':');
	size_t hn = strlen(arg);
	uint64_t pv = 0;
	bool v6 = false;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close) {
			*why = "missing ']'";
			return -EINVAL;
		}
		h = arg + 1;
		hn = (size_t)(close - h);
		v6 = true;
		if (close[1] == ':') {
			port = close + 2;
		} else if (close[1]) {
			*why = "expected ':' and a port after ']'";
			return -EINVAL;
		}
	} else if (colon && strchr(colon + 1, ':')) {
		v6 = true; /* two or more colons: a bare IPv6 address, no port */
	} else if (colon) {
		hn = (size_t)(colon - arg);
		port = colon + 1;
	}
	if (hn >= sizeof(host)) {
		*why = "invalid address";
		return -EINVAL;
	}
	memcpy(host, h, hn);
	host[hn] = 0;
	if (port && sg_parse_u64(port, 0, 65535, 0, &pv)) {
		*why = "port must be 0-65535";
		return -EINVAL;
	}
	if (v6) {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(pv) };

		if (inet_pton(AF_INET6, host, &sin6.sin6_addr) != 1) {
			*why = "invalid IPv6 address";
			return -EINVAL;
		}
		if (size < sizeof(sin6)) {
			*why = "no room for it";
			return -EINVAL;
		}
		memcpy(out, &sin6, sizeof(sin6));
		*len = sizeof(sin6);
	} else {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(pv) };

		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
			*why = "invalid IPv4 address";
			return -EINVAL;
		}
		if (size < sizeof(sin)) {
			*why = "no room for it";
			return -EINVAL;
		}
		memcpy(out, &sin, sizeof(sin));
		*len = sizeof(sin);
	}
	return 0;
}

int sg_sockaddr_parse_unix(const char *arg, uint8_t *out, size_t size, uint16_t *len,
			   const char **why)
{
	size_t n = strlen(arg);
	sa_family_t fam = AF_UNIX;

	if (arg[0] != '/' && arg[0] != '@') {
		*why = "expected an absolute path or @name";
		return -EINVAL;
	}
	if (n > sizeof(((struct sockaddr_un *)0)->sun_path) - 1 || (arg[0] == '@' && n < 2)) {
		*why = arg[0] == '@' && n < 2 ? "empty abstract name" : "longer than 107 bytes";
		return -EINVAL;
	}
	if (size < sizeof(struct sockaddr_un)) {
		*why = "no room for it";
		return -EINVAL;
	}
	memset(out, 0, sizeof(struct sockaddr_un));
	memcpy(out, &fam, sizeof(fam));
	if (arg[0] == '@') {
		memcpy(out + 3, arg + 1, n - 1);
		*len = (uint16_t)(3 + n - 1);
	} else {
		memcpy(out + 2, arg, n);
		*len = (uint16_t)(2 + n + 1);
	}
	return 0;
}
