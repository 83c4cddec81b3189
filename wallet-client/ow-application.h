/* ow-application.h: onepin Wallet, the application
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Owns the vault, the gateway client and the settings, and locks everything
 * after the idle time set in GSettings (idle-lock-seconds; the time the
 * machine slept counts), when the session's screen locks and before the
 * machine goes to sleep.
 */
#pragma once

#include <adwaita.h>

#include "ow-client.h"
#include "ow-pending-charge.h"
#include "ow-vault.h"

G_BEGIN_DECLS

#define OW_APPLICATION_ID "org.onepin.Wallet"

#define OW_TYPE_APPLICATION (ow_application_get_type ())

G_DECLARE_FINAL_TYPE (OwApplication, ow_application, OW, APPLICATION, AdwApplication)

/* @vault_dir: NULL for $XDG_DATA_HOME/onepin. */
OwApplication *ow_application_new              (const char      *vault_dir);

OwVault       *ow_application_get_vault        (OwApplication   *self);
/* The wallet's window, or NULL before it is made. */
GtkWindow     *ow_application_get_main_window  (OwApplication   *self);
GSettings     *ow_application_get_settings     (OwApplication   *self);

/* The client for the gateway in the settings; a new one when the settings
 * changed. NULL with @error set when the address breaks the rules. */
OwClient      *ow_application_get_client       (OwApplication   *self,
                                                GError         **error);

/* After a sign-in: keeps the session sealed in the vault. */
gboolean       ow_application_save_session     (OwApplication   *self,
                                                OwSession       *session,
                                                const char      *login_id,
                                                GError         **error);
/* After an unlock: gives the stored session's token to the client. FALSE
 * when there is none for the gateway in the settings. */
gboolean       ow_application_restore_session  (OwApplication   *self);
/* The sign-in id of the stored session (NULL if none); free it. */
char          *ow_application_dup_login_id     (OwApplication   *self);
/* The card application of the signed-in user (ow-pending-card.h): its
 * Idempotency-Key kept, before it is sent, until the number and CVC are
 * stored. The lookup is NULL when there is none (or no session, or the
 * vault is locked); free it with ow_secret_free. */
gboolean       ow_application_save_pending_card  (OwApplication  *self,
                                                  const char     *idempotency_key,
                                                  GError        **error);
char          *ow_application_dup_pending_card   (OwApplication  *self);
void           ow_application_clear_pending_card (OwApplication  *self);
/* The signed-in user's charge whose outcome is unknown (ow-pending-charge.h):
 * kept, before it is sent, until its outcome is known, across locks,
 * quits and crashes. The lookup is NULL when there is none (or no session,
 * or the vault is locked). */
gboolean         ow_application_save_pending_charge  (OwApplication         *self,
                                                      const OwPendingCharge *pending,
                                                      GError               **error);
OwPendingCharge *ow_application_dup_pending_charge   (OwApplication         *self);
void             ow_application_clear_pending_charge (OwApplication         *self);
/* The session ended on the gateway (expired, revoked): forgets the token,
 * keeps the card's and funding sources' records for the next sign-in. */
void           ow_application_end_session     (OwApplication   *self);
/* Signing out: forgets the session and every record of the account here. */
void           ow_application_forget_session  (OwApplication   *self);

/* Forget the key, the token and everything shown; show the unlock page. */
void           ow_application_lock             (OwApplication   *self);
/* Input happened in one of our windows: the idle countdown starts over;
 * or, if the idle time ran out already (a timer fires late after a sleep),
 * the wallet locks and it returns TRUE. */
gboolean       ow_application_note_activity    (OwApplication   *self);
/* Makes @window one of the wallet's, as every window it shows is: the
 * application's (its accelerators, Ctrl+L, work in it, and a lock finds
 * it), destroyed with the window it is transient for, its input counted
 * for the idle countdown, and its text fields wiped as it goes. */
void           ow_application_adopt_window     (OwApplication   *self,
                                                GtkWindow       *window);
/* Lets app.approve-purchase show its demonstration dialog (nothing is paid
 * from it). Off unless the wallet was started with ONEPIN_WALLET_DEMO=1: the
 * action is on the session bus, and anyone there could otherwise show a
 * real-looking dialog asking for the card password. */
void           ow_application_set_demo         (OwApplication   *self,
                                                gboolean         demo);

G_END_DECLS
