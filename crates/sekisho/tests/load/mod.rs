//! A login and refresh load that records every answer it fully received, for the `kill -9` tests
//! (`kill9.rs`: one node on SQLite, restarted; `three_nodes.rs`: one of three nodes killed
//! behind the load balancer), and the check afterwards that nothing answered was lost:
//!
//! - every family's last answered access token still works at userinfo;
//! - a refresh token answered and never presented again works exactly once: the first use
//!   rotates it, the second is refused (and, as reuse, revokes the family);
//! - a refresh token whose refresh was in flight at the kill may have been spent by a commit
//!   whose answer never arrived (the lost answer that `refresh_reuse_grace` is for; the grace is
//!   0 here): it either works exactly once or is refused, never works twice;
//! - a code answered at the redirect and never redeemed is redeemed exactly once; one whose
//!   redemption was in flight is, like a refresh, redeemed at most once.

#![allow(
    dead_code,
    reason = "shared by two test crates (kill9.rs, three_nodes.rs), each using part of it"
)]

use sekisho_e2e::Browser;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const REDIRECT_URI: &str = sekisho_e2e::REDIRECT_URI;
pub const VERIFIER: &str = sekisho_e2e::PKCE_VERIFIER;
/// Bound on the waits for the load to reach a point and for a server to start (wall time: real
/// processes).
const WITHIN: Duration = Duration::from_secs(120);

/// The RP of the load: a confidential client logging `email` in at `base` (a node or the load
/// balancer) and using its tokens.
pub struct Rp {
    pub base: String,
    pub brand: String,
    pub client_id: String,
    pub secret: String,
    pub email: String,
    pub password: String,
}

impl Rp {
    fn authorize_url(&self) -> String {
        authorize_url(&self.base, &self.brand, &self.client_id, &[])
    }

    /// A password login through the code flow: the code at the redirect URI.
    pub async fn login(&self) -> anyhow::Result<String> {
        let back = Browser::new()
            .login(
                &self.base,
                &self.authorize_url(),
                &self.email,
                &self.password,
            )
            .await?;
        back.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| anyhow::anyhow!("no code in {back}"))
    }

    /// POSTs to the token endpoint; Err when no complete answer from Sekisho arrived (the
    /// connection failed, or the load balancer answered for a node that died).
    async fn token(&self, form: &[(&str, &str)]) -> anyhow::Result<(u16, Value)> {
        let res = reqwest::Client::new()
            .post(format!("{}/{}/token", self.base, self.brand))
            .basic_auth(&self.client_id, Some(&self.secret))
            .form(form)
            .send()
            .await?;
        let status = res.status().as_u16();
        anyhow::ensure!(
            !matches!(status, 502..=504),
            "the load balancer lost the answer ({status})"
        );
        let body: Value = res.json().await?;
        Ok((status, body))
    }

    pub async fn redeem(&self, code: &str) -> anyhow::Result<(u16, Value)> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ])
        .await
    }

    pub async fn refresh(&self, rt: &str) -> anyhow::Result<(u16, Value)> {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
            .await
    }

    pub async fn userinfo(&self, at: &str) -> u16 {
        userinfo(&self.base, &self.brand, at).await
    }
}

/// The authorization URL at `base` (a node or the load balancer) of a code flow with PKCE S256
/// and refresh tokens (`offline_access`), plus `extra` parameters.
pub fn authorize_url(base: &str, brand: &str, client_id: &str, extra: &[(&str, &str)]) -> String {
    sekisho_e2e::code_flow_url(
        &format!("{base}/{brand}"),
        client_id,
        "openid offline_access",
        extra,
    )
}

/// The operator's view of `config`'s database, with brand VX5 and a contract (two-step
/// verification on, as created) whose contractor is EMAIL / PASSWORD: the start of each test's
/// seed, done before any server process runs.
pub async fn brand_and_contract(
    config: &sekisho::config::Config,
) -> (
    std::sync::Arc<sekisho_oidc::Op>,
    sekisho::admin::CreatedContract,
) {
    use sekisho_e2e::{BRAND, EMAIL, PASSWORD};
    let op = sekisho::server::build_op(config, Arc::new(sekisho_core::SystemClock))
        .await
        .unwrap();
    sekisho::admin::add_brand(&op, BRAND, "OTクラウド・ストレージ")
        .await
        .unwrap();
    let contract = sekisho::admin::create_contract(
        &op,
        BRAND,
        "テスト株式会社",
        EMAIL,
        PASSWORD,
        sekisho_core::model::Plan::Basic,
    )
    .await
    .unwrap();
    (op, contract)
}

/// The status of userinfo at `base` for `token`.
pub async fn userinfo(base: &str, brand: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/{brand}/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits (bounded) until the server at `url` answers discovery of `brand`.
#[allow(
    clippy::disallowed_methods,
    reason = "waits (bounded, in wall time) for a real server process to start"
)]
pub async fn wait_until_serving(url: &str, brand: &str) {
    let discovery = format!("{url}/{brand}/.well-known/openid-configuration");
    let deadline = Instant::now() + WITHIN;
    loop {
        if let Ok(r) = reqwest::get(&discovery).await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the server at {url} did not start"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A refresh-token family as the client knows it.
#[derive(Clone, Debug)]
pub struct Family {
    refresh: String,
    access: String,
    /// A refresh presenting `refresh` was sent and not answered (the node died).
    in_flight: bool,
}

/// A code the client got at its redirect URI.
#[derive(Clone, Debug)]
pub struct Code {
    code: String,
    /// Its redemption was sent and not answered when the node died.
    in_flight: bool,
    /// Redeemed, and the answer received: nothing to check afterwards.
    redeemed: bool,
}

#[derive(Default)]
pub struct Answered {
    families: Vec<Family>,
    codes: Vec<Code>,
    pub refreshes: usize,
    pub logins: usize,
    /// HTTP answers other than success: none expected.
    pub anomalies: Vec<String>,
}

fn family_of(body: &Value) -> Family {
    Family {
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        access: body["access_token"].as_str().unwrap().to_owned(),
        in_flight: false,
    }
}

/// What a worker does when a request gets no answer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OnLoss {
    /// The only server died: stop.
    Stop,
    /// One node of several died: leave the family (its state is unknown) and go on.
    GoOn,
}

/// Refresh workers rotating their own families in turn (one request in flight each), and login
/// workers logging in, redeeming every other code and keeping the rest for afterwards.
pub struct Load {
    rp: Arc<Rp>,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    answered: Arc<Mutex<Answered>>,
    refreshes: Arc<AtomicUsize>,
    logins: Arc<AtomicUsize>,
    families: usize,
    refresh_workers: usize,
}

impl Load {
    /// Makes `families` families (before the load), then starts the workers.
    pub async fn start(
        rp: Arc<Rp>,
        families: usize,
        refresh_workers: usize,
        login_workers: usize,
        on_loss: OnLoss,
    ) -> Self {
        let answered = Arc::new(Mutex::new(Answered::default()));
        for _ in 0..families {
            let code = rp.login().await.unwrap();
            let (status, body) = rp.redeem(&code).await.unwrap();
            assert_eq!(status, 200, "{body}");
            answered.lock().unwrap().families.push(family_of(&body));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let refreshes = Arc::new(AtomicUsize::new(0));
        let logins = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for w in 0..refresh_workers {
            let mine: Vec<usize> = (w..families).step_by(refresh_workers).collect();
            workers.push(tokio::spawn(refresh_worker(
                rp.clone(),
                mine,
                answered.clone(),
                stop.clone(),
                refreshes.clone(),
                on_loss,
            )));
        }
        for w in 0..login_workers {
            workers.push(tokio::spawn(login_worker(
                rp.clone(),
                w,
                answered.clone(),
                stop.clone(),
                logins.clone(),
                on_loss,
            )));
        }
        Self {
            rp,
            stop,
            workers,
            answered,
            refreshes,
            logins,
            families,
            refresh_workers,
        }
    }

    /// Waits (bounded) until this many more refreshes and logins were answered.
    #[allow(
        clippy::disallowed_methods,
        reason = "bounds the wait for the load to reach a point in wall time"
    )]
    pub async fn advance(&self, refreshes: usize, logins: usize) {
        let (r0, l0) = (self.refreshes(), self.logins());
        let deadline = Instant::now() + WITHIN;
        while self.refreshes() < r0 + refreshes || self.logins() < l0 + logins {
            assert!(Instant::now() < deadline, "the load did not go on");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::Relaxed)
    }

    fn logins(&self) -> usize {
        self.logins.load(Ordering::Relaxed)
    }

    /// Stops the workers and returns what was answered.
    pub async fn stop(self) -> Answered {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            w.await.unwrap();
        }
        let answered = std::mem::take(&mut *self.answered.lock().unwrap());
        assert!(answered.anomalies.is_empty(), "{:?}", answered.anomalies);
        answered
    }

    /// Checks every answered token through `rp` (the server restarted, or the nodes left);
    /// returns a line for the log.
    pub async fn check(
        rp: &Rp,
        answered: &Answered,
        families: usize,
        refresh_workers: usize,
    ) -> String {
        // Access tokens first: a reuse below revokes its family's.
        for f in &answered.families {
            assert_eq!(rp.userinfo(&f.access).await, 200, "access token of {f:?}");
        }
        let (mut exact, mut lost) = (0, 0);
        for f in &answered.families {
            let (status, body) = rp.refresh(&f.refresh).await.unwrap();
            if status == 200 {
                let (again, reuse) = rp.refresh(&f.refresh).await.unwrap();
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
            let (status, body) = rp.redeem(&c.code).await.unwrap();
            if status == 200 {
                let (again, _) = rp.redeem(&c.code).await.unwrap();
                assert_eq!(again, 400, "a code works once: {c:?}");
            } else {
                assert!(
                    c.in_flight,
                    "an answered, unredeemed code was refused: {c:?}: {body}"
                );
            }
        }
        assert!(
            exact >= families - refresh_workers,
            "most families were idle at the kill"
        );
        assert!(
            codes.iter().any(|c| !c.in_flight),
            "some codes were answered and kept"
        );
        format!(
            "{} refreshes and {} logins answered; {exact} families worked exactly once, {lost} \
             had their answer lost in flight; {} codes checked",
            answered.refreshes,
            answered.logins,
            codes.len()
        )
    }

    /// [`Load::stop`], then [`Load::check`] through the load's own RP.
    pub async fn stop_and_check(self) -> String {
        let (rp, families, workers) = (self.rp.clone(), self.families, self.refresh_workers);
        let answered = self.stop().await;
        Self::check(&rp, &answered, families, workers).await
    }
}

async fn refresh_worker(
    rp: Arc<Rp>,
    mine: Vec<usize>,
    answered: Arc<Mutex<Answered>>,
    stop: Arc<AtomicBool>,
    refreshes: Arc<AtomicUsize>,
    on_loss: OnLoss,
) {
    for i in mine.iter().cycle() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let rt = {
            let mut a = answered.lock().unwrap();
            if a.families[*i].in_flight {
                // Its last refresh got no answer: its state is unknown.
                if mine.iter().all(|j| a.families[*j].in_flight) {
                    return;
                }
                continue;
            }
            a.families[*i].in_flight = true;
            a.families[*i].refresh.clone()
        };
        let Ok((status, body)) = rp.refresh(&rt).await else {
            match on_loss {
                OnLoss::Stop => return,
                OnLoss::GoOn => continue,
            }
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
}

async fn login_worker(
    rp: Arc<Rp>,
    w: usize,
    answered: Arc<Mutex<Answered>>,
    stop: Arc<AtomicBool>,
    logins: Arc<AtomicUsize>,
    on_loss: OnLoss,
) {
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let Ok(code) = rp.login().await else {
            // Lost during the login: nothing was answered.
            match on_loss {
                OnLoss::Stop => return,
                OnLoss::GoOn => continue,
            }
        };
        logins.fetch_add(1, Ordering::Relaxed);
        let index = {
            let mut a = answered.lock().unwrap();
            a.logins += 1;
            // Every other code is kept unredeemed, for afterwards.
            let park = (n + w).is_multiple_of(2);
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
        let Ok((status, body)) = rp.redeem(&code).await else {
            match on_loss {
                OnLoss::Stop => return,
                OnLoss::GoOn => continue,
            }
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
}
