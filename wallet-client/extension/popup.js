/* popup.js: the toolbar popup — where the user asks to fill a site
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Shows the site and the payment fields found, and asks the wallet for the
 * card only when the user presses the button. The consent is the wallet's:
 * it asks its user (with "Always fill on this site", after which later
 * visits fill without the popup) unless the site is on its list already;
 * a click here proves nothing to it, since any process of this user can
 * sign a request with the key kept in the browser's profile. ?tab=ID picks
 * the tab (tests open the popup as a page).
 * Above it, the pairing with the wallet: the button starts it, the code to
 * compare shows while the wallet asks its user, then the name given there.
 * When the wallet says it does not know this browser, the button offers to
 * pair again (the new pairing replaces the old).
 *
 * The button fills the page shown here, and only that one: the popup sends
 * the origin and document it showed, which the background compares with
 * the tab's, and shows the new page when the tab goes elsewhere.
 */
'use strict';

const $ = (id) => document.getElementById(id);
const t = (name, ...subs) => chrome.i18n.getMessage(name, subs) || name;

const ERRORS = {
  wallet_unavailable: 'errorWalletNotRunning',
  host_unavailable: 'errorHostMissing',
  wallet_disconnected: 'errorWalletNotRunning',
  locked: 'errorLocked',
  denied: 'errorDenied',
  not_paired: 'errorNotPaired',
  unknown_browser: 'errorUnknownBrowser',
  bad_mac: 'errorBadMac',
  version: 'errorVersion',
  signed_out: 'errorSignedOut',
  insecure_origin: 'errorInsecure',
  timeout: 'errorTimeout',
  no_card: 'errorNoCard',
  no_fields: 'statusNoFields',
  page_changed: 'errorPageChanged',
  covered_field: 'errorCoveredField',
  out_of_view: 'errorOutOfView',
  hidden_field: 'errorHiddenField',
  no_usable_fields: 'errorNoUsableFields',
};

async function targetTab() {
  const param = new URLSearchParams(location.search).get('tab');
  if (param)
    return Number(param);
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  return tab ? tab.id : null;
}

function ask(message) {
  return chrome.runtime.sendMessage(message);
}

function showResult(text, isError) {
  $('result').textContent = text;
  $('result').className = isError ? 'error' : '';
}

function describeTypes(types) {
  const names = Array.from(new Set(types)).map((type) => t('type_' + type.replace(/-/g, '_')));
  return t('statusFields', String(types.length), names.join(', '));
}

/* The wallet's side: paired or not, or the pairing under way. */
async function renderPairing(wallet) {
  const { pairing } = await chrome.storage.session.get('pairing');
  const busy = pairing && (pairing.state === 'connecting' || pairing.state === 'waiting');
  $('code').hidden = !(pairing && pairing.state === 'waiting');
  $('code').textContent = $('code').hidden ? '' : pairing.code;
  $('pair').hidden = (wallet.paired && !wallet.unknown) || busy;
  $('unpair').hidden = !wallet.paired || busy;
  if (busy)
    $('pairing').textContent = t(pairing.state === 'waiting' ? 'pairWaiting' : 'pairConnecting');
  else if (wallet.paired && wallet.unknown)
    $('pairing').textContent = t('pairUnknown', wallet.name);
  else if (wallet.paired)
    $('pairing').textContent = t('pairPaired', wallet.name);
  else if (pairing && pairing.state === 'failed')
    $('pairing').textContent = `${t('pairFailed')} ${t(pairing.error === 'denied' ? 'pairDenied'
                                                        : ERRORS[pairing.error] || 'errorOther')}`;
  else
    $('pairing').textContent = t('walletNotPaired');
}

/* The page on show: {origin, documentId}, what the buttons act on. */
let shown = null;
let renders = 0;
let filling = false;

async function render(tabId) {
  const mine = ++renders;
  const state = await ask({ type: 'popup.state', tabId });
  if (mine !== renders)
    return;
  await renderPairing(state.wallet);
  shown = { origin: state.origin, documentId: state.documentId };
  $('site').textContent = state.origin || '';
  $('forget').hidden = !state.remembered;
  if (!state.supported) {
    $('status').textContent = t('statusUnsupported');
  } else if (state.types.length) {
    $('status').textContent = describeTypes(state.types);
  } else if (state.refused.length) {
    $('status').textContent = t('statusRefused');
  } else {
    $('status').textContent = t('statusNoFields');
  }
  $('fill').disabled = filling || !state.supported || !state.types.length;
  $('hint').hidden = $('fill').disabled;
}

async function main() {
  for (const el of document.querySelectorAll('[data-i18n]'))
    el.textContent = t(el.dataset.i18n);
  document.documentElement.lang = chrome.i18n.getUILanguage();
  const tabId = await targetTab();
  if (tabId === null)
    return;
  await render(tabId);

  $('fill').addEventListener('click', async () => {
    filling = true;
    $('fill').disabled = true;
    showResult(t('statusAsking'), false);
    const answer = await ask({ type: 'popup.fill', tabId, origin: shown.origin,
                               documentId: shown.documentId });
    filling = false;
    if (answer.error)
      showResult(t(ERRORS[answer.error] || 'errorOther'), true);
    else
      showResult(t('resultFilled', String(answer.filled)), false);
    await render(tabId);
  });
  $('forget').addEventListener('click', async () => {
    await ask({ type: 'popup.forget', tabId, origin: shown.origin, documentId: shown.documentId });
    await render(tabId);
  });
  $('pair').addEventListener('click', async () => {
    await chrome.storage.session.remove('pairing');
    await ask({ type: 'popup.pair' });
  });
  $('unpair').addEventListener('click', async () => {
    const answer = await ask({ type: 'popup.unpair' });
    await render(tabId);
    showResult(t(answer.walletKept ? 'unpairWalletKeeps' : 'unpairDone'), Boolean(answer.walletKept));
  });
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === 'session' && (changes.pairing || changes.unknownBrowser || changes[`frames:${tabId}`]))
      render(tabId);
  });
  /* The tab going elsewhere: show the page it has now. */
  chrome.tabs.onUpdated.addListener((id, change) => {
    if (id === tabId && (change.url || change.status))
      render(tabId);
  });
}

main();
