//! All SQL of the reporting service. Other services' data is read only
//! through the views they publish for reporting (`registry.report_*`,
//! `assignment.report_*`, and the calendar as `assignment.working_calendar`).

use crate::model::{Assignment, Dataset, Feedback, Figure, Item, Milestone, Unit, Urge};
use crate::rules::{RuleRow, Rules};
use chrono::{DateTime, Utc};
use duban_core::calendar::Calendar;
use duban_platform::Result;
use futures::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, PgPool, Row};
use uuid::Uuid;

/// Maps keyed by id: ids come from the database, so a fast hash will do.
type IdMap<V> = foldhash::HashMap<Uuid, V>;

// ---- Reading what the report is about -------------------------------------

fn unit_from(row: &PgRow) -> Result<Unit> {
    Ok(Unit {
        id: row.try_get("id")?,
        ancestry: row.try_get("ancestry")?,
        name: row.try_get("name")?,
        short_name: row.try_get("short_name")?,
        kind: row.try_get("kind")?,
        parent_id: row.try_get("parent_id")?,
        sort_order: row.try_get("sort_order")?,
        head_id: row.try_get("head_id")?,
        head_name: row.try_get::<Option<String>, _>("head_name")?.unwrap_or_default(),
        head_email: row.try_get::<Option<String>, _>("head_email")?.unwrap_or_default(),
        liaison_id: row.try_get("liaison_id")?,
        liaison_name: row.try_get::<Option<String>, _>("liaison_name")?.unwrap_or_default(),
        liaison_email: row.try_get::<Option<String>, _>("liaison_email")?.unwrap_or_default(),
    })
}

const UNIT_COLUMNS: &str = "SELECT id, ancestry, name, short_name, kind, parent_id, sort_order, head_id, head_name, head_email, \
                            liaison_id, liaison_name, liaison_email FROM registry.report_units";

/// Courts that have items in their ledger, in directory order.
pub async fn courts(db: impl PgExecutor<'_>) -> Result<Vec<Unit>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{UNIT_COLUMNS} WHERE id IN (SELECT DISTINCT court_id FROM registry.report_items) ORDER BY sort_order, id"
    )))
    .fetch_all(db)
    .await?;
    rows.iter().map(unit_from).collect()
}

/// A unit by its code (e.g. jczy-zxj).
pub async fn unit_by_code(db: impl PgExecutor<'_>, code: &str) -> Result<Option<Unit>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{UNIT_COLUMNS} WHERE code = $1")))
        .bind(code)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(unit_from).transpose()
}

pub async fn unit(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Unit>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{UNIT_COLUMNS} WHERE id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(unit_from).transpose()
}

/// The working-day calendar, every year loaded.
pub async fn calendar(db: impl PgExecutor<'_>) -> Result<Calendar> {
    duban_platform::calendar::published(db).await
}

/// What a report reads of a court's follow-up.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    /// Assignments finished before this instant and left alone since (no
    /// feedback, urge or flag from then on) are in no figure or list of the
    /// report: they are not read, only their items are known as assigned.
    pub finished_before: DateTime<Utc>,
    /// Feedback submitted from here on is read, with each assignment's
    /// latest before it.
    pub feedback_since: DateTime<Utc>,
    /// The instant the report is as at: later feedback is not read.
    pub until: DateTime<Utc>,
}

/// The assignments (`a`) a report reads, `$2` being `finished_before`.
const READ_ASSIGNMENT: &str = "(coalesce(a.verified_at, a.closed_out_at) IS NULL \
     OR coalesce(a.verified_at, a.closed_out_at) >= $2 OR a.flagged_at >= $2 \
     OR EXISTS (SELECT 1 FROM assignment.report_feedback f2 WHERE f2.assignment_id = a.id AND f2.submitted_at >= $2) \
     OR EXISTS (SELECT 1 FROM assignment.report_urges u2 WHERE u2.assignment_id = a.id AND u2.issued_at >= $2))";

/// A court's units, items and the assignments a report reads (with their
/// milestones, urges and feedback, see [`Reading`]), rows decoded by
/// position as they stream in. Feedback comes an assignment at a time, and
/// `keep` cuts each assignment's list to what the report reads.
pub async fn dataset(
    pool: &PgPool,
    court: Unit,
    reading: Reading,
    keep: impl Fn(&mut Vec<Feedback>),
) -> Result<Dataset> {
    // Three lines of reads at once (four connections: feedback is two
    // reads), each line's reads one after the other on one connection.
    let directory = async {
        Ok::<_, duban_platform::Error>((
            court_units(pool, court.id).await?,
            court_items(pool, court.id).await?,
            assigned_items(pool, court.id, reading.until).await?,
            provisional_due(pool, court.id, reading.until).await?,
        ))
    };
    let follow_up = async {
        Ok::<_, duban_platform::Error>((
            court_assignments(pool, court.id, &reading).await?,
            court_milestones(pool, court.id, &reading).await?,
            court_urges(pool, court.id, &reading).await?,
        ))
    };
    let ((units, items, assigned_items, provisional_due), (mut assignments, mut milestones, mut urges), mut feedback) =
        futures::try_join!(directory, follow_up, court_feedback(pool, court.id, &reading, keep))?;
    for a in &mut assignments {
        a.milestones = milestones.remove(&a.id).unwrap_or_default();
        a.feedback = feedback.remove(&a.id).unwrap_or_default();
        a.urges = urges.remove(&a.id).unwrap_or_default();
    }
    Ok(Dataset {
        court,
        units,
        items,
        assignments,
        assigned_items,
        provisional_due,
    })
}

/// The due dates of the court's open provisional deadlines (see
/// [`Dataset::provisional_due`]), of assignments made by `until`.
async fn provisional_due(pool: &PgPool, court: Uuid, until: DateTime<Utc>) -> Result<Vec<chrono::NaiveDate>> {
    Ok(sqlx::query_scalar(
        "SELECT m.due_date FROM assignment.report_milestones m \
         JOIN assignment.report_assignments a ON a.id = m.assignment_id \
         WHERE a.court_id = $1 AND a.assigned_at <= $2 AND a.closed_out_at IS NULL \
           AND m.provisional AND m.met_at IS NULL \
         ORDER BY m.due_date",
    )
    .bind(court)
    .bind(until)
    .fetch_all(pool)
    .await?)
}

async fn court_units(pool: &PgPool, court: Uuid) -> Result<Vec<Unit>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{UNIT_COLUMNS} WHERE $1 = ANY(ancestry) AND id <> $1 ORDER BY sort_order, name"
    )))
    .bind(court)
    .fetch_all(pool)
    .await?
    .iter()
    .map(unit_from)
    .collect()
}

async fn court_items(pool: &PgPool, court: Uuid) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut rows = sqlx::query(
        "SELECT id, coalesce(number, ''), title, urgency, lead_unit_id, coalesce(leader_name, ''), source_id, \
                coalesce(source_kind, ''), coalesce(source_title, ''), coalesce(source_doc_number, ''), \
                registered_at, parent_id \
         FROM registry.report_items WHERE court_id = $1",
    )
    .bind(court)
    .fetch(pool);
    while let Some(row) = rows.try_next().await? {
        items.push(Item {
            id: row.try_get(0)?,
            number: row.try_get(1)?,
            title: row.try_get(2)?,
            urgency: row.try_get(3)?,
            lead_unit_id: row.try_get(4)?,
            leader_name: row.try_get(5)?,
            source_id: row.try_get(6)?,
            source_kind: row.try_get(7)?,
            source_title: row.try_get(8)?,
            source_doc_number: row.try_get(9)?,
            registered_at: row.try_get(10)?,
            parent_id: row.try_get(11)?,
        });
    }
    Ok(items)
}

/// The items with an assignment by `until`, read or not.
async fn assigned_items(pool: &PgPool, court: Uuid, until: DateTime<Utc>) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT item_id FROM assignment.report_assignments WHERE court_id = $1 AND assigned_at <= $2",
    )
    .bind(court)
    .bind(until)
    .fetch_all(pool)
    .await?)
}

async fn court_assignments(pool: &PgPool, court: Uuid, reading: &Reading) -> Result<Vec<Assignment>> {
    let mut assignments = Vec::new();
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, item_id, round, unit_id, unit_name, role, head_name, liaison_name, assigned_at, state, grade, \
                verified_at, coalesce(verified_by, ''), verification_notes, closed_out_at, suspended_at, flagged_at, \
                flag_reason \
         FROM assignment.report_assignments a WHERE a.court_id = $1 AND {READ_ASSIGNMENT} ORDER BY assigned_at, id"
    )))
    .bind(court)
    .bind(reading.finished_before)
    .fetch(pool);
    while let Some(row) = rows.try_next().await? {
        assignments.push(Assignment {
            id: row.try_get(0)?,
            item_id: row.try_get(1)?,
            round: row.try_get(2)?,
            unit_id: row.try_get(3)?,
            unit_name: row.try_get(4)?,
            role: row.try_get(5)?,
            head_name: row.try_get(6)?,
            liaison_name: row.try_get(7)?,
            assigned_at: row.try_get(8)?,
            state: row.try_get(9)?,
            grade: row.try_get(10)?,
            verified_at: row.try_get(11)?,
            verified_by: row.try_get(12)?,
            verification_notes: row.try_get(13)?,
            closed_out_at: row.try_get(14)?,
            suspended_at: row.try_get(15)?,
            flagged_at: row.try_get(16)?,
            flag_reason: row.try_get(17)?,
            milestones: Vec::new(),
            feedback: Vec::new(),
            urges: Vec::new(),
        });
    }
    Ok(assignments)
}

/// Rows of `select`, a query of the assignments read (`a`, the court bound
/// as `$1` and `finished_before` as `$2`, the assignment id first), by
/// assignment, each assignment's sorted by `key` here rather than all of
/// them in the database.
async fn by_assignment<T, K: Ord>(
    pool: &PgPool,
    court: Uuid,
    reading: &Reading,
    select: &str,
    decode: impl Fn(&PgRow) -> Result<T>,
    key: impl Fn(&T) -> K,
) -> Result<IdMap<Vec<T>>> {
    let mut out: IdMap<Vec<T>> = IdMap::default();
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{select} WHERE a.court_id = $1 AND {READ_ASSIGNMENT}"
    )))
    .bind(court)
    .bind(reading.finished_before)
    .fetch(pool);
    while let Some(row) = rows.try_next().await? {
        out.entry(row.try_get(0)?).or_default().push(decode(&row)?);
    }
    for list in out.values_mut() {
        list.sort_by_key(&key);
    }
    Ok(out)
}

/// Each assignment's milestones, by due time.
async fn court_milestones(pool: &PgPool, court: Uuid, reading: &Reading) -> Result<IdMap<Vec<Milestone>>> {
    by_assignment(
        pool,
        court,
        reading,
        "SELECT m.assignment_id, m.kind, m.due_date, m.due_at, m.yellow_at, m.met_at, m.provisional \
         FROM assignment.report_milestones m JOIN assignment.report_assignments a ON a.id = m.assignment_id",
        |row| {
            Ok(Milestone {
                kind: row.try_get(1)?,
                due_date: row.try_get(2)?,
                due_at: row.try_get(3)?,
                yellow_at: row.try_get(4)?,
                met_at: row.try_get(5)?,
                provisional: row.try_get(6)?,
            })
        },
        |m| m.due_at,
    )
    .await
}

/// Each assignment's urges, by number.
async fn court_urges(pool: &PgPool, court: Uuid, reading: &Reading) -> Result<IdMap<Vec<Urge>>> {
    by_assignment(
        pool,
        court,
        reading,
        "SELECT u.assignment_id, u.seq, u.kind, u.issued_at, u.answer_due_at, u.responded_at, u.justified \
         FROM assignment.report_urges u JOIN assignment.report_assignments a ON a.id = u.assignment_id",
        |row| {
            Ok(Urge {
                seq: row.try_get(1)?,
                kind: row.try_get(2)?,
                issued_at: row.try_get(3)?,
                answer_due_at: row.try_get(4)?,
                responded_at: row.try_get(5)?,
                justified: row.try_get(6)?,
            })
        },
        |u| u.seq,
    )
    .await
}

/// Each assignment's feedback from `feedback_since` to `until` and its
/// latest before, in submission order, cut by `keep`: the two are read at
/// once, the first as a stream cut as each assignment's rows end, and the
/// latest before is put in front of what was kept and the whole cut again
/// (which keeps what cutting the whole list would).
async fn court_feedback(
    pool: &PgPool,
    court: Uuid,
    reading: &Reading,
    keep: impl Fn(&mut Vec<Feedback>),
) -> Result<IdMap<Vec<Feedback>>> {
    let (mut out, before) = futures::try_join!(
        feedback_since(pool, court, reading, &keep),
        latest_feedback_before(pool, court, reading)
    )?;
    for (id, latest) in before {
        let list = out.entry(id).or_default();
        list.insert(0, latest);
        keep(list);
    }
    Ok(out)
}

const FEEDBACK_COLUMNS: &str = "f.assignment_id, f.kind, f.body, f.reason, f.progress::text, f.submitted_at";

fn feedback_from(row: &PgRow) -> Result<Feedback> {
    let progress: Option<&str> = row.try_get(4)?;
    Ok(Feedback {
        kind: row.try_get(1)?,
        body: row.try_get(2)?,
        reason: row.try_get(3)?,
        progress: progress
            .and_then(|p| serde_json::from_str::<Vec<Figure>>(p).ok())
            .unwrap_or_default(),
        submitted_at: row.try_get(5)?,
    })
}

async fn feedback_since(
    pool: &PgPool,
    court: Uuid,
    reading: &Reading,
    keep: &impl Fn(&mut Vec<Feedback>),
) -> Result<IdMap<Vec<Feedback>>> {
    let mut out: IdMap<Vec<Feedback>> = IdMap::default();
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {FEEDBACK_COLUMNS} \
         FROM assignment.report_feedback f JOIN assignment.report_assignments a ON a.id = f.assignment_id \
         WHERE a.court_id = $1 AND {READ_ASSIGNMENT} AND f.submitted_at >= $3 AND f.submitted_at <= $4 \
         ORDER BY f.assignment_id, f.submitted_at"
    )))
    .bind(court)
    .bind(reading.finished_before)
    .bind(reading.feedback_since)
    .bind(reading.until)
    .fetch(pool);
    let mut current: Option<(Uuid, Vec<Feedback>)> = None;
    while let Some(row) = rows.try_next().await? {
        let id: Uuid = row.try_get(0)?;
        if current.as_ref().is_none_or(|(c, _)| *c != id) {
            if let Some((done, mut list)) = current.replace((id, Vec::new())) {
                keep(&mut list);
                out.insert(done, list);
            }
        }
        if let Some((_, list)) = current.as_mut() {
            list.push(feedback_from(&row)?);
        }
    }
    if let Some((done, mut list)) = current {
        keep(&mut list);
        out.insert(done, list);
    }
    Ok(out)
}

async fn latest_feedback_before(pool: &PgPool, court: Uuid, reading: &Reading) -> Result<Vec<(Uuid, Feedback)>> {
    let mut out = Vec::new();
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT DISTINCT ON (f.assignment_id) {FEEDBACK_COLUMNS} \
         FROM assignment.report_feedback f JOIN assignment.report_assignments a ON a.id = f.assignment_id \
         WHERE a.court_id = $1 AND {READ_ASSIGNMENT} AND f.submitted_at < $3 \
         ORDER BY f.assignment_id, f.submitted_at DESC"
    )))
    .bind(court)
    .bind(reading.finished_before)
    .bind(reading.feedback_since)
    .fetch(pool);
    while let Some(row) = rows.try_next().await? {
        out.push((row.try_get(0)?, feedback_from(&row)?));
    }
    Ok(out)
}

// ---- Recipients ------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub person_id: Option<Uuid>,
    pub name: String,
    pub email: String,
}

/// People holding one of `roles` in the court's subtree, and, with
/// `unit_heads`, the heads of its units; active, with an e-mail address,
/// each address once.
pub async fn recipients(pool: &PgPool, court: Uuid, roles: &[&str], unit_heads: bool) -> Result<Vec<Recipient>> {
    let rows: Vec<(Option<Uuid>, String, String)> = sqlx::query_as(
        "SELECT id, name, email FROM ( \
           SELECT DISTINCT ON (lower(p.email)) p.id, p.name, p.email, min(u.sort_order) AS o \
           FROM registry.report_people p JOIN registry.report_units u ON u.id = p.role_unit_id \
           WHERE $1 = ANY(u.ancestry) AND p.role = ANY($2) AND p.active AND p.email <> '' \
           GROUP BY p.id, p.name, p.email \
           UNION ALL \
           SELECT u.head_id, u.head_name, u.head_email, u.sort_order FROM registry.report_units u \
           WHERE $3 AND $1 = ANY(u.ancestry) AND u.active AND u.head_id IS NOT NULL AND coalesce(u.head_email, '') <> '' \
         ) r ORDER BY o, name",
    )
    .bind(court)
    .bind(roles)
    .bind(unit_heads)
    .fetch_all(pool)
    .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|(_, _, email)| seen.insert(email.trim().to_lowercase()))
        .map(|(person_id, name, email)| Recipient {
            person_id,
            name,
            email: email.trim().to_owned(),
        })
        .collect())
}

// ---- The rule table --------------------------------------------------------

/// Adds the shipped rules the table does not have yet; edits stay.
pub async fn seed_rules(pool: &PgPool) -> Result<()> {
    for r in Rules::shipped().rows() {
        sqlx::query(
            "INSERT INTO reporting.countermeasures (finding, title, countermeasure, params) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (finding) DO NOTHING",
        )
        .bind(&r.finding)
        .bind(&r.title)
        .bind(&r.countermeasure)
        .bind(&r.params)
        .execute(pool)
        .await?;
    }
    Ok(())
}

pub async fn rules(db: impl PgExecutor<'_>) -> Result<Rules> {
    let rows: Vec<(String, String, String, serde_json::Value)> =
        sqlx::query_as("SELECT finding, title, countermeasure, params FROM reporting.countermeasures")
            .fetch_all(db)
            .await?;
    if rows.is_empty() {
        return Ok(Rules::shipped());
    }
    Ok(Rules::new(rows.into_iter().map(
        |(finding, title, countermeasure, params)| RuleRow {
            finding,
            title,
            countermeasure,
            params,
        },
    )))
}

// ---- Schedules and firings -------------------------------------------------

#[derive(Debug, Clone)]
pub struct ScheduleRow {
    pub kind: String,
    pub rule: String,
    pub enabled: bool,
}

pub async fn schedules(db: impl PgExecutor<'_>) -> Result<Vec<ScheduleRow>> {
    let rows: Vec<(String, String, bool)> =
        sqlx::query_as("SELECT kind, rule, enabled FROM reporting.schedules ORDER BY kind")
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, rule, enabled)| ScheduleRow { kind, rule, enabled })
        .collect())
}

pub async fn fired(db: impl PgExecutor<'_>, kind: &str, period: &str) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM reporting.firings WHERE kind = $1 AND period = $2)")
            .bind(kind)
            .bind(period)
            .fetch_one(db)
            .await?,
    )
}

/// Claims a schedule's period; false when another worker already did.
pub async fn claim_firing(
    conn: &mut PgConnection,
    kind: &str,
    period: &str,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
    reports: i32,
) -> Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO reporting.firings (kind, period, due_at, fired_at, reports) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT DO NOTHING",
    )
    .bind(kind)
    .bind(period)
    .bind(due_at)
    .bind(now)
    .bind(reports)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

// ---- The archive -------------------------------------------------------------

pub struct NewReport<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub period: &'a str,
    pub court_id: Uuid,
    pub unit_id: Option<Uuid>,
    pub title: &'a str,
    pub number: &'a str,
    pub subject: &'a str,
    pub issued_at: DateTime<Utc>,
    pub issued_by: &'a str,
    pub html: &'a str,
    pub text: &'a str,
    pub snapshot: &'a serde_json::Value,
    pub attachment: Option<(&'a str, &'a [u8])>,
    /// 0 for the report itself; n for its n-th corrected reissue (更正).
    pub correction: i32,
    pub replaces: Option<Uuid>,
    pub correction_reason: &'a str,
}

/// The latest issue of a court's numbered report for (kind, period): the
/// report itself or its latest correction.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Issued {
    pub id: Uuid,
    pub number: String,
    pub issued_at: DateTime<Utc>,
    pub correction: i32,
}

pub async fn latest_issued(
    db: impl PgExecutor<'_>,
    court_id: Uuid,
    kind: &str,
    period: &str,
) -> Result<Option<Issued>> {
    Ok(sqlx::query_as(
        "SELECT id, number, issued_at, correction FROM reporting.reports \
         WHERE court_id = $1 AND kind = $2 AND period = $3 AND unit_id IS NULL \
         ORDER BY correction DESC LIMIT 1",
    )
    .bind(court_id)
    .bind(kind)
    .bind(period)
    .fetch_optional(db)
    .await?)
}

pub async fn insert_report(conn: &mut PgConnection, r: &NewReport<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO reporting.reports (id, kind, period, court_id, unit_id, title, number, subject, issued_at, \
                                        issued_by, html, text_body, snapshot, attachment_name, attachment, \
                                        correction, replaces, correction_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(r.id)
    .bind(r.kind)
    .bind(r.period)
    .bind(r.court_id)
    .bind(r.unit_id)
    .bind(r.title)
    .bind(r.number)
    .bind(r.subject)
    .bind(r.issued_at)
    .bind(r.issued_by)
    .bind(r.html)
    .bind(r.text)
    .bind(r.snapshot)
    .bind(r.attachment.map(|a| a.0))
    .bind(r.attachment.map(|a| a.1))
    .bind(r.correction)
    .bind(r.replaces)
    .bind(r.correction_reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery job per recipient; the Message-ID is fixed here, once.
/// Queues a report's deliveries, or with `skip` (the reason) records them
/// as not sent.
pub async fn insert_deliveries(
    conn: &mut PgConnection,
    report: Uuid,
    recipients: &[Recipient],
    domain: &str,
    skip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    for r in recipients {
        sqlx::query(
            "INSERT INTO reporting.deliveries (id, report_id, person_id, recipient_name, recipient_email, message_id, \
                                               state, next_attempt_at, last_error, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $8::text IS NULL THEN 'pending' ELSE 'skipped' END, \
                     clock_timestamp(), coalesce($8, ''), $7, $7) ON CONFLICT DO NOTHING",
        )
        .bind(Uuid::new_v4())
        .bind(report)
        .bind(r.person_id)
        .bind(&r.name)
        .bind(&r.email)
        .bind(crate::mail::message_id(report, &r.email, domain))
        .bind(now)
        .bind(skip)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    pub id: Uuid,
    pub seq: i64,
    pub kind: String,
    pub period: String,
    pub court_id: Uuid,
    pub unit_id: Option<Uuid>,
    pub title: String,
    pub number: String,
    pub subject: String,
    pub issued_at: DateTime<Utc>,
    pub issued_by: String,
    pub html: String,
    pub text_body: String,
    pub snapshot: serde_json::Value,
    pub attachment_name: Option<String>,
    pub replaces: Option<Uuid>,
    pub correction_reason: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub report_id: Uuid,
    pub recipient_name: String,
    pub recipient_email: String,
    pub message_id: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: String,
    pub sent_at: Option<DateTime<Utc>>,
}

const REPORT_COLUMNS: &str = "SELECT id, seq, kind, period, court_id, unit_id, title, number, subject, issued_at, \
                              issued_by, html, text_body, snapshot, attachment_name, replaces, correction_reason \
                              FROM reporting.reports";
const LIST_COLUMNS: &str = "SELECT id, seq, kind, period, court_id, unit_id, title, number, subject, issued_at, \
                            issued_by, '' AS html, '' AS text_body, 'null'::jsonb AS snapshot, attachment_name, \
                            replaces, correction_reason FROM reporting.reports";
const DELIVERY_COLUMNS: &str = "SELECT id, report_id, recipient_name, recipient_email, message_id, state, attempts, \
                                next_attempt_at, last_error, sent_at FROM reporting.deliveries";

pub async fn report(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<ReportRow>> {
    Ok(
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{REPORT_COLUMNS} WHERE id = $1")))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// Newest first, keyset on `seq`, `limit + 1` rows.
pub async fn list_reports(
    db: impl PgExecutor<'_>,
    scope: Option<&[Uuid]>,
    kind: Option<&str>,
    period: Option<&str>,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<ReportRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{LIST_COLUMNS} WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR period = $2) \
         AND ($3::bigint IS NULL OR seq < $3) \
         AND ($5::uuid[] IS NULL OR court_id IN (SELECT id FROM registry.report_units WHERE ancestry && $5)) \
         ORDER BY seq DESC LIMIT $4"
    )))
    .bind(kind)
    .bind(period)
    .bind(before_seq)
    .bind(limit + 1)
    .bind(scope)
    .fetch_all(db)
    .await?)
}

pub async fn deliveries(db: impl PgExecutor<'_>, reports: &[Uuid]) -> Result<Vec<DeliveryRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{DELIVERY_COLUMNS} WHERE report_id = ANY($1) ORDER BY recipient_name, recipient_email"
    )))
    .bind(reports)
    .fetch_all(db)
    .await?)
}

/// Puts a report's failed and skipped deliveries (and, with `include_sent`,
/// its sent ones) back in the queue; returns how many.
pub async fn requeue(conn: &mut PgConnection, report: Uuid, include_sent: bool, now: DateTime<Utc>) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE reporting.deliveries SET state = 'pending', attempts = 0, next_attempt_at = clock_timestamp(), \
                lease_until = NULL, last_error = '', updated_at = $3 \
         WHERE report_id = $1 AND (state IN ('failed', 'skipped') OR ($2 AND state = 'sent'))",
    )
    .bind(report)
    .bind(include_sent)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected())
}

// ---- Delivery jobs -----------------------------------------------------------

/// A leased delivery with what it sends.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub report_id: Uuid,
    pub recipient_name: String,
    pub recipient_email: String,
    pub message_id: String,
    pub attempts: i32,
    /// This lease's token: outcomes are recorded only while it is the
    /// delivery's (no other worker has leased it since).
    pub lease_token: Uuid,
    pub subject: String,
    pub html: String,
    pub text_body: String,
    pub attachment_name: Option<String>,
    pub attachment: Option<Vec<u8>>,
    pub issued_at: DateTime<Utc>,
}

/// Leases the next due delivery for `lease_secs` (real time): pending and
/// due, or sending with an expired lease (its worker died). The attempt is
/// counted here, before anything is sent.
pub async fn lease(pool: &PgPool, lease_secs: f64) -> Result<Option<Job>> {
    Ok(sqlx::query_as(
        "WITH next AS ( \
           SELECT id FROM reporting.deliveries \
           WHERE state IN ('pending', 'sending') AND next_attempt_at <= clock_timestamp() \
             AND (lease_until IS NULL OR lease_until < clock_timestamp()) \
           ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED), \
         leased AS ( \
           UPDATE reporting.deliveries d SET state = 'sending', attempts = d.attempts + 1, \
                  lease_until = clock_timestamp() + $1 * interval '1 second', lease_token = gen_random_uuid(), \
                  updated_at = clock_timestamp() \
           FROM next WHERE d.id = next.id \
           RETURNING d.id, d.report_id, d.recipient_name, d.recipient_email, d.message_id, d.attempts, d.lease_token) \
         SELECT l.id, l.report_id, l.recipient_name, l.recipient_email, l.message_id, l.attempts, l.lease_token, \
                r.subject, r.html, \
                r.text_body, r.attachment_name, r.attachment, r.issued_at \
         FROM leased l JOIN reporting.reports r ON r.id = l.report_id",
    )
    .bind(lease_secs)
    .fetch_optional(pool)
    .await?)
}

/// What the mail server made of one attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome<'a> {
    /// Accepted, with the server's reply.
    Sent { reply: &'a str },
    /// A temporary failure: try again after `after_secs`.
    Retry { error: &'a str, after_secs: f64 },
    /// A permanent failure (or out of attempts): recorded and left alone.
    Failed { error: &'a str },
}

/// Records `outcome` of the lease `token` on delivery `id`; false when the
/// lease is no longer this one's (another worker leased the delivery after
/// this lease ran out), and then nothing is changed: that worker's outcome
/// stands.
pub async fn record(pool: &PgPool, id: Uuid, token: Uuid, outcome: Outcome<'_>) -> Result<bool> {
    match outcome {
        Outcome::Sent { reply } => mark_sent(pool, id, token, reply).await,
        Outcome::Retry { error, after_secs } => mark_retry(pool, id, token, error, after_secs).await,
        Outcome::Failed { error } => mark_failed(pool, id, token, error).await,
    }
}

/// The server accepted the message.
pub async fn mark_sent(pool: &PgPool, id: Uuid, token: Uuid, reply: &str) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE reporting.deliveries SET state = 'sent', sent_at = clock_timestamp(), smtp_reply = $3, \
                lease_until = NULL, lease_token = NULL, last_error = '', updated_at = clock_timestamp() \
         WHERE id = $1 AND lease_token = $2",
    )
    .bind(id)
    .bind(token)
    .bind(reply)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// A temporary failure: try again after `after_secs`.
pub async fn mark_retry(pool: &PgPool, id: Uuid, token: Uuid, error: &str, after_secs: f64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE reporting.deliveries SET state = 'pending', last_error = $3, lease_until = NULL, lease_token = NULL, \
                next_attempt_at = clock_timestamp() + $4 * interval '1 second', updated_at = clock_timestamp() \
         WHERE id = $1 AND lease_token = $2",
    )
    .bind(id)
    .bind(token)
    .bind(error)
    .bind(after_secs)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// A permanent failure (or out of attempts): recorded and left alone.
pub async fn mark_failed(pool: &PgPool, id: Uuid, token: Uuid, error: &str) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE reporting.deliveries SET state = 'failed', last_error = $3, lease_until = NULL, lease_token = NULL, \
                updated_at = clock_timestamp() WHERE id = $1 AND lease_token = $2",
    )
    .bind(id)
    .bind(token)
    .bind(error)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// Gives a lease back without counting the attempt (the worker is
/// stopping before it sent anything).
pub async fn release(pool: &PgPool, id: Uuid, token: Uuid) -> Result<()> {
    sqlx::query(
        "UPDATE reporting.deliveries SET state = 'pending', attempts = greatest(attempts - 1, 0), lease_until = NULL, \
                lease_token = NULL, updated_at = clock_timestamp() WHERE id = $1 AND lease_token = $2",
    )
    .bind(id)
    .bind(token)
    .execute(pool)
    .await?;
    Ok(())
}
