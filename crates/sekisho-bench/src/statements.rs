//! Database statements per operation (issue 17): a server of its own on the same database logs
//! every statement it runs (sqlx's `sqlx::query` events at DEBUG, as JSON lines on stderr), and
//! each operation is run [`RUNS`] times in a row, alone, counting the lines it added.
//!
//! The server's background work (the mail worker's poll every 15 s, the AD metadata check every
//! minute, the key ring's reload and the hourly rotation check) may run during a count; its
//! statements (on `mail_outbox`, `ad_connections`, `signing_keys`) are left out, so the counts are
//! those of the requests. The key ring reloads at most every 30 s: that read is amortised over
//! every request of those 30 s, not one operation's. Transaction control (`BEGIN`, `COMMIT`) is
//! not counted: sqlx logs `COMMIT` on PostgreSQL only and `BEGIN` on neither.

use crate::load::one_login;
use std::path::Path;

/// Runs of each operation counted.
pub const RUNS: usize = 20;
/// Statements of background work, not of a request.
const BACKGROUND: [&str; 3] = ["mail_outbox", "ad_connections", "signing_keys"];

/// Statements per operation, averaged over [`RUNS`].
#[derive(Debug, Clone, Default)]
pub struct Statements {
    pub login: f64,
    pub refresh: f64,
    pub client_credentials: f64,
    pub userinfo: f64,
    pub introspection: f64,
    /// Each operation's statements in its last run (`--only statements` prints them).
    pub listing: Vec<(&'static str, Vec<String>)>,
}

impl Statements {
    /// (operation, statements) in the report's order.
    pub fn rows(&self) -> [(&'static str, f64); 5] {
        [
            (
                "full password login with code exchange (authorize, page, POST, code, token)",
                self.login,
            ),
            ("refresh_token (rotation)", self.refresh),
            ("client_credentials", self.client_credentials),
            ("userinfo", self.userinfo),
            ("introspection", self.introspection),
        ]
    }
}

/// The statements of requests logged so far, in order.
fn logged(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"target\":\"sqlx::query\""))
        .filter(|l| !BACKGROUND.iter().any(|t| l.contains(t)))
        .map(|l| {
            let v = serde_json::from_str::<serde_json::Value>(l).unwrap_or_default();
            let fields = &v["fields"];
            // A statement sqlx runs itself (BEGIN, COMMIT) has its text in the summary only.
            let text = [&fields["db.statement"], &fields["summary"]]
                .into_iter()
                .filter_map(|f| f.as_str())
                .find(|f| !f.trim().is_empty())
                .unwrap_or_default();
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        // sqlx logs COMMIT on PostgreSQL only, BEGIN on neither: transaction control is left
        // out on both, so the counts compare.
        .filter(|t| !matches!(t.as_str(), "BEGIN" | "COMMIT" | "ROLLBACK"))
        .collect()
}

fn counted(log: &Path) -> usize {
    logged(log).len()
}

/// Statements per run since `mark` (a [`counted`] before [`RUNS`] runs); the last run's
/// statements (the last `per run` of them) go to `listing` under `op`.
fn per_run(
    log: &Path,
    mark: usize,
    op: &'static str,
    listing: &mut Vec<(&'static str, Vec<String>)>,
) -> f64 {
    let all = logged(log);
    let n = all.len() - mark;
    let each = n / RUNS;
    listing.push((op, all[all.len() - each..].to_vec()));
    n as f64 / RUNS as f64
}

/// Starts a statement-logging server on `port` with `env` (the bench's), runs each operation as
/// the seeded RP, service client and users, and stops it.
pub async fn measure(
    binary: &Path,
    dir: &Path,
    env: &[(String, String)],
    port: u16,
    seeded: &crate::seed::Seeded,
) -> anyhow::Result<Statements> {
    let rp = &(seeded.rp_id.clone(), seeded.rp_secret.clone());
    let cc = &(seeded.cc_id.clone(), seeded.cc_secret.clone());
    let users = seeded.users.len();
    let log = dir.join("statements.log");
    let mut env = env.to_vec();
    env.retain(|(k, _)| k != "SEKISHO_LOG" && k != "SEKISHO_LOG_FORMAT");
    env.push(("SEKISHO_LOG".into(), "warn,sqlx::query=debug".into()));
    env.push(("SEKISHO_LOG_FORMAT".into(), "json".into()));
    let (srv, _) = crate::server::start_logging(binary, dir, &env, port, Some(&log)).await?;
    let base = srv.base.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let token = format!("{base}/VX5/token");

    // Warm the caches (clients, brands, keys) as a serving node has them.
    one_login(&http, &base, rp, 0, "openid email offline_access").await?;
    let scope = "openid email offline_access";
    let mut listing = Vec::new();
    let mark = counted(&log);
    let mut tokens = Vec::new();
    for i in 0..RUNS {
        tokens.push(one_login(&http, &base, rp, i % users, scope).await?);
    }
    let login = per_run(&log, mark, "login", &mut listing);
    let field = |name: &str| -> Vec<String> {
        tokens
            .iter()
            .map(|t| t[name].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let ok = |what: &str, res: reqwest::Response| -> anyhow::Result<()> {
        anyhow::ensure!(res.status().is_success(), "{what}: {}", res.status());
        Ok(())
    };

    let mark = counted(&log);
    for rt in field("refresh_token") {
        let res = http
            .post(&token)
            .basic_auth(&rp.0, Some(&rp.1))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
            .send()
            .await?;
        ok("refresh", res)?;
    }
    let refresh = per_run(&log, mark, "refresh", &mut listing);

    let mark = counted(&log);
    for _ in 0..RUNS {
        let res = http
            .post(&token)
            .basic_auth(&cc.0, Some(&cc.1))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await?;
        ok("client_credentials", res)?;
    }
    let client_credentials = per_run(&log, mark, "client_credentials", &mut listing);

    let access = field("access_token");
    let mark = counted(&log);
    for at in &access {
        let res = http
            .get(format!("{base}/VX5/userinfo"))
            .bearer_auth(at)
            .send()
            .await?;
        ok("userinfo", res)?;
    }
    let userinfo = per_run(&log, mark, "userinfo", &mut listing);

    let mark = counted(&log);
    for at in &access {
        let res = http
            .post(format!("{base}/VX5/introspect"))
            .basic_auth(&rp.0, Some(&rp.1))
            .form(&[("token", at.as_str())])
            .send()
            .await?;
        ok("introspection", res)?;
    }
    let introspection = per_run(&log, mark, "introspection", &mut listing);
    drop(srv);
    Ok(Statements {
        login,
        refresh,
        client_credentials,
        userinfo,
        introspection,
        listing,
    })
}
