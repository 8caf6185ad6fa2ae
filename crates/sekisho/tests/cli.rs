//! The admin CLI, run as a real process against a fresh SQLite file: the exact command names and
//! JSON outputs that scripts (and the acceptance checks) rely on.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use serde_json::Value;
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

    /// Runs `sekisho ARGS` and returns (success, stdout as JSON or string, stderr).
    fn run(&self, args: &[&str]) -> (bool, Value, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_sekisho"))
            .args(args)
            .env("SEKISHO_DATABASE_URL", &self.db)
            .env("SEKISHO_ARGON2_MEMORY_KIB", "1024")
            .env("SEKISHO_ARGON2_ITERATIONS", "1")
            .env("SEKISHO_LOG", "warn")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let json = serde_json::from_str(&stdout).unwrap_or(Value::String(stdout));
        (
            out.status.success(),
            json,
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    fn ok(&self, args: &[&str]) -> Value {
        let (ok, v, err) = self.run(args);
        assert!(ok, "sekisho {args:?} failed: {err}");
        v
    }
}

// REQ-OP-6: operators register brands, contracts, users and clients from a script.
#[test]
fn admin_commands_print_json() {
    let cli = Cli::new();
    assert_eq!(cli.ok(&["migrate"])["migrated"], true);
    let brand = cli.ok(&[
        "brand",
        "add",
        "--code",
        "VX5",
        "--name",
        "OTクラウド・ストレージ",
    ]);
    assert_eq!(brand["code"], "VX5");
    assert_eq!(brand["name"], "OTクラウド・ストレージ");
    let (ok, _, err) = cli.run(&["brand", "add", "--code", "VX5", "--name", "again"]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let updated = cli.ok(&[
        "brand",
        "update",
        "--code",
        "VX5",
        "--mail-from",
        "noreply@vx5.example",
        "--primary-color",
        "#c8102e",
    ]);
    assert_eq!(updated["mail_from"], "noreply@vx5.example");
    assert_eq!(updated["theme"]["primary_color"], "#c8102e");
    let (ok, _, err) = cli.run(&[
        "brand",
        "update",
        "--code",
        "VX5",
        "--primary-color",
        "red;}body{display:none",
    ]);
    assert!(
        !ok && err.contains("hex colour"),
        "only plain colours reach the style sheet: {err}"
    );
    let (ok, _, err) = cli.run(&["brand", "add", "--code", "vx-5", "--name", "bad"]);
    assert!(!ok && err.contains("brand code"), "{err}");
    // ISSUE-16: the brand's service URL, https only (http on loopback), checked before writing.
    let served = cli.ok(&[
        "brand",
        "update",
        "--code",
        "VX5",
        "--service-url",
        "https://storage.vx5.example/",
    ]);
    assert_eq!(served["service_url"], "https://storage.vx5.example/");
    let (ok, _, err) = cli.run(&[
        "brand",
        "update",
        "--code",
        "VX5",
        "--service-url",
        "http://storage.vx5.example/",
    ]);
    assert!(!ok && err.contains("https"), "{err}");
    let (ok, _, err) = cli.run(&[
        "brand",
        "add",
        "--code",
        "MDR",
        "--name",
        "M-Drive",
        "--service-url",
        "javascript:alert(1)",
    ]);
    assert!(!ok && err.contains("https"), "{err}");
    let (ok, _, _) = cli.run(&["brand", "add", "--code", "MDR", "--name", "M-Drive"]);
    assert!(
        ok,
        "a refused service URL wrote nothing: the brand is still free"
    );
    let removed = cli.ok(&["brand", "update", "--code", "VX5", "--service-url", ""]);
    assert_eq!(removed["service_url"], Value::Null);

    let contract = cli.ok(&[
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
    let contract_id = contract["contract_id"].as_str().unwrap();
    assert!(
        contract_id.starts_with("ctr_")
            && contract["user_id"].as_str().unwrap().starts_with("usr_")
    );

    let user = cli.ok(&[
        "user",
        "add",
        "--contract",
        contract_id,
        "--email",
        "member@example.jp",
        "--password",
        "Secret-pass2",
        "--role",
        "admin",
    ]);
    assert!(user["user_id"].as_str().unwrap().starts_with("usr_"));
    let (ok, _, err) = cli.run(&[
        "user",
        "add",
        "--contract",
        contract_id,
        "--email",
        "MEMBER@example.jp",
        "--password",
        "x",
    ]);
    assert!(!ok && err.contains("already registered"), "{err}");
    let users = cli.ok(&["user", "list", "--contract", contract_id]);
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert!(
        !users.to_string().contains("argon2"),
        "password hashes are never printed"
    );

    let client = cli.ok(&[
        "client",
        "register",
        "--brand",
        "VX5",
        "--name",
        "Storage",
        "--redirect-uri",
        "https://rp.example/cb",
        "--redirect-uri",
        "https://rp.example/cb2",
        "--post-logout-redirect-uri",
        "https://rp.example/",
        "--id-token-alg",
        "RS256",
    ]);
    assert!(client["client_id"].as_str().unwrap().starts_with("cli_"));
    assert_eq!(
        client["client_secret"].as_str().unwrap().len(),
        43,
        "256-bit secret"
    );
    let public = cli.ok(&[
        "client",
        "register",
        "--brand",
        "VX5",
        "--name",
        "SPA",
        "--redirect-uri",
        "http://127.0.0.1:3000/cb",
        "--public",
    ]);
    assert!(public.get("client_secret").is_none());
    assert_eq!(public["token_endpoint_auth_method"], "none");
    let service = cli.ok(&[
        "client",
        "register",
        "--brand",
        "VX5",
        "--name",
        "Batch",
        "--grant-type",
        "client_credentials",
        "--scope",
        "storage.read",
    ]);
    assert!(service["client_secret"].is_string());
    let (ok, _, err) = cli.run(&[
        "client",
        "register",
        "--brand",
        "VX5",
        "--name",
        "Bad",
        "--redirect-uri",
        "http://rp.example/cb",
    ]);
    assert!(
        !ok && err.contains("https"),
        "plain http redirect URIs are refused off loopback: {err}"
    );
    // Issue 6 item 6: a client bound to a contract manages its users through the admin API.
    let integrator = cli.ok(&[
        "client",
        "register",
        "--brand",
        "VX5",
        "--name",
        "Integrator",
        "--grant-type",
        "client_credentials",
        "--scope",
        "sekisho:admin",
        "--contract",
        contract_id,
    ]);
    let (ok, _, err) = cli.run(&[
        "client",
        "register",
        "--brand",
        "VX5",
        "--name",
        "Stray",
        "--grant-type",
        "client_credentials",
        "--contract",
        "ctr_nope",
    ]);
    assert!(!ok && err.contains("no contract ctr_nope"), "{err}");
    let list = cli.ok(&["client", "list", "--brand", "VX5"]);
    assert_eq!(list.as_array().unwrap().len(), 4);
    let bound: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["contract_id"].is_null())
        .collect();
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0]["client_id"], integrator["client_id"]);
    assert_eq!(bound[0]["contract_id"].as_str(), Some(contract_id));
    assert!(
        !list
            .to_string()
            .contains(client["client_secret"].as_str().unwrap()),
        "secrets are never listed"
    );
}

// REQ-OP-4: keys generate|rotate|list; private parts never printed.
#[test]
fn keys_commands() {
    let cli = Cli::new();
    let generated = cli.ok(&["keys", "generate"]);
    assert_eq!(
        generated["generated"].as_array().unwrap().len(),
        3,
        "ES256, RS256, EdDSA"
    );
    assert_eq!(
        cli.ok(&["keys", "generate"])["generated"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "idempotent"
    );
    // Issue 17: a rotation is staged (the new key published, not signing yet) unless --now.
    let rotated = cli.ok(&["keys", "rotate", "--alg", "ES256"]);
    assert_eq!(rotated["rotated"].as_array().unwrap().len(), 1);
    let states = |listed: &serde_json::Value| -> Vec<String> {
        let mut s: Vec<String> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["state"].as_str().unwrap().to_owned())
            .collect();
        s.sort();
        s
    };
    let (ok, listed, _) = cli.run(&["keys", "list"]);
    assert!(ok);
    assert_eq!(states(&listed), ["active", "active", "active", "next"]);
    cli.ok(&["keys", "rotate", "--alg", "ES256", "--now"]);
    let (ok, listed, _) = cli.run(&["keys", "list"]);
    assert!(ok);
    assert_eq!(
        states(&listed),
        ["active", "active", "active", "retired", "retired"],
        "--now signs at once; the next key it replaced never signs"
    );
    let text = listed.to_string();
    assert!(
        !text.contains("\"d\"") && !text.contains("private"),
        "no private key material: {text}"
    );
}

// REQ-USER-7, REQ-USER-4, REQ-USER-6: the CLI issues mailed links by the same rules as the admin
// console: while a login-method change is pending for a user, no email change can be sent, and
// the reverse.
#[test]
fn cli_keeps_the_pending_change_rule() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    cli.ok(&["brand", "add", "--code", "VX5", "--name", "OT"]);
    let contract = cli.ok(&[
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
    let contract_id = contract["contract_id"].as_str().unwrap();
    let add = |email: &str| {
        cli.ok(&[
            "user",
            "add",
            "--contract",
            contract_id,
            "--email",
            email,
            "--password",
            "Secret-pass2",
        ])["user_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first = add("first@example.jp");
    let link = cli.ok(&["user", "login-method-change", "--user", &first]);
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .contains("/VX5/login-method?ticket="),
        "{link}"
    );
    let (ok, _, err) = cli.run(&[
        "user",
        "email-change",
        "--user",
        &first,
        "--email",
        "first.new@example.jp",
    ]);
    assert!(
        !ok,
        "an email change while a login-method change is pending"
    );
    assert!(err.contains("REQ-USER-7"), "{err}");

    // The reverse order.
    let second = add("second@example.jp");
    let sent = cli.ok(&[
        "user",
        "email-change",
        "--user",
        &second,
        "--email",
        "second.new@example.jp",
    ]);
    assert_eq!(sent["mailed_to"], "second.new@example.jp");
    let (ok, _, err) = cli.run(&["user", "login-method-change", "--user", &second]);
    assert!(
        !ok,
        "a login-method change while an email change is pending"
    );
    assert!(err.contains("REQ-USER-7"), "{err}");
    // An address already used in the brand is refused.
    let third = add("third@example.jp");
    let (ok, _, err) = cli.run(&[
        "user",
        "email-change",
        "--user",
        &third,
        "--email",
        "first@example.jp",
    ]);
    assert!(!ok && err.contains("already used"), "{err}");
}
