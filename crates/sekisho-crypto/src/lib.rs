//! Sekisho's cryptography: the signing key ring (josekit), argon2id password hashing on a bounded
//! pool, and opaque random tokens that are stored only as hashes.

pub mod kek;
pub mod keyring;
pub mod password;
pub mod proof;
pub mod second_factor;
pub mod tokens;

pub use keyring::{KeyRing, KeyRingError, KeyStage, Rotation, PUBLISH_LEAD};
pub use password::PasswordHasher;
