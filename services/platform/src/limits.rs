//! The edge check of every request against the one table of input limits
//! (`duban_core::limits`): each string's length and NUL bytes, each repeated
//! field's count, each enum's value. It reads the request's encoding with
//! the contracts' own descriptor set, so every field of every request (and
//! every message of an upload) is checked by this one function, and a field
//! added to a contract is checked without anyone remembering to.

use crate::auth::{Principal, principal};
use crate::error::{Error, Result};
use duban_core::{Violations, limits};
use prost::Message;
use prost::bytes::Buf;
use prost::encoding::{WireType, decode_key, decode_varint};
use prost_types::field_descriptor_proto::{Label, Type};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// A request stops being walked after this many problems: enough to show
/// what is wrong, without building a list as long as a hostile request.
const MAX_FOUND: usize = 1_000;

/// The authenticated caller of a request whose every field is within limits.
pub fn admit<M: Message + prost::Name>(request: &tonic::Request<M>) -> Result<Principal> {
    let p = principal(request)?;
    check(request.get_ref())?;
    Ok(p)
}

/// Checks one message (a request, or one message of an upload).
pub fn check<M: Message + prost::Name>(message: &M) -> Result<()> {
    let bytes = message.encode_to_vec();
    let mut v = Violations::new();
    walk(&M::full_name(), "", &bytes, &mut v);
    v.into_result().map_err(Error::InvalidArgument)
}

struct Field {
    name: String,
    kind: Type,
    repeated: bool,
    /// A message's or enum's full name, for nested messages and enums.
    type_name: String,
}

#[derive(Default)]
struct Index {
    messages: HashMap<String, HashMap<u32, Field>>,
    enums: HashMap<String, HashSet<i32>>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let set = prost_types::FileDescriptorSet::decode(duban_proto::FILE_DESCRIPTOR_SET)
        .expect("the contracts' descriptor set decodes");
    let mut index = Index::default();
    for file in &set.file {
        let package = file.package();
        for m in &file.message_type {
            index.add_message(package, m);
        }
        for e in &file.enum_type {
            index.add_enum(package, e);
        }
    }
    index
});

impl Index {
    fn add_message(&mut self, scope: &str, m: &prost_types::DescriptorProto) {
        let name = format!("{scope}.{}", m.name());
        let fields = m
            .field
            .iter()
            .map(|f| {
                (
                    f.number() as u32,
                    Field {
                        name: f.name().to_owned(),
                        kind: f.r#type(),
                        repeated: f.label() == Label::Repeated,
                        type_name: f.type_name().trim_start_matches('.').to_owned(),
                    },
                )
            })
            .collect();
        self.messages.insert(name.clone(), fields);
        for nested in &m.nested_type {
            self.add_message(&name, nested);
        }
        for e in &m.enum_type {
            self.add_enum(&name, e);
        }
    }

    fn add_enum(&mut self, scope: &str, e: &prost_types::EnumDescriptorProto) {
        let values = e.value.iter().map(|v| v.number()).collect();
        self.enums.insert(format!("{scope}.{}", e.name()), values);
    }
}

/// Walks one encoded message of type `message` found at `prefix`. The
/// encoding came from a decoded message, so it is well formed; anything
/// unexpected just ends the walk.
fn walk(message: &str, prefix: &str, mut buf: &[u8], v: &mut Violations) {
    let Some(fields) = INDEX.messages.get(message) else {
        return;
    };
    let mut seen: HashMap<u32, usize> = HashMap::new();
    // What the values hold goes after the counts: "300 entries, at most
    // 100" says more than the first of 300 bad entries.
    let before = v.0.len();
    while buf.has_remaining() && v.0.len() < MAX_FOUND {
        let Ok((number, wire)) = decode_key(&mut buf) else {
            return;
        };
        let field = fields.get(&number);
        let path = |i: usize| match field {
            Some(f) if f.repeated => format!("{prefix}{}[{i}]", f.name),
            Some(f) => format!("{prefix}{}", f.name),
            None => String::new(),
        };
        match wire {
            WireType::Varint => {
                let Ok(value) = decode_varint(&mut buf) else { return };
                if let Some(f) = field {
                    let i = bump(&mut seen, number);
                    enum_value(f, &path(i), value, v);
                }
            }
            WireType::SixtyFourBit => buf.advance(8.min(buf.len())),
            WireType::ThirtyTwoBit => buf.advance(4.min(buf.len())),
            WireType::LengthDelimited => {
                let Ok(len) = decode_varint(&mut buf) else { return };
                let len = (len as usize).min(buf.len());
                let (body, rest) = buf.split_at(len);
                buf = rest;
                let Some(f) = field else { continue };
                match f.kind {
                    Type::String => {
                        let i = bump(&mut seen, number);
                        let text = String::from_utf8_lossy(body);
                        limits::check_text(&path(i), message, &f.name, &text, v);
                    }
                    Type::Message => {
                        let i = bump(&mut seen, number);
                        walk(&f.type_name, &format!("{}.", path(i)), body, v);
                    }
                    // A packed repeated scalar: count its values, check enums.
                    Type::Enum | Type::Int32 | Type::Int64 | Type::Uint32 | Type::Uint64 | Type::Bool => {
                        let mut packed = body;
                        while packed.has_remaining() {
                            let Ok(value) = decode_varint(&mut packed) else { break };
                            let i = bump(&mut seen, number);
                            enum_value(f, &path(i), value, v);
                        }
                    }
                    _ => {
                        bump(&mut seen, number);
                    }
                }
            }
            WireType::StartGroup | WireType::EndGroup => return,
        }
    }
    let mut counts = Violations::new();
    let mut numbers: Vec<_> = seen.into_iter().collect();
    numbers.sort();
    for (number, count) in numbers {
        let f = &fields[&number];
        if f.repeated {
            limits::check_count(&format!("{prefix}{}", f.name), message, &f.name, count, &mut counts);
        }
    }
    let values = v.0.split_off(before);
    v.extend(counts);
    v.extend(Violations(values));
}

/// Counts one more value of field `number`; returns its index.
fn bump(seen: &mut HashMap<u32, usize>, number: u32) -> usize {
    let n = seen.entry(number).or_default();
    *n += 1;
    *n - 1
}

fn enum_value(f: &Field, path: &str, value: u64, v: &mut Violations) {
    if f.kind != Type::Enum {
        return;
    }
    let value = value as i32;
    if !INDEX
        .enums
        .get(&f.type_name)
        .is_some_and(|known| known.contains(&value))
    {
        limits::unknown_enum(path, value, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duban_proto::assignment::v1 as apb;
    use duban_proto::registry::v1 as pb;

    fn fields(e: Error) -> Vec<(String, String)> {
        match e {
            Error::InvalidArgument(v) => v.0.into_iter().map(|f| (f.field, f.reason)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nested_and_repeated_fields_are_named_by_path() {
        let req = pb::CreateItemRequest {
            item: Some(pb::Item {
                title: "清理长期未结执行案件".into(),
                targets: vec![
                    pb::Target {
                        what: "执行结案".into(),
                        ..Default::default()
                    },
                    pb::Target {
                        what: "a\0b".into(),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            fields(check(&req).unwrap_err()),
            [(
                "item.targets[1].what".to_owned(),
                "must not contain a NUL character".to_owned()
            )]
        );
    }

    #[test]
    fn too_many_entries_and_unknown_enums_are_refused() {
        let req = apb::SubmitFeedbackRequest {
            attachments: vec!["https://oa/doc/1".into(); 51],
            ..Default::default()
        };
        assert_eq!(
            fields(check(&req).unwrap_err()),
            [("attachments".to_owned(), "has more than 50 entries".to_owned())]
        );
        let list = pb::ListItemsRequest {
            urgency: 999,
            ..Default::default()
        };
        assert_eq!(fields(check(&list).unwrap_err())[0].0, "urgency");
        let fine = pb::ListItemsRequest {
            urgency: pb::UrgencyClass::General as i32,
            ..Default::default()
        };
        assert!(check(&fine).is_ok());
    }
}
