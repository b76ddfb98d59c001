//! All SQL of sources, items and the ledger.

use super::model::{
    Decision, Item, ItemFields, ItemNames, LedgerFilter, LedgerScope, LedgerStatus, Rollup, Source, SourceFields,
    Target, TargetTotal,
};
use chrono::{DateTime, NaiveDate, Utc};
use duban_core::item::{DecompositionLevel, RegistrationState, SourceKind, UrgencyClass};
use duban_platform::Result;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder, Row};
use uuid::Uuid;

fn bad(what: &str, value: &str) -> duban_platform::Error {
    anyhow::anyhow!("stored {what} `{value}` is not known").into()
}

// ---- sources ----------------------------------------------------------------

fn source_from_row(row: &PgRow) -> Result<Source> {
    let kind: String = row.try_get("kind")?;
    Ok(Source {
        id: row.try_get("id")?,
        fields: SourceFields {
            court_id: row.try_get("court_id")?,
            kind: SourceKind::from_code(&kind).ok_or_else(|| bad("source kind", &kind))?,
            title: row.try_get("title")?,
            doc_number: row.try_get("doc_number")?,
            doc_date: row.try_get("doc_date")?,
            issuer: row.try_get("issuer")?,
            oa_link: row.try_get("oa_link")?,
        },
        decisions: Vec::new(),
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
    })
}

const SOURCE_COLUMNS: &str = "id, court_id, kind, title, doc_number, doc_date, issuer, oa_link, version, created_at";

pub async fn insert_source(
    conn: &mut PgConnection,
    id: Uuid,
    f: &SourceFields,
    decisions: &[String],
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO registry.sources (id, court_id, kind, title, doc_number, doc_date, issuer, oa_link, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(f.court_id)
    .bind(f.kind.code())
    .bind(&f.title)
    .bind(&f.doc_number)
    .bind(f.doc_date)
    .bind(&f.issuer)
    .bind(&f.oa_link)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    for (i, text) in decisions.iter().enumerate() {
        sqlx::query("INSERT INTO registry.decisions (id, source_id, seq, text) VALUES ($1, $2, $3, $4)")
            .bind(Uuid::now_v7())
            .bind(id)
            .bind(i as i32 + 1)
            .bind(text)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The items drafted from any of `decisions` (not their sub-items, which
/// carry the decision on): (decision, its seq, the item's 督办编号 if
/// registered), by decision and item.
pub async fn items_of_decisions(
    conn: &mut PgConnection,
    decisions: &[Uuid],
) -> Result<Vec<(Uuid, i32, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT d.id, d.seq, i.number FROM registry.items i JOIN registry.decisions d ON d.id = i.decision_id \
         WHERE i.decision_id = ANY($1) AND i.parent_id IS NULL ORDER BY d.seq, i.seq",
    )
    .bind(decisions)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn source(conn: &mut PgConnection, id: Uuid) -> Result<Option<Source>> {
    let row = sqlx::query(
        "SELECT id, court_id, kind, title, doc_number, doc_date, issuer, oa_link, version, created_at \
         FROM registry.sources WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut source = source_from_row(&row)?;
    let rows = sqlx::query(
        "SELECT d.id, d.seq, d.text, \
                ARRAY(SELECT i.id FROM registry.items i WHERE i.decision_id = d.id ORDER BY i.seq) AS item_ids \
         FROM registry.decisions d WHERE d.source_id = $1 ORDER BY d.seq",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    source.decisions = rows
        .iter()
        .map(|r| {
            Ok(Decision {
                id: r.try_get("id")?,
                seq: r.try_get("seq")?,
                text: r.try_get("text")?,
                item_ids: r.try_get("item_ids")?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Some(source))
}

/// The source of `kind` with `doc_number` in a court's ledger, if any.
pub async fn source_by_number(
    db: impl PgExecutor<'_>,
    court_id: Uuid,
    kind: SourceKind,
    doc_number: &str,
) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM registry.sources WHERE court_id = $1 AND kind = $2 AND doc_number = $3 ORDER BY created_at LIMIT 1",
    )
    .bind(court_id)
    .bind(kind.code())
    .bind(doc_number)
    .fetch_optional(db)
    .await?)
}

pub async fn list_sources(
    db: impl PgExecutor<'_>,
    kind: Option<SourceKind>,
    courts: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Source>> {
    let mut q = QueryBuilder::<Postgres>::new(format!("SELECT {SOURCE_COLUMNS} FROM registry.sources WHERE true"));
    if let Some(kind) = kind {
        q.push(" AND kind = ").push_bind(kind.code());
    }
    if let Some(courts) = courts {
        q.push(" AND court_id = ANY(").push_bind(courts.to_vec()).push(")");
    }
    if let Some(after) = after {
        q.push(" AND id < ").push_bind(after);
    }
    q.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
    let rows = q.build().fetch_all(db).await?;
    rows.iter().map(source_from_row).collect()
}

/// Fills in the decisions of listed sources, in one query.
pub async fn attach_decisions(db: impl PgExecutor<'_>, sources: &mut [Source]) -> Result<()> {
    let ids: Vec<Uuid> = sources.iter().map(|s| s.id).collect();
    let rows = sqlx::query(
        "SELECT d.source_id, d.id, d.seq, d.text, \
                ARRAY(SELECT i.id FROM registry.items i WHERE i.decision_id = d.id ORDER BY i.seq) AS item_ids \
         FROM registry.decisions d WHERE d.source_id = ANY($1) ORDER BY d.source_id, d.seq",
    )
    .bind(&ids)
    .fetch_all(db)
    .await?;
    for r in rows {
        let source_id: Uuid = r.try_get("source_id")?;
        if let Some(s) = sources.iter_mut().find(|s| s.id == source_id) {
            s.decisions.push(Decision {
                id: r.try_get("id")?,
                seq: r.try_get("seq")?,
                text: r.try_get("text")?,
                item_ids: r.try_get("item_ids")?,
            });
        }
    }
    Ok(())
}

// ---- items -------------------------------------------------------------------

const ITEM_SELECT: &str = "SELECT i.id, i.seq, i.court_id, i.number, i.title, i.requirements, i.source_id, i.decision_id, \
        i.urgency, i.urgency_reason, i.deadline, i.lead_unit_id, i.co_unit_ids, i.supervising_leader_id, i.tags, \
        i.continuing_attention, i.parent_id, i.ancestry, i.level, i.assignee_person_id, i.state, i.review_comment, \
        i.reviewed_by, i.registered_at, i.registered_on, i.progress_note, i.version, i.created_at, i.updated_at, \
        s.kind AS source_kind, coalesce(s.title, '') AS source_title, coalesce(s.doc_number, '') AS source_doc_number, \
        lu.name AS lead_unit_name, \
        ARRAY(SELECT (SELECT u.name FROM registry.units u WHERE u.id = c.id) \
              FROM unnest(i.co_unit_ids) WITH ORDINALITY AS c(id, n) ORDER BY c.n) AS co_unit_names, \
        coalesce(lp.name, '') AS leader_name, coalesce(hp.name, '') AS head_name, \
        coalesce(lq.name, '') AS liaison_name, coalesce(ap.name, '') AS assignee_name, \
        st.state AS status_state, st.state_label AS status_label, st.light AS status_light, \
        st.next_deadline AS status_deadline, st.next_deadline_provisional AS status_deadline_provisional, \
        st.latest_feedback AS status_feedback, \
        st.latest_feedback_at AS status_feedback_at, st.assigned_at AS status_assigned_at, \
        st.final_deadline AS status_final_deadline, st.final_deadline_provisional AS status_final_deadline_provisional, \
        (SELECT count(*) FROM registry.items c WHERE c.parent_id = i.id) AS children, \
        (SELECT coalesce(json_agg(json_build_array(t.what, t.target_value, t.unit_of_measure) ORDER BY t.seq), '[]') \
           FROM registry.item_targets t WHERE t.item_id = i.id) AS targets \
   FROM registry.items i \
   LEFT JOIN registry.sources s ON s.id = i.source_id \
   JOIN registry.units lu ON lu.id = i.lead_unit_id \
   LEFT JOIN registry.people lp ON lp.id = i.supervising_leader_id \
   LEFT JOIN registry.unit_officers ho ON ho.unit_id = i.lead_unit_id AND ho.post = 'head' AND ho.end_at IS NULL \
   LEFT JOIN registry.people hp ON hp.id = ho.person_id \
   LEFT JOIN registry.unit_officers lo ON lo.unit_id = i.lead_unit_id AND lo.post = 'liaison' AND lo.end_at IS NULL \
   LEFT JOIN registry.people lq ON lq.id = lo.person_id \
   LEFT JOIN registry.people ap ON ap.id = i.assignee_person_id \
   LEFT JOIN assignment.ledger_item_status st ON st.item_id = i.id ";

fn item_from_row(row: &PgRow) -> Result<Item> {
    let urgency: String = row.try_get("urgency")?;
    let state: String = row.try_get("state")?;
    let level: Option<String> = row.try_get("level")?;
    let source_kind: Option<String> = row.try_get("source_kind")?;
    let targets: serde_json::Value = row.try_get("targets")?;
    let targets = targets
        .as_array()
        .map(|list| {
            list.iter()
                .map(|t| Target {
                    what: t[0].as_str().unwrap_or_default().to_owned(),
                    target_value: t[1].as_f64().unwrap_or_default(),
                    unit_of_measure: t[2].as_str().unwrap_or_default().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    let status_state: Option<String> = row.try_get("status_state")?;
    Ok(Item {
        id: row.try_get("id")?,
        seq: row.try_get("seq")?,
        court_id: row.try_get("court_id")?,
        number: row.try_get("number")?,
        fields: ItemFields {
            title: row.try_get("title")?,
            requirements: row.try_get("requirements")?,
            source_id: row.try_get("source_id")?,
            urgency: UrgencyClass::from_code(&urgency).ok_or_else(|| bad("urgency", &urgency))?,
            urgency_reason: row.try_get("urgency_reason")?,
            deadline: row.try_get("deadline")?,
            lead_unit_id: row.try_get("lead_unit_id")?,
            co_unit_ids: row.try_get("co_unit_ids")?,
            supervising_leader_id: row.try_get("supervising_leader_id")?,
            tags: row.try_get("tags")?,
            targets,
            continuing_attention: row.try_get("continuing_attention")?,
            assignee_person_id: row.try_get("assignee_person_id")?,
        },
        decision_id: row.try_get("decision_id")?,
        parent_id: row.try_get("parent_id")?,
        ancestry: row.try_get("ancestry")?,
        level: level.as_deref().and_then(DecompositionLevel::from_code),
        state: RegistrationState::from_code(&state).ok_or_else(|| bad("state", &state))?,
        review_comment: row.try_get("review_comment")?,
        reviewed_by: row.try_get("reviewed_by")?,
        registered_at: row.try_get("registered_at")?,
        registered_on: row.try_get("registered_on")?,
        progress_note: row.try_get("progress_note")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        names: ItemNames {
            source_kind: source_kind.as_deref().and_then(SourceKind::from_code),
            source_title: row.try_get("source_title")?,
            source_doc_number: row.try_get("source_doc_number")?,
            lead_unit_name: row.try_get("lead_unit_name")?,
            co_unit_names: row.try_get("co_unit_names")?,
            leader_name: row.try_get("leader_name")?,
            head_name: row.try_get("head_name")?,
            liaison_name: row.try_get("liaison_name")?,
            assignee_name: row.try_get("assignee_name")?,
        },
        status: match status_state {
            Some(state) => Some(LedgerStatus {
                state: state.clone(),
                state_label: row.try_get::<Option<String>, _>("status_label")?.unwrap_or_else(|| {
                    duban_core::assignment::AssignmentState::from_code(&state)
                        .map(|s| s.label_zh().to_owned())
                        .unwrap_or_default()
                }),
                light: row.try_get::<Option<String>, _>("status_light")?.unwrap_or_default(),
                next_deadline: row.try_get("status_deadline")?,
                final_deadline: row.try_get("status_final_deadline")?,
                final_deadline_provisional: row
                    .try_get::<Option<bool>, _>("status_final_deadline_provisional")?
                    .unwrap_or_default(),
                next_deadline_provisional: row
                    .try_get::<Option<bool>, _>("status_deadline_provisional")?
                    .unwrap_or_default(),
                latest_feedback: row.try_get::<Option<String>, _>("status_feedback")?.unwrap_or_default(),
                latest_feedback_at: row.try_get("status_feedback_at")?,
                assigned_at: row.try_get("status_assigned_at")?,
            }),
            None => None,
        },
        children: row.try_get("children")?,
    })
}

pub async fn item(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Item>> {
    let mut q = QueryBuilder::<Postgres>::new(ITEM_SELECT);
    q.push("WHERE i.id = ").push_bind(id);
    let row = q.build().fetch_optional(db).await?;
    row.as_ref().map(item_from_row).transpose()
}

/// The item, its row locked until the transaction ends.
pub async fn item_for_update(conn: &mut PgConnection, id: Uuid) -> Result<Option<Item>> {
    let locked: Option<Uuid> = sqlx::query_scalar("SELECT id FROM registry.items WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match locked {
        Some(id) => item(conn, id).await,
        None => Ok(None),
    }
}

/// What an insert needs beyond the editable fields.
pub struct NewItem<'a> {
    pub id: Uuid,
    pub court_id: Uuid,
    pub fields: &'a ItemFields,
    pub decision_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub ancestry: &'a [Uuid],
    pub level: Option<DecompositionLevel>,
    pub state: RegistrationState,
    pub number: Option<&'a str>,
    pub reviewed_by: &'a str,
    pub review_comment: &'a str,
    pub registered_at: Option<DateTime<Utc>>,
    pub registered_on: Option<NaiveDate>,
    pub progress_note: &'a str,
    pub import_key: Option<&'a str>,
}

impl<'a> NewItem<'a> {
    /// A fresh draft with nothing reviewed, numbered or imported yet.
    pub fn draft(id: Uuid, court_id: Uuid, fields: &'a ItemFields, ancestry: &'a [Uuid]) -> Self {
        NewItem {
            id,
            court_id,
            fields,
            decision_id: None,
            parent_id: None,
            ancestry,
            level: None,
            state: RegistrationState::Draft,
            number: None,
            reviewed_by: "",
            review_comment: "",
            registered_at: None,
            registered_on: None,
            progress_note: "",
            import_key: None,
        }
    }
}

pub async fn insert_item(conn: &mut PgConnection, new: &NewItem<'_>, now: DateTime<Utc>) -> Result<()> {
    let f = new.fields;
    sqlx::query(
        "INSERT INTO registry.items (id, court_id, number, title, requirements, source_id, decision_id, urgency, \
            urgency_reason, deadline, lead_unit_id, co_unit_ids, supervising_leader_id, tags, continuing_attention, \
            parent_id, ancestry, level, assignee_person_id, state, review_comment, reviewed_by, registered_at, \
            registered_on, progress_note, import_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
                 $22, $23, $24, $25, $26, $27, $27)",
    )
    .bind(new.id)
    .bind(new.court_id)
    .bind(new.number)
    .bind(&f.title)
    .bind(&f.requirements)
    .bind(f.source_id)
    .bind(new.decision_id)
    .bind(f.urgency.code())
    .bind(&f.urgency_reason)
    .bind(f.deadline)
    .bind(f.lead_unit_id)
    .bind(&f.co_unit_ids)
    .bind(f.supervising_leader_id)
    .bind(&f.tags)
    .bind(f.continuing_attention)
    .bind(new.parent_id)
    .bind(new.ancestry)
    .bind(new.level.map(|l| l.code()))
    .bind(f.assignee_person_id)
    .bind(new.state.code())
    .bind(new.review_comment)
    .bind(new.reviewed_by)
    .bind(new.registered_at)
    .bind(new.registered_on)
    .bind(new.progress_note)
    .bind(new.import_key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    write_targets(conn, new.id, &f.targets).await
}

async fn write_targets(conn: &mut PgConnection, item_id: Uuid, targets: &[Target]) -> Result<()> {
    sqlx::query("DELETE FROM registry.item_targets WHERE item_id = $1")
        .bind(item_id)
        .execute(&mut *conn)
        .await?;
    for (i, t) in targets.iter().enumerate() {
        sqlx::query(
            "INSERT INTO registry.item_targets (item_id, seq, what, target_value, unit_of_measure) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(item_id)
        .bind(i as i32 + 1)
        .bind(&t.what)
        .bind(t.target_value)
        .bind(&t.unit_of_measure)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn update_fields(conn: &mut PgConnection, id: Uuid, f: &ItemFields, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE registry.items SET title = $2, requirements = $3, source_id = $4, urgency = $5, urgency_reason = $6, \
            deadline = $7, lead_unit_id = $8, co_unit_ids = $9, supervising_leader_id = $10, tags = $11, \
            continuing_attention = $12, assignee_person_id = $13, updated_at = $14, version = version + 1 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(&f.title)
    .bind(&f.requirements)
    .bind(f.source_id)
    .bind(f.urgency.code())
    .bind(&f.urgency_reason)
    .bind(f.deadline)
    .bind(f.lead_unit_id)
    .bind(&f.co_unit_ids)
    .bind(f.supervising_leader_id)
    .bind(&f.tags)
    .bind(f.continuing_attention)
    .bind(f.assignee_person_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    write_targets(conn, id, &f.targets).await
}

/// Records a registration step: new state, reviewer, comment, and on
/// approval the number and registration time.
pub struct Review<'a> {
    pub state: RegistrationState,
    pub reviewed_by: &'a str,
    pub comment: &'a str,
    pub number: Option<&'a str>,
    pub registered_at: Option<DateTime<Utc>>,
    pub registered_on: Option<NaiveDate>,
}

pub async fn set_review(conn: &mut PgConnection, id: Uuid, r: &Review<'_>, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE registry.items SET state = $2, reviewed_by = $3, review_comment = $4, \
            number = coalesce($5, number), registered_at = coalesce($6, registered_at), \
            registered_on = coalesce($7, registered_on), updated_at = $8, version = version + 1 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(r.state.code())
    .bind(r.reviewed_by)
    .bind(r.comment)
    .bind(r.number)
    .bind(r.registered_at)
    .bind(r.registered_on)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// How many children of `parent_id` already carry a number.
pub async fn numbered_children(conn: &mut PgConnection, parent_id: Uuid) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM registry.items WHERE parent_id = $1 AND number IS NOT NULL")
            .bind(parent_id)
            .fetch_one(conn)
            .await?,
    )
}

/// Descendants not yet registered, parents before children, locked.
pub async fn unregistered_descendants(conn: &mut PgConnection, id: Uuid) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM registry.items WHERE ancestry @> ARRAY[$1::uuid] AND id <> $1 AND state <> 'registered' \
         ORDER BY array_length(ancestry, 1), seq FOR UPDATE",
    )
    .bind(id)
    .fetch_all(conn)
    .await?)
}

pub async fn rollup(db: &mut PgConnection, id: Uuid) -> Result<Rollup> {
    let children: i64 = sqlx::query_scalar("SELECT count(*) FROM registry.items WHERE parent_id = $1")
        .bind(id)
        .fetch_one(&mut *db)
        .await?;
    let states: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, count(*) FROM registry.items WHERE ancestry @> ARRAY[$1::uuid] AND id <> $1 \
         GROUP BY state ORDER BY state",
    )
    .bind(id)
    .fetch_all(&mut *db)
    .await?;
    let targets: Vec<(String, String, f64, i64)> = sqlx::query_as(
        "SELECT t.what, t.unit_of_measure, sum(t.target_value), count(DISTINCT t.item_id) \
         FROM registry.items d JOIN registry.item_targets t ON t.item_id = d.id \
         WHERE d.ancestry @> ARRAY[$1::uuid] AND d.id <> $1 \
           AND NOT EXISTS (SELECT 1 FROM registry.items c WHERE c.parent_id = d.id) \
         GROUP BY t.what, t.unit_of_measure ORDER BY t.what, t.unit_of_measure",
    )
    .bind(id)
    .fetch_all(&mut *db)
    .await?;
    let mut by_state: Vec<(RegistrationState, i64)> = states
        .into_iter()
        .filter_map(|(s, n)| RegistrationState::from_code(&s).map(|s| (s, n)))
        .collect();
    by_state.sort();
    Ok(Rollup {
        children,
        descendants: by_state.iter().map(|(_, n)| n).sum(),
        by_state,
        targets: targets
            .into_iter()
            .map(|(what, unit_of_measure, total, items)| TargetTotal {
                what,
                unit_of_measure,
                total,
                items,
            })
            .collect(),
    })
}

/// A page of the ledger: SQL built from the filters given, so each query
/// gets a plan for exactly its conditions.
pub async fn list_items(
    db: impl PgExecutor<'_>,
    filter: &LedgerFilter,
    scope: &LedgerScope,
    after_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<Item>> {
    let mut q = QueryBuilder::<Postgres>::new(ITEM_SELECT);
    q.push("WHERE true");
    if let Some(kind) = filter.source_kind {
        q.push(" AND s.kind = ").push_bind(kind.code());
    }
    if let Some(unit) = filter.unit_id {
        q.push(" AND (i.lead_unit_id = ").push_bind(unit);
        q.push(" OR i.co_unit_ids @> ARRAY[").push_bind(unit).push("::uuid])");
    }
    if let Some(leader) = filter.supervising_leader_id {
        q.push(" AND i.supervising_leader_id = ").push_bind(leader);
    }
    if let Some(urgency) = filter.urgency {
        q.push(" AND i.urgency = ").push_bind(urgency.code());
    }
    if let Some(state) = filter.state {
        q.push(" AND i.state = ").push_bind(state.code());
    }
    for (column, (from, to)) in [
        ("i.registered_on", filter.registered),
        ("i.deadline", filter.deadline),
        ("s.doc_date", filter.source_date),
    ] {
        if let Some(from) = from {
            q.push(format!(" AND {column} >= ")).push_bind(from);
        }
        if let Some(to) = to {
            q.push(format!(" AND {column} <= ")).push_bind(to);
        }
    }
    if let Some(tag) = &filter.tag {
        q.push(" AND i.tags @> ARRAY[").push_bind(tag.clone()).push("::text]");
    }
    if let Some(text) = &filter.text {
        // One bigram of the phrase (the rarest known) narrows the rows;
        // strpos confirms the whole substring. One bigram, not all: the
        // planner multiplies the frequencies of several as if independent,
        // and a phrase's bigrams are anything but, so its estimate (and the
        // plan it picks) would be wrong by orders of magnitude.
        if let Some(gram) = &filter.text_gram {
            q.push(" AND i.search_grams @> ARRAY[")
                .push_bind(gram.clone())
                .push("::text]");
        }
        q.push(" AND strpos(lower(i.title || ' ' || i.requirements), lower(")
            .push_bind(text.clone())
            .push(")) > 0");
    }
    if let Some(parent) = filter.parent_id {
        q.push(" AND i.parent_id = ").push_bind(parent);
    }
    if filter.top_level_only {
        q.push(" AND i.parent_id IS NULL");
    }
    if let Some(source) = filter.source_id {
        q.push(" AND i.source_id = ").push_bind(source);
    }
    if let Some(court) = filter.court_id {
        q.push(" AND i.court_id = ").push_bind(court);
    }
    if !scope.unrestricted {
        q.push(" AND (i.court_id = ANY(")
            .push_bind(scope.courts.clone())
            .push(")");
        q.push(" OR i.lead_unit_id = ANY(")
            .push_bind(scope.units.clone())
            .push(")");
        q.push(" OR i.co_unit_ids && ")
            .push_bind(scope.units.clone())
            .push("::uuid[])");
    }
    let direction = if filter.newest_first { "DESC" } else { "ASC" };
    if let Some(after) = after_seq {
        q.push(if filter.newest_first {
            " AND i.seq < "
        } else {
            " AND i.seq > "
        })
        .push_bind(after);
    }
    q.push(format!(" ORDER BY i.seq {direction} LIMIT ")).push_bind(limit);
    // Not a prepared statement: a cached generic plan cannot see how selective
    // this unit, class or phrase is, and picks a plan that is wrong for most.
    let rows = q.build().persistent(false).fetch_all(db).await?;
    rows.iter().map(item_from_row).collect()
}

/// Every unit inside the given subtrees.
pub async fn units_within(db: impl PgExecutor<'_>, roots: &[Uuid]) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar("SELECT id FROM registry.units WHERE ancestry && $1")
        .bind(roots)
        .fetch_all(db)
        .await?)
}

/// Moves a court's yearly counter past an imported number, so new numbers
/// never collide with historical ones.
pub async fn bump_number_counter(conn: &mut PgConnection, court_id: Uuid, year: i32, at_least: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO registry.item_numbers (court_id, year, last) VALUES ($1, $2, $3) \
         ON CONFLICT (court_id, year) DO UPDATE SET last = greatest(registry.item_numbers.last, $3)",
    )
    .bind(court_id)
    .bind(year)
    .bind(at_least)
    .execute(conn)
    .await?;
    Ok(())
}

/// The id and ancestry of the item with `number` in a court's ledger.
pub async fn item_by_number(
    db: impl PgExecutor<'_>,
    court_id: Uuid,
    number: &str,
) -> Result<Option<(Uuid, Vec<Uuid>)>> {
    Ok(
        sqlx::query_as("SELECT id, ancestry FROM registry.items WHERE court_id = $1 AND number = $2")
            .bind(court_id)
            .bind(number)
            .fetch_optional(db)
            .await?,
    )
}

/// Which of the given ids, numbers and import keys a court's ledger holds.
#[derive(Debug, Default)]
pub struct Known {
    pub ids: std::collections::HashSet<Uuid>,
    pub numbers: std::collections::HashMap<String, Uuid>,
    pub keys: std::collections::HashMap<String, Uuid>,
}

impl Known {
    /// The item a row found: by its id, its number, or its import key.
    pub fn item(&self, id: Option<Uuid>, number: Option<&String>, key: &str) -> Option<Uuid> {
        id.filter(|id| self.ids.contains(id))
            .or_else(|| number.and_then(|n| self.numbers.get(n).copied()))
            .or_else(|| self.keys.get(key).copied())
    }
}

pub async fn known_in_court(
    conn: &mut PgConnection,
    court_id: Uuid,
    ids: &[Uuid],
    numbers: &[String],
    keys: &[String],
) -> Result<Known> {
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM registry.items WHERE court_id = $1 AND id = ANY($2)")
        .bind(court_id)
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
    let numbers: Vec<(String, Uuid)> =
        sqlx::query_as("SELECT number, id FROM registry.items WHERE court_id = $1 AND number = ANY($2)")
            .bind(court_id)
            .bind(numbers)
            .fetch_all(&mut *conn)
            .await?;
    let keys: Vec<(String, Uuid)> =
        sqlx::query_as("SELECT import_key, id FROM registry.items WHERE court_id = $1 AND import_key = ANY($2)")
            .bind(court_id)
            .bind(keys)
            .fetch_all(&mut *conn)
            .await?;
    Ok(Known {
        ids: ids.into_iter().collect(),
        numbers: numbers.into_iter().collect(),
        keys: keys.into_iter().collect(),
    })
}

/// Reserves `count` consecutive numbers of a court's year; returns the first.
pub async fn reserve_numbers(conn: &mut PgConnection, court_id: Uuid, year: i32, count: i64) -> Result<i64> {
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO registry.item_numbers (court_id, year, last) VALUES ($1, $2, $3) \
         ON CONFLICT (court_id, year) DO UPDATE SET last = registry.item_numbers.last + $3 RETURNING last",
    )
    .bind(court_id)
    .bind(year)
    .bind(count)
    .fetch_one(conn)
    .await?;
    Ok(last - count + 1)
}

/// Inserts many items without targets, a thousand rows a statement.
pub async fn insert_items_bulk(conn: &mut PgConnection, items: &[NewItem<'_>], now: DateTime<Utc>) -> Result<()> {
    for chunk in items.chunks(1000) {
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO registry.items (id, court_id, number, title, requirements, source_id, decision_id, urgency, \
                urgency_reason, deadline, lead_unit_id, co_unit_ids, supervising_leader_id, tags, continuing_attention, \
                parent_id, ancestry, level, assignee_person_id, state, review_comment, reviewed_by, registered_at, \
                registered_on, progress_note, import_key, created_at, updated_at) ",
        );
        q.push_values(chunk, |mut b, new| {
            let f = new.fields;
            b.push_bind(new.id)
                .push_bind(new.court_id)
                .push_bind(new.number.map(str::to_owned))
                .push_bind(f.title.clone())
                .push_bind(f.requirements.clone())
                .push_bind(f.source_id)
                .push_bind(new.decision_id)
                .push_bind(f.urgency.code())
                .push_bind(f.urgency_reason.clone())
                .push_bind(f.deadline)
                .push_bind(f.lead_unit_id)
                .push_bind(f.co_unit_ids.clone())
                .push_bind(f.supervising_leader_id)
                .push_bind(f.tags.clone())
                .push_bind(f.continuing_attention)
                .push_bind(new.parent_id)
                .push_bind(new.ancestry.to_vec())
                .push_bind(new.level.map(|l| l.code()))
                .push_bind(f.assignee_person_id)
                .push_bind(new.state.code())
                .push_bind(new.review_comment.to_owned())
                .push_bind(new.reviewed_by.to_owned())
                .push_bind(new.registered_at)
                .push_bind(new.registered_on)
                .push_bind(new.progress_note.to_owned())
                .push_bind(new.import_key.map(str::to_owned))
                .push_bind(now)
                .push_bind(now);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// How often each common bigram occurs in the ledger's search key, from the
/// planner's statistics (most common elements of `search_grams`).
pub async fn gram_frequencies(db: impl PgExecutor<'_>) -> Result<std::collections::HashMap<String, f32>> {
    let rows: Vec<(String, f32)> = sqlx::query_as(
        "SELECT e, f FROM pg_stats s, \
                unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS t(e, f) \
         WHERE s.schemaname = 'registry' AND s.tablename = 'items' AND s.attname = 'search_grams' AND e IS NOT NULL",
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}
