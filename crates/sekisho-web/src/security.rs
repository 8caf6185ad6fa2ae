//! Headers every response carries: no framing, no sniffing, no referrer, no caching of pages or
//! tokens (RFC 6749 §5.1 requires `no-store` on token responses), HSTS when the public URL is
//! https, and a CSP whose `form-action` lets forms post only to this site.
//!
//! `form-action` also governs the redirects that follow a form's submission (Chromium enforces
//! it on the whole redirect chain): the login form's POST ends, through `/authorize/resume`, at
//! the RP's `redirect_uri`, and the logout confirmation's at its `post_logout_redirect_uri`. A
//! handler that knows where its page's forms may end calls [`allow_form_target`] while it builds
//! the response, and that origin joins `'self'` in the page's `form-action` (ISSUE-15). The AD
//! login pages, whose forms lead to the ADFS that the connection ID selects (typed by the user)
//! and back, call [`allow_any_form_target`]: their policy has no `form-action`, as before.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::sync::LazyLock;

tokio::task_local! {
    /// Where the forms of the response being built may lead, besides this site.
    static FORM_TARGETS: RefCell<FormTargets>;
}

#[derive(Debug, Default)]
struct FormTargets {
    origins: Vec<String>,
    any: bool,
}

/// The page being answered has a form whose submission may end (through redirects) at `url`'s
/// origin: allow that origin in its `form-action`. Outside a request (tests of handlers without
/// the middleware) it does nothing. URLs without a tuple origin are ignored.
pub fn allow_form_target(url: &str) {
    let Ok(url) = url::Url::parse(url) else {
        return;
    };
    let origin = url.origin();
    if !origin.is_tuple() {
        return;
    }
    // An ASCII origin (`scheme://host[:port]`) has no space, `;` or `,`: it cannot end the
    // directive or start another one.
    let origin = origin.ascii_serialization();
    let _ = FORM_TARGETS.try_with(|t| {
        let mut t = t.borrow_mut();
        if !t.origins.contains(&origin) {
            t.origins.push(origin);
        }
    });
}

/// The page being answered has forms whose destination it cannot know (see the module
/// documentation): its policy carries no `form-action`.
pub fn allow_any_form_target() {
    let _ = FORM_TARGETS.try_with(|t| t.borrow_mut().any = true);
}

/// `Strict-Transport-Security` when the public URL is https: one year, the usual minimum for
/// browsers' preload lists. No `includeSubDomains`: the OP does not own its parent domain's
/// other hosts, and a sibling served over plain http would become unreachable.
pub const HSTS: &str = "max-age=31536000";

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

/// The policy without `form-action`. Images may also come from any https origin: a brand's logo
/// (`brand update --logo-url`) is usually on the storefront's own host or CDN (ISSUE-16). An
/// image cannot run script, and a page has no other way to reach that origin.
static CSP_BASE: LazyLock<String> = LazyLock::new(|| {
    let hashes: Vec<String> = INLINE_SCRIPTS.iter().map(|s| script_hash(s)).collect();
    format!(
        "default-src 'self'; script-src 'self' {}; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; frame-ancestors 'none'; base-uri 'none'",
        hashes.join(" ")
    )
});

/// The policy of most responses: forms post to this site only.
static CSP: LazyLock<HeaderValue> =
    LazyLock::new(|| csp_value(&format!("{}; form-action 'self'", *CSP_BASE)));

fn csp_value(csp: &str) -> HeaderValue {
    HeaderValue::from_str(csp).unwrap_or_else(|_| {
        // Hashes are base64 and origins ASCII: the header is always valid. Else the strictest.
        HeaderValue::from_static("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
    })
}

fn csp_for(targets: &FormTargets) -> HeaderValue {
    if targets.any {
        csp_value(&CSP_BASE)
    } else if targets.origins.is_empty() {
        CSP.clone()
    } else {
        csp_value(&format!(
            "{}; form-action 'self' {}",
            *CSP_BASE,
            targets.origins.join(" ")
        ))
    }
}

/// The middleware; `https` is whether the public URL is https (HSTS).
pub async fn headers(
    axum::extract::State(https): axum::extract::State<bool>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let cacheable = path.ends_with("/jwks") || path.ends_with("/openid-configuration");
    // The style sheet and the brand marks (ISSUE-16) are the same for every visitor and carry
    // their own cache lifetime: the handler's `Cache-Control` stays.
    let public_asset = path == "/assets/style.css" || path.ends_with("/favicon.svg");
    let (mut res, targets) = FORM_TARGETS
        .scope(RefCell::new(FormTargets::default()), async {
            let res = next.run(req).await;
            (res, FORM_TARGETS.with(|t| t.take()))
        })
        .await;
    let h = res.headers_mut();
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, csp_for(&targets));
    if public_asset && h.contains_key(header::CACHE_CONTROL) {
        // Set by the asset's handler.
    } else if cacheable {
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
