//! The release server as a child process on loopback, and what the OS says about it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary serve` with `env` in `dir`, and returns once discovery answers 200, with the
/// time from spawn to that first answer.
pub async fn start(
    binary: &Path,
    dir: &Path,
    env: &[(String, String)],
    port: u16,
) -> anyhow::Result<(Server, Duration)> {
    start_logging(binary, dir, env, port, None).await
}

/// [`start`], the server's log (stderr) going to `log` when given.
pub async fn start_logging(
    binary: &Path,
    dir: &Path,
    env: &[(String, String)],
    port: u16,
    log: Option<&Path>,
) -> anyhow::Result<(Server, Duration)> {
    let started = Instant::now();
    let stderr = match log {
        Some(path) => Stdio::from(std::fs::File::create(path)?),
        None => Stdio::inherit(),
    };
    let child = Command::new(binary)
        .arg("serve")
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("SEKISHO_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let server = Server { child, base };
    let url = format!("{}/VX5/.well-known/openid-configuration", server.base);
    let http = reqwest::Client::new();
    // Polls until the server answers; bounded, and the measured time is the first success.
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(r) = http.get(&url).send().await {
            if r.status().is_success() {
                return Ok((server, started.elapsed()));
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    anyhow::bail!("the server did not serve discovery within 30 s")
}

/// (current resident set, peak resident set) in MiB, from /proc.
pub fn rss_mib(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
            .unwrap_or(0.0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

/// One server per port of `ports`, all with `env` (the nodes behind the load balancer).
pub async fn start_all(
    binary: &Path,
    dir: &Path,
    env: &[(String, String)],
    ports: &[u16],
) -> anyhow::Result<Vec<Server>> {
    let mut servers = Vec::new();
    for port in ports {
        servers.push(start(binary, dir, env, *port).await?.0);
    }
    Ok(servers)
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
