//! Line authentication (回線認証, REQ-LINE-1 … REQ-LINE-6): the NTT FLET'S line numbers a contract
//! registers, and what the carrier gateway asserts about a request that came over one.

use crate::model::text_enum;

/// A registered line number (REQ-LINE-2): `CAF` and 10 letters or digits (13 in all), or `COP`
/// and 8 (11 in all). Upper case only, no spaces: the gateway asserts exactly this form, so a
/// lower-case or padded number is another number, refused rather than normalised.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct LineNumber(String);

/// Why a line number was refused; the message is shown as is (the web crate translates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a line number is CAF and 10 upper-case letters or digits (13 characters), or COP and 8 (11 characters)")]
pub struct InvalidLineNumber;

impl LineNumber {
    pub fn parse(s: &str) -> Result<Self, InvalidLineNumber> {
        let tail_len = match s.get(..3) {
            Some("CAF") => 10,
            Some("COP") => 8,
            _ => return Err(InvalidLineNumber),
        };
        let tail = &s[3..];
        let ok = tail.len() == tail_len
            && tail
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidLineNumber)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LineNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

text_enum!(
    /// NTT East or NTT West: the first line login from West Japan asks a consent (REQ-LINE-5).
    LineArea { East = "east", West = "west" }
);

/// What the authenticated carrier gateway asserted about a request: the line it came over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAssertion {
    pub number: LineNumber,
    pub area: LineArea,
}

#[cfg(test)]
mod tests {
    use super::*;

    // REQ-LINE-2: the two forms are accepted; everything else is refused.
    #[test]
    fn line_numbers_are_caf_plus_10_or_cop_plus_8() {
        for good in [
            "CAF0123456789",
            "CAFABCDEFGHIJ",
            "COP01234567",
            "COPA1B2C3D4",
        ] {
            assert_eq!(LineNumber::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "CAF",
            "CAF012345678",            // 9
            "CAF01234567890",          // 11
            "COP0123456",              // 7
            "COP012345678",            // 9
            "caf0123456789",           // lower-case prefix
            "CAF012345678a",           // lower-case tail
            " CAF0123456789",          // padded
            "CAF0123456789 ",          // padded
            "CAF01234-6789",           // not alphanumeric
            "CAF０１２３４５６７８９", // full-width digits
            "ABC0123456789",
            "COP0123456789", // COP with 10
        ] {
            assert_eq!(LineNumber::parse(bad), Err(InvalidLineNumber), "{bad:?}");
        }
    }
}

/// Which entry a request came in by. Only the line entry's listener (mutual TLS with the carrier
/// gateway) ever makes `Line`; everything else is `Internet`, whatever headers it carried.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Entry {
    #[default]
    Internet,
    /// The line entry, with what the authenticated gateway asserted (`None`: no valid line).
    Line(Option<LineAssertion>),
}
