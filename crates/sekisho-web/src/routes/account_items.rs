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
use sekisho_core::email::MAX_EMAIL_LEN;
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
    autocomplete: Option<&'static str>,
    maxlength: usize,
    /// The page's error is about this field (set by `render` from `FormPage::wrong`).
    invalid: bool,
}

impl Field {
    fn new(name: &'static str, label: &'static str, kind: &'static str, value: &str) -> Self {
        let (autocomplete, maxlength) = match kind {
            "email" => (Some("email"), MAX_EMAIL_LEN),
            _ => (None, sekisho_core::name::MAX_NAME_CHARS),
        };
        Self {
            name,
            label,
            kind,
            value: value.to_owned(),
            autocomplete,
            maxlength,
            invalid: false,
        }
    }
}

/// The confirmation checkbox's name, for [`FormPage::wrong`].
const CHECKBOX: &str = "confirmed";

/// One account form page (account_form.html).
#[derive(Default)]
struct FormPage<'a> {
    title: &'static str,
    intro: Vec<String>,
    /// Said apart from the introduction, as a warning (what a destructive action does).
    warnings: Vec<&'static str>,
    fields: Vec<Field>,
    checkbox: Option<&'static str>,
    submit: Option<&'static str>,
    /// The submit button acts irreversibly: it looks it (class `danger`).
    danger: bool,
    action: &'a str,
    error: Option<&'static str>,
    /// The field (or [`CHECKBOX`]) the error is about: marked `aria-invalid`, described by the
    /// error, and focused (ISSUE-16).
    wrong: Option<&'static str>,
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
    let mut fields = p.fields;
    for f in &mut fields {
        f.invalid = p.error.is_some() && p.wrong == Some(f.name);
    }
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
            warnings => p.warnings.into_iter().map(m).collect::<Vec<_>>(),
            fields => fields,
            checkbox => p.checkbox.map(m),
            checkbox_invalid => p.error.is_some() && p.wrong == Some(CHECKBOX),
            focus => p.error.and(p.wrong),
            submit => p.submit.map(m),
            danger => p.danger,
            action => p.submit.map(|_| p.action),
            error => p.error.map(m),
            notice => p.notice.map(m),
            csrf_token => session.csrf_token,
            back => format!("/{}/account", brand.code),
            ..extra
        },
    )
}

#[allow(clippy::too_many_arguments)]
fn email_page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    session: &SessionRecord,
    values: (&str, &str),
    error: Option<(&'static str, Option<&'static str>)>,
    notice: Option<&'static str>,
    pending: minijinja::Value,
) -> Response {
    let action = format!("/{}/account/email", brand.code);
    // What was typed comes back only as long as an address can be.
    let echo = |v: &str| {
        if v.len() <= MAX_EMAIL_LEN {
            v.to_owned()
        } else {
            String::new()
        }
    };
    render_with(
        state,
        brand,
        lang,
        session,
        FormPage {
            title: "menu_email_change",
            intro: vec![message(lang, "email_change_intro").to_owned()],
            fields: vec![
                Field::new(
                    "new_email",
                    message(lang, "email_new"),
                    "email",
                    &echo(values.0),
                ),
                Field::new(
                    "confirm_email",
                    message(lang, "email_new_confirm"),
                    "email",
                    &echo(values.1),
                ),
            ],
            submit: Some("email_change_send"),
            action: &action,
            error: error.map(|(key, _)| key),
            wrong: error.and_then(|(_, field)| field),
            notice,
            ..FormPage::default()
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
        let (session, user, _) = or_page!(
            guard_post(
                &state,
                &brand,
                lang,
                &headers,
                MenuItem::EmailChange,
                form.csrf_token.as_deref(),
            )
            .await?
        );
        let values = (form.new_email.as_str(), form.confirm_email.as_str());
        let no_notice = DoneQuery::default();
        if form.new_email.trim() != form.confirm_email.trim() {
            let e = Some(("email_mismatch", Some("confirm_email")));
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
                // An address the rules refuse is the first field's fault; a pending change is not
                // a field's.
                let field = matches!(e, DirectoryError::EmailInvalid | DirectoryError::EmailTaken)
                    .then_some("new_email");
                let error = Some((e.message_key(), field));
                Ok(email_page(
                    &state, &brand, lang, &session, values, error, None, pending,
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
    value: &str,
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
            fields: vec![Field::new(
                "name",
                message(lang, "contract_name"),
                "text",
                value,
            )],
            submit: Some("save"),
            action: &action,
            error,
            wrong: Some("name"),
            notice,
            ..FormPage::default()
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
                Ok((s, _, c)) => contract_page(&state, &brand, lang, &s, &c.name, None, None),
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
        let (s, user, contract) = or_page!(
            guard_post(
                &state,
                &brand,
                lang,
                &headers,
                MenuItem::ContractInfo,
                form.csrf_token.as_deref(),
            )
            .await?
        );
        let Ok(name) = sekisho_core::name::check_name(&form.name, true) else {
            // The refused name comes back to be corrected, cut to what the field takes.
            let typed: String = form
                .name
                .chars()
                .take(sekisho_core::name::MAX_NAME_CHARS)
                .collect();
            let e = Some("contract_name_invalid");
            return Ok(contract_page(&state, &brand, lang, &s, &typed, e, None));
        };
        state.op.store.rename_contract(&contract.id, name).await?;
        audit::audit(&state, "contract.renamed", &brand, Some(&user.id)).await;
        let notice = Some("saved_notice");
        Ok(contract_page(&state, &brand, lang, &s, name, None, notice))
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
    error: Option<&'static str>,
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
            checkbox: trial.then_some("plan_confirm_checkbox"),
            submit: trial.then_some("plan_change_submit"),
            action: &action,
            error,
            wrong: Some(CHECKBOX),
            notice,
            ..FormPage::default()
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
                Ok((s, _, c)) => plan_page(&state, &brand, lang, &s, &c, None, None),
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
        let (s, user, mut contract) = or_page!(
            guard_post(
                &state,
                &brand,
                lang,
                &headers,
                MenuItem::PlanChange,
                form.csrf_token.as_deref(),
            )
            .await?
        );
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
                None,
                Some("plan_changed"),
            ));
        }
        // A trial's box left unticked: said so, nothing changed.
        let error = (contract.plan == Plan::Trial).then_some("plan_confirm_required");
        Ok(plan_page(&state, &brand, lang, &s, &contract, error, None))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `GET /{brand}/account/cancel`: 解約. The page says when the service ends and what becomes
/// of the contract's data, and the box 「上記を確認し、解約します」 must be ticked (ISSUE-16).
pub async fn cancel_get(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        Ok(
            match guard(&state, &brand, lang, &headers, MenuItem::Cancellation).await? {
                Ok((s, _, _)) => cancel_page(&state, &brand, lang, &s, None),
                Err(page) => page,
            },
        )
    };
    page_or_error(&state, lang, &brand, result.await)
}

fn cancel_page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    s: &SessionRecord,
    error: Option<&'static str>,
) -> Response {
    let action = format!("/{}/account/cancel", brand.code);
    render(
        state,
        brand,
        lang,
        s,
        FormPage {
            title: "menu_cancellation",
            warnings: vec![
                "cancel_when",
                "cancel_tokens",
                "cancel_data",
                "cancel_irreversible",
            ],
            checkbox: Some("cancel_checkbox"),
            submit: Some("cancel_submit"),
            danger: true,
            action: &action,
            error,
            wrong: Some(CHECKBOX),
            ..FormPage::default()
        },
    )
}

/// `POST /{brand}/account/cancel`: with the box ticked (checked here, not only in the browser),
/// the contract is cancelled at once; every user's logins and tokens stop
/// (`Contract::is_active`), this session included. Unticked, nothing changes and the page says
/// why.
pub async fn cancel_submit(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let result = async {
        let (s, user, contract) = or_page!(
            guard_post(
                &state,
                &brand,
                lang,
                &headers,
                MenuItem::Cancellation,
                form.csrf_token.as_deref(),
            )
            .await?
        );
        if form.confirmed.as_deref() != Some("on") {
            let error = Some("cancel_confirm_required");
            return Ok(cancel_page(&state, &brand, lang, &s, error));
        }
        state
            .op
            .store
            .set_contract_state(&contract.id, ContractState::Cancelled, state.now())
            .await?;
        audit::audit(&state, "contract.cancelled", &brand, Some(&user.id)).await;
        state.op.store.end_session(&s.sid, state.op.now()).await?;
        // The completion: when it ended. No way back to the menu: the session has ended and the
        // contract no longer opens it.
        let ended = format!(
            "{}: {}",
            message(lang, "cancelled_at"),
            crate::pages::date(state.op.now())
        );
        Ok(state.pages.render(
            StatusCode::OK,
            "account_form.html",
            lang,
            Some(&brand),
            context! {
                title => message(lang, "cancelled_title"),
                intro => vec![ended, message(lang, "cancelled_body").to_owned()],
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}
