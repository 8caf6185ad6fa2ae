//! Fresh SQLite databases for tests: one new file per call.

use anyhow::Context;

use crate::{target_dir, unique_name};

/// URL of a new, not yet existing SQLite file under `{target}/test-sqlite/`, as
/// `sqlite://<absolute path>?mode=rwc` (`rwc`: the driver creates the file on first connect).
///
/// A file rather than `:memory:` so that every connection of a pool sees the same database, and
/// so a failed test leaves its database behind to look at. The files stay until the next
/// `scripts/test` run removes the folder before its tests.
pub fn fresh_sqlite_url() -> anyhow::Result<String> {
    let dir = target_dir().join("test-sqlite");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{}.db", unique_name("sekisho_test")));
    let path = path
        .to_str()
        .with_context(|| format!("test SQLite path is not UTF-8: {}", path.display()))?;
    Ok(format!("sqlite://{path}?mode=rwc"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_fresh_absolute_and_creatable() {
        let a = fresh_sqlite_url().unwrap();
        let b = fresh_sqlite_url().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("sqlite:///"), "{a}");
        assert!(a.ends_with(".db?mode=rwc"), "{a}");
        let path = a
            .strip_prefix("sqlite://")
            .and_then(|rest| rest.strip_suffix("?mode=rwc"))
            .unwrap();
        assert!(
            !std::path::Path::new(path).exists(),
            "not created until opened"
        );
        assert!(std::path::Path::new(path).parent().unwrap().is_dir());
    }
}
