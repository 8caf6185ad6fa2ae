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

use sekisho_store::{GrantRecord, RefreshRecord, Store, PURGE_BATCH};
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

const DAY: i64 = 86_400;

fn family(id: &str, created_at: i64, revoked_at: Option<i64>) -> GrantRecord {
    GrantRecord {
        id: id.into(),
        brand: "VX5".into(),
        client_id: "cli".into(),
        user_id: None,
        sid: None,
        offline: true,
        payload: "{}".into(),
        created_at,
        revoked_at,
    }
}

/// Token families: a dead one goes (revoked over a day ago; made over a day ago with no refresh
/// token left), a live one stays (a refresh token still valid, or made within the day, whose
/// access tokens may still be in use; revoked just now, so its tokens' refusal stays precise).
/// Counters of failed logins of addresses without a password login go 30 days after the last.
async fn purge_keeps_live_families_and_recent_failures(store: Store) {
    // (id, made, revoked, its refresh token's expiry, kept)
    let families = [
        (
            "revoked-long-ago",
            T - 3 * DAY,
            Some(T - 2 * DAY),
            None,
            false,
        ),
        ("old-no-refresh-left", T - 3 * DAY, None, None, false),
        (
            "old-refresh-expired",
            T - 40 * DAY,
            None,
            Some(T - DAY),
            false,
        ),
        (
            "old-with-live-refresh",
            T - 3 * DAY,
            None,
            Some(T + 29 * DAY),
            true,
        ),
        ("recent-no-refresh", T - 3600, None, None, true),
        (
            "revoked-just-now",
            T - 3 * DAY,
            Some(T - 60),
            Some(T + 29 * DAY),
            true,
        ),
    ];
    for (id, created, revoked, refresh_expires, _) in families {
        store
            .insert_grant(&family(id, created, revoked))
            .await
            .unwrap();
        if let Some(expires_at) = refresh_expires {
            store
                .insert_refresh(&RefreshRecord {
                    token_hash: format!("rt-{id}"),
                    grant_id: id.into(),
                    created_at: expires_at - 30 * DAY,
                    expires_at,
                    used_at: None,
                })
                .await
                .unwrap();
        }
    }
    for (address, at) in [("old", T - 31 * DAY), ("recent", T - DAY)] {
        for _ in 0..10 {
            store
                .record_anonymous_failure("VX5", address, 10, at)
                .await
                .unwrap();
        }
        assert!(store.anonymous_locked("VX5", address).await.unwrap());
    }
    store.purge_expired(T).await.unwrap();
    for (id, _, _, _, kept) in families {
        assert_eq!(
            store.find_grant(id).await.unwrap().is_some(),
            kept,
            "{id} kept: {kept}"
        );
    }
    assert!(
        store
            .find_refresh("rt-old-with-live-refresh")
            .await
            .unwrap()
            .is_some(),
        "a live refresh token still works"
    );
    assert!(
        !store.anonymous_locked("VX5", "old").await.unwrap(),
        "forgotten 30 days after"
    );
    assert!(store.anonymous_locked("VX5", "recent").await.unwrap());
}

// Issue 17: the purge on SQLite.
#[tokio::test]
async fn sqlite_purge_deletes_only_the_expired_in_batches() {
    let store = Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 2)
        .await
        .unwrap();
    purge_keeps_what_is_valid(store.clone()).await;
    purge_keeps_live_families_and_recent_failures(store).await;
}

// Issue 17: the purge on PostgreSQL, and one node's round at a time.
#[tokio::test]
async fn postgres_purge_deletes_only_the_expired_in_batches_one_node_at_a_time() {
    let url = sekisho_testkit::fresh_postgres_database().unwrap();
    let store = Store::open(&url, 4).await.unwrap();
    purge_keeps_what_is_valid(store.clone()).await;
    purge_keeps_live_families_and_recent_failures(store.clone()).await;

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
