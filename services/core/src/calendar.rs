//! The working-day calendar (工作日历): a weekly pattern, statutory holidays
//! and make-up working days (调休上班), one year at a time. A date in a year
//! with no data is an error, unless the calendar is told to assume the
//! weekly pattern for such years (`assuming_weekly_pattern`): then the day
//! is a working day Monday to Friday and says it is provisional (暂定), and
//! anything computed over it records the year as version 0, so that loading
//! the year finds it again.

use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::{BTreeMap, BTreeSet};

/// One year as the State Council's notice lays it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCalendar {
    pub year: i32,
    /// Bumped each time the year is loaded again.
    pub version: i64,
    /// Weekdays that are working days unless a holiday.
    pub working_weekdays: Vec<Weekday>,
    pub holidays: BTreeSet<NaiveDate>,
    /// Make-up working days (调休): weekend days that are working days.
    pub workdays: BTreeSet<NaiveDate>,
}

impl YearCalendar {
    pub const MONDAY_TO_FRIDAY: [Weekday; 5] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        !self.holidays.contains(&d) && self.working_weekdays.contains(&d.weekday())
    }

    /// What is wrong with the year's data, in words for the person who typed it.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for d in self.holidays.iter().chain(&self.workdays) {
            if d.year() != self.year {
                out.push((
                    format!("{d} is not in {}", self.year),
                    format!("{d}不在{}年内", self.year),
                ));
            }
        }
        for d in self.holidays.intersection(&self.workdays) {
            out.push((
                format!("{d} is both a holiday and a working day"),
                format!("{d}既是假日又是上班日"),
            ));
        }
        if self.working_weekdays.is_empty() {
            out.push(("no weekday is a working day".into(), "每周至少应有一个工作日".into()));
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the working-day calendar for {year} is not loaded")]
pub struct MissingYear {
    pub year: i32,
}

impl MissingYear {
    pub fn reason_zh(&self) -> String {
        format!(
            "尚未载入{}年工作日历(请按国务院办公厅节假日安排通知载入:duban calendar load)",
            self.year
        )
    }
}

/// Written beside a date counted over a year not loaded yet, wherever people
/// read it.
pub const PROVISIONAL_MARK_ZH: &str = "(暂定)";

/// What the calendar says about one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub working: bool,
    /// The year is not loaded: `working` follows the weekly pattern alone and
    /// may change when the State Council's notice is typed in.
    pub provisional: bool,
}

/// The years loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, YearCalendar>,
    /// Whether a year that is not loaded is assumed to be Monday to Friday
    /// (provisional) instead of being an error.
    assume_weekly_pattern: bool,
}

/// A search for working days gives up after this many calendar days: no
/// real calendar has a longer run of days off.
const MAX_RUN: u32 = 366 * 2;

impl Calendar {
    pub fn new(years: impl IntoIterator<Item = YearCalendar>) -> Self {
        Self {
            years: years.into_iter().map(|y| (y.year, y)).collect(),
            assume_weekly_pattern: false,
        }
    }

    /// The same years, with every other year assumed to be Monday to Friday
    /// and marked provisional: for deadlines, where refusing the work is
    /// worse than a date that may move once the year is loaded.
    pub fn assuming_weekly_pattern(mut self) -> Self {
        self.assume_weekly_pattern = true;
        self
    }

    /// One day, from the year's data or, for a year not loaded, from the
    /// weekly pattern alone (provisional).
    pub fn day(&self, d: NaiveDate) -> Day {
        match self.years.get(&d.year()) {
            Some(y) => Day {
                working: y.is_working_day(d),
                provisional: false,
            },
            None => Day {
                working: YearCalendar::MONDAY_TO_FRIDAY.contains(&d.weekday()),
                provisional: true,
            },
        }
    }

    /// Whether anything computed over the days from `from` to `to` rests on
    /// a year that is not loaded.
    pub fn is_provisional(&self, from: NaiveDate, to: NaiveDate) -> bool {
        (from.year()..=to.year()).any(|y| !self.years.contains_key(&y))
    }

    pub fn year(&self, year: i32) -> Result<&YearCalendar, MissingYear> {
        self.years.get(&year).ok_or(MissingYear { year })
    }

    pub fn years(&self) -> impl Iterator<Item = &YearCalendar> {
        self.years.values()
    }

    pub fn is_working_day(&self, d: NaiveDate) -> Result<bool, MissingYear> {
        let day = self.day(d);
        if day.provisional && !self.assume_weekly_pattern {
            return Err(MissingYear { year: d.year() });
        }
        Ok(day.working)
    }

    /// The `n`-th working day after `start`, which itself is not counted
    /// (the courts' rule for periods). `n = 0` is `start`.
    pub fn nth_working_day_after(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, MissingYear> {
        let mut d = start;
        let mut found = 0;
        let mut steps = 0;
        while found < n {
            d = d.succ_opt().ok_or(MissingYear { year: d.year() + 1 })?;
            steps += 1;
            if self.is_working_day(d)? {
                found += 1;
            }
            if steps > MAX_RUN * n.max(1) {
                return Err(MissingYear { year: d.year() });
            }
        }
        Ok(d)
    }

    /// The last working day before `d`.
    pub fn last_working_day_before(&self, d: NaiveDate) -> Result<NaiveDate, MissingYear> {
        let mut d = d;
        for _ in 0..MAX_RUN {
            d = d.pred_opt().ok_or(MissingYear { year: d.year() - 1 })?;
            if self.is_working_day(d)? {
                return Ok(d);
            }
        }
        Err(MissingYear { year: d.year() })
    }

    /// `d` when it is a working day, else the next working day.
    pub fn working_day_on_or_after(&self, d: NaiveDate) -> Result<NaiveDate, MissingYear> {
        let mut d = d;
        for _ in 0..MAX_RUN {
            if self.is_working_day(d)? {
                return Ok(d);
            }
            d = d.succ_opt().ok_or(MissingYear { year: d.year() + 1 })?;
        }
        Err(MissingYear { year: d.year() })
    }

    /// Working days in `(after, until]`: how far a clock paused from `after`
    /// to `until` has to move its deadlines.
    pub fn working_days_between(&self, after: NaiveDate, until: NaiveDate) -> Result<u32, MissingYear> {
        let mut n = 0;
        let mut d = after;
        while d < until {
            d = d.succ_opt().ok_or(MissingYear { year: d.year() + 1 })?;
            if self.is_working_day(d)? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// The versions of the years from `from` to `to`, as recorded on a
    /// deadline computed over them. A year not loaded is version 0 when the
    /// weekly pattern was assumed for it (the deadline is provisional), and
    /// absent otherwise.
    pub fn versions(&self, from: NaiveDate, to: NaiveDate) -> BTreeMap<i32, i64> {
        (from.year()..=to.year())
            .filter_map(|y| match self.years.get(&y) {
                Some(c) => Some((y, c.version)),
                None => self.assume_weekly_pattern.then_some((y, 0)),
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn days(list: &[(u32, u32)], y: i32) -> BTreeSet<NaiveDate> {
        list.iter().map(|(m, day)| d(y, *m, *day)).collect()
    }

    fn span(y: i32, from: (u32, u32), to: (u32, u32)) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut x = d(y, from.0, from.1);
        while x <= d(y, to.0, to.1) {
            out.push((x.month(), x.day()));
            x = x.succ_opt().unwrap();
        }
        out
    }

    /// The three shipped years, written out here by hand from the notices so
    /// that the shipped files are checked against an independent copy.
    pub fn shipped() -> Calendar {
        let year = |y: i32, holidays: Vec<(u32, u32)>, workdays: &[(u32, u32)]| YearCalendar {
            year: y,
            version: 1,
            working_weekdays: YearCalendar::MONDAY_TO_FRIDAY.to_vec(),
            holidays: days(&holidays, y),
            workdays: days(workdays, y),
        };
        let y2024 = [
            vec![(1, 1)],
            span(2024, (2, 10), (2, 17)),
            span(2024, (4, 4), (4, 6)),
            span(2024, (5, 1), (5, 5)),
            vec![(6, 10)],
            span(2024, (9, 15), (9, 17)),
            span(2024, (10, 1), (10, 7)),
        ]
        .concat();
        let y2025 = [
            vec![(1, 1)],
            span(2025, (1, 28), (2, 4)),
            span(2025, (4, 4), (4, 6)),
            span(2025, (5, 1), (5, 5)),
            span(2025, (5, 31), (6, 2)),
            span(2025, (10, 1), (10, 8)),
        ]
        .concat();
        let y2026 = [
            span(2026, (1, 1), (1, 3)),
            span(2026, (2, 15), (2, 23)),
            span(2026, (4, 4), (4, 6)),
            span(2026, (5, 1), (5, 5)),
            span(2026, (6, 19), (6, 21)),
            span(2026, (9, 25), (9, 27)),
            span(2026, (10, 1), (10, 7)),
        ]
        .concat();
        Calendar::new([
            year(
                2024,
                y2024,
                &[(2, 4), (2, 18), (4, 7), (4, 28), (5, 11), (9, 14), (9, 29), (10, 12)],
            ),
            year(2025, y2025, &[(1, 26), (2, 8), (4, 27), (9, 28), (10, 11)]),
            year(2026, y2026, &[(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)]),
        ])
    }

    #[test]
    fn working_days_table() {
        let c = shipped();
        let table = [
            (d(2024, 2, 4), true),    // Sunday, 调休上班
            (d(2024, 2, 9), true),    // 除夕 2024: a working day by the notice
            (d(2024, 2, 12), false),  // 春节
            (d(2024, 2, 18), true),   // Sunday, 调休上班
            (d(2024, 6, 10), false),  // 端午
            (d(2025, 1, 28), false),  // 除夕 2025: a holiday
            (d(2025, 2, 8), true),    // Saturday, 调休上班
            (d(2025, 10, 8), false),  // 国庆中秋 8th day
            (d(2025, 10, 11), true),  // Saturday, 调休上班
            (d(2026, 1, 2), false),   // Friday, 元旦
            (d(2026, 1, 4), true),    // Sunday, 调休上班
            (d(2026, 2, 23), false),  // Monday, 初七
            (d(2026, 2, 28), true),   // Saturday, 调休上班
            (d(2026, 5, 9), true),    // Saturday, 调休上班
            (d(2026, 9, 20), true),   // Sunday, 调休上班
            (d(2026, 10, 9), true),   // Friday after 国庆
            (d(2026, 10, 10), true),  // Saturday, 调休上班
            (d(2026, 10, 11), false), // Sunday
            (d(2026, 11, 28), false), // a plain Saturday
        ];
        for (day, working) in table {
            assert_eq!(c.is_working_day(day), Ok(working), "{day}");
        }
        assert_eq!(c.is_working_day(d(2027, 1, 4)), Err(MissingYear { year: 2027 }));
    }

    #[test]
    fn counting_working_days() {
        let c = shipped();
        // Start day not counted; holidays and weekends skipped; 调休 counted.
        let table = [
            (d(2026, 9, 30), 1, d(2026, 10, 8)),
            (d(2026, 9, 30), 3, d(2026, 10, 10)),
            (d(2026, 9, 30), 7, d(2026, 10, 15)),
            (d(2026, 2, 13), 1, d(2026, 2, 14)),
            (d(2026, 2, 13), 2, d(2026, 2, 24)),
            (d(2026, 2, 13), 7, d(2026, 3, 2)),
            (d(2026, 9, 19), 1, d(2026, 9, 20)),
            (d(2026, 9, 20), 1, d(2026, 9, 21)),
            (d(2024, 4, 30), 1, d(2024, 5, 6)),
            (d(2024, 4, 30), 3, d(2024, 5, 8)),
            (d(2025, 12, 31), 1, d(2026, 1, 4)),
            (d(2024, 12, 31), 3, d(2025, 1, 6)),
            (d(2026, 10, 1), 0, d(2026, 10, 1)),
        ];
        for (start, n, expected) in table {
            assert_eq!(c.nth_working_day_after(start, n), Ok(expected), "{start} + {n}");
        }
        assert_eq!(
            c.nth_working_day_after(d(2026, 12, 24), 7),
            Err(MissingYear { year: 2027 })
        );
        assert_eq!(c.working_day_on_or_after(d(2026, 10, 3)), Ok(d(2026, 10, 8)));
        assert_eq!(c.working_day_on_or_after(d(2026, 10, 10)), Ok(d(2026, 10, 10)));
        assert_eq!(c.working_days_between(d(2026, 9, 28), d(2026, 10, 9)), Ok(4));
        assert_eq!(c.working_days_between(d(2026, 10, 9), d(2026, 10, 9)), Ok(0));
        assert_eq!(
            c.versions(d(2025, 12, 1), d(2026, 1, 5)),
            BTreeMap::from([(2025, 1), (2026, 1)])
        );
    }

    #[test]
    fn an_unloaded_year_is_provisional_weekly_pattern() {
        let strict = shipped();
        let c = shipped().assuming_weekly_pattern();
        let table = [
            // (day, working, provisional) by hand: 2027 is not loaded.
            (d(2026, 12, 31), true, false), // Thursday, loaded
            (d(2027, 1, 1), true, true),    // Friday: 元旦 in a real calendar, provisionally a working day
            (d(2027, 1, 2), false, true),   // Saturday
            (d(2027, 1, 3), false, true),   // Sunday
            (d(2027, 1, 4), true, true),    // Monday
            (d(2027, 2, 6), false, true),   // Saturday (a 调休 day is not guessed)
        ];
        for (day, working, provisional) in table {
            assert_eq!(c.day(day), Day { working, provisional }, "{day}");
            assert_eq!(strict.day(day), Day { working, provisional }, "{day}");
            assert_eq!(c.is_working_day(day), Ok(working), "{day}");
            assert_eq!(strict.is_working_day(day).is_err(), provisional, "strict {day}");
        }
        // Assigned Friday 2026-12-25: 28, 29, 30, 31 December, then the
        // provisional 1 January (5th), 4 January (6th), 5 January (7th).
        let counted = [
            (1, d(2026, 12, 28), false),
            (3, d(2026, 12, 30), false),
            (4, d(2026, 12, 31), false),
            (5, d(2027, 1, 1), true),
            (7, d(2027, 1, 5), true),
        ];
        for (n, expected, provisional) in counted {
            let got = c.nth_working_day_after(d(2026, 12, 25), n).unwrap();
            assert_eq!(got, expected, "+{n}");
            assert_eq!(c.is_provisional(d(2026, 12, 25), got), provisional, "+{n}");
        }
        assert_eq!(c.working_day_on_or_after(d(2027, 1, 2)), Ok(d(2027, 1, 4)));
        assert_eq!(c.last_working_day_before(d(2027, 1, 4)), Ok(d(2027, 1, 1)));
        assert_eq!(
            c.versions(d(2026, 12, 25), d(2027, 1, 5)),
            BTreeMap::from([(2026, 1), (2027, 0)])
        );
        assert_eq!(
            strict.versions(d(2026, 12, 25), d(2027, 1, 5)),
            BTreeMap::from([(2026, 1)])
        );
    }

    #[test]
    fn bad_year_data_is_named() {
        let mut y = shipped().year(2026).unwrap().clone();
        y.holidays.insert(d(2027, 1, 1));
        y.workdays.insert(d(2026, 10, 1));
        let problems = y.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
