//! Follow-up policies (督办时限规则) and the deadlines they give. The 13710
//! mechanism is the default; the older 暂行规定 (art. 12) is kept as a second
//! policy. Both are data: a policy is a list of milestones per urgency class.
//!
//! Periods follow the courts' rule (民事诉讼法, 期间): the day the period
//! starts is not counted; a period of N working days ends at 24:00 of the
//! N-th working day after it; a period of months ends on the same date of the
//! later month (its last day if there is none), moved to the next working day
//! when that day is not one.

use crate::calendar::{Calendar, MissingYear};
use crate::item::UrgencyClass;
use chrono::{DateTime, Months, NaiveDate, TimeZone, Utc};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MilestoneKind {
    /// 研究部署: acknowledge and record how it is deployed.
    Deploy,
    /// 反馈初步落实情况.
    Initial,
    /// 办结 (or, for major items, a plan with dated milestones).
    Resolve,
}

impl MilestoneKind {
    pub const ALL: [MilestoneKind; 3] = [MilestoneKind::Deploy, MilestoneKind::Initial, MilestoneKind::Resolve];

    pub fn code(self) -> &'static str {
        match self {
            MilestoneKind::Deploy => "deploy",
            MilestoneKind::Initial => "initial",
            MilestoneKind::Resolve => "resolve",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            MilestoneKind::Deploy => "研究部署",
            MilestoneKind::Initial => "反馈初步落实情况",
            MilestoneKind::Resolve => "办结",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// N working days after the assignment day.
    WorkingDays(u32),
    /// N calendar months after the assignment day.
    Months(u32),
    /// The day of assignment if a working day, else the next one.
    SameWorkingDay,
    /// The date the instruction states.
    StatedDeadline,
}

impl Span {
    pub fn describe_zh(self) -> String {
        match self {
            Span::WorkingDays(n) => format!("{n}个工作日内"),
            Span::Months(n) => format!("{n}个月内"),
            Span::SameWorkingDay => "当日办理".into(),
            Span::StatedDeadline => "按规定时限".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub label_zh: String,
    pub rules: BTreeMap<UrgencyClass, Vec<(MilestoneKind, Span)>>,
}

impl Policy {
    /// 13710: 1 working day to deploy, 3 to report, 7 to resolve, 1 month for
    /// major matters; urgent items the same working day; stated deadlines kept.
    pub fn mechanism_13710() -> Self {
        use MilestoneKind::*;
        Policy {
            name: "13710".into(),
            label_zh: "“13710”工作机制".into(),
            rules: BTreeMap::from([
                (UrgencyClass::Urgent, vec![(Resolve, Span::SameWorkingDay)]),
                (
                    UrgencyClass::FixedDeadline,
                    vec![
                        (Deploy, Span::WorkingDays(1)),
                        (Initial, Span::WorkingDays(3)),
                        (Resolve, Span::StatedDeadline),
                    ],
                ),
                (
                    UrgencyClass::General,
                    vec![
                        (Deploy, Span::WorkingDays(1)),
                        (Initial, Span::WorkingDays(3)),
                        (Resolve, Span::WorkingDays(7)),
                    ],
                ),
                (
                    UrgencyClass::Major,
                    vec![
                        (Deploy, Span::WorkingDays(1)),
                        (Initial, Span::WorkingDays(3)),
                        (Resolve, Span::Months(1)),
                    ],
                ),
            ]),
        }
    }

    /// 暂行规定 art. 12: urgent items at once, stated deadlines kept, the
    /// rest within one month.
    pub fn interim_rules() -> Self {
        use MilestoneKind::*;
        Policy {
            name: "interim".into(),
            label_zh: "《督查工作暂行规定》第十二条".into(),
            rules: BTreeMap::from([
                (UrgencyClass::Urgent, vec![(Resolve, Span::SameWorkingDay)]),
                (UrgencyClass::FixedDeadline, vec![(Resolve, Span::StatedDeadline)]),
                (UrgencyClass::General, vec![(Resolve, Span::Months(1))]),
                (UrgencyClass::Major, vec![(Resolve, Span::Months(1))]),
            ]),
        }
    }
}

/// One computed milestone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub kind: MilestoneKind,
    pub span: Span,
    /// The last day, court local.
    pub date: NaiveDate,
    /// 24:00 local of `date`, as an instant.
    pub at: DateTime<Utc>,
    /// The calendar version of each year the date was counted over; 0 for a
    /// year assumed from the weekly pattern.
    pub versions: BTreeMap<i32, i64>,
    /// Counted over a year that is not loaded (暂定): the date may move when
    /// the year is loaded.
    pub provisional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DueError {
    #[error(transparent)]
    MissingYear(#[from] MissingYear),
    #[error("a fixed_deadline item needs its stated deadline")]
    NoStatedDeadline,
    #[error("the policy has no rule for {0:?}")]
    NoRule(UrgencyClass),
}

/// 00:00 of `date` in `tz`.
pub fn start_of_day<Tz: TimeZone>(date: NaiveDate, tz: &Tz) -> DateTime<Utc> {
    end_of_day(date.pred_opt().unwrap_or(date), tz)
}

/// 24:00 of `date` in `tz`, i.e. the start of the next day.
pub fn end_of_day<Tz: TimeZone>(date: NaiveDate, tz: &Tz) -> DateTime<Utc> {
    let next = date
        .succ_opt()
        .unwrap_or(date)
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists");
    tz.from_local_datetime(&next)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&next))
}

/// The day a deadline instant names. A period ends at 24:00 of its last day,
/// which as an instant is 00:00 of the next: every document names the last
/// day itself (a due instant of 10-10 00:00 is "10-09 24:00", never 10-10).
pub fn due_day<Tz: TimeZone>(at: DateTime<Utc>, tz: &Tz) -> NaiveDate {
    (at - chrono::Duration::nanoseconds(1)).with_timezone(tz).date_naive()
}

/// The last day of a period of `span` that starts on `start` (not counted),
/// per the courts' rule for periods.
pub fn last_day(
    calendar: &Calendar,
    span: Span,
    start: NaiveDate,
    stated: Option<NaiveDate>,
) -> Result<NaiveDate, DueError> {
    Ok(match span {
        Span::WorkingDays(n) => calendar.nth_working_day_after(start, n)?,
        Span::Months(n) => {
            let same_date = start.checked_add_months(Months::new(n)).expect("dates within range");
            calendar.working_day_on_or_after(same_date)?
        }
        Span::SameWorkingDay => calendar.working_day_on_or_after(start)?,
        Span::StatedDeadline => stated.ok_or(DueError::NoStatedDeadline)?,
    })
}

/// Every milestone of `class` under `policy` for an assignment made at
/// `assigned_at`. Milestones that would fall after a stated deadline are
/// dropped: the deadline is the last word.
pub fn deadlines<Tz: TimeZone>(
    calendar: &Calendar,
    policy: &Policy,
    class: UrgencyClass,
    assigned_at: DateTime<Utc>,
    stated: Option<NaiveDate>,
    tz: &Tz,
) -> Result<Vec<Due>, DueError> {
    let start = assigned_at.with_timezone(tz).date_naive();
    let rules = policy.rules.get(&class).ok_or(DueError::NoRule(class))?;
    let mut out = Vec::with_capacity(rules.len());
    for (kind, span) in rules {
        let date = last_day(calendar, *span, start, stated)?;
        let mut versions = calendar.versions(start, date);
        // A stated deadline is not counted over any calendar, so no year
        // it reaches makes it provisional.
        let counted = *span != Span::StatedDeadline;
        if !counted {
            versions.retain(|_, v| *v != 0);
        }
        out.push(Due {
            kind: *kind,
            span: *span,
            date,
            at: end_of_day(date, tz),
            versions,
            provisional: counted && calendar.is_provisional(start, date),
        });
    }
    if let Some(resolve) = out.iter().find(|d| d.kind == MilestoneKind::Resolve).map(|d| d.date) {
        out.retain(|d| d.kind == MilestoneKind::Resolve || d.date <= resolve);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::{d, shipped};
    use chrono_tz_shim::SHANGHAI;

    /// Fixed UTC+8 stands in for Asia/Shanghai, which has had no DST since 1991.
    mod chrono_tz_shim {
        pub const SHANGHAI: chrono::FixedOffset = match chrono::FixedOffset::east_opt(8 * 3600) {
            Some(o) => o,
            None => panic!(),
        };
    }

    fn at(y: i32, m: u32, day: u32, h: u32) -> DateTime<Utc> {
        SHANGHAI
            .with_ymd_and_hms(y, m, day, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn dates(
        class: UrgencyClass,
        assigned: DateTime<Utc>,
        stated: Option<NaiveDate>,
        policy: &Policy,
    ) -> Vec<(MilestoneKind, NaiveDate)> {
        deadlines(&shipped(), policy, class, assigned, stated, &SHANGHAI)
            .unwrap()
            .into_iter()
            .map(|d| (d.kind, d.date))
            .collect()
    }

    use MilestoneKind::*;
    use UrgencyClass::*;

    #[test]
    fn mechanism_13710_around_holidays() {
        let p = Policy::mechanism_13710();
        // (class, assigned at, stated deadline, [deploy, initial, resolve] worked out by hand)
        let table: Vec<(
            UrgencyClass,
            DateTime<Utc>,
            Option<NaiveDate>,
            Vec<(MilestoneKind, NaiveDate)>,
        )> = vec![
            // 2026 National Day: assigned the day before; 10-10 is a make-up Saturday.
            (
                General,
                at(2026, 9, 30, 10),
                None,
                vec![
                    (Deploy, d(2026, 10, 8)),
                    (Initial, d(2026, 10, 10)),
                    (Resolve, d(2026, 10, 15)),
                ],
            ),
            // Assigned late at night local: still the 30th in court time.
            (
                General,
                at(2026, 9, 30, 23),
                None,
                vec![
                    (Deploy, d(2026, 10, 8)),
                    (Initial, d(2026, 10, 10)),
                    (Resolve, d(2026, 10, 15)),
                ],
            ),
            // Assigned on the make-up Sunday before National Day.
            (
                General,
                at(2026, 9, 20, 9),
                None,
                vec![
                    (Deploy, d(2026, 9, 21)),
                    (Initial, d(2026, 9, 23)),
                    (Resolve, d(2026, 9, 30)),
                ],
            ),
            // 2026 Spring Festival: the Friday before; 2-14 and 2-28 are make-up Saturdays.
            (
                General,
                at(2026, 2, 13, 15),
                None,
                vec![
                    (Deploy, d(2026, 2, 14)),
                    (Initial, d(2026, 2, 25)),
                    (Resolve, d(2026, 3, 2)),
                ],
            ),
            (
                Major,
                at(2026, 2, 13, 15),
                None,
                vec![
                    (Deploy, d(2026, 2, 14)),
                    (Initial, d(2026, 2, 25)),
                    (Resolve, d(2026, 3, 13)),
                ],
            ),
            // 2025 Spring Festival: assigned on 除夕 eve (1-27, Monday).
            (
                General,
                at(2025, 1, 27, 9),
                None,
                vec![
                    (Deploy, d(2025, 2, 5)),
                    (Initial, d(2025, 2, 7)),
                    (Resolve, d(2025, 2, 12)),
                ],
            ),
            // 2024 Labour Day: 4-28 (Sunday) and 5-11 (Saturday) are working days.
            (
                General,
                at(2024, 4, 26, 9),
                None,
                vec![
                    (Deploy, d(2024, 4, 28)),
                    (Initial, d(2024, 4, 30)),
                    (Resolve, d(2024, 5, 9)),
                ],
            ),
            (
                General,
                at(2024, 4, 30, 9),
                None,
                vec![
                    (Deploy, d(2024, 5, 6)),
                    (Initial, d(2024, 5, 8)),
                    (Resolve, d(2024, 5, 13)),
                ],
            ),
            // 2025 Labour Day, assigned on the make-up Sunday 4-27.
            (
                General,
                at(2025, 4, 27, 9),
                None,
                vec![
                    (Deploy, d(2025, 4, 28)),
                    (Initial, d(2025, 4, 30)),
                    (Resolve, d(2025, 5, 9)),
                ],
            ),
            // 2024 National Day: 9-29 (Sunday) is a working day.
            (
                General,
                at(2024, 9, 27, 9),
                None,
                vec![
                    (Deploy, d(2024, 9, 29)),
                    (Initial, d(2024, 10, 8)),
                    (Resolve, d(2024, 10, 12)),
                ],
            ),
            // Across the new year.
            (
                General,
                at(2025, 12, 30, 9),
                None,
                vec![
                    (Deploy, d(2025, 12, 31)),
                    (Initial, d(2026, 1, 5)),
                    (Resolve, d(2026, 1, 9)),
                ],
            ),
            // Urgent: the same working day, or the next when assigned on a holiday.
            (Urgent, at(2026, 10, 9, 9), None, vec![(Resolve, d(2026, 10, 9))]),
            (Urgent, at(2026, 10, 3, 9), None, vec![(Resolve, d(2026, 10, 8))]),
            // A stated deadline is the resolution; milestones after it drop.
            (
                FixedDeadline,
                at(2026, 9, 30, 9),
                Some(d(2026, 10, 31)),
                vec![
                    (Deploy, d(2026, 10, 8)),
                    (Initial, d(2026, 10, 10)),
                    (Resolve, d(2026, 10, 31)),
                ],
            ),
            (
                FixedDeadline,
                at(2026, 11, 2, 9),
                Some(d(2026, 11, 3)),
                vec![(Deploy, d(2026, 11, 3)), (Resolve, d(2026, 11, 3))],
            ),
            // Month-end: 1-31 + 1 month = 2-28 (2026), a make-up Saturday, so kept.
            (
                Major,
                at(2026, 1, 31, 9),
                None,
                vec![
                    (Deploy, d(2026, 2, 2)),
                    (Initial, d(2026, 2, 4)),
                    (Resolve, d(2026, 2, 28)),
                ],
            ),
            // 2024 is a leap year: 1-31 + 1 month = 2-29 (Thursday); 2-4 is a make-up Sunday.
            (
                Major,
                at(2024, 1, 31, 9),
                None,
                vec![
                    (Deploy, d(2024, 2, 1)),
                    (Initial, d(2024, 2, 4)),
                    (Resolve, d(2024, 2, 29)),
                ],
            ),
            // 2025: 1-31 + 1 month = 2-28 (Friday).
            (
                Major,
                at(2025, 1, 31, 9),
                None,
                vec![
                    (Deploy, d(2025, 2, 5)),
                    (Initial, d(2025, 2, 7)),
                    (Resolve, d(2025, 2, 28)),
                ],
            ),
            // A month ending in a holiday moves to the next working day: 9-1 + 1 month = 10-1 → 10-8.
            (
                Major,
                at(2026, 9, 1, 9),
                None,
                vec![
                    (Deploy, d(2026, 9, 2)),
                    (Initial, d(2026, 9, 4)),
                    (Resolve, d(2026, 10, 8)),
                ],
            ),
            // Ending on a plain Sunday: 3-8 + 1 month = 4-8 (Wednesday) stays; 2-8 (2026) + 1 = 3-8 Sunday → 3-9.
            (
                Major,
                at(2026, 2, 8, 9),
                None,
                vec![
                    (Deploy, d(2026, 2, 9)),
                    (Initial, d(2026, 2, 11)),
                    (Resolve, d(2026, 3, 9)),
                ],
            ),
        ];
        for (class, assigned, stated, expected) in table {
            assert_eq!(dates(class, assigned, stated, &p), expected, "{class:?} at {assigned}");
        }
    }

    #[test]
    fn interim_rules() {
        let p = Policy::interim_rules();
        assert_eq!(
            dates(General, at(2026, 8, 31, 9), None, &p),
            vec![(Resolve, d(2026, 9, 30))]
        );
        assert_eq!(
            dates(General, at(2026, 9, 1, 9), None, &p),
            vec![(Resolve, d(2026, 10, 8))]
        );
        assert_eq!(
            dates(Urgent, at(2026, 10, 3, 9), None, &p),
            vec![(Resolve, d(2026, 10, 8))]
        );
    }

    #[test]
    fn a_due_instant_names_its_last_day() {
        // 24:00 of 11-09 is 00:00 of 11-10: the day named is 11-09.
        let midnight = end_of_day(d(2026, 11, 9), &SHANGHAI);
        assert_eq!(midnight, Utc.with_ymd_and_hms(2026, 11, 9, 16, 0, 0).unwrap());
        assert_eq!(due_day(midnight, &SHANGHAI), d(2026, 11, 9));
        // Any moment within a day names that day.
        assert_eq!(due_day(at(2026, 11, 10, 9), &SHANGHAI), d(2026, 11, 10));
        assert_eq!(
            due_day(midnight + chrono::Duration::nanoseconds(1), &SHANGHAI),
            d(2026, 11, 10)
        );
    }

    #[test]
    fn ends_at_local_midnight() {
        let due = deadlines(
            &shipped(),
            &Policy::mechanism_13710(),
            General,
            at(2026, 9, 30, 10),
            None,
            &SHANGHAI,
        )
        .unwrap();
        // 24:00 of 2026-10-08 in Beijing is 16:00 UTC that day.
        assert_eq!(due[0].at, Utc.with_ymd_and_hms(2026, 10, 8, 16, 0, 0).unwrap());
    }

    #[test]
    fn unloaded_years_give_provisional_deadlines() {
        let p = Policy::mechanism_13710();
        let c = shipped().assuming_weekly_pattern();
        let provisional = |class, assigned, stated| -> Vec<(MilestoneKind, NaiveDate, bool)> {
            deadlines(&c, &p, class, assigned, stated, &SHANGHAI)
                .unwrap()
                .into_iter()
                .map(|d| (d.kind, d.date, d.provisional))
                .collect()
        };
        // Worked out by hand, 2027 assumed Monday to Friday: 2027-01-01 (a
        // Friday, 元旦 in any real calendar) is provisionally a working day.
        let table: Vec<(
            UrgencyClass,
            DateTime<Utc>,
            Option<NaiveDate>,
            Vec<(MilestoneKind, NaiveDate, bool)>,
        )> = vec![
            // Friday 12-25: 1 → Mon 12-28; 3 → Wed 12-30; 7 → 12-31 (4th),
            // 1-1 (5th), 1-4 (6th), 1-5 (7th).
            (
                General,
                at(2026, 12, 25, 10),
                None,
                vec![
                    (Deploy, d(2026, 12, 28), false),
                    (Initial, d(2026, 12, 30), false),
                    (Resolve, d(2027, 1, 5), true),
                ],
            ),
            // A month: 2027-01-25, a Monday.
            (
                Major,
                at(2026, 12, 25, 10),
                None,
                vec![
                    (Deploy, d(2026, 12, 28), false),
                    (Initial, d(2026, 12, 30), false),
                    (Resolve, d(2027, 1, 25), true),
                ],
            ),
            // Thursday 12-31: 1 → the provisional Friday 1-1; 3 → 1-5; 7 → 1-11;
            // a month → 2027-01-31, a Sunday → Monday 2-1.
            (
                Major,
                at(2026, 12, 31, 9),
                None,
                vec![
                    (Deploy, d(2027, 1, 1), true),
                    (Initial, d(2027, 1, 5), true),
                    (Resolve, d(2027, 2, 1), true),
                ],
            ),
            (
                General,
                at(2026, 12, 31, 9),
                None,
                vec![
                    (Deploy, d(2027, 1, 1), true),
                    (Initial, d(2027, 1, 5), true),
                    (Resolve, d(2027, 1, 11), true),
                ],
            ),
            // Urgent on Saturday 2027-01-02 → Monday 1-4.
            (Urgent, at(2027, 1, 2, 9), None, vec![(Resolve, d(2027, 1, 4), true)]),
            // A stated deadline in 2027 needs no calendar: not provisional.
            (
                FixedDeadline,
                at(2026, 12, 25, 10),
                Some(d(2027, 3, 1)),
                vec![
                    (Deploy, d(2026, 12, 28), false),
                    (Initial, d(2026, 12, 30), false),
                    (Resolve, d(2027, 3, 1), false),
                ],
            ),
            // Within a loaded year nothing is provisional.
            (
                General,
                at(2026, 12, 1, 10),
                None,
                vec![
                    (Deploy, d(2026, 12, 2), false),
                    (Initial, d(2026, 12, 4), false),
                    (Resolve, d(2026, 12, 10), false),
                ],
            ),
        ];
        for (class, assigned, stated, expected) in table {
            assert_eq!(
                provisional(class, assigned, stated),
                expected,
                "{class:?} at {assigned}"
            );
        }
        let major = deadlines(&c, &p, Major, at(2026, 12, 25, 10), None, &SHANGHAI).unwrap();
        assert_eq!(major[2].versions, BTreeMap::from([(2026, 1), (2027, 0)]));
        assert_eq!(major[0].versions, BTreeMap::from([(2026, 1)]));
        let fixed = deadlines(
            &c,
            &p,
            FixedDeadline,
            at(2026, 12, 25, 10),
            Some(d(2027, 3, 1)),
            &SHANGHAI,
        )
        .unwrap();
        assert_eq!(fixed[2].versions, BTreeMap::from([(2026, 1)]));
    }

    #[test]
    fn missing_years_and_deadlines_are_errors() {
        let p = Policy::mechanism_13710();
        let c = shipped();
        assert_eq!(
            deadlines(&c, &p, General, at(2026, 12, 24, 9), None, &SHANGHAI),
            Err(DueError::MissingYear(MissingYear { year: 2027 }))
        );
        assert_eq!(
            deadlines(&c, &p, Major, at(2026, 12, 31, 9), None, &SHANGHAI),
            Err(DueError::MissingYear(MissingYear { year: 2027 }))
        );
        assert_eq!(
            deadlines(&c, &p, FixedDeadline, at(2026, 11, 2, 9), None, &SHANGHAI),
            Err(DueError::NoStatedDeadline)
        );
        // A stated deadline in a missing year is kept: it needs no calendar.
        let far = deadlines(
            &c,
            &p,
            FixedDeadline,
            at(2026, 11, 2, 9),
            Some(d(2027, 3, 1)),
            &SHANGHAI,
        )
        .unwrap();
        assert_eq!(far.last().unwrap().date, d(2027, 3, 1));
    }
}
