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
 *     ancestor's, clipped away, under 8 px, off the page, mostly covered
 *     by another element, or in a frame that is), disabled, read-only or
 *     inert;
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
   * page's own scrolling is judged by visible(). With @scrolled, what the
   * scrolling boxes show as they are scrolled now. */
  function unclippedBox(el, scrolled) {
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
        const scrolling = overflow === 'auto' || overflow === 'scroll';
        if (overflow === 'hidden' || overflow === 'clip' || (scrolled && scrolling)) {
          box[low] = Math.max(box[low], inner[low]);
          box[high] = Math.min(box[high], inner[high]);
        } else if (scrolling && inner[high] - inner[low] < MIN_SIZE) {
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
      if (!visible(w.frameElement) || inert(w.frameElement))
        return false;
    return true;
  }

  /* Whether @el or a flat-tree ancestor is inert: nobody can type into it. */
  function inert(el) {
    for (let e = el; e; e = flatParent(e))
      if (e.hasAttribute('inert'))
        return true;
    return false;
  }

  /* ---- Covered fields ----
   *
   * A field under another element is as hidden as a transparent one. The
   * browser's hit testing knows what is drawn on top, so each field is
   * scrolled into view and probed at the centres of a grid over the part of
   * it that shows; it is covered where something drawn over it hides it
   * there (hides()), and skipped when more than half of the grid is:
   * a card company's logo or a floating label over a corner does not hide
   * it, a box over most of it does. Hit testing skips what a page marks
   * pointer-events:none or inert, so for the time of the probes everything
   * is made hit-testable again. */

  const GRID_COLUMNS = 5;
  const GRID_ROWS = 3;

  /* A paint this opaque or more hides what is under it. */
  const HIDING_ALPHA = 0.5;

  /* Elements whose drawing is not in their style: they hide what they cover. */
  const CONTENT_ELEMENTS = new Set(['img', 'picture', 'video', 'canvas', 'iframe', 'frame',
                                    'embed', 'object']);

  const HITTABLE_CSS = '*, ::before, ::after, ::backdrop { pointer-events: auto !important; }';

  /* @el's shadow root, open or (where the browser lets an extension see
   * it) closed. */
  function shadowRootOf(el) {
    if (el.shadowRoot)
      return el.shadowRoot;
    const dom = global.chrome && global.chrome.dom;
    return dom && typeof dom.openOrClosedShadowRoot === 'function'
      ? dom.openOrClosedShadowRoot(el) || null : null;
  }

  /* Collects the shadow roots and the elements of @root, deep; not the
   * options of selects, drawn in a list of their own (and numerous). */
  function collectTree(root, roots, elements) {
    for (let el = root.firstElementChild; el; el = el.nextElementSibling) {
      elements.push(el);
      const shadow = shadowRootOf(el);
      if (shadow) {
        roots.push(shadow);
        collectTree(shadow, roots, elements);
      }
      if (el.localName !== 'select')
        collectTree(el, roots, elements);
    }
  }

  /* Makes every element of @docs hit-testable: a style sheet of ours in
   * each document and shadow root (no change to the DOM), then, for what
   * it cannot reach (an inline !important, a cascade layer's, inert), the
   * element's own attributes. Returns what puts it all back. */
  function makeHittable(docs) {
    const undo = [];
    for (const doc of docs) {
      const roots = [doc];
      const elements = [];
      collectTree(doc, roots, elements);
      try {
        const sheet = new doc.defaultView.CSSStyleSheet();
        sheet.replaceSync(HITTABLE_CSS);
        for (const root of roots) {
          root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
          undo.push(() => {
            root.adoptedStyleSheets = [...root.adoptedStyleSheets].filter((s) => s !== sheet);
          });
        }
      } catch (e) {
        /* no adopted sheets here: the loop below does it all */
      }
      for (const el of elements) {
        if (!el.style || (!el.hasAttribute('inert') && styleOf(el).pointerEvents === 'auto'))
          continue;
        const style = el.getAttribute('style');
        const inertValue = el.getAttribute('inert');
        el.removeAttribute('inert');
        el.style.setProperty('pointer-events', 'auto', 'important');
        undo.push(() => {
          if (style === null)
            el.removeAttribute('style');
          else
            el.setAttribute('style', style);
          if (inertValue !== null)
            el.setAttribute('inert', inertValue);
        });
      }
    }
    return () => {
      for (const f of undo.reverse())
        f();
    };
  }

  /* The alpha of a computed colour: rgba(), or "/ a" in the newer syntaxes. */
  function alphaOf(color) {
    if (!color || color === 'transparent')
      return 0;
    const m = color.match(/,\s*([\d.]+%?)\s*\)$/) || color.match(/\/\s*([\d.]+%?)\s*\)$/);
    if (!m || (color.startsWith('rgb') && color.split(',').length < 4))
      return 1;
    return m[1].endsWith('%') ? parseFloat(m[1]) / 100 : parseFloat(m[1]);
  }

  /* The opacity @el is drawn at: its own and its ancestors' together. */
  function drawnOpacity(el) {
    let opacity = 1;
    for (let e = el; e; e = flatParent(e))
      opacity *= parseFloat(styleOf(e).opacity);
    return opacity;
  }

  /* Whether a box of @style, drawn at @opacity, paints over all of itself:
   * a background, an inset shadow, a backdrop filter (which blurs what is
   * under it). Borders are in hidingBorder(). */
  function hidingFill(style, opacity) {
    if (opacity < HIDING_ALPHA)
      return false;
    return alphaOf(style.backgroundColor) * opacity >= HIDING_ALPHA ||
           style.backgroundImage !== 'none' || /\binset\b/.test(style.boxShadow) ||
           (style.backdropFilter !== undefined && style.backdropFilter !== 'none');
  }

  /* Whether the border of a box of @style hides (x, y): with @rect, the
   * point is in a side's band; without (a pseudo-element, whose box no API
   * gives), any side wide enough to be a shape rather than a line. */
  function hidingBorder(style, opacity, rect, x, y) {
    for (const side of ['Top', 'Right', 'Bottom', 'Left']) {
      const width = parseFloat(style[`border${side}Width`]) || 0;
      if (!width || /^(none|hidden)$/.test(style[`border${side}Style`]) ||
          alphaOf(style[`border${side}Color`]) * opacity < HIDING_ALPHA)
        continue;
      if (!rect ? width >= MIN_SIZE / 2
                : side === 'Top' ? y < rect.top + width
                : side === 'Bottom' ? y >= rect.bottom - width
                : side === 'Left' ? x < rect.left + width
                : x >= rect.right - width)
        return true;
    }
    return false;
  }

  /* Whether the pseudo-element @pseudo of @el, drawn at @opacity, may hide
   * what it covers. */
  function hidingPseudo(el, pseudo, opacity) {
    const style = el.ownerDocument.defaultView.getComputedStyle(el, pseudo);
    if (pseudo !== '::backdrop' && /^(none|normal)$/.test(style.content))
      return false;
    opacity *= parseFloat(style.opacity);
    return hidingFill(style, opacity) || hidingBorder(style, opacity, null) ||
           (opacity >= HIDING_ALPHA && /\b(url|[a-z-]*gradient|image-set)\(/.test(style.content));
  }

  /* Whether @el, found over a field at (x, y), hides it there: pictures,
   * video, frames and SVG shapes do; a box does where its background,
   * inset shadow or border is at least half opaque, and so do its
   * ::before and ::after (the hit may be theirs). Text does not (a label
   * or a placeholder written over the field). */
  function hides(el, x, y) {
    const opacity = drawnOpacity(el);
    if (opacity < HIDING_ALPHA)
      return false;
    if (CONTENT_ELEMENTS.has(el.localName) ||
        (el.namespaceURI === 'http://www.w3.org/2000/svg' && el.localName !== 'svg'))
      return true;
    const style = styleOf(el);
    const rect = Array.from(el.getClientRects()).find((r) => x >= r.left && x < r.right &&
                                                             y >= r.top && y < r.bottom);
    if (rect && (hidingFill(style, opacity) || hidingBorder(style, opacity, rect, x, y)))
      return true;
    if (hidingPseudo(el, '::before', opacity) || hidingPseudo(el, '::after', opacity))
      return true;
    /* the backdrop of a popover or modal, drawn under it over the page */
    let topLayer = false;
    try {
      topLayer = el.matches(':modal, :popover-open, :fullscreen');
    } catch (e) {
      topLayer = false;
    }
    return !rect && topLayer && hidingPseudo(el, '::backdrop', opacity);
  }

  /* The elements at (x, y) of @root, topmost first, with the content of
   * shadow hosts put before the host (elementsFromPoint() gives only the
   * host of what is inside). */
  function stackAt(root, x, y, seen = new Set()) {
    const stack = [];
    for (const el of root.elementsFromPoint(x, y)) {
      if (seen.has(el) || el.getRootNode() !== root)
        continue;
      seen.add(el);
      const shadow = shadowRootOf(el);
      if (shadow)
        stack.push(...stackAt(shadow, x, y, seen));
      stack.push(el);
    }
    return stack;
  }

  /* Whether something over @el hides it at (x, y), in its window's
   * coordinates. Where @el is not hit at all (an inert field under a modal
   * dialog, a point out of the viewport), it is covered. */
  function coveredAt(el, x, y) {
    for (const e of stackAt(el.ownerDocument, x, y)) {
      if (e === el)
        return false;
      if (hides(e, x, y))
        return true;
    }
    return true;
  }

  function intersect(a, b) {
    return { left: Math.max(a.left, b.left), top: Math.max(a.top, b.top),
             right: Math.min(a.right, b.right), bottom: Math.min(a.bottom, b.bottom) };
  }

  /* The part of @el its window shows now: unclipped, scrolled, in the viewport. */
  function shownBox(el) {
    const box = unclippedBox(el, true);
    const view = el.ownerDocument.defaultView;
    return box && intersect(box, { left: 0, top: 0, right: view.innerWidth, bottom: view.innerHeight });
  }

  /* @el and the frames it is in, each with the offset from its window's
   * coordinates to the top window's. */
  function frameChain(el) {
    const chain = [];
    for (let e = el; e; ) {
      const view = e.ownerDocument.defaultView;
      chain.push({ el: e, dx: 0, dy: 0 });
      e = view === view.top ? null : view.frameElement;
    }
    for (let i = chain.length - 2; i >= 0; i--) {
      const frame = chain[i + 1].el;
      const rect = frame.getBoundingClientRect();
      const style = styleOf(frame);
      chain[i].dx = chain[i + 1].dx + rect.left + frame.clientLeft + parseFloat(style.paddingLeft);
      chain[i].dy = chain[i + 1].dy + rect.top + frame.clientTop + parseFloat(style.paddingTop);
    }
    return chain;
  }

  /* Whether @el, as the page is scrolled now, shows at least MIN_SIZE both
   * ways and is hidden at fewer than half the points of the grid. Points
   * are tested in each window between it and the top: the field in its
   * own, then each frame in its parent's. */
  function showsNow(el) {
    const chain = frameChain(el);
    let box = { left: -Infinity, top: -Infinity, right: Infinity, bottom: Infinity };
    for (const { el: e, dx, dy } of chain) {
      const shown = shownBox(e);
      if (!shown)
        return false;
      box = intersect(box, { left: shown.left + dx, top: shown.top + dy,
                             right: shown.right + dx, bottom: shown.bottom + dy });
    }
    const width = box.right - box.left;
    const height = box.bottom - box.top;
    if (width < MIN_SIZE || height < MIN_SIZE)
      return false;
    let covered = 0;
    for (let i = 0; i < GRID_COLUMNS; i++)
      for (let j = 0; j < GRID_ROWS; j++) {
        const x = box.left + (i + 0.5) * width / GRID_COLUMNS;
        const y = box.top + (j + 0.5) * height / GRID_ROWS;
        if (chain.some(({ el: e, dx, dy }) => coveredAt(e, x - dx, y - dy)))
          covered++;
      }
    return covered * 2 < GRID_COLUMNS * GRID_ROWS;
  }

  /* How the boxes that may scroll to show @el are scrolled: its ancestors
   * and its window, then the frame's, up to the top. */
  function scrollState(el) {
    const state = [];
    for (let e = el; e; ) {
      for (let a = flatParent(e); a; a = flatParent(a))
        state.push({ box: a, left: a.scrollLeft, top: a.scrollTop });
      const view = e.ownerDocument.defaultView;
      state.push({ box: view, left: view.scrollX, top: view.scrollY });
      e = view === view.top ? null : view.frameElement;
    }
    return state;
  }

  function restoreScroll(state) {
    for (const { box, left, top } of state) {
      const isView = box.scrollX !== undefined;
      if ((isView ? box.scrollX : box.scrollLeft) !== left ||
          (isView ? box.scrollY : box.scrollTop) !== top)
        box.scrollTo({ left, top, behavior: 'instant' });
    }
  }

  /* Whether @el is not covered: probed scrolled to the middle of the
   * window (a field below the fold is as good as one in view, and is
   * judged where the user would see it), then everything is scrolled back
   * before anything is drawn. */
  function uncovered(el) {
    const state = scrollState(el);
    try {
      el.scrollIntoView({ block: 'center', inline: 'nearest', behavior: 'instant' });
      return showsNow(el);
    } finally {
      restoreScroll(state);
    }
  }

  /* The documents from @win's to the top's. */
  function documentsUp(win) {
    const docs = [];
    for (let w = win; ; w = w.parent) {
      docs.push(w.document);
      if (w === w.top)
        return docs;
    }
  }

  /* The fields of @fields no element covers. */
  function notCovered(fields, win) {
    if (!fields.some((f) => f.element.localName !== 'select'))
      return fields;
    const undo = makeHittable(documentsUp(win));
    try {
      /* a <select> needs only be rendered (see visible()) */
      return fields.filter((f) => f.element.localName === 'select' || uncovered(f.element));
    } finally {
      undo();
    }
  }

  function fillable(el, type) {
    if (el.localName === 'select' && !SELECT_TYPES.has(type))
      return false;
    return el.isConnected && !el.disabled && !el.readOnly && !inert(el) && visible(el);
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
    const usable = notCovered((fields || []).filter((f) => f && f.element &&
                                                    fillable(f.element, f.type)), win || global);
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
