//! Phone numbers for SMS codes (REQ-2FA-3): typed as people type them, kept in E.164.

use serde::{Deserialize, Serialize};

/// A number that can receive SMS, in E.164 (`+819012345678`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

/// The longest number accepted as typed, separators included: E.164's 15 digits and a `+`
/// leave room for eight spaces, hyphens or brackets (`+1 (415) 555-0100` is 17). The form field's
/// `maxlength` is this, so what a person can type is what the parser takes.
pub const MAX_INPUT_CHARS: usize = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPhone {
    #[error("enter a phone number, such as 090-1234-5678 or +81 90 1234 5678")]
    Malformed,
    /// A Japanese number that is not a mobile one (070/080/090/020) cannot receive SMS.
    #[error("this Japanese number is not a mobile number, which SMS needs")]
    NotMobile,
}

impl PhoneNumber {
    /// Accepts domestic Japanese (`090-1234-5678`, `09012345678`) and international
    /// (`+81 90 1234 5678`, `+1 (415) 555-0100`) forms, with spaces, hyphens, dots, brackets and
    /// full-width digits, as copied from a phone or a business card.
    pub fn parse(input: &str) -> Result<Self, InvalidPhone> {
        let input = input.trim();
        if input.chars().count() > MAX_INPUT_CHARS {
            return Err(InvalidPhone::Malformed);
        }
        let mut plus = false;
        let mut digits = String::new();
        for (i, c) in input.trim().chars().enumerate() {
            match c {
                '+' | '＋' if i == 0 => plus = true,
                '0'..='9' => digits.push(c),
                '０'..='９' => {
                    digits.push(char::from(b'0' + (c as u32 - '０' as u32) as u8));
                }
                ' ' | '　' | '-' | '‐' | '−' | 'ー' | '－' | '.' | '(' | ')' | '（' | '）' =>
                    {}
                _ => return Err(InvalidPhone::Malformed),
            }
        }
        let national = if plus {
            if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
                return Err(InvalidPhone::Malformed);
            }
            match digits.strip_prefix("81") {
                Some(rest) => rest.to_owned(),
                None => return Ok(Self(format!("+{digits}"))),
            }
        } else {
            match digits.strip_prefix('0') {
                Some(rest) if digits.len() == 11 || digits.len() == 10 => rest.to_owned(),
                _ => return Err(InvalidPhone::Malformed),
            }
        };
        // Japanese mobile numbers: 070, 080, 090 (and 020 for data SIMs), 11 digits domestic.
        let mobile_prefix =
            national.len() >= 2 && ["70", "80", "90", "20"].contains(&&national[..2]);
        match (mobile_prefix, national.len()) {
            (true, 10) => {}
            (false, 9 | 10) => return Err(InvalidPhone::NotMobile),
            _ => return Err(InvalidPhone::Malformed),
        }
        Ok(Self(format!("+81{national}")))
    }

    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// For pages and logs: only the last four digits (`********5678`).
    pub fn masked(&self) -> String {
        let n = self.0.len();
        format!(
            "{}{}",
            "*".repeat(n.saturating_sub(4)),
            &self.0[n.saturating_sub(4)..]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // REQ-2FA-3: Japanese domestic and E.164 forms are accepted and normalised.
    #[test]
    fn accepted_forms() {
        for (input, want) in [
            ("090-1234-5678", "+819012345678"),
            ("09012345678", "+819012345678"),
            ("０９０－１２３４－５６７８", "+819012345678"),
            ("080 1234 5678", "+818012345678"),
            ("+81 90-1234-5678", "+819012345678"),
            ("+819012345678", "+819012345678"),
            ("070.1234.5678", "+817012345678"),
            ("+1 (415) 555-0100", "+14155550100"),
            ("+44 7700 900123", "+447700900123"),
        ] {
            assert_eq!(
                PhoneNumber::parse(input).map(|p| p.as_e164().to_owned()),
                Ok(want.to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn refused_forms() {
        for (input, want) in [
            ("", InvalidPhone::Malformed),
            ("abc", InvalidPhone::Malformed),
            ("090-1234-567", InvalidPhone::Malformed),
            ("0901234567890", InvalidPhone::Malformed),
            ("+0 90 1234 5678", InvalidPhone::Malformed),
            ("03-1234-5678", InvalidPhone::NotMobile),
            ("+81 3 1234 5678", InvalidPhone::NotMobile),
            ("090+1234", InvalidPhone::Malformed),
            // Longer than the field allows, although its digits would make a number.
            ("0 9 0 - 1 2 3 4 - 5 6 7 8", InvalidPhone::Malformed),
        ] {
            assert_eq!(PhoneNumber::parse(input), Err(want), "{input}");
        }
    }

    #[test]
    fn masked_keeps_last_four() {
        let p = PhoneNumber::parse("090-1234-5678").unwrap();
        assert_eq!(p.masked(), "*********5678");
    }
}
