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
