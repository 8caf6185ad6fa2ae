//! ISSUE-15: who may learn about a token, and how long a client's tokens live.
//! - Tokens of a deleted client end with it: the user's (userinfo, introspection, refresh) and
//!   the ones it got for itself with `client_credentials`.
//! - Introspection answers a client about its own tokens only, and a client the operator
//!   registered as a resource server about every token of the brand; anyone else gets
//!   `{"active": false}`.

use crate::admin_api::{client_token, service_client};
use crate::support::{code, post_basic, redeem, userinfo_status, VERIFIER};
use sekisho_core::oauth::GrantType;
use sekisho_e2e::{Browser, TestApp, BRAND};
use serde_json::Value;

/// What `client` (id, secret) is told about `token`.
async fn introspect(app: &TestApp, (id, secret): (&str, &str), token: &str) -> Value {
    let (status, body) = post_basic(app, "introspect", id, secret, &[("token", token)]).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A confidential client the operator registers as a resource server (as `sekisho client
/// resource-server --on` does).
async fn resource_server(app: &TestApp) -> (String, String) {
    let rs = app
        .client(|c| {
            c.redirect_uris.clear();
            c.post_logout_redirect_uris.clear();
            c.grant_types = vec![GrantType::ClientCredentials];
        })
        .await;
    sekisho_oidc::operator::set_resource_server(&app.op, BRAND, &rs.client_id, true)
        .await
        .unwrap();
    (rs.client_id, rs.client_secret.unwrap())
}

// ISSUE-15: introspection scope — client B asking about client A's tokens is told nothing
// (active=false, for the access and the refresh token alike); A is told; a resource server is
// told, until the operator withdraws it.
#[tokio::test]
async fn introspection_tells_only_the_token_s_client_and_resource_servers() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let a = seed.client.clone();
    let a = (a.client_id.as_str(), a.client_secret.as_deref().unwrap());
    let c = code(&app, &Browser::new(), a.0).await;
    let (status, tokens) = redeem(&app, a.0, a.1, &c, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let b = app.client(|_| {}).await;
    let b = (b.client_id.as_str(), b.client_secret.as_deref().unwrap());
    for token in [access, refresh] {
        let told = introspect(&app, b, token).await;
        assert_eq!(
            told,
            serde_json::json!({ "active": false }),
            "B learnt {told}"
        );
    }
    for token in [access, refresh] {
        let told = introspect(&app, a, token).await;
        assert_eq!(told["active"], true, "{told}");
        assert_eq!(told["client_id"], a.0);
        assert_eq!(told["sub"], seed.user_id.as_str());
    }
    let rs = resource_server(&app).await;
    let rs = (rs.0.as_str(), rs.1.as_str());
    for token in [access, refresh] {
        let told = introspect(&app, rs, token).await;
        assert_eq!(told["active"], true, "{told}");
        assert_eq!(told["client_id"], a.0);
    }
    sekisho_oidc::operator::set_resource_server(&app.op, BRAND, rs.0, false)
        .await
        .unwrap();
    assert_eq!(introspect(&app, rs, access).await["active"], false);
}

// ISSUE-15: tokens of a deleted client — after the operator deletes a client through the admin
// API, its user's access token gets 401 at userinfo and active=false at introspection (asked by
// a resource server), its refresh token no longer refreshes, and the access token it got for
// itself with client_credentials is no longer active either.
#[tokio::test]
async fn tokens_of_a_client_deleted_through_the_admin_api_end() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let gone = app
        .client(|c| {
            c.grant_types = vec![
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::ClientCredentials,
            ];
        })
        .await;
    let gone = (
        gone.client_id.as_str(),
        gone.client_secret.as_deref().unwrap(),
    );
    let c = code(&app, &Browser::new(), gone.0).await;
    let (status, tokens) = redeem(&app, gone.0, gone.1, &c, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let own = client_token(&app, gone.0, gone.1).await;
    let rs = resource_server(&app).await;
    let rs = (rs.0.as_str(), rs.1.as_str());
    assert_eq!(userinfo_status(&app, access).await, 200);
    for token in [access, refresh, own.as_str()] {
        assert_eq!(introspect(&app, rs, token).await["active"], true);
    }

    let (op_id, op_secret) = service_client(&app, "sekisho:operator", None).await;
    let op_token = client_token(&app, &op_id, &op_secret).await;
    let res = reqwest::Client::new()
        .delete(format!(
            "{}/api/v1/brands/{BRAND}/clients/{}",
            app.issuer(),
            gone.0
        ))
        .bearer_auth(&op_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204, "{}", res.text().await.unwrap());

    assert_eq!(userinfo_status(&app, access).await, 401);
    for token in [access, refresh, own.as_str()] {
        let told = introspect(&app, rs, token).await;
        assert_eq!(told, serde_json::json!({ "active": false }), "{told}");
    }
    let (status, body) = post_basic(
        &app,
        "token",
        gone.0,
        gone.1,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, 401, "{body}");
}
