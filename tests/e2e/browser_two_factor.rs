//! A real browser (Debian's headless Chromium, driven from Node by tests/browser/two-factor.mjs)
//! walks two-step verification on the hosted Japanese pages: it enrols the authenticator app
//! (reading the secret from the page), asks to be remembered, logs out, logs in again with the
//! password alone, and a fresh browser profile is asked for the second factor.

use crate::support::{authorize_url, redeem, VERIFIER};
use base64::Engine;
use sekisho_core::oauth::{ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR};
use sekisho_core::Clock;
use sekisho_e2e::{query, Seed, TestApp, EMAIL, PASSWORD, REDIRECT_URI};
use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::ChildStdout;
use url::Url;

/// The longest the test waits for any one message from the driver (Chromium's start included).
const WAIT: Duration = Duration::from_secs(60);

/// The next line the driver prints; panics with a clear message on silence, exit or a failure
/// report (`{"ok":false,...}`) when `expected` is something else.
async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>, expected: &str) -> String {
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("two-factor.mjs printed no {expected} within {WAIT:?}"))
        .expect("read the driver's stdout")
        .unwrap_or_else(|| panic!("two-factor.mjs exited before printing {expected}"));
    if line.starts_with('{') && expected != "final JSON" {
        panic!("two-factor.mjs failed before {expected}: {line}");
    }
    line
}

/// The rest of a `WORD rest` line from the driver.
async fn tagged(lines: &mut Lines<BufReader<ChildStdout>>, tag: &str) -> String {
    let line = next_line(lines, tag).await;
    line.strip_prefix(tag)
        .and_then(|rest| rest.strip_prefix(' '))
        .unwrap_or_else(|| panic!("expected {tag} from two-factor.mjs, got: {line}"))
        .to_owned()
}

/// The claims of a JWT, read without verification (the token came straight from the token
/// endpoint; signatures have their own tests).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Checks a callback from the driver (code, state `st`, iss), redeems its code and returns the
/// ID token's claims.
async fn redeem_callback(app: &TestApp, seed: &Seed, callback: &str) -> Value {
    let callback = Url::parse(callback).expect("a URL");
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
    let (status, tokens) = redeem(
        app,
        &seed.client.client_id,
        seed.client.client_secret.as_deref().expect("secret"),
        code,
        VERIFIER,
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    claims(tokens["id_token"].as_str().expect("an ID token"))
}

// REQ-2FA-2 REQ-2FA-3 REQ-2FA-4: in Chromium, the authenticator app is enrolled from the secret on
// the page; the remembered browser logs in later with the password alone, and a fresh profile is
// asked for the second factor.
#[tokio::test]
async fn chromium_enrols_the_authenticator_is_remembered_and_asked_again_in_a_fresh_profile() {
    let app = TestApp::spawn().await;
    let seed = app.seed_two_factor().await;
    let root = sekisho_testkit::workspace_root();
    let dir = root.join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: run scripts/test (it installs tests/browser's \
         packages and Debian's chromium and fonts-noto-cjk)"
    );
    let screenshot = root.join("test-artifacts/browser/two-factor-verify-ja.png");
    let _ = std::fs::remove_file(&screenshot);

    let mut node = tokio::process::Command::new("node")
        .arg("two-factor.mjs")
        .current_dir(&dir)
        .env(
            "AUTHORIZE_URL",
            authorize_url(&app, &seed.client.client_id, &[]),
        )
        .env(
            "AUTHORIZE_URL_AGAIN",
            authorize_url(&app, &seed.client.client_id, &[("prompt", "login")]),
        )
        .env("LOGOUT_URL", format!("{}/logout", app.issuer()))
        .env("REDIRECT_URI", REDIRECT_URI)
        .env("EMAIL", EMAIL)
        .env("PASSWORD", PASSWORD)
        .env("SCREENSHOT", &screenshot)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (Node.js 20 or later)");
    let mut stdin = node.stdin.take().expect("stdin");
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();

    // The test plays the authenticator app, on the server's (fake) clock.
    let secret = tagged(&mut lines, "SECRET").await;
    let code = sekisho_crypto::second_factor::totp_code(&secret, app.clock.now())
        .unwrap_or_else(|e| panic!("the page's secret {secret} is not a TOTP secret: {e}"));
    stdin
        .write_all(format!("{code}\n").as_bytes())
        .await
        .expect("hand the code to the driver");
    stdin.flush().await.expect("flush");

    let callback1 = tagged(&mut lines, "CALLBACK1").await;
    let callback2 = tagged(&mut lines, "CALLBACK2").await;
    let last = next_line(&mut lines, "final JSON").await;
    let report: Value = serde_json::from_str(&last)
        .unwrap_or_else(|_| panic!("two-factor.mjs printed no JSON: {last}"));
    assert_eq!(report["ok"], true, "the browser walk failed: {report}");
    let status = tokio::time::timeout(WAIT, node.wait())
        .await
        .expect("node exits after its report")
        .expect("node's status");
    assert!(status.success(), "node exited with {status}");
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
