//! Settings from the environment, each with a default that matches `sekisho serve --demo`,
//! so `cargo run -p storage-rp` works against a local demo OP with no setup at all.

use anyhow::{bail, Context};
use openidconnect::ClientSecret;
use std::net::SocketAddr;
use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    /// The OP's issuer identifier, exactly as it appears in `iss` (no trailing slash added:
    /// discovery compares it byte for byte).
    pub issuer: String,
    pub client_id: String,
    /// openidconnect's wrapper: its `Debug` masks the value, so printing the settings is safe.
    pub client_secret: ClientSecret,
    pub listen: SocketAddr,
    /// Where browsers reach this RP; the redirect URIs are built from it.
    pub base_url: Url,
    /// `{base_url}/callback`, registered at the OP.
    pub redirect_uri: String,
    /// `{base_url}/`, registered at the OP as the post-logout redirect URI.
    pub post_logout_redirect_uri: String,
}

fn env_or(name: &str, default: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().to_string(),
        _ => default.to_string(),
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let issuer = env_or("SEKISHO_ISSUER", "http://127.0.0.1:8080/VX5");
        Url::parse(&issuer).with_context(|| format!("SEKISHO_ISSUER is not a URL: {issuer}"))?;

        let listen_raw = env_or("RP_LISTEN", "127.0.0.1:8081");
        let listen: SocketAddr = listen_raw
            .parse()
            .with_context(|| format!("RP_LISTEN is not host:port: {listen_raw}"))?;

        // The base URL is joined by hand rather than with `Url::join`, so that a base with a
        // path prefix (`https://example.com/storage`) keeps it.
        let base_raw = env_or("RP_BASE_URL", "http://127.0.0.1:8081");
        let base_trimmed = base_raw.trim_end_matches('/');
        let base_url = Url::parse(base_trimmed)
            .with_context(|| format!("RP_BASE_URL is not a URL: {base_raw}"))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            bail!("RP_BASE_URL must be http or https: {base_raw}");
        }

        Ok(Config {
            issuer,
            client_id: env_or("RP_CLIENT_ID", "storage-rp"),
            client_secret: ClientSecret::new(env_or("RP_CLIENT_SECRET", "storage-rp-dev-secret")),
            listen,
            redirect_uri: format!("{base_trimmed}/callback"),
            post_logout_redirect_uri: format!("{base_trimmed}/"),
            base_url,
        })
    }

    /// Cookies get `Secure` only when browsers reach us over TLS; on plain-http localhost a
    /// `Secure` cookie would simply never come back.
    pub fn cookie_secure(&self) -> bool {
        self.base_url.scheme() == "https"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // REQ-OP-7 (issue 12): the RP's settings can be printed without its client secret.
    #[test]
    fn debug_hides_the_client_secret() {
        let config = Config {
            issuer: "http://127.0.0.1:8080/VX5".into(),
            client_id: "storage-rp".into(),
            client_secret: ClientSecret::new("rp-s3cret".into()),
            listen: "127.0.0.1:8081".parse().unwrap(),
            base_url: Url::parse("http://127.0.0.1:8081").unwrap(),
            redirect_uri: "http://127.0.0.1:8081/callback".into(),
            post_logout_redirect_uri: "http://127.0.0.1:8081/".into(),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("rp-s3cret"), "{shown}");
        assert_eq!(config.client_secret.secret(), "rp-s3cret");
    }
}
