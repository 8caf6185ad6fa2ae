//! The carrier gateway peer is honest: nginx, started by `CarrierGateway`, is checked against an
//! independent line entry written here (a TLS server on the `openssl` crate that requires a
//! client certificate from a CA it trusts, and records what arrives). The line-authentication
//! tests (REQ-LINE-3 … REQ-LINE-6) rest on these properties: the line a request is asserted for
//! is the listener it came through, whatever the client sent; the gateway authenticates with its
//! certificate from the test CA; a line entry that trusts another CA refuses it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver};
use std::thread;
use std::time::Duration;

use openssl::nid::Nid;
use openssl::ssl::{SslAcceptor, SslConnector, SslFiletype, SslMethod, SslVerifyMode};
use sekisho_testkit::{CarrierGateway, TestPki};

const LINE_A: (&str, &str) = ("CAF0123456789", "east");
const LINE_B: (&str, &str) = ("COP12345678", "west");
/// The line entry's configured public URL, as it would put it in absolute redirects.
const PUBLIC_LINE_BASE: &str = "https://line.test.example/VX5";
/// Bound on waiting for the line entry's record of a connection (the channel is filled before
/// the answer is written, except after a refused handshake).
const RECORD_WITHIN: Duration = Duration::from_secs(10);

/// What the test line entry saw on one connection.
#[derive(Debug)]
enum Seen {
    Request {
        /// The CN of the client certificate the TLS handshake verified.
        client_cn: String,
        path: String,
        headers: Vec<(String, String)>,
    },
    /// The TLS handshake failed (for example: no client certificate from a trusted CA).
    Refused(String),
}

impl Seen {
    fn request(self) -> (String, String, Vec<(String, String)>) {
        match self {
            Seen::Request {
                client_cn,
                path,
                headers,
            } => (client_cn, path, headers),
            Seen::Refused(e) => panic!("the line entry refused the connection: {e}"),
        }
    }
}

/// Every value of header `name` (case-insensitive), in order.
fn values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A line entry on 127.0.0.1 serving `server_cert`, requiring a client certificate that
/// verifies against `trust`. `GET /VX5/redirect` answers `302` to the public line URL,
/// `GET /VX5/away` `302` elsewhere; anything else `200` with a cookie.
fn line_entry(server_cert: &Path, server_key: &Path, trust: &Path) -> (SocketAddr, Receiver<Seen>) {
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    acceptor
        .set_private_key_file(server_key, SslFiletype::PEM)
        .unwrap();
    acceptor.set_certificate_chain_file(server_cert).unwrap();
    acceptor.set_ca_file(trust).unwrap();
    acceptor.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    // nginx resumes TLS sessions (proxy_ssl_session_reuse); OpenSSL refuses to resume a session
    // with a verified client certificate unless the server names a session ID context.
    acceptor.set_session_id_context(b"test line entry").unwrap();
    let acceptor = acceptor.build();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = channel();
    // Runs until the test process ends; one connection at a time is plenty (nginx speaks
    // HTTP/1.0 to upstreams: one request per connection).
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut tls = match acceptor.accept(stream) {
                Ok(tls) => tls,
                Err(e) => {
                    let _ = tx.send(Seen::Refused(e.to_string()));
                    continue;
                }
            };
            let client_cn = tls
                .ssl()
                .peer_certificate()
                .and_then(|c| {
                    c.subject_name()
                        .entries_by_nid(Nid::COMMONNAME)
                        .next()
                        .map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
                })
                .unwrap_or_default();
            let Some(head) = read_head(&mut tls) else {
                // The peer ended the connection after the handshake (a refused certificate
                // under TLS 1.3 shows here rather than in accept).
                let _ = tx.send(Seen::Refused("no request after the handshake".into()));
                continue;
            };
            let mut lines = head.split("\r\n");
            let path = lines
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .unwrap_or_default()
                .to_owned();
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
                .collect();
            let answer = match path.as_str() {
                "/VX5/redirect" => format!(
                    "HTTP/1.1 302 Found\r\nLocation: {PUBLIC_LINE_BASE}/next?step=2\r\n\
                     Content-Length: 0\r\nConnection: close\r\n\r\n"
                ),
                "/VX5/away" => "HTTP/1.1 302 Found\r\nLocation: https://elsewhere.example/x\r\n\
                     Content-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_owned(),
                _ => "HTTP/1.1 200 OK\r\nSet-Cookie: s=1; Path=/; Secure; HttpOnly\r\n\
                      Content-Length: 2\r\nConnection: close\r\n\r\nok"
                    .to_owned(),
            };
            let _ = tx.send(Seen::Request {
                client_cn,
                path,
                headers,
            });
            let _ = tls.write_all(answer.as_bytes());
            let _ = tls.shutdown();
        }
    });
    (addr, rx)
}

fn read_head(stream: &mut impl Read) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// An answer as the test's client saw it.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
}

/// One `GET path` with `extra` header lines, over `stream`; the server closes after answering.
fn exchange(mut stream: impl Read + Write, host: &str, path: &str, extra: &[&str]) -> Answer {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for line in extra {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    // A TLS peer may close without close_notify; what was read is the answer.
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, _) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {raw:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
        .collect();
    Answer { status, headers }
}

/// `GET base+path` over plain HTTP (`base` = `http://127.0.0.1:P`).
fn get(base: &str, path: &str, extra: &[&str]) -> Answer {
    let host = base.strip_prefix("http://").unwrap();
    exchange(TcpStream::connect(host).unwrap(), host, path, extra)
}

/// `GET base+path` over HTTPS (`base` = `https://127.0.0.1:Q`), trusting only the test CA.
fn get_tls(pki: &TestPki, base: &str, path: &str, extra: &[&str]) -> Answer {
    let host = base.strip_prefix("https://").unwrap();
    let mut connector = SslConnector::builder(SslMethod::tls_client()).unwrap();
    connector.set_ca_file(&pki.ca_cert).unwrap();
    let tls = connector
        .build()
        .connect(TestPki::SERVER_NAME, TcpStream::connect(host).unwrap())
        .unwrap();
    exchange(tls, host, path, extra)
}

fn start(pki: &TestPki, upstream: SocketAddr) -> CarrierGateway {
    CarrierGateway::start(upstream, &[LINE_A, LINE_B], pki, PUBLIC_LINE_BASE).unwrap()
}

// REQ-LINE-3: the line is asserted by where the request arrives, never by what the client sent,
// and the gateway proves itself with its client certificate from the carrier CA.
#[test]
fn each_listener_asserts_its_own_line_over_forged_headers() {
    let pki = TestPki::create().unwrap();
    let (addr, seen) = line_entry(&pki.server_cert, &pki.server_key, &pki.ca_cert);
    let gateway = start(&pki, addr);

    let forged = [
        "X-Line-Number: COP99999999",
        "x-line-number: CAF9999999999",
        "X-LINE-AREA: west",
        "X_Line_Number: CAF1111111111",
    ];
    let answer = get(&gateway.url(LINE_A.0), "/VX5/login?x=1", &forged);
    assert_eq!(answer.status, 200, "{}", gateway.error_log());
    let (client_cn, path, headers) = seen.recv_timeout(RECORD_WITHIN).unwrap().request();
    assert_eq!(client_cn, TestPki::GATEWAY_CN);
    assert_eq!(path, "/VX5/login?x=1");
    assert_eq!(values(&headers, "X-Line-Number"), [LINE_A.0], "{headers:?}");
    assert_eq!(values(&headers, "X-Line-Area"), [LINE_A.1], "{headers:?}");
    assert!(
        !headers
            .iter()
            .any(|(n, _)| n.to_ascii_lowercase().contains("line_")),
        "a header with `_` was passed: {headers:?}"
    );
    let port = gateway.url(LINE_A.0).rsplit(':').next().unwrap().to_owned();
    assert_eq!(values(&headers, "Host"), [format!("127.0.0.1:{port}")]);
    assert_eq!(values(&headers, "X-Forwarded-Proto"), ["http"]);
    assert_eq!(values(&headers, "X-Forwarded-For"), ["127.0.0.1"]);
    assert_eq!(values(&headers, "X-Forwarded-Port"), [port.as_str()]);
    // The answer comes back as the line entry gave it.
    assert_eq!(
        values(&answer.headers, "Set-Cookie"),
        ["s=1; Path=/; Secure; HttpOnly"]
    );

    let answer = get(
        &gateway.url(LINE_B.0),
        "/VX5/login",
        &["X-Line-Number: CAF0123456789"],
    );
    assert_eq!(answer.status, 200, "{}", gateway.error_log());
    let (client_cn, _, headers) = seen.recv_timeout(RECORD_WITHIN).unwrap().request();
    assert_eq!(client_cn, TestPki::GATEWAY_CN);
    assert_eq!(values(&headers, "X-Line-Number"), [LINE_B.0]);
    assert_eq!(values(&headers, "X-Line-Area"), [LINE_B.1]);

    // The HTTPS front of a line does the same, and says so in X-Forwarded-Proto.
    let answer = get_tls(
        &pki,
        &gateway.https_url(LINE_B.0),
        "/VX5/login",
        &["X-Line-Number: CAF0123456789", "X-Line-Area: east"],
    );
    assert_eq!(answer.status, 200, "{}", gateway.error_log());
    let (client_cn, _, headers) = seen.recv_timeout(RECORD_WITHIN).unwrap().request();
    assert_eq!(client_cn, TestPki::GATEWAY_CN);
    assert_eq!(values(&headers, "X-Line-Number"), [LINE_B.0]);
    assert_eq!(values(&headers, "X-Line-Area"), [LINE_B.1]);
    assert_eq!(values(&headers, "X-Forwarded-Proto"), ["https"]);
}

// REQ-LINE-3: a gateway certificate from another CA is refused by a line entry that trusts only
// its own CA: nothing reaches it, and the browser gets nginx's 502.
#[test]
fn a_line_entry_trusting_another_ca_refuses_the_gateway() {
    let pki = TestPki::create().unwrap();
    let (addr, seen) = line_entry(&pki.server_cert, &pki.server_key, &pki.rogue_ca_cert);
    let gateway = start(&pki, addr);

    let answer = get(&gateway.url(LINE_A.0), "/VX5/login", &[]);
    assert_eq!(answer.status, 502);
    match seen.recv_timeout(RECORD_WITHIN).unwrap() {
        Seen::Refused(_) => {}
        request => panic!("the line entry accepted the gateway: {request:?}"),
    }
    assert!(seen.try_recv().is_err(), "a request reached the line entry");
}

// The gateway verifies the line entry too: one whose certificate is not from the carrier CA gets
// no request (so the line assertion never goes to an impostor).
#[test]
fn the_gateway_sends_nothing_to_an_unverified_line_entry() {
    let pki = TestPki::create().unwrap();
    let (addr, seen) = line_entry(&pki.rogue_client_cert, &pki.rogue_client_key, &pki.ca_cert);
    let gateway = start(&pki, addr);

    let answer = get(&gateway.url(LINE_A.0), "/VX5/login", &[]);
    assert_eq!(answer.status, 502);
    assert!(
        gateway
            .error_log()
            .contains("upstream SSL certificate verify error"),
        "{}",
        gateway.error_log()
    );
    match seen.recv_timeout(RECORD_WITHIN).unwrap() {
        Seen::Refused(_) => {}
        request => panic!("the gateway sent a request: {request:?}"),
    }
}

// Redirects from the line entry to its public line URL keep the browser on the same line (and
// front); a redirect elsewhere is left alone.
#[test]
fn redirects_to_the_public_line_url_come_back_to_the_same_line() {
    let pki = TestPki::create().unwrap();
    let (addr, seen) = line_entry(&pki.server_cert, &pki.server_key, &pki.ca_cert);
    let gateway = start(&pki, addr);

    for number in [LINE_A.0, LINE_B.0] {
        let answer = get(&gateway.url(number), "/VX5/redirect", &[]);
        assert_eq!(answer.status, 302);
        assert_eq!(
            values(&answer.headers, "Location"),
            [format!("{}/VX5/next?step=2", gateway.url(number))]
        );
        seen.recv_timeout(RECORD_WITHIN).unwrap().request();
    }
    let answer = get_tls(&pki, &gateway.https_url(LINE_A.0), "/VX5/redirect", &[]);
    assert_eq!(
        values(&answer.headers, "Location"),
        [format!("{}/VX5/next?step=2", gateway.https_url(LINE_A.0))]
    );
    let answer = get(&gateway.url(LINE_A.0), "/VX5/away", &[]);
    assert_eq!(
        values(&answer.headers, "Location"),
        ["https://elsewhere.example/x"]
    );
}

// Dropping the gateway stops nginx: its ports refuse connections.
#[test]
fn dropping_the_gateway_stops_nginx() {
    let pki = TestPki::create().unwrap();
    let (addr, _seen) = line_entry(&pki.server_cert, &pki.server_key, &pki.ca_cert);
    let gateway = start(&pki, addr);
    let host = gateway
        .url(LINE_A.0)
        .strip_prefix("http://")
        .unwrap()
        .to_owned();
    assert!(TcpStream::connect(&host).is_ok());
    drop(gateway);
    assert!(TcpStream::connect(&host).is_err());
}
