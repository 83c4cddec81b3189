/* recharge.js: recharging a card — the card (FIG. 10F), then the amount and
 * the payment (FIG. 10G)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Amounts go in 10,000-won steps and never take the balance past
 * 1,000,000 won. A onepin card is not among the ways to pay.
 */
'use strict';

(function () {
  const { el } = Site;
  const CAP = 1000000;
  const STEP = 10000;

  const cardForm = document.getElementById ('card-form');
  const amountForm = document.getElementById ('amount-form');
  const amountInput = document.getElementById ('rc-amount');
  const sections = ['step-card', 'step-amount', 'step-transfer', 'step-done']
    .map ((id) => document.getElementById (id));
  const method = Site.payMethod (amountForm.querySelector ('.pay-method'), 'rc');

  let credentials = null;     /* in memory between the two steps only */
  let card = null;

  window.addEventListener ('pagehide', () => { credentials = null; });

  function show (id) {
    for (const section of sections)
      section.hidden = section.id !== id;
    Site.focusHeading (document.getElementById (id));
  }

  function dataList (list, rows) {
    list.replaceChildren ();
    for (const [key, value] of rows)
      list.append (el ('dt', { i18n: [key] }), el ('dd', value));
  }

  function money (amount) {
    return { i18n: ['money.amount', { m: { money: amount, currency: card.currency } }] };
  }

  function showCard () {
    const room = Math.floor ((CAP - card.balance) / STEP) * STEP;
    dataList (document.getElementById ('card-data'), [
      ['field.card', { i18n: ['card.ending', { last4: card.card_last4 }] }],
      ['recharge.balance', money (card.balance)],
      ['recharge.validity', { i18n: ['date.full', { d: { date: card.expires_at } }] }],
    ]);
    amountInput.max = room;
    amountInput.disabled = room < STEP;
    Site.setText (document.getElementById ('rc-amount-hint'),
                  room < STEP ? 'recharge.full' : 'recharge.amount_hint',
                  { max: { money: room } });
    document.getElementById ('recharge-button').disabled = room < STEP;
  }

  Site.form (cardForm, async () => {
    credentials = Site.cardCredentials (cardForm);
    card = await Site.api ('/v1/cards/balance', credentials);
    cardForm.reset ();
    showCard ();
    show ('step-amount');
  });

  async function submitRecharge () {
    const body = Object.assign ({}, credentials, {
      amount: Number (amountInput.value),
      currency: card.currency,
      locale: Site.lang,
    }, method.funding ());
    const email = amountForm.elements.email.value.trim ();
    if (email !== '')
      body.email = email;
    let recharge;
    try {
      /* The key outlives a reload, known by the card's last four and the amount. */
      recharge = await Site.post ('recharge', '/v1/cards/recharge', body,
                                  { pending: card.card_last4 + ' ' + body.amount });
    } finally {
      method.clear ();
    }
    credentials = null;
    if (recharge.status === 'pending' && recharge.payment && recharge.payment.virtual_account)
      showTransfer (recharge.payment.virtual_account);
    else if (recharge.status === 'succeeded')
      showDone (recharge);
    else
      Site.showFormError (amountForm, 'recharge.processing');
  }

  function showTransfer (va) {
    dataList (document.getElementById ('virtual-account'), [
      ['pay.bank', {}],
      ['pay.va_account', { class: 'card-no' }],
      ['pay.va_amount', money (va.amount)],
      ['pay.va_deadline', { i18n: ['date.time', { d: { kstTime: va.deadline } }] }],
    ]);
    const values = document.querySelectorAll ('#virtual-account dd');
    values[0].textContent = va.bank;
    values[1].textContent = va.account;
    show ('step-transfer');
  }

  function showDone (recharge) {
    dataList (document.getElementById ('done-data'), [
      ['field.card', { i18n: ['card.ending', { last4: recharge.card_last4 }] }],
      ['recharge.amount_done', money (recharge.amount)],
      ['recharge.balance', money (recharge.balance_after)],
      ['recharge.validity', { i18n: ['date.full', { d: { date: recharge.expires_at } }] }],
    ]);
    show ('step-done');
  }

  Site.form (amountForm, submitRecharge, () => {
    const amount = Number (amountInput.value);
    if (amountInput.value !== '' && amount % STEP !== 0)
      return [{ el: amountInput, key: 'err.recharge_amount', vars: { max: { count: Number (amountInput.max) } } }];
    return [];
  });

  document.getElementById ('other-card').addEventListener ('click', () => {
    credentials = null;
    card = null;
    amountForm.reset ();
    show ('step-card');
  });
}) ();
