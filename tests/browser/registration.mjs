// A person in a real browser (Debian's headless Chromium, driven by playwright-core) registers
// from the invitation mail's link and logs in for the first time, on Sekisho's Japanese pages:
//
//   1. the registration link -> 「利用者ログイン登録」 (the invited address shown) -> パスワード and
//      パスワード (確認用) with a too-short password -> 「登録」 -> the same page with
//      「パスワードが短すぎます…」 -> a good password -> 「登録」 -> 「申込確認」 (登録方法
//      「メールアドレス・パスワードで登録」, the address, the password 「(非表示)」; screenshot) ->
//      「確認」 -> 「申込完了」 -> its link 「ログイン画面へ戻る」 -> the login page.
//   2. the RP's authorization request -> the login page -> the new address and password ->
//      「ログイン」 -> the RP's redirect_uri with a code (CALLBACK).
//   3. the registration link again -> 「URLが無効です」 (single use).
//
// Inputs (environment): REGISTRATION_URL (the link of the invitation mail), AUTHORIZE_URL (the
// RP's authorization request), REDIRECT_URI (the registered one; nothing listens there), EMAIL
// (the invited address), SHORT_PASSWORD (refused: too short), PASSWORD (accepted), SCREENSHOT
// (where to save the PNG of 申込確認), CHROMIUM (default /usr/bin/chromium).
//
// Line protocol with the test (tests/e2e/browser_registration.rs), on stdout:
//   CALLBACK <url>     the first login reached the RP
//   {"ok":true,...} and exit 0, or {"ok":false,"step":...,"error":...} and exit 1, at any point.
// Nothing else goes to stdout; progress goes to stderr.
//
// Forms are filled through their labels and buttons, as a person would. The redirect_uri is not
// served: the test watches for the browser's request to it, which carries the code.

import { env, progressFor, within, runWithChromium } from './driver.mjs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const ACTION_TIMEOUT_MS = 15_000;

const REGISTRATION_TITLE = '利用者ログイン登録';
const PASSWORD_LABEL = 'パスワード';
const CONFIRM_LABEL = 'パスワード (確認用)';
const REGISTER = '登録';
const TOO_SHORT = 'パスワードが短すぎます';
const CONFIRM_TITLE = '申込確認';
const METHOD_PASSWORD = 'メールアドレス・パスワードで登録';
const PASSWORD_HIDDEN = '(非表示)';
const CONFIRM = '確認';
const DONE_TITLE = '申込完了';
const TO_LOGIN = 'ログイン画面へ戻る';
const LOGIN_TITLE = 'ログイン';
const EMAIL_LABEL = 'メールアドレス';
const LOGIN_BUTTON = 'ログイン';
const INVALID_TITLE = 'URLが無効です';

let step = 'inputs';
let page;

const progress = progressFor('registration');

// --- Pages ---------------------------------------------------------------------------------------

/** The page's level-1 heading, trimmed ('' when none). */
async function heading() {
  const h1 = page.getByRole('heading', { level: 1 });
  return (await h1.count()) ? ((await h1.first().textContent()) ?? '').trim() : '';
}

/** The error messages shown on the page, trimmed. */
async function alerts() {
  return (await page.getByRole('alert').allTextContents()).map((t) => t.trim());
}

/** Waits until the page's h1 is `expected`; says what the page shows otherwise. */
async function expectHeading(expected) {
  try {
    await page.getByRole('heading', { level: 1, name: expected, exact: true }).waitFor();
  } catch (err) {
    const shown = await alerts();
    throw new Error(
      `expected the page 「${expected}」, got 「${await heading()}」 at ${page.url()}` +
        (shown.length ? ` (alert: 「${shown.join('」「')}」)` : '') +
        ` (${err instanceof Error ? err.message.split('\n')[0] : err})`,
    );
  }
}

/** Fails unless the page is in Japanese. */
async function expectJapanese(what) {
  const lang = await page.locator('html').getAttribute('lang');
  if (lang !== 'ja') throw new Error(`${what} has lang=${lang}, expected ja`);
}

/** The trimmed text of `locator`, once it is there. */
async function textOf(locator) {
  await locator.waitFor();
  return ((await locator.textContent()) ?? '').trim();
}

/** Fills both password fields of 利用者ログイン登録 and presses 登録. */
async function submitPassword(password) {
  await page.getByLabel(PASSWORD_LABEL, { exact: true }).fill(password);
  await page.getByLabel(CONFIRM_LABEL, { exact: true }).fill(password);
  await page.getByRole('button', { name: REGISTER, exact: true }).click();
}

/** The terms of 申込確認 (登録方法, メールアドレス, パスワード) as {label: value}. */
async function confirmationTerms() {
  return page.locator('dl').evaluate((dl) => {
    const terms = {};
    for (const dt of dl.querySelectorAll('dt')) {
      const dd = dt.nextElementSibling;
      terms[dt.textContent.trim()] = dd && dd.tagName === 'DD' ? dd.textContent.trim() : null;
    }
    return terms;
  });
}

// --- The walk ------------------------------------------------------------------------------------

async function register(inputs) {
  const { registrationUrl, email, shortPassword, password, screenshot } = inputs;

  step = 'registration page';
  progress(`opening ${registrationUrl}`);
  await page.goto(registrationUrl);
  await expectHeading(REGISTRATION_TITLE);
  await expectJapanese('the registration page');
  const shownEmail = await textOf(page.locator('#email'));
  if (shownEmail !== email) {
    throw new Error(`the registration page shows 「${shownEmail}」, expected ${email}`);
  }

  step = 'too-short password';
  await submitPassword(shortPassword);
  await page.getByRole('alert').filter({ hasText: TOO_SHORT }).first().waitFor();
  await expectHeading(REGISTRATION_TITLE);
  const refusedWith = await alerts();
  progress(`refused: ${refusedWith.join(' / ')}`);

  step = 'good password';
  await submitPassword(password);
  await expectHeading(CONFIRM_TITLE);
  await expectJapanese('the confirmation page');
  const terms = await confirmationTerms();
  const body = await page.locator('body').innerText();
  if (body.includes(password)) throw new Error('申込確認 shows the password');
  if (body.includes(shortPassword)) throw new Error('申込確認 shows the refused password');

  step = 'screenshot';
  await page.evaluate(() => document.fonts.ready);
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  progress(`screenshot of 申込確認: ${screenshot}`);

  step = 'confirm';
  await page.getByRole('button', { name: CONFIRM, exact: true }).click();
  await expectHeading(DONE_TITLE);
  await expectJapanese('the completion page');
  const doneText = await textOf(page.locator('h1 + p'));

  step = 'to the login page';
  const toLogin = page.getByRole('link', { name: TO_LOGIN, exact: true });
  const toLoginHref = await toLogin.getAttribute('href');
  await toLogin.click();
  await page.waitForURL((u) => u.pathname === toLoginHref);
  await expectHeading(LOGIN_TITLE);
  await page.getByLabel(EMAIL_LABEL, { exact: true }).waitFor();
  await expectJapanese('the login page');
  const loginPageUrl = page.url();
  progress(`registered; at the login page ${loginPageUrl}`);

  return { shownEmail, refusedWith, terms, doneText, toLoginHref, loginPageUrl };
}

async function firstLogin(inputs, context) {
  const { authorizeUrl, redirectUri, email, password } = inputs;

  step = 'authorization request';
  progress(`opening ${authorizeUrl}`);
  await page.goto(authorizeUrl);
  await expectHeading(LOGIN_TITLE);
  await expectJapanese('the login page');
  const loginFormUrl = page.url();

  // The request to the redirect_uri (the RP is not served: the request is all there is to see).
  let toRp;
  const callback = new Promise((resolve) => {
    toRp = (request) => {
      if (request.url().startsWith(redirectUri)) resolve(request.url());
    };
    context.on('request', toRp);
  });
  try {
    step = 'login';
    await page.getByLabel(EMAIL_LABEL, { exact: true }).fill(email);
    await page.getByLabel(PASSWORD_LABEL, { exact: true }).fill(password);
    await page.getByRole('button', { name: LOGIN_BUTTON, exact: true }).click();
    step = 'back to the RP';
    const url = await within(callback, ACTION_TIMEOUT_MS, `redirect to ${redirectUri}`);
    progress(`back at the RP: ${url}`);
    process.stdout.write(`CALLBACK ${url}\n`);
    // Nothing listens at the redirect_uri: let Chromium settle on its error page, so that its
    // navigation cannot interrupt the next one.
    step = "the RP's unreachable page";
    await page.waitForURL((u) => u.protocol === 'chrome-error:');
    return { loginFormUrl, callback: url };
  } finally {
    context.off('request', toRp);
  }
}

async function reopen(inputs) {
  step = 'registration link again';
  progress(`opening ${inputs.registrationUrl} again`);
  await page.goto(inputs.registrationUrl);
  await expectHeading(INVALID_TITLE);
  await expectJapanese('the invalid-link page');
  const passwordFields = await page.getByLabel(PASSWORD_LABEL, { exact: true }).count();
  if (passwordFields) throw new Error('the used link still shows the password form');
  return { heading: INVALID_TITLE, text: await textOf(page.locator('h1 + p')) };
}

async function main(browser, inputs) {
  const context = await browser.newContext({
    locale: 'ja-JP',
    viewport: { width: 800, height: 900 },
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  page = await context.newPage();

  const registered = await register(inputs);
  const loggedIn = await firstLogin(inputs, context);
  const reopened = await reopen(inputs);
  await context.close();
  return {
    ok: true,
    registered,
    callback: loggedIn.callback,
    loginFormUrl: loggedIn.loginFormUrl,
    reopened,
    screenshot: inputs.screenshot,
  };
}

function inputs() {
  return {
    registrationUrl: env('REGISTRATION_URL'),
    authorizeUrl: env('AUTHORIZE_URL'),
    redirectUri: env('REDIRECT_URI'),
    email: env('EMAIL'),
    shortPassword: env('SHORT_PASSWORD'),
    password: env('PASSWORD'),
    screenshot: env('SCREENSHOT'),
  };
}

runWithChromium(
  (browser) => main(browser, inputs()),
  () => ({ step, page }),
);
