/* ow-bridge.c: the wallet's end of the browser socket
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Per connection, in order: the host's hello (which extension it serves),
 * the extension's "begin" (its nonce; ours in the answer), then pairing
 * and requests. A pairing begins with our commitment to our key, before we
 * see the browser's (so ours cannot be chosen to make the codes match
 * another pairing's), and is stored only once both sides have proved the
 * agreed key (our pair.done, the browser's pair.confirm); a pairing that
 * fails leaves nothing behind. A browser pairing again proves the key it
 * holds, and its new pairing then replaces that record and key. A request carries the browser's id, a
 * sequence number (1, 2, … on this connection) and a MAC over both nonces,
 * the number and the body; anything forged, replayed or out of order is
 * answered with an error and the connection is closed. One call per connection is open at a
 * time. While the vault is locked the keys are sealed, so nothing can be
 * authenticated: requests and pairings are refused "locked" at once, and
 * nothing a browser sends ever brings up the wallet's window. Locking also
 * wipes the keys the connections hold, and ends those connections. Any
 * process of this user may connect, so each connection is bounded
 * (ow-bridge-private.h): closed if it does not begin in time or idles with
 * no call open, and read no more while its peer leaves our answers unread.
 * Everything runs on the main context.
 */
#include "ow-bridge.h"
#include "ow-bridge-private.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "onepin-crypto.h"
#include "onepin-json.h"
#include "ow-secret.h"
#include "wh-frame.h"
#include "wh-relay.h"

#define MAX_ID 128
#define MAX_BODY (256 * 1024)
#define MAX_FIELDS 32
#define READ_CHUNK 65536

/* The host's hello and the extension's begin carry one number. */
G_STATIC_ASSERT (OW_BRIDGE_PROTOCOL == WH_RELAY_PROTOCOL);

G_DEFINE_QUARK (ow-bridge-error-quark, ow_bridge_error)

typedef enum
{
  STATE_HOST_HELLO,     /* the host says who it is */
  STATE_BEGIN,          /* the extension's nonce */
  STATE_READY,
  STATE_CLOSING,        /* a last refusal is being written */
  STATE_CLOSED,
} ConnectionState;

typedef struct _Connection Connection;

struct _OwBridgeCall
{
  GObject           parent_instance;

  OwBridgeCallKind  kind;
  Connection       *connection;   /* NULL once it closed */
  char             *id;           /* the message's, for the answer */
  gint64            seq;
  char             *browser_name;
  char             *browser_kind;
  char             *origin;
  GStrv             fields;
  gboolean          listed;       /* card: the site is on the browser's list in the wallet */
  gboolean          needs_confirmation;
  OwPurchase       *purchase;
  GCancellable     *cancellable;
  gboolean          answered;

  /* pairing */
  char             *code;
  guint8            key[OW_BRIDGE_KEY_LEN];
  /* accepted, and stored only once the browser proves the key */
  OwBrowser        *pending;
  char             *replaces;       /* the browser's pairing before, which it proved it holds */
  char             *pending_body;   /* pair.done's body, which the proof covers too */
  GTask            *confirmation;   /* of ow_bridge_call_accept_pairing_async */
  guint             confirm_source; /* the wait for pair.confirm, bounded */
};

G_DEFINE_FINAL_TYPE (OwBridgeCall, ow_bridge_call, G_TYPE_OBJECT)

struct _Connection
{
  gint               ref_count;   /* the list's, and one per async call */
  OwBridge          *bridge;
  GSocketConnection *stream;
  WhFrameReader     *reader;
  GCancellable      *cancellable;
  GQueue             out;         /* GBytes frames to write */
  gsize              out_bytes;   /* what they hold */
  gboolean           writing;
  gboolean           read_paused; /* until the peer reads what is queued */
  guint              deadline;    /* the source that closes a silent connection */
  ConnectionState    state;

  char              *kind;        /* from the host's hello */
  char              *caller;
  char              *nonce_browser;   /* base64, as sent */
  char              *nonce_wallet;
  guint8             nonce_browser_raw[OW_BRIDGE_NONCE_LEN];
  guint8             nonce_wallet_raw[OW_BRIDGE_NONCE_LEN];

  OwBrowser         *browser;     /* once a request authenticated or a pairing ended */
  gint64             next_seq;

  /* a pairing we committed to (pair.commit), until the browser's key */
  OwEcdhKey         *offer_key;
  char              *offer_id;
  char              *offer_name;
  char              *offer_replaces;

  OwBridgeCall      *call;        /* the open one, if any */
};

struct _OwBridge
{
  GObject          parent_instance;

  OwVault         *vault;
  GSocketService  *service;
  char            *path;
  dev_t            socket_dev;
  ino_t            socket_ino;
  GList           *connections;
  guint            confirm_ms;
  guint            handshake_ms;
  guint            idle_ms;
};

G_DEFINE_FINAL_TYPE (OwBridge, ow_bridge, G_TYPE_OBJECT)

enum
{
  SIGNAL_CALL,
  SIGNAL_CARD_RELEASED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* How long a browser has to prove a pairing's key after pair.done: the
 * extension does it at once; a peer that never does would otherwise keep
 * every other pairing "busy" with no dialog left to cancel it. */
#define CONFIRM_MS (30 * 1000)

/* How long a connection has for the host's hello and the extension's begin:
 * the host sends both at once, and the extension waits 10 s for the answer.
 * Then how long one may stay without a message while no call is open (a
 * call may wait minutes for the user). Connections are few
 * (OW_BRIDGE_MAX_CONNECTIONS) and shared by every browser: a silent peer
 * must not keep one. */
#define HANDSHAKE_MS (10 * 1000)
#define IDLE_MS (60 * 1000)

static void connection_close (Connection *conn);
static void arm_deadline (Connection *conn,
                          guint       ms);

typedef void (*ConnectionFunc) (Connection    *conn,
                                gconstpointer  data);

static void foreach_connection (OwBridge       *self,
                                ConnectionFunc  func,
                                gconstpointer   data);
static void forget_replaced_key (Connection    *conn,
                                 gconstpointer  data);

/* ---- calls -------------------------------------------------------------- */

static void
ow_bridge_call_finalize (GObject *object)
{
  OwBridgeCall *call = OW_BRIDGE_CALL (object);

  ow_secret_wipe (call->key, sizeof call->key);
  g_free (call->id);
  g_free (call->browser_name);
  g_free (call->browser_kind);
  g_free (call->origin);
  g_strfreev (call->fields);
  g_clear_pointer (&call->purchase, ow_purchase_free);
  g_clear_object (&call->cancellable);
  g_free (call->code);
  g_clear_pointer (&call->pending, ow_browser_free);
  g_free (call->replaces);
  g_free (call->pending_body);

  G_OBJECT_CLASS (ow_bridge_call_parent_class)->finalize (object);
}

static void
ow_bridge_call_class_init (OwBridgeCallClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ow_bridge_call_finalize;
}

static void
ow_bridge_call_init (OwBridgeCall *call)
{
  call->cancellable = g_cancellable_new ();
}

static OwBridgeCall *
call_new (Connection       *conn,
          OwBridgeCallKind  kind,
          const char       *id,
          gint64            seq)
{
  OwBridgeCall *call = g_object_new (OW_TYPE_BRIDGE_CALL, NULL);

  call->kind = kind;
  call->connection = conn;
  call->id = g_strdup (id);
  call->seq = seq;
  call->browser_kind = g_strdup (conn->kind);
  if (conn->browser != NULL)
    call->browser_name = g_strdup (conn->browser->name);
  return call;
}

OwBridgeCallKind
ow_bridge_call_get_kind (OwBridgeCall *call)
{
  g_return_val_if_fail (OW_IS_BRIDGE_CALL (call), 0);
  return call->kind;
}

const char *
ow_bridge_call_get_browser_name (OwBridgeCall *call)
{
  g_return_val_if_fail (OW_IS_BRIDGE_CALL (call), NULL);
  return call->browser_name;
}

gboolean
ow_bridge_call_is_repairing (OwBridgeCall *call)
{
  g_return_val_if_fail (OW_IS_BRIDGE_CALL (call), FALSE);
  return call->replaces != NULL;
}

const char *
ow_bridge_call_get_browser_kind (OwBridgeCall *call)
{
  g_return_val_if_fail (OW_IS_BRIDGE_CALL (call), NULL);
  return call->browser_kind;
}

const char *
ow_bridge_call_get_code (OwBridgeCall *call)
{
  g_return_val_if_fail (OW_IS_BRIDGE_CALL (call), NULL);
  return call->code;
}

const char *
ow_bridge_call_get_origin (OwBridgeCall *call)
{
  g_return_val_if_fail (OW_IS_BRIDGE_CALL (call), NULL);
  return call->origin;
}

const char * const *
ow_bridge_call_get_fields (OwBridgeCall *call)
{
  g_return_val_if_fail (OW_IS_BRIDGE_CALL (call), NULL);
  return (const char * const *) call->fields;
}

gboolean
ow_bridge_call_needs_confirmation (OwBridgeCall *call)
{
  g_return_val_if_fail (OW_IS_BRIDGE_CALL (call), TRUE);
  return call->needs_confirmation;
}

const OwPurchase *
ow_bridge_call_get_purchase (OwBridgeCall *call)
{
  g_return_val_if_fail (OW_IS_BRIDGE_CALL (call), NULL);
  return call->purchase;
}

GCancellable *
ow_bridge_call_get_cancellable (OwBridgeCall *call)
{
  g_return_val_if_fail (OW_IS_BRIDGE_CALL (call), NULL);
  return call->cancellable;
}

gboolean
ow_bridge_call_is_answered (OwBridgeCall *call)
{
  g_return_val_if_fail (OW_IS_BRIDGE_CALL (call), TRUE);
  return call->answered;
}

/* ---- writing ------------------------------------------------------------ */

static void write_next (Connection *conn);
static void read_on (Connection *conn);

static Connection *
connection_ref (Connection *conn)
{
  conn->ref_count++;
  return conn;
}

static void connection_unref (Connection *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Connection, connection_unref)

/* A peer that sends and never reads what we answer would grow the queue
 * without end: past this, the connection reads no more until it has. */
static gboolean
output_full (Connection *conn)
{
  return conn->out.length >= OW_BRIDGE_OUT_MAX_FRAMES ||
         conn->out_bytes >= OW_BRIDGE_OUT_MAX_BYTES;
}

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(Connection) conn = data;
  g_autoptr(GError) error = NULL;
  GBytes *frame;

  conn->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      connection_close (conn);
      return;
    }
  frame = g_queue_pop_head (&conn->out);
  conn->out_bytes -= g_bytes_get_size (frame);
  g_bytes_unref (frame);
  if (conn->state == STATE_CLOSING && g_queue_is_empty (&conn->out))
    {
      connection_close (conn);
      return;
    }
  write_next (conn);
  if (conn->read_paused && !output_full (conn))
    read_on (conn);
}

static void
write_next (Connection *conn)
{
  GBytes *frame = g_queue_peek_head (&conn->out);
  GOutputStream *out;

  if (conn->writing || frame == NULL || conn->state == STATE_CLOSED)
    return;
  conn->writing = TRUE;
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn->stream));
  g_output_stream_write_all_async (out, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame),
                                   G_PRIORITY_DEFAULT, conn->cancellable, on_written,
                                   connection_ref (conn));
}

/* Answers may hold the card: the text is written once into a block of its
 * own and wiped, and the frame is wiped once it is written (or dropped). */
static void
send_json (Connection *conn,
           JsonObject *object)
{
  gsize len;
  g_autoptr(OwSecret) text = ow_secret_json_to_string (object, &len);
  GBytes *frame;

  if (conn->state == STATE_CLOSED)
    return;
  frame = wh_frame_encode (text, len, NULL);
  if (frame == NULL)
    return;
  g_queue_push_tail (&conn->out, frame);
  conn->out_bytes += g_bytes_get_size (frame);
  write_next (conn);
}

/* An answer before or without authentication: it carries no secret. */
static JsonObject *
error_new (const char *id,
           const char *code,
           const char *message)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "type", "error");
  json_object_set_string_member (object, "source", "wallet");
  if (id != NULL)
    json_object_set_string_member (object, "id", id);
  json_object_set_string_member (object, "error", code);
  json_object_set_string_member (object, "message", message);
  return object;
}

static void
send_error (Connection *conn,
            const char *id,
            const char *code,
            const char *message)
{
  g_autoptr(JsonObject) object = error_new (id, code, message);

  g_message ("bridge: refused a message: %s", code);
  send_json (conn, object);
}

/* Ends the connection once what is queued is written: closing at once
 * would cancel a write still under way, and the browser would never learn
 * why. */
static void
close_when_written (Connection *conn)
{
  if (g_queue_is_empty (&conn->out))
    connection_close (conn);
  else
    conn->state = STATE_CLOSING;
}

/* A refusal after which the connection ends. */
static void
refuse_and_close (Connection *conn,
                  const char *id,
                  const char *code,
                  const char *message)
{
  send_error (conn, id, code, message);
  close_when_written (conn);
}

/* The peer (@who: the host's hello, the extension's begin) speaks protocol
 * @theirs, not ours: it is refused "version" with both numbers, in words
 * and as "protocol" (ours) and "peer_protocol", and the connection ends.
 * Nothing else of the message is looked at: another version may shape it
 * otherwise. */
static void
refuse_version (Connection *conn,
                const char *id,
                const char *who,
                gint64      theirs)
{
  g_autofree char *message = g_strdup_printf ("The wallet speaks protocol %d and %s protocol %"
                                              G_GINT64_FORMAT ": update the older one",
                                              OW_BRIDGE_PROTOCOL, who, theirs);
  g_autoptr(JsonObject) object = error_new (id, "version", message);

  json_object_set_int_member (object, "protocol", OW_BRIDGE_PROTOCOL);
  json_object_set_int_member (object, "peer_protocol", theirs);
  g_message ("bridge: refused a message: version (%s speaks %" G_GINT64_FORMAT ")", who, theirs);
  send_json (conn, object);
  close_when_written (conn);
}

/* An authenticated answer: {"type": "response", "id", "seq", "body", "mac"}.
 * The body may hold the card: its text and the envelope's copy of it are
 * wiped once the frame is queued. */
static void
send_response (Connection *conn,
               const char *id,
               gint64      seq,
               JsonObject *body)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(OwSecret) text = ow_secret_json_to_string (body, NULL);
  guint8 mac[OW_BRIDGE_MAC_LEN];
  g_autofree char *mac64 = NULL;

  if (conn->browser != NULL &&
      ow_bridge_mac (conn->browser->key, OW_BRIDGE_TO_BROWSER, conn->browser->id,
                     conn->nonce_browser, conn->nonce_wallet, seq, text, mac))
    {
      mac64 = g_base64_encode (mac, sizeof mac);
      json_object_set_string_member (object, "type", "response");
      json_object_set_string_member (object, "id", id);
      json_object_set_int_member (object, "seq", seq);
      json_object_set_string_member (object, "body", text);
      json_object_set_string_member (object, "mac", mac64);
      send_json (conn, object);
      ow_secret_json_wipe (object);
    }
}

/* ---- answering calls ---------------------------------------------------- */

static const char *
response_type (OwBridgeCallKind kind)
{
  switch (kind)
    {
    case OW_BRIDGE_CALL_PAIR:
      return "pair.done";
    case OW_BRIDGE_CALL_CARD:
      return "card.response";
    case OW_BRIDGE_CALL_CHECKOUT:
    default:
      return "checkout.response";
    }
}

/* Detaches an answered call from its connection. */
static Connection *
call_take_connection (OwBridgeCall *call)
{
  Connection *conn = call->connection;

  call->answered = TRUE;
  /* A pairing's key is needed only until it is answered (pair.done copied
   * it into the browser waiting for its proof). */
  ow_secret_wipe (call->key, sizeof call->key);
  if (conn == NULL)
    return NULL;
  if (conn->call == call)
    {
      conn->call = NULL;
      g_object_unref (call);
    }
  call->connection = NULL;
  /* idle from now on, not since the call began */
  if (conn->state == STATE_READY)
    arm_deadline (conn, conn->bridge->idle_ms);
  return conn->state == STATE_CLOSED ? NULL : conn;
}

/* A card goes with only the members the form's fields asked for (number
 * and CVC only to a form that has fields for them); the others are wiped
 * and removed before anything is written. */
static void
drop_unasked (OwBridgeCall *call,
              JsonObject   *body)
{
  JsonNode *node = json_object_get_member (body, "card");
  JsonObject *card;
  GList *members;

  if (call->kind != OW_BRIDGE_CALL_CARD || node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  card = json_node_get_object (node);
  members = json_object_get_members (card);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      g_autoptr(JsonObject) gone = NULL;

      if (ow_browser_card_member_wanted ((const char * const *) call->fields, name))
        continue;
      gone = json_object_new ();
      json_object_set_member (gone, name, json_node_ref (json_object_get_member (card, name)));
      ow_secret_json_wipe (gone);
      json_object_remove_member (card, name);
    }
  g_list_free (members);
}

void
ow_bridge_call_reply (OwBridgeCall *call,
                      JsonObject   *body)
{
  Connection *conn;

  g_return_if_fail (OW_IS_BRIDGE_CALL (call));
  g_return_if_fail (call->kind != OW_BRIDGE_CALL_PAIR);
  g_return_if_fail (!call->answered);

  drop_unasked (call, body);
  g_object_ref (call);
  conn = call_take_connection (call);
  if (conn != NULL)
    {
      gboolean card = call->kind == OW_BRIDGE_CALL_CARD && json_object_has_member (body, "card");

      json_object_set_string_member (body, "type", response_type (call->kind));
      /* the extension's list of sites follows the wallet's, never the other way */
      if (card)
        json_object_set_boolean_member (body, "remembered", call->listed);
      send_response (conn, call->id, call->seq, body);
      /* No dialog showed this one: the application must tell its user. */
      if (card && !call->needs_confirmation)
        g_signal_emit (conn->bridge, signals[SIGNAL_CARD_RELEASED], 0, call);
    }
  /* sent or not, the caller's copy of the card goes */
  ow_secret_json_wipe (body);
  g_object_unref (call);
}

void
ow_bridge_call_refuse (OwBridgeCall *call,
                       const char   *code,
                       const char   *message)
{
  g_autoptr(JsonObject) body = json_object_new ();
  Connection *conn;

  g_return_if_fail (OW_IS_BRIDGE_CALL (call));
  g_return_if_fail (code != NULL);

  if (call->answered)
    return;
  if (call->kind != OW_BRIDGE_CALL_PAIR)
    {
      json_object_set_string_member (body, "error", code);
      if (message != NULL)
        json_object_set_string_member (body, "message", message);
      ow_bridge_call_reply (call, body);
      return;
    }

  g_object_ref (call);
  conn = call_take_connection (call);
  if (conn != NULL)
    {
      json_object_set_string_member (body, "type", "pair.done");
      json_object_set_string_member (body, "id", call->id);
      json_object_set_string_member (body, "error", code);
      send_json (conn, body);
    }
  g_message ("bridge: pairing refused: %s", code);
  g_object_unref (call);
}

/* Sends pair.done for @browser: its id, and a MAC under the pairing's key
 * (seq 0) over {"name"} that proves the wallet holds the key. */
static gboolean
send_pair_done (Connection    *conn,
                OwBridgeCall  *call,
                OwBrowser     *browser,
                GError       **error)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(JsonObject) answer = json_object_new ();
  g_autofree char *text = NULL;
  g_autofree char *mac64 = NULL;
  guint8 mac[OW_BRIDGE_MAC_LEN];

  json_object_set_string_member (body, "name", browser->name);
  text = ow_secret_json_to_string (body, NULL);
  if (!ow_bridge_mac (browser->key, OW_BRIDGE_TO_BROWSER, browser->id, conn->nonce_browser,
                      conn->nonce_wallet, 0, text, mac))
    {
      g_set_error_literal (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_FAILED, "Cannot compute a MAC");
      return FALSE;
    }
  mac64 = g_base64_encode (mac, sizeof mac);
  json_object_set_string_member (answer, "type", "pair.done");
  json_object_set_string_member (answer, "id", call->id);
  json_object_set_string_member (answer, "browser", browser->id);
  json_object_set_int_member (answer, "seq", 0);
  json_object_set_string_member (answer, "body", text);
  json_object_set_string_member (answer, "mac", mac64);
  send_json (conn, answer);
  call->pending_body = g_steal_pointer (&text);
  return TRUE;
}

static void finish_pairing (OwBridgeCall *call,
                            GError       *error);

static gboolean
on_confirm_timeout (gpointer data)
{
  OwBridgeCall *call = data;
  Connection *conn = call->connection;

  call->confirm_source = 0;
  finish_pairing (call, g_error_new_literal (OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_NOT_CONFIRMED,
                                             "The browser did not confirm the pairing in time"));
  if (conn != NULL && conn->state != STATE_CLOSED)
    refuse_and_close (conn, NULL, "timeout", "The pairing was not confirmed in time");
  return G_SOURCE_REMOVE;
}

/* A browser pairing again takes its old record's place: its id (which the
 * extension keeps) and its list of sites, under the new name and key. The
 * record may have been removed since pair.begin: then it is a pairing of
 * its own. */
static void
take_place_of (OwVault    *vault,
               OwBrowser  *browser,
               const char *replaces)
{
  g_autoptr(OwBrowser) old = ow_browser_load (vault, replaces, NULL);

  if (old == NULL)
    return;
  g_free (browser->id);
  browser->id = g_strdup (old->id);
  g_ptr_array_unref (browser->sites);
  browser->sites = g_ptr_array_ref (old->sites);
}

void
ow_bridge_call_accept_pairing_async (OwBridgeCall        *call,
                                     const char          *name,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(OwBrowser) browser = NULL;
  g_autoptr(GError) error = NULL;
  Connection *conn;

  g_return_if_fail (OW_IS_BRIDGE_CALL (call));
  g_return_if_fail (call->kind == OW_BRIDGE_CALL_PAIR && !call->answered);
  g_return_if_fail (name != NULL);

  task = g_task_new (call, NULL, callback, user_data);
  g_task_set_source_tag (task, ow_bridge_call_accept_pairing_async);
  conn = call->connection;
  if (conn == NULL || conn->state == STATE_CLOSED)
    {
      call_take_connection (call);
      g_task_return_new_error (task, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_GONE,
                               "The browser stopped waiting for the pairing");
      return;
    }

  g_free (call->browser_name);
  call->browser_name = g_strdup (name);
  browser = ow_browser_new (name, conn->kind, conn->caller, call->key);
  if (call->replaces != NULL)
    take_place_of (conn->bridge->vault, browser, call->replaces);
  if (!send_pair_done (conn, call, browser, &error))
    {
      ow_bridge_call_refuse (call, "failed", NULL);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* pair.done is the call's answer; it stays on the connection (which is
   * busy meanwhile) until the browser's pair.confirm, or until it goes. */
  call->answered = TRUE;
  call->pending = g_steal_pointer (&browser);
  call->confirmation = g_steal_pointer (&task);
  call->confirm_source = g_timeout_add_full (G_PRIORITY_DEFAULT, conn->bridge->confirm_ms,
                                             on_confirm_timeout, g_object_ref (call),
                                             g_object_unref);
}

gboolean
ow_bridge_call_accept_pairing_finish (OwBridgeCall  *call,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  g_return_val_if_fail (OW_IS_BRIDGE_CALL (call), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, call), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        ow_bridge_call_accept_pairing_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Ends a pairing that waited for its confirmation: stored if @error is
 * NULL, else nothing of it is left (the key is wiped with the browser). */
static void
finish_pairing (OwBridgeCall *call,
                GError       *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&call->confirmation);

  g_clear_handle_id (&call->confirm_source, g_source_remove);
  g_clear_pointer (&call->pending, ow_browser_free);
  g_clear_pointer (&call->pending_body, g_free);
  call_take_connection (call);
  if (error != NULL)
    {
      g_message ("bridge: pairing failed: %s", error->message);
      g_task_return_error (task, error);
    }
  else
    {
      g_message ("bridge: paired a browser");
      g_task_return_boolean (task, TRUE);
    }
}

gboolean
ow_bridge_call_remember_site (OwBridgeCall  *call,
                              GError       **error)
{
  Connection *conn = call->connection;
  g_autoptr(OwBrowser) browser = NULL;

  g_return_val_if_fail (call->kind == OW_BRIDGE_CALL_CARD, FALSE);

  if (conn == NULL || conn->browser == NULL)
    {
      g_set_error_literal (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_GONE, "The browser went away");
      return FALSE;
    }
  /* Read again: the record may have changed since the request came. */
  browser = ow_browser_load (conn->bridge->vault, conn->browser->id, error);
  if (browser == NULL)
    return FALSE;
  if (!ow_browser_set_site (browser, call->origin, TRUE))
    {
      g_set_error_literal (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_FAILED,
                           "Too many sites are allowed already");
      return FALSE;
    }
  if (!ow_browser_save (conn->bridge->vault, browser, error))
    return FALSE;
  /* the connection's copy too, which its next request and site.forget use */
  ow_browser_set_site (conn->browser, call->origin, TRUE);
  call->listed = TRUE;
  return TRUE;
}

/* ---- calls to the application ------------------------------------------ */

static void
emit_call (Connection   *conn,
           OwBridgeCall *call)
{
  conn->call = g_object_ref (call);
  g_signal_emit (conn->bridge, signals[SIGNAL_CALL], 0, call);
}

/* Nothing is authenticated, stored or shown while locked (the keys are
 * sealed): the message is refused before anything else is done with it. */
static gboolean
refuse_if_locked (Connection *conn,
                  const char *id)
{
  if (!ow_vault_is_locked (conn->bridge->vault))
    return FALSE;
  send_error (conn, id, "locked", "The wallet is locked");
  return TRUE;
}

/* ---- messages ----------------------------------------------------------- */

static gboolean
printable_id (const char *id)
{
  gsize len = id != NULL ? strlen (id) : 0;

  if (len == 0 || len > MAX_ID)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (*p < ' ' || *p > '~')
      return FALSE;
  return TRUE;
}

/* The version a message says it speaks. Protocol 1's "begin" said none:
 * without the member it is 1; a member that is no integer names none (0). */
static gint64
peer_protocol (JsonObject *message)
{
  if (!json_object_has_member (message, "protocol"))
    return 1;
  return onepin_json_get_int (message, "protocol", 0);
}

static void
on_host_hello (Connection *conn,
               JsonObject *message)
{
  const char *kind = onepin_json_get_string (message, "browser", NULL);
  const char *caller = onepin_json_get_string (message, "caller", NULL);
  gboolean hello = g_strcmp0 (onepin_json_get_string (message, "type", NULL), "hello") == 0;
  gint64 protocol = peer_protocol (message);

  if (hello && protocol != OW_BRIDGE_PROTOCOL)
    return refuse_version (conn, NULL, "onepin-wallet-host", protocol);
  if (!hello || kind == NULL || caller == NULL || strlen (caller) > 512)
    {
      g_message ("bridge: a connection without the host's hello");
      connection_close (conn);
      return;
    }
  conn->kind = g_strdup (g_str_equal (kind, "chromium") || g_str_equal (kind, "firefox")
                         ? kind : "unknown");
  conn->caller = g_strdup (caller);
  conn->state = STATE_BEGIN;
}

static gboolean
browser_is_paired (OwBridge   *self,
                   const char *id)
{
  g_auto(GStrv) ids = NULL;

  if (!ow_browser_id_valid (id))
    return FALSE;
  ids = ow_vault_list (self->vault, OW_VAULT_KIND_BROWSER, NULL);
  return ids != NULL && g_strv_contains ((const char * const *) ids, id);
}

static void
on_begin (Connection *conn,
          JsonObject *message)
{
  const char *id = onepin_json_get_string (message, "id", NULL);
  const char *browser = onepin_json_get_string (message, "browser", NULL);
  gint64 protocol = peer_protocol (message);
  g_autoptr(JsonObject) answer = json_object_new ();

  if (g_strcmp0 (onepin_json_get_string (message, "type", NULL), "begin") != 0)
    {
      refuse_and_close (conn, id, "begin_required", "The connection must begin with \"begin\"");
      return;
    }
  if (protocol != OW_BRIDGE_PROTOCOL)
    return refuse_version (conn, printable_id (id) ? id : NULL, "the extension", protocol);
  if (!printable_id (id) ||
      !ow_bridge_decode_exact (onepin_json_get_string (message, "nonce", NULL),
                               conn->nonce_browser_raw, OW_BRIDGE_NONCE_LEN))
    {
      refuse_and_close (conn, printable_id (id) ? id : NULL, "malformed", "A malformed \"begin\"");
      return;
    }
  conn->nonce_browser = g_strdup (onepin_json_get_string (message, "nonce", NULL));
  onepin_crypto_random (conn->nonce_wallet_raw, OW_BRIDGE_NONCE_LEN, NULL);
  conn->nonce_wallet = g_base64_encode (conn->nonce_wallet_raw, OW_BRIDGE_NONCE_LEN);
  conn->next_seq = 1;
  conn->state = STATE_READY;
  arm_deadline (conn, conn->bridge->idle_ms);

  json_object_set_string_member (answer, "type", "begin");
  json_object_set_string_member (answer, "id", id);
  json_object_set_int_member (answer, "protocol", OW_BRIDGE_PROTOCOL);
  json_object_set_string_member (answer, "nonce", conn->nonce_wallet);
  json_object_set_boolean_member (answer, "paired", browser_is_paired (conn->bridge, browser));
  send_json (conn, answer);
}

static gboolean
pairing_in_progress (OwBridge *self)
{
  for (GList *l = self->connections; l != NULL; l = l->next)
    {
      Connection *conn = l->data;

      if (conn->call != NULL && conn->call->kind == OW_BRIDGE_CALL_PAIR)
        return TRUE;
    }
  return FALSE;
}

/* A name for the browser: printable, at most OW_BROWSER_MAX_NAME characters. */
static char *
clean_name (const char *hint)
{
  g_autoptr(GString) name = g_string_new (NULL);
  glong n = 0;

  if (hint == NULL || !g_utf8_validate (hint, -1, NULL))
    hint = "";
  for (const char *p = hint; *p != '\0' && n < OW_BROWSER_MAX_NAME; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);

      g_string_append_unichar (name, g_unichar_iscntrl (c) ? ' ' : c);
    }
  g_strstrip (name->str);
  return name->str[0] != '\0' ? g_strdup (name->str) : g_strdup ("Browser");
}

/* Forgets the pairing we committed to (its key pair goes). */
static void
clear_offer (Connection *conn)
{
  g_clear_pointer (&conn->offer_key, ow_ecdh_key_free);
  g_clear_pointer (&conn->offer_id, g_free);
  g_clear_pointer (&conn->offer_name, g_free);
  g_clear_pointer (&conn->offer_replaces, g_free);
}

/* A browser pairing again names the pairing it holds (pair.begin's
 * "replaces") and proves it has that key: "proof" is its MAC (b2w, seq 0,
 * this connection's nonces) over "pair.replace " and pair.begin's id. The
 * new pairing then takes that record's place once it is saved, and the old
 * key stops working. A browser the wallet does not know under this caller
 * (removed in Preferences, or another extension's) simply pairs anew; a
 * proof that fails is refused "bad_mac" and the connection closed, as a
 * forged request is, so that no one can end another's pairing. FALSE when
 * refused. The name suggested becomes the old record's (the user's name
 * for it). */
static gboolean
check_replaces (Connection *conn,
                JsonObject *message,
                const char *id)
{
  const char *replaces = onepin_json_get_string (message, "replaces", NULL);
  g_autoptr(OwBrowser) old = NULL;
  g_autofree char *body = NULL;

  if (replaces == NULL || !ow_browser_id_valid (replaces))
    return TRUE;
  old = ow_browser_load (conn->bridge->vault, replaces, NULL);
  if (old == NULL || g_strcmp0 (old->caller, conn->caller) != 0)
    return TRUE;
  body = g_strdup_printf ("pair.replace %s", id);
  if (!ow_bridge_mac_verify (old->key, OW_BRIDGE_TO_WALLET, old->id, conn->nonce_browser,
                             conn->nonce_wallet, 0, body,
                             onepin_json_get_string (message, "proof", NULL)))
    {
      refuse_and_close (conn, id, "bad_mac", "The proof of the pairing to replace failed");
      return FALSE;
    }
  conn->offer_replaces = g_strdup (old->id);
  g_free (conn->offer_name);
  conn->offer_name = g_strdup (old->name);
  return TRUE;
}

/* Our key pair, and our commitment to its public half: the browser sends
 * its key only then, so ours cannot be one chosen after seeing it. */
static void
on_pair_begin (Connection *conn,
               JsonObject *message)
{
  const char *id = onepin_json_get_string (message, "id", NULL);
  guint8 commitment[OW_BRIDGE_COMMITMENT_LEN];
  g_autoptr(OwEcdhKey) key = NULL;
  g_autoptr(JsonObject) answer = json_object_new ();
  g_autofree char *commitment64 = NULL;
  g_autoptr(GError) error = NULL;

  clear_offer (conn);
  if (refuse_if_locked (conn, id))
    return;
  if (pairing_in_progress (conn->bridge))
    return send_error (conn, id, "busy", "Another pairing is in progress");
  conn->offer_name = clean_name (onepin_json_get_string (message, "name", NULL));
  if (!check_replaces (conn, message, id))
    return clear_offer (conn);
  key = ow_ecdh_key_new (&error);
  if (key == NULL ||
      !ow_bridge_pairing_commit (ow_ecdh_key_get_public (key), conn->nonce_wallet_raw, commitment))
    {
      g_message ("bridge: pairing refused: %s", error != NULL ? error->message : "no commitment");
      clear_offer (conn);
      return send_error (conn, id, "failed", "The wallet could not make its key");
    }
  conn->offer_key = g_steal_pointer (&key);
  conn->offer_id = g_strdup (id);

  commitment64 = g_base64_encode (commitment, sizeof commitment);
  json_object_set_string_member (answer, "type", "pair.commit");
  json_object_set_string_member (answer, "id", id);
  json_object_set_string_member (answer, "commitment", commitment64);
  send_json (conn, answer);
}

/* The browser's key, after our commitment: the key pair committed to serves
 * this one key only (known, ours would let a browser choose its key to make
 * the codes match). */
static void
on_pair_key (Connection *conn,
             JsonObject *message)
{
  const char *id = onepin_json_get_string (message, "id", NULL);
  g_autoptr(OwEcdhKey) key = g_steal_pointer (&conn->offer_key);
  g_autofree char *offer_id = g_steal_pointer (&conn->offer_id);
  g_autofree char *name = g_steal_pointer (&conn->offer_name);
  g_autofree char *replaces = g_steal_pointer (&conn->offer_replaces);
  guint8 public_browser[OW_BRIDGE_PUBLIC_KEY_LEN];
  guint8 shared[32];
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(JsonObject) answer = json_object_new ();
  g_autofree char *public_wallet = NULL;
  g_autoptr(GError) error = NULL;

  if (refuse_if_locked (conn, id))
    return;
  if (key == NULL || !g_str_equal (id, offer_id))
    return send_error (conn, id, "malformed", "A key without pair.begin");
  if (pairing_in_progress (conn->bridge))
    return send_error (conn, id, "busy", "Another pairing is in progress");
  if (!ow_bridge_decode_exact (onepin_json_get_string (message, "public_key", NULL),
                               public_browser, sizeof public_browser))
    return send_error (conn, id, "malformed", "The public key is not a P-256 point");
  if (!ow_ecdh_key_agree (key, public_browser, sizeof public_browser, shared, &error))
    {
      g_message ("bridge: pairing refused: %s", error->message);
      return send_error (conn, id, "bad_key", "The public key was refused");
    }

  call = call_new (conn, OW_BRIDGE_CALL_PAIR, id, 0);
  call->browser_name = g_steal_pointer (&name);
  call->replaces = g_steal_pointer (&replaces);
  if (!ow_bridge_pairing_derive (shared, conn->nonce_browser_raw, conn->nonce_wallet_raw,
                                 public_browser, ow_ecdh_key_get_public (key), call->key,
                                 &call->code))
    {
      ow_secret_wipe (shared, sizeof shared);
      return send_error (conn, id, "failed", "The key could not be derived");
    }
  ow_secret_wipe (shared, sizeof shared);

  /* Our half goes out at once: the browser checks it against our
   * commitment and shows the code while the user looks at ours. */
  public_wallet = g_base64_encode (ow_ecdh_key_get_public (key), OW_BRIDGE_PUBLIC_KEY_LEN);
  json_object_set_string_member (answer, "type", "pair.key");
  json_object_set_string_member (answer, "id", id);
  json_object_set_string_member (answer, "public_key", public_wallet);
  send_json (conn, answer);
  emit_call (conn, call);
}

/* The members of a message the browser signs: a request, or its proof of a
 * pairing's key. */
static const OnepinJsonField signed_fields[] = {
  { "type", ONEPIN_JSON_STRING, TRUE },
  { "id", ONEPIN_JSON_STRING, TRUE },
  { "browser", ONEPIN_JSON_STRING, TRUE },
  { "seq", ONEPIN_JSON_INT, TRUE },
  { "body", ONEPIN_JSON_STRING, TRUE },
  { "mac", ONEPIN_JSON_STRING, TRUE },
};

/* The browser's proof that it derived the same key: pair.confirm, with its
 * MAC (b2w, seq 0) over the body of our pair.done. */
static gboolean
pairing_proven (Connection   *conn,
                OwBridgeCall *call,
                JsonObject   *message)
{
  const char *body = onepin_json_get_string (message, "body", NULL);

  if (!onepin_json_check_fields (message, signed_fields, G_N_ELEMENTS (signed_fields), NULL,
                                 NULL))
    return FALSE;
  return g_str_equal (onepin_json_get_string (message, "id", ""), call->id) &&
         g_str_equal (onepin_json_get_string (message, "browser", ""), call->pending->id) &&
         onepin_json_get_int (message, "seq", -1) == 0 &&
         g_str_equal (body, call->pending_body) &&
         ow_bridge_mac_verify (call->pending->key, OW_BRIDGE_TO_WALLET, call->pending->id,
                               conn->nonce_browser, conn->nonce_wallet, 0, body,
                               onepin_json_get_string (message, "mac", NULL));
}

/* Only a proven pairing is stored: a wrong proof ends the pairing and the
 * connection, and leaves nothing behind. */
static void
on_pair_confirm (Connection *conn,
                 JsonObject *message)
{
  OwBridgeCall *call = conn->call;
  const char *id = onepin_json_get_string (message, "id", NULL);
  g_autoptr(JsonObject) answer = json_object_new ();
  GError *error = NULL;
  gboolean locked;

  if (!pairing_proven (conn, call, message))
    {
      finish_pairing (call, g_error_new_literal (OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_NOT_CONFIRMED,
                                                 "The browser could not prove the pairing's key"));
      refuse_and_close (conn, id, "bad_mac", "The pairing's confirmation failed");
      return;
    }
  if (!ow_browser_save (conn->bridge->vault, call->pending, &error))
    {
      locked = g_error_matches (error, OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED);
      send_error (conn, id, locked ? "locked" : "failed", "The wallet could not keep the pairing");
      finish_pairing (call, error);
      return;
    }
  json_object_set_string_member (answer, "type", "pair.saved");
  json_object_set_string_member (answer, "id", call->id);
  send_json (conn, answer);
  /* This connection may go on with requests under the new key. */
  g_clear_pointer (&conn->browser, ow_browser_free);
  conn->browser = g_steal_pointer (&call->pending);
  conn->next_seq = 1;
  if (call->replaces != NULL)
    foreach_connection (conn->bridge, forget_replaced_key, conn);
  finish_pairing (call, NULL);
}

/* Checks the request's id, number and MAC; NULL (and the connection closed)
 * when they are wrong. Returns the body's text. */
static const char *
authenticate (Connection *conn,
              JsonObject *message)
{
  const char *id = onepin_json_get_string (message, "id", NULL);
  const char *browser_id = onepin_json_get_string (message, "browser", NULL);
  const char *body = onepin_json_get_string (message, "body", NULL);
  gint64 seq = onepin_json_get_int (message, "seq", -1);
  g_autoptr(OwBrowser) browser = NULL;
  g_autoptr(GError) error = NULL;

  if (!onepin_json_check_fields (message, signed_fields, G_N_ELEMENTS (signed_fields), NULL,
                                 NULL) ||
      strlen (body) > MAX_BODY)
    {
      refuse_and_close (conn, id, "malformed", "A malformed request");
      return NULL;
    }
  if (conn->browser != NULL && g_strcmp0 (conn->browser->id, browser_id) != 0)
    {
      refuse_and_close (conn, id, "malformed", "One connection serves one browser");
      return NULL;
    }
  browser = ow_browser_load (conn->bridge->vault, browser_id, &error);
  if (browser == NULL || g_strcmp0 (browser->caller, conn->caller) != 0)
    {
      /* unknown, removed by the user, or paired through another extension */
      refuse_and_close (conn, id, "not_paired", "This browser is not paired with the wallet");
      return NULL;
    }
  if (!ow_bridge_mac_verify (browser->key, OW_BRIDGE_TO_WALLET, browser->id, conn->nonce_browser,
                             conn->nonce_wallet, seq, body,
                             onepin_json_get_string (message, "mac", NULL)))
    {
      refuse_and_close (conn, id, "bad_mac", "The message's authentication failed");
      return NULL;
    }
  /* Only now is the number the browser's own: a replay within the
   * connection repeats one, a replay from another connection fails the
   * MAC (other nonces). */
  if (seq != conn->next_seq)
    {
      refuse_and_close (conn, id, "replay", "A message out of sequence");
      return NULL;
    }
  conn->next_seq++;
  g_clear_pointer (&conn->browser, ow_browser_free);
  conn->browser = g_steal_pointer (&browser);
  return body;
}

static void
reply_now (Connection *conn,
           const char *id,
           gint64      seq,
           const char *type,
           const char *error)
{
  g_autoptr(JsonObject) body = json_object_new ();

  json_object_set_string_member (body, "type", type);
  if (error != NULL)
    json_object_set_string_member (body, "error", error);
  if (g_str_equal (type, "pong"))
    json_object_set_string_member (body, "name", conn->browser->name);
  send_response (conn, id, seq, body);
}

static GStrv
field_list (JsonObject *body)
{
  JsonNode *node = json_object_get_member (body, "fields");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return g_strv_builder_end (builder);
  array = json_node_get_array (node);
  for (guint i = 0; i < MIN (json_array_get_length (array), MAX_FIELDS); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING &&
          printable_id (json_node_get_string (element)))
        g_strv_builder_add (builder, json_node_get_string (element));
    }
  return g_strv_builder_end (builder);
}

static void
on_card_request (Connection *conn,
                 const char *id,
                 gint64      seq,
                 JsonObject *body)
{
  static const OnepinJsonField fields[] = {
    { "type", ONEPIN_JSON_STRING, TRUE },
    { "origin", ONEPIN_JSON_STRING, TRUE },
    { "fields", ONEPIN_JSON_ARRAY, FALSE },
    { "confirmed", ONEPIN_JSON_STRING, TRUE },
    { "remember", ONEPIN_JSON_BOOL, FALSE },
  };
  const char *origin = onepin_json_get_string (body, "origin", NULL);
  const char *confirmed = onepin_json_get_string (body, "confirmed", "");
  g_autoptr(OwBridgeCall) call = NULL;

  if (!onepin_json_check_fields (body, fields, G_N_ELEMENTS (fields), NULL, NULL) ||
      (!g_str_equal (confirmed, "popup") && !g_str_equal (confirmed, "remembered")))
    return reply_now (conn, id, seq, "card.response", "malformed");
  if (!ow_browser_origin_valid (origin))
    return reply_now (conn, id, seq, "card.response", "insecure_origin");

  call = call_new (conn, OW_BRIDGE_CALL_CARD, id, seq);
  call->origin = g_strdup (origin);
  call->fields = field_list (body);
  /* Consent comes from the wallet: its user, or its own list of sites. The
   * extension's "confirmed" and "remember" are accepted (protocol 3) and
   * believed in nothing: K sits readable in the browser's profile, so any
   * process of this user can sign "popup" and "remember": true. */
  call->listed = ow_browser_has_site (conn->browser, origin);
  call->needs_confirmation = !call->listed;
  emit_call (conn, call);
}

static void
on_site_forget (Connection *conn,
                const char *id,
                gint64      seq,
                JsonObject *body)
{
  const char *origin = onepin_json_get_string (body, "origin", NULL);
  g_autoptr(GError) error = NULL;

  if (!ow_browser_origin_valid (origin))
    return reply_now (conn, id, seq, "site.forgotten", "malformed");
  ow_browser_set_site (conn->browser, origin, FALSE);
  if (!ow_browser_save (conn->bridge->vault, conn->browser, &error))
    {
      g_warning ("bridge: cannot forget the site: %s", error->message);
      return reply_now (conn, id, seq, "site.forgotten", "failed");
    }
  reply_now (conn, id, seq, "site.forgotten", NULL);
}

/* The extension's Unpair: the browser, authenticated, asks the wallet to
 * forget its pairing. The answer goes under the key before it is removed;
 * then this connection lets the key go and ends, and the others serving
 * the browser are refused "not_paired" (the vault's "removed"). */
static void
on_browser_forget (Connection *conn,
                   const char *id,
                   gint64      seq)
{
  g_autoptr(OwBrowser) browser = g_steal_pointer (&conn->browser);
  g_autoptr(GError) error = NULL;

  /* held aside, so that the vault's "removed" does not end this connection
   * before it has its answer */
  if (!ow_browser_remove (conn->bridge->vault, browser->id, &error))
    {
      conn->browser = g_steal_pointer (&browser);
      g_warning ("bridge: cannot forget the browser: %s", error->message);
      return reply_now (conn, id, seq, "browser.forgotten",
                        g_error_matches (error, OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED)
                        ? "locked" : "failed");
    }
  conn->browser = g_steal_pointer (&browser);
  reply_now (conn, id, seq, "browser.forgotten", NULL);
  g_clear_pointer (&conn->browser, ow_browser_free);
  close_when_written (conn);
}

static void
on_checkout_request (Connection *conn,
                     const char *id,
                     gint64      seq,
                     JsonObject *body)
{
  static const OnepinJsonField fields[] = {
    { "type", ONEPIN_JSON_STRING, TRUE },
    { "origin", ONEPIN_JSON_STRING, TRUE },
    { "purchase", ONEPIN_JSON_OBJECT, TRUE },
  };
  const char *origin = onepin_json_get_string (body, "origin", NULL);
  g_autoptr(OwPurchase) purchase = NULL;
  g_autoptr(OwBridgeCall) call = NULL;
  g_autoptr(GError) error = NULL;

  if (!onepin_json_check_fields (body, fields, G_N_ELEMENTS (fields), NULL, NULL))
    return reply_now (conn, id, seq, "checkout.response", "malformed");
  if (!ow_browser_origin_valid (origin))
    return reply_now (conn, id, seq, "checkout.response", "insecure_origin");
  purchase = ow_purchase_new_from_checkout (json_object_get_object_member (body, "purchase"),
                                            &error);
  if (purchase == NULL)
    return reply_now (conn, id, seq, "checkout.response", "invalid_purchase");

  call = call_new (conn, OW_BRIDGE_CALL_CHECKOUT, id, seq);
  call->origin = g_strdup (origin);
  call->purchase = g_steal_pointer (&purchase);
  emit_call (conn, call);
}

static void
handle_request (Connection *conn,
                JsonObject *message)
{
  const char *id = onepin_json_get_string (message, "id", NULL);
  gint64 seq = onepin_json_get_int (message, "seq", -1);
  g_autoptr(JsonObject) body = NULL;
  const char *text;
  const char *type;

  if (refuse_if_locked (conn, id))
    return;
  text = authenticate (conn, message);
  if (text == NULL)
    return;
  body = onepin_json_parse_object (text, strlen (text), NULL);
  type = body != NULL ? onepin_json_get_string (body, "type", "") : "";
  /* only names we know reach the log */
  g_message ("bridge: request %s", g_str_equal (type, "ping") || g_str_equal (type, "card.request") ||
                                   g_str_equal (type, "checkout.request") ||
                                   g_str_equal (type, "site.forget") ||
                                   g_str_equal (type, "browser.forget") ? type : "(unknown)");

  if (g_str_equal (type, "ping"))
    reply_now (conn, id, seq, "pong", NULL);
  else if (g_str_equal (type, "card.request"))
    on_card_request (conn, id, seq, body);
  else if (g_str_equal (type, "checkout.request"))
    on_checkout_request (conn, id, seq, body);
  else if (g_str_equal (type, "site.forget"))
    on_site_forget (conn, id, seq, body);
  else if (g_str_equal (type, "browser.forget"))
    on_browser_forget (conn, id, seq);
  else
    reply_now (conn, id, seq, "error", "unknown_type");
}

static void
on_message (Connection *conn,
            JsonObject *message)
{
  const char *type = onepin_json_get_string (message, "type", "");
  const char *id = onepin_json_get_string (message, "id", NULL);

  switch (conn->state)
    {
    case STATE_HOST_HELLO:
      return on_host_hello (conn, message);
    case STATE_BEGIN:
      return on_begin (conn, message);
    case STATE_CLOSING:
    case STATE_CLOSED:
      return;
    case STATE_READY:
    default:
      break;
    }

  arm_deadline (conn, conn->bridge->idle_ms);
  if (!printable_id (id))
    return send_error (conn, NULL, "malformed", "A message without an id");
  if (conn->call != NULL && conn->call->confirmation != NULL && g_str_equal (type, "pair.confirm"))
    return on_pair_confirm (conn, message);
  if (conn->call != NULL)
    return send_error (conn, id, "busy", "One request at a time");
  if (g_str_equal (type, "pair.begin"))
    on_pair_begin (conn, message);
  else if (g_str_equal (type, "pair.key"))
    on_pair_key (conn, message);
  else if (g_str_equal (type, "request"))
    handle_request (conn, message);
  else
    send_error (conn, id, "unknown_type", "Unknown message type");
}

/* ---- connections -------------------------------------------------------- */

static void read_next (Connection *conn);

static void
connection_unref (Connection *conn)
{
  if (--conn->ref_count > 0)
    return;
  g_queue_clear_full (&conn->out, (GDestroyNotify) g_bytes_unref);
  g_clear_object (&conn->stream);
  g_clear_object (&conn->cancellable);
  g_clear_pointer (&conn->reader, wh_frame_reader_free);
  g_clear_pointer (&conn->browser, ow_browser_free);
  clear_offer (conn);
  g_free (conn->kind);
  g_free (conn->caller);
  g_free (conn->nonce_browser);
  g_free (conn->nonce_wallet);
  g_free (conn);
}

static gboolean
pairing_awaits_proof (Connection *conn)
{
  return conn->call != NULL && conn->call->confirmation != NULL;
}

/* Ends the connection's open call as if the browser had gone: the
 * application hears of it through the cancellable, and a pairing's key
 * goes. A pairing waiting for its proof must be finished first. */
static void
detach_call (Connection *conn)
{
  OwBridgeCall *call = conn->call;

  if (call == NULL)
    return;
  call->connection = NULL;
  ow_secret_wipe (call->key, sizeof call->key);
  g_cancellable_cancel (call->cancellable);
  g_clear_object (&conn->call);
}

static void
connection_close (Connection *conn)
{
  if (conn->state == STATE_CLOSED)
    return;
  conn->state = STATE_CLOSED;
  g_clear_handle_id (&conn->deadline, g_source_remove);
  if (pairing_awaits_proof (conn))
    finish_pairing (conn->call, g_error_new_literal (OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_GONE,
                                                     "The browser went away before it confirmed "
                                                     "the pairing"));
  detach_call (conn);
  /* Reads and writes under way may keep the connection a while: not its key. */
  g_clear_pointer (&conn->browser, ow_browser_free);
  clear_offer (conn);
  conn->bridge->connections = g_list_remove (conn->bridge->connections, conn);
  g_cancellable_cancel (conn->cancellable);
  g_io_stream_close (G_IO_STREAM (conn->stream), NULL, NULL);
  /* Reads and writes under way hold their own references. */
  connection_unref (conn);
}

/* Handles the frames read so far, as long as the peer reads our answers:
 * FALSE when it stopped for that (the rest waits in the reader). */
static gboolean
handle_frames (Connection *conn)
{
  while (conn->state != STATE_CLOSED)
    {
      g_autoptr(GBytes) payload = NULL;
      g_autoptr(JsonObject) message = NULL;
      g_autoptr(GError) frame_error = NULL;
      WhFrameStatus status;

      if (output_full (conn))
        return FALSE;
      status = wh_frame_reader_next (conn->reader, &payload, &message, &frame_error);
      if (status == WH_FRAME_NEED_MORE)
        break;
      if (status == WH_FRAME_INVALID)
        send_error (conn, NULL, "malformed", "A malformed frame");
      else
        on_message (conn, message);
    }
  return TRUE;
}

/* Reads on once what was read is handled; a peer that leaves our answers
 * unread is read again only once it has read them (on_written). */
static void
read_on (Connection *conn)
{
  conn->read_paused = !handle_frames (conn);
  if (!conn->read_paused)
    read_next (conn);
}

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(Connection) conn = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                              &error);

  if (conn->state == STATE_CLOSED)
    return;
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      connection_close (conn);
      return;
    }
  wh_frame_reader_feed (conn->reader, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  read_on (conn);
}

static void
read_next (Connection *conn)
{
  GInputStream *in;

  if (conn->state == STATE_CLOSED)
    return;
  in = g_io_stream_get_input_stream (G_IO_STREAM (conn->stream));
  g_input_stream_read_bytes_async (in, READ_CHUNK, G_PRIORITY_DEFAULT, conn->cancellable,
                                   on_read, connection_ref (conn));
}

static gboolean
peer_is_us (GSocketConnection *stream)
{
  g_autoptr(GCredentials) credentials =
    g_socket_get_credentials (g_socket_connection_get_socket (stream), NULL);

  return credentials != NULL && g_credentials_get_unix_user (credentials, NULL) == getuid ();
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *stream,
             GObject           *source,
             gpointer           data)
{
  OwBridge *self = data;
  Connection *conn;

  if (!peer_is_us (stream) || g_list_length (self->connections) >= OW_BRIDGE_MAX_CONNECTIONS)
    {
      g_message ("bridge: refused a connection");
      g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);
      return TRUE;
    }
  conn = g_new0 (Connection, 1);
  conn->ref_count = 1;
  conn->bridge = self;
  conn->stream = g_object_ref (stream);
  conn->reader = wh_frame_reader_new ();
  conn->cancellable = g_cancellable_new ();
  conn->state = STATE_HOST_HELLO;
  g_queue_init (&conn->out);
  self->connections = g_list_prepend (self->connections, conn);
  arm_deadline (conn, self->handshake_ms);
  read_next (conn);
  return TRUE;
}

/* ---- time limits -------------------------------------------------------- */

/* The handshake not done in time, or an idle spell with no call open (a
 * call may wait minutes for the user; the pairing's proof has its own
 * limit), or a last refusal the peer does not read: the connection goes. */
static gboolean
on_deadline (gpointer data)
{
  Connection *conn = data;

  conn->deadline = 0;
  if (conn->state == STATE_READY && conn->call != NULL)
    {
      arm_deadline (conn, conn->bridge->idle_ms);
      return G_SOURCE_REMOVE;
    }
  g_message ("bridge: closed a connection: %s",
             conn->state < STATE_READY ? "no begin in time"
             : conn->state == STATE_READY ? "idle" : "its last answer unread");
  connection_close (conn);
  return G_SOURCE_REMOVE;
}

/* (Re)starts the connection's one deadline, @ms from now. */
static void
arm_deadline (Connection *conn,
              guint       ms)
{
  g_clear_handle_id (&conn->deadline, g_source_remove);
  conn->deadline = g_timeout_add_full (G_PRIORITY_DEFAULT, ms, on_deadline,
                                       connection_ref (conn),
                                       (GDestroyNotify) connection_unref);
}

/* ---- keys that must go: the lock, a browser removed --------------------- */

/* Calls @func on every connection; it may close them. */
static void
foreach_connection (OwBridge       *self,
                    ConnectionFunc  func,
                    gconstpointer   data)
{
  g_autoptr(GPtrArray) connections = g_ptr_array_new_with_free_func ((GDestroyNotify)
                                                                      connection_unref);

  for (GList *l = self->connections; l != NULL; l = l->next)
    g_ptr_array_add (connections, connection_ref (l->data));
  for (guint i = 0; i < connections->len; i++)
    {
      Connection *conn = g_ptr_array_index (connections, i);

      if (conn->state != STATE_CLOSED)
        func (conn, data);
    }
}

/* Takes the browser's key from a connection that must not keep it: it is
 * wiped at once, the open call ends as if the browser had gone (a pairing
 * waiting for its proof fails with @error, which is taken; one the user is
 * still deciding on loses its key and its dialog), and the browser is
 * refused @code before the connection closes. */
static void
revoke_connection (Connection *conn,
                   GError     *error,
                   const char *code,
                   const char *message)
{
  g_autofree char *id = conn->call != NULL ? g_strdup (conn->call->id) : NULL;

  g_clear_pointer (&conn->browser, ow_browser_free);
  if (pairing_awaits_proof (conn))
    finish_pairing (conn->call, g_steal_pointer (&error));
  g_clear_error (&error);
  detach_call (conn);
  /* a connection already closing has its last refusal on its way */
  if (conn->state != STATE_CLOSING)
    refuse_and_close (conn, id, code, message);
}

/* Locked, every browser's key is sealed, and so must be the copies here. A
 * connection holding one (a browser authenticated on it, or a pairing under
 * way) is refused "locked" and closed: the extension opens a connection per
 * request anyway, and its next one finds the wallet unlocked or is refused
 * in turn. The others hold no key; they stay, refused "locked" message by
 * message until the unlock. */
static void
lock_connection (Connection    *conn,
                 gconstpointer  data)
{
  if (conn->browser != NULL || conn->call != NULL)
    revoke_connection (conn, g_error_new_literal (OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED,
                                                  "The wallet was locked before the browser "
                                                  "confirmed the pairing"),
                       "locked", "The wallet was locked");
}

/* A browser removed from the wallet (in Preferences, or every one by
 * signing out) is paired no more: the connections serving it let its key go
 * and are refused "not_paired" at once, as their next request would be.
 * Signing out also ends every pairing under way: the user agreed to it for
 * the account that just left, and its browser (no conn->browser yet: its
 * key is in the call, or in the browser waiting for its proof) would
 * otherwise be stored into the emptied vault, for whoever signs in next. */
static void
forget_browser (Connection    *conn,
                gconstpointer  data)
{
  const char *id = data;   /* NULL: every browser, by signing out */

  if (id == NULL && conn->call != NULL && conn->call->kind == OW_BRIDGE_CALL_PAIR)
    revoke_connection (conn, g_error_new_literal (OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_SIGNED_OUT,
                                                  "The wallet was signed out before the "
                                                  "pairing ended"),
                       "not_paired", "The wallet was signed out");
  else if (conn->browser != NULL && (id == NULL || g_str_equal (id, conn->browser->id)))
    revoke_connection (conn, g_error_new_literal (OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_GONE,
                                                  "The browser was removed from the wallet"),
                       "not_paired", "This browser is no longer paired with the wallet");
}

/* A browser paired again under its old id (check_replaces): connections
 * other than @data that still hold the key it replaced let it go, as the
 * next request under it would fail its MAC. */
static void
forget_replaced_key (Connection    *conn,
                     gconstpointer  data)
{
  const Connection *paired = data;

  if (conn != paired && conn->browser != NULL && paired->browser != NULL &&
      g_str_equal (conn->browser->id, paired->browser->id))
    revoke_connection (conn, g_error_new_literal (OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_GONE,
                                                  "The browser was paired again"),
                       "bad_mac", "This browser was paired again under a new key");
}

static void
on_vault_removed (OwBridge   *self,
                  const char *kind,
                  const char *id)
{
  if (kind == NULL || g_str_equal (kind, OW_VAULT_KIND_BROWSER))
    foreach_connection (self, forget_browser, id);
}

static void
on_vault_locked (OwBridge *self)
{
  gboolean locked = ow_vault_is_locked (self->vault);

  /* tests and users follow the lock in the log */
  g_message ("bridge: the wallet is %s", locked ? "locked" : "unlocked");
  if (locked)
    foreach_connection (self, lock_connection, NULL);
}

/* ---- the socket --------------------------------------------------------- */

/* Someone answers on @path: another wallet of ours is running. */
static gboolean
someone_listens (const char *path)
{
  g_autoptr(GSocket) probe = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_DEFAULT, NULL);
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);

  return probe != NULL && g_socket_connect (probe, address, NULL, NULL);
}

/* An old socket of ours that nobody serves may go; anything else stays. */
static gboolean
clear_path (const char  *path,
            GError     **error)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return TRUE;
  if (!S_ISSOCK (st.st_mode) || st.st_uid != getuid ())
    {
      g_set_error (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_UNSAFE,
                   "%s exists and is not a socket of this user", path);
      return FALSE;
    }
  if (someone_listens (path))
    {
      g_set_error (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_IN_USE,
                   "Another wallet already listens on %s", path);
      return FALSE;
    }
  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      g_set_error (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_FAILED, "Cannot remove %s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/* Binds under a private name with mode 0600 from the start (umask), then
 * links it into place: link() never replaces what another process put
 * there meanwhile. */
static GSocket *
bind_socket (const char  *path,
             GError     **error)
{
  g_autofree char *temp = g_strdup_printf ("%s.%d.tmp", path, (int) getpid ());
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  mode_t old_mask;
  gboolean bound;
  int saved;

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                         error);
  if (socket == NULL)
    return NULL;
  g_unlink (temp);
  address = g_unix_socket_address_new (temp);
  old_mask = umask (0077);
  bound = g_socket_bind (socket, address, FALSE, error);
  umask (old_mask);
  if (!bound)
    return NULL;
  if (g_chmod (temp, 0600) != 0 || link (temp, path) != 0)
    {
      saved = errno;
      g_unlink (temp);
      g_set_error (error, OW_BRIDGE_ERROR,
                   saved == EEXIST ? OW_BRIDGE_ERROR_IN_USE : OW_BRIDGE_ERROR_FAILED,
                   "Cannot create %s: %s", path, g_strerror (saved));
      return NULL;
    }
  g_unlink (temp);
  if (!g_socket_listen (socket, error))
    {
      g_unlink (path);
      return NULL;
    }
  return g_steal_pointer (&socket);
}

gboolean
ow_bridge_listen (OwBridge    *self,
                  const char  *path,
                  GError     **error)
{
  g_autofree char *where = NULL;
  g_autoptr(GSocket) socket = NULL;
  GStatBuf st;

  g_return_val_if_fail (OW_IS_BRIDGE (self), FALSE);
  g_return_val_if_fail (self->service == NULL, FALSE);

  where = path != NULL ? g_strdup (path) : wh_relay_socket_path (NULL);
  if (where == NULL)
    {
      g_set_error_literal (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_UNSAFE,
                           "XDG_RUNTIME_DIR is not set to a private directory of this user");
      return FALSE;
    }
  if (!clear_path (where, error) || (socket = bind_socket (where, error)) == NULL)
    return FALSE;
  if (g_lstat (where, &st) != 0)
    {
      g_set_error (error, OW_BRIDGE_ERROR, OW_BRIDGE_ERROR_FAILED, "%s vanished", where);
      return FALSE;
    }

  self->service = g_socket_service_new ();
  if (!g_socket_listener_add_socket (G_SOCKET_LISTENER (self->service), socket, NULL, error))
    {
      g_clear_object (&self->service);
      g_unlink (where);
      return FALSE;
    }
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  g_socket_service_start (self->service);
  self->socket_dev = st.st_dev;
  self->socket_ino = st.st_ino;
  self->path = g_steal_pointer (&where);
  g_message ("bridge: listening on %s", self->path);
  return TRUE;
}

void
ow_bridge_close (OwBridge *self)
{
  GStatBuf st;

  g_return_if_fail (OW_IS_BRIDGE (self));

  while (self->connections != NULL)
    connection_close (self->connections->data);
  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }
  /* Only our own: another wallet may have taken the name since. */
  if (self->path != NULL && g_lstat (self->path, &st) == 0 &&
      st.st_dev == self->socket_dev && st.st_ino == self->socket_ino)
    g_unlink (self->path);
  g_clear_pointer (&self->path, g_free);
}

const char *
ow_bridge_get_path (OwBridge *self)
{
  g_return_val_if_fail (OW_IS_BRIDGE (self), NULL);
  return self->path;
}

/* ---- GObject ------------------------------------------------------------ */

static void
ow_bridge_dispose (GObject *object)
{
  OwBridge *self = OW_BRIDGE (object);

  ow_bridge_close (self);
  if (self->vault != NULL)
    g_signal_handlers_disconnect_by_data (self->vault, self);
  g_clear_object (&self->vault);

  G_OBJECT_CLASS (ow_bridge_parent_class)->dispose (object);
}

static void
ow_bridge_class_init (OwBridgeClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = ow_bridge_dispose;

  /* void call (OwBridge *bridge, OwBridgeCall *call): answer it once. */
  signals[SIGNAL_CALL] = g_signal_new ("call", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 1, OW_TYPE_BRIDGE_CALL);
  /* void card_released (OwBridge *bridge, OwBridgeCall *call): a card was
   * written to a browser with no dialog (its site is on the wallet's list).
   * The application shows it: a browser's key is readable by the user's
   * other processes, which may claim a listed site. The card in the reply
   * is wiped already when handlers run; the call's origin is not. */
  signals[SIGNAL_CARD_RELEASED] = g_signal_new ("card-released", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 1, OW_TYPE_BRIDGE_CALL);
}

static void
ow_bridge_init (OwBridge *self)
{
  self->confirm_ms = CONFIRM_MS;
  self->handshake_ms = HANDSHAKE_MS;
  self->idle_ms = IDLE_MS;
}

void
ow_bridge_set_timeouts (OwBridge *self,
                        guint     handshake_ms,
                        guint     idle_ms)
{
  g_return_if_fail (OW_IS_BRIDGE (self));

  self->handshake_ms = handshake_ms;
  self->idle_ms = idle_ms;
}

guint
ow_bridge_count_connections (OwBridge *self)
{
  g_return_val_if_fail (OW_IS_BRIDGE (self), 0);
  return g_list_length (self->connections);
}

gsize
ow_bridge_get_queued_bytes (OwBridge *self)
{
  gsize n = 0;

  g_return_val_if_fail (OW_IS_BRIDGE (self), 0);
  for (GList *l = self->connections; l != NULL; l = l->next)
    n += ((Connection *) l->data)->out_bytes;
  return n;
}

void
ow_bridge_set_confirm_timeout (OwBridge *self,
                               guint     ms)
{
  g_return_if_fail (OW_IS_BRIDGE (self));

  self->confirm_ms = ms;
}

OwBridge *
ow_bridge_new (OwVault *vault)
{
  OwBridge *self;

  g_return_val_if_fail (OW_IS_VAULT (vault), NULL);

  self = g_object_new (OW_TYPE_BRIDGE, NULL);
  self->vault = g_object_ref (vault);
  g_signal_connect_swapped (vault, "notify::locked", G_CALLBACK (on_vault_locked), self);
  g_signal_connect_swapped (vault, "removed", G_CALLBACK (on_vault_removed), self);
  return self;
}
