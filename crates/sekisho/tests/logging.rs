//! Issue 15, observability: the server's log lines as an operator's collector reads them. Run as
//! a real process with standard error piped (not a terminal).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Starts `sekisho serve` with `format` and returns its log lines up to the one saying it serves.
fn first_lines(format: &str) -> Vec<String> {
    let dir = sekisho_testkit::target_dir().join("tmp");
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .arg("serve")
        .env(
            "SEKISHO_DATABASE_URL",
            sekisho_testkit::fresh_sqlite_url().unwrap(),
        )
        .env("SEKISHO_LISTEN", "127.0.0.1:0")
        .env("SEKISHO_LOG", "info")
        .env("SEKISHO_LOG_FORMAT", format)
        .env("SEKISHO_MAIL_OUTBOX_DIR", dir.join("log-test-outbox"))
        .env("SEKISHO_SMS_OUTBOX_DIR", dir.join("log-test-sms"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    // Bounded: the server says it serves within seconds; a minute means it never will.
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        let done = line.contains("serving");
        lines.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        lines.last().is_some_and(|l| l.contains("serving")),
        "{lines:#?}"
    );
    lines
}

// ISSUE-15 (observability): `log_format = "json"` writes one JSON object per line, with the
// level, the message and the fields a collector indexes.
#[test]
fn json_logs_are_one_object_per_line() {
    let lines = first_lines("json");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
    let serving: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(serving["fields"]["message"], "serving");
    assert_eq!(serving["fields"]["listen"], "127.0.0.1:0");
}

// ISSUE-15 (observability): text logs carry no colour codes when standard error is not a
// terminal (a file, a pipe, journald).
#[test]
fn text_logs_have_no_colour_codes_off_a_terminal() {
    let lines = first_lines("text");
    for line in &lines {
        assert!(!line.contains('\u{1b}'), "escape code in {line:?}");
    }
    assert!(lines.last().unwrap().contains("INFO"), "{lines:#?}");
}
