//! `parse_idp_metadata` on arbitrary input, seeded with real metadata of the test IdP. A crash
//! is a panic, or accepted metadata that names no entity, no SSO URL or no certificate.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sekisho_core::TEST_EPOCH;
use sekisho_saml::parse_idp_metadata;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for allow_http in [false, true] {
        if let Ok(metadata) = parse_idp_metadata(&text, TEST_EPOCH, allow_http) {
            assert!(!metadata.entity_id.trim().is_empty());
            assert!(!metadata.signing_certs.is_empty());
            let scheme = metadata.sso_url.scheme();
            assert!(scheme == "https" || (allow_http && scheme == "http"));
        }
    }
});
