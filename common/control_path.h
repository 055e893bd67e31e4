/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where sendguardd listens for control requests, and the CLI asks (docs/control.md). */
#ifndef SG_CONTROL_PATH_H
#define SG_CONTROL_PATH_H

#define SG_CONTROL_DEFAULT "/run/sendguard/control.sock"

#endif
