//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
//!
//! Invariant: a code is redeemed once. A second use fails and revokes the grant the first use
//! created, so every token it issued stops working (RFC 6749 §4.1.2).

use super::{GrantPayload, TokenResponse};
use crate::authorize::CodePayload;
use crate::error::OAuthError;
use crate::mint::{self, AccessGrant};
use crate::Op;
use sekisho_core::model::Client;
use sekisho_core::oauth::GrantType;
use sekisho_core::Secret;
use sekisho_crypto::tokens::{constant_time_eq, hash_token, pkce_s256, random_token};
use sekisho_store::{CodeExchange, GrantRecord, RefreshRecord};

pub async fn exchange(
    op: &Op,
    brand: &str,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    dpop_jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let now = op.now();
    let code_hash = hash_token(code);
    let invalid =
        || OAuthError::invalid_grant("the authorization code is invalid, expired or already used");
    let record = op.store.find_code(&code_hash).await?.ok_or_else(invalid)?;
    if record.client_id != client.client_id {
        return Err(invalid());
    }
    if record.used_at.is_some() {
        op.store.revoke_grant(&record.grant_id, now).await?;
        tracing::warn!(client_id = %client.client_id, "authorization code replayed; its grant is revoked");
        return Err(invalid());
    }
    if record.expires_at <= now {
        return Err(invalid());
    }
    let payload: CodePayload = serde_json::from_str(&record.payload).map_err(OAuthError::server)?;
    if redirect_uri != Some(payload.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&payload.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if constant_time_eq(&pkce_s256(verifier), challenge) => {}
        (Some(_), Some(_)) => return Err(OAuthError::invalid_grant("PKCE verification failed")),
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier was sent but no code_challenge",
            ))
        }
        (None, None) => {}
    }
    if payload.dpop_jkt.is_some() && payload.dpop_jkt.as_deref() != dpop_jkt {
        return Err(OAuthError::invalid_grant(
            "the code must be redeemed with a DPoP proof by the key of the request's dpop_jkt",
        ));
    }
    let user = op
        .store
        .find_user(&payload.auth.user_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;

    let issue = Issue::new(
        op,
        brand,
        client,
        &user,
        &payload,
        record.grant_id.clone(),
        dpop_jkt,
    )?;
    if op
        .store
        .exchange_code(&code_hash, now, &issue.grant, issue.refresh.as_ref())
        .await?
        == CodeExchange::Replayed
    {
        tracing::warn!(client_id = %client.client_id, "authorization code replayed concurrently; its grant is revoked");
        return Err(invalid());
    }
    issue
        .tokens(op, brand, client, &user, &payload, dpop_jkt)
        .await
}

/// The grant (token family) a user's login makes, and its first refresh token, before they are
/// stored: shared by the authorization code and the device code (RFC 8628), whose stores differ.
pub(super) struct Issue {
    pub grant: GrantRecord,
    pub refresh: Option<RefreshRecord>,
    refresh_token: Option<Secret<String>>,
}

impl Issue {
    pub(super) fn new(
        op: &Op,
        brand: &str,
        client: &Client,
        user: &sekisho_core::model::User,
        payload: &CodePayload,
        grant_id: String,
        dpop_jkt: Option<&str>,
    ) -> Result<Self, OAuthError> {
        let now = op.now();
        let offline = payload.scope.iter().any(|s| s == "offline_access");
        let grant = GrantRecord {
            id: grant_id,
            brand: brand.to_owned(),
            client_id: client.client_id.clone(),
            user_id: Some(user.id.clone()),
            sid: Some(payload.auth.sid.clone()),
            offline,
            payload: serde_json::to_string(&GrantPayload {
                scope: payload.scope.clone(),
                auth: payload.auth.clone(),
                // A confidential client's refresh tokens are bound by its authentication instead.
                dpop_jkt: dpop_jkt.filter(|_| client.is_public()).map(str::to_owned),
                claims: payload.claims.clone(),
            })
            .map_err(OAuthError::server)?,
            created_at: now,
            revoked_at: None,
        };
        let refresh_token = client
            .allows_grant(GrantType::RefreshToken)
            .then(|| Secret::new(random_token()));
        let refresh = refresh_token.as_ref().map(|t| RefreshRecord {
            token_hash: hash_token(t.expose()),
            grant_id: grant.id.clone(),
            created_at: now,
            expires_at: now + op.config.refresh_token_ttl,
            used_at: None,
        });
        Ok(Self {
            grant,
            refresh,
            refresh_token,
        })
    }

    /// The token response, once the grant is stored.
    pub(super) async fn tokens(
        self,
        op: &Op,
        brand: &str,
        client: &Client,
        user: &sekisho_core::model::User,
        payload: &CodePayload,
        dpop_jkt: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let subject = op.subject(client, &user.id).await?;
        let access = mint::access_token(
            op,
            &AccessGrant {
                brand,
                client_id: &client.client_id,
                subject: Some(&subject),
                scope: &payload.scope,
                grant_id: Some(&self.grant.id),
                auth: Some(&payload.auth),
                dpop_jkt,
                userinfo_claims: &payload.claims.userinfo,
            },
        )
        .await?;
        let id_token = if payload.scope.iter().any(|s| s == "openid") {
            Some(Secret::new(
                mint::id_token(
                    op,
                    brand,
                    client,
                    user,
                    &payload.scope,
                    &payload.auth,
                    payload.nonce.as_deref(),
                    Some(access.token.expose()),
                    &payload.claims.id_token,
                )
                .await?,
            ))
        } else {
            None
        };
        Ok(TokenResponse {
            access_token: access.token,
            token_type: super::token_type(dpop_jkt),
            expires_in: access.expires_in,
            scope: payload.scope.join(" "),
            refresh_token: self.refresh_token,
            id_token,
        })
    }
}
