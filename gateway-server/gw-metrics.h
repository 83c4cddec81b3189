/* gw-metrics.h: counters and histograms in the Prometheus text format
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _GwMetrics GwMetrics;

GwMetrics *gw_metrics_new              (void);
void       gw_metrics_free             (GwMetrics   *metrics);
/* Main thread only. */
void       gw_metrics_request          (GwMetrics   *metrics,
                                        const char  *route,
                                        guint        status);
void       gw_metrics_approved         (GwMetrics   *metrics);
void       gw_metrics_declined         (GwMetrics   *metrics,
                                        const char  *code);
/* The card site: a settlement of an approved charge that failed (its cards
 * or credit could not be issued), and an approval given back after the
 * last such try. */
void       gw_metrics_allocation_failed    (GwMetrics   *metrics);
void       gw_metrics_allocation_abandoned (GwMetrics   *metrics);
/* A charge (card site or wallet) the bank booked after it failed as never
 * seen, voided: counted when the void is decided, once per charge. */
void       gw_metrics_late_charge_voided   (GwMetrics   *metrics);
/* Any thread: called by the store's writer after each commit. */
void       gw_metrics_commit           (guint        batch_size,
                                        gdouble      seconds,
                                        gpointer     metrics);
char      *gw_metrics_render           (GwMetrics   *metrics);

/* Whether a client at @peer (NULL: not known) that sent @authorization
 * (its Authorization headers, NULL for none) may read the counters, given
 * the metrics token @token (NULL: none configured). A client that sends
 * credentials is judged by them alone, wherever it is: only "Bearer
 * <token>" passes. One that sends none passes only from this machine. */
gboolean   gw_metrics_may_read         (GInetAddress *peer,
                                        const char   *authorization,
                                        const char   *token);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwMetrics, gw_metrics_free)

G_END_DECLS
