//! The account menu's items that act on the contractor's own account and on the contract
//! (REQ-MENU-2): メールアドレス変更, 契約情報変更, プラン変更, 解約 (ログイン方法の設定 and the
//! pending changes are `account_pending.rs`). Each page
//! checks the permission table (`sekisho_core::menu::allowed`) again: a hidden link is not a
//! permission. Billing is out of scope; the contract record is what changes.

use super::account::{signed_in, subject, to_account_login};
use super::account_pending::{context_for, DoneQuery, MenuPage};
use super::login::csrf_failure;
use super::{page_or_error, BrandPage};
use crate::i18n::{message, Lang};
use crate::session;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_app::audit;
use sekisho_app::directory::{self, DirectoryError};
use sekisho_core::menu::{allowed, MenuItem};
use sekisho_core::model::{Brand, Contract, ContractState, Plan, User};
use sekisho_oidc::OAuthError;
use sekisho_store::SessionRecord;
use serde::{Deserialize, Serialize};

/// The signed-in user allowed to use `item`, or the page to show instead.
pub(super) async fn guard(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    headers: &HeaderMap,
    item: MenuItem,
) -> Result<Result<(SessionRecord, User, Contract), Response>, OAuthError> {
    let code = brand.code.as_str();
    let Some((session, user)) = signed_in(state, code, headers).await? else {
        return Ok(Err(to_account_login(code)));
    };
    if !allowed(item, subject(state, &session, &user).await?, state.op.now()) {
        return Ok(Err(state.pages.error(
            StatusCode::FORBIDDEN,
            lang,
            Some(brand),
            "error_not_allowed",
            None,
        )));
    }
    let contract = state
        .op
        .store
        .find_contract(&user.contract_id)
        .await?
        .ok_or_else(|| OAuthError::server("user without contract"))?;
    Ok(Ok((session, user, contract)))
}

/// The same as [`guard`] for a form post: the CSRF token must be the session's.
pub(super) async fn guard_post(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    headers: &HeaderMap,
    item: MenuItem,
    csrf: Option<&str>,
) -> Result<Result<(SessionRecord, User, Contract), Response>, OAuthError> {
    let found = guard(state, brand, lang, headers, item).await?;
    if let Ok((session, _, _)) = &found {
        if !session::csrf_ok(session, csrf) {
            return Ok(Err(csrf_failure(state, lang, brand)));
        }
    }
    Ok(found)
}

#[derive(Serialize)]
struct Field {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    value: String,
}

/// One account form page (account_form.html).
struct FormPage<'a> {
    title: &'static str,
    intro: Vec<String>,
    fields: Vec<Field>,
    checkbox: Option<&'static str>,
    submit: Option<&'static str>,
    action: &'a str,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

fn render(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    session: &SessionRecord,
    p: FormPage<'_>,
) -> Response {
    render_with(state, brand, lang, session, p, context! {})
}

/// [`render`] with more context (`extra`: the pending change of the email page, ISSUE-16).
fn render_with(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    session: &SessionRecord,
    p: FormPage<'_>,
    extra: minijinja::Value,
) -> Response {
    let m = |k: &str| message(lang, k);
    state.pages.render(
        if p.error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        "account_form.html",
        lang,
        Some(brand),
        context! {
            title => m(p.title),
            intro => p.intro,
            fields => p.fields,
            checkbox => p.checkbox.map(m),
            submit => p.submit.map(m),
            action => p.submit.map(|_| p.action),
            error => p.error.map(m),
            notice => p.notice.map(m),
            csrf_token => session.csrf_token,
            back => format!("/{}/account", brand.code),
            ..extra
        },
    )
}

fn email_fields(new_email: &str, confirm: &str) -> Vec<Field> {
    vec![
        Field {
            name: "new_email",
            label: "",
            kind: "email",
            value: new_email.to_owned(),
        },
        Field {
            name: "confirm_email",
            label: "",
            kind: "email",
            value: confirm.to_owned(),
        },
    ]
}

#[allow(clippy::too_many_arguments)]
fn email_page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    session: &SessionRecord,
    values: (&str, &str),
    error: Option<&'static str>,
    notice: Option<&'static str>,
    pending: minijinja::Value,
) -> Response {
    let mut fields = email_fields(values.0, values.1);
    fields[0].label = message(lang, "email_new");
    fields[1].label = message(lang, "email_new_confirm");
    let action = format!("/{}/account/email", brand.code);
    render_with(
        state,
        brand,
        lang,
        session,
        FormPage {
            title: "menu_email_change",
            intro: vec![message(lang, "email_change_intro").to_owned()],
            fields,
            checkbox: None,
            submit: Some("email_change_send"),
            action: &action,
            error,
            notice,
        },
        pending,
    )
}

/// The pending change shown on the email page, with 取り消す (ISSUE-16).
async fn email_pending(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    user: &User,
    done: &DoneQuery,
) -> Result<minijinja::Value, OAuthError> {
    let change = sekisho_app::tickets::pending_change(state, &user.id).await?;
    Ok(context_for(
        brand,
        lang,
        change.as_ref(),
        MenuPage::Email,
        done,
    ))
}

/// `GET /{brand}/account/email`: メールアドレス変更 (the contractor, basic plan; REQ-USER-6).
pub async fn email_page_get(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(done): Query<DoneQuery>,
) -> Response {
    let result = async {
        Ok(
            match guard(&state, &brand, lang, &headers, MenuItem::EmailChange).await? {
                Ok((session, user, _)) => {
                    let pending = email_pending(&state, &brand, lang, &user, &done).await?;
                    let values = ("", "");
                    email_page(&state, &brand, lang, &session, values, None, None, pending)
                }
                Err(page) => page,
            },
        )
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct EmailForm {
    csrf_token: Option<String>,
    #[serde(default)]
    new_email: String,
    #[serde(default)]
    confirm_email: String,
}

/// `POST /{brand}/account/email`: mails the confirmation link to the new address.
pub async fn email_submit(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<EmailForm>,
) -> Response {
    let result = async {
        let (session, user, _) = match guard_post(
            &state,
            &brand,
            lang,
            &headers,
            MenuItem::EmailChange,
            form.csrf_token.as_deref(),
        )
        .await?
        {
            Ok(found) => found,
            Err(page) => return Ok(page),
        };
        let values = (form.new_email.as_str(), form.confirm_email.as_str());
        let no_notice = DoneQuery::default();
        if form.new_email.trim() != form.confirm_email.trim() {
            let e = Some("email_mismatch");
            let pending = email_pending(&state, &brand, lang, &user, &no_notice).await?;
            return Ok(email_page(
                &state, &brand, lang, &session, values, e, None, pending,
            ));
        }
        let sent =
            directory::request_email_change(&state, &brand, &user, &form.new_email, lang).await;
        let pending = email_pending(&state, &brand, lang, &user, &no_notice).await?;
        match sent {
            Ok(()) => {
                audit::audit(&state, "email.change_sent", &brand, Some(&user.id)).await;
                let notice = Some("email_change_sent");
                Ok(email_page(
                    &state,
                    &brand,
                    lang,
                    &session,
                    ("", ""),
                    None,
                    notice,
                    pending,
                ))
            }
            Err(DirectoryError::Internal(e)) => Err(e),
            Err(e) => {
                let key = Some(e.message_key());
                Ok(email_page(
                    &state, &brand, lang, &session, values, key, None, pending,
                ))
            }
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}

fn contract_page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    session: &SessionRecord,
    contract: &Contract,
    error: Option<&'static str>,
    notice: Option<&'static str>,
) -> Response {
    let action = format!("/{}/account/contract", brand.code);
    render(
        state,
        brand,
        lang,
        session,
        FormPage {
            title: "menu_contract_info",
            intro: vec![message(lang, "contract_info_intro").to_owned()],
            fields: vec![Field {
                name: "name",
                label: message(lang, "contract_name"),
                kind: "text",
                value: contract.name.clone(),
            }],
            checkbox: None,
            submit: Some("save"),
            action: &action,
            error,
            notice,
        },
    )
}

/// `GET /{brand}/account/contract`: 契約情報変更 (the contract's name).
pub async fn contract_get(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        Ok(
            match guard(&state, &brand, lang, &headers, MenuItem::ContractInfo).await? {
                Ok((s, _, c)) => contract_page(&state, &brand, lang, &s, &c, None, None),
                Err(page) => page,
            },
        )
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct ContractForm {
    csrf_token: Option<String>,
    #[serde(default)]
    name: String,
}

pub async fn contract_submit(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<ContractForm>,
) -> Response {
    let result = async {
        let (s, user, mut contract) = match guard_post(
            &state,
            &brand,
            lang,
            &headers,
            MenuItem::ContractInfo,
            form.csrf_token.as_deref(),
        )
        .await?
        {
            Ok(found) => found,
            Err(page) => return Ok(page),
        };
        let Ok(name) = sekisho_core::name::check_name(&form.name, true) else {
            let e = Some("contract_name_invalid");
            return Ok(contract_page(&state, &brand, lang, &s, &contract, e, None));
        };
        state.op.store.rename_contract(&contract.id, name).await?;
        audit::audit(&state, "contract.renamed", &brand, Some(&user.id)).await;
        contract.name = name.to_owned();
        let notice = Some("saved_notice");
        Ok(contract_page(
            &state, &brand, lang, &s, &contract, None, notice,
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf_token: Option<String>,
    confirmed: Option<String>,
}

fn plan_page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    session: &SessionRecord,
    contract: &Contract,
    notice: Option<&'static str>,
) -> Response {
    let action = format!("/{}/account/plan", brand.code);
    let current = format!(
        "{}: {}",
        message(lang, "plan_current"),
        message(lang, &format!("plan_{}", contract.plan))
    );
    let trial = contract.plan == Plan::Trial;
    render(
        state,
        brand,
        lang,
        session,
        FormPage {
            title: "menu_plan_change",
            intro: vec![
                current,
                message(
                    lang,
                    if trial {
                        "plan_to_basic"
                    } else {
                        "plan_basic_only"
                    },
                )
                .to_owned(),
            ],
            fields: vec![],
            checkbox: trial.then_some("plan_confirm_checkbox"),
            submit: trial.then_some("plan_change_submit"),
            action: &action,
            error: None,
            notice,
        },
    )
}

/// `GET /{brand}/account/plan`: プラン変更 (a trial becomes basic; REQ-MENU-2 ※1).
pub async fn plan_get(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        Ok(
            match guard(&state, &brand, lang, &headers, MenuItem::PlanChange).await? {
                Ok((s, _, c)) => plan_page(&state, &brand, lang, &s, &c, None),
                Err(page) => page,
            },
        )
    };
    page_or_error(&state, lang, &brand, result.await)
}

pub async fn plan_submit(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let result = async {
        let (s, user, mut contract) = match guard_post(
            &state,
            &brand,
            lang,
            &headers,
            MenuItem::PlanChange,
            form.csrf_token.as_deref(),
        )
        .await?
        {
            Ok(found) => found,
            Err(page) => return Ok(page),
        };
        if contract.plan == Plan::Trial && form.confirmed.as_deref() == Some("on") {
            state
                .op
                .store
                .set_contract_plan(&contract.id, Plan::Basic)
                .await?;
            audit::audit(&state, "contract.plan_basic", &brand, Some(&user.id)).await;
            contract.plan = Plan::Basic;
            return Ok(plan_page(
                &state,
                &brand,
                lang,
                &s,
                &contract,
                Some("plan_changed"),
            ));
        }
        Ok(plan_page(&state, &brand, lang, &s, &contract, None))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `GET /{brand}/account/cancel`: 解約, with a confirmation checkbox.
pub async fn cancel_get(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        Ok(
            match guard(&state, &brand, lang, &headers, MenuItem::Cancellation).await? {
                Ok((s, _, _)) => cancel_page(&state, &brand, lang, &s),
                Err(page) => page,
            },
        )
    };
    page_or_error(&state, lang, &brand, result.await)
}

fn cancel_page(state: &AppState, brand: &Brand, lang: Lang, s: &SessionRecord) -> Response {
    let action = format!("/{}/account/cancel", brand.code);
    render(
        state,
        brand,
        lang,
        s,
        FormPage {
            title: "menu_cancellation",
            intro: vec![message(lang, "cancel_warning").to_owned()],
            fields: vec![],
            checkbox: Some("cancel_checkbox"),
            submit: Some("cancel_submit"),
            action: &action,
            error: None,
            notice: None,
        },
    )
}

/// `POST /{brand}/account/cancel`: the contract is cancelled; every user's logins and tokens
/// stop (`Contract::is_active`), this session included.
pub async fn cancel_submit(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let result = async {
        let (s, user, contract) = match guard_post(
            &state,
            &brand,
            lang,
            &headers,
            MenuItem::Cancellation,
            form.csrf_token.as_deref(),
        )
        .await?
        {
            Ok(found) => found,
            Err(page) => return Ok(page),
        };
        if form.confirmed.as_deref() != Some("on") {
            return Ok(cancel_page(&state, &brand, lang, &s));
        }
        state
            .op
            .store
            .set_contract_state(&contract.id, ContractState::Cancelled)
            .await?;
        audit::audit(&state, "contract.cancelled", &brand, Some(&user.id)).await;
        state.op.store.end_session(&s.sid, state.op.now()).await?;
        Ok(state.pages.message(
            StatusCode::OK,
            lang,
            Some(&brand),
            "cancelled_title",
            "cancelled_body",
            None,
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}
