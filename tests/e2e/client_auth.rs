//! Client authentication methods at the token endpoint, and the client_credentials grant.

use crate::support::{authorize_url, code, error_code, post_basic, VERIFIER};
use josekit::jwk::KeyPair;
use josekit::jws::{JwsHeader, ES256};
use josekit::jwt::JwtPayload;
use sekisho_core::oauth::{GrantType, TokenEndpointAuthMethod};
use sekisho_e2e::{query, Browser, TestApp, REDIRECT_URI};
use serde_json::{json, Value};

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/{path}", app.issuer()))
        .form(form)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

// REQ-OP-3: client_secret_post.
#[tokio::test]
async fn client_secret_post() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let client = app
        .client(|c| c.auth_method = Some(TokenEndpointAuthMethod::ClientSecretPost))
        .await;
    let secret = client.client_secret.clone().unwrap();
    let c = code(&app, &Browser::new(), &client.client_id).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", c.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
        ("client_id", &client.client_id),
        ("client_secret", &secret),
    ];
    let (status, body) = post_form(&app, "token", &form).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string());
    // The same client may not switch to Basic: only its registered method counts.
    let c = code(&app, &Browser::new(), &client.client_id).await;
    let (status, body) =
        crate::support::redeem(&app, &client.client_id, &secret, &c, VERIFIER).await;
    assert_eq!((status, error_code(&body)), (401, "invalid_client"));
}

// REQ-OP-3: private_key_jwt (RFC 7523) with a registered ES256 key; assertions are single use.
#[tokio::test]
async fn private_key_jwt() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let pair = ES256.generate_key_pair().unwrap();
    let mut public = pair.to_jwk_public_key();
    public.set_key_id("rp-key-1");
    let jwks = json!({ "keys": [Value::Object(public.as_ref().clone())] });
    let client = app.client(|c| c.jwks = Some(jwks)).await;
    assert_eq!(
        client.token_endpoint_auth_method,
        TokenEndpointAuthMethod::PrivateKeyJwt
    );
    assert!(client.client_secret.is_none());

    let assertion = |jti: &str, aud: &str| {
        let mut header = JwsHeader::new();
        header.set_key_id("rp-key-1");
        let mut p = JwtPayload::new();
        p.set_issuer(&client.client_id);
        p.set_subject(&client.client_id);
        p.set_audience(vec![aud]);
        p.set_jwt_id(jti);
        p.set_expires_at(&(app.clock.system_time() + std::time::Duration::from_secs(60)));
        josekit::jwt::encode_with_signer(
            &p,
            &header,
            &ES256.signer_from_jwk(&pair.to_jwk_key_pair()).unwrap(),
        )
        .unwrap()
    };
    let token_endpoint = format!("{}/token", app.issuer());
    let redeem = |c: String, a: String| {
        let app = &app;
        async move {
            post_form(
                app,
                "token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &c),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", VERIFIER),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &a),
                ],
            )
            .await
        }
    };
    let a1 = assertion("jti-1", &token_endpoint);
    let (status, body) = redeem(
        code(&app, &Browser::new(), &client.client_id).await,
        a1.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = redeem(code(&app, &Browser::new(), &client.client_id).await, a1).await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "invalid_client"),
        "a replayed assertion is refused"
    );
    let (status, body) = redeem(
        code(&app, &Browser::new(), &client.client_id).await,
        assertion("jti-2", "https://elsewhere.example/token"),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "invalid_client"),
        "another audience is refused"
    );
    // An assertion signed by a key the client did not register.
    let stranger = ES256.generate_key_pair().unwrap();
    let mut header = JwsHeader::new();
    header.set_key_id("rp-key-1");
    let mut p = JwtPayload::new();
    p.set_issuer(&client.client_id);
    p.set_subject(&client.client_id);
    p.set_audience(vec![token_endpoint.as_str()]);
    p.set_jwt_id("jti-3");
    p.set_expires_at(&(app.clock.system_time() + std::time::Duration::from_secs(60)));
    let forged = josekit::jwt::encode_with_signer(
        &p,
        &header,
        &ES256.signer_from_jwk(&stranger.to_jwk_key_pair()).unwrap(),
    )
    .unwrap();
    let (status, body) = redeem(code(&app, &Browser::new(), &client.client_id).await, forged).await;
    assert_eq!((status, error_code(&body)), (401, "invalid_client"));
}

// REQ-OP-2 REQ-OP-3: public clients authenticate with `none` and must use PKCE S256.
#[tokio::test]
async fn public_client_requires_pkce() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let client = app.client(|c| c.public = true).await;
    assert!(client.client_secret.is_none());
    // Without a code_challenge the request goes back with invalid_request.
    let url = authorize_url(&app, &client.client_id, &[]);
    let no_pkce: String = url
        .split('&')
        .filter(|p| !p.starts_with("code_challenge"))
        .collect::<Vec<_>>()
        .join("&");
    let res = Browser::new().get(&no_pkce).await.unwrap();
    let loc = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(query(&loc)["error"], "invalid_request");
    // plain is not accepted either.
    let plain = url.replace("code_challenge_method=S256", "code_challenge_method=plain");
    let res = Browser::new().get(&plain).await.unwrap();
    let loc = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(query(&loc)["error"], "invalid_request");
    // With PKCE it works, authenticating by client_id alone.
    let c = code(&app, &Browser::new(), &client.client_id).await;
    let (status, body) = post_form(
        &app,
        "token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
            ("client_id", &client.client_id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A public client cannot introspect.
    let (status, body) = post_form(
        &app,
        "introspect",
        &[
            ("token", body["access_token"].as_str().unwrap()),
            ("client_id", &client.client_id),
        ],
    )
    .await;
    assert_eq!((status, error_code(&body)), (401, "invalid_client"));
}

// REQ-OP-3: client_credentials: a client acting for itself, limited to its registered scopes.
#[tokio::test]
async fn client_credentials_grant() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let client = app
        .client(|c| {
            c.grant_types = vec![GrantType::ClientCredentials];
            c.redirect_uris.clear();
            c.scope = Some("storage.read storage.write".into());
        })
        .await;
    let secret = client.client_secret.clone().unwrap();
    let (status, body) = post_basic(
        &app,
        "token",
        &client.client_id,
        &secret,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "storage.read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "storage.read");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let at = body["access_token"].as_str().unwrap();
    let header = josekit::jwt::decode_header(at).unwrap();
    assert_eq!(
        header.claim("typ").and_then(|t| t.as_str()),
        Some("at+jwt"),
        "RFC 9068 typ"
    );
    let (_, intro) = post_basic(
        &app,
        "introspect",
        &client.client_id,
        &secret,
        &[("token", at)],
    )
    .await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["sub"], client.client_id.as_str());
    assert_eq!(
        crate::support::userinfo_status(&app, at).await,
        401,
        "no user behind a client token"
    );
    // Revoking the access token stops it.
    let (status, _) =
        post_basic(&app, "revoke", &client.client_id, &secret, &[("token", at)]).await;
    assert_eq!(status, 200);
    let (_, intro) = post_basic(
        &app,
        "introspect",
        &client.client_id,
        &secret,
        &[("token", at)],
    )
    .await;
    assert_eq!(intro, json!({ "active": false }));

    let (status, body) = post_basic(
        &app,
        "token",
        &client.client_id,
        &secret,
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "invalid_scope"));
    // A client without the grant type is unauthorized_client.
    let (status, body) = post_basic(
        &app,
        "token",
        &seed.client.client_id,
        seed.client.client_secret.as_deref().unwrap(),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "unauthorized_client"));
}
