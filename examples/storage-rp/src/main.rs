//! storage-rp: the storage frontend as an ordinary relying party of Sekisho.
//!
//! It deliberately uses only the public `openidconnect` crate — no Sekisho code — so it shows
//! that the OP works with an off-the-shelf RP library: discovery, authorization code + PKCE
//! (S256) + nonce + state, client_secret_basic, ID-token verification against the JWKS, at_hash,
//! userinfo, refresh and RP-initiated logout.

mod config;
mod oidc;
mod pages;
mod session;

use anyhow::Context;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use config::Config;
use oidc::Oidc;
use session::{Session, Sessions, COOKIE_NAME, LOGIN_TIMEOUT};
use std::collections::HashMap;
use std::sync::Arc;

struct AppState {
    cfg: Config,
    oidc: Oidc,
    sessions: Sessions,
}

type Shared = Arc<AppState>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "storage_rp=info".into()),
        )
        .init();

    let cfg = Config::from_env()?;
    let oidc = Oidc::new(&cfg)?;

    // Try discovery once now for early feedback, but don't insist: the OP may start later, and
    // every request that needs it discovers again until it succeeds.
    if let Err(e) = oidc.provider().await {
        tracing::warn!("OP not reachable yet ({e:#}); will retry on the first login");
    }

    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    tracing::info!(
        "storage-rp on http://{} (base URL {}, issuer {}, client_id {})",
        cfg.listen,
        cfg.base_url,
        cfg.issuer,
        cfg.client_id
    );

    let state = Arc::new(AppState {
        cfg,
        oidc,
        sessions: Sessions::default(),
    });
    let app = Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/refresh", post(refresh))
        .route("/logout", get(logout))
        .with_state(state);

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Errors become pages, never panics or bare 500s.
// ---------------------------------------------------------------------------------------------

struct AppError {
    status: StatusCode,
    title: String,
    detail: String,
}

impl AppError {
    fn bad_request(title: &str, detail: impl Into<String>) -> Self {
        AppError {
            status: StatusCode::BAD_REQUEST,
            title: title.to_string(),
            detail: detail.into(),
        }
    }
}

/// Anything that went wrong talking to the OP: 502, with the whole cause chain on the page.
impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        tracing::warn!("{e:#}");
        AppError {
            status: StatusCode::BAD_GATEWAY,
            title: "OP とのやり取りに失敗しました / Talking to the OpenID Provider failed"
                .to_string(),
            detail: format!("{e:#}"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status, pages::error(&self.title, &self.detail)).into_response()
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers.
// ---------------------------------------------------------------------------------------------

fn session_id(jar: &CookieJar) -> Option<String> {
    jar.get(COOKIE_NAME).map(|c| c.value().to_string())
}

/// Query strings are parsed by hand so that odd input gives our error page rather than axum's
/// plain-text rejection, and so that a repeated parameter (forbidden by RFC 6749 §3.1) is caught.
fn parse_query(raw: Option<String>) -> Result<HashMap<String, String>, AppError> {
    let mut params = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if params.insert(k.to_string(), v.to_string()).is_some() {
            return Err(AppError::bad_request(
                "パラメータが重複しています / A parameter is repeated",
                k.to_string(),
            ));
        }
    }
    Ok(params)
}

/// `GET /` — the sign-in link, or what we know about the signed-in user. Also where the OP sends
/// the browser after logout, with the `state` we gave it.
async fn home(State(app): State<Shared>, jar: CookieJar, RawQuery(raw): RawQuery) -> Response {
    let returned_state = parse_query(raw).ok().and_then(|mut q| q.remove("state"));
    let issuer = app.oidc.issuer();

    let Some(sid) = session_id(&jar) else {
        let flash = returned_state
            .is_some()
            .then_some("ログアウト後の戻りですが、セッションがありません / Back from logout, but no session cookie");
        return pages::signed_out(issuer, flash).into_response();
    };

    let page = app.sessions.with(&sid, |s| {
        if let Some(st) = returned_state {
            // Back from the OP's end_session endpoint: the state must be the one we sent.
            s.flash = Some(match s.logout_state.take() {
                Some(expected) if expected == st => {
                    "OP からもログアウトしました (state 一致) / Signed out at the OP too (state matches)"
                        .to_string()
                }
                _ => "state が一致しません — このログアウト応答は無視します / Unexpected state; ignoring this logout response"
                    .to_string(),
            });
        }
        let flash = s.flash.take();
        match &s.signed_in {
            Some(si) => pages::signed_in(issuer, si, flash.as_deref()),
            None => pages::signed_out(issuer, flash.as_deref()),
        }
    });
    page.unwrap_or_else(|| pages::signed_out(issuer, None))
        .into_response()
}

/// `GET /login` — remember state, nonce and PKCE verifier server-side, then off to the OP.
async fn login(State(app): State<Shared>, jar: CookieJar) -> Result<Response, AppError> {
    let (url, pending) = app.oidc.start_login().await?;

    let existing = session_id(&jar).and_then(|sid| app.sessions.with(&sid, |_| ()).map(|()| sid));
    let sid = match existing {
        Some(sid) => sid,
        None => app.sessions.insert(Session::new()),
    };
    app.sessions.with(&sid, |s| s.add_pending(pending));

    let jar = jar.add(session::cookie(sid, app.cfg.cookie_secure()));
    Ok((jar, Redirect::to(url.as_str())).into_response())
}

/// `GET /callback` — the authorization response.
#[allow(
    clippy::disallowed_methods,
    reason = "the example RP is an independent program on the wall clock, not Sekisho code"
)]
async fn callback(
    State(app): State<Shared>,
    jar: CookieJar,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let params = parse_query(raw)?;
    let sid = session_id(&jar);

    // Look the state up first (and use it up), whatever the response says.
    let pending = match (&sid, params.get("state")) {
        (Some(sid), Some(state)) => app.sessions.with(sid, |s| s.take_pending(state)).flatten(),
        _ => None,
    };

    if let Some(error) = params.get("error") {
        let mut detail = format!("error: {error}");
        for key in ["error_description", "error_uri", "iss"] {
            if let Some(v) = params.get(key) {
                detail.push_str(&format!("\n{key}: {v}"));
            }
        }
        if pending.is_none() {
            detail.push_str(
                "\n(state が一致しないため、この応答が本物かは不明です / state did not match a login we started)",
            );
        }
        return Err(AppError::bad_request(
            "OP がエラーを返しました / The OpenID Provider returned an error",
            detail,
        ));
    }

    let Some(sid) = sid else {
        return Err(AppError::bad_request(
            "セッションがありません / No session",
            "セッション cookie がありません。もう一度ログインしてください。\nThe session cookie is missing; please sign in again.",
        ));
    };
    let Some(pending) = pending else {
        return Err(AppError::bad_request(
            "state が一致しません / State mismatch",
            "この応答は、このブラウザで始めたログインのものではありません (または使用済みです)。\n\
             This response does not belong to a sign-in started in this browser, or was already used.",
        ));
    };
    if pending.started.elapsed() > LOGIN_TIMEOUT {
        return Err(AppError::bad_request(
            "時間切れです / Timed out",
            "ログインに時間がかかりすぎました。もう一度どうぞ。\nThe sign-in took too long; please try again.",
        ));
    }

    app.oidc
        .check_response_iss(params.get("iss").map(String::as_str))
        .await
        .map_err(|e| {
            AppError::bad_request(
                "認可応答が不正です / Invalid authorization response",
                format!("{e:#}"),
            )
        })?;

    let Some(code) = params.get("code") else {
        return Err(AppError::bad_request(
            "code がありません / No code",
            "認可応答に code も error もありません。\nThe authorization response has neither code nor error.",
        ));
    };

    let signed_in = app.oidc.finish_login(code.clone(), pending).await?;
    tracing::info!(sub = %signed_in.claims.sub, "signed in");

    // A new session id at sign-in (against session fixation). Logins still pending in other
    // tabs are dropped with the old session; they'd have to start again.
    app.sessions.remove(&sid);
    let mut session = Session::new();
    session.flash = Some("ログインしました / Signed in".to_string());
    session.signed_in = Some(signed_in);
    let new_sid = app.sessions.insert(session);

    let jar = jar.add(session::cookie(new_sid, app.cfg.cookie_secure()));
    Ok((jar, Redirect::to("/")).into_response())
}

/// `POST /refresh` — use the refresh token, then back to `/` (post/redirect/get).
async fn refresh(State(app): State<Shared>, jar: CookieJar) -> Result<Response, AppError> {
    let not_signed_in = || {
        AppError::bad_request(
            "ログインしていません / Not signed in",
            "先にログインしてください。\nPlease sign in first.",
        )
    };
    let sid = session_id(&jar).ok_or_else(not_signed_in)?;

    // Copy out what the refresh needs: the session lock is not held while we wait for the OP.
    let inputs = app
        .sessions
        .with(&sid, |s| {
            s.signed_in.as_ref().map(|si| {
                (
                    si.refresh_token.clone(),
                    si.claims.clone(),
                    si.nonce.clone(),
                )
            })
        })
        .flatten();
    let (refresh_token, claims, nonce) = inputs.ok_or_else(not_signed_in)?;
    let refresh_token = refresh_token.ok_or_else(|| {
        AppError::bad_request(
            "リフレッシュトークンがありません / No refresh token",
            "OP はリフレッシュトークンを発行しませんでした (offline_access が許可されていません)。\n\
             The OP issued no refresh token (offline_access was not granted).",
        )
    })?;

    let refreshed = app.oidc.refresh(&refresh_token, &claims, &nonce).await?;

    app.sessions.with(&sid, |s| {
        // Signed out in another tab meanwhile: drop the new tokens.
        let Some(si) = s.signed_in.as_mut() else {
            return;
        };
        si.access_token = refreshed.access_token;
        // No new refresh token in the response means the old one stays valid (RFC 6749 §6).
        if let Some(rt) = refreshed.refresh_token {
            si.refresh_token = Some(rt);
        }
        si.expires_at = refreshed.expires_at;
        if refreshed.scopes.is_some() {
            si.scopes = refreshed.scopes;
        }
        if let Some((id_token, claims)) = refreshed.id_token {
            si.id_token = id_token;
            si.claims = claims;
        }
        si.userinfo = refreshed.userinfo;
        si.refreshed_times += 1;
        s.flash = Some(match si.expires_at {
            Some(t) => format!(
                "トークンを更新しました。新しい有効期限: {} / Tokens refreshed; new expiry above",
                oidc::show_time(oidc::unix_of(t))
            ),
            None => "トークンを更新しました / Tokens refreshed".to_string(),
        });
    });
    Ok(Redirect::to("/").into_response())
}

/// `GET /logout` — sign out here, then RP-initiated logout at the OP.
async fn logout(State(app): State<Shared>, jar: CookieJar) -> Response {
    let Some(sid) = session_id(&jar) else {
        return Redirect::to("/").into_response();
    };
    // Local sign-out comes first and happens whatever the OP says.
    let Some(signed_in) = app.sessions.with(&sid, |s| s.signed_in.take()).flatten() else {
        return Redirect::to("/").into_response();
    };
    tracing::info!(sub = %signed_in.claims.sub, "signing out");

    match app.oidc.logout_url(&signed_in.id_token).await {
        Ok(Some((url, state))) => {
            app.sessions
                .with(&sid, |s| s.logout_state = Some(state.secret().clone()));
            Redirect::to(url.as_str()).into_response()
        }
        Ok(None) => {
            app.sessions.with(&sid, |s| {
                s.flash = Some(
                    "このアプリからログアウトしました。OP は end_session_endpoint を公開していません。\n\
                     Signed out here; the OP advertises no end_session_endpoint."
                        .to_string(),
                )
            });
            Redirect::to("/").into_response()
        }
        Err(e) => {
            tracing::warn!("{e:#}");
            app.sessions.with(&sid, |s| {
                s.flash = Some(format!(
                    "このアプリからはログアウトしましたが、OP に連絡できませんでした / Signed out here, but could not reach the OP: {e:#}"
                ))
            });
            Redirect::to("/").into_response()
        }
    }
}
