//! The SAML 2.0 service provider (SP) of Active Directory login (REQ-AD-1 … REQ-AD-5): each
//! contract's ADFS is an identity provider (IdP), Sekisho is the SP. This crate does the SAML and
//! nothing else: no HTTP, no storage, no clock of its own (every check takes `now`).
//!
//! - [`metadata`]: the IdP's federation metadata, validated (entity ID, SSO endpoint, signing
//!   certificates), each problem named.
//! - [`sp`]: the SP's signing key and certificate, and the SP metadata Sekisho publishes.
//! - [`request`]: the signed AuthnRequest (HTTP-Redirect binding).
//! - [`response`]: the verification of a posted `SAMLResponse`; the values of a login are taken
//!   only from the signed element.
//!
//! Invariant: untrusted XML (a response, metadata) is first read by a parser that refuses DTDs
//! (so no entity is ever expanded and no external entity fetched), comments and oversized input
//! ([`limits`]); only then does libxmlsec1 (through `samael`) see it.

pub mod metadata;
pub mod request;
pub mod response;
pub mod sp;
mod xml;

pub use metadata::{parse_idp_metadata, IdpMetadata, MetadataProblem, SsoBinding};
pub use request::{authn_request, AuthnRequestOut};
pub use response::{verify_response, Expected, Rejection, SubjectSource, Verified};
pub use sp::{sp_metadata, sp_metadata_with_acs, KeyError, SpEndpoints, SpKey};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The documented size limits of SAML input.
pub mod limits {
    /// A posted `SAMLResponse` (base64). ADFS's responses are 5–15 KB; 10 MB ones are refused
    /// before decoding.
    pub const MAX_RESPONSE_BASE64: usize = 256 * 1024;
    /// Federation metadata (pasted or fetched). ADFS's is 50–100 KB.
    pub const MAX_METADATA_BYTES: usize = 1024 * 1024;
    /// XML nodes in one document (elements, attributes' text, …).
    pub const MAX_NODES: u32 = 50_000;
    /// Clock difference tolerated between ADFS and Sekisho, in seconds.
    pub const CLOCK_SKEW: i64 = 120;
    /// How old an assertion's `IssueInstant` may be (plus the skew), in seconds.
    pub const MAX_ASSERTION_AGE: i64 = 5 * 60;
    /// A subject (NameID or immutable claim) longer than this is refused.
    pub const MAX_SUBJECT: usize = 256;
}

/// An X.509 certificate (DER), as found in metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate(Vec<u8>);

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Certificate({})", self.fingerprint())
    }
}

/// A certificate that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CertificateProblem {
    #[error("not an X.509 certificate")]
    Unreadable,
    /// An RSA key under 2048 bits, or a key type we do not verify with.
    #[error("the key is too weak (RSA under 2048 bits) or of an unsupported type")]
    WeakKey,
}

impl Certificate {
    /// From base64 DER (the text of `ds:X509Certificate`; whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, CertificateProblem> {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = STANDARD
            .decode(compact)
            .map_err(|_| CertificateProblem::Unreadable)?;
        Self::from_der(der)
    }

    pub fn from_der(der: Vec<u8>) -> Result<Self, CertificateProblem> {
        let x509 =
            openssl::x509::X509::from_der(&der).map_err(|_| CertificateProblem::Unreadable)?;
        let key = x509
            .public_key()
            .map_err(|_| CertificateProblem::Unreadable)?;
        let strong = match key.id() {
            openssl::pkey::Id::RSA => key.bits() >= 2048,
            openssl::pkey::Id::EC => key.bits() >= 256,
            _ => false,
        };
        if !strong {
            return Err(CertificateProblem::WeakKey);
        }
        Ok(Self(der))
    }

    pub fn der(&self) -> &[u8] {
        &self.0
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.0)
    }

    /// SHA-256 of the DER, as ADFS's console shows thumbprints (hex, upper case).
    pub fn fingerprint(&self) -> String {
        Sha256::digest(&self.0)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// The end of validity (Unix time), if readable.
    pub fn not_after(&self) -> Option<i64> {
        let x509 = openssl::x509::X509::from_der(&self.0).ok()?;
        let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
        let diff = epoch.diff(x509.not_after()).ok()?;
        Some(i64::from(diff.days) * 86_400 + i64::from(diff.secs))
    }

    /// The subject's common name, for the configuration page.
    pub fn subject(&self) -> String {
        openssl::x509::X509::from_der(&self.0)
            .ok()
            .and_then(|x| {
                x.subject_name()
                    .entries()
                    .filter_map(|e| e.data().to_string().ok())
                    .next()
            })
            .unwrap_or_default()
    }

    pub(crate) fn samael(&self) -> samael::crypto::CertificateDer {
        samael::crypto::CertificateDer::from(self.0.clone())
    }
}

/// Unix time to a `chrono` instant and back (samael's types carry `chrono`).
pub(crate) fn unix(t: &chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn instant(t: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t, 0).unwrap_or_default()
}
