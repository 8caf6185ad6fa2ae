// openid-client 6 (strict, OpenID-certified) as a command-line client of the device
// authorization grant (RFC 8628): discovery, the device authorization request, then polling the
// token endpoint as openid-client does (it waits `interval` between polls and honours slow_down)
// until the user approved on the verification page; the ID token is validated as usual.
//
// Inputs (environment): ISSUER, CLIENT_ID (a public client with the device grant), NOW (the OP's
// clock, as in rp.mjs).
// Output: two JSON lines on stdout: first {"user_code", "verification_uri_complete", ...} as soon
// as the device authorization is made (the test approves in a browser meanwhile), then
// {"ok":true,...} or {"ok":false,"step","error"}.

import * as client from 'openid-client';

let step = 'inputs';

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

function describe(err) {
  if (!(err instanceof Error)) return String(err);
  let text = `${err.name}: ${err.message}`;
  if (err.error) text += ` error=${err.error}`;
  if (err.error_description) text += ` error_description=${err.error_description}`;
  if (err.cause instanceof Error) text += ` (cause: ${describe(err.cause)})`;
  return text;
}

async function main() {
  const issuer = env('ISSUER');
  const clientId = env('CLIENT_ID');
  const opNow = Number(env('NOW'));
  const clockSkew = opNow - Math.floor(Date.now() / 1000);

  step = 'discovery';
  const config = await client.discovery(
    new URL(issuer),
    clientId,
    { [client.clockSkew]: clockSkew },
    client.None(),
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] },
  );

  step = 'device_authorization';
  const device = await client.initiateDeviceAuthorization(config, {
    scope: 'openid email offline_access',
  });
  process.stdout.write(`${JSON.stringify({
    user_code: device.user_code,
    verification_uri: device.verification_uri,
    verification_uri_complete: device.verification_uri_complete,
    interval: device.interval,
    expires_in: device.expires_in,
  })}\n`);

  step = 'poll';
  const tokens = await client.pollDeviceAuthorizationGrant(config, device);
  const claims = tokens.claims();
  if (!claims) throw new Error('no ID token');

  step = 'userinfo';
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

  return {
    ok: true,
    sub: claims.sub,
    email: userinfo.email,
    has_refresh_token: typeof tokens.refresh_token === 'string',
  };
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0)),
  (err) => process.stdout.write(`${JSON.stringify({ ok: false, step, error: describe(err) })}\n`, () => process.exit(1)),
);
