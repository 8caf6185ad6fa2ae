//! The use cases without a socket: a real `App` on SQLite (see `support`), each test naming the
//! requirement it proves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

mod directory;
mod federation;
mod line;
mod pipeline;
mod second_step;
mod signin;
mod support;
mod tickets;
