//! Headers every response carries: no framing, no sniffing, no referrer, no caching of pages or
//! tokens (RFC 6749 §5.1 requires `no-store` on token responses).

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The only inline scripts the pages may run, each allowed by its hash in `script-src`: the
/// pages that post their form by themselves (`ad_connection.html` for the AD login URL,
/// `ad_post.html` at the SAML ACS). Without them a browser stops on those pages, since
/// `default-src 'self'` blocks inline scripts. A template override that changes one of these
/// scripts must add its text here (any other inline script stays blocked).
pub(crate) const INLINE_SCRIPTS: &[&str] = &[
    "document.getElementById('ad-form').submit();",
    "document.getElementById('saml-form').submit();",
];

/// `'sha256-…'` of an inline script's text, as CSP Level 2 hashes it.
fn script_hash(script: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(script.as_bytes()))
    )
}

static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hashes: Vec<String> = INLINE_SCRIPTS.iter().map(|s| script_hash(s)).collect();
    let csp = format!(
        "default-src 'self'; script-src 'self' {}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        hashes.join(" ")
    );
    HeaderValue::from_str(&csp).unwrap_or_else(|_| {
        // Hashes are base64: the header is always valid. Without them, the strict policy.
        HeaderValue::from_static("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'")
    })
});

pub async fn headers(req: Request, next: Next) -> Response {
    let cacheable =
        req.uri().path().ends_with("/jwks") || req.uri().path().ends_with("/openid-configuration");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, CSP.clone());
    if cacheable {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
    } else {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    // Chromium's own hash of the ACS page's script (from its CSP violation report): the
    // policy's hashes are the ones a browser computes.
    #[test]
    fn hashes_match_what_chromium_computes() {
        assert_eq!(
            script_hash("document.getElementById('saml-form').submit();"),
            "'sha256-B2nmDrjNPlkSRtgDyZRCrCQXm15N2hOycwNThoe5CJQ='"
        );
        let csp = CSP.to_str().unwrap();
        for script in INLINE_SCRIPTS {
            assert!(csp.contains(&script_hash(script)), "{csp}");
        }
    }

    // Every inline script of the embedded templates is allowed by the policy (one that is not
    // would silently never run in a browser).
    #[test]
    fn every_inline_script_of_the_templates_is_allowed() {
        for (name, text) in crate::pages::EMBEDDED {
            for chunk in text.split("<script>").skip(1) {
                let script = chunk.split("</script>").next().unwrap_or_default();
                assert!(
                    INLINE_SCRIPTS.contains(&script),
                    "{name}: inline script {script:?} is not in INLINE_SCRIPTS"
                );
            }
            assert_eq!(
                text.matches("<script").count(),
                text.matches("<script>").count(),
                "{name}: a <script> with attributes escapes this check"
            );
        }
    }
}
