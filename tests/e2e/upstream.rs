//! Brokered login through Sekisho's HTTP server against real upstream OpenID providers
//! (oidc-provider on loopback, `sekisho_testkit::UpstreamOp`) playing Google, Microsoft (tenant
//! issuer), d アカウント and Facebook (OAuth 2.0 + Graph `/me`): binding by a login-method-change
//! link, then login, ending with a verified ID token at an `openidconnect` RP.

use crate::support::rp_for;
use sekisho_e2e::{query, upstream_name, Browser, Hop, TestApp, PASSWORD};
use sekisho_testkit::Profile;
use url::Url;

const HANAKO: &str = "hanako@example.jp";

fn page(hop: Hop) -> (String, String) {
    match hop {
        Hop::Page { url, body, .. } => (url, body),
        Hop::LeftOp(url) => panic!("expected a page, the browser went to {url}"),
    }
}

fn excerpt(body: &str) -> String {
    let start = body.find("<main>").unwrap_or(0);
    body[start..].chars().take(600).collect()
}

pub(crate) use sekisho_e2e::href_of;

/// Presses the button `label` of `html` as a browser would ([`Browser::press`]).
pub(crate) async fn press(app: &TestApp, browser: &Browser, html: &str, label: &str) -> Hop {
    browser.press(&app.base, html, label).await.unwrap()
}

/// Presses an upstream's button that binds (ISSUE-16: a form, never a link); the upstream URL
/// the browser is sent to.
pub(crate) async fn bind_start(
    app: &TestApp,
    browser: &Browser,
    html: &str,
    label: &str,
) -> String {
    match press(app, browser, html, label).await {
        Hop::LeftOp(url) => url.to_string(),
        Hop::Page { status, body, .. } => {
            panic!("{label} stayed at Sekisho: {status} {}", excerpt(&body))
        }
    }
}

/// A user of the seed contract who logs in with a password for now.
async fn hanako(app: &TestApp, seed: &sekisho_e2e::Seed) -> String {
    sekisho::admin::add_user(
        &app.op,
        &seed.contract_id,
        HANAKO,
        PASSWORD,
        sekisho_core::model::Role::User,
        "花子",
    )
    .await
    .unwrap()
}

/// Opens a login-method-change link and binds the upstream account `sub` of `profile`.
async fn bind(
    app: &TestApp,
    browser: &Browser,
    user_id: &str,
    profile: Profile,
    sub: &str,
) -> String {
    let link = sekisho::admin::login_method_change_link(&app.services, user_id)
        .await
        .unwrap();
    let (_, choose) = page(browser.follow(&app.base, &link).await.unwrap());
    // REQ-USER-3: the advice to sign out upstream first.
    assert!(
        choose.contains("ログアウトしてください"),
        "{}",
        excerpt(&choose)
    );
    let label = match profile {
        Profile::Google => "Googleアカウント",
        Profile::Microsoft => "Microsoftアカウント",
        Profile::DAccount => "dアカウント",
        Profile::Facebook => "Facebookアカウント",
    };
    let start = bind_start(app, browser, &choose, label).await;
    let back = browser
        .upstream_login(&start, sub, &app.base)
        .await
        .unwrap();
    let (_, done) = page(browser.follow(&app.base, &back).await.unwrap());
    done
}

/// Logs in at the RP through the upstream button of `profile` as `sub`; returns where Sekisho
/// sent the browser in the end.
pub(crate) async fn login(
    app: &TestApp,
    browser: &Browser,
    authorize: &str,
    profile: Profile,
    sub: &str,
) -> Hop {
    let (_, login_page) = page(browser.follow(&app.base, authorize).await.unwrap());
    let label = match profile {
        Profile::Google => "Googleアカウントでログイン",
        Profile::Microsoft => "Microsoftアカウントでログイン",
        Profile::DAccount => "dアカウントでログイン",
        Profile::Facebook => "Facebookアカウントでログイン",
    };
    let start = format!("{}{}", app.base, href_of(&login_page, label));
    let back = browser
        .upstream_login(&start, sub, &app.base)
        .await
        .unwrap();
    browser.follow(&app.base, &back).await.unwrap()
}

// REQ-LOGIN-3 REQ-USER-2 REQ-USER-4 REQ-OP-4: with each upstream, a user binds an account by the
// login-method-change link, then logs in with it at an RP: amr ["fed"], idp names the upstream,
// and sub is the user's own id.
#[tokio::test]
async fn bind_then_log_in_with_each_upstream() {
    let profiles = [
        Profile::Google,
        Profile::Microsoft,
        Profile::DAccount,
        Profile::Facebook,
    ];
    let app = TestApp::spawn_with_upstreams(&profiles).await;
    let seed = app.seed().await;
    let rp = rp_for(&app, &seed).await;
    for profile in profiles {
        let name = upstream_name(profile);
        let email = format!("{name}-user@example.jp");
        let user_id = sekisho::admin::add_user(
            &app.op,
            &seed.contract_id,
            &email,
            PASSWORD,
            sekisho_core::model::Role::User,
            name,
        )
        .await
        .unwrap();
        let browser = Browser::new();
        let sub = format!("{name}-sub-1");
        let done = bind(&app, &browser, &user_id, profile, &sub).await;
        assert!(
            done.contains("ログイン方法を変更しました"),
            "{name}: {}",
            excerpt(&done)
        );
        let user = app.op.store.find_user(&user_id).await.unwrap().unwrap();
        assert_eq!(user.login_method.as_str(), name);
        assert!(
            user.password_hash.is_none(),
            "the password no longer logs in"
        );

        let req = rp.start(None, None);
        let back = match login(&app, &browser, &req.url, profile, &sub).await {
            Hop::LeftOp(url) => url,
            Hop::Page { url, body, .. } => panic!("{name}: ended at {url}: {}", excerpt(&body)),
        };
        let (amr, _, claims) = rp.finish_with_claims(req, &back).await;
        assert_eq!(amr, ["fed"], "{name}");
        assert_eq!(claims["idp"], name, "{name}");
        assert_eq!(claims["sub"], user_id.as_str(), "{name}");
    }
}

// REQ-LOGIN-3: a bound upstream account still logs in three months later. (The upstream
// provider follows the test's clock, so the ID token it stamps then is fresh by Sekisho's clock.)
#[tokio::test]
async fn a_bound_upstream_account_logs_in_months_later() {
    let app = TestApp::spawn_with_upstreams(&[Profile::Google]).await;
    let seed = app.seed().await;
    let user_id = hanako(&app, &seed).await;
    let done = bind(&app, &Browser::new(), &user_id, Profile::Google, "hanako-g").await;
    assert!(
        done.contains("ログイン方法を変更しました"),
        "{}",
        excerpt(&done)
    );
    app.clock.advance(90 * 86_400);
    let rp = rp_for(&app, &seed).await;
    let req = rp.start(None, None);
    let back = match login(&app, &Browser::new(), &req.url, Profile::Google, "hanako-g").await {
        Hop::LeftOp(url) => url,
        Hop::Page { url, body, .. } => panic!("ended at {url}: {}", excerpt(&body)),
    };
    let (amr, _, claims) = rp.finish_with_claims(req, &back).await;
    assert_eq!(amr, ["fed"]);
    assert_eq!(claims["sub"], user_id.as_str());
}

// REQ-USER-1 REQ-USER-2 REQ-USER-3 REQ-LOGIN-3: with each upstream, an invited user registers by
// choosing the upstream account on the registration page (申込確認, then the upstream, then
// 申込完了) and then logs in with it at an RP.
#[tokio::test]
async fn register_with_each_upstream_then_log_in() {
    let profiles = [
        Profile::Google,
        Profile::Microsoft,
        Profile::DAccount,
        Profile::Facebook,
    ];
    let app = TestApp::spawn_with_upstreams(&profiles).await;
    let seed = app.seed().await;
    let rp = rp_for(&app, &seed).await;
    let console = crate::user_lifecycle::contractor(&app).await;
    for profile in profiles {
        let name = upstream_name(profile);
        let email = format!("{name}-invitee@example.jp");
        let link = crate::user_lifecycle::invite(&app, &console, &email, name).await;
        let browser = Browser::new();
        let (_, choose) = page(browser.follow(&app.base, &link).await.unwrap());
        let label = match profile {
            Profile::Google => "Googleアカウントで登録",
            Profile::Microsoft => "Microsoftアカウントで登録",
            Profile::DAccount => "dアカウントで登録",
            Profile::Facebook => "Facebookアカウントで登録",
        };
        let confirm_url = format!("{}{}", app.base, href_of(&choose, label));
        let (_, confirm) = page(browser.follow(&app.base, &confirm_url).await.unwrap());
        assert!(
            confirm.contains("申込確認"),
            "{name}: {}",
            excerpt(&confirm)
        );
        assert!(
            confirm.contains(label) && confirm.contains(&email),
            "{name}"
        );
        assert!(confirm.contains("ログアウト"), "REQ-USER-3 advice");
        let start = bind_start(&app, &browser, &confirm, "確認").await;
        let sub = format!("{name}-invitee");
        let back = browser
            .upstream_login(&start, &sub, &app.base)
            .await
            .unwrap();
        let (_, done) = page(browser.follow(&app.base, &back).await.unwrap());
        assert!(done.contains("申込完了"), "{name}: {}", excerpt(&done));
        let user = app
            .op
            .store
            .find_user_by_email(
                sekisho_e2e::BRAND,
                &sekisho_core::email::Email::parse(&email).unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.login_method.as_str(), name);
        assert_eq!(user.status, sekisho_core::model::UserStatus::Active);

        let req = rp.start(None, None);
        let back = match login(&app, &Browser::new(), &req.url, profile, &sub).await {
            Hop::LeftOp(url) => url,
            Hop::Page { url, body, .. } => panic!("{name}: ended at {url}: {}", excerpt(&body)),
        };
        let (amr, _, claims) = rp.finish_with_claims(req, &back).await;
        assert_eq!(amr, ["fed"], "{name}");
        assert_eq!(claims["sub"], user.id.as_str(), "{name}");
    }
}

// REQ-LOGIN-3: an upstream identity bound to nobody gets a page saying so, and creates nothing,
// even when its email is a registered one (an email match never logs in).
#[tokio::test]
async fn an_unbound_upstream_identity_is_refused_and_creates_nothing() {
    let app = TestApp::spawn_with_upstreams(&[Profile::Google]).await;
    let seed = app.seed().await;
    hanako(&app, &seed).await;
    let rp = rp_for(&app, &seed).await;
    let users_before = app
        .op
        .store
        .list_users(&seed.contract_id)
        .await
        .unwrap()
        .len();
    let req = rp.start(None, None);
    // The upstream account "hanako" has the email hanako@google.example, not ours; either way
    // nothing is bound to it.
    let (_, body) = page(login(&app, &Browser::new(), &req.url, Profile::Google, "hanako").await);
    assert!(
        body.contains("このアカウントは登録されていません"),
        "{}",
        excerpt(&body)
    );
    assert_eq!(
        app.op
            .store
            .list_users(&seed.contract_id)
            .await
            .unwrap()
            .len(),
        users_before
    );
    drop(req);
}

// REQ-LOGIN-3: a replayed callback fails; a callback in another browser (state of another
// session) fails; an upstream "access_denied" (the user cancelled) gets its own page. Each is
// audited.
#[tokio::test]
async fn replayed_foreign_and_cancelled_callbacks_are_refused() {
    let app = TestApp::spawn_with_upstreams(&[Profile::Google]).await;
    let seed = app.seed().await;
    let user_id = hanako(&app, &seed).await;
    let browser = Browser::new();
    bind(&app, &browser, &user_id, Profile::Google, "hanako-g").await;
    let rp = rp_for(&app, &seed).await;

    let req = rp.start(None, None);
    let (_, login_page) = page(browser.follow(&app.base, &req.url).await.unwrap());
    let start = format!(
        "{}{}",
        app.base,
        href_of(&login_page, "Googleアカウントでログイン")
    );
    let callback = browser
        .upstream_login(&start, "hanako-g", &app.base)
        .await
        .unwrap();
    // In another browser, the callback is refused (the state belongs to the first one).
    let (_, foreign) = page(Browser::new().follow(&app.base, &callback).await.unwrap());
    assert!(
        foreign.contains("ログインの要求が正しくありません"),
        "{}",
        excerpt(&foreign)
    );
    // The state was spent by that attempt: the real browser's callback is now a replay.
    let (_, replay) = page(browser.follow(&app.base, &callback).await.unwrap());
    assert!(
        replay.contains("すでに完了しているか"),
        "{}",
        excerpt(&replay)
    );
    drop(req);

    // A fresh round trip completes; then its callback replayed fails.
    let req = rp.start(None, None);
    let (_, login_page) = page(browser.follow(&app.base, &req.url).await.unwrap());
    let start = format!(
        "{}{}",
        app.base,
        href_of(&login_page, "Googleアカウントでログイン")
    );
    let callback = browser
        .upstream_login(&start, "hanako-g", &app.base)
        .await
        .unwrap();
    match browser.follow(&app.base, &callback).await.unwrap() {
        Hop::LeftOp(url) => assert!(query(&url).contains_key("code"), "{url}"),
        Hop::Page { body, .. } => panic!("{}", excerpt(&body)),
    }
    let (_, replay) = page(browser.follow(&app.base, &callback).await.unwrap());
    assert!(
        replay.contains("すでに完了しているか"),
        "{}",
        excerpt(&replay)
    );
    drop(req);

    // The user cancels at the upstream: it sends error=access_denied with our state.
    let req = rp.start(None, Some("login"));
    let (_, login_page) = page(browser.follow(&app.base, &req.url).await.unwrap());
    let start = format!(
        "{}{}",
        app.base,
        href_of(&login_page, "Googleアカウントでログイン")
    );
    let to_upstream = browser.get(&start).await.unwrap();
    let upstream_url = Url::parse(to_upstream.headers()["location"].to_str().unwrap()).unwrap();
    let state = query(&upstream_url)["state"].clone();
    let (_, cancelled) = page(
        browser
            .follow(
                &app.base,
                &format!(
                    "{}/upstream/callback?error=access_denied&state={state}",
                    app.issuer()
                ),
            )
            .await
            .unwrap(),
    );
    assert!(
        cancelled.contains("キャンセルされました"),
        "{}",
        excerpt(&cancelled)
    );
    let audited = app.op.store.recent_audit(50).await.unwrap();
    let reasons: Vec<_> = audited
        .iter()
        .filter(|e| e.kind == "upstream.failed")
        .map(|e| e.detail["reason"].as_str().unwrap_or("").to_owned())
        .collect();
    for reason in ["state of another browser", "replay", "access_denied"] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} in {reasons:?}"
        );
    }
    drop(req);
}

// REQ-USER-5: a bound Facebook account cannot be switched directly to another Facebook account;
// binding the same one again is fine.
#[tokio::test]
async fn a_second_facebook_account_is_refused_on_switch() {
    let app = TestApp::spawn_with_upstreams(&[Profile::Facebook, Profile::Google]).await;
    let seed = app.seed().await;
    let user_id = hanako(&app, &seed).await;
    let done = bind(
        &app,
        &Browser::new(),
        &user_id,
        Profile::Facebook,
        "fb-first",
    )
    .await;
    assert!(
        done.contains("ログイン方法を変更しました"),
        "{}",
        excerpt(&done)
    );
    let refused = bind(
        &app,
        &Browser::new(),
        &user_id,
        Profile::Facebook,
        "fb-second",
    )
    .await;
    assert!(
        refused.contains("別のFacebookアカウントに直接変更することはできません"),
        "{}",
        excerpt(&refused)
    );
    let binding = app
        .op
        .store
        .find_user_binding(&user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(binding.subject, "fb-first", "the first binding stays");
    // Via another method first, then the other Facebook account: allowed.
    bind(&app, &Browser::new(), &user_id, Profile::Google, "g-1").await;
    let done = bind(
        &app,
        &Browser::new(),
        &user_id,
        Profile::Facebook,
        "fb-second",
    )
    .await;
    assert!(
        done.contains("ログイン方法を変更しました"),
        "{}",
        excerpt(&done)
    );
}
