//! The accept loop (`sekisho::serving`) on a real TCP socket on loopback: timeouts, the connection
//! cap, the peer address handed to handlers, graceful stop, and TLS with certificate reload.
//!
//! hyper's timers run on real time, so these tests configure timeouts of one second and wait at
//! most three for what they expect: they measure the real server's behaviour, which a fake clock
//! cannot drive. Nothing here sleeps for a fixed time; each wait ends as soon as the server acts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use axum::Router;
use sekisho::serving::{self, Limits, Tls};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const SECOND: Duration = Duration::from_secs(1);
/// Longest a test waits for the server to do what a one-second limit makes it do.
const PATIENCE: Duration = Duration::from_secs(3);

fn limits() -> Limits {
    Limits {
        header_read_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
        body_read_timeout: Duration::from_secs(30),
        max_connections: 64,
        drain_timeout: Duration::from_secs(10),
    }
}

/// `/` answers the peer address the handler was given; `/echo` answers the posted body (so a
/// test can hold a request in progress by sending its body late).
fn router() -> Router {
    Router::new()
        .route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        )
        .route("/echo", post(|body: String| async move { body }))
}

struct Served {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

async fn serve(limits: Limits, tls: Tls) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopping) = serving::stop_signal();
    let task = tokio::spawn(serving::serve(
        "test",
        listener,
        tls,
        router(),
        limits,
        stopping,
    ));
    Served { addr, stop, task }
}

/// Reads until the server closes the connection (or resets it), within `PATIENCE`; returns what
/// it sent. Panics if the connection is still open then.
async fn read_until_closed(conn: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open: {}",
        String::from_utf8_lossy(&got)
    );
    String::from_utf8_lossy(&got).into_owned()
}

/// Reads one response's head and body (with a `content-length`) from a kept-alive connection.
async fn read_response(conn: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= len {
                return text;
            }
        }
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before a full response: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}

fn get_request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: sekisho.test\r\n\r\n")
}

// ISSUE-15: slow clients. A client that sends half a header and stalls is disconnected once the
// header read timeout (here 1 s) has passed, without an answer to a request it never finished.
#[tokio::test]
async fn half_a_header_is_cut_off_after_the_header_timeout() {
    let served = serve(
        Limits {
            header_read_timeout: SECOND,
            ..limits()
        },
        Tls::Plain,
    )
    .await;
    let mut conn = TcpStream::connect(served.addr).await.unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\nHost: sekisho.test\r\nX-Slow: ")
        .await
        .unwrap();
    let answer = read_until_closed(&mut conn).await;
    assert!(!answer.contains(" 200 "), "{answer}");
}

// ISSUE-15: slow clients. A client that sends the headers and then trickles the body (R.U.D.Y.)
// is refused once the body read timeout (1 s here) has passed, and the connection closed.
#[tokio::test]
async fn a_trickled_body_is_cut_off_after_the_body_timeout() {
    let served = serve(
        Limits {
            body_read_timeout: SECOND,
            ..limits()
        },
        Tls::Plain,
    )
    .await;
    let mut conn = TcpStream::connect(served.addr).await.unwrap();
    conn.write_all(
        b"POST /echo HTTP/1.1\r\nHost: sekisho.test\r\nContent-Type: text/plain\r\n\
          Content-Length: 1000\r\n\r\nhello",
    )
    .await
    .unwrap();
    let answer = read_until_closed(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

// ISSUE-15: slow clients. A kept-alive connection with no request in progress is closed after
// the idle timeout (1 s here); so is a connection that never sends anything.
#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let served = serve(
        Limits {
            idle_timeout: SECOND,
            ..limits()
        },
        Tls::Plain,
    )
    .await;
    let mut conn = TcpStream::connect(served.addr).await.unwrap();
    conn.write_all(get_request("/").as_bytes()).await.unwrap();
    let first = read_response(&mut conn).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // Kept alive (HTTP/1.1), then closed for idleness with nothing more sent.
    assert_eq!(read_until_closed(&mut conn).await, "");

    let mut silent = TcpStream::connect(served.addr).await.unwrap();
    assert_eq!(read_until_closed(&mut silent).await, "");
}

// ISSUE-15: slow clients. Over the cap (2 here), a new connection is not served until another
// one closes; then it is.
#[tokio::test]
async fn over_the_cap_a_connection_waits_until_another_closes() {
    let served = serve(
        Limits {
            max_connections: 2,
            ..limits()
        },
        Tls::Plain,
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut conn = TcpStream::connect(served.addr).await.unwrap();
        conn.write_all(get_request("/").as_bytes()).await.unwrap();
        assert!(read_response(&mut conn).await.starts_with("HTTP/1.1 200"));
        held.push(conn);
    }
    // The kernel completes the third handshake (backlog), but the server does not take it.
    let mut third = TcpStream::connect(served.addr).await.unwrap();
    third.write_all(get_request("/").as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(SECOND, third.read(&mut buf)).await;
    assert!(early.is_err(), "served over the cap: {early:?}");
    drop(held.pop());
    let answer = tokio::time::timeout(PATIENCE, read_response(&mut third))
        .await
        .expect("served once a slot freed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

// ISSUE-15: the peer address reaches handlers as `ConnectInfo<SocketAddr>` (the rate limits key
// on it).
#[tokio::test]
async fn handlers_see_the_peer_address() {
    let served = serve(limits(), Tls::Plain).await;
    let mut conn = TcpStream::connect(served.addr).await.unwrap();
    let local = conn.local_addr().unwrap();
    conn.write_all(get_request("/").as_bytes()).await.unwrap();
    let answer = read_response(&mut conn).await;
    assert!(answer.ends_with(&local.to_string()), "{answer} vs {local}");
}

// ISSUE-15: graceful shutdown. After the stop signal, a request in progress (its body still
// coming) is answered, new connections are refused, idle ones are closed, and `serve` returns.
#[tokio::test]
async fn stop_answers_requests_in_progress_and_refuses_new_connections() {
    let served = serve(limits(), Tls::Plain).await;
    let mut idle = TcpStream::connect(served.addr).await.unwrap();
    idle.write_all(get_request("/").as_bytes()).await.unwrap();
    read_response(&mut idle).await;

    let mut busy = TcpStream::connect(served.addr).await.unwrap();
    busy.write_all(
        b"POST /echo HTTP/1.1\r\nHost: sekisho.test\r\nContent-Type: text/plain\r\n\
          Content-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    // hyper says `100 Continue` when the handler starts reading the body: it is in progress.
    let mut buf = [0u8; 64];
    let n = busy.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 100"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );

    served.stop.send_replace(true);
    assert_eq!(read_until_closed(&mut idle).await, "");
    let refused = tokio::time::timeout(PATIENCE, async {
        while TcpStream::connect(served.addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(refused.is_ok(), "still accepting after stop");
    assert!(
        !served.task.is_finished(),
        "returned with a request in progress"
    );

    busy.write_all(b"hello").await.unwrap();
    let answer = read_until_closed(&mut busy).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("hello"), "{answer}");
    tokio::time::timeout(PATIENCE, served.task)
        .await
        .expect("serve returns once drained")
        .unwrap();
}

/// A client that trusts `ca` only, on a fresh connection.
fn https_client(ca: &std::path::Path) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// Puts `from` at `to` the way certificate tools do: write beside it, then rename over it.
fn replace(from: &std::path::Path, to: &std::path::Path) {
    let tmp = to.with_extension("new");
    std::fs::copy(from, &tmp).unwrap();
    std::fs::rename(&tmp, to).unwrap();
}

// ISSUE-15: TLS served directly. The public listener serves the configured certificate; when the
// files are replaced, new connections get the new certificate; a broken replacement keeps the
// previous one in use.
#[tokio::test]
async fn tls_certificate_files_are_reloaded_when_they_change() {
    let first = sekisho_testkit::TestPki::create().unwrap();
    let second = sekisho_testkit::TestPki::create().unwrap();
    let dir = first.dir.join("served");
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    replace(&first.server_cert, &cert);
    replace(&first.server_key, &key);
    let tls = serving::ReloadingTls::new(&cert, &key).unwrap();
    let served = serve(limits(), Tls::Reloading(Arc::new(tls))).await;
    let url = format!("https://localhost:{}/", served.addr.port());
    let trusts_first = https_client(&first.ca_cert);
    let trusts_second = https_client(&second.ca_cert);

    let r = trusts_first.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(trusts_second.get(&url).send().await.is_err());

    replace(&second.server_cert, &cert);
    replace(&second.server_key, &key);
    let r = trusts_second.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(trusts_first.get(&url).send().await.is_err());

    // A certificate file that does not load (half-written): the previous pair stays.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\ntruncated").unwrap();
    let r = trusts_second.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // A certificate that does not match the key: the previous pair stays too.
    replace(&first.server_cert, &cert);
    let r = trusts_second.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
}
