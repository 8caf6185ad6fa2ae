//! The account menu's own items (REQ-MENU-2, issue 6 item 5) and the console's user actions
//! (issue 6 item 6), through the HTTP server: the contractor's own email and login-method change,
//! a trial becoming basic (also after the trial ended, within 15 days), cancellation, contract
//! information, and disable / enable / delete with their effect on logins and tokens.

use crate::support::{authorize_url, code, redeem, userinfo_status, VERIFIER};
use crate::two_factor::{excerpt, fields, page};
use crate::user_lifecycle::{browser_get as get, contractor, invite, mailed_link, submit};
use sekisho_core::model::{Plan, UserStatus};
use sekisho_e2e::{Browser, Hop, TestApp, BRAND, EMAIL, PASSWORD};

const DAY: i64 = 24 * 3600;
const NEW_PASSWORD: &str = "Fuji-San-3776m";

fn status(hop: &Hop) -> u16 {
    match hop {
        Hop::Page { status, .. } => status.as_u16(),
        Hop::LeftOp(_) => 0,
    }
}

// REQ-USER-6 REQ-USER-4 REQ-MENU-2: the contractor of a basic contract changes their own email
// (mail to the new address, password set on its page) and then their login method back to a
// password from the menu (its button opens the choice at once, no mail).
#[tokio::test]
async fn contractor_changes_own_email_and_login_method() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let menu = contractor(&app).await;
    let (_, form) = page(get(&app, &menu, "account/email").await);
    assert!(form.contains("メールアドレス変更"), "{}", excerpt(&form));
    let (_, mismatch) = page(
        submit(
            &app,
            &menu,
            &form,
            &[
                ("new_email", "a@example.jp"),
                ("confirm_email", "b@example.jp"),
            ],
        )
        .await,
    );
    assert!(mismatch.contains("一致しません"), "{}", excerpt(&mismatch));
    let (_, sent) = page(
        submit(
            &app,
            &menu,
            &form,
            &[
                ("new_email", "owner@example.jp"),
                ("confirm_email", "owner@example.jp"),
            ],
        )
        .await,
    );
    assert!(
        sent.contains("確認メールを送信しました"),
        "{}",
        excerpt(&sent)
    );
    let (link, _) = mailed_link(
        &app,
        "owner@example.jp",
        "メールアドレス変更登録",
        "email-change",
    )
    .await;
    let browser = Browser::new();
    let (_, confirm) = page(browser.follow(&app.base, &link).await.unwrap());
    let (_, done) = page(
        submit(
            &app,
            &browser,
            &confirm,
            &[
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await,
    );
    assert!(
        done.contains("メールアドレスを変更しました"),
        "{}",
        excerpt(&done)
    );

    // The login-method item's button opens the choice at once; choosing a password.
    let fresh = Browser::new();
    let url = format!("{}/{BRAND}/account/login", app.base);
    let (_, login) = page(fresh.follow(&app.base, &url).await.unwrap());
    let (_, menu_page) = page(
        fresh
            .submit_login(&app.base, &login, "owner@example.jp", NEW_PASSWORD)
            .await
            .unwrap(),
    );
    assert!(
        menu_page.contains("ログイン方法の設定"),
        "{}",
        excerpt(&menu_page)
    );
    // ISSUE-16: the item is a page first; its button starts the change.
    let (_, start) = page(get(&app, &fresh, "account/login-method").await);
    assert!(
        start.contains("ログイン方法を変更する"),
        "{}",
        excerpt(&start)
    );
    let (at, choose) = page(submit(&app, &fresh, &start, &[]).await);
    assert!(at.contains("/login-method?ticket="), "{at}");
    assert!(
        choose.contains("現在ご利用中のログイン方法"),
        "{}",
        excerpt(&choose)
    );
    let (_, changed) = page(
        submit(
            &app,
            &fresh,
            &choose,
            &[("new_password", PASSWORD), ("confirm_password", PASSWORD)],
        )
        .await,
    );
    assert!(
        changed.contains("ログイン方法を変更しました"),
        "{}",
        excerpt(&changed)
    );
}

// REQ-MENU-2 ※1 ※2, issue 6 item 1: a trial contractor cannot change login method or email or
// cancel; after the 30 days the contract ends (no RP login) but the contractor may still open
// the menu and change to basic for 15 days, after which their users log in again.
#[tokio::test]
async fn trial_changes_to_basic_within_the_grace_period() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    app.op
        .store
        .set_contract_plan(&seed.contract_id, Plan::Trial)
        .await
        .unwrap();
    let menu = contractor(&app).await;
    for item in [
        "account/login-method",
        "account/email",
        "account/cancel",
        "account/contract",
    ] {
        assert_eq!(status(&get(&app, &menu, item).await), 403, "{item}");
    }
    app.clock.advance(35 * DAY);
    // The trial has ended: an RP login is refused ...
    let browser = Browser::new();
    let url = authorize_url(&app, &seed.client.client_id, &[]);
    let (_, login) = page(browser.follow(&app.base, &url).await.unwrap());
    let refused = browser
        .submit_login(&app.base, &login, EMAIL, PASSWORD)
        .await
        .unwrap();
    assert_eq!(status(&refused), 403);
    // ... but the menu opens, and プラン変更 makes the contract basic.
    let menu = contractor(&app).await;
    let (_, plan) = page(get(&app, &menu, "account/plan").await);
    assert!(plan.contains("無料トライアル"), "{}", excerpt(&plan));
    let (_, unticked) = page(submit(&app, &menu, &plan, &[]).await);
    assert!(
        unticked.contains("無料トライアル"),
        "the box must be ticked"
    );
    let (_, changed) = page(submit(&app, &menu, &plan, &[("confirmed", "on")]).await);
    assert!(
        changed.contains("基本プランに変更しました"),
        "{}",
        excerpt(&changed)
    );
    let c = code(&app, &Browser::new(), &seed.client.client_id).await;
    assert!(!c.is_empty(), "the users log in again");

    // After the 15 days of grace, an ended trial's contractor cannot open the menu.
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    app.op
        .store
        .set_contract_plan(&seed.contract_id, Plan::Trial)
        .await
        .unwrap();
    app.clock.advance(46 * DAY);
    let browser = Browser::new();
    let url = format!("{}/{BRAND}/account/login", app.base);
    let (_, login) = page(browser.follow(&app.base, &url).await.unwrap());
    let refused = browser
        .submit_login(&app.base, &login, EMAIL, PASSWORD)
        .await
        .unwrap();
    assert_eq!(status(&refused), 403);
}

// Issue 6 item 5: 契約情報変更 renames the contract; 解約 (with its confirmation box) cancels it,
// and then nobody of the contract logs in.
#[tokio::test]
async fn contract_information_and_cancellation() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let menu = contractor(&app).await;
    let (_, info) = page(get(&app, &menu, "account/contract").await);
    let (_, saved) = page(submit(&app, &menu, &info, &[("name", "新テスト株式会社")]).await);
    assert!(saved.contains("保存しました"), "{}", excerpt(&saved));
    let contract = app
        .op
        .store
        .find_contract(&seed.contract_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contract.name, "新テスト株式会社");

    let (_, cancel) = page(get(&app, &menu, "account/cancel").await);
    assert!(cancel.contains("解約すると"), "{}", excerpt(&cancel));
    let (_, unticked) = page(submit(&app, &menu, &cancel, &[]).await);
    assert!(
        unticked.contains("解約すると"),
        "nothing happens without the tick"
    );
    assert!(app
        .op
        .store
        .find_contract(&seed.contract_id)
        .await
        .unwrap()
        .unwrap()
        .is_active(app.op.now()));
    let (_, cancelled) = page(submit(&app, &menu, &cancel, &[("confirmed", "on")]).await);
    assert!(
        cancelled.contains("解約しました"),
        "{}",
        excerpt(&cancelled)
    );
    let browser = Browser::new();
    let url = authorize_url(&app, &seed.client.client_id, &[]);
    let (_, login) = page(browser.follow(&app.base, &url).await.unwrap());
    let refused = browser
        .submit_login(&app.base, &login, EMAIL, PASSWORD)
        .await
        .unwrap();
    assert_eq!(status(&refused), 403);
}

// Issue 6 item 6: disabling a user stops their tokens and logins, enabling lets them back, and
// deleting (after its confirmation page) removes them; the contractor cannot be disabled or
// deleted, and a plain user cannot open the console.
#[tokio::test]
async fn console_disables_enables_and_deletes() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let console = contractor(&app).await;
    let link = invite(&app, &console, "jiro@example.jp", "次郎").await;
    let jiro = Browser::new();
    let (_, choose) = page(jiro.follow(&app.base, &link).await.unwrap());
    let (_, confirm) = page(
        submit(
            &app,
            &jiro,
            &choose,
            &[("new_password", PASSWORD), ("confirm_password", PASSWORD)],
        )
        .await,
    );
    let (_, done) = page(submit(&app, &jiro, &confirm, &[]).await);
    assert!(done.contains("申込完了"));
    let id = app
        .op
        .store
        .find_user_by_email(
            BRAND,
            &sekisho_core::email::Email::parse("jiro@example.jp").unwrap(),
        )
        .await
        .unwrap()
        .unwrap()
        .id;

    // A plain user cannot open the console.
    let url = format!("{}/{BRAND}/account/login", app.base);
    let (_, login) = page(jiro.follow(&app.base, &url).await.unwrap());
    jiro.submit_login(&app.base, &login, "jiro@example.jp", PASSWORD)
        .await
        .unwrap();
    assert_eq!(status(&get(&app, &jiro, "admin").await), 403);

    // Jiro's tokens work, then stop when he is disabled.
    let (client_id, secret) = (
        seed.client.client_id.clone(),
        seed.client.client_secret.clone().unwrap(),
    );
    let browser = Browser::new();
    let url = authorize_url(&app, &client_id, &[]);
    let (_, login) = page(browser.follow(&app.base, &url).await.unwrap());
    let back = match browser
        .submit_login(&app.base, &login, "jiro@example.jp", PASSWORD)
        .await
        .unwrap()
    {
        Hop::LeftOp(url) => url,
        Hop::Page { body, .. } => panic!("{}", excerpt(&body)),
    };
    let c = sekisho_e2e::query(&back)["code"].clone();
    let (_, tokens) = redeem(&app, &client_id, &secret, &c, VERIFIER).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo_status(&app, &access).await, 200);

    let (_, detail) = page(get(&app, &console, &format!("admin/users/{id}")).await);
    let status_form = &detail[detail
        .find("/status\"")
        .map(|i| detail[..i].rfind("<form").unwrap())
        .unwrap()..];
    let status_form = &status_form[..status_form.find("</form>").unwrap()];
    // Disabling asks first (ISSUE-16).
    let (_, ask) = page(submit(&app, &console, status_form, &[]).await);
    let (at, _) = page(submit(&app, &console, &ask, &[("confirmed", "on")]).await);
    assert!(at.contains("done=disabled"), "{at}");
    let user = app.op.store.find_user(&id).await.unwrap().unwrap();
    assert_eq!(user.status, UserStatus::Disabled);
    assert_eq!(
        userinfo_status(&app, &access).await,
        401,
        "a disabled user's token stops"
    );
    let (_, login) = page(Browser::new().follow(&app.base, &url).await.unwrap());
    let refused = Browser::new()
        .submit_login(&app.base, &login, "jiro@example.jp", PASSWORD)
        .await
        .unwrap();
    assert_eq!(status(&refused), 403, "a disabled user cannot log in");

    let (_, detail) = page(get(&app, &console, &format!("admin/users/{id}")).await);
    assert!(detail.contains("有効にする"), "{}", excerpt(&detail));
    let status_form = &detail[detail
        .find("/status\"")
        .map(|i| detail[..i].rfind("<form").unwrap())
        .unwrap()..];
    let status_form = &status_form[..status_form.find("</form>").unwrap()];
    page(submit(&app, &console, status_form, &[]).await);
    assert_eq!(
        app.op.store.find_user(&id).await.unwrap().unwrap().status,
        UserStatus::Active
    );

    // The contractor's own page offers no disable or delete, and posting them is refused.
    let (_, own) = page(get(&app, &console, &format!("admin/users/{}", seed.user_id)).await);
    assert!(
        !own.contains("無効にする") && !own.contains("/delete"),
        "{}",
        excerpt(&own)
    );
    let (_, list) = page(get(&app, &console, "admin").await);
    let refused = console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/users/{}/delete", seed.user_id),
            &fields(&list, &[("confirmed", "on")]),
        )
        .await
        .unwrap();
    assert_eq!(status(&refused), 403);

    // Deleting asks first, then the user is gone and cannot log in.
    let (_, ask) = page(get(&app, &console, &format!("admin/users/{id}/delete")).await);
    assert!(
        ask.contains("jiro@example.jp を削除します"),
        "{}",
        excerpt(&ask)
    );
    let (at, list) = page(submit(&app, &console, &ask, &[("confirmed", "on")]).await);
    assert!(at.contains("done=deleted"), "{at}");
    assert!(!list.contains("jiro@example.jp"), "{}", excerpt(&list));
    assert!(app.op.store.find_user(&id).await.unwrap().is_none());
    assert_eq!(userinfo_status(&app, &access).await, 401);
}

// ISSUE-16 (destructive actions) REQ-MENU-2: 解約 looks destructive, says when the service ends
// and what becomes of the data, and needs its box ticked, checked by the server: a POST without
// it changes nothing and says so on the page, beside the box.
#[tokio::test]
async fn cancellation_is_confirmed_and_says_what_ends() {
    use crate::forms_help::{assert_wrong_field, attr, tag};
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let menu = contractor(&app).await;
    let (_, cancel) = page(get(&app, &menu, "account/cancel").await);
    for text in [
        "解約すると、その時点でご契約は終了し、契約者を含むすべての利用者が本サービスにログインできなくなります。",
        "発行済みの認証情報はすべて無効になります",
        "利用者の登録情報(メールアドレス、ログイン方法、2段階認証の登録)とご契約の設定をご利用いただけなくなります。",
        "解約は取り消すことができません。",
        "上記を確認し、解約します",
    ] {
        assert!(cancel.contains(text), "{text}: {}", excerpt(&cancel));
    }
    let button = &cancel[cancel.find("<button").unwrap()..];
    let button = &button[..button.find('>').unwrap() + 1];
    assert_eq!(attr(button, "class").as_deref(), Some("danger"), "{button}");
    assert_eq!(
        attr(&tag(&cancel, "confirmed"), "type").as_deref(),
        Some("checkbox")
    );

    let unticked = submit(&app, &menu, &cancel, &[]).await;
    assert_eq!(status(&unticked), 400);
    let (_, unticked) = page(unticked);
    assert_wrong_field(
        &unticked,
        "confirmed",
        "解約する場合は「上記を確認し、解約します」にチェックしてください。",
    );
    let contract = app
        .op
        .store
        .find_contract(&seed.contract_id)
        .await
        .unwrap()
        .unwrap();
    assert!(contract.is_active(app.op.now()), "nothing changed");
    // Still signed in: the menu opens.
    let (at, _) = page(get(&app, &menu, "account").await);
    assert!(at.ends_with("/account"), "{at}");

    let (_, done) = page(submit(&app, &menu, &unticked, &[("confirmed", "on")]).await);
    assert!(done.contains("解約しました"), "{}", excerpt(&done));
    assert!(
        crate::forms_help::unescape(&done).contains("解約日時: 2030/01/01"),
        "when it ended: {}",
        excerpt(&done)
    );
    assert!(!app
        .op
        .store
        .find_contract(&seed.contract_id)
        .await
        .unwrap()
        .unwrap()
        .is_active(app.op.now()));
}
