/* verify.js: verifying an online payment made with the card
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The holder proves the card with its password and names the payment; the
 * gateway answers only for a payment made with that card.
 */
'use strict';

(function () {
  const { el } = Site;
  const form = document.getElementById ('verify-form');
  const section = document.getElementById ('verified');

  function row (key, value) {
    return [el ('dt', { i18n: [key] }), el ('dd', {}, value)];
  }

  Site.form (form, async () => {
    const body = Site.cardCredentials (form);
    body.payment = form.elements.payment.value.trim ();
    const payment = await Site.api ('/v1/cards/payments/verify', body);
    form.elements.password.value = '';
    document.getElementById ('verified-details').replaceChildren (
      ...row ('verify.merchant', payment.merchant_name || payment.merchant),
      ...row ('verify.amount', el ('span', { i18n: ['money.amount', { m: { money: payment.amount,
                                                                      currency: payment.currency } }] })),
      ...row ('verify.status', el ('span', { i18n: ['verify.status_' + payment.status] })),
      ...row ('verify.date', el ('span', { i18n: ['date.full', { d: { date: payment.created } }] })),
      ...row ('verify.payment', payment.id),
      ...row ('field.card', '•••• ' + payment.card_last4));
    section.hidden = false;
    Site.focusHeading (section);
  });
}) ();
