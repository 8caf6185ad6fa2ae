//! OpenID Connect Back-Channel Logout 1.0 (issue 18): when a session ends, every client that got
//! tokens in it and registered a `backchannel_logout_uri` is POSTed a signed logout token, from a
//! durable queue with retries. The receiver is a real HTTP server (the testkit's recording
//! double); the RP's checks are the spec's §2.6, written here as a strict RP would.

use crate::support::{redeem, VERIFIER};
use josekit::jwk::JwkSet;
use sekisho_core::Clock;
use sekisho_e2e::{Browser, TestApp, POST_LOGOUT_URI};
use sekisho_testkit::SmsGatewayDouble as Receiver;
use serde_json::{Map, Value};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Back-Channel Logout 1.0 §2.6, as a strict RP validates a logout token: the OP's signature
/// (kid in its JWKS), `typ` logout+jwt, `iss`, `aud`, `iat`, `exp`, `jti`, the `events` member
/// with the back-channel logout event, `sid` (this RP requires it) and `sub`, and no `nonce`.
fn validate(
    token: &str,
    jwks: &JwkSet,
    issuer: &str,
    client_id: &str,
    now: i64,
) -> Result<Map<String, Value>, String> {
    let header = josekit::jwt::decode_header(token).map_err(|e| e.to_string())?;
    if header.claim("typ").and_then(Value::as_str) != Some("logout+jwt") {
        return Err("typ is not logout+jwt".into());
    }
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .ok_or("no kid")?;
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .ok_or("no alg")?;
    let jwk = jwks
        .get(kid)
        .into_iter()
        .next()
        .ok_or("kid not in the JWKS")?;
    let verifier: Box<dyn josekit::jws::JwsVerifier> = match alg {
        "ES256" => Box::new(josekit::jws::ES256.verifier_from_jwk(jwk).unwrap()),
        "RS256" => Box::new(josekit::jws::RS256.verifier_from_jwk(jwk).unwrap()),
        "EdDSA" => Box::new(josekit::jws::EdDSA.verifier_from_jwk(jwk).unwrap()),
        other => return Err(format!("alg {other}")),
    };
    let (payload, _) =
        josekit::jwt::decode_with_verifier(token, &*verifier).map_err(|e| e.to_string())?;
    let c = payload.claims_set().clone();
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    if s("iss") != Some(issuer) {
        return Err("wrong iss".into());
    }
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(list)) => list.iter().any(|a| a == client_id),
        _ => false,
    };
    if !aud_ok {
        return Err("wrong aud".into());
    }
    let iat = c.get("iat").and_then(Value::as_i64).ok_or("no iat")?;
    let exp = c.get("exp").and_then(Value::as_i64).ok_or("no exp")?;
    if iat > now + 60 || exp <= now {
        return Err("not valid now".into());
    }
    if s("jti").is_none() {
        return Err("no jti".into());
    }
    match c.get("events").and_then(|e| e.get(EVENT)) {
        Some(Value::Object(_)) => {}
        _ => return Err("no back-channel logout event in events".into()),
    }
    if s("sid").is_none() || s("sub").is_none() {
        return Err("no sid or sub".into());
    }
    if c.contains_key("nonce") {
        return Err("a logout token must not carry a nonce".into());
    }
    Ok(c)
}

/// A server that may post to the receivers of these tests, which listen on loopback.
pub(crate) async fn reaching_loopback() -> TestApp {
    TestApp::spawn_configured(&sekisho_testkit::fresh_sqlite_url().unwrap(), |c| {
        c.client_urls_allow_internal = true
    })
    .await
}

async fn jwks(app: &TestApp) -> JwkSet {
    let text = reqwest::get(format!("{}/jwks", app.issuer()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    JwkSet::from_bytes(text.as_bytes()).unwrap()
}

/// The logout tokens `receiver` got at `path`.
pub(crate) fn tokens_at(receiver: &Receiver, path: &str) -> Vec<String> {
    receiver
        .requests()
        .unwrap()
        .into_iter()
        .filter(|r| r.path == path)
        .map(|r| {
            r.form_value("logout_token")
                .expect("a logout_token form field")
                .to_owned()
        })
        .collect()
}

/// Logs the seed user in to `client_id` in `browser` (a session it may already have) and
/// redeems the code; the ID token's claims.
pub(crate) async fn sign_in(
    app: &TestApp,
    browser: &Browser,
    id: &str,
    secret: &str,
) -> (String, Map<String, Value>) {
    let code = crate::support::code(app, browser, id).await;
    let (status, tokens) = redeem(app, id, secret, &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    use base64::Engine;
    let claims = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(id_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    (id_token, claims)
}

async fn rp_logout(app: &TestApp, browser: &Browser, id_token: &str) {
    let mut url = url::Url::parse(&format!("{}/logout", app.issuer())).unwrap();
    url.query_pairs_mut()
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", POST_LOGOUT_URI);
    let res = browser.get(url.as_str()).await.unwrap();
    assert_eq!(res.status(), 303);
}

// ISSUE-18 (Back-Channel Logout 1.0 §2.5, §2.6): an RP-initiated logout tells each RP that got
// tokens in the session (two clients signed in through one session) once, with a logout token a
// strict RP accepts: its sid is the ID token's, its sub the user's. A client with no
// backchannel_logout_uri is not called; nothing is sent twice.
#[tokio::test]
async fn ending_a_session_tells_every_rp_that_got_tokens_in_it() {
    let app = reaching_loopback().await;
    let seed = app.seed().await;
    let receiver = Receiver::start().unwrap();
    let uri = |path: &str| format!("http://127.0.0.1:{}{path}", receiver.port());
    let a = app
        .client(|c| c.backchannel_logout_uri = Some(uri("/a/logout")))
        .await;
    let b = app
        .client(|c| c.backchannel_logout_uri = Some(uri("/b/logout")))
        .await;
    let browser = Browser::new();
    let (id_token, claims) = sign_in(
        &app,
        &browser,
        &a.client_id,
        a.client_secret.as_deref().unwrap(),
    )
    .await;
    let (_, b_claims) = sign_in(
        &app,
        &browser,
        &b.client_id,
        b.client_secret.as_deref().unwrap(),
    )
    .await;
    // The seed client (no URI) signs in through the same session too.
    let seed_secret = seed.client.client_secret.clone().unwrap();
    sign_in(&app, &browser, &seed.client.client_id, &seed_secret).await;
    assert_eq!(claims["sid"], b_claims["sid"], "one session");
    assert_eq!(
        app.deliver_logouts().await,
        0,
        "nothing before the session ends"
    );

    rp_logout(&app, &browser, &id_token).await;
    assert_eq!(app.deliver_logouts().await, 2);
    let keys = jwks(&app).await;
    for (client, path) in [(&a, "/a/logout"), (&b, "/b/logout")] {
        let tokens = tokens_at(&receiver, path);
        assert_eq!(tokens.len(), 1, "{path}");
        let c = validate(
            &tokens[0],
            &keys,
            &app.issuer(),
            &client.client_id,
            app.clock.now(),
        )
        .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(c["sid"], claims["sid"]);
        assert_eq!(c["sub"], claims["sub"]);
    }
    assert_eq!(
        receiver.requests().unwrap().len(),
        2,
        "the client without a URI is not called"
    );
    assert_eq!(app.deliver_logouts().await, 0, "delivered once");
}

// ISSUE-18: a receiver that is down (it answers 503) for a while gets the logout token once it is
// back: the queue keeps it, retries with back-off on the clock, and the token it finally gets is
// signed then (valid at delivery, not expired by the wait).
#[tokio::test]
async fn a_receiver_that_was_down_gets_the_logout_when_it_is_back() {
    down_then_back(reaching_loopback().await).await;
}

// ISSUE-18: the same on PostgreSQL (the queue's statements on both backends).
#[tokio::test]
async fn a_receiver_that_was_down_gets_the_logout_when_it_is_back_on_postgres() {
    let url = sekisho_testkit::fresh_postgres_database().unwrap();
    let app = TestApp::spawn_configured(&url, |c| c.client_urls_allow_internal = true).await;
    down_then_back(app).await;
}

async fn down_then_back(app: TestApp) {
    app.seed().await;
    let receiver = Receiver::start().unwrap();
    let rp = app
        .client(|c| {
            c.backchannel_logout_uri = Some(format!("http://127.0.0.1:{}/bcl", receiver.port()))
        })
        .await;
    let browser = Browser::new();
    let (id_token, _) = sign_in(
        &app,
        &browser,
        &rp.client_id,
        rp.client_secret.as_deref().unwrap(),
    )
    .await;
    receiver.respond_with(503).unwrap();
    rp_logout(&app, &browser, &id_token).await;
    assert_eq!(app.deliver_logouts().await, 0);
    assert_eq!(app.op.store.pending_logouts().await.unwrap(), 1);
    // Retried on its schedule: 30 s, then 60 s, … (the RP is still down).
    app.clock.advance(31);
    assert_eq!(app.deliver_logouts().await, 0);
    app.clock.advance(10);
    assert_eq!(
        app.deliver_logouts().await,
        0,
        "not due yet: the next try is 60 s on"
    );
    assert_eq!(receiver.requests().unwrap().len(), 2, "two tries so far");

    // An hour later the RP is back.
    receiver.respond_with(200).unwrap();
    app.clock.advance(3600);
    assert_eq!(app.deliver_logouts().await, 1);
    assert_eq!(app.op.store.pending_logouts().await.unwrap(), 0);
    let tokens = tokens_at(&receiver, "/bcl");
    let last = tokens.last().unwrap();
    validate(
        last,
        &jwks(&app).await,
        &app.issuer(),
        &rp.client_id,
        app.clock.now(),
    )
    .expect("the late token is valid when it arrives");
    app.clock.advance(3600);
    assert_eq!(app.deliver_logouts().await, 0, "delivered once");
}

// ISSUE-18 (§2.6): the RP's validation above is strict: the same token without `events` (signed by
// the OP's own key) is rejected, and so is one with a nonce. Sekisho's tokens pass it (above).
#[tokio::test]
async fn the_rps_validation_rejects_a_logout_token_without_events() {
    let app = reaching_loopback().await;
    app.seed().await;
    let now = app.clock.now();
    let claims = |with_events: bool, nonce: bool| {
        let mut c = Map::new();
        c.insert("iss".into(), app.issuer().into());
        c.insert("aud".into(), "cli".into());
        c.insert("iat".into(), now.into());
        c.insert("exp".into(), (now + 120).into());
        c.insert("jti".into(), "j".into());
        c.insert("sub".into(), "u".into());
        c.insert("sid".into(), "s".into());
        if with_events {
            c.insert("events".into(), serde_json::json!({ EVENT: {} }));
        }
        if nonce {
            c.insert("nonce".into(), "n".into());
        }
        c
    };
    let sign = |c| {
        let keys = app.op.keys.clone();
        async move {
            keys.sign(sekisho_core::oauth::SigningAlg::Es256, "logout+jwt", c)
                .await
                .unwrap()
        }
    };
    let keys = jwks(&app).await;
    let good = sign(claims(true, false)).await;
    assert!(validate(&good, &keys, &app.issuer(), "cli", now).is_ok());
    let no_events = sign(claims(false, false)).await;
    assert_eq!(
        validate(&no_events, &keys, &app.issuer(), "cli", now).unwrap_err(),
        "no back-channel logout event in events"
    );
    let with_nonce = sign(claims(true, true)).await;
    assert!(validate(&with_nonce, &keys, &app.issuer(), "cli", now).is_err());
}

// ISSUE-18: the other ends of a session tell the RPs too: a user disabled, a user deleted, a
// contract cancelled (each queued in the transaction that ends the sessions).
#[tokio::test]
async fn disabling_deleting_and_cancelling_tell_the_rps() {
    use sekisho_core::model::{ContractState, UserStatus};
    let app = reaching_loopback().await;
    let seed = app.seed().await;
    let receiver = Receiver::start().unwrap();
    let rp = app
        .client(|c| {
            c.backchannel_logout_uri = Some(format!("http://127.0.0.1:{}/bcl", receiver.port()))
        })
        .await;
    let secret = rp.client_secret.clone().unwrap();
    let store = &app.op.store;
    let delivered_for = |sid: Value| {
        let receiver = &receiver;
        let app = &app;
        let rp = &rp;
        async move {
            let keys = jwks(app).await;
            let tokens = tokens_at(receiver, "/bcl");
            tokens.iter().any(|t| {
                validate(t, &keys, &app.issuer(), &rp.client_id, app.clock.now())
                    .is_ok_and(|c| c["sid"] == sid)
            })
        }
    };

    let (_, claims) = sign_in(&app, &Browser::new(), &rp.client_id, &secret).await;
    store
        .set_user_status(&seed.user_id, UserStatus::Disabled, app.clock.now())
        .await
        .unwrap();
    assert_eq!(app.deliver_logouts().await, 1);
    assert!(delivered_for(claims["sid"].clone()).await, "disabled");
    store
        .set_user_status(&seed.user_id, UserStatus::Active, app.clock.now())
        .await
        .unwrap();

    let (_, claims) = sign_in(&app, &Browser::new(), &rp.client_id, &secret).await;
    store
        .set_contract_state(&seed.contract_id, ContractState::Cancelled, app.clock.now())
        .await
        .unwrap();
    assert_eq!(app.deliver_logouts().await, 1);
    assert!(delivered_for(claims["sid"].clone()).await, "cancelled");
    store
        .set_contract_state(&seed.contract_id, ContractState::Active, app.clock.now())
        .await
        .unwrap();

    let (_, claims) = sign_in(&app, &Browser::new(), &rp.client_id, &secret).await;
    store
        .delete_user(&seed.user_id, app.clock.now())
        .await
        .unwrap();
    assert_eq!(app.deliver_logouts().await, 1);
    assert!(delivered_for(claims["sid"].clone()).await, "deleted");
}

// ISSUE-18: by default the server never posts to its own networks for a client: a logout URI on
// loopback is not called (the receiver gets nothing) and the queue keeps the reason.
#[tokio::test]
async fn a_logout_uri_on_the_servers_own_network_is_not_called() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let receiver = Receiver::start().unwrap();
    let rp = app
        .client(|c| {
            c.backchannel_logout_uri = Some(format!("http://127.0.0.1:{}/bcl", receiver.port()))
        })
        .await;
    let browser = Browser::new();
    let (id_token, _) = sign_in(
        &app,
        &browser,
        &rp.client_id,
        rp.client_secret.as_deref().unwrap(),
    )
    .await;
    rp_logout(&app, &browser, &id_token).await;
    assert_eq!(app.deliver_logouts().await, 0);
    assert!(receiver.requests().unwrap().is_empty(), "nothing was sent");
    assert_eq!(app.op.store.pending_logouts().await.unwrap(), 1);
}
