// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The list of problems (errlist.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errlist.h"

int sg_errlist_add(struct sg_errlist *l, const char *fmt, ...)
{
	va_list ap;
	char *line;
	int n;

	if (!l)
		return 0;
	if (l->oom)
		return -ENOMEM;
	if (l->n >= SG_ERRLIST_MAX) {
		l->dropped++;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **items = realloc(l->items, cap * sizeof(*items));

		if (!items) {
			l->oom = true;
			return -ENOMEM;
		}
		l->items = items;
		l->cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0) {
		l->oom = true;
		return -ENOMEM;
	}
	l->items[l->n++] = line;
	return 0;
}

size_t sg_errlist_count(const struct sg_errlist *l)
{
	return l ? l->n : 0;
}

const char *sg_errlist_get(const struct sg_errlist *l, size_t i)
{
	return l && i < l->n ? l->items[i] : NULL;
}

void sg_errlist_free(struct sg_errlist *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}
