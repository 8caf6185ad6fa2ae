//! Test support for Sekisho: launchers for the real peers the tests talk to.
//!
//! Tests run against real services rather than mocks wherever a real one is cheap to start, so
//! the code under test meets the same behaviour it meets in production. Today that is:
//!
//! - PostgreSQL: [`postgres_base_url`] starts (once, and reuses across runs) a throwaway cluster
//!   under the workspace target folder; [`fresh_postgres_database`] gives each test its own
//!   empty database on it, so tests never see each other's rows and can run in parallel.
//!   [`PrivatePostgres`] is a cluster one test owns and may stop and start (a database outage).
//! - SQLite: [`fresh_sqlite_url`] gives each test its own new database file.
//! - SMTP: [`SmtpSink`] runs `aiosmtpd` (PyPI) on its own port and decodes what it received.
//! - SMS: [`SmsGatewayDouble`] runs `sms_gateway.py` (Python 3 standard library) on its own port:
//!   an HTTP server that records every POST and answers with the status the test chooses.
//! - Upstream identity providers: [`UpstreamOp`] runs `tests/upstream/upstream.mjs`
//!   (`oidc-provider`, npm) playing Google, Microsoft, d アカウント or Facebook for brokered
//!   login; its module doc gives the login sequence to drive over HTTP.
//! - SAML identity provider: [`SamlIdp`] runs `tests/saml-idp/idp.py` (`pysaml2`, PyPI, signing
//!   through Debian's `xmlsec1`) playing ADFS; its module doc says what it answers.
//! - The carrier network's gateway for line authentication: [`CarrierGateway`] runs Debian's
//!   `nginx` with one listener per simulated line, proxying to Sekisho's line entry over mutual
//!   TLS with a client certificate from a [`TestPki`] and setting `X-Line-Number` /
//!   `X-Line-Area` itself; its module doc ([`carrier_gateway`]) says what it does and the
//!   pitfalls met on the way.
//! - The load balancer in front of several Sekisho nodes: [`LoadBalancer`] runs Debian's `nginx`
//!   round robin without sticky sessions ([`load_balancer`]).
//!
//! Besides `std` and `anyhow` only `mail-parser` (pure Rust, to decode received mail),
//! `serde_json` (to read the recorded SMS requests) and `openssl` (the test PKI; already linked by
//! the workspace's TLS stack) are used, so this crate builds fast and adds little to the crates
//! that use it as a dev-dependency. (`reqwest`, `tokio` and `base64` are only
//! this crate's own dev-dependencies, for the tests of [`UpstreamOp`].)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a failed harness step is a failure of the test that called it"
)]

pub mod carrier_gateway;
pub mod load_balancer;
mod lock;
mod nginx;
mod postgres;
pub mod saml_idp;
mod sms;
mod smtp;
mod sqlite;
pub mod upstream;
pub mod upstream_login;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub use carrier_gateway::{CarrierGateway, TestPki};
pub use load_balancer::LoadBalancer;
pub use postgres::{
    fresh_postgres_database, postgres_base_url, start_test_postgres_for_a_run, stop_test_postgres,
    PrivatePostgres,
};
pub use saml_idp::{SamlIdp, SamlSigning, SamlUser};
pub use sms::{SmsGatewayDouble, SmsRequest};
pub use smtp::{ReceivedMail, SmtpSink};
pub use sqlite::fresh_sqlite_url;
pub use upstream::{Profile, UpstreamClock, UpstreamOp};

/// Name of the environment variable that points the tests at an already running PostgreSQL
/// (for example one started by `scripts/test`, or a CI service container).
pub const POSTGRES_URL_ENV: &str = "SEKISHO_TEST_POSTGRES_URL";

/// The workspace root: this crate lives at `<root>/crates/sekisho-testkit`.
///
/// `CARGO_MANIFEST_DIR` is captured at compile time, so this stays right whichever crate's
/// test binary (and whichever working directory) the code runs in.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or(manifest)
}

/// The Cargo target folder that test state is kept under: `CARGO_TARGET_DIR` when set
/// (a relative value is taken from the workspace root, where `scripts/test` runs cargo),
/// otherwise `<workspace>/target`. Keeping state there means `cargo clean` removes it.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// A name no other test, in this process or another one, running now or earlier, will pick:
/// the process id tells processes apart, the counter tells calls within a process apart, and the
/// clock tells apart runs that happen to reuse a process id.
#[allow(
    clippy::disallowed_methods,
    reason = "the wall clock only makes a name unique across runs; no test's time comes from it"
)]
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }

    #[test]
    fn unique_names_differ_within_a_process() {
        let a = unique_name("x");
        let b = unique_name("x");
        assert_ne!(a, b);
        // PostgreSQL folds unquoted identifiers and limits them to 63 bytes; stay well inside.
        assert!(a.len() < 63, "{a}");
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    }
}
