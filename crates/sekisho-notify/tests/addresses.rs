//! One address rule for the whole service (issue 15, bad input): every address
//! `sekisho_core::email::Email` accepts, the mailer (lettre) accepts too, so nothing is stored that
//! mail cannot be sent to; the addresses that once caused a 500 are refused by both.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use lettre::Address;
use proptest::prelude::*;
use sekisho_core::email::Email;
use std::str::FromStr;

// REQ-USER-1 (invitations are mailed): the addresses are refused at the edge, as the
// mailer refuses them.
#[test]
fn the_addresses_that_broke_invitations_are_refused_by_both() {
    for bad in ["<script>@example.com", "a,b@example.jp", "a:b@example.jp"] {
        assert!(Email::parse(bad).is_err(), "{bad}");
        assert!(Address::from_str(bad).is_err(), "lettre refuses {bad}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    // REQ-USER-1: whatever the edge accepts, the mailer accepts.
    #[test]
    fn what_the_edge_accepts_the_mailer_accepts(
        local in "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.,:;<>\"() \\\\@\\[\\]-]{1,20}",
        domain in "[a-zA-Z0-9.\\-_]{1,20}",
    ) {
        let raw = format!("{local}@{domain}");
        if let Ok(email) = Email::parse(&raw) {
            prop_assert!(
                Address::from_str(email.as_str()).is_ok(),
                "accepted {raw:?} but lettre refuses it"
            );
        }
    }
}
