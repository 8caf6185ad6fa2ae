//! Binding an upstream identity (REQ-USER-2, -4, -5) and logging in with it (REQ-LOGIN-3).

use crate::support::{World, BRAND, OTHER_BRAND};
use sekisho_app::federation::{self, CallbackOutcome, Failure};
use sekisho_app::tickets;
use sekisho_core::model::{LoginMethod, TwoFactorSetting, UserStatus};
use sekisho_core::tickets::TicketPurpose;
use sekisho_crypto::tokens::hash_token;
use serde_json::json;

// REQ-USER-2: an invitation's ticket binds the identity by (issuer, subject) and makes the user
// active, once; REQ-LOGIN-3: that identity then finds that user, and another identity nobody.
#[tokio::test]
async fn an_invitation_binds_an_identity_once() {
    let w = World::new().await;
    let owner = w
        .contract(BRAND, "owner@example.jp", TwoFactorSetting::Enabled)
        .await;
    let invited = w
        .colleague(&owner, "new@example.jp", UserStatus::Invited)
        .await;
    let google = w.app.upstream("google").unwrap();
    let token = tickets::issue(&w.app, &invited, TicketPurpose::Invitation, &json!({}))
        .await
        .unwrap()
        .unwrap()
        .expose()
        .clone();
    // The other brand's binding page cannot use it.
    let other = w.app.op.brand(OTHER_BRAND).await.unwrap().unwrap();
    assert!(matches!(
        federation::bind(
            &w.app,
            &other,
            federation::login_method(google),
            &w.google("alice"),
            &hash_token(&token)
        )
        .await
        .unwrap(),
        CallbackOutcome::TicketInvalid
    ));
    assert!(matches!(
        federation::bind(
            &w.app,
            &w.brand,
            federation::login_method(google),
            &w.google("alice"),
            &hash_token(&token)
        )
        .await
        .unwrap(),
        CallbackOutcome::Bound { registration: true }
    ));
    let user = w
        .app
        .op
        .store
        .find_user(&invited.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (user.status, user.login_method),
        (UserStatus::Active, LoginMethod::Google)
    );
    assert!(matches!(
        federation::bind(
            &w.app,
            &w.brand,
            federation::login_method(google),
            &w.google("alice"),
            &hash_token(&token)
        )
        .await
        .unwrap(),
        CallbackOutcome::TicketInvalid
    ));
    let found = federation::bound_user(
        &w.app,
        &w.brand,
        federation::login_method(google),
        &w.google("alice"),
    )
    .await
    .unwrap();
    assert_eq!(found.map(|u| u.id), Some(invited.id.clone()));
    assert!(federation::bound_user(
        &w.app,
        &w.brand,
        federation::login_method(google),
        &w.google("mallory")
    )
    .await
    .unwrap()
    .is_none());
    // An email match alone finds nobody: same address, other subject.
    let mut lookalike = w.google("mallory");
    lookalike.email = Some("new@example.jp".into());
    assert!(federation::bound_user(
        &w.app,
        &w.brand,
        federation::login_method(google),
        &lookalike
    )
    .await
    .unwrap()
    .is_none());
}

// REQ-USER-4: a login-method change binds another identity; one bound to someone else is
// refused. REQ-USER-5: a Facebook account is not switched directly to another Facebook account.
#[tokio::test]
async fn a_login_method_change_binds_but_never_steals_or_switches_facebook() {
    let w = World::new().await;
    let owner = w
        .contract(BRAND, "owner@example.jp", TwoFactorSetting::Enabled)
        .await;
    let a = w
        .colleague(&owner, "a@example.jp", UserStatus::Active)
        .await;
    let b = w
        .colleague(&owner, "b@example.jp", UserStatus::Active)
        .await;
    let google = w.app.upstream("google").unwrap();
    let facebook = w.app.upstream("facebook").unwrap();
    let change = |user| {
        let w = &w;
        async move {
            hash_token(
                &tickets::issue(&w.app, user, TicketPurpose::LoginMethodChange, &json!({}))
                    .await
                    .unwrap()
                    .unwrap()
                    .expose()
                    .clone(),
            )
        }
    };
    let t = change(&a).await;
    assert!(matches!(
        federation::bind(
            &w.app,
            &w.brand,
            federation::login_method(google),
            &w.google("alice"),
            &t
        )
        .await
        .unwrap(),
        CallbackOutcome::Bound {
            registration: false
        }
    ));
    let t = change(&b).await;
    assert!(matches!(
        federation::bind(
            &w.app,
            &w.brand,
            federation::login_method(google),
            &w.google("alice"),
            &t
        )
        .await
        .unwrap(),
        CallbackOutcome::Failed(Failure::BoundElsewhere)
    ));
    // b binds Facebook, then tries another Facebook account directly.
    let fb = |sub: &str| sekisho_upstream::UpstreamIdentity {
        issuer: "https://www.facebook.com".into(),
        subject: sub.into(),
        email: None,
        email_verified: false,
        name: None,
    };
    let t = change(&b).await;
    assert!(matches!(
        federation::bind(
            &w.app,
            &w.brand,
            federation::login_method(facebook),
            &fb("fb1"),
            &t
        )
        .await
        .unwrap(),
        CallbackOutcome::Bound { .. }
    ));
    let t = change(&b).await;
    assert!(matches!(
        federation::bind(
            &w.app,
            &w.brand,
            federation::login_method(facebook),
            &fb("fb2"),
            &t
        )
        .await
        .unwrap(),
        CallbackOutcome::Failed(Failure::SecondFacebook)
    ));
}
