//! CORS (issue 18) on the endpoints a browser-based client calls across origins: discovery
//! (both forms), JWKS, token, PAR, userinfo, revocation and introspection. Only the origins of
//! redirect URIs that clients of the path's brand registered are allowed (`Op::origin_allowed`),
//! never `*`: a page of any other origin cannot read the answers. No cookies are involved
//! (`Access-Control-Allow-Credentials` is never sent): these endpoints authenticate clients and
//! tokens, not browser sessions. The machinery is tower-http's `CorsLayer` (preflight answers,
//! `Vary`), which the project already had in its dependency tree through reqwest.

use crate::AppState;
use axum::http::{header, HeaderName, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may keep a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE: u64 = 600;

pub fn layer(state: AppState) -> CorsLayer {
    let allow = AllowOrigin::async_predicate(move |origin, parts| {
        let state = state.clone();
        let brand = brand_of(parts.uri.path()).map(str::to_owned);
        async move {
            match (brand, origin.to_str()) {
                (Some(brand), Ok(origin)) => state.op.origin_allowed(&brand, origin).await,
                _ => false,
            }
        }
    });
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("dpop"),
        ])
        .expose_headers([
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("dpop-nonce"),
        ])
        .max_age(std::time::Duration::from_secs(PREFLIGHT_MAX_AGE))
}

/// The brand of a path of the endpoints above: its first segment, or the last of
/// `/.well-known/oauth-authorization-server/{brand}`.
fn brand_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    match rest.strip_prefix(".well-known/oauth-authorization-server/") {
        Some(brand) => Some(brand),
        None => rest.split('/').next(),
    }
    .filter(|b| !b.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn brand_of_each_form() {
        assert_eq!(super::brand_of("/VX5/token"), Some("VX5"));
        assert_eq!(
            super::brand_of("/.well-known/oauth-authorization-server/VX5"),
            Some("VX5")
        );
        assert_eq!(super::brand_of("/"), None);
    }
}
