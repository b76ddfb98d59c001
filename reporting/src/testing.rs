//! Hand-made data for the crate's unit tests: the 2026 calendar around
//! 中秋 and National Day, and a small court built one assignment at a time.

use crate::figures::{Frame, Window};
use crate::model::{Assignment, Dataset, Feedback, Figure, Item, Milestone, Unit, Urge};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use duban_core::calendar::{Calendar, YearCalendar};
use uuid::Uuid;

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn shanghai() -> chrono_tz::Tz {
    chrono_tz::Asia::Shanghai
}

/// Court local time.
pub fn t(m: u32, day: u32, h: u32) -> DateTime<Utc> {
    shanghai()
        .with_ymd_and_hms(2026, m, day, h, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// 2026 as the State Council's notice has it (the holidays that matter here).
pub fn calendar_2026() -> Calendar {
    let span = |from: NaiveDate, to: NaiveDate| from.iter_days().take_while(move |x| *x <= to);
    let holidays = span(d(2026, 1, 1), d(2026, 1, 3))
        .chain(span(d(2026, 2, 15), d(2026, 2, 23)))
        .chain(span(d(2026, 4, 4), d(2026, 4, 6)))
        .chain(span(d(2026, 5, 1), d(2026, 5, 5)))
        .chain(span(d(2026, 6, 19), d(2026, 6, 21)))
        .chain(span(d(2026, 9, 25), d(2026, 9, 27)))
        .chain(span(d(2026, 10, 1), d(2026, 10, 7)))
        .collect();
    let workdays = [
        d(2026, 1, 4),
        d(2026, 2, 14),
        d(2026, 2, 28),
        d(2026, 5, 9),
        d(2026, 9, 20),
        d(2026, 10, 10),
    ]
    .into_iter()
    .collect();
    Calendar::new([YearCalendar {
        year: 2026,
        version: 1,
        working_weekdays: YearCalendar::MONDAY_TO_FRIDAY.to_vec(),
        holidays,
        workdays,
    }])
}

/// A small court: two units, each with a leader; items and assignments
/// added by the tests.
pub struct Court {
    pub data: Dataset,
}

pub const ZXJ: &str = "执行局";
pub const LAT: &str = "立案庭";

impl Court {
    pub fn new() -> Self {
        let unit = |name: &str, order| Unit {
            id: Uuid::new_v4(),
            name: name.into(),
            short_name: name.into(),
            kind: "department".into(),
            sort_order: order,
            head_name: format!("{name}负责人"),
            liaison_name: format!("{name}联络员"),
            liaison_email: "liaison@example.org".into(),
            ..Unit::default()
        };
        Court {
            data: Dataset {
                court: unit("江川市中级人民法院", 0),
                units: vec![unit(LAT, 20), unit(ZXJ, 80)],
                ..Dataset::default()
            },
        }
    }

    pub fn unit(&self, name: &str) -> Uuid {
        self.data.units.iter().find(|u| u.name == name).unwrap().id
    }

    /// A registered item (general class, president's instruction).
    pub fn item(&mut self, number: &str, leader: &str, registered: DateTime<Utc>) -> Uuid {
        let id = Uuid::new_v4();
        self.data.items.push(Item {
            id,
            number: number.into(),
            title: format!("事项{number}"),
            urgency: "general".into(),
            leader_name: leader.into(),
            source_kind: "president_instruction".into(),
            source_title: "关于加强执行工作的批示".into(),
            source_doc_number: "院批〔2026〕3号".into(),
            registered_at: Some(registered),
            ..Item::default()
        });
        id
    }

    /// Assigns `item` to `unit` at `at`, resolution due `due` (24:00), and
    /// returns the assignment for the test to shape.
    pub fn assign(&mut self, item: Uuid, unit: &str, at: DateTime<Utc>, due: NaiveDate) -> &mut Assignment {
        let unit_id = self.unit(unit);
        let due_at = shanghai()
            .from_local_datetime(&due.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap())
            .unwrap()
            .with_timezone(&Utc);
        self.data.assignments.push(Assignment {
            id: Uuid::new_v4(),
            item_id: item,
            round: 1,
            unit_id,
            unit_name: unit.into(),
            role: "lead".into(),
            head_name: format!("{unit}负责人"),
            liaison_name: format!("{unit}联络员"),
            assigned_at: at,
            state: "in_progress".into(),
            grade: None,
            verified_at: None,
            verified_by: String::new(),
            verification_notes: String::new(),
            closed_out_at: None,
            suspended_at: None,
            flagged_at: None,
            flag_reason: String::new(),
            milestones: vec![Milestone {
                kind: "resolve".into(),
                due_date: due,
                due_at,
                yellow_at: due_at - chrono::Duration::days(1),
                met_at: None,
                provisional: false,
            }],
            feedback: Vec::new(),
            urges: Vec::new(),
        });
        self.data.assignments.last_mut().unwrap()
    }

    /// October 2026, as at its end, September before it.
    pub fn october(&self) -> Frame<'_> {
        self.frame(Window {
            start: t(10, 1, 0),
            end: t(11, 1, 0),
        })
    }

    pub fn frame(&self, window: Window) -> Frame<'_> {
        let cal = Box::leak(Box::new(calendar_2026()));
        Frame::new(
            &self.data,
            cal,
            shanghai(),
            window,
            Window {
                start: t(9, 1, 0),
                end: window.start,
            },
            window.end,
        )
    }
}

impl Assignment {
    /// Completion reported at `met`, verified at `verified` with notes.
    pub fn finish(&mut self, met: DateTime<Utc>, verified: DateTime<Utc>) -> &mut Self {
        for m in &mut self.milestones {
            m.met_at = Some(met);
        }
        self.verified_at = Some(verified);
        self.verified_by = "lin.ke".into();
        self.verification_notes = "调阅结案文书".into();
        self.state = "verified".into();
        self.grade = Some("good".into());
        self
    }

    pub fn report(&mut self, kind: &str, at: DateTime<Utc>, body: &str, figures: &[(&str, f64)]) -> &mut Self {
        self.feedback.push(Feedback {
            kind: kind.into(),
            body: body.into(),
            reason: None,
            progress: figures
                .iter()
                .map(|(what, value)| Figure {
                    what: (*what).into(),
                    value: *value,
                    unit: "件".into(),
                })
                .collect(),
            submitted_at: at,
        });
        self
    }

    pub fn delay(&mut self, at: DateTime<Utc>, reason: &str) -> &mut Self {
        self.report("delay_explanation", at, "因客观原因未能按期办结,下步将加快推进", &[]);
        self.feedback.last_mut().unwrap().reason = Some(reason.into());
        self
    }

    pub fn urge(&mut self, at: DateTime<Utc>, justified: Option<bool>) -> &mut Self {
        let seq = self.urges.len() as i32 + 1;
        self.urges.push(Urge {
            seq,
            kind: "manual".into(),
            issued_at: at,
            answer_due_at: at + chrono::Duration::days(1),
            responded_at: justified.map(|_| at + chrono::Duration::hours(2)),
            justified,
        });
        self
    }
}
