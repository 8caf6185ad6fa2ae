//! Browser sessions without HTTP: a random value (the cookie's, set by the web crate) whose hash
//! keys a row. A login replaces the session (new value, new `sid`).

use crate::{App, Result};
use sekisho_core::oauth::Amr;
use sekisho_core::secret::Secret;
use sekisho_crypto::tokens::{hash_token, new_id, random_token};
use sekisho_store::SessionRecord;

/// The value the browser keeps for a session (only its hash is stored).
pub type SessionToken = Secret<String>;

/// A fresh session record for `brand` (signed in as `user` with `amr`, or anonymous) and the
/// value that finds it.
pub fn new_session(
    app: &App,
    brand: &str,
    user: Option<(&str, &[Amr])>,
) -> (SessionRecord, SessionToken) {
    let now = app.now();
    let value = random_token();
    let record = SessionRecord {
        id_hash: hash_token(&value),
        sid: new_id("sid"),
        brand: brand.to_owned(),
        user_id: user.map(|(id, _)| id.to_owned()),
        auth_time: user.map(|_| now),
        amr: user.map(|(_, amr)| amr.to_vec()).unwrap_or_default(),
        csrf_token: random_token(),
        created_at: now,
        expires_at: now + lifetime(app, user.is_some()),
    };
    (record, Secret::new(value))
}

/// How long a session lives: a signed-in one the configured session lifetime; an anonymous one
/// only as long as an authorization request it may carry (issue 15: a flood of anonymous
/// visits leaves rows the purge removes within that time, not twelve hours later).
pub fn lifetime(app: &App, signed_in: bool) -> i64 {
    let config = &app.op.config;
    if signed_in {
        config.session_ttl
    } else {
        config.auth_request_ttl.min(config.session_ttl)
    }
}

/// The live session of `brand` that `value` finds.
pub async fn find(app: &App, brand: &str, value: &str) -> Result<Option<SessionRecord>> {
    let found = app
        .op
        .store
        .find_session(&hash_token(value), app.now())
        .await?;
    Ok(found.filter(|s| s.brand == brand))
}

/// A new anonymous session, stored.
pub async fn start(app: &App, brand: &str) -> Result<(SessionRecord, SessionToken)> {
    let (record, value) = new_session(app, brand, None);
    app.op.store.insert_session(&record).await?;
    Ok((record, value))
}
