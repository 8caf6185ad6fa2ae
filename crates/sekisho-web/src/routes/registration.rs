//! Choosing a login method by a mailed link: registration by invitation (利用者登録, REQ-USER-2)
//! and the login-method change (ログイン方法の設定, REQ-USER-4). Both offer the same choice — a
//! password under the policy, or an upstream account (AD only where the contract has an AD
//! connection, which comes with the AD work) — with the advice to sign out upstream first
//! (REQ-USER-3).
//!
//! Registration follows the manuals: choose → 申込確認 (method, address, password hidden) →
//! completion. Between the form and the confirmation the password's argon2id hash waits in the
//! ticket's payload (never the password). An upstream choice is confirmed, then bound by
//! `upstream::bind` with the same ticket. A change to a password is done on 登録.

use super::login::csrf_failure;
use super::{page_or_error, BrandPage, TicketQuery};
use crate::i18n::{message, Lang};
use crate::session;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_app::audit;
use sekisho_app::tickets;
use sekisho_core::model::{Brand, LoginMethod, User};
use sekisho_core::tickets::TicketPurpose;
use sekisho_oidc::OAuthError;
use sekisho_store::TicketRecord;
use serde::Deserialize;

/// Which flow a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Registration,
    Change,
}

impl Flow {
    fn purpose(self) -> TicketPurpose {
        match self {
            Flow::Registration => TicketPurpose::Invitation,
            Flow::Change => TicketPurpose::LoginMethodChange,
        }
    }
    fn path(self) -> &'static str {
        match self {
            Flow::Registration => "registration",
            Flow::Change => "login-method",
        }
    }
}

#[derive(Deserialize)]
pub struct PasswordChoice {
    csrf_token: Option<String>,
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

#[derive(Deserialize)]
pub struct Confirmation {
    csrf_token: Option<String>,
    #[serde(default)]
    ticket: String,
}

/// The live ticket of `flow` and its user.
async fn ticket_user(
    state: &AppState,
    brand: &Brand,
    flow: Flow,
    ticket: &str,
) -> Result<Option<(TicketRecord, User)>, OAuthError> {
    tickets::open(state, brand.code.as_str(), flow.purpose(), ticket).await
}

pub fn ticket_invalid(state: &AppState, brand: &Brand, lang: Lang) -> Response {
    let login = format!("/{}/login", brand.code);
    state.pages.message(
        StatusCode::BAD_REQUEST,
        lang,
        Some(brand),
        "ticket_invalid_title",
        "ticket_invalid",
        Some(&login),
    )
}

fn encoded(ticket: &str) -> String {
    url::form_urlencoded::byte_serialize(ticket.as_bytes()).collect()
}

/// An upstream's button on the choice page: a link, or (`post`) a form posting the ticket.
#[derive(serde::Serialize)]
struct MethodButton {
    href: String,
    label: &'static str,
    post: bool,
}

/// The choice page: the password form and one button per upstream.
#[allow(clippy::too_many_arguments)]
fn choose_page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    flow: Flow,
    csrf: &str,
    ticket: &str,
    user: &User,
    errors: Vec<&'static str>,
    ad_offered: bool,
) -> Response {
    let code = brand.code.as_str();
    // REQ-AD-3: AD only when the contract has a connection, never for the contractor.
    let ad_href = ad_offered.then(|| format!("/{code}/ad/bind?ticket={}", encoded(ticket)));
    let upstreams: Vec<_> = state
        .upstreams
        .iter()
        .map(|c| {
            let name = c.name();
            match flow {
                // A link to 申込確認, which only shows what will be registered.
                Flow::Registration => MethodButton {
                    href: format!(
                        "/{code}/registration/upstream/{name}?ticket={}",
                        encoded(ticket)
                    ),
                    label: message(lang, &format!("up_register_{name}")),
                    post: false,
                },
                // The binding itself starts: a form (ticket and CSRF token), never a link.
                Flow::Change => MethodButton {
                    href: format!("/{code}/upstream/{name}/bind"),
                    label: message(lang, &format!("up_bind_{name}")),
                    post: true,
                },
            }
        })
        .collect();
    // The AD button as in the manuals: 「…で登録」 on registration, the method's name on the
    // change page (like the upstreams' up_register_* / up_bind_*).
    let (title, submit, current, ad_label) = match flow {
        Flow::Registration => ("reg_title", "reg_submit", None, "ad_register_button"),
        Flow::Change => (
            "up_method_title",
            "reg_submit",
            Some(message(lang, &format!("method_{}", user.login_method))),
            "method_ad",
        ),
    };
    state.pages.render(
        StatusCode::OK,
        "login_method.html",
        lang,
        Some(brand),
        context! {
            title => message(lang, title),
            heading => message(lang, "method_password_heading"),
            submit => message(lang, submit),
            current => current,
            email => user.email.as_str(),
            action => format!("/{code}/{}/password", flow.path()),
            csrf_token => csrf,
            ticket => ticket,
            errors => errors,
            upstreams => upstreams,
            ad_href => ad_href,
            ad_label => message(lang, ad_label),
            facebook_note => flow == Flow::Change && user.login_method == LoginMethod::Facebook,
        },
    )
}

/// The page's binding buttons post to Sekisho, which redirects to an upstream's authorization
/// endpoint: the page's CSP `form-action` allows those origins (the browser checks the redirect
/// too). An upstream whose discovery cannot be read now is left out (its login would fail too).
async fn allow_upstream_targets<'a>(
    connectors: impl IntoIterator<Item = &'a sekisho_upstream::Connector>,
) {
    for c in connectors {
        match c.authorization_endpoint().await {
            Ok(url) => crate::security::allow_form_target(url.as_str()),
            Err(e) => {
                tracing::warn!(connector = c.name(), error = %e, "no authorization endpoint")
            }
        }
    }
}

async fn show(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    headers: &HeaderMap,
    flow: Flow,
    ticket: &str,
) -> Result<Response, OAuthError> {
    let (session, cookie) = session::ensure(state, brand.code.as_str(), headers).await?;
    let Some((_, user)) = ticket_user(state, brand, flow, ticket).await? else {
        return Ok(ticket_invalid(state, brand, lang));
    };
    if flow == Flow::Change {
        allow_upstream_targets(state.upstreams.iter()).await;
    }
    let page = choose_page(
        state,
        brand,
        lang,
        flow,
        &session.csrf_token,
        ticket,
        &user,
        vec![],
        ad_offered(state, &user).await?,
    );
    Ok(super::with_cookies(
        page,
        &cookie.into_iter().collect::<Vec<_>>(),
    ))
}

/// `GET /{brand}/registration?ticket=…`: the invitation mail's link (利用者ログイン登録).
pub async fn registration_page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<TicketQuery>,
) -> Response {
    let result = show(
        &state,
        &brand,
        lang,
        &headers,
        Flow::Registration,
        &q.ticket,
    )
    .await;
    page_or_error(&state, lang, &brand, result)
}

/// `GET /{brand}/login-method?ticket=…`: the login-method-change mail's link (and the
/// contractor's own change from the menu).
pub async fn change_page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<TicketQuery>,
) -> Response {
    let result = show(&state, &brand, lang, &headers, Flow::Change, &q.ticket).await;
    page_or_error(&state, lang, &brand, result)
}

/// Checks the CSRF token, the ticket and the password rule; the hash of a good password.
enum Checked {
    Page(Response),
    Good(Box<(TicketRecord, User, String)>),
}

async fn check_password(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    headers: &HeaderMap,
    flow: Flow,
    form: &PasswordChoice,
) -> Result<Checked, OAuthError> {
    let code = brand.code.as_str();
    let Some(s) = session::with_csrf(state, code, headers, form.csrf_token.as_deref()).await?
    else {
        return Ok(Checked::Page(csrf_failure(state, lang, brand)));
    };
    let Some((ticket, user)) = ticket_user(state, brand, flow, &form.ticket).await? else {
        return Ok(Checked::Page(ticket_invalid(state, brand, lang)));
    };
    let errors = super::password::violations(lang, &form.new_password, &form.confirm_password);
    if !errors.is_empty() {
        if flow == Flow::Change {
            allow_upstream_targets(state.upstreams.iter()).await;
        }
        return Ok(Checked::Page(choose_page(
            state,
            brand,
            lang,
            flow,
            &s.csrf_token,
            &form.ticket,
            &user,
            errors,
            ad_offered(state, &user).await?,
        )));
    }
    let phc = sekisho_app::signin::hash_password(state, &form.new_password).await?;
    Ok(Checked::Good(Box::new((ticket, user, phc))))
}

/// `POST /{brand}/registration/password`: a good password waits (hashed) for the confirmation.
pub async fn registration_password(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<PasswordChoice>,
) -> Response {
    let result =
        async {
            let (ticket, user, phc) =
                match check_password(&state, &brand, lang, &headers, Flow::Registration, &form)
                    .await?
                {
                    Checked::Page(p) => return Ok(p),
                    Checked::Good(good) => *good,
                };
            let payload = serde_json::json!({ "password_hash": phc }).to_string();
            let now = state.op.now();
            if !state
                .op
                .store
                .set_ticket_payload(&ticket.token_hash, &ticket.purpose, &payload, now)
                .await?
            {
                return Ok(ticket_invalid(&state, &brand, lang));
            }
            let csrf = form.csrf_token.unwrap_or_default();
            Ok(confirmation(
                &state,
                &brand,
                lang,
                &user,
                message(lang, "reg_method_password"),
                true,
                &form.ticket,
                &csrf,
                None,
            ))
        };
    page_or_error(&state, lang, &brand, result.await)
}

/// 申込確認: what will be registered, with キャンセル and 確認. `upstream_href` is where 確認 posts
/// for an upstream account (the binding); otherwise 確認 posts the password registration.
#[allow(clippy::too_many_arguments)]
fn confirmation(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    user: &User,
    method: &str,
    password: bool,
    ticket: &str,
    csrf: &str,
    upstream_href: Option<String>,
) -> Response {
    let code = brand.code.as_str();
    state.pages.render(
        StatusCode::OK,
        "registration_confirm.html",
        lang,
        Some(brand),
        context! {
            method => method,
            email => user.email.as_str(),
            password => password,
            ticket => ticket,
            csrf_token => csrf,
            action => format!("/{code}/registration/confirm"),
            upstream_href => upstream_href,
            cancel => format!("/{code}/registration?ticket={}", encoded(ticket)),
        },
    )
}

/// `GET /{brand}/registration/upstream/{name}?ticket=…`: 申込確認 for an upstream account. It
/// only shows what will be registered; its 確認 posts the binding (`upstream::bind`).
pub async fn registration_upstream(
    State(state): State<AppState>,
    Path((code, name)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<TicketQuery>,
) -> Response {
    let result = async {
        let Some(connector) = state.upstream(&name) else {
            return Ok(state.pages.error(
                StatusCode::NOT_FOUND,
                lang,
                Some(&brand),
                "error_unknown_brand",
                None,
            ));
        };
        let Some((_, user)) = ticket_user(&state, &brand, Flow::Registration, &q.ticket).await?
        else {
            return Ok(ticket_invalid(&state, &brand, lang));
        };
        let (session, cookie) = session::ensure(&state, &code, &headers).await?;
        allow_upstream_targets([connector]).await;
        let bind = format!("/{code}/upstream/{name}/bind");
        let page = confirmation(
            &state,
            &brand,
            lang,
            &user,
            message(lang, &format!("up_register_{name}")),
            false,
            &q.ticket,
            &session.csrf_token,
            Some(bind),
        );
        Ok(super::with_cookies(
            page,
            &cookie.into_iter().collect::<Vec<_>>(),
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `POST /{brand}/registration/confirm`: 確認 of a password registration; the completion page.
pub async fn registration_confirm(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<Confirmation>,
) -> Response {
    let result = async {
        let code = brand.code.as_str();
        if session::with_csrf(&state, code, &headers, form.csrf_token.as_deref())
            .await?
            .is_none()
        {
            return Ok(csrf_failure(&state, lang, &brand));
        }
        let Some((ticket, user)) =
            ticket_user(&state, &brand, Flow::Registration, &form.ticket).await?
        else {
            return Ok(ticket_invalid(&state, &brand, lang));
        };
        let staged: serde_json::Value = serde_json::from_str(&ticket.payload).unwrap_or_default();
        let Some(phc) = staged["password_hash"].as_str() else {
            // 確認 without a chosen password (an old tab): back to the choice.
            let back = format!("/{code}/registration?ticket={}", encoded(&form.ticket));
            return Ok(super::see_other(&back, &[]));
        };
        let now = state.op.now();
        if !state
            .op
            .store
            .set_password_login(&user.id, &ticket.token_hash, &ticket.purpose, phc, now)
            .await?
        {
            return Ok(ticket_invalid(&state, &brand, lang));
        }
        audit::audit_with(
            &state,
            "user.registered",
            &brand,
            Some(&user.id),
            serde_json::json!({ "method": "password" }),
        )
        .await;
        Ok(registered(&state, &brand, lang))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// 申込完了: registration done; OK leads to the login page.
pub fn registered(state: &AppState, brand: &Brand, lang: Lang) -> Response {
    let login = format!("/{}/login", brand.code);
    state.pages.message(
        StatusCode::OK,
        lang,
        Some(brand),
        "reg_done_title",
        "reg_done_body",
        Some(&login),
    )
}

/// `POST /{brand}/login-method/password`: the login method becomes the password (REQ-USER-4);
/// any upstream binding and the 2FA registration go.
pub async fn change_to_password(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<PasswordChoice>,
) -> Response {
    let result = async {
        let (ticket, user, phc) =
            match check_password(&state, &brand, lang, &headers, Flow::Change, &form).await? {
                Checked::Page(p) => return Ok(p),
                Checked::Good(good) => *good,
            };
        let now = state.op.now();
        if !state
            .op
            .store
            .set_password_login(&user.id, &ticket.token_hash, &ticket.purpose, &phc, now)
            .await?
        {
            return Ok(ticket_invalid(&state, &brand, lang));
        }
        audit::audit_with(
            &state,
            "login_method.changed",
            &brand,
            Some(&user.id),
            serde_json::json!({ "to": "password" }),
        )
        .await;
        audit::audit(&state, "2fa.reset", &brand, Some(&user.id)).await;
        let login = format!("/{}/login", brand.code);
        Ok(state.pages.message(
            StatusCode::OK,
            lang,
            Some(&brand),
            "up_bound_title",
            "method_changed_password",
            Some(&login),
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// Whether AD is offered to `user` as a login method (REQ-AD-3): their contract has a connection
/// and they are not the contractor.
async fn ad_offered(state: &AppState, user: &User) -> Result<bool, OAuthError> {
    if user.role == sekisho_core::model::Role::Contractor {
        return Ok(false);
    }
    Ok(
        sekisho_app::active_directory::connection::of_contract(state, &user.contract_id)
            .await?
            .is_some(),
    )
}
