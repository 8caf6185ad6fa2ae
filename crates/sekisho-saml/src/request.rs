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
