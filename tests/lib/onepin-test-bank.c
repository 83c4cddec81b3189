/* onepin-test-bank.c: run the real onepin-bank binary for a test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-test-bank.h"
#include "onepin-test-process.h"

#include <signal.h>
#include <string.h>

struct _OtBank
{
  OtProcess    process;          /* .log_path: DIR/bank.log */
  char        *data_dir;
  char        *listen;
  char        *url;
  char        *api_key;
  char        *sms_key;
  char        *api_key_path;
  char        *callback_secret_path;
  char        *acquirer_key;
  char        *operator_key;
  char        *network_secret_path;
  GStrv        args;
  GStrv        env;
  SoupSession *session;
};

static char *
read_secret (const char *path)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return g_strstrip (g_steal_pointer (&contents));
}

static void
spawn (OtBank *bank)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (char *) g_getenv ("ONEPIN_BANK"));
  g_ptr_array_add (argv, "--data-dir");
  g_ptr_array_add (argv, bank->data_dir);
  g_ptr_array_add (argv, "--listen");
  g_ptr_array_add (argv, bank->listen);
  for (guint i = 0; bank->args != NULL && bank->args[i] != NULL; i++)
    g_ptr_array_add (argv, bank->args[i]);
  g_ptr_array_add (argv, NULL);

  ot_process_spawn (&bank->process, (const char * const *) argv->pdata,
                    (const char * const *) bank->env);
  g_free (bank->url);
  bank->url = ot_process_wait_listening (&bank->process);
  if (!g_str_has_prefix (bank->url, "http://127.0.0.1:"))
    ot_process_fail (&bank->process, "unexpected listening URL %s", bank->url);
}

OtBank *
ot_bank_start (const char * const *args)
{
  return ot_bank_start_with_env (args, NULL);
}

OtBank *
ot_bank_start_with_env (const char * const *args,
                        const char * const *env)
{
  OtBank *bank = g_new0 (OtBank, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  bank->data_dir = g_dir_make_tmp ("onepin-bank-XXXXXX", &error);
  g_assert_no_error (error);
  bank->process.name = "onepin-bank";
  bank->process.log_path = g_build_filename (bank->data_dir, "bank.log", NULL);
  bank->api_key_path = g_build_filename (bank->data_dir, "api.key", NULL);
  bank->callback_secret_path = g_build_filename (bank->data_dir, "callback.secret", NULL);
  bank->network_secret_path = g_build_filename (bank->data_dir, "network.secret", NULL);
  bank->listen = g_strdup ("127.0.0.1:0");
  bank->args = g_strdupv ((char **) args);
  bank->env = g_strdupv ((char **) env);
  bank->session = soup_session_new_with_options ("timeout", 30, "user-agent", "onepin-test/1",
                                                 NULL);
  spawn (bank);

  /* Keep the port, so a restarted bank answers where the gateway looks. */
  g_free (bank->listen);
  bank->listen = g_strdup (bank->url + strlen ("http://"));
  bank->api_key = read_secret (bank->api_key_path);
  path = g_build_filename (bank->data_dir, "sms.key", NULL);
  bank->sms_key = read_secret (path);
  g_free (path);
  path = g_build_filename (bank->data_dir, "acquirer.key", NULL);
  bank->acquirer_key = read_secret (path);
  g_free (path);
  path = g_build_filename (bank->data_dir, "operator.key", NULL);
  bank->operator_key = read_secret (path);
  if (bank->api_key == NULL || bank->sms_key == NULL)
    ot_process_fail (&bank->process, "the key files are missing once the bank listens");
  g_test_message ("onepin-bank %s, data dir %s", bank->url, bank->data_dir);
  return bank;
}

void
ot_bank_stop (OtBank *bank)
{
  if (bank == NULL)
    return;
  if (bank->process.proc != NULL)
    {
      g_subprocess_send_signal (bank->process.proc, SIGTERM);
      ot_process_wait_exit (&bank->process, TRUE);
    }
  soup_session_abort (bank->session);
  g_clear_object (&bank->session);
  ot_rm_rf (bank->data_dir);
  g_free (bank->data_dir);
  g_free (bank->process.log_path);
  g_free (bank->listen);
  g_free (bank->url);
  g_free (bank->api_key);
  g_free (bank->sms_key);
  g_free (bank->api_key_path);
  g_free (bank->callback_secret_path);
  g_free (bank->acquirer_key);
  g_free (bank->operator_key);
  g_free (bank->network_secret_path);
  g_strfreev (bank->args);
  g_strfreev (bank->env);
  g_free (bank);
}

void
ot_bank_kill (OtBank *bank)
{
  g_assert_nonnull (bank->process.proc);
  g_subprocess_force_exit (bank->process.proc);
  ot_process_wait_exit (&bank->process, FALSE);
  soup_session_abort (bank->session);
}

void
ot_bank_restart (OtBank *bank)
{
  g_assert_null (bank->process.proc);
  spawn (bank);
}

GPid
ot_bank_pid (OtBank *bank)
{
  const char *id = bank->process.proc ? g_subprocess_get_identifier (bank->process.proc) : NULL;

  return id != NULL ? (GPid) g_ascii_strtoll (id, NULL, 10) : 0;
}

const char *
ot_bank_url (OtBank *bank)
{
  return bank->url;
}

const char *
ot_bank_data_dir (OtBank *bank)
{
  return bank->data_dir;
}

const char *
ot_bank_log_path (OtBank *bank)
{
  return bank->process.log_path;
}

const char *
ot_bank_api_key (OtBank *bank)
{
  return bank->api_key;
}

const char *
ot_bank_sms_key (OtBank *bank)
{
  return bank->sms_key;
}

const char *
ot_bank_api_key_path (OtBank *bank)
{
  return bank->api_key_path;
}

const char *
ot_bank_callback_secret_path (OtBank *bank)
{
  return bank->callback_secret_path;
}

OtResponse *
ot_bank_request (OtBank     *bank,
                 const char *method,
                 const char *path,
                 const char *bearer,
                 const char *idempotency_key,
                 const char *body)
{
  g_autofree char *uri = g_strconcat (bank->url, path, NULL);
  g_autoptr(GError) error = NULL;
  OtResponse *r = ot_http_send (bank->session, uri, method, bearer, idempotency_key, body,
                                body ? strlen (body) : 0, &error);

  if (r == NULL)
    ot_process_fail (&bank->process, "%s %s failed: %s", method, path, error->message);
  return r;
}

gint64
ot_bank_account_balance (OtBank     *bank,
                         const char *number)
{
  g_autofree char *path = g_strconcat ("/v1/accounts/", number, NULL);
  g_autoptr(OtResponse) r = ot_bank_request (bank, "GET", path, bank->api_key, NULL, NULL);

  ot_assert_status (r, 200);
  return ot_json_int (ot_response_object (r), "balance");
}

char *
ot_bank_gateway_config (OtBank     *bank,
                        guint       timeout,
                        const char *callback_url)
{
  return g_strdup_printf ("[bank]\nurl=%s\napi_key_file=%s\ncallback_secret_file=%s\n"
                          "timeout=%u\n%s%s%s",
                          bank->url, bank->api_key_path, bank->callback_secret_path, timeout,
                          callback_url ? "callback_url=" : "", callback_url ? callback_url : "",
                          callback_url ? "\n" : "");
}

const char *
ot_bank_acquirer_key (OtBank *bank)
{
  return bank->acquirer_key;
}

const char *
ot_bank_operator_key (OtBank *bank)
{
  return bank->operator_key;
}

const char *
ot_bank_network_secret_path (OtBank *bank)
{
  return bank->network_secret_path;
}
