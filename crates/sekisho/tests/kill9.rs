//! Issue 15 (acceptance): `kill -9` under load on SQLite loses no answered token.
//!
//! The real `sekisho` binary serves a SQLite file while logins (password, through the
//! authorization code flow) and refresh-token rotations run in parallel (`load/mod.rs`, which
//! also says what "lost nothing" means); the test records every answer it fully received, kills
//! the server with SIGKILL, checks `PRAGMA integrity_check`, restarts the server on the same file
//! and port, and checks each answered token. Codes live 60 s by default, longer than a restart,
//! but a slow machine may take longer to reach them than that, so the test gives them 10 minutes
//! (`SEKISHO_CODE_TTL`): durability, not expiry, is under test.
//!
//! The test ends with `PRAGMA integrity_check` again, after a second SIGKILL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use sekisho::admin::{self, NewClient};
use sekisho::config::Config;
use sekisho_core::model::TwoFactorSetting;
use sekisho_e2e::{BRAND, EMAIL, PASSWORD, REDIRECT_URI};
use sekisho_store::Store;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

mod load;

use load::{Load, OnLoss, Rp};

/// Families the refresh workers rotate, and the workers.
const FAMILIES: usize = 12;
const REFRESH_WORKERS: usize = 3;
const LOGIN_WORKERS: usize = 2;
/// The kill comes once this much was answered, in the middle of the load.
const KILL_AFTER_REFRESHES: usize = 60;
const KILL_AFTER_LOGINS: usize = 6;

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    dir: PathBuf,
    url: String,
    base: String,
    port: u16,
    client_id: String,
    secret: String,
}

impl Setup {
    /// Starts `sekisho serve` on the SQLite file and waits (bounded) until discovery answers.
    async fn start(&self) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_sekisho"))
            .arg("serve")
            .current_dir(&self.dir)
            .env("SEKISHO_DATABASE_URL", &self.url)
            .env("SEKISHO_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("SEKISHO_PUBLIC_URL", &self.base)
            .env("SEKISHO_ARGON2_MEMORY_KIB", "1024")
            .env("SEKISHO_ARGON2_ITERATIONS", "1")
            .env("SEKISHO_CODE_TTL", "600")
            .env("SEKISHO_LOG", "warn")
            .env("SEKISHO_MAIL_OUTBOX_DIR", self.dir.join("outbox"))
            .env("SEKISHO_SMS_OUTBOX_DIR", self.dir.join("sms-outbox"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the sekisho binary");
        let server = Server { child };
        load::wait_until_serving(&self.base, BRAND).await;
        server
    }

    fn rp(&self) -> Rp {
        Rp {
            base: self.base.clone(),
            brand: BRAND.into(),
            client_id: self.client_id.clone(),
            secret: self.secret.clone(),
            email: EMAIL.into(),
            password: PASSWORD.into(),
        }
    }
}

async fn integrity(url: &str) -> Vec<String> {
    let store = Store::connect(url, 1).await.unwrap();
    let result = store.integrity_check().await.unwrap();
    store.close().await;
    result
}

/// A fresh folder under the target folder for the database and the outboxes.
fn fresh_dir() -> PathBuf {
    let dir = sekisho_testkit::target_dir()
        .join("test-kill9")
        .join(sekisho_testkit::unique_name("kill9"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn seed(dir: &Path) -> Setup {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let url = format!("sqlite://{}", dir.join("sekisho.db").display());
    let config = Config {
        public_url: base.clone(),
        database_url: url.clone().into(),
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        ..Config::default()
    };
    let (op, contract) = load::brand_and_contract(&config).await;
    op.store
        .set_contract_two_factor(&contract.contract_id, TwoFactorSetting::Disabled)
        .await
        .unwrap();
    let client =
        admin::register_client(&op, NewClient::confidential(BRAND, "Test RP", REDIRECT_URI))
            .await
            .unwrap();
    op.store.close().await;
    Setup {
        dir: dir.to_owned(),
        url,
        base,
        port,
        client_id: client.client_id,
        secret: client.client_secret.unwrap().into_exposed(),
    }
}

// ISSUE-15: kill -9 under a refresh and login load on SQLite: every answered token still works
// exactly once after the restart, and the file passes PRAGMA integrity_check.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_under_load_loses_no_answered_token() {
    let dir = fresh_dir();
    let setup = Arc::new(seed(&dir).await);
    let mut server = setup.start().await;
    let rp = Arc::new(setup.rp());
    let load = Load::start(
        rp.clone(),
        FAMILIES,
        REFRESH_WORKERS,
        LOGIN_WORKERS,
        OnLoss::Stop,
    )
    .await;
    // Kill in the middle of the load.
    load.advance(KILL_AFTER_REFRESHES, KILL_AFTER_LOGINS).await;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let answered = load.stop().await;
    drop(server);
    assert_eq!(integrity(&setup.url).await, ["ok"], "after the kill");

    let server = setup.start().await;
    let report = Load::check(&rp, &answered, FAMILIES, REFRESH_WORKERS).await;
    eprintln!("kill -9: {report}");

    drop(server); // SIGKILL again
    assert_eq!(integrity(&setup.url).await, ["ok"], "at the end");
    let _ = std::fs::remove_dir_all(&dir);
}
