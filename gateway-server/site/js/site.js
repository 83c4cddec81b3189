/* site.js: what every page of the cyber card site shares
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The header and footer, the two languages, calls to the gateway's JSON API,
 * form checking with errors announced to screen readers, money and dates,
 * and the rule for secrets: a card number or password lives in the DOM only
 * while the page is shown, never in the URL or in storage.
 */
'use strict';

(function () {
  const STRINGS = window.ONEPIN_STRINGS;
  const LANG_KEY = 'onepin.lang';   /* a language chosen with the button: all that is stored */
  const Site = {};
  window.Site = Site;

  /* Languages */

  function storedLanguage () {
    try {
      return localStorage.getItem (LANG_KEY);
    } catch (e) {
      return null;
    }
  }

  function pickLanguage () {
    const stored = storedLanguage ();
    if (stored === 'ko' || stored === 'en')
      return stored;
    for (const tag of navigator.languages || [navigator.language || '']) {
      const lower = String (tag).toLowerCase ();
      if (lower.startsWith ('ko'))
        return 'ko';
      if (lower.startsWith ('en'))
        return 'en';
    }
    return 'en';
  }

  Site.lang = pickLanguage ();
  const languageListeners = [];

  /* @fn runs after every language switch, to redraw what is not data-i18n. */
  Site.onLanguage = function (fn) {
    languageListeners.push (fn);
  };

  function formatValue (value) {
    if (value !== null && typeof value === 'object') {
      if ('money' in value)
        return Site.money (value.money, value.currency);
      if ('date' in value)
        return Site.date (value.date);
      if ('dateTime' in value)
        return Site.dateTime (value.dateTime);
      if ('kstTime' in value)
        return Site.kstDateTime (value.kstTime);
      if ('count' in value)
        return Site.number (value.count);
      if ('key' in value)
        return Site.t (value.key);
      if ('denomination' in value)
        return Site.t ('card.denomination', { amount: { count: value.denomination } });
    }
    return String (value);
  }

  /* A key with a "_one" variant uses it when the value {n} counts one. */
  Site.t = function (key, vars) {
    if (vars && vars.n && vars.n.count === 1 && STRINGS[Site.lang][key + '_one'] !== undefined)
      key += '_one';
    let text = STRINGS[Site.lang][key];
    if (text === undefined) {
      console.error ('onepin: missing string ' + Site.lang + ':' + key);
      text = STRINGS.en[key] !== undefined ? STRINGS.en[key] : key;
    }
    if (vars)
      text = text.replace (/\{(\w+)\}/g, (match, name) =>
        name in vars ? formatValue (vars[name]) : match);
    return text;
  };

  /* Sets @el's text from a string key, and remembers the key (and values) so
   * a language switch redraws it. */
  Site.setText = function (el, key, vars) {
    if (key === null) {
      delete el.dataset.i18n;
      delete el.dataset.i18nVars;
      el.textContent = '';
      return el;
    }
    el.dataset.i18n = key;
    if (vars)
      el.dataset.i18nVars = JSON.stringify (vars);
    else
      delete el.dataset.i18nVars;
    el.textContent = Site.t (key, vars);
    return el;
  };

  function applyStrings (root) {
    for (const el of root.querySelectorAll ('[data-i18n]')) {
      const vars = el.dataset.i18nVars ? JSON.parse (el.dataset.i18nVars) : undefined;
      el.textContent = Site.t (el.dataset.i18n, vars);
    }
    for (const el of root.querySelectorAll ('[data-i18n-attr]')) {
      for (const pair of el.dataset.i18nAttr.split (';')) {
        const [attr, key] = pair.split (':');
        el.setAttribute (attr.trim (), Site.t (key.trim ()));
      }
    }
  }

  /* @remember: the visitor chose it, so it holds on the next pages. */
  Site.setLanguage = function (lang, remember) {
    Site.lang = lang;
    if (remember) {
      try {
        localStorage.setItem (LANG_KEY, lang);
      } catch (e) {
        /* private mode: the choice lasts for this page only */
      }
    }
    document.documentElement.lang = lang;
    applyStrings (document);
    const button = document.querySelector ('.lang-switch');
    if (button) {
      const other = lang === 'ko' ? 'en' : 'ko';
      button.lang = other;
      button.textContent = STRINGS[other]['lang.name'];
    }
    for (const fn of languageListeners)
      fn (lang);
  };

  /* Numbers, money and dates */

  function locale () {
    return Site.lang === 'ko' ? 'ko-KR' : 'en-US';
  }

  Site.number = function (n) {
    return new Intl.NumberFormat (locale ()).format (n);
  };

  Site.money = function (amount, currency) {
    if (currency && currency.toLowerCase () !== 'krw')
      return new Intl.NumberFormat (locale (), { style: 'currency', currency: currency.toUpperCase () })
        .format (amount);
    return Site.t ('money.krw', { n: Site.number (amount) });
  };

  Site.date = function (seconds) {
    return new Intl.DateTimeFormat (locale (), { year: 'numeric', month: 'long', day: 'numeric' })
      .format (new Date (seconds * 1000));
  };

  Site.dateTime = function (seconds) {
    return new Intl.DateTimeFormat (locale (), { dateStyle: 'medium', timeStyle: 'short' })
      .format (new Date (seconds * 1000));
  };

  /* A time the bank or the gateway set (a transfer's deadline), in Korea
   * time and said so, as the e-mails show it, wherever the browser is. */
  Site.kstDateTime = function (seconds) {
    return new Intl.DateTimeFormat (locale (), { dateStyle: 'medium', timeStyle: 'short',
                                                 timeZone: 'Asia/Seoul' })
      .format (new Date (seconds * 1000)) + ' KST';
  };

  /* Card numbers */

  Site.cardDigits = function (text) {
    return String (text).replace (/[\s-]/g, '');
  };

  Site.luhnValid = function (digits) {
    if (!/^\d{16}$/.test (digits))
      return false;
    let sum = 0;
    for (let i = 0; i < 16; i++) {
      let d = digits.charCodeAt (15 - i) - 48;
      if (i % 2 === 1) {
        d *= 2;
        if (d > 9)
          d -= 9;
      }
      sum += d;
    }
    return sum % 10 === 0;
  };

  Site.formatCard = function (digits) {
    return digits.replace (/(\d{4})(?=\d)/g, '$1 ');
  };

  /* Secrets: card numbers shown once, and every password and card-number
   * field, are wiped when the page is hidden for good or put in the
   * back-forward cache; coming back shows the page afresh. */

  const secrets = new Set ();

  Site.secret = function (el) {
    secrets.add (el);
    return el;
  };

  function wipeSecrets () {
    for (const el of secrets) {
      if (el.isConnected && 'value' in el && el.tagName !== 'BUTTON')
        el.value = '';
      else
        el.textContent = '';
    }
    secrets.clear ();
    for (const el of document.querySelectorAll ('input[type="password"], input.card-number'))
      el.value = '';
  }

  window.addEventListener ('pagehide', wipeSecrets);
  window.addEventListener ('pageshow', (event) => {
    if (event.persisted)
      location.reload ();
  });

  /* Guards against leaving while something shown once is still on screen. */
  let leaveGuard = false;
  Site.guardLeaving = function (on) {
    leaveGuard = on;
  };
  window.addEventListener ('beforeunload', (event) => {
    if (leaveGuard) {
      event.preventDefault ();
      event.returnValue = '';
    }
  });

  /* The gateway's API */

  class ApiError extends Error {
    constructor (status, error) {
      super (error && error.message ? error.message : 'HTTP ' + status);
      this.status = status;
      this.error = error || {};
    }
  }
  Site.ApiError = ApiError;

  Site.newKey = function () {
    const bytes = new Uint8Array (16);
    crypto.getRandomValues (bytes);
    return 'site-' + Array.from (bytes, (b) => b.toString (16).padStart (2, '0')).join ('');
  };

  /* POSTs @body (or GETs when it is undefined) and returns the parsed
   * answer; throws an ApiError for an error answer or no answer at all. */
  Site.api = async function (path, body, options) {
    const headers = { Accept: 'application/json' };
    const init = { method: 'GET', headers, cache: 'no-store', credentials: 'same-origin' };
    if (body !== undefined) {
      init.method = 'POST';
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify (body);
    }
    if (options && options.idempotencyKey)
      headers['Idempotency-Key'] = options.idempotencyKey;
    if (options && options.bearer)
      headers.Authorization = 'Bearer ' + options.bearer;
    let response;
    try {
      response = await fetch (path, init);
    } catch (e) {
      throw new ApiError (0, { type: 'network', code: 'network' });
    }
    let data = null;
    try {
      data = await response.json ();
    } catch (e) {
      data = null;
    }
    if (!response.ok)
      throw new ApiError (response.status,
                          data && data.error ? data.error : { type: 'api_error', code: 'http' });
    return data;
  };

  /* Idempotency: a request that got no definite answer (no answer, a 5xx,
   * or "still in flight") is retried with the same key and the same body,
   * so it takes effect once. Any other answer ends the key's use.
   *
   * With options.pending, a description of what the request is for that
   * holds nothing secret (a recharge's card last4 and amount), the key also
   * outlives a reload: it is kept in sessionStorage with that description
   * until an answer is known, and a request for the same thing reuses it,
   * in memory too, even if the body changed (the gateway then answers 422
   * rather than charge twice). Without it, a recharge whose answer was lost
   * and that was sent again from the reloaded page was charged twice. */
  const keys = new Map ();
  const PENDING = 'onepin.pending.';

  function pendingKey (name, pending) {
    try {
      const saved = JSON.parse (sessionStorage.getItem (PENDING + name) || 'null');
      return saved && saved.for === pending ? saved.key : null;
    } catch (e) {
      return null;
    }
  }

  function keepPending (name, pending, key) {
    try {
      sessionStorage.setItem (PENDING + name, JSON.stringify ({ for: pending, key }));
    } catch (e) {
      /* no storage: the key lives in memory only, as before */
    }
  }

  function dropPending (name) {
    try {
      sessionStorage.removeItem (PENDING + name);
    } catch (e) {
      /* nothing kept */
    }
  }

  Site.post = async function (name, path, body, options) {
    const text = JSON.stringify (body);
    const pending = options && options.pending;
    let entry = keys.get (name);
    if (!entry || (pending ? entry.pending !== pending : entry.text !== text)) {
      entry = { text, pending, key: (pending && pendingKey (name, pending)) || Site.newKey () };
      keys.set (name, entry);
    }
    if (pending)
      keepPending (name, pending, entry.key);
    const forget = () => {
      keys.delete (name);
      if (pending)
        dropPending (name);
    };
    try {
      const answer = await Site.api (path, body, Object.assign ({ idempotencyKey: entry.key },
                                                                options));
      forget ();
      return answer;
    } catch (err) {
      const inFlight = err.error && err.error.code === 'idempotency_in_flight';
      if (err.status >= 400 && err.status < 500 && !inFlight)
        forget ();
      throw err;
    }
  };

  /* The message for an API error, most specific first. */
  Site.errorKey = function (err) {
    const e = err.error || {};
    const candidates = [];
    /* A field's own rule, when the API names the field and we can say it. */
    if (e.code === 'parameter_invalid' && e.param)
      candidates.push ('api.param.' + e.param);
    if (e.decline_code) {
      candidates.push ('api.' + e.code + '.' + e.decline_code);
      candidates.push ('api.decline.' + e.decline_code);
    }
    if (e.code)
      candidates.push ('api.code.' + e.code);
    candidates.push ('api.type.' + (e.type || 'api_error'));
    for (const key of candidates)
      if (STRINGS.en[key] !== undefined)
        return key;
    return 'api.type.api_error';
  };

  /* Forms */

  function fieldError (el) {
    const id = el.dataset.errorId || (el.type === 'radio' ? el.name : el.id) + '-error';
    return document.getElementById (id);
  }

  function isActive (el) {
    return !el.disabled && !el.closest ('[hidden]') && el.type !== 'hidden' &&
           el.type !== 'submit' && el.type !== 'button';
  }

  /* The browser's own checks, with our words, plus data-check="card" (16
   * digits passing Luhn) and data-match="id" (a confirmation field). */
  function checkField (el) {
    const v = el.validity;
    if (v.valueMissing)
      return { el, key: el.type === 'radio' ? 'err.choose' : 'err.required' };
    if (v.typeMismatch && el.type === 'email')
      return { el, key: 'err.email' };
    if (v.badInput || v.stepMismatch || v.rangeUnderflow || v.rangeOverflow)
      return { el, key: el.dataset.rangeError || 'err.range',
               vars: { min: { count: Number (el.min) }, max: { count: Number (el.max) } } };
    if (v.tooShort || v.tooLong)
      return { el, key: 'err.length', vars: { min: el.minLength > 0 ? el.minLength : 1,
                                              max: el.maxLength } };
    if (v.patternMismatch)
      return { el, key: el.dataset.patternError || 'err.format' };
    if (el.dataset.check === 'card' && el.value !== '' && !Site.luhnValid (Site.cardDigits (el.value)))
      return { el, key: Site.cardNumberError (el.value) };
    if (el.dataset.match && el.value !== document.getElementById (el.dataset.match).value)
      return { el, key: 'err.mismatch' };
    return null;
  }

  /* A number that fails the check: a wrong length, or (16 digits) a
   * mistyped digit that the check digit caught. */
  Site.cardNumberError = function (value) {
    return /^\d{16}$/.test (Site.cardDigits (value)) ? 'err.card_check' : 'err.card_number';
  };

  Site.checkForm = function (form) {
    const errors = [];
    const radios = new Set ();
    for (const el of form.elements) {
      if (!('validity' in el) || !isActive (el))
        continue;
      if (el.type === 'radio') {
        if (radios.has (el.name))
          continue;
        radios.add (el.name);
      }
      const error = checkField (el);
      if (error)
        errors.push (error);
    }
    return errors;
  };

  /* @slot, if given, is where the message goes instead of the field's own. */
  function markInvalid (el, key, vars, slot) {
    const group = el.type === 'radio' ? el.closest ('fieldset') : el;
    group.setAttribute ('aria-invalid', 'true');
    slot = slot || fieldError (el);
    if (slot)
      Site.setText (slot, key, vars);
  }

  Site.clearErrors = function (form) {
    for (const el of form.querySelectorAll ('[aria-invalid]'))
      el.removeAttribute ('aria-invalid');
    for (const el of form.querySelectorAll ('.field-error, .form-error, .form-ok'))
      Site.setText (el, null);
  };

  function formAlert (form) {
    return form.querySelector ('.form-error');
  }

  /* Marks each field, says how many in the form's alert, focuses the first. */
  Site.showErrors = function (form, errors) {
    errors.sort ((a, b) =>
      a.el.compareDocumentPosition (b.el) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
    for (const { el, key, vars, slot } of errors)
      markInvalid (el, key, vars, slot);
    const alert = formAlert (form);
    if (alert)
      Site.setText (alert, errors.length === 1 ? 'err.summary_one' : 'err.summary',
                    { count: errors.length });
    errors[0].el.focus ();
  };

  Site.showFormError = function (form, key, vars) {
    const alert = formAlert (form);
    Site.setText (alert, key, vars);
    alert.scrollIntoView ({ block: 'nearest' });
  };

  /* An API error goes on its field when the API names one we show. */
  Site.showApiError = function (form, err) {
    const param = err.error && err.error.param;
    const el = param ? form.querySelector ('[name="' + CSS.escape (param) + '"]') : null;
    if (el && isActive (el)) {
      Site.showErrors (form, [{ el, key: Site.errorKey (err) }]);
      Site.setText (formAlert (form), Site.errorKey (err));
      return;
    }
    Site.showFormError (form, Site.errorKey (err));
  };

  function setBusy (form, button, busy) {
    form.dataset.busy = busy ? '1' : '';
    if (button) {
      button.disabled = busy;
      if (busy)
        button.setAttribute ('aria-busy', 'true');
      else
        button.removeAttribute ('aria-busy');
    }
  }

  /* Checks @form on submit, then awaits @submit (event). Errors, from the
   * checks or the API, are marked on the fields and announced. */
  Site.form = function (form, submit, validate) {
    form.noValidate = true;
    form.addEventListener ('input', (event) => {
      const el = event.target;
      const group = el.type === 'radio' ? el.closest ('fieldset') : el;
      if (group && group.getAttribute ('aria-invalid') === 'true') {
        group.removeAttribute ('aria-invalid');
        const slot = fieldError (el);
        if (slot)
          Site.setText (slot, null);
        /* Every marked field corrected: the summary has nothing left to say. */
        if (!form.querySelector ('[aria-invalid="true"]'))
          Site.setText (formAlert (form), null);
      }
    });
    form.addEventListener ('submit', async (event) => {
      event.preventDefault ();
      if (form.dataset.busy === '1')
        return;
      Site.clearErrors (form);
      const errors = Site.checkForm (form).concat (validate ? validate () || [] : []);
      if (errors.length > 0) {
        Site.showErrors (form, errors);
        return;
      }
      const button = event.submitter || form.querySelector ('[type="submit"]');
      setBusy (form, button, true);
      try {
        await submit (event);
      } catch (err) {
        if (err instanceof ApiError) {
          Site.showApiError (form, err);
        } else {
          console.error (err);
          Site.showFormError (form, 'api.type.api_error');
        }
      } finally {
        setBusy (form, button, false);
      }
    });
  };

  /* Moves focus to a newly shown section's heading, for keyboards and
   * screen readers. */
  Site.focusHeading = function (section) {
    const heading = section.querySelector ('h1, h2');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus ();
    }
  };

  /* Replaces a finished form by the section that tells its outcome. */
  Site.showResult = function (form, section) {
    form.reset ();
    form.hidden = true;
    section.hidden = false;
    Site.focusHeading (section);
  };

  /* The card-number and password fields every card-holder form has. */
  Site.cardCredentials = function (form) {
    return { number: Site.cardDigits (form.elements.number.value),
             password: form.elements.password.value };
  };

  /* "Forgot the password?": the form's .send-hint button asks for the
   * card's password hint by its number alone. The gateway e-mails it to the
   * address in the card's user information and answers every number alike,
   * so the page can only say where it would go. */
  Site.offerHint = function (form) {
    const button = form.querySelector ('.send-hint');
    const status = form.querySelector ('.hint-status');
    button.addEventListener ('click', async () => {
      const field = form.elements.number;
      const digits = Site.cardDigits (field.value);
      Site.clearErrors (form);
      Site.setText (status, null);
      if (!Site.luhnValid (digits)) {
        Site.showErrors (form, [{ el: field, key: field.value === '' ? 'err.required'
                                                                  : Site.cardNumberError (field.value) }]);
        return;
      }
      button.disabled = true;
      try {
        await Site.api ('/v1/cards/hint', { number: digits });
        Site.setText (status, 'hint.sent');
      } catch (err) {
        Site.setText (status, Site.errorKey (err));
      } finally {
        button.disabled = false;
      }
    });
  };

  /* Builds an element: Site.el ('td', { class: 'num' }, 'text', child, …). */
  Site.el = function (tag, attrs, ...children) {
    const el = document.createElement (tag);
    for (const [name, value] of Object.entries (attrs || {})) {
      if (name === 'i18n')
        Site.setText (el, value[0], value[1]);
      else if (value !== null && value !== undefined && value !== false)
        el.setAttribute (name, value === true ? '' : value);
    }
    for (const child of children)
      if (child !== null && child !== undefined)
        el.append (child);
    return el;
  };

  /* A table wider than a phone scrolls sideways in its .table-wrap; then
   * the wrapper must be reachable by keyboard and named, for those who
   * cannot swipe. Tables change size as they fill, so this is watched. */

  let labelSerial = 0;

  function tableLabel (wrap) {
    const box = wrap.closest ('section, form, fieldset');
    const label = wrap.querySelector ('caption') ||
                  (box && box.querySelector ('h2, legend'));
    if (!label)
      return null;
    if (!label.id)
      label.id = 'table-label-' + ++labelSerial;
    return label.id;
  }

  function markScrollable (wrap) {
    const label = tableLabel (wrap);
    if (wrap.scrollWidth > wrap.clientWidth + 1 && label) {
      wrap.tabIndex = 0;
      wrap.setAttribute ('role', 'region');
      wrap.setAttribute ('aria-labelledby', label);
    } else {
      wrap.removeAttribute ('tabindex');
      wrap.removeAttribute ('role');
      wrap.removeAttribute ('aria-labelledby');
    }
  }

  function watchTables () {
    const observer = new ResizeObserver ((entries) => {
      for (const entry of entries)
        markScrollable (entry.target.closest ('.table-wrap'));
    });
    for (const wrap of document.querySelectorAll ('.table-wrap')) {
      observer.observe (wrap);
      observer.observe (wrap.querySelector ('table'));
    }
  }

  /* The header and footer are the same on every page. */

  const NAV = [
    ['/buy', 'nav.buy'],
    ['/recharge', 'nav.recharge'],
    ['/register', 'nav.register'],
    ['/inquiry', 'nav.inquiry'],
    ['/', 'nav.all'],
  ];

  function buildHeader () {
    const header = document.querySelector ('header.site-header');
    const list = Site.el ('ul');
    const here = location.pathname.replace (/\.html$/, '').replace (/^\/index$/, '/');
    for (const [href, key] of NAV) {
      const link = Site.el ('a', { href, i18n: [key] });
      if (href === here)
        link.setAttribute ('aria-current', 'page');
      list.append (Site.el ('li', {}, link));
    }
    const brand = Site.el ('a', { class: 'brand', href: '/' },
                           Site.el ('img', { src: '/img/logo.svg', alt: '', width: 32, height: 32 }),
                           Site.el ('span', {}, 'onepin'));
    const nav = Site.el ('nav', { 'data-i18n-attr': 'aria-label:nav.label' }, list);
    const button = Site.el ('button', { type: 'button', class: 'lang-switch secondary' });
    button.addEventListener ('click', () => Site.setLanguage (Site.lang === 'ko' ? 'en' : 'ko', true));
    header.append (Site.el ('div', { class: 'bar' }, brand, nav, button));
    document.body.prepend (Site.el ('a', { class: 'skip', href: '#main', i18n: ['nav.skip'] }));
  }

  function buildFooter () {
    const footer = document.querySelector ('footer.site-footer');
    const mail = Site.el ('a', { href: 'mailto:' + Site.CONTACT }, Site.CONTACT);
    footer.append (Site.el ('div', { class: 'bar' },
      Site.el ('p', {}, Site.el ('span', { i18n: ['footer.contact'] }), ' ', mail),
      Site.el ('p', {}, Site.el ('a', { href: '/about', i18n: ['nav.about'] }), ' · ',
               Site.el ('a', { href: '/', i18n: ['nav.sitemap'] })),
      Site.el ('p', { i18n: ['footer.never'] })));
  }

  Site.CONTACT = 'center@onepin.example';

  /* Contact links inside page text. */
  function fillContacts () {
    for (const el of document.querySelectorAll ('a.contact')) {
      el.href = 'mailto:' + Site.CONTACT;
      el.textContent = Site.CONTACT;
    }
  }

  buildHeader ();
  buildFooter ();
  fillContacts ();
  watchTables ();
  Site.setLanguage (Site.lang);
}) ();
