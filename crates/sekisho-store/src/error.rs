#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write (an email already used in the brand, a duplicate id…).
    #[error("already exists")]
    Conflict,
    #[error("database configuration: {0}")]
    Config(String),
    #[error("stored data is not what the code expects: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored secret could not be opened (ISSUE-15: secrets at rest): no KEK is configured, or
    /// not the one that sealed it. `what` names the value (table, column, row).
    #[error("stored secret {what}: {error}")]
    Sealed {
        what: String,
        error: sekisho_core::sealing::SealError,
    },
    /// The database cannot be reached: no connection within the pool's wait, or the connection
    /// broke. Temporary: the web answers 503 with `Retry-After`, and the pool reconnects by
    /// itself once the database is back.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("database error: {0}")]
    Db(sqlx::Error),
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Whether the error says the database is out of reach rather than that the query was wrong.
fn unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), 57P01–57P03 (the server shuts down or is
        // starting up), 53300 (too many connections).
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
            _ if unreachable(&e) => {
                crate::outage::note();
                StoreError::Unavailable(e)
            }
            _ => StoreError::Db(e),
        }
    }
}
