/* profile.js: changing the card holder's information
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * POST /v1/cards/profile with only the card's number and password reads
 * the information; with fields it changes them ("" clears one). Name,
 * phone, e-mail, how receipts are sent and in which language. Never a
 * resident registration number.
 */
'use strict';

(function () {
  const cardForm = document.getElementById ('card-form');
  const form = document.getElementById ('profile-form');
  const sections = [document.getElementById ('step-card'), document.getElementById ('step-profile')];
  const FIELDS = ['name', 'phone', 'email'];

  let credentials = null;     /* in memory between the two steps only */

  window.addEventListener ('pagehide', () => { credentials = null; });

  function show (index) {
    sections.forEach ((section, i) => { section.hidden = i !== index; });
    Site.focusHeading (sections[index]);
  }

  function fill (profile) {
    for (const name of FIELDS)
      form.elements[name].value = profile[name] || '';
    for (const name of ['receipts', 'locale']) {
      const radio = form.querySelector (`input[name="${name}"][value="${profile[name]}"]`);
      if (radio)
        radio.checked = true;
    }
    Site.setText (document.getElementById ('pf-heading'), 'profile.of_card',
                  { last4: profile.card_last4 });
  }

  Site.form (cardForm, async () => {
    credentials = Site.cardCredentials (cardForm);
    const profile = await Site.api ('/v1/cards/profile', credentials);
    cardForm.reset ();
    fill (profile);
    show (1);
  });

  Site.form (form, async () => {
    const body = Object.assign ({}, credentials);
    for (const name of FIELDS)
      body[name] = form.elements[name].value.trim ();
    for (const name of ['receipts', 'locale']) {
      const chosen = form.querySelector (`input[name="${name}"]:checked`);
      if (chosen)
        body[name] = chosen.value;
    }
    const profile = await Site.api ('/v1/cards/profile', body);
    fill (profile);
    Site.setText (form.querySelector ('.form-ok'), 'profile.done', { last4: profile.card_last4 });
  });

  document.getElementById ('other-card').addEventListener ('click', () => {
    credentials = null;
    form.reset ();
    show (0);
  });
}) ();
