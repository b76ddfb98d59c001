//! The SQL of notices (催办通知 / 临近提醒 / 通报批评告知): their cursor in the
//! event stream, and what a notice says, read only through the views the
//! registry and the assignment service publish for reporting.

use chrono::{DateTime, NaiveDate, Utc};
use duban_platform::Result;
use sqlx::{PgConnection, PgExecutor, Row};
use uuid::Uuid;

/// Locks the one cursor row for this transaction: replicas take turns.
pub async fn lock_cursor(conn: &mut PgConnection) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT cursor FROM reporting.notice_cursor WHERE id = 1 FOR UPDATE")
            .fetch_one(conn)
            .await?,
    )
}

/// The cursor as committed, without waiting for a pass in progress.
pub async fn cursor(db: impl PgExecutor<'_>) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT cursor FROM reporting.notice_cursor WHERE id = 1")
            .fetch_one(db)
            .await?,
    )
}

/// Moves the cursor to the end of the event stream as it stands (what the
/// migration does when notices are deployed): what happened so far is
/// history, not news.
pub async fn skip_to_end(db: impl PgExecutor<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE reporting.notice_cursor SET cursor = coalesce( \
            (SELECT xid::text || '.' || id FROM platform.events ORDER BY xid DESC, id DESC LIMIT 1), cursor) \
         WHERE id = 1",
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_cursor(conn: &mut PgConnection, cursor: &str, read: i64) -> Result<()> {
    sqlx::query("UPDATE reporting.notice_cursor SET cursor = $1, events = events + $2 WHERE id = 1")
        .bind(cursor)
        .bind(read)
        .execute(conn)
        .await?;
    Ok(())
}

/// One person a notice goes to; `email` may be empty.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

/// An assignment as a notice names it.
#[derive(Debug, Clone)]
pub struct Subject {
    pub court_id: Uuid,
    pub court_name: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub unit_ancestry: Vec<Uuid>,
    pub item_number: String,
    pub item_title: String,
    /// The unit's head (责任人) and liaison (联络员) in the directory now.
    pub head: Option<Person>,
    pub liaison: Option<Person>,
}

fn person(row: &sqlx::postgres::PgRow, prefix: &str) -> Result<Option<Person>> {
    let id: Option<Uuid> = row.try_get(format!("{prefix}_id").as_str())?;
    Ok(match id {
        Some(id) => Some(Person {
            id,
            name: row
                .try_get::<Option<String>, _>(format!("{prefix}_name").as_str())?
                .unwrap_or_default(),
            email: row
                .try_get::<Option<String>, _>(format!("{prefix}_email").as_str())?
                .unwrap_or_default()
                .trim()
                .to_owned(),
        }),
        None => None,
    })
}

/// The assignment's item, unit, court and the unit's head and liaison.
pub async fn subject(db: impl PgExecutor<'_>, assignment: Uuid) -> Result<Option<Subject>> {
    let row = sqlx::query(
        "SELECT a.court_id, coalesce(c.name, '') AS court_name, a.unit_id, coalesce(u.name, a.unit_name) AS unit_name, \
                coalesce(u.ancestry, ARRAY[a.court_id, a.unit_id]) AS unit_ancestry, \
                coalesce(i.number, '') AS item_number, coalesce(i.title, '') AS item_title, \
                u.head_id, u.head_name, u.head_email, u.liaison_id, u.liaison_name, u.liaison_email \
         FROM assignment.report_assignments a \
         LEFT JOIN registry.report_units u ON u.id = a.unit_id \
         LEFT JOIN registry.report_units c ON c.id = a.court_id \
         LEFT JOIN registry.report_items i ON i.id = a.item_id \
         WHERE a.id = $1",
    )
    .bind(assignment)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Subject {
        court_id: row.try_get("court_id")?,
        court_name: row.try_get("court_name")?,
        unit_id: row.try_get("unit_id")?,
        unit_name: row.try_get("unit_name")?,
        unit_ancestry: row.try_get("unit_ancestry")?,
        item_number: row.try_get("item_number")?,
        item_title: row.try_get("item_title")?,
        head: person(&row, "head")?,
        liaison: person(&row, "liaison")?,
    }))
}

/// A milestone of an assignment: its last day, the instant it falls due,
/// and when it was met.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct MilestoneDue {
    pub due_date: NaiveDate,
    pub due_at: DateTime<Utc>,
    pub met_at: Option<DateTime<Utc>>,
    pub provisional: bool,
}

pub async fn milestone(db: impl PgExecutor<'_>, assignment: Uuid, kind: &str) -> Result<Option<MilestoneDue>> {
    Ok(sqlx::query_as(
        "SELECT due_date, due_at, met_at, provisional FROM assignment.report_milestones WHERE assignment_id = $1 AND kind = $2",
    )
    .bind(assignment)
    .bind(kind)
    .fetch_optional(db)
    .await?)
}

/// When an urge's answer is due.
pub async fn urge_answer_due(db: impl PgExecutor<'_>, assignment: Uuid, seq: i32) -> Result<Option<DateTime<Utc>>> {
    Ok(
        sqlx::query_scalar("SELECT answer_due_at FROM assignment.report_urges WHERE assignment_id = $1 AND seq = $2")
            .bind(assignment)
            .bind(seq)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

/// A recipient without an e-mail address: recorded as a failed delivery
/// (empty address, a Message-ID from the person), shown by GetReport.
pub async fn insert_undeliverable(
    conn: &mut PgConnection,
    report: Uuid,
    person: &Person,
    domain: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO reporting.deliveries (id, report_id, person_id, recipient_name, recipient_email, message_id, \
                                           state, next_attempt_at, last_error, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, '', $5, 'failed', $6, $7, $6, $6) ON CONFLICT DO NOTHING",
    )
    .bind(Uuid::new_v4())
    .bind(report)
    .bind(person.id)
    .bind(&person.name)
    .bind(crate::mail::message_id(
        report,
        &format!("person:{}", person.id),
        domain,
    ))
    .bind(now)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}
