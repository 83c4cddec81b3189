/* inquiry.js: the usage inquiry — the summary (FIG. 10H), then the
 * detailed lines (FIG. 10I)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

(function () {
  const { el } = Site;
  const PAGE = 20;
  const form = document.getElementById ('inquiry-form');
  const summary = document.getElementById ('summary');
  const details = document.getElementById ('details');
  const more = document.getElementById ('more-details');

  let credentials = null;    /* kept in memory only, for "Show more" */
  let lastLine = null;

  window.addEventListener ('pagehide', () => { credentials = null; });
  Site.offerHint (form);

  function signed (amount, currency) {
    const cls = amount > 0 ? 'num plus' : amount < 0 ? 'num minus' : 'num';
    const key = amount > 0 ? 'money.plus' : amount < 0 ? 'money.minus' : 'money.amount';
    return el ('td', { class: cls, i18n: [key, { m: { money: Math.abs (amount), currency } }] });
  }

  function dateCell (seconds) {
    return el ('td', seconds ? { i18n: ['date.full', { d: { date: seconds } }] } : {});
  }

  function summaryRow (key, seconds, amount, currency) {
    return el ('tr', {}, el ('th', { scope: 'row', i18n: [key] }), dateCell (seconds),
               amount === null ? el ('td') : signed (amount, currency));
  }

  function showSummary (s, last4) {
    const c = s.currency;
    const paid = s.total_paid || {};
    Site.setText (document.getElementById ('summary-heading'), 'inquiry.summary_heading', { last4 });
    document.getElementById ('summary-rows').replaceChildren (
      summaryRow ('inquiry.initial', s.issued_at, s.initial_amount, c),
      summaryRow ('inquiry.validity', s.expires_at, null, c),
      summaryRow ('inquiry.recharged', null, s.total_recharged, c),
      summaryRow ('inquiry.refunded', null, s.total_refunded, c),
      summaryRow ('inquiry.internet', null, -(paid.internet || 0), c),
      summaryRow ('inquiry.telephone', null, -(paid.telephone || 0), c),
      summaryRow ('inquiry.telephone_information', null, -(paid.telephone_information || 0), c),
      summaryRow ('inquiry.prepaid_mobile', null, -(paid.prepaid_mobile || 0), c),
      summaryRow ('inquiry.foreign', null, -(paid.foreign || 0), c),
      summaryRow ('inquiry.paid_out', null, -(s.total_paid_out || 0), c),
      el ('tr', {}, el ('th', { scope: 'row', i18n: ['inquiry.balance'] }), el ('td'),
          el ('td', { class: 'num', i18n: ['money.amount', { m: { money: s.balance, currency: c } }] })));
    Site.setText (document.getElementById ('points'), 'inquiry.points', { n: { count: s.points } });
    /* A refunded card's holder still sees its history, the refund included. */
    document.getElementById ('closed-note').hidden = s.state !== 'closed';
  }

  /* Where the money went: the shop's name when the gateway gives it. */
  function where (line) {
    if (line.merchant_name)
      return el ('td', {}, line.merchant_name);
    if (line.type === 'payment' || line.type === 'refund')
      return el ('td', {}, line.description || line.merchant || '');
    const key = 'inquiry.type_' + line.type;
    return el ('td', { i18n: [key in window.ONEPIN_STRINGS.en ? key : 'inquiry.type_other'] });
  }

  function appendLines (lines, currency) {
    const body = document.getElementById ('detail-rows');
    for (const line of lines)
      body.append (el ('tr', {}, where (line), dateCell (line.created),
                       signed (line.amount, currency),
                       el ('td', { class: 'num', i18n: ['money.amount',
                                                        { m: { money: line.balance_after, currency } }] })));
    if (lines.length > 0)
      lastLine = lines[lines.length - 1].id;
  }

  let currency = 'krw';

  async function fetchPage (first) {
    const body = Object.assign ({ limit: PAGE }, credentials);
    if (!first)
      body.starting_after = lastLine;
    const answer = await Site.api ('/v1/cards/statement', body);
    currency = answer.summary.currency;
    appendLines (answer.data, currency);
    more.hidden = !answer.has_more;
    return answer;
  }

  Site.form (form, async () => {
    credentials = Site.cardCredentials (form);
    document.getElementById ('detail-rows').replaceChildren ();
    details.hidden = true;
    const answer = await fetchPage (true);
    const last4 = answer.card_last4 || credentials.number.slice (-4);
    showSummary (answer.summary, last4);
    form.elements.password.value = '';
    summary.hidden = false;
    Site.focusHeading (summary);
  });

  document.getElementById ('show-details').addEventListener ('click', () => {
    details.hidden = false;
    Site.focusHeading (details);
  });

  document.getElementById ('close-details').addEventListener ('click', () => {
    details.hidden = true;
    document.getElementById ('show-details').focus ();
  });

  more.addEventListener ('click', async () => {
    const status = document.getElementById ('details-status');
    more.disabled = true;
    try {
      const answer = await fetchPage (false);
      Site.setText (status, 'inquiry.more_loaded', { n: { count: answer.data.length } });
    } catch (err) {
      Site.setText (status, Site.errorKey (err));
    } finally {
      more.disabled = false;
    }
  });
}) ();
