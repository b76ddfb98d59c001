//! The working-day calendar and `ComputeDeadlines` over real gRPC: the shipped
//! years, loading a new one (versioned), missing years counted provisionally
//! (暂定) and recomputed when loaded, warnings.

use duban::app::ServiceKind;
use duban::cli::Bearer;
use duban_core::Role;
use duban_proto::assignment::v1 as pb;
use duban_proto::assignment::v1::assignment_service_client::AssignmentServiceClient;
use duban_proto::registry::v1 as reg;
use duban_tests::{TestApp, rid};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Client = AssignmentServiceClient<InterceptedService<Channel, Bearer>>;

async fn client(app: &TestApp, token: &str) -> Client {
    AssignmentServiceClient::with_interceptor(app.channel(ServiceKind::Assignment).await, Bearer::new(token).unwrap())
}

fn at(s: &str) -> Option<prost_types::Timestamp> {
    let t = chrono::DateTime::parse_from_rfc3339(s).unwrap();
    Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    })
}

fn d(y: i32, m: i32, day: i32) -> Option<reg::Date> {
    Some(reg::Date { year: y, month: m, day })
}

async fn due(
    c: &mut Client,
    assigned: &str,
    class: reg::UrgencyClass,
) -> Result<Vec<(String, reg::Date)>, tonic::Status> {
    let out = c
        .compute_deadlines(pb::ComputeDeadlinesRequest {
            assigned_time: at(assigned),
            urgency: class as i32,
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(out
        .milestones
        .into_iter()
        .map(|m| (m.kind, m.due_date.unwrap()))
        .collect())
}

#[tokio::test]
async fn deadlines_come_from_the_stored_calendar_and_missing_years_are_provisional() {
    let app = TestApp::spawn().await;
    let mut c = client(&app, &app.admin_token).await;

    let list = c
        .list_calendars(pb::ListCalendarsRequest {})
        .await
        .unwrap()
        .into_inner();
    let years: Vec<(i32, i64)> = list.years.iter().map(|y| (y.year, y.version)).collect();
    assert_eq!(years, [(2024, 1), (2025, 1), (2026, 1)]);
    let y2026 = c
        .get_calendar(pb::GetCalendarRequest { year: 2026 })
        .await
        .unwrap()
        .into_inner();
    let national = y2026.holidays.iter().find(|h| h.name == "国庆节").unwrap();
    assert_eq!(national.days.len(), 7);
    assert_eq!(
        national.workdays,
        vec![d(2026, 9, 20).unwrap(), d(2026, 10, 10).unwrap()]
    );

    // The 13710 milestones across the 2026 National Day holiday.
    let general = due(&mut c, "2026-09-30T10:00:00+08:00", reg::UrgencyClass::General)
        .await
        .unwrap();
    assert_eq!(
        general,
        [
            ("deploy".into(), d(2026, 10, 8).unwrap()),
            ("initial".into(), d(2026, 10, 10).unwrap()),
            ("resolve".into(), d(2026, 10, 15).unwrap())
        ]
    );
    let out = c
        .compute_deadlines(pb::ComputeDeadlinesRequest {
            assigned_time: at("2026-09-30T10:00:00+08:00"),
            urgency: reg::UrgencyClass::General as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.policy, "13710");
    assert_eq!(out.calendar_versions.get(&2026), Some(&1));
    // 24:00 Beijing time of 10-08.
    assert_eq!(
        out.milestones[0].due_time.as_ref().unwrap().seconds,
        chrono::DateTime::parse_from_rfc3339("2026-10-09T00:00:00+08:00")
            .unwrap()
            .timestamp()
    );
    // The interim rules: one month.
    let interim = c
        .compute_deadlines(pb::ComputeDeadlinesRequest {
            assigned_time: at("2026-09-01T10:00:00+08:00"),
            urgency: reg::UrgencyClass::General as i32,
            policy: "interim".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(interim.milestones.len(), 1);
    assert_eq!(interim.milestones[0].due_date, d(2026, 10, 8));

    // Into 2027, which is not loaded: counted on the weekly pattern and
    // provisional (the provisional test below follows it through).
    let out = c
        .compute_deadlines(pb::ComputeDeadlinesRequest {
            assigned_time: at("2026-12-24T10:00:00+08:00"),
            urgency: reg::UrgencyClass::General as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // Thursday 12-24: 25, 28, 29, 30, 31 December, the provisional Friday
    // 1 January (元旦 in a real calendar), Monday 4 January.
    assert_eq!(out.milestones[2].due_date, d(2027, 1, 4));
    assert!(out.milestones[2].provisional);
    assert_eq!(out.calendar_versions.get(&2027), Some(&0));
    // Past 1 November on the dev clock: a warning.
    app.set_clock("2026-11-02T09:00:00+08:00").await;
    let list = c
        .list_calendars(pb::ListCalendarsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.missing_next_year, 2027);

    // Only the office loads calendars.
    let liaison = app.token(&[Role::UnitLiaison], &[]).await;
    let year_2027 = "year = 2027\nsource = \"测试\"\n\n[[holidays]]\nname = \"元旦\"\ndays = [\"2027-01-01\"]\n";
    let err = client(&app, &liaison)
        .await
        .load_calendar(pb::LoadCalendarRequest {
            request_id: rid(),
            content: year_2027.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // A bad file names its line and changes nothing.
    let err = c
        .load_calendar(pb::LoadCalendarRequest {
            request_id: rid(),
            content: "year = 2027\n[[holidays]]\nname = \"春节\"\ndays = [\"2027-02-30\"]\n".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("line 2"), "{}", err.message());
    assert!(c.get_calendar(pb::GetCalendarRequest { year: 2027 }).await.is_err());

    // Loaded, 2027 answers; loaded again, it is version 2.
    let loaded = c
        .load_calendar(pb::LoadCalendarRequest {
            request_id: rid(),
            content: year_2027.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((loaded.year, loaded.version), (2027, 1));
    let across = due(&mut c, "2026-12-24T10:00:00+08:00", reg::UrgencyClass::General)
        .await
        .unwrap();
    assert_eq!(across[2], ("resolve".into(), d(2027, 1, 5).unwrap()));
    let again = c
        .load_calendar(pb::LoadCalendarRequest {
            request_id: rid(),
            content: year_2027.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.version, 2);
    let out = c
        .compute_deadlines(pb::ComputeDeadlinesRequest {
            assigned_time: at("2026-12-24T10:00:00+08:00"),
            urgency: reg::UrgencyClass::General as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.calendar_versions.get(&2027), Some(&2));
    assert_eq!(out.calendar_versions.get(&2026), Some(&1));
    app.stop().await;
}

fn milestone<'a>(a: &'a pb::Assignment, kind: &str) -> &'a pb::AssignmentMilestone {
    a.milestones
        .iter()
        .find(|m| m.kind == kind)
        .unwrap_or_else(|| panic!("no milestone {kind} in {:?}", a.milestones))
}

fn due_of(a: &pb::Assignment, kind: &str) -> (reg::Date, bool) {
    let m = milestone(a, kind);
    (m.due_date.unwrap(), m.provisional)
}

/// December 2026 without the 2027 calendar: deadlines into 2027 are counted on
/// the weekly pattern and marked 暂定, a major item can be assigned and
/// continuing attention set; loading 2027 recomputes them and clears the mark.
#[tokio::test]
async fn december_work_goes_on_with_provisional_deadlines_until_2027_is_loaded() {
    use duban_tests::{date, get_assignment, uuid};
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let court = app.unit_by_code("jczy").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let lat = app.unit_by_code("jczy-lat").await;
    let sun = app.person_by_code("sun.lijun").await;
    let mut office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    let mut admin = client(&app, &app.admin_token).await;

    // An item assigned on 12-01, verified within 2026, is put under
    // continuing attention on 12-25 (`duban attention ID --months 1`).
    app.set_clock("2026-12-01T10:00:00+08:00").await;
    let watched = app
        .registered_item(reg::Item {
            title: "诉讼服务中心窗口整改".into(),
            lead_unit_id: lat.id.clone(),
            ..Default::default()
        })
        .await;
    let w = duban_tests::assign(&mut office, &watched.id).await;
    assert!(w.milestones.iter().all(|m| !m.provisional), "{:?}", w.milestones);
    let mut lat_unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&lat.id)]).await)
        .await;
    let w = duban_tests::acknowledge(&mut lat_unit, &w, "立案庭牵头").await;
    let w = duban_tests::feedback(&mut lat_unit, &w, "initial", "已完成摸底").await;
    let w = duban_tests::feedback(&mut lat_unit, &w, "completion", "窗口改造完成").await;
    app.set_clock("2026-12-04T10:00:00+08:00").await;
    office
        .verify(pb::VerifyRequest {
            request_id: rid(),
            id: w.id.clone(),
            etag: w.etag.clone(),
            accept: true,
            grade: "good".into(),
            checked: "实地查看窗口".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    // 2026-12-25 10:00 (a Friday), 2027 not loaded.
    app.set_clock("2026-12-25T10:00:00+08:00").await;
    let list = admin
        .list_calendars(pb::ListCalendarsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!((list.missing_next_year, list.provisional_deadlines), (2027, 0));

    // `duban deadlines --assigned-at "2026-12-25 10:00" --class major`.
    let assigned_at = chrono::DateTime::parse_from_rfc3339("2026-12-25T10:00:00+08:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let out = admin
        .compute_deadlines(pb::ComputeDeadlinesRequest {
            assigned_time: at("2026-12-25T10:00:00+08:00"),
            urgency: reg::UrgencyClass::Major as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let computed: Vec<(String, reg::Date, bool)> = out
        .milestones
        .iter()
        .map(|m| (m.kind.clone(), m.due_date.unwrap(), m.provisional))
        .collect();
    // By hand: 1 and 3 working days end 12-28 and 12-30; a month ends on
    // 2027-01-25, a Monday, counted on the weekly pattern.
    assert_eq!(
        computed,
        [
            ("deploy".into(), date(2026, 12, 28), false),
            ("initial".into(), date(2026, 12, 30), false),
            ("resolve".into(), date(2027, 1, 25), true),
        ]
    );
    assert_eq!(out.calendar_versions.get(&2027), Some(&0));
    let printed = duban::cli::calendar::deadlines_text(assigned_at, &out);
    assert!(printed.contains("2027-01-25 24:00(暂定)"), "{printed}");
    assert!(
        printed.contains("2026-12-28 24:00\n") || printed.contains("2026-12-28 24:00 "),
        "{printed}"
    );
    assert!(!printed.contains("2026-12-28 24:00(暂定)"), "{printed}");
    assert!(printed.contains("2027年未载入"), "{printed}");

    // A major item and a general one are assigned in December.
    let major = app
        .registered_item(reg::Item {
            title: "执行难综合治理机制建设".into(),
            urgency: reg::UrgencyClass::Major as i32,
            urgency_reason: "院党组重大部署".into(),
            lead_unit_id: zxj.id.clone(),
            supervising_leader_id: sun.id.clone(),
            ..Default::default()
        })
        .await;
    let general = app
        .registered_item(reg::Item {
            title: "年底积案清理".into(),
            lead_unit_id: zxj.id.clone(),
            ..Default::default()
        })
        .await;
    let m = duban_tests::assign(&mut office, &major.id).await;
    assert_eq!(due_of(&m, "deploy"), (date(2026, 12, 28), false));
    assert_eq!(due_of(&m, "resolve"), (date(2027, 1, 25), true));
    let g = duban_tests::assign(&mut office, &general.id).await;
    // 7 working days: 28, 29, 30, 31 December, then 1, 4, 5 January as
    // Monday-to-Friday days (1 January would be 元旦 in a real calendar).
    assert_eq!(due_of(&g, "initial"), (date(2026, 12, 30), false));
    assert_eq!(due_of(&g, "resolve"), (date(2027, 1, 5), true));
    assert_eq!(milestone(&g, "resolve").calendar_versions.get(&2027), Some(&0));
    // Deployed and first reported the same day: its next deadline is the
    // provisional one.
    let mut zxj_unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await)
        .await;
    let g = duban_tests::acknowledge(&mut zxj_unit, &g, "执行局专题部署").await;
    let g = duban_tests::feedback(&mut zxj_unit, &g, "initial", "已梳理积案清单").await;
    let w = get_assignment(&mut office, &w.id).await;
    let w = office
        .set_attention(pb::SetAttentionRequest {
            request_id: rid(),
            id: w.id.clone(),
            etag: w.etag.clone(),
            months: 1,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(due_of(&w, "stage.1"), (date(2027, 1, 25), true));

    // The ledger's next deadline says whether it is provisional: the watched
    // item's stage report and the general item's 办结 are, the major item's
    // next step (研究部署, 12-28) is not.
    let mut registry = app.admin().await;
    let next_provisional = async |registry: &mut duban_tests::Registry, id: &str| {
        registry
            .get_item(reg::GetItemRequest { id: id.into() })
            .await
            .unwrap()
            .into_inner()
            .status
            .expect("an assigned item has a status")
            .next_deadline_provisional
    };
    assert!(next_provisional(&mut registry, &watched.id).await);
    assert!(next_provisional(&mut registry, &general.id).await);
    assert!(!next_provisional(&mut registry, &major.id).await);

    let list = admin
        .list_calendars(pb::ListCalendarsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!((list.missing_next_year, list.provisional_deadlines), (2027, 3));
    // The Monday list (周进展列表) warns and marks the provisional date.
    let mut reports = app.reporting(&app.admin_token).await;
    let weekly = async |reports: &mut duban_tests::Reporting| {
        reports
            .preview_report(duban_proto::reporting::v1::PreviewReportRequest {
                kind: duban_proto::reporting::v1::ReportKind::Weekly as i32,
                period: "2026-W53".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    };
    let before = weekly(&mut reports).await;
    assert!(
        before
            .text
            .contains("注意:2027年工作日历尚未载入,3个办理时限暂按每周一至周五工作推算"),
        "{}",
        before.text
    );
    assert!(before.text.contains("下一节点:办结 1月5日(暂定)"), "{}", before.text);
    assert!(before.html.contains("1月5日(暂定)"));
    // `duban report schedules`: December's bulletin is due on a day of 2027,
    // shown provisionally (Friday 1-1 on the weekly pattern) and saying why.
    let monthly = async |reports: &mut duban_tests::Reporting| {
        reports
            .list_schedules(duban_proto::reporting::v1::ListSchedulesRequest {})
            .await
            .unwrap()
            .into_inner()
            .schedules
            .into_iter()
            .find(|s| s.kind == duban_proto::reporting::v1::ReportKind::Monthly as i32)
            .unwrap()
    };
    let bulletin = monthly(&mut reports).await;
    assert_eq!(bulletin.next_period, "2026-12");
    assert!(bulletin.next_provisional);
    assert_eq!(
        bulletin.next_time.as_ref().map(|t| t.seconds),
        at("2027-01-01T08:30:00+08:00").map(|t| t.seconds)
    );
    assert!(
        bulletin.next_note.contains("2027年工作日历尚未载入"),
        "{}",
        bulletin.next_note
    );

    // The office types in 2027 (元旦 1-1 to 1-3): the provisional deadlines
    // are recomputed in the loading transaction and no longer provisional.
    let recomputed_before = app.count_events("assignment.deadlines_recomputed").await;
    admin
        .load_calendar(pb::LoadCalendarRequest {
            request_id: rid(),
            content:
                "year = 2027\nsource = \"测试\"\n\n[[holidays]]\nname = \"元旦\"\ndays = [\"2027-01-01..2027-01-03\"]\n"
                    .into(),
        })
        .await
        .unwrap();
    let g = get_assignment(&mut office, &g.id).await;
    // Without 1 January: 28, 29, 30, 31 December, 4, 5, 6 January.
    assert_eq!(due_of(&g, "resolve"), (date(2027, 1, 6), false));
    assert_eq!(milestone(&g, "resolve").calendar_versions.get(&2027), Some(&1));
    let m = get_assignment(&mut office, &m.id).await;
    assert_eq!(due_of(&m, "resolve"), (date(2027, 1, 25), false));
    let w = get_assignment(&mut office, &w.id).await;
    assert_eq!(due_of(&w, "stage.1"), (date(2027, 1, 25), false));
    assert!(!next_provisional(&mut registry, &watched.id).await);
    assert!(!next_provisional(&mut registry, &general.id).await);
    // Only the assignment whose date moved has a recompute event.
    assert_eq!(
        app.count_events("assignment.deadlines_recomputed").await,
        recomputed_before + 1
    );
    let list = admin
        .list_calendars(pb::ListCalendarsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!((list.missing_next_year, list.provisional_deadlines), (0, 0));
    let after = weekly(&mut reports).await;
    // With 元旦 loaded, December's bulletin goes out on Monday 1-4.
    let bulletin = monthly(&mut reports).await;
    assert!(
        !bulletin.next_provisional && bulletin.next_note.is_empty(),
        "{bulletin:?}"
    );
    assert_eq!(
        bulletin.next_time.as_ref().map(|t| t.seconds),
        at("2027-01-04T08:30:00+08:00").map(|t| t.seconds)
    );
    assert!(!after.text.contains("暂定"), "{}", after.text);
    assert!(after.text.contains("下一节点:办结 1月6日"), "{}", after.text);
    let out = admin
        .compute_deadlines(pb::ComputeDeadlinesRequest {
            assigned_time: at("2026-12-25T10:00:00+08:00"),
            urgency: reg::UrgencyClass::Major as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let printed = duban::cli::calendar::deadlines_text(assigned_at, &out);
    assert!(!printed.contains("暂定"), "{printed}");

    // `duban calendar template 2028 > 2028.toml`, loaded unfilled: a year
    // with weekends only and the notice's seven festivals, still empty.
    let y2028 = admin
        .load_calendar(pb::LoadCalendarRequest {
            request_id: rid(),
            content: duban_assignment::calendar_file::template(2028),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (y2028.year, y2028.working_weekdays.clone()),
        (2028, vec![1, 2, 3, 4, 5])
    );
    let names: Vec<&str> = y2028.holidays.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        ["元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"]
    );
    assert!(
        y2028
            .holidays
            .iter()
            .all(|h| h.days.is_empty() && h.workdays.is_empty())
    );
    app.stop().await;
}

/// A suspension resumed in late December moves open deadlines into 2027 on
/// the weekly pattern: they become provisional, and loading 2027 recomputes
/// them with the working days the clock stood still.
#[tokio::test]
async fn a_suspension_resumed_into_an_unloaded_year_is_provisional_until_it_is_loaded() {
    use duban_tests::{date, uuid};
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let court = app.unit_by_code("jczy").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let sun = app.person_by_code("sun.lijun").await;
    let mut office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    app.set_clock("2026-12-25T10:00:00+08:00").await;
    let item = app
        .registered_item(reg::Item {
            title: "年底积案清理".into(),
            lead_unit_id: zxj.id.clone(),
            supervising_leader_id: sun.id.clone(),
            ..Default::default()
        })
        .await;
    let a = duban_tests::assign(&mut office, &item.id).await;
    let mut unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await)
        .await;
    let a = unit
        .request_suspension(pb::RequestSuspensionRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            reason: "待上级法院答复".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut leader = app
        .assignments(&app.token_for(uuid(&sun.id), &[Role::Leader], &[uuid(&court.id)]).await)
        .await;
    let a = leader
        .decide_request(pb::DecideRequestRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            change_request_id: a.requests[0].id.clone(),
            approve: true,
            comment: "同意中止".into(),
        })
        .await
        .unwrap()
        .into_inner();
    // Resumed Wednesday 12-30: 28, 29, 30 December stood still (3 days).
    app.set_clock("2026-12-30T15:00:00+08:00").await;
    let a = office
        .resume(pb::ResumeRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    // By hand: 12-28 + 3 → 12-31 (2026 only); 12-30 + 3 → 12-31, 1-1, 1-4;
    // 1-5 + 3 → 1-6, 1-7, 1-8 (2027 on the weekly pattern).
    assert_eq!(due_of(&a, "deploy"), (date(2026, 12, 31), false));
    assert_eq!(due_of(&a, "initial"), (date(2027, 1, 4), true));
    assert_eq!(due_of(&a, "resolve"), (date(2027, 1, 8), true));

    let mut admin = client(&app, &app.admin_token).await;
    admin
        .load_calendar(pb::LoadCalendarRequest {
            request_id: rid(),
            content:
                "year = 2027\nsource = \"测试\"\n\n[[holidays]]\nname = \"元旦\"\ndays = [\"2027-01-01..2027-01-03\"]\n"
                    .into(),
        })
        .await
        .unwrap();
    let a = duban_tests::get_assignment(&mut office, &a.id).await;
    // The policy's date again plus the 3 days: initial 12-30 → 12-31, 1-4,
    // 1-5; resolve (7 days: 12-28…31, 1-4, 1-5, 1-6) → 1-7, 1-8, 1-11.
    assert_eq!(due_of(&a, "deploy"), (date(2026, 12, 31), false));
    assert_eq!(due_of(&a, "initial"), (date(2027, 1, 5), false));
    assert_eq!(due_of(&a, "resolve"), (date(2027, 1, 11), false));
    app.stop().await;
}
