//! User management for a contract (issue 6): invitations, the login-method-change and
//! email-change mails, role, disable/enable and deletion. No HTTP here: the admin console (HTML),
//! the admin REST API (JSON) and the account menu call these, so each rule is written once.
//!
//! Who may do what:
//! - only an active contractor or admin (an [`Actor`]) of a contract that has not ended manages
//!   users, and only the users of their own contract;
//! - the contractor is made with the contract: nobody changes their role, disables or deletes
//!   them, and their own login method and email are changed from the account menu (REQ-USER-4,
//!   REQ-USER-6), not from the console;
//! - nobody disables or deletes themselves (a contract keeps someone who can manage it);
//! - a login-method change and an email change are never pending at once (REQ-USER-7).

use crate::audit::audit_in;
use crate::signin::send;
use crate::tickets::{self, OtherChangePending, PendingChange, TicketToken};
use crate::App;
use sekisho_core::email::Email;
use sekisho_core::model::{Brand, Contract, LoginMethod, Role, User, UserStatus};
use sekisho_core::name::check_name;
use sekisho_core::oauth::Lang;
use sekisho_core::paging::Paging;
use sekisho_core::tickets::TicketPurpose;
use sekisho_crypto::tokens::new_id;
use sekisho_notify::templates::MailKind;
use sekisho_oidc::OAuthError;
use sekisho_store::StoreError;
use serde::Serialize;
use serde_json::json;

/// Why a directory operation was refused. Each has a message in both languages
/// ([`DirectoryError::message_key`]) and a stable code for the REST API ([`DirectoryError::code`]).
#[derive(Debug)]
pub enum DirectoryError {
    /// The caller is not an active contractor or admin of a live contract, or the rule above
    /// forbids this operation on this user.
    NotAllowed,
    /// No such user in the caller's contract (another contract's users are "not found" too, so
    /// their existence is not revealed).
    NotFound,
    /// The address is already used in the brand.
    EmailTaken,
    /// Not a valid email address.
    EmailInvalid,
    /// A name longer than `sekisho_core::name::MAX_NAME_CHARS` or with control characters.
    NameInvalid,
    /// A login-method change or email change is already pending for the user (REQ-USER-7).
    OtherChangePending,
    /// The operation does not apply to this user's state (for example mailing a login-method
    /// change to someone who has not registered yet).
    WrongState,
    /// A role that cannot be given (the contractor role).
    BadRole,
    Internal(OAuthError),
}

impl DirectoryError {
    pub fn message_key(&self) -> &'static str {
        match self {
            DirectoryError::NotAllowed => "dir_not_allowed",
            DirectoryError::NotFound => "dir_not_found",
            DirectoryError::EmailTaken => "dir_email_taken",
            DirectoryError::EmailInvalid => "email_invalid",
            DirectoryError::NameInvalid => "user_name_invalid",
            DirectoryError::OtherChangePending => "dir_other_change_pending",
            DirectoryError::WrongState => "dir_wrong_state",
            DirectoryError::BadRole => "dir_bad_role",
            DirectoryError::Internal(_) => "error_internal",
        }
    }

    /// The API's `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            DirectoryError::NotAllowed => "forbidden",
            DirectoryError::NotFound => "not_found",
            DirectoryError::EmailTaken => "email_taken",
            DirectoryError::EmailInvalid => "invalid_email",
            DirectoryError::NameInvalid => "invalid_name",
            DirectoryError::OtherChangePending => "change_pending",
            DirectoryError::WrongState => "wrong_state",
            DirectoryError::BadRole => "invalid_role",
            DirectoryError::Internal(_) => "server_error",
        }
    }
}

impl From<OAuthError> for DirectoryError {
    fn from(e: OAuthError) -> Self {
        DirectoryError::Internal(e)
    }
}

impl From<StoreError> for DirectoryError {
    fn from(e: StoreError) -> Self {
        DirectoryError::Internal(e.into())
    }
}

type Result<T> = std::result::Result<T, DirectoryError>;

/// A contractor or admin acting on their contract's users, or an integrator's client acting for
/// a contract (then `user` is the contract's contractor, in whose name mails go out).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    pub contract: Contract,
    /// The integrator's client, when the actor is one (`client_credentials`).
    pub client_id: Option<String>,
}

impl Actor {
    /// The user `user_id` as an actor, if they may manage users at all.
    pub async fn load(app: &App, user_id: &str) -> Result<Actor> {
        let (user, contract) = app
            .op
            .store
            .find_user_with_contract(user_id)
            .await?
            .ok_or(DirectoryError::NotAllowed)?;
        let manager = matches!(user.role, Role::Contractor | Role::Admin);
        if !manager || !user.may_use_service(&contract, app.op.now()) {
            return Err(DirectoryError::NotAllowed);
        }
        Ok(Actor {
            user,
            contract,
            client_id: None,
        })
    }

    /// An integrator's client acting for `contract_id` (the client is bound to that contract).
    pub async fn for_client(app: &App, contract_id: &str, client_id: &str) -> Result<Actor> {
        let contractor = app
            .op
            .store
            .list_users(contract_id)
            .await?
            .into_iter()
            .find(|u| u.role == Role::Contractor)
            .ok_or(DirectoryError::NotAllowed)?;
        let mut actor = Actor::load(app, &contractor.id).await?;
        actor.client_id = Some(client_id.to_owned());
        Ok(actor)
    }

    /// A user of the actor's contract.
    pub async fn target(&self, app: &App, user_id: &str) -> Result<User> {
        app.op
            .store
            .find_user(user_id)
            .await?
            .filter(|u| u.contract_id == self.contract.id)
            .ok_or(DirectoryError::NotFound)
    }
}

/// What the console and the API show of a user (never hashes).
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub login_method: LoginMethod,
    pub status: UserStatus,
    pub locked: bool,
    /// The mailed changes waiting for the user: `invitation`, `email_change`,
    /// `login_method_change`.
    pub pending: Vec<String>,
    pub created_at: i64,
}

async fn view(app: &App, u: &User) -> Result<UserView> {
    let pending = app
        .op
        .store
        .pending_ticket_purposes(&u.id, app.op.now())
        .await?;
    Ok(view_with(u, pending))
}

/// `u` with its live ticket purposes, of which the mailed changes are shown.
fn view_with(u: &User, purposes: impl IntoIterator<Item = String>) -> UserView {
    let pending = purposes
        .into_iter()
        .filter(|p| {
            p == TicketPurpose::Invitation.as_str()
                || p == TicketPurpose::EmailChange.as_str()
                || p == TicketPurpose::LoginMethodChange.as_str()
        })
        .collect();
    UserView {
        id: u.id.clone(),
        email: u.email.as_str().to_owned(),
        name: u.name.clone(),
        role: u.role,
        login_method: u.login_method,
        status: u.status,
        locked: u.locked_at.is_some(),
        pending,
        created_at: u.created_at,
    }
}

/// The console's user list shows this many users a page.
pub const USERS_PER_PAGE: i64 = 50;
/// A search is cut to this many characters (the field says so with `maxlength`).
pub const MAX_SEARCH_CHARS: usize = 100;

/// One page of the console's user list.
#[derive(Debug, Clone)]
pub struct UserList {
    pub users: Vec<UserView>,
    pub paging: Paging,
    /// The search as applied (trimmed, without control characters, cut to
    /// [`MAX_SEARCH_CHARS`]); empty for all users.
    pub search: String,
}

/// The search as applied: trimmed, control characters dropped, at most [`MAX_SEARCH_CHARS`].
pub fn search_term(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_SEARCH_CHARS)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// Page `page` of the contract's users whose email or name contains `search` (case-insensitive),
/// by email. Reads one page and a count, never the whole contract (issue 16: thousands of users).
pub async fn list_page(app: &App, actor: &Actor, search: &str, page: i64) -> Result<UserList> {
    let search = search_term(search);
    let store = &app.op.store;
    let total = store.count_users(&actor.contract.id, &search).await?;
    let paging = Paging::new(page, USERS_PER_PAGE, total);
    let users = store
        .users_page(&actor.contract.id, &search, paging.offset(), paging.size)
        .await?;
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let mut pending: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (id, purpose) in store.pending_ticket_purposes_of(&ids, app.op.now()).await? {
        pending.entry(id).or_default().push(purpose);
    }
    let users = users
        .iter()
        .map(|u| view_with(u, pending.remove(&u.id).unwrap_or_default()))
        .collect();
    Ok(UserList {
        users,
        paging,
        search,
    })
}

/// Every user of the contract (the admin API's list; the console reads [`list_page`]).
pub async fn list_users(app: &App, actor: &Actor) -> Result<Vec<UserView>> {
    let mut out = Vec::new();
    for u in app.op.store.list_users(&actor.contract.id).await? {
        out.push(view(app, &u).await?);
    }
    Ok(out)
}

pub async fn get_user(app: &App, actor: &Actor, user_id: &str) -> Result<UserView> {
    let u = actor.target(app, user_id).await?;
    view(app, &u).await
}

/// Registers a user by email (REQ-USER-1): an invited user, and the mail
/// `【Brand】利用者登録のご案内` with a 14-day registration link.
pub async fn invite(
    app: &App,
    brand: &Brand,
    actor: &Actor,
    email: &str,
    name: &str,
    role: Role,
    lang: Lang,
) -> Result<UserView> {
    if role == Role::Contractor {
        return Err(DirectoryError::BadRole);
    }
    let email = Email::parse(email).map_err(|_| DirectoryError::EmailInvalid)?;
    let name = check_name(name, false).map_err(|_| DirectoryError::NameInvalid)?;
    let user = User {
        id: new_id("usr"),
        contract_id: actor.contract.id.clone(),
        brand: actor.contract.brand.clone(),
        email,
        name: name.to_owned(),
        role,
        login_method: LoginMethod::Password,
        password_hash: None,
        failed_logins: 0,
        locked_at: None,
        status: UserStatus::Invited,
        created_at: app.op.now(),
    };
    match app.op.store.insert_user(&user).await {
        Err(StoreError::Conflict) => return Err(DirectoryError::EmailTaken),
        other => other?,
    }
    let token = issue(app, &user, TicketPurpose::Invitation, json!({})).await?;
    let url = tickets::link(app, brand.code.as_str(), TicketPurpose::Invitation, &token);
    send(
        app,
        brand,
        &user,
        lang,
        MailKind::Invitation {
            inviter_email: actor.user.email.as_str().to_owned(),
            registration_url: url,
        },
    )
    .await?;
    audit(
        app,
        brand,
        actor,
        "user.invited",
        &user,
        json!({ "role": role }),
    )
    .await;
    view(app, &user).await
}

/// Mails the login-method-change link `【Brand】ログイン方法の設定変更` (REQ-USER-4) to a user of
/// the actor's contract (not the contractor: they use the account menu).
pub async fn send_login_method_change(
    app: &App,
    brand: &Brand,
    actor: &Actor,
    user_id: &str,
    lang: Lang,
) -> Result<UserView> {
    let user = actor.target(app, user_id).await?;
    if user.role == Role::Contractor {
        return Err(DirectoryError::NotAllowed);
    }
    request_login_method_change(app, brand, &user, lang).await?;
    audit(
        app,
        brand,
        actor,
        "login_method.change_sent",
        &user,
        json!({}),
    )
    .await;
    view(app, &user).await
}

/// Mails the email-change link `【Brand】メールアドレス変更登録` to `new_email` (REQ-USER-6) for a
/// user of the actor's contract (not the contractor: they use the account menu).
pub async fn send_email_change(
    app: &App,
    brand: &Brand,
    actor: &Actor,
    user_id: &str,
    new_email: &str,
    lang: Lang,
) -> Result<UserView> {
    let user = actor.target(app, user_id).await?;
    if user.role == Role::Contractor {
        return Err(DirectoryError::NotAllowed);
    }
    request_email_change(app, brand, &user, new_email, lang).await?;
    audit(app, brand, actor, "email.change_sent", &user, json!({})).await;
    view(app, &user).await
}

/// Issues and mails a login-method-change ticket for `user` (the console's mail).
async fn request_login_method_change(
    app: &App,
    brand: &Brand,
    user: &User,
    lang: Lang,
) -> Result<()> {
    let token = login_method_change_ticket(app, user).await?;
    let url = tickets::link(
        app,
        brand.code.as_str(),
        TicketPurpose::LoginMethodChange,
        &token,
    );
    send(
        app,
        brand,
        user,
        lang,
        MailKind::LoginMethodChange { change_url: url },
    )
    .await?;
    Ok(())
}

/// A login-method-change ticket for `user`, unless an email change is pending (REQ-USER-7); the
/// contractor's own change from the menu opens it at once, without a mail.
pub async fn login_method_change_ticket(app: &App, user: &User) -> Result<TicketToken> {
    if user.status != UserStatus::Active {
        return Err(DirectoryError::WrongState);
    }
    issue(app, user, TicketPurpose::LoginMethodChange, json!({})).await
}

/// Issues an email-change ticket for `user` and mails it to the new address.
pub async fn request_email_change(
    app: &App,
    brand: &Brand,
    user: &User,
    new_email: &str,
    lang: Lang,
) -> Result<()> {
    if user.status != UserStatus::Active {
        return Err(DirectoryError::WrongState);
    }
    let email = Email::parse(new_email).map_err(|_| DirectoryError::EmailInvalid)?;
    if app
        .op
        .store
        .find_user_by_email(brand.code.as_str(), &email)
        .await?
        .is_some()
    {
        return Err(DirectoryError::EmailTaken);
    }
    let payload = json!({ "email": email.as_str() });
    let token = issue(app, user, TicketPurpose::EmailChange, payload).await?;
    let url = tickets::link(app, brand.code.as_str(), TicketPurpose::EmailChange, &token);
    match app
        .mailer
        .enqueue_kind(
            brand,
            email.as_str(),
            &user.name,
            lang,
            &MailKind::EmailChange { confirm_url: url },
        )
        .await
    {
        // Over the address's hourly cap: nothing queued (logged), answered as usual.
        Ok(_) | Err(sekisho_notify::Error::OverCap) => {}
        Err(e) => return Err(OAuthError::server(e).into()),
    }
    Ok(())
}

/// The change pending for a user of the actor's contract (ISSUE-16: shown in the console).
pub async fn pending_change(
    app: &App,
    actor: &Actor,
    user_id: &str,
) -> Result<Option<PendingChange>> {
    let user = actor.target(app, user_id).await?;
    Ok(tickets::pending_change(app, &user.id).await?)
}

/// Whether the actor may cancel or resend `user`'s pending change: the contractor's own changes
/// are made, and cancelled, in the account menu (REQ-USER-4, REQ-USER-6), as the mails are sent.
fn may_manage_changes(user: &User) -> Result<()> {
    match user.role {
        Role::Contractor => Err(DirectoryError::NotAllowed),
        _ => Ok(()),
    }
}

/// Cancels the pending change of a user of the actor's contract (ISSUE-16): its link stops
/// working, and the other change may be sent (REQ-USER-7). `None` when nothing was pending.
pub async fn cancel_pending_change(
    app: &App,
    brand: &Brand,
    actor: &Actor,
    user_id: &str,
) -> Result<Option<PendingChange>> {
    let user = actor.target(app, user_id).await?;
    may_manage_changes(&user)?;
    let cancelled = tickets::cancel_change(app, &user.id).await?;
    if let Some(change) = &cancelled {
        let detail = json!({ "purpose": change.purpose });
        audit(app, brand, actor, "change.cancelled", &user, detail).await;
    }
    Ok(cancelled)
}

/// What [`resend_pending_change`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resent {
    pub change: PendingChange,
    /// False when the address had its hourly share of mails (`Mailer::with_hourly_cap`): the new
    /// link was made (the old one no longer works) but not mailed; sending again later mails it.
    pub mailed: bool,
}

/// Mails the pending change of a user of the actor's contract again (ISSUE-16): a new link,
/// the old one stops working. `None` when nothing was pending.
pub async fn resend_pending_change(
    app: &App,
    brand: &Brand,
    actor: &Actor,
    user_id: &str,
    lang: Lang,
) -> Result<Option<Resent>> {
    let user = actor.target(app, user_id).await?;
    may_manage_changes(&user)?;
    let Some((change, token)) = tickets::reissue_change(app, &user.id).await? else {
        return Ok(None);
    };
    let url = tickets::link(app, brand.code.as_str(), change.purpose, &token);
    let (to, kind) = match change.purpose {
        TicketPurpose::EmailChange => (
            change
                .new_email
                .as_deref()
                .ok_or_else(|| OAuthError::server("an email change without its address"))?,
            MailKind::EmailChange { confirm_url: url },
        ),
        _ => (
            user.email.as_str(),
            MailKind::LoginMethodChange { change_url: url },
        ),
    };
    let mailed = match app
        .mailer
        .enqueue_kind(brand, to, &user.name, lang, &kind)
        .await
    {
        Ok(_) => true,
        Err(sekisho_notify::Error::OverCap) => false,
        Err(e) => return Err(OAuthError::server(e).into()),
    };
    let detail = json!({ "purpose": change.purpose, "mailed": mailed });
    audit(app, brand, actor, "change.resent", &user, detail).await;
    Ok(Some(Resent { change, mailed }))
}

/// The user cancels their own pending change from the account menu (ISSUE-16). `None` when
/// nothing was pending.
pub async fn cancel_own_change(
    app: &App,
    brand: &Brand,
    user: &User,
) -> Result<Option<PendingChange>> {
    let cancelled = tickets::cancel_change(app, &user.id).await?;
    if let Some(change) = &cancelled {
        let detail = json!({ "purpose": change.purpose, "by": user.id });
        let contract = user.contract_id.as_str();
        audit_in(
            app,
            "change.cancelled",
            brand,
            contract,
            Some(&user.id),
            detail,
        )
        .await;
    }
    Ok(cancelled)
}

/// Gives a user the admin or user role.
pub async fn set_role(
    app: &App,
    brand: &Brand,
    actor: &Actor,
    user_id: &str,
    role: Role,
) -> Result<UserView> {
    if role == Role::Contractor {
        return Err(DirectoryError::BadRole);
    }
    let user = actor.target(app, user_id).await?;
    if user.role == Role::Contractor {
        return Err(DirectoryError::NotAllowed);
    }
    app.op.store.set_user_role(&user.id, role).await?;
    audit(
        app,
        brand,
        actor,
        "user.role",
        &user,
        json!({ "role": role }),
    )
    .await;
    get_user(app, actor, user_id).await
}

/// Disables (sessions end, tokens stop) or re-enables a registered user.
pub async fn set_enabled(
    app: &App,
    brand: &Brand,
    actor: &Actor,
    user_id: &str,
    enabled: bool,
) -> Result<UserView> {
    let user = actor.target(app, user_id).await?;
    if user.role == Role::Contractor || user.id == actor.user.id {
        return Err(DirectoryError::NotAllowed);
    }
    let status = match (enabled, user.status) {
        (_, UserStatus::Invited) => return Err(DirectoryError::WrongState),
        (true, _) => UserStatus::Active,
        (false, _) => UserStatus::Disabled,
    };
    app.op
        .store
        .set_user_status(&user.id, status, app.op.now())
        .await?;
    audit(
        app,
        brand,
        actor,
        "user.status",
        &user,
        json!({ "status": status }),
    )
    .await;
    get_user(app, actor, user_id).await
}

/// Deletes a user of the actor's contract: their tokens stop and their data goes.
pub async fn delete(app: &App, brand: &Brand, actor: &Actor, user_id: &str) -> Result<()> {
    let user = actor.target(app, user_id).await?;
    if user.role == Role::Contractor || user.id == actor.user.id {
        return Err(DirectoryError::NotAllowed);
    }
    app.op.store.delete_user(&user.id, app.op.now()).await?;
    audit(app, brand, actor, "user.deleted", &user, json!({})).await;
    Ok(())
}

/// A new ticket of `purpose` for `user` (REQ-USER-7 is kept by `tickets::issue`); the token.
async fn issue(
    app: &App,
    user: &User,
    purpose: TicketPurpose,
    payload: serde_json::Value,
) -> Result<TicketToken> {
    tickets::issue(app, user, purpose, &payload)
        .await?
        .map_err(|OtherChangePending| DirectoryError::OtherChangePending)
}

/// Audits an action on `target` by `actor` (the event's user is the target; the actor is in
/// the detail).
async fn audit(
    app: &App,
    brand: &Brand,
    actor: &Actor,
    kind: &str,
    target: &User,
    mut detail: serde_json::Value,
) {
    detail["by"] = match &actor.client_id {
        Some(client) => json!({ "client_id": client }),
        None => json!(actor.user.id),
    };
    audit_in(
        app,
        kind,
        brand,
        &actor.contract.id,
        Some(&target.id),
        detail,
    )
    .await;
}
