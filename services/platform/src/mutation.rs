//! The one way state changes: in a single transaction, claim the request id,
//! apply the change, write a domain event and an audit record for each thing
//! changed, store the response, commit. A retry with the same request id gets
//! the stored response back and changes nothing; a different request under a
//! used id is refused. Request ids belong to the token that sent them (two
//! tokens of one principal's name may differ in scope), so only the token that
//! was authorised for a change can replay its response.

use crate::audit::{self, AuditEntry};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::events::{self, NewEvent};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Who asks, under which request id, at what time (from the service clock).
#[derive(Debug, Clone)]
pub struct MutationContext {
    pub principal: Principal,
    pub request_id: String,
    pub now: DateTime<Utc>,
    /// The owning service, recorded on events (`registry`, `assignment`…).
    pub service: &'static str,
}

/// One thing a mutation changed: becomes one event and one audit record.
#[derive(Debug, Clone)]
pub struct Change {
    /// Event type and audit action, e.g. `unit.created`.
    pub action: &'static str,
    pub target_kind: &'static str,
    pub target_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// Units the change concerns, for filtered event streams.
    pub unit_ids: Vec<Uuid>,
}

/// Checks the client's request id: required, at most 128 visible characters.
pub fn check_request_id(request_id: &str) -> Result<()> {
    if request_id.trim().is_empty() {
        return Err(Error::invalid(
            "request_id",
            "is required on every mutation (any unique string, e.g. a UUID)",
            "每项修改操作都须提供请求编号(request_id)",
        ));
    }
    let max = duban_core::limits::REQUEST_ID;
    if request_id.chars().count() > max || request_id.chars().any(char::is_control) {
        return Err(Error::invalid(
            "request_id",
            &format!("must be at most {max} printable characters"),
            &format!("请求编号不能超过{max}个字符"),
        ));
    }
    Ok(())
}

/// Runs `body` as an idempotent, audited mutation. `method` names the RPC;
/// `request` is hashed to tell a retry from a different request.
pub async fn mutate<Req, Resp, F>(
    pool: &PgPool,
    ctx: &MutationContext,
    method: &'static str,
    request: &Req,
    body: F,
) -> Result<Resp>
where
    Req: prost::Message,
    Resp: prost::Message + Default,
    F: AsyncFnOnce(&mut PgConnection) -> Result<(Resp, Vec<Change>)>,
{
    check_request_id(&ctx.request_id)?;
    let fingerprint = {
        let mut h = Sha256::new();
        h.update(method.as_bytes());
        h.update(request.encode_to_vec());
        h.finalize().to_vec()
    };
    let mut tx = crate::db::begin(pool).await?;
    // Blocks while another transaction holds the same id, then either claims
    // it (that one rolled back) or finds its committed response.
    let claimed = sqlx::query(
        "INSERT INTO platform.requests (token_id, principal, request_id, method, fingerprint) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(ctx.principal.token_id)
    .bind(&ctx.principal.name)
    .bind(&ctx.request_id)
    .bind(method)
    .bind(&fingerprint)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !claimed {
        tx.rollback().await?;
        return replay(pool, ctx, &fingerprint).await;
    }
    let (response, changes) = body(&mut tx).await?;
    let payloads: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| serde_json::json!({ "before": c.before, "after": c.after }))
        .collect();
    let events: Vec<NewEvent> = changes
        .iter()
        .zip(&payloads)
        .map(|(change, payload)| NewEvent {
            service: ctx.service,
            event_type: change.action,
            subject_kind: change.target_kind,
            subject_id: &change.target_id,
            unit_ids: &change.unit_ids,
            payload,
            principal: &ctx.principal.name,
            request_id: &ctx.request_id,
            occurred_at: ctx.now,
        })
        .collect();
    events::append_all(&mut tx, &events).await?;
    let entries: Vec<AuditEntry> = changes
        .iter()
        .map(|change| AuditEntry {
            principal: &ctx.principal,
            request_id: &ctx.request_id,
            occurred_at: ctx.now,
            action: change.action,
            target_kind: change.target_kind,
            target_id: &change.target_id,
            before: change.before.as_ref(),
            after: change.after.as_ref(),
        })
        .collect();
    sqlx::query(
        "UPDATE platform.requests SET response = $4 WHERE token_id = $1 AND principal = $2 AND request_id = $3",
    )
    .bind(ctx.principal.token_id)
    .bind(&ctx.principal.name)
    .bind(&ctx.request_id)
    .bind(response.encode_to_vec())
    .execute(&mut *tx)
    .await?;
    // Audit last: the chain's head is locked from here to the commit, which
    // every writer queues on, so nothing else happens in between.
    audit::append_all(&mut tx, &entries).await?;
    tx.commit().await?;
    Ok(response)
}

async fn replay<Resp: prost::Message + Default>(
    pool: &PgPool,
    ctx: &MutationContext,
    fingerprint: &[u8],
) -> Result<Resp> {
    let (stored_fingerprint, response): (Vec<u8>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT fingerprint, response FROM platform.requests WHERE token_id = $1 AND principal = $2 AND request_id = $3",
    )
    .bind(ctx.principal.token_id)
    .bind(&ctx.principal.name)
    .bind(&ctx.request_id)
    .fetch_one(pool)
    .await?;
    if stored_fingerprint != fingerprint {
        return Err(Error::RequestIdReused(ctx.request_id.clone()));
    }
    let bytes = response.ok_or_else(|| anyhow::anyhow!("committed request without response"))?;
    tracing::info!(request_id = %ctx.request_id, "replayed idempotent request");
    Ok(Resp::decode(bytes.as_slice()).map_err(anyhow::Error::from)?)
}
