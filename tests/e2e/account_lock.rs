//! The account lock: ten consecutive wrong passwords lock the account, the lock mail's link
//! unlocks it, and none of it tells a visitor whether an address is registered.

use crate::support::authorize_url;
use sekisho_e2e::{link_in, query, Browser, Hop, TestApp, EMAIL, PASSWORD};

pub(crate) const LOCKED: &str =
    "ログインを複数回連続して試行したため、アカウントがブロックされました。";
pub(crate) const FAILED: &str = "メールアドレスまたはパスワードが正しくありません。";

/// The login page of a fresh authorization request in `browser`.
pub(crate) async fn login_page(app: &TestApp, browser: &Browser, client_id: &str) -> String {
    match browser
        .follow(&app.base, &authorize_url(app, client_id, &[]))
        .await
        .unwrap()
    {
        Hop::Page { body, .. } => body,
        other => panic!("{other:?}"),
    }
}

/// Submits the login form of `page`; returns the page shown, or the URL the OP left for.
pub(crate) async fn attempt(
    app: &TestApp,
    browser: &Browser,
    page: &str,
    email: &str,
    password: &str,
) -> Result<String, url::Url> {
    match browser
        .submit_login(&app.base, page, email, password)
        .await
        .unwrap()
    {
        Hop::Page { body, .. } => Ok(body),
        Hop::LeftOp(url) => Err(url),
    }
}

// REQ-LOCK-1 REQ-MAIL-1 REQ-MAIL-2: ten wrong passwords lock; the mailed link unlocks once.
#[tokio::test]
async fn ten_failures_lock_and_the_mailed_link_unlocks() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let browser = Browser::new();
    let page = login_page(&app, &browser, &seed.client.client_id).await;
    for i in 1..=9 {
        let body = attempt(&app, &browser, &page, EMAIL, "wrong-Password-1")
            .await
            .unwrap();
        assert!(
            body.contains(FAILED) && !body.contains(LOCKED),
            "attempt {i}"
        );
    }
    let body = attempt(&app, &browser, &page, EMAIL, "wrong-Password-1")
        .await
        .unwrap();
    assert!(body.contains(LOCKED), "the tenth failure locks");
    let body = attempt(&app, &browser, &page, EMAIL, PASSWORD)
        .await
        .unwrap();
    assert!(
        body.contains(LOCKED),
        "a locked account refuses even the right password"
    );

    let mails = app.deliver_mail().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject,
        "【OTクラウド・ストレージ】アカウントロック"
    );
    assert_eq!(mails[0].to, EMAIL);
    let link =
        link_in(&mails[0].body, &format!("{}/unlock?ticket=", app.issuer())).expect("unlock link");
    let token = link.split("ticket=").nth(1).unwrap();
    assert!(
        app.op
            .store
            .find_live_ticket(token, "unlock", sekisho_e2e::BRAND, app.op.now())
            .await
            .unwrap()
            .is_none(),
        "only the hash is stored"
    );

    // ISSUE-16: opening the link shows the button; pressing it unlocks.
    let res = browser.get(&link).await.unwrap();
    assert_eq!(res.status(), 200);
    let confirm = res.text().await.unwrap();
    assert!(confirm.contains("ロックを解除する"), "{confirm}");
    let action = sekisho_e2e::form_action(&confirm).expect("the unlock form");
    let unlocked = match browser
        .post(&app.base, &action, &sekisho_e2e::hidden_inputs(&confirm))
        .await
        .unwrap()
    {
        Hop::Page { status, body, .. } => (status.as_u16(), body),
        other => panic!("{other:?}"),
    };
    assert_eq!(unlocked.0, 200);
    assert!(unlocked.1.contains("アカウントロックを解除しました"));
    let again = browser.get(&link).await.unwrap();
    assert_eq!(again.status(), 400, "the link works once");

    let page = login_page(&app, &browser, &seed.client.client_id).await;
    let back = attempt(&app, &browser, &page, EMAIL, PASSWORD)
        .await
        .unwrap_err();
    assert!(
        query(&back).contains_key("code"),
        "unlocked: the login completes"
    );
}

// REQ-LOCK-1: the counter is atomic: 50 parallel wrong guesses lock after exactly 10, one mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_guesses_lock_after_exactly_ten() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let browser = Browser::new();
    let page = login_page(&app, &browser, &seed.client.client_id).await;
    let mut fields = sekisho_e2e::hidden_inputs(&page);
    fields.push(("email".into(), EMAIL.into()));
    fields.push(("password".into(), "wrong-Password-1".into()));
    let url = format!("{}/VX5/login", app.base);
    let guesses: Vec<_> = (0..50)
        .map(|_| {
            let (http, url, fields) = (browser.http.clone(), url.clone(), fields.clone());
            tokio::spawn(async move {
                http.post(url)
                    .form(&fields)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut locked_answers = 0;
    for g in guesses {
        if g.await.unwrap().contains(LOCKED) {
            locked_answers += 1;
        }
    }
    let user = app
        .op
        .store
        .find_user(&seed.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.failed_logins, 10, "the counter stops at the limit");
    assert!(user.locked_at.is_some());
    assert_eq!(
        locked_answers, 41,
        "the 10th and the 40 after it see the lock"
    );
    assert_eq!(
        app.op.store.list_mail(100).await.unwrap().len(),
        1,
        "exactly one lock mail"
    );
}

// REQ-PW-4 (no answer reveals registration): an unknown address locks the same way, without mail.
#[tokio::test]
async fn unknown_address_locks_the_same_way() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let browser = Browser::new();
    let page = login_page(&app, &browser, &seed.client.client_id).await;
    for i in 1..=10 {
        let body = attempt(
            &app,
            &browser,
            &page,
            "nobody@example.jp",
            "wrong-Password-1",
        )
        .await
        .unwrap();
        assert_eq!(body.contains(LOCKED), i == 10, "attempt {i}");
    }
    assert!(app.deliver_mail().await.is_empty());
}

// REQ-MAIL-1: a mail-server outage during the lock loses nothing: the mail waits in the outbox.
#[tokio::test]
async fn lock_mail_survives_a_mail_server_outage() {
    let mut app = TestApp::spawn().await;
    let seed = app.seed().await;
    app.smtp.stop().unwrap();
    let browser = Browser::new();
    let page = login_page(&app, &browser, &seed.client.client_id).await;
    for _ in 0..10 {
        attempt(&app, &browser, &page, EMAIL, "wrong-Password-1")
            .await
            .unwrap();
    }
    let first = app.mailer.deliver_due().await.unwrap();
    assert_eq!((first.sent, first.failed), (0, 1), "the server is down");
    let queued = app.op.store.list_mail(10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].sent_at.is_none() && queued[0].last_error.is_some());

    app.smtp.restart().unwrap();
    app.clock.advance(3600);
    let mails = app.deliver_mail().await;
    assert_eq!(mails.len(), 1, "delivered once the server is back");
    assert_eq!(
        mails[0].subject,
        "【OTクラウド・ストレージ】アカウントロック"
    );
}
