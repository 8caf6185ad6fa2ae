//! Property tests of the parsers that take what people and gateways type (issue 15: "a fuzzing
//! harness covers … phone numbers and line numbers"), run with every `cargo test`; the
//! open-ended fuzzing of the same parsers is `fuzz/` (cargo fuzz, nightly).
//!
//! Any input: no panic, and whatever is accepted is in the one stored form, which parses again
//! to itself. Inputs built the way people write real numbers are accepted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use proptest::prelude::*;
use sekisho_core::line::LineNumber;
use sekisho_core::phone::PhoneNumber;

/// Characters people put in phone numbers, and some they should not.
fn phone_like() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "0", "1", "5", "7", "8", "9", "０", "９", "+", "＋", "-", "－", "ー", " ", "　", "(", "）",
        ".", "81", "090", "x", "é", "\u{0}", "٣", "𝟗",
    ]);
    prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
}

fn e164_ok(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    // REQ-2FA-3: arbitrary text never panics; an accepted number is E.164, stable when parsed
    // again, and its masked form shows only the last four digits.
    #[test]
    fn phone_parse_is_total_and_canonical(input in prop_oneof![any::<String>(), phone_like()]) {
        if let Ok(phone) = PhoneNumber::parse(&input) {
            let e164 = phone.as_e164();
            prop_assert!(e164_ok(e164), "{input:?} → {e164}");
            let again = PhoneNumber::parse(e164).unwrap();
            prop_assert_eq!(again.as_e164(), e164);
            let masked = phone.masked();
            prop_assert_eq!(masked.chars().count(), e164.chars().count());
            prop_assert!(masked.ends_with(&e164[e164.len() - 4..]));
            prop_assert!(!masked[..masked.len() - 4].bytes().any(|b| b.is_ascii_digit()));
        }
    }

    // REQ-2FA-3: every Japanese mobile number, however it is spaced or written (full width),
    // is accepted as the same E.164 number.
    #[test]
    fn japanese_mobiles_in_any_layout(
        prefix in prop::sample::select(vec!["070", "080", "090", "020"]),
        rest in "[0-9]{8}",
        sep in prop::sample::select(vec!["", "-", " ", "－", "　"]),
        wide in any::<bool>(),
    ) {
        let typed = format!("{prefix}{sep}{}{sep}{}", &rest[..4], &rest[4..]);
        let typed = if wide {
            typed.chars().map(|c| match c {
                '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap(),
                c => c,
            }).collect()
        } else {
            typed
        };
        let want = format!("+81{}{rest}", &prefix[1..]);
        let parsed = PhoneNumber::parse(&typed).unwrap();
        prop_assert_eq!(parsed.as_e164(), want.as_str());
    }

    // REQ-LINE-2: arbitrary text never panics; an accepted line number is CAF + 10 or COP + 8
    // upper-case letters or digits, exactly as given.
    #[test]
    fn line_number_parse_is_total_and_exact(input in prop_oneof![
        any::<String>(),
        "(CAF|COP|caf|Cop|CA)[A-Za-z0-9 ー０]{0,12}",
    ]) {
        if let Ok(line) = LineNumber::parse(&input) {
            let s = line.as_str();
            prop_assert_eq!(s, input.as_str());
            let tail = if let Some(t) = s.strip_prefix("CAF") {
                prop_assert_eq!(t.len(), 10);
                t
            } else {
                let t = s.strip_prefix("COP").unwrap();
                prop_assert_eq!(t.len(), 8);
                t
            };
            prop_assert!(tail.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        }
    }

    // REQ-LINE-2: every well-formed number is accepted; lower case or padding is another
    // number, refused rather than normalised.
    #[test]
    fn line_numbers_well_formed(caf in "CAF[A-Z0-9]{10}", cop in "COP[A-Z0-9]{8}") {
        prop_assert!(LineNumber::parse(&caf).is_ok());
        prop_assert!(LineNumber::parse(&cop).is_ok());
        prop_assert!(LineNumber::parse(&caf.to_lowercase()).is_err());
        let padded = format!(" {cop}");
        prop_assert!(LineNumber::parse(&padded).is_err());
    }
}
