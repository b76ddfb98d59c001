//! Conversions between the registry's model and its protobuf messages.

use crate::org::model::{OfficerTerm, Person, PersonRef, Post, RoleBinding, Unit};
use chrono::{DateTime, Utc};
use duban_core::Role;
use duban_core::org::UnitKind;
use duban_platform::{Error, Result};
use duban_proto::registry::v1 as pb;
use uuid::Uuid;

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn etag(version: i64) -> String {
    format!("v{version}")
}

/// The version an etag names; an etag this service did not issue is invalid.
pub fn version_from_etag(field: &str, etag: &str) -> Result<i64> {
    if etag.is_empty() {
        return Err(Error::invalid(
            field,
            "is required: send the etag from your last read",
            "缺少版本标记(etag),请先读取最新数据",
        ));
    }
    etag.strip_prefix('v')
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::invalid(field, "is not an etag issued by this service", "版本标记(etag)无效"))
}

/// Parses a required id field.
pub fn id(field: &str, value: &str) -> Result<Uuid> {
    if value.is_empty() {
        return Err(Error::invalid(field, "is required", "不能为空"));
    }
    Uuid::parse_str(value).map_err(|_| Error::invalid(field, "is not a valid id (UUID)", "编号格式不正确"))
}

/// Parses an optional id field (empty means none).
pub fn optional_id(field: &str, value: &str) -> Result<Option<Uuid>> {
    if value.is_empty() {
        Ok(None)
    } else {
        id(field, value).map(Some)
    }
}

fn person_ref(r: &PersonRef) -> pb::PersonRef {
    pb::PersonRef {
        id: r.id.to_string(),
        name: r.name.clone(),
    }
}

pub fn unit_kind(kind: UnitKind) -> pb::UnitKind {
    match kind {
        UnitKind::Court => pb::UnitKind::Court,
        UnitKind::Department => pb::UnitKind::Department,
        UnitKind::GrassrootsCourt => pb::UnitKind::GrassrootsCourt,
        UnitKind::Office => pb::UnitKind::Office,
    }
}

/// `None` for UNSPECIFIED or unknown values.
pub fn unit_kind_from(value: i32) -> Option<UnitKind> {
    match pb::UnitKind::try_from(value).ok()? {
        pb::UnitKind::Unspecified => None,
        pb::UnitKind::Court => Some(UnitKind::Court),
        pb::UnitKind::Department => Some(UnitKind::Department),
        pb::UnitKind::GrassrootsCourt => Some(UnitKind::GrassrootsCourt),
        pb::UnitKind::Office => Some(UnitKind::Office),
    }
}

pub fn role(role: Role) -> pb::Role {
    match role {
        Role::OfficeSupervisor => pb::Role::OfficeSupervisor,
        Role::OfficeDirector => pb::Role::OfficeDirector,
        Role::Leader => pb::Role::Leader,
        Role::President => pb::Role::President,
        Role::UnitHead => pb::Role::UnitHead,
        Role::UnitLiaison => pb::Role::UnitLiaison,
        Role::Appraiser => pb::Role::Appraiser,
        Role::System => pb::Role::System,
        Role::Admin => pb::Role::Admin,
    }
}

pub fn role_from(value: i32) -> Option<Role> {
    Role::ALL.into_iter().find(|r| role(*r) as i32 == value)
}

pub fn post_from(value: i32) -> Option<Post> {
    match pb::OfficerPost::try_from(value).ok()? {
        pb::OfficerPost::Unspecified => None,
        pb::OfficerPost::Head => Some(Post::Head),
        pb::OfficerPost::Liaison => Some(Post::Liaison),
    }
}

fn post(post: Post) -> pb::OfficerPost {
    match post {
        Post::Head => pb::OfficerPost::Head,
        Post::Liaison => pb::OfficerPost::Liaison,
    }
}

pub fn unit(u: &Unit) -> pb::Unit {
    pb::Unit {
        id: u.id.to_string(),
        code: u.code.clone(),
        name: u.name.clone(),
        short_name: u.short_name.clone(),
        kind: unit_kind(u.kind) as i32,
        parent_id: u.parent_id.map(|p| p.to_string()).unwrap_or_default(),
        sort_order: u.sort_order,
        active: u.active,
        head: u.head.as_ref().map(person_ref),
        liaison: u.liaison.as_ref().map(person_ref),
        supervising_leaders: u.supervising_leaders.iter().map(person_ref).collect(),
        etag: etag(u.version),
        create_time: Some(timestamp(u.created_at)),
        update_time: Some(timestamp(u.updated_at)),
    }
}

pub fn person(p: &Person) -> pb::Person {
    pb::Person {
        id: p.id.to_string(),
        code: p.code.clone(),
        name: p.name.clone(),
        unit_id: p.unit_id.to_string(),
        title: p.title.clone(),
        email: p.email.clone(),
        phone: p.phone.clone(),
        active: p.active,
        supervised_unit_ids: p.supervised_unit_ids.iter().map(Uuid::to_string).collect(),
        etag: etag(p.version),
        create_time: Some(timestamp(p.created_at)),
        update_time: Some(timestamp(p.updated_at)),
    }
}

pub fn role_binding(b: &RoleBinding) -> pb::RoleBinding {
    pb::RoleBinding {
        id: b.id.to_string(),
        person_id: b.person_id.to_string(),
        role: role(b.role) as i32,
        unit_id: b.unit_id.to_string(),
        create_time: Some(timestamp(b.created_at)),
    }
}

pub fn officer_term(t: &OfficerTerm) -> pb::UnitOfficerTerm {
    pb::UnitOfficerTerm {
        unit_id: t.unit_id.to_string(),
        post: post(t.post) as i32,
        person: Some(person_ref(&t.person)),
        start_time: Some(timestamp(t.start_at)),
        end_time: t.end_at.map(timestamp),
        note: t.note.clone(),
    }
}
