//! Which entry a request came in by (回線認証, REQ-LINE-3). The line entry is a separate
//! listener that accepts only connections authenticated by the carrier gateway's client
//! certificate (see the `sekisho` binary's `line_entry`); there, and only there,
//! [`from_gateway`] turns the gateway's `X-Line-Number` / `X-Line-Area` headers into a request
//! extension. Every request also passes [`strip_line_headers`], so those headers mean nothing
//! anywhere else, and handlers read the [`Route`] extractor, never the headers.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use sekisho_core::line::{Entry, LineArea, LineAssertion, LineNumber};
use std::convert::Infallible;

/// The line the gateway asserts, as it sends it.
pub const LINE_NUMBER_HEADER: &str = "x-line-number";
/// `east` or `west` (NTT East / NTT West).
pub const LINE_AREA_HEADER: &str = "x-line-area";

/// Set by [`from_gateway`] on the line entry only: the entry, and the line host's origin as the
/// gateway presents it (`X-Forwarded-Proto`, `Host`), which only the authenticated gateway sets.
#[derive(Debug, Clone)]
struct LineEntryMark(Entry, Option<String>);

/// Middleware of the line entry's listener: reads the authenticated gateway's assertion. A
/// number that is not exactly `CAF`+10 / `COP`+8 upper-case alphanumerics (lower case, padding)
/// is no line at all.
pub async fn from_gateway(mut req: Request, next: Next) -> Response {
    let assertion = gateway_assertion(req.headers());
    let origin = gateway_origin(req.headers());
    req.headers_mut().remove(LINE_NUMBER_HEADER);
    req.headers_mut().remove(LINE_AREA_HEADER);
    req.extensions_mut()
        .insert(LineEntryMark(Entry::Line(assertion), origin));
    next.run(req).await
}

fn gateway_origin(headers: &axum::http::HeaderMap) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let host = header("host")?;
    // A host is letters, digits, dots, dashes, brackets and a port: anything else is no origin.
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    {
        return None;
    }
    let proto = match header("x-forwarded-proto") {
        Some("http") => "http",
        _ => "https",
    };
    Some(format!("{proto}://{host}"))
}

fn gateway_assertion(headers: &axum::http::HeaderMap) -> Option<LineAssertion> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let number = LineNumber::parse(header(LINE_NUMBER_HEADER)?).ok()?;
    let area = LineArea::parse(header(LINE_AREA_HEADER)?)?;
    Some(LineAssertion { number, area })
}

/// Middleware of every request: the line headers are dropped before any handler could read them
/// (on the line entry [`from_gateway`] has already taken them).
pub async fn strip_line_headers(mut req: Request, next: Next) -> Response {
    req.headers_mut().remove(LINE_NUMBER_HEADER);
    req.headers_mut().remove(LINE_AREA_HEADER);
    next.run(req).await
}

/// The line the gateway asserted for this request, on the line entry only (the rate limits'
/// client there: every line request comes from the gateway's one address).
pub(crate) fn line_of(extensions: &axum::http::Extensions) -> Option<String> {
    match extensions.get::<LineEntryMark>() {
        Some(LineEntryMark(Entry::Line(Some(a)), _)) => Some(a.number.as_str().to_owned()),
        Some(LineEntryMark(Entry::Line(None), _)) => Some("gateway".to_owned()),
        _ => None,
    }
}

/// The entry of this request: `Internet` unless the line entry's listener marked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route(pub Entry);

impl<S: Send + Sync> FromRequestParts<S> for Route {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Route(
            parts
                .extensions
                .get::<LineEntryMark>()
                .map(|m| m.0.clone())
                .unwrap_or_default(),
        ))
    }
}

/// The line host's origin when the request came over the line entry (for the URLs an upstream
/// or ADFS sends the browser back to); `None` on the internet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineOrigin(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for LineOrigin {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(LineOrigin(
            parts
                .extensions
                .get::<LineEntryMark>()
                .and_then(|m| m.1.clone()),
        ))
    }
}
