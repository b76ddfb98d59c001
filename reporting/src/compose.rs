//! What each kind of report says, in the office's own form: title, number,
//! issuing office and date, then its figures, lists and analysis.

use crate::analysis;
use crate::figures::{Frame, Window, light_label, milestone_label};
use crate::model::{Assignment, CountRow, Doc, Finding, Lights, RankGroup, Unit};
use crate::period::{Period, ReportKind, date_zh};
use crate::rules::Rules;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

/// Court-local midnight at the start of `d`.
pub fn local_midnight(d: NaiveDate, tz: &chrono_tz::Tz) -> DateTime<Utc> {
    tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
}

fn span(p: Period, tz: &chrono_tz::Tz) -> Window {
    Window {
        start: local_midnight(p.start(), tz),
        end: local_midnight(p.end_exclusive(), tz),
    }
}

/// The window a report counts over and the one before it: a bulletin's
/// period; the weekly list's last week (its close-outs); the Friday
/// reminder's own week.
pub fn windows(kind: ReportKind, period: Period, tz: &chrono_tz::Tz) -> (Window, Window) {
    match kind {
        ReportKind::Weekly => (span(period.previous(), tz), span(period.previous().previous(), tz)),
        _ => (span(period, tz), span(period.previous(), tz)),
    }
}

/// The instant a report's figures are taken at when issued on time: a
/// bulletin's period end; the weekly list's and reminder's issue time.
pub fn natural_as_of(
    kind: ReportKind,
    period: Period,
    due: Option<DateTime<Utc>>,
    tz: &chrono_tz::Tz,
) -> DateTime<Utc> {
    match kind {
        ReportKind::Weekly => {
            due.unwrap_or_else(|| local_midnight(period.start(), tz) + Duration::minutes(8 * 60 + 30))
        }
        ReportKind::Friday => due
            .unwrap_or_else(|| local_midnight(period.start() + Duration::days(4), tz) + Duration::minutes(8 * 60 + 30)),
        _ => span(period, tz).end,
    }
}

/// Title and number (通报编号) of a report.
pub fn heading(kind: ReportKind, period: Period, court: &str, unit: Option<&Unit>) -> (String, String) {
    let (year, n) = (period.year(), period.issue());
    match kind {
        ReportKind::Monthly => (
            format!("{court}督查督办工作通报({year}年第{n}期)"),
            format!("督通〔{year}〕{n}号"),
        ),
        ReportKind::Quarterly => (
            format!("{court}督查督办工作通报({})", period.label_zh()),
            format!("督季通〔{year}〕{n}号"),
        ),
        ReportKind::Annual => (
            format!("{court}{year}年度督查督办工作通报"),
            format!("督年通〔{year}〕1号"),
        ),
        ReportKind::Weekly => (
            format!("{court}督查督办事项进展列表({year}年第{n}周)"),
            format!("督周〔{year}〕{n}号"),
        ),
        ReportKind::Friday => (
            format!(
                "{}督办事项周五对接提醒({year}年第{n}周)",
                unit.map(|u| u.name.as_str()).unwrap_or("")
            ),
            format!("{year}年第{n}周"),
        ),
    }
}

/// A corrected reissue (更正) of a numbered report already issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// 1 for the first correction, 2 for a correction of that, …
    pub n: i32,
    /// The 文号 and issue date of the report it replaces.
    pub replaces_number: String,
    pub replaces_issued_on: NaiveDate,
    pub reason: String,
}

impl Correction {
    /// The corrected reissue's own 文号: the report's, marked.
    pub fn number(&self, base: &str) -> String {
        match self.n {
            1 => format!("{base}(更正)"),
            n => format!("{base}(第{n}次更正)"),
        }
    }

    /// Marks a composed report as this correction: its number, subject and
    /// the line naming the report it replaces.
    pub fn mark(&self, doc: &mut Doc) {
        doc.number = self.number(&doc.number);
        doc.subject = format!("{}(更正)", doc.subject);
        doc.correction_note = format!(
            "本期{}更正重发,替代{}印发的{},原件作废。更正原因:{}",
            doc.kind_label,
            date_zh(self.replaces_issued_on),
            self.replaces_number,
            self.reason.trim()
        );
    }
}

/// How many lines a bulletin's long lists show (`[reporting]`
/// `red_list_limit`, `finding_list_limit`); every figure counts them all,
/// and the attached ledger lists every assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    pub red_list: usize,
    pub finding: usize,
}

impl ListLimits {
    pub fn from_settings(s: &duban_platform::configuration::ReportingSettings) -> Self {
        Self {
            red_list: s.red_list_limit.max(1),
            finding: s.finding_list_limit.max(1),
        }
    }
}

impl Default for ListLimits {
    fn default() -> Self {
        Self::from_settings(&Default::default())
    }
}

/// Everything a report needs besides the frame.
pub struct Issue<'a> {
    pub kind: ReportKind,
    pub period: Period,
    /// The date printed under the issuing office.
    pub issued_on: NaiveDate,
    /// The Friday reminder's unit.
    pub unit: Option<&'a Unit>,
    pub ranking: Option<Vec<RankGroup>>,
    pub limits: ListLimits,
    /// A bulletin's findings when already found (for its ledger); else
    /// they are found here.
    pub findings: Option<Vec<Finding>>,
}

pub fn compose(issue: Issue<'_>, frame: &Frame, rules: &Rules) -> Doc {
    let court = frame.data.court.name.clone();
    let (title, number) = heading(issue.kind, issue.period, &court, issue.unit);
    let mut doc = Doc {
        kind: issue.kind.code().to_owned(),
        kind_label: issue.kind.label_zh().to_owned(),
        period: issue.period.to_string(),
        period_label: issue.period.label_zh(),
        issuer: format!("{court}办公室"),
        court_name: court,
        subject: title.clone(),
        title,
        number,
        date_label: date_zh(issue.issued_on),
        as_of_label: frame.as_of_label(),
        ..Doc::default()
    };
    match issue.kind {
        ReportKind::Monthly | ReportKind::Quarterly | ReportKind::Annual => {
            let all: Vec<_> = frame.relevant(&frame.window).collect();
            doc.totals = CountRow {
                name: "合计".into(),
                ..frame.count(&all, &frame.window)
            };
            let before: Vec<_> = frame.relevant(&frame.previous).collect();
            doc.previous_totals = Some(frame.count(&before, &frame.previous));
            if issue.kind != ReportKind::Monthly {
                doc.trend = frame.trend(
                    issue
                        .period
                        .months()
                        .into_iter()
                        .map(|m| (format!("{}月", m.issue()), span(m, &frame.tz))),
                );
            }
            doc.by_unit = frame.by_unit(&frame.window);
            doc.by_leader = frame.by_leader(&frame.window);
            doc.by_source = frame.by_source(&frame.window);
            doc.by_class = frame.by_class(&frame.window);
            (doc.red_list, doc.red_more) = frame.red_list(issue.limits.red_list);
            doc.criticized = frame.criticized(&frame.window);
            doc.findings = issue
                .findings
                .unwrap_or_else(|| analysis::analyse(frame, rules, issue.limits.finding));
            doc.ranking = issue.ranking;
        }
        ReportKind::Weekly => {
            doc.open_items = frame.open_lines(None);
            doc.closeouts = frame.finished_in(&frame.window);
            doc.calendar_note = frame.calendar_note();
            fill_open(&mut doc, frame, None);
        }
        ReportKind::Friday => {
            let unit = issue.unit.map(|u| u.id);
            if let Some(u) = issue.unit {
                doc.recipient_unit = u.name.clone();
                doc.recipient_name = u.liaison_name.clone();
            }
            doc.open_items = frame.open_lines(unit);
            doc.due_soon = unit.map(|u| frame.due_soon(u, 7)).unwrap_or_default();
            fill_open(&mut doc, frame, unit);
        }
    }
    for l in &mut doc.open_items {
        if l.note.is_empty() {
            l.note = l.head.clone();
        }
    }
    doc
}

fn fill_open(doc: &mut Doc, frame: &Frame, unit: Option<uuid::Uuid>) {
    let mut lights = Lights::default();
    let mut open = 0;
    for a in frame.open().filter(|a| unit.is_none_or(|u| a.unit_id == u)) {
        open += 1;
        match a.light_at(frame.as_of) {
            Some("red") => lights.red += 1,
            Some("yellow") => lights.yellow += 1,
            Some(_) => lights.green += 1,
            None => {}
        }
    }
    doc.totals = CountRow {
        name: "合计".into(),
        open,
        overdue: lights.red,
        ..CountRow::default()
    };
    doc.lights = lights;
}

/// One row of the period's ledger (the .xlsx attachment of a bulletin).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerRow {
    pub number: String,
    pub title: String,
    pub source: String,
    pub class: String,
    pub unit: String,
    pub head: String,
    pub leader: String,
    pub assigned_on: Option<NaiveDate>,
    pub due_on: Option<NaiveDate>,
    pub state: String,
    pub light: String,
    pub completed_on: Option<NaiveDate>,
    pub on_time: String,
    pub urges: u32,
    pub latest_feedback: String,
    /// The findings of the issue analysis that name it.
    pub findings: String,
}

/// The assignments a bulletin counts over, as ledger rows, made one at a
/// time as they are written; each names the `findings` behind it.
pub fn ledger<'f>(frame: &'f Frame, findings: &'f [Finding]) -> impl ExactSizeIterator<Item = LedgerRow> + 'f {
    let mut list: Vec<(Option<&str>, &Assignment)> = frame
        .relevant(&frame.window)
        .map(|a| (frame.item(a).map(|i| i.number.as_str()), a))
        .collect();
    list.sort_by(|x, y| (x.0, x.1.assigned_at).cmp(&(y.0, y.1.assigned_at)));
    let mut named: foldhash::HashMap<Uuid, Vec<&str>> = Default::default();
    for f in findings {
        for id in &f.assignments {
            named.entry(*id).or_default().push(&f.title);
        }
    }
    list.into_iter().map(move |(_, a)| {
        let line = frame.line(a);
        let done = a.completed_at().filter(|c| *c <= frame.as_of);
        LedgerRow {
            number: line.number,
            title: line.title,
            source: frame.source_of(a),
            class: frame.class_of(a),
            unit: line.unit,
            head: a.head_name.clone(),
            leader: frame.leader_of(a),
            assigned_on: Some(frame.local_date(a.assigned_at)),
            due_on: duban_core::plan::resolution_deadline(a.milestones.iter().map(|m| (&m.kind, m.due_date))),
            state: line.state,
            light: light_label(&line.light_code).to_owned(),
            completed_on: done.map(|c| frame.local_date(c)),
            on_time: match done {
                Some(_) if a.on_time() => "是".into(),
                Some(_) => "否".into(),
                None => a
                    .missed_at(frame.as_of)
                    .map(|m| format!("逾期({})", milestone_label(&m.kind)))
                    .unwrap_or_default(),
            },
            urges: a.urges.iter().filter(|u| u.issued_at <= frame.as_of).count() as u32,
            latest_feedback: line.latest_feedback,
            findings: named.get(&a.id).map(|t| t.join("、")).unwrap_or_default(),
        }
    })
}
