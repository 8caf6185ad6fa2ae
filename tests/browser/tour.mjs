// The page tour (ISSUE-16): Debian's headless Chromium visits every hosted page in Japanese and
// English, at desktop (1280×800) and phone (390×844, touch) width, saves a full-page screenshot
// of each and runs axe-core on it (WCAG 2.0/2.1 A and AA, and axe's best practices). The
// language is the browser's (its locale, hence Accept-Language), as a visitor's would be.
//
// Inputs (environment): TOUR_PLAN, the JSON the test (tests/e2e/pages_a11y.rs) prepared (the
// server, the accounts in each state, the mailed links: see "Plan" below); ARTIFACTS, the folder
// the screenshots go under (ARTIFACTS/{lang}-{width}/{NN}-{page}.png, emptied first);
// TOUR_PARALLEL, how many variants run side by side (default 2); CHROMIUM (default
// /usr/bin/chromium).
//
// Output on stdout: `PAGE {variant} {n} {page}` as each page is done (`MISSED {variant} {page}`
// when a stop did not get there), `VARIANT {variant}` as a variant ends, `DONE`, then the report
// ({"ok":true,...}, or {"ok":false,"step":...,"error":...} when the tour itself broke: driver.mjs):
//   variants    per variant (ja-1280, ja-390, en-1280, en-390): each page shown, in order (its
//               template from <body data-page>, URL, screenshot, console errors)
//   violations  axe violations of impact serious or critical (rule, help, nodes), with the page
//   minor       the other axe findings
//   problems    stops that did not reach their page (the rest of that walk is skipped)
//   skipped     stops whose plan values were missing
//   language    pages whose <html lang> was not the variant's
//   overflow    pages wider than the viewport (sideways scrolling), with the elements that stick out
// Progress, with timings, goes to stderr.
//
// The tour is WALKS: each starts with no cookies and is a list of stops; a stop names the
// template it must end on (`page`) and how it gets there: `path` (a GET under the brand, or a URL
// from the plan) or `act` (clicks and form posts from the page before). Adding a page is one stop.
// The test checks that every template of crates/sekisho-web/src/pages.rs was seen in every
// variant, so a page nobody added here fails loudly. Stops change nothing that a later stop or
// variant needs (links are opened, not spent; confirmation pages are shown, not confirmed).
//
// Nothing leaves the loopback interface (requests elsewhere are aborted). The pages run under
// their own CSP; axe is evaluated through the DevTools protocol, which the CSP does not govern.

import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { env, progressFor, runWithChromium } from './driver.mjs';

const ACTION_TIMEOUT_MS = 15_000;
const progress = progressFor('tour');
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const AXE_OPTIONS = {
  runOnly: {
    type: 'tag',
    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
  },
  resultTypes: ['violations'],
};
const BLOCKING = new Set(['serious', 'critical']);

const VARIANTS = [
  { lang: 'ja', width: 1280 },
  { lang: 'ja', width: 390 },
  { lang: 'en', width: 1280 },
  { lang: 'en', width: 390 },
];

function contextOptions({ lang, width }) {
  const locale = lang === 'ja' ? 'ja-JP' : 'en-US';
  if (width < 600) {
    return {
      locale,
      viewport: { width, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    };
  }
  return { locale, viewport: { width, height: 800 } };
}

// --- What a stop can do --------------------------------------------------------------------------

/** The value at `key` of the plan (`a.b.c`, per-variant values under `variant`). */
function planValue(t, key) {
  let value = { ...t.plan, variant: t.plan.variants[t.variant.key] };
  for (const part of key.split('.')) value = value?.[part];
  return value;
}

/** Opens `path` under the brand (or an absolute URL). */
async function open(t, path) {
  const url = /^https?:\/\//.test(path) ? path : `${t.plan.base}/${t.plan.brand}${path}`;
  await t.tab.goto(url, { waitUntil: 'load' });
}

/**
 * Fills the form `form` (a selector: the first match) with `fields` ({selector: value}; `true`
 * checks a box or radio) and presses its submit button; waits for the page that follows.
 */
async function submit(t, form, fields = {}, button = '[type=submit]') {
  const f = t.tab.locator(form).first();
  for (const [selector, value] of Object.entries(fields)) {
    const input = f.locator(selector).first();
    if (value === true) await input.check();
    else await input.fill(value);
  }
  const navigated = t.tab.waitForEvent('framenavigated', {
    predicate: (frame) => frame === t.tab.mainFrame(),
  });
  await f.locator(button).first().click();
  await navigated;
  await t.tab.waitForLoadState('load');
}

/** Follows the link `selector` and waits for its page. */
async function follow(t, selector) {
  const navigated = t.tab.waitForEvent('framenavigated', {
    predicate: (frame) => frame === t.tab.mainFrame(),
  });
  await t.tab.locator(selector).first().click();
  await navigated;
  await t.tab.waitForLoadState('load');
}

/** Logs `email` in on the current page's login form (every test account has the plan's password). */
async function logIn(t, email) {
  await submit(t, 'form:has(#password)', { '#email': email, '#password': t.plan.password });
}

/** RFC 6238 (SHA-1, 6 digits, 30 s) at the server's time: the test's authenticator app. */
function totp(spacedSecret, now) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of spacedSecret.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${spacedSecret}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

/**
 * Posts `fields` to `path` under the brand from the current page, as ADFS's form would (from the
 * page's own origin: form-action 'self' allows it). Waits for the answer to arrive, not for it
 * to settle: a page that posts itself on at once never settles for Playwright.
 */
async function postFrom(t, path, fields) {
  const navigated = t.tab.waitForEvent('framenavigated', {
    predicate: (frame) => frame === t.tab.mainFrame(),
  });
  await t.tab.evaluate(
    ({ action, fields }) => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = action;
      for (const [name, value] of Object.entries(fields)) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        form.append(input);
      }
      document.body.append(form);
      form.submit();
    },
    { action: `/${t.plan.brand}${path}`, fields },
  );
  await navigated;
}

// --- The walks -----------------------------------------------------------------------------------
//
// Plan (from the test): base, brand, password, now (the server's clock, Unix seconds), contractor
// (email), pendingContractor (email: a login-method change pending), lineUser (email), authorizeUrl, otherBrands [{code, colour}] (brands in other colours),
// links {invitation, reset, emailChange, emailChangeConfirm, loginMethod, adBind, lineRecovery,
// unlock}, users {name: id}
// (the console's detail pages), deviceUserCode (a device waiting for its user), lineNumber,
// adConnectionId, lineHost (the carrier gateway's
// listener of a West Japan line), variants {key: {twoFactor}} (an account of a 2FA contract that
// has not enrolled yet, one per variant). A stop with `needs` is skipped when the plan lacks it.

const WALKS = [
  {
    name: 'signed out',
    stops: [
      { page: 'login', note: 'the RP sends the browser', path: (t) => t.plan.authorizeUrl },
      {
        page: 'login',
        note: 'wrong password',
        act: (t) => submit(t, 'form:has(#password)', { '#email': 'nobody@example.jp', '#password': 'wrong-password-1' }),
      },
      { page: 'forgot', path: '/password/forgot' },
      {
        page: 'message',
        note: 'forgot password: sent',
        act: (t) => submit(t, 'form:has(#email)', { '#email': 'nobody@example.jp' }),
      },
      { page: 'message', note: 'unknown path (404)', path: '/no-such-page' },
      { page: 'message', note: 'a form address opened (405)', path: '/admin/invite' },
      { page: 'unlock_confirm', note: 'the unlock link (only its button unlocks)', path: (t) => t.plan.links.unlock },
      { page: 'set_password', note: 'password reset', path: (t) => t.plan.links.reset },
      {
        page: 'set_password',
        note: 'reset: passwords differ',
        act: (t) => submit(t, 'form:has(#new)', { '#new': 'short', '#confirm': 'other' }),
      },
      { page: 'login_method', note: 'registration (invitation)', path: (t) => t.plan.links.invitation },
      {
        page: 'registration_confirm',
        act: (t) => submit(t, 'form:has(#new)', { '#new': t.plan.password, '#confirm': t.plan.password }),
      },
      {
        page: 'registration_confirm',
        note: 'registration with Google',
        path: (t) => t.plan.links.invitation.replace('/registration?', '/registration/upstream/google?'),
      },
      { page: 'login_method', note: 'login-method change', path: (t) => t.plan.links.loginMethod },
      { page: 'login_method', note: 'email change', path: (t) => t.plan.links.emailChange },
      {
        page: 'email_change_confirm',
        note: 'email change of a Google user',
        path: (t) => t.plan.links.emailChangeConfirm,
      },
      { page: 'line_recovery', path: (t) => t.plan.links.lineRecovery },
      { page: 'logout_confirm', path: '/logout' },
      { page: 'ad_connection', note: 'AD login: connection ID', path: '/ad' },
      {
        page: 'ad_connection',
        note: 'AD login: unknown connection ID',
        act: (t) => submit(t, '#ad-form', { '#connection_id': 'adfs-0000000000000000' }),
      },
      { page: 'ad_connection', note: 'AD binding', needs: ['links.adBind'], path: (t) => t.plan.links.adBind },
      {
        page: 'ad_connection',
        note: 'AD binding: 接続ID確認画面',
        needs: ['adConnectionId', 'links.adBind'],
        act: (t) => submit(t, '#ad-form', { '#connection_id': t.plan.adConnectionId }),
      },
      {
        page: 'ad_post',
        note: "the ACS's page that posts itself on (its POST is answered 204: the page stays)",
        act: async (t) => {
          await t.tab.route('**/saml/*/finish', (route) => route.fulfill({ status: 204 }));
          try {
            // The page's script posts on at once; the 204 leaves the page in place.
            const onward = t.tab.waitForRequest((r) => r.url().endsWith('/finish'));
            await postFrom(t, '/saml/adfs-0000000000000000/acs', { SAMLResponse: 'PHNhbWw+', RelayState: 'r' });
            await onward;
            await t.tab.waitForFunction(() => document.readyState === 'complete');
          } finally {
            await t.tab.unroute('**/saml/*/finish');
          }
        },
      },
      // Two brands, two looks: the colours each page derives from the brand's must read too.
      ...[0, 1].map((i) => ({
        page: 'login',
        note: `another brand, another colour (${i + 1})`,
        needs: [`otherBrands.${i}.code`],
        path: (t) => `${t.plan.base}/${t.plan.otherBrands[i].code}/login`,
      })),
    ],
  },
  {
    name: 'two-step enrolment',
    stops: [
      { page: 'login', path: '/login' },
      { page: 'two_factor_phone', act: (t) => logIn(t, planValue(t, 'variant.twoFactor')) },
      { page: 'two_factor_phone', note: 'not a number', act: (t) => submit(t, 'form:has(#phone)', { '#phone': '12345' }) },
      { page: 'two_factor_code', note: 'SMS sent', act: (t) => submit(t, 'form:has(#phone)', { '#phone': '090-1234-5678' }) },
      { page: 'two_factor_totp', act: (t) => submit(t, 'form:has(#use-totp)') },
      {
        page: 'two_factor_totp',
        note: 'wrong code',
        act: async (t) => {
          const right = totp(await t.tab.locator('#totp-secret').innerText(), t.plan.now);
          const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
          await submit(t, 'form:has(#code)', { '#code': wrong });
        },
      },
      {
        page: 'two_factor_recovery',
        act: async (t) => {
          const code = totp(await t.tab.locator('#totp-secret').innerText(), t.plan.now);
          await submit(t, 'form:has(#code)', { '#code': code });
        },
      },
      { page: 'two_factor_recovery_again', note: 'the code page opened again', path: '/2fa' },
      { page: 'two_factor_recovery', note: 'a new code', act: (t) => submit(t, 'form[action$="/2fa/recovery-code"]') },
      { page: 'two_factor_done', act: (t) => submit(t, 'form:has(#saved)', { '#saved': true }) },
      { page: 'message', note: 'signed in', act: (t) => follow(t, '#login') },
    ],
  },
  {
    name: 'two-step verification',
    stops: [
      { page: 'login', path: '/login' },
      { page: 'two_factor_code', act: (t) => logIn(t, planValue(t, 'variant.twoFactor')) },
      { page: 'two_factor_code', note: 'wrong code', act: (t) => submit(t, 'form:has(#code)', { '#code': '000000' }) },
      { page: 'two_factor_lost_device', act: (t) => follow(t, '#lost-device') },
      {
        page: 'two_factor_lost_device',
        note: 'wrong recovery code',
        act: (t) => submit(t, 'form:has(#recovery_code)', { '#recovery_code': 'AAAA-BBBB-CCCC-DDDD' }),
      },
    ],
  },
  {
    name: 'contractor',
    stops: [
      { page: 'login', note: 'account menu login', path: '/account/login' },
      { page: 'account_menu', act: (t) => logIn(t, t.plan.contractor) },
      { page: 'password_change', path: '/account/password' },
      {
        page: 'password_change',
        note: 'wrong current password',
        act: (t) =>
          submit(t, 'form:has(#current)', { '#current': 'not-the-password-1', '#new': 'Another-passw0rd', '#confirm': 'Another-passw0rd' }),
      },
      { page: 'login_method_start', path: '/account/login-method' },
      { page: 'two_factor_setting', path: '/account/two-factor' },
      {
        page: 'two_factor_setting_confirm',
        act: (t) => submit(t, 'form:has([name=setting])', { '[name=setting][value=enabled]': true }),
      },
      { page: 'account_form', note: 'email change', path: '/account/email' },
      { page: 'account_form', note: 'contract information', path: '/account/contract' },
      { page: 'account_form', note: 'plan change', path: '/account/plan' },
      { page: 'account_form', note: 'cancellation', path: '/account/cancel' },
      { page: 'access_route', path: '/account/access-route' },
      {
        page: 'access_route_confirm',
        act: (t) => submit(t, 'form:has([name=route])', { '[name=route][value=line_only]': true }),
      },
      {
        page: 'access_route_confirm',
        note: 'warning not acknowledged',
        act: async (t) => {
          // The browser would insist on the box: the server's answer is what is audited here.
          await t.tab.locator('#acknowledged').evaluate((box) => box.removeAttribute('required'));
          await submit(t, 'form:has(#acknowledged)');
        },
      },
      { page: 'account_form', note: 'access route: done', path: '/account/access-route/done' },
      { page: 'ad_settings', path: '/account/active-directory' },
      { page: 'admin_users', path: '/admin' },
      { page: 'admin_users', note: 'console: search', path: '/admin?q=%E9%83%8E' },
      { page: 'admin_users', note: 'console: nobody found', path: '/admin?q=nobody-at-all' },
      { page: 'admin_audit', path: '/admin/audit' },
      ...['active', 'invited', 'locked', 'disabled', 'pendingEmail', 'pendingMethod', 'contractor'].map((who) => ({
        page: 'admin_user',
        note: `console: ${who} user`,
        needs: [`users.${who}`],
        path: (t) => `/admin/users/${t.plan.users[who]}`,
      })),
      { page: 'admin_confirm', note: 'console: delete confirmation', path: (t) => `/admin/users/${t.plan.users.active}/delete` },
      { page: 'admin_confirm', note: 'console: disable confirmation', path: (t) => `/admin/users/${t.plan.users.active}/disable` },
      { page: 'admin_lines', path: '/admin/lines' },
      { page: 'admin_confirm', note: 'console: line removal', path: (t) => `/admin/lines/${t.plan.lineNumber}/remove` },
      { page: 'logout_confirm', note: 'signed in', path: '/logout' },
      { page: 'message', note: 'logged out', act: (t) => submit(t, 'main form') },
    ],
  },
  {
    // The device grant's verification page (RFC 8628, issue 18): the code form, a wrong code,
    // and the approval page naming the application (with its 「許可しない」 form).
    name: 'device verification',
    stops: [
      { page: 'account_form', note: 'device: the code form', path: '/device' },
      {
        page: 'account_form',
        note: 'device: a wrong code',
        act: (t) => submit(t, 'form:has([name=user_code])', { '[name=user_code]': 'BCDF-GHJK' }),
      },
      {
        page: 'account_form',
        note: 'device: approve or decline',
        needs: ['deviceUserCode'],
        act: (t) => submit(t, 'form:has([name=user_code])', { '[name=user_code]': t.plan.deviceUserCode }),
      },
    ],
  },
  {
    name: 'pending change',
    stops: [
      { page: 'login', note: 'account menu login', path: '/account/login' },
      { page: 'account_menu', act: (t) => logIn(t, t.plan.pendingContractor) },
      { page: 'login_method_start', note: 'a change pending, with its cancellation', path: '/account/login-method' },
      { page: 'account_form', note: 'email change blocked by the pending change', path: '/account/email' },
    ],
  },
  {
    name: 'West Japan line',
    stops: [
      {
        page: 'login',
        note: 'the line host',
        needs: ['lineHost'],
        path: (t) => `${t.plan.lineHost}/${t.plan.brand}/account/login`,
      },
      { page: 'line_consent', needs: ['lineHost'], act: (t) => logIn(t, t.plan.lineUser) },
    ],
  },
];

// --- The run -------------------------------------------------------------------------------------

// Where the tour was when it failed (either lane).
let step = 'start';
let lastTab;

/** A milestone on stdout: the test waits a bounded time for each, not for the whole tour. */
function say(line) {
  process.stdout.write(`${line}\n`);
}

/** The axe violations of the page, summarised (target, HTML, why). */
async function audit(t) {
  await t.tab.evaluate(AXE_SOURCE);
  const result = await t.tab.evaluate((options) => window.axe.run(document, options), AXE_OPTIONS);
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({
      target: n.target.map(String).join(' '),
      html: n.html.slice(0, 240),
      summary: (n.failureSummary ?? '').replace(/\s+/g, ' ').slice(0, 400),
    })),
  }));
}

/**
 * Whether the page is wider than the viewport (WCAG 1.4.10 reflow: a phone user would scroll
 * sideways), and the outermost elements that stick out; null when it fits.
 */
async function overflow(tab) {
  return tab.evaluate(() => {
    const view = document.documentElement.clientWidth;
    const width = document.documentElement.scrollWidth;
    if (width <= view + 1) return null;
    const frame = new Set([document.documentElement, document.body, document.querySelector('main'), document.querySelector('header')]);
    // An element's box, or the content overflowing it (a long unbreakable word in a <dd>).
    const sticksOut = (e) => {
      const box = e.getBoundingClientRect();
      return Math.max(box.right, box.left + e.scrollWidth) > view + 1;
    };
    const name = (e) =>
      e.tagName.toLowerCase() + (e.id ? `#${e.id}` : '') + [...e.classList].map((c) => `.${c}`).join('');
    const culprits = [...document.body.querySelectorAll('*')]
      .filter((e) => !frame.has(e) && sticksOut(e) && (frame.has(e.parentElement) || !sticksOut(e.parentElement)))
      .slice(0, 5)
      .map(name);
    return { scrollWidth: width, viewport: view, elements: culprits };
  });
}

function has(t, key) {
  const v = planValue(t, key);
  return v !== undefined && v !== null && v !== '';
}

async function runVariant(browser, plan, variant, report) {
  const key = `${variant.lang}-${variant.width}`;
  const dir = join(env('ARTIFACTS'), key);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const context = await browser.newContext(contextOptions(variant));
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  await context.route(
    (url) => !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname),
    (route) => route.abort(),
  );
  const tab = await context.newPage();
  lastTab = tab;
  const consoleErrors = [];
  tab.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  const t = { tab, plan, variant: { ...variant, key } };
  const visited = [];
  report.variants[key] = visited;
  let n = 0;
  for (const walk of WALKS) {
    await context.clearCookies();
    for (const stop of walk.stops) {
      const what = `${key} ${walk.name}: ${stop.page}${stop.note ? ` (${stop.note})` : ''}`;
      const missing = (stop.needs ?? []).filter((k) => !has(t, k));
      if (missing.length) {
        report.skipped.push({ variant: key, walk: walk.name, page: stop.page, note: stop.note, missing });
        say(`MISSED ${key} ${stop.page}`);
        continue;
      }
      step = what;
      consoleErrors.length = 0;
      const started = Date.now();
      try {
        if (stop.path) await open(t, typeof stop.path === 'function' ? stop.path(t) : stop.path);
        else await stop.act(t);
        const shown = await tab.evaluate(() => document.body?.dataset.page ?? '');
        if (shown !== stop.page) {
          const h1 = await tab.locator('h1').first().innerText({ timeout: 1_000 }).catch(() => '');
          throw new Error(`expected the page ${stop.page}, got ${shown || 'none'} 「${h1}」`);
        }
      } catch (err) {
        const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
        report.problems.push({ variant: key, walk: walk.name, page: stop.page, note: stop.note, url: tab.url(), error: message });
        progress(`${what}: ${message}; the rest of the walk is skipped`);
        say(`MISSED ${key} ${stop.page}`);
        break;
      }
      n += 1;
      const reached = Date.now();
      const file = join(dir, `${String(n).padStart(2, '0')}-${stop.page}.png`);
      await tab.evaluate(() => document.fonts.ready);
      await tab.screenshot({ path: file, fullPage: true });
      const lang = await tab.evaluate(() => document.documentElement.lang);
      if (lang !== variant.lang) {
        report.language.push({ variant: key, page: stop.page, note: stop.note, url: tab.url(), lang });
      }
      const wide = await overflow(tab);
      if (wide) report.overflow.push({ variant: key, n, page: stop.page, note: stop.note, url: tab.url(), ...wide });
      const shot = Date.now();
      const found = await audit(t);
      for (const v of found) {
        const entry = { variant: key, n, page: stop.page, note: stop.note, url: tab.url(), ...v };
        (BLOCKING.has(v.impact) ? report.violations : report.minor).push(entry);
      }
      visited.push({
        n,
        page: stop.page,
        note: stop.note ?? null,
        url: tab.url(),
        screenshot: file,
        console: [...consoleErrors],
      });
      say(`PAGE ${key} ${n} ${stop.page}`);
      progress(
        `${what}: ${found.length} axe finding(s) ` +
          `(page ${reached - started} ms, screenshot ${shot - reached} ms, axe ${Date.now() - shot} ms)`,
      );
    }
  }
  await context.close();
}

async function main(browser) {
  const plan = JSON.parse(env('TOUR_PLAN'));
  const report = {
    ok: true,
    variants: {},
    violations: [],
    minor: [],
    problems: [],
    skipped: [],
    language: [],
    overflow: [],
  };
  // Variants run side by side in their own contexts (one browser): each waits on the server
  // and on its screenshots while the other renders.
  const queue = [...VARIANTS];
  const lanes = Math.max(1, Number(env('TOUR_PARALLEL', '2')));
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let v = queue.shift(); v; v = queue.shift()) {
        await runVariant(browser, plan, v, report);
        say(`VARIANT ${v.lang}-${v.width}`);
      }
    }),
  );
  say('DONE');
  return report;
}

runWithChromium(main, () => ({ step, page: lastTab }));
