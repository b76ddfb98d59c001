//! The append-only, hash-chained audit record (docs/domain.md §9). Appends happen
//! inside the mutation's own transaction, as its last statements: the head
//! row lock that orders the chain is held only until that commit.

use crate::auth::Principal;
use crate::error::Result;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sqlx::{PgConnection, PgPool, Row};

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

/// Appends records to the chain, in order, and moves the head: one round
/// trip however many (`platform.audit_append`). Returns the last sequence
/// number, or `None` when there was nothing to append.
pub async fn append_all(conn: &mut PgConnection, entries: &[AuditEntry<'_>]) -> Result<Option<i64>> {
    if entries.is_empty() {
        return Ok(None);
    }
    let json: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "occurred_at": e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "principal": e.principal.name,
                // The system's own seeding acts on no token.
                "token_id": (!e.principal.token_id.is_nil()).then_some(e.principal.token_id),
                "action": e.action,
                "target_kind": e.target_kind,
                "target_id": e.target_id,
                "before": e.before,
                "after": e.after,
                "request_id": e.request_id,
            })
        })
        .collect();
    let seq: i64 = sqlx::query_scalar("SELECT platform.audit_append($1)")
        .bind(serde_json::Value::Array(json))
        .fetch_one(conn)
        .await?;
    Ok(Some(seq))
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
