//! The device authorization grant (RFC 8628, issue 18): the storage service's desktop and
//! command-line clients, which have no browser of their own, ask here for a device code and a
//! user code; the user types the user code on the brand's verification page
//! (`/{brand}/device`), logs in there through the same login pipeline and policies as any
//! browser login, and approves; the client polls the token endpoint meanwhile.
//!
//! The verification page's login is an ordinary authorization request of the device's client
//! whose redirect URI is the OP's own `/{brand}/device/done` ([`login_request`]): the code it ends
//! with never leaves the OP; the done page spends it to approve the device
//! (`Store::approve_device`).

use crate::authorize::AuthParams;
use crate::client_auth::{self, Presented};
use crate::error::{ErrorCode, OAuthError};
use crate::Op;
use sekisho_core::model::Client;
use sekisho_core::oauth::{known_scopes, GrantType};
use sekisho_crypto::tokens::{hash_token, new_id, random_token};
use sekisho_store::{DeviceRecord, DeviceStatus, StoreError};
use serde::Serialize;
use std::collections::HashMap;

/// How long a device code and its user code live, seconds (RFC 8628 §3.2: the client shows the
/// user code this long).
pub const DEVICE_CODE_TTL: i64 = 600;
/// The polling interval given, seconds (RFC 8628 §3.2's default); `slow_down` adds 5.
pub const POLL_INTERVAL: i64 = 5;
/// The user code's alphabet: no vowels (no words), no look-alikes (RFC 8628 §6.1); 8 characters
/// of 20 are 34 bits, guessed at most at the verification page's rate limit.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const USER_CODE_LEN: usize = 8;

/// The answer of the device authorization endpoint (RFC 8628 §3.2). `Debug` masks the device
/// code (the device's bearer credential until it is redeemed); the JSON answer carries it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceAuthorization {
    #[serde(serialize_with = "sekisho_core::secret::serialize_exposed")]
    pub device_code: sekisho_core::Secret<String>,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// A user code as shown: `XXXX-XXXX`.
pub fn display_user_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

/// A user code as typed (any case, with hyphens or spaces) in its stored form, or `None` if it
/// cannot be one.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{3000}' | 'ー' | '－'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

fn new_user_code() -> String {
    (0..USER_CODE_LEN)
        .map(|_| {
            USER_CODE_ALPHABET[sekisho_crypto::tokens::random_index(USER_CODE_ALPHABET.len())]
                as char
        })
        .collect()
}

/// RFC 8628 §3.1: authenticates the client (public clients by id), checks it may use the device
/// grant, and makes the codes.
pub async fn authorize_device(
    op: &Op,
    brand: &str,
    presented: &Presented,
    form: &HashMap<String, String>,
) -> Result<DeviceAuthorization, OAuthError> {
    let endpoint = op.endpoint(brand, "device_authorization");
    let client = client_auth::authenticate(op, brand, presented, &endpoint, true).await?;
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the device authorization grant",
        ));
    }
    let asked = form.get("scope").map(String::as_str).unwrap_or("openid");
    if asked.len() > 1024 {
        return Err(OAuthError::invalid_request(
            "scope is longer than 1024 bytes",
        ));
    }
    let scope = known_scopes(asked).join(" ");
    let now = op.now();
    let device_code = sekisho_core::Secret::new(random_token());
    for _ in 0..3 {
        let user_code = new_user_code();
        let record = DeviceRecord {
            id: new_id("dev"),
            device_code_hash: hash_token(device_code.expose()),
            user_code: user_code.clone(),
            brand: brand.to_owned(),
            client_id: client.client_id.clone(),
            scope: scope.clone(),
            created_at: now,
            expires_at: now + DEVICE_CODE_TTL,
            poll_interval: POLL_INTERVAL,
            status: DeviceStatus::Pending,
            approval: None,
        };
        match op.store.insert_device(&record).await {
            Ok(()) => {
                let shown = display_user_code(&user_code);
                let uri = op.endpoint(brand, "device");
                return Ok(DeviceAuthorization {
                    device_code,
                    verification_uri_complete: format!("{uri}?user_code={shown}"),
                    verification_uri: uri,
                    user_code: shown,
                    expires_in: DEVICE_CODE_TTL,
                    interval: POLL_INTERVAL,
                });
            }
            // A user code taken by a live authorization: draw another.
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(OAuthError::server("no free user code in three draws"))
}

/// The device authorization the user typed, with its client (pending and unexpired), or `None`.
pub async fn pending(
    op: &Op,
    brand: &str,
    typed: &str,
) -> Result<Option<(DeviceRecord, Client)>, OAuthError> {
    let Some(code) = normalize_user_code(typed) else {
        return Ok(None);
    };
    let Some(device) = op.store.find_pending_device(brand, &code, op.now()).await? else {
        return Ok(None);
    };
    Ok(op.client(&device.client_id).await?.map(|c| (device, c)))
}

/// The OP's own redirect URI of a device login: the done page.
pub fn done_uri(op: &Op, brand: &str) -> String {
    op.endpoint(brand, "device/done")
}

/// The authorization request of the verification page's login for `device` (never validated
/// from a URL: the OP makes it). `state` names the device authorization.
pub fn login_request(op: &Op, device: &DeviceRecord) -> AuthParams {
    AuthParams {
        client_id: device.client_id.clone(),
        redirect_uri: done_uri(op, &device.brand),
        scope: device
            .scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        state: Some(device.id.clone()),
        nonce: None,
        code_challenge: None,
        prompt_none: false,
        prompt_login: false,
        max_age: None,
        login_hint: None,
        ui_locales: None,
        acr_values: None,
        dpop_jkt: None,
        claims: Default::default(),
    }
}

/// The end of a device login: the login's authorization `code` approves the device
/// authorization `device_id` of `brand` if the code is live, was made for this brand's done page,
/// belongs to the device's client (the store checks) and was issued to the browser session `sid`
/// (the one that logged in). False if any of that is not so; nothing changes then.
pub async fn approve(
    op: &Op,
    brand: &str,
    device_id: &str,
    code: &str,
    sid: &str,
) -> Result<bool, OAuthError> {
    if code.is_empty() || device_id.is_empty() {
        return Ok(false);
    }
    let code_hash = hash_token(code);
    let Some(record) = op.store.find_code(&code_hash).await? else {
        return Ok(false);
    };
    let payload: crate::authorize::CodePayload =
        serde_json::from_str(&record.payload).map_err(OAuthError::server)?;
    if payload.auth.sid != sid || payload.redirect_uri != done_uri(op, brand) {
        return Ok(false);
    }
    Ok(op
        .store
        .approve_device(device_id, &code_hash, op.now())
        .await?)
}
