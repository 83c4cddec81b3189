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
    const payment = await Site.api ('/v1/cards/verify_payment', body);
    form.elements.password.value = '';
    const money = (amount) => el ('span', { i18n: ['money.amount', { m: { money: amount,
                                                                      currency: payment.currency } }] });
    const captured = payment.amount_captured !== undefined ? payment.amount_captured : payment.amount;
    const status = payment.amount_refunded === 0 ? payment.status
                 : payment.amount_refunded >= captured ? 'refunded' : 'partially_refunded';
    document.getElementById ('verified-details').replaceChildren (
      ...row ('verify.merchant', payment.merchant_name),
      ...row ('verify.amount', money (payment.amount)),
      ...(payment.amount_refunded > 0 ? row ('verify.refunded', money (payment.amount_refunded)) : []),
      ...row ('verify.status', el ('span', { i18n: ['verify.status_' + status] })),
      ...row ('verify.date', el ('span', { i18n: ['date.time', { d: { dateTime: payment.created } }] })),
      ...row ('verify.order', payment.order_id || '—'),
      ...row ('verify.payment', payment.payment),
      ...row ('field.card', el ('span', { i18n: ['card.ending', { last4: payment.card_last4 }] })));
    section.hidden = false;
    Site.focusHeading (section);
  });
}) ();
