//! The working-day calendar as stored (`assignment.calendar_years`, owned by
//! the assignment service): the one decoder of its columns, and the read of
//! the view the assignment service publishes for the services that only
//! read it (`assignment.working_calendar`: appraisal, reporting).

use crate::Result;
use chrono::{NaiveDate, Weekday};
use duban_core::calendar::{Calendar, YearCalendar};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};

/// A year from a row with `year, version, working_weekdays` (ISO numbers,
/// Monday 1), `holidays, workdays`.
pub fn year_from_row(row: &PgRow) -> Result<YearCalendar> {
    let weekdays: Vec<i32> = row.try_get("working_weekdays")?;
    let holidays: Vec<NaiveDate> = row.try_get("holidays")?;
    let workdays: Vec<NaiveDate> = row.try_get("workdays")?;
    Ok(YearCalendar {
        year: row.try_get("year")?,
        version: row.try_get("version")?,
        working_weekdays: weekdays.into_iter().filter_map(weekday_from_iso).collect(),
        holidays: holidays.into_iter().collect(),
        workdays: workdays.into_iter().collect(),
    })
}

fn weekday_from_iso(n: i32) -> Option<Weekday> {
    Weekday::try_from(u8::try_from(n - 1).ok()?).ok()
}

/// Every loaded year, as the assignment service publishes it.
pub async fn published(db: impl PgExecutor<'_>) -> Result<Calendar> {
    let rows =
        sqlx::query("SELECT year, version, working_weekdays, holidays, workdays FROM assignment.working_calendar")
            .fetch_all(db)
            .await?;
    Ok(Calendar::new(
        rows.iter().map(year_from_row).collect::<Result<Vec<_>>>()?,
    ))
}
