/* test-hosted-checkout.mjs: a shopper pays an affiliated mall's checkout
 * on the gateway's hosted page, and the first answer is lost
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The real gateway on loopback and headless Chromium. The mall opens a
 * checkout session; the shopper types a wrong password (refused), then the
 * right one, and the browser loses the answer: the gateway paid, the page
 * saw a network error. Paying again sends the same request under the same
 * Idempotency-Key, so the page learns it was paid (not "already paid"),
 * the card is charged once, and the browser goes back to the mall with
 * the session's id in the address.
 */
import {
  assert, assertEqual, auditBalanced, call, checkScreen, createMerchant, expectOk,
  issueCards, launchBrowser, loadModules, newPage, run, startGateway, test,
} from './lib/harness.mjs';

const modules = await loadModules ();
const gateway = await startGateway ();
const browser = await launchBrowser (modules);

test ('a payment whose answer was lost is settled by paying again', async () => {
  const merchant = await createMerchant (gateway, 'Hosted Tea Shop');
  const [card] = await issueCards (gateway, 1, 30000);
  await expectOk (call (gateway, 'POST', '/v1/cards/register',
                        { body: { number: card.number, password: '2580' } }), 'register');
  const back = `${gateway.url}/back-at-the-mall?session={CHECKOUT_SESSION_ID}`;
  const session = await expectOk (call (gateway, 'POST', '/v1/checkout_sessions', {
    bearer: merchant.secret_key,
    body: { order_id: 'T-1', amount: 12000, currency: 'krw', success_url: back },
  }), 'open a session');

  const page = await newPage (browser, { locale: 'en-US' });
  const keys = [];
  let lose = true;
  await page.route ('**/v1/checkout_sessions/*/pay', async (route) => {
    keys.push (route.request ().headers ()['idempotency-key']);
    const response = await route.fetch ();
    if (response.status () === 200 && lose) {
      lose = false;
      return route.abort ('connectionreset');
    }
    return route.fulfill ({ response });
  });
  await page.goto (`${gateway.url}/pay/${session.id}`);
  await page.waitForSelector ('#pay-form:not([hidden])');
  await checkScreen (page, modules, 'hosted-checkout');
  /* The page names its icon, which is there (no request for /favicon.ico). */
  const icon = await page.evaluate (() => document.querySelector ('link[rel="icon"]')?.href);
  assert (icon && (await page.request.get (icon)).status () === 200, 'the icon: ' + icon);

  await page.fill ('#card-number', card.number);
  await page.fill ('#card-password', '0000');
  await page.click ('#pay-button');
  await page.locator ('#error').filter ({ hasText: /./ }).waitFor ();
  page.expectedProblems (/402 \(Payment Required\)/);

  await page.fill ('#card-password', '2580');
  await page.click ('#pay-button');
  await page.waitForFunction (() => !document.getElementById ('pay-button').disabled &&
                                    !document.getElementById ('error').hidden);
  page.expectedProblems (/ERR_CONNECTION_RESET|Failed to fetch/);
  const lost = await expectOk (call (gateway, 'GET', `/v1/checkout_sessions/${session.id}`,
                                     { bearer: merchant.secret_key }), 'read the session');
  assertEqual (lost.status, 'complete', 'the gateway paid although the page never heard');

  assertEqual (await page.inputValue ('#card-password'), '', 'the password is not kept');
  await page.fill ('#card-password', '2580');
  await page.click ('#pay-button');
  await page.waitForSelector ('#done:not([hidden])');
  await page.waitForURL (/back-at-the-mall/);
  assertEqual (new URL (page.url ()).searchParams.get ('session'), session.id,
               'the mall is told which session was paid');
  page.expectedProblems (/404 \(Not Found\)/);

  assertEqual (keys.length, 3, 'three requests: wrong password, lost, again');
  assert (keys.every ((k) => /^pay_[0-9a-f]{32}$/.test (k)), 'each carries a random key');
  assert (keys[0] !== keys[1], 'another password is another request');
  assertEqual (keys[2], keys[1], 'paying again is the lost request again');
  const balance = await expectOk (call (gateway, 'POST', '/v1/cards/balance',
                                        { body: { number: card.number, password: '2580' }, key: false }),
                                  'balance');
  assertEqual (balance.balance, 18000, 'charged once');
  await auditBalanced (gateway);
});

await run ();
