//! Property tests of the parsers that take untrusted SAML input (REQ-AD-5: "the parsers that take
//! untrusted SAML input are fuzzed"), run with every `cargo test`: arbitrary input and mutations
//! of REAL documents of the test IdP (a response, its metadata) never panic, and a mutated
//! response is never accepted with anything but the original's values. The bounded case counts
//! keep this under 30 s in a debug build; the open-ended fuzzing is `fuzz/` (cargo fuzz).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use proptest::prelude::*;
use sekisho_core::TEST_EPOCH;
use sekisho_saml::response::decode;
use sekisho_saml::{
    authn_request, parse_idp_metadata, sp_metadata, verify_response, Expected, IdpMetadata,
    Rejection, SpEndpoints, SpKey, SubjectSource, Verified,
};
use sekisho_testkit::SamlIdp;

const SP_ENTITY_ID: &str = "https://sekisho.test/saml/adfs-AbCdEfGh12345678";
const ACS: &str = "https://sekisho.test/saml/adfs-AbCdEfGh12345678/acs";
/// The IdP's clock is set to [`TEST_EPOCH`]: its response verifies at this time.
const NOW: i64 = TEST_EPOCH + 10;

/// The real documents the mutations start from, fetched once from the test IdP.
struct Seeds {
    /// Kept so the IdP lives as long as the test process.
    _idp: SamlIdp,
    metadata_xml: String,
    metadata: IdpMetadata,
    response_xml: String,
    request_id: String,
    verified: Verified,
}

fn sp() -> SpEndpoints {
    SpEndpoints {
        entity_id: SP_ENTITY_ID.into(),
        acs_url: ACS.into(),
    }
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let idp = SamlIdp::start_at(TEST_EPOCH).unwrap();
        let key = SpKey::generate(SP_ENTITY_ID, TEST_EPOCH).unwrap();
        idp.register_sp_metadata(&sp_metadata(&sp(), std::slice::from_ref(key.certificate())))
            .unwrap();
        let metadata_xml = idp.metadata().unwrap();
        let metadata = parse_idp_metadata(&metadata_xml, TEST_EPOCH, true).unwrap();
        let request = authn_request(&sp(), &metadata, &key, "rs", TEST_EPOCH).unwrap();
        let html = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                reqwest::get(request.url.as_str())
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            });
        let marker = "name=\"SAMLResponse\" value=\"";
        let start = html.find(marker).expect("an auto-posted SAMLResponse") + marker.len();
        let value = &html[start..start + html[start..].find('"').unwrap()];
        let response_xml = String::from_utf8(STANDARD.decode(value).unwrap()).unwrap();
        let mut seeds = Seeds {
            _idp: idp,
            metadata_xml,
            metadata,
            response_xml,
            request_id: request.id,
            verified: Verified {
                assertion_id: String::new(),
                issuer: String::new(),
                subject: String::new(),
                email: None,
                upn: None,
                name: None,
                expires_at: 0,
            },
        };
        // Without this, "never accepted" below would hold trivially.
        seeds.verified = verify(&seeds, &STANDARD.encode(&seeds.response_xml))
            .expect("the unmutated response verifies");
        seeds
    })
}

fn verify(seeds: &Seeds, saml_response: &str) -> Result<Verified, Rejection> {
    let sp = sp();
    let subject = SubjectSource::PersistentNameId;
    verify_response(
        saml_response,
        &Expected {
            idp_entity_id: &seeds.metadata.entity_id,
            certs: &seeds.metadata.signing_certs,
            sp: &sp,
            request_id: &seeds.request_id,
            subject: &subject,
            now: NOW,
        },
    )
}

/// One edit of a document, the positions taken modulo its length (or element count).
#[derive(Debug, Clone)]
enum Mutation {
    SetByte {
        at: usize,
        value: u8,
    },
    Delete {
        at: usize,
        len: usize,
    },
    Insert {
        at: usize,
        text: Vec<u8>,
    },
    /// Copies a byte range elsewhere.
    CopyBytes {
        from: usize,
        len: usize,
        to: usize,
    },
    /// Moves (or copies) element `which` before, into (as the first child) or after element
    /// `target`: the signature-wrapping placements in general.
    Element {
        which: usize,
        target: usize,
        place: u8,
        keep: bool,
    },
    /// Inserts a text with markup that matters to SAML readers.
    Markup {
        at: usize,
        which: usize,
    },
    /// Replaces the text of a text node or attribute value (well-formed: escaped), the edits an
    /// attacker makes to NameIDs, IDs, URIs, times and algorithms.
    Value {
        which: usize,
        text: String,
    },
}

const MARKUP: &[&str] = &[
    "<!---->",
    "<?pi x?>",
    "&amp;",
    "&#x41;",
    "&e;",
    "<![CDATA[x]]>",
    r#"<!DOCTYPE r [<!ENTITY e "x">]>"#,
    r#"xmlns:ns1="urn:evil""#,
    r#" ID="_dup""#,
    "<ns1:Assertion ID=\"_f\"/>",
    "<ns2:Signature/>",
    "\u{0}",
    "\u{feff}",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        // Byte edits mostly make the XML malformed: rarer than the well-formed edits.
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Mutation::SetByte { at, value }),
        1 => (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, text)| Mutation::Insert { at, text }),
        1 => (any::<usize>(), 1..256usize, any::<usize>())
            .prop_map(|(from, len, to)| Mutation::CopyBytes { from, len, to }),
        4 => (any::<usize>(), any::<usize>(), 0..3u8, any::<bool>()).prop_map(
            |(which, target, place, keep)| Mutation::Element {
                which,
                target,
                place,
                keep
            }
        ),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(at, which)| Mutation::Markup { at, which }),
        4 => (any::<usize>(), prop_oneof![
            Just(String::new()),
            Just(" ".to_owned()),
            Just("http://www.w3.org/2000/09/xmldsig#rsa-sha1".to_owned()),
            Just("http://www.w3.org/2000/09/xmldsig#sha1".to_owned()),
            Just("#_forged".to_owned()),
            Just("2999-01-01T00:00:00Z".to_owned()),
            Just(ACS.to_owned()),
            Just(SP_ENTITY_ID.to_owned()),
            ".{0,24}",
        ]).prop_map(|(which, text)| Mutation::Value { which, text }),
    ]
}

fn apply(doc: &mut Vec<u8>, mutation: &Mutation) {
    let len = doc.len().max(1);
    match mutation {
        Mutation::SetByte { at, value } => {
            if let Some(b) = doc.get_mut(at % len) {
                *b = *value;
            }
        }
        Mutation::Delete { at, len: n } => {
            let start = at % len;
            let end = (start + n).min(doc.len());
            doc.drain(start.min(end)..end);
        }
        Mutation::Insert { at, text } => {
            let at = (at % len).min(doc.len());
            doc.splice(at..at, text.iter().copied());
        }
        Mutation::CopyBytes { from, len: n, to } => {
            let start = from % len;
            let end = (start + n).min(doc.len());
            let piece = doc.get(start.min(end)..end).unwrap_or_default().to_vec();
            let to = (to % len).min(doc.len());
            doc.splice(to..to, piece);
        }
        Mutation::Element {
            which,
            target,
            place,
            keep,
        } => {
            let Some(edited) = move_element(doc, *which, *target, *place, *keep) else {
                return;
            };
            *doc = edited;
        }
        Mutation::Markup { at, which } => {
            let at = (at % len).min(doc.len());
            doc.splice(at..at, MARKUP[which % MARKUP.len()].bytes());
        }
        Mutation::Value { which, text } => {
            let Some(edited) = replace_value(doc, *which, text) else {
                return;
            };
            *doc = edited;
        }
    }
}

/// The document with its `which`-th value (text node or attribute value) replaced by `text`
/// (escaped); `None` when it does not parse.
fn replace_value(doc: &[u8], which: usize, text: &str) -> Option<Vec<u8>> {
    let source = std::str::from_utf8(doc).ok()?;
    let parsed = roxmltree::Document::parse(source).ok()?;
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    for node in parsed.descendants() {
        if node.is_text() {
            ranges.push(node.range());
        }
        ranges.extend(node.attributes().map(|a| a.range_value()));
    }
    let range = ranges.get(which % ranges.len().max(1))?.clone();
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    let mut out = source.to_owned();
    out.replace_range(range, &escaped);
    Some(out.into_bytes())
}

/// The document with element `which` moved (or copied) relative to element `target`; `None`
/// when it does not parse or the move makes no sense (into itself).
fn move_element(doc: &[u8], which: usize, target: usize, place: u8, keep: bool) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(doc).ok()?;
    let parsed = roxmltree::Document::parse(text).ok()?;
    let elements: Vec<_> = parsed.descendants().filter(|n| n.is_element()).collect();
    let moved = elements[which % elements.len()];
    let target = elements[target % elements.len()];
    let (m, t) = (moved.range(), target.range());
    if t.start >= m.start && t.end <= m.end {
        return None;
    }
    let at = match place {
        0 => t.start,
        1 => {
            // Just after the target's start tag (its first child), or before its end if empty.
            target.first_child().map_or(t.end, |c| c.range().start)
        }
        _ => t.end,
    };
    let piece = &text[m.clone()];
    let mut out = String::with_capacity(text.len() + piece.len());
    if keep {
        out.push_str(&text[..at]);
        out.push_str(piece);
        out.push_str(&text[at..]);
    } else if at <= m.start {
        out.push_str(&text[..at]);
        out.push_str(piece);
        out.push_str(&text[at..m.start]);
        out.push_str(&text[m.end..]);
    } else {
        out.push_str(&text[..m.start]);
        out.push_str(&text[m.end..at]);
        out.push_str(piece);
        out.push_str(&text[at..]);
    }
    Some(out.into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    // REQ-AD-5
    // Arbitrary posted values (not base64, base64 of arbitrary bytes) are refused, without a panic.
    #[test]
    fn arbitrary_posted_values_are_refused(text in ".{0,512}", bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let seeds = seeds();
        prop_assert!(verify(seeds, &text).is_err());
        let _ = decode(&text);
        let encoded = STANDARD.encode(&bytes);
        prop_assert_eq!(decode(&encoded).ok(), String::from_utf8(bytes).ok());
        prop_assert!(verify(seeds, &encoded).is_err());
    }

    // REQ-AD-1
    // Arbitrary text given as IdP metadata is refused with a named problem, without a panic.
    #[test]
    fn arbitrary_metadata_is_refused(text in ".{0,1024}") {
        prop_assert!(parse_idp_metadata(&text, TEST_EPOCH, true).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    // REQ-AD-5
    // A real response with 1-4 mutations (bytes, markup, elements moved or copied anywhere) never
    // panics the verifier, and is never accepted with values other than the original's (a
    // mutation may land where nothing is signed, such as the KeyInfo's certificate, and change
    // nothing that counts).
    #[test]
    fn a_mutated_real_response_is_never_accepted_with_other_values(mutations in proptest::collection::vec(mutation(), 1..5)) {
        let seeds = seeds();
        let mut doc = seeds.response_xml.clone().into_bytes();
        for m in &mutations {
            apply(&mut doc, m);
        }
        if let Ok(text) = std::str::from_utf8(&doc) {
            let _ = decode(text);
        }
        match verify(seeds, &STANDARD.encode(&doc)) {
            Err(_) => {}
            Ok(verified) => prop_assert_eq!(
                &verified,
                &seeds.verified,
                "accepted with other values: {}",
                String::from_utf8_lossy(&doc)
            ),
        }
    }

    // REQ-AD-1
    // Real IdP metadata with 1-4 mutations never panics the metadata reader; what it accepts
    // still names an IdP with an SSO URL and a signing certificate.
    #[test]
    fn mutated_real_metadata_never_panics(mutations in proptest::collection::vec(mutation(), 1..5)) {
        let seeds = seeds();
        let mut doc = seeds.metadata_xml.clone().into_bytes();
        for m in &mutations {
            apply(&mut doc, m);
        }
        let text = String::from_utf8_lossy(&doc);
        if let Ok(metadata) = parse_idp_metadata(&text, TEST_EPOCH, true) {
            prop_assert!(!metadata.entity_id.is_empty());
            prop_assert!(!metadata.signing_certs.is_empty());
            prop_assert!(matches!(metadata.sso_url.scheme(), "http" | "https"));
        }
    }
}
