//! The configuration of one upstream and its checks.

use sekisho_core::Secret;
use url::{Host, Url};

use crate::{Kind, UpstreamError};

pub(crate) const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";
const GOOGLE_DISCOVERY: &str = "https://accounts.google.com/.well-known/openid-configuration";
const MICROSOFT_DISCOVERY: &str =
    "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration";
const FACEBOOK_AUTHORIZATION: &str = "https://www.facebook.com/v19.0/dialog/oauth";
const FACEBOOK_TOKEN: &str = "https://graph.facebook.com/v19.0/oauth/access_token";
const FACEBOOK_GRAPH: &str = "https://graph.facebook.com/v19.0";
const FACEBOOK_ISSUER: &str = "https://www.facebook.com";
const OPENID_SCOPES: [&str; 3] = ["openid", "email", "profile"];
const FACEBOOK_SCOPES: [&str; 2] = ["email", "public_profile"];

/// One `[[upstreams]]` table of the configuration. Empty strings and an empty scope list mean
/// "the kind's default".
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct ConnectorSettings {
    /// Path segment and button id: "google", "microsoft", "daccount", "facebook".
    pub name: String,
    /// "google" | "microsoft" | "daccount" | "facebook".
    pub kind: String,
    pub client_id: String,
    /// A secret: never logged (`Debug` masks it) and never serialized (the configuration is
    /// serialized only as figment's defaults, which have no upstreams).
    #[serde(skip_serializing)]
    pub client_secret: Secret<String>,
    /// OpenID kinds: the discovery URL. Defaults: Google
    /// `https://accounts.google.com/.well-known/openid-configuration`; Microsoft
    /// `https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration`;
    /// d アカウント: required.
    pub discovery_url: String,
    /// Facebook: the authorization endpoint (default `https://www.facebook.com/v19.0/dialog/oauth`).
    pub authorization_url: String,
    /// Facebook: the token endpoint (default `https://graph.facebook.com/v19.0/oauth/access_token`).
    pub token_url: String,
    /// Facebook: the Graph API base (default `https://graph.facebook.com/v19.0`).
    pub graph_url: String,
    /// Facebook: the issuer string recorded for bindings (default `https://www.facebook.com`).
    pub issuer: String,
    /// Empty = the kind's defaults: OpenID `openid email profile`; Facebook `email public_profile`.
    pub scopes: Vec<String>,
}

/// Settings that passed the checks, with the defaults filled in and the URLs parsed.
pub(crate) struct Valid {
    pub kind: Kind,
    pub settings: ConnectorSettings,
    /// OpenID kinds: the discovery URL; Facebook: unused.
    pub discovery: Option<Url>,
}

impl ConnectorSettings {
    pub(crate) fn validate(mut self) -> Result<Valid, UpstreamError> {
        let label = if self.name.is_empty() {
            "upstream".to_owned()
        } else {
            format!("upstream {:?}", self.name)
        };
        let bad = |what: String| UpstreamError::Config(format!("{label}: {what}"));
        let kind = Kind::parse(&self.kind).ok_or_else(|| {
            bad(format!(
                "kind {:?} is not one of google, microsoft, daccount, facebook",
                self.kind
            ))
        })?;
        if self.name.is_empty()
            || self.name.len() > 64
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad(
                "name must be 1 to 64 characters of A-Z a-z 0-9 - _ (it is a URL path segment)"
                    .into(),
            ));
        }
        if self.client_id.is_empty() {
            return Err(bad("client_id is empty".into()));
        }
        if self.client_secret.expose().is_empty() {
            return Err(bad("client_secret is empty".into()));
        }
        for scope in &self.scopes {
            if scope.is_empty() || scope.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(bad(format!(
                    "scope {scope:?} must be one non-empty word (list each scope separately)"
                )));
            }
        }
        if self.scopes.is_empty() {
            let defaults: &[&str] = if kind.is_openid() {
                &OPENID_SCOPES
            } else {
                &FACEBOOK_SCOPES
            };
            self.scopes = defaults.iter().map(|s| (*s).to_owned()).collect();
        }

        let mut discovery = None;
        if kind.is_openid() {
            for (field, value) in [
                ("authorization_url", &self.authorization_url),
                ("token_url", &self.token_url),
                ("graph_url", &self.graph_url),
                ("issuer", &self.issuer),
            ] {
                if !value.is_empty() {
                    return Err(bad(format!(
                        "{field} is for facebook only; an OpenID provider's endpoints and issuer \
                         come from discovery_url"
                    )));
                }
            }
            if self.discovery_url.is_empty() {
                self.discovery_url = match kind {
                    Kind::Google => GOOGLE_DISCOVERY.to_owned(),
                    Kind::Microsoft => MICROSOFT_DISCOVERY.to_owned(),
                    _ => {
                        return Err(bad(format!(
                            "discovery_url is required for {kind} (…{DISCOVERY_SUFFIX})"
                        )))
                    }
                };
            }
            let url = check_url(&label, "discovery_url", &self.discovery_url)?;
            if !url.path().ends_with(DISCOVERY_SUFFIX) || url.query().is_some() {
                return Err(bad(format!(
                    "discovery_url must end with {DISCOVERY_SUFFIX}: {}",
                    self.discovery_url
                )));
            }
            discovery = Some(url);
        } else {
            if !self.discovery_url.is_empty() {
                return Err(bad(
                    "discovery_url is for the OpenID kinds; facebook takes authorization_url, \
                     token_url and graph_url"
                        .into(),
                ));
            }
            for (field, value, default) in [
                (
                    "authorization_url",
                    &mut self.authorization_url,
                    FACEBOOK_AUTHORIZATION,
                ),
                ("token_url", &mut self.token_url, FACEBOOK_TOKEN),
                ("graph_url", &mut self.graph_url, FACEBOOK_GRAPH),
            ] {
                if value.is_empty() {
                    *value = default.to_owned();
                }
                check_url(&label, field, value)?;
            }
            if self.issuer.is_empty() {
                self.issuer = FACEBOOK_ISSUER.to_owned();
            }
        }
        Ok(Valid {
            kind,
            settings: self,
            discovery,
        })
    }
}

/// An absolute `https` URL (plain `http` only on the loopback, for tests and development),
/// without credentials or fragment.
fn check_url(label: &str, field: &str, value: &str) -> Result<Url, UpstreamError> {
    let bad = |why: &str| UpstreamError::Config(format!("{label}: {field} {why}: {value}"));
    let url = Url::parse(value).map_err(|_| bad("is not an absolute URL"))?;
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("must be https (http only on 127.0.0.1 or localhost)")),
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must name a host and no credentials"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(kind: &str) -> ConnectorSettings {
        ConnectorSettings {
            name: kind.to_owned(),
            kind: kind.to_owned(),
            client_id: "id".into(),
            client_secret: "s3cret".into(),
            ..Default::default()
        }
    }

    fn config_error(s: ConnectorSettings) -> String {
        match s.validate() {
            Err(UpstreamError::Config(m)) => m,
            Err(e) => panic!("not a Config error: {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn defaults_per_kind() {
        let google = settings("google").validate().unwrap();
        assert_eq!(google.kind, Kind::Google);
        assert_eq!(google.settings.discovery_url, GOOGLE_DISCOVERY);
        assert_eq!(google.settings.scopes, ["openid", "email", "profile"]);
        let microsoft = settings("microsoft").validate().unwrap();
        assert_eq!(microsoft.settings.discovery_url, MICROSOFT_DISCOVERY);
        let facebook = settings("facebook").validate().unwrap();
        assert_eq!(facebook.settings.authorization_url, FACEBOOK_AUTHORIZATION);
        assert_eq!(facebook.settings.token_url, FACEBOOK_TOKEN);
        assert_eq!(facebook.settings.graph_url, FACEBOOK_GRAPH);
        assert_eq!(facebook.settings.issuer, FACEBOOK_ISSUER);
        assert_eq!(facebook.settings.scopes, ["email", "public_profile"]);
        assert!(facebook.discovery.is_none());
    }

    #[test]
    fn clear_errors() {
        assert!(config_error(settings("twitter")).contains("kind \"twitter\" is not one of"));
        assert!(config_error(settings("daccount")).contains("discovery_url is required"));
        let mut s = settings("google");
        s.discovery_url = "http://accounts.example/.well-known/openid-configuration".into();
        assert!(config_error(s).contains("must be https"));
        let mut s = settings("google");
        s.discovery_url = "https://accounts.example/".into();
        assert!(config_error(s).contains("must end with /.well-known/openid-configuration"));
        let mut s = settings("google");
        s.graph_url = "https://graph.example".into();
        assert!(config_error(s).contains("graph_url is for facebook only"));
        let mut s = settings("facebook");
        s.discovery_url = GOOGLE_DISCOVERY.into();
        assert!(config_error(s).contains("discovery_url is for the OpenID kinds"));
        let mut s = settings("google");
        s.name = "a/b".into();
        assert!(config_error(s).contains("path segment"));
        let mut s = settings("google");
        s.client_secret = Secret::default();
        assert!(config_error(s).contains("client_secret is empty"));
        let mut s = settings("google");
        s.scopes = vec!["openid email".into()];
        assert!(config_error(s).contains("one non-empty word"));
        // Loopback http is fine (tests, development).
        let mut s = settings("daccount");
        s.discovery_url = "http://127.0.0.1:8080/daccount/.well-known/openid-configuration".into();
        assert!(s.validate().is_ok());
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", settings("google"));
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn reads_a_config_table() {
        let s: ConnectorSettings = serde_json::from_value(serde_json::json!({
            "name": "google", "kind": "google", "client_id": "a", "client_secret": "b"
        }))
        .unwrap();
        assert_eq!(s.scopes, Vec::<String>::new());
        assert_eq!(s.discovery_url, "");
    }
}
