//! Major items by plan (重大事项推进计划) and continuing attention (持续关注):
//! the milestones they add to an assignment beyond its policy's.

use crate::assignment_store::{self as store, AssignmentRow, MilestoneRow};
use crate::assignments::{AssignmentService, due, illegal};
use crate::convert::date_from;
use chrono::{DateTime, Utc};
use duban_core::Violations;
use duban_core::access::Action;
use duban_core::assignment::{self as rules, AssignmentAction};
use duban_core::plan::{self, PlanStep};
use duban_core::policy::{self, MilestoneKind, Span};
use duban_platform::auth::Principal;
use duban_platform::mutation::MutationContext;
use duban_platform::{Error, Result};
use duban_proto::assignment::v1 as pb;
use sqlx::PgConnection;

/// Longest interval between stage reports.
const MAX_ATTENTION_MONTHS: i32 = 12;

impl AssignmentService {
    pub async fn submit_plan(&self, p: &Principal, req: &pb::SubmitPlanRequest) -> Result<pb::Assignment> {
        let mut v = Violations::new();
        let steps: Vec<PlanStep> = req
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let field = format!("steps[{i}].date");
                let date = date_from(&field, s.date.as_ref(), &mut v);
                if s.date.is_none() {
                    v.add(field, "is required", "须填写时间节点");
                }
                Some(PlanStep {
                    date: date?,
                    what: s.what.trim().to_owned(),
                })
            })
            .collect();
        let today = self.clock.now().await?.with_timezone(&self.tz).date_naive();
        if steps.len() == req.steps.len() {
            v.extend(plan::plan_violations(&steps, &req.summary, today));
        }
        v.into_result().map_err(Error::InvalidArgument)?;
        let summary = req.summary.trim();
        self.step(
            p,
            &req.request_id,
            "SubmitPlan",
            req,
            &req.id,
            &req.etag,
            Action::ReportProgress,
            async |conn: &mut PgConnection, row: &AssignmentRow, ctx: &MutationContext| {
                if !plan::plan_allowed(row.urgency) {
                    return Err(Error::precondition(
                        "only major items go by a plan; ask for an extension instead",
                        "只有重大事项可报送推进计划,其他事项请按时办结或申请延期",
                    ));
                }
                let state = rules::step(row.state, AssignmentAction::SubmitPlan).map_err(illegal)?;
                store::set_state(conn, row.id, state, ctx.now).await?;
                store::insert_plan(conn, row.id, summary, &steps, &ctx.principal.name, ctx.now).await?;
                Ok("assignment.plan_submitted")
            },
        )
        .await
    }

    pub async fn decide_plan(&self, p: &Principal, req: &pb::DecidePlanRequest) -> Result<pb::Assignment> {
        if !req.approve && req.comment.trim().is_empty() {
            return Err(Error::invalid(
                "comment",
                "is required when sending a plan back",
                "退回推进计划须写明意见",
            ));
        }
        self.step(
            p,
            &req.request_id,
            "DecidePlan",
            req,
            &req.id,
            &req.etag,
            Action::DecideRequests,
            async |conn: &mut PgConnection, row: &AssignmentRow, ctx: &MutationContext| {
                self.check_supervising_leader(conn, &ctx.principal, row).await?;
                let action = if req.approve {
                    AssignmentAction::ApprovePlan
                } else {
                    AssignmentAction::RejectPlan
                };
                let state = rules::step(row.state, action).map_err(illegal)?;
                let pending = row
                    .plans
                    .iter()
                    .rev()
                    .find(|plan| plan.state == "pending")
                    .ok_or_else(|| anyhow::anyhow!("plan_pending without a pending plan"))?;
                store::decide_plan(
                    conn,
                    pending.id,
                    req.approve,
                    &ctx.principal.name,
                    req.comment.trim(),
                    ctx.now,
                )
                .await?;
                store::set_state(conn, row.id, state, ctx.now).await?;
                if !req.approve {
                    return Ok("assignment.plan_rejected");
                }
                // The month's milestone asked for a plan: the unit met it when
                // it submitted the plan now approved.
                store::set_met(conn, row.id, MilestoneKind::Resolve.code(), Some(pending.submitted_at)).await?;
                let calendar = crate::store::calendar(&mut *conn).await?;
                let numbered = row.milestones.iter().filter(|m| m.kind.starts_with("plan.")).count();
                let milestones: Vec<MilestoneRow> = pending
                    .steps()
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let due = due(ctx.now, s.date, &calendar, &self.tz);
                        MilestoneRow {
                            kind: plan::plan_milestone(numbered + i + 1),
                            rule: format!("推进计划:{}", s.what),
                            due_date: due.date,
                            due_at: due.at,
                            // Dates the plan states, not computed from the calendar.
                            calendar_versions: serde_json::json!({}),
                            provisional: false,
                            met_at: None,
                            opened_at: ctx.now,
                            yellow_at: due.yellow_at,
                        }
                    })
                    .collect();
                store::insert_milestones(conn, row.id, &milestones).await?;
                Ok("assignment.plan_approved")
            },
        )
        .await
    }

    /// Extensions, suspensions and plans are decided by the item's
    /// supervising leader when it names one (an admin may stand in); the
    /// role and the 分管 scope are checked with the step. The president, the
    /// court's top leader, decides for any unit the step held to the token's scope.
    pub(crate) async fn check_supervising_leader(
        &self,
        conn: &mut PgConnection,
        p: &Principal,
        row: &AssignmentRow,
    ) -> Result<()> {
        if p.is_admin() || p.has_role(duban_core::Role::President) {
            return Ok(());
        }
        let named = store::supervising_leader(&mut *conn, row.item_id).await?;
        if !p.has_role(duban_core::Role::Leader) || named.is_some_and(|leader| p.person_id != Some(leader)) {
            return Err(Error::PermissionDenied {
                reason: "only the item's supervising leader decides this".into(),
                reason_zh: "延期、中止申请和推进计划由分管领导审批".into(),
            });
        }
        Ok(())
    }

    pub async fn set_attention(&self, p: &Principal, req: &pb::SetAttentionRequest) -> Result<pb::Assignment> {
        if !(0..=MAX_ATTENTION_MONTHS).contains(&req.months) {
            return Err(Error::invalid(
                "months",
                "must be 1 to 12 (months between stage reports), or 0 to end the attention",
                "阶段性报告间隔须为1至12个月,0为结束持续关注",
            ));
        }
        self.step(
            p,
            &req.request_id,
            "SetAttention",
            req,
            &req.id,
            &req.etag,
            Action::Verify,
            async |conn: &mut PgConnection, row: &AssignmentRow, ctx: &MutationContext| {
                if rules::is_open(row.state) {
                    return Err(Error::precondition(
                        "continuing attention follows verification",
                        format!("交办事项当前为“{}”状态,核查通过后方可持续关注", row.state.label_zh()),
                    ));
                }
                store::drop_open_stages(conn, row.id).await?;
                if req.months == 0 {
                    if row.attention_months.is_none() {
                        return Err(Error::precondition(
                            "it is not under continuing attention",
                            "该事项未在持续关注中",
                        ));
                    }
                    store::set_attention(conn, row.id, None, ctx.now).await?;
                    return Ok("assignment.attention_ended");
                }
                store::set_attention(conn, row.id, Some(req.months), ctx.now).await?;
                self.add_stage(conn, row, req.months, ctx.now).await?;
                Ok("assignment.attention_set")
            },
        )
        .await
    }

    /// Owes the next stage report `months` months from `now`.
    pub(crate) async fn add_stage(
        &self,
        conn: &mut PgConnection,
        row: &AssignmentRow,
        months: i32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let calendar = crate::store::calendar(&mut *conn).await?;
        let today = now.with_timezone(&self.tz).date_naive();
        let date = policy::last_day(&calendar, Span::Months(months as u32), today, None)
            .map_err(crate::calendar::due_error)?;
        let due = due(now, date, &calendar, &self.tz);
        let n = row.milestones.iter().filter(|m| m.kind.starts_with("stage.")).count() + 1;
        let stage = MilestoneRow {
            kind: plan::stage_milestone(n),
            rule: format!("每{months}个月报送阶段性报告"),
            due_date: due.date,
            due_at: due.at,
            calendar_versions: serde_json::to_value(calendar.versions(today, date)).unwrap_or_default(),
            provisional: calendar.is_provisional(today, date),
            met_at: None,
            opened_at: now,
            yellow_at: due.yellow_at,
        };
        store::insert_milestones(conn, row.id, &[stage]).await
    }
}
