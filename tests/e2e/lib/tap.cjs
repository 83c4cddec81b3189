/* tap.js: a minimal TAP producer for the browser tests (meson protocol: tap)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

const assert = require('assert');

const tests = [];

function test(name, fn) {
  tests.push({ name, fn });
}

/* Runs the tests in order; setup's result is passed to each, teardown
 * always runs. Exit status 1 if any failed. */
async function run(setup, teardown) {
  let failed = 0;
  let env = null;
  try {
    env = await setup();
    console.log(`1..${tests.length}`);
    for (let i = 0; i < tests.length; i++) {
      const { name, fn } = tests[i];
      try {
        await fn(env);
        console.log(`ok ${i + 1} - ${name}`);
      } catch (err) {
        failed++;
        console.log(`not ok ${i + 1} - ${name}`);
        console.log(String(err && err.stack || err).split('\n').map((l) => '# ' + l).join('\n'));
      }
    }
  } catch (err) {
    failed++;
    console.log('Bail out! ' + String(err && err.stack || err).split('\n').join('\n# '));
  } finally {
    if (env)
      await teardown(env);
  }
  process.exitCode = failed ? 1 : 0;
}

module.exports = { test, run, assert };
