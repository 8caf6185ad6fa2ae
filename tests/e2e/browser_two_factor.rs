//! A real browser (Debian's headless Chromium, driven from Node by tests/browser/two-factor.mjs)
//! walks two-step verification on the hosted Japanese pages: it enrols the authenticator app
//! (reading the secret from the page), asks to be remembered, logs out, logs in again with the
//! password alone, and a fresh browser profile is asked for the second factor.

use crate::node_driver::{redeem_callback, Driver};
use crate::support::authorize_url;
use sekisho_core::oauth::{ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR};
use sekisho_core::Clock;
use sekisho_e2e::{TestApp, EMAIL, PASSWORD, REDIRECT_URI};
use url::Url;

// REQ-2FA-2 REQ-2FA-3 REQ-2FA-4: in Chromium, the authenticator app is enrolled from the secret on
// the page; the remembered browser logs in later with the password alone, and a fresh profile is
// asked for the second factor.
#[tokio::test]
async fn chromium_enrols_the_authenticator_is_remembered_and_asked_again_in_a_fresh_profile() {
    let app = TestApp::spawn().await;
    let seed = app.seed_two_factor().await;
    let screenshot =
        sekisho_testkit::workspace_root().join("test-artifacts/browser/two-factor-verify-ja.png");
    let _ = std::fs::remove_file(&screenshot);

    let mut driver = Driver::start(
        "two-factor.mjs",
        &[
            (
                "AUTHORIZE_URL",
                authorize_url(&app, &seed.client.client_id, &[]),
            ),
            (
                "AUTHORIZE_URL_AGAIN",
                authorize_url(&app, &seed.client.client_id, &[("prompt", "login")]),
            ),
            ("LOGOUT_URL", format!("{}/logout", app.issuer())),
            ("REDIRECT_URI", REDIRECT_URI.into()),
            ("EMAIL", EMAIL.into()),
            ("PASSWORD", PASSWORD.into()),
            ("SCREENSHOT", screenshot.display().to_string()),
        ],
    );

    // The test plays the authenticator app, on the server's (fake) clock.
    let secret = driver.tagged("SECRET").await;
    let code = sekisho_crypto::second_factor::totp_code(&secret, app.clock.now())
        .unwrap_or_else(|e| panic!("the page's secret {secret} is not a TOTP secret: {e}"));
    driver.send(&code).await;

    let callback1 = driver.tagged("CALLBACK1").await;
    let callback2 = driver.tagged("CALLBACK2").await;
    let report = driver.finish().await;
    assert_eq!(report["callback1"], callback1.as_str(), "{report}");
    assert_eq!(report["callback2"], callback2.as_str(), "{report}");
    assert_eq!(report["secret"], secret.as_str(), "{report}");

    // First login: password and authenticator code.
    let first = redeem_callback(&app, &seed, &callback1).await;
    assert_eq!(first["amr"], serde_json::json!(["pwd", "otp"]), "{first}");
    assert_eq!(first["acr"], ACR_MULTI_FACTOR, "{first}");
    assert_eq!(first["sub"], seed.user_id.as_str(), "{first}");

    // Logout ended the session but kept the remembered browser.
    let after_logout = report["cookiesAfterLogout"]
        .as_array()
        .expect("cookie names");
    assert!(
        after_logout.iter().any(|c| c == "sekisho_browser"),
        "the remembered-browser cookie stays after logout: {report}"
    );
    assert!(
        !after_logout.iter().any(|c| c == "sekisho_session"),
        "the session cookie is gone after logout: {report}"
    );

    // Second login in the remembered browser: the password alone, no 2FA page on the way.
    let navigations = report["secondLoginNavigations"]
        .as_array()
        .expect("navigations");
    assert!(
        !navigations.is_empty()
            && navigations
                .iter()
                .all(|u| !u.as_str().unwrap_or_default().contains("/2fa")),
        "the remembered browser saw no 2FA page: {report}"
    );
    let second = redeem_callback(&app, &seed, &callback2).await;
    assert_eq!(second["amr"], serde_json::json!(["pwd"]), "{second}");
    assert_eq!(second["acr"], ACR_SINGLE_FACTOR, "{second}");

    // A fresh profile is asked for the second factor, on the verification page.
    let fresh = &report["fresh"];
    let fresh_url = Url::parse(fresh["url"].as_str().expect("fresh URL")).expect("a URL");
    assert_eq!(
        fresh_url.as_str(),
        format!("{}/2fa", app.issuer()),
        "the fresh profile was sent to the 2FA page: {report}"
    );
    assert_eq!(fresh["codeInput"], true, "{report}");
    assert_eq!(
        fresh["lostDeviceHref"],
        format!("/{}/2fa/lost-device", sekisho_e2e::BRAND),
        "{report}"
    );
    assert!(
        !fresh["cookies"]
            .as_array()
            .expect("cookie names")
            .iter()
            .any(|c| c == "sekisho_browser"),
        "a fresh profile is not a remembered browser: {report}"
    );

    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    println!(
        "screenshot of the Japanese verification page: {}",
        screenshot.display()
    );
}
