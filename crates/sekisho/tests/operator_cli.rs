//! ISSUE-15: the operator's CLI covers what the admin API does — contracts (list, show,
//! settings), users (invite, disable, enable), RFC 7591 initial access tokens (printed once,
//! stored as a hash), the audit export (JSON lines) and `sekisho backup` (an online SQLite copy).
//! Run as the real binary against a fresh database; effects are read back through the CLI and,
//! for what is stored, from the raw database with Python's sqlite3.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use base64::Engine;
use serde_json::Value;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Cli {
    db: String,
}

impl Cli {
    fn new() -> Self {
        Self {
            db: sekisho_testkit::fresh_sqlite_url().unwrap(),
        }
    }

    fn path(&self) -> PathBuf {
        PathBuf::from(
            self.db
                .strip_prefix("sqlite://")
                .and_then(|r| r.strip_suffix("?mode=rwc"))
                .unwrap(),
        )
    }

    /// Runs `sekisho ARGS`; (success, raw stdout, stderr).
    fn raw(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_sekisho"))
            .args(args)
            .env("SEKISHO_DATABASE_URL", &self.db)
            .env("SEKISHO_ARGON2_MEMORY_KIB", "1024")
            .env("SEKISHO_ARGON2_ITERATIONS", "1")
            .env("SEKISHO_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    fn run(&self, args: &[&str]) -> (bool, Value, String) {
        let (ok, out, err) = self.raw(args);
        (
            ok,
            serde_json::from_str(&out).unwrap_or(Value::String(out)),
            err,
        )
    }

    fn ok(&self, args: &[&str]) -> Value {
        let (ok, v, err) = self.run(args);
        assert!(ok, "sekisho {args:?} failed: {err}");
        v
    }

    /// Brand VX5 and a contract; returns (contract id, contractor id).
    fn seed(&self) -> (String, String) {
        self.ok(&["brand", "add", "--code", "VX5", "--name", "OTクラウド"]);
        let c = self.ok(&[
            "contract",
            "create",
            "--brand",
            "VX5",
            "--name",
            "テスト株式会社",
            "--contractor-email",
            "owner@example.jp",
            "--contractor-password",
            "Secret-pass1",
        ]);
        (
            c["contract_id"].as_str().unwrap().to_owned(),
            c["user_id"].as_str().unwrap().to_owned(),
        )
    }
}

/// Runs SQL on a SQLite file with Python's sqlite3 (not through Sekisho); one line per row,
/// columns joined by `|`.
fn sqlite(path: &Path, sql: &str) -> Vec<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print('|'.join(map(str, r)))",
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

// ISSUE-15: operator CLI — contracts: list, show, and the settings the contractor has (2FA,
// plan, access route), each change audited as the operator's CLI.
#[test]
fn contracts_are_listed_shown_and_set() {
    let cli = Cli::new();
    let (contract, _) = cli.seed();
    let list = cli.ok(&["contract", "list", "--brand", "VX5"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], contract.as_str());
    assert_eq!(list[0]["two_factor"], "enabled");
    let (ok, _, err) = cli.run(&["contract", "list", "--brand", "NOPE"]);
    assert!(!ok && err.contains("no brand NOPE"), "{err}");

    let shown = cli.ok(&["contract", "show", "--contract", &contract]);
    assert_eq!(shown["users"], 1);
    assert_eq!(shown["plan"], "basic");
    assert_eq!(shown["access_route"], "line_and_internet");

    let set = cli.ok(&[
        "contract",
        "set",
        "--contract",
        &contract,
        "--two-factor",
        "off",
        "--plan",
        "trial",
        "--access-route",
        "line_only",
    ]);
    assert_eq!(set["two_factor"], "disabled");
    assert_eq!(set["plan"], "trial");
    assert_eq!(set["access_route"], "line_only");
    let shown = cli.ok(&["contract", "show", "--contract", &contract]);
    assert_eq!(shown["two_factor"], "disabled");
    assert_eq!(shown["access_route"], "line_only");

    let (ok, audit, err) = cli.raw(&["audit", "export"]);
    assert!(ok, "{err}");
    let events: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for kind in [
        "contract.two_factor.changed",
        "contract.plan.changed",
        "contract.access_route.changed",
    ] {
        assert!(kinds.contains(&kind), "{kind} not in {kinds:?}");
    }
    let two_factor = events
        .iter()
        .find(|e| e["kind"] == "contract.two_factor.changed")
        .unwrap();
    assert_eq!(two_factor["client_id"], "sekisho-cli");
    // ISSUE-16: the event belongs to the contract acted on (its console's 監査ログ shows it).
    assert_eq!(two_factor["contract_id"], contract.as_str());
    assert_eq!(two_factor["detail"]["to"], "disabled");
    // Oldest first, every line an object with an increasing id.
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let (ok, later, _) = cli.raw(&["audit", "export", "--since", "99999999999"]);
    assert!(ok && later.is_empty(), "{later}");
}

// ISSUE-15: operator CLI — users: invite (an invited user, its mail queued), disable and enable
// by the admin API's rules (the contractor is never disabled).
#[test]
fn users_are_invited_disabled_and_enabled() {
    let cli = Cli::new();
    let (contract, contractor) = cli.seed();
    let invited = cli.ok(&[
        "user",
        "invite",
        "--contract",
        &contract,
        "--email",
        "new@example.jp",
        "--name",
        "新人",
    ]);
    assert_eq!(invited["status"], "invited");
    assert_eq!(invited["pending"], serde_json::json!(["invitation"]));
    let queued = sqlite(
        &cli.path(),
        "SELECT to_addr FROM mail_outbox WHERE to_addr = 'new@example.jp'",
    );
    assert_eq!(queued.len(), 1, "the invitation mail is queued");
    let (ok, _, err) = cli.run(&[
        "user",
        "invite",
        "--contract",
        &contract,
        "--email",
        "<script>@example.jp",
    ]);
    assert!(!ok && err.contains("not a mail address"), "{err}");

    let member = cli.ok(&[
        "user",
        "add",
        "--contract",
        &contract,
        "--email",
        "member@example.jp",
        "--password",
        "Secret-pass2",
    ])["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let disabled = cli.ok(&["user", "disable", "--user", &member]);
    assert_eq!(disabled["status"], "disabled");
    let users = cli.ok(&["user", "list", "--contract", &contract]);
    let row = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == member.as_str())
        .unwrap();
    assert_eq!(row["status"], "disabled");
    assert_eq!(
        cli.ok(&["user", "enable", "--user", &member])["status"],
        "active"
    );
    let (ok, _, err) = cli.run(&["user", "disable", "--user", &contractor]);
    assert!(!ok && err.contains("contractor"), "{err}");
    let (ok, _, err) = cli.run(&["user", "disable", "--user", invited["id"].as_str().unwrap()]);
    assert!(!ok && err.contains("invited"), "{err}");
}

// ISSUE-15: operator CLI — an initial access token is printed once; the database keeps only its
// SHA-256; the listing shows neither; it can be revoked.
#[test]
fn initial_access_tokens_are_printed_once_and_stored_hashed() {
    let cli = Cli::new();
    cli.seed();
    let made = cli.ok(&[
        "initial-access-token",
        "create",
        "--brand",
        "VX5",
        "--label",
        "integrator A",
        "--ttl",
        "86400",
    ]);
    let token = made["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43, "{token}");
    let id = made["id"].as_str().unwrap().to_owned();
    let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(token.as_bytes()));
    let stored = sqlite(
        &cli.path(),
        "SELECT id, token_hash, brand_code FROM initial_access_tokens",
    );
    assert_eq!(stored, [format!("{id}|{hash}|VX5")]);
    let listed = cli.ok(&["initial-access-token", "list"]).to_string();
    assert!(
        listed.contains(&id) && listed.contains("integrator A"),
        "{listed}"
    );
    assert!(
        !listed.contains(&token) && !listed.contains(&hash),
        "{listed}"
    );
    assert_eq!(
        cli.ok(&["initial-access-token", "revoke", "--id", &id])["revoked"],
        id.as_str()
    );
    let (ok, _, err) = cli.run(&["initial-access-token", "revoke", "--id", &id]);
    assert!(!ok && err.contains("no live initial access token"), "{err}");
    let (ok, _, err) = cli.run(&["initial-access-token", "create", "--brand", "NOPE"]);
    assert!(!ok && err.contains("no brand NOPE"), "{err}");
}

// ISSUE-15: operator CLI — `sekisho backup` writes a database that opens, passes
// `PRAGMA integrity_check` and holds the data; it refuses an existing file.
#[test]
fn backup_is_a_sound_copy_with_the_data() {
    let cli = Cli::new();
    let (contract, _) = cli.seed();
    let target = cli.path().with_extension("backup.db");
    let done = cli.ok(&["backup", target.to_str().unwrap()]);
    assert!(done["bytes"].as_u64().unwrap() > 0, "{done}");
    assert_eq!(sqlite(&target, "PRAGMA integrity_check"), ["ok"]);
    assert_eq!(
        sqlite(&target, "SELECT id FROM contracts"),
        [contract.as_str()]
    );
    assert_eq!(
        sqlite(&target, "SELECT email FROM users"),
        ["owner@example.jp"]
    );
    // The copy is a database Sekisho opens: the contract is there (same key-encryption key:
    // the generated one beside the original, copied along as a restore would).
    std::fs::copy(
        format!("{}.kek", cli.path().display()),
        format!("{}.kek", target.display()),
    )
    .unwrap();
    let restored = Cli {
        db: format!("sqlite://{}?mode=rwc", target.display()),
    };
    assert_eq!(
        restored.ok(&["contract", "show", "--contract", &contract])["users"],
        1
    );
    let (ok, _, err) = cli.run(&["backup", target.to_str().unwrap()]);
    assert!(!ok && err.contains("exists"), "{err}");
}

// ISSUE-15: operator CLI — on PostgreSQL `sekisho backup` refuses and points to pg_dump.
#[test]
fn backup_on_postgres_points_to_pg_dump() {
    let db = sekisho_testkit::fresh_postgres_database().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .args(["backup", "/tmp/never-written.db"])
        .env("SEKISHO_DATABASE_URL", &db)
        .env(
            "SEKISHO_KEY_ENCRYPTION_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .env("SEKISHO_LOG", "warn")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("pg_dump"), "{err}");
    assert!(!Path::new("/tmp/never-written.db").exists());
}

// ISSUE-15: introspection scope — the operator registers a client as a resource server (and
// withdraws it) from the CLI; the listing says which clients are.
#[test]
fn clients_are_made_resource_servers() {
    let cli = Cli::new();
    cli.seed();
    let client = cli.ok(&[
        "client",
        "register",
        "--brand",
        "VX5",
        "--name",
        "API",
        "--grant-type",
        "client_credentials",
    ]);
    let id = client["client_id"].as_str().unwrap();
    let listed = cli.ok(&["client", "list", "--brand", "VX5"]);
    assert_eq!(listed[0]["resource_server"], false);
    let set = cli.ok(&[
        "client",
        "resource-server",
        "--brand",
        "VX5",
        "--client-id",
        id,
    ]);
    assert_eq!(set["resource_server"], true);
    assert_eq!(
        cli.ok(&["client", "list", "--brand", "VX5"])[0]["resource_server"],
        true
    );
    cli.ok(&[
        "client",
        "resource-server",
        "--brand",
        "VX5",
        "--client-id",
        id,
        "--off",
    ]);
    assert_eq!(
        cli.ok(&["client", "list", "--brand", "VX5"])[0]["resource_server"],
        false
    );
    let (ok, _, err) = cli.run(&[
        "client",
        "resource-server",
        "--brand",
        "VX5",
        "--client-id",
        "cli_nope",
    ]);
    assert!(!ok && err.contains("no client cli_nope"), "{err}");
}
