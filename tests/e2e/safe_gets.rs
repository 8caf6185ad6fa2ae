//! ISSUE-16: no GET changes state. Opening a mailed link (as a mail scanner that fetches every
//! link would) shows a page; its button, a POST with the session's CSRF token, does what the link
//! is for. Each link that used to act on GET has its test here: the GET leaves the ticket live
//! and the account as it was, the POST does it.

use crate::two_factor::{excerpt, page};
use crate::upstream::{bind_start, press};
use sekisho_core::model::Role;
use sekisho_crypto::tokens::hash_token;
use sekisho_e2e::{link_in, Browser, Hop, TestApp, BRAND, EMAIL, PASSWORD};
use sekisho_testkit::Profile;

const HANAKO: &str = "hanako@example.jp";
const HANAKO_NEW: &str = "hanako.new@example.jp";

/// Whether the ticket of `link` (`…?ticket=…`) is live for `purpose`.
async fn live(app: &TestApp, link: &str, purpose: &str) -> bool {
    let token = url::Url::parse(link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "ticket")
        .map(|(_, v)| v.into_owned())
        .expect("a ticket");
    app.op
        .store
        .find_live_ticket(&hash_token(&token), purpose, BRAND, app.op.now())
        .await
        .unwrap()
        .is_some()
}

/// The newest mail to `to` whose subject ends with `title`; its link under `path`.
async fn mailed(app: &TestApp, to: &str, title: &str, path: &str) -> String {
    let mails = app.deliver_mail().await;
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.to.contains(to) && m.subject.ends_with(title))
        .unwrap_or_else(|| panic!("no mail {title} to {to}"));
    link_in(&mail.body, &format!("{}/{path}?ticket=", app.issuer()))
        .unwrap_or_else(|| panic!("no {path} link in {}", mail.body))
}

async fn locked(app: &TestApp, user_id: &str) -> bool {
    let user = app.op.store.find_user(user_id).await.unwrap().unwrap();
    user.locked_at.is_some()
}

async fn email_of(app: &TestApp, user_id: &str) -> String {
    let user = app.op.store.find_user(user_id).await.unwrap().unwrap();
    user.email.as_str().to_owned()
}

// ISSUE-16 REQ-LOCK-1: opening the lock mail's link (twice, as a scanner and then the person)
// leaves the account locked and the link live; 「ロックを解除する」 unlocks it.
#[tokio::test]
async fn the_unlock_link_unlocks_on_its_button_only() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let login = format!("{}/login", app.issuer());
    for _ in 0..10 {
        let browser = Browser::new();
        let (_, form) = page(browser.follow(&app.base, &login).await.unwrap());
        browser
            .submit_login(&app.base, &form, EMAIL, "wrong-Password-1")
            .await
            .unwrap();
    }
    let link = mailed(&app, EMAIL, "アカウントロック", "unlock").await;
    assert!(locked(&app, &seed.user_id).await);
    let scanner = Browser::new();
    let (_, seen) = page(scanner.follow(&app.base, &link).await.unwrap());
    assert!(seen.contains("ロックを解除する"), "{}", excerpt(&seen));
    let person = Browser::new();
    let (_, confirm) = page(person.follow(&app.base, &link).await.unwrap());
    assert!(
        confirm.contains("アカウントロックの解除") && confirm.contains(EMAIL),
        "{}",
        excerpt(&confirm)
    );
    assert!(
        locked(&app, &seed.user_id).await,
        "opening the link unlocks nothing"
    );
    assert!(live(&app, &link, "unlock").await, "the link is not spent");

    let (_, done) = page(press(&app, &person, &confirm, "ロックを解除する").await);
    assert!(
        done.contains("アカウントロックを解除しました"),
        "{}",
        excerpt(&done)
    );
    assert!(!locked(&app, &seed.user_id).await, "the button unlocks");
    assert!(!live(&app, &link, "unlock").await, "the link is spent");
}

// ISSUE-16 REQ-USER-6: the email-change link of a user who logs in without a password shows the
// new address and 登録; opening it changes nothing, 登録 changes the address.
#[tokio::test]
async fn the_email_change_link_changes_on_its_button_only() {
    let app = TestApp::spawn_with_upstreams(&[Profile::Google]).await;
    let seed = app.seed().await;
    let id = sekisho::admin::add_user(
        &app.op,
        &seed.contract_id,
        HANAKO,
        PASSWORD,
        Role::User,
        "花子",
    )
    .await
    .unwrap();
    // Hanako logs in with Google: the login-method change binds it, as she would.
    let link = sekisho::admin::login_method_change_link(&app.services, &id)
        .await
        .unwrap();
    let browser = Browser::new();
    let (_, choose) = page(browser.follow(&app.base, &link).await.unwrap());
    let start = bind_start(&app, &browser, &choose, "Googleアカウント").await;
    let back = browser
        .upstream_login(&start, "hanako-google", &app.base)
        .await
        .unwrap();
    let (_, bound) = page(browser.follow(&app.base, &back).await.unwrap());
    assert!(
        bound.contains("ログイン方法を変更しました"),
        "{}",
        excerpt(&bound)
    );

    let console = crate::user_lifecycle::contractor(&app).await;
    let (_, detail) = page(
        crate::user_lifecycle::browser_get(&app, &console, &format!("admin/users/{id}")).await,
    );
    console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/users/{id}/email"),
            &crate::two_factor::fields(&detail, &[("new_email", HANAKO_NEW)]),
        )
        .await
        .unwrap();
    let link = mailed(&app, HANAKO_NEW, "メールアドレス変更登録", "email-change").await;
    let (_, seen) = page(Browser::new().follow(&app.base, &link).await.unwrap());
    assert!(seen.contains(HANAKO_NEW), "{}", excerpt(&seen));
    let person = Browser::new();
    let (_, confirm) = page(person.follow(&app.base, &link).await.unwrap());
    assert!(
        confirm.contains("メールアドレス変更確認") && confirm.contains("登録</button>"),
        "{}",
        excerpt(&confirm)
    );
    assert_eq!(
        email_of(&app, &id).await,
        HANAKO,
        "opening the link changes nothing"
    );
    assert!(
        live(&app, &link, "email_change").await,
        "the link is not spent"
    );

    let (_, done) = page(press(&app, &person, &confirm, "登録").await);
    assert!(
        done.contains("メールアドレスを変更しました"),
        "{}",
        excerpt(&done)
    );
    assert_eq!(email_of(&app, &id).await, HANAKO_NEW);
    assert!(
        !live(&app, &link, "email_change").await,
        "the link is spent"
    );
}

// ISSUE-16 REQ-USER-4: binding an upstream account starts from the choice page's button (a POST
// with the ticket and the CSRF token), never from a link: a GET of the binding URL is refused
// and stores nothing, a POST without the session's token is refused, and the ticket stays live
// until the binding is done.
#[tokio::test]
async fn binding_starts_from_a_form_only() {
    let app = TestApp::spawn_with_upstreams(&[Profile::Google]).await;
    let seed = app.seed().await;
    let id = sekisho::admin::add_user(
        &app.op,
        &seed.contract_id,
        HANAKO,
        PASSWORD,
        Role::User,
        "花子",
    )
    .await
    .unwrap();
    let link = sekisho::admin::login_method_change_link(&app.services, &id)
        .await
        .unwrap();
    let ticket = link.split("ticket=").nth(1).unwrap().to_owned();
    let forged = Browser::new();
    let by_link = forged
        .get(&format!(
            "{}/upstream/google/bind?ticket={ticket}",
            app.issuer()
        ))
        .await
        .unwrap();
    assert_eq!(by_link.status(), 405, "no binding by GET");
    let without_token = forged
        .post(
            &app.base,
            &format!("/{BRAND}/upstream/google/bind"),
            &[("ticket".to_owned(), ticket.clone())],
        )
        .await
        .unwrap();
    assert!(
        matches!(&without_token, Hop::Page { status, .. } if status.as_u16() == 403),
        "{without_token:?}"
    );
    assert!(live(&app, &link, "login_method_change").await);

    let browser = Browser::new();
    let (_, choose) = page(browser.follow(&app.base, &link).await.unwrap());
    assert!(
        choose
            .replace("&#x2f;", "/")
            .contains("action=\"/VX5/upstream/google/bind\""),
        "the button is a form: {}",
        excerpt(&choose)
    );
    let start = bind_start(&app, &browser, &choose, "Googleアカウント").await;
    assert!(
        live(&app, &link, "login_method_change").await,
        "spent only by the binding"
    );
    let back = browser
        .upstream_login(&start, "hanako-google", &app.base)
        .await
        .unwrap();
    let (_, bound) = page(browser.follow(&app.base, &back).await.unwrap());
    assert!(
        bound.contains("ログイン方法を変更しました"),
        "{}",
        excerpt(&bound)
    );
    assert!(!live(&app, &link, "login_method_change").await);
}
