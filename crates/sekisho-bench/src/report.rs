//! The table, the ratios against the same run's raw limits and the targets, and the
//! Markdown written to docs/PERFORMANCE.md (one section per database backend).

use crate::console::{ConsoleResult, TARGET_MS};
use crate::load::LoadResult;
use crate::statements::Statements;
use crate::wrk::WrkResult;
use std::fmt::Write;
use std::path::Path;

/// Keycloak 26 sizing guide, per vCPU: the published figures to beat.
const KC_PASSWORD_LOGINS: f64 = 15.0;
const KC_CLIENT_CREDENTIALS: f64 = 120.0;
const KC_REFRESH: f64 = 120.0;

pub struct Report {
    pub backend: String,
    pub cores: usize,
    pub es256: f64,
    pub argon2: f64,
    pub discovery: WrkResult,
    pub jwks: WrkResult,
    pub cc: WrkResult,
    pub refresh: WrkResult,
    /// The same loads with a DPoP proof per request (issue 18).
    pub cc_dpop: WrkResult,
    pub refresh_dpop: WrkResult,
    pub refresh_count: usize,
    pub refresh_secs: u32,
    pub half: LoadResult,
    pub logins: LoadResult,
    pub storm: LoadResult,
    pub idle_rss: f64,
    pub storm_rss: f64,
    pub startup_ms: f64,
    pub console: ConsoleResult,
    pub command: String,
    /// Nodes that served the loads (behind nginx when more than one).
    pub nodes: usize,
    pub statements: Statements,
    /// (table, rows before the loads, after them, after a purge dated 32 days on).
    pub table_sizes: Vec<(String, i64, i64, i64)>,
}

/// `n` with thousands separators, as the console writes counts.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The console's rows: each page measured, then the target (issue 16).
pub fn console_rows(c: &ConsoleResult) -> (String, String) {
    let mut rows = String::new();
    for (name, t) in [
        ("first page", &c.first),
        ("a middle page", &c.middle),
        ("a search (鈴木)", &c.search),
    ] {
        let _ = writeln!(
            rows,
            "| admin console user list, {} users in one contract: {name}, {} sequential requests (max {:.1} ms) | | {:.1} | {:.1} |",
            grouped(c.users as i64),
            c.requests,
            t.max_ms,
            t.p50_ms,
            t.p99_ms
        );
    }
    let target = format!(
        "| admin console user list ({} users): a page (first, middle, search) < {TARGET_MS:.0} ms, p99 | {:.1} ms | {} |\n",
        grouped(c.users as i64),
        c.worst_p99(),
        verdict(c.worst_p99() < TARGET_MS)
    );
    (rows, target)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kib| format!("{:.0} GiB", kib / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!(
        "{cpu}, {} cores, {mem}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    )
}

pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

impl Report {
    pub fn markdown(&self) -> String {
        let c = self.cores as f64;
        let mut s = String::new();
        let _ = writeln!(s, "### {} ({})\n", self.backend, machine());
        let _ = writeln!(s, "Command: `{}`. Load generator (wrk, and the bench tool for logins) on the same machine{}.\n", self.command, if self.nodes > 1 { format!(", as are the {} nodes and nginx in front of them (round robin, keep-alive to the nodes); memory and start-up are one node's", self.nodes) } else { String::new() });
        let _ = writeln!(
            s,
            "| measure | rate /s | p50 ms | p99 ms |\n|---|---:|---:|---:|"
        );
        let _ = writeln!(
            s,
            "| raw ES256 JWT signatures, {} cores | {:.0} | | |",
            self.cores, self.es256
        );
        let _ = writeln!(
            s,
            "| raw argon2id hashes (m=19456 KiB, t=2, p=1), {} cores | {:.1} | | |",
            self.cores, self.argon2
        );
        for (name, w) in [
            ("discovery", &self.discovery),
            ("JWKS", &self.jwks),
            ("token: client_credentials", &self.cc),
        ] {
            let _ = writeln!(
                s,
                "| {name} | {:.0} | {:.2} | {:.2} |",
                w.rps, w.p50_ms, w.p99_ms
            );
        }
        let _ = writeln!(
            s,
            "| token: refresh_token (rotation, group commit) | {:.0} | {:.2} | {:.2} |",
            self.refresh.rps, self.refresh.p50_ms, self.refresh.p99_ms
        );
        for (name, w, unbound) in [
            (
                "token: client_credentials, DPoP-bound",
                &self.cc_dpop,
                &self.cc,
            ),
            (
                "token: refresh_token, DPoP proof",
                &self.refresh_dpop,
                &self.refresh,
            ),
        ] {
            let _ = writeln!(
                s,
                "| {name} ({:.0}% of the unbound rate) | {:.0} | {:.2} | {:.2} |",
                w.rps / unbound.rps * 100.0,
                w.rps,
                w.p50_ms,
                w.p99_ms
            );
        }
        let _ = writeln!(s, "| token: client_credentials at half the peak rate ({:.0}/s, open loop) | {:.0} | {:.2} | {:.2} |", self.cc.rps / 2.0, self.half.rate, self.half.p50_ms, self.half.p99_ms);
        let _ = writeln!(s, "| full password login (authorize → page → POST → code → token), 8 browsers | {:.1} | {:.1} | {:.1} |", self.logins.rate, self.logins.p50_ms, self.logins.p99_ms);
        let _ = writeln!(
            s,
            "| full password login, 200 concurrent browsers | {:.1} | {:.1} | {:.1} |",
            self.storm.rate, self.storm.p50_ms, self.storm.p99_ms
        );
        let (console_rows, console_target) = console_rows(&self.console);
        s.push_str(&console_rows);
        let failures = self.logins.failures + self.storm.failures + self.half.failures;
        let _ = writeln!(s, "\n| other | value |\n|---|---:|");
        let _ = writeln!(s, "| resident memory, idle | {:.1} MiB |", self.idle_rss);
        let _ = writeln!(
            s,
            "| resident memory, peak during 200 concurrent logins | {:.1} MiB |",
            self.storm_rss
        );
        let _ = writeln!(
            s,
            "| process start → discovery served (migrated database, median of 3) | {:.0} ms |",
            self.startup_ms
        );
        let _ = writeln!(
            s,
            "| failed requests (logins, fixed-rate run); refresh non-2xx; DPoP client_credentials and refresh non-2xx | {failures}; {}; {} and {} |",
            self.refresh.non_2xx, self.cc_dpop.non_2xx, self.refresh_dpop.non_2xx
        );

        let _ = writeln!(
            s,
            "\n| database statements per operation (one node, each run {} times alone) | statements | rate /s |\n|---|---:|---:|",
            crate::statements::RUNS
        );
        for (op, n) in self.statements.rows() {
            let rate = match op {
                o if o.starts_with("full password login") => format!("{:.1}", self.logins.rate),
                o if o.starts_with("refresh_token") => format!("{:.0}", self.refresh.rps),
                "client_credentials" => format!("{:.0}", self.cc.rps),
                _ => "—".into(),
            };
            let _ = writeln!(s, "| {op} | {n:.1} | {rate} |");
        }
        let _ = writeln!(
            s,
            "\n| rows the purge looks after | before the loads | after them | after a purge dated 32 days on |\n|---|---:|---:|---:|"
        );
        for (table, before, after, purged) in &self.table_sizes {
            let _ = writeln!(
                s,
                "| `{table}` | {} | {} | {} |",
                grouped(*before),
                grouped(*after),
                grouped(*purged)
            );
        }

        let cc_ratio = self.cc.rps / self.es256;
        let cc_kc = self.cc.rps / c / KC_CLIENT_CREDENTIALS;
        let rt_kc = self.refresh.rps / c / KC_REFRESH;
        let login_ratio = self.logins.rate / self.argon2;
        let login_kc = self.logins.rate / c / KC_PASSWORD_LOGINS;
        let _ = writeln!(s, "\n| target | measured | verdict |\n|---|---:|---|");
        // Issue 18: DPoP costs under 20% of throughput.
        for (name, w, unbound) in [
            ("client_credentials", &self.cc_dpop, &self.cc),
            ("refresh_token", &self.refresh_dpop, &self.refresh),
        ] {
            let kept = w.rps / unbound.rps;
            let _ = writeln!(
                s,
                "| DPoP-bound {name} ≥ 80% of the unbound rate | {:.0}% | {} |",
                kept * 100.0,
                verdict(kept >= 0.8)
            );
        }
        let _ = writeln!(
            s,
            "| client_credentials ≥ 10% of raw ES256 | {:.1}% | {} |",
            cc_ratio * 100.0,
            verdict(cc_ratio >= 0.10)
        );
        let _ = writeln!(
            s,
            "| client_credentials ≥ 20× Keycloak per vCPU (120/s) | {cc_kc:.1}× | {} |",
            verdict(cc_kc >= 20.0)
        );
        // Issue 17: 25× on SQLite, 15× on PostgreSQL (the network round trips of a server).
        let rt_target = if self.backend.starts_with("SQLite") {
            25.0
        } else {
            15.0
        };
        let _ = writeln!(
            s,
            "| refresh_token ≥ {rt_target:.0}× Keycloak per vCPU (120/s) | {rt_kc:.1}× | {} |",
            verdict(rt_kc >= rt_target)
        );
        let _ = writeln!(
            s,
            "| password logins ≥ 70% of raw argon2id | {:.1}% | {} |",
            login_ratio * 100.0,
            verdict(login_ratio >= 0.70)
        );
        let _ = writeln!(
            s,
            // Not a target of its own: the issue derives "above 4× Keycloak" from the 70% target
            // at its reference argon2id speed (~12 ms a hash); it follows this machine's speed.
            "| password logins vs Keycloak per vCPU (15/s, weaker hash); this machine hashes in {:.0} ms per core | {login_kc:.1}× | information |",
            1000.0 * c / self.argon2
        );
        let _ = writeln!(
            s,
            "| token p99 at half peak < 5 ms | {:.2} ms | {} |",
            self.half.p99_ms,
            verdict(self.half.p99_ms < 5.0)
        );
        let _ = writeln!(
            s,
            "| memory idle < 40 MB | {:.1} MiB | {} |",
            self.idle_rss,
            verdict(self.idle_rss < 40.0)
        );
        let _ = writeln!(
            s,
            "| memory during 200 concurrent logins < 150 MB | {:.1} MiB | {} |",
            self.storm_rss,
            verdict(self.storm_rss < 150.0)
        );
        let _ = writeln!(
            s,
            "| start → discovery < 150 ms | {:.0} ms | {} |",
            self.startup_ms,
            verdict(self.startup_ms < 150.0)
        );
        s.push_str(&console_target);
        let _ = writeln!(
            s,
            "\n({} refresh tokens seeded for {} s of refresh load; each request spends its own.)",
            self.refresh_count, self.refresh_secs
        );
        s
    }
}

/// Replaces this backend's section of the report file (keeping the other backend's), creating the
/// file with its header when missing.
pub fn write_section(path: &Path, backend: &str, section: &str) -> anyhow::Result<()> {
    let header = "# Performance\n\nMeasured by `scripts/bench` (SQLite), `scripts/bench --postgres` and `scripts/bench --postgres\n--nodes 2` (two servers behind nginx), which build the release binaries, start the server on loopback, measure the raw limits of the machine in the same run,\nthen load the server. Ratios compare the server with those raw limits and with Keycloak 26's\npublished per-vCPU sizing figures. Each run rewrites its own section below.\n\nThe targets are the issue's, set for SQLite on this 2-core machine; PostgreSQL's figures are\nrecorded beside them. The machine is a shared VM whose raw rates vary between runs by up to a\nthird, so every figure is read as a ratio to the raw limits measured in the same run.\n\n";
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let mut sections: Vec<String> = old
        .split("\n### ")
        .skip(1)
        .map(|s| format!("### {}", s.trim_end()))
        .collect();
    sections.retain(|s| !s.starts_with(&format!("### {backend} ")));
    sections.push(section.trim_end().to_owned());
    sections.sort();
    let mut out = String::from(header);
    for s in sections {
        out.push('\n');
        out.push_str(&s);
        out.push('\n');
    }
    std::fs::write(path, out)?;
    Ok(())
}
