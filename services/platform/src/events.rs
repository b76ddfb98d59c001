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

pub async fn append(conn: &mut PgConnection, event: &NewEvent<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO platform.events \
           (occurred_at, service, event_type, subject_kind, subject_id, unit_ids, payload, principal, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(event.occurred_at)
    .bind(event.service)
    .bind(event.event_type)
    .bind(event.subject_kind)
    .bind(event.subject_id)
    .bind(event.unit_ids)
    .bind(event.payload)
    .bind(event.principal)
    .bind(event.request_id)
    .fetch_one(conn)
    .await?)
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

/// Up to `limit` settled events after `after`, optionally only those touching
/// one of `units`.
pub async fn read_after(pool: &PgPool, after: Cursor, limit: i64, units: Option<&[Uuid]>) -> Result<Vec<Event>> {
    let mut events: Vec<Event> = sqlx::query_as(
        "SELECT id, xid::text AS xid, occurred_at, service, event_type, subject_kind, subject_id, \
                unit_ids, payload, principal, request_id \
         FROM platform.events \
         WHERE (xid, id) > ($1::text::xid8, $2) \
           AND xid < pg_snapshot_xmin(pg_current_snapshot()) \
           AND ($3::uuid[] IS NULL OR unit_ids && $3) \
         ORDER BY xid, id LIMIT $4",
    )
    .bind(after.xid.to_string())
    .bind(after.id)
    .bind(units)
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
