//! Who may do what (design.md, Auth). A principal's scope is a set of subtrees
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
            Action::ManageDirectory => {
                &[Role::OfficeSupervisor, Role::OfficeDirector, Role::System]
            }
            Action::ManageRoleBindings => &[Role::OfficeDirector],
            Action::ManageClock => &[],
        }
    }

    pub fn describe_zh(self) -> &'static str {
        match self {
            Action::ReadDirectory => "查看组织机构",
            Action::ManageDirectory => "维护组织机构",
            Action::ManageRoleBindings => "分配角色",
            Action::ManageClock => "调整开发时钟",
        }
    }
}

/// Decides whether a principal holding `roles` may take `action` on a target
/// that lies at `scope`.
pub fn authorize(roles: &[Role], action: Action, scope: Scope) -> Result<(), Denied> {
    if roles.contains(&Role::Admin) {
        return Ok(());
    }
    if !roles.iter().any(|r| action.roles().contains(r)) {
        return Err(Denied::Role { action });
    }
    match scope {
        Scope::Inside => Ok(()),
        Scope::Outside => Err(Denied::Scope { action }),
        // A global action is only for roles that are not bound to units.
        Scope::Global => Err(Denied::Scope { action }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Role::*;
    use Scope::*;

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
            (
                &[UnitLiaison],
                ReadDirectory,
                Outside,
                scope_denied(ReadDirectory),
            ),
            (
                &[UnitLiaison],
                ManageDirectory,
                Inside,
                role_denied(ManageDirectory),
            ),
            (
                &[UnitHead, UnitLiaison],
                ManageDirectory,
                Inside,
                role_denied(ManageDirectory),
            ),
            (&[Leader], ReadDirectory, Inside, Ok(())),
            (
                &[Leader],
                ManageDirectory,
                Inside,
                role_denied(ManageDirectory),
            ),
            (&[Appraiser], ReadDirectory, Inside, Ok(())),
            (&[System], ManageDirectory, Inside, Ok(())),
            (
                &[OfficeDirector],
                ManageClock,
                Global,
                role_denied(ManageClock),
            ),
            (&[], ReadDirectory, Inside, role_denied(ReadDirectory)),
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
