//! [`Secret`]: a value kept in memory that must never reach a log, an error string or `Debug`
//! output (client secrets before hashing, tokens, the SMS gateway's Authorization value, the
//! PKCE verifier, passwords inside URLs).
//!
//! Every read goes through [`Secret::expose`] or [`Secret::into_exposed`], so `grep expose`
//! lists each place a secret leaves its wrapper. There is deliberately no `Deref` (it would make
//! reads invisible) and no `Display`.
//!
//! Serde: `Deserialize` is implemented (a secret read from the configuration stays wrapped;
//! reading cannot leak it). `Serialize` is not: a response that must carry the value (a client
//! secret shown once) opts in per field with [`serialize_exposed`] or
//! [`serialize_exposed_option`], and a configuration struct skips the field when it serializes.
//!
//! It lives in the core (not in `sekisho-crypto`) so that every crate can hold secrets, including
//! `sekisho-upstream`, which depends on nothing that reaches the database.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that must never reach a log: `Debug` prints `Secret(<redacted>)`, whatever the value.
///
/// `PartialEq` is an ordinary comparison, for tests and configuration; a credential a caller
/// presents is checked against its stored hash with `sekisho_crypto::tokens::verify_token`
/// (constant time).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// Reads the value. Greppable on purpose: each call is a place the secret is used.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Takes the value out, for the one place that hands it on (a response, an HTTP header).
    pub fn into_exposed(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self)
    }
}

/// `#[serde(serialize_with = "sekisho_core::secret::serialize_exposed")]`: writes the value
/// itself, for a field whose whole point is to hand the secret over (shown once, to its owner).
pub fn serialize_exposed<T: Serialize, S: Serializer>(
    secret: &Secret<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    secret.expose().serialize(serializer)
}

/// [`serialize_exposed`] for an optional secret (`None` as the format writes `None`; combine
/// with `skip_serializing_if = "Option::is_none"` to leave the member out).
pub fn serialize_exposed_option<T: Serialize, S: Serializer>(
    secret: &Option<Secret<T>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    secret.as_ref().map(Secret::expose).serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(!format!("{:?}", Some(s.clone())).contains("hunter2"));
        assert!(!format!("{s:#?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn deserializes_transparently_and_serializes_only_when_asked() {
        #[derive(Deserialize, Serialize)]
        struct Shown {
            #[serde(serialize_with = "serialize_exposed")]
            secret: Secret<String>,
            #[serde(
                serialize_with = "serialize_exposed_option",
                skip_serializing_if = "Option::is_none"
            )]
            maybe: Option<Secret<String>>,
        }
        let read: Shown =
            serde_json::from_value(serde_json::json!({ "secret": "s1", "maybe": "s2" })).unwrap();
        assert_eq!(read.secret.expose(), "s1");
        assert_eq!(read.maybe.as_ref().map(Secret::expose).unwrap(), "s2");
        assert_eq!(
            serde_json::to_value(&read).unwrap(),
            serde_json::json!({ "secret": "s1", "maybe": "s2" })
        );
        let none = Shown {
            secret: "s1".into(),
            maybe: None,
        };
        assert_eq!(
            serde_json::to_value(&none).unwrap(),
            serde_json::json!({ "secret": "s1" })
        );
    }
}
