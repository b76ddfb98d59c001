//! `duban appraisal …`: rule sets, scorecards, rankings, publishing and
//! adjustments (考评), as tables, JSON or Excel with Chinese headers.

use super::{ClientArgs, print_table, rpc_error};
use anyhow::Context;
use duban_proto::appraisal::v1 as pb;
use duban_proto::appraisal::v1::appraisal_service_client::AppraisalServiceClient;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};
use std::path::{Path, PathBuf};

pub const APPRAISAL_ENDPOINT: &str = "http://127.0.0.1:50053";

#[derive(Debug, Clone, clap::Args)]
pub struct AppraisalClientArgs {
    #[arg(long, env = "DUBAN_APPRAISAL_ENDPOINT", default_value = APPRAISAL_ENDPOINT)]
    pub endpoint: String,
    #[arg(long, env = "DUBAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub tls: super::TlsArgs,
}

type Client =
    AppraisalServiceClient<tonic::service::interceptor::InterceptedService<tonic::transport::Channel, super::Bearer>>;

async fn connect(args: &AppraisalClientArgs, data_dir: &Path) -> anyhow::Result<Client> {
    let client = ClientArgs {
        endpoint: args.endpoint.clone(),
        token: args.token.clone(),
        json: args.json,
        tls: args.tls.clone(),
    };
    let (channel, bearer) = client.channel(data_dir).await?;
    Ok(AppraisalServiceClient::with_interceptor(channel, bearer))
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A unit or a person, by code (or id).
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct SubjectArgs {
    /// A unit's code, e.g. jc-jcq.
    #[arg(long)]
    pub unit: Option<String>,
    /// A person's code (a responsible head or liaison), e.g. jiang.wenbo.
    #[arg(long)]
    pub person: Option<String>,
}

impl SubjectArgs {
    fn kind_and_subject(&self) -> (pb::SubjectKind, String) {
        match (&self.unit, &self.person) {
            (Some(u), _) => (pb::SubjectKind::Unit, u.clone()),
            (_, Some(p)) => (pb::SubjectKind::Person, p.clone()),
            _ => (pb::SubjectKind::Unspecified, String::new()),
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Group {
    /// 基层法院
    Grassroots,
    /// 中院各部门
    Department,
}

#[derive(Debug, clap::Subcommand)]
pub enum AppraisalCommand {
    /// The scoring rules: show one version, or load a new one.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// A unit's or person's scorecard: every line with the event behind it.
    Scorecard {
        #[command(flatten)]
        subject: SubjectArgs,
        /// 2026-10 (month), 2026-Q4 (quarter) or 2026 (year).
        #[arg(long)]
        period: String,
        /// Also write it to an Excel file.
        #[arg(long)]
        export: Option<PathBuf>,
        #[command(flatten)]
        client: AppraisalClientArgs,
    },
    /// Grassroots courts or departments ranked by total, ties sharing a place.
    Ranking {
        #[arg(long)]
        period: String,
        #[arg(long, value_enum)]
        kind: Group,
        /// Also write the ranking and every scorecard to an Excel file.
        #[arg(long)]
        export: Option<PathBuf>,
        #[command(flatten)]
        client: AppraisalClientArgs,
    },
    /// Freeze a finished period: its figures never change afterwards.
    Publish {
        #[arg(long)]
        period: String,
        #[command(flatten)]
        client: AppraisalClientArgs,
    },
    /// Correct a score with a reason (shown as its own line, audited).
    Adjust {
        #[command(flatten)]
        subject: SubjectArgs,
        #[arg(long)]
        period: String,
        /// Points to add (negative to deduct), e.g. 2.5 or -1.
        #[arg(long, allow_hyphen_values = true)]
        points: f64,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        client: AppraisalClientArgs,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// The rules in force today, or a given version; `--list` for every version.
    Show {
        #[arg(long, default_value_t = 0)]
        version: i32,
        /// List every version instead.
        #[arg(long)]
        list: bool,
        /// Print the rule file as loaded, comments and all.
        #[arg(long)]
        content: bool,
        #[command(flatten)]
        client: AppraisalClientArgs,
    },
    /// Load a rule file (see services/appraisal/rules/default.toml) as a new version.
    Load {
        file: PathBuf,
        /// The first day it applies (YYYY-MM-DD).
        #[arg(long)]
        from: String,
        #[command(flatten)]
        client: AppraisalClientArgs,
    },
}

fn points(x: f64) -> String {
    use duban_core::scoring::{points_from, points_plain, points_text};
    match points_from(x) {
        p if p > 0 => points_text(p),
        p => points_plain(p),
    }
}

fn state_zh(state: i32) -> &'static str {
    if state == pb::PeriodState::Published as i32 {
        "已发布"
    } else {
        "草稿"
    }
}

fn print_rule_set(r: &pb::RuleSet) {
    println!(
        "第{}版 {} · 自{}起适用{} · 基础分 {:.2}",
        r.version,
        r.name,
        r.effective_from,
        if r.locked {
            " · 已用于已发布考评期(锁定)"
        } else {
            ""
        },
        r.base
    );
    let rows: Vec<Vec<String>> = r
        .rules
        .iter()
        .map(|x| vec![x.label.clone(), points(x.points), x.description.clone()])
        .collect();
    print_table(&["规则", "分值", "说明"], &rows);
}

fn print_card(c: &pb::Scorecard) {
    let s = c.subject.clone().unwrap_or_default();
    println!(
        "{} {} 考评记分卡 · {}({}) · 规则第{}版 · 计至{}",
        s.name,
        s.code,
        c.period_label,
        state_zh(c.period_state),
        c.rule_set_version,
        c.as_of
    );
    let rows: Vec<Vec<String>> = c
        .lines
        .iter()
        .map(|l| {
            vec![
                l.day.clone(),
                l.rule_label.clone(),
                points(l.points),
                l.item_number.clone(),
                l.description.clone(),
                if l.adjustment_id.is_empty() {
                    format!("#{} {}", l.event_id, l.event_type)
                } else {
                    format!("调整 {}", l.adjustment_id)
                },
            ]
        })
        .collect();
    print_table(&["日期", "规则", "分值", "督办编号", "说明", "事件"], &rows);
    println!("基础分 {:.2}  合计 {:.2}", c.base, c.total);
}

fn card_json(c: &pb::Scorecard) -> serde_json::Value {
    let s = c.subject.clone().unwrap_or_default();
    serde_json::json!({
        "subject": {"code": s.code, "name": s.name, "id": s.id},
        "period": c.period, "state": state_zh(c.period_state), "rule_set_version": c.rule_set_version,
        "base": c.base, "total": c.total, "as_of": c.as_of,
        "lines": c.lines.iter().map(|l| serde_json::json!({
            "rule": l.rule, "points": l.points, "quantity": l.quantity, "description": l.description,
            "event_id": l.event_id, "event_type": l.event_type, "day": l.day,
            "assignment_id": l.assignment_id, "item_id": l.item_id, "item_number": l.item_number,
            "unit": l.unit_name, "provisional": l.provisional, "adjustment_id": l.adjustment_id, "author": l.author,
        })).collect::<Vec<_>>(),
    })
}

const LINE_HEADERS: [(&str, f64); 10] = [
    ("考评对象", 18.0),
    ("日期", 12.0),
    ("规则", 12.0),
    ("分值", 8.0),
    ("天数/次数", 10.0),
    ("督办编号", 16.0),
    ("承办单位", 22.0),
    ("说明", 60.0),
    ("事件编号", 10.0),
    ("交办事项ID", 38.0),
];

/// Writes the ranking (if any) and every scorecard's lines to a workbook.
fn export(
    path: &Path,
    title: &str,
    ranking: Option<&pb::ListRankingsResponse>,
    cards: &[pb::Scorecard],
) -> anyhow::Result<()> {
    let mut book = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_border(FormatBorder::Thin)
        .set_background_color("#DDEBF7");
    let title_format = Format::new().set_bold().set_font_size(14);
    let number = Format::new().set_num_format("0.00");
    if let Some(r) = ranking {
        let sheet = book.add_worksheet().set_name("排名")?;
        sheet.write_with_format(0, 0, title, &title_format)?;
        let heads = [
            ("名次", 8.0),
            ("并列", 8.0),
            ("单位", 26.0),
            ("编码", 12.0),
            ("总分", 10.0),
            ("扣分", 10.0),
            ("加分", 10.0),
        ];
        for (i, (h, w)) in heads.iter().enumerate() {
            sheet.write_with_format(1, i as u16, *h, &header)?;
            sheet.set_column_width(i as u16, *w)?;
        }
        for (n, x) in r.rankings.iter().enumerate() {
            let row = n as u32 + 2;
            let s = x.subject.clone().unwrap_or_default();
            sheet.write(row, 0, x.rank)?;
            sheet.write(row, 1, if x.tied { "是" } else { "" })?;
            sheet.write(row, 2, s.name)?;
            sheet.write(row, 3, s.code)?;
            sheet.write_with_format(row, 4, x.total, &number)?;
            sheet.write_with_format(row, 5, x.deductions, &number)?;
            sheet.write_with_format(row, 6, x.credits, &number)?;
        }
        sheet.set_freeze_panes(2, 0)?;
    }
    let sheet = book.add_worksheet().set_name("记分明细")?;
    sheet.write_with_format(0, 0, title, &title_format)?;
    for (i, (h, w)) in LINE_HEADERS.iter().enumerate() {
        sheet.write_with_format(1, i as u16, *h, &header)?;
        sheet.set_column_width(i as u16, *w)?;
    }
    let mut row = 2u32;
    for c in cards {
        let s = c.subject.clone().unwrap_or_default();
        sheet.write(row, 0, &s.name)?;
        sheet.write(row, 2, "基础分")?;
        sheet.write_with_format(row, 3, c.base, &number)?;
        row += 1;
        for l in &c.lines {
            sheet.write(row, 0, &s.name)?;
            sheet.write(row, 1, &l.day)?;
            sheet.write(row, 2, &l.rule_label)?;
            sheet.write_with_format(row, 3, l.points, &number)?;
            sheet.write(row, 4, l.quantity)?;
            sheet.write(row, 5, &l.item_number)?;
            sheet.write(row, 6, &l.unit_name)?;
            sheet.write(row, 7, &l.description)?;
            if l.adjustment_id.is_empty() {
                sheet.write(row, 8, l.event_id)?;
            }
            sheet.write(row, 9, &l.assignment_id)?;
            row += 1;
        }
        sheet.write(row, 0, &s.name)?;
        sheet.write_with_format(row, 2, "合计", &Format::new().set_bold())?;
        sheet.write_with_format(row, 3, c.total, &number)?;
        row += 1;
    }
    sheet.set_freeze_panes(2, 0)?;
    sheet.autofilter(1, 0, row.max(3) - 1, LINE_HEADERS.len() as u16 - 1)?;
    book.save(path).with_context(|| format!("writing {}", path.display()))?;
    println!("已导出 {}", path.display());
    Ok(())
}

pub async fn run(data_dir: &Path, command: AppraisalCommand) -> anyhow::Result<()> {
    match command {
        AppraisalCommand::Rules { command } => rules(data_dir, command).await,
        AppraisalCommand::Scorecard {
            subject,
            period,
            export: out,
            client,
        } => {
            let mut c = connect(&client, data_dir).await?;
            let (kind, subject) = subject.kind_and_subject();
            let card = c
                .get_scorecard(pb::GetScorecardRequest {
                    subject_kind: kind as i32,
                    subject,
                    period,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            if client.json {
                println!("{}", serde_json::to_string_pretty(&card_json(&card))?);
            } else {
                print_card(&card);
            }
            if let Some(path) = out {
                let s = card.subject.clone().unwrap_or_default();
                export(
                    &path,
                    &format!("{} {}考评记分卡", s.name, card.period_label),
                    None,
                    &[card],
                )?;
            }
            Ok(())
        }
        AppraisalCommand::Ranking {
            period,
            kind,
            export: out,
            client,
        } => {
            let mut c = connect(&client, data_dir).await?;
            let group = match kind {
                Group::Grassroots => pb::UnitGroup::GrassrootsCourts,
                Group::Department => pb::UnitGroup::Departments,
            };
            let ranking = c
                .list_rankings(pb::ListRankingsRequest {
                    period: period.clone(),
                    group: group as i32,
                    page_size: 500,
                    ..Default::default()
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            let group_zh = match kind {
                Group::Grassroots => "基层法院",
                Group::Department => "中院各部门",
            };
            if client.json {
                let v: Vec<_> = ranking
                    .rankings
                    .iter()
                    .map(|r| {
                        let s = r.subject.clone().unwrap_or_default();
                        serde_json::json!({"rank": r.rank, "tied": r.tied, "code": s.code, "name": s.name,
                            "total": r.total, "deductions": r.deductions, "credits": r.credits})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{} {}考评排名({})", period, group_zh, state_zh(ranking.period_state));
                let rows: Vec<Vec<String>> = ranking
                    .rankings
                    .iter()
                    .map(|r| {
                        let s = r.subject.clone().unwrap_or_default();
                        vec![
                            format!("{}{}", r.rank, if r.tied { "(并列)" } else { "" }),
                            s.name,
                            format!("{:.2}", r.total),
                            points(r.deductions),
                            points(r.credits),
                        ]
                    })
                    .collect();
                print_table(&["名次", "单位", "总分", "扣分", "加分"], &rows);
            }
            if let Some(path) = out {
                let cards = c
                    .list_scorecards(pb::ListScorecardsRequest {
                        period: period.clone(),
                        group: group as i32,
                        page_size: 500,
                        ..Default::default()
                    })
                    .await
                    .map_err(rpc_error)?
                    .into_inner()
                    .scorecards;
                export(&path, &format!("{period} {group_zh}考评排名"), Some(&ranking), &cards)?;
            }
            Ok(())
        }
        AppraisalCommand::Publish { period, client } => {
            let mut c = connect(&client, data_dir).await?;
            let p = c
                .publish_period(pb::PublishPeriodRequest {
                    request_id: request_id(),
                    key: period,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            println!("{}已发布(规则第{}版),考评结果冻结", p.label, p.rule_set_version);
            Ok(())
        }
        AppraisalCommand::Adjust {
            subject,
            period,
            points: value,
            reason,
            client,
        } => {
            let mut c = connect(&client, data_dir).await?;
            let (kind, subject) = subject.kind_and_subject();
            let a = c
                .adjust_score(pb::AdjustScoreRequest {
                    request_id: request_id(),
                    period,
                    subject_kind: kind as i32,
                    subject,
                    points: value,
                    reason,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            let s = a.subject.unwrap_or_default();
            println!(
                "{} {} 调整 {}:{}(调整人 {})",
                a.period,
                s.name,
                points(a.points),
                a.reason,
                a.author
            );
            Ok(())
        }
    }
}

async fn rules(data_dir: &Path, command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::Show {
            version,
            list,
            content,
            client,
        } => {
            let mut c = connect(&client, data_dir).await?;
            let sets = if list {
                c.list_rule_sets(pb::ListRuleSetsRequest {})
                    .await
                    .map_err(rpc_error)?
                    .into_inner()
                    .rule_sets
            } else {
                vec![
                    c.get_rule_set(pb::GetRuleSetRequest { version })
                        .await
                        .map_err(rpc_error)?
                        .into_inner(),
                ]
            };
            for r in &sets {
                if client.json {
                    let v = serde_json::json!({"version": r.version, "name": r.name, "effective_from": r.effective_from,
                        "locked": r.locked, "base": r.base,
                        "rules": r.rules.iter().map(|x| serde_json::json!({"code": x.code, "points": x.points, "description": x.description})).collect::<Vec<_>>()});
                    println!("{}", serde_json::to_string_pretty(&v)?);
                } else if content {
                    print!("{}", r.content);
                } else {
                    print_rule_set(r);
                }
            }
            Ok(())
        }
        RulesCommand::Load { file, from, client } => {
            let content = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let mut c = connect(&client, data_dir).await?;
            let r = c
                .load_rule_set(pb::LoadRuleSetRequest {
                    request_id: request_id(),
                    content,
                    effective_from: from,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print_rule_set(&r);
            Ok(())
        }
    }
}
