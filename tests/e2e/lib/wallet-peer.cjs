/* wallet-peer.js: plays the desktop wallet on its Unix socket, for tests
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Listens on DIR/onepin-wallet.sock (mode 0600) and speaks the host's
 * protocol (HACKING.md, "The wallet socket"): frames of a native-endian
 * 32-bit length and a JSON object; the host's hello first, then the
 * browser's messages unchanged. answer(message) returns the reply, or
 * null for none, or a promise of either (a wallet waiting to be unlocked).
 */
'use strict';

const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

function frame(object) {
  const body = Buffer.from(JSON.stringify(object), 'utf8');
  const header = Buffer.alloc(4);
  if (os.endianness() === 'LE')
    header.writeUInt32LE(body.length);
  else
    header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

class WalletPeer {
  constructor(dir) {
    this.path = path.join(dir, 'onepin-wallet.sock');
    this.hellos = [];
    this.messages = [];
    this.answer = () => null;
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
    let buf = Buffer.alloc(0);
    let greeted = false;
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4) {
        const len = os.endianness() === 'LE' ? buf.readUInt32LE(0) : buf.readUInt32BE(0);
        if (buf.length < 4 + len)
          break;
        const message = JSON.parse(buf.subarray(4, 4 + len).toString('utf8'));
        buf = buf.subarray(4 + len);
        if (!greeted) {
          greeted = true;
          this.hellos.push(message);
          continue;
        }
        this.messages.push(message);
        Promise.resolve(this.answer(message)).then((reply) => {
          if (reply && !socket.destroyed)
            socket.write(frame(reply));
        });
        this.waiters.splice(0).forEach((w) => w());
      }
    });
  }

  /* Resolves when the wallet has received @count messages in all. */
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
