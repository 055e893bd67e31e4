// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The strict JSON scanner (jscan.h): a recursive walk over the raw text that
 * follows RFC 8259 to the letter, reports the first syntax error by line and
 * column and every duplicate key by JSON path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "json.h"

const char *sg_jscan_show(char *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	out[o++] = '"';
	for (i = 0; i < n && i < SG_JSCAN_SHOW_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'u';
			out[o++] = '0';
			out[o++] = '0';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = 0;
	return out;
}

static void path_idx(char *out, const char *path, size_t i)
{
	if (snprintf(out, SG_JSCAN_PATH_MAX, "%s[%zu]", path, i) >= SG_JSCAN_PATH_MAX)
		out[SG_JSCAN_PATH_MAX - 1] = 0;
}

struct scan {
	const char *s;
	size_t n;
	size_t i;
	bool bad;
	bool oom;
	unsigned int flags;
	int max_depth;
	const char *source;
	struct sg_errlist *errs;
	unsigned int dups;
	sg_jscan_member_fn member;
	void *ctx;
};

struct key {
	char *s; /* decoded */
	size_t n;
	size_t pos; /* document order */
};

static void problem(struct scan *sc, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct scan *sc, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sg_errlist_add(sc->errs, "%s: %s", path[0] ? path : sc->source, msg))
		sc->oom = true;
}

static void scan_fail(struct scan *sc, const char *what)
{
	size_t line = 1, col = 1, k;

	if (sc->bad)
		return;
	sc->bad = true;
	for (k = 0; k < sc->i && k < sc->n; k++) {
		if (sc->s[k] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	problem(sc, "", "not JSON: %s at line %zu, column %zu", what, line, col);
}

static void scan_ws(struct scan *sc)
{
	while (sc->i < sc->n && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' ||
				 sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
		sc->i++;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A string at sc->i (on the opening quote). With out, the decoded bytes are
 * stored there (it needs as many bytes as the raw text) and *outn set.
 */
static void scan_string(struct scan *sc, char *out, size_t *outn)
{
	size_t o = 0;

	sc->i++;
	while (sc->i < sc->n) {
		unsigned char ch = (unsigned char)sc->s[sc->i];

		if (ch == '"') {
			sc->i++;
			if (outn)
				*outn = o;
			return;
		}
		if (ch < 0x20) {
			scan_fail(sc, "control character in string");
			return;
		}
		if (ch >= 0x80 && (sc->flags & SG_JSCAN_UTF8)) {
			size_t k = sg_utf8_seq((const unsigned char *)sc->s + sc->i, sc->n - sc->i);

			if (!k) {
				scan_fail(sc, "invalid UTF-8 in string");
				return;
			}
			if (out)
				memcpy(out + o, sc->s + sc->i, k);
			o += out ? k : 0;
			sc->i += k;
			continue;
		}
		if (ch != '\\') {
			if (out)
				out[o++] = (char)ch;
			sc->i++;
			continue;
		}
		if (sc->i + 1 >= sc->n)
			break;
		ch = (unsigned char)sc->s[sc->i + 1];
		sc->i += 2;
		if (ch == 'u') {
			uint32_t cp = 0;
			int k;

			for (k = 0; k < 4; k++) {
				int h = sc->i < sc->n ? hexval(sc->s[sc->i]) : -1;

				if (h < 0) {
					scan_fail(sc, "bad \\u escape");
					return;
				}
				cp = cp << 4 | (uint32_t)h;
				sc->i++;
			}
			/* a surrogate pair makes one code point; a lone one stays as is */
			if (cp >= 0xd800 && cp < 0xdc00 && sc->i + 6 <= sc->n &&
			    sc->s[sc->i] == '\\' && sc->s[sc->i + 1] == 'u') {
				uint32_t lo = 0;

				for (k = 0; k < 4; k++) {
					int h = hexval(sc->s[sc->i + 2 + k]);

					if (h < 0)
						break;
					lo = lo << 4 | (uint32_t)h;
				}
				if (k == 4 && lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					sc->i += 6;
				}
			}
			if (cp == 0 && (sc->flags & SG_JSCAN_NO_NUL)) {
				scan_fail(sc, "NUL (\\u0000) in string");
				return;
			}
			if (cp >= 0xd800 && cp < 0xe000 && (sc->flags & SG_JSCAN_UTF8)) {
				scan_fail(sc, "lone UTF-16 surrogate in string");
				return;
			}
			if (out)
				o += put_utf8(out + o, cp);
			continue;
		}
		if (!strchr("\"\\/bfnrt", ch) || ch == 0) {
			scan_fail(sc, "bad escape in string");
			return;
		}
		if (out) {
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";

			out[o++] = to[strchr(from, ch) - from];
		}
	}
	scan_fail(sc, "unterminated string");
}

static void scan_number(struct scan *sc)
{
	size_t d;

	if (sc->s[sc->i] == '-')
		sc->i++;
	if (sc->i < sc->n && sc->s[sc->i] == '0') {
		sc->i++;
	} else {
		for (d = 0; sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9'; d++)
			sc->i++;
		if (!d) {
			scan_fail(sc, "bad number");
			return;
		}
	}
	if (sc->i < sc->n && sc->s[sc->i] == '.') {
		sc->i++;
		for (d = 0; sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9'; d++)
			sc->i++;
		if (!d) {
			scan_fail(sc, "bad number");
			return;
		}
	}
	if (sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
		sc->i++;
		if (sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
			sc->i++;
		for (d = 0; sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9'; d++)
			sc->i++;
		if (!d) {
			scan_fail(sc, "bad number");
			return;
		}
	}
}

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int r = memcmp(x->s, y->s, n);

	if (r)
		return r;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static bool simple_key(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* path of member key k of the object at path: .key or ["odd key"] */
static void path_member(char *out, const char *path, const char *k, size_t n)
{
	char shown[SG_JSCAN_SHOW_BUF];

	if (simple_key(k, n))
		n = (size_t)snprintf(out, SG_JSCAN_PATH_MAX, "%s%s%.*s", path, path[0] ? "." : "",
				     (int)n, k);
	else
		n = (size_t)snprintf(out, SG_JSCAN_PATH_MAX, "%s[%s]", path,
				     sg_jscan_show(shown, k, n));
	if (n >= SG_JSCAN_PATH_MAX)
		out[SG_JSCAN_PATH_MAX - 1] = 0;
}

static void scan_value(struct scan *sc, const char *path, int depth);

static void scan_object(struct scan *sc, const char *path, int depth)
{
	struct key *keys = NULL;
	size_t nkeys = 0, cap = 0, k;
	char sub[SG_JSCAN_PATH_MAX];

	sc->i++; /* { */
	scan_ws(sc);
	if (sc->i < sc->n && sc->s[sc->i] == '}') {
		sc->i++;
		return;
	}
	while (!sc->bad) {
		size_t start, vstart;
		char *dec;

		scan_ws(sc);
		if (sc->i >= sc->n || sc->s[sc->i] != '"') {
			scan_fail(sc, "expected a double-quoted key");
			break;
		}
		/* the decoded key is never longer than its raw text */
		for (start = sc->i + 1; start < sc->n && sc->s[start] != '"'; start++)
			start += sc->s[start] == '\\';
		dec = malloc(start - sc->i + 1);
		if (!dec) {
			sc->oom = true;
			sc->bad = true;
			break;
		}
		if (nkeys == cap) {
			struct key *nk;

			cap = cap ? cap * 2 : 8;
			nk = realloc(keys, cap * sizeof(*keys));
			if (!nk) {
				free(dec);
				sc->oom = true;
				sc->bad = true;
				break;
			}
			keys = nk;
		}
		keys[nkeys].s = dec;
		keys[nkeys].pos = nkeys;
		scan_string(sc, dec, &keys[nkeys].n);
		nkeys++;
		if (sc->bad)
			break;
		scan_ws(sc);
		if (sc->i >= sc->n || sc->s[sc->i] != ':') {
			scan_fail(sc, "expected ':'");
			break;
		}
		sc->i++;
		path_member(sub, path, keys[nkeys - 1].s, keys[nkeys - 1].n);
		scan_ws(sc);
		vstart = sc->i;
		scan_value(sc, sub, depth + 1);
		if (!depth && sc->member && !sc->bad)
			sc->member(sc->ctx, keys[nkeys - 1].s, keys[nkeys - 1].n, vstart, sc->i);
		scan_ws(sc);
		if (sc->i < sc->n && sc->s[sc->i] == ',') {
			sc->i++;
			continue;
		}
		if (sc->i < sc->n && sc->s[sc->i] == '}') {
			sc->i++;
			break;
		}
		scan_fail(sc, "expected ',' or '}'");
	}
	if (!sc->bad && nkeys > 1) {
		/* sorted by (key, position): a duplicate follows its first occurrence */
		qsort(keys, nkeys, sizeof(*keys), key_cmp);
		for (k = 1; k < nkeys; k++) {
			char shown[SG_JSCAN_SHOW_BUF];

			if (keys[k].n == keys[k - 1].n &&
			    memcmp(keys[k].s, keys[k - 1].s, keys[k].n) == 0 &&
			    (k < 2 || keys[k - 2].n != keys[k].n ||
			     memcmp(keys[k].s, keys[k - 2].s, keys[k].n) != 0)) {
				sc->dups++;
				problem(sc, path, "duplicate key %s",
					sg_jscan_show(shown, keys[k].s, keys[k].n));
			}
		}
	}
	for (k = 0; k < nkeys; k++)
		free(keys[k].s);
	free(keys);
}

static void scan_value(struct scan *sc, const char *path, int depth)
{
	char sub[SG_JSCAN_PATH_MAX];
	size_t idx = 0;

	scan_ws(sc);
	if (sc->i >= sc->n) {
		scan_fail(sc, "unexpected end of input");
		return;
	}
	if (depth >= sc->max_depth) {
		scan_fail(sc, "nesting too deep");
		return;
	}
	switch (sc->s[sc->i]) {
	case '{': {
		scan_object(sc, path, depth);
		return;
	}
	case '[':
		sc->i++;
		scan_ws(sc);
		if (sc->i < sc->n && sc->s[sc->i] == ']') {
			sc->i++;
			return;
		}
		while (!sc->bad) {
			path_idx(sub, path, idx++);
			scan_value(sc, sub, depth + 1);
			scan_ws(sc);
			if (sc->i < sc->n && sc->s[sc->i] == ',') {
				sc->i++;
				continue;
			}
			if (sc->i < sc->n && sc->s[sc->i] == ']') {
				sc->i++;
				return;
			}
			scan_fail(sc, "expected ',' or ']'");
		}
		return;
	case '"': {
		scan_string(sc, NULL, NULL);
		return;
	}
	case 't':
		if (sc->n - sc->i >= 4 && !memcmp(sc->s + sc->i, "true", 4)) {
			sc->i += 4;
			return;
		}
		break;
	case 'f':
		if (sc->n - sc->i >= 5 && !memcmp(sc->s + sc->i, "false", 5)) {
			sc->i += 5;
			return;
		}
		break;
	case 'n':
		if (sc->n - sc->i >= 4 && !memcmp(sc->s + sc->i, "null", 4)) {
			sc->i += 4;
			return;
		}
		break;
	case '\'': {
		scan_fail(sc, "single-quoted string");
		return;
	}
	default:
		if (sc->s[sc->i] == '-' || (sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')) {
			scan_number(sc);
			return;
		}
		break;
	}
	if (sc->s[sc->i] > 0x20 && sc->s[sc->i] < 0x7f) {
		char what[32];

		snprintf(what, sizeof(what), "unexpected character '%c'", sc->s[sc->i]);
		scan_fail(sc, what);
	} else {
		scan_fail(sc, sc->s[sc->i] ? "unexpected character" : "NUL byte");
	}
}

int sg_jscan(const char *s, size_t n, unsigned int flags, int max_depth, const char *source,
	     struct sg_errlist *errs, unsigned int *dups, sg_jscan_member_fn member, void *ctx)
{
	struct scan sc = { .s = s,
			   .n = n,
			   .flags = flags,
			   .max_depth = max_depth,
			   .source = source ? source : "<json>",
			   .errs = errs,
			   .member = member,
			   .ctx = ctx };

	scan_value(&sc, "", 0);
	if (!sc.bad) {
		scan_ws(&sc);
		if (sc.i < n)
			scan_fail(&sc, sc.s[sc.i] ? "trailing garbage after the JSON value"
						  : "NUL byte");
	}
	if (dups)
		*dups = sc.dups;
	if (sc.oom || (errs && errs->oom))
		return -ENOMEM;
	return sc.bad ? -EINVAL : 0;
}
