//! Who may do what (README, Roles and scope). A principal's scope is a set of subtrees
//! of the unit tree; whether a target lies inside it is decided by the caller
//! (it needs the tree) and passed in as [`Scope`].

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
    /// Decide a unit's extension or suspension request and its plan
    /// (延期、中止申请和推进计划审批): the supervising leader's, or the
    /// president's for any unit of the court.
    DecideRequests,
    /// Load the working-day calendar.
    ManageCalendar,
    /// Assign registered items (交办).
    Assign,
    /// Sign for, and report on, an assignment of one's unit.
    ReportProgress,
    /// Verify completion reports, write off (核查 · 销号).
    Verify,
    /// Claim a published item (认领) for one's unit, or as a leader for a
    /// unit one supervises.
    Claim,
    /// Read scorecards and rule sets (考评): heads and liaisons their own
    /// unit's only, through the scope.
    ReadAppraisal,
    /// Read rankings and every unit's scorecard: they compare units, so not
    /// for a unit's own head or liaison.
    ReadRankings,
    /// Load rule sets, publish periods, adjust scores.
    ManageAppraisal,
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
            Action::ManageAppraisal => "管理考评(规则、发布、调整)",
            Action::ReadReports => "查看督查督办通报",
            Action::IssueReports => "印发督查督办通报",
        }
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
        ];
        for (roles, action, scope, expected) in table {
            assert_eq!(
                &authorize(roles, *action, *scope),
                expected,
                "{roles:?} {action:?} {scope:?}"
            );
        }
    }
}
