//! The contractor's pending changes in the account menu (ISSUE-16, REQ-USER-4, -6, -7):
//! ログイン方法の設定 is a page first and the change starts on its button (opening the page
//! changes nothing, so an email change stays possible), and the login-method and email-change
//! pages show what is pending — which change, to which address, until when — with 取り消す.

use super::account_items::{guard, guard_post};
use super::{page_or_error, see_other, BrandPage};
use crate::i18n::{message, Lang};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::{context, Value};
use sekisho_app::directory::{self, DirectoryError};
use sekisho_app::tickets::{self, PendingChange};
use sekisho_core::menu::MenuItem;
use sekisho_core::model::Brand;
use sekisho_core::tickets::TicketPurpose;
use sekisho_oidc::OAuthError;
use serde::{Deserialize, Serialize};

/// A pending change as the pages show it.
#[derive(Serialize)]
pub(super) struct PendingView {
    /// Which change.
    pub what: &'static str,
    /// The new address of an email change.
    pub new_email: Option<String>,
    /// Until when its link works (Japan time).
    pub until: String,
    pub purpose: TicketPurpose,
}

impl PendingView {
    pub(super) fn new(lang: Lang, change: &PendingChange) -> Self {
        Self {
            what: message(lang, &format!("pc_{}", change.purpose)),
            new_email: change.new_email.clone(),
            until: crate::pages::date(change.expires_at),
            purpose: change.purpose,
        }
    }
}

/// The menu page a cancellation came from and goes back to (a closed list).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MenuPage {
    LoginMethod,
    Email,
}

impl MenuPage {
    fn item(self) -> MenuItem {
        match self {
            MenuPage::LoginMethod => MenuItem::LoginMethod,
            MenuPage::Email => MenuItem::EmailChange,
        }
    }
    fn path(self) -> &'static str {
        match self {
            MenuPage::LoginMethod => "login-method",
            MenuPage::Email => "email",
        }
    }
    /// The page named by a form's `from` (`email`; anything else is the login-method page).
    fn parse(from: Option<&str>) -> Self {
        match from {
            Some("email") => MenuPage::Email,
            _ => MenuPage::LoginMethod,
        }
    }
}

/// `?done=cancelled|none`: what a cancellation did, shown on the page it went back to.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

impl DoneQuery {
    pub(super) fn notice(&self, lang: Lang) -> Option<&'static str> {
        let key = match self.done.as_deref()? {
            "cancelled" => "pc_cancelled",
            "none" => "pc_none",
            _ => return None,
        };
        Some(message(lang, key))
    }
}

/// The context of `pending_change.html` for the user's pending change `change` on the page
/// `from`: `pending` (absent when nothing is pending) and `pending_notice`.
pub(super) fn context_for(
    brand: &Brand,
    lang: Lang,
    change: Option<&PendingChange>,
    from: MenuPage,
    done: &DoneQuery,
) -> Value {
    let pending = change.map(|c| {
        context! {
            cancel => format!("/{}/account/pending/cancel", brand.code),
            from => from.path(),
            ..Value::from_serialize(PendingView::new(lang, c))
        }
    });
    context! { pending => pending, pending_notice => done.notice(lang) }
}

/// `GET /{brand}/account/login-method`: ログイン方法の設定 for the contractor (basic plan): what the
/// change is, the current method, what is pending, and the button that starts the change.
/// Nothing is written: merely opening the page must not make a change pending (REQ-USER-7).
pub async fn page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(done): Query<DoneQuery>,
) -> Response {
    let result = async {
        let (session, user, _) =
            or_page!(guard(&state, &brand, lang, &headers, MenuItem::LoginMethod).await?);
        let change = tickets::pending_change(&state, &user.id).await?;
        // An email change pending blocks this one (REQ-USER-7): the page says so, and offers
        // its cancellation instead of a button that would be refused.
        let blocked = change
            .as_ref()
            .is_some_and(|c| c.purpose == TicketPurpose::EmailChange);
        let from = MenuPage::LoginMethod;
        let pending = context_for(&brand, lang, change.as_ref(), from, &done);
        Ok(state.pages.render(
            StatusCode::OK,
            "login_method_start.html",
            lang,
            Some(&brand),
            context! {
                current => message(lang, &format!("method_{}", user.login_method)),
                blocked => blocked,
                action => format!("/{}/account/login-method", brand.code),
                csrf_token => session.csrf_token,
                back => format!("/{}/account", brand.code),
                ..pending
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

/// `POST /{brand}/account/login-method`: starts the contractor's own login-method change: a
/// fresh login-method-change ticket, opened at once (REQ-USER-4; no mail), unless an email change
/// is pending (REQ-USER-7).
pub async fn start(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let result = async {
        let (_, user, _) = or_page!(
            guard_post(
                &state,
                &brand,
                lang,
                &headers,
                MenuItem::LoginMethod,
                form.csrf_token.as_deref(),
            )
            .await?
        );
        match directory::login_method_change_ticket(&state, &user).await {
            Ok(token) => {
                let ticket = url::form_urlencoded::byte_serialize(token.expose().as_bytes())
                    .collect::<String>();
                Ok(see_other(
                    &format!("/{}/login-method?ticket={ticket}", brand.code),
                    &[],
                ))
            }
            Err(DirectoryError::Internal(e)) => Err(e),
            Err(e) => Ok(state.pages.message(
                StatusCode::CONFLICT,
                lang,
                Some(&brand),
                "menu_login_method",
                e.message_key(),
                Some(&format!("/{}/account/login-method", brand.code)),
            )),
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct CancelForm {
    csrf_token: Option<String>,
    from: Option<String>,
}

/// `POST /{brand}/account/pending/cancel`: the user cancels their own pending change; back to
/// the page it came from, which says so.
pub async fn cancel(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<CancelForm>,
) -> Response {
    let result = async {
        let from = MenuPage::parse(form.from.as_deref());
        let (_, user, _) = or_page!(
            guard_post(
                &state,
                &brand,
                lang,
                &headers,
                from.item(),
                form.csrf_token.as_deref(),
            )
            .await?
        );
        let done = match directory::cancel_own_change(&state, &brand, &user).await {
            Ok(Some(_)) => "cancelled",
            Ok(None) => "none",
            Err(DirectoryError::Internal(e)) => return Err(e),
            Err(e) => return Err(OAuthError::server(e.message_key())),
        };
        Ok(see_other(
            &format!("/{}/account/{}?done={done}", brand.code, from.path()),
            &[],
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}
