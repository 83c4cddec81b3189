/* pay.js: the hosted payment page (see pay.html).
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

(function () {
  const TEXTS = {
    ko: {
      title: '결제', loading: '주문을 불러오는 중…', order: '주문 번호', item: '상품',
      quantity: '수량', price: '금액', total: '결제 금액', number: '카드 번호 (16자리)',
      number_help: '카드 뒷면의 16자리 번호', password: '카드 비밀번호', pay: '결제하기',
      paying: '결제하는 중…', cancel: '결제 취소하고 돌아가기', paid: '결제되었습니다.',
      continue: '쇼핑몰로 돌아가기',
      footer: '쇼핑몰은 카드 번호와 비밀번호를 받지 않습니다.',
      paid_detail: (amount, last4) => `${amount}이 카드 끝자리 ${last4}에서 결제되었습니다.`,
      bad_number: '카드 번호 16자리를 입력하세요.',
      bad_password: '비밀번호는 4자 이상입니다.',
      invalid_credentials: '카드 번호나 비밀번호가 맞지 않습니다.',
      insufficient_funds: '카드 잔액이 부족합니다.',
      card_locked: '비밀번호를 여러 번 틀려 카드가 잠겼습니다. 나중에 다시 시도하세요.',
      card_not_active: '사용 등록이 되지 않은 카드입니다.',
      expired_card: '유효기간이 지난 카드입니다.',
      currency_mismatch: '이 카드로는 이 통화를 결제할 수 없습니다.',
      rate_limited: '실패가 너무 많습니다. 1분 뒤에 다시 시도하세요.',
      expired: '결제 시간이 지났습니다. 쇼핑몰에서 다시 주문하세요.',
      completed: '이미 결제된 주문입니다.',
      missing: '주문을 찾을 수 없습니다.',
      failed: '결제하지 못했습니다. 잠시 뒤에 다시 시도하세요.',
    },
    en: {
      title: 'Payment', loading: 'Loading your order…', order: 'Order', item: 'Item',
      quantity: 'Qty', price: 'Amount', total: 'Total', number: 'Card number (16 digits)',
      number_help: 'The 16 digits on the back of the card', password: 'Card password',
      pay: 'Pay', paying: 'Paying…', cancel: 'Cancel and go back to the shop',
      paid: 'Paid.', continue: 'Back to the shop',
      footer: 'The shop never receives your card number or password.',
      paid_detail: (amount, last4) => `${amount} was paid with the card ending in ${last4}.`,
      bad_number: 'Enter the card\'s 16-digit number.',
      bad_password: 'The password has at least 4 characters.',
      invalid_credentials: 'The card number or password is incorrect.',
      insufficient_funds: 'The card\'s balance is too low.',
      card_locked: 'The card is locked after too many wrong passwords. Try again later.',
      card_not_active: 'The card is not registered for use yet.',
      expired_card: 'The card has expired.',
      currency_mismatch: 'This card cannot pay in this currency.',
      rate_limited: 'Too many failed attempts. Try again in a minute.',
      expired: 'The time to pay has run out. Order again at the shop.',
      completed: 'This order is already paid.',
      missing: 'No such order.',
      failed: 'The payment did not go through. Try again in a moment.',
    },
  };
  const lang = (navigator.language || 'ko').toLowerCase().startsWith('ko') ? 'ko' : 'en';
  const t = TEXTS[lang];
  const $ = (id) => document.getElementById(id);
  const match = /^\/pay\/(cs_[0-9a-f]{8,64})$/.exec(location.pathname);
  const sessionId = match ? match[1] : null;
  let session = null;

  function translate () {
    document.documentElement.lang = lang;
    for (const element of document.querySelectorAll('[data-text]')) {
      const text = t[element.dataset.text];
      if (typeof text === 'string')
        element.textContent = text;
    }
  }

  function money (amount, currency) {
    try {
      return new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en-US',
                                   { style: 'currency', currency: currency.toUpperCase() })
        .format(currency === 'krw' ? amount : amount / 100);
    } catch (e) {
      return `${amount} ${currency}`;
    }
  }

  /* Only the shop's own http(s) addresses, with the session id filled in. */
  function shopUrl (template) {
    if (!template)
      return null;
    try {
      const url = new URL(template.replaceAll('{CHECKOUT_SESSION_ID}', sessionId));
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function link (element, template) {
    const url = shopUrl(template);
    if (url) {
      element.href = url;
      element.hidden = false;
    }
  }

  function show (id) {
    for (const section of ['loading', 'order', 'pay-form', 'done', 'closed'])
      $(section).hidden = !id.includes(section);
  }

  function closed (message) {
    $('closed-message').textContent = message;
    if (session)
      link($('closed-back'), session.cancel_url || session.success_url);
    show(['order', 'closed']);
  }

  function render (summary) {
    session = summary;
    $('merchant').textContent = summary.merchant.name || summary.merchant.id;
    $('order-id').textContent = summary.order_id;
    $('amount').textContent = money(summary.amount, summary.currency);
    const body = $('items').querySelector('tbody');
    for (const item of summary.items) {
      const row = body.insertRow();
      row.insertCell().textContent = item.name;
      row.insertCell().textContent = String(item.quantity);
      row.insertCell().textContent = money(item.amount * item.quantity, summary.currency);
    }
    $('items').hidden = summary.items.length === 0;
    link($('cancel'), summary.cancel_url);
    if (summary.status === 'complete')
      return closed(t.completed);
    if (summary.status !== 'open')
      return closed(t.expired);
    show(['order', 'pay-form']);
    $('card-number').focus();
  }

  function fail (message) {
    $('error').textContent = message;
    $('error').hidden = false;
    $('card-password').value = '';
    $('pay-button').disabled = false;
    $('pay-button').textContent = t.pay;
  }

  function paid (result) {
    $('done-detail').textContent = t.paid_detail(money(result.amount, result.currency),
                                                 result.card_last4);
    show(['order', 'done']);
    const url = shopUrl(result.success_url);
    if (url) {
      link($('continue'), result.success_url);
      setTimeout(() => location.assign(url), 1500);
    }
  }

  async function refused (response) {
    let error = {};
    try {
      error = (await response.json()).error || {};
    } catch (e) {}
    if (response.status === 409 && error.code === 'checkout_session_completed')
      return closed(t.completed);
    if (response.status === 409 && error.code === 'checkout_session_expired')
      return closed(t.expired);
    if (response.status === 404)
      return closed(t.missing);
    if (response.status === 429)
      return fail(t.rate_limited);
    fail(t[error.decline_code] || t.failed);
  }

  /* The request whose answer never came (the network, a 5xx): paying again
   * with the same card and password sends it again under its key, so the
   * gateway answers how it ended instead of "already paid". */
  let unanswered = null;

  function newKey () {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return 'pay_' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function pay (event) {
    event.preventDefault();
    const number = $('card-number').value.replace(/[\s-]/g, '');
    const password = $('card-password').value;
    $('error').hidden = true;
    if (!/^[0-9]{16}$/.test(number))
      return fail(t.bad_number);
    if (password.length < 4)
      return fail(t.bad_password);
    const body = JSON.stringify({ card_number: number, password: password });
    if (!unanswered || unanswered.body !== body)
      unanswered = { body: body, key: newKey() };
    $('pay-button').disabled = true;
    $('pay-button').textContent = t.paying;
    try {
      const response = await fetch(`/v1/checkout_sessions/${sessionId}/pay`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': unanswered.key },
        body: body,
        credentials: 'omit',
        cache: 'no-store',
      });
      if (response.status < 500)
        unanswered = null;
      if (response.ok)
        return paid(await response.json());
      await refused(response);
    } catch (e) {
      fail(t.failed);
    }
  }

  /* Groups of four as the digits are typed, as on the card. */
  function group () {
    const input = $('card-number');
    const digits = input.value.replace(/[^0-9]/g, '').slice(0, 16);
    input.value = digits.replace(/(.{4})(?=.)/g, '$1 ');
  }

  async function start () {
    translate();
    $('pay-form').addEventListener('submit', pay);
    $('card-number').addEventListener('input', group);
    if (!sessionId)
      return closed(t.missing);
    try {
      const response = await fetch(`/v1/checkout_sessions/${sessionId}/public`,
                                   { credentials: 'omit', cache: 'no-store' });
      if (!response.ok)
        return closed(response.status === 404 ? t.missing : t.failed);
      render(await response.json());
    } catch (e) {
      closed(t.failed);
    }
  }

  start();
})();
