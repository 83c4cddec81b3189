/* pay-method.js: choosing how to pay for cards or a recharge (FIG. 10B, 10G)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A credit card, a bank account (number and password), or a bank transfer
 * to a virtual account that is paid later. Never a onepin card. The fields
 * are wiped when the page is hidden, like every secret.
 */
'use strict';

(function () {
  const { el } = Site;

  const BANKS = [
    ['004', 'bank.kb'],
    ['088', 'bank.shinhan'],
    ['020', 'bank.woori'],
    ['081', 'bank.hana'],
    ['011', 'bank.nh'],
    ['003', 'bank.ibk'],
  ];

  function field (id, labelKey, input, hintKey, required) {
    const describedBy = (hintKey ? id + '-hint ' : '') + id + '-error';
    input.id = id;
    input.setAttribute ('aria-describedby', describedBy);
    if (required)
      input.required = true;
    const label = el ('label', { for: id }, el ('span', { i18n: [labelKey] }));
    if (required)
      label.append (el ('span', { class: 'req', 'aria-hidden': 'true' }, '*'));
    return el ('div', { class: 'field' }, label, input,
               hintKey ? el ('span', { class: 'hint', id: id + '-hint', i18n: [hintKey] }) : null,
               el ('p', { class: 'field-error', id: id + '-error' }));
  }

  function bankSelect (name) {
    const select = el ('select', { name },
                       el ('option', { value: '', i18n: ['pay.bank_choose'] }));
    for (const [code, key] of BANKS)
      select.append (el ('option', { value: code, i18n: [key] }));
    return select;
  }

  Site.bankSelect = bankSelect;

  function radio (value, key) {
    return el ('label', { class: 'choice' },
               el ('input', { type: 'radio', name: 'method', value, required: true }),
               el ('span', { i18n: [key] }));
  }

  /* Fills @container (inside a form) and returns an object whose
   * payment () is the request's "payment" member. */
  Site.payMethod = function (container, prefix) {
    const p = prefix || 'pm';
    const group = el ('fieldset', { class: 'method-group' },
                      el ('legend', { i18n: ['pay.method'] }),
                      el ('div', { class: 'choices' },
                          radio ('card', 'pay.card'), radio ('account', 'pay.account'),
                          radio ('transfer', 'pay.transfer')),
                      el ('p', { class: 'field-error', id: 'method-error' }));
    group.setAttribute ('aria-describedby', 'method-error');

    const cardNumber = el ('input', { type: 'text', name: 'card_number', class: 'card-number',
                                      inputmode: 'numeric', autocomplete: 'cc-number',
                                      pattern: '[0-9 \\-]{13,23}', maxlength: 23,
                                      'data-pattern-error': 'err.credit_card' });
    const expiry = el ('input', { type: 'text', name: 'expiry', class: 'short',
                                  inputmode: 'numeric', autocomplete: 'cc-exp',
                                  pattern: '(0[1-9]|1[0-2]) ?/ ?[0-9]{2}', maxlength: 7,
                                  'data-pattern-error': 'err.expiry' });
    const cardFields = el ('fieldset', { hidden: true },
                           el ('legend', { i18n: ['pay.card'] }),
                           field (p + '-card-number', 'pay.card_number', cardNumber, null, true),
                           field (p + '-expiry', 'pay.expiry', expiry, 'pay.expiry_hint', true));

    const bank = bankSelect ('bank');
    const account = el ('input', { type: 'text', name: 'account_number', inputmode: 'numeric',
                                   autocomplete: 'off', pattern: '[0-9\\-]{6,20}',
                                   maxlength: 20, 'data-pattern-error': 'err.account' });
    const accountPassword = el ('input', { type: 'password', name: 'account_password',
                                           inputmode: 'numeric', autocomplete: 'off',
                                           pattern: '[0-9]{4}', maxlength: 4,
                                           'data-pattern-error': 'err.pin4' });
    const accountFields = el ('fieldset', { hidden: true },
                              el ('legend', { i18n: ['pay.account'] }),
                              field (p + '-bank', 'pay.bank', bank, null, true),
                              field (p + '-account', 'pay.account_number', account, null, true),
                              field (p + '-account-password', 'pay.account_password',
                                     accountPassword, 'pay.account_password_hint', true));

    const transferNote = el ('p', { class: 'notice', hidden: true, i18n: ['pay.transfer_note'] });

    container.append (group, cardFields, accountFields, transferNote);
    Site.secret (cardNumber);
    Site.secret (expiry);
    Site.secret (account);
    Site.secret (accountPassword);

    const panels = { card: cardFields, account: accountFields, transfer: transferNote };
    group.addEventListener ('change', () => {
      const chosen = group.querySelector ('input:checked');
      for (const [value, panel] of Object.entries (panels))
        panel.hidden = !chosen || chosen.value !== value;
    });

    return {
      method () {
        const chosen = group.querySelector ('input:checked');
        return chosen ? chosen.value : null;
      },
      payment () {
        const method = this.method ();
        if (method === 'card') {
          const [month, year] = expiry.value.replace (/\s/g, '').split ('/');
          return { method, card_number: Site.cardDigits (cardNumber.value),
                   expiry_month: Number (month), expiry_year: 2000 + Number (year) };
        }
        if (method === 'account')
          return { method, bank: bank.value, account_number: account.value.replace (/-/g, ''),
                   account_password: accountPassword.value };
        return { method: 'transfer' };
      },
      /* The payment's secret fields are cleared after each attempt. */
      clear () {
        for (const input of [cardNumber, expiry, account, accountPassword])
          input.value = '';
      },
    };
  };
}) ();
