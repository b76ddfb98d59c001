//! Importing an office's existing Excel ledger (the CLI reads the .xlsx and
//! streams its rows): every row is checked against the directory first, and
//! every bad cell reported by row and column; a file with any bad row imports
//! nothing. A row already imported (same 督办编号, or the same item on the
//! same day) is left alone, so importing a file twice creates nothing twice.

use super::model::{ItemFields, Target};
use super::service::ItemService;
use super::store::{self, NewItem};
use crate::org::store as org_store;
use chrono::{Datelike, NaiveDate, TimeZone};
use duban_core::item::{self as rules, RegistrationState, SourceKind, UrgencyClass};
use duban_core::ledger::{Column, split_list};
use duban_core::{Role, Violations};
use duban_platform::auth::Principal;
use duban_platform::mutation::{Change, MutationContext, mutate};
use duban_platform::upload::UploadSettings;
use duban_platform::{Error, Result};
use duban_proto::registry::v1 as pb;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

/// Reason recorded for an imported item whose class came without one.
const IMPORTED_REASON: &str = "历史台账导入";

/// A received upload: options, then every row.
pub struct LedgerImport {
    pub options: pb::ImportLedgerOptions,
    pub rows: pb::LedgerRows,
}

impl LedgerImport {
    /// Receives the upload once `p` may import into the court its options
    /// name: a caller who may not is refused before any row is read.
    pub async fn receive(
        items: &ItemService,
        p: &Principal,
        stream: tonic::Streaming<pb::ImportLedgerRequest>,
        caps: UploadSettings,
    ) -> Result<Self, tonic::Status> {
        use duban_platform::upload::{Part, receive};
        let (options, rows) = receive(
            stream,
            |m| match m.part {
                Some(pb::import_ledger_request::Part::Options(o)) => Part::Options(o),
                Some(pb::import_ledger_request::Part::Rows(batch)) => Part::Rows(batch.rows),
                None => Part::Empty,
            },
            async |options: &pb::ImportLedgerOptions| items.authorize_import(p, options).await,
            caps,
        )
        .await?;
        Ok(Self {
            options,
            rows: pb::LedgerRows { rows },
        })
    }
}

/// One row, checked and resolved against the directory.
struct Planned {
    row: i32,
    system_id: Option<Uuid>,
    key: String,
    number: Option<String>,
    fields: ItemFields,
    source: (SourceKind, String),
    state: RegistrationState,
    registered_on: Option<NaiveDate>,
    progress: String,
}

/// A new row, with everything decided before the bulk insert.
struct Prepared {
    id: Uuid,
    number: Option<String>,
    parent: Option<Uuid>,
    ancestry: Vec<Uuid>,
    registered_at: Option<chrono::DateTime<chrono::Utc>>,
    fields: ItemFields,
    plan: Planned,
}

/// The directory as the rows name it: units and leaders by name; and each
/// unit's path from the root, for the events.
struct Names {
    units: HashMap<String, Vec<Uuid>>,
    leaders: HashMap<String, Vec<Uuid>>,
    ancestries: HashMap<Uuid, Vec<Uuid>>,
}

impl Names {
    /// [`duban_core::org::event_units`] of `units`, from the directory read once.
    fn event_units(&self, units: &[Uuid]) -> Vec<Uuid> {
        duban_core::org::event_units(units.iter().filter_map(|u| self.ancestries.get(u)).map(Vec::as_slice))
    }
}

async fn names(conn: &mut PgConnection, court: Uuid) -> Result<Names> {
    let mut units: HashMap<String, Vec<Uuid>> = HashMap::new();
    let mut ancestries = HashMap::new();
    for u in org_store::all_units(&mut *conn).await? {
        if u.ancestry.contains(&court) {
            ancestries.insert(u.id, u.ancestry.clone());
        }
        if u.ancestry.contains(&court) && u.active {
            for name in [&u.name, &u.short_name, &u.code] {
                if !name.is_empty() {
                    let ids = units.entry(name.clone()).or_default();
                    if !ids.contains(&u.id) {
                        ids.push(u.id);
                    }
                }
            }
        }
    }
    let mut leaders: HashMap<String, Vec<Uuid>> = HashMap::new();
    for (id, name) in org_store::people_with_roles_in(&mut *conn, court, &[Role::Leader, Role::President]).await? {
        leaders.entry(name).or_default().push(id);
    }
    Ok(Names {
        units,
        leaders,
        ancestries,
    })
}

fn cell_violation(v: &mut Violations, row: i32, column: Column, en: String, zh: String) {
    v.add(
        format!("rows[{row}].{}", column.header()),
        format!("row {row}, column {}: {en}", column.header()),
        format!("第{row}行“{}”列:{zh}", column.header()),
    );
}

fn plan_row(row: &pb::LedgerRow, names: &Names, v: &mut Violations) -> Option<Planned> {
    let r = row.row;
    let cell = |c: Column| row.cells.get(c.header()).map(|s| s.trim()).unwrap_or("");
    let before = v.0.len();
    let title = cell(Column::Title).to_owned();
    if title.is_empty() {
        cell_violation(v, r, Column::Title, "is empty".into(), "事项名称不能为空".into());
    } else if title.chars().count() > duban_core::limits::ITEM_TITLE {
        let max = duban_core::limits::ITEM_TITLE;
        cell_violation(
            v,
            r,
            Column::Title,
            format!("is longer than {max} characters"),
            format!("事项名称超过{max}个字"),
        );
    }
    let kind = SourceKind::from_label(cell(Column::Source));
    if kind.is_none() {
        let allowed: Vec<&str> = SourceKind::ALL.iter().map(|k| k.label_zh()).collect();
        cell_violation(
            v,
            r,
            Column::Source,
            format!(
                "`{}` is not a source kind ({})",
                cell(Column::Source),
                allowed.join(", ")
            ),
            format!("“{}”不是督办来源类别,应为:{}", cell(Column::Source), allowed.join("、")),
        );
    }
    let urgency = UrgencyClass::from_label(cell(Column::Urgency));
    if urgency.is_none() {
        let allowed: Vec<&str> = UrgencyClass::ALL.iter().map(|k| k.label_zh()).collect();
        cell_violation(
            v,
            r,
            Column::Urgency,
            format!(
                "`{}` is not an urgency class ({})",
                cell(Column::Urgency),
                allowed.join(", ")
            ),
            format!("“{}”不是紧急程度,应为:{}", cell(Column::Urgency), allowed.join("、")),
        );
    }
    let mut date = |c: Column| -> Option<NaiveDate> {
        let text = cell(c);
        if text.is_empty() {
            return None;
        }
        let d = rules::parse_date(text);
        if d.is_none() {
            cell_violation(
                v,
                r,
                c,
                format!("`{text}` is not a date"),
                format!("“{text}”不是有效日期"),
            );
        }
        d
    };
    let registered_on = date(Column::RegisteredOn);
    let written_deadline = date(Column::Deadline);
    // Only a fixed-deadline item keeps a written deadline; for the others the
    // column shows the deadline the class implies, which follow-up recomputes.
    let deadline = match urgency {
        Some(UrgencyClass::FixedDeadline) => {
            if written_deadline.is_none() {
                cell_violation(
                    v,
                    r,
                    Column::Deadline,
                    "is required for 限期办理".into(),
                    "限期办理事项须填写办理时限".into(),
                );
            }
            written_deadline
        }
        _ => None,
    };
    let state = match cell(Column::State) {
        "" => RegistrationState::Registered,
        text => match RegistrationState::from_label(text) {
            Some(s) => s,
            // Follow-up states (办理中, 已办结…) belong to registered items.
            None => RegistrationState::Registered,
        },
    };
    if state == RegistrationState::Registered && registered_on.is_none() && cell(Column::RegisteredOn).is_empty() {
        cell_violation(
            v,
            r,
            Column::RegisteredOn,
            "is required for a registered item".into(),
            "已立项事项须填写立项日期".into(),
        );
    }
    let unit = |text: &str, column: Column, v: &mut Violations| -> Option<Uuid> {
        match names.units.get(text).map(Vec::as_slice) {
            Some([one]) => Some(*one),
            Some(_) => {
                cell_violation(
                    v,
                    r,
                    column,
                    format!("`{text}` names several units"),
                    format!("“{text}”对应多个单位,请写全称"),
                );
                None
            }
            None => {
                cell_violation(
                    v,
                    r,
                    column,
                    format!("unit `{text}` is not in this court's directory"),
                    format!("单位“{text}”不在本院组织机构中"),
                );
                None
            }
        }
    };
    let lead_text = cell(Column::LeadUnit);
    let lead = if lead_text.is_empty() {
        cell_violation(v, r, Column::LeadUnit, "is empty".into(), "主办单位不能为空".into());
        None
    } else {
        unit(lead_text, Column::LeadUnit, v)
    };
    let mut co_unit_ids = Vec::new();
    for name in split_list(cell(Column::CoUnits)) {
        if let Some(id) = unit(&name, Column::CoUnits, v) {
            if Some(id) != lead && !co_unit_ids.contains(&id) {
                co_unit_ids.push(id);
            }
        }
    }
    let leader_text = cell(Column::Leader);
    let leader = if leader_text.is_empty() {
        None
    } else {
        match names.leaders.get(leader_text).map(Vec::as_slice) {
            Some([one]) => Some(*one),
            Some(_) => {
                cell_violation(
                    v,
                    r,
                    Column::Leader,
                    format!("`{leader_text}` names several leaders"),
                    format!("“{leader_text}”对应多位院领导"),
                );
                None
            }
            None => {
                cell_violation(
                    v,
                    r,
                    Column::Leader,
                    format!("`{leader_text}` is not a leader of this court"),
                    format!("“{leader_text}”不是本院院领导"),
                );
                None
            }
        }
    };
    if v.0.len() > before {
        return None;
    }
    let number = Some(cell(Column::Number).to_owned()).filter(|n| !n.is_empty());
    let doc_number = cell(Column::DocNumber).to_owned();
    let system_id = Uuid::parse_str(cell(Column::SystemId)).ok();
    let key = match (&number, system_id) {
        (Some(n), _) => format!("number:{n}"),
        (None, Some(id)) => format!("id:{id}"),
        (None, None) => {
            let mut h = Sha256::new();
            for part in [title.as_str(), &doc_number, cell(Column::RegisteredOn), lead_text] {
                h.update(part.as_bytes());
                h.update([0x1f]);
            }
            format!("row:{}", hex::encode(&h.finalize()[..16]))
        }
    };
    let reason = cell(Column::UrgencyReason);
    Some(Planned {
        row: r,
        system_id,
        key,
        number,
        fields: ItemFields {
            title,
            requirements: cell(Column::Requirements).to_owned(),
            source_id: None,
            urgency: urgency.expect("checked"),
            urgency_reason: if reason.is_empty() {
                IMPORTED_REASON.to_owned()
            } else {
                reason.to_owned()
            },
            deadline,
            lead_unit_id: lead.expect("checked"),
            co_unit_ids,
            supervising_leader_id: leader,
            tags: split_list(cell(Column::Tags)),
            targets: Vec::<Target>::new(),
            continuing_attention: false,
            assignee_person_id: None,
        },
        source: (kind.expect("checked"), doc_number),
        state,
        registered_on,
        progress: cell(Column::Progress).to_owned(),
    })
}

/// The year and sequence of a number in our own form (督〔2026〕15号).
fn parse_number(number: &str) -> Option<(i32, i64)> {
    let rest = number.strip_prefix("督〔")?;
    let (year, rest) = rest.split_once('〕')?;
    let seq = rest.strip_suffix('号')?;
    Some((year.parse().ok()?, seq.parse().ok()?))
}

impl ItemService {
    /// The check `apply_ledger` makes again in its transaction, made here
    /// on the options alone.
    async fn authorize_import(&self, p: &Principal, options: &pb::ImportLedgerOptions) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        let court = self.court(&mut conn, p, &options.court_id, "options.court_id").await?;
        super::service::authorize_item(&mut conn, p, duban_core::access::Action::ApproveItems, court, &[]).await
    }

    pub async fn import_ledger(&self, p: &Principal, upload: LedgerImport) -> Result<pb::ImportLedgerResponse> {
        let LedgerImport { options, rows } = upload;
        let now = self.now().await?;
        let ctx = MutationContext {
            principal: p.clone(),
            request_id: options.request_id.clone(),
            now,
            service: "registry",
        };
        if options.dry_run {
            let mut tx = duban_platform::db::begin(self.pool()).await?;
            let (summary, _) = self.apply_ledger(&mut tx, &ctx, &options, &rows).await?;
            tx.rollback().await?;
            return Ok(pb::ImportLedgerResponse {
                dry_run: true,
                ..summary
            });
        }
        mutate(
            self.pool(),
            &ctx,
            "ImportLedger",
            &rows,
            async |conn: &mut PgConnection| self.apply_ledger(conn, &ctx, &options, &rows).await,
        )
        .await
    }

    async fn apply_ledger(
        &self,
        conn: &mut PgConnection,
        ctx: &MutationContext,
        options: &pb::ImportLedgerOptions,
        rows: &pb::LedgerRows,
    ) -> Result<(pb::ImportLedgerResponse, Vec<Change>)> {
        let p = &ctx.principal;
        let court = self.court(conn, p, &options.court_id, "options.court_id").await?;
        super::service::authorize_item(conn, p, duban_core::access::Action::ApproveItems, court, &[]).await?;
        if rows.rows.is_empty() {
            return Err(Error::invalid("rows", "the file has no rows", "文件中没有数据行"));
        }
        let names = names(conn, court).await?;
        let mut v = Violations::new();
        let mut planned = Vec::new();
        let mut keys: HashMap<String, i32> = HashMap::new();
        for row in &rows.rows {
            if let Some(plan) = plan_row(row, &names, &mut v) {
                if let Some(first) = keys.insert(plan.key.clone(), plan.row) {
                    v.add(
                        format!("rows[{}]", plan.row),
                        format!("row {} repeats row {first}", plan.row),
                        format!("第{}行与第{first}行重复", plan.row),
                    );
                }
                planned.push(plan);
            }
        }
        v.into_result().map_err(Error::InvalidArgument)?;

        let mut summary = pb::ImportLedgerResponse {
            rows: rows.rows.len() as i32,
            ..Default::default()
        };
        // Rows already in the ledger: the same item (by id, exported from
        // here), the same number, or a row imported before. Three queries for
        // the whole file.
        let ids: Vec<Uuid> = planned.iter().filter_map(|p| p.system_id).collect();
        let numbers: Vec<String> = planned.iter().filter_map(|p| p.number.clone()).collect();
        let keys: Vec<String> = planned.iter().map(|p| p.key.clone()).collect();
        let known = store::known_in_court(&mut *conn, court, &ids, &numbers, &keys).await?;
        let (known_rows, new_rows): (Vec<Planned>, Vec<Planned>) = planned
            .into_iter()
            .partition(|p| known.item(p.system_id, p.number.as_ref(), &p.key).is_some());
        summary.unchanged = known_rows.len() as i32;
        for p in known_rows.iter().filter(|p| p.state == RegistrationState::Registered) {
            summary.items.push(pb::ImportedItem {
                row: p.row,
                item_id: known
                    .item(p.system_id, p.number.as_ref(), &p.key)
                    .expect("known")
                    .to_string(),
                created: false,
            });
        }

        // Sources, one per (kind, 文号), found or created.
        let mut sources: HashMap<(SourceKind, String), Uuid> = HashMap::new();
        let mut changes = Vec::new();
        for plan in &new_rows {
            if sources.contains_key(&plan.source) {
                continue;
            }
            let (kind, doc_number) = plan.source.clone();
            let existing = match doc_number.as_str() {
                "" => None,
                n => store::source_by_number(&mut *conn, court, kind, n).await?,
            };
            let id = match existing {
                Some(id) => id,
                None => {
                    let id = Uuid::now_v7();
                    let fields = super::model::SourceFields {
                        court_id: court,
                        kind,
                        title: if doc_number.is_empty() {
                            format!("{}(台账导入)", kind.label_zh())
                        } else {
                            doc_number.clone()
                        },
                        doc_number: doc_number.clone(),
                        doc_date: None,
                        issuer: String::new(),
                        oa_link: String::new(),
                    };
                    store::insert_source(conn, id, &fields, &[], ctx.now).await?;
                    summary.sources_created += 1;
                    changes.push(Change {
                        action: "source.created",
                        target_kind: "source",
                        target_id: id.to_string(),
                        before: None,
                        after: serde_json::to_value(&fields).ok(),
                        unit_ids: names.event_units(&[court]),
                    });
                    id
                }
            };
            sources.insert(plan.source.clone(), id);
        }

        // Numbers: the file's own ones move the yearly counters past them;
        // registered rows without one get the next numbers of their year.
        let mut highest: HashMap<i32, i64> = HashMap::new();
        for (year, seq) in new_rows
            .iter()
            .filter_map(|p| p.number.as_deref().and_then(parse_number))
        {
            let h = highest.entry(year).or_default();
            *h = (*h).max(seq);
        }
        for (year, seq) in &highest {
            store::bump_number_counter(conn, court, *year, *seq).await?;
        }
        let year_of = |p: &Planned| {
            p.registered_on
                .map(|d| d.year())
                .unwrap_or_else(|| self.local_date(ctx.now).year())
        };
        let mut wanted: HashMap<i32, i64> = HashMap::new();
        for p in new_rows
            .iter()
            .filter(|p| p.number.is_none() && p.state == RegistrationState::Registered)
        {
            *wanted.entry(year_of(p)).or_default() += 1;
        }
        let mut next: HashMap<i32, i64> = HashMap::new();
        for (year, count) in wanted {
            next.insert(year, store::reserve_numbers(conn, court, year, count).await?);
        }

        // Ids, numbers and places in the tree, decided before one bulk insert.
        let mut by_number: HashMap<String, (Uuid, Vec<Uuid>)> = HashMap::new();
        let mut prepared = Vec::with_capacity(new_rows.len());
        for plan in new_rows {
            let registered = plan.state == RegistrationState::Registered;
            let number = match (&plan.number, registered) {
                (Some(n), _) => Some(n.clone()),
                (None, true) => {
                    let year = year_of(&plan);
                    let seq = next.get_mut(&year).expect("reserved");
                    *seq += 1;
                    Some(rules::item_number(year, *seq - 1))
                }
                (None, false) => None,
            };
            let item_id = Uuid::now_v7();
            let parent = match number.as_deref().and_then(|n| n.rsplit_once('-')).map(|(p, _)| p) {
                Some(parent_number) => match by_number.get(parent_number) {
                    Some(found) => Some(found.clone()),
                    None => store::item_by_number(&mut *conn, court, parent_number).await?,
                },
                None => None,
            };
            let mut ancestry = parent.as_ref().map(|(_, a)| a.clone()).unwrap_or_default();
            ancestry.push(item_id);
            if let Some(n) = &number {
                by_number.insert(n.clone(), (item_id, ancestry.clone()));
            }
            let registered_at = plan
                .registered_on
                .filter(|_| registered)
                .and_then(|d| self.tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?).earliest())
                .map(|t| t.with_timezone(&chrono::Utc));
            let fields = ItemFields {
                source_id: Some(sources[&plan.source]),
                ..plan.fields.clone()
            };
            prepared.push(Prepared {
                id: item_id,
                number,
                parent: parent.map(|(id, _)| id),
                ancestry,
                registered_at,
                fields,
                plan,
            });
        }
        let reviewer = p.name.clone();
        let new_items: Vec<NewItem> = prepared
            .iter()
            .map(|p| {
                let registered = p.plan.state == RegistrationState::Registered;
                NewItem {
                    id: p.id,
                    court_id: court,
                    fields: &p.fields,
                    decision_id: None,
                    parent_id: p.parent,
                    ancestry: &p.ancestry,
                    level: None,
                    state: p.plan.state,
                    number: p.number.as_deref(),
                    reviewed_by: if registered { &reviewer } else { "" },
                    review_comment: if registered { "台账导入" } else { "" },
                    registered_at: p.registered_at,
                    registered_on: p.plan.registered_on.filter(|_| registered),
                    progress_note: &p.plan.progress,
                    import_key: Some(&p.plan.key),
                }
            })
            .collect();
        store::insert_items_bulk(conn, &new_items, ctx.now).await?;
        summary.created = new_items.len() as i32;
        for p in prepared
            .iter()
            .filter(|p| p.plan.state == RegistrationState::Registered)
        {
            summary.items.push(pb::ImportedItem {
                row: p.plan.row,
                item_id: p.id.to_string(),
                created: true,
            });
        }
        summary.items.sort_by_key(|i| i.row);
        for p in &prepared {
            let mut units = vec![court, p.fields.lead_unit_id];
            units.extend(p.fields.co_unit_ids.iter().copied());
            changes.push(Change {
                action: "item.imported",
                target_kind: "item",
                target_id: p.id.to_string(),
                before: None,
                after: Some(serde_json::json!({
                    "row": p.plan.row, "file": options.file_name, "number": p.number, "state": p.plan.state.code(),
                    "fields": p.fields,
                })),
                unit_ids: names.event_units(&units),
            });
        }
        Ok((summary, changes))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_number;

    #[test]
    fn numbers_in_our_form_parse() {
        assert_eq!(parse_number("督〔2026〕15号"), Some((2026, 15)));
        assert_eq!(parse_number("督〔2026〕15号-2"), None);
        assert_eq!(parse_number("2026-15"), None);
    }
}
