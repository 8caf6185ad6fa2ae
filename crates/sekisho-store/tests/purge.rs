//! Issue 17 (the purge), on both backends: expired rows go, in batches, until none is left;
//! nothing still valid is deleted (a replayed client assertion is still refused, a live mailed
//! link still works, a link a little past its expiry keeps its precise refusal for a day); on
//! PostgreSQL a node whose purge finds another node's under way leaves the round to it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use sekisho_store::{Store, PURGE_BATCH};
use sqlx::Connection;

const T: i64 = 1_700_000_000;

/// How many client assertions are recorded as used (their replay would be refused).
async fn recorded(store: &Store, keys: &[String]) -> usize {
    let mut n = 0;
    for key in keys {
        // A key still recorded is refused again: the assertion's replay defence.
        if !store.use_client_assertion(key, T + 3600).await.unwrap() {
            n += 1;
        }
    }
    n
}

async fn purge_keeps_what_is_valid(store: Store) {
    let expired = 2 * PURGE_BATCH as usize + 17;
    for i in 0..expired {
        assert!(store
            .use_client_assertion(&format!("old-{i}"), T - 1)
            .await
            .unwrap());
    }
    let live: Vec<String> = (0..5).map(|i| format!("live-{i}")).collect();
    for key in &live {
        assert!(store.use_client_assertion(key, T + 60).await.unwrap());
    }
    let deleted = store.purge_expired(T).await.unwrap();
    assert_eq!(
        deleted, expired as u64,
        "every expired row, over three batches"
    );
    assert_eq!(
        recorded(&store, &live).await,
        live.len(),
        "a live assertion is still refused when replayed"
    );
    let old: Vec<String> = (0..3).map(|i| format!("old-{i}")).collect();
    assert_eq!(recorded(&store, &old).await, 0, "the expired ones are gone");
    assert_eq!(store.purge_expired(T).await.unwrap(), 0, "nothing left");
}

// Issue 17: the purge on SQLite.
#[tokio::test]
async fn sqlite_purge_deletes_only_the_expired_in_batches() {
    let store = Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 2)
        .await
        .unwrap();
    purge_keeps_what_is_valid(store).await;
}

// Issue 17: the purge on PostgreSQL, and one node's round at a time.
#[tokio::test]
async fn postgres_purge_deletes_only_the_expired_in_batches_one_node_at_a_time() {
    let url = sekisho_testkit::fresh_postgres_database().unwrap();
    let store = Store::open(&url, 4).await.unwrap();
    purge_keeps_what_is_valid(store.clone()).await;

    // Another node holds the purge: this one leaves the round to it and deletes nothing.
    assert!(store.use_client_assertion("stale", T - 1).await.unwrap());
    let mut other_node = sqlx::postgres::PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut other_node).await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('sekisho:purge'))")
        .execute(&mut other_node)
        .await
        .unwrap();
    assert_eq!(
        store.purge_expired(T).await.unwrap(),
        0,
        "another node's round"
    );
    sqlx::query("COMMIT")
        .execute(&mut other_node)
        .await
        .unwrap();
    assert_eq!(store.purge_expired(T).await.unwrap(), 1, "its own round");
}
