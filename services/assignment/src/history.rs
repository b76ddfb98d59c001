//! Taking over an old ledger's follow-up (历史台账): after the registry has
//! imported the items, each is assigned as of its historical assignment date,
//! with deadlines from then, and put in the state the ledger records. The old
//! ledger does not say when each milestone was met: those its state implies
//! are recorded as met on the day of assignment, so nothing is urged for them.

use crate::assignment_store::{self as store, Move, NewFeedback};
use crate::assignments::{AssignmentService, Basis, Contacts, change, due, summary};
use crate::convert::date_from;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use duban_core::Violations;
use duban_core::access::Action;
use duban_core::assignment::{self as rules, AssignmentState, FeedbackKind};
use duban_core::policy::{self, MilestoneKind};
use duban_platform::auth::Principal;
use duban_platform::mutation::{Change, MutationContext, mutate};
use duban_platform::upload::UploadSettings;
use duban_platform::{Error, Result};
use duban_proto::assignment::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

/// Who the records say did what the old ledger did.
const IMPORTER: &str = "台账导入";

/// An assignment's clock starts at the beginning of office hours on its day.
const OFFICE_OPENS: Duration = Duration::hours(9);

struct Row<'a> {
    row: i32,
    item_id: Uuid,
    assigned_on: NaiveDate,
    deadline: Option<NaiveDate>,
    state: AssignmentState,
    progress: &'a str,
}

/// The rows, or every problem with them, each naming its spreadsheet row.
fn rows(list: &pb::HistoricalAssignments) -> std::result::Result<Vec<Row<'_>>, Violations> {
    let mut v = Violations::new();
    if list.assignments.is_empty() {
        v.add("assignments", "is empty", "没有可导入的交办事项");
    }
    let mut out = Vec::new();
    for (i, h) in list.assignments.iter().enumerate() {
        let at = |f: &str| format!("assignments[{i}].{f}");
        let item_id = Uuid::parse_str(&h.item_id);
        if item_id.is_err() {
            v.add(
                at("item_id"),
                "is not a valid id (UUID)",
                format!("第{}行:事项编号格式不正确", h.row),
            );
        }
        let assigned_on = date_from(&at("assigned_on"), h.assigned_on.as_ref(), &mut v);
        if h.assigned_on.is_none() {
            v.add(
                at("assigned_on"),
                format!("row {}: the assignment date (交办日期 or 立项日期) is required", h.row),
                format!("第{}行:须有交办日期或立项日期", h.row),
            );
        }
        let deadline = date_from(&at("deadline"), h.deadline.as_ref(), &mut v);
        let state = rules::from_ledger_text(&h.state);
        if state.is_none() {
            v.add(
                at("state"),
                format!("row {}: `{}` is not a follow-up state", h.row, h.state),
                format!(
                    "第{}行:状态“{}”无法识别,应为已交办、已签收、办理中、已报办结、已办结或已销号等",
                    h.row, h.state
                ),
            );
        }
        if let (Ok(item_id), Some(assigned_on), Some(state)) = (item_id, assigned_on, state) {
            out.push(Row {
                row: h.row,
                item_id,
                assigned_on,
                deadline,
                state,
                progress: h.progress.trim(),
            });
        }
    }
    v.into_result().map(|_| out)
}

/// An error about one row says which.
fn on_row(row: i32, e: Error) -> Error {
    match e {
        Error::FailedPrecondition { reason, reason_zh } => Error::FailedPrecondition {
            reason: format!("row {row}: {reason}"),
            reason_zh: format!("第{row}行:{reason_zh}"),
        },
        other => other,
    }
}

impl AssignmentService {
    /// Receives a streamed ImportAssignments: the options, then every row,
    /// once the caller may assign at all (each row's unit is judged later).
    pub async fn receive_history(
        p: &Principal,
        stream: tonic::Streaming<pb::ImportAssignmentsRequest>,
        caps: UploadSettings,
    ) -> std::result::Result<(pb::ImportAssignmentsOptions, pb::HistoricalAssignments), tonic::Status> {
        use duban_platform::upload::{Part, receive};
        let (options, assignments) = receive(
            stream,
            |m| match m.part {
                Some(pb::import_assignments_request::Part::Options(o)) => Part::Options(o),
                Some(pb::import_assignments_request::Part::Rows(batch)) => Part::Rows(batch.assignments),
                None => Part::Empty,
            },
            async |_| p.authorize_role(Action::Assign),
            caps,
        )
        .await?;
        Ok((options, pb::HistoricalAssignments { assignments }))
    }

    pub async fn import_assignments(
        &self,
        p: &Principal,
        options: &pb::ImportAssignmentsOptions,
        history: &pb::HistoricalAssignments,
    ) -> Result<pb::ImportAssignmentsResponse> {
        p.authorize_role(Action::Assign)?;
        let rows = rows(history).map_err(Error::InvalidArgument)?;
        let ctx = self.context(p, &options.request_id).await?;
        if options.dry_run {
            let mut tx = duban_platform::db::begin(&self.pool).await?;
            let (out, _) = self.apply_history(&mut tx, &ctx, &rows).await?;
            tx.rollback().await?;
            return Ok(pb::ImportAssignmentsResponse { dry_run: true, ..out });
        }
        mutate(
            &self.pool,
            &ctx,
            "ImportAssignments",
            history,
            async |conn: &mut PgConnection| self.apply_history(conn, &ctx, &rows).await,
        )
        .await
    }

    async fn apply_history(
        &self,
        conn: &mut PgConnection,
        ctx: &MutationContext,
        rows: &[Row<'_>],
    ) -> Result<(pb::ImportAssignmentsResponse, Vec<Change>)> {
        let mut out = pb::ImportAssignmentsResponse {
            rows: rows.len() as i32,
            ..Default::default()
        };
        let mut changes = Vec::new();
        // The default policy, the calendar and each unit's contacts are read
        // once for the whole import, not once per row.
        let basis = Basis::read(conn, "").await?;
        let mut contacts = Contacts::default();
        let ids: Vec<Uuid> = rows.iter().map(|r| r.item_id).collect();
        let items = store::assignable_items(&mut *conn, &ids).await?;
        let mut assigned = store::with_round(&mut *conn, &ids, 1).await?;
        for r in rows {
            let item = items
                .get(&r.item_id)
                .ok_or_else(|| Error::not_found("item", "督办事项", r.item_id))?;
            let court = contacts.get(conn, item.court_id).await?;
            ctx.principal.authorize_on(Action::Assign, &court.ancestry)?;
            if !item.registered {
                return Err(on_row(
                    r.row,
                    Error::precondition("only a registered item can be assigned", "事项尚未立项,不能交办"),
                ));
            }
            // Assigned before, or by an earlier row of this import.
            if !assigned.insert(item.id) {
                out.unchanged += 1;
                continue;
            }
            let assigned_at = policy::start_of_day(r.assigned_on, &self.tz) + OFFICE_OPENS;
            let mut units = vec![(item.lead_unit_id, "lead")];
            units.extend(item.co_unit_ids.iter().map(|u| (*u, "co")));
            let created = self
                .insert_assignments(conn, item, 1, &units, &basis, &mut contacts, ctx, assigned_at)
                .await
                .map_err(|e| on_row(r.row, e))?;
            for id in created {
                self.take_over(conn, id, r, assigned_at, &basis.calendar, ctx.now)
                    .await?;
                let (row, _) = self.reload(conn, id, ctx.now).await?;
                let mut after = summary(&row);
                after["ledger_row"] = r.row.into();
                changes.push(change("assignment.imported", &row, None, Some(after)));
            }
            out.created += 1;
        }
        Ok((out, changes))
    }

    /// Puts a fresh assignment where the old ledger says it is.
    async fn take_over(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
        r: &Row<'_>,
        assigned_at: DateTime<Utc>,
        calendar: &duban_core::calendar::Calendar,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if let Some(deadline) = r.deadline {
            let due = due(assigned_at, deadline, calendar, &self.tz);
            store::move_milestone(conn, id, MilestoneKind::Resolve.code(), &due, Move::AsWritten).await?;
        }
        for kind in rules::milestones_met_by(r.state) {
            store::set_met(conn, id, kind.code(), Some(assigned_at)).await?;
        }
        store::set_history(conn, id, r.state, IMPORTER, now).await?;
        if !r.progress.is_empty() {
            let kind = if rules::milestones_met_by(r.state).contains(&MilestoneKind::Resolve) {
                FeedbackKind::Completion
            } else {
                FeedbackKind::Progress
            };
            let feedback = NewFeedback {
                assignment_id: id,
                kind,
                body: r.progress,
                reason: None,
                next_steps: "",
                progress: serde_json::json!([]),
                attachments: &[],
                submitted_by: IMPORTER,
            };
            store::insert_feedback(conn, &feedback, now).await?;
        }
        Ok(())
    }
}
