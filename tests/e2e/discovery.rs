//! Discovery is truthful: every advertised endpoint answers, every advertised signing alg signs.

use sekisho_e2e::TestApp;
use serde_json::Value;

// REQ-OP-1: discovery per brand; issuer and endpoints under {public_url}/{brand}.
#[tokio::test]
async fn discovery_is_per_brand_and_truthful() {
    let app = TestApp::spawn().await;
    app.seed().await;
    sekisho::admin::add_brand(&app.op, "VX4", "どこでもBOX")
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for brand in ["VX5", "VX4"] {
        let issuer = format!("{}/{brand}", app.base);
        let meta: Value = http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(meta["issuer"], issuer.as_str());
        for key in [
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
            "revocation_endpoint",
            "introspection_endpoint",
            "end_session_endpoint",
        ] {
            let url = meta[key].as_str().unwrap_or_else(|| panic!("{key}"));
            assert!(url.starts_with(&issuer), "{key}");
            let get = http.get(url).send().await.unwrap().status().as_u16();
            let post = http.post(url).send().await.unwrap().status().as_u16();
            assert!(get != 404 || post != 404, "{key} {url} is not served");
            assert!(get != 405 || post != 405, "{key} {url}");
        }
        // Every advertised ID token alg has a published key.
        let jwks: Value = http
            .get(meta["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for alg in meta["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
        {
            assert!(
                jwks["keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["alg"] == *alg),
                "no key for {alg}"
            );
        }
        assert!(
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .all(|k| k.get("d").is_none()),
            "no private parts in the JWKS"
        );
        assert_eq!(
            meta["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
        // REQ-OP-2 REQ-OP-4: the two assurance levels an RP can ask for with acr_values.
        assert_eq!(
            meta["acr_values_supported"],
            serde_json::json!(["urn:sekisho:acr:1fa", "urn:sekisho:acr:2fa"])
        );
    }
    let unknown = http
        .get(format!(
            "{}/NOPE/.well-known/openid-configuration",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

// REQ-LOGIN-6 (minimal): the login page is Japanese by default, English on request, and shows the brand.
#[tokio::test]
async fn login_page_language_and_brand() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let browser = sekisho_e2e::Browser::new();
    let page = |extra: Vec<(&'static str, &'static str)>| {
        let url = crate::support::authorize_url(&app, &seed.client.client_id, &extra);
        let browser = &browser;
        let base = app.base.clone();
        async move {
            match browser.follow(&base, &url).await.unwrap() {
                sekisho_e2e::Hop::Page { body, .. } => body,
                other => panic!("{other:?}"),
            }
        }
    };
    let ja = page(vec![]).await;
    assert!(
        ja.contains("lang=\"ja\"")
            && ja.contains("パスワードを忘れた方はこちら")
            && ja.contains("OTクラウド・ストレージ")
    );
    let en = page(vec![("ui_locales", "en")]).await;
    assert!(en.contains("lang=\"en\"") && en.contains("Forgot your password?"));
}

/// Every member discovery may hold: a new one fails `every_advertised_value_is_backed` until the
/// test checks what it says.
const ADVERTISED: &[&str] = &[
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "revocation_endpoint",
    "introspection_endpoint",
    "end_session_endpoint",
    "pushed_authorization_request_endpoint",
    "device_authorization_endpoint",
    "require_pushed_authorization_requests",
    "dpop_signing_alg_values_supported",
    "scopes_supported",
    "response_types_supported",
    "response_modes_supported",
    "grant_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
    "token_endpoint_auth_methods_supported",
    "token_endpoint_auth_signing_alg_values_supported",
    "revocation_endpoint_auth_methods_supported",
    "revocation_endpoint_auth_signing_alg_values_supported",
    "introspection_endpoint_auth_methods_supported",
    "introspection_endpoint_auth_signing_alg_values_supported",
    "code_challenge_methods_supported",
    "claims_supported",
    "acr_values_supported",
    "prompt_values_supported",
    "ui_locales_supported",
    "claims_parameter_supported",
    "request_parameter_supported",
    "request_uri_parameter_supported",
    "authorization_response_iss_parameter_supported",
    "frontchannel_logout_supported",
    "backchannel_logout_supported",
    "backchannel_logout_session_supported",
    "registration_endpoint",
];

// ISSUE-18: discovery lists exactly what works. Every member is one this test knows; the issue's
// values are each tried: PAR answers (and is optional), every DPoP algorithm advertised binds a
// token, request objects and foreign request_uris are refused as advertised, the claims
// parameter and back-channel logout are not claimed.
#[tokio::test]
async fn every_advertised_value_is_backed() {
    use josekit::jws::{EdDSA, JwsHeader, ES256, ES384, PS256, RS256};
    use sekisho_core::oauth::GrantType;
    use sekisho_core::Clock;
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let meta: Value = http
        .get(format!("{}/.well-known/openid-configuration", app.issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in meta.as_object().unwrap().keys() {
        assert!(
            ADVERTISED.contains(&key.as_str()),
            "{key} is advertised but not checked here"
        );
    }

    // RFC 7591: registration is advertised only where an initial access token opens it.
    if let Some(url) = meta["registration_endpoint"].as_str() {
        let res = http
            .post(url)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            401,
            "registration needs the initial access token"
        );
    }

    // RFC 8628: served (an unknown client is invalid_client, not 404); the grant is listed.
    let device = meta["device_authorization_endpoint"].as_str().unwrap();
    let res = http
        .post(device)
        .form(&[("client_id", "nobody")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(meta["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from("urn:ietf:params:oauth:grant-type:device_code")));

    // PAR: served (an unauthenticated push is invalid_client, not 404), and not required.
    let par = meta["pushed_authorization_request_endpoint"]
        .as_str()
        .unwrap();
    let res = http
        .post(par)
        .form(&[("client_id", "nobody")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(meta["require_pushed_authorization_requests"], false);
    let direct = crate::support::authorize_url(&app, &seed.client.client_id, &[]);
    let res = http.get(&direct).send().await.unwrap();
    assert_eq!(res.status(), 303, "a request in the URL is served");
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .contains("/login"));

    // Every advertised DPoP algorithm binds a client_credentials token.
    let service = app
        .client(|c| {
            c.grant_types = vec![GrantType::ClientCredentials];
            c.redirect_uris.clear();
            c.post_logout_redirect_uris.clear();
        })
        .await;
    let token_url = meta["token_endpoint"].as_str().unwrap();
    let algs: Vec<&str> = meta["dpop_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(!algs.is_empty());
    for (i, alg) in algs.iter().enumerate() {
        let (public, signer): (josekit::jwk::Jwk, Box<dyn josekit::jws::JwsSigner>) = match *alg {
            "ES256" => {
                let k = ES256.generate_key_pair().unwrap();
                (
                    k.to_jwk_public_key(),
                    Box::new(ES256.signer_from_jwk(&k.to_jwk_key_pair()).unwrap()),
                )
            }
            "ES384" => {
                let k = ES384.generate_key_pair().unwrap();
                (
                    k.to_jwk_public_key(),
                    Box::new(ES384.signer_from_jwk(&k.to_jwk_key_pair()).unwrap()),
                )
            }
            "RS256" => {
                let k = RS256.generate_key_pair(2048).unwrap();
                (
                    k.to_jwk_public_key(),
                    Box::new(RS256.signer_from_jwk(&k.to_jwk_key_pair()).unwrap()),
                )
            }
            "PS256" => {
                let k = PS256.generate_key_pair(2048).unwrap();
                (
                    k.to_jwk_public_key(),
                    Box::new(PS256.signer_from_jwk(&k.to_jwk_key_pair()).unwrap()),
                )
            }
            "EdDSA" => {
                let k = EdDSA
                    .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
                    .unwrap();
                (
                    k.to_jwk_public_key(),
                    Box::new(EdDSA.signer_from_jwk(&k.to_jwk_key_pair()).unwrap()),
                )
            }
            other => panic!("discovery advertises DPoP alg {other}, which this test cannot try"),
        };
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header
            .set_claim("jwk", Some(Value::Object(public.as_ref().clone())))
            .unwrap();
        let mut p = josekit::jwt::JwtPayload::new();
        p.set_jwt_id(format!("alg-{i}"));
        p.set_claim("htm", Some(serde_json::json!("POST"))).unwrap();
        p.set_claim("htu", Some(serde_json::json!(token_url)))
            .unwrap();
        p.set_claim("iat", Some(serde_json::json!(app.clock.now())))
            .unwrap();
        let proof = josekit::jwt::encode_with_signer(&p, &header, &*signer).unwrap();
        let res = http
            .post(token_url)
            .basic_auth(&service.client_id, service.client_secret.as_deref())
            .header("DPoP", proof)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["token_type"], "DPoP", "{alg}: {body}");
    }

    // request objects and request_uris not made by PAR: refused, as advertised.
    assert_eq!(meta["request_parameter_supported"], false);
    let res = http
        .get(crate::support::authorize_url(
            &app,
            &seed.client.client_id,
            &[("request", "e30.e30.")],
        ))
        .send()
        .await
        .unwrap();
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.contains("error=request_not_supported"), "{to}");
    assert_eq!(meta["request_uri_parameter_supported"], false);
    let res = http
        .get(format!(
            "{}/authorize?client_id={}&request_uri=https%3A%2F%2Frp.example%2Freq",
            app.issuer(),
            seed.client.client_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        400,
        "a request_uri not made by PAR is an error page"
    );

    // Not claimed (issue 18 items not built yet say false).
    // The claims parameter is backed by tests/e2e/claims_parameter.rs.
    assert_eq!(meta["claims_parameter_supported"], true);
    // Back-channel logout (with sid) is backed by tests/e2e/backchannel_logout.rs.
    assert_eq!(meta["backchannel_logout_supported"], true);
    assert_eq!(meta["backchannel_logout_session_supported"], true);
    assert_eq!(meta["frontchannel_logout_supported"], false);
}
