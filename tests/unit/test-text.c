/* test-text.c: unit tests for onepin-text
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-shared.h"

static void
test_accepted (void)
{
  const char *safe[] = {
    "", "Demo Mall", "데모 몰", "홍길동 상회", "Café Ünïcode", "مول", "שלום", "東京ストア",
    "全角　スペース",                        /* U+3000, a visible space */
    "e\xcc\x81",                           /* e + U+0301, a combining acute */
    "🛍️ Shop",                            /* U+FE0F, emoji presentation */
    "👍🏽",                                 /* a skin tone (Sk) */
    "👩‍💻 Dev Mall",                          /* ZWJ between two emoji */
    "🏳️‍🌈",                                 /* ZWJ after U+FE0F */
    "👨🏽‍🚀",                                 /* ZWJ after a skin tone */
    "\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7\xf3\xa0\x81\xa2\xf3\xa0\x81\xb3\xf3\xa0\x81\xa3"
    "\xf3\xa0\x81\xb4\xf3\xa0\x81\xbf Highland Mall",   /* Scotland's flag: 🏴 + tags gbsct */
    "\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7\xf3\xa0\x81\xa2\xf3\xa0\x81\xb7\xf3\xa0\x81\xac"
    "\xf3\xa0\x81\xb3\xf3\xa0\x81\xbf\xe2\x80\x8d\xf0\x9f\x8f\xb4", /* Wales's, ZWJ, 🏴 */
    "\xf0\x9f\x8f\xb4 Black Flag",        /* the flag alone */
    "Tom's \"Mall\" & <Co> 100%",
  };

  for (guint i = 0; i < G_N_ELEMENTS (safe); i++)
    if (!onepin_text_is_display_safe (safe[i], ONEPIN_TEXT_ONE_LINE))
      g_error ("\"%s\" was refused", safe[i]);
  g_assert_true (onepin_text_is_display_safe ("Happy birthday!\nLove,\nMom", ONEPIN_TEXT_LINES));
}

static void
test_refused (void)
{
  const char *unsafe[] = {
    "Kim\nLee", "Kim\rLee", "Kim\tLee", "Kim\x1b[31m", "Kim\x7f",
    "Kim\xc2\x85",                    /* U+0085, a C1 control */
    "Kim\xc2\xad" "Lee",              /* U+00AD soft hyphen */
    "\xe2\x80\xae" "llaM omeD",       /* U+202E right-to-left override */
    "Demo\xe2\x80\xaa" "Mall",        /* U+202A */
    "Demo\xe2\x80\x8f" "Mall",        /* U+200F right-to-left mark */
    "Demo\xe2\x80\x8b" "Mall",        /* U+200B zero width space */
    "Demo\xe2\x80\x8c" "Mall",        /* U+200C zero width non-joiner */
    "Demo\xe2\x80\x8d" "Mall",        /* U+200D between letters */
    "👩\xe2\x80\x8d",                 /* U+200D at the end */
    "\xe2\x80\x8d💻",                 /* U+200D at the start */
    "Demo\xe2\x81\xa0" "Mall",        /* U+2060 word joiner */
    "Demo\xe2\x81\xa4" "Mall",        /* U+2064 invisible plus */
    "\xe2\x81\xa6" "Demo Mall",       /* U+2066 left-to-right isolate */
    "Demo Mall\xe2\x81\xa9",          /* U+2069 pop directional isolate */
    "\xef\xbb\xbf" "Demo Mall",       /* U+FEFF byte order mark */
    "Demo\xe2\x80\xa8" "Mall",        /* U+2028 line separator */
    "Demo\xe2\x80\xa9" "Mall",        /* U+2029 paragraph separator */
    "Demo\xf3\xa0\x81\x81",           /* U+E0041 tag latin capital a */
    /* tags but a subdivision flag's: after letters, uppercase, a space, too
     * few or too many, no cancel tag, a cancel tag alone */
    "Demo\xf3\xa0\x81\xa7\xf3\xa0\x81\xa2\xf3\xa0\x81\xb3\xf3\xa0\x81\xbf",
    "\xf0\x9f\x8f\xb4\xf3\xa0\x81\x87\xf3\xa0\x81\x82\xf3\xa0\x81\x93\xf3\xa0\x81\xbf",
    "\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7\xf3\xa0\x80\xa0\xf3\xa0\x81\xb3\xf3\xa0\x81\xbf",
    "\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7\xf3\xa0\x81\xa2\xf3\xa0\x81\xbf",
    "\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa1\xf3\xa0\x81\xa1\xf3\xa0\x81\xa1\xf3\xa0\x81\xa1"
    "\xf3\xa0\x81\xa1\xf3\xa0\x81\xa1\xf3\xa0\x81\xa1\xf3\xa0\x81\xbf",
    "\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7\xf3\xa0\x81\xa2\xf3\xa0\x81\xb3 Mall",
    "\xf0\x9f\x8f\xb4\xf3\xa0\x81\xbf",
    "Demo\xf3\xa0\x81\xbf",
    "Demo\xef\xa3\xbf",               /* U+F8FF private use */
    "Demo\xef\xbf\xbe",               /* U+FFFE noncharacter */
    "Demo\xf1\x90\x80\x80",           /* U+50000, unassigned */
    "\xe3\x85\xa4",                   /* U+3164 Hangul filler */
    "\xe1\x85\x9f\xe1\x85\xa0",       /* U+115F U+1160 Hangul choseong/jungseong fillers */
    "Demo\xef\xbe\xa0",               /* U+FFA0 halfwidth Hangul filler */
    "Demo\xcd\x8f" "Mall",            /* U+034F combining grapheme joiner */
    "Kim \xff",                       /* not UTF-8 */
    "\xed\xa0\x80",                   /* an encoded surrogate */
  };

  for (guint i = 0; i < G_N_ELEMENTS (unsafe); i++)
    if (onepin_text_is_display_safe (unsafe[i], ONEPIN_TEXT_ONE_LINE))
      g_error ("case %u (\"%s\") was accepted", i, unsafe[i]);
  g_assert_false (onepin_text_is_display_safe (NULL, ONEPIN_TEXT_ONE_LINE));
}

/* Line breaks (LF, or CR LF as a form's text area sends them) only where
 * lines are asked for, and never a carriage return alone. */
static void
test_lines (void)
{
  g_assert_false (onepin_text_is_display_safe ("a\nb", ONEPIN_TEXT_ONE_LINE));
  g_assert_true (onepin_text_is_display_safe ("a\nb", ONEPIN_TEXT_LINES));
  g_assert_false (onepin_text_is_display_safe ("a\r\nb", ONEPIN_TEXT_ONE_LINE));
  g_assert_true (onepin_text_is_display_safe ("a\r\nb\r\n", ONEPIN_TEXT_LINES));
  g_assert_false (onepin_text_is_display_safe ("a\rb", ONEPIN_TEXT_LINES));
  g_assert_false (onepin_text_is_display_safe ("a\r", ONEPIN_TEXT_LINES));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/text/display-safe/accepted", test_accepted);
  g_test_add_func ("/text/display-safe/refused", test_refused);
  g_test_add_func ("/text/display-safe/lines", test_lines);

  return g_test_run ();
}
