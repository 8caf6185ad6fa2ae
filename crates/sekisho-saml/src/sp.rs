//! The SP side: Sekisho's signing key for AuthnRequests (with the self-signed certificate that
//! ADFS reads from the SP metadata) and the SP metadata of a connection.

use crate::xml::{escape, POST, SAMLP};
use crate::Certificate;
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};

/// How long an SP certificate is valid. The key rotates well before (see the store's SAML keys);
/// ADFS does not check the SP certificate's dates for request signatures, the validity only has
/// to be sane.
pub const CERT_VALIDITY: i64 = 5 * 365 * 86_400;

/// The SP's signing key and its certificate.
#[derive(Clone)]
pub struct SpKey {
    key: PKey<Private>,
    cert: Certificate,
}

impl std::fmt::Debug for SpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpKey")
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

/// The key or certificate could not be made or read.
#[derive(Debug, thiserror::Error)]
#[error("SAML SP key: {0}")]
pub struct KeyError(String);

fn key_error(e: impl std::fmt::Display) -> KeyError {
    KeyError(e.to_string())
}

pub(crate) fn key_error_text(e: String) -> KeyError {
    KeyError(e)
}

impl SpKey {
    /// A new RSA-2048 key and a self-signed certificate valid from `now` (a minute early, for
    /// clock skew) for [`CERT_VALIDITY`].
    pub fn generate(common_name: &str, now: i64) -> Result<Self, KeyError> {
        let rsa = Rsa::generate(2048).map_err(key_error)?;
        let key = PKey::from_rsa(rsa).map_err(key_error)?;
        let mut name = X509NameBuilder::new().map_err(key_error)?;
        let cn: String = common_name.chars().take(64).collect();
        name.append_entry_by_text("CN", &cn).map_err(key_error)?;
        let name = name.build();
        let mut builder = X509Builder::new().map_err(key_error)?;
        builder.set_version(2).map_err(key_error)?;
        let serial = BigNum::from_slice(&rand::random::<[u8; 16]>()).map_err(key_error)?;
        let serial = Asn1Integer::from_bn(&serial).map_err(key_error)?;
        builder.set_serial_number(&serial).map_err(key_error)?;
        builder.set_subject_name(&name).map_err(key_error)?;
        builder.set_issuer_name(&name).map_err(key_error)?;
        builder.set_pubkey(&key).map_err(key_error)?;
        let from = Asn1Time::from_unix(now - 60).map_err(key_error)?;
        let until = Asn1Time::from_unix(now + CERT_VALIDITY).map_err(key_error)?;
        builder.set_not_before(&from).map_err(key_error)?;
        builder.set_not_after(&until).map_err(key_error)?;
        builder
            .sign(&key, MessageDigest::sha256())
            .map_err(key_error)?;
        let der = builder.build().to_der().map_err(key_error)?;
        let cert = Certificate::from_der(der).map_err(key_error)?;
        Ok(Self { key, cert })
    }

    /// From the stored PKCS#8 DER key and certificate DER.
    pub fn from_der(key_pkcs8: &[u8], cert_der: Vec<u8>) -> Result<Self, KeyError> {
        let key = PKey::private_key_from_pkcs8(key_pkcs8).map_err(key_error)?;
        let cert = Certificate::from_der(cert_der).map_err(key_error)?;
        Ok(Self { key, cert })
    }

    /// The private key as PKCS#8 DER, to be stored encrypted.
    pub fn key_pkcs8(&self) -> Result<Vec<u8>, KeyError> {
        self.key.private_key_to_pkcs8().map_err(key_error)
    }

    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    pub(crate) fn private(&self) -> &PKey<Private> {
        &self.key
    }
}

/// Where a connection's SP lives: its entity ID (also the metadata URL) and its ACS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpEndpoints {
    pub entity_id: String,
    pub acs_url: String,
}

/// The SP metadata a contractor gives ADFS (or ADFS fetches) to make the relying-party trust.
/// `signing` are the certificates of every SP key in use or about to be (so ADFS knows a new key
/// before it signs). Written by hand rather than with samael's builder, which stamps
/// `validUntil` from the wall clock.
pub fn sp_metadata(sp: &SpEndpoints, signing: &[Certificate]) -> String {
    sp_metadata_with_acs(sp, &[], signing)
}

/// [`sp_metadata`] listing more ACS URLs after the default one (the line entry's, for AD
/// logins over line authentication).
pub fn sp_metadata_with_acs(
    sp: &SpEndpoints,
    more_acs: &[String],
    signing: &[Certificate],
) -> String {
    let keys: String = signing
        .iter()
        .map(|c| {
            format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                c.to_base64()
            )
        })
        .collect();
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}">"#,
            r#"<md:SPSSODescriptor protocolSupportEnumeration="{samlp}" AuthnRequestsSigned="true" WantAssertionsSigned="true">"#,
            "{keys}",
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
            r#"<md:AssertionConsumerService Binding="{post}" Location="{acs}" index="0" isDefault="true"/>"#,
            "{more}",
            r#"</md:SPSSODescriptor></md:EntityDescriptor>"#
        ),
        entity = escape(&sp.entity_id),
        samlp = SAMLP,
        keys = keys,
        post = POST,
        acs = escape(&sp.acs_url),
        more = more_acs
            .iter()
            .enumerate()
            .map(|(i, url)| format!(
                r#"<md:AssertionConsumerService Binding="{POST}" Location="{}" index="{}"/>"#,
                escape(url),
                i + 1
            ))
            .collect::<String>(),
    )
}
