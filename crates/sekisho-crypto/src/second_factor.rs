//! The secrets of two-step verification: authenticator (TOTP) secrets and codes, SMS codes, and
//! recovery codes (REQ-2FA-3, REQ-2FA-5).
//!
//! Invariant: SMS codes and recovery codes are stored only as hashes ([`hash_token`]); a TOTP
//! secret has to be kept (the server computes the same codes as the app), like the signing keys.

use crate::tokens::{constant_time_eq, hash_token};
use rand::Rng;
use totp_rs::{Algorithm, Secret, TOTP};

/// Google and Microsoft Authenticator: SHA-1, 6 digits, 30-second steps.
pub const TOTP_STEP: i64 = 30;
const TOTP_DIGITS: usize = 6;
/// Codes from the step before and after are accepted too (phone clocks drift).
const TOTP_SKEW_STEPS: i64 = 1;

#[derive(Debug, thiserror::Error)]
#[error("authenticator setup: {0}")]
pub struct TotpError(String);

/// A new random authenticator secret (160 bits, as RFC 4226 recommends), in base32.
pub fn new_totp_secret() -> String {
    let bytes: [u8; 20] = rand::thread_rng().gen();
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn totp(secret_b32: &str, issuer: &str, account: &str) -> Result<TOTP, TotpError> {
    let raw = Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .map_err(|e| TotpError(format!("{e:?}")))?;
    // The otpauth label may not contain ':' (it separates issuer and account).
    let issuer = issuer.replace(':', " ");
    TOTP::new(
        Algorithm::SHA1,
        TOTP_DIGITS,
        TOTP_SKEW_STEPS as u8,
        TOTP_STEP as u64,
        raw,
        Some(issuer),
        account.replace(':', " "),
    )
    .map_err(|e| TotpError(e.to_string()))
}

/// The `otpauth://totp/…` URI the authenticator app scans (shown as a QR code).
pub fn totp_uri(secret_b32: &str, issuer: &str, account: &str) -> Result<String, TotpError> {
    Ok(totp(secret_b32, issuer, account)?.get_url())
}

/// The code for the step containing `now` (tests play the authenticator app with it).
pub fn totp_code(secret_b32: &str, now: i64) -> Result<String, TotpError> {
    Ok(totp(secret_b32, "x", "x")?.generate(now.max(0) as u64))
}

/// The time step (`now / 30`) whose code `presented` is, within one step either side; `None`
/// when it matches none. The caller refuses a step not newer than the last one used (replay).
pub fn totp_matching_step(secret_b32: &str, presented: &str, now: i64) -> Option<i64> {
    let presented: String = presented.chars().filter(|c| !c.is_whitespace()).collect();
    if presented.len() != TOTP_DIGITS || !presented.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret_b32, "x", "x").ok()?;
    let current = now.div_euclid(TOTP_STEP);
    (current - TOTP_SKEW_STEPS..=current + TOTP_SKEW_STEPS)
        .filter(|step| *step >= 0)
        .find(|step| constant_time_eq(&t.generate((step * TOTP_STEP) as u64), &presented))
}

/// A fresh 6-digit SMS code.
pub fn new_sms_code() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000))
}

/// The hash an SMS code is kept as (digits only: spaces the user typed do not matter).
pub fn hash_sms_code(code: &str) -> String {
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    hash_token(&format!("sms:{digits}"))
}

/// Recovery codes: 16 characters from an alphabet without look-alikes (I, O, 0, 1), 80 bits.
const RECOVERY_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const RECOVERY_LEN: usize = 16;

/// A new recovery code as shown to the user (`ABCD-EFGH-JKLM-NPQR`) and the hash to keep.
pub fn new_recovery_code() -> (String, String) {
    let mut rng = rand::thread_rng();
    let raw: String = (0..RECOVERY_LEN)
        .map(|_| char::from(RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())]))
        .collect();
    let shown = raw
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-");
    let hash = hash_recovery_code(&shown);
    (shown, hash)
}

/// The hash of a recovery code as the user typed or pasted it: spaces (half- or full-width),
/// hyphens and letter case do not matter (REQ-2FA-5).
pub fn hash_recovery_code(input: &str) -> String {
    let normal: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '‐' | '－' | 'ー' | '−'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hash_token(&format!("recovery:{normal}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // REQ-2FA-3: RFC 6238 appendix B vector (SHA-1, 8 digits there; the last 6 here) with the
    // RFC's secret "12345678901234567890".
    #[test]
    fn rfc6238_vector() {
        let secret = Secret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        assert_eq!(totp_code(&secret, 59).unwrap(), "287082");
        assert_eq!(totp_code(&secret, 1_111_111_109).unwrap(), "081804");
        assert_eq!(
            totp_matching_step(&secret, "081804", 1_111_111_109),
            Some(37_037_036)
        );
        // One step either side is accepted; two are not.
        assert_eq!(
            totp_matching_step(&secret, "081804", 1_111_111_109 + 30),
            Some(37_037_036)
        );
        assert_eq!(
            totp_matching_step(&secret, "081804", 1_111_111_109 + 60),
            None
        );
        assert_eq!(totp_matching_step(&secret, "08180", 1_111_111_109), None);
    }

    #[test]
    fn uri_is_what_authenticators_scan() {
        let secret = new_totp_secret();
        let uri = totp_uri(&secret, "OTクラウド・ストレージ", "taro@example.jp").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={secret}")), "{uri}");
        assert!(
            uri.contains("algorithm=SHA1") || !uri.contains("algorithm="),
            "{uri}"
        );
    }

    // REQ-2FA-5: the recovery code is accepted as copied, with spaces and hyphens, in any case.
    #[test]
    fn recovery_code_as_copied() {
        let (shown, hash) = new_recovery_code();
        assert_eq!(shown.len(), 19);
        let bare = shown.replace('-', "");
        for typed in [
            shown.clone(),
            bare.clone(),
            bare.to_lowercase(),
            bare.chars()
                .collect::<Vec<_>>()
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join(" "),
            format!(" {shown}\n"),
        ] {
            assert_eq!(hash_recovery_code(&typed), hash, "{typed:?}");
        }
        let (other, _) = new_recovery_code();
        assert_ne!(hash_recovery_code(&other), hash);
    }

    #[test]
    fn sms_codes_are_six_digits() {
        for _ in 0..100 {
            let c = new_sms_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(hash_sms_code("123 456"), hash_sms_code("123456"));
    }
}
