//! The key-encryption key (KEK) that keeps secrets at rest sealed (ISSUE-15): signing keys (the
//! OIDC ones and the SAML SP key) and TOTP secrets. AES-256-GCM through OpenSSL, the project's one
//! crypto stack, with a fresh 96-bit nonce per value.
//!
//! The operator gives one or more keys (a file, or an environment variable; never the database),
//! each 32 random bytes in base64, one per line; the first seals, every one opens. A key's id is
//! derived from the key (the first 8 hex digits of a SHA-256 over it), so a sealed value says which
//! key it needs without the operator naming keys, and nothing about the key can be learnt from it.
//!
//! Stored form: `enc1:{id}:{base64url(nonce ‖ ciphertext ‖ tag)}`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use sekisho_core::sealing::{SealError, SecretCipher, SEALED_PREFIX};
use sha2::{Digest, Sha256};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KekError {
    #[error("no key: give at least one base64 key of 32 bytes")]
    Empty,
    #[error("line {0}: not a base64 key of 32 bytes")]
    BadKey(usize),
    #[error("the same key is listed twice")]
    Duplicate,
}

struct Key {
    id: String,
    bytes: [u8; KEY_LEN],
}

/// One or more KEKs; the first seals. `Debug` shows only the ids.
pub struct Kek {
    keys: Vec<Key>,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kek").field("ids", &self.ids()).finish()
    }
}

fn key_id(bytes: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"sekisho-kek-id\0")
        .chain_update(bytes)
        .finalize();
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

impl Kek {
    /// Parses keys: base64 (standard or URL-safe), one per line or separated by commas; blank
    /// lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<Self, KekError> {
        let mut keys: Vec<Key> = Vec::new();
        let entries = text
            .lines()
            .enumerate()
            .flat_map(|(n, line)| {
                // A comment runs to the end of its line (base64 has no `#`).
                let line = line.split('#').next().unwrap_or_default();
                line.split(',').map(move |e| (n + 1, e.trim()))
            })
            .filter(|(_, e)| !e.is_empty());
        for (line, entry) in entries {
            let decoded = STANDARD
                .decode(entry)
                .or_else(|_| URL_SAFE_NO_PAD.decode(entry.trim_end_matches('=')))
                .map_err(|_| KekError::BadKey(line))?;
            let bytes: [u8; KEY_LEN] = decoded.try_into().map_err(|_| KekError::BadKey(line))?;
            let id = key_id(&bytes);
            if keys.iter().any(|k| k.id == id) {
                return Err(KekError::Duplicate);
            }
            keys.push(Key { id, bytes });
        }
        if keys.is_empty() {
            return Err(KekError::Empty);
        }
        Ok(Self { keys })
    }

    /// A new random key, as the operator stores it (base64, one line).
    pub fn generate() -> String {
        let mut bytes = [0u8; KEY_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        STANDARD.encode(bytes)
    }

    /// The ids of the configured keys, the sealing one first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    fn primary(&self) -> &Key {
        // `parse` refuses an empty list.
        &self.keys[0]
    }
}

impl SecretCipher for Kek {
    fn primary_id(&self) -> &str {
        &self.primary().id
    }

    fn seal(&self, aad: &str, clear: &str) -> Result<String, SealError> {
        let key = self.primary();
        let mut nonce = [0u8; NONCE_LEN];
        openssl::rand::rand_bytes(&mut nonce).map_err(|e| SealError::Cipher(e.to_string()))?;
        let mut tag = [0u8; TAG_LEN];
        let ct = encrypt_aead(
            Cipher::aes_256_gcm(),
            &key.bytes,
            Some(&nonce),
            aad.as_bytes(),
            clear.as_bytes(),
            &mut tag,
        )
        .map_err(|e| SealError::Cipher(e.to_string()))?;
        let mut blob = Vec::with_capacity(NONCE_LEN + ct.len() + TAG_LEN);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ct);
        blob.extend_from_slice(&tag);
        Ok(format!(
            "{SEALED_PREFIX}{}:{}",
            key.id,
            URL_SAFE_NO_PAD.encode(blob)
        ))
    }

    fn open(&self, aad: &str, sealed: &str) -> Result<String, SealError> {
        let (id, body) = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .ok_or(SealError::Malformed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| SealError::UnknownKey(id.to_owned()))?;
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, rest) = blob.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        let clear = decrypt_aead(
            Cipher::aes_256_gcm(),
            &key.bytes,
            Some(nonce),
            aad.as_bytes(),
            ct,
            tag,
        )
        .map_err(|_| SealError::WrongKey(id.to_owned()))?;
        String::from_utf8(clear).map_err(|_| SealError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ISSUE-15: secrets at rest — a sealed value is not the clear one, opens only with its key
    // and its place (aad), and names its key so a rotation can open old values.
    #[test]
    fn seals_and_opens_only_with_the_key_and_place() {
        let old = Kek::generate();
        let new = Kek::generate();
        let k1 = Kek::parse(&old).unwrap();
        let sealed = k1
            .seal("second_factors.totp_secret:u1", "JBSWY3DPEHPK3PXP")
            .unwrap();
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert!(sealed.starts_with(&format!("enc1:{}:", k1.primary_id())));
        assert_ne!(
            sealed,
            k1.seal("second_factors.totp_secret:u1", "JBSWY3DPEHPK3PXP")
                .unwrap()
        );
        assert_eq!(
            k1.open("second_factors.totp_secret:u1", &sealed).unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
        assert!(matches!(
            k1.open("second_factors.totp_secret:u2", &sealed),
            Err(SealError::WrongKey(_))
        ));
        let k2 = Kek::parse(&new).unwrap();
        assert_eq!(
            k2.open("second_factors.totp_secret:u1", &sealed),
            Err(SealError::UnknownKey(k1.primary_id().to_owned()))
        );
        // Both keys, the new one first: old values open, new ones are sealed with the new key.
        let both = Kek::parse(&format!("# rotated, new first\n{new} # new\n{old}\n")).unwrap();
        assert_eq!(both.ids(), vec![k2.primary_id(), k1.primary_id()]);
        assert_eq!(
            both.open("second_factors.totp_secret:u1", &sealed).unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
        assert!(both.seal("a", "b").unwrap().contains(k2.primary_id()));
        assert!(!format!("{both:?}").contains(&new));
    }

    #[test]
    fn refuses_what_is_not_a_key() {
        assert_eq!(Kek::parse("").unwrap_err(), KekError::Empty);
        assert_eq!(Kek::parse("# none\n").unwrap_err(), KekError::Empty);
        assert_eq!(Kek::parse("c2hvcnQ=").unwrap_err(), KekError::BadKey(1));
        let k = Kek::generate();
        assert_eq!(
            Kek::parse(&format!("{k}\n{k}")).unwrap_err(),
            KekError::Duplicate
        );
    }
}
