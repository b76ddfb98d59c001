//! Who may do what (README, Roles and scope). A principal's scope is a set of subtrees
//! of the unit tree; whether a target lies inside it is decided by the caller
//! (it needs the tree) and passed in as [`Scope`].
//!
//! Some settings belong to the whole deployment rather than to one court
//! ([`Action::is_deployment_wide`]): the working-day calendar is national, and
//! there is one appraisal rule set and one publication of a period for every
//! unit. Their target is the top of the unit tree, so a court-scoped office
//! cannot change what another court runs on ([`deployment_scope`]).

use crate::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read units, people, role bindings, officer history.
    ReadDirectory,
    /// Create or change units and people, appoint heads and liaisons, set 分管.
    ManageDirectory,
    /// Grant or withdraw roles.
    ManageRoleBindings,
    /// Set or advance the dev clock.
    ManageClock,
    /// Read sources, items and the ledger.
    ReadLedger,
    /// Register sources, draft, edit, submit and decompose items.
    DraftItems,
    /// Approve or send back items (立项审批), import historical ledgers.
    ApproveItems,
    /// Load the working-day calendar. Deployment-wide: the State Council's
    /// calendar holds for every court, and loading a year recomputes every
    /// court's deadlines.
    ManageCalendar,
    /// Assign registered items (交办).
    Assign,
    /// Sign for, and report on, an assignment of one's unit.
    ReportProgress,
    /// Verify completion reports, write off (核查 · 销号).
    Verify,
    /// Decide a unit's extension or suspension request and its plan
    /// (延期、中止申请和推进计划审批): the supervising leader, on the units they
    /// supervise (分管) as well as on their token's scope
    /// ([`authorize_supervised`]); the president, for any unit of the court.
    DecideRequests,
    /// Claim a published item (认领) for one's unit, or as a leader for a
    /// unit one supervises.
    Claim,
    /// Read scorecards and rule sets (考评): heads and liaisons their own
    /// unit's only, through the scope.
    ReadAppraisal,
    /// Read rankings and every unit's scorecard: they compare units, so not
    /// for a unit's own head or liaison.
    ReadRankings,
    /// Adjust a unit's or person's score, inside the scope.
    ManageAppraisal,
    /// Load rule sets and publish (freeze) periods. Deployment-wide: a rule
    /// set prices, and a publication freezes, every unit's scorecard.
    ManageAppraisalRules,
    /// Read and preview reports (通报) and their archive.
    ReadReports,
    /// Issue reports outside their schedule, send them again.
    IssueReports,
}

/// Where the target of an action lies relative to the principal's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The target is inside one of the principal's subtrees.
    Inside,
    /// The target is outside every subtree of the principal.
    Outside,
    /// The action has no unit target (e.g. the clock).
    Global,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// None of the principal's roles may take this action at all.
    Role { action: Action },
    /// A role allows it, but not on this target.
    Scope { action: Action },
}

impl Action {
    /// Roles that may take the action inside their scope. `admin` may take every
    /// action everywhere and is not listed.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Action::ReadDirectory => &[
                Role::OfficeSupervisor,
                Role::OfficeDirector,
                Role::Leader,
                Role::President,
                Role::UnitHead,
                Role::UnitLiaison,
                Role::Appraiser,
                Role::System,
            ],
            Action::ManageDirectory => &[Role::OfficeSupervisor, Role::OfficeDirector, Role::System],
            Action::ManageRoleBindings => &[Role::OfficeDirector],
            Action::ManageClock => &[],
            Action::ReadLedger => &[
                Role::OfficeSupervisor,
                Role::OfficeDirector,
                Role::Leader,
                Role::President,
                Role::UnitHead,
                Role::UnitLiaison,
                Role::Appraiser,
                Role::System,
            ],
            Action::DraftItems => &[Role::OfficeSupervisor, Role::OfficeDirector, Role::System],
            Action::ApproveItems => &[Role::OfficeDirector, Role::Leader],
            Action::DecideRequests => &[Role::Leader, Role::President],
            Action::ManageCalendar => &[Role::OfficeDirector, Role::OfficeSupervisor],
            Action::Assign => &[Role::OfficeSupervisor, Role::OfficeDirector, Role::System],
            Action::ReportProgress => &[Role::UnitHead, Role::UnitLiaison, Role::OfficeSupervisor, Role::System],
            Action::Verify => &[Role::OfficeSupervisor, Role::OfficeDirector],
            Action::Claim => &[Role::UnitHead, Role::UnitLiaison, Role::Leader, Role::President],
            Action::ReadAppraisal => &[
                Role::Appraiser,
                Role::System,
                Role::OfficeDirector,
                Role::OfficeSupervisor,
                Role::Leader,
                Role::President,
                Role::UnitHead,
                Role::UnitLiaison,
            ],
            Action::ReadRankings => &[
                Role::Appraiser,
                Role::System,
                Role::OfficeDirector,
                Role::OfficeSupervisor,
                Role::Leader,
                Role::President,
            ],
            Action::ManageAppraisal => &[Role::OfficeDirector],
            Action::ManageAppraisalRules => &[Role::OfficeDirector],
            Action::ReadReports => &[
                Role::OfficeSupervisor,
                Role::OfficeDirector,
                Role::Leader,
                Role::President,
                Role::System,
            ],
            Action::IssueReports => &[Role::OfficeSupervisor, Role::OfficeDirector],
        }
    }

    pub fn describe_zh(self) -> &'static str {
        match self {
            Action::ReadDirectory => "查看组织机构",
            Action::ManageDirectory => "维护组织机构",
            Action::ManageRoleBindings => "分配角色",
            Action::ManageClock => "调整开发时钟",
            Action::ReadLedger => "查看督办台账",
            Action::DraftItems => "登记督办事项",
            Action::ApproveItems => "审批立项",
            Action::DecideRequests => "审批延期、中止申请和推进计划",
            Action::ManageCalendar => "维护工作日历",
            Action::Assign => "交办督办事项",
            Action::ReportProgress => "签收和反馈",
            Action::Verify => "核查和销号",
            Action::Claim => "认领督办事项",
            Action::ReadAppraisal => "查看考评结果",
            Action::ReadRankings => "查看考评排名",
            Action::ManageAppraisal => "调整考评分值",
            Action::ManageAppraisalRules => "管理考评规则和发布考评结果",
            Action::ReadReports => "查看督查督办通报",
            Action::IssueReports => "印发督查督办通报",
        }
    }
}

impl Action {
    /// Whether the action changes a setting of the whole deployment. Its
    /// target is the top of the unit tree: place it with [`deployment_scope`],
    /// never judge it by role alone.
    pub fn is_deployment_wide(self) -> bool {
        matches!(self, Action::ManageCalendar | Action::ManageAppraisalRules)
    }

    /// Whether the units a leader supervises (分管) count as their scope: a
    /// leader decides for those units whatever subtree their token names.
    pub fn counts_supervision(self) -> bool {
        matches!(self, Action::DecideRequests)
    }
}

/// Like [`authorize`] for a target `in_scope` of the token or not, which
/// the principal's person supervises (分管) or not: supervision places the
/// target inside for a leader or president, on an action that counts it.
pub fn authorize_supervised(roles: &[Role], action: Action, in_scope: bool, supervised: bool) -> Result<(), Denied> {
    authorize_by_role(roles, action, |role| {
        let leads = matches!(role, Role::Leader | Role::President);
        if in_scope || (supervised && leads && action.counts_supervision()) {
            Scope::Inside
        } else {
            Scope::Outside
        }
    })
}

/// Where a deployment-wide setting lies for a principal whose scope is the
/// subtrees rooted at `scope`: inside only when those cover every root of the
/// unit tree (`roots`). A tree without units has nothing to cover, and then
/// only `admin` may act.
pub fn deployment_scope<T: PartialEq>(scope: &[T], roots: &[T]) -> Scope {
    if !roots.is_empty() && roots.iter().all(|r| scope.contains(r)) {
        Scope::Inside
    } else {
        Scope::Outside
    }
}

/// Decides whether a principal holding `roles` may take `action` on a target
/// that lies at `scope`.
pub fn authorize(roles: &[Role], action: Action, scope: Scope) -> Result<(), Denied> {
    authorize_by_role(roles, action, |_| scope)
}

/// Like [`authorize`], where the target's place depends on the role: an
/// item is inside a liaison's scope when its units are, and inside an
/// office's when its court is.
pub fn authorize_by_role(roles: &[Role], action: Action, scope_for: impl Fn(Role) -> Scope) -> Result<(), Denied> {
    if roles.contains(&Role::Admin) {
        return Ok(());
    }
    let permitted: Vec<Role> = roles.iter().copied().filter(|r| action.roles().contains(r)).collect();
    if permitted.is_empty() {
        return Err(Denied::Role { action });
    }
    // A global action is only for roles that are not bound to units.
    if permitted.into_iter().any(|r| scope_for(r) == Scope::Inside) {
        Ok(())
    } else {
        Err(Denied::Scope { action })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Role::*;
    use Scope::*;

    #[test]
    fn item_decisions_depend_on_the_role() {
        // Liaisons judged by the item's units, offices by its court.
        let scope = |units: Scope, court: Scope| move |r: Role| if r.is_unit_bound() { units } else { court };
        assert_eq!(
            authorize_by_role(&[UnitLiaison], ReadLedger, scope(Inside, Outside)),
            Ok(())
        );
        assert_eq!(
            authorize_by_role(&[UnitLiaison], ReadLedger, scope(Outside, Inside)),
            Err(Denied::Scope { action: ReadLedger })
        );
        assert_eq!(
            authorize_by_role(&[OfficeSupervisor], ReadLedger, scope(Outside, Inside)),
            Ok(())
        );
        assert_eq!(
            authorize_by_role(&[OfficeSupervisor, UnitLiaison], ReadLedger, scope(Inside, Outside)),
            Ok(())
        );
        assert_eq!(
            authorize_by_role(&[Leader], ApproveItems, scope(Outside, Inside)),
            Ok(())
        );
        assert_eq!(
            authorize_by_role(&[OfficeSupervisor], ApproveItems, scope(Inside, Inside)),
            Err(Denied::Role { action: ApproveItems })
        );
        assert_eq!(
            authorize_by_role(&[UnitHead], DraftItems, scope(Inside, Inside)),
            Err(Denied::Role { action: DraftItems })
        );
    }

    #[test]
    fn decisions_table() {
        let role_denied = |a| Err(Denied::Role { action: a });
        let scope_denied = |a| Err(Denied::Scope { action: a });
        let table: &[(&[Role], Action, Scope, Result<(), Denied>)] = &[
            (&[Admin], ManageDirectory, Outside, Ok(())),
            (&[Admin], ManageClock, Global, Ok(())),
            (&[OfficeSupervisor], ManageDirectory, Inside, Ok(())),
            (
                &[OfficeSupervisor],
                ManageDirectory,
                Outside,
                scope_denied(ManageDirectory),
            ),
            (
                &[OfficeSupervisor],
                ManageRoleBindings,
                Inside,
                role_denied(ManageRoleBindings),
            ),
            (&[OfficeDirector], ManageRoleBindings, Inside, Ok(())),
            (
                &[OfficeDirector],
                ManageRoleBindings,
                Outside,
                scope_denied(ManageRoleBindings),
            ),
            (&[UnitLiaison], ReadDirectory, Inside, Ok(())),
            (&[UnitLiaison], ReadDirectory, Outside, scope_denied(ReadDirectory)),
            (&[UnitLiaison], ManageDirectory, Inside, role_denied(ManageDirectory)),
            (
                &[UnitHead, UnitLiaison],
                ManageDirectory,
                Inside,
                role_denied(ManageDirectory),
            ),
            (&[Leader], ReadDirectory, Inside, Ok(())),
            (&[Leader], ManageDirectory, Inside, role_denied(ManageDirectory)),
            (&[Appraiser], ReadDirectory, Inside, Ok(())),
            (&[System], ManageDirectory, Inside, Ok(())),
            (&[OfficeDirector], ManageClock, Global, role_denied(ManageClock)),
            (&[], ReadDirectory, Inside, role_denied(ReadDirectory)),
            (&[Appraiser], ReadRankings, Inside, Ok(())),
            (&[Appraiser], ReadAppraisal, Outside, scope_denied(ReadAppraisal)),
            (&[UnitHead], ReadAppraisal, Inside, Ok(())),
            (&[UnitHead], ReadAppraisal, Outside, scope_denied(ReadAppraisal)),
            (&[UnitLiaison], ReadRankings, Inside, role_denied(ReadRankings)),
            (&[Appraiser], ManageAppraisal, Inside, role_denied(ManageAppraisal)),
            (
                &[OfficeSupervisor],
                ManageAppraisal,
                Inside,
                role_denied(ManageAppraisal),
            ),
            (&[OfficeDirector], ManageAppraisal, Inside, Ok(())),
            (&[President], DecideRequests, Inside, Ok(())),
            (&[Leader], DecideRequests, Inside, Ok(())),
            (&[OfficeDirector], DecideRequests, Inside, role_denied(DecideRequests)),
            (&[OfficeDirector], ManageAppraisalRules, Inside, Ok(())),
            (
                &[OfficeDirector],
                ManageAppraisalRules,
                Outside,
                scope_denied(ManageAppraisalRules),
            ),
            (
                &[OfficeSupervisor],
                ManageAppraisalRules,
                Inside,
                role_denied(ManageAppraisalRules),
            ),
            (&[OfficeSupervisor], ManageCalendar, Inside, Ok(())),
            (&[OfficeDirector], ManageCalendar, Outside, scope_denied(ManageCalendar)),
            (&[Admin], ManageCalendar, Outside, Ok(())),
            (&[UnitLiaison], ManageCalendar, Inside, role_denied(ManageCalendar)),
        ];
        for (roles, action, scope, expected) in table {
            assert_eq!(
                &authorize(roles, *action, *scope),
                expected,
                "{roles:?} {action:?} {scope:?}"
            );
        }
    }

    #[test]
    fn deployment_settings_need_the_top_of_the_tree() {
        let (root, court, other_root) = (1, 2, 3);
        // The 中院 at the root covers the tree; a grassroots court under it does not.
        assert_eq!(deployment_scope(&[root], &[root]), Inside);
        assert_eq!(deployment_scope(&[court], &[root]), Outside);
        assert_eq!(deployment_scope(&[court, root], &[root]), Inside);
        // Several top courts (a province): every one must be covered.
        assert_eq!(deployment_scope(&[root], &[root, other_root]), Outside);
        assert_eq!(deployment_scope(&[other_root, root], &[root, other_root]), Inside);
        // No tree yet: nothing is inside.
        assert_eq!(deployment_scope::<i32>(&[], &[]), Outside);
        assert_eq!(deployment_scope(&[root], &[]), Outside);
        let court_scoped = |a| {
            authorize(
                &[OfficeDirector, OfficeSupervisor],
                a,
                deployment_scope(&[court], &[root]),
            )
        };
        assert_eq!(
            court_scoped(ManageCalendar),
            Err(Denied::Scope { action: ManageCalendar })
        );
        assert_eq!(
            court_scoped(ManageAppraisalRules),
            Err(Denied::Scope {
                action: ManageAppraisalRules
            })
        );
        assert_eq!(
            authorize(&[OfficeSupervisor], ManageCalendar, deployment_scope(&[root], &[root])),
            Ok(())
        );
    }

    #[test]
    fn a_leader_decides_for_the_units_they_supervise() {
        let decide =
            |roles: &[Role], in_scope, supervised| authorize_supervised(roles, DecideRequests, in_scope, supervised);
        // 孙立军 supervises 执行局: his token need not name it.
        assert_eq!(decide(&[Leader], false, true), Ok(()));
        assert_eq!(decide(&[Leader], true, false), Ok(()));
        assert_eq!(
            decide(&[Leader], false, false),
            Err(Denied::Scope { action: DecideRequests })
        );
        assert_eq!(decide(&[President], false, true), Ok(()));
        // Offices do not decide, supervision or not; nor do units.
        assert_eq!(
            decide(&[OfficeDirector], true, true),
            Err(Denied::Role { action: DecideRequests })
        );
        assert_eq!(
            decide(&[UnitHead], true, true),
            Err(Denied::Role { action: DecideRequests })
        );
        assert_eq!(decide(&[Admin], false, false), Ok(()));
        // Supervision widens nothing else: a leader approving items (立项)
        // still needs the court in the token's scope.
        assert_eq!(
            authorize_supervised(&[Leader], ApproveItems, false, true),
            Err(Denied::Scope { action: ApproveItems })
        );
    }

    #[test]
    fn only_calendar_and_appraisal_rules_are_deployment_wide() {
        let wide: Vec<Action> = [
            ReadDirectory,
            ManageDirectory,
            ManageRoleBindings,
            ManageClock,
            ReadLedger,
            DraftItems,
            ApproveItems,
            ManageCalendar,
            Assign,
            ReportProgress,
            Verify,
            DecideRequests,
            Claim,
            ReadAppraisal,
            ReadRankings,
            ManageAppraisal,
            ManageAppraisalRules,
            ReadReports,
            IssueReports,
        ]
        .into_iter()
        .filter(|a| a.is_deployment_wide())
        .collect();
        assert_eq!(wide, [ManageCalendar, ManageAppraisalRules]);
    }
}
