// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one step that depends on the machine: exe paths of a parsed policy to
 * (device, inode), by stat(). Apart from parsing, so that an offline check
 * does not depend on the files of the machine it runs on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "jscan.h"
#include "policy_internal.h"

int sg_policy_resolve(struct sg_policy *p, struct sg_errlist *errs)
{
	struct policy_ctx c = { .errs = errs, .source = "<policy>" };
	char path[SG_JSCAN_PATH_MAX], shown[SG_JSCAN_SHOW_BUF];
	uint32_t i, j;
	int ret = 0;

	for (i = 0; i < p->nrules; i++) {
		struct sg_policy_rule *r = &p->rules[i];

		for (j = 0; j < r->nexes; j++) {
			struct sg_policy_exe *e = &r->exes[j];
			struct stat st;

			if (stat(e->path, &st) < 0) {
				e->resolved = -errno;
				snprintf(path, sizeof(path), "rules[%u].match.exe[%u]", i, j);
				policy_err(&c, path, "%s: cannot stat: %s",
					   sg_jscan_show(shown, e->path, strlen(e->path)),
					   strerror(errno));
				ret = -ENOENT;
				continue;
			}
			/* the kernel's dev_t encoding, as bpf sees inode->i_sb->s_dev */
			e->dev = (uint64_t)major(st.st_dev) << 20 | minor(st.st_dev);
			e->ino = st.st_ino;
			e->resolved = 1;
		}
	}
	if (c.oom || (errs && errs->oom))
		return -ENOMEM;
	return ret;
}
