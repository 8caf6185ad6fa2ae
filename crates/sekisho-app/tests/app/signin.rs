//! Password sign-in, the lock, unlock and reset (REQ-LOGIN-2, REQ-LOCK-1, -2, REQ-PW-3, -4).

use crate::support::{World, BRAND, OTHER_BRAND, PASSWORD};
use sekisho_app::signin::{self, PasswordLogin};
use sekisho_app::tickets;
use sekisho_core::model::TwoFactorSetting;
use sekisho_core::oauth::Lang;
use sekisho_core::tickets::TicketPurpose;
use serde_json::json;

// REQ-LOGIN-2, REQ-LOCK-1: the right password signs in; ten wrong ones lock, and the eleventh
// attempt (even with the right password) is told the account is locked; an unknown address
// looks the same.
#[tokio::test]
async fn ten_wrong_passwords_lock_and_look_alike_for_unknown_addresses() {
    let w = World::new().await;
    let user = w
        .contract(BRAND, "a@example.jp", TwoFactorSetting::Disabled)
        .await;
    let login = |email: &'static str, password: &'static str| {
        let w = &w;
        async move {
            signin::password_login(&w.app, &w.brand, email, password, Lang::Ja)
                .await
                .unwrap()
        }
    };
    assert!(
        matches!(login("a@example.jp", PASSWORD).await, PasswordLogin::Success(u) if u.id == user.id)
    );
    for i in 1..=10 {
        let got = login("a@example.jp", "wrong").await;
        let locked = matches!(got, PasswordLogin::Locked);
        assert_eq!(locked, i == 10, "attempt {i}: {got:?}");
    }
    assert!(matches!(
        login("a@example.jp", PASSWORD).await,
        PasswordLogin::Locked
    ));
    for i in 1..=10 {
        let got = login("nobody@example.jp", "wrong").await;
        assert_eq!(matches!(got, PasswordLogin::Locked), i == 10, "unknown {i}");
    }
    // The lock mailed an unlock link (in the outbox).
    let queued = w
        .app
        .op
        .store
        .pending_ticket_purposes(&user.id, w.clock_now())
        .await
        .unwrap();
    assert!(queued.contains(&"unlock".to_owned()), "{queued:?}");
}

// REQ-LOCK-2: the unlock link unlocks, once, and only on its own brand (refused elsewhere
// without being spent).
#[tokio::test]
async fn unlock_works_once_on_its_brand() {
    let w = World::new().await;
    let user = w
        .contract(BRAND, "a@example.jp", TwoFactorSetting::Disabled)
        .await;
    for _ in 0..10 {
        signin::password_login(&w.app, &w.brand, "a@example.jp", "x", Lang::Ja)
            .await
            .unwrap();
    }
    let token = tickets::issue(&w.app, &user, TicketPurpose::Unlock, &json!({}))
        .await
        .unwrap()
        .unwrap()
        .expose()
        .clone();
    let other = w.app.op.brand(OTHER_BRAND).await.unwrap().unwrap();
    assert!(!signin::unlock(&w.app, &other, &token).await.unwrap());
    assert!(signin::unlock(&w.app, &w.brand, &token).await.unwrap());
    assert!(!signin::unlock(&w.app, &w.brand, &token).await.unwrap());
    let found = w.app.op.store.find_user(&user.id).await.unwrap().unwrap();
    assert_eq!((found.locked_at, found.failed_logins), (None, 0));
}

// REQ-PW-3, REQ-PW-4, REQ-2FA-6: "forgot password" mails a link only to a password user (the
// answer is the same for any address); the reset sets the password, unlocks, and resets 2FA.
#[tokio::test]
async fn a_password_reset_sets_the_password_and_resets_two_factor() {
    let w = World::new().await;
    let user = w
        .contract(BRAND, "a@example.jp", TwoFactorSetting::Enabled)
        .await;
    let email = sekisho_core::email::Email::parse("nobody@example.jp").unwrap();
    signin::request_password_reset(&w.app, &w.brand, &email, Lang::Ja)
        .await
        .unwrap();
    let token = tickets::issue(&w.app, &user, TicketPurpose::PasswordReset, &json!({}))
        .await
        .unwrap()
        .unwrap()
        .expose()
        .clone();
    let other = w.app.op.brand(OTHER_BRAND).await.unwrap().unwrap();
    assert!(
        signin::reset_password(&w.app, &other, &token, "New-password-1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        signin::reset_password(&w.app, &w.brand, &token, "New-password-1")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        signin::reset_password(&w.app, &w.brand, &token, "Other-password-2")
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        signin::password_login(&w.app, &w.brand, "a@example.jp", "New-password-1", Lang::Ja)
            .await
            .unwrap(),
        PasswordLogin::Success(_)
    ));
    assert!(matches!(
        signin::password_login(&w.app, &w.brand, "a@example.jp", PASSWORD, Lang::Ja)
            .await
            .unwrap(),
        PasswordLogin::Failed
    ));
}
