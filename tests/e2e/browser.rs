//! A real browser (Debian's headless Chromium, driven from Node by tests/browser/lock-unlock.mjs)
//! walks the hosted Japanese login page: ten wrong passwords lock the account, the lock mail's link
//! unlocks it, and the next login sends the browser back to the RP with a code.

use crate::node_driver::Driver;
use crate::support::{authorize_url, redeem, VERIFIER};
use sekisho_e2e::{link_in, query, TestApp, EMAIL, PASSWORD, REDIRECT_URI};
use url::Url;

// REQ-LOCK-1 REQ-LOGIN-1 REQ-MAIL-1: in Chromium, the Japanese login page locks after ten wrong
// passwords, the mailed link unlocks, and the login then returns to the RP with a code.
#[tokio::test]
async fn chromium_locks_after_ten_wrong_passwords_and_the_mailed_link_unlocks() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let screenshot =
        sekisho_testkit::workspace_root().join("test-artifacts/browser/login-page-ja.png");
    let _ = std::fs::remove_file(&screenshot);

    let mut driver = Driver::start(
        "lock-unlock.mjs",
        &[
            (
                "AUTHORIZE_URL",
                authorize_url(&app, &seed.client.client_id, &[]),
            ),
            ("REDIRECT_URI", REDIRECT_URI.into()),
            ("EMAIL", EMAIL.into()),
            ("PASSWORD", PASSWORD.into()),
            ("SCREENSHOT", screenshot.display().to_string()),
        ],
    );
    assert_eq!(driver.next_line("LOCKED").await, "LOCKED");

    let mails = app.deliver_mail().await;
    assert_eq!(mails.len(), 1, "one lock mail");
    assert_eq!(mails[0].to, EMAIL);
    let link = link_in(&mails[0].body, &format!("{}/unlock?ticket=", app.issuer()))
        .expect("an unlock link in the lock mail");
    driver.send(&link).await;
    let report = driver.finish().await;

    let callback = Url::parse(report["callback"].as_str().expect("callback")).expect("a URL");
    assert!(
        callback.as_str().starts_with(REDIRECT_URI),
        "back at the RP: {callback}"
    );
    let q = query(&callback);
    assert_eq!(q.get("state").map(String::as_str), Some("st"), "{callback}");
    assert_eq!(q.get("iss"), Some(&app.issuer()), "{callback}");
    let code = q
        .get("code")
        .unwrap_or_else(|| panic!("no code in {callback}"));
    // The RP can redeem it: the code the browser carried is a real one.
    let (status, tokens) = redeem(
        &app,
        &seed.client.client_id,
        seed.client.client_secret.as_deref().expect("secret"),
        code,
        VERIFIER,
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["id_token"].is_string(), "{tokens}");

    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    println!(
        "screenshot of the Japanese login page: {}",
        screenshot.display()
    );
}
