//! The reporting service: previews, the archive, issuing and sending, and
//! the schedules the worker fires. Reports are composed from the views
//! other services publish, rendered, archived with their data snapshot, and
//! queued for delivery in one audited transaction (`mutate`).

use crate::compose::{self, Issue};
use crate::figures::Frame;
use crate::model::{Doc, Unit};
use crate::period::{Period, ReportKind};
use crate::render::{self, Rendered, Renderer};
use crate::rules::Rules;
use crate::schedule::Rule;
use crate::store::{self, Recipient};
use chrono::{DateTime, Duration, Utc};
use duban_core::Role;
use duban_core::access::Action;
use duban_platform::auth::Principal;
use duban_platform::clock::Clock;
use duban_platform::configuration::ReportingSettings;
use duban_platform::mutation::{Change, MutationContext, mutate};
use duban_platform::{Error, Result, page};
use duban_proto::reporting::v1 as pb;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Clone)]
pub struct ReportingService {
    pool: PgPool,
    clock: Clock,
    tz: chrono_tz::Tz,
    renderer: Arc<Renderer>,
    /// The Message-ID domain.
    domain: String,
    rankings: Option<Arc<dyn crate::rankings::Rankings>>,
    limits: compose::ListLimits,
}

/// One report composed and rendered, with who gets it.
pub struct Built {
    pub doc: Doc,
    pub rendered: Rendered,
    pub unit: Option<Unit>,
    pub attachment: Option<(String, Vec<u8>)>,
    pub recipients: Vec<Recipient>,
}

/// The system itself, firing schedules and noticing events.
pub(crate) fn system() -> Principal {
    Principal {
        token_id: Uuid::nil(),
        name: "system".into(),
        person_id: None,
        roles: vec![Role::System],
        unit_scope: Vec::new(),
    }
}

pub fn kind_from(value: i32) -> Option<ReportKind> {
    match pb::ReportKind::try_from(value).ok()? {
        pb::ReportKind::Weekly => Some(ReportKind::Weekly),
        pb::ReportKind::Friday => Some(ReportKind::Friday),
        pb::ReportKind::Monthly => Some(ReportKind::Monthly),
        pb::ReportKind::Quarterly => Some(ReportKind::Quarterly),
        pb::ReportKind::Annual => Some(ReportKind::Annual),
        pb::ReportKind::Notice | pb::ReportKind::Unspecified => None,
    }
}

pub fn kind_to(kind: ReportKind) -> pb::ReportKind {
    match kind {
        ReportKind::Weekly => pb::ReportKind::Weekly,
        ReportKind::Friday => pb::ReportKind::Friday,
        ReportKind::Monthly => pb::ReportKind::Monthly,
        ReportKind::Quarterly => pb::ReportKind::Quarterly,
        ReportKind::Annual => pb::ReportKind::Annual,
    }
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn parse_id(field: &str, value: &str) -> Result<Uuid> {
    Uuid::parse_str(value.trim()).map_err(|_| Error::invalid(field, "is not a valid id (UUID)", "编号格式不正确"))
}

/// The kind and period of a request, checked.
fn kind_and_period(kind: i32, period: &str) -> Result<(ReportKind, Period)> {
    let kind = kind_from(kind).ok_or_else(|| {
        Error::invalid(
            "kind",
            "must be weekly, friday, monthly, quarterly or annual",
            "通报种类须为周进展列表、周五对接提醒、月通报、季度通报或年度通报",
        )
    })?;
    let period = kind.parse_period(period).ok_or_else(|| {
        Error::invalid(
            "period",
            &format!("is not a {} period (e.g. {})", kind.code(), kind.period_hint()),
            &format!("{}的期间格式不正确,应如 {}", kind.label_zh(), kind.period_hint()),
        )
    })?;
    Ok((kind, period))
}

/// A numbered report is issued once: a second issue of the period is a
/// corrected reissue, asked for as one.
fn already_issued(kind: ReportKind, period: Period, r: &store::Issued, tz: &chrono_tz::Tz) -> Error {
    Error::precondition(
        format!(
            "the {} for {period} was already issued as {} (report {}); to replace it, issue a correction with a reason",
            kind.code(),
            r.number,
            r.id
        ),
        format!(
            "{}的{}已于{}印发({},通报ID {}),同一期不重复印发;如需更正,请更正重发并说明原因",
            period.label_zh(),
            kind.label_zh(),
            crate::period::date_zh(r.issued_at.with_timezone(tz).date_naive()),
            r.number,
            r.id
        ),
    )
}

fn internal(e: anyhow::Error) -> Error {
    Error::Internal(e)
}

/// A bulletin and its ledger (.xlsx): the findings first, then the ledger
/// (the longer job) is written on a second thread while the bulletin is
/// composed on this one.
fn bulletin_with_ledger(mut issue: Issue<'_>, frame: &Frame, rules: &Rules) -> Result<(Doc, Vec<u8>)> {
    let findings = crate::analysis::analyse(frame, rules, issue.limits.finding);
    let title = render::ledger_title(&frame.data.court.name, issue.period);
    std::thread::scope(|s| {
        let ledger = s.spawn(|| render::ledger_xlsx(&title, compose::ledger(frame, &findings)));
        issue.findings = Some(findings.clone());
        let doc = compose::compose(issue, frame, rules);
        let bytes = ledger
            .join()
            .map_err(|_| internal(anyhow::anyhow!("writing the ledger panicked")))?
            .map_err(internal)?;
        Ok((doc, bytes))
    })
}

impl ReportingService {
    pub fn new(pool: PgPool, clock: Clock, tz: chrono_tz::Tz, settings: &ReportingSettings) -> anyhow::Result<Self> {
        Ok(Self {
            pool,
            clock,
            tz,
            renderer: Arc::new(Renderer::new()?),
            domain: crate::mail::domain_of(&settings.from_address),
            rankings: None,
            limits: compose::ListLimits::from_settings(settings),
        })
    }

    /// Bulletins then carry the appraisal ranking of their period.
    pub fn with_rankings(self, rankings: Arc<dyn crate::rankings::Rankings>) -> Self {
        Self {
            rankings: Some(rankings),
            ..self
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.tz
    }

    /// The Message-ID domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// A unit named by id or by code (e.g. jczy-zxj); `None` when blank.
    async fn unit_named(&self, field: &'static str, value: &str) -> Result<Option<Unit>> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        let found = match Uuid::parse_str(value) {
            Ok(id) => store::unit(&self.pool, id).await?,
            Err(_) => store::unit_by_code(&self.pool, value).await?,
        };
        found.map(Some).ok_or_else(|| {
            Error::invalid(
                field,
                &format!("no unit has the id or code {value}"),
                &format!("单位“{value}”不存在(请填写单位代码或编号)"),
            )
        })
    }

    /// The court a request names (by id or code), or the first with items.
    async fn court(&self, named: &str) -> Result<Unit> {
        match self.unit_named("court_id", named).await? {
            Some(u) if u.kind == "court" => Ok(u),
            Some(u) => Err(Error::invalid(
                "court_id",
                &format!("{} is not a court", u.name),
                &format!("“{}”不是法院", u.name),
            )),
            None => store::courts(&self.pool)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| Error::precondition("no court has items yet", "尚无法院登记督办事项,无可通报内容")),
        }
    }

    /// Composes and renders `kind` for `period` of `court` as at `now` (or
    /// the period's natural instant when earlier): one report, or one per
    /// unit with open assignments for the Friday reminder.
    pub async fn build(
        &self,
        kind: ReportKind,
        period: Period,
        court: &Unit,
        only_unit: Option<Uuid>,
        now: DateTime<Utc>,
        due: Option<DateTime<Utc>>,
        attach: bool,
        correction: Option<&compose::Correction>,
    ) -> Result<Vec<Built>> {
        let (window, previous) = compose::windows(kind, period, &self.tz);
        let as_of = now.min(compose::natural_as_of(kind, period, due, &self.tz));
        let since = previous.start - Duration::days(90);
        let reading = store::Reading {
            finished_before: previous.start.min(as_of),
            feedback_since: since,
            until: as_of,
        };
        let data = store::dataset(&self.pool, court.clone(), reading, |feedback| {
            crate::analysis::keep_needed_feedback(feedback, &window, &previous, as_of)
        })
        .await?;
        let calendar = store::calendar(&self.pool).await?;
        let rules = store::rules(&self.pool).await?;
        let ranking = match (&self.rankings, kind.is_bulletin()) {
            (Some(source), true) => {
                let groups = source.ranking(&period.to_string(), court.id).await.map_err(|e| {
                    tracing::error!(error = format!("{e:#}"), "the appraisal ranking failed");
                    internal(e)
                })?;
                Some(groups).filter(|g| g.iter().any(|g| !g.rows.is_empty()))
            }
            _ => None,
        };
        let frame = Frame::new(&data, &calendar, self.tz, window, previous, as_of);
        let issued_on = now.with_timezone(&self.tz).date_naive();
        let units: Vec<Option<&Unit>> = match kind {
            ReportKind::Friday => {
                let busy: std::collections::HashSet<Uuid> = frame.open().map(|a| a.unit_id).collect();
                data.units
                    .iter()
                    .filter(|u| only_unit.map_or(busy.contains(&u.id), |id| u.id == id))
                    .map(Some)
                    .collect()
            }
            _ => vec![None],
        };
        let recipients = match kind {
            ReportKind::Weekly => {
                store::recipients(
                    &self.pool,
                    court.id,
                    &["president", "office_director", "office_supervisor"],
                    false,
                )
                .await?
            }
            ReportKind::Friday => Vec::new(),
            _ => {
                store::recipients(
                    &self.pool,
                    court.id,
                    &["president", "leader", "office_director", "office_supervisor"],
                    true,
                )
                .await?
            }
        };
        let mut out = Vec::new();
        for unit in units {
            let issue = Issue {
                kind,
                period,
                issued_on,
                unit,
                ranking: ranking.clone(),
                limits: self.limits,
                findings: None,
            };
            let (mut doc, attachment) = if attach && kind.is_bulletin() {
                let (doc, bytes) = bulletin_with_ledger(issue, &frame, &rules)?;
                let name = render::ledger_file_name(&doc);
                (doc, Some((name, bytes)))
            } else {
                (compose::compose(issue, &frame, &rules), None)
            };
            if let Some(c) = correction {
                c.mark(&mut doc);
            }
            let rendered = self.renderer.render(&doc).map_err(internal)?;
            let recipients = match unit {
                Some(u) if !u.liaison_email.trim().is_empty() => vec![Recipient {
                    person_id: u.liaison_id,
                    name: u.liaison_name.clone(),
                    email: u.liaison_email.trim().to_owned(),
                }],
                Some(_) => Vec::new(),
                None => recipients.clone(),
            };
            out.push(Built {
                doc,
                rendered,
                unit: unit.cloned(),
                attachment,
                recipients,
            });
        }
        Ok(out)
    }

    pub async fn preview(&self, p: &Principal, req: &pb::PreviewReportRequest) -> Result<pb::PreviewReportResponse> {
        let (kind, period) = kind_and_period(req.kind, &req.period)?;
        let court = self.court(&req.court_id).await?;
        p.authorize_on(Action::ReadReports, &court.ancestry)?;
        let unit = match self.unit_named("unit_id", &req.unit_id).await? {
            Some(u) if u.ancestry.contains(&court.id) && u.id != court.id => Some(u.id),
            Some(u) => {
                return Err(Error::invalid(
                    "unit_id",
                    &format!("{} is not a unit of {}", u.name, court.name),
                    &format!("“{}”不是{}的单位", u.name, court.name),
                ));
            }
            None => None,
        };
        let format = pb::PreviewFormat::try_from(req.format).unwrap_or(pb::PreviewFormat::Unspecified);
        let now = self.clock.now().await?;
        let mut built = self
            .build(
                kind,
                period,
                &court,
                unit,
                now,
                None,
                format == pb::PreviewFormat::Xlsx,
                None,
            )
            .await?;
        if built.is_empty() {
            return Err(Error::precondition(
                "no unit has open assignments to remind of",
                "没有在办督办事项的单位,无需对接提醒",
            ));
        }
        let b = built.swap_remove(0);
        if format == pb::PreviewFormat::Xlsx && b.attachment.is_none() {
            return Err(Error::invalid(
                "format",
                "only bulletins carry the ledger as .xlsx",
                "只有月度、季度、年度通报附督办台账(xlsx)",
            ));
        }
        let snapshot = serde_json::to_string(&b.doc).map_err(|e| internal(e.into()))?;
        Ok(pb::PreviewReportResponse {
            title: b.doc.title.clone(),
            subject: b.doc.subject.clone(),
            html: if format == pb::PreviewFormat::Text || format == pb::PreviewFormat::Xlsx {
                String::new()
            } else {
                b.rendered.html
            },
            text: if format == pb::PreviewFormat::Html || format == pb::PreviewFormat::Xlsx {
                String::new()
            } else {
                b.rendered.text
            },
            xlsx: b.attachment.map(|a| a.1).unwrap_or_default(),
            snapshot_json: snapshot,
        })
    }

    /// Archives `built` and queues its deliveries, inside a mutation.
    async fn archive(
        &self,
        conn: &mut PgConnection,
        built: &[Built],
        kind: ReportKind,
        period: Period,
        court: &Unit,
        ctx: &MutationContext,
        replaces: Option<(&store::Issued, &compose::Correction)>,
    ) -> Result<(Vec<Uuid>, Vec<Change>)> {
        let mut ids = Vec::new();
        let mut changes = Vec::new();
        for b in built {
            let id = Uuid::now_v7();
            let snapshot = serde_json::to_value(&b.doc).map_err(|e| internal(e.into()))?;
            store::insert_report(
                conn,
                &store::NewReport {
                    id,
                    kind: kind.code(),
                    period: &period.to_string(),
                    court_id: court.id,
                    unit_id: b.unit.as_ref().map(|u| u.id),
                    title: &b.doc.title,
                    number: &b.doc.number,
                    subject: &b.doc.subject,
                    issued_at: ctx.now,
                    issued_by: &ctx.principal.name,
                    html: &b.rendered.html,
                    text: &b.rendered.text,
                    snapshot: &snapshot,
                    attachment: b.attachment.as_ref().map(|(n, bytes)| (n.as_str(), bytes.as_slice())),
                    correction: replaces.map_or(0, |(_, c)| c.n),
                    replaces: replaces.map(|(r, _)| r.id),
                    correction_reason: replaces.map_or("", |(_, c)| c.reason.as_str()),
                },
            )
            .await?;
            store::insert_deliveries(conn, id, &b.recipients, &self.domain, None, ctx.now).await?;
            let mut unit_ids = court.ancestry.clone();
            if let Some(u) = &b.unit {
                unit_ids.extend(u.ancestry.iter().filter(|x| !court.ancestry.contains(x)));
            }
            changes.push(Change {
                action: "report.issued",
                target_kind: "report",
                target_id: id.to_string(),
                before: None,
                after: Some(serde_json::json!({
                    "kind": kind.code(), "period": period.to_string(), "title": b.doc.title,
                    "number": b.doc.number, "recipients": b.recipients.len(),
                    "replaces": replaces.map(|(r, _)| r.id), "correction_reason": replaces.map(|(_, c)| &c.reason),
                })),
                unit_ids,
            });
            ids.push(id);
        }
        Ok((ids, changes))
    }

    /// Issues a report now (outside its schedule): archived and queued.
    pub async fn issue(&self, p: &Principal, req: &pb::IssueReportRequest) -> Result<pb::IssueReportResponse> {
        duban_platform::mutation::check_request_id(&req.request_id)?;
        let (kind, period) = kind_and_period(req.kind, &req.period)?;
        let court = self.court(&req.court_id).await?;
        p.authorize_on(Action::IssueReports, &court.ancestry)?;
        let now = self.clock.now().await?;
        let numbered = kind != ReportKind::Friday;
        let issued = match numbered {
            true => store::latest_issued(&self.pool, court.id, kind.code(), &period.to_string()).await?,
            false => None,
        };
        let correction = match (&issued, req.correction) {
            (_, true) if !numbered => {
                return Err(Error::invalid(
                    "correction",
                    "Friday reminders are not numbered documents and are not corrected",
                    "周五对接提醒不是编号文件,无需更正重发",
                ));
            }
            (Some(r), false) => return Err(already_issued(kind, period, r, &self.tz)),
            (None, true) => {
                return Err(Error::precondition(
                    format!(
                        "no {} for {period} has been issued: there is nothing to correct",
                        kind.code()
                    ),
                    format!("{}的{}尚未印发,无可更正", period.label_zh(), kind.label_zh()),
                ));
            }
            (_, true) if req.reason.trim().is_empty() => {
                return Err(Error::invalid(
                    "reason",
                    "a correction says what it corrects",
                    "更正重发须说明更正原因",
                ));
            }
            (Some(r), true) => Some((
                r.clone(),
                compose::Correction {
                    n: r.correction + 1,
                    replaces_number: r.number.clone(),
                    replaces_issued_on: r.issued_at.with_timezone(&self.tz).date_naive(),
                    reason: req.reason.trim().to_owned(),
                },
            )),
            (None, false) => None,
        };
        let built = self
            .build(
                kind,
                period,
                &court,
                None,
                now,
                None,
                true,
                correction.as_ref().map(|(_, c)| c),
            )
            .await?;
        let ctx = MutationContext {
            principal: p.clone(),
            request_id: req.request_id.clone(),
            now,
            service: "reporting",
        };
        let ids = mutate(&self.pool, &ctx, "IssueReport", req, async |conn: &mut PgConnection| {
            let replaces = correction.as_ref().map(|(r, c)| (r, c));
            let (ids, changes) = self.archive(conn, &built, kind, period, &court, &ctx, replaces).await?;
            Ok((
                pb::IssueReportResponse {
                    reports: ids
                        .iter()
                        .map(|id| pb::Report {
                            id: id.to_string(),
                            ..Default::default()
                        })
                        .collect(),
                },
                changes,
            ))
        })
        .await?;
        let ids: Vec<Uuid> = ids.reports.iter().filter_map(|r| Uuid::parse_str(&r.id).ok()).collect();
        Ok(pb::IssueReportResponse {
            reports: self.reports(&ids, false).await?,
        })
    }

    /// Fires every schedule whose latest time has come (and is not too late:
    /// [`send_by`](crate::schedule::send_by)) and has not fired: each (kind, period) once, however
    /// many workers run. Returns the reports issued.
    pub async fn fire_due(&self, catch_up: Duration) -> Result<usize> {
        let now = self.clock.now().await?;
        let calendar = store::calendar(&self.pool).await?;
        let mut issued = 0;
        for s in store::schedules(&self.pool).await?.into_iter().filter(|s| s.enabled) {
            let Some(kind) = ReportKind::from_code(&s.kind) else {
                continue;
            };
            let rule = match Rule::parse(&s.rule) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(kind = %kind, rule = %s.rule, error = %e, "schedule rule not understood; skipped");
                    continue;
                }
            };
            let (period, due) = match rule.latest_due(now, &calendar, &self.tz) {
                Ok(Some(x)) => x,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(kind = %kind, error = %e, "no calendar for the schedule; skipped");
                    continue;
                }
            };
            let too_late = now > crate::schedule::send_by(kind, due, catch_up, &self.tz);
            if too_late || store::fired(&self.pool, kind.code(), &period.to_string()).await? {
                continue;
            }
            issued += self.fire(kind, period, due, now).await?;
        }
        Ok(issued)
    }

    async fn fire(&self, kind: ReportKind, period: Period, due: DateTime<Utc>, now: DateTime<Utc>) -> Result<usize> {
        let mut all = Vec::new();
        for court in store::courts(&self.pool).await? {
            let built = self
                .build(kind, period, &court, None, now, Some(due), true, None)
                .await?;
            all.push((court, built));
        }
        let request = pb::IssueReportRequest {
            request_id: format!("schedule:{kind}:{period}"),
            kind: kind_to(kind) as i32,
            period: period.to_string(),
            court_id: String::new(),
            ..Default::default()
        };
        let ctx = MutationContext {
            principal: system(),
            request_id: request.request_id.clone(),
            now,
            service: "reporting",
        };
        let out = mutate(
            &self.pool,
            &ctx,
            "FireSchedule",
            &request,
            async |conn: &mut PgConnection| {
                let count: usize = all.iter().map(|(_, b)| b.len()).sum();
                if !store::claim_firing(conn, kind.code(), &period.to_string(), due, now, count as i32).await? {
                    return Ok((pb::IssueReportResponse::default(), Vec::new()));
                }
                let mut reports = Vec::new();
                let mut changes = Vec::new();
                for (court, built) in &all {
                    // Issued by hand before its time: the schedule does not issue it again.
                    if let Some(r) =
                        store::latest_issued(&mut *conn, court.id, kind.code(), &period.to_string()).await?
                        && kind != ReportKind::Friday
                    {
                        tracing::info!(kind = %kind, period = %period, court = %court.name, number = %r.number,
                            "already issued by hand; the schedule does not issue it again");
                        continue;
                    }
                    let (ids, c) = self.archive(conn, built, kind, period, court, &ctx, None).await?;
                    reports.extend(ids.into_iter().map(|id| pb::Report {
                        id: id.to_string(),
                        ..Default::default()
                    }));
                    changes.extend(c);
                }
                Ok((pb::IssueReportResponse { reports }, changes))
            },
        )
        .await?;
        if !out.reports.is_empty() {
            tracing::info!(kind = %kind, period = %period, reports = out.reports.len(), "schedule fired");
        }
        Ok(out.reports.len())
    }

    /// Reports with their deliveries, in the order given.
    async fn reports(&self, ids: &[Uuid], full: bool) -> Result<Vec<pb::Report>> {
        let deliveries = store::deliveries(&self.pool, ids).await?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(row) = store::report(&self.pool, *id).await? {
                out.push(report_message(row, &deliveries, full));
            }
        }
        Ok(out)
    }

    pub async fn get(&self, p: &Principal, req: &pb::GetReportRequest) -> Result<pb::Report> {
        let id = parse_id("id", &req.id)?;
        let row = store::report(&self.pool, id)
            .await?
            .ok_or_else(|| Error::not_found("report", "通报", id))?;
        self.authorize_court(p, Action::ReadReports, row.court_id).await?;
        let deliveries = store::deliveries(&self.pool, &[id]).await?;
        Ok(report_message(row, &deliveries, true))
    }

    async fn authorize_court(&self, p: &Principal, action: Action, court: Uuid) -> Result<()> {
        let ancestry = store::unit(&self.pool, court)
            .await?
            .map(|u| u.ancestry)
            .unwrap_or_else(|| vec![court]);
        p.authorize_on(action, &ancestry)
    }

    pub async fn list(&self, p: &Principal, req: &pb::ListReportsRequest) -> Result<pb::ListReportsResponse> {
        p.authorize_role(Action::ReadReports)?;
        let limit = page::page_size(req.page_size)?;
        let before = page::decode(&req.page_token, 1)?
            .map(|k| k[0].parse::<i64>())
            .transpose()
            .map_err(|_| Error::invalid("page_token", "is not a token returned by this list", "分页标记无效"))?;
        let kind = match req.kind {
            0 => None,
            k if k == pb::ReportKind::Notice as i32 => Some(crate::notices::KIND),
            k => Some(
                kind_from(k)
                    .ok_or_else(|| Error::invalid("kind", "is not a report kind", "通报种类不正确"))?
                    .code(),
            ),
        };
        let period = Some(req.period.trim()).filter(|p| !p.is_empty());
        let scope = (!p.is_admin()).then_some(p.unit_scope.as_slice());
        let mut rows = store::list_reports(&self.pool, scope, kind, period, before, limit).await?;
        let next = page::cut(&mut rows, limit, |r| page::encode(&[&r.seq.to_string()]));
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let deliveries = store::deliveries(&self.pool, &ids).await?;
        Ok(pb::ListReportsResponse {
            reports: rows
                .into_iter()
                .map(|r| report_message(r, &deliveries, false))
                .collect(),
            next_page_token: next,
        })
    }

    /// Puts an archived report's failed (or, asked, all) deliveries back in
    /// the queue, under the same Message-IDs.
    pub async fn send(&self, p: &Principal, req: &pb::SendReportRequest) -> Result<pb::Report> {
        let id = parse_id("id", &req.id)?;
        let row = store::report(&self.pool, id)
            .await?
            .ok_or_else(|| Error::not_found("report", "通报", id))?;
        self.authorize_court(p, Action::IssueReports, row.court_id).await?;
        let ctx = MutationContext {
            principal: p.clone(),
            request_id: req.request_id.clone(),
            now: self.clock.now().await?,
            service: "reporting",
        };
        let court = row.court_id;
        mutate(&self.pool, &ctx, "SendReport", req, async |conn: &mut PgConnection| {
            let n = store::requeue(conn, id, req.include_sent, ctx.now).await?;
            Ok((
                pb::Report {
                    id: id.to_string(),
                    ..Default::default()
                },
                vec![Change {
                    action: "report.resent",
                    target_kind: "report",
                    target_id: id.to_string(),
                    before: None,
                    after: Some(serde_json::json!({ "requeued": n, "include_sent": req.include_sent })),
                    unit_ids: vec![court],
                }],
            ))
        })
        .await?;
        self.get(p, &pb::GetReportRequest { id: id.to_string() }).await
    }

    pub async fn schedules(&self, p: &Principal) -> Result<pb::ListSchedulesResponse> {
        p.authorize_role(Action::ReadReports)?;
        let now = self.clock.now().await?;
        let calendar = store::calendar(&self.pool).await?;
        let mut out = Vec::new();
        for s in store::schedules(&self.pool).await? {
            let kind = ReportKind::from_code(&s.kind).map(kind_to).unwrap_or_default();
            let (next, next_note) = match Rule::parse(&s.rule) {
                Err(why) => (None, format!("时间规则无法识别,不会印发:{why}")),
                Ok(rule) => match rule.next_shown(now, &calendar, &self.tz) {
                    None => (None, "近期没有印发日".to_owned()),
                    Some(n) => {
                        let note = n
                            .unloaded_year
                            .map(|y| format!("{y}年工作日历尚未载入,下次日期按周一至周五暂定,载入后确定(载入前不印发)"))
                            .unwrap_or_default();
                        (Some(n), note)
                    }
                },
            };
            out.push(pb::Schedule {
                kind: kind as i32,
                rule: s.rule,
                enabled: s.enabled,
                next_time: next.map(|n| timestamp(n.at)),
                next_period: next.map(|n| n.period.to_string()).unwrap_or_default(),
                next_provisional: next.is_some_and(|n| n.unloaded_year.is_some()),
                next_note,
            });
        }
        Ok(pb::ListSchedulesResponse { schedules: out })
    }
}

fn delivery_state(s: &str) -> pb::DeliveryState {
    match s {
        "pending" => pb::DeliveryState::Pending,
        "sending" => pb::DeliveryState::Sending,
        "sent" => pb::DeliveryState::Sent,
        "failed" => pb::DeliveryState::Failed,
        "skipped" => pb::DeliveryState::Skipped,
        _ => pb::DeliveryState::Unspecified,
    }
}

fn report_message(row: store::ReportRow, deliveries: &[store::DeliveryRow], full: bool) -> pb::Report {
    pb::Report {
        id: row.id.to_string(),
        kind: match row.kind.as_str() {
            crate::notices::KIND => pb::ReportKind::Notice,
            k => ReportKind::from_code(k).map(kind_to).unwrap_or_default(),
        } as i32,
        period: row.period,
        court_id: row.court_id.to_string(),
        unit_id: row.unit_id.map(|u| u.to_string()).unwrap_or_default(),
        title: row.title,
        number: row.number,
        subject: row.subject,
        issued_time: Some(timestamp(row.issued_at)),
        issued_by: row.issued_by,
        html: if full { row.html } else { String::new() },
        text: if full { row.text_body } else { String::new() },
        snapshot_json: if full { row.snapshot.to_string() } else { String::new() },
        deliveries: deliveries
            .iter()
            .filter(|d| d.report_id == row.id)
            .map(|d| pb::Delivery {
                id: d.id.to_string(),
                recipient_name: d.recipient_name.clone(),
                recipient_email: d.recipient_email.clone(),
                message_id: d.message_id.clone(),
                state: delivery_state(&d.state) as i32,
                attempts: d.attempts,
                next_attempt_time: Some(timestamp(d.next_attempt_at)),
                last_error: d.last_error.clone(),
                sent_time: d.sent_at.map(timestamp),
            })
            .collect(),
        attachments: row.attachment_name.into_iter().collect(),
        replaces_id: row.replaces.map(|r| r.to_string()).unwrap_or_default(),
        correction_reason: row.correction_reason,
    }
}
