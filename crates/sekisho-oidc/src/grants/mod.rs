//! The token endpoint: one handler per grant type (RFC 6749 §4.1.3, §6, §4.4).

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;

use crate::client_auth::{self, Presented};
use crate::dpop;
use crate::error::{ErrorCode, OAuthError};
use crate::Op;
use sekisho_core::oauth::GrantType;
use sekisho_core::secret::{serialize_exposed, serialize_exposed_option, Secret};
use serde::Serialize;
use std::collections::HashMap;

/// The successful token response (RFC 6749 §5.1). `Debug` masks the tokens; the JSON answer
/// carries them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    #[serde(serialize_with = "serialize_exposed")]
    pub access_token: Secret<String>,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(
        serialize_with = "serialize_exposed_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh_token: Option<Secret<String>>,
    #[serde(
        serialize_with = "serialize_exposed_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub id_token: Option<Secret<String>>,
}

/// A token request, typed by its `grant_type`. `Debug` masks the code, the PKCE verifier and the
/// refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantRequest {
    AuthorizationCode {
        code: Secret<String>,
        redirect_uri: Option<String>,
        code_verifier: Option<Secret<String>>,
    },
    RefreshToken {
        refresh_token: Secret<String>,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
    DeviceCode {
        device_code: Secret<String>,
    },
}

impl GrantRequest {
    pub fn parse(form: &HashMap<String, String>) -> Result<Self, OAuthError> {
        let field = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
        let required = |k: &str| {
            field(k).ok_or_else(|| OAuthError::invalid_request(format!("{k} is required")))
        };
        let grant = field("grant_type")
            .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
        Ok(match GrantType::parse(&grant) {
            Some(GrantType::AuthorizationCode) => GrantRequest::AuthorizationCode {
                code: required("code")?.into(),
                redirect_uri: field("redirect_uri"),
                code_verifier: field("code_verifier").map(Secret::new),
            },
            Some(GrantType::RefreshToken) => GrantRequest::RefreshToken {
                refresh_token: required("refresh_token")?.into(),
                scope: field("scope"),
            },
            Some(GrantType::ClientCredentials) => GrantRequest::ClientCredentials {
                scope: field("scope"),
            },
            Some(GrantType::DeviceCode) => GrantRequest::DeviceCode {
                device_code: required("device_code")?.into(),
            },
            None => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("grant_type {grant} is not supported"),
                ))
            }
        })
    }

    fn grant_type(&self) -> GrantType {
        match self {
            GrantRequest::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            GrantRequest::RefreshToken { .. } => GrantType::RefreshToken,
            GrantRequest::ClientCredentials { .. } => GrantType::ClientCredentials,
            GrantRequest::DeviceCode { .. } => GrantType::DeviceCode,
        }
    }
}

/// Authenticates the client, then runs the grant's handler. Counts the answer for the metrics
/// (`sekisho_token_requests_total` by grant and outcome: the RFC 6749 error code, or `issued`).
pub async fn token(
    op: &Op,
    brand: &str,
    presented: &Presented,
    form: &HashMap<String, String>,
    dpop_proof: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let grant = GrantRequest::parse(form).map(|r| r.grant_type());
    let answer = run_grant(op, brand, presented, form, dpop_proof).await;
    let grant = match grant {
        Ok(g) => g.as_str(),
        Err(_) => "unknown",
    };
    let outcome = match &answer {
        Ok(_) => "issued",
        Err(e) => e.code.as_str(),
    };
    metrics::counter!("sekisho_token_requests_total", "grant" => grant, "outcome" => outcome)
        .increment(1);
    answer
}

async fn run_grant(
    op: &Op,
    brand: &str,
    presented: &Presented,
    form: &HashMap<String, String>,
    dpop_proof: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let request = GrantRequest::parse(form)?;
    let client =
        client_auth::authenticate(op, brand, presented, &op.endpoint(brand, "token"), true).await?;
    if !client.allows_grant(request.grant_type()) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("this client may not use {}", request.grant_type()),
        ));
    }
    let token_url = op.endpoint(brand, "token");
    let jkt = match dpop_proof {
        Some(proof) => Some(
            dpop::verify(
                op,
                proof,
                dpop::Request {
                    method: "POST",
                    url: &token_url,
                    access_token: None,
                },
            )
            .await?,
        ),
        None if client.metadata.requires.dpop_bound_access_tokens => {
            return Err(OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "this client must send a DPoP proof with every token request",
            ))
        }
        None => None,
    };
    let jkt = jkt.as_deref();
    match request {
        GrantRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            authorization_code::exchange(
                op,
                brand,
                &client,
                code.expose(),
                redirect_uri.as_deref(),
                code_verifier.as_ref().map(|v| v.expose().as_str()),
                jkt,
            )
            .await
        }
        GrantRequest::RefreshToken {
            refresh_token,
            scope,
        } => {
            refresh_token::refresh(
                op,
                brand,
                &client,
                refresh_token.expose(),
                scope.as_deref(),
                jkt,
            )
            .await
        }
        GrantRequest::ClientCredentials { scope } => {
            client_credentials::grant(op, brand, &client, scope.as_deref(), jkt).await
        }
        GrantRequest::DeviceCode { device_code } => {
            device_code::grant(op, brand, &client, device_code.expose(), jkt).await
        }
    }
}

/// The stored state of a grant (token family) that refreshes need.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct GrantPayload {
    pub scope: Vec<String>,
    pub auth: crate::authorize::Authentication,
    /// RFC 9449 §5: a public client's refresh tokens are bound to the DPoP key that obtained
    /// the first of them; every refresh must prove that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// The claims the authorization request asked for beyond its scopes (refreshes keep them).
    #[serde(
        default,
        skip_serializing_if = "crate::authorize::ClaimsRequest::is_empty"
    )]
    pub claims: crate::authorize::ClaimsRequest,
}

/// `token_type` of an answer: `DPoP` when the access token is bound to a key (RFC 9449 §5).
pub fn token_type(dpop_jkt: Option<&str>) -> &'static str {
    if dpop_jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // REQ-OP-3 (issue 12): the codes, verifiers and tokens of the token endpoint never reach
    // `Debug` output; the JSON answer carries the issued tokens.
    #[test]
    fn debug_hides_the_tokens_of_the_token_endpoint() {
        let form = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let code = GrantRequest::parse(&form(&[
            ("grant_type", "authorization_code"),
            ("code", "c0de-value"),
            ("code_verifier", "ver1fier-value"),
        ]))
        .unwrap();
        let refresh = GrantRequest::parse(&form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "refr3sh-value"),
        ]))
        .unwrap();
        let shown = format!("{code:?} {refresh:?}");
        for secret in ["c0de-value", "ver1fier-value", "refr3sh-value"] {
            assert!(!shown.contains(secret), "{shown}");
        }

        let response = TokenResponse {
            access_token: "acc3ss-value".into(),
            token_type: "Bearer",
            expires_in: 300,
            scope: "openid".into(),
            refresh_token: Some("refr3sh-value".into()),
            id_token: Some("id-t0ken-value".into()),
        };
        let shown = format!("{response:?}");
        for secret in ["acc3ss-value", "refr3sh-value", "id-t0ken-value"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json["access_token"], "acc3ss-value");
        assert_eq!(json["refresh_token"], "refr3sh-value");
        assert_eq!(json["id_token"], "id-t0ken-value");
    }
}
