/* wh-frame.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "wh-frame.h"

#include <string.h>

#include "onepin-json.h"
#include "ow-secret.h"

G_DEFINE_QUARK (wh-frame-error-quark, wh_frame_error)

#define HEADER sizeof (guint32)

/* The wallet's answers carry the card's number and CVC, so every byte of a
 * frame is wiped once it is consumed: in the buffer (which grows without
 * leaving a copy behind), in the payloads handed out, in encoded frames. */
struct _WhFrameReader
{
  GString    *buf;
  gsize       start;   /* bytes of buf already consumed */
  guint64     skip;    /* payload bytes of an oversized frame still to drop */
};

WhFrameReader *
wh_frame_reader_new (void)
{
  WhFrameReader *reader = g_new0 (WhFrameReader, 1);

  reader->buf = g_string_new (NULL);
  return reader;
}

void
wh_frame_reader_free (WhFrameReader *reader)
{
  if (reader == NULL)
    return;
  ow_secret_string_free (reader->buf);
  g_free (reader);
}

static gsize
available (WhFrameReader *reader)
{
  return reader->buf->len - reader->start;
}

static void
consume (WhFrameReader *reader,
         gsize          n)
{
  GString *buf = reader->buf;
  gsize rest;

  /* A consumed frame (the card's answer) does not wait for the buffer to
   * empty to be gone: the next frame's first bytes may already be here. */
  ow_secret_wipe (buf->str + reader->start, n);
  reader->start += n;
  /* Compact once the consumed part dominates, so feeding many small frames
   * stays linear. The bytes moved leave no copy at their old place. */
  if (reader->start == buf->len)
    {
      ow_secret_wipe (buf->str, buf->len);
      g_string_truncate (buf, 0);
      reader->start = 0;
    }
  else if (reader->start > 65536 && reader->start > buf->len / 2)
    {
      rest = buf->len - reader->start;
      memmove (buf->str, buf->str + reader->start, rest);
      ow_secret_wipe (buf->str + rest, buf->len - rest);
      g_string_truncate (buf, rest);
      reader->start = 0;
    }
}

static void
drop_skipped (WhFrameReader *reader)
{
  gsize n = (gsize) MIN (reader->skip, (guint64) available (reader));

  consume (reader, n);
  reader->skip -= n;
}

void
wh_frame_reader_feed (WhFrameReader *reader,
                      const guint8  *data,
                      gsize          len)
{
  g_return_if_fail (reader != NULL);
  g_return_if_fail (data != NULL || len == 0);

  if (reader->skip > 0)
    {
      gsize n = (gsize) MIN (reader->skip, (guint64) len);

      reader->skip -= n;
      data += n;
      len -= n;
    }
  if (len > 0)
    ow_secret_string_append_len (reader->buf, (const char *) data, len);
}

WhFrameStatus
wh_frame_reader_next (WhFrameReader  *reader,
                      GBytes        **payload,
                      JsonObject    **message,
                      GError        **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonObject) object = NULL;
  const guint8 *data;
  guint32 len;

  g_return_val_if_fail (reader != NULL, WH_FRAME_INVALID);
  g_return_val_if_fail (payload != NULL && *payload == NULL, WH_FRAME_INVALID);
  g_return_val_if_fail (message != NULL && *message == NULL, WH_FRAME_INVALID);

  drop_skipped (reader);
  if (reader->skip > 0 || available (reader) < HEADER)
    return WH_FRAME_NEED_MORE;

  data = (const guint8 *) reader->buf->str + reader->start;
  memcpy (&len, data, HEADER);
  if (len > WH_FRAME_MAX)
    {
      consume (reader, HEADER);
      reader->skip = len;
      drop_skipped (reader);
      g_set_error (error, WH_FRAME_ERROR, WH_FRAME_ERROR_TOO_LARGE,
                   "a message of %u bytes is over the limit of %u", len, WH_FRAME_MAX);
      return WH_FRAME_INVALID;
    }
  if (available (reader) < HEADER + len)
    return WH_FRAME_NEED_MORE;

  object = len > 0 ? onepin_json_parse_object ((const char *) data + HEADER, len, &local)
                   : NULL;
  if (object == NULL)
    {
      consume (reader, HEADER + len);
      g_set_error (error, WH_FRAME_ERROR, WH_FRAME_ERROR_MALFORMED,
                   "a message is not a JSON object: %s",
                   local != NULL ? local->message : "it is empty");
      return WH_FRAME_INVALID;
    }
  *payload = ow_secret_bytes_new (data + HEADER, len);
  *message = g_steal_pointer (&object);
  consume (reader, HEADER + len);
  return WH_FRAME_MESSAGE;
}

gboolean
wh_frame_reader_end (WhFrameReader  *reader,
                     GError        **error)
{
  g_return_val_if_fail (reader != NULL, FALSE);

  if (reader->skip > 0 || available (reader) > 0)
    {
      g_set_error_literal (error, WH_FRAME_ERROR, WH_FRAME_ERROR_TRUNCATED,
                           "the stream ended inside a message");
      return FALSE;
    }
  return TRUE;
}

GBytes *
wh_frame_encode (const void  *payload,
                 gsize        len,
                 GError     **error)
{
  guint32 header;
  guint8 *frame;

  if (len > WH_FRAME_MAX)
    {
      g_set_error (error, WH_FRAME_ERROR, WH_FRAME_ERROR_TOO_LARGE,
                   "a message of %" G_GSIZE_FORMAT " bytes is over the limit of %u",
                   len, WH_FRAME_MAX);
      return NULL;
    }
  header = (guint32) len;
  frame = g_malloc (HEADER + len);
  memcpy (frame, &header, HEADER);
  if (len > 0)
    memcpy (frame + HEADER, payload, len);
  return ow_secret_bytes_new_take (frame, HEADER + len);
}
