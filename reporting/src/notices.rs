//! Notices (督办通知): the reminders (临近提醒), urges (催办通知) and
//! 通报批评 flags (通报批评告知) the assignment service raises, mailed to the
//! unit's head (责任人) and liaison (联络员).
//!
//! The worker folds `assignment.reminder`, `assignment.urged` and
//! `assignment.flagged` from the event stream in commit order, from a stored
//! cursor (`reporting.notice_cursor`): each pass locks the cursor row, reads
//! the events after it, and in one audited transaction archives one report
//! of kind `notice` per event, queues its deliveries (the same jobs, retries
//! and stable Message-IDs as every report) and moves the cursor. A crash
//! leaves nothing half-done; replicas take turns on the row lock; so each
//! event makes one notice, and each recipient one message.

use crate::figures::month_day;
use crate::notice_store::{self as store, Person, Subject};
use crate::period::{Period, ReportKind, date_zh};
use crate::service::ReportingService;
use chrono::{DateTime, NaiveDate, Utc};
use duban_platform::events::{self, Cursor, EventFilter};
use duban_platform::mutation::{Change, MutationContext, mutate};
use duban_platform::{Error, Result};
use duban_proto::reporting::v1 as pb;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// The report kind of notices in the archive.
pub const KIND: &str = "notice";

/// Events read per pass.
const BATCH: i64 = 200;

const TEMPLATES: &[(&str, &str)] = &[
    ("notice.html", include_str!("../templates/notice.html")),
    ("notice.txt", include_str!("../templates/notice.txt")),
];

/// What an event asks to tell the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raised {
    /// A milestone falls due within a working day.
    Reminder { milestone: String },
    /// Urge no. `seq`: for a missed milestone (automatic), a month without a
    /// progress report (monthly, `period` 2026-10), or by hand.
    Urged {
        seq: i32,
        kind: String,
        milestone: Option<String>,
        period: Option<String>,
    },
    /// Flagged for 通报批评.
    Flagged { reason: String },
}

/// Reads an assignment event as a notice; `None` for every other event.
pub fn parse(event_type: &str, payload: &serde_json::Value) -> Option<Raised> {
    let after = &payload["after"];
    let text = |v: &serde_json::Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    match event_type {
        "assignment.reminder" => Some(Raised::Reminder {
            milestone: text(&after["milestone"])?,
        }),
        "assignment.urged" => {
            // The sweep's urges carry the urge; a manual one the summary,
            // whose last urge is the new one.
            let urge = match after["urges"].as_array() {
                Some(urges) => urges.last()?,
                None => after,
            };
            Some(Raised::Urged {
                seq: urge["seq"].as_i64()? as i32,
                kind: text(&urge["kind"]).unwrap_or_else(|| "manual".into()),
                milestone: text(&urge["milestone"]),
                period: text(&urge["period"]),
            })
        }
        "assignment.flagged" => Some(Raised::Flagged {
            reason: text(&after["reason"]).unwrap_or_default(),
        }),
        _ => None,
    }
}

/// Why a reminder is not worth sending by the time it can go (a worker was
/// down when it was raised): its milestone was met meanwhile, or has
/// fallen due (the urge for a missed milestone follows on its own). `None`
/// when it is still ahead.
pub fn stale_reminder(m: &store::MilestoneDue, now: DateTime<Utc>, tz: &chrono_tz::Tz) -> Option<String> {
    if let Some(met) = m.met_at.filter(|met| *met <= now) {
        return Some(format!(
            "发送前该节点已于{}办理,不再提醒",
            month_day(met.with_timezone(tz).date_naive())
        ));
    }
    (m.due_at <= now).then(|| {
        format!(
            "发送前该节点已于{}24时到期,临近提醒已过时效,未发送(逾期将另行催办)",
            month_day(m.due_date)
        )
    })
}

/// A notice as rendered and archived (the template's context).
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    /// 临近提醒, 催办通知 or 通报批评告知.
    pub title: String,
    pub subject: String,
    pub court_name: String,
    pub issuer: String,
    pub unit_name: String,
    pub item_number: String,
    pub item_title: String,
    /// “督〔2026〕7号 优化诉讼服务中心窗口设置”.
    pub item_label: String,
    /// The notice's paragraphs.
    pub paragraphs: Vec<String>,
    pub head_name: String,
    pub liaison_name: String,
    pub date_label: String,
    /// The event it answers.
    pub event_id: i64,
}

/// What composing needs besides the event and the assignment.
pub struct Facts {
    /// The milestone's due date, when the notice names one.
    pub due: Option<NaiveDate>,
    /// The due date rests on a year whose calendar is not loaded (暂定).
    pub due_provisional: bool,
    /// The urge's answer deadline (exclusive: 24:00 of the day before).
    pub answer_due: Option<DateTime<Utc>>,
    pub today: NaiveDate,
    pub tz: chrono_tz::Tz,
}

/// 24:00 of the day an exclusive deadline ends, e.g. “10月10日24时”.
fn by_midnight(at: DateTime<Utc>, tz: &chrono_tz::Tz) -> String {
    format!("{}24时", month_day(duban_core::policy::due_day(at, tz)))
}

/// “2026年10月” from “2026-10”.
fn month_label(period: &str) -> String {
    ReportKind::Monthly
        .parse_period(period)
        .map(Period::label_zh)
        .unwrap_or_else(|| period.to_owned())
}

/// Composes the notice (pure).
pub fn compose(raised: &Raised, s: &Subject, f: &Facts, event_id: i64) -> Notice {
    let item_label = [s.item_number.as_str(), s.item_title.as_str()]
        .iter()
        .filter(|x| !x.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let due = |milestone: &str| {
        let label = duban_core::plan::milestone_label_zh(milestone);
        match f.due {
            Some(d) => {
                let mark = if f.due_provisional {
                    duban_core::calendar::PROVISIONAL_MARK_ZH
                } else {
                    ""
                };
                (label, format!("{}24时{mark}", month_day(d)))
            }
            None => (label, String::new()),
        }
    };
    let answer = f
        .answer_due
        .map(|t| by_midnight(t, &f.tz))
        .unwrap_or_else(|| "下一个工作日24时".into());
    let (title, suffix, paragraphs) = match raised {
        Raised::Reminder { milestone } => {
            let (label, by) = due(milestone);
            let when = if by.is_empty() { "即将".into() } else { format!("将于{by}") };
            (
                "临近提醒",
                format!("({label}{when}到期)"),
                vec![
                    format!("你单位承办的督办事项“{item_label}”,{label}时限{when}到期。"),
                    format!("请按要求于{}前报送{label}情况;确有困难不能按期完成的,请在到期前说明原因及下步打算。", if by.is_empty() { "到期".into() } else { by }),
                ],
            )
        }
        Raised::Urged {
            seq,
            kind,
            milestone,
            period,
        } => {
            let missed = match (kind.as_str(), milestone, period) {
                ("monthly", _, Some(p)) => format!("{}未报送进展情况", month_label(p)),
                (_, Some(m), _) => {
                    let (label, by) = due(m);
                    if by.is_empty() {
                        format!("{label}时限已届满,尚未按要求办理")
                    } else {
                        format!("{label}时限({by})已届满,尚未按要求办理")
                    }
                }
                _ => "尚未按要求办理".into(),
            };
            let how = if kind == "manual" { "督查督办部门" } else { "督办系统" };
            (
                "催办通知",
                format!("(第{seq}次催办)"),
                vec![
                    format!("你单位承办的督办事项“{item_label}”,{missed}。{how}现对该事项进行第{seq}次催办。"),
                    format!("请于{answer}前回复催办,说明未按期办理的原因及下步打算,并抓紧办理、按要求反馈。无正当理由未按要求办理的,经催办两次将予以通报批评。"),
                ],
            )
        }
        Raised::Flagged { reason } => (
            "通报批评告知",
            String::new(),
            vec![
                format!("你单位承办的督办事项“{item_label}”,{reason}。"),
                "根据督查督办工作有关规定,该事项将在督查督办工作通报中予以通报批评。请高度重视,立即组织办理,并按要求反馈办理情况。".into(),
            ],
        ),
    };
    let name = |p: &Option<Person>| p.as_ref().map(|p| p.name.clone()).unwrap_or_default();
    Notice {
        title: title.into(),
        subject: format!("【{title}】{item_label}{suffix}"),
        issuer: format!("{}办公室", s.court_name),
        court_name: s.court_name.clone(),
        unit_name: s.unit_name.clone(),
        item_number: s.item_number.clone(),
        item_title: s.item_title.clone(),
        item_label,
        paragraphs,
        head_name: name(&s.head),
        liaison_name: name(&s.liaison),
        date_label: date_zh(f.today),
        event_id,
    }
}

/// The notices' templates.
pub struct Notices {
    tera: tera::Tera,
}

impl Notices {
    pub fn new() -> anyhow::Result<Self> {
        let mut tera = tera::Tera::new();
        crate::render::register_filters(&mut tera);
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .map_err(|e| anyhow::anyhow!("compiling the notice templates: {e}"))?;
        Ok(Self { tera })
    }

    /// The notice as HTML and text.
    pub fn render(&self, notice: &Notice) -> anyhow::Result<(String, String)> {
        let mut context = tera::Context::new();
        context.insert("n", notice);
        let render = |name: &str| {
            self.tera
                .render(name, &context)
                .map_err(|e| anyhow::anyhow!("rendering {name}: {e}"))
        };
        Ok((render("notice.html")?, render("notice.txt")?))
    }

    /// Notices every settled assignment event not noticed yet; returns the
    /// passes that moved the cursor.
    pub async fn catch_up(&self, service: &ReportingService) -> Result<usize> {
        let mut total = 0;
        loop {
            match self.pass(service).await? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    /// One pass over at most [`BATCH`] events.
    async fn pass(&self, service: &ReportingService) -> Result<usize> {
        let pool = service.pool();
        let filter = EventFilter {
            services: Some(vec!["assignment".into()]),
            ..Default::default()
        };
        // A cheap look first: most ticks find nothing.
        let start: Cursor = store::cursor(pool).await?.parse()?;
        if events::read_after(pool, start, 1, &filter).await?.is_empty() {
            return Ok(0);
        }
        let now = service.clock().now().await?;
        let ctx = MutationContext {
            principal: crate::service::system(),
            // Replicas starting from the same cursor claim the same id: one
            // does the pass, the others get its answer.
            request_id: format!("notices:{start}"),
            now,
            service: "reporting",
        };
        let request = pb::IssueReportRequest {
            request_id: ctx.request_id.clone(),
            kind: pb::ReportKind::Notice as i32,
            period: start.to_string(),
            court_id: String::new(),
            ..Default::default()
        };
        let out = mutate(pool, &ctx, "NoticeEvents", &request, async |conn: &mut PgConnection| {
            let cursor: Cursor = store::lock_cursor(conn).await?.parse()?;
            if cursor != start {
                // Another worker moved on meanwhile.
                return Ok((pb::IssueReportResponse::default(), Vec::new()));
            }
            let batch = events::read_after(pool, cursor, BATCH, &filter).await?;
            let Some(last) = batch.last().map(|e| e.cursor) else {
                return Ok((pb::IssueReportResponse::default(), Vec::new()));
            };
            let mut reports = Vec::new();
            let mut changes = Vec::new();
            for e in &batch {
                if e.subject_kind != "assignment" {
                    continue;
                }
                let (Some(raised), Ok(assignment)) = (parse(&e.event_type, &e.payload), Uuid::parse_str(&e.subject_id))
                else {
                    continue;
                };
                if let Some((id, change)) = self.notice(conn, service, &ctx, e, assignment, &raised).await? {
                    reports.push(pb::Report {
                        id: id.to_string(),
                        ..Default::default()
                    });
                    changes.push(change);
                }
            }
            store::set_cursor(conn, &last.to_string(), batch.len() as i64).await?;
            Ok((pb::IssueReportResponse { reports }, changes))
        })
        .await?;
        if !out.reports.is_empty() {
            tracing::info!(notices = out.reports.len(), "notices issued");
        }
        // Whether this worker did the pass or found it done: go on from
        // wherever the cursor is now (0 when another worker holds it).
        let after: Cursor = store::cursor(pool).await?.parse()?;
        Ok(usize::from(after != start))
    }

    /// Archives the notice of one event and queues its deliveries.
    async fn notice(
        &self,
        conn: &mut PgConnection,
        service: &ReportingService,
        ctx: &MutationContext,
        e: &events::Event,
        assignment: Uuid,
        raised: &Raised,
    ) -> Result<Option<(Uuid, Change)>> {
        let Some(subject) = store::subject(&mut *conn, assignment).await? else {
            tracing::warn!(event = e.id, %assignment, "no such assignment in the reporting views; no notice");
            return Ok(None);
        };
        let milestone = match raised {
            Raised::Reminder { milestone } => Some(milestone.as_str()),
            Raised::Urged { milestone, .. } => milestone.as_deref(),
            Raised::Flagged { .. } => None,
        };
        let milestone = match milestone {
            Some(m) => store::milestone(&mut *conn, assignment, m).await?,
            None => None,
        };
        let due = milestone.map(|m| m.due_date);
        let due_provisional = milestone.is_some_and(|m| m.provisional);
        let answer_due = match raised {
            Raised::Urged { seq, .. } => store::urge_answer_due(&mut *conn, assignment, *seq).await?,
            _ => None,
        };
        let tz = service.tz();
        let facts = Facts {
            due,
            due_provisional,
            answer_due,
            today: e.occurred_at.with_timezone(&tz).date_naive(),
            tz,
        };
        let notice = compose(raised, &subject, &facts, e.id);
        let (html, text) = self.render(&notice).map_err(Error::Internal)?;
        let snapshot = serde_json::to_value(&notice).map_err(|e| Error::Internal(e.into()))?;
        let id = Uuid::now_v7();
        crate::store::insert_report(
            conn,
            &crate::store::NewReport {
                id,
                kind: KIND,
                period: &facts.today.to_string(),
                court_id: subject.court_id,
                unit_id: Some(subject.unit_id),
                title: &notice.title,
                number: &subject.item_number,
                subject: &notice.subject,
                issued_at: ctx.now,
                issued_by: &ctx.principal.name,
                html: &html,
                text: &text,
                snapshot: &snapshot,
                attachment: None,
                correction: 0,
                replaces: None,
                correction_reason: "",
            },
        )
        .await?;
        // The head and the liaison, each address once.
        let mut people: Vec<&Person> = Vec::new();
        for p in [&subject.head, &subject.liaison].into_iter().flatten() {
            let same = |q: &&Person| q.id == p.id || (!p.email.is_empty() && q.email.eq_ignore_ascii_case(&p.email));
            if !people.iter().any(same) {
                people.push(p);
            }
        }
        let recipients: Vec<crate::store::Recipient> = people
            .iter()
            .filter(|p| !p.email.is_empty())
            .map(|p| crate::store::Recipient {
                person_id: Some(p.id),
                name: p.name.clone(),
                email: p.email.clone(),
            })
            .collect();
        let skip = match raised {
            Raised::Reminder { .. } => milestone.and_then(|m| stale_reminder(&m, ctx.now, &tz)),
            _ => None,
        };
        if let Some(why) = &skip {
            tracing::info!(event = e.id, report = %id, reason = %why, "a reminder out of date; archived, not sent");
        }
        crate::store::insert_deliveries(conn, id, &recipients, service.domain(), skip.as_deref(), ctx.now).await?;
        for p in people.iter().filter(|p| p.email.is_empty()) {
            tracing::warn!(person = %p.id, name = %p.name, report = %id, "no e-mail address; the notice is recorded as undeliverable");
            store::insert_undeliverable(
                conn,
                id,
                p,
                service.domain(),
                "组织目录中未登记电子邮箱,无法发送(补录后可重新发送)",
                ctx.now,
            )
            .await?;
        }
        if people.is_empty() {
            tracing::warn!(report = %id, unit = %subject.unit_name, "the unit has no head or liaison; the notice is archived unsent");
        }
        Ok(Some((
            id,
            Change {
                action: "report.issued",
                target_kind: "report",
                target_id: id.to_string(),
                before: None,
                after: Some(serde_json::json!({
                    "kind": KIND, "title": notice.title, "subject": notice.subject,
                    "assignment_id": assignment, "event_id": e.id, "recipients": people.len(),
                })),
                unit_ids: subject.unit_ancestry.clone(),
            },
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn subject() -> Subject {
        Subject {
            court_id: Uuid::nil(),
            court_name: "江川市中级人民法院".into(),
            unit_id: Uuid::nil(),
            unit_name: "立案庭".into(),
            unit_ancestry: vec![],
            item_number: "督〔2026〕7号".into(),
            item_title: "优化诉讼服务中心窗口设置".into(),
            head: Some(Person {
                id: Uuid::nil(),
                name: "陈立新".into(),
                email: "chen@x".into(),
            }),
            liaison: None,
        }
    }

    fn facts(due: Option<NaiveDate>, answer: Option<&str>) -> Facts {
        Facts {
            due,
            due_provisional: false,
            answer_due: answer.map(|a| DateTime::parse_from_rfc3339(a).unwrap().to_utc()),
            today: NaiveDate::from_ymd_opt(2026, 10, 9).unwrap(),
            tz: chrono_tz::Asia::Shanghai,
        }
    }

    #[test]
    fn reminders_out_of_date_are_not_sent() {
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().to_utc();
        let tz = chrono_tz::Asia::Shanghai;
        // Deploy due 10-08 24:00 (10-09 00:00 in court time).
        let m = store::MilestoneDue {
            due_date: NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(),
            due_at: at("2026-10-09T00:00:00+08:00"),
            met_at: None,
            provisional: false,
        };
        // Raised 9-30 and sent at once, or late but still ahead: sent.
        assert_eq!(stale_reminder(&m, at("2026-09-30T10:00:00+08:00"), &tz), None);
        assert_eq!(stale_reminder(&m, at("2026-10-08T23:59:59+08:00"), &tz), None);
        // At or after the deadline: out of date.
        for now in ["2026-10-09T00:00:00+08:00", "2026-10-12T09:00:00+08:00"] {
            assert_eq!(
                stale_reminder(&m, at(now), &tz).as_deref(),
                Some("发送前该节点已于10月8日24时到期,临近提醒已过时效,未发送(逾期将另行催办)"),
                "{now}"
            );
        }
        // Met before the worker came back: nothing to remind of.
        let met = store::MilestoneDue {
            met_at: Some(at("2026-10-07T16:00:00+08:00")),
            ..m
        };
        assert_eq!(
            stale_reminder(&met, at("2026-10-08T09:00:00+08:00"), &tz).as_deref(),
            Some("发送前该节点已于10月7日办理,不再提醒")
        );
        // Met after `now` (a later instant than the notice's): still sent.
        assert_eq!(stale_reminder(&met, at("2026-10-06T09:00:00+08:00"), &tz), None);
    }

    #[test]
    fn events_are_read_as_notices() {
        assert_eq!(
            parse(
                "assignment.reminder",
                &json!({"before": null, "after": {"milestone": "deploy"}})
            ),
            Some(Raised::Reminder {
                milestone: "deploy".into()
            })
        );
        assert_eq!(
            parse(
                "assignment.urged",
                &json!({"after": {"seq": 3, "period": "2026-10", "kind": "monthly"}})
            ),
            Some(Raised::Urged {
                seq: 3,
                kind: "monthly".into(),
                milestone: None,
                period: Some("2026-10".into())
            })
        );
        let manual = json!({"before": {}, "after": {"item_id": "x", "urges": [
            {"seq": 1, "kind": "automatic", "milestone": "deploy", "period": null},
            {"seq": 2, "kind": "manual", "milestone": null, "period": null}]}});
        assert_eq!(
            parse("assignment.urged", &manual),
            Some(Raised::Urged {
                seq: 2,
                kind: "manual".into(),
                milestone: None,
                period: None
            })
        );
        assert!(parse("assignment.acknowledged", &manual).is_none());
    }

    #[test]
    fn a_provisional_due_date_is_marked() {
        // 2027-01-01 counted on the weekly pattern: 元旦 in any real calendar.
        let mut f = facts(NaiveDate::from_ymd_opt(2027, 1, 1), None);
        f.due_provisional = true;
        let n = compose(
            &Raised::Reminder {
                milestone: "deploy".into(),
            },
            &subject(),
            &f,
            7,
        );
        assert!(
            n.paragraphs[0].contains("将于1月1日24时(暂定)到期"),
            "{:?}",
            n.paragraphs
        );
        f.due_provisional = false;
        let n = compose(
            &Raised::Reminder {
                milestone: "deploy".into(),
            },
            &subject(),
            &f,
            7,
        );
        assert!(!n.paragraphs[0].contains("暂定"), "{:?}", n.paragraphs);
    }

    #[test]
    fn an_urge_reads_like_one() {
        let n = compose(
            &Raised::Urged {
                seq: 1,
                kind: "automatic".into(),
                milestone: Some("deploy".into()),
                period: None,
            },
            &subject(),
            &facts(NaiveDate::from_ymd_opt(2026, 10, 8), Some("2026-10-11T00:00:00+08:00")),
            7,
        );
        assert_eq!(
            n.subject,
            "【催办通知】督〔2026〕7号 优化诉讼服务中心窗口设置(第1次催办)"
        );
        assert!(
            n.paragraphs[0].contains("研究部署时限(10月8日24时)已届满"),
            "{:?}",
            n.paragraphs
        );
        assert!(n.paragraphs[0].contains("第1次催办"));
        assert!(
            n.paragraphs[1].starts_with("请于10月10日24时前回复催办"),
            "{:?}",
            n.paragraphs
        );
        assert_eq!(n.issuer, "江川市中级人民法院办公室");
        let (html, text) = Notices::new().unwrap().render(&n).unwrap();
        for s in ["立案庭", "催办通知", "10月10日24时", "2026年10月9日", "陈立新"] {
            assert!(html.contains(s), "html lacks {s}");
            assert!(text.contains(s), "text lacks {s}");
        }
        assert!(!html.contains("<script"));
    }

    #[test]
    fn reminders_monthly_urges_and_criticism() {
        let r = compose(
            &Raised::Reminder {
                milestone: "plan.2".into(),
            },
            &subject(),
            &facts(NaiveDate::from_ymd_opt(2026, 10, 12), None),
            1,
        );
        assert_eq!(
            r.subject,
            "【临近提醒】督〔2026〕7号 优化诉讼服务中心窗口设置(推进计划第2个节点将于10月12日24时到期)"
        );
        let m = compose(
            &Raised::Urged {
                seq: 4,
                kind: "monthly".into(),
                milestone: None,
                period: Some("2026-10".into()),
            },
            &subject(),
            &facts(None, Some("2026-11-04T00:00:00+08:00")),
            2,
        );
        assert!(
            m.paragraphs[0].contains("2026年10月未报送进展情况"),
            "{:?}",
            m.paragraphs
        );
        assert!(m.subject.ends_with("(第4次催办)"));
        let f = compose(
            &Raised::Flagged {
                reason: "经催办2次无正当理由未按要求办理".into(),
            },
            &subject(),
            &facts(None, None),
            3,
        );
        assert_eq!(f.subject, "【通报批评告知】督〔2026〕7号 优化诉讼服务中心窗口设置");
        assert!(f.paragraphs[0].contains("经催办2次无正当理由未按要求办理"));
        assert!(f.paragraphs[1].contains("予以通报批评"));
    }
}
