//! The organisation directory's logic: validation, authorization and
//! mutations. Every change goes through `mutate` (idempotent, audited,
//! announced); SQL stays in `store`.

use crate::convert::{self, id, optional_id, version_from_etag};
use crate::org::file::{self as org_file, Existing, OrgFile};
use crate::org::model::{Person, PersonFields, Post, RoleBinding, Unit, UnitFields};
use crate::org::store::{self, BindingFilter, PersonFilter, UnitFilter};
use duban_core::access::Action;
use duban_core::limits::{POST_TITLE, SHORT_NAME};
use duban_core::org::{UnitKind, check_code, check_email, check_name};
use duban_core::{Role, Violations};
use duban_platform::auth::Principal;
use duban_platform::clock::Clock;
use duban_platform::mutation::{Change, MutationContext, mutate};
use duban_platform::{Error, Result, page};
use duban_proto::registry::v1 as pb;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use uuid::Uuid;

const SERVICE: &str = "registry";

#[derive(Clone)]
pub struct OrgService {
    pool: PgPool,
    clock: Clock,
}

fn unit_not_found(id: Uuid) -> Error {
    Error::not_found("unit", "单位", id)
}

fn person_not_found(id: Uuid) -> Error {
    Error::not_found("person", "人员", id)
}

fn json<T: serde::Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

/// The subtrees a principal may read; `None` for everything (admin).
fn read_scope(p: &Principal) -> Result<Option<Vec<Uuid>>> {
    p.authorize_role(Action::ReadDirectory)?;
    Ok(if p.is_admin() { None } else { Some(p.unit_scope.clone()) })
}

fn check_unit_fields(prefix: &str, f: &UnitFields, v: &mut Violations) {
    check_code(&format!("{prefix}.code"), &f.code, v);
    check_name(&format!("{prefix}.name"), &f.name, v);
    if f.short_name.chars().count() > SHORT_NAME {
        v.add(
            format!("{prefix}.short_name"),
            format!("must be at most {SHORT_NAME} characters"),
            format!("简称不能超过{SHORT_NAME}个字"),
        );
    }
}

fn check_person_fields(prefix: &str, f: &PersonFields, v: &mut Violations) {
    check_code(&format!("{prefix}.code"), &f.code, v);
    check_name(&format!("{prefix}.name"), &f.name, v);
    check_email(&format!("{prefix}.email"), &f.email, v);
    if f.title.chars().count() > POST_TITLE {
        v.add(
            format!("{prefix}.title"),
            format!("must be at most {POST_TITLE} characters"),
            format!("职务不能超过{POST_TITLE}个字"),
        );
    }
}

fn kind_violation(field: &str, kind: UnitKind, parent: Option<UnitKind>) -> Error {
    let (en, zh) = match parent {
        Some(p) => (
            format!("a {} cannot sit below a {}", kind.code(), p.code()),
            format!("{}不能隶属于{}", kind.label_zh(), p.label_zh()),
        ),
        None => (
            format!("a {} cannot be a root unit", kind.code()),
            format!("{}不能作为最上级单位", kind.label_zh()),
        ),
    };
    Error::invalid(field, &en, &zh)
}

impl OrgService {
    pub fn new(pool: PgPool, clock: Clock) -> Self {
        Self { pool, clock }
    }

    async fn context(&self, principal: &Principal, request_id: &str) -> Result<MutationContext> {
        Ok(MutationContext {
            principal: principal.clone(),
            request_id: request_id.to_owned(),
            now: self.clock.now().await?,
            service: SERVICE,
        })
    }

    // ---- units --------------------------------------------------------------

    pub async fn get_unit(&self, p: &Principal, unit_id: &str) -> Result<pb::Unit> {
        let unit_id = id("id", unit_id)?;
        let unit = store::unit(&self.pool, unit_id)
            .await?
            .ok_or_else(|| unit_not_found(unit_id))?;
        p.authorize_on(Action::ReadDirectory, &unit.ancestry)?;
        Ok(convert::unit(&unit))
    }

    pub async fn list_units(&self, p: &Principal, req: &pb::ListUnitsRequest) -> Result<pb::ListUnitsResponse> {
        let filter = UnitFilter {
            parent_id: optional_id("parent_id", &req.parent_id)?,
            subtree_of: optional_id("subtree_of", &req.subtree_of)?,
            kind: convert::unit_kind_from(req.kind),
            include_inactive: req.include_inactive,
            scope: read_scope(p)?,
        };
        let limit = page::page_size(req.page_size)?;
        let after = match page::decode(&req.page_token, 2)? {
            Some(key) => Some((
                key[0]
                    .parse()
                    .map_err(|_| Error::invalid("page_token", "is corrupt", "分页标记无效"))?,
                id("page_token", &key[1])?,
            )),
            None => None,
        };
        let mut units = store::list_units(&self.pool, &filter, after, limit + 1).await?;
        let next = page::cut(&mut units, limit, |u| {
            page::encode(&[&u.sort_order.to_string(), &u.id.to_string()])
        });
        Ok(pb::ListUnitsResponse {
            units: units.iter().map(convert::unit).collect(),
            next_page_token: next,
        })
    }

    pub async fn create_unit(&self, p: &Principal, req: &pb::CreateUnitRequest) -> Result<pb::Unit> {
        let input = req.unit.clone().unwrap_or_default();
        let mut v = Violations::new();
        let kind = convert::unit_kind_from(input.kind);
        if kind.is_none() {
            v.add("unit.kind", "is required", "单位类型不能为空");
        }
        let parent_id = optional_id("unit.parent_id", &input.parent_id)?;
        let fields = UnitFields {
            code: input.code.trim().to_owned(),
            name: input.name.trim().to_owned(),
            short_name: input.short_name.trim().to_owned(),
            kind: kind.unwrap_or(UnitKind::Department),
            parent_id,
            sort_order: input.sort_order,
            active: true,
        };
        check_unit_fields("unit", &fields, &mut v);
        v.into_result().map_err(Error::InvalidArgument)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(&self.pool, &ctx, "CreateUnit", req, async |conn: &mut PgConnection| {
            let (unit, change) = insert_unit(conn, p, &fields, ctx.now, "unit.parent_id").await?;
            Ok((convert::unit(&unit), vec![change]))
        })
        .await
    }

    pub async fn update_unit(&self, p: &Principal, req: &pb::UpdateUnitRequest) -> Result<pb::Unit> {
        let input = req.unit.clone().unwrap_or_default();
        let unit_id = id("unit.id", &input.id)?;
        let version = version_from_etag("unit.etag", &input.etag)?;
        let paths = mask_paths(req.update_mask.as_ref())?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(&self.pool, &ctx, "UpdateUnit", req, async |conn: &mut PgConnection| {
            let current = store::unit_for_update(conn, unit_id)
                .await?
                .ok_or_else(|| unit_not_found(unit_id))?;
            p.authorize_on(Action::ManageDirectory, &current.ancestry)?;
            if current.version != version {
                return Err(Error::StaleEtag {
                    kind: "unit",
                    id: unit_id.to_string(),
                });
            }
            let mut fields = current.fields();
            let mut v = Violations::new();
            for path in &paths {
                match path.as_str() {
                    "code" => fields.code = input.code.trim().to_owned(),
                    "name" => fields.name = input.name.trim().to_owned(),
                    "short_name" => fields.short_name = input.short_name.trim().to_owned(),
                    "kind" => match convert::unit_kind_from(input.kind) {
                        Some(k) => fields.kind = k,
                        None => v.add("unit.kind", "is required", "单位类型不能为空"),
                    },
                    "parent_id" => fields.parent_id = optional_id("unit.parent_id", &input.parent_id)?,
                    "sort_order" => fields.sort_order = input.sort_order,
                    "active" => fields.active = input.active,
                    other => v.add(
                        "update_mask",
                        format!("`{other}` is not an updatable unit field"),
                        format!("“{other}”不是可修改的单位字段"),
                    ),
                }
            }
            check_unit_fields("unit", &fields, &mut v);
            v.into_result().map_err(Error::InvalidArgument)?;
            let (unit, change) = apply_unit_update(conn, p, &current, &fields, ctx.now, "unit.parent_id").await?;
            Ok((convert::unit(&unit), change.into_iter().collect()))
        })
        .await
    }

    // ---- people -------------------------------------------------------------

    pub async fn get_person(&self, p: &Principal, person_id: &str) -> Result<pb::Person> {
        let person_id = id("id", person_id)?;
        let person = store::person(&self.pool, person_id)
            .await?
            .ok_or_else(|| person_not_found(person_id))?;
        let unit = store::unit(&self.pool, person.unit_id)
            .await?
            .ok_or_else(|| unit_not_found(person.unit_id))?;
        p.authorize_on(Action::ReadDirectory, &unit.ancestry)?;
        Ok(convert::person(&person))
    }

    pub async fn list_people(&self, p: &Principal, req: &pb::ListPeopleRequest) -> Result<pb::ListPeopleResponse> {
        let filter = PersonFilter {
            unit_id: optional_id("unit_id", &req.unit_id)?,
            role: convert::role_from(req.role),
            include_inactive: req.include_inactive,
            scope: read_scope(p)?,
        };
        let limit = page::page_size(req.page_size)?;
        let after = page::decode(&req.page_token, 1)?.map(|mut k| k.remove(0));
        let mut people = store::list_people(&self.pool, &filter, after, limit + 1).await?;
        let next = page::cut(&mut people, limit, |p| page::encode(&[&p.code]));
        Ok(pb::ListPeopleResponse {
            people: people.iter().map(convert::person).collect(),
            next_page_token: next,
        })
    }

    pub async fn create_person(&self, p: &Principal, req: &pb::CreatePersonRequest) -> Result<pb::Person> {
        let input = req.person.clone().unwrap_or_default();
        let fields = PersonFields {
            code: input.code.trim().to_owned(),
            name: input.name.trim().to_owned(),
            unit_id: id("person.unit_id", &input.unit_id)?,
            title: input.title.trim().to_owned(),
            email: input.email.trim().to_owned(),
            phone: input.phone.trim().to_owned(),
            active: true,
        };
        let mut v = Violations::new();
        check_person_fields("person", &fields, &mut v);
        v.into_result().map_err(Error::InvalidArgument)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(
            &self.pool,
            &ctx,
            "CreatePerson",
            req,
            async |conn: &mut PgConnection| {
                let (person, change) = insert_person(conn, p, &fields, ctx.now).await?;
                Ok((convert::person(&person), vec![change]))
            },
        )
        .await
    }

    pub async fn update_person(&self, p: &Principal, req: &pb::UpdatePersonRequest) -> Result<pb::Person> {
        let input = req.person.clone().unwrap_or_default();
        let person_id = id("person.id", &input.id)?;
        let version = version_from_etag("person.etag", &input.etag)?;
        let paths = mask_paths(req.update_mask.as_ref())?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(
            &self.pool,
            &ctx,
            "UpdatePerson",
            req,
            async |conn: &mut PgConnection| {
                let current = store::person_for_update(conn, person_id)
                    .await?
                    .ok_or_else(|| person_not_found(person_id))?;
                if current.version != version {
                    return Err(Error::StaleEtag {
                        kind: "person",
                        id: person_id.to_string(),
                    });
                }
                let mut fields = current.fields();
                let mut v = Violations::new();
                for path in &paths {
                    match path.as_str() {
                        "code" => fields.code = input.code.trim().to_owned(),
                        "name" => fields.name = input.name.trim().to_owned(),
                        "unit_id" => fields.unit_id = id("person.unit_id", &input.unit_id)?,
                        "title" => fields.title = input.title.trim().to_owned(),
                        "email" => fields.email = input.email.trim().to_owned(),
                        "phone" => fields.phone = input.phone.trim().to_owned(),
                        "active" => fields.active = input.active,
                        other => v.add(
                            "update_mask",
                            format!("`{other}` is not an updatable person field"),
                            format!("“{other}”不是可修改的人员字段"),
                        ),
                    }
                }
                check_person_fields("person", &fields, &mut v);
                v.into_result().map_err(Error::InvalidArgument)?;
                let (person, change) = apply_person_update(conn, p, &current, &fields, ctx.now).await?;
                Ok((convert::person(&person), change.into_iter().collect()))
            },
        )
        .await
    }

    // ---- heads, liaisons, 分管 ------------------------------------------------

    pub async fn assign_unit_officer(&self, p: &Principal, req: &pb::AssignUnitOfficerRequest) -> Result<pb::Unit> {
        let unit_id = id("unit_id", &req.unit_id)?;
        let person_id = id("person_id", &req.person_id)?;
        let post = convert::post_from(req.post)
            .ok_or_else(|| Error::invalid("post", "must be HEAD or LIAISON", "岗位须为责任人或联络员"))?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(
            &self.pool,
            &ctx,
            "AssignUnitOfficer",
            req,
            async |conn: &mut PgConnection| {
                let change = appoint(conn, p, unit_id, post, person_id, req.note.trim(), ctx.now).await?;
                let unit = store::unit(&mut *conn, unit_id)
                    .await?
                    .ok_or_else(|| unit_not_found(unit_id))?;
                Ok((convert::unit(&unit), change.into_iter().collect()))
            },
        )
        .await
    }

    pub async fn list_unit_officer_terms(
        &self,
        p: &Principal,
        req: &pb::ListUnitOfficerTermsRequest,
    ) -> Result<pb::ListUnitOfficerTermsResponse> {
        let unit_id = id("unit_id", &req.unit_id)?;
        let unit = store::unit(&self.pool, unit_id)
            .await?
            .ok_or_else(|| unit_not_found(unit_id))?;
        p.authorize_on(Action::ReadDirectory, &unit.ancestry)?;
        let terms = store::officer_terms(&self.pool, unit_id, convert::post_from(req.post)).await?;
        Ok(pb::ListUnitOfficerTermsResponse {
            terms: terms.iter().map(convert::officer_term).collect(),
        })
    }

    pub async fn set_supervised_units(&self, p: &Principal, req: &pb::SetSupervisedUnitsRequest) -> Result<pb::Person> {
        let leader_id = id("leader_id", &req.leader_id)?;
        let mut unit_ids = Vec::new();
        for (i, u) in req.unit_ids.iter().enumerate() {
            let u = id(&format!("unit_ids[{i}]"), u)?;
            if !unit_ids.contains(&u) {
                unit_ids.push(u);
            }
        }
        let ctx = self.context(p, &req.request_id).await?;
        mutate(
            &self.pool,
            &ctx,
            "SetSupervisedUnits",
            req,
            async |conn: &mut PgConnection| {
                let change = supervise(conn, p, leader_id, &unit_ids, ctx.now).await?;
                let leader = store::person(&mut *conn, leader_id)
                    .await?
                    .ok_or_else(|| person_not_found(leader_id))?;
                Ok((convert::person(&leader), change.into_iter().collect()))
            },
        )
        .await
    }

    // ---- role bindings --------------------------------------------------------

    pub async fn create_role_binding(
        &self,
        p: &Principal,
        req: &pb::CreateRoleBindingRequest,
    ) -> Result<pb::RoleBinding> {
        let input = req.binding.clone().unwrap_or_default();
        let person_id = id("binding.person_id", &input.person_id)?;
        let unit_id = id("binding.unit_id", &input.unit_id)?;
        let role = convert::role_from(input.role)
            .ok_or_else(|| Error::invalid("binding.role", "is required", "角色不能为空"))?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(
            &self.pool,
            &ctx,
            "CreateRoleBinding",
            req,
            async |conn: &mut PgConnection| match bind_role(conn, p, person_id, role, unit_id, ctx.now).await? {
                Some((binding, change)) => Ok((convert::role_binding(&binding), vec![change])),
                None => Err(Error::AlreadyExists {
                    what: format!("role {role} of person {person_id} on unit {unit_id}"),
                    what_zh: "该人员在该单位的此角色".into(),
                }),
            },
        )
        .await
    }

    pub async fn delete_role_binding(
        &self,
        p: &Principal,
        req: &pb::DeleteRoleBindingRequest,
    ) -> Result<pb::DeleteRoleBindingResponse> {
        let binding_id = id("id", &req.id)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(
            &self.pool,
            &ctx,
            "DeleteRoleBinding",
            req,
            async |conn: &mut PgConnection| {
                let binding = store::role_binding(&mut *conn, binding_id)
                    .await?
                    .ok_or_else(|| Error::not_found("role binding", "角色授权", binding_id))?;
                let unit = store::unit(&mut *conn, binding.unit_id)
                    .await?
                    .ok_or_else(|| unit_not_found(binding.unit_id))?;
                p.authorize_on(Action::ManageRoleBindings, &unit.ancestry)?;
                store::delete_role_binding(conn, binding_id).await?;
                let change = Change {
                    action: "role_binding.deleted",
                    target_kind: "role_binding",
                    target_id: binding_id.to_string(),
                    before: json(&binding),
                    after: None,
                    unit_ids: unit.ancestry.clone(),
                };
                Ok((pb::DeleteRoleBindingResponse {}, vec![change]))
            },
        )
        .await
    }

    pub async fn list_role_bindings(
        &self,
        p: &Principal,
        req: &pb::ListRoleBindingsRequest,
    ) -> Result<pb::ListRoleBindingsResponse> {
        let filter = BindingFilter {
            person_id: optional_id("person_id", &req.person_id)?,
            unit_id: optional_id("unit_id", &req.unit_id)?,
            role: convert::role_from(req.role),
            scope: read_scope(p)?,
        };
        let limit = page::page_size(req.page_size)?;
        let after = match page::decode(&req.page_token, 1)? {
            Some(k) => Some(id("page_token", &k[0])?),
            None => None,
        };
        let mut bindings = store::list_role_bindings(&self.pool, &filter, after, limit + 1).await?;
        let next = page::cut(&mut bindings, limit, |b| page::encode(&[&b.id.to_string()]));
        Ok(pb::ListRoleBindingsResponse {
            bindings: bindings.iter().map(convert::role_binding).collect(),
            next_page_token: next,
        })
    }

    // ---- org file import ----------------------------------------------------------

    pub async fn import(
        &self,
        p: &Principal,
        req: &pb::ImportOrgDirectoryRequest,
    ) -> Result<pb::ImportOrgDirectoryResponse> {
        p.authorize_role(Action::ManageDirectory)?;
        let existing = self.existing().await?;
        let file = org_file::parse(&req.content, &existing).map_err(Error::InvalidArgument)?;
        let ctx = self.context(p, &req.request_id).await?;
        if req.dry_run {
            let mut tx = duban_platform::db::begin(&self.pool).await?;
            let (summary, _) = apply_file(&mut tx, p, &file, ctx.now).await?;
            tx.rollback().await?;
            return Ok(pb::ImportOrgDirectoryResponse {
                dry_run: true,
                ..summary
            });
        }
        mutate(
            &self.pool,
            &ctx,
            "ImportOrgDirectory",
            req,
            async |conn: &mut PgConnection| apply_file(conn, p, &file, ctx.now).await,
        )
        .await
    }

    async fn existing(&self) -> Result<Existing> {
        let units = store::all_units(&self.pool).await?;
        let people = store::all_person_codes(&self.pool).await?;
        Ok(Existing {
            unit_kinds: units.into_iter().map(|u| (u.code, u.kind)).collect(),
            people: people.into_iter().collect(),
        })
    }
}

fn mask_paths(mask: Option<&prost_types::FieldMask>) -> Result<Vec<String>> {
    match mask {
        Some(m) if !m.paths.is_empty() => Ok(m.paths.clone()),
        _ => Err(Error::invalid(
            "update_mask",
            "is required: list the fields to change",
            "须在 update_mask 中列出要修改的字段",
        )),
    }
}

/// The parent's ancestry, checked: the parent exists and may hold `kind`.
async fn placement(
    conn: &mut PgConnection,
    p: &Principal,
    kind: UnitKind,
    parent_id: Option<Uuid>,
    field: &str,
) -> Result<Vec<Uuid>> {
    match parent_id {
        None => {
            if !kind.may_sit_below(None) {
                return Err(kind_violation(field, kind, None));
            }
            // A new root is outside every scope: only an admin may add one.
            p.authorize_on(Action::ManageDirectory, &[])?;
            Ok(Vec::new())
        }
        Some(pid) => {
            let parent = store::unit(&mut *conn, pid)
                .await?
                .ok_or_else(|| Error::invalid(field, "does not exist", "上级单位不存在"))?;
            if !kind.may_sit_below(Some(parent.kind)) {
                return Err(kind_violation(field, kind, Some(parent.kind)));
            }
            p.authorize_on(Action::ManageDirectory, &parent.ancestry)?;
            Ok(parent.ancestry)
        }
    }
}

async fn insert_unit(
    conn: &mut PgConnection,
    p: &Principal,
    fields: &UnitFields,
    now: chrono::DateTime<chrono::Utc>,
    parent_field: &str,
) -> Result<(Unit, Change)> {
    let mut ancestry = placement(conn, p, fields.kind, fields.parent_id, parent_field).await?;
    let unit_id = Uuid::now_v7();
    ancestry.push(unit_id);
    store::insert_unit(conn, unit_id, fields, &ancestry, now).await?;
    let unit = store::unit(&mut *conn, unit_id)
        .await?
        .ok_or_else(|| unit_not_found(unit_id))?;
    let change = Change {
        action: "unit.created",
        target_kind: "unit",
        target_id: unit_id.to_string(),
        before: None,
        after: json(&unit.fields()),
        unit_ids: ancestry,
    };
    Ok((unit, change))
}

/// Applies new field values to a unit; `None` when nothing differs.
async fn apply_unit_update(
    conn: &mut PgConnection,
    p: &Principal,
    current: &Unit,
    fields: &UnitFields,
    now: chrono::DateTime<chrono::Utc>,
    parent_field: &str,
) -> Result<(Unit, Option<Change>)> {
    if *fields == current.fields() {
        return Ok((current.clone(), None));
    }
    let mut ancestry = if fields.parent_id != current.parent_id || fields.kind != current.kind {
        let parent_ancestry = placement(conn, p, fields.kind, fields.parent_id, parent_field).await?;
        if parent_ancestry.contains(&current.id) {
            return Err(Error::invalid(
                parent_field,
                "would move the unit below itself",
                "不能将单位移到其下级单位之下",
            ));
        }
        parent_ancestry
    } else {
        current.ancestry[..current.ancestry.len() - 1].to_vec()
    };
    ancestry.push(current.id);
    if fields.kind != current.kind {
        for child_kind in store::child_kinds(&mut *conn, current.id).await? {
            if !child_kind.may_sit_below(Some(fields.kind)) {
                return Err(kind_violation("unit.kind", child_kind, Some(fields.kind)));
            }
        }
    }
    store::update_unit(conn, current, fields, &ancestry, now).await?;
    let unit = store::unit(&mut *conn, current.id)
        .await?
        .ok_or_else(|| unit_not_found(current.id))?;
    let change = Change {
        action: "unit.updated",
        target_kind: "unit",
        target_id: current.id.to_string(),
        before: json(&current.fields()),
        after: json(fields),
        unit_ids: ancestry,
    };
    Ok((unit, Some(change)))
}

async fn unit_ancestry(conn: &mut PgConnection, unit_id: Uuid, field: &str) -> Result<Vec<Uuid>> {
    Ok(store::unit(&mut *conn, unit_id)
        .await?
        .ok_or_else(|| Error::invalid(field, "names no existing unit", "所在单位不存在"))?
        .ancestry)
}

async fn insert_person(
    conn: &mut PgConnection,
    p: &Principal,
    fields: &PersonFields,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Person, Change)> {
    let ancestry = unit_ancestry(conn, fields.unit_id, "person.unit_id").await?;
    p.authorize_on(Action::ManageDirectory, &ancestry)?;
    let person_id = Uuid::now_v7();
    store::insert_person(conn, person_id, fields, now).await?;
    let person = store::person(&mut *conn, person_id)
        .await?
        .ok_or_else(|| person_not_found(person_id))?;
    let change = Change {
        action: "person.created",
        target_kind: "person",
        target_id: person_id.to_string(),
        before: None,
        after: json(fields),
        unit_ids: ancestry,
    };
    Ok((person, change))
}

async fn apply_person_update(
    conn: &mut PgConnection,
    p: &Principal,
    current: &Person,
    fields: &PersonFields,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Person, Option<Change>)> {
    let ancestry = unit_ancestry(conn, current.unit_id, "person.unit_id").await?;
    p.authorize_on(Action::ManageDirectory, &ancestry)?;
    if *fields == current.fields() {
        return Ok((current.clone(), None));
    }
    let mut unit_ids = ancestry;
    if fields.unit_id != current.unit_id {
        let target = unit_ancestry(conn, fields.unit_id, "person.unit_id").await?;
        p.authorize_on(Action::ManageDirectory, &target)?;
        unit_ids.extend(target);
    }
    store::update_person(conn, current.id, fields, now).await?;
    let person = store::person(&mut *conn, current.id)
        .await?
        .ok_or_else(|| person_not_found(current.id))?;
    let change = Change {
        action: "person.updated",
        target_kind: "person",
        target_id: current.id.to_string(),
        before: json(&current.fields()),
        after: json(fields),
        unit_ids,
    };
    Ok((person, Some(change)))
}

/// Appoints `person_id` to `post` of the unit; `None` when already so.
async fn appoint(
    conn: &mut PgConnection,
    p: &Principal,
    unit_id: Uuid,
    post: Post,
    person_id: Uuid,
    note: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Change>> {
    let unit = store::unit_for_update(conn, unit_id)
        .await?
        .ok_or_else(|| unit_not_found(unit_id))?;
    p.authorize_on(Action::ManageDirectory, &unit.ancestry)?;
    let person = store::person(&mut *conn, person_id)
        .await?
        .ok_or_else(|| Error::invalid("person_id", "names no existing person", "人员不存在"))?;
    if !person.active {
        return Err(Error::precondition(
            format!("person {} is inactive", person.code),
            format!("{}已停用,不能担任{}", person.name, post.label_zh()),
        ));
    }
    let before = match post {
        Post::Head => unit.head.clone(),
        Post::Liaison => unit.liaison.clone(),
    };
    if !store::appoint_officer(conn, unit_id, post, person_id, note, now).await? {
        return Ok(None);
    }
    Ok(Some(Change {
        action: "unit.officer_appointed",
        target_kind: "unit",
        target_id: unit_id.to_string(),
        before: Some(serde_json::json!({ "post": post, "person": before })),
        after: Some(
            serde_json::json!({ "post": post, "person": { "id": person.id, "name": person.name }, "note": note }),
        ),
        unit_ids: unit.ancestry.clone(),
    }))
}

/// Makes `unit_ids` the leader's 分管 set; `None` when it already is.
async fn supervise(
    conn: &mut PgConnection,
    p: &Principal,
    leader_id: Uuid,
    unit_ids: &[Uuid],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Change>> {
    let leader = store::person_for_update(conn, leader_id)
        .await?
        .ok_or_else(|| person_not_found(leader_id))?;
    let mut touched = unit_ancestry(conn, leader.unit_id, "leader_id").await?;
    p.authorize_on(Action::ManageDirectory, &touched)?;
    if !unit_ids.is_empty() && !store::has_role(&mut *conn, leader_id, &[Role::Leader, Role::President]).await? {
        return Err(Error::precondition(
            format!("person {} holds no leader role", leader.code),
            format!("{}不是院领导,不能分管单位", leader.name),
        ));
    }
    for (i, u) in unit_ids.iter().enumerate() {
        let ancestry = unit_ancestry(conn, *u, &format!("unit_ids[{i}]")).await?;
        p.authorize_on(Action::ManageDirectory, &ancestry)?;
        touched.extend(ancestry);
    }
    let (added, removed) = store::set_supervised_units(conn, leader_id, unit_ids, now).await?;
    if added.is_empty() && removed.is_empty() {
        return Ok(None);
    }
    touched.extend(removed.iter().copied());
    Ok(Some(Change {
        action: "person.supervision_changed",
        target_kind: "person",
        target_id: leader_id.to_string(),
        before: json(&leader.supervised_unit_ids),
        after: json(&unit_ids),
        unit_ids: touched,
    }))
}

/// Grants a role; `None` when the person already holds it there.
async fn bind_role(
    conn: &mut PgConnection,
    p: &Principal,
    person_id: Uuid,
    role: Role,
    unit_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<(RoleBinding, Change)>> {
    let ancestry = unit_ancestry(conn, unit_id, "binding.unit_id").await?;
    p.authorize_on(Action::ManageRoleBindings, &ancestry)?;
    if store::person(&mut *conn, person_id).await?.is_none() {
        return Err(Error::invalid(
            "binding.person_id",
            "names no existing person",
            "人员不存在",
        ));
    }
    let binding = RoleBinding {
        id: Uuid::now_v7(),
        person_id,
        role,
        unit_id,
        created_at: now,
    };
    if !store::insert_role_binding(conn, &binding).await? {
        return Ok(None);
    }
    let change = Change {
        action: "role_binding.created",
        target_kind: "role_binding",
        target_id: binding.id.to_string(),
        before: None,
        after: json(&binding),
        unit_ids: ancestry,
    };
    Ok(Some((binding, change)))
}

/// Applies a validated org file; everything it changes, and nothing it
/// leaves as it was, is counted and recorded.
async fn apply_file(
    conn: &mut PgConnection,
    p: &Principal,
    file: &OrgFile,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(pb::ImportOrgDirectoryResponse, Vec<Change>)> {
    let mut summary = pb::ImportOrgDirectoryResponse::default();
    let mut changes = Vec::new();
    let mut unit_ids: HashMap<String, Uuid> = HashMap::new();
    let mut units_by_id: HashMap<Uuid, Unit> = HashMap::new();

    for entry in &file.units {
        let parent_id = match &entry.parent {
            Some(code) => Some(resolve_unit(conn, &unit_ids, code).await?),
            None => None,
        };
        let fields = UnitFields {
            code: entry.code.clone(),
            name: entry.name.clone(),
            short_name: entry.short_name.clone(),
            kind: entry.kind,
            parent_id,
            sort_order: entry.sort,
            active: entry.active,
        };
        let field = format!("units (line {}).parent", entry.line);
        let unit = match store::unit_id_by_code(&mut *conn, &entry.code).await? {
            Some(existing_id) => {
                let current = store::unit_for_update(conn, existing_id)
                    .await?
                    .ok_or_else(|| unit_not_found(existing_id))?;
                let (unit, change) = apply_unit_update(conn, p, &current, &fields, now, &field).await?;
                if let Some(change) = change {
                    summary.units_updated += 1;
                    changes.push(change);
                }
                unit
            }
            None => {
                let (unit, change) = insert_unit(conn, p, &fields, now, &field).await?;
                summary.units_created += 1;
                changes.push(change);
                unit
            }
        };
        unit_ids.insert(entry.code.clone(), unit.id);
        units_by_id.insert(unit.id, unit);
    }

    let mut person_ids: HashMap<String, Uuid> = HashMap::new();
    for entry in &file.people {
        let fields = PersonFields {
            code: entry.code.clone(),
            name: entry.name.clone(),
            unit_id: resolve_unit(conn, &unit_ids, &entry.unit).await?,
            title: entry.title.clone(),
            email: entry.email.clone(),
            phone: entry.phone.clone(),
            active: entry.active,
        };
        let person_id = match store::person_id_by_code(&mut *conn, &entry.code).await? {
            Some(existing_id) => {
                let current = store::person_for_update(conn, existing_id)
                    .await?
                    .ok_or_else(|| person_not_found(existing_id))?;
                if let (_, Some(change)) = apply_person_update(conn, p, &current, &fields, now).await? {
                    summary.people_updated += 1;
                    changes.push(change);
                }
                existing_id
            }
            None => {
                let (person, change) = insert_person(conn, p, &fields, now).await?;
                summary.people_created += 1;
                changes.push(change);
                person.id
            }
        };
        person_ids.insert(entry.code.clone(), person_id);

        for role in &entry.roles {
            let scope_unit = match &role.unit {
                Some(code) => resolve_unit(conn, &unit_ids, code).await?,
                None => {
                    let court = court_of(conn, fields.unit_id).await?;
                    org_file::default_role_scope(role.role, fields.unit_id, court)
                }
            };
            if let Some((_, change)) = bind_role(conn, p, person_id, role.role, scope_unit, now).await? {
                summary.role_bindings_created += 1;
                changes.push(change);
            }
        }
    }

    for entry in &file.units {
        let unit_id = unit_ids[&entry.code];
        for (post, who) in [(Post::Head, &entry.head), (Post::Liaison, &entry.liaison)] {
            if let Some(code) = who {
                let person_id = resolve_person(conn, &person_ids, code).await?;
                if let Some(change) = appoint(conn, p, unit_id, post, person_id, "", now).await? {
                    summary.officers_changed += 1;
                    changes.push(change);
                }
            }
        }
    }

    for entry in &file.people {
        if let Some(list) = &entry.supervises {
            let mut ids = Vec::new();
            for code in list {
                let id = resolve_unit(conn, &unit_ids, code).await?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            if let Some(change) = supervise(conn, p, person_ids[&entry.code], &ids, now).await? {
                summary.supervisions_changed += 1;
                changes.push(change);
            }
        }
    }
    Ok((summary, changes))
}

async fn resolve_unit(conn: &mut PgConnection, known: &HashMap<String, Uuid>, code: &str) -> Result<Uuid> {
    if let Some(id) = known.get(code) {
        return Ok(*id);
    }
    store::unit_id_by_code(conn, code).await?.ok_or_else(|| {
        Error::invalid(
            "units",
            &format!("unit `{code}` does not exist"),
            &format!("单位“{code}”不存在"),
        )
    })
}

async fn resolve_person(conn: &mut PgConnection, known: &HashMap<String, Uuid>, code: &str) -> Result<Uuid> {
    if let Some(id) = known.get(code) {
        return Ok(*id);
    }
    store::person_id_by_code(conn, code).await?.ok_or_else(|| {
        Error::invalid(
            "people",
            &format!("person `{code}` does not exist"),
            &format!("人员“{code}”不存在"),
        )
    })
}

/// The nearest court (or grassroots court) at or above a unit.
async fn court_of(conn: &mut PgConnection, unit_id: Uuid) -> Result<Uuid> {
    let ancestry = unit_ancestry(conn, unit_id, "unit").await?;
    for id in ancestry.iter().rev() {
        let unit = store::unit(&mut *conn, *id).await?.ok_or_else(|| unit_not_found(*id))?;
        if matches!(unit.kind, UnitKind::Court | UnitKind::GrassrootsCourt) {
            return Ok(unit.id);
        }
    }
    Ok(ancestry[0])
}
