//! Active Directory設定 (REQ-AD-1, REQ-AD-2): the contractor gives ADFS's federation metadata by
//! URL or as pasted XML; Sekisho validates it, keeps it, and mails the contractor the AD login
//! URLs and the connection ID. Metadata given by URL is read again every
//! [`super::AdSettings::refresh_every`] ([`refresh_due`]), so ADFS's yearly token-signing
//! certificate rollover needs no action: while ADFS lists both certificates, both verify.

use super::{is_connection_id, login_url};
use crate::audit::audit_with;
use crate::signin::send;
use crate::{App, Result};
use rand::Rng;
use sekisho_core::model::{Brand, Role, User};
use sekisho_core::oauth::Lang;
use sekisho_notify::MailKind;
use sekisho_saml::limits::MAX_METADATA_BYTES;
use sekisho_saml::{parse_idp_metadata, IdpMetadata, MetadataProblem};
use sekisho_store::{AdConnectionRecord, StoreError};
use std::time::Duration;
use url::Url;

/// Where the contractor's metadata comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataSource {
    Url(String),
    Xml(String),
}

/// Why the given metadata cannot be used. Each has its own message on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigProblem {
    Metadata(MetadataProblem),
    /// The URL is not an https URL (or is a private address the server must not read).
    UrlNotAllowed,
    /// Reading the URL failed (unreachable, an HTTP error, too slow, larger than 1 MB).
    Unreachable,
    /// The subject claim is not a URI.
    BadClaim,
}

/// The longest metadata URL and claim URI accepted.
pub const MAX_URL: usize = 2048;

/// A validated configuration, not yet saved (the confirmation page shows it).
#[derive(Debug, Clone)]
pub struct Checked {
    pub metadata_url: Option<String>,
    pub metadata_xml: String,
    pub idp: IdpMetadata,
    pub subject_claim: Option<String>,
}

/// Reads (if a URL) and validates the metadata.
pub async fn check(
    app: &App,
    source: MetadataSource,
    subject_claim: Option<String>,
) -> Result<std::result::Result<Checked, ConfigProblem>> {
    let subject_claim = subject_claim
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if subject_claim
        .as_deref()
        .is_some_and(|c| c.len() > MAX_URL || Url::parse(c).is_err())
    {
        return Ok(Err(ConfigProblem::BadClaim));
    }
    let (metadata_url, xml) = match source {
        MetadataSource::Xml(xml) => (None, xml),
        MetadataSource::Url(url) => {
            let url = url.trim().to_owned();
            match fetch(app, &url).await {
                Ok(xml) => (Some(url), xml),
                Err(problem) => return Ok(Err(problem)),
            }
        }
    };
    match parse_idp_metadata(&xml, app.now(), app.ad.allow_loopback) {
        Ok(idp) => Ok(Ok(Checked {
            metadata_url,
            metadata_xml: xml,
            idp,
            subject_claim,
        })),
        Err(p) => Ok(Err(ConfigProblem::Metadata(p))),
    }
}

/// Whether the server may read `url`: https, or http on loopback when allowed; never a literal
/// private, link-local or loopback address otherwise. (A name that resolves to a private address
/// is not caught here: deployments that must stop that put an egress proxy in front.)
fn allowed_url(app: &App, url: &Url) -> bool {
    let host_ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            Some(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
        }
        Some(url::Host::Domain(_)) => None,
        None => return false,
    };
    let loopback = host_ip.is_some_and(|ip| ip.is_loopback());
    if app.ad.allow_loopback && loopback {
        return matches!(url.scheme(), "http" | "https");
    }
    let private = host_ip.is_some_and(|ip| match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified()
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00
        }
    });
    url.scheme() == "https" && !private
}

/// Reads metadata from `url`: 10 s, 1 MB, no redirects.
async fn fetch(app: &App, url: &str) -> std::result::Result<String, ConfigProblem> {
    let parsed = Url::parse(url).map_err(|_| ConfigProblem::UrlNotAllowed)?;
    if url.len() > MAX_URL || !allowed_url(app, &parsed) {
        return Err(ConfigProblem::UrlNotAllowed);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| ConfigProblem::Unreachable)?;
    let mut answer = client
        .get(parsed)
        .send()
        .await
        .map_err(|_| ConfigProblem::Unreachable)?;
    if !answer.status().is_success() {
        return Err(ConfigProblem::Unreachable);
    }
    let mut body = Vec::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|_| ConfigProblem::Unreachable)?
    {
        if body.len() + chunk.len() > MAX_METADATA_BYTES {
            return Err(ConfigProblem::Metadata(MetadataProblem::TooLarge));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| ConfigProblem::Metadata(MetadataProblem::NotXml))
}

/// A new connection ID: `adfs-` and 16 letters or digits (95 bits).
fn new_connection_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    let tail: String = (0..16)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    format!("adfs-{tail}")
}

/// Who may configure AD: the contractor (REQ-MENU-2: basic and trial).
pub fn may_configure(user: &User) -> bool {
    user.role == Role::Contractor
}

/// What saving did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// A new connection; the REQ-AD-2 mail went to the contractor.
    Created(AdConnectionRecord),
    /// The existing connection's metadata was replaced (ID and bindings unchanged).
    Changed(AdConnectionRecord),
}

/// Saves the contractor's checked configuration for their contract.
pub async fn save(
    app: &App,
    brand: &Brand,
    contractor: &User,
    lang: Lang,
    checked: Checked,
) -> Result<Saved> {
    let now = app.now();
    let store = &app.op.store;
    if let Some(mut existing) = store
        .find_contract_ad_connection(&contractor.contract_id)
        .await?
    {
        existing.metadata_url = checked.metadata_url;
        existing.metadata_xml = checked.metadata_xml;
        existing.idp_entity_id = checked.idp.entity_id;
        existing.subject_claim = checked.subject_claim;
        existing.updated_at = now;
        existing.refreshed_at = now;
        existing.refresh_error = None;
        store.update_ad_metadata(&existing).await?;
        audit_with(
            app,
            "ad.connection.changed",
            brand,
            Some(&contractor.id),
            serde_json::json!({ "connection": existing.id }),
        )
        .await;
        return Ok(Saved::Changed(existing));
    }
    let mut record = AdConnectionRecord {
        id: new_connection_id(),
        brand: brand.code.to_string(),
        contract_id: contractor.contract_id.clone(),
        metadata_url: checked.metadata_url,
        metadata_xml: checked.metadata_xml,
        idp_entity_id: checked.idp.entity_id,
        subject_claim: checked.subject_claim,
        created_at: now,
        updated_at: now,
        refreshed_at: now,
        refresh_error: None,
    };
    // A clash of two random 95-bit IDs is vanishingly rare; one retry covers it.
    if let Err(StoreError::Conflict) = store.insert_ad_connection(&record).await {
        if store
            .find_contract_ad_connection(&contractor.contract_id)
            .await?
            .is_some()
        {
            return Err(sekisho_oidc::OAuthError::server(
                "the contract got a connection concurrently",
            ));
        }
        record.id = new_connection_id();
        store.insert_ad_connection(&record).await?;
    }
    audit_with(
        app,
        "ad.connection.created",
        brand,
        Some(&contractor.id),
        serde_json::json!({ "connection": record.id }),
    )
    .await;
    send_notice(app, brand, contractor, lang, &record.id).await?;
    Ok(Saved::Created(record))
}

/// 【Brand】Active Directoryアカウントのログイン用URL・接続ID通知 (REQ-AD-2).
pub async fn send_notice(
    app: &App,
    brand: &Brand,
    to: &User,
    lang: Lang,
    connection_id: &str,
) -> Result<()> {
    let code = brand.code.as_str();
    let kind = MailKind::AdConnection {
        internet_url: login_url(app, code, connection_id),
        line_url: app
            .ad
            .line_base_url
            .as_ref()
            .map(|base| format!("{}/{code}/ad/{connection_id}", base.trim_end_matches('/'))),
        connection_id: connection_id.to_owned(),
    };
    send(app, brand, to, lang, kind).await
}

/// Removes the contract's connection. Its AD users keep their accounts but cannot log in until
/// the contractor sends them a login-method change (the confirmation page says so). Returns the
/// number of AD users affected.
pub async fn remove(app: &App, brand: &Brand, contractor: &User) -> Result<Option<i64>> {
    let store = &app.op.store;
    let Some(existing) = store
        .find_contract_ad_connection(&contractor.contract_id)
        .await?
    else {
        return Ok(None);
    };
    let users = store.count_ad_users(&contractor.contract_id).await?;
    store.delete_ad_connection(&existing.id).await?;
    audit_with(
        app,
        "ad.connection.removed",
        brand,
        Some(&contractor.id),
        serde_json::json!({ "connection": existing.id, "ad_users": users }),
    )
    .await;
    Ok(Some(users))
}

/// The contract's connection, if any.
pub async fn of_contract(app: &App, contract_id: &str) -> Result<Option<AdConnectionRecord>> {
    Ok(app
        .op
        .store
        .find_contract_ad_connection(contract_id)
        .await?)
}

/// The connection `id` of `brand`, if it exists (an ID of another brand is unknown here).
pub async fn find(app: &App, brand: &str, id: &str) -> Result<Option<AdConnectionRecord>> {
    if !is_connection_id(id) {
        return Ok(None);
    }
    Ok(app
        .op
        .store
        .find_ad_connection(id)
        .await?
        .filter(|c| c.brand == brand))
}

/// The connection's IdP as last validated.
pub fn idp_of(
    app: &App,
    c: &AdConnectionRecord,
) -> std::result::Result<IdpMetadata, MetadataProblem> {
    // The stored XML was valid when saved; certificates may since have expired, which the
    // verification then reports as a signature failure rather than here.
    parse_idp_metadata(&c.metadata_xml, app.now(), app.ad.allow_loopback)
        .or_else(|_| parse_idp_metadata(&c.metadata_xml, c.refreshed_at, app.ad.allow_loopback))
}

/// Seconds a node's claim on a connection's metadata refresh holds (longer than a read takes).
const REFRESH_CLAIM: i64 = 300;

/// Reads again the metadata of every connection given by URL that is due. A failure keeps the
/// last good metadata and is noted on the connection (shown on the settings page). Returns how
/// many were refreshed.
pub async fn refresh_due(app: &App) -> Result<usize> {
    let now = app.now();
    let due = app
        .op
        .store
        .ad_connections_to_refresh(now - app.ad.refresh_every)
        .await?;
    let mut refreshed = 0;
    for mut c in due {
        let Some(url) = c.metadata_url.clone() else {
            continue;
        };
        // Every node runs this: the one that claims the connection reads its metadata; a failed
        // read is tried again once the claim has lapsed.
        if !app
            .op
            .store
            .claim_ad_refresh(&c.id, now, REFRESH_CLAIM)
            .await?
        {
            continue;
        }
        let checked = check(app, MetadataSource::Url(url), c.subject_claim.clone()).await?;
        match checked {
            Ok(checked) if checked.idp.entity_id == c.idp_entity_id => {
                c.metadata_xml = checked.metadata_xml;
                c.refreshed_at = now;
                c.refresh_error = None;
                app.op.store.update_ad_metadata(&c).await?;
                refreshed += 1;
            }
            Ok(_) => {
                // A different entity ID would orphan every binding: only the contractor changes that.
                app.op
                    .store
                    .note_ad_refresh_error(&c.id, "entity ID changed", now)
                    .await?;
            }
            Err(problem) => {
                tracing::warn!(connection = %c.id, ?problem, "AD metadata refresh failed");
                app.op
                    .store
                    .note_ad_refresh_error(&c.id, &format!("{problem:?}"), now)
                    .await?;
            }
        }
    }
    Ok(refreshed)
}
