//! One ticket module for every mailed link (REQ-MAIL-2, REQ-USER-7).

use crate::support::{World, BRAND, OTHER_BRAND};
use sekisho_app::tickets::{self, OtherChangePending};
use sekisho_core::model::TwoFactorSetting;
use sekisho_core::tickets::{TicketPurpose, TICKET_TTL};
use serde_json::json;

// REQ-MAIL-2: a ticket opens only on its own brand's page of its own purpose, within 14 days,
// once; a refused presentation spends nothing.
#[tokio::test]
async fn a_ticket_opens_only_for_its_brand_and_purpose() {
    let w = World::new().await;
    let user = w
        .contract(BRAND, "a@example.jp", TwoFactorSetting::Disabled)
        .await;
    for purpose in TicketPurpose::ALL.iter().copied() {
        let token = tickets::issue(&w.app, &user, purpose, &json!({}))
            .await
            .unwrap()
            .unwrap()
            .expose()
            .clone();
        assert!(
            tickets::open(&w.app, OTHER_BRAND, purpose, &token)
                .await
                .unwrap()
                .is_none(),
            "{purpose} on the other brand"
        );
        assert!(tickets::spend(&w.app, OTHER_BRAND, purpose, &token)
            .await
            .unwrap()
            .is_none());
        for other in TicketPurpose::ALL.iter().copied().filter(|p| *p != purpose) {
            assert!(
                tickets::open(&w.app, BRAND, other, &token)
                    .await
                    .unwrap()
                    .is_none(),
                "{purpose} as {other}"
            );
            assert!(tickets::spend(&w.app, BRAND, other, &token)
                .await
                .unwrap()
                .is_none());
        }
        // Still live for its own page, then spent once.
        let (t, u) = tickets::open(&w.app, BRAND, purpose, &token)
            .await
            .unwrap()
            .expect("live on its own page");
        assert_eq!(
            (t.purpose.as_str(), u.id.as_str()),
            (purpose.as_str(), user.id.as_str())
        );
        assert!(tickets::spend(&w.app, BRAND, purpose, &token)
            .await
            .unwrap()
            .is_some());
        assert!(tickets::spend(&w.app, BRAND, purpose, &token)
            .await
            .unwrap()
            .is_none());
        assert!(!tickets::link(
            &w.app,
            BRAND,
            purpose,
            &sekisho_core::secret::Secret::new(token.clone())
        )
        .contains(&t.token_hash));
    }
    // Expired after 14 days.
    let token = tickets::issue(&w.app, &user, TicketPurpose::Unlock, &json!({}))
        .await
        .unwrap()
        .unwrap();
    w.clock.advance(TICKET_TTL);
    assert!(
        tickets::open(&w.app, BRAND, TicketPurpose::Unlock, token.expose())
            .await
            .unwrap()
            .is_none()
    );
}

// REQ-USER-7: a login-method change and an email change are never pending together, whoever
// issues them.
#[tokio::test]
async fn the_two_changes_are_never_pending_together() {
    let w = World::new().await;
    let user = w
        .contract(BRAND, "a@example.jp", TwoFactorSetting::Disabled)
        .await;
    tickets::issue(&w.app, &user, TicketPurpose::LoginMethodChange, &json!({}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        tickets::issue(&w.app, &user, TicketPurpose::EmailChange, &json!({}))
            .await
            .unwrap(),
        Err(OtherChangePending)
    );
    // A newer login-method change replaces the older one; unlock is unaffected.
    let newer = tickets::issue(&w.app, &user, TicketPurpose::LoginMethodChange, &json!({}))
        .await
        .unwrap()
        .unwrap();
    tickets::issue(&w.app, &user, TicketPurpose::Unlock, &json!({}))
        .await
        .unwrap()
        .unwrap();
    // Once the pending change is used, the other may be issued.
    tickets::spend(
        &w.app,
        BRAND,
        TicketPurpose::LoginMethodChange,
        newer.expose(),
    )
    .await
    .unwrap()
    .unwrap();
    tickets::issue(&w.app, &user, TicketPurpose::EmailChange, &json!({}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        tickets::issue(&w.app, &user, TicketPurpose::LoginMethodChange, &json!({}))
            .await
            .unwrap(),
        Err(OtherChangePending)
    );
}
