/* test-bridge.c: the wallet's end of the browser socket
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A real vault and the bridge listening on a socket in a private temporary
 * $XDG_RUNTIME_DIR; the test plays onepin-wallet-host (its hello) and the
 * extension (begin, pairing with a P-256 key of its own, requests with
 * their MACs) on real connections, and the application (answering the
 * calls). Then it forges, replays, reorders and tampers with messages, and
 * sends them to a locked vault.
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "onepin-json.h"
#include "ow-bridge.h"
#include "ow-bridge-private.h"
#include "ow-test-scan.h"
#include "ow-test-wait.h"
#include "ow-test-wiped.h"
#include "wh-frame.h"

#define MASTER "correct horse battery"
#define CALLER "chrome-extension://nmmcfaceeicajncdbflgblcppeflpfhh/"
#define ORIGIN "https://shop.example"

static struct
{
  char      *dir;
  OwVault   *vault;
  OwBridge  *bridge;
  char      *socket;
  GPtrArray *calls;         /* OwBridgeCall* the bridge emitted */
  GPtrArray *released;      /* the calls of its "card-released" */
} T;

/* ---- the test's side of the socket ---------------------------------------- */

typedef struct _Client
{
  GSocket       *socket;
  WhFrameReader *reader;
  char          *nonce_b;   /* base64, ours */
  char          *nonce_w;   /* base64, the wallet's */
  guint8         nonce_b_raw[OW_BRIDGE_NONCE_LEN];
  guint8         nonce_w_raw[OW_BRIDGE_NONCE_LEN];
  char          *browser;   /* br_… once paired */
  guint8         key[OW_BRIDGE_KEY_LEN];
  gint64         seq;
  guint          ids;
  struct _Client *replaces;  /* the pairing this one replaces, proved in pair.begin */
} Client;

static void
client_free (Client *c)
{
  g_clear_object (&c->socket);
  wh_frame_reader_free (c->reader);
  g_free (c->nonce_b);
  g_free (c->nonce_w);
  g_free (c->browser);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

static void
client_send_text (Client     *c,
                  const char *text)
{
  g_autoptr(GBytes) frame = wh_frame_encode (text, strlen (text), NULL);
  g_autoptr(GError) error = NULL;
  gsize len;
  const char *data = g_bytes_get_data (frame, &len);

  g_socket_set_blocking (c->socket, TRUE);
  g_assert_cmpint (g_socket_send (c->socket, data, len, NULL, &error), ==, (gssize) len);
  g_assert_no_error (error);
  g_socket_set_blocking (c->socket, FALSE);
}

static void
client_send (Client     *c,
             JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autofree char *text = json_to_string (node, FALSE);

  client_send_text (c, text);
}

/* The next frame from the wallet, turning the main loop (the bridge runs on
 * it) meanwhile; NULL when the wallet closed the connection. */
static JsonObject *
client_recv (Client *c)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GBytes) payload = NULL;
      JsonObject *message = NULL;
      g_autoptr(GError) error = NULL;
      char buf[4096];
      gssize n;

      if (wh_frame_reader_next (c->reader, &payload, &message, NULL) == WH_FRAME_MESSAGE)
        return message;
      n = g_socket_receive (c->socket, buf, sizeof buf, NULL, &error);
      if (n == 0)
        return NULL;
      if (n > 0)
        {
          wh_frame_reader_feed (c->reader, (const guint8 *) buf, (gsize) n);
          continue;
        }
      g_assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK));
      if (g_get_monotonic_time () > deadline)
        g_error ("no answer from the wallet within 20 s");
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
}

/* A connection that says nothing yet, not even the host's hello. */
static Client *
client_connect_raw (void)
{
  Client *c = g_new0 (Client, 1);
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (T.socket);
  g_autoptr(GError) error = NULL;

  c->socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                            G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_connect (c->socket, address, NULL, &error));
  g_assert_no_error (error);
  g_socket_set_blocking (c->socket, FALSE);
  c->reader = wh_frame_reader_new ();
  return c;
}

/* A connection whose host says it speaks @protocol. */
static Client *
client_connect_speaking (const char *caller,
                         gint64      protocol)
{
  Client *c = client_connect_raw ();
  g_autoptr(JsonObject) hello = json_object_new ();

  /* what onepin-wallet-host says first */
  json_object_set_string_member (hello, "type", "hello");
  json_object_set_int_member (hello, "protocol", protocol);
  json_object_set_string_member (hello, "browser", "chromium");
  json_object_set_string_member (hello, "caller", caller);
  json_object_set_int_member (hello, "host_pid", getpid ());
  client_send (c, hello);
  return c;
}

static Client *
client_connect (const char *caller)
{
  return client_connect_speaking (caller, OW_BRIDGE_PROTOCOL);
}

static char *
next_id (Client *c)
{
  return g_strdup_printf ("m%u", ++c->ids);
}

/* "begin": our nonce, the wallet's in return. */
static JsonObject *
client_begin (Client *c)
{
  g_autoptr(JsonObject) begin = json_object_new ();
  g_autofree char *id = next_id (c);
  JsonObject *answer;

  g_assert_true (onepin_crypto_random (c->nonce_b_raw, sizeof c->nonce_b_raw, NULL));
  c->nonce_b = g_base64_encode (c->nonce_b_raw, sizeof c->nonce_b_raw);
  json_object_set_string_member (begin, "type", "begin");
  json_object_set_string_member (begin, "id", id);
  json_object_set_string_member (begin, "nonce", c->nonce_b);
  json_object_set_int_member (begin, "protocol", OW_BRIDGE_PROTOCOL);
  if (c->browser != NULL)
    json_object_set_string_member (begin, "browser", c->browser);
  client_send (c, begin);

  answer = client_recv (c);
  g_assert_nonnull (answer);
  g_assert_cmpstr (onepin_json_get_string (answer, "type", NULL), ==, "begin");
  g_assert_cmpstr (onepin_json_get_string (answer, "id", NULL), ==, id);
  g_assert_cmpint (onepin_json_get_int (answer, "protocol", 0), ==, OW_BRIDGE_PROTOCOL);
  g_assert_true (ow_bridge_decode_exact (onepin_json_get_string (answer, "nonce", NULL),
                                         c->nonce_w_raw, sizeof c->nonce_w_raw));
  c->nonce_w = g_strdup (onepin_json_get_string (answer, "nonce", NULL));
  c->seq = 0;
  return answer;
}

/* A request as the extension sends it. */
static JsonObject *
request_frame (Client     *c,
               gint64      seq,
               const char *body)
{
  JsonObject *request = json_object_new ();
  g_autofree char *id = next_id (c);
  guint8 mac[OW_BRIDGE_MAC_LEN];
  g_autofree char *mac64 = NULL;

  g_assert_true (ow_bridge_mac (c->key, OW_BRIDGE_TO_WALLET, c->browser, c->nonce_b, c->nonce_w,
                                seq, body, mac));
  mac64 = g_base64_encode (mac, sizeof mac);
  json_object_set_string_member (request, "type", "request");
  json_object_set_string_member (request, "id", id);
  json_object_set_string_member (request, "browser", c->browser);
  json_object_set_int_member (request, "seq", seq);
  json_object_set_string_member (request, "body", body);
  json_object_set_string_member (request, "mac", mac64);
  return request;
}

static void
client_request (Client     *c,
                const char *body)
{
  g_autoptr(JsonObject) request = request_frame (c, ++c->seq, body);

  client_send (c, request);
}

/* Checks an authenticated answer and returns its body. */
static JsonObject *
client_response (Client *c)
{
  g_autoptr(JsonObject) answer = client_recv (c);
  const char *body;

  g_assert_nonnull (answer);
  g_assert_cmpstr (onepin_json_get_string (answer, "type", NULL), ==, "response");
  g_assert_cmpint (onepin_json_get_int (answer, "seq", -1), ==, c->seq);
  body = onepin_json_get_string (answer, "body", "");
  g_assert_true (ow_bridge_mac_verify (c->key, OW_BRIDGE_TO_BROWSER, c->browser, c->nonce_b,
                                       c->nonce_w, c->seq, body,
                                       onepin_json_get_string (answer, "mac", NULL)));
  /* a MAC for the other direction does not pass */
  g_assert_false (ow_bridge_mac_verify (c->key, OW_BRIDGE_TO_WALLET, c->browser, c->nonce_b,
                                        c->nonce_w, c->seq, body,
                                        onepin_json_get_string (answer, "mac", NULL)));
  return onepin_json_parse_object (body, strlen (body), NULL);
}

/* The next frame: an unauthenticated refusal with @code. */
static JsonObject *
recv_error (Client     *c,
            const char *code)
{
  JsonObject *answer = client_recv (c);

  g_assert_nonnull (answer);
  g_assert_cmpstr (onepin_json_get_string (answer, "type", NULL), ==, "error");
  g_assert_cmpstr (onepin_json_get_string (answer, "source", NULL), ==, "wallet");
  g_assert_cmpstr (onepin_json_get_string (answer, "error", NULL), ==, code);
  return answer;
}

/* An unauthenticated refusal with @code; with @closed, the wallet hangs up. */
static void
expect_error (Client     *c,
              const char *code,
              gboolean    closed)
{
  g_autoptr(JsonObject) answer = recv_error (c, code);

  if (closed)
    g_assert_null (client_recv (c));
}

/* ---- the application's side ----------------------------------------------- */

static void
on_call (OwBridge     *bridge,
         OwBridgeCall *call,
         gpointer      data)
{
  g_ptr_array_add (T.calls, g_object_ref (call));
}

static void
on_card_released (OwBridge     *bridge,
                  OwBridgeCall *call,
                  gpointer      data)
{
  g_ptr_array_add (T.released, g_object_ref (call));
}

static OwBridgeCall *
wait_call (void)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (T.calls->len == 0)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("the bridge emitted no call within 20 s");
      g_main_context_iteration (NULL, TRUE);
    }
  return g_ptr_array_steal_index (T.calls, 0);
}

static void
assert_no_call (void)
{
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (T.calls->len, ==, 0);
}

static JsonObject *
pair_message (const char *type,
              const char *id,
              const char *public_key)
{
  JsonObject *message = json_object_new ();

  json_object_set_string_member (message, "type", type);
  json_object_set_string_member (message, "id", id);
  if (public_key != NULL)
    json_object_set_string_member (message, "public_key", public_key);
  return message;
}

/* pair.begin @id replacing @browser's pairing: its proof, a MAC under @key
 * (b2w, seq 0, nonces @nonce_b and @nonce_w) over "pair.replace " and @id. */
static void
add_replace_proof (JsonObject   *begin,
                   const char   *id,
                   const char   *browser,
                   const guint8  key[OW_BRIDGE_KEY_LEN],
                   const char   *nonce_b,
                   const char   *nonce_w)
{
  g_autofree char *body = g_strdup_printf ("pair.replace %s", id);
  guint8 mac[OW_BRIDGE_MAC_LEN];
  g_autofree char *mac64 = NULL;

  g_assert_true (ow_bridge_mac (key, OW_BRIDGE_TO_WALLET, browser, nonce_b, nonce_w, 0, body,
                                mac));
  mac64 = g_base64_encode (mac, sizeof mac);
  json_object_set_string_member (begin, "replaces", browser);
  json_object_set_string_member (begin, "proof", mac64);
}

/* pair.begin @id (suggesting @name, if not NULL), and the wallet's answer:
 * its commitment to its key (base64), before it has seen ours. */
static char *
client_pair_begin (Client     *c,
                   const char *id,
                   const char *name)
{
  g_autoptr(JsonObject) begin = pair_message ("pair.begin", id, NULL);
  g_autoptr(JsonObject) commit = NULL;
  guint8 commitment[OW_BRIDGE_COMMITMENT_LEN];

  if (name != NULL)
    json_object_set_string_member (begin, "name", name);
  if (c->replaces != NULL)
    add_replace_proof (begin, id, c->replaces->browser, c->replaces->key, c->nonce_b, c->nonce_w);
  client_send (c, begin);
  commit = client_recv (c);
  g_assert_nonnull (commit);
  g_assert_cmpstr (onepin_json_get_string (commit, "type", NULL), ==, "pair.commit");
  g_assert_cmpstr (onepin_json_get_string (commit, "id", NULL), ==, id);
  g_assert_true (ow_bridge_decode_exact (onepin_json_get_string (commit, "commitment", NULL),
                                         commitment, sizeof commitment));
  return g_strdup (onepin_json_get_string (commit, "commitment", NULL));
}

static void
client_pair_key (Client     *c,
                 const char *id,
                 const char *public_key)
{
  g_autoptr(JsonObject) key = pair_message ("pair.key", id, public_key);

  client_send (c, key);
}

/* A pairing up to the user's decision, checked: pair.begin, the wallet's
 * commitment, our key, the wallet's half of the key agreement (the one it
 * committed to), the key and the code derived on our side
 * (c->key), and the call asking the user. Returns the call; *@id is
 * pair.begin's id. */
static OwBridgeCall *
pair_until_asked (Client  *c,
                  char   **id)
{
  g_autoptr(OwEcdhKey) key = NULL;
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *public_b = NULL;
  g_autofree char *commitment = NULL;
  g_autofree char *code = NULL;
  guint8 public_w[OW_BRIDGE_PUBLIC_KEY_LEN];
  guint8 shared[32];
  OwBridgeCall *call;
  g_autoptr(OwBrowser) replaced = c->replaces != NULL
                                  ? ow_browser_load (T.vault, c->replaces->browser, NULL) : NULL;

  *id = next_id (c);
  key = ow_ecdh_key_new (&error);
  g_assert_no_error (error);
  public_b = g_base64_encode (ow_ecdh_key_get_public (key), OW_BRIDGE_PUBLIC_KEY_LEN);
  commitment = client_pair_begin (c, *id, "Chromium\non Linux");
  /* nothing asks the user before the browser's key */
  assert_no_call ();
  client_pair_key (c, *id, public_b);

  answer = client_recv (c);
  g_assert_cmpstr (onepin_json_get_string (answer, "type", NULL), ==, "pair.key");
  g_assert_cmpstr (onepin_json_get_string (answer, "id", NULL), ==, *id);
  g_assert_true (ow_bridge_decode_exact (onepin_json_get_string (answer, "public_key", NULL),
                                         public_w, sizeof public_w));
  g_assert_true (ow_bridge_pairing_commit_verify (public_w, c->nonce_w_raw, commitment));
  g_assert_true (ow_ecdh_key_agree (key, public_w, sizeof public_w, shared, &error));
  g_assert_true (ow_bridge_pairing_derive (shared, c->nonce_b_raw, c->nonce_w_raw,
                                           ow_ecdh_key_get_public (key), public_w, c->key, &code));

  call = wait_call ();
  g_assert_cmpint (ow_bridge_call_get_kind (call), ==, OW_BRIDGE_CALL_PAIR);
  /* both sides show the same code; the suggested name lost its control
   * character, or is the user's name for the pairing replaced */
  g_assert_cmpstr (ow_bridge_call_get_code (call), ==, code);
  g_assert_cmpint (strlen (code), ==, 7);
  g_assert_cmpstr (ow_bridge_call_get_browser_name (call), ==,
                   replaced != NULL ? replaced->name : "Chromium on Linux");
  g_assert_cmpstr (ow_bridge_call_get_browser_kind (call), ==, "chromium");
  /* what the dialog says: a pairing again, or a first one */
  g_assert_cmpint (ow_bridge_call_is_repairing (call), ==, replaced != NULL);
  return call;
}

/* A pairing up to the wallet's pair.done, checked: the user approves it under
 * @name (the acceptance completes in *@result once the browser proved the
 * key, or failed). Returns pair.done. */
static JsonObject *
pair_until_done (Client         *c,
                 const char     *name,
                 OwBridgeCall  **call,
                 GAsyncResult  **result)
{
  JsonObject *done;
  g_autofree char *id = NULL;
  const char *body;

  *call = pair_until_asked (c, &id);
  *result = NULL;
  ow_bridge_call_accept_pairing_async (*call, name, ow_test_store_result, result);

  done = client_recv (c);
  g_assert_cmpstr (onepin_json_get_string (done, "type", NULL), ==, "pair.done");
  g_assert_cmpstr (onepin_json_get_string (done, "id", NULL), ==, id);
  g_assert_true (ow_browser_id_valid (onepin_json_get_string (done, "browser", NULL)));
  c->browser = g_strdup (onepin_json_get_string (done, "browser", NULL));
  body = onepin_json_get_string (done, "body", "");
  g_assert_true (ow_bridge_mac_verify (c->key, OW_BRIDGE_TO_BROWSER, c->browser, c->nonce_b,
                                       c->nonce_w, 0, body,
                                       onepin_json_get_string (done, "mac", NULL)));
  g_assert_nonnull (strstr (body, name));
  /* not before the browser has proved the key */
  g_assert_null (*result);
  return done;
}

/* The browser's proof of the key: its MAC (b2w, seq 0) over pair.done's body. */
static JsonObject *
confirm_frame (Client     *c,
               JsonObject *done)
{
  JsonObject *confirm = json_object_new ();
  const char *body = onepin_json_get_string (done, "body", "");
  guint8 mac[OW_BRIDGE_MAC_LEN];
  g_autofree char *mac64 = NULL;

  g_assert_true (ow_bridge_mac (c->key, OW_BRIDGE_TO_WALLET, c->browser, c->nonce_b, c->nonce_w,
                                0, body, mac));
  mac64 = g_base64_encode (mac, sizeof mac);
  json_object_set_string_member (confirm, "type", "pair.confirm");
  json_object_set_string_member (confirm, "id", onepin_json_get_string (done, "id", NULL));
  json_object_set_string_member (confirm, "browser", c->browser);
  json_object_set_int_member (confirm, "seq", 0);
  json_object_set_string_member (confirm, "body", body);
  json_object_set_string_member (confirm, "mac", mac64);
  return confirm;
}

static void
assert_no_browsers (void)
{
  g_auto(GStrv) ids = ow_vault_list (T.vault, OW_VAULT_KIND_BROWSER, NULL);

  g_assert_cmpuint (g_strv_length (ids), ==, 0);
}

/* Pairs @c, the user approving it under @name. */
static void
pair (Client     *c,
      const char *name)
{
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) done = pair_until_done (c, name, &call, &result);
  g_autoptr(JsonObject) confirm = confirm_frame (c, done);
  g_autoptr(JsonObject) saved = NULL;
  g_autoptr(OwBrowser) early = ow_browser_load (T.vault, c->browser, NULL);
  g_autoptr(GError) error = NULL;

  /* nothing is stored before the proof (a pairing replaced stays as it was) */
  if (early != NULL)
    {
      g_assert_nonnull (c->replaces);
      g_assert_cmpmem (early->key, sizeof early->key, c->replaces->key, sizeof c->replaces->key);
    }
  client_send (c, confirm);
  saved = client_recv (c);
  g_assert_cmpstr (onepin_json_get_string (saved, "type", NULL), ==, "pair.saved");
  g_assert_cmpstr (onepin_json_get_string (saved, "id", NULL), ==,
                   onepin_json_get_string (done, "id", NULL));
  g_assert_true (ow_bridge_call_accept_pairing_finish (call, ow_test_wait (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ow_bridge_call_get_browser_name (call), ==, name);
}

static Client *
paired_client (void)
{
  Client *c = client_connect (CALLER);

  client_begin (c);
  pair (c, "Work laptop");
  return c;
}

/* A new connection of the same browser. */
static Client *
reconnect (Client *old)
{
  Client *c = client_connect (CALLER);

  c->browser = g_strdup (old->browser);
  memcpy (c->key, old->key, sizeof c->key);
  return c;
}

static JsonObject *
ping (Client *c)
{
  client_request (c, "{\"type\":\"ping\"}");
  return client_response (c);
}

/* ---- fixture -------------------------------------------------------------- */

static void
clear_browsers (void)
{
  g_auto(GStrv) ids = ow_vault_list (T.vault, OW_VAULT_KIND_BROWSER, NULL);

  for (guint i = 0; ids != NULL && ids[i] != NULL; i++)
    g_assert_true (ow_vault_remove (T.vault, OW_VAULT_KIND_BROWSER, ids[i], NULL));
  g_ptr_array_set_size (T.calls, 0);
  g_ptr_array_set_size (T.released, 0);
}

/* ---- tests ------------------------------------------------------------- */

static guint8 hkdf_t1[32];

/* The second round's input: T(1), which is the key's first 32 bytes. */
static gboolean
is_second_round (const guint8 *data,
                 gsize         len)
{
  return len > sizeof hkdf_t1 && memcmp (data, hkdf_t1, sizeof hkdf_t1) == 0;
}

static void
test_hkdf (void)
{
  /* RFC 5869, test case 1 */
  guint8 ikm[22];
  static const guint8 salt[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                 0x0a, 0x0b, 0x0c };
  static const guint8 info[] = { 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9 };
  guint8 okm[42];
  g_autofree char *hex = NULL;
  g_autoptr(GString) out = g_string_new (NULL);

  memset (ikm, 0x0b, sizeof ikm);
  ow_test_wiped_watch ("\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9");
  g_assert_true (ow_bridge_hkdf (salt, sizeof salt, ikm, sizeof ikm, info, sizeof info, okm,
                                 sizeof okm));
  ow_test_wiped_stop ();
  /* No round's input, which from the second on holds T(1), is freed as it was. */
  memcpy (hkdf_t1, okm, sizeof hkdf_t1);
  g_assert_true (ow_test_wiped_any (is_second_round));
  for (guint i = 0; i < sizeof okm; i++)
    g_string_append_printf (out, "%02x", okm[i]);
  g_assert_cmpstr (out->str, ==,
                   "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                   "34007208d5b887185865");
}

static void
test_ecdh (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwEcdhKey) a = ow_ecdh_key_new (&error);
  g_autoptr(OwEcdhKey) b = ow_ecdh_key_new (&error);
  guint8 ab[32];
  guint8 ba[32];
  guint8 bad[OW_BRIDGE_PUBLIC_KEY_LEN];

  g_assert_no_error (error);
  g_assert_true (ow_ecdh_key_agree (a, ow_ecdh_key_get_public (b), OW_BRIDGE_PUBLIC_KEY_LEN, ab,
                                    &error));
  g_assert_true (ow_ecdh_key_agree (b, ow_ecdh_key_get_public (a), OW_BRIDGE_PUBLIC_KEY_LEN, ba,
                                    &error));
  g_assert_cmpmem (ab, sizeof ab, ba, sizeof ba);

  /* a point off the curve, a short one, a compressed one */
  memcpy (bad, ow_ecdh_key_get_public (b), sizeof bad);
  bad[64] ^= 1;
  g_assert_false (ow_ecdh_key_agree (a, bad, sizeof bad, ab, &error));
  g_assert_error (error, OW_BRIDGE_CRYPTO_ERROR, OW_BRIDGE_CRYPTO_ERROR_BAD_KEY);
  g_clear_error (&error);
  g_assert_false (ow_ecdh_key_agree (a, bad, 33, ab, &error));
  g_clear_error (&error);
  bad[0] = 0x02;
  g_assert_false (ow_ecdh_key_agree (a, bad, sizeof bad, ab, &error));
}

/* SHA-256 (PW ‖ NW), checked in constant time against its base64 */
static void
test_pairing_commitment (void)
{
  guint8 public_w[OW_BRIDGE_PUBLIC_KEY_LEN];
  guint8 nonce_w[OW_BRIDGE_NONCE_LEN];
  guint8 commitment[OW_BRIDGE_COMMITMENT_LEN];
  g_autoptr(GString) hex = g_string_new (NULL);
  const char *good = "WUnSfkfhnEZ2hBBO+60VgapwOCyR+K5PAqlhwxKuHqY=";

  public_w[0] = 0x04;
  for (guint i = 1; i < sizeof public_w; i++)
    public_w[i] = (guint8) i;
  for (guint i = 0; i < sizeof nonce_w; i++)
    nonce_w[i] = (guint8) (0x10 + i);
  g_assert_true (ow_bridge_pairing_commit (public_w, nonce_w, commitment));
  for (guint i = 0; i < sizeof commitment; i++)
    g_string_append_printf (hex, "%02x", commitment[i]);
  g_assert_cmpstr (hex->str, ==, "5949d27e47e19c467684104efbad1581aa70382c91f8ae4f02a961c312ae1ea6");

  g_assert_true (ow_bridge_pairing_commit_verify (public_w, nonce_w, good));
  /* another key, another nonce, another commitment, none */
  public_w[64] ^= 1;
  g_assert_false (ow_bridge_pairing_commit_verify (public_w, nonce_w, good));
  public_w[64] ^= 1;
  nonce_w[0] ^= 1;
  g_assert_false (ow_bridge_pairing_commit_verify (public_w, nonce_w, good));
  nonce_w[0] ^= 1;
  g_assert_false (ow_bridge_pairing_commit_verify (public_w, nonce_w,
                                                   "WUnSfkfhnEZ2hBBO+60VgapwOCyR+K5PAqlhwxKuHqc="));
  g_assert_false (ow_bridge_pairing_commit_verify (public_w, nonce_w,
                                                   "WUnSfkfhnEZ2hBBO+60VgapwOCyR+K5PAqlhwxKuHq=="));
  g_assert_false (ow_bridge_pairing_commit_verify (public_w, nonce_w, ""));
  g_assert_false (ow_bridge_pairing_commit_verify (public_w, nonce_w, NULL));
}

static void
test_decode_exact (void)
{
  guint8 out[16];

  /* What it spells out again to compare is a key's base64: wiped. */
  ow_test_wiped_watch ("AAECAwQFBgcICQoLDA0ODw==");
  g_assert_true (ow_bridge_decode_exact ("AAECAwQFBgcICQoLDA0ODw==", out, 16));
  ow_test_wiped_stop ();
  g_assert_true (ow_test_wiped_exactly ("AAECAwQFBgcICQoLDA0ODw==", 24));
  g_assert_false (ow_bridge_decode_exact ("AAECAwQFBgcICQoLDA0ODw=", out, 16));
  g_assert_false (ow_bridge_decode_exact ("AAECAwQFBgcICQoLDA0ODx==", out, 16));  /* not canonical */
  g_assert_false (ow_bridge_decode_exact ("AAECAwQFBgcICQoLDA0O\nw==", out, 16));
  g_assert_false (ow_bridge_decode_exact ("AAECAwQFBgcICQoLDA0ODxA=", out, 16));
  g_assert_false (ow_bridge_decode_exact (NULL, out, 16));
}

static void
test_socket_file (void)
{
  GStatBuf st;
  g_autoptr(OwBridge) second = ow_bridge_new (T.vault);
  g_autoptr(OwBridge) third = ow_bridge_new (T.vault);
  g_autoptr(GError) error = NULL;
  g_autofree char *other = g_build_filename (T.dir, "run", "other.sock", NULL);

  g_assert_cmpint (g_lstat (T.socket, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpuint (st.st_uid, ==, getuid ());

  /* another wallet does not take over a socket someone serves */
  g_assert_false (ow_bridge_listen (second, T.socket, &error));
  g_assert_error (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_IN_USE);
  g_clear_error (&error);

  /* a file that is not a socket is left alone */
  g_assert_true (g_file_set_contents (other, "not a socket", -1, NULL));
  g_assert_false (ow_bridge_listen (third, other, &error));
  g_assert_error (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_UNSAFE);
  g_clear_error (&error);
  g_assert_cmpint (g_lstat (other, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_unlink (other);

  /* a stale socket (its wallet died) is replaced; closing removes ours */
  {
    g_autoptr(GSocket) stale = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                             G_SOCKET_PROTOCOL_DEFAULT, NULL);
    g_autoptr(GSocketAddress) address = g_unix_socket_address_new (other);

    g_assert_true (g_socket_bind (stale, address, FALSE, NULL));
    g_socket_close (stale, NULL);
  }
  g_assert_true (ow_bridge_listen (third, other, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_lstat (other, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
  ow_bridge_close (third);
  g_assert_cmpint (g_lstat (other, &st), ==, -1);

  /* without a private runtime dir there is no default socket */
  {
    g_autoptr(OwBridge) fourth = ow_bridge_new (T.vault);
    g_autofree char *saved = g_strdup (g_getenv ("XDG_RUNTIME_DIR"));

    g_setenv ("XDG_RUNTIME_DIR", "/tmp", TRUE);
    g_assert_false (ow_bridge_listen (fourth, NULL, &error));
    g_assert_error (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_UNSAFE);
    g_setenv ("XDG_RUNTIME_DIR", saved, TRUE);
  }
}

static void
test_pairing (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(Client) again = NULL;
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(JsonObject) pong = NULL;
  g_autoptr(OwBrowser) browser = NULL;
  g_autoptr(GError) error = NULL;

  clear_browsers ();
  c = client_connect (CALLER);
  answer = client_begin (c);
  g_assert_false (onepin_json_get_bool (answer, "paired", TRUE));
  pair (c, "Work laptop");

  /* kept sealed in the vault, with the key and the extension it came through */
  browser = ow_browser_load (T.vault, c->browser, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (browser->name, ==, "Work laptop");
  g_assert_cmpstr (browser->kind, ==, "chromium");
  g_assert_cmpstr (browser->caller, ==, CALLER);
  g_assert_cmpmem (browser->key, sizeof browser->key, c->key, sizeof c->key);

  /* the same connection goes on under the key */
  pong = ping (c);
  g_assert_cmpstr (onepin_json_get_string (pong, "type", NULL), ==, "pong");
  g_assert_cmpstr (onepin_json_get_string (pong, "name", NULL), ==, "Work laptop");
  g_clear_pointer (&pong, json_object_unref);

  /* and so does a new one, which learns the browser is known */
  again = reconnect (c);
  g_clear_pointer (&answer, json_object_unref);
  answer = client_begin (again);
  g_assert_true (onepin_json_get_bool (answer, "paired", FALSE));
  pong = ping (again);
  g_assert_cmpstr (onepin_json_get_string (pong, "name", NULL), ==, "Work laptop");
}

static void
test_pairing_refused (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(OwEcdhKey) key = NULL;
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(JsonObject) done = NULL;
  g_autoptr(OwBridgeCall) call = NULL;
  g_autofree char *public_b = NULL;
  g_autofree char *commitment = NULL;
  g_auto(GStrv) ids = NULL;

  clear_browsers ();
  c = client_connect (CALLER);
  client_begin (c);
  key = ow_ecdh_key_new (NULL);
  public_b = g_base64_encode (ow_ecdh_key_get_public (key), OW_BRIDGE_PUBLIC_KEY_LEN);
  commitment = client_pair_begin (c, "p1", NULL);
  client_pair_key (c, "p1", public_b);
  answer = client_recv (c);
  g_assert_cmpstr (onepin_json_get_string (answer, "type", NULL), ==, "pair.key");

  call = wait_call ();
  g_assert_cmpstr (ow_bridge_call_get_browser_name (call), ==, "Browser");
  ow_bridge_call_refuse (call, "denied", NULL);
  done = client_recv (c);
  g_assert_cmpstr (onepin_json_get_string (done, "type", NULL), ==, "pair.done");
  g_assert_cmpstr (onepin_json_get_string (done, "error", NULL), ==, "denied");
  g_assert_null (json_object_get_member (done, "browser"));
  ids = ow_vault_list (T.vault, OW_VAULT_KIND_BROWSER, NULL);
  g_assert_cmpuint (g_strv_length (ids), ==, 0);

  /* a public key that is no P-256 point */
  g_free (client_pair_begin (c, "p2", NULL));
  client_pair_key (c, "p2", "AAAA");
  expect_error (c, "malformed", FALSE);
  /* a key for a commitment used already, for none, or for another one */
  client_pair_key (c, "p2", public_b);
  expect_error (c, "malformed", FALSE);
  g_free (client_pair_begin (c, "p3", NULL));
  client_pair_key (c, "p4", public_b);
  expect_error (c, "malformed", FALSE);
  client_pair_key (c, "p3", public_b);
  expect_error (c, "malformed", FALSE);
  assert_no_call ();
}

/* A new connection paired up to pair.done, then a proof spoiled by
 * @spoil: the pairing fails, and nothing of it is stored. */
static void
expect_proof_refused (void (*spoil) (Client     *c,
                                     JsonObject *done))
{
  g_autoptr(Client) c = client_connect (CALLER);
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) done = NULL;
  g_autoptr(JsonObject) confirm = NULL;
  g_autoptr(GError) error = NULL;

  client_begin (c);
  done = pair_until_done (c, "Work laptop", &call, &result);
  spoil (c, done);
  confirm = confirm_frame (c, done);
  client_send (c, confirm);
  expect_error (c, "bad_mac", TRUE);
  g_assert_false (ow_bridge_call_accept_pairing_finish (call, ow_test_wait (&result), &error));
  g_assert_error (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_NOT_CONFIRMED);
  g_assert_true (ow_bridge_call_is_answered (call));
  assert_no_browsers ();
}

static void
spoil_key (Client     *c,
           JsonObject *done)
{
  c->key[0] ^= 0x80;
}

/* the right key over another body: the name is part of what is proved */
static void
spoil_body (Client     *c,
            JsonObject *done)
{
  json_object_set_string_member (done, "body", "{\"name\":\"Evil\"}");
}

/* A pairing the browser does not prove (its own check of pair.done failed,
 * or its key is not ours) leaves nothing: no record, no pairing in
 * progress, and the application is told. */
/* Nothing half-done holds the next pairing up: one completes and serves. */
static void
assert_pairing_open (void)
{
  g_autoptr(Client) again = paired_client ();
  g_autoptr(JsonObject) pong = ping (again);

  g_assert_cmpstr (onepin_json_get_string (pong, "type", NULL), ==, "pong");
}

static void
test_pairing_not_confirmed (void)
{
  g_autoptr(Client) gone = NULL;
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) done = NULL;
  g_autoptr(GError) error = NULL;

  clear_browsers ();
  expect_proof_refused (spoil_key);
  expect_proof_refused (spoil_body);

  /* no proof at all: the browser goes away after pair.done */
  gone = client_connect (CALLER);
  client_begin (gone);
  done = pair_until_done (gone, "Work laptop", &call, &result);
  g_clear_object (&gone->socket);
  g_assert_false (ow_bridge_call_accept_pairing_finish (call, ow_test_wait (&result), &error));
  g_assert_error (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_GONE);
  assert_no_browsers ();

  assert_pairing_open ();
}

/* A peer that takes pair.done and neither proves the key nor goes: after
 * the confirmation timeout the pairing fails, the connection is refused
 * "timeout" and closed, nothing is kept, and the next pairing may begin. */
static void
test_pairing_confirm_timeout (void)
{
  g_autoptr(Client) silent = NULL;
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) done = NULL;
  g_autoptr(GError) error = NULL;

  clear_browsers ();
  ow_bridge_set_confirm_timeout (T.bridge, 200);
  silent = client_connect (CALLER);
  client_begin (silent);
  done = pair_until_done (silent, "Work laptop", &call, &result);
  expect_error (silent, "timeout", TRUE);
  g_assert_false (ow_bridge_call_accept_pairing_finish (call, ow_test_wait (&result), &error));
  g_assert_error (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_NOT_CONFIRMED);
  assert_no_browsers ();
  ow_bridge_set_confirm_timeout (T.bridge, 30 * 1000);

  assert_pairing_open ();
}

static void
test_forged (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(Client) forger = NULL;
  g_autoptr(Client) tamperer = NULL;
  g_autoptr(JsonObject) request = NULL;

  clear_browsers ();
  c = paired_client ();

  /* a MAC under another key */
  forger = reconnect (c);
  client_begin (forger);
  forger->key[0] ^= 0x80;
  client_request (forger, "{\"type\":\"ping\"}");
  expect_error (forger, "bad_mac", TRUE);

  /* a body changed after the MAC was made */
  tamperer = reconnect (c);
  client_begin (tamperer);
  request = request_frame (tamperer, 1, "{\"type\":\"card.request\",\"origin\":\"" ORIGIN
                                        "\",\"confirmed\":\"remembered\"}");
  json_object_set_string_member (request, "body", "{\"type\":\"card.request\",\"origin\":"
                                 "\"https://evil.example\",\"confirmed\":\"remembered\"}");
  client_send (tamperer, request);
  expect_error (tamperer, "bad_mac", TRUE);
  assert_no_call ();
}

static void
test_replay (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(Client) next = NULL;
  g_autoptr(Client) later = NULL;
  g_autoptr(JsonObject) first = NULL;
  g_autoptr(JsonObject) pong = NULL;

  clear_browsers ();
  c = paired_client ();
  next = reconnect (c);
  client_begin (next);
  first = request_frame (next, 1, "{\"type\":\"ping\"}");
  next->seq = 1;
  client_send (next, first);
  pong = client_response (next);

  /* the same message again on its connection */
  client_send (next, first);
  expect_error (next, "replay", TRUE);

  /* ... and on a later connection: its nonces are not the ones signed */
  later = reconnect (c);
  client_begin (later);
  client_send (later, first);
  expect_error (later, "bad_mac", TRUE);
}

static void
test_out_of_order (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(Client) skip = NULL;
  g_autoptr(JsonObject) request = NULL;

  clear_browsers ();
  c = paired_client ();
  skip = reconnect (c);
  client_begin (skip);
  request = request_frame (skip, 2, "{\"type\":\"ping\"}");
  client_send (skip, request);
  expect_error (skip, "replay", TRUE);
}

static void
test_not_paired (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(Client) unknown = NULL;
  g_autoptr(Client) firefox = NULL;

  clear_browsers ();
  c = paired_client ();

  /* an id the wallet never gave, with some key */
  unknown = reconnect (c);
  g_free (unknown->browser);
  unknown->browser = g_strdup ("br_00000000000000000000000000000000");
  client_begin (unknown);
  client_request (unknown, "{\"type\":\"ping\"}");
  expect_error (unknown, "not_paired", TRUE);

  /* the right key, through another extension's host */
  firefox = client_connect ("wallet@onepin.org");
  firefox->browser = g_strdup (c->browser);
  memcpy (firefox->key, c->key, sizeof c->key);
  client_begin (firefox);
  client_request (firefox, "{\"type\":\"ping\"}");
  expect_error (firefox, "not_paired", TRUE);

  /* removed in the wallet's preferences: its connection is told at once */
  g_assert_true (ow_browser_remove (T.vault, c->browser, NULL));
  expect_error (c, "not_paired", TRUE);
}

/* A browser removed from the wallet, in Preferences or by signing out
 * (ow_vault_clear), leaves nothing in memory either: the connections serving
 * it have their copy of its key wiped at once, are refused "not_paired" and
 * closed. Another browser's connection is left alone until its own turn. */
static void
test_removed_browser_wiped (void)
{
  g_autoptr(Client) removed = NULL;
  g_autoptr(Client) other = NULL;
  g_autoptr(JsonObject) pong = NULL;

  clear_browsers ();
  removed = paired_client ();
  other = paired_client ();

  ow_test_wiped_watch_bytes (removed->key, sizeof removed->key);
  g_assert_true (ow_browser_remove (T.vault, removed->browser, NULL));
  ow_test_wiped_stop ();
  g_assert_cmpuint (ow_test_wiped_count (removed->key, sizeof removed->key), ==, 1);
  expect_error (removed, "not_paired", TRUE);
  pong = ping (other);
  g_assert_cmpstr (onepin_json_get_string (pong, "type", NULL), ==, "pong");

  /* signing out removes every record */
  ow_test_wiped_watch_bytes (other->key, sizeof other->key);
  g_assert_true (ow_vault_clear (T.vault, NULL));
  ow_test_wiped_stop ();
  g_assert_cmpuint (ow_test_wiped_count (other->key, sizeof other->key), ==, 1);
  expect_error (other, "not_paired", TRUE);
  assert_no_browsers ();
}

static JsonObject *
forget_browser_frame (Client *c,
                      gint64  seq)
{
  return request_frame (c, seq, "{\"type\":\"browser.forget\"}");
}

/* The browser pairs again, proving it holds its pairing: the new pairing
 * takes the old record's place (its id and sites, one record), and the old
 * key is refused, on a connection open meanwhile and on a new one. A
 * pairing whose record is gone pairs anew. */
static void
test_repair (void)
{
  g_autoptr(Client) first = NULL;
  g_autoptr(Client) stale = NULL;
  g_autoptr(Client) second = NULL;
  g_autoptr(Client) old_key = NULL;
  g_autoptr(Client) new_key = NULL;
  g_autoptr(Client) third = NULL;
  g_autoptr(OwBrowser) record = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(JsonObject) pong = NULL;
  g_autoptr(JsonObject) answer = NULL;

  clear_browsers ();
  first = paired_client ();
  record = ow_browser_load (T.vault, first->browser, NULL);
  g_assert_true (ow_browser_set_site (record, ORIGIN, TRUE));
  g_assert_true (ow_browser_save (T.vault, record, NULL));
  g_clear_pointer (&record, ow_browser_free);
  stale = reconnect (first);
  client_begin (stale);
  pong = ping (stale);

  second = client_connect (CALLER);
  second->replaces = first;
  client_begin (second);
  pair (second, "Work laptop again");
  g_assert_cmpstr (second->browser, ==, first->browser);
  list = ow_browser_list (T.vault, NULL);
  g_assert_cmpuint (list->len, ==, 1);
  record = g_ptr_array_steal_index (list, 0);
  g_assert_cmpstr (record->name, ==, "Work laptop again");
  g_assert_cmpmem (record->key, sizeof record->key, second->key, sizeof second->key);
  g_assert_true (ow_browser_has_site (record, ORIGIN));

  /* the connection that held the old key lets it go; a new one under it fails */
  expect_error (stale, "bad_mac", TRUE);
  old_key = reconnect (first);
  client_begin (old_key);
  client_request (old_key, "{\"type\":\"ping\"}");
  expect_error (old_key, "bad_mac", TRUE);
  new_key = reconnect (second);
  client_begin (new_key);
  g_clear_pointer (&pong, json_object_unref);
  pong = ping (new_key);
  g_assert_cmpstr (onepin_json_get_string (pong, "type", NULL), ==, "pong");

  /* removed in Preferences meanwhile: the pairing is one of its own */
  g_assert_true (ow_browser_remove (T.vault, second->browser, NULL));
  third = client_connect (CALLER);
  third->replaces = second;
  answer = client_begin (third);
  g_assert_false (onepin_json_get_bool (answer, "paired", TRUE));
  pair (third, "Work laptop");
  g_assert_cmpstr (third->browser, !=, second->browser);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = ow_browser_list (T.vault, NULL);
  g_assert_cmpuint (list->len, ==, 1);
}

/* A replacement without the old key's proof (a wrong key, or a proof made
 * for another connection's nonces) is refused "bad_mac" before any pairing
 * starts, and the record stays as it was. */
static void
test_repair_forged (void)
{
  g_autoptr(Client) owner = NULL;
  g_autoptr(Client) other = NULL;
  g_autoptr(OwBrowser) record = NULL;
  guint8 wrong[OW_BRIDGE_KEY_LEN];

  clear_browsers ();
  owner = paired_client ();
  other = reconnect (owner);
  client_begin (other);
  memcpy (wrong, owner->key, sizeof wrong);
  wrong[0] ^= 1;

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(Client) c = client_connect (CALLER);
      g_autoptr(JsonObject) begin = NULL;
      g_autofree char *id = NULL;

      client_begin (c);
      id = next_id (c);
      begin = pair_message ("pair.begin", id, NULL);
      if (i == 0)
        add_replace_proof (begin, id, owner->browser, wrong, c->nonce_b, c->nonce_w);
      else
        add_replace_proof (begin, id, owner->browser, owner->key, other->nonce_b, other->nonce_w);
      client_send (c, begin);
      expect_error (c, "bad_mac", TRUE);
      assert_no_call ();
    }
  record = ow_browser_load (T.vault, owner->browser, NULL);
  g_assert_nonnull (record);
  g_assert_cmpmem (record->key, sizeof record->key, owner->key, sizeof owner->key);
}

/* The extension's Unpair: an authenticated browser.forget removes the
 * browser's record, answered under its key; every connection serving it
 * ends, and the key is refused from then on. A forged one, or one replayed
 * from another connection or within its own, removes nothing. */
static void
test_unpair (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(Client) forged = NULL;
  g_autoptr(Client) a = NULL;
  g_autoptr(Client) b = NULL;
  g_autoptr(Client) d = NULL;
  g_autoptr(Client) stale = NULL;
  g_autoptr(Client) after = NULL;
  g_autoptr(JsonObject) frame = NULL;
  g_autoptr(JsonObject) pong = NULL;
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(JsonObject) begun = NULL;
  g_autoptr(OwBrowser) record = NULL;

  clear_browsers ();
  c = paired_client ();

  forged = reconnect (c);
  forged->key[0] ^= 1;
  client_begin (forged);
  client_request (forged, "{\"type\":\"browser.forget\"}");
  expect_error (forged, "bad_mac", TRUE);

  /* signed for connection a, sent on b; then again on a, out of sequence */
  a = reconnect (c);
  client_begin (a);
  b = reconnect (c);
  client_begin (b);
  frame = forget_browser_frame (a, 1);
  client_send (b, frame);
  expect_error (b, "bad_mac", TRUE);
  pong = ping (a);
  g_clear_pointer (&frame, json_object_unref);
  frame = forget_browser_frame (a, 1);
  client_send (a, frame);
  expect_error (a, "replay", TRUE);
  record = ow_browser_load (T.vault, c->browser, NULL);
  g_assert_nonnull (record);

  stale = reconnect (c);
  client_begin (stale);
  g_clear_pointer (&pong, json_object_unref);
  pong = ping (stale);
  d = reconnect (c);
  client_begin (d);
  client_request (d, "{\"type\":\"browser.forget\"}");
  answer = client_response (d);
  g_assert_cmpstr (onepin_json_get_string (answer, "type", NULL), ==, "browser.forgotten");
  g_assert_false (json_object_has_member (answer, "error"));
  g_assert_null (client_recv (d));
  assert_no_browsers ();
  expect_error (stale, "not_paired", TRUE);

  after = reconnect (c);
  begun = client_begin (after);
  g_assert_false (onepin_json_get_bool (begun, "paired", TRUE));
  client_request (after, "{\"type\":\"ping\"}");
  expect_error (after, "not_paired", TRUE);
}

static void
test_protocol_errors (void)
{
  g_autoptr(Client) no_hello = NULL;
  g_autoptr(Client) no_begin = NULL;
  g_autoptr(Client) c = NULL;
  g_autoptr(JsonObject) message = json_object_new ();
  static const guint8 junk[] = { 3, 0, 0, 0, 'x', 'y', 'z' };

  clear_browsers ();

  /* a connection that is not the host's */
  no_hello = client_connect_raw ();
  client_send_text (no_hello, "{\"type\":\"request\"}");
  g_assert_null (client_recv (no_hello));

  /* a request before "begin" */
  no_begin = client_connect (CALLER);
  json_object_set_string_member (message, "type", "request");
  json_object_set_string_member (message, "id", "x");
  client_send (no_begin, message);
  expect_error (no_begin, "begin_required", TRUE);

  /* malformed frames, unknown types, a request without its fields */
  c = client_connect (CALLER);
  client_begin (c);
  g_socket_set_blocking (c->socket, TRUE);
  g_socket_send (c->socket, (const char *) junk, sizeof junk, NULL, NULL);
  g_socket_set_blocking (c->socket, FALSE);
  expect_error (c, "malformed", FALSE);
  json_object_set_string_member (message, "type", "sing");
  client_send (c, message);
  expect_error (c, "unknown_type", FALSE);
  json_object_set_string_member (message, "type", "request");
  client_send (c, message);
  expect_error (c, "malformed", TRUE);
}

/* The refusal of a peer speaking protocol @theirs: "version", both numbers
 * in words and as members; then the wallet hangs up. */
static void
expect_version (Client     *c,
                const char *id,
                gint64      theirs)
{
  g_autoptr(JsonObject) answer = recv_error (c, "version");
  g_autofree char *ours = g_strdup_printf ("protocol %d", OW_BRIDGE_PROTOCOL);
  g_autofree char *other = g_strdup_printf ("protocol %" G_GINT64_FORMAT, theirs);
  const char *message;

  g_assert_cmpstr (onepin_json_get_string (answer, "id", NULL), ==, id);
  g_assert_cmpint (onepin_json_get_int (answer, "protocol", 0), ==, OW_BRIDGE_PROTOCOL);
  g_assert_cmpint (onepin_json_get_int (answer, "peer_protocol", -1), ==, theirs);
  message = onepin_json_get_string (answer, "message", "");
  g_assert_nonnull (strstr (message, ours));
  g_assert_nonnull (strstr (message, other));
  g_assert_null (client_recv (c));
}

/* A begin with a good nonce, saying no protocol (as protocol 1's did). */
static JsonObject *
begin_frame (const char *id)
{
  JsonObject *begin = json_object_new ();

  json_object_set_string_member (begin, "type", "begin");
  json_object_set_string_member (begin, "id", id);
  json_object_set_string_member (begin, "nonce", "AAECAwQFBgcICQoLDA0ODw==");
  return begin;
}

/* Protocol 3 (the wallet commits to its key before it sees the browser's;
 * 2: pairing ends with pair.confirm and pair.saved): a host or an
 * extension that speaks another version is told so, with both numbers,
 * instead of failing later (a pairing that never confirms). */
static void
test_version (void)
{
  g_autoptr(Client) old_host = client_connect_speaking (CALLER, 2);
  g_autoptr(Client) old_extension = client_connect (CALLER);
  g_autoptr(Client) prev_extension = client_connect (CALLER);
  g_autoptr(Client) new_extension = client_connect (CALLER);
  g_autoptr(Client) odd_extension = client_connect (CALLER);
  g_autoptr(Client) c = client_connect (CALLER);
  g_autoptr(JsonObject) b1 = begin_frame ("b1");
  g_autoptr(JsonObject) b2 = begin_frame ("b2");
  g_autoptr(JsonObject) b3 = begin_frame ("b3");
  g_autoptr(JsonObject) b4 = begin_frame ("b4");
  g_autoptr(JsonObject) answer = NULL;

  g_assert_cmpint (OW_BRIDGE_PROTOCOL, ==, 3);
  /* the host's hello; what the browser sent behind it goes nowhere */
  client_send (old_host, b1);
  expect_version (old_host, NULL, 2);

  client_send (old_extension, b1);
  expect_version (old_extension, "b1", 1);
  json_object_set_int_member (b4, "protocol", 2);
  client_send (prev_extension, b4);
  expect_version (prev_extension, "b4", 2);
  json_object_set_int_member (b2, "protocol", 4);
  client_send (new_extension, b2);
  expect_version (new_extension, "b2", 4);
  json_object_set_string_member (b3, "protocol", "3");
  client_send (odd_extension, b3);
  expect_version (odd_extension, "b3", 0);
  assert_no_call ();

  /* ours is served */
  answer = client_begin (c);
}

static void
test_card_requests (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(JsonObject) card = json_object_new ();
  g_autoptr(JsonObject) reply = json_object_new ();
  g_autoptr(OwBrowser) browser = NULL;

  clear_browsers ();
  c = paired_client ();

  /* "Confirmed in the popup", to be remembered: only the extension says so,
   * and any process that read K from the browser's profile can. The wallet
   * asks its user all the same, and lists a site only through its own
   * dialog. */
  client_request (c, "{\"type\":\"card.request\",\"origin\":\"" ORIGIN "\",\"fields\":"
                     "[\"cc-number\",\"cc-csc\",7],\"confirmed\":\"popup\",\"remember\":true}");
  call = wait_call ();
  g_assert_cmpint (ow_bridge_call_get_kind (call), ==, OW_BRIDGE_CALL_CARD);
  g_assert_cmpstr (ow_bridge_call_get_origin (call), ==, ORIGIN);
  g_assert_cmpstr (ow_bridge_call_get_browser_name (call), ==, "Work laptop");
  g_assert_cmpuint (g_strv_length ((GStrv) ow_bridge_call_get_fields (call)), ==, 2);
  g_assert_true (ow_bridge_call_needs_confirmation (call));
  browser = ow_browser_load (T.vault, c->browser, NULL);
  g_assert_false (ow_browser_has_site (browser, ORIGIN));
  /* the user said yes in the wallet's dialog, "Always fill" not ticked */
  json_object_set_string_member (card, "number", "9410123456789012");
  json_object_set_object_member (reply, "card", json_object_ref (card));
  ow_bridge_call_reply (call, reply);
  answer = client_response (c);
  g_assert_cmpstr (onepin_json_get_string (answer, "type", NULL), ==, "card.response");
  g_assert_cmpstr (onepin_json_get_string (json_object_get_object_member (answer, "card"),
                                           "number", NULL), ==, "9410123456789012");
  g_assert_false (onepin_json_get_bool (answer, "remembered", TRUE));
  g_clear_object (&call);
  g_clear_pointer (&browser, ow_browser_free);
  browser = ow_browser_load (T.vault, c->browser, NULL);
  g_assert_false (ow_browser_has_site (browser, ORIGIN));
  /* the user saw the dialog: nothing more to announce */
  g_assert_cmpuint (T.released->len, ==, 0);

  /* claimed remembered, on no list of the wallet's: asked; "Always fill on
   * this site" ticked in the dialog lists it, and the browser hears so */
  client_request (c, "{\"type\":\"card.request\",\"origin\":\"" ORIGIN "\",\"fields\":"
                     "[\"cc-number\"],\"confirmed\":\"remembered\"}");
  call = wait_call ();
  g_assert_true (ow_bridge_call_needs_confirmation (call));
  g_assert_true (ow_bridge_call_remember_site (call, NULL));
  g_clear_pointer (&reply, json_object_unref);
  reply = json_object_new ();
  json_object_set_object_member (reply, "card", json_object_ref (card));
  ow_bridge_call_reply (call, reply);
  g_clear_pointer (&answer, json_object_unref);
  answer = client_response (c);
  g_assert_true (onepin_json_get_bool (answer, "remembered", FALSE));
  g_assert_cmpuint (T.released->len, ==, 0);
  g_clear_object (&call);
  g_clear_pointer (&browser, ow_browser_free);
  browser = ow_browser_load (T.vault, c->browser, NULL);
  g_assert_true (ow_browser_has_site (browser, ORIGIN));

  /* on the wallet's list: no question, whatever the browser says (the
   * same connection, and a new one), but the card leaving without a
   * dialog is announced, for the wallet to show its user */
  for (guint i = 0; i < 2; i++)
    {
      const char *confirmed = i == 0 ? "popup" : "remembered";
      g_autofree char *text = g_strdup_printf ("{\"type\":\"card.request\",\"origin\":\"" ORIGIN
                                               "\",\"fields\":[\"cc-csc\"],\"confirmed\":\"%s\"}",
                                               confirmed);

      if (i == 1)
        {
          g_autoptr(Client) old = g_steal_pointer (&c);

          c = reconnect (old);
          client_begin (c);
        }
      client_request (c, text);
      call = wait_call ();
      g_assert_false (ow_bridge_call_needs_confirmation (call));
      g_clear_pointer (&reply, json_object_unref);
      reply = json_object_new ();
      json_object_set_object_member (reply, "card", json_object_new ());
      json_object_set_string_member (json_object_get_object_member (reply, "card"), "csc", "737");
      ow_bridge_call_reply (call, reply);
      g_clear_pointer (&answer, json_object_unref);
      answer = client_response (c);
      g_assert_cmpstr (onepin_json_get_string (json_object_get_object_member (answer, "card"),
                                               "csc", NULL), ==, "737");
      g_assert_true (onepin_json_get_bool (answer, "remembered", FALSE));
      g_assert_cmpuint (T.released->len, ==, 1);
      g_assert_true (g_ptr_array_index (T.released, 0) == call);
      g_ptr_array_set_size (T.released, 0);
      g_clear_object (&call);
    }

  /* a refusal releases nothing, and announces nothing */
  client_request (c, "{\"type\":\"card.request\",\"origin\":\"" ORIGIN "\",\"confirmed\":"
                     "\"remembered\"}");
  call = wait_call ();
  g_assert_false (ow_bridge_call_needs_confirmation (call));
  ow_bridge_call_refuse (call, "no_card", NULL);
  g_clear_pointer (&answer, json_object_unref);
  answer = client_response (c);
  g_assert_cmpstr (onepin_json_get_string (answer, "error", NULL), ==, "no_card");
  g_assert_null (json_object_get_member (answer, "remembered"));
  g_assert_cmpuint (T.released->len, ==, 0);
  g_clear_object (&call);

  /* a site the user never confirmed: the wallet must ask */
  client_request (c, "{\"type\":\"card.request\",\"origin\":\"https://other.example:8443\","
                     "\"confirmed\":\"remembered\"}");
  call = wait_call ();
  g_assert_true (ow_bridge_call_needs_confirmation (call));
  ow_bridge_call_refuse (call, "denied", NULL);
  g_clear_pointer (&answer, json_object_unref);
  answer = client_response (c);
  g_clear_object (&call);

  /* http other than loopback, a path, a made-up confirmation: refused here */
  client_request (c, "{\"type\":\"card.request\",\"origin\":\"http://shop.example\","
                     "\"confirmed\":\"popup\"}");
  g_clear_pointer (&answer, json_object_unref);
  answer = client_response (c);
  g_assert_cmpstr (onepin_json_get_string (answer, "error", NULL), ==, "insecure_origin");
  client_request (c, "{\"type\":\"card.request\",\"origin\":\"https://shop.example/pay\","
                     "\"confirmed\":\"popup\"}");
  g_clear_pointer (&answer, json_object_unref);
  answer = client_response (c);
  g_assert_cmpstr (onepin_json_get_string (answer, "error", NULL), ==, "insecure_origin");
  client_request (c, "{\"type\":\"card.request\",\"origin\":\"" ORIGIN "\",\"confirmed\":\"yes\"}");
  g_clear_pointer (&answer, json_object_unref);
  answer = client_response (c);
  g_assert_cmpstr (onepin_json_get_string (answer, "error", NULL), ==, "malformed");
  assert_no_call ();

  /* loopback http is a secure context */
  client_request (c, "{\"type\":\"card.request\",\"origin\":\"http://127.0.0.1:8083\","
                     "\"confirmed\":\"popup\"}");
  call = wait_call ();
  ow_bridge_call_refuse (call, "no_card", NULL);
  g_clear_pointer (&answer, json_object_unref);
  answer = client_response (c);
  g_clear_object (&call);

  /* forgetting the site in the extension forgets it here */
  client_request (c, "{\"type\":\"site.forget\",\"origin\":\"" ORIGIN "\"}");
  g_clear_pointer (&answer, json_object_unref);
  answer = client_response (c);
  g_assert_cmpstr (onepin_json_get_string (answer, "type", NULL), ==, "site.forgotten");
  g_assert_null (json_object_get_member (answer, "error"));
  g_clear_pointer (&browser, ow_browser_free);
  browser = ow_browser_load (T.vault, c->browser, NULL);
  g_assert_false (ow_browser_has_site (browser, ORIGIN));
}

static void
test_checkout_request (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(JsonObject) answer = NULL;
  const OwPurchase *purchase;

  clear_browsers ();
  c = paired_client ();
  client_request (c, "{\"type\":\"checkout.request\",\"origin\":\"https://mall.example\","
                     "\"purchase\":{\"checkout_session\":\"cs_0123abcd\",\"merchant\":\"mch_77\","
                     "\"merchant_name\":\"Tea House\",\"order_id\":\"D-1\",\"amount\":13000,"
                     "\"currency\":\"krw\",\"items\":[{\"name\":\"Tea\",\"quantity\":3,"
                     "\"amount\":4000},{\"name\":\"Cup\",\"quantity\":1,\"amount\":1000}],"
                     "\"gateway\":\"http://127.0.0.1:8080\"}}");
  call = wait_call ();
  g_assert_cmpint (ow_bridge_call_get_kind (call), ==, OW_BRIDGE_CALL_CHECKOUT);
  purchase = ow_bridge_call_get_purchase (call);
  g_assert_cmpstr (purchase->checkout_session, ==, "cs_0123abcd");
  g_assert_cmpstr (purchase->merchant_id, ==, "mch_77");
  g_assert_cmpstr (purchase->merchant, ==, "Tea House");
  g_assert_cmpint (purchase->amount, ==, 13000);
  g_assert_cmpuint (purchase->items->len, ==, 2);
  /* a line's total, from the unit price */
  g_assert_cmpint (((OwPurchaseItem *) g_ptr_array_index (purchase->items, 0))->amount, ==, 12000);
  ow_bridge_call_refuse (call, "rejected", "The user rejected the purchase");
  answer = client_response (c);
  g_assert_cmpstr (onepin_json_get_string (answer, "type", NULL), ==, "checkout.response");
  g_assert_cmpstr (onepin_json_get_string (answer, "error", NULL), ==, "rejected");

  /* a purchase the wallet cannot read */
  client_request (c, "{\"type\":\"checkout.request\",\"origin\":\"https://mall.example\","
                     "\"purchase\":{\"checkout_session\":\"cs_1\",\"merchant\":\"mch_7\","
                     "\"merchant_name\":\"M\",\"order_id\":\"1\",\"amount\":-5,"
                     "\"currency\":\"krw\",\"gateway\":\"http://127.0.0.1:8080\"}}");
  g_clear_pointer (&answer, json_object_unref);
  answer = client_response (c);
  g_assert_cmpstr (onepin_json_get_string (answer, "error", NULL), ==, "invalid_purchase");
  assert_no_call ();
}

/* What the bridge wipes of a reply holding the card: a frame (a native-endian
 * length, then the JSON), the envelope's text, the body's text. */
static gboolean
is_frame (const guint8 *data,
          gsize         len)
{
  guint32 n;

  if (len < sizeof n + 1)
    return FALSE;
  memcpy (&n, data, sizeof n);
  return n == len - sizeof n && data[sizeof n] == '{';
}

static gboolean
starts_with (const guint8 *data,
             gsize         len,
             const char   *prefix)
{
  return len >= strlen (prefix) && memcmp (data, prefix, strlen (prefix)) == 0;
}

static gboolean
is_envelope (const guint8 *data,
             gsize         len)
{
  return starts_with (data, len, "{\"body\":\"{\\\"card\\\":");
}

static gboolean
is_body (const guint8 *data,
         gsize         len)
{
  return starts_with (data, len, "{\"card\":{");
}

/* The MAC's input: its context line, then the answer's body. */
static gboolean
is_mac_input (const guint8 *data,
              gsize         len)
{
  return starts_with (data, len, "onepin-wallet-v1\n");
}

static void
test_reply_wiped (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(JsonObject) card = json_object_new ();
  g_autoptr(JsonObject) reply = json_object_new ();
  gint64 deadline;

  clear_browsers ();
  c = paired_client ();
  client_request (c, "{\"type\":\"card.request\",\"origin\":\"" ORIGIN "\","
                     "\"fields\":[\"cc-number\",\"cc-csc\"],\"confirmed\":\"popup\"}");
  call = wait_call ();
  json_object_set_string_member (card, "number", "9410123456789012");
  json_object_set_string_member (card, "csc", "987");
  json_object_set_object_member (reply, "card", json_object_ref (card));

  ow_test_wiped_watch ("9410123456789012");
  ow_bridge_call_reply (call, reply);
  /* the body's text, the envelope's, and the caller's copy of the number */
  g_assert_true (ow_test_wiped_any (is_body));
  g_assert_true (ow_test_wiped_any (is_envelope));
  g_assert_true (ow_test_wiped_any (is_mac_input));
  g_assert_true (ow_test_wiped_exactly ("9410123456789012", 16));
  g_assert_cmpstr (json_object_get_string_member (card, "csc"), ==, "");
  /* the frame, once written; before this side reads (its reader wipes too) */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (!ow_test_wiped_any (is_frame))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("the reply's frame was not wiped within 20 s of being written");
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  ow_test_wiped_stop ();

  /* and the browser got the card intact */
  answer = client_response (c);
  g_assert_cmpstr (onepin_json_get_string (json_object_get_object_member (answer, "card"),
                                           "number", NULL), ==, "9410123456789012");
  g_assert_cmpstr (onepin_json_get_string (json_object_get_object_member (answer, "card"),
                                           "csc", NULL), ==, "987");
}

/* A full card in the reply: what the request's fields do not ask for is
 * wiped and never sent. */
static JsonObject *
card_reply_for (Client     *c,
                const char *fields,
                JsonObject *card)
{
  g_autofree char *request = g_strdup_printf ("{\"type\":\"card.request\",\"origin\":\"" ORIGIN
                                              "\",\"fields\":%s,\"confirmed\":\"popup\"}",
                                              fields);
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(JsonObject) reply = json_object_new ();
  g_autoptr(JsonObject) answer = NULL;

  client_request (c, request);
  call = wait_call ();
  json_object_set_string_member (card, "number", "9410123456789012");
  json_object_set_string_member (card, "csc", "987");
  json_object_set_int_member (card, "exp_month", 3);
  json_object_set_int_member (card, "exp_year", 2029);
  json_object_set_string_member (card, "name", "Hong Gildong");
  json_object_set_string_member (card, "brand", "onepin");
  json_object_set_object_member (reply, "card", json_object_ref (card));
  ow_bridge_call_reply (call, reply);
  answer = client_response (c);
  g_assert_cmpstr (onepin_json_get_string (answer, "type", NULL), ==, "card.response");
  return json_object_ref (json_object_get_object_member (answer, "card"));
}

static void
assert_members (JsonObject *object,
                const char *expected)
{
  g_autoptr(GList) members = json_object_get_members (object);
  g_autoptr(GString) names = g_string_new (NULL);

  members = g_list_sort (members, (GCompareFunc) g_strcmp0);
  for (GList *l = members; l != NULL; l = l->next)
    g_string_append_printf (names, "%s%s", names->len ? " " : "", (const char *) l->data);
  g_assert_cmpstr (names->str, ==, expected);
}

static void
test_card_fields (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(JsonObject) sent = NULL;
  g_autoptr(JsonObject) card = NULL;
  const char *number_exp[] = { "cc-number", "cc-exp", NULL };
  const char *split_exp[] = { "cc-exp-year", NULL };

  g_assert_true (ow_browser_card_member_wanted (number_exp, "number"));
  g_assert_true (ow_browser_card_member_wanted (number_exp, "exp_month"));
  g_assert_true (ow_browser_card_member_wanted (number_exp, "exp_year"));
  g_assert_false (ow_browser_card_member_wanted (number_exp, "csc"));
  g_assert_false (ow_browser_card_member_wanted (number_exp, "name"));
  g_assert_false (ow_browser_card_member_wanted (split_exp, "exp_month"));
  g_assert_true (ow_browser_card_member_wanted (split_exp, "exp_year"));
  g_assert_false (ow_browser_card_member_wanted (NULL, "number"));
  g_assert_false (ow_browser_card_member_wanted (number_exp, "bank_name"));

  clear_browsers ();
  c = paired_client ();

  /* a form with a number and an expiry gets no CVC and no name */
  sent = json_object_new ();
  ow_test_wiped_watch ("987");
  card = card_reply_for (c, "[\"cc-number\",\"cc-exp\"]", sent);
  ow_test_wiped_stop ();
  assert_members (card, "exp_month exp_year number");
  g_assert_cmpstr (onepin_json_get_string (card, "number", NULL), ==, "9410123456789012");
  /* the caller's CVC is wiped as it is taken out */
  g_assert_false (json_object_has_member (sent, "csc"));
  g_assert_true (ow_test_wiped_exactly ("987", 3));
  g_clear_pointer (&card, json_object_unref);
  g_clear_pointer (&sent, json_object_unref);

  /* a name alone */
  sent = json_object_new ();
  card = card_reply_for (c, "[\"cc-name\"]", sent);
  assert_members (card, "name");
  g_clear_pointer (&card, json_object_unref);
  g_clear_pointer (&sent, json_object_unref);

  /* everything a card form has */
  sent = json_object_new ();
  card = card_reply_for (c, "[\"cc-type\",\"cc-number\",\"cc-exp-month\",\"cc-exp-year\","
                            "\"cc-csc\",\"cc-name\"]", sent);
  assert_members (card, "brand csc exp_month exp_year name number");
  g_clear_pointer (&card, json_object_unref);
  g_clear_pointer (&sent, json_object_unref);

  /* fields the wallet has nothing for, or none: an empty card */
  sent = json_object_new ();
  card = card_reply_for (c, "[\"bank-name\",\"email\"]", sent);
  assert_members (card, "");
  g_clear_pointer (&card, json_object_unref);
  g_clear_pointer (&sent, json_object_unref);
  sent = json_object_new ();
  card = card_reply_for (c, "[]", sent);
  assert_members (card, "");
}

static void
test_browser_goes_away (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(JsonObject) reply = json_object_new ();
  GCancellable *cancellable;

  clear_browsers ();
  c = paired_client ();
  client_request (c, "{\"type\":\"card.request\",\"origin\":\"" ORIGIN "\",\"confirmed\":\"popup\"}");
  call = wait_call ();
  cancellable = ow_bridge_call_get_cancellable (call);
  g_assert_false (g_cancellable_is_cancelled (cancellable));

  g_clear_object (&c->socket);
  while (!g_cancellable_is_cancelled (cancellable))
    g_main_context_iteration (NULL, TRUE);
  /* a late answer goes nowhere */
  ow_bridge_call_reply (call, reply);
  g_assert_true (ow_bridge_call_is_answered (call));
}

/* While locked, every browser's key is sealed: nothing a browser sends can
 * be authenticated, so nothing it sends may bring the wallet's window up
 * (or anything else). A request is refused "locked" at once, with no call;
 * the browser asks again once the user has unlocked the wallet. */
static void
test_locked (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(Client) locked = NULL;
  g_autoptr(Client) after = NULL;
  g_autoptr(JsonObject) pong = NULL;
  g_autoptr(GError) error = NULL;

  clear_browsers ();
  c = paired_client ();
  locked = reconnect (c);
  after = reconnect (c);

  ow_vault_lock (T.vault);
  client_begin (locked);
  client_request (locked, "{\"type\":\"card.request\",\"origin\":\"" ORIGIN "\","
                          "\"confirmed\":\"popup\"}");
  expect_error (locked, "locked", FALSE);
  /* a forged one alike: it is refused before its MAC could be checked */
  locked->key[0] ^= 0x80;
  locked->seq = 0;
  client_request (locked, "{\"type\":\"ping\"}");
  expect_error (locked, "locked", FALSE);
  assert_no_call ();

  /* the unlock does not bring them back */
  g_assert_true (ow_vault_unlock (T.vault, MASTER, &error));
  assert_no_call ();
  client_begin (after);
  pong = ping (after);
  g_assert_cmpstr (onepin_json_get_string (pong, "type", NULL), ==, "pong");
}

/* A pairing can never be authenticated: while locked it is refused at
 * once, before any key is made or shown. */
static void
test_locked_pairing (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(OwEcdhKey) key = ow_ecdh_key_new (NULL);
  g_autoptr(JsonObject) begin = pair_message ("pair.begin", "p1", NULL);
  g_autofree char *public_b = NULL;
  g_autofree char *commitment = NULL;
  g_auto(GStrv) ids = NULL;
  g_autoptr(GError) error = NULL;

  clear_browsers ();
  c = client_connect (CALLER);
  client_begin (c);
  public_b = g_base64_encode (ow_ecdh_key_get_public (key), OW_BRIDGE_PUBLIC_KEY_LEN);
  /* begun while unlocked, its key sent once locked */
  commitment = client_pair_begin (c, "p0", NULL);
  ow_vault_lock (T.vault);
  client_pair_key (c, "p0", public_b);
  expect_error (c, "locked", FALSE);
  client_send (c, begin);
  expect_error (c, "locked", FALSE);
  assert_no_call ();

  g_assert_true (ow_vault_unlock (T.vault, MASTER, &error));
  assert_no_call ();
  ids = ow_vault_list (T.vault, OW_VAULT_KIND_BROWSER, NULL);
  g_assert_cmpuint (g_strv_length (ids), ==, 0);
}

/* The wallet's refusal @code of the message @id, after which it hangs up. */
static void
expect_refusal_of (Client     *c,
                   const char *id,
                   const char *code)
{
  g_autoptr(JsonObject) answer = recv_error (c, code);

  g_assert_cmpstr (onepin_json_get_string (answer, "id", NULL), ==, id);
  g_assert_null (client_recv (c));
}

/* Locking takes the browsers' keys out of the wallet's memory at once, not
 * when each connection ends: every connection holding a copy (a browser
 * paired on it, one authenticated on it, one whose request is open) has it
 * wiped, is refused "locked" and closed, and its open call is cancelled. A
 * connection that authenticated nothing held no key: it stays, refused
 * "locked" while locked, and goes on after the unlock; so does a new one. */
static void
test_lock_wipes_keys (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(Client) idle = NULL;
  g_autoptr(Client) waiting = NULL;
  g_autoptr(Client) fresh = NULL;
  g_autoptr(Client) after = NULL;
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(JsonObject) pong = NULL;
  g_autoptr(JsonObject) reply = json_object_new ();
  g_autofree char *waiting_id = NULL;
  g_autoptr(GError) error = NULL;

  clear_browsers ();
  c = paired_client ();
  idle = reconnect (c);
  client_begin (idle);
  pong = ping (idle);
  waiting = reconnect (c);
  client_begin (waiting);
  client_request (waiting, "{\"type\":\"card.request\",\"origin\":\"" ORIGIN "\","
                           "\"confirmed\":\"popup\"}");
  waiting_id = g_strdup_printf ("m%u", waiting->ids);
  call = wait_call ();
  fresh = reconnect (c);
  client_begin (fresh);

  ow_test_wiped_watch_bytes (c->key, sizeof c->key);
  ow_vault_lock (T.vault);
  ow_test_wiped_stop ();
  /* one copy per connection that held it, each gone with the lock */
  g_assert_cmpuint (ow_test_wiped_count (c->key, sizeof c->key), ==, 3);
  g_assert_true (g_cancellable_is_cancelled (ow_bridge_call_get_cancellable (call)));

  expect_error (c, "locked", TRUE);
  expect_error (idle, "locked", TRUE);
  expect_refusal_of (waiting, waiting_id, "locked");
  /* the application's late answer goes nowhere */
  ow_bridge_call_reply (call, reply);
  g_assert_true (ow_bridge_call_is_answered (call));

  client_request (fresh, "{\"type\":\"ping\"}");
  expect_error (fresh, "locked", FALSE);
  assert_no_call ();

  g_assert_true (ow_vault_unlock (T.vault, MASTER, &error));
  g_assert_no_error (error);
  /* the refused number was not taken: the same one serves now */
  fresh->seq--;
  g_clear_pointer (&pong, json_object_unref);
  pong = ping (fresh);
  g_assert_cmpstr (onepin_json_get_string (pong, "type", NULL), ==, "pong");
  after = reconnect (c);
  client_begin (after);
  g_clear_pointer (&pong, json_object_unref);
  pong = ping (after);
  g_assert_cmpstr (onepin_json_get_string (pong, "name", NULL), ==, "Work laptop");
}

static void
lock (void)
{
  ow_vault_lock (T.vault);
}

static void
unlock (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (ow_vault_unlock (T.vault, MASTER, &error));
  g_assert_no_error (error);
}

static void
sign_out (void)
{
  g_assert_true (ow_vault_clear (T.vault, NULL));
}

/* A pairing under way when @end runs fails, whether the user was still
 * comparing the codes or the wallet waited for the browser's proof: its key
 * is wiped at @end (the call's copy, and the browser's waiting for the
 * proof), the browser is refused @code and the connection closed, a
 * waiting pairing fails with @domain and @error_code, the user's late Pair
 * stores nothing, and the next pairing works. @after (may be NULL) undoes
 * what @end did. */
static void
expect_pairing_ended (void      (*end) (void),
                      void      (*after) (void),
                      const char *code,
                      GQuark      domain,
                      gint        error_code)
{
  g_autoptr(Client) asked = NULL;
  g_autoptr(Client) proving = NULL;
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) done = NULL;
  g_autofree char *id = NULL;
  g_autoptr(GError) error = NULL;

  clear_browsers ();
  asked = client_connect (CALLER);
  client_begin (asked);
  call = pair_until_asked (asked, &id);
  ow_test_wiped_watch_bytes (asked->key, sizeof asked->key);
  end ();
  ow_test_wiped_stop ();
  g_assert_cmpuint (ow_test_wiped_count (asked->key, sizeof asked->key), ==, 1);
  /* the pair dialog closes */
  g_assert_true (g_cancellable_is_cancelled (ow_bridge_call_get_cancellable (call)));
  expect_refusal_of (asked, id, code);
  /* the user's answer comes too late */
  ow_bridge_call_accept_pairing_async (call, "Work laptop", ow_test_store_result, &result);
  g_assert_false (ow_bridge_call_accept_pairing_finish (call, ow_test_wait (&result), &error));
  g_assert_error (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_GONE);
  g_clear_error (&error);
  g_clear_object (&call);
  g_clear_object (&result);
  if (after != NULL)
    after ();
  assert_no_browsers ();

  proving = client_connect (CALLER);
  client_begin (proving);
  done = pair_until_done (proving, "Work laptop", &call, &result);
  ow_test_wiped_watch_bytes (proving->key, sizeof proving->key);
  end ();
  ow_test_wiped_stop ();
  /* the call's copy and the browser's that waited for the proof */
  g_assert_cmpuint (ow_test_wiped_count (proving->key, sizeof proving->key), ==, 2);
  expect_refusal_of (proving, onepin_json_get_string (done, "id", NULL), code);
  g_assert_false (ow_bridge_call_accept_pairing_finish (call, ow_test_wait (&result), &error));
  g_assert_error (error, domain, error_code);
  if (after != NULL)
    after ();
  assert_no_browsers ();
  assert_pairing_open ();
}

/* A lock ends a pairing under way: the browser hears "locked" and the
 * pairing fails with OW_VAULT_ERROR_LOCKED. */
static void
test_lock_ends_pairing (void)
{
  expect_pairing_ended (lock, unlock, "locked", OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED);
}

/* Signing out (ow_vault_clear) ends every pairing under way too: the user
 * agreed to it for the account that just left, and it must not be stored
 * into the emptied vault for the next one. The browser hears "not_paired"
 * and the pairing fails with OW_BRIDGE_ERROR_SIGNED_OUT. */
static void
test_sign_out_ends_pairing (void)
{
  expect_pairing_ended (sign_out, NULL, "not_paired", OW_BRIDGE_ERROR,
                        OW_BRIDGE_ERROR_SIGNED_OUT);
}

/* ---- limits ------------------------------------------------------------- */

/* Turns the main loop for @ms. */
static void
turn_loop (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

/* Turns the main loop until the bridge holds @n connections. */
static void
wait_connections (guint n)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (ow_bridge_count_connections (T.bridge) != n)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("the bridge holds %u connections, not %u",
                 ow_bridge_count_connections (T.bridge), n);
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
}

/* Connections that never say the host's hello, or never the extension's
 * begin, would hold the 32 places every browser shares until the wallet
 * quits: each is closed once the handshake's time is over, and a browser
 * that comes then is served. */
static void
test_handshake_timeout (void)
{
  g_autoptr(GPtrArray) silent = g_ptr_array_new_with_free_func ((GDestroyNotify) client_free);
  g_autoptr(Client) refused = NULL;
  g_autoptr(Client) c = NULL;
  g_autoptr(JsonObject) answer = NULL;

  /* those of earlier tests go as their clients hung up */
  wait_connections (0);
  ow_bridge_set_timeouts (T.bridge, 2000, 60 * 1000);
  /* one by one: the listening socket's backlog is short */
  for (guint i = 0; i < OW_BRIDGE_MAX_CONNECTIONS; i++)
    {
      g_ptr_array_add (silent, i % 2 == 0 ? client_connect_raw () : client_connect (CALLER));
      wait_connections (i + 1);
    }
  /* full: the next one is turned away at once */
  refused = client_connect_raw ();
  g_assert_null (client_recv (refused));
  g_assert_cmpuint (ow_bridge_count_connections (T.bridge), ==, OW_BRIDGE_MAX_CONNECTIONS);

  /* no hello, or a hello and no begin: hung up on */
  for (guint i = 0; i < silent->len; i++)
    g_assert_null (client_recv (g_ptr_array_index (silent, i)));
  c = client_connect (CALLER);
  answer = client_begin (c);
  ow_bridge_set_timeouts (T.bridge, 10 * 1000, 60 * 1000);
}

/* A connection with no call open that stays silent is closed after the
 * idle time; one whose call waits for the user (a card request may wait
 * minutes for its dialog) is not, and is idle only once answered. */
static void
test_idle_timeout (void)
{
  g_autoptr(Client) c = NULL;
  g_autoptr(Client) idle = NULL;
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(JsonObject) reply = json_object_new ();
  g_autoptr(JsonObject) answer = NULL;

  clear_browsers ();
  c = paired_client ();
  ow_bridge_set_timeouts (T.bridge, 10 * 1000, 300);
  idle = reconnect (c);
  client_begin (idle);
  g_assert_null (client_recv (idle));

  client_request (c, "{\"type\":\"card.request\",\"origin\":\"" ORIGIN "\","
                     "\"confirmed\":\"popup\"}");
  call = wait_call ();
  turn_loop (1000);
  g_assert_false (g_cancellable_is_cancelled (ow_bridge_call_get_cancellable (call)));
  json_object_set_string_member (reply, "error", "denied");
  ow_bridge_call_reply (call, reply);
  answer = client_response (c);
  g_assert_cmpstr (onepin_json_get_string (answer, "error", NULL), ==, "denied");
  g_assert_null (client_recv (c));
  ow_bridge_set_timeouts (T.bridge, 10 * 1000, 60 * 1000);
}

/* A peer that sends and never reads what the wallet answers: the wallet
 * stops reading it once a few answers wait, instead of queueing one per
 * frame without end, and reads on once the peer has read them. */
static void
test_unread_answers (void)
{
  enum { JUNK = 64, CAP = 512 * 1024 };
  g_autoptr(Client) c = NULL;
  g_autoptr(JsonObject) pong = NULL;
  g_autoptr(GError) error = NULL;
  guint8 block[JUNK * 1024];
  gsize sent = 0;
  guint stalls = 0;
  gsize answered = 0;

  clear_browsers ();
  c = paired_client ();
  /* frames of 60 bytes that are no JSON, each answered "malformed" */
  for (gsize i = 0; i < sizeof block; i += JUNK)
    {
      guint32 len = JUNK - sizeof len;

      memcpy (block + i, &len, sizeof len);
      memset (block + i + sizeof len, 'x', len);
    }
  g_assert_true (g_socket_set_option (c->socket, SOL_SOCKET, SO_SNDBUF, 16 * 1024, &error));

  while (sent < CAP && stalls < 200)
    {
      gssize n = g_socket_send (c->socket, (const char *) block + sent % sizeof block,
                                sizeof block - sent % sizeof block, NULL, &error);

      if (n > 0)
        {
          sent += (gsize) n;
          stalls = 0;
          continue;
        }
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
      g_clear_error (&error);
      if (!g_main_context_iteration (NULL, FALSE))
        {
          g_usleep (1000);
          stalls++;
        }
    }
  /* the wallet stopped reading, with little queued */
  g_assert_cmpuint (sent, <, CAP);
  g_assert_cmpuint (ow_bridge_get_queued_bytes (T.bridge), <=, OW_BRIDGE_OUT_MAX_BYTES);

  /* read: every frame is answered, and the connection goes on */
  while (answered < sent / JUNK || sent % JUNK != 0)
    {
      if (answered == sent / JUNK)
        {
          gssize n = g_socket_send (c->socket, (const char *) block + sent % sizeof block,
                                    JUNK - sent % JUNK, NULL, NULL);

          if (n > 0)
            sent += (gsize) n;
          else
            g_main_context_iteration (NULL, FALSE);
          continue;
        }
      expect_error (c, "malformed", FALSE);
      answered++;
    }
  pong = ping (c);
  g_assert_cmpstr (onepin_json_get_string (pong, "type", NULL), ==, "pong");
}

static void
test_origins (void)
{
  static const char *good[] = { "https://shop.example", "https://shop.example:8443",
                                "http://localhost:3000", "http://127.0.0.1:8083",
                                "http://[::1]:80", "https://xn--9n2bp8q.example" };
  static const char *bad[] = { "http://shop.example", "http://127.evil.example",
                               "https://shop.example/", "https://user@shop.example",
                               "https://shop.example?x", "ftp://shop.example", "https://",
                               "https://shop example", "javascript:alert(1)", "", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (ow_browser_origin_valid (good[i]));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (ow_browser_origin_valid (bad[i]));
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *run = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  /* The vault's KDF at a test's strength: the count is not under test here. */
  g_setenv ("NSS_MIN_MP_PBE_ITERATION_COUNT", "10000", TRUE);
  if (!ow_vault_global_init (&error))
    g_error ("%s", error->message);

  T.dir = g_dir_make_tmp ("ow-bridge-XXXXXX", &error);
  g_assert_no_error (error);
  run = g_build_filename (T.dir, "run", NULL);
  g_assert_cmpint (g_mkdir (run, 0700), ==, 0);
  g_setenv ("XDG_RUNTIME_DIR", run, TRUE);
  T.vault = ow_vault_new (T.dir, &error);
  g_assert_no_error (error);
  g_assert_true (ow_vault_create (T.vault, MASTER, &error));
  T.calls = g_ptr_array_new_with_free_func (g_object_unref);
  T.bridge = ow_bridge_new (T.vault);
  T.released = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (T.bridge, "call", G_CALLBACK (on_call), NULL);
  g_signal_connect (T.bridge, "card-released", G_CALLBACK (on_card_released), NULL);
  g_assert_true (ow_bridge_listen (T.bridge, NULL, &error));
  g_assert_no_error (error);
  T.socket = g_strdup (ow_bridge_get_path (T.bridge));

  g_test_add_func ("/bridge/hkdf", test_hkdf);
  g_test_add_func ("/bridge/ecdh", test_ecdh);
  g_test_add_func ("/bridge/decode-exact", test_decode_exact);
  g_test_add_func ("/bridge/pairing-commitment", test_pairing_commitment);
  g_test_add_func ("/bridge/origins", test_origins);
  g_test_add_func ("/bridge/socket-file", test_socket_file);
  g_test_add_func ("/bridge/pairing", test_pairing);
  g_test_add_func ("/bridge/pairing-refused", test_pairing_refused);
  g_test_add_func ("/bridge/pairing-not-confirmed", test_pairing_not_confirmed);
  g_test_add_func ("/bridge/pairing-confirm-timeout", test_pairing_confirm_timeout);
  g_test_add_func ("/bridge/forged", test_forged);
  g_test_add_func ("/bridge/replay", test_replay);
  g_test_add_func ("/bridge/out-of-order", test_out_of_order);
  g_test_add_func ("/bridge/not-paired", test_not_paired);
  g_test_add_func ("/bridge/removed-browser-wiped", test_removed_browser_wiped);
  g_test_add_func ("/bridge/protocol-errors", test_protocol_errors);
  g_test_add_func ("/bridge/version", test_version);
  g_test_add_func ("/bridge/card-requests", test_card_requests);
  g_test_add_func ("/bridge/checkout-request", test_checkout_request);
  g_test_add_func ("/bridge/reply-wiped", test_reply_wiped);
  g_test_add_func ("/bridge/card-fields", test_card_fields);
  g_test_add_func ("/bridge/browser-goes-away", test_browser_goes_away);
  g_test_add_func ("/bridge/locked", test_locked);
  g_test_add_func ("/bridge/locked-pairing", test_locked_pairing);
  g_test_add_func ("/bridge/lock-wipes-keys", test_lock_wipes_keys);
  g_test_add_func ("/bridge/lock-ends-pairing", test_lock_ends_pairing);
  g_test_add_func ("/bridge/sign-out-ends-pairing", test_sign_out_ends_pairing);
  g_test_add_func ("/bridge/handshake-timeout", test_handshake_timeout);
  g_test_add_func ("/bridge/idle-timeout", test_idle_timeout);
  g_test_add_func ("/bridge/unread-answers", test_unread_answers);
  g_test_add_func ("/bridge/repair", test_repair);
  g_test_add_func ("/bridge/repair-forged", test_repair_forged);
  g_test_add_func ("/bridge/unpair", test_unpair);
  status = g_test_run ();

  ow_bridge_close (T.bridge);
  g_clear_object (&T.bridge);
  g_clear_object (&T.vault);
  g_ptr_array_unref (T.calls);
  g_ptr_array_unref (T.released);
  ow_test_remove_tree (T.dir);
  g_free (T.dir);
  g_free (T.socket);
  return status;
}
