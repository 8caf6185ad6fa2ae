//! Which request met an unreachable database.
//!
//! A store error crosses many error types on its way to HTTP (`OAuthError`, the app's errors,
//! page errors), most of which end as "internal error" without the cause. Rather than teach each
//! of them about outages, the web layer runs every request inside [`watch`], and the store marks
//! the request's task when it maps an error to
//! [`StoreError::Unavailable`](crate::StoreError::Unavailable). A 500 from a request so marked is
//! an outage: the web turns it into 503 with `Retry-After`. Outside [`watch`] (the CLI,
//! background jobs) marking does nothing.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static MET_OUTAGE: Cell<bool>;
}

/// Runs `fut` and says whether the store met an unreachable database while it ran (in this
/// task: work the future spawns elsewhere is not seen).
pub async fn watch<F: Future>(fut: F) -> (F::Output, bool) {
    MET_OUTAGE
        .scope(Cell::new(false), async move {
            let out = fut.await;
            let met = MET_OUTAGE.try_with(Cell::get).unwrap_or(false);
            (out, met)
        })
        .await
}

/// Marks the current request (if it is watched) as having met an unreachable database.
pub(crate) fn note() {
    // Not inside `watch`: nobody asks.
    let _ = MET_OUTAGE.try_with(|met| met.set(true));
}
