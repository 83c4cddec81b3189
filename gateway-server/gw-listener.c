/* gw-listener.c: accepting connections for a SoupServer, within limits
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libsoup 3.2's own listener removes its accept watch for good the first
 * time accept () fails (EMFILE: too many open files), and the port then
 * listens with no one serving it. So connections are accepted here, on a
 * socket we own, and each one is given to libsoup whole with
 * soup_server_accept_iostream (), after its TLS handshake when there is
 * one. A failed accept pauses the watch briefly and it comes back.
 *
 * What is held, and for how long:
 * - at most max_connections open client connections, across every thread;
 *   at the cap the listener first forgets the ones closed since the last
 *   sweep, then stops accepting (the kernel queues newcomers) and looks
 *   again every ACCEPT_RETRY_MS;
 * - at most connections_per_address of them from one address (an IPv6
 *   /64), so that one client cannot take every place and leave the others
 *   waiting at the cap: one past it is closed as soon as it is accepted,
 *   before a byte is read (its address is not known until then);
 * - a TLS handshake has handshake_timeout seconds, then it is canceled and
 *   the connection closed; glib-networking runs each on a pool thread that
 *   waits for the client, so one address may hold only
 *   handshakes_per_address of them at once (others from it wait for a
 *   place, within the same deadline);
 * - a connection has idle_timeout seconds to deliver a complete request
 *   head, counted from its start or from its previous answer (idle kept-
 *   alive connections, slow headers), and a request body may go
 *   body_timeout seconds without a byte. A request being handled or
 *   answered is never cut for its time;
 * - an answer's bytes may wait for the client send_timeout seconds without
 *   it taking one (acknowledging it), whatever the state: a client that
 *   asks and never reads would otherwise hold its place forever. Only bytes
 *   already written count: a handler still working writes none.
 *
 * A connection past its time is shut down (libsoup then reads the end and
 * closes it); one libsoup still has not closed at the next sweep, like one
 * whose client left while libsoup 3.2 waited for a next request it forgot
 * about (it would stay in CLOSE-WAIT), is closed here.
 */
#define _GNU_SOURCE              /* POLLRDHUP */
#include "gw-listener.h"
#include "gw-net.h"
#include "onepin-soup-server.h"

#include <errno.h>
#include <poll.h>
#include <linux/sockios.h>       /* SIOCOUTQ */
#include <linux/tcp.h>           /* tcp_info's tcpi_bytes_acked, not in glibc's */
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_RETRY_MS 100
#define SWEEP_MS 250
/* Accepted in one wake-up, so that a crowd does not hold the loop. */
#define ACCEPT_BURST 64
/* Files kept for the database, its WAL, the bank, SMTP, webhooks, logs. */
#define FD_RESERVE 256

typedef enum
{
  STATE_HANDSHAKE,
  STATE_WAITING,                 /* for a request head */
  STATE_BODY,                    /* reading a request body */
  STATE_HANDLING,                /* read whole: ours to answer */
} State;

typedef struct
{
  GwListener    *listener;       /* NULL once the listener is gone */
  GSocket       *socket;
  char          *peer;           /* gw_net_address_key () of the peer: its
                                    place under connections_per_address */
  char          *address;        /* the peer's, while it holds a handshake
                                    place or waits for one */
  GSocketConnection *connection; /* while waiting for the ClientHello or a
                                    handshake place */
  GSource       *hello;          /* that wait */
  GCancellable  *cancellable;    /* the handshake's */
  State          state;
  gint64         since;          /* monotonic µs of the last progress */
  guint64        acked;          /* bytes the client had acknowledged ... */
  gint64         acked_since;    /* ... when last seen, or nothing waited */
  gboolean       shut;           /* shut down here; closed at the next sweep */
  gint           counted_out;    /* its place given back (atomic: libsoup may
                                    let its stream go on another thread) */
} Conn;

struct _GwListener
{
  SoupServer             *soup;
  GSocket                *socket;
  GSocket                *anchor;  /* the far end of libsoup's idle listener */
  GTlsCertificate        *certificate;
  const GwListenerLimits *limits;
  GMainContext           *context;
  GSource                *watch;  /* accept; NULL while paused */
  GSource                *retry;
  GSource                *sweep;
  GHashTable             *conns;  /* Conn (a reference) */
  GHashTable             *waiting; /* address → GQueue of Conn (references)
                                      whose hello is here, for a place */
  gint64                  warned; /* when a failed accept was last logged */
  gint64                  warned_peer; /* ... and a refusal over connections_per_address */
};

/* What each address holds, across listeners (threads). */
typedef struct
{
  GMutex      lock;
  GHashTable *counts;           /* address → count */
} AddressCounts;

/* Across listeners: open connections, and by address (its
 * gw_net_address_key ()); refused ones; handshakes by address. */
static gint open_connections;
static AddressCounts peers;
static gint refused_connections;
static AddressCounts handshakes;

/* Counts one more for @address in @counts, if it has fewer than @limit. */
static gboolean
counts_claim (AddressCounts *counts,
              const char    *address,
              gint64         limit)
{
  guint held;

  g_mutex_lock (&counts->lock);
  if (counts->counts == NULL)
    counts->counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  held = GPOINTER_TO_UINT (g_hash_table_lookup (counts->counts, address));
  if (held < limit)
    g_hash_table_insert (counts->counts, g_strdup (address), GUINT_TO_POINTER (held + 1));
  g_mutex_unlock (&counts->lock);
  return held < limit;
}

static void
counts_release (AddressCounts *counts,
                const char    *address)
{
  guint held;

  g_mutex_lock (&counts->lock);
  held = GPOINTER_TO_UINT (g_hash_table_lookup (counts->counts, address));
  if (held <= 1)
    g_hash_table_remove (counts->counts, address);
  else
    g_hash_table_insert (counts->counts, g_strdup (address), GUINT_TO_POINTER (held - 1));
  g_mutex_unlock (&counts->lock);
}

static void
conn_clear (gpointer data)
{
  Conn *conn = data;

  g_clear_object (&conn->socket);
  g_clear_object (&conn->connection);
  g_clear_object (&conn->cancellable);
  g_free (conn->address);
  g_free (conn->peer);
}

static Conn *
conn_ref (Conn *conn)
{
  return g_rc_box_acquire (conn);
}

static void
conn_unref (gpointer data)
{
  g_rc_box_release_full (data, conn_clear);
}

/* @conn no longer holds a place: it is closed, or no longer ours. Once:
 * the listener forgets it later than libsoup lets it go. */
static void
conn_count_out (Conn *conn)
{
  if (!g_atomic_int_compare_and_exchange (&conn->counted_out, FALSE, TRUE))
    return;
  g_atomic_int_add (&open_connections, -1);
  counts_release (&peers, conn->peer);
}

/* libsoup let the connection's stream go: closed, so its place is free now,
 * not at the sweep of the listener that holds it. With HTTP threads that
 * may be another thread's, which would otherwise leave a client that opens
 * a connection per request at its connections_per_address. */
static void
on_stream_released (gpointer  data,
                    GObject  *stream)
{
  conn_count_out (data);
  conn_unref (data);
}

/* Forgets the connection at @iter: it is closed. */
static void
conn_forget (GHashTableIter *iter,
             Conn           *conn)
{
  conn->listener = NULL;
  conn_count_out (conn);
  g_hash_table_iter_remove (iter);
}

/* Sockets */

guint64
gw_listener_raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) < 0)
    return 1024;
  if (limit.rlim_cur < limit.rlim_max)
    {
      rlim_t wanted = limit.rlim_max;

      limit.rlim_cur = wanted;
      if (setrlimit (RLIMIT_NOFILE, &limit) < 0)
        getrlimit (RLIMIT_NOFILE, &limit);
    }
  return limit.rlim_cur == RLIM_INFINITY ? G_MAXINT : (guint64) limit.rlim_cur;
}

gint64
gw_listener_default_max (guint64 fd_limit)
{
  if (fd_limit <= 2 * FD_RESERVE)
    return MAX (16, (gint64) fd_limit / 2);
  return MIN (10000, (gint64) (fd_limit - FD_RESERVE));
}

/* An eighth of the places: a few clients cannot take them all, and a
 * merchant's pool or a NAT's users fit (at least 256 of them, where the
 * file limit leaves few places). */
gint64
gw_listener_default_per_address (gint64 max_connections)
{
  return MIN (max_connections, MAX (256, max_connections / 8));
}

guint
gw_listener_open_connections (void)
{
  return (guint) MAX (0, g_atomic_int_get (&open_connections));
}

guint
gw_listener_refused_connections (void)
{
  return (guint) g_atomic_int_get (&refused_connections);
}

char *
gw_listener_url (GSocket  *socket,
                 gboolean  tls,
                 GError  **error)
{
  g_autoptr(GSocketAddress) bound = g_socket_get_local_address (socket, error);
  GInetSocketAddress *inet;
  g_autofree char *host = NULL;

  if (bound == NULL)
    return NULL;
  inet = G_INET_SOCKET_ADDRESS (bound);
  host = g_inet_address_to_string (g_inet_socket_address_get_address (inet));
  /* An IPv6 literal goes in brackets (RFC 3986). */
  return g_strdup_printf (strchr (host, ':') ? "%s://[%s]:%u" : "%s://%s:%u",
                          tls ? "https" : "http", host, g_inet_socket_address_get_port (inet));
}

/* Connections and libsoup's messages */

static GQuark
conn_quark (void)
{
  return g_quark_from_static_string ("gw-listener-conn");
}

/* The connection's record hangs on the remote address we gave libsoup,
 * which is the message's own. */
static Conn *
conn_of (SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  return remote != NULL ? g_object_get_qdata (G_OBJECT (remote), conn_quark ()) : NULL;
}

gboolean
gw_listener_message_connected (SoupServerMessage *msg)
{
  Conn *conn = conn_of (msg);

  return conn != NULL && !g_socket_is_closed (conn->socket);
}

static void
conn_progress (Conn  *conn,
               State  state)
{
  conn->state = state;
  conn->since = g_get_monotonic_time ();
}

static void
on_got_headers (SoupServerMessage *msg)
{
  Conn *conn = conn_of (msg);

  if (conn != NULL)
    conn_progress (conn, STATE_BODY);
}

static void
on_got_chunk (SoupServerMessage *msg)
{
  Conn *conn = conn_of (msg);

  if (conn != NULL && conn->state == STATE_BODY)
    conn->since = g_get_monotonic_time ();
}

static void
on_request_started (SoupServer        *soup,
                    SoupServerMessage *msg)
{
  Conn *conn = conn_of (msg);

  if (conn == NULL)
    return;
  conn_progress (conn, STATE_WAITING);
  g_signal_connect (msg, "got-headers", G_CALLBACK (on_got_headers), NULL);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), NULL);
}

static void
on_request_read (SoupServer        *soup,
                 SoupServerMessage *msg)
{
  Conn *conn = conn_of (msg);

  if (conn != NULL)
    conn_progress (conn, STATE_HANDLING);
}

static void
on_request_over (SoupServer        *soup,
                 SoupServerMessage *msg)
{
  Conn *conn = conn_of (msg);

  if (conn != NULL)
    conn_progress (conn, STATE_WAITING);
}

static void
hand_over (GwListener *self,
           Conn       *conn,
           GIOStream  *stream)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (conn->socket, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (conn->socket, NULL);

  if (local == NULL || remote == NULL)
    {
      g_io_stream_close (stream, NULL, NULL);
      return;
    }
  g_object_set_qdata_full (G_OBJECT (remote), conn_quark (), conn_ref (conn), conn_unref);
  conn_progress (conn, STATE_WAITING);
  g_object_weak_ref (G_OBJECT (stream), on_stream_released, conn_ref (conn));
  soup_server_accept_iostream (self->soup, stream, local, remote, NULL);
}

/* TLS handshakes */

static gboolean
handshake_claim (const char *address,
                 gint64      limit)
{
  return counts_claim (&handshakes, address, limit);
}

static void
handshake_release (Conn *conn)
{
  if (conn->address == NULL)
    return;
  counts_release (&handshakes, conn->address);
  g_clear_pointer (&conn->address, g_free);
}

static void handshakes_resume (GwListener *self,
                               const char *address);

static void
on_handshake (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Conn *conn = user_data;
  GIOStream *tls = G_IO_STREAM (source);
  g_autoptr(GError) error = NULL;
  g_autofree char *address = g_strdup (conn->address);

  handshake_release (conn);
  if (conn->listener != NULL)
    handshakes_resume (conn->listener, address);
  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (tls), result, &error) ||
      conn->listener == NULL)
    {
      g_debug ("TLS handshake: %s", error ? error->message : "the listener is gone");
      g_io_stream_close (tls, NULL, NULL);
    }
  else
    hand_over (conn->listener, conn, tls);
  conn_unref (conn);
}

/* Closes @conn's connection, still ours (no handshake on it). */
static void
conn_drop (Conn *conn)
{
  g_io_stream_close (G_IO_STREAM (conn->connection), NULL, NULL);
  g_clear_object (&conn->connection);
  g_clear_pointer (&conn->address, g_free);
}

/* Starts the handshake of @conn, which holds a place for its address. */
static void
handshake_begin (GwListener *self,
                 Conn       *conn)
{
  static const char *protocols[] = { "http/1.1", "http/1.0", NULL };
  g_autoptr(GSocketConnection) connection = g_steal_pointer (&conn->connection);
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) error = NULL;

  tls = g_tls_server_connection_new (G_IO_STREAM (connection), self->certificate, &error);
  if (tls == NULL)
    {
      g_warning ("TLS: %s", error->message);
      handshake_release (conn);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return;
    }
  g_object_set (tls, "require-close-notify", FALSE, "advertised-protocols", protocols, NULL);
  conn->cancellable = g_cancellable_new ();
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                    conn->cancellable, on_handshake, conn_ref (conn));
}

/* Whether @conn, waiting for a place, is still worth one: not closed, not
 * past its deadline (the sweep shut it), its listener still here. */
static gboolean
conn_alive (Conn *conn)
{
  return conn->listener != NULL && !conn->shut && !g_socket_is_closed (conn->socket);
}

/* Starts the handshakes waiting for a place for @address, in their order,
 * while places are free. Places freed on another thread (listener) are
 * found by the sweep. */
static void
handshakes_resume (GwListener *self,
                   const char *address)
{
  GQueue *queue = g_hash_table_lookup (self->waiting, address);
  Conn *conn;

  while (queue != NULL && (conn = g_queue_peek_head (queue)) != NULL)
    {
      if (conn_alive (conn))
        {
          if (!handshake_claim (address, self->limits->handshakes_per_address))
            return;
          handshake_begin (self, conn);
        }
      else
        conn_drop (conn);
      conn_unref (g_queue_pop_head (queue));
    }
  g_hash_table_remove (self->waiting, address);
}

/* A burst of ordinary handshakes from one address (a merchant's pool, a
 * NAT) is not refused past handshakes_per_address: the ones over wait,
 * only polled, and start as places free up, within their deadline. */
static void
start_handshake (GwListener *self,
                 Conn       *conn)
{
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (conn->socket, NULL);
  GQueue *queue;

  if (remote != NULL && G_IS_INET_SOCKET_ADDRESS (remote))
    conn->address = g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  if (conn->address == NULL)
    {
      conn_drop (conn);
      return;
    }
  queue = g_hash_table_lookup (self->waiting, conn->address);
  if (queue == NULL && handshake_claim (conn->address, self->limits->handshakes_per_address))
    {
      handshake_begin (self, conn);
      return;
    }
  if (queue == NULL)
    {
      queue = g_queue_new ();
      g_hash_table_insert (self->waiting, g_strdup (conn->address), queue);
    }
  g_queue_push_tail (queue, conn_ref (conn));
}

/* glib-networking waits for the client on a pool thread from the first
 * byte of a handshake: a client that connects and says little would hold
 * one. So the handshake starts only once the ClientHello's first record is
 * here whole; until then the socket is only polled, with SO_RCVLOWAT set
 * to what is missing so that a partial record does not wake us again.
 * (Only the first record: a ClientHello split across records, or a first
 * byte that is not a handshake record's, still starts it early.) */
#define TLS_HANDSHAKE_RECORD 0x16
#define TLS_RECORD_MAX (5 + 16384 + 2048)

static gsize
hello_missing (int fd)
{
  guint8 head[5];
  gssize n = recv (fd, head, sizeof head, MSG_PEEK | MSG_DONTWAIT);
  int here = 0;
  gsize need;

  if (n < (gssize) sizeof head)
    return sizeof head;
  if (head[0] != TLS_HANDSHAKE_RECORD)
    return 0;                    /* not TLS: the handshake will say so */
  need = sizeof head + ((gsize) head[3] << 8 | head[4]);
  if (need > TLS_RECORD_MAX || ioctl (fd, FIONREAD, &here) < 0 || (gsize) here >= need)
    return 0;
  return need;
}

/* Whether the socket's reading side is over: the client shut its side, or
 * the sweep shut ours. Readable then whatever SO_RCVLOWAT says, with the
 * record still short: polling on would spin. */
static gboolean
hello_ended (int fd)
{
  struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

  return poll (&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static gboolean
on_hello (GSocket      *socket,
          GIOCondition  condition,
          gpointer      user_data)
{
  Conn *conn = user_data;
  int fd = g_socket_get_fd (socket);
  char byte;
  gssize n = recv (fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  /* Closed or shut by the client, or by the sweep at the deadline. */
  gboolean over = n <= 0 || conn->listener == NULL || conn->shut;
  int lowat;

  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (!over && (lowat = hello_missing (fd)) > 0)
    {
      if (!hello_ended (fd))
        {
          setsockopt (fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
          return G_SOURCE_CONTINUE;
        }
      over = TRUE;               /* the rest will never come */
    }
  lowat = 1;
  setsockopt (fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
  g_clear_pointer (&conn->hello, g_source_unref);
  if (over)
    conn_drop (conn);
  else
    start_handshake (conn->listener, conn);
  return G_SOURCE_REMOVE;
}

static void
wait_for_hello (GwListener        *self,
                Conn              *conn,
                GSocketConnection *connection)
{
  conn->connection = g_object_ref (connection);
  conn->hello = g_socket_create_source (conn->socket, G_IO_IN, NULL);
  g_source_set_callback (conn->hello, (GSourceFunc) G_CALLBACK (on_hello), conn_ref (conn),
                         conn_unref);
  g_source_attach (conn->hello, self->context);
}

/* Accepting */

static void watch_start (GwListener *self);

static gboolean
on_retry (gpointer user_data)
{
  GwListener *self = user_data;

  g_clear_pointer (&self->retry, g_source_unref);
  watch_start (self);
  return G_SOURCE_REMOVE;
}

/* Stops accepting for ACCEPT_RETRY_MS: the kernel keeps the newcomers. */
static void
watch_pause (GwListener *self)
{
  if (self->watch != NULL)
    {
      g_source_destroy (self->watch);
      g_clear_pointer (&self->watch, g_source_unref);
    }
  if (self->retry != NULL)
    return;
  self->retry = g_timeout_source_new (ACCEPT_RETRY_MS);
  g_source_set_callback (self->retry, on_retry, self, NULL);
  g_source_attach (self->retry, self->context);
}

static void
accept_one (GwListener *self,
            GSocket    *socket,
            char       *peer)
{
  Conn *conn = g_rc_box_new0 (Conn);
  g_autoptr(GSocketConnection) connection = NULL;

  g_atomic_int_inc (&open_connections);
  conn->peer = peer;
  conn->listener = self;
  conn->socket = g_object_ref (socket);
  conn_progress (conn, STATE_WAITING);
  conn->acked_since = conn->since;
  g_hash_table_add (self->conns, conn);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  connection = g_socket_connection_factory_create_connection (socket);
  if (self->certificate != NULL)
    {
      /* The handshake's deadline counts from now. */
      conn_progress (conn, STATE_HANDSHAKE);
      wait_for_hello (self, conn, connection);
    }
  else
    hand_over (self, conn, G_IO_STREAM (connection));
}

static void
accept_failed (GwListener   *self,
               const GError *error)
{
  gint64 now = g_get_monotonic_time ();

  if (now - self->warned > G_USEC_PER_SEC * 10)
    {
      g_warning ("Cannot accept a connection: %s (%d open); trying again",
                 error->message, g_atomic_int_get (&open_connections));
      self->warned = now;
    }
  watch_pause (self);
}

/* Forgets the connections closed since the last sweep (libsoup closes one
 * after a "Connection: close" answer): at the cap, so that a client that
 * opens one connection per request does not meet it. */
static void
reap_closed (GwListener *self)
{
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (g_socket_is_closed (((Conn *) key)->socket))
      conn_forget (&iter, key);
}

static gboolean
at_cap (GwListener *self)
{
  return g_atomic_int_get (&open_connections) >= self->limits->max_connections;
}

/* The key of @socket's peer under connections_per_address ("" when it
 * has none to tell). */
static char *
peer_of (GSocket *socket)
{
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);
  g_autofree char *address = NULL;

  if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote))
    return g_strdup ("");
  address = g_inet_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  return gw_net_address_key (address);
}

/* Forgets @peer's connections that are over: closed by libsoup, or idle
 * with the client gone (as the sweep finds them, but now: a client that
 * closes its kept-alive connections and opens new ones at once would
 * otherwise meet its cap until the sweep). */
static void
reap_peer (GwListener *self,
           const char *peer)
{
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      Conn *conn = key;

      if (!g_str_equal (conn->peer, peer))
        continue;
      if (!g_socket_is_closed (conn->socket) && conn->state == STATE_WAITING &&
          onepin_soup_socket_gone (conn->socket))
        g_socket_close (conn->socket, NULL);
      if (g_socket_is_closed (conn->socket))
        conn_forget (&iter, conn);
    }
}

/* Takes a place for @socket's peer; when it has none left, after looking
 * once per wake-up (@reaped) for its connections that are over, closes
 * @socket. The peer's key, or NULL when refused. */
static char *
admit_peer (GwListener *self,
            GSocket    *socket,
            gboolean   *reaped)
{
  g_autofree char *peer = peer_of (socket);
  gint64 now;

  if (counts_claim (&peers, peer, self->limits->connections_per_address))
    return g_steal_pointer (&peer);
  if (!*reaped)
    {
      reap_peer (self, peer);
      *reaped = TRUE;
      if (counts_claim (&peers, peer, self->limits->connections_per_address))
        return g_steal_pointer (&peer);
    }
  g_socket_close (socket, NULL);
  g_atomic_int_inc (&refused_connections);
  now = g_get_monotonic_time ();
  if (now - self->warned_peer > G_USEC_PER_SEC * 10)
    {
      g_warning ("Refused a connection: its address already has %" G_GINT64_FORMAT
                 " open ([gateway] connections_per_address)",
                 self->limits->connections_per_address);
      self->warned_peer = now;
    }
  return NULL;
}

static gboolean
on_acceptable (GSocket      *listening,
               GIOCondition  condition,
               gpointer      user_data)
{
  GwListener *self = user_data;
  gboolean reaped = FALSE;
  gboolean peer_reaped = FALSE;

  for (guint i = 0; i < ACCEPT_BURST; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) socket = NULL;

      if (at_cap (self) && !reaped)
        {
          reap_closed (self);
          reaped = TRUE;
        }
      if (at_cap (self))
        {
          watch_pause (self);
          return G_SOURCE_CONTINUE;
        }
      socket = g_socket_accept (listening, NULL, &error);
      if (socket != NULL)
        {
          char *peer = admit_peer (self, socket, &peer_reaped);

          if (peer != NULL)
            accept_one (self, socket, peer);
          continue;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      /* Out of files (EMFILE, ENFILE) or memory: accepting again once some
       * are freed; any other failure gets the same short pause. */
      accept_failed (self, error);
      return G_SOURCE_CONTINUE;
    }
  return G_SOURCE_CONTINUE;
}

static void
watch_start (GwListener *self)
{
  if (self->watch != NULL)
    return;
  self->watch = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->watch, (GSourceFunc) G_CALLBACK (on_acceptable), self, NULL);
  g_source_attach (self->watch, self->context);
}

/* Deadlines */

static gint64
limit_for (GwListener *self,
           State       state)
{
  switch (state)
    {
    case STATE_HANDSHAKE:
      return self->limits->handshake_timeout;
    case STATE_WAITING:
      return self->limits->idle_timeout;
    case STATE_BODY:
      return self->limits->body_timeout;
    case STATE_HANDLING:
    default:
      return 0;
    }
}

/* Whether bytes written on @fd wait to be sent or acknowledged, and then
 * how many the client has acknowledged so far. Whatever libsoup or TLS
 * holds back is only held while the kernel's queue is full, so the queue
 * says it all. */
static gboolean
send_waiting (int      fd,
              guint64 *acked)
{
  struct tcp_info info = { 0 };
  socklen_t size = sizeof info;
  int queued = 0;

  if (ioctl (fd, SIOCOUTQ, &queued) < 0 || queued <= 0 ||
      getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &size) < 0)
    return FALSE;
  *acked = info.tcpi_bytes_acked;
  return TRUE;
}

/* Whether @conn's answer has waited send_timeout seconds for the client
 * without a byte taken. Progress is counted in bytes acknowledged, not in
 * the queue's length, which libsoup fills again as it drains. */
static gboolean
send_stalled (GwListener *self,
              Conn       *conn,
              gint64      now)
{
  guint64 acked = 0;

  if (!send_waiting (g_socket_get_fd (conn->socket), &acked) || acked != conn->acked)
    {
      conn->acked = acked;
      conn->acked_since = now;
      return FALSE;
    }
  return now - conn->acked_since > self->limits->send_timeout * G_USEC_PER_SEC;
}

/* Makes closing @socket reset the connection and drop what waits to be
 * sent, rather than leave the kernel offering it to the client for minutes. */
static void
send_abort_on_close (GSocket *socket)
{
  struct linger reset = { .l_onoff = 1, .l_linger = 0 };

  setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
}

/* Whether @conn is over: closed by libsoup, or by us at the sweep before. */
static gboolean
sweep_one (GwListener *self,
           Conn       *conn,
           gint64      now)
{
  gint64 limit = limit_for (self, conn->state);

  if (g_socket_is_closed (conn->socket))
    return TRUE;
  if (conn->shut)
    {
      g_socket_close (conn->socket, NULL);
      return TRUE;
    }
  /* A system call per idle connection each sweep; it keeps clients that
   * close after an answer (libsoup would leave them in CLOSE-WAIT) from
   * holding places under max_connections for long. */
  if (conn->state == STATE_WAITING && onepin_soup_socket_gone (conn->socket))
    conn->shut = TRUE;
  else if (limit > 0 && now - conn->since > limit * G_USEC_PER_SEC)
    {
      g_debug ("closing a connection after %" G_GINT64_FORMAT " s (state %d)", limit,
               conn->state);
      conn->shut = TRUE;
      if (conn->cancellable != NULL)
        g_cancellable_cancel (conn->cancellable);
    }
  else if (conn->state != STATE_HANDSHAKE && send_stalled (self, conn, now))
    {
      g_debug ("closing a connection whose client takes nothing for %" G_GINT64_FORMAT " s",
               self->limits->send_timeout);
      conn->shut = TRUE;
      send_abort_on_close (conn->socket);
    }
  if (conn->shut)
    g_socket_shutdown (conn->socket, TRUE, TRUE, NULL);
  return FALSE;
}

static gboolean
on_sweep (gpointer user_data)
{
  GwListener *self = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autofree gpointer *addresses = NULL;
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (sweep_one (self, key, now))
      conn_forget (&iter, key);
  /* Places another thread freed, and waiting connections now over. */
  addresses = g_hash_table_get_keys_as_array (self->waiting, NULL);
  for (guint i = 0; addresses[i] != NULL; i++)
    {
      g_autofree char *address = g_strdup (addresses[i]);

      handshakes_resume (self, address);
    }
  return G_SOURCE_CONTINUE;
}

/* A queue of connections waiting for a handshake place: closed with it. */
static void
waiting_free (gpointer data)
{
  GQueue *queue = data;
  Conn *conn;

  while ((conn = g_queue_pop_head (queue)) != NULL)
    {
      conn_drop (conn);
      conn_unref (conn);
    }
  g_queue_free (queue);
}

/* libsoup 3.2 keeps a connection alive after an answer only while the
 * server has a listener of its own (request_finished () in soup-server.c).
 * So it gets one that never accepts anyone: one end of a socket pair whose
 * other end we hold and never write to. */
static GSocket *
anchor_keep_alive (SoupServer  *soup,
                   GError     **error)
{
  int fds[2];
  g_autoptr(GSocket) near = NULL;
  g_autoptr(GSocket) far = NULL;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot make a socket pair: %s", g_strerror (saved));
      return NULL;
    }
  near = g_socket_new_from_fd (fds[0], error);
  if (near == NULL)
    close (fds[0]);
  far = g_socket_new_from_fd (fds[1], near != NULL ? error : NULL);
  if (far == NULL)
    close (fds[1]);
  if (near == NULL || far == NULL || !soup_server_listen_socket (soup, near, 0, error))
    return NULL;
  return g_steal_pointer (&far);
}

GwListener *
gw_listener_new (SoupServer             *soup,
                 GSocket                *socket,
                 GTlsCertificate        *certificate,
                 const GwListenerLimits *limits,
                 GError                **error)
{
  g_autoptr(GSocket) anchor = anchor_keep_alive (soup, error);
  GwListener *self;

  if (anchor == NULL)
    return NULL;
  self = g_new0 (GwListener, 1);
  self->soup = g_object_ref (soup);
  self->socket = g_object_ref (socket);
  self->certificate = certificate ? g_object_ref (certificate) : NULL;
  self->limits = limits;
  self->context = g_main_context_ref_thread_default ();
  self->anchor = g_steal_pointer (&anchor);
  self->conns = g_hash_table_new_full (g_direct_hash, g_direct_equal, conn_unref, NULL);
  self->waiting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, waiting_free);
  g_socket_set_blocking (socket, FALSE);
  g_signal_connect (soup, "request-started", G_CALLBACK (on_request_started), NULL);
  g_signal_connect (soup, "request-read", G_CALLBACK (on_request_read), NULL);
  g_signal_connect (soup, "request-finished", G_CALLBACK (on_request_over), NULL);
  g_signal_connect (soup, "request-aborted", G_CALLBACK (on_request_over), NULL);
  self->sweep = g_timeout_source_new (SWEEP_MS);
  g_source_set_callback (self->sweep, on_sweep, self, NULL);
  g_source_attach (self->sweep, self->context);
  watch_start (self);
  return self;
}

void
gw_listener_free (GwListener *self)
{
  GHashTableIter iter;
  gpointer key;

  if (self == NULL)
    return;
  if (self->watch != NULL)
    g_source_destroy (self->watch);
  if (self->retry != NULL)
    g_source_destroy (self->retry);
  g_source_destroy (self->sweep);
  g_clear_pointer (&self->watch, g_source_unref);
  g_clear_pointer (&self->retry, g_source_unref);
  g_clear_pointer (&self->sweep, g_source_unref);

  /* Handshakes under way end now; libsoup's connections are the server's
   * to close (soup_server_disconnect ()). */
  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      Conn *conn = key;

      conn->listener = NULL;
      if (conn->cancellable != NULL)
        g_cancellable_cancel (conn->cancellable);
      if (conn->hello != NULL)
        {
          g_source_destroy (conn->hello);
          g_clear_pointer (&conn->hello, g_source_unref);
          conn_drop (conn);
        }
      conn_count_out (conn);
    }
  g_hash_table_unref (self->waiting);
  g_hash_table_unref (self->conns);
  g_signal_handlers_disconnect_by_func (self->soup, on_request_started, NULL);
  g_signal_handlers_disconnect_by_func (self->soup, on_request_read, NULL);
  g_signal_handlers_disconnect_by_func (self->soup, on_request_over, NULL);
  g_socket_close (self->socket, NULL);
  g_object_unref (self->socket);
  g_object_unref (self->anchor);
  g_clear_object (&self->certificate);
  g_object_unref (self->soup);
  g_main_context_unref (self->context);
  g_free (self);
}
