//! The first reader of untrusted XML: refuses a DTD (so no internal entity is expanded and no
//! external one fetched), comments and processing instructions (the 2018 canonicalization attack
//! hides text from the signature in a comment) and documents with too many nodes.

use crate::limits::MAX_NODES;
use roxmltree::{Document, ParsingOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XmlProblem {
    Dtd,
    Comment,
    TooLarge,
    Malformed,
}

pub(crate) fn read(xml: &str) -> Result<Document<'_>, XmlProblem> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
    };
    let doc = Document::parse_with_options(xml, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => XmlProblem::Dtd,
        roxmltree::Error::NodesLimitReached => XmlProblem::TooLarge,
        _ => XmlProblem::Malformed,
    })?;
    if doc.descendants().any(|n| n.is_comment() || n.is_pi()) {
        return Err(XmlProblem::Comment);
    }
    Ok(doc)
}

pub(crate) const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub(crate) const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(crate) const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(crate) const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(crate) const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub(crate) const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub(crate) const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
pub(crate) const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
pub(crate) const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// Whether `node` is the element `ns:name`.
pub(crate) fn is(node: &roxmltree::Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

/// Escapes text for an XML attribute or element.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
