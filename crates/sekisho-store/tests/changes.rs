//! Issue 17 (nothing stale across nodes), on both backends: every write that changes what a
//! node keeps in memory (a client updated or deleted, a brand changed, a signing key rotated or
//! pruned, an initial access token made or revoked) is announced on the change feed. On
//! PostgreSQL the announcement reaches another node's store (its own connection, as another
//! process would have); on SQLite, one node, it reaches the store's own followers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use sekisho_core::model::*;
use sekisho_core::oauth::{GrantType, SigningAlg, TokenEndpointAuthMethod};
use sekisho_store::{Change, ChangeFeed, InitialTokenRecord, SigningKeyRecord, Store};
use std::time::Duration;

const T: i64 = 1_700_000_000;

/// How long a test waits for an announcement to arrive (an event, not a cache's lifetime).
const ARRIVES_WITHIN: Duration = Duration::from_secs(10);

async fn next(feed: &mut ChangeFeed, after: &str) -> Change {
    tokio::time::timeout(ARRIVES_WITHIN, feed.next())
        .await
        .unwrap_or_else(|_| panic!("no change announced after {after}"))
}

fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        brand: BrandCode::parse("VX5").unwrap(),
        secret_hash: Some("hash".into()),
        metadata: ClientMetadata {
            client_name: id.into(),
            redirect_uris: vec!["https://rp.example/cb".into()],
            post_logout_redirect_uris: Vec::new(),
            grant_types: vec![GrantType::AuthorizationCode],
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            id_token_signed_response_alg: SigningAlg::Es256,
            jwks: None,
            jwks_uri: None,
            scope: None,
            requires: Default::default(),
            backchannel_logout_uri: None,
            subject_type: Default::default(),
            sector_identifier_uri: None,
        },
        created_at: T,
    }
}

fn brand(name: &str) -> Brand {
    Brand {
        code: BrandCode::parse("VX5").unwrap(),
        name: name.into(),
        mail_from: String::new(),
        theme: BrandTheme::default(),
        service_url: None,
        created_at: T,
    }
}

/// Writes through `writer`; `follower` (another node's store on PostgreSQL, the same store on
/// SQLite) must hear of each change, in order.
async fn announced(writer: Store, follower: Store) {
    writer.insert_brand(&brand("x")).await.unwrap();
    writer.insert_client(&client("cli_1")).await.unwrap();
    let mut feed = follower.changes().await.unwrap();

    let mut changed = client("cli_1");
    changed.metadata.client_name = "renamed".into();
    assert!(writer.update_client(&changed).await.unwrap());
    assert_eq!(
        next(&mut feed, "update_client").await,
        Change::Client("cli_1".into())
    );

    writer.update_brand(&brand("y")).await.unwrap();
    assert_eq!(
        next(&mut feed, "update_brand").await,
        Change::Brand("VX5".into())
    );

    let key = |kid: &str, at: i64| SigningKeyRecord {
        kid: kid.into(),
        alg: "ES256".into(),
        private_jwk: "{}".into(),
        public_jwk: "{}".into(),
        created_at: at,
        activates_at: at,
        retired_at: None,
    };
    writer.rotate_signing_key(&key("k1", T)).await.unwrap();
    assert_eq!(next(&mut feed, "a rotation").await, Change::SigningKeys);
    writer.rotate_signing_key(&key("k2", T + 10)).await.unwrap();
    assert_eq!(next(&mut feed, "a rotation").await, Change::SigningKeys);
    assert_eq!(writer.prune_signing_keys(T + 20).await.unwrap(), 1);
    assert_eq!(next(&mut feed, "a prune").await, Change::SigningKeys);

    let token = InitialTokenRecord {
        id: "iat_1".into(),
        token_hash: "h".into(),
        brand: Some("VX5".into()),
        label: String::new(),
        created_at: T,
        expires_at: None,
        revoked_at: None,
    };
    writer.insert_initial_access_token(&token).await.unwrap();
    assert_eq!(
        next(&mut feed, "a new initial access token").await,
        Change::RegistrationTokens
    );
    assert!(writer
        .revoke_initial_access_token("iat_1", T)
        .await
        .unwrap());
    assert_eq!(
        next(&mut feed, "a revoked initial access token").await,
        Change::RegistrationTokens
    );

    // A deletion, last: every node must refuse the client at once.
    assert!(writer.delete_client("cli_1", T).await.unwrap());
    assert_eq!(
        next(&mut feed, "delete_client").await,
        Change::Client("cli_1".into())
    );
    // Writes that change nothing announce nothing: the next announcement is the marker's.
    assert!(!writer.delete_client("cli_1", T).await.unwrap());
    assert_eq!(writer.prune_signing_keys(T + 20).await.unwrap(), 0);
    writer.announce(Change::Brand("marker".into())).await;
    assert_eq!(
        next(&mut feed, "the marker").await,
        Change::Brand("marker".into())
    );
}

// Issue 17: on SQLite (one node) the store's own followers hear of every change.
#[tokio::test]
async fn sqlite_changes_are_announced() {
    let store = Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 2)
        .await
        .unwrap();
    announced(store.clone(), store).await;
}

// Issue 17: on PostgreSQL a change written by one node reaches another node's follower (its own
// pool and its own LISTEN connection).
#[tokio::test]
async fn postgres_changes_reach_the_other_nodes() {
    let url = sekisho_testkit::fresh_postgres_database().unwrap();
    let node_a = Store::open(&url, 2).await.unwrap();
    let node_b = Store::connect(&url, 2).await.unwrap();
    announced(node_a, node_b).await;
}

// Issue 17: a follower whose LISTEN connection is cut (a database restart, a proxy timeout) is
// told that anything may have changed, and hears the next change on its new connection.
#[tokio::test]
async fn postgres_a_lost_listener_forgets_everything_and_listens_again() {
    let url = sekisho_testkit::fresh_postgres_database().unwrap();
    let node_a = Store::open(&url, 2).await.unwrap();
    let node_b = Store::connect(&url, 2).await.unwrap();
    let mut feed = node_b.changes().await.unwrap();
    let cut: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND query ILIKE 'listen%'",
    )
    .fetch_all(
        &mut <sqlx::postgres::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(cut, vec![(true,)], "the follower's one LISTEN connection");
    assert_eq!(
        next(&mut feed, "the cut").await,
        Change::Everything,
        "told that changes may have been missed"
    );
    node_a.announce(Change::Client("cli_after".into())).await;
    assert_eq!(
        next(&mut feed, "the announcement after the cut").await,
        Change::Client("cli_after".into())
    );
}
