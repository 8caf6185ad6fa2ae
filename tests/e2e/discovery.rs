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
