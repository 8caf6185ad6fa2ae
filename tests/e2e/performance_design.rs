//! The performance design, guarded by tests rather than timings: password hashing runs on a
//! bounded pool, and client secrets never cost an argon2 hash.

use crate::support::{authorize_url, post_basic};
use sekisho_core::oauth::GrantType;
use sekisho_crypto::tokens::hash_token;
use sekisho_e2e::{query, Browser, TestApp, EMAIL, PASSWORD};

// Issue 7: during a storm of parallel logins, never more hashes run at once than the pool has
// threads, and every login's password check went through the pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_storm_never_exceeds_the_hash_pool() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let pool = app.op.passwords.pool_size();
    assert_eq!(pool, 2, "TestApp sizes the pool at 2");
    let before = app.op.passwords.total();
    let logins: Vec<_> = (0..24)
        .map(|_| {
            let url = authorize_url(&app, &seed.client.client_id, &[]);
            let base = app.base.clone();
            tokio::spawn(async move {
                Browser::new()
                    .login(&base, &url, EMAIL, PASSWORD)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for l in logins {
        assert!(
            query(&l.await.unwrap()).contains_key("code"),
            "every login succeeds"
        );
    }
    assert_eq!(
        app.op.passwords.total() - before,
        24,
        "one pooled hash per login, none elsewhere"
    );
    let peak = app.op.passwords.peak_in_flight();
    assert!(
        (1..=pool).contains(&peak),
        "peak {peak} hashes in flight with a pool of {pool}"
    );
}

// Issue 7: generated client secrets are high-entropy and kept as a fast SHA-256, not argon2id:
// client authentication runs no password hash.
#[tokio::test]
async fn client_secrets_are_not_argon2_hashed() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let client = app
        .client(|c| {
            c.grant_types = vec![GrantType::ClientCredentials];
            c.redirect_uris.clear();
        })
        .await;
    let secret = client.client_secret.clone().unwrap();
    let stored = app
        .op
        .store
        .find_client(&client.client_id)
        .await
        .unwrap()
        .unwrap()
        .secret_hash
        .unwrap();
    assert!(!stored.starts_with("$argon2"), "{stored}");
    assert_eq!(stored, hash_token(&secret));
    let before = app.op.passwords.total();
    for _ in 0..20 {
        let (status, body) = post_basic(
            &app,
            "token",
            &client.client_id,
            &secret,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        app.op.passwords.total(),
        before,
        "no argon2 work on the token endpoint"
    );
}
