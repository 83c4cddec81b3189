/* ow-bridge.h: the wallet's end of the browser socket
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Listens on $XDG_RUNTIME_DIR/onepin-wallet.sock (mode 0600) while the
 * wallet runs, for onepin-wallet-host, which relays the browser extension's
 * messages. It speaks the protocol of HACKING.md ("Pairing and message
 * authentication"): a handshake with a nonce from each side, pairing by
 * ECDH (our key committed to before we see the browser's) with a code the
 * user compares, and requests authenticated with the
 * key agreed at pairing, in sequence, so replayed or forged messages are
 * refused. Paired browsers are kept sealed in the vault (ow-browser.h).
 *
 * What needs the user (approve a pairing, fill a card, approve a purchase)
 * comes out as an OwBridgeCall through the "call" signal; the application
 * answers it once. A card given to a site on the wallet's list, with no
 * dialog, is announced by "card-released", for the application to show. While the vault is locked no message can be
 * authenticated (the keys are sealed), so requests and pairings are
 * answered "locked" at once and nothing is asked of the user: a browser
 * never brings up the wallet's window. Locking wipes every browser key the
 * bridge holds: the connections that held one are refused "locked" and
 * closed, their calls cancelled (a pairing fails with
 * OW_VAULT_ERROR_LOCKED). The cancellable says the browser is gone, not
 * that the work must stop: the application lets a payment the user
 * approved already run to its end. No GTK here.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "ow-browser.h"
#include "ow-purchase.h"
#include "ow-vault.h"

G_BEGIN_DECLS

#define OW_BRIDGE_ERROR (ow_bridge_error_quark ())

typedef enum
{
  OW_BRIDGE_ERROR_FAILED,
  OW_BRIDGE_ERROR_UNSAFE,     /* no private runtime dir, or the path is not ours */
  OW_BRIDGE_ERROR_IN_USE,     /* another wallet already listens there */
  OW_BRIDGE_ERROR_GONE,       /* the browser went away before the answer */
  OW_BRIDGE_ERROR_NOT_CONFIRMED,  /* pairing: the browser did not prove the key */
  OW_BRIDGE_ERROR_SIGNED_OUT, /* pairing: the wallet was signed out (vault cleared) first */
} OwBridgeError;

/* The version of the protocol on the socket (HACKING.md), from the host's
 * hello to the requests: 3 since the wallet commits to its pairing key
 * (pair.commit) before it sees the browser's; 2 since pairing ends with the
 * browser's pair.confirm and the wallet's pair.saved. The host's hello and
 * the extension's begin must say it; any other is refused "version". */
#define OW_BRIDGE_PROTOCOL 3

typedef enum
{
  OW_BRIDGE_CALL_PAIR,        /* a browser asks to be paired */
  OW_BRIDGE_CALL_CARD,        /* the card, to fill a site's form */
  OW_BRIDGE_CALL_CHECKOUT,    /* a purchase at an affiliated mall to approve */
} OwBridgeCallKind;

#define OW_TYPE_BRIDGE (ow_bridge_get_type ())
#define OW_TYPE_BRIDGE_CALL (ow_bridge_call_get_type ())

G_DECLARE_FINAL_TYPE (OwBridge, ow_bridge, OW, BRIDGE, GObject)
G_DECLARE_FINAL_TYPE (OwBridgeCall, ow_bridge_call, OW, BRIDGE_CALL, GObject)

GQuark            ow_bridge_error_quark          (void);

OwBridge         *ow_bridge_new                  (OwVault          *vault);
/* @path: NULL for $XDG_RUNTIME_DIR/onepin-wallet.sock. */
gboolean          ow_bridge_listen               (OwBridge         *self,
                                                  const char       *path,
                                                  GError          **error);
/* Closes every connection and removes the socket (if it is still ours). */
void              ow_bridge_close                (OwBridge         *self);
const char       *ow_bridge_get_path             (OwBridge         *self);
/* How long a browser has to send pair.confirm after pair.done (30 s); then
 * the pairing fails (OW_BRIDGE_ERROR_NOT_CONFIRMED) and the connection is
 * refused "timeout" and closed. For tests. */
void              ow_bridge_set_confirm_timeout  (OwBridge         *self,
                                                  guint             ms);

OwBridgeCallKind  ow_bridge_call_get_kind        (OwBridgeCall     *call);
/* The browser's name: the one the user gave it, or for a pairing not yet
 * accepted the name the extension suggests. */
const char       *ow_bridge_call_get_browser_name (OwBridgeCall    *call);
/* "chromium", "firefox" or "unknown", as the host said. */
const char       *ow_bridge_call_get_browser_kind (OwBridgeCall    *call);
/* Pairing: whether it replaces a pairing of this browser, which proved it
 * holds its key (the browser name is then the user's name for that one). */
gboolean          ow_bridge_call_is_repairing    (OwBridgeCall    *call);
/* Pairing: the code both sides show, "123 456". */
const char       *ow_bridge_call_get_code        (OwBridgeCall     *call);
/* Card and checkout: the page's origin (checked: https, or loopback http). */
const char       *ow_bridge_call_get_origin      (OwBridgeCall     *call);
/* Card: the field types the page has ("cc-number", ...). */
const char * const *ow_bridge_call_get_fields    (OwBridgeCall     *call);
/* Card: TRUE unless the site is on this browser's list in the wallet (its
 * user chose "Always fill on this site"): the wallet must ask. What the
 * extension says it confirmed counts for nothing, since any process of the
 * user can read the browser's key. A card released without asking is
 * announced by the bridge's "card-released" signal. */
gboolean          ow_bridge_call_needs_confirmation (OwBridgeCall  *call);
/* Card: fill this site from now on without asking; only for the wallet's
 * own dialog. The card reply then tells the browser ("remembered"). */
gboolean          ow_bridge_call_remember_site   (OwBridgeCall     *call,
                                                  GError          **error);
/* Checkout: what the page says is being bought. */
const OwPurchase *ow_bridge_call_get_purchase    (OwBridgeCall     *call);
/* Cancelled when the browser goes away; the answer is then dropped. */
GCancellable     *ow_bridge_call_get_cancellable (OwBridgeCall     *call);
gboolean          ow_bridge_call_is_answered     (OwBridgeCall     *call);

/* Pairing: tells the browser its id and the name @name, with a MAC that
 * proves the wallet holds the key, then waits for the browser's proof of
 * the same (its pair.confirm). Only then is the browser stored, and the
 * call completes with TRUE; otherwise nothing is kept, and it fails with
 * OW_BRIDGE_ERROR_NOT_CONFIRMED (a wrong proof), OW_BRIDGE_ERROR_GONE (the
 * browser went away first, or the pairing ended before the user's answer),
 * OW_BRIDGE_ERROR_SIGNED_OUT (the vault was cleared meanwhile) or the
 * vault's error (OW_VAULT_ERROR_LOCKED when it locked meanwhile). */
void              ow_bridge_call_accept_pairing_async  (OwBridgeCall        *call,
                                                        const char          *name,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data);
gboolean          ow_bridge_call_accept_pairing_finish (OwBridgeCall        *call,
                                                        GAsyncResult        *result,
                                                        GError             **error);
/* Card and checkout: the answer's body, authenticated with the browser's
 * key. Its "type" is set here ("card.response", "checkout.response"). It
 * may hold the card: the strings of @body are wiped once it is written, so
 * read nothing from it afterwards. Members of a "card" that the call's
 * fields do not ask for (ow_browser_card_member_wanted) are wiped and
 * removed, never sent. A card reply also says whether the site is on the
 * wallet's list ("remembered"), for the extension to fill it on arrival;
 * one given without a dialog emits "card-released" once it is written. */
void              ow_bridge_call_reply           (OwBridgeCall     *call,
                                                  JsonObject       *body);
/* Any call: a refusal {"type": ..., "error": @code[, "message": @message]},
 * authenticated except for a pairing (the browser has no key yet). */
void              ow_bridge_call_refuse          (OwBridgeCall     *call,
                                                  const char       *code,
                                                  const char       *message);

G_END_DECLS
