/* test-crypto.c: unit tests for onepin-crypto
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-shared.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* Decodes a hex string into a new buffer; @len receives its size. */
static guint8 *
unhex (const char *hex,
       gsize      *len)
{
  gsize n = strlen (hex) / 2;
  guint8 *out = g_malloc (MAX (n, 1));

  g_assert_cmpuint (strlen (hex) % 2, ==, 0);
  for (gsize i = 0; i < n; i++)
    out[i] = (guint8) (g_ascii_xdigit_value (hex[2 * i]) * 16 +
                       g_ascii_xdigit_value (hex[2 * i + 1]));
  *len = n;
  return out;
}

static char *
tohex (const guint8 *buf,
       gsize         len)
{
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, "%02x", buf[i]);
  return g_string_free (out, FALSE);
}

static guint8 *
repeat_byte (guint8 byte,
             gsize  len)
{
  guint8 *out = g_malloc (len);

  memset (out, byte, len);
  return out;
}

/* ---- stateless primitives ----------------------------------------------- */

static void
test_init_twice (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (onepin_crypto_init (&error));
  g_assert_true (onepin_crypto_init (&error));
  g_assert_no_error (error);
}

static void
test_random (void)
{
  guint8 a[32] = { 0 }, b[32] = { 0 }, zero[32] = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *t1 = NULL;
  g_autofree char *t2 = NULL;

  g_assert_true (onepin_crypto_random (a, sizeof a, &error));
  g_assert_true (onepin_crypto_random (b, sizeof b, &error));
  g_assert_no_error (error);
  g_assert_true (memcmp (a, b, sizeof a) != 0);
  g_assert_true (memcmp (a, zero, sizeof a) != 0);
  g_assert_true (onepin_crypto_random (a, 0, &error));

  t1 = onepin_crypto_random_token ("tok_", 16);
  t2 = onepin_crypto_random_token ("tok_", 16);
  g_assert_cmpuint (strlen (t1), ==, 4 + 32);
  g_assert_true (g_str_has_prefix (t1, "tok_"));
  g_assert_cmpuint (strspn (t1 + 4, "0123456789abcdef"), ==, 32);
  g_assert_cmpstr (t1, !=, t2);
}

static void
test_sha256 (void)
{
  guint8 digest[32];
  g_autofree char *hex_abc = NULL;
  g_autofree char *hex_empty = NULL;

  g_assert_true (onepin_crypto_sha256 ("abc", 3, digest));
  hex_abc = tohex (digest, 32);
  g_assert_cmpstr (hex_abc, ==,
                   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  g_assert_true (onepin_crypto_sha256 (NULL, 0, digest));
  hex_empty = tohex (digest, 32);
  g_assert_cmpstr (hex_empty, ==,
                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_equal (void)
{
  g_assert_true (onepin_crypto_equal ("abcd", "abcd", 4));
  g_assert_false (onepin_crypto_equal ("abcd", "abce", 4));
  g_assert_false (onepin_crypto_equal ("xbcd", "abcd", 4));
  g_assert_true (onepin_crypto_equal ("abcd", "abce", 3));
  g_assert_true (onepin_crypto_equal (NULL, NULL, 0));

  g_assert_true (onepin_crypto_str_equal ("secret", "secret"));
  g_assert_false (onepin_crypto_str_equal ("secret", "secreT"));
  g_assert_false (onepin_crypto_str_equal ("secret", "secret2"));
  g_assert_false (onepin_crypto_str_equal ("", "x"));
  g_assert_true (onepin_crypto_str_equal ("", ""));
  g_assert_false (onepin_crypto_str_equal (NULL, "x"));
  g_assert_false (onepin_crypto_str_equal (NULL, NULL));
}

static void
assert_pbkdf2 (const char *password,
               const char *salt,
               guint       iterations,
               const char *expected_hex)
{
  gsize len = strlen (expected_hex) / 2;
  g_autofree guint8 *out = g_malloc (len);
  g_autofree char *hex = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (onepin_crypto_pbkdf2_sha256 (password, (const guint8 *) salt, strlen (salt),
                                              iterations, out, len, &error));
  g_assert_no_error (error);
  hex = tohex (out, len);
  g_assert_cmpstr (hex, ==, expected_hex);
}

/* RFC 7914 section 11 (PBKDF2-HMAC-SHA256 test vectors), plus a 32-byte
 * output checked against Python's hashlib.pbkdf2_hmac. */
static void
test_pbkdf2 (void)
{
  guint8 out[32];
  g_autoptr(GError) error = NULL;

  assert_pbkdf2 ("passwd", "salt", 1,
                 "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                 "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
  assert_pbkdf2 ("Password", "NaCl", 80000,
                 "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
                 "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d");
  assert_pbkdf2 ("password", "salt", 4096,
                 "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");

  g_assert_false (onepin_crypto_pbkdf2_sha256 ("p", (const guint8 *) "s", 1, 0, out, 32,
                                               &error));
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_FAILED);
}

static gint64
time_pbkdf2 (const char *password)
{
  static const guint8 salt[16] = "a salt of 16 b.";
  guint8 out[32];
  gint64 start = g_get_monotonic_time ();

  g_assert_true (onepin_crypto_pbkdf2_sha256 (password, salt, sizeof salt, 200000, out,
                                              sizeof out, NULL));
  return g_get_monotonic_time () - start;
}

/* NSS's softoken answers a repeated derivation from a cache that holds the
 * password and the result; ours leave nothing there, so a repeat costs
 * the whole work again (a cached one takes microseconds). */
static void
test_pbkdf2_not_kept (void)
{
  gint64 first = time_pbkdf2 ("a password to forget");
  gint64 again = time_pbkdf2 ("a password to forget");

  g_test_message ("first %" G_GINT64_FORMAT " us, again %" G_GINT64_FORMAT " us", first, again);
  g_assert_cmpint (again, >=, first / 4);
}

/* ---- HMAC ----------------------------------------------------------------- */

typedef struct
{
  guint8     *key;
  gsize       key_len;
  const char *data;
  gsize       data_len;
  const char *mac;   /* hex; may be truncated (RFC 4231 case 5) */
} HmacCase;

static void
test_hmac_rfc4231 (void)
{
  g_autofree guint8 *k1 = repeat_byte (0x0b, 20);
  g_autofree guint8 *k3 = repeat_byte (0xaa, 20);
  g_autofree guint8 *d3 = repeat_byte (0xdd, 50);
  g_autofree guint8 *k4 = NULL;
  g_autofree guint8 *d4 = repeat_byte (0xcd, 50);
  g_autofree guint8 *k5 = repeat_byte (0x0c, 20);
  g_autofree guint8 *k6 = repeat_byte (0xaa, 131);
  gsize k4_len;
  const char *d7 = "This is a test using a larger than block-size key and a larger "
                   "than block-size data. The key needs to be hashed before being "
                   "used by the HMAC algorithm.";

  k4 = unhex ("0102030405060708090a0b0c0d0e0f10111213141516171819", &k4_len);
  {
    const HmacCase cases[] = {
      { k1, 20, "Hi There", 8,
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
      { (guint8 *) "Jefe", 4, "what do ya want for nothing?", 28,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
      { k3, 20, (const char *) d3, 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
      { k4, k4_len, (const char *) d4, 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
      { k5, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b" },
      { k6, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
      { k6, 131, d7, strlen (d7),
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(OnepinKey) key = onepin_key_new_hmac (cases[i].key, cases[i].key_len, &error);
        guint8 mac[ONEPIN_HMAC_LEN];
        g_autofree char *hex = NULL;

        g_assert_no_error (error);
        /* Twice, so the second run uses a pooled context. */
        for (int round = 0; round < 2; round++)
          {
            g_clear_pointer (&hex, g_free);
            g_assert_true (onepin_key_hmac (key, cases[i].data, cases[i].data_len, mac));
            hex = tohex (mac, strlen (cases[i].mac) / 2);
            g_assert_cmpstr (hex, ==, cases[i].mac);
          }
      }
  }
}

static void
test_hmac_misuse (void)
{
  g_autoptr(GError) error = NULL;
  guint8 raw[32] = { 1 }, mac[ONEPIN_HMAC_LEN];
  g_autoptr(OnepinKey) aes = onepin_key_new_aes (raw, sizeof raw, &error);
  OnepinKey *none;

  g_assert_no_error (error);
  g_assert_false (onepin_key_hmac (aes, "x", 1, mac));

  none = onepin_key_new_hmac (raw, 0, &error);
  g_assert_null (none);
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_BAD_KEY);
}

#define N_THREADS 4
#define N_MESSAGES 64
#define N_ROUNDS 2000

typedef struct
{
  OnepinKey *key;
  guint8     expected[N_MESSAGES][ONEPIN_HMAC_LEN];
  guint      seed;
} HmacThreadData;

static char *
message_for (guint i)
{
  return g_strdup_printf ("payment %u amount %u", i, i * 7919);
}

static gpointer
hmac_thread (gpointer user_data)
{
  HmacThreadData *data = user_data;
  g_autoptr(GRand) rand = g_rand_new_with_seed (data->seed);
  guint failures = 0;

  for (guint r = 0; r < N_ROUNDS; r++)
    {
      guint i = g_rand_int_range (rand, 0, N_MESSAGES);
      g_autofree char *message = message_for (i);
      guint8 mac[ONEPIN_HMAC_LEN];

      if (!onepin_key_hmac (data->key, message, strlen (message), mac) ||
          memcmp (mac, data->expected[i], ONEPIN_HMAC_LEN) != 0)
        failures++;
    }

  return GUINT_TO_POINTER (failures);
}

/* Four threads share one key, as the gateway's HTTP and writer threads do;
 * every MAC must match the one computed alone. */
static void
test_hmac_threads (void)
{
  guint8 raw[32];
  g_autoptr(GError) error = NULL;
  g_autoptr(OnepinKey) key = NULL;
  HmacThreadData data[N_THREADS];
  GThread *threads[N_THREADS];

  g_assert_true (onepin_crypto_random (raw, sizeof raw, &error));
  key = onepin_key_new_hmac (raw, sizeof raw, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < N_MESSAGES; i++)
    {
      g_autofree char *message = message_for (i);

      g_assert_true (onepin_key_hmac (key, message, strlen (message), data[0].expected[i]));
    }
  for (guint t = 0; t < N_THREADS; t++)
    {
      data[t].key = key;
      data[t].seed = t + 1;
      memcpy (data[t].expected, data[0].expected, sizeof data[0].expected);
      threads[t] = g_thread_new ("hmac", hmac_thread, &data[t]);
    }
  for (guint t = 0; t < N_THREADS; t++)
    g_assert_cmpuint (GPOINTER_TO_UINT (g_thread_join (threads[t])), ==, 0);
}

/* Run with -m perf: prints the cost of one HMAC and one seal. */
static void
test_perf (void)
{
  guint8 raw[32] = { 7 }, mac[ONEPIN_HMAC_LEN];
  const char *message = "POST /v1/payments card_id=card_0123456789abcdef amount=5000 "
                        "currency=krw idempotency_key=0123456789abcdef0123456789abcdef";
  gsize len = strlen (message);
  g_autoptr(OnepinKey) hmac_key = onepin_key_new_hmac (raw, sizeof raw, NULL);
  g_autoptr(OnepinKey) aes_key = onepin_key_new_aes (raw, sizeof raw, NULL);
  const guint n = 200000;
  gint64 start;
  double hmac_us, seal_us;

  for (guint i = 0; i < 1000; i++)
    onepin_key_hmac (hmac_key, message, len, mac);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    g_assert_true (onepin_key_hmac (hmac_key, message, len, mac));
  hmac_us = (double) (g_get_monotonic_time () - start) / n;

  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    g_bytes_unref (onepin_key_seal (aes_key, message, len, "aad", 3, NULL));
  seal_us = (double) (g_get_monotonic_time () - start) / n;

  g_test_message ("onepin_key_hmac, %" G_GSIZE_FORMAT " bytes: %.3f us/call", len, hmac_us);
  g_test_message ("onepin_key_seal, %" G_GSIZE_FORMAT " bytes: %.3f us/call", len, seal_us);
  g_test_minimized_result (hmac_us, "hmac %.3f us", hmac_us);
}

/* ---- AES-GCM -------------------------------------------------------------- */

/* The GCM spec's (McGrew & Viega) test cases 13, 14 and 16, 256-bit keys,
 * laid out as onepin's sealed form: nonce || ciphertext || tag. */
typedef struct
{
  const char *key;
  const char *nonce;
  const char *aad;
  const char *plain;
  const char *cipher_and_tag;
} GcmCase;

static const GcmCase gcm_cases[] = {
  {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000", "", "",
    "530f8afbc74536b9a963b4f1c4cb738b",
  },
  {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000", "", "00000000000000000000000000000000",
    "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919",
  },
  {
    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    "cafebabefacedbaddecaf888",
    "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
    "76fc6ece0f4e1768cddf8853bb2d551b",
  },
};

static void
test_gcm_known_answer (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (gcm_cases); i++)
    {
      const GcmCase *c = &gcm_cases[i];
      g_autofree char *sealed_hex = g_strconcat (c->nonce, c->cipher_and_tag, NULL);
      g_autofree guint8 *raw = NULL;
      g_autofree guint8 *sealed = NULL;
      g_autofree guint8 *aad = NULL;
      g_autofree guint8 *plain = NULL;
      g_autoptr(OnepinKey) key = NULL;
      g_autoptr(GBytes) opened = NULL;
      g_autoptr(GError) error = NULL;
      gsize raw_len, sealed_len, aad_len, plain_len;

      raw = unhex (c->key, &raw_len);
      sealed = unhex (sealed_hex, &sealed_len);
      aad = unhex (c->aad, &aad_len);
      plain = unhex (c->plain, &plain_len);

      key = onepin_key_new_aes (raw, raw_len, &error);
      g_assert_no_error (error);
      opened = onepin_key_open (key, sealed, sealed_len, aad, aad_len, &error);
      g_assert_no_error (error);
      g_assert_nonnull (opened);
      g_assert_cmpmem (g_bytes_get_data (opened, NULL), g_bytes_get_size (opened),
                       plain, plain_len);
    }
}

static gboolean
contains_bytes (const guint8 *hay,
                gsize         hay_len,
                const char   *needle,
                gsize         needle_len)
{
  for (gsize i = 0; i + needle_len <= hay_len; i++)
    {
      if (memcmp (hay + i, needle, needle_len) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_gcm_round_trip (void)
{
  guint8 raw[ONEPIN_AES_KEY_LEN];
  const char *plain = "card_secret=4242424242424242";
  g_autoptr(GError) error = NULL;
  g_autoptr(OnepinKey) key = NULL;
  g_autoptr(GBytes) s1 = NULL;
  g_autoptr(GBytes) s2 = NULL;
  g_autoptr(GBytes) o1 = NULL;
  g_autoptr(GBytes) empty = NULL;
  g_autoptr(GBytes) o_empty = NULL;
  gsize len;
  const guint8 *data;

  g_assert_true (onepin_crypto_random (raw, sizeof raw, NULL));
  key = onepin_key_new_aes (raw, sizeof raw, &error);
  g_assert_no_error (error);

  s1 = onepin_key_seal (key, plain, strlen (plain), "card_1", 6, &error);
  g_assert_no_error (error);
  s2 = onepin_key_seal (key, plain, strlen (plain), "card_1", 6, &error);
  g_assert_cmpuint (g_bytes_get_size (s1), ==,
                    ONEPIN_GCM_NONCE_LEN + strlen (plain) + ONEPIN_GCM_TAG_LEN);
  /* A fresh nonce each time, so equal plaintexts seal differently. */
  g_assert_false (g_bytes_equal (s1, s2));
  data = g_bytes_get_data (s1, &len);
  g_assert_false (contains_bytes (data, len, plain, strlen (plain)));

  o1 = onepin_key_open (key, data, len, "card_1", 6, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (o1, NULL), g_bytes_get_size (o1), plain, strlen (plain));

  empty = onepin_key_seal (key, NULL, 0, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, ONEPIN_GCM_NONCE_LEN + ONEPIN_GCM_TAG_LEN);
  data = g_bytes_get_data (empty, &len);
  o_empty = onepin_key_open (key, data, len, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (o_empty), ==, 0);
}

static void
assert_open_fails (OnepinKey    *key,
                   const guint8 *sealed,
                   gsize         len,
                   const char   *aad)
{
  g_autoptr(GError) error = NULL;
  GBytes *opened = onepin_key_open (key, sealed, len, aad, aad != NULL ? strlen (aad) : 0,
                                    &error);

  g_assert_null (opened);
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_AUTH);
}

/* Every single-bit flip, in the nonce, the ciphertext or the tag, a wrong
 * AAD, a wrong key and truncation must all fail authentication. */
static void
test_gcm_tamper (void)
{
  guint8 raw[ONEPIN_AES_KEY_LEN], other_raw[ONEPIN_AES_KEY_LEN];
  const char *plain = "0123456789abcdef0123456789abcdef";
  g_autoptr(GError) error = NULL;
  g_autoptr(OnepinKey) key = NULL;
  g_autoptr(OnepinKey) other = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autofree guint8 *copy = NULL;
  gsize len;

  g_assert_true (onepin_crypto_random (raw, sizeof raw, NULL));
  g_assert_true (onepin_crypto_random (other_raw, sizeof other_raw, NULL));
  key = onepin_key_new_aes (raw, sizeof raw, &error);
  other = onepin_key_new_aes (other_raw, sizeof other_raw, &error);
  g_assert_no_error (error);

  sealed = onepin_key_seal (key, plain, strlen (plain), "aad", 3, &error);
  g_assert_no_error (error);
  copy = g_bytes_unref_to_data (g_steal_pointer (&sealed), &len);
  g_assert_cmpuint (len, ==, 12 + 32 + 16);

  for (gsize i = 0; i < len; i++)
    for (int bit = 0; bit < 8; bit += 3)
      {
        copy[i] ^= (guint8) (1 << bit);
        assert_open_fails (key, copy, len, "aad");
        copy[i] ^= (guint8) (1 << bit);
      }

  assert_open_fails (key, copy, len, "aae");
  assert_open_fails (key, copy, len, NULL);
  assert_open_fails (other, copy, len, "aad");
  assert_open_fails (key, copy, len - 1, "aad");
  assert_open_fails (key, copy, ONEPIN_GCM_NONCE_LEN + ONEPIN_GCM_TAG_LEN - 1, "aad");
  assert_open_fails (key, copy, 0, "aad");

  /* And the untouched copy still opens. */
  {
    g_autoptr(GBytes) opened = onepin_key_open (key, copy, len, "aad", 3, &error);

    g_assert_no_error (error);
    g_assert_cmpmem (g_bytes_get_data (opened, NULL), g_bytes_get_size (opened),
                     plain, strlen (plain));
  }
}

static void
test_aes_key_checks (void)
{
  guint8 raw[33] = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(OnepinKey) hmac = NULL;
  OnepinKey *key;
  GBytes *sealed;

  key = onepin_key_new_aes (raw, 16, &error);
  g_assert_null (key);
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_BAD_KEY);
  g_clear_error (&error);
  key = onepin_key_new_aes (raw, 33, &error);
  g_assert_null (key);
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_BAD_KEY);
  g_clear_error (&error);

  hmac = onepin_key_new_hmac (raw, 32, &error);
  sealed = onepin_key_seal (hmac, "x", 1, NULL, 0, &error);
  g_assert_null (sealed);
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_BAD_KEY);
}

/* FIPS-197 appendix C.3: AES-256, one block each way; an HMAC key is refused. */
static void
test_aes_block (void)
{
  gsize key_len = 0, plain_len = 0, cipher_len = 0;
  g_autofree guint8 *raw = unhex ("000102030405060708090a0b0c0d0e0f"
                                  "101112131415161718191a1b1c1d1e1f", &key_len);
  g_autofree guint8 *plain = unhex ("00112233445566778899aabbccddeeff", &plain_len);
  g_autofree guint8 *cipher = unhex ("8ea2b7ca516745bfeafc49904b496089", &cipher_len);
  g_autoptr(GError) error = NULL;
  g_autoptr(OnepinKey) key = onepin_key_new_aes (raw, key_len, &error);
  g_autoptr(OnepinKey) hmac = onepin_key_new_hmac (raw, key_len, &error);
  guint8 out[16], back[16];

  g_assert_no_error (error);
  g_assert_true (onepin_key_encrypt_block (key, plain, out));
  g_assert_cmpmem (out, 16, cipher, cipher_len);
  g_assert_true (onepin_key_decrypt_block (key, out, back));
  g_assert_cmpmem (back, 16, plain, plain_len);
  g_assert_false (onepin_key_encrypt_block (hmac, plain, out));
  g_assert_false (onepin_key_decrypt_block (hmac, plain, out));
}

/* ---- key files ------------------------------------------------------------ */

typedef struct
{
  char *dir;
} KeyFileFixture;

static void
key_file_setup (KeyFileFixture *f,
                gconstpointer   data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("onepin-key-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      g_unlink (path);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
key_file_teardown (KeyFileFixture *f,
                   gconstpointer   data)
{
  remove_tree (f->dir);
  g_free (f->dir);
}

static guint
count_entries (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static void
test_key_file_create_and_load (KeyFileFixture *f,
                               gconstpointer   data)
{
  g_autofree char *sub = g_build_filename (f->dir, "a", "b", NULL);
  g_autofree char *path = g_build_filename (sub, "hmac.key", NULL);
  guint8 first[32] = { 0 }, second[32] = { 0 }, zero[32] = { 0 };
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  g_assert_true (onepin_key_file_load_or_create (path, first, sizeof first, &error));
  g_assert_no_error (error);
  g_assert_true (memcmp (first, zero, sizeof zero) != 0);

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (st.st_size, ==, 32);
  /* Only the key itself is left behind, no temporary file. */
  g_assert_cmpuint (count_entries (sub), ==, 1);

  g_assert_true (onepin_key_file_load_or_create (path, second, sizeof second, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (first, sizeof first, second, sizeof second);
}

static void
assert_key_file_refused (const char *path,
                         gsize       len,
                         const char *secret_hex)
{
  g_autofree guint8 *out = g_malloc (len);
  g_autoptr(GError) error = NULL;

  g_assert_false (onepin_key_file_load_or_create (path, out, len, &error));
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_KEY_FILE);
  g_test_message ("refused: %s", error->message);
  if (secret_hex != NULL)
    g_assert_null (strstr (error->message, secret_hex));
}

static void
test_key_file_refused (KeyFileFixture *f,
                       gconstpointer   data)
{
  g_autofree char *path = g_build_filename (f->dir, "aes.key", NULL);
  g_autofree char *link_path = g_build_filename (f->dir, "link.key", NULL);
  guint8 key[32];
  g_autofree char *key_hex = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (onepin_key_file_load_or_create (path, key, sizeof key, &error));
  key_hex = tohex (key, 8);

  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  assert_key_file_refused (path, sizeof key, key_hex);
  g_assert_cmpint (g_chmod (path, 0640), ==, 0);
  assert_key_file_refused (path, sizeof key, key_hex);
  g_assert_cmpint (g_chmod (path, 0604), ==, 0);
  assert_key_file_refused (path, sizeof key, key_hex);

  /* Private again but of the wrong size for the caller. */
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  assert_key_file_refused (path, 16, key_hex);
  assert_key_file_refused (path, 64, key_hex);
  g_assert_true (g_file_set_contents (path, "short", 5, &error));
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  assert_key_file_refused (path, sizeof key, NULL);

  /* A symlink could point anywhere; the key must be the file itself, and
   * the message says so rather than "Too many levels of symbolic links". */
  g_assert_cmpint (symlink (path, link_path), ==, 0);
  assert_key_file_refused (link_path, 5, NULL);
  {
    g_autoptr(GError) error = NULL;

    g_assert_false (onepin_private_file_check (link_path, &error));
    g_assert_nonnull (strstr (error->message, "must be a regular file, not a symbolic link"));
  }
}

typedef struct
{
  const char *path;
  guint8      key[32];
  gboolean    ok;
} CreateRace;

static gpointer
create_race_thread (gpointer user_data)
{
  CreateRace *race = user_data;

  race->ok = onepin_key_file_load_or_create (race->path, race->key, sizeof race->key, NULL);
  return NULL;
}

/* Several creators at once must all end up with the one key on disk. */
static void
test_key_file_race (KeyFileFixture *f,
                    gconstpointer   data)
{
  g_autofree char *path = g_build_filename (f->dir, "race.key", NULL);
  CreateRace races[N_THREADS];
  GThread *threads[N_THREADS];

  for (guint t = 0; t < N_THREADS; t++)
    {
      races[t].path = path;
      threads[t] = g_thread_new ("create", create_race_thread, &races[t]);
    }
  for (guint t = 0; t < N_THREADS; t++)
    {
      g_thread_join (threads[t]);
      g_assert_true (races[t].ok);
      g_assert_cmpmem (races[t].key, 32, races[0].key, 32);
    }
  g_assert_cmpuint (count_entries (f->dir), ==, 1);
}

/* ---- text secrets and callback signatures --------------------------------- */

static void
test_secret_file (KeyFileFixture *f,
                  gconstpointer   data)
{
  g_autofree char *path = g_build_filename (f->dir, "sub", "api.key", NULL);
  g_autofree char *missing = g_build_filename (f->dir, "missing.key", NULL);
  g_autofree char *first = NULL;
  g_autofree char *again = NULL;
  g_autoptr(GError) error = NULL;
  struct stat st;

  first = onepin_secret_file_load_or_create (path, "bk_", &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (first, "bk_"));
  g_assert_cmpuint (strlen (first), ==, 3 + 64);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* Read back, by the creator and by another program. */
  again = onepin_secret_file_load_or_create (path, "bk_", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, first);
  g_clear_pointer (&again, g_free);
  again = onepin_secret_file_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, first);

  g_assert_null (onepin_secret_file_load (missing, &error));
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_KEY_FILE);
  g_clear_error (&error);

  /* Others may not read it, and it must hold a real secret. */
  g_assert_cmpint (g_chmod (path, 0640), ==, 0);
  g_assert_null (onepin_secret_file_load (path, &error));
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_KEY_FILE);
  g_assert_null (strstr (error->message, first));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, "short\n", -1, NULL));
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  g_assert_null (onepin_secret_file_load (path, &error));
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_KEY_FILE);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, "has a space in it, so no\n", -1, NULL));
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  g_assert_null (onepin_secret_file_load (path, &error));
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_KEY_FILE);
}

static void
test_signature (void)
{
  const char *secret = "whsec_0123456789abcdef";
  const char *body = "{\"a\":1}";
  /* python3: hmac.new(secret, b'1700000000.' + body, hashlib.sha256) */
  const char *expected = "t=1700000000,v1="
                         "9f5e37cdc7ea587c7c02062d93283cad000d66a831b2a1676418696db47ed6c2";
  g_autoptr(OnepinKey) key = onepin_key_new_hmac ((const guint8 *) secret, strlen (secret),
                                                  NULL);
  g_autofree char *header = onepin_signature_header (key, 1700000000, body, strlen (body));
  g_autofree char *rotated = g_strconcat ("t=1700000000,v1=", "00000000000000000000000000000000"
                                          "00000000000000000000000000000000,",
                                          strchr (expected, ',') + 1, ",v2=whatever", NULL);
  gint64 t = 1700000000;

  g_assert_cmpstr (header, ==, expected);
  g_assert_true (onepin_signature_verify (key, header, body, strlen (body), t, 300));
  g_assert_true (onepin_signature_verify (key, header, body, strlen (body), t + 300, 300));
  g_assert_true (onepin_signature_verify (key, header, body, strlen (body), t - 300, 300));
  g_assert_false (onepin_signature_verify (key, header, body, strlen (body), t + 301, 300));
  g_assert_false (onepin_signature_verify (key, header, body, strlen (body), t - 301, 300));
  g_assert_false (onepin_signature_verify (key, header, "{\"a\":2}", 7, t, 300));
  /* Two v1 values (a secret being rolled) and an unknown scheme are fine. */
  g_assert_true (onepin_signature_verify (key, rotated, body, strlen (body), t, 300));
  /* Malformed headers never verify. */
  g_assert_false (onepin_signature_verify (key, "", body, strlen (body), t, 300));
  g_assert_false (onepin_signature_verify (key, strchr (expected, ',') + 1, body,
                                           strlen (body), t, 300));
  g_assert_false (onepin_signature_verify (key, "t=1700000000", body, strlen (body), t, 300));
  g_assert_false (onepin_signature_verify (key, "t=1700000000,t=1700000000,v1=00", body,
                                           strlen (body), t, 300));
  g_assert_false (onepin_signature_verify (key, "t=-5,v1=00", body, strlen (body), t, 300));
  g_assert_false (onepin_signature_verify (NULL, header, body, strlen (body), t, 300));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);

  if (!onepin_crypto_init (&error))
    g_error ("%s", error->message);

  g_test_add_func ("/crypto/init-twice", test_init_twice);
  g_test_add_func ("/crypto/random", test_random);
  g_test_add_func ("/crypto/sha256", test_sha256);
  g_test_add_func ("/crypto/equal", test_equal);
  g_test_add_func ("/crypto/pbkdf2", test_pbkdf2);
  g_test_add_func ("/crypto/pbkdf2-not-kept", test_pbkdf2_not_kept);
  g_test_add_func ("/crypto/hmac/rfc4231", test_hmac_rfc4231);
  g_test_add_func ("/crypto/hmac/misuse", test_hmac_misuse);
  g_test_add_func ("/crypto/hmac/threads", test_hmac_threads);
  g_test_add_func ("/crypto/gcm/known-answer", test_gcm_known_answer);
  g_test_add_func ("/crypto/gcm/round-trip", test_gcm_round_trip);
  g_test_add_func ("/crypto/gcm/tamper", test_gcm_tamper);
  g_test_add_func ("/crypto/gcm/key-checks", test_aes_key_checks);
  g_test_add_func ("/crypto/aes-block", test_aes_block);
  g_test_add ("/crypto/key-file/create-and-load", KeyFileFixture, NULL,
              key_file_setup, test_key_file_create_and_load, key_file_teardown);
  g_test_add ("/crypto/key-file/refused", KeyFileFixture, NULL,
              key_file_setup, test_key_file_refused, key_file_teardown);
  g_test_add ("/crypto/secret-file", KeyFileFixture, NULL,
              key_file_setup, test_secret_file, key_file_teardown);
  g_test_add_func ("/crypto/signature", test_signature);
  g_test_add ("/crypto/key-file/race", KeyFileFixture, NULL,
              key_file_setup, test_key_file_race, key_file_teardown);
  if (g_test_perf ())
    g_test_add_func ("/crypto/perf", test_perf);

  return g_test_run ();
}
