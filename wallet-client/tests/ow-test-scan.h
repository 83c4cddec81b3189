/* ow-test-scan.h: search every file the wallet wrote for the secrets it holds
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _OwScan OwScan;

OwScan  *ow_scan_new          (void);
void     ow_scan_free         (OwScan     *scan);
/* Looks for @value as is, as hex (both cases) and as base64; a 16-digit
 * card number also with spaces and dashes between its groups. */
void     ow_scan_add_secret   (OwScan     *scan,
                               const char *what,
                               const char *value);
/* Searches every regular file under @dir (recursively); returns how many
 * files it read and appends "path: what" lines to @found. */
guint    ow_scan_dir          (OwScan     *scan,
                               const char *dir,
                               GString    *found);
/* Same for one file (missing files are skipped). */
void     ow_scan_file         (OwScan     *scan,
                               const char *path,
                               GString    *found);
/* Searches @dirs (NULL-terminated) and fails the test on any finding;
 * asserts that at least @min_files were read. */
void     ow_scan_assert_clean (OwScan      *scan,
                               const char *const *dirs,
                               guint        min_files);

/* Deletes @path and everything under it (symlinks themselves, never what
 * they point to). */
void     ow_test_remove_tree  (const char  *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwScan, ow_scan_free)

G_END_DECLS
