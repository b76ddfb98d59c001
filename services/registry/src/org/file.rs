//! The human-editable organisation file (`duban org import FILE`), read and
//! validated as a whole before anything is written. Every problem is reported,
//! each naming its entry and line. The format is documented in
//! `docs/org-file.md`; the demo court (`demo/org.toml`) is an example.

use duban_core::org::{UnitKind, check_code, check_email, check_name};
use duban_core::{Role, Violations};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use toml::Spanned;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    units: Vec<Spanned<RawUnit>>,
    #[serde(default)]
    people: Vec<Spanned<RawPerson>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnit {
    code: String,
    name: String,
    #[serde(default)]
    short_name: String,
    kind: String,
    parent: Option<String>,
    #[serde(default)]
    sort: i32,
    #[serde(default = "yes")]
    active: bool,
    head: Option<String>,
    liaison: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerson {
    code: String,
    name: String,
    unit: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    roles: Vec<String>,
    supervises: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// A unit entry, validated.
#[derive(Debug, Clone)]
pub struct UnitEntry {
    pub line: usize,
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub kind: UnitKind,
    pub parent: Option<String>,
    pub sort: i32,
    pub active: bool,
    pub head: Option<String>,
    pub liaison: Option<String>,
}

/// A role as written in the file, with the unit it applies to (the explicit
/// `role@unit`, or else the default for the role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleEntry {
    pub role: Role,
    pub unit: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PersonEntry {
    pub line: usize,
    pub code: String,
    pub name: String,
    pub unit: String,
    pub title: String,
    pub email: String,
    pub phone: String,
    pub active: bool,
    pub roles: Vec<RoleEntry>,
    pub supervises: Option<Vec<String>>,
}

/// A validated file: units in an order where every parent comes before its
/// children, and people.
#[derive(Debug, Clone)]
pub struct OrgFile {
    pub units: Vec<UnitEntry>,
    pub people: Vec<PersonEntry>,
}

/// What the directory already holds, as far as validation needs to know.
#[derive(Debug, Default)]
pub struct Existing {
    pub unit_kinds: HashMap<String, UnitKind>,
    pub people: HashSet<String>,
}

fn line_of(content: &str, offset: usize) -> usize {
    content[..offset.min(content.len())].matches('\n').count() + 1
}

/// Reads and validates `content` against the `existing` directory.
pub fn parse(content: &str, existing: &Existing) -> Result<OrgFile, Violations> {
    let raw: RawFile = toml::from_str(content).map_err(|e| {
        let line = e.span().map(|s| line_of(content, s.start)).unwrap_or(0);
        let mut v = Violations::new();
        v.add(
            format!("line {line}"),
            format!("line {line}: {}", e.message()),
            format!("第{line}行:文件格式错误({})", e.message()),
        );
        v
    })?;
    let mut v = Violations::new();

    let mut file_units: HashMap<String, (usize, Option<UnitKind>)> = HashMap::new();
    for (i, u) in raw.units.iter().enumerate() {
        let line = line_of(content, u.span().start);
        let code = u.get_ref().code.trim().to_owned();
        if let Some((first, _)) = file_units.get(&code) {
            v.add(
                format!("units[{i}].code"),
                format!("line {line}: unit code `{code}` appears again (first on line {first})"),
                format!("第{line}行:单位编码“{code}”重复(首次出现在第{first}行)"),
            );
        } else {
            file_units.insert(code, (line, UnitKind::from_code(u.get_ref().kind.trim())));
        }
    }
    let file_people: HashMap<String, usize> = raw
        .people
        .iter()
        .map(|p| (p.get_ref().code.trim().to_owned(), line_of(content, p.span().start)))
        .collect();
    let unit_known = |code: &str| file_units.contains_key(code) || existing.unit_kinds.contains_key(code);
    let unit_kind = |code: &str| -> Option<UnitKind> {
        match file_units.get(code) {
            Some((_, kind)) => *kind,
            None => existing.unit_kinds.get(code).copied(),
        }
    };
    let person_known = |code: &str| file_people.contains_key(code) || existing.people.contains(code);

    let mut units = Vec::new();
    for (i, spanned) in raw.units.iter().enumerate() {
        let line = line_of(content, spanned.span().start);
        let u = spanned.get_ref();
        let at = |f: &str| format!("units[{i}].{f}");
        let mut entry_v = Violations::new();
        check_code(&at("code"), u.code.trim(), &mut entry_v);
        check_name(&at("name"), &u.name, &mut entry_v);
        let kind = UnitKind::from_code(u.kind.trim());
        if kind.is_none() {
            entry_v.add(
                at("kind"),
                format!("`{}` is not one of court, department, grassroots_court, office", u.kind),
                format!(
                    "单位类型“{}”无效,应为 court、department、grassroots_court 或 office",
                    u.kind
                ),
            );
        }
        let parent = u.parent.as_deref().map(str::trim).filter(|p| !p.is_empty());
        if let Some(parent) = parent {
            if parent == u.code.trim() {
                entry_v.add(
                    at("parent"),
                    "a unit cannot be its own parent",
                    "单位不能以自身为上级单位",
                );
            } else if !unit_known(parent) {
                entry_v.add(
                    at("parent"),
                    format!("parent `{parent}` is neither in the file nor in the directory"),
                    format!("上级单位“{parent}”在文件和现有组织机构中均不存在"),
                );
            }
        }
        if let Some(kind) = kind {
            let parent_kind = parent.map(unit_kind);
            // An unknown parent is reported above; its kind cannot be judged.
            let judged = !matches!(parent_kind, Some(None));
            if judged && !kind.may_sit_below(parent_kind.flatten()) {
                entry_v.add(
                    at("kind"),
                    format!(
                        "a {} cannot sit {}",
                        kind.code(),
                        match parent_kind.flatten() {
                            Some(p) => format!("below a {}", p.code()),
                            None => "at the root".to_owned(),
                        }
                    ),
                    format!(
                        "{}不能{}",
                        kind.label_zh(),
                        match parent_kind.flatten() {
                            Some(p) => format!("隶属于{}", p.label_zh()),
                            None => "作为最上级单位".to_owned(),
                        }
                    ),
                );
            }
        }
        for (field, who) in [("head", &u.head), ("liaison", &u.liaison)] {
            if let Some(code) = who.as_deref().map(str::trim) {
                if !person_known(code) {
                    entry_v.add(
                        at(field),
                        format!("person `{code}` is neither in the file nor in the directory"),
                        format!("人员“{code}”在文件和现有组织机构中均不存在"),
                    );
                }
            }
        }
        prefix_line(&mut entry_v, line);
        let ok = entry_v.is_empty();
        v.extend(entry_v);
        if ok {
            units.push(UnitEntry {
                line,
                code: u.code.trim().to_owned(),
                name: u.name.trim().to_owned(),
                short_name: u.short_name.trim().to_owned(),
                kind: kind.expect("checked above"),
                parent: parent.map(str::to_owned),
                sort: u.sort,
                active: u.active,
                head: u.head.as_deref().map(|s| s.trim().to_owned()),
                liaison: u.liaison.as_deref().map(|s| s.trim().to_owned()),
            });
        }
    }

    let mut seen_people: HashMap<String, usize> = HashMap::new();
    let mut people = Vec::new();
    for (i, spanned) in raw.people.iter().enumerate() {
        let line = line_of(content, spanned.span().start);
        let p = spanned.get_ref();
        let at = |f: &str| format!("people[{i}].{f}");
        let mut entry_v = Violations::new();
        let code = p.code.trim();
        check_code(&at("code"), code, &mut entry_v);
        if let Some(first) = seen_people.insert(code.to_owned(), line) {
            entry_v.add(
                at("code"),
                format!("person code `{code}` appears again (first on line {first})"),
                format!("人员编码“{code}”重复(首次出现在第{first}行)"),
            );
        }
        check_name(&at("name"), &p.name, &mut entry_v);
        check_email(&at("email"), p.email.trim(), &mut entry_v);
        if !unit_known(p.unit.trim()) {
            entry_v.add(
                at("unit"),
                format!("unit `{}` is neither in the file nor in the directory", p.unit.trim()),
                format!("所在单位“{}”在文件和现有组织机构中均不存在", p.unit.trim()),
            );
        }
        let mut roles = Vec::new();
        for (j, text) in p.roles.iter().enumerate() {
            let (role, unit) = match text.split_once('@') {
                Some((r, u)) => (r.trim(), Some(u.trim().to_owned())),
                None => (text.trim(), None),
            };
            match role.parse::<Role>() {
                Ok(role) => roles.push(RoleEntry {
                    role,
                    unit: unit.clone(),
                }),
                Err(e) => entry_v.add(
                    format!("people[{i}].roles[{j}]"),
                    e.to_string(),
                    format!("角色“{role}”无效"),
                ),
            }
            if let Some(u) = unit.as_deref() {
                if !unit_known(u) {
                    entry_v.add(
                        format!("people[{i}].roles[{j}]"),
                        format!("unit `{u}` is neither in the file nor in the directory"),
                        format!("角色适用单位“{u}”不存在"),
                    );
                }
            }
        }
        if let Some(list) = &p.supervises {
            for (j, u) in list.iter().enumerate() {
                if !unit_known(u.trim()) {
                    entry_v.add(
                        format!("people[{i}].supervises[{j}]"),
                        format!("unit `{}` is neither in the file nor in the directory", u.trim()),
                        format!("分管单位“{}”不存在", u.trim()),
                    );
                }
            }
            let leads = roles.iter().any(|r| matches!(r.role, Role::Leader | Role::President));
            if !list.is_empty() && !leads && !existing.people.contains(code) {
                entry_v.add(
                    at("supervises"),
                    "only a leader or president supervises units: add the role `leader`",
                    "只有院领导可以分管单位,请为其添加 leader 角色",
                );
            }
        }
        prefix_line(&mut entry_v, line);
        let ok = entry_v.is_empty();
        v.extend(entry_v);
        if ok {
            people.push(PersonEntry {
                line,
                code: code.to_owned(),
                name: p.name.trim().to_owned(),
                unit: p.unit.trim().to_owned(),
                title: p.title.trim().to_owned(),
                email: p.email.trim().to_owned(),
                phone: p.phone.trim().to_owned(),
                active: p.active,
                roles,
                supervises: p
                    .supervises
                    .as_ref()
                    .map(|l| l.iter().map(|s| s.trim().to_owned()).collect()),
            });
        }
    }

    let units = match parents_first(units, existing) {
        Ok(units) => units,
        // Children of entries rejected above cannot be placed either; only
        // a file otherwise valid can tell a cycle.
        Err(_) if !v.is_empty() => Vec::new(),
        Err(cycle) => {
            for u in cycle {
                v.add(
                    format!("units (line {})", u.line),
                    format!("line {}: unit `{}` is part of a parent cycle", u.line, u.code),
                    format!("第{}行:单位“{}”的上级关系形成循环", u.line, u.code),
                );
            }
            Vec::new()
        }
    };
    v.into_result()?;
    Ok(OrgFile { units, people })
}

fn prefix_line(v: &mut Violations, line: usize) {
    for f in &mut v.0 {
        f.reason = format!("line {line}: {}", f.reason);
        f.reason_zh = format!("第{line}行:{}", f.reason_zh);
    }
}

/// Orders units so that each comes after its parent; returns the units stuck
/// in a cycle otherwise.
fn parents_first(units: Vec<UnitEntry>, existing: &Existing) -> Result<Vec<UnitEntry>, Vec<UnitEntry>> {
    let in_file: HashSet<String> = units.iter().map(|u| u.code.clone()).collect();
    let mut placed: HashSet<String> = HashSet::new();
    let mut ordered = Vec::with_capacity(units.len());
    let mut pending = units;
    while !pending.is_empty() {
        let before = pending.len();
        let (ready, rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|u| match &u.parent {
            None => true,
            Some(p) if in_file.contains(p) => placed.contains(p),
            Some(p) => existing.unit_kinds.contains_key(p),
        });
        for u in ready {
            placed.insert(u.code.clone());
            ordered.push(u);
        }
        pending = rest;
        if pending.len() == before {
            return Err(pending);
        }
    }
    Ok(ordered)
}

/// Where a role given without `@unit` applies: heads and liaisons to their own
/// unit; everyone else to the court their unit belongs to.
pub fn default_role_scope(role: Role, own_unit: Uuid, court_of_unit: Uuid) -> Uuid {
    if role.is_unit_bound() { own_unit } else { court_of_unit }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing() -> Existing {
        Existing {
            unit_kinds: HashMap::from([("zy".to_owned(), UnitKind::Court)]),
            people: HashSet::new(),
        }
    }

    #[test]
    fn accepts_a_small_court_in_any_order() {
        let file = r#"
[[units]]
code = "zy-lat"
name = "立案庭"
kind = "department"
parent = "new-court"
head = "p1"

[[units]]
code = "new-court"
name = "新院"
kind = "court"
parent = "zy"

[[people]]
code = "p1"
name = "张三"
unit = "zy-lat"
roles = ["unit_head", "leader@new-court"]
supervises = ["zy-lat"]
"#;
        let parsed = parse(file, &existing()).expect("valid");
        let order: Vec<&str> = parsed.units.iter().map(|u| u.code.as_str()).collect();
        assert_eq!(order, ["new-court", "zy-lat"]);
        assert_eq!(
            parsed.people[0].roles[1],
            RoleEntry {
                role: Role::Leader,
                unit: Some("new-court".into())
            }
        );
    }

    #[test]
    fn reports_every_problem_with_its_line() {
        let file = r#"
[[units]]
code = "a"
name = "甲"
kind = "department"
parent = "nowhere"

[[units]]
code = "a"
name = ""
kind = "bureau"
parent = "zy"

[[people]]
code = "p 1"
name = "李四"
unit = "zz"
email = "li"
roles = ["chief"]
supervises = ["a"]
"#;
        let err = parse(file, &existing()).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|f| f.field.as_str()).collect();
        assert!(fields.contains(&"units[0].parent"), "{fields:?}");
        assert!(fields.contains(&"units[1].code"), "{fields:?}");
        assert!(fields.contains(&"units[1].name"), "{fields:?}");
        assert!(fields.contains(&"units[1].kind"), "{fields:?}");
        assert!(fields.contains(&"people[0].code"), "{fields:?}");
        assert!(fields.contains(&"people[0].unit"), "{fields:?}");
        assert!(fields.contains(&"people[0].email"), "{fields:?}");
        assert!(fields.contains(&"people[0].roles[0]"), "{fields:?}");
        assert!(fields.contains(&"people[0].supervises"), "{fields:?}");
        let parent = err.0.iter().find(|f| f.field == "units[0].parent").unwrap();
        assert!(parent.reason.starts_with("line 2:"), "{}", parent.reason);
        assert!(parent.reason_zh.starts_with("第2行"), "{}", parent.reason_zh);
        let email = err.0.iter().find(|f| f.field == "people[0].email").unwrap();
        assert!(email.reason.starts_with("line 14:"), "{}", email.reason);
    }

    #[test]
    fn syntax_error_names_its_line() {
        let err = parse("[[units]]\ncode = \"a\"\nname = \n", &existing()).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert!(err.0[0].reason.starts_with("line 3"), "{}", err.0[0].reason);
        let unknown = parse("[[units]]\ncode = \"a\"\nnmae = \"x\"\n", &existing()).unwrap_err();
        assert!(unknown.0[0].reason.contains("nmae"), "{}", unknown.0[0].reason);
    }

    #[test]
    fn detects_cycles() {
        let file = r#"
[[units]]
code = "a"
name = "甲"
kind = "court"
parent = "b"

[[units]]
code = "b"
name = "乙"
kind = "court"
parent = "a"
"#;
        let err = parse(file, &existing()).unwrap_err();
        assert_eq!(err.0.len(), 2, "{err:?}");
        assert!(err.0[0].reason.contains("cycle"));
    }
}
