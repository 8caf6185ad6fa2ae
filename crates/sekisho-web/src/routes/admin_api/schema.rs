//! The admin API's request and response bodies, with their OpenAPI schemas.
//!
//! Responses are their own types, built from the domain's by exhaustive destructuring: a field
//! added to `UserView` or `Client` fails to compile here until someone decides whether the API
//! shows it. Closed sets of names (roles, statuses, grant types…) are documented from the domain
//! enums' own `ALL` lists ([`names`]), so the description cannot list a value the code refuses.

use sekisho_app::directory::UserView;
use sekisho_app::lines::LineView;
use sekisho_core::model::{AccessRoute, Brand, Client, LoginMethod, Role, UserStatus};
use sekisho_core::oauth::{GrantType, SigningAlg, TokenEndpointAuthMethod};
use sekisho_core::tickets::TicketPurpose;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, Type};
use utoipa::ToSchema;

/// A string schema whose only values are `values`.
fn names<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .build()
}

fn role_schema() -> Object {
    names(Role::ALL.iter().map(|r| r.as_str()))
}
/// The roles a user can be given (the contractor is made with the contract).
fn assignable_role_schema() -> Object {
    names(
        Role::ALL
            .iter()
            .filter(|r| **r != Role::Contractor)
            .map(|r| r.as_str()),
    )
}
fn login_method_schema() -> Object {
    names(LoginMethod::ALL.iter().map(|m| m.as_str()))
}
fn status_schema() -> Object {
    names(UserStatus::ALL.iter().map(|s| s.as_str()))
}
fn pending_schema() -> ArrayBuilder {
    let purposes = [
        TicketPurpose::Invitation,
        TicketPurpose::EmailChange,
        TicketPurpose::LoginMethodChange,
    ];
    ArrayBuilder::new().items(names(purposes.iter().map(|p| p.as_str())))
}
fn grant_types_schema() -> ArrayBuilder {
    ArrayBuilder::new().items(names(GrantType::ALL.iter().map(|g| g.as_str())))
}
fn auth_method_schema() -> Object {
    names(TokenEndpointAuthMethod::ALL.iter().map(|m| m.as_str()))
}
fn alg_schema() -> Object {
    names(SigningAlg::ALL.iter().map(|a| a.as_str()))
}

/// Every error: an RFC 6749-style code (stable, for programs) and a description (for people, in
/// the language of `Accept-Language`, Japanese by default).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = Error)]
pub struct ApiErrorBody {
    pub error: String,
    pub error_description: String,
}

/// A user of the caller's contract.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub struct ApiUser {
    pub id: String,
    pub email: String,
    pub name: String,
    #[schema(schema_with = role_schema)]
    pub role: Role,
    #[schema(schema_with = login_method_schema)]
    pub login_method: LoginMethod,
    #[schema(schema_with = status_schema)]
    pub status: UserStatus,
    /// Locked by too many failed logins.
    pub locked: bool,
    /// The mailed changes waiting for the user.
    #[schema(schema_with = pending_schema)]
    pub pending: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<UserView> for ApiUser {
    fn from(v: UserView) -> Self {
        let UserView {
            id,
            email,
            name,
            role,
            login_method,
            status,
            locked,
            pending,
            created_at,
        } = v;
        Self {
            id,
            email,
            name,
            role,
            login_method,
            status,
            locked,
            pending,
            created_at,
        }
    }
}

/// Registers a user by email; they get the mail 利用者登録のご案内 with a 14-day link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[schema(schema_with = assignable_role_schema)]
    pub role: Role,
}

/// Mails the email-change link to the new address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeRequest {
    pub new_email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    #[schema(schema_with = assignable_role_schema)]
    pub role: Role,
}

/// `false` disables the user (their sessions end and their tokens stop); `true` enables them again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnabledRequest {
    pub enabled: bool,
}

/// `true` registers the client as a resource server: it may introspect every access and refresh
/// token of its brand; `false` withdraws it (then it learns only about its own tokens).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceServerRequest {
    pub resource_server: bool,
}

/// A client's resource-server setting.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceServer {
    pub client_id: String,
    pub resource_server: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Brand)]
pub struct ApiBrand {
    /// The issuer's path segment, such as `VX5`.
    pub code: String,
    pub name: String,
    /// The issuer URL of the brand.
    pub issuer: String,
    pub created_at: i64,
}

impl ApiBrand {
    pub fn new(b: Brand, issuer: String) -> Self {
        Self {
            code: b.code.to_string(),
            name: b.name,
            issuer,
            created_at: b.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBrandRequest {
    /// 2 to 16 upper-case letters and digits.
    pub code: String,
    pub name: String,
}

/// A client to register (RFC 7591 metadata names, checked by the same rules as the CLI and
/// dynamic registration).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientRequest {
    pub client_name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Default: `authorization_code` and `refresh_token`.
    #[serde(default)]
    #[schema(schema_with = grant_types_schema)]
    pub grant_types: Vec<GrantType>,
    /// Default: `client_secret_basic` (`private_key_jwt` when `jwks` is given); `none` makes a
    /// public client (PKCE, no secret).
    #[serde(default)]
    #[schema(schema_with = auth_method_schema, required = false)]
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    /// Default: ES256.
    #[serde(default)]
    #[schema(schema_with = alg_schema, required = false)]
    pub id_token_signed_response_alg: Option<SigningAlg>,
    /// The client's public keys, a JWK Set, for `private_key_jwt`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Space-separated scopes the client may obtain: `sekisho:admin` (with `contract_id`, or in
    /// an admin's code flow), `sekisho:operator`.
    #[serde(default)]
    pub scope: Option<String>,
    /// The contract (of this brand) whose users the client manages with `sekisho:admin` and
    /// `client_credentials`.
    #[serde(default)]
    pub contract_id: Option<String>,
}

/// A new client's credentials. The secret is shown only here: Sekisho keeps only its hash.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RegisteredClient)]
pub struct CreatedClient {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[schema(schema_with = auth_method_schema)]
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
}

/// A registered client (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Client)]
pub struct ApiClient {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    #[schema(schema_with = grant_types_schema)]
    pub grant_types: Vec<GrantType>,
    #[schema(schema_with = auth_method_schema)]
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    #[schema(schema_with = alg_schema)]
    pub id_token_signed_response_alg: SigningAlg,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<String>,
    pub created_at: i64,
}

impl ApiClient {
    pub fn new(c: Client, contract_id: Option<String>) -> Self {
        let Client {
            client_id,
            brand: _,
            secret_hash: _,
            metadata,
            created_at,
        } = c;
        let sekisho_core::model::ClientMetadata {
            client_name,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            token_endpoint_auth_method,
            id_token_signed_response_alg,
            jwks,
            scope,
        } = metadata;
        Self {
            client_id,
            client_name,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            token_endpoint_auth_method,
            id_token_signed_response_alg,
            jwks,
            scope,
            contract_id,
            created_at,
        }
    }
}

fn access_route_schema() -> Object {
    names(AccessRoute::ALL.iter().map(|r| r.as_str()))
}

/// The pattern of a line number (REQ-LINE-2), as `sekisho_core::line::LineNumber::parse` checks it.
const LINE_NUMBER_PATTERN: &str = "^(CAF[A-Z0-9]{10}|COP[A-Z0-9]{8})$";

fn line_number_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(LINE_NUMBER_PATTERN))
        .min_length(Some(11))
        .max_length(Some(13))
        .description(Some(
            "An NTT FLET'S line number: `CAF` and 10 upper-case letters or digits (13 in all), \
             or `COP` and 8 (11 in all). Nothing else is accepted: no lower case, no spaces.",
        ))
        .build()
}

/// A line registered to the caller's contract.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Line)]
pub struct ApiLine {
    #[schema(schema_with = line_number_schema)]
    pub number: String,
    /// When it was registered, Unix seconds.
    pub created_at: i64,
}

impl From<LineView> for ApiLine {
    fn from(v: LineView) -> Self {
        let LineView { number, created_at } = v;
        Self { number, created_at }
    }
}

/// Registers a line number for the caller's contract (REQ-LINE-2).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLineRequest {
    #[schema(schema_with = line_number_schema)]
    pub number: String,
}

/// The contract-wide access route (REQ-LINE-1): `line_and_internet` (the default) or
/// `line_only` (every access not over a registered line is refused; two-step verification is
/// off). It applies to every user of the contract at their next login.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AccessRouteSetting)]
pub struct AccessRouteBody {
    #[schema(schema_with = access_route_schema)]
    pub access_route: AccessRoute,
}
