//! A real browser (Debian's headless Chromium, driven from Node by tests/browser/line.mjs) walks
//! アクセス経路設定 with its confirmation to 回線認証のみ, then logs in at an RP over a registered
//! line: through the carrier gateway (Debian's nginx, `sekisho_testkit::CarrierGateway`, with the
//! test CA's client certificate) to Sekisho's line entry. This is what proves the line host's
//! pages work in a browser behind the gateway (redirects rewritten to the line's origin, cookies,
//! CSP), and that the contractor's setting pages do.

use crate::node_driver::{redeem_callback, Driver};
use crate::support::authorize_url;
use crate::two_factor::{excerpt, page};
use sekisho_core::line::LineNumber;
use sekisho_core::model::AccessRoute;
use sekisho_e2e::{Browser, Hop, TestApp, BRAND, EMAIL, PASSWORD, REDIRECT_URI};
use sekisho_testkit::{CarrierGateway, TestPki};
use serde_json::{json, Value};

const LINE: &str = "CAF0123456789";

// REQ-LINE-1 REQ-LINE-3 REQ-LINE-4 REQ-LINE-6 REQ-LOGIN-5: in Chromium, the contractor logs in to
// the account menu from the internet, chooses 回線認証のみ in アクセス経路設定, sees the
// confirmation's warning, acknowledges it and sees the completion; the contract is then
// line-only and the internet login page refuses the user. In the same browser, a login at the RP
// through the gateway's listener of the contract's registered line takes the password alone (no
// 2FA page) and the RP's ID token has amr ["pwd", "line"].
#[tokio::test]
async fn chromium_sets_line_only_and_logs_in_over_the_line() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let store = &app.op.store;
    store
        .add_line(
            &seed.contract_id,
            &LineNumber::parse(LINE).unwrap(),
            app.op.now(),
        )
        .await
        .unwrap();
    let pki = TestPki::create().unwrap();
    let entry = app.line_entry(&pki).await;
    let gateway = CarrierGateway::start(
        entry.addr,
        &[(LINE, "east")],
        &pki,
        "https://line.sekisho.test",
    )
    .unwrap();
    let screenshot = sekisho_testkit::workspace_root()
        .join("test-artifacts/browser/access-route-line-only-confirmation-ja.png");
    let _ = std::fs::remove_file(&screenshot);

    let mut driver = Driver::start(
        "line.mjs",
        &[
            ("MENU_URL", format!("{}/{BRAND}/account/login", app.base)),
            ("EMAIL", EMAIL.into()),
            ("PASSWORD", PASSWORD.into()),
            ("REDIRECT_URI", REDIRECT_URI.into()),
            ("SCREENSHOT", screenshot.display().to_string()),
        ],
    );
    let done = driver.tagged("LINE_ONLY").await;
    assert!(done.ends_with("/account/access-route/done"), "{done}");
    // REQ-LINE-1: the setting is saved, for the whole contract.
    let contract = store
        .find_contract(&seed.contract_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contract.access_route, AccessRoute::LineOnly);

    // REQ-LINE-4: from the internet, the login page now refuses the contract's users.
    let internet = Browser::new();
    let authorize = authorize_url(&app, &seed.client.client_id, &[("prompt", "login")]);
    let (_, login) = page(internet.follow(&app.base, &authorize).await.unwrap());
    match internet
        .submit_login(&app.base, &login, EMAIL, PASSWORD)
        .await
        .unwrap()
    {
        Hop::Page { status, body, .. } => {
            assert_eq!(status.as_u16(), 403, "{}", excerpt(&body));
            assert!(body.contains("回線認証のみ"), "{}", excerpt(&body));
        }
        Hop::LeftOp(url) => panic!("the internet login went on to {url}"),
    }

    // REQ-LOGIN-5: the RP's own request, sent to the line host (the gateway's listener of LINE).
    driver
        .send(&authorize.replacen(&app.base, &gateway.url(LINE), 1))
        .await;
    let callback = driver.tagged("CALLBACK").await;
    println!("back at the RP: {callback}");
    let report = driver.finish().await;
    println!("{report}");

    // The confirmation showed the change and the warning, which had to be ticked.
    let route = &report["route"];
    assert_eq!(
        route["currentBefore"], "回線認証+インターネット",
        "{report}"
    );
    assert_eq!(route["after"], "回線認証のみ", "{report}");
    assert_eq!(route["acknowledgedAtFirst"], false, "{report}");
    let warning = route["warningText"].as_str().unwrap_or_default();
    for text in [
        "登録した回線以外(インターネット)からのアクセスはすべて拒否されます",
        "インターネットから認証・契約情報変更メニューにログインし",
    ] {
        assert!(warning.contains(text), "{text}: {warning}");
    }
    assert!(
        route["doneText"]
            .as_str()
            .is_some_and(|t| t.contains("現在の設定: 回線認証のみ")),
        "{report}"
    );

    // REQ-LINE-3: the login page and every hop after the password stayed on the line host.
    let line_origin = gateway.url(LINE);
    let line = &report["line"];
    assert!(
        line["loginUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with(&line_origin)),
        "{report}"
    );
    let hops: Vec<&str> = line["navigations"]
        .as_array()
        .expect("navigations")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // REQ-LINE-6: no two-step verification page between the password and the RP.
    assert!(
        hops.iter().all(|h| !h.contains("/2fa")),
        "no 2FA page: {hops:?}"
    );
    for hop in hops.iter().filter(|h| !h.starts_with(REDIRECT_URI)) {
        assert!(
            hop.starts_with(&line_origin),
            "{hop} left the line: {hops:?}"
        );
    }
    assert_eq!(line["callback"], callback.as_str(), "{report}");

    // REQ-LINE-6: the ID token says the login took the line.
    let claims = redeem_callback(&app, &seed, &callback).await;
    assert_eq!(claims["amr"], json!(["pwd", "line"]), "{claims}");
    assert_eq!(claims["sub"], seed.user_id.as_str(), "{claims}");

    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    println!(
        "screenshot of アクセス経路変更確認: {}",
        screenshot.display()
    );
}
