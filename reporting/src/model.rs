//! What a report is made from (the [`Dataset`] read from the views other
//! services publish) and what it says (the [`Doc`]: figures, lists and
//! findings, stored as the report's data snapshot and handed to the
//! templates as they are).

use chrono::{DateTime, NaiveDate, Utc};
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
