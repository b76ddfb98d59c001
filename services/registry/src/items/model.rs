//! Sources and items as the registry's logic sees them.

use chrono::{DateTime, NaiveDate, Utc};
use duban_core::item::{DecompositionLevel, RegistrationState, SourceKind, UrgencyClass};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub id: Uuid,
    pub seq: i32,
    pub text: String,
    pub item_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceFields {
    pub court_id: Uuid,
    pub kind: SourceKind,
    pub title: String,
    pub doc_number: String,
    pub doc_date: Option<NaiveDate>,
    pub issuer: String,
    pub oa_link: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub id: Uuid,
    #[serde(flatten)]
    pub fields: SourceFields,
    pub decisions: Vec<Decision>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub what: String,
    pub target_value: f64,
    pub unit_of_measure: String,
}

/// What the office writes about an item; everything else is derived.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemFields {
    pub title: String,
    pub requirements: String,
    pub source_id: Option<Uuid>,
    pub urgency: UrgencyClass,
    pub urgency_reason: String,
    pub deadline: Option<NaiveDate>,
    pub lead_unit_id: Uuid,
    pub co_unit_ids: Vec<Uuid>,
    pub supervising_leader_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub targets: Vec<Target>,
    pub continuing_attention: bool,
    pub assignee_person_id: Option<Uuid>,
}

/// Names shown beside an item's ids, resolved from the directory.
#[derive(Debug, Clone, Default)]
pub struct ItemNames {
    pub source_kind: Option<SourceKind>,
    pub source_title: String,
    pub source_doc_number: String,
    pub lead_unit_name: String,
    pub co_unit_names: Vec<String>,
    pub leader_name: String,
    pub head_name: String,
    pub liaison_name: String,
    pub assignee_name: String,
}

/// The live follow-up status the assignment service publishes.
#[derive(Debug, Clone, Default)]
pub struct LedgerStatus {
    pub state: String,
    pub state_label: String,
    pub light: String,
    pub next_deadline: Option<DateTime<Utc>>,
    pub final_deadline: Option<NaiveDate>,
    pub final_deadline_provisional: bool,
    pub next_deadline_provisional: bool,
    pub latest_feedback: String,
    pub latest_feedback_at: Option<DateTime<Utc>>,
    pub assigned_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub id: Uuid,
    pub seq: i64,
    pub court_id: Uuid,
    pub number: Option<String>,
    #[serde(flatten)]
    pub fields: ItemFields,
    pub decision_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub ancestry: Vec<Uuid>,
    pub level: Option<DecompositionLevel>,
    pub state: RegistrationState,
    pub review_comment: String,
    pub reviewed_by: String,
    pub registered_at: Option<DateTime<Utc>>,
    pub registered_on: Option<NaiveDate>,
    pub progress_note: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub names: ItemNames,
    #[serde(skip)]
    pub status: Option<LedgerStatus>,
    #[serde(skip)]
    pub children: i64,
}

/// What the audit record keeps of an item's registration.
#[derive(Debug, Clone, Serialize)]
pub struct RegistrationRecord<'a> {
    pub state: RegistrationState,
    pub number: Option<&'a str>,
    pub urgency: UrgencyClass,
    pub urgency_reason: &'a str,
    pub deadline: Option<NaiveDate>,
    pub review_comment: &'a str,
}

impl Item {
    pub fn registration(&self) -> RegistrationRecord<'_> {
        RegistrationRecord {
            state: self.state,
            number: self.number.as_deref(),
            urgency: self.fields.urgency,
            urgency_reason: &self.fields.urgency_reason,
            deadline: self.fields.deadline,
            review_comment: &self.review_comment,
        }
    }

    /// Units the item concerns, for event filtering and scope checks.
    pub fn unit_ids(&self) -> Vec<Uuid> {
        let mut ids = vec![self.court_id, self.fields.lead_unit_id];
        ids.extend(self.fields.co_unit_ids.iter().copied());
        ids
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetTotal {
    pub what: String,
    pub unit_of_measure: String,
    pub total: f64,
    pub items: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    pub children: i64,
    pub descendants: i64,
    pub by_state: Vec<(RegistrationState, i64)>,
    pub targets: Vec<TargetTotal>,
}

/// The ledger's filters, all optional.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    pub source_kind: Option<SourceKind>,
    pub unit_id: Option<Uuid>,
    pub supervising_leader_id: Option<Uuid>,
    pub urgency: Option<UrgencyClass>,
    pub state: Option<RegistrationState>,
    pub registered: (Option<NaiveDate>, Option<NaiveDate>),
    pub deadline: (Option<NaiveDate>, Option<NaiveDate>),
    pub source_date: (Option<NaiveDate>, Option<NaiveDate>),
    pub tag: Option<String>,
    pub text: Option<String>,
    /// The bigram of `text` the index narrows by (none for one character).
    pub text_gram: Option<String>,
    pub parent_id: Option<Uuid>,
    pub top_level_only: bool,
    pub source_id: Option<Uuid>,
    pub court_id: Option<Uuid>,
    pub newest_first: bool,
}

/// What a caller may see of the ledger; `None` fields mean no restriction of
/// that kind. Items pass when their court is in `courts` or one of their
/// units is in `units`.
#[derive(Debug, Clone, Default)]
pub struct LedgerScope {
    pub unrestricted: bool,
    pub courts: Vec<Uuid>,
    pub units: Vec<Uuid>,
}
