//! Sekisho's domain and policy. Pure: no I/O, no async; time comes in through [`clock::Clock`].
//!
//! Everything a contract or a client decides is data here, and the decisions that read it
//! (which login step comes next, what a token may say) are plain functions, tested in tables.

pub mod clock;
pub mod email;
pub mod line;
pub mod login;
pub mod menu;
pub mod model;
pub mod name;
pub mod net;
pub mod oauth;
pub mod paging;
pub mod password;
pub mod phone;
pub mod sealing;
pub mod secret;
pub mod service_url;
pub mod tickets;
pub mod two_factor;

pub use clock::{Clock, FakeClock, SystemClock, Timestamp, TEST_EPOCH};
pub use secret::Secret;
