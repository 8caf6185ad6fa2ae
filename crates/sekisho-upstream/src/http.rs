//! The one HTTP client of a connector and bounded reads of JSON documents.

use std::error::Error as _;
use std::time::Duration;

use reqwest::{redirect::Policy, StatusCode};

use crate::UpstreamError;

/// Every upstream call gives up after this long: a user is waiting.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Discovery documents, JWKS and Graph answers are a few KiB; anything this large is garbage.
const MAX_BODY: usize = 1024 * 1024;

/// No redirects are followed (a redirect from a token or discovery endpoint is not an answer,
/// and following one could carry a request where it was not meant to go), 10 s timeout.
pub(crate) fn client() -> Result<reqwest::Client, UpstreamError> {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(TIMEOUT)
        .user_agent(concat!("sekisho/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| UpstreamError::Config(format!("HTTP client: {}", describe(&e))))
}

/// What went wrong with a request, without the URL's query or any body: the kind, and the
/// causes (connection refused, DNS, TLS …).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else if e.is_decode() || e.is_body() {
        "could not read the answer".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// A URL for messages: scheme, host, port and path only.
pub(crate) fn show(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// Reads at most [`MAX_BODY`] bytes of the answer.
pub(crate) async fn body(
    mut response: reqwest::Response,
    what: &str,
) -> Result<Vec<u8>, UpstreamError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| UpstreamError::Unavailable(format!("{what}: {}", describe(&e))))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(UpstreamError::Unavailable(format!(
                "{what}: the answer is larger than {MAX_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// GET a public JSON document (discovery, JWKS): `200` with a body of at most [`MAX_BODY`].
pub(crate) async fn get_document(
    http: &reqwest::Client,
    url: &url::Url,
    what: &str,
) -> Result<Vec<u8>, UpstreamError> {
    let what = format!("{what} {}", show(url));
    let response = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| UpstreamError::Unavailable(format!("{what}: {}", describe(&e))))?;
    let status = response.status();
    if status != StatusCode::OK {
        return Err(UpstreamError::Unavailable(format!(
            "{what}: answered {status}"
        )));
    }
    body(response, &what).await
}
