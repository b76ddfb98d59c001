//! `duban plan`, `duban attention`, `duban claims`: major items' plans,
//! continuing attention, and items published for claiming (认领).

use super::assignments::{connect, etag, print, request_id};
use super::calendar::AssignmentClientArgs;
use super::{print_table, rpc_error};
use clap::Subcommand;
use duban_core::item::parse_date;
use duban_proto::assignment::v1 as pb;
use duban_proto::registry::v1 as reg;
use std::path::Path;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Submit a major item's plan with dated steps (重大事项推进计划).
    Submit(SubmitPlanArgs),
    /// The supervising leader approves the pending plan or sends it back.
    Decide(DecidePlanArgs),
}

#[derive(Debug, clap::Args)]
pub struct SubmitPlanArgs {
    /// The assignment.
    pub id: String,
    #[arg(long)]
    pub summary: String,
    /// A dated step, repeatable, in order: DATE=WHAT (e.g. 2026-12-31=出台制度).
    #[arg(long = "step", required = true)]
    pub steps: Vec<String>,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["approve", "reject"])))]
pub struct DecidePlanArgs {
    pub id: String,
    #[arg(long)]
    pub approve: bool,
    #[arg(long)]
    pub reject: bool,
    /// Required when sending it back.
    #[arg(long, default_value = "")]
    pub comment: String,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

#[derive(Debug, clap::Args)]
pub struct AttentionArgs {
    /// A verified assignment.
    pub id: String,
    /// A stage report every this many months; 0 ends continuing attention.
    #[arg(long)]
    pub months: i32,
    #[command(flatten)]
    pub client: AssignmentClientArgs,
}

#[derive(Debug, Subcommand)]
pub enum ClaimCommand {
    /// Items published for claiming.
    List {
        /// Only those still open.
        #[arg(long)]
        open: bool,
        #[command(flatten)]
        client: AssignmentClientArgs,
    },
    /// Publish a registered, unassigned item for claiming.
    Publish {
        item: String,
        #[arg(long, default_value = "")]
        policy: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        client: AssignmentClientArgs,
    },
    /// Claim an item for a unit (your own, or one you supervise as a leader).
    Claim {
        item: String,
        /// The claiming unit's id.
        #[arg(long)]
        unit: String,
        #[command(flatten)]
        client: AssignmentClientArgs,
    },
    /// Close an offer: no more claims.
    Close {
        item: String,
        #[command(flatten)]
        client: AssignmentClientArgs,
    },
}

fn step(text: &str) -> anyhow::Result<pb::PlanStep> {
    let (date, what) = text
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--step {text}: expected DATE=WHAT"))?;
    let d = parse_date(date.trim()).ok_or_else(|| anyhow::anyhow!("--step {text}: {date} is not a date"))?;
    Ok(pb::PlanStep {
        date: Some(reg::Date {
            year: chrono::Datelike::year(&d),
            month: chrono::Datelike::month(&d) as i32,
            day: chrono::Datelike::day(&d) as i32,
        }),
        what: what.trim().into(),
    })
}

pub async fn plan(data_dir: &Path, command: PlanCommand) -> anyhow::Result<()> {
    match command {
        PlanCommand::Submit(args) => {
            let steps = args.steps.iter().map(|s| step(s)).collect::<anyhow::Result<Vec<_>>>()?;
            let mut c = connect(&args.client, data_dir).await?;
            let etag = etag(&mut c, &args.id).await?;
            let a = c
                .submit_plan(pb::SubmitPlanRequest {
                    request_id: request_id(),
                    id: args.id,
                    etag,
                    summary: args.summary,
                    steps,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print(&a, args.client.json);
        }
        PlanCommand::Decide(args) => {
            let mut c = connect(&args.client, data_dir).await?;
            let etag = etag(&mut c, &args.id).await?;
            let a = c
                .decide_plan(pb::DecidePlanRequest {
                    request_id: request_id(),
                    id: args.id,
                    etag,
                    approve: args.approve,
                    comment: args.comment,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print(&a, args.client.json);
        }
    }
    Ok(())
}

pub async fn attention(data_dir: &Path, args: AttentionArgs) -> anyhow::Result<()> {
    let mut c = connect(&args.client, data_dir).await?;
    let etag = etag(&mut c, &args.id).await?;
    let a = c
        .set_attention(pb::SetAttentionRequest {
            request_id: request_id(),
            id: args.id,
            etag,
            months: args.months,
        })
        .await
        .map_err(rpc_error)?
        .into_inner();
    print(&a, args.client.json);
    Ok(())
}

fn offer_row(o: &pb::ClaimOffer) -> Vec<String> {
    vec![
        o.item_number.clone(),
        o.item_title.clone(),
        if o.close_time.is_some() {
            "已截止".into()
        } else {
            "认领中".into()
        },
        o.claimed_unit_names.join("、"),
        o.note.clone(),
        o.item_id.clone(),
    ]
}

const OFFER_HEADERS: [&str; 6] = ["编号", "事项", "状态", "认领单位(首位主办)", "说明", "事项ID"];

fn print_offer(o: &pb::ClaimOffer, json: bool) {
    if json {
        let v = serde_json::json!({
            "item_id": o.item_id, "number": o.item_number, "title": o.item_title, "policy": o.policy,
            "note": o.note, "closed": o.close_time.is_some(), "claimed_unit_ids": o.claimed_unit_ids,
            "claimed_units": o.claimed_unit_names,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print_table(&OFFER_HEADERS, &[offer_row(o)]);
    }
}

pub async fn claims(data_dir: &Path, command: ClaimCommand) -> anyhow::Result<()> {
    match command {
        ClaimCommand::List { open, client } => {
            let mut c = connect(&client, data_dir).await?;
            let mut req = pb::ListClaimOffersRequest {
                open_only: open,
                page_size: 200,
                ..Default::default()
            };
            let mut all = Vec::new();
            loop {
                let page = c.list_claim_offers(req.clone()).await.map_err(rpc_error)?.into_inner();
                all.extend(page.offers);
                if page.next_page_token.is_empty() {
                    break;
                }
                req.page_token = page.next_page_token;
            }
            if client.json {
                for o in &all {
                    print_offer(o, true);
                }
            } else {
                print_table(&OFFER_HEADERS, &all.iter().map(offer_row).collect::<Vec<_>>());
            }
        }
        ClaimCommand::Publish {
            item,
            policy,
            note,
            client,
        } => {
            let mut c = connect(&client, data_dir).await?;
            let o = c
                .publish_for_claim(pb::PublishForClaimRequest {
                    request_id: request_id(),
                    item_id: item,
                    policy,
                    note,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print_offer(&o, client.json);
        }
        ClaimCommand::Claim { item, unit, client } => {
            let mut c = connect(&client, data_dir).await?;
            let a = c
                .claim(pb::ClaimRequest {
                    request_id: request_id(),
                    item_id: item,
                    unit_id: unit,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print(&a, client.json);
        }
        ClaimCommand::Close { item, client } => {
            let mut c = connect(&client, data_dir).await?;
            let o = c
                .close_claim_offer(pb::CloseClaimOfferRequest {
                    request_id: request_id(),
                    item_id: item,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print_offer(&o, client.json);
        }
    }
    Ok(())
}
