//! Active Directory設定 in the account menu (REQ-AD-1, REQ-AD-2; contractor only, REQ-MENU-2):
//! the ADFS metadata by URL or pasted XML, validated, confirmed, saved; what to enter in ADFS;
//! changing and removing the connection, each with a confirmation page that says what happens
//! to the contract's AD users.

use super::account_items::{guard, guard_post};
use super::{page_or_error, BrandPage};
use crate::i18n::{message, Lang};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_app::active_directory::connection::{
    self, Checked, ConfigProblem, MetadataSource, Saved,
};
use sekisho_app::active_directory::{self as ad};
use sekisho_core::menu::MenuItem;
use sekisho_core::model::Brand;
use sekisho_saml::MetadataProblem;
use sekisho_store::{AdConnectionRecord, SessionRecord};
use serde::Deserialize;

fn problem_key(p: &ConfigProblem) -> &'static str {
    match p {
        ConfigProblem::UrlNotAllowed => "ad_cfg_url_not_allowed",
        ConfigProblem::Unreachable => "ad_cfg_unreachable",
        ConfigProblem::BadClaim => "ad_cfg_bad_claim",
        ConfigProblem::Metadata(m) => match m {
            MetadataProblem::Empty => "ad_cfg_empty",
            MetadataProblem::TooLarge => "ad_cfg_too_large",
            MetadataProblem::NotXml | MetadataProblem::Dtd => "ad_cfg_not_xml",
            MetadataProblem::NotEntityDescriptor | MetadataProblem::NoIdpDescriptor => {
                "ad_cfg_not_idp"
            }
            MetadataProblem::NoEntityId => "ad_cfg_no_entity_id",
            MetadataProblem::NoSsoEndpoint | MetadataProblem::BadSsoUrl => "ad_cfg_no_sso",
            MetadataProblem::NoSigningCertificate => "ad_cfg_no_cert",
            MetadataProblem::BadCertificate | MetadataProblem::WeakKey => "ad_cfg_bad_cert",
            MetadataProblem::Expired => "ad_cfg_cert_expired",
        },
    }
}

/// One certificate as the page lists it.
fn certificate_rows(checked_xml: &str, state: &AppState) -> Vec<minijinja::Value> {
    sekisho_saml::parse_idp_metadata(checked_xml, state.op.now(), state.ad.allow_loopback)
        .map(|m| {
            m.signing_certs
                .iter()
                .map(|c| {
                    context! {
                        subject => c.subject(),
                        fingerprint => c.fingerprint(),
                        not_after => c.not_after().map(crate::pages::date),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Default)]
struct View<'a> {
    current: Option<&'a AdConnectionRecord>,
    /// Checked input waiting for confirmation.
    checked: Option<&'a Checked>,
    form: Option<&'a SettingsForm>,
    done: Option<&'static str>,
    removing: Option<i64>,
    ad_users: i64,
    error: Option<&'static str>,
}

fn page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    session: &SessionRecord,
    v: View<'_>,
) -> Response {
    let code = brand.code.as_str();
    let sp = v.current.map(|c| {
        let ep = ad::sp_endpoints(state, code, &c.id, None);
        context! {
            metadata_url => ep.entity_id.clone(),
            entity_id => ep.entity_id,
            acs_url => ep.acs_url,
            login_url => ad::login_url(state, code, &c.id),
        }
    });
    let current = v.current.map(|c| {
        context! {
            id => c.id,
            idp_entity_id => c.idp_entity_id,
            metadata_url => c.metadata_url,
            subject_claim => c.subject_claim,
            refreshed_at => crate::pages::date(c.refreshed_at),
            refresh_error => c.refresh_error,
            certificates => certificate_rows(&c.metadata_xml, state),
        }
    });
    let checked = v.checked.map(|c| {
        context! {
            idp_entity_id => c.idp.entity_id,
            sso_url => c.idp.sso_url.as_str(),
            certificates => certificate_rows(&c.metadata_xml, state),
            subject_claim => c.subject_claim,
        }
    });
    let form = v.form.map(|f| {
        context! {
            source => f.source.as_deref().unwrap_or("url"),
            metadata_url => f.metadata_url,
            metadata_xml => f.metadata_xml,
            subject_claim => f.subject_claim,
        }
    });
    state.pages.render(
        if v.error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        "ad_settings.html",
        lang,
        Some(brand),
        context! {
            title => message(lang, "menu_active_directory"),
            action => format!("/{code}/account/active-directory"),
            remove_action => format!("/{code}/account/active-directory/remove"),
            csrf_token => session.csrf_token,
            current => current,
            sp => sp,
            checked => checked,
            form => form,
            done => v.done.map(|d| message(lang, d)),
            removing => v.removing,
            ad_users => v.ad_users,
            error => v.error.map(|e| message(lang, e)),
            back => format!("/{code}/account"),
        },
    )
}

/// `GET /{brand}/account/active-directory`.
pub async fn show(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (session, _, contract) =
            or_page!(guard(&state, &brand, lang, &headers, MenuItem::ActiveDirectory).await?);
        let current = connection::of_contract(&state, &contract.id).await?;
        let ad_users = state.op.store.count_ad_users(&contract.id).await?;
        let view = View {
            current: current.as_ref(),
            ad_users,
            ..View::default()
        };
        Ok(page(&state, &brand, lang, &session, view))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// The settings form. `step` is `check` (show the confirmation) or `save`.
#[derive(Deserialize, Default)]
pub struct SettingsForm {
    csrf_token: Option<String>,
    /// `url` or `xml`.
    source: Option<String>,
    #[serde(default)]
    metadata_url: String,
    #[serde(default)]
    metadata_xml: String,
    #[serde(default)]
    subject_claim: String,
    step: Option<String>,
}

/// `POST /{brand}/account/active-directory`: check (then confirm) or save the metadata.
pub async fn submit(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<SettingsForm>,
) -> Response {
    let result = async {
        let (session, user, contract) = or_page!(
            guard_post(
                &state,
                &brand,
                lang,
                &headers,
                MenuItem::ActiveDirectory,
                form.csrf_token.as_deref(),
            )
            .await?
        );
        let current = connection::of_contract(&state, &contract.id).await?;
        let ad_users = state.op.store.count_ad_users(&contract.id).await?;
        let source = match form.source.as_deref() {
            Some("xml") => MetadataSource::Xml(form.metadata_xml.clone()),
            _ => MetadataSource::Url(form.metadata_url.clone()),
        };
        let claim = Some(form.subject_claim.clone());
        let checked = match connection::check(&state, source, claim).await? {
            Ok(c) => c,
            Err(problem) => {
                let view = View {
                    current: current.as_ref(),
                    form: Some(&form),
                    ad_users,
                    error: Some(problem_key(&problem)),
                    ..View::default()
                };
                return Ok(page(&state, &brand, lang, &session, view));
            }
        };
        if form.step.as_deref() != Some("save") {
            let view = View {
                current: current.as_ref(),
                checked: Some(&checked),
                form: Some(&form),
                ad_users,
                ..View::default()
            };
            return Ok(page(&state, &brand, lang, &session, view));
        }
        let saved = connection::save(&state, &brand, &user, lang, checked).await?;
        let (record, done) = match saved {
            Saved::Created(r) => (r, "ad_cfg_created"),
            Saved::Changed(r) => (r, "ad_cfg_changed"),
        };
        let view = View {
            current: Some(&record),
            done: Some(done),
            ad_users,
            ..View::default()
        };
        Ok(page(&state, &brand, lang, &session, view))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct RemoveForm {
    csrf_token: Option<String>,
    confirmed: Option<String>,
}

/// `POST /{brand}/account/active-directory/remove`: first the confirmation (how many AD users
/// lose their login), then the removal.
pub async fn remove(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<RemoveForm>,
) -> Response {
    let result = async {
        let (session, user, contract) = or_page!(
            guard_post(
                &state,
                &brand,
                lang,
                &headers,
                MenuItem::ActiveDirectory,
                form.csrf_token.as_deref(),
            )
            .await?
        );
        let current = connection::of_contract(&state, &contract.id).await?;
        let ad_users = state.op.store.count_ad_users(&contract.id).await?;
        if form.confirmed.is_none() {
            let view = View {
                current: current.as_ref(),
                removing: Some(ad_users),
                ad_users,
                ..View::default()
            };
            return Ok(page(&state, &brand, lang, &session, view));
        }
        connection::remove(&state, &brand, &user).await?;
        let view = View {
            done: Some("ad_cfg_removed"),
            ..View::default()
        };
        Ok(page(&state, &brand, lang, &session, view))
    };
    page_or_error(&state, lang, &brand, result.await)
}
