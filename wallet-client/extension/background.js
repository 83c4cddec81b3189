/* background.js: the extension's service worker
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Keeps what each frame's content script found (in storage.session, which
 * outlives the worker but not the browser), shows the count on the
 * toolbar button, and fills a tab when the user asks in the popup — or by
 * itself on a site the user chose to remember. Filling asks the desktop
 * wallet through the native host (org.onepin.wallet) for the card; the
 * wallet answers only when it is unlocked, and the card goes to the frames
 * of that tab and nowhere else.
 *
 * Remembered sites are origins in storage.local "sites".
 */
'use strict';

const HOST = 'org.onepin.wallet';
/* The wallet may hold a request until the user unlocks it. */
const WALLET_TIMEOUT_MS = 120000;

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
 * from what the page's frame says about itself. */
function recordFrame(tabId, sender, state) {
  return withTab(tabId, async () => {
    const frames = await framesOf(tabId);
    if (state.types.length)
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

/* One request, one host process: the answer with our id, or an error
 * ("wallet_unavailable", "host_unavailable", "timeout", ...). */
function askWallet(request) {
  return new Promise((resolve) => {
    const id = crypto.randomUUID();
    let port;
    let done = false;
    const finish = (answer) => {
      if (done)
        return;
      done = true;
      clearTimeout(timer);
      try {
        port.disconnect();
      } catch (e) {
        /* already gone */
      }
      resolve(answer);
    };
    const timer = setTimeout(() => finish({ error: 'timeout' }), WALLET_TIMEOUT_MS);
    try {
      port = chrome.runtime.connectNative(HOST);
    } catch (e) {
      finish({ error: 'host_unavailable' });
      return;
    }
    port.onMessage.addListener((message) => {
      if (message && message.type === 'error' && message.source === 'host')
        finish({ error: message.error });
      else if (message && message.id === id && message.type === 'card.response')
        finish(message);
    });
    port.onDisconnect.addListener(() => {
      finish({ error: chrome.runtime.lastError ? 'host_unavailable' : 'wallet_disconnected' });
    });
    port.postMessage(Object.assign({}, request, { id }));
  });
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

/* The frames of @tabId that found fields and may be filled. */
async function fillTargets(tabId) {
  const frames = await framesOf(tabId);
  return Object.entries(frames).filter(([, f]) => !f.refused && f.types.length);
}

/* Asks the wallet for the card for @origin and fills the frames of @tabId
 * that found fields and may be filled. The wallet may take minutes (it
 * waits to be unlocked), so the card goes only to the documents that were
 * there when we asked: the tab must still show @origin, and each frame
 * must hold the same document (Chromium's documentId) at the same origin,
 * which content.js checks again before it fills. */
async function fillTab(tabId, origin) {
  const targets = await fillTargets(tabId);
  if (!targets.length)
    return { error: 'no_fields' };
  const types = Array.from(new Set(targets.flatMap(([, f]) => f.types)));
  const answer = await askWallet({ type: 'card.request', origin, fields: types });
  if (answer.error)
    return { error: answer.error };
  if (!answer.card)
    return { error: 'no_card' };
  const tab = await chrome.tabs.get(tabId).catch(() => null);
  const now = new Map(await fillTargets(tabId));
  const same = targets.filter(([id, f]) => now.has(id) && now.get(id).origin === f.origin &&
                                           now.get(id).documentId === f.documentId);
  if (!tab || originOf(tab.url) !== origin || !same.length)
    return { error: 'page_changed' };
  const data = fillData(answer.card);
  let filled = 0;
  for (const [frameId, frame] of same) {
    const options = { frameId: Number(frameId) };
    if (frame.documentId)
      options.documentId = frame.documentId;
    try {
      const result = await chrome.tabs.sendMessage(
        tabId, { type: 'onepin.fill', origin: frame.origin, data }, options);
      filled += result ? result.filled : 0;
    } catch (e) {
      /* the frame or its document went away */
    }
  }
  return { filled };
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
  /* On a remembered site the top frame's card form is filled once per
   * document, without the popup. */
  const origin = originOf(sender.tab.url);
  const document = `${tabId}:${sender.documentId || sender.url}`;
  if (sender.frameId === 0 && !message.state.refused && message.state.types.includes('cc-number') &&
      origin === (sender.origin || originOf(sender.url)) && !autoFilled.has(document) &&
      await isRemembered(origin)) {
    autoFilled.add(document);
    await fillTab(tabId, origin);
  }
}

async function popupState(tabId) {
  const tab = await chrome.tabs.get(tabId);
  const origin = originOf(tab.url);
  const frames = await framesOf(tabId);
  const states = Object.values(frames);
  return {
    origin,
    supported: Boolean(origin) && /^https:|^http:\/\/(localhost|127\.0\.0\.1)(:|$)/.test(origin),
    types: states.filter((f) => !f.refused).flatMap((f) => f.types),
    refused: states.filter((f) => f.refused).map((f) => f.refused),
    remembered: origin ? await isRemembered(origin) : false,
  };
}

async function popupFill(tabId, rememberSite) {
  const tab = await chrome.tabs.get(tabId);
  const origin = originOf(tab.url);
  if (!origin)
    return { error: 'unsupported' };
  if (rememberSite)
    await remember(origin, true);
  return fillTab(tabId, origin);
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
    work = popupFill(message.tabId, message.remember);
  else if (message.type === 'popup.forget' && fromPopup)
    work = chrome.tabs.get(message.tabId).then((tab) => remember(originOf(tab.url), false));
  if (!work)
    return false;
  work.then((answer) => respond(answer || {}), (err) => respond({ error: String(err) }));
  return true;
});
