//! Browser sessions, server-side: the cookie holds only a random id; tokens never leave the
//! server. In memory, so a restart signs everyone out — fine for an example.

// Idle limits and login timeouts are wall time, and this example is not Sekisho: the workspace's
// ban on reading the clock outside `sekisho_core::Clock` does not apply to it.
#![allow(
    clippy::disallowed_methods,
    reason = "the example RP is an independent program on the wall clock, not Sekisho code"
)]

use crate::oidc::{PendingLogin, SignedIn};
use axum_extra::extract::cookie::{Cookie, SameSite};
use rand::distributions::Alphanumeric;
use rand::Rng;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Not `sekisho_session`: cookies ignore ports, so on 127.0.0.1 the OP (:8080) and this RP
/// (:8081) share one cookie jar, and the names must not clash.
pub const COOKIE_NAME: &str = "storage_rp_session";

/// Idle sessions are forgotten after this long.
const IDLE_LIMIT: Duration = Duration::from_secs(8 * 60 * 60);
/// An authorization request not answered within this time is given up.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Logins in flight per browser (one per tab, say); the oldest is dropped beyond this.
const MAX_PENDING: usize = 5;

pub struct Session {
    /// Keyed by `state`, so two tabs logging in at once don't spoil each other.
    pending_logins: Vec<PendingLogin>,
    pub signed_in: Option<SignedIn>,
    /// The `state` sent with RP-initiated logout, checked when the OP sends the browser back.
    pub logout_state: Option<String>,
    /// A one-shot message for the next page.
    pub flash: Option<String>,
    last_seen: Instant,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    pub fn new() -> Self {
        Session {
            pending_logins: Vec::new(),
            signed_in: None,
            logout_state: None,
            flash: None,
            last_seen: Instant::now(),
        }
    }

    pub fn add_pending(&mut self, pending: PendingLogin) {
        self.pending_logins
            .retain(|p| p.started.elapsed() < LOGIN_TIMEOUT);
        if self.pending_logins.len() >= MAX_PENDING {
            self.pending_logins.remove(0);
        }
        self.pending_logins.push(pending);
    }

    /// Remove and return the pending login whose `state` matches: each is usable once.
    pub fn take_pending(&mut self, state: &str) -> Option<PendingLogin> {
        let i = self
            .pending_logins
            .iter()
            .position(|p| constant_time_eq(p.state.secret(), state))?;
        Some(self.pending_logins.remove(i))
    }
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        // A panic elsewhere while holding the lock leaves a usable map; don't turn one failed
        // request into a dead server.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `f` on the session with this id, if it exists. Never held across an `.await`.
    pub fn with<R>(&self, id: &str, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        let mut map = self.lock();
        let session = map.get_mut(id)?;
        if session.last_seen.elapsed() > IDLE_LIMIT {
            map.remove(id);
            return None;
        }
        session.last_seen = Instant::now();
        Some(f(session))
    }

    /// Store a session under a fresh random id and return the id.
    pub fn insert(&self, session: Session) -> String {
        let id = random_id();
        let mut map = self.lock();
        map.retain(|_, s| s.last_seen.elapsed() <= IDLE_LIMIT);
        map.insert(id.clone(), session);
        id
    }

    pub fn remove(&self, id: &str) -> Option<Session> {
        self.lock().remove(id)
    }
}

/// 43 alphanumerics ≈ 256 bits from the thread-local CSPRNG.
fn random_id() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(43)
        .map(char::from)
        .collect()
}

/// The session cookie: HttpOnly (no script needs it), SameSite=Lax (it still comes along on the
/// top-level redirect back from the OP, but not on cross-site POSTs, which is what keeps
/// `POST /refresh` safe from CSRF), and Secure when served over https.
pub fn cookie(id: String, secure: bool) -> Cookie<'static> {
    Cookie::build((COOKIE_NAME, id))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// Compare secrets without stopping at the first differing byte, as openidconnect's docs ask
/// for state and nonce values.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_long_and_distinct() {
        let (a, b) = (random_id(), random_id());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
