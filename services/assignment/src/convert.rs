//! Wire forms of dates and times.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use duban_core::Violations;
use duban_proto::registry::v1::Date;

pub fn date(d: NaiveDate) -> Date {
    Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// An optional date: unset or all zero is `None`, anything else must exist.
pub fn date_from(field: &str, d: Option<&Date>, v: &mut Violations) -> Option<NaiveDate> {
    let d = d?;
    if d.year == 0 && d.month == 0 && d.day == 0 {
        return None;
    }
    let parsed = NaiveDate::from_ymd_opt(d.year, d.month.max(0) as u32, d.day.max(0) as u32);
    if parsed.is_none() {
        v.add(field, "is not a calendar date", "日期无效");
    }
    parsed
}

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}
