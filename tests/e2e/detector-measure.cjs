#!/usr/bin/env node
/* detector-measure.cjs: precision and recall of detector.js per field type
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs wallet-client/extension/detector.js in headless Chromium on
 *   1. the Chromium autofill heuristics corpus ($ONEPIN_CORPORA/
 *      chromium-heuristics): input/*.html against output/*.out, Chromium's
 *      own predictions, with the few corrections of detector-errata.tsv;
 *   2. our own forms, tests/e2e/forms/*.html, where each payment field
 *      carries its expected type in data-expect (the detector never reads
 *      data-* attributes) and every other field is expected to be left out.
 * Prints a table per corpus and TAP: one test per card type and corpus,
 * failing below the target (95%) in precision or recall.
 *
 *   node detector-measure.cjs [--verbose] [--target 0.95]
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { launch } = require('./lib/browser.cjs');
const server = require('./lib/server.cjs');

const HERE = __dirname;
const DETECTOR = path.resolve(HERE, '../../wallet-client/extension/detector.js');
const CARD_TYPES = ['cc-number', 'cc-name', 'cc-exp', 'cc-exp-month', 'cc-exp-year',
                    'cc-csc', 'cc-type'];
const BANK_TYPES = ['bank-account-number', 'bank-account-holder', 'bank-name'];

const argv = process.argv.slice(2);
const verbose = argv.includes('--verbose');
const target = argv.includes('--target') ? parseFloat(argv[argv.indexOf('--target') + 1]) : 0.95;

/* Chromium's ServerFieldType names (HTML_TYPE_* when they came from the
 * autocomplete attribute) as our tokens; everything else is "none". */
function tokenOf(chromiumType) {
  const t = chromiumType.replace(/^HTML_TYPE_/, '');
  if (t === 'CREDIT_CARD_NUMBER') return 'cc-number';
  if (t === 'CREDIT_CARD_NAME_FULL') return 'cc-name';
  if (t === 'CREDIT_CARD_EXP_MONTH') return 'cc-exp-month';
  if (/^CREDIT_CARD_EXP_(2|4)_DIGIT_YEAR$/.test(t)) return 'cc-exp-year';
  if (/^CREDIT_CARD_EXP_DATE_(2|4)_DIGIT_YEAR$/.test(t) || t === 'CREDIT_CARD_EXP')
    return 'cc-exp';
  if (t === 'CREDIT_CARD_VERIFICATION_CODE') return 'cc-csc';
  if (t === 'CREDIT_CARD_TYPE') return 'cc-type';
  return 'none';
}

/* The expected fields of a page, one list per form (blank-line separated). */
function parseExpected(file) {
  const forms = [[]];
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    if (line.startsWith('#'))
      continue;
    if (!line.trim()) {
      if (forms[forms.length - 1].length)
        forms.push([]);
      continue;
    }
    const cols = line.split(' | ');
    forms[forms.length - 1].push({ chromium: cols[0].trim(), name: (cols[1] || '').trim(),
                                   value: (cols[3] || '').trim(),
                                   type: tokenOf(cols[0].trim()) });
  }
  return forms.filter((f) => f.length);
}

function parseErrata(file) {
  const errata = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#'))
      continue;
    const [page, name, occurrence, chromium, corrected, reason] = line.split('\t');
    errata.push({ page, name, occurrence: parseInt(occurrence, 10), chromium,
                  corrected, reason });
  }
  return errata;
}

/* Every field Chromium lists for a page, in document order, with our type
 * and its form (-1 outside any form). */
function fieldsInPage() {
  const ours = new Map(OnePinDetector.classify(document).map((r) => [r.element, r.type]));
  const skipped = new Set(['hidden', 'submit', 'button', 'image', 'reset', 'file']);
  const forms = Array.from(document.forms);
  return Array.from(document.querySelectorAll('input, select, textarea'))
    .filter((el) => el.localName !== 'input' ||
                    !skipped.has((el.getAttribute('type') || 'text').toLowerCase()))
    .map((el) => ({
      name: el.getAttribute('name') || el.id || '',
      value: (el.value || '').trim(),
      form: forms.indexOf(el.form),
      type: ours.get(el) || 'none',
      expect: el.getAttribute('data-expect') || 'none',
    }));
}

const same = (e, a) => e.name === a.name && e.value === a.value;

function lcsTable(expected, actual) {
  const n = expected.length, m = actual.length;
  const L = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      L[i][j] = same(expected[i], actual[j]) ? L[i + 1][j + 1] + 1
                                             : Math.max(L[i + 1][j], L[i][j + 1]);
  return L;
}

/* Lines up the expected fields of one form with the page's fields by name
 * and value (a longest common subsequence), so a field Chromium omits or
 * adds does not shift every later comparison. */
function alignForm(expected, actual) {
  const n = expected.length, m = actual.length;
  const L = lcsTable(expected, actual);
  const pairs = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && same(expected[i], actual[j])) {
      pairs.push([expected[i++], actual[j++]]);
    } else if (j < m && (i === n || L[i][j + 1] >= L[i + 1][j])) {
      pairs.push([null, actual[j++]]);
    } else {
      pairs.push([expected[i++], null]);
    }
  }
  return pairs;
}

/* Chromium lists forms in its own order: each expected form goes with the
 * page form (or the formless fields) it shares the most fields with. */
function align(expectedForms, actual) {
  const groups = new Map();
  for (const a of actual) {
    if (!groups.has(a.form))
      groups.set(a.form, []);
    groups.get(a.form).push(a);
  }
  const pageForms = Array.from(groups.values());
  const used = new Set();
  const pairs = [];
  for (const expected of expectedForms) {
    let best = -1, bestScore = -1;
    pageForms.forEach((form, k) => {
      if (used.has(k))
        return;
      const score = lcsTable(expected, form)[0][0];
      if (score > bestScore) {
        best = k;
        bestScore = score;
      }
    });
    if (best < 0) {
      pairs.push(...expected.map((e) => [e, null]));
      continue;
    }
    used.add(best);
    pairs.push(...alignForm(expected, pageForms[best]));
  }
  pageForms.forEach((form, k) => {
    if (!used.has(k))
      pairs.push(...form.map((a) => [null, a]));
  });
  return pairs;
}

class Score {
  constructor() { this.counts = {}; this.misses = []; }
  add(where, name, expected, got) {
    for (const t of [expected, got]) {
      if (t !== 'none' && !this.counts[t])
        this.counts[t] = { tp: 0, fp: 0, fn: 0 };
    }
    if (expected === got) {
      if (got !== 'none')
        this.counts[got].tp++;
      return;
    }
    if (got !== 'none')
      this.counts[got].fp++;
    if (expected !== 'none')
      this.counts[expected].fn++;
    this.misses.push(`${where} ${name || '(no name)'}: expected ${expected}, got ${got}`);
  }
  row(type) {
    const c = this.counts[type] || { tp: 0, fp: 0, fn: 0 };
    const precision = c.tp + c.fp ? c.tp / (c.tp + c.fp) : 1;
    const recall = c.tp + c.fn ? c.tp / (c.tp + c.fn) : 1;
    return Object.assign({ type, precision, recall }, c);
  }
}

function pct(x) {
  return (100 * x).toFixed(1) + '%';
}

function printTable(title, score, types) {
  console.log(`# ${title}`);
  console.log('# type                  fields  TP  FP  FN  precision  recall');
  for (const type of types) {
    const r = score.row(type);
    if (r.tp + r.fp + r.fn === 0)
      continue;
    console.log('# ' + type.padEnd(22) + String(r.tp + r.fn).padStart(6) +
                String(r.tp).padStart(4) + String(r.fp).padStart(4) + String(r.fn).padStart(4) +
                pct(r.precision).padStart(11) + pct(r.recall).padStart(8));
  }
}

async function measurePage(browser, url) {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    await page.addScriptTag({ path: DETECTOR });
    return await page.evaluate(fieldsInPage);
  } finally {
    await page.close();
  }
}

async function measureCorpus(browser, base, corpus, errata) {
  const raw = new Score();
  const corrected = new Score();
  const used = new Set();
  const pages = fs.readdirSync(path.join(corpus, 'input')).filter((f) => f.endsWith('.html')).sort();
  for (const file of pages) {
    const stem = file.replace(/\.html$/, '');
    const outFile = path.join(corpus, 'output', stem + '.out');
    if (!fs.existsSync(outFile))
      continue;
    const expected = parseExpected(outFile);
    const actual = await measurePage(browser, `${base}/corpus/${encodeURIComponent(file)}`);
    const seen = {};
    for (const [e, a] of align(expected, actual)) {
      const name = e ? e.name : a.name;
      seen[name] = (seen[name] || 0) + 1;
      const want = e ? e.type : 'none';
      const got = a ? a.type : 'none';
      if (!e || !a)
        console.log(`# note: ${stem}: field "${name}" only in ${e ? 'the expectation' : 'the page'}`);
      raw.add(stem, name, want, got);
      const fix = errata.find((x) => x.page === stem && x.name === name &&
                                     x.occurrence === seen[name]);
      if (fix) {
        if (fix.chromium !== (e ? e.chromium : ''))
          throw new Error(`erratum for ${stem} ${name} does not match ${e && e.chromium}`);
        used.add(fix);
      }
      corrected.add(stem, name, fix ? fix.corrected : want, got);
    }
  }
  for (const fix of errata)
    if (!used.has(fix))
      throw new Error(`erratum not applied: ${fix.page} ${fix.name}`);
  return { raw, corrected, pages: pages.length };
}

async function measureForms(browser, base) {
  const score = new Score();
  const forms = fs.readdirSync(path.join(HERE, 'forms')).filter((f) => f.endsWith('.html')).sort();
  for (const file of forms) {
    const actual = await measurePage(browser, `${base}/forms/${file}`);
    for (const a of actual)
      score.add(file, a.name, a.expect, a.type);
  }
  return { score, pages: forms.length };
}

async function main() {
  const corporaDir = process.env.ONEPIN_CORPORA;
  if (!corporaDir)
    throw new Error('ONEPIN_CORPORA is not set');
  const corpus = path.join(corporaDir, 'chromium-heuristics');
  const errata = parseErrata(path.join(HERE, 'detector-errata.tsv'));
  const srv = await server.start({
    '/corpus/': path.join(corpus, 'input'),
    '/forms/': path.join(HERE, 'forms'),
    '/node_modules/': path.join(HERE, 'node_modules'),
  });
  const browser = await launch();
  const tests = [];
  let number = 0;
  try {
    const base = `http://127.0.0.1:${srv.port}`;
    const c = await measureCorpus(browser, base, corpus, errata);
    const f = await measureForms(browser, base);

    printTable(`Chromium heuristics corpus, ${c.pages} pages, Chromium's expectations as published`,
               c.raw, CARD_TYPES);
    printTable(`Chromium heuristics corpus, with the ${errata.length} corrections of detector-errata.tsv`,
               c.corrected, CARD_TYPES);
    printTable(`own forms (tests/e2e/forms), ${f.pages} pages`, f.score,
               CARD_TYPES.concat(BANK_TYPES));
    for (const fix of errata)
      console.log(`# erratum: ${fix.page} ${fix.name}: ${fix.chromium} -> ${fix.corrected}: ${fix.reason}`);
    if (verbose)
      for (const miss of c.raw.misses.concat(f.score.misses))
        console.log('# miss: ' + miss);

    for (const [label, score, types] of [['corpus', c.corrected, CARD_TYPES],
                                         ['own forms', f.score, CARD_TYPES.concat(BANK_TYPES)]])
      for (const type of types) {
        const r = score.row(type);
        if (r.tp + r.fp + r.fn === 0)
          continue;
        const ok = r.precision >= target && r.recall >= target;
        number++;
        tests.push(`${ok ? 'ok' : 'not ok'} ${number} - ${label} ${type}: ` +
                   `precision ${pct(r.precision)}, recall ${pct(r.recall)}`);
        if (!ok)
          for (const miss of score.misses.filter((m) => m.includes(type)))
            tests.push('# ' + miss);
      }
  } finally {
    await browser.close();
    await server.stop(srv);
  }
  console.log(`1..${number}`);
  for (const t of tests)
    console.log(t);
  process.exitCode = tests.some((t) => t.startsWith('not ok')) ? 1 : 0;
}

main().catch((err) => {
  console.log('Bail out! ' + (err && err.stack || err).toString().split('\n').join('\n# '));
  process.exitCode = 1;
});
