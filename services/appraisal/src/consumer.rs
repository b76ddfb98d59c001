//! Folds the assignment service's events into facts, incrementally: each pass
//! reads the events after the stored cursor and, in one transaction, stores
//! the facts they establish, the tracks they changed and the new cursor. The
//! consumer row is locked for the pass, so replicas take turns and a crash
//! leaves nothing half-folded. A full recomputation is the same fold from
//! the first event.

use chrono_tz::Tz;
use duban_core::scoring::{self, Detail, Event, Summary, Tracks};
use duban_platform::Result;
use duban_platform::events::{self, Cursor, EventFilter};
use sqlx::PgPool;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Events read per transaction.
const BATCH: i64 = 500;

/// Reads a stored event as the fold needs it; `None` for events that cannot
/// concern scores (another subject kind, an unreadable id).
pub fn parse(e: &events::Event) -> Option<Event> {
    let subject_id = Uuid::parse_str(&e.subject_id).ok()?;
    let after = &e.payload["after"];
    let before = &e.payload["before"];
    let summary: Option<Summary> = serde_json::from_value(after.clone())
        .ok()
        .or_else(|| serde_json::from_value(before.clone()).ok());
    let int = |v: &serde_json::Value| v.as_i64().map(|n| n as i32);
    let detail = match e.event_type.as_str() {
        "assignment.urged" => match after["kind"].as_str() {
            Some(kind) => Detail::Urged {
                seq: int(&after["seq"]),
                kind: kind.to_owned(),
            },
            None => Detail::None,
        },
        "assignment.urge_judged" => Detail::Judged {
            seq: int(&after["urge"])?,
            justified: after["justified"].as_bool()?,
        },
        "assignment.flagged" => Detail::Flagged {
            reason: after["reason"].as_str().unwrap_or_default().to_owned(),
        },
        "item.reinspection_failed" => Detail::ReinspectionFailed {
            round: int(&after["round"])?,
        },
        "assignment.deadlines_recomputed" => Detail::Deadlines(
            after["deadlines"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.parse().ok()?)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        "assignment.closed_out" => Detail::State(after["state"].as_str().unwrap_or("closed_out").to_owned()),
        _ => Detail::None,
    };
    if e.subject_kind != "assignment" && !matches!(detail, Detail::ReinspectionFailed { .. }) {
        return None;
    }
    Some(Event {
        id: e.id,
        event_type: e.event_type.clone(),
        subject_id,
        occurred_at: e.occurred_at,
        summary,
        detail,
    })
}

/// One pass over at most [`BATCH`] events; returns how many were read.
async fn pass(pool: &PgPool, tz: &Tz) -> Result<usize> {
    let mut tx = duban_platform::db::begin(pool).await?;
    let cursor: Cursor = crate::store::lock_cursor(&mut tx).await?.parse()?;
    let filter = EventFilter {
        services: Some(vec!["assignment".into()]),
        ..Default::default()
    };
    let batch = events::read_after(pool, cursor, BATCH, &filter).await?;
    let Some(last) = batch.last().map(|e| e.cursor) else {
        tx.rollback().await?;
        return Ok(0);
    };
    let parsed: Vec<Event> = batch.iter().filter_map(parse).collect();
    let (items, assignments): (Vec<&Event>, Vec<&Event>) = parsed
        .iter()
        .partition(|e| matches!(e.detail, Detail::ReinspectionFailed { .. }));
    let assignment_ids: Vec<Uuid> = assignments.iter().map(|e| e.subject_id).collect();
    let item_ids: Vec<Uuid> = items.iter().map(|e| e.subject_id).collect();
    let mut tracks: Tracks = crate::store::tracks(&mut tx, &assignment_ids, &item_ids)
        .await?
        .into_iter()
        .map(|t| (t.subject.assignment_id, t))
        .collect();
    let before = tracks.clone();
    let mut facts = Vec::new();
    for e in &parsed {
        facts.extend(scoring::fold(&mut tracks, e, tz));
    }
    let changed: Vec<_> = tracks
        .iter()
        .filter(|(id, t)| before.get(id) != Some(t))
        .map(|(_, t)| t)
        .collect();
    crate::store::save_tracks(&mut tx, &changed).await?;
    // Facts are numbered within their event, which keys them.
    let mut seen: BTreeMap<i64, i32> = BTreeMap::new();
    let numbered: Vec<(i32, &scoring::Fact)> = facts
        .iter()
        .map(|f| {
            let n = seen.entry(f.event_id).or_default();
            *n += 1;
            (*n, f)
        })
        .collect();
    crate::store::insert_facts(&mut tx, &numbered).await?;
    crate::store::set_cursor(&mut tx, &last.to_string(), batch.len() as i64).await?;
    tx.commit().await?;
    Ok(batch.len())
}

/// Folds every settled event not folded yet.
pub async fn catch_up(pool: &PgPool, tz: &Tz) -> Result<usize> {
    let mut total = 0;
    loop {
        match pass(pool, tz).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

/// Forgets every fact and folds the whole event stream again: what
/// incremental folding must always equal.
pub async fn recompute(pool: &PgPool, tz: &Tz) -> Result<usize> {
    let mut tx = pool.begin().await?;
    crate::store::lock_cursor(&mut tx).await?;
    crate::store::reset(&mut tx).await?;
    tx.commit().await?;
    catch_up(pool, tz).await
}
