/* ow-vault.h: the wallet's local store, sealed under a master password
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A vault is a folder (normally $XDG_DATA_HOME/onepin) holding:
 *   vault.db            SQLite; every value in it is sealed (AES-256-GCM)
 *   cert9.db, key4.db   an NSS softoken database whose token password is
 *                       the master password; its one private token object
 *                       is the AES key that seals vault.db
 *
 * Signals: "stored" (kind, id) once ow_vault_store added or replaced a
 * record, so that a list of them (Preferences' browsers) shows it;
 * "removed" (kind, id) once a record is removed, and with both NULL once
 * ow_vault_clear removed every record, so that whoever holds a copy of one
 * (the browser bridge, a browser's key) lets it go.
 *
 * Nothing here needs GTK; the tests drive it directly.
 */
#pragma once

#include <gio/gio.h>

#include "ow-secret.h"

G_BEGIN_DECLS

#define OW_VAULT_ERROR (ow_vault_error_quark ())

typedef enum
{
  OW_VAULT_ERROR_FAILED,
  OW_VAULT_ERROR_EXISTS,          /* create: the folder already holds a vault */
  OW_VAULT_ERROR_NO_VAULT,        /* unlock: there is no vault to open */
  OW_VAULT_ERROR_WEAK_PASSWORD,   /* create: master password too short */
  OW_VAULT_ERROR_BAD_PASSWORD,    /* unlock: wrong master password */
  OW_VAULT_ERROR_LOCKED,          /* read or write while locked */
  OW_VAULT_ERROR_NOT_FOUND,
  OW_VAULT_ERROR_TAMPERED,        /* a record failed authentication */
  OW_VAULT_ERROR_BUSY,            /* a create, unlock or password change is running */
  OW_VAULT_ERROR_NEWER,           /* open: vault.db was written by a newer onepin-wallet */
  OW_VAULT_ERROR_NOT_VAULT,       /* open: vault.db is not an onepin vault */
  OW_VAULT_ERROR_NO_CHECK_RECORD, /* open: vault.db has records but lost its check record */
} OwVaultError;

/* The shortest master password accepted, in characters. */
#define OW_VAULT_MIN_PASSWORD_CHARS 8

/* PBKDF2-SHA256 iterations NSS uses to turn the master password into the key
 * database's wrapping key (NSS's own default is 10,000). */
#define OW_VAULT_KDF_ITERATIONS 600000

/* Record kinds the wallet stores. */
#define OW_VAULT_KIND_SESSION   "session"    /* the gateway session token */
#define OW_VAULT_KIND_CARD      "card"       /* representative card number, CVC */
#define OW_VAULT_KIND_FUNDING   "funding"    /* credit card / bank account details */
#define OW_VAULT_KIND_ACCOUNT   "account"    /* sign-in id and profile */
#define OW_VAULT_KIND_BROWSER   "browser"    /* a paired browser: its key, name, sites */
#define OW_VAULT_KIND_APPLICATION "application" /* a card application's key (ow-pending-card.h) */
#define OW_VAULT_KIND_CHARGE    "charge"     /* a top-up sent, its outcome unknown (ow-pending-charge.h) */
#define OW_VAULT_KIND_REMOVAL   "removal"    /* a funding source's removal sent, its outcome unknown */

#define OW_TYPE_VAULT (ow_vault_get_type ())

G_DECLARE_FINAL_TYPE (OwVault, ow_vault, OW, VAULT, GObject)

GQuark       ow_vault_error_quark         (void);

/* Once per process, before any thread starts: initialises NSS and sets the
 * key database's KDF strength for vaults created from now on. */
gboolean     ow_vault_global_init         (GError             **error);

/* The default folder, $XDG_DATA_HOME/onepin. */
char        *ow_vault_default_dir         (void);

/* Opens (does not create) the vault in @dir; it starts locked. */
OwVault     *ow_vault_new                 (const char          *dir,
                                           GError             **error);
const char  *ow_vault_get_dir             (OwVault             *self);
/* TRUE when the folder holds a created vault. */
gboolean     ow_vault_exists              (OwVault             *self);
gboolean     ow_vault_is_locked           (OwVault             *self);

/* Creates the key database, its key and vault.db, and leaves it unlocked.
 * The slow parts (the KDF) run in a worker thread for the async variants. */
gboolean     ow_vault_create              (OwVault             *self,
                                           const char          *master_password,
                                           GError             **error);
void         ow_vault_create_async        (OwVault             *self,
                                           const char          *master_password,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean     ow_vault_create_finish       (OwVault             *self,
                                           GAsyncResult        *result,
                                           GError             **error);

gboolean     ow_vault_unlock              (OwVault             *self,
                                           const char          *master_password,
                                           GError             **error);
void         ow_vault_unlock_async        (OwVault             *self,
                                           const char          *master_password,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean     ow_vault_unlock_finish       (OwVault             *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* Forgets the key and logs out of the token. Idempotent. */
void         ow_vault_lock                (OwVault             *self);

/* Re-wraps the key database under @new_password; needs the vault unlocked
 * and the current password. The async variant runs the KDF in a worker
 * thread; meanwhile the vault is busy (another change, a create or an
 * unlock is refused with OW_VAULT_ERROR_BUSY, and locking logs the token
 * out only when the change is done). Once started, it is not cancelled. */
gboolean     ow_vault_change_password     (OwVault             *self,
                                           const char          *old_password,
                                           const char          *new_password,
                                           GError             **error);
void         ow_vault_change_password_async  (OwVault             *self,
                                              const char          *old_password,
                                              const char          *new_password,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
gboolean     ow_vault_change_password_finish (OwVault             *self,
                                              GAsyncResult        *result,
                                              GError             **error);
/* TRUE while a create, unlock or password change runs in its thread. */
gboolean     ow_vault_is_busy             (OwVault             *self);

/* Records are (kind, id) → UTF-8 text, sealed with (kind, id) as the
 * associated data, so a record copied onto another fails to open. */
gboolean     ow_vault_store               (OwVault             *self,
                                           const char          *kind,
                                           const char          *id,
                                           const char          *secret,
                                           GError             **error);
/* Free the result with ow_secret_free (it wipes). */
char        *ow_vault_lookup              (OwVault             *self,
                                           const char          *kind,
                                           const char          *id,
                                           GError             **error);
/* Removing a record that is not there is not an error. */
gboolean     ow_vault_remove              (OwVault             *self,
                                           const char          *kind,
                                           const char          *id,
                                           GError             **error);
/* Ids of every record of @kind, sorted; works while locked (ids are not
 * secret). */
GStrv        ow_vault_list                (OwVault             *self,
                                           const char          *kind,
                                           GError             **error);
/* Removes every record (on sign-out); the key database stays. */
gboolean     ow_vault_clear               (OwVault             *self,
                                           GError             **error);

G_END_DECLS
