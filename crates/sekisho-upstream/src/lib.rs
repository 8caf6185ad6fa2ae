//! Upstream identity connectors for brokered login (REQ-LOGIN-3): Google, Microsoft (Entra ID)
//! and d アカウント over OpenID Connect, Facebook over OAuth 2.0 and the Graph API.
//!
//! A [`Connector`] is small and stateless: the server creates the state, nonce and PKCE verifier,
//! keeps them with the browser's round trip, and hands them back to
//! [`Connector::handle_callback`]. What a connector keeps is only a cache of the provider's
//! discovery document and JWKS (`oidc.rs`).
//!
//! - [`Connector::login_url`]: where to send the browser; always asks the user to choose the
//!   account (`prompt=select_account` for the OpenID kinds), PKCE `S256`.
//! - [`Connector::handle_callback`]: redeems the code (`client_secret_basic`; Facebook:
//!   `client_secret_post`, the only form Facebook documents), verifies the ID token (signature
//!   against the provider's JWKS, `iss`, `aud`, `exp`, `nonce`) or, for Facebook, reads Graph
//!   `/me`, and returns the neutral [`UpstreamIdentity`].
//!
//! Secrets (the client secret, codes, tokens, the PKCE verifier) never appear in logs, `Debug`
//! output or error strings.

pub mod client_keys;
mod facebook;
mod http;
mod oidc;
mod settings;

use std::fmt;
use std::sync::Arc;

use sekisho_core::Clock;

use sekisho_core::Secret;

pub use settings::ConnectorSettings;

/// Who the upstream says the user is. `(issuer, subject)` identifies the account; the email is
/// only a hint unless `email_verified`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    /// The ID token's `iss` (Microsoft: the user's tenant issuer); Facebook: the configured
    /// [`ConnectorSettings::issuer`].
    pub issuer: String,
    /// The ID token's `sub`; Facebook: the Graph `id` (app-scoped).
    pub subject: String,
    pub email: Option<String>,
    /// The upstream vouches for `email`: the `email_verified` claim (absent = false, as for
    /// Microsoft); Facebook returns only confirmed addresses, so there it is `email.is_some()`.
    pub email_verified: bool,
    pub name: Option<String>,
}

/// Which upstream a connector talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Google,
    Microsoft,
    DAccount,
    Facebook,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Google,
        Kind::Microsoft,
        Kind::DAccount,
        Kind::Facebook,
    ];

    /// The configuration's name for it: `google`, `microsoft`, `daccount`, `facebook`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Google => "google",
            Kind::Microsoft => "microsoft",
            Kind::DAccount => "daccount",
            Kind::Facebook => "facebook",
        }
    }

    /// The kind named `name` (exactly as [`Kind::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Google, Microsoft and d アカウント speak OpenID Connect; Facebook plain OAuth 2.0.
    pub fn is_openid(self) -> bool {
        self != Kind::Facebook
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a login at the upstream failed. The strings never hold secrets.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The settings are wrong (or the server passed a malformed argument such as a PKCE
    /// verifier of the wrong length).
    #[error("upstream configuration: {0}")]
    Config(String),
    /// Discovery, JWKS, token or Graph endpoint unreachable or answering garbage.
    #[error("upstream unavailable: {0}")]
    Unavailable(String),
    /// The token endpoint refused the code (invalid_grant etc.), with the OAuth error code.
    #[error("upstream refused the code: {0}")]
    TokenRefused(String),
    /// The ID token failed verification; the reason is one of these.
    #[error("invalid ID token from the upstream: {0}")]
    InvalidIdToken(IdTokenProblem),
    /// Graph /me refused the token or lacked an id.
    #[error("upstream profile: {0}")]
    Profile(String),
}

/// What was wrong with an ID token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenProblem {
    /// Bad signature, or an algorithm that is not allowed (`none`, HMAC, not in discovery).
    Signature,
    /// No key in the provider's JWKS (even after refetching it) matches the token's `kid`.
    UnknownKey,
    /// `iss` is not the provider's (Microsoft: not the template with the token's `tid`).
    Issuer,
    /// `aud` does not hold our client_id, or holds others too.
    Audience,
    /// `exp` passed (or `iat` is unacceptable).
    Expired,
    /// `nonce` missing or not the one sent.
    Nonce,
    /// The token response had no ID token.
    Missing,
    /// Anything else (unsupported JOSE header, malformed token, …).
    Other,
}

impl fmt::Display for IdTokenProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdTokenProblem::Signature => "signature",
            IdTokenProblem::UnknownKey => "unknown signing key",
            IdTokenProblem::Issuer => "issuer",
            IdTokenProblem::Audience => "audience",
            IdTokenProblem::Expired => "expired",
            IdTokenProblem::Nonce => "nonce",
            IdTokenProblem::Missing => "missing",
            IdTokenProblem::Other => "malformed or unsupported",
        })
    }
}

/// One configured upstream: its settings, an HTTP client, and (OpenID kinds) the cached
/// discovery document and JWKS.
pub struct Connector {
    settings: ConnectorSettings,
    kind: Kind,
    http: reqwest::Client,
    protocol: Protocol,
}

enum Protocol {
    OpenId(oidc::OpenId),
    Facebook(facebook::Facebook),
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("name", &self.settings.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// Checks the settings (kind, name, client, URLs; fills in the kind's defaults) and builds
    /// the connector. Nothing is fetched yet: discovery happens at the first login. `clock` is
    /// the server's: the discovery cache's age and ID tokens' `exp` are measured on it.
    pub fn new(settings: ConnectorSettings, clock: Arc<dyn Clock>) -> Result<Self, UpstreamError> {
        let valid = settings.validate()?;
        let http = http::client()?;
        let protocol = match valid.kind {
            Kind::Facebook => Protocol::Facebook(facebook::Facebook::new(&valid)?),
            _ => Protocol::OpenId(oidc::OpenId::new(&valid, clock)?),
        };
        Ok(Self {
            kind: valid.kind,
            settings: valid.settings,
            http,
            protocol,
        })
    }

    /// The path segment and button id.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The settings with the kind's defaults filled in.
    pub fn settings(&self) -> &ConnectorSettings {
        &self.settings
    }

    /// The URL to send the browser to. Always asks the user to choose the account
    /// (`prompt=select_account` for the OpenID kinds; Facebook: the plain dialog), with PKCE
    /// `S256` computed from `pkce_verifier` (43 to 128 characters of `A-Z a-z 0-9 - . _ ~`).
    /// OpenID kinds fetch discovery the first time (and when the cache is 5 minutes old).
    /// `state` (and, for the OpenID kinds, `nonce`) must not be empty.
    pub async fn login_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &Secret<String>,
        pkce_verifier: &Secret<String>,
    ) -> Result<url::Url, UpstreamError> {
        // Read here and handed to the protocol, which puts the nonce and the verifier's
        // challenge into the URL; neither value is kept.
        let (nonce, pkce_verifier) = (nonce.expose(), pkce_verifier.expose());
        check_verifier(pkce_verifier)?;
        if state.is_empty() {
            return Err(UpstreamError::Config("the state is empty".into()));
        }
        match &self.protocol {
            Protocol::OpenId(p) => {
                p.login_url(&self.http, redirect_uri, state, nonce, pkce_verifier)
                    .await
            }
            Protocol::Facebook(p) => p.login_url(redirect_uri, state, pkce_verifier),
        }
    }

    /// Where [`Connector::login_url`] sends the browser: the authorization endpoint (OpenID
    /// kinds: from discovery, fetched and cached as for a login). A page whose form ends there
    /// through a redirect allows its origin in the page's CSP `form-action`.
    pub async fn authorization_endpoint(&self) -> Result<url::Url, UpstreamError> {
        match &self.protocol {
            Protocol::OpenId(p) => p.authorization_endpoint(&self.http).await,
            Protocol::Facebook(p) => Ok(p.authorization_endpoint()),
        }
    }

    /// The callback: exchanges `code`, verifies the ID token for the OpenID kinds (signature
    /// against the provider's JWKS, refetched once if the `kid` is unknown; `iss`; `aud` =
    /// client_id; `exp`; `nonce`) and returns the identity. Facebook: exchanges the code, then
    /// `GET {graph_url}/me?fields=id,name,email` with the bearer token.
    pub async fn handle_callback(
        &self,
        redirect_uri: &str,
        code: &str,
        nonce: &Secret<String>,
        pkce_verifier: &Secret<String>,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let (nonce, pkce_verifier) = (nonce.expose(), pkce_verifier.expose());
        check_verifier(pkce_verifier)?;
        if code.is_empty() {
            return Err(UpstreamError::TokenRefused("no code".into()));
        }
        match &self.protocol {
            Protocol::OpenId(p) => {
                p.handle_callback(&self.http, redirect_uri, code, nonce, pkce_verifier)
                    .await
            }
            Protocol::Facebook(p) => {
                p.handle_callback(&self.http, redirect_uri, code, pkce_verifier)
                    .await
            }
        }
    }
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters. (The oauth2 crate panics on other lengths.)
fn check_verifier(verifier: &str) -> Result<(), UpstreamError> {
    let ok = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if ok {
        Ok(())
    } else {
        Err(UpstreamError::Config(
            "the PKCE verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~".into(),
        ))
    }
}

fn redirect_url(redirect_uri: &str) -> Result<oauth2::RedirectUrl, UpstreamError> {
    oauth2::RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|_| UpstreamError::Config(format!("redirect_uri is not a URL: {redirect_uri}")))
}

type TokenError = oauth2::RequestTokenError<
    oauth2::HttpClientError<reqwest::Error>,
    oauth2::StandardErrorResponse<oauth2::basic::BasicErrorResponseType>,
>;

/// A failed code exchange: a refusal by the token endpoint, or the endpoint being unusable.
/// Only the OAuth error code is kept (the description is the server's prose; the body of an
/// answer that did not parse may hold a token).
fn token_error(token_url: &str, e: TokenError) -> UpstreamError {
    use oauth2::{HttpClientError, RequestTokenError};
    let unavailable =
        |why: String| UpstreamError::Unavailable(format!("token endpoint {token_url}: {why}"));
    match e {
        RequestTokenError::ServerResponse(refusal) => {
            UpstreamError::TokenRefused(error_code(refusal.error().as_ref()))
        }
        RequestTokenError::Request(HttpClientError::Reqwest(e)) => unavailable(http::describe(&e)),
        RequestTokenError::Request(_) => unavailable("request failed".into()),
        // Facebook answers a refused code with its Graph error object, not RFC 6749's.
        RequestTokenError::Parse(_, body) => match graph_error(&body) {
            Some(refusal) => UpstreamError::TokenRefused(refusal),
            None => unavailable("an answer that is not a token response".into()),
        },
        RequestTokenError::Other(why) => unavailable(why),
    }
}

/// A Graph API error (`{"error": {"type": "OAuthException", "code": 190, …}}`) as
/// `OAuthException 190`; `None` for other bodies.
fn graph_error(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error")?.as_object()?;
    let kind = error
        .get("type")
        .and_then(serde_json::Value::as_str)
        .map(error_code)
        .unwrap_or_else(|| "error".into());
    Some(
        match error.get("code").and_then(serde_json::Value::as_i64) {
            Some(code) => format!("{kind} {code}"),
            None => kind,
        },
    )
}

/// An error code as the server sent it, if it looks like one (it lands in logs and pages).
fn error_code(code: &str) -> String {
    if !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        code.to_owned()
    } else {
        "unrecognised error".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sekisho_core::{FakeClock, TEST_EPOCH};

    const REDIRECT: &str = "http://127.0.0.1:9/upstream/callback";

    /// A Google upstream and a connector to it, both at [`TEST_EPOCH`] on the returned clock.
    fn google() -> (sekisho_testkit::UpstreamOp, Connector, Arc<FakeClock>) {
        let op = sekisho_testkit::UpstreamOp::start_at(
            sekisho_testkit::Profile::Google,
            "rp",
            "secret",
            &[REDIRECT.to_owned()],
            TEST_EPOCH,
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        let clock = Arc::new(FakeClock::new(TEST_EPOCH));
        let c = Connector::new(
            ConnectorSettings {
                name: "google".into(),
                kind: "google".into(),
                client_id: "rp".into(),
                client_secret: "secret".into(),
                discovery_url: op.discovery_url().into(),
                ..Default::default()
            },
            clock.clone(),
        )
        .unwrap();
        (op, c, clock)
    }

    #[tokio::test]
    async fn an_unknown_kid_refetches_the_jwks() {
        // REQ-LOGIN-3: a provider that rotated its keys since the JWKS was cached.
        let (op, c, _clock) = google();
        let verifier = Secret::from(sekisho_testkit::upstream_login::RFC7636_VERIFIER);
        let nonce = Secret::from("n");
        let url = c
            .login_url(REDIRECT, "st", &nonce, &verifier)
            .await
            .unwrap();
        let Protocol::OpenId(openid) = &c.protocol else {
            panic!("google is OpenID")
        };
        // The cached copy (fresh, so not refetched for its age) knows none of the keys.
        openid
            .replace_cached_jwks(openidconnect::core::CoreJsonWebKeySet::new(Vec::new()))
            .await;
        assert_eq!(openid.cached_key_count().await, 0);
        let done = sekisho_testkit::upstream_login::login(
            &sekisho_testkit::upstream_login::browser(),
            url,
            REDIRECT,
            "alice",
        )
        .await;
        let identity = c
            .handle_callback(REDIRECT, &done.code(), &nonce, &verifier)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(identity.subject, "alice");
        assert_eq!(identity.issuer, op.issuer());
        assert!(openid.cached_key_count().await > 0, "refetched");
    }

    #[tokio::test]
    async fn the_cached_discovery_ages_on_the_clock() {
        // REQ-LOGIN-3: discovery and JWKS are refetched once the copy is 5 minutes old by the
        // server's clock (not the wall clock, which hardly moves during the test).
        let (_op, c, clock) = google();
        let verifier = Secret::from(sekisho_testkit::upstream_login::RFC7636_VERIFIER);
        let nonce = Secret::from("n");
        c.login_url(REDIRECT, "st", &nonce, &verifier)
            .await
            .unwrap();
        let Protocol::OpenId(openid) = &c.protocol else {
            panic!("google is OpenID")
        };
        // A copy without keys tells a refetch apart from the cached copy.
        openid
            .replace_cached_jwks(openidconnect::core::CoreJsonWebKeySet::new(Vec::new()))
            .await;
        clock.advance(5 * 60 - 1);
        c.login_url(REDIRECT, "st", &nonce, &verifier)
            .await
            .unwrap();
        assert_eq!(openid.cached_key_count().await, 0, "still fresh");
        clock.advance(1);
        c.login_url(REDIRECT, "st", &nonce, &verifier)
            .await
            .unwrap();
        assert!(
            openid.cached_key_count().await > 0,
            "refetched at 5 minutes"
        );
    }

    /// The server keeps connectors in shared state and awaits them in handlers.
    #[allow(dead_code)]
    fn connectors_are_shareable(c: &'static Connector) {
        fn send<T: Send>(_: T) {}
        fn sync<T: Send + Sync>(_: &T) {}
        sync(c);
        let empty = Secret::default();
        send(c.login_url("", "", &empty, &empty));
        send(c.handle_callback("", "", &empty, &empty));
    }

    #[test]
    fn graph_errors_and_codes() {
        assert_eq!(
            graph_error(br#"{"error":{"message":"used","type":"OAuthException","code":100}}"#)
                .as_deref(),
            Some("OAuthException 100")
        );
        assert_eq!(graph_error(br#"{"error":"invalid_grant"}"#), None);
        assert_eq!(graph_error(b"<html>"), None);
        assert_eq!(error_code("invalid_grant"), "invalid_grant");
        assert_eq!(error_code("a b"), "unrecognised error");
    }

    #[test]
    fn verifier_bounds() {
        assert!(check_verifier(&"a".repeat(43)).is_ok());
        assert!(check_verifier(&"a".repeat(128)).is_ok());
        assert!(check_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").is_ok());
        assert!(matches!(
            check_verifier(&"a".repeat(42)),
            Err(UpstreamError::Config(_))
        ));
        assert!(check_verifier(&"a".repeat(129)).is_err());
        assert!(check_verifier(&format!("{}+", "a".repeat(43))).is_err());
    }

    #[test]
    fn kinds_have_their_config_names() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("Google"), None);
        assert!(!Kind::Facebook.is_openid());
    }
}
