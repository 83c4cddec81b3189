/* gw-ledger.h: the money rules of onepin, in one place
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The ledger decides and the store persists. These functions run on the
 * store's writer thread inside a transaction (see gw-store.h). They know
 * nothing of HTTP or SQL: they authenticate cards, check states and limits,
 * and express every movement of money as a balanced journal entry whose
 * conditions the database enforces.
 */
#pragma once

#include "gw-store.h"
#include "onepin-crypto.h"

G_BEGIN_DECLS

#define GW_CARD_BALANCE_CAP 1000000   /* won */
#define GW_LOCKOUT_FAILURES 5

typedef struct
{
  OnepinKey *lookup_key;            /* card number -> lookup hash */
  OnepinKey *password_key;          /* card password MAC; its key is never in the database */
  OnepinKey *seal_key;              /* AES-256-GCM for numbers, hints, secrets */
  OnepinKey *ids_key;               /* AES-256 for statement line ids (gw_ledger_line_id) */
  char       bin[16];               /* issuer prefix of new card numbers */
  gint       validity_years;
  gint64     points_rate;           /* points per 10,000 minor units paid */
  gint64     capture_window;        /* seconds an authorization may wait for capture */
  gint64     lockout_seconds;
} GwLedgerConfig;

typedef enum
{
  GW_DECLINE_NONE,
  GW_DECLINE_INVALID_CREDENTIALS,
  GW_DECLINE_CARD_LOCKED,
  GW_DECLINE_CARD_NOT_ACTIVE,
  GW_DECLINE_EXPIRED_CARD,
  GW_DECLINE_INSUFFICIENT_FUNDS,
  GW_DECLINE_CURRENCY_MISMATCH,
  GW_DECLINE_BALANCE_LIMIT,
} GwDecline;

typedef enum
{
  GW_RESULT_OK,
  GW_RESULT_DECLINED,
  GW_RESULT_NOT_FOUND,
  GW_RESULT_ALREADY_RESOLVED,
  GW_RESULT_ALREADY_REGISTERED,
  GW_RESULT_AMOUNT_TOO_LARGE,
  GW_RESULT_PAYMENT_EXPIRED,
  GW_RESULT_NOTHING_TO_REFUND,     /* a refund of "what is left" when nothing is */
} GwResultCode;

typedef struct
{
  GwResultCode code;
  GwDecline    decline;
  gboolean     credential_failure;  /* a wrong password or unknown number */
} GwOutcome;

/* What a card holder presented, reduced to keyed hashes on arrival so the
 * number and password themselves need not travel further. */
typedef struct
{
  gboolean well_formed;             /* 16 digits that pass Luhn */
  guint8   lookup[32];
  guint8   password_mac[32];
} GwCredentials;

typedef struct
{
  char    id[40];
  char   *number;
  gint64  expires_at;
  gint64  account_id;
} GwIssuedCard;

typedef struct
{
  const char *bin;                  /* prefix of the number */
  const char *currency;
  const char *channel;              /* "wallet", … */
  gint64      expires_at;           /* 0: validity_years from now */
  const char *password;             /* set at once: the card is active */
} GwIssueRequest;

typedef struct
{
  const char *merchant_id;
  gint64      amount;
  const char *currency;
  const char *order_id;
  const char *description;
  const char *channel;
  gboolean    capture;
} GwPayRequest;

const char *gw_decline_to_string     (GwDecline              decline);
const char *gw_card_display_state    (const GwCard          *card,
                                      gint64                 now);

void        gw_ledger_credentials    (const GwLedgerConfig  *config,
                                      const char            *number,
                                      const char            *password,
                                      GwCredentials         *out);
/* 4 to 64 characters: what a card's password may be. */
gboolean    gw_ledger_password_valid (const char            *password);
/* At most 100 characters (and 400 bytes): a card's password hint. */
#define GW_LEDGER_MAX_HINT_CHARS 100
gboolean    gw_ledger_hint_valid     (const char            *hint);
void        gw_ledger_password_mac   (const GwLedgerConfig  *config,
                                      const guint8           lookup[32],
                                      const char            *password,
                                      guint8                 out[32]);

gboolean    gw_ledger_issue_batch    (GwTxn                 *txn,
                                      const GwLedgerConfig  *config,
                                      const char            *batch_id,
                                      gint64                 count,
                                      gint64                 value,
                                      const char            *currency,
                                      const char            *channel,
                                      GArray                *cards,
                                      GError               **error);
/* @issued->number is the full number: the caller shows it once and clears it. */
gboolean    gw_ledger_issue_card     (GwTxn                 *txn,
                                      const GwLedgerConfig  *config,
                                      const GwIssueRequest  *request,
                                      GwIssuedCard          *issued,
                                      GError               **error);
gboolean    gw_ledger_create_merchant (GwTxn                *txn,
                                      const GwLedgerConfig  *config,
                                      const char            *id,
                                      const char            *name,
                                      const char            *category,
                                      const guint8           key_hash[32],
                                      const char            *webhook_secret,
                                      GError               **error);
gboolean    gw_ledger_register       (GwTxn                 *txn,
                                      const GwLedgerConfig  *config,
                                      const GwCredentials   *credentials,
                                      const char            *hint,
                                      GwCard                *card,
                                      GwOutcome             *outcome,
                                      GError               **error);
/* gw_ledger_authenticate(), but a closed card with its right password
 * passes: for reading its statement. */
gboolean    gw_ledger_authenticate_reader (GwTxn                *txn,
                                           const GwLedgerConfig *config,
                                           const GwCredentials  *credentials,
                                           GwCard               *card,
                                           GwOutcome            *outcome,
                                           GError              **error);
gboolean    gw_ledger_authenticate_usable (GwTxn                *txn,
                                           const GwLedgerConfig *config,
                                           const GwCredentials  *credentials,
                                           GwCard               *card,
                                           GwOutcome            *outcome,
                                           GError              **error);
/* A new password for an authenticated card, or (reset) one whose owner
 * proved it theirs another way. Modules may keep what the old password
 * let someone set up: the password routes also call
 * gw_phone_forget_calling_numbers in the same operation. */
gboolean    gw_ledger_set_password   (GwTxn                 *txn,
                                      const GwLedgerConfig  *config,
                                      GwCard                *card,
                                      const guint8           lookup[32],
                                      const char            *new_password,
                                      const char            *hint,
                                      GError               **error);
/* The password hint of the card @credentials' number names, opened, in
 * @hint (NULL when the number is unknown or the card has none); no password
 * is checked, so the caller must give it only to the holder's own address. */
gboolean    gw_ledger_card_hint      (GwTxn                 *txn,
                                      const GwLedgerConfig  *config,
                                      const GwCredentials   *credentials,
                                      GwCard                *card,
                                      char                 **hint,
                                      GError               **error);
gboolean    gw_ledger_reset_password (GwTxn                 *txn,
                                      const GwLedgerConfig  *config,
                                      GwCard                *card,
                                      const char            *new_password,
                                      GError               **error);
gboolean    gw_ledger_authenticate   (GwTxn                 *txn,
                                      const GwLedgerConfig  *config,
                                      const GwCredentials   *credentials,
                                      GwCard                *card,
                                      GwOutcome             *outcome,
                                      GError               **error);
/* gw_ledger_authenticate's check of @password, with its count of failures
 * and its lock, for a @card found by its id (a wallet's card, which its
 * owner names by their session, not by its number). */
gboolean    gw_ledger_check_password (GwTxn                 *txn,
                                      const GwLedgerConfig  *config,
                                      GwCard                *card,
                                      const char            *password,
                                      GwOutcome             *outcome,
                                      GError               **error);
/* Whether the card @credentials name is locked now; no password is checked
 * (FALSE for a number that names no card). */
gboolean    gw_ledger_card_locked    (GwTxn                 *txn,
                                      const GwCredentials   *credentials,
                                      gboolean              *locked,
                                      GError               **error);
/* A statement line's public id: "ln_" and 32 hex digits, the line's number
 * and its account's under AES, so a card holder learns neither how many
 * lines the ledger holds nor a cursor that works on another card. */
#define GW_LINE_ID_LEN (3 + 32)
void        gw_ledger_line_id        (const GwLedgerConfig  *config,
                                      gint64                 account_id,
                                      gint64                 line_id,
                                      char                   out[GW_LINE_ID_LEN + 1]);
/* Reads one back; FALSE unless @text is an id gw_ledger_line_id made. */
gboolean    gw_ledger_line_id_parse  (const GwLedgerConfig  *config,
                                      const char            *text,
                                      gint64                *account_id,
                                      gint64                *line_id);

/* Counts a refused credential (outcome.credential_failure), whether or not
 * the number exists, so that every refusal waits for a commit alike. */
gboolean    gw_ledger_count_refusal  (GwTxn                 *txn,
                                      GError               **error);
/* Authenticates the card by its password, then charges it. */
gboolean    gw_ledger_pay            (GwTxn                 *txn,
                                      const GwLedgerConfig  *config,
                                      const GwCredentials   *credentials,
                                      const GwPayRequest    *request,
                                      GwPayment             *payment,
                                      GwOutcome             *outcome,
                                      GError               **error);
/* Charges a card its holder already proved (gw_ledger_pay's second half,
 * for channels that authenticate otherwise, like the card network): checks
 * expiry and currency, then places the hold or captures at once. */
gboolean    gw_ledger_charge_card    (GwTxn                 *txn,
                                      const GwLedgerConfig  *config,
                                      const GwCard          *card,
                                      const GwPayRequest    *request,
                                      GwPayment             *payment,
                                      GwOutcome             *outcome,
                                      GError               **error);
gboolean    gw_ledger_capture        (GwTxn                 *txn,
                                      const GwLedgerConfig  *config,
                                      const char            *merchant_id,
                                      const char            *payment_id,
                                      gint64                 amount,
                                      GwPayment             *payment,
                                      GwOutcome             *outcome,
                                      GError               **error);
gboolean    gw_ledger_cancel         (GwTxn                 *txn,
                                      const char            *merchant_id,
                                      const char            *payment_id,
                                      GwPayment             *payment,
                                      GwOutcome             *outcome,
                                      GError               **error);
gboolean    gw_ledger_refund         (GwTxn                 *txn,
                                      const char            *merchant_id,
                                      const char            *payment_id,
                                      gint64                 amount,
                                      char                   refund_id[40],
                                      gint64                *refunded,
                                      GwPayment             *payment,
                                      GwOutcome             *outcome,
                                      GError               **error);
/* Cancels authorizations whose capture window has passed; returns how many
 * (at most GW_LEDGER_EXPIRE_BATCH), and in @next_expiry the earliest
 * capture_before of those still open (0 if none). */
#define GW_LEDGER_EXPIRE_BATCH 500
gint        gw_ledger_expire_holds   (GwTxn                 *txn,
                                      gint64                *next_expiry,
                                      GError               **error);

G_END_DECLS
