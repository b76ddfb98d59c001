//! What a report is made from (the [`Dataset`] read from the views other
//! services publish) and what it says (the [`Doc`]: figures, lists and
//! findings, stored as the report's data snapshot and handed to the
//! templates as they are).

use chrono::{DateTime, NaiveDate, Utc};
use duban_core::assignment::AssignmentState;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Unit {
    pub id: Uuid,
    /// Ids from the root down to the unit itself.
    #[serde(default)]
    pub ancestry: Vec<Uuid>,
    pub name: String,
    pub short_name: String,
    pub kind: String,
    pub parent_id: Option<Uuid>,
    pub sort_order: i32,
    pub head_id: Option<Uuid>,
    pub head_name: String,
    pub head_email: String,
    pub liaison_id: Option<Uuid>,
    pub liaison_name: String,
    pub liaison_email: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Item {
    pub id: Uuid,
    pub number: String,
    pub title: String,
    /// Urgency class code (general, major…).
    pub urgency: String,
    pub lead_unit_id: Option<Uuid>,
    pub leader_name: String,
    pub source_id: Option<Uuid>,
    /// Source kind code (president_instruction…).
    pub source_kind: String,
    pub source_title: String,
    pub source_doc_number: String,
    pub registered_at: Option<DateTime<Utc>>,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Milestone {
    pub kind: String,
    pub due_date: NaiveDate,
    pub due_at: DateTime<Utc>,
    pub yellow_at: DateTime<Utc>,
    pub met_at: Option<DateTime<Utc>>,
    /// Counted over a year whose calendar is not loaded yet (暂定).
    #[serde(default)]
    pub provisional: bool,
}

/// One progress figure of a feedback (指标: what, value, unit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub what: String,
    pub value: f64,
    #[serde(default)]
    pub unit: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Feedback {
    pub kind: String,
    pub body: String,
    /// Delay reason code, for delay explanations.
    pub reason: Option<String>,
    pub progress: Vec<Figure>,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Urge {
    pub seq: i32,
    pub kind: String,
    pub issued_at: DateTime<Utc>,
    pub answer_due_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub justified: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Assignment {
    pub id: Uuid,
    pub item_id: Uuid,
    pub round: i32,
    pub unit_id: Uuid,
    pub unit_name: String,
    /// lead or co.
    pub role: String,
    pub head_name: String,
    pub liaison_name: String,
    pub assigned_at: DateTime<Utc>,
    pub state: String,
    pub grade: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub verified_by: String,
    pub verification_notes: String,
    pub closed_out_at: Option<DateTime<Utc>>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub flagged_at: Option<DateTime<Utc>>,
    pub flag_reason: String,
    /// Ordered by due time.
    pub milestones: Vec<Milestone>,
    /// Ordered by submission.
    pub feedback: Vec<Feedback>,
    /// Ordered by number.
    pub urges: Vec<Urge>,
}

impl Assignment {
    /// When it was finished: accepted at verification, or written off.
    pub fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.verified_at.or(self.closed_out_at)
    }

    /// Assigned and not yet finished at `t`.
    pub fn open_at(&self, t: DateTime<Utc>) -> bool {
        self.assigned_at <= t && self.completed_at().is_none_or(|c| c > t)
    }

    /// The policy's milestones (stage reports of continuing attention are
    /// not deadlines of the assignment itself).
    pub fn deadlines(&self) -> impl Iterator<Item = &Milestone> {
        self.milestones.iter().filter(|m| !m.kind.starts_with("stage."))
    }

    /// The first milestone missed at `t` while open and not suspended.
    pub fn missed_at(&self, t: DateTime<Utc>) -> Option<&Milestone> {
        if !self.open_at(t) || self.suspended_at.is_some_and(|s| s <= t) {
            return None;
        }
        self.deadlines()
            .filter(|m| m.due_at <= t && m.met_at.is_none_or(|met| met > t))
            .min_by_key(|m| m.due_at)
    }

    /// The traffic light at `t` (None when finished or suspended).
    pub fn light_at(&self, t: DateTime<Utc>) -> Option<&'static str> {
        if !self.open_at(t) || self.suspended_at.is_some_and(|s| s <= t) {
            return None;
        }
        let open: Vec<&Milestone> = self
            .deadlines()
            .filter(|m| m.met_at.is_none_or(|met| met > t))
            .collect();
        if open.is_empty() {
            None
        } else if open.iter().any(|m| m.due_at <= t) {
            Some("red")
        } else if open.iter().any(|m| m.yellow_at <= t) {
            Some("yellow")
        } else {
            Some("green")
        }
    }

    /// The state it was in at `t`, from what is dated by then: verification
    /// and write-off, the milestones met (签收 meets 研究部署, the initial
    /// report 反馈初步落实情况, the completion report 办结) and the latest
    /// feedback. Where those cannot tell states of one stage apart (办理中,
    /// 驳回重办 and a plan's states; when a return or a plan decision
    /// happened is not among them), the current state. None for a state
    /// code this build does not know.
    pub fn state_at(&self, t: DateTime<Utc>) -> Option<AssignmentState> {
        use AssignmentState as S;
        let current = AssignmentState::from_code(&self.state)?;
        if self.closed_out_at.is_some_and(|c| c <= t) {
            return Some(S::ClosedOut);
        }
        if self.verified_at.is_some_and(|v| v <= t) {
            return Some(S::Verified);
        }
        let stage = |s: S| match s {
            S::Assigned => 0,
            S::Acknowledged => 1,
            S::InProgress | S::Returned | S::PlanPending | S::PlanApproved => 2,
            S::CompletionReported => 3,
            S::Verified | S::ClosedOut => 4,
        };
        let met = |kind: &str| {
            self.milestones
                .iter()
                .any(|m| m.kind == kind && m.met_at.is_some_and(|met| met <= t))
        };
        let by_milestones = if met("resolve") {
            S::CompletionReported
        } else if met("initial") {
            S::InProgress
        } else if met("deploy") {
            S::Acknowledged
        } else {
            S::Assigned
        };
        let by_feedback = match self.feedback.iter().rev().find(|f| f.submitted_at <= t) {
            Some(f) if f.kind == "completion" => S::CompletionReported,
            Some(f) if f.kind == "deployment" => S::Acknowledged,
            Some(f) if f.kind == "urge_response" => S::Assigned,
            Some(_) => S::InProgress,
            None => S::Assigned,
        };
        let then = [by_milestones, by_feedback]
            .into_iter()
            .max_by_key(|s| stage(*s))
            .unwrap_or(S::Assigned);
        // A plan met the month's 办结 milestone: the plan's stage, not done.
        let planned = self.milestones.iter().any(|m| m.kind.starts_with("plan."));
        let then = match then {
            S::CompletionReported if planned && by_feedback != S::CompletionReported => S::InProgress,
            s => s,
        };
        Some(if stage(current) == stage(then) { current } else { then })
    }

    /// The next milestone still to meet at `t`.
    pub fn next_due_at(&self, t: DateTime<Utc>) -> Option<&Milestone> {
        self.deadlines()
            .filter(|m| m.met_at.is_none_or(|met| met > t))
            .min_by_key(|m| m.due_at)
    }

    /// Finished with every deadline met in time.
    pub fn on_time(&self) -> bool {
        let Some(done) = self.completed_at() else {
            return false;
        };
        self.deadlines().all(|m| match m.met_at {
            Some(met) => met <= m.due_at,
            None => m.due_at > done,
        })
    }
}

/// Everything a court's report is computed from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dataset {
    pub court: Unit,
    /// The court's units, in their order.
    pub units: Vec<Unit>,
    pub items: Vec<Item>,
    pub assignments: Vec<Assignment>,
    /// Items with an assignment by the report's instant, including those
    /// whose assignments are not read (finished before the report's
    /// windows and left alone since).
    #[serde(default)]
    pub assigned_items: Vec<Uuid>,
    /// The due dates of deadlines still to meet that rest on a year whose
    /// calendar is not loaded (暂定), whether or not their assignments are
    /// read: the weekly list's warning counts them all.
    #[serde(default)]
    pub provisional_due: Vec<NaiveDate>,
}

// ---- What a report says -------------------------------------------------

/// One row of a statistics table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CountRow {
    pub name: String,
    /// 新交办: assigned in the period.
    pub new: u32,
    /// 办结: finished in the period.
    pub completed: u32,
    /// 按期办结: of those, every deadline met.
    pub on_time: u32,
    /// 逾期: open and past a deadline at the period's end.
    pub overdue: u32,
    /// 在办: open at the period's end.
    pub open: u32,
    /// 按期办结率, as printed (— when nothing was finished).
    pub rate: String,
    /// Bar widths in percent of the largest figure of the table.
    pub completed_pct: u32,
    pub overdue_pct: u32,
}

/// One assignment as a report lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub number: String,
    pub title: String,
    pub unit: String,
    pub head: String,
    pub state: String,
    /// 红灯, 黄灯, 绿灯 or empty.
    pub light: String,
    pub light_code: String,
    pub next_deadline: String,
    pub latest_feedback: String,
    /// What else there is to say (missed milestone, reason, grade…).
    pub note: String,
}

/// One finding of the issue analysis: what was found, the assignments
/// behind it, and what the office suggests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: String,
    pub title: String,
    pub summary: String,
    pub details: Vec<String>,
    /// The first items behind the finding (`finding_list_limit` of them).
    pub items: Vec<Line>,
    /// How many more there are, not listed.
    #[serde(default)]
    pub more: u32,
    pub countermeasure: String,
    /// Every assignment behind the finding, for the ledger's 问题分析
    /// column (not part of the snapshot).
    #[serde(skip)]
    pub assignments: Vec<Uuid>,
}

/// One group of the appraisal ranking (grassroots courts, or departments):
/// they are ranked among themselves.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RankGroup {
    pub title: String,
    pub rows: Vec<RankRow>,
}

/// A place in the appraisal ranking.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RankRow {
    /// "3" or "3(并列)".
    pub rank: String,
    pub name: String,
    pub score: String,
    pub deductions: String,
    pub credits: String,
}

/// Open assignments by traffic light.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lights {
    pub red: u32,
    pub yellow: u32,
    pub green: u32,
}

/// A report, ready to render.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Doc {
    pub kind: String,
    pub kind_label: String,
    pub period: String,
    pub period_label: String,
    pub court_name: String,
    pub issuer: String,
    pub title: String,
    pub number: String,
    pub subject: String,
    pub date_label: String,
    /// A corrected reissue's line saying what it replaces and why (empty
    /// for a report issued once).
    #[serde(default)]
    pub correction_note: String,
    /// The instant the figures are taken at, as printed.
    pub as_of_label: String,
    /// The Friday reminder's liaison and unit.
    pub recipient_unit: String,
    pub recipient_name: String,
    pub totals: CountRow,
    pub lights: Lights,
    pub previous_totals: Option<CountRow>,
    /// A quarter's or year's month by month (逐月情况), to the month of the figures.
    #[serde(default)]
    pub trend: Vec<CountRow>,
    pub by_unit: Vec<CountRow>,
    pub by_leader: Vec<CountRow>,
    pub by_source: Vec<CountRow>,
    pub by_class: Vec<CountRow>,
    /// The longest overdue (`red_list_limit` of them), and how many more
    /// are overdue (the ledger lists them all).
    pub red_list: Vec<Line>,
    #[serde(default)]
    pub red_more: u32,
    pub criticized: Vec<Line>,
    pub closeouts: Vec<Line>,
    pub open_items: Vec<Line>,
    pub due_soon: Vec<Line>,
    /// The weekly list's warning while deadlines rest on a year whose
    /// calendar is not loaded; empty otherwise.
    #[serde(default)]
    pub calendar_note: String,
    pub findings: Vec<Finding>,
    /// None: no ranking for the period (no appraisal service linked).
    pub ranking: Option<Vec<RankGroup>>,
}

#[cfg(test)]
mod tests {
    use crate::figures::Window;
    use crate::model::Milestone;
    use crate::testing::{Court, ZXJ, d, t};

    /// Assigned Friday 10-09: deploy due 10-10, initial 10-13, resolve 10-19.
    fn followed(court: &mut Court) -> &mut crate::model::Assignment {
        let item = court.item("督〔2026〕7号", "孙立军", t(10, 9, 9));
        let a = court.assign(item, ZXJ, t(10, 9, 10), d(2026, 10, 19));
        let resolve = a.milestones[0].clone();
        for (kind, day, met) in [("deploy", 10, 10), ("initial", 13, 13)] {
            a.milestones.insert(
                a.milestones.len() - 1,
                Milestone {
                    kind: kind.into(),
                    due_date: d(2026, 10, day),
                    met_at: Some(t(10, met, 15)),
                    ..resolve.clone()
                },
            );
        }
        a.report("deployment", t(10, 10, 15), "专题研究部署", &[]);
        a.report("initial", t(10, 13, 15), "梳理案件126件", &[]);
        a.report("completion", t(10, 19, 15), "已全部办结", &[]);
        a.milestones.last_mut().unwrap().met_at = Some(t(10, 19, 15));
        a.finish(t(10, 19, 15), t(10, 22, 9));
        a.closed_out_at = Some(t(10, 26, 9));
        a.state = "closed_out".into();
        a
    }

    #[test]
    fn a_past_moment_shows_the_state_of_then() {
        let mut court = Court::new();
        let a = followed(&mut court).clone();
        let label = |at| a.state_at(at).map(|s| s.label_zh());
        assert_eq!(label(t(10, 9, 12)), Some("已交办"));
        assert_eq!(label(t(10, 12, 9)), Some("已签收"));
        assert_eq!(label(t(10, 14, 9)), Some("办理中"));
        assert_eq!(label(t(10, 20, 9)), Some("已报办结"));
        assert_eq!(label(t(10, 23, 9)), Some("核查通过"));
        assert_eq!(label(t(10, 27, 9)), Some("已销号"));
    }

    #[test]
    fn a_week_list_of_then_and_a_suspension_as_it_stands() {
        let mut court = Court::new();
        followed(&mut court);
        let item = court.item("督〔2026〕8号", "孙立军", t(9, 1, 9));
        court.assign(item, ZXJ, t(9, 1, 10), d(2026, 10, 30)).suspended_at = Some(t(9, 28, 10));
        // As at Friday 10-09 noon: 7号 just assigned; 8号 paused since 9-28:
        // 9-29, 9-30, 10-08, 10-09 are 4 working days.
        let frame = court.frame(Window {
            start: t(10, 5, 0),
            end: t(10, 9, 12),
        });
        let states: Vec<String> = court.data.assignments.iter().map(|a| frame.line(a).state).collect();
        assert_eq!(states, ["已交办", "已中止(已暂停4个工作日)"]);
    }
}
