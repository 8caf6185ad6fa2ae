//! `Email::parse` on arbitrary text. A crash is a panic, or an accepted address that is not
//! lower-case ASCII of at most 254 characters with one `@`, or that parses again to another.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sekisho_core::email::{Email, MAX_EMAIL_LEN};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(email) = Email::parse(&text) {
        let s = email.as_str();
        assert!(s.len() <= MAX_EMAIL_LEN, "{s}");
        assert!(
            s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()),
            "{s}"
        );
        assert_eq!(s.matches('@').count(), 1, "{s}");
        assert!(
            !s.contains(['<', '>', ',', ':', ';', ' ', '"', '\\']),
            "{s}"
        );
        assert_eq!(Email::parse(s).expect("stable").as_str(), s);
    }
});
