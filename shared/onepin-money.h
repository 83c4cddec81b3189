/* onepin-money.h: amounts as int64 minor units plus an ISO 4217 currency
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ONEPIN_MONEY_ERROR (onepin_money_error_quark ())

typedef enum
{
  ONEPIN_MONEY_ERROR_OVERFLOW,
  ONEPIN_MONEY_ERROR_INVALID_CURRENCY,
  ONEPIN_MONEY_ERROR_CURRENCY_MISMATCH,
} OnepinMoneyError;

/* A currency code is three lowercase ASCII letters plus the NUL. */
typedef struct
{
  gint64 amount;      /* minor units: 5000 krw is 5,000 won; 1234 usd is $12.34 */
  char   currency[4];
} OnepinMoney;

GQuark      onepin_money_error_quark   (void);

gboolean    onepin_currency_is_known   (const char *code);
int         onepin_currency_exponent   (const char *code);

gboolean    onepin_money_init          (OnepinMoney       *money,
                                        gint64             amount,
                                        const char        *currency,
                                        GError           **error);
gboolean    onepin_money_add           (const OnepinMoney *a,
                                        const OnepinMoney *b,
                                        OnepinMoney       *out,
                                        GError           **error);
gboolean    onepin_money_sub           (const OnepinMoney *a,
                                        const OnepinMoney *b,
                                        OnepinMoney       *out,
                                        GError           **error);
gboolean    onepin_money_equal         (const OnepinMoney *a,
                                        const OnepinMoney *b);
char       *onepin_money_format        (const OnepinMoney *money);

/* Overflow-checked int64 arithmetic; FALSE (and *out untouched) on overflow. */
gboolean    onepin_int64_add_checked   (gint64             a,
                                        gint64             b,
                                        gint64            *out);
gboolean    onepin_int64_sub_checked   (gint64             a,
                                        gint64             b,
                                        gint64            *out);
gboolean    onepin_int64_mul_checked   (gint64             a,
                                        gint64             b,
                                        gint64            *out);

G_END_DECLS
