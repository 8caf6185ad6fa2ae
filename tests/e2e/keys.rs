//! Signing keys rotate without breaking tokens already issued.

use crate::support::{login_tokens, userinfo_status};
use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::ES256;
use sekisho_core::oauth::SigningAlg;
use sekisho_e2e::TestApp;

async fn jwks(app: &TestApp) -> JwkSet {
    let body = reqwest::get(format!("{}/jwks", app.issuer()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    JwkSet::from_bytes(body.as_bytes()).unwrap()
}

/// Verifies an ES256 JWT with the key of its `kid` in the published JWKS.
fn verifies_with(set: &JwkSet, token: &str) -> bool {
    let header = josekit::jwt::decode_header(token).unwrap();
    let kid = header
        .claim("kid")
        .and_then(|k| k.as_str())
        .unwrap()
        .to_owned();
    let Some(jwk) = set.get(&kid).first().cloned() else {
        return false;
    };
    let verifier = ES256.verifier_from_jwk(jwk).unwrap();
    josekit::jwt::decode_with_verifier(token, &verifier).is_ok()
}

/// The `kid` in a JWT's header.
fn kid_of(token: &str) -> String {
    josekit::jwt::decode_header(token)
        .unwrap()
        .claim("kid")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

// REQ-OP-4: a token signed before `keys rotate` still verifies through the JWKS after it, until it expires.
#[tokio::test]
async fn token_signed_before_rotation_verifies_after() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let (id, secret) = (
        &seed.client.client_id,
        seed.client.client_secret.as_deref().unwrap(),
    );
    let before = login_tokens(&app, id, secret).await;
    let old_id_token = before["id_token"].as_str().unwrap();
    let old_access = before["access_token"].as_str().unwrap();
    let old_kid = kid_of(old_id_token);

    let rotated = app
        .op
        .keys
        .rotate(&[SigningAlg::Es256], sekisho_crypto::Rotation::Immediate)
        .await
        .unwrap();
    assert_eq!(rotated.len(), 1);
    assert_ne!(rotated[0], old_kid);

    let set = jwks(&app).await;
    assert!(
        !set.get(&old_kid).is_empty(),
        "the retired key stays published"
    );
    assert!(!set.get(&rotated[0]).is_empty(), "the new key is published");
    assert!(
        verifies_with(&set, old_id_token),
        "old ID token verifies after rotation"
    );
    assert_eq!(
        userinfo_status(&app, old_access).await,
        200,
        "old access token still accepted"
    );

    // New tokens are signed with the new key.
    let after = login_tokens(&app, id, secret).await;
    let new_kid = kid_of(after["id_token"].as_str().unwrap());
    assert_eq!(new_kid, rotated[0]);

    // Once every token the old key signed has expired, the key leaves the JWKS.
    app.clock.advance(app.op.config.key_overlap() + 31);
    let set = jwks(&app).await;
    assert!(
        set.get(&old_kid).is_empty(),
        "the retired key is gone after the overlap"
    );
    let _: Option<&Jwk> = None;
}

// REQ-OP-4: the CLI's rotation (another process) reaches a running server through the shared database.
#[tokio::test]
async fn rotation_by_another_process_is_seen_after_reload() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let before = jwks(&app).await.keys().len();
    // A second key ring on the same database plays the CLI process.
    let other = sekisho_crypto::KeyRing::new(
        app.op.store.clone(),
        app.op.clock.clone(),
        app.op.config.key_overlap(),
    );
    other
        .rotate(&[SigningAlg::Es256], sekisho_crypto::Rotation::Staged)
        .await
        .unwrap();
    app.clock.advance(31); // past the ring's reload interval
    assert_eq!(jwks(&app).await.keys().len(), before + 1);
}

// Issue 17 (keys published before use): a staged rotation publishes the new key at once, keeps
// signing with the old one for the publication lead, then signs with the new one; tokens the
// old key signed still verify.
#[tokio::test]
async fn a_staged_rotation_publishes_before_it_signs() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let (id, secret) = (
        &seed.client.client_id,
        seed.client.client_secret.as_deref().unwrap(),
    );
    let first = login_tokens(&app, id, secret).await;
    let old_kid = kid_of(first["id_token"].as_str().unwrap());

    let next = app
        .op
        .keys
        .rotate(&[SigningAlg::Es256], sekisho_crypto::Rotation::Staged)
        .await
        .unwrap();
    assert!(
        !jwks(&app).await.get(&next[0]).is_empty(),
        "published at once"
    );
    let during = login_tokens(&app, id, secret).await;
    assert_eq!(
        kid_of(during["id_token"].as_str().unwrap()),
        old_kid,
        "not signing during the lead"
    );

    app.clock.advance(sekisho_crypto::PUBLISH_LEAD);
    let after = login_tokens(&app, id, secret).await;
    assert_eq!(kid_of(after["id_token"].as_str().unwrap()), next[0]);
    let set = jwks(&app).await;
    assert!(
        verifies_with(&set, during["id_token"].as_str().unwrap()),
        "what the old key signed still verifies"
    );
    let listed = app.op.keys.list().await.unwrap();
    let stage = |kid: &str| listed.iter().find(|k| k.kid == kid).unwrap().state;
    assert_eq!(stage(&next[0]), sekisho_crypto::KeyStage::Active);
    assert_eq!(stage(&old_kid), sekisho_crypto::KeyStage::Retired);
}

// Issue 17 (scheduled rotation): nothing is due before the period; once it is, one staged
// rotation per algorithm, and not again until the next period.
#[tokio::test]
async fn the_scheduled_rotation_rotates_once_per_period() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let every = 90 * 86_400;
    assert!(app.op.keys.rotate_due(every).await.unwrap().is_empty());
    app.clock.advance(every + 1);
    let made = app.op.keys.rotate_due(every).await.unwrap();
    assert_eq!(made.len(), SigningAlg::ALL.len());
    assert!(app.op.keys.rotate_due(every).await.unwrap().is_empty());
    let listed = app.op.keys.list().await.unwrap();
    assert!(made.iter().all(|kid| listed
        .iter()
        .any(|k| &k.kid == kid && k.state == sekisho_crypto::KeyStage::Next)));
}
