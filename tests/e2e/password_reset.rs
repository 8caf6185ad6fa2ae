//! Forgot password, reset by mailed link, and the password rule on the pages that set one.

use sekisho_e2e::{hidden_inputs, link_in, Browser, Hop, TestApp, EMAIL};

const NEW_PASSWORD: &str = "Fuji-San-3776";

/// GET a page, then POST its form with the hidden fields plus `fields`; returns (status, body).
async fn submit(
    app: &TestApp,
    browser: &Browser,
    page_url: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let page = browser.get(page_url).await.unwrap().text().await.unwrap();
    let action = sekisho_e2e::form_action(&page).expect("form");
    let mut form = hidden_inputs(&page);
    form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let res = browser
        .http
        .post(format!("{}{action}", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn request_reset(app: &TestApp, browser: &Browser, email: &str) -> (u16, String) {
    submit(
        app,
        browser,
        &format!("{}/password/forgot", app.issuer()),
        &[("email", email)],
    )
    .await
}

async fn reset_link(app: &TestApp) -> String {
    let mails = app.deliver_mail().await;
    let mail = mails
        .iter()
        .find(|m| m.subject == "【OTクラウド・ストレージ】パスワードリセット")
        .expect("a reset mail");
    link_in(
        &mail.body,
        &format!("{}/password/reset?ticket=", app.issuer()),
    )
    .expect("reset link")
}

/// Logs in with email/password at the brand's login page (no RP); true when it worked.
async fn can_log_in(app: &TestApp, password: &str) -> bool {
    let browser = Browser::new();
    let page = browser
        .get(&format!("{}/login", app.issuer()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    match browser
        .submit_login(&app.base, &page, EMAIL, password)
        .await
        .unwrap()
    {
        Hop::Page { body, .. } => body.contains("ログインしました"),
        Hop::LeftOp(_) => false,
    }
}

// REQ-PW-4: the answer is identical, in status and body, for a registered and an unknown address.
#[tokio::test]
async fn forgot_password_answer_does_not_reveal_registration() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let (s1, b1) = request_reset(&app, &Browser::new(), EMAIL).await;
    let (s2, b2) = request_reset(&app, &Browser::new(), "nobody@example.jp").await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(b1, b2);
    assert_eq!(
        app.deliver_mail().await.len(),
        1,
        "only the registered address gets a mail"
    );
}

// REQ-PW-3 REQ-MAIL-2: the reset link sets a new password once; afterwards it is spent.
#[tokio::test]
async fn reset_link_works_once() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let browser = Browser::new();
    request_reset(&app, &browser, EMAIL).await;
    let link = reset_link(&app).await;
    let (status, body) = submit(
        &app,
        &browser,
        &link,
        &[
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("リセットパスワードの手続きが完了いたしました。"));
    assert!(can_log_in(&app, NEW_PASSWORD).await);
    assert!(
        !can_log_in(&app, sekisho_e2e::PASSWORD).await,
        "the old password no longer works"
    );
    let again = browser.get(&link).await.unwrap();
    assert_eq!(again.status(), 400, "the link is spent");
}

// ISSUE-18: a new password ends every session of the account (whoever knew the old one is
// signed out at once) and the RPs they signed in to are told by back-channel logout.
#[tokio::test]
async fn a_password_reset_signs_out_everywhere_and_tells_the_rps() {
    let app = crate::backchannel_logout::reaching_loopback().await;
    app.seed().await;
    let receiver = sekisho_testkit::SmsGatewayDouble::start().unwrap();
    let rp = app
        .client(|c| {
            c.backchannel_logout_uri = Some(format!("http://127.0.0.1:{}/bcl", receiver.port()))
        })
        .await;
    let signed_in = Browser::new();
    let (_, claims) = crate::backchannel_logout::sign_in(
        &app,
        &signed_in,
        &rp.client_id,
        rp.client_secret.as_deref().unwrap(),
    )
    .await;

    let browser = Browser::new();
    request_reset(&app, &browser, EMAIL).await;
    let link = reset_link(&app).await;
    let fields = [
        ("new_password", NEW_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
    ];
    assert_eq!(submit(&app, &browser, &link, &fields).await.0, 200);

    assert_eq!(app.deliver_logouts().await, 1);
    let tokens = crate::backchannel_logout::tokens_at(&receiver, "/bcl");
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].contains('.'));
    let silent = crate::support::authorize_url(&app, &rp.client_id, &[("prompt", "none")]);
    let res = signed_in.get(&silent).await.unwrap();
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.contains("error=login_required"),
        "the old session ended: {to}"
    );
    let _ = claims;
}

// REQ-MAIL-2: links expire after 14 days.
#[tokio::test]
async fn reset_link_expires_after_14_days() {
    let app = TestApp::spawn().await;
    app.seed().await;
    request_reset(&app, &Browser::new(), EMAIL).await;
    let link = reset_link(&app).await;
    app.clock.advance(14 * 86_400 - 1);
    assert_eq!(
        Browser::new().get(&link).await.unwrap().status(),
        200,
        "still valid just before 14 days"
    );
    app.clock.advance(2);
    let res = Browser::new().get(&link).await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("有効期限"));
}

// REQ-PW-1: the rule is stated, and each violation has its own message; the ticket survives them.
#[tokio::test]
async fn reset_page_states_the_rule_and_each_violation() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let browser = Browser::new();
    request_reset(&app, &browser, EMAIL).await;
    let link = reset_link(&app).await;
    let page = browser.get(&link).await.unwrap().text().await.unwrap();
    assert!(page.contains("パスワードは英大文字、英小文字、数字、記号から3種類以上を含め8文字以上"));
    for (pw, confirm, message) in [
        ("Ab-1", "Ab-1", "8文字以上で設定してください"),
        (
            "onlylowercase",
            "onlylowercase",
            "3種類以上を含めてください",
        ),
        (
            NEW_PASSWORD,
            "Fuji-San-3777",
            "確認用パスワードが一致しません",
        ),
    ] {
        let (status, body) = submit(
            &app,
            &browser,
            &link,
            &[("new_password", pw), ("confirm_password", confirm)],
        )
        .await;
        assert_eq!(status, 200);
        assert!(body.contains(message), "{pw}: {message}");
    }
    let (_, body) = submit(
        &app,
        &browser,
        &link,
        &[
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert!(
        body.contains("完了"),
        "the link still works after rejected attempts"
    );
}

// REQ-LOCK-2: when the unlock link has expired, a password reset unlocks the account.
#[tokio::test]
async fn password_reset_unlocks_after_the_unlock_link_expired() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    for _ in 0..10 {
        can_log_in(&app, "wrong-Password-1").await;
    }
    assert!(app
        .op
        .store
        .find_user(&seed.user_id)
        .await
        .unwrap()
        .unwrap()
        .locked_at
        .is_some());
    let unlock = link_in(
        &app.deliver_mail().await[0].body,
        &format!("{}/unlock?ticket=", app.issuer()),
    )
    .unwrap();
    app.clock.advance(15 * 86_400);
    let res = Browser::new().get(&unlock).await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("パスワードを忘れた方はこちら"),
        "the page points to the reset"
    );

    let browser = Browser::new();
    request_reset(&app, &browser, EMAIL).await;
    let link = reset_link(&app).await;
    submit(
        &app,
        &browser,
        &link,
        &[
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert!(
        can_log_in(&app, NEW_PASSWORD).await,
        "reset unlocked the account"
    );
}

/// Opens a fresh authorization request in `browser` and submits `password`; the page that
/// followed (the second step's, where the contract asks for it).
async fn rp_login(
    app: &TestApp,
    browser: &Browser,
    client_id: &str,
    password: &str,
) -> (String, String) {
    let url = crate::support::authorize_url(app, client_id, &[]);
    let (_, login) = crate::two_factor::page(browser.follow(&app.base, &url).await.unwrap());
    crate::two_factor::page(
        browser
            .submit_login(&app.base, &login, EMAIL, password)
            .await
            .unwrap(),
    )
}

// REQ-2FA-6 REQ-PW-3 ISSUE-16: a password reset resets the two-step registration, and says so
// where the contract asks for two-step verification: the completion page tells the user to set
// it up again at the next login, and that login's enrolment page gives this reason, not the
// verification's 「はじめてご利用のブラウザ…30日間」. A contract without 2FA hears nothing of it.
#[tokio::test]
async fn password_reset_says_two_step_verification_must_be_set_up_again() {
    let app = TestApp::spawn().await;
    let seed = app.seed_two_factor().await;
    let first = Browser::new();
    let (at, setup) = rp_login(&app, &first, &seed.client.client_id, sekisho_e2e::PASSWORD).await;
    assert!(at.ends_with("/2fa"), "{at}");
    crate::two_factor::enrol_totp(&app, &first, &setup, false).await;
    assert!(app
        .op
        .store
        .find_second_factor(&seed.user_id)
        .await
        .unwrap()
        .is_some());

    let browser = Browser::new();
    request_reset(&app, &browser, EMAIL).await;
    let link = reset_link(&app).await;
    let (status, done) = submit(
        &app,
        &browser,
        &link,
        &[
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert!(
        done.contains("リセットパスワードの手続きが完了いたしました。")
            && done.contains("2段階認証の登録がリセットされました")
            && done.contains("次回ログイン時に、2段階認証を再登録してください。"),
        "{done}"
    );

    let (at, enrol) = rp_login(&app, &Browser::new(), &seed.client.client_id, NEW_PASSWORD).await;
    assert!(at.ends_with("/2fa"), "{at}");
    assert!(enrol.contains("name=\"phone\""), "enrolment: {enrol}");
    assert!(
        enrol.contains("2段階認証が登録されていないため、設定が必要です")
            && enrol.contains("パスワードリセット"),
        "{enrol}"
    );
    assert!(!enrol.contains("はじめてご利用のブラウザ"), "{enrol}");

    // The same reset in a contract without two-step verification says nothing of it.
    let app = TestApp::spawn().await;
    app.seed().await;
    let browser = Browser::new();
    request_reset(&app, &browser, EMAIL).await;
    let link = reset_link(&app).await;
    let (_, done) = submit(
        &app,
        &browser,
        &link,
        &[
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert!(
        done.contains("リセットパスワードの手続きが完了いたしました。"),
        "{done}"
    );
    assert!(!done.contains("2段階認証"), "{done}");
}
