//! Rules of items and their registration (docs/domain.md §2–§3): sources, urgency
//! classes, the registration state machine, deadlines, decomposition levels,
//! item numbers, and the dates offices type into ledgers.

use crate::Violations;
use chrono::{Datelike, NaiveDate};

labelled!(
    /// Where an item comes from (督办来源).
    SourceKind {
        PartyGroupDecision => ("party_group_decision", "分党组决定事项"),
        PresidentInstruction => ("president_instruction", "院长批示"),
        LeaderInstruction => ("leader_instruction", "院领导批示交办"),
        WorkConference => ("work_conference", "工作会议部署"),
        AnnualKeyTask => ("annual_key_task", "年度重点工作"),
        PresidentOfficeMeeting => ("president_office_meeting", "院长办公会决定事项"),
        SuperiorDeployment => ("superior_deployment", "上级部署要求"),
        Other => ("other", "其他"),
    }
);

labelled!(
    /// Urgency class (紧急程度).
    UrgencyClass {
        Urgent => ("urgent", "紧急特办"),
        FixedDeadline => ("fixed_deadline", "限期办理"),
        General => ("general", "一般事项"),
        Major => ("major", "重大复杂事项"),
    }
);

labelled!(
    /// Registration state (立项状态).
    RegistrationState {
        Draft => ("draft", "草稿"),
        PendingApproval => ("pending_approval", "待审批"),
        Registered => ("registered", "已立项"),
    }
);

labelled!(
    /// What a sub-item is for.
    DecompositionLevel {
        Unit => ("unit", "分解到单位"),
        Project => ("project", "具体到项目"),
        Post => ("post", "落实到岗位"),
        Person => ("person", "量化到个人"),
    }
);

impl SourceKind {
    /// Minutes (会议纪要) carry a list of decisions.
    pub fn has_decisions(self) -> bool {
        matches!(
            self,
            SourceKind::PartyGroupDecision | SourceKind::PresidentOfficeMeeting
        )
    }
}

impl DecompositionLevel {
    /// Posts and persons are carried by a named person.
    pub fn needs_person(self) -> bool {
        matches!(self, DecompositionLevel::Post | DecompositionLevel::Person)
    }
}

/// What someone does to an item's registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationAction {
    Edit,
    Submit,
    Approve,
    Reject,
    Decompose,
}

impl RegistrationAction {
    fn label_zh(self) -> &'static str {
        match self {
            RegistrationAction::Edit => "修改",
            RegistrationAction::Submit => "提交审批",
            RegistrationAction::Approve => "批准立项",
            RegistrationAction::Reject => "退回",
            RegistrationAction::Decompose => "分解",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IllegalTransition {
    pub state: RegistrationState,
    pub action: RegistrationAction,
}

impl IllegalTransition {
    pub fn reason(&self) -> String {
        format!("cannot {:?} an item that is {}", self.action, self.state.code())
    }

    pub fn reason_zh(&self) -> String {
        format!(
            "事项当前为“{}”状态,不能{}",
            self.state.label_zh(),
            self.action.label_zh()
        )
    }
}

/// The registration state machine: the state after `action`, or why not.
/// Drafts are edited and submitted; pending items are approved or sent back;
/// registered items stay registered (their follow-up is the assignment's).
/// Any item may be decomposed; its sub-items follow its registration.
pub fn transition(
    state: RegistrationState,
    action: RegistrationAction,
) -> Result<RegistrationState, IllegalTransition> {
    use RegistrationAction as A;
    use RegistrationState as S;
    match (state, action) {
        (S::Draft, A::Edit) => Ok(S::Draft),
        (S::Draft, A::Submit) => Ok(S::PendingApproval),
        (S::PendingApproval, A::Approve) => Ok(S::Registered),
        (S::PendingApproval, A::Reject) => Ok(S::Draft),
        (s, A::Decompose) => Ok(s),
        (state, action) => Err(IllegalTransition { state, action }),
    }
}

/// The state a new sub-item starts in: a draft parent's children are drafts
/// (registered with it); children added to a submitted or registered item
/// need approval of their own.
pub fn child_state(parent: RegistrationState) -> RegistrationState {
    match parent {
        RegistrationState::Draft => RegistrationState::Draft,
        RegistrationState::PendingApproval | RegistrationState::Registered => RegistrationState::PendingApproval,
    }
}

/// The class needs a stated reason, and an explicit deadline exactly when it
/// is `fixed_deadline`: urgent items are due the same working day, general
/// ones run on 13710, major ones on a month or an approved plan.
pub fn check_class(
    prefix: &str,
    class: Option<UrgencyClass>,
    reason: &str,
    deadline: Option<NaiveDate>,
    v: &mut Violations,
) {
    let Some(class) = class else {
        v.add(format!("{prefix}urgency"), "is required", "须确定紧急程度");
        return;
    };
    if reason.trim().is_empty() {
        v.add(
            format!("{prefix}urgency_reason"),
            "is required: say why the item is in this class",
            "须说明定为该紧急程度的理由",
        );
    }
    match (class, deadline) {
        (UrgencyClass::FixedDeadline, None) => v.add(
            format!("{prefix}deadline"),
            "is required for a fixed_deadline item",
            "限期办理事项须填写办理时限",
        ),
        (UrgencyClass::FixedDeadline, Some(_)) => {}
        (other, Some(_)) => v.add(
            format!("{prefix}deadline"),
            format!(
                "must be empty for a {} item (its deadline follows from its class); use fixed_deadline for a stated deadline",
                other.code()
            ),
            format!("{}事项不填写办理时限(时限按紧急程度确定);有明确时限的请定为限期办理", other.label_zh()),
        ),
        (_, None) => {}
    }
}

/// The 督办编号 of the `seq`-th item registered in `year`.
pub fn item_number(year: i32, seq: i64) -> String {
    format!("督〔{year}〕{seq}号")
}

/// The number of the `index`-th (1-based) sub-item of an item numbered `parent`.
pub fn sub_item_number(parent: &str, index: i64) -> String {
    format!("{parent}-{index}")
}

/// Reads a date the way offices write them: 2026-03-05, 2026/3/5, 2026.3.5,
/// 2026年3月5日 (an Excel date cell arrives as the first form).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let t = t.trim_end_matches('日');
    let parts: Vec<&str> = t
        .split(|c| matches!(c, '-' | '/' | '.' | '年' | '月'))
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != 3 {
        return None;
    }
    let year: i32 = parts[0].trim().parse().ok()?;
    let month: u32 = parts[1].trim().parse().ok()?;
    let day: u32 = parts[2].trim().split(' ').next()?.parse().ok()?;
    if !(1900..=2200).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// A date as ledgers print it.
pub fn format_date(date: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use RegistrationAction as A;
    use RegistrationState as S;

    #[test]
    fn every_transition() {
        let table = [
            (S::Draft, A::Edit, Some(S::Draft)),
            (S::Draft, A::Submit, Some(S::PendingApproval)),
            (S::Draft, A::Approve, None),
            (S::Draft, A::Reject, None),
            (S::Draft, A::Decompose, Some(S::Draft)),
            (S::PendingApproval, A::Edit, None),
            (S::PendingApproval, A::Submit, None),
            (S::PendingApproval, A::Approve, Some(S::Registered)),
            (S::PendingApproval, A::Reject, Some(S::Draft)),
            (S::PendingApproval, A::Decompose, Some(S::PendingApproval)),
            (S::Registered, A::Edit, None),
            (S::Registered, A::Submit, None),
            (S::Registered, A::Approve, None),
            (S::Registered, A::Reject, None),
            (S::Registered, A::Decompose, Some(S::Registered)),
        ];
        for (state, action, expected) in table {
            assert_eq!(transition(state, action).ok(), expected, "{state:?} {action:?}");
        }
        let err = transition(S::Registered, A::Approve).unwrap_err();
        assert_eq!(err.reason_zh(), "事项当前为“已立项”状态,不能批准立项");
    }

    #[test]
    fn children_follow_their_parent() {
        assert_eq!(child_state(S::Draft), S::Draft);
        assert_eq!(child_state(S::PendingApproval), S::PendingApproval);
        assert_eq!(child_state(S::Registered), S::PendingApproval);
    }

    #[test]
    fn class_and_deadline_table() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 31);
        let table: [(Option<UrgencyClass>, &str, Option<NaiveDate>, &[&str]); 9] = [
            (Some(UrgencyClass::FixedDeadline), "院长批示明确时限", d, &[]),
            (Some(UrgencyClass::FixedDeadline), "理由", None, &["deadline"]),
            (Some(UrgencyClass::General), "一般", None, &[]),
            (Some(UrgencyClass::General), "一般", d, &["deadline"]),
            (Some(UrgencyClass::Urgent), "急", d, &["deadline"]),
            (Some(UrgencyClass::Urgent), "急", None, &[]),
            (Some(UrgencyClass::Major), "重大", None, &[]),
            (Some(UrgencyClass::Major), " ", None, &["urgency_reason"]),
            (None, "", None, &["urgency"]),
        ];
        for (class, reason, deadline, fields) in table {
            let mut v = Violations::new();
            check_class("", class, reason, deadline, &mut v);
            let got: Vec<&str> = v.0.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(got, fields, "{class:?} {reason:?} {deadline:?}");
        }
    }

    #[test]
    fn labels_round_trip() {
        for k in SourceKind::ALL {
            assert_eq!(SourceKind::from_label(k.label_zh()), Some(*k));
            assert_eq!(SourceKind::from_code(k.code()), Some(*k));
        }
        for c in UrgencyClass::ALL {
            assert_eq!(UrgencyClass::from_label(c.label_zh()), Some(*c));
        }
        assert_eq!(
            UrgencyClass::from_label(" 限期办理 "),
            Some(UrgencyClass::FixedDeadline)
        );
        assert_eq!(UrgencyClass::from_label("很急"), None);
    }

    #[test]
    fn dates_as_offices_write_them() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 5);
        for text in [
            "2026-03-05",
            "2026-3-5",
            "2026/3/5",
            "2026.3.5",
            "2026年3月5日",
            " 2026年03月05日 ",
            "2026-03-05 00:00:00",
        ] {
            assert_eq!(parse_date(text), d, "{text}");
        }
        for text in [
            "",
            "2026-02-30",
            "3/5/2026",
            "二〇二六年三月五日",
            "2026-13-01",
            "20260305",
        ] {
            assert_eq!(parse_date(text), None, "{text}");
        }
        assert_eq!(format_date(d.unwrap()), "2026-03-05");
    }

    #[test]
    fn numbers() {
        assert_eq!(item_number(2026, 15), "督〔2026〕15号");
        assert_eq!(sub_item_number("督〔2026〕15号", 2), "督〔2026〕15号-2");
    }
}
