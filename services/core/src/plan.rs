//! Major items' plans (重大事项推进计划) and continuing attention (持续关注):
//! the milestones they add beyond the policy's, and what is owed after.

use crate::Violations;
use crate::assignment::months_owed;
use crate::item::UrgencyClass;
use chrono::{Datelike, NaiveDate};

/// At most this many dated steps: a plan is a handful of milestones, not a diary.
pub const MAX_STEPS: usize = crate::limits::PLAN_STEPS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    pub date: NaiveDate,
    pub what: String,
}

/// Only major items (重大事项) go by a plan; the others resolve within their
/// deadline or ask for an extension.
pub fn plan_allowed(urgency: UrgencyClass) -> bool {
    urgency == UrgencyClass::Major
}

/// What is wrong with a plan submitted on `today`: at least one step, each
/// saying what is done by a date after today, dates strictly ascending.
pub fn plan_violations(steps: &[PlanStep], summary: &str, today: NaiveDate) -> Violations {
    let mut v = Violations::new();
    if summary.trim().is_empty() {
        v.add("summary", "is required: what does the plan do?", "须填写推进计划概述");
    }
    if steps.is_empty() {
        v.add("steps", "needs at least one dated step", "推进计划须至少有一个时间节点");
    }
    if steps.len() > MAX_STEPS {
        v.add(
            "steps",
            format!("has more than {MAX_STEPS} steps"),
            format!("时间节点不能超过{MAX_STEPS}个"),
        );
    }
    let mut previous: Option<NaiveDate> = None;
    for (i, s) in steps.iter().enumerate() {
        if s.what.trim().is_empty() {
            v.add(format!("steps[{i}].what"), "is required", "须写明该节点完成的工作");
        }
        if s.date <= today {
            v.add(format!("steps[{i}].date"), "must be after today", "时间节点须晚于今天");
        }
        if previous.is_some_and(|p| s.date <= p) {
            v.add(
                format!("steps[{i}].date"),
                "must be later than the step before",
                "时间节点须按先后顺序排列",
            );
        }
        previous = Some(s.date);
    }
    v
}

/// The milestone of a plan's `n`-th step (from 1).
pub fn plan_milestone(n: usize) -> String {
    format!("plan.{n}")
}

/// The milestone of continuing attention's `n`-th stage report (from 1).
pub fn stage_milestone(n: usize) -> String {
    format!("stage.{n}")
}

/// A milestone's name for people: the policy's three, a plan step, a stage report.
pub fn milestone_label_zh(kind: &str) -> String {
    if let Some(k) = crate::policy::MilestoneKind::from_code(kind) {
        return k.label_zh().into();
    }
    match kind.split_once('.') {
        Some(("plan", n)) => format!("推进计划第{n}个节点"),
        Some(("stage", n)) => format!("第{n}次阶段性报告"),
        _ => kind.into(),
    }
}

/// What a met milestone is called. A major item's month-long 办结 milestone
/// asks for the work done or a plan: met by an approved plan it is 计划已批准,
/// not 已完成 — the work is still to do, by the plan's steps.
pub fn met_label_zh(kind: &str, planned: bool) -> &'static str {
    if planned && kind == crate::policy::MilestoneKind::Resolve.code() {
        "计划已批准"
    } else {
        "已完成"
    }
}

/// 办理时限 in every document (the ledger, its export, the bulletin's
/// attachment): the final resolution deadline (办结时限), not the next
/// milestone. That is the 办结 milestone's day, or, once a plan is approved,
/// its last step's; stage reports of continuing attention are not deadlines.
/// The view `assignment.ledger_item_status` (column `final_deadline`) applies
/// the same rule in SQL for the registry's ledger.
pub fn resolution_deadline<K: AsRef<str>>(milestones: impl IntoIterator<Item = (K, NaiveDate)>) -> Option<NaiveDate> {
    let (mut plan, mut own) = (None, None);
    for (kind, date) in milestones {
        let kind = kind.as_ref();
        if kind.starts_with("plan.") {
            plan = plan.max(Some(date));
        } else if !kind.starts_with("stage.") {
            own = own.max(Some(date));
        }
    }
    plan.or(own)
}

/// Months (year, month) an approved plan owes a progress report for: every
/// month after the one it was approved in, up to the month before `today`.
pub fn plan_months_owed(approved: NaiveDate, today: NaiveDate) -> Vec<(i32, u32)> {
    let (y, m) = if approved.month() == 12 {
        (approved.year() + 1, 1)
    } else {
        (approved.year(), approved.month() + 1)
    };
    let first = NaiveDate::from_ymd_opt(y, m, 1).expect("first of a month");
    months_owed(first, today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::d;

    fn step(date: NaiveDate, what: &str) -> PlanStep {
        PlanStep {
            date,
            what: what.into(),
        }
    }

    #[test]
    fn a_plan_meets_the_month_but_does_not_finish_the_work() {
        assert_eq!(met_label_zh("resolve", true), "计划已批准");
        assert_eq!(met_label_zh("resolve", false), "已完成");
        assert_eq!(met_label_zh("deploy", true), "已完成");
        assert_eq!(met_label_zh("plan.1", true), "已完成");
    }

    #[test]
    fn the_resolution_deadline_is_the_last_one_owed() {
        // 13710: deploy 10-12, initial 10-14, 办结 10-20.
        let own = [
            ("deploy", d(2026, 10, 12)),
            ("initial", d(2026, 10, 14)),
            ("resolve", d(2026, 10, 20)),
        ];
        assert_eq!(resolution_deadline(own), Some(d(2026, 10, 20)));
        // An approved plan's last step replaces the month's 办结, whatever order
        // the steps come in; a stage report later than both is not a deadline.
        let planned = [
            ("resolve", d(2026, 11, 9)),
            ("plan.2", d(2026, 12, 31)),
            ("plan.1", d(2026, 11, 30)),
            ("stage.1", d(2027, 1, 29)),
        ];
        assert_eq!(resolution_deadline(planned), Some(d(2026, 12, 31)));
        let early_plan = [("resolve", d(2026, 11, 9)), ("plan.1", d(2026, 11, 6))];
        assert_eq!(resolution_deadline(early_plan), Some(d(2026, 11, 6)));
        assert_eq!(resolution_deadline([("stage.1", d(2027, 1, 29))]), None);
    }

    #[test]
    fn plans_are_for_major_items() {
        assert!(plan_allowed(UrgencyClass::Major));
        for u in [UrgencyClass::General, UrgencyClass::Urgent, UrgencyClass::FixedDeadline] {
            assert!(!plan_allowed(u));
        }
    }

    #[test]
    fn plan_checks() {
        let today = d(2026, 10, 20);
        let good = [step(d(2026, 11, 30), "完成调研"), step(d(2026, 12, 31), "出台制度")];
        assert!(plan_violations(&good, "分两步推进", today).is_empty());
        let fields = |steps: &[PlanStep], summary: &str| -> Vec<String> {
            plan_violations(steps, summary, today)
                .0
                .into_iter()
                .map(|f| f.field)
                .collect()
        };
        assert_eq!(fields(&[], "x"), vec!["steps"]);
        assert_eq!(fields(&good, " "), vec!["summary"]);
        assert_eq!(fields(&[step(today, "今天")], "x"), vec!["steps[0].date"]);
        assert_eq!(fields(&[step(d(2026, 11, 1), " ")], "x"), vec!["steps[0].what"]);
        // Out of order, and a repeated date.
        assert_eq!(
            fields(
                &[
                    step(d(2026, 12, 1), "a"),
                    step(d(2026, 11, 1), "b"),
                    step(d(2026, 11, 1), "c")
                ],
                "x"
            ),
            vec!["steps[1].date", "steps[2].date"]
        );
        let many: Vec<PlanStep> = (1..=25).map(|i| step(d(2027, 1, i), "x")).collect();
        assert_eq!(fields(&many, "x"), vec!["steps"]);
    }

    #[test]
    fn labels() {
        assert_eq!(milestone_label_zh("resolve"), "办结");
        assert_eq!(milestone_label_zh(&plan_milestone(2)), "推进计划第2个节点");
        assert_eq!(milestone_label_zh(&stage_milestone(1)), "第1次阶段性报告");
    }

    #[test]
    fn monthly_progress_after_approval() {
        // Approved in October: November's report is owed once November is over.
        assert_eq!(plan_months_owed(d(2026, 10, 20), d(2026, 11, 30)), vec![]);
        assert_eq!(plan_months_owed(d(2026, 10, 20), d(2026, 12, 1)), vec![(2026, 11)]);
        assert_eq!(
            plan_months_owed(d(2026, 12, 31), d(2027, 3, 2)),
            vec![(2027, 1), (2027, 2)]
        );
    }
}
