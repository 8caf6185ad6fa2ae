//! Hosted pages, rendered with minijinja from templates embedded at build time.
//!
//! minijinja (rather than askama) because templates are data: the next step lets an operator
//! override a brand's templates from a directory without rebuilding.

use crate::i18n::{messages, Lang};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment, Value};

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../templates/layout.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("message.html", include_str!("../templates/message.html")),
    (
        "logout_confirm.html",
        include_str!("../templates/logout_confirm.html"),
    ),
];

pub struct Pages {
    env: Environment<'static>,
}

impl Default for Pages {
    fn default() -> Self {
        Self::new()
    }
}

impl Pages {
    pub fn new() -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("embedded templates parse");
        }
        Self { env }
    }

    /// Renders `name` with the common context (language, strings, brand name) plus `extra`.
    pub fn render(
        &self,
        status: StatusCode,
        name: &str,
        lang: Lang,
        brand_name: Option<&str>,
        extra: Value,
    ) -> Response {
        let ctx = context! { lang => lang.as_str(), t => messages(lang), brand_name => brand_name, ..extra };
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, template = name, "template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }

    /// A page with a title and a message, in the user's language.
    pub fn message(
        &self,
        status: StatusCode,
        lang: Lang,
        brand_name: Option<&str>,
        title_key: &str,
        body_key: &str,
        link: Option<&str>,
    ) -> Response {
        let m = messages(lang);
        self.render(
            status,
            "message.html",
            lang,
            brand_name,
            context! { title => m.get(title_key), body => m.get(body_key), link => link },
        )
    }

    pub fn error(
        &self,
        status: StatusCode,
        lang: Lang,
        brand_name: Option<&str>,
        message_key: &str,
        detail: Option<&str>,
    ) -> Response {
        let m = messages(lang);
        self.render(
            status,
            "message.html",
            lang,
            brand_name,
            context! { title => m.get("error_title"), body => m.get(message_key), detail => detail, is_error => true },
        )
    }
}
