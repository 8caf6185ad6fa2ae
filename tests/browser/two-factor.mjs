// A person in a real browser (Debian's headless Chromium, driven by playwright-core) meets
// Sekisho's two-step verification (2段階認証) on the Japanese pages of a contract that has it on:
//
//   1. authorization request -> login page -> the password -> the SMS setup page -> the button for
//      the authenticator app -> the QR code and the secret (SECRET on stdout) -> the code from
//      the test (stdin) with 「このブラウザを一定期間、記憶する」 ticked -> the recovery code, saved
//      -> 「2段階認証完了」 -> 「ログインする」 -> the RP's redirect_uri with a code (CALLBACK1).
//   2. the logout page -> 「ログアウトする」 -> logged out (the remembered-browser cookie stays).
//   3. authorization request again, same browser profile -> the password -> straight to the RP,
//      no 2FA page on the way (CALLBACK2).
//   4. a fresh browser profile -> authorization request -> the password -> the verification page
//      (2段階認証, the code input, 「デバイスを紛失した場合はこちら」), screenshot.
//
// Inputs (environment): AUTHORIZE_URL (steps 1 and 4), AUTHORIZE_URL_AGAIN (step 3), LOGOUT_URL,
// REDIRECT_URI (the registered one; nothing listens there), EMAIL, PASSWORD, SCREENSHOT (where to
// save the PNG of the verification page), CHROMIUM (default /usr/bin/chromium).
//
// Line protocol with the test (tests/e2e/browser_two_factor.rs), on stdout and stdin:
//   stdout  SECRET <base32>        the authenticator secret as the page shows it, spaces removed
//   stdin   <6 digits>             the code an authenticator app would show now (the server's
//                                  clock is the test's fake clock, so the test computes it)
//   stdout  CALLBACK1 <url>        the first login reached the RP
//   stdout  CALLBACK2 <url>        the second login (remembered browser) reached the RP
//   stdout  {"ok":true,...} and exit 0, or {"ok":false,"step":...,"error":...} and exit 1, at
//           any point.
// Nothing else goes to stdout; progress goes to stderr.
//
// Forms are filled through their labels and buttons, as a person would. The redirect_uri is not
// served: the test watches for the browser's request to it, which carries the code.

import { env, progressFor, readLine, runWithChromium } from './driver.mjs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const ACTION_TIMEOUT_MS = 15_000;
const SESSION_COOKIE = 'sekisho_session';
const BROWSER_COOKIE = 'sekisho_browser';

const SETUP_TITLE = '2段階認証の設定';
const VERIFY_TITLE = '2段階認証';
const USE_TOTP = 'QRコードでの認証はこちら';
const CODE_LABEL = '認証コード(6桁)';
const REMEMBER = 'このブラウザを一定期間、記憶する';
const NEXT = '次へ ＞';
const RECOVERY_TITLE = 'リカバリーコード';
const RECOVERY_SAVED = 'リカバリーコードを保存しました';
const DONE_TITLE = '2段階認証完了';
const LOGIN_LINK = 'ログインする';
const LOST_DEVICE = 'デバイスを紛失した場合はこちら';
const LOGOUT_BUTTON = 'ログアウトする';
const LOGGED_OUT = 'ログアウトしました';

let step = 'inputs';
let page;


const progress = progressFor('two-factor');


// --- Pages ---------------------------------------------------------------------------------------

function isTwoFactorUrl(url) {
  try {
    return /\/2fa(\/|$)/.test(new URL(url).pathname);
  } catch {
    return false;
  }
}

/** The page's level-1 heading, trimmed. */
async function heading() {
  return ((await page.getByRole('heading', { level: 1 }).textContent()) ?? '').trim();
}

/** The error message shown on the page ('' when none). */
async function alertText() {
  const alert = page.getByRole('alert');
  return (await alert.count()) ? ((await alert.first().textContent()) ?? '').trim() : '';
}

/** Fails unless the page's h1 is `expected`; says what the page shows otherwise. */
async function expectHeading(expected) {
  const shown = await heading();
  if (shown !== expected) {
    const alert = await alertText();
    throw new Error(
      `expected the page 「${expected}」, got 「${shown}」 at ${page.url()}` +
        (alert ? ` (alert: 「${alert}」)` : ''),
    );
  }
}

/** Waits until the page shows Sekisho's login form in Japanese. */
async function expectJapaneseLoginPage() {
  await page.getByLabel('メールアドレス', { exact: true }).waitFor();
  const lang = await page.locator('html').getAttribute('lang');
  if (lang !== 'ja') throw new Error(`the login page has lang=${lang}, expected ja`);
  await expectHeading('ログイン');
}

/** Fills the login form and presses ログイン (the caller waits for what follows). */
async function submitLogin(email, password) {
  await page.getByLabel('メールアドレス', { exact: true }).fill(email);
  await page.getByLabel('パスワード', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'ログイン', exact: true }).click();
}

/** Logs in with the password and waits for the 2FA page. */
async function loginToTwoFactorPage(email, password) {
  await submitLogin(email, password);
  await page.waitForURL(isTwoFactorUrl);
  await page.waitForLoadState('load');
}

/** Opens a new browser context (a fresh profile) as a Japanese visitor; records navigations. */
async function newProfile(browser, navigations) {
  const context = await browser.newContext({
    locale: 'ja-JP',
    viewport: { width: 800, height: 900 },
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  // Every navigation request, redirect hops included (each hop is a request of its own).
  context.on('request', (request) => {
    if (request.isNavigationRequest()) navigations.push(request.url());
  });
  page = await context.newPage();
  return context;
}

// --- The walk ------------------------------------------------------------------------------------

async function main(browser, inputs) {
  const { authorizeUrl, authorizeUrlAgain, logoutUrl, redirectUri, email, password, screenshot } =
    inputs;
  const navigations = [];
  const context = await newProfile(browser, navigations);

  // 1. Enrolment with the authenticator app.
  step = 'login_page';
  progress(`opening ${authorizeUrl}`);
  await page.goto(authorizeUrl);
  await expectJapaneseLoginPage();

  step = 'login_to_enrolment';
  await loginToTwoFactorPage(email, password);
  const enrolmentUrl = page.url();
  await expectHeading(SETUP_TITLE);
  // The first setup screen is SMS, as in the manuals; the authenticator app is one button away.
  await page.getByLabel('電話番号', { exact: true }).waitFor();

  step = 'choose_authenticator';
  const useTotp = page.getByRole('button', { name: USE_TOTP, exact: true });
  if ((await useTotp.getAttribute('id')) !== 'use-totp') {
    throw new Error('the authenticator choice is not #use-totp');
  }
  await useTotp.click();
  const secretElement = page.locator('code#totp-secret');
  await secretElement.waitFor();
  await expectHeading(SETUP_TITLE);
  const qrCodes = await page.locator('.qr svg').count();
  if (qrCodes !== 1) throw new Error(`expected one inline SVG QR code, found ${qrCodes}`);
  const shownSecret = ((await secretElement.textContent()) ?? '').trim();
  const secret = shownSecret.replace(/\s+/g, '');
  if (!/^[A-Z2-7]+=*$/.test(secret)) throw new Error(`the secret is not base32: 「${shownSecret}」`);
  progress(`authenticator secret on the page: ${shownSecret}`);
  process.stdout.write(`SECRET ${secret}\n`);

  step = 'totp_code';
  const code = await readLine('authenticator code');
  if (!/^[0-9]{6}$/.test(code)) throw new Error(`not a 6-digit code: ${code}`);

  step = 'enter_totp_code';
  await page.getByLabel(CODE_LABEL, { exact: true }).fill(code);
  await page.getByLabel(REMEMBER, { exact: true }).check();
  await page.getByRole('button', { name: NEXT, exact: true }).click();
  const recoveryCode = page.locator('code#recovery-code');
  await recoveryCode.waitFor();
  await expectHeading(RECOVERY_TITLE);
  const recovery = ((await recoveryCode.textContent()) ?? '').trim();
  if (!recovery) throw new Error('the recovery page shows no recovery code');

  step = 'recovery_saved';
  const saved = page.getByLabel(RECOVERY_SAVED, { exact: true });
  if ((await saved.getAttribute('id')) !== 'saved') {
    throw new Error('the recovery checkbox is not #saved');
  }
  await saved.check();
  await page.getByRole('button', { name: NEXT, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: DONE_TITLE, exact: true }).waitFor();

  step = 'back_to_rp_1';
  const loginLink = page.getByRole('link', { name: LOGIN_LINK, exact: true });
  if ((await loginLink.getAttribute('id')) !== 'login') throw new Error('the link is not a#login');
  const toRp1 = page.waitForRequest((request) => request.url().startsWith(redirectUri));
  await loginLink.click();
  const callback1 = (await toRp1).url();
  progress(`back at the RP: ${callback1}`);
  process.stdout.write(`CALLBACK1 ${callback1}\n`);
  const cookiesAfterEnrolment = (await context.cookies(authorizeUrl)).map((c) => c.name).sort();

  // 2. Logout, through the confirmation page.
  step = 'logout_page';
  progress(`opening ${logoutUrl}`);
  await page.goto(logoutUrl);
  const logoutButton = page.getByRole('button', { name: LOGOUT_BUTTON, exact: true });
  await logoutButton.waitFor();
  step = 'logout';
  await logoutButton.click();
  await page.getByRole('heading', { level: 1, name: LOGGED_OUT, exact: true }).waitFor();
  const cookiesAfterLogout = (await context.cookies(authorizeUrl)).map((c) => c.name).sort();
  progress(`cookies after logout: ${cookiesAfterLogout.join(', ')}`);

  // 3. The remembered browser: the password alone.
  step = 'login_remembered';
  const fromSecondLogin = navigations.length;
  progress(`opening ${authorizeUrlAgain}`);
  await page.goto(authorizeUrlAgain);
  await expectJapaneseLoginPage();
  const toRp2 = page.waitForRequest((request) => request.url().startsWith(redirectUri));
  await submitLogin(email, password);
  const callback2 = (await toRp2).url();
  const secondLoginNavigations = navigations.slice(fromSecondLogin);
  const twoFactorPages = secondLoginNavigations.filter(isTwoFactorUrl);
  if (twoFactorPages.length) {
    throw new Error(`the remembered browser was sent to ${twoFactorPages.join(', ')}`);
  }
  progress(`back at the RP without a second factor: ${callback2}`);
  process.stdout.write(`CALLBACK2 ${callback2}\n`);
  await context.close();

  // 4. A fresh profile: asked for the second factor.
  step = 'fresh_profile';
  const freshNavigations = [];
  const fresh = await newProfile(browser, freshNavigations);
  await page.goto(authorizeUrl);
  await expectJapaneseLoginPage();
  step = 'fresh_profile_login';
  await loginToTwoFactorPage(email, password);
  const freshUrl = page.url();
  await expectHeading(VERIFY_TITLE);
  const lang = await page.locator('html').getAttribute('lang');
  if (lang !== 'ja') throw new Error(`the verification page has lang=${lang}, expected ja`);
  const codeInput = page.getByLabel(CODE_LABEL, { exact: true });
  await codeInput.waitFor();
  if ((await codeInput.getAttribute('id')) !== 'code') throw new Error('the code input is not #code');
  const lostDevice = page.getByRole('link', { name: LOST_DEVICE, exact: true });
  await lostDevice.waitFor();
  const lostDeviceHref = await lostDevice.getAttribute('href');
  const freshCookies = (await fresh.cookies(authorizeUrl)).map((c) => c.name).sort();

  step = 'screenshot';
  await page.evaluate(() => document.fonts.ready);
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  progress(`screenshot of the verification page: ${screenshot}`);
  await fresh.close();

  return {
    ok: true,
    enrolmentUrl,
    secret,
    callback1,
    cookiesAfterEnrolment,
    cookiesAfterLogout,
    callback2,
    secondLoginNavigations,
    fresh: {
      url: freshUrl,
      heading: VERIFY_TITLE,
      codeInput: true,
      lostDeviceHref,
      cookies: freshCookies,
      navigations: freshNavigations,
    },
    screenshot,
  };
}

function inputs() {
  return {
    authorizeUrl: env('AUTHORIZE_URL'),
    authorizeUrlAgain: env('AUTHORIZE_URL_AGAIN'),
    logoutUrl: env('LOGOUT_URL'),
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
