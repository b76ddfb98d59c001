//! `duban report …`: preview any report for any period, the archive, issuing
//! and sending again, and the schedules (reporting service, port 50054).

use super::{ClientArgs, print_table, rpc_error};
use anyhow::Context;
use duban_proto::reporting::v1 as pb;
use duban_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use std::path::{Path, PathBuf};

/// The reporting service's default endpoint.
pub const REPORTING_ENDPOINT: &str = "http://127.0.0.1:50054";

#[derive(Debug, Clone, clap::Args)]
pub struct ReportClientArgs {
    #[arg(long, env = "DUBAN_REPORTING_ENDPOINT", default_value = REPORTING_ENDPOINT)]
    pub endpoint: String,
    #[arg(long, env = "DUBAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub tls: super::TlsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Text,
    Xlsx,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// Render a report for any period now, without archiving or sending it.
    Preview {
        /// weekly, friday, monthly, quarterly or annual.
        kind: String,
        /// 2026-10 (monthly), 2026-W42 or a date (weekly, friday), 2026-Q3, 2026.
        #[arg(long)]
        period: String,
        #[arg(long, value_enum, default_value = "html")]
        format: Format,
        /// Where to write it; standard output when absent (html and text).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The court (code, e.g. jczy, or id); default the first court with a ledger.
        #[arg(long)]
        court: Option<String>,
        /// For the Friday reminder: the unit (code, e.g. jczy-zxj, or id); default the first with open assignments.
        #[arg(long)]
        unit: Option<String>,
        #[command(flatten)]
        client: ReportClientArgs,
    },
    /// The archive (归档), newest first.
    List {
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        period: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i32,
        #[command(flatten)]
        client: ReportClientArgs,
    },
    /// One archived report: its deliveries, or its rendering with --out.
    Get {
        id: String,
        /// Write the archived rendering (html or text) here.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "html")]
        format: Format,
        #[command(flatten)]
        client: ReportClientArgs,
    },
    /// Issue a report now, outside its schedule: archived and e-mailed.
    /// Once per period; again only as a corrected reissue (更正).
    Issue {
        kind: String,
        #[arg(long)]
        period: String,
        /// 更正重发: replace the period's report already issued, with its own 文号
        #[arg(long, requires = "reason")]
        correction: bool,
        /// 更正原因 (with --correction)
        #[arg(long, requires = "correction")]
        reason: Option<String>,
        #[command(flatten)]
        client: ReportClientArgs,
    },
    /// Send an archived report again: its failed deliveries, or all with --include-sent.
    Send {
        id: String,
        #[arg(long)]
        include_sent: bool,
        #[command(flatten)]
        client: ReportClientArgs,
    },
    /// When each kind of report is issued, and when next.
    Schedules {
        #[command(flatten)]
        client: ReportClientArgs,
    },
}

type Client =
    ReportingServiceClient<tonic::service::interceptor::InterceptedService<tonic::transport::Channel, super::Bearer>>;

async fn connect(args: &ReportClientArgs, data_dir: &Path) -> anyhow::Result<Client> {
    let (channel, bearer) = ClientArgs {
        endpoint: args.endpoint.clone(),
        token: args.token.clone(),
        json: args.json,
        tls: args.tls.clone(),
    }
    .channel(data_dir)
    .await?;
    Ok(ReportingServiceClient::with_interceptor(channel, bearer).max_decoding_message_size(256 * 1024 * 1024))
}

fn kind(text: &str) -> anyhow::Result<i32> {
    if text == duban_reporting::notices::KIND {
        return Ok(pb::ReportKind::Notice as i32);
    }
    let k = duban_reporting::period::ReportKind::from_code(text).with_context(|| {
        format!("`{text}` is not a report kind (weekly, friday, monthly, quarterly, annual, notice)")
    })?;
    Ok(duban_reporting::service::kind_to(k) as i32)
}

fn kind_name(value: i32) -> &'static str {
    if value == pb::ReportKind::Notice as i32 {
        return "督办通知";
    }
    duban_reporting::service::kind_from(value)
        .map(|k| k.label_zh())
        .unwrap_or("")
}

fn time(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

fn state(value: i32) -> &'static str {
    match pb::DeliveryState::try_from(value).unwrap_or_default() {
        pb::DeliveryState::Pending => "待发送",
        pb::DeliveryState::Sending => "发送中",
        pb::DeliveryState::Sent => "已送达",
        pb::DeliveryState::Failed => "发送失败",
        pb::DeliveryState::Skipped => "未发送(已过时效)",
        pb::DeliveryState::Unspecified => "",
    }
}

fn write_out(out: &Option<PathBuf>, bytes: &[u8]) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("written {} ({} bytes)", path.display(), bytes.len());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(bytes)?;
        }
    }
    Ok(())
}

fn print_report(r: &pb::Report) {
    println!("{} {}", r.number, r.title);
    println!(
        "{} · {} · 印发 {} · {}",
        kind_name(r.kind),
        r.period,
        time(&r.issued_time),
        r.issued_by
    );
    if !r.attachments.is_empty() {
        println!("附件:{}", r.attachments.join("、"));
    }
    if !r.replaces_id.is_empty() {
        println!("更正重发,替代通报 {}。更正原因:{}", r.replaces_id, r.correction_reason);
    }
    let rows: Vec<Vec<String>> = r
        .deliveries
        .iter()
        .map(|d| {
            vec![
                d.recipient_name.clone(),
                d.recipient_email.clone(),
                state(d.state).into(),
                d.attempts.to_string(),
                time(&d.sent_time),
                d.last_error.clone(),
            ]
        })
        .collect();
    print_table(&["收件人", "邮箱", "状态", "尝试", "送达时间", "错误"], &rows);
}

pub async fn run(data_dir: &Path, command: ReportCommand) -> anyhow::Result<()> {
    let request_id = uuid::Uuid::new_v4().to_string();
    match command {
        ReportCommand::Preview {
            kind: k,
            period,
            format,
            out,
            court,
            unit,
            client,
        } => {
            if format == Format::Xlsx && out.is_none() {
                anyhow::bail!("--format xlsx needs --out FILE");
            }
            let mut c = connect(&client, data_dir).await?;
            let preview = c
                .preview_report(pb::PreviewReportRequest {
                    kind: kind(&k)?,
                    period,
                    court_id: court.unwrap_or_default(),
                    unit_id: unit.unwrap_or_default(),
                    format: match format {
                        Format::Html => pb::PreviewFormat::Html,
                        Format::Text => pb::PreviewFormat::Text,
                        Format::Xlsx => pb::PreviewFormat::Xlsx,
                    } as i32,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            match format {
                Format::Html => write_out(&out, preview.html.as_bytes())?,
                Format::Text => write_out(&out, preview.text.as_bytes())?,
                Format::Xlsx => write_out(&out, &preview.xlsx)?,
            }
        }
        ReportCommand::List {
            kind: k,
            period,
            limit,
            client,
        } => {
            let mut c = connect(&client, data_dir).await?;
            let list = c
                .list_reports(pb::ListReportsRequest {
                    page_size: limit,
                    page_token: String::new(),
                    kind: k.as_deref().map(kind).transpose()?.unwrap_or_default(),
                    period: period.unwrap_or_default(),
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            if client.json {
                let v: Vec<_> = list
                    .reports
                    .iter()
                    .map(|r| {
                        serde_json::json!({"id": r.id, "kind": kind_name(r.kind), "period": r.period, "number": r.number,
                            "title": r.title, "issued": time(&r.issued_time),
                            "sent": r.deliveries.iter().filter(|d| d.state == pb::DeliveryState::Sent as i32).count(),
                            "recipients": r.deliveries.len()})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .reports
                .iter()
                .map(|r| {
                    let count =
                        |state: pb::DeliveryState| r.deliveries.iter().filter(|d| d.state == state as i32).count();
                    let (sent, failed, skipped) = (
                        count(pb::DeliveryState::Sent),
                        count(pb::DeliveryState::Failed),
                        count(pb::DeliveryState::Skipped),
                    );
                    vec![
                        time(&r.issued_time),
                        kind_name(r.kind).into(),
                        r.period.clone(),
                        r.title.clone(),
                        format!(
                            "{sent}/{}{}",
                            r.deliveries.len(),
                            match (failed, skipped) {
                                (0, 0) => String::new(),
                                (f, 0) => format!(" (失败{f})"),
                                (0, k) => format!(" (过时未发{k})"),
                                (f, k) => format!(" (失败{f},过时未发{k})"),
                            }
                        ),
                        r.id.clone(),
                    ]
                })
                .collect();
            print_table(&["印发时间", "种类", "期间", "标题", "送达", "ID"], &rows);
        }
        ReportCommand::Get {
            id,
            out,
            format,
            client,
        } => {
            let mut c = connect(&client, data_dir).await?;
            let r = c
                .get_report(pb::GetReportRequest { id })
                .await
                .map_err(rpc_error)?
                .into_inner();
            if out.is_some() {
                match format {
                    Format::Text => write_out(&out, r.text.as_bytes())?,
                    _ => write_out(&out, r.html.as_bytes())?,
                }
            } else if client.json {
                println!("{}", r.snapshot_json);
            } else {
                print_report(&r);
            }
        }
        ReportCommand::Issue {
            kind: k,
            period,
            correction,
            reason,
            client,
        } => {
            let mut c = connect(&client, data_dir).await?;
            let out = c
                .issue_report(pb::IssueReportRequest {
                    request_id,
                    kind: kind(&k)?,
                    period,
                    court_id: String::new(),
                    correction,
                    reason: reason.unwrap_or_default(),
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            for r in &out.reports {
                print_report(r);
                println!("ID {}", r.id);
            }
        }
        ReportCommand::Send {
            id,
            include_sent,
            client,
        } => {
            let mut c = connect(&client, data_dir).await?;
            let r = c
                .send_report(pb::SendReportRequest {
                    request_id,
                    id,
                    include_sent,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print_report(&r);
        }
        ReportCommand::Schedules { client } => {
            let mut c = connect(&client, data_dir).await?;
            let list = c
                .list_schedules(pb::ListSchedulesRequest {})
                .await
                .map_err(rpc_error)?
                .into_inner();
            let rows: Vec<Vec<String>> = list
                .schedules
                .iter()
                .map(|s| {
                    vec![
                        kind_name(s.kind).into(),
                        s.rule.clone(),
                        if s.enabled { "启用" } else { "停用" }.into(),
                        format!(
                            "{}{}",
                            time(&s.next_time),
                            if s.next_provisional {
                                duban_core::calendar::PROVISIONAL_MARK_ZH
                            } else {
                                ""
                            }
                        ),
                        s.next_period.clone(),
                        s.next_note.clone(),
                    ]
                })
                .collect();
            print_table(
                &["种类", "规则(法院当地时间)", "状态", "下次印发", "期间", "说明"],
                &rows,
            );
        }
    }
    Ok(())
}
