//! A real browser (Debian's headless Chromium, driven from Node by tests/browser/upstream-login.mjs)
//! changes the login method to an upstream account by the login-method-change link, then logs in
//! at an RP with the upstream button on the hosted Japanese login page: Google, then Facebook
//! (real providers on loopback, `sekisho_testkit::UpstreamOp`), in one browser profile.

use crate::support::{authorize_url, redeem, VERIFIER};
use base64::Engine;
use sekisho_e2e::{query, upstream_name, Seed, TestApp, PASSWORD, REDIRECT_URI};
use sekisho_testkit::Profile;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::ChildStdout;
use url::Url;

/// The longest the test waits for any one message from the driver (Chromium's start and a whole
/// binding included).
const WAIT: Duration = Duration::from_secs(90);

/// The next line the driver prints; panics with a clear message on silence, exit or a failure
/// report (`{"ok":false,...}`) when `expected` is something else.
async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>, expected: &str) -> String {
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("upstream-login.mjs printed no {expected} within {WAIT:?}"))
        .expect("read the driver's stdout")
        .unwrap_or_else(|| panic!("upstream-login.mjs exited before printing {expected}"));
    if line.starts_with('{') && expected != "final JSON" {
        panic!("upstream-login.mjs failed before {expected}: {line}");
    }
    line
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

// REQ-LOGIN-3 REQ-USER-3 REQ-USER-4: in Chromium, each of two users binds an upstream account
// (Google, Facebook) by the login-method-change link (the page advises logging out upstream
// first), then logs in at the RP with the upstream button: amr ["fed"], idp names the upstream,
// sub is the user's own id.
#[tokio::test]
async fn chromium_binds_and_logs_in_with_google_and_facebook() {
    let profiles = [Profile::Google, Profile::Facebook];
    let app = TestApp::spawn_with_upstreams(&profiles).await;
    let seed = app.seed().await;
    let root = sekisho_testkit::workspace_root();
    let dir = root.join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: run scripts/test (it installs tests/browser's \
         packages and Debian's chromium and fonts-noto-cjk)"
    );
    let screenshot = root.join("test-artifacts/browser/login-with-upstreams-ja.png");
    let _ = std::fs::remove_file(&screenshot);

    let mut users = HashMap::new();
    let mut walk = Vec::new();
    for profile in profiles {
        let name = upstream_name(profile);
        let user_id = sekisho::admin::add_user(
            &app.op,
            &seed.contract_id,
            &format!("hanako-{name}@example.jp"),
            PASSWORD,
            sekisho_core::model::Role::User,
            "花子",
        )
        .await
        .unwrap();
        let link = sekisho::admin::login_method_change_link(&app.op, &user_id)
            .await
            .unwrap();
        walk.push(json!({
            "name": name,
            "link": link,
            "authorizeUrl": authorize_url(&app, &seed.client.client_id, &[("prompt", "login")]),
            "login": format!("hanako-{name}"),
        }));
        users.insert(name, user_id);
    }

    let mut node = tokio::process::Command::new("node")
        .arg("upstream-login.mjs")
        .current_dir(&dir)
        .env("UPSTREAMS", Value::Array(walk).to_string())
        .env("REDIRECT_URI", REDIRECT_URI)
        .env("SCREENSHOT", &screenshot)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (Node.js 20 or later)");
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();

    let mut callbacks = Vec::new();
    for profile in profiles {
        let name = upstream_name(profile);
        let line = next_line(&mut lines, &format!("CALLBACK {name}")).await;
        let url = line
            .strip_prefix(&format!("CALLBACK {name} "))
            .unwrap_or_else(|| panic!("expected CALLBACK {name} from upstream-login.mjs: {line}"))
            .to_owned();
        println!("{name}: back at the RP: {url}");
        callbacks.push((profile, url));
    }
    let last = next_line(&mut lines, "final JSON").await;
    let report: Value = serde_json::from_str(&last)
        .unwrap_or_else(|_| panic!("upstream-login.mjs printed no JSON: {last}"));
    assert_eq!(report["ok"], true, "the browser walk failed: {report}");
    let status = tokio::time::timeout(WAIT, node.wait())
        .await
        .expect("node exits after its report")
        .expect("node's status");
    assert!(status.success(), "node exited with {status}");

    for (profile, callback) in &callbacks {
        let name = upstream_name(*profile);
        let walked = &report["upstreams"][name];
        assert_eq!(
            walked["loggedIn"]["callback"],
            callback.as_str(),
            "{report}"
        );
        // REQ-USER-3: the login-method page advised logging out of the services first.
        assert!(
            walked["bound"]["advice"]
                .as_str()
                .is_some_and(|a| a.contains("ログアウトしてください")),
            "{name}: {report}"
        );
        // The login page offered both upstreams.
        let buttons = walked["loggedIn"]["loginButtons"]
            .as_array()
            .expect("buttons");
        for label in ["Googleアカウントでログイン", "Facebookアカウントでログイン"]
        {
            assert!(buttons.iter().any(|b| b == label), "{label}: {report}");
        }
        println!(
            "{name}: upstream login form shown again on login: {}, consent again: {}",
            walked["loggedIn"]["loginFormAgain"], walked["loggedIn"]["consentAgain"]
        );

        let claims = redeem_callback(&app, &seed, callback).await;
        assert_eq!(claims["amr"], json!(["fed"]), "{name}: {claims}");
        assert_eq!(claims["idp"], name, "{name}: {claims}");
        assert_eq!(claims["sub"], users[name].as_str(), "{name}: {claims}");
        let user = app.op.store.find_user(&users[name]).await.unwrap().unwrap();
        assert_eq!(user.login_method.as_str(), name);
    }
    // Google (OpenID Connect): Sekisho asks for the account (prompt=select_account), so the
    // upstream showed its login form again although its session was live.
    assert_eq!(
        report["upstreams"]["google"]["loggedIn"]["loginFormAgain"], true,
        "Google asked for the account again: {report}"
    );

    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    println!(
        "screenshot of the Japanese login page with the upstream buttons: {}",
        screenshot.display()
    );
}
