//! Pending changes (ISSUE-16, REQ-USER-7) through the HTTP server: opening ログイン方法の設定
//! makes nothing pending; a pending email or login-method change is shown (which change, to which
//! address, until when) and cancelled by the user in the account menu, or cancelled and mailed
//! again by the contractor or an admin of the same contract in the console; the cancelled or
//! replaced link then answers "not valid", and the other change is allowed again.

use crate::two_factor::{excerpt, fields, page};
use crate::upstream::press;
use crate::user_lifecycle::{browser_get as get, contractor, mailed_link, submit};
use sekisho_core::model::{Plan, Role, TwoFactorSetting};
use sekisho_e2e::{Browser, Hop, Limits, TestApp, BRAND, PASSWORD};

const HANAKO: &str = "hanako@example.jp";
const HANAKO_NEW: &str = "hanako.new@example.jp";
const OWNER_NEW: &str = "owner@example.jp";
/// TEST_EPOCH (2030-01-01 09:00 JST) + the 14 days of a mailed link.
const UNTIL: &str = "2030/01/15 09:00 (JST)";
const TICKET_INVALID: &str = "URLが無効です";

fn status(hop: &Hop) -> u16 {
    match hop {
        Hop::Page { status, .. } => status.as_u16(),
        Hop::LeftOp(_) => 0,
    }
}

/// An active user (Hanako, password) of the seed contract; her id.
async fn hanako(app: &TestApp, contract_id: &str) -> String {
    sekisho::admin::add_user(&app.op, contract_id, HANAKO, PASSWORD, Role::User, "花子")
        .await
        .unwrap()
}

/// The console's page of `id`, as `console` sees it, as text (minijinja writes `/` as `&#x2f;`).
async fn user_page(app: &TestApp, console: &Browser, id: &str) -> String {
    text(&page(get(app, console, &format!("admin/users/{id}")).await).1)
}

/// A page's HTML with the escaped slash written as the browser shows it (dates, paths).
fn text(html: &str) -> String {
    html.replace("&#x2f;", "/")
}

/// Posts a console action on `id` (`login-method`, `email`, `pending/cancel`, …) with the CSRF
/// token of the console's list (its invitation form); where the browser ends.
async fn act(
    app: &TestApp,
    console: &Browser,
    id: &str,
    action: &str,
    more: &[(&str, &str)],
) -> Hop {
    let (_, list) = page(get(app, console, "admin").await);
    console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/users/{id}/{action}"),
            &fields(&list, more),
        )
        .await
        .unwrap()
}

/// The contractor's email-change form in the menu, posted with `to`; the page after it.
async fn menu_email_change(app: &TestApp, menu: &Browser, to: &str) -> String {
    let (_, form) = page(get(app, menu, "account/email").await);
    page(
        submit(
            app,
            menu,
            &form,
            &[("new_email", to), ("confirm_email", to)],
        )
        .await,
    )
    .1
}

// ISSUE-16 REQ-USER-7: merely opening ログイン方法の設定 makes no change pending: the page shows
// the current method and a button, the contractor's email change is still accepted, and the
// console shows nothing pending. (Before, the GET issued a login-method-change ticket and the
// email change was refused.)
#[tokio::test]
async fn opening_the_login_method_page_makes_nothing_pending() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let menu = contractor(&app).await;
    let opened = get(&app, &menu, "account/login-method").await;
    let (at, method) = page(opened);
    assert!(at.ends_with("/account/login-method"), "no redirect: {at}");
    assert!(
        method.contains("現在ご利用中のログイン方法: メールアドレス・パスワード")
            && method.contains("ログイン方法を変更する"),
        "{}",
        excerpt(&method)
    );
    // Twice, as a person who looks and comes back would.
    page(get(&app, &menu, "account/login-method").await);
    let console = user_page(&app, &menu, &seed.user_id).await;
    assert!(
        !console.contains("id=\"pending-change\""),
        "nothing pending in the console: {}",
        excerpt(&console)
    );
    let sent = menu_email_change(&app, &menu, OWNER_NEW).await;
    assert!(
        sent.contains("確認メールを送信しました"),
        "the email change is accepted: {}",
        excerpt(&sent)
    );
    mailed_link(&app, OWNER_NEW, "メールアドレス変更登録", "email-change").await;
}

// ISSUE-16 REQ-USER-7: the contractor sees their pending email change (the new address, until
// when) on both menu pages, the login-method page says it blocks a login-method change, and
// 取り消す cancels it: the mailed link is no longer valid and the login-method change starts.
// Then a pending login-method change is cancelled from its page, and the email change is allowed.
#[tokio::test]
async fn the_user_cancels_a_pending_change_in_the_menu() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let menu = contractor(&app).await;
    let sent = menu_email_change(&app, &menu, OWNER_NEW).await;
    assert!(sent.contains("id=\"pending-change\""), "{}", excerpt(&sent));
    let (link, _) = mailed_link(&app, OWNER_NEW, "メールアドレス変更登録", "email-change").await;

    let email_page = text(&page(get(&app, &menu, "account/email").await).1);
    for shown in [
        "手続き中の変更",
        "メールアドレス変更",
        OWNER_NEW,
        UNTIL,
        "取り消す",
    ] {
        assert!(
            email_page.contains(shown),
            "{shown}: {}",
            excerpt(&email_page)
        );
    }
    let (_, method) = page(get(&app, &menu, "account/login-method").await);
    assert!(
        method.contains("メールアドレス変更の手続き中は、ログイン方法を変更できません")
            && method.contains(OWNER_NEW)
            && !method.contains("ログイン方法を変更する</button>"),
        "{}",
        excerpt(&method)
    );

    let (at, after) = page(press(&app, &menu, &email_page, "取り消す").await);
    assert!(at.contains("/account/email?done=cancelled"), "{at}");
    assert!(
        after.contains("手続き中の変更を取り消しました")
            && !after.contains("id=\"pending-change\""),
        "{}",
        excerpt(&after)
    );
    let (_, dead) = page(Browser::new().follow(&app.base, &link).await.unwrap());
    assert!(dead.contains(TICKET_INVALID), "{}", excerpt(&dead));
    let audit = app.op.store.recent_audit(20).await.unwrap();
    assert!(
        audit.iter().any(|e| e.kind == "change.cancelled"),
        "audited: {audit:?}"
    );

    // The login-method change is allowed now; started and left, it is pending in turn.
    let (_, method) = page(get(&app, &menu, "account/login-method").await);
    let (choice, choose) = page(press(&app, &menu, &method, "ログイン方法を変更する").await);
    assert!(choice.contains("/login-method?ticket="), "{choice}");
    assert!(
        choose.contains("現在ご利用中のログイン方法"),
        "{}",
        excerpt(&choose)
    );
    let refused = menu_email_change(&app, &menu, OWNER_NEW).await;
    assert!(
        refused.contains("同時に実施できません"),
        "{}",
        excerpt(&refused)
    );
    let method = text(&page(get(&app, &menu, "account/login-method").await).1);
    assert!(
        method.contains("ログイン方法の変更") && method.contains(UNTIL),
        "{}",
        excerpt(&method)
    );
    let (at, after) = page(press(&app, &menu, &method, "取り消す").await);
    assert!(at.contains("/account/login-method?done=cancelled"), "{at}");
    assert!(after.contains("取り消しました"), "{}", excerpt(&after));
    let (_, dead) = page(menu.follow(&app.base, &choice).await.unwrap());
    assert!(dead.contains(TICKET_INVALID), "{}", excerpt(&dead));
    let sent = menu_email_change(&app, &menu, OWNER_NEW).await;
    assert!(
        sent.contains("確認メールを送信しました"),
        "{}",
        excerpt(&sent)
    );
}

// ISSUE-16 REQ-USER-7: the contractor sees a user's pending login-method change in the console
// and cancels it: the mailed link is no longer valid, and the email change, refused while it was
// pending, is sent.
#[tokio::test]
async fn the_contractor_cancels_a_pending_change_in_the_console() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let id = hanako(&app, &seed.contract_id).await;
    let console = contractor(&app).await;
    let at = act(&app, &console, &id, "login-method", &[]).await;
    assert_eq!(status(&at), 200);
    let (link, _) = mailed_link(&app, HANAKO, "ログイン方法の設定変更", "login-method").await;
    let refused = act(&app, &console, &id, "email", &[("new_email", HANAKO_NEW)]).await;
    assert_eq!(status(&refused), 409, "REQ-USER-7");

    let detail = user_page(&app, &console, &id).await;
    for shown in [
        "手続き中の変更",
        "ログイン方法の変更",
        UNTIL,
        "取り消す",
        "再送信",
    ] {
        assert!(detail.contains(shown), "{shown}: {}", excerpt(&detail));
    }
    let (at, after) = page(press(&app, &console, &detail, "取り消す").await);
    assert!(
        at.ends_with(&format!("/admin/users/{id}?done=pending-cancelled")),
        "{at}"
    );
    assert!(
        after.contains("手続き中の変更を取り消しました")
            && !after.contains("id=\"pending-change\""),
        "{}",
        excerpt(&after)
    );
    let (_, dead) = page(Browser::new().follow(&app.base, &link).await.unwrap());
    assert!(dead.contains(TICKET_INVALID), "{}", excerpt(&dead));
    let (at, _) = page(act(&app, &console, &id, "email", &[("new_email", HANAKO_NEW)]).await);
    assert!(
        at.contains("done=email"),
        "the email change is sent now: {at}"
    );
    let audit = app.op.store.recent_audit(20).await.unwrap();
    let cancelled = audit
        .iter()
        .find(|e| e.kind == "change.cancelled")
        .expect("the cancellation is audited");
    assert_eq!(cancelled.user_id.as_deref(), Some(id.as_str()));
    assert_eq!(cancelled.detail["by"], seed.user_id);
}

// ISSUE-16: an admin of another contract cannot see, cancel or resend a user's pending change
// (the user is "not found"), and the change stays pending: its link still works.
#[tokio::test]
async fn an_admin_of_another_contract_cannot_cancel() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let id = hanako(&app, &seed.contract_id).await;
    let console = contractor(&app).await;
    act(&app, &console, &id, "email", &[("new_email", HANAKO_NEW)]).await;
    let (link, _) = mailed_link(&app, HANAKO_NEW, "メールアドレス変更登録", "email-change").await;

    let other = sekisho::admin::create_contract(
        &app.op,
        BRAND,
        "別会社",
        "jiro@example.jp",
        PASSWORD,
        Plan::Basic,
    )
    .await
    .unwrap();
    app.op
        .store
        .set_contract_two_factor(&other.contract_id, TwoFactorSetting::Disabled)
        .await
        .unwrap();
    let stranger = Browser::new();
    let url = format!("{}/{BRAND}/account/login", app.base);
    let (_, login) = page(stranger.follow(&app.base, &url).await.unwrap());
    stranger
        .submit_login(&app.base, &login, "jiro@example.jp", PASSWORD)
        .await
        .unwrap();
    let (_, own) = page(get(&app, &stranger, "admin").await);
    assert_eq!(
        status(&get(&app, &stranger, &format!("admin/users/{id}")).await),
        404
    );
    for action in ["cancel", "resend"] {
        let refused = stranger
            .post(
                &app.base,
                &format!("/{BRAND}/admin/users/{id}/pending/{action}"),
                &fields(&own, &[]),
            )
            .await
            .unwrap();
        assert_eq!(status(&refused), 404, "{action}");
    }
    let mails = app.deliver_mail().await;
    let to_new = mails.iter().filter(|m| m.to.contains(HANAKO_NEW)).count();
    assert_eq!(to_new, 1, "nothing was mailed again");
    let (_, alive) = page(Browser::new().follow(&app.base, &link).await.unwrap());
    assert!(
        alive.contains("メールアドレス変更確認") && alive.contains(HANAKO_NEW),
        "the link still works: {}",
        excerpt(&alive)
    );
}

// ISSUE-16 REQ-MAIL-2: 再送信 mails a new link for the same change (to the same new address);
// the old link stops working and the new one completes the change.
#[tokio::test]
async fn resend_replaces_the_link() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let id = hanako(&app, &seed.contract_id).await;
    let console = contractor(&app).await;
    act(&app, &console, &id, "email", &[("new_email", HANAKO_NEW)]).await;
    let (old, _) = mailed_link(&app, HANAKO_NEW, "メールアドレス変更登録", "email-change").await;
    let detail = user_page(&app, &console, &id).await;
    assert!(detail.contains(HANAKO_NEW), "{}", excerpt(&detail));
    app.clock.advance(3600);
    let (at, after) = page(press(&app, &console, &detail, "再送信").await);
    let after = text(&after);
    assert!(at.ends_with("?done=pending-resent"), "{at}");
    assert!(
        after.contains("新しいURLをメールで送信しました"),
        "{}",
        excerpt(&after)
    );
    // The new link's 14 days count from the resend.
    assert!(
        after.contains("2030/01/15 10:00 (JST)"),
        "{}",
        excerpt(&after)
    );
    let (new, _) = mailed_link(&app, HANAKO_NEW, "メールアドレス変更登録", "email-change").await;
    assert_ne!(new, old);
    let (_, dead) = page(Browser::new().follow(&app.base, &old).await.unwrap());
    assert!(dead.contains(TICKET_INVALID), "{}", excerpt(&dead));
    let browser = Browser::new();
    let (_, confirm) = page(browser.follow(&app.base, &new).await.unwrap());
    let new_password = "Momiji-Gari-2026";
    let (_, done) = page(
        submit(
            &app,
            &browser,
            &confirm,
            &[
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await,
    );
    assert!(
        done.contains("メールアドレスを変更しました"),
        "{}",
        excerpt(&done)
    );
    let user = app.op.store.find_user(&id).await.unwrap().unwrap();
    assert_eq!(user.email.as_str(), HANAKO_NEW);
    let audit = app.op.store.recent_audit(30).await.unwrap();
    assert!(audit.iter().any(|e| e.kind == "change.resent"), "audited");
}

// ISSUE-16: 再送信 keeps to the per-address mail cap (issue 15): over it, nothing is mailed and
// the page says so.
#[tokio::test]
async fn resend_keeps_to_the_mail_cap() {
    let app = TestApp::spawn_with_limits(Limits {
        mail_per_address_per_hour: 2,
        ..Limits::default()
    })
    .await;
    let seed = app.seed().await;
    let id = hanako(&app, &seed.contract_id).await;
    let console = contractor(&app).await;
    act(&app, &console, &id, "login-method", &[]).await;
    let (at, _) = page(act(&app, &console, &id, "pending/resend", &[]).await);
    assert!(at.ends_with("?done=pending-resent"), "{at}");
    let (at, over) = page(act(&app, &console, &id, "pending/resend", &[]).await);
    assert!(at.ends_with("?done=pending-not-mailed"), "{at}");
    assert!(
        over.contains("送信数の上限に達したため"),
        "{}",
        excerpt(&over)
    );
    let mails = app.deliver_mail().await;
    assert_eq!(
        mails.iter().filter(|m| m.to.contains(HANAKO)).count(),
        2,
        "two mails to the address, not three"
    );
}

// ISSUE-16: the cancellations and the resend without the session's CSRF token are refused, and
// the change stays pending.
#[tokio::test]
async fn cancel_and_resend_without_csrf_are_refused() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let id = hanako(&app, &seed.contract_id).await;
    let console = contractor(&app).await;
    act(&app, &console, &id, "login-method", &[]).await;
    let sent = menu_email_change(&app, &console, OWNER_NEW).await;
    assert!(sent.contains("id=\"pending-change\""), "{}", excerpt(&sent));
    let forged = [("csrf_token".to_owned(), "forged".to_owned())];
    for path in [
        format!("/{BRAND}/admin/users/{id}/pending/cancel"),
        format!("/{BRAND}/admin/users/{id}/pending/resend"),
        format!("/{BRAND}/account/pending/cancel"),
    ] {
        for form in [&forged[..], &[]] {
            let refused = console.post(&app.base, &path, form).await.unwrap();
            assert_eq!(status(&refused), 403, "{path}");
        }
    }
    let detail = user_page(&app, &console, &id).await;
    assert!(detail.contains("id=\"pending-change\""), "still pending");
    let (_, email_page) = page(get(&app, &console, "account/email").await);
    assert!(email_page.contains(OWNER_NEW), "still pending");
    assert_eq!(app.deliver_mail().await.len(), 2, "nothing mailed again");
}

// ISSUE-16: the contractor's own pending change shows in the console without 取り消す or 再送信
// (the contractor's changes are the menu's), and posting them is refused.
#[tokio::test]
async fn the_contractors_own_change_is_cancelled_in_the_menu_only() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let console = contractor(&app).await;
    menu_email_change(&app, &console, OWNER_NEW).await;
    let own = user_page(&app, &console, &seed.user_id).await;
    assert!(own.contains(OWNER_NEW), "{}", excerpt(&own));
    assert!(
        !own.contains("取り消す</button>") && !own.contains("再送信</button>"),
        "{}",
        excerpt(&own)
    );
    let refused = act(&app, &console, &seed.user_id, "pending/cancel", &[]).await;
    assert_eq!(status(&refused), 403);
    let (_, email_page) = page(get(&app, &console, "account/email").await);
    assert!(email_page.contains(OWNER_NEW), "still pending");
}
