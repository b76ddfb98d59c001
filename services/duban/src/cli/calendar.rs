//! `duban calendar …` and `duban deadlines`: the working-day calendar and
//! "when is this due?", answered by the assignment service.

use super::assignments::date_text;
use super::{ClientArgs, print_table, rpc_error};
use anyhow::Context;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use duban_core::item::{UrgencyClass, parse_date};
use duban_proto::assignment::v1 as pb;
use duban_proto::assignment::v1::assignment_service_client::AssignmentServiceClient;
use duban_proto::registry::v1 as reg;
use std::path::{Path, PathBuf};

/// The assignment service's default endpoint.
pub const ASSIGNMENT_ENDPOINT: &str = "http://127.0.0.1:50052";

#[derive(Debug, Clone, clap::Args)]
pub struct AssignmentClientArgs {
    #[arg(long, env = "DUBAN_ASSIGNMENT_ENDPOINT", default_value = ASSIGNMENT_ENDPOINT)]
    pub endpoint: String,
    #[arg(long, env = "DUBAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub tls: super::TlsArgs,
}

impl AssignmentClientArgs {
    pub fn client_args(&self) -> ClientArgs {
        ClientArgs {
            endpoint: self.endpoint.clone(),
            token: self.token.clone(),
            json: self.json,
            tls: self.tls.clone(),
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum CalendarCommand {
    /// A year's holidays and make-up working days.
    Show {
        year: i32,
        #[command(flatten)]
        client: AssignmentClientArgs,
    },
    /// The years loaded, with a warning when next year is missing.
    List {
        #[command(flatten)]
        client: AssignmentClientArgs,
    },
    /// Write a year's file to fill in from the State Council's notice:
    /// `duban calendar template 2027 > 2027.toml`.
    Template { year: i32 },
    /// Load a year from its file (see services/assignment/calendars/2026.toml).
    Load {
        file: PathBuf,
        #[command(flatten)]
        client: AssignmentClientArgs,
    },
}

async fn connect(
    args: &AssignmentClientArgs,
    data_dir: &Path,
) -> anyhow::Result<
    AssignmentServiceClient<tonic::service::interceptor::InterceptedService<tonic::transport::Channel, super::Bearer>>,
> {
    let (channel, bearer) = args.client_args().channel(data_dir).await?;
    Ok(AssignmentServiceClient::with_interceptor(channel, bearer))
}

pub async fn calendar(data_dir: &Path, command: CalendarCommand) -> anyhow::Result<()> {
    match command {
        CalendarCommand::Show { year, client } => {
            let mut c = connect(&client, data_dir).await?;
            let y = c
                .get_calendar(pb::GetCalendarRequest { year })
                .await
                .map_err(rpc_error)?
                .into_inner();
            if client.json {
                println!("{}", y.content);
                return Ok(());
            }
            println!("{}年工作日历(第{}版,{})", y.year, y.version, y.source);
            let rows: Vec<Vec<String>> = y
                .holidays
                .iter()
                .map(|h| {
                    let days: Vec<String> = h.days.iter().map(|d| date_text(&Some(*d))).collect();
                    let work: Vec<String> = h.workdays.iter().map(|d| date_text(&Some(*d))).collect();
                    vec![h.name.clone(), range_text(&days), work.join("、")]
                })
                .collect();
            print_table(&["节日", "放假", "调休上班"], &rows);
        }
        CalendarCommand::List { client } => {
            let mut c = connect(&client, data_dir).await?;
            let list = c
                .list_calendars(pb::ListCalendarsRequest {})
                .await
                .map_err(rpc_error)?
                .into_inner();
            let rows: Vec<Vec<String>> = list
                .years
                .iter()
                .map(|y| {
                    vec![
                        y.year.to_string(),
                        y.version.to_string(),
                        y.source.clone(),
                        y.loaded_by.clone(),
                    ]
                })
                .collect();
            print_table(&["年份", "版本", "依据", "载入人"], &rows);
            if list.missing_next_year != 0 {
                println!(
                    "\n注意:{}",
                    missing_year_zh(list.missing_next_year, list.provisional_deadlines)
                );
            }
        }
        CalendarCommand::Template { year } => {
            print!("{}", duban_assignment::calendar_file::template(year));
        }
        CalendarCommand::Load { file, client } => {
            let content = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let mut c = connect(&client, data_dir).await?;
            let y = c
                .load_calendar(pb::LoadCalendarRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    content,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            println!(
                "已载入{}年工作日历(第{}版,{}个节日)",
                y.year,
                y.version,
                y.holidays.len()
            );
            let empty: Vec<&str> = y
                .holidays
                .iter()
                .filter(|h| h.days.is_empty())
                .map(|h| h.name.as_str())
                .collect();
            if !empty.is_empty() {
                println!(
                    "注意:{}未填放假日期,按只有周末计算;补填后再次载入,涉及该年的时限随即重算。",
                    empty.join("、")
                );
            }
        }
    }
    Ok(())
}

/// The warning while next year is not loaded: what it means for deadlines
/// and what to do.
fn missing_year_zh(year: i32, provisional: i32) -> String {
    format!(
        "尚未载入{year}年工作日历,涉及该年的时限按每周一至周五工作推算并标“暂定”(现有{provisional}个暂定时限)。\
         请按国务院办公厅{year}年部分节假日安排通知填写 duban calendar template {year} > {year}.toml,\
         再 duban calendar load {year}.toml,暂定时限随即重算。"
    )
}

/// "2026-10-01 至 2026-10-07" for a run of days.
fn range_text(days: &[String]) -> String {
    match days {
        [] => String::new(),
        [one] => one.clone(),
        [first, .., last] => format!("{first} 至 {last}"),
    }
}

fn class_arg(s: &str) -> Result<UrgencyClass, String> {
    UrgencyClass::from_label(s).ok_or_else(|| "expected urgent, fixed_deadline, general or major".into())
}

fn time_arg(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::<FixedOffset>::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    // A bare date or date and time is court time (UTC+8).
    let beijing = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    let local = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(9, 0, 0))
        });
    local
        .and_then(|l| l.and_local_timezone(beijing).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("`{s}` is not a time (2026-09-30T10:00:00+08:00, 2026-09-30 10:00 or 2026-09-30)"))
}

#[derive(Debug, clap::Args)]
pub struct DeadlineArgs {
    /// When it is (or was) assigned: RFC 3339, or YYYY-MM-DD[ HH:MM] in court time.
    #[arg(long, value_parser = time_arg)]
    pub assigned_at: DateTime<Utc>,
    #[arg(long = "class", value_parser = class_arg)]
    pub urgency: UrgencyClass,
    /// The stated deadline, for fixed_deadline.
    #[arg(long)]
    pub deadline: Option<String>,
    /// Policy: 13710 (default) or interim.
    #[arg(long, default_value = "")]
    pub policy: String,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

pub async fn deadlines(data_dir: &Path, args: DeadlineArgs) -> anyhow::Result<()> {
    let deadline = match &args.deadline {
        Some(text) => Some(parse_date(text).with_context(|| format!("`{text}` is not a date"))?),
        None => None,
    };
    let mut c = connect(&args.client, data_dir).await?;
    let urgency = match args.urgency {
        UrgencyClass::Urgent => reg::UrgencyClass::Urgent,
        UrgencyClass::FixedDeadline => reg::UrgencyClass::FixedDeadline,
        UrgencyClass::General => reg::UrgencyClass::General,
        UrgencyClass::Major => reg::UrgencyClass::Major,
    };
    use chrono::Datelike;
    let out = c
        .compute_deadlines(pb::ComputeDeadlinesRequest {
            assigned_time: Some(prost_types::Timestamp {
                seconds: args.assigned_at.timestamp(),
                nanos: 0,
            }),
            urgency: urgency as i32,
            deadline: deadline.map(|d| reg::Date {
                year: d.year(),
                month: d.month() as i32,
                day: d.day() as i32,
            }),
            policy: args.policy.clone(),
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    let beijing = chrono_tz::Asia::Shanghai;
    if args.client.json {
        let list: Vec<_> = out
            .milestones
            .iter()
            .map(|m| {
                let due = m
                    .due_time
                    .as_ref()
                    .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, 0));
                serde_json::json!({
                    "milestone": m.kind, "label": m.label, "rule": m.rule, "due_date": date_text(&m.due_date),
                    "due_time": due.map(|t| t.with_timezone(&beijing).to_rfc3339()),
                    "provisional": m.provisional,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "policy": out.policy, "milestones": list, "calendar_versions": out.calendar_versions,
            }))?
        );
        return Ok(());
    }
    print!("{}", deadlines_text(args.assigned_at, &out));
    Ok(())
}

/// What `duban deadlines` prints: each milestone's due time, 暂定 beside
/// those counted over a year not loaded yet, and the calendar versions used.
pub fn deadlines_text(assigned_at: DateTime<Utc>, out: &pb::ComputeDeadlinesResponse) -> String {
    let beijing = chrono_tz::Asia::Shanghai;
    let mut text = format!(
        "交办时间 {}({})\n",
        assigned_at.with_timezone(&beijing).format("%Y-%m-%d %H:%M"),
        out.policy_label
    );
    let rows: Vec<Vec<String>> = out
        .milestones
        .iter()
        .map(|m| {
            vec![
                m.label.clone(),
                m.rule.clone(),
                super::assignments::due_text(&m.due_date, m.provisional),
            ]
        })
        .collect();
    text.push_str(&super::table(&["节点", "时限", "截止"], &rows));
    let versions: Vec<String> = out
        .calendar_versions
        .iter()
        .map(|(y, v)| match v {
            0 => format!("{y}年未载入(按周一至周五推算)"),
            v => format!("{y}年第{v}版"),
        })
        .collect();
    text.push_str(&format!("依据工作日历:{}\n", versions.join("、")));
    if out.milestones.iter().any(|m| m.provisional) {
        let years: Vec<String> = out
            .calendar_versions
            .iter()
            .filter(|(_, v)| **v == 0)
            .map(|(y, _)| y.to_string())
            .collect();
        text.push_str(&format!(
            "标“暂定”的时限按每周一至周五工作推算,尚未计入{}年法定节假日和调休;载入该年工作日历后自动重算。\n",
            years.join("、")
        ));
    }
    text
}
