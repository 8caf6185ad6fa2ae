//! The admin REST API (issue 6 item 6): JSON under `/{brand}/api/v1/…`, described by OpenAPI 3 at
//! `/{brand}/api/v1/openapi.json`.
//!
//! - `users`: a contract's contractor or admins (or an integrator's client bound to the contract)
//!   manage its users, with scope `sekisho:admin`; every rule is `crate::directory`'s, shared with
//!   the admin console.
//! - `lines`: the same callers set the contract's access route and register its line numbers
//!   (REQ-LINE-1, REQ-LINE-2), by `sekisho_app::lines`' rules, shared with the console and menu.
//! - `operator`: the operator's brands and clients, with scope `sekisho:operator`; the rules are
//!   `sekisho_oidc::operator`'s, shared with the CLI.
//! - `auth`: Sekisho's own bearer access tokens, and which caller they make.
//!
//! The description is generated from the handlers' attributes and the body types (utoipa), so it
//! cannot drift from them; only what depends on the brand (server URL, OAuth endpoints) and what
//! every operation shares (the 401/403/500 answers) are added here at run time. The e2e suite
//! (`tests/e2e/admin_api.rs`) calls every operation it lists.

mod auth;
mod error;
mod lines;
mod operator;
mod schema;
mod users;

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use error::ApiError;
use sekisho_core::oauth::{ADMIN_SCOPE, OPERATOR_SCOPE};
use serde::de::DeserializeOwned;
use utoipa::openapi::content::Content;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response as DocResponse, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{
    AuthorizationCode, ClientCredentials, Flow, OAuth2, Scopes, SecurityScheme,
};
use utoipa::openapi::server::Server;
use utoipa::openapi::{OpenApi as Document, Ref, RefOr};
use utoipa::OpenApi;

/// The routes; `routes/mod.rs` merges them into the OP's router.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{brand}/api/v1/openapi.json", get(openapi))
        .route(
            "/{brand}/api/v1/users",
            get(users::list_users).post(users::invite_user),
        )
        .route(
            "/{brand}/api/v1/users/{user_id}",
            get(users::get_user).delete(users::delete_user),
        )
        .route(
            "/{brand}/api/v1/users/{user_id}/login-method-change",
            post(users::send_login_method_change),
        )
        .route(
            "/{brand}/api/v1/users/{user_id}/email-change",
            post(users::send_email_change),
        )
        .route(
            "/{brand}/api/v1/users/{user_id}/role",
            put(users::set_user_role),
        )
        .route(
            "/{brand}/api/v1/users/{user_id}/enabled",
            put(users::set_user_enabled),
        )
        .route(
            "/{brand}/api/v1/lines",
            get(lines::list_lines).post(lines::add_line),
        )
        .route("/{brand}/api/v1/lines/{number}", delete(lines::delete_line))
        .route(
            "/{brand}/api/v1/access-route",
            get(lines::get_access_route).put(lines::set_access_route),
        )
        .route(
            "/{brand}/api/v1/brands",
            get(operator::list_brands).post(operator::create_brand),
        )
        .route(
            "/{brand}/api/v1/brands/{code}/clients",
            get(operator::list_clients).post(operator::create_client),
        )
        .route(
            "/{brand}/api/v1/brands/{code}/clients/{client_id}",
            delete(operator::delete_client),
        )
        .route(
            "/{brand}/api/v1/brands/{code}/clients/{client_id}/resource-server",
            put(operator::set_resource_server),
        )
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sekisho admin API",
        description = "Users and line authentication of a contract (scope `sekisho:admin`) and \
            the deployment's brands and clients (scope `sekisho:operator`). Authenticate with an access token from this \
            brand's token endpoint: `Authorization: Bearer <token>`."
    ),
    paths(
        users::list_users,
        users::invite_user,
        users::get_user,
        users::delete_user,
        users::send_login_method_change,
        users::send_email_change,
        users::set_user_role,
        users::set_user_enabled,
        lines::list_lines,
        lines::add_line,
        lines::delete_line,
        lines::get_access_route,
        lines::set_access_route,
        operator::list_brands,
        operator::create_brand,
        operator::list_clients,
        operator::create_client,
        operator::delete_client,
        operator::set_resource_server,
    ),
    tags(
        (name = "users", description = "The users of the caller's contract. With a client's own \
            token (client_credentials), the contract the operator bound the client to; with a \
            person's token, their contract, while they are its contractor or an admin."),
        (name = "lines", description = "Line authentication (回線認証) of the caller's contract: \
            the access route and the registered NTT FLET'S line numbers. The same callers as \
            `users`."),
        (name = "operators", description = "Brands and clients of the whole deployment \
            (client_credentials only).")
    )
)]
struct ApiDoc;

/// The security scheme every operation names.
const SCHEME: &str = "sekisho";

/// `GET /{brand}/api/v1/openapi.json`: public, like discovery.
async fn openapi(State(state): State<AppState>, Path(brand): Path<String>) -> Response {
    match auth::brand(&state, &brand).await {
        Ok(b) => Json(document(&state.op.issuer(b.code.as_str()))).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The description for the brand whose issuer is `issuer`, with the request schemas that state
/// rules between members (which utoipa's types cannot say) put in place.
fn document(issuer: &str) -> serde_json::Value {
    let mut doc = serde_json::to_value(typed_document(issuer)).unwrap_or_default();
    doc["components"]["schemas"]["NewClientRequest"] = schema::new_client_schema();
    doc
}

/// The description as utoipa builds it from the handlers and body types.
fn typed_document(issuer: &str) -> Document {
    let mut doc = ApiDoc::openapi();
    doc.servers = Some(vec![Server::new(format!("{issuer}/api/v1"))]);
    let token_url = format!("{issuer}/token");
    let client_scopes = Scopes::from_iter([
        (
            ADMIN_SCOPE,
            "Manage the users and line settings of the contract the client is bound to",
        ),
        (OPERATOR_SCOPE, "Manage brands and clients"),
    ]);
    let code_scopes = Scopes::from_iter([
        ("openid", "Required by every authorization request"),
        (
            ADMIN_SCOPE,
            "Manage the users and line settings of the signed-in contractor's or admin's contract",
        ),
    ]);
    let scheme = OAuth2::with_description(
        [
            Flow::ClientCredentials(ClientCredentials::new(token_url.clone(), client_scopes)),
            Flow::AuthorizationCode(AuthorizationCode::new(
                format!("{issuer}/authorize"),
                token_url,
                code_scopes,
            )),
        ],
        "Access tokens of this brand, sent as `Authorization: Bearer <token>` (RFC 6750). Only \
         clients registered with a scope in their `scope` metadata obtain it.",
    );
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(SCHEME, SecurityScheme::OAuth2(scheme));
    components
        .schemas
        .entry("Error".into())
        .or_insert_with(<schema::ApiErrorBody as utoipa::PartialSchema>::schema);
    for path in doc.paths.paths.values_mut() {
        let ops = [
            &mut path.get,
            &mut path.post,
            &mut path.put,
            &mut path.delete,
            &mut path.patch,
        ];
        for op in ops.into_iter().flatten() {
            add_common_answers(op);
        }
    }
    doc
}

/// The answers every operation can give, whatever it does: no or bad token, a token without the
/// scope or a caller without the right, an internal failure.
fn add_common_answers(op: &mut Operation) {
    let error = || Content::new(Some(Ref::from_schema_name("Error")));
    let challenge = || {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some("`Bearer realm=\"sekisho\", error=…` (RFC 6750 §3)"))
            .build()
    };
    let unauthorized = ResponseBuilder::new()
        .description(
            "`invalid_token`: no bearer token, or one that is not valid here (expired, revoked, \
             of another brand, of a disabled user or an ended contract, of a deleted client)",
        )
        .content("application/json", error())
        .header("WWW-Authenticate", challenge())
        .build();
    let forbidden = "`insufficient_scope`: the token lacks the operation's scope \
         (with `WWW-Authenticate`); `forbidden`: the caller may not do this";
    let server = ResponseBuilder::new()
        .description("`server_error`: an internal failure (logged, without detail here)")
        .content("application/json", error())
        .build();
    let answers = &mut op.responses.responses;
    answers.insert("401".into(), RefOr::T(unauthorized));
    match answers.get_mut("403") {
        Some(RefOr::T(own)) => own.description = format!("{forbidden}. {}", own.description),
        _ => {
            let r: DocResponse = ResponseBuilder::new()
                .description(forbidden)
                .content("application/json", error())
                .header("WWW-Authenticate", challenge())
                .build();
            answers.insert("403".into(), RefOr::T(r));
        }
    }
    answers.insert("500".into(), RefOr::T(server));
}

/// The request body as `T`, or a 400 that says which member is wrong and how, in the
/// description's words: serde's own messages name Rust types ("expected struct InviteRequest",
/// "unknown variant"), which are no business of an API client (issue 15).
fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Syntax first, so that a shape error is never reported as broken JSON or the reverse.
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        return Err(ApiError::bad_request("the body is not a JSON document"));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let what = match inner.classify() {
            serde_json::error::Category::Data => plain_data_error(&inner.to_string()),
            // Valid JSON that a type reads as a syntax error (a number where one of a closed
            // set of names belongs): serde's wording would be about JSON, not the value.
            _ => "is not of the documented type".to_owned(),
        };
        if path == "." {
            ApiError::bad_request(what)
        } else {
            ApiError::bad_request(format!("{path}: {what}"))
        }
    })
}

/// serde's description of a value of the wrong shape, without the position and without Rust's
/// names for types. Known forms are reworded; anything else that could name a type becomes a
/// generic phrase.
fn plain_data_error(message: &str) -> String {
    // serde_json appends " at line L column C": the body is small, the member's path says more.
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    let message = message
        .replacen("unknown variant", "unknown value", 1)
        .replace("expected struct ", "expected an object ")
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected an object")
        .replace("a map", "an object")
        .replace("type: map", "type: object")
        .replace("sequence", "an array");
    // `expected an object InviteRequest`: the type's name follows the reworded phrase.
    let message = match message.find("expected an object ") {
        Some(i) => format!("{}expected an object", &message[..i]),
        None => message,
    };
    let words = [
        "struct",
        "enum",
        "variant",
        "identifier",
        "::",
        "Option",
        "tuple",
        "unit",
    ];
    if words.iter().any(|w| message.contains(w)) {
        "is not of the documented type".into()
    } else {
        message
    }
}

/// The caller's language (descriptions of refusals), from Accept-Language; Japanese by default.
fn lang(headers: &HeaderMap) -> crate::i18n::Lang {
    super::lang(None, headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation names the scheme and the scope its handler checks: the `users` tag needs
    /// `sekisho:admin`, the `operators` tag `sekisho:operator`; every one has an operationId.
    #[test]
    fn every_operation_states_its_scope() {
        let doc = serde_json::to_value(document("https://op.example/VX5")).unwrap();
        let mut count = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                count += 1;
                let want = match op["tags"][0].as_str() {
                    Some("users") | Some("lines") => ADMIN_SCOPE,
                    Some("operators") => OPERATOR_SCOPE,
                    other => panic!("{method} {path}: tag {other:?}"),
                };
                assert_eq!(
                    op["security"],
                    serde_json::json!([{ SCHEME: [want] }]),
                    "{method} {path}"
                );
                assert!(op["operationId"].is_string(), "{method} {path}");
                for status in ["401", "403", "500"] {
                    assert!(
                        op["responses"][status].is_object(),
                        "{method} {path} {status}"
                    );
                }
            }
        }
        assert_eq!(count, 19);
        assert_eq!(
            doc["servers"][0]["url"],
            serde_json::json!("https://op.example/VX5/api/v1")
        );
        assert!(doc["components"]["schemas"]["Error"].is_object());
    }

    /// ISSUE-15: OpenAPI constraints. The hand-written client schema names exactly the fields
    /// `NewClientRequest` deserializes (a field added there fails here until the schema says it),
    /// and every request body refuses unknown members, as the server does.
    #[test]
    fn request_schemas_match_the_body_types() {
        let typed = serde_json::to_value(typed_document("https://op.example/VX5")).unwrap();
        let doc = document("https://op.example/VX5");
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            k.sort();
            k
        };
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            keys(&schemas["NewClientRequest"]),
            keys(&typed["components"]["schemas"]["NewClientRequest"])
        );
        for name in [
            "InviteRequest",
            "EmailChangeRequest",
            "RoleRequest",
            "EnabledRequest",
            "NewBrandRequest",
            "NewClientRequest",
            "NewLineRequest",
            "AccessRouteSetting",
        ] {
            assert_eq!(
                schemas[name]["additionalProperties"],
                serde_json::json!(false),
                "{name}: {}",
                schemas[name]
            );
        }
    }

    /// ISSUE-15: OpenAPI constraints. serde's wording is reworded without Rust type names.
    #[test]
    fn body_errors_name_no_rust_types() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code, reason = "only deserialized")]
        struct Probe {
            email: String,
            role: sekisho_core::model::Role,
            list: Vec<String>,
        }
        let cases = [
            (
                r#"{"email": 5, "role": "user", "list": []}"#,
                "email: invalid type: integer `5`, expected a string",
            ),
            (
                r#"{"email": "a", "role": "king", "list": []}"#,
                "role: unknown value `king`",
            ),
            (
                r#"{"email": "a", "role": 1, "list": []}"#,
                "role: is not of the documented type",
            ),
            (
                r#"{"email": "a", "role": "user", "list": {}}"#,
                "list: invalid type: object, expected an array",
            ),
            (r#"{"email": "a", "role": "user"}"#, "missing field `list`"),
            (
                r#"{"email": "a", "role": "user", "list": [], "x": 1}"#,
                "unknown field `x`",
            ),
            (r#""x""#, "expected an object\""),
            (r#"{"#, "the body is not a JSON document"),
            (
                r#"{"email": "a", "role": "user", "list": []} x"#,
                "the body is not a JSON document",
            ),
        ];
        for (body, want) in cases {
            let e = json_body::<Probe>(body.as_bytes()).unwrap_err();
            let text = format!("{e:?}");
            assert!(text.contains(want), "{body}: {text}");
            for word in [
                "struct",
                "enum",
                "variant",
                "Probe",
                "Role",
                "::",
                " at line ",
            ] {
                assert!(!text.contains(word), "{body}: {text}");
            }
        }
    }
}
