//! A real browser (Debian's headless Chromium, driven from Node by tests/browser/ad-login.mjs)
//! changes the login method to Active Directory by the login-method-change link (connection ID,
//! 接続ID確認画面, ADFS), then logs in at an RP with the login page's Active Directory button and
//! the connection ID. ADFS is the real pysaml2 IdP (`sekisho_testkit::SamlIdp`), which signs in
//! the chosen user with no form; its page and Sekisho's ACS page post themselves, so this test
//! is what proves those auto-posting pages run in a browser (scripts, CSP, cookies).

use crate::active_directory::connect;
use crate::node_driver::{redeem_callback, Driver};
use crate::support::authorize_url;
use sekisho_core::model::{LoginMethod, Role};
use sekisho_core::TEST_EPOCH;
use sekisho_e2e::{TestApp, PASSWORD, REDIRECT_URI};
use sekisho_testkit::SamlIdp;
use serde_json::{json, Value};

const HANAKO: &str = "hanako-ad@example.jp";
const HANAKO_UPN: &str = "hanako@ad.example.co.jp";
const HANAKO_IMMUTABLE_ID: &str = "aW1tdXRhYmxlLWhhbmFrby0wMDE=";

// REQ-AD-3 REQ-AD-4 REQ-AD-5 REQ-USER-4 REQ-LOGIN-4: in Chromium, a password user changes the
// login method to Active Directory (offered because the contract has a connection; the
// connection ID is shown on 接続ID確認画面 before the browser goes to ADFS), then logs in at
// the RP with the login page's AD button plus the connection ID: both round trips pass through
// ADFS's and Sekisho's auto-posting pages; the ID token has amr ["saml"], idp the contract's
// ADFS and sub the user's own id.
#[tokio::test]
async fn chromium_binds_ad_by_connection_id_and_logs_in_with_it() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let idp = SamlIdp::start_at(TEST_EPOCH).expect("the SAML IdP starts");
    let id = connect(&app, &idp).await;
    idp.set_user(HANAKO_UPN, Some(HANAKO_IMMUTABLE_ID), Some(HANAKO))
        .expect("Hanako at ADFS");
    let user_id = sekisho::admin::add_user(
        &app.op,
        &seed.contract_id,
        HANAKO,
        PASSWORD,
        Role::User,
        "花子",
    )
    .await
    .unwrap();
    let link = sekisho::admin::login_method_change_link(&app.services, &user_id)
        .await
        .unwrap();
    let screenshot = sekisho_testkit::workspace_root()
        .join("test-artifacts/browser/ad-connection-id-confirmation-ja.png");
    let _ = std::fs::remove_file(&screenshot);

    let mut driver = Driver::start(
        "ad-login.mjs",
        &[
            ("LINK", link),
            (
                "AUTHORIZE_URL",
                authorize_url(&app, &seed.client.client_id, &[("prompt", "login")]),
            ),
            ("CONNECTION_ID", id.clone()),
            ("REDIRECT_URI", REDIRECT_URI.into()),
            ("SCREENSHOT", screenshot.display().to_string()),
        ],
    );
    let callback = driver.tagged("CALLBACK").await;
    println!("back at the RP: {callback}");
    let report = driver.finish().await;
    assert_eq!(
        report["loggedIn"]["callback"],
        callback.as_str(),
        "{report}"
    );

    // REQ-AD-3: offered at login-method change, since the contract has a connection.
    assert_eq!(report["bound"]["offered"], true, "{report}");
    // REQ-AD-4: 接続ID確認画面 showed the ID entered.
    assert_eq!(report["bound"]["confirmedId"], id.as_str(), "{report}");
    assert!(
        report["bound"]["confirmText"]
            .as_str()
            .is_some_and(|t| t.contains("接続ID確認画面")),
        "{report}"
    );
    // Both round trips went through ADFS and back by Sekisho's ACS and its on-site post.
    let sso = idp.sso_url();
    let acs = format!("{}/saml/{id}/acs", app.issuer());
    let finish = format!("{}/saml/{id}/finish", app.issuer());
    for walk in ["bound", "loggedIn"] {
        let hops: Vec<&str> = report[walk]["navigations"]
            .as_array()
            .expect("navigations")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for (what, url) in [("ADFS", sso), ("the ACS", &acs), ("finish", &finish)] {
            assert!(
                hops.iter().any(|h| h.starts_with(url)),
                "{walk}: the browser went to {what} ({url}): {hops:?}"
            );
        }
    }
    // REQ-USER-4: the method changed to AD.
    let user = app.op.store.find_user(&user_id).await.unwrap().unwrap();
    assert_eq!(user.login_method, LoginMethod::Ad);

    // REQ-LOGIN-4 REQ-AD-5: the RP's ID token.
    let claims = redeem_callback(&app, &seed, &callback).await;
    assert_eq!(claims["amr"], json!(["saml"]), "{claims}");
    assert_eq!(claims["sub"], user_id.as_str(), "{claims}");
    assert_eq!(claims["idp"], idp.entity_id(), "{claims}");

    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    println!("screenshot of 接続ID確認画面: {}", screenshot.display());
}
