//! Conversions between items, sources and their protobuf messages.

use super::model::{Item, Rollup, Source, Target};
use crate::convert::{etag, timestamp};
use chrono::{Datelike, NaiveDate};
use duban_core::Violations;
use duban_core::item::{DecompositionLevel, RegistrationState, SourceKind, UrgencyClass};
use duban_proto::registry::v1 as pb;
use uuid::Uuid;

pub fn date(d: NaiveDate) -> pb::Date {
    pb::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// An optional date field: unset or all zero is `None`; anything else must be
/// a real calendar date.
pub fn date_from(field: &str, d: Option<&pb::Date>, v: &mut Violations) -> Option<NaiveDate> {
    let d = d?;
    if d.year == 0 && d.month == 0 && d.day == 0 {
        return None;
    }
    let parsed = NaiveDate::from_ymd_opt(d.year, d.month.max(0) as u32, d.day.max(0) as u32);
    if parsed.is_none() {
        v.add(field, "is not a calendar date", "日期无效");
    }
    parsed
}

macro_rules! enum_mapping {
    ($to:ident, $from:ident, $domain:ty, $proto:ty, { $($d:ident <=> $p:ident),+ $(,)? }) => {
        pub fn $to(value: $domain) -> $proto {
            match value { $(<$domain>::$d => <$proto>::$p),+ }
        }

        /// `None` for UNSPECIFIED and unknown values.
        pub fn $from(value: i32) -> Option<$domain> {
            match <$proto>::try_from(value).ok()? {
                $(<$proto>::$p => Some(<$domain>::$d),)+
                _ => None,
            }
        }
    };
}

enum_mapping!(source_kind, source_kind_from, SourceKind, pb::SourceKind, {
    PartyGroupDecision <=> PartyGroupDecision,
    PresidentInstruction <=> PresidentInstruction,
    LeaderInstruction <=> LeaderInstruction,
    WorkConference <=> WorkConference,
    AnnualKeyTask <=> AnnualKeyTask,
    PresidentOfficeMeeting <=> PresidentOfficeMeeting,
    SuperiorDeployment <=> SuperiorDeployment,
    Other <=> Other,
});

enum_mapping!(urgency, urgency_from, UrgencyClass, pb::UrgencyClass, {
    Urgent <=> Urgent,
    FixedDeadline <=> FixedDeadline,
    General <=> General,
    Major <=> Major,
});

enum_mapping!(state, state_from, RegistrationState, pb::RegistrationState, {
    Draft <=> Draft,
    PendingApproval <=> PendingApproval,
    Registered <=> Registered,
});

enum_mapping!(level, level_from, DecompositionLevel, pb::DecompositionLevel, {
    Unit <=> Unit,
    Project <=> Project,
    Post <=> Post,
    Person <=> Person,
});

fn id_string(id: Option<Uuid>) -> String {
    id.map(|i| i.to_string()).unwrap_or_default()
}

pub fn target(t: &Target) -> pb::Target {
    pb::Target {
        what: t.what.clone(),
        target_value: t.target_value,
        unit_of_measure: t.unit_of_measure.clone(),
    }
}

pub fn source(s: &Source) -> pb::Source {
    pb::Source {
        id: s.id.to_string(),
        kind: source_kind(s.fields.kind) as i32,
        title: s.fields.title.clone(),
        doc_number: s.fields.doc_number.clone(),
        doc_date: s.fields.doc_date.map(date),
        issuer: s.fields.issuer.clone(),
        oa_link: s.fields.oa_link.clone(),
        decisions: s
            .decisions
            .iter()
            .map(|d| pb::Decision {
                id: d.id.to_string(),
                seq: d.seq,
                text: d.text.clone(),
                item_ids: d.item_ids.iter().map(Uuid::to_string).collect(),
            })
            .collect(),
        court_id: s.fields.court_id.to_string(),
        etag: etag(s.version),
        create_time: Some(timestamp(s.created_at)),
    }
}

pub fn rollup(r: &Rollup) -> pb::Rollup {
    pb::Rollup {
        children: r.children as i32,
        descendants: r.descendants as i32,
        by_state: r
            .by_state
            .iter()
            .map(|(s, n)| pb::StateCount {
                state: state(*s) as i32,
                count: *n as i32,
            })
            .collect(),
        targets: r
            .targets
            .iter()
            .map(|t| pb::TargetTotal {
                what: t.what.clone(),
                unit_of_measure: t.unit_of_measure.clone(),
                total: t.total,
                items: t.items as i32,
            })
            .collect(),
    }
}

/// An item for the wire; `rollup` when it was computed (GetItem), otherwise
/// only the child count is known.
pub fn item(i: &Item, full_rollup: Option<&Rollup>) -> pb::Item {
    let f = &i.fields;
    pb::Item {
        id: i.id.to_string(),
        number: i.number.clone().unwrap_or_default(),
        title: f.title.clone(),
        requirements: f.requirements.clone(),
        source_id: id_string(f.source_id),
        decision_id: id_string(i.decision_id),
        urgency: urgency(f.urgency) as i32,
        urgency_reason: f.urgency_reason.clone(),
        deadline: f.deadline.map(date),
        lead_unit_id: f.lead_unit_id.to_string(),
        co_unit_ids: f.co_unit_ids.iter().map(Uuid::to_string).collect(),
        supervising_leader_id: id_string(f.supervising_leader_id),
        tags: f.tags.clone(),
        targets: f.targets.iter().map(target).collect(),
        continuing_attention: f.continuing_attention,
        parent_id: id_string(i.parent_id),
        level: i.level.map(|l| level(l) as i32).unwrap_or_default(),
        assignee_person_id: id_string(f.assignee_person_id),
        court_id: i.court_id.to_string(),
        state: state(i.state) as i32,
        review_comment: i.review_comment.clone(),
        reviewed_by: i.reviewed_by.clone(),
        registered_time: i.registered_at.map(timestamp),
        rollup: Some(match full_rollup {
            Some(r) => rollup(r),
            None => pb::Rollup {
                children: i.children as i32,
                ..Default::default()
            },
        }),
        status: i.status.as_ref().map(|s| pb::LedgerStatus {
            state: s.state.clone(),
            state_label: s.state_label.clone(),
            light: s.light.clone(),
            next_deadline: s.next_deadline.map(timestamp),
            final_deadline: s.final_deadline.map(date),
            final_deadline_provisional: s.final_deadline_provisional,
            next_deadline_provisional: s.next_deadline_provisional,
            latest_feedback: s.latest_feedback.clone(),
            latest_feedback_time: s.latest_feedback_at.map(timestamp),
            assigned_time: s.assigned_at.map(timestamp),
        }),
        progress_note: i.progress_note.clone(),
        etag: etag(i.version),
        create_time: Some(timestamp(i.created_at)),
        update_time: Some(timestamp(i.updated_at)),
        source_kind: i.names.source_kind.map(|k| source_kind(k) as i32).unwrap_or_default(),
        source_title: i.names.source_title.clone(),
        source_doc_number: i.names.source_doc_number.clone(),
        lead_unit_name: i.names.lead_unit_name.clone(),
        co_unit_names: i.names.co_unit_names.clone(),
        supervising_leader_name: i.names.leader_name.clone(),
        lead_unit_head_name: i.names.head_name.clone(),
        lead_unit_liaison_name: i.names.liaison_name.clone(),
        assignee_person_name: i.names.assignee_name.clone(),
    }
}
