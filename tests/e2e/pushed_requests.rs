//! Pushed authorization requests (RFC 9126, issue 18): the request goes to `/par` authenticated,
//! the browser carries only a `request_uri` that works once, for a minute. The strict third-party
//! client's run (openid-client) is in `rp_node.rs`.

use crate::support::{post_basic, redeem, VERIFIER};
use sekisho_e2e::{query, Browser, Hop, TestApp, EMAIL, PASSWORD, REDIRECT_URI};
use serde_json::Value;

/// The parameters of a code flow for the seed client (PKCE from `VERIFIER`, state `st`).
fn request(client_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", client_id.into()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("scope", "openid email".into()),
        ("state", "st".into()),
        ("nonce", "n".into()),
        (
            "code_challenge",
            sekisho_crypto::tokens::pkce_s256(VERIFIER),
        ),
        ("code_challenge_method", "S256".into()),
    ]
}

async fn push(app: &TestApp, id: &str, secret: &str, form: &[(&str, String)]) -> (u16, Value) {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_basic(app, "par", id, secret, &form).await
}

/// `/authorize` with only `client_id` and `request_uri` (and `extra`).
fn authorize_with(
    app: &TestApp,
    client_id: &str,
    request_uri: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", app.issuer())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri);
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

/// The request is refused with the "expired or already used" page: an error page, not a redirect.
async fn assert_refused_page(app: &TestApp, url: &str) {
    match Browser::new().follow(&app.base, url).await.unwrap() {
        Hop::Page { status, body, .. } => {
            assert_eq!(status, 400);
            assert!(body.contains("期限切れ"), "{body}");
        }
        Hop::LeftOp(to) => panic!("a spent or expired request_uri redirected to {to}"),
    }
}

// ISSUE-18 (RFC 9126 §2, §4): a pushed request logs in through its request_uri, the pushed
// parameters are the request (a state in the URL is not), and the request_uri works once.
#[tokio::test]
async fn a_pushed_request_logs_in_once() {
    logs_in_once(TestApp::spawn().await).await;
}

// ISSUE-18: the same on PostgreSQL (a request_uri is spent by one statement on both backends).
#[tokio::test]
async fn a_pushed_request_logs_in_once_on_postgres() {
    let url = sekisho_testkit::fresh_postgres_database().unwrap();
    logs_in_once(TestApp::spawn_on(&url).await).await;
}

async fn logs_in_once(app: TestApp) {
    let seed = app.seed().await;
    let (id, secret) = (
        &seed.client.client_id,
        seed.client.client_secret.as_deref().unwrap(),
    );
    let (status, pushed) = push(&app, id, secret, &request(id)).await;
    assert_eq!(status, 201, "{pushed}");
    assert_eq!(pushed["expires_in"], 60);
    let uri = pushed["request_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{uri}"
    );

    let url = authorize_with(&app, id, uri, &[("state", "from-the-url")]);
    let back = Browser::new()
        .login(&app.base, &url, EMAIL, PASSWORD)
        .await
        .unwrap();
    let q = query(&back);
    assert_eq!(q.get("state").map(String::as_str), Some("st"), "{back}");
    let (status, tokens) = redeem(&app, id, secret, &q["code"], VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");

    assert_refused_page(&app, &url).await;
}

// ISSUE-18 (RFC 9126 §2.2): a request_uri is short-lived: a minute after the push it is refused.
#[tokio::test]
async fn an_expired_request_uri_is_refused() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let (id, secret) = (
        &seed.client.client_id,
        seed.client.client_secret.as_deref().unwrap(),
    );
    let (_, pushed) = push(&app, id, secret, &request(id)).await;
    app.clock.advance(61);
    let url = authorize_with(&app, id, pushed["request_uri"].as_str().unwrap(), &[]);
    assert_refused_page(&app, &url).await;
}

// ISSUE-18 (RFC 9126 §4): a request_uri is the pushing client's: another client presenting it
// is refused (and the request_uri is spent).
#[tokio::test]
async fn a_request_uri_is_only_for_the_client_that_pushed_it() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let other = app.client(|_| {}).await;
    let (id, secret) = (
        &seed.client.client_id,
        seed.client.client_secret.as_deref().unwrap(),
    );
    let (_, pushed) = push(&app, id, secret, &request(id)).await;
    let uri = pushed["request_uri"].as_str().unwrap();
    assert_refused_page(&app, &authorize_with(&app, &other.client_id, uri, &[])).await;
    assert_refused_page(&app, &authorize_with(&app, id, uri, &[])).await;
}

// ISSUE-18 (RFC 9126 §2.1, §2.3): the push is authenticated as at the token endpoint and
// validated as /authorize validates; the client hears every error at once, as JSON.
#[tokio::test]
async fn a_push_is_authenticated_and_validated() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let (id, secret) = (
        &seed.client.client_id,
        seed.client.client_secret.as_deref().unwrap(),
    );
    let (status, body) = push(&app, id, "wrong", &request(id)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );

    let with = |name: &str, value: &str| {
        let mut r = request(id);
        r.retain(|(k, _)| *k != name);
        r.push((
            Box::leak(name.to_owned().into_boxed_str()),
            value.to_owned(),
        ));
        r
    };
    for (form, error) in [
        (
            with("redirect_uri", "https://evil.example/cb"),
            "invalid_request",
        ),
        (with("scope", "email"), "invalid_scope"),
        (with("response_type", "token"), "unsupported_response_type"),
        (
            with("request_uri", "urn:ietf:params:oauth:request_uri:x"),
            "invalid_request",
        ),
        (with("state", &"s".repeat(2049)), "invalid_request"),
    ] {
        let (status, body) = push(&app, id, secret, &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{form:?}: {body}"
        );
    }
}

// ISSUE-18 (RFC 9126 §5, §6): a client registered with require_pushed_authorization_requests is
// refused in the URL (the error goes back to its registered redirect URI) and served through PAR.
#[tokio::test]
async fn a_client_that_must_push_is_refused_in_the_url() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let strict = app
        .client(|c| c.requires.require_pushed_authorization_requests = true)
        .await;
    let (id, secret) = (&strict.client_id, strict.client_secret.as_deref().unwrap());
    let direct = sekisho_e2e::code_flow_url(&app.issuer(), id, "openid", &[]);
    match Browser::new().follow(&app.base, &direct).await.unwrap() {
        Hop::LeftOp(to) => {
            let q = query(&to);
            assert_eq!(
                q.get("error").map(String::as_str),
                Some("invalid_request"),
                "{to}"
            );
            assert!(to.as_str().starts_with(REDIRECT_URI), "{to}");
        }
        Hop::Page { body, .. } => panic!("no error redirect: {body}"),
    }
    let (status, pushed) = push(&app, id, secret, &request(id)).await;
    assert_eq!(status, 201, "{pushed}");
    let url = authorize_with(&app, id, pushed["request_uri"].as_str().unwrap(), &[]);
    let back = Browser::new()
        .login(&app.base, &url, EMAIL, PASSWORD)
        .await
        .unwrap();
    assert!(query(&back).contains_key("code"), "{back}");
}
