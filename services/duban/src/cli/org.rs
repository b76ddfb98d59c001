//! `duban org …`: the organisation directory over gRPC.

use super::{ClientArgs, print_table, rpc_error};
use anyhow::Context;
use duban_proto::registry::v1 as pb;
use duban_proto::registry::v1::registry_service_client::RegistryServiceClient;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum OrgCommand {
    /// Apply an organisation file (TOML, see docs/org-file.md) as a whole:
    /// a file with any error changes nothing.
    Import {
        file: PathBuf,
        /// Check the file and report what would change, changing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Idempotency key; defaults to one derived from the file's content.
        #[arg(long)]
        request_id: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List units with their heads, liaisons and supervising leaders.
    Units {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List people.
    People {
        /// Only people of this unit (id).
        #[arg(long)]
        unit: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub async fn run(data_dir: &Path, command: OrgCommand) -> anyhow::Result<()> {
    match command {
        OrgCommand::Import {
            file,
            dry_run,
            request_id,
            client,
        } => {
            let content = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let request_id = request_id.unwrap_or_else(|| content_request_id("org-import", &content));
            let (channel, bearer) = client.channel(data_dir).await?;
            let mut registry = RegistryServiceClient::with_interceptor(channel, bearer);
            let out = registry
                .import_org_directory(pb::ImportOrgDirectoryRequest {
                    request_id,
                    content,
                    dry_run,
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            if client.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "dry_run": out.dry_run,
                        "units_created": out.units_created, "units_updated": out.units_updated,
                        "people_created": out.people_created, "people_updated": out.people_updated,
                        "officers_changed": out.officers_changed, "role_bindings_created": out.role_bindings_created,
                        "supervisions_changed": out.supervisions_changed,
                    })
                );
            } else {
                println!(
                    "{}单位:新增 {},更新 {};人员:新增 {},更新 {};责任人/联络员变更 {};角色新增 {};分管变更 {}",
                    if out.dry_run { "(试运行,未写入)" } else { "" },
                    out.units_created,
                    out.units_updated,
                    out.people_created,
                    out.people_updated,
                    out.officers_changed,
                    out.role_bindings_created,
                    out.supervisions_changed
                );
            }
        }
        OrgCommand::Units { client } => {
            let (channel, bearer) = client.channel(data_dir).await?;
            let mut registry = RegistryServiceClient::with_interceptor(channel, bearer);
            let mut units = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = registry
                    .list_units(pb::ListUnitsRequest {
                        page_size: 200,
                        page_token,
                        ..Default::default()
                    })
                    .await
                    .map_err(rpc_error)?
                    .into_inner();
                units.extend(page.units);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            if client.json {
                let rows: Vec<_> = units
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "id": u.id, "code": u.code, "name": u.name, "kind": kind_code(u.kind),
                            "parent_id": u.parent_id,
                            "head": u.head.as_ref().map(|p| &p.name),
                            "liaison": u.liaison.as_ref().map(|p| &p.name),
                            "supervising_leaders": u.supervising_leaders.iter().map(|p| &p.name).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let rows: Vec<Vec<String>> = units
                    .iter()
                    .map(|u| {
                        vec![
                            u.code.clone(),
                            u.name.clone(),
                            kind_zh(u.kind).to_owned(),
                            u.head.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                            u.liaison.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                            u.supervising_leaders
                                .iter()
                                .map(|p| p.name.clone())
                                .collect::<Vec<_>>()
                                .join("、"),
                        ]
                    })
                    .collect();
                print_table(&["编码", "单位", "类型", "责任人", "联络员", "分管领导"], &rows);
            }
        }
        OrgCommand::People { unit, client } => {
            let (channel, bearer) = client.channel(data_dir).await?;
            let mut registry = RegistryServiceClient::with_interceptor(channel, bearer);
            let mut people = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = registry
                    .list_people(pb::ListPeopleRequest {
                        page_size: 200,
                        page_token,
                        unit_id: unit.clone().unwrap_or_default(),
                        ..Default::default()
                    })
                    .await
                    .map_err(rpc_error)?
                    .into_inner();
                people.extend(page.people);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            if client.json {
                let rows: Vec<_> = people
                    .iter()
                    .map(|p| serde_json::json!({"id": p.id, "code": p.code, "name": p.name, "unit_id": p.unit_id, "title": p.title, "email": p.email}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let rows: Vec<Vec<String>> = people
                    .iter()
                    .map(|p| vec![p.code.clone(), p.name.clone(), p.title.clone(), p.email.clone()])
                    .collect();
                print_table(&["编码", "姓名", "职务", "电子邮箱"], &rows);
            }
        }
    }
    Ok(())
}

/// A request id that is the same for the same content, so re-running an
/// import of an unchanged file is a no-op replay.
pub fn content_request_id(prefix: &str, content: &str) -> String {
    use std::hash::{Hash, Hasher};
    // Not security-relevant: it only names the request.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    content.hash(&mut h);
    format!("{prefix}-{:016x}-{}", h.finish(), content.len())
}

fn kind_code(kind: i32) -> &'static str {
    match pb::UnitKind::try_from(kind).unwrap_or(pb::UnitKind::Unspecified) {
        pb::UnitKind::Court => "court",
        pb::UnitKind::Department => "department",
        pb::UnitKind::GrassrootsCourt => "grassroots_court",
        pb::UnitKind::Office => "office",
        pb::UnitKind::Unspecified => "",
    }
}

fn kind_zh(kind: i32) -> &'static str {
    match pb::UnitKind::try_from(kind).unwrap_or(pb::UnitKind::Unspecified) {
        pb::UnitKind::Court => "法院",
        pb::UnitKind::Department => "部门",
        pb::UnitKind::GrassrootsCourt => "基层法院",
        pb::UnitKind::Office => "办公室",
        pb::UnitKind::Unspecified => "",
    }
}
