//! The organisation directory as the registry's logic sees it.

use chrono::{DateTime, Utc};
use duban_core::Role;
use duban_core::org::UnitKind;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub short_name: String,
    #[serde(serialize_with = "kind_code")]
    pub kind: UnitKind,
    pub parent_id: Option<Uuid>,
    /// Ids from the root down to this unit itself.
    pub ancestry: Vec<Uuid>,
    pub sort_order: i32,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub head: Option<PersonRef>,
    pub liaison: Option<PersonRef>,
    pub supervising_leaders: Vec<PersonRef>,
}

/// The editable fields of a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitFields {
    pub code: String,
    pub name: String,
    pub short_name: String,
    #[serde(serialize_with = "kind_code")]
    pub kind: UnitKind,
    pub parent_id: Option<Uuid>,
    pub sort_order: i32,
    pub active: bool,
}

impl Unit {
    pub fn fields(&self) -> UnitFields {
        UnitFields {
            code: self.code.clone(),
            name: self.name.clone(),
            short_name: self.short_name.clone(),
            kind: self.kind,
            parent_id: self.parent_id,
            sort_order: self.sort_order,
            active: self.active,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub unit_id: Uuid,
    pub title: String,
    pub email: String,
    pub phone: String,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub supervised_unit_ids: Vec<Uuid>,
}

/// The editable fields of a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonFields {
    pub code: String,
    pub name: String,
    pub unit_id: Uuid,
    pub title: String,
    pub email: String,
    pub phone: String,
    pub active: bool,
}

impl Person {
    pub fn fields(&self) -> PersonFields {
        PersonFields {
            code: self.code.clone(),
            name: self.name.clone(),
            unit_id: self.unit_id,
            title: self.title.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            active: self.active,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Post {
    Head,
    Liaison,
}

impl Post {
    pub fn code(self) -> &'static str {
        match self {
            Post::Head => "head",
            Post::Liaison => "liaison",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "head" => Some(Post::Head),
            "liaison" => Some(Post::Liaison),
            _ => None,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Post::Head => "责任人",
            Post::Liaison => "联络员",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OfficerTerm {
    pub unit_id: Uuid,
    pub post: Post,
    pub person: PersonRef,
    pub start_at: DateTime<Utc>,
    pub end_at: Option<DateTime<Utc>>,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleBinding {
    pub id: Uuid,
    pub person_id: Uuid,
    #[serde(serialize_with = "role_code")]
    pub role: Role,
    pub unit_id: Uuid,
    pub created_at: DateTime<Utc>,
}

fn kind_code<S: serde::Serializer>(kind: &UnitKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.code())
}

fn role_code<S: serde::Serializer>(role: &Role, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(role.code())
}
