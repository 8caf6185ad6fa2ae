//! A client's public keys for `private_key_jwt`: registered in its metadata (`jwks`), or by URL
//! (`jwks_uri`, issue 18), which most real clients use to rotate their keys. Keys by URL are
//! fetched by the deployment's [`RemoteKeys`] (the guarded fetch of
//! `sekisho_upstream::client_keys`), kept for [`KEYS_TTL`], and fetched again when an assertion's
//! key is not among them, at most every [`REFETCH_AFTER`] per client: an assertion naming an
//! unknown `kid` cannot make the server fetch a client's URL again and again.

use crate::error::OAuthError;
use crate::Op;
use sekisho_core::model::Client;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// Fetches a client's JSON document by URL (the deployment's guarded HTTP client): its JWK Set
/// at `jwks_uri`, or its sector's redirect URIs at `sector_identifier_uri` (`what`, the metadata
/// name, is how errors name the URL).
pub trait RemoteKeys: Send + Sync {
    fn fetch<'a>(
        &'a self,
        uri: &'a str,
        what: &'static str,
    ) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send + 'a>>;
}

/// How long keys fetched by URL are used, seconds.
pub const KEYS_TTL: i64 = 300;
/// An unknown key fetches again at most this often per client, seconds.
pub const REFETCH_AFTER: i64 = 60;

/// The keys fetched by URL, per client, and when each client's were last fetched.
pub(crate) struct FetchedKeys {
    keys: crate::cache::TtlCache<Arc<Value>>,
    fetched_at: Mutex<HashMap<String, i64>>,
}

impl FetchedKeys {
    pub(crate) fn new() -> Self {
        Self {
            keys: crate::cache::TtlCache::new(KEYS_TTL),
            fetched_at: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn forget(&self, client_id: &str) {
        self.keys.forget(client_id);
    }

    pub(crate) fn clear(&self) {
        self.keys.clear();
    }

    fn last_fetch(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.fetched_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Op {
    /// The client's JWK Set: its registered `jwks`, or the keys at its `jwks_uri` (cached;
    /// `again` asks for a fresh fetch, granted at most every [`REFETCH_AFTER`]).
    pub(crate) async fn client_jwks(
        &self,
        client: &Client,
        again: bool,
    ) -> Result<Arc<Value>, OAuthError> {
        if let Some(jwks) = &client.metadata.jwks {
            return Ok(Arc::new(jwks.clone()));
        }
        let Some(uri) = &client.metadata.jwks_uri else {
            return Err(OAuthError::invalid_client(
                "the client has no registered keys",
            ));
        };
        let now = self.now();
        let id = client.client_id.as_str();
        let cached = self.fetched_keys.keys.get(id, now);
        let recently = self
            .fetched_keys
            .last_fetch()
            .get(id)
            .is_some_and(|at| now < at + REFETCH_AFTER);
        if let Some(keys) = cached {
            if !again || recently {
                return Ok(keys);
            }
        }
        let Some(remote) = &self.remote_keys else {
            return Err(OAuthError::invalid_client(
                "this server does not fetch client keys by URL",
            ));
        };
        let ticket = self.fetched_keys.keys.ticket();
        self.fetched_keys.last_fetch().insert(id.to_owned(), now);
        let fetched = remote.fetch(uri, "jwks_uri").await.map_err(|e| {
            tracing::warn!(client_id = %id, error = %e, "fetching a client's jwks_uri failed");
            OAuthError::invalid_client("the client's keys could not be fetched from its jwks_uri")
        })?;
        crate::registration::check_jwks(&fetched).map_err(|e| {
            OAuthError::invalid_client(format!("the client's jwks_uri: {}", e.description()))
        })?;
        let keys = Arc::new(fetched);
        self.fetched_keys
            .keys
            .put_read(id, keys.clone(), now, ticket);
        Ok(keys)
    }
}
