//! The admin API's request and response bodies, with their OpenAPI schemas.
//!
//! Responses are their own types, built from the domain's by exhaustive destructuring: a field
//! added to `UserView` or `Client` fails to compile here until someone decides whether the API
//! shows it. Closed sets of names (roles, statuses, grant types…) are documented from the domain
//! enums' own `ALL` lists ([`names`]), so the description cannot list a value the code refuses.

use sekisho_app::directory::UserView;
use sekisho_app::lines::LineView;
use sekisho_core::email::MAX_EMAIL_LEN;
use sekisho_core::model::{AccessRoute, Brand, Client, LoginMethod, Role, UserStatus};
use sekisho_core::name::MAX_NAME_CHARS;
use sekisho_core::oauth::{GrantType, SigningAlg, TokenEndpointAuthMethod};
use sekisho_core::tickets::TicketPurpose;
use sekisho_oidc::registration::{MAX_JWKS_KEYS, MAX_REDIRECT_URIS, MAX_URI_LEN};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, Type};
use utoipa::ToSchema;

// The request constraints below are the server's own rules written as JSON Schema (issue 15: the
// description once accepted an empty `code`, `name`, `redirect_uris` or `email` that the server
// refused). Schemathesis checks both directions in the e2e suite (`tests/e2e/api_schema.rs`):
// every value the schema admits is accepted, every value it excludes is refused. Patterns use only
// what ECMA-262 and Python's `re` read alike (no lookaround).

/// No control characters (Unicode Cc), as `sekisho_core::name::check_name` refuses them.
const NO_CONTROL: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";
/// The same, with at least one character that is not a space (a required name).
const NOT_BLANK: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// A mail address `sekisho_core::email::Email::parse` accepts: a dot-atom local part and a domain
/// of two to four LDH labels. The pattern admits a subset of what the server takes (the local
/// part's 64-character limit cannot be written without lookahead, so it allows at most one dot
/// here, 32 characters either side); the description states the whole rule.
const EMAIL_PATTERN: &str = concat!(
    "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,31})?",
    "@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?){1,3}$"
);

pub(super) fn email_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(EMAIL_PATTERN))
        .min_length(Some(5))
        .max_length(Some(MAX_EMAIL_LEN))
        .description(Some(
            "A mail address, ASCII only: a dot-atom local part (letters, digits and \
             ``!#$%&'*+/=?^_`{|}~-``, dots only between them, at most 64 characters), `@`, and a \
             domain of at least two labels of letters, digits and inner hyphens (at most 63 \
             each); at most 254 characters in all. Compared and stored in lower case.",
        ))
        .build()
}

/// A person's name, optional: at most 200 characters, no control characters.
fn user_name_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(MAX_NAME_CHARS))
        .pattern(Some(NO_CONTROL))
        .description(Some(
            "At most 200 characters (counted as given), without line breaks or other control \
             characters; surrounding spaces are trimmed.",
        ))
        .build()
}

/// A required name (a brand's): the same, and not only spaces.
fn required_name_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_NAME_CHARS))
        .pattern(Some(NOT_BLANK))
        .description(Some(
            "1 to 200 characters (counted as given), not only spaces, without line breaks or \
             other control characters; surrounding spaces are trimmed.",
        ))
        .build()
}

/// A brand code, as `sekisho_core::model::BrandCode::parse` checks it.
fn brand_code_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[A-Z0-9]{2,16}$"))
        .min_length(Some(2))
        .max_length(Some(16))
        .description(Some(
            "2 to 16 upper-case letters and digits, such as `VX5`.",
        ))
        .build()
}

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
    #[schema(schema_with = email_schema)]
    pub email: String,
    #[serde(default)]
    #[schema(schema_with = user_name_schema, required = false)]
    pub name: String,
    #[schema(schema_with = assignable_role_schema)]
    pub role: Role,
}

/// Mails the email-change link to the new address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeRequest {
    #[schema(schema_with = email_schema)]
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
    #[schema(schema_with = brand_code_schema)]
    pub code: String,
    #[schema(schema_with = required_name_schema)]
    pub name: String,
}

/// A client to register (RFC 7591 metadata names, checked by the same rules as the CLI and
/// dynamic registration). Its schema in the description is [`new_client_schema`], which states
/// those rules; the derived one only names the fields (a unit test keeps the two in step).
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
    /// Or the https URL where the server fetches them (not with `jwks`).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Space-separated scopes the client may obtain: `sekisho:admin` (with `contract_id`, or in
    /// an admin's code flow), `sekisho:operator`.
    #[serde(default)]
    pub scope: Option<String>,
    /// The contract (of this brand) whose users the client manages with `sekisho:admin` and
    /// `client_credentials`.
    #[serde(default)]
    pub contract_id: Option<String>,
    /// Authorization requests only through the pushed authorization request endpoint (RFC 9126).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Every token request must carry a DPoP proof (RFC 9449).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Where logout tokens are POSTed when a session that gave the client tokens ends
    /// (OpenID Connect Back-Channel Logout 1.0).
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// `public` (default) or `pairwise` (OpenID Connect Core §8: a `sub` per sector, the host of
    /// the redirect URIs, which must then share one host).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub subject_type: Option<sekisho_core::model::SubjectType>,
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
    pub jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<String>,
    pub require_pushed_authorization_requests: bool,
    pub dpop_bound_access_tokens: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    #[schema(value_type = String)]
    pub subject_type: sekisho_core::model::SubjectType,
    /// A pairwise client's sector by URL (registered through RFC 7591).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector_identifier_uri: Option<String>,
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
            jwks_uri,
            scope,
            requires,
            backchannel_logout_uri,
            subject_type,
            sector_identifier_uri,
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
            jwks_uri,
            scope,
            contract_id,
            require_pushed_authorization_requests: requires.require_pushed_authorization_requests,
            dpop_bound_access_tokens: requires.dpop_bound_access_tokens,
            backchannel_logout_uri,
            subject_type,
            sector_identifier_uri,
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

/// An absolute redirect URI `sekisho_oidc::registration::check_redirect_uri` accepts: https, or
/// http on a loopback host; no user information, fragment or `*`. Like [`EMAIL_PATTERN`], a
/// subset written without lookaround (host labels start with a letter and have no `--`, so no
/// host reads as an IPv4 number or an IDNA label; a port below 10000).
const REDIRECT_URI_PATTERN: &str = concat!(
    "^(https://[A-Za-z]([A-Za-z0-9]|-[A-Za-z0-9]){0,30}(\\.[A-Za-z]([A-Za-z0-9]|-[A-Za-z0-9]){0,30}){0,4}",
    "|http://(127\\.0\\.0\\.1|localhost|\\[::1\\]))",
    "(:[1-9][0-9]{0,3})?",
    "(/[A-Za-z0-9._~!$&'()+,;=:@%/-]*)?",
    "(\\?[A-Za-z0-9._~!$&'()+,;=:@%/?-]*)?$"
);

/// The members of a JWK that only a private or symmetric key has (`check_jwks` refuses them).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The schema of [`NewClientRequest`]: each member's rule, and the rules between members that
/// `sekisho_oidc::registration::client_metadata` applies (JSON Schema 2020-12, as OpenAPI 3.1
/// allows):
/// - the authorization code flow (also the default when `grant_types` is empty or absent) needs
///   at least one redirect URI;
/// - a public client (`none`) cannot use `client_credentials`;
/// - `private_key_jwt` needs `jwks`.
pub(super) fn new_client_schema() -> Value {
    let uri_list = |what: &str| {
        json!({
            "type": "array",
            "maxItems": MAX_REDIRECT_URIS,
            "items": {
                "type": "string",
                "maxLength": MAX_URI_LEN,
                "pattern": REDIRECT_URI_PATTERN,
            },
            "description": format!(
                "{what}: at most {MAX_REDIRECT_URIS}, each an absolute URL of at most \
                 {MAX_URI_LEN} bytes using https (http only on 127.0.0.1, [::1] or localhost), \
                 without user information, fragment or `*`; matched exactly."
            ),
        })
    };
    let nullable_names = |values: Vec<&str>| {
        let mut values: Vec<Value> = values.into_iter().map(Value::from).collect();
        values.push(Value::Null);
        json!({ "type": ["string", "null"], "enum": values })
    };
    let private_members: serde_json::Map<String, Value> = PRIVATE_JWK_MEMBERS
        .iter()
        .map(|m| ((*m).to_owned(), Value::Bool(false)))
        .collect();
    let method_is = |m: TokenEndpointAuthMethod| {
        json!({
            "required": ["token_endpoint_auth_method"],
            "properties": { "token_endpoint_auth_method": { "const": m.as_str() } },
        })
    };
    let mut auth_method = nullable_names(
        TokenEndpointAuthMethod::ALL
            .iter()
            .map(|m| m.as_str())
            .collect(),
    );
    auth_method["description"] = json!(
        "Default: `client_secret_basic` (`private_key_jwt` when `jwks` is given); `none` makes a \
         public client (PKCE, no secret), which cannot use `client_credentials`; \
         `private_key_jwt` needs `jwks`."
    );
    let mut alg = nullable_names(SigningAlg::ALL.iter().map(|a| a.as_str()).collect());
    alg["description"] = json!("Default: ES256.");
    let mut schema = json!({
        "type": "object",
        "description": "A client to register (RFC 7591 metadata names, checked by the same rules \
            as the CLI and dynamic registration).",
        "additionalProperties": false,
        "required": ["client_name"],
        "properties": {
            "client_name": {
                "type": "string",
                "maxLength": MAX_NAME_CHARS,
                "pattern": NO_CONTROL,
                "description": "At most 200 characters (counted as given), without line breaks \
                    or other control characters; surrounding spaces are trimmed.",
            },
            "redirect_uris": uri_list("Redirect URIs; at least one unless `grant_types` leaves \
                out `authorization_code`"),
            "post_logout_redirect_uris": uri_list("Post-logout redirect URIs"),
            "grant_types": {
                "type": "array",
                "items": { "type": "string", "enum": GrantType::ALL.iter().map(|g| g.as_str()).collect::<Vec<_>>() },
                "description": "Default (also when empty): `authorization_code` and \
                    `refresh_token`. Repeated values count once.",
            },
            "token_endpoint_auth_method": auth_method,
            "id_token_signed_response_alg": alg,
            "jwks_uri": {
                "type": ["string", "null"],
                "maxLength": MAX_URI_LEN,
                "pattern": REDIRECT_URI_PATTERN,
                "description": format!(
                    "Where the server fetches the client's public keys for `private_key_jwt` \
                     (not with `jwks`): an absolute URL of at most {MAX_URI_LEN} bytes using \
                     https (http only on loopback), without user information or fragment. \
                     Fetched with a 3 s timeout and a 64 KiB limit, never from the server's own \
                     networks unless the operator allows it; again when an assertion names a \
                     key it does not hold (at most once a minute)."
                ),
            },
            "jwks": {
                "type": ["object", "null"],
                "description": format!(
                    "The client's public keys, a JWK Set, for `private_key_jwt`: 1 to \
                     {MAX_JWKS_KEYS} keys, each with a `kty` other than `oct` and none of the \
                     private members ({}).",
                    PRIVATE_JWK_MEMBERS.join(", ")
                ),
                "required": ["keys"],
                "properties": {
                    "keys": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_JWKS_KEYS,
                        "items": {
                            "type": "object",
                            "required": ["kty"],
                            "properties": {
                                "kty": { "type": "string", "not": { "const": "oct" } },
                            },
                        },
                    },
                },
            },
            "scope": {
                "type": ["string", "null"],
                "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F\"\\\\]*$",
                "description": "Space-separated scopes the client may obtain: `sekisho:admin` \
                    (with `contract_id`, or in an admin's code flow), `sekisho:operator`. No \
                    control characters, `\"` or `\\`.",
            },
            "contract_id": {
                "type": ["string", "null"],
                "description": "The contract (of this brand) whose users the client manages \
                    with `sekisho:admin` and `client_credentials`; one that is not a contract of \
                    this brand is a 400 (`invalid_request`).",
            },
            "require_pushed_authorization_requests": {
                "type": "boolean",
                "description": "Default false. True: the client's authorization requests are \
                    accepted only through the pushed authorization request endpoint (RFC 9126).",
            },
            "subject_type": {
                "type": ["string", "null"],
                "enum": ["public", "pairwise", null],
                "description": "Default `public`. `pairwise`: the client sees a `sub` of its own \
                    sector (the host of its redirect URI: at most one here), so clients of \
                    different sectors cannot correlate users (OpenID Connect Core §8).",
            },
            "backchannel_logout_uri": {
                "type": ["string", "null"],
                "maxLength": MAX_URI_LEN,
                "pattern": REDIRECT_URI_PATTERN,
                "description": "Where logout tokens are POSTed when a session that gave the \
                    client tokens ends (OpenID Connect Back-Channel Logout 1.0): the redirect \
                    URIs' rule (https; http only on loopback; no fragment).",
            },
            "dpop_bound_access_tokens": {
                "type": "boolean",
                "description": "Default false. True: every token request of the client must \
                    carry a DPoP proof, so its tokens are bound to its key (RFC 9449).",
            },
        },
        "allOf": [
            {
                "if": { "anyOf": [
                    { "not": { "required": ["grant_types"] } },
                    { "properties": { "grant_types": { "maxItems": 0 } } },
                    { "properties": { "grant_types": { "contains": { "const": "authorization_code" } } } },
                ] },
                "then": {
                    "required": ["redirect_uris"],
                    "properties": { "redirect_uris": { "minItems": 1 } },
                },
            },
            {
                "if": method_is(TokenEndpointAuthMethod::None),
                "then": { "properties": { "grant_types": {
                    "not": { "contains": { "const": "client_credentials" } },
                } } },
            },
            // A pairwise client's sector is the host of its redirect URIs; a schema cannot
            // compare hosts, so here a pairwise client has one redirect URI (several on one
            // host: the CLI or RFC 7591 registration).
            {
                "if": {
                    "required": ["subject_type"],
                    "properties": { "subject_type": { "const": "pairwise" } },
                },
                "then": { "properties": { "redirect_uris": { "maxItems": 1 } } },
            },
            {
                "if": method_is(TokenEndpointAuthMethod::PrivateKeyJwt),
                "then": { "anyOf": [
                    {
                        "required": ["jwks"],
                        "properties": { "jwks": { "type": "object" } },
                    },
                    {
                        "required": ["jwks_uri"],
                        "properties": { "jwks_uri": { "type": "string" } },
                    },
                ] },
            },
            // RFC 7591 §2: the keys by value or by URL, not both.
            {
                "not": {
                    "required": ["jwks", "jwks_uri"],
                    "properties": {
                        "jwks": { "type": "object" },
                        "jwks_uri": { "type": "string" },
                    },
                },
            },
        ],
    });
    // A key with any private member (whatever its value) is refused: `false` forbids presence.
    if let Some(key) =
        schema["properties"]["jwks"]["properties"]["keys"]["items"]["properties"].as_object_mut()
    {
        key.extend(private_members);
    }
    schema
}
