/* test-purchase.mjs: buy three cards, give one, claim it from the e-mail,
 * register it, pay with it at a shop, and look at its usage
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The real gateway, the real onepin-bank and a real SMTP server on
 * loopback; the buyer and the recipient each in their own headless
 * Chromium context. Every screen passes axe-core and is photographed.
 */
import {
  DESKTOP, PHONE, assert, assertEqual, assertNoProblems, auditBalanced, call, checkScreen,
  createMerchant, expectOk, newPage, run, watchPage, startAll, test,
} from './lib/harness.mjs';

const { modules, bank, smtp, gateway, browser } = await startAll ();

const BUYER = 'buyer@example.com';
const FRIEND = 'friend@example.com';
const MESSAGE = 'Happy birthday! Buy yourself something nice.';

const bought = {};      /* what the buyer saw: numbers, by role */

function digits (text) {
  return text.replace (/\D/g, '');
}

function assertNoCardNumbers (mail, numbers, what) {
  const all = [mail.subject, mail.text, mail.html].join ('\n');
  for (const number of numbers)
    assert (!digits (all).includes (number), `${what} holds no full card number`);
}

test ('the buyer orders three cards and pays by credit card (FIG. 10A, 10B)', async () => {
  const page = await newPage (browser, { locale: 'en-US', viewport: DESKTOP });
  bought.page = page;
  await page.goto (gateway.url + '/');
  await page.click ('a[href="/buy"] >> nth=1');
  await page.waitForURL (/\/buy$/);
  await page.fill ('#qty-10000', '2');
  await page.fill ('#qty-5000', '1');
  assertEqual (await page.textContent ('#order-total'), 'Total: 3 cards, 25,000 won', 'running total');
  await page.fill ('#buyer-name', 'Hong Gildong');
  await page.fill ('#buyer-phone', '010-1234-5678');
  await page.fill ('#buyer-email', BUYER);
  await page.fill ('#buyer-postal', '04524');
  await page.fill ('#buyer-address', '110 Sejong-daero, Jung-gu, Seoul');
  await checkScreen (page, modules, 'order-sheet');
  await page.click ('#order-form button[type="submit"]');
  await page.waitForSelector ('#step-pay:not([hidden])');
  assertEqual (await page.textContent ('#pay-total'), '25,000 won', 'summary before payment');
  assertEqual (await page.textContent ('#pay-count'), '3 cards', 'card count');

  await page.check ('input[name="method"][value="credit_card"]');
  await page.fill ('#buy-card-number', '4242 4242 4242 4242');
  await page.fill ('#buy-expiry', '12/30');
  await page.fill ('#buy-cvc', '123');
  await checkScreen (page, modules, 'payment');
  await page.click ('#pay-button');
  await page.waitForSelector ('#step-cards:not([hidden])', { timeout: 20000 });
  assertNoProblems (page, 'payment');
});

test ('the cards are shown once and the statement is e-mailed (FIG. 10C)', async () => {
  const page = bought.page;
  const rows = await page.$$eval ('#cards tr', (trs) => trs.map ((tr) => ({
    label: tr.querySelector ('th').textContent,
    number: tr.querySelector ('.card-no').textContent,
  })));
  assertEqual (rows.length, 3, 'three cards');
  for (const row of rows)
    assert (/^\d{4} \d{4} \d{4} \d{4}$/.test (row.number), 'a formatted number: ' + row.number);
  bought.numbers = rows.map ((r) => digits (r.number));
  bought.labels = rows.map ((r) => r.label);
  assertEqual (new Set (bought.numbers).size, 3, 'three different numbers');
  assert ((await page.textContent ('#statement-note')).includes (BUYER), 'statement note');
  assert (!page.url ().includes (bought.numbers[0]), 'no number in the URL');
  await checkScreen (page, modules, 'cards-allocated');

  const statement = await smtp.waitFor (BUYER);
  for (const number of bought.numbers)
    assert (statement.text.includes (number.slice (-4)), 'the statement names card ' + number.slice (-4));
  assertNoCardNumbers (statement, bought.numbers, 'the purchase statement');
});

test ('one card is registered for the buyer and one is given (FIG. 10D, 10E)', async () => {
  const page = bought.page;
  /* The gift is a 10,000-won card; the other two are for the buyer. */
  const giftIndex = bought.labels.findIndex ((l) => l.startsWith ('10,000'));
  const userIndex = giftIndex === 0 ? 1 : 0;
  bought.gift = bought.numbers[giftIndex];
  bought.user = bought.numbers[userIndex];
  for (let i = 0; i < 3; i++)
    await page.check (`input[name="purpose-${i}"][value="${i === giftIndex ? 'gift' : 'user'}"]`);
  await page.click ('#purpose-form button[type="submit"]');

  for (let i = 0; i < 3; i++) {
    await page.waitForSelector ('#step-finish:not([hidden])');
    const heading = await page.textContent ('#finish-heading');
    assert (heading.startsWith (`Card ${i + 1} of 3`), 'heading: ' + heading);
    if (i === giftIndex) {
      await page.click ('label.design-choice:has(input[value="birthday"])');
      await page.fill ('#gift-recipient', 'Kim Cheolsu');
      await page.fill ('#gift-message', MESSAGE);
      assertEqual (await page.inputValue ('#gift-sender'), 'Hong Gildong', 'the sender is the buyer');
      await page.check ('input[name="font_color"][value="#a4161a"]');
      await page.check ('input[name="font_size"][value="12"]');
      await page.selectOption ('#gift-music', 'jingle_bells');
      await page.fill ('#gift-email', FRIEND);
      const preview = await page.textContent ('.gift-preview');
      assert (preview.includes ('To Kim Cheolsu') && preview.includes (MESSAGE) &&
              preview.includes ('From Hong Gildong'), 'preview: ' + preview);
      await checkScreen (page, modules, 'gift-form');
      await page.click ('.gift-form button[type="submit"]');
    } else if (i === userIndex) {
      await page.fill ('#reg-password', 'buyer pass');
      await page.fill ('#reg-confirm', 'buyer pass');
      await page.fill ('#reg-hint', 'mine');
      await checkScreen (page, modules, 'register-own-card');
      await page.click ('#finish-register button[type="submit"]');
    } else {
      await page.click ('#finish-later');
    }
    await page.waitForFunction ((n) => !document.getElementById ('step-done').hidden ||
                                       !document.getElementById ('finish-heading').textContent.startsWith (`Card ${n} of`),
                                i + 1);
  }
  await page.waitForSelector ('#step-done:not([hidden])');
  const done = await page.textContent ('#done-list');
  assert (done.includes ('sent as a gift to ' + FRIEND), 'gift listed: ' + done);
  assert (done.includes ('is registered'), 'registration listed: ' + done);
  assert (done.includes ('not registered yet'), 'the later card listed: ' + done);
  assertEqual (digits (await page.textContent (`#card-no-${giftIndex}`)), bought.gift.slice (-4),
               'the given card is masked on the buyer\'s page');
  await checkScreen (page, modules, 'purchase-done');

  const balance = await call (gateway, 'POST', '/v1/cards/balance',
                              { body: { number: bought.user, password: 'buyer pass' } });
  assertEqual (balance.status, 200, 'the buyer\'s card is active');

  /* Leaving the page wipes what was shown once. */
  await page.goto (gateway.url + '/');
  await page.goBack ();
  await page.waitForLoadState ('load');
  const html = await page.content ();
  for (const number of bought.numbers)
    assert (!html.includes (number) && !html.includes (number.replace (/(\d{4})(?=\d)/g, '$1 ')),
            'no card number after coming back');
  assertEqual (await page.evaluate (() => Object.keys (localStorage).join (',')), '', 'nothing stored');
  await page.context ().close ();
});

test ('the recipient claims the gift from the e-mail with a password, once', async () => {
  const mail = await smtp.waitFor (FRIEND);
  assertNoCardNumbers (mail, bought.numbers, 'the gift e-mail');
  const link = (mail.text.match (/https?:\/\/127\.0\.0\.1:\d+\/claim#[A-Za-z0-9_-]+/) || [])[0];
  assert (link, 'a claim link in the e-mail: ' + mail.text);
  bought.link = link;

  const page = await newPage (browser, { locale: 'ko-KR', viewport: PHONE });
  await page.goto (link);
  assertEqual (new URL (page.url ()).hash, '', 'the token is taken out of the address');
  await page.waitForSelector ('#claim-open:not([hidden])');
  const card = await page.textContent ('#claim-card');
  assert (card.includes (MESSAGE) && card.includes ('Kim Cheolsu') && card.includes ('Hong Gildong'),
          'the gift as designed: ' + card);
  assertEqual (await page.$eval ('.gift-card .message', (el) => getComputedStyle (el).color),
               'rgb(164, 22, 26)', 'the chosen colour');
  assertEqual (await page.$eval ('.gift-card img', (el) => el.getAttribute ('src')),
               '/img/designs/birthday.svg', 'the chosen design');
  assert ((await page.textContent ('#claim-music')).includes ('징글벨'), 'the chosen music');
  assert ((await page.textContent ('#claim-value')).includes ('10,000원'), 'the value');
  await checkScreen (page, modules, 'claim-preview-ko');

  await page.fill ('#cl-password', 'friend pass');
  await page.fill ('#cl-confirm', 'friend pass');

  /* "Still in flight" is no refusal: the gift can be opened again. */
  await page.route ('**/v1/gifts/claim', (route) => route.fulfill ({
    status: 409, contentType: 'application/json',
    body: JSON.stringify ({ error: { type: 'idempotency_error', code: 'idempotency_in_flight',
                                     message: 'in flight' } }) }));
  await page.click ('#claim-open');
  await page.waitForFunction (() => document.querySelector ('#claim-form .form-error').textContent !== '');
  assert (await page.isEnabled ('#claim-open'), 'open again after "in flight"');
  /* The claim goes through but its answer is lost on the way back. */
  await page.unroute ('**/v1/gifts/claim');
  await page.route ('**/v1/gifts/claim', async (route) => {
    await route.fetch ();
    await route.abort ('connectionreset');
  });
  await page.click ('#claim-open');
  await page.waitForFunction (() => document.querySelector ('#claim-form .form-error').textContent !== '' &&
                              !document.getElementById ('claim-open').disabled);
  assertEqual (await page.isVisible ('#claim-gift'), false, 'no number yet');
  const context = page.context ();
  await page.close ();

  /* The recipient opens the e-mail link again: the same password gets the
   * number the lost answer had. */
  const back = watchPage (await context.newPage ());
  await back.goto (link);
  await back.waitForSelector ('#claim-again:not([hidden])');
  await back.fill ('#cl-password', 'friend pass');
  await back.fill ('#cl-confirm', 'friend pass');
  await checkScreen (back, modules, 'claim-again-ko');
  await back.click ('#claim-open');
  await back.waitForSelector ('#claim-gift:not([hidden])');
  assertEqual (digits (await back.textContent ('#claim-number')), bought.gift, 'the card revealed');
  assert ((await back.textContent ('#claim-done-text')).includes (bought.gift.slice (-4)), 'registered');
  assertEqual (await back.evaluate (() => Object.keys (localStorage).join (',')), '', 'key dropped');
  await checkScreen (back, modules, 'claim-registered-ko');
  await context.close ();

  /* The link works once. */
  const again = await newPage (browser, { locale: 'en-US' });
  await again.goto (link);
  await again.waitForFunction (() => document.getElementById ('claim-error').textContent !== '');
  assert ((await again.textContent ('#claim-error')).includes ('already been opened'), 'second visit');
  assertEqual (await again.isVisible ('#claim-open'), false, 'nothing to open again');
  assertNoProblems (again, 'second visit');
  await again.context ().close ();
});

test ('the recipient pays at a shop and sees it in the usage inquiry (FIG. 10H, 10I)', async () => {
  const merchant = await createMerchant (gateway, 'Flower Land');
  const payment = await expectOk (call (gateway, 'POST', '/v1/payments', {
    bearer: merchant.secret_key,
    body: { card_number: bought.gift, password: 'friend pass', amount: 3000, currency: 'krw',
            order_id: 'roses-7', description: 'Roses', capture: true } }), 'payment at the shop');

  const page = await newPage (browser, { locale: 'ko-KR', viewport: PHONE });
  await page.goto (gateway.url + '/inquiry');
  await page.fill ('#iq-number', bought.gift);
  await page.fill ('#iq-password', 'friend pass');
  await page.click ('#inquiry-form button[type="submit"]');
  await page.waitForSelector ('#summary:not([hidden])');
  const summary = await page.textContent ('#summary-rows');
  assert (summary.includes ('+10,000원') && summary.includes ('−3,000원') && summary.includes ('7,000원'),
          'initial, internet payments and balance: ' + summary);
  await checkScreen (page, modules, 'inquiry-summary-ko');
  await page.click ('#show-details');
  const details = await page.textContent ('#detail-rows');
  assert (details.includes ('Flower Land') && details.includes ('−3,000원'), 'the shop: ' + details);
  await checkScreen (page, modules, 'inquiry-details-ko');

  /* The verification page finds the shop's payment on this card. */
  await page.goto (gateway.url + '/verify');
  await page.fill ('#vf-number', bought.gift);
  await page.fill ('#vf-password', 'friend pass');
  await page.fill ('#vf-payment', payment.id);
  await page.click ('#verify-form button[type="submit"]');
  await page.waitForSelector ('#verified:not([hidden])');
  const verified = await page.textContent ('#verified-details');
  assert (verified.includes ('Flower Land') && verified.includes ('3,000원') && verified.includes ('roses-7'),
          'verified: ' + verified);
  await checkScreen (page, modules, 'verify-ko');
  await page.context ().close ();
  await auditBalanced (gateway);
});

await run ();
