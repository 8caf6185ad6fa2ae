//! The attack suite of the SAML response verifier (REQ-AD-5): each known attack on a SAML SP is
//! built by rewriting a REAL response of the test IdP playing ADFS (pysaml2 + xmlsec1,
//! `sekisho_testkit::SamlIdp`) and must be refused with its own [`Rejection`]. The happy paths
//! come first: a refusal proves something only if the untouched response verifies.
//!
//! Replay (the same assertion twice) is refused by the caller, which keeps
//! `Verified::assertion_id` in the store: it is tested there, not here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::ops::Range;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use roxmltree::{Document, Node};
use sekisho_core::TEST_EPOCH;
use sekisho_saml::{
    authn_request, parse_idp_metadata, sp_metadata, verify_response, Certificate, Expected,
    IdpMetadata, Rejection, SpEndpoints, SpKey, SubjectSource, Verified,
};
use sekisho_testkit::saml_idp::claims;
use sekisho_testkit::{SamlIdp, SamlUser};
use tokio::sync::RwLock;

const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The connection under attack: Sekisho's SP for one contract.
const SP_ENTITY_ID: &str = "https://sekisho.test/saml/adfs-AbCdEfGh12345678";
const ACS: &str = "https://sekisho.test/saml/adfs-AbCdEfGh12345678/acs";
/// Another ACS URL the same relying-party trust lists (wrong Recipient and Destination).
const OTHER_ACS: &str = "https://elsewhere.test/saml/acs";
/// Another SP trusted by the same ADFS (wrong Audience).
const OTHER_SP_ENTITY_ID: &str = "https://other-sp.test/saml/metadata";
const OTHER_SP_ACS: &str = "https://other-sp.test/saml/acs";

/// The signed-in AD user, and the victim an attacker would like to become.
const UPN: &str = "alice@ad.example";
const IMMUTABLE_ID: &str = "q83vEjRWeJCrze8SNFZ4kA==";
const VICTIM_ID: &str = "VICTIMvictimVICTIMvict==";

/// Verification time: the IdP's clock is set back to [`TEST_EPOCH`] before each login, so its
/// responses are stamped at `TEST_EPOCH` (plus the seconds the request takes).
const NOW: i64 = TEST_EPOCH + 10;

/// One IdP for the whole binary, with everything it needs.
struct World {
    idp: SamlIdp,
    key: SpKey,
    metadata: IdpMetadata,
    user: SamlUser,
}

static WORLD: OnceLock<World> = OnceLock::new();
/// Tests that change how the IdP signs hold it for writing; every other login reads.
static SIGNING: RwLock<()> = RwLock::const_new(());

fn sp() -> SpEndpoints {
    SpEndpoints {
        entity_id: SP_ENTITY_ID.into(),
        acs_url: ACS.into(),
    }
}

fn other_sp() -> SpEndpoints {
    SpEndpoints {
        entity_id: OTHER_SP_ENTITY_ID.into(),
        acs_url: OTHER_SP_ACS.into(),
    }
}

fn world() -> &'static World {
    WORLD.get_or_init(|| {
        let idp = SamlIdp::start_at(TEST_EPOCH).unwrap();
        let key = SpKey::generate(SP_ENTITY_ID, TEST_EPOCH).unwrap();
        // The SP metadata Sekisho publishes, plus a second ACS in the same trust (index 1) so
        // the IdP will address a response to another ACS for the same entity.
        let ours = sp_metadata(&sp(), std::slice::from_ref(key.certificate())).replace(
            "</md:SPSSODescriptor>",
            &format!(
                r#"<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{OTHER_ACS}" index="1"/></md:SPSSODescriptor>"#
            ),
        );
        assert_eq!(idp.register_sp_metadata(&ours).unwrap(), SP_ENTITY_ID);
        let other_key = SpKey::generate(OTHER_SP_ENTITY_ID, TEST_EPOCH).unwrap();
        let theirs = sp_metadata(&other_sp(), std::slice::from_ref(other_key.certificate()));
        assert_eq!(
            idp.register_sp_metadata(&theirs).unwrap(),
            OTHER_SP_ENTITY_ID
        );
        let user = idp.set_user(UPN, Some(IMMUTABLE_ID), None).unwrap();
        let metadata = parse_idp_metadata(&idp.metadata().unwrap(), TEST_EPOCH, true).unwrap();
        World {
            idp,
            key,
            metadata,
            user,
        }
    })
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn unescape_html(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the hidden input `name` of the IdP's auto-posting page.
fn form_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let rest = &html[html.find(&marker)? + marker.len()..];
    let rest = &rest[rest.find("value=\"")? + "value=\"".len()..];
    Some(unescape_html(&rest[..rest.find('"')?]))
}

/// A real SAMLResponse (decoded XML) as the browser would post it.
struct Posted {
    /// The AuthnRequest's ID (empty for an IdP-initiated response).
    request_id: String,
    xml: String,
}

/// Fetches the page at `url` of the IdP and reads the SAMLResponse it auto-posts.
async fn fetch_posted(url: &str) -> String {
    let answer = client().get(url).send().await.unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    let html = answer.text().await.unwrap();
    let base64 = form_value(&html, "SAMLResponse").expect("a SAMLResponse in the page");
    String::from_utf8(STANDARD.decode(base64).unwrap()).unwrap()
}

/// An SP-initiated round trip: Sekisho's signed AuthnRequest (HTTP-Redirect) for `sp`, the
/// IdP's answer. The IdP's clock is put back to [`TEST_EPOCH`] first.
async fn login_for(sp: &SpEndpoints) -> Posted {
    let w = world();
    w.idp.clock().set_now(TEST_EPOCH).unwrap();
    let request = authn_request(sp, &w.metadata, &w.key, "relay-state", TEST_EPOCH).unwrap();
    let xml = fetch_posted(request.url.as_str()).await;
    Posted {
        request_id: request.id,
        xml,
    }
}

/// A login for Sekisho's SP with the IdP's usual signing.
async fn login() -> Posted {
    let _reading = SIGNING.read().await;
    login_for(&sp()).await
}

/// What Sekisho expects for the connection (the IdP's metadata) at `now`.
fn expected<'a>(
    sp: &'a SpEndpoints,
    certs: &'a [Certificate],
    request_id: &'a str,
    subject: &'a SubjectSource,
    now: i64,
) -> Expected<'a> {
    Expected {
        idp_entity_id: &world().metadata.entity_id,
        certs,
        sp,
        request_id,
        subject,
        now,
    }
}

/// Verifies `xml` as posted (base64) for Sekisho's SP, the persistent NameID as subject.
fn verify_at(xml: &str, request_id: &str, now: i64) -> Result<Verified, Rejection> {
    let sp = sp();
    let subject = SubjectSource::PersistentNameId;
    let ex = expected(
        &sp,
        &world().metadata.signing_certs,
        request_id,
        &subject,
        now,
    );
    verify_response(&STANDARD.encode(xml), &ex)
}

fn verify(xml: &str, request_id: &str) -> Result<Verified, Rejection> {
    verify_at(xml, request_id, NOW)
}

// --- Reading and rewriting the XML -----------------------------------------------------------

fn parse(xml: &str) -> Document<'_> {
    Document::parse(xml).unwrap_or_else(|e| panic!("the rewritten XML must parse ({e}): {xml}"))
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Node<'a, 'i> {
    node.children()
        .find(|n| n.has_tag_name((ns, name)))
        .unwrap_or_else(|| panic!("no {name} under {:?}", node.tag_name()))
}

fn response_of<'a, 'i>(doc: &'a Document<'i>) -> Node<'a, 'i> {
    let root = doc.root_element();
    assert!(root.has_tag_name((SAMLP, "Response")));
    root
}

fn assertion_of<'a, 'i>(doc: &'a Document<'i>) -> Node<'a, 'i> {
    child(response_of(doc), SAML, "Assertion")
}

/// Applies non-overlapping replacements of byte ranges.
fn splice(xml: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = xml.to_owned();
    for (range, text) in edits {
        out.replace_range(range, &text);
    }
    out
}

/// The text of `node` (its whole element).
fn text_of<'i>(xml: &'i str, node: Node<'_, '_>) -> &'i str {
    &xml[node.range()]
}

/// Removes the Response's own (enveloped) signature: the assertion stays signed. An attacker
/// who touches anything outside the assertion must do this first.
fn without_response_signature(xml: &str) -> String {
    let doc = parse(xml);
    let signature = child(response_of(&doc), DS, "Signature");
    splice(xml, vec![(signature.range(), String::new())])
}

/// The text of `element` without its descendant `part`.
fn cut(xml: &str, element: Node<'_, '_>, part: Node<'_, '_>) -> String {
    let start = element.range().start;
    let mut text = text_of(xml, element).to_owned();
    text.replace_range(part.range().start - start..part.range().end - start, "");
    text
}

/// The signed assertion's text without its signature.
fn assertion_without_signature(xml: &str) -> String {
    let doc = parse(xml);
    let assertion = assertion_of(&doc);
    cut(xml, assertion, child(assertion, DS, "Signature"))
}

/// The ID the attacker gives the forged assertion.
const FORGED_ID: &str = "_forged0123456789abcdef";

/// A real response taken apart (texts of its elements, as the IdP wrote them), for the
/// rewrites. The prefixes (`ns0` samlp, `ns1` saml, `ns2` ds) are declared on the Response's
/// start tag, so every part keeps its meaning anywhere inside a Response.
struct Parts {
    prolog: String,
    /// `<ns0:Response …>` and `</ns0:Response>`.
    start: String,
    end: String,
    response_id: String,
    issuer: String,
    response_signature: String,
    status: String,
    /// The signed assertion as it came.
    assertion: String,
    /// The same without its `ds:Signature`.
    assertion_unsigned: String,
    assertion_id: String,
    /// The whole Response without its own signature (the assertion still signed).
    response_unsigned: String,
}

impl Parts {
    fn of(xml: &str) -> Self {
        let doc = parse(xml);
        let root = response_of(&doc);
        let first = root.first_child().unwrap();
        let assertion = assertion_of(&doc);
        let end = &xml[root.range()][xml[root.range()].rfind("</").unwrap()..];
        let response_signature = child(root, DS, "Signature");
        Self {
            prolog: xml[..root.range().start].to_owned(),
            start: xml[root.range().start..first.range().start].to_owned(),
            end: end.to_owned(),
            response_id: root.attribute("ID").unwrap().to_owned(),
            issuer: text_of(xml, child(root, SAML, "Issuer")).to_owned(),
            response_signature: text_of(xml, response_signature).to_owned(),
            status: text_of(xml, child(root, SAMLP, "Status")).to_owned(),
            assertion: text_of(xml, assertion).to_owned(),
            assertion_unsigned: assertion_without_signature(xml),
            assertion_id: assertion.attribute("ID").unwrap().to_owned(),
            response_unsigned: cut(xml, root, response_signature),
        }
    }

    /// The attacker's assertion: the real one without its signature, with a new ID and the
    /// victim as NameID and ImmutableID.
    fn forged(&self) -> String {
        self.forge(&self.assertion_unsigned)
    }

    /// The attacker's assertion keeping the real signature (whose Reference still points to
    /// the real assertion's ID).
    fn forged_with_signature(&self) -> String {
        self.forge(&self.assertion)
    }

    fn forge(&self, assertion: &str) -> String {
        assertion
            .replacen(
                &format!(r#"ID="{}""#, self.assertion_id),
                &format!(r#"ID="{FORGED_ID}""#),
                1,
            )
            .replace(IMMUTABLE_ID, VICTIM_ID)
    }

    /// A Response with this start tag and the given children.
    fn response(&self, children: &[&str]) -> String {
        format!(
            "{}{}{}{}",
            self.prolog,
            self.start,
            children.concat(),
            self.end
        )
    }
}

/// `element` (text) with `inner` inserted just before its end tag.
fn insert_before_end(element: &str, inner: &str) -> String {
    let at = element.rfind("</").unwrap();
    format!("{}{inner}{}", &element[..at], &element[at..])
}

// --- The happy paths ---------------------------------------------------------------------------

// REQ-AD-5
// A real response of the IdP verifies: without this, the refusals below would prove nothing.
#[tokio::test]
async fn a_real_response_verifies_with_the_persistent_name_id_as_subject() {
    let posted = login().await;
    let verified = verify(&posted.xml, &posted.request_id).unwrap();
    let w = world();
    assert_eq!(verified.subject, w.user.immutable_id);
    assert_eq!(verified.subject, IMMUTABLE_ID);
    assert_eq!(verified.issuer, w.idp.entity_id());
    assert_eq!(verified.email.as_deref(), Some(UPN));
    assert_eq!(verified.upn.as_deref(), Some(UPN));
    assert_eq!(verified.name.as_deref(), Some("alice"));
    let doc = parse(&posted.xml);
    assert_eq!(
        Some(verified.assertion_id.as_str()),
        assertion_of(&doc).attribute("ID")
    );
    // The assertion lives an hour (the IdP's policy).
    assert!(
        (TEST_EPOCH + 3590..=TEST_EPOCH + 3700).contains(&verified.expires_at),
        "{}",
        verified.expires_at
    );
}

// REQ-AD-3
// A connection configured with the ImmutableID claim as its stable subject reads it from the
// signed assertion's attributes.
#[tokio::test]
async fn a_real_response_verifies_with_the_immutable_id_claim_as_subject() {
    let posted = login().await;
    let sp = sp();
    let subject = SubjectSource::Attribute(claims::IMMUTABLE_ID.into());
    let ex = expected(
        &sp,
        &world().metadata.signing_certs,
        &posted.request_id,
        &subject,
        NOW,
    );
    let verified = verify_response(&STANDARD.encode(&posted.xml), &ex).unwrap();
    assert_eq!(verified.subject, IMMUTABLE_ID);
    assert_eq!(verified.upn.as_deref(), Some(UPN));
}

// REQ-AD-5
// ADFS's default signs only the assertion: the real response with the Response's signature
// removed still verifies. The wrapping attacks below all start from this document, so their
// refusals are owed to the wrapping, not to the missing Response signature.
#[tokio::test]
async fn a_real_response_with_only_the_assertion_signed_verifies() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let xml = p.response(&[&p.issuer, &p.status, &p.assertion]);
    assert_eq!(xml, without_response_signature(&posted.xml).trim_end());
    let verified = verify(&xml, &posted.request_id).unwrap();
    assert_eq!(verified.subject, IMMUTABLE_ID);
}

// --- The attacks ---------------------------------------------------------------------------------

/// Asserts that `xml` (well-formed: otherwise the refusal would only say "malformed") is refused
/// with `expected`.
fn assert_refused(xml: &str, request_id: &str, expected: Rejection) {
    parse(xml);
    assert_refused_raw(xml, request_id, expected);
}

/// [`assert_refused`] for a document roxmltree's defaults do not read (a DTD).
fn assert_refused_raw(xml: &str, request_id: &str, expected: Rejection) {
    match verify(xml, request_id) {
        Err(rejection) => assert_eq!(rejection, expected, "refused, but why? {xml}"),
        Ok(verified) => panic!("ACCEPTED ({verified:?}): {xml}"),
    }
}

// REQ-AD-5
// Signature removed: both the Response's and the Assertion's signatures taken out.
#[tokio::test]
async fn a_response_with_both_signatures_removed_is_refused() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let xml = p.response(&[&p.issuer, &p.status, &p.assertion_unsigned]);
    assert!(!xml.contains("Signature"));
    assert_refused(&xml, &posted.request_id, Rejection::Unsigned);
}

// REQ-AD-5
// Tampering: the Response's signature removed and the signed assertion's NameID changed to the
// victim: the assertion's own signature no longer verifies.
#[tokio::test]
async fn a_tampered_assertion_is_refused() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let tampered = p.assertion.replace(IMMUTABLE_ID, VICTIM_ID);
    let xml = p.response(&[&p.issuer, &p.status, &tampered]);
    assert_refused(&xml, &posted.request_id, Rejection::Signature);
}

// REQ-AD-5
// XSW1 (Somorovsky et al. 2012): a forged Response (new ID, the attacker's unsigned assertion)
// carries the real Response's signature, inside which a copy of the real Response sits as the
// element its Reference points to.
#[tokio::test]
async fn xsw1_forged_response_with_the_signed_response_inside_its_signature_is_refused() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let forged = Parts {
        start: p.start.replace(&p.response_id, "_forged-response"),
        ..Parts::of(&posted.xml)
    };
    let signature = insert_before_end(&p.response_signature, &p.response_unsigned);
    let xml = forged.response(&[&p.issuer, &signature, &p.status, &p.forged()]);
    assert_refused(&xml, &posted.request_id, Rejection::Wrapped);
}

// REQ-AD-5
// XSW2: as XSW1, but the copy of the real Response is a sibling before the (now detached)
// signature.
#[tokio::test]
async fn xsw2_forged_response_with_the_signed_response_beside_its_signature_is_refused() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let forged = Parts {
        start: p.start.replace(&p.response_id, "_forged-response"),
        ..Parts::of(&posted.xml)
    };
    let xml = forged.response(&[
        &p.issuer,
        &p.response_unsigned,
        &p.response_signature,
        &p.status,
        &p.forged(),
    ]);
    assert_refused(&xml, &posted.request_id, Rejection::Wrapped);
}

// REQ-AD-5
// XSW3: a forged assertion (new ID, unsigned) placed before the signed one.
#[tokio::test]
async fn xsw3_forged_assertion_before_the_signed_one_is_refused() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let xml = p.response(&[&p.issuer, &p.status, &p.forged(), &p.assertion]);
    assert_refused(&xml, &posted.request_id, Rejection::Wrapped);
}

// REQ-AD-5
// XSW4: a forged assertion wraps the signed one (the signed assertion moved inside another
// Assertion).
#[tokio::test]
async fn xsw4_signed_assertion_inside_a_forged_assertion_is_refused() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let wrapper = insert_before_end(&p.forged(), &p.assertion);
    let xml = p.response(&[&p.issuer, &p.status, &wrapper]);
    assert_refused(&xml, &posted.request_id, Rejection::Wrapped);
}

// REQ-AD-5
// XSW5: the forged assertion carries the real signature (its Reference still names the real
// assertion's ID); the real assertion, unsigned, is appended after it.
#[tokio::test]
async fn xsw5_forged_assertion_with_the_signature_and_the_signed_one_after_it_is_refused() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let xml = p.response(&[
        &p.issuer,
        &p.status,
        &p.forged_with_signature(),
        &p.assertion_unsigned,
    ]);
    assert_refused(&xml, &posted.request_id, Rejection::Wrapped);
}

// REQ-AD-5
// XSW6: the forged assertion carries the real signature, and the real assertion sits inside
// that signature.
#[tokio::test]
async fn xsw6_signed_assertion_inside_the_forged_assertions_signature_is_refused() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let forged = p.forged_with_signature().replace(
        "</ns2:Signature>",
        &format!("{}</ns2:Signature>", p.assertion_unsigned),
    );
    let xml = p.response(&[&p.issuer, &p.status, &forged]);
    assert_refused(&xml, &posted.request_id, Rejection::Wrapped);
}

// REQ-AD-5
// XSW7: the signed assertion moved under samlp:Extensions; the forged one where an assertion
// belongs.
#[tokio::test]
async fn xsw7_signed_assertion_under_extensions_is_refused() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let extensions = format!("<ns0:Extensions>{}</ns0:Extensions>", p.assertion);
    let xml = p.response(&[&p.issuer, &extensions, &p.status, &p.forged()]);
    assert_refused(&xml, &posted.request_id, Rejection::Wrapped);
}

// REQ-AD-5
// XSW8: the forged assertion carries the real signature, with the real assertion (its own
// signature removed) inside a ds:Object of that signature.
#[tokio::test]
async fn xsw8_signed_assertion_under_the_signatures_object_is_refused() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let forged = p.forged_with_signature().replace(
        "</ns2:Signature>",
        &format!(
            "<ns2:Object>{}</ns2:Object></ns2:Signature>",
            p.assertion_unsigned
        ),
    );
    let xml = p.response(&[&p.issuer, &p.status, &forged]);
    assert_refused(&xml, &posted.request_id, Rejection::Wrapped);
}

// REQ-AD-5
// The signed Response (both signatures intact) with an extra, unsigned assertion appended.
#[tokio::test]
async fn a_signed_response_with_an_extra_unsigned_assertion_is_refused() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let xml = p.response(&[
        &p.issuer,
        &p.response_signature,
        &p.status,
        &p.assertion,
        &p.forged(),
    ]);
    assert_refused(&xml, &posted.request_id, Rejection::Wrapped);
}

// REQ-AD-5
// The signed assertion's ID duplicated on a forged assertion placed before it, so a reference
// resolved by ID could pick either.
#[tokio::test]
async fn a_forged_assertion_with_the_signed_assertions_id_is_refused() {
    let posted = login().await;
    let p = Parts::of(&posted.xml);
    let same_id = p.assertion_unsigned.replace(IMMUTABLE_ID, VICTIM_ID);
    assert!(same_id.contains(&format!(r#"ID="{}""#, p.assertion_id)));
    let xml = p.response(&[&p.issuer, &p.status, &same_id, &p.assertion]);
    assert_refused(&xml, &posted.request_id, Rejection::Wrapped);
}

/// The response with `replacement` instead of the NameID's text (signatures untouched).
fn with_name_id(xml: &str, replacement: &str) -> String {
    let doc = parse(xml);
    let name_id = child(child(assertion_of(&doc), SAML, "Subject"), SAML, "NameID");
    let text = name_id.first_child().unwrap();
    assert_eq!(text.text(), Some(IMMUTABLE_ID));
    splice(xml, vec![(text.range(), replacement.to_owned())])
}

// REQ-AD-5
// The 2018 canonicalization attack (CVE-2017-11427 and siblings): a comment inside the NameID.
// Exclusive c14n drops comments, so both signatures still verify, while a reader taking the
// first text node would see only the part before the comment.
#[tokio::test]
async fn a_comment_inside_the_name_id_is_refused() {
    let posted = login().await;
    let (head, tail) = IMMUTABLE_ID.split_at(8);
    let xml = with_name_id(&posted.xml, &format!("{head}<!---->{tail}"));
    assert_refused(&xml, &posted.request_id, Rejection::Comment);
}

// REQ-AD-5
// An entity inside the NameID: the value split by a DTD-declared entity, which the IdP never
// signed in that form.
#[tokio::test]
async fn an_entity_inside_the_name_id_is_refused() {
    let posted = login().await;
    let (head, tail) = IMMUTABLE_ID.split_at(8);
    let xml = with_name_id(&posted.xml, &format!("&v;{tail}")).replacen(
        "<ns0:Response",
        &format!("<!DOCTYPE ns0:Response [<!ENTITY v \"{head}\">]><ns0:Response"),
        1,
    );
    assert_refused_raw(&xml, &posted.request_id, Rejection::Dtd);
}

/// A login while the IdP signs differently: `change` before, `restore` after, with no other
/// login of this process in between. Returns what `change` returned, and the response.
async fn login_while<T>(
    change: impl FnOnce(&SamlIdp) -> T,
    restore: impl FnOnce(&SamlIdp),
) -> (T, Posted) {
    let _writing = SIGNING.write().await;
    let idp = &world().idp;
    let changed = change(idp);
    let posted = login_for(&sp()).await;
    restore(idp);
    (changed, posted)
}

// REQ-AD-5
// Signed by a certificate the connection's metadata does not list: the IdP signs with a key
// "rogue" while its metadata (read at the start) lists only "a".
#[tokio::test]
async fn a_response_signed_by_a_certificate_not_in_the_metadata_is_refused() {
    let w = world();
    let (signing, posted) = login_while(
        |idp| idp.set_signing(&["a"], "rogue").unwrap(),
        |idp| {
            idp.set_signing(&["a"], "a").unwrap();
        },
    )
    .await;
    let rogue = Certificate::from_base64(&signing.sign_with_cert).unwrap();
    let listed = Certificate::from_base64(signing.cert("a").unwrap()).unwrap();
    assert_ne!(rogue, listed);
    assert_eq!(w.metadata.signing_certs, [listed]);
    // The rogue certificate rides along in the signatures' KeyInfo: never trusted from there.
    assert!(posted.xml.contains(&signing.sign_with_cert));
    assert_refused(&posted.xml, &posted.request_id, Rejection::Signature);
    // The same response verifies for a connection that does list the rogue certificate: it
    // is refused for its signer only.
    let sp = sp();
    let subject = SubjectSource::PersistentNameId;
    let trusting_rogue = [rogue];
    let ex = expected(&sp, &trusting_rogue, &posted.request_id, &subject, NOW);
    assert!(verify_response(&STANDARD.encode(&posted.xml), &ex).is_ok());
}

// REQ-AD-5
// RSA-SHA1: the relying-party trust's "Secure hash algorithm" set to SHA-1 in ADFS. The key is
// the connection's own (listed in the metadata), so only the algorithm is wrong.
#[tokio::test]
async fn a_response_signed_with_rsa_sha1_is_refused() {
    let ((), posted) = login_while(
        |idp| idp.set_hash_algorithm("sha1").unwrap(),
        |idp| idp.set_hash_algorithm("sha256").unwrap(),
    )
    .await;
    let doc = parse(&posted.xml);
    for element in [response_of(&doc), assertion_of(&doc)] {
        let signed_info = child(child(element, DS, "Signature"), DS, "SignedInfo");
        assert_eq!(
            child(signed_info, DS, "SignatureMethod").attribute("Algorithm"),
            Some("http://www.w3.org/2000/09/xmldsig#rsa-sha1")
        );
    }
    assert_refused(&posted.xml, &posted.request_id, Rejection::WeakAlgorithm);
}

// REQ-AD-5
// Expired: the assertion lives an hour (NotOnOrAfter = TEST_EPOCH + 1 h); verified later than
// that plus the clock skew, and a day later.
#[tokio::test]
async fn an_expired_response_is_refused() {
    let posted = login().await;
    for now in [TEST_EPOCH + 3600 + 121, TEST_EPOCH + 86_400] {
        assert_eq!(
            verify_at(&posted.xml, &posted.request_id, now),
            Err(Rejection::Expired),
            "at {now}"
        );
    }
    // Within the hour but long after it was issued: a stale assertion is refused too.
    assert_eq!(
        verify_at(&posted.xml, &posted.request_id, TEST_EPOCH + 30 * 60),
        Err(Rejection::Expired)
    );
}

// REQ-AD-5
// Not yet valid: verified before its NotBefore (TEST_EPOCH) minus the clock skew.
#[tokio::test]
async fn a_response_not_yet_valid_is_refused() {
    let posted = login().await;
    for now in [TEST_EPOCH - 121, TEST_EPOCH - 86_400] {
        assert_eq!(
            verify_at(&posted.xml, &posted.request_id, now),
            Err(Rejection::NotYetValid),
            "at {now}"
        );
    }
}

// REQ-AD-5
// Wrong Audience: a real response the same ADFS made for another SP (another relying-party
// trust), posted to this one.
#[tokio::test]
async fn a_response_for_another_sp_is_refused() {
    let posted = {
        let _reading = SIGNING.read().await;
        login_for(&other_sp()).await
    };
    let doc = parse(&posted.xml);
    let audience = assertion_of(&doc)
        .descendants()
        .find(|n| n.has_tag_name((SAML, "Audience")))
        .unwrap();
    assert_eq!(audience.text(), Some(OTHER_SP_ENTITY_ID));
    assert_refused(&posted.xml, &posted.request_id, Rejection::Audience);
}

/// A real response of the same trust (same entity ID) sent to [`OTHER_ACS`].
async fn login_to_other_acs() -> Posted {
    let _reading = SIGNING.read().await;
    let other = SpEndpoints {
        entity_id: SP_ENTITY_ID.into(),
        acs_url: OTHER_ACS.into(),
    };
    let posted = login_for(&other).await;
    let doc = parse(&posted.xml);
    assert_eq!(response_of(&doc).attribute("Destination"), Some(OTHER_ACS));
    posted
}

// REQ-AD-5
// Wrong Destination: the response was addressed to another ACS of the same SP entity.
#[tokio::test]
async fn a_response_to_another_acs_is_refused_for_its_destination() {
    let posted = login_to_other_acs().await;
    assert_refused(&posted.xml, &posted.request_id, Rejection::Destination);
}

// REQ-AD-5
// Wrong Recipient: the same response with its (unsigned) envelope's Destination rewritten to
// this ACS and the Response's signature removed: the signed assertion's
// SubjectConfirmationData still names the other ACS.
#[tokio::test]
async fn a_response_to_another_acs_is_refused_for_its_recipient() {
    let posted = login_to_other_acs().await;
    let p = Parts::of(&posted.xml);
    let retargeted = Parts {
        start: p.start.replace(
            &format!(r#"Destination="{OTHER_ACS}""#),
            &format!(r#"Destination="{ACS}""#),
        ),
        ..Parts::of(&posted.xml)
    };
    assert!(retargeted.start.contains(ACS));
    assert!(p.assertion.contains(&format!(r#"Recipient="{OTHER_ACS}""#)));
    let xml = retargeted.response(&[&p.issuer, &p.status, &p.assertion]);
    assert_refused(&xml, &posted.request_id, Rejection::Recipient);
}

// REQ-AD-5
// InResponseTo of another browser's request: two logins; the first one's response is posted
// by the browser whose outstanding request is the second.
#[tokio::test]
async fn a_response_to_another_request_is_refused() {
    let first = login().await;
    let second = login().await;
    assert_ne!(first.request_id, second.request_id);
    assert_refused(&first.xml, &second.request_id, Rejection::InResponseTo);
    // The second browser's own response goes through.
    assert!(verify(&second.xml, &second.request_id).is_ok());
}

// REQ-AD-5
// Unsolicited: ADFS's IdP-initiated sign-on (IdpInitiatedSignOn.aspx) makes a real, signed
// response with no InResponseTo; posted by a browser that has a request outstanding.
#[tokio::test]
async fn an_unsolicited_idp_initiated_response_is_refused() {
    let w = world();
    let xml = {
        let _reading = SIGNING.read().await;
        w.idp.clock().set_now(TEST_EPOCH).unwrap();
        fetch_posted(&w.idp.idp_initiated_url(SP_ENTITY_ID)).await
    };
    assert!(!xml.contains("InResponseTo"), "{xml}");
    let outstanding = authn_request(&sp(), &w.metadata, &w.key, "rs", TEST_EPOCH).unwrap();
    assert_refused(&xml, &outstanding.id, Rejection::Unsolicited);
}

/// The real response with `doctype` before its root and `&name;` as the NameID.
fn with_doctype(xml: &str, doctype: &str, entity: &str) -> String {
    with_name_id(xml, &format!("&{entity};")).replacen(
        "<ns0:Response",
        &format!("{doctype}<ns0:Response"),
        1,
    )
}

// REQ-AD-5
// A DTD with entity expansion (billion laughs): refused before anything expands it.
#[tokio::test]
async fn a_billion_laughs_dtd_is_refused() {
    let posted = login().await;
    let mut doctype = String::from(r#"<!DOCTYPE ns0:Response [<!ENTITY lol0 "lol">"#);
    for i in 1..=9 {
        let previous = format!("&lol{};", i - 1).repeat(10);
        doctype.push_str(&format!(r#"<!ENTITY lol{i} "{previous}">"#));
    }
    doctype.push_str("]>");
    let xml = with_doctype(&posted.xml, &doctype, "lol9");
    assert_refused_raw(&xml, &posted.request_id, Rejection::Dtd);
}

// REQ-AD-5
// An XXE reference: an external entity naming a local file, used as the NameID.
#[tokio::test]
async fn an_external_entity_is_refused() {
    let posted = login().await;
    let doctype = r#"<!DOCTYPE ns0:Response [<!ENTITY e SYSTEM "file:///etc/passwd">]>"#;
    let xml = with_doctype(&posted.xml, doctype, "e");
    assert_refused_raw(&xml, &posted.request_id, Rejection::Dtd);
}

// REQ-AD-5
// A 10 MB response (a real one padded with a 10 MB attribute value): refused by its size,
// before it is decoded, and fast.
#[tokio::test]
#[allow(
    clippy::disallowed_methods,
    reason = "measures that the refusal takes no time: a bound on the work, not a test clock"
)]
async fn a_10_mb_response_is_refused_fast() {
    let posted = login().await;
    let padding = "A".repeat(10 * 1024 * 1024);
    let xml = posted.xml.replace(
        &format!(">{UPN}</ns1:AttributeValue>"),
        &format!(">{UPN}{padding}</ns1:AttributeValue>"),
    );
    assert!(xml.len() > 10 * 1024 * 1024);
    let posted_value = STANDARD.encode(&xml);
    let sp = sp();
    let subject = SubjectSource::PersistentNameId;
    let ex = expected(
        &sp,
        &world().metadata.signing_certs,
        &posted.request_id,
        &subject,
        NOW,
    );
    let started = Instant::now();
    let outcome = verify_response(&posted_value, &ex);
    let took = started.elapsed();
    assert_eq!(outcome, Err(Rejection::TooLarge));
    assert!(took < Duration::from_millis(200), "took {took:?}");
}
