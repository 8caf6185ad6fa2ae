//! `LineNumber::parse` on arbitrary text. A crash is a panic, or an accepted number other than
//! CAF + 10 / COP + 8 upper-case letters or digits, or one changed from its input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sekisho_core::line::LineNumber;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(line) = LineNumber::parse(&text) {
        let s = line.as_str();
        assert_eq!(s, text.as_ref());
        let ok = match (s.strip_prefix("CAF"), s.strip_prefix("COP")) {
            (Some(t), _) => t.len() == 10,
            (_, Some(t)) => t.len() == 8,
            _ => false,
        };
        assert!(ok, "{s}");
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    }
});
