//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3, OpenID Connect Core §9, RFC 7523).
//!
//! Invariant: a client authenticates only with the method it registered; a secret is checked as a
//! SHA-256 hash in constant time (secrets are machine-generated with 256 bits, so no argon2 here).

use crate::error::OAuthError;
use crate::Op;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use sekisho_core::model::Client;
use sekisho_core::oauth::TokenEndpointAuthMethod as Method;
use sekisho_core::Secret;
use sekisho_crypto::keyring::verify_with_jwk_set;
use sekisho_crypto::tokens::{hash_token, verify_token};
use serde_json::Value;

pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What a request offered as client credentials, before any check. `Debug` masks the secrets.
#[derive(Debug, Default, Clone)]
pub struct Presented {
    /// From `Authorization: Basic`: client id and secret, both already form-urldecoded.
    pub basic: Option<(String, Secret<String>)>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret<String>>,
    pub assertion_type: Option<String>,
    pub assertion: Option<String>,
}

impl Presented {
    /// Reads the `Authorization` header value (if any) and the form fields of a request.
    pub fn from_request(
        authorization: Option<&str>,
        form: &std::collections::HashMap<String, String>,
    ) -> Result<Self, OAuthError> {
        let basic = match authorization {
            Some(h) if h.len() > 6 && h[..6].eq_ignore_ascii_case("basic ") => {
                Some(parse_basic(&h[6..])?)
            }
            _ => None,
        };
        let field = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
        Ok(Self {
            basic,
            client_id: field("client_id"),
            client_secret: field("client_secret").map(Secret::new),
            assertion_type: field("client_assertion_type"),
            assertion: field("client_assertion"),
        })
    }
}

fn parse_basic(b64: &str) -> Result<(String, Secret<String>), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic credentials");
    let raw = STANDARD.decode(b64.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    // RFC 6749 §2.3.1: both parts are application/x-www-form-urlencoded before base64.
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok((decode(id), Secret::new(decode(secret))))
}

/// The claims of a JWT without checking its signature: only to learn which client it names.
fn unverified_claims(jwt: &str) -> Option<serde_json::Map<String, Value>> {
    let body = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
}

/// Authenticates the client of `brand`. `endpoint` is the URL being called (an accepted `aud` of
/// client assertions, beside the issuer and the token endpoint). `allow_public` admits clients of
/// method `none` by client_id alone (token and revocation endpoints; not introspection).
pub async fn authenticate(
    op: &Op,
    brand: &str,
    p: &Presented,
    endpoint: &str,
    allow_public: bool,
) -> Result<Client, OAuthError> {
    let (method, client_id) = if let Some((id, _)) = &p.basic {
        (Method::ClientSecretBasic, id.clone())
    } else if p.assertion.is_some() || p.assertion_type.is_some() {
        if p.assertion_type.as_deref() != Some(JWT_BEARER_ASSERTION) {
            return Err(OAuthError::invalid_client(
                "unsupported client_assertion_type",
            ));
        }
        let claims = p
            .assertion
            .as_deref()
            .and_then(unverified_claims)
            .ok_or_else(|| OAuthError::invalid_client("malformed client_assertion"))?;
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        (Method::PrivateKeyJwt, sub)
    } else if p.client_secret.is_some() {
        (
            Method::ClientSecretPost,
            p.client_id.clone().unwrap_or_default(),
        )
    } else if let Some(id) = &p.client_id {
        (Method::None, id.clone())
    } else {
        return Err(OAuthError::invalid_client(
            "client authentication is required",
        ));
    };
    if p.client_id.as_ref().is_some_and(|id| *id != client_id) {
        return Err(OAuthError::invalid_client(
            "client_id does not match the credentials",
        ));
    }
    let unknown = || OAuthError::invalid_client("client authentication failed");
    let client = match op.client(&client_id).await? {
        Some(c) if c.brand.as_str() == brand => c,
        _ => {
            // Spend a hash on unknown clients too, so timing does not tell which ids exist.
            let _ = hash_token(&client_id);
            return Err(unknown());
        }
    };
    if client.metadata.token_endpoint_auth_method != method {
        return Err(OAuthError::invalid_client(format!(
            "this client authenticates with {}",
            client.metadata.token_endpoint_auth_method
        )));
    }
    match method {
        Method::ClientSecretBasic | Method::ClientSecretPost => {
            let secret = match (&p.basic, &p.client_secret) {
                (Some((_, s)), _) => s,
                (None, Some(s)) => s,
                (None, None) => return Err(unknown()),
            };
            match &client.secret_hash {
                Some(h) if verify_token(secret.expose(), h) => Ok(client),
                _ => Err(unknown()),
            }
        }
        Method::PrivateKeyJwt => {
            verify_assertion(
                op,
                brand,
                &client,
                p.assertion.as_deref().unwrap_or_default(),
                endpoint,
            )
            .await?;
            Ok(client)
        }
        Method::None if allow_public => Ok(client),
        Method::None => Err(OAuthError::invalid_client(
            "this endpoint needs an authenticated client",
        )),
    }
}

/// A JWT NumericDate: seconds, possibly with a fraction (RFC 7519 §2), truncated to whole seconds.
fn numeric_date(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

/// How far ahead a client assertion's `exp` may be, in seconds.
pub const MAX_ASSERTION_LIFETIME: i64 = 3600;

/// RFC 7523 §3: signature by a registered key, iss = sub = client_id, our audience, unexpired,
/// and a `jti` never seen before.
async fn verify_assertion(
    op: &Op,
    brand: &str,
    client: &Client,
    jwt: &str,
    endpoint: &str,
) -> Result<(), OAuthError> {
    let jwks = op.client_jwks(client, false).await?;
    let claims = match verify_with_jwk_set(jwt, &jwks) {
        Ok(claims) => claims,
        // Keys by URL: the client may have rotated; fetch them again (throttled) and retry.
        Err(_) if client.metadata.jwks_uri.is_some() => {
            let fresh = op.client_jwks(client, true).await?;
            verify_with_jwk_set(jwt, &fresh)
                .map_err(|e| OAuthError::invalid_client(format!("client_assertion: {e}")))?
        }
        Err(e) => return Err(OAuthError::invalid_client(format!("client_assertion: {e}"))),
    };
    let s = |k: &str| claims.get(k).and_then(Value::as_str);
    if s("iss") != Some(&client.client_id) || s("sub") != Some(&client.client_id) {
        return Err(OAuthError::invalid_client(
            "client_assertion iss and sub must be the client_id",
        ));
    }
    let accepted = [
        op.issuer(brand),
        op.endpoint(brand, "token"),
        endpoint.to_owned(),
    ];
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => accepted.contains(a),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| accepted.iter().any(|x| x == a)),
        _ => false,
    };
    if !aud_ok {
        return Err(OAuthError::invalid_client(
            "client_assertion aud is not this server",
        ));
    }
    let now = op.now();
    let exp = claims
        .get("exp")
        .and_then(numeric_date)
        .ok_or_else(|| OAuthError::invalid_client("client_assertion has no exp"))?;
    if exp <= now {
        return Err(OAuthError::invalid_client("client_assertion expired"));
    }
    // The `jti` is remembered until `exp`: an assertion that claims to live for years would keep
    // its row for years (issue 15, stored state). RFC 7523 §3 lets the server bound it.
    if exp > now + MAX_ASSERTION_LIFETIME {
        return Err(OAuthError::invalid_client(format!(
            "client_assertion exp is more than {MAX_ASSERTION_LIFETIME} s ahead"
        )));
    }
    let jti = s("jti").ok_or_else(|| OAuthError::invalid_client("client_assertion has no jti"))?;
    if !op
        .store
        .use_client_assertion(&hash_token(&format!("{}:{jti}", client.client_id)), exp)
        .await?
    {
        return Err(OAuthError::invalid_client(
            "client_assertion was already used",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // REQ-OP-3 (issue 12): the secret a client presents, by Basic or in the form, never reaches
    // `Debug` output.
    #[test]
    fn debug_hides_the_presented_secret() {
        let basic = STANDARD.encode("cli_1:basic-s3cret");
        let form = [("client_secret".to_owned(), "form-s3cret".to_owned())].into();
        let p = Presented::from_request(Some(&format!("Basic {basic}")), &form).unwrap();
        assert_eq!(
            p.basic
                .as_ref()
                .map(|(id, s)| (id.as_str(), s.expose().as_str())),
            Some(("cli_1", "basic-s3cret"))
        );
        let shown = format!("{p:?}");
        assert!(
            !shown.contains("basic-s3cret") && !shown.contains("form-s3cret"),
            "{shown}"
        );
    }
}
