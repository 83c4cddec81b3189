/* gw-phone-sales.h: cards sold by mobile operators and card-selling agents
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A seller is a merchant of category "mobile_operator" (it sells through its
 * ARS and bills the phone bill) or "card_agent" (it sells physical cards
 * over the counter). It owes the issuer the value of what it sells, less
 * its commission: a sale debits the seller's receivable account and credits
 * the card, and is recorded against the seller with the commission due at
 * that moment's rate. Sellers may be handed pools of inactive numbers, which
 * become cards only when sold. Runs on the writer, like gw-ledger.h.
 */
#pragma once

#include "gw-ledger.h"
#include "gw-phone.h"

G_BEGIN_DECLS

#define GW_PHONE_OPERATOR_CATEGORY "mobile_operator"
#define GW_PHONE_AGENT_CATEGORY    "card_agent"

/* A number handed out with a new pool, shown once. */
typedef struct
{
  char *number;
  char *secret;                     /* an agent card's scratch-panel secret, or NULL */
  char  last4[5];
} GwPoolNumber;

void gw_pool_number_clear (gpointer number);

/* A seller's statement for [from, to). */
typedef struct
{
  gint64  from;
  gint64  to;
  GArray *sales;                    /* GwPhoneSale, oldest first */
  gint64  cards_sold;
  gint64  cards_value;
  gint64  recharges;
  gint64  recharges_value;
  gint64  commission;
  gint64  ledger_debits;            /* what the journal says the seller was charged */
  gint64  ledger_credits;           /* what it paid in or was credited */
  gint64  commission_bps;           /* the seller's rate now */
} GwPhoneStatement;

void gw_phone_statement_clear (GwPhoneStatement *statement);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwPhoneStatement, gw_phone_statement_clear)

/* The category a pool @kind ("operator", "agent") is for. */
const char *gw_phone_seller_category   (const char           *kind);

/* Opens the seller's receivable account if needed and sets its commission;
 * GW_PHONE_NOT_A_SELLER if the merchant is neither an operator nor an agent. */
gboolean    gw_phone_set_seller        (GwTxn                *txn,
                                        const char           *merchant_id,
                                        gint64                commission_bps,
                                        GwPhoneOperator      *seller,
                                        GwPhoneResult        *result,
                                        GError              **error);
/* Makes a pool of @count inactive numbers of @value for the seller; @numbers
 * (GwPoolNumber) gets them. Agent pools get a scratch secret per number. */
gboolean    gw_phone_create_pool       (GwTxn                *txn,
                                        const GwLedgerConfig *config,
                                        const char           *kind,
                                        const char           *merchant_id,
                                        gint64                value,
                                        gint64                count,
                                        GwPhonePool          *pool,
                                        GArray               *numbers,
                                        GwPhoneResult        *result,
                                        GError              **error);
/* Sells a card of @value: drawn from the operator's pools if it has any
 * (*@sold_out when none of that value is left), else newly issued.
 * @issued gets its number (for the SMS) and @lookup its lookup hash. */
gboolean    gw_phone_sell_card         (GwTxn                *txn,
                                        const GwLedgerConfig *config,
                                        const char           *operator_id,
                                        gint64                value,
                                        GwIssuedCard         *issued,
                                        guint8                lookup[32],
                                        char                  sale_id[40],
                                        gboolean             *sold_out,
                                        GError              **error);
/* Adds @amount to the card, sold by @operator_id. A card that would pass
 * its cap is declined (balance_limit) and nothing is sold. */
gboolean    gw_phone_sell_recharge     (GwTxn                *txn,
                                        const char           *operator_id,
                                        const char           *card_id,
                                        gint64                amount,
                                        GwCard               *card,
                                        GwOutcome            *outcome,
                                        GError              **error);
/* An agent's sale of the physical card numbered @lookup: it becomes a card,
 * whose password is the scratch-panel secret. GW_PHONE_NUMBER_NOT_FOUND
 * unless it is an available number of one of the agent's pools. */
gboolean    gw_phone_activate_card     (GwTxn                *txn,
                                        const GwLedgerConfig *config,
                                        const char           *agent_id,
                                        const guint8          lookup[32],
                                        GwCard               *card,
                                        char                  sale_id[40],
                                        GwPhoneResult        *result,
                                        GError              **error);
/* Voids an unsold number of the agent's pools. */
gboolean    gw_phone_void_number       (GwTxn                *txn,
                                        const char           *agent_id,
                                        const guint8          lookup[32],
                                        GwPhonePin           *pin,
                                        GwPhoneResult        *result,
                                        GError              **error);
/* The seller's sales in [@from, @to), with the journal's view of them. */
gboolean    gw_phone_seller_statement  (GwTxn                *txn,
                                        const char           *merchant_id,
                                        gint64                from,
                                        gint64                to,
                                        GwPhoneStatement     *statement,
                                        GwPhoneResult        *result,
                                        GError              **error);

G_END_DECLS
