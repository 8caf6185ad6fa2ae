//! ISSUE-16, dead ends and the visit's language: every page that ends a flow leads somewhere (the
//! brand's service when configured, the account menu, the login page, the console), unknown
//! paths and methods answer a page (or JSON) instead of nothing, and a language the visitor
//! chose holds for the whole visit.

use sekisho::admin::{self, BrandChanges};
use sekisho_core::model::Role;
use sekisho_e2e::{
    form_action, hidden_inputs, link_in, Browser, Hop, TestApp, BRAND, EMAIL, PASSWORD,
};

pub(crate) const SERVICE: &str = "https://storage.vx5.example/";
const MEMBER: &str = "member@example.jp";

/// Gives the brand a service URL (as `sekisho brand update --service-url` does).
pub(crate) async fn serve_at(app: &TestApp, url: &str) {
    let changes = BrandChanges {
        service_url: Some(url.into()),
        ..Default::default()
    };
    admin::update_brand(&app.op, BRAND, changes).await.unwrap();
}

/// A browser whose every request says Accept-Language: ja (a Japanese browser).
fn japanese_browser() -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("accept-language", "ja".parse().unwrap());
    Browser {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap(),
    }
}

async fn text(browser: &Browser, url: &str) -> (u16, String) {
    let res = browser.get(url).await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The page a form submission or a link ends on (redirects followed); panics if it left the OP.
fn page(hop: Hop) -> (String, u16, String) {
    match hop {
        Hop::Page { url, status, body } => (url, status.as_u16(), body),
        Hop::LeftOp(url) => panic!("left the OP for {url}"),
    }
}

/// Logs in at `login_url` (a login page of the brand) and returns where it ended.
async fn log_in_at(
    app: &TestApp,
    browser: &Browser,
    login_url: &str,
    email: &str,
) -> (String, u16, String) {
    let hop = browser.follow(&app.base, login_url).await.unwrap();
    let (_, _, login_page) = page(hop);
    page(
        browser
            .submit_login(&app.base, &login_page, email, PASSWORD)
            .await
            .unwrap(),
    )
}

/// Whether the page links to `href` (attribute values are HTML-escaped: `/` as `&#x2f;`).
fn has_link(body: &str, href: &str) -> bool {
    let body = body.replace("&#x2f;", "/").replace("&amp;", "&");
    body.contains(&format!("href=\"{href}\""))
}

// ISSUE-16: a login started at /{brand}/login (the manuals' URL) does not end on 「このウィンドウを
// 閉じて…」 with nowhere to go: without a service URL it offers the account menu; with one, it
// leads on to the service (a link: see routes/login.rs `signed_in_page`).
#[tokio::test]
async fn a_direct_login_leads_on_to_the_service_or_the_menu() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let login = format!("{}/login", app.issuer());

    let (at, status, body) = log_in_at(&app, &Browser::new(), &login, EMAIL).await;
    assert!(at.ends_with("/signed-in"), "{at}");
    assert_eq!(status, 200);
    assert!(body.contains("ログインしました"));
    assert!(
        has_link(&body, "/VX5/account"),
        "the menu is offered: {body}"
    );

    serve_at(&app, SERVICE).await;
    let (_, _, body) = log_in_at(&app, &Browser::new(), &login, EMAIL).await;
    assert!(has_link(&body, SERVICE), "on to the service: {body}");
    assert!(
        body.contains("ご利用のサービスへお進みください。"),
        "{body}"
    );
    assert!(has_link(&body, "/VX5/account"), "{body}");
}

// ISSUE-16: logging out from the account menu ends on a page that offers the service and the
// login page.
#[tokio::test]
async fn logging_out_from_the_menu_leads_to_the_service_and_the_login_page() {
    let app = TestApp::spawn().await;
    app.seed().await;
    serve_at(&app, SERVICE).await;
    let browser = Browser::new();
    let (at, _, menu) = log_in_at(
        &app,
        &browser,
        &format!("{}/account/login", app.issuer()),
        EMAIL,
    )
    .await;
    assert!(at.ends_with("/VX5/account"), "{at}");
    // The menu's logout form (the last form of the page).
    let logout = &menu[menu.rfind("<form").unwrap()..];
    assert_eq!(form_action(logout).as_deref(), Some("/VX5/logout"));
    let (_, status, body) = page(
        browser
            .post(&app.base, "/VX5/logout", &hidden_inputs(logout))
            .await
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert!(body.contains("ログアウトしました"), "{body}");
    assert!(has_link(&body, SERVICE), "{body}");
    assert!(has_link(&body, "/VX5/login"), "{body}");
    // Logged out indeed: the menu asks for a login again.
    let res = browser
        .get(&format!("{}/account", app.issuer()))
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

// ISSUE-16: signing in from /{brand}/admin lands on the console, not on the menu; the login's
// `next` names only known places (an address there is a direct login, never a redirect).
#[tokio::test]
async fn signing_in_at_the_console_lands_on_the_console() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let browser = Browser::new();
    let (at, status, body) =
        log_in_at(&app, &browser, &format!("{}/admin", app.issuer()), EMAIL).await;
    assert!(at.ends_with("/VX5/admin"), "landed on {at}");
    assert_eq!(status, 200);
    assert!(body.contains("data-page=\"admin_users\""), "{body}");

    // A forged `next` is no destination.
    let other = Browser::new();
    let (_, _, login_page) = page(
        other
            .follow(&app.base, &format!("{}/login", app.issuer()))
            .await
            .unwrap(),
    );
    let mut fields: Vec<(String, String)> = hidden_inputs(&login_page)
        .into_iter()
        .filter(|(k, _)| k != "next")
        .collect();
    fields.push(("next".into(), "https://evil.example/".into()));
    fields.push(("email".into(), EMAIL.into()));
    fields.push(("password".into(), PASSWORD.into()));
    let (at, _, _) = page(other.post(&app.base, "/VX5/login", &fields).await.unwrap());
    assert!(at.ends_with("/VX5/signed-in"), "{at}");
}

// ISSUE-16: the 403, the bad-client page (REQ-OP-6: never a redirect, nor a link, to the
// request's redirect_uri) and a generic error (an expired form) lead on: to the service, and to
// the menu when signed in, else to the login page.
#[tokio::test]
async fn error_pages_lead_on() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    serve_at(&app, SERVICE).await;
    admin::add_user(
        &app.op,
        &seed.contract_id,
        MEMBER,
        PASSWORD,
        Role::User,
        "メンバー",
    )
    .await
    .unwrap();

    // 403: a plain user at the console.
    let member = Browser::new();
    log_in_at(
        &app,
        &member,
        &format!("{}/account/login", app.issuer()),
        MEMBER,
    )
    .await;
    let (status, body) = text(&member, &format!("{}/admin", app.issuer())).await;
    assert_eq!(status, 403);
    assert!(has_link(&body, SERVICE), "{body}");
    assert!(
        has_link(&body, "/VX5/account"),
        "signed in: the menu: {body}"
    );

    // The bad-client page.
    let evil = "https://evil.example/cb";
    let url = format!(
        "{}/authorize?response_type=code&scope=openid&client_id=nobody&redirect_uri={evil}",
        app.issuer()
    );
    let (status, body) = text(&Browser::new(), &url).await;
    assert_eq!(status, 400);
    assert!(has_link(&body, SERVICE), "{body}");
    assert!(
        has_link(&body, "/VX5/login"),
        "not signed in: the login page: {body}"
    );
    // Nothing leads to the request's redirect_uri (the language switch repeats the request at
    // this server, which answers the same page).
    let unescaped = body.replace("&#x2f;", "/").replace("&#x3a;", ":");
    assert!(!unescaped.contains("href=\"https://evil"), "{body}");
    assert!(!unescaped.contains("action=\"https://evil"), "{body}");

    // A form without this browser's CSRF token.
    let res = Browser::new()
        .http
        .post(format!("{}/login", app.issuer()))
        .form(&[("email", EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let body = res.text().await.unwrap();
    assert!(
        has_link(&body, SERVICE) && has_link(&body, "/VX5/login"),
        "{body}"
    );
}

// ISSUE-16: no empty answers. An unknown path under a brand is the brand's "not found" page with
// its ways forward; a method a path does not answer is a 405 page (with Allow) in the visitor's
// language, or JSON for programs; /metrics without a scraper is an unknown path like any other;
// the bare issuer URL (the manuals' login address) leads to the login page.
#[tokio::test]
async fn unknown_paths_and_methods_answer_a_page() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let send = |method: reqwest::Method, path: &str, lang: &str| {
        http.request(method, format!("{}{path}", app.base))
            .header("accept", "text/html")
            .header("accept-language", lang)
            .send()
    };

    let res = send(reqwest::Method::GET, "/VX5/no/such/page", "ja")
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body = res.text().await.unwrap();
    assert!(body.contains("ページが見つかりません") && body.contains("OTクラウド・ストレージ"));
    assert!(has_link(&body, "/VX5/login"), "{body}");

    for (method, path) in [
        (reqwest::Method::DELETE, "/VX5/login"),
        (reqwest::Method::GET, "/VX5/2fa/code"),
        (reqwest::Method::PUT, "/VX5/account"),
    ] {
        let res = send(method.clone(), path, "en").await.unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        assert!(res.headers().contains_key("allow"), "{method} {path}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let body = res.text().await.unwrap();
        assert!(
            body.contains("This page cannot be opened this way"),
            "{method} {path}: {body}"
        );
        assert!(has_link(&body, "/VX5/login"), "{body}");
    }
    let res = http
        .get(format!("{}/token", app.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["error"], "method_not_allowed");

    let res = send(reqwest::Method::GET, "/metrics", "ja").await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("ページが見つかりません"));

    for path in ["/VX5", "/VX5/"] {
        let res = send(reqwest::Method::GET, path, "ja").await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/VX5/login", "{path}");
    }
    // Odd segments and missing parameters: a page, not a line of plain text (nor a 500).
    for (path, status, text) in [
        ("/%FF/login", 400, "The request is not valid"),
        ("/VX5/account/item/%FF", 400, "The request is not valid"),
        ("/VX5/authorize/continue", 400, "The request is not valid"),
        ("/VX5/upstream/nope/start", 404, "Page not found"),
        ("/VX5/saml/nope", 404, "Page not found"),
    ] {
        let res = send(reqwest::Method::GET, path, "en").await.unwrap();
        assert_eq!(res.status(), status, "{path}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(res.text().await.unwrap().contains(text), "{path}");
    }
    let res = http
        .get(format!("{}/NOPE/jwks", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["error"], "not_found");

    for path in ["/favicon.ico", "/NOPE", "/NOPE/login", "/VX5//login", "/"] {
        let res = send(reqwest::Method::GET, path, "en").await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert!(
            res.text().await.unwrap().contains("Page not found"),
            "{path}"
        );
    }
}

// ISSUE-16: a language chosen with ?lang= holds for the visit: links followed without it (forgot
// password, the account-menu link) stay English though the browser asks for Japanese; the switch
// leads to the same page in the other language, keeping a mailed link's ticket; the reset mail
// asked for during the English visit is English.
#[tokio::test]
async fn a_chosen_language_holds_for_the_visit() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let browser = japanese_browser();

    let res = browser
        .get(&format!("{}/login?lang=en", app.issuer()))
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("sekisho_lang="))
        .expect("the language is kept in a cookie");
    assert!(cookie.starts_with("sekisho_lang=en"), "{cookie}");
    assert!(
        cookie.contains("Path=/") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax")
    );
    let login = res.text().await.unwrap();
    assert!(login.contains("<html lang=\"en\""));
    assert!(
        has_link(&login, "/VX5/login?lang=ja"),
        "the switch: {login}"
    );

    // Links on the page, followed as they are.
    let (_, forgot) = text(&browser, &format!("{}/password/forgot", app.issuer())).await;
    assert!(
        forgot.contains("<html lang=\"en\""),
        "forgot password: {forgot}"
    );
    let (_, _, menu_login) = page(
        browser
            .follow(&app.base, &format!("{}/account", app.issuer()))
            .await
            .unwrap(),
    );
    assert!(
        menu_login.contains("<html lang=\"en\""),
        "account login: {menu_login}"
    );

    // The reset mail of this visit, and its page's switch.
    let mut fields = hidden_inputs(&forgot);
    fields.push(("email".into(), EMAIL.into()));
    browser
        .post(&app.base, "/VX5/password/forgot", &fields)
        .await
        .unwrap();
    let mails = app.deliver_mail().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "【OTクラウド・ストレージ】Password reset");
    let link = link_in(
        &mails[0].body,
        &format!("{}/password/reset?ticket=", app.issuer()),
    )
    .unwrap();
    let (_, reset) = text(&browser, &link).await;
    assert!(reset.contains("<html lang=\"en\""));
    let ticket = link.split("ticket=").nth(1).unwrap();
    let switch = format!("/VX5/password/reset?ticket={ticket}&lang=ja");
    assert!(has_link(&reset, &switch), "{switch} in {reset}");

    // Switching back holds too.
    let (_, ja) = text(&browser, &format!("{}/login?lang=ja", app.issuer())).await;
    assert!(ja.contains("<html lang=\"ja\""));
    let (_, again) = text(&browser, &format!("{}/password/forgot", app.issuer())).await;
    assert!(again.contains("<html lang=\"ja\""));
}

// ISSUE-16: an authorization request's ui_locales wins for that request over the visitor's
// earlier choice and is kept; switching on its login page then holds for the rest of the login
// (the wrong-password page after the POST included).
#[tokio::test]
async fn ui_locales_sticks_and_the_switch_beats_it() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let browser = japanese_browser();
    let authorize =
        crate::support::authorize_url(&app, &seed.client.client_id, &[("ui_locales", "en")]);
    let (login_url, _, login) = page(browser.follow(&app.base, &authorize).await.unwrap());
    assert!(login.contains("<html lang=\"en\""), "{login}");
    let (_, forgot) = text(&browser, &format!("{}/password/forgot", app.issuer())).await;
    assert!(
        forgot.contains("<html lang=\"en\""),
        "ui_locales is kept for the visit"
    );

    // The switch on the login page: the same login (its request), in Japanese.
    let ar = login_url.split("ar=").nth(1).unwrap().to_owned();
    let switch = format!("/VX5/login?ar={ar}&lang=ja");
    assert!(has_link(&login, &switch), "{login}");
    let (_, ja) = text(&browser, &format!("{}/login?ar={ar}&lang=ja", app.issuer())).await;
    assert!(ja.contains("<html lang=\"ja\""));
    let (_, _, wrong) = page(
        browser
            .submit_login(&app.base, &ja, EMAIL, "wrong-password-1")
            .await
            .unwrap(),
    );
    assert!(wrong.contains("<html lang=\"ja\""), "{wrong}");
    assert!(wrong.contains("メールアドレスまたはパスワードが正しくありません。"));
    assert!(
        has_link(&wrong, &switch.replace("lang=ja", "lang=en")),
        "after the POST the switch still names the login: {wrong}"
    );
}
