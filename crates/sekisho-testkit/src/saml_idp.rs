//! A real SAML 2.0 identity provider playing ADFS: `tests/saml-idp/idp.py` runs pysaml2's
//! `saml2.server.Server` (PyPI, pinned in `tests/requirements.txt`; it signs through Debian's
//! `xmlsec1`) behind Python's `http.server` on 127.0.0.1.
//!
//! Each [`SamlIdp`] is its own Python process on its own port (the OS picks it), so tests run
//! in parallel without sharing users, trusted SPs or keys. The process is killed when the value
//! is dropped; it also exits by itself when the test process dies (it watches its stdin, a pipe
//! this value holds). Logs and keys go to `{target}/test-saml-idp/<name>/`.
//!
//! # What it serves (as ADFS does)
//!
//! - [`SamlIdp::metadata_url`]: `GET /FederationMetadata/2007-06/FederationMetadata.xml`, the
//!   IdP metadata, signed (RSA-SHA256): entity ID [`SamlIdp::entity_id`]
//!   (`http://127.0.0.1:P/adfs/services/trust`), `SingleSignOnService` at [`SamlIdp::sso_url`]
//!   (`/adfs/ls/`) for the HTTP-Redirect and HTTP-POST bindings, one `KeyDescriptor
//!   use="signing"` per listed certificate ([`SamlIdp::set_signing`]).
//! - `GET|POST /adfs/ls/`: an AuthnRequest from a registered SP (Redirect binding: deflated,
//!   base64, in the query; POST binding: base64 in the form) is answered at once with `200` and
//!   an HTML page whose form auto-posts (JavaScript `onload`) `SAMLResponse` and `RelayState`
//!   (echoed) to the SP's ACS: the ACS URL of the request, else the SP metadata's default. The
//!   Response and its Assertion are both signed (enveloped, exclusive c14n, RSA-SHA256,
//!   SHA-256, the signing certificate in `KeyInfo`); `InResponseTo` is the request's ID; the
//!   NameID is persistent (= the user's ImmutableID, `SPNameQualifier` = the SP); the
//!   attributes are ADFS claim URIs (`NameFormat` uri): `…/claims/upn`, `…/claims/emailaddress`,
//!   `…/claims/name` and `http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID`;
//!   `AuthnContextClassRef` is `urn:federation:authentication:windows`; the assertion lives an
//!   hour. A request from an SP that is not registered, or one that does not parse, gets `400`
//!   with a text body.
//! - [`SamlIdp::idp_initiated_url`]: `GET /adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=SP`, ADFS's
//!   IdP-initiated sign-on: the same auto-posting page with an unsolicited response (no
//!   `InResponseTo`) to the SP metadata's default ACS.
//! - [`SamlIdp::set_hash_algorithm`]: the relying-party trust's "Secure hash algorithm" of ADFS,
//!   `sha256` (the default) or `sha1` (RSA-SHA1 over SHA-1 digests: what an SP must refuse).
//! - There is no login form: like ADFS with Windows integrated authentication, whoever
//!   [`SamlIdp::set_user`] chose last is signed in (at start `user@ad.example`).
//!
//! # Time
//!
//! [`SamlIdp::start_at`] sets the IdP's clock to the test's fake "now" (seconds since the Unix
//! epoch); it runs on in real time from there, and [`SamlIdp::clock`] moves it (the same
//! `POST /_test/clock` protocol as the upstream OpenID providers, so a test clock that drives
//! [`UpstreamClock`]s drives this one too). `IssueInstant`, `NotBefore`, `NotOnOrAfter` and
//! `AuthnInstant` follow it, and the certificates are valid from a day before the IdP's "now"
//! at their creation for two years. [`SamlIdp::start`] leaves it on the wall clock.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::upstream::UpstreamClock;
use crate::{target_dir, unique_name, workspace_root};

const PYTHON: &str = "python3";
/// ADFS's metadata path (also in the ready line, as a URL).
const METADATA_PATH: &str = "/FederationMetadata/2007-06/FederationMetadata.xml";
/// Longest wait for the ready line: Python, pysaml2's imports and an RSA key take about a second
/// on an idle machine; a loaded CI machine is slower.
// Only an upper bound: peers start in about a second on an idle machine, but the whole suite on
// two cores once kept an oidc-provider from printing its ready line for over 30 s.
const READY_WITHIN: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(50);
/// Longest wait for a control request (a new certificate means an RSA key generation).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// The claim URIs ADFS sends, which the IdP uses as attribute names.
pub mod claims {
    pub const UPN: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
    pub const EMAIL: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
    pub const NAME: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
    pub const IMMUTABLE_ID: &str =
        "http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID";
}

/// The user the IdP signs in, as it will state them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlUser {
    pub upn: String,
    /// The ImmutableID claim and the persistent NameID: base64 of 16 bytes, like an AD
    /// objectGUID. Unless chosen, derived from the UPN (the same UPN gets the same value).
    pub immutable_id: String,
    pub email: String,
    pub name: String,
}

/// The IdP's signing set-up: the certificates its metadata lists and the one that signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlSigning {
    /// (name, base64 DER as in the metadata's `X509Certificate`), in the metadata's order.
    pub certs: Vec<(String, String)>,
    /// The name of the certificate whose key signs responses (and its base64 DER).
    pub sign_with: String,
    pub sign_with_cert: String,
}

impl SamlSigning {
    /// The base64 DER of the certificate named `name`, when listed.
    pub fn cert(&self, name: &str) -> Option<&str> {
        self.certs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.as_str())
    }
}

/// Wraps a base64 DER certificate (as in metadata) in PEM, for tools such as `xmlsec1`.
pub fn cert_pem(base64_der: &str) -> String {
    let body: String = base64_der.split_whitespace().collect();
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// A running SAML IdP playing ADFS on 127.0.0.1, killed on drop.
#[derive(Debug)]
pub struct SamlIdp {
    port: u16,
    entity_id: String,
    metadata_url: String,
    sso_url: String,
    dir: PathBuf,
    child: Option<Child>,
    /// Held open: the script exits when it closes (that is, when this process dies).
    _stdin: Option<ChildStdin>,
}

impl SamlIdp {
    /// Starts an IdP on the wall clock, with signing certificate `a` and user
    /// `user@ad.example`, and waits (bounded) until it is ready.
    pub fn start() -> anyhow::Result<Self> {
        Self::launch(None)
    }

    /// [`Self::start`] with the IdP's clock set to `now` (seconds since the Unix epoch: the
    /// test's fake clock), running on from there; [`Self::clock`] moves it later.
    pub fn start_at(now: i64) -> anyhow::Result<Self> {
        Self::launch(Some(now))
    }

    fn launch(now: Option<i64>) -> anyhow::Result<Self> {
        let dir = target_dir().join("test-saml-idp").join(unique_name("idp"));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let stdout_file = dir.join("stdout.log");
        let stderr_file = dir.join("stderr.log");
        let stdout = fs::File::create(&stdout_file)
            .with_context(|| format!("creating {}", stdout_file.display()))?;
        let stderr = fs::File::create(&stderr_file)
            .with_context(|| format!("creating {}", stderr_file.display()))?;
        let mut command = Command::new(PYTHON);
        command.arg(script()).arg(dir.join("keys"));
        if let Some(now) = now {
            command.arg("--now").arg(now.to_string());
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| {
                format!(
                    "running {PYTHON} {}: the SAML IdP needs Python 3 with pysaml2 \
                     (tests/requirements.txt) and Debian's xmlsec1; run scripts/test",
                    script().display()
                )
            })?;
        let stdin = child.stdin.take();
        let mut idp = Self {
            port: 0,
            entity_id: String::new(),
            metadata_url: String::new(),
            sso_url: String::new(),
            dir,
            child: Some(child),
            _stdin: stdin,
        };
        // On an error `idp` is dropped here, which kills the process.
        let ready = idp.wait_until_ready()?;
        let text = |key: &str| {
            ready
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("no {key} in the ready line {ready}"))
        };
        idp.port = ready
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .with_context(|| format!("no port in the ready line {ready}"))?;
        idp.entity_id = text("entity_id")?;
        idp.metadata_url = text("metadata")?;
        idp.sso_url = text("sso")?;
        Ok(idp)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:P/adfs/services/trust`: the `entityID` and every `Issuer`.
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    /// `http://127.0.0.1:P/FederationMetadata/2007-06/FederationMetadata.xml`.
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// `http://127.0.0.1:P/adfs/ls/`: the SSO endpoint for both bindings.
    pub fn sso_url(&self) -> &str {
        &self.sso_url
    }

    /// The folder with the script's `stdout.log`, `stderr.log` and `keys/`.
    pub fn log_dir(&self) -> &Path {
        &self.dir
    }

    /// The current metadata document.
    pub fn metadata(&self) -> anyhow::Result<String> {
        self.request("GET", METADATA_PATH, None)
    }

    /// Signs in `upn` from now on (no form, like Windows integrated authentication). Without
    /// `immutable_id` the IdP derives a stable one from the UPN; without `email` it is the UPN.
    pub fn set_user(
        &self,
        upn: &str,
        immutable_id: Option<&str>,
        email: Option<&str>,
    ) -> anyhow::Result<SamlUser> {
        let body = json!({ "upn": upn, "immutable_id": immutable_id, "email": email });
        let v = self.control("/_test/user", Some(&body))?;
        let text = |key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("no {key} in {v}"))
        };
        Ok(SamlUser {
            upn: text("upn")?,
            immutable_id: text("immutable_id")?,
            email: text("email")?,
            name: text("name")?,
        })
    }

    /// Trusts the SP described by `xml` (its entity ID and ACS); returns its entity ID.
    pub fn register_sp_metadata(&self, xml: &str) -> anyhow::Result<String> {
        self.register_sp(&json!({ "metadata": xml }))
    }

    /// Trusts the SP whose metadata the IdP fetches from `url` once, now (as ADFS's relying
    /// party trust "from a URL"); returns its entity ID.
    pub fn register_sp_metadata_url(&self, url: &str) -> anyhow::Result<String> {
        self.register_sp(&json!({ "url": url }))
    }

    fn register_sp(&self, body: &Value) -> anyhow::Result<String> {
        let v = self.control("/_test/sp", Some(body))?;
        v.get("entity_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("the IdP did not name one SP entity ID: {v}"))
    }

    /// Token-signing certificate rollover: the metadata lists `certs` (in this order) and
    /// responses are signed with `sign_with` (which need not be listed: a certificate the SP
    /// does not know). Names are the test's own (letters and digits); a new name gets a new
    /// RSA-2048 self-signed certificate. At start: `(["a"], "a")`.
    pub fn set_signing(&self, certs: &[&str], sign_with: &str) -> anyhow::Result<SamlSigning> {
        let v = self.control(
            "/_test/signing",
            Some(&json!({ "certs": certs, "sign_with": sign_with })),
        )?;
        parse_signing(&v)
    }

    /// ADFS's relying-party "Secure hash algorithm": `"sha256"` (at start) or `"sha1"`, for the
    /// responses signed from now on.
    pub fn set_hash_algorithm(&self, algorithm: &str) -> anyhow::Result<()> {
        self.control("/_test/hash", Some(&json!({ "algorithm": algorithm })))?;
        Ok(())
    }

    /// ADFS's IdP-initiated sign-on page for the SP `sp_entity_id` (a `GET` answers the
    /// auto-posting page with an unsolicited response).
    pub fn idp_initiated_url(&self, sp_entity_id: &str) -> String {
        let mut url = format!(
            "http://127.0.0.1:{}/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=",
            self.port
        );
        url.extend(sp_entity_id.bytes().map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        }));
        url
    }

    /// The current signing set-up.
    pub fn signing(&self) -> anyhow::Result<SamlSigning> {
        parse_signing(&self.control("/_test/signing", None)?)
    }

    /// A handle that moves this IdP's clock, to keep with the test's clock.
    pub fn clock(&self) -> UpstreamClock {
        UpstreamClock::at(SocketAddr::from(([127, 0, 0, 1], self.port)))
    }

    /// A JSON control request; an error unless the IdP answers 200.
    fn control(&self, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let method = if body.is_some() { "POST" } else { "GET" };
        let answer = self.request(method, path, body.map(Value::to_string).as_deref())?;
        serde_json::from_str(&answer).with_context(|| format!("{path} answered: {answer}"))
    }

    /// One HTTP/1.0-style exchange (the server closes after each answer); the body of a 200.
    fn request(&self, method: &str, path: &str, body: Option<&str>) -> anyhow::Result<String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let body = body.unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let answer = (|| -> std::io::Result<Vec<u8>> {
            let mut stream = TcpStream::connect_timeout(&addr, CONTROL_TIMEOUT)?;
            stream.set_read_timeout(Some(CONTROL_TIMEOUT))?;
            stream.set_write_timeout(Some(CONTROL_TIMEOUT))?;
            stream.write_all(request.as_bytes())?;
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer)?;
            Ok(answer)
        })()
        .with_context(|| format!("{method} {path} at the SAML IdP on {addr}"))?;
        let answer = String::from_utf8_lossy(&answer);
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head.split(' ').nth(1).unwrap_or_default();
        if status != "200" {
            bail!("{method} {path} at the SAML IdP answered {status}: {body}");
        }
        Ok(body.to_owned())
    }

    /// Polls (bounded) `stdout.log` for the one JSON line the script prints when it listens.
    #[allow(
        clippy::disallowed_methods,
        reason = "waits (bounded, in real time) for the Python process to listen"
    )]
    fn wait_until_ready(&mut self) -> anyhow::Result<Value> {
        let started = Instant::now();
        let stdout_file = self.dir.join("stdout.log");
        loop {
            // Read the output before looking at the exit status, so a line written just before
            // an exit is not missed.
            let out = fs::read_to_string(&stdout_file).unwrap_or_default();
            if let Some(ready) = out
                .lines()
                .take_while(|_| out.ends_with('\n'))
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|v| v.get("port").is_some())
            {
                return Ok(ready);
            }
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    bail!(
                        "the SAML IdP exited at start ({status}):\n{}",
                        fs::read_to_string(self.dir.join("stderr.log"))
                            .unwrap_or_default()
                            .trim_end()
                    );
                }
            }
            if started.elapsed() > READY_WITHIN {
                bail!(
                    "the SAML IdP was not ready within {READY_WITHIN:?} (logs: {})",
                    self.dir.display()
                );
            }
            sleep(POLL);
        }
    }
}

impl Drop for SamlIdp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn parse_signing(v: &Value) -> anyhow::Result<SamlSigning> {
    let certs = v
        .get("certs")
        .and_then(Value::as_array)
        .with_context(|| format!("no certs in {v}"))?
        .iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([Value::String(name), Value::String(cert)]) => Ok((name.clone(), cert.clone())),
            _ => bail!("a certificate is not a [name, base64] pair: {pair}"),
        })
        .collect::<anyhow::Result<_>>()?;
    let text = |key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("no {key} in {v}"))
    };
    Ok(SamlSigning {
        certs,
        sign_with: text("sign_with")?,
        sign_with_cert: text("sign_with_cert")?,
    })
}

fn script() -> PathBuf {
    workspace_root()
        .join("tests")
        .join("saml-idp")
        .join("idp.py")
}
