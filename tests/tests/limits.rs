//! Bounded inputs, as an attacker holding an ordinary token tries them:
//! uploads refused before they are read, every field held to the one table
//! of limits (`duban_core::limits`), NUL bytes and unknown enum values
//! refused naming the field, list pages that stay small, and refusals with
//! hundreds of violations that a default client can still read.

use duban_core::Role;
use duban_proto::assignment::v1 as apb;
use duban_proto::registry::v1 as pb;
use duban_proto::reporting::v1 as rpb;
use duban_tests::{TestApp, acknowledge, assign, feedback, rid, uuid};
use prost::Message;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The fields a refusal names, in order.
fn fields(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|f| f.field.clone()).collect())
        .unwrap_or_default()
}

fn assert_refused(result: Result<impl std::fmt::Debug, Status>, code: Code, field: &str) -> Status {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), code, "{field}: {status:?}");
    if code == Code::InvalidArgument {
        assert!(
            fields(&status).iter().any(|f| f == field),
            "{field} not in {:?}",
            fields(&status)
        );
        let zh = status.get_error_details().localized_message().unwrap().message.clone();
        assert!(zh.contains(field), "{zh}");
    }
    status
}

/// Resident memory of this process (the suite runs in it), in bytes.
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * 1024
}

/// Samples this process's resident memory until `done`; the highest seen.
fn sample_peak(done: Arc<AtomicBool>) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut peak = rss();
        while !done.load(Ordering::Relaxed) {
            peak = peak.max(rss());
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        peak.max(rss())
    })
}

fn ledger_row(row: i32, progress: String) -> pb::LedgerRow {
    pb::LedgerRow {
        row,
        cells: BTreeMap::from([
            ("事项名称".to_owned(), format!("事项{row}")),
            ("进展情况".to_owned(), progress),
        ]),
    }
}

/// An upload of `batches` messages after the options, each one row of
/// `row_bytes`, made only as the client sends it; `sent` counts the
/// messages the client has handed to the connection.
fn hostile_upload(
    options: pb::ImportLedgerOptions,
    batches: usize,
    row_bytes: usize,
    sent: Arc<AtomicUsize>,
) -> impl futures::Stream<Item = pb::ImportLedgerRequest> + Send + 'static {
    let first = pb::ImportLedgerRequest {
        part: Some(pb::import_ledger_request::Part::Options(options)),
    };
    let rows = (0..batches).map(move |i| pb::ImportLedgerRequest {
        part: Some(pb::import_ledger_request::Part::Rows(pb::LedgerRows {
            // Within each field's limit: the row is large, not malformed.
            rows: (0..row_bytes / 30_000)
                .map(|j| ledger_row((i * 1000 + j) as i32 + 2, "进".repeat(10_000)))
                .collect(),
        })),
    });
    let counted = move |m| {
        sent.fetch_add(1, Ordering::SeqCst);
        m
    };
    tokio_stream::iter(std::iter::once(first).chain(rows).map(counted))
}

#[tokio::test]
async fn a_liaisons_upload_is_refused_on_its_options_before_any_row_is_read() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let court = app.unit_by_code("jczy").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let liaison = app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await;
    let mut client = app.registry(&liaison).await;
    // As the audit tried it: 250 messages of 3.5 MB (about 875 MB).
    let sent = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let before = rss();
    let peak = sample_peak(done.clone());
    let upload = hostile_upload(
        pb::ImportLedgerOptions {
            request_id: rid(),
            court_id: court.id.clone(),
            ..Default::default()
        },
        250,
        3_500_000,
        sent.clone(),
    );
    let result = client.import_ledger(upload).await;
    done.store(true, Ordering::Relaxed);
    let peak = peak.await.unwrap();
    assert_refused(result, Code::PermissionDenied, "");
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent <= 5, "the client had sent {sent} of 251 messages when refused");
    let grown = peak.saturating_sub(before);
    assert!(grown < 100 << 20, "memory grew by {} MB", grown >> 20);
    println!(
        "refused after {sent} of 251 messages; peak memory {} MB above the start",
        grown >> 20
    );

    // The follow-up import the same way: a liaison may not assign at all.
    let mut assignments = app.assignments(&liaison).await;
    let rows = (0..250).map(|i| apb::ImportAssignmentsRequest {
        part: Some(apb::import_assignments_request::Part::Rows(
            apb::HistoricalAssignments {
                assignments: vec![apb::HistoricalAssignment {
                    row: i + 2,
                    progress: "进".repeat(10_000),
                    ..Default::default()
                }],
            },
        )),
    });
    let first = apb::ImportAssignmentsRequest {
        part: Some(apb::import_assignments_request::Part::Options(
            apb::ImportAssignmentsOptions {
                request_id: rid(),
                dry_run: true,
            },
        )),
    };
    let result = assignments
        .import_assignments(tokio_stream::iter(std::iter::once(first).chain(rows)))
        .await;
    assert_refused(result, Code::PermissionDenied, "");
    app.stop().await;
}

#[tokio::test]
async fn an_upload_over_its_byte_cap_is_refused_as_the_cap_is_passed() {
    let db = duban_platform::test_db::TestDatabase::fresh().await.unwrap();
    let app = TestApp::spawn_with(db, |s| s.upload.max_bytes = 2 << 20).await;
    app.load_demo().await;
    let court = app.unit_by_code("jczy").await;
    let mut client = app.admin().await;
    let sent = Arc::new(AtomicUsize::new(0));
    // 100 messages of about 300 KB (30 MB) against a 2 MB cap: passed at
    // the seventh; the client may have a few more in flight.
    let upload = hostile_upload(
        pb::ImportLedgerOptions {
            request_id: rid(),
            court_id: court.id.clone(),
            dry_run: true,
            ..Default::default()
        },
        100,
        300_000,
        sent.clone(),
    );
    let status = assert_refused(client.import_ledger(upload).await, Code::ResourceExhausted, "");
    assert!(status.message().contains("2 MiB"), "{}", status.message());
    let sent = sent.load(Ordering::SeqCst);
    assert!(
        (7..=20).contains(&sent),
        "the client had sent {sent} of 101 messages when refused"
    );
    println!("refused at the byte cap after {sent} of 101 messages");

    // A row whose cell is over its limit: INVALID_ARGUMENT naming it, at
    // the message that carries it.
    let bad = vec![
        pb::ImportLedgerRequest {
            part: Some(pb::import_ledger_request::Part::Options(pb::ImportLedgerOptions {
                request_id: rid(),
                court_id: court.id.clone(),
                dry_run: true,
                ..Default::default()
            })),
        },
        pb::ImportLedgerRequest {
            part: Some(pb::import_ledger_request::Part::Rows(pb::LedgerRows {
                rows: vec![ledger_row(2, "进".repeat(20_001))],
            })),
        },
    ];
    assert_refused(
        client.import_ledger(tokio_stream::iter(bad)).await,
        Code::InvalidArgument,
        "rows.rows[0].cells[1].value",
    );
    app.stop().await;
}

/// One request over one limit, and the field it must name.
struct Case {
    field: &'static str,
    call: futures::future::BoxFuture<'static, Result<(), Status>>,
}

fn long(n: usize) -> String {
    "字".repeat(n)
}

fn target(what: &str) -> pb::Target {
    pb::Target {
        what: what.into(),
        target_value: 1.0,
        unit_of_measure: "件".into(),
    }
}

#[tokio::test]
async fn every_limit_is_refused_naming_its_field() {
    let app = TestApp::spawn().await;
    let registry = app.admin().await;
    let assignments = app.assignments(&app.admin_token).await;
    let reporting = app.reporting(&app.admin_token).await;
    let id = uuid::Uuid::new_v4().to_string();
    macro_rules! case {
        ($field:literal, $client:ident . $method:ident ($req:expr)) => {{
            let mut c = $client.clone();
            let req = $req;
            Case {
                field: $field,
                call: Box::pin(async move { c.$method(req).await.map(|_| ()) }),
            }
        }};
    }
    let feedback = |f: fn(&mut apb::SubmitFeedbackRequest)| {
        let mut req = apb::SubmitFeedbackRequest {
            request_id: rid(),
            id: id.clone(),
            kind: "progress".into(),
            text: "按计划推进".into(),
            ..Default::default()
        };
        f(&mut req);
        req
    };
    let item = |f: fn(&mut pb::Item)| {
        let mut item = pb::Item {
            title: "清理长期未结执行案件".into(),
            ..Default::default()
        };
        f(&mut item);
        pb::CreateItemRequest {
            request_id: rid(),
            item: Some(item),
        }
    };
    let cases = vec![
        case!("text", assignments.submit_feedback(feedback(|r| r.text = long(20_001)))),
        case!(
            "next_steps",
            assignments.submit_feedback(feedback(|r| r.next_steps = long(5_001)))
        ),
        case!(
            "attachments",
            assignments.submit_feedback(feedback(|r| r.attachments = vec!["https://oa/1".into(); 51]))
        ),
        case!(
            "attachments[0]",
            assignments.submit_feedback(feedback(|r| r.attachments = vec![long(2_001)]))
        ),
        case!(
            "progress",
            assignments.submit_feedback(feedback(|r| r.progress = vec![target("结案"); 101]))
        ),
        case!(
            "progress[0].what",
            assignments.submit_feedback(feedback(|r| r.progress = vec![target(&long(1_001))]))
        ),
        case!("item.title", registry.create_item(item(|i| i.title = long(501)))),
        case!(
            "item.requirements",
            registry.create_item(item(|i| i.requirements = long(20_001)))
        ),
        case!(
            "item.urgency_reason",
            registry.create_item(item(|i| i.urgency_reason = long(5_001)))
        ),
        case!(
            "item.targets",
            registry.create_item(item(|i| i.targets = vec![target("结案"); 101]))
        ),
        case!(
            "item.tags",
            registry.create_item(item(|i| i.tags = vec!["执行".into(); 51]))
        ),
        case!("item.tags[0]", registry.create_item(item(|i| i.tags = vec![long(51)]))),
        case!(
            "item.co_unit_ids",
            registry.create_item(item(|i| i.co_unit_ids = vec![rid(); 101]))
        ),
        case!(
            "item.lead_unit_id",
            registry.create_item(item(|i| i.lead_unit_id = long(1_001)))
        ),
        case!(
            "source.issuer",
            registry.create_source(pb::CreateSourceRequest {
                request_id: rid(),
                source: Some(pb::Source {
                    title: "关于加强执行工作的批示".into(),
                    issuer: long(201),
                    ..Default::default()
                }),
            })
        ),
        case!(
            "source.title",
            registry.create_source(pb::CreateSourceRequest {
                request_id: rid(),
                source: Some(pb::Source {
                    title: long(501),
                    ..Default::default()
                }),
            })
        ),
        case!(
            "unit.name",
            registry.create_unit(pb::CreateUnitRequest {
                request_id: rid(),
                unit: Some(pb::Unit {
                    name: long(201),
                    ..Default::default()
                }),
            })
        ),
        case!(
            "comment",
            registry.approve_item(pb::ApproveItemRequest {
                request_id: rid(),
                id: id.clone(),
                comment: long(5_001),
                ..Default::default()
            })
        ),
        case!(
            "note",
            assignments.urge(apb::UrgeRequest {
                request_id: rid(),
                id: id.clone(),
                note: long(5_001),
                ..Default::default()
            })
        ),
        case!(
            "findings",
            assignments.re_inspect(apb::ReInspectRequest {
                request_id: rid(),
                item_id: id.clone(),
                findings: long(20_001),
                ..Default::default()
            })
        ),
        case!(
            "text",
            registry.list_items(pb::ListItemsRequest {
                text: long(201),
                ..Default::default()
            })
        ),
        case!(
            "period",
            reporting.preview_report(rpb::PreviewReportRequest {
                period: long(1_001),
                ..Default::default()
            })
        ),
    ];
    let n = cases.len();
    for case in cases {
        assert_refused(case.call.await, Code::InvalidArgument, case.field);
    }
    assert!(n >= 20);
    app.stop().await;
}

#[tokio::test]
async fn feedback_at_its_limits_is_taken_and_one_more_is_refused() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-30T10:00:00+08:00").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let item = app
        .registered_item(pb::Item {
            title: "涉企执行案件专项清理".into(),
            lead_unit_id: zxj.id.clone(),
            ..Default::default()
        })
        .await;
    let mut office = app.assignments(&app.admin_token).await;
    let a = assign(&mut office, &item.id).await;
    let liaison = app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await;
    let mut unit = app.assignments(&liaison).await;
    let a = acknowledge(&mut unit, &a, "局党组专题研究部署").await;
    let report = |text: String, attachments: usize, targets: usize| apb::SubmitFeedbackRequest {
        request_id: rid(),
        id: a.id.clone(),
        etag: a.etag.clone(),
        kind: "initial".into(),
        text,
        progress: vec![target("梳理案件"); targets],
        attachments: (0..attachments).map(|i| format!("https://oa.court/doc/{i}")).collect(),
        ..Default::default()
    };
    for (req, field) in [
        (report(long(20_001), 50, 100), "text"),
        (report(long(20_000), 51, 100), "attachments"),
        (report(long(20_000), 50, 101), "progress"),
    ] {
        assert_refused(unit.submit_feedback(req).await, Code::InvalidArgument, field);
    }
    let taken = unit
        .submit_feedback(report(long(20_000), 50, 100))
        .await
        .unwrap()
        .into_inner();
    let latest = taken.feedback.last().unwrap();
    assert_eq!(
        (
            latest.text.chars().count(),
            latest.attachments.len(),
            latest.progress.len()
        ),
        (20_000, 50, 100)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_list_page_carries_the_latest_report_not_the_whole_history() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-30T10:00:00+08:00").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let item = app
        .registered_item(pb::Item {
            title: "涉企执行案件专项清理".into(),
            lead_unit_id: zxj.id.clone(),
            ..Default::default()
        })
        .await;
    let mut office = app.assignments(&app.admin_token).await;
    let a = assign(&mut office, &item.id).await;
    let mut a = acknowledge(&mut office, &a, "局党组专题研究部署").await;
    // 30 reports of 20,000 characters after the deployment: 1.8 MB of
    // history on one assignment.
    a = feedback(&mut office, &a, "initial", &long(20_000)).await;
    for i in 1..30 {
        a = feedback(&mut office, &a, "progress", &format!("第{i}次进展{}", long(19_990))).await;
    }
    assert_eq!(a.feedback.len(), 31);
    let page = office
        .list_assignments(apb::ListAssignmentsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let listed = page.assignments.iter().find(|x| x.id == a.id).unwrap();
    assert_eq!(listed.feedback.len(), 1, "the basic view has the latest report only");
    assert!(listed.feedback[0].text.starts_with("第29次进展"));
    assert!(page.encoded_len() < 100_000, "{} bytes", page.encoded_len());
    // The whole history on asking for it, and from GetAssignment.
    let full = office
        .list_assignments(apb::ListAssignmentsRequest {
            view: apb::AssignmentView::Full as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        full.assignments.iter().find(|x| x.id == a.id).unwrap().feedback.len(),
        31
    );
    assert_eq!(duban_tests::get_assignment(&mut office, &a.id).await.feedback.len(), 31);

    // 40 items each at its limits (5,000 characters of requirements, 30
    // targets of 1,000): about 4 MB. A page of 100 is cut under 4 MB, and
    // the next page carries on after it.
    for i in 0..40 {
        app.draft_item(pb::Item {
            title: format!("长要求事项{i}"),
            requirements: long(5_000),
            targets: vec![target(&long(1_000)); 30],
            lead_unit_id: zxj.id.clone(),
            ..Default::default()
        })
        .await;
    }
    let mut registry = app.admin().await;
    let (mut seen, mut pages, mut token) = (Vec::new(), 0, String::new());
    loop {
        let page = registry
            .list_items(pb::ListItemsRequest {
                page_size: 100,
                page_token: token,
                text: "长要求事项".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.encoded_len() < 4 << 20, "{} bytes", page.encoded_len());
        seen.extend(page.items.into_iter().map(|i| i.id));
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    seen.sort();
    seen.dedup();
    assert_eq!((seen.len(), pages), (40, 2));
    app.stop().await;
}

#[tokio::test]
async fn a_nul_byte_is_refused_naming_its_field() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let court = app.unit_by_code("jczy").await;
    let mut registry = app.admin().await;
    let result = registry
        .create_source(pb::CreateSourceRequest {
            request_id: rid(),
            source: Some(pb::Source {
                kind: pb::SourceKind::PresidentInstruction as i32,
                title: "关于加强\0执行工作的批示".into(),
                court_id: court.id.clone(),
                ..Default::default()
            }),
        })
        .await;
    let status = assert_refused(result, Code::InvalidArgument, "source.title");
    assert!(status.message().contains("NUL"), "{}", status.message());
    let result = registry
        .list_items(pb::ListItemsRequest {
            text: "执行\0".into(),
            ..Default::default()
        })
        .await;
    assert_refused(result, Code::InvalidArgument, "text");
    let result = app
        .assignments(&app.admin_token)
        .await
        .urge(apb::UrgeRequest {
            request_id: rid(),
            id: rid(),
            note: "\0".into(),
            ..Default::default()
        })
        .await;
    assert_refused(result, Code::InvalidArgument, "note");
    app.stop().await;
}

#[tokio::test]
async fn enum_values_out_of_range_are_refused_not_read_as_no_filter() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let mut registry = app.admin().await;
    let result = registry
        .list_items(pb::ListItemsRequest {
            urgency: 999,
            ..Default::default()
        })
        .await;
    assert_refused(result, Code::InvalidArgument, "urgency");
    let result = registry
        .list_units(pb::ListUnitsRequest {
            kind: 42,
            ..Default::default()
        })
        .await;
    assert_refused(result, Code::InvalidArgument, "kind");
    let result = app
        .reporting(&app.admin_token)
        .await
        .preview_report(rpb::PreviewReportRequest {
            kind: rpb::ReportKind::Monthly as i32,
            period: "2026-10".into(),
            format: 99,
            ..Default::default()
        })
        .await;
    assert_refused(result, Code::InvalidArgument, "format");
    // In range, the same lists answer.
    registry
        .list_units(pb::ListUnitsRequest {
            kind: pb::UnitKind::Court as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    app.stop().await;
}

/// What the refusal weighs as metadata (status, message, details), as
/// HTTP/2 counts a header list: name, value and 32 bytes each.
fn metadata_bytes(status: &Status) -> usize {
    let response: tonic::codegen::http::Response<()> = status.clone().into_http();
    response
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 32)
        .sum()
}

#[tokio::test]
async fn hundreds_of_violations_reach_a_default_client_as_invalid_argument() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let court = app.unit_by_code("jczy").await;
    // A default client: tonic's channel, hyper's default header list size.
    let mut client = app.admin().await;
    // A ledger dry-run of 400 rows each naming a unit the court lacks.
    let rows = (0..400)
        .map(|i| pb::LedgerRow {
            row: i + 2,
            cells: BTreeMap::from([
                ("事项名称".to_owned(), format!("事项{i}")),
                ("来源".to_owned(), "院长批示".to_owned()),
                ("立项日期".to_owned(), "2025-11-20".to_owned()),
                ("紧急程度".to_owned(), "一般事项".to_owned()),
                ("主办单位".to_owned(), format!("不存在的第{i}庭")),
            ]),
        })
        .collect();
    let messages = vec![
        pb::ImportLedgerRequest {
            part: Some(pb::import_ledger_request::Part::Options(pb::ImportLedgerOptions {
                request_id: rid(),
                court_id: court.id.clone(),
                dry_run: true,
                ..Default::default()
            })),
        },
        pb::ImportLedgerRequest {
            part: Some(pb::import_ledger_request::Part::Rows(pb::LedgerRows { rows })),
        },
    ];
    let status = client.import_ledger(tokio_stream::iter(messages)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let violations = status
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .clone();
    assert!(violations.len() > 5);
    assert_eq!(violations[0].field, "rows[2].主办单位");
    let rest = 400 - (violations.len() - 1);
    assert_eq!(
        violations.last().unwrap().description,
        format!("{rest} more problems not listed")
    );
    assert!(metadata_bytes(&status) < 8 * 1024, "{} bytes", metadata_bytes(&status));

    // 300 bad targets on one item: the count and every NUL, as one refusal.
    let result = client
        .create_item(pb::CreateItemRequest {
            request_id: rid(),
            item: Some(pb::Item {
                title: "清理长期未结执行案件".into(),
                targets: vec![target("结\0案"); 300],
                ..Default::default()
            }),
        })
        .await;
    let status = assert_refused(result, Code::InvalidArgument, "item.targets");
    assert_eq!(fields(&status)[..2], ["item.targets", "item.targets[0].what"]);
    assert!(metadata_bytes(&status) < 8 * 1024, "{} bytes", metadata_bytes(&status));
    app.stop().await;
}
