/* gw-ars.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The menu is a table of states. Each state has a prompt, the digits it
 * expects and a handler that acts on them and moves to the next state,
 * saying what happened on the way ("Recharged. The balance is…"). "*"
 * returns to the menu from anywhere; three wrong or empty answers in a row
 * end the call.
 */
#include "gw-ars.h"

#include <string.h>

#include "gw-notify.h"
#include "gw-orders.h"
#include "gw-phone-sales.h"
#include "gw-seoul.h"
#include "onepin-card.h"
#include "onepin-json.h"

#define CALL(txn, fn, ...) ((txn)->funcs->fn ((txn), __VA_ARGS__))
#define NOW(txn) ((txn)->funcs->now (txn))
#define PHONE(txn) ((const GwPhoneStoreFuncs *) gw_txn_extension ((txn), "phone"))

#define MAX_RETRIES 3

static const gint64 amounts[] = { 5000, 10000, 20000, 30000, 50000, 100000 };

/* What the menu says, in Korean and in English */

typedef enum
{
  M_WELCOME,
  M_MENU,
  M_AMOUNTS,
  M_BUY_CONFIRM,
  M_BOUGHT,
  M_BOUGHT_NEXT,
  M_NUMBER,
  M_PASSWORD,
  M_NEW_PIN,
  M_CONFIRM_PIN,
  M_PIN_MISMATCH,
  M_REGISTERED,
  M_ALREADY,
  M_RECHARGE_CONFIRM,
  M_RECHARGED,
  M_LIMIT,
  M_BALANCE,
  M_USAGE,
  M_BAD_CREDENTIALS,
  M_LOCKED,
  M_NOT_ACTIVE,
  M_EXPIRED,
  M_INVALID,
  M_NO_INPUT,
  M_CANCELLED,
  M_GOODBYE,
  M_SOLD_OUT,
  N_MESSAGES
} Message;

static const char * const messages[N_MESSAGES][2] = {
  [M_WELCOME] = {
    "원핀 자동응답 서비스입니다.",
    "Welcome to onepin." },
  [M_MENU] = {
    "카드 구매는 1번, 충전은 2번, 잔액과 사용 내역 조회는 3번, 비밀번호 등록은 4번, "
    "종료는 0번을 눌러 주십시오.",
    "To buy a card, press 1. To recharge a card, press 2. For the balance and usage, "
    "press 3. To register a password, press 4. To end the call, press 0." },
  [M_AMOUNTS] = {
    "금액을 선택해 주십시오. 5,000원은 1번, 10,000원은 2번, 20,000원은 3번, 30,000원은 4번, "
    "50,000원은 5번, 100,000원은 6번입니다.",
    "Choose the amount. 5,000 won, press 1. 10,000 won, press 2. 20,000 won, press 3. "
    "30,000 won, press 4. 50,000 won, press 5. 100,000 won, press 6." },
  [M_BUY_CONFIRM] = {
    "%s원 카드의 대금은 휴대폰 요금과 함께 청구됩니다. 구매하시려면 1번, 취소하시려면 "
    "2번을 눌러 주십시오.",
    "The %s won card will be charged to your phone bill. To buy it, press 1. To cancel, "
    "press 2." },
  [M_BOUGHT] = {
    "구매가 완료되었습니다. 카드 번호를 문자 메시지로 보내 드렸습니다.",
    "Thank you. The card number has been sent to you by text message." },
  [M_BOUGHT_NEXT] = {
    "지금 비밀번호를 등록하시려면 1번, 처음 메뉴로 가시려면 9번을 눌러 주십시오.",
    "To register its password now, press 1. For the main menu, press 9." },
  [M_NUMBER] = {
    "카드 번호 16자리를 눌러 주십시오.",
    "Enter the 16-digit card number." },
  [M_PASSWORD] = {
    "비밀번호를 누르신 뒤 우물 정 자를 눌러 주십시오.",
    "Enter the password, then the hash key." },
  [M_NEW_PIN] = {
    "새 비밀번호 4자리에서 8자리를 누르신 뒤 우물 정 자를 눌러 주십시오.",
    "Enter a new password of 4 to 8 digits, then the hash key." },
  [M_CONFIRM_PIN] = {
    "확인을 위해 같은 비밀번호를 한 번 더 누르신 뒤 우물 정 자를 눌러 주십시오.",
    "Enter the same password again to confirm it, then the hash key." },
  [M_PIN_MISMATCH] = {
    "두 비밀번호가 다릅니다.",
    "The two passwords were not the same." },
  [M_REGISTERED] = {
    "비밀번호가 등록되었습니다. 이제 카드를 사용하실 수 있습니다.",
    "The password is registered. The card is ready to use." },
  [M_ALREADY] = {
    "카드 번호가 맞지 않거나, 이미 비밀번호가 등록된 카드입니다.",
    "The card number is incorrect, or the card already has a password." },
  [M_RECHARGE_CONFIRM] = {
    "%s원 충전 대금은 휴대폰 요금과 함께 청구됩니다. 충전하시려면 1번, 취소하시려면 "
    "2번을 눌러 주십시오.",
    "%s won will be added to the card and charged to your phone bill. To recharge, press 1. "
    "To cancel, press 2." },
  [M_RECHARGED] = {
    "충전되었습니다. 잔액은 %s원입니다.",
    "Done. The balance is now %s won." },
  [M_LIMIT] = {
    "카드 한 장의 잔액은 1,000,000원을 넘을 수 없습니다.",
    "A card cannot hold more than 1,000,000 won." },
  [M_BALANCE] = {
    "잔액은 %s원이며, 그중 %s원을 사용하실 수 있습니다. 유효 기간은 %s까지입니다.",
    "The balance is %s won, of which %s won can be used. The card is valid until %s." },
  [M_USAGE] = {
    "지금까지 인터넷 결제 %s원, 전화 통화 %s원, 전화 정보 이용 %s원, 휴대폰 통화 %s원, "
    "해외 선불 PIN %s원을 사용하셨습니다.",
    "So far you have paid %s won on the internet, %s won for telephone calls, %s won for "
    "telephone information services, %s won for mobile calls and %s won for foreign PINs." },
  [M_BAD_CREDENTIALS] = {
    "카드 번호 또는 비밀번호가 맞지 않습니다.",
    "The card number or password is incorrect." },
  [M_LOCKED] = {
    "비밀번호를 여러 번 잘못 누르셔서 카드가 잠시 잠겼습니다.",
    "The card is locked for a while after too many wrong passwords." },
  [M_NOT_ACTIVE] = {
    "비밀번호가 등록되지 않은 카드입니다. 메뉴 4번에서 먼저 등록해 주십시오.",
    "This card has no password yet. Register one first with option 4." },
  [M_EXPIRED] = {
    "유효 기간이 지난 카드입니다.",
    "This card has expired." },
  [M_INVALID] = {
    "잘못 누르셨습니다.",
    "That was not one of the choices." },
  [M_NO_INPUT] = {
    "입력이 없었습니다.",
    "Nothing was entered." },
  [M_CANCELLED] = {
    "취소되었습니다.",
    "Cancelled." },
  [M_SOLD_OUT] = {
    "죄송합니다. 이 금액의 카드는 모두 판매되었습니다.",
    "Sorry, cards of this amount are sold out." },
  [M_GOODBYE] = {
    "원핀을 이용해 주셔서 감사합니다. 안녕히 계십시오.",
    "Thank you for calling onepin. Goodbye." },
};

/* A step of the menu */

typedef struct
{
  GwTxn                *txn;
  const GwLedgerConfig *config;
  GwArsSession         *session;
  GString              *say;        /* what happened, said before the next prompt */
  gboolean              credential_failure;   /* counted like a refusal online */
} Ctx;

typedef gboolean (*Handler) (Ctx *ctx, const char *digits, GError **error);

typedef struct
{
  const char *name;
  Message     prompt;
  gint        min_digits;
  gint        max_digits;
  gboolean    terminator;
  Handler     handle;
} State;

static const State *find_state (const char *name);

static const char *
text (const Ctx *ctx,
      Message    message)
{
  return messages[message][g_str_equal (ctx->session->locale, "en") ? 1 : 0];
}

static void
say (Ctx     *ctx,
     Message  message)
{
  if (ctx->say->len > 0)
    g_string_append_c (ctx->say, ' ');
  g_string_append (ctx->say, text (ctx, message));
}

G_GNUC_PRINTF (2, 3) static void
say_printf (Ctx        *ctx,
            const char *format,
            ...)
{
  va_list args;

  if (ctx->say->len > 0)
    g_string_append_c (ctx->say, ' ');
  va_start (args, format);
  g_string_append_vprintf (ctx->say, format, args);
  va_end (args);
}

/* "10,000" */
static char *
won (gint64 amount)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *digits = g_strdup_printf ("%" G_GINT64_FORMAT, amount < 0 ? -amount : amount);
  gsize len = strlen (digits);

  if (amount < 0)
    g_string_append_c (out, '-');
  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
go (Ctx        *ctx,
    const char *state)
{
  g_strlcpy (ctx->session->state, state, sizeof ctx->session->state);
  ctx->session->retries = 0;
  return TRUE;
}

/* Says why a card was refused, then back to the menu. */
static gboolean
refused (Ctx             *ctx,
         const GwOutcome *outcome)
{
  switch (outcome->decline)
    {
    case GW_DECLINE_CARD_LOCKED:    say (ctx, M_LOCKED); break;
    case GW_DECLINE_CARD_NOT_ACTIVE: say (ctx, M_NOT_ACTIVE); break;
    case GW_DECLINE_EXPIRED_CARD:   say (ctx, M_EXPIRED); break;
    case GW_DECLINE_BALANCE_LIMIT:  say (ctx, M_LIMIT); break;
    default:                        say (ctx, M_BAD_CREDENTIALS); break;
    }
  return go (ctx, "menu");
}

static void
forget_card (GwArsSession *session)
{
  session->has_lookup = FALSE;
  explicit_bzero (session->card_lookup, sizeof session->card_lookup);
  session->card_id[0] = '\0';
  session->has_pin = FALSE;
  explicit_bzero (session->pin_mac, sizeof session->pin_mac);
  session->value = 0;
}

static gboolean
end_call (Ctx *ctx)
{
  say (ctx, M_GOODBYE);
  forget_card (ctx->session);
  g_clear_pointer (&ctx->session->calling_sealed, g_bytes_unref);
  return go (ctx, "ended");
}

/* Handlers */

static gboolean
on_menu (Ctx         *ctx,
         const char  *digits,
         GError     **error)
{
  forget_card (ctx->session);
  switch (digits[0])
    {
    case '1': return go (ctx, "buy.amount");
    case '2': return go (ctx, "recharge.number");
    case '3': return go (ctx, "inquiry.number");
    case '4': return go (ctx, "register.number");
    case '0': return end_call (ctx);
    default:  return FALSE;
    }
}

/* An amount from the list; FALSE for another digit. */
static gboolean
choose_amount (Ctx        *ctx,
               const char *digits,
               const char *next)
{
  guint index = digits[0] - '1';

  if (index >= G_N_ELEMENTS (amounts))
    return FALSE;
  ctx->session->value = amounts[index];
  return go (ctx, next);
}

static gboolean
on_buy_amount (Ctx         *ctx,
               const char  *digits,
               GError     **error)
{
  return choose_amount (ctx, digits, "buy.confirm");
}

static gboolean
send_number (Ctx                *ctx,
             const GwIssuedCard *issued,
             const char         *sale_id,
             GError            **error)
{
  GwArsSession *session = ctx->session;
  g_autoptr(GString) data = g_string_new ("{\"number\":");
  g_autoptr(GBytes) to = NULL;
  g_autofree char *to_text = NULL;
  gsize len;

  to = onepin_key_open (ctx->config->seal_key, g_bytes_get_data (session->calling_sealed, NULL),
                        g_bytes_get_size (session->calling_sealed), session->id,
                        strlen (session->id), error);
  if (to == NULL)
    return FALSE;
  to_text = g_strndup (g_bytes_get_data (to, &len), g_bytes_get_size (to));
  onepin_json_append_string (data, issued->number);
  g_string_append_printf (data, ",\"amount\":%" G_GINT64_FORMAT ",\"currency\":\"krw\"}",
                          session->value);
  return gw_notify_enqueue (ctx->txn, &(GwNotification) {
                              GW_NOTIFY_SMS, to_text, session->locale, "card_number",
                              data->str, sale_id,
                            }, error);
}

static gboolean
on_buy_confirm (Ctx         *ctx,
                const char  *digits,
                GError     **error)
{
  GwArsSession *session = ctx->session;
  GwIssuedCard issued = { 0 };
  char sale_id[40];
  gboolean ok, sold_out = FALSE;

  if (digits[0] == '2')
    return say (ctx, M_CANCELLED), go (ctx, "menu");
  if (digits[0] != '1')
    return FALSE;

  ok = gw_phone_sell_card (ctx->txn, ctx->config, session->merchant_id, session->value, &issued,
                           session->card_lookup, sale_id, &sold_out, error) &&
       (sold_out || send_number (ctx, &issued, sale_id, error));
  if (issued.number != NULL)
    explicit_bzero (issued.number, strlen (issued.number));
  g_free (issued.number);
  if (!ok)
    return FALSE;
  if (sold_out)
    return say (ctx, M_SOLD_OUT), go (ctx, "menu");

  /* The caller may register the new card's password right away. */
  session->has_lookup = TRUE;
  g_strlcpy (session->card_id, issued.id, sizeof session->card_id);
  say (ctx, M_BOUGHT);
  return go (ctx, "buy.done");
}

static gboolean
on_buy_done (Ctx         *ctx,
             const char  *digits,
             GError     **error)
{
  if (digits[0] == '1')
    return go (ctx, "register.new");
  if (digits[0] == '9')
    return go (ctx, "menu");
  return FALSE;
}

/* A card number keyed in: only its lookup hash is kept. A malformed one is
 * taken all the same, and refused with the password, as online. */
static void
take_number (Ctx        *ctx,
             const char *digits)
{
  GwArsSession *session = ctx->session;

  forget_card (session);
  session->has_lookup = onepin_card_number_is_valid (digits);
  if (session->has_lookup)
    onepin_key_hmac (ctx->config->lookup_key, digits, ONEPIN_CARD_NUMBER_LEN,
                     session->card_lookup);
}

static gboolean
on_recharge_number (Ctx         *ctx,
                    const char  *digits,
                    GError     **error)
{
  take_number (ctx, digits);
  return go (ctx, "recharge.password");
}

static gboolean
on_inquiry_number (Ctx         *ctx,
                   const char  *digits,
                   GError     **error)
{
  take_number (ctx, digits);
  return go (ctx, "inquiry.password");
}

static gboolean
on_register_number (Ctx         *ctx,
                    const char  *digits,
                    GError     **error)
{
  take_number (ctx, digits);
  return go (ctx, "register.new");
}

static void
credentials_for (Ctx           *ctx,
                 const char    *password,
                 GwCredentials *out)
{
  memset (out, 0, sizeof *out);
  out->well_formed = ctx->session->has_lookup;
  memcpy (out->lookup, ctx->session->card_lookup, 32);
  if (out->well_formed && password != NULL)
    gw_ledger_password_mac (ctx->config, out->lookup, password, out->password_mac);
}

/* Authenticates the card keyed in with @password; FALSE only on error.
 * On a decline it has said why and gone back to the menu. */
static gboolean
authenticate (Ctx         *ctx,
              const char  *password,
              GwCard      *card,
              GwOutcome   *outcome,
              GError     **error)
{
  GwCredentials credentials;

  credentials_for (ctx, password, &credentials);
  if (!gw_ledger_authenticate (ctx->txn, ctx->config, &credentials, card, outcome, error))
    return FALSE;
  ctx->credential_failure = outcome->credential_failure;
  if (outcome->code == GW_RESULT_OK && card->expires_at <= NOW (ctx->txn))
    {
      outcome->code = GW_RESULT_DECLINED;
      outcome->decline = GW_DECLINE_EXPIRED_CARD;
    }
  if (outcome->code != GW_RESULT_OK)
    {
      forget_card (ctx->session);
      refused (ctx, outcome);
    }
  return TRUE;
}

static gboolean
on_recharge_password (Ctx         *ctx,
                      const char  *digits,
                      GError     **error)
{
  GwCard card;
  GwOutcome outcome;

  if (!authenticate (ctx, digits, &card, &outcome, error))
    return FALSE;
  if (outcome.code == GW_RESULT_OK)
    {
      g_strlcpy (ctx->session->card_id, card.id, sizeof ctx->session->card_id);
      go (ctx, "recharge.amount");
    }
  return TRUE;
}

static gboolean
on_recharge_amount (Ctx         *ctx,
                    const char  *digits,
                    GError     **error)
{
  return choose_amount (ctx, digits, "recharge.confirm");
}

static gboolean
on_recharge_confirm (Ctx         *ctx,
                     const char  *digits,
                     GError     **error)
{
  GwArsSession *session = ctx->session;
  g_autofree char *balance = NULL;
  GwOutcome outcome;
  GwCard card;

  if (digits[0] == '2')
    return forget_card (session), say (ctx, M_CANCELLED), go (ctx, "menu");
  if (digits[0] != '1')
    return FALSE;
  if (!gw_phone_sell_recharge (ctx->txn, session->merchant_id, session->card_id,
                               session->value, &card, &outcome, error))
    return FALSE;
  forget_card (session);
  if (outcome.code != GW_RESULT_OK)
    return refused (ctx, &outcome);
  balance = won (card.balance);
  say_printf (ctx, text (ctx, M_RECHARGED), balance);
  return go (ctx, "menu");
}

static gint64
paid (GHashTable *sums,
      const char *channel)
{
  g_autofree char *key = g_strconcat ("payment:", channel, NULL);
  gint64 *value = g_hash_table_lookup (sums, key);

  return value ? -*value : 0;
}

static gboolean
on_inquiry_password (Ctx         *ctx,
                     const char  *digits,
                     GError     **error)
{
  g_autoptr(GHashTable) sums = NULL;
  g_autofree char *balance = NULL;
  g_autofree char *available = NULL;
  g_autofree char *until = NULL;
  g_autofree char *internet = NULL;
  g_autofree char *calls = NULL;
  g_autofree char *info = NULL;
  g_autofree char *mobile = NULL;
  g_autofree char *abroad = NULL;
  GwCard card;
  GwOutcome outcome;

  if (!authenticate (ctx, digits, &card, &outcome, error))
    return FALSE;
  if (outcome.code != GW_RESULT_OK)
    return TRUE;
  forget_card (ctx->session);
  sums = CALL (ctx->txn, account_totals, card.account_id, error);
  if (sums == NULL)
    return FALSE;

  /* The usage inquiry of FIG. 10H, read out. */
  balance = won (card.balance);
  available = won (card.balance - card.held);
  until = gw_seoul_format (card.expires_at, "%Y-%m-%d");
  internet = won (paid (sums, "internet"));
  calls = won (paid (sums, "telephone"));
  info = won (paid (sums, "telephone_information"));
  mobile = won (paid (sums, "prepaid_mobile"));
  abroad = won (paid (sums, "foreign"));
  say_printf (ctx, text (ctx, M_BALANCE), balance, available, until);
  say_printf (ctx, text (ctx, M_USAGE), internet, calls, info, mobile, abroad);
  return go (ctx, "menu");
}

static gboolean
on_register_new (Ctx         *ctx,
                 const char  *digits,
                 GError     **error)
{
  GwArsSession *session = ctx->session;

  /* Only the MAC of the first entry is kept, to compare the second with. */
  if (session->has_lookup)
    gw_ledger_password_mac (ctx->config, session->card_lookup, digits, session->pin_mac);
  session->has_pin = TRUE;
  return go (ctx, "register.confirm");
}

static gboolean
on_register_confirm (Ctx         *ctx,
                     const char  *digits,
                     GError     **error)
{
  GwArsSession *session = ctx->session;
  GwCredentials credentials;
  GwOrdersOutcome registered;
  GwOutcome *outcome = &registered.card;
  GwCard card;

  credentials_for (ctx, digits, &credentials);
  if (session->has_lookup && !onepin_crypto_equal (credentials.password_mac, session->pin_mac, 32))
    {
      session->has_pin = FALSE;
      say (ctx, M_PIN_MISMATCH);
      return go (ctx, "register.new");
    }
  if (!gw_orders_register_card (ctx->txn, ctx->config, &credentials, NULL, &card, &registered,
                                error))
    return FALSE;
  ctx->credential_failure = outcome->credential_failure;
  forget_card (session);
  /* One answer for all three, so that the menu does not tell which numbers
   * are live cards (the unknown ones count as refusals, and are limited).
   * A given card is registered by its gift's claim only. */
  if (registered.result == GW_ORDERS_CONFLICT ||
      outcome->code == GW_RESULT_ALREADY_REGISTERED || outcome->credential_failure)
    return say (ctx, M_ALREADY), go (ctx, "menu");
  if (outcome->code != GW_RESULT_OK)
    return refused (ctx, outcome);
  say (ctx, M_REGISTERED);
  return go (ctx, "menu");
}

static const State states[] = {
  { "menu",              M_MENU,            1, 1,  FALSE, on_menu },
  { "buy.amount",        M_AMOUNTS,         1, 1,  FALSE, on_buy_amount },
  { "buy.confirm",       M_BUY_CONFIRM,     1, 1,  FALSE, on_buy_confirm },
  { "buy.done",          M_BOUGHT_NEXT,     1, 1,  FALSE, on_buy_done },
  { "recharge.number",   M_NUMBER,          16, 16, FALSE, on_recharge_number },
  { "recharge.password", M_PASSWORD,        1, 64, TRUE,  on_recharge_password },
  { "recharge.amount",   M_AMOUNTS,         1, 1,  FALSE, on_recharge_amount },
  { "recharge.confirm",  M_RECHARGE_CONFIRM, 1, 1, FALSE, on_recharge_confirm },
  { "inquiry.number",    M_NUMBER,          16, 16, FALSE, on_inquiry_number },
  { "inquiry.password",  M_PASSWORD,        1, 64, TRUE,  on_inquiry_password },
  { "register.number",   M_NUMBER,          16, 16, FALSE, on_register_number },
  { "register.new",      M_NEW_PIN,         4, 8,  TRUE,  on_register_new },
  { "register.confirm",  M_CONFIRM_PIN,     4, 8,  TRUE,  on_register_confirm },
  { "ended",             M_GOODBYE,         0, 0,  FALSE, NULL },
};

static const State *
find_state (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    if (g_str_equal (states[i].name, name))
      return &states[i];
  return &states[0];
}

/* The prompt of the session's state, after whatever was said. */
static void
render_prompt (Ctx         *ctx,
               GwArsPrompt *prompt)
{
  const State *state = find_state (ctx->session->state);

  prompt->done = g_str_equal (state->name, "ended");
  if (!prompt->done)
    {
      const char *format = text (ctx, state->prompt);

      if (state->prompt == M_BUY_CONFIRM || state->prompt == M_RECHARGE_CONFIRM)
        {
          g_autofree char *value = won (ctx->session->value);

          say_printf (ctx, format, value);
        }
      else
        say (ctx, state->prompt);
    }
  prompt->text = g_strdup (ctx->say->str);
  prompt->min_digits = state->min_digits;
  prompt->max_digits = state->max_digits;
  prompt->terminator = state->terminator;
  prompt->secret = state->prompt == M_PASSWORD || state->prompt == M_NEW_PIN ||
                   state->prompt == M_CONFIRM_PIN;
  prompt->credential_failure = ctx->credential_failure;
}

/* Whether @digits answer @state: the right number of digits, after a final
 * # where the prompt asked for one. */
static gboolean
well_formed (const State *state,
             char        *digits)
{
  gsize len = strlen (digits);

  if (state->terminator && len > 0 && digits[len - 1] == '#')
    digits[--len] = '\0';
  return len >= (gsize) state->min_digits && len <= (gsize) state->max_digits &&
         strspn (digits, "0123456789") == len;
}

static gboolean
step (Ctx         *ctx,
      const char  *input,
      GError     **error)
{
  const State *state = find_state (ctx->session->state);
  g_autofree char *digits = g_strdup (input);

  if (g_str_equal (digits, "*"))
    {
      forget_card (ctx->session);
      return go (ctx, "menu");
    }
  if (well_formed (state, digits))
    {
      GError *local = NULL;

      if (state->handle (ctx, digits, &local))
        return TRUE;
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
    }
  /* Not an answer to this prompt: say so and ask again, three times. */
  say (ctx, digits[0] == '\0' ? M_NO_INPUT : M_INVALID);
  if (++ctx->session->retries >= MAX_RETRIES)
    return end_call (ctx);
  return TRUE;
}

void
gw_ars_prompt_clear (GwArsPrompt *prompt)
{
  g_clear_pointer (&prompt->text, g_free);
}

static gboolean
check_operator (GwTxn          *txn,
                const char     *operator_id,
                GwPhoneResult  *result,
                GError        **error)
{
  GError *local = NULL;

  *result = GW_PHONE_OK;
  if (PHONE (txn)->merchant_is (txn, operator_id, GW_PHONE_OPERATOR_CATEGORY, &local))
    return TRUE;
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  *result = GW_PHONE_NOT_AN_OPERATOR;
  return TRUE;
}

gboolean
gw_ars_start (GwTxn                *txn,
              const GwLedgerConfig *config,
              const char           *operator_id,
              const char           *calling_number,
              const char           *locale,
              GwArsSession         *session,
              GwArsPrompt          *prompt,
              GwPhoneResult        *result,
              GError              **error)
{
  g_autofree char *id = onepin_crypto_random_token ("ars_", 12);
  g_autoptr(GString) said = g_string_new (NULL);
  Ctx ctx = { .txn = txn, .config = config, .session = session, .say = said };

  memset (session, 0, sizeof *session);
  memset (prompt, 0, sizeof *prompt);
  if (!check_operator (txn, operator_id, result, error) || *result != GW_PHONE_OK)
    return *result != GW_PHONE_OK;

  g_strlcpy (session->id, id, sizeof session->id);
  g_strlcpy (session->merchant_id, operator_id, sizeof session->merchant_id);
  g_strlcpy (session->calling_last4, calling_number + strlen (calling_number) - 4,
             sizeof session->calling_last4);
  g_strlcpy (session->locale, locale, sizeof session->locale);
  session->calling_sealed = onepin_key_seal (config->seal_key, calling_number,
                                             strlen (calling_number), session->id,
                                             strlen (session->id), error);
  if (session->calling_sealed == NULL)
    return FALSE;
  session->step = 1;
  session->created = session->updated = NOW (txn);
  session->expires_at = session->updated + GW_ARS_IDLE_SECONDS;
  go (&ctx, "menu");

  say (&ctx, M_WELCOME);
  render_prompt (&ctx, prompt);
  return PHONE (txn)->ars_insert (txn, session, error);
}

gboolean
gw_ars_input (GwTxn                *txn,
              const GwLedgerConfig *config,
              const char           *operator_id,
              const char           *session_id,
              gint64                step_number,
              const char           *digits,
              GwArsSession         *session,
              GwArsPrompt          *prompt,
              GwPhoneResult        *result,
              GError              **error)
{
  g_autoptr(GString) said = g_string_new (NULL);
  Ctx ctx = { .txn = txn, .config = config, .session = session, .say = said };
  GError *local = NULL;

  memset (prompt, 0, sizeof *prompt);
  *result = GW_PHONE_OK;
  if (!PHONE (txn)->ars_get (txn, session_id, session, &local) ||
      !g_str_equal (session->merchant_id, operator_id))
    {
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      return *result = GW_PHONE_SESSION_NOT_FOUND, TRUE;
    }
  if (g_str_equal (session->state, "ended") || session->expires_at <= NOW (txn))
    return *result = GW_PHONE_SESSION_ENDED, TRUE;
  if (step_number != session->step)
    return *result = GW_PHONE_STALE_REQUEST, TRUE;

  if (!step (&ctx, digits, error))
    return FALSE;
  session->step++;
  session->updated = NOW (txn);
  session->expires_at = session->updated + GW_ARS_IDLE_SECONDS;
  render_prompt (&ctx, prompt);
  return PHONE (txn)->ars_update (txn, session, error);
}

gboolean
gw_ars_prune (GwTxn   *txn,
              GError **error)
{
  return PHONE (txn)->ars_prune (txn, NOW (txn) - GW_ARS_IDLE_SECONDS, error);
}
