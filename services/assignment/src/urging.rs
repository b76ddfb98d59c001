//! Urging and escalation (催办, docs/domain.md §5): reminders one working day
//! before a milestone, a numbered urge when one is missed, urges by the
//! office, answers judged justified or not, and the 通报批评 flag after two
//! urges without a justified answer.
//!
//! The sweep that issues reminders and automatic urges runs in every
//! service replica, on the service clock. It is safe to run anywhere and
//! any number of times: every reminder and automatic urge is unique per
//! assignment and milestone in the database, so a second sweep, a restart or
//! a parallel replica finds nothing left to do.

use crate::assignment_store::{self as store, AssignmentRow, NewUrge};
use crate::assignments::{AssignmentService, change, summary};
use crate::calendar::system;
use chrono::{DateTime, Utc};
use duban_core::access::Action;
use duban_core::assignment::{self as rules, URGES_BEFORE_CRITICISM, UrgeStanding};
use duban_core::calendar::Calendar;
use duban_core::policy;
use duban_platform::auth::Principal;
use duban_platform::mutation::{Change, MutationContext, mutate};
use duban_platform::{Error, Result};
use duban_proto::assignment::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

impl AssignmentService {
    /// An urge is answered by 24:00 of the next working day.
    fn answer_due(&self, calendar: &Calendar, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = now.with_timezone(&self.tz).date_naive();
        match calendar.nth_working_day_after(today, 1) {
            Ok(day) => policy::end_of_day(day, &self.tz),
            // Without next year's calendar: a day, rather than no deadline.
            Err(_) => now + chrono::Duration::days(1),
        }
    }

    /// Flags the assignment for 通报批评 when it has enough urges without a
    /// justified answer and is not flagged yet.
    async fn flag_if_due(&self, conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<Option<Change>> {
        // Locked, so that sweeps in several replicas flag (and announce) once.
        let row = store::assignment(conn, id, true)
            .await?
            .ok_or_else(|| crate::assignments::not_found(id))?;
        if row.flagged_at.is_some() || !rules::is_open(row.state) {
            return Ok(None);
        }
        let standings: Vec<UrgeStanding> = row
            .urges
            .iter()
            .map(|u| UrgeStanding {
                answer_due_at: u.answer_due_at,
                answered: u.responded_at.is_some(),
                justified: u.justified,
            })
            .collect();
        let against = rules::urges_against(&standings, now);
        if against < URGES_BEFORE_CRITICISM {
            return Ok(None);
        }
        let reason = format!("经催办{against}次无正当理由未按要求办理");
        if !store::set_flag(conn, id, &reason, now).await? {
            return Ok(None);
        }
        Ok(Some(change(
            "assignment.flagged",
            &row,
            None,
            Some(serde_json::json!({ "reason": reason, "urges_against": against })),
        )))
    }

    /// Issues what is due at the service clock's now; returns how many
    /// reminders, urges and flags it issued.
    pub async fn sweep(&self) -> Result<usize> {
        // The clock and the candidates are read in one snapshot: a sweep that
        // read "now" before the dev clock was set back, and the assignments
        // after, urged a fresh assignment for every milestone at once.
        let mut snapshot = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        let now = self.clock.now_on(&mut snapshot).await?;
        let calendar = crate::store::calendar(&mut *snapshot).await?;
        let today = now.with_timezone(&self.tz).date_naive();
        let horizon = calendar.nth_working_day_after(today, 1).unwrap_or(today);
        let reminders = store::reminder_candidates(&mut *snapshot, now, horizon).await?;
        let overdue = store::overdue_candidates(&mut *snapshot, now).await?;
        let flaggable = store::unflagged_with_urges(&mut *snapshot).await?;
        // Months an overdue assignment, or one going by a plan, went without
        // a progress report.
        let candidates = store::monthly_candidates(&mut *snapshot, now, self.tz.name()).await?;
        snapshot.commit().await?;
        let monthly: Vec<(Uuid, String, String)> = candidates
            .into_iter()
            .flat_map(|c| {
                let owed = if c.by_plan {
                    duban_core::plan::plan_months_owed(c.since, today)
                } else {
                    rules::months_owed(c.since, today)
                };
                owed.into_iter()
                    .map(|(y, m)| {
                        let what = if c.by_plan {
                            "推进计划落实进展情况"
                        } else {
                            "逾期办理进展情况(原因及下步打算)"
                        };
                        (format!("{y:04}-{m:02}"), format!("{y}年{m}月未报送{what}"))
                    })
                    .filter(|(period, _)| !c.reported.contains(period) && !c.urged.contains(period))
                    .map(|(period, note)| (c.assignment, period, note))
                    .collect::<Vec<_>>()
            })
            .collect();
        if reminders.is_empty() && overdue.is_empty() && flaggable.is_empty() && monthly.is_empty() {
            return Ok(0);
        }
        let ctx = MutationContext {
            principal: system(),
            request_id: format!("sweep-{}", Uuid::now_v7()),
            now,
            service: "assignment",
        };
        let issued = mutate(
            &self.pool,
            &ctx,
            "Sweep",
            &pb::ListAssignmentsRequest::default(),
            async |conn: &mut PgConnection| {
                let mut changes = Vec::new();
                for (id, milestone) in &reminders {
                    if store::insert_reminder(conn, *id, milestone, now).await? {
                        let row = store::assignment(conn, *id, false)
                            .await?
                            .ok_or_else(|| crate::assignments::not_found(*id))?;
                        changes.push(change(
                            "assignment.reminder",
                            &row,
                            None,
                            Some(serde_json::json!({ "milestone": milestone })),
                        ));
                    }
                }
                for (id, milestone) in &overdue {
                    let row = store::assignment(conn, *id, true)
                        .await?
                        .ok_or_else(|| crate::assignments::not_found(*id))?;
                    let urge = NewUrge {
                        assignment: *id,
                        kind: "automatic",
                        milestone: Some(milestone),
                        period: None,
                        note: "",
                        by: "system",
                        answer_due_at: self.answer_due(&calendar, now),
                    };
                    if let Some(seq) = store::insert_urge(conn, &urge, now).await? {
                        changes.push(change(
                            "assignment.urged",
                            &row,
                            None,
                            Some(serde_json::json!({ "seq": seq, "milestone": milestone, "kind": "automatic" })),
                        ));
                    }
                }
                for (id, period, note) in &monthly {
                    let row = store::assignment(conn, *id, true)
                        .await?
                        .ok_or_else(|| crate::assignments::not_found(*id))?;
                    let urge = NewUrge {
                        assignment: *id,
                        kind: "monthly",
                        milestone: None,
                        period: Some(period),
                        note,
                        by: "system",
                        answer_due_at: self.answer_due(&calendar, now),
                    };
                    if let Some(seq) = store::insert_urge(conn, &urge, now).await? {
                        changes.push(change(
                            "assignment.urged",
                            &row,
                            None,
                            Some(serde_json::json!({ "seq": seq, "period": period, "kind": "monthly" })),
                        ));
                    }
                }
                for id in &flaggable {
                    if let Some(c) = self.flag_if_due(conn, *id, now).await? {
                        changes.push(c);
                    }
                }
                let n = changes.len();
                Ok((
                    pb::ListAssignmentsResponse {
                        next_page_token: n.to_string(),
                        ..Default::default()
                    },
                    changes,
                ))
            },
        )
        .await?;
        Ok(issued.next_page_token.parse().unwrap_or(0))
    }

    pub async fn urge(&self, p: &Principal, req: &pb::UrgeRequest) -> Result<pb::Assignment> {
        self.step(
            p,
            &req.request_id,
            "Urge",
            req,
            &req.id,
            &req.etag,
            Action::Verify,
            async |conn: &mut PgConnection, row: &AssignmentRow, ctx: &MutationContext| {
                if !rules::is_open(row.state) {
                    return Err(Error::precondition(
                        format!("the assignment is {}", row.state.code()),
                        format!("交办事项当前为“{}”状态,无需催办", row.state.label_zh()),
                    ));
                }
                let calendar = crate::store::calendar(&mut *conn).await?;
                let urge = NewUrge {
                    assignment: row.id,
                    kind: "manual",
                    milestone: None,
                    period: None,
                    note: req.note.trim(),
                    by: &ctx.principal.name,
                    answer_due_at: self.answer_due(&calendar, ctx.now),
                };
                store::insert_urge(conn, &urge, ctx.now).await?;
                Ok("assignment.urged")
            },
        )
        .await
    }

    pub async fn judge(&self, p: &Principal, req: &pb::JudgeUrgeResponseRequest) -> Result<pb::Assignment> {
        let urge_id = crate::assignments::parse_id("urge_id", &req.urge_id)?;
        let id = crate::assignments::parse_id("id", &req.id)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(
            &self.pool,
            &ctx,
            "JudgeUrgeResponse",
            req,
            async |conn: &mut PgConnection| {
                let row = store::assignment(conn, id, true)
                    .await?
                    .ok_or_else(|| crate::assignments::not_found(id))?;
                p.authorize_on(Action::Verify, &row.unit_ancestry)?;
                if req.etag != format!("v{}", row.version) {
                    return Err(Error::StaleEtag {
                        kind: "assignment",
                        id: id.to_string(),
                    });
                }
                let urge = row
                    .urges
                    .iter()
                    .find(|u| u.id == urge_id)
                    .ok_or_else(|| Error::not_found("urge", "催办", urge_id))?;
                if urge.responded_at.is_none() {
                    return Err(Error::precondition("the urge has not been answered", "该催办尚未回复"));
                }
                store::judge_urge(conn, urge_id, req.justified, &ctx.principal.name, ctx.now).await?;
                let mut changes = vec![change(
                    "assignment.urge_judged",
                    &row,
                    Some(summary(&row)),
                    Some(serde_json::json!({ "urge": urge.seq, "justified": req.justified })),
                )];
                if let Some(flag) = self.flag_if_due(conn, id, ctx.now).await? {
                    changes.push(flag);
                }
                let (_, message) = self.reload(conn, id, ctx.now).await?;
                Ok((message, changes))
            },
        )
        .await
    }
}
