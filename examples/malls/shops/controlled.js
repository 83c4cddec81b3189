/* controlled.js: a checkout form with controlled inputs, as React renders
 * them (demo, no library).
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The state is the truth: each input's value is rendered from it, an
 * "input" event writes to it, and every render puts every input's value
 * back from it. So a value set on the DOM without an input event (as a
 * naive autofill would) does not reach the order, and is undone at the
 * next render: filling must use the native value setter and dispatch
 * "input", as React's own tests do.
 */
'use strict';

(function () {
  const fields = [
    { key: 'holder', label: 'Cardholder name', id: 'holderName', autocomplete: 'cc-name' },
    { key: 'number', label: 'Card number', id: 'cardNumberInput', autocomplete: 'cc-number' },
    { key: 'expiry', label: 'Expiry (MM / YY)', id: 'expiryInput', autocomplete: 'cc-exp' },
    { key: 'cvc', label: 'CVC', id: 'cvcInput', autocomplete: 'cc-csc' },
  ];
  const state = { holder: '', number: '', expiry: '', cvc: '' };
  const inputs = {};

  function render () {
    for (const field of fields)
      if (inputs[field.key].value !== state[field.key])
        inputs[field.key].value = state[field.key];
  }

  function build () {
    const form = document.createElement('form');
    form.id = 'checkout';
    for (const field of fields) {
      const label = document.createElement('label');
      label.htmlFor = field.id;
      label.textContent = field.label;
      const input = document.createElement('input');
      input.id = field.id;
      input.autocomplete = field.autocomplete;
      input.addEventListener('input', (event) => {
        state[field.key] = event.target.value;
        render();
      });
      inputs[field.key] = input;
      form.append(label, input);
    }
    const button = document.createElement('button');
    button.type = 'submit';
    button.textContent = 'Buy';
    form.append(button);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      render();
      payCard('react', { number: state.number.replace(/[\s-]/g, ''),
                         expiry: state.expiry.replace(/\s/g, ''), cvc: state.cvc });
    });
    document.getElementById('root').append(form);
    render();
  }

  build();
})();
