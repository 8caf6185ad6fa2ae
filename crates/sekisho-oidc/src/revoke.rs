//! Token revocation (RFC 7009). A refresh token revokes its whole family (and so the access tokens
//! the family issued); an access token revokes itself. Unknown tokens answer success (§2.2).

use crate::client_auth::{self, Presented};
use crate::error::{ErrorCode, OAuthError};
use crate::mint::decode_access_token;
use crate::Op;
use sekisho_crypto::tokens::hash_token;
use std::collections::HashMap;

pub async fn revoke(
    op: &Op,
    brand: &str,
    presented: &Presented,
    form: &HashMap<String, String>,
) -> Result<(), OAuthError> {
    let client =
        client_auth::authenticate(op, brand, presented, &op.endpoint(brand, "revoke"), true)
            .await?;
    let token = form
        .get("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let not_yours = || {
        OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the token was not issued to this client",
        )
    };
    let now = op.now();

    if let Some((_, grant)) = op.store.find_refresh(&hash_token(token)).await? {
        if grant.client_id != client.client_id {
            return Err(not_yours());
        }
        op.store.revoke_grant(&grant.id, now).await?;
        return Ok(());
    }
    if let Ok(access) = decode_access_token(op, brand, token).await {
        if access.client_id != client.client_id {
            return Err(not_yours());
        }
        op.store
            .revoke_access_token(&access.jti, access.exp)
            .await?;
    }
    Ok(())
}
