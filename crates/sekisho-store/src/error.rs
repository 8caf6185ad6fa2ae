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
    #[error("database error: {0}")]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Db(e),
        }
    }
}
