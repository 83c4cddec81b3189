#!/usr/bin/env node
/* extension-test.cjs: the extension in headless Chromium, with the real host
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Loads wallet-client/extension unpacked (--headless=new), installs the
 * built host manifest into the profile with the built onepin-wallet-host
 * ($ONEPIN_WALLET_HOST), and plays the desktop wallet on the socket in a
 * temporary XDG_RUNTIME_DIR (lib/wallet-peer.cjs, the protocol in Node's
 * crypto). Checks the extension's fixed ID, the content script's findings
 * on a loopback page, pairing through the popup (the code it shows is the
 * wallet's), and the popup's confirmation: not paired, no wallet, a locked
 * wallet, a wallet of another protocol version, a wallet whose key is not
 * the one it committed to, a fill, a page with a field out of view or
 * covered, or with no field that may be filled at all (nothing asked or
 * filled), a remembered site, an answer with a
 * forged MAC, a tab that went elsewhere after the popup showed it, an http
 * page. tests/e2e/test-wallet-browser.mjs does the same with the real
 * wallet.
 */
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { launchWithExtension } = require('./lib/browser.cjs');
const server = require('./lib/server.cjs');
const { WalletPeer } = require('./lib/wallet-peer.cjs');
const { test, run, assert } = require('./lib/tap.cjs');

const EXTENSION = path.resolve(__dirname, '../../wallet-client/extension');
const HOST = process.env.ONEPIN_WALLET_HOST;
const CARD = { number: '9410123456789012', name: 'Hong Gildong', exp_month: 3,
               exp_year: 2029, csc: '737', brand: '신한카드' };
const KO_FORM = 'forms/ko-checkout-split.html';
const KO_TYPES = ['cc-type', 'cc-number', 'cc-number', 'cc-number', 'cc-number',
                  'cc-exp-month', 'cc-exp-year', 'cc-csc', 'cc-name'];

/* Chromium's ID for an unpacked extension with a "key": the first 128 bits
 * of SHA-256 of the DER public key, in hex, written with the letters a-p. */
function idFromKey(key) {
  const hex = crypto.createHash('sha256').update(Buffer.from(key, 'base64')).digest('hex');
  return hex.slice(0, 32).replace(/./g, (c) => String.fromCharCode(97 + parseInt(c, 16)));
}

async function serviceWorker(context) {
  return context.serviceWorkers()[0] || context.waitForEvent('serviceworker', { timeout: 15000 });
}

async function openPage(env, file, host = '127.0.0.1') {
  const page = await env.context.newPage();
  await page.goto(`http://${host}:${env.server.port}/${file}`);
  return page;
}

/* The tab id of @page, as the extension sees it. */
async function tabIdOf(env, page) {
  const url = page.url();
  return env.worker.evaluate(async (u) => {
    const tabs = await chrome.tabs.query({});
    return tabs.find((t) => t.url === u).id;
  }, url);
}

async function openPopup(env, tabId) {
  const popup = await env.context.newPage();
  await popup.goto(`chrome-extension://${env.extensionId}/popup.html?tab=${tabId}`);
  await popup.waitForFunction(() => document.getElementById('status').textContent !== '');
  return popup;
}

async function pressFill(popup) {
  await popup.click('#fill');
  await popup.waitForFunction(() => {
    const text = document.getElementById('result').textContent;
    return text && !text.includes('Asking');
  }, null, { timeout: 20000 });
  return popup.textContent('#result');
}

/* Reloads @page and waits until @popup shows its new document, ready to fill. */
async function reloadUnder(popup, page) {
  const old = await popup.evaluate(() => shown.documentId);
  await page.reload();
  await popup.waitForFunction((o) => shown.documentId && shown.documentId !== o &&
                                     !document.getElementById('fill').disabled, old);
}

/* Screenshots for people reading a CI run: $ONEPIN_ARTIFACTS/NAME.png. */
async function keep(page, name) {
  const dir = process.env.ONEPIN_ARTIFACTS;
  if (!dir)
    return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

async function cardValues(page) {
  return page.evaluate(() => ['card_no1', 'card_no4', 'exp_m', 'exp_y', 'cvc', 'holder', 'card_company']
    .map((n) => document.querySelector(`[name=${n}]`).value));
}

const FILLED = ['9410', '9012', '03', '2029', '737', 'Hong Gildong', '41'];
const EMPTY = ['', '', '', '', '', '', ''];

async function rememberedSites(env) {
  return env.worker.evaluate(async () => (await chrome.storage.local.get('sites')).sites || {});
}

test('the extension ID follows from the manifest key, and the host manifest allows it', async (env) => {
  const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION, 'manifest.json'), 'utf8'));
  assert.strictEqual(env.extensionId, idFromKey(manifest.key));
  assert.deepStrictEqual(env.hostManifest.allowed_origins, [`chrome-extension://${env.extensionId}/`]);
});

test('the content script classifies the fields of a loopback page', async (env) => {
  const page = await openPage(env, KO_FORM);
  const tabId = await tabIdOf(env, page);
  const scan = await env.worker.evaluate((id) => chrome.tabs.sendMessage(id, { type: 'onepin.scan' }, { frameId: 0 }), tabId);
  assert.deepStrictEqual(scan.types, KO_TYPES);
  assert.strictEqual(scan.refused, null);
  await env.worker.evaluate(async (id) => {
    for (let i = 0; i < 50 && await chrome.action.getBadgeText({ tabId: id }) !== '9'; i++)
      await new Promise((ok) => setTimeout(ok, 100));
  }, tabId);
  assert.strictEqual(await env.worker.evaluate((id) => chrome.action.getBadgeText({ tabId: id }), tabId), '9');
  await page.close();
});

test('popup before pairing: the fill asks for a pairing, and pairing needs the wallet', async (env) => {
  const page = await openPage(env, KO_FORM);
  const popup = await openPopup(env, await tabIdOf(env, page));
  assert.match(await popup.textContent('#status'), /9 payment fields: card type, card number/);
  assert.match(await popup.textContent('#pairing'), /not paired/);
  assert.match(await pressFill(popup), /Pair this browser/);
  assert.deepStrictEqual(await cardValues(page), EMPTY);
  await popup.click('#pair');
  await popup.waitForFunction(() => /failed/.test(document.getElementById('pairing').textContent));
  assert.match(await popup.textContent('#pairing'), /not running/);
  await popup.close();
  await page.close();
});

test('pairing through the popup: the code is the wallet\'s, the wallet names the browser', async (env) => {
  await env.wallet.start();
  let approve;
  env.wallet.approvePairing = (code, hint) => new Promise((ok) => {
    approve = ok;
  });
  const page = await openPage(env, KO_FORM);
  const popup = await openPopup(env, await tabIdOf(env, page));
  await popup.click('#pair');
  await popup.waitForSelector('#code:not([hidden])');
  const code = await popup.textContent('#code');
  assert.match(code, /^\d{3} \d{3}$/);
  assert.strictEqual(code, env.wallet.codes[0]);
  await keep(popup, 'popup-pairing');
  approve('Test Chromium');
  await popup.waitForFunction(() => /Paired/.test(document.getElementById('pairing').textContent));
  assert.match(await popup.textContent('#pairing'), /“Test Chromium”/);
  assert.strictEqual(await popup.isHidden('#code'), true);
  const [hello] = env.wallet.hellos;
  assert.strictEqual(hello.protocol, 3);
  assert.strictEqual(hello.browser, 'chromium');
  assert.strictEqual(hello.caller, `chrome-extension://${env.extensionId}/`);
  await popup.close();
  await page.close();
});

test('popup fills the card the wallet sends, through the host', async (env) => {
  env.wallet.answer = (m) => ({ type: 'card.response', card: CARD });
  const page = await openPage(env, KO_FORM);
  const popup = await openPopup(env, await tabIdOf(env, page));
  assert.match(await pressFill(popup), /Filled 9 fields/);
  assert.deepStrictEqual(await cardValues(page), FILLED);
  await keep(popup, 'popup-filled');
  await keep(page, 'page-filled');

  const request = env.wallet.messages[env.wallet.messages.length - 1];
  assert.strictEqual(request.type, 'card.request');
  assert.strictEqual(request.origin, `http://127.0.0.1:${env.server.port}`);
  assert.strictEqual(request.confirmed, 'popup');
  /* the wallet decides what it remembers, in its own dialog */
  assert.strictEqual(request.remember, undefined);
  assert.strictEqual(await popup.$('#remember'), null);
  assert.match(await popup.textContent('#hint'), /wallet asks you to confirm/);
  assert.deepStrictEqual(request.fields.sort(), Array.from(new Set(KO_TYPES)).sort());
  assert.deepStrictEqual(await rememberedSites(env), {});
  await popup.close();
  await page.close();
});

test('a page with a covered payment field: the wallet is not asked, nothing is filled', async (env) => {
  env.wallet.answer = (m) => ({ type: 'card.response', card: CARD });
  const page = await openPage(env, 'pages/covered-fields.html');
  const count = env.wallet.messages.length;
  /* its last forms are below the fold: the user is asked to scroll */
  let popup = await openPopup(env, await tabIdOf(env, page));
  assert.match(await pressFill(popup), /out of view.*Scroll so that the whole card form is visible/);
  assert.strictEqual(env.wallet.messages.length, count, 'the wallet was asked');
  await popup.close();
  await page.evaluate(() => ['below', 'belowok'].forEach((id) => document.getElementById(id).remove()));
  popup = await openPopup(env, await tabIdOf(env, page));
  assert.match(await pressFill(popup), /drawn over one of its payment fields/);
  assert.strictEqual(env.wallet.messages.length, count, 'the wallet was asked');
  assert.deepStrictEqual(await page.evaluate(() => [Array.from(document.querySelectorAll('input'))
    .filter((i) => i.value).length, window.touched.length, window.mutations, window.sneaky.length]),
                         [0, 0, 0, 0]);
  /* the content script's own fill refuses it too, all of it */
  const tabId = await tabIdOf(env, page);
  const answer = await env.worker.evaluate(([id, origin]) => chrome.tabs.sendMessage(
    id, { type: 'onepin.fill', origin, data: { number: '9410123456789012', csc: '737' } },
    { frameId: 0 }), [tabId, `http://127.0.0.1:${env.server.port}`]);
  assert.deepStrictEqual(answer, { filled: 0, types: [], refused: 'covered-field' });
  await popup.close();
  await page.close();
});

/* Waits until @count frames of @tabId have reported payment fields. */
async function framesReported(env, tabId, count) {
  await env.worker.evaluate(async ([id, n]) => {
    const key = `frames:${id}`;
    for (let i = 0; i < 100; i++) {
      const frames = (await chrome.storage.session.get(key))[key] || {};
      if (Object.values(frames).filter((f) => f.types.length).length >= n)
        return;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error('the frames did not report');
  }, [tabId, count]);
}

const UNUSABLE = 'pages/unusable-fields.html';

/* Runs @fn with a new tab of @file, closed whatever happens. */
async function onPage(env, file, fn) {
  const page = await openPage(env, file);
  try {
    return await fn(page);
  } finally {
    await page.close();
  }
}

/* Adds a frame of @src to @page, @first in its body or last. */
function addFrame(page, src, { width, height, first = false }) {
  return page.evaluate(([s, w, h, f]) => {
    const frame = document.createElement('iframe');
    frame.src = s;
    frame.width = w;
    frame.height = h;
    document.body[f ? 'prepend' : 'append'](frame);
  }, [src, width, height, first]);
}

/* [fields with a value, input or change events heard] on @page */
async function untouched(page) {
  return page.evaluate(() => [
    Array.from(document.querySelectorAll('input')).filter((e) => e.value).length +
    Array.from(document.querySelectorAll('select')).filter((e) => e.selectedIndex > 0).length,
    window.touched.length]);
}

test('a page none of whose payment fields may be filled: the wallet is not asked', async (env) => {
  env.wallet.answer = (m) => ({ type: 'card.response', card: CARD });
  await onPage(env, UNUSABLE, async (page) => {
    const tabId = await tabIdOf(env, page);
    await framesReported(env, tabId, 1);
    const count = env.wallet.messages.length;
    const popup = await openPopup(env, tabId);
    const result = await pressFill(popup);
    await keep(popup, 'popup-unusable');
    assert.strictEqual(env.wallet.messages.length, count, 'the wallet was asked');
    assert.match(result, /none of them can be filled.*not asked for your card/);
    assert.deepStrictEqual(await untouched(page), [0, 0]);
    await popup.close();
  });
});

test('nor on a site the wallet lists, which is filled on arrival', async (env) => {
  env.wallet.answer = (m) => ({ type: 'card.response', card: CARD });
  const origin = `http://127.0.0.1:${env.server.port}`;
  await env.worker.evaluate((o) => chrome.storage.local.set({ sites: { [o]: { since: 1 } } }), origin);
  const count = env.wallet.messages.length;
  await onPage(env, UNUSABLE, async (page) => {
    await framesReported(env, await tabIdOf(env, page), 1);
    await page.waitForTimeout(1500);
    assert.strictEqual(env.wallet.messages.length, count, 'the wallet was asked for a listed site');
    assert.deepStrictEqual(await untouched(page), [0, 0]);
  }).finally(() => env.worker.evaluate(() => chrome.storage.local.remove('sites')));
});

test('unusable fields beside usable ones: the usable frame is filled, only its fields asked for', async (env) => {
  env.wallet.answer = (m) => ({ type: 'card.response', card: CARD });
  await onPage(env, UNUSABLE, async (page) => {
    const tabId = await tabIdOf(env, page);
    /* the frame's whole form in view: a field out of view refuses the fill */
    await page.setViewportSize({ width: 1280, height: 1400 });
    await addFrame(page, `/${KO_FORM}`, { width: 1000, height: 1200, first: true });
    await framesReported(env, tabId, 2);
    const frame = page.frames().find((f) => f.url().endsWith(KO_FORM));
    /* a read-only CVC is not filled, so the wallet is not asked for it */
    await frame.evaluate(() => { document.querySelector('[name=cvc]').readOnly = true; });
    const popup = await openPopup(env, tabId);
    assert.match(await pressFill(popup), /Filled 8 fields/);
    const request = env.wallet.messages[env.wallet.messages.length - 1];
    assert.strictEqual(request.type, 'card.request');
    assert.deepStrictEqual(request.fields.sort(),
                           Array.from(new Set(KO_TYPES)).filter((t) => t !== 'cc-csc').sort());
    assert.deepStrictEqual(await cardValues(frame), FILLED.map((v) => (v === '737' ? '' : v)));
    assert.deepStrictEqual(await untouched(page), [0, 0]);
    await popup.close();
  });
});

test('an answer whose MAC is wrong is not used', async (env) => {
  env.wallet.answer = (m) => ({ type: 'card.response', card: CARD });
  env.wallet.forgeAnswers = true;
  const page = await openPage(env, KO_FORM);
  const popup = await openPopup(env, await tabIdOf(env, page));
  assert.match(await pressFill(popup), /altered/);
  assert.deepStrictEqual(await cardValues(page), EMPTY);
  env.wallet.forgeAnswers = false;
  await popup.close();
  await page.close();
});

test('popup with a locked wallet: asks to unlock, nothing filled', async (env) => {
  env.wallet.answer = (m) => ({ type: 'card.response', error: 'locked' });
  const page = await openPage(env, KO_FORM);
  const popup = await openPopup(env, await tabIdOf(env, page));
  assert.match(await pressFill(popup), /Unlock your onepin wallet/);
  await keep(popup, 'popup-locked');
  assert.deepStrictEqual(await cardValues(page), EMPTY);
  await popup.close();
  await page.close();
});

/* Protocol 3: a wallet of another version is named as such, whichever side
 * notices: a wallet of protocol 1 (which looked at no version) by the
 * extension, in the begin's answer; one of protocol 2 or a newer one by
 * the wallet, which refuses our begin. Pairing says so too, instead of
 * failing later. */
test('a wallet that speaks another protocol version: the popup says so, nothing filled', async (env) => {
  env.wallet.answer = (m) => ({ type: 'card.response', card: CARD });
  const page = await openPage(env, KO_FORM);
  const popup = await openPopup(env, await tabIdOf(env, page));
  try {
    for (const protocol of [1, 2, 4]) {
      env.wallet.protocol = protocol;
      const count = env.wallet.messages.length;
      assert.match(await pressFill(popup), /different versions of their protocol/);
      assert.strictEqual(env.wallet.messages.length, count, `a request reached the wallet of protocol ${protocol}`);
      await keep(popup, `popup-version-${protocol}`);
    }
    assert.deepStrictEqual(await cardValues(page), EMPTY);
    /* a pairing fails at its begin, and says why */
    const pairing = await env.worker.evaluate(async () => {
      await chrome.storage.session.remove('pairing');
      await startPairing();
      for (let i = 0; i < 100; i++) {
        const { pairing: state } = await chrome.storage.session.get('pairing');
        if (state && state.state === 'failed')
          return state;
        await new Promise((ok) => setTimeout(ok, 100));
      }
      return null;
    });
    assert.deepStrictEqual(pairing, { state: 'failed', error: 'version' });
    assert.strictEqual(env.wallet.codes.length, 1, 'no second pairing reached the wallet');
  } finally {
    env.wallet.protocol = 3;
  }
  await popup.close();
  await page.close();
});

/* Pairing state as the popup reads it, once it has failed or succeeded. */
async function pairingOutcome(env) {
  return env.worker.evaluate(async () => {
    await chrome.storage.session.remove('pairing');
    await startPairing();
    for (let i = 0; i < 100; i++) {
      const { pairing: state } = await chrome.storage.session.get('pairing');
      if (state && (state.state === 'failed' || state.state === 'paired'))
        return state;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    return null;
  });
}

/* A party playing the wallet that chose its key after seeing ours, to make
 * the codes match another pairing's, cannot send the key it committed to:
 * the pairing fails before any code is shown, and the one we had stays. */
test('a wallet whose key is not the one it committed to: the pairing fails, no code shown', async (env) => {
  const codes = env.wallet.codes.length;
  const confirms = env.wallet.confirms;
  const shown = [];
  const approve = env.wallet.approvePairing;
  env.wallet.forgeCommitment = true;
  env.wallet.approvePairing = async (code) => 'Intruder';
  await env.worker.evaluate(() => {
    globalThis.onepinCodesSeen = [];
    chrome.storage.onChanged.addListener((changes, area) => {
      const state = area === 'session' && changes.pairing && changes.pairing.newValue;
      if (state && state.code)
        globalThis.onepinCodesSeen.push(state.code);
    });
  });
  try {
    assert.deepStrictEqual(await pairingOutcome(env), { state: 'failed', error: 'bad_mac' });
    shown.push(...await env.worker.evaluate(() => globalThis.onepinCodesSeen));
  } finally {
    env.wallet.forgeCommitment = false;
    env.wallet.approvePairing = approve;
  }
  /* the browser's key reached the wallet, its answer was refused */
  assert.strictEqual(env.wallet.codes.length, codes + 1);
  assert.deepStrictEqual(shown, []);
  assert.strictEqual(env.wallet.confirms, confirms, 'the extension confirmed the pairing');
  assert.deepStrictEqual(await env.worker.evaluate(() => OnePinChannel.status()),
                         { paired: true, name: 'Test Chromium' });
});

/* The site is remembered when the wallet says it is on its list (its user
 * chose "Always fill on this site" in the wallet's dialog), in its
 * authenticated answer; the extension has no say. */
test('a site the wallet lists is filled on the next visit without the popup; forgetting stops it', async (env) => {
  let listed = false;
  env.wallet.answer = (m) => (m.type === 'site.forget' ? { type: 'site.forgotten' }
                                                       : { type: 'card.response', card: CARD,
                                                           remembered: listed });
  const origin = `http://127.0.0.1:${env.server.port}`;
  let page = await openPage(env, KO_FORM);
  const popup = await openPopup(env, await tabIdOf(env, page));
  assert.match(await pressFill(popup), /Filled 9 fields/);
  assert.deepStrictEqual(await rememberedSites(env), {}, 'remembered a site the wallet did not list');
  await reloadUnder(popup, page);
  listed = true;
  assert.match(await pressFill(popup), /Filled 9 fields/);
  assert.ok((await rememberedSites(env))[origin], 'site remembered');
  await popup.close();
  await page.close();

  const before = env.wallet.messages.length;
  page = await openPage(env, KO_FORM);
  const auto = await env.wallet.waitForMessages(before + 1);
  assert.strictEqual(auto.confirmed, 'remembered');
  await page.waitForFunction(() => document.querySelector('[name=cvc]').value === '737');
  assert.deepStrictEqual(await cardValues(page), FILLED);

  const again = await openPopup(env, await tabIdOf(env, page));
  assert.strictEqual(await again.isVisible('#forget'), true);
  await again.click('#forget');
  await again.waitForFunction(() => document.getElementById('forget').hidden);
  assert.deepStrictEqual(await rememberedSites(env), {});
  /* the wallet forgets it too */
  const forget = await env.wallet.waitForMessages(before + 2);
  assert.deepStrictEqual(forget, { type: 'site.forget', origin });
  await again.close();
  await page.close();

  const count = env.wallet.messages.length;
  page = await openPage(env, KO_FORM);
  await page.waitForTimeout(1500);
  assert.strictEqual(env.wallet.messages.length, count, 'asked the wallet for a forgotten site');
  assert.deepStrictEqual(await cardValues(page), EMPTY);
  await page.close();
});

test('a page that navigates elsewhere while the wallet decides gets nothing', async (env) => {
  let release;
  const decided = new Promise((ok) => { release = ok; });
  env.wallet.answer = (m) => decided.then(() => ({ type: 'card.response', id: m.id, card: CARD }));
  const page = await openPage(env, KO_FORM);
  const tabId = await tabIdOf(env, page);
  const popup = await openPopup(env, tabId);
  const before = env.wallet.messages.length;
  await popup.click('#fill');
  await env.wallet.waitForMessages(before + 1);

  /* Same tab, same frame id, another origin with the same form. */
  await page.goto(`http://localhost:${env.server.port}/${KO_FORM}`);
  await env.worker.evaluate(async (id) => {
    for (let i = 0; i < 50 && await chrome.action.getBadgeText({ tabId: id }) !== '9'; i++)
      await new Promise((ok) => setTimeout(ok, 100));
  }, tabId);
  release();
  await popup.waitForFunction(() => {
    const text = document.getElementById('result').textContent;
    return text && !text.includes('Asking');
  }, null, { timeout: 20000 });
  assert.match(await popup.textContent('#result'), /page changed/);
  assert.deepStrictEqual(await cardValues(page), EMPTY);
  await popup.close();
  await page.close();
});

/* What the popup shows, as popup.js reads it. */
function shownBy(popup, tabId) {
  return popup.evaluate(async (id) => {
    const state = await chrome.runtime.sendMessage({ type: 'popup.state', tabId: id });
    return { origin: state.origin, documentId: state.documentId };
  }, tabId);
}

/* A click on the popup's button that the popup had not re-rendered for:
 * the page it showed then. */
function sendFromPopup(popup, message) {
  return popup.evaluate((m) => chrome.runtime.sendMessage(m), message);
}

test('the popup fills and forgets only the page it showed', async (env) => {
  env.wallet.answer = (m) => (m.type === 'site.forget' ? { type: 'site.forgotten' }
                                                       : { type: 'card.response', card: CARD });
  const loopback = `http://127.0.0.1:${env.server.port}`;
  const localhost = `http://localhost:${env.server.port}`;
  const page = await openPage(env, KO_FORM);
  const tabId = await tabIdOf(env, page);
  const popup = await openPopup(env, tabId);
  const first = await shownBy(popup, tabId);
  assert.strictEqual(first.origin, loopback);
  assert.strictEqual(typeof first.documentId, 'string');
  const count = env.wallet.messages.length;

  /* the tab goes to another origin while the popup is open */
  await page.goto(`${localhost}/${KO_FORM}`);
  await popup.waitForFunction((o) => document.getElementById('site').textContent === o, localhost);
  assert.deepStrictEqual(await sendFromPopup(popup, { type: 'popup.fill', tabId, remember: true,
                                                      origin: first.origin,
                                                      documentId: first.documentId }),
                         { error: 'page_changed' });
  assert.strictEqual(env.wallet.messages.length, count, 'the wallet was asked for another page');
  assert.deepStrictEqual(await cardValues(page), EMPTY);
  assert.deepStrictEqual(await rememberedSites(env), {});

  /* another document of the same origin */
  await popup.waitForFunction(() => document.getElementById('status').textContent.includes('9'));
  const second = await shownBy(popup, tabId);
  assert.strictEqual(second.origin, localhost);
  await page.reload();
  /* popup.js's own idea of the page it shows */
  await popup.waitForFunction((old) => shown.documentId && shown.documentId !== old,
                              second.documentId);
  assert.deepStrictEqual(await sendFromPopup(popup, { type: 'popup.fill', tabId, remember: false,
                                                      origin: second.origin,
                                                      documentId: second.documentId }),
                         { error: 'page_changed' });
  assert.strictEqual(env.wallet.messages.length, count);
  assert.deepStrictEqual(await cardValues(page), EMPTY);

  /* the button, on the page it shows now; the wallet lists the site */
  env.wallet.answer = (m) => (m.type === 'site.forget' ? { type: 'site.forgotten' }
                                                       : { type: 'card.response', card: CARD,
                                                           remembered: true });
  assert.match(await pressFill(popup), /Filled 9 fields/);
  assert.strictEqual(env.wallet.messages[count].origin, localhost);
  assert.deepStrictEqual(await cardValues(page), FILLED);
  assert.deepStrictEqual(Object.keys(await rememberedSites(env)), [localhost]);

  /* Forget, pressed as the tab went to another site: the site shown goes */
  await page.goto(`${loopback}/${KO_FORM}`);
  await popup.waitForFunction((o) => document.getElementById('site').textContent === o, loopback);
  await sendFromPopup(popup, { type: 'popup.forget', tabId, origin: localhost, documentId: null });
  assert.deepStrictEqual(await rememberedSites(env), {});
  assert.deepStrictEqual(await env.wallet.waitForMessages(count + 2),
                         { type: 'site.forget', origin: localhost });
  await popup.close();
  await page.close();
});

/* Whoever answers on the socket can say "not paired", unauthenticated: the
 * extension keeps its key, says the wallet does not know this browser, and
 * the user may pair again from the popup, which replaces the key. An error
 * under another id than the request's is not the answer. */
test('a wallet that says it does not know this browser: the pairing stays until the user pairs again', async (env) => {
  env.wallet.answer = (m) => ({ type: 'card.response', card: CARD });
  const paired = await env.worker.evaluate(() => OnePinChannel.status());
  assert.strictEqual(paired.paired, true);
  const page = await openPage(env, KO_FORM);
  const popup = await openPopup(env, await tabIdOf(env, page));
  try {
    /* an error frame about another message, before the answer: ignored */
    env.wallet.strayError = 'not_paired';
    assert.match(await pressFill(popup), /Filled 9 fields/);
    assert.deepStrictEqual(await cardValues(page), FILLED);
    env.wallet.strayError = null;
    await reloadUnder(popup, page);

    for (const forge of ['claimUnpaired', 'refuseRequests']) {
      env.wallet[forge] = forge === 'claimUnpaired' ? true : 'not_paired';
      assert.match(await pressFill(popup), /does not know this browser/, forge);
      env.wallet[forge] = forge === 'claimUnpaired' ? false : null;
      assert.deepStrictEqual(await env.worker.evaluate(() => OnePinChannel.status()),
                             Object.assign({}, paired, { unknown: true }), `${forge}: the pairing is kept`);
      await popup.waitForFunction(() => /does not know/.test(document.getElementById('pairing').textContent));
      assert.strictEqual(await popup.isVisible('#pair'), true, `${forge}: the popup offers to pair again`);
    }
    assert.deepStrictEqual(await cardValues(page), EMPTY);
    await keep(popup, 'popup-unknown-browser');
    /* the key still serves while the user has not paired again */
    assert.match(await pressFill(popup), /Filled 9 fields/);
    assert.deepStrictEqual(await cardValues(page), FILLED);
  } finally {
    env.wallet.strayError = null;
    env.wallet.claimUnpaired = false;
    env.wallet.refuseRequests = null;
  }
  /* the user pairs again: the new key replaces the old, in the wallet too
   * (pair.begin names the pairing and proves its key) */
  const before = [...env.wallet.browsers.keys()];
  env.wallet.approvePairing = async () => 'Test Chromium again';
  await popup.click('#pair');
  await popup.waitForFunction(() => /“Test Chromium again”/.test(document.getElementById('pairing').textContent));
  assert.strictEqual(await popup.isHidden('#pair'), true);
  const now = await env.worker.evaluate(() => OnePinChannel.status());
  assert.deepStrictEqual(now, { paired: true, name: 'Test Chromium again' });
  const [replaced] = env.wallet.replacing.slice(-1);
  assert.ok(replaced && replaced.proven && before.includes(replaced.browser), 'pair.begin proved no pairing');
  assert.deepStrictEqual([...env.wallet.browsers.keys()], before, 'the wallet keeps one record');
  await popup.close();
  await page.close();
});

/* content.js refuses a frame under another origin; the background must not
 * count on it: the card goes only to frames of the origin asked for. */
test('a frame of another origin in the tab gets no card', async (env) => {
  env.wallet.answer = (m) => ({ type: 'card.response', card: CARD });
  const page = await openPage(env, KO_FORM);
  const tabId = await tabIdOf(env, page);
  const other = `http://localhost:${env.server.port}`;
  await addFrame(page, `${other}/${KO_FORM}`, { width: 600, height: 600 });
  /* both frames reported; the other origin's as fillable, as a content
   * script that missed its cross-origin parent would */
  await env.worker.evaluate(async ([id, o]) => {
    const key = `frames:${id}`;
    for (let i = 0; i < 100; i++) {
      const frames = (await chrome.storage.session.get(key))[key] || {};
      const found = Object.values(frames).find((f) => f.origin === o);
      if (found) {
        found.refused = null;
        await chrome.storage.session.set({ [key]: frames });
        return;
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error('the frame did not report');
  }, [tabId, other]);
  await env.worker.evaluate(() => {
    globalThis.onepinSent = [];
    globalThis.onepinSendMessage = chrome.tabs.sendMessage;
    chrome.tabs.sendMessage = (tab, message, options) => {
      if (message && message.type === 'onepin.fill')
        globalThis.onepinSent.push({ origin: message.origin, frameId: options.frameId });
      return globalThis.onepinSendMessage.call(chrome.tabs, tab, message, options);
    };
  });
  try {
    const popup = await openPopup(env, tabId);
    assert.match(await pressFill(popup), /Filled 9 fields/);
    await popup.close();
  } finally {
    await env.worker.evaluate(() => {
      chrome.tabs.sendMessage = globalThis.onepinSendMessage;
    });
  }
  const sent = await env.worker.evaluate(() => globalThis.onepinSent);
  assert.deepStrictEqual(sent, [{ origin: `http://127.0.0.1:${env.server.port}`, frameId: 0 }]);
  assert.deepStrictEqual(await cardValues(page), FILLED);
  await page.close();
});

test('an http page other than localhost: no content script, the popup refuses', async (env) => {
  const count = env.wallet.messages.length;
  const page = await openPage(env, KO_FORM, 'shop.example');
  /* The extension may not read this tab's URL: find it as the active tab. */
  await page.bringToFront();
  const tabId = await env.worker.evaluate(async () =>
    (await chrome.tabs.query({ active: true, lastFocusedWindow: true }))[0].id);
  const scan = await env.worker.evaluate((id) => chrome.tabs.sendMessage(id, { type: 'onepin.scan' })
    .then(() => 'answered', () => 'no receiver'), tabId);
  assert.strictEqual(scan, 'no receiver');
  const popup = await openPopup(env, tabId);
  assert.match(await popup.textContent('#status'), /only secure \(https\) pages/);
  assert.strictEqual(await popup.isDisabled('#fill'), true);
  assert.strictEqual(env.wallet.messages.length, count);
  await popup.close();
  await page.close();
});

/* Unpair: the wallet is told (authenticated) to forget this browser, then
 * the extension forgets it; a wallet that cannot be told keeps its pairing,
 * and the popup says where to remove it. */
test('Unpair makes the wallet forget the browser, or says that it keeps it', async (env) => {
  const page = await openPage(env, KO_FORM);
  const popup = await openPopup(env, await tabIdOf(env, page));
  const count = env.wallet.messages.length;
  const kept = env.wallet.browsers.size;
  await popup.click('#unpair');
  await popup.waitForFunction(() => /forgot this browser too/.test(document.getElementById('result').textContent));
  assert.deepStrictEqual(env.wallet.messages.slice(count), [{ type: 'browser.forget' }]);
  assert.strictEqual(env.wallet.browsers.size, kept - 1, 'the wallet kept the browser');
  assert.deepStrictEqual(await env.worker.evaluate(() => OnePinChannel.status()), { paired: false });

  env.wallet.approvePairing = async () => 'Test Chromium';
  await popup.click('#pair');
  await popup.waitForFunction(() => /“Test Chromium”/.test(document.getElementById('pairing').textContent));
  env.wallet.refuseRequests = 'locked';
  try {
    await popup.click('#unpair');
    await popup.waitForFunction(() => /keeps this pairing/.test(document.getElementById('result').textContent));
  } finally {
    env.wallet.refuseRequests = null;
  }
  assert.strictEqual(env.wallet.browsers.size, kept);
  assert.deepStrictEqual(await env.worker.evaluate(() => OnePinChannel.status()), { paired: false });
  await keep(popup, 'popup-unpaired-wallet-keeps');
  await popup.close();
  await page.close();
});

run(async () => {
  assert.ok(HOST, 'ONEPIN_WALLET_HOST is not set');
  const hostManifest = JSON.parse(fs.readFileSync(
    path.join(path.dirname(HOST), 'org.onepin.wallet.chromium.json'), 'utf8'));
  const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onepin-runtime-'));
  fs.chmodSync(runtimeDir, 0o700);
  const srv = await server.start({ '/forms/': path.join(__dirname, 'forms'),
                                 '/pages/': path.join(__dirname, 'pages') });
  const context = await launchWithExtension(EXTENSION, {
    args: ['--host-resolver-rules=MAP shop.example 127.0.0.1'],
    env: Object.assign({}, process.env, { XDG_RUNTIME_DIR: runtimeDir }),
    /* The per-profile place Chromium reads host manifests from, pointing
     * at the host just built. */
    prepare: (profile) => {
      const dir = path.join(profile, 'NativeMessagingHosts');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'org.onepin.wallet.json'),
                       JSON.stringify(Object.assign({}, hostManifest, { path: HOST })));
    },
  });
  const worker = await serviceWorker(context);
  const extensionId = new URL(worker.url()).host;
  return { server: srv, context, worker, extensionId, hostManifest, runtimeDir,
           wallet: new WalletPeer(runtimeDir) };
}, async (env) => {
  await env.context.close();
  await server.stop(env.server);
  if (env.wallet.server)
    await env.wallet.stop();
  fs.rmSync(env.runtimeDir, { recursive: true, force: true });
});
