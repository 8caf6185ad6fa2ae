//! The admin console's user list at scale (issue 16): a contract of 5,000 users, and the time the
//! server takes to answer a page of its list: the first page, a middle page, a search. The
//! target is under 200 ms per page.
//!
//! The users are written straight to the store (one password, the contractor's, is hashed): a
//! mix as a real contract has, most active, some invited with their invitation pending, some
//! disabled, some locked, every hundredth named 鈴木 (what the search looks for).

use crate::seed::{BRAND, PASSWORD};
use sekisho::config::Config;
use sekisho_core::email::Email;
use sekisho_core::model::{LoginMethod, Plan, Role, TwoFactorSetting, User, UserStatus};
use sekisho_core::SystemClock;
use sekisho_crypto::tokens::{hash_token, new_id, random_token};
use sekisho_store::TicketRecord;
use std::sync::Arc;
use std::time::Instant;

/// The users of the console's contract, its contractor included.
pub const USERS: usize = 5_000;
/// The target: a page of the list in under this many milliseconds of server time.
pub const TARGET_MS: f64 = 200.0;
pub const CONTRACTOR: &str = "console-owner@bench.example";
/// The search measured: every hundredth user (49 of 5,000) is named 鈴木.
const SEARCH: &str = "鈴木";

/// One page's latencies.
#[derive(Debug, Clone, Default)]
pub struct PageTimes {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The three pages measured, and how many requests each.
#[derive(Debug, Clone, Default)]
pub struct ConsoleResult {
    pub users: usize,
    pub requests: usize,
    pub first: PageTimes,
    pub middle: PageTimes,
    pub search: PageTimes,
}

impl ConsoleResult {
    pub fn worst_p99(&self) -> f64 {
        self.first
            .p99_ms
            .max(self.middle.p99_ms)
            .max(self.search.p99_ms)
    }
}

/// Writes the console's contract: the brand if missing, a contractor (2FA off, so the bench logs in
/// with the password alone) and `users - 1` more users.
pub async fn seed(config: &Config, users: usize) -> anyhow::Result<()> {
    let op = sekisho::server::build_op(config, Arc::new(SystemClock)).await?;
    if op.store.find_brand(BRAND).await?.is_none() {
        op.keys.ensure_keys().await?;
        sekisho::admin::add_brand(&op, BRAND, "OTクラウド・ストレージ").await?;
    }
    let contract = sekisho::admin::create_contract(
        &op,
        BRAND,
        "コンソール株式会社",
        CONTRACTOR,
        PASSWORD,
        Plan::Basic,
    )
    .await?;
    op.store
        .set_contract_two_factor(&contract.contract_id, TwoFactorSetting::Disabled)
        .await?;
    let now = op.now();
    let brand = sekisho_core::model::BrandCode::parse(BRAND)?;
    for i in 1..users {
        let mut u = User {
            id: new_id("usr"),
            contract_id: contract.contract_id.clone(),
            brand: brand.clone(),
            email: Email::parse(&format!("member{i:05}@console.bench.example"))?,
            name: if i.is_multiple_of(100) {
                format!("鈴木 {i}")
            } else {
                format!("利用者 {i}")
            },
            role: if i.is_multiple_of(20) {
                Role::Admin
            } else {
                Role::User
            },
            login_method: LoginMethod::Password,
            password_hash: None,
            failed_logins: 0,
            locked_at: None,
            status: UserStatus::Active,
            created_at: now,
        };
        match i % 50 {
            0 => u.locked_at = Some(now),
            7 | 17 | 27 | 37 | 47 => u.status = UserStatus::Invited,
            25 => u.status = UserStatus::Disabled,
            _ => {}
        }
        op.store.insert_user(&u).await?;
        if u.status == UserStatus::Invited {
            op.store
                .issue_ticket(&TicketRecord {
                    token_hash: hash_token(&random_token()),
                    purpose: "invitation".into(),
                    brand: BRAND.into(),
                    user_id: u.id.clone(),
                    payload: "{}".into(),
                    created_at: now,
                    expires_at: now + 14 * 86_400,
                    used_at: None,
                })
                .await?;
        }
    }
    op.store.close().await;
    Ok(())
}

fn times(mut ms: Vec<f64>) -> PageTimes {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    PageTimes {
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

/// `requests` GETs of `path` one after another (after a few to warm up), each checked to be the
/// list holding `expect`; their times in milliseconds.
async fn page_times(
    browser: &sekisho_e2e::Browser,
    base: &str,
    path: &str,
    expect: &str,
    requests: usize,
) -> anyhow::Result<PageTimes> {
    let url = format!("{base}/{BRAND}/{path}");
    let mut ms = Vec::with_capacity(requests);
    for i in 0..requests + 5 {
        let t = Instant::now();
        let res = browser.http.get(&url).send().await?;
        let status = res.status();
        let body = res.text().await?;
        let took = t.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            status.is_success() && body.contains(expect),
            "{path}: {status}, without {expect:?}"
        );
        if i >= 5 {
            ms.push(took);
        }
    }
    Ok(times(ms))
}

/// Logs the contractor in to the console of the server at `base` and times the three pages,
/// `requests` times each, sequentially (server time plus loopback).
pub async fn measure(base: &str, users: usize, requests: usize) -> anyhow::Result<ConsoleResult> {
    let browser = sekisho_e2e::Browser::new();
    let login = format!("{base}/{BRAND}/account/login");
    let sekisho_e2e::Hop::Page { body, .. } = browser.follow(base, &login).await? else {
        anyhow::bail!("no login page at {login}");
    };
    browser
        .submit_login(base, &body, CONTRACTOR, PASSWORD)
        .await?;
    let pages = (users as i64 + 49) / 50;
    let total = crate::report::grouped(users as i64);
    let middle = pages / 2;
    let search = url::form_urlencoded::byte_serialize(SEARCH.as_bytes()).collect::<String>();
    Ok(ConsoleResult {
        users,
        requests,
        first: page_times(
            &browser,
            base,
            "admin",
            &format!("{total}件中 1–50件"),
            requests,
        )
        .await?,
        middle: page_times(
            &browser,
            base,
            &format!("admin?page={middle}"),
            &format!(
                "{total}件中 {}–",
                crate::report::grouped((middle - 1) * 50 + 1)
            ),
            requests,
        )
        .await?,
        search: page_times(
            &browser,
            base,
            &format!("admin?q={search}"),
            "件中 1–",
            requests,
        )
        .await?,
    })
}
