/* refund.js: refunding what is left on a card to a bank account
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The refund closes the card, so the form asks for an explicit
 * confirmation. The request carries an Idempotency-Key: a retry after a
 * lost answer pays out once.
 */
'use strict';

(function () {
  const form = document.getElementById ('refund-form');
  const select = document.getElementById ('rf-bank');

  select.replaceChildren (...Site.bankSelect ('bank_code').children);
  Site.secret (form.elements.account_number);

  Site.form (form, async () => {
    const body = Site.cardCredentials (form);
    body.bank_code = form.elements.bank_code.value;
    body.account_number = Site.cardDigits (form.elements.account_number.value);
    body.account_holder = form.elements.account_holder.value.trim ();
    body.locale = Site.lang;
    const email = form.elements.email.value.trim ();
    if (email !== '')
      body.email = email;
    const refund = await Site.post ('refund', '/v1/cards/refund', body);
    Site.setText (document.getElementById ('refunded-text'),
                  refund.status === 'succeeded' ? 'refund.done_text' : 'refund.pending_text', {
      amount: { money: refund.amount, currency: refund.currency },
      bank: refund.bank_name,
      account: refund.account_last4,
      last4: refund.card_last4,
    });
    Site.showResult (form, document.getElementById ('refunded'));
  });
}) ();
