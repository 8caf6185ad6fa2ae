//! One end for every identity source: the same refusal whichever source authenticated
//! (issue 12's table). REQ-USER-1 (an ended contract or a disabled user gets no login),
//! REQ-OP-4 and REQ-2FA-1 (a client's `acr_values` that the login method cannot meet).

use crate::support::{World, BRAND, PASSWORD};
use sekisho_app::federation;
use sekisho_app::pipeline::{self, LoginContext, LoginOutcome, Refusal, Resume, Source};
use sekisho_app::signin::{self, PasswordLogin};
use sekisho_app::tickets;
use sekisho_core::login::Continuation;
use sekisho_core::model::{ContractState, TwoFactorSetting, User, UserStatus};
use sekisho_core::oauth::{Amr, Lang, ACR_MULTI_FACTOR};
use sekisho_core::tickets::TicketPurpose;
use sekisho_crypto::tokens::hash_token;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refuse {
    ContractEnded,
    UserDisabled,
    /// The client requires two factors; the user's login method (an upstream account) has none.
    Unmet,
}

/// What the RP or the user sees, reduced to what must be equal across sources.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    NoServicePage,
    RpError(String),
    Other(String),
}

fn seen(outcome: LoginOutcome) -> Seen {
    match outcome {
        LoginOutcome::Refused(Refusal::NoService) => Seen::NoServicePage,
        LoginOutcome::Refused(Refusal::Unmet {
            rp_error_url: Some(url),
        }) => {
            let url = url::Url::parse(&url).unwrap();
            let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
            Seen::RpError(format!(
                "{} state={}",
                q.get("error").cloned().unwrap_or_default(),
                q.get("state").cloned().unwrap_or_default()
            ))
        }
        other => Seen::Other(format!("{other:?}")),
    }
}

/// A user of a contract with 2FA off: a password user, or one bound to Google (`upstream`).
async fn user(w: &World, n: usize, upstream: bool) -> User {
    let owner = w
        .contract(
            BRAND,
            &format!("owner{n}@example.jp"),
            TwoFactorSetting::Disabled,
        )
        .await;
    let user = w
        .colleague(&owner, &format!("u{n}@example.jp"), UserStatus::Active)
        .await;
    if upstream {
        let t = tickets::issue(&w.app, &user, TicketPurpose::LoginMethodChange, &json!({}))
            .await
            .unwrap()
            .unwrap()
            .expose()
            .clone();
        let google = w.app.upstream("google").unwrap();
        federation::bind(
            &w.app,
            &w.brand,
            federation::login_method(google),
            &w.google(&format!("g{n}")),
            &hash_token(&t),
        )
        .await
        .unwrap();
    }
    w.app.op.store.find_user(&user.id).await.unwrap().unwrap()
}

async fn refuse(w: &World, user: &User, how: Refuse) {
    let store = &w.app.op.store;
    match how {
        Refuse::ContractEnded => store
            .set_contract_state(&user.contract_id, ContractState::Cancelled, 0)
            .await
            .unwrap(),
        Refuse::UserDisabled => store
            .set_user_status(&user.id, UserStatus::Disabled, 0)
            .await
            .unwrap(),
        Refuse::Unmet => {}
    }
}

/// Logs `user` in by `source` for a request (with `acr_values` asking two factors when
/// `two_factors`), after `refuse` took effect; what the pipeline answered.
async fn attempt(w: &World, n: usize, source: Source, how: Refuse) -> Seen {
    let upstream = matches!(source, Source::Upstream) || how == Refuse::Unmet;
    let user = user(w, n, upstream).await;
    let extra: &[(&str, &str)] = match how {
        Refuse::Unmet => &[("acr_values", ACR_MULTI_FACTOR)],
        _ => &[],
    };
    match source {
        Source::StepUp => {
            // Signed in with one factor before the refusal; the client then requires two.
            let first = if upstream { Amr::Fed } else { Amr::Pwd };
            let session = w.signed_in(&user, &[first]).await;
            refuse(w, &user, how).await;
            let ar = w
                .request(&session, &[("acr_values", ACR_MULTI_FACTOR)])
                .await;
            let pending = sekisho_oidc::authorize::find(&w.app.op, BRAND, &ar, &session.sid)
                .await
                .unwrap()
                .unwrap();
            let ctx = LoginContext {
                entry: sekisho_core::line::Entry::Internet,
                brand: &w.brand,
                lang: Lang::Ja,
                session: &session,
                browser: None,
                then: Continuation::Authorize(ar),
            };
            match pipeline::resume(&w.app, &ctx, &pending).await.unwrap() {
                Resume::Login(outcome) => seen(outcome),
                other => Seen::Other(format!("{other:?}")),
            }
        }
        // AD (SAML) logins end in the same `complete`; they are driven end to end with the real
        // IdP in tests/e2e/active_directory.rs, not in this matrix.
        Source::Saml => panic!("not in this matrix"),
        Source::Password | Source::Upstream => {
            refuse(w, &user, how).await;
            let session = w.browser().await;
            let ar = w.request(&session, extra).await;
            let ctx = LoginContext {
                entry: sekisho_core::line::Entry::Internet,
                brand: &w.brand,
                lang: Lang::Ja,
                session: &session,
                browser: None,
                then: Continuation::Authorize(ar),
            };
            let identified = match source {
                Source::Password => {
                    match signin::password_login(
                        &w.app,
                        &w.brand,
                        user.email.as_str(),
                        PASSWORD,
                        Lang::Ja,
                    )
                    .await
                    .unwrap()
                    {
                        PasswordLogin::Success(u) => *u,
                        other => return Seen::Other(format!("{other:?}")),
                    }
                }
                _ => {
                    let google = w.app.upstream("google").unwrap();
                    federation::bound_user(
                        &w.app,
                        &w.brand,
                        federation::login_method(google),
                        &w.google(&format!("g{n}")),
                    )
                    .await
                    .unwrap()
                    .expect("bound")
                }
            };
            seen(
                pipeline::complete(&w.app, &ctx, &identified, source)
                    .await
                    .unwrap(),
            )
        }
    }
}

// REQ-USER-1, REQ-OP-4, REQ-2FA-1: an ended contract, a disabled user and a two-factor
// requirement the login method cannot meet are refused the same way by every identity source.
#[tokio::test]
async fn every_source_is_refused_alike() {
    let w = World::new().await;
    let unmet = Seen::RpError("unmet_authentication_requirements state=st".into());
    // (refusal, sources, what every one of them must see). A password user can always enrol a
    // second factor, so "unmet" has no password row.
    let table = [
        (
            Refuse::ContractEnded,
            vec![Source::Password, Source::Upstream, Source::StepUp],
            Seen::NoServicePage,
        ),
        (
            Refuse::UserDisabled,
            vec![Source::Password, Source::Upstream, Source::StepUp],
            Seen::NoServicePage,
        ),
        (Refuse::Unmet, vec![Source::Upstream, Source::StepUp], unmet),
    ];
    let mut n = 0;
    for (how, sources, want) in table {
        for source in sources {
            n += 1;
            let got = attempt(&w, n, source, how).await;
            assert_eq!(got, want, "{how:?} by {source:?}");
        }
    }
}
