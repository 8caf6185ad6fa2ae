//! `grant_type=client_credentials` (RFC 6749 §4.4): a client acting for itself.
//!
//! Writes nothing: the access token is a signed JWT whose `sub` is the client (RFC 9068 §2.2).

use super::TokenResponse;
use crate::error::{ErrorCode, OAuthError};
use crate::mint::{self, AccessGrant};
use crate::Op;
use sekisho_core::model::Client;

pub async fn grant(
    op: &Op,
    brand: &str,
    client: &Client,
    scope: Option<&str>,
    dpop_jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use client_credentials",
        ));
    }
    let allowed: Vec<&str> = client
        .metadata
        .scope
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    let scope: Vec<String> = match scope {
        None => allowed.iter().map(|s| s.to_string()).collect(),
        Some(asked) => {
            let asked: Vec<String> = asked
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            if let Some(bad) = asked.iter().find(|a| !allowed.contains(&a.as_str())) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!("scope {bad} is not allowed for this client"),
                ));
            }
            asked
        }
    };
    let access = mint::access_token(
        op,
        &AccessGrant {
            brand,
            client_id: &client.client_id,
            subject: None,
            scope: &scope,
            grant_id: None,
            auth: None,
            dpop_jkt,
            userinfo_claims: &[],
        },
    )
    .await?;
    Ok(TokenResponse {
        access_token: access.token,
        token_type: super::token_type(dpop_jkt),
        expires_in: access.expires_in,
        scope: scope.join(" "),
        refresh_token: None,
        id_token: None,
    })
}
