//! Issue 12: a mailed link (ticket) works only on the pages of its own brand and purpose.
//!
//! For every page that reads a ticket (`?ticket=` or a `ticket` form field), one test:
//! 1. the ticket of brand VX5 presented on the same page of brand MDR,
//! 2. each ticket of another purpose (same user, same brand) presented on VX5's page,
//!
//! get the very page an unknown ticket gets there, and change nothing (user, binding, tickets);
//! 3. afterwards the ticket still does its job on its own page of its own brand: a refused
//!    attempt does not spend it (REQ-MAIL-2: single use, 14 days).
//!
//! The tickets are minted through the store for the user under attack, one per purpose, each
//! carrying everything any reader could use (a new address, a staged password hash), so that
//! only the brand and purpose checks can refuse them.

use sekisho_core::email::Email;
use sekisho_core::model::{LoginMethod, Plan, Role, User, UserStatus};
use sekisho_core::tickets::{TicketPurpose, LOCK_AFTER_FAILURES, TICKET_TTL};
use sekisho_crypto::tokens::{hash_token, random_token};
use sekisho_e2e::{hidden_inputs, Browser, Hop, TestApp, BRAND, OTHER_BRAND, PASSWORD};
use sekisho_store::{TicketRecord, UpstreamBinding};
use sekisho_testkit::Profile;
use std::collections::HashMap;

const VICTIM: &str = "hanako@example.jp";
const NEW_EMAIL: &str = "hanako.new@example.jp";
/// The password the ticket's owner chooses on its own page (also staged in every ticket, as the
/// registration's password step would).
const OWN_PASSWORD: &str = "Sakura-Kaika-2026";
/// The password a refused attempt tries to set.
const ATTACKER_PASSWORD: &str = "Kaminari-Mon-1234";
/// The upstream account the owner binds on its own page.
const OWN_SUB: &str = "hanako-google";
/// Every page below answers an unknown ticket with this title (the unlock page with its own text).
const TICKET_INVALID: &str = "URLが無効です";

/// Who the tickets belong to: each reader is attacked with the user it is meant for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Victim {
    /// An active password user.
    Password,
    /// A password user locked by ten wrong passwords.
    Locked,
    /// Invited, not yet registered.
    Invited,
    /// Logs in with Google (bound): the email-change link's page confirms with 登録 (no
    /// password), and a change to a password is visible in the login method.
    Upstream,
}

/// Every route that reads a ticket (crates/sekisho-web/src/routes/mod.rs).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Reader {
    /// `GET /{brand}/unlock?ticket=` (ISSUE-16: shows the button, unlocks nothing)
    Unlock,
    /// `POST /{brand}/unlock` (the button)
    UnlockSubmit,
    /// `GET /{brand}/password/reset?ticket=`
    ResetPage,
    /// `POST /{brand}/password/reset` (ticket field)
    ResetSubmit,
    /// `GET /{brand}/registration?ticket=`
    RegistrationPage,
    /// `POST /{brand}/registration/password`
    RegistrationPassword,
    /// `GET /{brand}/registration/upstream/{name}?ticket=`
    RegistrationUpstream,
    /// `POST /{brand}/registration/confirm`
    RegistrationConfirm,
    /// `GET /{brand}/login-method?ticket=`
    LoginMethodPage,
    /// `POST /{brand}/login-method/password`
    LoginMethodPassword,
    /// `GET /{brand}/email-change?ticket=` (ISSUE-16: shows 登録, changes nothing)
    EmailChangePage,
    /// `POST /{brand}/email-change` without a password (登録 of a user who logs in otherwise)
    EmailChangeConfirm,
    /// `POST /{brand}/email-change`
    EmailChangeSubmit,
    /// `POST /{brand}/upstream/{name}/bind` (ticket field), then the upstream round trip
    UpstreamBind,
}

impl Reader {
    /// The purposes this page accepts; the first is the one used on the own page at the end.
    fn purposes(self) -> &'static [TicketPurpose] {
        use TicketPurpose::*;
        match self {
            Reader::Unlock | Reader::UnlockSubmit => &[Unlock],
            Reader::ResetPage | Reader::ResetSubmit => &[PasswordReset],
            Reader::RegistrationPage
            | Reader::RegistrationPassword
            | Reader::RegistrationUpstream
            | Reader::RegistrationConfirm => &[Invitation],
            Reader::LoginMethodPage | Reader::LoginMethodPassword => &[LoginMethodChange],
            Reader::EmailChangePage | Reader::EmailChangeConfirm | Reader::EmailChangeSubmit => {
                &[EmailChange]
            }
            // Binding is the upstream half of a registration or of a login-method change.
            Reader::UpstreamBind => &[LoginMethodChange, Invitation],
        }
    }

    fn victim(self) -> Victim {
        match self {
            Reader::Unlock | Reader::UnlockSubmit => Victim::Locked,
            Reader::ResetPage
            | Reader::ResetSubmit
            | Reader::EmailChangeSubmit
            | Reader::UpstreamBind => Victim::Password,
            Reader::RegistrationPage
            | Reader::RegistrationPassword
            | Reader::RegistrationUpstream
            | Reader::RegistrationConfirm => Victim::Invited,
            Reader::LoginMethodPage
            | Reader::LoginMethodPassword
            | Reader::EmailChangePage
            | Reader::EmailChangeConfirm => Victim::Upstream,
        }
    }

    /// Whether the page needs a configured upstream (Google).
    fn needs_upstream(self) -> bool {
        matches!(self, Reader::RegistrationUpstream | Reader::UpstreamBind)
    }

    /// What the page says when the ticket did its job.
    fn done(self) -> &'static str {
        match self {
            Reader::Unlock => "ロックを解除する",
            Reader::UnlockSubmit => "アカウントロックを解除しました",
            Reader::ResetPage => "リセットパスワード",
            Reader::ResetSubmit => "リセットパスワードの手続きが完了いたしました。",
            Reader::RegistrationPage => "利用者ログイン登録",
            Reader::RegistrationPassword | Reader::RegistrationUpstream => "申込確認",
            Reader::RegistrationConfirm => "申込完了",
            Reader::LoginMethodPage => "現在ご利用中のログイン方法",
            Reader::LoginMethodPassword => "ログイン方法をメールアドレス・パスワードに変更しました",
            Reader::EmailChangePage => "メールアドレス変更確認",
            Reader::EmailChangeConfirm | Reader::EmailChangeSubmit => {
                "メールアドレスを変更しました"
            }
            Reader::UpstreamBind => "ログイン方法を変更しました",
        }
    }

    /// Presents `ticket` on this page of `brand` in a fresh browser, as a visitor would: a form
    /// is posted with the brand's CSRF token and `password`; a binding goes through the upstream
    /// round trip as `sub`. Returns what the browser ends on.
    async fn present(
        self,
        w: &World,
        brand: &str,
        ticket: &str,
        password: &str,
        sub: &str,
    ) -> Seen {
        let app = &w.app;
        let browser = Browser::new();
        let get = |path: String| {
            let url = format!("{}/{brand}/{path}?ticket={ticket}", app.base);
            let browser = &browser;
            async move { browser.follow(&app.base, &url).await.unwrap() }
        };
        let hop = match self {
            Reader::Unlock => get("unlock".into()).await,
            Reader::ResetPage => get("password/reset".into()).await,
            Reader::RegistrationPage => get("registration".into()).await,
            Reader::RegistrationUpstream => get("registration/upstream/google".into()).await,
            Reader::LoginMethodPage => get("login-method".into()).await,
            Reader::EmailChangePage => get("email-change".into()).await,
            Reader::UpstreamBind => match browser
                .post(
                    &app.base,
                    &format!("/{brand}/upstream/google/bind"),
                    &[
                        ("csrf_token".to_owned(), csrf(app, &browser, brand).await),
                        ("ticket".to_owned(), ticket.to_owned()),
                    ],
                )
                .await
                .unwrap()
            {
                // Not refused: the browser is at the upstream; finish the round trip to see
                // what the binding does.
                Hop::LeftOp(at_upstream) => {
                    let back = browser
                        .upstream_login(at_upstream.as_str(), sub, &app.base)
                        .await
                        .unwrap();
                    browser.follow(&app.base, &back).await.unwrap()
                }
                page => page,
            },
            Reader::UnlockSubmit
            | Reader::ResetSubmit
            | Reader::RegistrationPassword
            | Reader::RegistrationConfirm
            | Reader::LoginMethodPassword
            | Reader::EmailChangeConfirm
            | Reader::EmailChangeSubmit => {
                let path = match self {
                    Reader::UnlockSubmit => "unlock",
                    Reader::ResetSubmit => "password/reset",
                    Reader::RegistrationPassword => "registration/password",
                    Reader::RegistrationConfirm => "registration/confirm",
                    Reader::LoginMethodPassword => "login-method/password",
                    _ => "email-change",
                };
                let mut form = vec![
                    ("csrf_token".to_owned(), csrf(app, &browser, brand).await),
                    ("ticket".to_owned(), ticket.to_owned()),
                ];
                let button_only = [
                    Reader::UnlockSubmit,
                    Reader::RegistrationConfirm,
                    Reader::EmailChangeConfirm,
                ];
                if !button_only.contains(&self) {
                    form.push(("new_password".into(), password.into()));
                    form.push(("confirm_password".into(), password.into()));
                }
                browser
                    .post(&app.base, &format!("/{brand}/{path}"), &form)
                    .await
                    .unwrap()
            }
        };
        match hop {
            Hop::Page { status, body, .. } => Seen::Page {
                status: status.as_u16(),
                // The language switch repeats the page's own address, the ticket presented
                // included (ISSUE-16): an echo of the request, which tells nothing; compared
                // without it.
                body: body.replace(ticket, "{ticket}"),
            },
            Hop::LeftOp(url) => Seen::Left(url.to_string()),
        }
    }
}

/// Where the browser ended.
#[derive(Debug, PartialEq)]
enum Seen {
    Page { status: u16, body: String },
    Left(String),
}

impl Seen {
    /// Status, title and first paragraph, for messages.
    fn gist(&self) -> String {
        match self {
            Seen::Page { status, body } => {
                let text = |tag: &str| {
                    let open = format!("<{tag}");
                    body.find(&open)
                        .and_then(|at| {
                            let rest = &body[at..];
                            let start = rest.find('>')? + 1;
                            let end = rest.find(&format!("</{tag}>"))?;
                            Some(rest[start..end].to_owned())
                        })
                        .unwrap_or_default()
                };
                format!("{status} 「{}」 {}", text("h1"), text("p"))
            }
            Seen::Left(url) => format!("left the OP for {url}"),
        }
    }
}

/// Brand VX5 with the seed contract and the user under attack, brand MDR with its own contract
/// and contractor, and one live ticket per purpose for the user (brand VX5).
struct World {
    app: TestApp,
    victim: String,
    /// The contractor of brand MDR: nothing done on MDR's pages may touch VX5's user, nor them.
    other: String,
    tickets: HashMap<TicketPurpose, String>,
}

async fn world(victim: Victim, upstream: bool) -> World {
    let app = if upstream {
        TestApp::spawn_with_upstreams(&[Profile::Google]).await
    } else {
        TestApp::spawn().await
    };
    let seed = app.seed().await;
    sekisho::admin::add_brand(&app.op, OTHER_BRAND, "M-Drive")
        .await
        .unwrap();
    let other = sekisho::admin::create_contract(
        &app.op,
        OTHER_BRAND,
        "エムドライブ株式会社",
        "jiro@example.jp",
        PASSWORD,
        Plan::Basic,
    )
    .await
    .unwrap()
    .user_id;
    let now = app.op.now();
    let id = match victim {
        Victim::Invited => {
            // As the admin console invites: no password yet.
            let contract = app
                .op
                .store
                .find_contract(&seed.contract_id)
                .await
                .unwrap()
                .unwrap();
            let user = User {
                id: "usr_invited_hanako".into(),
                contract_id: contract.id,
                brand: contract.brand,
                email: Email::parse(VICTIM).unwrap(),
                name: "花子".into(),
                role: Role::User,
                login_method: LoginMethod::Password,
                password_hash: None,
                failed_logins: 0,
                locked_at: None,
                status: UserStatus::Invited,
                created_at: now,
            };
            app.op.store.insert_user(&user).await.unwrap();
            user.id
        }
        _ => sekisho::admin::add_user(
            &app.op,
            &seed.contract_id,
            VICTIM,
            PASSWORD,
            Role::User,
            "花子",
        )
        .await
        .unwrap(),
    };
    match victim {
        Victim::Locked => {
            for _ in 0..LOCK_AFTER_FAILURES {
                app.op
                    .store
                    .record_login_failure(&id, LOCK_AFTER_FAILURES, now)
                    .await
                    .unwrap();
            }
        }
        Victim::Upstream => {
            let token = mint(&app, &id, TicketPurpose::LoginMethodChange, "{}").await;
            let binding = UpstreamBinding {
                brand: BRAND.into(),
                issuer: "https://accounts.google.com".into(),
                subject: "hanako-google-0".into(),
                user_id: id.clone(),
                connector: "google".into(),
                email: None,
                created_at: now,
            };
            assert!(app
                .op
                .store
                .bind_upstream(
                    &binding,
                    &hash_token(&token),
                    TicketPurpose::LoginMethodChange.as_str(),
                    now
                )
                .await
                .unwrap());
        }
        Victim::Password | Victim::Invited => {}
    }
    let user = app.op.store.find_user(&id).await.unwrap().unwrap();
    assert_eq!(
        user.locked_at.is_some(),
        victim == Victim::Locked,
        "{user:?}"
    );
    let staged = app.op.passwords.hash(OWN_PASSWORD).await.unwrap();
    let payload = serde_json::json!({ "email": NEW_EMAIL, "password_hash": staged }).to_string();
    let mut tickets = HashMap::new();
    for &purpose in TicketPurpose::ALL {
        tickets.insert(purpose, mint(&app, &id, purpose, &payload).await);
    }
    World {
        app,
        victim: id,
        other,
        tickets,
    }
}

/// A ticket of brand VX5 for `user_id`, minted as the mails do (only the hash is stored);
/// returns the token the link carries.
async fn mint(app: &TestApp, user_id: &str, purpose: TicketPurpose, payload: &str) -> String {
    let token = random_token();
    let now = app.op.now();
    app.op
        .store
        .issue_ticket(&TicketRecord {
            token_hash: hash_token(&token),
            purpose: purpose.as_str().to_owned(),
            brand: BRAND.to_owned(),
            user_id: user_id.to_owned(),
            payload: payload.to_owned(),
            created_at: now,
            expires_at: now + TICKET_TTL,
            used_at: None,
        })
        .await
        .unwrap();
    token
}

/// The CSRF token of `browser`'s session on `brand` (from the forgot-password form).
async fn csrf(app: &TestApp, browser: &Browser, brand: &str) -> String {
    let page = browser
        .get(&format!("{}/{brand}/password/forgot", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    hidden_inputs(&page)
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v)
        .expect("a csrf_token on the forgot-password form")
}

/// Everything a ticket could change: both users, their bindings, and each of the user's tickets
/// as stored (live or not, payload).
async fn snapshot(w: &World) -> Vec<String> {
    let store = &w.app.op.store;
    let mut lines = Vec::new();
    for id in [&w.victim, &w.other] {
        lines.push(format!("{:?}", store.find_user(id).await.unwrap()));
        lines.push(format!(
            "binding of {id}: {:?}",
            store.find_user_binding(id).await.unwrap()
        ));
    }
    for &purpose in TicketPurpose::ALL {
        let live = store
            .find_live_ticket(
                &hash_token(&w.tickets[&purpose]),
                purpose.as_str(),
                BRAND,
                w.app.op.now(),
            )
            .await
            .unwrap();
        lines.push(format!("live {purpose} ticket: {live:?}"));
    }
    lines
}

/// Presents `purpose`'s ticket on `brand`'s page and checks it was refused like an unknown ticket
/// and changed nothing; what differed goes to `problems`.
async fn expect_refused(
    w: &World,
    reader: Reader,
    brand: &str,
    purpose: TicketPurpose,
    attempt: usize,
    problems: &mut Vec<String>,
) {
    let sub = format!("attacker-{attempt}");
    let unknown = reader
        .present(w, brand, &random_token(), ATTACKER_PASSWORD, &sub)
        .await;
    // The reference itself: the invalid-link page (a test that compared two wrong pages would
    // prove nothing).
    assert!(
        matches!(&unknown, Seen::Page { status: 400, body } if body.contains(TICKET_INVALID)),
        "{reader:?} on {brand}: an unknown ticket got {}",
        unknown.gist()
    );
    let before = snapshot(w).await;
    let seen = reader
        .present(w, brand, &w.tickets[&purpose], ATTACKER_PASSWORD, &sub)
        .await;
    let after = snapshot(w).await;
    let what = format!("the {purpose} ticket of {BRAND} on {brand}'s page");
    if seen != unknown {
        problems.push(format!(
            "{what}: answered {} instead of the unknown-ticket page {}",
            seen.gist(),
            unknown.gist()
        ));
    }
    let changed: Vec<_> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, a)| format!("    before: {b}\n    after:  {a}"))
        .collect();
    if !changed.is_empty() {
        problems.push(format!("{what}: changed\n{}", changed.join("\n")));
    }
}

/// The table for one reader: (1) its ticket on the other brand, (2) every other purpose on its
/// own brand, (3) its ticket on its own page afterwards.
async fn check(reader: Reader) {
    let w = world(reader.victim(), reader.needs_upstream()).await;
    let mut problems = Vec::new();
    let mut attempt = 0;
    for &purpose in reader.purposes() {
        attempt += 1;
        expect_refused(&w, reader, OTHER_BRAND, purpose, attempt, &mut problems).await;
    }
    for &purpose in TicketPurpose::ALL {
        if !reader.purposes().contains(&purpose) {
            attempt += 1;
            expect_refused(&w, reader, BRAND, purpose, attempt, &mut problems).await;
        }
    }

    // (3) The refusals did not spend it: the ticket does its job on its own page.
    let purpose = reader.purposes()[0];
    let before = w.app.op.store.find_user(&w.victim).await.unwrap().unwrap();
    let seen = reader
        .present(&w, BRAND, &w.tickets[&purpose], OWN_PASSWORD, OWN_SUB)
        .await;
    let user = w.app.op.store.find_user(&w.victim).await.unwrap().unwrap();
    let binding = w.app.op.store.find_user_binding(&w.victim).await.unwrap();
    let worked = matches!(&seen, Seen::Page { status: 200, body } if body.contains(reader.done()));
    // The change must be this use's own (a refused attempt may already have made it).
    let made = match reader {
        Reader::UnlockSubmit => before.locked_at.is_some() && user.locked_at.is_none(),
        Reader::ResetSubmit => user.password_hash != before.password_hash,
        Reader::RegistrationConfirm => {
            before.status == UserStatus::Invited && user.status == UserStatus::Active
        }
        Reader::LoginMethodPassword => {
            before.login_method != LoginMethod::Password
                && user.login_method == LoginMethod::Password
                && binding.is_none()
        }
        Reader::EmailChangeConfirm | Reader::EmailChangeSubmit => {
            before.email.as_str() != NEW_EMAIL && user.email.as_str() == NEW_EMAIL
        }
        Reader::UpstreamBind => binding.is_some_and(|b| b.brand == BRAND && b.subject == OWN_SUB),
        // Pages that only show the next step change nothing by themselves.
        _ => user == before,
    };
    if !(worked && made) {
        problems.push(format!(
            "afterwards, the {purpose} ticket on its own page of {BRAND} did not do its job: \
             answered {} (expected 200 with 「{}」); its change to the user: {}",
            seen.gist(),
            reader.done(),
            if made { "made" } else { "not made by this use" }
        ));
    }
    assert!(
        problems.is_empty(),
        "{reader:?} ({}):\n- {}",
        reader.victim_note(),
        problems.join("\n- ")
    );
}

impl Reader {
    fn victim_note(self) -> String {
        format!(
            "tickets of the {BRAND} user ({:?}); purposes this page accepts: {:?}",
            self.victim(),
            self.purposes()
        )
    }
}

// REQ-LOCK-2 REQ-MAIL-2 ISSUE-16: the unlock link's page (its button unlocks).
#[tokio::test]
async fn unlock() {
    check(Reader::Unlock).await;
}

// REQ-LOCK-1 REQ-MAIL-2 ISSUE-16: the unlock page's button.
#[tokio::test]
async fn unlock_submit() {
    check(Reader::UnlockSubmit).await;
}

// REQ-PW-3 REQ-MAIL-2: the reset link's page.
#[tokio::test]
async fn password_reset_page() {
    check(Reader::ResetPage).await;
}

// REQ-PW-3 REQ-MAIL-2: the reset form.
#[tokio::test]
async fn password_reset_submit() {
    check(Reader::ResetSubmit).await;
}

// REQ-USER-2 REQ-MAIL-2: the invitation link's page (choice of login method).
#[tokio::test]
async fn registration_page() {
    check(Reader::RegistrationPage).await;
}

// REQ-USER-2 REQ-MAIL-2: the registration's password step.
#[tokio::test]
async fn registration_password() {
    check(Reader::RegistrationPassword).await;
}

// REQ-USER-2 REQ-MAIL-2: the registration's confirmation of an upstream account.
#[tokio::test]
async fn registration_upstream() {
    check(Reader::RegistrationUpstream).await;
}

// REQ-USER-2 REQ-MAIL-2: the registration's 確認.
#[tokio::test]
async fn registration_confirm() {
    check(Reader::RegistrationConfirm).await;
}

// REQ-USER-4 REQ-MAIL-2: the login-method-change link's page.
#[tokio::test]
async fn login_method_page() {
    check(Reader::LoginMethodPage).await;
}

// REQ-USER-4 REQ-MAIL-2: the login-method change to a password.
#[tokio::test]
async fn login_method_password() {
    check(Reader::LoginMethodPassword).await;
}

// REQ-USER-6 REQ-MAIL-2 ISSUE-16: the email-change link's page (an upstream user confirms 登録).
#[tokio::test]
async fn email_change_page() {
    check(Reader::EmailChangePage).await;
}

// REQ-USER-6 REQ-MAIL-2 ISSUE-16: 登録 of an upstream user's new address.
#[tokio::test]
async fn email_change_confirm() {
    check(Reader::EmailChangeConfirm).await;
}

// REQ-USER-6 REQ-MAIL-2: the email-change confirmation of a password user.
#[tokio::test]
async fn email_change_submit() {
    check(Reader::EmailChangeSubmit).await;
}

// REQ-USER-2 REQ-USER-4 REQ-MAIL-2: binding an upstream account by an invitation or a
// login-method-change ticket, through the real upstream round trip.
#[tokio::test]
async fn upstream_bind() {
    check(Reader::UpstreamBind).await;
}
