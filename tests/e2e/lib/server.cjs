/* server.js: a static file server on 127.0.0.1 for the browser tests
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mounts maps a URL prefix to a directory: { '/forms/': dir, ... }.
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
};

function resolve(mounts, urlPath) {
  for (const [prefix, dir] of Object.entries(mounts)) {
    if (!urlPath.startsWith(prefix))
      continue;
    const file = path.join(dir, path.normalize(urlPath.slice(prefix.length)));
    if (file.startsWith(path.resolve(dir) + path.sep) && fs.existsSync(file) &&
        fs.statSync(file).isFile())
      return file;
  }
  return null;
}

function start(mounts, routes = {}) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (routes[url.pathname])
      return routes[url.pathname](req, res, url);
    const file = resolve(mounts, decodeURIComponent(url.pathname));
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found\n');
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
                         'Cache-Control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    server.port = server.address().port;
    ok(server);
  }));
}

function stop(server) {
  server.closeAllConnections();
  return new Promise((ok) => server.close(ok));
}

module.exports = { start, stop };
