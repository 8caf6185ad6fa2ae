//! The account menu (認証・契約情報変更メニュー): who may use which item (REQ-MENU-2).

use crate::model::{text_enum, LoginMethod, Plan, Role};
use crate::Timestamp;

text_enum!(
    MenuItem {
        LoginMethod = "login_method",
        EmailChange = "email_change",
        PasswordChange = "password_change",
        AccessRoute = "access_route",
        TwoFactor = "two_factor",
        ActiveDirectory = "active_directory",
        ContractInfo = "contract_info",
        PlanChange = "plan_change",
        Cancellation = "cancellation",
    }
);

text_enum!(
    /// The menu's three headings, as the manual groups the items: 認証情報の変更 (the person's
    /// own sign-in), 認証情報の設定 (the contract's sign-in settings), 契約情報の変更.
    MenuGroup {
        Credentials = "credentials",
        Settings = "settings",
        Contract = "contract",
    }
);

impl MenuItem {
    /// The heading the manual puts this item under.
    pub fn group(self) -> MenuGroup {
        match self {
            MenuItem::LoginMethod | MenuItem::EmailChange | MenuItem::PasswordChange => {
                MenuGroup::Credentials
            }
            MenuItem::AccessRoute | MenuItem::TwoFactor | MenuItem::ActiveDirectory => {
                MenuGroup::Settings
            }
            MenuItem::ContractInfo | MenuItem::PlanChange | MenuItem::Cancellation => {
                MenuGroup::Contract
            }
        }
    }
}

/// A trial contract's contractor may still change to the basic plan this long after the trial ends.
pub const PLAN_CHANGE_GRACE: i64 = 15 * 86_400;
/// A trial lasts 30 days.
pub const TRIAL_LENGTH: i64 = 30 * 86_400;

/// The facts the table reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MenuSubject {
    pub role: Role,
    pub plan: Plan,
    pub login_method: LoginMethod,
    /// When the contract started (a trial ends `TRIAL_LENGTH` after it).
    pub contract_created_at: Timestamp,
    /// The contract is 回線認証のみ and this session did not come over a line: the contractor's
    /// recovery path, which reaches アクセス経路設定 and nothing else (REQ-LINE-4).
    pub recovery_only: bool,
}

/// Whether `who` may use `item` at `now`. Only the contractor manages contract-wide items; on a
/// trial the contractor cannot change the login method or email, change contract information or
/// cancel (the trial ends by itself), and may change plan until 15 days after the trial ended.
pub fn allowed(item: MenuItem, who: MenuSubject, now: Timestamp) -> bool {
    let contractor = who.role == Role::Contractor;
    let basic = who.plan == Plan::Basic;
    if who.recovery_only {
        return contractor && item == MenuItem::AccessRoute;
    }
    match item {
        MenuItem::PasswordChange => who.login_method == LoginMethod::Password,
        MenuItem::LoginMethod
        | MenuItem::EmailChange
        | MenuItem::ContractInfo
        | MenuItem::Cancellation => contractor && basic,
        MenuItem::AccessRoute | MenuItem::TwoFactor | MenuItem::ActiveDirectory => contractor,
        MenuItem::PlanChange => {
            contractor
                && (basic || now <= who.contract_created_at + TRIAL_LENGTH + PLAN_CHANGE_GRACE)
        }
    }
}

/// The items `who` sees, in menu order.
pub fn visible_items(who: MenuSubject, now: Timestamp) -> Vec<MenuItem> {
    MenuItem::ALL
        .iter()
        .copied()
        .filter(|i| allowed(*i, who, now))
        .collect()
}

/// The items `who` sees under their headings, in menu order; a heading with no item the person
/// may use is left out. The permission is [`allowed`]'s alone: grouping only arranges.
pub fn visible_groups(who: MenuSubject, now: Timestamp) -> Vec<(MenuGroup, Vec<MenuItem>)> {
    let items = visible_items(who, now);
    MenuGroup::ALL
        .iter()
        .map(|g| {
            let under: Vec<MenuItem> = items.iter().copied().filter(|i| i.group() == *g).collect();
            (*g, under)
        })
        .filter(|(_, under)| !under.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use MenuItem::*;

    const DAY: i64 = 86_400;

    // REQ-MENU-2: the manual's table, for every role × plan × trial moment × login method.
    #[test]
    fn permission_table() {
        // (item, basic contractor, basic others, trial contractor, trial others) as in the manual.
        let table: &[(MenuItem, bool, bool, bool, bool)] = &[
            (LoginMethod, true, false, false, false),
            (EmailChange, true, false, false, false),
            (PasswordChange, true, true, true, true),
            (AccessRoute, true, false, true, false),
            (TwoFactor, true, false, true, false),
            (ActiveDirectory, true, false, true, false),
            (ContractInfo, true, false, false, false),
            (PlanChange, true, false, true, false),
            (Cancellation, true, false, false, false),
        ];
        let start = 1_000 * DAY;
        let during_trial = start + 10 * DAY;
        for method in crate::model::LoginMethod::ALL {
            for role in Role::ALL {
                for (item, bc, bo, tc, to) in table {
                    for (plan, want) in [
                        (
                            Plan::Basic,
                            if *role == Role::Contractor { *bc } else { *bo },
                        ),
                        (
                            Plan::Trial,
                            if *role == Role::Contractor { *tc } else { *to },
                        ),
                    ] {
                        let who = MenuSubject {
                            role: *role,
                            plan,
                            login_method: *method,
                            contract_created_at: start,
                            recovery_only: false,
                        };
                        // Password change is for password users only, whatever the table says.
                        let want = want
                            && (*item != PasswordChange
                                || *method == crate::model::LoginMethod::Password);
                        assert_eq!(
                            allowed(*item, who, during_trial),
                            want,
                            "{item} {role} {plan} {method}"
                        );
                    }
                }
            }
        }
    }

    // REQ-MENU-2 ※1: a trial contractor may change plan until 15 days after the 30-day trial.
    #[test]
    fn trial_plan_change_window() {
        let start = 1_000 * DAY;
        let who = MenuSubject {
            role: Role::Contractor,
            plan: Plan::Trial,
            login_method: crate::model::LoginMethod::Password,
            contract_created_at: start,
            recovery_only: false,
        };
        assert!(allowed(PlanChange, who, start + 45 * DAY));
        assert!(!allowed(PlanChange, who, start + 45 * DAY + 1));
        assert_eq!(
            visible_items(who, start + 46 * DAY),
            vec![PasswordChange, AccessRoute, TwoFactor, ActiveDirectory]
        );
    }

    // REQ-LINE-4: a 回線認証のみ contract's contractor, in from the internet, reaches アクセス経路設定
    // and nothing else; nobody else reaches anything.
    #[test]
    fn the_recovery_path_reaches_the_access_route_only() {
        for role in [Role::Contractor, Role::Admin, Role::User] {
            let who = MenuSubject {
                role,
                plan: Plan::Basic,
                login_method: crate::model::LoginMethod::Password,
                contract_created_at: 0,
                recovery_only: true,
            };
            let want = if role == Role::Contractor {
                vec![AccessRoute]
            } else {
                vec![]
            };
            assert_eq!(visible_items(who, DAY), want, "{role}");
        }
    }

    // ISSUE-16 REQ-MENU-2: the manual's three headings, each with its three items in the
    // manual's order; a person sees only the headings they have an item under.
    #[test]
    fn items_are_grouped_as_in_the_manual() {
        let want = [
            (
                MenuGroup::Credentials,
                vec![LoginMethod, EmailChange, PasswordChange],
            ),
            (
                MenuGroup::Settings,
                vec![AccessRoute, TwoFactor, ActiveDirectory],
            ),
            (
                MenuGroup::Contract,
                vec![ContractInfo, PlanChange, Cancellation],
            ),
        ];
        for (group, items) in &want {
            let under: Vec<MenuItem> = MenuItem::ALL
                .iter()
                .copied()
                .filter(|i| i.group() == *group)
                .collect();
            assert_eq!(&under, items, "{group}");
        }
        let contractor = MenuSubject {
            role: Role::Contractor,
            plan: Plan::Basic,
            login_method: crate::model::LoginMethod::Password,
            contract_created_at: 0,
            recovery_only: false,
        };
        assert_eq!(visible_groups(contractor, DAY), want.to_vec());
        let user = MenuSubject {
            role: Role::User,
            ..contractor
        };
        assert_eq!(
            visible_groups(user, DAY),
            vec![(MenuGroup::Credentials, vec![PasswordChange])]
        );
        // A user who signs in with Google may use no item: no heading at all.
        let nobody = MenuSubject {
            login_method: crate::model::LoginMethod::Google,
            ..user
        };
        assert!(visible_groups(nobody, DAY).is_empty());
        let trial = MenuSubject {
            plan: Plan::Trial,
            ..contractor
        };
        assert_eq!(
            visible_groups(trial, DAY),
            vec![
                (MenuGroup::Credentials, vec![PasswordChange]),
                (
                    MenuGroup::Settings,
                    vec![AccessRoute, TwoFactor, ActiveDirectory]
                ),
                (MenuGroup::Contract, vec![PlanChange]),
            ]
        );
    }
}
