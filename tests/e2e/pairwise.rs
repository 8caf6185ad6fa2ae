//! Pairwise subject identifiers (OpenID Connect Core §8, issue 18): a client that chooses them
//! sees a `sub` of its sector (the host of its redirect URIs), stable for that sector and
//! unrelated to any other sector's, so integrators cannot correlate users across each other.

use sekisho_core::model::SubjectType;
use sekisho_e2e::{query, Browser, TestApp, EMAIL, PASSWORD};
use serde_json::Value;

fn claims(jwt: &str) -> Value {
    use base64::Engine;
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

/// A full login of the seed user for `client` at `redirect_uri`: the token response.
async fn login(app: &TestApp, client: &sekisho_e2e::RegisteredClient, redirect_uri: &str) -> Value {
    let url = sekisho_e2e::code_flow_url(&app.issuer(), &client.client_id, "openid email", &[])
        .replace(
            &format!("redirect_uri={}", urlencode(sekisho_e2e::REDIRECT_URI)),
            &format!("redirect_uri={}", urlencode(redirect_uri)),
        );
    let back = Browser::new()
        .login(&app.base, &url, EMAIL, PASSWORD)
        .await
        .unwrap();
    let code = query(&back)["code"].clone();
    let res = reqwest::Client::new()
        .post(format!("{}/token", app.issuer()))
        .basic_auth(&client.client_id, client.client_secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", sekisho_e2e::PKCE_VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn pairwise_client(app: &TestApp, redirect_uri: &str) -> sekisho_e2e::RegisteredClient {
    app.client(|c| {
        c.redirect_uris = vec![redirect_uri.into()];
        c.subject_type = SubjectType::Pairwise;
    })
    .await
}

// ISSUE-18 (OpenID Connect Core §8.1): a pairwise `sub` differs between sectors, is the same for
// two clients of one sector and across logins, is never the user's id, and is what the access
// token, userinfo and a refresh's ID token say too.
#[tokio::test]
async fn a_pairwise_sub_differs_between_sectors_and_is_stable_within_one() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let (a_uri, b_uri) = ("https://a.example/cb", "https://b.example/cb");
    let a1 = pairwise_client(&app, a_uri).await;
    let a2 = pairwise_client(&app, "https://a.example/other").await;
    let b = pairwise_client(&app, b_uri).await;

    let a1_tokens = login(&app, &a1, a_uri).await;
    let sub_a1 = claims(a1_tokens["id_token"].as_str().unwrap())["sub"].clone();
    let sub_a1_again =
        claims(login(&app, &a1, a_uri).await["id_token"].as_str().unwrap())["sub"].clone();
    let sub_a2 = claims(
        login(&app, &a2, "https://a.example/other").await["id_token"]
            .as_str()
            .unwrap(),
    )["sub"]
        .clone();
    let sub_b = claims(login(&app, &b, b_uri).await["id_token"].as_str().unwrap())["sub"].clone();
    assert_eq!(sub_a1, sub_a1_again, "stable across logins");
    assert_eq!(sub_a1, sub_a2, "one sector, one sub");
    assert_ne!(sub_a1, sub_b, "another sector, another sub");
    for sub in [&sub_a1, &sub_b] {
        assert_ne!(
            sub,
            &Value::from(seed.user_id.as_str()),
            "never the user's id"
        );
    }
    // The public seed client sees the user's id.
    let public = crate::support::login_tokens(
        &app,
        &seed.client.client_id,
        seed.client.client_secret.as_deref().unwrap(),
    )
    .await;
    assert_eq!(
        claims(public["id_token"].as_str().unwrap())["sub"],
        seed.user_id.as_str()
    );

    // The access token, userinfo and a refresh say the same pairwise sub.
    let at = a1_tokens["access_token"].as_str().unwrap();
    assert_eq!(claims(at)["sub"], sub_a1);
    let info: Value = reqwest::Client::new()
        .get(format!("{}/userinfo", app.issuer()))
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], sub_a1);
    assert_eq!(
        info["email"], EMAIL,
        "userinfo found the user behind the pairwise sub"
    );
    let (status, refreshed) = crate::support::post_basic(
        &app,
        "token",
        &a1.client_id,
        a1.client_secret.as_deref().unwrap(),
        &[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                a1_tokens["refresh_token"].as_str().unwrap(),
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        claims(refreshed["id_token"].as_str().unwrap())["sub"],
        sub_a1
    );
}

// ISSUE-18 (OpenID Connect Core §8.1): without a sector identifier, a pairwise client's redirect
// URIs must share one host (the sector); registration refuses otherwise.
#[tokio::test]
async fn a_pairwise_client_on_two_hosts_is_refused() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let mut c =
        sekisho::admin::NewClient::confidential(sekisho_e2e::BRAND, "RP", "https://a.example/cb");
    c.redirect_uris.push("https://b.example/cb".into());
    c.subject_type = SubjectType::Pairwise;
    let e = sekisho::admin::register_client(&app.op, c)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("one host"), "{e}");
}

/// The integrator's sector document server: `/uris.json` lists redirect URIs on two hosts,
/// `/one.json` only the first, `/object.json` is not a list.
async fn sector_server() -> String {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/uris.json",
            get(|| async { axum::Json(serde_json::json!([A_URI, B_URI])) }),
        )
        .route(
            "/one.json",
            get(|| async { axum::Json(serde_json::json!([A_URI])) }),
        )
        .route(
            "/object.json",
            get(|| async { axum::Json(serde_json::json!({ "redirect_uris": [A_URI, B_URI] })) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

const A_URI: &str = "https://a.example/cb";
const B_URI: &str = "https://b.example/cb";

/// RFC 7591 registration of a pairwise client at `redirect_uri` with `sector`: (status, body).
async fn register_pairwise(app: &TestApp, redirect_uri: &str, sector: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/clients", app.issuer()))
        .bearer_auth(sekisho_e2e::INITIAL_ACCESS_TOKEN)
        .json(&serde_json::json!({
            "redirect_uris": [redirect_uri],
            "subject_type": "pairwise",
            "sector_identifier_uri": sector,
        }))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn registered(body: &Value) -> sekisho_e2e::RegisteredClient {
    sekisho_e2e::RegisteredClient {
        client_id: body["client_id"].as_str().unwrap().into(),
        client_secret: body["client_secret"].as_str().map(str::to_owned),
        token_endpoint_auth_method: sekisho_core::oauth::TokenEndpointAuthMethod::ClientSecretBasic,
    }
}

// ISSUE-18 (OpenID Connect Core §8.1, Dynamic Registration §2): clients on two hosts that register
// one sector_identifier_uri are one sector, so they see one pairwise `sub`; a client of the same
// host without it is its own sector and sees another.
#[tokio::test]
async fn a_sector_identifier_uri_makes_hosts_one_sector() {
    let app = TestApp::spawn_configured(&sekisho_testkit::fresh_sqlite_url().unwrap(), |c| {
        c.client_urls_allow_internal = true
    })
    .await;
    app.seed().await;
    let sector = format!("{}/uris.json", sector_server().await);
    let (status, a) = register_pairwise(&app, A_URI, &sector).await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["sector_identifier_uri"], sector.as_str(), "echoed");
    let (status, b) = register_pairwise(&app, B_URI, &sector).await;
    assert_eq!(status, 201, "{b}");
    let sub = |tokens: Value| claims(tokens["id_token"].as_str().unwrap())["sub"].clone();
    let sub_a = sub(login(&app, &registered(&a), A_URI).await);
    let sub_b = sub(login(&app, &registered(&b), B_URI).await);
    assert_eq!(sub_a, sub_b, "one sector across two hosts");
    let own = pairwise_client(&app, A_URI).await;
    assert_ne!(
        sub_a,
        sub(login(&app, &own, A_URI).await),
        "the host a.example alone is another sector"
    );
}

// ISSUE-18 (Dynamic Registration §2): the OP fetches the sector_identifier_uri and refuses a
// registration whose redirect URI its list lacks, a document that is not a list, and (unless the
// operator allows it) a URL on the server's own networks; each is invalid_client_metadata.
#[tokio::test]
async fn a_sector_identifier_uri_must_list_the_redirect_uris() {
    let app = TestApp::spawn_configured(&sekisho_testkit::fresh_sqlite_url().unwrap(), |c| {
        c.client_urls_allow_internal = true
    })
    .await;
    app.seed().await;
    let server = sector_server().await;
    for (path, needle) in [
        ("/one.json", "does not hold the redirect URI"),
        ("/object.json", "not a JSON array"),
        ("/missing.json", "404"),
    ] {
        let (status, body) = register_pairwise(&app, B_URI, &format!("{server}{path}")).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"], "invalid_client_metadata", "{path}: {body}");
        let why = body["error_description"].as_str().unwrap();
        assert!(
            why.contains("sector_identifier_uri") && why.contains(needle),
            "{path}: {why}"
        );
    }
    let guarded = TestApp::spawn().await;
    guarded.seed().await;
    let (status, body) = register_pairwise(&guarded, A_URI, &format!("{server}/uris.json")).await;
    assert_eq!(status, 400, "{body}");
    let why = body["error_description"].as_str().unwrap();
    assert!(why.contains("server's own networks"), "{why}");
}
