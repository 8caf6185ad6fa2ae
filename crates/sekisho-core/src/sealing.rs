//! Secrets at rest (ISSUE-15): what the store needs to keep signing keys and TOTP secrets
//! encrypted under the operator's key-encryption key (KEK), without knowing any cryptography.
//!
//! The cipher itself is `sekisho_crypto::kek::Kek` (AES-256-GCM through OpenSSL); this trait lets
//! the store, which sits below the crypto crate, call it. A sealed value names the KEK that sealed
//! it (`enc1:{key id}:…`), so values under an old KEK still open during a rotation, and a missing
//! or wrong KEK is told apart from corrupt data.

/// The prefix of every sealed value. Clear values never contain `:` at this place (JWKs start
/// with `{`, base64 and base32 have no `:`), so a clear row left from before a KEK was configured
/// is recognised and sealed at the next start.
pub const SEALED_PREFIX: &str = "enc1:";

/// Whether a stored value is sealed (as opposed to a clear value from before a KEK existed).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

/// The KEK id a sealed value names, if it is one.
pub fn sealed_key_id(stored: &str) -> Option<&str> {
    stored
        .strip_prefix(SEALED_PREFIX)
        .and_then(|rest| rest.split_once(':'))
        .map(|(kid, _)| kid)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The value was sealed by a KEK that is not configured (or none is).
    #[error("sealed with key-encryption key {0:?}, which is not configured")]
    UnknownKey(String),
    /// The KEK of that id did not open it: another key with a colliding id, or altered data.
    #[error("key-encryption key {0:?} does not open the stored value (wrong key or altered data)")]
    WrongKey(String),
    #[error("malformed sealed value")]
    Malformed,
    #[error("cipher failure: {0}")]
    Cipher(String),
}

/// Seals and opens stored secrets. `aad` names where the value lives (table, column, row), so a
/// sealed value copied into another row does not open there.
pub trait SecretCipher: Send + Sync + std::fmt::Debug {
    /// The id of the key new values are sealed with.
    fn primary_id(&self) -> &str;
    fn seal(&self, aad: &str, clear: &str) -> Result<String, SealError>;
    fn open(&self, aad: &str, sealed: &str) -> Result<String, SealError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    // ISSUE-15: secrets at rest — clear values as stored before (a JWK, base64 PKCS#8, base32)
    // are never mistaken for sealed ones.
    #[test]
    fn clear_values_are_not_sealed() {
        for clear in [
            r#"{"kty":"EC"}"#,
            "MIIEvQIBADANBgkqhkiG9w0B",
            "JBSWY3DPEHPK3PXP",
        ] {
            assert!(!is_sealed(clear));
            assert_eq!(sealed_key_id(clear), None);
        }
        assert_eq!(sealed_key_id("enc1:ab12cd34:xyz"), Some("ab12cd34"));
    }
}
