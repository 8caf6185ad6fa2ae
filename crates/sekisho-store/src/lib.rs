//! Storage for Sekisho: one sqlx implementation over SQLite (embedded default) and PostgreSQL.
//!
//! Boundary: this is the only crate that imports sqlx. Queries go through sqlx's `Any` driver with
//! `$N` placeholders, which both SQLite and PostgreSQL accept, so there is one query per operation;
//! the dialect differences live only in the two migration folders.
//!
//! Invariant: every timestamp is Unix seconds passed in by the caller (no `now()` in SQL), so time
//! in tests is a parameter.

mod ad;
mod audit;
mod backchannel;
mod backup;
mod brands;
mod changes;
mod client_contracts;
mod clients;
mod contracts;
mod devices;
mod error;
mod grants;
mod initial_tokens;
mod keys;
mod lines;
mod lockout;
mod mail;
mod once_group;
pub mod outage;
mod pushed;
mod rotation_group;
mod second_factor;
mod secrets;
mod sessions;
mod tickets;
mod upstream;
mod user_list;
mod users;

pub use ad::AdConnectionRecord;
pub use audit::AuditEvent;
pub use backchannel::{
    LogoutRecord, CLAIM_SECONDS as LOGOUT_CLAIM_SECONDS, GIVE_UP_AFTER as LOGOUT_GIVE_UP_AFTER,
};
pub use changes::{Change, ChangeFeed, CHANNEL};
pub use devices::{DevicePoll, DeviceRecord, DeviceStatus};
pub use error::StoreError;
pub use grants::{
    AuthRequestRecord, CodeExchange, CodeRecord, GrantRecord, RefreshRecord, RefreshRotation,
    PURGE_BATCH,
};
pub use initial_tokens::InitialTokenRecord;
pub use keys::SigningKeyRecord;
pub use lines::{LineAdded, LineRecord};
pub use lockout::FailureOutcome;
pub use mail::MailRecord;
pub use pushed::PushedRequestRecord;
pub use second_factor::{ChallengeRecord, SecondFactorRecord};
pub use secrets::{SecretsReport, SecretsStatus};
pub use sessions::{PoolStats, SessionRecord, StoredCounts};
pub use tickets::TicketRecord;
pub use upstream::{TakenState, UpstreamBinding, UpstreamStateRecord};
pub use users::ExclusiveTicket;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor, Row};
use std::time::Duration;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(
                "the database URL must start with sqlite:// or postgres://".into(),
            ))
        }
    }
}

/// The handle every other crate uses. Cheap to clone (pools inside).
///
/// Reads go to `pool`; every write (and every transaction) goes to `writer`. On PostgreSQL both
/// are the same pool. On SQLite `writer` is one connection: SQLite has one write lock per file,
/// and writers on several connections collide and sleep in its busy handler (milliseconds each);
/// one writer connection queues them in-process instead, without sleeping.
///
/// With a cipher (`with_cipher`), the secrets it stores (signing keys' private parts, TOTP
/// secrets) are sealed before they are written and opened after they are read (`secrets.rs`).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    writer: AnyPool,
    backend: Backend,
    cipher: Option<std::sync::Arc<dyn sekisho_core::sealing::SecretCipher>>,
    /// The in-process change feed (`changes.rs`), shared by every clone.
    local: tokio::sync::broadcast::Sender<Change>,
    /// PostgreSQL: the URL a follower listens on (its own connection); empty on SQLite.
    url: changes::ListenUrl,
    /// The task that commits concurrent refresh rotations together (`rotation_group.rs`).
    groups: rotation_group::RotationGroups,
    once: once_group::OnceGroups,
}

/// How the store connects: pool size and how long a request may wait for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long an operation waits for a pooled connection before it fails with
    /// [`StoreError::Unavailable`]. While the database is down, every request waits this long, so
    /// it is short (sqlx's own default, 30 s, held requests that long and then answered 500).
    /// SQLite is a local file, not a server that can go away: waiting for one of its
    /// connections (the single writer above all) is a queue under load, never an outage, so its
    /// pools keep [`SQLITE_WAIT`] when this is shorter.
    pub acquire_timeout: Duration,
}

/// How long an operation may queue for a SQLite connection (sqlx's default).
pub const SQLITE_WAIT: Duration = Duration::from_secs(30);

impl PoolSettings {
    /// sqlx's default wait (30 s), for tools and tests ([`Store::open`]). The server passes the
    /// operator's `database_acquire_timeout_ms` (2.5 s by default) instead.
    pub fn new(max_connections: u32) -> Self {
        Self {
            max_connections,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

impl Store {
    /// Connects without migrating, with sqlx's default wait for a connection.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        Self::connect_with(url, PoolSettings::new(max_connections)).await
    }

    /// Connects without migrating. A `sqlite://FILE` URL creates the file when it is missing
    /// (unless the URL chooses its own `mode=`).
    ///
    /// A database that goes away later is reconnected by the pool on the next acquire once it
    /// is back: nothing needs a restart.
    pub async fn connect_with(url: &str, settings: PoolSettings) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => sqlite_creating(url),
            Backend::Postgres => url.to_owned(),
        };
        let options = |max: u32, wait: Duration| {
            let options = AnyPoolOptions::new()
                .max_connections(max.max(1))
                .acquire_timeout(wait);
            if backend != Backend::Sqlite {
                return options;
            }
            // WAL lets readers run beside the writer; busy_timeout covers other processes (the
            // CLI); foreign keys are off by default in SQLite.
            options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                    )
                    .await?;
                    Ok(())
                })
            })
        };
        let (pool, writer) = match backend {
            Backend::Sqlite => {
                let wait = settings.acquire_timeout.max(SQLITE_WAIT);
                let pool = options(settings.max_connections, wait)
                    .connect(&url)
                    .await?;
                (pool, options(1, wait).connect(&url).await?)
            }
            Backend::Postgres => {
                let pool = options(settings.max_connections, settings.acquire_timeout)
                    .connect(&url)
                    .await?;
                (pool.clone(), pool)
            }
        };
        Ok(Self {
            groups: rotation_group::RotationGroups::start(writer.clone()),
            once: once_group::OnceGroups::start(writer.clone()),
            pool,
            writer,
            backend,
            cipher: None,
            local: changes::local_feed(),
            url: changes::ListenUrl(match backend {
                Backend::Postgres => url.as_str().into(),
                Backend::Sqlite => "".into(),
            }),
        })
    }

    /// Connects and applies the embedded migrations of the URL's backend.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self> {
        Self::open_with(url, PoolSettings::new(max_connections)).await
    }

    /// [`Store::connect_with`], then the migrations.
    pub async fn open_with(url: &str, settings: PoolSettings) -> Result<Self> {
        let store = Self::connect_with(url, settings).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Readiness: one trivial query, within the pool's wait for a connection.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// SQLite's `PRAGMA integrity_check`: `["ok"]` for a sound file, else the problems found.
    /// On PostgreSQL there is no such check: `["ok"]`.
    pub async fn integrity_check(&self) -> Result<Vec<String>> {
        if self.backend != Backend::Sqlite {
            return Ok(vec!["ok".into()]);
        }
        let rows = sqlx::query("PRAGMA integrity_check")
            .fetch_all(&self.writer)
            .await?;
        rows.iter()
            .map(|r| {
                r.try_get::<String, _>(0)
                    .map_err(|e| StoreError::Corrupt(format!("integrity_check: {e}")))
            })
            .collect()
    }

    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.writer)
            .await
            .map_err(StoreError::Migrate)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// `sqlite://FILE` with `mode=rwc` added when the URL names no mode, so that the file is
/// created on first start, as operators expect; an explicit `mode=` (`ro`, `rw`, `memory`) and
/// in-memory databases are left as they are.
fn sqlite_creating(url: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let has_mode = query.split('&').any(|kv| kv.starts_with("mode="));
    if has_mode || url.contains(":memory:") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}mode=rwc")
}

/// Reads a column, naming it in the error so a schema drift is easy to find.
fn col<'r, T>(row: &'r AnyRow, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

/// Parses a stored text value with a domain parser, naming the column on failure.
fn parsed<T>(value: String, column: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T> {
    parse(&value)
        .ok_or_else(|| StoreError::Corrupt(format!("column {column}: unknown value {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::sqlite_creating;

    #[test]
    fn sqlite_urls_create_their_file_unless_they_choose_a_mode() {
        assert_eq!(sqlite_creating("sqlite://a.db"), "sqlite://a.db?mode=rwc");
        assert_eq!(
            sqlite_creating("sqlite:///var/lib/s.db?cache=shared"),
            "sqlite:///var/lib/s.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_creating("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
        assert_eq!(sqlite_creating("sqlite::memory:"), "sqlite::memory:");
    }
}
