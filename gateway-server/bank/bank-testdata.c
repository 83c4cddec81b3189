/* bank-testdata.c: the sandbox's documented test cards and accounts
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "bank-testdata.h"

#include <string.h>

typedef struct
{
  const char *number;
  const char *behaviour;
  gint64      credit_limit;
} TestCard;

typedef struct
{
  const char *number;
  const char *password;
  const char *holder;
  gint64      balance;
  const char *state;
  const char *behaviour;
} TestAccount;

/* Any expiry in the future and any CVC work with every card. */
static const TestCard cards[] = {
  { "4242424242424242", "approve", 10000000 },
  { "5555555555554444", "approve", 10000000 },
  { "4000000000000002", "decline", 10000000 },
  { "4000000000009995", "approve", 0 },          /* no credit left: insufficient_funds */
  { "4000000000000119", "slow",    10000000 },   /* approved, but the reply is late */
  { "4000000000000051", "short",   10000000 },   /* charges: approved for half the amount */
};

static const TestAccount accounts[] = {
  { "110000000001", "1234", "홍길동", 10000000, "open",   "normal" },
  { "110000000002", "1234", "김철수", 5000,     "open",   "normal" },
  { "110000000003", "1234", "이영희", 1000000,  "closed", "normal" },
  { "110000000004", "1234", "박민수", 10000000, "open",   "slow" },
};

/* Card numbers are found by their HMAC under bank.key and passwords
 * checked by a MAC under it; started with another key, the bank would find
 * no card and refuse every password, as if they did not exist. So bank.db
 * records HMAC(lookup key, CHECK_TEXT), which tells nothing of the key. A
 * database from before that record is checked by the first test card,
 * which the seeding put there under the key of its day. */
#define CHECK_TEXT "onepin-bank key check v1"

static gboolean
wrong_key (GError **error)
{
  g_set_error (error, BANK_STORE_ERROR, BANK_STORE_ERROR_FAILED,
               "The key file bank.key is not the one this database was written with: restore "
               "the database's own bank.key (no card number or password in it can be used "
               "without it)");
  return FALSE;
}

/* The store's getters answer NULL both for "none" and on an error: TRUE
 * when @local is unset, else it goes to @error. */
static gboolean
no_error (GError  *local,
          GError **error)
{
  if (local == NULL)
    return TRUE;
  g_propagate_error (error, local);
  return FALSE;
}

static gboolean
meta_get (BankStore    *store,
          const char   *name,
          char        **value,
          GError      **error)
{
  GError *local = NULL;

  *value = bank_store_meta_get (store, name, &local);
  return no_error (local, error);
}

static gboolean
first_card_found (BankStore       *store,
                  const BankKeys  *keys,
                  gboolean        *found,
                  GError         **error)
{
  g_autoptr(BankCard) card = NULL;
  GError *local = NULL;
  guint8 lookup[32];

  bank_keys_card_lookup (keys, cards[0].number, lookup);
  card = bank_store_card_get (store, lookup, &local);
  *found = card != NULL;
  return no_error (local, error);
}

static gboolean
check_key (BankStore       *store,
           const BankKeys  *keys,
           GError         **error)
{
  g_autofree char *recorded = NULL;
  g_autofree char *seeded = NULL;
  g_autofree char *value = NULL;
  guint8 mac[32];
  gboolean found = FALSE;

  onepin_key_hmac (keys->lookup, CHECK_TEXT, strlen (CHECK_TEXT), mac);
  value = g_base64_encode (mac, sizeof mac);
  if (!meta_get (store, "key_check", &recorded, error))
    return FALSE;
  if (recorded != NULL)
    return onepin_crypto_str_equal (recorded, value) || wrong_key (error);
  if (!meta_get (store, "seeded", &seeded, error) ||
      (seeded != NULL && !first_card_found (store, keys, &found, error)))
    return FALSE;
  if (seeded != NULL && !found)
    return wrong_key (error);
  return bank_store_meta_set (store, "key_check", value, error);
}

gboolean
bank_testdata_check_key (BankStore       *store,
                         const BankKeys  *keys,
                         GError         **error)
{
  if (!bank_store_begin (store, error))
    return FALSE;
  if (check_key (store, keys, error) && bank_store_commit (store, error))
    return TRUE;
  bank_store_rollback (store);
  return FALSE;
}

gboolean
bank_testdata_seed (BankStore       *store,
                    const BankKeys  *keys,
                    GError         **error)
{
  g_autofree char *seeded = NULL;

  if (!bank_store_begin (store, error))
    return FALSE;
  seeded = bank_store_meta_get (store, "seeded", error);
  if (seeded != NULL)
    return bank_store_commit (store, error);
  if (error != NULL && *error != NULL)
    goto failed;

  for (guint i = 0; i < G_N_ELEMENTS (cards); i++)
    {
      BankCard card = { .behaviour = (char *) cards[i].behaviour,
                        .credit_limit = cards[i].credit_limit };
      guint8 lookup[32];

      g_strlcpy (card.last4, cards[i].number + strlen (cards[i].number) - 4, sizeof card.last4);
      bank_keys_card_lookup (keys, cards[i].number, lookup);
      if (!bank_store_card_add (store, lookup, &card, error))
        goto failed;
    }
  for (guint i = 0; i < G_N_ELEMENTS (accounts); i++)
    {
      BankAccount account = { .number = (char *) accounts[i].number,
                              .holder = (char *) accounts[i].holder,
                              .balance = accounts[i].balance,
                              .state = (char *) accounts[i].state,
                              .behaviour = (char *) accounts[i].behaviour };

      bank_keys_password_mac (keys, accounts[i].number, accounts[i].password,
                              account.password_mac);
      if (!bank_store_account_add (store, &account, error))
        goto failed;
    }
  if (bank_store_meta_set (store, "seeded", "1", error) && bank_store_commit (store, error))
    return TRUE;

failed:
  bank_store_rollback (store);
  return FALSE;
}
