// A person in a real browser (Debian's headless Chromium, driven by playwright-core) locks their
// account with ten wrong passwords on Sekisho's Japanese login page, unlocks it from the lock mail,
// and logs in:
//
//   authorization request -> login page (screenshot) -> 10 wrong passwords -> the lock message
//   -> LOCKED on stdout -> unlock URL on stdin -> the unlock page -> 「ロックを解除する」
//   -> authorization request again
//   -> the right password -> the browser is sent to the RP's redirect_uri with a code.
//
// Inputs (environment): AUTHORIZE_URL, REDIRECT_URI (the registered one; nothing listens there),
// EMAIL, PASSWORD, SCREENSHOT (where to save the PNG of the login page), CHROMIUM (default
// /usr/bin/chromium).
//
// Line protocol with the test (tests/e2e/browser.rs), on stdout and stdin:
//   stdout  LOCKED                 the lock message is on screen (the lock mail is due now)
//   stdin   <unlock URL>           the link from the lock mail
//   stdout  {"ok":true,"callback":"<redirect_uri?code=...>","screenshot":"<path>"} and exit 0,
//           or {"ok":false,"step":...,"error":...} and exit 1, at any point.
// Nothing else goes to stdout; progress goes to stderr.
//
// The form is filled through its labels and its button, as a person would. The redirect_uri is
// not served (a redirect target cannot be fulfilled by page.route in Playwright, and Chromium
// refuses port 9 anyway): the test watches for the browser's request to it, which carries the code.

import { env, progressFor, readLine, runWithChromium } from './driver.mjs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const ACTION_TIMEOUT_MS = 15_000;
const WRONG_PASSWORD = 'wrong-Password-1';
const FAILED = 'メールアドレスまたはパスワードが正しくありません。';
const LOCKED = 'ログインを複数回連続して試行したため、アカウントがブロックされました。';
const UNLOCKED = 'アカウントロックを解除しました';
const UNLOCK_BUTTON = 'ロックを解除する';

let step = 'inputs';
let page;


const progress = progressFor('lock-unlock');


// --- The login page ------------------------------------------------------------------------------

/** Waits until the page shows Sekisho's login form in Japanese. */
async function expectJapaneseLoginPage() {
  await page.getByLabel('メールアドレス', { exact: true }).waitFor();
  const lang = await page.locator('html').getAttribute('lang');
  if (lang !== 'ja') throw new Error(`the login page has lang=${lang}, expected ja`);
  const heading = (await page.getByRole('heading', { level: 1 }).textContent())?.trim();
  if (heading !== 'ログイン') throw new Error(`the login page's heading is ${heading}`);
}

/** Fills the form and presses ログイン; waits for the page the OP answers with. */
async function submitLogin(email, password) {
  await page.getByLabel('メールアドレス', { exact: true }).fill(email);
  await page.getByLabel('パスワード', { exact: true }).fill(password);
  const loaded = page.waitForEvent('load');
  await page.getByRole('button', { name: 'ログイン', exact: true }).click();
  await loaded;
}

/** The error message shown on the page ('' when none). */
async function alertText() {
  const alert = page.getByRole('alert');
  return (await alert.count()) ? ((await alert.first().textContent()) ?? '').trim() : '';
}

// --- The walk ------------------------------------------------------------------------------------

async function main(browser, { authorizeUrl, redirectUri, email, password, screenshot }) {
  // A fresh context, as a Japanese visitor's browser (Accept-Language: ja).
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 800, height: 720 } });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  page = await context.newPage();

  step = 'login_page';
  progress(`opening ${authorizeUrl}`);
  await page.goto(authorizeUrl);
  await expectJapaneseLoginPage();
  await page.evaluate(() => document.fonts.ready);
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  progress(`screenshot of the login page: ${screenshot}`);

  for (let attempt = 1; attempt <= 10; attempt++) {
    step = `wrong_password_${attempt}`;
    await submitLogin(email, WRONG_PASSWORD);
    await expectJapaneseLoginPage();
    const shown = await alertText();
    const locked = shown.includes(LOCKED);
    if (attempt < 10 && (locked || !shown.includes(FAILED))) {
      throw new Error(`attempt ${attempt}: expected 「${FAILED}」, the page says 「${shown}」`);
    }
    if (attempt === 10 && !locked) {
      throw new Error(`the tenth failure did not lock: the page says 「${shown}」`);
    }
  }
  progress('locked after ten wrong passwords');
  process.stdout.write('LOCKED\n');

  step = 'unlock_url';
  const unlockUrl = await readLine('unlock URL');
  if (!/^https?:\/\//.test(unlockUrl)) throw new Error(`not a URL: ${unlockUrl}`);

  step = 'unlock';
  progress(`opening the unlock link ${unlockUrl}`);
  const unlockResponse = await page.goto(unlockUrl);
  if (unlockResponse?.status() !== 200) {
    throw new Error(`the unlock link answered ${unlockResponse?.status()}`);
  }
  // ISSUE-16: the link shows a page; its button unlocks (opening a link changes nothing).
  await page.getByRole('button', { name: UNLOCK_BUTTON, exact: true }).click();
  await page.getByText(UNLOCKED).first().waitFor();

  step = 'login_again';
  await page.goto(authorizeUrl);
  await expectJapaneseLoginPage();

  step = 'login';
  // The OP sends the browser to the redirect_uri; nothing listens there, so the request to it is
  // what the RP would have received.
  const toRp = page.waitForRequest((request) => request.url().startsWith(redirectUri));
  await page.getByLabel('メールアドレス', { exact: true }).fill(email);
  await page.getByLabel('パスワード', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'ログイン', exact: true }).click();
  const callback = (await toRp).url();
  progress(`back at the RP: ${callback}`);

  return { ok: true, callback, screenshot };
}

function inputs() {
  return {
    authorizeUrl: env('AUTHORIZE_URL'),
    redirectUri: env('REDIRECT_URI'),
    email: env('EMAIL'),
    password: env('PASSWORD'),
    screenshot: env('SCREENSHOT'),
  };
}

runWithChromium(
  (browser) => main(browser, inputs()),
  () => ({ step, page }),
);
