//! The password rule (REQ-PW-1): at least 8 characters, at most [`MAX_LEN`], and at least three of
//! the four kinds: upper-case letters, lower-case letters, digits, symbols.
//!
//! The maximum is 64, not the 30 one manual mentions: long passphrases are the strongest passwords
//! a person can remember (NIST SP 800-63B asks verifiers to allow at least 64), and argon2id costs
//! the same for any length.

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 64;
pub const MIN_CLASSES: usize = 3;

/// One broken part of the rule; each has its own message (sekisho-web's `i18n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    TooShort,
    TooLong,
    TooFewKinds,
    /// Spaces at either end are almost always a copy-paste accident.
    SurroundingSpace,
    /// The confirmation differs.
    Mismatch,
}

impl Violation {
    /// The key of its message.
    pub fn message_key(self) -> &'static str {
        match self {
            Violation::TooShort => "pw_too_short",
            Violation::TooLong => "pw_too_long",
            Violation::TooFewKinds => "pw_too_few_kinds",
            Violation::SurroundingSpace => "pw_surrounding_space",
            Violation::Mismatch => "pw_mismatch",
        }
    }
}

/// Every violation of `password` (and of its confirmation), in a stable order; empty when valid.
pub fn check(password: &str, confirmation: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let len = password.chars().count();
    if len < MIN_LEN {
        out.push(Violation::TooShort);
    }
    if len > MAX_LEN {
        out.push(Violation::TooLong);
    }
    let kinds = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if kinds.iter().filter(|k| **k).count() < MIN_CLASSES {
        out.push(Violation::TooFewKinds);
    }
    if password.trim() != password {
        out.push(Violation::SurroundingSpace);
    }
    if password != confirmation {
        out.push(Violation::Mismatch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Violation::*;

    // REQ-PW-1
    #[test]
    fn policy_table() {
        let rows: &[(&str, &str, &[Violation])] = &[
            ("Tokyo-2026", "Tokyo-2026", &[]),
            ("tokyo2026!", "tokyo2026!", &[]), // lower, digit, symbol
            ("TOKYOtower", "TOKYOtower", &[TooFewKinds]), // two kinds
            ("Tk-1", "Tk-1", &[TooShort]),
            ("abc", "abc", &[TooShort, TooFewKinds]),
            ("Tokyo-2026", "Tokyo-2027", &[Mismatch]),
            (" Tokyo-2026", " Tokyo-2026", &[SurroundingSpace]),
            ("東京タワー-2026a", "東京タワー-2026a", &[]), // non-ASCII counts as a symbol
        ];
        for (pw, confirm, want) in rows {
            assert_eq!(check(pw, confirm), *want, "{pw:?}");
        }
        let long = format!("Aa1-{}", "x".repeat(61));
        assert_eq!(check(&long, &long), vec![TooLong]);
        let max = format!("Aa1-{}", "x".repeat(60));
        assert_eq!(check(&max, &max), vec![]);
    }
}
