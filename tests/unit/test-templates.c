/* test-templates.c: every e-mail and SMS template, in Korean and English
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>

#include "gw-mime.h"
#include "gw-templates.h"
#include "onepin-json.h"
#include "onepin-test-smtp.h"

#define CLAIM "https://onepin.test/claim/gft_0123456789abcdef?t=x&y=1"

/* Full data for each template, with hostile text where people type it. */
static const struct
{
  const char *name;
  const char *data;
} full[] = {
  { "payment_receipt",
    "{\"merchant_name\":\"카페 <b>&amp;</b>\",\"amount\":12345,\"currency\":\"krw\","
    "\"balance_after\":1234567,\"card_last4\":\"4321\",\"created\":1700000000,"
    "\"payment_id\":\"pay_abc\"}" },
  { "recharge",
    "{\"card_last4\":\"4321\",\"amount\":50000,\"balance_after\":80000,\"currency\":\"krw\","
    "\"expires_at\":1900000000,\"created\":1700000000}" },
  { "refund",
    "{\"card_last4\":\"4321\",\"amount\":7000,\"currency\":\"krw\",\"bank_name\":\"국민은행\","
    "\"account_last4\":\"9876\",\"created\":1700000000}" },
  { "purchase_statement",
    "{\"order_id\":\"ord_1\",\"buyer_name\":\"김<i>철수</i>\",\"total\":130000,"
    "\"currency\":\"krw\",\"created\":1700000000,\"paid_by\":\"card\","
    "\"lines\":[{\"denomination\":10000,\"quantity\":3},{\"denomination\":100000,\"quantity\":1}],"
    "\"cards\":[{\"last4\":\"1111\",\"denomination\":10000},"
    "{\"last4\":\"2222\",\"denomination\":100000}]}" },
  { "gift",
    "{\"sender_name\":\"이영희\",\"recipient_name\":\"박민수\",\"message\":\"생일 축하해! <script>x</script>\","
    "\"design\":\"birthday\",\"font_color\":\"#aa3366\",\"font_size\":12,\"music\":\"happy_birthday\","
    "\"claim_url\":\"" CLAIM "\",\"amount\":30000,\"currency\":\"krw\","
    "\"number\":\"9410123456789012\"}" },
  { "virtual_account",
    "{\"bank\":\"신한은행\",\"account\":\"562-910-123456\",\"amount\":55000,\"currency\":\"krw\","
    "\"deadline\":1700086400,\"order_id\":\"ord_0123456789abcdef01234567\","
    "\"order_url\":\"https://cards.onepin.test/buy#resume\"}" },
  { "order_access_code",
    "{\"order_id\":\"ord_0123456789abcdef01234567\",\"code\":\"042917\","
    "\"expires_at\":1700000600}" },
  { "password_hint",
    "{\"card_last4\":\"9012\",\"hint\":\"할머니 <b>생신</b>\"}" },
};

static char *tmp_dir;

static JsonObject *
object (const char *json)
{
  g_autoptr(GError) error = NULL;
  JsonObject *o = onepin_json_parse_object (json, strlen (json), &error);

  g_assert_no_error (error);
  return o;
}

static void
render (const char     *name,
        const char     *locale,
        const char     *data,
        GwEmailContent *out)
{
  g_autoptr(JsonObject) o = object (data);
  g_autoptr(GError) error = NULL;

  g_assert_true (gw_template_render_email (name, locale, o, out, &error));
  g_assert_no_error (error);
}

static char *
render_sms (const char *name,
            const char *locale,
            const char *data)
{
  g_autoptr(JsonObject) o = object (data);
  g_autoptr(GError) error = NULL;
  char *text = gw_template_render_sms (name, locale, o, &error);

  g_assert_no_error (error);
  return text;
}

static void
assert_contains (const char *haystack,
                 const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("expected \"%s\" in:\n%s", needle, haystack);
}

static void
assert_lacks (const char *haystack,
              const char *needle)
{
  if (strstr (haystack, needle) != NULL)
    g_error ("did not expect \"%s\" in:\n%s", needle, haystack);
}

static void
test_amounts (void)
{
  const struct
  {
    gint64 amount;
    const char *currency;
    gboolean korean;
    const char *expected;
  } cases[] = {
    { 0, "krw", TRUE, "0원" }, { 999, "krw", TRUE, "999원" }, { 1000, "krw", TRUE, "1,000원" },
    { 1234567, "krw", TRUE, "1,234,567원" }, { 1000000, "krw", FALSE, "₩1,000,000" },
    { 5000, NULL, FALSE, "₩5,000" }, { 100000, "KRW", TRUE, "100,000원" },
    { -2500, "krw", TRUE, "-2,500원" }, { 1234, "usd", TRUE, "12.34 USD" },
    { 1, "😀kr", TRUE, NULL }, { 1, "us", FALSE, NULL }, { 1, "USD", FALSE, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *s = gw_template_format_amount (cases[i].amount, cases[i].currency,
                                                      cases[i].korean);

      g_assert_cmpstr (s, ==, cases[i].expected);
    }
}

/* Every template, both languages: a message Python reads without a defect,
 * the same subject, and HTML that escapes what people typed. */
static void
test_every_email (void)
{
  const char *locales[] = { "ko", "en" };

  for (guint t = 0; t < G_N_ELEMENTS (full); t++)
    for (guint l = 0; l < G_N_ELEMENTS (locales); l++)
      {
        g_auto(GwEmailContent) content = { 0 };
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) bytes = NULL;
        g_autoptr(JsonArray) parsed = NULL;
        g_autofree char *path = g_build_filename (tmp_dir, "m.eml", NULL);
        g_autofree char *lang = g_strdup_printf ("<html lang=\"%s\">", locales[l]);
        const char *paths[] = { path, NULL };
        JsonObject *m;
        GwMimeMessage mime = {
          .from_name = "onepin", .from_address = "no-reply@onepin.test",
          .to_address = "someone@example.com", .message_id = "t@onepin.test",
          .date = 1700000000, .language = locales[l],
        };

        render (full[t].name, locales[l], full[t].data, &content);
        g_assert_true (g_str_has_prefix (content.subject, "[onepin] "));
        assert_contains (content.html, lang);
        assert_lacks (content.html, "<script>");
        assert_lacks (content.html, "<b>");
        assert_lacks (content.html, "<i>");
        assert_lacks (content.text, "(null)");
        assert_lacks (content.html, "(null)");
        assert_lacks (content.text, "9410123456789012");
        assert_lacks (content.html, "9410123456789012");

        mime.subject = content.subject;
        mime.text = content.text;
        mime.html = content.html;
        bytes = gw_mime_build (&mime, &error);
        g_assert_no_error (error);
        g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                             &error);
        g_assert_no_error (error);
        parsed = ot_mail_parse_files (paths);
        m = json_array_get_object_element (parsed, 0);
        g_assert_cmpuint (json_array_get_length (json_object_get_array_member (m, "defects")),
                          ==, 0);
        g_assert_cmpstr (json_object_get_string_member (m, "subject"), ==, content.subject);
        g_assert_cmpstr (json_object_get_string_member (m, "text"), ==, content.text);
        g_assert_cmpint (json_object_get_int_member (m, "max_line"), <=, 78);
        g_unlink (path);
      }
}

static void
test_payment_receipt (void)
{
  g_auto(GwEmailContent) ko = { 0 };
  g_auto(GwEmailContent) en = { 0 };

  render ("payment_receipt", "ko", full[0].data, &ko);
  g_assert_cmpstr (ko.subject, ==, "[onepin] 카페 <b>&amp;</b> 결제 12,345원");
  assert_contains (ko.text, "가맹점: 카페 <b>&amp;</b>\n");
  assert_contains (ko.text, "결제 금액: 12,345원\n");
  assert_contains (ko.text, "결제 후 잔액: 1,234,567원\n");
  assert_contains (ko.text, "카드: **** **** **** 4321\n");
  assert_contains (ko.text, "결제 일시: 2023년 11월 15일 07:13 KST\n");
  assert_contains (ko.text, "결제 번호: pay_abc\n");
  assert_contains (ko.html, "카페 &lt;b&gt;&amp;amp;&lt;/b&gt;");
  assert_contains (ko.html, "<title>[onepin] 카페 &lt;b&gt;&amp;amp;&lt;/b&gt; 결제 12,345원</title>");

  render ("payment_receipt", "en", full[0].data, &en);
  g_assert_cmpstr (en.subject, ==, "[onepin] Receipt: ₩12,345 at 카페 <b>&amp;</b>");
  assert_contains (en.text, "Balance after: ₩1,234,567\n");
  assert_contains (en.text, "Date: 15 Nov 2023, 07:13 KST\n");
}

/* Optional fields missing: their lines are left out, nothing shows "(null)". */
static void
test_missing_fields (void)
{
  g_auto(GwEmailContent) receipt = { 0 };
  g_auto(GwEmailContent) statement = { 0 };
  g_auto(GwEmailContent) gift = { 0 };
  g_autofree char *sms = NULL;

  render ("payment_receipt", "ko", "{\"amount\":5000}", &receipt);
  g_assert_cmpstr (receipt.subject, ==, "[onepin] 결제 5,000원");
  assert_contains (receipt.text, "결제 금액: 5,000원");
  assert_lacks (receipt.text, "가맹점");
  assert_lacks (receipt.text, "카드:");
  assert_lacks (receipt.html, "가맹점");

  render ("purchase_statement", "en",
          "{\"order_id\":\"ord_2\",\"lines\":[{\"denomination\":\"x\"}],\"cards\":[{}],"
          "\"paid_by\":\"crypto\"}", &statement);
  assert_contains (statement.text, "Thank you for buying onepin cards.");
  assert_contains (statement.text, "Paid by: crypto");
  assert_lacks (statement.text, "Total");
  assert_lacks (statement.text, "Dear");

  render ("gift", "en", "{\"claim_url\":\"" CLAIM "\",\"font_color\":\"red;background:url(x)\","
                        "\"font_size\":\"huge\",\"message\":\"hi\"}", &gift);
  g_assert_cmpstr (gift.subject, ==, "[onepin] You received a gift card");
  assert_contains (gift.html, "color:#1c1c1c;font-size:18px");
  assert_lacks (gift.html, "url(x)");

  sms = render_sms ("payment_receipt", "en", "{\"amount\":700}");
  g_assert_cmpstr (sms, ==, "[onepin] Paid ₩700");
  assert_lacks (sms, "(null)");
}

static void
test_statement (void)
{
  g_auto(GwEmailContent) ko = { 0 };
  g_auto(GwEmailContent) en = { 0 };

  render ("purchase_statement", "ko", full[3].data, &ko);
  g_assert_cmpstr (ko.subject, ==, "[onepin] 구매 내역서 (주문 ord_1)");
  assert_contains (ko.text, "김<i>철수</i>님, onepin 카드를 구매해 주셔서 감사합니다.");
  assert_contains (ko.text, "결제 수단: 신용카드\n");
  assert_contains (ko.text, "합계: 130,000원\n");
  assert_contains (ko.text, "10,000원 카드 × 3장: 30,000원\n");
  assert_contains (ko.text, "100,000원 카드 × 1장: 100,000원\n");
  /* Sent when the cards are allocated, before any is registered or given:
   * it claims no purpose for them. */
  assert_contains (ko.text, "**** **** **** 1111: 10,000원 카드\n");
  assert_contains (ko.text, "**** **** **** 2222: 100,000원 카드\n");
  assert_lacks (ko.text, ": 본인용");
  assert_contains (ko.html, "김&lt;i&gt;철수&lt;/i&gt;님");

  render ("purchase_statement", "en", full[3].data, &en);
  assert_contains (en.text, "Dear 김<i>철수</i>, thank you for buying onepin cards.");
  assert_contains (en.text, "₩10,000 card × 3: ₩30,000\n");
  assert_contains (en.text, "**** **** **** 2222: ₩100,000 card\n");
  assert_lacks (en.text, ": For user");
}

/* The gift carries the claim link, never the number. */
static void
test_gift (void)
{
  g_auto(GwEmailContent) ko = { 0 };
  g_autoptr(GError) error = NULL;
  const char *bad_urls[] = {
    "{}", "{\"claim_url\":\"javascript:alert(1)\"}", "{\"claim_url\":\"https://x.test/\\\"a\"}",
    "{\"claim_url\":\"https://x.test/<a>\"}", "{\"claim_url\":\"https://x.test/a b\"}",
    "{\"claim_url\":\"ftp://x.test/\"}",
  };

  render ("gift", "ko", full[4].data, &ko);
  g_assert_cmpstr (ko.subject, ==, "[onepin] 이영희님이 선물 카드를 보냈습니다");
  assert_contains (ko.text, "박민수님, 선물이 도착했습니다");
  assert_contains (ko.text, CLAIM);
  assert_contains (ko.text, "금액: 30,000원");
  assert_contains (ko.html, "href=\"https://onepin.test/claim/gft_0123456789abcdef?t=x&amp;y=1\"");
  assert_contains (ko.html, "background:#fde2e4");
  assert_contains (ko.html, "color:#aa3366;font-size:24px;");
  assert_contains (ko.html, "생일 축하해! &lt;script&gt;x&lt;/script&gt;");
  /* Claiming registers the card: there is nothing to register after. */
  assert_contains (ko.text, "선물을 받을 때 비밀번호를 정하면 카드가 등록되어 바로 사용할 수 있습니다.");
  assert_lacks (ko.text, "받은 뒤 카드를 등록하면");

  for (guint i = 0; i < G_N_ELEMENTS (bad_urls); i++)
    {
      g_autoptr(JsonObject) o = object (bad_urls[i]);
      g_auto(GwEmailContent) out = { 0 };

      g_assert_false (gw_template_render_email ("gift", "ko", o, &out, &error));
      g_assert_error (error, GW_TEMPLATE_ERROR, GW_TEMPLATE_ERROR_DATA);
      g_clear_error (&error);
    }
}

/* The recharge e-mail shows a card's validity as the card does: a card
 * valid to the end of a month (expires_at the next month's first second,
 * UTC) by month and year; another by its last valid day, in Korea time. */
static void
test_recharge_expiry (void)
{
  struct { const char *locale; gint64 expires_at; const char *shown; } cases[] = {
    { "ko", 1953849600, "유효 기간: 2031년 11월\n" },
    { "en", 1953849600, "Valid until: 11/2031\n" },
    { "ko", 1931353200, "유효 기간: 2031년 3월 15일\n" },
    { "en", 1931353200, "Valid until: 15 Mar 2031\n" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(GwEmailContent) out = { 0 };
      g_autofree char *data = g_strdup_printf ("{\"card_last4\":\"4321\",\"amount\":50000,"
                                               "\"currency\":\"krw\",\"expires_at\":%" G_GINT64_FORMAT
                                               ",\"created\":1700000000}", cases[i].expires_at);

      render ("recharge", cases[i].locale, data, &out);
      assert_contains (out.text, cases[i].shown);
    }
}

/* An order's transfer e-mail tells how to find the order again, with a
 * link that carries nothing secret; the code's e-mail carries the code. A
 * recharge's transfer (no order) has neither. */
static void
test_order_access (void)
{
  g_auto(GwEmailContent) va = { 0 };
  g_auto(GwEmailContent) recharge = { 0 };
  g_auto(GwEmailContent) code_ko = { 0 };
  g_auto(GwEmailContent) code_en = { 0 };
  g_autoptr(JsonObject) no_code = object ("{\"order_id\":\"ord_1\",\"code\":\"12345\"}");
  g_auto(GwEmailContent) out = { 0 };
  g_autoptr(GError) error = NULL;

  render ("virtual_account", "en", full[5].data, &va);
  assert_contains (va.text, "Order: ord_0123456789abcdef01234567\n");
  assert_contains (va.text, "Find your order:\nhttps://cards.onepin.test/buy#resume\n");
  assert_contains (va.html, "href=\"https://cards.onepin.test/buy#resume\"");
  assert_lacks (va.text, "otk_");

  assert_contains (va.text, "After the deadline, the order is canceled.");
  assert_lacks (va.text, "Card:");

  render ("virtual_account", "ko", "{\"account\":\"562\",\"amount\":10000,\"currency\":\"krw\","
                                   "\"card_last4\":\"4321\","
                                   "\"order_url\":\"javascript:alert(1)\"}", &recharge);
  assert_contains (recharge.text, "충전할 카드: **** **** **** 4321\n");
  assert_contains (recharge.text, "기한이 지나면 충전은 취소됩니다.");
  assert_lacks (recharge.text, "주문은 취소");
  assert_lacks (recharge.text, "주문 번호");
  {
    g_auto(GwEmailContent) en = { 0 };

    render ("virtual_account", "en", "{\"account\":\"562\",\"amount\":10000,\"currency\":\"krw\","
                                     "\"card_last4\":\"4321\"}", &en);
    assert_contains (en.text, "Card to recharge: **** **** **** 4321\n");
    assert_contains (en.text, "After the deadline, the recharge is canceled.");
  }
  assert_lacks (recharge.text, "주문 다시 찾기");
  assert_lacks (recharge.html, "javascript");

  render ("order_access_code", "ko", full[6].data, &code_ko);
  g_assert_cmpstr (code_ko.subject, ==, "[onepin] 주문 확인 코드");
  assert_contains (code_ko.text, "코드: 042917\n");
  assert_contains (code_ko.text, "주문 번호: ord_0123456789abcdef01234567\n");
  render ("order_access_code", "en", full[6].data, &code_en);
  g_assert_cmpstr (code_en.subject, ==, "[onepin] Your order code");
  assert_contains (code_en.text, "Code: 042917\n");
  assert_contains (code_en.text, "Valid until: 15 Nov 2023, 07:23 KST\n");
  /* The subject, which phones show on a locked screen, never has the code. */
  assert_lacks (code_en.subject, "042917");

  g_assert_false (gw_template_render_email ("order_access_code", "en", no_code, &out, &error));
  g_assert_error (error, GW_TEMPLATE_ERROR, GW_TEMPLATE_ERROR_DATA);
  g_clear_error (&error);
  g_assert_null (gw_template_render_sms ("order_access_code", "en", no_code, &error));
  g_assert_error (error, GW_TEMPLATE_ERROR, GW_TEMPLATE_ERROR_UNKNOWN);
}

/* The site's own file @name (gateway-server/site/js/…, or css/… when @dir says so). */
static char *
site_file_in (const char *dir,
              const char *name)
{
  g_autofree char *path = g_build_filename (SITE_DIR, dir, name, NULL);
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static char *
site_file (const char *name)
{
  return site_file_in ("js", name);
}

/* The site's Korean names a card "{amount}원권", which ends in a consonant:
 * the particles after {card} are 을, 은, 이, 과, 으로, never 를, 는, 가, 와,
 * 로. */
static void
test_site_particles (void)
{
  g_autofree char *strings = site_file ("strings.js");
  g_autoptr(GRegex) wrong = g_regex_new ("\\{card\\}(를|는|가|와|로)", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;

  g_assert_nonnull (strstr (strings, "'card.denomination': '{amount}원권'"));
  if (g_regex_match (wrong, strings, 0, &match))
    g_error ("strings.js: \"%s\" after a card's name ending in a consonant",
             g_match_info_fetch (match, 0));
}

/* Every match of @pattern's first group in @text. */
static GPtrArray *
site_names (const char *text,
            const char *pattern)
{
  g_autoptr(GRegex) regex = g_regex_new (pattern, G_REGEX_MULTILINE, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (g_regex_match (regex, text, 0, &match); g_match_info_matches (match);
       g_match_info_next (match, NULL))
    g_ptr_array_add (names, g_match_info_fetch (match, 1));
  g_assert_cmpuint (names->len, >, 0);
  return names;
}

/* The page's title for @key ("music.canon") in the locale block of
 * strings.js that starts at @block ("\n  ko: {"). */
static char *
site_title (const char *strings,
            const char *block,
            const char *key)
{
  const char *start = strstr (strings, block);
  g_autofree char *pattern = g_strdup_printf ("^    '%s': '([^']*)',$", key);
  g_autoptr(GRegex) regex = g_regex_new (pattern, G_REGEX_MULTILINE, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;

  g_assert_nonnull (start);
  if (!g_regex_match (regex, start, 0, &match))
    g_error ("strings.js has no %s after \"%s\"", key, block + 1);
  return g_match_info_fetch (match, 1);
}

/* The API's three sizes (8, 10, 12: gw-api-orders.c, gift.js SIZES) show in
 * the e-mail at the size the page's preview draws them (site.css .size-…),
 * three sizes apart, none below the e-mail's 15px body. */
static void
test_gift_sizes (void)
{
  g_autofree char *gift_js = site_file ("gift.js");
  g_autofree char *css = site_file_in ("css", "site.css");
  const int points[] = { 8, 10, 12 };
  gint64 last = 0;

  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      g_autofree char *js_pattern = g_strdup_printf ("SIZES = \\{[^}]*\\b%d: '([a-z]+)'", points[i]);
      g_autoptr(GPtrArray) names = site_names (gift_js, js_pattern);
      g_autofree char *css_pattern = g_strdup_printf ("^\\.size-%s \\{ font-size: ([0-9]+)px; \\}$",
                                                      (char *) g_ptr_array_index (names, 0));
      g_autoptr(GPtrArray) px = site_names (css, css_pattern);
      g_autofree char *data = g_strdup_printf ("{\"claim_url\":\"" CLAIM "\",\"message\":\"hi\","
                                               "\"font_size\":%d}", points[i]);
      g_autofree char *style = g_strdup_printf ("font-size:%spx;", (char *) g_ptr_array_index (px, 0));
      g_auto(GwEmailContent) out = { 0 };
      gint64 size = g_ascii_strtoll (g_ptr_array_index (px, 0), NULL, 10);

      g_assert_cmpint (size, >, last);
      g_assert_cmpint (size, >=, 14);
      last = size;
      render ("gift", "en", data, &out);
      assert_contains (out.html, style);
    }
}

/* Each design and tune the site offers shows in the gift e-mail by the
 * title its page gives it, in the e-mail's language; never by its name. */
static void
test_gift_titles (void)
{
  g_autofree char *strings = site_file ("strings.js");
  g_autofree char *gift_js = site_file ("gift.js");
  g_autofree char *music_js = site_file ("music.js");
  g_autoptr(GPtrArray) designs = NULL;
  g_autoptr(GPtrArray) tunes = site_names (music_js, "^    ([a-z0-9_]+): '[A-G]");
  g_autoptr(GRegex) list = g_regex_new ("DESIGNS = \\[([^\\]]*)\\]", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *design_list = NULL;
  const struct { const char *locale, *block, *design, *music; } locales[] = {
    { "en", "\n  en: {", "Card design", "Music" },
    { "ko", "\n  ko: {", "카드 디자인", "배경 음악" },
  };

  g_assert_true (g_regex_match (list, gift_js, 0, &match));
  design_list = g_match_info_fetch (match, 1);
  designs = site_names (design_list, "'([a-z0-9_]+)'");

  for (guint l = 0; l < G_N_ELEMENTS (locales); l++)
    for (guint kind = 0; kind < 2; kind++)
      {
        GPtrArray *names = kind == 0 ? designs : tunes;

        for (guint i = 0; i < names->len; i++)
          {
            const char *name = g_ptr_array_index (names, i);
            g_autofree char *key = g_strconcat (kind == 0 ? "design." : "music.", name, NULL);
            g_autofree char *title = site_title (strings, locales[l].block, key);
            g_autofree char *data = g_strdup_printf ("{\"claim_url\":\"" CLAIM "\","
                                                     "\"design\":\"%s\",\"music\":\"%s\"}",
                                                     kind == 0 ? name : "birthday",
                                                     kind == 0 ? "none" : name);
            g_autofree char *row = g_strdup_printf ("%s: %s\n", kind == 0 ? locales[l].design
                                                                          : locales[l].music,
                                                    title);
            g_autofree char *escaped = g_markup_escape_text (title, -1);
            g_auto(GwEmailContent) out = { 0 };

            render ("gift", locales[l].locale, data, &out);
            assert_contains (out.text, row);
            assert_contains (out.html, escaped);
            if (kind == 1)
              assert_lacks (out.text, name);
          }
      }
}

/* A design or tune the site does not offer, and no music, leave their row
 * out: an internal name is not for the reader, nor is anything typed. */
static void
test_gift_unknown_choices (void)
{
  g_auto(GwEmailContent) en = { 0 };
  g_auto(GwEmailContent) ko = { 0 };

  render ("gift", "en", "{\"claim_url\":\"" CLAIM "\",\"design\":\"spring_2031\","
                        "\"music\":\"none\",\"message\":\"hi\"}", &en);
  assert_lacks (en.text, "Card design");
  assert_lacks (en.text, "spring_2031");
  assert_lacks (en.text, "Music");
  assert_lacks (en.text, "none");
  assert_contains (en.html, "background:#eef2ff");

  render ("gift", "ko", "{\"claim_url\":\"" CLAIM "\",\"design\":\"<b>x</b>\","
                        "\"music\":\"secret_tune_9\"}", &ko);
  assert_lacks (ko.text, "카드 디자인");
  assert_lacks (ko.text, "배경 음악");
  assert_lacks (ko.text, "secret_tune_9");
  assert_lacks (ko.html, "secret_tune_9");
  assert_lacks (ko.html, "<b>x</b>");
}

static void
test_sms (void)
{
  const struct
  {
    const char *name;
    const char *locale;
    const char *data;
    const char *expected;
  } cases[] = {
    { "payment_receipt", "ko", full[0].data,
      "[onepin] 카페 <b>&amp;</b> 12,345원 결제, 잔액 1,234,567원 (카드 *4321) 2023년 11월 15일 07:13 KST" },
    { "recharge", "en", full[1].data, "[onepin] Recharged ₩50,000. Balance ₩80,000 (card *4321)" },
    { "refund", "ko", full[2].data,
      "[onepin] 7,000원 환불 완료: 국민은행 ****9876. 끝자리 4321 카드는 해지되었습니다." },
    { "purchase_statement", "en", full[3].data,
      "[onepin] Order ord_1 is paid. Total ₩130,000, 2 cards" },
    { "gift", "ko", full[4].data, "[onepin] 이영희님이 선물 카드를 보냈습니다: " CLAIM },
    { "virtual_account", "en", full[5].data,
      "[onepin] Please transfer ₩55,000 to 신한은행 562-910-123456 by 16 Nov 2023, 07:13 KST" },
    { "card_number", "ko", "{\"number\":\"9410123456789012\",\"amount\":10000,\"currency\":\"krw\"}",
      "[onepin] 카드번호 9410-1234-5678-9012 (10,000원). 등록한 뒤 사용하시고, 번호를 남에게 알려 주지 마세요." },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = render_sms (cases[i].name, cases[i].locale, cases[i].data);

      g_assert_cmpstr (text, ==, cases[i].expected);
    }
}

static void
test_refusals (void)
{
  g_autoptr(JsonObject) number = object ("{\"number\":\"9410123456789012\"}");
  g_autoptr(JsonObject) empty = object ("{}");
  g_autoptr(JsonObject) short_number = object ("{\"number\":\"9410\"}");
  g_auto(GwEmailContent) out = { 0 };
  g_autoptr(GError) error = NULL;

  /* A card number is never put in an e-mail. */
  g_assert_false (gw_template_render_email ("card_number", "ko", number, &out, &error));
  g_assert_error (error, GW_TEMPLATE_ERROR, GW_TEMPLATE_ERROR_UNKNOWN);
  g_clear_error (&error);
  g_assert_false (gw_template_render_email ("no_such", "ko", empty, &out, &error));
  g_assert_error (error, GW_TEMPLATE_ERROR, GW_TEMPLATE_ERROR_UNKNOWN);
  g_clear_error (&error);
  g_assert_null (gw_template_render_sms ("card_number", "ko", short_number, &error));
  g_assert_error (error, GW_TEMPLATE_ERROR, GW_TEMPLATE_ERROR_DATA);
  g_clear_error (&error);
  g_assert_false (gw_template_render_email ("payment_receipt", "ko", empty, &out, &error));
  g_assert_error (error, GW_TEMPLATE_ERROR, GW_TEMPLATE_ERROR_DATA);
  g_clear_error (&error);
  g_assert_false (gw_template_render_email ("virtual_account", "en", empty, &out, &error));
  g_assert_error (error, GW_TEMPLATE_ERROR, GW_TEMPLATE_ERROR_DATA);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("onepin-templates-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/templates/amounts", test_amounts);
  g_test_add_func ("/templates/recharge-expiry", test_recharge_expiry);
  g_test_add_func ("/templates/site-particles", test_site_particles);
  g_test_add_func ("/templates/every-email", test_every_email);
  g_test_add_func ("/templates/payment-receipt", test_payment_receipt);
  g_test_add_func ("/templates/missing-fields", test_missing_fields);
  g_test_add_func ("/templates/statement", test_statement);
  g_test_add_func ("/templates/gift", test_gift);
  g_test_add_func ("/templates/gift-titles", test_gift_titles);
  g_test_add_func ("/templates/gift-sizes", test_gift_sizes);
  g_test_add_func ("/templates/order-access", test_order_access);
  g_test_add_func ("/templates/gift-unknown-choices", test_gift_unknown_choices);
  g_test_add_func ("/templates/sms", test_sms);
  g_test_add_func ("/templates/refusals", test_refusals);

  status = g_test_run ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
