//! Endpoint rates with wrk (Debian's package): throughput and latency percentiles.

use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Default)]
pub struct WrkResult {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub non_2xx: u64,
}

/// Converts wrk's `1.23ms` / `456.00us` / `1.02s` to milliseconds.
fn millis(v: &str) -> Option<f64> {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

pub fn parse(out: &str) -> anyhow::Result<WrkResult> {
    let mut r = WrkResult::default();
    for line in out.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("50%"), Some(v)) => r.p50_ms = millis(v).unwrap_or_default(),
            (Some("99%"), Some(v)) => r.p99_ms = millis(v).unwrap_or_default(),
            (Some("Requests/sec:"), Some(v)) => r.rps = v.parse().unwrap_or_default(),
            (Some("Non-2xx"), _) => {
                r.non_2xx = line
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_default()
            }
            _ => {}
        }
    }
    anyhow::ensure!(r.rps > 0.0, "wrk printed no rate:\n{out}");
    Ok(r)
}

/// Runs wrk against `url` with `connections` for `secs`, optionally with a Lua script and its args.
pub fn run(
    url: &str,
    connections: u32,
    secs: u32,
    script: Option<(&Path, &[String])>,
) -> anyhow::Result<WrkResult> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{secs}s"),
        "--latency",
    ]);
    if let Some((path, _)) = script {
        cmd.arg("-s").arg(path);
    }
    cmd.arg(url);
    if let Some((_, args)) = script {
        cmd.arg("--").args(args);
    }
    let out = cmd.output()?;
    anyhow::ensure!(
        out.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// A POST of a fixed form with HTTP Basic client credentials.
pub fn post_script(basic: &str, body: &str) -> String {
    format!(
        "wrk.method = \"POST\"\nwrk.body = \"{body}\"\nwrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\nwrk.headers[\"Authorization\"] = \"Basic {basic}\"\n"
    )
}

/// Refresh grants: each request spends its own token from the file given as the first script
/// argument; threads take disjoint slices. When tokens run out requests fail (and are counted).
pub fn refresh_script(basic: &str) -> String {
    per_line_script(basic, "grant_type=refresh_token&refresh_token=", false)
}

/// POSTs that each take the next line of the file given as the first script argument (threads
/// take disjoint slices; the second argument is the thread count): the body is `body` followed
/// by the line, or with `dpop` by the line's second word after its first, a DPoP proof sent as
/// the `DPoP` header. Past the last line, requests send "exhausted" and fail (and are counted).
pub fn per_line_script(basic: &str, body: &str, dpop: bool) -> String {
    let take = if dpop {
        "local proof, rest = line:match(\"^(%S+) ?(%S*)$\")\n  headers[\"DPoP\"] = proof"
    } else {
        "local rest = line"
    };
    format!(
        r#"local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  lines = {{}}
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
  nthreads = tonumber(args[2])
  n = 0
end
function request()
  n = n + 1
  local line = lines[(n - 1) * nthreads + tid + 1] or "exhausted"
  local headers = {{["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = "Basic {basic}"}}
  {take}
  return wrk.format("POST", nil, headers, "{body}" .. rest)
end
"#
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_wrk_output() {
        let out = "  Latency Distribution\n     50%  512.00us\n     75%    1.00ms\n     99%    4.20ms\n  100 requests in 1.00s\n  Non-2xx or 3xx responses: 3\nRequests/sec:   9876.54\n";
        let r = super::parse(out).unwrap();
        assert_eq!(
            (r.rps, r.p50_ms, r.p99_ms, r.non_2xx),
            (9876.54, 0.512, 4.2, 3)
        );
    }
}
