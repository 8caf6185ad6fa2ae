//! The second step: enrolment apart from verification (REQ-2FA-2, -3, -4, -5).

use crate::support::{World, BRAND, PASSWORD};
use sekisho_app::pipeline::{self, LoginContext, LoginOutcome, SignedIn, Source};
use sekisho_app::second_step::{self, CodeOutcome, Ended, Step, Wrong};
use sekisho_app::session::SessionToken;
use sekisho_app::signin::{self, PasswordLogin};
use sekisho_core::login::Continuation;
use sekisho_core::model::TwoFactorSetting;
use sekisho_core::oauth::{Amr, Lang};
use sekisho_core::two_factor::{ChallengeMode, ChallengeStage, SecondFactorMethod};
use sekisho_crypto::second_factor::totp_code;

/// A password login of `email` in a fresh browser, up to the pipeline's outcome.
async fn password_login(w: &World, email: &str) -> LoginOutcome {
    let session = w.browser().await;
    let PasswordLogin::Success(user) =
        signin::password_login(&w.app, &w.brand, email, PASSWORD, Lang::Ja)
            .await
            .unwrap()
    else {
        panic!("the password is right")
    };
    let ctx = LoginContext {
        entry: sekisho_core::line::Entry::Internet,
        brand: &w.brand,
        lang: Lang::Ja,
        session: &session,
        browser: None,
        then: Continuation::Direct,
    };
    pipeline::complete(&w.app, &ctx, &user, Source::Password)
        .await
        .unwrap()
}

/// The second step of the session the browser now holds.
async fn step(w: &World, value: &SessionToken) -> Step {
    let session = sekisho_app::session::find(&w.app, BRAND, value.expose())
        .await
        .unwrap()
        .expect("the rotated session");
    second_step::load(&w.app, session)
        .await
        .unwrap()
        .expect("a step")
}

async fn amr_of(w: &World, done: &SignedIn) -> Vec<Amr> {
    sekisho_app::session::find(&w.app, BRAND, done.session.expose())
        .await
        .unwrap()
        .expect("signed in")
        .amr
}

// REQ-2FA-3, REQ-2FA-4: the first login enrols an authenticator app (the code proves the new
// secret), shows the recovery code once, and signs in with two factors when it is saved.
// REQ-2FA-2: a later login verifies the registered factor; a TOTP code is accepted once.
#[tokio::test]
async fn enrol_then_verify_an_authenticator() {
    let w = World::new().await;
    w.contract(BRAND, "a@example.jp", TwoFactorSetting::Enabled)
        .await;
    let LoginOutcome::SecondStep { session } = password_login(&w, "a@example.jp").await else {
        panic!("2FA is on: a second step")
    };
    let mut s = step(&w, &session).await;
    assert_eq!(s.challenge.mode, ChallengeMode::Enrol);
    // A code before a method is ready is not taken (SMS enrolment needs a number first).
    assert!(matches!(
        second_step::enrol_with_code(&w.app, &w.brand, Lang::Ja, &mut s, "000000", false)
            .await
            .unwrap(),
        CodeOutcome::NotNow
    ));
    second_step::choose_method(&w.app, &mut s, SecondFactorMethod::Totp)
        .await
        .unwrap();
    let secret = s.challenge.totp_secret.clone().expect("a new secret");
    assert!(!format!("{:?}", s.challenge).contains(secret.expose().as_str()));
    // Verification is not enrolment: the verify path refuses an enrolment step.
    assert!(matches!(
        second_step::verify_code(&w.app, &w.brand, Lang::Ja, &mut s, "000000", false)
            .await
            .unwrap(),
        CodeOutcome::NotNow
    ));
    let code = totp_code(secret.expose(), w.clock_now()).unwrap();
    let CodeOutcome::Enrolled { recovery_code } =
        second_step::enrol_with_code(&w.app, &w.brand, Lang::Ja, &mut s, &code, false)
            .await
            .unwrap()
    else {
        panic!("enrolled")
    };
    assert!(!recovery_code.expose().is_empty());
    assert_eq!(s.challenge.stage, ChallengeStage::Recovery);
    let done = second_step::recovery_code_saved(&w.app, &w.brand, &s)
        .await
        .unwrap()
        .expect("signed in");
    assert_eq!(amr_of(&w, &done).await, vec![Amr::Pwd, Amr::Otp]);

    // A later login, a new browser: verification.
    w.clock.advance(60);
    let LoginOutcome::SecondStep { session } = password_login(&w, "a@example.jp").await else {
        panic!("a new browser verifies")
    };
    let mut s = step(&w, &session).await;
    assert_eq!(s.challenge.mode, ChallengeMode::Verify);
    let code = totp_code(secret.expose(), w.clock_now()).unwrap();
    let CodeOutcome::Verified(done) =
        second_step::verify_code(&w.app, &w.brand, Lang::Ja, &mut s, &code, true)
            .await
            .unwrap()
    else {
        panic!("verified")
    };
    assert!(done.remembered_browser.is_some(), "remember was ticked");
    assert_eq!(amr_of(&w, &done).await, vec![Amr::Pwd, Amr::Otp]);
    // The same code again, in another login: used.
    let LoginOutcome::SecondStep { session } = password_login(&w, "a@example.jp").await else {
        panic!("a new browser verifies")
    };
    let mut s = step(&w, &session).await;
    assert!(matches!(
        second_step::verify_code(&w.app, &w.brand, Lang::Ja, &mut s, &code, false)
            .await
            .unwrap(),
        CodeOutcome::Wrong(Wrong::Used)
    ));
}

// REQ-2FA-5: five wrong codes end the step; the recovery code then proves the user once and is
// replaced.
#[tokio::test]
async fn wrong_codes_end_the_step_and_the_recovery_code_works_once() {
    let w = World::new().await;
    w.contract(BRAND, "a@example.jp", TwoFactorSetting::Enabled)
        .await;
    let LoginOutcome::SecondStep { session } = password_login(&w, "a@example.jp").await else {
        panic!("second step")
    };
    let mut s = step(&w, &session).await;
    second_step::choose_method(&w.app, &mut s, SecondFactorMethod::Totp)
        .await
        .unwrap();
    let secret = s.challenge.totp_secret.clone().unwrap();
    let code = totp_code(secret.expose(), w.clock_now()).unwrap();
    let CodeOutcome::Enrolled { recovery_code } =
        second_step::enrol_with_code(&w.app, &w.brand, Lang::Ja, &mut s, &code, false)
            .await
            .unwrap()
    else {
        panic!("enrolled")
    };
    second_step::recovery_code_saved(&w.app, &w.brand, &s)
        .await
        .unwrap()
        .unwrap();

    let LoginOutcome::SecondStep { session } = password_login(&w, "a@example.jp").await else {
        panic!("second step")
    };
    let mut s = step(&w, &session).await;
    for i in 1..=5 {
        let got = second_step::verify_code(&w.app, &w.brand, Lang::Ja, &mut s, "000000", false)
            .await
            .unwrap();
        match i {
            5 => assert!(
                matches!(got, CodeOutcome::Ended(Ended::TooManyAttempts)),
                "{got:?}"
            ),
            _ => assert!(
                matches!(got, CodeOutcome::Wrong(Wrong::Code)),
                "{i}: {got:?}"
            ),
        }
    }
    let LoginOutcome::SecondStep { session } = password_login(&w, "a@example.jp").await else {
        panic!("second step")
    };
    let mut s = step(&w, &session).await;
    let CodeOutcome::Enrolled {
        recovery_code: replacement,
    } = second_step::verify_recovery_code(
        &w.app,
        &w.brand,
        Lang::Ja,
        &mut s,
        recovery_code.expose(),
    )
    .await
    .unwrap()
    else {
        panic!("the recovery code proves the user")
    };
    assert_ne!(replacement.expose(), recovery_code.expose());
    let done = second_step::recovery_code_saved(&w.app, &w.brand, &s)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(amr_of(&w, &done).await, vec![Amr::Pwd, Amr::Otp]);
    // The old recovery code is spent.
    let LoginOutcome::SecondStep { session } = password_login(&w, "a@example.jp").await else {
        panic!("second step")
    };
    let mut s = step(&w, &session).await;
    assert!(matches!(
        second_step::verify_recovery_code(
            &w.app,
            &w.brand,
            Lang::Ja,
            &mut s,
            recovery_code.expose()
        )
        .await
        .unwrap(),
        CodeOutcome::Wrong(Wrong::RecoveryCode)
    ));
}
