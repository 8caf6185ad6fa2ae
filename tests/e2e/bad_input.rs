//! Issue 15, bad input: addresses the mailer cannot send to are refused at the edge, on the admin
//! API and in the console, with a clear answer, and nothing is created.

use crate::admin_api::{client_token, service_client};
use crate::two_factor::{excerpt, fields, page};
use crate::user_lifecycle::{browser_get as get, contractor};
use sekisho_e2e::{TestApp, BRAND};

const BAD: [&str; 3] = ["<script>@example.com", "a,b@example.jp", "a:b@example.jp"];

async fn user_count(app: &TestApp, contract: &str) -> usize {
    app.op.store.list_users(contract).await.unwrap().len()
}

// REQ-USER-1: the admin API answers 400 (not 500) to an address the mailer would refuse, and
// creates no user.
#[tokio::test]
async fn the_api_refuses_unmailable_addresses_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let (id, secret) = service_client(&app, "sekisho:admin", Some(&seed.contract_id)).await;
    let token = client_token(&app, &id, &secret).await;
    let before = user_count(&app, &seed.contract_id).await;
    for email in BAD {
        let answer = reqwest::Client::new()
            .post(format!("{}/api/v1/users", app.issuer()))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "email": email, "name": "x", "role": "user" }))
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let body = answer.text().await.unwrap();
        assert_eq!(status, 400, "{email}: {body}");
        assert_eq!(user_count(&app, &seed.contract_id).await, before, "{email}");
    }
}

// REQ-USER-1: the console's invitation refuses the same addresses with a message, and creates no
// user.
#[tokio::test]
async fn the_console_refuses_unmailable_addresses_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let console = contractor(&app).await;
    let before = user_count(&app, &seed.contract_id).await;
    for email in BAD {
        let (_, users) = page(get(&app, &console, "admin").await);
        let hop = console
            .post(
                &app.base,
                &format!("/{BRAND}/admin/invite"),
                &fields(&users, &[("email", email), ("name", "x"), ("role", "user")]),
            )
            .await
            .unwrap();
        match hop {
            sekisho_e2e::Hop::Page { status, body, .. } => {
                assert_eq!(status.as_u16(), 400, "{email}: {}", excerpt(&body));
            }
            other => panic!("{email}: {other:?}"),
        }
        assert_eq!(user_count(&app, &seed.contract_id).await, before, "{email}");
    }
}

/// A POST to a protocol endpoint with client_secret_basic; (status, content type, body).
async fn post_raw(
    app: &TestApp,
    seed: &sekisho_e2e::Seed,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String, String) {
    let answer = reqwest::Client::new()
        .post(format!("{}/{path}", app.issuer()))
        .basic_auth(&seed.client.client_id, seed.client.client_secret.as_deref())
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let kind = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, answer.text().await.unwrap())
}

// RFC 6749 §3.1 (REQ-OP-3): a parameter repeated at the token endpoint (grant_type, redirect_uri)
// is refused with the OAuth JSON error, not "last one wins".
#[tokio::test]
async fn repeated_token_parameters_are_refused() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let form = "application/x-www-form-urlencoded";
    for body in [
        "grant_type=client_credentials&grant_type=authorization_code",
        "grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fa.example%2Fcb&redirect_uri=https%3A%2F%2Fb.example%2Fcb",
    ] {
        let (status, kind, text) = post_raw(&app, &seed, "token", form, body).await;
        assert_eq!(status, 400, "{body}: {text}");
        assert!(kind.starts_with("application/json"), "{kind}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["error"], "invalid_request", "{text}");
        assert!(json["error_description"].as_str().unwrap().contains("repeated"));
    }
}

// RFC 6749 §3.2 (REQ-OP-3): a body of another content type at the token, introspection and
// revocation endpoints gets the OAuth JSON error, not a framework's 415 text.
#[tokio::test]
async fn a_wrong_content_type_gets_the_oauth_json_error() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    for path in ["token", "introspect", "revoke"] {
        let (status, kind, text) = post_raw(
            &app,
            &seed,
            path,
            "application/json",
            r#"{"grant_type":"client_credentials","token":"x"}"#,
        )
        .await;
        assert_eq!(status, 400, "{path}: {text}");
        assert!(kind.starts_with("application/json"), "{path}: {kind}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["error"], "invalid_request", "{path}: {text}");
    }
}

// RFC 6749 §3.1: an authorization request with redirect_uri twice is refused on a page (the
// redirect URI cannot be trusted, so nothing is sent to either).
#[tokio::test]
async fn a_repeated_redirect_uri_at_authorize_is_refused_on_a_page() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let url = format!(
        "{}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
        crate::support::authorize_url(&app, &seed.client.client_id, &[])
    );
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    assert!(answer.headers().get("location").is_none());
    let body = answer.text().await.unwrap();
    assert!(
        body.contains("同じパラメーターが複数"),
        "{}",
        excerpt(&body)
    );
}
