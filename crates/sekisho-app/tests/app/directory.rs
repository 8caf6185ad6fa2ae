//! User management and its rules (REQ-USER-1, -4, -6, -7).

use crate::support::{World, BRAND};
use sekisho_app::directory::{self, Actor, DirectoryError};
use sekisho_core::model::{Role, TwoFactorSetting, UserStatus};
use sekisho_core::oauth::Lang;

// REQ-USER-1: the contractor invites; the invited user waits for registration; the contractor
// is never changed by anyone, and nobody disables or deletes themselves; another contract's
// user is "not found".
#[tokio::test]
async fn who_may_do_what() {
    let w = World::new().await;
    let owner = w
        .contract(BRAND, "owner@example.jp", TwoFactorSetting::Enabled)
        .await;
    let stranger = w
        .contract(BRAND, "other@example.jp", TwoFactorSetting::Enabled)
        .await;
    let actor = Actor::load(&w.app, &owner.id).await.unwrap();
    let invited = directory::invite(
        &w.app,
        &w.brand,
        &actor,
        "new@example.jp",
        "新人",
        Role::Admin,
        Lang::Ja,
    )
    .await
    .unwrap();
    assert_eq!(invited.status, UserStatus::Invited);
    assert_eq!(invited.pending, vec!["invitation".to_owned()]);
    assert!(matches!(
        directory::invite(
            &w.app,
            &w.brand,
            &actor,
            "new@example.jp",
            "",
            Role::User,
            Lang::Ja
        )
        .await,
        Err(DirectoryError::EmailTaken)
    ));
    assert!(matches!(
        directory::invite(
            &w.app,
            &w.brand,
            &actor,
            "x@example.jp",
            "",
            Role::Contractor,
            Lang::Ja
        )
        .await,
        Err(DirectoryError::BadRole)
    ));
    assert!(matches!(
        directory::set_enabled(&w.app, &w.brand, &actor, &owner.id, false).await,
        Err(DirectoryError::NotAllowed)
    ));
    assert!(matches!(
        directory::delete(&w.app, &w.brand, &actor, &owner.id).await,
        Err(DirectoryError::NotAllowed)
    ));
    assert!(matches!(
        directory::get_user(&w.app, &actor, &stranger.id).await,
        Err(DirectoryError::NotFound)
    ));
    // A plain user is no actor.
    let plain = w
        .colleague(&owner, "plain@example.jp", UserStatus::Active)
        .await;
    assert!(matches!(
        Actor::load(&w.app, &plain.id).await,
        Err(DirectoryError::NotAllowed)
    ));
}

// REQ-USER-7, REQ-USER-4, REQ-USER-6: the console cannot mail an email change while a
// login-method change is pending, and the reverse; a change is only for a registered user.
#[tokio::test]
async fn mailed_changes_exclude_each_other() {
    let w = World::new().await;
    let owner = w
        .contract(BRAND, "owner@example.jp", TwoFactorSetting::Enabled)
        .await;
    let actor = Actor::load(&w.app, &owner.id).await.unwrap();
    let user = w
        .colleague(&owner, "a@example.jp", UserStatus::Active)
        .await;
    let view = directory::send_login_method_change(&w.app, &w.brand, &actor, &user.id, Lang::Ja)
        .await
        .unwrap();
    assert_eq!(view.pending, vec!["login_method_change".to_owned()]);
    assert!(matches!(
        directory::send_email_change(
            &w.app,
            &w.brand,
            &actor,
            &user.id,
            "a2@example.jp",
            Lang::Ja
        )
        .await,
        Err(DirectoryError::OtherChangePending)
    ));
    let invited = w
        .colleague(&owner, "i@example.jp", UserStatus::Invited)
        .await;
    assert!(matches!(
        directory::send_login_method_change(&w.app, &w.brand, &actor, &invited.id, Lang::Ja).await,
        Err(DirectoryError::WrongState)
    ));
    let other = w
        .colleague(&owner, "b@example.jp", UserStatus::Active)
        .await;
    directory::send_email_change(
        &w.app,
        &w.brand,
        &actor,
        &other.id,
        "b2@example.jp",
        Lang::Ja,
    )
    .await
    .unwrap();
    assert!(matches!(
        directory::send_login_method_change(&w.app, &w.brand, &actor, &other.id, Lang::Ja).await,
        Err(DirectoryError::OtherChangePending)
    ));
}
