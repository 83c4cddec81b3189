/* test-malls-browser.cjs: the demo malls and the hosted payment page in
 * headless Chromium (suite malls)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A real onepin-bank, gateway and both demo mall servers; Debian's chromium
 * driven by npm playwright-core (tests/e2e/package.json, installed by
 * `.ci/npm-setup`; without it the test is skipped). A shopper types the
 * representative card into each shop's checkout page, as the wallet's
 * extension would fill it, and the acquirer gets it approved by onepin; the
 * React-style page keeps only values that came with input events. A shopper
 * without the wallet pays an affiliated mall's order on the hosted page,
 * under its strict Content-Security-Policy (any violation fails the test),
 * and lands on the mall's order page, paid. Screenshots are kept in
 * BUILDDIR/meson-logs/artifacts/malls/.
 */
'use strict';

const assert = require('assert');
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const MALLS = path.join(ROOT, 'examples', 'malls');
const ARTIFACTS = process.env.ONEPIN_ARTIFACTS || path.join(os.tmpdir(), 'onepin-malls-artifacts');

let chromium;
try {
  ({ chromium } = require(require.resolve('playwright-core',
                                          { paths: [path.join(ROOT, 'tests', 'e2e')] })));
} catch (e) {
  console.log('1..0 # SKIP playwright-core is not installed (run .ci/npm-setup)');
  process.exit(0);
}

/* ---- programs ---------------------------------------------------------- */

const processes = [];

function start(argv, log) {
  const out = fs.openSync(log, 'w');
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out] });
  processes.push(child);
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 15000;
    const poll = () => {
      const text = fs.readFileSync(log, 'utf8');
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match)
        return resolve(match[1]);
      if (child.exitCode !== null || Date.now() > deadline)
        return reject(new Error(`${argv[0]} did not start:\n${text.slice(-2000)}`));
      setTimeout(poll, 50);
    };
    poll();
  });
}

async function stopAll() {
  for (const child of processes.reverse()) {
    if (child.exitCode !== null)
      continue;
    const done = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 15000))]);
    if (child.exitCode === null)
      child.kill('SIGKILL');
  }
}

async function api(method, url, body, bearer, key) {
  const headers = { 'Content-Type': 'application/json' };
  if (bearer)
    headers.Authorization = `Bearer ${bearer}`;
  if (key)
    headers['Idempotency-Key'] = key;
  const response = await fetch(url, { method, headers,
                                      body: body ? JSON.stringify(body) : undefined });
  return { status: response.status, json: await response.json() };
}

async function setup() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onepin-malls-browser-'));
  const bankDir = path.join(tmp, 'bank');
  const gwDir = path.join(tmp, 'gateway');
  const issuerFile = path.join(tmp, 'issuer.url');
  const bank = await start([process.env.ONEPIN_BANK, '--data-dir', bankDir, '--listen',
                            '127.0.0.1:0', '--issuer-url-file', issuerFile],
                           path.join(tmp, 'bank.log'));
  const config = path.join(tmp, 'gateway.conf');
  fs.writeFileSync(config, `[wallet]\npbkdf2_iterations=2000\n` +
                   `[webhooks]\nretry_base=1\nallow_private=true\n` +
                   `[network]\nsecret_file=${bankDir}/network.secret\n` +
                   `[bank]\nurl=${bank}\napi_key_file=${bankDir}/api.key\n` +
                   `callback_secret_file=${bankDir}/callback.secret\n`);
  const gw = await start([process.env.ONEPIN_GATEWAY, '--data-dir', gwDir, '--listen',
                          '127.0.0.1:0', '--config', config], path.join(tmp, 'gateway.log'));
  fs.writeFileSync(issuerFile, gw + '\n');
  const admin = fs.readFileSync(path.join(gwDir, 'admin.token'), 'utf8').trim();
  const merchant = (await api('POST', `${gw}/v1/admin/merchants`,
                              { name: 'Onepin Tea House', category: 'shopping' }, admin)).json;
  fs.writeFileSync(path.join(tmp, 'mall.key'), merchant.secret_key, { mode: 0o600 });
  fs.writeFileSync(path.join(tmp, 'mall.whsec'), merchant.webhook_secret, { mode: 0o600 });
  const mall = await start(['python3', path.join(MALLS, 'affiliated_mall.py'), '--gateway', gw,
                            '--key-file', path.join(tmp, 'mall.key'), '--webhook-secret-file',
                            path.join(tmp, 'mall.whsec'), '--listen', '127.0.0.1:0'],
                           path.join(tmp, 'mall.log'));
  const shops = await start(['python3', path.join(MALLS, 'shops.py'), '--bank', bank,
                             '--acquirer-key-file', path.join(bankDir, 'acquirer.key'),
                             '--listen', '127.0.0.1:0'], path.join(tmp, 'shops.log'));

  /* A wallet user's representative card, topped up with 100,000 won. */
  await api('POST', `${gw}/v1/wallet/users`, { login_id: 'browser-shopper',
    password: 'correct horse', name: 'Browser Shopper', email: 'b@wallet.example' });
  const token = (await api('POST', `${gw}/v1/wallet/sessions`,
                           { login_id: 'browser-shopper', password: 'correct horse' })).json.token;
  const card = (await api('POST', `${gw}/v1/wallet/card`, { password: '2580' }, token, 'a')).json;
  const source = (await api('POST', `${gw}/v1/wallet/funding-sources`, { type: 'credit_card',
    credit_card: { number: '4242424242424242', expiry: '12/30', holder: 'B S' } }, token)).json;
  await api('POST', `${gw}/v1/wallet/charges`, { funding_source_id: source.id, amount: 100000,
                                                 cvc: '123' }, token, 'c');
  /* A prepaid card for the hosted page. */
  const batch = (await api('POST', `${gw}/v1/admin/card_batches`, { count: 1, value: 50000,
    currency: 'krw', channel: 'online' }, admin, 'b')).json;
  await api('POST', `${gw}/v1/cards/register`, { number: batch.cards[0].number,
                                                 password: '7777' });

  const args = ['--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'];
  if (process.getuid && process.getuid() === 0)
    args.push('--no-sandbox');
  const browser = await chromium.launch({
    executablePath: process.env.ONEPIN_CHROMIUM || '/usr/bin/chromium', headless: true, args,
  });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return { tmp, gw, admin, mall, shops, token, card, prepaid: batch.cards[0].number, browser };
}

/* ---- tests -------------------------------------------------------------- */

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

function expiryOf (card) {
  return { month: String(card.exp_month).padStart(2, '0'), year: String(card.exp_year) };
}

async function result (page) {
  await page.waitForFunction(() => /Approved|Declined/.test(
    document.getElementById('result').textContent), null, { timeout: 20000 });
  return page.textContent('#result');
}

test('plain shop: typed like a user, approved by onepin', async (env) => {
  const page = await env.browser.newPage();
  const { month, year } = expiryOf(env.card);
  await page.goto(`${env.shops}/plain`);
  await page.fill('#cc-name', 'B S');
  await page.fill('#cc-number', env.card.number);
  await page.fill('#cc-exp', `${month}/${year.slice(2)}`);
  await page.fill('#cc-csc', env.card.cvc);
  await page.click('button[type=submit]');
  assert.match(await result(page), /Approved/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'plain.png') });
  await page.close();
});

test('split shop: four number inputs and <select> expiry', async (env) => {
  const page = await env.browser.newPage();
  const { month, year } = expiryOf(env.card);
  await page.goto(`${env.shops}/split`);
  for (let i = 0; i < 4; i++)
    await page.fill(`#card${i + 1}`, env.card.number.slice(i * 4, i * 4 + 4));
  await page.selectOption('#exp-month', month);
  await page.selectOption('#exp-year', year);
  await page.fill('#security', env.card.cvc);
  await page.click('button[type=submit]');
  assert.match(await result(page), /Approved/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'split.png') });
  await page.close();
});

test('React-style shop: values with input events count, bare ones do not', async (env) => {
  const page = await env.browser.newPage();
  const { month, year } = expiryOf(env.card);
  await page.goto(`${env.shops}/react`);
  /* A bare DOM write, without an input event, is not the page's state. */
  await page.evaluate((number) => { document.getElementById('cardNumberInput').value = number; },
                      env.card.number);
  await page.fill('#holderName', 'B S');
  assert.strictEqual(await page.inputValue('#cardNumberInput'), '');
  await page.fill('#cardNumberInput', env.card.number);
  await page.fill('#expiryInput', `${month} / ${year.slice(2)}`);
  await page.fill('#cvcInput', env.card.cvc);
  await page.click('button[type=submit]');
  assert.match(await result(page), /Approved/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'react.png') });
  await page.close();
});

test('Korean shop: 카드번호, 유효기간 월/년, 보안코드', async (env) => {
  const page = await env.browser.newPage({ locale: 'ko-KR' });
  const { month, year } = expiryOf(env.card);
  await page.goto(`${env.shops}/korean`);
  await page.fill('#owner', '홍길동');
  await page.fill('#cardno', env.card.number);
  await page.fill('#mm', month);
  await page.fill('#yy', year.slice(2));
  await page.fill('#cvc', env.card.cvc);
  await page.click('button[type=submit]');
  assert.match(await result(page), /Approved/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'korean.png') });
  await page.close();
});

test('the shops charged the representative card on the ledger', async (env) => {
  const card = (await api('GET', `${env.gw}/v1/wallet/card`, null, env.token)).json;
  assert.strictEqual(card.balance, 100000 - 12000 - 23000 - 15500 - 8000);
  const audit = (await api('GET', `${env.gw}/v1/admin/audit`, null, env.admin)).json;
  assert.strictEqual(audit.balanced, true);
});

test('hosted page: pays under a strict policy and returns to the mall', async (env) => {
  const context = await env.browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  const violations = [];
  page.on('console', (message) => {
    if (/Content.Security.Policy|Refused to/i.test(message.text()))
      violations.push(message.text());
  });
  page.on('pageerror', (error) => violations.push(String(error)));
  await page.goto(env.mall);
  await page.click('tr:has-text("Cast-iron kettle") button');
  /* Without the wallet's extension, "Pay with onepin" says what it needs. */
  await page.click('#onepin-pay');
  await page.waitForSelector('#onepin-missing:not([hidden])');
  assert.match(await page.textContent('#onepin-missing'), /onepin wallet extension/);
  assert.match(await page.textContent('#onepin-missing'), /Pay with a onepin card number/);
  await page.click('text=Pay with a onepin card number');
  await page.waitForSelector('#pay-form:not([hidden])');
  assert.match(await page.textContent('#merchant'), /Onepin Tea House/);
  assert.match(await page.textContent('#amount'), /35,000/);
  assert.ok(!page.url().includes(env.prepaid));
  await page.fill('#card-number', env.prepaid);
  await page.fill('#card-password', '0000');
  await page.click('#pay-button');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /incorrect/);
  await page.fill('#card-password', '7777');
  await page.click('#pay-button');
  await page.waitForSelector('#done:not([hidden])');
  await page.screenshot({ path: path.join(ARTIFACTS, 'hosted-paid.png') });
  await page.waitForURL(/\/orders\//, { timeout: 10000 });
  assert.ok(!page.url().includes('7777') && !page.url().includes(env.prepaid));
  await page.waitForFunction(() => /Paid/.test(document.body.textContent), null,
                             { timeout: 20000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'mall-order-paid.png') });
  assert.deepStrictEqual(violations, []);
  await context.close();
});

test('hosted page refuses to be framed by another site', async (env) => {
  const page = await env.browser.newPage();
  const refusals = [];
  page.on('console', (message) => {
    if (/frame-ancestors/.test(message.text()))
      refusals.push(message.text());
  });
  await page.goto(`${env.shops}/`);
  await page.evaluate((url) => {
    const frame = document.createElement('iframe');
    frame.src = url;
    document.body.append(frame);
  }, `${env.gw}/pay/cs_00000000000000000000000000000000`);
  await page.waitForTimeout(1500);
  assert.ok(refusals.length > 0, 'Chromium did not refuse the frame');
  await page.close();
});

(async () => {
  let env = null;
  let failed = 0;
  try {
    env = await setup();
    console.log(`1..${tests.length}`);
    for (let i = 0; i < tests.length; i++) {
      try {
        await tests[i].fn(env);
        console.log(`ok ${i + 1} - ${tests[i].name}`);
      } catch (error) {
        failed++;
        console.log(`not ok ${i + 1} - ${tests[i].name}`);
        console.log(String(error.stack || error).split('\n').map((l) => '# ' + l).join('\n'));
      }
    }
  } catch (error) {
    failed++;
    console.log('Bail out! ' + String(error.stack || error).split('\n').join('\n# '));
  } finally {
    if (env)
      await env.browser.close();
    await stopAll();
    if (env)
      fs.rmSync(env.tmp, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
})();
