//! When reports are due (court local time, working-day aware). A schedule
//! is a row of `reporting.schedules` with a rule in words:
//!
//! - `weekly MON 08:30 or-after`: that weekday of every ISO week; when it is
//!   not a working day, the next working day of the same week (none: the
//!   week is skipped). `or-before` takes the last working day before it in
//!   the same week instead (the Friday reminder goes out on Thursday before
//!   a holiday).
//! - `monthly first-working-day 08:30`: the previous month's report on the
//!   first working day of the month; `quarterly` and `annual` likewise for
//!   the previous quarter and year.
//!
//! Pure: the calendar and "now" come in as arguments.

use crate::period::Period;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use duban_core::calendar::{Calendar, MissingYear};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    Weekly { day: Weekday, or_before: bool },
    Monthly,
    Quarterly,
    Annual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub cadence: Cadence,
    pub time: NaiveTime,
}

fn weekday(s: &str) -> Option<Weekday> {
    let s = s.to_ascii_uppercase();
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .find(|d| d.to_string().to_ascii_uppercase() == s)
}

impl Rule {
    /// Parses a rule; the error says what is wrong, in Chinese.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let time =
            |s: &str| NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| format!("时间“{s}”应写作 时:分,如 08:30"));
        match words.as_slice() {
            ["weekly", day, at, rest @ ..] => {
                let day = weekday(day).ok_or_else(|| format!("“{day}”不是星期几(MON…SUN)"))?;
                let or_before = match rest {
                    [] | ["or-after"] => false,
                    ["or-before"] => true,
                    _ => return Err("每周规则的最后一项只能是 or-after 或 or-before".into()),
                };
                Ok(Rule {
                    cadence: Cadence::Weekly { day, or_before },
                    time: time(at)?,
                })
            }
            [cadence @ ("monthly" | "quarterly" | "annual"), "first-working-day", at] => Ok(Rule {
                cadence: match *cadence {
                    "monthly" => Cadence::Monthly,
                    "quarterly" => Cadence::Quarterly,
                    _ => Cadence::Annual,
                },
                time: time(at)?,
            }),
            _ => Err(format!(
                "无法识别的时间规则“{text}”(示例:weekly MON 08:30、monthly first-working-day 08:30)"
            )),
        }
    }

    /// The period whose report this rule issues on a day of `d`'s week,
    /// month, quarter or year.
    fn period_issued_around(&self, d: NaiveDate) -> Period {
        match self.cadence {
            Cadence::Weekly { .. } => Period::week_of(d),
            Cadence::Monthly => Period::month_of(d).previous(),
            Cadence::Quarterly => Period::Quarter {
                year: d.year(),
                quarter: (d.month() - 1) / 3 + 1,
            }
            .previous(),
            Cadence::Annual => Period::Year { year: d.year() - 1 },
        }
    }

    /// The working day `period`'s report is issued on; `None` when a week
    /// has no working day for it.
    pub fn day_for(&self, period: Period, calendar: &Calendar) -> Result<Option<NaiveDate>, MissingYear> {
        match self.cadence {
            Cadence::Weekly { day, or_before } => {
                let monday = period.start();
                let target = monday + Duration::days(i64::from(day.num_days_from_monday()));
                let sunday = monday + Duration::days(6);
                let mut d = target;
                loop {
                    if calendar.is_working_day(d)? {
                        return Ok(Some(d));
                    }
                    d = if or_before {
                        d - Duration::days(1)
                    } else {
                        d + Duration::days(1)
                    };
                    if d < monday || d > sunday {
                        return Ok(None);
                    }
                }
            }
            Cadence::Monthly | Cadence::Quarterly | Cadence::Annual => {
                calendar.working_day_on_or_after(period.end_exclusive()).map(Some)
            }
        }
    }

    /// When `period`'s report is due, as an instant.
    pub fn due_at<Tz: TimeZone>(
        &self,
        period: Period,
        calendar: &Calendar,
        tz: &Tz,
    ) -> Result<Option<DateTime<Utc>>, MissingYear> {
        Ok(self.day_for(period, calendar)?.and_then(|day| {
            tz.from_local_datetime(&day.and_time(self.time))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        }))
    }

    fn candidates(&self, today: NaiveDate) -> [Period; 3] {
        let p = self.period_issued_around(today);
        [p.previous(), p, p.next()]
    }

    /// The latest report due at or before `now`, with its due time.
    pub fn latest_due<Tz: TimeZone>(
        &self,
        now: DateTime<Utc>,
        calendar: &Calendar,
        tz: &Tz,
    ) -> Result<Option<(Period, DateTime<Utc>)>, MissingYear> {
        let today = now.with_timezone(tz).date_naive();
        let mut best = None;
        for p in self.candidates(today) {
            // A period not yet begun, or a bulletin's period not yet over,
            // cannot be due (and next year's calendar may be missing).
            let bulletin = !matches!(self.cadence, Cadence::Weekly { .. });
            if p.start() > today || (bulletin && p.end_exclusive() > today) {
                continue;
            }
            match self.due_at(p, calendar, tz) {
                Ok(Some(at)) if at <= now => best = Some((p, at)),
                Ok(_) => {}
                Err(e) if p < self.period_issued_around(today) => {
                    tracing::debug!(error = %e, "skipping an earlier period without calendar");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(best)
    }

    /// The next report due after `now`, with its due time.
    pub fn next_due<Tz: TimeZone>(
        &self,
        now: DateTime<Utc>,
        calendar: &Calendar,
        tz: &Tz,
    ) -> Result<Option<(Period, DateTime<Utc>)>, MissingYear> {
        let today = now.with_timezone(tz).date_naive();
        let mut p = self.period_issued_around(today).previous();
        for _ in 0..8 {
            if let Some(at) = self.due_at(p, calendar, tz)? {
                if at > now {
                    return Ok(Some((p, at)));
                }
            }
            p = p.next();
        }
        Ok(None)
    }

    /// The next report as the schedule listing shows it: a year whose
    /// calendar is not loaded is assumed Monday to Friday, and the date says
    /// it is provisional. (The worker fires on loaded years only: a report
    /// due in a year not loaded waits for it.)
    pub fn next_shown<Tz: TimeZone>(&self, now: DateTime<Utc>, calendar: &Calendar, tz: &Tz) -> Option<NextDue> {
        let assumed = calendar.clone().assuming_weekly_pattern();
        let (period, at) = self.next_due(now, &assumed, tz).ok()??;
        let day = at.with_timezone(tz).date_naive();
        Some(NextDue {
            period,
            at,
            unloaded_year: calendar.is_provisional(day, day).then_some(day.year()),
        })
    }
}

/// When a schedule fires next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextDue {
    pub period: Period,
    pub at: DateTime<Utc>,
    /// The year, not loaded, the date was assumed in (暂定).
    pub unloaded_year: Option<i32>,
}

/// The last instant a report due at `due` may still go out when no worker
/// ran then: `catch_up` later, but a Friday reminder only on its own day (it
/// asks the liaison to confer "today", 请于今日对接).
pub fn send_by<Tz: TimeZone>(
    kind: crate::period::ReportKind,
    due: DateTime<Utc>,
    catch_up: Duration,
    tz: &Tz,
) -> DateTime<Utc> {
    let late = due + catch_up;
    if kind != crate::period::ReportKind::Friday {
        return late;
    }
    let next_day = due.with_timezone(tz).date_naive() + Duration::days(1);
    let midnight = tz
        .from_local_datetime(&next_day.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(late);
    late.min(midnight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{calendar_2026, d, shanghai};

    fn at(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
        shanghai()
            .with_ymd_and_hms(y, m, day, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn rules_parse_and_refuse() {
        assert_eq!(
            Rule::parse("weekly FRI 08:30 or-before").unwrap().cadence,
            Cadence::Weekly {
                day: Weekday::Fri,
                or_before: true
            }
        );
        assert_eq!(
            Rule::parse("monthly first-working-day 08:30").unwrap().cadence,
            Cadence::Monthly
        );
        assert!(Rule::parse("weekly XYZ 08:30").unwrap_err().contains("XYZ"));
        assert!(Rule::parse("weekly MON 8h").is_err());
        assert!(Rule::parse("hourly").is_err());
    }

    #[test]
    fn monthly_bulletin_waits_for_the_first_working_day_after_national_day() {
        let cal = calendar_2026();
        let tz = shanghai();
        let rule = Rule::parse("monthly first-working-day 08:30").unwrap();
        let sept = Period::Month { year: 2026, month: 9 };
        assert_eq!(rule.day_for(sept, &cal).unwrap(), Some(d(2026, 10, 8)));
        // On the holiday, the latest due is August's (on 1 September).
        let (p, due) = rule.latest_due(at(2026, 10, 5, 9, 0), &cal, &tz).unwrap().unwrap();
        assert_eq!((p.to_string(), due), ("2026-08".to_string(), at(2026, 9, 1, 8, 30)));
        // 10-08 08:29: still August's; 08:30: September's.
        assert_eq!(
            rule.latest_due(at(2026, 10, 8, 8, 29), &cal, &tz)
                .unwrap()
                .unwrap()
                .0
                .to_string(),
            "2026-08"
        );
        let (p, due) = rule.latest_due(at(2026, 10, 8, 8, 30), &cal, &tz).unwrap().unwrap();
        assert_eq!((p, due), (sept, at(2026, 10, 8, 8, 30)));
        assert_eq!(
            rule.next_due(at(2026, 10, 5, 9, 0), &cal, &tz).unwrap(),
            Some((sept, at(2026, 10, 8, 8, 30)))
        );
    }

    #[test]
    fn next_dates_in_a_year_not_loaded_are_provisional() {
        let cal = calendar_2026();
        let tz = shanghai();
        let now = at(2026, 12, 3, 9, 0);
        // By hand, 2027 assumed Monday to Friday: December's bulletin on
        // Friday 2027-01-01 (元旦 in a real calendar), Q4's too, 2026's
        // annual report on the same day; the Monday list on 12-07 (loaded).
        let table = [
            (
                "monthly first-working-day 08:30",
                "2026-12",
                at(2027, 1, 1, 8, 30),
                Some(2027),
            ),
            (
                "quarterly first-working-day 08:30",
                "2026-Q4",
                at(2027, 1, 1, 8, 30),
                Some(2027),
            ),
            ("weekly MON 08:30 or-after", "2026-W50", at(2026, 12, 7, 8, 30), None),
        ];
        for (text, period, when, unloaded) in table {
            let rule = Rule::parse(text).unwrap();
            // Without the assumption there is no next date at all.
            if unloaded.is_some() {
                assert!(rule.next_due(now, &cal, &tz).is_err(), "{text}");
            }
            let next = rule.next_shown(now, &cal, &tz).unwrap();
            assert_eq!(
                (next.period.to_string(), next.at, next.unloaded_year),
                (period.to_string(), when, unloaded),
                "{text}"
            );
        }
    }

    #[test]
    fn late_reports_go_out_within_their_window() {
        use crate::period::ReportKind;
        let tz = shanghai();
        let hours = Duration::hours(72);
        // The Monday list and the bulletins: up to 72 hours late.
        let monday = at(2026, 10, 12, 8, 30);
        assert_eq!(send_by(ReportKind::Weekly, monday, hours, &tz), at(2026, 10, 15, 8, 30));
        let first = at(2026, 10, 8, 8, 30);
        assert_eq!(send_by(ReportKind::Monthly, first, hours, &tz), at(2026, 10, 11, 8, 30));
        // The Friday reminder: that day only, up to 24:00 court time.
        let friday = at(2026, 10, 16, 8, 30);
        assert_eq!(send_by(ReportKind::Friday, friday, hours, &tz), at(2026, 10, 17, 0, 0));
        // …and never beyond the catch-up window when it is shorter.
        assert_eq!(
            send_by(ReportKind::Friday, friday, Duration::hours(2), &tz),
            at(2026, 10, 16, 10, 30)
        );
    }

    #[test]
    fn weekly_days_move_within_their_week() {
        let cal = calendar_2026();
        let monday = Rule::parse("weekly MON 08:30 or-after").unwrap();
        let friday = Rule::parse("weekly FRI 08:30 or-before").unwrap();
        let week = |y, m, day| Period::week_of(d(y, m, day));
        // National Day week: Monday 10-05 is off, the list goes out Thursday 10-08.
        assert_eq!(monday.day_for(week(2026, 10, 5), &cal).unwrap(), Some(d(2026, 10, 8)));
        // An ordinary week.
        assert_eq!(monday.day_for(week(2026, 10, 12), &cal).unwrap(), Some(d(2026, 10, 12)));
        assert_eq!(friday.day_for(week(2026, 10, 12), &cal).unwrap(), Some(d(2026, 10, 16)));
        // 中秋: Friday 09-25 is off, the reminder goes out Thursday 09-24.
        assert_eq!(friday.day_for(week(2026, 9, 21), &cal).unwrap(), Some(d(2026, 9, 24)));
        // The week of 10-01: no working day up to Friday: none.
        assert_eq!(friday.day_for(week(2026, 9, 28), &cal).unwrap(), Some(d(2026, 9, 30)));
        assert_eq!(
            Rule::parse("weekly FRI 08:30 or-after")
                .unwrap()
                .day_for(week(2026, 9, 28), &cal)
                .unwrap(),
            None
        );
    }
}
