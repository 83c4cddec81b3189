/* background.js: the extension's service worker
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Keeps what each frame's content script found (in storage.session, which
 * outlives the worker but not the browser), shows the count on the
 * toolbar button, and fills a tab when the user asks in the popup — or by
 * itself on a site the wallet lists. Filling asks the desktop wallet
 * through the native host (org.onepin.wallet) for the card, over the
 * authenticated channel of channel.js; the wallet answers only when it is
 * unlocked, asks its user unless the site is on its own list, and the card
 * goes to the frames of that tab at the origin asked for and nowhere else. It also pairs the extension with the wallet (from the popup) and
 * forwards affiliated malls' purchases (from content.js) for approval.
 *
 * Remembered sites are origins in storage.local "sites", a copy of the
 * wallet's list as its authenticated answers tell it ("remembered"): a site
 * joins it only when the wallet's user chose "Always fill on this site"
 * there. The wallet's list decides.
 */
'use strict';

/* ---- What the frames found ---- */

const queues = new Map();

/* Serialises the read-modify-write of one tab's record. */
function withTab(tabId, fn) {
  const previous = queues.get(tabId) || Promise.resolve();
  const next = previous.then(fn, fn);
  queues.set(tabId, next.catch(() => {}));
  return next;
}

async function framesOf(tabId) {
  const key = `frames:${tabId}`;
  const stored = await chrome.storage.session.get(key);
  return stored[key] || {};
}

async function setFrames(tabId, frames) {
  const key = `frames:${tabId}`;
  if (Object.keys(frames).length)
    await chrome.storage.session.set({ [key]: frames });
  else
    await chrome.storage.session.remove(key);
  const count = Object.values(frames).reduce((n, f) => n + (f.refused ? 0 : f.types.length), 0);
  await chrome.action.setBadgeText({ tabId, text: count ? String(count) : '' });
}

/* The frame's origin and document come from the browser (@sender), not
 * from what the page's frame says about itself. The top frame stays even
 * with no fields: its document is the page the popup shows. */
function recordFrame(tabId, sender, state) {
  return withTab(tabId, async () => {
    const frames = await framesOf(tabId);
    if (state.types.length || sender.frameId === 0)
      frames[sender.frameId] = { refused: state.refused, types: state.types,
                                 origin: sender.origin || originOf(sender.url),
                                 documentId: sender.documentId || null };
    else
      delete frames[sender.frameId];
    await setFrames(tabId, frames);
  });
}

chrome.tabs.onRemoved.addListener((tabId) => {
  withTab(tabId, () => chrome.storage.session.remove(`frames:${tabId}`));
});

chrome.tabs.onUpdated.addListener((tabId, change) => {
  if (change.status === 'loading' && change.url)
    withTab(tabId, () => setFrames(tabId, {}));
});

/* ---- Remembered sites ---- */

async function rememberedSites() {
  const { sites } = await chrome.storage.local.get('sites');
  return sites || {};
}

async function isRemembered(origin) {
  return Boolean((await rememberedSites())[origin]);
}

async function remember(origin, yes) {
  const sites = await rememberedSites();
  if (yes)
    sites[origin] = { since: Date.now() };
  else
    delete sites[origin];
  await chrome.storage.local.set({ sites });
}

/* ---- The wallet ---- */

/* Chromium's service worker loads the protocol here; Firefox lists
 * channel.js before this file. */
if (typeof OnePinChannel === 'undefined' && typeof importScripts === 'function')
  importScripts('channel.js');

/* The wallet may ask its user about the site (a locked wallet answers at
 * once); approving a purchase takes longer still. */
const CARD_TIMEOUT_MS = 120000;
const CHECKOUT_TIMEOUT_MS = 300000;

/* Pairing's progress, for the popup: storage.session "pairing" is
 * {state: "waiting", code} | {state: "paired", name} | {state: "failed", error}. */
async function setPairingState(state) {
  await chrome.storage.session.set({ pairing: state });
}

async function nameHint() {
  const { os } = await chrome.runtime.getPlatformInfo();
  const name = navigator.userAgent.includes('Firefox') ? 'Firefox' : 'Chromium';
  const systems = { linux: 'Linux', win: 'Windows', mac: 'macOS', cros: 'ChromeOS', openbsd: 'OpenBSD' };
  return systems[os] ? `${name} on ${systems[os]}` : name;
}

let pairing = null;

function startPairing() {
  if (!pairing) {
    pairing = (async () => {
      await setPairingState({ state: 'connecting' });
      const result = await OnePinChannel.pair(await nameHint(),
                                              (code) => setPairingState({ state: 'waiting', code }));
      await setPairingState(result.error ? { state: 'failed', error: result.error }
                                         : { state: 'paired', name: result.name });
      return result;
    })().finally(() => {
      pairing = null;
    });
  }
  return { started: true };
}

/* The wallet's card, in fill.js's terms. */
function fillData(card) {
  return {
    number: card.number, name: card.name, expMonth: card.exp_month, expYear: card.exp_year,
    csc: card.csc, brand: card.brand, bankName: card.bank_name, bankCode: card.bank_code,
    accountNumber: card.account_number, accountHolder: card.account_holder,
  };
}

function originOf(url) {
  try {
    return new URL(url).origin;
  } catch (e) {
    return null;
  }
}

/* The frames of @tabId at @origin that found fields and may be filled.
 * content.js refuses a frame below another origin's; a frame of another
 * origin (a payment provider's, an ad's) gets nothing asked for @origin in
 * any case. */
async function fillTargets(tabId, origin) {
  const frames = await framesOf(tabId);
  return Object.entries(frames).filter(([, f]) => !f.refused && f.types.length &&
                                                  f.origin === origin);
}

/* Asks the wallet for the card for @origin and fills the frames of @tabId
 * at @origin that have a field fill.js would fill, asking only for the
 * parts those fields take; with none it asks nothing. @confirmed says why we
 * ask: "popup" (the button, just now) or "remembered" (the site is on the
 * wallet's list); the wallet believes neither, and asks its user unless
 * the site is on its own list. Its answer says whether it is ("remembered"),
 * and our copy of the list follows. The wallet may
 * take minutes (it asks its user), so the card goes only to the documents
 * that were there when we asked: the tab must still show @origin, and each
 * frame must hold the same document (Chromium's documentId) at the same
 * origin, which content.js checks again before it fills. */
async function fillTab(tabId, origin, confirmed) {
  const targets = await fillTargets(tabId, origin);
  if (!targets.length)
    return { error: 'no_fields' };
  const before = await checkTargets(tabId, targets);
  if (before.error)
    return { error: before.error };
  const answer = await OnePinChannel.request({ type: 'card.request', origin, fields: before.types,
                                               confirmed }, CARD_TIMEOUT_MS);
  if (answer.error)
    return { error: answer.error };
  if (!answer.card)
    return { error: 'no_card' };
  if (typeof answer.remembered === 'boolean' && answer.remembered !== await isRemembered(origin))
    await remember(origin, answer.remembered);
  const tab = await chrome.tabs.get(tabId).catch(() => null);
  const now = new Map(await fillTargets(tabId, origin));
  const same = before.usable.filter(([id, f]) => now.has(id) && now.get(id).origin === f.origin &&
                                                  now.get(id).documentId === f.documentId);
  if (!tab || originOf(tab.url) !== origin || !same.length)
    return { error: 'page_changed' };
  /* the page may have covered, moved or hidden a field while the wallet
   * asked its user (no_usable_fields would say the wallet was not asked) */
  const after = await checkTargets(tabId, same);
  if (after.error)
    return { error: after.error === 'no_usable_fields' ? 'page_changed' : after.error };
  const data = fillData(answer.card);
  let filled = 0;
  let refused = null;
  for (const [frameId, frame] of after.usable) {
    try {
      const result = await chrome.tabs.sendMessage(
        tabId, { type: 'onepin.fill', origin: frame.origin, data }, frameOptions(frameId, frame));
      filled += result ? result.filled : 0;
      refused = refused || (result && REFUSALS[result.refused]) || null;
    } catch (e) {
      /* the frame or its document went away */
    }
  }
  return refused ? { error: refused, filled } : { filled };
}

function frameOptions(frameId, frame) {
  const options = { frameId: Number(frameId) };
  if (frame.documentId)
    options.documentId = frame.documentId;
  return options;
}

/* The popup's errors for fill.js's refusals of a whole fill. */
const REFUSALS = { 'covered-field': 'covered_field', 'out-of-view': 'out_of_view',
                   'hidden-field': 'hidden_field' };

/* The types a frame's "onepin.check" says it would fill, as validState()
 * takes them. */
function usableTypes(result) {
  const types = result && Array.isArray(result.usable) ? result.usable : [];
  return types.slice(0, 64).filter((t) => typeof t === 'string' && t.length <= 32);
}

/* What fill.js says of @targets now (OnePinFill.check() and usable() in
 * each frame): {error} when a fill would be refused — a field is out of
 * view, covered by another element, or hidden while the rest of its card
 * form shows (a fill is all or nothing, so none is filled) — or when no
 * frame has a field it would fill (all hidden, disabled or read-only);
 * else {usable: the targets that have one, types: the types of those
 * fields}. Either way the wallet is asked for no card that would not be
 * used, and for no part of one that would not. */
async function checkTargets(tabId, targets) {
  const usable = [];
  const types = new Set();
  let gone = false;
  for (const [frameId, frame] of targets) {
    let result = null;
    try {
      result = await chrome.tabs.sendMessage(
        tabId, { type: 'onepin.check', origin: frame.origin }, frameOptions(frameId, frame));
    } catch (e) {
      /* the frame or its document went away */
    }
    if (result && REFUSALS[result.refused])
      return { error: REFUSALS[result.refused] };
    gone = gone || !result || result.refused === 'origin';
    const found = usableTypes(result);
    if (found.length) {
      usable.push([frameId, frame]);
      found.forEach((type) => types.add(type));
    }
  }
  if (!usable.length)
    return { error: gone ? 'page_changed' : 'no_usable_fields' };
  return { usable, types: Array.from(types) };
}

/* ---- Messages ---- */

const autoFilled = new Set();

/* What a frame's content script reports: a few field types, and why the
 * frame may not be filled. */
function validState(state) {
  return state && Array.isArray(state.types) && state.types.length <= 64 &&
    state.types.every((t) => typeof t === 'string' && t.length <= 32) &&
    (state.refused === null || typeof state.refused === 'string');
}

async function onFields(message, sender) {
  if (!validState(message.state))
    return;
  const tabId = sender.tab.id;
  await recordFrame(tabId, sender, message.state);
  /* On a site the wallet lists the top frame's card form is filled once
   * per document, without the popup (the wallet shows that it did). */
  const origin = originOf(sender.tab.url);
  const document = `${tabId}:${sender.documentId || sender.url}`;
  if (sender.frameId === 0 && !message.state.refused && message.state.types.includes('cc-number') &&
      origin === (sender.origin || originOf(sender.url)) && !autoFilled.has(document) &&
      await isRemembered(origin)) {
    autoFilled.add(document);
    /* a form shown later (a checkout's next step) may be filled then, if
     * the page reports its fields again */
    if ((await fillTab(tabId, origin, 'remembered')).error === 'no_usable_fields')
      autoFilled.delete(document);
  }
}

/* The tab's page: its origin, and the top frame's document (Chromium's
 * documentId, null in Firefox or before the content script reported). */
async function pageOf(tabId) {
  const tab = await chrome.tabs.get(tabId);
  const top = (await framesOf(tabId))[0];
  return { origin: originOf(tab.url), documentId: (top && top.documentId) || null };
}

async function popupState(tabId) {
  const { origin, documentId } = await pageOf(tabId);
  const states = Object.values(await framesOf(tabId)).filter((f) => f.types.length);
  return {
    wallet: await OnePinChannel.status(),
    origin,
    documentId,
    supported: Boolean(origin) && /^https:|^http:\/\/(localhost|127\.0\.0\.1)(:|$)/.test(origin),
    types: states.filter((f) => !f.refused && f.origin === origin).flatMap((f) => f.types),
    refused: states.filter((f) => f.refused).map((f) => f.refused),
    remembered: origin ? await isRemembered(origin) : false,
  };
}

/* The user asked for the page the popup showed (@shown: its origin and
 * document); the tab may have gone elsewhere since, by itself or by the
 * page's doing, and that page was not asked for. The wallet then asks its
 * user, unless the site is on its list. */
async function popupFill(tabId, shown) {
  const now = await pageOf(tabId);
  if (!now.origin)
    return { error: 'unsupported' };
  if (!shown || now.origin !== shown.origin || now.documentId !== shown.documentId)
    return { error: 'page_changed' };
  return fillTab(tabId, now.origin, 'popup');
}

/* @origin is the site the popup showed, whatever the tab shows now. */
async function forgetSite(origin) {
  await remember(origin, false);
  /* The wallet keeps its own list: tell it too, without waiting for it (it
   * may be locked, or not running). */
  OnePinChannel.request({ type: 'site.forget', origin }, 60000).catch(() => {});
}

/* "Pay with onepin" on an affiliated mall's page: the purchase goes to the
 * wallet, whose user approves it there; the answer comes back to the page. */
async function checkout(message, sender) {
  const origin = originOf(sender.url);
  if (sender.frameId !== 0 || !origin || origin !== originOf(sender.tab.url))
    return { error: 'unsupported' };
  return OnePinChannel.request({ type: 'checkout.request', origin, purchase: message.purchase },
                               CHECKOUT_TIMEOUT_MS);
}

/* The page the popup showed, as it says: an origin, and a document or null. */
function shownPage(message) {
  const { origin, documentId } = message;
  if (typeof origin !== 'string' || originOf(origin) !== origin ||
      (documentId !== null && typeof documentId !== 'string'))
    return null;
  return { origin, documentId };
}

chrome.runtime.onMessage.addListener((message, sender, respond) => {
  if (sender.id !== chrome.runtime.id || !message)
    return false;
  const ours = chrome.runtime.getURL('');
  const fromPopup = (sender.url || '').startsWith(chrome.runtime.getURL('popup.html'));
  const fromPage = sender.tab && !(sender.url || '').startsWith(ours);
  let work = null;
  if (message.type === 'onepin.fields' && fromPage)
    work = onFields(message, sender);
  else if (message.type === 'popup.state' && fromPopup)
    work = popupState(message.tabId);
  else if (message.type === 'popup.fill' && fromPopup)
    work = popupFill(message.tabId, shownPage(message));
  else if (message.type === 'popup.forget' && fromPopup && shownPage(message))
    work = forgetSite(shownPage(message).origin);
  else if (message.type === 'popup.pair' && fromPopup)
    work = Promise.resolve(startPairing());
  else if (message.type === 'popup.unpair' && fromPopup)
    work = OnePinChannel.unpair().then(async (result) => {
      await chrome.storage.session.remove('pairing');
      return result;
    });
  else if (message.type === 'onepin.checkout' && fromPage)
    work = checkout(message, sender);
  if (!work)
    return false;
  work.then((answer) => respond(answer || {}), (err) => respond({ error: String(err) }));
  return true;
});
