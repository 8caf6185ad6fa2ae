//! Issue 6 end to end, through Sekisho's HTTP server with the real SMTP sink: the contractor
//! invites a user from the admin console → the user registers with a password → logs in at an RP;
//! the admin sends an email change → the user confirms, sets a password, and must enrol 2FA
//! again; the admin sends a login-method change → the user binds an upstream account (loopback
//! oidc-provider) → logs in with it; the pending-change rule refuses a second change.

use crate::support::rp_for;
use crate::two_factor::{enrol_totp, excerpt, fields, page};
use sekisho_core::model::{TwoFactorSetting, UserStatus};
use sekisho_e2e::{
    form_action, hidden_inputs, link_in, Browser, Hop, TestApp, BRAND, EMAIL, PASSWORD,
};
use sekisho_testkit::Profile;

const HANAKO: &str = "hanako@example.jp";
const HANAKO_NEW: &str = "hanako.new@example.jp";
const HANAKO_PASSWORD: &str = "Sakura-Kaika-2026";
const HANAKO_PASSWORD_2: &str = "Momiji-Gari-2026";

/// A browser signed in to the account menu as the seed's contractor (2FA off in `seed`).
pub async fn contractor(app: &TestApp) -> Browser {
    let browser = Browser::new();
    let url = format!("{}/{BRAND}/account/login", app.base);
    let (_, login) = page(browser.follow(&app.base, &url).await.unwrap());
    let (at, menu) = page(
        browser
            .submit_login(&app.base, &login, EMAIL, PASSWORD)
            .await
            .unwrap(),
    );
    assert!(at.ends_with("/account"), "{at}: {}", excerpt(&menu));
    assert!(menu.contains("管理コンソール"), "{}", excerpt(&menu));
    browser
}

/// The newest mail to `to` whose subject ends with `title`; its link starting with `path`.
pub async fn mailed_link(app: &TestApp, to: &str, title: &str, path: &str) -> (String, String) {
    let mails = app.deliver_mail().await;
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.to.contains(to) && m.subject.ends_with(title))
        .unwrap_or_else(|| {
            panic!(
                "no mail {title} to {to} among {:?}",
                mails
                    .iter()
                    .map(|m| (&m.to, &m.subject))
                    .collect::<Vec<_>>()
            )
        });
    assert_eq!(
        mail.subject,
        format!("【OTクラウド・ストレージ】{title}"),
        "REQ-MAIL-1"
    );
    let link = link_in(&mail.body, &format!("{}/{BRAND}/{path}", app.base))
        .unwrap_or_else(|| panic!("no {path} link in {}", mail.body));
    (link, mail.body.replace("\r\n", "\n"))
}

/// Invites `email` from the console (REQ-USER-1); returns the registration link of the mail.
pub async fn invite(app: &TestApp, console: &Browser, email: &str, name: &str) -> String {
    let (_, users) = page(browser_get(app, console, "admin").await);
    let (at, after) = page(
        console
            .post(
                &app.base,
                &format!("/{BRAND}/admin/invite"),
                &fields(
                    &users,
                    &[("email", email), ("name", name), ("role", "user")],
                ),
            )
            .await
            .unwrap(),
    );
    assert!(at.contains("done=invited"), "{at}: {}", excerpt(&after));
    assert!(after.contains(email), "the list shows the invited user");
    assert!(after.contains("登録待ち"), "{}", excerpt(&after));
    let (link, body) = mailed_link(app, email, "利用者登録のご案内", "registration").await;
    assert!(
        body.contains(&format!(
            "{EMAIL}より{name}様が\n本サービスの利用者として登録されました。"
        )),
        "{body}"
    );
    link
}

pub(crate) async fn browser_get(app: &TestApp, browser: &Browser, path: &str) -> Hop {
    browser
        .follow(&app.base, &format!("{}/{BRAND}/{path}", app.base))
        .await
        .unwrap()
}

/// Submits the first form of `html` with its hidden fields plus `more` (as a browser would:
/// only that form's fields, not those of the page's other forms).
pub(crate) async fn submit(
    app: &TestApp,
    browser: &Browser,
    html: &str,
    more: &[(&str, &str)],
) -> Hop {
    let action = form_action(html).unwrap_or_else(|| panic!("no form in {}", excerpt(html)));
    let form = &html[html.find("<form").unwrap_or(0)..];
    let form = &form[..form.find("</form>").unwrap_or(form.len())];
    let mut f = hidden_inputs(form);
    f.extend(more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    browser.post(&app.base, &action, &f).await.unwrap()
}

/// The id of the user with `email`.
async fn user_id(app: &TestApp, email: &str) -> String {
    app.op
        .store
        .find_user_by_email(BRAND, &sekisho_core::email::Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no user {email}"))
        .id
}

/// Logs in at the RP with a password; the page or redirect that followed the password.
async fn password_login(app: &TestApp, browser: &Browser, url: &str, email: &str, pw: &str) -> Hop {
    let (_, login) = page(browser.follow(&app.base, url).await.unwrap());
    browser
        .submit_login(&app.base, &login, email, pw)
        .await
        .unwrap()
}

// REQ-USER-1 REQ-USER-2 REQ-USER-4 REQ-USER-6 REQ-USER-7 REQ-2FA-6 REQ-MAIL-2: the whole life of a
// user, as issue 6's acceptance walks it.
#[tokio::test]
async fn invitation_email_change_and_login_method_change() {
    let app = TestApp::spawn_with_upstreams(&[Profile::Google]).await;
    let seed = app.seed().await;
    let rp = rp_for(&app, &seed).await;
    let console = contractor(&app).await;

    // The contractor invites Hanako; she registers with a password.
    let link = invite(&app, &console, HANAKO, "山田花子").await;
    let id = user_id(&app, HANAKO).await;
    let invited = app.op.store.find_user(&id).await.unwrap().unwrap();
    assert_eq!(invited.status, UserStatus::Invited);
    let browser = Browser::new();
    let (_, choose) = page(browser.follow(&app.base, &link).await.unwrap());
    assert!(
        choose.contains("利用者ログイン登録"),
        "{}",
        excerpt(&choose)
    );
    assert!(
        choose.contains("Googleアカウントで登録"),
        "{}",
        excerpt(&choose)
    );
    assert!(
        choose.contains("ログアウト"),
        "REQ-USER-3 advice: {}",
        excerpt(&choose)
    );
    // A password outside the policy is refused and the link still works.
    let (_, weak) = page(
        submit(
            &app,
            &browser,
            &choose,
            &[("new_password", "short"), ("confirm_password", "short")],
        )
        .await,
    );
    assert!(
        weak.contains("パスワードが短すぎます"),
        "{}",
        excerpt(&weak)
    );
    let (_, confirm) = page(
        submit(
            &app,
            &browser,
            &weak,
            &[
                ("new_password", HANAKO_PASSWORD),
                ("confirm_password", HANAKO_PASSWORD),
            ],
        )
        .await,
    );
    assert!(confirm.contains("申込確認"), "{}", excerpt(&confirm));
    assert!(confirm.contains("メールアドレス・パスワードで登録"));
    assert!(confirm.contains(HANAKO));
    assert!(confirm.contains("(非表示)") && !confirm.contains(HANAKO_PASSWORD));
    let (_, done) = page(submit(&app, &browser, &confirm, &[]).await);
    assert!(done.contains("申込完了"), "{}", excerpt(&done));
    let (_, reused) = page(browser.follow(&app.base, &link).await.unwrap());
    assert!(
        reused.contains("URLが無効です"),
        "single use: {}",
        excerpt(&reused)
    );

    // She logs in at the RP; the ID token verifies and names her.
    let req = rp.start(None, None);
    let back = match password_login(&app, &Browser::new(), &req.url, HANAKO, HANAKO_PASSWORD).await
    {
        Hop::LeftOp(url) => url,
        Hop::Page { url, body, .. } => panic!("ended at {url}: {}", excerpt(&body)),
    };
    let (amr, _, claims) = rp.finish_with_claims(req, &back).await;
    assert_eq!(amr, ["pwd"]);
    assert_eq!(claims["sub"], id.as_str());

    // With 2FA on, she enrols the authenticator at her next login.
    app.op
        .store
        .set_contract_two_factor(&seed.contract_id, TwoFactorSetting::Enabled)
        .await
        .unwrap();
    let req = rp.start(None, None);
    let (_, setup) = page(password_login(&app, &browser, &req.url, HANAKO, HANAKO_PASSWORD).await);
    let (_, _, _) = enrol_totp(&app, &browser, &setup, false).await;
    assert!(app
        .op
        .store
        .find_second_factor(&id)
        .await
        .unwrap()
        .is_some());

    // The contractor sends an email change; a login-method change is refused while it is
    // pending (REQ-USER-7).
    let (_, detail) = page(browser_get(&app, &console, &format!("admin/users/{id}")).await);
    assert!(detail.contains(HANAKO), "{}", excerpt(&detail));
    let (at, sent) = page(
        console
            .post(
                &app.base,
                &format!("/{BRAND}/admin/users/{id}/email"),
                &fields(&detail, &[("new_email", HANAKO_NEW)]),
            )
            .await
            .unwrap(),
    );
    assert!(at.contains("done=email"), "{at}: {}", excerpt(&sent));
    let refused = console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/users/{id}/login-method"),
            &fields(&sent, &[]),
        )
        .await
        .unwrap();
    match refused {
        Hop::Page { status, body, .. } => {
            assert_eq!(status, 409);
            assert!(body.contains("同時に実施できません"), "{}", excerpt(&body));
        }
        Hop::LeftOp(url) => panic!("went to {url}"),
    }
    // An address already used in the brand is refused.
    let taken = console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/users/{id}/email"),
            &fields(&sent, &[("new_email", EMAIL)]),
        )
        .await
        .unwrap();
    assert!(
        matches!(&taken, Hop::Page { status, .. } if *status == 409),
        "{taken:?}"
    );

    // The mail goes to the new address; Hanako sets her password on the confirmation page.
    let (link, _) = mailed_link(&app, HANAKO_NEW, "メールアドレス変更登録", "email-change").await;
    let (_, confirm) = page(browser.follow(&app.base, &link).await.unwrap());
    assert!(
        confirm.contains("メールアドレス変更確認"),
        "{}",
        excerpt(&confirm)
    );
    assert!(confirm.contains(HANAKO_NEW));
    let (_, changed) = page(
        submit(
            &app,
            &browser,
            &confirm,
            &[
                ("new_password", HANAKO_PASSWORD_2),
                ("confirm_password", HANAKO_PASSWORD_2),
            ],
        )
        .await,
    );
    assert!(
        changed.contains("メールアドレスを変更しました"),
        "{}",
        excerpt(&changed)
    );
    assert!(
        app.op
            .store
            .find_second_factor(&id)
            .await
            .unwrap()
            .is_none(),
        "REQ-2FA-6: the registration is reset"
    );
    // The old address no longer logs in; the new one must enrol 2FA again.
    let req = rp.start(None, None);
    let (_, old) =
        page(password_login(&app, &Browser::new(), &req.url, HANAKO, HANAKO_PASSWORD_2).await);
    assert!(
        old.contains("メールアドレスまたはパスワードが正しくありません"),
        "{}",
        excerpt(&old)
    );
    let fresh = Browser::new();
    let (_, setup) =
        page(password_login(&app, &fresh, &req.url, HANAKO_NEW, HANAKO_PASSWORD_2).await);
    assert!(
        setup.contains("2段階認証の設定") && setup.contains("name=\"phone\""),
        "enrolment again, not verification: {}",
        excerpt(&setup)
    );
    let (_, _, after) = enrol_totp(&app, &fresh, &setup, false).await;
    let back = match after {
        Hop::LeftOp(url) => url,
        Hop::Page { url, body, .. } => panic!("ended at {url}: {}", excerpt(&body)),
    };
    rp.finish(req, &back).await;

    // Now the login-method change: the mail, then an upstream (Google) account.
    let (_, detail) = page(browser_get(&app, &console, &format!("admin/users/{id}")).await);
    let (at, _) = page(
        console
            .post(
                &app.base,
                &format!("/{BRAND}/admin/users/{id}/login-method"),
                &fields(&detail, &[]),
            )
            .await
            .unwrap(),
    );
    assert!(at.contains("done=login-method"), "{at}");
    // ... and an email change is refused while it is pending (REQ-USER-7).
    let refused = console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/users/{id}/email"),
            &fields(&detail, &[("new_email", "hanako.3@example.jp")]),
        )
        .await
        .unwrap();
    assert!(
        matches!(&refused, Hop::Page { status, .. } if *status == 409),
        "{refused:?}"
    );
    let (link, body) =
        mailed_link(&app, HANAKO_NEW, "ログイン方法の設定変更", "login-method").await;
    assert!(body.contains("ログアウトした後に"), "REQ-USER-3: {body}");
    let (_, choose) = page(browser.follow(&app.base, &link).await.unwrap());
    assert!(
        choose.contains("現在ご利用中のログイン方法: メールアドレス・パスワード"),
        "{}",
        excerpt(&choose)
    );
    let start = crate::upstream::bind_start(&app, &browser, &choose, "Googleアカウント").await;
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
    let req = rp.start(None, None);
    let back = match crate::upstream::login(
        &app,
        &Browser::new(),
        &req.url,
        Profile::Google,
        "hanako-google",
    )
    .await
    {
        Hop::LeftOp(url) => url,
        Hop::Page { url, body, .. } => panic!("ended at {url}: {}", excerpt(&body)),
    };
    let (amr, _, claims) = rp.finish_with_claims(req, &back).await;
    assert_eq!(amr, ["fed"], "2FA does not apply to upstream users");
    assert_eq!(claims["sub"], id.as_str());
}
