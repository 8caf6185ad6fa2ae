//! The IdP's federation metadata (ADFS: `/FederationMetadata/2007-06/FederationMetadata.xml`),
//! read for what an SP needs: the entity ID, the single sign-on endpoint and the token-signing
//! certificates. ADFS lists both certificates during its yearly rollover, so each is kept and
//! either verifies.
//!
//! The metadata's own signature is not checked: it comes from the contractor (pasted) or from
//! the contract's ADFS over the URL they gave, which is the trust anchor in both cases (as with
//! Shibboleth's and Keycloak's "import from URL").

use crate::limits::MAX_METADATA_BYTES;
use crate::xml::{is, read, XmlProblem, DS, MD, REDIRECT};
use crate::{Certificate, CertificateProblem};
use url::Url;

/// How the AuthnRequest goes to the IdP: HTTP-Redirect (the one binding Sekisho sends; the
/// response always comes back by HTTP-POST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoBinding {
    Redirect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    pub sso_url: Url,
    pub sso_binding: SsoBinding,
    /// The token-signing certificates; a response signed by any of them verifies.
    pub signing_certs: Vec<Certificate>,
}

/// What is wrong with given metadata: each has its own message on the settings page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MetadataProblem {
    #[error("the metadata is empty")]
    Empty,
    #[error("the metadata is larger than 1 MB")]
    TooLarge,
    #[error("the metadata is not well-formed XML")]
    NotXml,
    #[error("the metadata contains a DTD, which is refused")]
    Dtd,
    #[error("the document is not SAML metadata (no EntityDescriptor)")]
    NotEntityDescriptor,
    #[error("the metadata has no entityID")]
    NoEntityId,
    #[error("the metadata describes no identity provider (IDPSSODescriptor)")]
    NoIdpDescriptor,
    #[error("the identity provider has no SingleSignOnService for HTTP-Redirect")]
    NoSsoEndpoint,
    #[error("the SingleSignOnService location is not an https URL")]
    BadSsoUrl,
    #[error("the identity provider lists no signing certificate")]
    NoSigningCertificate,
    #[error("a signing certificate cannot be read")]
    BadCertificate,
    #[error("a signing certificate's key is too weak (RSA under 2048 bits)")]
    WeakKey,
    #[error("every signing certificate has expired")]
    Expired,
}

/// Reads and validates IdP metadata. `allow_http` lets a loopback SSO URL be plain http (tests
/// and development); production URLs must be https.
pub fn parse_idp_metadata(
    xml: &str,
    now: i64,
    allow_http: bool,
) -> Result<IdpMetadata, MetadataProblem> {
    if xml.trim().is_empty() {
        return Err(MetadataProblem::Empty);
    }
    if xml.len() > MAX_METADATA_BYTES {
        return Err(MetadataProblem::TooLarge);
    }
    let doc = read(xml).map_err(|p| match p {
        XmlProblem::Dtd => MetadataProblem::Dtd,
        XmlProblem::TooLarge => MetadataProblem::TooLarge,
        XmlProblem::Comment | XmlProblem::Malformed => MetadataProblem::NotXml,
    })?;
    let root = doc.root_element();
    // An aggregate (EntitiesDescriptor) is accepted when it holds one IdP.
    let entity = if is(&root, MD, "EntityDescriptor") {
        root
    } else if is(&root, MD, "EntitiesDescriptor") {
        root.descendants()
            .find(|n| {
                is(n, MD, "EntityDescriptor")
                    && n.children().any(|c| is(&c, MD, "IDPSSODescriptor"))
            })
            .ok_or(MetadataProblem::NoIdpDescriptor)?
    } else {
        return Err(MetadataProblem::NotEntityDescriptor);
    };
    let entity_id = entity
        .attribute("entityID")
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 1024)
        .ok_or(MetadataProblem::NoEntityId)?
        .to_owned();
    let idp = entity
        .children()
        .find(|n| is(n, MD, "IDPSSODescriptor"))
        .ok_or(MetadataProblem::NoIdpDescriptor)?;
    let endpoint = |binding: &str| {
        idp.children()
            .filter(|n| is(n, MD, "SingleSignOnService"))
            .find(|n| n.attribute("Binding") == Some(binding))
            .and_then(|n| n.attribute("Location"))
    };
    // Sekisho sends its AuthnRequest with the HTTP-Redirect binding (ADFS always offers it);
    // an IdP with only an HTTP-POST endpoint is refused rather than sent a request it would not
    // read.
    let (location, sso_binding) = match endpoint(REDIRECT) {
        Some(l) => (l, SsoBinding::Redirect),
        None => return Err(MetadataProblem::NoSsoEndpoint),
    };
    let sso_url = Url::parse(location.trim()).map_err(|_| MetadataProblem::BadSsoUrl)?;
    let loopback = matches!(
        sso_url.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]")
    );
    if !(sso_url.scheme() == "https" || (allow_http && loopback && sso_url.scheme() == "http")) {
        return Err(MetadataProblem::BadSsoUrl);
    }
    // Keys for signing: `use="signing"`, or no `use` (both uses).
    let mut signing_certs = Vec::new();
    for key in idp.children().filter(|n| is(n, MD, "KeyDescriptor")) {
        if !matches!(key.attribute("use"), None | Some("signing") | Some("")) {
            continue;
        }
        for text in key
            .descendants()
            .filter(|n| is(n, DS, "X509Certificate"))
            .filter_map(|n| n.text())
        {
            let cert = Certificate::from_base64(text).map_err(|p| match p {
                CertificateProblem::Unreadable => MetadataProblem::BadCertificate,
                CertificateProblem::WeakKey => MetadataProblem::WeakKey,
            })?;
            if !signing_certs.contains(&cert) {
                signing_certs.push(cert);
            }
        }
    }
    if signing_certs.is_empty() {
        return Err(MetadataProblem::NoSigningCertificate);
    }
    if signing_certs
        .iter()
        .all(|c| c.not_after().is_some_and(|end| end <= now))
    {
        return Err(MetadataProblem::Expired);
    }
    Ok(IdpMetadata {
        entity_id,
        sso_url,
        sso_binding,
        signing_certs,
    })
}
