//! Loads wrk cannot make: full browser logins with fresh sessions, and a fixed-rate (open-loop)
//! client for latency at a chosen rate.

use crate::seed::{user_email, PASSWORD, REDIRECT_URI};
use sekisho_crypto::tokens::pkce_s256;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub failures: u64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn summarize(mut latencies: Vec<f64>, elapsed: Duration, failures: u64) -> LoadResult {
    latencies.sort_by(|a, b| a.total_cmp(b));
    LoadResult {
        rate: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        failures,
    }
}

const VERIFIER: &str = "bench-pkce-verifier-0123456789-0123456789-abcdefghij";

/// One whole login as a browser with a fresh session: authorize → login page → POST password →
/// code → token exchange.
///
/// Every simulated browser shares one HTTP client (building a client per login loads the TLS
/// roots each time, and made the load generator, not the server, the bottleneck); the session
/// cookie, the only cookie of the flow, is carried by hand.
/// One full password login of seeded user `user` asking for `scope`: the token response.
pub async fn one_login(
    http: &reqwest::Client,
    base: &str,
    rp: &(String, String),
    user: usize,
    scope: &str,
) -> anyhow::Result<serde_json::Value> {
    let mut cookie: Option<String> = None;
    let send = |req: reqwest::RequestBuilder, cookie: &Option<String>| match cookie {
        Some(c) => req.header("cookie", format!("sekisho_session={c}")),
        None => req,
    };
    let keep = |res: &reqwest::Response, cookie: &mut Option<String>| {
        for v in res.headers().get_all("set-cookie") {
            if let Some(rest) = v
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("sekisho_session="))
            {
                *cookie = Some(rest.split(';').next().unwrap_or_default().to_owned());
            }
        }
    };
    let location = |res: &reqwest::Response| -> anyhow::Result<String> {
        let loc = res
            .headers()
            .get("location")
            .ok_or_else(|| anyhow::anyhow!("no redirect ({})", res.status()))?
            .to_str()?;
        Ok(if loc.starts_with('/') {
            format!("{base}{loc}")
        } else {
            loc.to_owned()
        })
    };
    let authorize = format!(
        "{base}/VX5/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=s&nonce=n&code_challenge={}&code_challenge_method=S256",
        rp.0,
        url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>(),
        pkce_s256(VERIFIER)
    );
    let res = send(http.get(&authorize), &cookie).send().await?;
    keep(&res, &mut cookie);
    let page = send(http.get(location(&res)?), &cookie).send().await?;
    keep(&page, &mut cookie);
    let html = page.text().await?;
    let mut form = sekisho_e2e::hidden_inputs(&html);
    form.push(("email".into(), user_email(user)));
    form.push(("password".into(), PASSWORD.into()));
    let res = send(http.post(format!("{base}/VX5/login")).form(&form), &cookie)
        .send()
        .await?;
    keep(&res, &mut cookie);
    let res = send(http.get(location(&res)?), &cookie).send().await?;
    let back = url::Url::parse(&location(&res)?)?;
    let code = sekisho_e2e::query(&back)
        .remove("code")
        .ok_or_else(|| anyhow::anyhow!("no code: {back}"))?;
    let res = http
        .post(format!("{base}/VX5/token"))
        .basic_auth(&rp.0, Some(&rp.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success(),
        "token exchange: {}",
        res.status()
    );
    Ok(res.json().await?)
}

/// `concurrency` browsers logging in back to back for `secs`; users are taken in turn.
pub async fn logins(
    base: &str,
    rp: (String, String),
    users: usize,
    concurrency: usize,
    secs: f64,
) -> LoadResult {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let next_user = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let rp = Arc::new(rp);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, base, rp) = (http.clone(), base.to_owned(), rp.clone());
            let (next_user, failures) = (next_user.clone(), failures.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let user = (next_user.fetch_add(1, Ordering::Relaxed) as usize) % users;
                    let t = Instant::now();
                    match one_login(&http, &base, &rp, user, "openid email").await {
                        Ok(_) => latencies.push(t.elapsed().as_secs_f64() * 1000.0),
                        Err(_) => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    summarize(all, started.elapsed(), failures.load(Ordering::Relaxed))
}

/// Sends client_credentials requests at a fixed `rate` per second for `secs`, whatever the server's
/// answers take (open loop), and reports the latencies.
pub async fn fixed_rate_token(
    base: &str,
    cc: (String, String),
    rate: f64,
    secs: f64,
) -> LoadResult {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client");
    let url = format!("{base}/VX5/token");
    let total = (rate * secs) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let failures = Arc::new(AtomicU64::new(0));
    let cc = Arc::new(cc);
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = started + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (http, url, cc, failures) = (http.clone(), url.clone(), cc.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = http
                .post(&url)
                .basic_auth(&cc.0, Some(&cc.1))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if !ok {
                failures.fetch_add(1, Ordering::Relaxed);
            }
            t.elapsed().as_secs_f64() * 1000.0
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    for t in tasks {
        latencies.push(t.await.unwrap_or(f64::MAX));
    }
    summarize(
        latencies,
        started.elapsed(),
        failures.load(Ordering::Relaxed),
    )
}
