//! ISSUE-15: secrets at rest, through the real binary: the key-encryption key (KEK) from the
//! operator's file or environment, the generated default beside a SQLite database, start-up
//! refusing clearly when the key is missing or wrong, and `sekisho kek rotate`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `sekisho ARGS` on `db` with extra environment; (success, stdout JSON, stderr).
fn run(db: &str, env: &[(&str, &str)], args: &[&str]) -> (bool, Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sekisho"));
    cmd.args(args)
        .env("SEKISHO_DATABASE_URL", db)
        .env("SEKISHO_LOG", "warn")
        .env_remove("SEKISHO_KEY_ENCRYPTION_KEY")
        .env_remove("SEKISHO_KEK_FILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.success(),
        serde_json::from_str(&stdout).unwrap_or(Value::String(stdout)),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn ok(db: &str, env: &[(&str, &str)], args: &[&str]) -> Value {
    let (ok, v, err) = run(db, env, args);
    assert!(ok, "sekisho {args:?} failed: {err}");
    v
}

fn db_path(url: &str) -> PathBuf {
    PathBuf::from(
        url.strip_prefix("sqlite://")
            .and_then(|r| r.strip_suffix("?mode=rwc"))
            .unwrap(),
    )
}

/// The raw column values, read with Python's sqlite3 (not through Sekisho).
fn raw_sqlite(path: &Path, sql: &str) -> Vec<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print(r[0])",
        ])
        .arg(path)
        .arg(sql)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_key_file(dir: &Path, name: &str, keys: &[&str]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, keys.join("\n")).unwrap();
    path.to_str().unwrap().to_owned()
}

// ISSUE-15: secrets at rest — with no KEK configured, a SQLite database gets one generated
// beside it (the demo needs no set-up) and the signing keys are stored sealed, never in clear.
#[test]
fn default_sqlite_kek_is_generated_and_keys_are_sealed() {
    let db = sekisho_testkit::fresh_sqlite_url().unwrap();
    let path = db_path(&db);
    let generated = ok(&db, &[], &["keys", "generate"]);
    assert_eq!(generated["generated"].as_array().unwrap().len(), 3);
    let kek_file = PathBuf::from(format!("{}.kek", path.display()));
    assert!(kek_file.exists(), "no {}", kek_file.display());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kek_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the generated key is private: {mode:o}");
    }
    let stored = raw_sqlite(&path, "SELECT private_jwk FROM signing_keys");
    assert_eq!(stored.len(), 3);
    for v in &stored {
        assert!(v.starts_with("enc1:"), "{v}");
        assert!(!v.contains("\"d\""), "a private part in clear: {v}");
    }
    let status = ok(&db, &[], &["kek", "status"]);
    assert_eq!(status["clear"], 0);
    assert_eq!(status["sealed_by_key"].as_object().unwrap().len(), 1);
    // The keys still sign: the CLI opens them to rotate (the old ones are read back).
    ok(&db, &[], &["keys", "rotate", "--alg", "ES256"]);
    assert_eq!(ok(&db, &[], &["keys", "list"]).as_array().unwrap().len(), 4);
}

// ISSUE-15: secrets at rest — start-up fails with a message naming the setting when the stored
// secrets were sealed by a key that is not configured; `kek rotate` moves every value to the
// new key in one go, after which the old key is no longer needed (and alone no longer opens).
#[test]
fn wrong_or_missing_kek_fails_clearly_and_rotation_moves_to_the_new_key() {
    let dir = sekisho_testkit::target_dir().join("test-kek");
    std::fs::create_dir_all(&dir).unwrap();
    let db = sekisho_testkit::fresh_sqlite_url().unwrap();
    let name = db_path(&db)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let old = ok(&db, &[], &["kek", "generate"]);
    let old = old.as_str().unwrap().trim().to_owned();
    let new = ok(&db, &[], &["kek", "generate"])
        .as_str()
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(old.len(), 44, "{old}");
    let old_file = write_key_file(&dir, &format!("{name}.old"), &[&old]);
    let new_file = write_key_file(&dir, &format!("{name}.new"), &[&new]);
    let both_file = write_key_file(&dir, &format!("{name}.both"), &["# new first", &new, &old]);

    ok(
        &db,
        &[("SEKISHO_KEK_FILE", &old_file)],
        &["keys", "generate"],
    );
    let before = ok(
        &db,
        &[("SEKISHO_KEY_ENCRYPTION_KEY", &old)],
        &["kek", "status"],
    );
    let old_id = before["sealed_by_key"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();

    // The wrong key, and no key at all (here the generated default beside the file, which is
    // another key): each refused at start, naming the setting and the key needed.
    for env in [vec![("SEKISHO_KEK_FILE", new_file.as_str())], vec![]] {
        let (ok_, _, err) = run(&db, &env, &["keys", "list"]);
        assert!(!ok_, "started with {env:?}");
        assert!(
            err.contains("kek_file (SEKISHO_KEK_FILE) or SEKISHO_KEY_ENCRYPTION_KEY"),
            "{err}"
        );
        assert!(err.contains(&old_id), "{err}");
    }
    let (ok_, _, err) = run(
        &db,
        &[("SEKISHO_KEK_FILE", "/nonexistent/kek")],
        &["keys", "list"],
    );
    assert!(
        !ok_ && err.contains("kek_file (SEKISHO_KEK_FILE): cannot read"),
        "{err}"
    );

    // Rotation: new key first, old after; then the new key alone opens everything.
    let rotated = ok(&db, &[("SEKISHO_KEK_FILE", &both_file)], &["kek", "rotate"]);
    assert_eq!(rotated["report"]["resealed"], 3);
    let new_id = rotated["report"]["key_id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, old_id);
    assert_eq!(rotated["status"]["sealed_by_key"][&new_id], 3);
    assert_eq!(
        rotated["status"]["sealed_by_key"]
            .as_object()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        ok(&db, &[("SEKISHO_KEK_FILE", &new_file)], &["keys", "list"])
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (ok_, _, err) = run(&db, &[("SEKISHO_KEK_FILE", &old_file)], &["keys", "list"]);
    assert!(!ok_ && err.contains(&new_id), "{err}");
}

// ISSUE-15: secrets at rest — PostgreSQL (production) has no default key: it refuses to start
// without one, saying which setting to give.
#[test]
fn postgres_without_kek_refuses_to_start() {
    let db = sekisho_testkit::fresh_postgres_database().unwrap();
    let (ok_, _, err) = run(&db, &[], &["migrate"]);
    assert!(!ok_);
    assert!(
        err.contains(
            "no key-encryption key configured: set kek_file (SEKISHO_KEK_FILE) or SEKISHO_KEY_ENCRYPTION_KEY"
        ),
        "{err}"
    );
    let key = ok(&db, &[], &["kek", "generate"])
        .as_str()
        .unwrap()
        .trim()
        .to_owned();
    ok(
        &db,
        &[("SEKISHO_KEY_ENCRYPTION_KEY", &key)],
        &["keys", "generate"],
    );
    assert_eq!(
        ok(
            &db,
            &[("SEKISHO_KEY_ENCRYPTION_KEY", &key)],
            &["kek", "status"]
        )["clear"],
        0
    );
}
