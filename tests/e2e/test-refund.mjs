/* test-refund.mjs: refunding the balance to a bank account, which closes
 * the card
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The real gateway, onepin-bank and SMTP server. The page asks for an
 * explicit confirmation, the bank account receives the balance, the card
 * is closed and the refund mailed; a payout the bank refuses puts the
 * balance back on the card.
 */
import {
  assert, assertEqual, auditBalanced, call, checkScreen, createMerchant, expectOk, issueCards,
  newPage, run, startAll, test,
} from './lib/harness.mjs';

const { modules, bank, smtp, gateway, browser } = await startAll ();

const cards = await issueCards (gateway, 2, 30000);
for (const card of cards)
  await expectOk (call (gateway, 'POST', '/v1/cards/register',
                        { key: false, body: { number: card.number, password: 'refund me' } }), 'register');
const merchant = await createMerchant (gateway, 'Book Shop');
await expectOk (call (gateway, 'POST', '/v1/payments', {
  bearer: merchant.secret_key,
  body: { card_number: cards[0].number, password: 'refund me', amount: 5000, currency: 'krw',
          order_id: 'book-1', capture: true } }), 'payment');

async function fillRefund (page, card, account, holder) {
  await page.goto (gateway.url + '/refund');
  await page.fill ('#rf-number', card.number);
  await page.fill ('#rf-password', 'refund me');
  await page.selectOption ('#rf-bank', '990');
  await page.fill ('#rf-account', account);
  await page.fill ('#rf-holder', holder);
  await page.fill ('#rf-email', 'holder@example.com');
}

test ('the balance goes to the bank account and the card is closed', async () => {
  const page = await newPage (browser, { locale: 'ko-KR' });
  const before = (await bank.account ('110-000-000002')).balance;
  await fillRefund (page, cards[0], '110-000-000002', '김철수');
  await page.click ('#refund-form button[type="submit"]');
  assertEqual (await page.textContent ('#rf-confirm-error'), '이 항목을 입력해 주십시오.', 'confirmation needed');
  await checkScreen (page, modules, 'refund-confirm-ko');
  await page.check ('#rf-confirm');
  await page.click ('#refund-form button[type="submit"]');
  await page.waitForSelector ('#refunded:not([hidden])', { timeout: 20000 });
  const text = await page.textContent ('#refunded-text');
  assert (text.includes ('25,000원') && text.includes ('0002') && text.includes (cards[0].number.slice (-4)),
          'refunded: ' + text);
  await checkScreen (page, modules, 'refund-done-ko');
  assertEqual ((await bank.account ('110-000-000002')).balance, before + 25000, 'paid to the account');
  const closed = await call (gateway, 'POST', '/v1/cards/balance',
                             { key: false, body: { number: cards[0].number, password: 'refund me' } });
  assertEqual (closed.status, 402, 'the card is closed');
  const mail = await smtp.waitFor ('holder@example.com');
  assert (mail.text.includes ('0002') && !mail.text.includes (cards[0].number), 'refund e-mail');

  /* A closed card cannot be recharged. */
  await page.goto (gateway.url + '/recharge');
  await page.fill ('#rc-number', cards[0].number);
  await page.fill ('#rc-password', 'refund me');
  await page.click ('#card-form button[type="submit"]');
  await page.waitForFunction (() => document.querySelector ('#card-form .form-error').textContent !== '');
  page.expectedProblems (/402 \(Payment Required\)/);
  assertEqual (await page.isVisible ('#step-amount'), false, 'no recharge of a closed card');

  /* Its history still shows, the refund included (FIG. 10H), and says it is closed. */
  await page.goto (gateway.url + '/inquiry');
  await page.fill ('#iq-number', cards[0].number);
  await page.fill ('#iq-password', 'refund me');
  await page.click ('#inquiry-form button[type="submit"]');
  await page.waitForSelector ('#summary:not([hidden])');
  const summary = await page.textContent ('#summary-rows');
  assert (summary.includes ('총 계좌 환불액') && summary.includes ('−25,000원'), 'the refund: ' + summary);
  assertEqual (await page.isVisible ('#closed-note'), true, 'the card is said to be closed');
  await page.click ('#show-details');
  assert ((await page.textContent ('#detail-rows')).includes ('잔액 환불(은행 계좌)'), 'the refund line');
  await checkScreen (page, modules, 'inquiry-closed-ko');
  await page.context ().close ();
});

test ('a payout the bank refuses leaves the balance on the card', async () => {
  const page = await newPage (browser, { locale: 'en-US' });
  await fillRefund (page, cards[1], '110-000-000003', '이영희');
  await page.check ('#rf-confirm');
  await page.click ('#refund-form button[type="submit"]');
  await page.waitForFunction (() => document.querySelector ('#refund-form .form-error').textContent !== '',
                              null, { timeout: 20000 });
  page.expectedProblems (/402 \(Payment Required\)/);
  const text = await page.textContent ('#refund-form .form-error');
  assert (text.includes ('back on your card'), 'refused: ' + text);
  await checkScreen (page, modules, 'refund-refused');
  const b = await expectOk (call (gateway, 'POST', '/v1/cards/balance',
                                  { key: false, body: { number: cards[1].number, password: 'refund me' } }), 'balance');
  assertEqual (b.balance, 30000, 'the balance is back');
  await page.context ().close ();
  await auditBalanced (gateway);
});

await run ();
