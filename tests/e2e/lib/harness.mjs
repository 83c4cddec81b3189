/* harness.mjs: what every browser test of the site shares
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * TAP output for meson, the real onepin-gateway on 127.0.0.1:0 with a
 * temporary data dir, headless Debian Chromium driven by playwright-core,
 * axe-core on every page, screenshots kept as artifacts, and cleanup of
 * everything started, whatever happens.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname (fileURLToPath (import.meta.url));
const require = createRequire (path.join (here, '..', 'package.json'));

/* ---- TAP ---------------------------------------------------------------- */

const tests = [];
const failureNotes = [];

/* A test that neither passes nor fails within this long fails, and the run
 * stops there (what it left running would act on the next tests), so that
 * one stuck await costs the run a report, not meson's timeout and every
 * result. Well under each file's meson timeout (120 s at least); the
 * slowest test takes a few seconds. */
const TEST_TIMEOUT_MS = 60000;
let running = null;     /* the test under way: its number and name */

export function test (name, fn, { timeoutMs = TEST_TIMEOUT_MS } = {}) {
  tests.push ({ name, fn, timeoutMs });
}

/* @fn () returns what a failure's report should add: the state of the
 * processes a test file drives, say. */
export function onFailure (fn) {
  failureNotes.push (fn);
}

export function comment (text) {
  for (const line of String (text).split ('\n'))
    process.stdout.write ('# ' + line + '\n');
}

export function skipAll (reason) {
  process.stdout.write ('1..0 # SKIP ' + reason + '\n');
  process.exit (0);
}

/* The npm packages, or a skip that says how to get them. */
export async function loadModules () {
  let playwright;
  let axePath;
  try {
    playwright = require ('playwright-core');
    axePath = require.resolve ('axe-core/axe.min.js');
  } catch (e) {
    skipAll ('playwright-core and axe-core are not installed: run `npm ci` in tests/e2e (.ci/npm-setup)');
  }
  const chromium = process.env.ONEPIN_CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync (chromium))
    skipAll (chromium + ' is missing: apt-get install chromium');
  return { playwright, axeSource: fs.readFileSync (axePath, 'utf8'), chromium };
}

class TimedOut extends Error {}

function withTimeout (promise, ms) {
  let timer;
  const late = new Promise ((resolve, reject) => {
    timer = setTimeout (() => reject (new TimedOut (`the test took longer than ${ms} ms`)), ms);
  });
  return Promise.race ([promise, late]).finally (() => clearTimeout (timer));
}

async function failureText (err) {
  let text = err && err.stack ? err.stack : String (err);
  for (const fn of failureNotes) {
    try {
      text += '\n' + await fn ();
    } catch (e) {
      text += '\nfailure note: ' + e;
    }
  }
  return text;
}

/* A failure goes to stderr too: meson prints a TAP test's stderr, not its
 * stdout, with --print-errorlogs, and CI shows nothing else. */
async function reportFailure (n, name, err) {
  const text = await failureText (err);
  process.stdout.write (`not ok ${n} ${name}\n`);
  comment (text);
  process.stderr.write (`not ok ${n} ${name}\n${text}\n`);
}

export async function run () {
  process.stdout.write ('1..' + tests.length + '\n');
  let failed = 0;
  let n = 0;
  let stopped = null;
  for (const { name, fn, timeoutMs } of tests) {
    n++;
    if (stopped) {
      failed++;
      process.stdout.write (`not ok ${n} ${name} # not run: ${stopped}\n`);
      continue;
    }
    running = { n, name };
    const started = Date.now ();
    try {
      await withTimeout (fn (), timeoutMs);
      process.stdout.write (`ok ${n} ${name} # ${Date.now () - started} ms\n`);
    } catch (err) {
      failed++;
      await reportFailure (n, name, err);
      if (err instanceof TimedOut)
        stopped = `test ${n} timed out`;
    }
  }
  running = null;
  await cleanup ();
  process.exit (failed ? 1 : 0);
}

/* ---- Assertions --------------------------------------------------------- */

export function assert (condition, message) {
  if (!condition)
    throw new Error ('assertion failed: ' + message);
}

export function assertEqual (actual, expected, message) {
  if (actual !== expected)
    throw new Error (`${message}: expected ${JSON.stringify (expected)}, got ${JSON.stringify (actual)}`);
}

/* ---- Processes ---------------------------------------------------------- */

const children = new Set ();
const tempDirs = new Set ();
const closers = [];

export function onCleanup (fn) {
  closers.push (fn);
}

async function cleanup () {
  for (const fn of closers.splice (0).reverse ()) {
    try {
      await fn ();
    } catch (err) {
      comment ('cleanup: ' + err);
    }
  }
  for (const child of children)
    child.kill ('SIGKILL');
  for (const dir of tempDirs)
    fs.rmSync (dir, { recursive: true, force: true });
}

process.on ('exit', () => {
  for (const child of children)
    child.kill ('SIGKILL');
  for (const dir of tempDirs)
    fs.rmSync (dir, { recursive: true, force: true });
});
/* A failure outside a test (starting the processes, say) stops the run. */
process.on ('uncaughtException', (err) => {
  process.stdout.write ('Bail out! ' + String (err.message).split ('\n')[0] + '\n');
  comment (err.stack || String (err));
  process.stderr.write ('Bail out! ' + (err.stack || String (err)) + '\n');
  cleanup ().finally (() => process.exit (1));
});
/* Meson's timeout: say on stderr which test it stopped, and its state. */
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on (signal, async () => {
    const where = running ? ` during test ${running.n} (${running.name})` : '';
    const text = await failureText (new Error ('stopped by ' + signal + where));
    comment (text);
    process.stderr.write (text + '\n');
    cleanup ().finally (() => process.exit (1));
  });
}

export function tempDir (prefix) {
  const dir = fs.mkdtempSync (path.join (os.tmpdir (), prefix));
  tempDirs.add (dir);
  return dir;
}

/* Spawns @argv[0] with its output in @logPath, resolving when a line of its
 * output matches @ready (the match is returned). */
export async function startProcess (argv, { logPath, ready, env, timeoutMs = 20000 }) {
  const log = fs.openSync (logPath, 'a');
  const child = spawn (argv[0], argv.slice (1), {
    stdio: ['ignore', 'pipe', log],
    env: Object.assign ({}, process.env, env || {}),
  });
  children.add (child);
  child.on ('exit', () => children.delete (child));
  let buffered = '';
  const match = await new Promise ((resolve, reject) => {
    const timer = setTimeout (() => reject (new Error (`${argv[0]} not ready after ${timeoutMs} ms; see ${logPath}`)),
                              timeoutMs);
    child.stdout.on ('data', (chunk) => {
      fs.appendFileSync (logPath, chunk);
      buffered += chunk.toString ();
      const m = buffered.match (ready);
      if (m) {
        clearTimeout (timer);
        resolve (m);
      }
    });
    child.on ('exit', (code, signal) => {
      clearTimeout (timer);
      const tail = fs.readFileSync (logPath, 'utf8').slice (-2000);
      reject (new Error (`${argv[0]} exited (${code ?? signal}) before it was ready:\n${tail}`));
    });
  });
  child.stdout.removeAllListeners ('data');
  child.stdout.on ('data', (chunk) => fs.appendFileSync (logPath, chunk));
  fs.closeSync (log);
  return { child, match };
}

/* SIGTERM, then the exit status, which must be 0. */
export async function stopProcess (child, name) {
  if (child.exitCode !== null || child.signalCode !== null)
    throw new Error (`${name} had already exited (${child.exitCode ?? child.signalCode})`);
  child.kill ('SIGTERM');
  const [code, signal] = await once (child, 'exit');
  if (code !== 0)
    throw new Error (`${name} exited with ${code ?? signal} on SIGTERM`);
}

/* The real gateway, on loopback with a temporary data dir. */
export async function startGateway (extraConfig) {
  const binary = process.env.ONEPIN_GATEWAY;
  assert (binary && fs.existsSync (binary), 'ONEPIN_GATEWAY names the gateway binary (run through meson test)');
  const dir = tempDir ('onepin-e2e-gw-');
  const config = path.join (dir, 'gateway.conf');
  fs.writeFileSync (config, '# written by tests/e2e\n[limits]\nfailures_per_minute=10000\n' +
                            (extraConfig || '') + '\n');
  const logPath = path.join (dir, 'gateway.log');
  const { child, match } = await startProcess (
    [binary, '--data-dir', dir, '--listen', '127.0.0.1:0', '--config', config],
    { logPath, ready: /listening on (http:\/\/127\.0\.0\.1:\d+)\n/ });
  const gateway = {
    url: match[1],
    dir,
    logPath,
    adminToken: fs.readFileSync (path.join (dir, 'admin.token'), 'utf8').trim (),
    stopped: false,
    async stop () {
      if (gateway.stopped)
        return;
      gateway.stopped = true;
      await stopProcess (child, 'onepin-gateway');
    },
  };
  onCleanup (() => gateway.stop ());
  comment (`gateway ${gateway.url}, data dir ${dir}`);
  return gateway;
}

/* The real onepin-bank, the sandbox card company and bank. Its reply to
 * the slow test card comes after @slowSeconds: past the gateway's timeout. */
export async function startBank ({ slowSeconds = 4 } = {}) {
  const binary = process.env.ONEPIN_BANK;
  if (!binary || !fs.existsSync (binary))
    skipAll ('onepin-bank is not built in this tree (ONEPIN_BANK)');
  const dir = tempDir ('onepin-e2e-bank-');
  const logPath = path.join (dir, 'bank.log');
  const { child, match } = await startProcess (
    [binary, '--data-dir', dir, '--listen', '127.0.0.1:0', '--slow-seconds', String (slowSeconds)],
    { logPath, ready: /listening on (http:\/\/127\.0\.0\.1:\d+)\n/ });
  const bank = {
    url: match[1],
    dir,
    logPath,
    stopped: false,
    /* The [bank] group of the gateway's config. */
    config: `[bank]\nurl=${match[1]}\napi_key_file=${path.join (dir, 'api.key')}\n` +
            `callback_secret_file=${path.join (dir, 'callback.secret')}\n` +
            'callback_url=/v1/bank/callbacks/deposit\ntimeout=2\n',
    /* The customer pays a virtual account at their bank. */
    async deposit (account, amount, depositor) {
      const r = await fetch (`${bank.url}/v1/virtual-accounts/${account}/deposit`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify ({ amount, depositor }) });
      assertEqual (r.status, 200, 'deposit: ' + await r.text ());
    },
    async account (number) {
      const key = fs.readFileSync (path.join (dir, 'api.key'), 'utf8').trim ();
      const r = await fetch (`${bank.url}/v1/accounts/${number}`, { headers: { Authorization: 'Bearer ' + key } });
      assertEqual (r.status, 200, 'bank account');
      return r.json ();
    },
    async stop () {
      if (bank.stopped)
        return;
      bank.stopped = true;
      await stopProcess (child, 'onepin-bank');
    },
  };
  onCleanup (() => bank.stop ());
  comment (`onepin-bank ${bank.url}, data dir ${dir}`);
  return bank;
}

/* Debian's Python, which has python3-aiosmtpd, whatever else is on PATH. */
const PYTHON = fs.existsSync ('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/* A real SMTP server (aiosmtpd, tests/lib/onepin-smtp-server.py) writing
 * what it accepts to a maildir; messages are read back with Python's email
 * package (tests/lib/onepin-mail-json.py). */
export async function startSmtp () {
  const server = process.env.ONEPIN_SMTP_SERVER;
  const reader = process.env.ONEPIN_MAIL_JSON;
  if (!server || !fs.existsSync (server) || !reader || !fs.existsSync (reader))
    skipAll ('the SMTP test server is not in this tree (ONEPIN_SMTP_SERVER, ONEPIN_MAIL_JSON)');
  const dir = tempDir ('onepin-e2e-smtp-');
  const maildir = path.join (dir, 'mail');
  const logPath = path.join (dir, 'smtp.log');
  const { child, match } = await startProcess ([PYTHON, server, '--maildir', maildir],
                                               { logPath, ready: /ready (\d+)/ });
  const smtp = {
    port: Number (match[1]),
    maildir,
    stopped: false,
    config: `[smtp]\nurl=smtp://127.0.0.1:${match[1]}\nfrom=receipts@onepin.test\nstarttls=none\n` +
            '[outbox]\nretry_initial=1\nretry_max=2\npoll_interval=1\n',
    messages () {
      const dirNew = path.join (maildir, 'new');
      const files = fs.existsSync (dirNew) ? fs.readdirSync (dirNew).sort ().map ((f) => path.join (dirNew, f)) : [];
      if (files.length === 0)
        return [];
      const out = execFileSync (PYTHON, [reader, ...files], { encoding: 'utf8' });
      return JSON.parse (out);
    },
    /* The first message to @to that @match accepts, waiting up to @ms. */
    async waitFor (to, match = () => true, ms = 30000) {
      const deadline = Date.now () + ms;
      for (;;) {
        const found = smtp.messages ().filter ((m) => (m.to || '').includes (to) && match (m));
        if (found.length)
          return found[0];
        if (Date.now () > deadline)
          throw new Error (`no e-mail to ${to} after ${ms} ms; got: ` +
                           smtp.messages ().map ((m) => `${m.to}: ${m.subject}`).join ('; '));
        await new Promise ((resolve) => setTimeout (resolve, 250));
      }
    },
    async stop () {
      if (smtp.stopped)
        return;
      smtp.stopped = true;
      child.kill ('SIGTERM');
      await once (child, 'exit');
    },
  };
  onCleanup (() => smtp.stop ());
  comment (`SMTP server on port ${smtp.port}, maildir ${maildir}`);
  return smtp;
}

/* ---- HTTP from the test itself (admin and merchant API) ----------------- */

let keyCounter = 0;

export async function call (gateway, method, route, { body, bearer, key } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (bearer)
    headers.Authorization = 'Bearer ' + bearer;
  if (key !== false && method === 'POST')
    headers['Idempotency-Key'] = key || `e2e-${process.pid}-${++keyCounter}`;
  const response = await fetch (gateway.url + route, {
    method, headers, body: body === undefined ? undefined : JSON.stringify (body),
  });
  const text = await response.text ();
  let json = null;
  try {
    json = JSON.parse (text);
  } catch (e) {
    json = null;
  }
  return { status: response.status, json, text };
}

export async function expectOk (promise, what) {
  const r = await promise;
  if (r.status !== 200)
    throw new Error (`${what}: HTTP ${r.status} ${r.text}`);
  return r.json;
}

export async function issueCards (gateway, count, value) {
  const batch = await expectOk (call (gateway, 'POST', '/v1/admin/card_batches',
                                      { bearer: gateway.adminToken, body: { count, value, currency: 'krw', channel: 'online' } }),
                                'issue cards');
  return batch.cards;
}

export async function createMerchant (gateway, name) {
  return expectOk (call (gateway, 'POST', '/v1/admin/merchants',
                         { bearer: gateway.adminToken, body: { name, category: 'shopping' } }),
                   'create merchant');
}

export async function auditBalanced (gateway) {
  const audit = await expectOk (call (gateway, 'GET', '/v1/admin/audit', { bearer: gateway.adminToken }),
                                'audit');
  assert (audit.balanced === true, 'the ledger audit balances: ' + JSON.stringify (audit));
}

/* ---- The browser -------------------------------------------------------- */

/* Screenshots go to $ONEPIN_ARTIFACTS/<test script>/, emptied first. */
export const artifacts = path.join (process.env.ONEPIN_ARTIFACTS ||
                                    path.join (os.tmpdir (), 'onepin-e2e-artifacts'),
                                    path.basename (process.argv[1], '.mjs'));

export async function launchBrowser (modules) {
  const browser = await modules.playwright.chromium.launch ({
    executablePath: modules.chromium,
    headless: true,
    args: ['--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
  });
  onCleanup (() => browser.close ());
  fs.rmSync (artifacts, { recursive: true, force: true });
  fs.mkdirSync (artifacts, { recursive: true });
  comment ('screenshots in ' + artifacts);
  return browser;
}

export const PHONE = { width: 375, height: 740 };
export const DESKTOP = { width: 1200, height: 900 };

/* A page whose console errors, uncaught exceptions, CSP violations and
 * failed loads are collected; page.problems () returns and clears them. */
export async function newPage (browser, { locale = 'en-US', viewport = DESKTOP } = {}) {
  const context = await browser.newContext ({ locale, viewport, serviceWorkers: 'block' });
  return watchPage (await context.newPage ());
}

/* Collects what a page logs or fails to load, for assertNoProblems (). */
export function watchPage (page) {
  const problems = [];
  page.on ('console', (msg) => {
    if (msg.type () === 'error' || msg.type () === 'warning')
      problems.push (`console ${msg.type ()}: ${msg.text ()}`);
  });
  page.on ('pageerror', (err) => problems.push ('uncaught: ' + err.message));
  page.on ('requestfailed', (req) => {
    const failure = req.failure ();
    if (failure && failure.errorText !== 'net::ERR_ABORTED')
      problems.push (`request failed: ${req.url ()} ${failure.errorText}`);
  });
  page.problems = () => problems.splice (0);
  page.expectedProblems = (pattern) => {
    const kept = problems.filter ((p) => !pattern.test (p));
    problems.splice (0, problems.length, ...kept);
  };
  return page;
}

export function assertNoProblems (page, where) {
  const problems = page.problems ();
  if (problems.length)
    throw new Error (`${where}: ${problems.join ('; ')}`);
}

let shot = 0;

export async function screenshot (page, name) {
  const file = path.join (artifacts, `${String (++shot).padStart (2, '0')}-${name}.png`);
  await page.screenshot ({ path: file, fullPage: true });
  return file;
}

/* axe-core with the WCAG 2.x A and AA rules and best practices: no serious
 * or critical violation is allowed. It is evaluated through the DevTools
 * protocol, so the page's Content-Security-Policy stays in force. */
export async function checkAxe (page, modules, where) {
  const present = await page.evaluate (() => typeof window.axe !== 'undefined');
  if (!present)
    await page.evaluate (modules.axeSource);
  const result = await page.evaluate (() => window.axe.run (document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    resultTypes: ['violations'],
  }));
  const bad = result.violations.filter ((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of result.violations.filter ((x) => !bad.includes (x)))
    comment (`axe (${v.impact}) on ${where}: ${v.id}: ${v.help}`);
  if (bad.length)
    throw new Error (`axe on ${where}: ` + bad.map ((v) =>
      `${v.impact} ${v.id} (${v.help}) at ${v.nodes.map ((n) => n.target.join (' ')).slice (0, 5).join (', ')}`).join ('; '));
}

/* Every check a page gets whenever a test reaches a new screen. */
export async function checkScreen (page, modules, name) {
  await screenshot (page, name);
  await checkAxe (page, modules, name);
  assertNoProblems (page, name);
}

/* Everything a journey needs: the npm modules, onepin-bank, the SMTP
 * server, the gateway connected to both, and the browser. */
export async function startAll () {
  const modules = await loadModules ();
  const bank = await startBank ();
  const smtp = await startSmtp ();
  const gateway = await startGateway (bank.config + smtp.config);
  const browser = await launchBrowser (modules);
  return { modules, bank, smtp, gateway, browser };
}
