/* onepin-process.h: what a process that holds a user's secrets forbids
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ONEPIN_PROCESS_ERROR (onepin_process_error_quark ())

typedef enum
{
  ONEPIN_PROCESS_ERROR_FAILED,
} OnepinProcessError;

GQuark   onepin_process_error_quark     (void);

/* No core dump of this process, and no other process of the user may read
 * its memory (ptrace, /proc/PID/mem): while the wallet is unlocked, its
 * memory holds what opens the whole vault without the master password.
 * Call first thing in main(), before any secret is in memory. */
gboolean onepin_process_forbid_dumps    (GError **error);

G_END_DECLS
