//! The working-day calendar and `ComputeDeadlines` over real gRPC: the shipped
//! years, loading a new one (versioned), missing years as errors, warnings.

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
use tonic_types::StatusExt;

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
async fn deadlines_come_from_the_stored_calendar_and_missing_years_are_errors() {
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

    // Into 2027, which is not loaded: a clear error naming the year.
    let err = due(&mut c, "2026-12-24T10:00:00+08:00", reg::UrgencyClass::General)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("2027"), "{}", err.message());
    let zh = err.get_error_details().localized_message().unwrap().message.clone();
    assert!(zh.contains("2027年工作日历"), "{zh}");
    // It is past 1 November (the dev clock runs from today): a warning.
    let list = c
        .list_calendars(pb::ListCalendarsRequest {})
        .await
        .unwrap()
        .into_inner();
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    use chrono::Datelike;
    if today.month() >= 11 && today.year() == 2026 {
        assert_eq!(list.missing_next_year, 2027);
        use tonic_health::pb::health_client::HealthClient;
        let status = HealthClient::new(app.channel(ServiceKind::Assignment).await)
            .check(tonic_health::pb::HealthCheckRequest {
                service: duban_assignment::CALENDAR_HEALTH.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::NotServing as i32
        );
    }

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
