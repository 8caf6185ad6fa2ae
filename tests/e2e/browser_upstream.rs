//! A real browser (Debian's headless Chromium, driven from Node by tests/browser/upstream-login.mjs)
//! changes the login method to an upstream account by the login-method-change link, then logs in
//! at an RP with the upstream button on the hosted Japanese login page: Google, then Facebook
//! (real providers on loopback, `sekisho_testkit::UpstreamOp`), in one browser profile.

use crate::node_driver::{redeem_callback, Driver};
use crate::support::authorize_url;
use sekisho_e2e::{upstream_name, TestApp, PASSWORD, REDIRECT_URI};
use sekisho_testkit::Profile;
use serde_json::{json, Value};
use std::collections::HashMap;

// REQ-LOGIN-3 REQ-USER-3 REQ-USER-4: in Chromium, each of two users binds an upstream account
// (Google, Facebook) by the login-method-change link (the page advises logging out upstream
// first), then logs in at the RP with the upstream button: amr ["fed"], idp names the upstream,
// sub is the user's own id.
#[tokio::test]
async fn chromium_binds_and_logs_in_with_google_and_facebook() {
    let profiles = [Profile::Google, Profile::Facebook];
    let app = TestApp::spawn_with_upstreams(&profiles).await;
    let seed = app.seed().await;
    let screenshot = sekisho_testkit::workspace_root()
        .join("test-artifacts/browser/login-with-upstreams-ja.png");
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
        let link = sekisho::admin::login_method_change_link(&app.services, &user_id)
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

    let mut driver = Driver::start(
        "upstream-login.mjs",
        &[
            ("UPSTREAMS", Value::Array(walk).to_string()),
            ("REDIRECT_URI", REDIRECT_URI.into()),
            ("SCREENSHOT", screenshot.display().to_string()),
        ],
    );
    let mut callbacks = Vec::new();
    for profile in profiles {
        let name = upstream_name(profile);
        let url = driver.tagged(&format!("CALLBACK {name}")).await;
        println!("{name}: back at the RP: {url}");
        callbacks.push((profile, url));
    }
    let report = driver.finish().await;

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
