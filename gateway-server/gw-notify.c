/* gw-notify.c: queueing e-mail and SMS messages in the outbox
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-notify.h"

#include <string.h>

#include "onepin-json.h"

static OnepinKey *notify_key;

static GMutex wakeup_lock;
static void (*wakeup_func) (const char *, gpointer);
static gpointer wakeup_data;

void
gw_notify_set_key (OnepinKey *seal_key)
{
  notify_key = seal_key;
}

void
gw_notify_set_wakeup (void     (*wakeup) (const char *type,
                                          gpointer    user_data),
                      gpointer   user_data)
{
  g_mutex_lock (&wakeup_lock);
  wakeup_func = wakeup;
  wakeup_data = user_data;
  g_mutex_unlock (&wakeup_lock);
}

static void
wake_worker (const char *type)
{
  g_mutex_lock (&wakeup_lock);
  if (wakeup_func != NULL)
    wakeup_func (type, wakeup_data);
  g_mutex_unlock (&wakeup_lock);
}

static const char *
channel_type (GwNotifyChannel channel)
{
  return channel == GW_NOTIFY_SMS ? "sms" : "email";
}

/* The additional data binds a sealed payload to its channel, so an e-mail's
 * payload cannot be replayed as an SMS. */
static char *
payload_aad (const char *type)
{
  return g_strconcat ("outbox\n", type, NULL);
}

gboolean
gw_notify_enqueue (GwTxn                 *txn,
                   const GwNotification  *n,
                   GError               **error)
{
  g_autoptr(GString) json = g_string_new ("{\"to\":");
  g_autoptr(GBytes) sealed = NULL;
  g_autofree char *aad = NULL;
  g_autofree char *text = NULL;
  const char *type = channel_type (n->channel);

  g_return_val_if_fail (notify_key != NULL, FALSE);
  g_return_val_if_fail (n->to != NULL && n->template != NULL, FALSE);

  onepin_json_append_string (json, n->to);
  g_string_append (json, ",\"locale\":");
  onepin_json_append_string (json, n->locale ? n->locale : "ko");
  g_string_append (json, ",\"template\":");
  onepin_json_append_string (json, n->template);
  g_string_append (json, ",\"ref\":");
  onepin_json_append_string (json, n->ref ? n->ref : "");
  g_string_append_printf (json, ",\"data\":%s}", n->data ? n->data : "{}");

  aad = payload_aad (type);
  sealed = onepin_key_seal (notify_key, json->str, json->len, aad, strlen (aad), error);
  if (sealed == NULL)
    return FALSE;
  text = g_base64_encode (g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed));
  if (!txn->funcs->outbox_put (txn, type, NULL, text, error))
    return FALSE;
  wake_worker (type);
  return TRUE;
}

GBytes *
gw_notify_open (const char  *type,
                const char  *payload,
                GError     **error)
{
  g_autofree char *aad = payload_aad (type);
  g_autofree guchar *raw = NULL;
  gsize len = 0;

  g_return_val_if_fail (notify_key != NULL, NULL);
  raw = g_base64_decode (payload, &len);
  return onepin_key_open (notify_key, raw, len, aad, strlen (aad), error);
}
