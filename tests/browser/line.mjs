// A contractor in a real browser (Debian's headless Chromium, driven by playwright-core) sets the
// contract's access route to 回線認証のみ from the account menu, over the internet, and then, in
// the same browser profile, logs in at an RP over a registered line through the carrier gateway
// (the test's nginx in front of Sekisho's line entry), on Sekisho's Japanese pages.
//
//   1. MENU_URL (the account menu's login) -> email and password -> 「認証・契約情報変更メニュー」 ->
//      「アクセス経路設定」 -> 「回線認証のみ」 -> 「設定」 -> 「アクセス経路変更確認」 with its warning
//      (screenshot) -> tick 「上記の説明を確認しました。」 -> 「変更」 -> 「アクセス経路設定完了」
//      (LINE_ONLY on stdout).
//   2. the RP's authorization request on the gateway's line listener (stdin) -> the line host's
//      login page -> email and password -> the RP's redirect_uri with a code (CALLBACK), with no
//      two-step verification page in between.
//
// Inputs (environment): MENU_URL, EMAIL, PASSWORD, REDIRECT_URI (the registered one; nothing
// listens there), SCREENSHOT (where to save the PNG of the confirmation screen), CHROMIUM
// (default /usr/bin/chromium).
//
// Line protocol with the test (tests/e2e/browser_line.rs), on stdout and stdin:
//   stdout  LINE_ONLY <url>       the completion screen is shown (the route is saved by now)
//   stdin   <authorization URL>   the RP's request, on the gateway's listener of a registered line
//   stdout  CALLBACK <url>        the line login reached the RP
//   stdout  {"ok":true,...} and exit 0, or {"ok":false,"step":...,"error":...} and exit 1, at
//           any point.
// Nothing else goes to stdout; progress goes to stderr.
//
// Form fields are found by their labels, buttons and links by their text, as a person would.
// Every navigation of the line login is recorded, so the test sees that no 2FA page came. The
// redirect_uri is not served: the request to it, which carries the code, is what the RP gets.
// Requests that leave the loopback interface are refused.

import { env, progressFor, readLine, within, runWithChromium } from './driver.mjs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const ACTION_TIMEOUT_MS = 15_000;

const LOGIN_TITLE = 'ログイン';
const MENU_LOGIN_TITLE = '認証・契約情報変更ログイン';
const EMAIL_LABEL = 'メールアドレス';
const PASSWORD_LABEL = 'パスワード';
const LOGIN_BUTTON = 'ログイン';
const MENU_TITLE = '認証・契約情報変更メニュー';
const ROUTE_ITEM = 'アクセス経路設定';
const ROUTE_TITLE = 'アクセス経路設定';
const LINE_ONLY = '回線認証のみ';
const SAVE = '設定';
const CONFIRM_TITLE = 'アクセス経路変更確認';
const ACKNOWLEDGE = '上記の説明を確認しました。';
const CHANGE = '変更';
const DONE_TITLE = 'アクセス経路設定完了';

let step = 'inputs';
let page;
const consoleErrors = [];

const progress = progressFor('line');

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
  const lang = await page.locator('html').getAttribute('lang');
  if (lang !== 'ja') throw new Error(`the page 「${expected}」 has lang=${lang}, expected ja`);
}

/** The text of the page's main content, whitespace folded. */
async function mainText() {
  return ((await page.locator('main').textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

/** Fills the login form of the page 「${title}」 and presses ログイン. */
async function submitLogin(title, email, password) {
  await expectHeading(title);
  await page.getByLabel(EMAIL_LABEL, { exact: true }).fill(email);
  await page.getByLabel(PASSWORD_LABEL, { exact: true }).fill(password);
  await page.getByRole('button', { name: LOGIN_BUTTON, exact: true }).click();
}

// --- The walk ------------------------------------------------------------------------------------

async function setLineOnly({ menuUrl, email, password, screenshot }) {
  step = 'account menu login';
  progress(`opening ${menuUrl}`);
  await page.goto(menuUrl);
  await submitLogin(MENU_LOGIN_TITLE, email, password);
  await expectHeading(MENU_TITLE);

  step = 'アクセス経路設定';
  await page.getByRole('link', { name: ROUTE_ITEM, exact: true }).click();
  await expectHeading(ROUTE_TITLE);
  const currentBefore = ((await page.locator('#current-route').textContent()) ?? '').trim();
  await page.getByLabel(LINE_ONLY, { exact: true }).check();
  await page.getByRole('button', { name: SAVE, exact: true }).click();

  step = 'アクセス経路変更確認';
  await expectHeading(CONFIRM_TITLE);
  const after = ((await page.locator('#after').textContent()) ?? '').trim();
  const warning = page.locator('#line-only-warning');
  await warning.waitFor();
  const warningText = ((await warning.textContent()) ?? '').replace(/\s+/g, ' ').trim();
  const acknowledge = page.getByLabel(ACKNOWLEDGE, { exact: true });
  const acknowledgedAtFirst = await acknowledge.isChecked();
  await page.evaluate(() => document.fonts.ready);
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  progress(`screenshot of アクセス経路変更確認: ${screenshot}`);
  await acknowledge.check();
  await page.getByRole('button', { name: CHANGE, exact: true }).click();

  step = 'アクセス経路設定完了';
  await expectHeading(DONE_TITLE);
  const doneText = await mainText();
  progress(`route set, at ${page.url()}`);
  process.stdout.write(`LINE_ONLY ${page.url()}\n`);
  return { currentBefore, after, warningText, acknowledgedAtFirst, doneText, doneUrl: page.url() };
}

async function lineLogin(context, { email, password, redirectUri }) {
  step = 'line authorization URL';
  const authorizeUrl = await readLine('authorization URL over the line');
  if (!/^https?:\/\//.test(authorizeUrl)) throw new Error(`not a URL: ${authorizeUrl}`);

  step = 'the line host login page';
  progress(`opening ${authorizeUrl}`);
  await page.goto(authorizeUrl);
  await expectHeading(LOGIN_TITLE);
  const loginUrl = page.url();

  const navigations = [];
  const record = (request) => {
    if (request.isNavigationRequest()) navigations.push(request.url());
  };
  context.on('request', record);
  // The redirect_uri is not served: the request to it is what the RP would have received.
  const toRp = page.waitForRequest((request) => request.url().startsWith(redirectUri));
  try {
    step = 'password over the line';
    await submitLogin(LOGIN_TITLE, email, password);
    step = 'back to the RP';
    const callback = (await within(toRp, ACTION_TIMEOUT_MS, `redirect to ${redirectUri}`)).url();
    progress(`back at the RP: ${callback}`);
    process.stdout.write(`CALLBACK ${callback}\n`);
    return { loginUrl, callback, navigations };
  } finally {
    context.off('request', record);
  }
}

async function main(browser, inputs) {
  const context = await browser.newContext({
    locale: 'ja-JP',
    viewport: { width: 800, height: 1000 },
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
  const route = await setLineOnly(inputs);
  const line = await lineLogin(context, inputs);
  await context.close();
  return { ok: true, route, line, screenshot: inputs.screenshot };
}

function inputs() {
  return {
    menuUrl: env('MENU_URL'),
    email: env('EMAIL'),
    password: env('PASSWORD'),
    redirectUri: env('REDIRECT_URI'),
    screenshot: env('SCREENSHOT'),
  };
}

runWithChromium(
  (browser) => main(browser, inputs()),
  () => ({ step, page }),
);
