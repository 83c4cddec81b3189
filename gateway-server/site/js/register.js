/* register.js: registering a card's password, which activates it (FIG. 10E)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

(function () {
  const form = document.getElementById ('register-form');

  Site.form (form, async () => {
    const hint = form.elements.hint.value.trim ();
    const body = Site.cardCredentials (form);
    body.locale = Site.lang;   /* the card's profile language until its holder chooses one */
    if (hint !== '')
      body.hint = hint;
    const card = await Site.api ('/v1/cards/register', body);
    Site.setText (document.getElementById ('registered-text'), 'register.done_text',
                  { last4: card.card_last4 });
    Site.showResult (form, document.getElementById ('registered'));
  });
}) ();
