// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <syslog.h>

#include "log.h"

int log_verbosity = LOG_LVL_INFO;
static int use_syslog;

void log_to_syslog(void)
{
	openlog("sendguardd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_syslog = 1;
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };

	if ((int)lvl > log_verbosity)
		return;
	if (use_syslog) {
		vsyslog(prio[lvl], fmt, ap);
		return;
	}
	fprintf(stderr, "sendguardd: %s", tag[lvl]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}
