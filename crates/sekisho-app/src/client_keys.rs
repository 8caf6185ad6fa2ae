//! Client documents by URL (issue 18: `jwks_uri`, `sector_identifier_uri`): the protocol's
//! `RemoteKeys` over the guarded fetch of
//! `sekisho_upstream::client_keys` (https, no redirects, 3 s, 64 KiB, never the server's own
//! networks unless the operator allows them).

use sekisho_oidc::client_keys::RemoteKeys;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// Fetches `jwks_uri`s; `allow_internal` (the `client_urls_allow_internal` setting) lets them
/// point at loopback and private addresses (development, or clients inside the operator's network).
#[derive(Debug, Clone, Copy)]
pub struct FetchClientKeys {
    pub allow_internal: bool,
}

impl RemoteKeys for FetchClientKeys {
    fn fetch<'a>(
        &'a self,
        uri: &'a str,
        what: &'static str,
    ) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send + 'a>> {
        Box::pin(async move {
            sekisho_upstream::client_keys::fetch_client_document(uri, what, self.allow_internal)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
