/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The release: the one version sendguardd -V and sendguard -V print. */
#ifndef SG_VERSION_H
#define SG_VERSION_H

#define SG_VERSION "0.1.0"

#endif
