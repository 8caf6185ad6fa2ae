//! Issue 12: every identity source ends a login in the same place, so a refusal looks the same
//! whichever source authenticated the user: a password on the login page, an upstream account
//! (Google, a real oidc-provider on loopback), or a step-up (a browser signed in with one factor
//! comes back with `acr_values=urn:sekisho:acr:2fa`, and the server runs the checks that follow
//! an authentication again).
//!
//! One table per refusal: rows (source → expected outcome), each row with its own contract and
//! user in one server, so that no row's refusal or session reaches another. The loop reports
//! every source that answered differently.

use crate::support::authorize_url;
use crate::upstream::href_of;
use sekisho_core::model::{ContractState, Plan, Role, TwoFactorSetting, UserStatus};
use sekisho_core::oauth::ACR_MULTI_FACTOR;
use sekisho_e2e::{query, Browser, Hop, TestApp, BRAND, PASSWORD, REDIRECT_URI};
use sekisho_testkit::Profile;

/// What the password login shows today for a user who may not use the service
/// (tests/e2e/contract_state.rs), with status 403.
const CONTRACT_ENDED: &str =
    "ご契約が解約されているか、無料トライアルの期間が終了しているため、ログインできません。";
const UNMET: &str = "unmet_authentication_requirements";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Source {
    /// Email and password on the login page.
    Password,
    /// The Google button on the login page.
    Upstream,
    /// Signed in by password (one factor, the contract's 2FA off), then a request that requires
    /// two factors.
    StepUpAfterPassword,
    /// Signed in with Google (one factor), then a request that requires two factors.
    StepUpAfterUpstream,
}

impl Source {
    fn upstream(self) -> bool {
        matches!(self, Source::Upstream | Source::StepUpAfterUpstream)
    }

    fn step_up(self) -> bool {
        matches!(
            self,
            Source::StepUpAfterPassword | Source::StepUpAfterUpstream
        )
    }
}

#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// The user's contract is cancelled.
    ContractEnded,
    /// The user is disabled by the contractor or an admin.
    UserDisabled,
    /// The request requires two factors and the user's login method cannot give a second one.
    UnmetTwoFactors,
}

/// Where the browser ended, as the user and the RP see it.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    /// The 403 page that says the contract ended.
    ContractEndedPage,
    /// Back at the RP's redirect_uri with this error and state.
    RpError {
        error: String,
        state: Option<String>,
    },
    /// Back at the RP with a code.
    Code,
    /// The login page.
    LoginPage,
    /// The step-up request found the browser signed out (the login page); the user logged in
    /// there again with the same source, and this followed.
    AfterNewLogin(Box<Outcome>),
    /// Anything else (status, URL and the page's title and first paragraph, or the URL left for).
    Elsewhere(String),
}

fn contract_ended() -> Outcome {
    Outcome::ContractEndedPage
}

fn unmet() -> Outcome {
    Outcome::RpError {
        error: UNMET.into(),
        state: Some("st".into()),
    }
}

// REQ-USER-1 (a cancelled contract's users cannot log in, issue 6) REQ-LOGIN-2 REQ-LOGIN-3
// REQ-OP-2 (acr_values step-up): a cancelled contract gets the same 403 page from every source.
#[tokio::test]
async fn a_cancelled_contract_is_refused_alike_by_every_source() {
    table(
        Refusal::ContractEnded,
        &[
            (Source::Password, contract_ended()),
            (Source::Upstream, contract_ended()),
            // Cancelling ends the users' sessions (issue 18: their RPs are told by back-channel
            // logout), as disabling does: the step-up asks for a new login, refused alike.
            (
                Source::StepUpAfterPassword,
                Outcome::AfterNewLogin(Box::new(contract_ended())),
            ),
            (
                Source::StepUpAfterUpstream,
                Outcome::AfterNewLogin(Box::new(contract_ended())),
            ),
        ],
    )
    .await;
}

// REQ-USER-1 (a disabled user cannot log in, issue 6) REQ-LOGIN-2 REQ-LOGIN-3 REQ-OP-2: a disabled
// user gets the same 403 page from every source. Disabling ends the user's browser sessions
// (`Store::set_user_status`), so no signed-in browser is left to step up: the step-up request
// asks for a new login, and that login (by the same source) ends on the same page.
#[tokio::test]
async fn a_disabled_user_is_refused_alike_by_every_source() {
    table(
        Refusal::UserDisabled,
        &[
            (Source::Password, contract_ended()),
            (Source::Upstream, contract_ended()),
            (
                Source::StepUpAfterPassword,
                Outcome::AfterNewLogin(Box::new(contract_ended())),
            ),
            (
                Source::StepUpAfterUpstream,
                Outcome::AfterNewLogin(Box::new(contract_ended())),
            ),
        ],
    )
    .await;
}

// REQ-OP-2 REQ-OP-4 (acr_values: a client that requires two factors) REQ-2FA-1 (only password
// users have a second factor): a user whose login method cannot give a second factor is sent back
// to the RP with `unmet_authentication_requirements` and the request's state, whether the upstream
// login itself carried the requirement or a signed-in upstream session steps up. A password user
// is no row: they can always enrol a second factor, so the requirement is never unmet for them
// (the 2FA enrolment follows instead, tests/e2e/two_factor.rs).
#[tokio::test]
async fn an_unmet_two_factor_requirement_is_refused_alike_by_every_source() {
    table(
        Refusal::UnmetTwoFactors,
        &[
            (Source::Upstream, unmet()),
            (Source::StepUpAfterUpstream, unmet()),
        ],
    )
    .await;
}

/// Runs every row of `refusal` in one server (each with its own contract and user) and reports
/// the sources whose outcome differs from the table.
async fn table(refusal: Refusal, rows: &[(Source, Outcome)]) {
    let app = TestApp::spawn_with_upstreams(&[Profile::Google]).await;
    let seed = app.seed().await;
    let mut differing = Vec::new();
    for (row, (source, expected)) in rows.iter().enumerate() {
        let user = account(&app, row, *source).await;
        let seen = run(&app, &seed.client.client_id, refusal, *source, &user).await;
        if &seen != expected {
            differing.push(format!("{source:?}: expected {expected:?}, got {seen:?}"));
        }
    }
    assert!(
        differing.is_empty(),
        "{refusal:?}: these sources answered differently:\n  {}",
        differing.join("\n  ")
    );
}

/// A row's user: alone in a fresh contract of brand VX5 (2FA off, so a password login is one
/// factor and can step up), bound to a Google account when the source is upstream.
struct Account {
    contract_id: String,
    user_id: String,
    email: String,
    sub: String,
}

async fn account(app: &TestApp, row: usize, source: Source) -> Account {
    let contract = sekisho::admin::create_contract(
        &app.op,
        BRAND,
        &format!("行{row}株式会社"),
        &format!("contractor{row}@example.jp"),
        PASSWORD,
        Plan::Basic,
    )
    .await
    .unwrap();
    app.op
        .store
        .set_contract_two_factor(&contract.contract_id, TwoFactorSetting::Disabled)
        .await
        .unwrap();
    let email = format!("user{row}@example.jp");
    let user_id = sekisho::admin::add_user(
        &app.op,
        &contract.contract_id,
        &email,
        PASSWORD,
        Role::User,
        "利用者",
    )
    .await
    .unwrap();
    let sub = format!("user{row}-google");
    if source.upstream() {
        bind_google(app, &user_id, &sub).await;
    }
    Account {
        contract_id: contract.contract_id,
        user_id,
        email,
        sub,
    }
}

/// Binds the Google account `sub` by the login-method-change link, as the user would.
async fn bind_google(app: &TestApp, user_id: &str, sub: &str) {
    let link = sekisho::admin::login_method_change_link(&app.services, user_id)
        .await
        .unwrap();
    let browser = Browser::new();
    let choose = match browser.follow(&app.base, &link).await.unwrap() {
        Hop::Page { body, .. } => body,
        Hop::LeftOp(url) => panic!("the login-method link went to {url}"),
    };
    let start = crate::upstream::bind_start(app, &browser, &choose, "Googleアカウント").await;
    let back = browser
        .upstream_login(&start, sub, &app.base)
        .await
        .unwrap();
    let done = browser.follow(&app.base, &back).await.unwrap();
    assert!(
        matches!(&done, Hop::Page { body, .. } if body.contains("ログイン方法を変更しました")),
        "binding {sub}: {done:?}"
    );
}

/// Makes the refusal true for the row's user. The unmet requirement needs nothing here: it is
/// the request's `acr_values` meeting the user's login method.
async fn refuse(app: &TestApp, refusal: Refusal, user: &Account) {
    match refusal {
        Refusal::ContractEnded => app
            .op
            .store
            .set_contract_state(&user.contract_id, ContractState::Cancelled, 0)
            .await
            .unwrap(),
        Refusal::UserDisabled => app
            .op
            .store
            .set_user_status(&user.user_id, UserStatus::Disabled, 0)
            .await
            .unwrap(),
        Refusal::UnmetTwoFactors => {}
    }
}

/// One row: the source authenticates the user under the refusal; what the browser ends on.
async fn run(
    app: &TestApp,
    client_id: &str,
    refusal: Refusal,
    source: Source,
    user: &Account,
) -> Outcome {
    let requires_two_factors = [("acr_values", ACR_MULTI_FACTOR)];
    let browser = Browser::new();
    if !source.step_up() {
        refuse(app, refusal, user).await;
        let extra: &[(&str, &str)] = match refusal {
            Refusal::UnmetTwoFactors => &requires_two_factors,
            _ => &[],
        };
        let hop = log_in(
            app,
            &browser,
            &authorize_url(app, client_id, extra),
            source,
            user,
        )
        .await;
        return outcome(hop);
    }
    // Signed in with one factor while nothing stands in the way: the RP gets a code.
    let first = outcome(
        log_in(
            app,
            &browser,
            &authorize_url(app, client_id, &[]),
            source,
            user,
        )
        .await,
    );
    assert_eq!(
        first,
        Outcome::Code,
        "{refusal:?} {source:?}: the one-factor login before the refusal"
    );
    refuse(app, refusal, user).await;
    let hop = browser
        .follow(
            &app.base,
            &authorize_url(app, client_id, &requires_two_factors),
        )
        .await
        .unwrap();
    match hop {
        Hop::Page { url, body, .. } if is_login_page(&url, &body) => {
            Outcome::AfterNewLogin(Box::new(outcome(
                first_factor(app, &browser, &body, source, user).await,
            )))
        }
        other => outcome(other),
    }
}

/// Opens `authorize` and, on the login page, authenticates with the source's first factor.
async fn log_in(
    app: &TestApp,
    browser: &Browser,
    authorize: &str,
    source: Source,
    user: &Account,
) -> Hop {
    match browser.follow(&app.base, authorize).await.unwrap() {
        Hop::Page { url, body, .. } if is_login_page(&url, &body) => {
            first_factor(app, browser, &body, source, user).await
        }
        other => panic!("{source:?}: no login page at {authorize}: {other:?}"),
    }
}

/// The source's first factor on the login page `login`; what followed.
async fn first_factor(
    app: &TestApp,
    browser: &Browser,
    login: &str,
    source: Source,
    user: &Account,
) -> Hop {
    if source.upstream() {
        let start = format!(
            "{}{}",
            app.base,
            href_of(login, "Googleアカウントでログイン")
        );
        let back = browser
            .upstream_login(&start, &user.sub, &app.base)
            .await
            .unwrap();
        browser.follow(&app.base, &back).await.unwrap()
    } else {
        browser
            .submit_login(&app.base, login, &user.email, PASSWORD)
            .await
            .unwrap()
    }
}

fn is_login_page(url: &str, body: &str) -> bool {
    url.contains(&format!("/{BRAND}/login")) && body.contains("name=\"password\"")
}

fn outcome(hop: Hop) -> Outcome {
    match hop {
        Hop::LeftOp(url) if url.as_str().starts_with(REDIRECT_URI) => {
            let q = query(&url);
            match q.get("error") {
                Some(error) => Outcome::RpError {
                    error: error.clone(),
                    state: q.get("state").cloned(),
                },
                None if q.contains_key("code") => Outcome::Code,
                None => Outcome::Elsewhere(url.to_string()),
            }
        }
        Hop::LeftOp(url) => Outcome::Elsewhere(url.to_string()),
        Hop::Page { url, status, body } => {
            if status == 403 && body.contains(CONTRACT_ENDED) {
                Outcome::ContractEndedPage
            } else if is_login_page(&url, &body) {
                Outcome::LoginPage
            } else {
                Outcome::Elsewhere(format!("{status} at {url}: {}", gist(&body)))
            }
        }
    }
}

/// The page's title and first paragraph.
fn gist(body: &str) -> String {
    let text = |tag: &str| {
        body.find(&format!("<{tag}"))
            .and_then(|at| {
                let rest = &body[at..];
                let start = rest.find('>')? + 1;
                let end = rest.find(&format!("</{tag}>"))?;
                Some(rest[start..end].to_owned())
            })
            .unwrap_or_default()
    };
    format!("「{}」 {}", text("h1"), text("p"))
}
