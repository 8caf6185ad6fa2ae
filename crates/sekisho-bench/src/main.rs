//! `sekisho-bench`: the benchmark suite (run it with `scripts/bench`).
//!
//! Measures, in one run on this machine: the raw limits (ES256 signatures/s, argon2id hashes/s on
//! every core), the release server's endpoint rates under wrk, full password logins, memory idle
//! and under 200 concurrent logins, p99 of the token endpoint at half its peak rate, and the time
//! from process start to serving discovery, and the admin console's user list of a 5,000-user
//! contract (issue 16: a page in under 200 ms). Prints one table with the ratios and writes the
//! same to docs/PERFORMANCE.md. `--only console` runs the console's row alone (no report written);
//! `--only refresh` the refresh grant's rate alone, `--only dpop` the token rates unbound and with
//! DPoP proofs, `--only statements` lists each operation's
//! database statements. `BENCH_SERVER_LOG` sets the servers' log filter (default `warn`; for
//! example `warn,sekisho_store=trace` shows the size of each group of refresh rotations).

// A benchmark measures elapsed wall time throughout, and its server runs on the SystemClock.
#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures elapsed wall time; it is not Sekisho code"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark run, not a server: a failed step ends the run with its message"
)]

/// Every rate limit off (`SEKISHO_RATE_LIMITS`, an inline table).
const BENCH_RATE_LIMITS: &str = "{login_per_ip=\"off\", login_per_account=\"off\", \
    two_factor_per_ip=\"off\", two_factor_per_account=\"off\", forgot_password_per_ip=\"off\", \
    forgot_password_per_account=\"off\", token_per_ip=\"off\", token_per_account=\"off\", \
    registration_per_ip=\"off\", registration_per_account=\"off\", sms_per_ip=\"off\", \
    sms_per_account=\"off\", authorize_per_ip=\"off\"}";

mod console;
mod dpop;
mod load;
mod raw;
mod report;
mod seed;
mod server;
mod statements;
mod wrk;

use base64::Engine;
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Sekisho's benchmark suite")]
struct Args {
    /// Run against PostgreSQL (a test cluster started by sekisho-testkit) instead of SQLite.
    #[arg(long)]
    postgres: bool,
    /// Nodes serving the loads: more than one (PostgreSQL only) run behind nginx, round robin
    /// (issue 17).
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Seconds per measured load.
    #[arg(long, default_value_t = 8)]
    seconds: u32,
    /// Where to write the report (Markdown); empty to print only.
    #[arg(long, default_value = "docs/PERFORMANCE.md")]
    out: String,
    /// How the run was started, recorded in the report.
    #[arg(long, default_value = "scripts/bench")]
    command: String,
    /// Requests per page of the admin console's user list.
    #[arg(long, default_value_t = 200)]
    console_requests: usize,
    /// Run one row only, print it and write no report (`console`: the admin console's user
    /// list of 5,000 users). Works with a debug build too.
    #[arg(long, value_enum)]
    only: Option<Only>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Only {
    Console,
    /// The database statements of each operation, listed (one node, no load).
    Statements,
    /// The refresh grant's rate alone (wrk, 16 connections, 5 s), to compare changes quickly.
    Refresh,
    /// client_credentials and refresh, unbound then with DPoP proofs (5 s each), and the ratios.
    Dpop,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let secs = args.seconds;
    let root = sekisho_testkit::workspace_root();
    let dir = sekisho_testkit::target_dir()
        .join("bench-run")
        .join(format!("{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    anyhow::ensure!(args.nodes >= 1, "--nodes must be at least 1");
    anyhow::ensure!(
        args.nodes == 1 || args.postgres,
        "several nodes share one PostgreSQL: add --postgres"
    );
    let backend = match (args.postgres, args.nodes) {
        (false, _) => "SQLite".to_owned(),
        (true, 1) => "PostgreSQL".to_owned(),
        (true, n) => format!("PostgreSQL, {n} nodes behind nginx"),
    };
    let database_url = if args.postgres {
        sekisho_testkit::fresh_postgres_database()?
    } else {
        format!("sqlite://{}?mode=rwc", dir.join("bench.db").display())
    };
    let ports: Vec<u16> = (0..args.nodes)
        .map(|_| server::free_port())
        .collect::<anyhow::Result<_>>()?;
    let port = ports[0];
    // One node is served directly; several behind nginx (round robin, no sticky sessions).
    let balancer = if args.nodes > 1 {
        let addrs: Vec<std::net::SocketAddr> = ports
            .iter()
            .map(|p| std::net::SocketAddr::from(([127, 0, 0, 1], *p)))
            .collect();
        Some(sekisho_testkit::LoadBalancer::start(&addrs)?)
    } else {
        None
    };
    let base = match &balancer {
        Some(lb) => lb.url(),
        None => format!("http://127.0.0.1:{port}"),
    };
    // The stored secrets are sealed as in production (PostgreSQL has no default key).
    let kek = sekisho_crypto::kek::Kek::generate();
    let config = sekisho::config::Config {
        database_url: database_url.clone().into(),
        key_encryption_key: kek.clone().into(),
        public_url: base.clone(),
        ..Default::default()
    };

    let binary = std::env::current_exe()?.with_file_name("sekisho");
    anyhow::ensure!(
        binary.exists(),
        "{} is missing: build it with cargo build --release -p sekisho",
        binary.display()
    );
    let env: Vec<(String, String)> = vec![
        ("SEKISHO_DATABASE_URL".into(), database_url.clone()),
        ("SEKISHO_KEY_ENCRYPTION_KEY".into(), kek.clone()),
        ("SEKISHO_PUBLIC_URL".into(), base.clone()),
        (
            "SEKISHO_LOG".into(),
            std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
        ),
        (
            "SEKISHO_MAIL_OUTBOX_DIR".into(),
            dir.join("outbox").display().to_string(),
        ),
        // The load comes from one address; the rate limits (issue 15) would measure themselves.
        ("SEKISHO_RATE_LIMITS".into(), BENCH_RATE_LIMITS.into()),
        ("SEKISHO_MAIL_PER_ADDRESS_PER_HOUR".into(), "0".into()),
    ];

    if let Some(Only::Console) = args.only {
        eprintln!("==> seeding {} console users ({backend})", console::USERS);
        console::seed(&config, console::USERS).await?;
        eprintln!("==> starting the server ({})", binary.display());
        let (srv, _) = server::start(&binary, &dir, &env, port).await?;
        eprintln!("==> admin console user list");
        let result = console::measure(&base, console::USERS, args.console_requests).await?;
        drop(srv);
        let (rows, target) = report::console_rows(&result);
        println!("| measure | rate /s | p50 ms | p99 ms |\n|---|---:|---:|---:|\n{rows}");
        println!("| target | measured | verdict |\n|---|---:|---|\n{target}");
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }

    if let Some(Only::Refresh) = args.only {
        eprintln!("==> seeding 30,000 refresh tokens ({backend})");
        let tokens_file = dir.join("refresh_tokens.txt");
        let seeded = seed::seed(&config, 8, 30_000, &tokens_file).await?;
        let servers = server::start_all(&binary, &dir, &env, &ports).await?;
        let script = dir.join("refresh.lua");
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", seeded.rp_id, seeded.rp_secret));
        std::fs::write(&script, wrk::refresh_script(&basic))?;
        let refresh = wrk::run(
            &format!("{base}/VX5/token"),
            16,
            5,
            Some((&script, &[tokens_file.display().to_string(), "2".into()])),
        )?;
        println!(
            "refresh_token: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, non-2xx {} ({:.1}x Keycloak per vCPU)",
            refresh.rps,
            refresh.p50_ms,
            refresh.p99_ms,
            refresh.non_2xx,
            refresh.rps / cores as f64 / 120.0
        );
        drop(servers);
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }

    if let Some(Only::Dpop) = args.only {
        eprintln!("==> seeding 60,000 refresh tokens ({backend})");
        let tokens_file = dir.join("refresh_tokens.txt");
        let seeded = seed::seed(&config, 8, 60_000, &tokens_file).await?;
        let servers = server::start_all(&binary, &dir, &env, &ports).await?;
        let (unbound_tokens, dpop_tokens) = (dir.join("tokens_a.txt"), dir.join("tokens_b.txt"));
        dpop::split_tokens(&tokens_file, &unbound_tokens, &dpop_tokens)?;
        let b64 = |id: &str, secret: &str| {
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        };
        let (cc_basic, rp_basic) = (
            b64(&seeded.cc_id, &seeded.cc_secret),
            b64(&seeded.rp_id, &seeded.rp_secret),
        );
        let issuer = format!("{base}/VX5");
        let cc_lua = dir.join("cc.lua");
        std::fs::write(
            &cc_lua,
            wrk::post_script(&cc_basic, "grant_type=client_credentials"),
        )?;
        let cc = wrk::run(&format!("{issuer}/token"), 32, 5, Some((&cc_lua, &[])))?;
        let rt_lua = dir.join("refresh.lua");
        std::fs::write(&rt_lua, wrk::refresh_script(&rp_basic))?;
        let refresh = wrk::run(
            &format!("{issuer}/token"),
            16,
            5,
            Some((&rt_lua, &[unbound_tokens.display().to_string(), "2".into()])),
        )?;
        let (cc_dpop, refresh_dpop) = dpop::measure(
            &issuer,
            &dir,
            (&cc_basic, &rp_basic),
            cc.rps,
            5,
            (&dpop_tokens, 5),
        )?;
        for (name, unbound, bound) in [
            ("client_credentials", &cc, &cc_dpop),
            ("refresh_token", &refresh, &refresh_dpop),
        ] {
            println!(
                "{name}: {:.0}/s unbound, {:.0}/s DPoP ({:.0}%; p99 {:.2} → {:.2} ms; non-2xx {} and {})",
                unbound.rps,
                bound.rps,
                bound.rps / unbound.rps * 100.0,
                unbound.p99_ms,
                bound.p99_ms,
                unbound.non_2xx,
                bound.non_2xx
            );
        }
        drop(servers);
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }

    if let Some(Only::Statements) = args.only {
        eprintln!("==> seeding ({backend})");
        let seeded = seed::seed(&config, 8, 0, &dir.join("refresh_tokens.txt")).await?;
        let result = statements::measure(&binary, &dir, &env, port, &seeded).await?;
        for ((op, n), (_, listed)) in result.rows().iter().zip(&result.listing) {
            println!("\n{op}: {n:.1} statements; the last run's:");
            for statement in listed {
                println!("  {statement}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }

    eprintln!("==> raw limits on {cores} cores");
    let es256 = raw::es256_per_sec(cores, 3.0)?;
    let argon2 = raw::argon2_per_sec(
        cores,
        5.0,
        config.argon2_memory_kib,
        config.argon2_iterations,
        config.argon2_parallelism,
    )?;

    eprintln!("==> seeding ({backend})");
    let tokens_file = dir.join("refresh_tokens.txt");
    let refresh_count = 60_000;
    let users = 64;
    let seeded = seed::seed(&config, users, refresh_count, &tokens_file).await?;

    eprintln!("==> seeding {} console users", console::USERS);
    console::seed(&config, console::USERS).await?;
    let store = sekisho_store::Store::open(&database_url, 2).await?;
    let sizes_before = store.purged_table_sizes().await?;
    eprintln!("==> starting the release server ({} node(s))", args.nodes);
    let servers = server::start_all(&binary, &dir, &env, &ports).await?;
    let pid = servers[0].child.id();
    let (idle_rss, _) = server::rss_mib(pid)?;

    let b64 = |id: &str, secret: &str| {
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    };
    let scripts = dir.join("scripts");
    std::fs::create_dir_all(&scripts)?;
    let cc_lua = scripts.join("client_credentials.lua");
    std::fs::write(
        &cc_lua,
        wrk::post_script(
            &b64(&seeded.cc_id, &seeded.cc_secret),
            "grant_type=client_credentials",
        ),
    )?;
    let refresh_lua = scripts.join("refresh.lua");
    std::fs::write(
        &refresh_lua,
        wrk::refresh_script(&b64(&seeded.rp_id, &seeded.rp_secret)),
    )?;
    let issuer = format!("{base}/VX5");
    let (unbound_tokens, dpop_tokens) = (dir.join("tokens_a.txt"), dir.join("tokens_b.txt"));
    dpop::split_tokens(&tokens_file, &unbound_tokens, &dpop_tokens)?;

    eprintln!("==> wrk: discovery, JWKS, client_credentials, refresh_token");
    let discovery = wrk::run(
        &format!("{issuer}/.well-known/openid-configuration"),
        32,
        secs,
        None,
    )?;
    let jwks = wrk::run(&format!("{issuer}/jwks"), 32, secs, None)?;
    let cc = wrk::run(&format!("{issuer}/token"), 32, secs, Some((&cc_lua, &[])))?;
    let refresh_secs = secs.min(5);
    let refresh = wrk::run(
        &format!("{issuer}/token"),
        16,
        refresh_secs,
        Some((
            &refresh_lua,
            &[unbound_tokens.display().to_string(), "2".into()],
        )),
    )?;
    eprintln!("==> wrk: the same with DPoP proofs");
    let (cc_dpop, refresh_dpop) = dpop::measure(
        &issuer,
        &dir,
        (
            &b64(&seeded.cc_id, &seeded.cc_secret),
            &b64(&seeded.rp_id, &seeded.rp_secret),
        ),
        cc.rps,
        secs,
        (&dpop_tokens, refresh_secs),
    )?;

    eprintln!("==> fixed rate at half the client_credentials peak");
    let half = load::fixed_rate_token(
        &base,
        (seeded.cc_id.clone(), seeded.cc_secret.clone()),
        cc.rps / 2.0,
        4.0,
    )
    .await;

    eprintln!("==> full password logins");
    let rp = (seeded.rp_id.clone(), seeded.rp_secret.clone());
    let logins = load::logins(&base, rp.clone(), seeded.users.len(), 8, secs as f64).await;

    eprintln!("==> admin console user list ({} users)", console::USERS);
    let console_list = console::measure(&base, console::USERS, args.console_requests).await?;

    eprintln!("==> 200 concurrent logins (memory)");
    let sampler = tokio::spawn(async move {
        let mut peak: f64 = 0.0;
        for _ in 0..400 {
            if let Ok((rss, _)) = server::rss_mib(pid) {
                peak = peak.max(rss);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peak
    });
    let storm = load::logins(&base, rp, seeded.users.len(), 200, 6.0).await;
    let storm_rss = sampler
        .await
        .unwrap_or(0.0)
        .max(server::rss_mib(pid).map(|(_, hwm)| hwm).unwrap_or(0.0));
    drop(servers);
    let sizes_after = store.purged_table_sizes().await?;
    // What the housekeeping leaves once every kept row's window has passed (the longest is 30
    // days): the purge dated 32 days on, run here on the bench's own database.
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64
        + 32 * 86_400;
    store.purge_expired(later).await?;
    let sizes_purged = store.purged_table_sizes().await?;
    let table_sizes: Vec<(String, i64, i64, i64)> = sizes_before
        .iter()
        .zip(&sizes_after)
        .zip(&sizes_purged)
        .map(|(((t, a), (_, b)), (_, c))| ((*t).to_owned(), *a, *b, *c))
        .collect();
    store.close().await;

    eprintln!("==> statements per operation");
    let statements = statements::measure(&binary, &dir, &env, port, &seeded).await?;

    eprintln!("==> start-up with a migrated database (3 starts)");
    let mut starts = Vec::new();
    for _ in 0..3 {
        let (srv, took) = server::start(&binary, &dir, &env, port).await?;
        starts.push(took.as_secs_f64() * 1000.0);
        drop(srv);
    }
    starts.sort_by(|a, b| a.total_cmp(b));

    let r = report::Report {
        backend: backend.clone(),
        cores,
        es256,
        argon2,
        discovery,
        jwks,
        cc,
        refresh,
        cc_dpop,
        refresh_dpop,
        refresh_count,
        refresh_secs,
        half,
        logins,
        storm,
        idle_rss,
        storm_rss,
        startup_ms: starts[1],
        console: console_list,
        command: args.command.clone(),
        nodes: args.nodes,
        statements,
        table_sizes,
    };
    let text = r.markdown();
    println!("{text}");
    if !args.out.is_empty() {
        let path = root.join(&args.out);
        report::write_section(&path, &backend, &text)?;
        eprintln!("==> written to {}", PathBuf::from(&args.out).display());
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
