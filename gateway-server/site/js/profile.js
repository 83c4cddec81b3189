/* profile.js: changing the card holder's information
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Name, phone, e-mail and address, for receipts and points. Never a
 * resident registration number.
 */
'use strict';

(function () {
  const form = document.getElementById ('profile-form');
  const FIELDS = ['name', 'phone', 'email', 'postal_code', 'address', 'address2'];

  Site.form (form, async () => {
    const body = Site.cardCredentials (form);
    for (const name of FIELDS) {
      const value = form.elements[name].value.trim ();
      if (value !== '')
        body[name] = value;
    }
    const answer = await Site.api ('/v1/cards/profile', body);
    form.elements.number.value = '';
    form.elements.password.value = '';
    Site.setText (form.querySelector ('.form-ok'), 'profile.done',
                  { last4: answer.card_last4 });
    form.querySelector ('.form-ok').scrollIntoView ({ block: 'nearest' });
  });
}) ();
