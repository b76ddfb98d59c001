//! The one table of input limits: how long each string and how many each
//! repeated field of a request may be. The figures are far above what an
//! office writes (a feedback report of 20,000 characters is some forty
//! pages), so they never stop real work; they stop a caller from making an
//! assignment or a ledger so large that every other client fails to read it.
//! Where a domain rule checks a field too (an item's title, also a ledger
//! cell), it uses the figure named here. The edge
//! (`duban_platform::limits`) walks every request and asks here.

use crate::Violations;

/// The figures the domain rules check as well (an item's title is also a
/// ledger cell, checked when a row is read): named once here.
pub const ITEM_TITLE: usize = 200;
pub const SOURCE_TITLE: usize = 200;
pub const REQUIREMENTS: usize = 5_000;
pub const NAME: usize = 100;
pub const SHORT_NAME: usize = 30;
pub const POST_TITLE: usize = 50;
pub const TAG: usize = 20;
pub const TAGS: usize = 10;
pub const TARGETS: usize = 30;
pub const CO_UNITS: usize = 30;
pub const SUB_ITEMS: usize = 200;
pub const PLAN_STEPS: usize = 24;
pub const REQUEST_ID: usize = 128;
pub const SEARCH_TEXT: usize = 100;
/// Rows of one ledger upload (a province's ledger for a year), and so the
/// rows of a workbook worth reading.
pub const LEDGER_ROWS: usize = 200_000;

/// Strings, by `Message.field` or by field name (the first match wins).
/// Counted in characters: the office writes Chinese, three bytes each.
pub const TEXT: &[(&str, usize)] = &[
    // Whole files sent as text (an org file, a rule set, a calendar): the
    // per-message byte cap (4 MB) bounds them first.
    ("content", 4_000_000),
    // A ledger row's cells hold whole requirements and progress texts.
    ("CellsEntry.value", 20_000),
    ("CellsEntry.key", 100),
    ("ListItemsRequest.text", SEARCH_TEXT),
    ("Item.title", ITEM_TITLE),
    ("Item.requirements", REQUIREMENTS),
    ("Item.tags", TAG),
    ("Source.title", SOURCE_TITLE),
    ("Unit.name", NAME),
    ("Unit.short_name", SHORT_NAME),
    ("Person.name", NAME),
    ("Person.title", POST_TITLE),
    ("request_id", REQUEST_ID),
    ("text", 20_000),
    ("requirements", 20_000),
    ("findings", 20_000),
    ("progress", 20_000),
    ("summary", 5_000),
    ("next_steps", 5_000),
    ("deployment", 5_000),
    ("checked", 5_000),
    ("comment", 5_000),
    ("reason", 5_000),
    ("urgency_reason", 5_000),
    ("note", 5_000),
    ("description", 5_000),
    ("what", 1_000),
    ("title", 500),
    ("issuer", 200),
    ("doc_number", 200),
    ("name", 200),
    ("short_name", 100),
    ("attachments", 2_000),
    ("oa_link", 2_000),
    ("email", 320),
    ("phone", 50),
    ("tags", 50),
];

/// Any other string: ids, codes, etags, page tokens, labels.
pub const DEFAULT_TEXT: usize = 1_000;

/// Repeated fields (and maps), by `Message.field` or by field name.
pub const COUNT: &[(&str, usize)] = &[
    // One batch of a streamed upload; the whole upload has its own caps
    // (`[upload]` settings).
    ("LedgerRows.rows", 5_000),
    ("HistoricalAssignments.assignments", 5_000),
    ("Item.targets", TARGETS),
    ("Item.tags", TAGS),
    ("Item.co_unit_ids", CO_UNITS),
    ("DecomposeItemRequest.children", SUB_ITEMS),
    ("SubmitPlanRequest.steps", PLAN_STEPS),
    ("attachments", 50),
    ("targets", 100),
    ("progress", 100),
    ("steps", 100),
    ("tags", 50),
    ("co_unit_ids", 100),
    ("decision_ids", 100),
    ("cells", 100),
    ("children", 500),
];

/// Any other repeated field: ids to filter by, a calendar year's days.
pub const DEFAULT_COUNT: usize = 1_000;

fn lookup(table: &[(&str, usize)], message: &str, field: &str, default: usize) -> usize {
    let qualified = |key: &str| {
        key.split_once('.')
            .is_some_and(|(m, f)| f == field && (message == m || message.ends_with(&format!(".{m}"))))
    };
    table
        .iter()
        .find(|(key, _)| qualified(key))
        .or_else(|| table.iter().find(|(key, _)| *key == field))
        .map_or(default, |(_, max)| *max)
}

/// The most characters `field` of `message` (its full or short name) takes.
pub fn text_limit(message: &str, field: &str) -> usize {
    lookup(TEXT, message, field, DEFAULT_TEXT)
}

/// The most entries repeated `field` of `message` takes.
pub fn count_limit(message: &str, field: &str) -> usize {
    lookup(COUNT, message, field, DEFAULT_COUNT)
}

/// One string at `path`: no longer than its limit, and no NUL, which
/// PostgreSQL refuses in text and no person types.
pub fn check_text(path: &str, message: &str, field: &str, value: &str, v: &mut Violations) {
    let max = text_limit(message, field);
    // Bytes ≥ characters: most strings need no count.
    if value.len() > max && value.chars().count() > max {
        v.add(
            path,
            format!("is longer than {max} characters"),
            format!("不能超过{max}个字符"),
        );
    }
    if value.contains('\0') {
        v.add(path, "must not contain a NUL character", "不能包含空字符(NUL)");
    }
}

/// A repeated field at `path` with `count` entries.
pub fn check_count(path: &str, message: &str, field: &str, count: usize, v: &mut Violations) {
    let max = count_limit(message, field);
    if count > max {
        v.add(path, format!("has more than {max} entries"), format!("不能超过{max}项"));
    }
}

/// An enum field holding a number its type does not define: refused, never
/// read as "no filter".
pub fn unknown_enum(path: &str, value: i32, v: &mut Violations) {
    v.add(
        path,
        format!("{value} is not a value of this field"),
        format!("取值{value}无效"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_entries_come_before_field_names_and_the_default() {
        assert_eq!(text_limit("duban.registry.v1.ListItemsRequest", "text"), SEARCH_TEXT);
        assert_eq!(text_limit("ListItemsRequest", "text"), SEARCH_TEXT);
        assert_eq!(text_limit("duban.assignment.v1.SubmitFeedbackRequest", "text"), 20_000);
        // `XListItemsRequest` is not `ListItemsRequest`.
        assert_eq!(text_limit("duban.x.v1.XListItemsRequest", "text"), 20_000);
        assert_eq!(text_limit("duban.registry.v1.Item", "title"), ITEM_TITLE);
        assert_eq!(text_limit("duban.registry.v1.Source", "issuer"), 200);
        assert_eq!(count_limit("duban.registry.v1.Item", "targets"), TARGETS);
        assert_eq!(text_limit("duban.registry.v1.LedgerRow.CellsEntry", "value"), 20_000);
        assert_eq!(text_limit("duban.registry.v1.CreateSourceRequest", "issuer"), 200);
        assert_eq!(text_limit("duban.registry.v1.CreateUnitRequest", "code"), DEFAULT_TEXT);
        assert_eq!(
            count_limit("duban.assignment.v1.SubmitFeedbackRequest", "attachments"),
            50
        );
        assert_eq!(count_limit("duban.registry.v1.LedgerRows", "rows"), 5_000);
        assert_eq!(
            count_limit("duban.registry.v1.ListItemsRequest", "unit_ids"),
            DEFAULT_COUNT
        );
    }

    #[test]
    fn every_figure_leaves_room_for_real_work() {
        // A feedback report, a title and the lists the issue names.
        assert_eq!(text_limit("SubmitFeedbackRequest", "text"), 20_000);
        assert_eq!(count_limit("SubmitFeedbackRequest", "attachments"), 50);
        assert_eq!(count_limit("SubmitFeedbackRequest", "progress"), 100);
        assert_eq!(count_limit("CreateItemRequest", "targets"), 100);
        for (key, max) in TEXT.iter().chain(COUNT) {
            assert!(*max >= 10, "{key}: {max}");
        }
    }

    #[test]
    fn text_is_counted_in_characters_not_bytes() {
        let mut v = Violations::new();
        // 200 Chinese characters are 600 bytes and still within 200.
        check_text("name", "Target", "name", &"执".repeat(200), &mut v);
        assert!(v.is_empty(), "{v:?}");
        check_text("name", "Target", "name", &"执".repeat(201), &mut v);
        assert_eq!(v.0.len(), 1);
        assert_eq!(v.0[0].field, "name");
        assert_eq!(v.0[0].reason, "is longer than 200 characters");
        assert_eq!(v.0[0].reason_zh, "不能超过200个字符");
    }

    #[test]
    fn a_nul_is_refused_wherever_it_is() {
        let mut v = Violations::new();
        check_text("targets[2].name", "Target", "name", "a\0b", &mut v);
        assert_eq!(v.0.len(), 1);
        assert_eq!(v.0[0].field, "targets[2].name");
        assert!(v.0[0].reason_zh.contains("NUL"));
    }

    #[test]
    fn counts_at_the_limit_pass_and_above_it_are_named() {
        let mut v = Violations::new();
        check_count("attachments", "SubmitFeedbackRequest", "attachments", 50, &mut v);
        assert!(v.is_empty());
        check_count("attachments", "SubmitFeedbackRequest", "attachments", 51, &mut v);
        assert_eq!(v.0[0].field, "attachments");
        assert_eq!(v.0[0].reason, "has more than 50 entries");
        assert_eq!(v.0[0].reason_zh, "不能超过50项");
    }

    #[test]
    fn an_unknown_enum_value_names_its_field() {
        let mut v = Violations::new();
        unknown_enum("urgency", 999, &mut v);
        assert_eq!(
            (v.0[0].field.as_str(), v.0[0].reason.as_str()),
            ("urgency", "999 is not a value of this field")
        );
    }
}
