/* test-recharge.mjs: recharging a card (FIG. 10F, 10G) with each way to pay
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The real gateway, onepin-bank and SMTP server. A bank-account debit
 * credits the card and mails the result; a declined credit card changes
 * nothing; a transfer credits the card when the deposit arrives; a onepin
 * card is refused as a way to pay; the 1,000,000-won cap and the
 * 10,000-won steps are enforced in the page.
 */
import {
  PHONE, assert, assertEqual, auditBalanced, call, checkScreen, expectOk, issueCards, newPage, run,
  startAll, test,
} from './lib/harness.mjs';

const { modules, bank, smtp, gateway, browser } = await startAll ();

const [card] = await issueCards (gateway, 1, 10000);
await expectOk (call (gateway, 'POST', '/v1/cards/register',
                      { key: false, body: { number: card.number, password: 'recharge me' } }), 'register');
const page = await newPage (browser, { locale: 'en-US', viewport: PHONE });

async function balance () {
  const b = await expectOk (call (gateway, 'POST', '/v1/cards/balance',
                                  { key: false, body: { number: card.number, password: 'recharge me' } }), 'balance');
  return b.balance;
}

async function enterCard () {
  await page.goto (gateway.url + '/recharge');
  await page.fill ('#rc-number', card.number);
  await page.fill ('#rc-password', 'recharge me');
  await page.click ('#card-form button[type="submit"]');
  await page.waitForSelector ('#step-amount:not([hidden])');
}

/* Pays by debiting the sandbox's account 110-000-000001. */
async function fillBankAccount () {
  await page.check ('input[name="method"][value="bank_account"]');
  await page.selectOption ('#rc-bank', '990');
  await page.fill ('#rc-account', '110-000-000001');
  await page.fill ('#rc-account-password', '1234');
}

async function waitForError (form) {
  await page.waitForFunction ((f) => document.querySelector (f + ' .form-error').textContent !== '', form);
  return page.textContent (form + ' .form-error');
}

test ('the card, its balance, and the amount in 10,000-won steps up to the cap', async () => {
  await enterCard ();
  const data = await page.textContent ('#card-data');
  assert (data.includes ('10,000 won') && data.includes (card.number.slice (-4)), 'card data: ' + data);
  assertEqual (await page.textContent ('#rc-amount-hint'), 'In steps of 10,000 won, at most 990,000 won.', 'the room left');
  await checkScreen (page, modules, 'recharge-amount');
  await page.fill ('#rc-amount', '15000');
  await page.click ('#recharge-button');
  assert ((await page.textContent ('#rc-amount-error')).includes ('multiple of 10,000'), 'steps');
  await page.fill ('#rc-amount', '1000000');
  await page.click ('#recharge-button');
  assert ((await page.textContent ('#rc-amount-error')).includes ('990,000'), 'cap');
  await checkScreen (page, modules, 'recharge-errors');
});

test ('a bank-account debit recharges the card and mails the result', async () => {
  await page.fill ('#rc-amount', '50000');
  await page.fill ('#rc-email', 'holder@example.com');
  await fillBankAccount ();
  await checkScreen (page, modules, 'recharge-bank-account');
  await page.click ('#recharge-button');
  await page.waitForSelector ('#step-done:not([hidden])', { timeout: 20000 });
  const done = await page.textContent ('#done-data');
  assert (done.includes ('50,000 won') && done.includes ('60,000 won'), 'recharged: ' + done);
  await checkScreen (page, modules, 'recharge-done');
  assertEqual (await balance (), 60000, 'the balance');
  const mail = await smtp.waitFor ('holder@example.com');
  assert (mail.text.includes (card.number.slice (-4)) && !mail.text.includes (card.number), 'recharge e-mail');
  const account = await bank.account ('110-000-000001');
  assertEqual (account.balance, 10000000 - 50000, 'the bank account was debited once');
});

test ('a declined credit card changes nothing, and says why', async () => {
  await enterCard ();
  await page.fill ('#rc-amount', '20000');
  await page.check ('input[name="method"][value="credit_card"]');
  await page.fill ('#rc-card-number', '4000 0000 0000 0002');
  await page.fill ('#rc-expiry', '12/30');
  await page.fill ('#rc-cvc', '123');
  await page.click ('#recharge-button');
  const text = await waitForError ('#amount-form');
  page.expectedProblems (/402 \(Payment Required\)/);
  assert (/declined/.test (text), 'declined: ' + text);
  await checkScreen (page, modules, 'recharge-declined');
  assertEqual (await balance (), 60000, 'no change');
});

test ('a onepin card is not accepted to pay for a recharge', async () => {
  await page.fill ('#rc-card-number', card.number);
  await page.fill ('#rc-cvc', '123');
  await page.click ('#recharge-button');
  await waitForError ('#amount-form');
  page.expectedProblems (/400 \(Bad Request\)/);
  assert ((await page.textContent ('#rc-card-number-error')).includes ('cannot pay for cards or recharges'),
          'refused on the card field');
  assertEqual (await balance (), 60000, 'no change');
});

test ('a transfer shows a virtual account and recharges when the deposit arrives', async () => {
  await enterCard ();
  await page.fill ('#rc-amount', '30000');
  await page.check ('input[name="method"][value="transfer"]');
  await page.fill ('#rc-depositor', 'Hong Gildong');
  await page.click ('#recharge-button');
  await page.waitForSelector ('#step-transfer:not([hidden])', { timeout: 20000 });
  const account = (await page.textContent ('#virtual-account .card-no')).trim ();
  assert (/^\d+$/.test (account), 'a virtual account: ' + account);
  assert ((await page.textContent ('#virtual-account')).includes ('30,000 won'), 'the amount');
  /* The deadline is the bank's, in Korea time, said so, as in the e-mail. */
  assert (/\d:\d\d( [AP]M)? KST$/.test ((await page.textContent ('#virtual-account dd:last-of-type')).trim ()),
          'the deadline in KST: ' + await page.textContent ('#virtual-account dd:last-of-type'));
  await checkScreen (page, modules, 'recharge-transfer');
  assertEqual (await balance (), 60000, 'nothing before the deposit');
  await bank.deposit (account, 30000, 'Hong Gildong');
  const deadline = Date.now () + 20000;
  while ((await balance ()) !== 90000) {
    assert (Date.now () < deadline, 'the deposit credits the card');
    await new Promise ((resolve) => setTimeout (resolve, 250));
  }
  await auditBalanced (gateway);
});

test ('recharging a promotional card extends its validity by a year', async () => {
  const batch = await expectOk (call (gateway, 'POST', '/v1/admin/card_batches', {
    bearer: gateway.adminToken,
    body: { count: 1, value: 10000, currency: 'krw', channel: 'online', promotional: true } }),
    'promotional card');
  const promo = batch.cards[0];
  await expectOk (call (gateway, 'POST', '/v1/cards/register',
                        { key: false, body: { number: promo.number, password: 'promo pass' } }), 'register');
  await page.goto (gateway.url + '/recharge');
  await page.fill ('#rc-number', promo.number);
  await page.fill ('#rc-password', 'promo pass');
  await page.click ('#card-form button[type="submit"]');
  await page.waitForSelector ('#step-amount:not([hidden])');
  const before = await page.textContent ('#card-data');
  await page.fill ('#rc-amount', '10000');
  await page.check ('input[name="method"][value="credit_card"]');
  await page.fill ('#rc-card-number', '5555 5555 5555 4444');
  await page.fill ('#rc-expiry', '12/30');
  await page.fill ('#rc-cvc', '321');
  await page.click ('#recharge-button');
  await page.waitForSelector ('#step-done:not([hidden])', { timeout: 20000 });
  const after = await page.textContent ('#done-data');
  const year = (text) => Number ((text.match (/(20\d\d)/g) || []).pop ());
  assertEqual (year (after), year (before) + 1, `validity: ${before} -> ${after}`);
  await checkScreen (page, modules, 'recharge-promotional');
  await auditBalanced (gateway);
});

test ('a recharge whose answer was lost, sent again after a reload, is charged once', async () => {
  const before = await balance ();
  const account = (await bank.account ('110-000-000001')).balance;
  const keys = [];
  /* The first request reaches the gateway, which charges; its answer never
   * reaches the page. */
  await page.route ('**/v1/cards/recharge', async (route) => {
    keys.push (route.request ().headers ()['idempotency-key']);
    if (keys.length === 1) {
      await route.fetch ();
      await route.abort ('connectionreset');
    } else {
      await route.continue ();
    }
  });
  async function send () {
    await enterCard ();
    await page.fill ('#rc-amount', '20000');
    await fillBankAccount ();
    await page.click ('#recharge-button');
  }
  await send ();
  await waitForError ('#amount-form');
  page.expectedProblems (/ERR_CONNECTION_RESET|Failed to load resource/);
  assertEqual (await balance (), before + 20000, 'the lost one was charged');
  const kept = await page.evaluate (() => JSON.stringify (Object.assign ({}, sessionStorage)));
  assert (kept.includes (keys[0]) && kept.includes (card.number.slice (-4) + ' 20000'), 'kept: ' + kept);
  assert (!kept.includes (card.number) && !kept.includes ('recharge me') && !kept.includes ('1234"'),
          'no secret kept: ' + kept);

  await page.reload ();
  await send ();
  await page.waitForSelector ('#step-done:not([hidden])', { timeout: 20000 });
  await page.unroute ('**/v1/cards/recharge');
  assertEqual (await balance (), before + 20000, 'charged once');
  assertEqual (keys.length, 2, 'sent twice');
  assertEqual (keys[1], keys[0], 'under the same key');
  assertEqual ((await bank.account ('110-000-000001')).balance, account - 20000, 'debited once');
  assertEqual (await page.evaluate (() => sessionStorage.length), 0, 'forgotten once answered');
  await auditBalanced (gateway);
});

await run ();
