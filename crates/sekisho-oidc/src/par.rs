//! Pushed authorization requests (RFC 9126): the client sends its authorization request to the
//! server directly, authenticated as at the token endpoint, and the browser carries only a
//! `request_uri` that works once, for a minute.
//!
//! Invariant: a pushed request passes the same validation as a request in the browser's URL
//! (`authorize::validate`), once when it is pushed (the client hears the error at once) and again
//! when it is used (the client may have changed in between).

use crate::authorize::{self, AuthorizeError, Via, PARAMETER_LIMITS};
use crate::client_auth::{self, Presented};
use crate::error::OAuthError;
use crate::Op;
use sekisho_crypto::tokens::{hash_token, random_token};
use sekisho_store::PushedRequestRecord;
use serde::Serialize;
use std::collections::HashMap;

/// The prefix of every `request_uri` this server makes (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The authorization request parameters a pushed request keeps (each within its size limit):
/// the ones `authorize::validate` reads. Client authentication parameters and anything unknown
/// are not stored.
const KEPT: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "code_challenge_method",
];

/// The answer to a push (RFC 9126 §2.2), sent with status 201. `Debug` masks the `request_uri`
/// (it stands for the request until it is used); the JSON answer carries it.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    #[serde(serialize_with = "sekisho_core::secret::serialize_exposed")]
    pub request_uri: sekisho_core::Secret<String>,
    pub expires_in: i64,
}

/// RFC 9126 §2: authenticates the client, validates the request as `/authorize` would, keeps it.
/// A DPoP proof pushed with it binds the code to its key (RFC 9449 §10.1), as `dpop_jkt` would.
pub async fn push(
    op: &Op,
    brand: &str,
    presented: &Presented,
    form: &HashMap<String, String>,
    dpop_proof: Option<&str>,
) -> Result<Pushed, OAuthError> {
    let endpoint = op.endpoint(brand, "par");
    let client = client_auth::authenticate(op, brand, presented, &endpoint, true).await?;
    if form.contains_key("request_uri") {
        return Err(OAuthError::invalid_request(
            "request_uri cannot be pushed (RFC 9126 §2.1)",
        ));
    }
    let mut kept: HashMap<String, String> = form
        .iter()
        .filter(|(k, _)| {
            KEPT.contains(&k.as_str()) || PARAMETER_LIMITS.iter().any(|(name, _)| name == k)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // The authenticated client is the request's client (client_auth refused a different one).
    kept.insert("client_id".into(), client.client_id.clone());
    if let Some(proof) = dpop_proof {
        let request = crate::dpop::Request {
            method: "POST",
            url: &endpoint,
            access_token: None,
        };
        let jkt = crate::dpop::verify(op, proof, request).await?;
        if kept.get("dpop_jkt").is_some_and(|j| *j != jkt) {
            return Err(OAuthError::new(
                crate::ErrorCode::InvalidDpopProof,
                "dpop_jkt is not the thumbprint of the DPoP proof's key",
            ));
        }
        kept.insert("dpop_jkt".into(), jkt);
    }
    match authorize::validate(op, brand, &kept, Via::Pushed).await {
        Ok(_) => {}
        Err(AuthorizeError::UnknownClient) => {
            return Err(OAuthError::invalid_client("unknown client"))
        }
        Err(AuthorizeError::BadRedirectUri) => {
            return Err(OAuthError::invalid_request(
                "redirect_uri is missing or not registered for this client",
            ))
        }
        Err(AuthorizeError::Redirect { error, .. }) => return Err(error),
        Err(AuthorizeError::UnknownRequestUri) => {
            return Err(OAuthError::server("a pushed request named a request_uri"))
        }
    }
    let token = random_token();
    let now = op.now();
    let record = PushedRequestRecord {
        brand: brand.to_owned(),
        client_id: client.client_id,
        params: serde_json::to_string(&kept).map_err(OAuthError::server)?,
        expires_at: now + op.config.pushed_request_ttl,
    };
    op.store
        .insert_pushed_request(&hash_token(&token), &record)
        .await?;
    Ok(Pushed {
        request_uri: sekisho_core::Secret::new(format!("{REQUEST_URI_PREFIX}{token}")),
        expires_in: op.config.pushed_request_ttl,
    })
}

/// The parameters of the pushed request `request_uri`, spent: for the client `client_id` of
/// `brand`, unexpired, never used. Anything else is `UnknownRequestUri` (an error page: no
/// redirect URI is known good).
pub async fn take(
    op: &Op,
    brand: &str,
    client_id: Option<&str>,
    request_uri: &str,
) -> Result<HashMap<String, String>, AuthorizeError> {
    let token = request_uri
        .strip_prefix(REQUEST_URI_PREFIX)
        .ok_or(AuthorizeError::UnknownRequestUri)?;
    let taken = op
        .store
        .take_pushed_request(&hash_token(token))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "pushed request lookup failed");
            AuthorizeError::UnknownRequestUri
        })?
        .ok_or(AuthorizeError::UnknownRequestUri)?;
    // RFC 9126 §4: the client_id of the authorization request is the pushing client's.
    if taken.brand != brand
        || client_id != Some(taken.client_id.as_str())
        || taken.expires_at <= op.now()
    {
        return Err(AuthorizeError::UnknownRequestUri);
    }
    serde_json::from_str(&taken.params).map_err(|e| {
        tracing::error!(error = %e, "a stored pushed request is not readable");
        AuthorizeError::UnknownRequestUri
    })
}

#[cfg(test)]
mod tests {
    use super::Pushed;
    use crate::device::DeviceAuthorization;

    // Issue 18 (secrets never in Debug): a pushed request's request_uri and a device code stand
    // for the request and the device until used; Debug masks them, the JSON answers carry them.
    #[test]
    fn debug_hides_request_uris_and_device_codes() {
        let pushed = Pushed {
            request_uri: "urn:ietf:params:oauth:request_uri:s3cret-uri"
                .to_owned()
                .into(),
            expires_in: 60,
        };
        let device = DeviceAuthorization {
            device_code: "d3vice-code".to_owned().into(),
            user_code: "BCDF-GHJK".into(),
            verification_uri: "https://op/VX5/device".into(),
            verification_uri_complete: "https://op/VX5/device?user_code=BCDF-GHJK".into(),
            expires_in: 600,
            interval: 5,
        };
        let shown = format!("{pushed:?} {device:?}");
        assert!(
            !shown.contains("s3cret-uri") && !shown.contains("d3vice-code"),
            "{shown}"
        );
        let json = format!(
            "{} {}",
            serde_json::to_string(&pushed).unwrap(),
            serde_json::to_string(&device).unwrap()
        );
        assert!(
            json.contains("s3cret-uri") && json.contains("d3vice-code"),
            "{json}"
        );
    }
}
