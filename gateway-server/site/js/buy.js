/* buy.js: buying cards — the order (FIG. 10A), the payment (10B), the
 * allocation (10C), then each card registered (10E) or given (10D)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The whole purchase happens on this one page, so the card numbers the
 * gateway allocates are held only in this page's memory and DOM: never in
 * the URL or in storage, and wiped when the page is left. So is the order's
 * token: a buyer who closed the page (waiting for a transfer, say) comes
 * back through #resume, where the order id, the phone or e-mail of the
 * order and a code e-mailed to the buyer get a new token.
 */
'use strict';

(function () {
  const { el } = Site;
  const DENOMINATIONS = [5000, 10000, 20000, 30000, 50000, 100000];
  const MAX_AMOUNT = 1000000;
  const MAX_CARDS = 100;

  const steps = {
    order: document.getElementById ('step-order'),
    pay: document.getElementById ('step-pay'),
    transfer: document.getElementById ('step-transfer'),
    resume: document.getElementById ('step-resume'),
    cards: document.getElementById ('step-cards'),
    finish: document.getElementById ('step-finish'),
    done: document.getElementById ('step-done'),
  };
  const orderForm = document.getElementById ('order-form');
  const payForm = document.getElementById ('pay-form');
  const purposeForm = document.getElementById ('purpose-form');
  const registerForm = document.getElementById ('finish-register');
  const giftBox = document.getElementById ('finish-gift');
  const resumeForm = document.getElementById ('resume-form');
  const codeForm = document.getElementById ('code-form');

  let order = null;          /* the gateway's order, with its cards once allocated */
  let token = null;          /* the order's access token, in memory only */
  let outcomes = [];         /* per card: 'registered', 'later', 'gift' */
  let current = 0;           /* the card being registered or given */
  let pollTimer = null;

  window.addEventListener ('pagehide', () => { token = null; });

  /* The gateway's order API (schema/openapi.yaml, tag Orders). */
  const auth = () => ({ bearer: token });
  const api = {
    /* No Idempotency-Key: the answer holds the token, which the gateway
     * never stores to replay. A retry after no answer makes another order;
     * only the one paid is charged. */
    create: (body) => Site.api ('/v1/orders', body),
    pay: (funding) => Site.post ('pay', '/v1/orders/' + order.id + '/pay', funding, auth ()),
    get: () => Site.api ('/v1/orders/' + order.id, undefined, auth ()),
    reveal: () => Site.post ('reveal', '/v1/orders/' + order.id + '/reveal', {}, auth ()),
    gift: (card, gift) => Site.post ('gift-' + card.id, '/v1/orders/' + order.id + '/gifts',
                                     Object.assign ({ card: card.id, locale: Site.lang }, gift),
                                     auth ()),
    register: (card, password, hint) => Site.api ('/v1/cards/register',
                                                  { number: card.number, password, hint,
                                                    locale: Site.lang }),
    askCode: (id, contact) => Site.api ('/v1/orders/' + encodeURIComponent (id) + '/access_codes',
                                        { contact }),
    useCode: (id, code) => Site.api ('/v1/orders/' + encodeURIComponent (id) + '/access_tokens',
                                     { code }),
  };

  /* Shows the step @name (and keeps @also shown), and moves focus to it. */
  function showStep (name, also) {
    for (const [key, section] of Object.entries (steps))
      section.hidden = key !== name && !(also || []).includes (key);
    const marker = name === 'transfer' ? 'pay' : name === 'finish' || name === 'done' ? 'cards'
                 : name === 'resume' ? 'order' : name;
    for (const li of document.querySelectorAll ('.steps li')) {
      if (li.dataset.step === marker)
        li.setAttribute ('aria-current', 'step');
      else
        li.removeAttribute ('aria-current');
    }
    Site.focusHeading (steps[name]);
  }

  function denominationLabel (value) {
    return ['card.denomination', { amount: { count: value } }];
  }

  /* FIG. 10A */

  function buildLines () {
    const body = document.getElementById ('lines');
    for (const value of DENOMINATIONS) {
      const id = 'qty-' + value;
      const input = el ('input', { type: 'number', id, name: id, class: 'qty', min: 0, max: 99,
                                   step: 1, inputmode: 'numeric',
                                   'data-range-error': 'err.quantity',
                                   'aria-describedby': 'lines-hint ' + id + '-error' });
      input.dataset.value = value;
      body.append (el ('tr', {},
                       el ('th', { scope: 'row' }, el ('label', { for: id, i18n: denominationLabel (value) })),
                       el ('td', {}, input, el ('p', { class: 'field-error', id: id + '-error' })),
                       el ('td', { class: 'num', id: 'sub-' + value })));
    }
  }

  function lines () {
    const result = [];
    for (const input of document.querySelectorAll ('#lines input')) {
      const quantity = Number (input.value || 0);
      if (Number.isInteger (quantity) && quantity > 0)
        result.push ({ denomination: Number (input.dataset.value), quantity });
    }
    return result;
  }

  function totals (list) {
    let count = 0;
    let amount = 0;
    for (const line of list) {
      count += line.quantity;
      amount += line.quantity * line.denomination;
    }
    return { count, amount };
  }

  function updateTotals () {
    for (const input of document.querySelectorAll ('#lines input')) {
      const quantity = Number (input.value || 0);
      const cell = document.getElementById ('sub-' + input.dataset.value);
      if (Number.isInteger (quantity) && quantity > 0)
        Site.setText (cell, 'money.amount', { m: { money: quantity * Number (input.dataset.value) } });
      else
        Site.setText (cell, null);
    }
    const { count, amount } = totals (lines ());
    Site.setText (document.getElementById ('total-count'), 'buy.cards_count', { n: { count } });
    Site.setText (document.getElementById ('total-amount'), 'money.amount', { m: { money: amount } });
    Site.setText (document.getElementById ('order-total'), 'buy.order_total',
                  { n: { count }, m: { money: amount } });
  }

  function validateOrder () {
    const list = lines ();
    const first = document.getElementById ('qty-' + DENOMINATIONS[0]);
    const slot = document.getElementById ('lines-error');
    if (list.length === 0)
      return [{ el: first, key: 'err.no_cards', slot }];
    const { count, amount } = totals (list);
    if (count > MAX_CARDS || amount > MAX_AMOUNT)
      return [{ el: first, key: 'err.order_limit', slot,
                vars: { max: { money: MAX_AMOUNT }, cards: { count: MAX_CARDS } } }];
    return [];
  }

  async function submitOrder () {
    const f = orderForm.elements;
    const value = (name) => f['buyer.' + name].value.trim ();
    const detail = value ('address2');
    const buyer = {
      name: value ('name'),
      phone: value ('phone'),
      email: value ('email'),
      postal_code: value ('postal_code'),
      address: detail === '' ? value ('address') : value ('address') + ', ' + detail,
    };
    const created = await api.create ({ buyer, items: lines (), locale: Site.lang });
    token = created.access_token;
    delete created.access_token;
    order = created;
    method.setDepositor (buyer.name);
    showSummary ();
    showStep ('pay');
  }

  /* FIG. 10B */

  function summaryRows (body) {
    body.replaceChildren ();
    for (const item of order.items)
      body.append (el ('tr', {},
                       el ('th', { scope: 'row', i18n: denominationLabel (item.denomination) }),
                       el ('td', { class: 'num', i18n: ['buy.cards_count', { n: { count: item.quantity } }] }),
                       el ('td', { class: 'num', i18n: ['money.amount',
                                                        { m: { money: item.denomination * item.quantity } }] })));
  }

  function showSummary () {
    summaryRows (document.getElementById ('pay-lines'));
    Site.setText (document.getElementById ('pay-caption'), 'buy.summary_caption',
                  { name: order.buyer.name });
    Site.setText (document.getElementById ('pay-count'), 'buy.cards_count', { n: { count: order.card_count } });
    Site.setText (document.getElementById ('pay-total'), 'money.amount', { m: { money: order.total } });
    Site.setText (document.getElementById ('pay-button'), 'pay.submit', { m: { money: order.total } });
  }

  const method = Site.payMethod (payForm.querySelector ('.pay-method'), 'buy');

  async function submitPayment () {
    try {
      order = await api.pay (method.funding ());
    } finally {
      method.clear ();
    }
    await afterPayment ();
  }

  /* Allocated: the numbers came with the answer, or are fetched once. */
  async function afterPayment () {
    if (order.status === 'allocated') {
      if (!order.cards.every ((card) => card.number))
        order = await api.reveal ();
      showCards ();
    } else if (order.status === 'pending' && order.payment && order.payment.virtual_account) {
      showTransfer ();
    } else {
      Site.showFormError (payForm, 'pay.failed');
    }
  }

  /* A bank transfer: the virtual account, then a poll until the deposit. */

  function showTransfer () {
    const va = order.payment.virtual_account;
    const list = document.getElementById ('virtual-account');
    list.replaceChildren (
      el ('dt', { i18n: ['pay.bank'] }), el ('dd', {}, va.bank),
      el ('dt', { i18n: ['pay.va_account'] }), el ('dd', { class: 'card-no' }, va.account),
      el ('dt', { i18n: ['pay.va_amount'] }),
      el ('dd', { i18n: ['money.amount', { m: { money: va.amount, currency: va.currency } }] }),
      el ('dt', { i18n: ['pay.va_deadline'] }),
      el ('dd', { i18n: ['date.time', { d: { kstTime: va.deadline } }] }));
    Site.setText (document.getElementById ('transfer-order'), 'pay.transfer_order',
                  { order: order.id });
    Site.setText (document.getElementById ('transfer-status'), 'pay.transfer_waiting');
    showStep ('transfer');
    Site.guardLeaving (true);
    pollTimer = setInterval (checkDeposit, 3000);
  }

  let checking = false;

  async function checkDeposit () {
    const status = document.getElementById ('transfer-status');
    if (checking)
      return;
    checking = true;
    try {
      const now = await api.get ();
      if (now.status === 'allocated') {
        clearInterval (pollTimer);
        order = await api.reveal ();
        showCards ();
      } else if (now.status === 'failed') {
        clearInterval (pollTimer);
        Site.guardLeaving (false);
        /* The deposit came, but no card could be issued: it goes back. */
        const givenBack = now.payment && now.payment.decline_code === 'allocation_failed';
        Site.setText (status, givenBack ? 'pay.allocation_failed' : 'pay.transfer_expired');
      }
    } catch (err) {
      Site.setText (status, Site.errorKey (err));
    } finally {
      checking = false;
    }
  }

  /* Back to an order whose page was closed */

  let resumeOrderId = null;

  function showResume () {
    codeForm.hidden = true;
    resumeForm.hidden = false;
    showStep ('resume');
  }

  /* The same answer whether or not anything matched: go on to the code. */
  async function submitResume () {
    const f = resumeForm.elements;
    resumeOrderId = f.order.value.trim ().toLowerCase ();
    await api.askCode (resumeOrderId, f.contact.value.trim ());
    codeForm.reset ();
    Site.clearErrors (codeForm);
    codeForm.hidden = false;
    Site.setText (document.getElementById ('code-sent'), 'resume.sent');
    codeForm.elements.code.focus ();
  }

  async function submitCode () {
    const opened = await api.useCode (resumeOrderId, codeForm.elements.code.value.trim ());
    token = opened.access_token;
    delete opened.access_token;
    order = opened;
    codeForm.reset ();
    resumeForm.reset ();
    method.setDepositor (order.buyer.name);
    await continueOrder ();
  }

  /* Picks the order up where it is. */
  async function continueOrder () {
    if (order.status === 'allocated') {
      if (order.cards_revealed) {
        Site.showFormError (codeForm, 'resume.revealed');
        return;
      }
      order = await api.reveal ();
      showCards ();
    } else if (order.status === 'pending' && order.payment && order.payment.virtual_account) {
      showTransfer ();
    } else if (order.status === 'paying') {
      Site.showFormError (codeForm, 'resume.paying');
    } else {
      showSummary ();
      showStep ('pay');
    }
  }

  /* FIG. 10C */

  function purposeCell (card, index) {
    const name = 'purpose-' + index;
    const legendId = name + '-legend';
    const choice = (value, key) =>
      el ('label', { class: 'choice' },
          el ('input', { type: 'radio', name, value, required: true }),
          el ('span', { i18n: [key] }));
    return el ('fieldset', { 'aria-labelledby': legendId, 'aria-describedby': name + '-error' },
               el ('legend', { class: 'visually-hidden', id: legendId,
                               i18n: ['buy.use_of', { last4: card.card_last4 }] }),
               el ('div', { class: 'choices' }, choice ('user', 'buy.for_user'),
                   choice ('gift', 'buy.for_gift')),
               el ('p', { class: 'field-error', id: name + '-error' }));
  }

  function showCards () {
    clearInterval (pollTimer);
    Site.guardLeaving (true);
    Site.setText (document.getElementById ('cards-caption'), 'buy.cards_caption',
                  { name: order.buyer.name, date: { date: order.paid_at || order.created } });
    const body = document.getElementById ('cards');
    body.replaceChildren ();
    order.cards.forEach ((card, index) => {
      const number = Site.secret (el ('span', { class: 'card-no', id: 'card-no-' + index },
                                      Site.formatCard (card.number)));
      body.append (el ('tr', {},
                       el ('th', { scope: 'row', i18n: denominationLabel (card.denomination) }),
                       el ('td', {}, number),
                       el ('td', {}, purposeCell (card, index))));
    });
    Site.setText (document.getElementById ('statement-note'), 'buy.statement_sent',
                  { email: order.buyer.email });
    showStep ('cards');
  }

  /* The choice is the page's: a card stays "user" unless it is given. */
  function submitPurposes () {
    order.cards.forEach ((card, index) => {
      card.purpose = purposeForm.elements['purpose-' + index].value;
    });
    purposeForm.querySelector ('[type="submit"]').hidden = true;
    for (const input of purposeForm.querySelectorAll ('input'))
      input.disabled = true;
    outcomes = [];
    current = 0;
    finishNext ();
  }

  /* Each card in turn: a password for a user card, the gift form for a gift. */

  function maskCard (index) {
    const card = order.cards[index];
    const cell = document.getElementById ('card-no-' + index);
    cell.textContent = '•••• •••• •••• ' + card.card_last4;
  }

  function finishNext () {
    if (current >= order.cards.length) {
      showDone ();
      return;
    }
    const card = order.cards[current];
    const heading = document.getElementById ('finish-heading');
    const vars = { i: current + 1, n: order.cards.length, last4: card.card_last4,
                   card: { denomination: card.denomination } };
    registerForm.hidden = card.purpose !== 'user';
    giftBox.hidden = card.purpose !== 'gift';
    if (card.purpose === 'user') {
      Site.setText (heading, 'buy.finish_register', vars);
      registerForm.reset ();
      Site.clearErrors (registerForm);
    } else {
      Site.setText (heading, 'buy.finish_gift', vars);
      giftBox.replaceChildren ();
      Site.giftForm (giftBox, card, order.buyer.name, async (gift) => {
        await api.gift (card, gift);
        outcomes[current] = { kind: 'gift', email: gift.recipient_email };
        maskCard (current);
        current++;
        finishNext ();
      });
    }
    showStep ('finish', ['cards']);
  }

  async function submitRegister () {
    const card = order.cards[current];
    const f = registerForm.elements;
    const hint = f.hint.value.trim ();
    await api.register (card, f.password.value, hint === '' ? undefined : hint);
    outcomes[current] = { kind: 'registered' };
    current++;
    finishNext ();
  }

  function showDone () {
    const list = document.getElementById ('done-list');
    list.replaceChildren ();
    order.cards.forEach ((card, index) => {
      const outcome = outcomes[index] || { kind: 'later' };
      list.append (el ('li', { i18n: ['buy.done_' + outcome.kind,
                                      { last4: card.card_last4, email: outcome.email || '',
                                        card: { denomination: card.denomination } }] }));
    });
    Site.setText (document.getElementById ('done-statement'), 'buy.statement_sent',
                  { email: order.buyer.email });
    Site.guardLeaving (outcomes.some ((o) => !o || o.kind === 'later'));
    showStep ('done', ['cards']);
  }

  buildLines ();
  updateTotals ();
  document.getElementById ('lines').addEventListener ('input', updateTotals);
  Site.onLanguage (updateTotals);
  Site.form (orderForm, submitOrder, validateOrder);
  Site.form (payForm, submitPayment);
  Site.form (purposeForm, submitPurposes);
  Site.form (registerForm, submitRegister);
  Site.form (resumeForm, submitResume);
  Site.form (codeForm, submitCode);
  document.getElementById ('resume-link').addEventListener ('click', showResume);
  window.addEventListener ('hashchange', () => {
    if (location.hash === '#resume')
      showResume ();
  });
  if (location.hash === '#resume')
    showResume ();
  document.getElementById ('pay-back').addEventListener ('click', () => showStep ('order'));
  document.getElementById ('transfer-check').addEventListener ('click', checkDeposit);
  document.getElementById ('finish-later').addEventListener ('click', () => {
    outcomes[current] = { kind: 'later' };
    current++;
    finishNext ();
  });
}) ();
