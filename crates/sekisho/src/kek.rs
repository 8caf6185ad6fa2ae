//! Where the key-encryption key (KEK) comes from (ISSUE-15: secrets at rest), and the messages
//! that name the setting when it is missing or wrong.
//!
//! Decision: the KEK is the operator's (`kek_file`, or `SEKISHO_KEY_ENCRYPTION_KEY`), never the database's.
//! Without one, a SQLite database gets a generated `FILE.kek` beside it (mode 0600, a loud
//! warning), so `scripts/serve --demo` needs no set-up and still never stores a secret in clear:
//! a copy of the database alone (`sekisho backup`) holds no usable key. PostgreSQL, the
//! production backend, refuses to start without a configured KEK. Only an in-memory SQLite
//! database (gone at exit) keeps secrets in clear.

use crate::config::Config;
use anyhow::{bail, Context};
use sekisho_core::sealing::{SealError, SecretCipher};
use sekisho_crypto::kek::Kek;
use sekisho_store::{Backend, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The names of the settings, for messages.
pub const SETTINGS: &str = "kek_file (SEKISHO_KEK_FILE) or SEKISHO_KEY_ENCRYPTION_KEY";

/// The configured KEK; `None` only for an in-memory SQLite database.
pub fn load(config: &Config) -> anyhow::Result<Option<Arc<dyn SecretCipher>>> {
    let env = config.key_encryption_key.expose().trim();
    let file = config.kek_file.trim();
    let kek = match (env.is_empty(), file.is_empty()) {
        (false, false) => bail!(
            "both kek_file (SEKISHO_KEK_FILE) and SEKISHO_KEY_ENCRYPTION_KEY are set: give the key-encryption \
             key one way"
        ),
        (false, true) => Kek::parse(env).map_err(|e| anyhow::anyhow!("SEKISHO_KEY_ENCRYPTION_KEY: {e}"))?,
        (true, false) => read(Path::new(file), "kek_file (SEKISHO_KEK_FILE)")?,
        (true, true) => match default_file(config.database_url.expose())? {
            Some(path) => generated(&path)?,
            None => {
                tracing::warn!(
                    "no key-encryption key and an in-memory database: secrets are kept in clear \
                     (set {SETTINGS})"
                );
                return Ok(None);
            }
        },
    };
    tracing::info!(keys = ?kek.ids(), "key-encryption key loaded");
    Ok(Some(Arc::new(kek)))
}

fn read(path: &Path, setting: &str) -> anyhow::Result<Kek> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{setting}: cannot read {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(file = %path.display(), "the key-encryption key file is readable by other users: chmod 600 it");
            }
        }
    }
    Kek::parse(&text).map_err(|e| anyhow::anyhow!("{setting} {}: {e}", path.display()))
}

/// `FILE.kek` beside a SQLite database file; `None` for an in-memory one. PostgreSQL has no
/// default: it is refused here.
pub fn default_file(database_url: &str) -> anyhow::Result<Option<PathBuf>> {
    match Backend::from_url(database_url)? {
        Backend::Postgres => bail!(
            "no key-encryption key configured: set {SETTINGS}. Sekisho seals the signing keys \
             and TOTP secrets it stores with it; make one with `sekisho kek generate` \
             (see docs/OPERATIONS.md)"
        ),
        Backend::Sqlite => {
            let rest = database_url
                .strip_prefix("sqlite://")
                .or_else(|| database_url.strip_prefix("sqlite:"))
                .unwrap_or_default();
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() || path.contains(":memory:") || database_url.contains("mode=memory")
            {
                return Ok(None);
            }
            Ok(Some(PathBuf::from(format!("{path}.kek"))))
        }
    }
}

/// Reads the generated KEK beside the database, making it on first use.
fn generated(path: &Path) -> anyhow::Result<Kek> {
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(path)
            .with_context(|| format!("creating the key-encryption key {}", path.display()))?;
        std::io::Write::write_all(
            &mut file,
            format!(
                "# Sekisho key-encryption key, generated because none was configured ({SETTINGS}).\n\
                 # Without it the database's signing keys and TOTP secrets cannot be read: back it up\n\
                 # apart from the database.\n{}\n",
                Kek::generate()
            )
            .as_bytes(),
        )?;
        tracing::warn!(
            file = %path.display(),
            "NO KEY-ENCRYPTION KEY CONFIGURED: generated one beside the SQLite database. Fine for \
             development; in production set {SETTINGS} to a key kept apart from the database"
        );
    } else {
        tracing::warn!(
            file = %path.display(),
            "using the generated key-encryption key beside the SQLite database (development); \
             in production set {SETTINGS}"
        );
    }
    read(path, "the generated key-encryption key")
}

/// A store error from opening stored secrets, told in the operator's terms.
pub fn explain(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Sealed { what, error } => match error {
            SealError::UnknownKey(kid) => anyhow::anyhow!(
                "the database holds secrets sealed with key-encryption key {kid} ({what} among \
                 them), and that key is not configured: set {SETTINGS} to the file or value \
                 holding it (keep it listed after a new key until `sekisho kek rotate` has run)"
            ),
            SealError::WrongKey(kid) => anyhow::anyhow!(
                "the configured key-encryption key {kid} does not open the stored secret {what}: \
                 wrong key, or the data was altered; check {SETTINGS}"
            ),
            other => anyhow::anyhow!("stored secret {what}: {other} (check {SETTINGS})"),
        },
        other => other.into(),
    }
}
