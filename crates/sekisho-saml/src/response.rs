//! Verification of a posted `SAMLResponse` (REQ-AD-5). In order, each failure its own
//! [`Rejection`]:
//!
//! 1. size (before decoding), base64, then the first reader ([`crate::xml`]): no DTD, no entity,
//!    no comment, bounded nodes;
//! 2. shape, on the raw document: a `samlp:Response` with exactly one `saml:Assertion`, its direct
//!    child, and no other assertion anywhere; every `ds:Signature` a direct child of the Response
//!    or of that Assertion and referring to its parent's ID; no encrypted assertion. This refuses
//!    the classic signature-wrapping placements before any signature is looked at;
//! 3. algorithms: RSA or ECDSA with SHA-256 or stronger, for the signature and every digest
//!    (SHA-1 refused);
//! 4. signatures, by libxmlsec1 through samael, with the connection's certificates only (never a
//!    key from the document's `KeyInfo`), every signature in the document must verify; samael
//!    then reduces the document to its signed part;
//! 5. the values of the login are read from that signed part only; then Issuer, Status, Audience,
//!    Destination, Recipient, the time window (with [`CLOCK_SKEW`]) and InResponseTo are checked.
//!
//! Replay (an assertion ID used twice) is refused by the caller, which keeps the IDs of
//! [`Verified::assertion_id`] until [`Verified::expires_at`] in the shared store.

use crate::limits::{CLOCK_SKEW, MAX_ASSERTION_AGE, MAX_RESPONSE_BASE64, MAX_SUBJECT};
use crate::sp::SpEndpoints;
use crate::xml::{is, read, XmlProblem, BEARER, DS, PERSISTENT, SAML, SAMLP, SUCCESS};
use crate::{unix, Certificate};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use samael::crypto::{AllowedSignatureAlgorithm, Crypto, CryptoProvider, ReduceMode};
use samael::schema::{Assertion, Response};

/// The signature algorithms accepted (SHA-1 and DSA are not).
const ALLOWED: [AllowedSignatureAlgorithm; 6] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// Where the stable subject of an AD user comes from. Never the email or the UPN alone: both
/// change (a marriage, a domain rename) and may be reassigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectSource {
    /// A `persistent` NameID (ADFS: the ImmutableID / objectGUID as NameID).
    PersistentNameId,
    /// An attribute holding an immutable value, named by its claim URI.
    Attribute(String),
}

/// What the response must match.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub idp_entity_id: &'a str,
    pub certs: &'a [Certificate],
    pub sp: &'a SpEndpoints,
    /// The ID of the outstanding AuthnRequest of this round trip.
    pub request_id: &'a str,
    pub subject: &'a SubjectSource,
    pub now: i64,
}

/// A verified login, every value from the signed element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub assertion_id: String,
    pub issuer: String,
    pub subject: String,
    /// Information only (never used to find or bind a user).
    pub email: Option<String>,
    pub upn: Option<String>,
    pub name: Option<String>,
    /// Until when the assertion could be replayed: its ID is kept that long.
    pub expires_at: i64,
}

/// Why a response was refused. Each has its own page and audit reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("response too large")]
    TooLarge,
    #[error("not base64")]
    NotBase64,
    #[error("malformed XML")]
    Malformed,
    #[error("DTD or entity")]
    Dtd,
    #[error("comment or processing instruction")]
    Comment,
    #[error("not a SAML Response")]
    NotAResponse,
    #[error("not signed")]
    Unsigned,
    #[error("signature wrapping")]
    Wrapped,
    #[error("weak signature algorithm")]
    WeakAlgorithm,
    #[error("signature invalid or by an unknown certificate")]
    Signature,
    #[error("IdP status not Success")]
    Status,
    #[error("wrong issuer")]
    Issuer,
    #[error("wrong audience")]
    Audience,
    #[error("wrong destination")]
    Destination,
    #[error("wrong recipient")]
    Recipient,
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
    #[error("unsolicited response")]
    Unsolicited,
    #[error("InResponseTo of another request")]
    InResponseTo,
    #[error("no usable subject")]
    NoSubject,
}

impl Rejection {
    /// The audit event's reason.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::TooLarge => "too_large",
            Rejection::NotBase64 => "not_base64",
            Rejection::Malformed => "malformed",
            Rejection::Dtd => "dtd",
            Rejection::Comment => "comment",
            Rejection::NotAResponse => "not_a_response",
            Rejection::Unsigned => "unsigned",
            Rejection::Wrapped => "wrapped",
            Rejection::WeakAlgorithm => "weak_algorithm",
            Rejection::Signature => "signature",
            Rejection::Status => "status",
            Rejection::Issuer => "issuer",
            Rejection::Audience => "audience",
            Rejection::Destination => "destination",
            Rejection::Recipient => "recipient",
            Rejection::Expired => "expired",
            Rejection::NotYetValid => "not_yet_valid",
            Rejection::Unsolicited => "unsolicited",
            Rejection::InResponseTo => "in_response_to",
            Rejection::NoSubject => "no_subject",
        }
    }
}

/// Decodes the posted value: size first, then base64 (line breaks allowed), then UTF-8.
pub fn decode(saml_response: &str) -> Result<String, Rejection> {
    if saml_response.len() > MAX_RESPONSE_BASE64 {
        return Err(Rejection::TooLarge);
    }
    let compact: String = saml_response
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = STANDARD.decode(compact).map_err(|_| Rejection::NotBase64)?;
    String::from_utf8(bytes).map_err(|_| Rejection::Malformed)
}

/// Verifies a posted `SAMLResponse` (base64) against `expected`.
pub fn verify_response(
    saml_response: &str,
    expected: &Expected<'_>,
) -> Result<Verified, Rejection> {
    let xml = decode(saml_response)?;
    verify_xml(&xml, expected)
}

/// The Response's own (envelope) values, read from the raw document: they are checked against
/// what is expected, never used as values of the login.
struct Envelope {
    destination: Option<String>,
    in_response_to: Option<String>,
    issuer: Option<String>,
    status: Option<String>,
}

/// [`verify_response`] on decoded XML.
pub fn verify_xml(xml: &str, expected: &Expected<'_>) -> Result<Verified, Rejection> {
    let envelope = check_shape(xml)?;
    let reduced = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &expected
            .certs
            .iter()
            .map(Certificate::samael)
            .collect::<Vec<_>>(),
        ReduceMode::ValidateAndMarkNoAncestors,
        Some(&ALLOWED),
    )
    .map_err(|_| Rejection::Signature)?;
    let assertion = signed_assertion(&reduced)?;
    check(&envelope, &assertion, expected)
}

/// Step 1–3 on the raw document.
fn check_shape(xml: &str) -> Result<Envelope, Rejection> {
    let doc = read(xml).map_err(|p| match p {
        XmlProblem::Dtd => Rejection::Dtd,
        XmlProblem::Comment => Rejection::Comment,
        XmlProblem::TooLarge => Rejection::TooLarge,
        XmlProblem::Malformed => Rejection::Malformed,
    })?;
    let root = doc.root_element();
    if !is(&root, SAMLP, "Response") {
        return Err(Rejection::NotAResponse);
    }
    if root
        .descendants()
        .any(|n| is(&n, SAML, "EncryptedAssertion"))
    {
        // Sekisho publishes no encryption key: an encrypted assertion is not from our ADFS trust.
        return Err(Rejection::Wrapped);
    }
    let assertions: Vec<_> = root
        .descendants()
        .filter(|n| is(n, SAML, "Assertion"))
        .collect();
    let [assertion] = assertions.as_slice() else {
        return Err(Rejection::Wrapped);
    };
    if assertion.parent_element() != Some(root) {
        return Err(Rejection::Wrapped);
    }
    let signatures: Vec<_> = root
        .descendants()
        .filter(|n| is(n, DS, "Signature"))
        .collect();
    if signatures.is_empty() {
        return Err(Rejection::Unsigned);
    }
    for signature in &signatures {
        let Some(parent) = signature.parent_element() else {
            return Err(Rejection::Wrapped);
        };
        if parent != root && parent != *assertion {
            return Err(Rejection::Wrapped);
        }
        let signed_info = signature
            .children()
            .find(|n| is(n, DS, "SignedInfo"))
            .ok_or(Rejection::Wrapped)?;
        let references: Vec<_> = signed_info
            .children()
            .filter(|n| is(n, DS, "Reference"))
            .collect();
        let id = parent.attribute("ID").ok_or(Rejection::Wrapped)?;
        let [reference] = references.as_slice() else {
            return Err(Rejection::Wrapped);
        };
        if reference.attribute("URI") != Some(&format!("#{id}")) {
            return Err(Rejection::Wrapped);
        }
        let method = signed_info
            .children()
            .find(|n| is(n, DS, "SignatureMethod"))
            .and_then(|n| n.attribute("Algorithm"));
        let digest = reference
            .children()
            .find(|n| is(n, DS, "DigestMethod"))
            .and_then(|n| n.attribute("Algorithm"));
        let allowed = ALLOWED
            .iter()
            .any(|a| Some(a.signature_uri()) == method && Some(a.digest_uri()) == digest);
        if !allowed {
            return Err(Rejection::WeakAlgorithm);
        }
    }
    // An ID attribute used twice would let a reference pick the wrong element.
    let mut ids: Vec<&str> = root
        .descendants()
        .filter_map(|n| n.attribute("ID"))
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != count {
        return Err(Rejection::Wrapped);
    }
    let text_of = |ns: &str, name: &str| {
        root.children()
            .find(|n| is(n, ns, name))
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
    };
    Ok(Envelope {
        destination: root.attribute("Destination").map(str::to_owned),
        in_response_to: root.attribute("InResponseTo").map(str::to_owned),
        issuer: text_of(SAML, "Issuer"),
        status: root
            .children()
            .find(|n| is(n, SAMLP, "Status"))
            .and_then(|s| s.children().find(|n| is(n, SAMLP, "StatusCode")))
            .and_then(|c| c.attribute("Value"))
            .map(str::to_owned),
    })
}

/// The assertion of the signed part (samael's reduction): the whole signed Response's
/// assertion, or the signed Assertion itself.
fn signed_assertion(reduced: &str) -> Result<Assertion, Rejection> {
    let doc = read(reduced).map_err(|_| Rejection::Signature)?;
    let root = doc.root_element();
    if is(&root, SAMLP, "Response") {
        let response: Response = reduced.parse().map_err(|_| Rejection::Malformed)?;
        match (response.assertion, response.encrypted_assertion) {
            (Some(a), None) => Ok(a),
            _ => Err(Rejection::Wrapped),
        }
    } else if is(&root, SAML, "Assertion") {
        reduced.parse().map_err(|_| Rejection::Malformed)
    } else {
        Err(Rejection::Unsigned)
    }
}

/// Step 5: the checks on the signed assertion (and the envelope).
fn check(envelope: &Envelope, a: &Assertion, ex: &Expected<'_>) -> Result<Verified, Rejection> {
    let now = ex.now;
    if envelope.status.as_deref().is_some_and(|s| s != SUCCESS) {
        return Err(Rejection::Status);
    }
    if envelope
        .issuer
        .as_deref()
        .is_some_and(|i| i != ex.idp_entity_id)
        || a.issuer.value.as_deref().map(str::trim) != Some(ex.idp_entity_id)
    {
        return Err(Rejection::Issuer);
    }
    let conditions = a.conditions.as_ref().ok_or(Rejection::Audience)?;
    let audience_ok = conditions
        .audience_restrictions
        .iter()
        .flatten()
        .any(|r| r.audience.iter().any(|aud| aud.trim() == ex.sp.entity_id));
    if !audience_ok {
        return Err(Rejection::Audience);
    }
    if envelope
        .destination
        .as_deref()
        .is_some_and(|d| d != ex.sp.acs_url)
    {
        return Err(Rejection::Destination);
    }
    let bearer = a
        .subject
        .as_ref()
        .and_then(|s| s.subject_confirmations.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| c.method.as_deref() == Some(BEARER))
        .filter_map(|c| c.subject_confirmation_data.as_ref())
        .collect::<Vec<_>>();
    let Some(data) = bearer
        .iter()
        .find(|d| d.recipient.as_deref() == Some(ex.sp.acs_url.as_str()))
    else {
        return Err(Rejection::Recipient);
    };
    // The time window: the conditions, the confirmation, and the assertion's age.
    let issued = unix(&a.issue_instant);
    if issued > now + CLOCK_SKEW
        || conditions
            .not_before
            .is_some_and(|t| unix(&t) > now + CLOCK_SKEW)
        || data.not_before.is_some_and(|t| unix(&t) > now + CLOCK_SKEW)
    {
        return Err(Rejection::NotYetValid);
    }
    let Some(confirmation_end) = data.not_on_or_after.as_ref().map(unix) else {
        return Err(Rejection::Expired);
    };
    let conditions_end = conditions.not_on_or_after.as_ref().map(unix);
    let expires_at = conditions_end.map_or(confirmation_end, |c| c.min(confirmation_end));
    if expires_at + CLOCK_SKEW <= now || issued + MAX_ASSERTION_AGE + CLOCK_SKEW < now {
        return Err(Rejection::Expired);
    }
    // InResponseTo: this round trip's request. None at all is an unsolicited (IdP-initiated)
    // response, refused.
    match (
        envelope.in_response_to.as_deref(),
        data.in_response_to.as_deref(),
    ) {
        (None, None) => return Err(Rejection::Unsolicited),
        (outer, inner) => {
            let matches = |v: Option<&str>| v.is_none_or(|v| v == ex.request_id);
            if inner.is_none() || !matches(outer) || !matches(inner) {
                return Err(Rejection::InResponseTo);
            }
        }
    }
    let attribute = |name: &str| {
        a.attribute_statements
            .iter()
            .flatten()
            .flat_map(|s| s.attributes.iter())
            .filter(|at| at.name.as_deref() == Some(name))
            .flat_map(|at| at.values.iter())
            .find_map(|v| v.value.clone())
            .map(|v| v.trim().to_owned())
    };
    let subject = match ex.subject {
        SubjectSource::PersistentNameId => a
            .subject
            .as_ref()
            .and_then(|s| s.name_id.as_ref())
            .filter(|n| n.format.as_deref() == Some(PERSISTENT))
            .map(|n| n.value.trim().to_owned()),
        SubjectSource::Attribute(name) => attribute(name),
    }
    .filter(|s| !s.is_empty() && s.len() <= MAX_SUBJECT)
    .ok_or(Rejection::NoSubject)?;
    Ok(Verified {
        assertion_id: a.id.clone(),
        issuer: ex.idp_entity_id.to_owned(),
        subject,
        email: attribute(claims::EMAIL),
        upn: attribute(claims::UPN),
        name: attribute(claims::NAME),
        expires_at,
    })
}

/// The ADFS claim types read (information only).
pub mod claims {
    pub const UPN: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
    pub const EMAIL: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
    pub const NAME: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
}

#[cfg(test)]
mod shape_tests {
    //! The shape checks past "one Assertion, a direct child of the Response" (which stops the
    //! classic wrapping placements first, see tests/attacks.rs): where a signature sits, what it
    //! refers to, and unique IDs. Synthetic documents: these refusals come before any signature
    //! is verified.
    use super::*;

    fn sp() -> SpEndpoints {
        SpEndpoints {
            entity_id: "https://sekisho.test/VX5/saml/adfs-AbCdEfGh12345678".into(),
            acs_url: "https://sekisho.test/VX5/saml/adfs-AbCdEfGh12345678/acs".into(),
        }
    }

    fn signature(uri: &str) -> String {
        format!(
            r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="{uri}"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>"##
        )
    }

    fn response(assertion_id: &str, in_assertion: &str, in_subject: &str) -> String {
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2030-01-01T00:00:00Z"><saml:Issuer>https://adfs.test/adfs/services/trust</saml:Issuer><saml:Assertion ID="{assertion_id}" Version="2.0" IssueInstant="2030-01-01T00:00:00Z"><saml:Issuer>https://adfs.test/adfs/services/trust</saml:Issuer>{in_assertion}<saml:Subject>{in_subject}<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">abc</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>"#
        )
    }

    fn verify(xml: &str) -> Result<Verified, Rejection> {
        let subject = SubjectSource::PersistentNameId;
        let sp = sp();
        verify_xml(
            xml,
            &Expected {
                idp_entity_id: "https://adfs.test/adfs/services/trust",
                certs: &[],
                sp: &sp,
                request_id: "_req",
                subject: &subject,
                now: sekisho_core::TEST_EPOCH,
            },
        )
    }

    // REQ-AD-5: a signature that is not a direct child of the Response or the Assertion (here
    // inside the Subject) is refused as wrapping.
    #[test]
    fn a_signature_deeper_in_the_assertion_is_refused() {
        let xml = response("_a1", "", &signature("#_a1"));
        assert_eq!(verify(&xml), Err(Rejection::Wrapped));
    }

    // REQ-AD-5: a signature whose Reference points elsewhere than its parent is refused.
    #[test]
    fn a_signature_referring_to_another_element_is_refused() {
        let xml = response("_a1", &signature("#_r1"), "");
        assert_eq!(verify(&xml), Err(Rejection::Wrapped));
        let xml = response("_a1", &signature(""), "");
        assert_eq!(verify(&xml), Err(Rejection::Wrapped));
    }

    // REQ-AD-5: an ID used twice (so a reference could pick the forged element) is refused.
    #[test]
    fn a_duplicate_id_is_refused() {
        let xml = response("_r1", &signature("#_r1"), "");
        assert_eq!(verify(&xml), Err(Rejection::Wrapped));
    }

    // The same document, well placed, passes the shape checks and fails only at the signature
    // (no certificate trusts it): the refusals above are the shape's.
    #[test]
    fn the_well_placed_document_reaches_the_signature_check() {
        let xml = response("_a1", &signature("#_a1"), "");
        assert_eq!(verify(&xml), Err(Rejection::Signature));
    }
}
