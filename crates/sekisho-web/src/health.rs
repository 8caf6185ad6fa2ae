//! Liveness, readiness, and what a request answers while the database is out of reach.
//!
//! `/healthz` says the process serves (liveness: restart it if this fails). `/readyz` says it can
//! do its work: one trivial query within the pool's wait for a connection (readiness: send it no
//! traffic while this fails). A request that met an unreachable database
//! (`sekisho_store::outage`) and ended in a 500 answers 503 with `Retry-After` instead, in the
//! form it would have had: the OAuth JSON error `temporarily_unavailable` for JSON endpoints, the
//! error page (ja/en) for pages. It fails within `database_acquire_timeout_ms`, not sqlx's 30 s.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Seconds a client is asked to wait before retrying during an outage.
pub const RETRY_AFTER_SECONDS: u32 = 5;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.op.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            let mut res = (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: database unavailable",
            )
                .into_response();
            retry_after(&mut res);
            res
        }
    }
}

/// Turns the 500 of a request that met an unreachable database into a 503 with `Retry-After`.
pub async fn outage(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let lang = crate::routes::lang(None, req.headers());
    let (res, met_outage) = sekisho_store::outage::watch(next.run(req)).await;
    if !met_outage || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let mut res = if json {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "error": "temporarily_unavailable",
                "error_description": "the service is temporarily unavailable; retry later",
            })),
        )
            .into_response()
    } else {
        state.pages.error(
            StatusCode::SERVICE_UNAVAILABLE,
            lang,
            None,
            "error_unavailable",
            None,
        )
    };
    retry_after(&mut res);
    res
}

fn retry_after(res: &mut Response) {
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
}
