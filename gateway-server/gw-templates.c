/* gw-templates.c: the texts of onepin's e-mails and SMS
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A template writes its message once, through a Doc that renders every
 * element both as plain text and as HTML (escaped), so the two parts of an
 * e-mail always say the same thing. Strings come in pairs, Korean first.
 */
#include "gw-templates.h"

#include <string.h>

#include "onepin-money.h"

G_DEFINE_QUARK (gw-template-error-quark, gw_template_error)

#define KST_OFFSET (9 * 3600)
#define ACCENT "#3451b2"

void
gw_email_content_clear (GwEmailContent *content)
{
  g_clear_pointer (&content->subject, g_free);
  g_clear_pointer (&content->text, g_free);
  g_clear_pointer (&content->html, g_free);
}

/* Data fields */

/* A non-empty string field, or NULL. */
static const char *
field_str (JsonObject *data,
           const char *name)
{
  JsonNode *node = json_object_get_member (data, name);
  const char *value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  value = json_node_get_string (node);
  return value != NULL && value[0] != '\0' ? value : NULL;
}

static gboolean
field_int (JsonObject *data,
           const char *name,
           gint64     *out)
{
  JsonNode *node = json_object_get_member (data, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

static JsonArray *
field_array (JsonObject *data,
             const char *name)
{
  JsonNode *node = json_object_get_member (data, name);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

/* Formatting */

char *
gw_template_format_amount (gint64      amount,
                           const char *currency,
                           gboolean    korean)
{
  OnepinMoney money = { .amount = amount, .currency = "krw" };
  g_autofree char *formatted = NULL;
  gsize digits;

  if (currency != NULL && g_ascii_strcasecmp (currency, "krw") != 0)
    {
      if (strlen (currency) != 3 || strspn (currency, "abcdefghijklmnopqrstuvwxyz") != 3)
        return NULL;
      g_strlcpy (money.currency, currency, sizeof money.currency);
      return onepin_money_format (&money);
    }
  /* "12,345 KRW": the grouped digits, then the code. */
  formatted = onepin_money_format (&money);
  digits = strlen (formatted) - strlen (" KRW");
  return korean ? g_strdup_printf ("%.*s원", (int) digits, formatted)
                : g_strdup_printf ("₩%.*s", (int) digits, formatted);
}

/* The field @name as an amount in the data's currency, or NULL. */
static char *
field_amount (JsonObject *data,
              const char *name,
              gboolean    korean)
{
  gint64 amount;

  if (!field_int (data, name, &amount))
    return NULL;
  return gw_template_format_amount (amount, field_str (data, "currency"), korean);
}

static GDateTime *
kst_time (gint64 unix_seconds)
{
  g_autoptr(GTimeZone) kst = g_time_zone_new_offset (KST_OFFSET);
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (unix_seconds);

  return utc != NULL ? g_date_time_to_timezone (utc, kst) : NULL;
}

/* "2026년 3월 5일 14:30" or "5 Mar 2026, 14:30", Korean time; the time is
 * left out with @with_time FALSE. Month names are spelled here, not taken
 * from the process locale. */
static char *
date_text (gint64   seconds,
           gboolean korean,
           gboolean with_time)
{
  static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  g_autoptr(GDateTime) t = NULL;
  GString *out;

  if (seconds <= 0 || !(t = kst_time (seconds)))
    return NULL;

  out = g_string_new (NULL);
  if (korean)
    g_string_append_printf (out, "%d년 %d월 %d일", g_date_time_get_year (t),
                            g_date_time_get_month (t), g_date_time_get_day_of_month (t));
  else
    g_string_append_printf (out, "%d %s %d", g_date_time_get_day_of_month (t),
                            months[g_date_time_get_month (t) - 1], g_date_time_get_year (t));
  if (with_time)
    g_string_append_printf (out, "%s%02d:%02d KST", korean ? " " : ", ",
                            g_date_time_get_hour (t), g_date_time_get_minute (t));
  return g_string_free (out, FALSE);
}

static char *
field_date (JsonObject *data,
            const char *name,
            gboolean    korean,
            gboolean    with_time)
{
  gint64 seconds;

  return field_int (data, name, &seconds) ? date_text (seconds, korean, with_time) : NULL;
}

/* A card's validity, from its exclusive end: a card valid to the end of a
 * month (issued so: the end is the next month's first second, UTC) shows
 * "2031년 11월" or "11/2031", as printed on it; another its last valid
 * day, Korean time. */
static char *
field_validity (JsonObject *data,
                const char *name,
                gboolean    korean)
{
  g_autoptr(GDateTime) end = NULL;
  g_autoptr(GDateTime) last = NULL;
  gint64 seconds;

  if (!field_int (data, name, &seconds) || seconds <= 0 ||
      !(end = g_date_time_new_from_unix_utc (seconds)))
    return NULL;
  if (g_date_time_get_day_of_month (end) == 1 && g_date_time_get_hour (end) == 0 &&
      g_date_time_get_minute (end) == 0 && g_date_time_get_second (end) == 0)
    {
      last = g_date_time_add_months (end, -1);
      if (last == NULL)
        return NULL;
      return korean ? g_strdup_printf ("%d년 %d월", g_date_time_get_year (last),
                                       g_date_time_get_month (last))
                    : g_strdup_printf ("%02d/%d", g_date_time_get_month (last),
                                       g_date_time_get_year (last));
    }
  return date_text (seconds - 1, korean, FALSE);
}

static gboolean
all_digits (const char *text,
            gsize       len)
{
  return text != NULL && strlen (text) == len && strspn (text, "0123456789") == len;
}

/* "**** **** **** 1234", from the card's last four digits. */
static char *
field_masked_card (JsonObject *data,
                   const char *name)
{
  const char *last4 = field_str (data, name);

  return all_digits (last4, 4) ? g_strconcat ("**** **** **** ", last4, NULL) : NULL;
}

/* The document: text and HTML together */

typedef struct
{
  gboolean  ko;
  GString  *subject;
  GString  *text;
  GString  *html;
  gboolean  in_table;
} Doc;

static const char *
L (const Doc  *doc,
   const char *korean,
   const char *english)
{
  return doc->ko ? korean : english;
}

static void
html_escaped (Doc        *doc,
              const char *text)
{
  g_autofree char *escaped = g_markup_escape_text (text, -1);

  g_string_append (doc->html, escaped);
}

static void
end_table (Doc *doc)
{
  if (!doc->in_table)
    return;
  g_string_append (doc->html, "</table>\n");
  g_string_append_c (doc->text, '\n');
  doc->in_table = FALSE;
}

static void
doc_title (Doc        *doc,
           const char *title)
{
  end_table (doc);
  g_string_append_printf (doc->text, "%s\n\n", title);
  g_string_append (doc->html, "<h1 style=\"font-size:20px;margin:0 0 16px\">");
  html_escaped (doc, title);
  g_string_append (doc->html, "</h1>\n");
}

static void
doc_heading (Doc        *doc,
             const char *heading)
{
  end_table (doc);
  g_string_append_printf (doc->text, "[%s]\n", heading);
  g_string_append (doc->html, "<h2 style=\"font-size:16px;margin:20px 0 8px\">");
  html_escaped (doc, heading);
  g_string_append (doc->html, "</h2>\n");
}

static void
doc_para (Doc        *doc,
          const char *text)
{
  end_table (doc);
  g_string_append_printf (doc->text, "%s\n\n", text);
  g_string_append (doc->html, "<p style=\"margin:0 0 12px;line-height:1.6\">");
  html_escaped (doc, text);
  g_string_append (doc->html, "</p>\n");
}

/* A label and its value; nothing at all when the value is missing. */
static void
doc_row (Doc        *doc,
         const char *label,
         const char *value)
{
  if (value == NULL)
    return;
  if (!doc->in_table)
    {
      g_string_append (doc->html, "<table role=\"presentation\" "
                                  "style=\"border-collapse:collapse;width:100%;margin:0 0 12px\">\n");
      doc->in_table = TRUE;
    }
  g_string_append_printf (doc->text, "%s: %s\n", label, value);
  g_string_append (doc->html, "<tr><th scope=\"row\" style=\"text-align:left;font-weight:normal;"
                              "color:#555;padding:6px 12px 6px 0;white-space:nowrap\">");
  html_escaped (doc, label);
  g_string_append (doc->html, "</th><td style=\"padding:6px 0;text-align:right\">");
  html_escaped (doc, value);
  g_string_append (doc->html, "</td></tr>\n");
}

static void
doc_button (Doc        *doc,
            const char *label,
            const char *url)
{
  end_table (doc);
  g_string_append_printf (doc->text, "%s:\n%s\n\n", label, url);
  g_string_append (doc->html, "<p style=\"margin:20px 0\"><a href=\"");
  html_escaped (doc, url);
  g_string_append (doc->html, "\" style=\"display:inline-block;background:" ACCENT ";color:#fff;"
                              "padding:12px 20px;border-radius:6px;text-decoration:none;"
                              "font-weight:bold\">");
  html_escaped (doc, label);
  g_string_append (doc->html, "</a></p>\n");
}

static void
doc_begin (Doc        *doc,
           const char *locale)
{
  doc->ko = g_strcmp0 (locale, "en") != 0;
  doc->subject = g_string_new ("[onepin] ");
  doc->text = g_string_new ("onepin\n\n");
  doc->html = g_string_new (NULL);
}

static void
doc_finish (Doc            *doc,
            GwEmailContent *out)
{
  g_autoptr(GString) html = g_string_new (NULL);
  g_autofree char *title = g_markup_escape_text (doc->subject->str, -1);
  const char *footer = L (doc, "이 메일은 onepin이 자동으로 보낸 발신 전용 메일입니다.",
                          "This message was sent automatically by onepin. Replies are not read.");
  g_autofree char *footer_html = g_markup_escape_text (footer, -1);

  end_table (doc);
  g_string_append_printf (doc->text, "-- \n%s\n", footer);
  g_string_append_printf (html,
    "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>%s</title>\n</head>\n"
    "<body style=\"margin:0;padding:16px;background:#f4f5f7;color:#1c1c1c;"
    "font-family:'Apple SD Gothic Neo','Malgun Gothic','Noto Sans KR',sans-serif;"
    "font-size:15px\">\n"
    "<div style=\"max-width:560px;margin:0 auto;background:#fff;border-radius:8px;padding:24px\">\n"
    "<p style=\"margin:0 0 16px;font-weight:bold;color:" ACCENT "\">onepin</p>\n%s"
    "<p style=\"margin:24px 0 0;font-size:12px;color:#666\">%s</p>\n</div>\n</body>\n</html>\n",
    doc->ko ? "ko" : "en", title, doc->html->str, footer_html);

  out->subject = g_string_free (g_steal_pointer (&doc->subject), FALSE);
  out->text = g_string_free (g_steal_pointer (&doc->text), FALSE);
  out->html = g_string_free (g_steal_pointer (&html), FALSE);
  g_string_free (g_steal_pointer (&doc->html), TRUE);
}

static void
doc_abandon (Doc *doc)
{
  if (doc->subject != NULL)
    g_string_free (g_steal_pointer (&doc->subject), TRUE);
  if (doc->text != NULL)
    g_string_free (g_steal_pointer (&doc->text), TRUE);
  if (doc->html != NULL)
    g_string_free (g_steal_pointer (&doc->html), TRUE);
}

static gboolean
missing (GError    **error,
         const char *field)
{
  g_set_error (error, GW_TEMPLATE_ERROR, GW_TEMPLATE_ERROR_DATA,
               "The message has no valid %s", field);
  return FALSE;
}

/* payment_receipt: merchant_name, amount, currency, balance_after,
 * card_last4, created, payment_id */

static gboolean
email_payment_receipt (Doc        *doc,
                       JsonObject *data,
                       GError    **error)
{
  const char *merchant = field_str (data, "merchant_name");
  g_autofree char *amount = field_amount (data, "amount", doc->ko);
  g_autofree char *balance = field_amount (data, "balance_after", doc->ko);
  g_autofree char *card = field_masked_card (data, "card_last4");
  g_autofree char *date = field_date (data, "created", doc->ko, TRUE);

  if (amount == NULL)
    return missing (error, "amount");
  if (doc->ko)
    g_string_append_printf (doc->subject, "%s%s결제 %s", merchant ? merchant : "",
                            merchant ? " " : "", amount);
  else
    g_string_append_printf (doc->subject, "Receipt: %s%s%s", amount, merchant ? " at " : "",
                            merchant ? merchant : "");

  doc_title (doc, L (doc, "결제 영수증", "Payment receipt"));
  doc_para (doc, L (doc, "onepin 카드로 결제가 완료되었습니다.",
                    "A payment with your onepin card is complete."));
  doc_row (doc, L (doc, "가맹점", "Merchant"), merchant);
  doc_row (doc, L (doc, "결제 금액", "Amount"), amount);
  doc_row (doc, L (doc, "결제 후 잔액", "Balance after"), balance);
  doc_row (doc, L (doc, "카드", "Card"), card);
  doc_row (doc, L (doc, "결제 일시", "Date"), date);
  doc_row (doc, L (doc, "결제 번호", "Payment"), field_str (data, "payment_id"));
  doc_para (doc, L (doc, "본인이 결제하지 않았다면 카드 비밀번호를 바로 바꾸고 고객센터에 알려 주세요.",
                    "If you did not make this payment, change your card password at once and "
                    "let us know."));
  return TRUE;
}

static gboolean
sms_payment_receipt (GString    *out,
                     gboolean    ko,
                     JsonObject *data,
                     GError    **error)
{
  const char *merchant = field_str (data, "merchant_name");
  const char *last4 = field_str (data, "card_last4");
  g_autofree char *amount = field_amount (data, "amount", ko);
  g_autofree char *balance = field_amount (data, "balance_after", ko);
  g_autofree char *date = field_date (data, "created", ko, TRUE);

  if (amount == NULL)
    return missing (error, "amount");
  if (ko)
    g_string_append_printf (out, "%s%s%s 결제", merchant ? merchant : "", merchant ? " " : "",
                            amount);
  else
    g_string_append_printf (out, "Paid %s%s%s", amount, merchant ? " at " : "",
                            merchant ? merchant : "");
  if (balance != NULL)
    g_string_append_printf (out, ko ? ", 잔액 %s" : ". Balance %s", balance);
  if (all_digits (last4, 4))
    g_string_append_printf (out, ko ? " (카드 *%s)" : " (card *%s)", last4);
  if (date != NULL)
    g_string_append_printf (out, " %s", date);
  return TRUE;
}

/* recharge: card_last4, amount, balance_after, currency, expires_at, created */

static gboolean
email_recharge (Doc        *doc,
                JsonObject *data,
                GError    **error)
{
  g_autofree char *amount = field_amount (data, "amount", doc->ko);
  g_autofree char *balance = field_amount (data, "balance_after", doc->ko);
  g_autofree char *card = field_masked_card (data, "card_last4");
  g_autofree char *expires = field_validity (data, "expires_at", doc->ko);
  g_autofree char *date = field_date (data, "created", doc->ko, TRUE);

  if (amount == NULL)
    return missing (error, "amount");
  g_string_append_printf (doc->subject, doc->ko ? "충전 완료 %s" : "Recharged %s", amount);
  doc_title (doc, L (doc, "충전이 완료되었습니다", "Your card is recharged"));
  doc_row (doc, L (doc, "카드", "Card"), card);
  doc_row (doc, L (doc, "충전 금액", "Amount"), amount);
  doc_row (doc, L (doc, "충전 후 잔액", "Balance after"), balance);
  doc_row (doc, L (doc, "유효 기간", "Valid until"), expires);
  doc_row (doc, L (doc, "충전 일시", "Date"), date);
  return TRUE;
}

static gboolean
sms_recharge (GString    *out,
              gboolean    ko,
              JsonObject *data,
              GError    **error)
{
  const char *last4 = field_str (data, "card_last4");
  g_autofree char *amount = field_amount (data, "amount", ko);
  g_autofree char *balance = field_amount (data, "balance_after", ko);

  if (amount == NULL)
    return missing (error, "amount");
  g_string_append_printf (out, ko ? "%s 충전 완료" : "Recharged %s", amount);
  if (balance != NULL)
    g_string_append_printf (out, ko ? ", 잔액 %s" : ". Balance %s", balance);
  if (all_digits (last4, 4))
    g_string_append_printf (out, ko ? " (카드 *%s)" : " (card *%s)", last4);
  return TRUE;
}

/* refund: card_last4, amount, currency, bank_name, account_last4, created */

static char *
masked_account (JsonObject *data)
{
  const char *last4 = field_str (data, "account_last4");

  return all_digits (last4, 4) ? g_strconcat ("****", last4, NULL) : NULL;
}

static gboolean
email_refund (Doc        *doc,
              JsonObject *data,
              GError    **error)
{
  g_autofree char *amount = field_amount (data, "amount", doc->ko);
  g_autofree char *card = field_masked_card (data, "card_last4");
  g_autofree char *account = masked_account (data);
  g_autofree char *date = field_date (data, "created", doc->ko, TRUE);

  if (amount == NULL)
    return missing (error, "amount");
  g_string_append_printf (doc->subject, doc->ko ? "잔액 환불 %s" : "Refund of %s", amount);
  doc_title (doc, L (doc, "잔액을 환불했습니다", "Your balance is refunded"));
  doc_para (doc, L (doc, "카드의 남은 잔액을 아래 계좌로 보냈습니다. 이 카드는 해지되어 더 이상 "
                         "사용할 수 없습니다.",
                    "We sent the remaining balance of your card to the account below. The card "
                    "is now closed and can no longer be used."));
  doc_row (doc, L (doc, "카드", "Card"), card);
  doc_row (doc, L (doc, "환불 금액", "Amount"), amount);
  doc_row (doc, L (doc, "은행", "Bank"), field_str (data, "bank_name"));
  doc_row (doc, L (doc, "계좌", "Account"), account);
  doc_row (doc, L (doc, "환불 일시", "Date"), date);
  return TRUE;
}

static gboolean
sms_refund (GString    *out,
            gboolean    ko,
            JsonObject *data,
            GError    **error)
{
  const char *bank = field_str (data, "bank_name");
  const char *last4 = field_str (data, "card_last4");
  g_autofree char *amount = field_amount (data, "amount", ko);
  g_autofree char *account = masked_account (data);

  if (amount == NULL)
    return missing (error, "amount");
  g_string_append_printf (out, ko ? "%s 환불 완료" : "Refunded %s", amount);
  if (bank != NULL || account != NULL)
    g_string_append_printf (out, ko ? ": %s%s%s" : " to %s%s%s", bank ? bank : "",
                            bank && account ? " " : "", account ? account : "");
  if (all_digits (last4, 4))
    g_string_append_printf (out, ko ? ". 끝자리 %s 카드는 해지되었습니다." : ". Card *%s is closed.",
                            last4);
  return TRUE;
}

/* purchase_statement: order_id, buyer_name, total, currency, created,
 * paid_by, lines [{denomination, quantity}], cards [{last4, denomination}] */

static const char *
payment_method (const Doc  *doc,
                const char *paid_by)
{
  if (g_strcmp0 (paid_by, "card") == 0 || g_strcmp0 (paid_by, "credit_card") == 0)
    return L (doc, "신용카드", "Credit card");
  if (g_strcmp0 (paid_by, "bank_account") == 0 || g_strcmp0 (paid_by, "account") == 0)
    return L (doc, "계좌 결제", "Bank account");
  if (g_strcmp0 (paid_by, "transfer") == 0 || g_strcmp0 (paid_by, "virtual_account") == 0)
    return L (doc, "무통장 입금", "Bank transfer");
  return paid_by;
}

static void
statement_lines (Doc        *doc,
                 JsonObject *data)
{
  JsonArray *lines = field_array (data, "lines");
  const char *currency = field_str (data, "currency");
  guint n = lines ? json_array_get_length (lines) : 0;

  if (n > 0)
    doc_heading (doc, L (doc, "주문 내용", "Items"));
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (lines, i);
      JsonObject *line = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      g_autofree char *denomination = NULL;
      g_autofree char *subtotal = NULL;
      g_autofree char *label = NULL;
      gint64 value, quantity, sum;

      if (line == NULL || !field_int (line, "denomination", &value) ||
          !field_int (line, "quantity", &quantity) ||
          !onepin_int64_mul_checked (value, quantity, &sum))
        continue;
      denomination = gw_template_format_amount (value, currency, doc->ko);
      subtotal = gw_template_format_amount (sum, currency, doc->ko);
      label = g_strdup_printf (doc->ko ? "%s 카드 × %" G_GINT64_FORMAT "장"
                                       : "%s card × %" G_GINT64_FORMAT,
                               denomination, quantity);
      doc_row (doc, label, subtotal);
    }
}

static void
statement_cards (Doc        *doc,
                 JsonObject *data)
{
  JsonArray *cards = field_array (data, "cards");
  const char *currency = field_str (data, "currency");
  guint n = cards ? json_array_get_length (cards) : 0;

  if (n > 0)
    doc_heading (doc, L (doc, "카드", "Cards"));
  /* Each card's value, not what it is for: the statement goes out when the
   * cards are allocated, before the buyer registers any or gives it. */
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (cards, i);
      JsonObject *card = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      g_autofree char *masked = card ? field_masked_card (card, "last4") : NULL;
      g_autofree char *amount = NULL;
      g_autofree char *label = NULL;
      gint64 value;

      if (masked == NULL)
        continue;
      /* A statement queued by an older gateway has no value per card. */
      if (!field_int (card, "denomination", &value))
        {
          doc_row (doc, masked, L (doc, "카드", "card"));
          continue;
        }
      amount = gw_template_format_amount (value, currency, doc->ko);
      label = g_strdup_printf (doc->ko ? "%s 카드" : "%s card", amount);
      doc_row (doc, masked, label);
    }
}

static gboolean
email_purchase_statement (Doc        *doc,
                          JsonObject *data,
                          GError    **error)
{
  const char *order = field_str (data, "order_id");
  const char *buyer = field_str (data, "buyer_name");
  g_autofree char *total = field_amount (data, "total", doc->ko);
  g_autofree char *date = field_date (data, "created", doc->ko, TRUE);
  g_autofree char *greeting = NULL;

  if (order == NULL)
    return missing (error, "order_id");
  g_string_append_printf (doc->subject, doc->ko ? "구매 내역서 (주문 %s)"
                                                : "Purchase statement for order %s", order);
  if (buyer != NULL)
    greeting = g_strdup_printf (doc->ko ? "%s님, onepin 카드를 구매해 주셔서 감사합니다."
                                        : "Dear %s, thank you for buying onepin cards.", buyer);
  doc_title (doc, L (doc, "구매 내역서", "Purchase statement"));
  doc_para (doc, greeting ? greeting : L (doc, "onepin 카드를 구매해 주셔서 감사합니다.",
                                          "Thank you for buying onepin cards."));
  doc_row (doc, L (doc, "주문 번호", "Order"), order);
  doc_row (doc, L (doc, "주문 일시", "Date"), date);
  doc_row (doc, L (doc, "결제 수단", "Paid by"), payment_method (doc, field_str (data, "paid_by")));
  doc_row (doc, L (doc, "합계", "Total"), total);
  statement_lines (doc, data);
  statement_cards (doc, data);
  doc_para (doc, L (doc, "보안을 위해 카드 번호는 이 메일에 적지 않습니다. 본인용 카드는 등록한 뒤 "
                         "사용하세요.",
                    "For your security, card numbers are not in this e-mail. Register a card "
                    "for yourself before you use it."));
  return TRUE;
}

static gboolean
sms_purchase_statement (GString    *out,
                        gboolean    ko,
                        JsonObject *data,
                        GError    **error)
{
  const char *order = field_str (data, "order_id");
  JsonArray *cards = field_array (data, "cards");
  g_autofree char *total = field_amount (data, "total", ko);

  if (order == NULL)
    return missing (error, "order_id");
  g_string_append_printf (out, ko ? "주문 %s 결제 완료" : "Order %s is paid", order);
  if (total != NULL)
    g_string_append_printf (out, ko ? ", 합계 %s" : ". Total %s", total);
  if (cards != NULL)
    g_string_append_printf (out, ko ? ", 카드 %u장" : ", %u cards", json_array_get_length (cards));
  return TRUE;
}

/* gift: sender_name, recipient_name, message, design, font_color,
 * font_size, music, claim_url, amount, currency */

/* Only an http(s) URL without spaces, quotes or angle brackets. */
static const char *
field_url (JsonObject *data,
           const char *name)
{
  const char *url = field_str (data, name);

  if (url == NULL || strlen (url) > 2048 ||
      !(g_str_has_prefix (url, "https://") || g_str_has_prefix (url, "http://")))
    return NULL;
  for (const char *p = url; *p != '\0'; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f || strchr ("\"'<>\\`", *p) != NULL)
      return NULL;
  return url;
}

/* A colour only as #rgb or #rrggbb, so nothing else reaches the style attribute. */
static const char *
font_color (JsonObject *data)
{
  const char *color = field_str (data, "font_color");
  gsize len = color ? strlen (color) : 0;

  if ((len == 4 || len == 7) && color[0] == '#' &&
      strspn (color + 1, "0123456789abcdefABCDEF") == len - 1)
    return color;
  return "#1c1c1c";
}

/* The API's sizes are 8, 10 and 12 (gw-api-orders.c); they are drawn at the
 * pixels the site's preview uses (site.css .size-small, -medium, -large), all
 * above the e-mail's 15px body. Anything else is the medium size. */
static gint64
font_size (JsonObject *data)
{
  const char *named = field_str (data, "font_size");
  gint64 points;

  if (field_int (data, "font_size", &points))
    return points == 8 ? 14 : points == 12 ? 24 : 18;
  if (g_strcmp0 (named, "small") == 0)
    return 14;
  if (g_strcmp0 (named, "large") == 0)
    return 24;
  return 18;
}

/* The site's designs and tunes (gateway-server/site/js/gift.js and
 * music.js), with the titles its pages show (site/js/strings.js, "design.…"
 * and "music.…"); test-templates checks that the two lists agree. */
static const struct
{
  const char *name;
  const char *ko;
  const char *en;
  const char *color;
} designs[] = {
  { "birthday", "생일 케이크", "Birthday cake", "#fde2e4" },
  { "thanks", "감사합니다", "Thank you", "#e2f0cb" },
  { "congratulations", "축하", "Congratulations", "#fff1c1" },
  { "love", "사랑", "Love", "#ffd6e0" },
  { "christmas", "크리스마스", "Christmas", "#d8f3dc" },
  { "newyear", "새해", "New Year", "#e0ecff" },
};

static const struct
{
  const char *name;
  const char *ko;
  const char *en;
} tunes[] = {
  { "ode_to_joy", "환희의 송가 (베토벤)", "Ode to Joy (Beethoven)" },
  { "jingle_bells", "징글벨", "Jingle Bells" },
  { "fur_elise", "엘리제를 위하여 (베토벤)", "Für Elise (Beethoven)" },
  { "canon", "캐논 변주곡 (파헬벨)", "Canon in D (Pachelbel)" },
  { "twinkle", "반짝반짝 작은 별", "Twinkle, Twinkle, Little Star" },
  { "happy_birthday", "생일 축하합니다", "Happy Birthday" },
};

static int
design_index (JsonObject *data)
{
  const char *design = field_str (data, "design");

  for (guint i = 0; i < G_N_ELEMENTS (designs); i++)
    if (g_strcmp0 (design, designs[i].name) == 0)
      return i;
  return -1;
}

static const char *
design_background (JsonObject *data)
{
  int i = design_index (data);

  return i >= 0 ? designs[i].color : "#eef2ff";
}

/* The design's title, or NULL for one we do not know (its name is an
 * internal one, so it is left out rather than shown). */
static const char *
design_title (Doc        *doc,
              JsonObject *data)
{
  int i = design_index (data);

  return i >= 0 ? L (doc, designs[i].ko, designs[i].en) : NULL;
}

/* The tune's title; NULL for none, or for a name we do not know. */
static const char *
music_title (Doc        *doc,
             JsonObject *data)
{
  const char *music = field_str (data, "music");

  for (guint i = 0; i < G_N_ELEMENTS (tunes); i++)
    if (g_strcmp0 (music, tunes[i].name) == 0)
      return L (doc, tunes[i].ko, tunes[i].en);
  return NULL;
}

static void
gift_message (Doc        *doc,
              JsonObject *data)
{
  const char *message = field_str (data, "message");

  if (message == NULL)
    return;
  g_string_append_printf (doc->text, "\"%s\"\n\n", message);
  g_string_append_printf (doc->html, "<div style=\"background:%s;border-radius:8px;padding:24px;"
                                     "margin:0 0 16px;text-align:center\"><p style=\"margin:0;"
                                     "color:%s;font-size:%" G_GINT64_FORMAT "px;"
                                     "white-space:pre-wrap\">",
                          design_background (data), font_color (data), font_size (data));
  html_escaped (doc, message);
  g_string_append (doc->html, "</p></div>\n");
}

static gboolean
email_gift (Doc        *doc,
            JsonObject *data,
            GError    **error)
{
  const char *sender = field_str (data, "sender_name");
  const char *recipient = field_str (data, "recipient_name");
  const char *url = field_url (data, "claim_url");
  g_autofree char *amount = field_amount (data, "amount", doc->ko);
  g_autofree char *title = NULL;

  if (url == NULL)
    return missing (error, "claim_url");
  if (sender != NULL)
    g_string_append_printf (doc->subject, doc->ko ? "%s님이 선물 카드를 보냈습니다"
                                                  : "%s sent you a gift card", sender);
  else
    g_string_append (doc->subject, L (doc, "선물 카드가 도착했습니다", "You received a gift card"));
  if (recipient != NULL)
    title = g_strdup_printf (doc->ko ? "%s님, 선물이 도착했습니다" : "A gift for %s", recipient);

  doc_title (doc, title ? title : L (doc, "선물이 도착했습니다", "You received a gift"));
  gift_message (doc, data);
  doc_row (doc, L (doc, "보낸 사람", "From"), sender);
  doc_row (doc, L (doc, "금액", "Amount"), amount);
  doc_row (doc, L (doc, "카드 디자인", "Card design"), design_title (doc, data));
  doc_row (doc, L (doc, "배경 음악", "Music"), music_title (doc, data));
  doc_button (doc, L (doc, "선물 받기", "Claim your gift"), url);
  doc_para (doc, L (doc, "링크는 한 번만 쓸 수 있습니다. 선물을 받을 때 비밀번호를 정하면 카드가 "
                         "등록되어 바로 사용할 수 있습니다.",
                    "The link works once. When you claim the gift you choose the card's "
                    "password; the card is then registered and ready to use."));
  return TRUE;
}

static gboolean
sms_gift (GString    *out,
          gboolean    ko,
          JsonObject *data,
          GError    **error)
{
  const char *sender = field_str (data, "sender_name");
  const char *url = field_url (data, "claim_url");

  if (url == NULL)
    return missing (error, "claim_url");
  if (sender != NULL)
    g_string_append_printf (out, ko ? "%s님이 선물 카드를 보냈습니다" : "%s sent you a gift card",
                            sender);
  else
    g_string_append (out, ko ? "선물 카드가 도착했습니다" : "You received a gift card");
  g_string_append_printf (out, ": %s", url);
  return TRUE;
}

/* virtual_account: bank, account, amount, currency, deadline; order_id and
 * order_url (the page to find the order again) for an order's transfer,
 * card_last4 for a recharge's */

static gboolean
email_virtual_account (Doc        *doc,
                       JsonObject *data,
                       GError    **error)
{
  const char *account = field_str (data, "account");
  g_autofree char *amount = field_amount (data, "amount", doc->ko);
  g_autofree char *deadline = field_date (data, "deadline", doc->ko, TRUE);
  g_autofree char *card = field_masked_card (data, "card_last4");

  if (account == NULL || amount == NULL)
    return missing (error, account ? "amount" : "account");
  g_string_append_printf (doc->subject, doc->ko ? "입금 안내 %s" : "Payment instructions: %s",
                          amount);
  doc_title (doc, L (doc, "가상계좌 입금 안내", "Pay by bank transfer"));
  doc_para (doc, L (doc, "아래 계좌로 기한 안에 입금하시면 결제가 완료됩니다.",
                    "Transfer the amount below to this account before the deadline to complete "
                    "your payment."));
  doc_row (doc, L (doc, "은행", "Bank"), field_str (data, "bank"));
  doc_row (doc, L (doc, "계좌 번호", "Account"), account);
  doc_row (doc, L (doc, "입금액", "Amount"), amount);
  doc_row (doc, L (doc, "입금 기한", "Deadline"), deadline);
  doc_row (doc, L (doc, "주문 번호", "Order"), field_str (data, "order_id"));
  doc_row (doc, L (doc, "충전할 카드", "Card to recharge"), card);
  if (field_str (data, "order_id") != NULL)
    doc_para (doc, L (doc, "기한이 지나면 주문은 취소됩니다.",
                      "After the deadline, the order is canceled."));
  else
    doc_para (doc, L (doc, "기한이 지나면 충전은 취소됩니다.",
                      "After the deadline, the recharge is canceled."));
  if (field_str (data, "order_id") != NULL && field_url (data, "order_url") != NULL)
    {
      doc_para (doc, L (doc, "결제 화면을 닫았어도 괜찮습니다. 아래에서 주문 번호와 주문할 때 적은 "
                             "전화번호나 이메일을 넣으면, 이 주소로 확인 코드를 보내 드립니다. "
                             "코드를 넣으면 입금 확인과 카드 번호를 볼 수 있습니다.",
                        "Closed the payment page? No matter: give the order number and the "
                        "phone number or e-mail address of the order below, and we send a "
                        "code to this address. With it you can follow the deposit and see "
                        "your cards."));
      doc_button (doc, L (doc, "주문 다시 찾기", "Find your order"),
                  field_url (data, "order_url"));
    }
  return TRUE;
}

static gboolean
sms_virtual_account (GString    *out,
                     gboolean    ko,
                     JsonObject *data,
                     GError    **error)
{
  const char *bank = field_str (data, "bank");
  const char *account = field_str (data, "account");
  g_autofree char *amount = field_amount (data, "amount", ko);
  g_autofree char *deadline = field_date (data, "deadline", ko, TRUE);

  if (account == NULL || amount == NULL)
    return missing (error, account ? "amount" : "account");
  if (ko)
    g_string_append_printf (out, "입금 안내: %s%s%s %s", bank ? bank : "", bank ? " " : "", account,
                            amount);
  else
    g_string_append_printf (out, "Please transfer %s to %s%s%s", amount, bank ? bank : "",
                            bank ? " " : "", account);
  if (deadline != NULL)
    g_string_append_printf (out, ko ? ", %s까지" : " by %s", deadline);
  return TRUE;
}

/* order_access_code (e-mail only): order_id, code, expires_at */

static gboolean
email_order_access_code (Doc        *doc,
                         JsonObject *data,
                         GError    **error)
{
  const char *order = field_str (data, "order_id");
  const char *code = field_str (data, "code");
  g_autofree char *until = field_date (data, "expires_at", doc->ko, TRUE);

  if (order == NULL || !all_digits (code, 6))
    return missing (error, order ? "code" : "order_id");
  g_string_append (doc->subject, L (doc, "주문 확인 코드", "Your order code"));
  doc_title (doc, L (doc, "주문 확인 코드", "Your order code"));
  doc_para (doc, L (doc, "주문을 다시 열려면 주문 찾기 화면에 이 코드를 넣으세요. 한 번만, "
                         "10분 동안 쓸 수 있습니다.",
                    "To open your order again, enter this code where you asked for it. It "
                    "works once, for 10 minutes."));
  doc_row (doc, L (doc, "코드", "Code"), code);
  doc_row (doc, L (doc, "주문 번호", "Order"), order);
  doc_row (doc, L (doc, "유효 기한", "Valid until"), until);
  doc_para (doc, L (doc, "코드를 요청하지 않았다면 이 메일은 무시하세요. 코드 없이는 누구도 주문을 "
                         "열 수 없습니다. onepin은 전화나 메시지로 코드를 묻지 않습니다.",
                    "If you did not ask for it, ignore this e-mail: without the code nobody can "
                    "open your order. onepin never asks for it by phone or message."));
  return TRUE;
}

/* password_hint (e-mail only): card_last4, hint */

static gboolean
email_password_hint (Doc        *doc,
                     JsonObject *data,
                     GError    **error)
{
  const char *hint = field_str (data, "hint");
  g_autofree char *card = field_masked_card (data, "card_last4");

  if (hint == NULL)
    return missing (error, "hint");
  g_string_append (doc->subject, L (doc, "비밀번호 힌트", "Your password hint"));
  doc_title (doc, L (doc, "비밀번호 힌트", "Your password hint"));
  doc_para (doc, L (doc, "요청하신 카드의 비밀번호 힌트입니다. 카드를 등록할 때나 비밀번호를 바꿀 때 "
                         "직접 적으신 내용입니다.",
                    "Here is the hint you wrote for this card's password when you registered "
                    "it or last changed the password."));
  doc_row (doc, L (doc, "카드", "Card"), card);
  doc_row (doc, L (doc, "힌트", "Hint"), hint);
  doc_para (doc, L (doc, "힌트를 요청하지 않았다면 이 메일은 무시하세요. 힌트는 이 주소로만 "
                         "보내며, 비밀번호는 누구에게도 보내지 않습니다.",
                    "If you did not ask for it, ignore this e-mail: the hint is only ever sent "
                    "to this address, and the password itself is never sent to anyone."));
  return TRUE;
}

/* card_number (SMS only, never e-mail): number, amount, currency */

static gboolean
sms_card_number (GString    *out,
                 gboolean    ko,
                 JsonObject *data,
                 GError    **error)
{
  const char *number = field_str (data, "number");
  g_autofree char *amount = field_amount (data, "amount", ko);

  if (!all_digits (number, 16))
    return missing (error, "number");
  g_string_append_printf (out, ko ? "카드번호 %.4s-%.4s-%.4s-%.4s" : "Card number %.4s %.4s %.4s %.4s",
                          number, number + 4, number + 8, number + 12);
  if (amount != NULL)
    g_string_append_printf (out, " (%s)", amount);
  g_string_append (out, ko ? ". 등록한 뒤 사용하시고, 번호를 남에게 알려 주지 마세요."
                           : ". Register it before use, and keep the number to yourself.");
  return TRUE;
}

/* The templates */

typedef gboolean (*EmailFunc) (Doc *doc, JsonObject *data, GError **error);
typedef gboolean (*SmsFunc) (GString *out, gboolean ko, JsonObject *data, GError **error);

static const struct
{
  const char *name;
  EmailFunc   email;
  SmsFunc     sms;
} templates[] = {
  { "payment_receipt", email_payment_receipt, sms_payment_receipt },
  { "recharge", email_recharge, sms_recharge },
  { "refund", email_refund, sms_refund },
  { "purchase_statement", email_purchase_statement, sms_purchase_statement },
  { "gift", email_gift, sms_gift },
  { "virtual_account", email_virtual_account, sms_virtual_account },
  /* The code that opens an order again goes to the order's e-mail address. */
  { "order_access_code", email_order_access_code, NULL },
  /* A password hint goes only to the card's own profile e-mail address. */
  { "password_hint", email_password_hint, NULL },
  /* A card number goes only by SMS: e-mail is kept and forwarded too easily. */
  { "card_number", NULL, sms_card_number },
};

static gint
find_template (const char  *name,
               gboolean     email,
               GError     **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (templates); i++)
    if (g_strcmp0 (templates[i].name, name) == 0 &&
        (email ? templates[i].email != NULL : templates[i].sms != NULL))
      return i;
  g_set_error (error, GW_TEMPLATE_ERROR, GW_TEMPLATE_ERROR_UNKNOWN,
               "No %s template named %s", email ? "e-mail" : "SMS", name ? name : "(none)");
  return -1;
}

gboolean
gw_template_render_email (const char      *name,
                          const char      *locale,
                          JsonObject      *data,
                          GwEmailContent  *out,
                          GError         **error)
{
  gint i = find_template (name, TRUE, error);
  Doc doc = { 0 };

  if (i < 0)
    return FALSE;
  doc_begin (&doc, locale);
  if (!templates[i].email (&doc, data, error))
    {
      doc_abandon (&doc);
      return FALSE;
    }
  doc_finish (&doc, out);
  return TRUE;
}

char *
gw_template_render_sms (const char  *name,
                        const char  *locale,
                        JsonObject  *data,
                        GError     **error)
{
  gint i = find_template (name, FALSE, error);
  g_autoptr(GString) out = g_string_new ("[onepin] ");

  if (i < 0 || !templates[i].sms (out, g_strcmp0 (locale, "en") != 0, data, error))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}
