//! All SQL of the organisation directory. Nothing else in the registry talks
//! to Postgres.

use crate::org::model::{OfficerTerm, Person, PersonFields, PersonRef, Post, RoleBinding, Unit, UnitFields};
use chrono::{DateTime, Utc};
use duban_core::Role;
use duban_core::org::UnitKind;
use duban_platform::Result;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, Row};
use uuid::Uuid;

macro_rules! unit_select {
    () => {
        "SELECT u.id, u.code, u.name, u.short_name, u.kind, u.parent_id, u.ancestry, u.sort_order, \
                u.active, u.version, u.created_at, u.updated_at, \
                h.person_id AS head_id, hp.name AS head_name, \
                l.person_id AS liaison_id, lp.name AS liaison_name, \
                ARRAY(SELECT s.leader_id FROM registry.supervisions s JOIN registry.people p ON p.id = s.leader_id \
                      WHERE s.unit_id = u.id AND s.end_at IS NULL ORDER BY p.code) AS leader_ids, \
                ARRAY(SELECT p.name FROM registry.supervisions s JOIN registry.people p ON p.id = s.leader_id \
                      WHERE s.unit_id = u.id AND s.end_at IS NULL ORDER BY p.code) AS leader_names \
         FROM registry.units u \
         LEFT JOIN registry.unit_officers h ON h.unit_id = u.id AND h.post = 'head' AND h.end_at IS NULL \
         LEFT JOIN registry.people hp ON hp.id = h.person_id \
         LEFT JOIN registry.unit_officers l ON l.unit_id = u.id AND l.post = 'liaison' AND l.end_at IS NULL \
         LEFT JOIN registry.people lp ON lp.id = l.person_id "
    };
}

macro_rules! person_select {
    () => {
        "SELECT p.id, p.code, p.name, p.unit_id, p.title, p.email, p.phone, p.active, p.version, \
                p.created_at, p.updated_at, \
                ARRAY(SELECT s.unit_id FROM registry.supervisions s \
                      WHERE s.leader_id = p.id AND s.end_at IS NULL ORDER BY s.unit_id) AS supervised \
         FROM registry.people p "
    };
}

fn person_ref(id: Option<Uuid>, name: Option<String>) -> Option<PersonRef> {
    Some(PersonRef { id: id?, name: name? })
}

fn unit_from_row(row: &PgRow) -> Result<Unit> {
    let kind: String = row.try_get("kind")?;
    let leader_ids: Vec<Uuid> = row.try_get("leader_ids")?;
    let leader_names: Vec<String> = row.try_get("leader_names")?;
    Ok(Unit {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        short_name: row.try_get("short_name")?,
        kind: UnitKind::from_code(&kind).ok_or_else(|| anyhow::anyhow!("unknown unit kind {kind}"))?,
        parent_id: row.try_get("parent_id")?,
        ancestry: row.try_get("ancestry")?,
        sort_order: row.try_get("sort_order")?,
        active: row.try_get("active")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        head: person_ref(row.try_get("head_id")?, row.try_get("head_name")?),
        liaison: person_ref(row.try_get("liaison_id")?, row.try_get("liaison_name")?),
        supervising_leaders: leader_ids
            .into_iter()
            .zip(leader_names)
            .map(|(id, name)| PersonRef { id, name })
            .collect(),
    })
}

fn person_from_row(row: &PgRow) -> Result<Person> {
    Ok(Person {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        unit_id: row.try_get("unit_id")?,
        title: row.try_get("title")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        active: row.try_get("active")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        supervised_unit_ids: row.try_get("supervised")?,
    })
}

// ---- units ----------------------------------------------------------------

pub async fn unit(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Unit>> {
    let row = sqlx::query(concat!(unit_select!(), "WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(unit_from_row).transpose()
}

/// The unit, its row locked until the transaction ends.
pub async fn unit_for_update(conn: &mut PgConnection, id: Uuid) -> Result<Option<Unit>> {
    let row = sqlx::query(concat!(unit_select!(), "WHERE u.id = $1 FOR UPDATE OF u"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(unit_from_row).transpose()
}

pub async fn unit_id_by_code(db: impl PgExecutor<'_>, code: &str) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar("SELECT id FROM registry.units WHERE code = $1")
        .bind(code)
        .fetch_optional(db)
        .await?)
}

pub async fn all_units(db: impl PgExecutor<'_>) -> Result<Vec<Unit>> {
    let rows = sqlx::query(concat!(unit_select!(), "ORDER BY u.sort_order, u.id"))
        .fetch_all(db)
        .await?;
    rows.iter().map(unit_from_row).collect()
}

#[derive(Debug, Default)]
pub struct UnitFilter {
    pub parent_id: Option<Uuid>,
    pub subtree_of: Option<Uuid>,
    pub kind: Option<UnitKind>,
    pub include_inactive: bool,
    /// Only units inside these subtrees; `None` for everything.
    pub scope: Option<Vec<Uuid>>,
}

pub async fn list_units(
    db: impl PgExecutor<'_>,
    filter: &UnitFilter,
    after: Option<(i32, Uuid)>,
    limit: i64,
) -> Result<Vec<Unit>> {
    let rows = sqlx::query(concat!(
        unit_select!(),
        "WHERE ($1::uuid IS NULL OR u.parent_id = $1) \
           AND ($2::uuid IS NULL OR u.ancestry @> ARRAY[$2::uuid]) \
           AND ($3::text IS NULL OR u.kind = $3) \
           AND ($4 OR u.active) \
           AND ($5::uuid[] IS NULL OR u.ancestry && $5) \
           AND ($6::int IS NULL OR (u.sort_order, u.id) > ($6, $7)) \
         ORDER BY u.sort_order, u.id LIMIT $8"
    ))
    .bind(filter.parent_id)
    .bind(filter.subtree_of)
    .bind(filter.kind.map(UnitKind::code))
    .bind(filter.include_inactive)
    .bind(filter.scope.as_deref())
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(unit_from_row).collect()
}

pub async fn insert_unit(
    conn: &mut PgConnection,
    id: Uuid,
    fields: &UnitFields,
    ancestry: &[Uuid],
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO registry.units (id, code, name, short_name, kind, parent_id, ancestry, sort_order, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(id)
    .bind(&fields.code)
    .bind(&fields.name)
    .bind(&fields.short_name)
    .bind(fields.kind.code())
    .bind(fields.parent_id)
    .bind(ancestry)
    .bind(fields.sort_order)
    .bind(fields.active)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes new field values and bumps the version. When the unit moves, the
/// ancestry of its whole subtree is rewritten to the new path.
pub async fn update_unit(
    conn: &mut PgConnection,
    current: &Unit,
    fields: &UnitFields,
    ancestry: &[Uuid],
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE registry.units SET code = $2, name = $3, short_name = $4, kind = $5, parent_id = $6, \
                ancestry = $7, sort_order = $8, active = $9, updated_at = $10, version = version + 1 \
         WHERE id = $1",
    )
    .bind(current.id)
    .bind(&fields.code)
    .bind(&fields.name)
    .bind(&fields.short_name)
    .bind(fields.kind.code())
    .bind(fields.parent_id)
    .bind(ancestry)
    .bind(fields.sort_order)
    .bind(fields.active)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if ancestry != current.ancestry.as_slice() {
        let depth = current.ancestry.len() as i32;
        sqlx::query(
            "UPDATE registry.units SET ancestry = $2 || ancestry[$3 + 1:] \
             WHERE ancestry @> ARRAY[$1::uuid] AND id <> $1",
        )
        .bind(current.id)
        .bind(ancestry)
        .bind(depth)
        .execute(conn)
        .await?;
    }
    Ok(())
}

// ---- people ---------------------------------------------------------------

pub async fn person(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Person>> {
    let row = sqlx::query(concat!(person_select!(), "WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(person_from_row).transpose()
}

pub async fn person_for_update(conn: &mut PgConnection, id: Uuid) -> Result<Option<Person>> {
    let row = sqlx::query(concat!(person_select!(), "WHERE p.id = $1 FOR UPDATE OF p"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(person_from_row).transpose()
}

pub async fn person_id_by_code(db: impl PgExecutor<'_>, code: &str) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar("SELECT id FROM registry.people WHERE code = $1")
        .bind(code)
        .fetch_optional(db)
        .await?)
}

#[derive(Debug, Default)]
pub struct PersonFilter {
    pub unit_id: Option<Uuid>,
    pub role: Option<Role>,
    pub include_inactive: bool,
    pub scope: Option<Vec<Uuid>>,
}

pub async fn list_people(
    db: impl PgExecutor<'_>,
    filter: &PersonFilter,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<Person>> {
    let rows = sqlx::query(concat!(
        person_select!(),
        "JOIN registry.units pu ON pu.id = p.unit_id \
         WHERE ($1::uuid IS NULL OR p.unit_id = $1) \
           AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM registry.role_bindings b WHERE b.person_id = p.id AND b.role = $2)) \
           AND ($3 OR p.active) \
           AND ($4::uuid[] IS NULL OR pu.ancestry && $4) \
           AND ($5::text IS NULL OR p.code > $5) \
         ORDER BY p.code LIMIT $6"
    ))
    .bind(filter.unit_id)
    .bind(filter.role.map(Role::code))
    .bind(filter.include_inactive)
    .bind(filter.scope.as_deref())
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(person_from_row).collect()
}

pub async fn insert_person(conn: &mut PgConnection, id: Uuid, fields: &PersonFields, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO registry.people (id, code, name, unit_id, title, email, phone, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(id)
    .bind(&fields.code)
    .bind(&fields.name)
    .bind(fields.unit_id)
    .bind(&fields.title)
    .bind(&fields.email)
    .bind(&fields.phone)
    .bind(fields.active)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update_person(conn: &mut PgConnection, id: Uuid, fields: &PersonFields, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE registry.people SET code = $2, name = $3, unit_id = $4, title = $5, email = $6, phone = $7, \
                active = $8, updated_at = $9, version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(&fields.code)
    .bind(&fields.name)
    .bind(fields.unit_id)
    .bind(&fields.title)
    .bind(&fields.email)
    .bind(&fields.phone)
    .bind(fields.active)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

// ---- heads and liaisons ---------------------------------------------------

/// Ends the current term of `post` (if any) and starts `person`'s. Returns
/// false, changing nothing, when `person` already holds the post.
pub async fn appoint_officer(
    conn: &mut PgConnection,
    unit_id: Uuid,
    post: Post,
    person_id: Uuid,
    note: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let current: Option<Uuid> = sqlx::query_scalar(
        "SELECT person_id FROM registry.unit_officers WHERE unit_id = $1 AND post = $2 AND end_at IS NULL FOR UPDATE",
    )
    .bind(unit_id)
    .bind(post.code())
    .fetch_optional(&mut *conn)
    .await?;
    if current == Some(person_id) {
        return Ok(false);
    }
    sqlx::query("UPDATE registry.unit_officers SET end_at = $3 WHERE unit_id = $1 AND post = $2 AND end_at IS NULL")
        .bind(unit_id)
        .bind(post.code())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO registry.unit_officers (unit_id, post, person_id, start_at, note) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(unit_id)
    .bind(post.code())
    .bind(person_id)
    .bind(now)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(true)
}

pub async fn officer_terms(db: impl PgExecutor<'_>, unit_id: Uuid, post: Option<Post>) -> Result<Vec<OfficerTerm>> {
    let rows = sqlx::query(
        "SELECT o.unit_id, o.post, o.person_id, p.name, o.start_at, o.end_at, o.note \
         FROM registry.unit_officers o JOIN registry.people p ON p.id = o.person_id \
         WHERE o.unit_id = $1 AND ($2::text IS NULL OR o.post = $2) \
         ORDER BY o.post, o.start_at, o.id",
    )
    .bind(unit_id)
    .bind(post.map(Post::code))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            let post: String = r.try_get("post")?;
            Ok(OfficerTerm {
                unit_id: r.try_get("unit_id")?,
                post: Post::from_code(&post).ok_or_else(|| anyhow::anyhow!("unknown post {post}"))?,
                person: PersonRef {
                    id: r.try_get("person_id")?,
                    name: r.try_get("name")?,
                },
                start_at: r.try_get("start_at")?,
                end_at: r.try_get("end_at")?,
                note: r.try_get("note")?,
            })
        })
        .collect()
}

// ---- 分管 -----------------------------------------------------------------

/// Makes `unit_ids` the leader's current supervised set; returns the units
/// added and removed.
pub async fn set_supervised_units(
    conn: &mut PgConnection,
    leader_id: Uuid,
    unit_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(Vec<Uuid>, Vec<Uuid>)> {
    let removed: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE registry.supervisions SET end_at = $3 \
         WHERE leader_id = $1 AND end_at IS NULL AND NOT (unit_id = ANY($2)) RETURNING unit_id",
    )
    .bind(leader_id)
    .bind(unit_ids)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let added: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO registry.supervisions (leader_id, unit_id, start_at) \
         SELECT $1, u, $3 FROM unnest($2::uuid[]) AS u \
         ON CONFLICT (leader_id, unit_id) WHERE end_at IS NULL DO NOTHING RETURNING unit_id",
    )
    .bind(leader_id)
    .bind(unit_ids)
    .bind(now)
    .fetch_all(conn)
    .await?;
    Ok((added, removed))
}

// ---- role bindings --------------------------------------------------------

fn binding_from_row(row: &PgRow) -> Result<RoleBinding> {
    let role: String = row.try_get("role")?;
    Ok(RoleBinding {
        id: row.try_get("id")?,
        person_id: row.try_get("person_id")?,
        role: role.parse().map_err(anyhow::Error::from)?,
        unit_id: row.try_get("unit_id")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn role_binding(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<RoleBinding>> {
    let row = sqlx::query("SELECT id, person_id, role, unit_id, created_at FROM registry.role_bindings WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(binding_from_row).transpose()
}

/// Inserts the binding unless the same (person, role, unit) exists; returns
/// whether it was new.
pub async fn insert_role_binding(conn: &mut PgConnection, binding: &RoleBinding) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO registry.role_bindings (id, person_id, role, unit_id, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (person_id, role, unit_id) DO NOTHING",
    )
    .bind(binding.id)
    .bind(binding.person_id)
    .bind(binding.role.code())
    .bind(binding.unit_id)
    .bind(binding.created_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_role_binding(conn: &mut PgConnection, id: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM registry.role_bindings WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn has_role(db: impl PgExecutor<'_>, person_id: Uuid, roles: &[Role]) -> Result<bool> {
    let codes: Vec<&str> = roles.iter().map(|r| r.code()).collect();
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM registry.role_bindings WHERE person_id = $1 AND role = ANY($2))",
    )
    .bind(person_id)
    .bind(&codes)
    .fetch_one(db)
    .await?)
}

#[derive(Debug, Default)]
pub struct BindingFilter {
    pub person_id: Option<Uuid>,
    pub unit_id: Option<Uuid>,
    pub role: Option<Role>,
    pub scope: Option<Vec<Uuid>>,
}

pub async fn list_role_bindings(
    db: impl PgExecutor<'_>,
    filter: &BindingFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<RoleBinding>> {
    let rows = sqlx::query(
        "SELECT b.id, b.person_id, b.role, b.unit_id, b.created_at \
         FROM registry.role_bindings b JOIN registry.units u ON u.id = b.unit_id \
         WHERE ($1::uuid IS NULL OR b.person_id = $1) \
           AND ($2::uuid IS NULL OR b.unit_id = $2) \
           AND ($3::text IS NULL OR b.role = $3) \
           AND ($4::uuid[] IS NULL OR u.ancestry && $4) \
           AND ($5::uuid IS NULL OR b.id > $5) \
         ORDER BY b.id LIMIT $6",
    )
    .bind(filter.person_id)
    .bind(filter.unit_id)
    .bind(filter.role.map(Role::code))
    .bind(filter.scope.as_deref())
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(binding_from_row).collect()
}

pub async fn child_kinds(db: impl PgExecutor<'_>, unit_id: Uuid) -> Result<Vec<UnitKind>> {
    let kinds: Vec<String> = sqlx::query_scalar("SELECT DISTINCT kind FROM registry.units WHERE parent_id = $1")
        .bind(unit_id)
        .fetch_all(db)
        .await?;
    Ok(kinds.iter().filter_map(|k| UnitKind::from_code(k)).collect())
}

pub async fn all_person_codes(db: impl PgExecutor<'_>) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT code FROM registry.people")
        .fetch_all(db)
        .await?)
}

/// People holding one of `roles` on a unit inside `court`'s subtree.
pub async fn people_with_roles_in(db: impl PgExecutor<'_>, court: Uuid, roles: &[Role]) -> Result<Vec<(Uuid, String)>> {
    let codes: Vec<&str> = roles.iter().map(|r| r.code()).collect();
    Ok(sqlx::query_as(
        "SELECT DISTINCT p.id, p.name FROM registry.people p \
         JOIN registry.role_bindings b ON b.person_id = p.id \
         JOIN registry.units u ON u.id = b.unit_id \
         WHERE b.role = ANY($2) AND u.ancestry @> ARRAY[$1::uuid] AND p.active",
    )
    .bind(court)
    .bind(&codes)
    .fetch_all(db)
    .await?)
}

/// Courts at the root of the unit tree.
pub async fn root_courts(db: impl PgExecutor<'_>) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM registry.units WHERE parent_id IS NULL AND kind = 'court' ORDER BY sort_order, id",
    )
    .fetch_all(db)
    .await?)
}
