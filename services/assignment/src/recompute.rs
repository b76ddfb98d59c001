//! Loading a calendar year recomputes the open deadlines computed from it,
//! or provisionally from its weekly pattern before it was loaded: the
//! policy's date again, from the assignment time, then the working days
//! suspensions added; a stage report its months again from when it was
//! owed. Deadlines set by an extension stay. The new versions name no year
//! at version 0 any more, so the provisional mark (derived from them) goes.

use crate::assignment_store::{self as store, DependentMilestone, Move};
use duban_core::calendar::Calendar;
use duban_core::policy::{self, Span};
use duban_platform::mutation::Change;
use duban_platform::{Error, Result};
use sqlx::PgConnection;
use std::collections::BTreeMap;

pub async fn for_year(conn: &mut PgConnection, year: i32, tz: &chrono_tz::Tz) -> Result<Vec<Change>> {
    let dependents = store::milestones_depending_on(conn, year).await?;
    if dependents.is_empty() {
        return Ok(Vec::new());
    }
    let calendar = crate::store::calendar(&mut *conn).await?;
    let mut by_assignment: BTreeMap<uuid::Uuid, Vec<(String, String, String)>> = BTreeMap::new();
    let mut units: BTreeMap<uuid::Uuid, Vec<uuid::Uuid>> = BTreeMap::new();
    for m in &dependents {
        let (date, versions) = recomputed(conn, &calendar, m, tz).await?;
        let opened = if m.kind.starts_with("stage.") {
            m.opened_at
        } else {
            m.assigned_at
        };
        let due = crate::assignments::due(opened, date, &calendar, tz);
        // Recorded with the new versions even when the date stays.
        store::move_milestone(conn, m.assignment_id, &m.kind, &due, Move::Recomputed(versions)).await?;
        if date != m.due_date {
            by_assignment.entry(m.assignment_id).or_default().push((
                m.kind.clone(),
                m.due_date.to_string(),
                date.to_string(),
            ));
            units.insert(m.assignment_id, m.unit_ancestry.clone());
        }
    }
    Ok(by_assignment
        .into_iter()
        .map(|(id, moved)| Change {
            action: "assignment.deadlines_recomputed",
            target_kind: "assignment",
            target_id: id.to_string(),
            before: Some(serde_json::json!(
                moved
                    .iter()
                    .map(|(k, before, _)| (k.clone(), before.clone()))
                    .collect::<BTreeMap<_, _>>()
            )),
            after: Some(serde_json::json!({
                "calendar_year": year,
                "deadlines": moved.iter().map(|(k, _, after)| (k.clone(), after.clone())).collect::<BTreeMap<_, _>>(),
            })),
            unit_ids: units.remove(&id).unwrap_or_default(),
        })
        .collect())
}

async fn recomputed(
    conn: &mut PgConnection,
    calendar: &Calendar,
    m: &DependentMilestone,
    tz: &chrono_tz::Tz,
) -> Result<(chrono::NaiveDate, serde_json::Value)> {
    if let (true, Some(months)) = (m.kind.starts_with("stage."), m.attention_months) {
        let owed_from = m.opened_at.with_timezone(tz).date_naive();
        let date = policy::last_day(calendar, Span::Months(months.max(0) as u32), owed_from, None)
            .map_err(crate::calendar::due_error)?;
        let versions = serde_json::to_value(calendar.versions(owed_from, date)).unwrap_or_default();
        return Ok((date, versions));
    }
    let (policy, _) = crate::store::policy(&mut *conn, &m.policy)
        .await?
        .ok_or_else(|| anyhow::anyhow!("policy {} vanished", m.policy))?;
    let due = policy::deadlines(calendar, &policy, m.urgency, m.assigned_at, m.stated_deadline, tz)
        .map_err(crate::calendar::due_error)?;
    let base = due
        .iter()
        .find(|d| d.kind.code() == m.kind)
        .ok_or_else(|| Error::precondition("the policy no longer has this milestone", "督办规则已无此节点"))?;
    let date = calendar
        .nth_working_day_after(base.date, m.shift_days.max(0) as u32)
        .map_err(|e| Error::precondition(e.to_string(), e.reason_zh()))?;
    let start = m.assigned_at.with_timezone(tz).date_naive();
    let versions = serde_json::to_value(calendar.versions(start, date)).unwrap_or_default();
    Ok((date, versions))
}
