/* gw-wallet.h: the e-wallet's rules
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Accounts with slow-hashed passwords and lockout, sessions, the anonymous
 * representative card, funding sources and the crediting of charges. Like
 * the ledger, these know nothing of HTTP or SQL: the functions taking a
 * GwTxn run on the store's writer thread and reach the wallet's tables
 * through gw_txn_extension (txn, "wallet"); money moves only as balanced
 * journal entries, and every message goes out through gw_notify_enqueue ()
 * in the same transaction.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "gw-ledger.h"
#include "gw-wallet-store.h"

G_BEGIN_DECLS

#define GW_WALLET_ERROR (gw_wallet_error_quark ())

typedef enum
{
  GW_WALLET_ERROR_FAILED,
  GW_WALLET_ERROR_CORRUPT,          /* a sealed record does not open */
} GwWalletError;

#define GW_WALLET_MAX_FUNDING_SOURCES 10
#define GW_WALLET_CHARGE_UNIT 10000   /* won */

typedef struct
{
  const GwLedgerConfig *ledger;
  char    bin_low[11];              /* the representative cards' BIN range */
  char    bin_high[11];
  char    card_bin[16];             /* [cards] bin: onepin's own, never a funding card */
  gint64  session_lifetime;
  guint   pbkdf2_iterations;
} GwWalletConfig;

typedef enum
{
  GW_WALLET_OK,
  GW_WALLET_LOGIN_TAKEN,
  GW_WALLET_INVALID_LOGIN,
  GW_WALLET_LOGIN_LOCKED,
  GW_WALLET_PASSWORD_INCORRECT,
  GW_WALLET_NOT_FOUND,
  GW_WALLET_CARD_ALREADY_ISSUED,
  GW_WALLET_CARD_NOT_ISSUED,
  GW_WALLET_CARD_NOT_USABLE,
  GW_WALLET_FUNDING_EXISTS,
  GW_WALLET_FUNDING_LIMIT,
  GW_WALLET_BALANCE_LIMIT,
  GW_WALLET_CHARGE_IN_PROGRESS,
} GwWalletResult;

typedef struct
{
  char *name;
  char *email;
  char *phone;                      /* NULL when none */
} GwWalletProfile;

void      gw_wallet_profile_clear   (GwWalletProfile       *profile);

GQuark    gw_wallet_error_quark     (void);

/* Any thread. The profile is sealed with the user id as associated data. */
GBytes   *gw_wallet_profile_seal    (const GwLedgerConfig  *ledger,
                                     const char            *user_id,
                                     const GwWalletProfile *profile,
                                     GError               **error);
gboolean  gw_wallet_profile_open    (const GwLedgerConfig  *ledger,
                                     const char            *user_id,
                                     GBytes                *sealed,
                                     GwWalletProfile       *out,
                                     GError               **error);
/* PBKDF2-SHA256 of @password under a keyed MAC whose key is in the key
 * file. Slow on purpose: call it on a worker thread, never on the main
 * thread or the writer. */
gboolean  gw_wallet_hash_password   (const GwWalletConfig  *config,
                                     const char            *password,
                                     const guint8          *salt,
                                     guint                  iterations,
                                     guint8                 out[32],
                                     GError               **error);
/* The keyed MAC under which the representative card's CVC is kept; the
 * card network's issuer checks a presented CVC against it. */
void      gw_wallet_cvc_mac         (const GwLedgerConfig  *ledger,
                                     const char            *number,
                                     const char            *cvc,
                                     guint8                 out[32]);
/* The keyed hash (under GwKeys.lookup) that finds a funding card or
 * account again (duplicates): of the type and the number, and for a bank
 * account (@type "bank_account") of its bank code too. */
void      gw_wallet_funding_fingerprint (OnepinKey             *lookup_key,
                                     const char            *type,
                                     const char            *number,
                                     const char            *bank_code,
                                     guint8                 out[32]);
/* A funding source's details (JSON: number, holder, and expiry or
 * bank_code) sealed under @seal_key, with the source's and its user's ids
 * as associated data; and opened again. */
GBytes   *gw_wallet_funding_seal    (OnepinKey             *seal_key,
                                     const char            *id,
                                     const char            *user_id,
                                     const char            *json,
                                     gsize                  len,
                                     GError               **error);
/* Opened details: a JsonObject whose strings are wiped when it is freed
 * (gw_wallet_funding_details_free), so hold it in a
 * g_autoptr(GwFundingDetails). */
typedef JsonObject GwFundingDetails;
GwFundingDetails *gw_wallet_funding_open (OnepinKey             *seal_key,
                                          const char            *id,
                                          const char            *user_id,
                                          GBytes                *sealed,
                                          GError               **error);
void      gw_wallet_funding_details_free (GwFundingDetails     *details);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwFundingDetails, gw_wallet_funding_details_free)
/* The fingerprint of a source from its sealed details, for migrations that
 * change the fingerprint (022). */
gboolean  gw_wallet_funding_fingerprint_sealed (OnepinKey  *seal_key,
                                     OnepinKey             *lookup_key,
                                     const char            *id,
                                     const char            *user_id,
                                     const char            *type,
                                     GBytes                *sealed,
                                     guint8                 out[32],
                                     GError               **error);
/* TRUE when @number is one of onepin's own cards: the [cards] BIN or the
 * wallet's range. */
gboolean  gw_wallet_is_onepin_number (const GwWalletConfig *config,
                                     const char            *number);
/* The key password attempts are counted under: a keyed hash of the
 * lower-cased @login_id, whether or not an account has it. */
void      gw_wallet_login_hash      (const GwWalletConfig  *config,
                                     const char            *login_id,
                                     guint8                 out[32]);

/* Writer thread */
gboolean  gw_wallet_register        (GwTxn                 *txn,
                                     const GwWalletConfig  *config,
                                     const GwWalletUser    *user,
                                     GwWalletResult        *result,
                                     GError               **error);
/* Counts an attempt with a password before it is checked, so that parallel
 * guesses cannot pass the limit: sets @locked (and counts nothing) when
 * the login is locked, or when as many attempts as the limit are already
 * counted, which locks it. Known and unknown login IDs alike. */
gboolean  gw_wallet_attempt_begin   (GwTxn                 *txn,
                                     const GwWalletConfig  *config,
                                     const guint8           login_hash[32],
                                     gboolean              *locked,
                                     GError               **error);
/* Sets @locked when the login is locked now; counts nothing. */
gboolean  gw_wallet_login_locked    (GwTxn                 *txn,
                                     const GwWalletConfig  *config,
                                     const guint8           login_hash[32],
                                     gboolean              *locked,
                                     GError               **error);
/* The attempt's password was wrong: the fifth in a row locks the login. */
gboolean  gw_wallet_attempt_failed  (GwTxn                 *txn,
                                     const GwWalletConfig  *config,
                                     const guint8           login_hash[32],
                                     GError               **error);
/* Opens a session once the password was verified against @verified_hash
 * (off the writer); refuses if the login got locked or the password
 * changed in the meantime. */
gboolean  gw_wallet_open_session    (GwTxn                 *txn,
                                     const GwWalletConfig  *config,
                                     const char            *user_id,
                                     const guint8           verified_hash[32],
                                     const guint8           token_hash[32],
                                     GwWalletSession       *session,
                                     GwWalletResult        *result,
                                     GError               **error);
gboolean  gw_wallet_close_session   (GwTxn                 *txn,
                                     const char            *session_id,
                                     GError               **error);
/* Sets the new password hash, revokes every other session and removes the
 * card's calling numbers. */
gboolean  gw_wallet_change_password (GwTxn                 *txn,
                                     const GwWalletConfig  *config,
                                     const char            *user_id,
                                     const char            *session_id,
                                     const guint8           verified_hash[32],
                                     const guint8          *new_salt,
                                     const guint8           new_hash[32],
                                     GwWalletResult        *result,
                                     GError               **error);
/* The user's representative card in @card; GW_WALLET_CARD_NOT_ISSUED
 * before they applied for it. */
gboolean  gw_wallet_user_card       (GwTxn                 *txn,
                                     const char            *user_id,
                                     GwCard                *card,
                                     GwWalletResult        *result,
                                     GError               **error);
/* The same once the login's password (@verified_hash, checked off the
 * writer) is rechecked (GW_WALLET_PASSWORD_INCORRECT, _LOGIN_LOCKED), and
 * GW_WALLET_CARD_NOT_USABLE for a closed or expired card. */
gboolean  gw_wallet_verified_card   (GwTxn                 *txn,
                                     const GwWalletConfig  *config,
                                     const char            *user_id,
                                     const guint8           verified_hash[32],
                                     GwCard                *card,
                                     GwWalletResult        *result,
                                     GError               **error);
/* Gives the user's representative card @new_password (and no hint), once
 * the login's password (@verified_hash) is rechecked, and fills @card. */
gboolean  gw_wallet_change_card_password (GwTxn                *txn,
                                          const GwWalletConfig *config,
                                          const char           *user_id,
                                          const guint8          verified_hash[32],
                                          const char           *new_password,
                                          GwCard               *card,
                                          GwWalletResult       *result,
                                          GError              **error);
/* Issues the representative card into the user's wallet. @issued->number
 * and @cvc are the only copies in clear: show them once. */
gboolean  gw_wallet_issue_card      (GwTxn                 *txn,
                                     const GwWalletConfig  *config,
                                     const char            *user_id,
                                     const char            *password,
                                     GwIssuedCard          *issued,
                                     char                   cvc[4],
                                     GwCard                *card,
                                     GwWalletResult        *result,
                                     GError               **error);
gboolean  gw_wallet_add_funding     (GwTxn                 *txn,
                                     const GwWalletConfig  *config,
                                     const GwFundingSource *source,
                                     GwWalletResult        *result,
                                     GError               **error);
gboolean  gw_wallet_remove_funding  (GwTxn                 *txn,
                                     const char            *user_id,
                                     const char            *source_id,
                                     GwWalletResult        *result,
                                     GError               **error);
/* Whether @amount can still be credited to the user's card: the card is
 * issued, usable and stays within its cap. Nothing is written. */
gboolean  gw_wallet_check_charge    (GwTxn                 *txn,
                                     const GwWalletUser    *user,
                                     gint64                 amount,
                                     GwCard                *card,
                                     GwWalletResult        *result,
                                     GError               **error);
/* Credits an approved charge: one balanced entry (the issuer's funding
 * debited, the card credited) and the "recharge" message on the user's
 * receipt channel. A credit the card's cap refuses is GW_WALLET_BALANCE_LIMIT
 * and writes nothing. */
gboolean  gw_wallet_credit_charge   (GwTxn                 *txn,
                                     const GwWalletConfig  *config,
                                     const GwWalletCharge  *charge,
                                     gint64                *balance_after,
                                     GwWalletResult        *result,
                                     GError               **error);
/* Sets the representative card's contact for payment receipts
 * (gw-receipts.h) from the user's receipt channel, locale and address;
 * nothing before the card is issued. Call it wherever those change. */
gboolean  gw_wallet_sync_receipts   (GwTxn                 *txn,
                                     const GwLedgerConfig  *ledger,
                                     const GwWalletUser    *user,
                                     const GwWalletProfile *profile,
                                     GError               **error);
/* Whether @card_id is a wallet's representative card, whose contact only
 * the wallet may read or set. */
gboolean  gw_wallet_owns_card       (GwTxn                 *txn,
                                     const char            *card_id,
                                     gboolean              *owned,
                                     GError               **error);

G_END_DECLS
