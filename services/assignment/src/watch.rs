//! `WatchEvents`: the event stream other court systems follow, resumable
//! from a cursor (see `duban_platform::events` for why it never skips a
//! late commit).

use crate::convert::timestamp;
use duban_core::access::Action;
use duban_platform::auth::Principal;
use duban_platform::events::{self, Cursor, EventFilter};
use duban_platform::{Error, Result};
use duban_proto::assignment::v1 as pb;
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// How often an idle stream looks for new events.
const POLL: Duration = Duration::from_millis(200);
const BATCH: i64 = 500;
/// The version of every event type's payload (docs/api.md, the event
/// catalogue): fields are only added within it; a breaking change to a
/// type's payload raises that type's version.
pub const PAYLOAD_VERSION: i32 = 1;

fn message(e: &events::Event) -> pb::Event {
    pb::Event {
        cursor: e.cursor.to_string(),
        id: e.id,
        service: e.service.clone(),
        event_type: e.event_type.clone(),
        subject_kind: e.subject_kind.clone(),
        subject_id: e.subject_id.clone(),
        unit_ids: e.unit_ids.iter().map(Uuid::to_string).collect(),
        payload_json: e.payload.to_string(),
        occur_time: Some(timestamp(e.occurred_at)),
        principal: e.principal.clone(),
        request_id: e.request_id.clone(),
        payload_version: PAYLOAD_VERSION,
    }
}

/// Starts a stream for `p`; events arrive on the returned channel until the
/// client goes away.
pub fn watch(
    pool: PgPool,
    p: &Principal,
    req: &pb::WatchEventsRequest,
) -> Result<mpsc::Receiver<Result<pb::Event, tonic::Status>>> {
    p.authorize_role(Action::ReadLedger)?;
    let mut cursor = match req.after.trim() {
        "" => Cursor::START,
        text => text.parse()?,
    };
    let unit = match req.unit_id.trim() {
        "" => None,
        text => Some(
            Uuid::parse_str(text)
                .map_err(|_| Error::invalid("unit_id", "is not a valid id (UUID)", "编号格式不正确"))?,
        ),
    };
    let filter = EventFilter {
        units: unit.map(|u| vec![u]),
        scope: if p.is_admin() { None } else { Some(p.unit_scope.clone()) },
        services: if req.services.is_empty() {
            None
        } else {
            Some(req.services.clone())
        },
    };
    let (tx, rx) = mpsc::channel(BATCH as usize);
    tokio::spawn(async move {
        loop {
            let batch = match events::read_after(&pool, cursor, BATCH, &filter).await {
                Ok(batch) => batch,
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            };
            let full = batch.len() as i64 == BATCH;
            for e in &batch {
                if tx.send(Ok(message(e))).await.is_err() {
                    return;
                }
                cursor = e.cursor;
            }
            if !full {
                tokio::select! {
                    _ = tx.closed() => return,
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
        }
    });
    Ok(rx)
}
