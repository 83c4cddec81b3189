/* onepin-test-bank.c: run the real onepin-bank binary for a test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "onepin-test-bank.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define STOP_TIMEOUT_US  (15 * G_USEC_PER_SEC)

struct _OtBank
{
  char        *data_dir;
  char        *log_path;
  char        *listen;
  char        *url;
  char        *api_key;
  char        *sms_key;
  char        *api_key_path;
  char        *callback_secret_path;
  GStrv        args;
  GSubprocess *proc;
  SoupSession *session;
};

static char *
log_tail (OtBank *bank)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (bank->log_path, &contents, &len, NULL))
    return g_strdup ("(no log)");
  return g_strdup (contents + (len > 3000 ? len - 3000 : 0));
}

G_GNUC_PRINTF (2, 3) static void
bank_fail (OtBank     *bank,
           const char *format,
           ...)
{
  g_autofree char *msg = NULL;
  g_autofree char *tail = log_tail (bank);
  g_autofree char *full = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  full = g_strdup_printf ("%s; onepin-bank log %s:\n%s", msg, bank->log_path, tail);
  g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, full);
}

static void
child_setup (gpointer user_data)
{
  /* The bank goes down with the test, even when an assertion aborts it. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () == 1)
    _exit (127);
}

static int
rm_one (const char        *path,
        const struct stat *sb,
        int                flag,
        struct FTW        *ftw)
{
  remove (path);
  return 0;
}

static char *
read_secret (const char *path)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return g_strstrip (g_steal_pointer (&contents));
}

/* The URL from the "listening on" line the bank prints last. */
static char *
wait_listening (OtBank  *bank,
                goffset  offset)
{
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_US;

  for (;;)
    {
      g_autofree char *contents = NULL;
      gsize len = 0;
      const char *p;

      if (g_file_get_contents (bank->log_path, &contents, &len, NULL) && (goffset) len > offset &&
          (p = strstr (contents + offset, "listening on ")) != NULL && strchr (p, '\n') != NULL)
        {
          p += strlen ("listening on ");
          return g_strndup (p, strchr (p, '\n') - p);
        }
      if (g_subprocess_get_identifier (bank->proc) == NULL)
        bank_fail (bank, "onepin-bank exited before it was listening");
      if (g_get_monotonic_time () > deadline)
        bank_fail (bank, "onepin-bank did not print \"listening on\" within 10 s");
      g_usleep (10 * 1000);
    }
}

static void
spawn (OtBank *bank)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *binary = g_getenv ("ONEPIN_BANK");
  struct stat st;
  int fd;

  if (binary == NULL || !g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE))
    g_error ("ONEPIN_BANK is not an executable: run the tests through meson test");
  fd = open (bank->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fstat (fd, &st), ==, 0);
  g_subprocess_launcher_take_stdout_fd (launcher, dup (fd));
  g_subprocess_launcher_take_stderr_fd (launcher, fd);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);

  g_ptr_array_add (argv, (char *) binary);
  g_ptr_array_add (argv, "--data-dir");
  g_ptr_array_add (argv, bank->data_dir);
  g_ptr_array_add (argv, "--listen");
  g_ptr_array_add (argv, bank->listen);
  for (guint i = 0; bank->args != NULL && bank->args[i] != NULL; i++)
    g_ptr_array_add (argv, bank->args[i]);
  g_ptr_array_add (argv, NULL);

  bank->proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                             &error);
  g_assert_no_error (error);
  g_free (bank->url);
  bank->url = wait_listening (bank, st.st_size);
  if (!g_str_has_prefix (bank->url, "http://127.0.0.1:"))
    bank_fail (bank, "unexpected listening URL %s", bank->url);
}

OtBank *
ot_bank_start (const char * const *args)
{
  OtBank *bank = g_new0 (OtBank, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *sms_key_path = NULL;

  bank->data_dir = g_dir_make_tmp ("onepin-bank-XXXXXX", &error);
  g_assert_no_error (error);
  bank->log_path = g_build_filename (bank->data_dir, "bank.log", NULL);
  bank->api_key_path = g_build_filename (bank->data_dir, "api.key", NULL);
  bank->callback_secret_path = g_build_filename (bank->data_dir, "callback.secret", NULL);
  bank->listen = g_strdup ("127.0.0.1:0");
  bank->args = g_strdupv ((char **) args);
  bank->session = soup_session_new_with_options ("timeout", 30, "user-agent", "onepin-test/1",
                                                 NULL);
  spawn (bank);

  /* Keep the port, so a restarted bank answers where the gateway looks. */
  g_free (bank->listen);
  bank->listen = g_strdup (bank->url + strlen ("http://"));
  bank->api_key = read_secret (bank->api_key_path);
  sms_key_path = g_build_filename (bank->data_dir, "sms.key", NULL);
  bank->sms_key = read_secret (sms_key_path);
  if (bank->api_key == NULL || bank->sms_key == NULL)
    bank_fail (bank, "the key files are missing once the bank listens");
  g_test_message ("onepin-bank %s, data dir %s", bank->url, bank->data_dir);
  return bank;
}

static void
wait_exit (OtBank   *bank,
           gboolean  clean)
{
  gint64 deadline = g_get_monotonic_time () + STOP_TIMEOUT_US;

  while (g_subprocess_get_identifier (bank->proc) != NULL)
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_subprocess_force_exit (bank->proc);
          bank_fail (bank, "onepin-bank did not exit within 15 s");
        }
      g_usleep (10 * 1000);
    }
  g_subprocess_wait (bank->proc, NULL, NULL);
  if (clean && !(g_subprocess_get_if_exited (bank->proc) &&
                 g_subprocess_get_exit_status (bank->proc) == 0))
    bank_fail (bank, "onepin-bank ended with wait status %d instead of exit 0",
               g_subprocess_get_status (bank->proc));
  g_clear_object (&bank->proc);
}

void
ot_bank_stop (OtBank *bank)
{
  if (bank == NULL)
    return;
  if (bank->proc != NULL)
    {
      g_subprocess_send_signal (bank->proc, SIGTERM);
      wait_exit (bank, TRUE);
    }
  soup_session_abort (bank->session);
  g_clear_object (&bank->session);
  nftw (bank->data_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  g_free (bank->data_dir);
  g_free (bank->log_path);
  g_free (bank->listen);
  g_free (bank->url);
  g_free (bank->api_key);
  g_free (bank->sms_key);
  g_free (bank->api_key_path);
  g_free (bank->callback_secret_path);
  g_strfreev (bank->args);
  g_free (bank);
}

void
ot_bank_kill (OtBank *bank)
{
  g_assert_nonnull (bank->proc);
  g_subprocess_force_exit (bank->proc);
  wait_exit (bank, FALSE);
  soup_session_abort (bank->session);
}

void
ot_bank_restart (OtBank *bank)
{
  g_assert_null (bank->proc);
  spawn (bank);
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
  return bank->log_path;
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
    bank_fail (bank, "%s %s failed: %s", method, path, error->message);
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
