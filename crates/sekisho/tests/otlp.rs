//! Issue 15, observability: with `otlp_endpoint` set, the server exports one span per HTTP
//! request over OTLP/HTTP (protobuf), named and attributed by OpenTelemetry's HTTP server
//! conventions. The real binary exports to a receiver that decodes with the OpenTelemetry
//! project's own protobuf messages (tests/otlp-receiver, PyPI opentelemetry-proto).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills a child process when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `probe` every 100 ms for at most `limit`: waiting for real processes, bounded.
fn until<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..(limit.as_millis() / 100) {
        if let Some(v) = probe() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

// ISSUE-15 (observability): traces over OTLP when configured: a span per request, "GET /healthz"
// and "GET /{brand}/.well-known/openid-configuration" (the route template, never the raw path),
// with method, route and status, from the service "sekisho".
#[test]
fn requests_are_exported_as_spans_over_otlp() {
    let dir = sekisho_testkit::target_dir()
        .join("tmp")
        .join(format!("otlp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spans_file = dir.join("spans.jsonl");
    let receiver_script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/otlp-receiver/receiver.py"
    );
    let mut receiver = Command::new("python3")
        .arg(receiver_script)
        .arg(&spans_file)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with opentelemetry-proto (scripts/test installs it)");
    let mut first = String::new();
    BufReader::new(receiver.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let receiver = Killed(receiver);
    let otlp_port: u16 = first
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("receiver said {first:?}"));

    let port = free_port();
    let server = Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .arg("serve")
        .env(
            "SEKISHO_DATABASE_URL",
            sekisho_testkit::fresh_sqlite_url().unwrap(),
        )
        .env("SEKISHO_LISTEN", format!("127.0.0.1:{port}"))
        .env("SEKISHO_LOG", "warn")
        .env(
            "SEKISHO_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{otlp_port}/v1/traces"),
        )
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("SEKISHO_MAIL_OUTBOX_DIR", dir.join("outbox"))
        .env("SEKISHO_SMS_OUTBOX_DIR", dir.join("sms"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Killed(server);
    let get = |path: &str| -> Option<u16> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        use std::io::{Read, Write};
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        answer.split(' ').nth(1)?.parse().ok()
    };
    // The server starts within seconds (migrations, signing keys).
    assert_eq!(
        until(Duration::from_secs(60), || get("/healthz")),
        Some(200)
    );
    assert_eq!(get("/NOBRAND/.well-known/openid-configuration"), Some(404));

    let spans: Vec<serde_json::Value> = until(Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&spans_file).ok()?;
        let spans: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let both = [
            "GET /healthz",
            "GET /{brand}/.well-known/openid-configuration",
        ]
        .iter()
        .all(|n| spans.iter().any(|s| s["name"] == *n));
        both.then_some(spans)
    })
    .unwrap_or_else(|| {
        panic!(
            "spans received: {:?}",
            std::fs::read_to_string(&spans_file).unwrap_or_default()
        )
    });
    let discovery = spans
        .iter()
        .find(|s| s["name"] == "GET /{brand}/.well-known/openid-configuration")
        .unwrap();
    assert_eq!(discovery["path"], "/v1/traces");
    assert_eq!(discovery["content_type"], "application/x-protobuf");
    assert_eq!(discovery["service"], "sekisho");
    assert_eq!(discovery["kind"], 2, "SPAN_KIND_SERVER: {discovery}");
    let attributes = &discovery["attributes"];
    assert_eq!(attributes["http.request.method"], "GET");
    assert_eq!(
        attributes["http.route"],
        "/{brand}/.well-known/openid-configuration"
    );
    assert_eq!(attributes["http.response.status_code"], 404);
    assert!(
        !spans.iter().any(|s| s.to_string().contains("NOBRAND")),
        "raw paths never leave: {spans:?}"
    );
    drop(receiver);
}
