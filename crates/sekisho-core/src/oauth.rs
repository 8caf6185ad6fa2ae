//! The OAuth 2.0 / OpenID Connect vocabulary, typed at the edge so the inside never sees strings.

use crate::model::text_enum;
use serde::{Deserialize, Serialize};

text_enum!(
    /// JWS algorithms Sekisho signs with. ES256 is the default everywhere.
    SigningAlg { Es256 = "ES256", Rs256 = "RS256", EdDsa = "EdDSA" }
);
text_enum!(
    GrantType {
        AuthorizationCode = "authorization_code",
        RefreshToken = "refresh_token",
        // RFC 8628 (issue 18): the desktop and command-line clients.
        DeviceCode = "urn:ietf:params:oauth:grant-type:device_code",
        ClientCredentials = "client_credentials",
    }
);
text_enum!(
    TokenEndpointAuthMethod {
        ClientSecretBasic = "client_secret_basic",
        ClientSecretPost = "client_secret_post",
        PrivateKeyJwt = "private_key_jwt",
        None = "none",
    }
);
text_enum!(
    /// `prompt` values Sekisho acts on. (`select_account` behaves as `login` until accounts can be switched.)
    Prompt { None = "none", Login = "login", SelectAccount = "select_account", Consent = "consent" }
);
text_enum!(
    /// Authentication methods (RFC 8176 names where one exists).
    Amr { Pwd = "pwd", Otp = "otp", Sms = "sms", Fed = "fed", Saml = "saml", Line = "line" }
);

impl Amr {
    /// The stored form of a list: space-separated, in order of proof.
    pub fn join(list: &[Amr]) -> String {
        list.iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
    /// Reads [`Amr::join`]'s form back; an unknown name (never written by this code) is dropped
    /// rather than trusted.
    pub fn split(stored: &str) -> Vec<Amr> {
        stored.split(' ').filter_map(Amr::parse).collect()
    }
}

/// Scopes this OP understands. Unknown scopes in a request are ignored, as OpenID Connect Core §3.1.2.1 allows.
pub const SUPPORTED_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Manages the users of one contract through the admin API (issue 6 item 6). Only clients whose
/// registered `scope` lists it may obtain it, with `client_credentials` (bound to a contract) or in
/// an admin's code flow; it is not advertised in discovery.
pub const ADMIN_SCOPE: &str = "sekisho:admin";
/// Manages brands and clients deployment-wide through the admin API (`client_credentials` only).
pub const OPERATOR_SCOPE: &str = "sekisho:operator";

/// Whether `scope` is one of the space-separated `registered` scopes (a client's `scope` metadata).
pub fn scope_listed(registered: Option<&str>, scope: &str) -> bool {
    registered.is_some_and(|r| r.split(' ').any(|s| s == scope))
}

/// Authentication context classes: one factor, and two or more.
pub const ACR_SINGLE_FACTOR: &str = "urn:sekisho:acr:1fa";
pub const ACR_MULTI_FACTOR: &str = "urn:sekisho:acr:2fa";

/// Space-separated scope string → the known scopes, in a stable order, without duplicates.
pub fn known_scopes(requested: &str) -> Vec<&'static str> {
    SUPPORTED_SCOPES
        .iter()
        .copied()
        .filter(|s| requested.split(' ').any(|r| r == *s))
        .collect()
}

/// The UI languages every page exists in; Japanese first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Lang {
    #[default]
    #[serde(rename = "ja")]
    Ja,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }
    /// The first supported tag of a space-separated `ui_locales` (or comma-separated Accept-Language) list.
    pub fn pick(list: &str) -> Option<Lang> {
        list.split([' ', ','])
            .map(|t| {
                t.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .find_map(|t| match t.split('-').next() {
                Some("ja") => Some(Lang::Ja),
                Some("en") => Some(Lang::En),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_filtered_and_ordered() {
        assert_eq!(
            known_scopes("email openid foo openid"),
            vec!["openid", "email"]
        );
    }

    // Issue 6 item 6: a registered scope is matched whole, never as a prefix.
    #[test]
    fn registered_scopes() {
        assert!(scope_listed(Some("openid sekisho:admin"), ADMIN_SCOPE));
        assert!(!scope_listed(Some("sekisho:administrator"), ADMIN_SCOPE));
        assert!(!scope_listed(None, ADMIN_SCOPE));
    }

    #[test]
    fn languages() {
        assert_eq!(Lang::pick("fr en-US ja"), Some(Lang::En));
        assert_eq!(Lang::pick("ja-JP,en;q=0.8"), Some(Lang::Ja));
        assert_eq!(Lang::pick("fr"), None);
    }
}
