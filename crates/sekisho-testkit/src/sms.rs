//! A real HTTP server standing in for an SMS gateway: `sms_gateway.py` (next to this crate's
//! manifest, Python 3 standard library only) recording every POST it receives.
//!
//! Each [`SmsGatewayDouble`] is its own server process on its own loopback port with its own
//! folder under `{target}/test-sms/`, so tests run in parallel without seeing each other's
//! requests. The process is killed when the double is dropped.
//!
//! The server binds a port the OS picks and reports it in a file, so no other process can take
//! the port between choosing and binding it. It records a request before it answers, so once a
//! client's send has returned the request is already in [`SmsGatewayDouble::requests`]: no
//! waiting. The status it answers with is read from a file for each request, so
//! [`SmsGatewayDouble::respond_with`] applies to every request sent after it returns.

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

use crate::{target_dir, unique_name};

const PYTHON: &str = "python3";
/// Longest wait for a starting server to accept connections (Python start-up is well under 1 s).
// Only an upper bound: peers start in about a second on an idle machine, but the whole suite on
// two cores once kept an oidc-provider from printing its ready line for over 30 s.
const READY_WITHIN: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(50);

/// One POST as the double received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsRequest {
    /// Path and query, e.g. `/messages`.
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The raw body (UTF-8; invalid bytes become U+FFFD).
    pub body: String,
    /// With `Content-Type: application/x-www-form-urlencoded`, the body as decoded by Python's
    /// `urllib.parse.parse_qsl` (an independent decoder); `None` for other types or when the body
    /// is not valid form encoding.
    pub form: Option<Vec<(String, String)>>,
}

impl SmsRequest {
    /// The body parsed as JSON (an error when it is not JSON).
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.body)
            .with_context(|| format!("the request body is not JSON: {:?}", self.body))
    }

    /// The value of form field `name` (the first one); `None` when absent or not a form body.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form
            .as_ref()?
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A running SMS gateway double on 127.0.0.1, killed on drop.
#[derive(Debug)]
pub struct SmsGatewayDouble {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl SmsGatewayDouble {
    /// Starts a double on a free loopback port, answering 200, and waits until it accepts.
    pub fn start() -> anyhow::Result<Self> {
        let dir = target_dir().join("test-sms").join(unique_name("gateway"));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let log = fs::File::create(dir.join("server.log"))
            .with_context(|| format!("creating {}", dir.join("server.log").display()))?;
        let child = Command::new(PYTHON)
            .arg(script())
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| {
                format!(
                    "running {PYTHON} {}: the SMS gateway double needs Python 3",
                    script().display()
                )
            })?;
        let mut double = Self {
            port: 0,
            dir,
            child: Some(child),
        };
        // On an error the double is dropped here, which kills the process.
        double.port = double.wait_until_ready()?;
        Ok(double)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/messages` (any path is accepted and recorded).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/messages", self.port)
    }

    /// Every POST received so far, oldest first.
    pub fn requests(&self) -> anyhow::Result<Vec<SmsRequest>> {
        let file = self.dir.join("requests.jsonl");
        let text = match fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        text.lines()
            .map(|line| parse_record(line).with_context(|| format!("in {}", file.display())))
            .collect()
    }

    /// Answers every following request with `status` (until the next call; 200 at start).
    pub fn respond_with(&self, status: u16) -> anyhow::Result<()> {
        // Written whole and renamed: the server never reads half a number.
        let tmp = self.dir.join("status.tmp");
        fs::write(&tmp, status.to_string())
            .with_context(|| format!("writing {}", tmp.display()))?;
        fs::rename(&tmp, self.dir.join("status")).context("replacing the status file")
    }

    /// Polls (bounded) for the port the server reports, then for it to accept a connection.
    #[allow(
        clippy::disallowed_methods,
        reason = "waits (bounded, in real time) for the Python process to listen"
    )]
    fn wait_until_ready(&mut self) -> anyhow::Result<u16> {
        let started = Instant::now();
        let port_file = self.dir.join("port");
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    bail!(
                        "the SMS gateway double exited at start ({status}):\n{}",
                        self.log().trim_end()
                    );
                }
            }
            if let Some(port) = fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse::<u16>().ok())
            {
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                if TcpStream::connect_timeout(&addr, POLL).is_ok() {
                    return Ok(port);
                }
            }
            if started.elapsed() > READY_WITHIN {
                bail!(
                    "the SMS gateway double did not accept connections within {READY_WITHIN:?} (log: {})",
                    self.dir.join("server.log").display()
                );
            }
            sleep(POLL);
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for SmsGatewayDouble {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sms_gateway.py")
}

fn parse_record(line: &str) -> anyhow::Result<SmsRequest> {
    let v: Value = serde_json::from_str(line).context("a request record is not JSON")?;
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let form = match v.get("form") {
        None | Some(Value::Null) => None,
        Some(Value::Array(pairs)) => Some(
            pairs
                .iter()
                .map(|pair| match pair.as_array().map(Vec::as_slice) {
                    Some([Value::String(k), Value::String(v)]) => Ok((k.clone(), v.clone())),
                    _ => bail!("a form field is not a [name, value] pair: {pair}"),
                })
                .collect::<anyhow::Result<_>>()?,
        ),
        Some(other) => bail!("form is not a list: {other}"),
    };
    Ok(SmsRequest {
        path: text("path").context("a request record has no path")?,
        authorization: text("authorization"),
        content_type: text("content_type"),
        body: text("body").context("a request record has no body")?,
        form,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A minimal HTTP/1.1 client, so this crate tests its double without the crates under test.
    fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> anyhow::Result<u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        )?;
        for (name, value) in headers {
            write!(stream, "{name}: {value}\r\n")?;
        }
        write!(stream, "\r\n{body}")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let status = answer
            .split(' ')
            .nth(1)
            .context("no status line")?
            .parse()?;
        Ok(status)
    }

    #[test]
    fn double_records_posts_and_answers_the_chosen_status() {
        let double = SmsGatewayDouble::start().expect("SMS gateway double");
        let other = SmsGatewayDouble::start().expect("a second double");
        assert_ne!(double.port(), other.port());
        assert!(double
            .url()
            .ends_with(&format!(":{}/messages", double.port())));
        assert!(double.requests().unwrap().is_empty());

        let json = r#"{"to":"+819012345678","text":"認証コード \"1\""}"#;
        let headers = [
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer abc"),
        ];
        assert_eq!(
            post(double.port(), "/messages", &headers, json).unwrap(),
            200
        );
        double.respond_with(503).unwrap();
        let form = "to=%2B819012345678&text=a+b%26c";
        let form_type = [("Content-Type", "application/x-www-form-urlencoded")];
        assert_eq!(
            post(double.port(), "/form?x=1", &form_type, form).unwrap(),
            503
        );
        double.respond_with(200).unwrap();
        assert_eq!(post(double.port(), "/", &[], "").unwrap(), 200);

        let requests = double.requests().unwrap();
        assert_eq!(requests.len(), 3);
        assert_eq!(requests[0].path, "/messages");
        assert_eq!(requests[0].authorization.as_deref(), Some("Bearer abc"));
        assert_eq!(
            requests[0].content_type.as_deref(),
            Some("application/json")
        );
        assert_eq!(requests[0].body, json);
        assert_eq!(requests[0].json().unwrap()["text"], "認証コード \"1\"");
        assert_eq!(requests[0].form, None);
        assert_eq!(requests[1].path, "/form?x=1");
        assert_eq!(requests[1].form_value("to"), Some("+819012345678"));
        assert_eq!(requests[1].form_value("text"), Some("a b&c"));
        assert_eq!(requests[2].authorization, None);
        assert!(other.requests().unwrap().is_empty(), "separate records");

        let port = double.port();
        drop(double);
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "killed on drop"
        );
    }
}
