//! Line authentication in the pipeline (REQ-LINE-3, REQ-LINE-4, REQ-LINE-6, REQ-2FA-8): the entry a
//! login came by against the contract's lines and access route. The gateway and its mutual TLS
//! are tested end to end in tests/e2e; here the entry is given as the web layer hands it over.

use crate::support::{World, PASSWORD};
use sekisho_app::pipeline::{self, LoginContext, LoginOutcome, Refusal, Source};
use sekisho_app::signin::{self, PasswordLogin};
use sekisho_core::line::{Entry, LineArea, LineAssertion, LineNumber};
use sekisho_core::login::Continuation;
use sekisho_core::model::{AccessRoute, Role, TwoFactorSetting, User};
use sekisho_core::oauth::{Amr, Lang};

const OUR_LINE: &str = "CAF0123456789";
const THEIR_LINE: &str = "COP98765432";

fn line(number: &str) -> Entry {
    Entry::Line(Some(LineAssertion {
        number: LineNumber::parse(number).unwrap(),
        area: LineArea::East,
    }))
}

/// A contract with 2FA enabled whose line is OUR_LINE, with a second contract owning THEIR_LINE;
/// returns the first contract's contractor and a user of it.
async fn contracts(w: &World) -> (User, User) {
    let contractor = w
        .contract(
            crate::support::BRAND,
            "owner@example.jp",
            TwoFactorSetting::Enabled,
        )
        .await;
    let other = w
        .contract(
            crate::support::BRAND,
            "other@example.jp",
            TwoFactorSetting::Enabled,
        )
        .await;
    let store = &w.app.op.store;
    let now = w.clock_now();
    store
        .add_line(
            &contractor.contract_id,
            &LineNumber::parse(OUR_LINE).unwrap(),
            now,
        )
        .await
        .unwrap();
    store
        .add_line(
            &other.contract_id,
            &LineNumber::parse(THEIR_LINE).unwrap(),
            now,
        )
        .await
        .unwrap();
    let user = w
        .colleague(
            &contractor,
            "staff@example.jp",
            sekisho_core::model::UserStatus::Active,
        )
        .await;
    (contractor, user)
}

/// A password login of `user` by `entry`, continuing to `then`.
async fn login(w: &World, user: &User, entry: Entry, then: Continuation) -> LoginOutcome {
    let session = w.browser().await;
    let PasswordLogin::Success(user) =
        signin::password_login(&w.app, &w.brand, user.email.as_str(), PASSWORD, Lang::Ja)
            .await
            .unwrap()
    else {
        panic!("the password is right")
    };
    let ctx = LoginContext {
        entry,
        brand: &w.brand,
        lang: Lang::Ja,
        session: &session,
        browser: None,
        then,
    };
    pipeline::complete(&w.app, &ctx, &user, Source::Password)
        .await
        .unwrap()
}

async fn amr(w: &World, outcome: LoginOutcome) -> Vec<Amr> {
    let LoginOutcome::SignedIn(done) = outcome else {
        panic!("expected a sign-in, got {outcome:?}")
    };
    sekisho_app::session::find(&w.app, crate::support::BRAND, done.session.expose())
        .await
        .unwrap()
        .expect("signed in")
        .amr
}

// REQ-LINE-6 REQ-2FA-8 REQ-LINE-3: a password login over a registered line of the user's contract
// signs in with no second step although the contract has 2FA on, and amr says `line`.
#[tokio::test]
async fn a_registered_line_replaces_two_step_verification() {
    let w = World::new().await;
    let (_, user) = contracts(&w).await;
    let outcome = login(&w, &user, line(OUR_LINE), Continuation::Direct).await;
    assert_eq!(amr(&w, outcome).await, [Amr::Pwd, Amr::Line]);
    // The same user from the internet gets the second step (the contract has 2FA on).
    let outcome = login(&w, &user, Entry::Internet, Continuation::Direct).await;
    assert!(
        matches!(outcome, LoginOutcome::SecondStep { .. }),
        "{outcome:?}"
    );
}

// REQ-LINE-3: a line not registered to the user's contract (another contract's, an unknown one,
// or no valid assertion at all) gets the line-auth error.
#[tokio::test]
async fn an_unregistered_or_foreign_line_is_refused() {
    let w = World::new().await;
    let (_, user) = contracts(&w).await;
    for entry in [line(THEIR_LINE), line("CAF9999999999"), Entry::Line(None)] {
        let outcome = login(&w, &user, entry.clone(), Continuation::Direct).await;
        assert!(
            matches!(outcome, LoginOutcome::Refused(Refusal::LineNotRegistered)),
            "{entry:?}: {outcome:?}"
        );
    }
}

// REQ-LINE-4: with 回線認証のみ every internet login is refused, the contractor's included, except
// the contractor's own account menu (to switch back, with a second proof); a line login still
// works.
#[tokio::test]
async fn line_only_refuses_the_internet_but_the_contractors_menu() {
    let w = World::new().await;
    let (contractor, user) = contracts(&w).await;
    w.app
        .op
        .store
        .set_contract_access_route(&contractor.contract_id, AccessRoute::LineOnly)
        .await
        .unwrap();
    for (who, then) in [
        (&user, Continuation::Direct),
        (&user, Continuation::Account),
        (&contractor, Continuation::Direct),
    ] {
        let outcome = login(&w, who, Entry::Internet, then.clone()).await;
        assert!(
            matches!(outcome, LoginOutcome::Refused(Refusal::LineOnly)),
            "{:?} {then:?}: {outcome:?}",
            who.role
        );
    }
    assert_eq!(contractor.role, Role::Contractor);
    // The contractor's menu: the password alone is not enough; with no registered factor, a link
    // is mailed as the second proof.
    let recovery = login(&w, &contractor, Entry::Internet, Continuation::Account).await;
    assert!(
        matches!(recovery, LoginOutcome::Refused(Refusal::RecoveryMailed)),
        "{recovery:?}"
    );
    let over_line = login(&w, &user, line(OUR_LINE), Continuation::Direct).await;
    assert_eq!(amr(&w, over_line).await, [Amr::Pwd, Amr::Line]);
}

// REQ-LINE-4: a 回線認証のみ contractor who has a registered factor proves it on the way back from
// the internet (the second step, although 2FA is off for line-only contracts).
#[tokio::test]
async fn the_way_back_asks_the_registered_factor() {
    let w = World::new().await;
    let (contractor, _) = contracts(&w).await;
    let store = &w.app.op.store;
    store
        .set_contract_access_route(&contractor.contract_id, AccessRoute::LineOnly)
        .await
        .unwrap();
    store
        .enrol_second_factor(&sekisho_store::SecondFactorRecord {
            user_id: contractor.id.clone(),
            method: sekisho_core::two_factor::SecondFactorMethod::Totp,
            phone: None,
            totp_secret: Some(sekisho_core::Secret::new(
                "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
            )),
            last_totp_step: None,
            recovery_hash: "unused".into(),
            created_at: w.clock_now(),
        })
        .await
        .unwrap();
    let recovery = login(&w, &contractor, Entry::Internet, Continuation::Account).await;
    let LoginOutcome::SecondStep { session } = recovery else {
        panic!("expected the second step, got {recovery:?}")
    };
    let step = sekisho_app::session::find(&w.app, crate::support::BRAND, session.expose())
        .await
        .unwrap()
        .unwrap();
    let challenge = store
        .find_challenge(&step.sid, w.clock_now())
        .await
        .unwrap()
        .expect("a challenge");
    assert_eq!(
        challenge.reason,
        sekisho_core::two_factor::Ask::LineOnlyRecovery
    );
}

// REQ-LINE-4: 回線認証のみ refuses an internet login whatever the identity source (here an upstream
// account, as the pipeline sees it after the callback).
#[tokio::test]
async fn line_only_refuses_an_upstream_login_from_the_internet() {
    let w = World::new().await;
    let (contractor, user) = contracts(&w).await;
    w.app
        .op
        .store
        .set_contract_access_route(&contractor.contract_id, AccessRoute::LineOnly)
        .await
        .unwrap();
    let session = w.browser().await;
    let ctx = LoginContext {
        entry: Entry::Internet,
        brand: &w.brand,
        lang: Lang::Ja,
        session: &session,
        browser: None,
        then: Continuation::Direct,
    };
    for source in [Source::Upstream, Source::Saml] {
        let outcome = pipeline::complete(&w.app, &ctx, &user, source)
            .await
            .unwrap();
        assert!(
            matches!(outcome, LoginOutcome::Refused(Refusal::LineOnly)),
            "{source:?}: {outcome:?}"
        );
    }
}
