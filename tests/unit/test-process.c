/* test-process.c: a process holding a user's secrets leaves no dump
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include "onepin-process.h"

static void
test_forbid_dumps (void)
{
  g_autoptr(GError) error = NULL;
  struct rlimit core;

  g_assert_cmpint (prctl (PR_GET_DUMPABLE, 0, 0, 0, 0), ==, 1);
  g_assert_true (onepin_process_forbid_dumps (&error));
  g_assert_no_error (error);
  g_assert_cmpint (prctl (PR_GET_DUMPABLE, 0, 0, 0, 0), ==, 0);
  g_assert_cmpint (getrlimit (RLIMIT_CORE, &core), ==, 0);
  g_assert_cmpuint (core.rlim_cur, ==, 0);
  /* The hard limit too, so nothing later in the process raises it again. */
  g_assert_cmpuint (core.rlim_max, ==, 0);
  /* Twice is harmless (a second main-like entry point, a re-exec). */
  g_assert_true (onepin_process_forbid_dumps (&error));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/process/forbid-dumps", test_forbid_dumps);
  return g_test_run ();
}
