//! The Sekisho binary's library half: configuration, wiring, and the admin operations the CLI
//! (and the tests) call.

pub mod admin;
pub mod config;
pub mod demo;
pub mod kek;
pub mod line_entry;
pub mod logging;
pub mod server;
pub mod serving;
