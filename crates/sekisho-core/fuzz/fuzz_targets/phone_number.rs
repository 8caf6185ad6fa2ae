//! `PhoneNumber::parse` on arbitrary text. A crash is a panic, or an accepted number that is not
//! E.164 or does not parse again to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sekisho_core::phone::PhoneNumber;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(phone) = PhoneNumber::parse(&text) {
        let e164 = phone.as_e164();
        let digits = e164.strip_prefix('+').expect("E.164 starts with +");
        assert!((8..=15).contains(&digits.len()), "{e164}");
        assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{e164}");
        assert_eq!(PhoneNumber::parse(e164).expect("stable").as_e164(), e164);
        assert!(phone.masked().ends_with(&e164[e164.len() - 4..]));
    }
});
