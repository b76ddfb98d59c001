//! Reports (通报) end to end: a hand-made month of follow-up built over real
//! gRPC on the dev clock, each kind of report rendered from it with its
//! figures worked out by hand; delivery through a real SMTP server (one that
//! refuses the first attempts, a worker stopped mid-delivery, PostgreSQL
//! stopped between the server's 250 and its record, a lease that ran out,
//! a worker started before its database); and the schedules firing on the
//! right working day around National Day 2026.
//!
//! Dates come from the shipped 2026 calendar (国庆节 10-01..10-07 off, 10-10
//! Saturday a working day) and the rule for periods: after an assignment on
//! Friday 10-09 the working days run 10-10 (1), 10-12, 10-13 (3), 10-14,
//! 10-15, 10-16, 10-19 (7): deploy due 10-10, initial 10-13, resolve 10-19.

use duban_assignment::assignments::AssignmentService;
use duban_core::Role;
use duban_platform::clock::Clock;
use duban_platform::configuration::Settings;
use duban_proto::assignment::v1 as pb;
use duban_proto::registry::v1 as reg;
use duban_proto::reporting::v1 as rp;
use duban_reporting::model::{Doc, Line};
use duban_tests::smtp::SmtpServer;
use duban_tests::worker::start as start_worker;
use duban_tests::{Assignments, TestApp, acknowledge, get_assignment, rid, uuid};
use std::collections::HashSet;
use std::time::Duration;

type Reports = duban_tests::Reporting;

async fn reports(app: &TestApp, token: &str) -> Reports {
    app.reporting(token).await
}

async fn preview(c: &mut Reports, kind: rp::ReportKind, period: &str, unit: &str) -> (rp::PreviewReportResponse, Doc) {
    let out = c
        .preview_report(rp::PreviewReportRequest {
            kind: kind as i32,
            period: period.into(),
            unit_id: unit.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let doc: Doc = serde_json::from_str(&out.snapshot_json).unwrap();
    (out, doc)
}

fn numbers(lines: &[Line]) -> Vec<&str> {
    lines.iter().map(|l| l.number.as_str()).collect()
}

async fn feedback(c: &mut Assignments, id: &str, kind: &str, text: &str, figures: &[(&str, f64)]) {
    let a = get_assignment(c, id).await;
    c.submit_feedback(pb::SubmitFeedbackRequest {
        request_id: rid(),
        id: id.into(),
        etag: a.etag,
        kind: kind.into(),
        text: text.into(),
        reason: if kind == "delay_explanation" {
            "coordination".into()
        } else {
            String::new()
        },
        next_steps: if kind == "delay_explanation" {
            "与公安机关会商后两周内办结".into()
        } else {
            String::new()
        },
        progress: figures
            .iter()
            .map(|(what, v)| reg::Target {
                what: (*what).into(),
                target_value: *v,
                unit_of_measure: "件".into(),
            })
            .collect(),
        ..Default::default()
    })
    .await
    .unwrap();
}

async fn ack(c: &mut Assignments, id: &str) {
    let a = get_assignment(c, id).await;
    acknowledge(c, &a, "专题研究部署,明确专人负责").await;
}

async fn verify(c: &mut Assignments, id: &str) {
    let a = get_assignment(c, id).await;
    c.verify(pb::VerifyRequest {
        request_id: rid(),
        id: id.into(),
        etag: a.etag,
        accept: true,
        grade: "good".into(),
        checked: "调阅结案文书,电话回访当事人".into(),
        ..Default::default()
    })
    .await
    .unwrap();
}

async fn assign(c: &mut Assignments, item: &reg::Item) -> String {
    c.assign_item(pb::AssignItemRequest {
        request_id: rid(),
        item_id: item.id.clone(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .assignments[0]
        .id
        .clone()
}

/// The month: six items.
/// - A (执行局, 孙立军): assigned 9-30, never acknowledged: overdue, urged
///   automatically for each missed milestone, flagged for 通报批评.
/// - B (立案庭, 陈立新): assigned 10-09, done the same day, verified 10-13: on time.
/// - C (执行局, 孙立军): assigned 10-09, deployed and reported on time, a
///   delay explanation (需协调其他单位) 10-20, done late 10-21, verified 10-22.
/// - D (执行局, 孙立军): assigned 10-09, never acknowledged: overdue, urged.
/// - E (立案庭, 陈立新): assigned 10-09, its progress report of 10-23 copies
///   its initial report of 10-09 (进展虚化); overdue.
/// - F (执行局): registered 9-30, never assigned.
struct Month {
    app: TestApp,
    a: reg::Item,
    b: reg::Item,
    c: reg::Item,
    d: reg::Item,
    e: reg::Item,
    f: reg::Item,
    zxj: reg::Unit,
}

async fn month() -> Month {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let sweeper = AssignmentService::new(
        app.db.pool.clone(),
        Clock::shared(app.db.pool.clone()),
        chrono_tz::Asia::Shanghai,
    );
    let court = app.unit_by_code("jczy").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let lat = app.unit_by_code("jczy-lat").await;
    let sun = app.person_by_code("sun.lijun").await;
    let chen = app.person_by_code("chen.lixin").await;
    let mut office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    let mut unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&zxj.id), uuid(&lat.id)]).await)
        .await;
    app.set_clock("2026-09-30T10:00:00+08:00").await;
    let item = |title: &str, lead: &reg::Unit, leader: &reg::Person| reg::Item {
        title: title.into(),
        lead_unit_id: lead.id.clone(),
        supervising_leader_id: leader.id.clone(),
        ..Default::default()
    };
    let a = app.registered_item(item("终本案件集中清查", &zxj, &sun)).await;
    let b = app.registered_item(item("立案窗口延时服务", &lat, &chen)).await;
    let c = app.registered_item(item("涉企积案集中攻坚", &zxj, &sun)).await;
    let d = app.registered_item(item("执行款物专项清理", &zxj, &sun)).await;
    let e = app.registered_item(item("诉前调解案件回访", &lat, &chen)).await;
    let f = app.registered_item(item("失信被执行人名单复核", &zxj, &sun)).await;
    assign(&mut office, &a).await;
    app.set_clock("2026-10-09T09:00:00+08:00").await;
    sweeper.sweep().await.unwrap();
    app.set_clock("2026-10-09T10:00:00+08:00").await;
    let b_id = assign(&mut office, &b).await;
    let c_id = assign(&mut office, &c).await;
    assign(&mut office, &d).await;
    let e_id = assign(&mut office, &e).await;
    app.set_clock("2026-10-09T15:00:00+08:00").await;
    ack(&mut unit, &b_id).await;
    feedback(&mut unit, &b_id, "initial", "已安排专人值守延时窗口。", &[]).await;
    feedback(&mut unit, &b_id, "completion", "延时服务窗口已开通运行。", &[]).await;
    ack(&mut unit, &c_id).await;
    feedback(
        &mut unit,
        &c_id,
        "initial",
        "已梳理涉企积案126件,逐案明确承办人。",
        &[("梳理案件", 126.0)],
    )
    .await;
    ack(&mut unit, &e_id).await;
    let copied = "已对上月诉前调解成功案件开展电话回访,回访率达到百分之八十,下一步将继续扩大回访范围。";
    feedback(&mut unit, &e_id, "initial", copied, &[]).await;
    app.set_clock("2026-10-13T09:00:00+08:00").await;
    sweeper.sweep().await.unwrap();
    app.set_clock("2026-10-13T10:00:00+08:00").await;
    verify(&mut office, &b_id).await;
    app.set_clock("2026-10-16T09:00:00+08:00").await;
    sweeper.sweep().await.unwrap();
    app.set_clock("2026-10-20T10:00:00+08:00").await;
    feedback(
        &mut unit,
        &c_id,
        "delay_explanation",
        "部分案件需与公安机关协调查控。",
        &[],
    )
    .await;
    app.set_clock("2026-10-21T10:00:00+08:00").await;
    feedback(
        &mut unit,
        &c_id,
        "completion",
        "126件涉企积案全部办结。",
        &[("梳理案件", 126.0)],
    )
    .await;
    app.set_clock("2026-10-22T10:00:00+08:00").await;
    verify(&mut office, &c_id).await;
    app.set_clock("2026-10-23T10:00:00+08:00").await;
    feedback(&mut unit, &e_id, "progress", copied, &[]).await;
    app.set_clock("2026-10-31T09:00:00+08:00").await;
    sweeper.sweep().await.unwrap();
    app.set_clock("2026-11-02T09:00:00+08:00").await;
    Month {
        app,
        a,
        b,
        c,
        d,
        e,
        f,
        zxj,
    }
}

fn row<'a>(rows: &'a [duban_reporting::model::CountRow], name: &str) -> &'a duban_reporting::model::CountRow {
    rows.iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no row {name}"))
}

fn figures(r: &duban_reporting::model::CountRow) -> (u32, u32, u32, u32, u32, &str) {
    (r.new, r.completed, r.on_time, r.overdue, r.open, r.rate.as_str())
}

#[tokio::test]
async fn each_kind_of_report_from_a_hand_made_month() {
    let m = month().await;
    let mut c = reports(&m.app, &m.app.admin_token).await;

    // 月通报 for October, as at 24:00 on 10-31.
    let (out, doc) = preview(&mut c, rp::ReportKind::Monthly, "2026-10", "").await;
    assert_eq!(doc.title, "江川市中级人民法院督查督办工作通报(2026年第10期)");
    assert_eq!(doc.number, "督通〔2026〕10号");
    assert_eq!(doc.issuer, "江川市中级人民法院办公室");
    assert_eq!(doc.date_label, "2026年11月2日");
    assert_eq!(doc.as_of_label, "2026年10月31日");
    // New: B, C, D, E (A was assigned in September); done: B on time, C late;
    // overdue at the month's end: A, D, E.
    assert_eq!(figures(&doc.totals), (4, 2, 1, 3, 3, "50.0%"));
    assert_eq!(figures(row(&doc.by_unit, "执行局")), (2, 1, 0, 2, 2, "0.0%"));
    assert_eq!(figures(row(&doc.by_unit, "立案庭")), (2, 1, 1, 1, 1, "100.0%"));
    assert_eq!(figures(row(&doc.by_leader, "孙立军")), (2, 1, 0, 2, 2, "0.0%"));
    assert_eq!(figures(row(&doc.by_leader, "陈立新")), (2, 1, 1, 1, 1, "100.0%"));
    assert_eq!(figures(row(&doc.by_source, "院长批示")), (4, 2, 1, 3, 3, "50.0%"));
    assert_eq!(figures(row(&doc.by_class, "一般事项")), (4, 2, 1, 3, 3, "50.0%"));
    // September: only A, assigned and open, not yet overdue at its end.
    let before = doc.previous_totals.clone().unwrap();
    assert_eq!(figures(&before), (1, 0, 0, 0, 1, "—"));
    // Bars: 执行局's two overdue are the table's largest figure.
    assert_eq!(
        (
            row(&doc.by_unit, "执行局").overdue_pct,
            row(&doc.by_unit, "立案庭").overdue_pct
        ),
        (100, 50)
    );
    // The red list, longest overdue first: A (deploy due 10-08), D (10-10), E (resolve 10-19).
    assert_eq!(
        numbers(&doc.red_list),
        [m.a.number.as_str(), m.d.number.as_str(), m.e.number.as_str()]
    );
    assert!(
        doc.red_list[0].note.starts_with("“研究部署”应于10月8日完成,已逾期"),
        "{}",
        doc.red_list[0].note
    );
    // Urged without answers: A and D flagged for 通报批评 in October.
    let criticized: HashSet<&str> = numbers(&doc.criticized).into_iter().collect();
    assert_eq!(criticized, HashSet::from([m.a.number.as_str(), m.d.number.as_str()]));
    assert!(
        doc.criticized.iter().all(|l| l.note.contains("无正当理由")),
        "{:?}",
        doc.criticized
    );
    // The analysis, each finding with its items.
    let finding = |code: &str| doc.findings.iter().find(|f| f.code == code);
    let conc = finding("overdue_concentration").expect("overdue concentration");
    assert!(
        conc.details
            .contains(&"按承办单位:执行局逾期2件,占全部逾期事项的66.7%".to_string()),
        "{:?}",
        conc.details
    );
    // Every item a bullet counts is listed: 立案庭's E is no concentration
    // of units, but all three overdue come from 院长批示 and are 一般事项.
    assert!(
        conc.details
            .contains(&"按督办来源:院长批示逾期3件,占全部逾期事项的100.0%".to_string())
    );
    assert_eq!(
        numbers(&conc.items),
        [m.a.number.as_str(), m.d.number.as_str(), m.e.number.as_str()]
    );
    assert!(
        conc.items[2].note.ends_with("(计入:院长批示、一般事项)"),
        "{}",
        conc.items[2].note
    );
    let delay = finding("delay_reasons").expect("delay reasons");
    assert_eq!(delay.details, ["需协调其他单位:本期1件,上期0件,上升"]);
    assert_eq!(numbers(&delay.items), [m.c.number.as_str()]);
    let hollow = finding("hollow_progress").expect("进展虚化");
    assert_eq!(numbers(&hollow.items), [m.e.number.as_str()]);
    assert!(
        hollow.items[0]
            .note
            .starts_with("10月23日反馈与10月9日反馈内容基本相同(相似度100%)")
    );
    let urged = finding("repeated_urges").expect("repeated urges");
    assert_eq!(numbers(&urged.items), [m.a.number.as_str(), m.d.number.as_str()]);
    assert!(
        urged.items[0].note.starts_with("累计催办3次(本期3次)"),
        "{}",
        urged.items[0].note
    );
    let idle = finding("unassigned_sources").expect("unassigned sources");
    assert_eq!(numbers(&idle.items), [m.f.number.as_str()]);
    assert_eq!(idle.items[0].note, "9月30日立项,至今未交办");
    // Every verification recorded what was checked: no such finding.
    assert!(finding("closed_unverified").is_none());
    // The appraisal ranking of October, as the appraisal service gives it.
    let ranking = doc.ranking.clone().expect("the bulletin carries the ranking");
    let departments = ranking.iter().find(|g| g.title == "中院各部门").expect("departments");
    let mut appraisal = m.app.appraisal(&m.app.admin_token).await;
    let expected = appraisal
        .list_rankings(duban_proto::appraisal::v1::ListRankingsRequest {
            period: "2026-10".into(),
            group: duban_proto::appraisal::v1::UnitGroup::Departments as i32,
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .rankings;
    assert_eq!(departments.rows.len(), expected.len());
    for (row, r) in departments.rows.iter().zip(&expected) {
        assert_eq!(row.name, r.subject.as_ref().unwrap().name);
        assert_eq!(row.score, format!("{:.2}", r.total));
        assert_eq!(row.rank.starts_with(&r.rank.to_string()), true);
        assert_eq!(row.rank.ends_with("(并列)"), r.tied);
    }
    // 执行局 was overdue and urged in October: it lost points.
    let zxj = departments.rows.iter().find(|r| r.name == "执行局").unwrap();
    assert!(zxj.deductions.starts_with('-') && zxj.deductions != "-0.00", "{zxj:?}");
    assert!(out.text.contains("七、考评排名"));
    assert!(out.html.contains("督通〔2026〕10号") && out.html.contains("bgcolor=\"#c00000\""));
    assert!(out.html.contains(&m.b.title) || out.html.contains(&m.a.title));
    assert!(out.text.contains("六、问题分析及对策建议"));

    // 周进展列表 of the week of 10-19, as at Monday 08:30: last week's close-out
    // is B (verified 10-13); open: A, D red, C and E yellow (due that day).
    let (_, weekly) = preview(&mut c, rp::ReportKind::Weekly, "2026-W43", "").await;
    assert_eq!(weekly.title, "江川市中级人民法院督查督办事项进展列表(2026年第43周)");
    assert_eq!(numbers(&weekly.closeouts), [m.b.number.as_str()]);
    assert_eq!(weekly.totals.open, 4);
    assert_eq!(
        (weekly.lights.red, weekly.lights.yellow, weekly.lights.green),
        (2, 2, 0)
    );
    assert_eq!(
        numbers(&weekly.open_items).into_iter().collect::<HashSet<_>>(),
        HashSet::from([
            m.a.number.as_str(),
            m.c.number.as_str(),
            m.d.number.as_str(),
            m.e.number.as_str()
        ])
    );
    assert_eq!(weekly.open_items[0].light, "红灯");
    let c_line = weekly.open_items.iter().find(|l| l.number == m.c.number).unwrap();
    assert_eq!(c_line.latest_feedback, "已梳理涉企积案126件,逐案明确承办人。");
    assert_eq!(c_line.next_deadline, "办结 10月19日");

    // 周五对接提醒 of 执行局 for the week of 10-12, as at Friday 10-16 08:30:
    // A and D overdue, C due Monday.
    let (_, friday) = preview(&mut c, rp::ReportKind::Friday, "2026-W42", &m.zxj.id).await;
    assert_eq!(friday.title, "执行局督办事项周五对接提醒(2026年第42周)");
    assert_eq!(
        (friday.recipient_unit.as_str(), friday.recipient_name.as_str()),
        ("执行局", "彭悦")
    );
    assert_eq!(
        numbers(&friday.due_soon).into_iter().collect::<HashSet<_>>(),
        HashSet::from([m.a.number.as_str(), m.c.number.as_str(), m.d.number.as_str()])
    );
    let c_soon = friday.due_soon.iter().find(|l| l.number == m.c.number).unwrap();
    assert_eq!(c_soon.note, "“办结”须于10月19日前完成");
    // The unit may be named by its code; an unknown code or a unit of no
    // court is refused, naming the field.
    let (_, by_code) = preview(&mut c, rp::ReportKind::Friday, "2026-W42", "jczy-zxj").await;
    assert_eq!(by_code.due_soon, friday.due_soon);
    for (court, unit) in [("", "no-such-unit"), ("jczy-zxj", "")] {
        let err = c
            .preview_report(rp::PreviewReportRequest {
                kind: rp::ReportKind::Friday as i32,
                period: "2026-W42".into(),
                court_id: court.into(),
                unit_id: unit.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
        let details = tonic_types::StatusExt::get_error_details(&err);
        let field = &details.bad_request().unwrap().field_violations[0].field;
        assert_eq!(field, if court.is_empty() { "unit_id" } else { "court_id" });
    }

    // 季度通报: the third quarter ends at 24:00 on 09-30 with A just assigned
    // (new, open, nothing due yet); the fourth, as at now (11-02 09:00), counts
    // what October's bulletin counts, against the third.
    let (q3_out, q3) = preview(&mut c, rp::ReportKind::Quarterly, "2026-Q3", "").await;
    assert_eq!(q3.title, "江川市中级人民法院督查督办工作通报(2026年第三季度)");
    assert_eq!(q3.number, "督季通〔2026〕3号");
    assert_eq!(q3.as_of_label, "2026年9月30日");
    assert_eq!(figures(&q3.totals), (1, 0, 0, 0, 1, "—"));
    assert_eq!(figures(&q3.previous_totals.clone().unwrap()), (0, 0, 0, 0, 0, "—"));
    assert!(q3.red_list.is_empty() && q3.criticized.is_empty());
    assert!(q3_out.text.contains("2026年第三季度"), "{}", q3_out.text);
    // With the quarter month by month (逐月情况).
    let months = |doc: &Doc| -> Vec<(String, (u32, u32, u32, u32, u32, String))> {
        doc.trend
            .iter()
            .map(|r| {
                let (a, b, c, d, e, f) = figures(r);
                (r.name.clone(), (a, b, c, d, e, f.to_owned()))
            })
            .collect()
    };
    let nothing = (0, 0, 0, 0, 0, "—".to_owned());
    assert_eq!(
        months(&q3),
        [
            ("7月".to_owned(), nothing.clone()),
            ("8月".to_owned(), nothing.clone()),
            ("9月".to_owned(), (1, 0, 0, 0, 1, "—".to_owned())),
        ]
    );
    assert!(q3_out.text.contains("逐月情况") && q3_out.html.contains("逐月办结与月末逾期"));
    let (_, q4) = preview(&mut c, rp::ReportKind::Quarterly, "2026-Q4", "").await;
    assert_eq!(q4.title, "江川市中级人民法院督查督办工作通报(2026年第四季度)");
    assert_eq!(q4.number, "督季通〔2026〕4号");
    assert_eq!(figures(&q4.totals), (4, 2, 1, 3, 3, "50.0%"));
    assert_eq!(figures(&q4.previous_totals.clone().unwrap()), (1, 0, 0, 0, 1, "—"));
    assert_eq!(figures(row(&q4.by_unit, "执行局")), (2, 1, 0, 2, 2, "0.0%"));
    // October as its bulletin counts it; November so far (as at 11-02 09:00)
    // finished nothing and still has A, D, E overdue; December has not begun.
    assert_eq!(
        months(&q4),
        [
            ("10月".to_owned(), (4, 2, 1, 3, 3, "50.0%".to_owned())),
            ("11月".to_owned(), (0, 0, 0, 3, 3, "—".to_owned())),
        ]
    );
    assert_eq!(
        q4.trend
            .iter()
            .map(|r| (r.completed_pct, r.overdue_pct))
            .collect::<Vec<_>>(),
        [(66, 100), (0, 100)]
    );
    assert_eq!(
        numbers(&q4.red_list),
        [m.a.number.as_str(), m.d.number.as_str(), m.e.number.as_str()]
    );
    // 年度通报 of 2026 counts A as new too; 2025 had nothing.
    let (_, year) = preview(&mut c, rp::ReportKind::Annual, "2026", "").await;
    assert_eq!(year.title, "江川市中级人民法院2026年度督查督办工作通报");
    assert_eq!(year.number, "督年通〔2026〕1号");
    assert_eq!(figures(&year.totals), (5, 2, 1, 3, 3, "50.0%"));
    assert_eq!(figures(row(&year.by_unit, "执行局")), (3, 1, 0, 2, 2, "0.0%"));
    assert_eq!(figures(&year.previous_totals.clone().unwrap()), (0, 0, 0, 0, 0, "—"));
    let year_months = months(&year);
    assert_eq!(year_months.len(), 11, "January to November: {year_months:?}");
    assert!(year_months[..8].iter().all(|(_, f)| *f == nothing), "{year_months:?}");
    // September to November as the quarters count them.
    let autumn: Vec<_> = months(&q3)[2..].iter().cloned().chain(months(&q4)).collect();
    assert_eq!(year_months[8..], autumn[..]);
    // The monthly bulletin has no trend of its own.
    assert!(doc.trend.is_empty());
    let criticized: HashSet<&str> = numbers(&year.criticized).into_iter().collect();
    assert_eq!(criticized, HashSet::from([m.a.number.as_str(), m.d.number.as_str()]));

    // Bad input is refused, in Chinese, naming the field.
    let err = c
        .preview_report(rp::PreviewReportRequest {
            kind: rp::ReportKind::Monthly as i32,
            period: "2026-13".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let details = tonic_types::StatusExt::get_error_details(&err);
    let bad = details.bad_request().unwrap();
    assert_eq!(bad.field_violations[0].field, "period");
    assert!(
        bad.field_violations[0]
            .localized_message
            .as_ref()
            .unwrap()
            .message
            .contains("2026-10")
    );
    // A unit's liaison may not read the office's bulletins.
    let liaison = m.app.token(&[Role::UnitLiaison], &[uuid(&m.zxj.id)]).await;
    let err = reports(&m.app, &liaison)
        .await
        .preview_report(rp::PreviewReportRequest {
            kind: rp::ReportKind::Monthly as i32,
            period: "2026-10".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    m.app.stop().await;
}

/// Worker settings for these tests: no notices (the sweep's urges would
/// mail them too; tests/tests/notices.rs has them).
fn settings(smtp_port: Option<u16>, mail_dir: Option<std::path::PathBuf>) -> Settings {
    let mut s = duban_tests::worker::settings(smtp_port, mail_dir);
    s.reporting.notices = false;
    s
}

/// Polls GetReport until no delivery is pending or sending.
async fn settled(c: &mut Reports, id: &str) -> rp::Report {
    for _ in 0..300 {
        let r = c
            .get_report(rp::GetReportRequest { id: id.into() })
            .await
            .unwrap()
            .into_inner();
        let busy = r
            .deliveries
            .iter()
            .any(|d| d.state == rp::DeliveryState::Pending as i32 || d.state == rp::DeliveryState::Sending as i32);
        if !busy && !r.deliveries.is_empty() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("deliveries never settled");
}

/// A weekly list to the president and the office (4 people in the demo).
/// An item of 执行局's, registered and assigned by the office now.
async fn assigned_item(app: &TestApp) {
    let court = app.unit_by_code("jczy").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let item = app
        .registered_item(reg::Item {
            title: "终本案件集中清查".into(),
            lead_unit_id: zxj.id.clone(),
            ..Default::default()
        })
        .await;
    let mut office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    assign(&mut office, &item).await;
}

async fn issue_weekly(app: &TestApp) -> (Reports, String) {
    let mut c = reports(app, &app.admin_token).await;
    app.set_clock("2026-10-09T10:00:00+08:00").await;
    assigned_item(app).await;
    // Past the weekly schedule's catch-up hour: only this report goes out.
    app.set_clock("2026-10-12T11:00:00+08:00").await;
    let issued = c
        .issue_report(rp::IssueReportRequest {
            request_id: rid(),
            kind: rp::ReportKind::Weekly as i32,
            period: "2026-W42".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(issued.reports.len(), 1);
    let r = &issued.reports[0];
    let to: HashSet<&str> = r.deliveries.iter().map(|d| d.recipient_email.as_str()).collect();
    assert_eq!(
        to,
        HashSet::from([
            "zhou.mingyuan@jczy.court.example",
            "zheng.xiaodong@jczy.court.example",
            "han.xue@jczy.court.example",
            "lin.ke@jczy.court.example",
        ])
    );
    (c, r.id.clone())
}

#[tokio::test]
async fn delivery_is_retried_after_temporary_failures_and_permanent_ones_are_recorded() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let smtp = SmtpServer::start().await;
    smtp.fail_next(3);
    smtp.refuse("han.xue@jczy.court.example");
    let (mut c, id) = issue_weekly(&app).await;
    let (stop, worker) = start_worker(&app, &settings(Some(smtp.port()), None));
    let r = settled(&mut c, &id).await;
    stop.cancel();
    worker.await.unwrap();

    let by = |email: &str| r.deliveries.iter().find(|d| d.recipient_email == email).unwrap();
    let failed = by("han.xue@jczy.court.example");
    assert_eq!(failed.state, rp::DeliveryState::Failed as i32);
    assert!(failed.last_error.contains("550"), "{}", failed.last_error);
    let sent: Vec<&rp::Delivery> = r
        .deliveries
        .iter()
        .filter(|d| d.state == rp::DeliveryState::Sent as i32)
        .collect();
    assert_eq!(sent.len(), 3);
    // Three refusals spread over the deliveries: every one was retried.
    let attempts: i32 = r.deliveries.iter().map(|d| d.attempts).sum();
    assert_eq!(attempts, 4 + 3, "{:?}", r.deliveries);
    // One copy each, under the Message-ID the archive shows.
    let received = smtp.received();
    assert_eq!(received.len(), 3);
    let ids: HashSet<String> = received.iter().map(|m| m.message_id()).collect();
    let expected: HashSet<String> = sent.iter().map(|d| d.message_id.clone()).collect();
    assert_eq!(ids, expected);
    let m = &received[0];
    assert!(
        m.header("Subject").unwrap().starts_with("=?utf-8?"),
        "{:?}",
        m.header("Subject")
    );
    assert!(m.data.contains("multipart/alternative"));
    assert!(m.data.contains("Content-Type: text/plain; charset=utf-8"));
    assert!(m.data.contains("Content-Type: text/html; charset=utf-8"));
    // Sending again puts only the failed one back in the queue.
    smtp.fail_next(0);
    let again = c
        .send_report(rp::SendReportRequest {
            request_id: rid(),
            id: id.clone(),
            include_sent: false,
        })
        .await
        .unwrap()
        .into_inner();
    let pending = again
        .deliveries
        .iter()
        .filter(|d| d.state == rp::DeliveryState::Pending as i32)
        .count();
    assert_eq!(pending, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_worker_stopped_mid_delivery_loses_nothing_and_sends_nothing_twice() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let smtp = SmtpServer::start().await;
    let (mut c, id) = issue_weekly(&app).await;
    let s = settings(Some(smtp.port()), None);

    // 1. Killed: the first message is in flight (the server holds its DATA)
    //    when the worker dies. Nothing was accepted; its lease runs out and
    //    the next worker sends it.
    smtp.hold_next_data(Duration::from_secs(5));
    let (_, killed) = start_worker(&app, &s);
    for _ in 0..100 {
        if smtp.data_commands() >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(smtp.data_commands(), 1);
    killed.abort();
    let _ = killed.await;
    assert!(smtp.received().is_empty());

    // 2. Stopped: the worker finishes the message it is sending, records
    //    it, and takes no other.
    smtp.hold_next_data(Duration::from_millis(1500));
    let (stop, stopping) = start_worker(&app, &s);
    let before = smtp.data_commands();
    for _ in 0..200 {
        if smtp.data_commands() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    stopping.await.unwrap();
    let r = c
        .get_report(rp::GetReportRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    let sent = r
        .deliveries
        .iter()
        .filter(|d| d.state == rp::DeliveryState::Sent as i32)
        .count();
    assert_eq!(smtp.received().len(), sent);
    assert!(sent >= 1 && sent < 4, "{:?}", r.deliveries);
    assert!(
        r.deliveries
            .iter()
            .all(|d| d.state != rp::DeliveryState::Sending as i32 || d.attempts == 1),
        "{:?}",
        r.deliveries
    );

    // 3. Restarted: everything delivered, each recipient once.
    let (stop, worker) = start_worker(&app, &s);
    let r = settled(&mut c, &id).await;
    stop.cancel();
    worker.await.unwrap();
    assert!(
        r.deliveries.iter().all(|d| d.state == rp::DeliveryState::Sent as i32),
        "{:?}",
        r.deliveries
    );
    let received = smtp.received();
    assert_eq!(received.len(), 4);
    let ids: HashSet<String> = received.iter().map(|m| m.message_id()).collect();
    assert_eq!(ids.len(), 4);
    let to: Vec<String> = received.iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(to.iter().collect::<HashSet<_>>().len(), 4, "{to:?}");
    app.stop().await;
}

/// Waits (up to a minute) until no delivery of any report is pending or
/// sending, and returns each one's state and attempts.
async fn all_settled(app: &TestApp) -> Vec<(String, i32)> {
    for _ in 0..600 {
        let rows: Vec<(String, i32)> = sqlx::query_as("SELECT state, attempts FROM reporting.deliveries ORDER BY id")
            .fetch_all(&app.db.pool)
            .await
            .unwrap_or_default();
        if !rows.is_empty() && rows.iter().all(|(state, _)| state != "pending" && state != "sending") {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("deliveries never settled");
}

/// Waits until the suite's health says SERVING again (after an outage).
async fn serving_again(app: &TestApp) {
    let addr = app.addr(duban::app::ServiceKind::Reporting);
    for _ in 0..300 {
        if duban_tests::health_of(addr, duban_proto::service_names::REPORTING).await
            == Some(duban_tests::ServingStatus::Serving)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the suite never became SERVING again");
}

#[tokio::test]
async fn a_database_outage_between_the_servers_250_and_its_record_sends_nothing_twice() {
    let cluster = duban_tests::own_cluster();
    let db = duban_platform::test_db::TestDatabase::fresh_on(&cluster.url_for("postgres"))
        .await
        .unwrap();
    let app = TestApp::spawn_on(db).await;
    app.load_demo().await;
    let smtp = SmtpServer::start().await;
    let (mut c, id) = issue_weekly(&app).await;

    // The first message the server keeps: PostgreSQL goes down before the
    // 250 reaches the worker, for 3 s — longer than the worker's pool waits
    // for a connection (1 s), shorter than its lease (15 s).
    let (restarted, mut up) = tokio::sync::watch::channel(false);
    let outage = cluster.clone();
    smtp.on_next_stored(move || {
        outage.stop().expect("stopping PostgreSQL");
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(3));
            duban_platform::pg_cluster::PrivateCluster::start(outage.root()).expect("starting PostgreSQL");
            restarted.send(true).unwrap();
        });
    });
    let mut s = settings(Some(smtp.port()), None);
    s.reporting.lease_secs = 15.0;
    s.database.acquire_timeout_secs = 1;
    let pool = duban_platform::db::pool_for_url(&app.db.url, &s.database).unwrap();
    let (stop, worker) = duban_tests::worker::start_on(pool, &s);
    up.wait_for(|up| *up).await.unwrap();
    serving_again(&app).await;

    // Every delivery recorded after one attempt (one left `sending` would
    // have gone out again once its lease ran out); every message received once.
    let rows = all_settled(&app).await;
    assert!(
        rows.iter().all(|(state, attempts)| state == "sent" && *attempts == 1),
        "{rows:?}"
    );
    let r = settled(&mut c, &id).await;
    assert!(r.deliveries.iter().all(|d| d.state == rp::DeliveryState::Sent as i32));
    let received: Vec<String> = smtp.received().iter().map(|m| m.message_id()).collect();
    assert_eq!(received.len(), rows.len(), "{received:?}");
    assert_eq!(
        received.iter().collect::<HashSet<_>>().len(),
        received.len(),
        "{received:?}"
    );
    stop.cancel();
    worker.await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn a_late_record_from_an_expired_lease_leaves_the_new_holders_outcome() {
    use duban_reporting::store::{self, Outcome};
    let app = TestApp::spawn().await;
    app.load_demo().await;
    issue_weekly(&app).await;
    let pool = &app.db.pool;
    let stale = store::lease(pool, 0.2).await.unwrap().expect("a delivery to lease");
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Another worker takes the expired lease over (leasing the others too,
    // for long, until it gets this one).
    let mut current = None;
    while let Some(job) = store::lease(pool, 60.0).await.unwrap() {
        if job.id == stale.id {
            current = Some(job);
            break;
        }
    }
    let current = current.expect("the expired delivery leased again");
    assert_ne!(current.lease_token, stale.lease_token);
    assert_eq!(current.attempts, 2);

    // The first worker's late word changes nothing, before or after the new
    // holder records its own.
    let sent = Outcome::Sent {
        reply: "250 2.0.0 Queued",
    };
    assert!(!store::record(pool, stale.id, stale.lease_token, sent).await.unwrap());
    let retry = Outcome::Retry {
        error: "451 4.3.0 Temporarily unavailable",
        after_secs: 60.0,
    };
    assert!(
        store::record(pool, current.id, current.lease_token, retry)
            .await
            .unwrap()
    );
    assert!(!store::record(pool, stale.id, stale.lease_token, sent).await.unwrap());
    let failed = Outcome::Failed { error: "550" };
    assert!(!store::record(pool, stale.id, stale.lease_token, failed).await.unwrap());
    let (state, error): (String, String) =
        sqlx::query_as("SELECT state, last_error FROM reporting.deliveries WHERE id = $1")
            .bind(stale.id)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(
        (state.as_str(), error.as_str()),
        ("pending", "451 4.3.0 Temporarily unavailable")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_worker_started_before_its_database_waits_for_it_and_then_delivers() {
    let cluster = duban_tests::own_cluster();
    duban_tests::stop_cluster(&cluster).await;
    let smtp = SmtpServer::start().await;
    let mut s = settings(Some(smtp.port()), None);
    s.dev_clock = true;
    s.database.url = Some(cluster.url().into());
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn({
        let (s, stop) = (s.clone(), stop.clone());
        async move { duban::app::run_worker(&s, std::path::Path::new("/nonexistent"), stop).await }
    });
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        !worker.is_finished(),
        "the worker gave up on its database: {:?}",
        worker.await
    );

    duban_tests::start_cluster(&cluster).await;
    let pool = duban_platform::db::pool_for_url(&cluster.url(), &s.database).unwrap();
    // Only the worker has touched this database: its migrations and its
    // countermeasure table show it got going.
    let mut seeded = 0;
    for _ in 0..300 {
        seeded = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM reporting.countermeasures")
            .fetch_one(&pool)
            .await
            .unwrap_or(0);
        if seeded > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seeded > 0, "the worker never prepared its database");
    let db = duban_platform::test_db::TestDatabase {
        name: "duban".into(),
        url: cluster.url(),
        pool,
    };
    let app = TestApp::spawn_on(db).await;
    app.load_demo().await;
    let (mut c, id) = issue_weekly(&app).await;
    let r = settled(&mut c, &id).await;
    assert!(
        r.deliveries.iter().all(|d| d.state == rp::DeliveryState::Sent as i32),
        "{:?}",
        r.deliveries
    );
    assert!(smtp.received().len() >= 4);
    stop.cancel();
    worker.await.unwrap().unwrap();
    app.stop().await;
}

async fn issued(app: &TestApp) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = sqlx::query_as("SELECT kind, period FROM reporting.reports ORDER BY seq")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    rows.dedup();
    rows
}

/// Lets the workers poll a few times at the current dev time.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(700)).await;
}

/// The reports issued, once there are `n` (or after 20 s): a loaded
/// machine may take longer than `settle` to issue a bulletin.
async fn issued_when(app: &TestApp, n: usize) -> Vec<(String, String)> {
    for _ in 0..200 {
        let kinds = issued(app).await;
        if kinds.len() >= n {
            settle().await;
            return issued(app).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    issued(app).await
}

#[tokio::test]
async fn schedules_fire_on_the_right_working_day_around_national_day() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let mail = std::env::temp_dir().join(format!("duban-mail-{}", uuid::Uuid::new_v4().simple()));
    app.set_clock("2026-09-30T07:00:00+08:00").await;
    assigned_item(&app).await;
    // Two workers, as two replicas would run.
    let s = settings(None, Some(mail.clone()));
    let (stop1, w1) = start_worker(&app, &s);
    let (stop2, w2) = start_worker(&app, &s);
    settle().await;
    assert!(issued(&app).await.is_empty());

    // 10-01: a holiday, nothing due (September's bulletin waits for 10-08).
    app.set_clock("2026-10-01T09:00:00+08:00").await;
    settle().await;
    assert!(issued(&app).await.is_empty());
    // 10-08 08:29: not yet.
    app.set_clock("2026-10-08T08:29:00+08:00").await;
    settle().await;
    assert!(issued(&app).await.is_empty());
    // 10-08 08:30, the first working day after National Day: September's
    // bulletin, and the week's progress list (Monday 10-05 was a holiday).
    app.set_clock("2026-10-08T08:31:00+08:00").await;
    let kinds: Vec<(String, String)> = issued_when(&app, 2).await;
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(kinds.contains(&("monthly".into(), "2026-09".into())));
    assert!(kinds.contains(&("weekly".into(), "2026-W41".into())));
    // 10-09 08:31, Friday: the reminder to 执行局's liaison, once.
    app.set_clock("2026-10-09T08:31:00+08:00").await;
    issued_when(&app, 3).await;
    let (friday, unit): (i64, Option<uuid::Uuid>) =
        sqlx::query_as("SELECT count(*), min(unit_id::text)::uuid FROM reporting.reports WHERE kind = 'friday'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!((friday, unit), (1, Some(uuid(&zxj.id))));
    let firings: i64 = sqlx::query_scalar("SELECT count(*) FROM reporting.firings")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(firings, 3);
    // A worker that catches up three days (as deployed) but sees no Friday
    // 10-16 (the clock jumps to Saturday): that week's reminder, which asks
    // for today's 对接, is not sent a day late; the Monday list of 10-19 seen
    // only on Tuesday still goes out.
    stop1.cancel();
    stop2.cancel();
    w1.await.unwrap();
    w2.await.unwrap();
    let mut s = s;
    s.reporting.catch_up_hours = 72;
    let (stop, worker) = start_worker(&app, &s);
    // It catches up the third quarter's bulletin (due 10-08 09:00, after the
    // one-hour window of the workers before it).
    let kinds = issued_when(&app, 4).await;
    assert_eq!(kinds.last(), Some(&("quarterly".into(), "2026-Q3".into())), "{kinds:?}");
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    app.set_clock("2026-10-17T09:00:00+08:00").await;
    settle().await;
    let kinds = issued(&app).await;
    assert_eq!(kinds.len(), 4, "nothing new on Saturday: {kinds:?}");
    app.set_clock("2026-10-20T09:00:00+08:00").await;
    let kinds = issued_when(&app, 5).await;
    assert!(kinds.contains(&("weekly".into(), "2026-W43".into())), "{kinds:?}");
    assert!(!kinds.contains(&("friday".into(), "2026-W42".into())), "{kinds:?}");
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    // Mail lands as .eml files: the liaison's reminder among them.
    for _ in 0..100 {
        let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM reporting.deliveries WHERE state <> 'sent'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let files: Vec<String> = std::fs::read_dir(&mail)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM reporting.deliveries WHERE state = 'sent'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(files.len() as i64, sent);
    assert!(files.iter().any(|f| f.contains("peng.yue@jczy.court.example")));
    stop.cancel();
    worker.await.unwrap();
    let _ = std::fs::remove_dir_all(&mail);
    app.stop().await;
}

/// A 文号 is issued once: October's bulletin issued twice is refused,
/// naming the one issued; a corrected reissue (更正) has its own number and
/// says what it replaces; the database holds to it, and the schedule firing
/// afterwards for the same period issues nothing twice.
#[tokio::test]
async fn a_report_is_issued_once_and_corrected_as_a_reissue() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-10-09T10:00:00+08:00").await;
    assigned_item(&app).await;
    // Monday 11-02 07:00, before the monthly schedule's 08:30.
    app.set_clock("2026-11-02T07:00:00+08:00").await;
    let mut c = reports(&app, &app.admin_token).await;
    let monthly = |correction: bool, reason: &str| rp::IssueReportRequest {
        request_id: rid(),
        kind: rp::ReportKind::Monthly as i32,
        period: "2026-10".into(),
        correction,
        reason: reason.into(),
        ..Default::default()
    };
    // Nothing to correct yet.
    let err = c.issue_report(monthly(true, "数据有误")).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");

    let first = c.issue_report(monthly(false, "")).await.unwrap().into_inner().reports;
    assert_eq!(first.len(), 1);
    let first = &first[0];
    assert_eq!(first.number, "督通〔2026〕10号");
    let mailed = first.deliveries.len();
    assert!(mailed > 0);

    // Again: refused, naming the report issued; nothing archived or mailed.
    let err = c.issue_report(monthly(false, "")).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
    let zh = tonic_types::StatusExt::get_error_details(&err)
        .localized_message()
        .unwrap()
        .message
        .clone();
    assert!(zh.contains("督通〔2026〕10号") && zh.contains(&first.id), "{zh}");
    assert!(zh.contains("更正"), "{zh}");
    // A correction says why.
    let err = c.issue_report(monthly(true, "  ")).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    let count = |app: &TestApp| {
        let pool = app.db.pool.clone();
        async move {
            sqlx::query_as::<_, (i64, i64)>(
                "SELECT count(DISTINCT r.id), count(d.id) FROM reporting.reports r \
                 LEFT JOIN reporting.deliveries d ON d.report_id = r.id \
                 WHERE r.kind = 'monthly' AND r.period = '2026-10'",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(count(&app).await, (1, mailed as i64));

    // The corrected reissue: its own number, the report it replaces, why.
    let fixed = c
        .issue_report(monthly(true, "执行局逾期件数统计有误"))
        .await
        .unwrap()
        .into_inner()
        .reports
        .swap_remove(0);
    assert_eq!(fixed.number, "督通〔2026〕10号(更正)");
    assert_eq!(fixed.replaces_id, first.id);
    assert_eq!(fixed.correction_reason, "执行局逾期件数统计有误");
    let full = c
        .get_report(rp::GetReportRequest { id: fixed.id.clone() })
        .await
        .unwrap()
        .into_inner();
    let note = "本期月通报更正重发,替代2026年11月2日印发的督通〔2026〕10号,原件作废。更正原因:执行局逾期件数统计有误";
    let html_text = full
        .html
        .replace("<span style=\"white-space:nowrap;\">", "")
        .replace("</span>", "");
    assert!(html_text.contains(note), "the note in the HTML");
    assert!(full.text.contains(note), "the note in the text");
    assert!(full.html.contains("督通〔2026〕10号(更正)"));
    // A correction of the correction replaces that one.
    let again = c
        .issue_report(monthly(true, "补充附件"))
        .await
        .unwrap()
        .into_inner()
        .reports
        .swap_remove(0);
    assert_eq!(again.number, "督通〔2026〕10号(第2次更正)");
    assert_eq!(again.replaces_id, fixed.id);

    // The database refuses a second report of the same number whatever writes it.
    let dup = sqlx::query(
        "INSERT INTO reporting.reports (id, kind, period, court_id, title, number, subject, issued_at, issued_by, \
                                        html, text_body, snapshot) \
         SELECT gen_random_uuid(), kind, period, court_id, title, number, subject, issued_at, issued_by, html, \
                text_body, snapshot FROM reporting.reports WHERE id = $1::uuid",
    )
    .bind(&first.id)
    .execute(&app.db.pool)
    .await
    .unwrap_err();
    assert_eq!(
        dup.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("23505"),
        "{dup}"
    );

    // 08:31: the schedule fires; October's bulletin is there already and is
    // not issued again, the week's list (2026-W45) is.
    let mail = std::env::temp_dir().join(format!("duban-mail-{}", uuid::Uuid::new_v4().simple()));
    let (stop, worker) = start_worker(&app, &settings(None, Some(mail)));
    app.set_clock("2026-11-02T08:31:00+08:00").await;
    // Polled rather than settled once: the machine may be busy.
    let fired = async || -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM reporting.firings \
             WHERE (kind, period) IN (('monthly', '2026-10'), ('weekly', '2026-W45'))",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
    };
    for _ in 0..100 {
        if fired().await == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    worker.await.unwrap();
    assert_eq!(fired().await, 2, "both firings claimed");
    assert!(issued(&app).await.contains(&("weekly".into(), "2026-W45".into())));
    assert_eq!(
        count(&app).await.0,
        3,
        "the original and its two corrections, no fourth"
    );
    app.stop().await;
}
