//! The mailed link of the 回線認証のみ contractor's internet recovery (REQ-LINE-4): `GET` shows a
//! button (no state changes on GET), `POST` spends the link and signs the browser in to the
//! account menu, which then reaches アクセス経路設定 only.

use super::login::csrf_failure;
use super::outcome::signed_in_cookies;
use super::registration::ticket_invalid;
use super::{page_or_error, see_other, with_cookies, BrandPage, TicketQuery};
use crate::session;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_app::line_recovery;
use serde::Deserialize;

/// `GET /{brand}/line-recovery?ticket=…`.
pub async fn page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<TicketQuery>,
) -> Response {
    let result = async {
        let code = brand.code.as_str();
        if line_recovery::open(&state, code, &q.ticket)
            .await?
            .is_none()
        {
            return Ok(ticket_invalid(&state, &brand, lang));
        }
        let (session, cookie) = session::ensure(&state, code, &headers).await?;
        let page = state.pages.render(
            StatusCode::OK,
            "line_recovery.html",
            lang,
            Some(&brand),
            context! {
                action => format!("/{code}/line-recovery"),
                csrf_token => session.csrf_token,
                ticket => q.ticket,
            },
        );
        Ok(with_cookies(page, &cookie.into_iter().collect::<Vec<_>>()))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct RecoveryForm {
    csrf_token: Option<String>,
    #[serde(default)]
    ticket: String,
}

/// `POST /{brand}/line-recovery`.
pub async fn confirm(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<RecoveryForm>,
) -> Response {
    let result = async {
        let code = brand.code.as_str();
        let Some(session) =
            session::with_csrf(&state, code, &headers, form.csrf_token.as_deref()).await?
        else {
            return Ok(csrf_failure(&state, lang, &brand));
        };
        match line_recovery::complete(&state, &brand, lang, &session, &form.ticket).await? {
            None => Ok(ticket_invalid(&state, &brand, lang)),
            Some(done) => {
                let cookies = signed_in_cookies(&state, code, &done);
                Ok(see_other(&format!("/{code}/account"), &cookies))
            }
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}
