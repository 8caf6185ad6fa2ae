//! A real PostgreSQL server for tests, started once and reused.
//!
//! The cluster lives in `{target}/test-postgres/`:
//!
//! ```text
//! data/        the cluster (initdb), owned by `postgres` when the tests run as root
//! port         the TCP port the running server listens on (127.0.0.1 only)
//! log          the server log (look here when start-up fails)
//! start.lock   present while one process starts or stops the server
//! ```
//!
//! Starting a cluster costs seconds (initdb) and each test only needs an empty database, so the
//! server is left running after the tests and the next run reuses it; `scripts/test` starts it
//! before the tests and stops it afterwards (`test-postgres start|stop`).
//!
//! The server trusts every loopback connection and runs with `fsync` off: it holds nothing but
//! throwaway test data, and it must never be exposed beyond 127.0.0.1.

use std::ffi::OsStr;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context};

use crate::lock::FileLock;
use crate::{target_dir, unique_name, POSTGRES_URL_ENV};

/// The cluster's superuser, and the OS user the server runs as when the tests run as root
/// (PostgreSQL refuses to run as root).
const PG_USER: &str = "postgres";

/// Attempts at starting the server; each picks a new port, as the one picked may be taken by
/// another process between choosing it and the server binding it.
const START_ATTEMPTS: usize = 3;

/// Tests open connection pools in parallel; PostgreSQL's default of 100 connections is easy to
/// exhaust with a few concurrent pools, so allow more.
const MAX_CONNECTIONS: u32 = 300;

/// The URL found by the first call in this process, so that later tests skip the status check.
static CACHED_BASE_URL: Mutex<Option<String>> = Mutex::new(None);

/// Base URL (no database name) of a running PostgreSQL for tests, like
/// `postgres://postgres@127.0.0.1:PORT`.
///
/// Returns `SEKISHO_TEST_POSTGRES_URL` when set (an external server, or the one `scripts/test`
/// started). Otherwise starts the cluster under `{target}/test-postgres/`, or reuses it when it is
/// already running. Safe to call from many tests and processes at once.
pub fn postgres_base_url() -> anyhow::Result<String> {
    if let Some(url) = env_url() {
        return Ok(url);
    }
    let mut cached = CACHED_BASE_URL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(url) = cached.as_ref() {
        return Ok(url.clone());
    }
    let url = Cluster::locate().ensure_running()?;
    *cached = Some(url.clone());
    Ok(url)
}

/// Creates a new, empty, uniquely named database on the test server and returns its full URL
/// (`{base}/sekisho_test_<pid>_<n>_<nanos>`).
///
/// Every test gets its own database so tests can run in parallel without seeing each other's
/// rows. The databases are kept after the test, to look at when it failed, until the next run's
/// `test-postgres start` ([`start_test_postgres_for_a_run`]) drops them.
pub fn fresh_postgres_database() -> anyhow::Result<String> {
    let base = postgres_base_url()?;
    let name = unique_name("sekisho_test");
    psql(
        &database_url(&base, "postgres"),
        &format!("CREATE DATABASE \"{name}\""),
    )
    .with_context(|| format!("creating test database {name}"))?;
    Ok(database_url(&base, &name))
}

/// Starts (or reuses) the cluster under `{target}/test-postgres/` for a whole test run, drops the
/// databases earlier runs left in it, and returns its base URL.
///
/// Ignores `SEKISHO_TEST_POSTGRES_URL`, like [`stop_test_postgres`]: it only ever empties the
/// cluster this crate owns. A test's database is kept after the test (to look at when it failed)
/// until the next run starts; each is a copy of `template1` (~7.5 MB), so without this the
/// cluster would grow by gigabytes a run.
pub fn start_test_postgres_for_a_run() -> anyhow::Result<String> {
    let base = Cluster::locate().ensure_running()?;
    let admin = database_url(&base, "postgres");
    let listed = psql_query(
        &admin,
        "SELECT datname FROM pg_database WHERE datname LIKE 'sekisho\\_test\\_%'",
    )?;
    let drops: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .collect();
    for batch in drops.chunks(200) {
        psql_statements(&admin, batch).context("dropping earlier runs' test databases")?;
    }
    Ok(base)
}

/// Stops the reused cluster under `{target}/test-postgres/` if it is running (`pg_ctl -m fast`).
///
/// Ignores `SEKISHO_TEST_POSTGRES_URL`: it only ever stops the cluster this crate started.
pub fn stop_test_postgres() -> anyhow::Result<()> {
    *CACHED_BASE_URL.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let cluster = Cluster::locate();
    if !cluster.is_initialised() {
        return Ok(());
    }
    let tools = Tools::find()?;
    // Taken so that a stop never interleaves with another process's start.
    let _lock = FileLock::acquire(&cluster.lock_file())?;
    if !cluster.status_running(&tools)? {
        return Ok(());
    }
    cluster.pg_ctl_stop(&tools, "fast")?;
    Ok(())
}

/// A PostgreSQL server one test owns: its own cluster under `{target}/test-postgres-private/`,
/// on its own port, which the test may stop and start again (a database outage). The shared
/// server of [`postgres_base_url`] must never be stopped while other tests use it.
///
/// Starting one costs an `initdb` (seconds). Dropping it stops the server and removes its folder.
pub struct PrivatePostgres {
    cluster: Cluster,
    tools: Tools,
    port: u16,
}

impl PrivatePostgres {
    /// Creates and starts a new cluster.
    pub fn start() -> anyhow::Result<Self> {
        let dir = target_dir()
            .join("test-postgres-private")
            .join(unique_name("pg"));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let cluster = Cluster { dir };
        let tools = Tools::find()?;
        if tools.as_root {
            cluster.hand_to_postgres_user()?;
        }
        cluster.initdb(&tools)?;
        let port = free_loopback_port()?;
        let pg = Self {
            cluster,
            tools,
            port,
        };
        pg.start_again()?;
        Ok(pg)
    }

    /// `postgres://postgres@127.0.0.1:PORT` (no database).
    pub fn base_url(&self) -> String {
        base_url(self.port)
    }

    /// Creates a database and returns its URL.
    pub fn create_database(&self, name: &str) -> anyhow::Result<String> {
        let base = self.base_url();
        psql(
            &database_url(&base, "postgres"),
            &format!("CREATE DATABASE \"{name}\""),
        )?;
        Ok(database_url(&base, name))
    }

    /// Stops the server (`pg_ctl -m fast`: open connections are cut), as an outage would.
    pub fn stop(&self) -> anyhow::Result<()> {
        self.cluster.pg_ctl_stop(&self.tools, "fast")?;
        Ok(())
    }

    /// Starts the stopped server again, on the same port, with its data.
    pub fn start_again(&self) -> anyhow::Result<()> {
        self.cluster
            .pg_ctl_start(&self.tools, self.port)
            .map(|_| ())
            .with_context(|| {
                format!(
                    "--- last lines of {} ---\n{}",
                    self.cluster.log_file().display(),
                    log_tail(&self.cluster.log_file(), 20)
                )
            })
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.cluster.status_running(&self.tools).unwrap_or(false) {
            let _ = self.cluster.pg_ctl_stop(&self.tools, "immediate");
        }
        let _ = fs::remove_dir_all(&self.cluster.dir);
    }
}

fn env_url() -> Option<String> {
    std::env::var(POSTGRES_URL_ENV)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn base_url(port: u16) -> String {
    format!("postgres://{PG_USER}@127.0.0.1:{port}")
}

/// `base` with its database name (path) replaced by `database`, keeping any `?query`.
fn database_url(base: &str, database: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (base, None),
    };
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let authority_end = head[authority_start..]
        .find('/')
        .map_or(head.len(), |i| authority_start + i);
    let mut url = format!("{}/{database}", &head[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// Runs one SQL statement with the `psql` client, failing on any SQL error.
fn psql(url: &str, sql: &str) -> anyhow::Result<Output> {
    psql_statements(url, &[sql])
}

/// Runs one query and returns its rows unaligned, one per line, without headers.
fn psql_query(url: &str, sql: &str) -> anyhow::Result<Output> {
    psql_run(url, &["-A", "-t"], &[sql])
}

/// Runs statements one after another, each in its own transaction (`DROP DATABASE` cannot run
/// inside one), failing on the first SQL error.
fn psql_statements(url: &str, statements: &[impl AsRef<str>]) -> anyhow::Result<Output> {
    psql_run(url, &[], statements)
}

fn psql_run(url: &str, flags: &[&str], statements: &[impl AsRef<str>]) -> anyhow::Result<Output> {
    let psql = Tools::find_bin_dir()
        .map(|bin| bin.join("psql"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("psql"));
    let mut cmd = Command::new(&psql);
    // -X: ignore the caller's ~/.psqlrc, which could change output or behaviour.
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .args(flags)
        .arg(url)
        .env("PGCONNECT_TIMEOUT", "10");
    for statement in statements {
        cmd.arg("-c").arg(statement.as_ref());
    }
    run(cmd, "psql").map_err(|e| {
        if psql == Path::new("psql") {
            e.context("is the PostgreSQL client installed? (Debian package `postgresql-client`)")
        } else {
            e
        }
    })
}

/// Where the PostgreSQL programs are and how to run them.
#[derive(Debug)]
struct Tools {
    bin: PathBuf,
    /// Run the server programs as the `postgres` user through `runuser`.
    as_root: bool,
}

impl Tools {
    fn find() -> anyhow::Result<Self> {
        let bin = Self::find_bin_dir().ok_or_else(|| {
            anyhow!(
                "PostgreSQL server programs (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin \
                 nor in `pg_config --bindir`: install the Debian package `postgresql` \
                 (or set {POSTGRES_URL_ENV} to a running server)"
            )
        })?;
        Ok(Self {
            bin,
            as_root: running_as_root(),
        })
    }

    /// The highest versioned `/usr/lib/postgresql/<version>/bin` (Debian's layout, which keeps
    /// the server programs off `PATH`), else `pg_config --bindir`; only folders holding `initdb`.
    fn find_bin_dir() -> Option<PathBuf> {
        let has_initdb = |dir: &Path| dir.join("initdb").is_file();
        let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let version = name
                    .split('.')
                    .map(|part| part.parse::<u32>().ok())
                    .collect::<Option<Vec<u32>>>()?;
                Some((version, entry.path().join("bin")))
            })
            .filter(|(_, bin)| has_initdb(bin))
            .collect();
        versions.sort();
        if let Some((_, bin)) = versions.pop() {
            return Some(bin);
        }
        let out = Command::new("pg_config").arg("--bindir").output().ok()?;
        let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        (out.status.success() && has_initdb(&bin)).then_some(bin)
    }

    /// A command for one of the server programs, run as `postgres` when we are root, from `cwd`
    /// (a folder `postgres` can enter; the caller's working folder may not be one).
    fn command(&self, program: &str, cwd: &Path) -> Command {
        let program = self.bin.join(program);
        let mut cmd = if self.as_root {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", PG_USER, "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        // The C locale always exists; an unset or ungenerated locale makes initdb fail.
        cmd.current_dir(cwd).env("LC_ALL", "C").env_remove("PGDATA");
        cmd
    }
}

/// Whether this process runs as root, asked of `id -u` (std has no safe `geteuid`).
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The test cluster's folder and the files in it.
#[derive(Debug)]
struct Cluster {
    dir: PathBuf,
}

impl Cluster {
    fn locate() -> Self {
        Self {
            dir: target_dir().join("test-postgres"),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn port_file(&self) -> PathBuf {
        self.dir.join("port")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("log")
    }

    fn lock_file(&self) -> PathBuf {
        self.dir.join("start.lock")
    }

    /// `PG_VERSION` is written last by initdb; without it the data folder is absent or half made.
    fn is_initialised(&self) -> bool {
        self.data().join("PG_VERSION").is_file()
    }

    fn ensure_running(&self) -> anyhow::Result<String> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let tools = Tools::find()?;
        // Fast path, without the lock: a previous run (or another test process) started it.
        if let Some(port) = self.ready_port(&tools)? {
            return Ok(base_url(port));
        }
        let _lock = FileLock::acquire(&self.lock_file())?;
        // Another process may have started it while we waited for the lock.
        if let Some(port) = self.ready_port(&tools)? {
            return Ok(base_url(port));
        }
        self.start(&tools)
    }

    /// `pg_ctl status` says a server runs on the data folder.
    fn status_running(&self, tools: &Tools) -> anyhow::Result<bool> {
        if !self.is_initialised() {
            return Ok(false);
        }
        let mut status = tools.command("pg_ctl", &self.dir);
        status.arg("-D").arg(self.data()).arg("status");
        let out = status
            .output()
            .context("running pg_ctl status (is `runuser` available?)")?;
        // 0: running; 3: not running; 4: no usable data folder.
        Ok(out.status.success())
    }

    /// The port of the running server, if it runs and accepts connections.
    ///
    /// `pg_ctl status` reports a server as running as soon as its `postmaster.pid` exists, while
    /// it may still be starting (another process holding the lock is inside `pg_ctl start -w`);
    /// the status line of `postmaster.pid` says `ready` only once it accepts connections, which
    /// is what `pg_ctl -w` itself waits for. Its port line also repairs a lost `port` file.
    fn ready_port(&self, tools: &Tools) -> anyhow::Result<Option<u16>> {
        if !self.status_running(tools)? {
            return Ok(None);
        }
        let Ok(pid_file) = fs::read_to_string(self.data().join("postmaster.pid")) else {
            return Ok(None);
        };
        let lines: Vec<&str> = pid_file.lines().collect();
        if lines.get(7).map(|s| s.trim()) != Some("ready") {
            return Ok(None);
        }
        let running_port = lines.get(3).and_then(|s| s.trim().parse::<u16>().ok());
        let recorded_port = fs::read_to_string(self.port_file())
            .ok()
            .and_then(|s| s.trim().parse::<u16>().ok());
        Ok(match (recorded_port, running_port) {
            (Some(recorded), Some(running)) if recorded == running => Some(running),
            (_, Some(running)) => {
                self.write_port(running)?;
                Some(running)
            }
            (recorded, None) => recorded,
        })
    }

    fn write_port(&self, port: u16) -> anyhow::Result<()> {
        fs::write(self.port_file(), format!("{port}\n"))
            .with_context(|| format!("writing {}", self.port_file().display()))
    }

    /// Called with the lock held and the server not running: initdb if needed, then start.
    fn start(&self, tools: &Tools) -> anyhow::Result<String> {
        if tools.as_root {
            self.hand_to_postgres_user()?;
        }
        if !self.is_initialised() {
            self.initdb(tools)?;
        }
        let mut errors = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_loopback_port()?;
            self.write_port(port)?;
            match self.pg_ctl_start(tools, port) {
                Ok(_) => return Ok(base_url(port)),
                Err(e) => errors.push(format!("port {port}: {e:#}")),
            }
        }
        bail!(
            "could not start the test PostgreSQL in {}:\n{}\n--- last lines of {} ---\n{}",
            self.dir.display(),
            errors.join("\n"),
            self.log_file().display(),
            log_tail(&self.log_file(), 20)
        )
    }

    /// `pg_ctl start` on `port`, waiting until the server accepts connections.
    fn pg_ctl_start(&self, tools: &Tools, port: u16) -> anyhow::Result<Output> {
        let mut start = tools.command("pg_ctl", &self.dir);
        let options = format!(
            "-k {} -h 127.0.0.1 -p {port} -F -N {MAX_CONNECTIONS}",
            shell_quote(&self.socket_dir())
        );
        start
            .arg("-D")
            .arg(self.data())
            .arg("-o")
            .arg(options)
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-t", "60", "start"]);
        run(start, "pg_ctl start")
    }

    /// `pg_ctl stop` in `mode` (`fast`: disconnects clients and shuts down cleanly).
    fn pg_ctl_stop(&self, tools: &Tools, mode: &str) -> anyhow::Result<Output> {
        let mut stop = tools.command("pg_ctl", &self.dir);
        stop.arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "-t", "60", "stop"]);
        run(stop, "pg_ctl stop")
    }

    /// PostgreSQL refuses to run as root, so as root the cluster belongs to `postgres`.
    fn hand_to_postgres_user(&self) -> anyhow::Result<()> {
        let mut chown = Command::new("chown");
        chown.arg("-R").arg(format!("{PG_USER}:")).arg(&self.dir);
        run(chown, "chown").with_context(|| {
            format!("is there a `{PG_USER}` user? (the Debian package `postgresql` creates it)")
        })?;
        // `postgres` must also be able to walk every parent folder down to the cluster.
        let mut probe = Command::new("runuser");
        probe
            .args(["-u", PG_USER, "--", "test", "-w"])
            .arg(&self.dir)
            .current_dir("/");
        let ok = probe.status().map(|s| s.success()).unwrap_or(false);
        if !ok {
            bail!(
                "the `{PG_USER}` user cannot write to {} (a parent folder is not enterable by \
                 other users?): set CARGO_TARGET_DIR elsewhere, or {POSTGRES_URL_ENV} to a running server",
                self.dir.display()
            );
        }
        Ok(())
    }

    fn initdb(&self, tools: &Tools) -> anyhow::Result<()> {
        let data = self.data();
        if data.exists() {
            // A previous initdb died half way; initdb refuses a non-empty folder.
            fs::remove_dir_all(&data)
                .with_context(|| format!("removing half-made {}", data.display()))?;
        }
        let mut initdb = tools.command("initdb", &self.dir);
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", PG_USER])
            .args(["--encoding=UTF8", "--locale=C"])
            // Throwaway cluster: skip the fsyncs, which take most of initdb's time.
            .arg("--no-sync");
        run(initdb, "initdb")?;
        Ok(())
    }

    /// The server's Unix socket folder: the cluster folder, unless that path is too long for a
    /// socket address (about 107 bytes including `/.s.PGSQL.<port>`); then `/tmp`. Tests connect
    /// over TCP anyway; a private folder only keeps the socket out of other servers' way.
    fn socket_dir(&self) -> PathBuf {
        if self.dir.as_os_str().len() + "/.s.PGSQL.65535".len() < 100 {
            self.dir.clone()
        } else {
            PathBuf::from("/tmp")
        }
    }
}

/// A port the kernel says is free now; a small race remains until the server binds it, which
/// the start-up retry covers.
fn free_loopback_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// `pg_ctl -o` passes its options through `/bin/sh`: quote the path for it.
fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', r"'\''"))
}

fn log_tail(path: &Path, lines: usize) -> String {
    match fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read: {e})"),
    }
}

/// Runs `cmd` to completion (stdin closed), failing with its output unless it succeeds.
fn run(mut cmd: Command, what: &str) -> anyhow::Result<Output> {
    let shown = describe(&cmd);
    let out = cmd
        .output()
        .with_context(|| format!("{what}: cannot run {shown}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {shown}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end(),
            String::from_utf8_lossy(&out.stdout).trim_end()
        );
    }
    Ok(out)
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_replaces_only_the_path() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432", "db1"),
            "postgres://postgres@127.0.0.1:5432/db1"
        );
        assert_eq!(
            database_url("postgres://u:p@h:1/old?sslmode=disable", "db2"),
            "postgres://u:p@h:1/db2?sslmode=disable"
        );
        assert_eq!(database_url("postgres://h/", "db3"), "postgres://h/db3");
    }

    #[test]
    fn shell_quote_survives_quotes() {
        assert_eq!(shell_quote(Path::new("/a b/c'd")), r"'/a b/c'\''d'");
    }

    /// Starts (or reuses) the real server: two fresh databases must be distinct and usable.
    #[test]
    fn fresh_databases_are_distinct_and_usable() {
        let base = postgres_base_url().expect("test PostgreSQL");
        assert!(base.starts_with("postgres://"), "{base}");
        let first = fresh_postgres_database().expect("first database");
        let second = fresh_postgres_database().expect("second database");
        assert_ne!(first, second);
        let out = psql(&first, "select 1").expect("select 1 on a fresh database");
        assert!(String::from_utf8_lossy(&out.stdout).contains('1'));
        // Reuse: a second call returns the same server.
        assert_eq!(postgres_base_url().unwrap(), base);
    }
}
