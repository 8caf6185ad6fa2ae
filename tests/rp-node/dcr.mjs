// OAuth 2.0 Dynamic Client Registration (RFC 7591) with openid-client 6's own helper,
// `dynamicClientRegistration`: discovery (registration_endpoint), then a POST of the client
// metadata with the initial access token as a bearer token. openid-client checks the answer
// (201, client_id, client_secret with client_secret_expires_at). The test then runs rp.mjs, the
// whole code flow, with the client registered here.
//
// Inputs (environment): ISSUER, INITIAL_ACCESS_TOKEN, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI.
//
// Output: ONE JSON line on stdout: {"ok":true,"client":{...the registered client metadata...}}
// and exit 0, or {"ok":false,"step":...,"error":...} and exit 1.

import * as client from 'openid-client';

let step = 'inputs';

function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

function describe(err) {
  if (!(err instanceof Error)) return String(err);
  let text = `${err.name}: ${err.message}`;
  if (err.code) text += ` [${err.code}]`;
  if (err.status) text += ` status=${err.status}`;
  if (err.error) text += ` error=${err.error}`;
  if (err.error_description) text += ` error_description=${err.error_description}`;
  if (err.cause instanceof Error) text += ` (cause: ${describe(err.cause)})`;
  else if (err.cause && typeof err.cause === 'object') text += ` (cause: ${JSON.stringify(err.cause)})`;
  return text;
}

function finish(result, code) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(code));
}

async function main() {
  const issuer = env('ISSUER');
  const initialAccessToken = env('INITIAL_ACCESS_TOKEN');
  const redirectUri = env('REDIRECT_URI');
  const postLogoutRedirectUri = env('POST_LOGOUT_REDIRECT_URI');

  step = 'registration';
  // allowInsecureRequests: the OP under test listens on plain http on loopback.
  const config = await client.dynamicClientRegistration(
    new URL(issuer),
    {
      client_name: 'openid-client (dynamically registered)',
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [postLogoutRedirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
    undefined,
    { initialAccessToken, execute: [client.allowInsecureRequests] },
  );
  const registered = config.clientMetadata();
  if (typeof registered.client_secret !== 'string' || registered.client_secret.length === 0) {
    throw new Error(`no client_secret in the registration response: ${JSON.stringify(registered)}`);
  }
  return { ok: true, client: registered };
}

main().then(
  (result) => finish(result, 0),
  (err) => finish({ ok: false, step, error: describe(err) }, 1),
);
