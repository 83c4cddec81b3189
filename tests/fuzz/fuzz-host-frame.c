/* fuzz-host-frame.c: libFuzzer harness for onepin-wallet-host's frame reader
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Feeds untrusted bytes, as the browser or the wallet could send them,
 * through the frame reader in chunks whose size the input's first byte
 * picks (so frames arrive split anywhere), and checks what it answers:
 * a message is a JSON object within the size cap that encodes back to the
 * same frame; anything else is a WH_FRAME_ERROR; the end of the input
 * inside a frame is reported as truncated.
 */
#include <string.h>

#include "wh-frame.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check_round_trip (GBytes *payload)
{
  g_autoptr(GBytes) frame = wh_frame_encode (g_bytes_get_data (payload, NULL),
                                             g_bytes_get_size (payload), NULL);
  g_autoptr(WhFrameReader) again = wh_frame_reader_new ();
  g_autoptr(GBytes) copy = NULL;
  g_autoptr(JsonObject) message = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *bytes;

  g_assert (frame != NULL);
  bytes = g_bytes_get_data (frame, &len);
  wh_frame_reader_feed (again, bytes, len);
  g_assert (wh_frame_reader_next (again, &copy, &message, &error) == WH_FRAME_MESSAGE);
  g_assert (g_bytes_equal (copy, payload));
  g_assert (wh_frame_reader_end (again, NULL));
}

static void
drain (WhFrameReader *reader)
{
  for (;;)
    {
      g_autoptr(GBytes) payload = NULL;
      g_autoptr(JsonObject) message = NULL;
      g_autoptr(GError) error = NULL;
      WhFrameStatus status = wh_frame_reader_next (reader, &payload, &message, &error);

      if (status == WH_FRAME_NEED_MORE)
        {
          g_assert (payload == NULL && message == NULL && error == NULL);
          return;
        }
      if (status == WH_FRAME_INVALID)
        {
          g_assert (payload == NULL && message == NULL);
          g_assert (error != NULL && error->domain == WH_FRAME_ERROR);
          continue;
        }
      g_assert (error == NULL && message != NULL && payload != NULL);
      g_assert (g_bytes_get_size (payload) > 0 && g_bytes_get_size (payload) <= WH_FRAME_MAX);
      check_round_trip (payload);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(WhFrameReader) reader = wh_frame_reader_new ();
  g_autoptr(GError) error = NULL;
  gsize chunk;

  if (size == 0)
    return 0;
  /* 1..127 bytes at a time, or everything at once. */
  chunk = data[0] & 0x80 ? size : (gsize) (data[0] & 0x7f) + 1;
  data++;
  size--;
  while (size > 0)
    {
      gsize n = MIN (chunk, size);

      wh_frame_reader_feed (reader, data, n);
      drain (reader);
      data += n;
      size -= n;
    }
  if (!wh_frame_reader_end (reader, &error))
    g_assert (g_error_matches (error, WH_FRAME_ERROR, WH_FRAME_ERROR_TRUNCATED));
  return 0;
}
