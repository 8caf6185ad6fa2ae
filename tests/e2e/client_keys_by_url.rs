//! Clients' keys by URL (`jwks_uri`, issue 18): `private_key_jwt` with keys the server fetches
//! from the client, refetched when the client rotates, and the fetch's limits: a slow, a huge
//! and a private-address `jwks_uri` each fail the client's authentication without harm.
//! The key server is a real HTTP server on loopback, run by the test.

use axum::routing::get;
use josekit::jwk::alg::ec::EcKeyPair;
use josekit::jws::{JwsHeader, ES256};
use josekit::jwt::JwtPayload;
use sekisho_core::oauth::{GrantType, TokenEndpointAuthMethod};
use sekisho_e2e::TestApp;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The client's key server: `/jwks` serves the current set (counting fetches), `/slow` never
/// answers, `/huge` answers 200 KiB.
struct KeyServer {
    base: String,
    keys: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
}

impl KeyServer {
    async fn start() -> Self {
        let keys = Arc::new(Mutex::new(json!({ "keys": [] })));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (k, f) = (keys.clone(), fetches.clone());
        let app = axum::Router::new()
            .route(
                "/jwks",
                get(move || {
                    let (k, f) = (k.clone(), f.clone());
                    async move {
                        f.fetch_add(1, Ordering::SeqCst);
                        axum::Json(k.lock().unwrap().clone())
                    }
                }),
            )
            .route("/slow", get(std::future::pending::<String>))
            .route(
                "/huge",
                get(|| async { format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(200 * 1024)) }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base,
            keys,
            fetches,
        }
    }

    fn serve(&self, pairs: &[(&EcKeyPair, &str)]) {
        let keys: Vec<Value> = pairs
            .iter()
            .map(|(pair, kid)| {
                let mut public = pair.to_jwk_public_key();
                public.set_key_id(*kid);
                Value::Object(public.as_ref().clone())
            })
            .collect();
        *self.keys.lock().unwrap() = json!({ "keys": keys });
    }
}

async fn app_reaching_loopback() -> TestApp {
    TestApp::spawn_configured(&sekisho_testkit::fresh_sqlite_url().unwrap(), |c| {
        c.client_urls_allow_internal = true
    })
    .await
}

async fn client_with(app: &TestApp, jwks_uri: &str) -> String {
    app.client(|c| {
        c.grant_types = vec![GrantType::ClientCredentials];
        c.redirect_uris.clear();
        c.post_logout_redirect_uris.clear();
        c.jwks_uri = Some(jwks_uri.into());
    })
    .await
    .client_id
}

/// client_credentials with an assertion signed by `pair` under `kid`; (status, body).
async fn token(
    app: &TestApp,
    client_id: &str,
    pair: &EcKeyPair,
    kid: &str,
    jti: &str,
) -> (u16, Value) {
    let mut header = JwsHeader::new();
    header.set_key_id(kid);
    let mut p = JwtPayload::new();
    p.set_issuer(client_id);
    p.set_subject(client_id);
    p.set_audience(vec![format!("{}/token", app.issuer())]);
    p.set_jwt_id(jti);
    p.set_expires_at(&(app.clock.system_time() + std::time::Duration::from_secs(60)));
    let signer = ES256.signer_from_jwk(&pair.to_jwk_key_pair()).unwrap();
    let assertion = josekit::jwt::encode_with_signer(&p, &header, &signer).unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}/token", app.issuer()))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ])
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

// ISSUE-18 (RFC 7591 §2 jwks_uri, RFC 7523): a client authenticates with keys at its jwks_uri;
// when it rotates, an assertion by the new key makes the server fetch again; an unknown key
// right after does not make it fetch a third time (at most once a minute per client).
#[tokio::test]
async fn a_client_authenticates_with_keys_at_its_jwks_uri_and_rotates_them() {
    let app = app_reaching_loopback().await;
    app.seed().await;
    let server = KeyServer::start().await;
    let (k1, k2, k3) = (
        ES256.generate_key_pair().unwrap(),
        ES256.generate_key_pair().unwrap(),
        ES256.generate_key_pair().unwrap(),
    );
    server.serve(&[(&k1, "k1")]);
    let id = client_with(&app, &format!("{}/jwks", server.base)).await;
    let registered = app.op.client(&id).await.unwrap().unwrap();
    assert_eq!(
        registered.metadata.token_endpoint_auth_method,
        TokenEndpointAuthMethod::PrivateKeyJwt
    );

    assert_eq!(token(&app, &id, &k1, "k1", "a").await.0, 200);
    assert_eq!(token(&app, &id, &k1, "k1", "b").await.0, 200);
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        1,
        "fetched once, then cached"
    );

    app.clock.advance(61);
    server.serve(&[(&k2, "k2")]);
    assert_eq!(
        token(&app, &id, &k2, "k2", "c").await.0,
        200,
        "the rotated key is fetched"
    );
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
    let (status, body) = token(&app, &id, &k3, "k3", "d").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        2,
        "an unknown kid does not fetch again within a minute"
    );
}

// ISSUE-18: a jwks_uri that never answers fails the client's authentication (after the fetch's
// 3 s timeout), and the server goes on serving.
#[tokio::test]
async fn a_slow_jwks_uri_fails_in_time() {
    let app = app_reaching_loopback().await;
    app.seed().await;
    let server = KeyServer::start().await;
    let id = client_with(&app, &format!("{}/slow", server.base)).await;
    let pair = ES256.generate_key_pair().unwrap();
    let (status, body) = token(&app, &id, &pair, "k1", "a").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    let discovery = reqwest::get(format!("{}/.well-known/openid-configuration", app.issuer()))
        .await
        .unwrap();
    assert_eq!(discovery.status(), 200);
}

// ISSUE-18: a jwks_uri answering more than 64 KiB is refused (the body is not read past it).
#[tokio::test]
async fn a_huge_jwks_uri_is_refused() {
    let app = app_reaching_loopback().await;
    app.seed().await;
    let server = KeyServer::start().await;
    let id = client_with(&app, &format!("{}/huge", server.base)).await;
    let pair = ES256.generate_key_pair().unwrap();
    let (status, body) = token(&app, &id, &pair, "k1", "a").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
}

// ISSUE-18: by default the server never fetches its own networks for a client: a jwks_uri on
// loopback or a private address fails without a connection being made.
#[tokio::test]
async fn a_jwks_uri_on_a_private_address_is_refused() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let server = KeyServer::start().await;
    let pair = ES256.generate_key_pair().unwrap();
    server.serve(&[(&pair, "k1")]);
    for uri in [
        format!("{}/jwks", server.base),
        "https://10.0.0.1/jwks".to_owned(),
        "https://[fd00::1]/jwks".to_owned(),
    ] {
        let id = client_with(&app, &uri).await;
        let (status, body) = token(&app, &id, &pair, "k1", &uri).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{uri}: {body}"
        );
    }
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        0,
        "the loopback key server was never asked"
    );
}

// ISSUE-18 (RFC 7591 §2): jwks and jwks_uri are not both accepted; dynamic registration takes a
// jwks_uri (and makes the client private_key_jwt).
#[tokio::test]
async fn registration_takes_a_jwks_uri_but_not_with_jwks() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let mut c =
        sekisho::admin::NewClient::confidential(sekisho_e2e::BRAND, "RP", "https://rp.example/cb");
    c.jwks_uri = Some("https://rp.example/jwks".into());
    c.jwks = Some(json!({ "keys": [{ "kty": "EC", "crv": "P-256", "x": "x", "y": "y" }] }));
    let e = sekisho::admin::register_client(&app.op, c)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("jwks_uri"), "{e}");
    let body = json!({
        "client_name": "RP",
        "redirect_uris": ["https://rp.example/cb"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": "https://rp.example/jwks",
    });
    let spec = sekisho_oidc::registration::parse_metadata(&body).unwrap();
    let m = sekisho_oidc::registration::client_metadata(spec).unwrap();
    assert_eq!(m.jwks_uri.as_deref(), Some("https://rp.example/jwks"));
}
