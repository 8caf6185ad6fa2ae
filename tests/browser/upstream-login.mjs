// A person in a real browser (Debian's headless Chromium, driven by playwright-core) changes the
// login method to an upstream account and then logs in with it, on Sekisho's Japanese pages, for
// each upstream in turn (Google, then Facebook), all in ONE browser profile:
//
//   1. the login-method-change link -> 「ログイン方法の設定」 (with the advice 「…ログアウトして
//      ください…」) -> 「Googleアカウント」 -> the upstream's login form (any login, any
//      password) -> its consent page (Continue) -> back at Sekisho: 「ログイン方法を変更しました」.
//   2. the authorization request (prompt=login) -> Sekisho's login page (screenshot, the first
//      time) -> 「Googleアカウントでログイン」 -> the upstream: its login form again when it asks
//      for the account (Sekisho sends prompt=select_account to the OpenID kinds), the same login,
//      consent when asked -> the RP's redirect_uri with a code (CALLBACK).
//
// Inputs (environment): UPSTREAMS, a JSON array of {"name": "google"|"facebook"|"microsoft"|
// "daccount", "link": the login-method-change link, "authorizeUrl": an authorization URL,
// "login": the upstream login name}, walked in order; REDIRECT_URI (the registered one; nothing
// listens there); SCREENSHOT (where to save the PNG of the login page with the upstream buttons);
// CHROMIUM (default /usr/bin/chromium).
//
// Line protocol with the test (tests/e2e/browser_upstream.rs), on stdout:
//   CALLBACK <name> <url>        the login with upstream <name> reached the RP
//   {"ok":true,...} and exit 0, or {"ok":false,"step":...,"error":...} and exit 1, at any point.
// Nothing else goes to stdout; progress goes to stderr.
//
// Links and buttons are found by their text, form fields by their names (the upstream's
// development pages have no labels). The redirect_uri is not served: the test watches for the
// browser's request to it, which carries the code. Requests that leave the loopback interface
// (the upstream's development pages import a web font) are refused, so no wait depends on the
// network.

import { env, progressFor, within, runWithChromium } from './driver.mjs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const ACTION_TIMEOUT_MS = 15_000;

const METHOD_TITLE = 'ログイン方法の設定';
const METHOD_ADVICE = 'ログアウトしてください';
const BOUND_TITLE = 'ログイン方法を変更しました';
const LOGIN_TITLE = 'ログイン';
const SERVICES = {
  google: 'Google',
  facebook: 'Facebook',
  microsoft: 'Microsoft',
  daccount: 'd',
};
const bindLabel = (name) => `${SERVICES[name]}アカウント`;
const loginLabel = (name) => `${SERVICES[name]}アカウントでログイン`;

// oidc-provider's development pages (the upstream).
const UPSTREAM_SIGN_IN = 'Sign-in';
const UPSTREAM_CONSENT = 'Continue';

let step = 'inputs';
let page;


const progress = progressFor('upstream-login');

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
        ` (${err instanceof Error ? err.message.split('\n')[0] : err})`,
    );
  }
}

/** Fails unless the page is in Japanese. */
async function expectJapanese(what) {
  const lang = await page.locator('html').getAttribute('lang');
  if (lang !== 'ja') throw new Error(`${what} has lang=${lang}, expected ja`);
}

/** The upstream's login form (oidc-provider's development page). */
const upstreamLoginInput = () => page.locator('form input[name="login"]');
/** The upstream's consent button. */
const upstreamConsent = () => page.getByRole('button', { name: UPSTREAM_CONSENT, exact: true });

/** Fills the upstream's login form and presses Sign-in; returns the form's URL. */
async function upstreamLogin(login, sekishoOrigin) {
  const url = new URL(page.url());
  if (url.origin === sekishoOrigin) {
    throw new Error(`expected the upstream's login form, still at Sekisho: ${page.url()}`);
  }
  await page.locator('form input[name="password"]').waitFor();
  await upstreamLoginInput().fill(login);
  await page.locator('form input[name="password"]').fill('any-password');
  await page.getByRole('button', { name: UPSTREAM_SIGN_IN, exact: true }).click();
  return url.toString();
}

/**
 * Waits for whichever comes first: `locator` visible (resolves 'page') or the browser's request to
 * the redirect_uri (`callback`, resolves 'callback'). The loser is left to fail quietly.
 */
async function pageOrCallback(locator, callback, what) {
  const shown = locator.waitFor().then(() => 'page');
  shown.catch(() => {});
  return within(
    Promise.race([shown, callback.then(() => 'callback')]),
    ACTION_TIMEOUT_MS + 1_000,
    what,
  );
}

// --- The walk ------------------------------------------------------------------------------------

async function bind(upstream, sekishoOrigin) {
  const { name, link, login } = upstream;
  step = `${name}: login-method page`;
  progress(`opening ${link}`);
  await page.goto(link);
  await expectHeading(METHOD_TITLE);
  await expectJapanese('the login-method page');
  // REQ-USER-3: the advice to log out of the services before registering.
  await page.getByText(METHOD_ADVICE).waitFor({ state: 'visible' });
  const advice = ((await page.getByText(METHOD_ADVICE).textContent()) ?? '').trim();

  step = `${name}: bind button`;
  // ISSUE-16: binding starts from a form (ticket and CSRF token), never from a link.
  const bindButton = page.getByRole('button', { name: bindLabel(name), exact: true });
  const bindAction = await bindButton.evaluate((b) => b.form?.getAttribute('action') ?? null);
  await bindButton.click();
  await upstreamLoginInput().waitFor();
  const upstreamOrigin = new URL(page.url()).origin;
  if (upstreamOrigin === sekishoOrigin) {
    throw new Error(`the bind button stayed at Sekisho: ${page.url()}`);
  }
  progress(`${name}: the upstream's login form at ${page.url()}`);

  step = `${name}: upstream login (bind)`;
  const loginForm = await upstreamLogin(login, sekishoOrigin);

  step = `${name}: upstream consent (bind)`;
  await upstreamConsent().waitFor();
  await upstreamConsent().click();

  step = `${name}: bound`;
  await expectHeading(BOUND_TITLE);
  await expectJapanese('the bound page');
  const boundUrl = page.url();
  progress(`${name}: bound, at ${boundUrl}`);
  return { advice, bindAction, upstreamOrigin, loginForm, boundUrl };
}

async function logIn(upstream, inputs, context, upstreamOrigin, screenshotTaken) {
  const { name, authorizeUrl, login } = upstream;
  const { redirectUri, screenshot } = inputs;
  step = `${name}: login page`;
  progress(`opening ${authorizeUrl}`);
  await page.goto(authorizeUrl);
  await page.locator('input[name="email"]').waitFor();
  await expectHeading(LOGIN_TITLE);
  await expectJapanese('the login page');
  const button = page.getByRole('link', { name: loginLabel(name), exact: true });
  await button.waitFor();
  const buttons = (await page.locator('a.button').allTextContents()).map((t) => t.trim());

  let screenshotPath = null;
  if (!screenshotTaken) {
    step = `${name}: screenshot`;
    await page.evaluate(() => document.fonts.ready);
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    screenshotPath = screenshot;
    progress(`screenshot of the login page: ${screenshot}`);
  }

  // Every request to the redirect_uri from now on (the RP is not served: the request is all
  // there is to see).
  let toRp;
  const callback = new Promise((resolve) => {
    toRp = (request) => {
      if (request.url().startsWith(redirectUri)) resolve(request.url());
    };
    context.on('request', toRp);
  });
  const navigations = [];
  const record = (request) => {
    if (request.isNavigationRequest()) navigations.push(request.url());
  };
  context.on('request', record);

  try {
    step = `${name}: upstream login button`;
    await button.click();
    // The upstream asks for the account (its login form) or, with a session and no account
    // choice, sends the browser straight back.
    const first = await pageOrCallback(
      upstreamLoginInput(),
      callback,
      `upstream login form or redirect to ${redirectUri} after 「${loginLabel(name)}」`,
    );
    let loginFormAgain = false;
    let consentAgain = false;
    let upstreamLoginUrl = null;
    if (first === 'page') {
      loginFormAgain = true;
      step = `${name}: upstream login (account choice)`;
      upstreamLoginUrl = await upstreamLogin(login, new URL(authorizeUrl).origin);
      const second = await pageOrCallback(
        upstreamConsent(),
        callback,
        `upstream consent or redirect to ${redirectUri} after the login`,
      );
      if (second === 'page') {
        consentAgain = true;
        step = `${name}: upstream consent (login)`;
        await upstreamConsent().click();
      }
    }
    step = `${name}: back to the RP`;
    const url = await within(callback, ACTION_TIMEOUT_MS, `redirect to ${redirectUri}`);
    progress(`${name}: back at the RP: ${url}`);
    process.stdout.write(`CALLBACK ${name} ${url}\n`);
    // Nothing listens at the redirect_uri: let Chromium settle on its error page, so that its
    // navigation cannot interrupt the next one.
    step = `${name}: the RP's unreachable page`;
    await page.waitForURL((u) => u.protocol === 'chrome-error:');
    const upstreamHops = navigations.filter((u) => new URL(u).origin === upstreamOrigin);
    return {
      callback: url,
      loginButtons: buttons,
      loginFormAgain,
      consentAgain,
      upstreamLoginUrl,
      upstreamHops,
      navigations,
      screenshot: screenshotPath,
    };
  } finally {
    context.off('request', toRp);
    context.off('request', record);
  }
}

async function main(browser, inputs) {
  const context = await browser.newContext({
    locale: 'ja-JP',
    viewport: { width: 800, height: 900 },
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  // Nothing beyond loopback (the upstream's pages @import a web font).
  await context.route(
    (url) => !isLoopback(url),
    (route) => route.abort(),
  );
  page = await context.newPage();

  const results = {};
  let screenshotTaken = false;
  for (const upstream of inputs.upstreams) {
    if (!SERVICES[upstream.name]) throw new Error(`unknown upstream ${upstream.name}`);
    const sekishoOrigin = new URL(upstream.link).origin;
    const bound = await bind(upstream, sekishoOrigin);
    const loggedIn = await logIn(upstream, inputs, context, bound.upstreamOrigin, screenshotTaken);
    screenshotTaken = screenshotTaken || loggedIn.screenshot !== null;
    results[upstream.name] = { login: upstream.login, bound, loggedIn };
  }
  await context.close();
  return { ok: true, upstreams: results, screenshot: inputs.screenshot };
}

function inputs() {
  const upstreams = JSON.parse(env('UPSTREAMS'));
  if (!Array.isArray(upstreams) || upstreams.length === 0) {
    throw new Error('UPSTREAMS is not a non-empty JSON array');
  }
  return {
    upstreams,
    redirectUri: env('REDIRECT_URI'),
    screenshot: env('SCREENSHOT'),
  };
}

runWithChromium(
  (browser) => main(browser, inputs()),
  () => ({ step, page }),
);
