//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! Invariant: the browser is only sent to a `post_logout_redirect_uri` registered, exactly, by the
//! client the `id_token_hint` (or `client_id`) names; anything else gets a page, not a redirect.

use crate::error::OAuthError;
use crate::Op;
use serde_json::Value;
use std::collections::HashMap;
use url::Url;

/// A validated logout request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutRequest {
    /// The session the id_token_hint names (ended even if the browser's cookie is gone).
    pub hinted_sid: Option<String>,
    /// Where to send the browser afterwards, with `state` already appended.
    pub redirect: Option<Url>,
    /// Whether a valid id_token_hint came with it (otherwise the user confirms first).
    pub hinted: bool,
    pub ui_locales: Option<String>,
}

pub async fn validate(
    op: &Op,
    brand: &str,
    q: &HashMap<String, String>,
) -> Result<LogoutRequest, OAuthError> {
    let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let mut client_id = get("client_id").map(str::to_owned);
    let mut hinted_sid = None;
    let mut hinted = false;
    if let Some(hint) = get("id_token_hint") {
        // Expired ID tokens are fine here (§2): only signature and issuer matter.
        let (claims, _) = op.keys.verify(hint).await.map_err(|_| {
            OAuthError::invalid_request("id_token_hint is not a valid ID token of this server")
        })?;
        if claims.get("iss").and_then(Value::as_str) != Some(op.issuer(brand).as_str()) {
            return Err(OAuthError::invalid_request(
                "id_token_hint was issued by another issuer",
            ));
        }
        let aud = match claims.get("aud") {
            Some(Value::String(a)) => Some(a.clone()),
            Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(str::to_owned),
            _ => None,
        };
        if client_id.is_some() && client_id != aud {
            return Err(OAuthError::invalid_request(
                "client_id does not match id_token_hint",
            ));
        }
        client_id = aud;
        hinted_sid = claims.get("sid").and_then(Value::as_str).map(str::to_owned);
        hinted = true;
    }
    let redirect = match get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let id = client_id.ok_or_else(|| {
                OAuthError::invalid_request(
                    "post_logout_redirect_uri needs id_token_hint or client_id",
                )
            })?;
            let client = op.client(&id).await?.filter(|c| c.brand.as_str() == brand);
            let client = client.ok_or_else(|| OAuthError::invalid_request("unknown client"))?;
            if !client.has_post_logout_redirect_uri(uri) {
                return Err(OAuthError::invalid_request(
                    "post_logout_redirect_uri is not registered for this client",
                ));
            }
            let mut url = Url::parse(uri).map_err(|_| {
                OAuthError::invalid_request("post_logout_redirect_uri is not a URL")
            })?;
            if let Some(state) = get("state") {
                url.query_pairs_mut().append_pair("state", state);
            }
            Some(url)
        }
    };
    Ok(LogoutRequest {
        hinted_sid,
        redirect,
        hinted,
        ui_locales: get("ui_locales").map(str::to_owned),
    })
}

/// Ends the browser's session and the hinted one: both sessions, and their online grants.
pub async fn end_sessions(op: &Op, sids: &[&str]) -> Result<(), OAuthError> {
    let now = op.now();
    for sid in sids {
        op.store.end_session(sid, now).await?;
    }
    Ok(())
}
