//! Assignments through their life: 交办, 签收, 反馈, 核查, 销号. Each step is
//! checked against the state machine in `duban_core::assignment` and the
//! caller's role and unit, and goes through `mutate`.

use crate::assignment_store::{
    self as store, AssignmentFilter, AssignmentRow, Due, MilestoneRow, NewAssignment, NewFeedback, Verdict,
};
use crate::calendar::due_error;
use crate::convert::{date, date_from, timestamp};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use duban_core::Violations;
use duban_core::access::Action;
use duban_core::assignment::{self as rules, AssignmentAction, AssignmentState, FeedbackKind, Grade, Thresholds};
use duban_core::calendar::Calendar;
use duban_core::item::UrgencyClass;
use duban_core::policy::{self, MilestoneKind};
use duban_platform::auth::Principal;
use duban_platform::clock::Clock;
use duban_platform::mutation::{Change, MutationContext, mutate};
use duban_platform::{Error, Result, page};
use duban_proto::assignment::v1 as pb;
use duban_proto::registry::v1 as reg;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// What assigning reads once: the policy and the working-day calendar.
pub(crate) struct Basis {
    pub policy: duban_core::policy::Policy,
    pub calendar: Calendar,
}

impl Basis {
    /// The named policy (`""`: the default) and every loaded calendar year.
    pub(crate) async fn read(conn: &mut PgConnection, policy_name: &str) -> Result<Self> {
        let (policy, _) = crate::store::policy(&mut *conn, policy_name)
            .await?
            .ok_or_else(|| Error::invalid("policy", "names no policy (see ListPolicies)", "督办规则不存在"))?;
        Ok(Self {
            policy,
            calendar: crate::store::calendar(&mut *conn).await?,
        })
    }
}

/// Units with their current head and liaison, each read once.
#[derive(Default)]
pub(crate) struct Contacts(std::collections::HashMap<Uuid, store::UnitContacts>);

impl Contacts {
    pub(crate) async fn get(&mut self, conn: &mut PgConnection, unit: Uuid) -> Result<store::UnitContacts> {
        if let Some(u) = self.0.get(&unit) {
            return Ok(u.clone());
        }
        let u = store::unit_contacts(&mut *conn, unit)
            .await?
            .ok_or_else(|| anyhow::anyhow!("unit {unit} missing"))?;
        self.0.insert(unit, u.clone());
        Ok(u)
    }
}

#[derive(Clone)]
pub struct AssignmentService {
    pub(crate) pool: PgPool,
    pub(crate) clock: Clock,
    pub(crate) tz: chrono_tz::Tz,
}

/// A milestone ending on `date` (24:00 court time), its window opened at
/// `opened_at`: when it turns yellow and red.
pub(crate) fn due(opened_at: DateTime<Utc>, date: NaiveDate, calendar: &Calendar, tz: &chrono_tz::Tz) -> Due {
    let at = policy::end_of_day(date, tz);
    Due {
        date,
        at,
        yellow_at: rules::yellow_at(opened_at, date, at, calendar, tz),
    }
}

/// The milestones whose clock runs: the open ones of a running assignment;
/// after verification only a stage report owed under continuing attention;
/// none while suspended.
pub(crate) fn running_milestones(row: &AssignmentRow) -> impl Iterator<Item = &MilestoneRow> {
    let open = rules::is_open(row.state);
    let runs = row.suspended_at.is_none();
    row.milestones
        .iter()
        .filter(move |m| runs && m.met_at.is_none() && (open || m.kind.starts_with("stage.")))
}

pub(crate) fn not_found(id: Uuid) -> Error {
    Error::not_found("assignment", "交办事项", id)
}

pub(crate) fn illegal(e: rules::IllegalStep) -> Error {
    Error::precondition(e.reason(), e.reason_zh())
}

pub(crate) fn parse_id(field: &str, value: &str) -> Result<Uuid> {
    Uuid::parse_str(value).map_err(|_| Error::invalid(field, "is not a valid id (UUID)", "编号格式不正确"))
}

fn etag(version: i64) -> String {
    format!("v{version}")
}

fn check_etag(row: &AssignmentRow, etag: &str) -> Result<()> {
    if etag.is_empty() {
        return Err(Error::invalid(
            "etag",
            "is required: send the etag from your last read",
            "缺少版本标记(etag),请先读取最新数据",
        ));
    }
    if etag != format!("v{}", row.version) {
        return Err(Error::StaleEtag {
            kind: "assignment",
            id: row.id.to_string(),
        });
    }
    Ok(())
}

fn urgency(class: UrgencyClass) -> reg::UrgencyClass {
    match class {
        UrgencyClass::Urgent => reg::UrgencyClass::Urgent,
        UrgencyClass::FixedDeadline => reg::UrgencyClass::FixedDeadline,
        UrgencyClass::General => reg::UrgencyClass::General,
        UrgencyClass::Major => reg::UrgencyClass::Major,
    }
}

pub(crate) fn change(
    action: &'static str,
    row: &AssignmentRow,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Change {
    Change {
        action,
        target_kind: "assignment",
        target_id: row.id.to_string(),
        before,
        after,
        unit_ids: row.unit_ancestry.clone(),
    }
}

/// What every assignment event carries: enough for a consumer (appraisal,
/// the reporting worker, the OA) to follow an assignment from events alone,
/// without reading the assignment service's tables.
pub(crate) fn summary(row: &AssignmentRow) -> serde_json::Value {
    let milestones: Vec<_> = row
        .milestones
        .iter()
        .map(|m| serde_json::json!({"kind": m.kind, "due_date": m.due_date, "due_at": m.due_at, "met_at": m.met_at, "calendar_versions": m.calendar_versions}))
        .collect();
    let urges: Vec<_> = row
        .urges
        .iter()
        .map(|u| {
            serde_json::json!({"seq": u.seq, "kind": u.kind, "milestone": u.milestone, "period": u.period,
                               "answered": u.responded_at.is_some(), "justified": u.justified})
        })
        .collect();
    serde_json::json!({
        "item_id": row.item_id, "item_number": row.item_number, "round": row.round,
        "unit_id": row.unit_id, "role": row.role, "urgency": row.urgency.code(),
        "head_id": row.head.0, "liaison_id": row.liaison.0,
        "assigned_at": row.assigned_at, "state": row.state, "grade": row.grade,
        "suspended_at": row.suspended_at, "flagged_at": row.flagged_at, "flag_reason": row.flag_reason,
        "milestones": milestones, "urges": urges, "attention_months": row.attention_months,
        "version": row.version,
    })
}

impl AssignmentService {
    pub fn new(pool: PgPool, clock: Clock, tz: chrono_tz::Tz) -> Self {
        Self { pool, clock, tz }
    }

    pub(crate) async fn context(&self, p: &Principal, request_id: &str) -> Result<MutationContext> {
        Ok(MutationContext {
            principal: p.clone(),
            request_id: request_id.to_owned(),
            now: self.clock.now().await?,
            service: "assignment",
        })
    }

    /// The calendar when some row is suspended (its paused working days are
    /// shown); not read otherwise, so the write path pays nothing for it.
    async fn calendar_if_suspended<'r>(
        conn: &mut PgConnection,
        rows: impl IntoIterator<Item = &'r AssignmentRow>,
    ) -> Result<Option<Calendar>> {
        if rows.into_iter().any(|r| r.suspended_at.is_some()) {
            Ok(Some(crate::store::calendar(&mut *conn).await?))
        } else {
            Ok(None)
        }
    }

    /// The message for an assignment, its light judged at `now`.
    fn message(&self, row: &AssignmentRow, now: DateTime<Utc>, calendar: Option<&Calendar>) -> pb::Assignment {
        let local = |t: DateTime<Utc>| t.with_timezone(&self.tz).date_naive();
        let paused = row
            .suspended_at
            .and_then(|since| calendar.and_then(|c| rules::paused_working_days(c, local(since), local(now)).ok()));
        let planned = row.milestones.iter().any(|m| m.kind.starts_with("plan."));
        let running: Vec<Thresholds> = running_milestones(row)
            .map(|m| Thresholds {
                yellow_at: m.yellow_at,
                due_at: m.due_at,
            })
            .collect();
        let light = rules::light(&running, now);
        pb::Assignment {
            id: row.id.to_string(),
            item_id: row.item_id.to_string(),
            item_title: row.item_title.clone(),
            item_number: row.item_number.clone().unwrap_or_default(),
            round: row.round,
            unit_id: row.unit_id.to_string(),
            unit_name: row.unit_name.clone(),
            role: row.role.clone(),
            head: Some(pb::PersonRef {
                id: row.head.0.to_string(),
                name: row.head.1.clone(),
            }),
            liaison: Some(pb::PersonRef {
                id: row.liaison.0.to_string(),
                name: row.liaison.1.clone(),
            }),
            urgency: urgency(row.urgency) as i32,
            policy: row.policy.clone(),
            state: row.state.code().into(),
            state_label: match row.suspended_at {
                Some(_) => rules::suspended_label_zh(paused),
                None => row.state.label_zh().into(),
            },
            paused_working_days: paused.unwrap_or(0) as i32,
            // While suspended the clock stands still, and a finished
            // assignment has none: no light.
            light: if row.suspended_at.is_some() || (!rules::is_open(row.state) && running.is_empty()) {
                String::new()
            } else {
                light.code().into()
            },
            suspended_time: row.suspended_at.map(timestamp),
            urges: row
                .urges
                .iter()
                .map(|u| pb::UrgeRecord {
                    id: u.id.to_string(),
                    seq: u.seq,
                    kind: u.kind.clone(),
                    milestone: u.milestone.clone().unwrap_or_default(),
                    period: u.period.clone().unwrap_or_default(),
                    note: u.note.clone(),
                    issued_by: u.issued_by.clone(),
                    issue_time: Some(timestamp(u.issued_at)),
                    answer_due_time: Some(timestamp(u.answer_due_at)),
                    response_time: u.responded_at.map(timestamp),
                    justified: u.justified,
                })
                .collect(),
            flagged_time: row.flagged_at.map(timestamp),
            flag_reason: row.flag_reason.clone(),
            requests: row
                .requests
                .iter()
                .map(|q| pb::ChangeRequest {
                    id: q.id.to_string(),
                    kind: q.kind.clone(),
                    reason: q.reason.clone(),
                    new_deadline: q.new_date.map(date),
                    state: q.state.clone(),
                    requested_by: q.requested_by.clone(),
                    request_time: Some(timestamp(q.requested_at)),
                    decided_by: q.decided_by.clone().unwrap_or_default(),
                    comment: q.comment.clone(),
                })
                .collect(),
            assigned_time: Some(timestamp(row.assigned_at)),
            assigned_by: row.assigned_by.clone(),
            milestones: row
                .milestones
                .iter()
                .map(|m| pb::AssignmentMilestone {
                    kind: m.kind.clone(),
                    label: duban_core::plan::milestone_label_zh(&m.kind),
                    rule: m.rule.clone(),
                    due_date: Some(date(m.due_date)),
                    due_time: Some(timestamp(m.due_at)),
                    met_time: m.met_at.map(timestamp),
                    met_label: match m.met_at {
                        Some(_) => duban_core::plan::met_label_zh(&m.kind, planned).into(),
                        None => String::new(),
                    },
                    calendar_versions: m
                        .calendar_versions
                        .as_object()
                        .map(|o| {
                            o.iter()
                                .filter_map(|(y, v)| Some((y.parse().ok()?, v.as_i64()?)))
                                .collect()
                        })
                        .unwrap_or_default(),
                    provisional: m.provisional,
                })
                .collect(),
            feedback: row
                .feedback
                .iter()
                .map(|f| pb::Feedback {
                    id: f.id.to_string(),
                    kind: f.kind.code().into(),
                    kind_label: f.kind.label_zh().into(),
                    text: f.body.clone(),
                    reason: f.reason.clone().unwrap_or_default(),
                    next_steps: f.next_steps.clone(),
                    progress: f
                        .progress
                        .as_array()
                        .map(|l| {
                            l.iter()
                                .map(|t| reg::Target {
                                    what: t["what"].as_str().unwrap_or_default().into(),
                                    target_value: t["value"].as_f64().unwrap_or_default(),
                                    unit_of_measure: t["unit"].as_str().unwrap_or_default().into(),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    attachments: f.attachments.clone(),
                    submitted_by: f.submitted_by.clone(),
                    submit_time: Some(timestamp(f.submitted_at)),
                })
                .collect(),
            grade: row.grade.map(|g| g.code().to_owned()).unwrap_or_default(),
            verification_notes: row.verification_notes.clone(),
            verified_by: row.verified_by.clone().unwrap_or_default(),
            verified_time: row.verified_at.map(timestamp),
            return_comment: row.return_comment.clone(),
            closed_out_time: row.closed_out_at.map(timestamp),
            etag: etag(row.version),
            plans: row
                .plans
                .iter()
                .map(|plan| pb::Plan {
                    id: plan.id.to_string(),
                    summary: plan.summary.clone(),
                    steps: plan
                        .steps()
                        .into_iter()
                        .map(|s| pb::PlanStep {
                            date: Some(date(s.date)),
                            what: s.what,
                        })
                        .collect(),
                    state: plan.state.clone(),
                    submitted_by: plan.submitted_by.clone(),
                    submit_time: Some(timestamp(plan.submitted_at)),
                    decided_by: plan.decided_by.clone().unwrap_or_default(),
                    decide_time: plan.decided_at.map(timestamp),
                    comment: plan.comment.clone(),
                })
                .collect(),
            attention_months: row.attention_months.unwrap_or(0),
            attention_since: row.attention_since.map(timestamp),
        }
    }

    pub(crate) async fn reload(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(AssignmentRow, pb::Assignment)> {
        let row = store::assignment(conn, id, false).await?.ok_or_else(|| not_found(id))?;
        let calendar = Self::calendar_if_suspended(conn, [&row]).await?;
        let message = self.message(&row, now, calendar.as_ref());
        Ok((row, message))
    }

    pub async fn assign(&self, p: &Principal, req: &pb::AssignItemRequest) -> Result<pb::AssignItemResponse> {
        let item_id = parse_id("item_id", &req.item_id)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(&self.pool, &ctx, "AssignItem", req, async |conn: &mut PgConnection| {
            let item = store::assignable_item(&mut *conn, item_id)
                .await?
                .ok_or_else(|| Error::not_found("item", "督办事项", item_id))?;
            let court = store::unit_contacts(&mut *conn, item.court_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("court missing"))?;
            p.authorize_on(Action::Assign, &court.ancestry)?;
            if !item.registered {
                return Err(Error::precondition(
                    "only a registered item can be assigned",
                    "事项尚未立项,不能交办",
                ));
            }
            if store::round_exists(&mut *conn, item_id, 1).await? {
                return Err(Error::precondition("the item is already assigned", "该事项已交办"));
            }
            let (out, changes) = self.create_round(conn, &item, 1, req.policy.trim(), &ctx).await?;
            // Assigned directly: no longer open for claiming.
            crate::claim_store::close_offer(conn, item_id, ctx.now).await?;
            Ok((pb::AssignItemResponse { assignments: out }, changes))
        })
        .await
    }

    /// Assigns `item`'s round `round` to its lead and co-units under the named
    /// policy (empty: the default), from the mutation's time: one assignment
    /// per unit naming its current head and liaison, milestones computed.
    pub(crate) async fn create_round(
        &self,
        conn: &mut PgConnection,
        item: &store::AssignableItem,
        round: i32,
        policy_name: &str,
        ctx: &MutationContext,
    ) -> Result<(Vec<pb::Assignment>, Vec<Change>)> {
        let mut units = vec![(item.lead_unit_id, "lead")];
        units.extend(item.co_unit_ids.iter().map(|u| (*u, "co")));
        self.create_assignments(
            conn,
            item,
            round,
            &units,
            policy_name,
            "assignment.assigned",
            ctx,
            ctx.now,
        )
        .await
    }

    /// Assigns `item` in `round` to `units` (each lead or co) under the named
    /// policy as of `assigned_at`: each names its unit's current head and
    /// liaison, milestones computed; every assignment announced as `event`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn create_assignments(
        &self,
        conn: &mut PgConnection,
        item: &store::AssignableItem,
        round: i32,
        units: &[(Uuid, &str)],
        policy_name: &str,
        event: &'static str,
        ctx: &MutationContext,
        assigned_at: DateTime<Utc>,
    ) -> Result<(Vec<pb::Assignment>, Vec<Change>)> {
        let basis = Basis::read(conn, policy_name).await?;
        let ids = self
            .insert_assignments(
                conn,
                item,
                round,
                units,
                &basis,
                &mut Contacts::default(),
                ctx,
                assigned_at,
            )
            .await?;
        let mut changes = Vec::new();
        let mut out = Vec::new();
        for id in ids {
            let (row, message) = self.reload(conn, id, ctx.now).await?;
            changes.push(change(event, &row, None, Some(summary(&row))));
            out.push(message);
        }
        Ok((out, changes))
    }

    /// Writes the assignments of [`create_assignments`](Self::create_assignments)
    /// on a policy and calendar already read, with unit contacts from
    /// `contacts`; their ids, in `units` order.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_assignments(
        &self,
        conn: &mut PgConnection,
        item: &store::AssignableItem,
        round: i32,
        units: &[(Uuid, &str)],
        basis: &Basis,
        contacts: &mut Contacts,
        ctx: &MutationContext,
        assigned_at: DateTime<Utc>,
    ) -> Result<Vec<Uuid>> {
        let Basis { policy, calendar } = basis;
        let deadlines = policy::deadlines(calendar, policy, item.urgency, assigned_at, item.deadline, &self.tz)
            .map_err(due_error)?;
        let milestones: Vec<MilestoneRow> = deadlines
            .iter()
            .map(|d| MilestoneRow {
                kind: d.kind.code().into(),
                rule: d.span.describe_zh(),
                due_date: d.date,
                due_at: d.at,
                calendar_versions: serde_json::to_value(&d.versions).unwrap_or_default(),
                provisional: d.provisional,
                met_at: None,
                opened_at: assigned_at,
                yellow_at: due(assigned_at, d.date, calendar, &self.tz).yellow_at,
            })
            .collect();
        let mut ids = Vec::new();
        let mut v = Violations::new();
        for &(unit_id, role) in units {
            let unit = contacts.get(&mut *conn, unit_id).await?;
            let (Some(head), Some(liaison)) = (&unit.head, &unit.liaison) else {
                v.add(
                    format!("units.{}", unit.name),
                    format!("unit {} has no head or no liaison: appoint them first", unit.name),
                    format!("{}未设责任人或联络员,请先在组织机构中指定", unit.name),
                );
                continue;
            };
            let id = Uuid::now_v7();
            let new = NewAssignment {
                id,
                item,
                round,
                role,
                unit: &unit,
                head,
                liaison,
                policy: &policy.name,
                assigned_at,
                assigned_by: &ctx.principal.name,
            };
            store::insert(conn, &new, &milestones, ctx.now).await?;
            ids.push(id);
        }
        if !v.is_empty() {
            return Err(Error::FailedPrecondition {
                reason: v.0.iter().map(|f| f.reason.clone()).collect::<Vec<_>>().join("; "),
                reason_zh: v.0.iter().map(|f| f.reason_zh.clone()).collect::<Vec<_>>().join(";"),
            });
        }
        Ok(ids)
    }

    pub async fn get(&self, p: &Principal, id: &str) -> Result<pb::Assignment> {
        let id = parse_id("id", id)?;
        let mut conn = self.pool.acquire().await?;
        let now = self.clock.now().await?;
        let (row, message) = self.reload(&mut conn, id, now).await?;
        p.authorize_on(Action::ReadLedger, &row.unit_ancestry)?;
        Ok(message)
    }

    pub async fn list(&self, p: &Principal, req: &pb::ListAssignmentsRequest) -> Result<pb::ListAssignmentsResponse> {
        p.authorize_role(Action::ReadLedger)?;
        let filter = AssignmentFilter {
            item_id: if req.item_id.is_empty() {
                None
            } else {
                Some(parse_id("item_id", &req.item_id)?)
            },
            unit_id: if req.unit_id.is_empty() {
                None
            } else {
                Some(parse_id("unit_id", &req.unit_id)?)
            },
            state: match req.state.as_str() {
                "" => None,
                s => Some(
                    AssignmentState::from_code(s)
                        .ok_or_else(|| Error::invalid("state", "is not an assignment state", "状态无效"))?,
                ),
            },
            open_only: req.open_only,
            scope: if p.is_admin() { None } else { Some(p.unit_scope.clone()) },
        };
        let limit = page::page_size(req.page_size)?;
        let after = match page::decode(&req.page_token, 1)? {
            Some(k) => Some(parse_id("page_token", &k[0])?),
            None => None,
        };
        let mut conn = self.pool.acquire().await?;
        let mut rows = store::list(&mut conn, &filter, after, limit + 1).await?;
        let next = page::cut(&mut rows, limit, |r| page::encode(&[&r.id.to_string()]));
        let now = self.clock.now().await?;
        let calendar = Self::calendar_if_suspended(&mut conn, &rows).await?;
        let full = req.view == pb::AssignmentView::Full as i32;
        let mut assignments: Vec<pb::Assignment> = rows
            .iter()
            .map(|r| {
                let mut a = self.message(r, now, calendar.as_ref());
                // The basic view: the latest report, not the whole history,
                // which grows with every report of an open assignment.
                if !full {
                    let older = a.feedback.len().saturating_sub(1);
                    a.feedback.drain(..older);
                }
                a
            })
            .collect();
        let next = page::fit(&mut assignments, next, |i| page::encode(&[&rows[i].id.to_string()]));
        Ok(pb::ListAssignmentsResponse {
            assignments,
            next_page_token: next,
        })
    }

    /// May `p` take `action` on an assignment of the unit at the end of
    /// `ancestry`? For a decision, a leader's supervised units count.
    async fn authorize_step(
        &self,
        conn: &mut PgConnection,
        p: &Principal,
        action: Action,
        ancestry: &[Uuid],
    ) -> Result<()> {
        let supervises = match p.person_id {
            Some(person) if action.counts_supervision() => {
                crate::claim_store::supervises_any(conn, person, ancestry).await?
            }
            _ => false,
        };
        p.authorize_supervised(action, ancestry, supervises)
    }

    /// One step on one assignment: lock, check etag, role, unit and state,
    /// apply, record.
    pub(crate) async fn step(
        &self,
        p: &Principal,
        request_id: &str,
        method: &'static str,
        request: &impl prost::Message,
        id: &str,
        etag: &str,
        action: Action,
        apply: impl AsyncFnOnce(&mut PgConnection, &AssignmentRow, &MutationContext) -> Result<&'static str>,
    ) -> Result<pb::Assignment> {
        let id = parse_id("id", id)?;
        // Checked before the request id is looked at, so a retry is authorised
        // as its first attempt was; and again on the locked row.
        let ancestry = store::unit_ancestry(&self.pool, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        self.authorize_step(&mut *self.pool.acquire().await?, p, action, &ancestry)
            .await?;
        let ctx = self.context(p, request_id).await?;
        mutate(&self.pool, &ctx, method, request, async |conn: &mut PgConnection| {
            let row = store::assignment(conn, id, true).await?.ok_or_else(|| not_found(id))?;
            self.authorize_step(conn, p, action, &row.unit_ancestry).await?;
            check_etag(&row, etag)?;
            let event = apply(conn, &row, &ctx).await?;
            let (after, message) = self.reload(conn, id, ctx.now).await?;
            Ok((
                message,
                vec![change(event, &after, Some(summary(&row)), Some(summary(&after)))],
            ))
        })
        .await
    }

    pub async fn acknowledge(&self, p: &Principal, req: &pb::AcknowledgeRequest) -> Result<pb::Assignment> {
        let deployment = req.deployment.trim().to_owned();
        if deployment.is_empty() {
            return Err(Error::invalid(
                "deployment",
                "is required: how is it deployed?",
                "须填写研究部署情况",
            ));
        }
        self.step(
            p,
            &req.request_id,
            "Acknowledge",
            req,
            &req.id,
            &req.etag,
            Action::ReportProgress,
            async |conn: &mut PgConnection, row: &AssignmentRow, ctx: &MutationContext| {
                let state = rules::step(row.state, AssignmentAction::Acknowledge).map_err(illegal)?;
                store::set_state(conn, row.id, state, ctx.now).await?;
                store::set_met(conn, row.id, MilestoneKind::Deploy.code(), Some(ctx.now)).await?;
                let feedback = NewFeedback {
                    assignment_id: row.id,
                    kind: FeedbackKind::Deployment,
                    body: &deployment,
                    reason: None,
                    next_steps: "",
                    progress: serde_json::json!([]),
                    attachments: &[],
                    submitted_by: &ctx.principal.name,
                };
                store::insert_feedback(conn, &feedback, ctx.now).await?;
                Ok("assignment.acknowledged")
            },
        )
        .await
    }

    pub async fn feedback(&self, p: &Principal, req: &pb::SubmitFeedbackRequest) -> Result<pb::Assignment> {
        let mut v = Violations::new();
        let kind = FeedbackKind::from_code(req.kind.trim());
        if kind.is_none() {
            v.add(
                "kind",
                "must be deployment, initial, progress, completion, delay_explanation or urge_response",
                "反馈类别无效",
            );
        }
        let text = req.text.trim().to_owned();
        if text.is_empty() {
            v.add("text", "is required", "反馈内容不能为空");
        }
        let reason = Some(req.reason.trim()).filter(|r| !r.is_empty());
        if kind == Some(FeedbackKind::DelayExplanation) {
            match reason {
                None => v.add(
                    "reason",
                    "is required for a delay explanation",
                    "逾期说明须选择原因类别",
                ),
                Some(r) if rules::DelayReason::from_code(r).is_none() => v.add(
                    "reason",
                    "must be complexity, coordination, resources, external, policy or other",
                    "原因类别无效",
                ),
                Some(_) => {}
            }
            if req.next_steps.trim().is_empty() {
                v.add(
                    "next_steps",
                    "is required for a delay explanation",
                    "逾期说明须写明下步打算",
                );
            }
        }
        for (i, link) in req.attachments.iter().enumerate() {
            if !(link.starts_with("http://") || link.starts_with("https://")) {
                v.add(
                    format!("attachments[{i}]"),
                    "must be an http(s) link to the OA document",
                    "附件须为OA文件链接",
                );
            }
        }
        for (i, t) in req.progress.iter().enumerate() {
            if t.what.trim().is_empty() || !t.target_value.is_finite() {
                v.add(
                    format!("progress[{i}]"),
                    "needs what and a number",
                    "进度须填写指标和数值",
                );
            }
        }
        if req.plan_step < 0 || (req.plan_step > 0 && kind != Some(FeedbackKind::Progress)) {
            v.add(
                "plan_step",
                "names a plan step (from 1) and goes with a progress report",
                "推进计划节点须随进展情况报送",
            );
        }
        v.into_result().map_err(Error::InvalidArgument)?;
        let kind = kind.expect("checked");
        let progress = serde_json::Value::Array(
            req.progress
                .iter()
                .map(|t| serde_json::json!({"what": t.what.trim(), "value": t.target_value, "unit": t.unit_of_measure.trim()}))
                .collect(),
        );
        self.step(
            p,
            &req.request_id,
            "SubmitFeedback",
            req,
            &req.id,
            &req.etag,
            Action::ReportProgress,
            async |conn: &mut PgConnection, row: &AssignmentRow, ctx: &MutationContext| {
                let state = rules::step(row.state, AssignmentAction::Feedback(kind)).map_err(illegal)?;
                store::set_state(conn, row.id, state, ctx.now).await?;
                let met = match kind {
                    FeedbackKind::Deployment => Some(MilestoneKind::Deploy),
                    FeedbackKind::Initial | FeedbackKind::Progress => Some(MilestoneKind::Initial),
                    FeedbackKind::Completion => Some(MilestoneKind::Resolve),
                    _ => None,
                };
                if let Some(m) = met {
                    store::set_met(conn, row.id, m.code(), Some(ctx.now)).await?;
                }
                self.feedback_milestones(conn, row, kind, req.plan_step, ctx.now)
                    .await?;
                let feedback = NewFeedback {
                    assignment_id: row.id,
                    kind,
                    body: &text,
                    reason,
                    next_steps: req.next_steps.trim(),
                    progress: progress.clone(),
                    attachments: &req.attachments,
                    submitted_by: &ctx.principal.name,
                };
                let feedback_id = store::insert_feedback(conn, &feedback, ctx.now).await?;
                if kind == FeedbackKind::UrgeResponse {
                    store::answer_urge(conn, row.id, feedback_id, ctx.now)
                        .await?
                        .ok_or_else(|| Error::precondition("there is no unanswered urge", "没有待回复的催办"))?;
                    return Ok("assignment.urge_answered");
                }
                Ok(match kind {
                    FeedbackKind::Completion => "assignment.completion_reported",
                    FeedbackKind::StageReport => "assignment.stage_reported",
                    _ => "assignment.feedback",
                })
            },
        )
        .await
    }

    /// What a feedback meets beyond the policy's milestones: a plan step its
    /// progress report completes; the rest of the plan on completion; the
    /// stage report owed under continuing attention (owing the next one).
    async fn feedback_milestones(
        &self,
        conn: &mut PgConnection,
        row: &AssignmentRow,
        kind: FeedbackKind,
        plan_step: i32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if plan_step > 0 {
            let milestone = duban_core::plan::plan_milestone(plan_step as usize);
            if !row.milestones.iter().any(|m| m.kind == milestone && m.met_at.is_none()) {
                return Err(Error::precondition(
                    format!("the approved plan has no open step {plan_step}"),
                    format!("已批准的推进计划中没有未完成的第{plan_step}个节点"),
                ));
            }
            store::set_met(conn, row.id, &milestone, Some(now)).await?;
        }
        match kind {
            FeedbackKind::Completion => store::meet_all(conn, row.id, "plan.", now).await,
            FeedbackKind::StageReport => {
                let months = row.attention_months.ok_or_else(|| {
                    Error::precondition(
                        "it is not under continuing attention",
                        "该事项未在持续关注中,无需报送阶段性报告",
                    )
                })?;
                store::meet_all(conn, row.id, "stage.", now).await?;
                self.add_stage(conn, row, months, now).await
            }
            _ => Ok(()),
        }
    }

    pub async fn verify(&self, p: &Principal, req: &pb::VerifyRequest) -> Result<pb::Assignment> {
        let mut v = Violations::new();
        let grade = Grade::from_code(req.grade.trim());
        if req.accept {
            if grade.is_none() {
                v.add(
                    "grade",
                    "is required on acceptance: excellent, good or pass",
                    "核查通过须评定等次(优秀、良好、合格)",
                );
            }
            if req.checked.trim().is_empty() {
                v.add("checked", "is required: what did you check?", "须写明核查了哪些内容");
            }
        } else if req.comment.trim().is_empty() {
            v.add(
                "comment",
                "is required when returning: what must be redone?",
                "驳回重办须写明意见",
            );
        }
        v.into_result().map_err(Error::InvalidArgument)?;
        self.step(
            p,
            &req.request_id,
            "Verify",
            req,
            &req.id,
            &req.etag,
            Action::Verify,
            async |conn: &mut PgConnection, row: &AssignmentRow, ctx: &MutationContext| {
                let action = if req.accept {
                    AssignmentAction::Verify
                } else {
                    AssignmentAction::Return
                };
                let state = rules::step(row.state, action).map_err(illegal)?;
                let verdict = Verdict {
                    state,
                    grade: if req.accept { grade } else { None },
                    by: &ctx.principal.name,
                    notes: req.checked.trim(),
                    return_comment: req.comment.trim(),
                };
                store::set_verdict(conn, row.id, &verdict, ctx.now).await?;
                if !req.accept {
                    // Rework: the resolution deadline is open again.
                    store::set_met(conn, row.id, MilestoneKind::Resolve.code(), None).await?;
                } else if row.item_continuing && row.attention_months.is_none() {
                    // Registered for continuing attention: a stage report monthly.
                    store::set_attention(conn, row.id, Some(1), ctx.now).await?;
                    self.add_stage(conn, row, 1, ctx.now).await?;
                }
                Ok(if req.accept {
                    "assignment.verified"
                } else {
                    "assignment.returned"
                })
            },
        )
        .await
    }

    /// The Monday of the week `day` is in, and its start in court time.
    fn week(&self, day: NaiveDate) -> (NaiveDate, DateTime<Utc>) {
        let monday = day - Duration::days(day.weekday().num_days_from_monday() as i64);
        let start = self
            .tz
            .from_local_datetime(&monday.and_hms_opt(0, 0, 0).expect("midnight"))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .expect("a Monday midnight exists");
        (monday, start)
    }

    pub async fn close_out(&self, p: &Principal, req: &pb::CloseOutRequest) -> Result<pb::CloseOutList> {
        p.authorize_role(Action::Verify)?;
        let mut v = Violations::new();
        let week_of = date_from("week_of", req.week_of.as_ref(), &mut v);
        v.into_result().map_err(Error::InvalidArgument)?;
        let ctx = self.context(p, &req.request_id).await?;
        let today = ctx.now.with_timezone(&self.tz).date_naive();
        let (monday, start) = self.week(week_of.unwrap_or(today));
        // Next week's list would write off early what this week verifies.
        if monday > today {
            return Err(Error::precondition(
                format!("the close-out list of {monday} cannot be made before that Monday"),
                format!("{monday}的销号清单须在当周周一及以后生成"),
            ));
        }
        let scope = if p.is_admin() { None } else { Some(p.unit_scope.clone()) };
        mutate(&self.pool, &ctx, "CloseOut", req, async |conn: &mut PgConnection| {
            let ids = store::close_out(conn, monday, start, scope.as_deref(), ctx.now).await?;
            let rows = store::closed_out_in(conn, monday, scope.as_deref()).await?;
            let changes = rows
                .iter()
                .filter(|r| ids.contains(&r.id))
                .map(|r| {
                    change(
                        "assignment.closed_out",
                        r,
                        None,
                        Some(serde_json::json!({"week": monday, "state": r.state})),
                    )
                })
                .collect();
            Ok((
                pb::CloseOutList {
                    week: Some(date(monday)),
                    assignments: rows.iter().map(|r| self.message(r, ctx.now, None)).collect(),
                },
                changes,
            ))
        })
        .await
    }

    pub async fn close_outs(&self, p: &Principal, req: &pb::ListCloseOutsRequest) -> Result<pb::CloseOutList> {
        p.authorize_role(Action::ReadLedger)?;
        let mut v = Violations::new();
        let week_of = date_from("week_of", req.week_of.as_ref(), &mut v);
        v.into_result().map_err(Error::InvalidArgument)?;
        let now = self.clock.now().await?;
        let (monday, _) = self.week(week_of.unwrap_or_else(|| now.with_timezone(&self.tz).date_naive()));
        let scope = if p.is_admin() { None } else { Some(p.unit_scope.clone()) };
        let mut conn = self.pool.acquire().await?;
        let rows = store::closed_out_in(&mut conn, monday, scope.as_deref()).await?;
        Ok(pb::CloseOutList {
            week: Some(date(monday)),
            // Written off: finished, never suspended.
            assignments: rows.iter().map(|r| self.message(r, now, None)).collect(),
        })
    }

    pub async fn request_extension(&self, p: &Principal, req: &pb::RequestExtensionRequest) -> Result<pb::Assignment> {
        let mut v = Violations::new();
        let new_date = date_from("new_deadline", req.new_deadline.as_ref(), &mut v);
        if new_date.is_none() {
            v.add("new_deadline", "is required", "须填写延期后的时限");
        }
        if req.reason.trim().is_empty() {
            v.add("reason", "is required", "须说明延期理由");
        }
        v.into_result().map_err(Error::InvalidArgument)?;
        let new_date = new_date.expect("checked");
        self.step(
            p,
            &req.request_id,
            "RequestExtension",
            req,
            &req.id,
            &req.etag,
            Action::ReportProgress,
            async |conn: &mut PgConnection, row: &AssignmentRow, ctx: &MutationContext| {
                open_for_requests(row, "extension")?;
                let resolve = row
                    .milestones
                    .iter()
                    .find(|m| m.kind == MilestoneKind::Resolve.code())
                    .ok_or_else(|| {
                        Error::precondition("the assignment has no resolution deadline", "该交办事项没有办结时限")
                    })?;
                rules::check_extension(ctx.now, resolve.due_date, resolve.due_at, new_date)
                    .map_err(|r| Error::precondition(r.reason(), r.reason_zh()))?;
                store::insert_request(
                    conn,
                    row.id,
                    "extension",
                    req.reason.trim(),
                    Some(new_date),
                    &ctx.principal.name,
                    ctx.now,
                )
                .await?;
                Ok("assignment.extension_requested")
            },
        )
        .await
    }

    pub async fn request_suspension(
        &self,
        p: &Principal,
        req: &pb::RequestSuspensionRequest,
    ) -> Result<pb::Assignment> {
        if req.reason.trim().is_empty() {
            return Err(Error::invalid("reason", "is required", "须说明中止理由"));
        }
        self.step(
            p,
            &req.request_id,
            "RequestSuspension",
            req,
            &req.id,
            &req.etag,
            Action::ReportProgress,
            async |conn: &mut PgConnection, row: &AssignmentRow, ctx: &MutationContext| {
                open_for_requests(row, "suspension")?;
                store::insert_request(
                    conn,
                    row.id,
                    "suspension",
                    req.reason.trim(),
                    None,
                    &ctx.principal.name,
                    ctx.now,
                )
                .await?;
                Ok("assignment.suspension_requested")
            },
        )
        .await
    }

    pub async fn decide(&self, p: &Principal, req: &pb::DecideRequestRequest) -> Result<pb::Assignment> {
        let request = parse_id("change_request_id", &req.change_request_id)?;
        self.step(
            p,
            &req.request_id,
            "DecideRequest",
            req,
            &req.id,
            &req.etag,
            Action::DecideRequests,
            async |conn: &mut PgConnection, row: &AssignmentRow, ctx: &MutationContext| {
                let p = &ctx.principal;
                self.check_supervising_leader(conn, p, row).await?;
                let pending = row
                    .requests
                    .iter()
                    .find(|q| q.id == request)
                    .ok_or_else(|| Error::not_found("request", "申请", request))?;
                if pending.state != "pending" {
                    return Err(Error::precondition("the request is already decided", "该申请已审批"));
                }
                store::decide_request(conn, request, req.approve, &p.name, req.comment.trim(), ctx.now).await?;
                if !req.approve {
                    return Ok("assignment.request_rejected");
                }
                match (pending.kind.as_str(), pending.new_date) {
                    ("extension", Some(new_date)) => {
                        let calendar = crate::store::calendar(&mut *conn).await?;
                        let resolve = row.milestones.iter().find(|m| m.kind == MilestoneKind::Resolve.code());
                        let opened = resolve.map_or(row.assigned_at, |m| m.opened_at);
                        let due = due(opened, new_date, &calendar, &self.tz);
                        store::move_milestone(conn, row.id, MilestoneKind::Resolve.code(), &due, store::Move::Extended)
                            .await?;
                        Ok("assignment.extension_approved")
                    }
                    _ => {
                        store::set_suspended(conn, row.id, Some(ctx.now), ctx.now).await?;
                        Ok("assignment.suspended")
                    }
                }
            },
        )
        .await
    }

    pub async fn resume(&self, p: &Principal, req: &pb::ResumeRequest) -> Result<pb::Assignment> {
        self.step(
            p,
            &req.request_id,
            "Resume",
            req,
            &req.id,
            &req.etag,
            Action::Verify,
            async |conn: &mut PgConnection, row: &AssignmentRow, ctx: &MutationContext| {
                let since = row
                    .suspended_at
                    .ok_or_else(|| Error::precondition("the assignment is not suspended", "该交办事项未中止"))?;
                let calendar = crate::store::calendar(&mut *conn).await?;
                let paused = since.with_timezone(&self.tz).date_naive();
                let resumed = ctx.now.with_timezone(&self.tz).date_naive();
                let missing = |e: duban_core::calendar::MissingYear| Error::precondition(e.to_string(), e.reason_zh());
                let stood_still = calendar.working_days_between(paused, resumed).map_err(missing)?;
                for m in row.milestones.iter().filter(|m| m.met_at.is_none()) {
                    let date = rules::shift_after_pause(&calendar, m.due_date, paused, resumed).map_err(missing)?;
                    let due = due(m.opened_at, date, &calendar, &self.tz);
                    // The days moved on are counted too: a move into a year not
                    // loaded makes the date provisional, and loading it finds it.
                    let mut versions = m.calendar_versions.clone();
                    if let Some(o) = versions.as_object_mut() {
                        for (y, v) in calendar.versions(m.due_date, date) {
                            o.insert(y.to_string(), v.into());
                        }
                    }
                    let shifted = store::Move::Shifted(stood_still as i32, versions);
                    store::move_milestone(conn, row.id, &m.kind, &due, shifted).await?;
                }
                store::set_suspended(conn, row.id, None, ctx.now).await?;
                Ok("assignment.resumed")
            },
        )
        .await
    }
}

/// Requests are for open, running assignments, one pending of a kind at a time.
fn open_for_requests(row: &AssignmentRow, kind: &str) -> Result<()> {
    if !rules::is_open(row.state) {
        return Err(Error::precondition(
            format!("the assignment is {}", row.state.code()),
            format!("交办事项当前为“{}”状态,不能申请", row.state.label_zh()),
        ));
    }
    if row.suspended_at.is_some() {
        return Err(Error::precondition("the assignment is suspended", "交办事项已中止"));
    }
    if row.requests.iter().any(|q| q.kind == kind && q.state == "pending") {
        return Err(Error::precondition(
            "a request of this kind is already pending",
            "已有待审批的同类申请",
        ));
    }
    Ok(())
}
