// What every Chromium driver here shares (lock-unlock.mjs, two-factor.mjs, upstream-login.mjs):
// environment inputs, progress on stderr, bounded reads of stdin lines, Debian's Chromium launched
// with the flags that keep it off the network, and the final JSON report on stdout
// ({"ok":true,...} and exit 0, or {"ok":false,"step":...,"error":...} and exit 1).

import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const STDIN_TIMEOUT_MS = 60_000;

/** An environment variable, or `fallback`; throws when neither is there. */
export function env(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`environment variable ${name} is not set`);
  }
  return value;
}

/** A progress printer for stderr (stdout carries only the protocol). */
export function progressFor(script) {
  return (message) => process.stderr.write(`${script}: ${message}\n`);
}

/** Rejects after `ms` unless `promise` settles first. */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

let stdinLines;

/** The next line the test writes on stdin, within a minute. */
export async function readLine(what) {
  stdinLines ??= createInterface({ input: process.stdin, crlfDelay: Infinity })[
    Symbol.asyncIterator
  ]();
  const next = await within(stdinLines.next(), STDIN_TIMEOUT_MS, `${what} on stdin`);
  if (next.done) throw new Error(`stdin closed before the ${what}`);
  return next.value.trim();
}

function describe(err) {
  return err instanceof Error ? err.message : String(err);
}

function finish(result, code) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(code));
}

/**
 * Launches Chromium, runs `main(browser)`, and prints the report. On failure, `where()` tells the
 * step and the page the script was on; the page's URL and text are read before the browser closes.
 */
export async function runWithChromium(main, where) {
  let browser;
  let result;
  try {
    browser = await chromium.launch({
      executablePath: env('CHROMIUM', '/usr/bin/chromium'),
      headless: true,
      timeout: 30_000,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    });
    result = await main(browser);
  } catch (err) {
    let { step, page } = where();
    if (page && !page.isClosed()) {
      const text = await page
        .locator('body')
        .innerText({ timeout: 2_000 })
        .catch(() => '');
      step = `${step} (page: ${page.url()}${text ? `, text: ${text.replace(/\s+/g, ' ').slice(0, 300)}` : ''})`;
    }
    await browser?.close().catch(() => {});
    return finish({ ok: false, step, error: describe(err) }, 1);
  }
  await browser.close().catch(() => {});
  return finish(result, 0);
}
