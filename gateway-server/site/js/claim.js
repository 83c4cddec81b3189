/* claim.js: opening a gift from its e-mail link, once
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The link carries the claim token in the URL's fragment, which browsers
 * never send to a server or in a Referer. The page takes it, removes it
 * from the address bar and history at once, and spends it only when the
 * recipient presses "Open the gift" (a mail scanner fetching the link
 * claims nothing). The card number is then shown once, and registering a
 * password activates the card.
 */
'use strict';

(function () {
  const start = document.getElementById ('claim-start');
  const giftSection = document.getElementById ('claim-gift');
  const done = document.getElementById ('claim-done');
  const openButton = document.getElementById ('claim-open');
  const error = document.getElementById ('claim-error');
  const registerForm = document.getElementById ('claim-register');

  function takeToken () {
    const fragment = location.hash.replace (/^#/, '');
    if (fragment !== '')
      history.replaceState (null, '', location.pathname + location.search);
    const params = new URLSearchParams (fragment);
    const token = params.get ('token') || params.get ('t') || (fragment.includes ('=') ? '' : fragment);
    return /^[A-Za-z0-9_-]{16,200}$/.test (token) ? token : null;
  }

  let token = takeToken ();
  let claimed = null;

  window.addEventListener ('pagehide', () => { token = null; claimed = null; });

  if (token === null) {
    Site.setText (error, 'claim.no_token');
    openButton.hidden = true;
  }

  function showGift () {
    document.getElementById ('claim-card').replaceChildren (Site.giftCard (claimed));
    const music = document.getElementById ('claim-music');
    music.replaceChildren ();
    if (claimed.music && claimed.music !== 'none' && Site.music.TUNES.includes (claimed.music))
      music.append (Site.el ('span', { i18n: ['claim.music', { tune: { key: 'music.' + claimed.music } }] }),
                    ' ', Site.music.button (() => claimed.music));
    Site.setText (document.getElementById ('claim-value'), 'claim.value',
                  { amount: { money: claimed.amount, currency: claimed.currency } });
    const number = document.getElementById ('claim-number');
    number.textContent = Site.formatCard (claimed.number);
    Site.secret (number);
    Site.guardLeaving (true);
    start.hidden = true;
    giftSection.hidden = false;
    Site.focusHeading (giftSection);
  }

  openButton.addEventListener ('click', async () => {
    openButton.disabled = true;
    Site.setText (error, null);
    try {
      /* With an Idempotency-Key, a retry after a lost answer gets the
       * card back instead of "already claimed". */
      claimed = await Site.post ('claim', '/v1/gifts/claim', { token });
      token = null;
      showGift ();
    } catch (err) {
      Site.setText (error, Site.errorKey (err));
      /* Only a request that got no definite answer may be tried again. */
      openButton.disabled = !(err.status === 0 || err.status >= 500);
      if (!openButton.disabled)
        openButton.focus ();
    }
  });

  Site.form (registerForm, async () => {
    const hint = registerForm.elements.hint.value.trim ();
    const body = { number: claimed.number, password: registerForm.elements.password.value };
    if (hint !== '')
      body.hint = hint;
    const card = await Site.api ('/v1/cards/register', body);
    Site.guardLeaving (false);
    Site.setText (document.getElementById ('claim-done-text'), 'register.done_text',
                  { last4: card.card_last4 });
    Site.showResult (registerForm, done);
  });
}) ();
