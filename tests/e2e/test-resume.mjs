/* test-resume.mjs: a buyer pays by bank transfer, closes the page, and
 * finds the order again from the e-mail, to see the cards once the
 * deposit arrives
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The real gateway, the real onepin-bank and a real SMTP server on
 * loopback, headless Chromium. The order's token never reaches a URL or
 * the browser's storage: the way back is the order number, the buyer's
 * phone or e-mail and a code e-mailed to the buyer.
 */
import {
  DESKTOP, PHONE, assert, assertEqual, auditBalanced, checkScreen, newPage, run, startAll, test,
} from './lib/harness.mjs';

const { modules, bank, smtp, gateway, browser } = await startAll ();

const BUYER = 'resume.buyer@example.com';
const seen = {};

async function storage (page) {
  return page.evaluate (() => JSON.stringify ([Object.entries (localStorage),
                                               Object.entries (sessionStorage)]));
}

test ('the buyer orders, chooses a bank transfer, and closes the page', async () => {
  const page = await newPage (browser, { locale: 'en-US', viewport: DESKTOP });
  await page.goto (gateway.url + '/buy');
  await page.fill ('#qty-10000', '2');
  await page.fill ('#buyer-name', 'Kim Minji');
  await page.fill ('#buyer-phone', '010-9876-5432');
  await page.fill ('#buyer-email', BUYER);
  await page.fill ('#buyer-postal', '04524');
  await page.fill ('#buyer-address', '110 Sejong-daero, Jung-gu, Seoul');
  await page.click ('#order-form button[type="submit"]');
  await page.waitForSelector ('#step-pay:not([hidden])');
  await page.check ('input[name="method"][value="transfer"]');
  await page.fill ('#buy-depositor', 'Kim Minji');
  await page.click ('#pay-button');
  await page.waitForSelector ('#step-transfer:not([hidden])', { timeout: 20000 });
  seen.account = (await page.textContent ('#virtual-account .card-no')).trim ();
  const note = await page.textContent ('#transfer-order');
  seen.order = (note.match (/ord_[0-9a-f]{24}/) || [])[0];
  assert (seen.order, 'the page names the order: ' + note);
  await checkScreen (page, modules, 'resume-transfer-waiting');
  assert (!page.url ().includes ('otk_'), 'no token in the URL');
  assertEqual (await storage (page), '[[],[]]', 'nothing in the storage');
  page.removeAllListeners ('dialog');
  page.on ('dialog', (dialog) => dialog.accept ());
  await page.close ({ runBeforeUnload: true });
});

test ('the transfer e-mail names the order and links to the way back, with nothing secret', async () => {
  const mail = await smtp.waitFor (BUYER, (m) => m.text.includes (seen.account));
  assert (mail.text.includes ('Order: ' + seen.order), 'the order number: ' + mail.text);
  const link = (mail.text.match (/https?:\/\/127\.0\.0\.1:\d+\/buy#resume/) || [])[0];
  assert (link, 'a link to find the order: ' + mail.text);
  assert (!/otk_/.test (mail.text + mail.html), 'no order token in the e-mail');
  seen.link = link;
});

test ('a wrong phone number gets the same answer, and no code', async () => {
  const page = await newPage (browser, { locale: 'en-US', viewport: PHONE });
  seen.page = page;
  await page.goto (seen.link);
  await page.waitForSelector ('#step-resume:not([hidden])');
  await checkScreen (page, modules, 'resume-form');
  await page.fill ('#resume-order', seen.order.toUpperCase ());
  await page.fill ('#resume-contact', '010-0000-0000');
  await page.click ('#resume-form button[type="submit"]');
  await page.waitForSelector ('#code-form:not([hidden])');
  const said = await page.textContent ('#code-sent');
  assert (said.includes ('If these match an order'), 'the neutral answer: ' + said);
  await new Promise ((resolve) => setTimeout (resolve, 2500));
  const codes = smtp.messages ().filter ((m) => (m.to || '').includes (BUYER) &&
                                                m.subject.includes ('order code'));
  assertEqual (codes.length, 0, 'no code for a stranger');
});

test ('the right phone number brings a code; a wrong code is refused', async () => {
  const page = seen.page;
  await page.fill ('#resume-contact', '01098765432');
  await page.click ('#resume-form button[type="submit"]');
  await page.waitForSelector ('#code-form:not([hidden])');
  const mail = await smtp.waitFor (BUYER, (m) => m.subject.includes ('order code'));
  assert (!/\d{6}/.test (mail.subject), 'no code in the subject');
  seen.code = (mail.text.match (/Code: (\d{6})/) || [])[1];
  assert (seen.code, 'a code in the e-mail: ' + mail.text);
  const wrong = String ((Number (seen.code) + 1) % 1000000).padStart (6, '0');
  await page.fill ('#resume-code', wrong);
  await page.click ('#code-form button[type="submit"]');
  await page.waitForFunction (() => document.querySelector ('#code-form .form-error').textContent !== '');
  assert ((await page.textContent ('#code-form .form-error')).includes ('wrong or no longer valid'),
          'the refusal');
  page.expectedProblems (/401/);
  await checkScreen (page, modules, 'resume-code-refused');
});

test ('the code opens the order at its transfer, and the deposit shows the cards once', async () => {
  const page = seen.page;
  await page.fill ('#resume-code', seen.code);
  await page.click ('#code-form button[type="submit"]');
  await page.waitForSelector ('#step-transfer:not([hidden])');
  assertEqual ((await page.textContent ('#virtual-account .card-no')).trim (), seen.account,
               'the same virtual account');
  await checkScreen (page, modules, 'resume-transfer-again');
  await bank.deposit (seen.account, 20000, 'Kim Minji');
  await page.waitForSelector ('#step-cards:not([hidden])', { timeout: 30000 });
  const numbers = await page.$$eval ('#cards .card-no', (cells) => cells.map ((c) => c.textContent));
  assertEqual (numbers.length, 2, 'both cards');
  for (const number of numbers)
    assertEqual (number.replace (/\D/g, '').length, 16, 'a full number: ' + number);
  await checkScreen (page, modules, 'resume-cards');
  assert (!page.url ().includes ('otk_') && !page.url ().includes (seen.code), 'nothing in the URL');
  assertEqual (await storage (page), '[[],[]]', 'nothing in the storage');
  await auditBalanced (gateway);
});

test ('the code works once', async () => {
  const page = await newPage (browser, { locale: 'ko-KR', viewport: DESKTOP });
  await page.goto (gateway.url + '/buy#resume');
  await page.waitForSelector ('#step-resume:not([hidden])');
  await page.fill ('#resume-order', seen.order);
  await page.fill ('#resume-contact', BUYER);
  await page.click ('#resume-form button[type="submit"]');
  await page.waitForSelector ('#code-form:not([hidden])');
  await page.fill ('#resume-code', seen.code);
  await page.click ('#code-form button[type="submit"]');
  await page.waitForFunction (() => document.querySelector ('#code-form .form-error').textContent !== '');
  page.expectedProblems (/401/);
  await checkScreen (page, modules, 'resume-code-used-ko');
});

await run ();
