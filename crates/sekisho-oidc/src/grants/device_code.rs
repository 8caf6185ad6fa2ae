//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4, §3.5): the device
//! polls until the user approved, then gets the tokens of an authorization code grant, once.

use super::authorization_code::Issue;
use super::TokenResponse;
use crate::authorize::CodePayload;
use crate::error::{ErrorCode, OAuthError};
use crate::Op;
use sekisho_core::model::Client;
use sekisho_crypto::tokens::{hash_token, new_id};
use sekisho_store::DevicePoll;

pub async fn grant(
    op: &Op,
    brand: &str,
    client: &Client,
    device_code: &str,
    dpop_jkt: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let invalid = || OAuthError::invalid_grant("the device code is invalid or already used");
    let poll = op
        .store
        .poll_device(&hash_token(device_code), &client.client_id, op.now())
        .await?;
    let device = match poll {
        DevicePoll::Unknown => return Err(invalid()),
        DevicePoll::Expired => {
            return Err(OAuthError::new(
                ErrorCode::ExpiredToken,
                "the device code expired: start again",
            ))
        }
        DevicePoll::SlowDown => {
            return Err(OAuthError::new(
                ErrorCode::SlowDown,
                "polling too fast: wait 5 seconds more between requests",
            ))
        }
        DevicePoll::Pending => {
            return Err(OAuthError::new(
                ErrorCode::AuthorizationPending,
                "the user has not approved yet",
            ))
        }
        DevicePoll::Denied => {
            return Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "the user declined",
            ))
        }
        DevicePoll::Approved(d) => d,
    };
    if device.brand != brand {
        return Err(invalid());
    }
    let payload: CodePayload = serde_json::from_str(device.approval.as_deref().unwrap_or(""))
        .map_err(OAuthError::server)?;
    let user = op
        .store
        .find_user(&payload.auth.user_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;
    let issue = Issue::new(op, brand, client, &user, &payload, new_id("grt"), dpop_jkt)?;
    if !op
        .store
        .redeem_device(&device.id, &issue.grant, issue.refresh.as_ref())
        .await?
    {
        return Err(invalid());
    }
    issue
        .tokens(op, brand, client, &user, &payload, dpop_jkt)
        .await
}
