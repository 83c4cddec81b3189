/* test-pages.mjs: every page of the site in a real browser
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each page renders without a script error or a CSP violation, in English
 * and in Korean, on a desktop and a phone, passes axe-core, and links only
 * to what exists. Then the language switch, the forms' checks and their
 * announced errors, and the card-holder pages against the real API:
 * register, inquiry, password — with no card number or password left in
 * the URL, in storage, or in the page once the visitor leaves.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DESKTOP, PHONE, assert, assertEqual, assertNoProblems, auditBalanced, call, checkAxe,
  checkScreen, createMerchant, expectOk, issueCards, launchBrowser, loadModules, newPage, run,
  screenshot, startGateway, test,
} from './lib/harness.mjs';

const here = path.dirname (fileURLToPath (import.meta.url));
const siteDir = path.join (here, '..', '..', 'gateway-server', 'site');
const PAGES = fs.readFileSync (path.join (siteDir, 'site.gresource.xml'), 'utf8')
  .match (/<file>([^<]+\.html)<\/file>/g)
  .map ((f) => f.replace (/<\/?file>/g, ''))
  .filter ((f) => f !== '404.html')
  .map ((f) => '/' + f.replace (/\.html$/, '').replace (/^index$/, ''));

const modules = await loadModules ();
const gateway = await startGateway ();
const browser = await launchBrowser (modules);

async function open (route, options) {
  const page = await newPage (browser, options);
  const response = await page.goto (gateway.url + route);
  assertEqual (response.status (), 200, 'GET ' + route);
  await page.waitForLoadState ('load');
  return page;
}

async function structure (page, route) {
  const facts = await page.evaluate (() => ({
    lang: document.documentElement.lang,
    h1: document.querySelectorAll ('h1').length,
    main: document.querySelectorAll ('main').length,
    nav: document.querySelectorAll ('header nav').length,
    title: document.title,
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    getForms: [...document.forms].filter ((f) => f.getAttribute ('method') !== 'post').map ((f) => f.id),
  }));
  /* A form sent before its script runs must not put its fields in a URL. */
  assertEqual (facts.getForms.join (','), '', route + ': every form posts');
  assertEqual (facts.h1, 1, route + ': one h1');
  assertEqual (facts.main, 1, route + ': one main landmark');
  assertEqual (facts.nav, 1, route + ': a navigation landmark');
  assert (facts.title.includes ('onepin'), route + ': a title');
  assert (facts.overflow <= 0, `${route}: no sideways scrolling (${facts.overflow}px too wide)`);
  return facts;
}

test ('every page renders and passes axe in English on a desktop', async () => {
  for (const route of PAGES) {
    const page = await open (route, { locale: 'en-US', viewport: DESKTOP });
    const facts = await structure (page, route);
    assertEqual (facts.lang, 'en', route + ': lang');
    await checkScreen (page, modules, 'en-desktop' + (route === '/' ? '-index' : route.replace (/\//g, '-')));
    await page.context ().close ();
  }
});

test ('every page renders and passes axe in Korean on a phone', async () => {
  for (const route of PAGES) {
    const page = await open (route, { locale: 'ko-KR', viewport: PHONE });
    const facts = await structure (page, route);
    assertEqual (facts.lang, 'ko', route + ': lang from Accept-Language');
    const english = await page.evaluate (() =>
      [...document.querySelectorAll ('[data-i18n]')].filter ((el) =>
        el.textContent !== '' && el.textContent === window.ONEPIN_STRINGS.en[el.dataset.i18n] &&
        window.ONEPIN_STRINGS.ko[el.dataset.i18n] !== el.textContent).map ((el) => el.dataset.i18n));
    assertEqual (english.length, 0, route + ': no English left: ' + english.join (', '));
    await checkScreen (page, modules, 'ko-phone' + (route === '/' ? '-index' : route.replace (/\//g, '-')));
    await page.context ().close ();
  }
});

test ('both languages have the same strings, and every key a page uses exists', async () => {
  const page = await open ('/');
  const diff = await page.evaluate (() => {
    const { en, ko } = window.ONEPIN_STRINGS;
    return { onlyEn: Object.keys (en).filter ((k) => !(k in ko)),
             onlyKo: Object.keys (ko).filter ((k) => !(k in en)),
             empty: Object.entries (ko).concat (Object.entries (en)).filter (([, v]) => !v).map (([k]) => k) };
  });
  assertEqual (diff.onlyEn.join (','), '', 'keys only in English');
  assertEqual (diff.onlyKo.join (','), '', 'keys only in Korean');
  assertEqual (diff.empty.join (','), '', 'empty strings');
  await page.context ().close ();
});

test ('every link and asset of every page exists', async () => {
  const seen = new Set ();
  for (const route of PAGES) {
    const page = await open (route);
    const urls = await page.evaluate (() =>
      [...document.querySelectorAll ('a[href], link[href], script[src], img[src]')]
        .map ((el) => el.href || el.src)
        .filter ((u) => u.startsWith (location.origin)));
    for (const url of urls) {
      const clean = url.split ('#')[0];
      if (seen.has (clean))
        continue;
      seen.add (clean);
      const r = await fetch (clean);
      assertEqual (r.status, 200, `${route} links to ${clean}`);
    }
    await page.context ().close ();
  }
  assert (seen.size > 20, 'links found: ' + seen.size);
});

test ('the 404 page is a page of the site', async () => {
  const page = await newPage (browser);
  const response = await page.goto (gateway.url + '/no-such-page');
  assertEqual (response.status (), 404, 'status');
  page.expectedProblems (/404 \(Not Found\)/);
  assertEqual (await page.textContent ('h1'), 'Page not found', 'heading');
  await checkScreen (page, modules, 'not-found');
  await page.context ().close ();
});

test ('the language switch changes every text and is remembered', async () => {
  const page = await open ('/buy', { locale: 'en-US' });
  assertEqual (await page.textContent ('h1'), 'Buy onepin cards', 'English heading');
  await page.fill ('#qty-5000', '3');
  assertEqual (await page.textContent ('#order-total'), 'Total: 3 cards, 15,000 won', 'English total');
  const button = page.locator ('.lang-switch');
  assertEqual (await button.textContent (), '한국어', 'switch names the other language');
  assertEqual (await button.getAttribute ('lang'), 'ko', 'switch is marked as Korean');
  await button.click ();
  assertEqual (await page.getAttribute ('html', 'lang'), 'ko', 'html lang');
  assertEqual (await page.textContent ('h1'), 'onepin 카드 구입', 'Korean heading');
  assertEqual (await page.title (), '카드 구입 — onepin', 'Korean title');
  assertEqual (await page.textContent ('#order-total'), '합계: 3매, 15,000원', 'Korean total, redrawn');
  assertEqual (await page.textContent ('label[for="qty-5000"]'), '5,000원권', 'Korean denomination');
  await checkScreen (page, modules, 'language-switched');
  /* The choice holds on the next page, whatever the browser's language. */
  await page.click ('a[href="/recharge"]');
  await page.waitForURL (/\/recharge$/);
  assertEqual (await page.textContent ('h1'), '카드 충전', 'Korean on the next page');
  const stored = await page.evaluate (() => Object.keys (localStorage));
  assertEqual (stored.join (','), 'onepin.lang', 'only the language is stored');
  await page.locator ('.lang-switch').click ();
  assertEqual (await page.textContent ('h1'), 'Recharge a card', 'back to English');
  await page.context ().close ();
});

test ('the keyboard reaches the skip link first, and it leads to the main content', async () => {
  const page = await open ('/inquiry');
  await page.keyboard.press ('Tab');
  assertEqual (await page.evaluate (() => document.activeElement.className), 'skip', 'first Tab');
  await page.keyboard.press ('Enter');
  assertEqual (await page.evaluate (() => document.activeElement.id), 'main', 'skip link target');
  await page.context ().close ();
});

test ('the order sheet checks quantities, limits and the buyer, and announces errors', async () => {
  const page = await open ('/buy');
  await page.click ('#order-form button[type="submit"]');
  const alert = page.locator ('#order-form .form-error');
  assert ((await alert.textContent ()).startsWith ('Please correct'), 'summary in the alert');
  assertEqual (await alert.getAttribute ('role'), 'alert', 'the summary is announced');
  assertEqual (await page.textContent ('#lines-error'), 'Please choose at least one card.', 'no cards');
  assertEqual (await page.getAttribute ('#buyer-name', 'aria-invalid'), 'true', 'name marked');
  assertEqual (await page.textContent ('#buyer-name-error'), 'Please fill this in.', 'name message');
  assertEqual (await page.evaluate (() => document.activeElement.id), 'qty-5000', 'focus on the first');
  await checkScreen (page, modules, 'order-errors');

  await page.fill ('#qty-100000', '11');                       /* 1,100,000 won */
  await page.click ('#order-form button[type="submit"]');
  const limit = await page.textContent ('#lines-error');
  assert (limit.includes ('1,000,000 won') && limit.includes ('customer service'), 'amount limit: ' + limit);
  assert ((await page.textContent ('#order-form')).includes ('center@onepin.example'), 'contact address');
  await page.fill ('#qty-100000', '');
  await page.fill ('#qty-5000', '99');
  await page.fill ('#qty-10000', '2');                         /* 101 cards, 515,000 won */
  await page.click ('#order-form button[type="submit"]');
  assert ((await page.textContent ('#lines-error')).includes ('100 cards'), 'card limit');
  await page.fill ('#qty-5000', '100');
  await page.fill ('#qty-10000', '');
  await page.click ('#order-form button[type="submit"]');
  assertEqual (await page.textContent ('#qty-5000-error'), 'Please enter a quantity from 1 to 99.', 'quantity range');
  await page.fill ('#qty-5000', '3');
  await page.fill ('#qty-30000', '2');
  assertEqual (await page.textContent ('#total-amount'), '75,000 won', 'total of FIG. 10B');
  await page.fill ('#buyer-phone', 'call me');
  await page.fill ('#buyer-email', 'not-an-address');
  await page.fill ('#buyer-postal', '123');
  await page.click ('#order-form button[type="submit"]');
  assertEqual (await page.textContent ('#lines-error'), '', 'lines now fine');
  assert ((await page.textContent ('#buyer-phone-error')).includes ('010-1234-5678'), 'phone format');
  assert ((await page.textContent ('#buyer-email-error')).includes ('e-mail'), 'e-mail format');
  assertEqual (await page.textContent ('#buyer-postal-error'), 'A postal code has 5 digits.', 'postal code');
  const asked = await page.evaluate (() => document.body.innerHTML.toLowerCase ());
  assert (!/name="(rrn|resident|jumin)/.test (asked), 'no resident registration number field');
  await page.context ().close ();
});

test ('registration: a wrong number and mismatched passwords are caught in the page', async () => {
  const page = await open ('/register', { locale: 'ko-KR', viewport: PHONE });
  await page.fill ('#reg-number', '1234 5678 9012 3456');
  await page.fill ('#reg-password', 'abcd1234');
  await page.fill ('#reg-confirm', 'abcd1235');
  await page.click ('#register-form button[type="submit"]');
  assertEqual (await page.textContent ('#reg-number-error'),
               '카드번호가 맞지 않습니다. 잘못 입력한 숫자가 없는지 확인해 주십시오.', 'Luhn');
  assertEqual (await page.textContent ('#reg-confirm-error'), '두 비밀번호가 같지 않습니다.', 'mismatch');
  assertEqual (await page.textContent ('#register-form .form-error'), '아래 표시된 2개 항목을 고쳐 주십시오.', 'summary');
  await checkScreen (page, modules, 'register-errors-ko');
  /* A number of another length is told its length, not a mistyped digit. */
  await page.fill ('#reg-number', '1234 5678 9012 345');
  await page.click ('#register-form button[type="submit"]');
  assertEqual (await page.textContent ('#reg-number-error'), '카드번호는 16자리입니다. 다시 확인해 주십시오.', 'length');
  await page.context ().close ();
});

/* No card number or password in the URL, in storage, or (after leaving) in
 * the page; the history entry is checked on the way back. */
async function assertNoSecrets (page, secrets, where) {
  const state = await page.evaluate (() => ({
    url: location.href,
    local: JSON.stringify (Object.assign ({}, localStorage)),
    session: JSON.stringify (Object.assign ({}, sessionStorage)),
    cookie: document.cookie,
  }));
  for (const secret of secrets)
    for (const [name, value] of Object.entries (state))
      assert (!value.includes (secret), `${where}: a secret in ${name}`);
}

test ('register, inquire and change the password against the real gateway', async () => {
  const [card] = await issueCards (gateway, 1, 30000);
  const spaced = card.number.replace (/(\d{4})(?=\d)/g, '$1 ');
  const page = await open ('/register');
  await page.fill ('#reg-number', spaced);
  await page.fill ('#reg-password', 'first pass');
  await page.fill ('#reg-confirm', 'first pass');
  await page.fill ('#reg-hint', 'the first one');
  await page.click ('#register-form button[type="submit"]');
  await page.waitForSelector ('#registered:not([hidden])');
  assert ((await page.textContent ('#registered-text')).includes (card.number.slice (-4)), 'last four shown');
  assertEqual (await page.evaluate (() => document.activeElement.id), 'registered-heading', 'focus on the result');
  await checkScreen (page, modules, 'registered');
  await assertNoSecrets (page, [card.number, 'first pass'], 'after registering');

  /* Registering twice gets the API's refusal, in words. */
  await page.goto (gateway.url + '/register');
  await page.fill ('#reg-number', card.number);
  await page.fill ('#reg-password', 'other pass');
  await page.fill ('#reg-confirm', 'other pass');
  await page.click ('#register-form button[type="submit"]');
  await page.waitForFunction (() => document.querySelector ('#register-form .form-error').textContent !== '');
  page.expectedProblems (/409 \(Conflict\)/);
  assert ((await page.textContent ('#register-form .form-error')).includes ('already has a password'), 'already registered');

  /* A merchant charges the card through the merchant API. */
  const merchant = await createMerchant (gateway, 'Flower Land');
  await expectOk (call (gateway, 'POST', '/v1/payments', {
    bearer: merchant.secret_key,
    body: { card_number: card.number, password: 'first pass', amount: 5000, currency: 'krw',
            order_id: 'flowers-1', description: 'Flower delivery', capture: true } }), 'payment');

  await page.goto (gateway.url + '/inquiry');
  await page.fill ('#iq-number', card.number);
  await page.fill ('#iq-password', 'wrong pass');
  await page.click ('#inquiry-form button[type="submit"]');
  await page.waitForFunction (() => document.querySelector ('#inquiry-form .form-error').textContent !== '');
  page.expectedProblems (/402 \(Payment Required\)/);
  assertEqual (await page.textContent ('#inquiry-form .form-error'), 'The card number or password is incorrect.', 'wrong password');
  await page.fill ('#iq-password', 'first pass');
  await page.click ('#inquiry-form button[type="submit"]');
  await page.waitForSelector ('#summary:not([hidden])');
  const summary = await page.textContent ('#summary-rows');
  assert (summary.includes ('+30,000 won'), 'initial amount: ' + summary);
  assert (summary.includes ('−5,000 won'), 'internet payments: ' + summary);
  assert (summary.includes ('25,000 won'), 'balance: ' + summary);
  await checkScreen (page, modules, 'inquiry-summary');
  await page.click ('#show-details');
  const details = await page.textContent ('#detail-rows');
  assert (details.includes ('Flower Land') && details.includes ('−5,000 won'), 'the shop and amount: ' + details);
  assert (details.includes ('Card issued') && details.includes ('+30,000 won'), 'the issue line: ' + details);
  await checkScreen (page, modules, 'inquiry-details');
  await assertNoSecrets (page, [card.number, 'first pass'], 'after the inquiry');

  await page.goto (gateway.url + '/password');
  await page.fill ('#pw-number', card.number);
  await page.fill ('#pw-password', 'first pass');
  await page.fill ('#pw-new-password', 'second pass');
  await page.fill ('#pw-confirm', 'second pass');
  await page.click ('#password-form button[type="submit"]');
  await page.waitForFunction (() => document.querySelector ('#password-form .form-ok').textContent !== '');
  assert ((await page.textContent ('#password-form .form-ok')).includes (card.number.slice (-4)), 'changed');
  assertEqual (await page.inputValue ('#pw-number'), '', 'form cleared');
  const balance = await call (gateway, 'POST', '/v1/cards/balance', { body: { number: card.number, password: 'second pass' } });
  assertEqual (balance.status, 200, 'the new password works');
  assertNoProblems (page, 'password change');
  await page.context ().close ();
  await auditBalanced (gateway);
});

test ('a Korean hint of 100 characters registers; the API refusal of a longer one is shown on the field', async () => {
  const [card, other] = await issueCards (gateway, 2, 10000);
  const page = await open ('/register', { locale: 'ko-KR' });
  const hint = '할머니생신'.repeat (20);
  assertEqual (hint.length, 100, 'a hundred characters');

  /* A page without the maxlength (an old page, a script): the API says why. */
  await page.evaluate (() => document.getElementById ('reg-hint').removeAttribute ('maxlength'));
  await page.fill ('#reg-number', other.number);
  await page.fill ('#reg-password', 'hint pass');
  await page.fill ('#reg-confirm', 'hint pass');
  await page.fill ('#reg-hint', hint + '!');
  await page.click ('#register-form button[type="submit"]');
  await page.waitForFunction (() => document.getElementById ('reg-hint-error').textContent !== '');
  page.expectedProblems (/400 \(Bad Request\)/);
  assertEqual (await page.textContent ('#reg-hint-error'), '힌트는 100자까지 입력할 수 있습니다.', 'the field says the limit');
  assertEqual (await page.getAttribute ('#reg-hint', 'aria-invalid'), 'true', 'the field is marked');

  await page.goto (gateway.url + '/register');
  await page.fill ('#reg-number', card.number);
  await page.fill ('#reg-password', 'hint pass');
  await page.fill ('#reg-confirm', 'hint pass');
  await page.fill ('#reg-hint', hint);
  await page.click ('#register-form button[type="submit"]');
  await page.waitForSelector ('#registered:not([hidden])');
  await page.context ().close ();
});

test ('the inquiry and password pages offer to e-mail the password hint, by the number alone', async () => {
  const [card] = await issueCards (gateway, 1, 10000);
  await expectOk (call (gateway, 'POST', '/v1/cards/register',
                        { key: false, body: { number: card.number, password: 'hint pass', hint: 'the usual' } }), 'register');
  for (const [route, prefix] of [['/inquiry', 'iq'], ['/password', 'pw']]) {
    const page = await open (route);
    await page.click ('.send-hint');
    assertEqual (await page.textContent ('#' + prefix + '-number-error'), 'Please fill this in.', route + ': the number first');
    await page.fill ('#' + prefix + '-number', card.number);
    await page.click ('.send-hint');
    await page.waitForFunction (() => document.querySelector ('.hint-status').textContent !== '');
    const status = await page.textContent ('.hint-status');
    assert (status.includes ('on its way') && !status.includes ('the usual'), route + ': ' + status);
    await checkScreen (page, modules, 'hint-sent-' + prefix);
    await assertNoSecrets (page, [card.number], route + ' after asking for the hint');
    await page.context ().close ();
  }
});

test ('user information: read, change and read back, in Korean', async () => {
  const [card] = await issueCards (gateway, 1, 10000);
  await expectOk (call (gateway, 'POST', '/v1/cards/register',
                        { key: false, body: { number: card.number, password: 'profile pass' } }), 'register');
  const page = await open ('/profile', { locale: 'ko-KR', viewport: PHONE });
  await page.fill ('#pf-number', card.number);
  await page.fill ('#pf-password', 'profile pass');
  await page.click ('#card-form button[type="submit"]');
  await page.waitForSelector ('#step-profile:not([hidden])');
  assert ((await page.textContent ('#pf-heading')).includes (card.number.slice (-4)), 'the card');
  assertEqual (await page.inputValue ('#pf-name'), '', 'nothing yet');
  await page.fill ('#pf-name', '홍길동');
  await page.fill ('#pf-phone', '010-2222-3333');
  await page.fill ('#pf-email', 'hong@example.com');
  await page.check ('input[name="receipts"][value="email"]');
  await page.check ('input[name="locale"][value="ko"]');
  await checkScreen (page, modules, 'profile-ko');
  await page.click ('#profile-form button[type="submit"]');
  await page.waitForFunction (() => document.querySelector ('#profile-form .form-ok').textContent !== '');
  assert ((await page.textContent ('#profile-form .form-ok')).includes (card.number.slice (-4)), 'saved');
  const stored = await expectOk (call (gateway, 'POST', '/v1/cards/profile',
                                       { key: false, body: { number: card.number, password: 'profile pass' } }), 'profile');
  assertEqual (stored.name, '홍길동', 'name');
  assertEqual (stored.email, 'hong@example.com', 'e-mail');
  assertEqual (stored.receipts, 'email', 'receipts');
  /* An e-mail receipt needs an address: the API's refusal lands on the field. */
  await page.fill ('#pf-email', '');
  await page.click ('#profile-form button[type="submit"]');
  await page.waitForFunction (() => document.querySelector ('#profile-form .form-error').textContent !== '');
  page.expectedProblems (/400 \(Bad Request\)/);
  assertEqual (await page.getAttribute ('#profile-form fieldset', 'aria-invalid'), 'true', 'receipts marked');
  await assertNoSecrets (page, [card.number, 'profile pass'], 'the profile page');
  await page.context ().close ();
});

test ('a card number typed into a form is gone when the visitor comes back', async () => {
  const page = await open ('/inquiry');
  await page.fill ('#iq-number', '9410 0000 0000 0000');
  await page.fill ('#iq-password', 'typed secret');
  await page.goto (gateway.url + '/');
  await page.goBack ();
  await page.waitForLoadState ('load');
  assertEqual (await page.inputValue ('#iq-number'), '', 'number wiped');
  assertEqual (await page.inputValue ('#iq-password'), '', 'password wiped');
  await page.context ().close ();
});

test ('the claim page takes its token from the fragment and removes it at once', async () => {
  const page = await open ('/claim#token=AbCdEfGhIjKlMnOpQrStUv');
  assertEqual (new URL (page.url ()).hash, '', 'no fragment left in the address');
  /* An unknown token: the preview says so, and nothing can be opened. */
  await page.waitForFunction (() => document.getElementById ('claim-error').textContent !== '');
  page.expectedProblems (/40[04] \((Not Found|Bad Request)\)/);
  assert ((await page.textContent ('#claim-error')).includes ('not valid'), 'unknown token');
  assertEqual (await page.isVisible ('#claim-open'), false, 'nothing to open');
  assertNoProblems (page, 'claim with an unknown token');
  await page.goto (gateway.url + '/claim');
  assert ((await page.textContent ('#claim-error')).includes ('incomplete'), 'no token: ' + await page.textContent ('#claim-error'));
  assertEqual (await page.isVisible ('#claim-open'), false, 'nothing to open');
  await checkAxe (page, modules, 'claim without a token');
  await screenshot (page, 'claim-no-token');
  await page.context ().close ();
});

await run ();
