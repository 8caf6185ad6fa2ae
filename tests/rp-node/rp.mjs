// A strict OpenID Connect relying party (openid-client 6, OpenID-certified) that walks one whole
// Sekisho login as a browser would, then exercises every token endpoint:
//
//   discovery -> authorization request (PKCE S256, state, nonce) -> login form -> code
//   -> token (ID token checked: signature, alg, iss, aud, nonce, exp; RFC 9207 iss on the
//      authorization response) -> userinfo -> refresh -> introspection -> revocation
//   -> refresh with the revoked token (must fail: invalid_grant) -> RP-initiated logout.
//
// With PAR=1 the authorization request is pushed (RFC 9126, buildAuthorizationUrlWithPAR). With
// DPOP=1 every token request and the userinfo call carry DPoP proofs of one key (RFC 9449), and
// the run also checks, with raw requests, what a thief of the tokens gets: a replayed proof, the
// bound token as a bearer token, the token with another key's proof, and (for a public client,
// CLIENT_SECRET empty) a refresh with another key: each must be refused. Server nonces
// (use_dpop_nonce) are answered by openid-client's own retry; the run counts those rounds.
//
// Inputs (environment): ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI,
// USER_EMAIL, USER_PASSWORD, ID_TOKEN_ALG (default ES256), NOW (optional: the OP's current time in
// seconds since the epoch; the tests run Sekisho on a fake clock years from today, and
// openid-client checks exp, nbf and auth_time on its own clock shifted to it by `clockSkew`, as a
// real RP's clock agrees with its OP's; the wall clock when unset).
//
// Output: ONE JSON line on stdout. {"ok":true,...} and exit 0, or {"ok":false,"step":...,
// "error":...} and exit 1. Nothing else is written to stdout, so a test can parse it whole.
//
// The browser part follows docs/PROTOCOL-CONTRACT.md: redirects are followed by hand (to stop at
// the redirect_uri, where no server listens, and to keep cookies across hops), and the login form
// is submitted with all its hidden inputs plus email and password.

import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';

const HTTP_TIMEOUT_MS = 15_000;
const MAX_BROWSER_HOPS = 20;

let step = 'inputs';

function env(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`environment variable ${name} is not set`);
  }
  return value;
}

// --- A tiny browser: a cookie jar per origin, manual redirects -----------------------------------

class CookieJar {
  #byOrigin = new Map(); // origin -> Map(name -> value)

  // Path and Domain are ignored: the driver only ever talks to one OP under one path prefix.
  store(url, response) {
    const origin = new URL(url).origin;
    let jar = this.#byOrigin.get(origin);
    if (!jar) this.#byOrigin.set(origin, (jar = new Map()));
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((attr) => {
        const [key, val = ''] = attr.split('=').map((s) => s.trim());
        const k = key.toLowerCase();
        if (k === 'max-age') return Number(val) <= 0;
        if (k === 'expires') return Date.parse(val) <= Date.now();
        return false;
      });
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
  }

  header(url) {
    const jar = this.#byOrigin.get(new URL(url).origin);
    if (!jar || jar.size === 0) return undefined;
    return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

const jar = new CookieJar();

// One browser request, without following redirects; keeps the cookies it sets.
async function browserRequest(url, { method = 'GET', form } = {}) {
  const headers = new Headers({ accept: 'text/html,*/*', 'user-agent': 'sekisho-rp-node' });
  const cookie = jar.header(url);
  if (cookie) headers.set('cookie', cookie);
  let body;
  if (form) {
    headers.set('content-type', 'application/x-www-form-urlencoded');
    // A browser sends Origin on every form POST; an OP may check it against CSRF.
    headers.set('origin', new URL(url).origin);
    body = form.toString();
  }
  const response = await fetch(url, {
    method,
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  jar.store(url, response);
  return response;
}

function isRedirect(status) {
  return status >= 300 && status < 400 && status !== 304;
}

// Same scheme, host, port and path: the query carries the response parameters.
function sameEndpoint(url, expected) {
  const a = new URL(url);
  const b = new URL(expected);
  return a.origin === b.origin && a.pathname === b.pathname;
}

// --- Just enough HTML to read the login form -----------------------------------------------------

function decodeEntities(text) {
  const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return named[ref.toLowerCase()] ?? whole;
  });
}

function parseAttributes(source) {
  const attributes = {};
  const re = /([^\s"'<>\/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const m of source.matchAll(re)) {
    attributes[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attributes;
}

// The page's POST form: its action and its inputs (name, type, value), per the contract.
function findPostForm(html) {
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi)) {
    const attributes = parseAttributes(m[1]);
    if ((attributes.method ?? 'get').toLowerCase() !== 'post') continue;
    const inputs = [...m[2].matchAll(/<input\b([^>]*)>/gi)].map((i) => parseAttributes(i[1]));
    return { action: attributes.action ?? '', inputs };
  }
  return undefined;
}

function loginForm(html, email, password) {
  const form = findPostForm(html);
  if (!form) return undefined;
  const names = new Set(form.inputs.map((i) => i.name));
  if (!names.has('email') || !names.has('password')) return undefined;
  const fields = new URLSearchParams();
  for (const input of form.inputs) {
    if ((input.type ?? 'text').toLowerCase() === 'hidden' && input.name) {
      fields.append(input.name, input.value ?? '');
    }
  }
  fields.set('email', email);
  fields.set('password', password);
  return { action: form.action, fields };
}

// Walks from the authorization URL through the login page to the redirect back to the RP, and
// returns that callback URL (not fetched: it is where the RP would receive the response).
async function signIn(authorizationUrl, redirectUri, email, password) {
  let url = authorizationUrl.href;
  let request = {};
  let submittedLogin = false;
  const trail = [];
  for (let hop = 0; hop < MAX_BROWSER_HOPS; hop++) {
    if (sameEndpoint(url, redirectUri)) return new URL(url);
    const response = await browserRequest(url, request);
    trail.push(`${request.method ?? 'GET'} ${new URL(url).pathname} -> ${response.status}`);
    if (isRedirect(response.status)) {
      const location = response.headers.get('location');
      if (!location) throw new Error(`${response.status} without Location (${trail.join(', ')})`);
      url = new URL(location, url).href;
      request = {};
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) {
      throw new Error(`unexpected ${response.status} (${trail.join(', ')}): ${html.slice(0, 300)}`);
    }
    const login = loginForm(html, email, password);
    if (!login) {
      throw new Error(`a 200 page without the login form (${trail.join(', ')}): ${html.slice(0, 300)}`);
    }
    if (submittedLogin) {
      // The contract: a failed login answers 200 with the login page again.
      throw new Error(`login refused: the login page came back after submitting it (${trail.join(', ')})`);
    }
    submittedLogin = true;
    url = new URL(login.action || url, url).href;
    request = { method: 'POST', form: login.fields };
  }
  throw new Error(`more than ${MAX_BROWSER_HOPS} hops without reaching ${redirectUri}`);
}

// --- Checks openid-client leaves to the caller ---------------------------------------------------

// at_hash (OIDC Core 3.1.3.6 / 3.3.2.11): the left half of the hash of the access token, with the
// hash of the ID token's alg. openid-client does not check it; it is optional in the code flow,
// but when present it must match.
function checkAtHash(idToken, accessToken) {
  const [header, payload] = idToken
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
  if (payload.at_hash === undefined) return false;
  let hash;
  if (header.alg === 'EdDSA' || header.alg === 'Ed25519') hash = 'sha512';
  else {
    const bits = /^(?:RS|PS|ES|HS)(256|384|512)$/.exec(header.alg)?.[1];
    if (!bits) throw new Error(`cannot check at_hash for alg ${header.alg}`);
    hash = `sha${bits}`;
  }
  const digest = createHash(hash).update(accessToken, 'ascii').digest();
  const expected = digest.subarray(0, digest.length / 2).toString('base64url');
  if (payload.at_hash !== expected) {
    throw new Error(`at_hash ${payload.at_hash} does not match the access token (expected ${expected})`);
  }
  return true;
}

function describe(err) {
  if (!(err instanceof Error)) return String(err);
  let text = `${err.name}: ${err.message}`;
  if (err.code) text += ` [${err.code}]`;
  if (err.status) text += ` status=${err.status}`;
  if (err.error) text += ` error=${err.error}`;
  if (err.error_description) text += ` error_description=${err.error_description}`;
  if (err.cause instanceof Error) text += ` (cause: ${describe(err.cause)})`;
  else if (err.cause instanceof URLSearchParams) text += ` (cause: ${err.cause})`;
  else if (err.cause && typeof err.cause === 'object') text += ` (cause: ${JSON.stringify(err.cause, compact)})`;
  return text.length > 4000 ? `${text.slice(0, 4000)}...` : text;
}

// JSON.stringify replacer: byte arrays (signatures, signed data) as their length, not every byte.
function compact(_key, value) {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer ? `<${value.byteLength} bytes>` : value;
}

function finish(result, code) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(code));
}

// --- The run -------------------------------------------------------------------------------------

async function main() {
  const issuer = env('ISSUER');
  const clientId = env('CLIENT_ID');
  const clientSecret = process.env.CLIENT_SECRET ?? '';
  const usePar = process.env.PAR === '1';
  const useDpop = process.env.DPOP === '1';
  const redirectUri = env('REDIRECT_URI');
  const postLogoutRedirectUri = env('POST_LOGOUT_REDIRECT_URI');
  const email = env('USER_EMAIL');
  const password = env('USER_PASSWORD');
  const idTokenAlg = env('ID_TOKEN_ALG', 'ES256');
  const opNow = Number(env('NOW', String(Math.floor(Date.now() / 1000))));
  if (!Number.isSafeInteger(opNow)) throw new Error(`NOW must be whole seconds since the epoch`);
  const clockSkew = opNow - Math.floor(Date.now() / 1000);

  step = 'discovery';
  // allowInsecureRequests: the OP under test listens on plain http on loopback.
  // enableNonRepudiationChecks: also verify ID token signatures against the OP's jwks_uri
  // (openid-client otherwise trusts the TLS channel and skips them). clockSkew: see NOW above.
  const config = await client.discovery(
    new URL(issuer),
    clientId,
    { id_token_signed_response_alg: idTokenAlg, [client.clockSkew]: clockSkew },
    clientSecret ? client.ClientSecretBasic(clientSecret) : client.None(),
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] },
  );
  // Every request openid-client makes passes here: the last DPoP proof sent to each URL (to
  // replay it) and the server's use_dpop_nonce answers (the nonce rounds).
  const sentProofs = new Map();
  let nonceRounds = 0;
  config[client.customFetch] = async (url, options) => {
    const headers = new Headers(options.headers);
    if (headers.has('dpop')) sentProofs.set(new URL(url).pathname, { authorization: headers.get('authorization'), dpop: headers.get('dpop') });
    const response = await fetch(url, options);
    const challenge = response.headers.get('www-authenticate') ?? '';
    let error = challenge.includes('use_dpop_nonce') ? 'use_dpop_nonce' : undefined;
    if (!error && response.status === 400) {
      error = await response.clone().json().then((b) => b.error, () => undefined);
    }
    if (error === 'use_dpop_nonce') nonceRounds += 1;
    return response;
  };
  const DPoP = useDpop ? client.getDPoPHandle(config, await client.randomDPoPKeyPair()) : undefined;
  const thief = useDpop ? client.getDPoPHandle(config, await client.randomDPoPKeyPair()) : undefined;

  step = 'authorization_url';
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(pkceCodeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const parameters = {
    redirect_uri: redirectUri,
    scope: 'openid email profile offline_access',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  };
  const authorizationUrl = usePar
    ? await client.buildAuthorizationUrlWithPAR(config, parameters, { DPoP })
    : client.buildAuthorizationUrl(config, parameters);
  if (usePar && !authorizationUrl.searchParams.get('request_uri')) {
    throw new Error(`the PAR authorization URL has no request_uri: ${authorizationUrl}`);
  }

  step = 'login';
  const callbackUrl = await signIn(authorizationUrl, redirectUri, email, password);

  step = 'authorization_code_grant';
  // Checks the authorization response (state, RFC 9207 iss, no error), sends the PKCE verifier,
  // and validates the ID token: alg, signature, iss, aud, azp, exp, iat, nonce.
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  }, undefined, { DPoP });
  if (useDpop && tokens.token_type !== 'dpop') {
    throw new Error(`token_type ${tokens.token_type}, expected DPoP`);
  }
  const claims = tokens.claims();
  if (!claims) throw new Error('no ID token in the token response');
  const atHashVerified = checkAtHash(tokens.id_token, tokens.access_token);

  step = 'userinfo';
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub, { DPoP });
  const thefts = useDpop ? await tryThefts(config, tokens, sentProofs, thief, claims.sub) : undefined;

  step = 'refresh';
  if (!tokens.refresh_token) throw new Error('no refresh_token in the token response (offline_access was asked)');
  let wrongKeyRefreshRefused;
  if (useDpop && !clientSecret) {
    step = 'refresh_with_another_key';
    wrongKeyRefreshRefused = await refused(() => client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: thief }), 'invalid_grant');
    step = 'refresh';
  }
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
  const refreshedClaims = refreshed.claims();
  if (refreshedClaims && refreshedClaims.sub !== claims.sub) {
    throw new Error(`refreshed ID token has sub ${refreshedClaims.sub}, expected ${claims.sub}`);
  }
  // The OP may rotate the refresh token; then the new one is the live one.
  const liveRefreshToken = refreshed.refresh_token ?? tokens.refresh_token;

  // Introspection is for authenticated clients (resource servers); a public client has none.
  let introspection;
  if (clientSecret) {
    step = 'introspection';
    introspection = await client.tokenIntrospection(config, refreshed.access_token, {
      token_type_hint: 'access_token',
    });
    if (introspection.active !== true) {
      throw new Error(`refreshed access token is not active: ${JSON.stringify(introspection)}`);
    }
    if (introspection.sub !== undefined && introspection.sub !== claims.sub) {
      throw new Error(`introspection sub ${introspection.sub}, expected ${claims.sub}`);
    }
  }

  step = 'revocation';
  await client.tokenRevocation(config, liveRefreshToken, { token_type_hint: 'refresh_token' });

  step = 'refresh_after_revocation';
  let revokedRefreshRejected = false;
  try {
    await client.refreshTokenGrant(config, liveRefreshToken, undefined, { DPoP });
  } catch (err) {
    if (err instanceof client.ResponseBodyError && err.error === 'invalid_grant') {
      revokedRefreshRejected = true;
    } else {
      throw new Error(`expected invalid_grant, got ${describe(err)}`);
    }
  }
  if (!revokedRefreshRejected) throw new Error('the revoked refresh token was accepted');

  step = 'logout';
  const logoutState = randomBytes(16).toString('base64url');
  const endSessionUrl = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: postLogoutRedirectUri,
    state: logoutState,
  });
  const logoutResponse = await browserRequest(endSessionUrl.href);
  const location = logoutResponse.headers.get('location');
  if (logoutResponse.status !== 303 || !location) {
    throw new Error(`logout answered ${logoutResponse.status} (Location: ${location}), expected 303`);
  }
  const logoutRedirect = new URL(location, endSessionUrl);
  if (!sameEndpoint(logoutRedirect, postLogoutRedirectUri)) {
    throw new Error(`logout redirected to ${logoutRedirect}, expected ${postLogoutRedirectUri}`);
  }
  if (logoutRedirect.searchParams.get('state') !== logoutState) {
    throw new Error(`logout redirect ${logoutRedirect} does not carry state=${logoutState}`);
  }

  return {
    ok: true,
    sub: claims.sub,
    email: userinfo.email ?? claims.email,
    id_token_claims: claims,
    userinfo,
    at_hash_verified: atHashVerified,
    refreshed: true,
    introspection_active: introspection?.active === true,
    introspection_token_type: introspection?.token_type,
    introspection_cnf: introspection?.cnf,
    token_type: tokens.token_type,
    par: usePar,
    nonce_rounds: nonceRounds,
    thefts,
    wrong_key_refresh_refused: wrongKeyRefreshRefused,
    revoked_refresh_rejected: true,
    logout_redirect: logoutRedirect.href,
  };
}

// Whether `attempt` fails with the OAuth error `code` (a token endpoint's JSON error, or a
// resource's WWW-Authenticate challenge).
async function refused(attempt, code) {
  try {
    await attempt();
  } catch (err) {
    const challenged = err instanceof client.WWWAuthenticateChallengeError
      && err.cause?.some?.((c) => c.parameters?.error === code);
    if ((err instanceof client.ResponseBodyError && err.error === code) || challenged) return true;
    throw new Error(`expected ${code}, got ${describe(err)}`);
  }
  return false;
}

// What a thief of a DPoP-bound access token gets at userinfo: a proof replayed as sent, the token
// as a bearer token, and the token with a proof by the thief's own key. Each must be a 401.
async function tryThefts(config, tokens, sentProofs, thief, sub) {
  const userinfoUrl = new URL(config.serverMetadata().userinfo_endpoint);
  const sent = sentProofs.get(userinfoUrl.pathname);
  if (!sent) throw new Error('no DPoP proof was sent to userinfo');
  const raw = async (headers) => {
    const response = await fetch(userinfoUrl, { headers, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    return { status: response.status, challenge: response.headers.get('www-authenticate') ?? '' };
  };
  step = 'replayed_proof';
  const replay = await raw({ authorization: sent.authorization, dpop: sent.dpop });
  step = 'bound_token_as_bearer';
  const bearer = await raw({ authorization: `Bearer ${tokens.access_token}` });
  step = 'bound_token_with_another_key';
  const otherKey = await refused(() => client.fetchUserInfo(config, tokens.access_token, sub, { DPoP: thief }), 'invalid_dpop_proof');
  return {
    replayed_proof: replay,
    as_bearer: bearer,
    another_key_refused: otherKey,
  };
}

main().then(
  (result) => finish(result, 0),
  (err) => finish({ ok: false, step, error: describe(err) }, 1),
);
