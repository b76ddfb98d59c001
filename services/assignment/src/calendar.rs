//! The working-day calendar and deadlines, as the service offers them:
//! loading a year (a new version each time), reading it, and answering
//! "when is this due?".

use crate::calendar_file::{self, SHIPPED};
use crate::convert::{date, date_from, timestamp};
use crate::store::{self, StoredYear};
use chrono::{DateTime, Datelike, Utc};
use duban_core::access::Action;
use duban_core::item::UrgencyClass;
use duban_core::policy::{self, DueError, Policy};
use duban_core::{Role, Violations};
use duban_platform::auth::{Principal, tree_roots};
use duban_platform::clock::Clock;
use duban_platform::mutation::{Change, MutationContext, mutate};
use duban_platform::{Error, Result};
use duban_proto::assignment::v1 as pb;
use duban_proto::registry::v1 as reg;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Clone)]
pub struct CalendarService {
    pool: PgPool,
    clock: Clock,
    tz: chrono_tz::Tz,
}

/// Who the system acts as when it seeds its own data.
pub(crate) fn system() -> Principal {
    Principal {
        token_id: Uuid::nil(),
        name: "system".into(),
        person_id: None,
        roles: vec![Role::Admin],
        unit_scope: Vec::new(),
    }
}

pub fn due_error(e: DueError) -> Error {
    match e {
        DueError::MissingYear(m) => Error::precondition(m.to_string(), m.reason_zh()),
        DueError::NoStatedDeadline => Error::invalid(
            "deadline",
            "is required for a fixed_deadline item",
            "限期办理事项须填写办理时限",
        ),
        DueError::NoRule(class) => Error::precondition(
            format!("the policy has no rule for {}", class.code()),
            format!("该督办规则未规定“{}”事项的时限", class.label_zh()),
        ),
    }
}

fn urgency_from(value: i32) -> Option<UrgencyClass> {
    match reg::UrgencyClass::try_from(value).ok()? {
        reg::UrgencyClass::Urgent => Some(UrgencyClass::Urgent),
        reg::UrgencyClass::FixedDeadline => Some(UrgencyClass::FixedDeadline),
        reg::UrgencyClass::General => Some(UrgencyClass::General),
        reg::UrgencyClass::Major => Some(UrgencyClass::Major),
        reg::UrgencyClass::Unspecified => None,
    }
}

fn urgency(class: UrgencyClass) -> reg::UrgencyClass {
    match class {
        UrgencyClass::Urgent => reg::UrgencyClass::Urgent,
        UrgencyClass::FixedDeadline => reg::UrgencyClass::FixedDeadline,
        UrgencyClass::General => reg::UrgencyClass::General,
        UrgencyClass::Major => reg::UrgencyClass::Major,
    }
}

fn year_message(y: &StoredYear) -> pb::CalendarYear {
    pb::CalendarYear {
        year: y.calendar.year,
        version: y.calendar.version,
        working_weekdays: y
            .calendar
            .working_weekdays
            .iter()
            .map(|w| w.number_from_monday() as i32)
            .collect(),
        holidays: y
            .groups
            .iter()
            .map(|g| pb::Holiday {
                name: g.name.clone(),
                days: g.days.iter().copied().map(date).collect(),
                workdays: g.workdays.iter().copied().map(date).collect(),
            })
            .collect(),
        source: y.source.clone(),
        load_time: Some(timestamp(y.loaded_at)),
        loaded_by: y.loaded_by.clone(),
        content: y.content.clone(),
    }
}

fn policy_message(p: &Policy, is_default: bool) -> pb::Policy {
    pb::Policy {
        name: p.name.clone(),
        label: p.label_zh.clone(),
        is_default,
        rules: p
            .rules
            .iter()
            .map(|(class, list)| pb::PolicyRule {
                urgency: urgency(*class) as i32,
                milestones: list
                    .iter()
                    .map(|(kind, span)| pb::Milestone {
                        kind: kind.code().into(),
                        label: kind.label_zh().into(),
                        rule: span.describe_zh(),
                        ..Default::default()
                    })
                    .collect(),
            })
            .collect(),
    }
}

impl CalendarService {
    pub fn new(pool: PgPool, clock: Clock, tz: chrono_tz::Tz) -> Self {
        Self { pool, clock, tz }
    }

    /// Loads the shipped years and policies that are not in the database yet.
    /// Run at start-up; safe from any number of replicas at once.
    pub async fn seed(&self) -> Result<()> {
        let now = self.clock.now().await?;
        let mut tx = self.pool.begin().await?;
        store::seed_policies(&mut tx, now).await?;
        tx.commit().await?;
        for content in SHIPPED {
            let year = calendar_file::parse(content, 1)
                .map_err(Error::InvalidArgument)?
                .calendar
                .year;
            if store::has_year(&self.pool, year).await? {
                continue;
            }
            let request = pb::LoadCalendarRequest {
                request_id: format!("seed-calendar-{year}"),
                content: content.to_owned(),
            };
            self.load(&system(), &request).await?;
            tracing::info!(year, "shipped working-day calendar loaded");
        }
        Ok(())
    }

    pub async fn load(&self, p: &Principal, req: &pb::LoadCalendarRequest) -> Result<pb::CalendarYear> {
        p.authorize_deployment(Action::ManageCalendar, &tree_roots(&self.pool).await?)?;
        calendar_file::parse(&req.content, 1).map_err(Error::InvalidArgument)?;
        let ctx = MutationContext {
            principal: p.clone(),
            request_id: req.request_id.clone(),
            now: self.clock.now().await?,
            service: "assignment",
        };
        mutate(
            &self.pool,
            &ctx,
            "LoadCalendar",
            req,
            async |conn: &mut PgConnection| {
                let year = calendar_file::parse(&req.content, 1)
                    .map_err(Error::InvalidArgument)?
                    .calendar
                    .year;
                let version = store::next_version(conn, year).await?;
                let before = store::calendar_year(&mut *conn, year).await?;
                let file = calendar_file::parse(&req.content, version).map_err(Error::InvalidArgument)?;
                let stored = StoredYear {
                    calendar: file.calendar,
                    groups: file.groups,
                    source: file.source,
                    content: req.content.clone(),
                    loaded_at: ctx.now,
                    loaded_by: p.name.clone(),
                };
                store::save_year(conn, &stored).await?;
                let summary = |y: &StoredYear| {
                    serde_json::json!({
                        "year": y.calendar.year, "version": y.calendar.version, "source": y.source,
                        "holidays": y.calendar.holidays.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                        "workdays": y.calendar.workdays.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                    })
                };
                let change = Change {
                    action: "calendar.loaded",
                    target_kind: "calendar_year",
                    target_id: year.to_string(),
                    before: before.as_ref().map(summary),
                    after: Some(summary(&stored)),
                    unit_ids: Vec::new(),
                };
                let mut changes = vec![change];
                changes.extend(crate::recompute::for_year(conn, year, &self.tz).await?);
                Ok((year_message(&stored), changes))
            },
        )
        .await
    }

    pub async fn get(&self, p: &Principal, year: i32) -> Result<pb::CalendarYear> {
        p.authorize_role(Action::ReadLedger)?;
        let stored = store::calendar_year(&self.pool, year)
            .await?
            .ok_or_else(|| Error::not_found("calendar year", "工作日历", year))?;
        Ok(year_message(&stored))
    }

    pub async fn list(&self, p: &Principal) -> Result<pb::ListCalendarsResponse> {
        p.authorize_role(Action::ReadLedger)?;
        let years = store::calendar_years(&self.pool).await?;
        Ok(pb::ListCalendarsResponse {
            years: years.iter().map(year_message).collect(),
            missing_next_year: self.missing_next_year().await?.unwrap_or_default(),
            provisional_deadlines: crate::assignment_store::provisional_count(&self.pool).await? as i32,
        })
    }

    /// Next year, when it is 1 November or later in court time and next
    /// year's calendar is not loaded.
    pub async fn missing_next_year(&self) -> Result<Option<i32>> {
        let today = self.clock.now().await?.with_timezone(&self.tz).date_naive();
        let next = today.year() + 1;
        if today.month() < 11 || store::has_year(&self.pool, next).await? {
            return Ok(None);
        }
        Ok(Some(next))
    }

    pub async fn policies(&self, p: &Principal) -> Result<pb::ListPoliciesResponse> {
        p.authorize_role(Action::ReadLedger)?;
        Ok(pb::ListPoliciesResponse {
            policies: store::policies(&self.pool)
                .await?
                .iter()
                .map(|(p, d)| policy_message(p, *d))
                .collect(),
        })
    }

    pub async fn compute(
        &self,
        p: &Principal,
        req: &pb::ComputeDeadlinesRequest,
    ) -> Result<pb::ComputeDeadlinesResponse> {
        p.authorize_role(Action::ReadLedger)?;
        let mut v = Violations::new();
        let assigned_at = req
            .assigned_time
            .as_ref()
            .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32));
        if assigned_at.is_none() {
            v.add("assigned_time", "is required", "须填写交办时间");
        }
        let class = urgency_from(req.urgency);
        if class.is_none() {
            v.add("urgency", "is required", "须确定紧急程度");
        }
        let stated = date_from("deadline", req.deadline.as_ref(), &mut v);
        v.into_result().map_err(Error::InvalidArgument)?;
        let (policy, _) = store::policy(&self.pool, req.policy.trim())
            .await?
            .ok_or_else(|| Error::invalid("policy", "names no policy (see ListPolicies)", "督办规则不存在"))?;
        let calendar = store::calendar(&self.pool).await?;
        let assigned_at = assigned_at.expect("checked");
        let due = policy::deadlines(
            &calendar,
            &policy,
            class.expect("checked"),
            assigned_at,
            stated,
            &self.tz,
        )
        .map_err(due_error)?;
        Ok(pb::ComputeDeadlinesResponse {
            milestones: due
                .iter()
                .map(|d| pb::Milestone {
                    kind: d.kind.code().into(),
                    label: d.kind.label_zh().into(),
                    rule: d.span.describe_zh(),
                    due_date: Some(date(d.date)),
                    due_time: Some(timestamp(d.at)),
                    provisional: d.provisional,
                })
                .collect(),
            policy: policy.name.clone(),
            policy_label: policy.label_zh.clone(),
            calendar_versions: due.iter().flat_map(|d| d.versions.clone()).collect(),
        })
    }
}
