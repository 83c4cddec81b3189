/* test-wallet-browser.mjs: a shopper with the onepin wallet and its browser
 * extension, at both kinds of demo mall (suite browser)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Everything real: onepin-bank (card network and acquirer), the gateway, an
 * SMTP server, both demo malls of examples/malls, the desktop wallet
 * (build/wallet-client/onepin-wallet, on this test's Xvfb and D-Bus session:
 * meson runs it under wallet-client/tests/gui-session.sh), its native host,
 * and Debian's Chromium with the extension loaded unpacked (--headless=new,
 * a persistent profile whose NativeMessagingHosts/ names the host). The
 * wallet is driven like a user drives it, over AT-SPI (lib/wallet-atspi.py):
 * create the vault, sign in, apply for the card, pair the browser (its code
 * compared with the extension's), approve purchases with the card password,
 * unlock. The browser is driven through its pages and the extension's popup.
 *
 * Then: fill and pay at each non-affiliated shop (the wallet's own Fill
 * Your Card confirms the site whatever the popup said, and its Always fill
 * lists it; a listed site fills on arrival and the wallet shows that it
 * did; the card network authorizes, the ledger shows it), an affiliated checkout approved in the
 * wallet (the mall gets the result and a signed webhook, the receipt reaches
 * the SMTP server), and the refusals: a locked wallet (at once, nothing
 * asked of its user), a lock while the wallet asks (the extension hears
 * "locked"), a site the user has not confirmed (a request claiming the
 * popup's confirmation and "remember" still asked, nothing listed), an http page, a
 * sandboxed frame, a tampered or replayed native message
 * (lib/tamper-host.py between Chromium and the host), and a purchase whose
 * amount or order differs from the mall's. Screenshots of
 * the pages and of the wallet's screen go to
 * BUILDDIR/meson-logs/artifacts/test-wallet-browser/.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import {
  artifacts, assert, assertEqual, auditBalanced, call, comment, expectOk, loadModules,
  onCleanup, onFailure, run, skipAll, startProcess, startSmtp, tempDir, test,
} from './lib/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const ROOT = path.resolve(here, '..', '..');
const EXTENSION = path.join(ROOT, 'wallet-client', 'extension');
const MALLS = path.join(ROOT, 'examples', 'malls');
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const MASTER = 'correct horse battery staple';
const LOGIN = 'browser.shopper';
const PASSWORD = 'gateway password 1';
const CARD_PASSWORD = '258013';
const EMAIL = 'shopper@wallet.example';
const SHOPS = {                  /* examples/malls/shops.py */
  plain: { name: 'Plain Shop', amount: 12000 },
  split: { name: 'Split Gear', amount: 23000 },
  react: { name: 'React Books', amount: 15500 },
  korean: { name: '한옥 찻집', amount: 8000 },
};

const env = {};

/* ---- what must be there ---------------------------------------------------- */

const modules = await loadModules();
for (const name of ['ONEPIN_GATEWAY', 'ONEPIN_BANK', 'ONEPIN_WALLET', 'ONEPIN_WALLET_HOST'])
  if (!process.env[name] || !fs.existsSync(process.env[name]))
    skipAll(`${name} is not built in this tree`);
if (!process.env.DISPLAY || !process.env.DBUS_SESSION_BUS_ADDRESS)
  skipAll('no X display or D-Bus session: run under wallet-client/tests/gui-session.sh');
const { launchWithExtension } = require('./lib/browser.cjs');
const staticServer = require('./lib/server.cjs');

fs.rmSync(artifacts, { recursive: true, force: true });
fs.mkdirSync(artifacts, { recursive: true });
comment('screenshots in ' + artifacts);

/* ---- small helpers ---------------------------------------------------------- */

let shots = 0;

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${String(++shots).padStart(2, '0')}-${name}.png`),
                          fullPage: true });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, fn, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value)
      return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

/* Whether the wallet still runs, or how it ended. */
function walletState() {
  const child = env.wallet;
  if (!child)
    return 'no wallet';
  if (child.exitCode === null && child.signalCode === null)
    return `the wallet (pid ${child.pid}) runs`;
  return `the wallet exited (${child.signalCode || child.exitCode})`;
}

function walletLog() {
  return fs.readFileSync(env.walletLog, 'utf8');
}

/* A failure's report ends with the wallet's state and its last words. */
onFailure(() => {
  const tail = env.walletLog ? walletLog().trimEnd().split('\n').slice(-8) : [];
  return [walletState() + '; its log ends:', ...tail.map((l) => '  ' + l)].join('\n');
});

/* How many times the wallet logged @line. */
function walletCount(line) {
  return walletLog().split('\n').filter((l) => l.includes(line)).length;
}

/* ---- the wallet over AT-SPI ---------------------------------------------- */

function startDriver(pid) {
  const child = spawn(PYTHON, [path.join(here, 'lib', 'wallet-atspi.py'), String(pid)],
                      { stdio: ['pipe', 'pipe', 'inherit'] });
  onCleanup(() => child.kill());
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  let gone = null;
  lines.on('line', (line) => waiting.shift()(JSON.parse(line)));
  /* A driver that died answers nothing more: every command waiting or to
   * come fails at once (with the wallet's state), rather than the test
   * hanging until meson's timeout. */
  child.on('exit', (code, signal) => {
    gone = { ok: false, error: `the AT-SPI driver exited (${signal || code}); ${walletState()}` };
    while (waiting.length > 0)
      waiting.shift()(gone);
  });
  const next = () => new Promise((resolve) => (gone ? resolve(gone) : waiting.push(resolve)));
  const ready = next();
  return ready.then(() => async (command) => {
    const answer = next();
    child.stdin.write(JSON.stringify(command) + '\n');
    const result = await answer;
    if (!result.ok)
      throw new Error(`wallet (AT-SPI) ${command.cmd}: ${result.error}`);
    return result;
  });
}

async function walletShot(name) {
  if (!env.fbdir)
    return;
  const png = path.join(artifacts, `${String(++shots).padStart(2, '0')}-wallet-${name}.png`);
  await sleep(300);     /* let it draw */
  await env.ui({ cmd: 'screenshot', xwd: path.join(env.fbdir, 'Xvfb_screen0'), png });
}

/* The wallet logs each change of its lock (the bridge's "the wallet is …"). */
async function unlockWallet() {
  const before = walletCount('bridge: the wallet is unlocked');
  await env.ui({ cmd: 'wait_button', window: 'onepin Wallet', button: 'Unlock', timeout: 20 });
  await env.ui({ cmd: 'set_text', window: 'onepin Wallet', near: 'Unlock', field: 'Master Password',
                 text: MASTER });
  await env.ui({ cmd: 'click', window: 'onepin Wallet', button: 'Unlock' });
  await until('the wallet to unlock', () => walletCount('bridge: the wallet is unlocked') > before);
}

async function lockWallet() {
  const before = walletCount('bridge: the wallet is locked');
  await env.ui({ cmd: 'click', window: 'onepin Wallet', button: 'Lock now' });
  await until('the wallet to lock', () => walletCount('bridge: the wallet is locked') > before);
}

/* The wallet's Fill Your Card for @origin: it names the site; the user
 * chooses Fill, with "Always fill on this site" when @always. */
async function allowInWallet(origin, always = false) {
  await env.ui({ cmd: 'wait_window', window: 'Fill Your Card', timeout: 20 });
  const { labels } = await env.ui({ cmd: 'labels', window: 'Fill Your Card' });
  assert(labels.includes(origin), `the wallet names ${origin}: ${labels.join(' | ')}`);
  if (always)
    await env.ui({ cmd: 'check', window: 'Fill Your Card', name: 'Always fill on this site',
                   mnemonic: 'a' });
  await env.ui({ cmd: 'click', window: 'Fill Your Card', button: 'Fill' });
  await env.ui({ cmd: 'wait_gone', window: 'Fill Your Card', timeout: 20 });
}

/* What the wallet shows when it gave the card to a listed site unasked. */
function filledNotice(origin) {
  return `Card filled on ${origin} by “Test Chromium”.`;
}

/* What the locked wallet says of a payment that finished meanwhile. */
const PAID_WHILE_LOCKED = 'A payment finished while the wallet was locked.';

/* Whether the wallet's window shows a label reading @text. */
async function walletLabel(text) {
  return (await env.ui({ cmd: 'labels', window: 'onepin Wallet' })).labels.includes(text);
}

/* ---- the processes -------------------------------------------------------- */

async function startBank(dir) {
  const { match } = await startProcess(
    [process.env.ONEPIN_BANK, '--data-dir', dir, '--listen', '127.0.0.1:0',
     '--issuer-url-file', path.join(dir, 'issuer.url')],
    { logPath: path.join(dir, 'bank.log'), ready: /listening on (http:\/\/127\.0\.0\.1:\d+)\n/ });
  return match[1];
}

async function startGateway(dir, bank, bankDir, smtp) {
  const config = path.join(dir, 'gateway.conf');
  fs.writeFileSync(config, '[limits]\nfailures_per_minute=10000\n[wallet]\npbkdf2_iterations=2000\n' +
                           '[webhooks]\nretry_base=1\npoll_interval=1\nallow_private=true\n' +
                           `[network]\nsecret_file=${bankDir}/network.secret\n` +
                           `[bank]\nurl=${bank}\napi_key_file=${bankDir}/api.key\n` +
                           `callback_secret_file=${bankDir}/callback.secret\n` + smtp.config);
  const { child, match } = await startProcess(
    [process.env.ONEPIN_GATEWAY, '--data-dir', dir, '--listen', '127.0.0.1:0', '--config', config],
    { logPath: path.join(dir, 'gateway.log'), ready: /listening on (http:\/\/127\.0\.0\.1:\d+)\n/ });
  /* the bank routes onepin's cards here */
  fs.writeFileSync(path.join(bankDir, 'issuer.url'), match[1] + '\n');
  return { url: match[1], dir, child,
           adminToken: fs.readFileSync(path.join(dir, 'admin.token'), 'utf8').trim() };
}

async function startMalls(dir, gateway, bank, bankDir) {
  const merchant = await expectOk(call(gateway, 'POST', '/v1/admin/merchants', {
    bearer: gateway.adminToken, body: { name: 'Onepin Tea House', category: 'shopping' } }),
                                  'merchant');
  fs.writeFileSync(path.join(dir, 'mall.key'), merchant.secret_key, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'mall.whsec'), merchant.webhook_secret, { mode: 0o600 });
  const mall = await startProcess(
    [PYTHON, '-u', path.join(MALLS, 'affiliated_mall.py'), '--gateway', gateway.url, '--key-file',
     path.join(dir, 'mall.key'), '--webhook-secret-file', path.join(dir, 'mall.whsec'),
     '--listen', '127.0.0.1:0'],
    { logPath: path.join(dir, 'mall.log'), ready: /listening on (http:\/\/\S+)/ });
  const shops = await startProcess(
    [PYTHON, '-u', path.join(MALLS, 'shops.py'), '--bank', bank, '--acquirer-key-file',
     path.join(bankDir, 'acquirer.key'), '--listen', '127.0.0.1:0'],
    { logPath: path.join(dir, 'shops.log'), ready: /listening on (http:\/\/\S+)/ });
  return { mall: mall.match[1], mallLog: path.join(dir, 'mall.log'), shops: shops.match[1],
           merchant };
}

/* The real wallet, with its settings in a keyfile of its own home. */
async function startWallet(home, runtime, gateway) {
  const settings = path.join(home, '.config', 'glib-2.0', 'settings');
  fs.mkdirSync(settings, { recursive: true });
  fs.writeFileSync(path.join(settings, 'keyfile'),
                   `[org/onepin/Wallet]\ngateway-url='${gateway.url}'\nidle-lock-seconds=0\n`);
  const log = path.join(home, 'wallet.log');
  const out = fs.openSync(log, 'w');
  const child = spawn(process.env.ONEPIN_WALLET, [], {
    stdio: ['ignore', out, out],
    env: Object.assign({}, process.env, {
      HOME: home, XDG_DATA_HOME: path.join(home, '.local', 'share'),
      XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_RUNTIME_DIR: runtime, GSETTINGS_BACKEND: 'keyfile', NO_AT_BRIDGE: '0',
      /* driven over AT-SPI: without it the wallet stays off that bus (ow-main.c) */
      GTK_A11Y: 'atspi',
      GSK_RENDERER: 'cairo', GDK_DEBUG: 'gl-disable', GDK_BACKEND: 'x11',
      LANGUAGE: 'en', LC_ALL: 'C.UTF-8',
    }),
  });
  fs.closeSync(out);
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(5000)]);
      child.kill('SIGKILL');
    }
    /* the wallet's own account of the run, for a failure's post-mortem */
    fs.mkdirSync(artifacts, { recursive: true });
    fs.copyFileSync(log, path.join(artifacts, 'wallet.log'));
  });
  env.wallet = child;
  env.walletLog = log;
  await until('the wallet to listen for browsers', () => walletLog().includes('bridge: listening on'));
  /* Unlocked, its memory opens the vault: it must leave no core dump (the
   * hard limit too, so nothing in it raises the soft one again). */
  const core = fs.readFileSync(`/proc/${child.pid}/limits`, 'utf8')
    .split('\n').find((line) => line.startsWith('Max core file size'));
  assert(/^Max core file size\s+0\s+0\s/.test(core ?? ''), `the wallet allows core dumps: ${core}`);
  return child;
}

async function startBrowser(runtime, tamperFile) {
  const manifest = JSON.parse(fs.readFileSync(
    path.join(path.dirname(process.env.ONEPIN_WALLET_HOST), 'org.onepin.wallet.chromium.json'), 'utf8'));
  const context = await launchWithExtension(EXTENSION, {
    args: ['--host-resolver-rules=MAP shops.test 127.0.0.1', '--window-size=1100,900'],
    env: Object.assign({}, process.env, {
      XDG_RUNTIME_DIR: runtime, ONEPIN_TAMPER_FILE: tamperFile,
    }),
    /* The profile's own host manifest: the tamper script, which runs the
     * built host unchanged unless told otherwise. */
    prepare: (profile) => {
      const dir = path.join(profile, 'NativeMessagingHosts');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'org.onepin.wallet.json'), JSON.stringify(
        Object.assign({}, manifest, { path: path.join(here, 'lib', 'tamper-host.py') })));
    },
  });
  onCleanup(() => context.close());
  const worker = context.serviceWorkers()[0] ||
                 await context.waitForEvent('serviceworker', { timeout: 15000 });
  return { context, worker, extensionId: new URL(worker.url()).host };
}

/* ---- the browser ------------------------------------------------------------- */

async function openPage(url) {
  const page = await env.context.newPage();
  await page.goto(url);
  return page;
}

async function tabIdOf(page) {
  await page.bringToFront();
  return env.worker.evaluate(async () =>
    (await chrome.tabs.query({ active: true, lastFocusedWindow: true }))[0].id);
}

async function openPopup(page) {
  const tabId = await tabIdOf(page);
  const popup = await env.context.newPage();
  await popup.goto(`chrome-extension://${env.extensionId}/popup.html?tab=${tabId}`);
  await popup.waitForFunction(() => document.getElementById('status').textContent !== '');
  return popup;
}

async function pressFill(popup, timeout = 30000) {
  await popup.click('#fill');
  await popup.waitForFunction(() => {
    const text = document.getElementById('result').textContent;
    return text && !text.includes('Asking');
  }, null, { timeout });
  return popup.textContent('#result');
}

async function payShop(page, name) {
  await page.click('button[type=submit]');
  await page.waitForFunction(() => /Approved|Declined/.test(document.getElementById('result').textContent),
                             null, { timeout: 20000 });
  await shot(page, `${name}-paid`);
  return page.textContent('#result');
}

function values(page, selectors) {
  return page.evaluate((s) => s.map((q) => document.querySelector(q).value), selectors);
}

/* Any 2xx answer (the wallet API creates with 201). */
async function done(promise, what) {
  const r = await promise;
  if (r.status < 200 || r.status > 299)
    throw new Error(`${what}: HTTP ${r.status} ${r.text}`);
  return r.json;
}

/* The card as the wallet user sees it through the API. */
function walletCard() {
  return expectOk(call(env.gateway, 'GET', '/v1/wallet/card', { bearer: env.token }), 'wallet card');
}

/* ---- setup -------------------------------------------------------------------- */

{
  const bankDir = tempDir('onepin-wb-bank-');
  const gwDir = tempDir('onepin-wb-gw-');
  const mallDir = tempDir('onepin-wb-malls-');
  const home = tempDir('onepin-wb-home-');
  const runtime = tempDir('onepin-wb-run-');
  fs.chmodSync(runtime, 0o700);
  env.runtime = runtime;
  env.fbdir = process.env.ONEPIN_XVFB_FBDIR;
  env.tamperFile = path.join(tempDir('onepin-wb-tamper-'), 'mode');

  const bank = await startBank(bankDir);
  const smtp = await startSmtp();
  env.smtp = smtp;
  env.gateway = await startGateway(gwDir, bank, bankDir, smtp);
  Object.assign(env, await startMalls(mallDir, env.gateway, bank, bankDir));

  /* The shopper's account exists; the wallet signs in to it. */
  await done(call(env.gateway, 'POST', '/v1/wallet/users', { key: false, body: {
    login_id: LOGIN, password: PASSWORD, name: 'Hong Gildong', email: EMAIL } }), 'register');
  env.token = (await done(call(env.gateway, 'POST', '/v1/wallet/sessions', { key: false,
    body: { login_id: LOGIN, password: PASSWORD } }), 'sign in')).token;

  env.wallet = await startWallet(home, runtime, env.gateway);
  env.ui = await startDriver(env.wallet.pid);
  Object.assign(env, await startBrowser(runtime, env.tamperFile));
  env.pages = await staticServer.start({ '/pages/': path.join(here, 'pages'),
                                         '/forms/': path.join(here, 'forms') });
  onCleanup(() => staticServer.stop(env.pages));
}

/* ---- the tests ---------------------------------------------------------------- */

test('a new user sets the wallet up: vault, sign-in, the representative card', async () => {
  const W = 'onepin Wallet';
  await env.ui({ cmd: 'wait_button', window: W, button: 'Create Wallet', timeout: 30 });
  await env.ui({ cmd: 'set_text', window: W, near: 'Create Wallet', field: 'Master Password', text: MASTER });
  await env.ui({ cmd: 'set_text', window: W, near: 'Create Wallet', field: 'Confirm Master Password',
                 text: MASTER });
  await env.ui({ cmd: 'click', window: W, button: 'Create Wallet' });

  await env.ui({ cmd: 'wait_button', window: W, button: 'Sign In', timeout: 30 });
  await env.ui({ cmd: 'set_text', window: W, near: 'Sign In', field: 'Login ID', text: LOGIN });
  await env.ui({ cmd: 'set_text', window: W, near: 'Sign In', field: 'Password', text: PASSWORD });
  await env.ui({ cmd: 'click', window: W, button: 'Sign In' });

  await env.ui({ cmd: 'click', window: W, button: 'Apply for Card', timeout: 30 });
  await env.ui({ cmd: 'wait_window', window: 'Apply for Card' });
  await env.ui({ cmd: 'set_text', window: 'Apply for Card', field: 'Card Password', text: CARD_PASSWORD });
  await env.ui({ cmd: 'set_text', window: 'Apply for Card', field: 'Confirm Card Password',
                 text: CARD_PASSWORD });
  await env.ui({ cmd: 'click', window: 'Apply for Card', button: 'Apply' });
  await env.ui({ cmd: 'wait_gone', window: 'Apply for Card', timeout: 30 });
  await env.ui({ cmd: 'wait_button', window: W, button: 'Charge', timeout: 30 });

  /* 100,000 won on the card, from a credit card, as the wallet's Charge would */
  const source = await done(call(env.gateway, 'POST', '/v1/wallet/funding-sources', {
    bearer: env.token, body: { type: 'credit_card',
                               credit_card: { number: '4242424242424242', expiry: '12/30', holder: 'H G' } } }),
                                'funding source');
  await done(call(env.gateway, 'POST', '/v1/wallet/charges', { bearer: env.token, body: {
    funding_source_id: source.id, amount: 100000, cvc: '123' } }), 'charge');
  env.card = await walletCard();
  assertEqual(env.card.balance, 100000, 'the balance');
  await walletShot('card');
});

test('pairing: the popup and the wallet show the same code; the user names the browser', async () => {
  const page = await openPage(`${env.shops}/plain`);
  const popup = await openPopup(page);
  assert(/not paired/.test(await popup.textContent('#pairing')), 'the popup says it is not paired');
  await popup.click('#pair');
  await popup.waitForSelector('#code:not([hidden])', { timeout: 15000 });
  const code = await popup.textContent('#code');
  await env.ui({ cmd: 'wait_window', window: 'Pair a Browser', timeout: 15 });
  const { labels } = await env.ui({ cmd: 'labels', window: 'Pair a Browser' });
  assert(labels.includes(code), `the wallet shows ${code}: ${labels.join(' | ')}`);
  await shot(popup, 'popup-pairing-code');
  await env.ui({ cmd: 'set_text', window: 'Pair a Browser', field: 'Browser Name', text: 'Test Chromium' });
  await walletShot('pairing');
  await env.ui({ cmd: 'click', window: 'Pair a Browser', button: 'Pair' });
  await popup.waitForFunction(() => /Paired/.test(document.getElementById('pairing').textContent),
                              null, { timeout: 15000 });
  assert(/“Test Chromium”/.test(await popup.textContent('#pairing')), 'named as in the wallet');
  await shot(popup, 'popup-paired');
  await popup.close();
  await page.close();
});

test('plain shop: the popup asks, the wallet confirms the site, paid through the card network', async () => {
  const page = await openPage(`${env.shops}/plain`);
  const popup = await openPopup(page);
  const result = pressFill(popup);
  await walletShot('fill-your-card');
  await allowInWallet(new URL(env.shops).origin);
  assert(/Filled \d+ fields/.test(await result), 'filled');
  await popup.close();
  const [name, number, expiry, cvc] = await values(page, ['#cc-name', '#cc-number', '#cc-exp', '#cc-csc']);
  assertEqual(name, 'Hong Gildong', 'the name on the card');
  assert(number.replace(/\D/g, '').endsWith(env.card.card_last4), 'the card number');
  assert(/^\d\d ?\/ ?\d\d(\d\d)?$/.test(expiry), 'the expiry: ' + expiry);
  assert(/^\d{3,4}$/.test(cvc), 'the CVC');
  await shot(page, 'plain-filled');
  assert(/Approved/.test(await payShop(page, 'plain')), 'approved');
  await page.close();
});

test('split shop: four number fields and <select> expiry; the wallet remembers the site', async () => {
  const page = await openPage(`${env.shops}/split`);
  const popup = await openPopup(page);
  const result = pressFill(popup);
  await allowInWallet(new URL(env.shops).origin, true);
  assert(/Filled \d+ fields/.test(await result), 'filled');
  await popup.close();
  const filled = await values(page, ['#card1', '#card2', '#card3', '#card4', '#exp-month', '#exp-year', '#security']);
  assertEqual(filled.slice(0, 4).join('').slice(-4), env.card.card_last4, 'the split number');
  assertEqual(Number(filled[4]), env.card.exp_month, 'the month');
  assertEqual(Number(filled[5]), env.card.exp_year, 'the year');
  await shot(page, 'split-filled');
  assert(/Approved/.test(await payShop(page, 'split')), 'approved');
  await page.close();
});

/* A site on the wallet's list is filled with no dialog, and the wallet
 * shows that it was: whoever holds the browser's key could claim it. */
test('React-style and Korean shops: filled on arrival (a remembered site), the wallet shows it, paid', async () => {
  const origin = new URL(env.shops).origin;
  /* Toasts queue, one at a time, and under Xvfb the one showing (the
   * pairing's) does not go by itself: the lock takes it. */
  await lockWallet();
  await unlockWallet();
  await env.ui({ cmd: 'wait_button', window: 'onepin Wallet', button: 'Charge', timeout: 30 });
  for (const [shop, fields] of [['react', ['#cardNumberInput', '#expiryInput', '#cvcInput', '#holderName']],
                                ['korean', ['#cardno', '#mm', '#yy', '#cvc', '#owner']]]) {
    const notices = walletCount('browser: filled a listed site without asking');
    const page = await openPage(`${env.shops}/${shop}`);
    await page.waitForFunction((q) => document.querySelector(q).value !== '', fields[0], { timeout: 20000 });
    assertEqual(walletCount('browser: filled a listed site without asking'), notices + 1, 'the notice');
    if (shop === 'react') {
      await until('the wallet’s notice', () => walletLabel(filledNotice(origin)));
      await walletShot('filled-notice');
    }
    const filled = await values(page, fields);
    assert(filled.every((v) => v !== ''), `${shop}: every field filled: ${filled.map((v) => v.length)}`);
    await shot(page, `${shop}-filled`);
    assert(/Approved/.test(await payShop(page, shop)), `${shop} approved`);
    await page.close();
  }
});

test('the ledger shows the four payments on the representative card', async () => {
  const card = await walletCard();
  const spent = Object.values(SHOPS).reduce((n, s) => n + s.amount, 0);
  assertEqual(card.balance, 100000 - spent, 'the balance');
  const history = await expectOk(call(env.gateway, 'GET', '/v1/wallet/history?limit=20', { bearer: env.token }),
                                 'history');
  for (const shop of Object.values(SHOPS))
    assert(history.data.some((t) => t.type === 'payment' && t.amount === -shop.amount &&
                                    t.merchant && t.merchant.name === shop.name),
           `a payment of ${shop.amount} at ${shop.name}: ` + JSON.stringify(history.data));
  await auditBalanced(env.gateway);
  env.balance = card.balance;
});

/* An order at the affiliated mall: its checkout page. */
async function checkoutPage(product) {
  const page = await openPage(env.mall);
  await page.click(`tr:has-text("${product}") button`);
  await page.waitForSelector('#onepin-pay');
  const purchase = JSON.parse(await page.textContent('#onepin-checkout'));
  return { page, purchase };
}

async function approveInWallet(expect) {
  await env.ui({ cmd: 'wait_window', window: 'Approve Purchase', timeout: 20 });
  const { labels } = await env.ui({ cmd: 'labels', window: 'Approve Purchase' });
  for (const text of expect)
    assert(labels.some((l) => l.includes(text)), `the approval shows ${text}: ${labels.join(' | ')}`);
  await env.ui({ cmd: 'set_text', window: 'Approve Purchase', field: 'Card Password', text: CARD_PASSWORD });
  return labels;
}

test('affiliated mall: approved in the wallet; the mall gets the result, a signed webhook, a receipt', async () => {
  const { page, purchase } = await checkoutPage('Celadon tea cup');
  await shot(page, 'mall-checkout');
  await page.click('#onepin-pay');
  await page.waitForSelector('[data-onepin-status]');
  await approveInWallet(['Onepin Tea House', '9,000', purchase.order_id, 'Celadon tea cup',
                         'Forwarded by Test Chromium']);
  await walletShot('approval');
  await env.ui({ cmd: 'click', window: 'Approve Purchase', button: 'Approve' });

  /* The page goes back to the mall, which asks the gateway and has the webhook. */
  await page.waitForURL(/\/orders\//, { timeout: 20000 });
  await until('the mall to receive the webhook', async () => {
    await page.reload();
    return /checkout\.session\.completed/.test(await page.textContent('#events'));
  });
  assert(/Paid/.test(await page.textContent('#order-state')), 'the mall shows the order paid');
  await shot(page, 'mall-order-paid');
  assert(!/bad signature/.test(fs.readFileSync(env.mallLog, 'utf8')), 'every webhook verified');

  const card = await walletCard();
  assertEqual(card.balance, env.balance - 9000, 'the balance');
  env.balance = card.balance;
  const mail = await env.smtp.waitFor(EMAIL, (m) => /9,000/.test(m.text || m.body || JSON.stringify(m)));
  assert(/Onepin Tea House/.test(JSON.stringify(mail)), 'the receipt names the mall');
  await walletShot('paid');
  await page.close();
});

/* No approval dialog was shown (none is open, and the wallet logged none). */
async function assertNoApproval(before, what) {
  const { windows } = await env.ui({ cmd: 'windows' });
  assert(!windows.includes('Approve Purchase'), `${what}: no approval dialog`);
  assertEqual(walletCount('browser: asking to approve a purchase'), before, `${what}: nothing asked`);
}

test('amount or order changed on the page: the wallet refuses before asking, nothing is charged', async () => {
  for (const [what, change] of [['amount', (p) => Object.assign(p, { amount: 400 })],
                                ['order', (p) => Object.assign(p, { order_id: p.order_id + '-X' })]]) {
    const { page, purchase } = await checkoutPage('제주 녹차');
    const changed = change(Object.assign({}, purchase));
    const asked = walletCount('browser: asking to approve a purchase');
    await page.evaluate((json) => {
      document.getElementById('onepin-checkout').textContent = json;
    }, JSON.stringify(changed));
    await page.click('#onepin-pay');
    await page.waitForSelector('[data-onepin-error]', { timeout: 20000 });
    await assertNoApproval(asked, what);
    assertEqual(await page.getAttribute('[data-onepin-status]', 'data-onepin-error'), 'mismatch',
                `${what}: the page's error`);
    assert(/does not match/.test(await page.textContent('[data-onepin-status]')), 'said on the page');
    await shot(page, `mismatch-${what}`);
    const order = await (await fetch(`${env.mall}/orders/${purchase.order_id}.json`)).json();
    assertEqual(order.status, 'open', `${what}: the mall's session stays open`);
    await page.close();
  }
  assertEqual((await walletCard()).balance, env.balance, 'nothing charged');
});

/* Another site relays the mall's checkout (its JSON is in the buyer's page)
 * to have a visitor pay for the relayer's order. */
test('the mall’s checkout relayed from another site: the wallet refuses, nothing is charged', async () => {
  const { page: mall, purchase } = await checkoutPage('제주 녹차');
  const markup = await mall.evaluate(() => ({
    script: document.getElementById('onepin-checkout').outerHTML,
    button: document.getElementById('onepin-pay').outerHTML,
  }));
  const relay = await openPage(env.shops);
  await relay.evaluate((m) => { document.body.innerHTML = m.script + m.button; }, markup);
  const asked = walletCount('browser: asking to approve a purchase');
  await relay.click('#onepin-pay');
  await relay.waitForSelector('[data-onepin-error]', { timeout: 20000 });
  assertEqual(await relay.getAttribute('[data-onepin-status]', 'data-onepin-error'), 'wrong_origin',
              'the relaying page’s error');
  await assertNoApproval(asked, 'relay');
  await shot(relay, 'relay-refused');
  const order = await (await fetch(`${env.mall}/orders/${purchase.order_id}.json`)).json();
  assertEqual(order.status, 'open', 'the mall’s session stays open');
  assertEqual((await walletCard()).balance, env.balance, 'nothing charged');
  await relay.close();
  await mall.close();
});

/* A lock while an approved payment is on its way to the gateway: the lock
 * takes the browser's key and the extension hears "locked" (its connection
 * is gone), but the payment is not the browser's to abort. It runs to its
 * end, the wallet says so (a toast that names nothing while locked, the
 * details after the unlock, and its history) and the card is charged once.
 * The gateway is stopped (SIGSTOP) while the wallet sends it the payment, so
 * the request is surely in flight at the lock. */
test('locked while an approved payment is on its way: it completes and the wallet reports it', async () => {
  const { page, purchase } = await checkoutPage('Celadon tea cup');
  await page.click('#onepin-pay');
  await page.waitForSelector('[data-onepin-status]');
  await approveInWallet(['Onepin Tea House', purchase.order_id]);
  const paid = walletCount('browser: paid an affiliated mall');
  env.gateway.child.kill('SIGSTOP');
  try {
    await env.ui({ cmd: 'click', window: 'Approve Purchase', button: 'Approve' });
    await env.ui({ cmd: 'wait_gone', window: 'Approve Purchase', timeout: 20 });
    await sleep(1000);     /* the request leaves for the stopped gateway */
    await lockWallet();
  } finally {
    env.gateway.child.kill('SIGCONT');
  }
  await page.waitForSelector('[data-onepin-error]', { timeout: 20000 });
  assertEqual(await page.getAttribute('[data-onepin-status]', 'data-onepin-error'), 'locked',
              'the page hears the lock');
  await until('the wallet to report the payment',
              () => walletCount('browser: paid an affiliated mall') > paid);
  const { labels } = await env.ui({ cmd: 'labels', window: 'onepin Wallet' });
  assert(!labels.some((l) => /Onepin Tea House|9,000/.test(l)),
         `the locked wallet names neither the mall nor the sum: ${labels.join(' | ')}`);
  await until('the neutral toast', () => walletLabel(PAID_WHILE_LOCKED));
  await walletShot('paid-while-locked');
  assertEqual((await walletCard()).balance, env.balance - 9000, 'charged once');
  env.balance -= 9000;
  const order = await (await fetch(`${env.mall}/orders/${purchase.order_id}.json`)).json();
  assertEqual(order.status, 'complete', 'the mall has its payment');
  await unlockWallet();
  await until('the details after the unlock', () => walletLabel('Paid ₩9,000 to Onepin Tea House.'));
  await env.ui({ cmd: 'wait_button', window: 'onepin Wallet', button: 'Charge', timeout: 30 });
  await page.close();
});

/* Locked, the wallet cannot tell the extension's messages from anyone's:
 * it refuses them at once and asks nothing of its user. */
test('a locked wallet: refused at once, nothing asked; filled once the user unlocks', async () => {
  await lockWallet();
  /* the remembered shop asks by itself */
  const refused = walletCount('bridge: refused a message: locked');
  const page = await openPage(`${env.shops}/plain`);
  await until('the request to be refused', () => walletCount('bridge: refused a message: locked') > refused);
  await walletShot('locked');
  const popup = await openPopup(page);
  const started = Date.now();
  assert(/Unlock your onepin wallet/.test(await pressFill(popup)), 'asked to unlock');
  assert(Date.now() - started < 10000, 'refused without waiting for an unlock');
  await shot(popup, 'popup-locked');
  assert((await values(page, ['#cc-number', '#cc-csc'])).every((v) => v === ''), 'nothing filled');

  /* nothing was held: the unlock fills nothing by itself, a new request does */
  await unlockWallet();
  await env.ui({ cmd: 'wait_button', window: 'onepin Wallet', button: 'Charge', timeout: 30 });
  await sleep(1500);
  assert((await values(page, ['#cc-number', '#cc-csc'])).every((v) => v === ''), 'nothing filled by the unlock');
  assert(/Filled \d+ fields/.test(await pressFill(popup)), 'filled when asked again');
  await page.waitForFunction(() => document.querySelector('#cc-csc').value !== '', null, { timeout: 20000 });
  await popup.close();
  await page.close();
});

test('a site the user has not confirmed: nothing asked, and the wallet asks before it fills', async () => {
  /* the same shop under another origin: not remembered anywhere */
  const requests = walletCount('bridge: request card.request');
  const page = await openPage(`${env.shops.replace('127.0.0.1', 'localhost')}/plain`);
  await sleep(1500);
  assertEqual(walletCount('bridge: request card.request'), requests, 'no request for an unconfirmed site');
  assert((await values(page, ['#cc-number'])).every((v) => v === ''), 'nothing filled');

  /* a request claiming the site is remembered: the wallet asks its user */
  const tabId = await tabIdOf(page);
  const origin = new URL(page.url()).origin;
  const answer = env.worker.evaluate(([id, o]) => fillTab(id, o, 'remembered'), [tabId, origin]);
  await env.ui({ cmd: 'wait_window', window: 'Fill Your Card', timeout: 20 });
  const { labels } = await env.ui({ cmd: 'labels', window: 'Fill Your Card' });
  assert(labels.includes(origin), `the wallet names ${origin}: ${labels.join(' | ')}`);
  await walletShot('site-confirmation');
  await env.ui({ cmd: 'click', window: 'Fill Your Card', button: 'Don’t Fill' });
  assertEqual((await answer).error, 'denied', 'the extension hears no');
  assert((await values(page, ['#cc-number', '#cc-csc'])).every((v) => v === ''), 'nothing filled');

  /* What any process that read the key from the profile can sign: "the
   * user pressed the popup's button, remember the site". The wallet asks
   * all the same; a yes without "Always fill" lists nothing, so the next
   * such request is asked again. */
  const claim = { type: 'card.request', origin, fields: ['cc-number', 'cc-csc'], confirmed: 'popup',
                  remember: true };
  let claimed = env.worker.evaluate((c) => OnePinChannel.request(c, 60000), claim);
  await allowInWallet(origin);
  const given = await claimed;
  assert(given.card && given.card.number, 'the card, once the user said yes in the wallet');
  assertEqual(given.remembered, false, 'the site is not on the wallet’s list');
  claimed = env.worker.evaluate((c) => OnePinChannel.request(c, 60000), claim);
  await env.ui({ cmd: 'wait_window', window: 'Fill Your Card', timeout: 20 });
  await env.ui({ cmd: 'click', window: 'Fill Your Card', button: 'Don’t Fill' });
  assertEqual((await claimed).error, 'denied', 'asked again, and no');
  await page.close();
});

/* A lock while the wallet asks its user: the question goes with every key
 * the wallet held for the browser, and the extension hears "locked" at once
 * (not a "no" from the user); the next request after the unlock is served. */
test('locked while the wallet asks about a site: the extension hears "locked", the question goes', async () => {
  const page = await openPage(`${env.shops.replace('127.0.0.1', 'localhost')}/plain`);
  const tabId = await tabIdOf(page);
  const origin = new URL(page.url()).origin;
  const answer = env.worker.evaluate(([id, o]) => fillTab(id, o, 'remembered'), [tabId, origin]);
  await env.ui({ cmd: 'wait_window', window: 'Fill Your Card', timeout: 20 });
  const refused = walletCount('bridge: refused a message: locked');
  await lockWallet();
  assertEqual((await answer).error, 'locked', 'the extension hears the lock');
  assert(walletCount('bridge: refused a message: locked') > refused, 'the wallet refused the open request');
  await env.ui({ cmd: 'wait_gone', window: 'Fill Your Card', timeout: 20 });
  assert((await values(page, ['#cc-number', '#cc-csc'])).every((v) => v === ''), 'nothing filled');

  await unlockWallet();
  await env.ui({ cmd: 'wait_button', window: 'onepin Wallet', button: 'Charge', timeout: 30 });
  const again = env.worker.evaluate(([id, o]) => fillTab(id, o, 'remembered'), [tabId, origin]);
  await env.ui({ cmd: 'wait_window', window: 'Fill Your Card', timeout: 20 });
  await env.ui({ cmd: 'click', window: 'Fill Your Card', button: 'Don’t Fill' });
  assertEqual((await again).error, 'denied', 'served again after the unlock');
  await page.close();
});

test('an http page that is not this computer: no fields read, no request', async () => {
  const requests = walletCount('bridge: request');
  const page = await openPage(`${env.shops.replace('127.0.0.1', 'shops.test')}/plain`);
  const popup = await openPopup(page);
  assert(/only secure/.test(await popup.textContent('#status')), 'the popup refuses');
  assertEqual(await popup.isDisabled('#fill'), true, 'no fill button');
  await shot(popup, 'popup-http');
  assertEqual(walletCount('bridge: request'), requests, 'the wallet heard nothing');
  await popup.close();
  await page.close();
});

test('a sandboxed frame: not filled, the wallet not asked', async () => {
  const requests = walletCount('bridge: request');
  const page = await openPage(`http://127.0.0.1:${env.pages.port}/pages/sandboxed-shop.html`);
  const popup = await openPopup(page);
  await popup.waitForFunction(() => /frame onepin does not fill/.test(document.getElementById('status').textContent),
                              null, { timeout: 10000 });
  assertEqual(await popup.isDisabled('#fill'), true, 'no fill button');
  const tabId = await tabIdOf(page);
  const forced = await env.worker.evaluate(([id, o]) => fillTab(id, o, 'popup'),
                                           [tabId, `http://127.0.0.1:${env.pages.port}`]);
  assertEqual(forced.error, 'no_fields', 'nothing to fill');
  const frame = page.frame({ name: 'sandboxed' });
  assertEqual(await frame.evaluate(() => document.querySelector('[name=n1]').value), '', 'the frame is empty');
  assertEqual(walletCount('bridge: request'), requests, 'the wallet heard nothing');
  await shot(popup, 'popup-sandboxed');
  await popup.close();
  await page.close();
});

test('a native message tampered with or replayed on its way: refused, nothing done', async () => {
  const refused = walletCount('bridge: refused a message: bad_mac');
  try {
    /* the body changed, the MAC kept (a site not remembered: one request, the popup's) */
    const unremembered = `${env.shops.replace('127.0.0.1', 'localhost')}/plain`;
    fs.writeFileSync(env.tamperFile, 'tamper');
    let page = await openPage(unremembered);
    let popup = await openPopup(page);
    assert(/altered/.test(await pressFill(popup)), 'the popup says it was altered');
    assert((await values(page, ['#cc-number'])).every((v) => v === ''), 'nothing filled');
    await shot(popup, 'popup-tampered');
    await popup.close();
    await page.close();

    /* a purchase's amount changed on the pipe */
    const { page: mall } = await checkoutPage('제주 녹차');
    await mall.click('#onepin-pay');
    await mall.waitForSelector('[data-onepin-error]', { timeout: 20000 });
    assertEqual(await mall.getAttribute('[data-onepin-status]', 'data-onepin-error'), 'bad_mac', 'refused');
    await mall.close();

    /* a request recorded, then sent again on a later connection */
    fs.writeFileSync(env.tamperFile, 'record');
    page = await openPage(unremembered);
    popup = await openPopup(page);
    const result = pressFill(popup);
    await allowInWallet(new URL(unremembered).origin);
    assert(/Filled/.test(await result), 'passed unchanged while recorded');
    await popup.close();
    await page.close();
    fs.writeFileSync(env.tamperFile, 'replay');
    page = await openPage(unremembered);
    popup = await openPopup(page);
    assert(/altered/.test(await pressFill(popup)), 'the replay is refused');
    assert((await values(page, ['#cc-number'])).every((v) => v === ''), 'nothing filled');
    await popup.close();
    await page.close();
  } finally {
    fs.rmSync(env.tamperFile, { force: true });
  }
  assertEqual(walletCount('bridge: refused a message: bad_mac'), refused + 3, 'the wallet refused three');
  assertEqual((await walletCard()).balance, env.balance, 'nothing charged');
  await auditBalanced(env.gateway);
});

test('no secret in the wallet\'s log or the browser\'s pages\' URLs', async () => {
  const log = walletLog();
  for (const secret of [MASTER, CARD_PASSWORD, PASSWORD])
    assert(!log.includes(secret), 'a secret in the wallet log');
  assert(!/\b9410\d{12}\b/.test(log), 'a card number in the wallet log');
});

/* Under ASan this is also the wallet's leak check: LeakSanitizer runs at its
 * exit, and a leak makes the status other than 0 (SIGABRT with .ci/test's
 * abort_on_error=1). The AT-SPI driver keeps away from the GTK 4.8 leak it
 * could set off (lib/wallet-atspi.py, toggle). */
test('the wallet quits on SIGTERM, locked, and takes its socket with it', async () => {
  const socket = path.join(env.runtime, 'onepin-wallet.sock');
  assert(fs.existsSync(socket), 'the socket is there while it runs');
  assertEqual(fs.statSync(socket).mode & 0o777, 0o600, 'the socket\'s mode');
  assert(env.wallet.exitCode === null && env.wallet.signalCode === null, walletState());
  const exited = new Promise((resolve) => env.wallet.once('exit', (code, signal) => resolve(code ?? signal)));
  env.wallet.kill('SIGTERM');
  assertEqual(await exited, 0, 'the exit status');
  assert(!fs.existsSync(socket), 'the socket is gone');
});

await run();
