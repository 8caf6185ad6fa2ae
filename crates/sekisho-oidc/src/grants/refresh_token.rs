//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).
//!
//! Invariant: every refresh spends its token and issues a new one in the same family; presenting a
//! spent token revokes the whole family, and with it every access token the family issued. The
//! one exception is the configured grace (`OpConfig::refresh_reuse_grace`, off by default): a
//! token spent moments ago whose child was never used may be presented again, and the child is
//! replaced (`Store::rotate_refresh_within`): never two live tokens in a family.

use super::{GrantPayload, TokenResponse};
use crate::error::{ErrorCode, OAuthError};
use crate::mint::{self, AccessGrant};
use crate::Op;
use sekisho_core::model::Client;
use sekisho_core::Secret;
use sekisho_crypto::tokens::{hash_token, random_token};
use sekisho_store::{RefreshRecord, RefreshRotation};

pub async fn refresh(
    op: &Op,
    brand: &str,
    client: &Client,
    token: &str,
    scope: Option<&str>,
    dpop_jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let now = op.now();
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let old_hash = hash_token(token);
    // One read of everything checked before the token is spent.
    let (_, grant, user, contract) = op
        .store
        .find_refresh_for_rotation(&old_hash)
        .await?
        .ok_or_else(invalid)?;
    if grant.client_id != client.client_id || grant.brand != brand {
        return Err(invalid());
    }
    // A cancelled contract (or an ended trial), a disabled user: their tokens stop (the token
    // is left unspent: it is refused for as long as that lasts).
    if !user.may_use_service(&contract, now) {
        return Err(OAuthError::invalid_grant(
            "the user is disabled or their contract has ended",
        ));
    }
    let payload: GrantPayload = serde_json::from_str(&grant.payload).map_err(OAuthError::server)?;
    // RFC 9449 §5: a bound refresh token is spent only with a proof by its key (a thief of the
    // token alone gets nothing, and the family stays the client's).
    if payload.dpop_jkt.is_some() && payload.dpop_jkt.as_deref() != dpop_jkt {
        return Err(OAuthError::invalid_grant(
            "the refresh token is bound to another DPoP key",
        ));
    }
    // A refresh may narrow the scope, never widen it (RFC 6749 §6).
    let scope = match scope {
        None => payload.scope.clone(),
        Some(s) => {
            let asked: Vec<String> = s
                .split(' ')
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect();
            if let Some(extra) = asked.iter().find(|a| !payload.scope.contains(a)) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!("scope {extra} was not granted"),
                ));
            }
            asked
        }
    };
    let new_token = Secret::new(random_token());
    let new = RefreshRecord {
        token_hash: hash_token(new_token.expose()),
        grant_id: grant.id.clone(),
        created_at: now,
        expires_at: now + op.config.refresh_token_ttl,
        used_at: None,
    };
    let grace = op.config.refresh_reuse_grace;
    match op
        .store
        .rotate_refresh_within(&old_hash, now, &new, grace)
        .await?
    {
        RefreshRotation::Rotated => {}
        RefreshRotation::RotatedAgain => {
            tracing::info!(client_id = %client.client_id, grant = %grant.id, "refresh token presented again within the grace; its unused child is replaced");
        }
        RefreshRotation::Reused => {
            tracing::warn!(client_id = %client.client_id, grant = %grant.id, "refresh token reused; its family is revoked");
            return Err(invalid());
        }
        RefreshRotation::Inactive => return Err(invalid()),
    }
    let subject = op.subject(client, &user.id).await?;
    let access = mint::access_token(
        op,
        &AccessGrant {
            brand,
            client_id: &client.client_id,
            subject: Some(&subject),
            scope: &scope,
            grant_id: Some(&grant.id),
            auth: Some(&payload.auth),
            dpop_jkt,
            userinfo_claims: &payload.claims.userinfo,
        },
    )
    .await?;
    let id_token = if scope.iter().any(|s| s == "openid") {
        // OpenID Connect Core §12.2: same iss, sub, aud and auth_time; no nonce.
        Some(
            mint::id_token(
                op,
                brand,
                client,
                &user,
                &scope,
                &payload.auth,
                None,
                Some(access.token.expose()),
                &payload.claims.id_token,
            )
            .await
            .map(Secret::new)?,
        )
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: access.token,
        token_type: super::token_type(dpop_jkt),
        expires_in: access.expires_in,
        scope: scope.join(" "),
        refresh_token: Some(new_token),
        id_token,
    })
}
