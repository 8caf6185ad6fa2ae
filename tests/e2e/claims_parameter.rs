//! The `claims` request parameter (OpenID Connect Core §5.5, issue 18): individual claims for
//! the ID token and for userinfo, beyond what the scopes release; essential or voluntary alike
//! (what cannot be given is left out, as §5.5.1 allows).

use sekisho_e2e::{query, Browser, TestApp, EMAIL, PASSWORD, REDIRECT_URI};
use serde_json::Value;

fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

/// Logs the seed user in with scope `openid` and `claims`; the redirect back.
async fn login_with(app: &TestApp, client_id: &str, claims: &str) -> url::Url {
    let url = sekisho_e2e::code_flow_url(&app.issuer(), client_id, "openid", &[("claims", claims)]);
    Browser::new()
        .login(&app.base, &url, EMAIL, PASSWORD)
        .await
        .unwrap()
}

// ISSUE-18 (OpenID Connect Core §5.5): with scope openid only, the ID token carries the claims
// asked for it (email, essential) and userinfo those asked for it (name), each only where asked;
// a refresh's ID token keeps them.
#[tokio::test]
async fn claims_asked_for_the_id_token_and_userinfo_are_released_there() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let (id, secret) = (
        &seed.client.client_id,
        seed.client.client_secret.as_deref().unwrap(),
    );
    let back = login_with(
        &app,
        id,
        r#"{"id_token":{"email":{"essential":true}},"userinfo":{"name":null,"birthdate":null}}"#,
    )
    .await;
    let (status, tokens) = crate::support::redeem(
        &app,
        id,
        secret,
        &query(&back)["code"],
        crate::support::VERIFIER,
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["email"], EMAIL);
    assert!(
        id_token.get("name").is_none(),
        "name was asked for userinfo only"
    );
    let info: Value = reqwest::Client::new()
        .get(format!("{}/userinfo", app.issuer()))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(info["name"].is_string(), "{info}");
    assert!(
        info.get("email").is_none(),
        "email was asked for the ID token only: {info}"
    );
    assert!(
        info.get("birthdate").is_none(),
        "a claim Sekisho does not have is left out"
    );

    let (status, refreshed) = crate::support::post_basic(
        &app,
        "token",
        id,
        secret,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        claims_of(refreshed["id_token"].as_str().unwrap())["email"],
        EMAIL
    );
}

// ISSUE-18: a `claims` parameter that is not the JSON of §5.5, or longer than 2048 bytes, is
// invalid_request at the RP.
#[tokio::test]
async fn a_malformed_or_oversized_claims_parameter_is_invalid_request() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let big = format!(
        r#"{{"id_token":{{"email":null}},"pad":"{}"}}"#,
        "x".repeat(2100)
    );
    for claims in [
        "not json",
        r#"["email"]"#,
        r#"{"id_token":["email"]}"#,
        r#"{"userinfo":{"name":true}}"#,
        big.as_str(),
    ] {
        let url = sekisho_e2e::code_flow_url(
            &app.issuer(),
            &seed.client.client_id,
            "openid",
            &[("claims", claims)],
        );
        let hop = Browser::new().follow(&app.base, &url).await.unwrap();
        let sekisho_e2e::Hop::LeftOp(to) = hop else {
            panic!("{claims}: no redirect")
        };
        assert!(to.as_str().starts_with(REDIRECT_URI));
        assert_eq!(
            query(&to).get("error").map(String::as_str),
            Some("invalid_request"),
            "{claims}"
        );
    }
}

// ISSUE-18 (OpenID Connect Core §5.5.1.1): `acr` asked in the claims parameter is honoured as
// `acr_values` is: essential two-factor values make a one-factor session insufficient (prompt=none:
// interaction_required, where the same request without it gets a code); an essential acr of no
// level this server has fails the request (unmet_authentication_requirements); a voluntary
// unknown one is ignored.
#[tokio::test]
async fn an_acr_asked_in_claims_is_honoured() {
    use sekisho_core::oauth::{ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR};
    use sekisho_e2e::Hop;
    let app = TestApp::spawn().await;
    let seed = app.seed().await; // 2FA off: password logins are one factor
    let id = seed.client.client_id.as_str();
    let browser = Browser::new();
    let first = sekisho_e2e::code_flow_url(&app.issuer(), id, "openid", &[]);
    browser
        .login(&app.base, &first, EMAIL, PASSWORD)
        .await
        .unwrap();
    let silently = |claims: String| {
        let url = sekisho_e2e::code_flow_url(
            &app.issuer(),
            id,
            "openid",
            &[("claims", claims.as_str()), ("prompt", "none")],
        );
        let browser = &browser;
        let base = app.base.clone();
        async move {
            match browser.follow(&base, &url).await.unwrap() {
                Hop::LeftOp(back) => query(&back),
                Hop::Page { url, status, .. } => panic!("a page ({status}) at {url}"),
            }
        }
    };
    let acr = |essential: bool, value: &str| {
        format!(r#"{{"id_token":{{"acr":{{"essential":{essential},"values":["{value}"]}}}}}}"#)
    };
    let two_factors = silently(acr(true, ACR_MULTI_FACTOR)).await;
    assert_eq!(
        two_factors.get("error").map(String::as_str),
        Some("interaction_required"),
        "{two_factors:?}"
    );
    let one_factor = silently(acr(true, ACR_SINGLE_FACTOR)).await;
    assert!(one_factor.contains_key("code"), "{one_factor:?}");
    let unknown = silently(acr(true, "urn:example:gold")).await;
    assert_eq!(
        unknown.get("error").map(String::as_str),
        Some("unmet_authentication_requirements"),
        "{unknown:?}"
    );
    let voluntary = silently(acr(false, "urn:example:gold")).await;
    assert!(voluntary.contains_key("code"), "{voluntary:?}");
}
