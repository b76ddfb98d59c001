//! The roles people and systems act in (docs/domain.md §1).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    OfficeSupervisor,
    OfficeDirector,
    Leader,
    President,
    UnitHead,
    UnitLiaison,
    Appraiser,
    System,
    Admin,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::OfficeSupervisor,
        Role::OfficeDirector,
        Role::Leader,
        Role::President,
        Role::UnitHead,
        Role::UnitLiaison,
        Role::Appraiser,
        Role::System,
        Role::Admin,
    ];

    /// The code name used in the API, the database, tokens and config.
    pub fn code(self) -> &'static str {
        match self {
            Role::OfficeSupervisor => "office_supervisor",
            Role::OfficeDirector => "office_director",
            Role::Leader => "leader",
            Role::President => "president",
            Role::UnitHead => "unit_head",
            Role::UnitLiaison => "unit_liaison",
            Role::Appraiser => "appraiser",
            Role::System => "system",
            Role::Admin => "admin",
        }
    }

    /// Heads and liaisons act for their own unit; every other role acts for
    /// the court (or courts) in its scope.
    pub fn is_unit_bound(self) -> bool {
        matches!(self, Role::UnitHead | Role::UnitLiaison)
    }

    /// The office's own name for the role.
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::OfficeSupervisor => "办公室督查联络员",
            Role::OfficeDirector => "办公室主任",
            Role::Leader => "院领导",
            Role::President => "院长",
            Role::UnitHead => "部门负责人",
            Role::UnitLiaison => "兼职联络员",
            Role::Appraiser => "考评部门",
            Role::System => "外部系统",
            Role::Admin => "系统管理员",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role `{0}` (expected one of: office_supervisor, office_director, leader, president, unit_head, unit_liaison, appraiser, system, admin)"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back() {
        for role in Role::ALL {
            assert_eq!(role.code().parse::<Role>(), Ok(role));
        }
        assert!("Admin".parse::<Role>().is_err());
        assert!("".parse::<Role>().is_err());
    }
}
