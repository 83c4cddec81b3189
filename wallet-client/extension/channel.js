/* channel.js: the extension's end of the wallet protocol
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Loaded into the background (importScripts in Chromium's service worker,
 * listed before background.js for Firefox). Every exchange opens its own
 * native-messaging port, so its own onepin-wallet-host and its own
 * connection to the wallet, and begins with a nonce from each side.
 *
 * Pairing: an ECDH (P-256) key agreement with the wallet; the key and a
 * six-digit code come out of HKDF over the shared secret and both nonces
 * and public keys. The wallet commits to its public key (a SHA-256) before
 * it sees ours, and the key it sends must match: otherwise a party playing
 * the wallet could try keys until our code equals another pairing's. The
 * user compares the code here and in the wallet, and names the browser
 * there. Each side then proves it holds the key (a MAC
 * over the wallet's answer, one per direction); the wallet keeps the
 * browser only once ours checks out, and we keep the key (a
 * non-extractable CryptoKey in IndexedDB) only once the wallet says so.
 *
 * What the wallet says before a request is authenticated (its "begin",
 * its refusals) may come from any process that took the socket's name, so
 * it never changes what we keep: a wallet that says it does not know this
 * browser ("paired": false, or "not_paired") is reported as
 * "unknown_browser" and the pairing stays until the user pairs again from
 * the popup, which replaces it. An error frame counts only for the message
 * it names (or, naming none, for the connection).
 *
 * Both sides speak protocol PROTOCOL and say so in "begin"; a wallet that
 * speaks another version (or refuses ours) is the error "version".
 *
 * Requests: {"type": "request", "browser", "seq", "body", "mac"} where
 * body is the request's JSON text and mac an HMAC-SHA256 under the pairing
 * key over both nonces, the sequence number and the body; the wallet's
 * answer carries the same, the other way. HACKING.md, "Pairing and message
 * authentication", has the exact bytes.
 */
'use strict';

/* eslint-disable-next-line no-unused-vars */
const OnePinChannel = (() => {
  const HOST = 'org.onepin.wallet';
  /* 2: pairing ends with our pair.confirm and the wallet's pair.saved.
   * 3: the wallet commits to its key (pair.commit) before it sees ours. */
  const PROTOCOL = 3;
  const PAIRING_INFO = 'onepin-wallet pairing v1';
  const MAC_CONTEXT = 'onepin-wallet-v1';
  const BEGIN_TIMEOUT_MS = 10000;
  const PAIR_TIMEOUT_MS = 300000;
  const text = new TextEncoder();

  /* ---- bytes ---- */

  function toBase64(bytes) {
    let binary = '';
    for (const b of new Uint8Array(bytes))
      binary += String.fromCharCode(b);
    return btoa(binary);
  }

  function fromBase64(value, length) {
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
      return null;
    let binary;
    try {
      binary = atob(value);
    } catch (e) {
      return null;
    }
    if (binary.length !== length)
      return null;
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  }

  function randomBytes(n) {
    return crypto.getRandomValues(new Uint8Array(n));
  }

  /* Compares two byte arrays in constant time. */
  function equalBytes(a, b) {
    if (a.length !== b.length)
      return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++)
      diff |= a[i] ^ b[i];
    return diff === 0;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /* ---- the pairing, kept in IndexedDB ---- */

  function database() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open('onepin', 1);
      request.onupgradeneeded = () => request.result.createObjectStore('pairing');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function store(mode, fn) {
    const db = await database();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction('pairing', mode);
        const request = fn(tx.objectStore('pairing'));
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  /* {browser, name, key: CryptoKey, paired} or undefined. */
  function loadPairing() {
    return store('readonly', (s) => s.get('current'));
  }

  function savePairing(pairing) {
    return store('readwrite', (s) => s.put(pairing, 'current'));
  }

  async function forgetPairing() {
    await chrome.storage.session.remove('unknownBrowser');
    return store('readwrite', (s) => s.delete('current'));
  }

  /* The wallet said it does not know @browser: shown in the popup, which
   * offers to pair again. Unauthenticated, so it deletes nothing. */
  function markUnknown(browser) {
    return chrome.storage.session.set({ unknownBrowser: browser });
  }

  /* ---- one connection to the wallet ---- */

  class Session {
    constructor() {
      this.inbox = [];
      this.wake = null;
      this.closed = null;
      try {
        this.port = chrome.runtime.connectNative(HOST);
      } catch (e) {
        this.closed = 'host_unavailable';
        return;
      }
      this.port.onMessage.addListener((message) => {
        this.inbox.push(message);
        this.poke();
      });
      this.port.onDisconnect.addListener(() => {
        this.closed = chrome.runtime.lastError ? 'host_unavailable' : 'wallet_disconnected';
        this.poke();
      });
    }

    poke() {
      if (this.wake)
        this.wake();
    }

    send(message) {
      if (this.closed)
        return;
      try {
        this.port.postMessage(message);
      } catch (e) {
        this.closed = 'host_unavailable';
      }
    }

    /* The next message about @id, or an error: {type: "error", error}.
     * An error about another message is not the answer; one that names no
     * message is about the connection (the host's, or the wallet's refusal
     * of the host's hello). When the connection ends with no answer, an
     * error about another message is the best account of why (the wallet
     * refuses a replayed request under the replayed id, then hangs up),
     * and is reported: only reported, since anyone may have sent it. */
    async receive(id, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const about = (m) => m.id === id || m.in_reply_to === id ||
        (m.type === 'error' && m.id === undefined && m.in_reply_to === undefined);
      /* the wallet hung up: its last word, if it said one */
      const hangUp = () => {
        const stray = this.inbox.find((m) => m && m.type === 'error' && m.source === 'wallet' &&
                                             typeof m.error === 'string');
        return { type: 'error', error: stray ? stray.error : 'wallet_disconnected' };
      };
      for (;;) {
        const index = this.inbox.findIndex((m) => m && about(m));
        if (index >= 0) {
          const message = this.inbox.splice(index, 1)[0];
          return message.type === 'error' && message.error === 'wallet_disconnected' ? hangUp()
                                                                                       : message;
        }
        if (this.closed)
          return this.closed === 'wallet_disconnected' ? hangUp() : { type: 'error', error: this.closed };
        const left = deadline - Date.now();
        if (left <= 0)
          return { type: 'error', error: 'timeout' };
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, left);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    }

    close() {
      if (this.port) {
        try {
          this.port.disconnect();
        } catch (e) {
          /* gone already */
        }
      }
    }

    /* Our nonce, the wallet's: what every MAC of this connection covers. */
    async begin(browser) {
      const id = crypto.randomUUID();
      this.nonceBrowserRaw = randomBytes(16);
      this.nonceBrowser = toBase64(this.nonceBrowserRaw);
      const message = { type: 'begin', id, nonce: this.nonceBrowser, protocol: PROTOCOL };
      if (browser)
        message.browser = browser;
      this.send(message);
      const answer = await this.receive(id, BEGIN_TIMEOUT_MS);
      if (answer.type === 'error')
        return answer;
      /* before anything else of it: another version may shape it otherwise */
      if (answer.type === 'begin' && answer.protocol !== PROTOCOL)
        return { type: 'error', error: 'version' };
      this.nonceWalletRaw = fromBase64(answer.nonce, 16);
      if (answer.type !== 'begin' || !this.nonceWalletRaw)
        return { type: 'error', error: 'wallet_reply_invalid' };
      this.nonceWallet = answer.nonce;
      this.seq = 0;
      return answer;
    }

    macInput(direction, browser, seq, body) {
      return text.encode([MAC_CONTEXT, direction, browser, this.nonceBrowser, this.nonceWallet,
                          String(seq), body].join('\n'));
    }
  }

  /* ---- pairing ---- */

  /* What the wallet committed to: SHA-256 (its public key ‖ its nonce). */
  async function commitmentOf(publicWallet, session) {
    return new Uint8Array(await crypto.subtle.digest('SHA-256',
                                                     concat(publicWallet, session.nonceWalletRaw)));
  }

  async function deriveKey(shared, session, publicBrowser, publicWallet) {
    const ikm = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveBits']);
    const okm = new Uint8Array(await crypto.subtle.deriveBits({
      name: 'HKDF', hash: 'SHA-256',
      salt: concat(session.nonceBrowserRaw, session.nonceWalletRaw),
      info: concat(text.encode(PAIRING_INFO), publicBrowser, publicWallet),
    }, ikm, 36 * 8));
    const key = await crypto.subtle.importKey('raw', okm.slice(0, 32),
                                              { name: 'HMAC', hash: 'SHA-256' }, false,
                                              ['sign', 'verify']);
    const number = new DataView(okm.buffer, 32, 4).getUint32(0) % 1000000;
    const code = String(number).padStart(6, '0');
    okm.fill(0);
    return { key, code: `${code.slice(0, 3)} ${code.slice(3)}` };
  }

  /* pair.begin; pairing again, it names the pairing we hold and proves we
   * have its key (a MAC, b2w and seq 0, over "pair.replace " and the id):
   * the wallet's record of it is then replaced, and its key stops working
   * there, rather than kept beside the new one. */
  async function pairBegin(session, id, nameHint) {
    const message = { type: 'pair.begin', id, name: nameHint };
    const before = await loadPairing();
    if (before) {
      const proof = await crypto.subtle.sign('HMAC', before.key,
                                             session.macInput('b2w', before.browser, 0,
                                                              `pair.replace ${id}`));
      message.replaces = before.browser;
      message.proof = toBase64(proof);
    }
    return message;
  }

  /* Pairs with the wallet. @onCode(code) is called as soon as the code is
   * known, for the user to compare with the wallet's. Resolves to
   * {name} or {error}. */
  async function pair(nameHint, onCode) {
    const session = new Session();
    try {
      const begun = await session.begin(null);
      if (begun.type === 'error')
        return { error: begun.error };
      const own = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false,
                                                  ['deriveBits']);
      const publicBrowser = new Uint8Array(await crypto.subtle.exportKey('raw', own.publicKey));
      const id = crypto.randomUUID();
      session.send(await pairBegin(session, id, nameHint));
      const commit = await session.receive(id, BEGIN_TIMEOUT_MS);
      if (commit.type === 'error')
        return { error: commit.error };
      const commitment = fromBase64(commit.commitment, 32);
      if (commit.type !== 'pair.commit' || !commitment)
        return { error: 'wallet_reply_invalid' };

      session.send({ type: 'pair.key', id, public_key: toBase64(publicBrowser) });
      const offer = await session.receive(id, BEGIN_TIMEOUT_MS);
      if (offer.type === 'error')
        return { error: offer.error };
      const publicWallet = fromBase64(offer.public_key, 65);
      if (offer.type !== 'pair.key' || !publicWallet)
        return { error: 'wallet_reply_invalid' };
      /* a key the wallet did not commit to was chosen after it saw ours */
      if (!equalBytes(await commitmentOf(publicWallet, session), commitment))
        return { error: 'bad_mac' };
      const walletKey = await crypto.subtle.importKey('raw', publicWallet,
                                                      { name: 'ECDH', namedCurve: 'P-256' }, false, []);
      const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: walletKey },
                                                    own.privateKey, 256);
      const { key, code } = await deriveKey(shared, session, publicBrowser, publicWallet);
      onCode(code);

      const done = await session.receive(id, PAIR_TIMEOUT_MS);
      if (done.type === 'error' || done.error)
        return { error: done.error || 'denied' };
      /* The wallet proves it holds the same key; without our proof (the
       * port closes) it keeps nothing. */
      const mac = fromBase64(done.mac, 32);
      if (done.type !== 'pair.done' || typeof done.browser !== 'string' ||
          typeof done.body !== 'string' || done.seq !== 0 || !mac ||
          !await crypto.subtle.verify('HMAC', key, mac,
                                      session.macInput('w2b', done.browser, 0, done.body)))
        return { error: 'bad_mac' };
      /* Ours: the same bytes the other way. */
      const proof = await crypto.subtle.sign('HMAC', key,
                                             session.macInput('b2w', done.browser, 0, done.body));
      session.send({ type: 'pair.confirm', id, browser: done.browser, seq: 0, body: done.body,
                     mac: toBase64(proof) });
      const saved = await session.receive(id, BEGIN_TIMEOUT_MS);
      if (saved.type !== 'pair.saved')
        return { error: saved.error || 'wallet_reply_invalid' };
      const { name } = JSON.parse(done.body);
      /* the pairing before, if any, goes with its key */
      await savePairing({ browser: done.browser, name, key, paired: Date.now() });
      await chrome.storage.session.remove('unknownBrowser');
      return { name };
    } finally {
      session.close();
    }
  }

  /* ---- requests ---- */

  /* Sends @body (an object with a "type") to the paired wallet and resolves
   * to the wallet's authenticated answer, or to {error}. */
  async function request(body, timeoutMs) {
    const pairing = await loadPairing();
    if (!pairing)
      return { error: 'not_paired' };
    const session = new Session();
    try {
      const begun = await session.begin(pairing.browser);
      if (begun.type === 'error')
        return { error: begun.error };
      if (!begun.paired) {
        /* removed in the wallet, or so says whoever answers */
        await markUnknown(pairing.browser);
        return { error: 'unknown_browser' };
      }
      const id = crypto.randomUUID();
      const seq = ++session.seq;
      const textBody = JSON.stringify(body);
      const mac = await crypto.subtle.sign('HMAC', pairing.key,
                                           session.macInput('b2w', pairing.browser, seq, textBody));
      session.send({ type: 'request', id, browser: pairing.browser, seq, body: textBody,
                     mac: toBase64(mac) });

      const answer = await session.receive(id, timeoutMs);
      if (answer.type === 'error') {
        if (answer.error === 'not_paired') {
          await markUnknown(pairing.browser);
          return { error: 'unknown_browser' };
        }
        return { error: answer.error };
      }
      const answerMac = fromBase64(answer.mac, 32);
      if (answer.type !== 'response' || answer.seq !== seq || typeof answer.body !== 'string' ||
          !answerMac ||
          !await crypto.subtle.verify('HMAC', pairing.key, answerMac,
                                      session.macInput('w2b', pairing.browser, seq, answer.body)))
        return { error: 'bad_mac' };
      return JSON.parse(answer.body);
    } finally {
      session.close();
    }
  }

  /* {paired, name[, unknown: the wallet said it does not know us]} */
  async function status() {
    const pairing = await loadPairing();
    if (!pairing)
      return { paired: false };
    const { unknownBrowser } = await chrome.storage.session.get('unknownBrowser');
    return unknownBrowser === pairing.browser ? { paired: true, name: pairing.name, unknown: true }
                                              : { paired: true, name: pairing.name };
  }

  /* Unpairs: the wallet is asked (authenticated, so only the key's holder
   * can) to forget this browser, then our pairing goes whatever it says.
   * Resolves to {walletKept: true} when the wallet could not be told (not
   * running, locked, or older): it keeps the pairing until its user removes
   * it in Preferences → Browsers. A wallet that no longer knows us has
   * nothing to keep. */
  async function unpair() {
    let walletKept = false;
    if (await loadPairing()) {
      const answer = await request({ type: 'browser.forget' }, BEGIN_TIMEOUT_MS)
        .catch(() => ({ error: 'failed' }));
      walletKept = answer.error !== 'unknown_browser' &&
        (answer.type !== 'browser.forgotten' || Boolean(answer.error));
    }
    await forgetPairing();
    return { walletKept };
  }

  return { pair, request, status, unpair };
})();
