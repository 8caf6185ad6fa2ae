//! Issue 15 (acceptance): `kill -9` under load on SQLite loses no answered token.
//!
//! The real `sekisho` binary serves a SQLite file while logins (password, through the
//! authorization code flow) and refresh-token rotations run in parallel; the test records every
//! answer it fully received, kills the server with SIGKILL, checks `PRAGMA integrity_check`,
//! restarts the server on the same file and port, and checks each answered token:
//!
//! - every family's last answered access token still works at userinfo;
//! - a refresh token answered and never presented again works exactly once: the first use
//!   rotates it, the second is refused (and, as reuse, revokes the family);
//! - a refresh token whose refresh was in flight at the kill may have been spent by a commit
//!   whose answer never arrived (the lost answer that `refresh_reuse_grace` is for; the grace is
//!   0 here): it either works exactly once or is refused, never works twice;
//! - a code answered at the redirect and never redeemed is redeemed exactly once. Codes live
//!   60 s by default, longer than a restart, but a slow machine may take longer to reach them
//!   than that, so the test gives them 10 minutes (`SEKISHO_CODE_TTL`): durability, not
//!   expiry, is under test. A code whose redemption was in flight is, like a refresh, redeemed
//!   at most once.
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
use sekisho_core::model::{Plan, TwoFactorSetting};
use sekisho_core::SystemClock;
use sekisho_crypto::tokens::pkce_s256;
use sekisho_e2e::Browser;
use sekisho_store::Store;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

const BRAND: &str = "VX5";
const EMAIL: &str = "taro@example.jp";
const PASSWORD: &str = "Tokyo-Tower-333";
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "a-long-enough-pkce-code-verifier-of-at-least-43-characters-0123";
/// Families the refresh workers rotate, and the workers.
const FAMILIES: usize = 12;
const REFRESH_WORKERS: usize = 3;
const LOGIN_WORKERS: usize = 2;
/// The kill comes once this much was answered, in the middle of the load.
const KILL_AFTER_REFRESHES: usize = 60;
const KILL_AFTER_LOGINS: usize = 6;

/// A refresh-token family as the client knows it.
#[derive(Clone, Debug)]
struct Family {
    refresh: String,
    access: String,
    /// A refresh presenting `refresh` was sent and not answered when the server died.
    in_flight: bool,
}

/// A code the client got at its redirect URI.
#[derive(Clone, Debug)]
struct Code {
    code: String,
    /// Its redemption was sent and not answered when the server died.
    in_flight: bool,
    /// Redeemed, and the answer received: nothing to check after the restart.
    redeemed: bool,
}

#[derive(Default)]
struct Answered {
    families: Vec<Family>,
    codes: Vec<Code>,
    refreshes: usize,
    logins: usize,
    /// HTTP answers other than success while the server ran: none expected.
    anomalies: Vec<String>,
}

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
    #[allow(
        clippy::disallowed_methods,
        reason = "waits for the real server process to start, bounded by wall time"
    )]
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
        let discovery = format!("{}/{BRAND}/.well-known/openid-configuration", self.base);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = reqwest::get(&discovery).await {
                if r.status().is_success() {
                    return server;
                }
            }
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn authorize_url(&self) -> String {
        let mut url = Url::parse(&format!("{}/{BRAND}/authorize", self.base)).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", "openid offline_access")
            .append_pair("state", "st")
            .append_pair("nonce", "n")
            .append_pair("code_challenge", &pkce_s256(VERIFIER))
            .append_pair("code_challenge_method", "S256");
        url.to_string()
    }

    /// A password login through the code flow: the code at the redirect URI.
    async fn login(&self) -> anyhow::Result<String> {
        let back = Browser::new()
            .login(&self.base, &self.authorize_url(), EMAIL, PASSWORD)
            .await?;
        back.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| anyhow::anyhow!("no code in {back}"))
    }

    /// POSTs to the token endpoint; Err when no complete answer arrived.
    async fn token(&self, form: &[(&str, &str)]) -> anyhow::Result<(u16, Value)> {
        let res = reqwest::Client::new()
            .post(format!("{}/{BRAND}/token", self.base))
            .basic_auth(&self.client_id, Some(&self.secret))
            .form(form)
            .send()
            .await?;
        let status = res.status().as_u16();
        let body: Value = res.json().await?;
        Ok((status, body))
    }

    async fn redeem(&self, code: &str) -> anyhow::Result<(u16, Value)> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ])
        .await
    }

    async fn refresh(&self, rt: &str) -> anyhow::Result<(u16, Value)> {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
            .await
    }

    async fn userinfo(&self, at: &str) -> u16 {
        reqwest::Client::new()
            .get(format!("{}/{BRAND}/userinfo", self.base))
            .bearer_auth(at)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

fn family_of(body: &Value) -> Family {
    Family {
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        access: body["access_token"].as_str().unwrap().to_owned(),
        in_flight: false,
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
    let op = sekisho::server::build_op(&config, Arc::new(SystemClock))
        .await
        .unwrap();
    admin::add_brand(&op, BRAND, "OTクラウド・ストレージ")
        .await
        .unwrap();
    let contract =
        admin::create_contract(&op, BRAND, "テスト株式会社", EMAIL, PASSWORD, Plan::Basic)
            .await
            .unwrap();
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
#[allow(
    clippy::disallowed_methods,
    reason = "bounds the wait for the load to reach the kill point in wall time"
)]
async fn kill_9_under_load_loses_no_answered_token() {
    let dir = fresh_dir();
    let setup = Arc::new(seed(&dir).await);
    let mut server = setup.start().await;

    // The families the refresh workers rotate, made before the load.
    let answered = Arc::new(Mutex::new(Answered::default()));
    for _ in 0..FAMILIES {
        let code = setup.login().await.unwrap();
        let (status, body) = setup.redeem(&code).await.unwrap();
        assert_eq!(status, 200, "{body}");
        answered.lock().unwrap().families.push(family_of(&body));
    }

    let dead = Arc::new(AtomicBool::new(false));
    let refreshes = Arc::new(AtomicUsize::new(0));
    let logins = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..REFRESH_WORKERS {
        let (setup, answered, dead, refreshes) = (
            setup.clone(),
            answered.clone(),
            dead.clone(),
            refreshes.clone(),
        );
        workers.push(tokio::spawn(async move {
            // Each worker rotates its own families in turn: one request in flight at a time, so
            // the others are idle when the server dies.
            let mine: Vec<usize> = (w..FAMILIES).step_by(REFRESH_WORKERS).collect();
            for i in mine.iter().cycle() {
                if dead.load(Ordering::Relaxed) {
                    return;
                }
                let rt = {
                    let mut a = answered.lock().unwrap();
                    a.families[*i].in_flight = true;
                    a.families[*i].refresh.clone()
                };
                let Ok((status, body)) = setup.refresh(&rt).await else {
                    return; // the server died with this refresh in flight
                };
                let mut a = answered.lock().unwrap();
                a.families[*i].in_flight = false;
                if status == 200 {
                    a.families[*i] = family_of(&body);
                    a.refreshes += 1;
                    refreshes.fetch_add(1, Ordering::Relaxed);
                } else {
                    a.anomalies.push(format!("refresh: {status} {body}"));
                    return;
                }
            }
        }));
    }
    for w in 0..LOGIN_WORKERS {
        let (setup, answered, dead, logins) = (
            setup.clone(),
            answered.clone(),
            dead.clone(),
            logins.clone(),
        );
        workers.push(tokio::spawn(async move {
            for n in 0.. {
                if dead.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(code) = setup.login().await else {
                    return; // died during the login: nothing was answered
                };
                logins.fetch_add(1, Ordering::Relaxed);
                let index = {
                    let mut a = answered.lock().unwrap();
                    a.logins += 1;
                    // Every other code is kept unredeemed, for after the restart.
                    let park = (n + w) % 2 == 0;
                    a.codes.push(Code {
                        code: code.clone(),
                        in_flight: !park,
                        redeemed: false,
                    });
                    if park {
                        continue;
                    }
                    a.codes.len() - 1
                };
                let Ok((status, body)) = setup.redeem(&code).await else {
                    return;
                };
                let mut a = answered.lock().unwrap();
                if status == 200 {
                    // Redeemed and answered: the code is spent, its family starts.
                    a.codes[index].in_flight = false;
                    a.codes[index].redeemed = true;
                    a.families.push(family_of(&body));
                } else {
                    a.anomalies.push(format!("redeem: {status} {body}"));
                    return;
                }
            }
        }));
    }

    // Kill in the middle of the load.
    let deadline = Instant::now() + Duration::from_secs(120);
    while refreshes.load(Ordering::Relaxed) < KILL_AFTER_REFRESHES
        || logins.load(Ordering::Relaxed) < KILL_AFTER_LOGINS
    {
        assert!(Instant::now() < deadline, "the load did not get going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    dead.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    drop(server);
    let answered = std::mem::take(&mut *answered.lock().unwrap());
    assert!(answered.anomalies.is_empty(), "{:?}", answered.anomalies);
    assert_eq!(integrity(&setup.url).await, ["ok"], "after the kill");

    let server = setup.start().await;
    // Access tokens first: a reuse below revokes its family's.
    for f in &answered.families {
        assert_eq!(
            setup.userinfo(&f.access).await,
            200,
            "access token of {f:?}"
        );
    }
    let (mut exact, mut lost) = (0, 0);
    for f in &answered.families {
        let (status, body) = setup.refresh(&f.refresh).await.unwrap();
        if status == 200 {
            let (again, reuse) = setup.refresh(&f.refresh).await.unwrap();
            assert_eq!(
                (again, reuse["error"].as_str()),
                (400, Some("invalid_grant")),
                "a refresh token works once: {f:?}"
            );
            exact += 1;
        } else {
            assert!(
                f.in_flight,
                "an answered, unspent refresh token was refused: {f:?}: {body}"
            );
            assert_eq!(body["error"], "invalid_grant", "{body}");
            lost += 1;
        }
    }
    let codes: Vec<&Code> = answered.codes.iter().filter(|c| !c.redeemed).collect();
    for c in &codes {
        let (status, body) = setup.redeem(&c.code).await.unwrap();
        if status == 200 {
            let (again, _) = setup.redeem(&c.code).await.unwrap();
            assert_eq!(again, 400, "a code works once: {c:?}");
        } else {
            assert!(
                c.in_flight,
                "an answered, unredeemed code was refused: {c:?}: {body}"
            );
        }
    }
    eprintln!(
        "kill -9: {} refreshes and {} logins answered; {} families worked exactly once, {} had \
         their answer lost in flight; {} codes checked",
        answered.refreshes,
        answered.logins,
        exact,
        lost,
        codes.len()
    );
    assert!(
        exact >= FAMILIES - REFRESH_WORKERS,
        "most families were idle at the kill"
    );
    assert!(
        codes.iter().any(|c| !c.in_flight),
        "some codes were answered and kept"
    );

    drop(server); // SIGKILL again
    assert_eq!(integrity(&setup.url).await, ["ok"], "at the end");
    let _ = std::fs::remove_dir_all(&dir);
}
