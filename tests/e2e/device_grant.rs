//! The device authorization grant (RFC 8628, issue 18) with raw requests and a browser: the codes,
//! the verification page, the login through the same pipeline as any browser login, polling
//! (`authorization_pending`, `slow_down`, `expired_token`) and a device code redeemed once. The
//! strict third-party client's run (openid-client) is in `rp_node.rs`.

use sekisho_core::oauth::GrantType;
use sekisho_e2e::{fields, form_action, Browser, Hop, TestApp, EMAIL, PASSWORD};
use serde_json::Value;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub(crate) async fn cli_client(app: &TestApp) -> String {
    app.client(|c| {
        c.public = true;
        c.name = "OTクラウド・ストレージ CLI".into();
        c.redirect_uris.clear();
        c.post_logout_redirect_uris.clear();
        c.grant_types = vec![GrantType::DeviceCode, GrantType::RefreshToken];
    })
    .await
    .client_id
}

/// POSTs `form` to `{issuer}/{path}`: (status, JSON body).
pub(crate) async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/{path}", app.issuer()))
        .form(form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn poll(app: &TestApp, client_id: &str, device_code: &str) -> (u16, Value) {
    post(
        app,
        "token",
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", client_id),
            ("device_code", device_code),
        ],
    )
    .await
}

/// Opens `verification_uri_complete` in `browser`, approves, and logs in; the page it ends on.
pub(crate) async fn approve_and_log_in(app: &TestApp, browser: &Browser, complete: &str) -> Hop {
    let Hop::Page { status, body, .. } = browser.follow(&app.base, complete).await.unwrap() else {
        panic!("no approval page")
    };
    assert_eq!(status, 200);
    assert!(
        body.contains("OTクラウド・ストレージ CLI"),
        "the page names the application: {body}"
    );
    let action = form_action(&body).unwrap();
    // The code field is shown filled in; the browser sends what it shows.
    let user_code = url::Url::parse(complete)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "user_code")
        .unwrap()
        .1
        .into_owned();
    let login = browser
        .post(
            &app.base,
            &action,
            &fields(&body, &[("user_code", &user_code)]),
        )
        .await
        .unwrap();
    let Hop::Page { body, .. } = login else {
        panic!("no login page: {login:?}")
    };
    browser
        .submit_login(&app.base, &body, EMAIL, PASSWORD)
        .await
        .unwrap()
}

// ISSUE-18 (RFC 8628 §3.1–§3.5): a device authorization, the user's approval and login on the
// verification page, polling before (authorization_pending; too fast: slow_down) and after (the
// tokens, once).
#[tokio::test]
async fn a_device_signs_in_once_the_user_approved() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let client_id = cli_client(&app).await;
    let (status, auth) = post(
        &app,
        "device_authorization",
        &[
            ("client_id", &client_id),
            ("scope", "openid email offline_access"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{auth}");
    let device_code = auth["device_code"].as_str().unwrap();
    let user_code = auth["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9, "XXXX-XXXX: {user_code}");
    assert_eq!(auth["verification_uri"], format!("{}/device", app.issuer()));
    assert_eq!(
        (auth["expires_in"].as_i64(), auth["interval"].as_i64()),
        (Some(600), Some(5))
    );

    let (status, body) = poll(&app, &client_id, device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    // The next poll at the same moment is too fast.
    let (status, body) = poll(&app, &client_id, device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("slow_down")),
        "{body}"
    );

    let browser = Browser::new();
    let end = approve_and_log_in(
        &app,
        &browser,
        auth["verification_uri_complete"].as_str().unwrap(),
    )
    .await;
    match end {
        Hop::Page { status, body, url } => {
            assert_eq!(
                status,
                200,
                "{url}: {}",
                &body[body.find("<main").unwrap_or(0)..]
            );
            assert!(
                body.contains("デバイスでのログインを許可しました"),
                "{body}"
            );
        }
        Hop::LeftOp(to) => panic!("the device login left the OP: {to}"),
    }

    app.clock.advance(11);
    let (status, tokens) = poll(&app, &client_id, device_code).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["refresh_token"].is_string());
    let claims: Value = {
        use base64::Engine;
        let part = tokens["id_token"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap()
            .to_owned();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims["sub"], seed.user_id.as_str());
    assert_eq!(claims["aud"], client_id.as_str());
    assert_eq!(
        crate::support::userinfo_status(&app, tokens["access_token"].as_str().unwrap()).await,
        200
    );

    app.clock.advance(20);
    let (status, body) = poll(&app, &client_id, device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "redeemed once: {body}"
    );
}

// ISSUE-18 (RFC 8628 §3.5): a device code not approved within its 10 minutes is expired_token,
// and its user code no longer opens an approval.
#[tokio::test]
async fn an_unapproved_device_code_expires() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let client_id = cli_client(&app).await;
    let (_, auth) = post(&app, "device_authorization", &[("client_id", &client_id)]).await;
    app.clock.advance(601);
    let (status, body) = poll(&app, &client_id, auth["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("expired_token")),
        "{body}"
    );
    let Hop::Page { body, .. } = Browser::new()
        .follow(
            &app.base,
            auth["verification_uri_complete"].as_str().unwrap(),
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(
        !body.contains("許可してログイン"),
        "an expired code is not offered for approval"
    );
}

// ISSUE-18 (RFC 8628 §3.3): a wrong code typed on the verification page is refused with the
// reason, in Japanese; a client without the device grant gets no codes.
#[tokio::test]
async fn a_wrong_user_code_and_a_client_without_the_grant_are_refused() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let browser = Browser::new();
    let Hop::Page { body, .. } = browser
        .follow(&app.base, &format!("{}/device", app.issuer()))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(body.contains("lang=\"ja\"") && body.contains("コード"));
    let action = form_action(&body).unwrap();
    let Hop::Page { status, body, .. } = browser
        .post(
            &app.base,
            &action,
            &fields(&body, &[("user_code", "BCDF-GHJK")]),
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(status, 400);
    assert!(body.contains("コードが正しくないか"), "{body}");
    let res = reqwest::Client::new()
        .post(format!("{}/device_authorization", app.issuer()))
        .basic_auth(&seed.client.client_id, seed.client.client_secret.as_deref())
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
}

// ISSUE-18: the device login is the ordinary login pipeline: a contract that requires two-step
// verification asks the second factor before the device is approved.
#[tokio::test]
async fn the_device_login_asks_the_contracts_second_factor() {
    let app = TestApp::spawn().await;
    app.seed_two_factor().await;
    let client_id = cli_client(&app).await;
    let (_, auth) = post(&app, "device_authorization", &[("client_id", &client_id)]).await;
    let end = approve_and_log_in(
        &app,
        &Browser::new(),
        auth["verification_uri_complete"].as_str().unwrap(),
    )
    .await;
    let Hop::Page { url, .. } = end else {
        panic!("{end:?}")
    };
    assert!(url.contains("/2fa"), "the second factor comes first: {url}");
    let (_, body) = poll(&app, &client_id, auth["device_code"].as_str().unwrap()).await;
    assert_eq!(body["error"], "authorization_pending");
}

// ISSUE-18 (RFC 8628 §3.5): the user may decline on the approval page; the device's next poll is
// access_denied, and the code no longer opens an approval.
#[tokio::test]
async fn a_declined_device_is_told_access_denied() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let client_id = cli_client(&app).await;
    let (_, auth) = post(&app, "device_authorization", &[("client_id", &client_id)]).await;
    let complete = auth["verification_uri_complete"].as_str().unwrap();
    let browser = Browser::new();
    let Hop::Page { body, .. } = browser.follow(&app.base, complete).await.unwrap() else {
        panic!("no approval page")
    };
    let user_code = auth["user_code"].as_str().unwrap();
    let Hop::Page { status, body, .. } = browser
        .post(
            &app.base,
            &format!("/{}/device/deny", sekisho_e2e::BRAND),
            &fields(&body, &[("user_code", user_code)]),
        )
        .await
        .unwrap()
    else {
        panic!("no page")
    };
    assert_eq!(status, 200);
    assert!(body.contains("許可しませんでした"), "{body}");
    let (status, body) = poll(&app, &client_id, auth["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("access_denied")),
        "{body}"
    );
}
