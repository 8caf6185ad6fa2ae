//! Prometheus metrics (issue 15, observability): the recorder behind the `metrics` facade that
//! the library crates count through, the per-route HTTP counters and latency, and `/metrics`.
//!
//! `/metrics` answers only a scraper that presents the configured bearer token
//! (`metrics_token_hash`: its SHA-256); without one configured it is 404, so a default
//! deployment tells the internet nothing about its traffic. Gauges read at scrape time (stored
//! rows, mail queue, database pool, hashing queue) cost one small query per scrape, none per
//! request.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sekisho_core::clock::Stopwatch;
use std::sync::OnceLock;
use std::time::Duration;
use tracing::Instrument;

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets, in seconds: from a cached discovery document to an argon2 login.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Installs the process's recorder once (later calls return the same) and keeps it tidy: the
/// histograms' samples are folded into buckets every 5 s, so memory stays flat between scrapes.
/// `None` when another recorder was installed first. Needs a tokio runtime.
pub fn install() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("sekisho_http_request_duration_seconds".into()),
                    &LATENCY_BUCKETS,
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            let upkeep = handle.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    upkeep.run_upkeep();
                }
            });
            Some(handle)
        })
        .as_ref()
}

/// Counts every routed request by route template (`/{brand}/token`, never the raw path: the
/// number of series stays bounded), method and status, times it, and runs it in a span.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method: &'static str = match request.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        _ => "other",
    };
    // One span per request, for the traces (OpenTelemetry's HTTP server conventions: the
    // route template, never the raw path with its codes and tickets).
    let span = tracing::info_span!(
        "request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    let watch = Stopwatch::start();
    let response = next.run(request).instrument(span.clone()).await;
    // As i64: OTLP has no unsigned integers (an unsigned one is exported as text).
    span.record(
        "http.response.status_code",
        i64::from(response.status().as_u16()),
    );
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "sekisho_http_requests_total",
        "route" => route.clone(),
        "method" => method,
        "status" => status,
    )
    .increment(1);
    metrics::histogram!("sekisho_http_request_duration_seconds", "route" => route)
        .record(watch.seconds());
    response
}

/// `GET /metrics`: the Prometheus text format, for the scraper holding the token.
pub async fn scrape(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let (Some(handle), Some(hash)) = (
        RECORDER.get().and_then(Option::as_ref),
        &state.metrics_token_hash,
    ) else {
        // Not there: the same answer as any unknown path (ISSUE-16: never an empty page).
        return crate::routes::not_found(State(state), uri, headers).await;
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !presented.is_some_and(|t| sekisho_crypto::tokens::verify_token(t, hash)) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    read_gauges(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// The gauges that are read, not counted: what is stored and queued now.
async fn read_gauges(state: &AppState) {
    let store = &state.op.store;
    match store.stored_counts().await {
        Ok(c) => {
            metrics::gauge!("sekisho_stored_sessions").set(c.sessions as f64);
            metrics::gauge!("sekisho_stored_auth_requests").set(c.auth_requests as f64);
            metrics::gauge!("sekisho_mail_queue_depth").set(c.mail_queue as f64);
            metrics::gauge!("sekisho_database_up").set(1.0);
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: reading the stored counts failed");
            metrics::gauge!("sekisho_database_up").set(0.0);
        }
    }
    let pool = store.pool_stats();
    metrics::gauge!("sekisho_db_pool_connections", "state" => "open").set(f64::from(pool.size));
    metrics::gauge!("sekisho_db_pool_connections", "state" => "idle").set(pool.idle as f64);
    let (queued, running) = state.op.passwords.load();
    metrics::gauge!("sekisho_password_hash_queue").set(queued as f64);
    metrics::gauge!("sekisho_password_hash_running").set(running as f64);
}
