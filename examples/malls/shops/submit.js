/* submit.js: what a shop's page does with its card form (demo).
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reads the card from the form as the page lays it out (one number field
 * or four, one expiry field or a month and a year), posts it to the shop's
 * own server, and shows the acquirer's answer.
 */
'use strict';

function cardFromForm (form) {
  const value = (name) => (form.elements[name] ? form.elements[name].value.trim() : '');
  let number = value('number');
  if (!number)
    number = ['number-1', 'number-2', 'number-3', 'number-4'].map(value).join('');
  let expiry = value('expiry').replace(/\s/g, '');
  if (!expiry) {
    const month = value('exp-month').padStart(2, '0');
    const year = value('exp-year');
    expiry = `${month}/${year.slice(-2)}`;
  }
  return { number: number.replace(/[\s-]/g, ''), expiry: expiry, cvc: value('cvc') };
}

async function payCard (shop, card) {
  const result = document.getElementById('result');
  result.textContent = '…';
  result.className = '';
  const response = await fetch(`/pay/${shop}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(card),
  });
  const answer = await response.json();
  if (answer.approved) {
    result.textContent = `Approved: order ${answer.order_id}, auth code ${answer.auth_code}`;
    result.className = 'approved';
  } else {
    result.textContent = `Declined: ${answer.message || answer.error?.message || ''}`;
    result.className = 'declined';
  }
}

for (const form of document.querySelectorAll('form[data-shop]')) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    payCard(form.dataset.shop, cardFromForm(form));
  });
}
