//! What every step of a login shares: where and for whom it happens ([`LoginContext`]) and how
//! it ends ([`sign_in`]: the session is replaced by a signed-in one). The pipeline and the second
//! step both end here, so neither depends on the other for it.

use crate::session::{new_session, SessionToken};
use crate::{App, Result};
use sekisho_core::line::Entry;
use sekisho_core::login::Continuation;
use sekisho_core::model::Brand;
use sekisho_core::oauth::{Amr, Lang};
use sekisho_core::secret::Secret;
use sekisho_store::SessionRecord;

/// Where and for whom a login happens.
#[derive(Debug, Clone)]
pub struct LoginContext<'a> {
    pub brand: &'a Brand,
    pub lang: Lang,
    /// The browser session the login happens in (anonymous, or signed in when stepping up).
    pub session: &'a SessionRecord,
    /// The remembered-browser cookie's value, if the browser sent one (REQ-2FA-2).
    pub browser: Option<&'a str>,
    /// Where the login continues once complete.
    pub then: Continuation,
    /// The entry the request came in by (the internet, or a line through the carrier gateway).
    pub entry: Entry,
}

/// A completed login: the browser's new session, and where it goes on to.
#[derive(Debug)]
pub struct SignedIn {
    pub then: Continuation,
    pub session: SessionToken,
    /// A new remembered-browser value to set, when the user ticked "remember this browser".
    pub remembered_browser: Option<Secret<String>>,
    /// The first login of this user from this West Japan line: show 回線情報通知設定 before
    /// going on (REQ-LINE-5).
    pub ask_line_consent: bool,
}

/// Replaces the browser session with a signed-in one for `user_id` (the failure count starts
/// again: the whole login is done).
pub(crate) async fn sign_in(
    app: &App,
    brand: &str,
    session: &SessionRecord,
    user_id: &str,
    amr: &[Amr],
    then: &Continuation,
) -> Result<SignedIn> {
    app.op.store.reset_login_failures(user_id).await?;
    let (new, value) = new_session(app, brand, Some((user_id, amr)));
    app.op
        .store
        .replace_session(&session.id_hash, &new, then.authorization_request())
        .await?;
    Ok(SignedIn {
        then: then.clone(),
        session: value,
        remembered_browser: None,
        ask_line_consent: false,
    })
}
