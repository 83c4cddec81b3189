/* browser.js: starts the Debian chromium for a test, headless
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const executablePath = process.env.ONEPIN_CHROMIUM || '/usr/bin/chromium';

function baseArgs() {
  const args = ['--disable-gpu', '--no-first-run', '--no-default-browser-check',
                '--disable-dev-shm-usage', '--disable-background-networking'];
  /* Chromium's sandbox refuses to run as root (CI containers). */
  if (process.getuid && process.getuid() === 0)
    args.push('--no-sandbox');
  return args;
}

async function launch(extraArgs = []) {
  return chromium.launch({ executablePath, headless: true,
                           args: baseArgs().concat(extraArgs) });
}

/* A persistent profile in a temporary directory, with the extension loaded
 * unpacked. Extensions need the new headless mode. prepare(profileDir)
 * runs before the browser starts (to install native-messaging manifests);
 * env is the browser's environment, which native hosts inherit. */
async function launchWithExtension(extensionDir, { args = [], env, prepare } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'onepin-chromium-'));
  if (prepare)
    prepare(profile);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: false,
    env: env || process.env,
    args: baseArgs().concat([
      '--headless=new',
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
    ], args),
  });
  const close = context.close.bind(context);
  context.close = async () => {
    await close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return context;
}

module.exports = { launch, launchWithExtension, executablePath };
