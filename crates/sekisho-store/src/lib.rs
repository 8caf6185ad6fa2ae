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
mod backup;
mod brands;
mod client_contracts;
mod clients;
mod contracts;
mod error;
mod grants;
mod initial_tokens;
mod keys;
mod lines;
mod lockout;
mod mail;
mod second_factor;
mod secrets;
mod sessions;
mod tickets;
mod upstream;
mod users;

pub use ad::AdConnectionRecord;
pub use audit::AuditEvent;
pub use error::StoreError;
pub use grants::{
    AuthRequestRecord, CodeExchange, CodeRecord, GrantRecord, RefreshRecord, RefreshRotation,
};
pub use initial_tokens::InitialTokenRecord;
pub use keys::SigningKeyRecord;
pub use lines::{LineAdded, LineRecord};
pub use lockout::FailureOutcome;
pub use mail::MailRecord;
pub use second_factor::{ChallengeRecord, SecondFactorRecord};
pub use secrets::{SecretsReport, SecretsStatus};
pub use sessions::{PoolStats, SessionRecord, StoredCounts};
pub use tickets::TicketRecord;
pub use upstream::{TakenState, UpstreamBinding, UpstreamStateRecord};
pub use users::ExclusiveTicket;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor, Row};

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
}

impl Store {
    /// Connects without migrating. SQLite files are created when the URL says `mode=rwc`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let options = |max: u32| {
            let options = AnyPoolOptions::new().max_connections(max.max(1));
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
        let pool = options(max_connections).connect(url).await?;
        let writer = match backend {
            Backend::Sqlite => options(1).connect(url).await?,
            Backend::Postgres => pool.clone(),
        };
        Ok(Self {
            pool,
            writer,
            backend,
            cipher: None,
        })
    }

    /// Connects and applies the embedded migrations of the URL's backend.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self> {
        let store = Self::connect(url, max_connections).await?;
        store.migrate().await?;
        Ok(store)
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
