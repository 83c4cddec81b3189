/* wh-frame.h: WebExtension native-messaging frames
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A frame is a 32-bit length in native byte order, then that many bytes of
 * UTF-8 JSON. The browser and the host speak it on stdin/stdout; the host
 * and the wallet speak it on the wallet's Unix socket. Every message is one
 * JSON object of at most WH_FRAME_MAX bytes.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define WH_FRAME_MAX (1024 * 1024)
#define WH_FRAME_ERROR (wh_frame_error_quark ())

typedef enum
{
  WH_FRAME_ERROR_TOO_LARGE,   /* length over WH_FRAME_MAX: the payload is skipped */
  WH_FRAME_ERROR_MALFORMED,   /* empty, not UTF-8, not JSON, or not an object */
  WH_FRAME_ERROR_TRUNCATED,   /* the input ended inside a frame */
} WhFrameError;

typedef enum
{
  WH_FRAME_NEED_MORE,
  WH_FRAME_MESSAGE,
  WH_FRAME_INVALID,
} WhFrameStatus;

typedef struct _WhFrameReader WhFrameReader;

GQuark          wh_frame_error_quark  (void);

WhFrameReader  *wh_frame_reader_new   (void);
void            wh_frame_reader_free  (WhFrameReader  *reader);

/* Appends bytes read from the stream. Never buffers more than one frame
 * (plus what one call brings): an oversized frame's payload is dropped as
 * it arrives. */
void            wh_frame_reader_feed  (WhFrameReader  *reader,
                                       const guint8   *data,
                                       gsize           len);

/* The next frame. WH_FRAME_MESSAGE sets @payload (the frame's bytes,
 * wiped when the last reference goes) and @message (the parsed object).
 * WH_FRAME_INVALID sets @error for one rejected frame; the reader then goes
 * on with the frame after it. Consumed bytes are wiped from the reader. */
WhFrameStatus   wh_frame_reader_next  (WhFrameReader  *reader,
                                       GBytes        **payload,
                                       JsonObject    **message,
                                       GError        **error);

/* At the end of the stream: FALSE (WH_FRAME_ERROR_TRUNCATED) if it ended
 * inside a frame. */
gboolean        wh_frame_reader_end   (WhFrameReader  *reader,
                                       GError        **error);

/* The frame carrying @len bytes of @payload, wiped when the last reference
 * goes (frames from the wallet may hold the card); NULL over WH_FRAME_MAX. */
GBytes         *wh_frame_encode       (const void     *payload,
                                       gsize           len,
                                       GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WhFrameReader, wh_frame_reader_free)

G_END_DECLS
