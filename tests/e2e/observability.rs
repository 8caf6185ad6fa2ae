//! Issue 15, observability: Prometheus metrics at `/metrics` for the scraper holding the
//! configured token; logins by source and outcome, password checks, locks, tokens by grant,
//! per-route requests and latency, and the stored, queued and pooled gauges.

use crate::support::{authorize_url, code, redeem, VERIFIER};
use sekisho_crypto::tokens::hash_token;
use sekisho_e2e::{Browser, Hop, TestApp, EMAIL};

// The recorder is one per process, as in the server: these exact counts hold because nextest (the
// runner of scripts/test) runs every test in a process of its own.

const METRICS_TOKEN: &str = "scraper-token-0123456789";

/// The same application as `app`'s, served on another port with `/metrics` on (as the server
/// does when `metrics_token_hash` is set).
async fn with_metrics(app: &TestApp, hash: &str) -> String {
    let state =
        sekisho_web::AppState::new(app.services.clone(), None).with_metrics_token_hash(hash);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, sekisho_web::router(state))
            .await
            .unwrap();
    });
    base
}

async fn scrape(base: &str, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(format!("{base}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The value of the series `name{labels}` (labels as the exposition prints them), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

// ISSUE-15 (observability): without a configured token `/metrics` does not exist; with one, it
// answers only that bearer token.
#[tokio::test]
async fn metrics_are_off_by_default_and_need_the_token() {
    let app = TestApp::spawn().await;
    let (status, _) = scrape(&app.base, None).await;
    assert_eq!(status, 404);
    let (status, _) = scrape(&app.base, Some(METRICS_TOKEN)).await;
    assert_eq!(status, 404, "no token configured: nothing to scrape");
    let base = with_metrics(&app, &hash_token(METRICS_TOKEN)).await;
    assert_eq!(scrape(&base, None).await.0, 401);
    assert_eq!(scrape(&base, Some("another-token")).await.0, 401);
    let (status, text) = scrape(&base, Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("sekisho_database_up 1"), "{text}");
}

// ISSUE-15 (observability): a login, a wrong password, ten of them locking an account, a token
// exchange and the queued lock mail all show in the metrics a scraper reads.
#[tokio::test]
async fn logins_tokens_locks_and_queues_are_counted() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let base = with_metrics(&app, &hash_token(METRICS_TOKEN)).await;
    let browser = Browser::new();
    let c = code(&app, &browser, &seed.client.client_id).await;
    let secret = seed.client.client_secret.clone().unwrap();
    let (status, body) = redeem(&app, &seed.client.client_id, &secret, &c, VERIFIER).await;
    assert_eq!(status, 200, "{body}");
    // Ten wrong passwords lock the account and queue the unlock mail (REQ-LOCK-1).
    for _ in 0..10 {
        let browser = Browser::new();
        let Hop::Page { body, .. } = browser
            .follow(&app.base, &authorize_url(&app, &seed.client.client_id, &[]))
            .await
            .unwrap()
        else {
            panic!("login page");
        };
        browser
            .submit_login(&app.base, &body, EMAIL, "wrong-password-1")
            .await
            .unwrap();
    }
    let (status, text) = scrape(&base, Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200);
    let v = |series: &str| value(&text, series).unwrap_or_else(|| panic!("{series} in\n{text}"));
    assert_eq!(
        v(r#"sekisho_logins_total{source="password",outcome="signed_in"}"#),
        1.0
    );
    assert_eq!(v(r#"sekisho_password_checks_total{outcome="ok"}"#), 1.0);
    assert_eq!(v(r#"sekisho_password_checks_total{outcome="failed"}"#), 9.0);
    assert_eq!(v(r#"sekisho_password_checks_total{outcome="locked"}"#), 1.0);
    assert_eq!(v("sekisho_account_locks_total"), 1.0);
    assert_eq!(
        v(r#"sekisho_token_requests_total{grant="authorization_code",outcome="issued"}"#),
        1.0
    );
    assert_eq!(
        v(r#"sekisho_http_requests_total{route="/{brand}/token",method="POST",status="200"}"#),
        1.0
    );
    assert_eq!(
        v(r#"sekisho_http_request_duration_seconds_count{route="/{brand}/token"}"#),
        1.0
    );
    assert!(
        v(r#"sekisho_http_request_duration_seconds_bucket{route="/{brand}/login",le="+Inf"}"#)
            >= 11.0
    );
    assert_eq!(v("sekisho_mail_queue_depth"), 1.0, "the unlock mail waits");
    assert!(v(r#"sekisho_db_pool_connections{state="open"}"#) >= 1.0);
    assert_eq!(v("sekisho_password_hash_queue"), 0.0);
    assert!(v("sekisho_stored_sessions") >= 1.0);
    // Delivered, the queue empties and the delivery is counted.
    app.deliver_mail().await;
    let (_, text) = scrape(&base, Some(METRICS_TOKEN)).await;
    assert_eq!(
        value(&text, "sekisho_mail_queue_depth"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value(&text, r#"sekisho_mail_deliveries_total{outcome="sent"}"#),
        Some(1.0),
        "{text}"
    );
}
