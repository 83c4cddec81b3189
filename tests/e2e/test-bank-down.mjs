/* test-bank-down.mjs: when the bank cannot be reached, the purchase page
 * says so clearly and nothing is allocated
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The gateway is connected to the real onepin-bank, which is then stopped,
 * so every charge answers 503 bank_unavailable. The buyer fills the order, sees the
 * summary, pays, and is told that nothing was charged and no card was
 * allocated; the order is still payable, the ledger holds no new card.
 */
import {
  assert, assertEqual, auditBalanced, call, checkScreen, expectOk, launchBrowser, loadModules,
  newPage, run, startBank, startGateway, test,
} from './lib/harness.mjs';

const modules = await loadModules ();
const bank = await startBank ();
const gateway = await startGateway (bank.config);
const browser = await launchBrowser (modules);
await bank.stop ();

async function fillOrder (page) {
  await page.fill ('#qty-5000', '1');
  await page.fill ('#qty-20000', '1');
  await page.fill ('#buyer-name', '홍길동');
  await page.fill ('#buyer-phone', '010-1234-5678');
  await page.fill ('#buyer-email', 'hong@example.com');
  await page.fill ('#buyer-postal', '04524');
  await page.fill ('#buyer-address', '서울특별시 중구 세종대로 110');
  await page.click ('#order-form button[type="submit"]');
  await page.waitForSelector ('#step-pay:not([hidden])');
}

test ('paying while the bank is down shows the error and allocates nothing', async () => {
  const page = await newPage (browser, { locale: 'en-US' });
  await page.goto (gateway.url + '/buy');
  await fillOrder (page);
  assertEqual (await page.textContent ('#pay-caption'), "홍길동's order", 'summary caption');
  assertEqual (await page.textContent ('#pay-total'), '25,000 won', 'summary total');
  assertEqual (await page.textContent ('#pay-button'), 'Pay 25,000 won', 'pay button');
  await checkScreen (page, modules, 'order-summary');

  await page.check ('input[name="method"][value="credit_card"]');
  await page.fill ('#buy-card-number', '4242 4242 4242 4242');
  await page.fill ('#buy-expiry', '12/30');
  await page.fill ('#buy-cvc', '123');
  await page.click ('#pay-button');
  const alert = page.locator ('#pay-form .form-error');
  await alert.filter ({ hasText: /./ }).waitFor ();
  page.expectedProblems (/503 \(Service Unavailable\)/);
  const text = await alert.textContent ();
  assert (text.includes ('bank cannot be reached') && text.includes ('no card was allocated'),
          'the error says what happened: ' + text);
  assertEqual (await page.isVisible ('#step-cards'), false, 'no cards shown');
  assertEqual (await page.inputValue ('#buy-cvc'), '', 'the CVC is not kept');
  await checkScreen (page, modules, 'bank-down');

  const orders = await expectOk (call (gateway, 'GET', '/v1/admin/orders',
                                       { bearer: gateway.adminToken }), 'orders');
  assertEqual (orders.data.length, 1, 'one order');
  assert (orders.data[0].status !== 'allocated', 'not allocated: ' + orders.data[0].status);
  assertEqual (orders.data[0].cards.length, 0, 'no cards');
  const audit = await expectOk (call (gateway, 'GET', '/v1/admin/audit', { bearer: gateway.adminToken }), 'audit');
  assertEqual (audit.cards_balance_total, 0, 'no money on any card');
  await auditBalanced (gateway);

  /* The same page may try again: it is refused the same way, still nothing allocated. */
  await page.fill ('#buy-cvc', '123');
  await page.click ('#pay-button');
  await page.waitForFunction (() => !document.getElementById ('pay-button').disabled);
  page.expectedProblems (/503 \(Service Unavailable\)/);
  assert ((await alert.textContent ()).includes ('bank cannot be reached'), 'still refused');
  await page.context ().close ();
});

await run ();
