//! `Secret<T>` lives in `sekisho-core` (store records hold secrets too); re-exported here, where
//! the secrets are made.
pub use sekisho_core::secret::Secret;
