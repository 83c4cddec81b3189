/* gw-templates.h: the texts of onepin's e-mails and SMS, in Korean and English
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each template turns the data object a module queued with
 * gw_notify_enqueue () (fields listed in HACKING.md) into a subject, a plain
 * text and an HTML body, or into one SMS text. Amounts are minor units, times
 * unix seconds (shown in Korean time). A missing optional field leaves its
 * line out; a missing field the message cannot do without is an error.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define GW_TEMPLATE_ERROR (gw_template_error_quark ())

typedef enum
{
  GW_TEMPLATE_ERROR_UNKNOWN,        /* no such template for this channel */
  GW_TEMPLATE_ERROR_DATA,           /* a required field is missing or malformed */
} GwTemplateError;

typedef struct
{
  char *subject;
  char *text;
  char *html;
} GwEmailContent;

GQuark    gw_template_error_quark   (void);
void      gw_email_content_clear    (GwEmailContent  *content);

/* @locale: "en" for English, anything else Korean. */
gboolean  gw_template_render_email  (const char      *name,
                                     const char      *locale,
                                     JsonObject      *data,
                                     GwEmailContent  *out,
                                     GError         **error);
char     *gw_template_render_sms    (const char      *name,
                                     const char      *locale,
                                     JsonObject      *data,
                                     GError         **error);

/* "12,345원" (Korean) or "₩12,345" (English) for won (also when @currency
 * is NULL); "12.34 USD" for another lowercase ISO 4217 code; NULL for
 * anything else. */
char     *gw_template_format_amount (gint64           amount,
                                     const char      *currency,
                                     gboolean         korean);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwEmailContent, gw_email_content_clear)

G_END_DECLS
