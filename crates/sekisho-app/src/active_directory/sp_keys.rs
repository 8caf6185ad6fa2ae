//! The SP's signing key for AuthnRequests. It is kept in `signing_keys` beside the OIDC keys
//! (alg [`SAML_KEY_ALG`]; PKCS#8 and the certificate in base64), so `sekisho keys rotate` turns it
//! over and the prune removes old ones the same way; the OIDC key ring skips the alg.
//! Every key not yet pruned is published in the SP metadata, so ADFS (which refreshes the
//! relying party's metadata) knows the new certificate while requests signed with the old one
//! are still in flight.

use crate::{App, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sekisho_crypto::tokens::new_id;
use sekisho_oidc::OAuthError;
use sekisho_saml::{Certificate, SpKey};
use sekisho_store::SigningKeyRecord;

/// The `signing_keys.alg` of SAML SP keys.
pub const SAML_KEY_ALG: &str = "SAML-RS256";

fn decode(record: &SigningKeyRecord) -> Result<SpKey> {
    let key = STANDARD
        .decode(&record.private_jwk)
        .map_err(OAuthError::server)?;
    let cert = STANDARD
        .decode(&record.public_jwk)
        .map_err(OAuthError::server)?;
    SpKey::from_der(&key, cert).map_err(OAuthError::server)
}

/// The active SP key; the first use makes one.
pub async fn current(app: &App) -> Result<SpKey> {
    let keys = app.op.store.list_signing_keys().await?;
    match keys
        .iter()
        .find(|k| k.alg == SAML_KEY_ALG && k.retired_at.is_none())
    {
        Some(record) => decode(record),
        None => {
            rotate(app).await?;
            let keys = app.op.store.list_signing_keys().await?;
            let record = keys
                .iter()
                .find(|k| k.alg == SAML_KEY_ALG && k.retired_at.is_none())
                .ok_or_else(|| OAuthError::server("no SAML SP key after creating one"))?;
            decode(record)
        }
    }
}

/// The certificates to publish: the active key's first, then those retired but not yet pruned.
pub async fn published(app: &App) -> Result<Vec<Certificate>> {
    let active = current(app).await?;
    let mut certs = vec![active.certificate().clone()];
    for record in app.op.store.list_signing_keys().await? {
        if record.alg == SAML_KEY_ALG && record.retired_at.is_some() {
            if let Ok(key) = decode(&record) {
                certs.push(key.certificate().clone());
            }
        }
    }
    Ok(certs)
}

/// A new active SP key; the previous one is retired (still published until pruned).
pub async fn rotate(app: &App) -> Result<String> {
    let now = app.now();
    let kid = new_id("saml");
    let key = SpKey::generate("Sekisho SAML SP", now).map_err(OAuthError::server)?;
    let pkcs8 = key.key_pkcs8().map_err(OAuthError::server)?;
    app.op
        .store
        .rotate_signing_key(&SigningKeyRecord {
            kid: kid.clone(),
            alg: SAML_KEY_ALG.to_owned(),
            private_jwk: STANDARD.encode(pkcs8),
            public_jwk: key.certificate().to_base64(),
            created_at: now,
            // ADFS reads the SP's metadata when it reads it: the new key is used at once.
            activates_at: now,
            retired_at: None,
        })
        .await?;
    Ok(kid)
}
