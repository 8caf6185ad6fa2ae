//! The OpenID provider protocol, without HTTP: the web crate parses requests into these types and
//! maps the results to responses.
//!
//! Errors are RFC 6749 error codes ([`OAuthError`]); internal failures are logged here and leave
//! as `server_error` without detail.

pub mod authorize;
pub mod cache;
pub mod client_auth;
pub mod client_keys;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod grants;
pub mod introspect;
pub mod logout;
pub mod mint;
pub mod operator;
pub mod par;
pub mod registration;
pub mod revoke;
pub mod userinfo;

pub use error::{ErrorCode, OAuthError};

use sekisho_core::model::{Brand, Client};
use sekisho_core::Clock;
use sekisho_crypto::{KeyRing, PasswordHasher};
use sekisho_store::{Change, Store};
use std::sync::Arc;

/// Lifetimes and the public URL: everything the protocol needs from configuration.
#[derive(Debug, Clone)]
pub struct OpConfig {
    /// Without a trailing slash, e.g. `http://127.0.0.1:8080`. Issuers are `{public_url}/{brand}`.
    pub public_url: String,
    pub code_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub auth_request_ttl: i64,
    pub session_ttl: i64,
    /// Seconds after a refresh token's rotation in which presenting it again, while the token
    /// it was rotated to is unused, replaces that token instead of revoking the family (a client
    /// that lost the answer); 0 = strict rotation. See `Store::rotate_refresh_within`.
    pub refresh_reuse_grace: i64,
    /// RFC 7591 initial access tokens (hashes only); empty = no dynamic client registration.
    pub initial_access_tokens: Vec<registration::InitialAccessToken>,
    /// How long a pushed authorization request's `request_uri` works (RFC 9126 §2.2), seconds.
    pub pushed_request_ttl: i64,
    /// Every client must push its authorization requests (RFC 9126 §5), not only the clients
    /// registered with `require_pushed_authorization_requests`.
    pub require_pushed_authorization_requests: bool,
    /// Every DPoP proof must carry a fresh server nonce (RFC 9449 §8).
    pub dpop_require_nonce: bool,
}

impl Default for OpConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            code_ttl: 60,
            access_token_ttl: 900,
            id_token_ttl: 3600,
            refresh_token_ttl: 30 * 86_400,
            auth_request_ttl: 1800,
            session_ttl: 12 * 3600,
            refresh_reuse_grace: 0,
            initial_access_tokens: Vec::new(),
            pushed_request_ttl: 60,
            require_pushed_authorization_requests: false,
            dpop_require_nonce: false,
        }
    }
}

impl OpConfig {
    /// How long a retired signing key must stay in the JWKS: the longest lifetime of a token it signed.
    pub fn key_overlap(&self) -> i64 {
        self.access_token_ttl.max(self.id_token_ttl) + 300
    }
}

/// The provider: storage, keys, clock and configuration, shared by every request.
pub struct Op {
    pub store: Store,
    pub keys: Arc<KeyRing>,
    pub clock: Arc<dyn Clock>,
    pub passwords: PasswordHasher,
    pub config: OpConfig,
    clients: cache::TtlCache<Client>,
    brands: cache::TtlCache<Brand>,
    /// Per brand (only brands that exist reach it): whether a live initial access token opens
    /// dynamic registration (discovery says so on every request; the database is asked at most
    /// every 30 s).
    registration_open: cache::TtlCache<bool>,
    /// Per brand: the origins of its clients' redirect URIs, which CORS admits (issue 18).
    origins: cache::TtlCache<Arc<Vec<String>>>,
    /// The key of DPoP nonces (`dpop::nonce`), shared by the nodes through the database, read
    /// once.
    pub(crate) dpop_nonce_key: tokio::sync::OnceCell<Vec<u8>>,
    /// The salt of pairwise subjects (`Op::subject`), shared by the nodes through the database
    /// and never changed (a new salt would change every pairwise `sub`), read once.
    pairwise_salt: tokio::sync::OnceCell<Vec<u8>>,
    /// Client keys fetched by URL (`client_keys`), and the fetcher (none: `jwks_uri` clients
    /// cannot authenticate).
    fetched_keys: client_keys::FetchedKeys,
    remote_keys: Option<Arc<dyn client_keys::RemoteKeys>>,
    /// The verifiers of DPoP proof keys seen lately (`sekisho_crypto::proof::VerifierCache`).
    pub(crate) dpop_verifiers: sekisho_crypto::proof::VerifierCache,
    /// What [`Op::apply`] applied last (see [`Op::last_change`]).
    last_change: tokio::sync::watch::Sender<Option<Change>>,
}

/// How long a client or brand read from the database is reused (seconds).
const RECORD_CACHE_TTL: i64 = 30;

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Op").field("config", &self.config).finish()
    }
}

impl Op {
    pub fn new(
        store: Store,
        keys: Arc<KeyRing>,
        clock: Arc<dyn Clock>,
        passwords: PasswordHasher,
        config: OpConfig,
    ) -> Self {
        Self {
            store,
            keys,
            clock,
            passwords,
            config,
            clients: cache::TtlCache::new(RECORD_CACHE_TTL),
            brands: cache::TtlCache::new(RECORD_CACHE_TTL),
            registration_open: cache::TtlCache::new(RECORD_CACHE_TTL),
            origins: cache::TtlCache::new(RECORD_CACHE_TTL),
            dpop_nonce_key: tokio::sync::OnceCell::new(),
            dpop_verifiers: sekisho_crypto::proof::VerifierCache::default(),
            pairwise_salt: tokio::sync::OnceCell::new(),
            fetched_keys: client_keys::FetchedKeys::new(),
            remote_keys: None,
            last_change: tokio::sync::watch::channel(None).0,
        }
    }

    /// Fetches client keys by URL with `remote` (the deployment's guarded HTTP client).
    pub fn with_remote_keys(mut self, remote: Arc<dyn client_keys::RemoteKeys>) -> Self {
        self.remote_keys = Some(remote);
        self
    }

    /// The client `id` (cached; see [`cache`]).
    pub async fn client(&self, id: &str) -> Result<Option<Client>, sekisho_store::StoreError> {
        let now = self.now();
        if let Some(c) = self.clients.get(id, now) {
            return Ok(Some(c));
        }
        let ticket = self.clients.ticket();
        let found = self.store.find_client(id).await?;
        if let Some(c) = &found {
            self.clients.put_read(id, c.clone(), now, ticket);
        }
        Ok(found)
    }

    /// The brand `code` (cached; see [`cache`]).
    pub async fn brand(&self, code: &str) -> Result<Option<Brand>, sekisho_store::StoreError> {
        let now = self.now();
        if let Some(b) = self.brands.get(code, now) {
            return Ok(Some(b));
        }
        let ticket = self.brands.ticket();
        let found = self.store.find_brand(code).await?;
        if let Some(b) = &found {
            self.brands.put_read(code, b.clone(), now, ticket);
        }
        Ok(found)
    }

    /// Call after changing a client through this process, so the change is seen at once.
    pub fn forget_client(&self, id: &str) {
        self.clients.forget(id);
        self.origins.clear();
    }

    /// Whether `origin` (a browser's `Origin` header) is the origin of a redirect URI that a
    /// client of `brand` registered: the origins CORS admits (issue 18). Cached per brand like
    /// the clients; unknown brands are not cached.
    pub async fn origin_allowed(&self, brand: &str, origin: &str) -> bool {
        let now = self.now();
        if let Some(list) = self.origins.get(brand, now) {
            return list.iter().any(|o| o == origin);
        }
        if !matches!(self.brand(brand).await, Ok(Some(_))) {
            return false;
        }
        let ticket = self.origins.ticket();
        let Ok(clients) = self.store.list_clients(brand).await else {
            return false;
        };
        let mut list: Vec<String> = clients
            .iter()
            .flat_map(|c| &c.metadata.redirect_uris)
            .filter_map(|u| url::Url::parse(u).ok())
            .map(|u| u.origin())
            // Custom schemes (native apps) have an opaque origin: nothing to admit.
            .filter(|o| o.is_tuple())
            .map(|o| o.ascii_serialization())
            .collect();
        list.sort();
        list.dedup();
        let allowed = list.iter().any(|o| o == origin);
        self.origins.put_read(brand, Arc::new(list), now, ticket);
        allowed
    }

    /// Call after changing a brand through this process.
    pub fn forget_brand(&self, code: &str) {
        self.brands.forget(code);
    }

    pub(crate) fn registration_open_cached(&self, brand: &str, now: i64) -> Option<bool> {
        self.registration_open.get(brand, now)
    }

    pub(crate) fn registration_open_ticket(&self) -> cache::ReadTicket {
        self.registration_open.ticket()
    }

    pub(crate) fn cache_registration_open(
        &self,
        brand: &str,
        open: bool,
        now: i64,
        ticket: cache::ReadTicket,
    ) {
        self.registration_open.put_read(brand, open, now, ticket);
    }

    /// Forgets what `change` made stale: a write of this process, another process's on the
    /// same database, or (on PostgreSQL) another node's (issue 17).
    pub fn apply(&self, change: &Change) {
        match change {
            Change::Client(id) => {
                self.clients.forget(id);
                self.fetched_keys.forget(id);
                self.origins.clear();
            }
            Change::Brand(code) => self.brands.forget(code),
            Change::SigningKeys => self.keys.invalidate(),
            Change::RegistrationTokens => self.registration_open.clear(),
            Change::Everything => {
                self.clients.clear();
                self.brands.clear();
                self.registration_open.clear();
                self.origins.clear();
                self.fetched_keys.clear();
                self.keys.invalidate();
            }
        }
        self.last_change.send_replace(Some(change.clone()));
    }

    /// The last change this process applied: tests wait on it for a change to arrive instead
    /// of sleeping (PostgreSQL delivers a node's announcements in commit order, so a marker
    /// announced after a write arrives after it).
    pub fn last_change(&self) -> tokio::sync::watch::Receiver<Option<Change>> {
        self.last_change.subscribe()
    }

    /// Call after making or revoking an initial access token of `brand` through this process;
    /// `None` (a token for every brand) forgets every brand's answer.
    pub fn forget_registration_open(&self, brand: Option<&str>) {
        match brand {
            Some(code) => self.registration_open.forget(code),
            None => self.registration_open.clear(),
        }
    }

    /// The `sub` `client` sees for the user `user_id` (OpenID Connect Core §8): the id itself
    /// for a public client; for a pairwise one an HMAC of sector and id under the deployment's
    /// salt, the same for every client of the sector and unrelated across sectors.
    pub async fn subject(&self, client: &Client, user_id: &str) -> Result<String, OAuthError> {
        let Some(sector) = client.pairwise_sector() else {
            return Ok(user_id.to_owned());
        };
        let salt = self
            .pairwise_salt
            .get_or_try_init(|| async {
                self.store
                    .server_secret("pairwise_salt", &sekisho_crypto::tokens::random_token())
                    .await
                    .map(String::into_bytes)
            })
            .await?;
        sekisho_crypto::proof::keyed_tag(salt, &format!("{sector}\u{0}{user_id}"))
            .map_err(OAuthError::server)
    }

    /// The user an access token of a user is for: its `sub`, or for a pairwise client's token
    /// the user of its grant (the `sub` is not the user's id).
    pub async fn user_of_access(
        &self,
        access: &mint::VerifiedAccess,
    ) -> Result<Option<String>, OAuthError> {
        let pairwise = self
            .client(&access.client_id)
            .await?
            .is_some_and(|c| c.pairwise_sector().is_some());
        if !pairwise {
            return Ok(Some(access.sub.clone()));
        }
        let Some(gid) = &access.grant_id else {
            return Ok(None);
        };
        Ok(self.store.find_grant(gid).await?.and_then(|g| g.user_id))
    }

    pub fn issuer(&self, brand: &str) -> String {
        format!("{}/{}", self.config.public_url, brand)
    }
    pub fn endpoint(&self, brand: &str, path: &str) -> String {
        format!("{}/{}", self.issuer(brand), path)
    }
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
