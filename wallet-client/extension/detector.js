/* detector.js: finds the payment fields of a page
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A classic script with no dependencies, loaded as a content script and by
 * outside tools. It defines one function:
 *
 *   OnePinDetector.classify(root) -> [{element, type}, ...]
 *
 * for the payment fields under root (a Document, an Element or a
 * ShadowRoot), in document order. type is a WHATWG autocomplete token
 * (cc-number, cc-name, cc-exp, cc-exp-month, cc-exp-year, cc-csc, cc-type)
 * or one of bank-account-number, bank-account-holder, bank-name. Every
 * other field is left out.
 *
 * How a field is typed, strongest evidence first:
 *   1. its autocomplete attribute, when it names a field;
 *   2. the first of name, id, label (for=, wrapping, aria-labelledby),
 *      placeholder, aria-label, title and the text before the field that
 *      says something definite (English, Korean and a few other languages);
 *   3. the form around it: month and year fields count only after a card
 *      number and never beside a day field (a birth date); a field that
 *      says only "expiry" is a month or year when its options or its
 *      neighbour say so; a card number split over several short inputs is
 *      cc-number in each; a card has one expiry.
 */
(function (global) {
  'use strict';

  const OURS = new Set([
    'cc-number', 'cc-name', 'cc-exp', 'cc-exp-month', 'cc-exp-year', 'cc-csc',
    'cc-type', 'bank-account-number', 'bank-account-holder', 'bank-name',
  ]);

  /* WHATWG autofill field names that are not ours: an autocomplete
   * attribute naming one of them settles the field as "not a payment
   * field", whatever its label says. */
  const OTHER_FIELD_NAMES = new Set([
    'name', 'honorific-prefix', 'given-name', 'additional-name', 'family-name',
    'honorific-suffix', 'nickname', 'username', 'new-password',
    'current-password', 'one-time-code', 'organization-title', 'organization',
    'street-address', 'address-line1', 'address-line2', 'address-line3',
    'address-level4', 'address-level3', 'address-level2', 'address-level1',
    'country', 'country-name', 'postal-code', 'cc-given-name',
    'cc-additional-name', 'cc-family-name', 'transaction-currency',
    'transaction-amount', 'language', 'bday', 'bday-day', 'bday-month',
    'bday-year', 'sex', 'url', 'photo', 'tel', 'tel-country-code',
    'tel-national', 'tel-area-code', 'tel-local', 'tel-local-prefix',
    'tel-local-suffix', 'tel-extension', 'email', 'impp',
  ]);

  const SKIPPED_INPUT_TYPES = new Set([
    'hidden', 'submit', 'button', 'image', 'reset', 'file', 'range', 'color',
    'checkbox', 'radio', 'email', 'url', 'date', 'datetime-local', 'time',
    'week',
  ]);

  /* ---- Text ---- */

  /* "cardExpiryMonth_CC" -> "card expiry month cc"; keeps "/" for MM/YY. */
  function words(s) {
    return String(s || '')
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .replace(/([A-Za-z])([0-9])/g, '$1 $2')
      .toLowerCase()
      .replace(/[\s_\-.:,;*+()[\]{}|#"'?!$@&=<>~^%\\]+/g, ' ')
      .trim();
  }

  function compact(s) {
    return String(s || '').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
  }

  /* The patterns, tried in order on one piece of text. The first that
   * matches gives a hint: a type of ours, "none" (definitely something
   * else), or a weak hint ("exp", "month", "year", "account") that the
   * form around the field resolves. */
  const RULES = [
    ['none', /\b(birth|dob|bday|birthday|born|d o b)\b|생년월일|생일|출생|nacimiento|geburt|naissance|lahir|生年月日|出生/],
    ['none', /\b(e ?mail|phone|mobile|telephone|tel|fax|zip|postal|post ?code|postcode|address|street|city|town|state|province|country|coupon|promo|voucher|discount|gift ?code|otp|sms|nick ?name|alias|company|search|quantity|qty|amount|username|login|user ?id)\b|우편|주소|전화|휴대폰|핸드폰|연락처|이메일|쿠폰|인증 ?번호|주민|사업자|별칭|수량|금액|아이디|\bdni\b|documento|\bssn\b|passport|\btax\b|\bvat\b/],
    ['none', /\b(password|passwd|passcode|pwd)\b|비밀 ?번호|암호|パスワード/],
    /* Cards that do not pay: the shop's own gift and loyalty cards. */
    ['none', /\b(gift|member|membership|loyalty|reward|rewards|bonus|points?|library|student|club) ?card|\bgiftcard|멤버십|포인트|적립|캐쉬백|상품권|기프트/],
    ['none', /\b(first|last|given|family|middle|sur) ?name\b|\b(fname|lname|surname|firstname|lastname)\b|\b(first|last)\b|vorname|nachname|prénom|apellido|\b성\b/],
    ['cc-exp', /\bmm ?\/? ?(yy|yyyy|jj|jjjj|aa|aaaa)\b|\bmmyy(yy)?\b|(월|mm) ?\/ ?(년|연|yy)|\b(exp|expiry|expiration) ?(date)? ?(mm|month) ?\/ ?(yy|year)/],
    ['cc-exp-month', /\b(exp|expiry|expiration|expires|expire|valid|card|cc|credit)\b.*\b(month|mon|mm|mo)\b|\b(month|mm)\b.*\b(exp|expiry|expiration|card|cc)\b|(유효|만료).*월|exp ?mm|\bccmonth\b|\bexpmonth\b/],
    ['cc-exp-year', /\b(exp|expiry|expiration|expires|expire|valid|card|cc|credit)\b.*\b(year|yr|yy|yyyy)\b|\b(year|yy|yyyy)\b.*\b(exp|expiry|expiration|card|cc)\b|(유효|만료).*(년|연도)|exp ?yy|\bccyear\b|\bexpyear\b/],
    ['exp', /\bexp\b|\bexp ?date|\bexpir|\bexpires?\b|valid ?(thru|through|until|to)|good ?thru|유효 ?기간|만료|ablauf|g[üu]ltig ?bis|vencimiento|caducidad|validade|scadenza|kadaluarsa|kedaluwarsa|expiration|有効期限|到期|срок действия/],
    ['cc-csc', /\b(cvc|cvv|cvv ?2|cvc ?2|csc|cvn|cvd|ccv|cid|cvs)\b|security ?(code|number|no|num|value)|card ?(verification|security) ?(code|number|value)?|verification ?(value|number)|card ?code|보안 ?코드|보안 ?번호|cvc ?번호|(code|numéro) de sécurité|cryptogramme|código de seguridad|prüf ?(nummer|ziffer)|sicherheitscode|kode keamanan|セキュリティ ?コード|安全码/],
    ['cc-type', /\bcard ?(type|brand|issuer|company|kind)\b|\bcc ?type\b|type of (credit )?card|카드 ?(종류|사|회사)|카드사|tipo de tarjeta|karten ?typ|type de carte|jenis kartu/],
    ['bank-account-holder', /\baccount ?(holder|owner|name)\b|예금주|beneficiary|수취인/],
    ['cc-name', /\bname ?on ?(the )?card\b|card ?holder|\bcard ?name\b|\bcc ?name\b|\bname ?of ?(the )?card|카드 ?소유자|소유자|카드 ?명의|명의자|titular|karten ?inhaber|titulaire|nama.*kartu|名義|持卡人/],
    ['bank-account-number', /계좌 ?번호|계좌|bank ?account|\biban\b|konto ?nummer|número de cuenta|口座番号/],
    ['cc-number', /\bcard ?(number|num|no|nr|#)\b|\bcc ?(number|num|no|nr)\b|\b(credit|debit|prepaid|payment) ?card\b|\bcardnumber\b|\bccnum|카드 ?번호|카드번호|신용 ?카드|체크 ?카드|kartennummer|(número|numero|n[º°]) de (la )?tarjeta|numéro de (la )?carte|numero (di|della) carta|no ?kartu|nomor kartu|kartu kredit|カード番号|卡号|номер карты/],
    ['account', /\b(account|acct) ?(number|num|no|nr)\b/],
    ['holder', /\bholder ?(name)?\b|\bowner\b/],
    ['bank-name', /은행|\bbank\b|banco|banque|銀行/],
    ['month', /\b(month|mon|mm|mois|monat|mes|bulan)\b|(^| )월( |$)/],
    ['year', /\b(year|yr|yy|yyyy|année|jahr|año|ano|tahun)\b|(^| )(년|연도)( |$)/],
  ];

  /* Separators squeezed out: "c-v-v", "C V V", "card_no". */
  const COMPACT_RULES = [
    ['cc-csc', /cvv|cvc|^csc/],
    ['cc-name', /nameoncard|cardholder|ccholder|holdername/],
    ['cc-number', /cardnumber|ccnumber|cardnum|ccnum|cardno\d*$|creditcard$/],
    ['cc-type', /cardtype|cctype|cardbrand/],
  ];

  function hintOf(text) {
    const w = words(text);
    if (!w)
      return null;
    for (const [hint, re] of RULES)
      if (re.test(w))
        return hint;
    const c = compact(text);
    for (const [hint, re] of COMPACT_RULES)
      if (re.test(c))
        return hint;
    return null;
  }

  const WEAK = new Set(['exp', 'month', 'year', 'account', 'holder']);

  /* ---- The texts that describe a field ---- */

  function textOf(node) {
    if (!node)
      return '';
    if (node.nodeType === 3)
      return node.data;
    if (node.nodeType !== 1)
      return '';
    const tag = node.localName;
    if (tag === 'script' || tag === 'style' || tag === 'select' ||
        tag === 'option' || tag === 'template' || tag === 'noscript')
      return '';
    if (tag === 'img')
      return node.getAttribute('alt') || '';
    let s = '';
    for (let c = node.firstChild; c; c = c.nextSibling)
      s += ' ' + textOf(c);
    return s;
  }

  function clean(s) {
    return String(s || '').replace(/\s+/g, ' ').trim();
  }

  function labelText(el) {
    const parts = [];
    const doc = el.ownerDocument;
    if (el.labels)
      for (const label of el.labels)
        parts.push(textOf(label));
    const ids = el.getAttribute('aria-labelledby');
    if (ids && doc)
      for (const id of ids.split(/\s+/)) {
        const node = (el.getRootNode && el.getRootNode().getElementById
                      ? el.getRootNode() : doc).getElementById(id);
        if (node)
          parts.push(textOf(node));
      }
    return clean(parts.join(' '));
  }

  const CONTROLS = 'input:not([type=hidden]), select, textarea, button';
  const INLINE = new Set([
    'span', 'b', 'i', 'em', 'strong', 'label', 'font', 'small', 'big', 'sup',
    'sub', 'u', 'a', 'abbr', 'bdi', 'mark', 'img', 'nobr',
  ]);
  const MAX_INFERRED = 120;

  /* The text just before the field in its parent: "Card number: <input>". */
  function previousText(el) {
    let text = '';
    for (let n = el.previousSibling; n; n = n.previousSibling) {
      if (n.nodeType === 3) {
        text = n.data + ' ' + text;
        continue;
      }
      if (n.nodeType !== 1)
        continue;
      const tag = n.localName;
      if (n.matches(CONTROLS) || n.querySelector(CONTROLS))
        break;
      if (INLINE.has(tag)) {
        text = textOf(n) + ' ' + text;
        continue;
      }
      /* "<span>Label</span><br><input>": a line break before any text
       * only separates the label from its field. */
      if ((tag === 'br' || tag === 'wbr') && !clean(text))
        continue;
      if (!clean(text) && tag !== 'br' && tag !== 'hr')
        text = textOf(n);
      break;
    }
    return clean(text);
  }

  /* Chromium-like label inference for fields without a <label>: the text
   * before the field, the previous table cell or <dt>, or the text block
   * just above one of the field's near ancestors. */
  function inferredLabel(el) {
    let text = previousText(el);
    if (text)
      return text.length <= MAX_INFERRED ? text : '';
    let node = el;
    for (let depth = 0; depth < 4 && node.parentElement; depth++) {
      const parent = node.parentElement;
      const tag = parent.localName;
      if (tag === 'form' || tag === 'body' || tag === 'fieldset')
        break;
      if (tag === 'td' || tag === 'th' || tag === 'dd') {
        let prev = parent.previousElementSibling;
        if (!prev && tag !== 'dd' && parent.parentElement) {
          const row = parent.parentElement.previousElementSibling;
          prev = row ? row.lastElementChild : null;
        }
        text = prev && !prev.querySelector(CONTROLS) ? clean(textOf(prev)) : '';
        if (text)
          break;
      }
      /* Text above a run of fields describes the run, not this field:
       * stop climbing at the first block that holds another field. */
      let blocked = false;
      for (let prev = parent.previousElementSibling; prev;
           prev = prev.previousElementSibling) {
        if (prev.querySelector(CONTROLS) || prev.matches(CONTROLS)) {
          blocked = true;
          break;
        }
        text = clean(textOf(prev));
        if (text)
          break;
      }
      if (text || blocked)
        break;
      text = previousText(parent);
      if (text)
        break;
      node = parent;
    }
    return text.length <= MAX_INFERRED ? text : '';
  }

  function legendText(el) {
    const fieldset = el.closest('fieldset');
    const legend = fieldset ? fieldset.querySelector(':scope > legend') : null;
    return legend ? clean(textOf(legend)) : '';
  }

  /* ---- One field on its own ---- */

  function autocompleteType(el) {
    const tokens = (el.getAttribute('autocomplete') || '').toLowerCase()
      .trim().split(/\s+/).filter(Boolean);
    if (tokens[tokens.length - 1] === 'webauthn')
      tokens.pop();
    const field = tokens[tokens.length - 1];
    if (OURS.has(field))
      return field;
    if (OTHER_FIELD_NAMES.has(field))
      return 'none';
    return null;
  }

  /* Sources in order of trust. Inferred text comes last: it may belong to
   * a neighbour. */
  function sources(el) {
    return [
      () => el.getAttribute('name'),
      () => el.id,
      () => labelText(el),
      () => el.getAttribute('placeholder'),
      () => el.getAttribute('aria-label'),
      () => el.getAttribute('title'),
      () => el.getAttribute('x-autocompletetype') ||
            el.getAttribute('autocompletetype'),
      () => inferredLabel(el),
      () => legendText(el),
    ];
  }

  /* The first source that says something definite decides. Weak hints
   * are kept and combined: "month" with "expiry" is the card's month. */
  function describe(el) {
    const fromAttribute = autocompleteType(el);
    if (fromAttribute)
      return { hint: fromAttribute, autocomplete: true };
    const weak = new Set();
    for (const source of sources(el)) {
      const hint = hintOf(source());
      if (!hint)
        continue;
      if (WEAK.has(hint)) {
        weak.add(hint);
        continue;
      }
      if (hint === 'none' && weak.has('exp') &&
          (weak.has('month') || weak.has('year')))
        break;
      return { hint, autocomplete: false };
    }
    if (weak.has('exp') && weak.has('month'))
      return { hint: 'cc-exp-month', autocomplete: false };
    if (weak.has('exp') && weak.has('year'))
      return { hint: 'cc-exp-year', autocomplete: false };
    for (const hint of ['exp', 'account', 'holder', 'month', 'year'])
      if (weak.has(hint))
        return { hint, autocomplete: false };
    return { hint: null, autocomplete: false };
  }

  /* ---- What a <select> offers ---- */

  const MONTH_NAMES = /^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?$|^(enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre|januar|februar|märz|juni|juli|oktober|dezember)$|^(0?[1-9]|1[0-2]) ?월$/;
  const CARD_BRANDS = /visa|master ?card|american express|amex|discover|jcb|diners|union ?pay|maestro|카드$/;
  const BANKS = /은행$|^(kb ?)?국민$|^신한$|^우리$|^하나$|^nh ?농협$|^농협$|^기업$|^sc ?제일$|^카카오뱅크$|^토스뱅크$|^케이뱅크$|bank$/;

  function selectOffers(select) {
    const opts = Array.from(select.options || [])
      .map((o) => [clean(o.value).toLowerCase(), clean(o.text).toLowerCase()])
      .filter(([v, t]) => t && !/^(-+|select|choose|month|year|mm|yy|yyyy|월|년|선택)/.test(t) || /^\d/.test(v));
    if (!opts.length)
      return null;
    const count = (pred) => opts.filter(pred).length;
    const numeric = (s) => /^\d+$/.test(s) ? parseInt(s, 10) : NaN;
    const isMonth = ([v, t]) => MONTH_NAMES.test(t) ||
      (numeric(t) >= 1 && numeric(t) <= 12 && t.length <= 2);
    const yearOf = ([v, t]) => {
      const s = /^\d{2,4} ?년?$/.test(t) ? t.replace(/ ?년$/, '') : '';
      if (s.length === 4)
        return numeric(s);
      if (s.length === 2)
        return 2000 + numeric(s);
      return NaN;
    };
    const thisYear = new Date().getFullYear();
    const years = opts.map(yearOf).filter((y) => y >= 1900 && y <= 2100);
    if (/\d{1,2} ?\/ ?\d{2,4}/.test(opts.map(([, t]) => t).join(' ')) &&
        count(([, t]) => /^\d{1,2} ?\/ ?\d{2,4}$/.test(t)) >= opts.length / 2)
      return 'exp';
    if (count(isMonth) >= 10 && opts.length <= 14)
      return 'month';
    if (years.length >= 3 && years.length >= opts.length * 0.6) {
      const twoDigitsOver12 = opts.some(([, t]) => /^\d\d$/.test(t) && numeric(t) > 12);
      const allTwoDigits = opts.every(([, t]) => /^\d\d$/.test(t));
      if (allTwoDigits && !twoDigitsOver12)
        return null;
      return Math.max(...years) >= thisYear - 1 ? 'year' : 'past-years';
    }
    if (count(([, t]) => CARD_BRANDS.test(t)) >= 2)
      return 'brands';
    if (count(([, t]) => BANKS.test(t)) >= 2)
      return 'banks';
    return null;
  }

  /* ---- The fields under root ---- */

  /* A read-only input is not for typing (the search box of a scripted
   * dropdown, a value the page computes). */
  function isCandidate(el) {
    if (el.localName === 'select')
      return true;
    if (el.localName !== 'input' || el.hasAttribute('readonly'))
      return false;
    const type = (el.getAttribute('type') || 'text').toLowerCase();
    return !SKIPPED_INPUT_TYPES.has(type);
  }

  /* Every input and select, in document order, open shadow roots included. */
  function collect(root, out) {
    const all = root.querySelectorAll('*');
    for (const el of all) {
      if ((el.localName === 'input' || el.localName === 'select') && isCandidate(el))
        out.push(el);
      if (el.shadowRoot)
        collect(el.shadowRoot, out);
    }
    return out;
  }

  function groupsOf(fields) {
    const groups = new Map();
    for (const el of fields) {
      const key = el.form || el.getRootNode();
      if (!groups.has(key))
        groups.set(key, []);
      groups.get(key).push(el);
    }
    return Array.from(groups.values());
  }

  function maxLength(el) {
    const n = parseInt(el.getAttribute('maxlength') || el.getAttribute('size') || '', 10);
    return n > 0 ? n : Infinity;
  }

  const EXPIRY = new Set(['cc-exp', 'cc-exp-month', 'cc-exp-year']);
  const CARD = new Set(['cc-number', 'cc-name', 'cc-csc', 'cc-type', ...EXPIRY]);
  const BANK = new Set(['bank-account-number', 'bank-account-holder', 'bank-name']);

  /* Resolves the weak hints of one form with what surrounds each field. */
  function resolveGroup(group) {
    const items = group.map((el) => Object.assign({ el }, describe(el)));
    const types = new Array(items.length).fill(null);
    const hasCard = items.some((it) => CARD.has(it.hint) && it.hint !== 'cc-type');
    const hasBank = items.some((it) => BANK.has(it.hint));
    let seenNumber = -1;

    const isDay = (it) => it && /\b(day|dd|dia|día|jour|tag)\b|(^| )일( |$)/.test(
      words(it.el.getAttribute('name') || it.el.id || it.el.getAttribute('placeholder')));

    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      const el = it.el;
      const isSelect = el.localName === 'select';
      const offers = isSelect ? selectOffers(el) : null;
      let type = it.hint;

      if (type === 'none')
        type = null;
      if (type === 'exp') {
        const next = items[i + 1];
        const nextHint = next ? next.hint : null;
        if (offers === 'month' || offers === 'year')
          type = 'cc-exp-' + offers;
        else if (offers === 'exp' || (el.getAttribute('type') || '') === 'month')
          type = 'cc-exp';
        else if (!isSelect && next && (nextHint === 'exp' || nextHint === 'year' ||
                 nextHint === 'cc-exp-year') && maxLength(el) <= 2)
          type = 'cc-exp-month';
        else if (i > 0 && types[i - 1] === 'cc-exp-month' && items[i - 1].hint === 'exp')
          type = 'cc-exp-year';
        else
          type = isSelect ? null : 'cc-exp';
      }
      if (type === 'month' || type === 'year') {
        const neighbourDay = isDay(items[i - 1]) || isDay(items[i - 2]) ||
                             isDay(items[i + 1]);
        const afterCard = seenNumber >= 0 && i - seenNumber <= 6;
        const fits = !isSelect || offers === type;
        type = afterCard && !neighbourDay && fits ? 'cc-exp-' + type : null;
      }
      /* "Account number" and "holder" belong to the card or the bank
       * account the form is about. */
      if (type === 'account')
        type = hasCard && !hasBank ? 'cc-number' : 'bank-account-number';
      if (type === 'holder')
        type = hasBank && !hasCard ? 'bank-account-holder' : hasCard ? 'cc-name' : null;
      if (type === null && isSelect && hasCard && offers === 'brands')
        type = 'cc-type';
      if (type === null && isSelect && hasBank && offers === 'banks')
        type = 'bank-name';
      /* A select that offers only past years is a birth year. */
      if ((type === 'cc-exp-year' || type === 'cc-exp') && offers === 'past-years' &&
          !it.autocomplete)
        type = null;
      /* <input type=month> holds a month and a year. */
      if (EXPIRY.has(type) && !isSelect &&
          (el.getAttribute('type') || '').toLowerCase() === 'month')
        type = 'cc-exp';
      if (type === 'cc-number')
        seenNumber = i;
      types[i] = type;
    }

    splitNumbers(items, types);
    oneExpiryPerCard(items, types);
    return items.map((it, i) => ({ element: it.el, type: types[i] }));
  }

  /* "카드번호 [____]-[____]-[____]-[____]": the short inputs after a short
   * card-number input are the rest of the number. */
  function splitNumbers(items, types) {
    for (let i = 0; i < items.length; i++) {
      if (types[i] !== 'cc-number' || maxLength(items[i].el) > 6)
        continue;
      let j = i + 1;
      while (j < items.length && j - i < 4) {
        const it = items[j];
        const free = types[j] === null && !it.autocomplete && it.hint === null;
        if (!(types[j] === 'cc-number' || free) || it.el.localName === 'select' ||
            maxLength(it.el) > 6)
          break;
        types[j] = 'cc-number';
        j++;
      }
      i = j - 1;
    }
  }

  /* A card has one expiry: a combined field or a month and a year. Once
   * one is found, later expiry fields of the same card are duplicates the
   * page keeps for itself (hidden selects behind a visible MM/YY field),
   * unless the page marked them with autocomplete. A new card number
   * starts a new card. */
  function oneExpiryPerCard(items, types) {
    let have = new Set();
    for (let i = 0; i < items.length; i++) {
      const type = types[i];
      if (type === 'cc-number' && (i === 0 || types[i - 1] !== 'cc-number')) {
        if (have.size)
          have = new Set();
        continue;
      }
      if (!EXPIRY.has(type))
        continue;
      const complete = have.has('cc-exp') ||
                       (have.has('cc-exp-month') && have.has('cc-exp-year'));
      if ((complete || have.has(type)) && !items[i].autocomplete) {
        types[i] = null;
        continue;
      }
      have.add(type);
    }
  }

  function classify(root) {
    root = root || global.document;
    if (!root || typeof root.querySelectorAll !== 'function')
      return [];
    const fields = collect(root, []);
    const results = [];
    for (const group of groupsOf(fields))
      for (const result of resolveGroup(group))
        if (result.type && OURS.has(result.type))
          results.push(result);
    const order = new Map(fields.map((el, i) => [el, i]));
    results.sort((a, b) => order.get(a.element) - order.get(b.element));
    return results;
  }

  global.OnePinDetector = Object.freeze({ classify, version: 1 });
})(globalThis);
