//! Issue 15, unbounded stored state: what an anonymous visitor sends to `/authorize` is stored
//! only up to a documented size, one browser cannot pile up requests, and anonymous sessions
//! leave the database as soon as their requests have expired.

use crate::support::VERIFIER;
use sekisho_crypto::tokens::pkce_s256;
use sekisho_e2e::{query, Browser, Hop, TestApp, REDIRECT_URI};
use url::Url;

/// An authorization URL with these parameters over the seed client's usual ones.
fn authorize(app: &TestApp, client_id: &str, params: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&format!("{}/authorize", app.issuer())).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", "openid")
            .append_pair("code_challenge", &pkce_s256(VERIFIER))
            .append_pair("code_challenge_method", "S256");
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// The login page's request id (`ar`) for a fresh authorization request in `browser`.
async fn request_id(app: &TestApp, browser: &Browser, url: &str) -> String {
    match browser.follow(&app.base, url).await.unwrap() {
        Hop::Page { url, status, .. } => {
            assert_eq!(status.as_u16(), 200, "{url}");
            query(&Url::parse(&url).unwrap())
                .get("ar")
                .cloned()
                .unwrap_or_else(|| panic!("no request id in {url}"))
        }
        other => panic!("expected the login page: {other:?}"),
    }
}

// ISSUE-15 (stored state): a `state` or `nonce` over its limit is refused with invalid_request
// at the RP, the oversized state is not echoed back, and nothing is kept for the browser: the
// login page is never shown.
#[tokio::test]
async fn oversized_parameters_are_refused_not_stored() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let before = app.op.store.stored_counts().await.unwrap();
    let big_state = "s".repeat(1_500_000);
    let cases = [
        ("state", "s".repeat(2049)),
        ("nonce", "n".repeat(513)),
        ("login_hint", "h".repeat(321)),
    ];
    for (name, value) in &cases {
        let url = authorize(&app, &seed.client.client_id, &[(name, value)]);
        match Browser::new().follow(&app.base, &url).await.unwrap() {
            Hop::LeftOp(back) => {
                let q = query(&back);
                assert_eq!(
                    q.get("error").map(String::as_str),
                    Some("invalid_request"),
                    "{name}"
                );
                assert!(
                    q.get("error_description").is_some_and(|d| d.contains(name)),
                    "{name}: {back}"
                );
                assert!(name != &"state" || !q.contains_key("state"), "{back}");
            }
            other => panic!("{name}: expected an error at the RP, got {other:?}"),
        }
    }
    // The same through the form POST an RP may use (OpenID Connect Core §3.1.2.1), 1.5 MB.
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/authorize", app.issuer()))
        .form(&[
            ("response_type", "code"),
            ("client_id", seed.client.client_id.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid"),
            ("code_challenge", &pkce_s256(VERIFIER)),
            ("state", &big_state),
        ])
        .send()
        .await
        .unwrap();
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert!(location.contains("error=invalid_request"), "{location}");
    assert!(location.len() < 1000, "the state is not echoed back");
    let after = app.op.store.stored_counts().await.unwrap();
    assert_eq!(after.auth_requests, before.auth_requests, "nothing kept");
    assert_eq!(after.sessions, before.sessions, "no session made");
    // At the limit, the values are accepted and round-trip unchanged.
    let state = "s".repeat(2048);
    let url = authorize(&app, &seed.client.client_id, &[("state", &state)]);
    request_id(&app, &Browser::new(), &url).await;
}

// ISSUE-15 (stored state): one browser sending `/authorize` over and over keeps at most 16
// requests in progress: the newest go on to the login, the oldest have expired for the user.
#[tokio::test]
async fn one_browser_keeps_a_bounded_number_of_requests() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let browser = Browser::new();
    let url = authorize(&app, &seed.client.client_id, &[("state", "st")]);
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(request_id(&app, &browser, &url).await);
        // Age orders the requests to second precision (among requests of one second, which of
        // them goes is arbitrary): a second between them makes the order known.
        app.clock.advance(1);
    }
    let counts = app.op.store.stored_counts().await.unwrap();
    assert_eq!(counts.auth_requests, 16, "{counts:?}");
    assert_eq!(counts.sessions, 1, "{counts:?}");
    let resume = |id: &str| format!("{}/authorize/continue?ar={id}", app.issuer());
    for (i, id) in ids.iter().enumerate() {
        let Hop::Page { status, body, .. } = browser.follow(&app.base, &resume(id)).await.unwrap()
        else {
            panic!("request {i}: no page");
        };
        if i >= 40 - 16 {
            assert_eq!(status.as_u16(), 200, "request {i} is kept");
            assert!(body.contains("password"), "request {i}: the login page");
        } else {
            assert_eq!(status.as_u16(), 400, "request {i} was dropped");
            assert!(body.contains("期限切れ"), "{body:.300}");
        }
    }
}

// ISSUE-15 (stored state): anonymous visits leave nothing behind once their requests have
// expired (30 minutes), not after the twelve hours of a signed-in session.
#[tokio::test]
async fn anonymous_sessions_are_purged_with_their_requests() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let before = app.op.store.stored_counts().await.unwrap();
    let url = authorize(&app, &seed.client.client_id, &[("state", "st")]);
    for _ in 0..50 {
        request_id(&app, &Browser::new(), &url).await;
    }
    let grown = app.op.store.stored_counts().await.unwrap();
    assert_eq!(grown.sessions, before.sessions + 50, "{grown:?}");
    app.clock.advance(1801);
    app.op.store.purge_expired(app.op.now()).await.unwrap();
    let after = app.op.store.stored_counts().await.unwrap();
    assert_eq!(after.sessions, before.sessions, "{after:?}");
    assert_eq!(after.auth_requests, before.auth_requests, "{after:?}");
}

// ISSUE-15 (stored state): a client flooding `/authorize` without cookies stores rows only up to
// its rate (`authorize_per_ip`); past it the answer is 429 with `Retry-After`, nothing is stored,
// and the client is served again once the time has passed.
#[tokio::test]
async fn one_client_flooding_authorize_is_throttled() {
    let mut limits = sekisho_e2e::Limits {
        rate_limits: sekisho_web::rate_limit::RateLimits::off(),
        ..sekisho_e2e::Limits::default()
    };
    limits.rate_limits.authorize_per_ip = sekisho_web::rate_limit::Rate::per_minute(20);
    let app = TestApp::spawn_with_limits(limits).await;
    let seed = app.seed().await;
    let before = app.op.store.stored_counts().await.unwrap();
    let url = authorize(&app, &seed.client.client_id, &[("state", "st")]);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut throttled = 0;
    for _ in 0..50 {
        let res = http.get(&url).send().await.unwrap();
        match res.status().as_u16() {
            303 => {}
            429 => {
                assert!(res.headers().contains_key("retry-after"));
                throttled += 1;
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(throttled, 30);
    let after = app.op.store.stored_counts().await.unwrap();
    assert_eq!(after.sessions - before.sessions, 20, "{after:?}");
    assert_eq!(after.auth_requests - before.auth_requests, 20, "{after:?}");
    app.clock.advance(60);
    assert_eq!(http.get(&url).send().await.unwrap().status().as_u16(), 303);
}

/// One simulated day of a small deployment: two logins (each a new token family), a refresh of
/// each family made the day before, a failed login for an unknown address, then the purge as the
/// housekeeping runs it (every 10 minutes; here once the day is over).
async fn a_day(app: &TestApp, client: &(String, String), yesterday: &[String]) -> Vec<String> {
    let (id, secret) = client;
    let mut today = Vec::new();
    for _ in 0..2 {
        let code = crate::support::code(app, &Browser::new(), id).await;
        let (status, tokens) =
            crate::support::redeem(app, id, secret, &code, crate::support::VERIFIER).await;
        assert_eq!(status, 200, "{tokens}");
        today.push(tokens["refresh_token"].as_str().unwrap().to_owned());
    }
    for rt in yesterday {
        let (status, body) = crate::support::post_basic(
            app,
            "token",
            id,
            secret,
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let unknown = format!("nobody-{}@example.jp", app.op.now());
    let login = Browser::new();
    let _ = login
        .login(
            &app.base,
            &crate::support::authorize_url(app, id, &[]),
            &unknown,
            "wrong-password",
        )
        .await;
    app.clock.advance(86_400);
    app.op.store.purge_expired(app.op.now()).await.unwrap();
    today
}

/// 40 simulated days of the same daily load: once every kept row's window has passed (the
/// longest is 30 days, for the failed-login counters of unknown addresses), every table the purge
/// looks after holds as many rows one day as the next.
async fn row_counts_stay_flat(app: TestApp) {
    let seed = app.seed().await;
    let client = (
        seed.client.client_id.clone(),
        seed.client.client_secret.clone().unwrap(),
    );
    let mut families = Vec::new();
    let mut sizes = Vec::new();
    for _ in 0..40 {
        families = a_day(&app, &client, &families).await;
        sizes.push(app.op.store.purged_table_sizes().await.unwrap());
    }
    let (day_33, day_40) = (&sizes[32], &sizes[39]);
    assert_eq!(day_33, day_40, "flat from day 33 on: {sizes:?}");
    let grown: Vec<_> = day_40
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(table, _)| *table)
        .collect();
    for table in [
        "grants",
        "refresh_tokens",
        "authorization_codes",
        "login_failures",
    ] {
        assert!(grown.contains(&table), "the load used {table}: {day_40:?}");
    }
}

// ISSUE-17: the purge keeps row counts flat under a long run of logins and refreshes (SQLite),
// with refresh tokens living 3 days so that their window passes within the run.
#[tokio::test]
async fn row_counts_stay_flat_over_a_long_run_on_sqlite() {
    let url = sekisho_testkit::fresh_sqlite_url().unwrap();
    let app = TestApp::spawn_configured(&url, |c| c.refresh_token_ttl = 3 * 86_400).await;
    row_counts_stay_flat(app).await;
}

// ISSUE-17: the same on PostgreSQL.
#[tokio::test]
async fn row_counts_stay_flat_over_a_long_run_on_postgres() {
    let url = sekisho_testkit::fresh_postgres_database().unwrap();
    let app = TestApp::spawn_configured(&url, |c| c.refresh_token_ttl = 3 * 86_400).await;
    row_counts_stay_flat(app).await;
}
