//! Appraisal (考评, docs/domain.md §8): turning what happened to assignments into
//! points, explainably.
//!
//! Two steps, both pure. [`fold`] reads the assignment events one at a time
//! and records *facts* (an urge, a return, an overdue span of days, a grade…)
//! that do not depend on any rule set, keeping a small [`Track`] per
//! assignment. [`score`] then prices the facts that fall in a period with a
//! [`RuleSet`] and the working-day calendar. Keeping facts free of points is
//! what lets a new rule set version apply to facts folded long before it, and
//! lets overdue days be split between the periods they elapsed in.

use crate::Violations;
use crate::assignment::AssignmentState;
use crate::calendar::{Calendar, MissingYear};
use crate::item::UrgencyClass;
use crate::policy::MilestoneKind;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

labelled!(
    /// What a score line is for; the rule set prices each.
    RuleCode {
        Overdue => ("overdue", "逾期"),
        Urge => ("urge", "催办"),
        UrgeJustified => ("urge_justified", "催办理由正当"),
        Criticism => ("criticism", "通报批评"),
        Returned => ("returned", "驳回重办"),
        ReinspectionFailed => ("reinspection_failed", "回头看未通过"),
        Early => ("early", "提前办结"),
        Grade => ("grade", "核查等次"),
        Adjustment => ("adjustment", "更正调整"),
    }
);

// ---------------------------------------------------------------- points

/// Points in hundredths, so totals add up exactly however lines are summed.
pub type Points = i64;

/// `-0.5` → `-50`.
pub fn points_from(value: f64) -> Points {
    (value * 100.0).round() as Points
}

/// `-50` → `-0.5`.
pub fn points_value(points: Points) -> f64 {
    points as f64 / 100.0
}

/// `-50` → `"-0.50"`, `300` → `"+3.00"`.
pub fn points_text(points: Points) -> String {
    let sign = if points < 0 { "-" } else { "+" };
    format!("{sign}{}.{:02}", points.abs() / 100, points.abs() % 100)
}

/// `-150` → `"-1.50"`, `0` → `"0.00"`, `9850` → `"98.50"`: a score or a
/// column of deductions, without a sign for what is not negative. Through
/// hundredths, so a sum of nothing negated (f64 -0.0) never reads -0.00.
pub fn points_plain(points: Points) -> String {
    let sign = if points < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", points.abs() / 100, points.abs() % 100)
}

// ---------------------------------------------------------------- rule sets

/// A rule set as typed in (services/appraisal/rules/default.toml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub name: String,
    pub base: f64,
    pub overdue: OverdueRule,
    pub urge: FlatRule,
    pub criticism: FlatRule,
    pub returned: FlatRule,
    pub reinspection_failed: FlatRule,
    pub early: EarlyRule,
    pub grade: GradeRule,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverdueRule {
    pub per_day: f64,
    /// By urgency class code; a class not listed weighs 1.
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatRule {
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyRule {
    pub per_day: f64,
    pub max_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeRule {
    pub excellent: f64,
    pub good: f64,
    pub pass: f64,
}

impl RuleFile {
    /// What is wrong with the file, field by field: deductions must not be
    /// positive nor credits negative, or a typo turns a penalty into a bonus.
    pub fn check(&self) -> Violations {
        let mut v = Violations::new();
        if self.name.trim().is_empty() {
            v.add("name", "must not be empty", "规则名称不能为空");
        }
        let finite = |x: f64| x.is_finite() && x.abs() <= 10_000.0;
        if !finite(self.base) || self.base < 0.0 {
            v.add("base", "must be a number from 0 to 10000", "基础分须为0至10000之间的数");
        }
        let deductions = [
            ("overdue.per_day", self.overdue.per_day),
            ("urge.points", self.urge.points),
            ("criticism.points", self.criticism.points),
            ("returned.points", self.returned.points),
            ("reinspection_failed.points", self.reinspection_failed.points),
        ];
        for (field, x) in deductions {
            if !finite(x) || x > 0.0 {
                v.add(field, "is a deduction: zero or negative", "扣分项须为零或负数");
            }
        }
        let credits = [
            ("early.per_day", self.early.per_day),
            ("grade.excellent", self.grade.excellent),
            ("grade.good", self.grade.good),
            ("grade.pass", self.grade.pass),
        ];
        for (field, x) in credits {
            if !finite(x) || x < 0.0 {
                v.add(field, "is a credit: zero or positive", "加分项须为零或正数");
            }
        }
        for (class, w) in &self.overdue.weights {
            if UrgencyClass::from_code(class).is_none() {
                v.add(
                    format!("overdue.weights.{class}"),
                    "is not an urgency class (urgent, fixed_deadline, general, major)",
                    "督办类别无效(应为 urgent、fixed_deadline、general、major)",
                );
            } else if !(w.is_finite() && *w > 0.0 && *w <= 100.0) {
                v.add(
                    format!("overdue.weights.{class}"),
                    "must be a number above 0 and at most 100",
                    "权重须大于0且不超过100",
                );
            }
        }
        if self.early.max_days > 365 {
            v.add("early.max_days", "must be at most 365", "最多计算天数不能超过365");
        }
        v
    }

    /// The rules as priced in hundredths.
    pub fn rules(&self) -> RuleSet {
        RuleSet {
            name: self.name.trim().to_owned(),
            base: points_from(self.base),
            overdue_per_day: points_from(self.overdue.per_day),
            weights: self.overdue.weights.clone(),
            urge: points_from(self.urge.points),
            criticism: points_from(self.criticism.points),
            returned: points_from(self.returned.points),
            reinspection_failed: points_from(self.reinspection_failed.points),
            early_per_day: points_from(self.early.per_day),
            early_max_days: self.early.max_days,
            grade_excellent: points_from(self.grade.excellent),
            grade_good: points_from(self.grade.good),
            grade_pass: points_from(self.grade.pass),
        }
    }
}

/// A checked rule set, points in hundredths.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub name: String,
    pub base: Points,
    pub overdue_per_day: Points,
    pub weights: BTreeMap<String, f64>,
    pub urge: Points,
    pub criticism: Points,
    pub returned: Points,
    pub reinspection_failed: Points,
    pub early_per_day: Points,
    pub early_max_days: u32,
    pub grade_excellent: Points,
    pub grade_good: Points,
    pub grade_pass: Points,
}

impl RuleSet {
    pub fn weight(&self, urgency: &str) -> f64 {
        self.weights.get(urgency).copied().unwrap_or(1.0)
    }

    /// Each rule in words, for `rules show` and the API.
    pub fn describe(&self) -> Vec<(RuleCode, Points, String)> {
        let weights: Vec<String> = self
            .weights
            .iter()
            .map(|(c, w)| {
                let label = UrgencyClass::from_code(c).map(UrgencyClass::label_zh).unwrap_or("");
                format!("{label}×{w}")
            })
            .collect();
        vec![
            (
                RuleCode::Overdue,
                self.overdue_per_day,
                format!(
                    "每个节点每逾期一个工作日{}分(按类别加权:{})",
                    points_text(self.overdue_per_day),
                    weights.join("、")
                ),
            ),
            (
                RuleCode::Urge,
                self.urge,
                format!("每次催办{}分", points_text(self.urge)),
            ),
            (
                RuleCode::UrgeJustified,
                -self.urge,
                "催办回复经认定理由正当的,撤销该次催办扣分".into(),
            ),
            (
                RuleCode::Criticism,
                self.criticism,
                format!("每次通报批评{}分", points_text(self.criticism)),
            ),
            (
                RuleCode::Returned,
                self.returned,
                format!("办结报告每被驳回重办一次{}分", points_text(self.returned)),
            ),
            (
                RuleCode::ReinspectionFailed,
                self.reinspection_failed,
                format!("回头看未通过,每个承办单位{}分", points_text(self.reinspection_failed)),
            ),
            (
                RuleCode::Early,
                self.early_per_day,
                format!(
                    "每提前一个工作日办结{}分,最多按{}个工作日计",
                    points_text(self.early_per_day),
                    self.early_max_days
                ),
            ),
            (
                RuleCode::Grade,
                self.grade_excellent,
                format!(
                    "核查评定优秀{}分、良好{}分、合格{}分",
                    points_text(self.grade_excellent),
                    points_text(self.grade_good),
                    points_text(self.grade_pass)
                ),
            ),
        ]
    }
}

// ---------------------------------------------------------------- periods

labelled!(
    PeriodKind {
        Month => ("month", "月度"),
        Quarter => ("quarter", "季度"),
        Year => ("year", "年度"),
    }
);

/// A month (`2026-10`), quarter (`2026-Q4`) or year (`2026`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub kind: PeriodKind,
    pub start: NaiveDate,
    /// The last day, inclusive.
    pub end: NaiveDate,
}

impl Period {
    pub fn parse(key: &str) -> Option<Period> {
        let key = key.trim();
        let first = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1);
        let year_ok = |y: i32| (2000..=2100).contains(&y);
        if let Some((y, rest)) = key.split_once('-') {
            let y: i32 = y.parse().ok().filter(|y| year_ok(*y))?;
            if let Some(q) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
                let q: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
                let start = first(y, q * 3 - 2)?;
                return Some(Period {
                    kind: PeriodKind::Quarter,
                    start,
                    end: last_day(y, q * 3)?,
                });
            }
            if rest.len() != 2 {
                return None;
            }
            let m: u32 = rest.parse().ok().filter(|m| (1..=12).contains(m))?;
            return Some(Period {
                kind: PeriodKind::Month,
                start: first(y, m)?,
                end: last_day(y, m)?,
            });
        }
        let y: i32 = key.parse().ok().filter(|y| year_ok(*y))?;
        Some(Period {
            kind: PeriodKind::Year,
            start: first(y, 1)?,
            end: last_day(y, 12)?,
        })
    }

    /// The canonical key: `2026-10`, `2026-Q4`, `2026`.
    pub fn key(&self) -> String {
        match self.kind {
            PeriodKind::Month => format!("{:04}-{:02}", self.start.year(), self.start.month()),
            PeriodKind::Quarter => format!("{:04}-Q{}", self.start.year(), self.start.month().div_ceil(3)),
            PeriodKind::Year => format!("{:04}", self.start.year()),
        }
    }

    /// `2026年10月`, `2026年第4季度`, `2026年度`.
    pub fn label_zh(&self) -> String {
        match self.kind {
            PeriodKind::Month => format!("{}年{}月", self.start.year(), self.start.month()),
            PeriodKind::Quarter => format!("{}年第{}季度", self.start.year(), self.start.month().div_ceil(3)),
            PeriodKind::Year => format!("{}年度", self.start.year()),
        }
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.start <= d && d <= self.end
    }

    /// Whether the two periods share a day (a published month freezes the
    /// quarter and year around it only for that month's own figures).
    pub fn overlaps(&self, other: &Period) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

fn last_day(y: i32, m: u32) -> Option<NaiveDate> {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()
}

// ---------------------------------------------------------------- events in

/// An assignment as its events describe it (`summary()` in the assignment
/// service); only what scoring needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub item_id: Uuid,
    #[serde(default)]
    pub item_number: Option<String>,
    pub round: i32,
    pub unit_id: Uuid,
    pub urgency: String,
    pub head_id: Uuid,
    pub liaison_id: Uuid,
    pub state: String,
    #[serde(default)]
    pub grade: Option<String>,
    #[serde(default)]
    pub suspended_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub milestones: Vec<SummaryMilestone>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryMilestone {
    pub kind: String,
    pub due_date: NaiveDate,
    #[serde(default)]
    pub met_at: Option<DateTime<Utc>>,
}

/// What an event says beyond the summary.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    None,
    /// `assignment.urged`: automatic and monthly urges carry their number;
    /// a manual urge is the next number.
    Urged {
        seq: Option<i32>,
        kind: String,
    },
    /// `assignment.urge_judged`.
    Judged {
        seq: i32,
        justified: bool,
    },
    /// `assignment.flagged`.
    Flagged {
        reason: String,
    },
    /// `item.reinspection_failed`: the round that failed.
    ReinspectionFailed {
        round: i32,
    },
    /// `assignment.deadlines_recomputed`: milestone kind → new due date.
    Deadlines(BTreeMap<String, NaiveDate>),
    /// Events carrying only a new state (`assignment.closed_out`).
    State(String),
}

/// One event of the assignment service, as the fold reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub event_type: String,
    /// The assignment id, or the item id for `item.*` events.
    pub subject_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub summary: Option<Summary>,
    pub detail: Detail,
}

// ---------------------------------------------------------------- the fold

/// Who and what a fact is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub assignment_id: Uuid,
    pub item_id: Uuid,
    pub item_number: Option<String>,
    pub round: i32,
    pub unit_id: Uuid,
    pub head_id: Uuid,
    pub liaison_id: Uuid,
    pub urgency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// Working days in `(after, until]` past the milestone's deadline.
    Overdue {
        milestone: String,
        due_date: NaiveDate,
        after: NaiveDate,
        until: NaiveDate,
    },
    Urge {
        seq: i32,
        urge_kind: String,
    },
    /// An urge judged justified (its deduction cancelled), or `revoked`: a
    /// justified verdict changed back.
    UrgeJustified {
        seq: i32,
        revoked: bool,
    },
    Criticism {
        reason: String,
    },
    Returned,
    ReinspectionFailed {
        round: i32,
    },
    Early {
        met_on: NaiveDate,
        due_date: NaiveDate,
    },
    Grade {
        grade: String,
    },
}

/// Something that happened and may count, named by the event behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub event_id: i64,
    pub event_type: String,
    /// The event's day in court time.
    pub on: NaiveDate,
    pub subject: Subject,
    pub what: What,
}

impl Fact {
    /// The days the fact can count in: its day, or an overdue span's days.
    pub fn days(&self) -> (NaiveDate, NaiveDate) {
        match &self.what {
            What::Overdue { after, until, .. } => (after.succ_opt().unwrap_or(*after), *until),
            _ => (self.on, self.on),
        }
    }

    pub fn rule(&self) -> RuleCode {
        match &self.what {
            What::Overdue { .. } => RuleCode::Overdue,
            What::Urge { .. } => RuleCode::Urge,
            What::UrgeJustified { .. } => RuleCode::UrgeJustified,
            What::Criticism { .. } => RuleCode::Criticism,
            What::Returned => RuleCode::Returned,
            What::ReinspectionFailed { .. } => RuleCode::ReinspectionFailed,
            What::Early { .. } => RuleCode::Early,
            What::Grade { .. } => RuleCode::Grade,
        }
    }
}

/// A milestone past whose deadline days are being counted, since when, and
/// the event that started the count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accrual {
    pub since: NaiveDate,
    pub event_id: i64,
    pub event_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilestoneTrack {
    pub kind: String,
    pub due_date: NaiveDate,
    pub met_at: Option<DateTime<Utc>>,
    pub accrual: Option<Accrual>,
}

/// What the fold remembers of one assignment between events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    pub subject: Subject,
    pub state: String,
    pub suspended: bool,
    pub milestones: Vec<MilestoneTrack>,
    /// Urges seen, for numbering manual ones.
    pub urges: i32,
    /// Urges whose deduction a justified verdict cancelled.
    pub refunded: BTreeSet<i32>,
}

impl Track {
    fn new(id: Uuid, s: &Summary) -> Track {
        Track {
            subject: Subject {
                assignment_id: id,
                item_id: s.item_id,
                item_number: s.item_number.clone(),
                round: s.round,
                unit_id: s.unit_id,
                head_id: s.head_id,
                liaison_id: s.liaison_id,
                urgency: s.urgency.clone(),
            },
            state: s.state.clone(),
            suspended: s.suspended_at.is_some(),
            milestones: Vec::new(),
            urges: 0,
            refunded: BTreeSet::new(),
        }
    }

    /// Days count against a milestone while the assignment is worked on, not
    /// suspended, and the milestone is not met.
    fn counting(&self, m: &MilestoneTrack) -> bool {
        let open = AssignmentState::from_code(&self.state).is_none_or(crate::assignment::is_open);
        open && !self.suspended && m.met_at.is_none()
    }
}

/// The fold's memory: one track per assignment.
pub type Tracks = BTreeMap<Uuid, Track>;

fn local_day<Tz: TimeZone>(at: DateTime<Utc>, tz: &Tz) -> NaiveDate {
    at.with_timezone(tz).date_naive()
}

/// Reads one event: updates the tracks and returns the facts it establishes.
/// `tracks` must hold every assignment the event names (for `item.*`
/// events, every assignment of the item).
pub fn fold<Tz: TimeZone>(tracks: &mut Tracks, e: &Event, tz: &Tz) -> Vec<Fact> {
    let on = local_day(e.occurred_at, tz);
    let fact = |subject: &Subject, what: What| Fact {
        event_id: e.id,
        event_type: e.event_type.clone(),
        on,
        subject: subject.clone(),
        what,
    };
    if let Detail::ReinspectionFailed { round } = e.detail {
        return tracks
            .values()
            .filter(|t| t.subject.item_id == e.subject_id && t.subject.round == round)
            .map(|t| fact(&t.subject, What::ReinspectionFailed { round }))
            .collect();
    }
    let track = match tracks.entry(e.subject_id) {
        std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
        std::collections::btree_map::Entry::Vacant(v) => match &e.summary {
            Some(s) => v.insert(Track::new(e.subject_id, s)),
            None => return Vec::new(),
        },
    };
    if let Some(s) = &e.summary {
        track.state = s.state.clone();
        track.suspended = s.suspended_at.is_some();
        for m in &s.milestones {
            match track.milestones.iter_mut().find(|t| t.kind == m.kind) {
                Some(t) => {
                    t.due_date = m.due_date;
                    t.met_at = m.met_at;
                }
                None => track.milestones.push(MilestoneTrack {
                    kind: m.kind.clone(),
                    due_date: m.due_date,
                    met_at: m.met_at,
                    accrual: None,
                }),
            }
        }
    }
    match &e.detail {
        Detail::Deadlines(moved) => {
            for m in track.milestones.iter_mut() {
                if let Some(d) = moved.get(&m.kind) {
                    m.due_date = *d;
                }
            }
        }
        Detail::State(state) => track.state = state.clone(),
        _ => {}
    }
    let mut facts = Vec::new();
    // Start or stop counting overdue days.
    for i in 0..track.milestones.len() {
        let counting = track.counting(&track.milestones[i]);
        let m = &mut track.milestones[i];
        match (&m.accrual, counting) {
            (Some(a), false) => {
                let until = m.met_at.map(|t| local_day(t, tz)).unwrap_or(on);
                let after = a.since.max(m.due_date);
                if until > after {
                    facts.push(fact(
                        &track.subject,
                        What::Overdue {
                            milestone: m.kind.clone(),
                            due_date: m.due_date,
                            after,
                            until,
                        },
                    ));
                }
                m.accrual = None;
            }
            (None, true) => {
                m.accrual = Some(Accrual {
                    since: on,
                    event_id: e.id,
                    event_type: e.event_type.clone(),
                })
            }
            _ => {}
        }
    }
    match (e.event_type.as_str(), &e.detail) {
        ("assignment.urged", detail) => {
            let (seq, kind) = match detail {
                Detail::Urged { seq, kind } => (seq.unwrap_or(track.urges + 1), kind.clone()),
                _ => (track.urges + 1, "manual".to_owned()),
            };
            track.urges = track.urges.max(seq);
            facts.push(fact(&track.subject, What::Urge { seq, urge_kind: kind }));
        }
        ("assignment.urge_judged", Detail::Judged { seq, justified }) => {
            let refunded = track.refunded.contains(seq);
            if *justified && !refunded {
                track.refunded.insert(*seq);
                facts.push(fact(
                    &track.subject,
                    What::UrgeJustified {
                        seq: *seq,
                        revoked: false,
                    },
                ));
            } else if !*justified && refunded {
                track.refunded.remove(seq);
                facts.push(fact(
                    &track.subject,
                    What::UrgeJustified {
                        seq: *seq,
                        revoked: true,
                    },
                ));
            }
        }
        ("assignment.flagged", Detail::Flagged { reason }) => {
            facts.push(fact(&track.subject, What::Criticism { reason: reason.clone() }));
        }
        ("assignment.returned", _) => facts.push(fact(&track.subject, What::Returned)),
        ("assignment.verified", _) => {
            if let Some(grade) = e.summary.as_ref().and_then(|s| s.grade.clone()) {
                facts.push(fact(&track.subject, What::Grade { grade }));
            }
            let resolve = track
                .milestones
                .iter()
                .find(|m| m.kind == MilestoneKind::Resolve.code());
            if let Some((met, due)) = resolve.and_then(|m| Some((m.met_at?, m.due_date))) {
                let met_on = local_day(met, tz);
                if met_on < due {
                    facts.push(fact(&track.subject, What::Early { met_on, due_date: due }));
                }
            }
        }
        _ => {}
    }
    facts
}

/// Overdue spans still being counted, as facts running to `as_of`: for a
/// scorecard, never stored. Each names the event that started the count.
pub fn open_spans(tracks: &Tracks, as_of: NaiveDate) -> Vec<Fact> {
    let mut out = Vec::new();
    for t in tracks.values() {
        for m in &t.milestones {
            let Some(a) = &m.accrual else { continue };
            let after = a.since.max(m.due_date);
            if as_of > after {
                out.push(Fact {
                    event_id: a.event_id,
                    event_type: a.event_type.clone(),
                    on: a.since,
                    subject: t.subject.clone(),
                    what: What::Overdue {
                        milestone: m.kind.clone(),
                        due_date: m.due_date,
                        after,
                        until: as_of,
                    },
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------- scoring

/// One priced line of a scorecard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub rule: RuleCode,
    pub points: Points,
    /// Days for overdue and early lines, 1 otherwise.
    pub quantity: i64,
    pub fact: Fact,
    /// An overdue milestone still open: counted to the period end (or today).
    pub provisional: bool,
    pub description: String,
}

fn milestone_label(kind: &str) -> &str {
    MilestoneKind::from_code(kind)
        .map(MilestoneKind::label_zh)
        .unwrap_or(kind)
}

fn urge_label(kind: &str) -> &'static str {
    match kind {
        "automatic" => "逾期自动催办",
        "monthly" => "月度进展催办",
        _ => "办公室催办",
    }
}

/// Prices the facts that count in `period`, up to `as_of` (the period's
/// last day, or today while it runs). `open` are facts from [`open_spans`].
/// Lines worth nothing are left out. Ordered by day, event, rule.
pub fn score<'a>(
    facts: impl IntoIterator<Item = &'a Fact>,
    open: impl IntoIterator<Item = &'a Fact>,
    rules: &RuleSet,
    period: &Period,
    as_of: NaiveDate,
    calendar: &Calendar,
) -> Result<Vec<Line>, MissingYear> {
    let mut lines = Vec::new();
    let tagged = facts
        .into_iter()
        .map(|f| (f, false))
        .chain(open.into_iter().map(|f| (f, true)));
    for (fact, provisional) in tagged {
        if let Some(line) = price(fact, provisional, rules, period, as_of, calendar)? {
            lines.push(line);
        }
    }
    lines.sort_by(|a, b| {
        (
            a.fact.days().1,
            a.fact.event_id,
            a.rule,
            &a.fact.subject.assignment_id,
            &a.description,
        )
            .cmp(&(
                b.fact.days().1,
                b.fact.event_id,
                b.rule,
                &b.fact.subject.assignment_id,
                &b.description,
            ))
    });
    Ok(lines)
}

fn price(
    fact: &Fact,
    provisional: bool,
    rules: &RuleSet,
    period: &Period,
    as_of: NaiveDate,
    calendar: &Calendar,
) -> Result<Option<Line>, MissingYear> {
    let line = |points: Points, quantity: i64, description: String| {
        (points != 0).then(|| Line {
            rule: fact.rule(),
            points,
            quantity,
            fact: fact.clone(),
            provisional,
            description,
        })
    };
    if let What::Overdue {
        milestone,
        due_date,
        after,
        until,
    } = &fact.what
    {
        let from = (*after).max(period.start.pred_opt().unwrap_or(period.start));
        let to = (*until).min(period.end).min(as_of);
        if to <= from {
            return Ok(None);
        }
        let days = calendar.working_days_between(from, to)? as i64;
        let weight = rules.weight(&fact.subject.urgency);
        let points = ((days * rules.overdue_per_day) as f64 * weight).round() as Points;
        let class = UrgencyClass::from_code(&fact.subject.urgency)
            .map(UrgencyClass::label_zh)
            .unwrap_or("");
        let counted = if provisional {
            format!("尚未完成,暂计至{to}")
        } else {
            format!("计至{to}")
        };
        return Ok(line(
            points,
            days,
            format!(
                "“{}”节点逾期{days}个工作日(时限{due_date},{counted};{class}权重{weight})",
                milestone_label(milestone)
            ),
        ));
    }
    if !period.contains(fact.on) {
        return Ok(None);
    }
    Ok(match &fact.what {
        What::Overdue { .. } => unreachable!("priced above"),
        What::Urge { seq, urge_kind } => line(rules.urge, 1, format!("第{seq}次催办({})", urge_label(urge_kind))),
        What::UrgeJustified { seq, revoked: false } => line(
            -rules.urge,
            1,
            format!("第{seq}次催办的回复经认定理由正当,撤销催办扣分"),
        ),
        What::UrgeJustified { seq, revoked: true } => line(
            rules.urge,
            1,
            format!("第{seq}次催办的回复改认定为理由不成立,恢复催办扣分"),
        ),
        What::Criticism { reason } => line(rules.criticism, 1, format!("列入通报批评:{reason}")),
        What::Returned => line(rules.returned, 1, "办结报告经核查驳回重办".into()),
        What::ReinspectionFailed { round } => line(
            rules.reinspection_failed,
            1,
            format!("第{round}轮办理经回头看未通过,重新交办"),
        ),
        What::Early { met_on, due_date } => {
            let days = calendar.working_days_between(*met_on, *due_date)?;
            let counted = days.min(rules.early_max_days) as i64;
            let capped = if days > rules.early_max_days {
                format!(",按最多{}个工作日计", rules.early_max_days)
            } else {
                String::new()
            };
            line(
                counted * rules.early_per_day,
                counted,
                format!("提前{days}个工作日办结(时限{due_date},{met_on}报结{capped})"),
            )
        }
        What::Grade { grade } => {
            let (points, label) = match grade.as_str() {
                "excellent" => (rules.grade_excellent, "优秀"),
                "good" => (rules.grade_good, "良好"),
                _ => (rules.grade_pass, "合格"),
            };
            line(points, 1, format!("办结核查评定为“{label}”"))
        }
    })
}

/// Whom a scorecard is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whom {
    Unit(Uuid),
    /// A person's lines as the responsible head or the liaison.
    Person(Uuid),
}

impl Whom {
    pub fn concerns(&self, s: &Subject) -> bool {
        match self {
            Whom::Unit(u) => s.unit_id == *u,
            Whom::Person(p) => s.head_id == *p || s.liaison_id == *p,
        }
    }
}

/// Competition ranking ("1, 2, 2, 4") of totals already sorted best first:
/// each place and whether it is shared.
pub fn rank(totals: &[Points]) -> Vec<(u32, bool)> {
    let mut out = Vec::with_capacity(totals.len());
    for (i, t) in totals.iter().enumerate() {
        let place = match i {
            0 => 1,
            _ if totals[i - 1] == *t => out.last().map(|(p, _): &(u32, bool)| *p).unwrap_or(1),
            _ => i as u32 + 1,
        };
        let tied = (i > 0 && totals[i - 1] == *t) || totals.get(i + 1) == Some(t);
        out.push((place, tied));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::{d, shipped};
    use chrono::FixedOffset;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const DEFAULT: &str = include_str!("../../appraisal/rules/default.toml");

    fn court() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn rules() -> RuleSet {
        let file: RuleFile = toml::from_str(DEFAULT).expect("the shipped rule set parses");
        assert!(file.check().is_empty(), "{:?}", file.check());
        file.rules()
    }

    /// `2026-10-13 10:00` court time.
    fn at(y: i32, m: u32, day: u32, h: u32) -> DateTime<Utc> {
        court()
            .with_ymd_and_hms(y, m, day, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    const ITEM: u128 = 100;

    /// An assignment of item 100 to unit 10+n, head 20+n, liaison 30+n.
    struct A {
        n: u128,
        s: Summary,
    }

    impl A {
        fn new(n: u128, urgency: &str, due: [(&str, NaiveDate); 3]) -> A {
            A {
                n,
                s: Summary {
                    item_id: id(ITEM),
                    item_number: Some("督〔2026〕1号".into()),
                    round: 1,
                    unit_id: id(10 + n),
                    urgency: urgency.into(),
                    head_id: id(20 + n),
                    liaison_id: id(30 + n),
                    state: "assigned".into(),
                    grade: None,
                    suspended_at: None,
                    milestones: due
                        .iter()
                        .map(|(k, dd)| SummaryMilestone {
                            kind: (*k).into(),
                            due_date: *dd,
                            met_at: None,
                        })
                        .collect(),
                },
            }
        }

        fn general(n: u128) -> A {
            A::new(
                n,
                "general",
                [
                    ("deploy", d(2026, 10, 8)),
                    ("initial", d(2026, 10, 10)),
                    ("resolve", d(2026, 10, 15)),
                ],
            )
        }

        /// Due in December: nothing of it is overdue in October.
        fn not_due(n: u128) -> A {
            A::new(
                n,
                "general",
                [
                    ("deploy", d(2026, 12, 8)),
                    ("initial", d(2026, 12, 10)),
                    ("resolve", d(2026, 12, 15)),
                ],
            )
        }

        fn meet(&mut self, kind: &str, when: Option<DateTime<Utc>>) -> &mut Self {
            self.s.milestones.iter_mut().find(|m| m.kind == kind).unwrap().met_at = when;
            self
        }

        fn state(&mut self, s: &str) -> &mut Self {
            self.s.state = s.into();
            self
        }

        fn event(&self, eid: i64, kind: &str, when: DateTime<Utc>) -> Event {
            Event {
                id: eid,
                event_type: kind.into(),
                subject_id: id(self.n),
                occurred_at: when,
                summary: Some(self.s.clone()),
                detail: Detail::None,
            }
        }

        fn bare(&self, eid: i64, kind: &str, when: DateTime<Utc>, detail: Detail) -> Event {
            Event {
                id: eid,
                event_type: kind.into(),
                subject_id: id(self.n),
                occurred_at: when,
                summary: None,
                detail,
            }
        }
    }

    fn fold_all(events: &[Event]) -> (Tracks, Vec<Fact>) {
        let mut tracks = Tracks::new();
        let facts = events.iter().flat_map(|e| fold(&mut tracks, e, &court())).collect();
        (tracks, facts)
    }

    /// (rule, points, quantity, provisional, event) of each line of unit 10+n.
    fn card(events: &[Event], period: &str, as_of: NaiveDate, n: u128) -> Vec<(RuleCode, Points, i64, bool, i64)> {
        let (tracks, facts) = fold_all(events);
        let open = open_spans(&tracks, as_of);
        let period = Period::parse(period).unwrap();
        score(&facts, &open, &rules(), &period, as_of, &shipped())
            .unwrap()
            .into_iter()
            .filter(|l| Whom::Unit(id(10 + n)).concerns(&l.fact.subject))
            .map(|l| (l.rule, l.points, l.quantity, l.provisional, l.fact.event_id))
            .collect()
    }

    use RuleCode::*;

    #[test]
    fn the_shipped_rule_set() {
        let r = rules();
        assert_eq!(
            (
                r.base,
                r.overdue_per_day,
                r.urge,
                r.criticism,
                r.returned,
                r.reinspection_failed
            ),
            (10000, -50, -100, -500, -200, -500)
        );
        assert_eq!((r.early_per_day, r.early_max_days), (20, 5));
        assert_eq!((r.grade_excellent, r.grade_good, r.grade_pass), (300, 100, 0));
        assert_eq!(
            (r.weight("urgent"), r.weight("fixed_deadline"), r.weight("general")),
            (2.0, 1.5, 1.0)
        );
    }

    #[test]
    fn rule_files_are_checked_field_by_field() {
        let mut file: RuleFile = toml::from_str(DEFAULT).unwrap();
        file.urge.points = 1.0;
        file.grade.good = -1.0;
        file.overdue.weights.insert("soon".into(), 1.0);
        file.overdue.weights.insert("urgent".into(), 0.0);
        let fields: Vec<String> = file.check().0.into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            [
                "urge.points",
                "grade.good",
                "overdue.weights.soon",
                "overdue.weights.urgent"
            ]
        );
        let typo = DEFAULT.replace("[urge]", "[urges]");
        assert!(toml::from_str::<RuleFile>(&typo).is_err());
    }

    #[test]
    fn periods() {
        let p = Period::parse("2026-10").unwrap();
        assert_eq!(
            (p.kind, p.start, p.end, p.key()),
            (PeriodKind::Month, d(2026, 10, 1), d(2026, 10, 31), "2026-10".into())
        );
        let q = Period::parse("2026-Q4").unwrap();
        assert_eq!(
            (q.start, q.end, q.label_zh()),
            (d(2026, 10, 1), d(2026, 12, 31), "2026年第4季度".into())
        );
        let feb = Period::parse("2024-02").unwrap();
        assert_eq!(feb.end, d(2024, 2, 29));
        let y = Period::parse("2026").unwrap();
        assert_eq!(
            (y.kind, y.end, y.key()),
            (PeriodKind::Year, d(2026, 12, 31), "2026".into())
        );
        for bad in [
            "", "2026-13", "2026-1", "2026-Q5", "26-10", "1999", "2026/10", "2026-Q0",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
    }

    /// Deploy due 10-08 (Thu), met 10-13 10:00: overdue 10-09, 10-10 (the
    /// make-up Saturday), 10-12, 10-13 = 4 working days, 10-11 (Sunday) not.
    /// General: 4 × -0.5 = -2.00; urgent weighs 2: -4.00.
    #[test]
    fn overdue_milestone_met_late() {
        for (urgency, points) in [("general", -200), ("urgent", -400), ("fixed_deadline", -300)] {
            let mut a = A::new(
                1,
                urgency,
                [
                    ("deploy", d(2026, 10, 8)),
                    ("initial", d(2026, 11, 10)),
                    ("resolve", d(2026, 11, 15)),
                ],
            );
            let assigned = a.event(1, "assignment.assigned", at(2026, 9, 30, 10));
            a.meet("deploy", Some(at(2026, 10, 13, 10))).state("acknowledged");
            let ack = a.event(2, "assignment.acknowledged", at(2026, 10, 13, 10));
            assert_eq!(
                card(&[assigned, ack], "2026-10", d(2026, 10, 31), 1),
                [(Overdue, points, 4, false, 2)],
                "{urgency}"
            );
        }
    }

    /// Resolve due 10-15 and never met: by 10-31 it is 11 working days late
    /// (10-16, 10-19…23, 10-26…30): -5.50, provisional, named by the
    /// assignment event; on 10-20 only 3 (10-16, 10-19, 10-20): -1.50. Deploy
    /// and initial were met on time and cost nothing.
    #[test]
    fn overdue_milestone_still_open() {
        let mut a = A::general(1);
        let assigned = a.event(1, "assignment.assigned", at(2026, 9, 30, 10));
        a.meet("deploy", Some(at(2026, 10, 8, 9))).state("acknowledged");
        let ack = a.event(2, "assignment.acknowledged", at(2026, 10, 8, 9));
        a.meet("initial", Some(at(2026, 10, 9, 9))).state("in_progress");
        let initial = a.event(3, "assignment.feedback", at(2026, 10, 9, 9));
        let events = [assigned, ack, initial];
        assert_eq!(
            card(&events, "2026-10", d(2026, 10, 31), 1),
            [(Overdue, -550, 11, true, 1)]
        );
        assert_eq!(
            card(&events, "2026-10", d(2026, 10, 20), 1),
            [(Overdue, -150, 3, true, 1)]
        );
        assert_eq!(card(&events, "2026-09", d(2026, 9, 30), 1), []);
    }

    /// Resolve due 10-28, met 11-04: October counts 10-29, 10-30 (2 days),
    /// November 11-02…04 (3 days); the quarter all 5.
    #[test]
    fn overdue_days_fall_in_the_period_they_elapse_in() {
        let mut a = A::new(
            1,
            "general",
            [
                ("deploy", d(2026, 10, 8)),
                ("initial", d(2026, 10, 10)),
                ("resolve", d(2026, 10, 28)),
            ],
        );
        a.meet("deploy", Some(at(2026, 10, 8, 9)))
            .meet("initial", Some(at(2026, 10, 9, 9)));
        let assigned = a.event(1, "assignment.assigned", at(2026, 9, 30, 10));
        a.meet("resolve", Some(at(2026, 11, 4, 16)))
            .state("completion_reported");
        let done = a.event(2, "assignment.completion_reported", at(2026, 11, 4, 16));
        let events = [assigned, done];
        assert_eq!(
            card(&events, "2026-10", d(2026, 10, 31), 1),
            [(Overdue, -100, 2, false, 2)]
        );
        assert_eq!(
            card(&events, "2026-11", d(2026, 11, 30), 1),
            [(Overdue, -150, 3, false, 2)]
        );
        assert_eq!(
            card(&events, "2026-Q4", d(2026, 12, 31), 1),
            [(Overdue, -250, 5, false, 2)]
        );
    }

    /// Resolve due 10-15, reported 10-20 (3 days late: 10-16, 10-19, 10-20),
    /// returned 10-22 (-2), reported again 10-27: the count restarts after
    /// the return (10-23, 10-26, 10-27: 3 more), never counting 10-21/22,
    /// which were the office's.
    #[test]
    fn returned_report_and_rework() {
        let mut a = A::general(1);
        a.meet("deploy", Some(at(2026, 10, 8, 9)))
            .meet("initial", Some(at(2026, 10, 9, 9)));
        let e1 = a.event(1, "assignment.assigned", at(2026, 9, 30, 10));
        a.meet("resolve", Some(at(2026, 10, 20, 9)))
            .state("completion_reported");
        let e2 = a.event(2, "assignment.completion_reported", at(2026, 10, 20, 9));
        a.meet("resolve", None).state("returned");
        let e3 = a.event(3, "assignment.returned", at(2026, 10, 22, 15));
        a.meet("resolve", Some(at(2026, 10, 27, 9)))
            .state("completion_reported");
        let e4 = a.event(4, "assignment.completion_reported", at(2026, 10, 27, 9));
        assert_eq!(
            card(&[e1, e2, e3, e4], "2026-10", d(2026, 10, 31), 1),
            [
                (Overdue, -150, 3, false, 2),
                (Returned, -200, 1, false, 3),
                (Overdue, -150, 3, false, 4)
            ]
        );
    }

    /// Urge 1 (automatic, -1), urge 2 (manual: its event carries only the
    /// summary, so it is the next number, -1), urge 2 judged justified (+1),
    /// then unjustified after all (-1), judged justified twice counts once.
    #[test]
    fn urges_and_justified_answers() {
        let a = A::not_due(1);
        let e1 = a.event(1, "assignment.assigned", at(2026, 10, 8, 10));
        let auto = Detail::Urged {
            seq: Some(1),
            kind: "automatic".into(),
        };
        let e2 = a.bare(2, "assignment.urged", at(2026, 10, 9, 0), auto);
        let e3 = a.event(3, "assignment.urged", at(2026, 10, 12, 9));
        let judged = |justified| Detail::Judged { seq: 2, justified };
        let e4 = a.bare(4, "assignment.urge_judged", at(2026, 10, 14, 9), judged(true));
        let e5 = a.bare(5, "assignment.urge_judged", at(2026, 10, 15, 9), judged(true));
        let e6 = a.bare(6, "assignment.urge_judged", at(2026, 10, 16, 9), judged(false));
        assert_eq!(
            card(&[e1, e2, e3, e4, e5, e6], "2026-10", d(2026, 10, 31), 1),
            [
                (Urge, -100, 1, false, 2),
                (Urge, -100, 1, false, 3),
                (UrgeJustified, 100, 1, false, 4),
                (UrgeJustified, -100, 1, false, 6)
            ]
        );
    }

    #[test]
    fn criticism() {
        let a = A::not_due(1);
        let e1 = a.event(1, "assignment.assigned", at(2026, 10, 8, 10));
        let flag = Detail::Flagged {
            reason: "经催办2次无正当理由未按要求办理".into(),
        };
        let e2 = a.bare(2, "assignment.flagged", at(2026, 10, 12, 9), flag);
        assert_eq!(
            card(&[e1, e2], "2026-10", d(2026, 10, 31), 1),
            [(Criticism, -500, 1, false, 2)]
        );
    }

    /// Round 1 went to units 11 and 12, failed re-inspection: each -5; round
    /// 2's assignment (unit 13, made by the same failure) is not charged.
    #[test]
    fn failed_reinspection_charges_every_unit_of_the_round() {
        let mut events = Vec::new();
        for n in [1, 2] {
            let mut a = A::new(
                n,
                "general",
                [
                    ("deploy", d(2026, 10, 8)),
                    ("initial", d(2026, 10, 10)),
                    ("resolve", d(2026, 10, 30)),
                ],
            );
            a.meet("deploy", Some(at(2026, 10, 8, 9)))
                .meet("initial", Some(at(2026, 10, 9, 9)))
                .meet("resolve", Some(at(2026, 10, 12, 9)))
                .state("verified");
            events.push(a.event(n as i64, "assignment.assigned", at(2026, 9, 30, 10)));
        }
        let mut next = A::general(3);
        next.s.round = 2;
        events.push(Event {
            id: 10,
            event_type: "item.reinspection_failed".into(),
            subject_id: id(ITEM),
            occurred_at: at(2026, 10, 20, 9),
            summary: None,
            detail: Detail::ReinspectionFailed { round: 1 },
        });
        events.push(next.event(11, "assignment.assigned", at(2026, 10, 20, 9)));
        for n in [1, 2] {
            assert_eq!(
                card(&events, "2026-10", d(2026, 10, 31), n),
                [(ReinspectionFailed, -500, 1, false, 10)]
            );
        }
        assert_eq!(card(&events, "2026-10", d(2026, 10, 20), 3), []);
    }

    /// Reported 10-12, due 10-15: 3 working days early (10-13…15): +0.60;
    /// graded excellent +3. Due 10-30 instead: 14 days early, capped at 5:
    /// +1.00; graded pass: nothing, and no zero line.
    #[test]
    fn early_completion_and_grades() {
        for (due, grade, lines) in [
            (
                d(2026, 10, 15),
                "excellent",
                vec![(Early, 60, 3, false, 3), (Grade, 300, 1, false, 3)],
            ),
            (
                d(2026, 10, 30),
                "good",
                vec![(Early, 100, 5, false, 3), (Grade, 100, 1, false, 3)],
            ),
            (d(2026, 10, 30), "pass", vec![(Early, 100, 5, false, 3)]),
            (d(2026, 10, 12), "good", vec![(Grade, 100, 1, false, 3)]),
        ] {
            let mut a = A::new(
                1,
                "general",
                [
                    ("deploy", d(2026, 10, 8)),
                    ("initial", d(2026, 10, 10)),
                    ("resolve", due),
                ],
            );
            a.meet("deploy", Some(at(2026, 10, 8, 9)))
                .meet("initial", Some(at(2026, 10, 9, 9)));
            let e1 = a.event(1, "assignment.assigned", at(2026, 9, 30, 10));
            a.meet("resolve", Some(at(2026, 10, 12, 9)))
                .state("completion_reported");
            let e2 = a.event(2, "assignment.completion_reported", at(2026, 10, 12, 9));
            a.state("verified").s.grade = Some(grade.into());
            let e3 = a.event(3, "assignment.verified", at(2026, 10, 14, 9));
            assert_eq!(
                card(&[e1, e2, e3], "2026-10", d(2026, 10, 31), 1),
                lines,
                "{grade} {due}"
            );
        }
    }

    /// Deploy due 10-08, suspended 10-12 (10-09, 10-10, 10-12 counted),
    /// resumed 10-19 with the deadline moved to 10-20, met 10-22 (10-21,
    /// 10-22): 5 days, none while suspended.
    #[test]
    fn no_days_count_while_suspended() {
        let mut a = A::new(
            1,
            "general",
            [
                ("deploy", d(2026, 10, 8)),
                ("initial", d(2026, 12, 10)),
                ("resolve", d(2026, 12, 15)),
            ],
        );
        let e1 = a.event(1, "assignment.assigned", at(2026, 9, 30, 10));
        a.s.suspended_at = Some(at(2026, 10, 12, 9));
        let e2 = a.event(2, "assignment.suspended", at(2026, 10, 12, 9));
        a.s.suspended_at = None;
        a.s.milestones[0].due_date = d(2026, 10, 20);
        let e3 = a.event(3, "assignment.resumed", at(2026, 10, 19, 9));
        a.meet("deploy", Some(at(2026, 10, 22, 9))).state("acknowledged");
        let e4 = a.event(4, "assignment.acknowledged", at(2026, 10, 22, 9));
        assert_eq!(
            card(&[e1, e2, e3, e4], "2026-10", d(2026, 10, 31), 1),
            [(Overdue, -150, 3, false, 2), (Overdue, -100, 2, false, 4)]
        );
    }

    /// A head and a liaison see their assignment's lines; another unit's do not.
    #[test]
    fn person_scorecards() {
        let s = A::general(1).s;
        let subject = Track::new(id(1), &s).subject;
        assert!(Whom::Person(id(21)).concerns(&subject));
        assert!(Whom::Person(id(31)).concerns(&subject));
        assert!(!Whom::Person(id(22)).concerns(&subject));
        assert!(Whom::Unit(id(11)).concerns(&subject));
    }

    #[test]
    fn competition_ranking_with_ties() {
        assert_eq!(
            rank(&[500, 300, 300, 100, 0, 0]),
            [(1, false), (2, true), (2, true), (4, false), (5, true), (5, true)]
        );
        assert_eq!(rank(&[7, 7, 7]), [(1, true), (1, true), (1, true)]);
        assert_eq!(rank(&[]), []);
    }

    #[test]
    fn points_are_written_with_sign_and_two_decimals() {
        assert_eq!(points_text(-50), "-0.50");
        assert_eq!(points_text(300), "+3.00");
        assert_eq!(points_text(-1234), "-12.34");
        assert_eq!(points_from(-0.5), -50);
        assert_eq!(points_value(-55), -0.55);
        assert_eq!(points_plain(-150), "-1.50");
        assert_eq!(points_plain(9850), "98.50");
        // No deductions: a zero negated is -0.0, which {:.2} writes -0.00.
        let none = -0.0f64;
        assert_eq!(format!("{none:.2}"), "-0.00");
        assert_eq!(points_plain(points_from(none)), "0.00");
        assert_eq!(points_plain(points_from(-0.004)), "0.00");
    }

    // ------------------------------------------------ property: batches

    /// A random but plausible history of up to three assignments of one item
    /// over October and November 2026.
    fn history(rng: &mut StdRng) -> Vec<Event> {
        let mut people: Vec<A> = (1..=3).map(A::general).collect();
        let mut born = [false; 3];
        let mut events = Vec::new();
        let mut t = at(2026, 9, 30, 9);
        let kinds = ["deploy", "initial", "resolve"];
        let states = [
            "acknowledged",
            "in_progress",
            "completion_reported",
            "returned",
            "verified",
            "closed_out",
        ];
        for eid in 1..rng.random_range(1..40) {
            t += chrono::Duration::hours(rng.random_range(1..60));
            let i = rng.random_range(0..3);
            let a = &mut people[i];
            if !born[i] {
                born[i] = true;
                events.push(a.event(eid, "assignment.assigned", t));
                continue;
            }
            let e = match rng.random_range(0..10) {
                0 => {
                    let k = kinds[rng.random_range(0..3)];
                    let met = if rng.random_bool(0.7) { Some(t) } else { None };
                    a.meet(k, met).state(states[rng.random_range(0..4)]);
                    a.event(eid, "assignment.feedback", t)
                }
                1 => {
                    a.s.suspended_at = if a.s.suspended_at.is_some() { None } else { Some(t) };
                    a.event(eid, "assignment.suspended", t)
                }
                2 => a.event(eid, "assignment.urged", t),
                3 => a.bare(
                    eid,
                    "assignment.urged",
                    t,
                    Detail::Urged {
                        seq: Some(rng.random_range(1..4)),
                        kind: "automatic".into(),
                    },
                ),
                4 => a.bare(
                    eid,
                    "assignment.urge_judged",
                    t,
                    Detail::Judged {
                        seq: rng.random_range(1..4),
                        justified: rng.random_bool(0.5),
                    },
                ),
                5 => a.bare(
                    eid,
                    "assignment.flagged",
                    t,
                    Detail::Flagged {
                        reason: "两次".into()
                    },
                ),
                6 => {
                    a.meet("resolve", None).state("returned");
                    a.event(eid, "assignment.returned", t)
                }
                7 => {
                    a.meet("resolve", Some(t)).state("verified").s.grade = Some("good".into());
                    a.event(eid, "assignment.verified", t)
                }
                8 => Event {
                    id: eid,
                    event_type: "item.reinspection_failed".into(),
                    subject_id: id(ITEM),
                    occurred_at: t,
                    summary: None,
                    detail: Detail::ReinspectionFailed { round: 1 },
                },
                _ => {
                    let moved = BTreeMap::from([(kinds[rng.random_range(0..3)].to_owned(), t.date_naive())]);
                    a.bare(eid, "assignment.deadlines_recomputed", t, Detail::Deadlines(moved))
                }
            };
            events.push(e);
        }
        events
    }

    /// Folding a history in any split into batches, with the tracks stored
    /// and read back (as JSON, as the store keeps them) between batches,
    /// gives the same facts and tracks as folding it at once; and a quarter
    /// scores exactly the sum of its months.
    #[test]
    fn folding_in_batches_equals_folding_at_once() {
        let mut rng = StdRng::seed_from_u64(20261031);
        let calendar = shipped();
        let rules = rules();
        for case in 0..500 {
            let events = history(&mut rng);
            let (whole_tracks, whole_facts) = fold_all(&events);
            let mut tracks = Tracks::new();
            let mut facts = Vec::new();
            let mut rest = &events[..];
            while !rest.is_empty() {
                let n = rng.random_range(1..=rest.len());
                let stored = serde_json::to_string(&tracks).unwrap();
                tracks = serde_json::from_str(&stored).unwrap();
                for e in &rest[..n] {
                    let out = fold(&mut tracks, e, &court());
                    let stored = serde_json::to_string(&out).unwrap();
                    facts.extend(serde_json::from_str::<Vec<Fact>>(&stored).unwrap());
                }
                rest = &rest[n..];
            }
            assert_eq!(facts, whole_facts, "case {case}");
            assert_eq!(tracks, whole_tracks, "case {case}");

            let as_of = d(2026, 12, 31);
            let open = open_spans(&tracks, as_of);
            let total = |p: &str| -> Points {
                score(&facts, &open, &rules, &Period::parse(p).unwrap(), as_of, &calendar)
                    .unwrap()
                    .iter()
                    .map(|l| l.points)
                    .sum()
            };
            let by_days = |p: &str| -> i64 {
                score(&facts, &open, &rules, &Period::parse(p).unwrap(), as_of, &calendar)
                    .unwrap()
                    .iter()
                    .filter(|l| l.rule == Overdue)
                    .map(|l| l.quantity)
                    .sum()
            };
            assert_eq!(
                total("2026-Q4"),
                total("2026-10") + total("2026-11") + total("2026-12"),
                "case {case}"
            );
            assert_eq!(
                by_days("2026-Q4"),
                by_days("2026-10") + by_days("2026-11") + by_days("2026-12")
            );
        }
    }
}
