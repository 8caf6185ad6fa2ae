//! Active Directory login through each contract's ADFS over SAML 2.0 (REQ-AD-1 … REQ-AD-5,
//! REQ-LOGIN-4). Sekisho is the SAML SP (`sekisho-saml` does the SAML); this module keeps the
//! connections, the SP key, the round trips and the replay record, and ends every AD login in
//! [`crate::pipeline::complete`].
//!
//! - [`connection`]: Active Directory設定 (create, change, remove, scheduled metadata refresh)
//!   and the REQ-AD-2 mail.
//! - [`sp_keys`]: the SP signing key, rotated like the OIDC keys.
//! - [`sso`]: SP-initiated login and binding: [`sso::start`] sends the browser to ADFS,
//!   [`sso::finish`] takes the posted response.
//!
//! Where the SP lives, per connection (all under the brand's issuer):
//! `/saml/{id}` (entity ID and SP metadata), `/saml/{id}/acs` (HTTP-POST binding),
//! `/ad/{id}` (the AD login URL of the REQ-AD-2 mail).

pub mod connection;
pub mod sp_keys;
pub mod sso;

use crate::App;
use sekisho_saml::SpEndpoints;

/// Deployment settings of AD login.
#[derive(Debug, Clone)]
pub struct AdSettings {
    /// Lets metadata URLs and SSO endpoints be plain http on a loopback address (tests and
    /// development). Off in production: the server fetches metadata URLs itself, and must not be
    /// made to read its own private services.
    pub allow_loopback: bool,
    /// How often metadata given by URL is read again, in seconds (ADFS publishes its next
    /// token-signing certificate days before it uses it).
    pub refresh_every: i64,
    /// The line entry's base URL (line authentication, `https://…/{brand}` is appended), for the
    /// line login URL of the REQ-AD-2 mail; `None` until the deployment has one.
    pub line_base_url: Option<String>,
}

impl Default for AdSettings {
    fn default() -> Self {
        Self {
            allow_loopback: false,
            refresh_every: 3600,
            line_base_url: None,
        }
    }
}

/// The SP endpoints of connection `id` in `brand`. The entity ID is always under the issuer; the
/// ACS is the line host's (`line_origin`, as the authenticated gateway presents it) for a round
/// trip begun over the line entry, so ADFS posts the response back over the line.
pub fn sp_endpoints(app: &App, brand: &str, id: &str, line_origin: Option<&str>) -> SpEndpoints {
    let base = format!("{}/saml/{id}", app.op.issuer(brand));
    let acs_url = match line_origin {
        Some(origin) => format!("{}/{brand}/saml/{id}/acs", origin.trim_end_matches('/')),
        None => format!("{base}/acs"),
    };
    SpEndpoints {
        acs_url,
        entity_id: base,
    }
}

/// The line entry's ACS of connection `id`, listed in the SP metadata when the deployment has a
/// line host ([`AdSettings::line_base_url`]).
pub fn line_acs_url(app: &App, brand: &str, id: &str) -> Option<String> {
    app.ad
        .line_base_url
        .as_deref()
        .map(|base| format!("{}/{brand}/saml/{id}/acs", base.trim_end_matches('/')))
}

/// The AD login URL of connection `id` (REQ-AD-2, REQ-AD-5).
pub fn login_url(app: &App, brand: &str, id: &str) -> String {
    format!("{}/ad/{id}", app.op.issuer(brand))
}

/// Whether `s` has the shape of a connection ID: `adfs-` and 16 ASCII letters or digits.
pub fn is_connection_id(s: &str) -> bool {
    s.strip_prefix("adfs-")
        .is_some_and(|rest| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}
