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

  /* 990 is onepin-bank, the sandbox of development and the demo. */
  const BANKS = [
    ['990', 'bank.sandbox'],
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
   * funding () gives the request's funding members (FundingMethod in
   * schema/openapi.yaml). Field names are the API's, so a refusal's
   * "param" (e.g. "credit_card.number") marks the right field. */
  Site.payMethod = function (container, prefix) {
    const p = prefix || 'pm';
    const group = el ('fieldset', { class: 'method-group' },
                      el ('legend', { i18n: ['pay.method'] }),
                      el ('div', { class: 'choices' },
                          radio ('credit_card', 'pay.card'),
                          radio ('bank_account', 'pay.account'),
                          radio ('transfer', 'pay.transfer')),
                      el ('p', { class: 'field-error', id: 'method-error' }));
    group.setAttribute ('aria-describedby', 'method-error');

    const cardNumber = el ('input', { type: 'text', name: 'credit_card.number', class: 'card-number',
                                      inputmode: 'numeric', autocomplete: 'cc-number',
                                      pattern: '[0-9 \\-]{12,23}', maxlength: 23,
                                      'data-pattern-error': 'err.credit_card' });
    const expiry = el ('input', { type: 'text', name: 'credit_card.expiry', class: 'short',
                                  inputmode: 'numeric', autocomplete: 'cc-exp',
                                  pattern: '(0[1-9]|1[0-2]) ?/ ?[0-9]{2}', maxlength: 7,
                                  'data-pattern-error': 'err.expiry' });
    const cvc = el ('input', { type: 'password', name: 'credit_card.cvc', class: 'short',
                               inputmode: 'numeric', autocomplete: 'cc-csc',
                               pattern: '[0-9]{3,4}', maxlength: 4,
                               'data-pattern-error': 'err.cvc' });
    const cardFields = el ('fieldset', { hidden: true },
                           el ('legend', { i18n: ['pay.card'] }),
                           field (p + '-card-number', 'pay.card_number', cardNumber, null, true),
                           field (p + '-expiry', 'pay.expiry', expiry, 'pay.expiry_hint', true),
                           field (p + '-cvc', 'pay.cvc', cvc, 'pay.cvc_hint', true));

    const bank = bankSelect ('bank_account.bank_code');
    const account = el ('input', { type: 'text', name: 'bank_account.account_number',
                                   inputmode: 'numeric', autocomplete: 'off',
                                   pattern: '[0-9 \\-]{6,24}', maxlength: 24,
                                   'data-pattern-error': 'err.account' });
    const accountPassword = el ('input', { type: 'password', name: 'bank_account.password',
                                           inputmode: 'numeric', autocomplete: 'off',
                                           pattern: '[0-9]{4}', maxlength: 4,
                                           'data-pattern-error': 'err.pin4' });
    const accountFields = el ('fieldset', { hidden: true },
                              el ('legend', { i18n: ['pay.account'] }),
                              field (p + '-bank', 'pay.bank', bank, null, true),
                              field (p + '-account', 'pay.account_number', account, null, true),
                              field (p + '-account-password', 'pay.account_password',
                                     accountPassword, 'pay.account_password_hint', true));

    const depositor = el ('input', { type: 'text', name: 'transfer.depositor_name',
                                     autocomplete: 'name', maxlength: 100 });
    const transferFields = el ('fieldset', { hidden: true },
                               el ('legend', { i18n: ['pay.transfer'] }),
                               el ('p', { class: 'notice', i18n: ['pay.transfer_note'] }),
                               field (p + '-depositor', 'pay.depositor', depositor,
                                      'pay.depositor_hint', true));

    container.append (group, cardFields, accountFields, transferFields);
    for (const input of [cardNumber, expiry, cvc, account, accountPassword])
      Site.secret (input);

    const panels = { credit_card: cardFields, bank_account: accountFields,
                     transfer: transferFields };
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
      /* The request's funding members: "method" and the one it names. */
      funding () {
        const method = this.method ();
        if (method === 'credit_card')
          return { method, credit_card: { number: Site.cardDigits (cardNumber.value),
                                          expiry: expiry.value.replace (/\s/g, ''),
                                          cvc: cvc.value } };
        if (method === 'bank_account')
          return { method, bank_account: { bank_code: bank.value,
                                           account_number: Site.cardDigits (account.value),
                                           password: accountPassword.value } };
        return { method, transfer: { depositor_name: depositor.value.trim () } };
      },
      /* A depositor's name to start with: the buyer's. */
      setDepositor (name) {
        if (depositor.value === '')
          depositor.value = name;
      },
      /* The passwords are not kept for a second attempt. */
      clear () {
        cvc.value = '';
        accountPassword.value = '';
      },
    };
  };
}) ();
