/* claim.js: opening a gift from its e-mail link, once
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The link carries the claim token in the URL's fragment, which browsers
 * never send to a server or in a Referer. The page takes it, removes it
 * from the address bar and history at once, shows the gift (without its
 * number), and spends the token only when the recipient presses "Open the
 * gift", so a mail scanner fetching the link claims nothing. The card
 * number is then shown once, and registering a password activates it.
 */
'use strict';

(function () {
  const start = document.getElementById ('claim-start');
  const reveal = document.getElementById ('claim-gift');
  const done = document.getElementById ('claim-done');
  const openButton = document.getElementById ('claim-open');
  const error = document.getElementById ('claim-error');
  const status = document.getElementById ('claim-status');
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
  let number = null;

  window.addEventListener ('pagehide', () => { token = null; number = null; });

  /* A gift link's own errors, in words for its recipient. */
  function claimError (err) {
    const param = err.error && err.error.param;
    if (err.status === 404 || (err.status === 400 && param === 'token'))
      return 'claim.not_found';
    return Site.errorKey (err);
  }

  function showGift (gift) {
    document.getElementById ('claim-card').replaceChildren (Site.giftCard (gift));
    const music = document.getElementById ('claim-music');
    music.replaceChildren ();
    if (gift.music && Site.music.TUNES.includes (gift.music) && gift.music !== 'none')
      music.append (Site.el ('span', { i18n: ['claim.music', { tune: { key: 'music.' + gift.music } }] }),
                    ' ', Site.music.button (() => gift.music));
    Site.setText (document.getElementById ('claim-value'), 'claim.value',
                  { amount: { money: gift.amount, currency: gift.currency } });
  }

  async function preview () {
    Site.setText (status, 'claim.loading');
    try {
      const gift = await Site.api ('/v1/gifts/preview', { token });
      showGift (gift);
      if (gift.status === 'claimed') {
        Site.setText (error, 'api.code.gift_already_claimed');
        token = null;
      } else {
        openButton.hidden = false;
      }
    } catch (err) {
      Site.setText (error, claimError (err));
    } finally {
      Site.setText (status, null);
    }
  }

  openButton.addEventListener ('click', async () => {
    openButton.disabled = true;
    Site.setText (error, null);
    try {
      /* With an Idempotency-Key, a retry after a lost answer gets the card
       * back instead of "already claimed". */
      const gift = await Site.post ('claim', '/v1/gifts/claim', { token });
      token = null;
      number = gift.card_number;
      const shown = document.getElementById ('claim-number');
      shown.textContent = Site.formatCard (number);
      Site.secret (shown);
      Site.guardLeaving (true);
      openButton.hidden = true;
      reveal.hidden = false;
      Site.focusHeading (reveal);
    } catch (err) {
      Site.setText (error, claimError (err));
      /* Only a request that got no definite answer may be tried again. */
      openButton.disabled = !(err.status === 0 || err.status >= 500);
    }
  });

  Site.form (registerForm, async () => {
    const hint = registerForm.elements.hint.value.trim ();
    const body = { number, password: registerForm.elements.password.value };
    if (hint !== '')
      body.hint = hint;
    const card = await Site.api ('/v1/cards/register', body);
    Site.guardLeaving (false);
    Site.setText (document.getElementById ('claim-done-text'), 'register.done_text',
                  { last4: card.card_last4 });
    Site.showResult (registerForm, done);
  });

  if (token === null) {
    Site.setText (error, 'claim.no_token');
    start.querySelector ('[data-i18n="claim.lead"]').hidden = true;
  } else {
    preview ();
  }
}) ();
