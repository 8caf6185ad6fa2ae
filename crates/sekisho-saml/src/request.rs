//! The AuthnRequest of an SP-initiated login, sent with the HTTP-Redirect binding and signed
//! (RSA-SHA256 over the query, SAML bindings §3.4.4.1).

use crate::instant;
use crate::metadata::IdpMetadata;
use crate::sp::KeyError;
use crate::sp::{SpEndpoints, SpKey};
use crate::xml::{PERSISTENT, POST};
use samael::schema::{AuthnRequest, Issuer, NameIdPolicy};
use url::Url;

/// A request on its way: its ID (kept to match `InResponseTo`) and the URL to send the browser to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequestOut {
    pub id: String,
    pub url: Url,
}

/// A new request ID: an XML NCName (`_` and 32 hex digits, 128 random bits).
fn request_id() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("_{hex}")
}

/// Builds and signs an AuthnRequest to `idp` for `sp`. `relay_state` is the round trip's
/// single-use token.
pub fn authn_request(
    sp: &SpEndpoints,
    idp: &IdpMetadata,
    key: &SpKey,
    relay_state: &str,
    now: i64,
) -> Result<AuthnRequestOut, KeyError> {
    let id = request_id();
    let request = AuthnRequest {
        id: id.clone(),
        version: "2.0".into(),
        issue_instant: instant(now),
        destination: Some(idp.sso_url.to_string()),
        issuer: Some(Issuer {
            value: Some(sp.entity_id.clone()),
            ..Issuer::default()
        }),
        name_id_policy: Some(NameIdPolicy {
            format: Some(PERSISTENT.into()),
            allow_create: Some(true),
            ..NameIdPolicy::default()
        }),
        assertion_consumer_service_url: Some(sp.acs_url.clone()),
        protocol_binding: Some(POST.into()),
        ..AuthnRequest::default()
    };
    let url = request
        .signed_redirect(relay_state, key.private())
        .map_err(|e| crate::sp::key_error_text(e.to_string()))?
        .ok_or_else(|| crate::sp::key_error_text("no destination".into()))?;
    Ok(AuthnRequestOut { id, url })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::SsoBinding;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use samael::crypto::UrlVerifier;
    use std::io::Read;

    const NOW: i64 = sekisho_core::TEST_EPOCH;

    fn sp() -> SpEndpoints {
        SpEndpoints {
            entity_id: "https://id.example.jp/VX5/saml/adfs-AAAAAAAAAAAAAAAA".into(),
            acs_url: "https://id.example.jp/VX5/saml/adfs-AAAAAAAAAAAAAAAA/acs".into(),
        }
    }

    fn idp() -> IdpMetadata {
        IdpMetadata {
            entity_id: "http://adfs.example.co.jp/adfs/services/trust".into(),
            sso_url: Url::parse("https://adfs.example.co.jp/adfs/ls/").unwrap(),
            sso_binding: SsoBinding::Redirect,
            signing_certs: Vec::new(),
        }
    }

    // REQ-AD-4: the AuthnRequest goes out signed (RSA-SHA256 over the query) with the SP key
    // whose certificate the SP metadata publishes; another key's certificate does not verify it.
    #[test]
    fn the_authn_request_is_signed_with_the_sp_key() {
        let key = SpKey::generate("test SP", NOW).unwrap();
        let other = SpKey::generate("other", NOW).unwrap();
        let out = authn_request(&sp(), &idp(), &key, "relay-123", NOW).unwrap();
        let ours = UrlVerifier::from_x509(&key.certificate().samael()).unwrap();
        assert!(ours.verify_signed_request_url(&out.url).unwrap());
        let theirs = UrlVerifier::from_x509(&other.certificate().samael()).unwrap();
        assert!(!theirs.verify_signed_request_url(&out.url).unwrap_or(false));
        assert!(out
            .url
            .as_str()
            .starts_with("https://adfs.example.co.jp/adfs/ls/?"));
        let query: std::collections::HashMap<_, _> = out.url.query_pairs().collect();
        assert_eq!(query["RelayState"], "relay-123");
        assert_eq!(
            query["SigAlg"],
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        );
        let deflated = STANDARD.decode(query["SAMLRequest"].as_bytes()).unwrap();
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(&deflated[..])
            .read_to_string(&mut xml)
            .unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute("ID"), Some(out.id.as_str()));
        assert_eq!(
            root.attribute("IssueInstant"),
            Some("2030-01-01T00:00:00.000Z")
        );
        assert_eq!(
            root.attribute("AssertionConsumerServiceURL"),
            Some(sp().acs_url.as_str())
        );
        assert!(xml.contains(&sp().entity_id) && xml.contains(crate::xml::PERSISTENT));
        // A fresh, unguessable ID each time (InResponseTo is matched against it).
        let again = authn_request(&sp(), &idp(), &key, "relay-123", NOW).unwrap();
        assert_ne!(again.id, out.id);
        assert_eq!(out.id.len(), 33);
    }
}
