/* phone-test-util.h: what the telephone tests share
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "onepin-test-gateway.h"

G_BEGIN_DECLS

/* Starts onepin-bank, whose SMS sink receives the gateway's SMS, and a
 * gateway configured to send them there at once. */
OtGateway  *pt_start               (void);
/* Stops both. */
void        pt_stop                (OtGateway   *gw);
/* A merchant of @category; returns its secret key. */
char       *pt_create_merchant     (OtGateway   *gw,
                                    const char  *name,
                                    const char  *category,
                                    char       **id);
/* The card number in the newest SMS to @to that carries one, as it arrived
 * at onepin-bank's SMS sink (waiting for it up to 20 s). */
char       *pt_sms_card_number     (OtGateway   *gw,
                                    const char  *to);
gint64      pt_count_sms           (OtGateway   *gw);
/* Starts an ARS session as @key's IVR; returns its id. */
char       *pt_ars_start           (OtGateway   *gw,
                                    const char  *key,
                                    const char  *from,
                                    const char  *locale);
/* Answers the session's current prompt with @digits; returns the session. */
JsonObject *pt_ars_press           (OtGateway   *gw,
                                    const char  *key,
                                    const char  *id,
                                    const char  *digits);
/* Asserts that @secret is neither in the gateway's log nor anywhere in its
 * data dir's files (the database and its WAL included). */
void        pt_assert_secret_absent (OtGateway  *gw,
                                    const char  *secret);
/* The current month in Seoul, "YYYY-MM". */
char       *pt_this_month          (void);

G_END_DECLS
