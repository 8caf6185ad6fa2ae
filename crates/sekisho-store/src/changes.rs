//! The change feed (issue 17): what one process wrote that every process may hold in memory.
//!
//! Nodes keep read-mostly records in memory (clients and brands in `sekisho_oidc::cache`, the
//! signing keys in `sekisho_crypto::keyring`, whether dynamic registration is open). A write
//! through [`Store`] that changes one of them [`Store::announce`]s it; every process that follows
//! [`Store::changes`] forgets its copy at once, so no node honours a deleted client or signs with
//! a key the others have not loaded.
//!
//! - **PostgreSQL**: `pg_notify` on the channel [`CHANNEL`], after the write committed; each
//!   follower holds one `LISTEN` connection of its own. Notifications sent while a follower's
//!   connection was down are lost, so the feed then says [`Change::Everything`] (forget it all).
//! - **SQLite**: one node, so the feed is in-process; a change made by another process on the
//!   same file (the CLI) is seen when the cache entry expires (the periodic reload, which stays
//!   the safety net on both backends).
//!
//! Invariant: an announcement is sent after its write is committed, so a follower that reloads
//! on it reads the new state. A process that dies between the commit and the announcement leaves
//! the others on the periodic reload (at most the caches' lifetime).

use crate::{Backend, Result, Store};
use std::time::Duration;
use tokio::sync::broadcast;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "sekisho_changes";

/// How many announcements the in-process feed holds for a slow follower before it tells it
/// [`Change::Everything`] instead.
const LOCAL_BACKLOG: usize = 256;

/// How long a follower waits before listening again after PostgreSQL refused it.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// What changed. Ids and codes are the records' own (bounded by their columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A client was registered, updated or deleted.
    Client(String),
    /// A brand was added or changed.
    Brand(String),
    /// A signing key was added, retired or pruned.
    SigningKeys,
    /// An initial access token was made or revoked (discovery's "registration open").
    RegistrationTokens,
    /// Anything may have changed (a notification may have been missed).
    Everything,
}

impl Change {
    /// The notification's payload.
    pub fn encode(&self) -> String {
        match self {
            Change::Client(id) => format!("client:{id}"),
            Change::Brand(code) => format!("brand:{code}"),
            Change::SigningKeys => "keys".into(),
            Change::RegistrationTokens => "registration".into(),
            Change::Everything => "everything".into(),
        }
    }

    /// A payload read back; anything unknown (a newer node's kind, during a rolling upgrade)
    /// is [`Change::Everything`], which is always safe.
    pub fn decode(payload: &str) -> Change {
        match payload.split_once(':') {
            Some(("client", id)) => Change::Client(id.to_owned()),
            Some(("brand", code)) => Change::Brand(code.to_owned()),
            _ => match payload {
                "keys" => Change::SigningKeys,
                "registration" => Change::RegistrationTokens,
                _ => Change::Everything,
            },
        }
    }
}

/// The database URL a follower listens on; it holds the password, so Debug does not show it.
#[derive(Clone)]
pub(crate) struct ListenUrl(pub(crate) std::sync::Arc<str>);

impl std::fmt::Debug for ListenUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenUrl(..)")
    }
}

/// The in-process side of the feed (shared by the store's clones).
pub(crate) fn local_feed() -> broadcast::Sender<Change> {
    broadcast::channel(LOCAL_BACKLOG).0
}

impl Store {
    /// Tells every follower (this process's and, on PostgreSQL, every node's) that `change`
    /// was committed. Failing to notify is logged, not returned: the write stands, and the
    /// followers' periodic reload covers the miss.
    pub async fn announce(&self, change: Change) {
        if self.backend == Backend::Postgres {
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(change.encode())
                .execute(&self.writer)
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, change = ?change, "could not announce a change to the other nodes");
            }
        }
        // No follower in this process is fine (the CLI).
        let _ = self.local.send(change);
    }

    /// Follows the changes announced from now on (see the module's doc).
    pub async fn changes(&self) -> Result<ChangeFeed> {
        let listener = match self.backend {
            Backend::Postgres => Some(listen(&self.url.0).await?),
            Backend::Sqlite => None,
        };
        Ok(ChangeFeed {
            local: self.local.subscribe(),
            listener,
            url: self.url.clone(),
        })
    }
}

async fn listen(url: &str) -> Result<sqlx::postgres::PgListener> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// A follower's view of the feed.
pub struct ChangeFeed {
    local: broadcast::Receiver<Change>,
    /// PostgreSQL: this follower's LISTEN connection (None until it could listen again).
    listener: Option<sqlx::postgres::PgListener>,
    url: ListenUrl,
}

impl ChangeFeed {
    /// The next change. On PostgreSQL every node's announcements arrive here (this process's
    /// too); after the connection was lost (notifications may have been missed),
    /// [`Change::Everything`], once listening again on a new connection.
    pub async fn next(&mut self) -> Change {
        if self.url.0.is_empty() {
            return match self.local.recv().await {
                Ok(change) => change,
                Err(broadcast::error::RecvError::Lagged(_)) => Change::Everything,
                // The store is gone: nothing will change any more.
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            };
        }
        loop {
            let Some(listener) = self.listener.as_mut() else {
                match listen(&self.url.0).await {
                    Ok(l) => {
                        self.listener = Some(l);
                        return Change::Everything;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for other nodes' changes; retrying");
                        tokio::time::sleep(RELISTEN_AFTER).await;
                        continue;
                    }
                }
            };
            match listener.try_recv().await {
                Ok(Some(n)) => return Change::decode(n.payload()),
                // The connection was lost: listen again on a new one, then say that anything
                // may have changed meanwhile (so the follower forgets only once it is listening).
                Ok(None) => {
                    tracing::warn!("lost the other nodes' changes; listening again");
                    self.listener = None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "lost the other nodes' changes; listening again");
                    self.listener = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Change;

    #[test]
    fn payloads_round_trip_and_unknown_ones_mean_everything() {
        for c in [
            Change::Client("cl_1:odd".into()),
            Change::Brand("VX5".into()),
            Change::SigningKeys,
            Change::RegistrationTokens,
            Change::Everything,
        ] {
            assert_eq!(Change::decode(&c.encode()), c);
        }
        assert_eq!(Change::decode("contract:ctr_1"), Change::Everything);
        assert_eq!(Change::decode(""), Change::Everything);
    }
}
