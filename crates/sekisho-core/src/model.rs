//! The records Sekisho keeps: brands, contracts, users, clients. Storage maps them to rows.

use crate::oauth::{GrantType, SigningAlg, TokenEndpointAuthMethod};
pub use crate::two_factor::{AccessRoute, TwoFactorSetting};
use crate::{email::Email, Timestamp};
use serde::{Deserialize, Serialize};

/// Defines a closed set of names stored as text, with `as_str` and `parse`.
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($text => Some($name::$variant),)+ _ => None } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
pub(crate) use text_enum;

/// [`text_enum!`] for other crates: the same closed set of names, without serde.
#[macro_export]
macro_rules! text_enum_like {
    ($name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }
        impl $name {
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
pub use text_enum_like;

text_enum!(
    /// 契約者 / 管理者権限を持つ利用者 / 利用者.
    Role { Contractor = "contractor", Admin = "admin", User = "user" }
);
text_enum!(
    /// Exactly one per user (REQ-LOGIN-2).
    LoginMethod {
        Password = "password", Google = "google", Facebook = "facebook",
        Microsoft = "microsoft", DAccount = "daccount", Ad = "ad",
    }
);
text_enum!(
    /// 基本プラン or 無料トライアル.
    Plan { Basic = "basic", Trial = "trial" }
);
text_enum!(ContractState { Active = "active", Cancelled = "cancelled" });
text_enum!(
    /// OpenID Connect Core §8: the `sub` a client sees. `public` is the user's id, the same for
    /// every client; `pairwise` is derived per sector (the host of the client's redirect URIs),
    /// so integrators of different sectors cannot correlate their users.
    SubjectType { Public = "public", Pairwise = "pairwise" }
);
#[allow(
    clippy::derivable_impls,
    reason = "the enum comes from text_enum!, which has no place for #[default]"
)]
impl Default for SubjectType {
    fn default() -> Self {
        SubjectType::Public
    }
}
text_enum!(
    /// Invited: registered by the contractor or an admin, registration not yet done (REQ-USER-1).
    /// Disabled: stopped by the contractor or an admin. Only active users sign in.
    UserStatus { Invited = "invited", Active = "active", Disabled = "disabled" }
);

/// A white-label storefront. `code` is the path segment of its issuer (`VX5`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brand {
    pub code: BrandCode,
    pub name: String,
    /// Sender of the brand's mails; empty means the deployment's default sender.
    #[serde(default)]
    pub mail_from: String,
    #[serde(default)]
    pub theme: BrandTheme,
    /// Where the brand's service lives: pages that end without a relying party to return to
    /// (a direct login, a logout, an error) lead there (ISSUE-16). `None`: they offer the
    /// brand's own login page and account menu.
    #[serde(default)]
    pub service_url: Option<crate::service_url::ServiceUrl>,
    pub created_at: Timestamp,
}

impl Brand {
    /// The subject prefix of every mail of the brand: `【OTクラウド・ストレージ】`.
    pub fn mail_prefix(&self) -> String {
        format!("【{}】", self.name)
    }
}

/// How the brand's pages look. Operators may also override whole templates (see sekisho-web).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BrandTheme {
    /// CSS colour of the header and buttons.
    pub primary_color: String,
    /// URL of the logo shown in the header, if any.
    pub logo_url: Option<String>,
}

impl Default for BrandTheme {
    fn default() -> Self {
        Self {
            primary_color: "#1d4f91".into(),
            logo_url: None,
        }
    }
}

/// 2–16 ASCII letters and digits, upper case: the brand's URL code such as `VX5`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BrandCode(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a brand code is 2 to 16 upper-case letters and digits, such as VX5")]
pub struct InvalidBrandCode;

impl BrandCode {
    pub fn parse(s: &str) -> Result<Self, InvalidBrandCode> {
        let ok = (2..=16).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidBrandCode)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BrandCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub id: String,
    pub brand: BrandCode,
    pub name: String,
    pub plan: Plan,
    pub state: ContractState,
    /// 2段階認証設定 (REQ-2FA-7); enabled unless the contractor turns it off.
    pub two_factor: TwoFactorSetting,
    /// アクセス経路設定 (REQ-LINE-1).
    pub access_route: AccessRoute,
    pub created_at: Timestamp,
}

impl Contract {
    /// Whether the contract's users may log in and its tokens work (REQ-USER-1 / issue 6): not
    /// cancelled, and not a trial past its 30 days (a trial ends by itself).
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.state == ContractState::Active
            && !(self.plan == Plan::Trial && now >= self.created_at + crate::menu::TRIAL_LENGTH)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Opaque and stable; also the `sub` of every token (never the email).
    pub id: String,
    pub contract_id: String,
    pub brand: BrandCode,
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub login_method: LoginMethod,
    /// PHC string (argon2id) for password users.
    #[serde(skip_serializing)]
    pub password_hash: Option<String>,
    pub failed_logins: i64,
    pub locked_at: Option<Timestamp>,
    pub status: UserStatus,
    pub created_at: Timestamp,
}

impl User {
    /// Whether the user may sign in and keep using tokens at `now`: an active user of a contract
    /// that has not ended (issue 6).
    pub fn may_use_service(&self, contract: &Contract, now: Timestamp) -> bool {
        self.status == UserStatus::Active && contract.is_active(now)
    }

    /// The account menu stays open to the contractor of an ended trial while the trial can still
    /// become a basic contract (REQ-MENU-2 ※1): only to change the plan, never towards an RP.
    pub fn may_open_menu(&self, contract: &Contract, now: Timestamp) -> bool {
        self.may_use_service(contract, now)
            || (self.status == UserStatus::Active
                && self.role == Role::Contractor
                && contract.state == ContractState::Active
                && contract.plan == Plan::Trial
                && now
                    <= contract.created_at
                        + crate::menu::TRIAL_LENGTH
                        + crate::menu::PLAN_CHANGE_GRACE)
    }
}

/// A relying party. Metadata names follow RFC 7591 so that dynamic registration can store it as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMetadata {
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub id_token_signed_response_alg: SigningAlg,
    /// Public keys for `private_key_jwt`, as a JWK Set document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Or where to fetch them (issue 18): an https URL the client rotates its keys behind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Scopes the client may ask for with `client_credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// What the client asked to be held to (issue 18), under the RFC names.
    #[serde(flatten)]
    pub requires: ClientRequirements,
    /// OpenID Connect Back-Channel Logout 1.0: where logout tokens are POSTed when a session
    /// that gave the client tokens ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// Public or pairwise subject identifiers (issue 18).
    #[serde(default, skip_serializing_if = "is_public")]
    pub subject_type: SubjectType,
    /// OpenID Connect Core §8.1: an https URL whose JSON array lists the client's redirect URIs
    /// (checked at registration); its host is the pairwise sector, so a client's redirect URIs
    /// may span several hosts and several clients may share a sector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector_identifier_uri: Option<String>,
}

fn is_public(t: &SubjectType) -> bool {
    *t == SubjectType::Public
}

/// Protocol rules a client opts into, each making it stricter; the metadata names are the RFCs'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRequirements {
    /// RFC 9126 §6: authorization requests only through the pushed authorization request
    /// endpoint (a `request_uri`), never in the browser's URL.
    #[serde(default, skip_serializing_if = "is_false")]
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2: every token request presents a DPoP proof, so every access token is bound
    /// to the client's key.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dpop_bound_access_tokens: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub brand: BrandCode,
    /// SHA-256 of a machine-generated high-entropy secret; `None` for public and private_key_jwt clients.
    pub secret_hash: Option<String>,
    pub metadata: ClientMetadata,
    pub created_at: Timestamp,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.metadata.token_endpoint_auth_method == TokenEndpointAuthMethod::None
    }
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.metadata.grant_types.contains(&grant)
    }
    /// Exact string match, as OAuth 2.0 Security BCP requires: no prefix, no normalisation.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.metadata.redirect_uris.iter().any(|r| r == uri)
    }
    /// The sector of a pairwise client (OpenID Connect Core §8.1): the host of its
    /// `sector_identifier_uri`, else of its redirect URIs, which registration checked is one
    /// host. `None` for a public client.
    pub fn pairwise_sector(&self) -> Option<String> {
        if self.metadata.subject_type != SubjectType::Pairwise {
            return None;
        }
        let m = &self.metadata;
        m.sector_identifier_uri
            .as_ref()
            .or(m.redirect_uris.first())
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            // A pairwise client with no redirect URI (client_credentials only) is its own sector.
            .or_else(|| Some(format!("client:{}", self.client_id)))
    }

    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.metadata
            .post_logout_redirect_uris
            .iter()
            .any(|r| r == uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Issue 6 (REQ-USER-1): cancelled contracts and trials past 30 days are not active; a basic
    // contract never ends by itself.
    #[test]
    fn contract_activity() {
        const DAY: i64 = 86_400;
        let c = |plan, state| Contract {
            id: "c".into(),
            brand: BrandCode::parse("VX5").unwrap(),
            name: "x".into(),
            plan,
            state,
            two_factor: TwoFactorSetting::Enabled,
            access_route: AccessRoute::LineAndInternet,
            created_at: 0,
        };
        let rows = [
            (Plan::Basic, ContractState::Active, 365 * DAY, true),
            (Plan::Basic, ContractState::Cancelled, 0, false),
            (Plan::Trial, ContractState::Active, 30 * DAY - 1, true),
            (Plan::Trial, ContractState::Active, 30 * DAY, false),
            (Plan::Trial, ContractState::Cancelled, DAY, false),
        ];
        for (plan, state, now, want) in rows {
            assert_eq!(
                c(plan, state).is_active(now),
                want,
                "{plan} {state} at {now}"
            );
        }
    }

    #[test]
    fn brand_codes() {
        assert!(BrandCode::parse("VX5").is_ok());
        for bad in ["", "V", "vx5", "VX-5", "VX5/", "ABCDEFGHIJKLMNOPQ"] {
            assert_eq!(BrandCode::parse(bad), Err(InvalidBrandCode), "{bad}");
        }
    }

    #[test]
    fn text_enums_round_trip() {
        for m in LoginMethod::ALL {
            assert_eq!(LoginMethod::parse(m.as_str()), Some(*m));
        }
        assert_eq!(Role::parse("owner"), None);
    }
}
