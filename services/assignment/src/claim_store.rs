//! SQL of claim offers (认领).

use chrono::{DateTime, Utc};
use duban_platform::Result;
use sqlx::{PgConnection, PgExecutor, Row};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct OfferRow {
    pub item_id: Uuid,
    pub item_number: Option<String>,
    pub item_title: String,
    pub court_id: Uuid,
    pub policy: String,
    pub note: String,
    pub published_by: String,
    pub published_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// (unit id, unit name) of round 1, the lead first.
    pub claimed: Vec<(Uuid, String)>,
}

const SELECT: &str = "SELECT o.*, i.number AS item_number, i.title AS item_title, \
       ARRAY(SELECT a.unit_id FROM assignment.assignments a WHERE a.item_id = o.item_id AND a.round = 1 \
             ORDER BY a.role = 'lead' DESC, a.created_at, a.unit_id) AS unit_ids, \
       ARRAY(SELECT a.unit_name FROM assignment.assignments a WHERE a.item_id = o.item_id AND a.round = 1 \
             ORDER BY a.role = 'lead' DESC, a.created_at, a.unit_id) AS unit_names \
     FROM assignment.claim_offers o JOIN registry.assignable_items i ON i.id = o.item_id ";

fn from_row(r: &sqlx::postgres::PgRow) -> Result<OfferRow> {
    let ids: Vec<Uuid> = r.try_get("unit_ids")?;
    let names: Vec<String> = r.try_get("unit_names")?;
    Ok(OfferRow {
        item_id: r.try_get("item_id")?,
        item_number: r.try_get("item_number")?,
        item_title: r.try_get("item_title")?,
        court_id: r.try_get("court_id")?,
        policy: r.try_get("policy")?,
        note: r.try_get("note")?,
        published_by: r.try_get("published_by")?,
        published_at: r.try_get("published_at")?,
        closed_at: r.try_get("closed_at")?,
        claimed: ids.into_iter().zip(names).collect(),
    })
}

pub async fn offer(conn: &mut PgConnection, item: Uuid, lock: bool) -> Result<Option<OfferRow>> {
    let sql = format!(
        "{SELECT} WHERE o.item_id = $1{}",
        if lock { " FOR UPDATE OF o" } else { "" }
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(item)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub struct NewOffer<'a> {
    pub item_id: Uuid,
    pub court_id: Uuid,
    pub policy: &'a str,
    pub note: &'a str,
    pub by: &'a str,
}

/// False when the item was already published.
pub async fn insert_offer(conn: &mut PgConnection, o: &NewOffer<'_>, now: DateTime<Utc>) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO assignment.claim_offers (item_id, court_id, policy, note, published_by, published_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (item_id) DO NOTHING",
    )
    .bind(o.item_id)
    .bind(o.court_id)
    .bind(o.policy)
    .bind(o.note)
    .bind(o.by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn close_offer(conn: &mut PgConnection, item: Uuid, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE assignment.claim_offers SET closed_at = $2 WHERE item_id = $1 AND closed_at IS NULL")
        .bind(item)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Offers visible to a scope (`None`: all): those of a court in the scope or
/// above a unit in it. Keyset by item id.
pub async fn list_offers(
    conn: &mut PgConnection,
    open_only: bool,
    scope: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<OfferRow>> {
    let sql = format!(
        "{SELECT} WHERE (NOT $1 OR o.closed_at IS NULL) \
           AND ($2::uuid[] IS NULL OR o.court_id = ANY($2) OR EXISTS \
                (SELECT 1 FROM registry.unit_contacts u WHERE u.unit_id = ANY($2) AND o.court_id = ANY(u.ancestry))) \
           AND ($3::uuid IS NULL OR o.item_id > $3) \
         ORDER BY o.item_id LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(open_only)
        .bind(scope)
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Whether `leader` supervises (分管) `unit` now.
pub async fn supervises(db: impl PgExecutor<'_>, leader: Uuid, unit: Uuid) -> Result<bool> {
    supervises_any(db, leader, &[unit]).await
}

/// Whether `leader` supervises (分管) any of `units` now: given a unit's
/// ancestry, whether they supervise it or a unit above it.
pub async fn supervises_any(db: impl PgExecutor<'_>, leader: Uuid, units: &[Uuid]) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM registry.current_supervisions WHERE leader_id = $1 AND unit_id = ANY($2))",
    )
    .bind(leader)
    .bind(units)
    .fetch_one(db)
    .await?)
}
