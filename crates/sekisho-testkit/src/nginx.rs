//! One Debian `nginx` process for a test: the part the carrier gateway ([`crate::CarrierGateway`])
//! and the load balancer ([`crate::LoadBalancer`]) share. Each runs its own nginx with its
//! config, pid file, logs and temp folders in one folder under the target folder, under a small
//! `sh` watcher that stops nginx when its stdin (a pipe this value holds) closes: on drop, and
//! when the test process dies.
//!
//! The pitfalls met on the way are listed in [`crate::carrier_gateway`]'s module doc; the ones
//! every nginx of the suite must avoid are handled here: the compiled-in error log and temp
//! folders under `/var` (`-e`, `-p` and every `*_temp_path` point into the folder), `user root;`
//! only when the launcher is root, `daemon off;`, and `/usr/sbin` missing from `PATH`.

use std::fmt::Write as _;
use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// Longest wait for nginx to listen on every port (it starts in milliseconds when idle).
// Only an upper bound: peers start in about a second on an idle machine, but the whole suite on
// two cores once kept an oidc-provider from printing its ready line for over 30 s.
const READY_WITHIN: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(25);
/// Longest wait for nginx to stop after its watcher's stdin closed.
const STOP_WITHIN: Duration = Duration::from_secs(10);
/// Whole starts tried: a free port picked may be taken by another process before nginx binds it.
const START_ATTEMPTS: usize = 3;

/// A running nginx; stopped on drop.
#[derive(Debug)]
pub(crate) struct Nginx {
    dir: PathBuf,
    child: Option<Child>,
    /// Held open: the watcher stops nginx when it closes (on drop, or when this process dies).
    stdin: Option<ChildStdin>,
}

impl Nginx {
    /// Starts nginx in a new folder `{target}/{kind}/<unique>/runN`, up to [`START_ATTEMPTS`]
    /// times: `attempt` is given the run folder, picks its ports and returns the configuration
    /// and the ports to wait for.
    pub(crate) fn start(
        kind: &str,
        mut attempt: impl FnMut(&Path) -> anyhow::Result<(String, Vec<u16>)>,
    ) -> anyhow::Result<Self> {
        let dir = crate::target_dir()
            .join(format!("test-{kind}"))
            .join(crate::unique_name(kind));
        let mut errors = Vec::new();
        for n in 0..START_ATTEMPTS {
            let run_dir = dir.join(format!("run{n}"));
            let started = attempt(&run_dir).and_then(|(conf, ports)| {
                let mut nginx = Self::launch(&run_dir, &conf)?;
                // On an error `nginx` is dropped here, which stops it.
                nginx.wait_until_listening(&ports)?;
                Ok(nginx)
            });
            match started {
                Ok(nginx) => return Ok(nginx),
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
        bail!("could not start nginx ({kind}):\n{}", errors.join("\n"))
    }

    fn launch(dir: &Path, conf: &str) -> anyhow::Result<Self> {
        for sub in [
            "tmp/client_body",
            "tmp/proxy",
            "tmp/fastcgi",
            "tmp/uwsgi",
            "tmp/scgi",
        ] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        }
        let conf_file = dir.join("nginx.conf");
        fs::write(&conf_file, conf).with_context(|| format!("writing {}", conf_file.display()))?;
        let output = fs::File::create(dir.join("nginx.out"))?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHER)
            .arg("sh")
            .arg(nginx_binary())
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf_file)
            .arg("-g")
            .arg("daemon off;")
            .stdin(Stdio::piped())
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .context("running sh to start nginx")?;
        let stdin = child.stdin.take();
        Ok(Self {
            dir: dir.to_owned(),
            child: Some(child),
            stdin,
        })
    }

    /// The folder with `nginx.conf`, `error.log`, `access.log` and `nginx.out`.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// nginx's error log so far (why a request got `502`, for example).
    pub(crate) fn error_log(&self) -> String {
        fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// nginx's access log so far.
    pub(crate) fn access_log(&self) -> String {
        fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "waits (bounded, in real time) for nginx to listen"
    )]
    fn wait_until_listening(&mut self, ports: &[u16]) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    bail!(
                        "nginx exited at start ({status}):\n{}\n{}",
                        self.error_log().trim_end(),
                        fs::read_to_string(self.dir.join("nginx.out"))
                            .unwrap_or_default()
                            .trim_end()
                    );
                }
            }
            let all_listen = ports.iter().all(|port| {
                TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], *port)), POLL).is_ok()
            });
            if all_listen {
                return Ok(());
            }
            if started.elapsed() > READY_WITHIN {
                bail!(
                    "nginx did not listen on {ports:?} within {READY_WITHIN:?} (logs: {}):\n{}",
                    self.dir.display(),
                    self.error_log().trim_end()
                );
            }
            sleep(POLL);
        }
    }
}

impl Drop for Nginx {
    #[allow(
        clippy::disallowed_methods,
        reason = "waits (bounded, in real time) for nginx to stop"
    )]
    fn drop(&mut self) {
        // Closing the pipe makes the watcher send nginx SIGTERM (fast shutdown); the watcher
        // exits with nginx.
        drop(self.stdin.take());
        let Some(mut child) = self.child.take() else {
            return;
        };
        let started = Instant::now();
        while started.elapsed() < STOP_WITHIN {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            sleep(POLL);
        }
        // nginx did not stop: kill it by its pid file, then the watcher.
        if let Ok(pid) = fs::read_to_string(self.dir.join("nginx.pid")) {
            let _ = Command::new("kill")
                .args(["-KILL", pid.trim()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The start of every configuration: workers, pid file, error log, and the `http` block's
/// access log (in `log_format`) and temp folders, all under `dir`. The caller adds its
/// `server` blocks and the closing `}`.
pub(crate) fn config_head(dir: &Path, log_format: &str) -> anyhow::Result<String> {
    let d = dir.display();
    let is_root = fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    let mut c = String::new();
    if is_root {
        c.push_str("user root;\n");
    }
    writeln!(
        c,
        r#"worker_processes 1;
pid "{d}/nginx.pid";
error_log "{d}/error.log" info;
events {{ worker_connections 1024; }}
http {{
    log_format main '{log_format}';
    access_log "{d}/access.log" main;
    client_body_temp_path "{d}/tmp/client_body";
    proxy_temp_path "{d}/tmp/proxy";
    fastcgi_temp_path "{d}/tmp/fastcgi";
    uwsgi_temp_path "{d}/tmp/uwsgi";
    scgi_temp_path "{d}/tmp/scgi";
    server_tokens off;"#
    )?;
    Ok(c)
}

/// Runs nginx ("$@") and stops it (SIGTERM) when this shell's stdin reaches end of file, so
/// nginx never outlives the test process; exits with nginx's status. An asynchronous list's
/// stdin is `/dev/null` in a non-interactive shell, so the watcher reads a copy (fd 3).
const WATCHER: &str = r#"exec 3<&0
"$@" </dev/null &
n=$!
( cat <&3 >/dev/null; kill -TERM "$n" 2>/dev/null ) &
w=$!
exec 3<&-
wait "$n"
s=$?
kill "$w" 2>/dev/null
exit "$s"
"#;

/// `nginx` on the PATH, else Debian's `/usr/sbin/nginx` (`/usr/sbin` is not on every user's PATH).
fn nginx_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("nginx"))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"))
}

/// `n` distinct ports that were free a moment ago (all held at once, so they differ).
pub(crate) fn free_loopback_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind(("127.0.0.1", 0)))
        .collect::<std::io::Result<Vec<_>>>()
        .context("finding free loopback ports")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}
