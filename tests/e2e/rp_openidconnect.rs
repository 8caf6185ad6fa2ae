//! A relying party built on the `openidconnect` crate walks the whole code flow with PKCE.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use sekisho_core::oauth::SigningAlg;
use sekisho_e2e::{query, Browser, TestApp, EMAIL, PASSWORD, POST_LOGOUT_URI, REDIRECT_URI};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn full_flow(alg: SigningAlg, expected: CoreJwsSigningAlgorithm) {
    full_flow_on(TestApp::spawn().await, alg, expected).await;
}

async fn full_flow_on(app: TestApp, alg: SigningAlg, expected: CoreJwsSigningAlgorithm) {
    let seed = app.seed().await;
    let registered = app.client(|c| c.id_token_alg = alg).await;
    let http = http();

    // REQ-OP-1: discovery drives the RP.
    let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer()).unwrap(), &http)
        .await
        .unwrap();
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(registered.client_id.clone()),
        Some(ClientSecret::new(registered.client_secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());

    // REQ-OP-2: code + PKCE S256 + state + nonce.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = Browser::new();
    let back = browser
        .login(&app.base, auth_url.as_str(), EMAIL, PASSWORD)
        .await
        .unwrap();
    let q = query(&back);
    assert_eq!(q.get("state"), Some(csrf.secret()));
    assert_eq!(
        q.get("iss"),
        Some(&app.issuer()),
        "RFC 9207 iss in the response"
    );

    // REQ-OP-3 / REQ-OP-4: the code becomes tokens; the ID token verifies (signature, iss, aud, nonce).
    let tokens = client
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("id_token");
    let id_verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![expected.clone()])
        .set_time_fn(crate::support::fake_time(&app));
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("ID token verifies");
    assert_eq!(
        claims.subject().as_str(),
        seed.user_id,
        "sub is the opaque user id, never the email"
    );
    assert_eq!(claims.email().map(|e| e.as_str()), Some(EMAIL));
    assert!(claims.auth_time().is_some());
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    assert_eq!(amr, vec!["pwd"]);
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some(sekisho_core::oauth::ACR_SINGLE_FACTOR)
    );
    assert_eq!(id_token.signing_alg().unwrap(), &expected);
    // at_hash binds the access token to the ID token.
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected_hash);

    // REQ-OP-5: userinfo with the access token, for the same subject.
    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.email().map(|e| e.as_str()), Some(EMAIL));
    let raw: serde_json::Value = http
        .get(format!("{}/userinfo", app.issuer()))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw["contract_id"], seed.contract_id.as_str());
    assert_eq!(raw["role"], "contractor");
    assert_eq!(raw["brand"], "VX5");

    // REQ-OP-3: refresh rotates the refresh token and returns a fresh ID token for the same user.
    let refresh = tokens.refresh_token().expect("refresh_token").clone();
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    let new_refresh = refreshed.refresh_token().expect("rotated").clone();
    assert_ne!(new_refresh.secret(), refresh.secret());
    let new_id = refreshed.id_token().expect("id_token on refresh");
    let new_claims = new_id
        .claims(&id_verifier, |_: Option<&Nonce>| Ok(()))
        .unwrap();
    assert_eq!(new_claims.subject(), claims.subject());
    assert_eq!(new_claims.auth_time(), claims.auth_time());

    // REQ-OP-5: revocation of the refresh token ends the family: it no longer refreshes.
    // (The oauth2 crate refuses http revocation URLs, so this step is a plain RFC 7009 POST.)
    let (status, _) = crate::support::post_basic(
        &app,
        "revoke",
        &registered.client_id,
        registered.client_secret.as_deref().unwrap(),
        &[
            ("token", new_refresh.secret()),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(client
        .exchange_refresh_token(&new_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .is_err());
    assert_eq!(
        crate::support::userinfo_status(&app, refreshed.access_token().secret()).await,
        401
    );

    // REQ-OP-5: RP-initiated logout returns to the registered URI with state, and ends the session.
    let mut logout = url::Url::parse(&format!("{}/logout", app.issuer())).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", &id_token.to_string())
        .append_pair("post_logout_redirect_uri", POST_LOGOUT_URI)
        .append_pair("state", "bye-state");
    let res = browser.get(logout.as_str()).await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("{POST_LOGOUT_URI}?state=bye-state").as_str()
    );
    let again = crate::support::authorize_url(&app, &registered.client_id, &[("prompt", "none")]);
    let res = browser.get(&again).await.unwrap();
    let loc = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(
        query(&loc).get("error").map(String::as_str),
        Some("login_required"),
        "the session ended"
    );
}

// REQ-OP-1 REQ-OP-2 REQ-OP-3 REQ-OP-4 REQ-OP-5 REQ-OP-7
#[tokio::test]
async fn openidconnect_rp_full_flow_es256() {
    full_flow(SigningAlg::Es256, CoreJwsSigningAlgorithm::EcdsaP256Sha256).await;
}

// REQ-OP-4: RS256 per client (id_token_signed_response_alg).
#[tokio::test]
async fn openidconnect_rp_full_flow_rs256() {
    full_flow(
        SigningAlg::Rs256,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    )
    .await;
}

// REQ-OP-4: EdDSA (Ed25519) per client.
#[tokio::test]
async fn openidconnect_rp_full_flow_eddsa() {
    full_flow(SigningAlg::EdDsa, CoreJwsSigningAlgorithm::EdDsa).await;
}

// REQ-OP-3: the same flow with PostgreSQL as the database (production backend).
#[tokio::test]
async fn openidconnect_rp_full_flow_on_postgres() {
    let app = TestApp::spawn_on(&sekisho_testkit::fresh_postgres_database().unwrap()).await;
    full_flow_on(
        app,
        SigningAlg::Es256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    )
    .await;
}
