//! Back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0, issue 18).
//!
//! Ending a session queues one logout per client that got tokens in it (the store does it in the
//! transaction that ends the session). [`deliver_due`] takes the due ones, signs each logout
//! token at that moment (so an RP that was down for an hour gets a token valid now), POSTs it,
//! and records the outcome; a failure is retried with back-off (30 s doubling, at most an hour)
//! for three days. Every node runs it; a claim keeps two nodes from delivering one logout.

use crate::App;
use sekisho_oidc::mint;

/// Logouts taken per round at most.
const BATCH: i64 = 50;
/// The first retry's delay, seconds; doubled on each failure, up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: i64 = 30;
const MAX_RETRY_DELAY: i64 = 3600;

/// The delay before attempt `attempts + 1`, after `attempts` failures.
pub fn retry_delay(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    (FIRST_RETRY_DELAY << doublings).min(MAX_RETRY_DELAY)
}

/// Delivers the logouts due now; returns how many were delivered.
pub async fn deliver_due(app: &App) -> Result<usize, sekisho_store::StoreError> {
    let op = &app.op;
    let mut delivered = 0;
    loop {
        let now = op.now();
        let due = op.store.claim_logouts(now, BATCH).await?;
        let taken = due.len();
        for logout in due {
            let outcome = deliver_one(app, &logout).await;
            let now = op.now();
            match outcome {
                Ok(()) => {
                    delivered += 1;
                    op.store.finish_logout(&logout.id, now, Ok(())).await?;
                }
                Err(why) => {
                    tracing::info!(client_id = %logout.client_id, attempts = logout.attempts + 1, error = %why, "back-channel logout not delivered; will retry");
                    let retry_at = now + retry_delay(logout.attempts);
                    op.store
                        .finish_logout(&logout.id, now, Err((&why, retry_at)))
                        .await?;
                }
            }
        }
        if taken < BATCH as usize {
            return Ok(delivered);
        }
    }
}

async fn deliver_one(app: &App, logout: &sekisho_store::LogoutRecord) -> Result<(), String> {
    let op = &app.op;
    let client = match op.client(&logout.client_id).await {
        Ok(Some(c)) => c,
        // A client deleted meanwhile has nobody to tell: done.
        Ok(None) => return Ok(()),
        Err(e) => return Err(e.to_string()),
    };
    let Some(uri) = &client.metadata.backchannel_logout_uri else {
        return Ok(());
    };
    let token = mint::logout_token(op, &logout.brand, &client, &logout.user_id, &logout.sid)
        .await
        .map_err(|e| e.to_string())?;
    app.rp_logout
        .deliver(uri, &token)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn retries_back_off_to_an_hour() {
        let delays: Vec<i64> = (0..9).map(super::retry_delay).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
