//! A real browser (Debian's headless Chromium, driven from Node by tests/browser/lock-unlock.mjs)
//! walks the hosted Japanese login page: ten wrong passwords lock the account, the lock mail's link
//! unlocks it, and the next login sends the browser back to the RP with a code.

use crate::support::{authorize_url, redeem, VERIFIER};
use sekisho_e2e::{link_in, query, TestApp, EMAIL, PASSWORD, REDIRECT_URI};
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
        .unwrap_or_else(|_| panic!("lock-unlock.mjs printed no {expected} within {WAIT:?}"))
        .expect("read the driver's stdout")
        .unwrap_or_else(|| panic!("lock-unlock.mjs exited before printing {expected}"));
    if line.starts_with('{') && expected != "final JSON" {
        panic!("lock-unlock.mjs failed before {expected}: {line}");
    }
    line
}

// REQ-LOCK-1 REQ-LOGIN-1 REQ-MAIL-1: in Chromium, the Japanese login page locks after ten wrong
// passwords, the mailed link unlocks, and the login then returns to the RP with a code.
#[tokio::test]
async fn chromium_locks_after_ten_wrong_passwords_and_the_mailed_link_unlocks() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let root = sekisho_testkit::workspace_root();
    let dir = root.join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: run scripts/test (it installs tests/browser's \
         packages and Debian's chromium and fonts-noto-cjk)"
    );
    let screenshot = root.join("test-artifacts/browser/login-page-ja.png");
    let _ = std::fs::remove_file(&screenshot);

    let mut node = tokio::process::Command::new("node")
        .arg("lock-unlock.mjs")
        .current_dir(&dir)
        .env(
            "AUTHORIZE_URL",
            authorize_url(&app, &seed.client.client_id, &[]),
        )
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

    assert_eq!(next_line(&mut lines, "LOCKED").await, "LOCKED");

    let mails = app.deliver_mail().await;
    assert_eq!(mails.len(), 1, "one lock mail");
    assert_eq!(mails[0].to, EMAIL);
    let link = link_in(&mails[0].body, &format!("{}/unlock?ticket=", app.issuer()))
        .expect("an unlock link in the lock mail");
    stdin
        .write_all(format!("{link}\n").as_bytes())
        .await
        .expect("hand the unlock link to the driver");
    stdin.flush().await.expect("flush");

    let last = next_line(&mut lines, "final JSON").await;
    let report: Value = serde_json::from_str(&last)
        .unwrap_or_else(|_| panic!("lock-unlock.mjs printed no JSON: {last}"));
    assert_eq!(report["ok"], true, "the browser walk failed: {report}");
    let status = tokio::time::timeout(WAIT, node.wait())
        .await
        .expect("node exits after its report")
        .expect("node's status");
    assert!(status.success(), "node exited with {status}");

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
