//! Rules of the organisation directory (docs/domain.md §1): the shape of the unit
//! tree and the form of the keys people type into org files.

use crate::Violations;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    Court,
    Department,
    GrassrootsCourt,
    Office,
}

impl UnitKind {
    pub const ALL: [UnitKind; 4] = [
        UnitKind::Court,
        UnitKind::Department,
        UnitKind::GrassrootsCourt,
        UnitKind::Office,
    ];

    pub fn code(self) -> &'static str {
        match self {
            UnitKind::Court => "court",
            UnitKind::Department => "department",
            UnitKind::GrassrootsCourt => "grassroots_court",
            UnitKind::Office => "office",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            UnitKind::Court => "法院",
            UnitKind::Department => "部门",
            UnitKind::GrassrootsCourt => "基层法院",
            UnitKind::Office => "办公室",
        }
    }

    /// Whether a unit of this kind may sit below a unit of kind `parent`
    /// (`None`: at the root). Courts nest (高院 → 中院); departments and offices
    /// belong to a court; grassroots courts sit below an intermediate court.
    pub fn may_sit_below(self, parent: Option<UnitKind>) -> bool {
        use UnitKind::*;
        match (self, parent) {
            (Court, None | Some(Court)) => true,
            (GrassrootsCourt, Some(Court)) => true,
            (Department | Office, Some(Court | GrassrootsCourt)) => true,
            _ => false,
        }
    }
}

/// Checks an external key (unit or person code): 1–64 characters of ASCII
/// letters, digits, `-`, `_` or `.`, so that it survives Excel, the OA and URLs.
pub fn check_code(field: &str, code: &str, violations: &mut Violations) {
    if code.is_empty() || code.len() > 64 {
        violations.add(field, "must be 1 to 64 characters", "编码长度须为1至64个字符");
    } else if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        violations.add(
            field,
            "may contain only ASCII letters, digits, '-', '_' and '.'",
            "编码只能包含英文字母、数字及“-”“_”“.”",
        );
    }
}

/// Checks a person's or unit's name: not blank, at most 100 characters.
pub fn check_name(field: &str, name: &str, violations: &mut Violations) {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        violations.add(field, "must not be empty", "名称不能为空");
    } else if trimmed.chars().count() > crate::limits::NAME {
        let max = crate::limits::NAME;
        violations.add(
            field,
            format!("must be at most {max} characters"),
            format!("名称不能超过{max}个字"),
        );
    }
}

/// Checks an e-mail address loosely (one `@`, something on both sides, a dot in
/// the domain); empty is allowed. Delivery is the real test.
pub fn check_email(field: &str, email: &str, violations: &mut Violations) {
    if email.is_empty() {
        return;
    }
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !ok {
        violations.add(field, "is not an e-mail address", "电子邮箱格式不正确");
    }
}

/// The units an event is filed under when its target concerns units with
/// these `ancestries` (each root … unit): every unit on every path, once, so
/// that a `unit_id` filter or a token scoped to any unit above (高院 over
/// 中院 over 基层法院) receives it.
pub fn event_units<'a>(ancestries: impl IntoIterator<Item = &'a [Uuid]>) -> Vec<Uuid> {
    let mut units = Vec::new();
    for unit in ancestries.into_iter().flatten() {
        if !units.contains(unit) {
            units.push(*unit);
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;
    use UnitKind::*;

    #[test]
    fn tree_shape_table() {
        let table = [
            (Court, None, true),
            (Court, Some(Court), true),
            (Court, Some(Department), false),
            (Court, Some(GrassrootsCourt), false),
            (GrassrootsCourt, None, false),
            (GrassrootsCourt, Some(Court), true),
            (GrassrootsCourt, Some(GrassrootsCourt), false),
            (Department, None, false),
            (Department, Some(Court), true),
            (Department, Some(GrassrootsCourt), true),
            (Department, Some(Department), false),
            (Department, Some(Office), false),
            (Office, Some(Court), true),
            (Office, Some(GrassrootsCourt), true),
            (Office, None, false),
        ];
        for (kind, parent, ok) in table {
            assert_eq!(kind.may_sit_below(parent), ok, "{kind:?} below {parent:?}");
        }
    }

    #[test]
    fn codes() {
        let check = |c: &str| {
            let mut v = Violations::new();
            check_code("code", c, &mut v);
            v.is_empty()
        };
        assert!(check("zy-lat"));
        assert!(check("p.001_a"));
        assert!(!check(""));
        assert!(!check("立案庭"));
        assert!(!check("a b"));
        assert!(!check(&"a".repeat(65)));
        assert!(check(&"a".repeat(64)));
    }

    #[test]
    fn emails() {
        let check = |c: &str| {
            let mut v = Violations::new();
            check_email("email", c, &mut v);
            v.is_empty()
        };
        assert!(check(""));
        assert!(check("zhang.san@court.example.cn"));
        assert!(!check("zhang"));
        assert!(!check("@court.cn"));
        assert!(!check("a@b"));
        assert!(!check("a@b.cn@c.cn"));
        assert!(!check("a b@c.cn"));
    }

    #[test]
    fn names() {
        let check = |c: &str| {
            let mut v = Violations::new();
            check_name("name", c, &mut v);
            v.is_empty()
        };
        assert!(check("立案庭"));
        assert!(!check("   "));
        assert!(check(&"字".repeat(100)));
        assert!(!check(&"字".repeat(101)));
    }

    #[test]
    fn events_are_filed_under_every_unit_above() {
        let [high, mid, low, dept] = [1, 2, 3, 4].map(|n| Uuid::from_u128(n));
        let court = [high, mid];
        let lead = [high, mid, low];
        let co = [high, mid, dept];
        assert_eq!(event_units([&court[..], &lead[..], &co[..]]), [high, mid, low, dept]);
        assert_eq!(event_units(std::iter::empty()), Vec::<Uuid>::new());
    }
}
