//! The issue analysis (问题分析) of a bulletin: the seed's named failures,
//! found in the data rather than written by hand. Each finding names the
//! assignments behind it and the countermeasure of the rule table.
//!
//! - overdue concentration by unit, supervising leader, source and class;
//! - delay reason categories in the period, against the previous period;
//! - 进展虚化: a progress report that repeats the previous one (by text
//!   similarity), or progress figures unchanged for weeks;
//! - assignments finished without a recorded verification;
//! - repeated urges;
//! - sources whose registered items were never assigned ("发文了就是部署了").
//!
//! Pure functions of a [`Frame`] and the [`Rules`]. Every count is over all
//! the assignments found; each finding lists the first `limit` of them.

use crate::figures::{Frame, Window, month_day, shorten};
use crate::model::{Assignment, Feedback, Figure, Finding, Item, Line, Milestone};
use crate::rules::Rules;
use chrono::{DateTime, Duration, Utc};
use duban_core::assignment::DelayReason;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

pub fn analyse(frame: &Frame, rules: &Rules, limit: usize) -> Vec<Finding> {
    [
        overdue_concentration(frame, rules, limit),
        delay_reasons(frame, rules, limit),
        hollow_progress(frame, rules, limit),
        closed_unverified(frame, rules, limit),
        repeated_urges(frame, rules, limit),
        unassigned_sources(frame, rules, limit),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The assignments behind a finding: the first `limit` as lines, and all
/// of them by id.
struct Listed {
    lines: Vec<Line>,
    more: u32,
    assignments: Vec<Uuid>,
}

impl Listed {
    /// `all` in order, each with its assignment; a line is made only for
    /// the first `limit`.
    fn new<'a, T>(
        all: impl IntoIterator<Item = (&'a Assignment, T)>,
        limit: usize,
        mut line: impl FnMut(&'a Assignment, T) -> Line,
    ) -> Self {
        let mut listed = Listed {
            lines: Vec::new(),
            more: 0,
            assignments: Vec::new(),
        };
        for (a, extra) in all {
            if listed.lines.len() < limit {
                listed.lines.push(line(a, extra));
            } else {
                listed.more += 1;
            }
            listed.assignments.push(a.id);
        }
        listed
    }

    fn count(&self) -> usize {
        self.assignments.len()
    }
}

fn finding(rules: &Rules, code: &str, summary: String, details: Vec<String>, listed: Listed) -> Finding {
    Finding {
        code: code.to_owned(),
        title: rules.title(code),
        summary,
        details,
        items: listed.lines,
        more: listed.more,
        countermeasure: rules.countermeasure(code),
        assignments: listed.assignments,
    }
}

fn percent(part: usize, whole: usize) -> String {
    format!("{:.1}%", part as f64 * 100.0 / whole.max(1) as f64)
}

/// Overdue assignments concentrated in a unit, under a leader, from a
/// source or of a class.
pub fn overdue_concentration(frame: &Frame, rules: &Rules, limit: usize) -> Option<Finding> {
    const CODE: &str = "overdue_concentration";
    let min_count = rules.param(CODE, "min_count", 2.0).max(1.0) as usize;
    let min_share = rules.param(CODE, "min_share", 0.3);
    let overdue: Vec<(&Assignment, &Milestone)> = frame.overdue().collect();
    let n = overdue.len();
    if n == 0 {
        return None;
    }
    type Key<'f> = Box<dyn Fn(&Assignment) -> String + 'f>;
    let dimensions: [(&str, Key); 4] = [
        ("承办单位", Box::new(|a: &Assignment| a.unit_name.clone())),
        ("分管院领导", Box::new(|a: &Assignment| frame.leader_of(a))),
        ("督办来源", Box::new(|a: &Assignment| frame.source_of(a))),
        ("事项类别", Box::new(|a: &Assignment| frame.class_of(a))),
    ];
    let mut details = Vec::new();
    // Each bullet counts its group's items; the list under the finding is
    // every item some bullet counts, each saying which groups it is in.
    let mut groups_of: foldhash::HashMap<Uuid, Vec<String>> = Default::default();
    for (dimension, key) in &dimensions {
        let mut groups: BTreeMap<String, Vec<&Assignment>> = BTreeMap::new();
        for (a, _) in &overdue {
            groups.entry(key(a)).or_default().push(a);
        }
        let mut hot: Vec<(String, Vec<&Assignment>)> = groups
            .into_iter()
            .filter(|(_, list)| list.len() >= min_count && list.len() as f64 / n as f64 >= min_share)
            .collect();
        hot.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        for (name, list) in hot {
            details.push(format!(
                "按{dimension}:{name}逾期{}件,占全部逾期事项的{}",
                list.len(),
                percent(list.len(), n)
            ));
            for a in list {
                groups_of.entry(a.id).or_default().push(name.clone());
            }
        }
    }
    if details.is_empty() {
        return None;
    }
    let listed = Listed::new(
        overdue
            .iter()
            .filter_map(|(a, m)| groups_of.get(&a.id).map(|g| (*a, (*m, g)))),
        limit,
        |a, (m, groups)| {
            let mut line = frame.line(a);
            line.note = format!(
                "“{}”逾期{}个工作日(计入:{})",
                crate::figures::milestone_label(&m.kind),
                frame.days_overdue(m),
                groups.join("、")
            );
            line
        },
    );
    let concentrated = listed.count();
    let summary = if concentrated < n {
        format!(
            "截至{},在办逾期事项共{n}件,其中{concentrated}件相对集中于以下方面:",
            frame.as_of_label()
        )
    } else {
        format!("截至{},在办逾期事项共{n}件,相对集中于以下方面:", frame.as_of_label())
    };
    Some(finding(rules, CODE, summary, details, listed))
}

fn is_delay(f: &Feedback) -> bool {
    f.kind == "delay_explanation"
}

fn reason_label(f: &Feedback) -> &'static str {
    f.reason
        .as_deref()
        .and_then(DelayReason::from_code)
        .map(DelayReason::label_zh)
        .unwrap_or(DelayReason::Other.label_zh())
}

/// Delay explanations by reason category, this period against the last.
pub fn delay_reasons(frame: &Frame, rules: &Rules, limit: usize) -> Option<Finding> {
    const CODE: &str = "delay_reasons";
    let min_count = rules.param(CODE, "min_count", 1.0).max(1.0) as usize;
    let mut current: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut previous: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut explained: Vec<&Assignment> = Vec::new();
    for a in &frame.data.assignments {
        let mut here = false;
        for f in a
            .feedback
            .iter()
            .filter(|f| is_delay(f) && f.submitted_at <= frame.as_of)
        {
            if frame.window.contains(f.submitted_at) {
                *current.entry(reason_label(f)).or_default() += 1;
                here = true;
            } else if frame.previous.contains(f.submitted_at) {
                *previous.entry(reason_label(f)).or_default() += 1;
            }
        }
        if here {
            explained.push(a);
        }
    }
    let total: usize = current.values().sum();
    if total < min_count {
        return None;
    }
    let mut categories: Vec<&'static str> = current.keys().chain(previous.keys()).copied().collect();
    categories.sort_by_key(|c| DelayReason::ALL.iter().position(|r| r.label_zh() == *c));
    categories.dedup();
    categories.sort_by(|a, b| current.get(b).unwrap_or(&0).cmp(current.get(a).unwrap_or(&0)));
    let details: Vec<String> = categories
        .iter()
        .map(|c| {
            let (now, before) = (*current.get(c).unwrap_or(&0), *previous.get(c).unwrap_or(&0));
            let trend = match now.cmp(&before) {
                std::cmp::Ordering::Greater => "上升",
                std::cmp::Ordering::Less => "下降",
                std::cmp::Ordering::Equal => "持平",
            };
            format!("{c}:本期{now}件,上期{before}件,{trend}")
        })
        .collect();
    let top = categories.first().copied().unwrap_or_default();
    let rising: Vec<&str> = categories
        .iter()
        .filter(|c| current.get(*c).unwrap_or(&0) > previous.get(*c).unwrap_or(&0))
        .copied()
        .collect();
    let mut summary = format!(
        "本期报送逾期说明{total}件(上期{}件),主要原因为“{top}”({}件)。",
        previous.values().sum::<usize>(),
        current.get(top).unwrap_or(&0)
    );
    if !rising.is_empty() {
        summary.push_str(&format!("较上期上升的原因:{}。", rising.join("、")));
    }
    let listed = Listed::new(explained.into_iter().map(|a| (a, ())), limit, |a, ()| {
        let mut line = frame.line(a);
        let reasons: Vec<&str> = a
            .feedback
            .iter()
            .filter(|f| is_delay(f) && frame.window.contains(f.submitted_at) && f.submitted_at <= frame.as_of)
            .map(reason_label)
            .collect();
        line.note = format!("逾期原因:{}", reasons.join("、"));
        line
    });
    Some(finding(rules, CODE, summary, details, listed))
}

/// Feedback that reports how far the work has got.
fn reports_progress(f: &Feedback) -> bool {
    matches!(
        f.kind.as_str(),
        "initial" | "progress" | "delay_explanation" | "stage_report" | "urge_response"
    )
}

/// How alike two texts are: the Dice coefficient of their character
/// bigrams, punctuation and spaces left out (0 unlike … 1 the same).
pub fn similarity(a: &str, b: &str) -> f64 {
    let norm = |s: &str| -> Vec<char> { s.chars().filter(|c| c.is_alphanumeric()).collect() };
    let (a, b) = (norm(a), norm(b));
    if a.len() < 2 || b.len() < 2 {
        return if a == b && !a.is_empty() { 1.0 } else { 0.0 };
    }
    let grams = |s: &[char]| -> HashMap<(char, char), usize> {
        let mut m = HashMap::new();
        for w in s.windows(2) {
            *m.entry((w[0], w[1])).or_insert(0) += 1;
        }
        m
    };
    let (ga, gb) = (grams(&a), grams(&b));
    let common: usize = ga.iter().map(|(g, n)| (*n).min(*gb.get(g).unwrap_or(&0))).sum();
    2.0 * common as f64 / ((a.len() - 1) + (b.len() - 1)) as f64
}

fn same_figures(a: &[Figure], b: &[Figure]) -> bool {
    let key = |list: &[Figure]| {
        let mut v: Vec<(String, String)> = list
            .iter()
            .map(|f| (f.what.trim().to_owned(), format!("{}", f.value)))
            .collect();
        v.sort();
        v
    };
    !a.is_empty() && key(a) == key(b)
}

fn figures_text(list: &[Figure]) -> String {
    list.iter()
        .map(|f| format!("{}{}{}", f.what, f.value, f.unit))
        .collect::<Vec<_>>()
        .join("、")
}

/// Keeps of an assignment's feedback (in submission order) only what a
/// report of `window` as at `as_of` reads, so that a province's year of
/// feedback need not be held in memory: the latest (the lines' 最新反馈),
/// the delay explanations of the window and the one before (reasons only),
/// and for 进展虚化 the latest progress report when it falls in the window,
/// the one before it, its run of unchanged figures and the report that ends
/// the run. Every finding and line comes out as from the whole list; bodies
/// and figures nothing reads are dropped.
pub fn keep_needed_feedback(list: &mut Vec<Feedback>, window: &Window, previous: &Window, as_of: DateTime<Utc>) {
    #[derive(Clone, Copy, Default)]
    struct Keep {
        it: bool,
        body: bool,
        figures: bool,
    }
    const ALL: Keep = Keep {
        it: true,
        body: true,
        figures: true,
    };
    list.retain(|f| f.submitted_at <= as_of);
    let Some(latest) = list.len().checked_sub(1) else {
        return;
    };
    let mut keep = vec![Keep::default(); list.len()];
    keep[latest] = Keep { figures: false, ..ALL };
    for (k, f) in keep.iter_mut().zip(list.iter()) {
        if is_delay(f) && (window.contains(f.submitted_at) || previous.contains(f.submitted_at)) {
            k.it = true;
        }
    }
    let progress: Vec<usize> = (0..list.len()).filter(|i| reports_progress(&list[*i])).collect();
    if let Some((&last, earlier)) = progress.split_last() {
        if window.contains(list[last].submitted_at) {
            keep[last] = ALL;
            if let Some(&prev) = earlier.last() {
                keep[prev].it = true;
                keep[prev].body = true;
            }
            let run = earlier
                .iter()
                .rev()
                .take_while(|i| same_figures(&list[**i].progress, &list[last].progress))
                .count();
            let first = earlier.len() - run;
            for &i in &earlier[first..] {
                keep[i].it = true;
                keep[i].figures = true;
            }
            // The report before the run ends it, with or without its figures.
            if let Some(&end) = first.checked_sub(1).and_then(|i| earlier.get(i)) {
                keep[end].it = true;
            }
        }
    }
    let mut k = keep.into_iter();
    list.retain_mut(|f| {
        let keep = k.next().unwrap_or_default();
        if !keep.body {
            f.body = String::new();
        }
        if !keep.figures {
            f.progress = Vec::new();
        }
        keep.it
    });
}

/// 进展虚化: the period's latest progress report repeats the one before, or
/// its figures have not moved for `unchanged_days`.
pub fn hollow_progress(frame: &Frame, rules: &Rules, limit: usize) -> Option<Finding> {
    const CODE: &str = "hollow_progress";
    let threshold = rules.param(CODE, "similarity", 0.85);
    let unchanged = Duration::days(rules.param(CODE, "unchanged_days", 14.0) as i64);
    let mut hits: Vec<(&Assignment, (&Feedback, Vec<String>))> = Vec::new();
    let (mut repeated, mut still) = (0, 0);
    for a in &frame.data.assignments {
        let reports: Vec<&Feedback> = a
            .feedback
            .iter()
            .filter(|f| reports_progress(f) && f.submitted_at <= frame.as_of)
            .collect();
        let Some((latest, earlier)) = reports.split_last() else {
            continue;
        };
        if !frame.window.contains(latest.submitted_at) {
            continue;
        }
        let mut notes = Vec::new();
        if let Some(prev) = earlier.last() {
            let s = similarity(&latest.body, &prev.body);
            if s >= threshold {
                notes.push(format!(
                    "{}反馈与{}反馈内容基本相同(相似度{:.0}%)",
                    month_day(frame.local_date(latest.submitted_at)),
                    month_day(frame.local_date(prev.submitted_at)),
                    s * 100.0
                ));
                repeated += 1;
            }
        }
        let since = earlier
            .iter()
            .rev()
            .take_while(|f| same_figures(&f.progress, &latest.progress))
            .last();
        if let Some(first) = since {
            if latest.submitted_at - first.submitted_at >= unchanged {
                notes.push(format!(
                    "进度指标自{}以来未变化({})",
                    month_day(frame.local_date(first.submitted_at)),
                    figures_text(&latest.progress)
                ));
                still += 1;
            }
        }
        if !notes.is_empty() {
            hits.push((a, (latest, notes)));
        }
    }
    if hits.is_empty() {
        return None;
    }
    let mut details = Vec::new();
    if repeated > 0 {
        details.push(format!("反馈内容照抄上次的{repeated}件"));
    }
    if still > 0 {
        details.push(format!("进度指标连续{}天以上无变化的{still}件", unchanged.num_days()));
    }
    let listed = Listed::new(hits, limit, |a, (latest, notes)| {
        let mut line = frame.line(a);
        line.latest_feedback = shorten(&latest.body, 80);
        line.note = notes.join(";");
        line
    });
    Some(finding(
        rules,
        CODE,
        format!("{}件事项的进展反馈存在虚化迹象。", listed.count()),
        details,
        listed,
    ))
}

/// Finished in the period without a recorded verification.
pub fn closed_unverified(frame: &Frame, rules: &Rules, limit: usize) -> Option<Finding> {
    const CODE: &str = "closed_unverified";
    let unverified = frame
        .data
        .assignments
        .iter()
        .filter(|a| {
            a.completed_at()
                .is_some_and(|c| frame.window.contains(c) && c <= frame.as_of)
        })
        .filter(|a| {
            a.verified_at.is_none() || a.verification_notes.trim().is_empty() || a.verified_by.trim().is_empty()
        });
    let listed = Listed::new(unverified.map(|a| (a, ())), limit, |a, ()| {
        let mut line = frame.line(a);
        line.note = if a.verified_at.is_none() {
            "已销号,无核查记录".into()
        } else {
            "核查通过,未记录核查内容".into()
        };
        line
    });
    if listed.count() == 0 {
        return None;
    }
    Some(finding(
        rules,
        CODE,
        format!("本期办结事项中有{}件未记录核查情况即办结或销号。", listed.count()),
        Vec::new(),
        listed,
    ))
}

/// Urged at least `min_urges` times, once or more in the period.
pub fn repeated_urges(frame: &Frame, rules: &Rules, limit: usize) -> Option<Finding> {
    const CODE: &str = "repeated_urges";
    let min = rules.param(CODE, "min_urges", 2.0).max(1.0) as usize;
    // (urges, number, assignment, urged in the period, answers unjustified)
    let mut rows: Vec<(usize, &str, &Assignment, usize, usize)> = Vec::new();
    for a in &frame.data.assignments {
        let urges: Vec<_> = a.urges.iter().filter(|u| u.issued_at <= frame.as_of).collect();
        let here = urges.iter().filter(|u| frame.window.contains(u.issued_at)).count();
        if here == 0 || urges.len() < min {
            continue;
        }
        let unjustified = urges.iter().filter(|u| u.justified == Some(false)).count();
        let number = frame.item(a).map(|i| i.number.as_str()).unwrap_or("");
        rows.push((urges.len(), number, a, here, unjustified));
    }
    if rows.is_empty() {
        return None;
    }
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let total: usize = rows.iter().map(|r| r.0).sum();
    let listed = Listed::new(
        rows.into_iter()
            .map(|(n, _, a, here, unjustified)| (a, (n, here, unjustified))),
        limit,
        |a, (n, here, unjustified)| {
            let mut line = frame.line(a);
            line.note = format!(
                "累计催办{n}次(本期{here}次){}",
                if unjustified > 0 {
                    format!(",其中{unjustified}次回复被认定无正当理由")
                } else {
                    String::new()
                }
            );
            line
        },
    );
    Some(finding(
        rules,
        CODE,
        format!("{}件事项经{min}次以上催办,累计催办{total}次。", listed.count()),
        Vec::new(),
        listed,
    ))
}

/// Sources with registered items never assigned after `grace_days`.
pub fn unassigned_sources(frame: &Frame, rules: &Rules, limit: usize) -> Option<Finding> {
    const CODE: &str = "unassigned_sources";
    let grace = Duration::days(rules.param(CODE, "grace_days", 5.0) as i64);
    let assigned: foldhash::HashSet<Uuid> = frame
        .data
        .assignments
        .iter()
        .filter(|a| a.assigned_at <= frame.as_of)
        .map(|a| a.item_id)
        .chain(frame.data.assigned_items.iter().copied())
        .collect();
    let parents: foldhash::HashSet<Uuid> = frame.data.items.iter().filter_map(|i| i.parent_id).collect();
    let mut by_source: BTreeMap<String, (usize, Vec<&Item>)> = BTreeMap::new();
    for i in &frame.data.items {
        let Some(registered) = i.registered_at else {
            continue;
        };
        if registered > frame.as_of {
            continue;
        }
        let key = source_name(i);
        let entry = by_source.entry(key).or_default();
        entry.0 += 1;
        if registered + grace <= frame.as_of && !assigned.contains(&i.id) && !parents.contains(&i.id) {
            entry.1.push(i);
        }
    }
    let mut details = Vec::new();
    let mut items = Vec::new();
    let mut count = 0;
    for (source, (registered, idle)) in &by_source {
        if idle.is_empty() {
            continue;
        }
        details.push(format!("{source}:立项{registered}件,未交办{}件", idle.len()));
        count += idle.len();
        for i in idle.iter().take(limit.saturating_sub(items.len())) {
            items.push(Line {
                number: i.number.clone(),
                title: i.title.clone(),
                unit: i
                    .lead_unit_id
                    .and_then(|u| frame.unit(u))
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                note: format!(
                    "{}立项,至今未交办",
                    i.registered_at
                        .map(|t| month_day(frame.local_date(t)))
                        .unwrap_or_default()
                ),
                ..Line::default()
            });
        }
    }
    if count == 0 {
        return None;
    }
    // Never assigned: not in the ledger either.
    let listed = Listed {
        more: (count - items.len()) as u32,
        lines: items,
        assignments: Vec::new(),
    };
    Some(finding(
        rules,
        CODE,
        format!(
            "{}个督办来源的{count}件事项立项{}天以上仍未交办。",
            details.len(),
            grace.num_days()
        ),
        details,
        listed,
    ))
}

fn source_name(i: &Item) -> String {
    let kind = duban_core::item::SourceKind::from_code(&i.source_kind)
        .map(|k| k.label_zh())
        .unwrap_or("其他");
    match (i.source_title.is_empty(), i.source_doc_number.is_empty()) {
        (true, _) => format!("{kind}(未关联来源文件)"),
        (false, true) => format!("{kind}《{}》", i.source_title),
        (false, false) => format!("{kind}《{}》({})", i.source_title, i.source_doc_number),
    }
}

impl Frame<'_> {
    pub fn as_of_label(&self) -> String {
        crate::period::date_zh(self.local_date(self.as_of - Duration::seconds(1)))
    }
}

#[cfg(test)]
mod tests;
