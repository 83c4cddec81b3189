/* wallet-peer.js: plays the desktop wallet on its Unix socket, for tests
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Listens on DIR/onepin-wallet.sock (mode 0600) and speaks the wallet's
 * protocol (HACKING.md, "Pairing and message authentication") with Node's
 * own crypto: a second implementation beside the wallet's NSS one, so the
 * extension's WebCrypto is checked against both. The host's hello comes
 * first; then "begin", pairing (a commitment to its key before it sees the
 * browser's; approvePairing(code, hint) resolves to a name, or null to
 * refuse; the browser is kept once its pair.confirm proves the key; with
 * forgeCommitment set, the key it sends is not the one it committed to, as
 * a party that chose its key after seeing the browser's would) and
 * authenticated requests, whose bodies go to answer(body) (an object to
 * send back, null for none, or a promise of either: a wallet waiting to be
 * unlocked) and are kept in messages. With forgeAnswers set, its answers
 * carry a wrong MAC. Playing whoever took the socket's name, it can also
 * say it does not know the browser (claimUnpaired: "paired": false in its
 * begin), refuse requests with an error of its choosing (refuseRequests)
 * and send an error frame under another id before its answer (strayError).
 * It speaks protocol `protocol` (3, the wallet's; set
 * another to play a wallet of another version) and, from 2 on, refuses a
 * begin that says another ("version"), as the wallet does; as 1 it answers
 * any begin, as protocol 1 did.
 */
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const PAIRING_INFO = 'onepin-wallet pairing v1';

function frame(object) {
  const body = Buffer.from(JSON.stringify(object), 'utf8');
  const header = Buffer.alloc(4);
  if (os.endianness() === 'LE')
    header.writeUInt32LE(body.length);
  else
    header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

function macOf(key, direction, browser, conn, seq, body) {
  return crypto.createHmac('sha256', key)
    .update(['onepin-wallet-v1', direction, browser, conn.nonceBrowser, conn.nonceWallet,
             String(seq), body].join('\n'), 'utf8')
    .digest();
}

class WalletPeer {
  constructor(dir) {
    this.path = path.join(dir, 'onepin-wallet.sock');
    this.hellos = [];
    this.messages = [];
    this.codes = [];
    this.browsers = new Map();
    this.answer = () => null;
    this.approvePairing = async () => null;
    this.forgeAnswers = false;
    this.forgeCommitment = false;
    this.claimUnpaired = false;
    this.refuseRequests = null;
    this.strayError = null;
    this.confirms = 0;
    this.replacing = [];   /* each pair.begin's "replaces": {browser, proven} */
    this.protocol = 3;
    this.waiters = [];
    this.sockets = new Set();
  }

  start() {
    this.server = net.createServer((socket) => this.serve(socket));
    return new Promise((ok, fail) => {
      this.server.once('error', fail);
      this.server.listen(this.path, () => {
        fs.chmodSync(this.path, 0o600);
        ok(this);
      });
    });
  }

  serve(socket) {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    const conn = { socket, greeted: false, seq: 0 };
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4) {
        const len = os.endianness() === 'LE' ? buf.readUInt32LE(0) : buf.readUInt32BE(0);
        if (buf.length < 4 + len)
          break;
        const message = JSON.parse(buf.subarray(4, 4 + len).toString('utf8'));
        buf = buf.subarray(4 + len);
        this.handle(conn, message).catch(() => socket.destroy());
      }
    });
  }

  send(conn, object) {
    conn.socket.write(frame(object));
  }

  refuse(conn, id, error) {
    this.send(conn, { type: 'error', source: 'wallet', id, error, message: error });
  }

  async handle(conn, m) {
    if (!conn.greeted) {
      conn.greeted = true;
      this.hellos.push(m);
      return;
    }
    /* protocol 1's begin said no version, and its wallet looked at none */
    const theirs = m.protocol === undefined ? 1 : m.protocol;
    if (m.type === 'begin' && this.protocol > 1 && theirs !== this.protocol) {
      this.send(conn, { type: 'error', source: 'wallet', id: m.id, error: 'version',
                        message: `The wallet speaks protocol ${this.protocol} and the extension ` +
                                 `protocol ${theirs}: update the older one`,
                        protocol: this.protocol, peer_protocol: theirs });
      conn.socket.end();
    } else if (m.type === 'begin') {
      conn.nonceBrowser = m.nonce;
      conn.nonceWalletRaw = crypto.randomBytes(16);
      conn.nonceWallet = conn.nonceWalletRaw.toString('base64');
      this.send(conn, { type: 'begin', id: m.id, protocol: this.protocol, nonce: conn.nonceWallet,
                        paired: !this.claimUnpaired && this.browsers.has(m.browser) });
    } else if (m.type === 'pair.begin') {
      this.commit(conn, m);
    } else if (m.type === 'pair.key' && conn.offer && m.id === conn.offer.id) {
      await this.pair(conn, m);
    } else if (m.type === 'pair.confirm' && conn.pending) {
      this.confirm(conn, m);
    } else if (m.type === 'request') {
      this.request(conn, m);
    } else {
      this.refuse(conn, m.id, 'unknown_type');
    }
    this.waiters.splice(0).forEach((w) => w());
  }

  /* Our key, committed to before we see the browser's. */
  commit(conn, m) {
    const ecdh = crypto.createECDH('prime256v1');
    ecdh.generateKeys();
    let committed = ecdh.getPublicKey();
    if (this.forgeCommitment) {
      const other = crypto.createECDH('prime256v1');
      committed = other.generateKeys();
    }
    const commitment = crypto.createHash('sha256')
      .update(Buffer.concat([committed, conn.nonceWalletRaw])).digest();
    conn.offer = { id: m.id, name: m.name, ecdh, replaces: this.replaced(conn, m) };
    this.send(conn, { type: 'pair.commit', id: m.id, commitment: commitment.toString('base64') });
  }

  /* The pairing pair.begin replaces, if it proves it holds its key (a MAC,
   * b2w and seq 0, over "pair.replace " and its id), as the wallet checks. */
  replaced(conn, m) {
    if (m.replaces === undefined)
      return null;
    const known = this.browsers.get(m.replaces);
    const given = Buffer.from(String(m.proof), 'base64');
    const expected = known && macOf(known.key, 'b2w', m.replaces, conn, 0, `pair.replace ${m.id}`);
    const proven = Boolean(expected) && given.length === expected.length &&
      crypto.timingSafeEqual(expected, given);
    this.replacing.push({ browser: m.replaces, proven });
    return proven ? m.replaces : null;
  }

  async pair(conn, m) {
    const { ecdh, name: hint, replaces } = conn.offer;
    conn.offer = null;
    const publicBrowser = Buffer.from(m.public_key, 'base64');
    const publicWallet = ecdh.getPublicKey();
    const shared = ecdh.computeSecret(publicBrowser);
    const okm = Buffer.from(crypto.hkdfSync('sha256', shared,
      Buffer.concat([Buffer.from(conn.nonceBrowser, 'base64'), conn.nonceWalletRaw]),
      Buffer.concat([Buffer.from(PAIRING_INFO), publicBrowser, publicWallet]), 36));
    const number = okm.readUInt32BE(32) % 1000000;
    const code = String(number).padStart(6, '0').replace(/^(...)/, '$1 ');
    this.codes.push(code);
    this.send(conn, { type: 'pair.key', id: m.id, public_key: publicWallet.toString('base64') });

    const name = await this.approvePairing(code, hint);
    if (!name) {
      this.send(conn, { type: 'pair.done', id: m.id, error: 'denied' });
      return;
    }
    const browser = replaces || 'br_' + crypto.randomBytes(16).toString('hex');
    const key = okm.subarray(0, 32);
    const body = JSON.stringify({ name });
    conn.pending = { id: m.id, browser, key, name, body };
    this.send(conn, { type: 'pair.done', id: m.id, browser, seq: 0, body,
                      mac: macOf(key, 'w2b', browser, conn, 0, body).toString('base64') });
  }

  /* The browser's proof of the key, over pair.done's body: only then is it kept. */
  confirm(conn, m) {
    this.confirms++;
    const { id, browser, key, name, body } = conn.pending;
    conn.pending = null;
    const expected = macOf(key, 'b2w', browser, conn, 0, body);
    const given = Buffer.from(String(m.mac), 'base64');
    if (m.id !== id || m.browser !== browser || m.seq !== 0 || m.body !== body ||
        given.length !== expected.length || !crypto.timingSafeEqual(expected, given)) {
      this.refuse(conn, m.id, 'bad_mac');
      conn.socket.end();
      return;
    }
    this.browsers.set(browser, { key, name });
    conn.browser = browser;
    this.send(conn, { type: 'pair.saved', id });
  }

  request(conn, m) {
    if (this.refuseRequests)
      return this.refuse(conn, m.id, this.refuseRequests);
    if (this.strayError)
      this.refuse(conn, 'not-' + m.id, this.strayError);
    const paired = this.browsers.get(m.browser);
    if (!paired)
      return this.refuse(conn, m.id, 'not_paired');
    const expected = macOf(paired.key, 'b2w', m.browser, conn, m.seq, m.body);
    if (!crypto.timingSafeEqual(expected, Buffer.from(m.mac, 'base64')))
      return this.refuse(conn, m.id, 'bad_mac');
    if (m.seq !== conn.seq + 1)
      return this.refuse(conn, m.id, 'replay');
    conn.seq = m.seq;
    const body = JSON.parse(m.body);
    this.messages.push(body);
    if (body.type === 'browser.forget') {
      this.browsers.delete(m.browser);
      const text = JSON.stringify({ type: 'browser.forgotten' });
      this.send(conn, { type: 'response', id: m.id, seq: m.seq, body: text,
                        mac: macOf(paired.key, 'w2b', m.browser, conn, m.seq, text).toString('base64') });
      conn.socket.end();
      return;
    }
    Promise.resolve(this.answer(body)).then((reply) => {
      if (!reply || conn.socket.destroyed)
        return;
      const text = JSON.stringify(reply);
      const mac = macOf(paired.key, 'w2b', m.browser, conn, m.seq, text);
      if (this.forgeAnswers)
        mac[0] ^= 1;
      this.send(conn, { type: 'response', id: m.id, seq: m.seq, body: text,
                        mac: mac.toString('base64') });
    });
  }

  /* Resolves when the wallet has received @count requests in all. */
  async waitForMessages(count, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > deadline)
        throw new Error(`the wallet received ${this.messages.length} messages, not ${count}`);
      await new Promise((ok) => {
        this.waiters.push(ok);
        setTimeout(ok, 100);
      });
    }
    return this.messages[count - 1];
  }

  stop() {
    for (const socket of this.sockets)
      socket.destroy();
    return new Promise((ok) => this.server.close(() => ok()));
  }
}

module.exports = { WalletPeer };
