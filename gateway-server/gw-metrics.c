/* gw-metrics.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-metrics.h"
#include "gw-net.h"
#include "onepin-crypto.h"

#include <string.h>

static const double batch_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048 };
static const double seconds_bounds[] = { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25, 0.5, 1 };

typedef struct
{
  const double *bounds;
  guint         n_bounds;
  guint64      *counts;           /* per bound, not cumulative; plus +Inf */
  double        sum;
  guint64       total;
} Histogram;

struct _GwMetrics
{
  GHashTable *requests;           /* "route\x1fstatus" -> guint64* */
  GHashTable *declines;           /* code -> guint64* */
  guint64     approved;
  guint64     allocation_failures;
  guint64     allocations_abandoned;
  guint64     late_charges_voided;

  GMutex      commit_lock;
  Histogram   batch_size;
  Histogram   commit_seconds;
};

static void
histogram_init (Histogram    *h,
                const double *bounds,
                guint         n)
{
  h->bounds = bounds;
  h->n_bounds = n;
  h->counts = g_new0 (guint64, n + 1);
}

static void
histogram_observe (Histogram *h,
                   double     value)
{
  guint i = 0;

  while (i < h->n_bounds && value > h->bounds[i])
    i++;
  h->counts[i]++;
  h->sum += value;
  h->total++;
}

static void
histogram_render (GString         *out,
                  const char      *name,
                  const char      *help,
                  const Histogram *h)
{
  guint64 cumulative = 0;

  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
  for (guint i = 0; i < h->n_bounds; i++)
    {
      cumulative += h->counts[i];
      g_string_append_printf (out, "%s_bucket{le=\"%g\"} %" G_GUINT64_FORMAT "\n", name,
                              h->bounds[i], cumulative);
    }
  g_string_append_printf (out, "%s_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n", name, h->total);
  g_string_append_printf (out, "%s_sum %.6f\n%s_count %" G_GUINT64_FORMAT "\n", name, h->sum,
                          name, h->total);
}

GwMetrics *
gw_metrics_new (void)
{
  GwMetrics *metrics = g_new0 (GwMetrics, 1);

  metrics->requests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  metrics->declines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_mutex_init (&metrics->commit_lock);
  histogram_init (&metrics->batch_size, batch_bounds, G_N_ELEMENTS (batch_bounds));
  histogram_init (&metrics->commit_seconds, seconds_bounds, G_N_ELEMENTS (seconds_bounds));
  return metrics;
}

void
gw_metrics_free (GwMetrics *metrics)
{
  if (metrics == NULL)
    return;
  g_hash_table_unref (metrics->requests);
  g_hash_table_unref (metrics->declines);
  g_mutex_clear (&metrics->commit_lock);
  g_free (metrics->batch_size.counts);
  g_free (metrics->commit_seconds.counts);
  g_free (metrics);
}

static void
count (GHashTable *table,
       const char *key)
{
  guint64 *value = g_hash_table_lookup (table, key);

  if (value == NULL)
    {
      value = g_new0 (guint64, 1);
      g_hash_table_insert (table, g_strdup (key), value);
    }
  (*value)++;
}

void
gw_metrics_request (GwMetrics  *metrics,
                    const char *route,
                    guint       status)
{
  char key[160];

  g_snprintf (key, sizeof key, "%s\x1f%u", route, status);
  count (metrics->requests, key);
}

void
gw_metrics_approved (GwMetrics *metrics)
{
  metrics->approved++;
}

void
gw_metrics_declined (GwMetrics  *metrics,
                     const char *code)
{
  count (metrics->declines, code);
}

void
gw_metrics_allocation_failed (GwMetrics *metrics)
{
  metrics->allocation_failures++;
}

void
gw_metrics_allocation_abandoned (GwMetrics *metrics)
{
  metrics->allocations_abandoned++;
}

void
gw_metrics_late_charge_voided (GwMetrics *metrics)
{
  metrics->late_charges_voided++;
}

void
gw_metrics_commit (guint    batch_size,
                   gdouble  seconds,
                   gpointer user_data)
{
  GwMetrics *metrics = user_data;

  g_mutex_lock (&metrics->commit_lock);
  histogram_observe (&metrics->batch_size, batch_size);
  histogram_observe (&metrics->commit_seconds, seconds);
  g_mutex_unlock (&metrics->commit_lock);
}

char *
gw_metrics_render (GwMetrics *metrics)
{
  GString *out = g_string_new (NULL);
  GHashTableIter iter;
  gpointer key, value;

  g_string_append (out, "# HELP onepin_http_requests_total HTTP requests by route and status.\n"
                        "# TYPE onepin_http_requests_total counter\n");
  g_hash_table_iter_init (&iter, metrics->requests);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_auto(GStrv) parts = g_strsplit (key, "\x1f", 2);

      g_string_append_printf (out, "onepin_http_requests_total{route=\"%s\",status=\"%s\"} %"
                              G_GUINT64_FORMAT "\n", parts[0], parts[1], *(guint64 *) value);
    }

  g_string_append_printf (out, "# HELP onepin_payments_approved_total Approved payments.\n"
                               "# TYPE onepin_payments_approved_total counter\n"
                               "onepin_payments_approved_total %" G_GUINT64_FORMAT "\n",
                          metrics->approved);

  g_string_append (out, "# HELP onepin_payments_declined_total Declined payments by code.\n"
                        "# TYPE onepin_payments_declined_total counter\n");
  g_hash_table_iter_init (&iter, metrics->declines);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_string_append_printf (out, "onepin_payments_declined_total{code=\"%s\"} %" G_GUINT64_FORMAT
                            "\n", (char *) key, *(guint64 *) value);

  g_string_append_printf (out, "# HELP onepin_site_allocation_failures_total Settlements of an "
                               "approved card-site charge that failed: its cards or credit could "
                               "not be issued.\n"
                               "# TYPE onepin_site_allocation_failures_total counter\n"
                               "onepin_site_allocation_failures_total %" G_GUINT64_FORMAT "\n"
                               "# HELP onepin_site_allocations_abandoned_total Approved card-site "
                               "charges given back (voided) after their last settlement failed.\n"
                               "# TYPE onepin_site_allocations_abandoned_total counter\n"
                               "onepin_site_allocations_abandoned_total %" G_GUINT64_FORMAT "\n"
                               "# HELP onepin_late_charges_voided_total Charges (card site and "
                               "wallet) the bank booked after they failed as never seen, given "
                               "back.\n"
                               "# TYPE onepin_late_charges_voided_total counter\n"
                               "onepin_late_charges_voided_total %" G_GUINT64_FORMAT "\n",
                          metrics->allocation_failures, metrics->allocations_abandoned,
                          metrics->late_charges_voided);

  g_mutex_lock (&metrics->commit_lock);
  histogram_render (out, "onepin_commit_batch_size", "Operations per database commit.",
                    &metrics->batch_size);
  histogram_render (out, "onepin_commit_seconds", "Time to apply and commit a batch.",
                    &metrics->commit_seconds);
  g_mutex_unlock (&metrics->commit_lock);

  return g_string_free (out, FALSE);
}

/* Compared as SHA-256 digests, in constant time: neither the token's
 * bytes nor its length show in how long a refusal takes. */
static gboolean
token_matches (const char *sent,
               const char *token)
{
  guint8 sent_digest[32], token_digest[32];

  return onepin_crypto_sha256 (sent, strlen (sent), sent_digest) &&
         onepin_crypto_sha256 (token, strlen (token), token_digest) &&
         onepin_crypto_equal (sent_digest, token_digest, sizeof sent_digest);
}

gboolean
gw_metrics_may_read (GInetAddress *peer,
                     const char   *authorization,
                     const char   *token)
{
  const char *sent;

  /* A wrong token is refused from this machine too: a scraper set up
   * with one finds out here, not once it runs elsewhere. */
  if (authorization != NULL)
    return token != NULL && (sent = gw_net_bearer_token (authorization)) != NULL &&
           token_matches (sent, token);
  return peer != NULL && gw_net_address_is_loopback (peer);
}
