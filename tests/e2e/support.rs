//! Shared steps of the e2e tests: starting a code flow by hand and redeeming its code.

use sekisho_crypto::tokens::pkce_s256;
use sekisho_e2e::{query, Browser, TestApp, EMAIL, PASSWORD, REDIRECT_URI};
use serde_json::Value;
use url::Url;

pub const VERIFIER: &str = "a-long-enough-pkce-code-verifier-of-at-least-43-characters-0123";

/// An authorization URL for `client_id` with PKCE S256, state `st`, nonce `n`, plus `extra` params.
pub fn authorize_url(app: &TestApp, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&format!("{}/authorize", app.issuer())).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", "openid email profile offline_access")
            .append_pair("state", "st")
            .append_pair("nonce", "n")
            .append_pair("code_challenge", &pkce_s256(VERIFIER))
            .append_pair("code_challenge_method", "S256");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
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

/// The error code of an OAuth JSON error.
pub fn error_code(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("")
}
