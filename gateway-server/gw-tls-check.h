/* gw-tls-check.h: the configured TLS key belongs to its certificate
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* FALSE with @error when @certificate's private key is not the key of its
 * certificate, or TLS cannot be served with them at all. */
gboolean gw_tls_check_key (GTlsCertificate  *certificate,
                           GError          **error);

G_END_DECLS
