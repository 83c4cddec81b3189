/* content.js: the extension's eyes and hands in each frame of a page
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs after detector.js and fill.js, in every frame of https pages and of
 * http://localhost. It tells the background how many payment fields the
 * frame has (again when the page changes them), answers "onepin.scan" and
 * "onepin.check" (whether a fill would be refused now, and which of the
 * fields it would fill), and fills on
 * "onepin.fill" — a message only the background sends, once the
 * wallet has answered and the user has confirmed the site. The card never
 * stays here: it is used for the one fill and dropped.
 *
 * On an affiliated mall's checkout page (a <script type="application/json"
 * id="onepin-checkout"> and a button with data-onepin-checkout), the
 * button forwards the purchase to the wallet through the background; the
 * user approves it in the wallet, and the page then goes on to the mall's
 * success URL. Only a real click counts, and only in the top frame of a
 * page the extension may fill.
 */
(function () {
  'use strict';

  const RESCAN_DELAY_MS = 400;
  let lastReport = null;
  let timer = 0;

  function scan() {
    const fields = OnePinDetector.classify(document);
    return {
      origin: location.origin,
      top: window === window.top,
      refused: OnePinFill.allowed(window),
      types: fields.map((f) => f.type),
    };
  }

  /* Tells the background about this frame's fields when their list changes. */
  function report() {
    timer = 0;
    const state = scan();
    const key = JSON.stringify(state);
    if (key === lastReport)
      return;
    lastReport = key;
    chrome.runtime.sendMessage({ type: 'onepin.fields', state }).catch(() => {});
  }

  function scheduleReport() {
    if (!timer)
      timer = setTimeout(report, RESCAN_DELAY_MS);
  }

  chrome.runtime.onMessage.addListener((message, sender, respond) => {
    if (sender.id !== chrome.runtime.id)
      return false;
    if (message.type === 'onepin.scan') {
      respond(scan());
    } else if (message.type === 'onepin.fill') {
      /* Meant for the document the background saw here; this frame may
       * have moved on to another origin since. */
      if (message.origin !== location.origin) {
        respond({ filled: 0, types: [], refused: 'origin' });
        return false;
      }
      const answer = OnePinFill.fill(OnePinDetector.classify(document), message.data);
      respond({ filled: answer.filled.length, types: answer.filled, refused: answer.refused });
    } else if (message.type === 'onepin.check') {
      /* whether a fill would be refused now (a field covered), and what it
       * would fill, before the wallet is asked for the card */
      if (message.origin !== location.origin) {
        respond({ refused: 'origin', usable: [] });
        return false;
      }
      const fields = OnePinDetector.classify(document);
      respond({ refused: OnePinFill.check(fields, window), usable: OnePinFill.usable(fields, window) });
    }
    return false;
  });

  /* ---- Affiliated malls: "Pay with onepin" ---- */

  const t = (name) => chrome.i18n.getMessage(name) || name;
  const CHECKOUT_ERRORS = {
    not_paired: 'checkoutNotPaired',
    unknown_browser: 'checkoutNotPaired',
    rejected: 'checkoutRejected',
    mismatch: 'checkoutMismatch',
    declined: 'checkoutDeclined',
    completed: 'checkoutCompleted',
    expired: 'checkoutExpired',
    locked: 'errorLocked',
    wallet_unavailable: 'errorWalletNotRunning',
    wallet_disconnected: 'errorWalletNotRunning',
    host_unavailable: 'errorHostMissing',
    signed_out: 'checkoutSignedOut',
    wrong_gateway: 'checkoutWrongGateway',
    wrong_origin: 'checkoutWrongOrigin',
    bad_mac: 'errorBadMac',
    version: 'errorVersion',
    timeout: 'errorTimeout',
  };

  /* Only the members the wallet reads, each of its type. */
  function purchaseFrom(data, session) {
    const text = (v) => (typeof v === 'string' ? v : null);
    const int = (v) => (Number.isSafeInteger(v) ? v : null);
    const items = Array.isArray(data.items) ? data.items.map((i) => ({
      name: text(i && i.name), quantity: int(i && i.quantity), amount: int(i && i.amount),
    })) : [];
    const purchase = {
      checkout_session: text(data.checkout_session), merchant: text(data.merchant),
      merchant_name: text(data.merchant_name), order_id: text(data.order_id),
      amount: int(data.amount), currency: text(data.currency), items, gateway: text(data.gateway),
    };
    if (purchase.checkout_session !== session || Object.values(purchase).includes(null) ||
        items.some((i) => Object.values(i).includes(null)))
      return null;
    return purchase;
  }

  function statusFor(button) {
    let status = button.parentElement.querySelector('[data-onepin-status]');
    if (!status) {
      status = document.createElement('p');
      status.setAttribute('data-onepin-status', '');
      status.setAttribute('role', 'status');
      button.after(status);
    }
    return status;
  }

  async function payWithOnepin(button) {
    const status = statusFor(button);
    const script = document.querySelector('script#onepin-checkout[type="application/json"]');
    let purchase = null;
    try {
      purchase = purchaseFrom(JSON.parse(script.textContent), button.dataset.onepinCheckout);
    } catch (e) {
      purchase = null;
    }
    if (!purchase) {
      status.textContent = t('checkoutInvalid');
      return;
    }
    button.disabled = true;
    status.textContent = t('checkoutWaiting');
    let answer;
    try {
      answer = await chrome.runtime.sendMessage({ type: 'onepin.checkout', purchase });
    } catch (e) {
      answer = { error: 'extension' };
    }
    button.disabled = false;
    const result = answer && answer.result;
    if (result && result.status === 'complete') {
      status.textContent = t('checkoutPaid');
      button.disabled = true;
      /* Back to the mall, which asks its gateway; never off to another site. */
      if (typeof result.success_url === 'string' &&
          new URL(result.success_url, location.href).origin === location.origin)
        location.assign(result.success_url);
      return;
    }
    const code = (answer && answer.error) || 'extension';
    status.textContent = t(CHECKOUT_ERRORS[code] || 'checkoutFailed');
    status.dataset.onepinError = code;
  }

  function watchCheckout() {
    if (window !== window.top || OnePinFill.allowed(window) !== null)
      return;
    document.addEventListener('click', (event) => {
      const button = event.target instanceof Element && event.target.closest('[data-onepin-checkout]');
      /* a script's click() is not the user's */
      if (!button || !event.isTrusted || button.disabled)
        return;
      event.preventDefault();
      payWithOnepin(button);
    }, true);
  }

  watchCheckout();

  /* Checkouts often render their card form late (single-page apps). */
  new MutationObserver(scheduleReport).observe(document.documentElement,
                                               { childList: true, subtree: true });
  report();
})();
