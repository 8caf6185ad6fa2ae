//! The account menu: its own login, only the items the person may use, and password change.

use sekisho_core::model::Role;
use sekisho_e2e::{hidden_inputs, Browser, TestApp, EMAIL, PASSWORD};

/// Logs in at the account menu's login page; returns the menu page.
async fn menu_login(app: &TestApp, browser: &Browser, email: &str, password: &str) -> String {
    let page = browser
        .get(&format!("{}/account/login", app.issuer()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("認証・契約情報変更ログイン"));
    let mut form = hidden_inputs(&page);
    form.push(("email".into(), email.into()));
    form.push(("password".into(), password.into()));
    let res = browser
        .http
        .post(format!("{}/login", app.issuer()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .ends_with("/VX5/account"));
    browser
        .get(&format!("{}/account", app.issuer()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

const ALL_ITEMS: &[&str] = &[
    "ログイン方法の設定",
    "メールアドレス変更",
    "パスワード変更",
    "アクセス経路設定",
    "2段階認証設定",
    "Active Directory設定",
    "契約情報変更",
    "プラン変更",
    "解約",
];

// REQ-MENU-1 REQ-MENU-2: the contractor of a basic contract sees every item; another user only
// password change; the menu needs a login.
#[tokio::test]
async fn menu_shows_only_permitted_items() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let anonymous = Browser::new()
        .get(&format!("{}/account", app.issuer()))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303, "the menu needs a login");

    let menu = menu_login(&app, &Browser::new(), EMAIL, PASSWORD).await;
    let shows = |menu: &str, item: &str| menu.contains(&format!(">{item}</a>"));
    for item in ALL_ITEMS {
        assert!(shows(&menu, item), "contractor sees {item}");
    }
    sekisho::admin::add_user(
        &app.op,
        &seed.contract_id,
        "member@example.jp",
        "Member-Pass-1",
        Role::User,
        "",
    )
    .await
    .unwrap();
    let browser = Browser::new();
    let menu = menu_login(&app, &browser, "member@example.jp", "Member-Pass-1").await;
    for item in ALL_ITEMS {
        assert_eq!(
            shows(&menu, item),
            *item == "パスワード変更",
            "a user sees {item}?"
        );
    }
    let forbidden = browser
        .get(&format!("{}/account/item/two_factor", app.issuer()))
        .await
        .unwrap();
    assert_eq!(
        forbidden.status(),
        403,
        "an item outside the table is refused, not just hidden"
    );
}

// REQ-PW-2: password change needs the current password and follows the rule.
#[tokio::test]
async fn password_change_from_the_menu() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let browser = Browser::new();
    menu_login(&app, &browser, EMAIL, PASSWORD).await;
    let url = format!("{}/account/password", app.issuer());
    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        let (browser, url, base) = (&browser, url.clone(), app.base.clone());
        async move {
            let page = browser.get(&url).await.unwrap().text().await.unwrap();
            assert!(
                page.contains("3種類以上を含め8文字以上"),
                "the rule is stated"
            );
            let mut form = hidden_inputs(&page);
            form.extend([
                ("current_password".to_string(), current.to_string()),
                ("new_password".into(), new.into()),
                ("confirm_password".into(), confirm.into()),
            ]);
            let action = sekisho_e2e::form_action(&page).unwrap();
            browser
                .http
                .post(format!("{base}{action}"))
                .form(&form)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(
        change("not-my-Password-1", "Fuji-San-3776", "Fuji-San-3776")
            .await
            .contains("現在のパスワードが正しくありません")
    );
    assert!(change(PASSWORD, "short", "short")
        .await
        .contains("8文字以上で設定してください"));
    let done = change(PASSWORD, "Fuji-San-3776", "Fuji-San-3776").await;
    assert!(done.contains("パスワードを変更しました"), "{done}");
    let menu = menu_login(&app, &Browser::new(), EMAIL, "Fuji-San-3776").await;
    assert!(menu.contains("パスワード変更"));
}

// REQ-LOGIN-1 REQ-LOGIN-6: each brand's pages show its own name; every page exists in English.
#[tokio::test]
async fn brands_and_languages() {
    let app = TestApp::spawn().await;
    app.seed().await;
    sekisho::admin::add_brand(&app.op, "VX4", "どこでもBOX")
        .await
        .unwrap();
    let get = |url: String, lang: &'static str| async move {
        reqwest::Client::new()
            .get(url)
            .header("accept-language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let vx5 = get(format!("{}/VX5/login", app.base), "ja").await;
    let vx4 = get(format!("{}/VX4/login", app.base), "ja").await;
    assert!(vx5.contains("OTクラウド・ストレージ") && !vx5.contains("どこでもBOX"));
    assert!(vx4.contains("どこでもBOX") && !vx4.contains("OTクラウド・ストレージ"));
    for (path, ja, en) in [
        (
            "login",
            "パスワードを忘れた方はこちら",
            "Forgot your password?",
        ),
        (
            "password/forgot",
            "パスワードリセットのご案内",
            "We will send you an email to reset your password.",
        ),
        (
            "account/login",
            "認証・契約情報変更ログイン",
            "Log in to sign-in and contract settings",
        ),
        (
            "password/reset?ticket=nope",
            "URLが無効です",
            "This link is not valid",
        ),
        (
            "unlock?ticket=nope",
            "URLが無効です",
            "This link is not valid",
        ),
    ] {
        let url = format!("{}/VX5/{path}", app.base);
        assert!(get(url.clone(), "ja").await.contains(ja), "{path} ja");
        let english = get(url, "en-US,en;q=0.9").await;
        assert!(
            english.contains(en) && english.contains("lang=\"en\""),
            "{path} en"
        );
    }
}
