//! The text form of a calendar year, as an office types it from the State
//! Council's notice: the year, the source, and per festival the days off and
//! the make-up working days. A range is written `2026-10-01..2026-10-07`.
//! Every problem is reported with its line.

use chrono::{NaiveDate, Weekday};
use duban_core::Violations;
use duban_core::calendar::YearCalendar;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: i32,
    #[serde(default)]
    source: String,
    /// Working weekdays; Monday to Friday when absent.
    weekdays: Option<Vec<String>>,
    #[serde(default)]
    holidays: Vec<Spanned<RawHoliday>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name: String,
    days: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
}

/// One festival as typed in, dates expanded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidayGroup {
    pub name: String,
    pub days: Vec<NaiveDate>,
    pub workdays: Vec<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct CalendarFile {
    pub calendar: YearCalendar,
    pub source: String,
    pub groups: Vec<HolidayGroup>,
}

fn line_of(content: &str, offset: usize) -> usize {
    content[..offset.min(content.len())].matches('\n').count() + 1
}

fn weekday(s: &str) -> Option<Weekday> {
    match s.trim().to_ascii_lowercase().as_str() {
        "mon" | "周一" => Some(Weekday::Mon),
        "tue" | "周二" => Some(Weekday::Tue),
        "wed" | "周三" => Some(Weekday::Wed),
        "thu" | "周四" => Some(Weekday::Thu),
        "fri" | "周五" => Some(Weekday::Fri),
        "sat" | "周六" => Some(Weekday::Sat),
        "sun" | "周日" => Some(Weekday::Sun),
        _ => None,
    }
}

/// Expands `2026-10-01` or `2026-10-01..2026-10-07`.
fn expand(text: &str) -> Option<Vec<NaiveDate>> {
    let parse = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    match text.split_once("..") {
        Some((a, b)) => {
            let (mut d, end) = (parse(a)?, parse(b)?);
            if end < d || (end - d).num_days() > 31 {
                return None;
            }
            let mut out = Vec::new();
            while d <= end {
                out.push(d);
                d = d.succ_opt()?;
            }
            Some(out)
        }
        None => parse(text).map(|d| vec![d]),
    }
}

/// Reads a year's file; `version` is the one it will be stored as.
pub fn parse(content: &str, version: i64) -> Result<CalendarFile, Violations> {
    let raw: RawYear = toml::from_str(content).map_err(|e| {
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
    if !(2000..=2100).contains(&raw.year) {
        v.add("year", "must be between 2000 and 2100", "年份须在2000至2100之间");
    }
    let working_weekdays = match &raw.weekdays {
        None => YearCalendar::MONDAY_TO_FRIDAY.to_vec(),
        Some(list) => {
            let mut out = Vec::new();
            for (i, w) in list.iter().enumerate() {
                match weekday(w) {
                    Some(d) if !out.contains(&d) => out.push(d),
                    Some(_) => {}
                    None => v.add(
                        format!("weekdays[{i}]"),
                        format!("`{w}` is not a weekday (mon … sun)"),
                        format!("“{w}”不是星期几"),
                    ),
                }
            }
            out
        }
    };
    let mut holidays = BTreeSet::new();
    let mut workdays = BTreeSet::new();
    let mut groups = Vec::new();
    for (i, spanned) in raw.holidays.iter().enumerate() {
        let line = line_of(content, spanned.span().start);
        let h = spanned.get_ref();
        let mut group = HolidayGroup {
            name: h.name.trim().to_owned(),
            days: Vec::new(),
            workdays: Vec::new(),
        };
        for (list, out, into, label, label_zh) in [
            (&h.days, &mut group.days, &mut holidays, "days", "放假日期"),
            (&h.workdays, &mut group.workdays, &mut workdays, "workdays", "上班日期"),
        ] {
            for text in list {
                match expand(text) {
                    Some(dates) => {
                        for d in dates {
                            into.insert(d);
                            out.push(d);
                        }
                    }
                    None => v.add(
                        format!("holidays[{i}].{label}"),
                        format!("line {line}: `{text}` is not a date or a range YYYY-MM-DD..YYYY-MM-DD"),
                        format!("第{line}行:{label_zh}“{text}”格式不正确(应为 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD)"),
                    ),
                }
            }
        }
        if group.name.is_empty() {
            v.add(
                format!("holidays[{i}].name"),
                format!("line {line}: is empty"),
                format!("第{line}行:节日名称不能为空"),
            );
        }
        groups.push(group);
    }
    let calendar = YearCalendar {
        year: raw.year,
        version,
        working_weekdays,
        holidays,
        workdays,
    };
    for (en, zh) in calendar.problems() {
        v.add("holidays", en, zh);
    }
    v.into_result()?;
    Ok(CalendarFile {
        calendar,
        source: raw.source.trim().to_owned(),
        groups,
    })
}

/// The festivals of the State Council's notice, in its order.
pub const FESTIVALS: [&str; 7] = ["元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"];

/// A file for `year` to fill in from the State Council's notice: the weekly
/// pattern and one section per festival with empty lists. As it is, it
/// reads as a year with weekends only, so a half-filled file still loads;
/// `duban calendar load` names the festivals left empty.
pub fn template(year: i32) -> String {
    let mut out = format!(
        "# {year}年工作日历 · 按国务院办公厅关于{year}年部分节假日安排的通知填写,\n\
         # 再 duban calendar load {year}.toml。日期写作 {year}-10-01,连续几天写作 {year}-10-01..{year}-10-07。\n\
         year = {year}\n\
         # 通知的文号与日期,如 国办发明电〔{prev}〕7号({prev}年11月4日)\n\
         source = \"\"\n\
         # 每周工作日(周一至周五);节日放假与调休上班写在下面各节\n\
         weekdays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\n",
        prev = year - 1
    );
    for name in FESTIVALS {
        out.push_str(&format!(
            "\n[[holidays]]\nname = \"{name}\"\n# 放假日期\ndays = []\n# 调休上班日期(周末上班的日子)\nworkdays = []\n"
        ));
    }
    out
}

/// The calendars shipped with Duban, typed in from the notices.
pub const SHIPPED: [&str; 3] = [
    include_str!("../calendars/2024.toml"),
    include_str!("../calendars/2025.toml"),
    include_str!("../calendars/2026.toml"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn shipped_files_read() {
        for text in SHIPPED {
            let file = parse(text, 1).expect("shipped calendar");
            assert!(
                file.source.contains("节假日") || file.source.contains("国办"),
                "{}",
                file.source
            );
            assert!(file.groups.len() >= 6);
        }
        let y2026 = parse(SHIPPED[2], 1).unwrap();
        assert_eq!(y2026.calendar.year, 2026);
        assert_eq!(y2026.calendar.holidays.len(), 3 + 9 + 3 + 5 + 3 + 3 + 7);
        assert_eq!(y2026.calendar.workdays.len(), 6);
        assert!(
            y2026
                .calendar
                .workdays
                .iter()
                .all(|d| d.weekday().num_days_from_monday() >= 5)
        );
    }

    #[test]
    fn the_template_loads_as_a_year_of_weekends() {
        let file = parse(&template(2027), 1).expect("the template is a valid year");
        assert_eq!(file.calendar.year, 2027);
        assert_eq!(file.calendar.working_weekdays, YearCalendar::MONDAY_TO_FRIDAY.to_vec());
        assert!(file.calendar.holidays.is_empty() && file.calendar.workdays.is_empty());
        let names: Vec<&str> = file.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, FESTIVALS);
        // Filled in, a section reads like the shipped files.
        let filled = template(2027).replacen("days = []", "days = [\"2027-01-01..2027-01-03\"]", 1);
        let file = parse(&filled, 1).unwrap();
        assert_eq!(file.groups[0].days.len(), 3);
        assert_eq!(file.calendar.holidays.len(), 3);
    }

    #[test]
    fn bad_files_name_their_lines() {
        let text = "year = 2027\n\n[[holidays]]\nname = \"春节\"\ndays = [\"2027-02-30\", \"2027-02-06..2027-02-01\"]\nworkdays = [\"2027-02-06\", \"2028-01-01\"]\n";
        let err = parse(text, 1).unwrap_err();
        let reasons: Vec<&str> = err.0.iter().map(|f| f.reason.as_str()).collect();
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("line 3:") && r.contains("2027-02-30")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("2027-02-06..2027-02-01")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("2028-01-01 is not in 2027")),
            "{reasons:?}"
        );
        let err = parse("year = 2027\nholidays = 3\n", 1).unwrap_err();
        assert!(err.0[0].reason.starts_with("line 2"), "{:?}", err.0);
    }
}
