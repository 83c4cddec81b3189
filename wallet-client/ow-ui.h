/* ow-ui.h: small helpers the wallet's widgets share
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "ow-application.h"

G_BEGIN_DECLS

/* The application a widget's window belongs to (NULL if none yet). */
OwApplication *ow_ui_get_application   (GtkWidget    *widget);

/* The gateway's bounds on the password one signs in with, in characters. */
#define OW_SIGN_IN_PASSWORD_MIN 8
#define OW_SIGN_IN_PASSWORD_MAX 128

/* What to tell the user about @error, in their language. */
char          *ow_ui_error_message     (const GError *error);
/* Whether a password change sent under an Idempotency-Key (the sign-in
 * password's or the card's) may have gone through all the same, given
 * whether it was already unknown before this answer; see ow-ui.c. */
gboolean       ow_ui_change_outcome_unknown (const GError *error,
                                             gboolean      unknown_before);
/* What to tell the user about a value the gateway refuses for @param
 * ("name", "email", "new_password", …), in their language; NULL if none. */
const char    *ow_ui_param_message     (const char   *param);
/* The first of a profile's fields that the gateway would refuse
 * (onepin-contact.h), as its parameter name, or NULL. A NULL field is not
 * sent and not checked; an empty @phone is none (or removes it). */
const char    *ow_ui_profile_fault     (const char   *name,
                                        const char   *email,
                                        const char   *phone);

/* A telephone number as the user typed it, without the spaces and dashes
 * people write in it, checked as the gateway checks a calling number
 * (onepin-contact.h): its digits to send (to free), or NULL. */
char          *ow_ui_calling_number    (const char   *text);

/* TRUE for a 401 that means the session is over (expired or revoked). */
gboolean       ow_ui_session_ended     (const GError *error);

/* Shows @message in the toast overlay of @widget's window; while the
 * wallet is locked, only after the unlock (ow_window_toast). */
void           ow_ui_toast             (GtkWidget    *widget,
                                        const char   *message);
/* The same, with @while_locked shown instead of @message while the wallet
 * is locked: a text that names no purchase, card or merchant. */
void           ow_ui_toast_full        (GtkWidget    *widget,
                                        const char   *message,
                                        const char   *while_locked);

/* An AdwActionRow whose title and subtitle are shown as written, not as
 * Pango markup: for text from the gateway, a mall or the user ("H&M"). */
GtkWidget     *ow_plain_action_row_new (void);

/* "2026-11-21 14:03" in local time. */
char          *ow_ui_format_time       (gint64        unix_seconds);

/* Shows or hides a label carrying an error; NULL hides it. */
void           ow_ui_show_error        (GtkLabel     *label,
                                        const char   *message);

/* Sets the text of an editable and wipes what was there (passwords). */
/* @field as at fault (@message) for a screen reader: invalid, described
 * by the message; NULL: no longer. Give the field the focus after. */
void           ow_ui_mark_invalid      (GtkWidget    *field,
                                        const char   *message);
void           ow_ui_clear_editable    (GtkEditable  *editable);
/* Every text field under @widget, @widget too, as ow_ui_clear_editable. */
void           ow_ui_wipe_texts        (GtkWidget    *widget);

/* Checks a new password and its confirmation: @min to @max characters,
 * both the same. Otherwise shows @too_short_or_long (or "differ") in
 * @error_label, focuses the field at fault and returns FALSE. */
gboolean       ow_ui_check_new_password (GtkEditable *password,
                                         GtkEditable *confirm,
                                         glong        min,
                                         glong        max,
                                         const char  *too_short_or_long,
                                         GtkLabel    *error_label);

/* Marks a form busy: the button shows a spinner and is insensitive. */
void           ow_ui_set_busy          (GtkButton    *button,
                                        GtkSpinner   *spinner,
                                        gboolean      busy);

/* Marks a dialog's request out, one that cannot be called back: busy as
 * above, and Cancel greyed. The dialog stays until the answer (or the
 * client's timeout), so that the user learns how it ended: its
 * close-request handler refuses while sending (Escape and the window
 * manager's close go there too). */
void           ow_ui_set_sending       (GtkWidget    *cancel_button,
                                        GtkButton    *button,
                                        GtkSpinner   *spinner,
                                        gboolean      sending);

/* A question before something that cannot be undone: Cancel (the default,
 * and what closing answers) and @label, destructive, answering @response.
 * Not shown yet. */
GtkWidget     *ow_ui_confirm_new       (GtkWindow    *parent,
                                        const char   *heading,
                                        const char   *body,
                                        const char   *response,
                                        const char   *label);

/* libadwaita 1.2 leaves some controls without an accessible name (screen
 * readers hear "GtkImage"): the show-text eye of AdwPasswordEntryRow, a
 * toast's close button, a preferences window's search entry. This names
 * every one under @root. */
void           ow_ui_name_controls (GtkWidget    *root);
/* A button's text with its mnemonic taken out, as a screen reader should
 * say it: "_Unlock" is "Unlock", "지갑 만들기(_C)" is "지갑 만들기". */
char          *ow_ui_without_mnemonic (const char *label);
/* gtk_button_set_label() for a button named by ow_ui_name_controls():
 * its accessible name follows the new text. Text buttons are named there
 * too (GTK 4.8 says "_Unlock Unlock" otherwise). */
void           ow_ui_set_button_label (GtkButton    *button,
                                       const char   *label);

G_END_DECLS
