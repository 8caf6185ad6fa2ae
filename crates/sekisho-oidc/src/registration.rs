//! Client registration (REQ-OP-6), without HTTP: the rules every client's metadata passes,
//! whoever registers it (the operator through `sekisho::admin::register_client`, or the client
//! itself through RFC 7591 dynamic registration), and the RFC 7591 / RFC 7592 operations.
//!
//! Invariants:
//! - A redirect URI is absolute, has no fragment, no user information and no wildcard, and is
//!   https, or http on loopback (`localhost`, `127.0.0.1`, `[::1]`) for native apps. It is later
//!   matched exactly ([`sekisho_core::model::Client::has_redirect_uri`]).
//! - Dynamic registration needs an initial access token (RFC 7591 §3) of the brand. The
//!   configuration holds only their SHA-256 hashes ([`InitialAccessToken`]); none configured
//!   means no dynamic registration (and no `registration_endpoint` in discovery).
//! - Each dynamically registered client gets a registration access token (RFC 7592): 256 random
//!   bits, stored only as its hash, compared in constant time. It is not rotated (RFC 7592 §2.2
//!   makes rotation optional): it lives as long as the client, so a lost update response cannot
//!   lock a client out; deleting the client ends it. Operator-registered clients have none, so the
//!   configuration endpoint does not manage them.
//! - The client secret is machine-generated and stored as a hash; a read or an update never
//!   returns it again (only an update that first gives a client a secret returns the new one).
//! - A dynamically registered client may only ask for what Sekisho does: `code` with
//!   `authorization_code` / `refresh_token` / `client_credentials`, the token endpoint methods of
//!   [`TokenEndpointAuthMethod`], the ID token algorithms of [`SigningAlg`], and only Sekisho's own
//!   scopes (API scopes for `client_credentials` stay the operator's to give). Metadata that asks
//!   for something Sekisho does not do (encryption, request objects, …) is refused
//!   rather than silently dropped; metadata it does not know is ignored (RFC 7591 §2) and not
//!   echoed.

use crate::error::OAuthError;
use crate::Op;
use sekisho_core::model::{Brand, Client, ClientMetadata, ClientRequirements, SubjectType};
use sekisho_core::name::InvalidName;
use sekisho_core::oauth::{GrantType, SigningAlg, TokenEndpointAuthMethod, SUPPORTED_SCOPES};
use sekisho_core::secret::{serialize_exposed, serialize_exposed_option, Secret};
use sekisho_crypto::keyring::CLIENT_ASSERTION_ALGS;
use sekisho_crypto::tokens::{constant_time_eq, hash_token, new_id, random_token, verify_token};
use serde::Serialize;
use serde_json::{Map, Value};

/// At most this many redirect URIs (and as many post-logout redirect URIs) per client.
pub const MAX_REDIRECT_URIS: usize = 20;
/// The longest redirect URI accepted, in bytes.
pub const MAX_URI_LEN: usize = 2000;
/// The longest client name accepted, in characters (every name's limit, `sekisho_core::name`).
pub const MAX_NAME_LEN: usize = sekisho_core::name::MAX_NAME_CHARS;
/// At most this many keys in a client's JWK Set.
pub const MAX_JWKS_KEYS: usize = 10;

/// A client as its registrant describes it, before the rules are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSpec {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// `None` picks `client_secret_basic` (`none` for public clients, `private_key_jwt` when
    /// `jwks` is given).
    pub auth_method: Option<TokenEndpointAuthMethod>,
    pub public: bool,
    /// Empty picks `authorization_code` and `refresh_token`.
    pub grant_types: Vec<GrantType>,
    pub id_token_alg: SigningAlg,
    pub jwks: Option<Value>,
    /// Where the client's keys are fetched (issue 18); never together with `jwks`.
    pub jwks_uri: Option<String>,
    pub scope: Option<String>,
    pub requires: ClientRequirements,
    /// OpenID Connect Back-Channel Logout 1.0 (issue 18): where logout tokens are POSTed.
    pub backchannel_logout_uri: Option<String>,
    pub subject_type: SubjectType,
    /// OpenID Connect Core §8.1: a pairwise client's sector by URL, listing its redirect URIs.
    pub sector_identifier_uri: Option<String>,
}

/// Why metadata is refused; the two RFC 7591 §3.2.2 error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("{0}")]
    RedirectUri(String),
    #[error("{0}")]
    ClientMetadata(String),
}

impl MetadataError {
    pub fn code(&self) -> &'static str {
        match self {
            MetadataError::RedirectUri(_) => "invalid_redirect_uri",
            MetadataError::ClientMetadata(_) => "invalid_client_metadata",
        }
    }
    pub fn description(&self) -> &str {
        match self {
            MetadataError::RedirectUri(d) | MetadataError::ClientMetadata(d) => d,
        }
    }
}

fn bad_metadata(d: impl Into<String>) -> MetadataError {
    MetadataError::ClientMetadata(d.into())
}

/// Whether `uri` may be registered as a redirect URI (or post-logout redirect URI); the reason
/// if not.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_URI_LEN {
        return Err(format!("a redirect URI is longer than {MAX_URI_LEN} bytes"));
    }
    let url =
        url::Url::parse(uri).map_err(|_| format!("redirect URI {uri:?} is not an absolute URL"))?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(format!("redirect URI {uri:?} must not have a fragment"));
    }
    if uri.contains('*') {
        return Err(format!(
            "redirect URI {uri:?} has a wildcard: redirect URIs are matched exactly"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "redirect URI {uri:?} must not carry user information"
        ));
    }
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "redirect URI {uri:?} must use https (http only for loopback: 127.0.0.1, [::1], localhost)"
        )),
    }
}

fn check_uri_list(uris: &[String], what: &str) -> Result<(), String> {
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(format!("at most {MAX_REDIRECT_URIS} {what} are accepted"));
    }
    uris.iter().try_for_each(|u| check_redirect_uri(u))
}

/// A JWK Set of public keys: an object with a non-empty `keys` array of JWKs, none private or
/// symmetric.
pub(crate) fn check_jwks(jwks: &Value) -> Result<(), MetadataError> {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            bad_metadata("jwks must be a JWK Set: an object with a non-empty keys array")
        })?;
    if keys.len() > MAX_JWKS_KEYS {
        return Err(bad_metadata(format!(
            "jwks holds more than {MAX_JWKS_KEYS} keys"
        )));
    }
    for key in keys {
        let kty = key
            .get("kty")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_metadata("every key in jwks needs a kty"))?;
        if kty == "oct" {
            return Err(bad_metadata(
                "jwks must hold public keys, not symmetric ones",
            ));
        }
        if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
            .iter()
            .any(|m| key.get(m).is_some())
        {
            return Err(bad_metadata(
                "jwks holds a private key: register only the public keys",
            ));
        }
    }
    Ok(())
}

/// Applies the rules to a registrant's description: the metadata to store, or why not.
pub fn client_metadata(spec: ClientSpec) -> Result<ClientMetadata, MetadataError> {
    let name = match sekisho_core::name::check_name(&spec.name, false) {
        Ok(name) => name.to_owned(),
        Err(InvalidName::TooLong) => {
            return Err(bad_metadata(format!(
                "client_name is longer than {MAX_NAME_LEN} characters"
            )))
        }
        Err(e) => return Err(bad_metadata(format!("client_name: {e}"))),
    };
    check_uri_list(&spec.redirect_uris, "redirect URIs").map_err(MetadataError::RedirectUri)?;
    check_uri_list(&spec.post_logout_redirect_uris, "post-logout redirect URIs")
        .map_err(MetadataError::ClientMetadata)?;
    let method = match (spec.public, spec.auth_method) {
        (true, None | Some(TokenEndpointAuthMethod::None)) => TokenEndpointAuthMethod::None,
        (true, Some(m)) => return Err(bad_metadata(format!("a public client cannot use {m}"))),
        (false, Some(m)) => m,
        (false, None) if spec.jwks.is_some() || spec.jwks_uri.is_some() => {
            TokenEndpointAuthMethod::PrivateKeyJwt
        }
        (false, None) => TokenEndpointAuthMethod::ClientSecretBasic,
    };
    let mut grants: Vec<GrantType> = Vec::new();
    for g in spec.grant_types {
        if !grants.contains(&g) {
            grants.push(g);
        }
    }
    if grants.is_empty() {
        grants = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    }
    if grants.contains(&GrantType::AuthorizationCode) && spec.redirect_uris.is_empty() {
        return Err(MetadataError::RedirectUri(
            "the authorization code flow needs at least one redirect URI".into(),
        ));
    }
    if method == TokenEndpointAuthMethod::None && grants.contains(&GrantType::ClientCredentials) {
        return Err(bad_metadata(
            "a public client cannot use client_credentials",
        ));
    }
    if method == TokenEndpointAuthMethod::PrivateKeyJwt
        && spec.jwks.is_none()
        && spec.jwks_uri.is_none()
    {
        return Err(bad_metadata(
            "private_key_jwt needs the client's public keys (jwks or jwks_uri)",
        ));
    }
    if spec.jwks.is_some() && spec.jwks_uri.is_some() {
        return Err(bad_metadata(
            "jwks and jwks_uri cannot both be given (RFC 7591 §2)",
        ));
    }
    // Fetched by the server: https (http only on loopback), no fragment, no user information,
    // at most 2000 bytes; where it may point is checked at each fetch (not a private address).
    if let Some(uri) = &spec.jwks_uri {
        check_redirect_uri(uri).map_err(|e| bad_metadata(format!("jwks_uri: {e}")))?;
    }
    if let Some(jwks) = &spec.jwks {
        check_jwks(jwks)?;
    }
    // The redirect URIs' rule (https, http only on loopback, no fragment): the server POSTs
    // there, so the same care as where it sends browsers.
    // OpenID Connect Core §8.1: the sector is the host of the sector_identifier_uri (https; its
    // list of redirect URIs is checked by `check_sector` when registering), else the host of
    // the redirect URIs, which must then share one.
    if let Some(uri) = &spec.sector_identifier_uri {
        check_redirect_uri(uri).map_err(|e| bad_metadata(format!("sector_identifier_uri: {e}")))?;
        if spec.subject_type != SubjectType::Pairwise {
            return Err(bad_metadata(
                "sector_identifier_uri is for pairwise subjects (subject_type pairwise)",
            ));
        }
    } else if spec.subject_type == SubjectType::Pairwise {
        let hosts: std::collections::BTreeSet<Option<String>> = spec
            .redirect_uris
            .iter()
            .map(|u| {
                url::Url::parse(u)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
            })
            .collect();
        if hosts.len() > 1 {
            return Err(bad_metadata(
                "a pairwise client's redirect URIs must share one host (its sector)",
            ));
        }
    }
    if let Some(uri) = &spec.backchannel_logout_uri {
        check_redirect_uri(uri)
            .map_err(|e| bad_metadata(format!("backchannel_logout_uri: {e}")))?;
    }
    let scope = match spec.scope {
        Some(s) => {
            if s.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
                return Err(bad_metadata("scope holds characters a scope cannot have"));
            }
            let words: Vec<&str> = s.split(' ').filter(|w| !w.is_empty()).collect();
            (!words.is_empty()).then(|| words.join(" "))
        }
        None => None,
    };
    Ok(ClientMetadata {
        client_name: name,
        redirect_uris: spec.redirect_uris,
        post_logout_redirect_uris: spec.post_logout_redirect_uris,
        grant_types: grants,
        token_endpoint_auth_method: method,
        id_token_signed_response_alg: spec.id_token_alg,
        jwks: spec.jwks,
        jwks_uri: spec.jwks_uri,
        scope,
        requires: spec.requires,
        backchannel_logout_uri: spec.backchannel_logout_uri,
        subject_type: spec.subject_type,
        sector_identifier_uri: spec.sector_identifier_uri,
    })
}

/// The most redirect URIs a `sector_identifier_uri`'s list may hold.
pub const MAX_SECTOR_URIS: usize = 100;

/// OpenID Connect Core §8.1 and Dynamic Registration §2: the document at the client's
/// `sector_identifier_uri` (fetched with the guards of `jwks_uri`) is a JSON array of redirect
/// URIs holding every redirect URI the client registers. Checked at each registration and
/// update, as the list may change; afterwards only its host (the sector) is used.
pub async fn check_sector(op: &Op, metadata: &ClientMetadata) -> Result<(), MetadataError> {
    let Some(uri) = &metadata.sector_identifier_uri else {
        return Ok(());
    };
    let Some(remote) = &op.remote_keys else {
        return Err(bad_metadata(
            "sector_identifier_uri: this server does not fetch client URLs",
        ));
    };
    let document = remote
        .fetch(uri, "sector_identifier_uri")
        .await
        .map_err(bad_metadata)?;
    let listed: Vec<&str> = match &document {
        Value::Array(items)
            if items.len() <= MAX_SECTOR_URIS && items.iter().all(Value::is_string) =>
        {
            items.iter().filter_map(Value::as_str).collect()
        }
        Value::Array(items) if items.len() <= MAX_SECTOR_URIS => {
            return Err(bad_metadata(
                "sector_identifier_uri: the document is not a JSON array of redirect URIs",
            ))
        }
        Value::Array(_) => {
            return Err(bad_metadata(format!(
                "sector_identifier_uri: the list holds more than {MAX_SECTOR_URIS} URIs"
            )))
        }
        _ => {
            return Err(bad_metadata(
                "sector_identifier_uri: the document is not a JSON array of redirect URIs",
            ))
        }
    };
    match metadata
        .redirect_uris
        .iter()
        .find(|r| !listed.contains(&r.as_str()))
    {
        Some(missing) => Err(bad_metadata(format!(
            "sector_identifier_uri: its list does not hold the redirect URI {missing}"
        ))),
        None => Ok(()),
    }
}

/// Whether clients with this method authenticate with a secret.
pub fn uses_secret(method: TokenEndpointAuthMethod) -> bool {
    matches!(
        method,
        TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
    )
}

/// A new client's id and, for the secret methods, its secret (256 bits); `fixed` (demo data
/// only) gives both.
pub fn issue_credentials(
    method: TokenEndpointAuthMethod,
    fixed: Option<(String, Secret<String>)>,
) -> (String, Option<Secret<String>>) {
    let with_secret = uses_secret(method);
    match fixed {
        Some((id, secret)) => (id, with_secret.then_some(secret)),
        None => (
            new_id("cli"),
            with_secret.then(|| Secret::new(random_token())),
        ),
    }
}

// ---- RFC 7591: initial access tokens ----

/// One initial access token of the configuration: its hash ([`hash_token`]) and, optionally, the
/// one brand it registers clients in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialAccessToken {
    pub brand: Option<String>,
    pub hash: String,
}

impl InitialAccessToken {
    /// `HASH` (every brand) or `BRAND:HASH`, where HASH is the token's SHA-256, base64url without
    /// padding (43 characters).
    pub fn parse(entry: &str) -> Result<Self, String> {
        let entry = entry.trim();
        let (brand, hash) = match entry.split_once(':') {
            Some((b, h)) => (Some(b.trim().to_owned()), h.trim()),
            None => (None, entry),
        };
        if brand.as_deref().is_some_and(|b| b.is_empty()) {
            return Err("the brand before ':' is empty".into());
        }
        let hash_like = hash.len() == 43
            && hash
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !hash_like {
            return Err(
                "expected the token's SHA-256 as base64url without padding (43 characters)".into(),
            );
        }
        Ok(Self {
            brand,
            hash: hash.to_owned(),
        })
    }

    fn allows(&self, brand: &str) -> bool {
        self.brand.as_deref().is_none_or(|b| b == brand)
    }
}

/// Whether dynamic registration is open to holders of an initial access token in `brand`: one
/// in the configuration, or a live one the operator made with the CLI (ISSUE-15). The database's
/// answer is reused for 30 s: discovery asks on every request, and a query there halved its
/// rate (scripts/bench); a token made by the CLI shows in discovery within 30 s.
pub async fn enabled(op: &Op, brand: &str) -> bool {
    if op
        .config
        .initial_access_tokens
        .iter()
        .any(|t| t.allows(brand))
    {
        return true;
    }
    let now = op.now();
    if let Some(open) = op.registration_open_cached(brand, now) {
        return open;
    }
    let ticket = op.registration_open_ticket();
    match op.store.initial_access_tokens_open(brand, now).await {
        Ok(open) => {
            op.cache_registration_open(brand, open, now, ticket);
            open
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading initial access tokens failed");
            false
        }
    }
}

/// Why a registration request is refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// No bearer token at all (RFC 6750 §3.1: a bare challenge).
    #[error("a bearer token is required")]
    MissingToken,
    /// Not an initial access token of this brand, or not this client's registration access token
    /// (also when the client does not exist: RFC 7592 §2.1).
    #[error("{0}")]
    InvalidToken(&'static str),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error(transparent)]
    Server(#[from] OAuthError),
}

impl From<sekisho_store::StoreError> for RegistrationError {
    fn from(e: sekisho_store::StoreError) -> Self {
        RegistrationError::Server(OAuthError::server(e))
    }
}

async fn check_initial_token(
    op: &Op,
    brand: &str,
    token: Option<&str>,
) -> Result<(), RegistrationError> {
    let token = token.ok_or(RegistrationError::MissingToken)?;
    let presented = hash_token(token);
    // Every configured token is compared, in constant time, whatever matched before.
    let configured = op
        .config
        .initial_access_tokens
        .iter()
        .filter(|t| t.allows(brand))
        .fold(false, |ok, t| constant_time_eq(&presented, &t.hash) | ok);
    // The operator's stored tokens are looked up by hash: the hash of a 256-bit random token
    // tells nothing about another one, so the lookup's timing leaks nothing useful.
    let matched = configured
        || op
            .store
            .initial_access_token_valid(&presented, brand, op.now())
            .await?;
    if matched {
        Ok(())
    } else {
        Err(RegistrationError::InvalidToken(
            "not an initial access token for client registration in this brand",
        ))
    }
}

// ---- RFC 7591 §2: metadata from JSON ----

/// Client metadata Sekisho understands but does not implement: refused, so a client never
/// believes it got them.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "id_token_encrypted_response_alg",
        "ID token encryption is not supported",
    ),
    (
        "id_token_encrypted_response_enc",
        "ID token encryption is not supported",
    ),
    (
        "userinfo_signed_response_alg",
        "signed userinfo responses are not supported",
    ),
    (
        "userinfo_encrypted_response_alg",
        "userinfo encryption is not supported",
    ),
    (
        "userinfo_encrypted_response_enc",
        "userinfo encryption is not supported",
    ),
    (
        "request_object_encryption_alg",
        "request objects are not supported",
    ),
    (
        "request_object_encryption_enc",
        "request objects are not supported",
    ),
    ("request_uris", "request objects are not supported"),
    (
        "frontchannel_logout_uri",
        "front-channel logout is not supported",
    ),
    (
        "tls_client_certificate_bound_access_tokens",
        "certificate-bound tokens are not supported",
    ),
];

/// A member, treating `null` as absent (RFC 7592 §2.2: omitted fields are null).
fn member<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

fn string(m: &Map<String, Value>, key: &str) -> Result<Option<String>, MetadataError> {
    match member(m, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad_metadata(format!("{key} must be a string"))),
    }
}

fn strings(m: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, MetadataError> {
    match member(m, key) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad_metadata(format!("{key} must be an array of strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad_metadata(format!("{key} must be an array of strings"))),
    }
}

fn object(body: &Value) -> Result<&Map<String, Value>, MetadataError> {
    body.as_object()
        .ok_or_else(|| bad_metadata("the request body must be a JSON object of client metadata"))
}

/// RFC 7591 §2 client metadata (with the OpenID Connect Dynamic Client Registration 1.0
/// additions Sekisho implements) → the description the rules take. Defaults are the
/// specifications': `authorization_code`, `client_secret_basic`, RS256 ID tokens.
pub fn parse_metadata(body: &Value) -> Result<ClientSpec, MetadataError> {
    let m = object(body)?;
    for (key, why) in UNSUPPORTED {
        if member(m, key).is_some() {
            return Err(bad_metadata(*why));
        }
    }
    let subject_type = match string(m, "subject_type")? {
        None => SubjectType::Public,
        Some(s) => SubjectType::parse(&s)
            .ok_or_else(|| bad_metadata(format!("subject_type {s:?} is not supported")))?,
    };
    let grant_types = match strings(m, "grant_types")? {
        None => vec![GrantType::AuthorizationCode],
        Some(list) => list
            .iter()
            .map(|g| {
                GrantType::parse(g)
                    .ok_or_else(|| bad_metadata(format!("grant type {g:?} is not supported")))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if grant_types.is_empty() {
        return Err(bad_metadata("grant_types must not be empty"));
    }
    let code_flow = grant_types.contains(&GrantType::AuthorizationCode);
    if let Some(types) = strings(m, "response_types")? {
        if let Some(t) = types.iter().find(|t| *t != "code") {
            return Err(bad_metadata(format!(
                "response type {t:?} is not supported: only code"
            )));
        }
        if types.is_empty() == code_flow {
            return Err(bad_metadata(
                "response_types and grant_types disagree: code goes with authorization_code",
            ));
        }
    }
    let auth_method = match string(m, "token_endpoint_auth_method")? {
        None => TokenEndpointAuthMethod::ClientSecretBasic,
        Some(s) => TokenEndpointAuthMethod::parse(&s).ok_or_else(|| {
            bad_metadata(format!("token_endpoint_auth_method {s:?} is not supported"))
        })?,
    };
    if let Some(alg) = string(m, "token_endpoint_auth_signing_alg")? {
        if !CLIENT_ASSERTION_ALGS.contains(&alg.as_str()) {
            return Err(bad_metadata(format!(
                "token_endpoint_auth_signing_alg {alg:?} is not supported"
            )));
        }
    }
    let id_token_alg = match string(m, "id_token_signed_response_alg")? {
        None => SigningAlg::Rs256,
        Some(s) => SigningAlg::parse(&s).ok_or_else(|| {
            bad_metadata(format!(
                "id_token_signed_response_alg {s:?} is not supported"
            ))
        })?,
    };
    let jwks = match member(m, "jwks") {
        None => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => return Err(bad_metadata("jwks must be a JWK Set object")),
    };
    let scope = string(m, "scope")?;
    if let Some(s) = &scope {
        if let Some(bad) = s
            .split(' ')
            .find(|w| !w.is_empty() && !SUPPORTED_SCOPES.contains(w))
        {
            return Err(bad_metadata(format!(
                "scope {bad:?} cannot be registered dynamically: ask the operator"
            )));
        }
    }
    let flag = |key: &str| match member(m, key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad_metadata(format!("{key} must be true or false"))),
    };
    let requires = ClientRequirements {
        require_pushed_authorization_requests: flag("require_pushed_authorization_requests")?,
        dpop_bound_access_tokens: flag("dpop_bound_access_tokens")?,
    };
    // Every logout token carries `sid`, so a client that requires it is served as one that
    // does not; the member must still be a boolean.
    flag("backchannel_logout_session_required")?;
    Ok(ClientSpec {
        jwks_uri: string(m, "jwks_uri")?,
        sector_identifier_uri: string(m, "sector_identifier_uri")?,
        subject_type,
        backchannel_logout_uri: string(m, "backchannel_logout_uri")?,
        requires,
        name: string(m, "client_name")?.unwrap_or_default(),
        redirect_uris: strings(m, "redirect_uris")?.unwrap_or_default(),
        post_logout_redirect_uris: strings(m, "post_logout_redirect_uris")?.unwrap_or_default(),
        auth_method: Some(auth_method),
        public: auth_method == TokenEndpointAuthMethod::None,
        grant_types,
        id_token_alg,
        jwks,
        scope,
    })
}

// ---- RFC 7591 §3.2.1 / RFC 7592 §3: the client information response ----

/// What the registration and configuration endpoints answer: the client's credentials and
/// registered metadata. `Debug` masks the secret and the registration access token; the JSON
/// answer carries them, as RFC 7591 asks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientInformation {
    pub client_id: String,
    /// Only when it was just issued: Sekisho keeps only its hash.
    #[serde(
        serialize_with = "serialize_exposed_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_secret: Option<Secret<String>>,
    pub client_id_issued_at: i64,
    /// 0 (never) for clients with a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    #[serde(serialize_with = "serialize_exposed")]
    pub registration_access_token: Secret<String>,
    pub registration_client_uri: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub response_types: Vec<&'static str>,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub id_token_signed_response_alg: SigningAlg,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(flatten)]
    pub requires: ClientRequirements,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// True with a `backchannel_logout_uri`: every logout token carries `sid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_session_required: Option<bool>,
    pub subject_type: SubjectType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector_identifier_uri: Option<String>,
}

/// The registration client URI of `client_id` in `brand` (RFC 7592 §1.1).
pub fn configuration_uri(op: &Op, brand: &str, client_id: &str) -> String {
    op.endpoint(brand, &format!("clients/{client_id}"))
}

fn information(
    op: &Op,
    client: &Client,
    new_secret: Option<Secret<String>>,
    registration_access_token: Secret<String>,
) -> ClientInformation {
    let m = &client.metadata;
    ClientInformation {
        client_id: client.client_id.clone(),
        client_secret: new_secret,
        client_id_issued_at: client.created_at,
        client_secret_expires_at: client.secret_hash.as_ref().map(|_| 0),
        registration_access_token,
        registration_client_uri: configuration_uri(op, client.brand.as_str(), &client.client_id),
        client_name: m.client_name.clone(),
        redirect_uris: m.redirect_uris.clone(),
        post_logout_redirect_uris: m.post_logout_redirect_uris.clone(),
        grant_types: m.grant_types.clone(),
        response_types: if client.allows_grant(GrantType::AuthorizationCode) {
            vec!["code"]
        } else {
            Vec::new()
        },
        token_endpoint_auth_method: m.token_endpoint_auth_method,
        id_token_signed_response_alg: m.id_token_signed_response_alg,
        jwks: m.jwks.clone(),
        jwks_uri: m.jwks_uri.clone(),
        scope: m.scope.clone(),
        requires: m.requires,
        backchannel_logout_uri: m.backchannel_logout_uri.clone(),
        backchannel_logout_session_required: m.backchannel_logout_uri.as_ref().map(|_| true),
        subject_type: m.subject_type,
        sector_identifier_uri: m.sector_identifier_uri.clone(),
    }
}

async fn audit(op: &Op, kind: &str, client: &Client) {
    let event = sekisho_store::AuditEvent {
        at: op.now(),
        kind: kind.to_owned(),
        brand: Some(client.brand.to_string()),
        user_id: None,
        client_id: Some(client.client_id.clone()),
        detail: serde_json::json!({ "via": "dynamic_registration" }),
        contract_id: None,
    };
    if let Err(e) = op.store.append_audit(&event).await {
        tracing::warn!(error = %e, kind, "writing an audit event failed");
    }
}

// ---- the operations ----

/// RFC 7591 §3.1: registers a client in `brand` for the holder of an initial access token.
pub async fn register(
    op: &Op,
    brand: &Brand,
    initial_access_token: Option<&str>,
    body: &Value,
) -> Result<ClientInformation, RegistrationError> {
    check_initial_token(op, brand.code.as_str(), initial_access_token).await?;
    let metadata = client_metadata(parse_metadata(body)?)?;
    check_sector(op, &metadata).await?;
    let (client_id, secret) = issue_credentials(metadata.token_endpoint_auth_method, None);
    let registration_access_token = Secret::new(random_token());
    let client = Client {
        client_id,
        brand: brand.code.clone(),
        secret_hash: secret.as_ref().map(|s| hash_token(s.expose())),
        metadata,
        created_at: op.now(),
    };
    op.store
        .insert_registered_client(&client, &hash_token(registration_access_token.expose()))
        .await?;
    // Its redirect URIs' origins are admitted by CORS from now on (issue 18).
    op.forget_client(&client.client_id);
    audit(op, "client.registered", &client).await;
    Ok(information(op, &client, secret, registration_access_token))
}

/// The dynamically registered client `client_id` of `brand`, if `token` is its registration
/// access token. Unknown clients, other brands' and operator-registered clients are refused the
/// same way as a wrong token.
async fn authorize(
    op: &Op,
    brand: &str,
    client_id: &str,
    token: Option<&str>,
) -> Result<Client, RegistrationError> {
    let token = token.ok_or(RegistrationError::MissingToken)?;
    let refused =
        RegistrationError::InvalidToken("not the registration access token of this client");
    let Some((client, hash)) = op.store.find_registered_client(client_id).await? else {
        return Err(refused);
    };
    if !verify_token(token, &hash) || client.brand.as_str() != brand {
        return Err(refused);
    }
    Ok(client)
}

/// RFC 7592 §2.1: the client's current registration.
pub async fn read(
    op: &Op,
    brand: &str,
    client_id: &str,
    token: Option<&str>,
) -> Result<ClientInformation, RegistrationError> {
    let client = authorize(op, brand, client_id, token).await?;
    // The token the client presented (and `authorize` just checked) is its registration access
    // token: RFC 7592 §3 answers with it.
    let token = Secret::from(token.unwrap_or_default());
    Ok(information(op, &client, None, token))
}

/// RFC 7592 §2.2: replaces the client's metadata with the request's (omitted fields take their
/// defaults). The client id, the secret (unless the client first needs one) and the
/// registration access token stay. Logins in progress and unredeemed codes of the client end.
pub async fn update(
    op: &Op,
    brand: &str,
    client_id: &str,
    token: Option<&str>,
    body: &Value,
) -> Result<ClientInformation, RegistrationError> {
    let current = authorize(op, brand, client_id, token).await?;
    let m = object(body)?;
    if string(m, "client_id")?.as_deref() != Some(client_id) {
        return Err(bad_metadata("client_id must be sent, and be this client's id").into());
    }
    if let Some(secret) = string(m, "client_secret")?.map(Secret::new) {
        let same = current
            .secret_hash
            .as_deref()
            .is_some_and(|h| verify_token(secret.expose(), h));
        if !same {
            return Err(bad_metadata(
                "client_secret is not this client's secret (a client cannot choose its secret)",
            )
            .into());
        }
    }
    let metadata = client_metadata(parse_metadata(body)?)?;
    check_sector(op, &metadata).await?;
    let (secret_hash, new_secret) = match (
        uses_secret(metadata.token_endpoint_auth_method),
        current.secret_hash,
    ) {
        (true, Some(kept)) => (Some(kept), None),
        (true, None) => {
            let s = Secret::new(random_token());
            (Some(hash_token(s.expose())), Some(s))
        }
        (false, _) => (None, None),
    };
    let client = Client {
        secret_hash,
        metadata,
        ..current
    };
    if !op.store.update_client(&client).await? {
        return Err(RegistrationError::InvalidToken(
            "not the registration access token of this client",
        ));
    }
    op.forget_client(client_id);
    audit(op, "client.updated", &client).await;
    Ok(information(
        op,
        &client,
        new_secret,
        Secret::from(token.unwrap_or_default()),
    ))
}

/// RFC 7592 §2.3: deletes the client and revokes its grants (see `Store::delete_client`).
pub async fn delete(
    op: &Op,
    brand: &str,
    client_id: &str,
    token: Option<&str>,
) -> Result<(), RegistrationError> {
    let client = authorize(op, brand, client_id, token).await?;
    op.store.delete_client(client_id, op.now()).await?;
    op.forget_client(client_id);
    audit(op, "client.deleted", &client).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(redirect_uris: &[&str]) -> ClientSpec {
        ClientSpec {
            name: "RP".into(),
            redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
            post_logout_redirect_uris: Vec::new(),
            auth_method: None,
            public: false,
            grant_types: Vec::new(),
            id_token_alg: SigningAlg::Es256,
            jwks: None,
            jwks_uri: None,
            scope: None,
            requires: ClientRequirements::default(),
            backchannel_logout_uri: None,
            subject_type: SubjectType::Public,
            sector_identifier_uri: None,
        }
    }

    // Issue 18 (OpenID Connect Core §8.1): a pairwise client's redirect URIs may span hosts
    // only with a sector_identifier_uri, whose host is then the sector; that URL follows the
    // redirect URIs' rule, and names a sector only for pairwise subjects.
    #[test]
    fn a_sector_identifier_uri_is_the_sector_of_a_pairwise_client() {
        let hosts = ["https://a.rp.example/cb", "https://b.rp.example/cb"];
        let pairwise = |sector: Option<&str>| ClientSpec {
            subject_type: SubjectType::Pairwise,
            sector_identifier_uri: sector.map(str::to_owned),
            ..spec(&hosts)
        };
        let refused = client_metadata(pairwise(None)).unwrap_err();
        assert!(refused.to_string().contains("one host"), "{refused}");
        let m = client_metadata(pairwise(Some("https://sector.rp.example/uris.json"))).unwrap();
        let client = Client {
            client_id: "cli_1".into(),
            brand: sekisho_core::model::BrandCode::parse("VX5").unwrap(),
            secret_hash: None,
            metadata: m,
            created_at: 0,
        };
        assert_eq!(
            client.pairwise_sector().as_deref(),
            Some("sector.rp.example")
        );
        for (sector, needle) in [
            ("http://sector.rp.example/uris.json", "https"),
            ("https://sector.rp.example/uris.json#x", "fragment"),
        ] {
            let e = client_metadata(pairwise(Some(sector))).unwrap_err();
            assert!(e.to_string().contains(needle), "{sector}: {e}");
        }
        let public = ClientSpec {
            sector_identifier_uri: Some("https://sector.rp.example/uris.json".into()),
            ..spec(&hosts[..1])
        };
        let e = client_metadata(public).unwrap_err();
        assert!(e.to_string().contains("pairwise"), "{e}");
    }

    // REQ-OP-6 (issue 12): the client secret and the registration access token of an RFC 7591
    // answer never reach `Debug` output; the JSON answer carries both.
    #[test]
    fn debug_hides_the_credentials_of_a_registration() {
        let info = ClientInformation {
            client_id: "cli_1".into(),
            client_secret: Some("s3cret-value".into()),
            client_id_issued_at: 1,
            client_secret_expires_at: Some(0),
            registration_access_token: "r3gistration-token".into(),
            backchannel_logout_session_required: None,
            registration_client_uri: "https://op.example/VX5/clients/cli_1".into(),
            client_name: "RP".into(),
            redirect_uris: vec!["https://rp.example/cb".into()],
            post_logout_redirect_uris: Vec::new(),
            grant_types: vec![GrantType::AuthorizationCode],
            response_types: vec!["code"],
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            id_token_signed_response_alg: SigningAlg::Es256,
            jwks: None,
            jwks_uri: None,
            scope: None,
            requires: ClientRequirements::default(),
            backchannel_logout_uri: None,
            subject_type: SubjectType::Public,
            sector_identifier_uri: None,
        };
        let shown = format!("{info:?}");
        assert!(
            !shown.contains("s3cret-value") && !shown.contains("r3gistration-token"),
            "{shown}"
        );
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["client_secret"], "s3cret-value");
        assert_eq!(json["registration_access_token"], "r3gistration-token");
        let (_, secret) = issue_credentials(TokenEndpointAuthMethod::ClientSecretPost, None);
        let secret = secret.unwrap();
        assert_eq!(secret.expose().len(), 43, "256 bits, base64url");
        assert!(!format!("{secret:?}").contains(secret.expose().as_str()));
    }

    // REQ-OP-6: redirect URIs are https (http only on loopback), absolute, without fragment,
    // user information or wildcard.
    #[test]
    fn redirect_uri_rules() {
        for ok in [
            "https://rp.example/cb",
            "https://rp.example/cb?x=1",
            "http://127.0.0.1:9/cb",
            "http://localhost:3000/cb",
            "http://[::1]/cb",
        ] {
            assert_eq!(check_redirect_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://rp.example/cb",
            "https://rp.example/cb#frag",
            "https://rp.example/cb#",
            "https://*.rp.example/cb",
            "https://user:pw@rp.example/cb",
            "/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "com.example.app:/cb",
            "http://127.0.0.1.rp.example/cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
        let e = client_metadata(spec(&["http://rp.example/cb"])).unwrap_err();
        assert_eq!(e.code(), "invalid_redirect_uri");
        assert!(e.description().contains("https"), "{e}");
        let e = client_metadata(spec(&[])).unwrap_err();
        assert_eq!(e.code(), "invalid_redirect_uri");
    }

    // REQ-OP-6: the operator's defaults: code + refresh, client_secret_basic; duplicates go.
    #[test]
    fn operator_defaults() {
        let mut s = spec(&["https://rp.example/cb"]);
        s.grant_types = vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::AuthorizationCode,
        ];
        let m = client_metadata(s).unwrap();
        assert_eq!(
            m.grant_types,
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
        assert_eq!(
            m.token_endpoint_auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic
        );
        let mut public = spec(&["https://rp.example/cb"]);
        public.public = true;
        public.grant_types = vec![GrantType::ClientCredentials];
        assert_eq!(
            client_metadata(public).unwrap_err().code(),
            "invalid_client_metadata"
        );
    }

    // REQ-OP-6: RFC 7591 defaults and what Sekisho refuses to pretend it does.
    #[test]
    fn dynamic_metadata() {
        let s = parse_metadata(&json!({"redirect_uris": ["https://rp.example/cb"]})).unwrap();
        let m = client_metadata(s).unwrap();
        assert_eq!(m.grant_types, vec![GrantType::AuthorizationCode]);
        assert_eq!(
            m.token_endpoint_auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic
        );
        assert_eq!(m.id_token_signed_response_alg, SigningAlg::Rs256);
        // Unknown metadata is ignored (RFC 7591 §2); null is absent.
        assert!(parse_metadata(&json!({
            "redirect_uris": ["https://rp.example/cb"],
            "logo_uri": "https://rp.example/logo.png",
            "scope": null,
        }))
        .is_ok());
        for (body, needle) in [
            (json!([]), "JSON object"),
            (json!({"redirect_uris": "https://rp.example/cb"}), "array"),
            (json!({"grant_types": ["implicit"]}), "implicit"),
            (json!({"grant_types": ["password"]}), "password"),
            (json!({"response_types": ["token"]}), "token"),
            (
                json!({"response_types": ["code id_token"]}),
                "code id_token",
            ),
            (
                json!({"grant_types": ["client_credentials"], "response_types": ["code"]}),
                "disagree",
            ),
            (
                json!({"token_endpoint_auth_method": "client_secret_jwt"}),
                "client_secret_jwt",
            ),
            (json!({"id_token_signed_response_alg": "none"}), "none"),
            (json!({"id_token_signed_response_alg": "HS256"}), "HS256"),
            (json!({"subject_type": "anonymous"}), "anonymous"),
            (
                json!({"id_token_encrypted_response_alg": "RSA-OAEP"}),
                "encryption",
            ),
            (json!({"scope": "openid storage.admin"}), "storage.admin"),
        ] {
            let e = parse_metadata(&body).unwrap_err();
            assert_eq!(e.code(), "invalid_client_metadata", "{body}");
            assert!(e.description().contains(needle), "{body}: {e}");
        }
    }

    // REQ-OP-6: only public keys are registered.
    #[test]
    fn jwks_must_be_public_keys() {
        let with = |jwks: Value| {
            let mut s = spec(&["https://rp.example/cb"]);
            s.jwks = Some(jwks);
            client_metadata(s)
        };
        let public = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}]});
        assert_eq!(
            with(public).unwrap().token_endpoint_auth_method,
            TokenEndpointAuthMethod::PrivateKeyJwt
        );
        for bad in [
            json!({"keys": []}),
            json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "d"}]}),
            json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}),
            json!({"keys": [{"crv": "P-256"}]}),
        ] {
            assert!(with(bad.clone()).is_err(), "{bad}");
        }
    }

    // REQ-OP-6: initial access tokens are configured as hashes, for every brand or for one.
    #[test]
    fn initial_access_token_entries() {
        let h = hash_token("t");
        assert_eq!(
            InitialAccessToken::parse(&h),
            Ok(InitialAccessToken {
                brand: None,
                hash: h.clone()
            })
        );
        let one = InitialAccessToken::parse(&format!("VX5:{h}")).unwrap();
        assert!(one.allows("VX5") && !one.allows("VX4"));
        assert!(InitialAccessToken::parse("t").is_err(), "a plain token");
        assert!(InitialAccessToken::parse(&format!(":{h}")).is_err());
        assert!(InitialAccessToken::parse(&format!("{h}=")).is_err());
    }
}
