//! Issue 15, refresh rotation grace (`Store::rotate_refresh_within`), on both backends: retries
//! of a lost answer racing each other never leave two live tokens in a family, and the grace is
//! bounded from the first use.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use sekisho_store::{GrantRecord, RefreshRecord, RefreshRotation, Store};

const T: i64 = sekisho_core::TEST_EPOCH;
const GRACE: i64 = 30;

fn grant(id: &str) -> GrantRecord {
    GrantRecord {
        id: id.into(),
        brand: "VX5".into(),
        client_id: "cli_1".into(),
        user_id: Some("usr_1".into()),
        sid: None,
        offline: true,
        payload: "{}".into(),
        created_at: T,
        revoked_at: None,
    }
}

fn refresh(hash: &str, grant: &str) -> RefreshRecord {
    RefreshRecord {
        token_hash: hash.into(),
        grant_id: grant.into(),
        created_at: T,
        expires_at: T + 1000,
        used_at: None,
    }
}

async fn unused(store: &Store, hash: &str) -> bool {
    store
        .find_refresh(hash)
        .await
        .unwrap()
        .is_some_and(|(r, _)| r.used_at.is_none())
}

async fn racing_retries(store: Store) {
    store.insert_grant(&grant("g")).await.unwrap();
    store.insert_refresh(&refresh("r1", "g")).await.unwrap();
    assert_eq!(
        store
            .rotate_refresh_within("r1", T, &refresh("r2", "g"), GRACE)
            .await
            .unwrap(),
        RefreshRotation::Rotated
    );
    // The answer was lost; eight retries of r1 race within the grace.
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let new = refresh(&format!("retry{n}"), "g");
            store
                .rotate_refresh_within("r1", T + 5, &new, GRACE)
                .await
                .unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let again = outcomes
        .iter()
        .filter(|o| **o == RefreshRotation::RotatedAgain)
        .count();
    // Each retry that commits replaces the child the one before it left (retries in sequence
    // all succeed); one that interleaves with another finds the child gone and is reuse.
    assert!(again >= 1, "a retry replaces the lost child: {outcomes:?}");
    assert!(!unused(&store, "r2").await, "the lost child is spent");
    let mut live = 0;
    for n in 0..8 {
        live += usize::from(unused(&store, &format!("retry{n}")).await);
    }
    assert!(live <= 1, "never two live tokens in the family");
}

async fn grace_bounds(store: Store) {
    store.insert_grant(&grant("g")).await.unwrap();
    store.insert_refresh(&refresh("r1", "g")).await.unwrap();
    let rotate = |old: &'static str, at: i64, new: &'static str| {
        let store = store.clone();
        async move {
            store
                .rotate_refresh_within(old, at, &refresh(new, "g"), GRACE)
                .await
                .unwrap()
        }
    };
    assert_eq!(rotate("r1", T, "r2").await, RefreshRotation::Rotated);
    assert_eq!(
        rotate("r1", T + 10, "r3").await,
        RefreshRotation::RotatedAgain
    );
    assert!(!unused(&store, "r2").await && unused(&store, "r3").await);
    // Retries do not extend the grace: it runs from the first use.
    assert_eq!(
        rotate("r1", T + 20, "r4").await,
        RefreshRotation::RotatedAgain
    );
    assert!(!unused(&store, "r3").await && unused(&store, "r4").await);
    assert_eq!(
        rotate("r1", T + GRACE + 1, "r5").await,
        RefreshRotation::Reused
    );
    assert!(
        store
            .find_grant("g")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some(),
        "reuse after the grace revokes the family"
    );
    assert!(store.find_refresh("r5").await.unwrap().is_none());

    // Without a grace, a second use is reuse at once.
    store.insert_grant(&grant("h")).await.unwrap();
    store.insert_refresh(&refresh("s1", "h")).await.unwrap();
    let strict = |old: &'static str, new: &'static str| {
        let store = store.clone();
        async move {
            store
                .rotate_refresh_within(old, T + 1, &refresh(new, "h"), 0)
                .await
                .unwrap()
        }
    };
    assert_eq!(strict("s1", "s2").await, RefreshRotation::Rotated);
    assert_eq!(strict("s1", "s3").await, RefreshRotation::Reused);
}

/// Issue 17 (group commit): 64 families rotate at the same moment, most of them in shared
/// transactions, while one token is presented eight times at once and one of a revoked family
/// once. Every family rotates exactly once to its own new token; the token presented eight times
/// is spent once and the seven others are reuse, which revokes its family (strict rotation);
/// the revoked family's token is not spent.
async fn grouped_rotations(store: Store) {
    for i in 0..64 {
        store.insert_grant(&grant(&format!("g{i}"))).await.unwrap();
        store
            .insert_refresh(&refresh(&format!("old{i}"), &format!("g{i}")))
            .await
            .unwrap();
    }
    store.insert_grant(&grant("dup")).await.unwrap();
    store
        .insert_refresh(&refresh("dup-old", "dup"))
        .await
        .unwrap();
    store.insert_grant(&grant("gone")).await.unwrap();
    store
        .insert_refresh(&refresh("gone-old", "gone"))
        .await
        .unwrap();
    store.revoke_grant("gone", T).await.unwrap();
    let mut tasks = Vec::new();
    let jobs = (0..64)
        .map(|i| (format!("old{i}"), format!("new{i}"), format!("g{i}")))
        .chain((0..8).map(|i| ("dup-old".into(), format!("dup-new{i}"), "dup".into())))
        .chain(std::iter::once((
            "gone-old".into(),
            "gone-new".into(),
            "gone".into(),
        )));
    for (old, new, family) in jobs {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let rotation = store
                .rotate_refresh_within(&old, T + 1, &refresh(&new, &family), 0)
                .await
                .unwrap();
            (old, new, rotation)
        }));
    }
    let mut dup_rotated = Vec::new();
    for t in tasks {
        let (old, new, rotation) = t.await.unwrap();
        match old.as_str() {
            "dup-old" if rotation == RefreshRotation::Rotated => dup_rotated.push(new),
            "dup-old" => assert_eq!(rotation, RefreshRotation::Reused),
            "gone-old" => assert_eq!(rotation, RefreshRotation::Inactive),
            _ => {
                assert_eq!(rotation, RefreshRotation::Rotated, "{old}");
                assert!(!unused(&store, &old).await, "{old} is spent");
                assert!(unused(&store, &new).await, "{new} is stored, unused");
            }
        }
    }
    assert_eq!(
        dup_rotated.len(),
        1,
        "the token presented eight times rotated once"
    );
    assert!(
        store
            .find_grant("dup")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some(),
        "its reuse revoked the family"
    );
    assert!(
        unused(&store, "gone-old").await,
        "a revoked family's token is not spent"
    );
    assert!(store.find_refresh("gone-new").await.unwrap().is_none());
}

// ISSUE-15: refresh rotation grace, on the embedded backend…
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_refresh_grace() {
    let open = || async {
        Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 4)
            .await
            .unwrap()
    };
    racing_retries(open().await).await;
    grace_bounds(open().await).await;
    grouped_rotations(open().await).await;
}

// …and on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_refresh_grace() {
    let open = || async {
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 4)
            .await
            .unwrap()
    };
    racing_retries(open().await).await;
    grace_bounds(open().await).await;
    grouped_rotations(open().await).await;
}
