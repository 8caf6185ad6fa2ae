//! アクセス経路設定 in the account menu (REQ-LINE-1; contractor only, REQ-MENU-2): the setting
//! screen with the manual's two choices, the confirmation screen (アクセス経路変更確認: for
//! 回線認証のみ a warning that must be acknowledged) and the completion screen. The rules are
//! `sekisho_app::lines`', shared with the admin console's 回線認証 page, which reuses the
//! confirmation step of this module.

use super::account_items::{guard, guard_post};
use super::{page_or_error, see_other, BrandPage};
use crate::i18n::{message, Lang};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_app::directory::{Actor, DirectoryError};
use sekisho_app::lines::{self, LineError};
use sekisho_core::menu::MenuItem;
use sekisho_core::model::{AccessRoute, Brand, User};
use sekisho_oidc::OAuthError;
use sekisho_store::SessionRecord;
use serde::Deserialize;

/// The label of a route, as the manual names it.
pub(super) fn route_label(lang: Lang, route: AccessRoute) -> &'static str {
    message(
        lang,
        match route {
            AccessRoute::LineAndInternet => "ar_line_and_internet",
            AccessRoute::LineOnly => "ar_line_only",
        },
    )
}

/// The setting form, from the setting screen and from the confirmation screen.
#[derive(Deserialize)]
pub struct RouteForm {
    pub(super) csrf_token: Option<String>,
    #[serde(default)]
    route: String,
    /// Present when the confirmation screen was submitted.
    confirm: Option<String>,
    /// The warning of 回線認証のみ acknowledged.
    acknowledged: Option<String>,
}

/// Where the confirmation screen posts and goes back to, and where a saved change leads.
pub(super) struct Flow<'a> {
    pub action: &'a str,
    pub cancel: &'a str,
    pub done: &'a str,
    /// Whether `done` can still be opened from the internet once the route is 回線認証のみ (the
    /// menu's アクセス経路設定 can; the console cannot, REQ-LINE-4).
    pub done_open_when_line_only: bool,
}

/// The posted setting: the confirmation screen first, then (confirmed, and for 回線認証のみ
/// acknowledged) the change, audited, and a redirect to `flow.done`.
pub(super) async fn submit_route(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    session: &SessionRecord,
    actor: &Actor,
    form: &RouteForm,
    flow: Flow<'_>,
) -> Result<Response, OAuthError> {
    let Some(route) = AccessRoute::parse(&form.route) else {
        return Ok(state.pages.message(
            StatusCode::BAD_REQUEST,
            lang,
            Some(brand),
            "ar_title",
            "ar_invalid_choice",
            Some(flow.cancel),
        ));
    };
    let line_only = route == AccessRoute::LineOnly;
    let confirmed = form.confirm.is_some();
    let acknowledged = !line_only || form.acknowledged.as_deref() == Some("on");
    if !confirmed || !acknowledged {
        let current = lines::access_route(state, actor).await.map_err(internal)?;
        let error = (confirmed && !acknowledged).then(|| message(lang, "tf_confirm_required"));
        return Ok(state.pages.render(
            if error.is_some() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            },
            "access_route_confirm.html",
            lang,
            Some(brand),
            context! {
                csrf_token => session.csrf_token,
                current => route_label(lang, current),
                after => route_label(lang, route),
                route => route.as_str(),
                line_only => line_only,
                error => error,
                action => flow.action,
                cancel => flow.cancel,
            },
        ));
    }
    lines::set_access_route(state, brand, actor, route)
        .await
        .map_err(internal)?;
    // 回線認証のみ takes effect at once for a session that did not come over a line (REQ-LINE-4):
    // from here on it reaches アクセス経路設定 only, so the completion is this page, not a
    // redirect into pages it may no longer open.
    if route == AccessRoute::LineOnly
        && !flow.done_open_when_line_only
        && !session.amr.contains(&sekisho_core::oauth::Amr::Line)
    {
        return Ok(state.pages.message(
            StatusCode::OK,
            lang,
            Some(brand),
            "ar_done_title",
            "ar_done_line_only",
            None,
        ));
    }
    Ok(see_other(flow.done, &[]))
}

/// `set_access_route` and `access_route` refuse nothing but internal failures.
fn internal(e: LineError) -> OAuthError {
    match e {
        LineError::Internal(e) => e,
        other => OAuthError::server(other.code()),
    }
}

/// The menu user as an [`Actor`] of `sekisho_app::lines`, or the "not allowed" page (an ended
/// contract's contractor may open the menu for the plan, not this).
async fn menu_actor(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    user: &User,
) -> Result<Result<Actor, Response>, OAuthError> {
    match Actor::load(state, &user.id).await {
        Ok(a) => Ok(Ok(a)),
        Err(DirectoryError::Internal(e)) => Err(e),
        Err(_) => Ok(Err(state.pages.error(
            StatusCode::FORBIDDEN,
            lang,
            Some(brand),
            "error_not_allowed",
            None,
        ))),
    }
}

/// `GET /{brand}/account/access-route`: the setting screen (アクセス経路設定).
pub async fn page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (session, _, contract) =
            or_page!(guard(&state, &brand, lang, &headers, MenuItem::AccessRoute).await?);
        let code = brand.code.as_str();
        Ok(state.pages.render(
            StatusCode::OK,
            "access_route.html",
            lang,
            Some(&brand),
            context! {
                csrf_token => session.csrf_token,
                current => route_label(lang, contract.access_route),
                line_only => contract.access_route == AccessRoute::LineOnly,
                action => format!("/{code}/account/access-route"),
                back => format!("/{code}/account"),
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `POST /{brand}/account/access-route`: the confirmation screen, then the change.
pub async fn submit(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<RouteForm>,
) -> Response {
    let result = async {
        let (session, user, _) = or_page!(
            guard_post(
                &state,
                &brand,
                lang,
                &headers,
                MenuItem::AccessRoute,
                form.csrf_token.as_deref(),
            )
            .await?
        );
        let actor = or_page!(menu_actor(&state, &brand, lang, &user).await?);
        let code = brand.code.as_str();
        let (action, cancel, done) = (
            format!("/{code}/account/access-route"),
            format!("/{code}/account/access-route"),
            format!("/{code}/account/access-route/done"),
        );
        submit_route(
            &state,
            &brand,
            lang,
            &session,
            &actor,
            &form,
            Flow {
                done_open_when_line_only: true,
                action: &action,
                cancel: &cancel,
                done: &done,
            },
        )
        .await
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `GET /{brand}/account/access-route/done`: the completion screen (アクセス経路完了).
pub async fn done(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (_, _, contract) =
            or_page!(guard(&state, &brand, lang, &headers, MenuItem::AccessRoute).await?);
        let now = format!(
            "{}: {}",
            message(lang, "ar_current"),
            route_label(lang, contract.access_route)
        );
        Ok(state.pages.render(
            StatusCode::OK,
            "account_form.html",
            lang,
            Some(&brand),
            context! {
                title => message(lang, "ar_done_title"),
                intro => vec![message(lang, "ar_done").to_owned(), now],
                back => format!("/{}/account", brand.code),
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}
