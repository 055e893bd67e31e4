/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Socket addresses as event text: the "dst" object of an event (README, "Event fields") from the
 * raw sockaddr bytes of struct sg_event (addr, addr_len), and RFC 5952 text
 * for IPv6. Every function reads at most len bytes of its input.
 */
#ifndef SG_ADDR_H
#define SG_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* Buffer sizes for the text forms, NUL included. */
#define SG_INET_STRLEN	16 /* "255.255.255.255" */
#define SG_INET6_STRLEN 46 /* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" */

/* Worst-case bytes sg_addr_put_json writes for len input bytes. */
#define SG_ADDR_JSON_MAX(len) (96 + 6 * (size_t)(len))

/* Dotted quad of 4 bytes (network order) into buf; returns the length. */
size_t sg_inet_format(char *buf, const uint8_t a[4]);
/*
 * RFC 5952 text of 16 bytes into buf: lowercase, no leading zeros, the longest
 * run of two or more zero groups as "::" (the first on ties), and
 * "::ffff:a.b.c.d" for IPv4-mapped addresses. Returns the length.
 */
size_t sg_inet6_format(char *buf, const uint8_t a[16]);

/*
 * The dst object for a raw sockaddr of len bytes:
 *   {"family":"inet","addr":"1.2.3.4","port":53}
 *   {"family":"inet6","addr":"2001:db8::1","port":443,"scope_id":0}
 *   {"family":"unix","path":"/run/x.sock"} | {"family":"unix","abstract":"name"}
 *   {"family":"unix"} (unnamed)
 *   {"family":"netlink","pid":0,"groups":0}
 *   {"family":<name or number>} otherwise, and for addresses too short to
 *   hold their family's fields.
 * len < 2 (no family at all) gives null.
 * The unchecked form needs SG_ADDR_JSON_MAX(len) bytes reserved.
 */
void sg_addr_put_json(struct sg_outbuf *b, const void *addr, size_t len);
int sg_addr_to_json(struct sg_outbuf *b, const void *addr, size_t len);

/*
 * Parse an IPv4 ("10.0.0.1") or IPv6 ("2001:db8::1", "::ffff:1.2.3.4") literal
 * into 16 bytes; IPv4 is stored as its IPv4-mapped IPv6 address and *family is
 * AF_INET, else AF_INET6. No brackets, ports or zone ids. 0 or -EINVAL.
 */
int sg_addr_parse_ip(const char *s, int *family, uint8_t out[16]);

/*
 * A destination as text into the sockaddr bytes a caller of sendto() would
 * pass, at most size bytes into out, their number in *len (`sendguard policy
 * test --dst/--unix`, the unit tests). 0, or -EINVAL with *why saying what is
 * wrong.
 *   sg_sockaddr_parse_inet: "1.2.3.4", "1.2.3.4:PORT", "[V6]:PORT", "[V6]", "V6"
 *                           (port 0 when none)
 *   sg_sockaddr_parse_unix: "/path" (a path, NUL-terminated), "@name" (an
 *                           abstract name: NUL, then the name; the length ends it)
 */
int sg_sockaddr_parse_inet(const char *arg, uint8_t *out, size_t size, uint16_t *len,
			   const char **why);
int sg_sockaddr_parse_unix(const char *arg, uint8_t *out, size_t size, uint16_t *len,
			   const char **why);

#endif /* SG_ADDR_H */
