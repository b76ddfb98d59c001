//! `duban assign`, `duban assignments`, `duban acknowledge`, `duban feedback`,
//! `duban verify`, `duban closeout`: an item's follow-up from the command line.

use super::calendar::AssignmentClientArgs;
use super::{print_table, rpc_error};
use anyhow::Context;
use duban_core::item::parse_date;
use duban_proto::assignment::v1 as pb;
use duban_proto::assignment::v1::assignment_service_client::AssignmentServiceClient;
use duban_proto::registry::v1 as reg;
use std::path::Path;

pub type Client =
    AssignmentServiceClient<tonic::service::interceptor::InterceptedService<tonic::transport::Channel, super::Bearer>>;

pub(crate) async fn connect(args: &AssignmentClientArgs, data_dir: &Path) -> anyhow::Result<Client> {
    let (channel, bearer) = args.client_args().channel(data_dir).await?;
    Ok(AssignmentServiceClient::with_interceptor(channel, bearer))
}

pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn date_text(d: &Option<reg::Date>) -> String {
    d.as_ref()
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

/// "2027-01-25 24:00", marked (暂定) when counted over a year whose calendar
/// is not loaded yet.
pub(crate) fn due_text(d: &Option<reg::Date>, provisional: bool) -> String {
    let mark = if provisional {
        duban_core::calendar::PROVISIONAL_MARK_ZH
    } else {
        ""
    };
    format!("{} 24:00{mark}", date_text(d))
}

fn light_zh(light: &str) -> &'static str {
    duban_core::assignment::Light::from_code(light)
        .map(duban_core::assignment::Light::label_zh)
        .unwrap_or("")
}

fn row(a: &pb::Assignment) -> Vec<String> {
    let next = a.milestones.iter().find(|m| m.met_time.is_none());
    vec![
        if a.item_number.is_empty() {
            "—".into()
        } else {
            a.item_number.clone()
        },
        a.item_title.clone(),
        format!("{}{}", a.unit_name, if a.role == "co" { "(协办)" } else { "" }),
        a.state_label.clone(),
        light_zh(&a.light).into(),
        next.map(|m| {
            let mark = if m.provisional {
                duban_core::calendar::PROVISIONAL_MARK_ZH
            } else {
                ""
            };
            format!("{} {}{mark}", m.label, date_text(&m.due_date))
        })
        .unwrap_or_default(),
        a.id.clone(),
    ]
}

const HEADERS: [&str; 7] = ["编号", "事项", "承办单位", "状态", "亮灯", "下一节点", "ID"];

pub(crate) fn print(a: &pb::Assignment, json: bool) {
    if json {
        let v = serde_json::json!({
            "id": a.id, "item_id": a.item_id, "item": a.item_title, "number": a.item_number, "unit": a.unit_name,
            "role": a.role, "head": a.head.as_ref().map(|p| &p.name), "liaison": a.liaison.as_ref().map(|p| &p.name),
            "state": a.state, "light": a.light, "grade": a.grade, "etag": a.etag,
            "milestones": a.milestones.iter().map(|m| serde_json::json!({
                "kind": m.kind, "label": m.label, "rule": m.rule, "due_date": date_text(&m.due_date), "met": m.met_time.is_some(),
                "provisional": m.provisional,
            })).collect::<Vec<_>>(),
            "feedback": a.feedback.iter().map(|f| serde_json::json!({"kind": f.kind, "text": f.text, "by": f.submitted_by})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    println!("{} {}", a.item_number, a.item_title);
    println!(
        "{}{} 责任人 {} 联络员 {} · {} · {}",
        a.unit_name,
        if a.role == "co" { "(协办)" } else { "(主办)" },
        a.head.as_ref().map(|p| p.name.as_str()).unwrap_or(""),
        a.liaison.as_ref().map(|p| p.name.as_str()).unwrap_or(""),
        a.state_label,
        light_zh(&a.light)
    );
    let rows: Vec<Vec<String>> = a
        .milestones
        .iter()
        .map(|m| {
            vec![
                m.label.clone(),
                m.rule.clone(),
                due_text(&m.due_date, m.provisional),
                m.met_label.clone(),
            ]
        })
        .collect();
    print_table(&["节点", "时限", "截止", ""], &rows);
    for f in &a.feedback {
        println!("  [{}] {}({})", f.kind_label, f.text, f.submitted_by);
    }
    for u in &a.urges {
        let answer = match (u.response_time.is_some(), u.justified) {
            (_, Some(true)) => "已回复,理由正当",
            (_, Some(false)) => "已回复,理由不成立",
            (true, None) => "已回复,待认定",
            (false, None) => "未回复",
        };
        println!(
            "  第{}次催办({}){} · {}",
            u.seq,
            if u.kind == "automatic" {
                "逾期自动催办"
            } else {
                "办公室催办"
            },
            u.note,
            answer
        );
    }
    if !a.flag_reason.is_empty() {
        println!("  ⚑ 拟通报批评:{}", a.flag_reason);
    }
    if let Some(plan) = a.plans.last() {
        let state = match plan.state.as_str() {
            "approved" => "已批准",
            "rejected" => "已退回",
            _ => "待审批",
        };
        println!("  推进计划({state}):{}", plan.summary);
        for (i, s) in plan.steps.iter().enumerate() {
            println!("    {}. {} {}", i + 1, date_text(&s.date), s.what);
        }
    }
    if a.attention_months > 0 {
        println!("  持续关注:每{}个月报送阶段性报告", a.attention_months);
    }
    println!("ID {}", a.id);
}

#[derive(Debug, clap::Args)]
pub struct AssignArgs {
    /// The registered item (id).
    pub item: String,
    /// Policy: 13710 (default) or interim.
    #[arg(long, default_value = "")]
    pub policy: String,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long)]
    pub item: Option<String>,
    /// A unit (id): its assignments and those of units below it.
    #[arg(long)]
    pub unit: Option<String>,
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long)]
    pub open: bool,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

#[derive(Debug, clap::Args)]
pub struct AcknowledgeArgs {
    pub id: String,
    /// How it is deployed (研究部署情况).
    #[arg(long)]
    pub deployment: String,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

#[derive(Debug, clap::Args)]
pub struct FeedbackArgs {
    pub id: String,
    /// deployment, initial, progress, completion, delay_explanation, urge_response, stage_report
    #[arg(long)]
    pub kind: String,
    #[arg(long)]
    pub text: String,
    /// For delay explanations: complexity, coordination, resources, external, policy, other.
    #[arg(long, default_value = "")]
    pub reason: String,
    #[arg(long, default_value = "")]
    pub next_steps: String,
    /// Progress per target, repeatable: WHAT=VALUE[UNIT].
    #[arg(long = "progress")]
    pub progress: Vec<String>,
    /// OA link, repeatable.
    #[arg(long = "attachment")]
    pub attachments: Vec<String>,
    /// With a progress report: the approved plan's step (from 1) it completes.
    #[arg(long, default_value_t = 0)]
    pub plan_step: i32,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    pub id: String,
    /// Return for rework (驳回重办) instead of accepting.
    #[arg(long = "return")]
    pub send_back: bool,
    /// excellent, good or pass (on acceptance).
    #[arg(long, default_value = "")]
    pub grade: String,
    /// What was checked (on acceptance).
    #[arg(long, default_value = "")]
    pub checked: String,
    /// What to redo (on return).
    #[arg(long, default_value = "")]
    pub comment: String,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

#[derive(Debug, clap::Args)]
pub struct CloseOutArgs {
    /// Only show the list of the week of this date.
    #[arg(long)]
    pub list: bool,
    /// Any day of the week (YYYY-MM-DD); this week by default.
    #[arg(long)]
    pub week: Option<String>,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

fn target(text: &str) -> anyhow::Result<reg::Target> {
    let (what, rest) = text
        .split_once('=')
        .context("progress is WHAT=VALUE[UNIT], e.g. 结案=120件")?;
    let split = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let value: f64 = rest[..split]
        .parse()
        .with_context(|| format!("`{rest}` does not start with a number"))?;
    Ok(reg::Target {
        what: what.trim().into(),
        target_value: value,
        unit_of_measure: rest[split..].trim().into(),
    })
}

pub(crate) async fn etag(c: &mut Client, id: &str) -> anyhow::Result<String> {
    Ok(c.get_assignment(pb::GetAssignmentRequest { id: id.into() })
        .await
        .map_err(rpc_error)?
        .into_inner()
        .etag)
}

pub async fn assign(data_dir: &Path, args: AssignArgs) -> anyhow::Result<()> {
    let mut c = connect(&args.client, data_dir).await?;
    let out = c
        .assign_item(pb::AssignItemRequest {
            request_id: request_id(),
            item_id: args.item,
            policy: args.policy,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    for a in &out.assignments {
        print(a, args.client.json);
    }
    Ok(())
}

pub async fn list(data_dir: &Path, args: ListArgs) -> anyhow::Result<()> {
    let mut c = connect(&args.client, data_dir).await?;
    let mut req = pb::ListAssignmentsRequest {
        page_size: 200,
        item_id: args.item.unwrap_or_default(),
        unit_id: args.unit.unwrap_or_default(),
        state: args.state.unwrap_or_default(),
        open_only: args.open,
        ..Default::default()
    };
    let mut all = Vec::new();
    loop {
        let page = c.list_assignments(req.clone()).await.map_err(rpc_error)?.into_inner();
        all.extend(page.assignments);
        if page.next_page_token.is_empty() {
            break;
        }
        req.page_token = page.next_page_token;
    }
    let rows: Vec<Vec<String>> = all.iter().map(row).collect();
    print_table(&HEADERS, &rows);
    Ok(())
}

pub async fn acknowledge(data_dir: &Path, args: AcknowledgeArgs) -> anyhow::Result<()> {
    let mut c = connect(&args.client, data_dir).await?;
    let etag = etag(&mut c, &args.id).await?;
    let a = c
        .acknowledge(pb::AcknowledgeRequest {
            request_id: request_id(),
            id: args.id,
            etag,
            deployment: args.deployment,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    print(&a, args.client.json);
    Ok(())
}

pub async fn feedback(data_dir: &Path, args: FeedbackArgs) -> anyhow::Result<()> {
    let progress = args
        .progress
        .iter()
        .map(|p| target(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut c = connect(&args.client, data_dir).await?;
    let etag = etag(&mut c, &args.id).await?;
    let a = c
        .submit_feedback(pb::SubmitFeedbackRequest {
            request_id: request_id(),
            id: args.id,
            etag,
            kind: args.kind,
            text: args.text,
            reason: args.reason,
            next_steps: args.next_steps,
            progress,
            attachments: args.attachments,
            plan_step: args.plan_step,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    print(&a, args.client.json);
    Ok(())
}

pub async fn verify(data_dir: &Path, args: VerifyArgs) -> anyhow::Result<()> {
    let mut c = connect(&args.client, data_dir).await?;
    let etag = etag(&mut c, &args.id).await?;
    let a = c
        .verify(pb::VerifyRequest {
            request_id: request_id(),
            id: args.id,
            etag,
            accept: !args.send_back,
            grade: args.grade,
            checked: args.checked,
            comment: args.comment,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    print(&a, args.client.json);
    Ok(())
}

pub async fn close_out(data_dir: &Path, args: CloseOutArgs) -> anyhow::Result<()> {
    use chrono::Datelike;
    let week = match &args.week {
        Some(text) => {
            let d = parse_date(text).with_context(|| format!("`{text}` is not a date"))?;
            Some(reg::Date {
                year: d.year(),
                month: d.month() as i32,
                day: d.day() as i32,
            })
        }
        None => None,
    };
    let mut c = connect(&args.client, data_dir).await?;
    let list = if args.list {
        c.list_close_outs(pb::ListCloseOutsRequest { week_of: week })
            .await
            .map_err(rpc_error)?
            .into_inner()
    } else {
        c.close_out(pb::CloseOutRequest {
            request_id: request_id(),
            week_of: week,
        })
        .await
        .map_err(rpc_error)?
        .into_inner()
    };
    println!("{} 周销号清单:{} 项", date_text(&list.week), list.assignments.len());
    let rows: Vec<Vec<String>> = list.assignments.iter().map(row).collect();
    print_table(&HEADERS, &rows);
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Resume after this cursor (printed with each event).
    #[arg(long, default_value = "")]
    pub after: String,
    /// Only events of this unit (id) and the units below it.
    #[arg(long, default_value = "")]
    pub unit: String,
    /// Only events of these services (assignment, registry, …).
    #[arg(long = "service")]
    pub services: Vec<String>,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

/// Follows the event stream, one line (or JSON object) per event, resuming
/// from `--after`; runs until interrupted.
pub async fn watch(data_dir: &Path, args: WatchArgs) -> anyhow::Result<()> {
    let mut c = connect(&args.client, data_dir).await?;
    let mut stream = c
        .watch_events(pb::WatchEventsRequest {
            after: args.after,
            unit_id: args.unit,
            services: args.services,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    while let Some(e) = stream.message().await.map_err(rpc_error)? {
        let at = e
            .occur_time
            .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
            .map(|t| {
                t.with_timezone(&chrono_tz::Asia::Shanghai)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        if args.client.json {
            println!(
                "{}",
                serde_json::json!({
                    "cursor": e.cursor, "event_type": e.event_type, "subject_id": e.subject_id, "at": at,
                    "principal": e.principal, "payload": serde_json::from_str::<serde_json::Value>(&e.payload_json).unwrap_or_default(),
                })
            );
        } else {
            println!(
                "{}  {at}  {:<32} {} {}  ({})",
                e.cursor, e.event_type, e.subject_kind, e.subject_id, e.principal
            );
        }
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct ExtendArgs {
    pub id: String,
    /// The new deadline (YYYY-MM-DD).
    #[arg(long)]
    pub to: String,
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

#[derive(Debug, clap::Args)]
pub struct SuspendArgs {
    pub id: String,
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["approve", "reject"])))]
pub struct DecideArgs {
    /// The assignment.
    pub id: String,
    /// The pending request (shown by `duban assignments --json` or the OA).
    pub request: String,
    #[arg(long)]
    pub approve: bool,
    #[arg(long)]
    pub reject: bool,
    #[arg(long, default_value = "")]
    pub comment: String,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    pub id: String,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

pub async fn extend(data_dir: &Path, args: ExtendArgs) -> anyhow::Result<()> {
    use chrono::Datelike;
    let to = parse_date(&args.to).with_context(|| format!("`{}` is not a date", args.to))?;
    let mut c = connect(&args.client, data_dir).await?;
    let etag = etag(&mut c, &args.id).await?;
    let a = c
        .request_extension(pb::RequestExtensionRequest {
            request_id: request_id(),
            id: args.id,
            etag,
            new_deadline: Some(reg::Date {
                year: to.year(),
                month: to.month() as i32,
                day: to.day() as i32,
            }),
            reason: args.reason,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    print(&a, args.client.json);
    Ok(())
}

pub async fn suspend(data_dir: &Path, args: SuspendArgs) -> anyhow::Result<()> {
    let mut c = connect(&args.client, data_dir).await?;
    let etag = etag(&mut c, &args.id).await?;
    let a = c
        .request_suspension(pb::RequestSuspensionRequest {
            request_id: request_id(),
            id: args.id,
            etag,
            reason: args.reason,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    print(&a, args.client.json);
    Ok(())
}

pub async fn decide(data_dir: &Path, args: DecideArgs) -> anyhow::Result<()> {
    let mut c = connect(&args.client, data_dir).await?;
    let etag = etag(&mut c, &args.id).await?;
    let a = c
        .decide_request(pb::DecideRequestRequest {
            request_id: request_id(),
            id: args.id,
            etag,
            change_request_id: args.request,
            approve: args.approve,
            comment: args.comment,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    print(&a, args.client.json);
    Ok(())
}

pub async fn resume(data_dir: &Path, args: ResumeArgs) -> anyhow::Result<()> {
    let mut c = connect(&args.client, data_dir).await?;
    let etag = etag(&mut c, &args.id).await?;
    let a = c
        .resume(pb::ResumeRequest {
            request_id: request_id(),
            id: args.id,
            etag,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    print(&a, args.client.json);
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct UrgeArgs {
    pub id: String,
    #[arg(long, default_value = "")]
    pub note: String,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["justified", "unjustified"])))]
pub struct JudgeArgs {
    pub id: String,
    /// The urge whose answer is judged (第N次催办: its number, or its id).
    pub urge: String,
    /// The answer gives a justified reason (正当理由).
    #[arg(long)]
    pub justified: bool,
    #[arg(long)]
    pub unjustified: bool,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

pub async fn urge(data_dir: &Path, args: UrgeArgs) -> anyhow::Result<()> {
    let mut c = connect(&args.client, data_dir).await?;
    let etag = etag(&mut c, &args.id).await?;
    let a = c
        .urge(pb::UrgeRequest {
            request_id: request_id(),
            id: args.id,
            etag,
            note: args.note,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    if let Some(u) = a.urges.last() {
        println!("已发出第{}次催办", u.seq);
    }
    print(&a, args.client.json);
    Ok(())
}

pub async fn judge(data_dir: &Path, args: JudgeArgs) -> anyhow::Result<()> {
    let mut c = connect(&args.client, data_dir).await?;
    let current = c
        .get_assignment(pb::GetAssignmentRequest { id: args.id.clone() })
        .await
        .map_err(rpc_error)?
        .into_inner();
    let urge = current
        .urges
        .iter()
        .find(|u| u.id == args.urge || u.seq.to_string() == args.urge)
        .with_context(|| format!("the assignment has no urge `{}`", args.urge))?;
    let a = c
        .judge_urge_response(pb::JudgeUrgeResponseRequest {
            request_id: request_id(),
            id: args.id,
            etag: current.etag.clone(),
            urge_id: urge.id.clone(),
            justified: args.justified,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    print(&a, args.client.json);
    Ok(())
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["passed", "failed"])))]
pub struct ReInspectArgs {
    /// The item (id).
    pub item: String,
    /// The re-inspection found the work done (otherwise: reopen it).
    #[arg(long)]
    pub passed: bool,
    #[arg(long)]
    pub failed: bool,
    #[arg(long)]
    pub findings: String,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

pub async fn reinspect(data_dir: &Path, args: ReInspectArgs) -> anyhow::Result<()> {
    let mut c = connect(&args.client, data_dir).await?;
    let out = c
        .re_inspect(pb::ReInspectRequest {
            request_id: request_id(),
            item_id: args.item,
            passed: args.passed,
            findings: args.findings,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    if out.passed {
        println!("第{}轮回头看:通过", out.round);
    } else {
        println!("第{}轮回头看:未通过,已重新交办(第{}轮)", out.round, out.round + 1);
        let rows: Vec<Vec<String>> = out.assignments.iter().map(row).collect();
        print_table(&HEADERS, &rows);
    }
    Ok(())
}
