//! The connectors against real upstreams (`sekisho_testkit::UpstreamOp`: oidc-provider playing
//! Google, Microsoft, d アカウント and Facebook on 127.0.0.1), logging in over HTTP as a browser
//! would. REQ-LOGIN-3: log in with an upstream account; the server keeps state, nonce and the
//! PKCE verifier, the connector builds the URL and turns the callback into an identity.
//!
//! Time: the providers start at [`TEST_EPOCH`], and each connector runs on a `FakeClock` started
//! there, as the server's do in the end-to-end tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use std::sync::Arc;

use sekisho_core::{Clock, FakeClock, Secret, TEST_EPOCH};
use sekisho_testkit::upstream_login::{
    browser, login, param, Login, RFC7636_CHALLENGE, RFC7636_VERIFIER,
};
use sekisho_testkit::{Profile, UpstreamOp};
use sekisho_upstream::{
    Connector, ConnectorSettings, IdTokenProblem, Kind, UpstreamError, UpstreamIdentity,
};
use url::Url;

const CLIENT_ID: &str = "sekisho-rp";
const CLIENT_SECRET: &str = "upstream-secret";
const REDIRECT_URI: &str = "http://127.0.0.1:9/acme/upstream/callback";

fn start(profile: Profile) -> UpstreamOp {
    UpstreamOp::start_at(
        profile,
        CLIENT_ID,
        CLIENT_SECRET,
        &[REDIRECT_URI.to_owned()],
        TEST_EPOCH,
    )
    .unwrap_or_else(|e| panic!("starting {profile}: {e:#}"))
}

/// The settings an operator would write for `op` (Microsoft: the `common` discovery).
fn settings(op: &UpstreamOp, client_id: &str) -> ConnectorSettings {
    let profile = op.profile();
    let mut s = ConnectorSettings {
        name: profile.as_str().to_owned(),
        kind: profile.as_str().to_owned(),
        client_id: client_id.to_owned(),
        client_secret: CLIENT_SECRET.into(),
        ..Default::default()
    };
    match profile {
        Profile::Google | Profile::DAccount => s.discovery_url = op.discovery_url().to_owned(),
        Profile::Microsoft => s.discovery_url = op.discovery_common_url().unwrap().to_owned(),
        Profile::Facebook => {
            s.authorization_url = op.authorization_endpoint();
            s.token_url = op.token_endpoint();
            s.graph_url = op.graph_url().unwrap().to_owned();
        }
    }
    s
}

fn connector(settings: ConnectorSettings) -> Connector {
    connector_on(settings, Arc::new(FakeClock::new(TEST_EPOCH)))
}

fn connector_on(settings: ConnectorSettings, clock: Arc<FakeClock>) -> Connector {
    Connector::new(settings, clock).unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh verifier per round trip, as the server makes them.
fn verifier(n: u32) -> Secret<String> {
    Secret::new(format!("verifier-{n:02}-{}", "x".repeat(40)))
}

/// `login_url` → the upstream's pages as `sub` → the callback (whose `state` must be ours).
async fn round_trip(
    c: &Connector,
    browser: &reqwest::Client,
    state: &str,
    nonce: &str,
    verifier: &Secret<String>,
    sub: &str,
) -> (Url, Login) {
    let url = c
        .login_url(REDIRECT_URI, state, &nonce.into(), verifier)
        .await
        .unwrap_or_else(|e| panic!("login_url: {e}"));
    let done = login(browser, url.clone(), REDIRECT_URI, sub).await;
    assert_eq!(
        done.param("state").as_deref(),
        Some(state),
        "{}",
        done.callback
    );
    assert_eq!(done.param("error"), None, "{}", done.callback);
    (url, done)
}

fn query(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The OpenID kinds: the URL, the identity, and the refusals.
async fn openid_kind(profile: Profile, expected_kind: Kind) -> UpstreamOp {
    let op = start(profile);
    let c = connector(settings(&op, CLIENT_ID));
    assert_eq!(c.kind(), expected_kind);
    assert_eq!(c.name(), profile.as_str());
    let browser = browser();

    // The authorization URL: the account choice, PKCE S256, our state and nonce.
    let url = c
        .login_url(
            REDIRECT_URI,
            "st-1",
            &"n-1".into(),
            &Secret::from(RFC7636_VERIFIER),
        )
        .await
        .unwrap();
    assert_eq!(
        url.as_str().split('?').next(),
        Some(op.authorization_endpoint().as_str())
    );
    let q = query(&url);
    let has = |k: &str, v: &str| q.iter().any(|(qk, qv)| qk == k && qv == v);
    for (k, v) in [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid email profile"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("prompt", "select_account"),
        ("code_challenge", RFC7636_CHALLENGE),
        ("code_challenge_method", "S256"),
    ] {
        assert!(has(k, v), "{k}={v} missing in {url}");
    }

    // REQ-LOGIN-3: the round trip gives the upstream's identity.
    let done = login(&browser, url, REDIRECT_URI, "alice").await;
    assert_eq!(done.pages, ["login", "consent"]);
    assert_eq!(done.param("state").as_deref(), Some("st-1"));
    let code = done.code();
    let identity = c
        .handle_callback(
            REDIRECT_URI,
            &code,
            &"n-1".into(),
            &Secret::from(RFC7636_VERIFIER),
        )
        .await
        .unwrap_or_else(|e| panic!("handle_callback: {e}"));
    assert_eq!(
        identity,
        UpstreamIdentity {
            issuer: op.issuer().to_owned(),
            subject: "alice".into(),
            email: Some(op.email_for("alice")),
            email_verified: true,
            name: Some("alice".into()),
        }
    );

    // A code works once.
    let again = c
        .handle_callback(
            REDIRECT_URI,
            &code,
            &"n-1".into(),
            &Secret::from(RFC7636_VERIFIER),
        )
        .await;
    assert!(
        matches!(&again, Err(UpstreamError::TokenRefused(code)) if code == "invalid_grant"),
        "{again:?}"
    );

    // The account choice: the login form comes back although a session exists.
    let v = verifier(2);
    let (_, done) = round_trip(&c, &browser, "st-2", "n-2", &v, "alice").await;
    assert!(
        done.pages.starts_with(&["login".to_owned()]),
        "{:?}",
        done.pages
    );
    // Another nonce than the one sent: the ID token is refused.
    let wrong_nonce = c
        .handle_callback(REDIRECT_URI, &done.code(), &"n-other".into(), &v)
        .await;
    assert!(
        matches!(
            wrong_nonce,
            Err(UpstreamError::InvalidIdToken(IdTokenProblem::Nonce))
        ),
        "{wrong_nonce:?}"
    );

    // Another verifier than the one the challenge was made from: the upstream refuses the code.
    let (_, done) = round_trip(&c, &browser, "st-3", "n-3", &verifier(3), "alice").await;
    let wrong_verifier = c
        .handle_callback(REDIRECT_URI, &done.code(), &"n-3".into(), &verifier(4))
        .await;
    assert!(
        matches!(&wrong_verifier, Err(UpstreamError::TokenRefused(code)) if code == "invalid_grant"),
        "{wrong_verifier:?}"
    );

    // A connector with another client_id (same secret) cannot redeem our client's code.
    let v = verifier(5);
    let (_, done) = round_trip(&c, &browser, "st-5", "n-5", &v, "alice").await;
    let stranger = connector(settings(&op, "someone-else"));
    let refused = stranger
        .handle_callback(REDIRECT_URI, &done.code(), &"n-5".into(), &v)
        .await;
    assert!(
        matches!(&refused, Err(UpstreamError::TokenRefused(code)) if code == "invalid_client"),
        "{refused:?}"
    );
    // ...and the code still works for its client.
    let still = c
        .handle_callback(REDIRECT_URI, &done.code(), &"n-5".into(), &v)
        .await
        .unwrap();
    assert_eq!(still.subject, "alice");

    // Another account through the account choice.
    let v = verifier(6);
    let (_, done) = round_trip(&c, &browser, "st-6", "n-6", &v, "bob").await;
    let bob = c
        .handle_callback(REDIRECT_URI, &done.code(), &"n-6".into(), &v)
        .await
        .unwrap();
    assert_eq!(bob.subject, "bob");
    assert_eq!(bob.email, Some(op.email_for("bob")));
    op
}

#[tokio::test]
async fn google_login() {
    // REQ-LOGIN-3
    let op = openid_kind(Profile::Google, Kind::Google).await;
    assert_eq!(op.issuer(), format!("http://127.0.0.1:{}", op.port()));
}

#[tokio::test]
async fn daccount_login() {
    // REQ-LOGIN-3
    let op = openid_kind(Profile::DAccount, Kind::DAccount).await;
    assert!(op.issuer().ends_with("/daccount"));
}

#[tokio::test]
async fn microsoft_login_through_common_gets_the_tenant_issuer() {
    // REQ-LOGIN-3: the `common` discovery has the template issuer; the identity carries the
    // tenant's issuer (the template with the token's tid).
    let op = openid_kind(Profile::Microsoft, Kind::Microsoft).await;
    let tenant_issuer = op
        .issuer_template()
        .unwrap()
        .replace("{tenantid}", op.tenant().unwrap());
    assert_eq!(op.issuer(), tenant_issuer);
    assert!(!op.issuer().contains("{tenantid}"));
}

#[tokio::test]
async fn microsoft_organizations_and_single_tenant_discovery() {
    // REQ-LOGIN-3
    let op = start(Profile::Microsoft);
    let browser = browser();
    for (n, discovery) in [
        op.discovery_organizations_url().unwrap().to_owned(),
        op.discovery_url().to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        let mut s = settings(&op, CLIENT_ID);
        s.discovery_url = discovery;
        let c = connector(s);
        let v = verifier(n as u32);
        let state = format!("st-{n}");
        let (_, done) = round_trip(&c, &browser, &state, "n", &v, "carol").await;
        let identity = c
            .handle_callback(REDIRECT_URI, &done.code(), &"n".into(), &v)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(identity.issuer, op.issuer());
        assert_eq!(identity.subject, "carol");
    }
}

#[tokio::test]
async fn facebook_login_reads_graph_me() {
    // REQ-LOGIN-3
    let op = start(Profile::Facebook);
    let c = connector(settings(&op, CLIENT_ID));
    assert_eq!(c.kind(), Kind::Facebook);
    let browser = browser();

    let url = c
        .login_url(
            REDIRECT_URI,
            "st-1",
            &"n-1".into(),
            &Secret::from(RFC7636_VERIFIER),
        )
        .await
        .unwrap();
    assert_eq!(
        url.as_str().split('?').next(),
        Some(op.authorization_endpoint().as_str())
    );
    let q = query(&url);
    let has = |k: &str, v: &str| q.iter().any(|(qk, qv)| qk == k && qv == v);
    for (k, v) in [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "email public_profile"),
        ("state", "st-1"),
        ("code_challenge", RFC7636_CHALLENGE),
        ("code_challenge_method", "S256"),
    ] {
        assert!(has(k, v), "{k}={v} missing in {url}");
    }
    // The plain dialog: no re-authentication, no OpenID parameters.
    for absent in ["auth_type", "prompt", "nonce"] {
        assert_eq!(param(&url, absent), None, "{url}");
    }

    let done = login(&browser, url, REDIRECT_URI, "alice").await;
    assert_eq!(done.param("state").as_deref(), Some("st-1"));
    let code = done.code();
    let identity = c
        .handle_callback(
            REDIRECT_URI,
            &code,
            &"n-1".into(),
            &Secret::from(RFC7636_VERIFIER),
        )
        .await
        .unwrap_or_else(|e| panic!("handle_callback: {e}"));
    assert_eq!(
        identity,
        UpstreamIdentity {
            issuer: "https://www.facebook.com".into(),
            subject: "alice".into(),
            email: Some(op.email_for("alice")),
            email_verified: true,
            name: Some("alice".into()),
        }
    );
    let again = c
        .handle_callback(
            REDIRECT_URI,
            &code,
            &"n-1".into(),
            &Secret::from(RFC7636_VERIFIER),
        )
        .await;
    assert!(
        matches!(&again, Err(UpstreamError::TokenRefused(code)) if code == "invalid_grant"),
        "{again:?}"
    );

    // Without the email scope Graph gives no email: the identity has none.
    let mut s = settings(&op, CLIENT_ID);
    s.scopes = vec!["public_profile".into()];
    s.issuer = "https://facebook.example".into();
    let no_email = connector(s);
    let v = verifier(1);
    let (_, done) = round_trip(&no_email, &browser, "st-2", "", &v, "alice").await;
    let identity = no_email
        .handle_callback(REDIRECT_URI, &done.code(), &"".into(), &v)
        .await
        .unwrap();
    assert_eq!(identity.issuer, "https://facebook.example");
    assert_eq!(identity.subject, "alice");
    assert_eq!(identity.email, None);
    assert!(!identity.email_verified);

    // A Graph API that refuses the token: Profile. (oidc-provider's own /me is the userinfo
    // endpoint, which does not take a token granted without `openid`.)
    let mut s = settings(&op, CLIENT_ID);
    s.graph_url = op.issuer().to_owned();
    let refusing = connector(s);
    let v = verifier(2);
    let (_, done) = round_trip(&refusing, &browser, "st-3", "", &v, "alice").await;
    let refused = refusing
        .handle_callback(REDIRECT_URI, &done.code(), &"".into(), &v)
        .await;
    assert!(
        matches!(refused, Err(UpstreamError::Profile(_))),
        "{refused:?}"
    );

    // A Graph API that does not answer: Unavailable.
    let mut s = settings(&op, CLIENT_ID);
    s.graph_url = closed_port_url();
    let down = connector(s);
    let v = verifier(3);
    let (_, done) = round_trip(&down, &browser, "st-4", "", &v, "alice").await;
    let unavailable = down
        .handle_callback(REDIRECT_URI, &done.code(), &"".into(), &v)
        .await;
    assert!(
        matches!(unavailable, Err(UpstreamError::Unavailable(_))),
        "{unavailable:?}"
    );
}

#[tokio::test]
async fn id_tokens_expire_on_the_connectors_clock() {
    // REQ-LOGIN-3: `exp` is checked against the server's clock, not the wall clock.
    let op = start(Profile::Google);
    let clock = Arc::new(FakeClock::new(TEST_EPOCH));
    let c = connector_on(settings(&op, CLIENT_ID), clock.clone());
    let browser = browser();

    // The provider stamps its ID tokens to live an hour (oidc-provider's default). An hour and
    // a minute later by the connector's clock, one is expired.
    let v = verifier(1);
    let (_, done) = round_trip(&c, &browser, "st-1", "n-1", &v, "alice").await;
    clock.advance(3600 + 60);
    let late = c
        .handle_callback(REDIRECT_URI, &done.code(), &Secret::from("n-1"), &v)
        .await;
    assert!(
        matches!(
            late,
            Err(UpstreamError::InvalidIdToken(IdTokenProblem::Expired))
        ),
        "{late:?}"
    );

    // A month on, for the provider too: its fresh tokens are good again.
    clock.advance(30 * 86_400);
    op.clock().set_now(clock.now()).unwrap();
    let v = verifier(2);
    let (_, done) = round_trip(&c, &browser, "st-2", "n-2", &v, "alice").await;
    let identity = c
        .handle_callback(REDIRECT_URI, &done.code(), &Secret::from("n-2"), &v)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(identity.subject, "alice");
}

/// `http://127.0.0.1:P` where nothing listens (a port the OS gave and took back).
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn unreachable_upstreams_are_unavailable_and_say_nothing_secret() {
    let down = closed_port_url();
    let google = connector(ConnectorSettings {
        name: "google".into(),
        kind: "google".into(),
        client_id: CLIENT_ID.into(),
        client_secret: "do-not-show-me".into(),
        discovery_url: format!("{down}/.well-known/openid-configuration"),
        ..Default::default()
    });
    let e = google
        .login_url(
            REDIRECT_URI,
            "st",
            &"n".into(),
            &Secret::from(RFC7636_VERIFIER),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::Unavailable(_)), "{e:?}");
    let e = google
        .handle_callback(
            REDIRECT_URI,
            "a-code",
            &"n".into(),
            &Secret::from(RFC7636_VERIFIER),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::Unavailable(_)), "{e:?}");
    assert!(!format!("{e} {e:?} {google:?}").contains("do-not-show-me"));

    let facebook = connector(ConnectorSettings {
        name: "facebook".into(),
        kind: "facebook".into(),
        client_id: CLIENT_ID.into(),
        client_secret: "do-not-show-me".into(),
        token_url: format!("{down}/oauth/access_token"),
        graph_url: down.clone(),
        ..Default::default()
    });
    let e = facebook
        .handle_callback(
            REDIRECT_URI,
            "secret-code",
            &"".into(),
            &Secret::from(RFC7636_VERIFIER),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::Unavailable(_)), "{e:?}");
    let shown = format!("{e} {e:?}");
    assert!(
        !shown.contains("secret-code") && !shown.contains("do-not-show-me"),
        "{shown}"
    );
}

#[test]
fn bad_settings_are_config_errors() {
    let e = Connector::new(
        ConnectorSettings {
            name: "docomo".into(),
            kind: "daccount".into(),
            client_id: "id".into(),
            client_secret: "secret".into(),
            ..Default::default()
        },
        Arc::new(FakeClock::new(TEST_EPOCH)),
    )
    .unwrap_err();
    assert!(
        matches!(&e, UpstreamError::Config(m) if m.contains("discovery_url is required")),
        "{e}"
    );
    let e = Connector::new(
        ConnectorSettings {
            name: "x".into(),
            kind: "line".into(),
            client_id: "id".into(),
            client_secret: "secret".into(),
            ..Default::default()
        },
        Arc::new(FakeClock::new(TEST_EPOCH)),
    )
    .unwrap_err();
    assert!(
        matches!(&e, UpstreamError::Config(m) if m.contains("kind \"line\"")),
        "{e}"
    );
}
