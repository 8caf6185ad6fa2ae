//! The SAML IdP peer is honest: what it publishes and answers is what ADFS would, checked by an
//! independent reader (roxmltree for the XML, Debian's `xmlsec1` for the signatures) so the
//! AD login tests (REQ-AD-1 … REQ-AD-5) stand on a peer that does not flatter the SP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use reqwest::{Client, StatusCode, Url};
use roxmltree::{Document, Node};
use sekisho_core::TEST_EPOCH;
use sekisho_testkit::saml_idp::{cert_pem, claims};
use sekisho_testkit::{target_dir, unique_name, SamlIdp};

const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

const SP_ENTITY_ID: &str = "http://127.0.0.1:9/saml/sp";
const ACS: &str = "http://127.0.0.1:9/saml/acs";

/// A minimal SP: what Sekisho will publish, reduced to what the IdP needs (entity ID, ACS).
fn sp_metadata() -> String {
    format!(
        r#"<md:EntityDescriptor xmlns:md="{MD}" entityID="{SP_ENTITY_ID}"><md:SPSSODescriptor protocolSupportEnumeration="{SAMLP}" AuthnRequestsSigned="false" WantAssertionsSigned="true"><md:NameIDFormat>{PERSISTENT}</md:NameIDFormat><md:AssertionConsumerService Binding="{POST}" Location="{ACS}" index="0" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>"#
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time (days to civil date: Howard Hinnant's algorithm).
fn iso(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn authn_request(idp: &SamlIdp, id: &str, now: i64) -> String {
    format!(
        r#"<samlp:AuthnRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{id}" Version="2.0" IssueInstant="{}" Destination="{}" AssertionConsumerServiceURL="{ACS}" ProtocolBinding="{POST}"><saml:Issuer>{SP_ENTITY_ID}</saml:Issuer><samlp:NameIDPolicy Format="{PERSISTENT}" AllowCreate="true"/></samlp:AuthnRequest>"#,
        iso(now),
        idp.sso_url()
    )
}

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// HTTP-Redirect binding: raw DEFLATE, base64, in the query.
async fn sso_redirect(idp: &SamlIdp, request: &str, relay_state: &str) -> (StatusCode, String) {
    let mut deflate = DeflateEncoder::new(Vec::new(), Compression::default());
    deflate.write_all(request.as_bytes()).unwrap();
    let encoded = STANDARD.encode(deflate.finish().unwrap());
    let mut url = Url::parse(idp.sso_url()).unwrap();
    url.query_pairs_mut()
        .append_pair("SAMLRequest", &encoded)
        .append_pair("RelayState", relay_state);
    let answer = client().get(url).send().await.unwrap();
    (answer.status(), answer.text().await.unwrap())
}

/// HTTP-POST binding: base64 in a form.
async fn sso_post(idp: &SamlIdp, request: &str, relay_state: &str) -> (StatusCode, String) {
    let form = [
        ("SAMLRequest", STANDARD.encode(request)),
        ("RelayState", relay_state.to_owned()),
    ];
    let answer = client()
        .post(idp.sso_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    (answer.status(), answer.text().await.unwrap())
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of `attr="…"` right after `marker` in an HTML page.
fn html_attr_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let rest = &html[html.find(marker)? + marker.len()..];
    let rest = &rest[rest.find(&format!("{attr}=\""))? + attr.len() + 2..];
    Some(unescape(&rest[..rest.find('"')?]))
}

/// What the browser would post: (form action, SAMLResponse decoded, RelayState).
fn auto_post(html: &str) -> (String, String, String) {
    assert!(
        html.contains("document.forms[0].submit()"),
        "the form posts itself: {html}"
    );
    let action = html_attr_after(html, "<form", "action").expect("a form action");
    assert_eq!(
        html_attr_after(html, "<form", "method").as_deref(),
        Some("post")
    );
    let response = html_attr_after(html, "name=\"SAMLResponse\"", "value").expect("SAMLResponse");
    let relay = html_attr_after(html, "name=\"RelayState\"", "value").expect("RelayState");
    let xml = String::from_utf8(STANDARD.decode(response).unwrap()).unwrap();
    (action, xml, relay)
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Node<'a, 'i> {
    node.children()
        .find(|n| n.has_tag_name((ns, name)))
        .unwrap_or_else(|| panic!("no {name} under {:?}", node.tag_name()))
}

/// The algorithms of the enveloped signature directly under `element`.
fn signature_algorithms(element: Node) -> (String, String) {
    let signed_info = child(child(element, DS, "Signature"), DS, "SignedInfo");
    let method = child(signed_info, DS, "SignatureMethod");
    let digest = child(child(signed_info, DS, "Reference"), DS, "DigestMethod");
    (
        method.attribute("Algorithm").unwrap().to_owned(),
        digest.attribute("Algorithm").unwrap().to_owned(),
    )
}

/// Which signature `xmlsec1 --verify` checks.
#[derive(Clone, Copy, Debug)]
enum Signed {
    Metadata,
    Response,
    Assertion,
}

/// Verifies one signature with Debian's `xmlsec1`, trusting only `cert` (base64 DER): keys in the
/// document's own `KeyInfo` are not used (`--enabled-key-data key-name`).
fn xmlsec_verifies(xml: &str, cert: &str, which: Signed) -> bool {
    let dir: PathBuf = target_dir()
        .join("test-saml-idp")
        .join(unique_name("verify"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("doc.xml"), xml).unwrap();
    std::fs::write(dir.join("cert.pem"), cert_pem(cert)).unwrap();
    let xpath = match which {
        Signed::Metadata | Signed::Response => "/*/*[local-name()='Signature']",
        Signed::Assertion => "/*/*[local-name()='Assertion']/*[local-name()='Signature']",
    };
    let out = Command::new("xmlsec1")
        .args([
            "--verify",
            "--enabled-key-data",
            "key-name",
            "--pubkey-cert-pem",
        ])
        .arg(dir.join("cert.pem"))
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:protocol:Response",
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor",
            "--node-xpath",
            xpath,
        ])
        .arg(dir.join("doc.xml"))
        .output()
        .expect("xmlsec1 (Debian package xmlsec1; scripts/test installs it)");
    out.status.success()
}

/// The signing certificates (base64) the metadata lists, in order.
fn metadata_signing_certs(doc: &Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name((MD, "KeyDescriptor")) && n.attribute("use") == Some("signing"))
        .map(|kd| {
            kd.descendants()
                .find(|n| n.has_tag_name((DS, "X509Certificate")))
                .and_then(|n| n.text())
                .unwrap()
                .split_whitespace()
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn metadata_and_a_redirect_login_are_what_adfs_sends() {
    let idp = SamlIdp::start_at(TEST_EPOCH).unwrap();
    let port = idp.port();
    assert_eq!(
        idp.entity_id(),
        format!("http://127.0.0.1:{port}/adfs/services/trust")
    );
    assert_eq!(
        idp.metadata_url(),
        format!("http://127.0.0.1:{port}/FederationMetadata/2007-06/FederationMetadata.xml")
    );
    let signing = idp.signing().unwrap();
    let cert_a = signing.cert("a").unwrap().to_owned();

    // Metadata, as an SP fetches it.
    let metadata = client()
        .get(idp.metadata_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = Document::parse(&metadata).unwrap();
    let root = doc.root_element();
    assert!(root.has_tag_name((MD, "EntityDescriptor")));
    assert_eq!(root.attribute("entityID"), Some(idp.entity_id()));
    let idp_sso = child(root, MD, "IDPSSODescriptor");
    let mut endpoints: Vec<(&str, &str)> = idp_sso
        .children()
        .filter(|n| n.has_tag_name((MD, "SingleSignOnService")))
        .map(|n| {
            (
                n.attribute("Binding").unwrap(),
                n.attribute("Location").unwrap(),
            )
        })
        .collect();
    endpoints.sort();
    assert_eq!(
        endpoints,
        [(POST, idp.sso_url()), (REDIRECT, idp.sso_url())]
    );
    assert!(idp.sso_url().ends_with("/adfs/ls/"));
    assert_eq!(metadata_signing_certs(&doc), [cert_a.as_str()]);
    assert_eq!(
        signature_algorithms(root),
        (RSA_SHA256.to_owned(), SHA256.to_owned())
    );
    assert!(xmlsec_verifies(&metadata, &cert_a, Signed::Metadata));

    // An unknown SP is refused, as ADFS refuses a relying party it has no trust for.
    let (status, _) = sso_redirect(&idp, &authn_request(&idp, "_r0", TEST_EPOCH), "x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    assert_eq!(
        idp.register_sp_metadata(&sp_metadata()).unwrap(),
        SP_ENTITY_ID
    );
    let user = idp
        .set_user("alice@ad.example", Some("q83vEjRWeJCrze8SNFZ4kA=="), None)
        .unwrap();
    assert_eq!(user.email, "alice@ad.example");

    let (status, html) =
        sso_redirect(&idp, &authn_request(&idp, "_req-1", TEST_EPOCH), "rs/1&x").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (action, xml, relay) = auto_post(&html);
    assert_eq!(action, ACS);
    assert_eq!(relay, "rs/1&x");

    let doc = Document::parse(&xml).unwrap();
    let response = doc.root_element();
    assert!(response.has_tag_name((SAMLP, "Response")));
    assert_eq!(response.attribute("InResponseTo"), Some("_req-1"));
    assert_eq!(response.attribute("Destination"), Some(ACS));
    // The IdP's clock is the test's: stamped within a minute after TEST_EPOCH, not today.
    let issued = response.attribute("IssueInstant").unwrap();
    assert!(
        (iso(TEST_EPOCH).as_str()..iso(TEST_EPOCH + 60).as_str()).contains(&issued),
        "{issued}"
    );
    assert_eq!(
        child(response, SAML, "Issuer").text(),
        Some(idp.entity_id())
    );
    let status = child(child(response, SAMLP, "Status"), SAMLP, "StatusCode");
    assert_eq!(
        status.attribute("Value"),
        Some("urn:oasis:names:tc:SAML:2.0:status:Success")
    );
    let assertion = child(response, SAML, "Assertion");
    let name_id = child(child(assertion, SAML, "Subject"), SAML, "NameID");
    assert_eq!(name_id.attribute("Format"), Some(PERSISTENT));
    assert_eq!(name_id.text(), Some("q83vEjRWeJCrze8SNFZ4kA=="));
    let confirmation = assertion
        .descendants()
        .find(|n| n.has_tag_name((SAML, "SubjectConfirmationData")))
        .unwrap();
    assert_eq!(confirmation.attribute("InResponseTo"), Some("_req-1"));
    assert_eq!(confirmation.attribute("Recipient"), Some(ACS));
    let audience = assertion
        .descendants()
        .find(|n| n.has_tag_name((SAML, "Audience")))
        .unwrap();
    assert_eq!(audience.text(), Some(SP_ENTITY_ID));
    let attribute = |name: &str| -> Vec<String> {
        assertion
            .descendants()
            .filter(|n| n.has_tag_name((SAML, "Attribute")) && n.attribute("Name") == Some(name))
            .flat_map(|a| a.children().filter_map(|v| v.text().map(str::to_owned)))
            .collect()
    };
    assert_eq!(
        attribute(claims::IMMUTABLE_ID),
        ["q83vEjRWeJCrze8SNFZ4kA=="]
    );
    assert_eq!(attribute(claims::UPN), ["alice@ad.example"]);
    assert_eq!(attribute(claims::EMAIL), ["alice@ad.example"]);
    assert_eq!(attribute(claims::NAME), ["alice"]);

    // Both the Response and the Assertion are signed, with RSA-SHA256 over SHA-256 digests,
    // and verify with the metadata's certificate and with no other.
    for element in [response, assertion] {
        assert_eq!(
            signature_algorithms(element),
            (RSA_SHA256.to_owned(), SHA256.to_owned())
        );
    }
    let other = idp.set_signing(&["a", "z"], "a").unwrap();
    let cert_z = other.cert("z").unwrap().to_owned();
    assert_ne!(cert_z, cert_a);
    for which in [Signed::Response, Signed::Assertion] {
        assert!(xmlsec_verifies(&xml, &cert_a, which), "{which:?}");
        assert!(!xmlsec_verifies(&xml, &cert_z, which), "{which:?}");
    }

    // The test's clock moves a day: the next response is stamped a day later.
    idp.clock().set_now(TEST_EPOCH + 86_400).unwrap();
    let (_, html) = sso_redirect(&idp, &authn_request(&idp, "_req-2", TEST_EPOCH), "r").await;
    let (_, xml, _) = auto_post(&html);
    let doc = Document::parse(&xml).unwrap();
    let issued = doc.root_element().attribute("IssueInstant").unwrap();
    assert!(
        (iso(TEST_EPOCH + 86_400).as_str()..iso(TEST_EPOCH + 86_460).as_str()).contains(&issued),
        "{issued}"
    );

    drop(idp);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "killed on drop"
    );
}

#[tokio::test]
async fn rollover_lists_two_certificates_and_signs_with_the_chosen_one() {
    let idp = SamlIdp::start_at(TEST_EPOCH).unwrap();
    idp.register_sp_metadata(&sp_metadata()).unwrap();
    let first = idp.set_user("bob@ad.example", None, None).unwrap();
    // Derived ImmutableID: objectGUID-like (16 bytes), and stable for the same UPN.
    assert_eq!(STANDARD.decode(&first.immutable_id).unwrap().len(), 16);
    assert_eq!(idp.set_user("bob@ad.example", None, None).unwrap(), first);

    // ADFS's yearly rollover: the new certificate is published beside the old one, then signs.
    let signing = idp.set_signing(&["a", "b"], "b").unwrap();
    assert_eq!(signing.sign_with, "b");
    let cert_a = signing.cert("a").unwrap().to_owned();
    let cert_b = signing.cert("b").unwrap().to_owned();
    assert_eq!(signing.sign_with_cert, cert_b);
    let metadata = idp.metadata().unwrap();
    let doc = Document::parse(&metadata).unwrap();
    assert_eq!(
        metadata_signing_certs(&doc),
        [cert_a.as_str(), cert_b.as_str()]
    );

    // The POST binding this time.
    let (status, html) = sso_post(&idp, &authn_request(&idp, "_req-b", TEST_EPOCH), "rs-b").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (action, xml, relay) = auto_post(&html);
    assert_eq!((action.as_str(), relay.as_str()), (ACS, "rs-b"));
    let doc = Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("InResponseTo"), Some("_req-b"));
    for which in [Signed::Response, Signed::Assertion] {
        assert!(xmlsec_verifies(&xml, &cert_b, which), "{which:?}");
        assert!(!xmlsec_verifies(&xml, &cert_a, which), "{which:?}");
    }

    // Then the old certificate is dropped from the metadata.
    idp.set_signing(&["b"], "b").unwrap();
    let doc_text = idp.metadata().unwrap();
    let doc = Document::parse(&doc_text).unwrap();
    assert_eq!(metadata_signing_certs(&doc), [cert_b.as_str()]);
    assert!(xmlsec_verifies(&doc_text, &cert_b, Signed::Metadata));

    // For the attack suite: a response signed by a certificate the metadata does not list.
    let rogue = idp.set_signing(&["b"], "rogue").unwrap();
    assert_eq!(
        metadata_signing_certs(&Document::parse(&idp.metadata().unwrap()).unwrap()),
        [cert_b.as_str()]
    );
    let (_, html) = sso_post(&idp, &authn_request(&idp, "_req-r", TEST_EPOCH), "r").await;
    let (_, xml, _) = auto_post(&html);
    assert!(xmlsec_verifies(
        &xml,
        &rogue.sign_with_cert,
        Signed::Response
    ));
    assert!(!xmlsec_verifies(&xml, &cert_b, Signed::Response));
    assert!(!xmlsec_verifies(&xml, &cert_b, Signed::Assertion));
}
