//! Where a brand's service lives (the storage frontend's URL): the pages that end a flow without
//! a relying party to return to (a direct login, a logout, an error) lead there (ISSUE-16).
//!
//! Parsed once where the operator gives it (the CLI, `serve --demo`); everything after holds a
//! [`ServiceUrl`], so the pages print it without checking it again.

use serde::{Deserialize, Serialize};

/// The longest service URL accepted, in bytes: a storefront's address, not a data carrier.
pub const MAX_LEN: usize = 512;

/// An absolute `https` URL (or `http` on loopback, for development), without credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceUrl(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidServiceUrl {
    #[error("a service URL is at most {MAX_LEN} bytes")]
    TooLong,
    #[error("a service URL must be an absolute URL such as https://storage.example/")]
    NotAUrl,
    #[error("a service URL must use https (http only on loopback: 127.0.0.1, [::1], localhost)")]
    NotHttps,
    #[error("a service URL must not carry a user name or password")]
    Credentials,
}

impl ServiceUrl {
    pub fn parse(s: &str) -> Result<Self, InvalidServiceUrl> {
        let s = s.trim();
        if s.len() > MAX_LEN {
            return Err(InvalidServiceUrl::TooLong);
        }
        let url = url::Url::parse(s).map_err(|_| InvalidServiceUrl::NotAUrl)?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        let https = url.scheme() == "https";
        if !(https || url.scheme() == "http" && loopback) {
            return Err(InvalidServiceUrl::NotHttps);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidServiceUrl::Credentials);
        }
        // The normalised form (`https://a.example` becomes `https://a.example/`), which the
        // pages print as is.
        Ok(Self(url.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ServiceUrl {
    type Error = InvalidServiceUrl;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ServiceUrl> for String {
    fn from(u: ServiceUrl) -> String {
        u.0
    }
}

impl std::fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ISSUE-16: a brand's service URL is https (http only on loopback), absolute, without
    // credentials, and bounded; anything else is refused where the operator gives it.
    #[test]
    fn only_https_or_loopback_urls_are_service_urls() {
        for good in [
            "https://storage.example/",
            "https://storage.example/app?x=1#top",
            "http://127.0.0.1:8081/",
            "http://localhost:3000/home",
            "http://[::1]/",
        ] {
            assert!(ServiceUrl::parse(good).is_ok(), "{good}");
        }
        assert_eq!(
            ServiceUrl::parse("https://storage.example")
                .unwrap()
                .as_str(),
            "https://storage.example/"
        );
        for (bad, why) in [
            ("http://storage.example/", InvalidServiceUrl::NotHttps),
            (
                "http://127.0.0.1.evil.example/",
                InvalidServiceUrl::NotHttps,
            ),
            ("javascript:alert(1)", InvalidServiceUrl::NotHttps),
            ("ftp://storage.example/", InvalidServiceUrl::NotHttps),
            ("/relative", InvalidServiceUrl::NotAUrl),
            ("", InvalidServiceUrl::NotAUrl),
            (
                "https://u:p@storage.example/",
                InvalidServiceUrl::Credentials,
            ),
        ] {
            assert_eq!(ServiceUrl::parse(bad), Err(why), "{bad}");
        }
        let long = format!("https://storage.example/{}", "a".repeat(MAX_LEN));
        assert_eq!(ServiceUrl::parse(&long), Err(InvalidServiceUrl::TooLong));
        // Deserializing checks too: a stored or configured value is never taken unchecked.
        assert!(serde_json::from_str::<ServiceUrl>("\"http://evil.example/\"").is_err());
    }
}
