/* onepin-card.h: 16-digit card numbers: Luhn, generation, masking
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ONEPIN_CARD_ERROR (onepin_card_error_quark ())
#define ONEPIN_CARD_NUMBER_LEN 16

typedef enum
{
  ONEPIN_CARD_ERROR_INVALID_PREFIX,
  ONEPIN_CARD_ERROR_RANDOM,
} OnepinCardError;

GQuark    onepin_card_error_quark         (void);

/* TRUE when @digits (any length >= 2, digits only) passes the Luhn check. */
gboolean  onepin_card_luhn_valid          (const char  *digits);
/* The Luhn check digit ('0'..'9') to append to @digits, or 0 if not all digits. */
char      onepin_card_luhn_check_digit    (const char  *digits);
/* Exactly 16 ASCII digits that pass Luhn. NULL-safe. */
gboolean  onepin_card_number_is_valid     (const char  *number);
/* A new random 16-digit Luhn-valid number starting with @prefix (0 to 15 digits),
 * drawn from NSS's CSPRNG without modulo bias. onepin_crypto_init() must have run. */
char     *onepin_card_number_generate     (const char  *prefix,
                                           GError     **error);
/* "1234 5678 9012 3456" */
char     *onepin_card_number_format       (const char  *number);
/* "•••• •••• •••• 3456" */
char     *onepin_card_number_mask         (const char  *number);
/* Copies the last four digits into @out (NUL-terminated). */
void      onepin_card_number_last4        (const char  *number,
                                           char         out[5]);

G_END_DECLS
