//! The figures and lists of a report, from a [`Dataset`], for a period and
//! the instant the figures are taken at. Pure: everything comes in as
//! arguments, so each figure is tested with data made by hand.
//!
//! The counting unit is the assignment (交办事项, one per unit and item):
//! an item assigned to a lead and two co-units counts three times in the
//! unit table, once per unit, which is what each unit is answerable for.

use crate::model::{Assignment, CountRow, Dataset, Item, Line, Milestone, Unit};
use chrono::{DateTime, NaiveDate, Utc};
use duban_core::calendar::Calendar;
use duban_core::item::{SourceKind, UrgencyClass};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// A half-open span of time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

/// A dataset with its indexes, the period and the instant of the figures.
pub struct Frame<'a> {
    pub data: &'a Dataset,
    pub calendar: &'a Calendar,
    pub tz: chrono_tz::Tz,
    pub window: Window,
    pub previous: Window,
    /// Figures are as at this instant: the period's end, or now if earlier.
    pub as_of: DateTime<Utc>,
    items: foldhash::HashMap<Uuid, &'a Item>,
    units: foldhash::HashMap<Uuid, &'a Unit>,
}

const NO_LEADER: &str = "未明确分管院领导";

impl<'a> Frame<'a> {
    pub fn new(
        data: &'a Dataset,
        calendar: &'a Calendar,
        tz: chrono_tz::Tz,
        window: Window,
        previous: Window,
        as_of: DateTime<Utc>,
    ) -> Self {
        Self {
            data,
            calendar,
            tz,
            window,
            previous,
            as_of,
            items: data.items.iter().map(|i| (i.id, i)).collect(),
            units: data.units.iter().map(|u| (u.id, u)).collect(),
        }
    }

    pub fn item(&self, a: &Assignment) -> Option<&'a Item> {
        self.items.get(&a.item_id).copied()
    }

    pub fn unit(&self, id: Uuid) -> Option<&'a Unit> {
        self.units.get(&id).copied()
    }

    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Assignments that belong in a report of the window: assigned by its
    /// end and not finished before it began.
    pub fn relevant(&self, w: &Window) -> impl Iterator<Item = &'a Assignment> + '_ {
        let end = self.as_of.min(w.end);
        let start = w.start;
        self.data
            .assignments
            .iter()
            .filter(move |a| a.assigned_at < end && a.completed_at().is_none_or(|c| c >= start))
    }

    /// The open assignments at `as_of`.
    pub fn open(&self) -> impl Iterator<Item = &'a Assignment> + '_ {
        self.data.assignments.iter().filter(|a| a.open_at(self.as_of))
    }

    /// The overdue assignments at `as_of`, with the milestone missed.
    pub fn overdue(&self) -> impl Iterator<Item = (&'a Assignment, &'a Milestone)> + '_ {
        self.data
            .assignments
            .iter()
            .filter_map(|a| a.missed_at(self.as_of).map(|m| (a, m)))
    }

    /// Working days past `m`'s last day at `as_of` (calendar days where the
    /// calendar has no data).
    pub fn days_overdue(&self, m: &Milestone) -> i64 {
        let today = self.local_date(self.as_of);
        match self.calendar.working_days_between(m.due_date, today) {
            Ok(n) => i64::from(n),
            Err(_) => (today - m.due_date).num_days(),
        }
    }

    pub fn count(&self, assignments: &[&Assignment], w: &Window) -> CountRow {
        let end = self.as_of.min(w.end);
        let mut row = CountRow::default();
        for a in assignments {
            if w.contains(a.assigned_at) && a.assigned_at < end {
                row.new += 1;
            }
            if let Some(done) = a.completed_at() {
                if w.contains(done) && done < end {
                    row.completed += 1;
                    if a.on_time() {
                        row.on_time += 1;
                    }
                }
            }
            if a.open_at(end) {
                row.open += 1;
                if a.missed_at(end).is_some() {
                    row.overdue += 1;
                }
            }
        }
        row.rate = rate(row.on_time, row.completed);
        row
    }

    /// A statistics table grouped by `key` (name, sort key), rows in sort
    /// order, with bars scaled to the table's largest figure.
    pub fn table<K: Fn(&Assignment) -> (String, (i64, String))>(&self, w: &Window, key: K) -> Vec<CountRow> {
        let mut groups: BTreeMap<(i64, String), (String, Vec<&Assignment>)> = BTreeMap::new();
        for a in self.relevant(w) {
            let (name, sort) = key(a);
            groups.entry(sort).or_insert_with(|| (name, Vec::new())).1.push(a);
        }
        let mut rows: Vec<CountRow> = groups
            .into_values()
            .map(|(name, list)| CountRow {
                name,
                ..self.count(&list, w)
            })
            .filter(|r| r.new + r.completed + r.open > 0)
            .collect();
        scale_bars(&mut rows);
        rows
    }

    /// One row per named window that has begun by `as_of` (a quarter's or
    /// year's months), with bars scaled across them: the trend.
    pub fn trend(&self, windows: impl IntoIterator<Item = (String, Window)>) -> Vec<CountRow> {
        let mut rows: Vec<CountRow> = windows
            .into_iter()
            .filter(|(_, w)| w.start < self.as_of)
            .map(|(name, w)| {
                let list: Vec<_> = self.relevant(&w).collect();
                CountRow {
                    name,
                    ..self.count(&list, &w)
                }
            })
            .collect();
        scale_bars(&mut rows);
        rows
    }

    pub fn by_unit(&self, w: &Window) -> Vec<CountRow> {
        self.table(w, |a| {
            let order = self
                .unit(a.unit_id)
                .map(|u| i64::from(u.sort_order))
                .unwrap_or(i64::MAX);
            (a.unit_name.clone(), (order, a.unit_name.clone()))
        })
    }

    pub fn by_leader(&self, w: &Window) -> Vec<CountRow> {
        self.table(w, |a| {
            let name = self.leader_of(a);
            let order = if name == NO_LEADER { 1 } else { 0 };
            (name.clone(), (order, name))
        })
    }

    pub fn by_source(&self, w: &Window) -> Vec<CountRow> {
        self.table(w, |a| {
            let kind = self.item(a).and_then(|i| SourceKind::from_code(&i.source_kind));
            let order = kind
                .and_then(|k| SourceKind::ALL.iter().position(|x| *x == k))
                .unwrap_or(99) as i64;
            (source_label(kind), (order, String::new()))
        })
    }

    pub fn by_class(&self, w: &Window) -> Vec<CountRow> {
        self.table(w, |a| {
            let class = self.item(a).and_then(|i| UrgencyClass::from_code(&i.urgency));
            let order = class
                .and_then(|k| UrgencyClass::ALL.iter().position(|x| *x == k))
                .unwrap_or(99) as i64;
            (
                class.map(UrgencyClass::label_zh).unwrap_or("未分类").to_owned(),
                (order, String::new()),
            )
        })
    }

    pub fn leader_of(&self, a: &Assignment) -> String {
        self.item(a)
            .map(|i| i.leader_name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| NO_LEADER.to_owned())
    }

    pub fn source_of(&self, a: &Assignment) -> String {
        source_label(self.item(a).and_then(|i| SourceKind::from_code(&i.source_kind)))
    }

    pub fn class_of(&self, a: &Assignment) -> String {
        self.item(a)
            .and_then(|i| UrgencyClass::from_code(&i.urgency))
            .map(UrgencyClass::label_zh)
            .unwrap_or("未分类")
            .to_owned()
    }

    /// An assignment as a report lists it, at `as_of`.
    pub fn line(&self, a: &Assignment) -> Line {
        let t = self.as_of;
        let item = self.item(a);
        let light = a.light_at(t);
        let latest = a
            .feedback
            .iter()
            .rev()
            .find(|f| f.submitted_at <= t)
            .map(|f| shorten(&f.body, 80))
            .unwrap_or_default();
        Line {
            number: item.map(|i| i.number.clone()).unwrap_or_default(),
            title: item.map(|i| i.title.clone()).unwrap_or_default(),
            unit: if a.role == "co" {
                format!("{}(协办)", a.unit_name)
            } else {
                a.unit_name.clone()
            },
            head: a.head_name.clone(),
            state: state_label(self, a, t),
            light: light.map(light_label).unwrap_or("").to_owned(),
            light_code: light.unwrap_or("").to_owned(),
            next_deadline: a
                .next_due_at(t)
                .map(|m| {
                    let mark = if m.provisional {
                        duban_core::calendar::PROVISIONAL_MARK_ZH
                    } else {
                        ""
                    };
                    format!("{} {}{mark}", milestone_label(&m.kind), month_day(m.due_date))
                })
                .unwrap_or_default(),
            latest_feedback: latest,
            note: String::new(),
        }
    }

    /// The weekly list's warning while next year's calendar is missing
    /// (from 1 November, as the assignment service warns) or any deadline
    /// still to meet rests on a year not loaded: the years, and how many
    /// deadlines are provisional (暂定). Empty when there is nothing to say.
    pub fn calendar_note(&self) -> String {
        use chrono::Datelike;
        let mut years: std::collections::BTreeSet<i32> = self.data.provisional_due.iter().map(|d| d.year()).collect();
        let provisional = self.data.provisional_due.len();
        let today = self.as_of.with_timezone(&self.tz).date_naive();
        if today.month() >= 11 && self.calendar.year(today.year() + 1).is_err() {
            years.insert(today.year() + 1);
        }
        if years.is_empty() {
            return String::new();
        }
        let years: Vec<String> = years.iter().map(|y| format!("{y}年")).collect();
        let counted = match provisional {
            0 => "涉及该年的办理时限将暂按每周一至周五工作推算并标“暂定”".to_owned(),
            n => format!("{n}个办理时限暂按每周一至周五工作推算,标“暂定”"),
        };
        format!(
            "{}工作日历尚未载入,{counted};请办公室按国务院办公厅节假日安排通知载入,载入后自动重算。",
            years.join("、")
        )
    }

    /// The red list (红灯事项): overdue at `as_of`, longest overdue first
    /// (then by number); the first `limit` as lines, and how many more.
    pub fn red_list(&self, limit: usize) -> (Vec<Line>, u32) {
        // Ties keep the assignments' order (their position breaks them).
        type Row<'r> = (i64, &'r str, usize, &'r Assignment, &'r Milestone);
        // Working days overdue, counted once per deadline date.
        let mut days: HashMap<NaiveDate, i64> = HashMap::new();
        let mut rows: Vec<Row> = self
            .overdue()
            .enumerate()
            .map(|(n, (a, m))| {
                let number = self.item(a).map(|i| i.number.as_str()).unwrap_or("");
                let days = *days.entry(m.due_date).or_insert_with(|| self.days_overdue(m));
                (-days, number, n, a, m)
            })
            .collect();
        let order = |x: &Row, y: &Row| (x.0, x.1, x.2).cmp(&(y.0, y.1, y.2));
        let more = rows.len().saturating_sub(limit);
        if more > 0 {
            rows.select_nth_unstable_by(limit, order);
            rows.truncate(limit);
        }
        rows.sort_by(order);
        let lines = rows
            .into_iter()
            .map(|(days, _, _, a, m)| {
                let urges = a.urges.iter().filter(|u| u.issued_at <= self.as_of).count();
                let mut line = self.line(a);
                line.note = format!(
                    "“{}”应于{}完成,已逾期{}个工作日{}",
                    milestone_label(&m.kind),
                    month_day(m.due_date),
                    -days,
                    if urges > 0 {
                        format!(",已催办{urges}次")
                    } else {
                        String::new()
                    }
                );
                line
            })
            .collect();
        (lines, more as u32)
    }

    /// The 通报批评 list: flagged within the window.
    pub fn criticized(&self, w: &Window) -> Vec<Line> {
        let mut list: Vec<&Assignment> = self
            .data
            .assignments
            .iter()
            .filter(|a| a.flagged_at.is_some_and(|f| w.contains(f) && f <= self.as_of))
            .collect();
        list.sort_by_key(|a| a.flagged_at);
        list.into_iter()
            .map(|a| {
                let mut line = self.line(a);
                line.note = a.flag_reason.clone();
                line
            })
            .collect()
    }

    /// Finished within `w` (the Monday list's close-outs: last week's).
    pub fn finished_in(&self, w: &Window) -> Vec<Line> {
        let mut list: Vec<&Assignment> = self
            .data
            .assignments
            .iter()
            .filter(|a| a.completed_at().is_some_and(|c| w.contains(c)))
            .collect();
        list.sort_by_key(|a| a.completed_at());
        list.into_iter()
            .map(|a| {
                let mut line = self.line(a);
                let grade = a
                    .grade
                    .as_deref()
                    .and_then(duban_core::assignment::Grade::from_code)
                    .map(|g| format!(",核查等次:{}", g.label_zh()))
                    .unwrap_or_default();
                line.note = format!(
                    "{}核查通过{grade}",
                    a.completed_at()
                        .map(|c| month_day(self.local_date(c)))
                        .unwrap_or_default()
                );
                line
            })
            .collect()
    }

    /// Every open assignment at `as_of` (of `unit` only, when given): red
    /// first, then yellow, then green, each by its next deadline.
    pub fn open_lines(&self, unit: Option<Uuid>) -> Vec<Line> {
        let mut list: Vec<&Assignment> = self.open().filter(|a| unit.is_none_or(|u| a.unit_id == u)).collect();
        let rank = |a: &Assignment| match a.light_at(self.as_of) {
            Some("red") => 0,
            Some("yellow") => 1,
            Some(_) => 2,
            None => 3,
        };
        list.sort_by_key(|a| (rank(a), a.next_due_at(self.as_of).map(|m| m.due_at), a.assigned_at));
        list.into_iter().map(|a| self.line(a)).collect()
    }

    /// A unit's open assignments with a deadline passed or due within
    /// `days` calendar days of `as_of`, and urges awaiting its answer.
    pub fn due_soon(&self, unit: Uuid, days: i64) -> Vec<Line> {
        let horizon = self.as_of + chrono::Duration::days(days);
        let mut list: Vec<(DateTime<Utc>, Line)> = Vec::new();
        for a in self.open().filter(|a| a.unit_id == unit) {
            let waiting: Vec<String> = a
                .urges
                .iter()
                .filter(|u| u.issued_at <= self.as_of && u.responded_at.is_none_or(|r| r > self.as_of))
                .map(|u| {
                    format!(
                        "第{}次催办待回复(限{}24时前)",
                        u.seq,
                        month_day(duban_core::policy::due_day(u.answer_due_at, &self.tz))
                    )
                })
                .collect();
            let next = a.next_due_at(self.as_of).filter(|m| m.due_at <= horizon);
            if next.is_none() && waiting.is_empty() {
                continue;
            }
            let mut line = self.line(a);
            let mut notes = Vec::new();
            if let Some(m) = next {
                notes.push(if m.due_at <= self.as_of {
                    format!(
                        "“{}”已于{}到期,请立即报送",
                        milestone_label(&m.kind),
                        month_day(m.due_date)
                    )
                } else {
                    format!("“{}”须于{}前完成", milestone_label(&m.kind), month_day(m.due_date))
                });
            }
            notes.extend(waiting);
            line.note = notes.join(";");
            list.push((next.map(|m| m.due_at).unwrap_or(self.as_of), line));
        }
        list.sort_by(|a, b| a.0.cmp(&b.0));
        list.into_iter().map(|(_, l)| l).collect()
    }
}

fn source_label(kind: Option<SourceKind>) -> String {
    kind.map(SourceKind::label_zh).unwrap_or("其他").to_owned()
}

/// 85.7%, or — when nothing was finished.
pub fn rate(on_time: u32, completed: u32) -> String {
    if completed == 0 {
        "—".into()
    } else {
        format!("{:.1}%", f64::from(on_time) * 100.0 / f64::from(completed))
    }
}

fn scale_bars(rows: &mut [CountRow]) {
    let max = rows.iter().map(|r| r.completed.max(r.overdue)).max().unwrap_or(0);
    if max == 0 {
        return;
    }
    for r in rows {
        r.completed_pct = r.completed * 100 / max;
        r.overdue_pct = r.overdue * 100 / max;
    }
}

pub fn light_label(code: &str) -> &'static str {
    match code {
        "red" => "红灯",
        "yellow" => "黄灯",
        "green" => "绿灯",
        _ => "",
    }
}

/// The state as the office says it at `t`: where it stood then (a past
/// week's list shows that week's states), and while suspended 已中止 with the
/// working days paused.
fn state_label(frame: &Frame, a: &Assignment, t: DateTime<Utc>) -> String {
    if a.completed_at().is_none_or(|done| done > t)
        && let Some(since) = a.suspended_at.filter(|s| *s <= t)
    {
        let paused =
            duban_core::assignment::paused_working_days(frame.calendar, frame.local_date(since), frame.local_date(t))
                .ok();
        return duban_core::assignment::suspended_label_zh(paused);
    }
    match a.state_at(t) {
        Some(s) => s.label_zh().to_owned(),
        None => a.state.clone(),
    }
}

pub fn milestone_label(kind: &str) -> String {
    if let Some(m) = duban_core::policy::MilestoneKind::from_code(kind) {
        return m.label_zh().to_owned();
    }
    if let Some(n) = kind.strip_prefix("plan.") {
        return format!("推进计划第{n}步");
    }
    if kind.starts_with("stage.") {
        return "阶段性报告".to_owned();
    }
    kind.to_owned()
}

/// 10月16日
pub fn month_day(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}月{}日", d.month(), d.day())
}

/// At most `n` characters, with an ellipsis when cut.
pub fn shorten(s: &str, n: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use crate::figures::Window;
    use crate::testing::{Court, ZXJ, d, t};

    #[test]
    fn the_calendar_note_counts_provisional_deadlines() {
        let mut court = Court::new();
        let item = court.item("督〔2026〕1号", "孙立军", t(12, 1, 9));
        court.assign(item, ZXJ, t(12, 25, 10), d(2027, 1, 25));
        court.data.provisional_due = vec![d(2027, 1, 25)];
        let december = Window {
            start: t(12, 1, 0),
            end: t(12, 28, 9),
        };
        // By hand: 2027 is not loaded (the test calendar has 2026 only), one
        // open deadline rests on it.
        let note = court.frame(december).calendar_note();
        assert!(note.starts_with("2027年工作日历尚未载入,1个办理时限暂按"), "{note}");
        // Before 1 November with nothing provisional: nothing to say.
        court.data.provisional_due.clear();
        let october = Window {
            start: t(10, 1, 0),
            end: t(10, 31, 12),
        };
        assert_eq!(court.frame(october).calendar_note(), "");
        // From 1 November the missing year is named before any deadline rests on it.
        let note = court.frame(december).calendar_note();
        assert!(
            note.starts_with("2027年工作日历尚未载入,涉及该年的办理时限将暂按"),
            "{note}"
        );
    }
}
