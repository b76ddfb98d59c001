//! SQL of assignments, milestones, feedback and close-out lists.

use chrono::{DateTime, NaiveDate, Utc};
use duban_core::assignment::{AssignmentState, FeedbackKind, Grade};
use duban_core::item::UrgencyClass;
use duban_platform::Result;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder, Row};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// An item as the registry publishes it (`registry.assignable_items`).
#[derive(Debug, Clone)]
pub struct AssignableItem {
    pub id: Uuid,
    pub court_id: Uuid,
    pub number: Option<String>,
    pub title: String,
    pub registered: bool,
    pub urgency: UrgencyClass,
    pub deadline: Option<NaiveDate>,
    pub lead_unit_id: Uuid,
    pub co_unit_ids: Vec<Uuid>,
}

const ASSIGNABLE_ITEM: &str = "SELECT id, court_id, number, title, state, urgency, deadline, lead_unit_id, co_unit_ids \
                               FROM registry.assignable_items";

pub async fn assignable_item(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<AssignableItem>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{ASSIGNABLE_ITEM} WHERE id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(assignable_item_from).transpose()
}

/// The items of `ids` that exist, by id.
pub async fn assignable_items(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<HashMap<Uuid, AssignableItem>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{ASSIGNABLE_ITEM} WHERE id = ANY($1)")))
        .bind(ids)
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| assignable_item_from(r).map(|i| (i.id, i)))
        .collect()
}

fn assignable_item_from(r: &sqlx::postgres::PgRow) -> Result<AssignableItem> {
    let urgency: String = r.try_get("urgency")?;
    let state: String = r.try_get("state")?;
    Ok(AssignableItem {
        id: r.try_get("id")?,
        court_id: r.try_get("court_id")?,
        number: r.try_get("number")?,
        title: r.try_get("title")?,
        registered: state == "registered",
        urgency: UrgencyClass::from_code(&urgency).ok_or_else(|| anyhow::anyhow!("unknown urgency {urgency}"))?,
        deadline: r.try_get("deadline")?,
        lead_unit_id: r.try_get("lead_unit_id")?,
        co_unit_ids: r.try_get("co_unit_ids")?,
    })
}

/// A unit with its current head and liaison (`registry.unit_contacts`).
#[derive(Debug, Clone)]
pub struct UnitContacts {
    pub unit_id: Uuid,
    pub name: String,
    pub ancestry: Vec<Uuid>,
    pub active: bool,
    pub head: Option<(Uuid, String)>,
    pub liaison: Option<(Uuid, String)>,
}

pub async fn unit_contacts(db: impl PgExecutor<'_>, unit: Uuid) -> Result<Option<UnitContacts>> {
    let row = sqlx::query(
        "SELECT unit_id, name, ancestry, active, head_id, head_name, liaison_id, liaison_name \
         FROM registry.unit_contacts WHERE unit_id = $1",
    )
    .bind(unit)
    .fetch_optional(db)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let pair = |id: Option<Uuid>, name: Option<String>| id.zip(name);
    Ok(Some(UnitContacts {
        unit_id: r.try_get("unit_id")?,
        name: r.try_get("name")?,
        ancestry: r.try_get("ancestry")?,
        active: r.try_get("active")?,
        head: pair(r.try_get("head_id")?, r.try_get("head_name")?),
        liaison: pair(r.try_get("liaison_id")?, r.try_get("liaison_name")?),
    }))
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct MilestoneRow {
    pub kind: String,
    pub rule: String,
    pub due_date: NaiveDate,
    pub due_at: DateTime<Utc>,
    pub calendar_versions: serde_json::Value,
    /// Read only: the database derives it from `calendar_versions` (a year
    /// at version 0) unless an extension set the date.
    #[serde(default)]
    pub provisional: bool,
    pub met_at: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    pub yellow_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct FeedbackRow {
    pub id: Uuid,
    pub kind: FeedbackKind,
    pub body: String,
    pub reason: Option<String>,
    pub next_steps: String,
    pub progress: serde_json::Value,
    pub attachments: Vec<String>,
    pub submitted_by: String,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AssignmentRow {
    pub id: Uuid,
    pub item_id: Uuid,
    pub item_title: String,
    pub item_number: Option<String>,
    pub round: i32,
    pub unit_id: Uuid,
    pub role: String,
    pub court_id: Uuid,
    pub unit_ancestry: Vec<Uuid>,
    pub unit_name: String,
    pub head: (Uuid, String),
    pub liaison: (Uuid, String),
    pub urgency: UrgencyClass,
    pub stated_deadline: Option<NaiveDate>,
    pub policy: String,
    pub assigned_at: DateTime<Utc>,
    pub assigned_by: String,
    pub state: AssignmentState,
    pub grade: Option<Grade>,
    pub verified_at: Option<DateTime<Utc>>,
    pub verified_by: Option<String>,
    pub verification_notes: String,
    pub return_comment: String,
    pub closed_out_at: Option<DateTime<Utc>>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub flagged_at: Option<DateTime<Utc>>,
    pub flag_reason: String,
    pub version: i64,
    pub milestones: Vec<MilestoneRow>,
    pub feedback: Vec<FeedbackRow>,
    pub requests: Vec<RequestRow>,
    pub urges: Vec<UrgeRow>,
    pub plans: Vec<PlanRow>,
    pub attention_months: Option<i32>,
    pub attention_since: Option<DateTime<Utc>>,
    /// The item is registered for continuing attention (持续关注).
    pub item_continuing: bool,
}

/// A major item's plan.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PlanRow {
    pub id: Uuid,
    pub summary: String,
    /// [{"date": …, "what": …}]
    pub steps: serde_json::Value,
    pub state: String,
    pub submitted_by: String,
    pub submitted_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub comment: String,
}

impl PlanRow {
    pub fn steps(&self) -> Vec<duban_core::plan::PlanStep> {
        self.steps
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some(duban_core::plan::PlanStep {
                    date: s["date"].as_str()?.parse().ok()?,
                    what: s["what"].as_str()?.to_owned(),
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct UrgeRow {
    pub id: Uuid,
    pub seq: i32,
    pub kind: String,
    pub milestone: Option<String>,
    pub period: Option<String>,
    pub note: String,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    pub answer_due_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub justified: Option<bool>,
}

/// An extension or suspension request.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RequestRow {
    pub id: Uuid,
    pub kind: String,
    pub reason: String,
    pub new_date: Option<NaiveDate>,
    pub state: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub comment: String,
}

/// An assignment with its lists, each as one JSON column: one round trip.
const SELECT: &str = "SELECT a.*, i.title AS item_title, i.number AS item_number, \
       i.continuing_attention AS item_continuing, \
       (SELECT coalesce(json_agg(json_build_object('kind', m.kind, 'rule', m.rule, 'due_date', m.due_date, \
                'due_at', m.due_at, 'calendar_versions', m.calendar_versions, 'provisional', m.provisional, 'met_at', m.met_at, \
                'opened_at', m.opened_at, 'yellow_at', m.yellow_at) ORDER BY m.due_at, m.kind), '[]') \
        FROM assignment.milestones m WHERE m.assignment_id = a.id) AS milestones_json, \
       (SELECT coalesce(json_agg(json_build_object('id', f.id, 'kind', f.kind, 'body', f.body, 'reason', f.reason, \
                'next_steps', f.next_steps, 'progress', f.progress, 'attachments', f.attachments, \
                'submitted_by', f.submitted_by, 'submitted_at', f.submitted_at) ORDER BY f.submitted_at, f.id), '[]') \
        FROM assignment.feedback f WHERE f.assignment_id = a.id) AS feedback_json, \
       (SELECT coalesce(json_agg(json_build_object('id', q.id, 'kind', q.kind, 'reason', q.reason, 'new_date', q.new_date, \
                'state', q.state, 'requested_by', q.requested_by, 'requested_at', q.requested_at, \
                'decided_by', q.decided_by, 'comment', q.comment) ORDER BY q.requested_at, q.id), '[]') \
        FROM assignment.requests q WHERE q.assignment_id = a.id) AS requests_json, \
       (SELECT coalesce(json_agg(json_build_object('id', u.id, 'seq', u.seq, 'kind', u.kind, 'milestone', u.milestone, \
                'period', u.period, 'note', u.note, 'issued_by', u.issued_by, 'issued_at', u.issued_at, \
                'answer_due_at', u.answer_due_at, 'responded_at', u.responded_at, 'justified', u.justified) \
                ORDER BY u.seq), '[]') \
        FROM assignment.urges u WHERE u.assignment_id = a.id) AS urges_json, \
       (SELECT coalesce(json_agg(json_build_object('id', p.id, 'summary', p.summary, 'steps', p.steps, \
                'state', p.state, 'submitted_by', p.submitted_by, 'submitted_at', p.submitted_at, \
                'decided_by', p.decided_by, 'decided_at', p.decided_at, 'comment', p.comment) \
                ORDER BY p.submitted_at, p.id), '[]') \
        FROM assignment.plans p WHERE p.assignment_id = a.id) AS plans_json \
     FROM assignment.assignments a JOIN registry.assignable_items i ON i.id = a.item_id ";

fn from_row(r: &PgRow) -> Result<AssignmentRow> {
    let state: String = r.try_get("state")?;
    let urgency: String = r.try_get("urgency")?;
    let grade: Option<String> = r.try_get("grade")?;
    let mut row = AssignmentRow {
        id: r.try_get("id")?,
        item_id: r.try_get("item_id")?,
        item_title: r.try_get("item_title")?,
        item_number: r.try_get("item_number")?,
        round: r.try_get("round")?,
        unit_id: r.try_get("unit_id")?,
        role: r.try_get("role")?,
        court_id: r.try_get("court_id")?,
        unit_ancestry: r.try_get("unit_ancestry")?,
        unit_name: r.try_get("unit_name")?,
        head: (r.try_get("head_id")?, r.try_get("head_name")?),
        liaison: (r.try_get("liaison_id")?, r.try_get("liaison_name")?),
        urgency: UrgencyClass::from_code(&urgency).ok_or_else(|| anyhow::anyhow!("unknown urgency {urgency}"))?,
        stated_deadline: r.try_get("stated_deadline")?,
        policy: r.try_get("policy")?,
        assigned_at: r.try_get("assigned_at")?,
        assigned_by: r.try_get("assigned_by")?,
        state: AssignmentState::from_code(&state).ok_or_else(|| anyhow::anyhow!("unknown state {state}"))?,
        grade: grade.as_deref().and_then(Grade::from_code),
        verified_at: r.try_get("verified_at")?,
        verified_by: r.try_get("verified_by")?,
        verification_notes: r.try_get("verification_notes")?,
        return_comment: r.try_get("return_comment")?,
        closed_out_at: r.try_get("closed_out_at")?,
        suspended_at: r.try_get("suspended_at")?,
        flagged_at: r.try_get("flagged_at")?,
        flag_reason: r.try_get("flag_reason")?,
        version: r.try_get("version")?,
        milestones: Vec::new(),
        feedback: Vec::new(),
        requests: Vec::new(),
        urges: Vec::new(),
        plans: Vec::new(),
        attention_months: r.try_get("attention_months")?,
        attention_since: r.try_get("attention_since")?,
        item_continuing: r.try_get("item_continuing")?,
    };
    lists_from_row(r, &mut row)?;
    Ok(row)
}

/// Reads an assignment's lists (JSON columns of `SELECT`) into its row.
fn lists_from_row(r: &PgRow, row: &mut AssignmentRow) -> Result<()> {
    let json = |name: &str| -> Result<serde_json::Value> { Ok(r.try_get(name)?) };
    row.milestones = serde_json::from_value(json("milestones_json")?).map_err(anyhow::Error::from)?;
    let feedback: Vec<FeedbackJson> = serde_json::from_value(json("feedback_json")?).map_err(anyhow::Error::from)?;
    row.feedback = feedback
        .into_iter()
        .map(|f| {
            Ok(FeedbackRow {
                id: f.id,
                kind: FeedbackKind::from_code(&f.kind)
                    .ok_or_else(|| anyhow::anyhow!("unknown feedback kind {}", f.kind))?,
                body: f.body,
                reason: f.reason,
                next_steps: f.next_steps,
                progress: f.progress,
                attachments: f.attachments,
                submitted_by: f.submitted_by,
                submitted_at: f.submitted_at,
            })
        })
        .collect::<Result<_>>()?;
    row.requests = serde_json::from_value(json("requests_json")?).map_err(anyhow::Error::from)?;
    row.urges = serde_json::from_value(json("urges_json")?).map_err(anyhow::Error::from)?;
    row.plans = serde_json::from_value(json("plans_json")?).map_err(anyhow::Error::from)?;
    Ok(())
}

/// A feedback row as `SELECT` returns it.
#[derive(serde::Deserialize)]
struct FeedbackJson {
    id: Uuid,
    kind: String,
    body: String,
    reason: Option<String>,
    next_steps: String,
    progress: serde_json::Value,
    attachments: Vec<String>,
    submitted_by: String,
    submitted_at: DateTime<Utc>,
}

/// The units above an assignment's unit, down to it: all a scope check needs.
pub async fn unit_ancestry(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Vec<Uuid>>> {
    Ok(
        sqlx::query_scalar("SELECT unit_ancestry FROM assignment.assignments WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

pub async fn assignment(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<AssignmentRow>> {
    let sql = format!("{SELECT} WHERE a.id = $1{}", if lock { " FOR UPDATE OF a" } else { "" });
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

#[derive(Debug, Default)]
pub struct AssignmentFilter {
    pub item_id: Option<Uuid>,
    pub unit_id: Option<Uuid>,
    pub state: Option<AssignmentState>,
    pub open_only: bool,
    /// Only assignments of units inside these subtrees; `None` for all.
    pub scope: Option<Vec<Uuid>>,
}

pub async fn list(
    conn: &mut PgConnection,
    f: &AssignmentFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AssignmentRow>> {
    let mut q = QueryBuilder::<Postgres>::new(SELECT);
    q.push("WHERE true");
    if let Some(item) = f.item_id {
        q.push(" AND a.item_id = ").push_bind(item);
    }
    if let Some(unit) = f.unit_id {
        q.push(" AND a.unit_ancestry @> ARRAY[").push_bind(unit).push("::uuid]");
    }
    if let Some(state) = f.state {
        q.push(" AND a.state = ").push_bind(state.code());
    }
    if f.open_only {
        q.push(" AND a.state NOT IN ('verified', 'closed_out')");
    }
    if let Some(scope) = &f.scope {
        q.push(" AND a.unit_ancestry && ").push_bind(scope.clone());
    }
    if let Some(after) = after {
        q.push(" AND a.id > ").push_bind(after);
    }
    q.push(" ORDER BY a.id LIMIT ").push_bind(limit);
    let rows = q.build().fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

pub struct NewAssignment<'a> {
    pub id: Uuid,
    pub item: &'a AssignableItem,
    pub round: i32,
    pub role: &'a str,
    pub unit: &'a UnitContacts,
    pub head: &'a (Uuid, String),
    pub liaison: &'a (Uuid, String),
    pub policy: &'a str,
    pub assigned_at: DateTime<Utc>,
    pub assigned_by: &'a str,
}

pub async fn insert(
    conn: &mut PgConnection,
    a: &NewAssignment<'_>,
    milestones: &[MilestoneRow],
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO assignment.assignments (id, item_id, round, unit_id, role, court_id, unit_ancestry, unit_name, \
            head_id, head_name, liaison_id, liaison_name, urgency, stated_deadline, policy, assigned_at, assigned_by, \
            state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'assigned', $18, $18)",
    )
    .bind(a.id)
    .bind(a.item.id)
    .bind(a.round)
    .bind(a.unit.unit_id)
    .bind(a.role)
    .bind(a.item.court_id)
    .bind(&a.unit.ancestry)
    .bind(&a.unit.name)
    .bind(a.head.0)
    .bind(&a.head.1)
    .bind(a.liaison.0)
    .bind(&a.liaison.1)
    .bind(a.item.urgency.code())
    .bind(a.item.deadline)
    .bind(a.policy)
    .bind(a.assigned_at)
    .bind(a.assigned_by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    insert_milestones(conn, a.id, milestones).await
}

/// Adds milestones to an assignment, in one statement.
pub async fn insert_milestones(conn: &mut PgConnection, id: Uuid, milestones: &[MilestoneRow]) -> Result<()> {
    let kind: Vec<&str> = milestones.iter().map(|m| m.kind.as_str()).collect();
    let rule: Vec<&str> = milestones.iter().map(|m| m.rule.as_str()).collect();
    let due_date: Vec<NaiveDate> = milestones.iter().map(|m| m.due_date).collect();
    let due_at: Vec<DateTime<Utc>> = milestones.iter().map(|m| m.due_at).collect();
    let versions: Vec<&serde_json::Value> = milestones.iter().map(|m| &m.calendar_versions).collect();
    let opened_at: Vec<DateTime<Utc>> = milestones.iter().map(|m| m.opened_at).collect();
    let yellow_at: Vec<DateTime<Utc>> = milestones.iter().map(|m| m.yellow_at).collect();
    sqlx::query(
        "INSERT INTO assignment.milestones \
           (assignment_id, kind, rule, due_date, due_at, calendar_versions, opened_at, yellow_at) \
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::date[], $5::timestamptz[], $6::jsonb[], \
                                  $7::timestamptz[], $8::timestamptz[])",
    )
    .bind(id)
    .bind(&kind)
    .bind(&rule)
    .bind(&due_date)
    .bind(&due_at)
    .bind(&versions)
    .bind(&opened_at)
    .bind(&yellow_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the item already has assignments in `round`.
pub async fn round_exists(db: impl PgExecutor<'_>, item: Uuid, round: i32) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM assignment.assignments WHERE item_id = $1 AND round = $2)")
            .bind(item)
            .bind(round)
            .fetch_one(db)
            .await?,
    )
}

/// Which of `items` already have an assignment in `round`.
pub async fn with_round(db: impl PgExecutor<'_>, items: &[Uuid], round: i32) -> Result<HashSet<Uuid>> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT item_id FROM assignment.assignments WHERE item_id = ANY($1) AND round = $2",
    )
    .bind(items)
    .bind(round)
    .fetch_all(db)
    .await?;
    Ok(ids.into_iter().collect())
}

pub async fn set_state(conn: &mut PgConnection, id: Uuid, state: AssignmentState, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE assignment.assignments SET state = $2, updated_at = $3, version = version + 1 WHERE id = $1")
        .bind(id)
        .bind(state.code())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks a milestone met (if open) — or, with `None`, open again.
/// Marks a milestone met at `at` (unless met already), or with `None` not
/// met. One kind per statement: with `kind = ANY(..)` the cached generic
/// plan skipped the key, and taking over a 20,000-row old ledger took 142 s
/// instead of 26 s (`cargo bench -p duban-tests --bench ledger_history`).
pub async fn set_met(conn: &mut PgConnection, id: Uuid, kind: &str, at: Option<DateTime<Utc>>) -> Result<()> {
    let sql = if at.is_some() {
        "UPDATE assignment.milestones SET met_at = $3 WHERE assignment_id = $1 AND kind = $2 AND met_at IS NULL"
    } else {
        "UPDATE assignment.milestones SET met_at = $3 WHERE assignment_id = $1 AND kind = $2"
    };
    sqlx::query(sql).bind(id).bind(kind).bind(at).execute(conn).await?;
    Ok(())
}

pub struct NewFeedback<'a> {
    pub assignment_id: Uuid,
    pub kind: FeedbackKind,
    pub body: &'a str,
    pub reason: Option<&'a str>,
    pub next_steps: &'a str,
    pub progress: serde_json::Value,
    pub attachments: &'a [String],
    pub submitted_by: &'a str,
}

pub async fn insert_feedback(conn: &mut PgConnection, f: &NewFeedback<'_>, now: DateTime<Utc>) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO assignment.feedback (id, assignment_id, kind, body, reason, next_steps, progress, attachments, submitted_by, submitted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(f.assignment_id)
    .bind(f.kind.code())
    .bind(f.body)
    .bind(f.reason)
    .bind(f.next_steps)
    .bind(&f.progress)
    .bind(f.attachments)
    .bind(f.submitted_by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

pub struct Verdict<'a> {
    pub state: AssignmentState,
    pub grade: Option<Grade>,
    pub by: &'a str,
    pub notes: &'a str,
    pub return_comment: &'a str,
}

pub async fn set_verdict(conn: &mut PgConnection, id: Uuid, v: &Verdict<'_>, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE assignment.assignments SET state = $2, grade = $3, verified_by = $4, verification_notes = $5, \
            return_comment = $6, verified_at = CASE WHEN $2 = 'verified' THEN $7 ELSE verified_at END, \
            updated_at = $7, version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(v.state.code())
    .bind(v.grade.map(|g| g.code()))
    .bind(v.by)
    .bind(v.notes)
    .bind(v.return_comment)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes off everything verified before `monday_start` into the list of
/// `week`; returns the ids written off.
pub async fn close_out(
    conn: &mut PgConnection,
    week: NaiveDate,
    monday_start: DateTime<Utc>,
    scope: Option<&[Uuid]>,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "UPDATE assignment.assignments SET state = 'closed_out', closed_out_at = $3, closeout_week = $1, \
            updated_at = $3, version = version + 1 \
         WHERE state = 'verified' AND verified_at < $2 AND attention_months IS NULL \
           AND ($4::uuid[] IS NULL OR unit_ancestry && $4) RETURNING id",
    )
    .bind(week)
    .bind(monday_start)
    .bind(now)
    .bind(scope)
    .fetch_all(conn)
    .await?)
}

pub async fn closed_out_in(
    conn: &mut PgConnection,
    week: NaiveDate,
    scope: Option<&[Uuid]>,
) -> Result<Vec<AssignmentRow>> {
    let sql = format!(
        "{SELECT} WHERE a.closeout_week = $1 AND ($2::uuid[] IS NULL OR a.unit_ancestry && $2) ORDER BY a.item_id, a.unit_name"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(week)
        .bind(scope)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn insert_request(
    conn: &mut PgConnection,
    assignment: Uuid,
    kind: &str,
    reason: &str,
    new_date: Option<NaiveDate>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO assignment.requests (id, assignment_id, kind, reason, new_date, state, requested_by, requested_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)",
    )
    .bind(id)
    .bind(assignment)
    .bind(kind)
    .bind(reason)
    .bind(new_date)
    .bind(by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

pub async fn decide_request(
    conn: &mut PgConnection,
    id: Uuid,
    approve: bool,
    by: &str,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE assignment.requests SET state = $2, decided_by = $3, comment = $4, decided_at = $5 WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(if approve { "approved" } else { "rejected" })
    .bind(by)
    .bind(comment)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// How a milestone's deadline moves.
pub enum Move {
    /// To a date an approved extension set.
    Extended,
    /// On by working days a suspension stood still, with the calendar
    /// versions the new date was counted over.
    Shifted(i32, serde_json::Value),
    /// Recomputed from a reloaded calendar.
    Recomputed(serde_json::Value),
    /// As an old ledger wrote it; like an extension, a calendar reload keeps it.
    AsWritten,
}

/// Moves a milestone's deadline, remembering why.
pub async fn move_milestone(conn: &mut PgConnection, id: Uuid, kind: &str, due: &Due, why: Move) -> Result<()> {
    let (extended, shift, versions) = match why {
        Move::Extended | Move::AsWritten => (true, 0, None),
        Move::Shifted(days, versions) => (false, days, Some(versions)),
        Move::Recomputed(versions) => (false, 0, Some(versions)),
    };
    sqlx::query(
        "UPDATE assignment.milestones SET due_date = $3, due_at = $4, extended = extended OR $5, \
            shift_days = shift_days + $6, calendar_versions = coalesce($7, calendar_versions), yellow_at = $8 \
         WHERE assignment_id = $1 AND kind = $2",
    )
    .bind(id)
    .bind(kind)
    .bind(due.date)
    .bind(due.at)
    .bind(extended)
    .bind(shift)
    .bind(versions)
    .bind(due.yellow_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A milestone's last day and the instants its light turns yellow and red.
#[derive(Debug, Clone, Copy)]
pub struct Due {
    pub date: NaiveDate,
    pub at: DateTime<Utc>,
    pub yellow_at: DateTime<Utc>,
}

/// An open milestone whose deadline was computed from `year`'s calendar
/// (or, provisionally, from its weekly pattern) and not set by an extension:
/// what a load of that year recomputes. Stage reports of continuing
/// attention count too, on verified assignments.
#[derive(Debug, Clone)]
pub struct DependentMilestone {
    pub assignment_id: Uuid,
    pub kind: String,
    pub due_date: NaiveDate,
    pub shift_days: i32,
    pub assigned_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub attention_months: Option<i32>,
    pub urgency: UrgencyClass,
    pub stated_deadline: Option<NaiveDate>,
    pub policy: String,
    pub unit_ancestry: Vec<Uuid>,
}

pub async fn milestones_depending_on(conn: &mut PgConnection, year: i32) -> Result<Vec<DependentMilestone>> {
    let rows = sqlx::query(
        "SELECT m.assignment_id, m.kind, m.due_date, m.shift_days, a.assigned_at, m.opened_at, a.attention_months, \
                a.urgency, a.stated_deadline, a.policy, a.unit_ancestry \
         FROM assignment.milestones m JOIN assignment.assignments a ON a.id = m.assignment_id \
         WHERE m.met_at IS NULL AND NOT m.extended AND m.calendar_versions ? $1 \
           AND ((m.kind IN ('deploy', 'initial', 'resolve') AND a.state NOT IN ('verified', 'closed_out')) \
                OR (m.kind LIKE 'stage.%' AND a.attention_months IS NOT NULL)) \
         ORDER BY m.assignment_id, m.kind FOR UPDATE OF a",
    )
    .bind(year.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let urgency: String = r.try_get("urgency")?;
            Ok(DependentMilestone {
                assignment_id: r.try_get("assignment_id")?,
                kind: r.try_get("kind")?,
                due_date: r.try_get("due_date")?,
                shift_days: r.try_get("shift_days")?,
                assigned_at: r.try_get("assigned_at")?,
                opened_at: r.try_get("opened_at")?,
                attention_months: r.try_get("attention_months")?,
                urgency: UrgencyClass::from_code(&urgency)
                    .ok_or_else(|| anyhow::anyhow!("unknown urgency {urgency}"))?,
                stated_deadline: r.try_get("stated_deadline")?,
                policy: r.try_get("policy")?,
                unit_ancestry: r.try_get("unit_ancestry")?,
            })
        })
        .collect()
}

/// How many open deadlines are provisional (counted over a year not loaded).
pub async fn provisional_count(db: impl PgExecutor<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM assignment.milestones m JOIN assignment.assignments a ON a.id = m.assignment_id \
         WHERE m.provisional AND m.met_at IS NULL AND a.state <> 'closed_out'",
    )
    .fetch_one(db)
    .await?)
}

pub async fn set_suspended(
    conn: &mut PgConnection,
    id: Uuid,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE assignment.assignments SET suspended_at = $2, updated_at = $3, version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(since)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The item's supervising leader (分管领导), if it names one.
pub async fn supervising_leader(db: impl PgExecutor<'_>, item: Uuid) -> Result<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT supervising_leader_id FROM registry.assignable_items WHERE id = $1")
            .bind(item)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

/// Open, running assignments with a milestone due by `horizon` (court-local
/// last day) that is not yet reminded of and not yet due.
pub async fn reminder_candidates(
    db: impl PgExecutor<'_>,
    now: DateTime<Utc>,
    horizon: NaiveDate,
) -> Result<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT m.assignment_id, m.kind FROM assignment.milestones m \
         JOIN assignment.assignments a ON a.id = m.assignment_id \
         WHERE m.met_at IS NULL AND m.due_at > $1 AND m.due_date <= $2 \
           AND (a.state NOT IN ('verified', 'closed_out') OR m.kind LIKE 'stage.%') AND a.suspended_at IS NULL \
           AND NOT EXISTS (SELECT 1 FROM assignment.reminders r WHERE r.assignment_id = m.assignment_id AND r.milestone = m.kind)",
    )
    .bind(now)
    .bind(horizon)
    .fetch_all(db)
    .await?)
}

/// Open, running assignments with a missed milestone not yet urged.
pub async fn overdue_candidates(db: impl PgExecutor<'_>, now: DateTime<Utc>) -> Result<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT m.assignment_id, m.kind FROM assignment.milestones m \
         JOIN assignment.assignments a ON a.id = m.assignment_id \
         WHERE m.met_at IS NULL AND m.due_at <= $1 \
           AND (a.state NOT IN ('verified', 'closed_out') OR m.kind LIKE 'stage.%') AND a.suspended_at IS NULL \
           AND NOT EXISTS (SELECT 1 FROM assignment.urges u WHERE u.assignment_id = m.assignment_id \
                           AND u.kind = 'automatic' AND u.milestone = m.kind) \
         ORDER BY m.due_at",
    )
    .bind(now)
    .fetch_all(db)
    .await?)
}

/// Assignments not flagged yet that have urges (candidates for the flag).
pub async fn unflagged_with_urges(db: impl PgExecutor<'_>) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT a.id FROM assignment.assignments a JOIN assignment.urges u ON u.assignment_id = a.id \
         WHERE a.flagged_at IS NULL AND a.state NOT IN ('verified', 'closed_out')",
    )
    .fetch_all(db)
    .await?)
}

/// Records a reminder; false when one was already recorded (another sweep).
pub async fn insert_reminder(
    conn: &mut PgConnection,
    assignment: Uuid,
    milestone: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO assignment.reminders (assignment_id, milestone, issued_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(assignment)
    .bind(milestone)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct NewUrge<'a> {
    pub assignment: Uuid,
    pub kind: &'a str,
    pub milestone: Option<&'a str>,
    /// For monthly urges: the month (YYYY-MM) without a progress report.
    pub period: Option<&'a str>,
    pub note: &'a str,
    pub by: &'a str,
    pub answer_due_at: DateTime<Utc>,
}

/// Issues the next numbered urge (the assignment row must be locked);
/// `None` when an automatic urge for that milestone exists already.
pub async fn insert_urge(conn: &mut PgConnection, u: &NewUrge<'_>, now: DateTime<Utc>) -> Result<Option<i32>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO assignment.urges (id, assignment_id, seq, kind, milestone, note, issued_by, issued_at, answer_due_at, period) \
         SELECT $1, $2, coalesce(max(seq), 0) + 1, $3, $4, $5, $6, $7, $8, $9 FROM assignment.urges WHERE assignment_id = $2 \
         ON CONFLICT DO NOTHING RETURNING seq",
    )
    .bind(Uuid::now_v7())
    .bind(u.assignment)
    .bind(u.kind)
    .bind(u.milestone)
    .bind(u.note)
    .bind(u.by)
    .bind(now)
    .bind(u.answer_due_at)
    .bind(u.period)
    .fetch_optional(conn)
    .await?)
}

/// Links an answer to the oldest unanswered urge; returns its number.
pub async fn answer_urge(
    conn: &mut PgConnection,
    assignment: Uuid,
    feedback: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<i32>> {
    Ok(sqlx::query_scalar(
        "UPDATE assignment.urges SET response_id = $2, responded_at = $3 \
         WHERE id = (SELECT id FROM assignment.urges WHERE assignment_id = $1 AND response_id IS NULL ORDER BY seq LIMIT 1) \
         RETURNING seq",
    )
    .bind(assignment)
    .bind(feedback)
    .bind(now)
    .fetch_optional(conn)
    .await?)
}

pub async fn judge_urge(
    conn: &mut PgConnection,
    urge: Uuid,
    justified: bool,
    by: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE assignment.urges SET justified = $2, judged_by = $3, judged_at = $4 WHERE id = $1")
        .bind(urge)
        .bind(justified)
        .bind(by)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// False when it was already flagged.
pub async fn set_flag(conn: &mut PgConnection, id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE assignment.assignments SET flagged_at = $3, flag_reason = $2, updated_at = $3, version = version + 1 \
         WHERE id = $1 AND flagged_at IS NULL",
    )
    .bind(id)
    .bind(reason)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The latest round of an item and its assignments' (id, unit, role, state).
pub async fn latest_round(db: impl PgExecutor<'_>, item: Uuid) -> Result<Vec<(i32, Uuid, Uuid, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT round, id, unit_id, role, state FROM assignment.assignments \
         WHERE item_id = $1 AND round = (SELECT max(round) FROM assignment.assignments WHERE item_id = $1) ORDER BY role DESC, id",
    )
    .bind(item)
    .fetch_all(db)
    .await?)
}

pub async fn insert_reinspection(
    conn: &mut PgConnection,
    item: Uuid,
    round: i32,
    passed: bool,
    findings: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO assignment.reinspections (id, item_id, round, passed, findings, inspected_by, inspected_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(item)
    .bind(round)
    .bind(passed)
    .bind(findings)
    .bind(by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// An assignment that owes a progress report every month — overdue, or
/// going by an approved plan — and what it reported and was urged for.
#[derive(Debug, Clone)]
pub struct MonthlyCandidate {
    pub assignment: Uuid,
    /// The resolution's last day (overdue), or the day its plan was approved.
    pub since: NaiveDate,
    pub by_plan: bool,
    /// Months (YYYY-MM, court time) with a progress report or delay explanation.
    pub reported: Vec<String>,
    /// Months already urged for.
    pub urged: Vec<String>,
}

pub async fn monthly_candidates(
    db: impl PgExecutor<'_>,
    now: DateTime<Utc>,
    tz: &str,
) -> Result<Vec<MonthlyCandidate>> {
    let rows: Vec<(Uuid, NaiveDate, bool, Vec<String>, Vec<String>)> = sqlx::query_as(
        "SELECT c.id, c.since, c.by_plan, \
                ARRAY(SELECT DISTINCT to_char(f.submitted_at AT TIME ZONE $2, 'YYYY-MM') FROM assignment.feedback f \
                      WHERE f.assignment_id = c.id AND f.kind IN ('delay_explanation', 'progress')), \
                ARRAY(SELECT u.period FROM assignment.urges u WHERE u.assignment_id = c.id AND u.kind = 'monthly') \
         FROM ( \
            SELECT a.id, greatest(m.due_date, (a.imported_at AT TIME ZONE $2)::date) AS since, false AS by_plan \
            FROM assignment.assignments a JOIN assignment.milestones m ON m.assignment_id = a.id AND m.kind = 'resolve' \
            WHERE m.met_at IS NULL AND m.due_at <= $1 AND a.state NOT IN ('verified', 'closed_out') \
              AND a.suspended_at IS NULL \
            UNION ALL \
            SELECT a.id, (max(p.decided_at) AT TIME ZONE $2)::date, true \
            FROM assignment.assignments a JOIN assignment.plans p ON p.assignment_id = a.id AND p.state = 'approved' \
            WHERE a.state = 'plan_approved' AND a.suspended_at IS NULL GROUP BY a.id \
         ) c",
    )
    .bind(now)
    .bind(tz)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(assignment, since, by_plan, reported, urged)| MonthlyCandidate {
            assignment,
            since,
            by_plan,
            reported,
            urged,
        })
        .collect())
}

pub async fn insert_plan(
    conn: &mut PgConnection,
    assignment: Uuid,
    summary: &str,
    steps: &[duban_core::plan::PlanStep],
    by: &str,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let steps: Vec<_> = steps
        .iter()
        .map(|s| serde_json::json!({"date": s.date, "what": s.what}))
        .collect();
    sqlx::query(
        "INSERT INTO assignment.plans (id, assignment_id, steps, summary, state, submitted_by, submitted_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6)",
    )
    .bind(id)
    .bind(assignment)
    .bind(serde_json::Value::Array(steps))
    .bind(summary)
    .bind(by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

pub async fn decide_plan(
    conn: &mut PgConnection,
    plan: Uuid,
    approve: bool,
    by: &str,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE assignment.plans SET state = $2, decided_by = $3, decided_at = $4, comment = $5 WHERE id = $1")
        .bind(plan)
        .bind(if approve { "approved" } else { "rejected" })
        .bind(by)
        .bind(now)
        .bind(comment)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks every open milestone whose kind starts with `prefix` met.
pub async fn meet_all(conn: &mut PgConnection, id: Uuid, prefix: &str, at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE assignment.milestones SET met_at = $3 \
         WHERE assignment_id = $1 AND met_at IS NULL AND starts_with(kind, $2)",
    )
    .bind(id)
    .bind(prefix)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Starts (with `months`), changes or (with `None`) ends continuing attention.
pub async fn set_attention(conn: &mut PgConnection, id: Uuid, months: Option<i32>, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE assignment.assignments SET attention_months = $2, \
            attention_since = CASE WHEN $2 IS NULL THEN NULL ELSE coalesce(attention_since, $3) END, \
            updated_at = $3, version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(months)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Drops the stage reports not yet due (ending or re-timing the attention).
pub async fn drop_open_stages(conn: &mut PgConnection, id: Uuid) -> Result<()> {
    sqlx::query(
        "DELETE FROM assignment.milestones WHERE assignment_id = $1 AND met_at IS NULL AND kind LIKE 'stage.%'",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts an assignment taken over from an old ledger into the state the
/// ledger records, as of `now`: verified ones by the import, to be written
/// off in the next close-out; written-off ones outside any week's list.
pub async fn set_history(
    conn: &mut PgConnection,
    id: Uuid,
    state: AssignmentState,
    by: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE assignment.assignments SET state = $2, imported_at = $4, updated_at = $4, \
            verified_at = CASE WHEN $2 IN ('verified', 'closed_out') THEN $4 END, \
            verified_by = CASE WHEN $2 IN ('verified', 'closed_out') THEN $3 END, \
            verification_notes = CASE WHEN $2 IN ('verified', 'closed_out') \
                                      THEN '历史台账导入:核查情况以原台账为准' ELSE '' END, \
            closed_out_at = CASE WHEN $2 = 'closed_out' THEN $4 END, version = version + 1 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(state.code())
    .bind(by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
