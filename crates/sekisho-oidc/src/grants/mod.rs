//! The token endpoint: one handler per grant type (RFC 6749 §4.1.3, §6, §4.4).

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use crate::client_auth::{self, Presented};
use crate::error::{ErrorCode, OAuthError};
use crate::Op;
use sekisho_core::oauth::GrantType;
use serde::Serialize;
use std::collections::HashMap;

/// The successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// A token request, typed by its `grant_type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
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
                code: required("code")?,
                redirect_uri: field("redirect_uri"),
                code_verifier: field("code_verifier"),
            },
            Some(GrantType::RefreshToken) => GrantRequest::RefreshToken {
                refresh_token: required("refresh_token")?,
                scope: field("scope"),
            },
            Some(GrantType::ClientCredentials) => GrantRequest::ClientCredentials {
                scope: field("scope"),
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
        }
    }
}

/// Authenticates the client, then runs the grant's handler.
pub async fn token(
    op: &Op,
    brand: &str,
    presented: &Presented,
    form: &HashMap<String, String>,
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
                &code,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
            )
            .await
        }
        GrantRequest::RefreshToken {
            refresh_token,
            scope,
        } => refresh_token::refresh(op, brand, &client, &refresh_token, scope.as_deref()).await,
        GrantRequest::ClientCredentials { scope } => {
            client_credentials::grant(op, brand, &client, scope.as_deref()).await
        }
    }
}

/// The stored state of a grant (token family) that refreshes need.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct GrantPayload {
    pub scope: Vec<String>,
    pub auth: crate::authorize::Authentication,
}
