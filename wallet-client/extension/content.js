/* content.js: the extension's eyes and hands in each frame of a page
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs after detector.js and fill.js, in every frame of https pages and of
 * http://localhost. It tells the background how many payment fields the
 * frame has (again when the page changes them), answers "onepin.scan", and
 * fills on "onepin.fill" — a message only the background sends, once the
 * wallet has answered and the user has confirmed the site. The card never
 * stays here: it is used for the one fill and dropped.
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
    }
    return false;
  });

  /* Checkouts often render their card form late (single-page apps). */
  new MutationObserver(scheduleReport).observe(document.documentElement,
                                               { childList: true, subtree: true });
  report();
})();
