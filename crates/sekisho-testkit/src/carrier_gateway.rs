//! The carrier network's gateway for line authentication (回線認証): a real reverse proxy,
//! Debian's `nginx`, in front of Sekisho's **line entry**.
//!
//! On the carrier's closed network the gateway knows which line (NTT FLET'S) a request comes
//! from and asserts it to Sekisho. Here every simulated line is its own nginx listener on
//! 127.0.0.1 (its own OS-chosen port), so "where the request arrives" is "which line it comes
//! from". Each listener `proxy_pass`es to the line entry over HTTPS, authenticating with the
//! gateway's **client certificate** (mutual TLS) from a test CA ([`TestPki`]), and sets
//! `X-Line-Number` and `X-Line-Area` itself: whatever the browser sent under those names is
//! dropped, never forwarded.
//!
//! Each [`CarrierGateway`] is its own nginx process (config, pid file, logs and temp folders in
//! `{target}/test-gateway/<name>/`), so gateways run in parallel; it is stopped when the value is
//! dropped, and also when the test process dies (nginx runs under a small `sh` watcher that
//! stops it when its stdin, a pipe this value holds, closes).
//!
//! # What each line's listener does
//!
//! - `http://127.0.0.1:P/…` ([`CarrierGateway::url`]) and, with the same behaviour, an HTTPS
//!   front `https://127.0.0.1:Q/…` ([`CarrierGateway::https_url`]) whose certificate is the
//!   [`TestPki`] server certificate (trust [`TestPki::ca_cert`]; names `localhost` and
//!   `127.0.0.1`). Use the HTTPS front when the client must keep `Secure` or `__Host-` cookies.
//! - Forwards the request unchanged (method, path, query, body) to `https://<upstream>/…` with
//!   `proxy_ssl_certificate` = [`TestPki::gateway_cert`], verifying the line entry's certificate
//!   against [`TestPki::ca_cert`] under the name [`TestPki::SERVER_NAME`] (also sent as SNI).
//! - Request headers it sets: `X-Line-Number`, `X-Line-Area` (the line's, as given to
//!   [`CarrierGateway::start`]; a client's own headers of these names, in any letter case and any
//!   number, are removed), `Host` (as the client sent it: the gateway's address),
//!   `X-Forwarded-For`, `X-Forwarded-Proto` (`http` or `https`, the front's), `X-Forwarded-Host`,
//!   `X-Forwarded-Port`. nginx drops header names with `_` (`X_Line_Number`) altogether.
//! - `Location` (and `Refresh`) headers of the answer that start with the configured public
//!   line URL (`public_line_base`) or the upstream's own address are rewritten to this listener's
//!   origin (path kept), so redirects keep the browser on the same line. `Set-Cookie` is passed
//!   unchanged (host-only cookies need no rewriting).
//! - If the line entry refuses the gateway's certificate (or its own does not verify), nginx
//!   answers `502 Bad Gateway` and says why in [`CarrierGateway::error_log`].
//!
//! # Pitfalls learnt
//!
//! - nginx opens its compiled-in error log (`/var/log/nginx/error.log`) before reading the
//!   config: `-e <dir>/error.log` (and `-p <dir>` as prefix) keep it off `/var`.
//! - As root without a `user` directive the workers run as `nobody`; here they run as `root`
//!   (`user root;`, written only when the launcher is root: otherwise nginx warns it is ignored).
//! - The temp folders (`client_body_temp_path`, `proxy_temp_path`, `fastcgi_`, `uwsgi_`,
//!   `scgi_temp_path`) default to `/var/lib/nginx`: all are set under the gateway's folder, or
//!   parallel gateways and non-root runs clash there.
//! - `proxy_ssl_verify on` checks the upstream's name with `X509_check_host`, a DNS-name check:
//!   the default name, the `proxy_pass` host `127.0.0.1`, does not match an IP SAN. So
//!   `proxy_ssl_name localhost;` (a DNS SAN of the server certificate) and
//!   `proxy_ssl_server_name on;` (SNI; off by default).
//! - `proxy_set_header NAME VALUE` also stops nginx passing the client's own `NAME` headers:
//!   that is what removes forged `X-Line-*` headers. An empty VALUE removes the header without
//!   setting one. `proxy_set_header` at one level hides all those of the outer levels, so every
//!   one is set in the `location`.
//! - `proxy_redirect` with explicit mappings disables the `default` one; both are written.
//! - nginx resumes TLS sessions with the line entry (`proxy_ssl_session_reuse` is on by default,
//!   as a real gateway's would be). An OpenSSL server that verifies client certificates must set
//!   a session ID context (`SSL_CTX_set_session_id_context`), or it answers a resumption with an
//!   `internal error` alert and nginx gives `502` from the second request on. The line entry
//!   must also take the client certificate from the resumed session.
//! - Debian's package installs nginx in `/usr/sbin`, not on every user's PATH: the launcher falls
//!   back to `/usr/sbin/nginx`. Its postinst may start the system nginx on port 80; nothing here
//!   uses it.
//! - Without `daemon off;` nginx forks away and the launcher loses it.

use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509Name, X509NameBuilder, X509};

use crate::nginx::{config_head, free_loopback_ports, Nginx};
use crate::{target_dir, unique_name};

/// Certificates are valid from a day before the wall clock (nginx and OpenSSL check against the
/// real time, not the test's fake clock) for ten years.
const VALID_DAYS: u32 = 3650;

/// A test PKI, as PEM files: the carrier CA, Sekisho's line-entry server certificate and the
/// gateway's client certificate (both signed by the CA), and an unrelated "rogue" CA with a client
/// certificate of its own (a gateway certificate from another CA: a forgery).
///
/// Keys are EC P-256 (instant to make). Certificates are valid from a day before the wall clock
/// for ten years.
#[derive(Debug, Clone)]
pub struct TestPki {
    pub dir: PathBuf,
    /// The test carrier CA: Sekisho's line entry trusts client certificates it signed.
    pub ca_cert: PathBuf,
    /// The line entry's server certificate: SAN `DNS:localhost`, `IP:127.0.0.1`; CN `localhost`.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// The gateway's client certificate (CN `test carrier gateway`), signed by the CA.
    pub gateway_cert: PathBuf,
    pub gateway_key: PathBuf,
    /// Another CA, unrelated to [`Self::ca_cert`].
    pub rogue_ca_cert: PathBuf,
    /// A client certificate (CN `rogue gateway`) signed by the rogue CA.
    pub rogue_client_cert: PathBuf,
    pub rogue_client_key: PathBuf,
}

impl TestPki {
    /// The DNS name the gateway expects on the line entry's certificate (`proxy_ssl_name`).
    pub const SERVER_NAME: &'static str = "localhost";
    /// Subject CN of [`Self::gateway_cert`].
    pub const GATEWAY_CN: &'static str = "test carrier gateway";
    /// Subject CN of [`Self::rogue_client_cert`].
    pub const ROGUE_CLIENT_CN: &'static str = "rogue gateway";

    /// Makes a new PKI under `{target}/test-gateway/<unique>/pki/`.
    pub fn create() -> anyhow::Result<Self> {
        let dir = target_dir()
            .join("test-gateway")
            .join(unique_name("pki"))
            .join("pki");
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let pki = Self {
            ca_cert: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            gateway_cert: dir.join("gateway.pem"),
            gateway_key: dir.join("gateway.key"),
            rogue_ca_cert: dir.join("rogue-ca.pem"),
            rogue_client_cert: dir.join("rogue-client.pem"),
            rogue_client_key: dir.join("rogue-client.key"),
            dir,
        };
        pki.write().context("making the test PKI")?;
        Ok(pki)
    }

    fn write(&self) -> anyhow::Result<()> {
        let (ca_key, ca) = make_ca("test carrier CA")?;
        write_pem(&self.ca_cert, &ca.to_pem()?)?;

        let (key, cert) = leaf(&ca_key, &ca, Self::SERVER_NAME, Leaf::Server)?;
        write_pem(&self.server_cert, &cert.to_pem()?)?;
        write_pem(&self.server_key, &key.private_key_to_pem_pkcs8()?)?;

        let (key, cert) = leaf(&ca_key, &ca, Self::GATEWAY_CN, Leaf::Client)?;
        write_pem(&self.gateway_cert, &cert.to_pem()?)?;
        write_pem(&self.gateway_key, &key.private_key_to_pem_pkcs8()?)?;

        let (rogue_key, rogue) = make_ca("rogue CA")?;
        write_pem(&self.rogue_ca_cert, &rogue.to_pem()?)?;
        let (key, cert) = leaf(&rogue_key, &rogue, Self::ROGUE_CLIENT_CN, Leaf::Client)?;
        write_pem(&self.rogue_client_cert, &cert.to_pem()?)?;
        write_pem(&self.rogue_client_key, &key.private_key_to_pem_pkcs8()?)?;
        Ok(())
    }
}

fn write_pem(path: &Path, pem: &[u8]) -> anyhow::Result<()> {
    fs::write(path, pem).with_context(|| format!("writing {}", path.display()))
}

fn new_key() -> anyhow::Result<PKey<Private>> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

/// A builder with a random serial, the subject CN `cn` and the validity window.
#[allow(
    clippy::disallowed_methods,
    reason = "nginx and OpenSSL check certificates against the real time, so the window is \
              anchored on the wall clock, not on a test's fake clock"
)]
fn builder(cn: &str, key: &PKey<Private>) -> anyhow::Result<(X509Builder, X509Name)> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = Asn1Integer::from_bn(&serial)?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_pubkey(key)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let not_before = i64::try_from(now).unwrap_or(i64::MAX) - 86_400;
    let not_before = Asn1Time::from_unix(not_before)?;
    b.set_not_before(&not_before)?;
    let not_after = Asn1Time::days_from_now(VALID_DAYS)?;
    b.set_not_after(&not_after)?;
    Ok((b, name))
}

fn make_ca(cn: &str) -> anyhow::Result<(PKey<Private>, X509)> {
    let key = new_key()?;
    let (mut b, name) = builder(cn, &key)?;
    b.set_issuer_name(&name)?;
    b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    b.sign(&key, MessageDigest::sha256())?;
    Ok((key, b.build()))
}

enum Leaf {
    Server,
    Client,
}

fn leaf(
    ca_key: &PKey<Private>,
    ca: &X509,
    cn: &str,
    kind: Leaf,
) -> anyhow::Result<(PKey<Private>, X509)> {
    let key = new_key()?;
    let (mut b, _) = builder(cn, &key)?;
    b.set_issuer_name(ca.subject_name())?;
    b.append_extension(BasicConstraints::new().critical().build()?)?;
    b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
    match kind {
        Leaf::Server => {
            b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
            let san = SubjectAlternativeName::new()
                .dns("localhost")
                .ip("127.0.0.1")
                .build(&b.x509v3_context(Some(ca), None))?;
            b.append_extension(san)?;
        }
        Leaf::Client => {
            b.append_extension(ExtendedKeyUsage::new().client_auth().build()?)?;
        }
    }
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(ca), None))?;
    b.append_extension(ski)?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&b.x509v3_context(Some(ca), None))?;
    b.append_extension(aki)?;
    b.sign(ca_key, MessageDigest::sha256())?;
    Ok((key, b.build()))
}

/// One simulated line's listeners.
#[derive(Debug, Clone)]
struct LinePorts {
    number: String,
    http: u16,
    https: u16,
}

/// A running nginx playing the carrier gateway, one listener pair per line; stopped on drop.
#[derive(Debug)]
pub struct CarrierGateway {
    nginx: Nginx,
    lines: Vec<LinePorts>,
}

impl CarrierGateway {
    /// Starts nginx with one plain-HTTP and one HTTPS listener on 127.0.0.1 per line of `lines`
    /// (`(number, area)`: asserted as given, so a test can also make the gateway assert a
    /// malformed number), each proxying to Sekisho's line entry at `https://{upstream}`.
    /// `Location` headers starting with `public_line_base` (the line entry's configured public
    /// URL, for example `https://localhost:8443`; any path in it is kept) are mapped back to the
    /// listener's own origin. Waits (bounded) until every port accepts connections.
    ///
    /// A value may not hold `"`, `\`, `$`, `{`, `}`, `;` or control characters (they would
    /// change nginx's configuration); an empty value makes the gateway send no such header.
    pub fn start(
        upstream: SocketAddr,
        lines: &[(&str, &str)],
        pki: &TestPki,
        public_line_base: &str,
    ) -> anyhow::Result<Self> {
        for (number, area) in lines {
            check_value("line number", number)?;
            check_value("line area", area)?;
        }
        check_value("public line base", public_line_base)?;
        if public_line_base.is_empty() {
            bail!("the public line base URL is empty");
        }
        let mut line_ports = Vec::new();
        let nginx = Nginx::start("gateway", |dir| {
            let ports = free_loopback_ports(lines.len() * 2)?;
            line_ports = lines
                .iter()
                .zip(ports.chunks(2))
                .map(|((number, _), pair)| LinePorts {
                    number: (*number).to_owned(),
                    http: pair[0],
                    https: pair[1],
                })
                .collect();
            let conf = config(dir, upstream, lines, &line_ports, pki, public_line_base)?;
            Ok((conf, ports))
        })?;
        Ok(Self {
            nginx,
            lines: line_ports,
        })
    }

    /// `http://127.0.0.1:P` (no trailing slash): line `number`'s plain-HTTP listener.
    ///
    /// # Panics
    /// When `number` is not one of the lines the gateway was started with.
    pub fn url(&self, number: &str) -> String {
        format!("http://127.0.0.1:{}", self.line(number).http)
    }

    /// `https://127.0.0.1:Q` (no trailing slash): line `number`'s HTTPS listener, with the
    /// [`TestPki`] server certificate (trust [`TestPki::ca_cert`]).
    ///
    /// # Panics
    /// When `number` is not one of the lines the gateway was started with.
    pub fn https_url(&self, number: &str) -> String {
        format!("https://127.0.0.1:{}", self.line(number).https)
    }

    fn line(&self, number: &str) -> &LinePorts {
        self.lines
            .iter()
            .find(|l| l.number == number)
            .unwrap_or_else(|| panic!("the gateway has no line {number:?}"))
    }

    /// The folder with `nginx.conf`, `error.log`, `access.log` (which logs the asserted line of
    /// each request) and `nginx.out`.
    pub fn log_dir(&self) -> &Path {
        self.nginx.dir()
    }

    /// nginx's error log so far (why a request got `502`, for example).
    pub fn error_log(&self) -> String {
        self.nginx.error_log()
    }
}

fn check_value(what: &str, value: &str) -> anyhow::Result<()> {
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() || matches!(c, '"' | '\\' | '$' | '{' | '}' | ';'))
    {
        bail!("the {what} {value:?} holds {c:?}, which nginx's configuration cannot carry as is");
    }
    Ok(())
}

/// `(origin, path)` of a URL such as `https://host:port/path` (path may be empty).
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, ""),
    }
}

fn config(
    dir: &Path,
    upstream: SocketAddr,
    lines: &[(&str, &str)],
    ports: &[LinePorts],
    pki: &TestPki,
    public_line_base: &str,
) -> anyhow::Result<String> {
    let mut c = config_head(
        dir,
        "$remote_addr \"$request\" $status line=$server_port \
         upstream=$upstream_addr upstream_status=$upstream_status",
    )?;
    c.push_str(
        "    # Header names with \"_\" are dropped, never passed (nginx's default; said for the \
         reader).\n    underscores_in_headers off;\n    ignore_invalid_headers on;\n",
    );
    let (_, base_path) = split_origin(public_line_base);
    for ((number, area), p) in lines.iter().zip(ports) {
        for (scheme, port) in [("http", p.http), ("https", p.https)] {
            let listen = if scheme == "https" {
                format!(
                    "listen 127.0.0.1:{port} ssl;\n        ssl_certificate \"{}\";\n        \
                     ssl_certificate_key \"{}\";",
                    pki.server_cert.display(),
                    pki.server_key.display()
                )
            } else {
                format!("listen 127.0.0.1:{port};")
            };
            writeln!(
                c,
                r#"    # line {number} ({area}), {scheme} front
    server {{
        {listen}
        server_name _;
        location / {{
            proxy_pass https://{upstream};
            proxy_ssl_certificate "{gateway_cert}";
            proxy_ssl_certificate_key "{gateway_key}";
            proxy_ssl_trusted_certificate "{ca}";
            proxy_ssl_verify on;
            proxy_ssl_verify_depth 2;
            proxy_ssl_name {server_name};
            proxy_ssl_server_name on;
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Port $server_port;
            proxy_set_header X-Line-Number "{number}";
            proxy_set_header X-Line-Area "{area}";
            proxy_redirect "{public_line_base}" "{scheme}://127.0.0.1:{port}{base_path}";
            proxy_redirect default;
        }}
    }}"#,
                gateway_cert = pki.gateway_cert.display(),
                gateway_key = pki.gateway_key.display(),
                ca = pki.ca_cert.display(),
                server_name = TestPki::SERVER_NAME,
            )?;
        }
    }
    c.push_str("}\n");
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_of_the_public_line_url_is_what_gets_replaced() {
        assert_eq!(
            split_origin("https://localhost:8443/VX5"),
            ("https://localhost:8443", "/VX5")
        );
        assert_eq!(
            split_origin("https://localhost:8443"),
            ("https://localhost:8443", "")
        );
    }

    #[test]
    fn values_that_would_change_the_configuration_are_refused() {
        assert!(check_value("line number", "CAF0123456789").is_ok());
        assert!(check_value("line number", " caf0123456789 ").is_ok());
        for bad in ["a\"b", "a;b", "$host", "a}b", "a\nb", "a\\b"] {
            assert!(check_value("line number", bad).is_err(), "{bad:?}");
        }
    }
}
