/* ow-application-private.h: onepin Wallet, the application's seam for tests
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "ow-application.h"

G_BEGIN_DECLS

/* Microseconds on a clock that goes on while the machine sleeps. */
typedef gint64 (*OwClockFunc) (void);

/* The clock the idle lock reads: CLOCK_BOOTTIME, or (in tests) one that
 * plays a suspend; NULL goes back to CLOCK_BOOTTIME. The countdown starts
 * over from now. */
void ow_application_set_clock (OwApplication *self,
                               OwClockFunc    clock);

G_END_DECLS
