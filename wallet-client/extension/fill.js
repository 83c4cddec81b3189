/* fill.js: puts a card or bank account into the fields detector.js found
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A classic script with no dependencies. It defines
 *
 *   OnePinFill.allowed(window)       -> null, or why filling is refused
 *   OnePinFill.fill(fields, data)    -> { filled: [types], refused: reason|null }
 *
 * fields is OnePinDetector.classify() output; data has some of number,
 * name, expMonth (1-12), expYear (four digits), csc, brand, bankName,
 * bankCode, accountNumber, accountHolder. The content script calls it only
 * after the wallet is unlocked and the user confirmed the site.
 *
 * Values go in through the prototype's native setter, then input and
 * change events: frameworks that wrap the element's value property (React's
 * value tracker, Vue's v-model) see a real edit. Nothing is filled
 *   - on a page that is not a secure context (http: other than localhost,
 *     or any frame under such a page), or on another scheme than https/http;
 *   - in a sandboxed frame, or a frame whose ancestors are of another origin;
 *   - into a field the user cannot see (hidden by its own style or an
 *     ancestor's, clipped away, under 8 px, off the page, or in a frame
 *     that is), disabled or read-only;
 *   - a number, CVC or name into a <select>.
 */
(function (global) {
  'use strict';

  function isLocalhost(host) {
    return host === 'localhost' || host.endsWith('.localhost') ||
           /^127(\.\d{1,3}){3}$/.test(host) || host === '[::1]';
  }

  /* Why this window must not be filled, or null. */
  function allowed(win) {
    win = win || global;
    const loc = win.location;
    if (loc.protocol !== 'https:' && loc.protocol !== 'http:')
      return 'unsupported-scheme';
    if (loc.protocol === 'http:' && !isLocalhost(loc.hostname))
      return 'insecure-page';
    if (win.origin === 'null')
      return 'sandboxed-frame';
    if (!win.isSecureContext)
      return 'insecure-page';
    for (let w = win; w !== w.top; w = w.parent) {
      let frame = null;
      let parentOrigin = null;
      try {
        frame = w.frameElement;
        parentOrigin = w.parent.location.origin;
      } catch (e) {
        return 'cross-origin-frame';
      }
      if (!frame || parentOrigin !== win.location.origin)
        return 'cross-origin-frame';
      if (frame.hasAttribute('sandbox'))
        return 'sandboxed-frame';
    }
    return null;
  }

  /* Hidden fields are how a page collects more than the user sees: a field
   * is filled only if a person can see it and type into it. */

  /* The smallest box, in CSS pixels, a person sees (a split number's input
   * of four digits is about 50 px wide). */
  const MIN_SIZE = 8;

  /* What may be chosen in a <select>: short public lists (months, years,
   * card companies, banks). A select listing every number or CVC learns
   * the one that was set, so numbers, CVCs and names never go into one. */
  const SELECT_TYPES = new Set(['cc-exp', 'cc-exp-month', 'cc-exp-year', 'cc-type', 'bank-name']);

  function styleOf(el) {
    return el.ownerDocument.defaultView.getComputedStyle(el);
  }

  /* The parent in the flat tree: the slot @el is shown in, its parent
   * element, or the host of its shadow root. */
  function flatParent(el) {
    if (el.assignedSlot)
      return el.assignedSlot;
    if (el.parentElement)
      return el.parentElement;
    const root = el.parentNode;
    return root && root.host ? root.host : null;
  }

  /* Whether @el is drawn at all: neither it nor an ancestor display:none
   * or in a skipped content-visibility subtree, not visibility:hidden, and
   * with @opaque no ancestor (or itself) at opacity 0. checkVisibility()
   * where the browser has it (its option names changed in Chromium 121);
   * the walk below in any case. */
  function rendered(el, opaque) {
    if (typeof el.checkVisibility === 'function' &&
        !el.checkVisibility({ opacityProperty: opaque, checkOpacity: opaque,
                              visibilityProperty: true, checkVisibilityCSS: true,
                              contentVisibilityAuto: true }))
      return false;
    if (styleOf(el).visibility !== 'visible')
      return false;
    for (let e = el; e; e = flatParent(e)) {
      const style = styleOf(e);
      if (style.display === 'none' || (opaque && parseFloat(style.opacity) === 0) ||
          (e !== el && style.contentVisibility === 'hidden'))
        return false;
    }
    return true;
  }

  /* Whether @style's element is the containing block of position:fixed
   * descendants (else they escape its clipping). */
  function holdsFixed(style) {
    return style.transform !== 'none' || style.perspective !== 'none' ||
           style.filter !== 'none' || /\b(paint|layout|strict|content)\b/.test(style.contain) ||
           /\b(transform|perspective|filter)\b/.test(style.willChange);
  }

  function px(value, length) {
    return value.endsWith('%') ? parseFloat(value) * length / 100 : parseFloat(value) || 0;
  }

  /* @box less what a clip-path of inset() leaves out; null for any other
   * shape, a mask or the legacy clip: they only serve here to hide. */
  function clipPathBox(style, rect, box, positioned) {
    if ((style.maskImage && style.maskImage !== 'none') ||
        (style.webkitMaskImage && style.webkitMaskImage !== 'none') ||
        (positioned && style.clip && style.clip !== 'auto'))
      return null;
    if (!style.clipPath || style.clipPath === 'none')
      return box;
    const m = style.clipPath.match(/^inset\(([^)]*?)(?:\s+round\s[^)]*)?\)(?:\s+border-box)?$/);
    if (!m)
      return null;
    const v = m[1].trim().split(/\s+/);
    const [top, right, bottom, left] = [v[0], v[1] || v[0], v[2] || v[0], v[3] || v[1] || v[0]];
    return {
      left: Math.max(box.left, rect.left + px(left, rect.width)),
      right: Math.min(box.right, rect.right - px(right, rect.width)),
      top: Math.max(box.top, rect.top + px(top, rect.height)),
      bottom: Math.min(box.bottom, rect.bottom - px(bottom, rect.height)),
    };
  }

  /* The part of @el's box its ancestors let through, or null: clip-path,
   * masks, and the overflow of the boxes that contain it (a zero-height
   * parent with overflow:hidden hides its child, which keeps its own
   * size). A scrolling box only needs to be big enough to scroll in; the
   * page's own scrolling is judged by visible(). */
  function unclippedBox(el) {
    const doc = el.ownerDocument;
    const r = el.getBoundingClientRect();
    let box = { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    let position = styleOf(el).position;
    for (let e = el; e && box; e = flatParent(e)) {
      const style = styleOf(e);
      /* no box of its own (slots, wrappers), so nothing to clip with */
      if (style.display === 'contents')
        continue;
      const rect = e === el ? r : e.getBoundingClientRect();
      box = clipPathBox(style, rect, box, /^(absolute|fixed)$/.test(style.position));
      if (!box || e === el || e === doc.body || e === doc.documentElement ||
          style.display === 'inline')
        continue;
      /* Only a containing block clips: absolute boxes escape static
       * ancestors, fixed ones all but a transformed ancestor. */
      if ((position === 'fixed' && !holdsFixed(style)) ||
          (position === 'absolute' && style.position === 'static' && !holdsFixed(style)))
        continue;
      position = style.position;
      const inner = {
        left: rect.left + parseFloat(style.borderLeftWidth),
        right: rect.right - parseFloat(style.borderRightWidth),
        top: rect.top + parseFloat(style.borderTopWidth),
        bottom: rect.bottom - parseFloat(style.borderBottomWidth),
      };
      for (const [axis, low, high] of [['X', 'left', 'right'], ['Y', 'top', 'bottom']]) {
        const overflow = style['overflow' + axis];
        if (overflow === 'hidden' || overflow === 'clip') {
          box[low] = Math.max(box[low], inner[low]);
          box[high] = Math.min(box[high], inner[high]);
        } else if ((overflow === 'auto' || overflow === 'scroll') &&
                   inner[high] - inner[low] < MIN_SIZE) {
          box = null;
          break;
        }
      }
    }
    return box;
  }

  /* A <select> is often hidden behind a scripted dropdown that shows its
   * value, so one of SELECT_TYPES only needs to be rendered; any other
   * field must be rendered, opaque, at least MIN_SIZE in both directions
   * once its ancestors clipped it, and on the page. */
  function visible(el) {
    if (el.localName === 'select')
      return rendered(el, false);
    if (!rendered(el, true))
      return false;
    const box = unclippedBox(el);
    if (!box || box.right - box.left < MIN_SIZE || box.bottom - box.top < MIN_SIZE)
      return false;
    const view = el.ownerDocument.defaultView;
    const doc = el.ownerDocument.documentElement;
    const x = box.left + view.scrollX;
    const y = box.top + view.scrollY;
    return box.right + view.scrollX > 0 && box.bottom + view.scrollY > 0 &&
           x < Math.max(doc.scrollWidth, doc.clientWidth) &&
           y < Math.max(doc.scrollHeight, doc.clientHeight);
  }

  /* The frames between @win and the top are ours (allowed() saw to that):
   * a frame the user cannot see hides all it holds. */
  function framesVisible(win) {
    for (let w = win; w !== w.top; w = w.parent)
      if (!visible(w.frameElement))
        return false;
    return true;
  }

  function fillable(el, type) {
    if (el.localName === 'select' && !SELECT_TYPES.has(type))
      return false;
    return el.isConnected && !el.disabled && !el.readOnly && visible(el);
  }

  function nativeSetter(el) {
    const view = el.ownerDocument.defaultView;
    const proto = el.localName === 'select' ? view.HTMLSelectElement.prototype
                : el.localName === 'textarea' ? view.HTMLTextAreaElement.prototype
                : view.HTMLInputElement.prototype;
    return Object.getOwnPropertyDescriptor(proto, 'value').set;
  }

  function setValue(el, value) {
    const view = el.ownerDocument.defaultView;
    el.focus({ preventScroll: true });
    nativeSetter(el).call(el, value);
    el.dispatchEvent(new view.Event('input', { bubbles: true }));
    el.dispatchEvent(new view.Event('change', { bubbles: true }));
    el.blur();
  }

  /* ---- Choosing an <option> ---- */

  const MONTHS = [
    ['jan', 'january', 'enero', 'janvier', 'januar'],
    ['feb', 'february', 'febrero', 'février', 'februar'],
    ['mar', 'march', 'marzo', 'mars', 'märz'],
    ['apr', 'april', 'abril', 'avril'],
    ['may', 'mayo', 'mai'],
    ['jun', 'june', 'junio', 'juin', 'juni'],
    ['jul', 'july', 'julio', 'juillet', 'juli'],
    ['aug', 'august', 'agosto', 'août'],
    ['sep', 'sept', 'september', 'septiembre', 'septembre'],
    ['oct', 'october', 'octubre', 'octobre', 'oktober'],
    ['nov', 'november', 'noviembre', 'novembre'],
    ['dec', 'december', 'diciembre', 'décembre', 'dezember'],
  ];

  function norm(s) {
    return String(s || '').trim().toLowerCase().replace(/\s+/g, ' ');
  }

  /* The number an option stands for: "03", "3월", "03 - March", "2029년". */
  function numberIn(s) {
    const m = norm(s).match(/^(\d{1,4})(?: ?(?:월|년|-|\.|\/|$))/);
    return m ? parseInt(m[1], 10) : NaN;
  }

  function pickOption(select, matches) {
    const options = Array.from(select.options).filter((o) => !o.disabled);
    /* Text first: values are sometimes indexes (value="0" for 2023). */
    for (const key of ['text', 'value'])
      for (const option of options)
        if (matches(option[key], key))
          return option;
    return null;
  }

  function selectOption(select, matches) {
    const option = pickOption(select, matches);
    if (!option)
      return false;
    setValue(select, option.value);
    return select.value === option.value;
  }

  function monthMatcher(month) {
    const names = MONTHS[month - 1];
    return (s) => {
      const t = norm(s);
      if (numberIn(t) === month && !/^\d{3,}/.test(t))
        return true;
      const word = t.replace(/^\d+ ?[-.]? ?/, '').replace(/\.$/, '');
      return names.includes(word);
    };
  }

  function yearMatcher(year) {
    return (s, key) => {
      const t = norm(s);
      const n = numberIn(t);
      if (n === year)
        return true;
      /* Two digits are a year only in the text or in a 2-digit value that
       * cannot be an index (values may be 0, 1, 2 ... for the years). */
      return /^\d\d(년)?$/.test(t) && n === year % 100 &&
             (key === 'text' || n > 12);
    };
  }

  function textMatcher(wanted, code) {
    const w = norm(wanted);
    const c = norm(code);
    return (s, key) => {
      const t = norm(s);
      if (!t)
        return false;
      if (key === 'value' && c && t === c)
        return true;
      return w !== '' && (t === w || t.includes(w));
    };
  }

  /* ---- Formatting for the field ---- */

  function describe(el) {
    const label = Array.from(el.labels || []).map((l) => l.textContent).join(' ');
    return [el.getAttribute('placeholder'), el.getAttribute('aria-label'), label,
            el.getAttribute('title'), el.getAttribute('name')]
      .filter(Boolean).join(' ');
  }

  function maxLength(el) {
    return el.maxLength > 0 ? el.maxLength : Infinity;
  }

  function pad2(n) {
    return String(n).padStart(2, '0');
  }

  /* "MM/YY" unless the field asks for four year digits, another separator
   * or none (its placeholder or label: "MM / YYYY", "MMYY", "월/년"), or
   * holds fewer characters; input type=month takes "YYYY-MM". */
  function expiryText(el, month, year) {
    if ((el.getAttribute('type') || '').toLowerCase() === 'month')
      return `${year}-${pad2(month)}`;
    const max = maxLength(el);
    const m = describe(el).match(/(?:mm|월)(\s*[\/\-.]?\s*)(yyyy|aaaa|jjjj|yy|aa|jj|년)/i);
    let separator = m ? m[1] : '/';
    let fourDigits = m ? /^(yyyy|aaaa|jjjj)$/i.test(m[2]) : max === 7;
    const fits = () => 2 + separator.length + (fourDigits ? 4 : 2) <= max;
    if (!fits())
      separator = separator.trim();
    if (!fits())
      separator = '';
    if (!fits())
      fourDigits = false;
    return pad2(month) + separator + (fourDigits ? String(year) : pad2(year % 100));
  }

  function yearText(el, year) {
    const hint = describe(el).toLowerCase();
    if (maxLength(el) === 2 || (/\byy\b/.test(hint) && !/yyyy/.test(hint)))
      return pad2(year % 100);
    return String(year);
  }

  /* A number split over several inputs: each takes as many digits as it
   * holds (4 without maxlength), the last one the rest (4-6-5 for Amex). */
  function numberParts(elements, digits) {
    if (elements.length === 1)
      return [digits];
    const parts = [];
    let rest = digits;
    elements.forEach((el, i) => {
      const max = maxLength(el);
      const n = i === elements.length - 1 ? rest.length
                                          : Math.min(max === Infinity ? 4 : max, rest.length);
      parts.push(rest.slice(0, n));
      rest = rest.slice(n);
    });
    return parts;
  }

  /* ---- Filling ---- */

  function fillOne(el, type, data) {
    const isSelect = el.localName === 'select';
    const month = parseInt(data.expMonth, 10);
    const year = parseInt(data.expYear, 10);
    switch (type) {
    case 'cc-name':
      return data.name ? (setValue(el, data.name), true) : false;
    case 'cc-csc':
      return data.csc ? (setValue(el, data.csc), true) : false;
    case 'cc-exp':
      if (!month || !year)
        return false;
      if (isSelect)
        return selectOption(el, (s) => {
          const m = norm(s).match(/^(\d{1,2}) ?[\/\-. ] ?(\d{2}|\d{4})$/);
          return m && parseInt(m[1], 10) === month &&
                 (parseInt(m[2], 10) === year || parseInt(m[2], 10) === year % 100);
        });
      setValue(el, expiryText(el, month, year));
      return true;
    case 'cc-exp-month':
      if (!month)
        return false;
      if (isSelect)
        return selectOption(el, monthMatcher(month));
      setValue(el, pad2(month));
      return true;
    case 'cc-exp-year':
      if (!year)
        return false;
      if (isSelect)
        return selectOption(el, yearMatcher(year));
      setValue(el, yearText(el, year));
      return true;
    case 'cc-type':
      if (!data.brand)
        return false;
      if (isSelect)
        return selectOption(el, textMatcher(data.brand, data.brandCode));
      setValue(el, data.brand);
      return true;
    case 'bank-name':
      if (!data.bankName)
        return false;
      if (isSelect)
        return selectOption(el, textMatcher(data.bankName, data.bankCode));
      setValue(el, data.bankName);
      return true;
    case 'bank-account-number':
      return data.accountNumber ? (setValue(el, data.accountNumber), true) : false;
    case 'bank-account-holder':
      return data.accountHolder ? (setValue(el, data.accountHolder), true) : false;
    default:
      return false;
    }
  }

  /* Consecutive cc-number fields of one form are one split number. */
  function numberRuns(fields) {
    const runs = [];
    let run = null;
    let last = null;
    for (const f of fields) {
      if (f.type !== 'cc-number') {
        last = null;
        continue;
      }
      if (!run || last === null || last.element.form !== f.element.form) {
        run = [];
        runs.push(run);
      }
      run.push(f.element);
      last = f;
    }
    return runs;
  }

  function fill(fields, data, win) {
    const refused = allowed(win || global);
    if (refused)
      return { filled: [], refused };
    data = data || {};
    if (!framesVisible(win || global))
      return { filled: [], refused: null };
    const usable = (fields || []).filter((f) => f && f.element && fillable(f.element, f.type));
    const filled = [];
    const digits = String(data.number || '').replace(/\D/g, '');
    if (digits)
      for (const run of numberRuns(usable)) {
        const parts = numberParts(run, digits);
        run.forEach((el, i) => {
          setValue(el, parts[i]);
          filled.push('cc-number');
        });
      }
    for (const f of usable) {
      if (f.type === 'cc-number')
        continue;
      if (fillOne(f.element, f.type, data))
        filled.push(f.type);
    }
    return { filled, refused: null };
  }

  global.OnePinFill = Object.freeze({ allowed, fill, version: 1 });
})(globalThis);
