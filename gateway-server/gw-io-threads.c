/* gw-io-threads.c: HTTP input and output on threads of their own
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A request crosses threads twice. Read whole on an I/O thread, it is
 * paused there and noted; once the thread is back in its main loop (libsoup
 * is done looking at the message), what it read goes to the main context
 * through a queue. The main context runs the handler, which sets the
 * answer's status, headers and body, and gives the message back
 * (gw_io_threads_resume): the I/O thread unpauses it and writes the answer.
 *
 * The main thread only ever reads the request and sets the answer's fields,
 * between the pause and the hand-back, and each hand-over goes through a
 * queue's lock, which orders the two threads' accesses. It never calls into
 * libsoup's I/O: soup_server_message_unpause () attaches a source to the
 * message's own context before it records it, so from another thread the
 * I/O thread can run it, finish the message and free its state first.
 * Nor does it drop the last reference to a message: a message is finalized
 * on its I/O thread, where libsoup's connection objects watch its signals.
 */
#include "gw-io-threads.h"
#include "gw-http-fallback.h"
#include "gw-wait.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

/* A queue between threads: a lock, an array, and a GSource on the receiving
 * context that takes the array whole and hands each item to @func. */
typedef struct
{
  GSource         source;
  GMutex          lock;
  GPtrArray      *items;
  GFunc           func;
  gpointer        user_data;
  GDestroyNotify  item_free;     /* for what is left when the queue goes */
} Queue;

static gboolean
queue_ready (GSource *source,
             gint    *timeout)
{
  Queue *queue = (Queue *) source;
  gboolean ready;

  if (timeout != NULL)
    *timeout = -1;
  g_mutex_lock (&queue->lock);
  ready = queue->items->len > 0;
  g_mutex_unlock (&queue->lock);
  return ready;
}

static gboolean
queue_check (GSource *source)
{
  return queue_ready (source, NULL);
}

static gboolean
queue_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  Queue *queue = (Queue *) source;
  g_autoptr(GPtrArray) items = NULL;

  g_mutex_lock (&queue->lock);
  items = g_steal_pointer (&queue->items);
  queue->items = g_ptr_array_new ();
  g_mutex_unlock (&queue->lock);

  g_ptr_array_foreach (items, queue->func, queue->user_data);
  return G_SOURCE_CONTINUE;
}

static void
queue_finalize (GSource *source)
{
  Queue *queue = (Queue *) source;

  g_ptr_array_set_free_func (queue->items, queue->item_free);
  g_ptr_array_unref (queue->items);
  g_mutex_clear (&queue->lock);
}

static GSourceFuncs queue_funcs = {
  .prepare = queue_ready,
  .check = queue_check,
  .dispatch = queue_dispatch,
  .finalize = queue_finalize,
};

static Queue *
queue_new (GMainContext   *context,
           GFunc           func,
           gpointer        user_data,
           GDestroyNotify  item_free)
{
  Queue *queue = (Queue *) g_source_new (&queue_funcs, sizeof (Queue));

  g_mutex_init (&queue->lock);
  queue->items = g_ptr_array_new ();
  queue->func = func;
  queue->user_data = user_data;
  queue->item_free = item_free;
  g_source_attach (&queue->source, context);
  return queue;
}

static void
queue_free (Queue *queue)
{
  g_source_destroy (&queue->source);
  g_source_unref (&queue->source);
}

/* From any thread: one lock, and one wake-up when the receiving context may
 * be asleep (the queue was empty). */
static void
queue_post (Queue   *queue,
            gpointer item)
{
  gboolean was_empty;

  g_mutex_lock (&queue->lock);
  was_empty = queue->items->len == 0;
  g_ptr_array_add (queue->items, item);
  g_mutex_unlock (&queue->lock);
  if (was_empty)
    g_main_context_wakeup (g_source_get_context (&queue->source));
}

/* The threads */

typedef struct
{
  SoupServerMessage *msg;
  char              *path;
  GHashTable        *query;
} Handoff;

typedef struct
{
  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;
  SoupServer   *soup;
  GwListener   *listener;
  GPtrArray    *pending;         /* Handoff: read in this loop iteration */
  GSource      *flush;           /* sends @pending on, in the next one */
  Queue        *releases;        /* messages the main context is done with */
  Queue        *requests;        /* the main context's queue */
  gint          active;          /* requests read and not yet answered (atomic) */
} Worker;

struct _GwIoThreads
{
  GMainContext *main_context;
  Queue        *requests;        /* Handoff */
  GPtrArray    *workers;         /* Worker */
  SoupServerCallback early;
  const GwListenerLimits *limits;
  GwIoRequestFunc func;
  gpointer      user_data;
};

static GQuark
worker_quark (void)
{
  return g_quark_from_static_string ("gw-io-thread");
}

void
gw_io_threads_release (SoupServerMessage *msg)
{
  Worker *worker = g_object_get_qdata (G_OBJECT (msg), worker_quark ());

  if (worker != NULL)
    queue_post (worker->releases, msg);
  else
    g_object_unref (msg);
}

/* Marks a message given back by gw_io_threads_resume (): its thread
 * unpauses it before letting it go. */
static GQuark
resume_quark (void)
{
  return g_quark_from_static_string ("gw-io-resume");
}

void
gw_io_threads_resume (SoupServerMessage *msg)
{
  Worker *worker = g_object_get_qdata (G_OBJECT (msg), worker_quark ());

  if (worker == NULL)
    {
      soup_server_message_unpause (msg);
      g_object_unref (msg);
      return;
    }
  g_object_set_qdata (G_OBJECT (msg), resume_quark (), GINT_TO_POINTER (1));
  queue_post (worker->releases, msg);
}

static void
handoff_free (gpointer data)
{
  Handoff *handoff = data;

  gw_io_threads_release (handoff->msg);
  g_free (handoff->path);
  g_clear_pointer (&handoff->query, g_hash_table_unref);
  g_free (handoff);
}

/* On the main context. */
static void
serve_handoff (gpointer data,
               gpointer user_data)
{
  Handoff *handoff = data;
  GwIoThreads *self = user_data;

  self->func (handoff->msg, handoff->path, handoff->query, self->user_data);
  handoff_free (handoff);
}

/* On an I/O thread: the main context is done with @data. */
static void
release_message (gpointer data,
                 gpointer user_data)
{
  SoupServerMessage *msg = data;

  if (g_object_steal_qdata (G_OBJECT (msg), resume_quark ()) != NULL)
    soup_server_message_unpause (msg);
  g_object_unref (msg);
}

/* A source that is ready when its ready time says so, and nothing else. */
static gboolean
flush_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs flush_funcs = {
  .dispatch = flush_dispatch,
};

/* Runs inside libsoup on the I/O thread, which still looks at the message
 * after this returns: so it is only noted here, and handed over by the flush
 * source once the thread is back in its loop. */
static void
worker_request (SoupServer        *soup,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  Worker *worker = user_data;
  Handoff *handoff = g_new0 (Handoff, 1);

  soup_server_message_pause (msg);
  /* Looked up lazily by libsoup, and cached in the message and its
   * connection: done here, so that the main context only reads it. */
  soup_server_message_get_remote_host (msg);
  g_object_set_qdata (G_OBJECT (msg), worker_quark (), worker);
  g_atomic_int_inc (&worker->active);
  handoff->msg = g_object_ref (msg);
  handoff->path = g_strdup (path);
  handoff->query = query ? g_hash_table_ref (query) : NULL;
  g_ptr_array_add (worker->pending, handoff);
  g_source_set_ready_time (worker->flush, 0);
}

static gboolean
worker_flush (gpointer user_data)
{
  Worker *worker = user_data;

  for (guint i = 0; i < worker->pending->len; i++)
    queue_post (worker->requests, g_ptr_array_index (worker->pending, i));
  g_ptr_array_set_size (worker->pending, 0);
  g_source_set_ready_time (worker->flush, -1);
  return G_SOURCE_CONTINUE;
}

/* "request-finished" and "request-aborted": answered, or given up on. */
static void
worker_request_over (SoupServer        *soup,
                     SoupServerMessage *msg,
                     gpointer           user_data)
{
  Worker *worker = user_data;

  if (g_object_get_qdata (G_OBJECT (msg), worker_quark ()) == worker)
    g_atomic_int_dec_and_test (&worker->active);
}

static gpointer
worker_main (gpointer data)
{
  Worker *worker = data;

  g_main_context_push_thread_default (worker->context);
  g_main_loop_run (worker->loop);
  g_main_context_pop_thread_default (worker->context);
  return NULL;
}

static gboolean
worker_quit (gpointer data)
{
  Worker *worker = data;

  g_clear_pointer (&worker->listener, gw_listener_free);
  soup_server_disconnect (worker->soup);
  g_main_loop_quit (worker->loop);
  return G_SOURCE_REMOVE;
}

static void
worker_free (gpointer data)
{
  Worker *worker = data;

  /* The thread is gone: what it still held is let go of here. */
  if (worker->flush != NULL)
    {
      g_source_destroy (worker->flush);
      g_source_unref (worker->flush);
    }
  if (worker->pending != NULL)
    {
      g_ptr_array_set_free_func (worker->pending, handoff_free);
      g_ptr_array_unref (worker->pending);
    }
  if (worker->listener != NULL)
    {
      /* Never started: its sources are on the worker's context. */
      g_main_context_push_thread_default (worker->context);
      g_clear_pointer (&worker->listener, gw_listener_free);
      g_main_context_pop_thread_default (worker->context);
    }
  g_clear_object (&worker->soup);
  g_clear_pointer (&worker->releases, queue_free);
  g_clear_pointer (&worker->loop, g_main_loop_unref);
  g_clear_pointer (&worker->context, g_main_context_unref);
  g_free (worker);
}

/* Sockets */

/* One listening socket, which every thread watches through a descriptor
 * of its own: a connection goes to the thread whose accept () takes it
 * first (the others get EAGAIN). Not one socket per thread with
 * SO_REUSEPORT: then a second gateway of the same user could bind the port
 * too, and the kernel would quietly give it half the connections. */
static GSocket *
listening_socket (GSocketAddress  *address,
                  GError         **error)
{
  struct sockaddr_storage native;
  gsize len = g_socket_address_get_native_size (address);
  int one = 1;
  int fd;
  GSocket *listener;

  if (!g_socket_address_to_native (address, &native, sizeof native, error))
    return NULL;
  fd = socket (native.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind (fd, (struct sockaddr *) &native, len) < 0 ||
      /* A deep accept queue: a crowd of clients arriving at once is not
       * turned away. */
      listen (fd, 1024) < 0)
    {
      int saved = errno;
      g_autofree char *where = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));

      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot listen on %s: %s", where, g_strerror (saved));
      return NULL;
    }
  listener = g_socket_new_from_fd (fd, error);
  if (listener == NULL)
    close (fd);
  return listener;
}

/* The first thread's socket fixes the port (@address may ask for any); the
 * others watch the same socket, each through its own descriptor. */
static GSocket *
next_socket (GSocketAddress  *address,
             GSocket         *first,
             GError         **error)
{
  int fd;
  GSocket *socket;

  if (first == NULL)
    return listening_socket (address, error);
  fd = fcntl (g_socket_get_fd (first), F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot share the listening socket: %s", g_strerror (saved));
      return NULL;
    }
  socket = g_socket_new_from_fd (fd, error);
  if (socket == NULL)
    close (fd);
  return socket;
}

static Worker *
worker_new (GwIoThreads      *self,
            GSocket          *socket,
            GTlsCertificate  *certificate,
            GError          **error)
{
  Worker *worker = g_new0 (Worker, 1);

  worker->context = g_main_context_new ();
  worker->loop = g_main_loop_new (worker->context, FALSE);
  worker->pending = g_ptr_array_new ();
  worker->requests = self->requests;
  worker->releases = queue_new (worker->context, release_message, NULL, g_object_unref);
  worker->flush = g_source_new (&flush_funcs, sizeof (GSource));
  g_source_set_callback (worker->flush, worker_flush, worker, NULL);
  g_source_set_ready_time (worker->flush, -1);
  g_source_attach (worker->flush, worker->context);

  /* libsoup attaches its sources to the thread-default context. */
  g_main_context_push_thread_default (worker->context);
  worker->soup = soup_server_new ("server-header", "onepin-gateway", NULL);
  gw_http_fallback_attach (worker->soup);
  if (self->early != NULL)
    soup_server_add_early_handler (worker->soup, NULL, self->early, self->user_data, NULL);
  soup_server_add_handler (worker->soup, NULL, worker_request, worker, NULL);
  g_signal_connect (worker->soup, "request-finished", G_CALLBACK (worker_request_over), worker);
  g_signal_connect (worker->soup, "request-aborted", G_CALLBACK (worker_request_over), worker);
  /* Accepted by us, not by libsoup (gw-listener.c). */
  worker->listener = gw_listener_new (worker->soup, socket, certificate, self->limits, error);
  g_main_context_pop_thread_default (worker->context);
  if (worker->listener == NULL)
    {
      worker_free (worker);
      return NULL;
    }
  return worker;
}

GwIoThreads *
gw_io_threads_start (guint               n_threads,
                     GSocketAddress     *address,
                     GTlsCertificate    *certificate,
                     const GwListenerLimits *limits,
                     SoupServerCallback  early,
                     GwIoRequestFunc     func,
                     gpointer            user_data,
                     char              **url,
                     GError            **error)
{
  GwIoThreads *self = g_new0 (GwIoThreads, 1);
  g_autoptr(GSocket) first = NULL;
  g_return_val_if_fail (n_threads > 0, NULL);

  self->main_context = g_main_context_ref_thread_default ();
  self->early = early;
  self->limits = limits;
  self->func = func;
  self->user_data = user_data;
  self->requests = queue_new (self->main_context, serve_handoff, self, handoff_free);
  self->workers = g_ptr_array_new_with_free_func (worker_free);

  for (guint i = 0; i < n_threads; i++)
    {
      g_autoptr(GSocket) socket = next_socket (address, first, error);
      Worker *worker;

      if (socket == NULL || (worker = worker_new (self, socket, certificate, error)) == NULL)
        {
          gw_io_threads_stop (self);
          return NULL;
        }
      g_ptr_array_add (self->workers, worker);
      if (first == NULL)
        first = g_object_ref (socket);
    }

  *url = gw_listener_url (first, certificate != NULL, error);
  if (*url == NULL)
    {
      gw_io_threads_stop (self);
      return NULL;
    }

  for (guint i = 0; i < self->workers->len; i++)
    {
      Worker *worker = g_ptr_array_index (self->workers, i);
      g_autofree char *name = g_strdup_printf ("gw-http-%u", i);

      worker->thread = g_thread_new (name, worker_main, worker);
    }
  return self;
}

static gboolean
none_active (gpointer data)
{
  GwIoThreads *self = data;

  for (guint i = 0; i < self->workers->len; i++)
    if (g_atomic_int_get (&((Worker *) g_ptr_array_index (self->workers, i))->active) > 0)
      return FALSE;
  return TRUE;
}

void
gw_io_threads_stop (GwIoThreads *self)
{
  if (self == NULL)
    return;

  /* Answers already given are written out first: they are on their threads'
   * queues, or being written. Requests still arriving are served meanwhile
   * (the server answers them 503 while it drains). */
  gw_wait_until (self->main_context, 5, none_active, self);

  for (guint i = 0; i < self->workers->len; i++)
    {
      Worker *worker = g_ptr_array_index (self->workers, i);

      if (worker->thread == NULL)
        continue;
      g_main_context_invoke (worker->context, worker_quit, worker);
      g_thread_join (g_steal_pointer (&worker->thread));
    }
  /* The threads are gone: what they still held (requests read and not
   * handled, messages given back) is let go of here. */
  g_clear_pointer (&self->requests, queue_free);
  g_ptr_array_unref (self->workers);
  g_main_context_unref (self->main_context);
  g_free (self);
}
