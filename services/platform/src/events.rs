//! Domain events (the outbox) and their commit-ordered, gap-free cursor.
//!
//! Events are ordered by (writing transaction id, event id) and handed out only
//! once every transaction older than them has ended
//! (`xid < pg_snapshot_xmin(pg_current_snapshot())`). Any event committed
//! later belongs to a transaction that was still running, so its xid is at
//! least that xmin and sorts after every cursor already given out: a consumer
//! never skips a late commit, and writers never queue on a shared counter.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

pub struct NewEvent<'a> {
    pub service: &'a str,
    pub event_type: &'a str,
    pub subject_kind: &'a str,
    pub subject_id: &'a str,
    pub unit_ids: &'a [Uuid],
    pub payload: &'a serde_json::Value,
    pub principal: &'a str,
    pub request_id: &'a str,
    pub occurred_at: DateTime<Utc>,
}

/// Writes events in one statement, in order.
pub async fn append_all(conn: &mut PgConnection, events: &[NewEvent<'_>]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let at: Vec<DateTime<Utc>> = events.iter().map(|e| e.occurred_at).collect();
    let service: Vec<&str> = events.iter().map(|e| e.service).collect();
    let kind: Vec<&str> = events.iter().map(|e| e.event_type).collect();
    let subject_kind: Vec<&str> = events.iter().map(|e| e.subject_kind).collect();
    let subject_id: Vec<&str> = events.iter().map(|e| e.subject_id).collect();
    // Unit lists differ in length, so they travel as JSON arrays.
    let units: Vec<serde_json::Value> = events.iter().map(|e| serde_json::json!(e.unit_ids)).collect();
    let payload: Vec<&serde_json::Value> = events.iter().map(|e| e.payload).collect();
    let principal: Vec<&str> = events.iter().map(|e| e.principal).collect();
    let request_id: Vec<&str> = events.iter().map(|e| e.request_id).collect();
    sqlx::query(
        "INSERT INTO platform.events \
           (occurred_at, service, event_type, subject_kind, subject_id, unit_ids, payload, principal, request_id) \
         SELECT t.at, t.service, t.kind, t.subject_kind, t.subject_id, \
                ARRAY(SELECT jsonb_array_elements_text(t.units)::uuid), t.payload, t.principal, t.request_id \
         FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[], \
                     $8::text[], $9::text[]) WITH ORDINALITY \
              AS t(at, service, kind, subject_kind, subject_id, units, payload, principal, request_id, n) \
         ORDER BY t.n",
    )
    .bind(&at)
    .bind(&service)
    .bind(&kind)
    .bind(&subject_kind)
    .bind(&subject_id)
    .bind(&units)
    .bind(&payload)
    .bind(&principal)
    .bind(&request_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A position in the event stream; the string form is opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Cursor {
    xid: u64,
    id: i64,
}

impl Cursor {
    pub const START: Cursor = Cursor { xid: 0, id: 0 };
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.xid, self.id)
    }
}

impl FromStr for Cursor {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("cursor", "is not a cursor returned by this service", "游标无效");
        let (xid, id) = s.split_once('.').ok_or_else(bad)?;
        Ok(Cursor {
            xid: xid.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    #[sqlx(skip)]
    pub cursor: Cursor,
    pub id: i64,
    pub xid: String,
    pub occurred_at: DateTime<Utc>,
    pub service: String,
    pub event_type: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub unit_ids: Vec<Uuid>,
    pub payload: serde_json::Value,
    pub principal: String,
    pub request_id: String,
}

/// Which events a reader wants; `None` means no restriction.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Events touching one of these units (their unit lists carry ancestries,
    /// so a unit selects its whole subtree).
    pub units: Option<Vec<Uuid>>,
    /// The reader's own scope, applied on top.
    pub scope: Option<Vec<Uuid>>,
    /// Only events of these services.
    pub services: Option<Vec<String>>,
}

/// Up to `limit` settled events after `after` that pass `filter`.
/// Ordered by the xid8 column itself: ordering by its text form (the
/// selected alias) would put xid 1000 before 998 and send a cursor back.
pub async fn read_after(pool: &PgPool, after: Cursor, limit: i64, filter: &EventFilter) -> Result<Vec<Event>> {
    let mut events: Vec<Event> = sqlx::query_as(
        "SELECT e.id, e.xid::text AS xid, e.occurred_at, e.service, e.event_type, e.subject_kind, e.subject_id, \
                e.unit_ids, e.payload, e.principal, e.request_id \
         FROM platform.events e \
         WHERE (e.xid, e.id) > ($1::text::xid8, $2) \
           AND e.xid < pg_snapshot_xmin(pg_current_snapshot()) \
           AND ($3::uuid[] IS NULL OR e.unit_ids && $3) \
           AND ($4::uuid[] IS NULL OR e.unit_ids && $4) \
           AND ($5::text[] IS NULL OR e.service = ANY($5)) \
         ORDER BY e.xid, e.id LIMIT $6",
    )
    .bind(after.xid.to_string())
    .bind(after.id)
    .bind(filter.units.as_deref())
    .bind(filter.scope.as_deref())
    .bind(filter.services.as_deref())
    .bind(limit)
    .fetch_all(pool)
    .await?;
    for e in &mut events {
        e.cursor = Cursor {
            xid: e.xid.parse().map_err(|_| anyhow::anyhow!("bad xid8 {}", e.xid))?,
            id: e.id,
        };
    }
    Ok(events)
}
