//! Report kinds and their periods: an ISO week (`2026-W42`) for the weekly
//! list and the Friday reminder, a month (`2026-10`), a quarter (`2026-Q3`)
//! or a year (`2026`) for bulletins. Pure: no clock, no I/O.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Weekly,
    Friday,
    Monthly,
    Quarterly,
    Annual,
}

impl ReportKind {
    pub const ALL: [ReportKind; 5] = [
        ReportKind::Weekly,
        ReportKind::Friday,
        ReportKind::Monthly,
        ReportKind::Quarterly,
        ReportKind::Annual,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ReportKind::Weekly => "weekly",
            ReportKind::Friday => "friday",
            ReportKind::Monthly => "monthly",
            ReportKind::Quarterly => "quarterly",
            ReportKind::Annual => "annual",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        let code = code.trim();
        Self::ALL.into_iter().find(|k| k.code() == code || k.label_zh() == code)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ReportKind::Weekly => "周进展列表",
            ReportKind::Friday => "周五对接提醒",
            ReportKind::Monthly => "月通报",
            ReportKind::Quarterly => "季度通报",
            ReportKind::Annual => "年度通报",
        }
    }

    /// Bulletins (通报) carry the statistics and the issue analysis.
    pub fn is_bulletin(self) -> bool {
        matches!(self, ReportKind::Monthly | ReportKind::Quarterly | ReportKind::Annual)
    }

    /// How its period is written, for error messages.
    pub fn period_hint(self) -> &'static str {
        match self {
            ReportKind::Weekly | ReportKind::Friday => "2026-W42",
            ReportKind::Monthly => "2026-10",
            ReportKind::Quarterly => "2026-Q3",
            ReportKind::Annual => "2026",
        }
    }

    /// Parses a period of this kind. A date (`2026-10-12`) is accepted for
    /// weekly kinds and names its ISO week.
    pub fn parse_period(self, text: &str) -> Option<Period> {
        let text = text.trim();
        match self {
            ReportKind::Weekly | ReportKind::Friday => {
                if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                    return Some(Period::week_of(d));
                }
                let (y, w) = text.split_once("-W").or_else(|| text.split_once("-w"))?;
                let (year, week) = (y.parse().ok()?, w.parse().ok()?);
                NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)?;
                Some(Period::Week { year, week })
            }
            ReportKind::Monthly => {
                let (y, m) = text.split_once('-')?;
                let (year, month) = (y.parse().ok()?, m.parse().ok()?);
                NaiveDate::from_ymd_opt(year, month, 1)?;
                Some(Period::Month { year, month })
            }
            ReportKind::Quarterly => {
                let (y, q) = text.split_once("-Q").or_else(|| text.split_once("-q"))?;
                let (year, quarter): (i32, u32) = (y.parse().ok()?, q.parse().ok()?);
                ((1..=4).contains(&quarter) && (1000..=9999).contains(&year))
                    .then_some(Period::Quarter { year, quarter })
            }
            ReportKind::Annual => {
                let year: i32 = text.parse().ok()?;
                (1000..=9999).contains(&year).then_some(Period::Year { year })
            }
        }
    }
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Week { year: i32, week: u32 },
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
    Year { year: i32 },
}

impl Period {
    pub fn week_of(d: NaiveDate) -> Period {
        let w = d.iso_week();
        Period::Week {
            year: w.year(),
            week: w.week(),
        }
    }

    pub fn month_of(d: NaiveDate) -> Period {
        Period::Month {
            year: d.year(),
            month: d.month(),
        }
    }

    /// The months of a quarter or year (a month is its own; a week has none).
    pub fn months(self) -> Vec<Period> {
        match self {
            Period::Week { .. } => Vec::new(),
            _ => {
                let (mut m, end) = (Period::month_of(self.start()), self.end_exclusive());
                let mut out = Vec::new();
                while m.start() < end {
                    out.push(m);
                    m = m.next();
                }
                out
            }
        }
    }

    /// The first day of the period.
    pub fn start(self) -> NaiveDate {
        match self {
            Period::Week { year, week } => NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).unwrap_or_default(),
            Period::Month { year, month } => NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default(),
            Period::Quarter { year, quarter } => {
                NaiveDate::from_ymd_opt(year, (quarter - 1) * 3 + 1, 1).unwrap_or_default()
            }
            Period::Year { year } => NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default(),
        }
    }

    /// The day after the period's last day.
    pub fn end_exclusive(self) -> NaiveDate {
        self.next().start()
    }

    pub fn last_day(self) -> NaiveDate {
        self.end_exclusive() - Duration::days(1)
    }

    pub fn next(self) -> Period {
        match self {
            Period::Week { .. } => Period::week_of(self.start() + Duration::days(7)),
            Period::Month { year, month } if month == 12 => Period::Month {
                year: year + 1,
                month: 1,
            },
            Period::Month { year, month } => Period::Month { year, month: month + 1 },
            Period::Quarter { year, quarter } if quarter == 4 => Period::Quarter {
                year: year + 1,
                quarter: 1,
            },
            Period::Quarter { year, quarter } => Period::Quarter {
                year,
                quarter: quarter + 1,
            },
            Period::Year { year } => Period::Year { year: year + 1 },
        }
    }

    pub fn previous(self) -> Period {
        match self {
            Period::Week { .. } => Period::week_of(self.start() - Duration::days(7)),
            Period::Month { year, month } if month == 1 => Period::Month {
                year: year - 1,
                month: 12,
            },
            Period::Month { year, month } => Period::Month { year, month: month - 1 },
            Period::Quarter { year, quarter } if quarter == 1 => Period::Quarter {
                year: year - 1,
                quarter: 4,
            },
            Period::Quarter { year, quarter } => Period::Quarter {
                year,
                quarter: quarter - 1,
            },
            Period::Year { year } => Period::Year { year: year - 1 },
        }
    }

    pub fn year(self) -> i32 {
        match self {
            Period::Week { year, .. }
            | Period::Month { year, .. }
            | Period::Quarter { year, .. }
            | Period::Year { year } => year,
        }
    }

    /// The issue number within the year (第N期): the week, month or quarter.
    pub fn issue(self) -> u32 {
        match self {
            Period::Week { week, .. } => week,
            Period::Month { month, .. } => month,
            Period::Quarter { quarter, .. } => quarter,
            Period::Year { .. } => 1,
        }
    }

    /// The period as people write it: 2026年10月, 2026年第三季度…
    pub fn label_zh(self) -> String {
        match self {
            Period::Week { year, week } => {
                let (s, e) = (self.start(), self.last_day());
                format!(
                    "{year}年第{week}周({}月{}日至{}月{}日)",
                    s.month(),
                    s.day(),
                    e.month(),
                    e.day()
                )
            }
            Period::Month { year, month } => format!("{year}年{month}月"),
            Period::Quarter { year, quarter } => {
                format!(
                    "{year}年第{}季度",
                    ["一", "二", "三", "四"][(quarter as usize - 1).min(3)]
                )
            }
            Period::Year { year } => format!("{year}年度"),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Week { year, week } => write!(f, "{year}-W{week:02}"),
            Period::Month { year, month } => write!(f, "{year}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year}-Q{quarter}"),
            Period::Year { year } => write!(f, "{year}"),
        }
    }
}

/// 2026年10月8日
pub fn date_zh(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn periods_parse_print_and_bound() {
        let m = ReportKind::Monthly.parse_period("2026-10").unwrap();
        assert_eq!(m.to_string(), "2026-10");
        assert_eq!((m.start(), m.last_day()), (d(2026, 10, 1), d(2026, 10, 31)));
        assert_eq!(m.previous().to_string(), "2026-09");
        assert_eq!(
            ReportKind::Monthly.parse_period("2026-12").unwrap().next().to_string(),
            "2027-01"
        );
        let w = ReportKind::Weekly.parse_period("2026-10-14").unwrap();
        assert_eq!(w.to_string(), "2026-W42");
        assert_eq!((w.start(), w.last_day()), (d(2026, 10, 12), d(2026, 10, 18)));
        assert_eq!(w.label_zh(), "2026年第42周(10月12日至10月18日)");
        assert_eq!(ReportKind::Weekly.parse_period("2026-W42"), Some(w));
        let q = ReportKind::Quarterly.parse_period("2026-Q3").unwrap();
        assert_eq!((q.start(), q.last_day()), (d(2026, 7, 1), d(2026, 9, 30)));
        assert_eq!(q.label_zh(), "2026年第三季度");
        assert_eq!(q.previous().to_string(), "2026-Q2");
        assert_eq!(
            ReportKind::Annual.parse_period("2026").unwrap().last_day(),
            d(2026, 12, 31)
        );
        for bad in ["2026-13", "2026", "x", ""] {
            assert_eq!(ReportKind::Monthly.parse_period(bad), None, "{bad}");
        }
        assert_eq!(ReportKind::Weekly.parse_period("2026-W54"), None);
        assert_eq!(ReportKind::Quarterly.parse_period("2026-Q5"), None);
        assert_eq!(ReportKind::from_code("月通报"), Some(ReportKind::Monthly));
    }

    #[test]
    fn months_of_a_period() {
        let months = |kind: ReportKind, p: &str| -> Vec<String> {
            kind.parse_period(p)
                .unwrap()
                .months()
                .iter()
                .map(|m| m.to_string())
                .collect()
        };
        assert_eq!(
            months(ReportKind::Quarterly, "2026-Q4"),
            ["2026-10", "2026-11", "2026-12"]
        );
        assert_eq!(
            months(ReportKind::Quarterly, "2027-Q1"),
            ["2027-01", "2027-02", "2027-03"]
        );
        let year = months(ReportKind::Annual, "2026");
        assert_eq!(
            (year.len(), year[0].as_str(), year[11].as_str()),
            (12, "2026-01", "2026-12")
        );
        assert_eq!(months(ReportKind::Monthly, "2026-02"), ["2026-02"]);
        assert!(months(ReportKind::Weekly, "2026-W42").is_empty());
    }
}
