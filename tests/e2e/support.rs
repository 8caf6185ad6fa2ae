//! Shared steps of the e2e tests: starting a code flow by hand and redeeming its code.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, TokenResponse,
};
use sekisho_core::Clock;
use sekisho_e2e::{query, Browser, TestApp, TestClock, EMAIL, PASSWORD, REDIRECT_URI};
use serde_json::Value;
use std::sync::Arc;
use url::Url;

pub const VERIFIER: &str = sekisho_e2e::PKCE_VERIFIER;

/// An authorization URL for `client_id` with PKCE S256, state `st`, nonce `n`, plus `extra` params.
pub fn authorize_url(app: &TestApp, client_id: &str, extra: &[(&str, &str)]) -> String {
    sekisho_e2e::code_flow_url(
        &app.issuer(),
        client_id,
        "openid email profile offline_access",
        extra,
    )
}

/// Logs the seed user in through `browser` and returns the authorization code.
pub async fn code(app: &TestApp, browser: &Browser, client_id: &str) -> String {
    let back = browser
        .login(
            &app.base,
            &authorize_url(app, client_id, &[]),
            EMAIL,
            PASSWORD,
        )
        .await
        .unwrap();
    let q = query(&back);
    assert_eq!(q.get("state").map(String::as_str), Some("st"), "{back}");
    q.get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code in {back}"))
}

/// POSTs a form to `{issuer}/{path}` with HTTP Basic client credentials; returns status and JSON.
pub async fn post_basic(
    app: &TestApp,
    path: &str,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/{path}", app.issuer()))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// Redeems `code` with the PKCE verifier; returns status and the token response.
pub async fn redeem(
    app: &TestApp,
    id: &str,
    secret: &str,
    code: &str,
    verifier: &str,
) -> (u16, Value) {
    post_basic(
        app,
        "token",
        id,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Logs the seed user in through a new browser and redeems the code as `(id, secret)`: the
/// token response (the redemption must succeed).
pub async fn login_tokens(app: &TestApp, id: &str, secret: &str) -> Value {
    let c = code(app, &Browser::new(), id).await;
    let (status, tokens) = redeem(app, id, secret, &c, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// GET userinfo with a bearer token; returns the status.
pub async fn userinfo_status(app: &TestApp, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/userinfo", app.issuer()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Whether introspection says the token is active.
pub async fn active(app: &TestApp, id: &str, secret: &str, token: &str) -> bool {
    let (status, body) = post_basic(app, "introspect", id, secret, &[("token", token)]).await;
    assert_eq!(status, 200, "{body}");
    body["active"] == Value::Bool(true)
}

/// The time function for openidconnect's ID token verifier (`set_time_fn`): the app's clock, so
/// the RP checks `exp` against the "now" the OP stamped the token on (by default it reads the
/// wall clock, years before the tests' clock).
pub fn fake_time(
    app: &TestApp,
) -> impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync + 'static {
    clock_time(app.clock.clone())
}

fn clock_time(
    clock: Arc<TestClock>,
) -> impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync + 'static {
    move || chrono::DateTime::from_timestamp(clock.now(), 0).expect("a representable time")
}

/// The error code of an OAuth JSON error.
pub fn error_code(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("")
}

/// An RP on the `openidconnect` crate, for one authorization request at a time.
pub struct Rp {
    client: openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    http: reqwest::Client,
    clock: Arc<TestClock>,
}

/// One started authorization request: its URL and what the RP keeps to finish it.
pub struct Request {
    pub url: String,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

impl Rp {
    pub async fn new(app: &TestApp, client_id: &str, secret: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let meta =
            CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer()).unwrap(), &http)
                .await
                .unwrap();
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(client_id.into()),
            Some(ClientSecret::new(secret.into())),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
        Self {
            client,
            http,
            clock: app.clock.clone(),
        }
    }

    /// An authorization request; `acr` asks for that level, `prompt` for `prompt=…`.
    pub fn start(&self, acr: Option<&str>, prompt: Option<&str>) -> Request {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        if let Some(acr) = acr {
            req = req.add_auth_context_value(AuthenticationContextClass::new(acr.into()));
        }
        if let Some(p) = prompt {
            req = req.add_extra_param("prompt", p);
        }
        let (url, _, nonce) = req.url();
        Request {
            url: url.to_string(),
            nonce,
            verifier,
        }
    }

    /// Redeems the code the browser brought back and verifies the ID token; returns amr and acr.
    pub async fn finish(&self, req: Request, back: &Url) -> (Vec<String>, String) {
        let (amr, acr, _) = self.finish_with_claims(req, back).await;
        (amr, acr)
    }

    /// [`Rp::finish`], also returning the ID token's payload (for claims the crate has no type
    /// for, such as `idp`), read only after the token verified.
    pub async fn finish_with_claims(
        &self,
        req: Request,
        back: &Url,
    ) -> (Vec<String>, String, Value) {
        let q = query(back);
        let code = q.get("code").unwrap_or_else(|| panic!("no code in {back}"));
        let tokens = self
            .client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .unwrap()
            .set_pkce_verifier(req.verifier)
            .request_async(&self.http)
            .await
            .unwrap();
        let id_token = tokens.id_token().expect("id_token");
        let verifier = self
            .client
            .id_token_verifier()
            .set_time_fn(clock_time(self.clock.clone()));
        let claims = id_token
            .claims(&verifier, &req.nonce)
            .expect("the ID token verifies")
            .clone();
        let payload = id_token.to_string();
        let payload = payload.split('.').nth(1).expect("a JWS");
        let payload: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .expect("base64url"),
        )
        .expect("JSON");
        let amr = claims
            .auth_method_refs()
            .expect("amr")
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        let acr = claims.auth_context_ref().expect("acr").as_str().to_owned();
        (amr, acr, payload)
    }
}

pub async fn rp_for(app: &TestApp, seed: &sekisho_e2e::Seed) -> Rp {
    Rp::new(
        app,
        &seed.client.client_id,
        seed.client.client_secret.as_deref().unwrap(),
    )
    .await
}
