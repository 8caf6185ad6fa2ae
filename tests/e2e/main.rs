//! End-to-end tests through Sekisho's HTTP server. One binary; each module is one concern.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

mod abuse;
mod account_items;
mod account_lock;
mod account_menu;
mod active_directory;
mod admin_api;
mod admin_console;
mod api_schema;
mod backchannel_logout;
mod bad_input;
mod browser;
mod browser_ad;
mod browser_line;
mod browser_registration;
mod browser_two_factor;
mod browser_upstream;
mod claims_parameter;
mod client_auth;
mod client_keys_by_url;
mod contract_state;
mod cors;
mod device_grant;
mod discovery;
mod dpop;
mod dynamic_registration;
mod faults;
mod forms_help;
mod fuzz_http;
mod keys;
mod line_auth;
mod line_settings;
mod multi_node;
mod navigation;
mod negative;
mod node_driver;
mod observability;
mod pages_a11y;
mod pairwise;
mod password_reset;
mod pending_changes;
mod performance_design;
mod pushed_requests;
mod refusals;
mod rp_node;
mod rp_openidconnect;
mod safe_gets;
mod serving;
mod stored_state;
mod support;
mod theming;
mod ticket_scope;
mod token_scope;
mod two_factor;
mod upstream;
mod upstream_rogue;
mod user_lifecycle;
