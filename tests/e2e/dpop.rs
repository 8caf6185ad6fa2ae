//! DPoP (RFC 9449, issue 18) with raw requests, each refusal its own test. The strict
//! third-party client's run (openid-client: binding, a nonce round, thefts) is in `rp_node.rs`.

use crate::support::{login_tokens, VERIFIER};
use josekit::jws::{JwsHeader, ES256};
use josekit::jwt::JwtPayload;
use sekisho_core::oauth::GrantType;
use sekisho_core::Clock;
use sekisho_e2e::{TestApp, REDIRECT_URI};
use serde_json::{json, Value};

/// A client's DPoP key and the proofs it signs.
pub(crate) struct Key(josekit::jwk::alg::ec::EcKeyPair);

impl Key {
    pub(crate) fn new() -> Self {
        Self(ES256.generate_key_pair().unwrap())
    }

    /// A proof for `method` at `url`, made at `iat`, with `jti` and, for a resource, `ath`.
    pub(crate) fn proof(
        &self,
        method: &str,
        url: &str,
        iat: i64,
        jti: &str,
        token: Option<&str>,
    ) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header
            .set_claim(
                "jwk",
                Some(Value::Object(self.0.to_jwk_public_key().as_ref().clone())),
            )
            .unwrap();
        let mut p = JwtPayload::new();
        p.set_jwt_id(jti);
        p.set_claim("htm", Some(json!(method))).unwrap();
        p.set_claim("htu", Some(json!(url))).unwrap();
        p.set_claim("iat", Some(json!(iat))).unwrap();
        if let Some(t) = token {
            p.set_claim("ath", Some(json!(sekisho_crypto::proof::token_hash_b64(t))))
                .unwrap();
        }
        let signer = ES256.signer_from_jwk(&self.0.to_jwk_key_pair()).unwrap();
        josekit::jwt::encode_with_signer(&p, &header, &signer).unwrap()
    }
}

/// A client that may use client_credentials (scope `sekisho:operator` is harmless here).
pub(crate) async fn dpop_service_client(app: &TestApp) -> (String, String) {
    let c = app
        .client(|c| {
            c.grant_types = vec![GrantType::ClientCredentials];
            c.redirect_uris.clear();
            c.post_logout_redirect_uris.clear();
        })
        .await;
    (c.client_id, c.client_secret.unwrap())
}

async fn token_with(
    app: &TestApp,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
    proof: Option<&str>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/token", app.issuer()))
        .basic_auth(id, Some(secret))
        .form(form);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn userinfo_with(app: &TestApp, authorization: &str, proof: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .get(format!("{}/userinfo", app.issuer()))
        .header("Authorization", authorization);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    let res = req.send().await.unwrap();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (res.status().as_u16(), challenge)
}

const CC: &[(&str, &str)] = &[("grant_type", "client_credentials")];

// ISSUE-18 (RFC 9449 §5): client_credentials with a proof gives a DPoP token bound to the key.
#[tokio::test]
async fn client_credentials_with_a_proof_is_bound() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let (id, secret) = dpop_service_client(&app).await;
    let key = Key::new();
    let url = format!("{}/token", app.issuer());
    let now = app.clock.now();
    let (status, body) = token_with(
        &app,
        &id,
        &secret,
        CC,
        Some(&key.proof("POST", &url, now, "j1", None)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let claims = decode(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["cnf"]["jkt"].as_str().map(str::len),
        Some(43),
        "{claims}"
    );
}

fn decode(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

// ISSUE-18 (RFC 9449 §4.3): a proof made for another URL is refused.
#[tokio::test]
async fn a_proof_for_another_url_is_refused() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let (id, secret) = dpop_service_client(&app).await;
    let other = format!("{}/userinfo", app.issuer());
    let proof = Key::new().proof("POST", &other, app.clock.now(), "j1", None);
    let (status, body) = token_with(&app, &id, &secret, CC, Some(&proof)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
}

// ISSUE-18 (RFC 9449 §4.3): a proof made for another HTTP method is refused.
#[tokio::test]
async fn a_proof_for_another_method_is_refused() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let (id, secret) = dpop_service_client(&app).await;
    let url = format!("{}/token", app.issuer());
    let proof = Key::new().proof("GET", &url, app.clock.now(), "j1", None);
    let (status, body) = token_with(&app, &id, &secret, CC, Some(&proof)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
}

// ISSUE-18 (RFC 9449 §4.3, §11.1): a proof is used once; an old one (by iat) is refused.
#[tokio::test]
async fn a_replayed_or_stale_proof_is_refused_at_the_token_endpoint() {
    replayed_or_stale(TestApp::spawn().await).await;
}

// ISSUE-18: the same on PostgreSQL, where the jti is what every node shares.
#[tokio::test]
async fn a_replayed_or_stale_proof_is_refused_at_the_token_endpoint_on_postgres() {
    let url = sekisho_testkit::fresh_postgres_database().unwrap();
    replayed_or_stale(TestApp::spawn_on(&url).await).await;
}

async fn replayed_or_stale(app: TestApp) {
    app.seed().await;
    let (id, secret) = dpop_service_client(&app).await;
    let url = format!("{}/token", app.issuer());
    let key = Key::new();
    let proof = key.proof("POST", &url, app.clock.now(), "once", None);
    assert_eq!(
        token_with(&app, &id, &secret, CC, Some(&proof)).await.0,
        200
    );
    let (status, body) = token_with(&app, &id, &secret, CC, Some(&proof)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
    let stale = key.proof("POST", &url, app.clock.now() - 301, "stale", None);
    let (status, body) = token_with(&app, &id, &secret, CC, Some(&stale)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
}

// ISSUE-18 (RFC 9449 §5.2): a client registered with dpop_bound_access_tokens gets nothing
// without a proof.
#[tokio::test]
async fn a_client_that_must_use_dpop_is_refused_without_a_proof() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let c = app
        .client(|c| {
            c.grant_types = vec![GrantType::ClientCredentials];
            c.redirect_uris.clear();
            c.post_logout_redirect_uris.clear();
            c.requires.dpop_bound_access_tokens = true;
        })
        .await;
    let (status, body) = token_with(
        &app,
        &c.client_id,
        c.client_secret.as_deref().unwrap(),
        CC,
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
}

// ISSUE-18 (RFC 9449 §7): a bound access token stolen without its key is refused at userinfo
// as a bearer token and with the thief's proof; with the owner's proof it works, once per proof.
#[tokio::test]
async fn a_stolen_bound_token_is_useless_without_the_key() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let (id, secret) = (
        &seed.client.client_id,
        seed.client.client_secret.clone().unwrap(),
    );
    let code = crate::support::code(&app, &sekisho_e2e::Browser::new(), id).await;
    let key = Key::new();
    let token_url = format!("{}/token", app.issuer());
    let now = app.clock.now();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    let (status, tokens) = token_with(
        &app,
        id,
        &secret,
        &form,
        Some(&key.proof("POST", &token_url, now, "t1", None)),
    )
    .await;
    assert_eq!(
        (status, tokens["token_type"].as_str()),
        (200, Some("DPoP")),
        "{tokens}"
    );
    let at = tokens["access_token"].as_str().unwrap();
    let ui = format!("{}/userinfo", app.issuer());

    let (status, challenge) = userinfo_with(&app, &format!("Bearer {at}"), None).await;
    assert_eq!(status, 401, "{challenge}");
    let thief = Key::new().proof("GET", &ui, now, "u1", Some(at));
    let (status, challenge) = userinfo_with(&app, &format!("DPoP {at}"), Some(&thief)).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("invalid_dpop_proof"), "{challenge}");
    // A proof without ath (not made for this token) is refused too.
    let no_ath = key.proof("GET", &ui, now, "u2", None);
    assert_eq!(
        userinfo_with(&app, &format!("DPoP {at}"), Some(&no_ath))
            .await
            .0,
        401
    );

    let owner = key.proof("GET", &ui, now, "u3", Some(at));
    assert_eq!(
        userinfo_with(&app, &format!("DPoP {at}"), Some(&owner))
            .await
            .0,
        200
    );
    assert_eq!(
        userinfo_with(&app, &format!("DPoP {at}"), Some(&owner))
            .await
            .0,
        401
    );

    // An unbound token is not accepted under the DPoP scheme.
    let plain = login_tokens(&app, id, &secret).await;
    let plain_at = plain["access_token"].as_str().unwrap();
    let proof = key.proof("GET", &ui, now, "u4", Some(plain_at));
    assert_eq!(
        userinfo_with(&app, &format!("DPoP {plain_at}"), Some(&proof))
            .await
            .0,
        401
    );
}

// ISSUE-18 (RFC 9449 §5): a public client's refresh token is bound: a refresh with another key
// (or none) is refused and leaves the token to its owner, whose refresh then works.
#[tokio::test]
async fn a_public_clients_refresh_with_the_wrong_key_is_refused() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let public = app.client(|c| c.public = true).await;
    let id = public.client_id.as_str();
    let code = crate::support::code(&app, &sekisho_e2e::Browser::new(), id).await;
    let key = Key::new();
    let url = format!("{}/token", app.issuer());
    let now = app.clock.now();
    let post = |form: Vec<(&'static str, String)>, proof: Option<String>| {
        let app = &app;
        async move {
            let mut req = reqwest::Client::new()
                .post(format!("{}/token", app.issuer()))
                .form(&form);
            if let Some(p) = proof {
                req = req.header("DPoP", p);
            }
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, tokens) = post(
        vec![
            ("grant_type", "authorization_code".into()),
            ("client_id", id.into()),
            ("code", code),
            ("redirect_uri", REDIRECT_URI.into()),
            ("code_verifier", VERIFIER.into()),
        ],
        Some(key.proof("POST", &url, now, "c1", None)),
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refresh = || {
        vec![
            ("grant_type", "refresh_token".into()),
            ("client_id", id.into()),
            ("refresh_token", rt.clone()),
        ]
    };
    let (status, body) = post(
        refresh(),
        Some(Key::new().proof("POST", &url, now, "r1", None)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = post(refresh(), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = post(refresh(), Some(key.proof("POST", &url, now, "r2", None))).await;
    assert_eq!(
        (status, body["token_type"].as_str()),
        (200, Some("DPoP")),
        "{body}"
    );
}

// ISSUE-18 (RFC 9449 §8): with nonces required, a proof without the server's nonce is answered
// use_dpop_nonce with a DPoP-Nonce header, and the same request with that nonce succeeds.
#[tokio::test]
async fn a_proof_without_the_servers_nonce_gets_one() {
    let app = TestApp::spawn_configured(&sekisho_testkit::fresh_sqlite_url().unwrap(), |c| {
        c.dpop_require_nonce = true
    })
    .await;
    app.seed().await;
    let (id, secret) = dpop_service_client(&app).await;
    let url = format!("{}/token", app.issuer());
    let key = Key::new();
    let now = app.clock.now();
    let res = reqwest::Client::new()
        .post(&url)
        .basic_auth(&id, Some(&secret))
        .form(CC)
        .header("DPoP", key.proof("POST", &url, now, "n1", None))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let nonce = res.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "use_dpop_nonce");

    let mut header = JwsHeader::new();
    header.set_token_type("dpop+jwt");
    header
        .set_claim(
            "jwk",
            Some(Value::Object(key.0.to_jwk_public_key().as_ref().clone())),
        )
        .unwrap();
    let mut p = JwtPayload::new();
    p.set_jwt_id("n2");
    for (k, v) in [
        ("htm", json!("POST")),
        ("htu", json!(url)),
        ("iat", json!(now)),
        ("nonce", json!(nonce)),
    ] {
        p.set_claim(k, Some(v)).unwrap();
    }
    let signer = ES256.signer_from_jwk(&key.0.to_jwk_key_pair()).unwrap();
    let with_nonce = josekit::jwt::encode_with_signer(&p, &header, &signer).unwrap();
    let (status, body) = token_with(&app, &id, &secret, CC, Some(&with_nonce)).await;
    assert_eq!(
        (status, body["token_type"].as_str()),
        (200, Some("DPoP")),
        "{body}"
    );
    // A nonce two periods old is refused again.
    app.clock.advance(2 * 300);
    let stale = key.proof("POST", &url, app.clock.now(), "n3", None);
    assert_eq!(
        token_with(&app, &id, &secret, CC, Some(&stale)).await.1["error"],
        "use_dpop_nonce"
    );
}
