//! The authorization endpoint: validating a request, keeping it while the user logs in, and
//! answering the RP (RFC 6749 §4.1, OpenID Connect Core §3.1.2, RFC 9207 `iss`).
//!
//! Invariant: until `client_id` and `redirect_uri` are both known good, nothing redirects: the
//! user sees an error page (RFC 6749 §4.1.2.1), so the OP can never be used as an open redirector.

use crate::error::{ErrorCode, OAuthError};
use crate::Op;
use sekisho_core::login::AuthPrompt;
use sekisho_core::model::Client;
use sekisho_core::oauth::{
    known_scopes, scope_listed, GrantType, Prompt, ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR, ADMIN_SCOPE,
};
use sekisho_crypto::tokens::{hash_token, new_id, random_token};
use sekisho_store::{AuthRequestRecord, CodeRecord};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use url::Url;

/// The request after validation, as stored while the user logs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthParams {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub acr_values: Option<String>,
    /// RFC 9449 §10: the thumbprint of the key the code must be redeemed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// OpenID Connect Core §5.5: the individual claims asked for, beyond the scopes'.
    #[serde(default, skip_serializing_if = "ClaimsRequest::is_empty")]
    pub claims: ClaimsRequest,
}

/// The claims a `claims` request parameter asks for (OpenID Connect Core §5.5), by where they
/// go: only the names Sekisho can release that a scope would otherwise gate (`email`,
/// `email_verified`, `name`); the others are always released or unknown, and are ignored, as
/// voluntary (and essential) claims that cannot be given may be. And `acr` with `value` or
/// `values` (§5.5.1.1): the levels asked for, as `acr_values` asks them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimsRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub userinfo: Vec<String>,
    /// The `acr` values asked for (of `id_token` or `userinfo`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr: Vec<String>,
    /// `acr` was asked as essential: a login that cannot reach one of its values fails.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub acr_essential: bool,
}

/// The claims a `claims` request can add to what the scopes release.
pub const REQUESTABLE_CLAIMS: [&str; 3] = ["email", "email_verified", "name"];

impl ClaimsRequest {
    pub fn is_empty(&self) -> bool {
        self.id_token.is_empty() && self.userinfo.is_empty() && self.acr.is_empty()
    }

    /// An essential `acr` none of whose values is a level this server has (§5.5.1.1: the
    /// authentication must then fail rather than answer another level).
    pub fn asks_an_unknown_essential_acr(&self) -> bool {
        self.acr_essential
            && !self.acr.is_empty()
            && !self
                .acr
                .iter()
                .any(|v| v == ACR_SINGLE_FACTOR || v == ACR_MULTI_FACTOR)
    }

    /// Parses the parameter: a JSON object whose `id_token` and `userinfo` members are objects
    /// of claim names (each `null` or an object: `essential`, `value`, `values`).
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let bad = "claims must be a JSON object with id_token and userinfo objects";
        let value: serde_json::Value = serde_json::from_str(text).map_err(|_| bad)?;
        let top = value.as_object().ok_or(bad)?;
        let names = |member: &str| -> Result<Vec<String>, &'static str> {
            match top.get(member) {
                None | Some(serde_json::Value::Null) => Ok(Vec::new()),
                Some(serde_json::Value::Object(m)) => {
                    if m.values().any(|v| !(v.is_null() || v.is_object())) {
                        return Err(bad);
                    }
                    Ok(REQUESTABLE_CLAIMS
                        .iter()
                        .filter(|c| m.contains_key(**c))
                        .map(|c| (*c).to_owned())
                        .collect())
                }
                Some(_) => Err(bad),
            }
        };
        let (mut acr, mut acr_essential) = (Vec::new(), false);
        for member in ["id_token", "userinfo"] {
            let Some(asked) = top.get(member).and_then(|m| m.get("acr")) else {
                continue;
            };
            acr_essential |= asked.get("essential") == Some(&serde_json::Value::Bool(true));
            if let Some(v) = asked.get("value") {
                acr.push(v.as_str().ok_or(bad)?.to_owned());
            }
            if let Some(vs) = asked.get("values") {
                for v in vs.as_array().ok_or(bad)? {
                    acr.push(v.as_str().ok_or(bad)?.to_owned());
                }
            }
        }
        Ok(Self {
            id_token: names("id_token")?,
            userinfo: names("userinfo")?,
            acr,
            acr_essential,
        })
    }
}

impl AuthParams {
    pub fn prompt(&self) -> AuthPrompt {
        AuthPrompt {
            none: self.prompt_none,
            login: self.prompt_login,
            max_age: self.max_age,
            two_factors: self.requires_two_factors(),
        }
    }

    /// `acr_values`, or the `acr` of the `claims` parameter, lists the two-factor level and not
    /// the single-factor one: the client requires two factors (values we do not know are
    /// ignored, as voluntary claims).
    pub fn requires_two_factors(&self) -> bool {
        let values: Vec<&str> = self
            .acr_values
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .chain(self.claims.acr.iter().map(String::as_str))
            .collect();
        values.contains(&ACR_MULTI_FACTOR) && !values.contains(&ACR_SINGLE_FACTOR)
    }
}

/// Why an authorization request failed, and where the answer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Unknown or missing client: error page, never a redirect.
    UnknownClient,
    /// Missing or unregistered redirect_uri: error page, never a redirect.
    BadRedirectUri,
    /// A `request_uri` that is not a live pushed request of this client (unknown, used, expired):
    /// error page, never a redirect (no redirect URI is known good).
    UnknownRequestUri,
    /// A valid client and redirect_uri: the error goes back to the RP.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

/// A PKCE code challenge is base64url(SHA-256) (43 characters); RFC 7636 allows 43–128 of its set.
fn valid_challenge(c: &str) -> bool {
    (43..=128).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// The longest `state`, in bytes: room for a return URL the RP keeps in it.
pub const MAX_STATE: usize = 2048;

/// The longest value, in bytes, each authorization request parameter may have (issue 15: the
/// request is stored while the user logs in, so nothing an anonymous visitor sends may be stored
/// at any size). Generous for real RPs: a `state` that carries a return URL, an email address as
/// `login_hint`. A longer value is `invalid_request`; parameters not listed here are not stored,
/// and `client_id` / `redirect_uri` are stored only when they match a registration (whose limits
/// `registration.rs` sets). `docs/OPERATIONS.md` lists them.
pub const PARAMETER_LIMITS: [(&str, usize); 11] = [
    ("state", MAX_STATE),
    ("nonce", 512),
    ("scope", 1024),
    ("login_hint", 320),
    ("ui_locales", 64),
    ("acr_values", 256),
    ("prompt", 64),
    ("max_age", 10),
    ("code_challenge", 128),
    // A SHA-256 thumbprint is 43 characters.
    ("dpop_jkt", 64),
    ("claims", 2048),
];

/// The first parameter of `q` longer than its limit.
fn oversized(q: &HashMap<String, String>) -> Option<(&'static str, usize)> {
    PARAMETER_LIMITS
        .into_iter()
        .find(|(name, limit)| q.get(*name).is_some_and(|v| v.len() > *limit))
}

/// How an authorization request reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// In the browser's URL (or form POST) at `/authorize`.
    Browser,
    /// Pushed by the client (RFC 9126), or taken back at `/authorize` by its `request_uri`.
    Pushed,
}

/// The authorization request that reached `/authorize`: the one in the URL, or the pushed one its
/// `request_uri` names (spent by this call), validated.
pub async fn request(
    op: &Op,
    brand: &str,
    q: &HashMap<String, String>,
) -> Result<(Client, AuthParams), AuthorizeError> {
    match q.get("request_uri").filter(|v| !v.is_empty()) {
        None => validate(op, brand, q, Via::Browser).await,
        Some(uri) => {
            // RFC 9126 §4: only client_id and request_uri count; the pushed parameters are the
            // request.
            let client_id = q.get("client_id").map(String::as_str);
            let pushed = crate::par::take(op, brand, client_id, uri).await?;
            validate(op, brand, &pushed, Via::Pushed).await
        }
    }
}

/// Validates the parameters of an authorization request for `brand`.
pub async fn validate(
    op: &Op,
    brand: &str,
    q: &HashMap<String, String>,
    via: Via,
) -> Result<(Client, AuthParams), AuthorizeError> {
    let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let client_id = get("client_id").ok_or(AuthorizeError::UnknownClient)?;
    let client = match op.client(client_id).await {
        Ok(Some(c)) if c.brand.as_str() == brand => c,
        Ok(_) => return Err(AuthorizeError::UnknownClient),
        Err(e) => {
            tracing::error!(error = %e, "client lookup failed");
            return Err(AuthorizeError::UnknownClient);
        }
    };
    let redirect_uri = get("redirect_uri").ok_or(AuthorizeError::BadRedirectUri)?;
    if !client.has_redirect_uri(redirect_uri) {
        return Err(AuthorizeError::BadRedirectUri);
    }
    let too_long = oversized(q);
    // An oversized state is not echoed back: the RP never sent it for a round trip this size.
    let state = get("state")
        .filter(|s| s.len() <= MAX_STATE)
        .map(str::to_owned);
    let fail = |code: ErrorCode, d: &str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error: OAuthError::new(code, d),
    };
    if let Some((name, limit)) = too_long {
        return Err(fail(
            ErrorCode::InvalidRequest,
            &format!("{name} is longer than {limit} bytes"),
        ));
    }

    if get("request").is_some() {
        return Err(fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if get("request_uri").is_some() {
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is only for pushed authorization requests",
        ));
    }
    let must_push = op.config.require_pushed_authorization_requests
        || client
            .metadata
            .requires
            .require_pushed_authorization_requests;
    if must_push && via == Via::Browser {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "this client must push its authorization requests (RFC 9126): use the \
             pushed_authorization_request_endpoint",
        ));
    }
    match get("response_type") {
        Some("code") => {}
        None => return Err(fail(ErrorCode::InvalidRequest, "response_type is required")),
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    if get("response_mode").is_some_and(|m| m != "query") {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "only response_mode=query is supported",
        ));
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        ));
    }
    let mut scope: Vec<String> = known_scopes(get("scope").unwrap_or(""))
        .into_iter()
        .map(String::from)
        .collect();
    // The admin API scope lets the token manage the user's contract (issue 6 item 6): only a
    // client registered for it may ask, so an ordinary RP never holds it. Otherwise it is ignored
    // like any unknown scope. The API still checks the user's role on every call.
    if get("scope").is_some_and(|s| s.split(' ').any(|x| x == ADMIN_SCOPE))
        && scope_listed(client.metadata.scope.as_deref(), ADMIN_SCOPE)
    {
        scope.push(ADMIN_SCOPE.to_owned());
    }
    if !scope.iter().any(|s| s == "openid") {
        return Err(fail(ErrorCode::InvalidScope, "scope must include openid"));
    }

    let code_challenge = get("code_challenge").map(str::to_owned);
    match (get("code_challenge_method"), &code_challenge) {
        (_, None) if client.is_public() => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "public clients must use PKCE (code_challenge with S256)",
            ))
        }
        (Some(_), None) => {
            return Err(fail(ErrorCode::InvalidRequest, "code_challenge is missing"))
        }
        (None | Some("S256"), Some(c)) if valid_challenge(c) => {}
        (None | Some("S256"), Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge is malformed",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "only code_challenge_method=S256 is supported",
            ))
        }
        (None, None) => {}
    }

    let mut prompt_none = false;
    let mut prompt_login = false;
    for p in get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty())
    {
        match Prompt::parse(p) {
            Some(Prompt::None) => prompt_none = true,
            Some(Prompt::Login | Prompt::SelectAccount) => prompt_login = true,
            // Clients are registered by the operator, so their consent is given at registration.
            Some(Prompt::Consent) => {}
            None => return Err(fail(ErrorCode::InvalidRequest, "unknown prompt value")),
        }
    }
    if prompt_none && get("prompt").is_some_and(|p| p.trim() != "none") {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    let claims = match get("claims") {
        None => ClaimsRequest::default(),
        Some(text) => ClaimsRequest::parse(text).map_err(|e| fail(ErrorCode::InvalidRequest, e))?,
    };
    if claims.asks_an_unknown_essential_acr() {
        return Err(fail(
            ErrorCode::UnmetAuthenticationRequirements,
            "the essential acr asks for none of the levels this server has (acr_values_supported)",
        ));
    }
    let max_age = match get("max_age") {
        None => None,
        Some(m) => match m.parse::<i64>() {
            Ok(v) if v >= 0 => Some(v),
            _ => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "max_age must be a non-negative integer",
                ))
            }
        },
    };

    Ok((
        client,
        AuthParams {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scope,
            state,
            nonce: get("nonce").map(str::to_owned),
            code_challenge,
            prompt_none,
            prompt_login,
            max_age,
            login_hint: get("login_hint").map(str::to_owned),
            ui_locales: get("ui_locales").map(str::to_owned),
            acr_values: get("acr_values").map(str::to_owned),
            dpop_jkt: get("dpop_jkt").map(str::to_owned),
            claims,
        },
    ))
}

/// A stored request waiting for the user.
#[derive(Debug, Clone)]
pub struct Pending {
    pub record: AuthRequestRecord,
    pub params: AuthParams,
}

/// Keeps a validated request for the browser session `sid`; returns it as stored (its
/// `record.id` is for the login page), so the request that made it need not read it back.
pub async fn keep(
    op: &Op,
    brand: &str,
    params: &AuthParams,
    sid: &str,
) -> Result<Pending, OAuthError> {
    let now = op.now();
    let record = AuthRequestRecord {
        id: new_id("ar"),
        brand: brand.to_owned(),
        client_id: params.client_id.clone(),
        sid: sid.to_owned(),
        params: serde_json::to_string(params).map_err(OAuthError::server)?,
        authenticated_at: None,
        created_at: now,
        expires_at: now + op.config.auth_request_ttl,
    };
    op.store.insert_auth_request(&record).await?;
    Ok(Pending {
        record,
        params: params.clone(),
    })
}

/// The pending request `id`, only for the browser session that started it.
pub async fn find(
    op: &Op,
    brand: &str,
    id: &str,
    sid: &str,
) -> Result<Option<Pending>, OAuthError> {
    let Some(record) = op.store.find_auth_request(id, op.now()).await? else {
        return Ok(None);
    };
    if record.brand != brand || record.sid != sid {
        return Ok(None);
    }
    let params = serde_json::from_str(&record.params).map_err(OAuthError::server)?;
    Ok(Some(Pending { record, params }))
}

/// Who authenticated, and how: what the code (and the tokens it yields) will say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    pub user_id: String,
    pub sid: String,
    pub auth_time: i64,
    pub amr: Vec<sekisho_core::oauth::Amr>,
    pub acr: String,
    /// For an upstream login (`amr` has `fed`): the upstream's name (`google`, …), as `idp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
}

/// What an authorization code carries to the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodePayload {
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth: Authentication,
    /// The DPoP key the code must be redeemed with (the request's `dpop_jkt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// The claims the request asked for beyond its scopes.
    #[serde(default, skip_serializing_if = "ClaimsRequest::is_empty")]
    pub claims: ClaimsRequest,
}

/// Ends the request with a code; returns the RP redirect. `None` if the request was already used.
pub async fn issue_code(
    op: &Op,
    pending: &Pending,
    auth: Authentication,
) -> Result<Option<Url>, OAuthError> {
    let now = op.now();
    let code = random_token();
    let p = &pending.params;
    let payload = CodePayload {
        redirect_uri: p.redirect_uri.clone(),
        scope: p.scope.clone(),
        nonce: p.nonce.clone(),
        code_challenge: p.code_challenge.clone(),
        auth,
        dpop_jkt: p.dpop_jkt.clone(),
        claims: p.claims.clone(),
    };
    let record = CodeRecord {
        code_hash: hash_token(&code),
        grant_id: new_id("grt"),
        client_id: p.client_id.clone(),
        payload: serde_json::to_string(&payload).map_err(OAuthError::server)?,
        created_at: now,
        expires_at: now + op.config.code_ttl,
        used_at: None,
    };
    if !op
        .store
        .complete_auth_request(&pending.record.id, &record)
        .await?
    {
        return Ok(None);
    }
    let issuer = op.issuer(&pending.record.brand);
    response_url(
        &p.redirect_uri,
        &[("code", &code)],
        p.state.as_deref(),
        &issuer,
    )
    .map(Some)
}

/// Ends the request with an error for the RP (e.g. `login_required` for `prompt=none`).
pub async fn fail(op: &Op, pending: &Pending, error: &OAuthError) -> Result<Url, OAuthError> {
    op.store.delete_auth_request(&pending.record.id).await?;
    error_url(
        &pending.params.redirect_uri,
        error,
        pending.params.state.as_deref(),
        &op.issuer(&pending.record.brand),
    )
}

/// The redirect that carries an error to the RP, with `state` and `iss`. Fails (a server error)
/// only if `redirect_uri` is not a URL, which a registered redirect URI always is.
pub fn error_url(
    redirect_uri: &str,
    error: &OAuthError,
    state: Option<&str>,
    issuer: &str,
) -> Result<Url, OAuthError> {
    response_url(
        redirect_uri,
        &[
            ("error", error.code.as_str()),
            ("error_description", &error.description),
        ],
        state,
        issuer,
    )
}

fn response_url(
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
    issuer: &str,
) -> Result<Url, OAuthError> {
    // The redirect_uri was matched exactly against a registered URI, which registration checked
    // is a URL; a failure here means a stored client is corrupt: a server error, not a redirect.
    let mut url = Url::parse(redirect_uri)
        .map_err(|e| OAuthError::server(format!("a registered redirect_uri is not a URL: {e}")))?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", issuer);
    }
    Ok(url)
}
