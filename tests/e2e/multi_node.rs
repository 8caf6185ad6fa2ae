//! Issue 17 (nothing stale across nodes): two nodes on one PostgreSQL, each with its own
//! caches, as two `sekisho serve` processes behind a load balancer would be. A change made
//! through one node (a client deleted, a signing key rotated, a brand's look changed) is honoured
//! by the other at its next request: the other node has been told through the change feed, not
//! left to a cache's lifetime. Nothing here sleeps: each check waits (bounded) for a marker
//! announced after the change to reach the other node, which PostgreSQL delivers in commit
//! order.

use crate::admin_api::{client_token, service_client};
use sekisho::admin::{self, BrandChanges};
use sekisho_e2e::{TestApp, BRAND};
use sekisho_store::Change;
use std::time::Duration;

/// How long a node may take to hear of another's change (an event, not a cache's lifetime).
const HEARD_WITHIN: Duration = Duration::from_secs(10);

type Kek = sekisho_core::secret::Secret<String>;

/// A fresh PostgreSQL database and the key-encryption key its nodes share, as the nodes of a
/// deployment do (each can open the keys the other sealed).
fn database() -> (String, Kek) {
    let url = sekisho_testkit::fresh_postgres_database().expect("PostgreSQL");
    (url, sekisho_crypto::kek::Kek::generate().into())
}

/// A node on the database.
async fn node(url: &str, kek: &Kek) -> TestApp {
    let kek = kek.clone();
    TestApp::spawn_configured(url, |c| c.key_encryption_key = kek).await
}

/// Two nodes on one fresh database.
async fn two_nodes() -> (TestApp, TestApp) {
    let (url, kek) = database();
    (node(&url, &kek).await, node(&url, &kek).await)
}

/// The node's JWKS document, as text.
async fn jwks(node: &TestApp) -> String {
    reqwest::get(format!("{}/jwks", node.issuer()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until `to` has applied every change `from` announced so far: `from` announces a marker
/// and `to` must apply it.
async fn heard(from: &TestApp, to: &TestApp) {
    let marker = Change::Brand(sekisho_testkit::unique_name("marker"));
    let mut seen = to.op.last_change();
    from.op.store.announce(marker.clone()).await;
    tokio::time::timeout(HEARD_WITHIN, seen.wait_for(|c| c.as_ref() == Some(&marker)))
        .await
        .expect("the other node heard of the change")
        .expect("the node runs");
}

/// The `kid` in a JWT's header.
fn kid(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn token_status(node: &TestApp, id: &str, secret: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/token", node.issuer()))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

// Issue 17: a client deleted through node A is refused by node B at its next request, although
// B had the client in its cache (it had just served it).
#[tokio::test]
async fn a_client_deleted_on_one_node_is_refused_by_the_other_at_once() {
    let (a, b) = two_nodes().await;
    a.seed().await;
    let (id, secret) = service_client(&a, "storage", None).await;
    assert_eq!(
        token_status(&b, &id, &secret).await,
        200,
        "B serves (and caches) the client"
    );
    sekisho_oidc::operator::delete_client(&a.op, BRAND, &id)
        .await
        .unwrap();
    heard(&a, &b).await;
    assert_eq!(
        token_status(&b, &id, &secret).await,
        401,
        "B refuses the deleted client"
    );
}

// Issue 17 (keys published before use): a staged rotation through node A. Node B publishes the
// new keys at once but goes on signing with the old ones, as does a node started right after
// the rotation (which used to sign with a key the others did not publish yet); once the
// publication lead has passed, every node signs with the new keys, and the old ones still verify.
#[tokio::test]
async fn a_rotated_key_is_published_on_every_node_before_any_signs_with_it() {
    let (url, kek) = database();
    let a = node(&url, &kek).await;
    let b = node(&url, &kek).await;
    a.seed().await;
    let (id, secret) = service_client(&a, "storage", None).await;
    let before = kid(&client_token(&b, &id, &secret).await);
    let made =
        a.op.keys
            .rotate(
                sekisho_core::oauth::SigningAlg::ALL,
                sekisho_crypto::Rotation::Staged,
            )
            .await
            .unwrap();
    heard(&a, &b).await;
    let restarted = node(&url, &kek).await;
    for n in [&a, &b, &restarted] {
        let published = jwks(n).await;
        assert!(
            made.iter().all(|k| published.contains(k.as_str())),
            "every node publishes the next keys at once: {published}"
        );
        assert_eq!(
            kid(&client_token(n, &id, &secret).await),
            before,
            "no node signs with a key before its lead has passed"
        );
    }

    for n in [&a, &b, &restarted] {
        n.clock.advance(sekisho_crypto::PUBLISH_LEAD);
    }
    for n in [&a, &b, &restarted] {
        let after = kid(&client_token(n, &id, &secret).await);
        assert!(
            made.contains(&after),
            "{after} is one of the new keys {made:?}"
        );
        assert!(
            jwks(n).await.contains(&before),
            "the old key still verifies"
        );
    }
}

// Issue 17: a brand's colour changed through node A shows on node B's next page.
#[tokio::test]
async fn a_brand_changed_on_one_node_shows_on_the_other_at_once() {
    let (a, b) = two_nodes().await;
    a.seed().await;
    let login = |node: &TestApp| {
        let url = format!("{}/login", node.issuer());
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    assert!(!login(&b).await.contains("#0b6e4f"), "B caches the brand");
    let look = BrandChanges {
        primary_color: Some("#0b6e4f".into()),
        ..BrandChanges::default()
    };
    admin::update_brand(&a.op, BRAND, look).await.unwrap();
    heard(&a, &b).await;
    assert!(
        login(&b).await.contains("#0b6e4f"),
        "B shows the new colour"
    );
}

// Issue 17 (scheduled rotation, background work done once): when the keys are older than the
// rotation period, every node runs the scheduled rotation at once, and exactly one new key per
// algorithm is made, staged.
#[tokio::test]
async fn the_scheduled_rotation_is_done_once_by_one_node() {
    let (a, b) = two_nodes().await;
    a.seed().await;
    let every = 90 * 86_400;
    for n in [&a, &b] {
        assert!(
            n.op.keys.rotate_due(every).await.unwrap().is_empty(),
            "not due yet"
        );
        n.clock.advance(every + 1);
    }
    // Four rounds of both nodes' hourly check, all at once.
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let op = if i % 2 == 0 {
                a.op.clone()
            } else {
                b.op.clone()
            };
            tokio::spawn(async move { op.keys.rotate_due(every).await.unwrap() })
        })
        .collect();
    let mut made = Vec::new();
    for attempt in attempts {
        made.extend(attempt.await.unwrap());
    }
    assert_eq!(
        made.len(),
        sekisho_core::oauth::SigningAlg::ALL.len(),
        "one new key per algorithm, whichever node made it: {made:?}"
    );
    let listed = b.op.keys.list().await.unwrap();
    let next: Vec<&str> = listed
        .iter()
        .filter(|k| k.state == sekisho_crypto::KeyStage::Next)
        .map(|k| k.kid.as_str())
        .collect();
    assert_eq!(next.len(), made.len(), "each is published, not signing yet");
    assert!(
        a.op.keys.rotate_due(every).await.unwrap().is_empty(),
        "done"
    );
}

// Issue 17: nodes started together on an empty database make one key per algorithm between them
// (each used to make its own, retiring the others' at once).
#[tokio::test]
async fn nodes_starting_together_make_one_key_per_algorithm() {
    let (url, kek) = database();
    let config = sekisho::config::Config {
        database_url: url.into(),
        key_encryption_key: kek,
        ..sekisho::config::Config::default()
    };
    let clock = std::sync::Arc::new(sekisho_core::SystemClock);
    let a = sekisho::server::build_op(&config, clock.clone())
        .await
        .unwrap();
    let b = sekisho::server::build_op(&config, clock).await.unwrap();
    let (made_a, made_b) = tokio::join!(a.keys.ensure_keys(), b.keys.ensure_keys());
    let made = made_a.unwrap().len() + made_b.unwrap().len();
    let algs = sekisho_core::oauth::SigningAlg::ALL.len();
    assert_eq!(made, algs, "one key per algorithm between the two");
    assert_eq!(a.store.list_signing_keys().await.unwrap().len(), algs);
    let kids = |keys: Vec<sekisho_crypto::keyring::KeyInfo>| -> Vec<String> {
        keys.into_iter().map(|k| k.kid).collect()
    };
    assert_eq!(
        kids(a.keys.list().await.unwrap()),
        kids(b.keys.list().await.unwrap()),
        "both nodes hold the same keys"
    );
}

// Issue 17 (rate state shared): password guesses spread over two nodes lock the account after
// ten in all, as on one node: the count is in the database, not in a node's memory, so switching
// nodes wins an attacker nothing.
#[tokio::test]
async fn guesses_spread_over_nodes_lock_after_ten_in_all() {
    use crate::account_lock::{attempt, login_page, FAILED, LOCKED};
    let (a, b) = two_nodes().await;
    let seed = a.seed().await;
    let browser = sekisho_e2e::Browser::new();
    let page = login_page(&a, &browser, &seed.client.client_id).await;
    for i in 1..=10 {
        let node = if i % 2 == 0 { &a } else { &b };
        let body = attempt(
            node,
            &browser,
            &page,
            sekisho_e2e::EMAIL,
            "wrong-Password-1",
        )
        .await
        .unwrap();
        if i < 10 {
            assert!(body.contains(FAILED) && !body.contains(LOCKED), "guess {i}");
        } else {
            assert!(body.contains(LOCKED), "the tenth guess, on node A, locks");
        }
    }
    for node in [&a, &b] {
        let body = attempt(
            node,
            &browser,
            &page,
            sekisho_e2e::EMAIL,
            sekisho_e2e::PASSWORD,
        )
        .await
        .unwrap();
        assert!(
            body.contains(LOCKED),
            "both nodes refuse the right password"
        );
    }
}

// ISSUE-18 (RFC 9449 §11.1): a DPoP proof accepted by one node is refused by another (its jti is
// in the database both share, not in a node's memory). Both nodes serve one public URL, as behind
// a load balancer, so the proof's htu fits either.
#[tokio::test]
async fn a_dpop_proof_used_at_one_node_is_refused_at_another() {
    use sekisho_core::Clock;
    let (url, kek) = database();
    let shared = "https://op.example".to_owned();
    let spawn = || {
        let (kek, shared) = (kek.clone(), shared.clone());
        TestApp::spawn_configured(&url, move |c| {
            c.key_encryption_key = kek;
            c.public_url = shared;
        })
    };
    let a = spawn().await;
    let b = spawn().await;
    a.seed().await;
    let (id, secret) = crate::dpop::dpop_service_client(&a).await;
    let proof = crate::dpop::Key::new().proof(
        "POST",
        &format!("{shared}/{BRAND}/token"),
        a.clock.now(),
        "once",
        None,
    );
    let token_at = |node: &TestApp| {
        let (proof, id, secret) = (proof.clone(), id.clone(), secret.clone());
        let url = format!("{}/{BRAND}/token", node.base);
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .basic_auth(id, Some(secret))
                .header("DPoP", proof)
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = token_at(&a).await;
    assert_eq!(
        (status, body["token_type"].as_str()),
        (200, Some("DPoP")),
        "{body}"
    );
    let (status, body) = token_at(&b).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
}
