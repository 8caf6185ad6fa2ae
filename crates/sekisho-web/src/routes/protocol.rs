//! The machine-facing endpoints: discovery, JWKS, token, userinfo, revocation, introspection.

use super::api_brand;
use crate::error::{JsonError, TokenError};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use sekisho_oidc::client_auth::Presented as ClientCredentials;
use sekisho_oidc::dpop::Presented;
use sekisho_oidc::{
    discovery, grants, introspect as intro, par as pushed, revoke as rev, userinfo as ui,
    OAuthError,
};
use std::collections::HashMap;

type FormMap = Form<HashMap<String, String>>;

/// The form body of the token, revocation and introspection endpoints, checked as RFC 6749 asks:
/// `application/x-www-form-urlencoded` (§3.2, §2.3.1), each parameter at most once (§3.1). Every
/// refusal is the OAuth JSON error `invalid_request`, never a framework's plain-text answer.
pub struct OAuthForm(HashMap<String, String>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for OAuthForm {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let refuse =
            |why: String| JsonError::from(OAuthError::invalid_request(why)).into_response();
        let form_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_type {
            return Err(refuse(
                "the body must be application/x-www-form-urlencoded".into(),
            ));
        }
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| refuse("the body could not be read (too large?)".into()))?;
        let mut form = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(&body) {
            if form.insert(name.to_string(), value.into_owned()).is_some() {
                return Err(refuse(format!("parameter {name} is repeated")));
            }
        }
        Ok(OAuthForm(form))
    }
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

fn presented(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<ClientCredentials, JsonError> {
    ClientCredentials::from_request(authorization(headers), form).map_err(|e| JsonError {
        error: e,
        basic: true,
    })
}

pub async fn discovery(State(state): State<AppState>, Path(brand): Path<String>) -> Response {
    match api_brand(&state, &brand).await {
        Ok(b) => Json(discovery::metadata(&state.op, b.code.as_str()).await).into_response(),
        Err(r) => r,
    }
}

pub async fn jwks(State(state): State<AppState>, Path(brand): Path<String>) -> Response {
    if let Err(r) = api_brand(&state, &brand).await {
        return r;
    }
    match state.op.keys.jwks().await {
        Ok(set) => (
            [(header::CONTENT_TYPE, "application/jwk-set+json")],
            Json(set),
        )
            .into_response(),
        Err(e) => JsonError::from(OAuthError::from(e)).into_response(),
    }
}

/// The frame of the endpoints where a client authenticates (token, PAR, device authorization,
/// revocation, introspection): the credentials the request presents (malformed ones are the
/// answer), the endpoint's `work`, its success as `answer` makes it, and a refusal as OAuth JSON
/// (with the Basic challenge when Basic was tried).
async fn for_client<T, Fut>(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    work: impl FnOnce(ClientCredentials) -> Fut,
    answer: impl FnOnce(T) -> Response,
) -> Response
where
    Fut: std::future::Future<Output = Result<T, OAuthError>>,
{
    let p = match presented(headers, form) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let basic = p.basic.is_some();
    match work(p).await {
        Ok(v) => answer(v),
        Err(error) => JsonError { error, basic }.into_response(),
    }
}

pub async fn token(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm,
) -> Response {
    let (op, form, h) = (&state.op, &form, &headers);
    let work = |p: ClientCredentials| async move {
        grants::token(op, &brand, &p, form, dpop_proof(h)?).await
    };
    let res = for_client(h, form, work, |t| Json(t).into_response()).await;
    with_dpop_nonce(&state, res).await
}

/// The `DPoP` header's proof: none, or exactly one (RFC 9449 §4.3: two is an invalid proof).
fn dpop_proof(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let mut values = headers.get_all("dpop").iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(OAuthError::new(
            sekisho_oidc::ErrorCode::InvalidDpopProof,
            "send one DPoP header",
        ));
    }
    first
        .map(|v| {
            v.to_str().map_err(|_| {
                OAuthError::new(
                    sekisho_oidc::ErrorCode::InvalidDpopProof,
                    "the DPoP header is not text",
                )
            })
        })
        .transpose()
}

/// When proofs must carry a server nonce, every answer of the endpoints that take proofs gives
/// the current one (RFC 9449 §8), the `use_dpop_nonce` refusals above all.
async fn with_dpop_nonce(state: &AppState, mut res: Response) -> Response {
    if !state.op.config.dpop_require_nonce {
        return res;
    }
    match sekisho_oidc::dpop::nonce(&state.op).await {
        Ok(nonce) => {
            if let Ok(v) = header::HeaderValue::from_str(&nonce) {
                res.headers_mut().insert("dpop-nonce", v);
            }
            res
        }
        Err(e) => JsonError::from(e).into_response(),
    }
}

/// RFC 9126 §2: the pushed authorization request endpoint. 201 with the `request_uri`.
pub async fn par(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm,
) -> Response {
    let (op, form, h) = (&state.op, &form, &headers);
    let work = |p: ClientCredentials| async move {
        pushed::push(op, &brand, &p, form, dpop_proof(h)?).await
    };
    let created = |answer| {
        (
            StatusCode::CREATED,
            [(header::CACHE_CONTROL, "no-store")],
            Json(answer),
        )
            .into_response()
    };
    let res = for_client(h, form, work, created).await;
    with_dpop_nonce(&state, res).await
}

/// RFC 8628 §3.1: the device authorization endpoint.
pub async fn device_authorization(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm,
) -> Response {
    let (op, form) = (&state.op, &form);
    let work = |p: ClientCredentials| async move {
        sekisho_oidc::device::authorize_device(op, &brand, &p, form).await
    };
    let answer = |a| ([(header::CACHE_CONTROL, "no-store")], Json(a)).into_response();
    for_client(&headers, form, work, answer).await
}

async fn userinfo(
    state: &AppState,
    brand: &str,
    headers: &HeaderMap,
    method: &str,
    token: Option<&str>,
) -> Response {
    let dpop_scheme = dpop_token(headers);
    let presented = match (dpop_scheme, token) {
        (Some(t), _) => match dpop_proof(headers) {
            Ok(proof) => Some(Presented::Dpop { token: t, proof }),
            Err(error) => return TokenError { error, dpop: true }.into_response(),
        },
        (None, Some(t)) => Some(Presented::Bearer(t)),
        (None, None) => None,
    };
    let Some(presented) = presented else {
        let mut res = (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"error": "invalid_request", "error_description": "a bearer token is required"}))).into_response();
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"sekisho\""),
        );
        return res;
    };
    let res = match ui::userinfo(&state.op, brand, presented, method).await {
        Ok(claims) => Json(claims).into_response(),
        Err(error) => {
            // Under the scheme the token needs: a bound token shown as a bearer token is told
            // to come back with DPoP.
            let dpop = matches!(presented, Presented::Dpop { .. })
                || matches!(
                    error.code,
                    sekisho_oidc::ErrorCode::InvalidDpopProof
                        | sekisho_oidc::ErrorCode::UseDpopNonce
                )
                || error.description.contains("DPoP-bound: present");
            TokenError { error, dpop }.into_response()
        }
    };
    with_dpop_nonce(state, res).await
}

/// The token of `Authorization: DPoP …` (RFC 9449 §7.1).
fn dpop_token(headers: &HeaderMap) -> Option<&str> {
    authorization(headers)
        .and_then(|h| (h.len() > 5 && h[..5].eq_ignore_ascii_case("dpop ")).then(|| h[5..].trim()))
}

pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    authorization(headers).and_then(|h| {
        (h.len() > 7 && h[..7].eq_ignore_ascii_case("bearer ")).then(|| h[7..].trim())
    })
}

pub async fn userinfo_get(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
) -> Response {
    userinfo(&state, &brand, &headers, "GET", bearer(&headers)).await
}

/// RFC 6750 §2.2 also allows the token in a form body.
pub async fn userinfo_post(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
    body: Result<FormMap, axum::extract::rejection::FormRejection>,
) -> Response {
    let from_form = body.ok().and_then(|Form(f)| f.get("access_token").cloned());
    let token = bearer(&headers).map(str::to_owned).or(from_form);
    userinfo(&state, &brand, &headers, "POST", token.as_deref()).await
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm,
) -> Response {
    let (op, form) = (&state.op, &form);
    let work = |p: ClientCredentials| async move { rev::revoke(op, &brand, &p, form).await };
    for_client(&headers, form, work, |()| StatusCode::OK.into_response()).await
}

pub async fn introspect(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm,
) -> Response {
    let (op, form) = (&state.op, &form);
    let work = |p: ClientCredentials| async move { intro::introspect(op, &brand, &p, form).await };
    for_client(&headers, form, work, |v| Json(v).into_response()).await
}
