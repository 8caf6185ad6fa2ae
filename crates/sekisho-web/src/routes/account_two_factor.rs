//! 2段階認証設定 (REQ-2FA-7): the contractor turns two-step verification on or off for the whole
//! contract, through a confirmation page whose 「上記の説明を確認しました。」 must be ticked. The
//! change applies at each user's next login and is written to the audit log.

use super::account::{menu_page, signed_in, subject, to_account_login};
use super::{login::csrf_failure, page_or_error, BrandPage};
use crate::error::PageError;
use crate::i18n::{message, Lang};
use crate::session;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_app::audit;
use sekisho_core::menu::{allowed, MenuItem};
use sekisho_core::model::{AccessRoute, Brand, Contract, TwoFactorSetting, User};
use sekisho_oidc::OAuthError;
use sekisho_store::SessionRecord;
use serde::Deserialize;

/// The signed-in contractor and their contract, or the page to show instead (account login,
/// "not allowed", or a CSRF failure when `csrf` is given).
async fn contractor(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    headers: &HeaderMap,
    csrf: Option<Option<&str>>,
) -> Result<Result<(SessionRecord, User, Contract), Response>, OAuthError> {
    let code = brand.code.as_str();
    let Some((session, user)) = signed_in(state, code, headers).await? else {
        return Ok(Err(to_account_login(code)));
    };
    if let Some(token) = csrf {
        if !session::csrf_ok(&session, token) {
            return Ok(Err(csrf_failure(state, lang, brand)));
        }
    }
    if !allowed(
        MenuItem::TwoFactor,
        subject(state, &session, &user).await?,
        state.op.now(),
    ) {
        return Ok(Err(PageError::new(
            StatusCode::FORBIDDEN,
            lang,
            "error_not_allowed",
        )
        .render(state, Some(brand))));
    }
    let contract = state
        .op
        .store
        .find_contract(&user.contract_id)
        .await?
        .ok_or_else(|| OAuthError::server("user without contract"))?;
    Ok(Ok((session, user, contract)))
}

fn label(lang: Lang, s: TwoFactorSetting) -> &'static str {
    message(
        lang,
        match s {
            TwoFactorSetting::Enabled => "tf_setting_enable",
            TwoFactorSetting::Disabled => "tf_setting_disable",
        },
    )
}

/// `GET /{brand}/account/two-factor`: the setting screen.
pub async fn page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (session, _, contract) =
            or_page!(contractor(&state, &brand, lang, &headers, None).await?);
        Ok(state.pages.render(
            StatusCode::OK,
            "two_factor_setting.html",
            lang,
            Some(&brand),
            context! {
                csrf_token => session.csrf_token,
                enabled => contract.two_factor == TwoFactorSetting::Enabled,
                line_only => contract.access_route == AccessRoute::LineOnly,
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct SettingForm {
    csrf_token: Option<String>,
    #[serde(default)]
    setting: String,
    confirmed: Option<String>,
}

fn confirm_page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    session: &SessionRecord,
    contract: &Contract,
    new: TwoFactorSetting,
    error: Option<&str>,
) -> Response {
    state.pages.render(
        StatusCode::OK,
        "two_factor_setting_confirm.html",
        lang,
        Some(brand),
        context! {
            csrf_token => session.csrf_token,
            current => label(lang, contract.two_factor),
            after => label(lang, new),
            setting => new.as_str(),
            error => error.map(|k| message(lang, k)),
        },
    )
}

/// `POST /{brand}/account/two-factor/confirm`: 設定確認.
pub async fn confirm(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<SettingForm>,
) -> Response {
    let result = async {
        let (session, _, contract) = or_page!(
            contractor(
                &state,
                &brand,
                lang,
                &headers,
                Some(form.csrf_token.as_deref()),
            )
            .await?
        );
        let Some(new) = TwoFactorSetting::parse(&form.setting) else {
            return Ok(PageError::new(StatusCode::BAD_REQUEST, lang, "error_csrf")
                .render(&state, Some(&brand)));
        };
        Ok(confirm_page(
            &state, &brand, lang, &session, &contract, new, None,
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `POST /{brand}/account/two-factor`: saves, once the explanation is confirmed.
pub async fn save(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<SettingForm>,
) -> Response {
    let result = async {
        let (session, user, contract) = or_page!(
            contractor(
                &state,
                &brand,
                lang,
                &headers,
                Some(form.csrf_token.as_deref()),
            )
            .await?
        );
        let Some(new) = TwoFactorSetting::parse(&form.setting) else {
            return Ok(PageError::new(StatusCode::BAD_REQUEST, lang, "error_csrf")
                .render(&state, Some(&brand)));
        };
        if form.confirmed.is_none() {
            return Ok(confirm_page(
                &state,
                &brand,
                lang,
                &session,
                &contract,
                new,
                Some("tf_confirm_required"),
            ));
        }
        state
            .op
            .store
            .set_contract_two_factor(&contract.id, new)
            .await?;
        audit::audit_with(
            &state,
            "contract.two_factor.changed",
            &brand,
            Some(&user.id),
            serde_json::json!({
                "contract_id": contract.id,
                "from": contract.two_factor.as_str(),
                "to": new.as_str(),
            }),
        )
        .await;
        menu_page(
            &state,
            &brand,
            lang,
            &session,
            &user,
            Some(message(lang, "tf_setting_saved")),
        )
        .await
    };
    page_or_error(&state, lang, &brand, result.await)
}
