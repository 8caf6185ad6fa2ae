// A person in a real browser (Debian's headless Chromium, driven by playwright-core) changes the
// login method to an Active Directory account and then logs in with it, on Sekisho's Japanese
// pages, in one browser profile. ADFS is the test's pysaml2 IdP: like ADFS for a browser signed
// in to Windows, it shows no form and answers with a page that posts the response to Sekisho's
// ACS by itself; the ACS answers a page that posts it on to /finish on Sekisho's own site.
//
//   1. the login-method-change link -> 「ログイン方法の設定」 -> 「Active Directoryアカウント」
//      -> 「Active Directory接続設定」: the connection ID -> 「次へ」 -> 接続ID確認画面 (the
//      ID shown; screenshot) -> 「確認」 -> ADFS -> ACS -> finish -> 「ログイン方法を変更しました」.
//   2. the authorization request (prompt=login) -> Sekisho's login page -> 「Active Directory
//      アカウントでログイン」 -> the connection ID -> 「次へ」 -> ADFS -> ACS -> finish -> the RP's
//      redirect_uri with a code (CALLBACK).
//
// Inputs (environment): LINK (the login-method-change link), AUTHORIZE_URL (the RP's
// authorization request), CONNECTION_ID (adfs-…), REDIRECT_URI (the registered one; nothing
// listens there), SCREENSHOT (where to save the PNG of 接続ID確認画面), CHROMIUM (default
// /usr/bin/chromium).
//
// Line protocol with the test (tests/e2e/browser_ad.rs), on stdout:
//   CALLBACK <url>     the AD login reached the RP
//   {"ok":true,...} and exit 0, or {"ok":false,"step":...,"error":...} and exit 1, at any point.
// Nothing else goes to stdout; progress goes to stderr.
//
// Links and buttons are found by their text, the connection ID field by its label. Every
// navigation is recorded, so the test sees the round trip through ADFS, the ACS and /finish.
// The redirect_uri is not served: the test watches for the browser's request to it, which
// carries the code. Requests that leave the loopback interface are refused.

import { env, progressFor, within, runWithChromium } from './driver.mjs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const ACTION_TIMEOUT_MS = 15_000;

const METHOD_TITLE = 'ログイン方法の設定';
const AD_BIND = 'Active Directoryアカウント';
const BIND_TITLE = 'Active Directory接続設定';
const CONNECTION_ID_LABEL = '接続ID';
const NEXT = '次へ';
const CONFIRM_SCREEN = '接続ID確認画面';
const CONFIRM = '確認';
const BOUND_TITLE = 'ログイン方法を変更しました';
const LOGIN_TITLE = 'ログイン';
const AD_LOGIN = 'Active Directoryアカウントでログイン';

let step = 'inputs';
let page;
// The page's console errors (a blocked auto-post script shows here), named in failures.
const consoleErrors = [];

const progress = progressFor('ad-login');

function isLoopback(url) {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

// --- Pages ---------------------------------------------------------------------------------------

/** The page's level-1 heading, trimmed ('' when none). */
async function heading() {
  const h1 = page.getByRole('heading', { level: 1 });
  return (await h1.count()) ? ((await h1.first().textContent()) ?? '').trim() : '';
}

/** Waits until the page's h1 is `expected`; says what the page shows otherwise. */
async function expectHeading(expected) {
  try {
    await page.getByRole('heading', { level: 1, name: expected, exact: true }).waitFor();
  } catch (err) {
    const alert = page.getByRole('alert');
    const alertText = (await alert.count()) ? ((await alert.first().textContent()) ?? '').trim() : '';
    throw new Error(
      `expected the page 「${expected}」, got 「${await heading()}」 at ${page.url()}` +
        (alertText ? ` (alert: 「${alertText}」)` : '') +
        (consoleErrors.length ? ` (console: ${consoleErrors.join(' | ')})` : '') +
        ` (${err instanceof Error ? err.message.split('\n')[0] : err})`,
    );
  }
}

/** Fails unless the page is in Japanese. */
async function expectJapanese(what) {
  const lang = await page.locator('html').getAttribute('lang');
  if (lang !== 'ja') throw new Error(`${what} has lang=${lang}, expected ja`);
}

/** Enters the connection ID on 「${title}」 and presses 次へ. */
async function enterConnectionId(title, connectionId) {
  await expectHeading(title);
  await expectJapanese(`the page 「${title}」`);
  await page.getByLabel(CONNECTION_ID_LABEL, { exact: true }).fill(connectionId);
  await page.getByRole('button', { name: NEXT, exact: true }).click();
}

/** Records the URL of every navigation in `context` until the returned `stop()`. */
function recordNavigations(context) {
  const navigations = [];
  const record = (request) => {
    if (request.isNavigationRequest()) navigations.push(request.url());
  };
  context.on('request', record);
  return { navigations, stop: () => context.off('request', record) };
}

// --- The walk ------------------------------------------------------------------------------------

async function bind(inputs, context) {
  const { link, connectionId, screenshot } = inputs;
  step = 'login-method page';
  progress(`opening ${link}`);
  await page.goto(link);
  await expectHeading(METHOD_TITLE);
  await expectJapanese('the login-method page');

  step = 'AD bind button';
  // REQ-AD-3: offered, since the contract has a connection.
  const button = page.getByRole('link', { name: AD_BIND, exact: true });
  const offered = (await button.count()) === 1;
  await button.click();

  step = 'connection ID (bind)';
  await enterConnectionId(BIND_TITLE, connectionId);

  step = '接続ID確認画面';
  await page.getByText(CONFIRM_SCREEN).waitFor();
  const confirmText = ((await page.locator('main').textContent()) ?? '').trim();
  const confirmedId = ((await page.locator('#connection-id').textContent()) ?? '').trim();
  await page.evaluate(() => document.fonts.ready);
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  progress(`screenshot of 接続ID確認画面: ${screenshot}`);

  const { navigations, stop } = recordNavigations(context);
  try {
    step = 'confirm -> ADFS -> ACS -> finish (bind)';
    await page.getByRole('button', { name: CONFIRM, exact: true }).click();
    await expectHeading(BOUND_TITLE);
    await expectJapanese('the bound page');
  } finally {
    stop();
  }
  progress(`bound, at ${page.url()}`);
  return { offered, confirmText, confirmedId, navigations, boundUrl: page.url() };
}

async function logIn(inputs, context) {
  const { authorizeUrl, connectionId, redirectUri } = inputs;
  step = 'login page';
  progress(`opening ${authorizeUrl}`);
  await page.goto(authorizeUrl);
  await expectHeading(LOGIN_TITLE);
  await expectJapanese('the login page');

  // Every request to the redirect_uri from now on (the RP is not served: the request is all
  // there is to see).
  let toRp;
  const callback = new Promise((resolve) => {
    toRp = (request) => {
      if (request.url().startsWith(redirectUri)) resolve(request.url());
    };
    context.on('request', toRp);
  });
  // Its failure: Chromium is then done with the navigation that the auto-posted form began.
  let rpFailed;
  const unreachable = new Promise((resolve) => {
    rpFailed = (request) => {
      if (request.url().startsWith(redirectUri)) resolve(request.failure()?.errorText ?? '');
    };
    context.on('requestfailed', rpFailed);
  });
  const { navigations, stop } = recordNavigations(context);
  try {
    step = 'AD login button';
    await page.getByRole('link', { name: AD_LOGIN, exact: true }).click();

    step = 'connection ID (login) -> ADFS -> ACS -> finish';
    await enterConnectionId(AD_LOGIN, connectionId);

    step = 'back to the RP';
    const url = await within(callback, ACTION_TIMEOUT_MS, `redirect to ${redirectUri}`);
    progress(`back at the RP: ${url}`);
    process.stdout.write(`CALLBACK ${url}\n`);
    // Nothing listens at the redirect_uri. The navigation there began with the ACS page's
    // scripted post, so waiting for the error page's URL races with the navigation's own
    // failure (Playwright rejects with it): wait for the request's failure instead.
    step = "the RP's unreachable page";
    const rpError = await within(unreachable, ACTION_TIMEOUT_MS, `the failed request to ${redirectUri}`);
    return { callback: url, rpError, navigations };
  } finally {
    context.off('request', toRp);
    context.off('requestfailed', rpFailed);
    stop();
  }
}

async function main(browser, inputs) {
  const context = await browser.newContext({
    locale: 'ja-JP',
    viewport: { width: 800, height: 900 },
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  await context.route(
    (url) => !isLoopback(url),
    (route) => route.abort(),
  );
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  const bound = await bind(inputs, context);
  const loggedIn = await logIn(inputs, context);
  await context.close();
  return { ok: true, bound, loggedIn, screenshot: inputs.screenshot };
}

function inputs() {
  return {
    link: env('LINK'),
    authorizeUrl: env('AUTHORIZE_URL'),
    connectionId: env('CONNECTION_ID'),
    redirectUri: env('REDIRECT_URI'),
    screenshot: env('SCREENSHOT'),
  };
}

runWithChromium(
  (browser) => main(browser, inputs()),
  () => ({ step, page }),
);
