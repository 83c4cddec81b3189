/* ow-toast-overlay.c: the main window's toasts, one at a time
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Why not AdwToastOverlay: libadwaita 1.2 (Debian 12 has 1.2.2) frees a
 * toast that is dismissed while it still slides in, and then runs the end
 * of that slide on the freed toast (fixed upstream by "toast-overlay:
 * Prevent show_done from firing after hide_done", 1.3). A toast that comes
 * up in the place of another slides in for 0.5 s, and the lock dismisses
 * every toast: a lock in that half second crashed the wallet. Its toasts
 * also fade out for 0.3 s, which over the unlock page means a merchant and
 * a sum still on the screen of a locked wallet.
 *
 * So: a GtkRevealer over the content, drawn as a toast (style.css), a
 * queue of messages behind it, and a clear that hides it with no
 * transition at all.
 */
#include "ow-toast-overlay.h"

/* How long a toast stays by itself, as AdwToast's default. */
#define TOAST_SECONDS 5

struct _OwToastOverlay
{
  GtkWidget    parent_instance;

  GtkOverlay  *overlay;
  GtkRevealer *revealer;
  GtkLabel    *label;

  GQueue       waiting;         /* char*: to show after the one showing */
  guint        timeout_id;
};

G_DEFINE_FINAL_TYPE (OwToastOverlay, ow_toast_overlay, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_CHILD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
is_idle (OwToastOverlay *self)
{
  return !gtk_revealer_get_reveal_child (self->revealer) &&
         !gtk_revealer_get_child_revealed (self->revealer);
}

static gboolean
on_timeout (gpointer data)
{
  OwToastOverlay *self = data;

  self->timeout_id = 0;
  gtk_revealer_set_reveal_child (self->revealer, FALSE);
  return G_SOURCE_REMOVE;
}

static void
show_next (OwToastOverlay *self)
{
  g_autofree char *message = g_queue_pop_head (&self->waiting);

  if (message == NULL)
    return;
  gtk_label_set_text (self->label, message);
  gtk_revealer_set_reveal_child (self->revealer, TRUE);
  self->timeout_id = g_timeout_add_seconds (TOAST_SECONDS, on_timeout, self);
}

/* The one showing is hidden (its time is up, or closed): the next one. */
static void
on_child_revealed (OwToastOverlay *self)
{
  /* dispose_template clears our pointers before the revealer goes */
  if (self->revealer == NULL || !is_idle (self))
    return;
  gtk_label_set_text (self->label, "");
  show_next (self);
}

static void
on_close_clicked (OwToastOverlay *self)
{
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  gtk_revealer_set_reveal_child (self->revealer, FALSE);
}

GtkWidget *
ow_toast_overlay_get_child (OwToastOverlay *self)
{
  g_return_val_if_fail (OW_IS_TOAST_OVERLAY (self), NULL);
  return gtk_overlay_get_child (self->overlay);
}

void
ow_toast_overlay_set_child (OwToastOverlay *self,
                            GtkWidget      *child)
{
  g_return_if_fail (OW_IS_TOAST_OVERLAY (self));

  if (gtk_overlay_get_child (self->overlay) == child)
    return;
  gtk_overlay_set_child (self->overlay, child);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHILD]);
}

void
ow_toast_overlay_add (OwToastOverlay *self,
                      const char     *message)
{
  g_return_if_fail (OW_IS_TOAST_OVERLAY (self));
  g_return_if_fail (message != NULL);

  g_queue_push_tail (&self->waiting, g_strdup (message));
  if (is_idle (self))
    show_next (self);
}

void
ow_toast_overlay_clear (OwToastOverlay *self)
{
  g_return_if_fail (OW_IS_TOAST_OVERLAY (self));

  g_queue_clear_full (&self->waiting, g_free);
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  gtk_label_set_text (self->label, "");
  gtk_revealer_set_reveal_child (self->revealer, FALSE);
  /* An unmapped revealer ends its transition at once, sliding in or out,
   * and stops its animation: hiding it is the way to skip the slide. */
  gtk_widget_set_visible (GTK_WIDGET (self->revealer), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->revealer), TRUE);
}

static void
ow_toast_overlay_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  OwToastOverlay *self = OW_TOAST_OVERLAY (object);

  switch (prop_id)
    {
    case PROP_CHILD:
      g_value_set_object (value, ow_toast_overlay_get_child (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ow_toast_overlay_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  OwToastOverlay *self = OW_TOAST_OVERLAY (object);

  switch (prop_id)
    {
    case PROP_CHILD:
      ow_toast_overlay_set_child (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ow_toast_overlay_dispose (GObject *object)
{
  OwToastOverlay *self = OW_TOAST_OVERLAY (object);

  g_queue_clear_full (&self->waiting, g_free);
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), OW_TYPE_TOAST_OVERLAY);

  G_OBJECT_CLASS (ow_toast_overlay_parent_class)->dispose (object);
}

static void
ow_toast_overlay_class_init (OwToastOverlayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = ow_toast_overlay_get_property;
  object_class->set_property = ow_toast_overlay_set_property;
  object_class->dispose = ow_toast_overlay_dispose;

  properties[PROP_CHILD] =
    g_param_spec_object ("child", NULL, NULL, GTK_TYPE_WIDGET,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/onepin/Wallet/ui/ow-toast-overlay.ui");
  /* ids of their own: ow-test-ui.c finds widgets by id across windows */
  gtk_widget_class_bind_template_child_full (widget_class, "toast_overlay_content", FALSE,
                                             G_STRUCT_OFFSET (OwToastOverlay, overlay));
  gtk_widget_class_bind_template_child_full (widget_class, "toast_revealer", FALSE,
                                             G_STRUCT_OFFSET (OwToastOverlay, revealer));
  gtk_widget_class_bind_template_child_full (widget_class, "toast_label", FALSE,
                                             G_STRUCT_OFFSET (OwToastOverlay, label));
  gtk_widget_class_bind_template_callback (widget_class, on_child_revealed);
  gtk_widget_class_bind_template_callback (widget_class, on_close_clicked);
}

static void
ow_toast_overlay_init (OwToastOverlay *self)
{
  g_queue_init (&self->waiting);
  gtk_widget_init_template (GTK_WIDGET (self));
}
