//! ID tokens that a correct upstream never sends: a nonce of another login, a key the upstream
//! does not publish, another audience, an expired token. A real provider cannot be made to send
//! them, so this test plays the upstream itself: a minimal OpenID provider on loopback (discovery,
//! JWKS, an authorization endpoint that answers at once, a token endpoint that returns the ID
//! token the test chose). Sekisho must refuse each, through its HTTP server, with its own message.

use crate::support::rp_for;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, ES256};
use josekit::jwt::{self, JwtPayload};
use sekisho_e2e::{Browser, Hop, TestApp, TestClock};
use sekisho_upstream::ConnectorSettings;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Defect {
    None,
    Nonce,
    UnknownKey,
    Audience,
    Expired,
}

struct Rogue {
    base: String,
    key: Jwk,
    other_key: Jwk,
    client_id: String,
    defect: Mutex<Defect>,
    nonce: Mutex<String>,
    /// The app's clock (set once the app runs): the rogue stamps its tokens on the same "now"
    /// as Sekisho checks them against, as a real provider's clock agrees with the server's.
    clock: OnceLock<Arc<TestClock>>,
}

impl Rogue {
    fn now(&self) -> SystemTime {
        self.clock.get().expect("the app's clock").system_time()
    }
}

fn sign(r: &Rogue, key: &Jwk, kid: &str, nonce: &str, aud: &str, exp: SystemTime) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(kid);
    let mut p = JwtPayload::new();
    p.set_issuer(&r.base);
    p.set_subject("rogue-user");
    p.set_audience(vec![aud]);
    p.set_issued_at(&r.now());
    p.set_expires_at(&exp);
    p.set_claim("nonce", Some(json!(nonce))).unwrap();
    p.set_claim("email", Some(json!("rogue@example.jp")))
        .unwrap();
    jwt::encode_with_signer(&p, &header, &ES256.signer_from_jwk(key).unwrap()).unwrap()
}

async fn discovery(State(r): State<Arc<Rogue>>) -> Json<Value> {
    Json(json!({
        "issuer": r.base,
        "authorization_endpoint": format!("{}/auth", r.base),
        "token_endpoint": format!("{}/token", r.base),
        "jwks_uri": format!("{}/jwks", r.base),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn jwks(State(r): State<Arc<Rogue>>) -> Json<Value> {
    let mut public = r.key.to_public_key().unwrap();
    public.set_key_id("published");
    let public: serde_json::Map<String, Value> = public.as_ref().clone();
    Json(json!({ "keys": [public] }))
}

async fn auth(
    State(r): State<Arc<Rogue>>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    *r.nonce.lock().unwrap() = q.get("nonce").cloned().unwrap_or_default();
    Redirect::to(&format!(
        "{}?code=rogue-code&state={}",
        q["redirect_uri"], q["state"]
    ))
}

async fn token(State(r): State<Arc<Rogue>>) -> Json<Value> {
    let nonce = r.nonce.lock().unwrap().clone();
    let defect = *r.defect.lock().unwrap();
    let later = r.now() + Duration::from_secs(600);
    let id_token = match defect {
        Defect::None => sign(&r, &r.key, "published", &nonce, &r.client_id, later),
        Defect::Nonce => sign(
            &r,
            &r.key,
            "published",
            "another-login",
            &r.client_id,
            later,
        ),
        Defect::UnknownKey => sign(&r, &r.other_key, "unpublished", &nonce, &r.client_id, later),
        Defect::Audience => sign(&r, &r.key, "published", &nonce, "another-client", later),
        Defect::Expired => sign(
            &r,
            &r.key,
            "published",
            &nonce,
            &r.client_id,
            r.now() - Duration::from_secs(3600),
        ),
    };
    Json(json!({
        "access_token": "rogue-access-token",
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": id_token,
    }))
}

async fn start_rogue() -> Arc<Rogue> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let rogue = Arc::new(Rogue {
        base,
        key: ES256.generate_key_pair().unwrap().to_jwk_key_pair(),
        other_key: ES256.generate_key_pair().unwrap().to_jwk_key_pair(),
        client_id: "sekisho-rogue".into(),
        defect: Mutex::new(Defect::None),
        nonce: Mutex::new(String::new()),
        clock: OnceLock::new(),
    });
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/auth", get(auth))
        .route("/token", post(token))
        .with_state(rogue.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    rogue
}

// REQ-LOGIN-3: nonce mismatch, a key the upstream does not publish, another audience and an
// expired ID token are each refused with their own message (and audited); a correct token from
// the same upstream gets as far as "not registered", proving the harness itself is sound.
#[tokio::test]
async fn invalid_id_tokens_are_refused_each_with_its_own_message() {
    let rogue = start_rogue().await;
    let app = TestApp::spawn_with_connectors(vec![ConnectorSettings {
        name: "google".into(),
        kind: "google".into(),
        client_id: rogue.client_id.clone(),
        client_secret: "rogue-secret".into(),
        discovery_url: format!("{}/.well-known/openid-configuration", rogue.base),
        ..ConnectorSettings::default()
    }])
    .await;
    rogue
        .clock
        .set(app.clock.clone())
        .expect("the rogue's clock is set once");
    let seed = app.seed().await;
    let rp = rp_for(&app, &seed).await;
    for (defect, expected) in [
        (Defect::Nonce, "nonceが一致しません"),
        (Defect::UnknownKey, "公開鍵にない鍵で署名されています"),
        (Defect::Audience, "宛先(aud)が本サービスではありません"),
        (Defect::Expired, "有効期限が切れています"),
        (Defect::None, "このアカウントは登録されていません"),
    ] {
        *rogue.defect.lock().unwrap() = defect;
        let browser = Browser::new();
        let req = rp.start(None, None);
        let Hop::Page { body: login, .. } = browser.follow(&app.base, &req.url).await.unwrap()
        else {
            panic!("no login page");
        };
        let at = login
            .find(">Googleアカウントでログイン<")
            .expect("the button");
        let tag = &login[login[..at].rfind("<a").unwrap()..at];
        let href = tag
            .split("href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let start = format!(
            "{}{}",
            app.base,
            href.replace("&amp;", "&").replace("&#x2f;", "/")
        );
        match browser.follow(&app.base, &start).await.unwrap() {
            // The rogue's authorization endpoint is outside the OP: go on from there.
            Hop::LeftOp(to_rogue) => {
                let back = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap()
                    .get(to_rogue.as_str())
                    .send()
                    .await
                    .unwrap();
                let callback = back.headers()["location"].to_str().unwrap().to_owned();
                let Hop::Page { body, .. } = browser.follow(&app.base, &callback).await.unwrap()
                else {
                    panic!("{defect:?}: left the OP");
                };
                assert!(
                    body.contains(expected),
                    "{defect:?}: {}",
                    &body[body.find("<main>").unwrap_or(0)..]
                );
            }
            Hop::Page { body, .. } => panic!("{defect:?}: {body}"),
        }
        drop(req);
    }
    let reasons: Vec<String> = app
        .op
        .store
        .recent_audit(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "upstream.failed")
        .map(|e| e.detail["reason"].as_str().unwrap_or("").to_owned())
        .collect();
    for reason in [
        "id_token nonce",
        "id_token unknown key",
        "id_token audience",
        "id_token expired",
        "not bound",
    ] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} in {reasons:?}"
        );
    }
}
