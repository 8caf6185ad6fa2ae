//! The admin console's 回線認証 page (REQ-LINE-1, REQ-LINE-2; the contract's contractor and
//! admins): ①アクセス経路選択 through the same confirmation as the account menu's アクセス経路設定,
//! and ②回線番号登録: register a number, list the contract's numbers with their registration
//! dates, remove one after a confirmation. The rules are `sekisho_app::lines`', shared with the
//! menu and the admin API.
//!
//! Every change is a CSRF-protected POST answered with a redirect (303) to the page with a notice,
//! so a reload does not repeat it; a refused number is shown on the page with the message that
//! names the two valid forms, the typed value kept.

use super::access_route::{route_label, submit_route, Flow, RouteForm};
use super::admin_console::{actor, posting_actor};
use super::console::{Frame, Section};
use super::{page_or_error, see_other, BrandPage};
use crate::i18n::{message, Lang};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_app::directory::Actor;
use sekisho_app::lines::{self, LineError, Registered};
use sekisho_core::model::{AccessRoute, Brand};
use sekisho_oidc::OAuthError;
use sekisho_store::SessionRecord;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct NoticeQuery {
    done: Option<String>,
}

/// The notice of a finished action, from a closed list.
fn notice(lang: Lang, done: Option<&str>) -> Option<&'static str> {
    let key = match done? {
        "route" => "ar_done",
        "added" => "lines_done_added",
        "already" => "lines_done_already",
        "removed" => "lines_done_removed",
        _ => return None,
    };
    Some(message(lang, key))
}

/// What the page shows besides the stored state: a notice, or a refusal and the typed number.
struct Shown<'a> {
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<&'static str>,
    number: &'a str,
}

async fn render(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    session: &SessionRecord,
    actor: &Actor,
    shown: Shown<'_>,
) -> Result<Response, OAuthError> {
    let route = lines::access_route(state, actor).await.map_err(internal)?;
    let rows: Vec<minijinja::Value> = lines::list(state, actor)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|l| {
            context! {
                number => l.number,
                registered => crate::pages::date(l.created_at),
            }
        })
        .collect();
    let frame = Frame {
        state,
        brand,
        lang,
        actor,
    };
    Ok(frame.render(
        Section::Lines,
        shown.status,
        "admin_lines.html",
        context! {
            csrf_token => session.csrf_token,
            current => route_label(lang, route),
            line_only => route == AccessRoute::LineOnly,
            lines => rows,
            notice => shown.notice,
            error => shown.error,
            number => shown.number,
        },
    ))
}

/// Listing and the route never refuse but for internal failures.
fn internal(e: LineError) -> OAuthError {
    match e {
        LineError::Internal(e) => e,
        other => OAuthError::server(other.code()),
    }
}

/// `GET /{brand}/admin/lines`.
pub async fn page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let result = async {
        let (session, actor) = or_page!(actor(&state, &brand, lang, &headers).await?);
        let shown = Shown {
            status: StatusCode::OK,
            notice: notice(lang, q.done.as_deref()),
            error: None,
            number: "",
        };
        render(&state, &brand, lang, &session, &actor, shown).await
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `POST /{brand}/admin/lines/access-route`: ①アクセス経路選択, through the confirmation screen.
pub async fn access_route(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<RouteForm>,
) -> Response {
    let result = async {
        let (session, actor) = or_page!(
            posting_actor(&state, &brand, lang, &headers, form.csrf_token.as_deref()).await?
        );
        let code = brand.code.as_str();
        let (action, cancel, done) = (
            format!("/{code}/admin/lines/access-route"),
            format!("/{code}/admin/lines"),
            format!("/{code}/admin/lines?done=route"),
        );
        submit_route(
            &state,
            &brand,
            lang,
            &session,
            &actor,
            &form,
            Flow {
                done_open_when_line_only: false,
                action: &action,
                cancel: &cancel,
                done: &done,
            },
        )
        .await
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct AddForm {
    csrf_token: Option<String>,
    #[serde(default)]
    number: String,
}

/// `POST /{brand}/admin/lines/add`: ②回線番号登録 (REQ-LINE-2).
pub async fn add(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<AddForm>,
) -> Response {
    let result = async {
        let (session, actor) = or_page!(
            posting_actor(&state, &brand, lang, &headers, form.csrf_token.as_deref()).await?
        );
        let back = format!("/{}/admin/lines", brand.code);
        match lines::add(&state, &brand, &actor, &form.number).await {
            Ok(Registered::Added(_)) => Ok(see_other(&format!("{back}?done=added"), &[])),
            Ok(Registered::AlreadyRegistered(_)) => {
                Ok(see_other(&format!("{back}?done=already"), &[]))
            }
            Err(LineError::Internal(e)) => Err(e),
            Err(e) => {
                let status = match e {
                    LineError::Taken => StatusCode::CONFLICT,
                    _ => StatusCode::BAD_REQUEST,
                };
                let shown = Shown {
                    status,
                    notice: None,
                    error: Some(message(lang, e.message_key())),
                    number: &form.number,
                };
                render(&state, &brand, lang, &session, &actor, shown).await
            }
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// The number of the path, if it is one of the contract's lines; else the "not registered" page.
async fn own_line(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    actor: &Actor,
    number: &str,
) -> Result<Option<Response>, OAuthError> {
    let listed = lines::list(state, actor).await.map_err(internal)?;
    if listed.iter().any(|l| l.number == number) {
        return Ok(None);
    }
    Ok(Some(not_registered(state, brand, lang)))
}

fn not_registered(state: &AppState, brand: &Brand, lang: Lang) -> Response {
    let back = format!("/{}/admin/lines", brand.code);
    state.pages.message(
        StatusCode::NOT_FOUND,
        lang,
        Some(brand),
        "error_title",
        "line_not_found",
        Some(&back),
    )
}

/// `GET /{brand}/admin/lines/{number}/remove`: the confirmation before removing.
pub async fn remove_page(
    State(state): State<AppState>,
    Path((code, number)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (session, actor) = or_page!(actor(&state, &brand, lang, &headers).await?);
        if let Some(page) = own_line(&state, &brand, lang, &actor, &number).await? {
            return Ok(page);
        }
        let question = message(lang, "lines_remove_question").replace("{number}", &number);
        let frame = Frame {
            state: &state,
            brand: &brand,
            lang,
            actor: &actor,
        };
        Ok(frame.render(
            Section::Lines,
            StatusCode::OK,
            "admin_confirm.html",
            context! {
                title => message(lang, "lines_remove"),
                intro => vec![question],
                checkbox => message(lang, "lines_remove_checkbox"),
                submit => message(lang, "lines_remove"),
                action => format!("/{code}/admin/lines/{number}/remove"),
                hidden => Vec::<minijinja::Value>::new(),
                csrf_token => session.csrf_token,
                cancel => format!("/{code}/admin/lines"),
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct RemoveForm {
    csrf_token: Option<String>,
    confirmed: Option<String>,
}

/// `POST /{brand}/admin/lines/{number}/remove`: removes once confirmed.
pub async fn remove(
    State(state): State<AppState>,
    Path((code, number)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<RemoveForm>,
) -> Response {
    let result = async {
        let (_, actor) = or_page!(
            posting_actor(&state, &brand, lang, &headers, form.csrf_token.as_deref()).await?
        );
        if form.confirmed.as_deref() != Some("on") {
            return Ok(see_other(
                &format!("/{code}/admin/lines/{number}/remove"),
                &[],
            ));
        }
        match lines::remove(&state, &brand, &actor, &number).await {
            Ok(()) => Ok(see_other(&format!("/{code}/admin/lines?done=removed"), &[])),
            Err(LineError::Internal(e)) => Err(e),
            Err(_) => Ok(not_registered(&state, &brand, lang)),
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}
