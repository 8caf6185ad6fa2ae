//! A real browser (Debian's headless Chromium, driven from Node by tests/browser/registration.mjs)
//! walks issue 6's invitation → registration → first login on the hosted Japanese pages: the
//! contractor invites a user from the admin console, the user opens the mailed link (from the
//! real SMTP sink), registers a password, and logs in at an RP whose ID token names them.

use crate::node_driver::Driver;
use crate::support::rp_for;
use crate::user_lifecycle::{contractor, invite};
use sekisho_core::model::{LoginMethod, UserStatus};
use sekisho_e2e::{query, TestApp, BRAND, REDIRECT_URI};
use serde_json::json;
use url::Url;

const JIRO: &str = "jiro@example.jp";
const JIRO_NAME: &str = "鈴木次郎";
const JIRO_PASSWORD: &str = "Kinkaku-Ji-1397";
const TOO_SHORT: &str = "Ab-1";

// REQ-USER-1 REQ-USER-2 REQ-MAIL-2: in Chromium, the invited user opens the invitation mail's
// link, is refused a too-short password, registers a good one through 申込確認 (password hidden)
// and 申込完了, logs in at the RP with it (the ID token verifies and its sub is the user's id),
// and the link is then no longer valid.
#[tokio::test]
async fn chromium_registers_from_the_invitation_and_logs_in() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let rp = rp_for(&app, &seed).await;
    let console = contractor(&app).await;
    let link = invite(&app, &console, JIRO, JIRO_NAME).await;
    let email = sekisho_core::email::Email::parse(JIRO).unwrap();
    let invited = app
        .op
        .store
        .find_user_by_email(BRAND, &email)
        .await
        .unwrap()
        .expect("the invited user");
    assert_eq!(invited.status, UserStatus::Invited);

    let screenshot = sekisho_testkit::workspace_root()
        .join("test-artifacts/browser/registration-confirm-ja.png");
    let _ = std::fs::remove_file(&screenshot);
    let req = rp.start(None, None);
    let authorize = Url::parse(&req.url).expect("an authorization URL");
    let state = query(&authorize)
        .get("state")
        .cloned()
        .expect("the RP sends a state");

    let mut driver = Driver::start(
        "registration.mjs",
        &[
            ("REGISTRATION_URL", link.clone()),
            ("AUTHORIZE_URL", req.url.clone()),
            ("REDIRECT_URI", REDIRECT_URI.into()),
            ("EMAIL", JIRO.into()),
            ("SHORT_PASSWORD", TOO_SHORT.into()),
            ("PASSWORD", JIRO_PASSWORD.into()),
            ("SCREENSHOT", screenshot.display().to_string()),
        ],
    );
    let callback = driver.tagged("CALLBACK").await;
    println!("back at the RP: {callback}");
    let report = driver.finish().await;
    assert_eq!(report["callback"], callback.as_str(), "{report}");

    // Registration: the address on the page, the short password refused, 申込確認 as the manual.
    let registered = &report["registered"];
    assert_eq!(registered["shownEmail"], JIRO, "{report}");
    assert!(
        registered["refusedWith"]
            .as_array()
            .expect("alerts")
            .iter()
            .any(|a| a
                .as_str()
                .unwrap_or_default()
                .contains("パスワードが短すぎます")),
        "{report}"
    );
    assert_eq!(
        registered["terms"],
        json!({
            "登録方法": "メールアドレス・パスワードで登録",
            "メールアドレス": JIRO,
            "パスワード": "(非表示)",
        }),
        "{report}"
    );
    assert!(
        registered["doneText"]
            .as_str()
            .unwrap_or_default()
            .contains("利用者登録が完了しました"),
        "{report}"
    );
    assert_eq!(
        registered["toLoginHref"],
        format!("/{BRAND}/login"),
        "{report}"
    );
    // Single use: the link is dead after registering.
    assert_eq!(report["reopened"]["heading"], "URLが無効です", "{report}");
    assert!(
        report["reopened"]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("すでに使用されています"),
        "{report}"
    );

    // First login at the RP: the code comes back with the RP's state; the ID token verifies.
    let back = Url::parse(&callback).expect("a URL");
    assert!(back.as_str().starts_with(REDIRECT_URI), "{back}");
    let q = query(&back);
    assert_eq!(q.get("state"), Some(&state), "{back}");
    assert_eq!(q.get("iss"), Some(&app.issuer()), "{back}");
    let (amr, _, claims) = rp.finish_with_claims(req, &back).await;
    assert_eq!(amr, ["pwd"], "{claims}");
    assert_eq!(claims["sub"], invited.id.as_str(), "{claims}");

    let user = app
        .op
        .store
        .find_user(&invited.id)
        .await
        .unwrap()
        .expect("the user");
    assert_eq!(user.status, UserStatus::Active, "registered");
    assert_eq!(user.login_method, LoginMethod::Password);

    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    println!(
        "screenshot of the Japanese 申込確認 page: {}",
        screenshot.display()
    );
}
