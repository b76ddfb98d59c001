//! The Excel ledger: export with Chinese headers and real dates, import of a
//! historical ledger, all-or-nothing on bad rows, twice is once, and an
//! exported file imports again.

use calamine::{Data, Reader, open_workbook_auto};
use duban::cli::items::{ExportOptions, export, import};
use duban_proto::registry::v1 as pb;
use duban_tests::{TestApp, rid};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::PathBuf;
use tonic::Code;
use tonic_types::StatusExt;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("duban-xlsx-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

async fn counts(pool: &sqlx::PgPool) -> (i64, i64, i64) {
    let items: i64 = sqlx::query_scalar("SELECT count(*) FROM registry.items")
        .fetch_one(pool)
        .await
        .unwrap();
    let sources: i64 = sqlx::query_scalar("SELECT count(*) FROM registry.sources")
        .fetch_one(pool)
        .await
        .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM platform.events")
        .fetch_one(pool)
        .await
        .unwrap();
    (items, sources, events)
}

/// A historical ledger as an office keeps it: its own title line, then the
/// header, dates as date cells and as text.
fn historical_ledger(path: &PathBuf, extra_rows: &[[&str; 9]]) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "2025年度督查督办事项台账").unwrap();
    let headers = [
        "序号",
        "事项名称",
        "来源",
        "文号",
        "立项日期",
        "紧急程度",
        "主办单位",
        "协办单位",
        "分管领导",
        "办理时限",
        "进展情况",
        "状态",
        "备注",
    ];
    for (i, h) in headers.iter().enumerate() {
        ws.write_string(1, i as u16, *h).unwrap();
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let rows: Vec<[&str; 9]> = vec![
        [
            "推进立案信访窗口建设",
            "院长批示",
            "院批〔2025〕12号",
            "2025-11-03",
            "一般事项",
            "立案庭",
            "",
            "陈立新",
            "",
        ],
        [
            "开展执行积案清理",
            "分党组决定事项",
            "纪要〔2025〕9号",
            "2025-11-10",
            "限期办理",
            "执行局",
            "立案庭、江城法院",
            "孙立军",
            "2025-12-31",
        ],
        [
            "规范庭审录音录像",
            "年度重点工作",
            "",
            "2025/12/1",
            "重大复杂事项",
            "刑事审判庭",
            "",
            "",
            "",
        ],
    ];
    for (r, row) in rows.iter().chain(extra_rows.iter()).enumerate() {
        let line = (r + 2) as u32;
        ws.write_number(line, 0, (r + 1) as f64).unwrap();
        for (c, value) in [
            (1, row[0]),
            (2, row[1]),
            (3, row[2]),
            (5, row[4]),
            (6, row[5]),
            (7, row[6]),
            (8, row[7]),
        ] {
            ws.write_string(line, c, value).unwrap();
        }
        // The first row's date as a real date cell, the others as typed text.
        if r == 0 {
            let d = ExcelDateTime::from_ymd(2025, 11, 3).unwrap();
            ws.write_datetime_with_format(line, 4, &d, &date).unwrap();
        } else {
            ws.write_string(line, 4, row[3]).unwrap();
        }
        ws.write_string(line, 9, row[8]).unwrap();
        ws.write_string(line, 10, "已召开专题会议研究部署").unwrap();
        ws.write_string(line, 11, "办理中").unwrap();
    }
    wb.save(path).unwrap();
}

#[tokio::test]
async fn a_historical_ledger_imports_once_with_its_dates() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let path = temp("history.xlsx");
    historical_ledger(&path, &[]);
    let mut client = app.admin().await;
    let out = import(&mut client, &path, String::new(), false, false).await.unwrap();
    assert_eq!(
        (out.rows, out.created, out.unchanged, out.sources_created),
        (3, 3, 0, 3)
    );
    let items = client
        .list_items(pb::ListItemsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items;
    let first = &items[0];
    assert_eq!(first.title, "推进立案信访窗口建设");
    assert_eq!(first.number, "督〔2025〕1号");
    assert_eq!(first.state, pb::RegistrationState::Registered as i32);
    assert_eq!(first.progress_note, "已召开专题会议研究部署");
    assert_eq!(first.supervising_leader_name, "陈立新");
    assert_eq!(first.source_doc_number, "院批〔2025〕12号");
    assert_eq!(
        items[1].deadline,
        Some(pb::Date {
            year: 2025,
            month: 12,
            day: 31
        })
    );
    assert_eq!(items[1].co_unit_names, ["立案庭", "江川市江城区人民法院"]);
    assert_eq!(items[2].number, "督〔2025〕3号");
    // Registered on the ledger's date, not today.
    let registered = client
        .list_items(pb::ListItemsRequest {
            registered: Some(pb::DateRange {
                from: Some(pb::Date {
                    year: 2025,
                    month: 11,
                    day: 3,
                }),
                to: Some(pb::Date {
                    year: 2025,
                    month: 11,
                    day: 3,
                }),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(registered.len(), 1);

    // Again: nothing new.
    let before = counts(&app.db.pool).await;
    let again = import(&mut client, &path, String::new(), false, false).await.unwrap();
    assert_eq!((again.created, again.unchanged), (0, 3));
    assert_eq!(counts(&app.db.pool).await, before);
    // New registrations continue after the imported numbers of that year.
    app.stop().await;
}

#[tokio::test]
async fn a_ledger_with_bad_rows_imports_nothing_and_names_every_cell() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let path = temp("bad.xlsx");
    historical_ledger(
        &path,
        &[
            ["", "院长批示", "", "2025-11-20", "一般事项", "立案庭", "", "", ""],
            [
                "未知单位的事项",
                "上级精神",
                "",
                "2025-13-01",
                "很急",
                "后勤处",
                "",
                "王五",
                "",
            ],
            ["限期无时限", "其他", "", "2025-11-21", "限期办理", "执行局", "", "", ""],
        ],
    );
    let before = counts(&app.db.pool).await;
    let mut client = app.admin().await;
    let err = import(&mut client, &path, String::new(), false, false)
        .await
        .unwrap_err();
    let status = err.to_string();
    assert!(status.starts_with("InvalidArgument"), "{status}");
    // The CLI prints every violation; check the ones it carries.
    for expected in [
        "rows[6].事项名称",
        "rows[7].来源",
        "rows[7].立项日期",
        "rows[7].紧急程度",
        "rows[7].主办单位",
        "rows[7].分管领导",
        "rows[8].办理时限",
        "第7行“主办单位”列:单位“后勤处”不在本院组织机构中",
        "row 7, column 紧急程度",
    ] {
        assert!(status.contains(expected), "missing {expected} in:\n{status}");
    }
    assert_eq!(counts(&app.db.pool).await, before);

    // The same through the RPC: INVALID_ARGUMENT with field violations.
    let rows = duban::ledger_xlsx::read(&path).unwrap();
    let messages = vec![
        pb::ImportLedgerRequest {
            part: Some(pb::import_ledger_request::Part::Options(pb::ImportLedgerOptions {
                request_id: rid(),
                ..Default::default()
            })),
        },
        pb::ImportLedgerRequest {
            part: Some(pb::import_ledger_request::Part::Rows(pb::LedgerRows { rows })),
        },
    ];
    let err = client.import_ledger(tokio_stream::iter(messages)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.get_error_details().bad_request().unwrap().field_violations.len(), 7);
    app.stop().await;
}

#[tokio::test]
async fn the_exported_ledger_has_the_office_headers_and_imports_again() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let mut client = app.admin().await;
    let history = temp("history.xlsx");
    historical_ledger(&history, &[]);
    import(&mut client, &history, String::new(), false, false)
        .await
        .unwrap();
    // One item decomposed, so the export carries sub-item numbers.
    let parent = client
        .list_items(pb::ListItemsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items[1]
        .clone();
    let zxj = app.unit_by_code("jczy-zxj").await;
    let jcq = app.unit_by_code("jc-jcq").await;
    let split = client
        .decompose_item(pb::DecomposeItemRequest {
            request_id: rid(),
            id: parent.id.clone(),
            children: vec![
                pb::SubItem {
                    level: pb::DecompositionLevel::Unit as i32,
                    title: "江城法院积案清理".into(),
                    lead_unit_id: jcq.id.clone(),
                    ..Default::default()
                },
                pb::SubItem {
                    level: pb::DecompositionLevel::Unit as i32,
                    title: "中院积案清理".into(),
                    lead_unit_id: zxj.id.clone(),
                    ..Default::default()
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    for child in &split.children {
        let approved = client
            .approve_item(pb::ApproveItemRequest {
                request_id: rid(),
                id: child.id.clone(),
                etag: child.etag.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(approved.number.starts_with("督〔2025〕2号-"), "{}", approved.number);
    }

    let out = temp("export.xlsx");
    let rows = export(
        &mut client,
        pb::ListItemsRequest::default(),
        &out,
        &ExportOptions {
            title: "督查督办事项台账",
            tz: TZ,
            limit: None,
            progress: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(rows, 5);
    let mut wb = open_workbook_auto(&out).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let sheet: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    assert_eq!(sheet[0][0].to_string(), "督查督办事项台账");
    let headers: Vec<String> = sheet[2].iter().map(|c| c.to_string()).collect();
    for h in [
        "序号",
        "事项名称",
        "来源",
        "文号",
        "立项日期",
        "紧急程度",
        "主办单位",
        "协办单位",
        "责任人",
        "联络员",
        "分管领导",
        "办理时限",
        "进展情况",
        "状态",
    ] {
        assert!(headers.contains(&h.to_owned()), "{h} missing from {headers:?}");
    }
    let col = |h: &str| headers.iter().position(|x| x == h).unwrap();
    assert!(
        matches!(sheet[3][col("立项日期")], Data::DateTime(_)),
        "dates are date cells: {:?}",
        sheet[3][col("立项日期")]
    );
    assert_eq!(sheet[3][col("责任人")].to_string(), "王建华");
    assert_eq!(sheet[3][col("联络员")].to_string(), "李晓婷");
    assert_eq!(sheet[3][col("紧急程度")].to_string(), "一般事项");

    // Into the same ledger: everything is already there.
    let again = import(&mut client, &out, String::new(), false, false).await.unwrap();
    assert_eq!((again.created, again.unchanged), (0, 5));

    // Into a fresh court with the same directory: everything comes across,
    // sub-items under their parent.
    let other = TestApp::spawn().await;
    other.load_demo().await;
    let mut other_client = other.admin().await;
    let moved = import(&mut other_client, &out, String::new(), false, false)
        .await
        .unwrap();
    assert_eq!((moved.created, moved.unchanged), (5, 0));
    let items = other_client
        .list_items(pb::ListItemsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items;
    let numbers: Vec<&str> = items.iter().map(|i| i.number.as_str()).collect();
    assert_eq!(
        numbers,
        [
            "督〔2025〕1号",
            "督〔2025〕2号",
            "督〔2025〕3号",
            "督〔2025〕2号-1",
            "督〔2025〕2号-2"
        ]
    );
    let parent_there = items.iter().find(|i| i.number == "督〔2025〕2号").unwrap();
    assert!(
        items
            .iter()
            .filter(|i| i.number.starts_with("督〔2025〕2号-"))
            .all(|i| i.parent_id == parent_there.id)
    );
    assert_eq!(
        items[0].registered_time,
        client
            .list_items(pb::ListItemsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .items[0]
            .registered_time
    );
    app.stop().await;
    other.stop().await;
}

/// An old ledger's follow-up is taken over: each row in a follow-up state
/// is assigned as of its 交办日期 (or 立项日期), its deadline as written,
/// in the state it records; importing again assigns nothing twice.
#[tokio::test]
async fn an_old_ledgers_follow_up_is_taken_over() {
    use duban::cli::items::{follow_up, import_history, import_rows};
    use duban_proto::assignment::v1 as apb;
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-10-15T10:00:00+08:00").await;
    let path = temp("follow-up.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let headers = [
        "事项名称",
        "来源",
        "立项日期",
        "交办日期",
        "紧急程度",
        "主办单位",
        "协办单位",
        "办理时限",
        "进展情况",
        "状态",
    ];
    for (i, h) in headers.iter().enumerate() {
        ws.write_string(0, i as u16, *h).unwrap();
    }
    let rows = [
        [
            "清理长期未结案件",
            "院长批示",
            "2026-08-28",
            "2026-09-01",
            "一般事项",
            "刑事审判庭",
            "立案庭",
            "2026-09-30",
            "已完成初步排查",
            "办理中",
        ],
        [
            "完善审委会议事规则",
            "院长批示",
            "2026-08-20",
            "",
            "一般事项",
            "审判监督庭",
            "",
            "",
            "规则已印发",
            "已办结",
        ],
        [
            "规范卷宗归档",
            "院长批示",
            "2026-07-01",
            "2026-07-02",
            "一般事项",
            "立案庭",
            "",
            "",
            "",
            "已销号",
        ],
        [
            "加强诉源治理",
            "院长批示",
            "2026-10-09",
            "2026-10-12",
            "一般事项",
            "执行局",
            "",
            "",
            "",
            "已立项",
        ],
        [
            "推进繁简分流",
            "院长批示",
            "2026-10-10",
            "",
            "一般事项",
            "民事审判第一庭",
            "",
            "",
            "",
            "已立项",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, *value).unwrap();
        }
    }
    wb.save(&path).unwrap();

    let mut registry = app.admin().await;
    let mut assignments = app.assignments(&app.admin_token).await;
    let ledger = duban::ledger_xlsx::read(&path).unwrap();
    let take_over = async |registry: &mut duban_tests::Registry, assignments: &mut duban_tests::Assignments| {
        let imported = import_rows(registry, &ledger, &path, String::new(), false, false)
            .await
            .unwrap();
        import_history(assignments, follow_up(&ledger, &imported), false, false)
            .await
            .unwrap()
    };
    let out = take_over(&mut registry, &mut assignments).await;
    // Four rows were followed up (交办日期 makes the fourth one assigned); the
    // fifth, only registered, waits for the office.
    assert_eq!((out.rows, out.created, out.unchanged), (4, 4, 0));
    let all = assignments
        .list_assignments(apb::ListAssignmentsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .assignments;
    let of = |title: &str| -> Vec<apb::Assignment> { all.iter().filter(|a| a.item_title == title).cloned().collect() };
    let open = of("清理长期未结案件");
    assert_eq!(open.len(), 2, "lead and co-unit");
    let lead = open.iter().find(|a| a.role == "lead").unwrap();
    assert_eq!(lead.state, "in_progress");
    // Assigned 9-01 at 09:00, deadline as written (9-30): overdue now.
    assert_eq!(lead.assigned_time.unwrap().seconds, 1_788_224_400);
    let m = |kind: &str| lead.milestones.iter().find(|m| m.kind == kind).unwrap().clone();
    assert_eq!(
        m("resolve").due_date,
        Some(pb::Date {
            year: 2026,
            month: 9,
            day: 30
        })
    );
    assert!(m("deploy").met_time.is_some() && m("initial").met_time.is_some());
    assert!(m("resolve").met_time.is_none());
    assert_eq!(lead.light, "red");
    assert_eq!(lead.feedback.last().unwrap().text, "已完成初步排查");
    let done = &of("完善审委会议事规则")[0];
    assert_eq!(
        (done.state.as_str(), done.verified_by.as_str()),
        ("verified", "台账导入")
    );
    // No 交办日期: assigned on its 立项日期.
    assert_eq!(done.assigned_time.unwrap().seconds, 1_787_187_600);
    assert_eq!(done.light, "");
    assert_eq!(of("规范卷宗归档")[0].state, "closed_out");
    assert_eq!(of("加强诉源治理")[0].state, "assigned");
    assert!(of("推进繁简分流").is_empty());
    // The ledger shows the follow-up.
    let item = registry
        .list_items(pb::ListItemsRequest {
            text: "清理长期未结".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .items
        .remove(0);
    let status = item.status.unwrap();
    assert_eq!((status.state.as_str(), status.light.as_str()), ("in_progress", "red"));
    assert_eq!(status.assigned_time, lead.assigned_time);

    // Again: nothing twice.
    let before = counts(&app.db.pool).await;
    let again = take_over(&mut registry, &mut assignments).await;
    assert_eq!((again.created, again.unchanged), (0, 4));
    assert_eq!(counts(&app.db.pool).await.0, before.0);
    let assignments_now: i64 = sqlx::query_scalar("SELECT count(*) FROM assignment.assignments")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(assignments_now, 5);

    // An unknown state names its row; nothing is imported.
    let err = import_history(
        &mut assignments,
        vec![apb::HistoricalAssignment {
            row: 7,
            item_id: item.id.clone(),
            assigned_on: Some(pb::Date {
                year: 2026,
                month: 9,
                day: 1,
            }),
            state: "待定".into(),
            ..Default::default()
        }],
        false,
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let v = err.get_error_details().bad_request().unwrap().field_violations[0].clone();
    assert_eq!(v.field, "assignments[0].state");
    assert!(v.localized_message.as_ref().unwrap().message.contains("第7行"));
    app.stop().await;
}

/// 办理时限 in the export is the final resolution deadline (办结时限) the
/// assignment shows, the day itself: a general item assigned 9-30 10:00 is
/// due 10-15 24:00 (7 working days over National Day), which as an instant
/// is 10-16 00:00, and its next milestone (研究部署, 10-08) is not the 时限.
#[tokio::test]
async fn the_exported_deadline_is_the_resolution_day_the_assignment_shows() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-30T10:00:00+08:00").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let item = app
        .registered_item(pb::Item {
            title: "清理执行积案".into(),
            lead_unit_id: zxj.id.clone(),
            ..Default::default()
        })
        .await;
    let mut assignments = app.assignments(&app.admin_token).await;
    let assigned = duban_tests::assign(&mut assignments, &item.id).await;
    let resolve = assigned.milestones.iter().find(|m| m.kind == "resolve").unwrap();
    let shown = resolve.due_date.unwrap();
    assert_eq!((shown.year, shown.month, shown.day), (2026, 10, 15));

    let mut client = app.admin().await;
    let out = temp("deadline.xlsx");
    export(
        &mut client,
        pb::ListItemsRequest::default(),
        &out,
        &ExportOptions {
            title: "督查督办事项台账",
            tz: TZ,
            limit: None,
            progress: false,
        },
    )
    .await
    .unwrap();
    let mut wb = open_workbook_auto(&out).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let sheet: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    let headers: Vec<String> = sheet[2].iter().map(|c| c.to_string()).collect();
    let col = |h: &str| headers.iter().position(|x| x == h).unwrap();
    let row = sheet
        .iter()
        .find(|r| r[col("督办编号")].to_string() == item.number)
        .expect("the item's row");
    let Data::DateTime(due) = &row[col("办理时限")] else {
        panic!("办理时限 is a date cell: {:?}", row[col("办理时限")]);
    };
    assert_eq!(
        due.as_datetime().unwrap().date(),
        chrono::NaiveDate::from_ymd_opt(2026, 10, 15).unwrap()
    );
    app.stop().await;
}
