//! The account menu: its own login, only the items the person may use, and password change.

use crate::forms_help::{attr, tag, text, unescape};
use sekisho_core::model::Role;
use sekisho_e2e::{hidden_inputs, Browser, Hop, TestApp, BRAND, EMAIL, PASSWORD};

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

/// The menu's headings in order, each with the labels of the items under it.
fn outline(menu: &str) -> Vec<(String, Vec<String>)> {
    menu.split("<h2")
        .skip(1)
        .map(|chunk| {
            let heading = &chunk[chunk.find('>').unwrap() + 1..chunk.find("</h2>").unwrap()];
            let list = &chunk[chunk.find("<ul").unwrap()..chunk.find("</ul>").unwrap()];
            let items = list
                .split("</a>")
                .filter_map(|s| s.rfind('>').map(|i| s[i + 1..].to_owned()))
                .filter(|s| !s.trim().is_empty())
                .collect();
            (heading.to_owned(), items)
        })
        .collect()
}

fn owned(outline: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    outline
        .iter()
        .map(|(h, items)| {
            (
                (*h).to_owned(),
                items.iter().map(|i| (*i).to_owned()).collect(),
            )
        })
        .collect()
}

// ISSUE-16 REQ-MENU-1 REQ-MENU-2: the menu as the manual draws it: the note that only permitted
// items are shown, the items under 認証情報の変更 / 認証情報の設定 / 契約情報の変更 (a heading with
// nothing to show is left out), the signed-in address, the console for the contractor, and the
// logout last, as a link-styled button rather than the page's main action.
#[tokio::test]
async fn menu_is_grouped_as_in_the_manual() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let menu = menu_login(&app, &Browser::new(), EMAIL, PASSWORD).await;
    assert_eq!(
        outline(&menu),
        owned(&[
            (
                "認証情報の変更",
                &["ログイン方法の設定", "メールアドレス変更", "パスワード変更"]
            ),
            (
                "認証情報の設定",
                &["アクセス経路設定", "2段階認証設定", "Active Directory設定"]
            ),
            ("契約情報の変更", &["契約情報変更", "プラン変更", "解約"]),
        ]),
        "{menu}"
    );
    for text in [
        "あなたに許可されたメニューのみ表示しております。ご不明点がございましたら、サポートセンターまでお問い合わせください。",
        "あなたの認証情報を変更できます。",
        "※メールアドレス変更では本サービスで登録しているメールアドレスを変更できます。",
        "ご契約している本サービスにおける設定の確認・変更が行えます。",
        "※認証方法は登録されている全てのユーザーに適用されます。",
        "ご契約している本サービスの契約情報を変更できます。",
    ] {
        assert!(menu.contains(text), "{text}");
    }
    assert_eq!(text(&menu, "signed-in-email"), EMAIL);
    let console = menu.find("id=\"admin-console\"").expect("the console link");
    let logout = tag(&menu, "logout");
    assert!(
        logout.starts_with("<button") && attr(&logout, "class").as_deref() == Some("link"),
        "a link-styled button: {logout}"
    );
    let at = menu.find("id=\"logout\"").unwrap();
    assert!(
        at > console && at > menu.rfind("</section>").unwrap(),
        "the logout comes last"
    );
    assert_eq!(
        menu.matches("<button").count(),
        1,
        "no other button competes"
    );

    // An ordinary user: their one heading, no console, the same note and logout.
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
    let menu = menu_login(&app, &Browser::new(), "member@example.jp", "Member-Pass-1").await;
    assert_eq!(
        outline(&menu),
        owned(&[("認証情報の変更", &["パスワード変更"])]),
        "{menu}"
    );
    assert!(
        !menu.contains("※メールアドレス変更では"),
        "no note about an item not shown"
    );
    assert!(menu.contains("あなたに許可されたメニューのみ表示しております。"));
    assert_eq!(text(&menu, "signed-in-email"), "member@example.jp");
    assert!(!menu.contains("admin-console"));
    assert!(tag(&menu, "logout").contains("class=\"link\""));
}

/// Whether the page has a link to `href` labelled `label`.
fn links_to(html: &str, href: &str, label: &str) -> bool {
    unescape(html).contains(&format!("href=\"{href}\">{label}</a>"))
}

// ISSUE-16 REQ-MENU-1: every page reached from the menu leads back: to the menu (戻る, or the
// manual's 「認証・契約情報変更メニューへ戻る」 on a completion page), or, on a confirmation
// page, to the step before it (キャンセル, as the manual's confirmation screens say).
#[tokio::test]
async fn every_menu_page_leads_back() {
    use crate::user_lifecycle::{browser_get as get, contractor, submit};
    let app = TestApp::spawn().await;
    app.seed().await;
    let browser = contractor(&app).await;
    let menu = format!("/{BRAND}/account");
    let page = |hop: Hop| match hop {
        Hop::Page { body, .. } => body,
        Hop::LeftOp(url) => panic!("left for {url}"),
    };

    let mut pages: Vec<(String, String, String, &str)> = vec![];
    for item in [
        "account/password",
        "account/email",
        "account/access-route",
        "account/two-factor",
        "account/active-directory",
        "account/contract",
        "account/plan",
        "account/cancel",
    ] {
        let html = page(get(&app, &browser, item).await);
        pages.push((item.into(), html, menu.clone(), "戻る"));
    }
    let form = |item: &str| {
        pages
            .iter()
            .find(|(i, ..)| i == item)
            .map(|(_, html, ..)| html.clone())
            .unwrap()
    };
    // Confirmation pages: back to their setting page.
    let route_confirm = page(
        submit(
            &app,
            &browser,
            &form("account/access-route"),
            &[("route", "line_and_internet")],
        )
        .await,
    );
    let two_factor_confirm = page(
        browser
            .post(
                &app.base,
                &format!("/{BRAND}/account/two-factor/confirm"),
                &crate::two_factor::fields(&form("account/two-factor"), &[("setting", "enabled")]),
            )
            .await
            .unwrap(),
    );
    // Completion pages: back to the menu.
    let route_done = page(submit(&app, &browser, &route_confirm, &[]).await);
    let email_sent = page(
        submit(
            &app,
            &browser,
            &form("account/email"),
            &[
                ("new_email", "owner@example.jp"),
                ("confirm_email", "owner@example.jp"),
            ],
        )
        .await,
    );
    let contract_saved = page(
        submit(
            &app,
            &browser,
            &form("account/contract"),
            &[("name", "新テスト株式会社")],
        )
        .await,
    );
    let password_done = page(
        submit(
            &app,
            &browser,
            &form("account/password"),
            &[
                ("current_password", PASSWORD),
                ("new_password", "Fuji-San-3776"),
                ("confirm_password", "Fuji-San-3776"),
            ],
        )
        .await,
    );
    assert!(password_done.contains("パスワードを変更しました"));
    let setting = |p: &str| format!("/{BRAND}/account/{p}");
    pages.extend([
        (
            "access-route confirmation".into(),
            route_confirm,
            setting("access-route"),
            "キャンセル",
        ),
        (
            "2FA setting confirmation".into(),
            two_factor_confirm,
            setting("two-factor"),
            "キャンセル",
        ),
        ("access-route done".into(), route_done, menu.clone(), "戻る"),
        ("email change sent".into(), email_sent, menu.clone(), "戻る"),
        (
            "contract saved".into(),
            contract_saved,
            menu.clone(),
            "戻る",
        ),
        (
            "password changed".into(),
            password_done,
            menu.clone(),
            "認証・契約情報変更メニューへ戻る",
        ),
    ]);
    for (name, html, href, label) in &pages {
        assert!(
            links_to(html, href, label),
            "{name}: no {label} to {href} in {}",
            crate::two_factor::excerpt(html)
        );
    }
}

// ISSUE-16 REQ-MENU-1: the manual's words around the menu: the menu's login page says
// 「ログインの方はこちらからログインしてください。」, the menu ends with トップ画面へ (the brand's service,
// when it has one), and a trial's contractor reads that the trial cannot be cancelled (※2).
#[tokio::test]
async fn menu_login_top_link_and_trial_note_as_in_the_manual() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let login = Browser::new()
        .get(&format!("{}/account/login", app.issuer()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        text(&login, "account-login-lead"),
        "ログインの方はこちらからログインしてください。"
    );
    let ordinary = Browser::new()
        .get(&format!("{}/login", app.issuer()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !ordinary.contains("account-login-lead"),
        "the RP's login has no such lead"
    );

    let menu = menu_login(&app, &Browser::new(), EMAIL, PASSWORD).await;
    assert!(
        !menu.contains("トップ画面へ"),
        "no service URL, no link to it"
    );
    assert!(
        !menu.contains("無料トライアルの解約は不可"),
        "a basic contract can cancel"
    );
    crate::navigation::serve_at(&app, crate::navigation::SERVICE).await;
    let menu = menu_login(&app, &Browser::new(), EMAIL, PASSWORD).await;
    assert!(
        links_to(&menu, crate::navigation::SERVICE, "トップ画面へ"),
        "{menu}"
    );

    let trial = sekisho::admin::create_contract(
        &app.op,
        BRAND,
        "お試し株式会社",
        "trial@example.jp",
        "Trial-Pass-12",
        sekisho_core::model::Plan::Trial,
    )
    .await
    .unwrap();
    // Without two-step verification, so that the login lands on the menu.
    let off = sekisho::admin::ContractSettings {
        two_factor: Some(sekisho_core::two_factor::TwoFactorSetting::Disabled),
        plan: None,
        access_route: None,
    };
    sekisho::admin::set_contract(&app.services, &trial.contract_id, off)
        .await
        .unwrap();
    let menu = menu_login(&app, &Browser::new(), "trial@example.jp", "Trial-Pass-12").await;
    let contract = outline(&menu);
    assert!(
        contract.contains(&("契約情報の変更".to_owned(), vec!["プラン変更".to_owned()])),
        "{contract:?}"
    );
    assert!(
        menu.contains("※無料トライアルの解約は不可となります。30日経過後自動的に解約となります。"),
        "{menu}"
    );
}
