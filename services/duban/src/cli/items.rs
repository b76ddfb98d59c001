//! `duban sources …`, `duban items …` and `duban ledger …`: drafting,
//! approving, decomposing and searching items, and the Excel ledger.

use super::{ClientArgs, print_table, rpc_error};
use crate::ledger_xlsx::{self, LedgerWriter};
use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDate};
use duban_core::item::{DecompositionLevel, RegistrationState, SourceKind, UrgencyClass, parse_date};
use duban_proto::registry::v1 as pb;
use duban_proto::registry::v1::registry_service_client::RegistryServiceClient;
use duban_registry::items::convert as conv;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub type Client = RegistryServiceClient<InterceptedService<Channel, super::Bearer>>;

async fn client(args: &ClientArgs, data_dir: &Path) -> anyhow::Result<Client> {
    let (channel, bearer) = args.channel(data_dir).await?;
    Ok(RegistryServiceClient::with_interceptor(channel, bearer)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20))
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn date_arg(s: &str) -> Result<NaiveDate, String> {
    parse_date(s).ok_or_else(|| format!("`{s}` is not a date (2026-03-05, 2026/3/5 or 2026年3月5日)"))
}

fn class_arg(s: &str) -> Result<UrgencyClass, String> {
    UrgencyClass::from_label(s).ok_or_else(|| {
        "expected urgent, fixed_deadline, general, major (或 紧急特办、限期办理、一般事项、重大复杂事项)".into()
    })
}

fn kind_arg(s: &str) -> Result<SourceKind, String> {
    SourceKind::from_label(s).ok_or_else(|| {
        let codes: Vec<&str> = SourceKind::ALL.iter().map(|k| k.code()).collect();
        format!("expected one of {}", codes.join(", "))
    })
}

fn state_arg(s: &str) -> Result<RegistrationState, String> {
    RegistrationState::from_label(s).ok_or_else(|| "expected draft, pending_approval or registered".into())
}

fn date_msg(d: NaiveDate) -> pb::Date {
    pb::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// "执行结案=400件" → what 执行结案, 400, 件.
fn target_arg(s: &str) -> Result<pb::Target, String> {
    let (what, rest) = s
        .split_once('=')
        .ok_or("a target is WHAT=VALUE[UNIT], e.g. 执行结案=400件")?;
    let split = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let value: f64 = rest[..split]
        .parse()
        .map_err(|_| format!("`{rest}` does not start with a number"))?;
    Ok(pb::Target {
        what: what.trim().into(),
        target_value: value,
        unit_of_measure: rest[split..].trim().into(),
    })
}

/// Units and people by id, code or name, as the CLI lets people type them.
struct Directory {
    units: Vec<pb::Unit>,
    people: Vec<pb::Person>,
}

impl Directory {
    async fn load(client: &mut Client) -> anyhow::Result<Self> {
        let mut units = Vec::new();
        let mut token = String::new();
        loop {
            let page = client
                .list_units(pb::ListUnitsRequest {
                    page_size: 500,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            units.extend(page.units);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let mut people = Vec::new();
        let mut token = String::new();
        loop {
            let page = client
                .list_people(pb::ListPeopleRequest {
                    page_size: 500,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            people.extend(page.people);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        Ok(Self { units, people })
    }

    fn unit(&self, text: &str) -> anyhow::Result<String> {
        let found: Vec<&pb::Unit> = self
            .units
            .iter()
            .filter(|u| u.id == text || u.code == text || u.name == text || u.short_name == text)
            .collect();
        match found.as_slice() {
            [one] => Ok(one.id.clone()),
            [] => bail!("no unit `{text}` (give its code, name or id; `duban org units` lists them)"),
            _ => bail!("`{text}` names several units; give its code"),
        }
    }

    fn person(&self, text: &str) -> anyhow::Result<String> {
        let found: Vec<&pb::Person> = self
            .people
            .iter()
            .filter(|p| p.id == text || p.code == text || p.name == text)
            .collect();
        match found.as_slice() {
            [one] => Ok(one.id.clone()),
            [] => bail!("no person `{text}` (give their code, name or id; `duban org people` lists them)"),
            _ => bail!("`{text}` names several people; give their code"),
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum SourceCommand {
    /// Register a source document (批示, 会议纪要, 工作会议…).
    Create {
        #[arg(long, value_parser = kind_arg)]
        kind: SourceKind,
        #[arg(long)]
        title: String,
        /// 文号 / 纪要号
        #[arg(long, default_value = "")]
        doc_number: String,
        #[arg(long, value_parser = date_arg)]
        date: Option<NaiveDate>,
        #[arg(long, default_value = "")]
        issuer: String,
        #[arg(long, default_value = "")]
        oa_link: String,
        /// A decision of the minutes (repeatable, in order).
        #[arg(long = "decision")]
        decisions: Vec<String>,
        /// The court (code or id); defaults to the caller's court.
        #[arg(long)]
        court: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    List {
        #[arg(long, value_parser = kind_arg)]
        kind: Option<SourceKind>,
        #[command(flatten)]
        client: ClientArgs,
    },
    Get {
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// The ledger's filters, shared by `items list` and `ledger export`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Filters {
    #[arg(long, value_parser = kind_arg)]
    pub source_kind: Option<SourceKind>,
    #[arg(long)]
    pub source: Option<String>,
    /// Lead or co-unit (code, name or id).
    #[arg(long)]
    pub unit: Option<String>,
    /// Supervising leader (code, name or id).
    #[arg(long)]
    pub leader: Option<String>,
    #[arg(long = "class", value_parser = class_arg)]
    pub urgency: Option<UrgencyClass>,
    #[arg(long, value_parser = state_arg)]
    pub state: Option<RegistrationState>,
    #[arg(long, value_parser = date_arg)]
    pub registered_from: Option<NaiveDate>,
    #[arg(long, value_parser = date_arg)]
    pub registered_to: Option<NaiveDate>,
    #[arg(long, value_parser = date_arg)]
    pub deadline_from: Option<NaiveDate>,
    #[arg(long, value_parser = date_arg)]
    pub deadline_to: Option<NaiveDate>,
    #[arg(long)]
    pub tag: Option<String>,
    /// Text in the title or requirements (Chinese works).
    #[arg(long)]
    pub text: Option<String>,
    /// Only the sub-items of this item.
    #[arg(long)]
    pub parent: Option<String>,
    #[arg(long)]
    pub top_level: bool,
    #[arg(long)]
    pub newest_first: bool,
}

impl Filters {
    fn request(&self, dir: Option<&Directory>) -> anyhow::Result<pb::ListItemsRequest> {
        let range = |from: Option<NaiveDate>, to: Option<NaiveDate>| {
            (from.is_some() || to.is_some()).then(|| pb::DateRange {
                from: from.map(date_msg),
                to: to.map(date_msg),
            })
        };
        let resolve = |text: &Option<String>, unit: bool| -> anyhow::Result<String> {
            match (text, dir) {
                (None, _) => Ok(String::new()),
                (Some(t), Some(d)) if unit => d.unit(t),
                (Some(t), Some(d)) => d.person(t),
                (Some(t), None) => Ok(t.clone()),
            }
        };
        Ok(pb::ListItemsRequest {
            source_kind: self
                .source_kind
                .map(|k| conv::source_kind(k) as i32)
                .unwrap_or_default(),
            source_id: self.source.clone().unwrap_or_default(),
            unit_id: resolve(&self.unit, true)?,
            supervising_leader_id: resolve(&self.leader, false)?,
            urgency: self.urgency.map(|c| conv::urgency(c) as i32).unwrap_or_default(),
            state: self.state.map(|s| conv::state(s) as i32).unwrap_or_default(),
            registered: range(self.registered_from, self.registered_to),
            deadline: range(self.deadline_from, self.deadline_to),
            tag: self.tag.clone().unwrap_or_default(),
            text: self.text.clone().unwrap_or_default(),
            parent_id: self.parent.clone().unwrap_or_default(),
            top_level_only: self.top_level,
            order: if self.newest_first {
                pb::SortOrder::NewestFirst as i32
            } else {
                pb::SortOrder::OldestFirst as i32
            },
            ..Default::default()
        })
    }

    fn needs_directory(&self) -> bool {
        self.unit.is_some() || self.leader.is_some()
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum ItemCommand {
    /// Draft an item (草稿); submit it for approval with `items submit`.
    Create {
        #[arg(long)]
        title: String,
        /// 办理要求
        #[arg(long, default_value = "")]
        requirements: String,
        /// Source id (`duban sources create` registers one).
        #[arg(long)]
        source: String,
        #[arg(long = "class", value_parser = class_arg)]
        urgency: UrgencyClass,
        /// Why this class (定级理由).
        #[arg(long)]
        reason: String,
        /// Lead unit (主办单位): code, name or id.
        #[arg(long)]
        lead: String,
        /// Co-unit (协办单位), repeatable.
        #[arg(long = "co")]
        co: Vec<String>,
        /// Supervising leader (分管领导).
        #[arg(long)]
        leader: Option<String>,
        /// Deadline, for fixed_deadline items.
        #[arg(long, value_parser = date_arg)]
        deadline: Option<NaiveDate>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Quantified target, repeatable: WHAT=VALUE[UNIT], e.g. 执行结案=400件.
        #[arg(long = "target", value_parser = target_arg)]
        targets: Vec<pb::Target>,
        /// Keep it on the ledger with periodic stage reports (持续关注).
        #[arg(long)]
        continuing: bool,
        #[arg(long)]
        court: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    Get {
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The ledger, filtered.
    List {
        #[command(flatten)]
        filters: Filters,
        /// At most this many items.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Submit a draft for approval.
    Submit {
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Approve (立项); optionally change the class, giving the reason.
    Approve {
        id: String,
        #[arg(long = "class", value_parser = class_arg)]
        urgency: Option<UrgencyClass>,
        #[arg(long, default_value = "")]
        reason: String,
        #[arg(long, value_parser = date_arg)]
        deadline: Option<NaiveDate>,
        #[arg(long, default_value = "")]
        comment: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Send back to draft with a comment.
    Reject {
        id: String,
        #[arg(long)]
        comment: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Split into sub-items. Each spec is REF=TITLE (unit or person by code or
    /// name) or TITLE for projects, optionally followed by |WHAT=VALUE[UNIT] targets.
    Decompose {
        id: String,
        /// 分解到单位: UNIT=TITLE[|target…]
        #[arg(long = "unit")]
        units: Vec<String>,
        /// 具体到项目: TITLE[|target…]
        #[arg(long = "project")]
        projects: Vec<String>,
        /// 落实到岗位: PERSON=TITLE[|target…]
        #[arg(long = "post")]
        posts: Vec<String>,
        /// 量化到个人: PERSON=TITLE[|target…]
        #[arg(long = "person")]
        persons: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// One draft per selected decision of a minutes source.
    FromDecisions {
        source: String,
        /// Decision numbers (1, 2, …), repeatable.
        #[arg(long = "decision", required = true)]
        decisions: Vec<i32>,
        #[arg(long = "class", value_parser = class_arg)]
        urgency: UrgencyClass,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        lead: String,
        #[arg(long = "co")]
        co: Vec<String>,
        #[arg(long)]
        leader: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum LedgerCommand {
    /// Write the ledger as an .xlsx 督办台账.
    Export {
        #[arg(long)]
        out: PathBuf,
        /// Title line of the sheet.
        #[arg(long, default_value = "督查督办事项台账")]
        title: String,
        /// At most this many items.
        #[arg(long)]
        limit: Option<usize>,
        #[command(flatten)]
        filters: Filters,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Import an existing Excel ledger; any bad row and nothing is imported.
    Import {
        file: PathBuf,
        /// Check every row and report, import nothing.
        #[arg(long)]
        dry_run: bool,
        /// The court whose ledger it is (code or id); defaults to the caller's.
        #[arg(long)]
        court: Option<String>,
        /// The assignment service, which takes over the ledger's follow-up.
        #[arg(long, env = "DUBAN_ASSIGNMENT_ENDPOINT", default_value = super::calendar::ASSIGNMENT_ENDPOINT)]
        assignment_endpoint: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn label<T: Copy>(value: Option<T>, f: fn(T) -> &'static str) -> &'static str {
    value.map(f).unwrap_or("")
}

fn item_row(i: &pb::Item) -> Vec<String> {
    vec![
        if i.number.is_empty() {
            "—".into()
        } else {
            i.number.clone()
        },
        i.title.clone(),
        label(conv::urgency_from(i.urgency), UrgencyClass::label_zh).into(),
        i.lead_unit_name.clone(),
        match &i.status {
            // Under follow-up: where the follow-up stands.
            Some(s) if !s.state_label.is_empty() => s.state_label.clone(),
            _ => label(conv::state_from(i.state), RegistrationState::label_zh).into(),
        },
        i.id.clone(),
    ]
}

fn item_json(i: &pb::Item) -> serde_json::Value {
    serde_json::json!({
        "id": i.id, "number": i.number, "title": i.title, "requirements": i.requirements,
        "source_id": i.source_id, "source_kind": label(conv::source_kind_from(i.source_kind), SourceKind::code),
        "source_doc_number": i.source_doc_number,
        "urgency": label(conv::urgency_from(i.urgency), UrgencyClass::code), "urgency_reason": i.urgency_reason,
        "deadline": i.deadline.as_ref().map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)),
        "lead_unit": i.lead_unit_name, "co_units": i.co_unit_names, "supervising_leader": i.supervising_leader_name,
        "head": i.lead_unit_head_name, "liaison": i.lead_unit_liaison_name,
        "tags": i.tags,
        "targets": i.targets.iter().map(|t| serde_json::json!({"what": t.what, "value": t.target_value, "unit": t.unit_of_measure})).collect::<Vec<_>>(),
        "state": label(conv::state_from(i.state), RegistrationState::code),
        "review_comment": i.review_comment, "reviewed_by": i.reviewed_by,
        "parent_id": i.parent_id, "level": label(conv::level_from(i.level), DecompositionLevel::code),
        "assignee": i.assignee_person_name,
        "rollup": i.rollup.as_ref().map(|r| serde_json::json!({
            "children": r.children, "descendants": r.descendants,
            "targets": r.targets.iter().map(|t| serde_json::json!({"what": t.what, "total": t.total, "unit": t.unit_of_measure, "items": t.items})).collect::<Vec<_>>(),
        })),
        "etag": i.etag,
    })
}

fn print_item(i: &pb::Item, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(&item_json(i)).unwrap_or_default());
        return;
    }
    let line = |k: &str, v: String| {
        if !v.is_empty() {
            println!("{}{v}", super::pad(k, 10));
        }
    };
    line("编号", i.number.clone());
    line("事项", i.title.clone());
    line("要求", i.requirements.clone());
    line(
        "来源",
        format!(
            "{} {}",
            label(conv::source_kind_from(i.source_kind), SourceKind::label_zh),
            i.source_doc_number
        )
        .trim()
        .to_owned(),
    );
    line(
        "紧急程度",
        format!(
            "{}({})",
            label(conv::urgency_from(i.urgency), UrgencyClass::label_zh),
            i.urgency_reason
        ),
    );
    if let Some(d) = &i.deadline {
        line("办理时限", format!("{:04}-{:02}-{:02}", d.year, d.month, d.day));
    }
    line(
        "主办单位",
        format!(
            "{}(责任人 {},联络员 {})",
            i.lead_unit_name, i.lead_unit_head_name, i.lead_unit_liaison_name
        ),
    );
    line("协办单位", i.co_unit_names.join("、"));
    line("分管领导", i.supervising_leader_name.clone());
    line("承办人", i.assignee_person_name.clone());
    line(
        "状态",
        label(conv::state_from(i.state), RegistrationState::label_zh).to_owned(),
    );
    line("审批意见", i.review_comment.clone());
    for t in &i.targets {
        line("指标", format!("{} {}{}", t.what, t.target_value, t.unit_of_measure));
    }
    if let Some(r) = &i.rollup {
        if r.children > 0 {
            line("分解", format!("下级事项 {} 项,共 {} 项", r.children, r.descendants));
            for t in &r.targets {
                line(
                    "汇总指标",
                    format!("{} {}{}(来自 {} 项)", t.what, t.total, t.unit_of_measure, t.items),
                );
            }
        }
    }
    line("ID", i.id.clone());
}

pub async fn sources(data_dir: &Path, command: SourceCommand) -> anyhow::Result<()> {
    match command {
        SourceCommand::Create {
            kind,
            title,
            doc_number,
            date,
            issuer,
            oa_link,
            decisions,
            court,
            client: args,
        } => {
            let mut c = client(&args, data_dir).await?;
            let court_id = match court {
                Some(court) => Directory::load(&mut c).await?.unit(&court)?,
                None => String::new(),
            };
            let source = c
                .create_source(pb::CreateSourceRequest {
                    request_id: request_id(),
                    source: Some(pb::Source {
                        kind: conv::source_kind(kind) as i32,
                        title,
                        doc_number,
                        doc_date: date.map(date_msg),
                        issuer,
                        oa_link,
                        decisions: decisions
                            .into_iter()
                            .map(|text| pb::Decision {
                                text,
                                ..Default::default()
                            })
                            .collect(),
                        court_id,
                        ..Default::default()
                    }),
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print_source(&source, args.json);
        }
        SourceCommand::List { kind, client: args } => {
            let mut c = client(&args, data_dir).await?;
            let list = c
                .list_sources(pb::ListSourcesRequest {
                    page_size: 500,
                    kind: kind.map(|k| conv::source_kind(k) as i32).unwrap_or_default(),
                    ..Default::default()
                })
                .await
                .map_err(rpc_error)?
                .into_inner()
                .sources;
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|s| {
                    vec![
                        label(conv::source_kind_from(s.kind), SourceKind::label_zh).into(),
                        s.title.clone(),
                        s.doc_number.clone(),
                        s.decisions.len().to_string(),
                        s.id.clone(),
                    ]
                })
                .collect();
            print_table(&["类别", "标题", "文号", "决定事项", "ID"], &rows);
        }
        SourceCommand::Get { id, client: args } => {
            let mut c = client(&args, data_dir).await?;
            let source = c
                .get_source(pb::GetSourceRequest { id })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print_source(&source, args.json);
        }
    }
    Ok(())
}

fn print_source(s: &pb::Source, json: bool) {
    if json {
        let v = serde_json::json!({
            "id": s.id, "kind": label(conv::source_kind_from(s.kind), SourceKind::code), "title": s.title,
            "doc_number": s.doc_number, "issuer": s.issuer, "oa_link": s.oa_link, "court_id": s.court_id,
            "decisions": s.decisions.iter().map(|d| serde_json::json!({"id": d.id, "seq": d.seq, "text": d.text, "item_ids": d.item_ids})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    println!(
        "{} {} {}",
        label(conv::source_kind_from(s.kind), SourceKind::label_zh),
        s.title,
        s.doc_number
    );
    for d in &s.decisions {
        println!(
            "  {}. {}{}",
            d.seq,
            d.text,
            if d.item_ids.is_empty() { "" } else { "(已立项)" }
        );
    }
    println!("ID {}", s.id);
}

/// Reads "REF=TITLE|target|target" into its parts.
fn sub_item(spec: &str, with_ref: bool) -> anyhow::Result<(Option<String>, String, Vec<pb::Target>)> {
    let mut parts = spec.split('|');
    let head = parts.next().unwrap_or_default();
    let (reference, title) = if with_ref {
        let (r, t) = head
            .split_once('=')
            .with_context(|| format!("`{spec}`: expected REF=TITLE"))?;
        (Some(r.trim().to_owned()), t.trim().to_owned())
    } else {
        (None, head.trim().to_owned())
    };
    let targets = parts
        .map(target_arg)
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    Ok((reference, title, targets))
}

pub async fn items(data_dir: &Path, command: ItemCommand) -> anyhow::Result<()> {
    match command {
        ItemCommand::Create {
            title,
            requirements,
            source,
            urgency,
            reason,
            lead,
            co,
            leader,
            deadline,
            tags,
            targets,
            continuing,
            court,
            client: args,
        } => {
            let mut c = client(&args, data_dir).await?;
            let dir = Directory::load(&mut c).await?;
            let item = pb::Item {
                title,
                requirements,
                source_id: source,
                urgency: conv::urgency(urgency) as i32,
                urgency_reason: reason,
                deadline: deadline.map(date_msg),
                lead_unit_id: dir.unit(&lead)?,
                co_unit_ids: co.iter().map(|u| dir.unit(u)).collect::<anyhow::Result<_>>()?,
                supervising_leader_id: leader.map(|l| dir.person(&l)).transpose()?.unwrap_or_default(),
                tags,
                targets,
                continuing_attention: continuing,
                court_id: court.map(|c| dir.unit(&c)).transpose()?.unwrap_or_default(),
                ..Default::default()
            };
            let created = c
                .create_item(pb::CreateItemRequest {
                    request_id: request_id(),
                    item: Some(item),
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print_item(&created, args.json);
        }
        ItemCommand::Get { id, client: args } => {
            let mut c = client(&args, data_dir).await?;
            let item = c
                .get_item(pb::GetItemRequest { id })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print_item(&item, args.json);
        }
        ItemCommand::List {
            filters,
            limit,
            client: args,
        } => {
            let mut c = client(&args, data_dir).await?;
            let dir = if filters.needs_directory() {
                Some(Directory::load(&mut c).await?)
            } else {
                None
            };
            let mut req = filters.request(dir.as_ref())?;
            let mut items = Vec::new();
            loop {
                req.page_size = (limit - items.len()).min(500) as i32;
                let page = c.list_items(req.clone()).await.map_err(rpc_error)?.into_inner();
                items.extend(page.items);
                if page.next_page_token.is_empty() || items.len() >= limit {
                    break;
                }
                req.page_token = page.next_page_token;
            }
            if args.json {
                let list: Vec<_> = items.iter().map(item_json).collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                let rows: Vec<Vec<String>> = items.iter().map(item_row).collect();
                print_table(&["编号", "事项名称", "紧急程度", "主办单位", "状态", "ID"], &rows);
            }
        }
        ItemCommand::Submit { id, client: args } => {
            let mut c = client(&args, data_dir).await?;
            let item = c
                .get_item(pb::GetItemRequest { id: id.clone() })
                .await
                .map_err(rpc_error)?
                .into_inner();
            let out = c
                .submit_item(pb::SubmitItemRequest {
                    request_id: request_id(),
                    id,
                    etag: item.etag,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print_item(&out, args.json);
        }
        ItemCommand::Approve {
            id,
            urgency,
            reason,
            deadline,
            comment,
            client: args,
        } => {
            let mut c = client(&args, data_dir).await?;
            let item = c
                .get_item(pb::GetItemRequest { id: id.clone() })
                .await
                .map_err(rpc_error)?
                .into_inner();
            let out = c
                .approve_item(pb::ApproveItemRequest {
                    request_id: request_id(),
                    id,
                    etag: item.etag,
                    urgency: urgency.map(|u| conv::urgency(u) as i32).unwrap_or_default(),
                    urgency_reason: reason,
                    deadline: deadline.map(date_msg),
                    comment,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print_item(&out, args.json);
        }
        ItemCommand::Reject {
            id,
            comment,
            client: args,
        } => {
            let mut c = client(&args, data_dir).await?;
            let item = c
                .get_item(pb::GetItemRequest { id: id.clone() })
                .await
                .map_err(rpc_error)?
                .into_inner();
            let out = c
                .reject_item(pb::RejectItemRequest {
                    request_id: request_id(),
                    id,
                    etag: item.etag,
                    comment,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print_item(&out, args.json);
        }
        ItemCommand::Decompose {
            id,
            units,
            projects,
            posts,
            persons,
            client: args,
        } => {
            let mut c = client(&args, data_dir).await?;
            let dir = Directory::load(&mut c).await?;
            let mut children = Vec::new();
            let specs = [
                (DecompositionLevel::Unit, &units, true),
                (DecompositionLevel::Project, &projects, false),
                (DecompositionLevel::Post, &posts, true),
                (DecompositionLevel::Person, &persons, true),
            ];
            for (level, list, with_ref) in specs {
                for spec in list {
                    let (reference, title, targets) = sub_item(spec, with_ref)?;
                    let mut sub = pb::SubItem {
                        level: conv::level(level) as i32,
                        title,
                        targets,
                        ..Default::default()
                    };
                    match (level, reference) {
                        (DecompositionLevel::Unit, Some(r)) => sub.lead_unit_id = dir.unit(&r)?,
                        (_, Some(r)) => sub.assignee_person_id = dir.person(&r)?,
                        (_, None) => {}
                    }
                    children.push(sub);
                }
            }
            if children.is_empty() {
                bail!("give at least one --unit, --project, --post or --person");
            }
            let out = c
                .decompose_item(pb::DecomposeItemRequest {
                    request_id: request_id(),
                    id,
                    children,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            if let Some(parent) = &out.parent {
                print_item(parent, args.json);
            }
            if !args.json {
                println!();
                let rows: Vec<Vec<String>> = out.children.iter().map(item_row).collect();
                print_table(&["编号", "事项名称", "紧急程度", "主办单位", "状态", "ID"], &rows);
            }
        }
        ItemCommand::FromDecisions {
            source,
            decisions,
            urgency,
            reason,
            lead,
            co,
            leader,
            client: args,
        } => {
            let mut c = client(&args, data_dir).await?;
            let dir = Directory::load(&mut c).await?;
            let src = c
                .get_source(pb::GetSourceRequest { id: source.clone() })
                .await
                .map_err(rpc_error)?
                .into_inner();
            let mut ids = Vec::new();
            for n in decisions {
                let d = src
                    .decisions
                    .iter()
                    .find(|d| d.seq == n)
                    .with_context(|| format!("the source has no decision {n}"))?;
                ids.push(d.id.clone());
            }
            let template = pb::Item {
                urgency: conv::urgency(urgency) as i32,
                urgency_reason: reason,
                lead_unit_id: dir.unit(&lead)?,
                co_unit_ids: co.iter().map(|u| dir.unit(u)).collect::<anyhow::Result<_>>()?,
                supervising_leader_id: leader.map(|l| dir.person(&l)).transpose()?.unwrap_or_default(),
                ..Default::default()
            };
            let out = c
                .register_items_from_decisions(pb::RegisterItemsFromDecisionsRequest {
                    request_id: request_id(),
                    source_id: source,
                    decision_ids: ids,
                    template: Some(template),
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            let rows: Vec<Vec<String>> = out.items.iter().map(item_row).collect();
            print_table(&["编号", "事项名称", "紧急程度", "主办单位", "状态", "ID"], &rows);
        }
    }
    Ok(())
}

fn bar(len: Option<u64>, message: &'static str) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, 剩余 {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} {pos} 条 ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.with_message(message)
}

/// How `export` writes the workbook.
pub struct ExportOptions<'a> {
    /// The sheet's title line.
    pub title: &'a str,
    pub tz: chrono_tz::Tz,
    /// At most this many items.
    pub limit: Option<usize>,
    pub progress: bool,
}

/// Exports every item the filters select into `out`; returns the row count.
pub async fn export(
    c: &mut Client,
    req: pb::ListItemsRequest,
    out: &Path,
    options: &ExportOptions<'_>,
) -> anyhow::Result<usize> {
    let today = chrono::Utc::now().with_timezone(&options.tz).date_naive();
    let subtitle = format!("导出日期:{}", today.format("%Y年%m月%d日"));
    let mut writer = LedgerWriter::new(options.title, &subtitle, options.tz)?;
    let bar = if options.progress {
        bar(None, "导出台账")
    } else {
        ProgressBar::hidden()
    };
    let limit = options.limit.unwrap_or(usize::MAX);
    let mut written = 0;
    let mut req = pb::ListItemsRequest { page_size: 500, ..req };
    while written < limit {
        let page = c.list_items(req.clone()).await.map_err(rpc_error)?.into_inner();
        for item in page.items.iter().take(limit - written) {
            writer.push(item)?;
            written += 1;
        }
        bar.set_position(written as u64);
        if page.next_page_token.is_empty() {
            break;
        }
        req.page_token = page.next_page_token;
    }
    bar.finish_and_clear();
    writer.save(out)
}

/// Reads `file` and streams it to ImportLedger.
pub async fn import(
    c: &mut Client,
    file: &Path,
    court_id: String,
    dry_run: bool,
    progress: bool,
) -> anyhow::Result<pb::ImportLedgerResponse> {
    let rows = ledger_xlsx::read(file)?;
    import_rows(c, &rows, file, court_id, dry_run, progress).await
}

/// Streams a ledger's rows to ImportLedger.
pub async fn import_rows(
    c: &mut Client,
    rows: &[pb::LedgerRow],
    file: &Path,
    court_id: String,
    dry_run: bool,
    progress: bool,
) -> anyhow::Result<pb::ImportLedgerResponse> {
    if rows.is_empty() {
        bail!("{} has no data rows under its header", file.display());
    }
    let bar = if progress {
        bar(Some(rows.len() as u64), "上传台账")
    } else {
        ProgressBar::hidden()
    };
    // One id per run: a retry inside it replays; running the import again is
    // a new request that finds every row already in the ledger.
    let request_id = uuid::Uuid::new_v4().to_string();
    let options = pb::ImportLedgerRequest {
        part: Some(pb::import_ledger_request::Part::Options(pb::ImportLedgerOptions {
            request_id,
            dry_run,
            court_id,
            file_name: file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        })),
    };
    let mut messages = vec![options];
    for chunk in rows.chunks(2000) {
        messages.push(pb::ImportLedgerRequest {
            part: Some(pb::import_ledger_request::Part::Rows(pb::LedgerRows {
                rows: chunk.to_vec(),
            })),
        });
    }
    let (sent, uploaded) = (bar.clone(), bar.clone());
    let stream = tokio_stream::iter(
        messages
            .into_iter()
            .inspect(move |m| {
                if let Some(pb::import_ledger_request::Part::Rows(r)) = &m.part {
                    sent.inc(r.rows.len() as u64);
                }
            })
            // Called once every row is sent: the server's checking and
            // writing is most of the wait.
            .chain(std::iter::from_fn(move || {
                waiting(&uploaded, "已上传,正在校验并写入台账");
                None
            })),
    );
    let out = c.import_ledger(stream).await.map_err(rpc_error)?.into_inner();
    bar.finish_and_clear();
    Ok(out)
}

/// Turns `bar` into a spinner with `message` and the time gone, for a wait
/// on the server.
fn waiting(bar: &ProgressBar, message: &'static str) {
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}(已用时 {elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
}

/// Hands an old ledger's follow-up (see [`follow_up`]) to the assignment
/// service, streamed in batches of 2,000 rows under one request id, applied
/// there in one transaction.
pub async fn import_history(
    c: &mut super::assignments::Client,
    history: Vec<duban_proto::assignment::v1::HistoricalAssignment>,
    dry_run: bool,
    progress: bool,
) -> Result<duban_proto::assignment::v1::ImportAssignmentsResponse, tonic::Status> {
    use duban_proto::assignment::v1::{self as apb, import_assignments_request::Part};
    let bar = if progress {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    waiting(&bar, "正在按原台账交办督办事项");
    let mut messages = vec![apb::ImportAssignmentsRequest {
        part: Some(Part::Options(apb::ImportAssignmentsOptions {
            request_id: uuid::Uuid::new_v4().to_string(),
            dry_run,
        })),
    }];
    let mut rows = history.into_iter().peekable();
    while rows.peek().is_some() {
        messages.push(apb::ImportAssignmentsRequest {
            part: Some(Part::Rows(apb::HistoricalAssignments {
                assignments: rows.by_ref().take(2000).collect(),
            })),
        });
    }
    let out = c.import_assignments(tokio_stream::iter(messages)).await;
    bar.finish_and_clear();
    Ok(out?.into_inner())
}

/// The follow-up an old ledger records for the items the registry imported:
/// a row whose 状态 is a follow-up state (办理中, 已办结…) or that has a
/// 交办日期 was assigned, from that date (or its 立项日期). In a dry run only
/// items that already existed can be checked.
pub fn follow_up(
    rows: &[pb::LedgerRow],
    imported: &pb::ImportLedgerResponse,
) -> Vec<duban_proto::assignment::v1::HistoricalAssignment> {
    use duban_core::ledger::Column;
    let by_row: std::collections::HashMap<i32, &pb::LedgerRow> = rows.iter().map(|r| (r.row, r)).collect();
    let date = |d: NaiveDate| pb::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    };
    imported
        .items
        .iter()
        .filter(|i| !(imported.dry_run && i.created))
        .filter_map(|i| {
            let row = by_row.get(&i.row)?;
            let cell = |c: Column| row.cells.get(c.header()).map(|s| s.trim()).unwrap_or("");
            let assigned_text = cell(Column::AssignedOn);
            let state = match cell(Column::State) {
                s if duban_core::assignment::from_ledger_text(s).is_some() => s.to_owned(),
                _ if !assigned_text.is_empty() => "已交办".to_owned(),
                _ => return None,
            };
            let assigned_on = parse_date(assigned_text).or_else(|| parse_date(cell(Column::RegisteredOn)));
            Some(duban_proto::assignment::v1::HistoricalAssignment {
                row: i.row,
                item_id: i.item_id.clone(),
                assigned_on: assigned_on.map(date),
                deadline: parse_date(cell(Column::Deadline)).map(date),
                state,
                progress: cell(Column::Progress).to_owned(),
            })
        })
        .collect()
}

pub async fn ledger(data_dir: &Path, tz: chrono_tz::Tz, command: LedgerCommand) -> anyhow::Result<()> {
    match command {
        LedgerCommand::Export {
            out,
            title,
            limit,
            filters,
            client: args,
        } => {
            let mut c = client(&args, data_dir).await?;
            let dir = if filters.needs_directory() {
                Some(Directory::load(&mut c).await?)
            } else {
                None
            };
            let req = filters.request(dir.as_ref())?;
            let started = std::time::Instant::now();
            let rows = export(
                &mut c,
                req,
                &out,
                &ExportOptions {
                    title: &title,
                    tz,
                    limit,
                    progress: true,
                },
            )
            .await?;
            println!(
                "已导出 {rows} 条事项到 {}({:.1} 秒)",
                out.display(),
                started.elapsed().as_secs_f64()
            );
        }
        LedgerCommand::Import {
            file,
            dry_run,
            court,
            assignment_endpoint,
            client: args,
        } => {
            let follow_up_client = super::calendar::AssignmentClientArgs {
                endpoint: assignment_endpoint,
                token: args.token.clone(),
                json: args.json,
                tls: args.tls.clone(),
            };
            let mut c = client(&args, data_dir).await?;
            let court_id = match court {
                Some(court) => Directory::load(&mut c).await?.unit(&court)?,
                None => String::new(),
            };
            let started = std::time::Instant::now();
            let rows = ledger_xlsx::read(&file)?;
            let out = import_rows(&mut c, &rows, &file, court_id, dry_run, true).await?;
            let history = follow_up(&rows, &out);
            let assigned = if history.is_empty() {
                None
            } else {
                let mut a = super::assignments::connect(&follow_up_client, data_dir).await?;
                Some(
                    import_history(&mut a, history, dry_run, true)
                        .await
                        .map_err(rpc_error)?,
                )
            };
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"rows": out.rows, "created": out.created, "unchanged": out.unchanged,
                        "sources_created": out.sources_created, "dry_run": out.dry_run,
                        "assigned": assigned.as_ref().map(|a| a.created), "already_assigned": assigned.as_ref().map(|a| a.unchanged)})
                );
            } else {
                println!(
                    "{}共 {} 行:新增 {} 项,已存在 {} 项,新增来源 {} 个({:.1} 秒)",
                    if out.dry_run { "试导入(未写入):" } else { "" },
                    out.rows,
                    out.created,
                    out.unchanged,
                    out.sources_created,
                    started.elapsed().as_secs_f64()
                );
                if let Some(a) = assigned {
                    println!(
                        "{}督办跟踪:按原台账交办 {} 项,已交办 {} 项",
                        if a.dry_run { "试导入(未写入):" } else { "" },
                        a.created,
                        a.unchanged
                    );
                }
            }
        }
    }
    Ok(())
}
