//! All SQL of the appraisal service. The directory and the calendar are read
//! through the views their owners publish (migration 0020).

use chrono::{DateTime, NaiveDate, Utc};
use duban_core::calendar::Calendar;
use duban_core::scoring::{Fact, Track, Whom};
use duban_platform::Result;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredRuleSet {
    pub version: i32,
    pub name: String,
    pub effective_from: NaiveDate,
    pub content: String,
    pub loaded_at: DateTime<Utc>,
    pub loaded_by: String,
}

const RULE_SET: &str = "SELECT version, name, effective_from, content, loaded_at, loaded_by FROM appraisal.rule_sets";

pub async fn rule_sets(db: impl PgExecutor<'_>) -> Result<Vec<StoredRuleSet>> {
    Ok(
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{RULE_SET} ORDER BY version")))
            .fetch_all(db)
            .await?,
    )
}

pub async fn rule_set(db: impl PgExecutor<'_>, version: i32) -> Result<Option<StoredRuleSet>> {
    Ok(
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{RULE_SET} WHERE version = $1")))
            .bind(version)
            .fetch_optional(db)
            .await?,
    )
}

/// The version in force on `day`: the highest effective by then.
pub async fn rule_set_on(db: impl PgExecutor<'_>, day: NaiveDate) -> Result<Option<StoredRuleSet>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RULE_SET} WHERE effective_from <= $1 ORDER BY version DESC LIMIT 1"
    )))
    .bind(day)
    .fetch_optional(db)
    .await?)
}

/// Versions some published period was scored with.
pub async fn locked_versions(db: impl PgExecutor<'_>) -> Result<Vec<i32>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT rule_set_version FROM appraisal.periods ORDER BY 1")
            .fetch_all(db)
            .await?,
    )
}

/// The first published period starting on or after `day`: a version
/// effective from `day` would change its rules.
pub async fn published_from(conn: &mut PgConnection, day: NaiveDate) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT key FROM appraisal.periods WHERE starts_on >= $1 ORDER BY starts_on LIMIT 1")
            .bind(day)
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn insert_rule_set(
    conn: &mut PgConnection,
    name: &str,
    effective_from: NaiveDate,
    content: &str,
    at: DateTime<Utc>,
    by: &str,
) -> Result<i32> {
    // Serialises loads (and publishing, which takes the same lock) so a
    // version cannot slip in under a period being published.
    sqlx::query("LOCK TABLE appraisal.rule_sets IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_scalar(
        "INSERT INTO appraisal.rule_sets (version, name, effective_from, content, loaded_at, loaded_by) \
         SELECT coalesce(max(version), 0) + 1, $1, $2, $3, $4, $5 FROM appraisal.rule_sets RETURNING version",
    )
    .bind(name)
    .bind(effective_from)
    .bind(content)
    .bind(at)
    .bind(by)
    .fetch_one(conn)
    .await?)
}

/// Installs the shipped rule set as version 1 when there is none.
pub async fn seed_rule_set(db: impl PgExecutor<'_>, name: &str, from: NaiveDate, content: &str) -> Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO appraisal.rule_sets (version, name, effective_from, content, loaded_at, loaded_by) \
         VALUES (1, $1, $2, $3, now(), 'system') ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(from)
    .bind(content)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

// ---------------------------------------------------------------- the fold

/// Takes the consumer's row lock (held to commit) and returns its cursor.
pub async fn lock_cursor(conn: &mut PgConnection) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT cursor FROM appraisal.consumer WHERE id = 1 FOR UPDATE")
            .fetch_one(conn)
            .await?,
    )
}

pub async fn set_cursor(conn: &mut PgConnection, cursor: &str, folded: i64) -> Result<()> {
    sqlx::query("UPDATE appraisal.consumer SET cursor = $1, events = events + $2 WHERE id = 1")
        .bind(cursor)
        .bind(folded)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets everything folded: the next catch-up starts from the first event.
pub async fn reset(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("DELETE FROM appraisal.facts").execute(&mut *conn).await?;
    sqlx::query("DELETE FROM appraisal.tracks").execute(&mut *conn).await?;
    sqlx::query("UPDATE appraisal.consumer SET cursor = '0.0', events = 0 WHERE id = 1")
        .execute(conn)
        .await?;
    Ok(())
}

fn decode<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T> {
    Ok(serde_json::from_value(v).map_err(anyhow::Error::from)?)
}

/// The tracks of these assignments and of every assignment of these items.
pub async fn tracks(conn: &mut PgConnection, assignments: &[Uuid], items: &[Uuid]) -> Result<Vec<Track>> {
    let rows: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT track FROM appraisal.tracks WHERE assignment_id = ANY($1) OR item_id = ANY($2)")
            .bind(assignments)
            .bind(items)
            .fetch_all(conn)
            .await?;
    rows.into_iter().map(decode).collect()
}

pub async fn save_tracks(conn: &mut PgConnection, tracks: &[&Track]) -> Result<()> {
    for t in tracks {
        let s = &t.subject;
        let counting = t.milestones.iter().any(|m| m.accrual.is_some());
        sqlx::query(
            "INSERT INTO appraisal.tracks (assignment_id, item_id, unit_id, head_id, liaison_id, counting, track) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (assignment_id) DO UPDATE SET counting = EXCLUDED.counting, track = EXCLUDED.track",
        )
        .bind(s.assignment_id)
        .bind(s.item_id)
        .bind(s.unit_id)
        .bind(s.head_id)
        .bind(s.liaison_id)
        .bind(counting)
        .bind(serde_json::to_value(t).map_err(anyhow::Error::from)?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn insert_facts(conn: &mut PgConnection, facts: &[(i32, &Fact)]) -> Result<()> {
    for (n, f) in facts {
        let (first, last) = f.days();
        sqlx::query(
            "INSERT INTO appraisal.facts (event_id, n, rule, first_day, last_day, assignment_id, unit_id, head_id, liaison_id, fact) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(f.event_id)
        .bind(n)
        .bind(f.rule().code())
        .bind(first)
        .bind(last)
        .bind(f.subject.assignment_id)
        .bind(f.subject.unit_id)
        .bind(f.subject.head_id)
        .bind(f.subject.liaison_id)
        .bind(serde_json::to_value(f).map_err(anyhow::Error::from)?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Facts that can count between `first` and `last`, of one subject or all.
pub async fn facts(
    db: impl PgExecutor<'_>,
    whom: Option<Whom>,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<Fact>> {
    let (unit, person) = match whom {
        Some(Whom::Unit(u)) => (Some(u), None),
        Some(Whom::Person(p)) => (None, Some(p)),
        None => (None, None),
    };
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT fact FROM appraisal.facts \
         WHERE first_day <= $2 AND last_day >= $1 \
           AND ($3::uuid IS NULL OR unit_id = $3) \
           AND ($4::uuid IS NULL OR head_id = $4 OR liaison_id = $4) \
         ORDER BY event_id, n",
    )
    .bind(first)
    .bind(last)
    .bind(unit)
    .bind(person)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(decode).collect()
}

/// Tracks with a milestone being counted overdue, of one subject or all.
pub async fn counting_tracks(db: impl PgExecutor<'_>, whom: Option<Whom>) -> Result<Vec<Track>> {
    let (unit, person) = match whom {
        Some(Whom::Unit(u)) => (Some(u), None),
        Some(Whom::Person(p)) => (None, Some(p)),
        None => (None, None),
    };
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT track FROM appraisal.tracks WHERE counting \
           AND ($1::uuid IS NULL OR unit_id = $1) \
           AND ($2::uuid IS NULL OR head_id = $2 OR liaison_id = $2) \
         ORDER BY assignment_id",
    )
    .bind(unit)
    .bind(person)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(decode).collect()
}

/// Every fact and track, for comparing a recomputation.
pub async fn everything(db: &sqlx::PgPool) -> Result<(Vec<serde_json::Value>, Vec<serde_json::Value>)> {
    let facts = sqlx::query_scalar("SELECT fact FROM appraisal.facts ORDER BY event_id, n")
        .fetch_all(db)
        .await?;
    let tracks = sqlx::query_scalar("SELECT track FROM appraisal.tracks ORDER BY assignment_id")
        .fetch_all(db)
        .await?;
    Ok((facts, tracks))
}

// ---------------------------------------------------------------- directory

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnitRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub kind: String,
    pub ancestry: Vec<Uuid>,
    pub sort_order: i32,
    pub active: bool,
    pub head_id: Option<Uuid>,
    pub liaison_id: Option<Uuid>,
}

const UNITS: &str = "SELECT id, code, name, short_name, kind, ancestry, sort_order, active, head_id, liaison_id \
                     FROM registry.appraisal_units";

/// Units in the office's order.
pub async fn units(db: impl PgExecutor<'_>) -> Result<Vec<UnitRow>> {
    Ok(
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{UNITS} ORDER BY sort_order, code")))
            .fetch_all(db)
            .await?,
    )
}

pub async fn unit(db: impl PgExecutor<'_>, id: Option<Uuid>, code: &str) -> Result<Option<UnitRow>> {
    Ok(
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{UNITS} WHERE id = $1 OR code = $2")))
            .bind(id)
            .bind(code)
            .fetch_optional(db)
            .await?,
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PersonRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub unit_id: Uuid,
}

pub async fn person(db: impl PgExecutor<'_>, id: Option<Uuid>, code: &str) -> Result<Option<PersonRow>> {
    Ok(
        sqlx::query_as("SELECT id, code, name, unit_id FROM registry.appraisal_people WHERE id = $1 OR code = $2")
            .bind(id)
            .bind(code)
            .fetch_optional(db)
            .await?,
    )
}

pub async fn people(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<Vec<PersonRow>> {
    Ok(
        sqlx::query_as(
            "SELECT id, code, name, unit_id FROM registry.appraisal_people WHERE id = ANY($1) ORDER BY code",
        )
        .bind(ids)
        .fetch_all(db)
        .await?,
    )
}

/// The working-day calendar, every loaded year.
pub async fn calendar(db: impl PgExecutor<'_>) -> Result<Calendar> {
    duban_platform::calendar::published(db).await
}

// ---------------------------------------------------------------- periods

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PeriodRow {
    pub key: String,
    pub rule_set_version: i32,
    pub published_at: DateTime<Utc>,
    pub published_by: String,
}

pub async fn period(db: impl PgExecutor<'_>, key: &str) -> Result<Option<PeriodRow>> {
    Ok(
        sqlx::query_as(
            "SELECT key, rule_set_version, published_at, published_by FROM appraisal.periods WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(db)
        .await?,
    )
}

pub struct NewPeriod<'a> {
    pub key: &'a str,
    pub kind: &'a str,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub rule_set_version: i32,
    pub at: DateTime<Utc>,
    pub by: &'a str,
}

/// Records the period as published; `false` when it already was.
pub async fn insert_period(conn: &mut PgConnection, p: &NewPeriod<'_>) -> Result<bool> {
    sqlx::query("LOCK TABLE appraisal.rule_sets IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query(
        "INSERT INTO appraisal.periods (key, kind, starts_on, ends_on, rule_set_version, published_at, published_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(p.key)
    .bind(p.kind)
    .bind(p.starts_on)
    .bind(p.ends_on)
    .bind(p.rule_set_version)
    .bind(p.at)
    .bind(p.by)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

pub async fn insert_snapshot(
    conn: &mut PgConnection,
    key: &str,
    kind: &str,
    subject: Uuid,
    total: i64,
    card: &[u8],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO appraisal.snapshots (period_key, subject_kind, subject_id, total, card) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(key)
    .bind(kind)
    .bind(subject)
    .bind(total)
    .bind(card)
    .execute(conn)
    .await?;
    Ok(())
}

/// Published scorecards of a period: one subject's, or every one of a kind.
pub async fn snapshots(
    db: impl PgExecutor<'_>,
    key: &str,
    kind: &str,
    subject: Option<Uuid>,
) -> Result<Vec<(Uuid, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT subject_id, card FROM appraisal.snapshots \
         WHERE period_key = $1 AND subject_kind = $2 AND ($3::uuid IS NULL OR subject_id = $3)",
    )
    .bind(key)
    .bind(kind)
    .bind(subject)
    .fetch_all(db)
    .await?)
}

// ---------------------------------------------------------------- adjustments

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdjustmentRow {
    pub id: Uuid,
    pub period_key: String,
    pub subject_kind: String,
    pub subject_id: Uuid,
    pub points: i64,
    pub reason: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_adjustment(conn: &mut PgConnection, a: &AdjustmentRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO appraisal.adjustments (id, period_key, subject_kind, subject_id, points, reason, author, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(a.id)
    .bind(&a.period_key)
    .bind(&a.subject_kind)
    .bind(a.subject_id)
    .bind(a.points)
    .bind(&a.reason)
    .bind(&a.author)
    .bind(a.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adjustments of a period, of one subject or every one of a kind.
pub async fn adjustments(
    db: impl PgExecutor<'_>,
    key: &str,
    kind: &str,
    subject: Option<Uuid>,
) -> Result<Vec<AdjustmentRow>> {
    Ok(sqlx::query_as(
        "SELECT id, period_key, subject_kind, subject_id, points, reason, author, created_at FROM appraisal.adjustments \
         WHERE period_key = $1 AND subject_kind = $2 AND ($3::uuid IS NULL OR subject_id = $3) \
         ORDER BY created_at, id",
    )
    .bind(key)
    .bind(kind)
    .bind(subject)
    .fetch_all(db)
    .await?)
}
