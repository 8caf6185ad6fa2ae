//! Real upstream identity providers for the brokered-login tests: `tests/upstream/upstream.mjs`
//! runs `oidc-provider` (npm, panva, OpenID-certified; pinned in `tests/upstream/package.json`)
//! playing Google, Microsoft (Entra ID), d アカウント or Facebook on 127.0.0.1.
//!
//! Each [`UpstreamOp`] is its own Node process on its own ports (the OS picks them) with one
//! static confidential client, so tests run in parallel without sharing sessions or codes. The
//! process is killed when the value is dropped; it also exits by itself when the test process
//! dies (it watches its stdin, a pipe this value holds). `scripts/test` installs the npm
//! packages (`npm ci` in `tests/upstream`). Logs go to `{target}/test-upstream/<name>/`.
//!
//! # Per profile
//!
//! | profile | issuer | discovery | signing |
//! |---|---|---|---|
//! | Google | `http://127.0.0.1:P` | `{issuer}/.well-known/openid-configuration` | ES256 |
//! | d アカウント | `http://127.0.0.1:P/daccount` | `{issuer}/.well-known/openid-configuration` | ES256 |
//! | Microsoft | `http://127.0.0.1:P/<tenant GUID>/v2.0` | also `/common/v2.0/…` and `/organizations/v2.0/…` with issuer `http://127.0.0.1:P/{tenantid}/v2.0` | RS256 |
//! | Facebook | `http://127.0.0.1:P` (OAuth 2.0 use) | + Graph API at [`UpstreamOp::graph_url`] | ES256 |
//!
//! The endpoints are oidc-provider's default routes under the issuer (also in discovery):
//! `{issuer}/auth`, `{issuer}/token`, `{issuer}/jwks`, `{issuer}/me` (userinfo).
//!
//! - Accounts: any login name and any password are accepted; the login name is the `sub`.
//!   Claims: `email` = `<login>@<profile>.example` ([`UpstreamOp::email_for`]),
//!   `email_verified: true`, `name` = `<login>`; for Microsoft also `tid` (the tenant GUID) and
//!   `preferred_username` (= the email). The ID token carries the claims of the granted scopes
//!   (`openid email profile`), not only `sub`.
//! - Microsoft: ID tokens carry `iss` = the tenant issuer and `tid`; the `common` and
//!   `organizations` discovery documents carry the template issuer
//!   ([`UpstreamOp::issuer_template`]) with the tenant's endpoints, as real Entra ID: the RP
//!   validates `iss` by substituting `tid` for `{tenantid}`.
//! - Facebook: scopes `email public_profile` work without `openid` (then no ID token). The Graph
//!   API answers `GET /me?fields=id,name,email` (also `/v19.0/me`) with `Authorization: Bearer
//!   <access token>` or `?access_token=`: `{"id": sub, "name": …, "email": …}` (default fields
//!   `id,name`; `email` only when the `email` scope was granted); an unknown or expired token
//!   gets 401 with `{"error": {"message", "type": "OAuthException", "code": 190, …}}` (code 2500
//!   when no token is given; real Graph usually answers these with 400).
//! - The authorization response carries `iss` (RFC 9207) for Google and d アカウント, not for
//!   Microsoft and Facebook (as the real ones).
//! - The client authenticates at the token endpoint with `client_secret_basic` or
//!   `client_secret_post`; PKCE (`S256`) is optional and checked when used.
//! - Time: [`UpstreamOp::start_at`] sets the provider's clock to the test's fake "now" (the
//!   script shifts Node's `Date` by the difference), so the `iat` and `exp` it stamps agree with
//!   the clock Sekisho checks them against; [`UpstreamClock::set_now`] moves it when the test
//!   moves its clock (`POST /_test/clock` on the provider's port). From there it runs on in real
//!   time. [`UpstreamOp::start`] leaves the provider on the wall clock.
//!
//! # Logging in at the upstream over HTTP
//!
//! With an HTTP client that keeps cookies and does NOT follow redirects (all redirects are
//! `303 See Other`; `Location` is a path, resolve it against the request URL):
//!
//! 1. `GET {issuer}/auth?client_id=…&response_type=code&scope=openid%20email%20profile`
//!    `&redirect_uri=…&state=…[&nonce=…][&code_challenge=…&code_challenge_method=S256][&prompt=…]`
//!    → `303` to `{issuer}/interaction/<uid>`.
//! 2. `GET {issuer}/interaction/<uid>` → `200` HTML: the login form
//!    (`<form action="{issuer}/interaction/<uid>" method="post">` with a hidden
//!    `<input name="prompt" value="login">`).
//! 3. `POST {issuer}/interaction/<uid>` form `prompt=login&login=<sub>&password=x`
//!    → `303` to `{issuer}/auth/<uid>`.
//! 4. `GET {issuer}/auth/<uid>` → `303` to `{issuer}/interaction/<uid2>` (consent).
//! 5. `GET {issuer}/interaction/<uid2>` → `200` HTML, hidden `prompt` = `consent`.
//! 6. `POST {issuer}/interaction/<uid2>` form `prompt=consent` → `303` to `{issuer}/auth/<uid2>`.
//! 7. `GET {issuer}/auth/<uid2>` → `303` to `<redirect_uri>?code=…&state=…` (`&iss=…` for Google
//!    and d アカウント).
//!
//! Robust drivers loop: follow each `303` by hand until the `Location` starts with the
//! redirect_uri; on a `200` page POST its (first) form's hidden inputs to its `action`, adding
//! `login=<sub>&password=x` when the hidden `prompt` is `login` (`consent` needs nothing more).
//! That also covers the one other page: when a session exists and the login (after
//! `prompt=select_account` or `prompt=login`) names ANOTHER account, the resume URL
//! `{issuer}/auth/<uid>` answers `200` with an auto-submitting form (JavaScript in a browser):
//! `POST {issuer}/session/end/confirm` with hidden `xsrf` and `logout=yes`, which ends the old
//! session and answers `303` back to `{issuer}/auth/<uid>`; consent follows for the new account.
//! The tests below drive it exactly so (`login` in the test module). Consent is asked once
//! per account and client in a session: a later request in the same cookie jar answers step 1
//! with the `303` to the redirect_uri at once, unless `prompt=login`, `prompt=consent` or
//! `prompt=select_account` is sent. `prompt=select_account` shows the login form again even with
//! a session (the account choice); logging in as the same account then skips consent, another
//! account goes through the logout form above and consent. Redeeming a code twice revokes its
//! grant (oidc-provider's rule): the next login in that session asks consent again.
//!
//! Then redeem the code: `POST {issuer}/token` with `grant_type=authorization_code&code=…`
//! `&redirect_uri=…[&code_verifier=…]` and HTTP Basic `client_id:client_secret` (or the two as
//! form fields) → JSON `access_token`, `id_token` (when `openid` was granted), `token_type`,
//! `expires_in`, `scope`.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::{target_dir, unique_name, workspace_root};

const NODE: &str = "node";
/// Longest wait for the ready line. Node and oidc-provider start in well under a second on an
/// idle machine; a loaded CI machine (and RSA key generation for Microsoft) can take longer.
// Only an upper bound: peers start in about a second on an idle machine, but the whole suite on
// two cores once kept an oidc-provider from printing its ready line for over 30 s.
const READY_WITHIN: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(50);
/// The script's clock control (see [`UpstreamClock`]), on the provider's port.
const CLOCK_PATH: &str = "/_test/clock";
/// Longest wait for the script to take a new time.
const CLOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Which real identity provider the upstream plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    Google,
    Microsoft,
    DAccount,
    Facebook,
}

impl Profile {
    pub const ALL: [Profile; 4] = [
        Profile::Google,
        Profile::Microsoft,
        Profile::DAccount,
        Profile::Facebook,
    ];

    /// The script's name for it: `google`, `microsoft`, `daccount`, `facebook`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Google => "google",
            Profile::Microsoft => "microsoft",
            Profile::DAccount => "daccount",
            Profile::Facebook => "facebook",
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A running upstream provider on 127.0.0.1, killed on drop.
#[derive(Debug)]
pub struct UpstreamOp {
    profile: Profile,
    port: u16,
    issuer: String,
    discovery: String,
    graph: Option<String>,
    issuer_template: Option<String>,
    tenant: Option<String>,
    discovery_common: Option<String>,
    discovery_organizations: Option<String>,
    dir: PathBuf,
    child: Option<Child>,
    /// Held open: the script exits when it closes (that is, when this process dies).
    _stdin: Option<ChildStdin>,
}

impl UpstreamOp {
    /// Starts `profile` with one confidential client and waits (bounded) until it is ready. The
    /// provider runs on the wall clock: for tests of the provider itself; a test whose code under
    /// test runs on a fake clock uses [`Self::start_at`].
    pub fn start(
        profile: Profile,
        client_id: &str,
        client_secret: &str,
        redirect_uris: &[String],
    ) -> anyhow::Result<Self> {
        Self::launch(profile, client_id, client_secret, redirect_uris, None)
    }

    /// [`Self::start`] with the provider's clock set to `now` (seconds since the Unix epoch: the
    /// test's fake clock), running on from there; [`Self::clock`] moves it later.
    pub fn start_at(
        profile: Profile,
        client_id: &str,
        client_secret: &str,
        redirect_uris: &[String],
        now: i64,
    ) -> anyhow::Result<Self> {
        Self::launch(profile, client_id, client_secret, redirect_uris, Some(now))
    }

    fn launch(
        profile: Profile,
        client_id: &str,
        client_secret: &str,
        redirect_uris: &[String],
        now: Option<i64>,
    ) -> anyhow::Result<Self> {
        check_installed()?;
        let dir = target_dir()
            .join("test-upstream")
            .join(unique_name(profile.as_str()));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let stdout_file = dir.join("stdout.log");
        let stderr_file = dir.join("stderr.log");
        let stdout = fs::File::create(&stdout_file)
            .with_context(|| format!("creating {}", stdout_file.display()))?;
        let stderr = fs::File::create(&stderr_file)
            .with_context(|| format!("creating {}", stderr_file.display()))?;
        let mut config = json!({
            "profile": profile.as_str(),
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uris": redirect_uris,
            "exit_on_stdin_eof": true,
        });
        if let Some(now) = now {
            config["now"] = json!(now);
        }
        let mut child = Command::new(NODE)
            .arg(script())
            .arg(config.to_string())
            .current_dir(upstream_dir())
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| {
                format!(
                    "running {NODE} {}: the upstream OpenID provider needs Node.js 20 or later",
                    script().display()
                )
            })?;
        let stdin = child.stdin.take();
        let mut op = Self {
            profile,
            port: 0,
            issuer: String::new(),
            discovery: String::new(),
            graph: None,
            issuer_template: None,
            tenant: None,
            discovery_common: None,
            discovery_organizations: None,
            dir,
            child: Some(child),
            _stdin: stdin,
        };
        // On an error `op` is dropped here, which kills the process.
        let ready = op.wait_until_ready()?;
        op.apply(&ready).with_context(|| {
            format!("unexpected ready line from {}: {ready}", script().display())
        })?;
        Ok(op)
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The port of the provider (Facebook's Graph API has its own, see [`Self::graph_url`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The provider's issuer: the `iss` of its ID tokens. For Microsoft, the tenant's own issuer
    /// `http://127.0.0.1:P/<tenant>/v2.0` (the multi-tenant discovery shows
    /// [`Self::issuer_template`] instead).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `{issuer}/.well-known/openid-configuration`. For Microsoft, the tenant's; the RP under
    /// test usually gets [`Self::discovery_common_url`].
    pub fn discovery_url(&self) -> &str {
        &self.discovery
    }

    /// `{issuer}/auth` (oidc-provider's route; also in discovery).
    pub fn authorization_endpoint(&self) -> String {
        format!("{}/auth", self.issuer)
    }

    /// `{issuer}/token` (oidc-provider's route; also in discovery).
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// `{issuer}/jwks` (oidc-provider's route; also in discovery).
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// Facebook only: the Graph API base, `http://127.0.0.1:G` (call `{graph}/me?fields=…`).
    pub fn graph_url(&self) -> Option<&str> {
        self.graph.as_deref()
    }

    /// Microsoft only: `http://127.0.0.1:P/{tenantid}/v2.0`, literally `{tenantid}`.
    pub fn issuer_template(&self) -> Option<&str> {
        self.issuer_template.as_deref()
    }

    /// Microsoft only: the tenant GUID (the `tid` claim).
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// Microsoft only: `http://127.0.0.1:P/common/v2.0/.well-known/openid-configuration`.
    pub fn discovery_common_url(&self) -> Option<&str> {
        self.discovery_common.as_deref()
    }

    /// Microsoft only: `http://127.0.0.1:P/organizations/v2.0/.well-known/openid-configuration`.
    pub fn discovery_organizations_url(&self) -> Option<&str> {
        self.discovery_organizations.as_deref()
    }

    /// The `email` claim of the account `login`: `<login>@<profile>.example`.
    pub fn email_for(&self, login: &str) -> String {
        format!("{login}@{}.example", self.profile.as_str())
    }

    /// The folder with the script's `stdout.log` and `stderr.log`.
    pub fn log_dir(&self) -> &Path {
        &self.dir
    }

    /// A handle that moves this provider's clock, to keep with the test's clock.
    pub fn clock(&self) -> UpstreamClock {
        UpstreamClock {
            addr: SocketAddr::from(([127, 0, 0, 1], self.port)),
        }
    }

    fn apply(&mut self, ready: &Value) -> anyhow::Result<()> {
        let text = |key: &str| ready.get(key).and_then(Value::as_str).map(str::to_owned);
        self.port = ready
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .context("no port")?;
        self.issuer = text("issuer").context("no issuer")?;
        self.discovery = text("discovery").context("no discovery")?;
        self.graph = text("graph");
        self.issuer_template = text("issuer_template");
        self.tenant = text("tenant");
        self.discovery_common = text("discovery_common");
        self.discovery_organizations = text("discovery_organizations");
        if self.profile == Profile::Facebook && self.graph.is_none() {
            bail!("no graph URL for facebook");
        }
        if self.profile == Profile::Microsoft
            && (self.issuer_template.is_none()
                || self.tenant.is_none()
                || self.discovery_common.is_none())
        {
            bail!("no issuer_template, tenant or discovery_common for microsoft");
        }
        Ok(())
    }

    /// Polls (bounded) `stdout.log` for the one JSON line the script prints when it listens.
    #[allow(
        clippy::disallowed_methods,
        reason = "waits (bounded, in real time) for the Node process to listen"
    )]
    fn wait_until_ready(&mut self) -> anyhow::Result<Value> {
        let started = Instant::now();
        let stdout_file = self.dir.join("stdout.log");
        loop {
            // Read the output before looking at the exit status, so a line written just before
            // an exit is not missed.
            let out = fs::read_to_string(&stdout_file).unwrap_or_default();
            if let Some(ready) = out
                .lines()
                .take_while(|_| out.ends_with('\n'))
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|v| v.get("port").is_some())
            {
                return Ok(ready);
            }
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    bail!(
                        "the upstream OpenID provider ({}) exited at start ({status}):\n{}",
                        self.profile,
                        self.stderr().trim_end()
                    );
                }
            }
            if started.elapsed() > READY_WITHIN {
                bail!(
                    "the upstream OpenID provider ({}) was not ready within {READY_WITHIN:?} (logs: {})",
                    self.profile,
                    self.dir.display()
                );
            }
            sleep(POLL);
        }
    }

    fn stderr(&self) -> String {
        fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }
}

impl Drop for UpstreamOp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Moves an upstream provider's clock (see the module doc): cheap to clone, and usable from a
/// test's (synchronous) clock. Fails once the provider is gone.
#[derive(Debug, Clone)]
pub struct UpstreamClock {
    addr: SocketAddr,
}

impl UpstreamClock {
    /// The clock of another test peer that speaks the same `POST /_test/clock` protocol (the
    /// SAML IdP), so one test clock drives them all.
    pub(crate) fn at(addr: SocketAddr) -> Self {
        Self { addr }
    }

    /// Sets the provider's current time to `now` (seconds since the Unix epoch); it runs on from
    /// there in real time. Returns once the provider has taken it, so the next request it
    /// answers is stamped on the new time.
    pub fn set_now(&self, now: i64) -> anyhow::Result<()> {
        let body = json!({ "now": now }).to_string();
        let request = format!(
            "POST {CLOCK_PATH} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let answer = (|| -> std::io::Result<String> {
            let mut stream = TcpStream::connect_timeout(&self.addr, CLOCK_TIMEOUT)?;
            stream.set_read_timeout(Some(CLOCK_TIMEOUT))?;
            stream.set_write_timeout(Some(CLOCK_TIMEOUT))?;
            stream.write_all(request.as_bytes())?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        })()
        .with_context(|| {
            format!(
                "setting the clock of the upstream provider at {}",
                self.addr
            )
        })?;
        let status = answer.lines().next().unwrap_or_default();
        if status.split(' ').nth(1) != Some("200") {
            bail!(
                "the upstream provider at {} refused the new time: {answer}",
                self.addr
            );
        }
        Ok(())
    }
}

fn upstream_dir() -> PathBuf {
    workspace_root().join("tests").join("upstream")
}

fn script() -> PathBuf {
    upstream_dir().join("upstream.mjs")
}

/// A clear error when `npm ci` has not run in `tests/upstream`.
fn check_installed() -> anyhow::Result<()> {
    let package = upstream_dir()
        .join("node_modules")
        .join("oidc-provider")
        .join("package.json");
    match fs::metadata(&package) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => bail!(
            "{} is missing: the upstream OpenID provider's npm packages are not installed; \
             run scripts/test (or `npm ci` in {})",
            package.display(),
            upstream_dir().display()
        ),
        Err(e) => Err(e).with_context(|| format!("reading {}", package.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::upstream_login::{browser, login as drive};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use reqwest::{Client, StatusCode, Url};

    const CLIENT_ID: &str = "sekisho-rp";
    const CLIENT_SECRET: &str = "upstream-secret";
    const REDIRECT_URI: &str = "http://127.0.0.1:9/upstream/callback";
    // RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn start(profile: Profile) -> UpstreamOp {
        UpstreamOp::start(
            profile,
            CLIENT_ID,
            CLIENT_SECRET,
            &[REDIRECT_URI.to_owned()],
        )
        .unwrap_or_else(|e| panic!("starting {profile}: {e:#}"))
    }

    fn authorize_url(op: &UpstreamOp, scope: &str, extra: &[(&str, &str)]) -> Url {
        let mut url = Url::parse(&op.authorization_endpoint()).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", CLIENT_ID)
            .append_pair("response_type", "code")
            .append_pair("scope", scope)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("state", "st-1")
            .extend_pairs(extra);
        url
    }

    /// Redeems `code`: with HTTP Basic, or with the secret in the form (`post`).
    async fn redeem(op: &UpstreamOp, code: &str, verifier: Option<&str>, post: bool) -> Value {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        let mut request = Client::new().post(op.token_endpoint());
        if post {
            form.push(("client_id", CLIENT_ID));
            form.push(("client_secret", CLIENT_SECRET));
        } else {
            request = request.basic_auth(CLIENT_ID, Some(CLIENT_SECRET));
        }
        let response = request.form(&form).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "token response: {body}");
        body
    }

    fn jwt_part(token: &str, index: usize) -> Value {
        let part = token.split('.').nth(index).expect("a JWT");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    async fn get_json(url: &str) -> Value {
        let response = Client::new().get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        response.json().await.unwrap()
    }

    /// The full login for an OpenID profile; returns the ID token's header and claims.
    async fn openid_login(op: &UpstreamOp, pkce: bool, post: bool) -> (Value, Value) {
        let discovery = get_json(op.discovery_url()).await;
        assert_eq!(discovery["issuer"], op.issuer());
        assert_eq!(
            discovery["authorization_endpoint"],
            op.authorization_endpoint()
        );
        assert_eq!(discovery["token_endpoint"], op.token_endpoint());
        assert_eq!(discovery["jwks_uri"], op.jwks_uri());

        let client = browser();
        let mut extra = vec![("nonce", "n-1")];
        if pkce {
            extra.extend([
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ]);
        }
        let first = drive(
            &client,
            authorize_url(op, "openid email profile", &extra),
            REDIRECT_URI,
            "alice",
        )
        .await;
        assert_eq!(first.pages, ["login", "consent"]);
        assert_eq!(first.param("state").as_deref(), Some("st-1"));
        let iss = first.param("iss");
        match op.profile() {
            Profile::Microsoft | Profile::Facebook => assert_eq!(iss, None),
            _ => assert_eq!(iss.as_deref(), Some(op.issuer())),
        }
        let code = first.param("code").expect("code");
        let tokens = redeem(op, &code, pkce.then_some(VERIFIER), post).await;
        assert!(tokens["access_token"].is_string(), "{tokens}");
        let id_token = tokens["id_token"].as_str().expect("id_token");
        let header = jwt_part(id_token, 0);
        let claims = jwt_part(id_token, 1);
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["aud"], CLIENT_ID);
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["email"], op.email_for("alice"));
        assert_eq!(claims["email_verified"], true);
        assert_eq!(claims["name"], "alice");
        let jwks = get_json(&op.jwks_uri()).await;
        assert!(
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == header["kid"]),
            "the ID token's kid is in the JWKS"
        );

        // A session exists: without a prompt the code comes back at once...
        let silent = drive(
            &client,
            authorize_url(op, "openid email profile", &[]),
            REDIRECT_URI,
            "x",
        )
        .await;
        assert!(silent.pages.is_empty(), "{:?}", silent.pages);
        assert!(silent.param("code").is_some());
        // ...but prompt=select_account shows the login form again: log in as someone else.
        let chosen = drive(
            &client,
            authorize_url(op, "openid email profile", &[("prompt", "select_account")]),
            REDIRECT_URI,
            "bob",
        )
        .await;
        // Another account: oidc-provider ends alice's session first (an auto-submitting form).
        assert_eq!(chosen.pages, ["login", "logout", "consent"]);
        let tokens = redeem(op, &chosen.param("code").unwrap(), None, post).await;
        let bob = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
        assert_eq!(bob["sub"], "bob");
        // The same account again: the login form, but no second consent.
        let again = drive(
            &client,
            authorize_url(op, "openid email profile", &[("prompt", "select_account")]),
            REDIRECT_URI,
            "bob",
        )
        .await;
        assert_eq!(again.pages, ["login"]);
        assert!(again.param("code").is_some());

        // The code works once (and its replay revokes the grant: the next login asks consent).
        let mut replay = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ];
        if pkce {
            replay.push(("code_verifier", VERIFIER));
        }
        let answer = Client::new()
            .post(op.token_endpoint())
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&replay)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant");

        (header, claims)
    }

    #[tokio::test]
    async fn google_issues_id_tokens_with_email() {
        let op = start(Profile::Google);
        assert_eq!(op.issuer(), format!("http://127.0.0.1:{}", op.port()));
        assert_eq!(op.graph_url(), None);
        let (header, claims) = openid_login(&op, true, false).await;
        assert_eq!(header["alg"], "ES256");
        assert_eq!(claims["iss"], op.issuer());
        assert_eq!(claims["email"], "alice@google.example");
    }

    #[tokio::test]
    async fn daccount_lives_under_a_path_and_takes_client_secret_post() {
        let op = start(Profile::DAccount);
        assert_eq!(
            op.issuer(),
            format!("http://127.0.0.1:{}/daccount", op.port())
        );
        let (header, claims) = openid_login(&op, false, true).await;
        assert_eq!(header["alg"], "ES256");
        assert_eq!(claims["iss"], op.issuer());
        assert_eq!(claims["email"], "alice@daccount.example");
    }

    #[tokio::test]
    async fn microsoft_common_has_a_template_issuer_and_tokens_carry_tid() {
        let op = start(Profile::Microsoft);
        let tenant = op.tenant().unwrap().to_owned();
        let template = op.issuer_template().unwrap().to_owned();
        assert_eq!(
            template,
            format!("http://127.0.0.1:{}/{{tenantid}}/v2.0", op.port())
        );
        assert_eq!(op.issuer(), template.replace("{tenantid}", &tenant));

        let tenant_doc = get_json(op.discovery_url()).await;
        for url in [
            op.discovery_common_url().unwrap(),
            op.discovery_organizations_url().unwrap(),
        ] {
            assert!(url.contains("/v2.0/.well-known/openid-configuration"));
            let doc = get_json(url).await;
            assert_eq!(doc["issuer"], template.as_str(), "{url}");
            assert_eq!(doc["token_endpoint"], tenant_doc["token_endpoint"]);
            assert_eq!(doc["jwks_uri"], tenant_doc["jwks_uri"]);
            assert!(doc
                .get("authorization_response_iss_parameter_supported")
                .is_none());
        }

        let (header, claims) = openid_login(&op, true, false).await;
        assert_eq!(header["alg"], "RS256");
        assert_eq!(claims["tid"], tenant.as_str());
        let tid = claims["tid"].as_str().unwrap();
        assert_eq!(claims["iss"], template.replace("{tenantid}", tid));
        assert_eq!(claims["preferred_username"], "alice@microsoft.example");
    }

    #[tokio::test]
    async fn facebook_is_oauth_with_a_graph_me() {
        let op = start(Profile::Facebook);
        let graph = op.graph_url().unwrap().to_owned();
        assert_ne!(graph, format!("http://127.0.0.1:{}", op.port()));

        let client = browser();
        let done = drive(
            &client,
            authorize_url(&op, "email public_profile", &[]),
            REDIRECT_URI,
            "carol",
        )
        .await;
        assert_eq!(done.pages, ["login", "consent"]);
        assert_eq!(done.param("iss"), None);
        let tokens = redeem(&op, &done.param("code").unwrap(), None, false).await;
        assert!(tokens.get("id_token").is_none(), "{tokens}");
        let token = tokens["access_token"].as_str().unwrap();

        let http = Client::new();
        let me = format!("{graph}/me?fields=id,name,email");
        let answer = http.get(&me).bearer_auth(token).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(
            body,
            json!({"id": "carol", "name": "carol", "email": "carol@facebook.example"})
        );
        let versioned = format!("{graph}/v19.0/me?access_token={token}");
        let body: Value = get_json(&versioned).await;
        assert_eq!(body, json!({"id": "carol", "name": "carol"}));

        for bad in [
            http.get(&me).bearer_auth("not-a-token"),
            http.get(format!("{me}&access_token=nope")),
            http.get(&me),
        ] {
            let answer = bad.send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
            let body: Value = answer.json().await.unwrap();
            assert_eq!(body["error"]["type"], "OAuthException", "{body}");
            assert!(body["error"]["code"].is_number(), "{body}");
        }
        let answer = http
            .get(&me)
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], 190);

        let port = op.port();
        drop(op);
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "killed on drop"
        );
    }

    #[tokio::test]
    async fn the_provider_keeps_the_time_it_is_given() {
        // A test's fake clock (here 2030-01-01T00:00:00Z), then a day later: the ID tokens'
        // `iat` follow it, and `exp` is an hour after.
        const T: i64 = 1_893_456_000;
        let op = UpstreamOp::start_at(
            Profile::Google,
            CLIENT_ID,
            CLIENT_SECRET,
            &[REDIRECT_URI.to_owned()],
            T,
        )
        .unwrap();
        let client = browser();
        for (n, now) in [T, T + 86_400].into_iter().enumerate() {
            if n > 0 {
                op.clock().set_now(now).unwrap();
            }
            let done = drive(
                &client,
                authorize_url(&op, "openid", &[("prompt", "login")]),
                REDIRECT_URI,
                "alice",
            )
            .await;
            let tokens = redeem(&op, &done.param("code").unwrap(), None, false).await;
            let claims = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
            let iat = claims["iat"].as_i64().unwrap();
            assert!((now..now + 60).contains(&iat), "iat {iat}, now {now}");
            assert_eq!(claims["exp"].as_i64().unwrap(), iat + 3600);
        }
        let clock = get_json(&format!("http://127.0.0.1:{}{CLOCK_PATH}", op.port())).await;
        assert!(clock["now"].as_i64().unwrap() >= T + 86_400, "{clock}");
        let handle = op.clock();
        drop(op);
        assert!(handle.set_now(T).is_err(), "the provider is gone");
    }

    #[test]
    fn profiles_have_the_script_names() {
        let names: Vec<_> = Profile::ALL.iter().map(|p| p.to_string()).collect();
        assert_eq!(names, ["google", "microsoft", "daccount", "facebook"]);
    }
}
