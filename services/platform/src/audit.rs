//! The append-only, hash-chained audit record (domain.md §9). Appends happen
//! inside the mutation's own transaction, as its last statements: the head
//! row lock that orders the chain is held only until that commit.

use crate::auth::Principal;
use crate::error::Result;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

pub struct AuditEntry<'a> {
    pub principal: &'a Principal,
    pub request_id: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: &'a str,
    pub before: Option<&'a serde_json::Value>,
    pub after: Option<&'a serde_json::Value>,
}

/// Appends one record to the chain and moves the head. Returns its sequence
/// number.
pub async fn append(conn: &mut PgConnection, entry: &AuditEntry<'_>) -> Result<i64> {
    let (head_seq, head_hash): (i64, Vec<u8>) =
        sqlx::query_as("SELECT seq, hash FROM platform.audit_head WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut *conn)
            .await?;
    let seq = head_seq + 1;
    let token_id: Option<Uuid> = Some(entry.principal.token_id);
    let hash: Vec<u8> = sqlx::query_scalar(
        "INSERT INTO platform.audit_log \
           (seq, prev_hash, hash, occurred_at, principal, token_id, action, target_kind, target_id, before, after, request_id) \
         VALUES ($1, $2, platform.audit_digest($2, $1, $3, $4, $5, $6, $7, $8, $9, $10, $11), \
                 $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         RETURNING hash",
    )
    .bind(seq)
    .bind(&head_hash)
    .bind(entry.occurred_at)
    .bind(&entry.principal.name)
    .bind(token_id)
    .bind(entry.action)
    .bind(entry.target_kind)
    .bind(entry.target_id)
    .bind(entry.before)
    .bind(entry.after)
    .bind(entry.request_id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("UPDATE platform.audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Intact { records: i64 },
    Broken { seq: i64, reason: String },
}

/// Walks the whole chain from the first record, recomputing every hash.
pub async fn verify(pool: &PgPool) -> Result<Verdict> {
    let mut rows = sqlx::query(
        "SELECT seq, prev_hash, hash, \
                platform.audit_digest(prev_hash, seq, occurred_at, principal, token_id, action, \
                                      target_kind, target_id, before, after, request_id) AS expected \
         FROM platform.audit_log ORDER BY seq",
    )
    .fetch(pool);
    let mut expected_seq = 1_i64;
    let mut previous = vec![0_u8; 32];
    while let Some(row) = rows.try_next().await? {
        let seq: i64 = row.get("seq");
        let prev_hash: Vec<u8> = row.get("prev_hash");
        let hash: Vec<u8> = row.get("hash");
        let expected: Vec<u8> = row.get("expected");
        if seq != expected_seq {
            return Ok(Verdict::Broken {
                seq: expected_seq,
                reason: format!("record {expected_seq} is missing (next present is {seq})"),
            });
        }
        if prev_hash != previous {
            return Ok(Verdict::Broken {
                seq,
                reason: "does not link to the previous record".into(),
            });
        }
        if hash != expected {
            return Ok(Verdict::Broken {
                seq,
                reason: "content does not match its hash (altered)".into(),
            });
        }
        previous = hash;
        expected_seq += 1;
    }
    drop(rows);
    let last = expected_seq - 1;
    let (head_seq, head_hash): (i64, Vec<u8>) =
        sqlx::query_as("SELECT seq, hash FROM platform.audit_head WHERE id = 1")
            .fetch_one(pool)
            .await?;
    if head_seq != last || head_hash != previous {
        return Ok(Verdict::Broken {
            seq: last + 1,
            reason: format!("the chain head says {head_seq} records, {last} are present (newest deleted)"),
        });
    }
    Ok(Verdict::Intact { records: last })
}
