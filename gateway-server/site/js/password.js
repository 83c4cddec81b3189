/* password.js: changing a card's password and hint
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

(function () {
  const form = document.getElementById ('password-form');

  Site.offerHint (form);
  Site.form (form, async () => {
    const body = Site.cardCredentials (form);
    const hint = form.elements.hint.value.trim ();
    body.new_password = form.elements.new_password.value;
    if (hint !== '')
      body.hint = hint;
    const card = await Site.api ('/v1/cards/password', body);
    form.reset ();
    Site.setText (form.querySelector ('.form-ok'), 'password.done', { last4: card.card_last4 });
  });
}) ();
