//! All SQL of the assignment service.

use crate::calendar_file::HolidayGroup;
use chrono::{DateTime, NaiveDate, Utc};
use duban_core::calendar::{Calendar, YearCalendar};
use duban_core::item::UrgencyClass;
use duban_core::policy::{MilestoneKind, Policy, Span};
use duban_platform::Result;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, Row};
use std::collections::BTreeMap;

/// A stored calendar year with what it was loaded from.
#[derive(Debug, Clone)]
pub struct StoredYear {
    pub calendar: YearCalendar,
    pub groups: Vec<HolidayGroup>,
    pub source: String,
    pub content: String,
    pub loaded_at: DateTime<Utc>,
    pub loaded_by: String,
}

fn year_from_row(row: &PgRow) -> Result<StoredYear> {
    let groups: serde_json::Value = row.try_get("groups")?;
    Ok(StoredYear {
        calendar: duban_platform::calendar::year_from_row(row)?,
        groups: serde_json::from_value(groups).map_err(anyhow::Error::from)?,
        source: row.try_get("source")?,
        content: row.try_get("content")?,
        loaded_at: row.try_get("loaded_at")?,
        loaded_by: row.try_get("loaded_by")?,
    })
}

const YEAR_COLUMNS: &str = "SELECT year, version, working_weekdays, holidays, workdays, groups, source, content, loaded_at, loaded_by FROM assignment.calendar_years";

pub async fn calendar_years(db: impl PgExecutor<'_>) -> Result<Vec<StoredYear>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{YEAR_COLUMNS} ORDER BY year")))
        .fetch_all(db)
        .await?;
    rows.iter().map(year_from_row).collect()
}

/// Every loaded year, ready for arithmetic.
pub async fn calendar(db: impl PgExecutor<'_>) -> Result<Calendar> {
    // Deadlines are never refused for a year not typed in yet: they are
    // counted on the weekly pattern and marked provisional (暂定).
    Ok(Calendar::new(calendar_years(db).await?.into_iter().map(|y| y.calendar)).assuming_weekly_pattern())
}

pub async fn calendar_year(db: impl PgExecutor<'_>, year: i32) -> Result<Option<StoredYear>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{YEAR_COLUMNS} WHERE year = $1")))
        .bind(year)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(year_from_row).transpose()
}

/// The version the next load of `year` gets, the year's row locked.
pub async fn next_version(conn: &mut PgConnection, year: i32) -> Result<i64> {
    let current: Option<i64> =
        sqlx::query_scalar("SELECT version FROM assignment.calendar_years WHERE year = $1 FOR UPDATE")
            .bind(year)
            .fetch_optional(conn)
            .await?;
    Ok(current.unwrap_or(0) + 1)
}

pub async fn save_year(conn: &mut PgConnection, y: &StoredYear) -> Result<()> {
    let c = &y.calendar;
    let weekdays: Vec<i32> = c
        .working_weekdays
        .iter()
        .map(|w| w.number_from_monday() as i32)
        .collect();
    let holidays: Vec<NaiveDate> = c.holidays.iter().copied().collect();
    let workdays: Vec<NaiveDate> = c.workdays.iter().copied().collect();
    sqlx::query(
        "INSERT INTO assignment.calendar_years (year, version, working_weekdays, holidays, workdays, groups, source, content, loaded_at, loaded_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (year) DO UPDATE SET version = $2, working_weekdays = $3, holidays = $4, workdays = $5, groups = $6, \
             source = $7, content = $8, loaded_at = $9, loaded_by = $10",
    )
    .bind(c.year)
    .bind(c.version)
    .bind(&weekdays)
    .bind(&holidays)
    .bind(&workdays)
    .bind(serde_json::to_value(&y.groups).map_err(anyhow::Error::from)?)
    .bind(&y.source)
    .bind(&y.content)
    .bind(y.loaded_at)
    .bind(&y.loaded_by)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO assignment.calendar_versions (year, version, content, loaded_at, loaded_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(c.year)
    .bind(c.version)
    .bind(&y.content)
    .bind(y.loaded_at)
    .bind(&y.loaded_by)
    .execute(conn)
    .await?;
    Ok(())
}

// ---- policies -----------------------------------------------------------------

fn span_json(span: Span) -> serde_json::Value {
    match span {
        Span::WorkingDays(n) => serde_json::json!({ "working_days": n }),
        Span::Months(n) => serde_json::json!({ "months": n }),
        Span::SameWorkingDay => serde_json::json!("same_working_day"),
        Span::StatedDeadline => serde_json::json!("stated_deadline"),
    }
}

fn span_from(v: &serde_json::Value) -> Option<Span> {
    match v {
        serde_json::Value::String(s) if s == "same_working_day" => Some(Span::SameWorkingDay),
        serde_json::Value::String(s) if s == "stated_deadline" => Some(Span::StatedDeadline),
        serde_json::Value::Object(o) => {
            if let Some(n) = o.get("working_days").and_then(|n| n.as_u64()) {
                Some(Span::WorkingDays(n as u32))
            } else {
                o.get("months").and_then(|n| n.as_u64()).map(|n| Span::Months(n as u32))
            }
        }
        _ => None,
    }
}

pub fn policy_json(p: &Policy) -> serde_json::Value {
    let rules: serde_json::Map<String, serde_json::Value> = p
        .rules
        .iter()
        .map(|(class, milestones)| {
            let list: Vec<serde_json::Value> = milestones
                .iter()
                .map(|(k, s)| serde_json::json!([k.code(), span_json(*s)]))
                .collect();
            (class.code().to_owned(), serde_json::Value::Array(list))
        })
        .collect();
    serde_json::Value::Object(rules)
}

fn policy_from(name: String, label: String, rules: &serde_json::Value) -> Result<Policy> {
    let bad = || anyhow::anyhow!("stored policy {name} is malformed");
    let mut out = BTreeMap::new();
    for (class, list) in rules.as_object().ok_or_else(bad)? {
        let class = UrgencyClass::from_code(class).ok_or_else(bad)?;
        let mut milestones = Vec::new();
        for m in list.as_array().ok_or_else(bad)? {
            let kind = m
                .get(0)
                .and_then(|k| k.as_str())
                .and_then(MilestoneKind::from_code)
                .ok_or_else(bad)?;
            let span = m.get(1).and_then(span_from).ok_or_else(bad)?;
            milestones.push((kind, span));
        }
        out.insert(class, milestones);
    }
    Ok(Policy {
        name,
        label_zh: label,
        rules: out,
    })
}

/// Stores the built-in policies that are not there yet; 13710 is the default.
pub async fn seed_policies(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<()> {
    for (policy, default) in [(Policy::mechanism_13710(), true), (Policy::interim_rules(), false)] {
        sqlx::query(
            "INSERT INTO assignment.policies (name, label, is_default, rules, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&policy.name)
        .bind(&policy.label_zh)
        .bind(default)
        .bind(policy_json(&policy))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The named policy, or the default one for an empty name.
pub async fn policy(db: impl PgExecutor<'_>, name: &str) -> Result<Option<(Policy, bool)>> {
    let row: Option<(String, String, bool, serde_json::Value)> = sqlx::query_as(
        "SELECT name, label, is_default, rules FROM assignment.policies WHERE ($1 = '' AND is_default) OR name = $1",
    )
    .bind(name)
    .fetch_optional(db)
    .await?;
    row.map(|(name, label, default, rules)| Ok((policy_from(name, label, &rules)?, default)))
        .transpose()
}

pub async fn policies(db: impl PgExecutor<'_>) -> Result<Vec<(Policy, bool)>> {
    let rows: Vec<(String, String, bool, serde_json::Value)> =
        sqlx::query_as("SELECT name, label, is_default, rules FROM assignment.policies ORDER BY is_default DESC, name")
            .fetch_all(db)
            .await?;
    rows.into_iter()
        .map(|(n, l, d, r)| Ok((policy_from(n, l, &r)?, d)))
        .collect()
}

/// Whether `year`'s calendar is loaded.
pub async fn has_year(db: impl PgExecutor<'_>, year: i32) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM assignment.calendar_years WHERE year = $1)")
            .bind(year)
            .fetch_one(db)
            .await?,
    )
}
