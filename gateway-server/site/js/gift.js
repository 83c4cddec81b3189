/* gift.js: the gift form (FIG. 10D) and the gift card it draws
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A design image, the recipient's name, a message, its colour and size, a
 * background tune and the recipient's e-mail. The same drawing shows the
 * preview here and the card on the claim page.
 */
'use strict';

(function () {
  const { el } = Site;

  /* The designs the gift e-mail knows too (gw-templates.c). */
  const DESIGNS = ['birthday', 'congratulations', 'love', 'thanks', 'christmas', 'newyear'];
  /* The API takes a colour as #rrggbb and a size as 8, 10 or 12 points, as
   * on the seed's screen; these all contrast with the message's white. */
  const COLORS = { black: '#1b1f24', navy: '#1f3a93', red: '#a4161a', green: '#1b5e20',
                   purple: '#5b2a86', brown: '#6d4c41' };
  const SIZES = { 8: 'small', 10: 'medium', 12: 'large' };

  /* The drawn card: design, "To", message in its colour and size, "From". */
  Site.giftCard = function (gift) {
    const design = DESIGNS.includes (gift.design) ? gift.design : 'congratulations';
    const size = SIZES[gift.font_size] || 'medium';
    const message = el ('p', { class: 'message size-' + size });
    /* Through the CSSOM, which the Content-Security-Policy allows. */
    message.style.color = /^#[0-9a-fA-F]{6}$/.test (gift.font_color || '') ? gift.font_color
                                                                           : COLORS.black;
    message.append (el ('strong', { i18n: ['gift.to_name', { name: gift.recipient_name || '' }] }),
                    '\n', gift.message || '');
    return el ('figure', { class: 'gift-card' },
               el ('img', { src: '/img/designs/' + design + '.svg', width: 400, height: 240,
                            'data-i18n-attr': 'alt:design.' + design,
                            alt: Site.t ('design.' + design) }),
               message,
               el ('figcaption', { class: 'from', i18n: ['gift.from_name',
                                                         { name: gift.sender_name || '' }] }));
  };

  function textField (id, name, labelKey, attrs, hintKey) {
    const input = el (attrs.multiline ? 'textarea' : 'input',
                      Object.assign ({ id, name, 'aria-describedby':
                                       (hintKey ? id + '-hint ' : '') + id + '-error' },
                                     attrs.multiline ? { maxlength: attrs.maxlength }
                                                     : attrs));
    const label = el ('label', { for: id }, el ('span', { i18n: [labelKey] }));
    if (attrs.required)
      label.append (el ('span', { class: 'req', 'aria-hidden': 'true' }, '*'));
    return el ('div', { class: 'field' }, label, input,
               hintKey ? el ('span', { class: 'hint', id: id + '-hint', i18n: [hintKey] }) : null,
               el ('p', { class: 'field-error', id: id + '-error' }));
  }

  function radioGroup (name, legendKey, values, make) {
    const box = el ('div', { class: name === 'design' ? 'designs' : 'swatches' });
    for (const value of values)
      box.append (make (value));
    return el ('fieldset', { 'aria-describedby': name + '-error' },
               el ('legend', { i18n: [legendKey] }), box,
               el ('p', { class: 'field-error', id: name + '-error' }));
  }

  function designChoice (value) {
    return el ('label', { class: 'design-choice' },
               el ('input', { type: 'radio', name: 'design', value, required: true }),
               el ('img', { src: '/img/designs/' + value + '.svg', alt: '', width: 200, height: 120 }),
               el ('span', { i18n: ['design.' + value] }));
  }

  function colorChoice (name) {
    return el ('label', { class: 'swatch' },
               el ('input', { type: 'radio', name: 'font_color', value: COLORS[name], required: true }),
               el ('span', { class: 'chip ink-' + name, 'aria-hidden': 'true' }),
               el ('span', { i18n: ['color.' + name] }));
  }

  function sizeChoice (points) {
    return el ('label', { class: 'swatch' },
               el ('input', { type: 'radio', name: 'font_size', value: points, required: true }),
               el ('span', { class: 'size-' + SIZES[points], i18n: ['size.' + SIZES[points]] }));
  }

  function musicSelect () {
    const select = el ('select', { id: 'gift-music', name: 'music', 'aria-describedby': 'gift-music-error' });
    for (const tune of Site.music.TUNES)
      select.append (el ('option', { value: tune, i18n: ['music.' + tune] }));
    const play = Site.music.button (() => select.value);
    return el ('div', { class: 'field' },
               el ('label', { for: 'gift-music', i18n: ['gift.music'] }), select, ' ', play,
               el ('p', { class: 'field-error', id: 'gift-music-error' }));
  }

  /* Builds the form in @container. @card is { value, last4 }; @send (gift)
   * is awaited on submit and may throw a Site.ApiError. */
  Site.giftForm = function (container, card, senderName, send) {
    const form = el ('form', { class: 'gift-form', method: 'post' });
    const preview = el ('div', { class: 'gift-preview', 'aria-live': 'off' });
    form.append (
      el ('div', { class: 'form-error', role: 'alert' }),
      radioGroup ('design', 'gift.design', DESIGNS, designChoice),
      textField ('gift-recipient', 'recipient_name', 'gift.recipient_name',
                 { type: 'text', required: true, maxlength: 64, autocomplete: 'off' }),
      textField ('gift-message', 'message', 'gift.message',
                 { multiline: true, maxlength: 500 }, 'gift.message_hint'),
      textField ('gift-sender', 'sender_name', 'gift.sender_name',
                 { type: 'text', required: true, maxlength: 64, autocomplete: 'name' },
                 'gift.sender_hint'),
      radioGroup ('font_color', 'gift.font_color', Object.keys (COLORS), colorChoice),
      radioGroup ('font_size', 'gift.font_size', Object.keys (SIZES), sizeChoice),
      musicSelect (),
      textField ('gift-email', 'recipient_email', 'gift.recipient_email',
                 { type: 'email', required: true, maxlength: 254, autocomplete: 'off' },
                 'gift.email_hint'),
      el ('h3', { i18n: ['gift.preview'] }), preview,
      el ('div', { class: 'actions' }, el ('button', { type: 'submit', i18n: ['gift.send'] })));
    container.append (form);

    form.elements.sender_name.value = senderName || '';
    form.querySelector ('input[name="design"][value="birthday"]').checked = true;
    form.querySelector ('input[name="font_color"][value="' + COLORS.black + '"]').checked = true;
    form.querySelector ('input[name="font_size"][value="10"]').checked = true;

    const values = () => ({
      design: form.elements.design.value,
      recipient_name: form.elements.recipient_name.value.trim (),
      message: form.elements.message.value,
      sender_name: form.elements.sender_name.value.trim (),
      font_color: form.elements.font_color.value,
      font_size: Number (form.elements.font_size.value),
      music: form.elements.music.value,
      recipient_email: form.elements.recipient_email.value.trim (),
    });
    const redraw = () => preview.replaceChildren (Site.giftCard (values ()));
    form.addEventListener ('input', redraw);
    form.addEventListener ('change', redraw);
    Site.onLanguage (redraw);
    redraw ();

    Site.form (form, () => send (values ()));
    return form;
  };
}) ();
