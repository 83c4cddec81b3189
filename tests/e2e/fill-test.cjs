#!/usr/bin/env node
/* fill-test.cjs: fill.js on our forms in headless Chromium
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Loads detector.js and fill.js into each page (as the content script
 * does, but in the page's world so the test can read the page's state),
 * fills a test card and reads back what the form — and, for the controlled
 * forms, the component's state — holds. Also checks the refusals: an http
 * page that is not localhost, sandboxed frames and a frame of another
 * origin; and that fields the user cannot see get nothing (the audit's
 * page of hidden selects, transparent, clipped and tiny fields, a
 * transparent frame) while the ways real checkouts show fields still fill.
 */
'use strict';

const path = require('path');
const { launch } = require('./lib/browser.cjs');
const server = require('./lib/server.cjs');
const { test, run, assert } = require('./lib/tap.cjs');

const EXTENSION = path.resolve(__dirname, '../../wallet-client/extension');
const CARD = {
  number: '9410 1234 5678 9012', name: 'Hong Gildong', expMonth: 3, expYear: 2029,
  csc: '737', brand: 'Visa',
};

async function inject(frame) {
  await frame.addScriptTag({ path: path.join(EXTENSION, 'detector.js') });
  await frame.addScriptTag({ path: path.join(EXTENSION, 'fill.js') });
}

/* Fills data into the frame; returns fill()'s answer. */
async function fillFrame(frame, data) {
  await inject(frame);
  return frame.evaluate((d) => OnePinFill.fill(OnePinDetector.classify(document), d), data);
}

async function values(frame) {
  return frame.evaluate(() => Object.fromEntries(
    Array.from(document.querySelectorAll('input, select'))
      .map((el) => [el.name || el.id, el.value])));
}

async function open(env, file, host = '127.0.0.1') {
  const page = await env.browser.newPage();
  await page.goto(`http://${host}:${env.server.port}/${file}`);
  return page;
}

test('Korean form: split number, month and year selects, card company', async (env) => {
  const page = await open(env, 'forms/ko-checkout-split.html');
  const answer = await fillFrame(page.mainFrame(), Object.assign({}, CARD, { brand: '신한카드' }));
  const v = await values(page.mainFrame());
  assert.strictEqual(answer.refused, null);
  assert.deepStrictEqual([v.card_no1, v.card_no2, v.card_no3, v.card_no4],
                         ['9410', '1234', '5678', '9012']);
  assert.strictEqual(v.exp_m, '03');
  assert.strictEqual(v.exp_y, '2029');
  assert.strictEqual(v.cvc, '737');
  assert.strictEqual(v.holder, 'Hong Gildong');
  assert.strictEqual(v.card_company, '41');
  for (const other of ['card_pw', 'buyer_name', 'point_card', 'coupon'])
    assert.strictEqual(v[other], '', other);
  assert.strictEqual(v.birth_m, '');
  await page.close();
});

test('English form: month names, years as texts over two-digit values', async (env) => {
  const page = await open(env, 'forms/en-checkout-select.html');
  await fillFrame(page.mainFrame(), CARD);
  const v = await values(page.mainFrame());
  assert.strictEqual(v['payment[number]'], '9410123456789012');
  assert.strictEqual(v['payment[exp_month]'], '3');
  assert.strictEqual(v['payment[exp_year]'], '29');
  assert.strictEqual(v['payment[verification_value]'], '737');
  assert.strictEqual(v.gift_card, '');
  assert.strictEqual(v.first_name, '');
  await page.close();
});

test('split fields: short month and year inputs, card type by option text', async (env) => {
  const page = await open(env, 'forms/en-split-fields.html');
  await fillFrame(page.mainFrame(), CARD);
  const v = await values(page.mainFrame());
  assert.deepStrictEqual([v.n1, v.n2, v.n3, v.n4], ['9410', '1234', '5678', '9012']);
  assert.deepStrictEqual([v.em, v.ey, v.v, v.h, v.type], ['03', '29', '737', 'Hong Gildong', 'V']);
  assert.strictEqual(v.dob_month, 'Month');
  assert.strictEqual(v.member, '');
  await page.close();
});

test('expiry in the format each field asks for; hidden and disabled inputs left alone', async (env) => {
  const page = await open(env, 'pages/expiry-formats.html');
  const answer = await fillFrame(page.mainFrame(), Object.assign({}, CARD, { number: '378282246310005' }));
  const v = await values(page.mainFrame());
  assert.strictEqual(v.e1, '03 / 2029');
  assert.strictEqual(v.e2, '0329');
  assert.strictEqual(v.e3, '03/29');
  assert.strictEqual(v.e4, '03/29');
  assert.strictEqual(v.e5, '2029-03');
  assert.strictEqual(v.e6, '03/2029');
  assert.deepStrictEqual([v.amex1, v.amex2, v.amex3], ['3782', '822463', '10005']);
  assert.strictEqual(v['cc-name'], '', 'off-screen input filled');
  assert.strictEqual(v.cardholder, '', 'display:none input filled');
  assert.strictEqual(v['cc-number-disabled'], '', 'disabled input filled');
  assert.ok(!answer.filled.includes('cc-name'));
  await page.close();
});

test('hidden fields and selects that list every value get nothing', async (env) => {
  const page = await open(env, 'pages/hidden-fields.html');
  const before = await values(page.mainFrame());
  const answer = await fillFrame(page.mainFrame(), CARD);
  const after = await values(page.mainFrame());
  assert.strictEqual(answer.refused, null);
  assert.deepStrictEqual(answer.filled, ['cc-name']);
  assert.strictEqual(after.visible_name, 'Hong Gildong');
  for (const name of Object.keys(before))
    if (name !== 'visible_name')
      assert.strictEqual(after[name], before[name], `${name} filled`);
  assert.deepStrictEqual(await page.evaluate(() => Array.from(new Set(window.touched))),
                         ['visible_name']);
  await page.close();
});

test('fields that real checkouts show in unusual ways are filled', async (env) => {
  const page = await open(env, 'pages/shown-fields.html');
  /* the name is at the bottom of a scrolling dialog: out of view, it
   * refuses the fill until the user scrolls there */
  assert.strictEqual((await fillFrame(page.mainFrame(), CARD)).refused, 'out-of-view');
  await page.evaluate(() => { const d = document.querySelector('.dialog'); d.scrollTop = d.scrollHeight; });
  const answer = await fillFrame(page.mainFrame(), CARD);
  const v = await values(page.mainFrame());
  assert.strictEqual(answer.refused, null);
  assert.deepStrictEqual([v.s1, v.s2, v.s3, v.s4], ['9410', '1234', '5678', '9012']);
  const width = await page.evaluate(
    () => document.querySelector('[name=s1]').getBoundingClientRect().width);
  assert.ok(width < 60, `a split number's input is ${width} px wide`);
  assert.deepStrictEqual([v.sm, v.sy, v.sc, v.sn], ['03', '2029', '737', 'Hong Gildong']);
  assert.strictEqual(v.escaped, '9410123456789012');
  await page.close();
});

test('nothing is filled in a frame the user cannot see', async (env) => {
  const page = await open(env, 'pages/hidden-frame.html');
  await page.waitForLoadState('load');
  for (const [name, n1] of [['shown', '9410'], ['ghost', ''], ['faint', ''], ['filtered', '']]) {
    const f = page.frames().find((frame) => frame.name() === name);
    assert.ok(f, `frame ${name}`);
    await f.waitForSelector('input[name=n1]');
    const answer = await fillFrame(f, CARD);
    assert.strictEqual(answer.refused, null, name);
    const v = await values(f);
    assert.deepStrictEqual([v.n1, v.v, v.h], n1 ? [n1, '737', 'Hong Gildong'] : ['', '', ''], name);
  }
  await page.close();
});

/* Fills the fields of form @id alone (those in its shadow roots too);
 * fill()'s answer, with how many fields were passed and the time taken. */
async function fillForm(page, id, data = CARD) {
  return page.evaluate(([formId, d]) => {
    const fields = OnePinDetector.classify(document).filter((f) => {
      for (let e = f.element; e; e = e.parentElement || e.getRootNode().host)
        if (e.id === formId && e.localName === 'form')
          return true;
      return false;
    });
    const start = performance.now();
    const answer = OnePinFill.fill(fields, d);
    return Object.assign(answer, { count: fields.length, ms: performance.now() - start });
  }, [id, data]);
}

test('a form with a field under another element gets nothing at all', async (env) => {
  const page = await open(env, 'pages/covered-fields.html');
  await inject(page.mainFrame());
  const shown = ['plain', 'veil', 'subtle', 'belowok'];
  const forms = ['plain', 'div', 'stack', 'veil', 'ghost', 'inert', 'pseudo', 'ring', 'shadow',
                 'sneaky', 'label', 'stroke', 'image', 'letter', 'line', 'backdrop', 'dropshadow',
                 'borderimage', 'textshadow', 'columns', 'subtle'];
  const fillAll = async (ids) => {
    const answers = [];
    for (const id of ids) {
      const popover = id === 'backdrop';
      if (popover)
        await page.evaluate(() => document.getElementById('veiled').showPopover());
      const answer = await fillForm(page, id);
      if (popover)
        await page.evaluate(() => document.getElementById('veiled').hidePopover());
      answers.push([id, answer.count, answer.filled.length, answer.refused]);
    }
    return answers;
  };
  const expected = (id) => (shown.includes(id) ? [id, 2, 2, null] : [id, 2, 0, 'covered-field']);
  assert.deepStrictEqual(await fillAll(forms), forms.map(expected));
  /* below the fold: nothing is scrolled to look, so nothing is filled,
   * covered or not, until the user scrolls there */
  assert.deepStrictEqual(await fillAll(['below', 'belowok']),
                         [['below', 2, 0, 'out-of-view'], ['belowok', 2, 0, 'out-of-view']]);
  await page.waitForTimeout(200);
  /* read only: no attribute, style or node touched (the sneaky cover saw
   * nothing to undo), and nothing scrolled, not even for a moment */
  assert.deepStrictEqual(await page.evaluate(() => [window.mutations, window.sneaky, window.scrolls,
                                                    scrollX, scrollY]),
                         [0, [], [], 0, 0]);
  await page.evaluate(() => document.getElementById('below').scrollIntoView({ block: 'start' }));
  assert.deepStrictEqual(await fillAll(['below', 'belowok']), ['below', 'belowok'].map(expected));
  const v = await values(page.mainFrame());
  const inShadow = await page.evaluate(() => document.querySelector('pay-field').shadowRoot
    .querySelector('input').value);
  for (const [name, value] of Object.entries(v).concat([['shadow_csc', inShadow]]))
    assert.strictEqual(value !== '', shown.includes(name.replace(/_.*/, '')), `${name} = "${value}"`);
  assert.deepStrictEqual(await page.evaluate(() => Array.from(new Set(window.touched)).sort()),
                         ['belowok_csc', 'belowok_number', 'plain_csc', 'plain_number',
                          'subtle_csc', 'subtle_number', 'veil_csc', 'veil_number']);
  await page.close();
});

test('a card form that hides its CVC, or keeps it out of view in a scrolling modal, gets nothing', async (env) => {
  const page = await open(env, 'pages/partial-card.html');
  await inject(page.mainFrame());
  const answers = [];
  for (const id of ['hiddencvc', 'twocvc', 'modal']) {
    const answer = await fillForm(page, id);
    answers.push([id, answer.count, answer.filled.sort(), answer.refused]);
  }
  assert.deepStrictEqual(answers, [['hiddencvc', 2, [], 'hidden-field'],
                                   ['twocvc', 3, ['cc-csc', 'cc-number'], null],
                                   ['modal', 2, [], 'out-of-view']]);
  assert.deepStrictEqual(await values(page.mainFrame()),
                         { hiddencvc_number: '', hiddencvc_csc: '', twocvc_number: '9410123456789012',
                           twocvc_csc: '737', twocvc_hidden: '', modal_number: '', modal_csc: '' });
  await page.close();
});

test('Bootstrap floating labels over a card already filled in: all of it is replaced', async (env) => {
  const page = await open(env, 'pages/floating-labels.html');
  await inject(page.mainFrame());
  const answer = await fillForm(page, 'pay');
  assert.deepStrictEqual([answer.filled.sort(), answer.refused],
                         [['cc-csc', 'cc-exp', 'cc-name', 'cc-number'], null]);
  assert.deepStrictEqual(await values(page.mainFrame()),
                         { number: '9410123456789012', exp: '03/29', csc: '737', name: 'Hong Gildong' });
  assert.strictEqual(await page.evaluate(() => window.mutations), 0);
  await page.close();
});

test('the covered-field check is quick on a page of 50,000 elements', async (env) => {
  const page = await open(env, 'pages/big-page.html');
  await inject(page.mainFrame());
  assert.ok(await page.evaluate(() => document.getElementsByTagName('*').length) >= 50000);
  const answer = await fillForm(page, 'pay');
  assert.deepStrictEqual([answer.filled.length, answer.refused], [4, null]);
  console.log(`# fill with the covered-field check on 50,000 elements: ${Math.round(answer.ms)} ms`);
  assert.ok(answer.ms < 2500, `${answer.ms} ms`);
  await page.close();
});

test('payment-element-like form and Korean placeholders', async (env) => {
  let page = await open(env, 'forms/en-modern-single.html');
  await fillFrame(page.mainFrame(), CARD);
  let v = await page.evaluate(() => Array.from(document.querySelectorAll('input')).map((e) => e.value));
  assert.deepStrictEqual(v.slice(0, 4), ['9410123456789012', '03 / 29', '737', 'Hong Gildong']);
  assert.deepStrictEqual(v.slice(4), ['', '', '', '', '']);
  await page.close();
  page = await open(env, 'forms/ko-simple.html');
  await fillFrame(page.mainFrame(), CARD);
  v = await page.evaluate(() => Array.from(document.querySelectorAll('input')).map((e) => e.value));
  assert.deepStrictEqual(v, ['9410123456789012', '03/29', '737', '', 'Hong Gildong', '', '']);
  await page.close();
});

test('bank account: bank by code, account number and holder', async (env) => {
  const page = await open(env, 'forms/ko-refund-bank.html');
  await fillFrame(page.mainFrame(), { bankName: 'KB국민은행', bankCode: '004',
                                      accountNumber: '12345678901234', accountHolder: '홍길동' });
  const v = await values(page.mainFrame());
  assert.deepStrictEqual([v.refund_bank, v.refund_account, v.refund_holder],
                         ['004', '12345678901234', '홍길동']);
  assert.deepStrictEqual([v.payout_bank, v.payout_acct, v.payout_owner],
                         ['KB국민은행', '12345678901234', '홍길동']);
  assert.strictEqual(v.contact, '');
  await page.close();
});

/* A plain assignment plus an input event, as a naive filler does. */
function naiveFill() {
  for (const el of document.querySelectorAll('input')) {
    el.value = el.name === 'holder' ? 'Naive' : '4111111111111111';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }
}

test('controlled inputs (vanilla React-style): state takes the values', async (env) => {
  const page = await open(env, 'forms/controlled-vanilla.html');
  await page.evaluate(naiveFill);
  let state = await page.evaluate(() => Object.assign({}, window.formState));
  assert.strictEqual(state.number, '', 'the page must ignore a naive fill, or this test proves nothing');
  await fillFrame(page.mainFrame(), CARD);
  await page.evaluate(() => window.rerender());
  state = await page.evaluate(() => Object.assign({}, window.formState));
  assert.deepStrictEqual(state, { number: '9410 1234 5678 9012', expiry: '03/29', cvc: '737',
                                  holder: 'HONG GILDONG', country: 'KR' });
  const shown = await page.inputValue('#number');
  assert.strictEqual(shown, '9410 1234 5678 9012');
  await page.close();
});

test('controlled inputs (React 18): state takes the values', async (env) => {
  const page = await open(env, 'forms/controlled-react.html');
  await page.evaluate(naiveFill);
  let state = await page.evaluate(() => Object.assign({}, window.formState));
  assert.strictEqual(state.number, '', 'React must ignore a naive fill, or this test proves nothing');
  await fillFrame(page.mainFrame(), CARD);
  await page.waitForFunction(() => window.formState.holder === 'Hong Gildong');
  state = await page.evaluate(() => Object.assign({}, window.formState));
  assert.deepStrictEqual(state, { number: '9410 1234 5678 9012', month: '03', year: '2029',
                                  cvc: '737', holder: 'Hong Gildong' });
  await page.close();
});

test('refused on an http page that is not localhost', async (env) => {
  const page = await open(env, 'forms/en-split-fields.html', 'shop.example');
  const answer = await fillFrame(page.mainFrame(), CARD);
  assert.deepStrictEqual(answer, { filled: [], refused: 'insecure-page' });
  const v = await values(page.mainFrame());
  assert.deepStrictEqual([v.n1, v.em, v.v, v.h], ['', '', '', '']);
  await page.close();
});

test('refused in sandboxed frames and in a frame of another origin', async (env) => {
  const other = `http://localhost:${env.server.port}`;
  const page = await open(env, `pages/frames.html?other=${encodeURIComponent(other)}`);
  await page.waitForFunction(() => document.querySelector('iframe[name=other-origin]').src !== '');
  await page.waitForLoadState('load');
  const frame = (name) => page.frames().find((f) => f.name() === name);
  const expected = { 'same': null, 'sandboxed': 'sandboxed-frame',
                     'sandboxed-same-origin': 'sandboxed-frame',
                     'other-origin': 'cross-origin-frame' };
  for (const [name, refused] of Object.entries(expected)) {
    const f = frame(name);
    assert.ok(f, `frame ${name}`);
    await f.waitForSelector('input[name=n1]');
    const answer = await fillFrame(f, CARD);
    assert.strictEqual(answer.refused, refused, name);
    const v = await values(f);
    assert.strictEqual(v.n1, refused ? '' : '9410', name);
  }
  await page.close();
});

run(async () => {
  const srv = await server.start({
    '/forms/': path.join(__dirname, 'forms'),
    '/pages/': path.join(__dirname, 'pages'),
    '/node_modules/': path.join(__dirname, 'node_modules'),
  });
  const browser = await launch(['--host-resolver-rules=MAP shop.example 127.0.0.1']);
  return { server: srv, browser };
}, async (env) => {
  await env.browser.close();
  await server.stop(env.server);
});
