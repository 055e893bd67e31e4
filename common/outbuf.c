// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The growable output buffer: see outbuf.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "outbuf.h"

int sg_outbuf_init(struct sg_outbuf *b, size_t cap)
{
	b->len = 0;
	b->cap = 0;
	b->err = 0;
	b->first = false;
	b->data = NULL;
	if (cap == 0)
		cap = 4096;
	b->data = malloc(cap);
	if (!b->data)
		return -ENOMEM;
	b->cap = cap;
	return 0;
}

void sg_outbuf_free(struct sg_outbuf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->err = 0;
}

int sg_outbuf_grow(struct sg_outbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->err)
		return b->err;
	if (n > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	while (cap - b->len < n)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}
