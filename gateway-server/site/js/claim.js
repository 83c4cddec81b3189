/* claim.js: opening a gift from its e-mail link, once
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The link carries the claim token in the URL's fragment, which browsers
 * never send to a server or in a Referer. The page takes it, removes it
 * from the address bar and history at once, shows the gift (without its
 * number), and spends the token only when the recipient presses "Open the
 * gift", so a mail scanner fetching the link claims nothing. The claim
 * registers the card with the password the recipient chose, in one step
 * (so that its giver, who saw the number, can never register it), and
 * shows the number once.
 *
 * The claim's Idempotency-Key is kept in localStorage under a hash of the
 * token (never the token): a recipient whose claim went through but whose
 * answer was lost (a dropped connection, a closed tab) opens the e-mail
 * link again, enters the same password and gets the same answer back. The
 * key is dropped once the number is shown, or on a definite refusal.
 */
'use strict';

(function () {
  const start = document.getElementById ('claim-start');
  const reveal = document.getElementById ('claim-gift');
  const done = document.getElementById ('claim-done');
  const error = document.getElementById ('claim-error');
  const status = document.getElementById ('claim-status');
  const claimForm = document.getElementById ('claim-form');

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
  let pageKey = null;     /* the claim's key, in the page too */

  window.addEventListener ('pagehide', () => { token = null; number = null; });

  /* Where this token's claim key is kept: a hash, so that the token is
   * never stored. None on a page served over plain http to another host
   * (no crypto.subtle there): the key then lives in the page only. */
  async function keySlot (token) {
    if (!window.crypto || !crypto.subtle)
      return null;
    const digest = await crypto.subtle.digest ('SHA-256', new TextEncoder ().encode (token));
    const hex = Array.from (new Uint8Array (digest), (b) => b.toString (16).padStart (2, '0'));
    return 'onepin.claim.' + hex.join ('').slice (0, 32);
  }

  /* The page's own copy serves where storage fails or is not used. */
  function storedKey (slot) {
    try {
      return (slot !== null && localStorage.getItem (slot)) || pageKey;
    } catch (e) {
      return pageKey;
    }
  }

  function storeKey (slot, key) {
    pageKey = key;
    try {
      if (slot !== null && key === null)
        localStorage.removeItem (slot);
      else if (slot !== null)
        localStorage.setItem (slot, key);
    } catch (e) {
      /* No storage: a lost answer is got back from this page only. */
    }
  }

  /* A gift link's own errors, in words for its recipient. */
  function claimError (err) {
    const param = err.error && err.error.param;
    if (err.status === 404 || (err.status === 400 && param === 'token'))
      return 'claim.not_found';
    return Site.errorKey (err);
  }

  /* Only a request that got no definite answer may be sent again with its
   * key: no answer, a 5xx, or the same claim still in flight. */
  function retryable (err) {
    const code = err.error && err.error.code;
    return err.status === 0 || err.status >= 500 || code === 'idempotency_in_flight';
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
      const slot = await keySlot (token);
      const gift = await Site.api ('/v1/gifts/preview', { token });
      showGift (gift);
      if (gift.status !== 'claimed') {
        claimForm.hidden = false;
      } else if (storedKey (slot) !== null) {
        /* Claimed with this browser's key: maybe its answer was lost. */
        document.getElementById ('claim-again').hidden = false;
        claimForm.hidden = false;
      } else {
        Site.setText (error, 'api.code.gift_already_claimed');
        token = null;
      }
    } catch (err) {
      Site.setText (error, claimError (err));
    } finally {
      Site.setText (status, null);
    }
  }

  Site.form (claimForm, async () => {
    const slot = await keySlot (token);
    const hint = claimForm.elements.hint.value.trim ();
    const body = { token, password: claimForm.elements.password.value, locale: Site.lang };
    if (hint !== '')
      body.hint = hint;
    let key = storedKey (slot);
    if (key === null) {
      key = Site.newKey ();
      storeKey (slot, key);
    }
    Site.setText (error, null);
    let gift;
    try {
      gift = await Site.api ('/v1/gifts/claim', body, { idempotencyKey: key });
    } catch (err) {
      if (!retryable (err) && err.status !== 422)
        storeKey (slot, null);
      if (err.status === 422) {
        /* The key's first claim had another password or hint. */
        Site.showFormError (claimForm, 'claim.same_password');
        return;
      }
      if (err.status === 404 || (err.status === 409 && !retryable (err))) {
        claimForm.hidden = true;
        Site.setText (error, claimError (err));
        token = null;
        return;
      }
      throw err;
    }
    storeKey (slot, null);
    token = null;
    number = gift.card_number;
    const shown = document.getElementById ('claim-number');
    shown.textContent = Site.formatCard (number);
    Site.secret (shown);
    Site.guardLeaving (true);
    claimForm.reset ();
    claimForm.hidden = true;
    reveal.hidden = false;
    done.hidden = false;
    Site.setText (document.getElementById ('claim-done-text'), 'register.done_text',
                  { last4: number.slice (-4) });
    Site.focusHeading (reveal);
  });

  if (token === null) {
    Site.setText (error, 'claim.no_token');
    start.querySelector ('[data-i18n="claim.lead"]').hidden = true;
  } else {
    preview ();
  }
}) ();
