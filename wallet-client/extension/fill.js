/* fill.js: puts a card or bank account into the fields detector.js found
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A classic script with no dependencies. It defines
 *
 *   OnePinFill.allowed(window)       -> null, or why filling is refused
 *   OnePinFill.check(fields)         -> null, or why fill() would refuse them
 *   OnePinFill.usable(fields)        -> the types of the fields fill() would fill
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
 *     ancestor's, drawn less than half opaque, clipped away, under 8 px,
 *     off the page, or in a frame that is), disabled or read-only;
 *   - a number, CVC or name into a <select>;
 *   - anything at all when one of the fields is out of view (refused
 *     "out-of-view": nothing is scrolled, the user scrolls) or covered by
 *     another element (refused "covered-field"), or when a card form shows
 *     its number but hides all its expiry or CVC fields (refused
 *     "hidden-field").
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

  /* Paint this opaque or more hides what is under it; a field drawn less
   * opaque than this is as good as hidden. */
  const HIDING_ALPHA = 0.5;

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

  /* The functions of a computed filter: [name, argument]. */
  function filterFunctions(filter) {
    if (!filter || filter === 'none')
      return [];
    return Array.from(filter.matchAll(/([a-z-]+)\(((?:[^()]|\([^()]*\))*)\)/g), (m) => [m[1], m[2].trim()]);
  }

  function amountOf(arg) {
    return arg.endsWith('%') ? parseFloat(arg) / 100 : parseFloat(arg);
  }

  /* The product of the opacity() functions of a filter. */
  function filterOpacity(filter) {
    let alpha = 1;
    for (const [name, arg] of filterFunctions(filter))
      if (name === 'opacity')
        alpha *= Math.min(1, amountOf(arg));
    return alpha;
  }

  /* How much of what it holds a filter lets a person read, 0 to 1: its
   * opacity(); functions that only tint (a shadow behind, grey, sepia, a
   * hue, saturation, a little brightness or contrast, a 1 px blur) leave
   * it readable; any other (a blur, inverting to grey, washing all white
   * or black, an SVG filter of url()) hides it. */
  function filterAlpha(filter) {
    let alpha = 1;
    for (const [name, arg] of filterFunctions(filter)) {
      const v = amountOf(arg);
      if (name === 'opacity')
        alpha *= Math.min(1, v);
      else if (!(/^(drop-shadow|grayscale|sepia|hue-rotate|saturate)$/.test(name) ||
                 (name === 'invert' && (v <= 0.25 || v >= 0.75)) ||
                 (name === 'brightness' && v >= 0.3 && v <= 3) ||
                 (name === 'contrast' && v >= 0.3) ||
                 (name === 'blur' && parseFloat(arg) <= 1)))
        return 0;
    }
    return alpha;
  }

  /* How opaque @el is drawn, 0 to 1: its opacity and filter, its
   * ancestors' and, up to the top, the frames' it is in. */
  function shownAlpha(el) {
    let alpha = 1;
    for (let e = el; e && alpha > 0; ) {
      const style = styleOf(e);
      alpha *= parseFloat(style.opacity) * filterAlpha(style.filter);
      let next = flatParent(e);
      if (!next) {
        try {
          next = e.ownerDocument.defaultView.frameElement;
        } catch (err) {
          next = null;
        }
      }
      e = next;
    }
    return alpha;
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
   * scrolling boxes show as they are scrolled now; with @scrollOnly, only
   * that (not what overflow:hidden, clip-path or masks leave). */
  function unclippedBox(el, scrolled, scrollOnly) {
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
      if (!scrollOnly)
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
        if ((!scrollOnly && (overflow === 'hidden' || overflow === 'clip')) || (scrolled && scrolling)) {
          box[low] = Math.max(box[low], inner[low]);
          box[high] = Math.min(box[high], inner[high]);
        } else if (scrolling && !scrollOnly && inner[high] - inner[low] < MIN_SIZE) {
          box = null;
          break;
        }
      }
    }
    return box;
  }

  /* Whether @el is in a box that scrolls or stays fixed, which the page's
   * extent says nothing about (a field low in a scrolling modal). */
  function inOwnViewport(el) {
    const doc = el.ownerDocument;
    for (let e = el; e && e !== doc.body && e !== doc.documentElement; e = flatParent(e)) {
      const style = styleOf(e);
      if (style.position === 'fixed' || (e !== el && /auto|scroll/.test(style.overflowX + style.overflowY)))
        return true;
    }
    return false;
  }

  /* A <select> is often hidden behind a scripted dropdown that shows its
   * value, so one of SELECT_TYPES only needs to be rendered; any other
   * field must be rendered, drawn at least HIDING_ALPHA opaque (an opacity
   * of 0.01 hides as well as 0), at least MIN_SIZE in both directions
   * once its ancestors clipped it, and on the page (unless a scrolling or
   * fixed box holds it: then refusal() judges whether it is in view). */
  function visible(el) {
    if (el.localName === 'select')
      return rendered(el, false);
    if (!rendered(el, true) || shownAlpha(el) < HIDING_ALPHA)
      return false;
    const box = unclippedBox(el);
    if (!box || box.right - box.left < MIN_SIZE || box.bottom - box.top < MIN_SIZE)
      return false;
    if (inOwnViewport(el))
      return true;
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

  /* ---- Covered fields ----
   *
   * A field under another element is as hidden as a transparent one, and a
   * page must not learn a card by drawing a box over the CVC. Everything
   * here only reads the page: no attribute, style or node is changed (a
   * page's custom elements and mutation observers would see it, and could
   * put back what hides the field), and nothing is scrolled: a field must
   * be in view already, as the user sees it.
   *
   * The value of a field is drawn in its content box, so that is where it
   * must show: brand logos, hint icons and floating labels sit in its
   * padding. At the centres of a 5x3 grid over the content box (what of it
   * shows), hit testing says what is on top; elementFromPoint() first, and
   * only when that is not the field, elementsFromPoint() for what lies
   * above it. Hit testing does not see what is pointer-events:none or
   * inert, nor what an element paints outside its box (outlines, outer
   * shadows), so a walk of each document collects those, and whether they
   * lie above the field is worked out from the stacking rules
   * (paintsAbove()). The paints above a point are composed (two half
   * transparent layers hide as much as one of 3/4), and a point is hidden
   * when they are at least half opaque. A field is covered when half of
   * its points or more are hidden; one covered field refuses the fill. */

  const GRID_COLUMNS = 5;
  const GRID_ROWS = 3;

  /* Elements whose drawing is not in their style: they hide what they cover. */
  const CONTENT_ELEMENTS = new Set(['img', 'picture', 'video', 'canvas', 'iframe', 'frame',
                                    'embed', 'object']);
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const HTML_NS = 'http://www.w3.org/1999/xhtml';
  const PSEUDOS = ['::before', '::after'];
  /* Pseudo-elements of text: the part of their element's lines they style
   * has no box any API gives. */
  const TEXT_PSEUDOS = ['::first-letter', '::first-line'];
  /* The pointer-events with which hit testing finds all an SVG shape paints. */
  const SVG_HIT_ALL = /^(auto|visiblePainted|painted|visible|all)$/;

  function isContent(el) {
    return CONTENT_ELEMENTS.has(el.localName) ||
           (el.localName === 'input' && el.type === 'image') ||
           (el.namespaceURI === SVG_NS && el.localName !== 'svg');
  }

  function paintsBackground(style) {
    return alphaOf(style.backgroundColor) > 0 ||
           (style.backgroundImage && style.backgroundImage !== 'none');
  }

  /* @el's shadow root, open or (where the browser lets an extension see
   * it) closed. Only HTML elements have one: openOrClosedShadowRoot()
   * throws on any other (an SVG shape). */
  function shadowRootOf(el) {
    if (el.shadowRoot)
      return el.shadowRoot;
    const dom = global.chrome && global.chrome.dom;
    if (!dom || typeof dom.openOrClosedShadowRoot !== 'function' || el.namespaceURI !== HTML_NS)
      return null;
    try {
      return dom.openOrClosedShadowRoot(el) || null;
    } catch (e) {
      return null;
    }
  }

  function isDescendant(el, ancestor) {
    for (let e = el; e; e = flatParent(e))
      if (e === ancestor)
        return true;
    return false;
  }

  /* ---- What hit testing cannot see ---- */

  /* Collects, under @root, what may paint where hit testing does not
   * look: elements that are pointer-events:none or inert (with their
   * ::before and ::after), SVG shapes hit only where they are stroked or
   * filled, ::before and ::after that are pointer-events:none, any
   * ::first-letter or ::first-line with a background, and elements with
   * an outline or an outer shadow. Not the options of selects, drawn in a
   * list of their own. */
  function collectUnseen(root, inertAbove, out, textStyled = stylesTextPseudos(root)) {
    for (let el = root.firstElementChild; el; el = el.nextElementSibling) {
      const view = el.ownerDocument.defaultView;
      const style = view.getComputedStyle(el);
      if (style.display === 'none')
        continue;
      const inert = inertAbove || el.hasAttribute('inert');
      const unseen = inert || style.pointerEvents === 'none' ||
                     (el.namespaceURI === SVG_NS && !SVG_HIT_ALL.test(style.pointerEvents));
      if (unseen || style.outlineStyle !== 'none' || style.boxShadow !== 'none' ||
          paintsAside(style) || textShadowsOf(el, style).length)
        out.push({ el, pseudo: null, unseen, reach: reachOf(style, el) });
      if (textStyled && el.firstChild && el.namespaceURI !== SVG_NS)
        for (const pseudo of TEXT_PSEUDOS)
          if (paintsBackground(view.getComputedStyle(el, pseudo)))
            out.push({ el, pseudo, unseen: true, reach: 0 });
      for (const pseudo of PSEUDOS) {
        const ps = view.getComputedStyle(el, pseudo);
        if (!/^(none|normal)$/.test(ps.content) &&
            (inert || ps.pointerEvents === 'none' || reachOf(ps) > 0))
          out.push({ el, pseudo, unseen: true, reach: reachOf(ps) });
      }
      const shadow = shadowRootOf(el);
      if (shadow)
        collectUnseen(shadow, inert, out, stylesTextPseudos(shadow));
      if (el.localName !== 'select')
        collectUnseen(el, inert, out, textStyled);
    }
    return out;
  }

  /* Whether a style sheet of @root (a document or shadow root) may style
   * a ::first-letter or ::first-line: asking each element for them would
   * double the walk. A sheet that cannot be read (of another origin) may. */
  function stylesTextPseudos(root) {
    const mentions = (sheet) => {
      let rules;
      try {
        rules = sheet.cssRules;
      } catch (e) {
        return true;
      }
      for (const rule of rules)
        if ((rule.styleSheet && mentions(rule.styleSheet)) || /:first-l(etter|ine)/i.test(rule.cssText))
          return true;
      return false;
    };
    return Array.from(root.styleSheets || []).concat(Array.from(root.adoptedStyleSheets || []))
      .some(mentions);
  }

  /* How far outside its box an element of @style (@el, for the shadows of
   * its text) paints: outline, outer shadows, a filter's shadows or blur, a
   * border-image's outset, a column rule. */
  function reachOf(style, el) {
    let reach = style.outlineStyle !== 'none'
      ? Math.max(0, px0(style.outlineWidth) + px0(style.outlineOffset)) : 0;
    for (const s of shadowsOf(style.boxShadow))
      if (!s.inset)
        reach = Math.max(reach, Math.abs(s.dx) + Math.abs(s.dy) + s.spread + s.blur);
    const filter = filterInk(style);
    if (filter)
      reach = Math.max(reach, filter.reach);
    const image = borderImageOutset(style);
    if (image)
      reach = Math.max(reach, ...image);
    if (columnRule(style))
      reach = Math.max(reach, px0(style.columnRuleWidth));
    /* glyphs may reach past their line box by about their size */
    for (const s of el ? textShadowsOf(el, style) : [])
      reach = Math.max(reach, Math.abs(s.dx) + Math.abs(s.dy) + s.blur + px0(style.fontSize));
    return reach;
  }

  /* ---- Paint outside the box ----
   *
   * What no API measures the ink of: the shadows and blur of a filter
   * (an SVG filter of url() may paint anywhere), a border-image (with its
   * outset), a column rule (drawn in the gaps, however wide: it may spill
   * over the columns and out of the box). Where it may reach, it counts as
   * drawn: an element painted over the field with one of these hides it,
   * unless its ink is known to be faint (a shadow's colour). */

  /* The paint @style's filter adds around its element, or null for a
   * filter that only changes colours: how far it reaches, how opaque it
   * is, and the boxes it may cover given the element's box (each shadow
   * is cast by all before it, a blur spreads all). */
  function filterInk(style) {
    let reach = 0;
    let alpha = 0;
    const steps = [];
    for (const [name, arg] of filterFunctions(style.filter)) {
      if (name === 'url')
        return { reach: Infinity, alpha: 1, boxes: () => [{ left: -Infinity, top: -Infinity,
                                                            right: Infinity, bottom: Infinity }] };
      if (name === 'drop-shadow') {
        const s = shadowsOf(arg)[0];
        reach += Math.abs(s.dx) + Math.abs(s.dy) + 2 * s.blur;
        alpha = Math.max(alpha, alphaOf(s.color));
        steps.push((b) => b.concat(b.map((r) => grow({ left: r.left + s.dx, right: r.right + s.dx,
                                                        top: r.top + s.dy, bottom: r.bottom + s.dy },
                                                      2 * s.blur, 2 * s.blur, 2 * s.blur, 2 * s.blur))));
      } else if (name === 'blur') {
        const d = 3 * px0(arg);
        reach += d;
        alpha = 1;
        steps.push((b) => b.map((r) => grow(r, d, d, d, d)));
      }
    }
    if (!alpha)
      return null;
    return { reach, alpha: alpha * filterOpacity(style.filter),
             boxes: (rect) => steps.reduce((b, step) => step(b), [rect]) };
  }

  /* A border-image's outsets [top, right, bottom, left] in px (a number
   * is times the border's width), or null without one. */
  function borderImageOutset(style) {
    if (!style.borderImageSource || style.borderImageSource === 'none')
      return null;
    const v = (style.borderImageOutset || '0').trim().split(/\s+/);
    const sides = [v[0], v[1] || v[0], v[2] || v[0], v[3] || v[1] || v[0]];
    return sides.map((value, i) => {
      const width = px0(style[`border${['Top', 'Right', 'Bottom', 'Left'][i]}Width`]);
      return Math.max(0, value.endsWith('px') ? px0(value) : px0(value) * width);
    });
  }

  /* Whether @style's element is in columns with a rule between them. */
  function columnRule(style) {
    return (style.columnCount !== 'auto' || style.columnWidth !== 'auto') &&
           !/^(none|hidden)$/.test(style.columnRuleStyle) && px0(style.columnRuleWidth) > 0 &&
           alphaOf(style.columnRuleColor) > 0;
  }

  /* Whether @style paints where boxAlpha() alone would not see it. */
  function paintsAside(style) {
    return !!(filterInk(style) || borderImageOutset(style) || columnRule(style));
  }

  function grow(box, top, right, bottom, left) {
    return { left: box.left - left, top: box.top - top, right: box.right + right,
             bottom: box.bottom + bottom };
  }

  /* How opaque the paint of @style that boxAlpha() does not measure may be
   * at (x, y), around and in its box @rect: all of it counts where it may
   * reach. */
  function asideAlpha(style, rect, x, y) {
    let alpha = 0;
    const filter = filterInk(style);
    if (filter && filter.boxes(rect).some((b) => contains(b, x, y)))
      alpha = filter.alpha;
    const outset = borderImageOutset(style);
    if (outset && contains(grow(rect, ...outset), x, y))
      alpha = 1;
    const rule = columnRule(style) ? px0(style.columnRuleWidth) : 0;
    if (rule && contains(grow(rect, 0, rule, 0, rule), x, y))
      alpha = Math.max(alpha, alphaOf(style.columnRuleColor));
    return alpha;
  }

  /* Text shadows are drawn as far from the glyphs as they are offset: one
   * offset (and half its blur) by more than this is no longer a part of
   * its text (an embossed or glowing letter) but paint of its own. */
  const TEXT_SHADOW_SLACK = 3;

  /* The shadows @el's own text casts away from it, or none: its style's
   * (inherited by all below) only if it has text of its own. */
  function textShadowsOf(el, style) {
    if (!style.textShadow || style.textShadow === 'none' || el.namespaceURI === SVG_NS)
      return [];
    const shadows = shadowsOf(style.textShadow).filter((s) =>
      alphaOf(s.color) > 0 && Math.abs(s.dx) + Math.abs(s.dy) + s.blur / 2 > TEXT_SHADOW_SLACK);
    if (!shadows.length)
      return [];
    for (let n = el.firstChild; n; n = n.nextSibling)
      if (n.nodeType === 3 && n.data.trim())
        return shadows;
    return [];
  }

  /* How opaque the shadows of @el's own text are at (x, y): each text's
   * boxes moved by the shadow's offset, grown by half its blur. */
  function textShadowAlpha(el, style, x, y) {
    const shadows = textShadowsOf(el, style);
    let alpha = 0;
    for (let n = el.firstChild; n && shadows.length; n = n.nextSibling) {
      if (n.nodeType !== 3 || !n.data.trim())
        continue;
      const range = el.ownerDocument.createRange();
      range.selectNodeContents(n);
      for (const r of range.getClientRects())
        for (const s of shadows) {
          const b = s.blur / 2;
          if (contains({ left: r.left + s.dx - b, right: r.right + s.dx + b,
                         top: r.top + s.dy - b, bottom: r.bottom + s.dy + b }, x, y))
            alpha = Math.max(alpha, alphaOf(s.color));
        }
    }
    return alpha;
  }

  /* ---- Stacking ---- */

  function zIndexOf(style) {
    return parseInt(style.zIndex, 10) || 0;
  }

  /* Whether an element of @style (child of @parentStyle) makes a stacking
   * context: its content is painted together, at its place. */
  function stacks(isRoot, style, parentStyle) {
    const none = (v) => !v || v === 'none';
    return isRoot ||
      /^(fixed|sticky)$/.test(style.position) ||
      (style.zIndex !== 'auto' && (style.position !== 'static' ||
                                   /flex|grid/.test(parentStyle ? parentStyle.display : ''))) ||
      parseFloat(style.opacity) < 1 || !none(style.transform) || !none(style.translate) ||
      !none(style.rotate) || !none(style.scale) || !none(style.filter) ||
      !none(style.backdropFilter) || style.mixBlendMode !== 'normal' ||
      style.isolation === 'isolate' || !none(style.perspective) || !none(style.clipPath) ||
      !none(style.maskImage) || !none(style.webkitMaskImage) ||
      /\b(layout|paint|strict|content)\b/.test(style.contain) ||
      /size/.test(style.containerType || '') ||
      /\b(opacity|transform|translate|rotate|scale|filter|backdrop-filter|mix-blend-mode|isolation|perspective|clip-path|mask|z-index|position|contain)\b/
        .test(style.willChange);
  }

  function inTopLayer(el) {
    try {
      return el.matches(':modal, :popover-open, :fullscreen');
    } catch (e) {
      return false;
    }
  }

  /* A node for painting order: an element, or its ::before or ::after
   * (the first and last child it paints). */
  function paintNode(el, pseudo) {
    const view = el.ownerDocument.defaultView;
    return { el, pseudo, style: pseudo ? view.getComputedStyle(el, pseudo) : view.getComputedStyle(el) };
  }

  /* The painting path of @node: from the root, each stacking context or
   * positioned box it is painted in, then itself, each with its layer in
   * the one before (CSS 2 appendix E: 2 negative z-index, 3 blocks, 4
   * floats, 5 inline content, 6 positioned and z-index 0, 7 positive
   * z-index, 8 the top layer). A positive or negative z-index is ordered
   * in the stacking context, past positioned boxes without one. */
  function paintPath(node, target) {
    const chain = [node];
    for (let e = node.pseudo ? node.el : flatParent(node.el); e; e = flatParent(e))
      chain.unshift(paintNode(e, null));
    const path = [];
    for (let i = 0; i < chain.length; i++) {
      const n = chain[i];
      const parentStyle = i ? chain[i - 1].style : null;
      const sc = stacks(!n.pseudo && n.el === n.el.ownerDocument.documentElement, n.style, parentStyle);
      const positioned = n.style.position !== 'static';
      const z = zIndexOf(n.style);
      let layer;
      if (!n.pseudo && inTopLayer(n.el))
        layer = 8;
      else if (sc)
        layer = z < 0 ? 2 : z > 0 ? 7 : 6;
      else if (positioned)
        layer = 6;
      else if (n.style.float !== 'none')
        layer = 4;
      else if (n === node && target)
        layer = 5;  /* a field's value is inline content, whatever its box */
      else
        layer = /^(block|flex|grid|table|list-item|flow-root)$/.test(n.style.display) ? 3 : 5;
      if (!sc && !positioned && n !== node && i)
        continue;
      const entry = { node: n, layer, z, sc };
      /* a z-index other than 0 leaves positioned boxes for its stacking context */
      if (layer === 2 || layer === 7)
        while (path.length > 1 && !path[path.length - 1].sc)
          path.pop();
      else if (layer === 8)
        path.length = 1;
      path.push(entry);
    }
    return path;
  }

  /* -1 if @a comes before @b in the flat tree, 1 after (a pseudo-element
   * is its element's first or last child). */
  function treeOrder(a, b) {
    const up = (n) => {
      const list = [];
      for (let e = n.el; e; e = flatParent(e))
        list.unshift(e);
      return list;
    };
    const pa = up(a);
    const pb = up(b);
    let i = 0;
    while (i < pa.length && i < pb.length && pa[i] === pb[i])
      i++;
    const rank = (node, path) => {
      if (i === path.length)  /* node's own element is the common ancestor */
        return node.pseudo === '::before' ? 0.5 : node.pseudo === '::after' ? 2 : 0;
      return 1;
    };
    const ra = rank(a, pa);
    const rb = rank(b, pb);
    if (ra !== 1 || rb !== 1)
      return ra < rb ? -1 : ra > rb ? 1 : 0;
    const ca = pa[i];
    const cb = pb[i];
    const position = ca.compareDocumentPosition(cb);
    return position & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
  }

  /* Whether @node (@inline: its inline content) is painted after (over)
   * @target. */
  function paintsAbove(node, target, inline) {
    const pa = paintPath(node, !!inline);
    const pb = paintPath(target, true);
    let i = 0;
    while (i < pa.length && i < pb.length && pa[i].node.el === pb[i].node.el &&
           pa[i].node.pseudo === pb[i].node.pseudo)
      i++;
    /* one holds the other: what holds is painted first */
    if (i === pa.length)
      return false;
    if (i === pb.length)
      return true;
    const a = pa[i];
    const b = pb[i];
    if (a.layer !== b.layer)
      return a.layer > b.layer;
    if ((a.layer === 2 || a.layer === 7) && a.z !== b.z)
      return a.z > b.z;
    return treeOrder(a.node, b.node) > 0;
  }

  /* ---- Paint at a point ---- */

  function contains(box, x, y) {
    return box && x >= box.left && x < box.right && y >= box.top && y < box.bottom;
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

  /* The opacity @el is drawn at: its own and its ancestors' together,
   * with their filters' opacity(). */
  function drawnOpacity(el) {
    let opacity = 1;
    for (let e = el; e; e = flatParent(e)) {
      const style = styleOf(e);
      opacity *= parseFloat(style.opacity) * filterOpacity(style.filter);
    }
    return opacity;
  }

  /* The shadows of a computed box-shadow: colour, offsets, blur, spread. */
  function shadowsOf(value) {
    if (!value || value === 'none')
      return [];
    return value.split(/,(?![^(]*\))/).map((s) => {
      const color = (s.match(/(rgba?|hsla?|color|oklch|oklab|lab|lch|hwb)\([^)]*\)/) || ['transparent'])[0];
      const lengths = s.replace(color, '').match(/-?[\d.]+px/g) || [];
      const [dx, dy, blur, spread] = lengths.map(parseFloat).concat([0, 0, 0, 0]);
      return { color, dx, dy, blur, spread, inset: /\binset\b/.test(s) };
    });
  }

  /* How opaque a box of @style with border box @rect paints at (x, y):
   * its background, border and inset shadow inside, its outline and
   * outer shadows outside. */
  function boxAlpha(style, rect, x, y, outsideOnly) {
    let alpha = 0;
    if (contains(rect, x, y) && !outsideOnly) {
      alpha = Math.max(alpha, alphaOf(style.backgroundColor));
      if (style.backgroundImage && style.backgroundImage !== 'none')
        alpha = 1;
      if (style.backdropFilter && style.backdropFilter !== 'none')
        alpha = 1;
      for (const side of ['Top', 'Right', 'Bottom', 'Left']) {
        const width = parseFloat(style[`border${side}Width`]) || 0;
        if (width && !/^(none|hidden)$/.test(style[`border${side}Style`]) &&
            (side === 'Top' ? y < rect.top + width : side === 'Bottom' ? y >= rect.bottom - width
             : side === 'Left' ? x < rect.left + width : x >= rect.right - width))
          alpha = Math.max(alpha, alphaOf(style[`border${side}Color`]));
      }
      for (const s of shadowsOf(style.boxShadow))
        if (s.inset)
          alpha = Math.max(alpha, alphaOf(s.color));
    } else if (!contains(rect, x, y)) {
      for (const s of shadowsOf(style.boxShadow)) {
        const d = s.spread + s.blur;
        if (!s.inset && contains({ left: rect.left + s.dx - d, right: rect.right + s.dx + d,
                                   top: rect.top + s.dy - d, bottom: rect.bottom + s.dy + d }, x, y))
          alpha = Math.max(alpha, alphaOf(s.color));
      }
      const outline = style.outlineStyle !== 'none' ? parseFloat(style.outlineWidth) || 0 : 0;
      const offset = parseFloat(style.outlineOffset) || 0;
      if (outline && contains({ left: rect.left - offset - outline, right: rect.right + offset + outline,
                                top: rect.top - offset - outline, bottom: rect.bottom + offset + outline }, x, y) &&
          !contains({ left: rect.left - offset, right: rect.right + offset,
                      top: rect.top - offset, bottom: rect.bottom + offset }, x, y))
        alpha = Math.max(alpha, alphaOf(style.outlineColor));
    }
    if (!outsideOnly || !contains(rect, x, y))
      alpha = Math.max(alpha, asideAlpha(style, rect, x, y));
    return alpha;
  }

  /* The border box of @el that holds (x, y), or its bounding box. */
  function rectAt(el, x, y) {
    const rects = Array.from(el.getClientRects());
    return rects.find((r) => contains(r, x, y)) || el.getBoundingClientRect();
  }

  /* How opaque @el itself paints at (x, y): pictures, frames and SVG
   * shapes wholly, a box by its style. Text is not counted (a label or a
   * placeholder written over the field, such as a floating caption); the
   * box of one of the field's own labels is, like any other: a page's
   * label can be drawn over the field it names. */
  function elementAlpha(el, x, y, outsideOnly) {
    const style = styleOf(el);
    if (style.visibility !== 'visible')
      return 0;
    const rect = rectAt(el, x, y);
    let alpha = 0;
    if (!outsideOnly && contains(rect, x, y) && isContent(el))
      alpha = 1;
    else
      alpha = boxAlpha(style, rect, x, y, outsideOnly);
    if (!outsideOnly || !contains(rect, x, y))
      alpha = Math.max(alpha, textShadowAlpha(el, style, x, y));
    return alpha && alpha * drawnOpacity(el);
  }

  function px0(v) {
    return parseFloat(v) || 0;
  }

  /* The box that positions @el's absolutely (or, @fixed, fixed) positioned
   * children: its padding box in the window, with the scale it is drawn
   * at. */
  function containingBlock(el, fixed) {
    for (let e = el; e; e = flatParent(e)) {
      const style = styleOf(e);
      if (holdsFixed(style) || (!fixed && style.position !== 'static') ||
          e === e.ownerDocument.documentElement && !fixed) {
        const r = e.getBoundingClientRect();
        const sx = e.offsetWidth ? r.width / e.offsetWidth : 1;
        const sy = e.offsetHeight ? r.height / e.offsetHeight : 1;
        if (e === e.ownerDocument.documentElement)
          return { left: r.left, top: r.top, width: e.clientWidth, height: e.clientHeight, sx: 1, sy: 1 };
        return { left: r.left + e.clientLeft * sx, top: r.top + e.clientTop * sy,
                 width: e.clientWidth, height: e.clientHeight, sx, sy };
      }
    }
    const view = el.ownerDocument.defaultView;
    return { left: 0, top: 0, width: view.innerWidth, height: view.innerHeight, sx: 1, sy: 1 };
  }

  /* Where @el's pseudo-element of style @ps is drawn, in its window, or
   * null (an inline one, whose box no style gives). No API gives the box
   * of a pseudo-element: a positioned one is placed from its insets in
   * its containing block (scaled as that is drawn), one in the flow at the
   * top of its element's content box (::before) or at its bottom
   * (::after). */
  function pseudoBox(el, pseudo, ps) {
    let width = parseFloat(ps.width);
    let height = parseFloat(ps.height);
    if (ps.display === 'none' || !(width >= 0) || !(height >= 0))
      return null;
    if (ps.boxSizing !== 'border-box') {
      width += px0(ps.paddingLeft) + px0(ps.paddingRight) + px0(ps.borderLeftWidth) + px0(ps.borderRightWidth);
      height += px0(ps.paddingTop) + px0(ps.paddingBottom) + px0(ps.borderTopWidth) + px0(ps.borderBottomWidth);
    }
    if (ps.position === 'absolute' || ps.position === 'fixed') {
      const cb = containingBlock(el, ps.position === 'fixed');
      let left = parseFloat(ps.left);
      let top = parseFloat(ps.top);
      if (isNaN(left))
        left = isNaN(parseFloat(ps.right)) ? 0 : cb.width - parseFloat(ps.right) - width - px0(ps.marginRight);
      else
        left += px0(ps.marginLeft);
      if (isNaN(top))
        top = isNaN(parseFloat(ps.bottom)) ? 0 : cb.height - parseFloat(ps.bottom) - height - px0(ps.marginBottom);
      else
        top += px0(ps.marginTop);
      return { left: cb.left + left * cb.sx, top: cb.top + top * cb.sy,
               right: cb.left + (left + width) * cb.sx, bottom: cb.top + (top + height) * cb.sy };
    }
    const r = el.getBoundingClientRect();
    const style = styleOf(el);
    const sx = el.offsetWidth ? r.width / el.offsetWidth : 1;
    const sy = el.offsetHeight ? r.height / el.offsetHeight : 1;
    const left = r.left + (px0(style.borderLeftWidth) + px0(style.paddingLeft) + px0(ps.marginLeft)) * sx;
    const top = pseudo === '::before'
      ? r.top + (px0(style.borderTopWidth) + px0(style.paddingTop) + px0(ps.marginTop)) * sy
      : r.bottom - (px0(style.borderBottomWidth) + px0(style.paddingBottom) + px0(ps.marginBottom) + height) * sy;
    const dx = ps.position === 'relative' ? px0(ps.left) - px0(ps.right) : 0;
    const dy = ps.position === 'relative' ? px0(ps.top) - px0(ps.bottom) : 0;
    return { left: left + dx * sx, top: top + dy * sy,
             right: left + (dx + width) * sx, bottom: top + (dy + height) * sy };
  }

  /* How opaque @el's @pseudo paints at (x, y), if it is drawn over @target. */
  function pseudoAlpha(el, pseudo, target, x, y) {
    const view = el.ownerDocument.defaultView;
    const ps = view.getComputedStyle(el, pseudo);
    if (/^(none|normal)$/.test(ps.content) || ps.visibility !== 'visible')
      return 0;
    const box = pseudoBox(el, pseudo, ps);
    const reach = box ? reachOf(ps) : 0;
    if (!contains(box && grow(box, reach, reach, reach, reach), x, y))
      return 0;
    let alpha = boxAlpha(ps, box, x, y, false);
    if (/\b(url|[a-z-]*gradient|image-set)\(/.test(ps.content))
      alpha = 1;
    if (!alpha || !paintsAbove(paintNode(el, pseudo), paintNode(target, null)))
      return 0;
    return alpha * parseFloat(ps.opacity) * filterOpacity(ps.filter) * drawnOpacity(el);
  }

  /* Where the ::first-letter or ::first-line of @el may be drawn: its box
   * and what overflows it (a floated first letter with padding reaches
   * past a box of no height). */
  function textPseudoBox(el) {
    const r = el.getBoundingClientRect();
    return { left: r.left, top: r.top, right: r.left + Math.max(r.width, el.scrollWidth),
             bottom: r.top + Math.max(r.height, el.scrollHeight) };
  }

  /* How opaque @el's ::first-letter or ::first-line paints at (x, y), if
   * its element's line is drawn over @target: all of its background,
   * anywhere its element may draw it. */
  function textPseudoAlpha(el, pseudo, target, x, y) {
    const ps = el.ownerDocument.defaultView.getComputedStyle(el, pseudo);
    if (!contains(textPseudoBox(el), x, y) || styleOf(el).visibility !== 'visible')
      return 0;
    const alpha = ps.backgroundImage && ps.backgroundImage !== 'none' ? 1 : alphaOf(ps.backgroundColor);
    if (!alpha || !paintsAbove(paintNode(el, null), paintNode(target, null), true))
      return 0;
    return alpha * drawnOpacity(el);
  }

  /* How opaque the ::backdrop of the elements in @el's document's top
   * layer (an open modal dialog or popover, a fullscreen element) is over
   * @el: it covers all the window but what is inside its element. */
  function backdropAlpha(el) {
    let top = [];
    try {
      top = el.ownerDocument.querySelectorAll(':modal, :popover-open, :fullscreen');
    } catch (e) {
      return 0;
    }
    let clear = 1;
    for (const t of top) {
      if (isDescendant(el, t))
        continue;
      const ps = t.ownerDocument.defaultView.getComputedStyle(t, '::backdrop');
      const alpha = ps.backgroundImage && ps.backgroundImage !== 'none' ? 1 : alphaOf(ps.backgroundColor);
      clear *= 1 - alpha * (parseFloat(ps.opacity) || 0);
    }
    return 1 - clear;
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

  /* The topmost element at (x, y), inside shadow roots too. */
  function topAt(doc, x, y) {
    let el = doc.elementFromPoint(x, y);
    for (let shadow = el && shadowRootOf(el); shadow; shadow = el && shadowRootOf(el)) {
      const inner = shadow.elementFromPoint(x, y);
      if (!inner || inner === el)
        break;
      el = inner;
    }
    return el;
  }

  /* How much of @target is hidden at (x, y) of its window, from 0 to 1:
   * what hit testing finds over it, then what it does not see (@unseen).
   * Not hit at all (outside an open modal dialog, under what clips it),
   * it is hidden. */
  function hiddenAt(target, unseen, x, y) {
    let clear = 1;
    const top = topAt(target.ownerDocument, x, y);
    if (!top || !isDescendant(top, target)) {
      const stack = stackAt(target.ownerDocument, x, y);
      const index = stack.indexOf(target);
      if (index < 0)
        return 1;
      for (const el of stack.slice(0, index)) {
        if (!isDescendant(target, el))
          clear *= 1 - elementAlpha(el, x, y, false);
        for (const pseudo of PSEUDOS)
          if (!unseen.some((u) => u.el === el && u.pseudo === pseudo))
            clear *= 1 - pseudoAlpha(el, pseudo, target, x, y);
      }
    }
    for (const { el, pseudo, unseen: hidden } of unseen) {
      if (el === target || isDescendant(el, target))
        continue;
      if (TEXT_PSEUDOS.includes(pseudo)) {
        clear *= 1 - textPseudoAlpha(el, pseudo, target, x, y);
      } else if (pseudo) {
        clear *= 1 - pseudoAlpha(el, pseudo, target, x, y);
      } else if (!isDescendant(target, el)) {
        const alpha = elementAlpha(el, x, y, !hidden);
        if (alpha && paintsAbove(paintNode(el, null), paintNode(target, null)))
          clear *= 1 - alpha;
      }
    }
    return 1 - clear;
  }

  function intersect(a, b) {
    return { left: Math.max(a.left, b.left), top: Math.max(a.top, b.top),
             right: Math.min(a.right, b.right), bottom: Math.min(a.bottom, b.bottom) };
  }

  function inside(a, b) {
    return a.left >= b.left && a.top >= b.top && a.right <= b.right && a.bottom <= b.bottom;
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
      chain[i].dx = chain[i + 1].dx + rect.left + frame.clientLeft + px0(style.paddingLeft);
      chain[i].dy = chain[i + 1].dy + rect.top + frame.clientTop + px0(style.paddingTop);
    }
    return chain;
  }

  /* Where @el's value is drawn, as its window shows it now, in the top
   * window's coordinates: its content box (or the middle line of a field
   * whose padding leaves none), less what clips it, scrolling boxes and
   * each window's viewport included (@scrollOnly: only those). Null when
   * nothing of it shows. */
  function valueBox(el, chain, scrollOnly) {
    const r = el.getBoundingClientRect();
    const style = styleOf(el);
    const sx = el.offsetWidth ? r.width / el.offsetWidth : 1;
    const sy = el.offsetHeight ? r.height / el.offsetHeight : 1;
    let box = {
      left: r.left + (px0(style.borderLeftWidth) + px0(style.paddingLeft)) * sx,
      right: r.right - (px0(style.borderRightWidth) + px0(style.paddingRight)) * sx,
      top: r.top + (px0(style.borderTopWidth) + px0(style.paddingTop)) * sy,
      bottom: r.bottom - (px0(style.borderBottomWidth) + px0(style.paddingBottom)) * sy,
    };
    if (box.right - box.left < 1)
      box.left = box.right = (r.left + r.right) / 2;
    if (box.bottom - box.top < 1)
      box.top = box.bottom = (r.top + r.bottom) / 2;
    box = { left: box.left + chain[0].dx, right: box.right + chain[0].dx,
            top: box.top + chain[0].dy, bottom: box.bottom + chain[0].dy };
    const whole = box;
    for (const { el: e, dx, dy } of chain) {
      const view = e.ownerDocument.defaultView;
      const shown = intersect(unclippedBox(e, true, scrollOnly) || { left: 0, top: 0, right: 0, bottom: 0 },
                              { left: 0, top: 0, right: view.innerWidth, bottom: view.innerHeight });
      box = intersect(box, { left: shown.left + dx, top: shown.top + dy,
                             right: shown.right + dx, bottom: shown.bottom + dy });
    }
    if (box.right < box.left || box.bottom < box.top)
      return null;
    box.whole = box.left === whole.left && box.right === whole.right &&
                box.top === whole.top && box.bottom === whole.bottom;
    return box;
  }

  /* Whether half of @el's points or more are hidden, as the page is
   * scrolled now: each point in each window from the field's to the top
   * (the field in its own, then each frame in its parent's). */
  function coveredNow(el, unseenOf) {
    const chain = frameChain(el);
    const box = valueBox(el, chain, false);
    if (!box)
      return true;
    /* what hit testing does not see, near the field */
    const near = chain.map(({ el: e, dx, dy }) => unseenOf(e.ownerDocument).filter((u) => {
      if (u.rect === undefined)
        u.rect = TEXT_PSEUDOS.includes(u.pseudo) ? textPseudoBox(u.el)
               : u.pseudo ? pseudoBox(u.el, u.pseudo, e.ownerDocument.defaultView.getComputedStyle(u.el, u.pseudo))
                          : u.el.getBoundingClientRect();
      const r = u.rect;
      return r && r.left - u.reach < box.right - dx && r.right + u.reach >= box.left - dx &&
             r.top - u.reach < box.bottom - dy && r.bottom + u.reach >= box.top - dy;
    }));
    const backdrops = chain.map(({ el: e }) => backdropAlpha(e));
    /* a faint field under a faint veil is hidden by the two together */
    const shown = shownAlpha(el);
    let covered = 0;
    for (let i = 0; i < GRID_COLUMNS; i++)
      for (let j = 0; j < GRID_ROWS; j++) {
        const x = box.left + (i + 0.5) * (box.right - box.left) / GRID_COLUMNS;
        const y = box.top + (j + 0.5) * (box.bottom - box.top) / GRID_ROWS;
        let clear = shown;
        chain.forEach(({ el: e, dx, dy }, k) => {
          clear *= (1 - backdrops[k]) * (1 - hiddenAt(e, near[k], x - dx, y - dy));
        });
        if (1 - clear >= HIDING_ALPHA)
          covered++;
      }
    return covered * 2 >= GRID_COLUMNS * GRID_ROWS;
  }

  /* Whether all of @el's value box shows in the window as it is scrolled
   * now: inside the scrolling boxes that hold it and the viewports of its
   * window and of the frames above. Nothing is scrolled to find out (the
   * page would see scroll events, and scroll-driven animations or
   * IntersectionObserver covers would not be judged as the user sees
   * them): a field out of view refuses the fill, and the user scrolls. */
  function inView(el) {
    const box = valueBox(el, frameChain(el), true);
    return !!box && box.whole;
  }

  /* The types that, with a card number, make a card: a form that shows the
   * number and hides one of them would get part of a card. */
  const CARD_PARTS = [['cc-exp', 'cc-exp-month', 'cc-exp-year'], ['cc-csc']];

  /* Whether, among @all the fields found, a card form whose number is in
   * @usable has one of CARD_PARTS only in fields skipped as hidden (not
   * those disabled or read-only): filling the rest would give a part of a
   * card. A form is its <form>, or the document for fields in none. */
  function partOfCard(all, usable) {
    const formOf = (el) => el.form || el.ownerDocument;
    const shown = new Set(usable.map((f) => f.element));
    const forms = new Set(usable.filter((f) => f.type === 'cc-number').map((f) => formOf(f.element)));
    for (const form of forms) {
      const mine = all.filter((f) => f && f.element && formOf(f.element) === form);
      for (const types of CARD_PARTS) {
        const part = mine.filter((f) => types.includes(f.type));
        if (part.length && !part.some((f) => shown.has(f.element)) &&
            part.some((f) => f.element.isConnected && !f.element.disabled && !f.element.readOnly))
          return true;
      }
    }
    return false;
  }

  /* Why @usable, the fields of @all that may be filled, must not be
   * filled now, or null: a card form would get only part of a card, or
   * one of them (not selects: see visible()) is out of view or covered. */
  function refusal(all, usable) {
    if (partOfCard(all, usable))
      return 'hidden-field';
    if (usable.some((f) => f.element.localName !== 'select' && !inView(f.element)))
      return 'out-of-view';
    return anyCovered(usable) ? 'covered-field' : null;
  }

  /* Whether a field of @fields (not selects: see visible()) is covered. */
  function anyCovered(fields) {
    const unseen = new Map();
    const unseenOf = (doc) => {
      if (!unseen.has(doc))
        unseen.set(doc, collectUnseen(doc, false, []));
      return unseen.get(doc);
    };
    return fields.some((f) => f.element.localName !== 'select' && coveredNow(f.element, unseenOf));
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
    /* all or nothing: part of a card filled over another's is worse than none */
    const why = refusal(fields || [], usable);
    if (why)
      return { filled: [], refused: why };
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

  /* Why @fields of @win must not be filled now, or null: what fill()
   * would refuse, without filling. */
  function check(fields, win) {
    const refused = allowed(win || global);
    if (refused || !framesVisible(win || global))
      return refused;
    const usable = (fields || []).filter((f) => f && f.element && fillable(f.element, f.type));
    return refusal(fields || [], usable);
  }

  /* The types of the fields of @fields that fill() would fill in @win
   * (unless check() refuses them all): none when the window is refused or
   * not shown, or every field is hidden, disabled or read-only. The
   * background asks the wallet for a card only when a frame has one. */
  function usable(fields, win) {
    if (allowed(win || global) || !framesVisible(win || global))
      return [];
    return (fields || []).filter((f) => f && f.element && fillable(f.element, f.type))
      .map((f) => f.type);
  }

  global.OnePinFill = Object.freeze({ allowed, check, fill, usable, version: 1 });
})(globalThis);
