//! The account menu (認証・契約情報変更メニュー, REQ-MENU-1): its own login page, and a menu that
//! lists only the items the signed-in person may use (`sekisho_core::menu`, REQ-MENU-2).

use super::{brand, lang, page_or_error, see_other, BrandPage};
use crate::error::PageError;
use crate::i18n::{message, Lang};
use crate::routes::login;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use sekisho_core::login::Continuation;
use sekisho_core::menu::{allowed, visible_groups, MenuGroup, MenuItem, MenuSubject};
use sekisho_core::model::{Brand, User};
use sekisho_oidc::OAuthError;
use sekisho_store::SessionRecord;
use serde::Serialize;

/// The signed-in session and its user, if the browser has one for this brand.
pub async fn signed_in(
    state: &AppState,
    code: &str,
    headers: &HeaderMap,
) -> Result<Option<(SessionRecord, User)>, OAuthError> {
    let Some(session) = crate::session::current(state, code, headers).await? else {
        return Ok(None);
    };
    let Some(user_id) = session.user_id.clone() else {
        return Ok(None);
    };
    Ok(state
        .op
        .store
        .find_user(&user_id)
        .await?
        .map(|u| (session, u)))
}

pub fn to_account_login(code: &str) -> Response {
    see_other(&format!("/{code}/account/login"), &[])
}

/// The console's login page: the account menu's, going back to the console (ISSUE-16).
pub fn console_login_path(code: &str) -> String {
    format!("/{code}/account/login?next=console")
}

pub fn to_console_login(code: &str) -> Response {
    see_other(&console_login_path(code), &[])
}

/// `?next=console` on the account login page: where the login goes on.
#[derive(serde::Deserialize)]
pub struct AccountLoginQuery {
    next: Option<String>,
}

/// Who is at the menu, for the permission table. A 回線認証のみ contract's session that did not
/// come over a line is the contractor's recovery path (REQ-LINE-4).
pub async fn subject(
    state: &AppState,
    session: &SessionRecord,
    user: &User,
) -> Result<MenuSubject, OAuthError> {
    let contract = state
        .op
        .store
        .find_contract(&user.contract_id)
        .await?
        .ok_or_else(|| OAuthError::server("user without contract"))?;
    Ok(MenuSubject {
        role: user.role,
        plan: contract.plan,
        login_method: user.login_method,
        contract_created_at: contract.created_at,
        recovery_only: recovery_only(&contract, session),
    })
}

/// Whether this session reaches a 回線認証のみ contract from the internet (REQ-LINE-4).
pub fn recovery_only(contract: &sekisho_core::model::Contract, session: &SessionRecord) -> bool {
    contract.access_route == sekisho_core::model::AccessRoute::LineOnly
        && !session.amr.contains(&sekisho_core::oauth::Amr::Line)
}

#[derive(Serialize)]
struct Entry {
    href: String,
    label: &'static str,
}

/// One heading of the menu with the items under it (ISSUE-16: the manual's three groups).
#[derive(Serialize)]
struct Group {
    id: &'static str,
    heading: &'static str,
    intro: &'static str,
    note: Option<&'static str>,
    items: Vec<Entry>,
}

/// The heading, introduction and note of `group`, as the manual words them. The credentials'
/// note is about メールアドレス変更, so it shows only with that item.
fn group(lang: Lang, code: &str, group: MenuGroup, items: &[MenuItem]) -> Group {
    let note = match group {
        MenuGroup::Credentials => items
            .contains(&MenuItem::EmailChange)
            .then_some("menu_group_credentials_note"),
        MenuGroup::Settings => Some("menu_group_settings_note"),
        // 解約 is offered on the basic plan only: a contractor who sees プラン変更 without it is on
        // the free trial, which the manual's ※2 says ends by itself.
        MenuGroup::Contract => (items.contains(&MenuItem::PlanChange)
            && !items.contains(&MenuItem::Cancellation))
        .then_some("menu_group_contract_trial_note"),
    };
    Group {
        id: group.as_str(),
        heading: message(lang, &format!("menu_group_{group}")),
        intro: message(lang, &format!("menu_group_{group}_intro")),
        note: note.map(|k| message(lang, k)),
        items: items
            .iter()
            .map(|i| Entry {
                href: href(code, *i),
                label: message(lang, &format!("menu_{i}")),
            })
            .collect(),
    }
}

fn href(code: &str, item: MenuItem) -> String {
    match item {
        MenuItem::PasswordChange => format!("/{code}/account/password"),
        MenuItem::TwoFactor => format!("/{code}/account/two-factor"),
        MenuItem::LoginMethod => format!("/{code}/account/login-method"),
        MenuItem::EmailChange => format!("/{code}/account/email"),
        MenuItem::ContractInfo => format!("/{code}/account/contract"),
        MenuItem::ActiveDirectory => format!("/{code}/account/active-directory"),
        MenuItem::PlanChange => format!("/{code}/account/plan"),
        MenuItem::Cancellation => format!("/{code}/account/cancel"),
        MenuItem::AccessRoute => format!("/{code}/account/access-route"),
    }
}

pub async fn menu_page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    session: &SessionRecord,
    user: &User,
    notice: Option<&str>,
) -> Result<Response, OAuthError> {
    let who = subject(state, session, user).await?;
    // Which items show is the permission table's alone (REQ-MENU-2); grouping only arranges them.
    let groups: Vec<Group> = visible_groups(who, state.op.now())
        .into_iter()
        .map(|(g, items)| group(lang, brand.code.as_str(), g, &items))
        .collect();
    Ok(state.pages.render(
        StatusCode::OK,
        "account_menu.html",
        lang,
        Some(brand),
        context! {
            groups => groups,
            email => user.email.as_str(),
            csrf_token => session.csrf_token,
            notice => notice,
            // The recovery path of a 回線認証のみ contract does not lead to the console (REQ-LINE-4).
            admin_href => (matches!(user.role, sekisho_core::model::Role::Contractor | sekisho_core::model::Role::Admin)
                && !who.recovery_only)
                .then(|| format!("/{}/admin", brand.code)),
        },
    ))
}

pub async fn login_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<AccountLoginQuery>,
) -> Response {
    // Only the menu or the console: a typed continuation, never an address from the query.
    let next = match Continuation::from_page(None, q.next.as_deref()) {
        Continuation::Console => Continuation::Console,
        _ => Continuation::Account,
    };
    login::show(&state, &code, &headers, next).await
}

/// Runs `page` for a signed-in user, or sends the browser to the account login.
pub async fn for_password_user(
    state: &AppState,
    code: &str,
    headers: &HeaderMap,
    page: impl FnOnce(&AppState, &Brand, Lang, &SessionRecord, &User) -> Response,
) -> Response {
    let lang = lang(None, headers);
    let brand = match brand(state, code, lang).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let result = async {
        let Some((session, user)) = signed_in(state, code, headers).await? else {
            return Ok(to_account_login(code));
        };
        if !allowed(
            MenuItem::PasswordChange,
            subject(state, &session, &user).await?,
            state.op.now(),
        ) {
            return Ok(
                PageError::new(StatusCode::FORBIDDEN, lang, "error_not_allowed")
                    .render(state, Some(&brand)),
            );
        }
        Ok(page(state, &brand, lang, &session, &user))
    };
    result
        .await
        .unwrap_or_else(|e: OAuthError| PageError::internal(lang, e).render(state, Some(&brand)))
}

pub async fn menu(
    State(state): State<AppState>,
    Path(code): Path<String>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let Some((session, user)) = signed_in(&state, &code, &headers).await? else {
            return Ok(to_account_login(&code));
        };
        menu_page(&state, &brand, lang, &session, &user, None).await
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// Items whose pages come with later work: permission-checked now, with a page saying so.
pub async fn item(
    State(state): State<AppState>,
    Path((code, item)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let lang = lang(None, &headers);
    let brand = match brand(&state, &code, lang).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let result = async {
        let Some((session, user)) = signed_in(&state, &code, &headers).await? else {
            return Ok(to_account_login(&code));
        };
        let Some(item) = MenuItem::parse(&item) else {
            return Ok(
                PageError::new(StatusCode::NOT_FOUND, lang, "error_unknown_brand")
                    .render(&state, Some(&brand)),
            );
        };
        if !allowed(
            item,
            subject(&state, &session, &user).await?,
            state.op.now(),
        ) {
            return Ok(
                PageError::new(StatusCode::FORBIDDEN, lang, "error_not_allowed")
                    .render(&state, Some(&brand)),
            );
        }
        let back = format!("/{code}/account");
        Ok(state.pages.message(
            StatusCode::OK,
            lang,
            Some(&brand),
            "menu_item_later_title",
            "menu_item_later",
            Some(&back),
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}
