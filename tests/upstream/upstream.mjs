// Real upstream identity providers on loopback for Sekisho's brokered-login tests.
//
// One process = one provider, playing Google, Microsoft (Entra ID), d アカウント or Facebook. The
// OpenID provider itself is `oidc-provider` (panva, OpenID-certified, pinned in package.json); this
// script only configures it. sekisho-testkit's `UpstreamOp` (crates/sekisho-testkit/src/upstream.rs)
// starts it; by hand:
//
//   node upstream.mjs '{"profile":"google","client_id":"rp","client_secret":"s3cret",
//                       "redirect_uris":["http://127.0.0.1:8080/cb"]}'
//
// Configuration: a JSON object as the first argument, or the environment (the argument wins):
//   profile        PROFILE        google | microsoft | daccount | facebook
//   client_id      CLIENT_ID      the one static confidential client
//   client_secret  CLIENT_SECRET
//   redirect_uris  REDIRECT_URIS  a JSON array (or, in the environment, space-separated URIs)
//   jwks_file      JWKS_FILE      optional: a file holding {"keys": [private JWKs]} to sign with;
//                                 otherwise a key is generated at start (EC P-256 / ES256, but
//                                 RSA 2048 / RS256 for microsoft)
//   tenant         TENANT         microsoft only, optional: the tenant GUID (random by default)
//   exit_on_stdin_eof  EXIT_ON_STDIN_EOF=1  exit when stdin closes (the launcher keeps a pipe
//                                 open, so the provider dies with the test process)
//   now            NOW            optional: the provider's current time, in seconds since the
//                                 epoch (a test's fake clock); the wall clock by default
//
// Time: the tests run Sekisho on a fake clock that starts at a fixed instant (years from today),
// and Sekisho checks the ID tokens this provider stamps against it. So this process's clock is the
// wall clock shifted by an offset: `Date` (new Date(), Date(), Date.now(), which oidc-provider,
// its memory adapter and jose read) gives the wall time plus the offset. `now` sets the offset at
// start; `POST /_test/clock` with {"now": <seconds>} on the provider's port sets it again when the
// test moves its clock, and answers 200 {"now": <seconds>} once taken (GET answers the same).
// Between two settings the clock runs on in real time (a test takes seconds; ID tokens live an
// hour).
//
// Everything listens on 127.0.0.1, on ports the OS picks. When ready, ONE JSON line goes to stdout
// (everything else, oidc-provider's notices included, goes to stderr), then the process runs until
// killed:
//   google/daccount/facebook: {"profile", "issuer", "discovery", "graph", "port"}
//     ("graph" is null except for facebook)
//   microsoft: {"profile", "issuer_template", "tenant", "issuer", "discovery",
//               "discovery_common", "discovery_organizations", "graph": null, "port"}
//
// The client: token_endpoint_auth_method client_secret_basic, grant authorization_code, response
// type code. client_secret_post works too: oidc-provider accepts either of the two for a client
// registered with one of them (both present the same secret).
// PKCE (S256) is optional for this confidential client and verified when used.
//
// Accounts: oidc-provider's development login page ("devInteractions") accepts any login name and
// any password; the login name becomes the account id and `sub`. Claims: email
// `<login>@<profile>.example`, email_verified true, name `<login>`. `conformIdTokenClaims: false`
// puts the claims of the granted scopes into the ID token (as Google does), not only in userinfo.
//
// prompt=select_account: oidc-provider rejects it by default ("unsupported prompt value
// requested": only requestable prompts of the interaction policy are accepted, and the default
// policy has `login` and `consent` only). This script registers a requestable `select_account`
// prompt WITHOUT checks (so the value is accepted, but never becomes an interaction of its own,
// which the development pages could not render; oidc-provider 9 publishes no
// prompt_values_supported in discovery) and adds a
// check to the `login` prompt: when select_account is requested and this authorization request
// has not yet been through a login, the login form is shown even if a session exists. That is
// the account choice (log in as anyone). Logging in as the same account again skips consent;
// logging in as ANOTHER account makes oidc-provider end the old session first: the resume URL
// answers 200 with an auto-submitting form (POST {issuer}/session/end/confirm, hidden `xsrf` and
// `logout=yes`) that redirects back to the resume URL, and consent is asked for the new account.
//
// Authorization responses: oidc-provider adds `iss` (RFC 9207) to them. Kept for google and
// daccount; removed for microsoft and facebook (the real ones send none, and for Entra ID's
// `common` the RP could only compare it with the `{tenantid}` template), together with
// `authorization_response_iss_parameter_supported` in their discovery documents.
//
// Profiles:
// - google: issuer http://127.0.0.1:PORT, endpoints at oidc-provider's defaults (/auth, /token,
//   /jwks, /me, ...), scopes openid email profile.
// - daccount: the same under the path prefix /daccount: issuer http://127.0.0.1:PORT/daccount,
//   discovery http://127.0.0.1:PORT/daccount/.well-known/openid-configuration.
// - microsoft: oidc-provider cannot issue from a templated issuer, so the provider is the TENANT's
//   own: issuer http://127.0.0.1:PORT/<GUID>/v2.0, mounted under that path prefix (its discovery,
//   /auth, /token, /jwks are all under it). ID tokens carry iss = that issuer and tid = <GUID>
//   (plus preferred_username), signed RS256. Next to it this script serves, by itself,
//   /common/v2.0/.well-known/openid-configuration and
//   /organizations/v2.0/.well-known/openid-configuration: a copy of the tenant's discovery
//   document whose `issuer` is the template http://127.0.0.1:PORT/{tenantid}/v2.0 (literally
//   "{tenantid}"), as real Entra ID does for its multi-tenant endpoints. An RP that logs in through
//   `common` must take tid from the ID token and substitute it into the template to get the
//   issuer to check. The endpoints in those copies are the tenant's (real Entra ID lists
//   /common/oauth2/v2.0/... there; the RP must just use what discovery says).
// - facebook: plain OAuth 2.0: scopes `email` and `public_profile` work WITHOUT `openid` (then no
//   ID token is issued). Plus a Graph API on its own port ("graph": http://127.0.0.1:GPORT):
//   GET /me (also /vNN.N/me) with `Authorization: Bearer <token>` or `?access_token=<token>` looks
//   the access token up in the provider (AccessToken.find: the same store the token endpoint
//   wrote) and answers like Facebook: {"id", "name", "email"} for `fields=id,name,email` (default
//   fields: id,name; email only when the `email` scope was granted). An unknown or expired token
//   gets 401 with Facebook's error body {"error": {"message", "type": "OAuthException",
//   "code": 190, "fbtrace_id"}} (code 2500 when no token is given). Real Graph answers these
//   errors with 400 as far as I know; 401 is what these tests were asked to use.
//
// Cookies: several providers share the host 127.0.0.1, and cookie jars ignore ports, so each
// process names its cookies `<profile>_<port>_session` / `_interaction` / `_interaction_resume`.
//
// Node 20 makes oidc-provider print "Unsupported runtime" on stderr: harmless.

import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

// oidc-provider prints notices with console.info/console.log: keep stdout for the ready line.
console.log = console.error;
console.info = console.error;

// The shifted clock (see the top of this file), in place before oidc-provider is loaded.
const WallDate = Date;
let clockOffsetMs = 0;
const shiftedNow = () => WallDate.now() + clockOffsetMs;
globalThis.Date = new Proxy(WallDate, {
  // new Date() is now; new Date(value) and the other forms are what they always were.
  construct: (target, args, newTarget) => Reflect.construct(
    target,
    args.length === 0 ? [shiftedNow()] : args,
    newTarget,
  ),
  // Date() called as a function: the current time as a string.
  apply: () => new WallDate(shiftedNow()).toString(),
  get: (target, property, receiver) => (property === 'now'
    ? shiftedNow
    : Reflect.get(target, property, receiver)),
});
function setClock(seconds) {
  clockOffsetMs = seconds * 1000 - WallDate.now();
}

const { default: Provider, interactionPolicy } = await import('oidc-provider');

const PROFILES = new Set(['google', 'microsoft', 'daccount', 'facebook']);

function fail(message) {
  process.stderr.write(`upstream.mjs: ${message}\n`);
  process.exit(2);
}

function readConfig() {
  let arg = {};
  if (process.argv[2] !== undefined) {
    try {
      arg = JSON.parse(process.argv[2]);
    } catch (err) {
      fail(`the argument is not JSON: ${err.message}`);
    }
  }
  const env = process.env;
  let redirectUris = arg.redirect_uris;
  if (redirectUris === undefined && env.REDIRECT_URIS) {
    const raw = env.REDIRECT_URIS.trim();
    redirectUris = raw.startsWith('[') ? JSON.parse(raw) : raw.split(/\s+/);
  }
  const config = {
    profile: arg.profile ?? env.PROFILE,
    clientId: arg.client_id ?? env.CLIENT_ID,
    clientSecret: arg.client_secret ?? env.CLIENT_SECRET,
    redirectUris,
    jwksFile: arg.jwks_file ?? env.JWKS_FILE,
    tenant: arg.tenant ?? env.TENANT ?? randomUUID(),
    exitOnStdinEof: arg.exit_on_stdin_eof ?? env.EXIT_ON_STDIN_EOF === '1',
    now: arg.now ?? (env.NOW ? Number(env.NOW) : undefined),
  };
  if (config.now !== undefined && !Number.isSafeInteger(config.now)) {
    fail(`now must be whole seconds since the epoch, not ${JSON.stringify(config.now)}`);
  }
  if (!PROFILES.has(config.profile)) {
    fail(`profile must be one of ${[...PROFILES].join(', ')}, not ${JSON.stringify(config.profile)}`);
  }
  if (!config.clientId || !config.clientSecret) fail('client_id and client_secret are required');
  if (!Array.isArray(redirectUris) || redirectUris.length === 0
      || !redirectUris.every((u) => typeof u === 'string')) {
    fail('redirect_uris must be a non-empty list of URIs');
  }
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(config.tenant)) {
    fail(`tenant must be a lower-case GUID, not ${JSON.stringify(config.tenant)}`);
  }
  return config;
}

function signingKeys(config) {
  if (config.jwksFile) {
    const jwks = JSON.parse(readFileSync(config.jwksFile, 'utf8'));
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) fail(`${config.jwksFile} holds no keys`);
    return jwks;
  }
  const kid = randomBytes(8).toString('hex');
  if (config.profile === 'microsoft') {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] };
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }] };
}

// The interaction policy with `select_account` accepted (see the top of this file).
function policy() {
  const { Prompt, Check, base } = interactionPolicy;
  const prompts = base();
  prompts.get('login').checks.add(new Check(
    'select_account',
    'account selection requested',
    'account_selection_required',
    (ctx) => (ctx.oidc.prompts.has('select_account') && !ctx.oidc.result?.login
      ? Check.REQUEST_PROMPT
      : Check.NO_NEED_TO_PROMPT),
  ));
  const selectAccount = new Prompt({ name: 'select_account', requestable: true });
  selectAccount.checks.clear();
  prompts.add(selectAccount);
  return prompts;
}

// The provider's request handler for requests under `prefix`, as if mounted there: the prefix is
// cut from `req.url` and put in `req.baseUrl`, where oidc-provider looks for its mount point (as
// under Express), so the URLs it builds (discovery, redirects, cookie paths) keep the prefix.
function mounted(prefix, provider) {
  const callback = provider.callback();
  return (req, res) => {
    let rest = req.url.slice(prefix.length);
    if (!rest.startsWith('/')) rest = `/${rest}`;
    req.baseUrl = prefix;
    req.url = rest;
    return callback(req, res);
  };
}

function underPrefix(url, prefix) {
  return prefix === '' || url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`);
}

function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

// GET or POST {"now": seconds} /_test/clock: the test's clock control (see the top of this file).
const CLOCK_PATH = '/_test/clock';
async function clockControl(req, res) {
  if (req.method === 'POST') {
    let body = '';
    for await (const chunk of req) body += chunk;
    let now;
    try {
      ({ now } = JSON.parse(body));
    } catch {
      now = undefined;
    }
    if (!Number.isSafeInteger(now)) {
      return sendJson(res, 400, { error: 'expected {"now": <whole seconds since the epoch>}' });
    }
    setClock(now);
  } else if (req.method !== 'GET') {
    return sendJson(res, 405, { error: 'GET or POST' });
  }
  return sendJson(res, 200, { now: Math.floor(Date.now() / 1000) });
}

const config = readConfig();
const { profile } = config;

let handle = (req, res) => sendJson(res, 503, { error: 'starting' });
const server = createServer((req, res) => (req.url === CLOCK_PATH
  ? clockControl(req, res)
  : handle(req, res)));
const port = await listen(server);
const origin = `http://127.0.0.1:${port}`;

const prefix = {
  google: '',
  facebook: '',
  daccount: '/daccount',
  microsoft: `/${config.tenant}/v2.0`,
}[profile];
const issuer = `${origin}${prefix}`;
const emailDomain = `${profile}.example`;

const claims = {
  openid: ['sub', ...(profile === 'microsoft' ? ['tid'] : [])],
  email: ['email', 'email_verified'],
  profile: ['name', ...(profile === 'microsoft' ? ['preferred_username'] : [])],
  ...(profile === 'facebook' ? { public_profile: ['name'] } : {}),
};

const jwks = signingKeys(config);
const alg = jwks.keys[0].alg ?? (jwks.keys[0].kty === 'RSA' ? 'RS256' : 'ES256');

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.clientId,
    client_secret: config.clientSecret,
    redirect_uris: config.redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: alg,
  }],
  jwks,
  claims,
  scopes: ['openid'],
  conformIdTokenClaims: false,
  findAccount: (ctx, id) => ({
    accountId: id,
    claims: () => ({
      sub: id,
      email: `${id}@${emailDomain}`,
      email_verified: true,
      name: id,
      ...(profile === 'microsoft'
        ? { tid: config.tenant, preferred_username: `${id}@${emailDomain}` }
        : {}),
    }),
  }),
  interactions: { policy: policy() },
  cookies: {
    names: {
      session: `${profile}_${port}_session`,
      interaction: `${profile}_${port}_interaction`,
      resume: `${profile}_${port}_interaction_resume`,
    },
  },
  features: {
    devInteractions: { enabled: true },
    // Only the authorization code flow is used; keep the surface small.
    registration: { enabled: false },
  },
});
// RFC 9207: oidc-provider adds `iss` to every authorization response and says so in discovery.
// Entra ID and Facebook do not; an RP must not get an `iss` it could only compare with the
// `{tenantid}` template. Google and d アカウント keep oidc-provider's behaviour.
if (profile === 'microsoft' || profile === 'facebook') {
  provider.on('authorization.success', (ctx, out) => {
    delete out.iss;
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/.well-known/openid-configuration' && ctx.body && typeof ctx.body === 'object') {
      delete ctx.body.authorization_response_iss_parameter_supported;
    }
  });
}

const app = mounted(prefix, provider);

let graph = null;
let ready = {
  profile,
  issuer,
  discovery: `${issuer}/.well-known/openid-configuration`,
  graph: null,
  port,
};

if (profile === 'microsoft') {
  const template = `${origin}/{tenantid}/v2.0`;
  const multiTenant = new Set(['common', 'organizations'].map(
    (t) => `/${t}/v2.0/.well-known/openid-configuration`,
  ));
  handle = async (req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && multiTenant.has(path)) {
      // The tenant's own discovery, fetched from this provider, with the templated issuer.
      try {
        const own = await fetch(`${issuer}/.well-known/openid-configuration`);
        const doc = await own.json();
        return sendJson(res, 200, { ...doc, issuer: template });
      } catch (err) {
        console.error(err);
        return sendJson(res, 500, { error: 'server_error' });
      }
    }
    if (underPrefix(req.url, prefix)) return app(req, res);
    return sendJson(res, 404, { error: 'not_found' });
  };
  ready = {
    profile,
    issuer_template: template,
    tenant: config.tenant,
    issuer,
    discovery: `${issuer}/.well-known/openid-configuration`,
    discovery_common: `${origin}/common/v2.0/.well-known/openid-configuration`,
    discovery_organizations: `${origin}/organizations/v2.0/.well-known/openid-configuration`,
    graph: null,
    port,
  };
} else {
  handle = (req, res) => {
    if (underPrefix(req.url, prefix)) return app(req, res);
    return sendJson(res, 404, { error: 'not_found' });
  };
}

if (profile === 'facebook') {
  const graphServer = createServer(async (req, res) => {
    try {
      await graphApi(req, res);
    } catch (err) {
      console.error(err);
      if (!res.headersSent) sendJson(res, 500, { error: { message: 'internal error', type: 'OAuthException', code: 1 } });
    }
  });
  const graphPort = await listen(graphServer);
  graph = `http://127.0.0.1:${graphPort}`;
  ready.graph = graph;
}

function facebookError(res, status, message, code) {
  const fbtraceId = randomBytes(8).toString('base64url');
  return sendJson(res, status, {
    error: { message, type: 'OAuthException', code, fbtrace_id: fbtraceId },
  }, { 'WWW-Authenticate': `OAuth "Facebook Platform" "invalid_token" "${message}"` });
}

async function graphApi(req, res) {
  const url = new URL(req.url, graph);
  if (req.method !== 'GET' || !/^(\/v\d+\.\d+)?\/me\/?$/.test(url.pathname)) {
    return sendJson(res, 404, {
      error: { message: `Unknown path components: ${url.pathname}`, type: 'OAuthException', code: 2500 },
    });
  }
  const auth = req.headers.authorization ?? '';
  const bearer = /^(Bearer|OAuth) (.+)$/i.exec(auth);
  const token = bearer ? bearer[2].trim() : url.searchParams.get('access_token');
  if (!token) {
    return facebookError(res, 401, 'An active access token must be used to query information about the current user.', 2500);
  }
  const at = await provider.AccessToken.find(token);
  if (!at || at.isExpired) {
    return facebookError(res, 401, 'Invalid OAuth access token - Cannot parse access token', 190);
  }
  const scopes = new Set((at.scope ?? '').split(' '));
  const id = at.accountId;
  const fields = (url.searchParams.get('fields') ?? 'id,name').split(',').map((f) => f.trim()).filter(Boolean);
  const values = { id, name: id, ...(scopes.has('email') ? { email: `${id}@${emailDomain}` } : {}) };
  const body = {};
  for (const field of fields) {
    if (field in values) body[field] = values[field];
  }
  if (!('id' in body)) body.id = id;
  return sendJson(res, 200, body);
}

if (config.exitOnStdinEof) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

// Set last, so that at the ready line the provider's "now" is the test's.
if (config.now !== undefined) setClock(config.now);
process.stdout.write(`${JSON.stringify(ready)}\n`);
