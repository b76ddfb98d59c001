//! Sources, items and the ledger: validation, authorization, the
//! registration flow, decomposition. Every change goes through `mutate`.

use super::convert::{self as conv, date_from};
use super::model::{Item, ItemFields, LedgerFilter, LedgerScope, Source, SourceFields, Target};
use super::store::{self, NewItem, Review};
use crate::convert::{id, optional_id, version_from_etag};
use crate::org::store as org_store;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use duban_core::access::{self, Action, Scope};
use duban_core::item::{self as rules, DecompositionLevel, RegistrationAction, RegistrationState};
use duban_core::limits::{
    CO_UNITS as MAX_CO_UNITS, ITEM_TITLE, REQUIREMENTS, SEARCH_TEXT, SOURCE_TITLE, SUB_ITEMS as MAX_CHILDREN, TAG,
    TAGS as MAX_TAGS, TARGETS as MAX_TARGETS,
};
use duban_core::org::UnitKind;
use duban_core::{Role, Violations};
use duban_platform::auth::Principal;
use duban_platform::clock::Clock;
use duban_platform::mutation::{Change, MutationContext, mutate};
use duban_platform::{Error, Result, page};
use duban_proto::registry::v1 as pb;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

const SERVICE: &str = "registry";

#[derive(Clone)]
pub struct ItemService {
    pool: PgPool,
    clock: Clock,
    pub(super) tz: chrono_tz::Tz,
    grams: std::sync::Arc<tokio::sync::RwLock<GramStats>>,
}

/// Bigram frequencies, refreshed every few minutes: what the text search
/// needs to pick the rarest bigram of a phrase.
#[derive(Default)]
struct GramStats {
    read_at: Option<std::time::Instant>,
    frequency: std::collections::HashMap<String, f32>,
}

const GRAM_STATS_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// The distinct character bigrams of `text`, lower-cased, as `registry.bigrams` makes them.
fn bigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.to_lowercase().chars().collect();
    let mut out: Vec<String> = chars.windows(2).map(|w| w.iter().collect()).collect();
    out.sort();
    out.dedup();
    out
}

/// The refusal naming each decision already drafted and its item: its
/// 督办编号, or a draft's state when not yet numbered.
fn decisions_taken(taken: &[(Uuid, i32, Option<String>)]) -> Error {
    let named = |draft: &str| {
        taken
            .iter()
            .map(|(_, seq, number)| match number {
                Some(n) => format!("{seq}: {n}"),
                None => format!("{seq}: {draft}"),
            })
            .collect::<Vec<_>>()
    };
    let zh: Vec<String> = taken
        .iter()
        .map(|(_, seq, number)| match number {
            Some(n) => format!("第{seq}项决定已立项为{n}"),
            None => format!("第{seq}项决定已起草督办事项(尚未立项)"),
        })
        .collect();
    Error::precondition(
        format!(
            "decisions already drafted as items, not drafted again: {}",
            named("a draft not yet registered").join("; ")
        ),
        format!("{};同一决定事项不重复立项,未起草任何事项", zh.join(";")),
    )
}

/// An item as a mutation answers it: with its decomposition's roll-up, as
/// GetItem shows it (a bare count of children read as a roll-up of 0).
async fn shown(conn: &mut PgConnection, item: &Item) -> Result<pb::Item> {
    if item.children == 0 {
        return Ok(conv::item(item, None));
    }
    let rollup = store::rollup(conn, item.id).await?;
    Ok(conv::item(item, Some(&rollup)))
}

fn item_not_found(id: Uuid) -> Error {
    Error::not_found("item", "督办事项", id)
}

fn json<T: serde::Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

fn illegal(e: rules::IllegalTransition) -> Error {
    Error::precondition(e.reason(), e.reason_zh())
}

async fn item_change(
    conn: &mut PgConnection,
    action: &'static str,
    item: &Item,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<Change> {
    Ok(Change {
        action,
        target_kind: "item",
        target_id: item.id.to_string(),
        before,
        after,
        unit_ids: units_for_events(conn, &item.unit_ids()).await?,
    })
}

/// The units an event about `units` is filed under: their whole chains up
/// to the root, as for units, people and assignments.
async fn units_for_events(conn: &mut PgConnection, units: &[Uuid]) -> Result<Vec<Uuid>> {
    let mut ancestries = Vec::new();
    for u in units {
        ancestries.push(ancestry_of(conn, *u).await?);
    }
    Ok(duban_core::org::event_units(ancestries.iter().map(Vec::as_slice)))
}

/// Whether any of `ancestries` reaches into `scope`.
fn inside(ancestries: &[Vec<Uuid>], scope: &[Uuid]) -> Scope {
    if ancestries.iter().flatten().any(|u| scope.contains(u)) {
        Scope::Inside
    } else {
        Scope::Outside
    }
}

async fn ancestry_of(conn: &mut PgConnection, unit: Uuid) -> Result<Vec<Uuid>> {
    Ok(org_store::unit(&mut *conn, unit)
        .await?
        .map(|u| u.ancestry)
        .unwrap_or_default())
}

/// Checks `action` on an item of `court` whose units are `units`: offices
/// and leaders by the court, heads and liaisons by the units.
pub(super) async fn authorize_item(
    conn: &mut PgConnection,
    p: &Principal,
    action: Action,
    court: Uuid,
    units: &[Uuid],
) -> Result<()> {
    let court_ancestry = vec![ancestry_of(conn, court).await?];
    let mut unit_ancestries = Vec::new();
    for u in units {
        unit_ancestries.push(ancestry_of(conn, *u).await?);
    }
    access::authorize_by_role(&p.roles, action, |role| {
        if role.is_unit_bound() {
            inside(&unit_ancestries, &p.unit_scope)
        } else {
            inside(&court_ancestry, &p.unit_scope)
        }
    })?;
    Ok(())
}

fn item_units(f: &ItemFields) -> Vec<Uuid> {
    let mut units = vec![f.lead_unit_id];
    units.extend(f.co_unit_ids.iter().copied());
    units
}

/// Reads the editable fields of an item message; what can be judged without
/// the database is judged here.
fn fields_from(prefix: &str, item: &pb::Item, v: &mut Violations) -> Result<ItemFields> {
    let urgency = conv::urgency_from(item.urgency);
    let deadline = date_from(&format!("{prefix}deadline"), item.deadline.as_ref(), v);
    rules::check_class(prefix, urgency, &item.urgency_reason, deadline, v);
    let mut co_unit_ids = Vec::new();
    for (i, u) in item.co_unit_ids.iter().enumerate() {
        let u = id(&format!("{prefix}co_unit_ids[{i}]"), u)?;
        if !co_unit_ids.contains(&u) {
            co_unit_ids.push(u);
        }
    }
    let mut tags: Vec<String> = Vec::new();
    for t in &item.tags {
        let t = t.trim().to_owned();
        if !t.is_empty() && !tags.contains(&t) {
            tags.push(t);
        }
    }
    let targets = item
        .targets
        .iter()
        .map(|t| Target {
            what: t.what.trim().to_owned(),
            target_value: t.target_value,
            unit_of_measure: t.unit_of_measure.trim().to_owned(),
        })
        .collect();
    let lead = if item.lead_unit_id.is_empty() {
        v.add(format!("{prefix}lead_unit_id"), "is required", "须指定主办单位");
        Uuid::nil()
    } else {
        id(&format!("{prefix}lead_unit_id"), &item.lead_unit_id)?
    };
    Ok(ItemFields {
        title: item.title.trim().to_owned(),
        requirements: item.requirements.trim().to_owned(),
        source_id: optional_id(&format!("{prefix}source_id"), &item.source_id)?,
        urgency: urgency.unwrap_or(rules::UrgencyClass::General),
        urgency_reason: item.urgency_reason.trim().to_owned(),
        deadline,
        lead_unit_id: lead,
        co_unit_ids,
        supervising_leader_id: optional_id(&format!("{prefix}supervising_leader_id"), &item.supervising_leader_id)?,
        tags,
        targets,
        continuing_attention: item.continuing_attention,
        assignee_person_id: optional_id(&format!("{prefix}assignee_person_id"), &item.assignee_person_id)?,
    })
}

/// The checks that need no database: lengths and counts.
fn check_fields_shape(prefix: &str, f: &ItemFields, v: &mut Violations) {
    let title_len = f.title.chars().count();
    if title_len == 0 {
        v.add(format!("{prefix}title"), "is required", "事项名称不能为空");
    } else if title_len > ITEM_TITLE {
        v.add(
            format!("{prefix}title"),
            format!("must be at most {ITEM_TITLE} characters"),
            format!("事项名称不能超过{ITEM_TITLE}个字"),
        );
    }
    if f.requirements.chars().count() > REQUIREMENTS {
        v.add(
            format!("{prefix}requirements"),
            format!("must be at most {REQUIREMENTS} characters"),
            format!("办理要求不能超过{REQUIREMENTS}个字"),
        );
    }
    if f.co_unit_ids.contains(&f.lead_unit_id) {
        v.add(
            format!("{prefix}co_unit_ids"),
            "must not repeat the lead unit",
            "协办单位不能与主办单位相同",
        );
    }
    if f.co_unit_ids.len() > MAX_CO_UNITS {
        v.add(
            format!("{prefix}co_unit_ids"),
            format!("at most {MAX_CO_UNITS} co-units"),
            format!("协办单位不能超过{MAX_CO_UNITS}个"),
        );
    }
    if f.tags.len() > MAX_TAGS || f.tags.iter().any(|t| t.chars().count() > TAG) {
        v.add(
            format!("{prefix}tags"),
            format!("at most {MAX_TAGS} tags of at most {TAG} characters"),
            format!("标签不超过{MAX_TAGS}个,每个不超过{TAG}个字"),
        );
    }
    if f.targets.len() > MAX_TARGETS {
        v.add(
            format!("{prefix}targets"),
            format!("at most {MAX_TARGETS} targets"),
            format!("指标不能超过{MAX_TARGETS}项"),
        );
    }
    for (i, t) in f.targets.iter().enumerate() {
        if t.what.is_empty() {
            v.add(format!("{prefix}targets[{i}].what"), "is required", "指标内容不能为空");
        }
        if !t.target_value.is_finite() || t.target_value < 0.0 {
            v.add(
                format!("{prefix}targets[{i}].target_value"),
                "must be a non-negative number",
                "目标值须为非负数",
            );
        }
    }
}

/// The checks against the directory: units in the court, a real leader, a
/// source of the same court, an existing person.
async fn check_fields_refs(
    conn: &mut PgConnection,
    court: Uuid,
    prefix: &str,
    f: &ItemFields,
    v: &mut Violations,
) -> Result<()> {
    let in_court = |ancestry: &[Uuid]| ancestry.contains(&court);
    match org_store::unit(&mut *conn, f.lead_unit_id).await? {
        Some(u) if !u.active => v.add(format!("{prefix}lead_unit_id"), "is inactive", "主办单位已停用"),
        Some(u) if !in_court(&u.ancestry) => v.add(
            format!("{prefix}lead_unit_id"),
            "is not a unit of this court",
            "主办单位不属于本院",
        ),
        Some(_) => {}
        None if f.lead_unit_id.is_nil() => {}
        None => v.add(
            format!("{prefix}lead_unit_id"),
            "names no existing unit",
            "主办单位不存在",
        ),
    }
    for (i, u) in f.co_unit_ids.iter().enumerate() {
        match org_store::unit(&mut *conn, *u).await? {
            Some(u) if u.active && in_court(&u.ancestry) => {}
            Some(_) => v.add(
                format!("{prefix}co_unit_ids[{i}]"),
                "is inactive or not a unit of this court",
                "协办单位已停用或不属于本院",
            ),
            None => v.add(
                format!("{prefix}co_unit_ids[{i}]"),
                "names no existing unit",
                "协办单位不存在",
            ),
        }
    }
    if let Some(leader) = f.supervising_leader_id {
        if org_store::person(&mut *conn, leader).await?.is_none() {
            v.add(
                format!("{prefix}supervising_leader_id"),
                "names no existing person",
                "分管领导不存在",
            );
        } else if !org_store::has_role(&mut *conn, leader, &[Role::Leader, Role::President]).await? {
            v.add(
                format!("{prefix}supervising_leader_id"),
                "is not a leader (院领导)",
                "所选人员不是院领导",
            );
        }
    }
    if let Some(source) = f.source_id {
        match store::source(conn, source).await? {
            Some(s) if s.fields.court_id == court => {}
            Some(_) => v.add(
                format!("{prefix}source_id"),
                "belongs to another court's ledger",
                "督办来源不属于本院",
            ),
            None => v.add(
                format!("{prefix}source_id"),
                "names no existing source",
                "督办来源不存在",
            ),
        }
    }
    if let Some(person) = f.assignee_person_id {
        if org_store::person(&mut *conn, person).await?.is_none() {
            v.add(
                format!("{prefix}assignee_person_id"),
                "names no existing person",
                "承办人不存在",
            );
        }
    }
    Ok(())
}

impl ItemService {
    pub fn new(pool: PgPool, clock: Clock, tz: chrono_tz::Tz) -> Self {
        Self {
            pool,
            clock,
            tz,
            grams: Default::default(),
        }
    }

    /// The bigram of `text` that occurs least often in the ledger.
    async fn rarest_gram(&self, text: &str) -> Result<Option<String>> {
        let grams = bigrams(text);
        if grams.is_empty() {
            return Ok(None);
        }
        let fresh = self
            .grams
            .read()
            .await
            .read_at
            .is_some_and(|t| t.elapsed() < GRAM_STATS_TTL);
        if !fresh {
            let frequency = store::gram_frequencies(&self.pool).await?;
            *self.grams.write().await = GramStats {
                read_at: Some(std::time::Instant::now()),
                frequency,
            };
        }
        let stats = self.grams.read().await;
        // Not among the common ones: rarer than any of them.
        Ok(grams.into_iter().min_by(|a, b| {
            let fa = stats.frequency.get(a).copied().unwrap_or(0.0);
            let fb = stats.frequency.get(b).copied().unwrap_or(0.0);
            fa.total_cmp(&fb)
        }))
    }

    async fn context(&self, principal: &Principal, request_id: &str) -> Result<MutationContext> {
        Ok(MutationContext {
            principal: principal.clone(),
            request_id: request_id.to_owned(),
            now: self.clock.now().await?,
            service: SERVICE,
        })
    }

    pub(super) async fn now(&self) -> Result<DateTime<Utc>> {
        self.clock.now().await
    }

    pub(super) fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The court an office means: the one asked for, or the caller's only court.
    pub(super) async fn court(
        &self,
        conn: &mut PgConnection,
        p: &Principal,
        requested: &str,
        field: &str,
    ) -> Result<Uuid> {
        let court = match optional_id(field, requested)? {
            Some(c) => c,
            None => match p.unit_scope.as_slice() {
                [only] => *only,
                // An admin of a one-court deployment means that court.
                [] => match org_store::root_courts(&mut *conn).await?.as_slice() {
                    [only] => *only,
                    _ => {
                        return Err(Error::invalid(
                            field,
                            "is required (there are several courts)",
                            "须指定所属法院",
                        ));
                    }
                },
                _ => {
                    return Err(Error::invalid(
                        field,
                        "is required (the caller acts for several courts)",
                        "须指定所属法院",
                    ));
                }
            },
        };
        match org_store::unit(&mut *conn, court).await? {
            Some(u) if matches!(u.kind, UnitKind::Court | UnitKind::GrassrootsCourt) => Ok(court),
            Some(_) => Err(Error::invalid(field, "is not a court", "所指定单位不是法院")),
            None => Err(Error::invalid(field, "names no existing unit", "所指定法院不存在")),
        }
    }

    /// What the caller may see of the ledger.
    async fn ledger_scope(&self, p: &Principal) -> Result<LedgerScope> {
        p.authorize_role(Action::ReadLedger)?;
        if p.is_admin() {
            return Ok(LedgerScope {
                unrestricted: true,
                ..Default::default()
            });
        }
        let within = store::units_within(&self.pool, &p.unit_scope).await?;
        let reads = |unit_bound: bool| {
            p.roles
                .iter()
                .any(|r| r.is_unit_bound() == unit_bound && Action::ReadLedger.roles().contains(r))
        };
        Ok(LedgerScope {
            unrestricted: false,
            courts: if reads(false) { within.clone() } else { Vec::new() },
            units: if reads(true) { within } else { Vec::new() },
        })
    }

    // ---- sources ------------------------------------------------------------

    pub async fn create_source(&self, p: &Principal, req: &pb::CreateSourceRequest) -> Result<pb::Source> {
        let input = req.source.clone().unwrap_or_default();
        let mut v = Violations::new();
        let kind = conv::source_kind_from(input.kind);
        if kind.is_none() {
            v.add("source.kind", "is required", "须选择督办来源类别");
        }
        let title = input.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > SOURCE_TITLE {
            v.add(
                "source.title",
                format!("is required, at most {SOURCE_TITLE} characters"),
                format!("来源文件标题不能为空,且不超过{SOURCE_TITLE}个字"),
            );
        }
        let doc_date = date_from("source.doc_date", input.doc_date.as_ref(), &mut v);
        let link = input.oa_link.trim().to_owned();
        if !link.is_empty() && !(link.starts_with("http://") || link.starts_with("https://")) {
            v.add(
                "source.oa_link",
                "must be an http(s) link",
                "OA链接须以 http:// 或 https:// 开头",
            );
        }
        let decisions: Vec<String> = input.decisions.iter().map(|d| d.text.trim().to_owned()).collect();
        if let Some(kind) = kind {
            if !decisions.is_empty() && !kind.has_decisions() {
                v.add(
                    "source.decisions",
                    "only meeting minutes carry decisions",
                    "只有会议纪要类来源可以列明决定事项",
                );
            }
        }
        for (i, d) in decisions.iter().enumerate() {
            if d.is_empty() {
                v.add(
                    format!("source.decisions[{i}].text"),
                    "is required",
                    "决定事项内容不能为空",
                );
            }
        }
        v.into_result().map_err(Error::InvalidArgument)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(
            &self.pool,
            &ctx,
            "CreateSource",
            req,
            async |conn: &mut PgConnection| {
                let court = self.court(conn, p, &input.court_id, "source.court_id").await?;
                authorize_item(conn, p, Action::DraftItems, court, &[]).await?;
                let fields = SourceFields {
                    court_id: court,
                    kind: kind.expect("checked"),
                    title: title.clone(),
                    doc_number: input.doc_number.trim().to_owned(),
                    doc_date,
                    issuer: input.issuer.trim().to_owned(),
                    oa_link: link.clone(),
                };
                let source_id = Uuid::now_v7();
                store::insert_source(conn, source_id, &fields, &decisions, ctx.now).await?;
                let source = store::source(conn, source_id).await?.expect("just inserted");
                let change = Change {
                    action: "source.created",
                    target_kind: "source",
                    target_id: source_id.to_string(),
                    before: None,
                    after: json(&source),
                    unit_ids: units_for_events(conn, &[court]).await?,
                };
                Ok((conv::source(&source), vec![change]))
            },
        )
        .await
    }

    pub async fn get_source(&self, p: &Principal, source_id: &str) -> Result<pb::Source> {
        let source_id = id("id", source_id)?;
        let mut conn = self.pool.acquire().await?;
        let source = store::source(&mut conn, source_id)
            .await?
            .ok_or_else(|| Error::not_found("source", "督办来源", source_id))?;
        authorize_item(&mut conn, p, Action::ReadLedger, source.fields.court_id, &[]).await?;
        Ok(conv::source(&source))
    }

    pub async fn list_sources(&self, p: &Principal, req: &pb::ListSourcesRequest) -> Result<pb::ListSourcesResponse> {
        let scope = self.ledger_scope(p).await?;
        let mut courts: Option<Vec<Uuid>> = if scope.unrestricted { None } else { Some(scope.courts) };
        if let Some(court) = optional_id("court_id", &req.court_id)? {
            courts = Some(match courts {
                Some(list) => list.into_iter().filter(|c| *c == court).collect(),
                None => vec![court],
            });
        }
        let limit = page::page_size(req.page_size)?;
        let after = match page::decode(&req.page_token, 1)? {
            Some(k) => Some(id("page_token", &k[0])?),
            None => None,
        };
        let mut sources = store::list_sources(
            &self.pool,
            conv::source_kind_from(req.kind),
            courts.as_deref(),
            after,
            limit + 1,
        )
        .await?;
        let next = page::cut(&mut sources, limit, |s: &Source| page::encode(&[&s.id.to_string()]));
        store::attach_decisions(&self.pool, &mut sources).await?;
        let mut messages: Vec<pb::Source> = sources.iter().map(conv::source).collect();
        let next = page::fit(&mut messages, next, |n| page::encode(&[&sources[n].id.to_string()]));
        Ok(pb::ListSourcesResponse {
            sources: messages,
            next_page_token: next,
        })
    }

    // ---- items --------------------------------------------------------------

    pub async fn create_item(&self, p: &Principal, req: &pb::CreateItemRequest) -> Result<pb::Item> {
        let input = req.item.clone().unwrap_or_default();
        let mut v = Violations::new();
        let fields = fields_from("item.", &input, &mut v)?;
        check_fields_shape("item.", &fields, &mut v);
        if fields.source_id.is_none() {
            v.add(
                "item.source_id",
                "is required: register the source document first",
                "须先登记督办来源",
            );
        }
        v.into_result().map_err(Error::InvalidArgument)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(&self.pool, &ctx, "CreateItem", req, async |conn: &mut PgConnection| {
            let court = self.court(conn, p, &input.court_id, "item.court_id").await?;
            authorize_item(conn, p, Action::DraftItems, court, &[]).await?;
            let mut v = Violations::new();
            check_fields_refs(conn, court, "item.", &fields, &mut v).await?;
            v.into_result().map_err(Error::InvalidArgument)?;
            let item_id = Uuid::now_v7();
            let ancestry = [item_id];
            let new = NewItem::draft(item_id, court, &fields, &ancestry);
            store::insert_item(conn, &new, ctx.now).await?;
            let item = store::item(&mut *conn, item_id)
                .await?
                .ok_or_else(|| item_not_found(item_id))?;
            let change = item_change(conn, "item.created", &item, None, json(&item)).await?;
            Ok((conv::item(&item, None), vec![change]))
        })
        .await
    }

    pub async fn get_item(&self, p: &Principal, item_id: &str) -> Result<pb::Item> {
        let item_id = id("id", item_id)?;
        let mut conn = self.pool.acquire().await?;
        let item = store::item(&mut *conn, item_id)
            .await?
            .ok_or_else(|| item_not_found(item_id))?;
        authorize_item(
            &mut conn,
            p,
            Action::ReadLedger,
            item.court_id,
            &item_units(&item.fields),
        )
        .await?;
        let rollup = store::rollup(&mut conn, item_id).await?;
        Ok(conv::item(&item, Some(&rollup)))
    }

    pub async fn update_item(&self, p: &Principal, req: &pb::UpdateItemRequest) -> Result<pb::Item> {
        let input = req.item.clone().unwrap_or_default();
        let item_id = id("item.id", &input.id)?;
        let version = version_from_etag("item.etag", &input.etag)?;
        let paths = match &req.update_mask {
            Some(m) if !m.paths.is_empty() => m.paths.clone(),
            _ => {
                return Err(Error::invalid(
                    "update_mask",
                    "is required: list the fields to change",
                    "须在 update_mask 中列出要修改的字段",
                ));
            }
        };
        let ctx = self.context(p, &req.request_id).await?;
        mutate(&self.pool, &ctx, "UpdateItem", req, async |conn: &mut PgConnection| {
            let current = self.locked(conn, item_id, version).await?;
            authorize_item(conn, p, Action::DraftItems, current.court_id, &[]).await?;
            rules::transition(current.state, RegistrationAction::Edit).map_err(illegal)?;
            // Start from the stored item as a message, overlay the masked fields.
            let mut merged = conv::item(&current, None);
            let mut v = Violations::new();
            for path in &paths {
                match path.as_str() {
                    "title" => merged.title = input.title.clone(),
                    "requirements" => merged.requirements = input.requirements.clone(),
                    "source_id" => merged.source_id = input.source_id.clone(),
                    "urgency" => merged.urgency = input.urgency,
                    "urgency_reason" => merged.urgency_reason = input.urgency_reason.clone(),
                    "deadline" => merged.deadline = input.deadline,
                    "lead_unit_id" => merged.lead_unit_id = input.lead_unit_id.clone(),
                    "co_unit_ids" => merged.co_unit_ids = input.co_unit_ids.clone(),
                    "supervising_leader_id" => merged.supervising_leader_id = input.supervising_leader_id.clone(),
                    "tags" => merged.tags = input.tags.clone(),
                    "targets" => merged.targets = input.targets.clone(),
                    "continuing_attention" => merged.continuing_attention = input.continuing_attention,
                    "assignee_person_id" => merged.assignee_person_id = input.assignee_person_id.clone(),
                    other => v.add(
                        "update_mask",
                        format!("`{other}` is not an updatable item field"),
                        format!("“{other}”不是可修改的事项字段"),
                    ),
                }
            }
            let fields = fields_from("item.", &merged, &mut v)?;
            check_fields_shape("item.", &fields, &mut v);
            check_fields_refs(conn, current.court_id, "item.", &fields, &mut v).await?;
            v.into_result().map_err(Error::InvalidArgument)?;
            if fields == current.fields {
                return Ok((shown(conn, &current).await?, Vec::new()));
            }
            store::update_fields(conn, item_id, &fields, ctx.now).await?;
            let item = store::item(&mut *conn, item_id)
                .await?
                .ok_or_else(|| item_not_found(item_id))?;
            let change = item_change(conn, "item.updated", &item, json(&current.fields), json(&item.fields)).await?;
            Ok((shown(conn, &item).await?, vec![change]))
        })
        .await
    }

    /// The item locked for change, checked against the etag the caller read.
    async fn locked(&self, conn: &mut PgConnection, item_id: Uuid, version: i64) -> Result<Item> {
        let item = store::item_for_update(conn, item_id)
            .await?
            .ok_or_else(|| item_not_found(item_id))?;
        if item.version != version {
            return Err(Error::StaleEtag {
                kind: "item",
                id: item_id.to_string(),
            });
        }
        Ok(item)
    }

    pub async fn submit_item(&self, p: &Principal, req: &pb::SubmitItemRequest) -> Result<pb::Item> {
        let item_id = id("id", &req.id)?;
        let version = version_from_etag("etag", &req.etag)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(&self.pool, &ctx, "SubmitItem", req, async |conn: &mut PgConnection| {
            let current = self.locked(conn, item_id, version).await?;
            authorize_item(conn, p, Action::DraftItems, current.court_id, &[]).await?;
            let state = rules::transition(current.state, RegistrationAction::Submit).map_err(illegal)?;
            let review = Review {
                state,
                reviewed_by: &current.reviewed_by,
                comment: &current.review_comment,
                number: None,
                registered_at: None,
                registered_on: None,
            };
            store::set_review(conn, item_id, &review, ctx.now).await?;
            let item = store::item(&mut *conn, item_id)
                .await?
                .ok_or_else(|| item_not_found(item_id))?;
            let change = item_change(
                conn,
                "item.submitted",
                &item,
                json(&current.registration()),
                json(&item.registration()),
            )
            .await?;
            Ok((shown(conn, &item).await?, vec![change]))
        })
        .await
    }

    pub async fn approve_item(&self, p: &Principal, req: &pb::ApproveItemRequest) -> Result<pb::Item> {
        let item_id = id("id", &req.id)?;
        let version = version_from_etag("etag", &req.etag)?;
        let mut v = Violations::new();
        let new_class = conv::urgency_from(req.urgency);
        let new_deadline = date_from("deadline", req.deadline.as_ref(), &mut v);
        v.into_result().map_err(Error::InvalidArgument)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(&self.pool, &ctx, "ApproveItem", req, async |conn: &mut PgConnection| {
            let current = self.locked(conn, item_id, version).await?;
            authorize_item(conn, p, Action::ApproveItems, current.court_id, &[]).await?;
            rules::transition(current.state, RegistrationAction::Approve).map_err(illegal)?;
            if let Some(parent) = current.parent_id {
                let parent = store::item(&mut *conn, parent)
                    .await?
                    .ok_or_else(|| item_not_found(parent))?;
                if parent.state != RegistrationState::Registered {
                    return Err(Error::precondition(
                        "the parent item is not registered yet: approve it first (its sub-items follow)",
                        "上级事项尚未立项,请先审批上级事项(其分解事项随之立项)",
                    ));
                }
            }
            let mut changes = Vec::new();
            // The approver confirms the class or sets another, with its reason.
            if let Some(class) = new_class.filter(|c| *c != current.fields.urgency) {
                let mut v = Violations::new();
                rules::check_class("", Some(class), &req.urgency_reason, new_deadline, &mut v);
                v.into_result().map_err(Error::InvalidArgument)?;
                let fields = ItemFields {
                    urgency: class,
                    urgency_reason: req.urgency_reason.trim().to_owned(),
                    deadline: new_deadline,
                    ..current.fields.clone()
                };
                store::update_fields(conn, item_id, &fields, ctx.now).await?;
                changes.push(
                    item_change(
                        conn,
                        "item.reclassified",
                        &current,
                        json(&current.fields),
                        json(&fields),
                    )
                    .await?,
                );
            }
            let comment = req.comment.trim();
            changes.push(self.register(conn, &ctx, item_id, comment).await?);
            for descendant in store::unregistered_descendants(conn, item_id).await? {
                changes.push(self.register(conn, &ctx, descendant, comment).await?);
            }
            let item = store::item(&mut *conn, item_id)
                .await?
                .ok_or_else(|| item_not_found(item_id))?;
            Ok((shown(conn, &item).await?, changes))
        })
        .await
    }

    /// Registers one item (立项): number, time, reviewer.
    async fn register(
        &self,
        conn: &mut PgConnection,
        ctx: &MutationContext,
        item_id: Uuid,
        comment: &str,
    ) -> Result<Change> {
        let before = store::item(&mut *conn, item_id)
            .await?
            .ok_or_else(|| item_not_found(item_id))?;
        let on = self.local_date(ctx.now);
        let number = match before.parent_id {
            Some(parent) => {
                let parent_number = store::item(&mut *conn, parent)
                    .await?
                    .and_then(|p| p.number)
                    .ok_or_else(|| anyhow::anyhow!("registered parent {parent} has no number"))?;
                rules::sub_item_number(&parent_number, store::numbered_children(conn, parent).await? + 1)
            }
            None => rules::item_number(
                on.year(),
                store::reserve_numbers(conn, before.court_id, on.year(), 1).await?,
            ),
        };
        let review = Review {
            state: RegistrationState::Registered,
            reviewed_by: &ctx.principal.name,
            comment,
            number: Some(&number),
            registered_at: Some(ctx.now),
            registered_on: Some(on),
        };
        store::set_review(conn, item_id, &review, ctx.now).await?;
        let after = store::item(&mut *conn, item_id)
            .await?
            .ok_or_else(|| item_not_found(item_id))?;
        item_change(
            conn,
            "item.registered",
            &after,
            json(&before.registration()),
            json(&after.registration()),
        )
        .await
    }

    pub async fn reject_item(&self, p: &Principal, req: &pb::RejectItemRequest) -> Result<pb::Item> {
        let item_id = id("id", &req.id)?;
        let version = version_from_etag("etag", &req.etag)?;
        let comment = req.comment.trim().to_owned();
        if comment.is_empty() {
            return Err(Error::invalid(
                "comment",
                "is required: say what to change",
                "退回须填写意见",
            ));
        }
        let ctx = self.context(p, &req.request_id).await?;
        mutate(&self.pool, &ctx, "RejectItem", req, async |conn: &mut PgConnection| {
            let current = self.locked(conn, item_id, version).await?;
            authorize_item(conn, p, Action::ApproveItems, current.court_id, &[]).await?;
            let state = rules::transition(current.state, RegistrationAction::Reject).map_err(illegal)?;
            let review = Review {
                state,
                reviewed_by: &ctx.principal.name,
                comment: &comment,
                number: None,
                registered_at: None,
                registered_on: None,
            };
            store::set_review(conn, item_id, &review, ctx.now).await?;
            let item = store::item(&mut *conn, item_id)
                .await?
                .ok_or_else(|| item_not_found(item_id))?;
            let change = item_change(
                conn,
                "item.rejected",
                &item,
                json(&current.registration()),
                json(&item.registration()),
            )
            .await?;
            Ok((shown(conn, &item).await?, vec![change]))
        })
        .await
    }

    pub async fn register_from_decisions(
        &self,
        p: &Principal,
        req: &pb::RegisterItemsFromDecisionsRequest,
    ) -> Result<pb::RegisterItemsFromDecisionsResponse> {
        let source_id = id("source_id", &req.source_id)?;
        if req.decision_ids.is_empty() {
            return Err(Error::invalid(
                "decision_ids",
                "select at least one decision",
                "请至少选择一项决定事项",
            ));
        }
        let mut decision_ids = Vec::new();
        for (i, d) in req.decision_ids.iter().enumerate() {
            let d = id(&format!("decision_ids[{i}]"), d)?;
            if !decision_ids.contains(&d) {
                decision_ids.push(d);
            }
        }
        let template = req.template.clone().unwrap_or_default();
        let ctx = self.context(p, &req.request_id).await?;
        mutate(
            &self.pool,
            &ctx,
            "RegisterItemsFromDecisions",
            req,
            async |conn: &mut PgConnection| {
                let source = store::source(conn, source_id)
                    .await?
                    .ok_or_else(|| Error::not_found("source", "督办来源", source_id))?;
                let court = source.fields.court_id;
                authorize_item(conn, p, Action::DraftItems, court, &[]).await?;
                // A decision is registered once: drafting it again would put
                // the same work on the ledger twice.
                let taken = store::items_of_decisions(conn, &decision_ids).await?;
                if !taken.is_empty() {
                    return Err(decisions_taken(&taken));
                }
                let mut v = Violations::new();
                let mut out = Vec::new();
                let mut changes = Vec::new();
                for (i, decision_id) in decision_ids.iter().enumerate() {
                    let Some(decision) = source.decisions.iter().find(|d| d.id == *decision_id) else {
                        v.add(
                            format!("decision_ids[{i}]"),
                            "is not a decision of this source",
                            "不是该会议纪要的决定事项",
                        );
                        continue;
                    };
                    let message = pb::Item {
                        title: if template.title.trim().is_empty() {
                            decision.text.chars().take(200).collect()
                        } else {
                            format!("{}({})", template.title.trim(), decision.seq)
                        },
                        requirements: if template.requirements.trim().is_empty() {
                            decision.text.clone()
                        } else {
                            template.requirements.clone()
                        },
                        source_id: source_id.to_string(),
                        ..template.clone()
                    };
                    let prefix = format!("decisions[{i}].");
                    let fields = fields_from(&prefix, &message, &mut v)?;
                    check_fields_shape(&prefix, &fields, &mut v);
                    check_fields_refs(conn, court, &prefix, &fields, &mut v).await?;
                    if !v.is_empty() {
                        continue;
                    }
                    let item_id = Uuid::now_v7();
                    let ancestry = [item_id];
                    let new = NewItem {
                        decision_id: Some(*decision_id),
                        ..NewItem::draft(item_id, court, &fields, &ancestry)
                    };
                    store::insert_item(conn, &new, ctx.now).await?;
                    let item = store::item(&mut *conn, item_id)
                        .await?
                        .ok_or_else(|| item_not_found(item_id))?;
                    changes.push(item_change(conn, "item.created", &item, None, json(&item)).await?);
                    out.push(conv::item(&item, None));
                }
                v.into_result().map_err(Error::InvalidArgument)?;
                Ok((pb::RegisterItemsFromDecisionsResponse { items: out }, changes))
            },
        )
        .await
    }

    pub async fn decompose_item(
        &self,
        p: &Principal,
        req: &pb::DecomposeItemRequest,
    ) -> Result<pb::DecomposeItemResponse> {
        let parent_id = id("id", &req.id)?;
        if req.children.is_empty() || req.children.len() > MAX_CHILDREN {
            return Err(Error::invalid(
                "children",
                &format!("give 1 to {MAX_CHILDREN} sub-items"),
                &format!("分解事项须为1至{MAX_CHILDREN}项"),
            ));
        }
        let ctx = self.context(p, &req.request_id).await?;
        mutate(
            &self.pool,
            &ctx,
            "DecomposeItem",
            req,
            async |conn: &mut PgConnection| {
                let parent = store::item_for_update(conn, parent_id)
                    .await?
                    .ok_or_else(|| item_not_found(parent_id))?;
                authorize_item(conn, p, Action::DraftItems, parent.court_id, &[]).await?;
                let state = rules::transition(parent.state, RegistrationAction::Decompose)
                    .map(rules::child_state)
                    .map_err(illegal)?;
                let mut v = Violations::new();
                let mut children = Vec::new();
                let mut changes = Vec::new();
                for (i, sub) in req.children.iter().enumerate() {
                    let prefix = format!("children[{i}].");
                    let level = conv::level_from(sub.level);
                    let Some(level) = level else {
                        v.add(
                            format!("{prefix}level"),
                            "is required (unit, project, post or person)",
                            "须选择分解层级",
                        );
                        continue;
                    };
                    let assignee = optional_id(&format!("{prefix}assignee_person_id"), &sub.assignee_person_id)?;
                    let mut lead = optional_id(&format!("{prefix}lead_unit_id"), &sub.lead_unit_id)?;
                    if level == DecompositionLevel::Unit && lead.is_none() {
                        v.add(
                            format!("{prefix}lead_unit_id"),
                            "is required for a unit sub-item",
                            "分解到单位须指定单位",
                        );
                    }
                    if level.needs_person() {
                        match assignee {
                            None => v.add(
                                format!("{prefix}assignee_person_id"),
                                "is required for a post or person sub-item",
                                "落实到岗位或个人须指定承办人",
                            ),
                            Some(person) if lead.is_none() => {
                                lead = org_store::person(&mut *conn, person).await?.map(|p| p.unit_id);
                            }
                            Some(_) => {}
                        }
                    }
                    let lead = lead.unwrap_or(parent.fields.lead_unit_id);
                    // A share for another unit is followed by that unit's
                    // 分管 leader, where it has exactly one, not the parent's.
                    let mut leader = parent.fields.supervising_leader_id;
                    if lead != parent.fields.lead_unit_id
                        && let Some(unit) = org_store::unit(&mut *conn, lead).await?
                        && let [only] = unit.supervising_leaders.as_slice()
                    {
                        leader = Some(only.id);
                    }
                    let fields = ItemFields {
                        title: sub.title.trim().to_owned(),
                        requirements: sub.requirements.trim().to_owned(),
                        lead_unit_id: lead,
                        supervising_leader_id: leader,
                        co_unit_ids: Vec::new(),
                        targets: sub
                            .targets
                            .iter()
                            .map(|t| Target {
                                what: t.what.trim().to_owned(),
                                target_value: t.target_value,
                                unit_of_measure: t.unit_of_measure.trim().to_owned(),
                            })
                            .collect(),
                        assignee_person_id: assignee,
                        ..parent.fields.clone()
                    };
                    check_fields_shape(&prefix, &fields, &mut v);
                    check_fields_refs(conn, parent.court_id, &prefix, &fields, &mut v).await?;
                    if !v.is_empty() {
                        continue;
                    }
                    let item_id = Uuid::now_v7();
                    let mut ancestry = parent.ancestry.clone();
                    ancestry.push(item_id);
                    let new = NewItem {
                        decision_id: parent.decision_id,
                        parent_id: Some(parent_id),
                        level: Some(level),
                        state,
                        ..NewItem::draft(item_id, parent.court_id, &fields, &ancestry)
                    };
                    store::insert_item(conn, &new, ctx.now).await?;
                    let item = store::item(&mut *conn, item_id)
                        .await?
                        .ok_or_else(|| item_not_found(item_id))?;
                    changes.push(item_change(conn, "item.decomposed", &item, None, json(&item)).await?);
                    children.push(conv::item(&item, None));
                }
                v.into_result().map_err(Error::InvalidArgument)?;
                let parent_now = store::item(&mut *conn, parent_id)
                    .await?
                    .ok_or_else(|| item_not_found(parent_id))?;
                let rollup = store::rollup(conn, parent_id).await?;
                Ok((
                    pb::DecomposeItemResponse {
                        parent: Some(conv::item(&parent_now, Some(&rollup))),
                        children,
                    },
                    changes,
                ))
            },
        )
        .await
    }

    // ---- the ledger -------------------------------------------------------------

    pub async fn list_items(&self, p: &Principal, req: &pb::ListItemsRequest) -> Result<pb::ListItemsResponse> {
        let scope = self.ledger_scope(p).await?;
        let mut filter = ledger_filter(req)?;
        if let Some(text) = &filter.text {
            filter.text_gram = self.rarest_gram(text).await?;
        }
        let limit = page::page_size(req.page_size)?;
        let after = match page::decode(&req.page_token, 1)? {
            Some(k) => Some(
                k[0].parse::<i64>()
                    .map_err(|_| Error::invalid("page_token", "is corrupt", "分页标记无效"))?,
            ),
            None => None,
        };
        let mut items = store::list_items(&self.pool, &filter, &scope, after, limit + 1).await?;
        let next = page::cut(&mut items, limit, |i: &Item| page::encode(&[&i.seq.to_string()]));
        let mut messages: Vec<pb::Item> = items.iter().map(|i| conv::item(i, None)).collect();
        let next = page::fit(&mut messages, next, |n| page::encode(&[&items[n].seq.to_string()]));
        Ok(pb::ListItemsResponse {
            items: messages,
            next_page_token: next,
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Reads the ledger's typed filters.
pub fn ledger_filter(req: &pb::ListItemsRequest) -> Result<LedgerFilter> {
    let mut v = Violations::new();
    let range = |name: &str, r: Option<&pb::DateRange>, v: &mut Violations| match r {
        Some(r) => (
            date_from(&format!("{name}.from"), r.from.as_ref(), v),
            date_from(&format!("{name}.to"), r.to.as_ref(), v),
        ),
        None => (None, None),
    };
    let filter = LedgerFilter {
        source_kind: conv::source_kind_from(req.source_kind),
        unit_id: optional_id("unit_id", &req.unit_id)?,
        supervising_leader_id: optional_id("supervising_leader_id", &req.supervising_leader_id)?,
        urgency: conv::urgency_from(req.urgency),
        state: conv::state_from(req.state),
        registered: range("registered", req.registered.as_ref(), &mut v),
        deadline: range("deadline", req.deadline.as_ref(), &mut v),
        source_date: range("source_date", req.source_date.as_ref(), &mut v),
        tag: Some(req.tag.trim().to_owned()).filter(|t| !t.is_empty()),
        text: Some(req.text.trim().to_owned()).filter(|t| !t.is_empty()),
        text_gram: None,
        parent_id: optional_id("parent_id", &req.parent_id)?,
        top_level_only: req.top_level_only,
        source_id: optional_id("source_id", &req.source_id)?,
        court_id: optional_id("court_id", &req.court_id)?,
        newest_first: req.order == pb::SortOrder::NewestFirst as i32,
    };
    if filter.text.as_ref().is_some_and(|t| t.chars().count() > SEARCH_TEXT) {
        v.add(
            "text",
            format!("must be at most {SEARCH_TEXT} characters"),
            format!("检索词不能超过{SEARCH_TEXT}个字"),
        );
    }
    v.into_result().map_err(Error::InvalidArgument)?;
    Ok(filter)
}
