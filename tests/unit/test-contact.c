/* test-contact.c: unit tests for onepin-contact
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The e-mail grammar's cases are in test-mime.c, as the mailer's rule.
 */
#include "onepin-shared.h"

static void
test_name (void)
{
  g_autofree char *hundred = g_strnfill (100, 'a');
  g_autofree char *too_long = g_strnfill (101, 'a');
  GString *korean = g_string_new (NULL);

  g_assert_true (onepin_contact_name_valid ("홍길동"));
  g_assert_true (onepin_contact_name_valid ("H"));
  g_assert_true (onepin_contact_name_valid (" "));
  g_assert_true (onepin_contact_name_valid (hundred));
  g_assert_false (onepin_contact_name_valid (too_long));
  g_assert_false (onepin_contact_name_valid (""));
  g_assert_false (onepin_contact_name_valid (NULL));
  g_assert_false (onepin_contact_name_valid ("Kim\nLee"));
  g_assert_false (onepin_contact_name_valid ("Kim\tLee"));
  g_assert_false (onepin_contact_name_valid ("Kim\x7f"));
  g_assert_false (onepin_contact_name_valid ("Kim \xff"));
  /* nothing that hides or turns the name around: see onepin-text.c */
  g_assert_false (onepin_contact_name_valid ("\xe2\x80\xae" "eeL miK"));  /* U+202E */
  g_assert_false (onepin_contact_name_valid ("Kim\xe2\x80\x8b" "Lee"));   /* U+200B */
  g_assert_false (onepin_contact_name_valid ("Kim\xc2\x85"));             /* U+0085 */
  g_assert_true (onepin_contact_name_valid ("José 👩‍💻"));

  /* characters, not bytes: 100 Korean syllables are 300 bytes */
  for (guint i = 0; i < 100; i++)
    g_string_append (korean, "가");
  g_assert_true (onepin_contact_name_valid (korean->str));
  g_string_append (korean, "가");
  g_assert_false (onepin_contact_name_valid (korean->str));
  g_string_free (korean, TRUE);
}

static void
test_email (void)
{
  g_assert_true (onepin_contact_email_valid ("gildong@example.com"));
  g_assert_false (onepin_contact_email_valid ("gildong@@example.com"));
  g_assert_false (onepin_contact_email_valid ("gildong"));
  g_assert_false (onepin_contact_email_valid (" gildong@example.com"));
  g_assert_false (onepin_contact_email_valid (NULL));
}

static void
test_phone (void)
{
  const char *valid[] = {
    "010-1234-5678", "01012345678", "+82-10-1234-5678", "1234567", "+1234567",
    "12345678901234567890",
  };
  const char *invalid[] = {
    "", "123456", "123-456", "+123456", "-0101234567", "0101234567-", "010 1234 5678",
    "+-0101234567", "010-1234-567a", "++821012345678", "123456789012345678901", "(02) 123-4567",
    "1-2-3-4-5-6", "+82-------1",
  };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    if (!onepin_contact_phone_valid (valid[i]))
      g_error ("\"%s\" should be valid", valid[i]);
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    if (onepin_contact_phone_valid (invalid[i]))
      g_error ("\"%s\" should be invalid", invalid[i]);
  g_assert_false (onepin_contact_phone_valid (NULL));
}

/* The gateway's rule for a calling number, which the wallet checks too:
 * what it keeps is the national number. */
static void
test_calling_number (void)
{
  static const char *const cases[][2] = {
    { "01012345678", "01012345678" },
    { "+821012345678", "01012345678" },
    { "+82212345678", "0212345678" },
    { "+12025550123", "12025550123" },
    { "1234", "1234" },
    { "+1234", "1234" },
    { "12345678901234567890", "12345678901234567890" },
    { "123", NULL },
    { "", NULL },
    { "+", NULL },
    { "+82", NULL },
    { "010-1234-5678", NULL },
    { "010 1234 5678", NULL },
    { "01012345678 ", NULL },
    { "++821012345678", NULL },
    { "123456789012345678901", NULL },
    { "０１０１２３４５６７８", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *digits = onepin_contact_calling_number (cases[i][0]);

      if (g_strcmp0 (digits, cases[i][1]) != 0)
        g_error ("\"%s\" gave \"%s\", not \"%s\"", cases[i][0], digits, cases[i][1]);
    }
  g_assert_null (onepin_contact_calling_number (NULL));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/contact/name", test_name);
  g_test_add_func ("/contact/email", test_email);
  g_test_add_func ("/contact/phone", test_phone);
  g_test_add_func ("/contact/calling-number", test_calling_number);

  return g_test_run ();
}
