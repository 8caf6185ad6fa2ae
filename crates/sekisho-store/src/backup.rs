//! Online backup of the embedded database (ISSUE-15: the operator's `sekisho backup`).

use crate::{Backend, Result, Store, StoreError};

impl Store {
    /// Copies the SQLite database to a new file at `path` while the server runs: `VACUUM INTO`
    /// reads one consistent snapshot (WAL readers do not block the writer, nor it them) and
    /// writes a compact, self-contained database file (no `-wal` beside it). Refuses an existing
    /// file. PostgreSQL is refused: its tool is `pg_dump`.
    ///
    /// The secrets inside stay sealed: restoring needs the same key-encryption key.
    pub async fn backup_sqlite(&self, path: &str) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Config(
                "sekisho backup copies SQLite databases only; back up PostgreSQL with pg_dump \
                 (for example pg_dump --format=custom --file=sekisho.dump DATABASE_URL)"
                    .into(),
            ));
        }
        if std::path::Path::new(path).exists() {
            return Err(StoreError::Config(format!(
                "{path} exists: a backup is written to a new file"
            )));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
