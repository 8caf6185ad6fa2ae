//! End-to-end tests through Sekisho's HTTP server. One binary; each module is one concern.

mod client_auth;
mod discovery;
mod keys;
mod negative;
mod rp_node;
mod rp_openidconnect;
mod support;
