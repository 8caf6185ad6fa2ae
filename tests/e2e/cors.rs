//! CORS on the protocol endpoints and RFC 8414 metadata (issue 18).

use sekisho_e2e::{TestApp, REDIRECT_URI};
use serde_json::Value;

/// The origin of the seed client's redirect URI.
fn registered_origin() -> String {
    url::Url::parse(REDIRECT_URI)
        .unwrap()
        .origin()
        .ascii_serialization()
}

async fn preflight(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/{path}", app.issuer()))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, dpop, content-type",
        )
        .send()
        .await
        .unwrap()
}

fn allowed_origin(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

// ISSUE-18 (CORS): a browser-based client on the origin of a registered redirect URI may call
// the token, userinfo, revocation, introspection, PAR, JWKS and discovery endpoints: preflight
// admits it with the headers DPoP needs, answers name its origin and expose DPoP-Nonce.
#[tokio::test]
async fn the_origin_of_a_registered_redirect_uri_may_call_the_protocol_endpoints() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let origin = registered_origin();
    for path in ["token", "userinfo", "revoke", "introspect", "par", "jwks"] {
        let res = preflight(&app, path, &origin).await;
        assert!(res.status().is_success(), "{path}: {}", res.status());
        assert_eq!(
            allowed_origin(&res).as_deref(),
            Some(origin.as_str()),
            "{path}"
        );
        let headers = res.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        assert!(
            headers.contains("dpop") && headers.contains("authorization"),
            "{path}: {headers}"
        );
        assert!(res
            .headers()
            .get("access-control-allow-credentials")
            .is_none());
    }
    let res = reqwest::Client::new()
        .post(format!("{}/token", app.issuer()))
        .header("Origin", &origin)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(allowed_origin(&res).as_deref(), Some(origin.as_str()));
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("dpop-nonce") && exposed.contains("www-authenticate"),
        "{exposed}"
    );
    let res = reqwest::Client::new()
        .get(format!("{}/.well-known/openid-configuration", app.issuer()))
        .header("Origin", &origin)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed_origin(&res).as_deref(), Some(origin.as_str()));
}

// ISSUE-18 (CORS): any other origin gets no CORS answer (the browser keeps the answer from the
// page), on the protocol endpoints as on the hosted pages; and a client registered later opens
// its origin at once.
#[tokio::test]
async fn other_origins_get_no_cors_answer() {
    let app = TestApp::spawn().await;
    app.seed().await;
    for origin in ["https://evil.example", "http://127.0.0.1:10", "null"] {
        let res = preflight(&app, "token", origin).await;
        assert_eq!(allowed_origin(&res), None, "{origin}");
        let res = reqwest::Client::new()
            .get(format!("{}/jwks", app.issuer()))
            .header("Origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(allowed_origin(&res), None, "{origin}");
    }
    let res = preflight(&app, "login", &registered_origin()).await;
    assert_eq!(
        allowed_origin(&res),
        None,
        "the hosted login page is not a CORS endpoint"
    );

    app.client(|c| c.redirect_uris = vec!["https://spa.example/cb".into()])
        .await;
    let res = preflight(&app, "token", "https://spa.example").await;
    assert_eq!(allowed_origin(&res).as_deref(), Some("https://spa.example"));
}

// ISSUE-18 (RFC 8414 §3): the authorization server metadata is served at the path-inserted and
// the suffixed well-known URL, and is the OpenID discovery document (same issuer, same values).
#[tokio::test]
async fn rfc8414_metadata_is_the_discovery_document() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let get = |url: String| async move {
        let res = reqwest::get(url).await.unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()
    };
    let oidc = get(format!("{}/.well-known/openid-configuration", app.issuer())).await;
    let inserted = get(format!(
        "{}/.well-known/oauth-authorization-server/VX5",
        app.base
    ))
    .await;
    let suffixed = get(format!(
        "{}/.well-known/oauth-authorization-server",
        app.issuer()
    ))
    .await;
    assert_eq!(inserted, oidc);
    assert_eq!(suffixed, oidc);
    assert_eq!(oidc["issuer"], app.issuer().as_str());
    let unknown = reqwest::get(format!(
        "{}/.well-known/oauth-authorization-server/NOPE",
        app.base
    ))
    .await
    .unwrap();
    assert_eq!(unknown.status(), 404);
}
